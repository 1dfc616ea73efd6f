// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "cgroup.h"
#include "compile.h"
#include "fence.h"
#include "loader.h"
#include "log.h"
#include "pins.h"
#include "seed.h"
#include "caps.h"
#include "state.h"
#include "util.h"

/*
 * A fence on a root cgroup would judge every process of the machine (or of a cgroup
 * namespace): the hierarchy's real root has no cgroup.type, and the root of the cgroup2 mount
 * seen here is refused too.
 */
static bool is_root_cgroup(int fd, const struct stat *st)
{
	struct stat mnt;
	char *mount = NULL;
	bool root;

	if (faccessat(fd, "cgroup.type", F_OK, 0) < 0 && errno == ENOENT)
		return true;
	if (nf_cgroup_find_mount("/proc/self/mountinfo", &mount) < 0)
		return false;
	root = stat(mount, &mnt) == 0 && mnt.st_dev == st->st_dev && mnt.st_ino == st->st_ino;
	free(mount);
	return root;
}

/* The request's cgroup, opened by nf_cgroup_open(): its id, unless it is a root cgroup. */
static int check_cgroup(const struct nf_fence_request *req, uint64_t *ret_id, struct nf_err *err)
{
	struct stat st;
	char q[NF_QUOTE_BUF];
	int r;

	if (fstat(req->cgroup_fd, &st) < 0) {
		r = -errno;
		return nf_err_set(err, r, "cannot stat cgroup %s: %s",
				  nf_quote_str(q, req->cgroup_dir), strerror(-r));
	}
	if (is_root_cgroup(req->cgroup_fd, &st))
		return nf_err_set(err, -EPERM, "%s is a root cgroup, refusing to fence it",
				  nf_quote_str(q, req->cgroup_dir));
	*ret_id = st.st_ino;
	return 0;
}

/* The counters of the fence in force, so that a replacement keeps counting; 0 when there is
 * none (or they cannot be read: the replacement then starts from zero). */
static int carry_counters(const struct nf_paths *paths, const char *id, uint64_t sum[NF_CNT_COUNT],
			  uint32_t *map_id)
{
	char dir[4096];

	if (nf_pins_path(paths->bpffs_root, id, NF_PINS_CURRENT, dir, sizeof(dir)) < 0)
		return 0;
	return nf_loader_counters(dir, sum, map_id) == 0;
}

static int write_state(const struct nf_paths *paths, const struct nf_fence_request *req,
		       uint64_t cgroup_id)
{
	char now[64];
	struct nf_state s = {
		.id = (char *)req->id,
		.cgroup = (char *)req->cgroup_dir,
		.cgroup_id = cgroup_id,
		.mode = req->policy->mode == NF_MODE_AUDIT ? "audit" : "enforce",
		.source = (char *)req->source,
		.attached_at = now,
		.removable = req->removable,
		.own_netns = req->own_netns,
	};

	nf_state_now(now, sizeof(now));
	return nf_state_prepare(paths->state_dir, &s, req->policy_text, req->policy_len);
}

/*
 * The new fence is in force and the one it replaced is <id>@old, still attached: the state
 * file is put in place, or the replaced fence back in force. Then the new fence's programs take
 * over the counting, and the old one is released.
 */
static int finish_commit(const struct nf_paths *paths, const char *id, struct nf_err *err)
{
	char cur[4096];
	int r = nf_state_commit(paths->state_dir, id), k;

	if (r < 0) {
		k = nf_pins_rollback(paths->bpffs_root, id);
		nf_state_discard(paths->state_dir, id);
		nf_err_set(err, r, "cannot write state in %s: %s%s%s", paths->state_dir,
			   strerror(-r), k < 0 ? "; the new fence stays attached: " : "",
			   k < 0 ? strerror(-k) : "");
		return r;
	}
	r = nf_pins_path(paths->bpffs_root, id, NF_PINS_CURRENT, cur, sizeof(cur));
	if (r == 0)
		r = nf_loader_hand_over(cur);
	if (r < 0)
		nf_log_warning(r, "cannot hand the counters and events over to the new fence");
	r = nf_pins_release(paths->bpffs_root, id);
	if (r < 0)
		nf_log_warning(r, "cannot release the replaced fence (the next run will)");
	return 0;
}

