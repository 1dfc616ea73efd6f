// SPDX-License-Identifier: Apache-2.0
/* netfence doctor: findings, file helpers and the node checks. See doctor.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "doctor.h"
#include "netfence.h"
#include "policy.h"
#include "util.h"

#define MOUNTINFO_MAX	(4 * 1024 * 1024)
#define VERSION_WAIT_MS 3000 /* for `<hook path> version` to answer */

void nf_doctor_add(struct nf_doctor *d, int severity, const char *id, const char *fix,
		   const char *fmt, ...)
{
	struct nf_finding f = { .severity = severity };
	va_list ap;
	int r;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct nf_finding *v = realloc(d->v, cap * sizeof(*v));

		if (!v) {
			d->oom = true;
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	va_start(ap, fmt);
	r = vasprintf(&f.what, fmt, ap);
	va_end(ap);
	f.id = strdup(id);
	f.fix = fix ? strdup(fix) : NULL;
	if (r < 0 || !f.id || (fix && !f.fix)) {
		if (r >= 0)
			free(f.what);
		free(f.id);
		free(f.fix);
		d->oom = true;
		return;
	}
	d->v[d->n++] = f;
}

size_t nf_doctor_count(const struct nf_doctor *d, int severity)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].severity >= severity;
	return n;
}

const struct nf_finding *nf_doctor_find(const struct nf_doctor *d, const char *id)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].id, id) == 0)
			return &d->v[i];
	return NULL;
}

void nf_doctor_free(struct nf_doctor *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].id);
		free(d->v[i].what);
		free(d->v[i].fix);
	}
	free(d->v);
	nf_config_free(&d->cfg);
	d->v = NULL;
	d->n = d->cap = 0;
}

int nf_doctor_path(const struct nf_doctor *d, const char *path, char *buf, size_t size)
{
	return (size_t)snprintf(buf, size, "%s%s", d->root ? d->root : "", path) >= size
		       ? -ENAMETOOLONG
		       : 0;
}

