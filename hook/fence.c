// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "cgroup.h"
#include "compile.h"
#include "fence.h"
#include "loader.h"
#include "log.h"
#include "pins.h"
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

static int open_cgroup(const char *dir, uint64_t *ret_id, char *err, size_t errlen)
{
	struct statfs sfs;
	struct stat st;
	char q[256];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		int r = -errno;

		snprintf(err, errlen, "cannot open cgroup '%s': %s", nf_quote(dir, q, sizeof(q)),
			 strerror(-r));
		return r;
	}
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "'%s' is not a cgroup v2 directory",
			 nf_quote(dir, q, sizeof(q)));
		close(fd);
		return -ENOTDIR;
	}
	if (is_root_cgroup(fd, &st)) {
		snprintf(err, errlen, "'%s' is a root cgroup, refusing to fence it",
			 nf_quote(dir, q, sizeof(q)));
		close(fd);
		return -EPERM;
	}
	*ret_id = st.st_ino;
	return fd;
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
	int r;

	nf_state_now(now, sizeof(now));
	r = nf_state_write_policy(paths->state_dir, req->id, req->policy_text, req->policy_len);
	return r < 0 ? r : nf_state_write(paths->state_dir, &s);
}

/* Unpin the shared program sets no fence links to any more. */
static int prune_locked(const struct nf_paths *paths)
{
	uint32_t *used = NULL;
	char **ids = NULL, dir[4096];
	size_t n = 0, nused = 0;
	int r;

	r = nf_pins_ids(paths->bpffs_root, &ids, &n);
	if (r < 0)
		return r;
	used = calloc(n ? 3 * n : 1, sizeof(*used));
	if (!used) {
		nf_strv_free(ids, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		for (int slot = NF_PINS_CURRENT; slot <= NF_PINS_OLD; slot++)
			if (nf_pins_path(paths->bpffs_root, ids[i], slot, dir, sizeof(dir)) == 0 &&
			    nf_loader_link_info(dir, NULL, &used[nused]) == 0)
				nused++;
	r = nf_loader_prune(paths->bpffs_root, used, nused);
	free(used);
	nf_strv_free(ids, n);
	return r;
}

static int attach_locked(const struct nf_paths *paths, const struct nf_fence_request *req,
			 const struct nf_compiled *c, char *err, size_t errlen)
{
	char newdir[4096];
	uint64_t cgid = 0;
	int cgfd, r;

	cgfd = open_cgroup(req->cgroup_dir, &cgid, err, errlen);
	if (cgfd < 0)
		return cgfd;
	r = nf_pins_begin(paths->bpffs_root, req->id, newdir, sizeof(newdir));
	if (r < 0) {
		snprintf(err, errlen, "cannot prepare pins under %s: %s", paths->bpffs_root,
			 strerror(-r));
		close(cgfd);
		return r;
	}
	uint64_t carry[NF_CNT_COUNT] = {};
	struct nf_load_opts o = {
		.compiled = c,
		.cgroup_fd = cgfd,
		.cgroup_id = cgid,
		.root = paths->bpffs_root,
		.pin_dir = newdir,
		.events_per_sec = req->events_per_sec,
	};
	if (carry_counters(paths, req->id, carry, &o.carry_map_id))
		o.carry = carry;
	r = nf_loader_attach(&o, err, errlen);
	close(cgfd);
	if (r < 0) {
		nf_pins_abort(paths->bpffs_root, req->id);
		return r;
	}
	r = nf_pins_commit(paths->bpffs_root, req->id);
	if (r < 0) {
		snprintf(err, errlen, "cannot commit pins under %s: %s", paths->bpffs_root,
			 strerror(-r));
		return r;
	}
	r = write_state(paths, req, cgid);
	if (r < 0) {
		snprintf(err, errlen, "cannot write state in %s: %s", paths->state_dir,
			 strerror(-r));
		return r;
	}
	/* The fence replaced may have been the last user of its program set. */
	prune_locked(paths);
	return 0;
}

int nf_fence_attach(const struct nf_paths *paths, const struct nf_fence_request *req, char *err,
		    size_t errlen)
{
	struct nf_compiled *c = NULL;
	int lock, r;

	r = nf_compile(req->policy, &c, err, errlen);
	if (r < 0)
		return r;
	r = nf_pins_ensure_root(paths->bpffs_root);
	if (r < 0) {
		snprintf(err, errlen, "bpffs root %s: %s", paths->bpffs_root,
			 r == -ENOTSUP ? "not on a bpf filesystem (mount -t bpf bpf /sys/fs/bpf)"
				       : strerror(-r));
		nf_compiled_free(c);
		return r;
	}
	lock = nf_pins_lock(paths->state_dir);
	if (lock < 0) {
		snprintf(err, errlen, "cannot lock state dir %s: %s", paths->state_dir,
			 strerror(-lock));
		nf_compiled_free(c);
		return lock;
	}
	r = attach_locked(paths, req, c, err, errlen);
	close(lock);
	nf_compiled_free(c);
	return r;
}

static int detach_locked(const struct nf_paths *paths, const char *id)
{
	int r = nf_pins_remove(paths->bpffs_root, id);

	if (r < 0)
		return r;
	return nf_state_remove(paths->state_dir, id);
}

int nf_fence_detach(const struct nf_paths *paths, const char *id, char *err, size_t errlen)
{
	int lock, r;

	lock = nf_pins_lock(paths->state_dir);
	if (lock < 0) {
		snprintf(err, errlen, "cannot lock state dir %s: %s", paths->state_dir,
			 strerror(-lock));
		return lock;
	}
	r = detach_locked(paths, id);
	if (r == 0)
		prune_locked(paths);
	close(lock);
	if (r < 0)
		snprintf(err, errlen, "cannot remove the fence: %s", strerror(-r));
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
 * socket can delay; the state file's directory tells at once.
 */
static int fence_dead(const struct nf_paths *paths, const char *id)
{
	char dir[4096];
	uint64_t cgid = 0;
	int r;

	r = nf_pins_recover(paths->bpffs_root, id);
	if (r < 0)
		return r;
	r = nf_pins_path(paths->bpffs_root, id, NF_PINS_CURRENT, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = nf_loader_cgroup_id(dir, &cgid);
	if (r == -ENOENT)
		return 1;
	if (r < 0)
		return r;
	return cgid == 0 || state_cgroup_gone(paths, id, cgid);
}

static int gc_locked(const struct nf_paths *paths, size_t *removed)
{
	char **ids = NULL;
	size_t n = 0;
	int r;

	r = nf_pins_ids(paths->bpffs_root, &ids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (fence_dead(paths, ids[i]) == 1 && detach_locked(paths, ids[i]) == 0) {
			nf_log_info("container '%s': cgroup gone, fence removed", ids[i]);
			(*removed)++;
		}
	}
	nf_strv_free(ids, n);

	/* State files whose pins are gone describe nothing. */
	r = nf_state_ids(paths->state_dir, &ids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (nf_fence_exists(paths, ids[i]) == 0 &&
		    nf_state_remove(paths->state_dir, ids[i]) == 0)
			(*removed)++;
	nf_strv_free(ids, n);
	return prune_locked(paths);
}

int nf_fence_gc(const struct nf_paths *paths, size_t *ret_removed)
{
	size_t removed = 0;
	int lock, r;

	lock = nf_pins_lock(paths->state_dir);
	if (lock < 0)
		return lock;
	r = gc_locked(paths, &removed);
	close(lock);
	if (r == 0 && ret_removed)
		*ret_removed = removed;
	return r;
}

int nf_fence_exists(const struct nf_paths *paths, const char *id)
{
	char dir[4096];
	struct stat st;
	int r = nf_pins_path(paths->bpffs_root, id, NF_PINS_CURRENT, dir, sizeof(dir));

	if (r < 0)
		return r;
	if (stat(dir, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}