static int attach_locked(const struct nf_paths *paths, const struct nf_fence_request *req,
			 const struct nf_compiled *c, uint64_t *ret_cgid, struct nf_err *err)
{
	char newdir[4096], curdir[4096];
	uint64_t carry[NF_CNT_COUNT] = {};
	uint64_t cgid = 0;
	int r;

	r = check_cgroup(req, &cgid, err);
	if (r < 0)
		return r;
	*ret_cgid = cgid;
	struct nf_load_opts o = {
		.compiled = c,
		.cgroup_fd = req->cgroup_fd,
		.cgroup_id = cgid,
		.root = paths->bpffs_root,
		.pin_dir = newdir,
		.events_per_sec = req->events_per_sec,
	};
	if (nf_pins_path(paths->bpffs_root, req->id, NF_PINS_CURRENT, curdir, sizeof(curdir)) ==
		    0 &&
	    access(curdir, F_OK) == 0)
		o.prev_dir = curdir;
	/* The same programs on the same cgroup: the fence stays as it is, counting once, and only
	 * its state file is rewritten. */
	if (o.prev_dir && nf_loader_in_force(&o, o.prev_dir) == 1) {
		r = write_state(paths, req, cgid);
		if (r == 0)
			r = nf_state_commit(paths->state_dir, req->id);
		if (r < 0) {
			nf_state_discard(paths->state_dir, req->id);
			nf_err_set(err, r, "cannot write state in %s: %s", paths->state_dir,
				   strerror(-r));
		}
		return r;
	}
	r = nf_pins_begin(paths->bpffs_root, req->id, newdir, sizeof(newdir));
	if (r < 0) {
		nf_err_set(err, r, "cannot prepare pins under %s: %s", paths->bpffs_root,
			   strerror(-r));
		return r;
	}
	if (carry_counters(paths, req->id, carry, &o.carry_map_id))
		o.carry = carry;
	r = nf_loader_attach(&o, err);
	if (r < 0) {
		nf_pins_abort(paths->bpffs_root, req->id);
		return r;
	}
	/* The state is written before the swap, so that a full or read-only state dir fails the
	 * attach while the previous fence is untouched. */
	r = write_state(paths, req, cgid);
	if (r < 0) {
		nf_err_set(err, r, "cannot write state in %s: %s", paths->state_dir, strerror(-r));
		nf_pins_abort(paths->bpffs_root, req->id);
		return r;
	}
	r = nf_pins_commit(paths->bpffs_root, req->id);
	if (r < 0) {
		nf_err_set(err, r, "cannot commit pins under %s: %s", paths->bpffs_root,
			   strerror(-r));
		nf_state_discard(paths->state_dir, req->id);
		nf_pins_abort(paths->bpffs_root, req->id);
		return r;
	}
	return finish_commit(paths, req->id, err);
}

/* The maps of learned addresses of the fence now in force for id. */
static int open_learned(const struct nf_paths *paths, const char *id, struct nf_learned_maps *m)
{
	char dir[4096];
	int r = nf_pins_path(paths->bpffs_root, id, NF_PINS_CURRENT, dir, sizeof(dir));

	return r < 0 ? r : nf_loader_open_learned(dir, m);
}

/*
 * Seed the fence's name rules after its attach (outside the store's lock: it may take
 * NF_SEED_BUDGET_MS), into the map it opened under the lock; one log line says how it went.
 */
static void seed(const struct nf_fence_request *req, const struct nf_compiled *c,
		 struct nf_learned_maps *learned, int opened, uint64_t cgid)
{
	static const char lead[] = "names not seeded, which fail closed until the container "
				   "looks them up";
	struct nf_seed_result res;
	char more[96] = "";

