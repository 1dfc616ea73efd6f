// SPDX-License-Identifier: Apache-2.0
/*
 * bypass: the attacker (and experiment) tool of integration/test-bypass.sh. It tries, with
 * whatever capabilities it was started with, to lift a netfence fence, and reports every step.
 * Built by the test (clang -target bpf, bpftool gen skeleton, cc ... -lbpf); not installed.
 *
 *   bypass caps
 *   bypass retval   --cgroup DIR [--child NAME] [--how multi|override|link] [--pin DIR] [-- CMD...]
 *   bypass deny     --cgroup DIR [--how ...] [--pin DIR] [-- CMD...]
 *   bypass ancestor --cgroup DIR --level L --deny4 ADDR [--fence CGDIR]... [--fill N]
 *                   [--how ...] [--pin DIR] [-- CMD...]
 *   bypass detach-progs --cgroup DIR [--prog-id N]...
 *   bypass detach-links --cgroup DIR [--link-id N]...
 *   bypass update-map   --deny4 ADDR [--cgroup DIR] [--map-id N]...
 *   bypass detach-pinned PATH...
 *   bypass egress   --cgroup DIR --deny4 ADDR [--pin DIR] [-- CMD...]
 *   bypass connect-loop N ADDR PORT
 *   bypass measure --prog-id N... -- CMD...
 *
 * retval: load programs that call bpf_set_retval(0) and return 1 on connect4/6 and
 * sendmsg4/6, attach them to DIR (or to DIR/NAME, created and entered first with --child) with
 * BPF_F_ALLOW_MULTI (multi), BPF_F_ALLOW_OVERRIDE (override) or a bpf_link (link), then run
 * CMD (inside that cgroup: the tool must already run in DIR) and detach. Without CMD the
 * programs stay attached (links only when pinned with --pin).
 * deny: the same with deny-all programs (a fence standing in for one at an ancestor).
 * ancestor: the "ancestor mode" experiment (see retval.bpf.c): anc_* programs at DIR judge
 * every cgroup below it by the id of its ancestor at level L; each --fence CGDIR is fenced with
 * "deny ADDR/32, allow the rest of IPv4, deny IPv6"; --fill adds N fake fenced cgroup ids.
 * detach-progs / detach-links / update-map / detach-pinned: attempts on netfence's own objects
 * (nf_* programs attached to DIR, links of DIR running nf_* or anc_* programs, the nf_classes
 * maps of those programs, pinned links). They act only on those targets, never on other
 * fences of the host; the ids may also be given explicitly. update-map tries to make ADDR
 * (and everything else) allowed by rewriting nf_classes. The links are found by id, so DIR only
 * needs to be named (its id comes from name_to_handle_at), not opened by the attacker. egress: the
 * post-NAT experiment (see retval.bpf.c): a cgroup_skb/egress program on DIR dropping IPv4 packets
 * to ADDR, attached with a bpf_link. connect-loop: N TCP connect() attempts; prints how many ended
 * with each errno. measure: with BPF run-time statistics enabled, run CMD and print each program's
 * runs and average nanoseconds per run over CMD.
 *
 * Output: one line per step, "bypass: STEP TARGET RESULT" where RESULT is "ok" or an errno
 * name; CMD's own output passes through unprefixed. The hostile modes end with
 * "bypass: hostile-ok N", the number of operations that changed netfence's programs or maps.
 * Exit status: 0 the attempts ran (whatever their results), 1 setup failure, 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "retval.skel.h"

#define MAX_IDS 64

static int hostile_ok;

static const char *errname(int e)
{
	static char buf[16];
	const char *n;

	if (e < 0)
		e = -e;
	if (e == 0)
		return "ok";
	n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

/* Report one step; r is 0 or a negative errno (or -1 with errno set). */
static int step(const char *what, const char *target, int r)
{
	int e = r == -1 ? errno : r;

	printf("bypass: %s %s %s\n", what, target, r >= 0 ? "ok" : errname(e));
	fflush(stdout);
	return r >= 0 ? 0 : (e > 0 ? -e : e);
}

static int hostile(const char *what, const char *target, int r)
{
	r = step(what, target, r);
	if (r == 0)
		hostile_ok++;
	return r;
}

