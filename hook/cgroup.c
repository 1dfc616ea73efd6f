// SPDX-License-Identifier: Apache-2.0
/* cgroup v2 directory of a process: see cgroup.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "cgroup.h"
#include "util.h"

#define DELETED_SUFFIX	" (deleted)"
#define PREFERRED_MOUNT "/sys/fs/cgroup"

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Decode mountinfo's octal escapes (\040 for a space) in place; false on a NUL. */
static bool unescape(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
			if (*o == '\0')
				return false;
			o++;
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return true;
}

/* One cgroup2 line of mountinfo. */
struct cgroup2_line {
	const char *root;  /* the part of the hierarchy shown ("/" for all of it) */
	char *mount_point; /* decoded, absolute */
	bool writable;	   /* neither the mount nor the superblock is read-only */
};

/*
 * Parse one mountinfo line; true if it is a cgroup2 mount. Fields: id parent major:minor root
 * mount-point options [optional...] - fstype source super-options. Malformed lines are
 * skipped: the format is the kernel's, not an attacker's.
 */
static bool cgroup2_line(char *line, struct cgroup2_line *ret)
{
	char *field[64], *p = line, *tok;
	size_t n = 0, dash;

	while (n < 64 && (tok = strsep(&p, " ")))
		field[n++] = tok;
	for (dash = 6; dash < n && strcmp(field[dash], "-") != 0; dash++)
		;
	if (dash + 1 >= n || strcmp(field[dash + 1], "cgroup2") != 0)
		return false;
	if (!unescape(field[3]) || !unescape(field[4]) || field[4][0] != '/')
		return false;
	ret->root = field[3];
	ret->mount_point = field[4];
	ret->writable = strncmp(field[5], "rw", 2) == 0 &&
			(dash + 3 >= n || strncmp(field[dash + 3], "rw", 2) == 0);
	return true;
}

/* The mount point of a cgroup2 mount of the hierarchy's root, else NULL. */
static char *cgroup2_mount_of(char *line)
{
	struct cgroup2_line l;

	if (!cgroup2_line(line, &l) || strcmp(l.root, "/") != 0)
		return NULL;
	return l.mount_point;
}