bool nf_doctor_is_dir(const struct nf_doctor *d, const char *path)
{
	char full[PATH_MAX];
	struct stat st;

	return nf_doctor_path(d, path, full, sizeof(full)) == 0 && stat(full, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

/*
 * Host path path as a path under the root, its last component's symbolic links followed
 * inside the root (an absolute target is a host path too), as the runtime would see it.
 */
static int resolve(const struct nf_doctor *d, const char *path, char *buf, size_t size)
{
	char cur[PATH_MAX], target[PATH_MAX];
	struct stat st;

	snprintf(cur, sizeof(cur), "%s", path);
	for (int hops = 0; hops < 16; hops++) {
		ssize_t n;
		char *slash;

		if (nf_doctor_path(d, cur, buf, size) < 0)
			return -ENAMETOOLONG;
		if (!d->root || !d->root[0] || lstat(buf, &st) < 0 || !S_ISLNK(st.st_mode))
			return 0;
		n = readlink(buf, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (target[0] == '/') {
			snprintf(cur, sizeof(cur), "%s", target);
			continue;
		}
		slash = strrchr(cur, '/');
		if (slash)
			slash[1] = '\0';
		if (strlen(cur) + strlen(target) >= sizeof(cur))
			return -ENAMETOOLONG;
		strcat(cur, target);
	}
	return -ELOOP;
}

/* Run file as `netfence version`; true when it says "netfence <version>". */
static bool says_netfence(const char *file, char *out, size_t size)
{
	char *const argv[] = { "netfence", "version", NULL };
	char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	struct pollfd pfd;
	size_t len = 0;
	int p[2], status;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return false;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return false;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		execve(file, argv, envp);
		_exit(127);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	while (len + 1 < size && poll(&pfd, 1, VERSION_WAIT_MS) > 0) {
		ssize_t n = read(p[0], out + len, size - 1 - len);

		if (n <= 0)
			break;
		len += n;
	}
	out[len] = '\0';
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	out[strcspn(out, "\n")] = '\0';
	return strncmp(out, "netfence ", 9) == 0;
}

bool nf_doctor_check_binary(struct nf_doctor *d, const char *area, const char *where,
			    const char *path)
{
	char full[PATH_MAX], id[64], said[128], q[NF_QUOTE_BUF], qs[NF_QUOTE_BUF];
	struct stat st, self;

	nf_quote_str(q, path);
	if (path[0] != '/') {
		snprintf(id, sizeof(id), "%s.path-missing", area);
		nf_doctor_add(d, NF_SEV_ERROR, id, "give the absolute path of the netfence binary",
			      "%s %s is not an absolute path", where, q);
		return false;
	}
	if (resolve(d, path, full, sizeof(full)) < 0 || stat(full, &st) < 0) {
		snprintf(id, sizeof(id), "%s.path-missing", area);
		nf_doctor_add(d, NF_SEV_ERROR, id,
			      "install netfence there (make install) or correct the path",
			      "%s %s does not exist: the engine skips the hook and the container "
			      "runs unfenced, or fails to start",
			      where, q);
		return false;
	}
	if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR)) {
		snprintf(id, sizeof(id), "%s.path-not-executable", area);
		nf_doctor_add(d, NF_SEV_ERROR, id, "chmod 0755 the netfence binary",
			      "%s %s is not an executable file", where, q);
		return false;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		/* The engine runs it as root for every container: its writers own the node. */
		snprintf(id, sizeof(id), "%s.path-writable", area);
		nf_doctor_add(d, NF_SEV_ERROR, id, "chown root: and chmod go-w the binary",
			      "%s %s is writable by others than root (owner uid %u, mode %04o)",
			      where, q, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return false;
	}
	if (stat("/proc/self/exe", &self) == 0 && self.st_dev == st.st_dev &&
	    self.st_ino == st.st_ino)
		return true;
	if (says_netfence(full, said, sizeof(said)))
		return true;
	snprintf(id, sizeof(id), "%s.path-not-netfence", area);
	nf_doctor_add(d, NF_SEV_ERROR, id, "point it at the netfence binary",
		      "%s %s is not netfence (`%s version` printed %s)", where, q, path,
		      nf_quote_str(qs, said));
	return false;
}

/* --- mounts -------------------------------------------------------------------------- */

/* Decode mountinfo's octal escapes (\040) in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* One mountinfo line: its root, mount point and type (pointers into line, unescaped). */
static bool mount_line(char *line, char **root, char **point, char **type)
{
	char *f[6], *save = NULL, *t;
	int n = 0;

	for (t = strtok_r(line, " ", &save); t && n < 6; t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	if (n < 6)
		return false;
	while (t && strcmp(t, "-") != 0)
		t = strtok_r(NULL, " ", &save);
	if (!t || !(t = strtok_r(NULL, " ", &save)))
		return false;
	*root = f[3];
	*point = f[4];
	*type = t;
	unescape(*root);
	unescape(*point);
	return true;
}

static bool holds(const char *point, const char *path)
{
	size_t n = strlen(point);

	if (strcmp(point, "/") == 0)
		return path[0] == '/';
	return strncmp(point, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int nf_doctor_mount_type(const char *mountinfo, const char *path, char *type, size_t size)
{
	char *copy = strdup(mountinfo), *line, *save = NULL, *root, *point, *t;
	size_t best = 0;
	bool found = false;

	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!mount_line(line, &root, &point, &t) || !holds(point, path))
			continue;
		/* The longest holder wins, and the later of two on the same point. */
		if (!found || strlen(point) >= best) {
			best = strlen(point);
			snprintf(type, size, "%s", t);
			found = true;
		}
	}
	free(copy);
	return found ? 0 : -ENOENT;
}

void nf_doctor_cgroup_mounts(const char *mountinfo, char *mnt, size_t size, bool *ret_v1)
{
	char *copy = strdup(mountinfo), *line, *save = NULL, *root, *point, *t;

	mnt[0] = '\0';
	*ret_v1 = false;
	if (!copy)
		return;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!mount_line(line, &root, &point, &t))
			continue;
		if (strcmp(t, "cgroup") == 0)
			*ret_v1 = true;
		else if (strcmp(t, "cgroup2") == 0 && strcmp(root, "/") == 0 &&
			 (!mnt[0] || strcmp(point, "/sys/fs/cgroup") == 0))
			snprintf(mnt, size, "%s", point);
	}
	free(copy);
}

static void check_bpffs(struct nf_doctor *d, const char *mountinfo)
{
	const char *bpffs = d->cfg.bpffs_root;
	char type[64], fix[PATH_MAX + 64], q[NF_QUOTE_BUF];
	int r = nf_doctor_mount_type(mountinfo, bpffs, type, sizeof(type));

	if (r == 0 && strcmp(type, "bpf") == 0)
		return;
	/* The kernel's place for bpffs is /sys/fs/bpf; a root elsewhere is mounted on itself. */
	if (holds("/sys/fs/bpf", bpffs))
		snprintf(fix, sizeof(fix), "mount -t bpf bpf /sys/fs/bpf");
	else
		snprintf(fix, sizeof(fix), "mkdir -p %s && mount -t bpf bpf %s", bpffs, bpffs);
	nf_doctor_add(d, NF_SEV_ERROR, "bpffs.not-mounted", fix,
		      "no bpffs at or above %s (the bpffs_root in use; it is on %s): every fence "
		      "fails to attach",
		      nf_quote_str(q, bpffs), r == 0 ? type : "no mount");
}

static void check_cgroup2(struct nf_doctor *d, const char *mountinfo)
{
	char mnt[PATH_MAX];
	bool v1;

	nf_doctor_cgroup_mounts(mountinfo, mnt, sizeof(mnt), &v1);
	if (!mnt[0]) {
		nf_doctor_add(d, NF_SEV_ERROR, "cgroup2.missing",
			      "boot with systemd.unified_cgroup_hierarchy=1, or mount -t cgroup2 "
			      "cgroup2 /sys/fs/cgroup/unified",
			      "no cgroup v2 hierarchy is mounted: netfence attaches to cgroup v2 "
			      "directories and fences nothing without one");
		return;
	}
	if (v1)
		nf_doctor_add(
			d, NF_SEV_INFO, "cgroup2.hybrid", NULL,
			"hybrid cgroup host: cgroup v2 at %s beside v1 controllers; netfence "
			"fences the v2 directory runc and crun also create (docs/runtimes.md, "
			"\"Hybrid cgroup hosts\")",
			mnt);
}

static void check_mounts(struct nf_doctor *d)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len;
	int r;

	r = nf_doctor_path(d, "/proc/self/mountinfo", path, sizeof(path));
	if (r == 0)
		r = nf_read_file(path, MOUNTINFO_MAX, &buf, &len);
	if (r < 0) {
		nf_doctor_add(d, NF_SEV_WARNING, "mounts.unreadable", NULL,
			      "cannot read %s: %s; bpffs and cgroup2 not checked", path,
			      strerror(-r));
		return;
	}
	check_bpffs(d, buf);
	check_cgroup2(d, buf);
	free(buf);
}