static int usage(void)
{
	fputs("usage: see the comment at the top of integration/bypass/bypass.c\n", stderr);
	return 2;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !getenv("BYPASS_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* --- capabilities ------------------------------------------------------------------------ */

static void print_caps(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	printf("bypass: caps eff=0x%llx sys_admin=%d net_admin=%d bpf=%d perfmon=%d\n", eff,
	       (int)(eff >> 21 & 1), (int)(eff >> 12 & 1), (int)(eff >> 39 & 1),
	       (int)(eff >> 38 & 1));
	fflush(stdout);
}

/* --- arguments --------------------------------------------------------------------------- */

struct args {
	const char *cgroup;
	const char *child;
	const char *how;
	const char *pin;
	const char *deny4;
	const char *fences[MAX_IDS];
	int nfences;
	__u32 ids[MAX_IDS];
	int nids;
	int level;
	long fill;
	char **cmd;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->how = "multi";
	a->level = -1;
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--") == 0) {
			if (i + 1 < argc)
				a->cmd = &argv[i + 1];
			return 0;
		}
		if (!v)
			return -1;
		if (strcmp(o, "--cgroup") == 0)
			a->cgroup = v;
		else if (strcmp(o, "--child") == 0)
			a->child = v;
		else if (strcmp(o, "--how") == 0)
			a->how = v;
		else if (strcmp(o, "--pin") == 0)
			a->pin = v;
		else if (strcmp(o, "--deny4") == 0)
			a->deny4 = v;
		else if (strcmp(o, "--level") == 0)
			a->level = (int)strtol(v, NULL, 10);
		else if (strcmp(o, "--fill") == 0)
			a->fill = strtol(v, NULL, 10);
		else if (strcmp(o, "--fence") == 0 && a->nfences < MAX_IDS)
			a->fences[a->nfences++] = v;
		else if ((strcmp(o, "--prog-id") == 0 || strcmp(o, "--link-id") == 0 ||
			  strcmp(o, "--map-id") == 0) &&
			 a->nids < MAX_IDS)
			a->ids[a->nids++] = (__u32)strtoul(v, NULL, 10);
		else
			return -1;
		i++;
	}
	return 0;
}

/* The 64-bit cgroup id, as bpf_get_current_cgroup_id() sees it. */
static int cgroup_id(const char *dir, __u64 *id)
{
	struct {
		struct file_handle fh;
		__u64 id;
	} h = { .fh.handle_bytes = sizeof(__u64) };
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, dir, &h.fh, &mount_id, 0) < 0)
		return -errno;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

/* Opens a cgroup to attach to. The host's root cgroup (id 1) is refused: the tests never
 * touch the programs of every process on the machine. Inside a cgroup namespace the
 * container's own cgroup looks like a root but keeps its real id. */