	if (opened < 0) {
		nf_caps_drop_standby();
		nf_log_warning(0, "%s: cannot open the map of learned addresses: %s", lead,
			       strerror(-opened));
		return;
	}
	struct nf_seed_request sr = {
		.pids = req->seed_pids,
		.npids = req->seed_npids,
		.policy = req->policy,
		.compiled = c,
		.maps = learned,
		.cgroup_id = cgid,
		.budget_ms = NF_SEED_BUDGET_MS,
	};
	nf_seed_run(&sr, &res);
	nf_loader_close_learned(learned);
	if (res.names == 0) {
		nf_log_debug("name rules: no exact name to seed (%zu wildcard patterns)", res.wild);
		return;
	}
	if (res.more)
		snprintf(more, sizeof(more), "%s%zu names beyond the first %d not looked up",
			 res.why[0] ? "; " : "", res.more, NF_SEED_NAMES_MAX);
	if (res.why[0] || res.more)
		nf_log_warning(0, "%s: %s%s (%zu of %zu names seeded, %zu addresses, %u ms)", lead,
			       res.why, more, res.seeded, res.names, res.addresses, res.ms);
	else
		nf_log_info("seeded %zu name%s: %zu address%s in %u ms", res.names,
			    res.names == 1 ? "" : "s", res.addresses,
			    res.addresses == 1 ? "" : "es", res.ms);
}

int nf_fence_attach(const struct nf_paths *paths, const struct nf_fence_request *req,
		    struct nf_err *err)
{
	struct nf_compiled *c = NULL;
	uint64_t cgid = 0;
	struct nf_learned_maps learned = { -1, -1 };
	int lock, r, opened = -ENOENT;

	r = nf_compile(req->policy, &c, err);
	if (r < 0)
		return r;
	r = nf_pins_ensure_root(paths->bpffs_root);
	if (r < 0) {
		nf_err_set(err, r, "bpffs root %s: %s", paths->bpffs_root,
			   r == -ENOTSUP ? "not on a bpf filesystem (mount -t bpf bpf /sys/fs/bpf)"
					 : strerror(-r));
		nf_compiled_free(c);
		return r;
	}
	lock = nf_pins_lock(paths->state_dir);
	if (lock < 0) {
		nf_compiled_free(c);
		return nf_err_set(err, lock, "cannot lock state dir %s: %s", paths->state_dir,
				  strerror(-lock));
	}
	r = attach_locked(paths, req, c, &cgid, err);
	if (r == 0 && c->names)
		opened = open_learned(paths, req->id, &learned);
	close(lock);
	if (r == 0 && c->names)
		seed(req, c, &learned, opened, cgid);
	else
		nf_caps_drop_standby();
	nf_compiled_free(c);
	return r;
}

static int detach_locked(const struct nf_paths *paths, const char *id)
{
	/* Its entry in the table of events rings stays for the full gc (loader.h). */
	int r = nf_pins_remove(paths->bpffs_root, id);

	if (r < 0)
		return r;
	return nf_state_remove(paths->state_dir, id);
}

int nf_fence_detach(const struct nf_paths *paths, const char *id, struct nf_err *err)
{
	int lock, r;

	lock = nf_pins_lock(paths->state_dir);
	if (lock < 0)
		return nf_err_set(err, lock, "cannot lock state dir %s: %s", paths->state_dir,
				  strerror(-lock));
	r = detach_locked(paths, id);
	close(lock);
	if (r < 0)
		nf_err_set(err, r, "cannot remove the fence: %s", strerror(-r));
	return r;
}

/*
 * The recorded cgroup directory is gone, or the path now holds another cgroup (removed and
 * made again, as restarted units and containers do, while the old one lingers). The path was
 * resolved in the hook's mount namespace (runc binds the cgroup2 mount over /sys/fs/cgroup on
 * hybrid hosts), so it is only judged where it, or its parent, is on cgroup2 here too;
 * elsewhere only the links can tell.
 */