/* --- the kernel and this process -------------------------------------------------------- */

/* Whether this process holds what the hook needs: the probes load programs with it. */
static bool check_privileges(struct nf_doctor *d)
{
	cap_value_t bpf = CAP_IS_SUPPORTED(39) ? 39 : CAP_SYS_ADMIN;
	cap_flag_value_t a = CAP_CLEAR, b = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (caps) {
		cap_get_flag(caps, bpf, CAP_EFFECTIVE, &a);
		cap_get_flag(caps, CAP_NET_ADMIN, CAP_EFFECTIVE, &b);
		cap_free(caps);
	}
	if (a == CAP_SET && b == CAP_SET)
		return true;
	nf_doctor_add(d, NF_SEV_WARNING, "privileges.missing",
		      "run netfence doctor as root (the engines run the hook as root; rootless "
		      "engines cannot load cgroup BPF programs)",
		      "netfence doctor runs without %s and CAP_NET_ADMIN (uid %u): the kernel's "
		      "BPF features were not probed",
		      bpf == CAP_SYS_ADMIN ? "CAP_SYS_ADMIN" : "CAP_BPF", (unsigned)getuid());
	return false;
}

/* bpf_link on a cgroup attach type (5.7+): a link to no cgroup at all fails with EBADF where
 * the kernel knows cgroup links, EINVAL where BPF_LINK_CREATE is unknown. */
static int probe_cgroup_link(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_CGROUP_INET4_CONNECT);
	int fd, link, r;

	fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "nf_probe", "GPL", insns, 2, &opts);
	if (fd < 0)
		return fd;
	link = bpf_link_create(fd, -1, BPF_CGROUP_INET4_CONNECT, NULL);
	r = link >= 0 || link == -EBADF ? 1 : link == -EINVAL ? 0 : link;
	if (link >= 0)
		close(link);
	close(fd);
	return r;
}