static int open_cgroup(const char *dir)
{
	__u64 id = 0;
	int fd;

	if (cgroup_id(dir, &id) == 0 && id == 1) {
		step("open-cgroup", dir, -EPERM);
		fprintf(stderr, "bypass: %s is the host's root cgroup; refusing\n", dir);
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		step("open-cgroup", dir, -1);
	return fd;
}

/* --- running a command ------------------------------------------------------------------- */

static int run_cmd(char **cmd)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execvp(cmd[0], cmd);
		fprintf(stderr, "bypass: exec %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* --- attaching the experiment's programs ------------------------------------------------- */

struct attach_set {
	struct bpf_program *progs[4];
	enum bpf_attach_type types[4];
	struct bpf_link *links[4];
	bool attached[4];
	int cgfd;
	bool use_link;
};

static const enum bpf_attach_type hook_types[4] = {
	BPF_CGROUP_INET4_CONNECT,
	BPF_CGROUP_INET6_CONNECT,
	BPF_CGROUP_UDP4_SENDMSG,
	BPF_CGROUP_UDP6_SENDMSG,
};

static int attach_all(struct attach_set *s, const char *how, const char *pin, const char *target)
{
	__u32 flags;
	char what[64], path[4096];
	int r, ok = 0;

	s->use_link = strcmp(how, "link") == 0;
	if (strcmp(how, "multi") == 0)
		flags = BPF_F_ALLOW_MULTI;
	else if (strcmp(how, "override") == 0)
		flags = BPF_F_ALLOW_OVERRIDE;
	else if (s->use_link)
		flags = 0;
	else
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		s->types[i] = hook_types[i];
		snprintf(what, sizeof(what), "attach-%s(%s)", how, bpf_program__name(s->progs[i]));
		if (s->use_link) {
			s->links[i] = bpf_program__attach_cgroup(s->progs[i], s->cgfd);
			r = s->links[i] ? 0 : -errno;
			if (!r && pin) {
				snprintf(path, sizeof(path), "%s/%s", pin,
					 bpf_program__name(s->progs[i]));
				step("pin", path, bpf_link__pin(s->links[i], path));
			}
		} else {
			r = bpf_prog_attach(bpf_program__fd(s->progs[i]), s->cgfd, s->types[i],
					    flags);
		}
		s->attached[i] = step(what, target, r) == 0;
		ok += s->attached[i];
	}
	return ok;
}

static void detach_all(struct attach_set *s)
{
	for (int i = 0; i < 4; i++) {
		if (!s->attached[i])
			continue;
		if (s->use_link)
			bpf_link__destroy(s->links[i]);
		else
			bpf_prog_detach2(bpf_program__fd(s->progs[i]), s->cgfd, s->types[i]);
	}
}

/* Opens and loads the skeleton with only the programs (and maps) of one family. */
static struct retval_bpf *load_skel(const char *family, int level, __u32 deny4)
{
	struct retval_bpf *skel = retval_bpf__open();
	struct bpf_program *p;
	bool anc = strcmp(family, "anc_") == 0;
	int r;

	if (!skel) {
		step("open", "skeleton", -errno);
		return NULL;
	}
	for (p = bpf_object__next_program(skel->obj, NULL); p;
	     p = bpf_object__next_program(skel->obj, p)) {
		bool mine = strncmp(bpf_program__name(p), family, strlen(family)) == 0;

		bpf_program__set_autoload(p, mine);
	}
	if (!anc) {
		bpf_map__set_autocreate(skel->maps.anc_fences, false);
		bpf_map__set_autocreate(skel->maps.anc_rules, false);
	} else {
		skel->rodata->anc_level = level;
	}
	skel->rodata->egress_deny4 = deny4;
	r = retval_bpf__load(skel);
	if (step("load", family, r) < 0) {
		retval_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static int enter_child(const char *parent, const char *name, char *dir, size_t len)
{
	char procs[4200], pid[32];
	int fd, r;

	snprintf(dir, len, "%s/%s", parent, name);
	r = mkdir(dir, 0755) < 0 && errno != EEXIST ? -errno : 0;
	if (step("mkdir-child", dir, r) < 0)
		return r;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : (write(fd, pid, strlen(pid)) < 0 ? -errno : 0);
	if (fd >= 0)
		close(fd);
	return step("enter-child", dir, r);
}

static int set_deny4(struct retval_bpf *skel, const char *addr)
{
	struct {
		__u32 prefixlen;
		__u32 addr;
	} key = { .prefixlen = 32 };
	__u32 deny = 0;

	if (inet_pton(AF_INET, addr, &key.addr) != 1)
		return -EINVAL;
	return bpf_map__update_elem(skel->maps.anc_rules, &key, sizeof(key), &deny, sizeof(deny),
				    BPF_ANY);
}

static int fill_fences(struct retval_bpf *skel, struct args *a)
{
	int inner = bpf_map__fd(skel->maps.anc_rules);
	char label[64];
	__u64 id;
	int r;

	for (int i = 0; i < a->nfences; i++) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = cgroup_id(a->fences[i], &id);
		if (!r)
			r = bpf_map__update_elem(skel->maps.anc_fences, &id, sizeof(id), &inner,
						 sizeof(inner), BPF_ANY);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		step("fence", a->fences[i], r);
		printf("bypass: fence-id %s id=%llu update_us=%ld\n", a->fences[i],
		       (unsigned long long)id,
		       (long)((t1.tv_sec - t0.tv_sec) * 1000000 +
			      (t1.tv_nsec - t0.tv_nsec) / 1000));
	}
	/* Fake ids (never a real cgroup id), in batches: every single update of a map-in-map
	 * waits for an RCU grace period. */
	for (long i = 0; i < a->fill;) {
		__u64 keys[1024];
		__u32 vals[1024], n = 0;

		for (; n < 1024 && i < a->fill; n++, i++) {
			keys[n] = (1ULL << 62) + (__u64)i;
			vals[n] = (__u32)inner;
		}
		r = bpf_map_update_batch(bpf_map__fd(skel->maps.anc_fences), keys, vals, &n, NULL);
		if (r < 0)
			return step("fill", "anc_fences", r);
	}
	if (a->fill) {
		snprintf(label, sizeof(label), "%ld-fake-ids", a->fill);
		step("fill", label, 0);
	}
	return 0;
}

static int cmd_attach(const char *family, struct args *a)
{
	struct attach_set s = { .cgfd = -1 };
	struct retval_bpf *skel;
	char child[4096];
	const char *target = a->cgroup;
	int n;

	if (!a->cgroup || (strcmp(family, "anc_") == 0 && (a->level < 0 || !a->deny4)))
		return usage();
	print_caps();
	if (a->child) {
		if (enter_child(a->cgroup, a->child, child, sizeof(child)) < 0)
			return 1;
		target = child;
	}
	skel = load_skel(family, a->level, 0);
	if (!skel)
		goto run; /* the command still shows the verdict without our programs */
	if (strcmp(family, "anc_") == 0) {
		if (step("deny4", a->deny4, set_deny4(skel, a->deny4)) < 0 ||
		    fill_fences(skel, a) < 0) {
			retval_bpf__destroy(skel);
			return 1;
		}
		s.progs[0] = skel->progs.anc_connect4;
		s.progs[1] = skel->progs.anc_connect6;
		s.progs[2] = skel->progs.anc_sendmsg4;
		s.progs[3] = skel->progs.anc_sendmsg6;
	} else if (strcmp(family, "retval_") == 0) {
		s.progs[0] = skel->progs.retval_connect4;
		s.progs[1] = skel->progs.retval_connect6;
		s.progs[2] = skel->progs.retval_sendmsg4;
		s.progs[3] = skel->progs.retval_sendmsg6;
	} else {
		s.progs[0] = skel->progs.deny_connect4;
		s.progs[1] = skel->progs.deny_connect6;
		s.progs[2] = skel->progs.deny_sendmsg4;
		s.progs[3] = skel->progs.deny_sendmsg6;
	}
	s.cgfd = open_cgroup(target);
	if (s.cgfd < 0) {
		retval_bpf__destroy(skel);
		return 1;
	}
	n = attach_all(&s, a->how, a->pin, target);
	printf("bypass: attached %d/4\n", n);
run:
	if (a->cmd)
		run_cmd(a->cmd);
	if (skel) {
		if (a->cmd) {
			detach_all(&s);
		} else {
			/* Leave the programs attached: multi/override attachments hold their
			 * programs; pinned links hold themselves. */
			for (int i = 0; i < 4; i++)
				if (s.links[i])
					bpf_link__disconnect(s.links[i]);
		}
		close(s.cgfd);
		retval_bpf__destroy(skel);
	}
	return 0;
}

/* The post-NAT experiment: egress_deny on DIR for packets to ADDR. */
static int cmd_egress(struct args *a)
{
	struct retval_bpf *skel;
	struct bpf_link *link;
	char path[4096];
	__u32 addr;
	int cgfd, r;

	if (!a->cgroup || !a->deny4 || inet_pton(AF_INET, a->deny4, &addr) != 1)
		return usage();
	skel = load_skel("egress_", 0, addr);
	if (!skel)
		return 1;
	cgfd = open_cgroup(a->cgroup);
	if (cgfd < 0) {
		retval_bpf__destroy(skel);
		return 1;
	}
	link = bpf_program__attach_cgroup(skel->progs.egress_deny, cgfd);
	r = step("attach-link(egress_deny)", a->cgroup, link ? 0 : -errno);
	if (!r && a->pin) {
		snprintf(path, sizeof(path), "%s/egress_deny", a->pin);
		step("pin", path, bpf_link__pin(link, path));
	}
	if (!r && a->cmd)
		run_cmd(a->cmd);
	bpf_link__destroy(link);
	close(cgfd);
	retval_bpf__destroy(skel);
	return r < 0 ? 1 : 0;
}

/* --- attempts on netfence's objects ------------------------------------------------------ */

/* The attach type of a fence program, from its name: netfence's own (nf_*) or the ancestor
 * experiment's (anc_*). Anything else is not a target. */
static int nf_attach_type(const char *name, enum bpf_attach_type *t)
{
	static const struct {
		const char *name;
		enum bpf_attach_type type;
	} m[] = {
		{ "connect4", BPF_CGROUP_INET4_CONNECT },
		{ "connect6", BPF_CGROUP_INET6_CONNECT },
		{ "sendmsg4", BPF_CGROUP_UDP4_SENDMSG },
		{ "sendmsg6", BPF_CGROUP_UDP6_SENDMSG },
		{ "sock_create", BPF_CGROUP_INET_SOCK_CREATE },
	};

	if (strncmp(name, "nf_", 3) == 0)
		name += 3;
	else if (strncmp(name, "anc_", 4) == 0)
		name += 4;
	else
		return -ENOENT;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(name, m[i].name) == 0) {
			*t = m[i].type;
			return 0;
		}
	return -ENOENT;
}

static const enum bpf_attach_type query_types[] = {
	BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT,    BPF_CGROUP_UDP4_SENDMSG,
	BPF_CGROUP_UDP6_SENDMSG,  BPF_CGROUP_INET_SOCK_CREATE,
};
#define NQUERY (sizeof(query_types) / sizeof(query_types[0]))

/* Program ids attached to the cgroup (BPF_PROG_QUERY), appended to ids. */
static void query_cgroup(int cgfd, __u32 *ids, int *n)
{
	for (size_t t = 0; t < NQUERY; t++) {
		__u32 got[MAX_IDS], cnt = MAX_IDS, flags = 0;
		char what[32];
		int r;

		r = bpf_prog_query(cgfd, query_types[t], 0, &flags, got, &cnt);
		snprintf(what, sizeof(what), "type=%d", query_types[t]);
		step("prog-query", what, r);
		for (__u32 i = 0; r == 0 && i < cnt && *n < MAX_IDS; i++)
			ids[(*n)++] = got[i];
	}
}

/* Does enumeration by id work at all? (It needs CAP_SYS_ADMIN.) */
static void try_enumerate(const char *what, int (*next)(__u32, __u32 *))
{
	__u32 id = 0, n = 0;
	int r;

	while ((r = next(id, &id)) == 0)
		n++;
	if (r < 0 && errno == ENOENT && n > 0)
		r = 0;
	step(what, "first", r < 0 && n == 0 ? -errno : 0);
	printf("bypass: %s-count %u\n", what, n);
}

/* Loads retval programs for replacement attempts; NULL (reported) when we cannot. */
static struct retval_bpf *maybe_retval(void)
{
	return load_skel("retval_", 0, 0);
}

static int retval_fd_for(struct retval_bpf *skel, enum bpf_attach_type t)
{
	if (!skel)
		return -1;
	switch (t) {
	case BPF_CGROUP_INET4_CONNECT:
		return bpf_program__fd(skel->progs.retval_connect4);
	case BPF_CGROUP_INET6_CONNECT:
		return bpf_program__fd(skel->progs.retval_connect6);
	case BPF_CGROUP_UDP4_SENDMSG:
		return bpf_program__fd(skel->progs.retval_sendmsg4);
	case BPF_CGROUP_UDP6_SENDMSG:
		return bpf_program__fd(skel->progs.retval_sendmsg6);
	default:
		return -1;
	}
}

static int cmd_detach_progs(struct args *a)
{
	__u32 ids[MAX_IDS];
	int n = 0, cgfd;
	struct retval_bpf *skel;

	if (!a->cgroup)
		return usage();
	print_caps();
	cgfd = open_cgroup(a->cgroup);
	if (cgfd < 0)
		return 1;
	try_enumerate("prog-get-next-id", bpf_prog_get_next_id);
	if (a->nids) {
		memcpy(ids, a->ids, sizeof(__u32) * (size_t)a->nids);
		n = a->nids;
	} else {
		query_cgroup(cgfd, ids, &n);
	}
	/* Without any program fd: detach "whatever is attached" per type. */
	for (size_t t = 0; t < NQUERY; t++) {
		char what[32];

		snprintf(what, sizeof(what), "type=%d", query_types[t]);
		hostile("prog-detach-nofd", what, bpf_prog_detach(cgfd, query_types[t]));
	}
	skel = maybe_retval();
	for (int i = 0; i < n; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		enum bpf_attach_type t;
		char label[64];
		int fd, r;

		snprintf(label, sizeof(label), "id=%u", ids[i]);
		fd = bpf_prog_get_fd_by_id(ids[i]);
		if (step("prog-get-fd-by-id", label, fd < 0 ? -errno : 0) < 0)
			continue;
		r = bpf_obj_get_info_by_fd(fd, &info, &len);
		if (r < 0 || nf_attach_type(info.name, &t) < 0) {
			close(fd);
			continue; /* not one of netfence's programs */
		}
		snprintf(label, sizeof(label), "%s(id=%u)", info.name, ids[i]);
		if (retval_fd_for(skel, t) >= 0) {
			LIBBPF_OPTS(bpf_prog_attach_opts, o,
				    .flags = BPF_F_ALLOW_MULTI | BPF_F_REPLACE,
				    .replace_prog_fd = fd);
			r = bpf_prog_attach_opts(retval_fd_for(skel, t), cgfd, t, &o);
			hostile("prog-replace", label, r);
		}
		hostile("prog-detach", label, bpf_prog_detach2(fd, cgfd, t));
		close(fd);
	}
	if (skel)
		retval_bpf__destroy(skel);
	close(cgfd);
	printf("bypass: hostile-ok %d\n", hostile_ok);
	return 0;
}

/* 0 when link id is known to be on another cgroup than cgid; 1 otherwise, also when it cannot
 * be opened (the attempt is then reported by the caller). */
static int link_on(__u32 id, __u64 cgid)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_link_get_fd_by_id(id), r;

	if (fd < 0)
		return 1;
	r = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	return r < 0 || (info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == cgid);
}