int nf_cgroup_list_mounts(const char *mountinfo_path, bool writable_only, char ***ret_v,
			  size_t *ret_n)
{
	char *line = NULL, **v = NULL;
	size_t size = 0, n = 0, cap = 0;
	struct cgroup2_line l;
	ssize_t len;
	FILE *f;
	int r = 0;

	f = fopen(mountinfo_path, "re");
	if (!f)
		return -errno;
	while (r == 0 && (len = getline(&line, &size, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (!cgroup2_line(line, &l) || (writable_only && !l.writable))
			continue;
		r = nf_strv_push(&v, &n, &cap, strdup(l.mount_point));
	}
	if (r == 0 && ferror(f))
		r = -EIO;
	fclose(f);
	free(line);
	if (r < 0) {
		nf_strv_free(v, n);
		return r;
	}
	*ret_v = v;
	*ret_n = n;
	return 0;
}

/* The cgroup2 mount in an open mountinfo file; see nf_cgroup_find_mount(). */
static int find_mount(FILE *f, char **ret_mount)
{
	char *line = NULL, *found = NULL, *mnt;
	size_t size = 0;
	ssize_t n;
	int r = 0;

	while ((n = getline(&line, &size, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		mnt = cgroup2_mount_of(line);
		if (!mnt || (found && strcmp(mnt, PREFERRED_MOUNT) != 0))
			continue;
		free(found);
		found = strdup(mnt);
		if (!found) {
			r = -ENOMEM;
			break;
		}
		if (strcmp(found, PREFERRED_MOUNT) == 0)
			break;
	}
	if (!r && ferror(f))
		r = -EIO;
	else if (!r && !found)
		r = -ENOENT;
	free(line);
	if (r < 0) {
		free(found);
		return r;
	}
	*ret_mount = found;
	return 0;
}

int nf_cgroup_find_mount(const char *mountinfo_path, char **ret_mount)
{
	FILE *f;
	int r;

	f = fopen(mountinfo_path, "re");
	if (!f)
		return -errno;
	r = find_mount(f, ret_mount);
	fclose(f);
	return r;
}

/* Locate the path of the single `0::` line; -ENOENT if none, -EINVAL if several. */
static int find_unified_line(const char *buf, size_t len, const char **ret_path, size_t *ret_plen)
{
	const char *p = buf, *end = buf + len, *path = NULL;
	size_t plen = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *eol = nl ? nl : end;

		if (eol - p >= 3 && memcmp(p, "0::", 3) == 0) {
			if (path)
				return -EINVAL;
			path = p + 3;
			plen = eol - path;
		}
		p = nl ? nl + 1 : end;
	}
	if (!path)
		return -ENOENT;
	*ret_path = path;
	*ret_plen = plen;
	return 0;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* See nf_cgroup_parse_proc() for the rules. */
static int check_path(const char *path, size_t len)
{
	size_t i, start;

	if (len == 0 || path[0] != '/' || memchr(path, '\0', len) ||
	    ends_with(path, len, DELETED_SUFFIX))
		return -EINVAL;
	if ((len == 3 || (len > 3 && path[3] == '/')) && memcmp(path, "/..", 3) == 0)
		return -EXDEV;
	if (len == 1)
		return -EPERM;
	/* Components: no empty one ("//", trailing "/"), no "." or "..". */
	for (start = i = 1; i <= len; i++) {
		const char *c = path + start;
		size_t n = i - start;

		if (i < len && path[i] != '/')
			continue;
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return -EINVAL;
		start = i + 1;
	}
	return 0;
}

int nf_cgroup_parse_proc(const char *buf, size_t len, char **ret_path)
{
	const char *path;
	size_t plen;
	char *s;
	int r;

	r = find_unified_line(buf, len, &path, &plen);
	if (r < 0)
		return r;
	r = check_path(path, plen);
	if (r < 0)
		return r;
	s = strndup(path, plen);
	if (!s)
		return -ENOMEM;
	*ret_path = s;
	return 0;
}

static int path_error(int pid, const char *path, size_t plen, int r, char *err, size_t errlen)
{
	char q[NF_QUOTE_BUF];

	nf_quote_mem(q, path, plen);
	switch (r) {
	case -EXDEV:
		return fail(err, errlen, r,
			    "pid %d: cgroup %s is outside netfence's cgroup namespace", pid, q);
	case -EPERM:
		return fail(err, errlen, r,
			    "pid %d: cgroup %s is the root cgroup, refusing to fence it", pid, q);
	default:
		if (plen > 0 && path[0] == '/' && ends_with(path, plen, DELETED_SUFFIX))
			return fail(err, errlen, r, "pid %d: cgroup %s has been removed", pid, q);
		return fail(err, errlen, r, "pid %d: cgroup %s is not a valid cgroup path", pid, q);
	}
}

/* The `0::` path of pid, checked, as a new string. */
static int read_proc_cgroup(const char *proc_root, int pid, char **ret_path, char *err,
			    size_t errlen)
{
	char file[PATH_MAX];
	const char *path = NULL;
	size_t len = 0, plen = 0;
	char *buf = NULL, *s = NULL;
	int r;

	if ((size_t)snprintf(file, sizeof(file), "%s/%d/cgroup", proc_root, pid) >= sizeof(file))
		return fail(err, errlen, -ENAMETOOLONG, "pid %d: proc root is too long", pid);
	r = nf_read_file(file, NF_CGROUP_PROC_MAX, &buf, &len);
	if (r == -EFBIG)
		return fail(err, errlen, r, "pid %d: %s is more than %d bytes", pid, file,
			    NF_CGROUP_PROC_MAX);
	if (r < 0)
		return fail(err, errlen, r, "pid %d: cannot read %s: %s", pid, file, strerror(-r));
	r = find_unified_line(buf, len, &path, &plen);
	if (r == -ENOENT)
		fail(err, errlen, r, "pid %d: no cgroup v2 entry ('0::' line) in %s", pid, file);
	else if (r < 0)
		fail(err, errlen, r, "pid %d: more than one '0::' line in %s", pid, file);
	else if ((r = check_path(path, plen)) < 0)
		path_error(pid, path, plen, r, err, errlen);
	else if (!(s = strndup(path, plen)))
		r = fail(err, errlen, -ENOMEM, "out of memory");
	free(buf);
	if (r < 0)
		return r;
	*ret_path = s;
	return 0;
}

int nf_cgroup_resolve(const char *proc_root, const char *mountinfo_path, int pid, char **ret_dir,
		      char *err, size_t errlen)
{
	char *path = NULL, *mount = NULL, *dir = NULL, q[NF_QUOTE_BUF];
	struct stat st;
	FILE *f;
	int r;

	if (!proc_root)
		proc_root = "/proc";
	if (!mountinfo_path)
		mountinfo_path = "/proc/self/mountinfo";
	if (pid <= 0)
		return fail(err, errlen, -EINVAL, "pid %d is not a process id", pid);

	r = read_proc_cgroup(proc_root, pid, &path, err, errlen);
	if (r < 0)
		return r;
	/* Opened here so that a missing file is not taken for a missing mount. */
	f = fopen(mountinfo_path, "re");
	if (!f) {
		r = -errno;
		fail(err, errlen, r, "cannot read %s: %s", mountinfo_path, strerror(-r));
		goto out;
	}
	r = find_mount(f, &mount);
	fclose(f);
	if (r == -ENOENT) {
		fail(err, errlen, r, "no cgroup2 filesystem mounted (according to %s)",
		     mountinfo_path);
		goto out;
	}
	if (r < 0) {
		fail(err, errlen, r, "cannot read %s: %s", mountinfo_path, strerror(-r));
		goto out;
	}
	/* A cgroup2 mount on "/" is odd but possible: do not start the result with "//". */
	if (asprintf(&dir, "%s%s", strcmp(mount, "/") == 0 ? "" : mount, path) < 0) {
		dir = NULL;
		r = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	if (strlen(dir) >= PATH_MAX) {
		r = fail(err, errlen, -ENAMETOOLONG, "pid %d: cgroup directory %s is too long", pid,
			 nf_quote_str(q, dir));
		goto out;
	}
	if (stat(dir, &st) < 0) {
		r = -errno;
		fail(err, errlen, r, "pid %d: cgroup directory %s: %s", pid, nf_quote_str(q, dir),
		     strerror(-r));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		r = fail(err, errlen, -ENOTDIR, "pid %d: cgroup %s is not a directory", pid,
			 nf_quote_str(q, dir));
		goto out;
	}
	*ret_dir = dir;
	dir = NULL;
out:
	free(dir);
	free(mount);
	free(path);
	return r;
}

/* CapPrm of a process's status text. */
static unsigned long long status_caps(const char *st)
{
	const char *c = strstr(st, "\nCapPrm:");

	return c ? strtoull(c + 8, NULL, 16) : 0;
}

/* Whether the status text of a process shows uid 0 (any of its four) or CAP_DAC_OVERRIDE
 * permitted: either writes a root-owned cgroup.procs. */
static bool status_may_write(const char *st)
{
	const char *u = strstr(st, "\nUid:");
	char *end;

	for (int i = 0; u && i < 4; i++) {
		u += strcspn(u, "0123456789");
		if (strtoul(u, &end, 10) == 0 && end != u)
			return true;
		u = end;
	}
	return status_caps(st) & (1ULL << 1); /* CAP_DAC_OVERRIDE */
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The host's namespaces of one type, as netfence and pid 1 see them (pid 1's may be hidden
 * from us: hidepid, a sandbox). */
struct host_ns {
	struct stat ns[2];
	int n;
};

static void host_ns_read(const char *proc_root, const char *type, struct host_ns *h)
{
	char path[PATH_MAX];

	h->n = 0;
	snprintf(path, sizeof(path), "%s/self/ns/%s", proc_root, type);
	if (stat(path, &h->ns[h->n]) == 0)
		h->n++;
	snprintf(path, sizeof(path), "%s/1/ns/%s", proc_root, type);
	if (stat(path, &h->ns[h->n]) == 0)
		h->n++;
}

/*
 * Whether the process is in one of the host's namespaces of that type. netfence holds no
 * CAP_SYS_PTRACE, so the links of another uid's (or a more capable) process cannot be read:
 * such a process is taken for the worst, in the host's namespace.
 */
static bool in_host_ns(const char *proc_root, const char *pid, const char *type,
		       const struct host_ns *h)
{
	char path[PATH_MAX];
	struct stat ns;

	snprintf(path, sizeof(path), "%s/%s/ns/%s", proc_root, pid, type);
	if (stat(path, &ns) < 0)
		return true;
	for (int i = 0; i < h->n; i++)
		if (same_file(&ns, &h->ns[i]))
			return true;
	return false;
}

/* In the PID namespace of /proc: its status lists one pid in NSpid (readable by anyone), a
 * process in a nested namespace one per level. */
static bool status_host_pidns(const char *st)
{
	const char *l = strstr(st, "\nNSpid:");

	if (!l)
		return true;
	l += strlen("\nNSpid:");
	l += strspn(l, " \t");
	l += strspn(l, "0123456789");
	l += strspn(l, " \t");
	return *l == '\n' || *l == '\0';
}

struct escape_ctx {
	const char *proc_root;
	struct host_ns cgroup, user;
	int ptrace_scope;
};

/* Whether a process that sees the host's processes may ptrace one outside its cgroup and
 * connect from there (docs/security.md): 1 with the reason. */
static int ptrace_escapable(const struct escape_ctx *e, const char *pid, const char *status,
			    char *why, size_t size)
{
	if (e->ptrace_scope >= 3 || !status_host_pidns(status) ||
	    !in_host_ns(e->proc_root, pid, "user", &e->user))
		return 0;
	if (status_caps(status) & (1ULL << 19)) /* CAP_SYS_PTRACE */
		snprintf(why, size,
			 "pid %s holds CAP_SYS_PTRACE in the host's PID namespace: it can ptrace a "
			 "process outside the cgroup and connect from there",
			 pid);
	else if (e->ptrace_scope == 0)
		snprintf(why, size,
			 "pid %s shares the host's PID namespace while ptrace is unrestricted "
			 "(kernel.yama.ptrace_scope 0, or no Yama): it can ptrace a process of its "
			 "uid outside the cgroup and connect from there",
			 pid);
	else
		return 0;
	return 1;
}

/* One process of the cgroup: 1 with the reason when it could leave it. */
static int pid_escapable(const struct escape_ctx *e, const char *pid, char *why, size_t size)
{
	char path[PATH_MAX], *status = NULL, **mounts = NULL, q[NF_QUOTE_BUF];
	size_t len, n_mounts = 0;
	int r = 0, m;

	snprintf(path, sizeof(path), "%s/%s/status", e->proc_root, pid);
	if (nf_read_file(path, 16 * 1024, &status, &len) < 0)
		return 0; /* gone */
	snprintf(path, sizeof(path), "%s/%s/mountinfo", e->proc_root, pid);
	if (status_may_write(status) && in_host_ns(e->proc_root, pid, "cgroup", &e->cgroup)) {
		m = nf_cgroup_list_mounts(path, true, &mounts, &n_mounts);
		if (m < 0 && m != -ENOENT)
			snprintf(why, size,
				 "pid %s runs as uid 0 (or with CAP_DAC_OVERRIDE) and its mounts "
				 "cannot "
				 "be read (%s): taken to see cgroup2 mounted writable, through "
				 "which it "
				 "could write its pid into another cgroup's cgroup.procs and leave "
				 "the "
				 "fence",
				 pid, strerror(-m));
		else if (n_mounts > 0)
			snprintf(why, size,
				 "pid %s runs as uid 0 (or with CAP_DAC_OVERRIDE) outside a cgroup "
				 "namespace and sees cgroup2 mounted writable at %s: it can write "
				 "its pid "
				 "into another cgroup's cgroup.procs and leave the fence",
				 pid, nf_quote_str(q, mounts[0]));
		r = (m < 0 && m != -ENOENT) || n_mounts > 0;
	}
	nf_strv_free(mounts, n_mounts);
	if (r == 0)
		r = ptrace_escapable(e, pid, status, why, size);
	free(status);
	return r;
}

int nf_cgroup_escapable(const char *proc_root, const char *dir, int ptrace_scope, char *why,
			size_t size)
{
	struct escape_ctx e = { .proc_root = proc_root ? proc_root : "/proc",
				.ptrace_scope = ptrace_scope };
	char path[PATH_MAX], *procs = NULL, *p, *nl;
	size_t len, seen = 0;
	int r = 0;

	host_ns_read(e.proc_root, "cgroup", &e.cgroup);
	host_ns_read(e.proc_root, "user", &e.user);
	if (e.cgroup.n == 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	r = nf_read_file(path, NF_CGROUP_PROC_MAX, &procs, &len);
	if (r < 0)
		return r;
	r = 0;
	for (p = procs; *p && r == 0 && seen < NF_CGROUP_ESCAPE_PIDS; p = nl, seen++) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl++ = '\0';
		r = pid_escapable(&e, p, why, size);
	}
	free(procs);
	return r;
}

int nf_cgroup_open(const char *dir, char *err, size_t errlen)
{
	char q[NF_QUOTE_BUF];
	struct statfs sfs;
	int fd, r;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		return fail(err, errlen, r, "cannot open cgroup %s: %s", nf_quote_str(q, dir),
			    strerror(-r));
	}
	if (fstatfs(fd, &sfs) < 0) {
		r = -errno;
		close(fd);
		return fail(err, errlen, r, "cannot statfs cgroup %s: %s", nf_quote_str(q, dir),
			    strerror(-r));
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		close(fd);
		return fail(err, errlen, -EMEDIUMTYPE, "%s is not on a cgroup2 filesystem",
			    nf_quote_str(q, dir));
	}
	return fd;
}

int nf_cgroup_id(const char *dir, uint64_t *ret_id)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*ret_id = st.st_ino;
	return 0;
}