static bool state_cgroup_gone(const struct nf_paths *paths, const char *id, uint64_t link_cgid)
{
	struct nf_state *s = NULL;
	struct statfs sfs;
	struct stat st;
	char *slash;
	bool gone = false;

	if (nf_state_read(paths->state_dir, id, &s) < 0)
		return false;
	slash = strrchr(s->cgroup, '/');
	if (s->cgroup[0] != '/' || !slash || slash == s->cgroup) {
		/* not a path this check can judge */
	} else if (stat(s->cgroup, &st) == 0) {
		gone = s->cgroup_id == link_cgid && st.st_ino != s->cgroup_id &&
		       statfs(s->cgroup, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
	} else if (errno == ENOENT) {
		*slash = '\0';
		gone = statfs(s->cgroup, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
	}
	nf_state_free(s);
	return gone;
}

/*
 * 1 when the fence's cgroup is gone. The kernel releases a removed cgroup's links (their
 * cgroup id turns 0) only once the last reference to the cgroup is dropped, which an open
 * socket can delay; unless quick, the state file's directory tells at once.
 */
static int fence_dead(const struct nf_paths *paths, const char *id, bool pending, bool quick,
		      uint32_t *ret_prog_id)
{
	char dir[4096];
	uint64_t cgid = 0;
	int r;

	r = pending ? nf_pins_recover(paths->bpffs_root, id) : 0;
	if (r < 0)
		return r;
	r = nf_pins_path(paths->bpffs_root, id, NF_PINS_CURRENT, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = nf_loader_link_info(dir, &cgid, ret_prog_id);
	if (r == -ENOENT)
		return 1;
	if (r < 0)
		return r;
	return cgid == 0 || (!quick && state_cgroup_gone(paths, id, cgid));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The index of id in the sorted list ids, or -1. */
static ssize_t find(char **ids, size_t n, const char *id)
{
	char **hit = bsearch(&id, ids, n, sizeof(*ids), cmp_str);

	return hit ? hit - ids : -1;
}

/*
 * Remove the fences whose cgroup is gone, the state files of fences that are gone, and the
 * shared program sets no fence links to any more (the programs of the fences' first links,
 * read on the way). Every hook run does this, so it costs a few system calls per fence: one
 * listing tells which fences have an interrupted attach to recover, and the state files are
 * matched against the listing rather than looked up one by one.
 */
static int gc_locked(const struct nf_paths *paths, bool quick, size_t *removed)
{
	char **ids = NULL, **pending = NULL, **states = NULL;
	size_t n = 0, npending = 0, nstates = 0, nused = 0;
	uint32_t *used = NULL;
	bool unsure = false, *gone = NULL;
	int r;

	r = nf_pins_ids(paths->bpffs_root, &ids, &n);
	if (r == 0)
		r = nf_pins_pending(paths->bpffs_root, &pending, &npending);
	if (r == 0 && (!(used = calloc(n ? n : 1, sizeof(*used))) ||
		       !(gone = calloc(n ? n : 1, sizeof(*gone)))))
		r = -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++) {
		uint32_t prog = 0;
		int dead = fence_dead(paths, ids[i], find(pending, npending, ids[i]) >= 0, quick,
				      &prog);

		if (dead == 1 && detach_locked(paths, ids[i]) == 0) {
			nf_log_info("container '%s': cgroup gone, fence removed", ids[i]);
			(*removed)++;
			gone[i] = true;
		} else if (dead == 0) {
			used[nused++] = prog;
		} else {
			unsure = true;
		}
	}
	/* A fence that could not be judged or removed may use any set: none is unpinned. (An
	 * unpinned set in use would only stop being shared: its links keep it loaded.) */
	if (r == 0 && !unsure && (r = nf_loader_prune(paths->bpffs_root, used, nused)) < 0) {
		nf_log_debug("cannot unpin unused program sets: %s", strerror(-r));
		r = 0;
	}
	/* The full gc, not every hook run's: each entry taken out waits for a grace period. */
	if (r == 0 && !quick && !unsure && (r = nf_loader_purge_rings(paths->bpffs_root)) < 0) {
		nf_log_debug("cannot purge the tables of events rings: %s", strerror(-r));
		r = 0;
	}
	/* State files whose pins are gone describe nothing. */
	if (r == 0)
		r = nf_state_ids(paths->state_dir, &states, &nstates);
	for (size_t i = 0; i < nstates && r == 0; i++) {
		ssize_t k = find(ids, n, states[i]);

		if ((k < 0 || gone[k]) && nf_state_remove(paths->state_dir, states[i]) == 0)
			(*removed)++;
	}
	free(used);
	free(gone);
	nf_strv_free(ids, n);
	nf_strv_free(pending, npending);
	nf_strv_free(states, nstates);
	return r;
}

int nf_fence_gc(const struct nf_paths *paths, bool quick, size_t *ret_removed)
{
	size_t removed = 0;
	int lock, r;

	lock = nf_pins_lock(paths->state_dir);
	if (lock < 0)
		return lock;
	r = gc_locked(paths, quick, &removed);
	close(lock);
	if (r == 0 && ret_removed)
		*ret_removed = removed;
	return r;
}