static int cmd_detach_links(struct args *a)
{
	__u32 ids[MAX_IDS];
	int n = 0;
	__u64 cgid = 0;
	struct retval_bpf *skel;

	if (!a->cgroup)
		return usage();
	print_caps();
	if (step("cgroup-id", a->cgroup, cgroup_id(a->cgroup, &cgid)) < 0)
		return 1;
	try_enumerate("link-get-next-id", bpf_link_get_next_id);
	if (a->nids) {
		memcpy(ids, a->ids, sizeof(__u32) * (size_t)a->nids);
		n = a->nids;
	} else {
		/* Every link of the machine but those known to be on other cgroups: a busy host
		 * has more links than ids holds. */
		__u32 id = 0;

		while (n < MAX_IDS && bpf_link_get_next_id(id, &id) == 0)
			if (link_on(id, cgid))
				ids[n++] = id;
	}
	skel = maybe_retval();
	for (int i = 0; i < n; i++) {
		struct bpf_link_info info = {};
		struct bpf_prog_info pinfo = {};
		__u32 len = sizeof(info), plen = sizeof(pinfo);
		enum bpf_attach_type t;
		char label[96];
		int fd, pfd, r;

		snprintf(label, sizeof(label), "id=%u", ids[i]);
		fd = bpf_link_get_fd_by_id(ids[i]);
		if (step("link-get-fd-by-id", label, fd < 0 ? -errno : 0) < 0)
			continue;
		r = bpf_obj_get_info_by_fd(fd, &info, &len);
		/* Only links of the target cgroup, only netfence's programs. */
		if (r < 0 || info.type != BPF_LINK_TYPE_CGROUP || info.cgroup.cgroup_id != cgid) {
			close(fd);
			continue;
		}
		pfd = bpf_prog_get_fd_by_id(info.prog_id);
		r = pfd < 0 ? -1 : bpf_obj_get_info_by_fd(pfd, &pinfo, &plen);
		if (pfd >= 0)
			close(pfd);
		if (r < 0 || nf_attach_type(pinfo.name, &t) < 0) {
			close(fd);
			continue;
		}
		snprintf(label, sizeof(label), "%s(link=%u)", pinfo.name, ids[i]);
		if (retval_fd_for(skel, t) >= 0)
			hostile("link-update", label,
				bpf_link_update(fd, retval_fd_for(skel, t), NULL));
		hostile("link-detach", label, bpf_link_detach(fd));
		close(fd);
	}
	if (skel)
		retval_bpf__destroy(skel);
	printf("bypass: hostile-ok %d\n", hostile_ok);
	return 0;
}