static void probe_result(struct nf_doctor *d, int r, const char *id, const char *what)
{
	if (r > 0)
		return;
	if (r == 0)
		nf_doctor_add(d, NF_SEV_ERROR, id, "run Linux 5.10 or later",
			      "the kernel lacks %s: no fence can be attached", what);
	else
		nf_doctor_add(d, NF_SEV_WARNING, "kernel.probe-failed", NULL, "cannot probe %s: %s",
			      what, strerror(-r));
}

static void check_kernel(struct nf_doctor *d)
{
	static const struct {
		enum bpf_prog_type type;
		const char *what;
	} progs[] = {
		{ BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "cgroup/connect and sendmsg programs" },
		{ BPF_PROG_TYPE_CGROUP_SOCK, "cgroup/sock_create programs" },
		{ BPF_PROG_TYPE_CGROUP_SKB, "cgroup_skb/egress programs" },
	};
	static const struct {
		enum bpf_map_type type;
		const char *what;
	} maps[] = {
		{ BPF_MAP_TYPE_CGROUP_STORAGE, "cgroup storage maps" },
		{ BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, "per-CPU cgroup storage maps" },
		{ BPF_MAP_TYPE_RINGBUF, "ring buffer maps" },
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		probe_result(d, libbpf_probe_bpf_prog_type(progs[i].type, NULL), "kernel.prog-type",
			     progs[i].what);
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		probe_result(d, libbpf_probe_bpf_map_type(maps[i].type, NULL), "kernel.map-type",
			     maps[i].what);
	probe_result(d, probe_cgroup_link(), "kernel.bpf-link", "bpf_link for cgroup programs");
}

/* Under classic ptrace a container sharing a PID namespace with other cgroups' processes could
 * make one of them connect for it, so the hook refuses those (docs/security.md). */
static void check_ptrace(struct nf_doctor *d)
{
	if (nf_ptrace_scope(d->root) == 0)
		nf_doctor_add(d, NF_SEV_INFO, "kernel.ptrace-unrestricted",
			      "sysctl kernel.yama.ptrace_scope=1",
			      "ptrace is unrestricted (kernel.yama.ptrace_scope 0, or no Yama): "
			      "containers in the host's PID namespace, or one joined by path, are "
			      "refused (Kubernetes hostPID and shareProcessNamespace, podman "
			      "--pid=host)");
}

/* --- host config and policies ------------------------------------------------------------ */

static void check_config(struct nf_doctor *d)
{
	const char *host = d->config_path ? d->config_path : NF_CONFIG_PATH;
	char full[PATH_MAX], err[NF_ERR_MAX + 128];
	struct stat st;
	int r;

	nf_config_defaults(&d->cfg);
	if (nf_doctor_path(d, host, full, sizeof(full)) < 0)
		return;
	if (!d->config_path && stat(full, &st) < 0 && errno == ENOENT)
		nf_doctor_add(d, NF_SEV_INFO, "config.absent", NULL,
			      "no host config at %s: the defaults apply", host);
	r = nf_config_load(full, d->config_path != NULL, &d->cfg, err, sizeof(err));
	if (r < 0) {
		nf_doctor_add(d, NF_SEV_ERROR, "config.invalid",
			      "correct the file (schemas/config.schema.json)",
			      "host config %s: %s: every hook and wrapper run fails", host, err);
		nf_config_defaults(&d->cfg);
	} else {
		d->config_loaded = true;
	}
	if (d->bpffs_root) {
		free(d->cfg.bpffs_root);
		d->cfg.bpffs_root = strdup(d->bpffs_root);
		if (!d->cfg.bpffs_root)
			d->oom = true;
	}
	if (d->cfg.fail_mode == NF_FAIL_OPEN)
		nf_doctor_add(d, NF_SEV_WARNING, "config.fail-open",
			      "set \"fail_mode\": \"closed\" unless an unfenced container is "
			      "better than none",
			      "fail_mode is 'open' in %s: a hook error starts the container "
			      "unfenced (netfence list shows it)",
			      host);
	if (d->cfg.allow_removable_fence)
		nf_doctor_add(
			d, NF_SEV_WARNING, "config.removable-fence",
			"set \"allow_removable_fence\": false and drop those capabilities",
			"allow_removable_fence is true in %s: containers that can lift their "
			"own fence (CAP_SYS_ADMIN, CAP_BPF with CAP_NET_ADMIN, ...) are fenced "
			"anyway, and may walk out",
			host);
}

/* One policy file: its name usable by io.netfence.policy-name, its document valid. */
static void check_policy_file(struct nf_doctor *d, const char *host_dir, const char *entry)
{
	char host[PATH_MAX], full[PATH_MAX], name[256], err[NF_ERR_MAX], fix[PATH_MAX + 64];
	struct nf_policy *p = NULL;
	size_t len;
	char *buf;
	int r;

	snprintf(name, sizeof(name), "%.*s", (int)(strlen(entry) - 5), entry);
	if ((size_t)snprintf(host, sizeof(host), "%s/%s", host_dir, entry) >= sizeof(host) ||
	    nf_doctor_path(d, host, full, sizeof(full)) < 0)
		return;
	if (nf_policy_name_valid(name) < 0)
		nf_doctor_add(d, NF_SEV_WARNING, "policy.bad-name",
			      "rename it: [a-z0-9][a-z0-9._-]{0,62}.json",
			      "%s: '%s' is not a policy name, so no annotation can name it", host,
			      name);
	r = nf_read_regular_file(full, NF_POLICY_MAX_BYTES, &buf, &len);
	if (r < 0) {
		nf_doctor_add(d, NF_SEV_ERROR, "policy.unreadable", NULL, "%s: %s", host,
			      r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		return;
	}
	r = nf_policy_parse(buf, len, &p, err, sizeof(err));
	free(buf);
	snprintf(fix, sizeof(fix), "netfence policy check %s, and correct it", host);
	if (r < 0) {
		nf_doctor_add(d, NF_SEV_ERROR, "policy.invalid", fix,
			      "%s: %s: containers naming '%s' fail to start (or run unfenced under "
			      "fail_mode open)",
			      host, err, name);
		return;
	}
	if (p->mode == NF_MODE_AUDIT && d->cfg.floor.rules)
		nf_doctor_add(d, NF_SEV_ERROR, "policy.audit-under-floor",
			      "use mode enforce, or no floor rules",
			      "%s: an audit policy under the host floor's rules is refused: "
			      "containers naming '%s' fail to start",
			      host, name);
	nf_policy_free(p);
}

static void check_policies(struct nf_doctor *d)
{
	const char *dir = d->cfg.policies_dir;
	char full[PATH_MAX], host[PATH_MAX];
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	struct stat st;
	DIR *dh;

	if (nf_doctor_path(d, dir, full, sizeof(full)) < 0)
		return;
	dh = opendir(full);
	while (dh && (e = readdir(dh))) {
		size_t len = strlen(e->d_name);

		if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0 &&
		    nf_strv_push(&names, &n, &cap, strdup(e->d_name)) < 0)
			d->oom = true;
	}
	if (dh)
		closedir(dh);
	nf_strv_sort(names, n);
	for (size_t i = 0; i < n; i++)
		check_policy_file(d, dir, names[i]);
	nf_strv_free(names, n);
	if (!d->cfg.default_policy)
		return;
	snprintf(host, sizeof(host), "%s/%s.json", dir, d->cfg.default_policy);
	if (nf_doctor_path(d, host, full, sizeof(full)) == 0 && stat(full, &st) < 0)
		nf_doctor_add(d, NF_SEV_ERROR, "config.default-policy-missing",
			      "install the policy file, or correct default_policy",
			      "default_policy '%s' names %s, which does not exist: unannotated "
			      "containers fail to start (or run unfenced under fail_mode open)",
			      d->cfg.default_policy, host);
}

void nf_doctor_run(struct nf_doctor *d)
{
	if (!d->root)
		d->root = "";
	check_config(d);
	check_mounts(d);
	if (check_privileges(d))
		check_kernel(d);
	check_ptrace(d);
	check_policies(d);
	nf_doctor_check_cdi(d);
	nf_doctor_check_hooksd(d);
	nf_doctor_check_containerd(d);
}