/*
 * nf_classes (bpf/netfence.h) is one array element holding every verdict class the trees name,
 * three __u32 port set ids each: all 1 (NF_PORTSET_ALL) would allow every destination,
 * ADDR included.
 */
#define NF_CLASSES_MAX (64 * 1024 * 12)

static int cmd_update_map(struct args *a)
{
	__u32 ids[MAX_IDS];
	int n = 0;
	struct in_addr target;
	static __u32 allow_all[NF_CLASSES_MAX / 4];
	__u32 key = 0;

	if (!a->deny4 || inet_pton(AF_INET, a->deny4, &target) != 1)
		return usage();
	for (size_t i = 0; i < NF_CLASSES_MAX / 4; i++)
		allow_all[i] = 1;
	print_caps();
	try_enumerate("map-get-next-id", bpf_map_get_next_id);
	if (a->nids) {
		memcpy(ids, a->ids, sizeof(__u32) * (size_t)a->nids);
		n = a->nids;
	} else if (a->cgroup) {
		/* The maps of the programs attached to the cgroup. */
		__u32 progs[MAX_IDS];
		int np = 0, cgfd = open_cgroup(a->cgroup);

		if (cgfd < 0)
			return 1;
		query_cgroup(cgfd, progs, &np);
		close(cgfd);
		for (int i = 0; i < np; i++) {
			__u32 maps[16];
			struct bpf_prog_info info = { .nr_map_ids = 16,
						      .map_ids = (__u64)(uintptr_t)maps };
			__u32 len = sizeof(info);
			int fd = bpf_prog_get_fd_by_id(progs[i]);
			char label[32];

			snprintf(label, sizeof(label), "id=%u", progs[i]);
			if (step("prog-get-fd-by-id", label, fd < 0 ? -errno : 0) < 0)
				continue;
			if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
				for (__u32 j = 0; j < info.nr_map_ids && j < 16 && n < MAX_IDS; j++)
					ids[n++] = maps[j];
			close(fd);
		}
	} else {
		return usage();
	}
	for (int i = 0; i < n; i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		char label[64];
		int fd;
		bool seen = false;

		for (int j = 0; j < i; j++)
			seen |= ids[j] == ids[i];
		if (seen)
			continue;
		snprintf(label, sizeof(label), "id=%u", ids[i]);
		fd = bpf_map_get_fd_by_id(ids[i]);
		if (step("map-get-fd-by-id", label, fd < 0 ? -errno : 0) < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ||
		    strcmp(info.name, "nf_classes") != 0 || info.value_size > NF_CLASSES_MAX) {
			close(fd);
			continue;
		}
		snprintf(label, sizeof(label), "nf_classes(id=%u)", ids[i]);
		hostile("map-update", label, bpf_map_update_elem(fd, &key, allow_all, BPF_ANY));
		hostile("map-delete", label, bpf_map_delete_elem(fd, &key));
		close(fd);
	}
	printf("bypass: hostile-ok %d\n", hostile_ok);
	return 0;
}

static int cmd_detach_pinned(int argc, char **argv)
{
	print_caps();
	for (int i = 0; i < argc; i++) {
		int fd = bpf_obj_get(argv[i]);

		if (step("obj-get", argv[i], fd < 0 ? -errno : 0) < 0)
			continue;
		hostile("link-detach", argv[i], bpf_link_detach(fd));
		close(fd);
	}
	printf("bypass: hostile-ok %d\n", hostile_ok);
	return 0;
}

/* --- workload and measurement ------------------------------------------------------------ */

static int cmd_connect_loop(int argc, char **argv)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	long n, counts[256] = { 0 };

	if (argc != 3)
		return usage();
	n = strtol(argv[0], NULL, 10);
	if (strchr(argv[1], ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)strtoul(argv[2], NULL, 10));
		if (inet_pton(AF_INET6, argv[1], &s6->sin6_addr) != 1)
			return usage();
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)strtoul(argv[2], NULL, 10));
		if (inet_pton(AF_INET, argv[1], &s4->sin_addr) != 1)
			return usage();
		len = sizeof(*s4);
	}
	for (long i = 0; i < n; i++) {
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int e = 0;

		if (fd < 0)
			return step("socket", argv[1], -1), 1;
		if (connect(fd, (struct sockaddr *)&ss, len) < 0)
			e = errno;
		close(fd);
		counts[e < 256 ? e : 255]++;
	}
	for (int e = 0; e < 256; e++)
		if (counts[e])
			printf("bypass: connect-loop %s %ld\n", errname(e), counts[e]);
	return 0;
}

struct prog_stat {
	__u64 cnt, ns;
	char name[BPF_OBJ_NAME_LEN];
};

static int prog_stats(__u32 id, struct prog_stat *s)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id), r;

	if (fd < 0)
		return -errno;
	r = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (r < 0)
		return r;
	s->cnt = info.run_cnt;
	s->ns = info.run_time_ns;
	memcpy(s->name, info.name, sizeof(s->name));
	return 0;
}

static int cmd_measure(struct args *a)
{
	struct prog_stat before[MAX_IDS], after[MAX_IDS];
	int sfd;

	if (!a->nids || !a->cmd)
		return usage();
	sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (step("enable-stats", "run_time", sfd < 0 ? -errno : 0) < 0)
		return 1;
	for (int i = 0; i < a->nids; i++)
		if (prog_stats(a->ids[i], &before[i]) < 0)
			return step("prog-stats", "before", -errno), 1;
	run_cmd(a->cmd);
	for (int i = 0; i < a->nids; i++) {
		__u64 runs, ns;

		if (prog_stats(a->ids[i], &after[i]) < 0)
			return step("prog-stats", "after", -errno), 1;
		runs = after[i].cnt - before[i].cnt;
		ns = after[i].ns - before[i].ns;
		printf("bypass: stats id=%u name=%s runs=%llu ns=%llu avg_ns=%.1f\n", a->ids[i],
		       after[i].name, (unsigned long long)runs, (unsigned long long)ns,
		       runs ? (double)ns / (double)runs : 0.0);
	}
	close(sfd);
	return 0;
}

int main(int argc, char **argv)
{
	struct args a;
	const char *mode;

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_log);
	if (argc < 2)
		return usage();
	mode = argv[1];
	if (strcmp(mode, "caps") == 0) {
		print_caps();
		return 0;
	}
	if (strcmp(mode, "detach-pinned") == 0)
		return cmd_detach_pinned(argc - 2, argv + 2);
	if (strcmp(mode, "connect-loop") == 0)
		return cmd_connect_loop(argc - 2, argv + 2);
	if (parse_args(argc - 2, argv + 2, &a) < 0)
		return usage();
	if (strcmp(mode, "retval") == 0)
		return cmd_attach("retval_", &a);
	if (strcmp(mode, "deny") == 0)
		return cmd_attach("deny_", &a);
	if (strcmp(mode, "ancestor") == 0)
		return cmd_attach("anc_", &a);
	if (strcmp(mode, "egress") == 0)
		return cmd_egress(&a);
	if (strcmp(mode, "detach-progs") == 0)
		return cmd_detach_progs(&a);
	if (strcmp(mode, "detach-links") == 0)
		return cmd_detach_links(&a);
	if (strcmp(mode, "update-map") == 0)
		return cmd_update_map(&a);
	if (strcmp(mode, "measure") == 0)
		return cmd_measure(&a);
	return usage();
}
