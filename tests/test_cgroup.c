// SPDX-License-Identifier: Apache-2.0
/* Tests for hook/cgroup.c: mountinfo, /proc/<pid>/cgroup, and resolution in a fake tree. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <criterion/criterion.h>

#include "cgroup.h"
#include "tmpdir.h"
#include "util.h"

#define DATA	      TEST_DATA "/cgroup/"
#define SENTINEL      ((char *)0x1)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* mountinfo ------------------------------------------------------------------------------- */

struct mount_case {
	const char *file;
	int ret;
	const char *mount;
};

static const struct mount_case mount_cases[] = {
	{ "mountinfo.unified", 0, "/sys/fs/cgroup" },
	{ "mountinfo.hybrid", 0, "/sys/fs/cgroup/unified" },
	{ "mountinfo.escaped", 0, "/mnt/my cgroup\tv2\\root" },
	{ "mountinfo.several", 0, "/sys/fs/cgroup" },
	{ "mountinfo.first", 0, "/run/first" },
	{ "mountinfo.v1-only", -ENOENT, NULL },
	{ "mountinfo.subtree-only", -ENOENT, NULL },
	{ "mountinfo.empty", -ENOENT, NULL },
	{ "does-not-exist", -ENOENT, NULL },
};

Test(cgroup, find_mount)
{
	for (const struct mount_case *c = mount_cases; c < mount_cases + ARRAY_SIZE(mount_cases);
	     c++) {
		char path[PATH_MAX], *mount = SENTINEL;
		int r;

		snprintf(path, sizeof(path), "%s%s", DATA, c->file);
		r = nf_cgroup_find_mount(path, &mount);
		cr_assert_eq(r, c->ret, "%s: got %d, want %d", c->file, r, c->ret);
		if (c->mount) {
			cr_assert_str_eq(mount, c->mount, "%s", c->file);
			free(mount);
		} else {
			cr_assert_eq(mount, SENTINEL, "%s: output written on failure", c->file);
		}
	}
}

/* /proc/<pid>/cgroup ---------------------------------------------------------------------- */

struct proc_case {
	const char *name;
	const char *buf;
	size_t len; /* 0: strlen(buf) */
	int ret;
	const char *path;
};

#define HYBRID_V1 "12:pids:/machine.slice/c1\n4:memory:/x\n1:name=systemd:/machine.slice/c1\n"

static const struct proc_case proc_cases[] = {
	{ "unified", "0::/machine.slice/c1\n", 0, 0, "/machine.slice/c1" },
	{ "hybrid", HYBRID_V1 "0::/machine.slice/c1\n", 0, 0, "/machine.slice/c1" },
	{ "0:: first", "0::/a\n" HYBRID_V1, 0, 0, "/a" },
	{ "no trailing newline", "0::/system.slice/x.scope", 0, 0, "/system.slice/x.scope" },
	{ "colon and space in path", "0::/a:b/c d\n", 0, 0, "/a:b/c d" },
	{ "dots inside names", "0::/a.../..b/.c\n", 0, 0, "/a.../..b/.c" },
	{ "10:: is not 0::", "10::/x\n0::/y\n", 0, 0, "/y" },
	{ "root", "0::/\n", 0, -EPERM, NULL },
	{ "root, hybrid", HYBRID_V1 "0::/\n", 0, -EPERM, NULL },
	{ "escape", "0::/../escape\n", 0, -EXDEV, NULL },
	{ "escape deeper", "0::/../../x/y\n", 0, -EXDEV, NULL },
	{ "parent of the namespace", "0::/..\n", 0, -EXDEV, NULL },
	{ "v1 only", HYBRID_V1, 0, -ENOENT, NULL },
	{ "empty", "", 0, -ENOENT, NULL },
	{ "v1 line for hierarchy 0", "0:cpu:/x\n", 0, -ENOENT, NULL },
	{ "0:: not at line start", "1:a:/b 0::/c\n", 0, -ENOENT, NULL },
	{ "two 0:: lines", "0::/a\n0::/b\n", 0, -EINVAL, NULL },
	{ "empty path", "0::\n", 0, -EINVAL, NULL },
	{ "relative", "0::machine.slice\n", 0, -EINVAL, NULL },
	{ "dot-dot inside", "0::/a/../b\n", 0, -EINVAL, NULL },
	{ "dot-dot at end", "0::/a/..\n", 0, -EINVAL, NULL },
	{ "dot component", "0::/a/./b\n", 0, -EINVAL, NULL },
	{ "double slash", "0::/a//b\n", 0, -EINVAL, NULL },
	{ "trailing slash", "0::/a/\n", 0, -EINVAL, NULL },
	{ "deleted", "0::/machine.slice/c1 (deleted)\n", 0, -EINVAL, NULL },
	{ "NUL in path", "0::/a\0b\n", 8, -EINVAL, NULL },
	{ "NUL in another line", "1:a:\0\n0::/b\n", 12, 0, "/b" },
};

Test(cgroup, parse_proc)
{
	for (const struct proc_case *c = proc_cases; c < proc_cases + ARRAY_SIZE(proc_cases); c++) {
		size_t len = c->len ? c->len : strlen(c->buf);
		char *path = SENTINEL;
		int r = nf_cgroup_parse_proc(c->buf, len, &path);

		cr_assert_eq(r, c->ret, "%s: got %d, want %d", c->name, r, c->ret);
		if (c->path) {
			cr_assert_str_eq(path, c->path, "%s", c->name);
			free(path);
		} else {
			cr_assert_eq(path, SENTINEL, "%s: output written on failure", c->name);
		}
	}
}

Test(cgroup, parse_proc_not_nul_terminated)
{
	static const char buf[] = { '0', ':', ':', '/', 'a', 'b' };
	char *path;

	cr_assert_eq(nf_cgroup_parse_proc(buf, 5, &path), 0);
	cr_assert_str_eq(path, "/a");
	free(path);
}

/* A fake tree: <tmp>/proc/<pid>/cgroup, <tmp>/mountinfo, <tmp>/cg as the cgroup2 mount. ------ */

static char tmp[64]; /* "/tmp/netfence-test-cgroup-XXXXXX" */

static void write_file(const char *rel, const char *content, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	f = fopen(path, "we");
	cr_assert_not_null(f, "cannot create %s: %m", path);
	cr_assert_eq(fwrite(content, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void make_dir(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %m", path);
}

/* A process whose /proc/<pid>/cgroup says content. */
static void fake_pid(int pid, const char *content)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "proc/%d", pid);
	make_dir(rel);
	snprintf(rel, sizeof(rel), "proc/%d/cgroup", pid);
	write_file(rel, content, strlen(content));
}

static void fake_mountinfo(const char *mount_rel, const char *escaped_rel)
{
	char line[PATH_MAX * 2];

	snprintf(line, sizeof(line),
		 "29 26 0:25 / /run rw,relatime shared:13 - tmpfs tmpfs rw\n"
		 "35 21 0:27 / %s/%s rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
		 "rw\n",
		 tmp, escaped_rel ? escaped_rel : mount_rel);
	write_file("mountinfo", line, strlen(line));
}

static void setup_tree(void)
{
	nf_test_mkdtemp(tmp, sizeof(tmp), "cgroup");
	make_dir("proc");
	make_dir("cg");
	make_dir("cg/machine.slice");
	make_dir("cg/machine.slice/c1");
	write_file("cg/machine.slice/file", "", 0);
	fake_mountinfo("cg", NULL);
}

static void teardown_tree(void)
{
	nf_test_rmtree(tmp);
}

/* <tmp>/rel; the result stays valid for the next three calls. */
static char *in_tmp(const char *rel)
{
	static char ring[4][PATH_MAX];
	static unsigned int next;
	char *path = ring[next++ % 4];

	snprintf(path, PATH_MAX, "%s/%s", tmp, rel);
	return path;
}

TestSuite(resolve, .init = setup_tree, .fini = teardown_tree);

Test(resolve, unified_line)
{
	struct nf_err err = { 0 };
	char *dir = NULL, want[PATH_MAX];

	fake_pid(1234, "0::/machine.slice/c1\n");
	cr_assert_eq(nf_cgroup_resolve(in_tmp("proc"), in_tmp("mountinfo"), 1234, &dir, &err), 0,
		     "%s", err.msg);
	snprintf(want, sizeof(want), "%s/cg/machine.slice/c1", tmp);
	cr_assert_str_eq(dir, want);
	free(dir);
}

Test(resolve, hybrid_lines)
{
	struct nf_err err = { 0 };
	char *dir = NULL, want[PATH_MAX];

	fake_pid(77, HYBRID_V1 "0::/machine.slice/c1\n");
	cr_assert_eq(nf_cgroup_resolve(in_tmp("proc"), in_tmp("mountinfo"), 77, &dir, &err), 0,
		     "%s", err.msg);
	snprintf(want, sizeof(want), "%s/cg/machine.slice/c1", tmp);
	cr_assert_str_eq(dir, want);
	free(dir);
}

Test(resolve, escaped_mount_point)
{
	struct nf_err err = { 0 };
	char *dir = NULL, want[PATH_MAX];

	make_dir("cg v2");
	make_dir("cg v2/c1");
	fake_mountinfo("cg v2", "cg\\040v2");
	fake_pid(5, "0::/c1\n");
	cr_assert_eq(nf_cgroup_resolve(in_tmp("proc"), in_tmp("mountinfo"), 5, &dir, &err), 0, "%s",
		     err.msg);
	snprintf(want, sizeof(want), "%s/cg v2/c1", tmp);
	cr_assert_str_eq(dir, want);
	free(dir);
}

/* The message expected for a case, with %1$s standing for the temporary directory. */
struct resolve_case {
	const char *name;
	int pid;
	const char *content; /* NULL: no /proc/<pid>/cgroup */
	int ret;
	const char *msg;
};

static const struct resolve_case resolve_cases[] = {
	{ "root", 1234, "0::/\n", -EPERM,
	  "pid 1234: cgroup '/' is the root cgroup, refusing to fence it" },
	{ "escape", 1234, "0::/../x\n", -EXDEV,
	  "pid 1234: cgroup '/../x' is outside netfence's cgroup namespace" },
	{ "no such pid", 99999, NULL, -ENOENT,
	  "pid 99999: cannot read %1$s/proc/99999/cgroup: No such file or directory" },
	{ "v1 only", 8, HYBRID_V1, -ENOENT,
	  "pid 8: no cgroup v2 entry ('0::' line) in %1$s/proc/8/cgroup" },
	{ "two 0:: lines", 8, "0::/a\n0::/b\n", -EINVAL,
	  "pid 8: more than one '0::' line in %1$s/proc/8/cgroup" },
	{ "deleted", 8, "0::/machine.slice/c1 (deleted)\n", -EINVAL,
	  "pid 8: cgroup '/machine.slice/c1 (deleted)' has been removed" },
	{ "dot-dot", 8, "0::/a/../b\n", -EINVAL,
	  "pid 8: cgroup '/a/../b' is not a valid cgroup path" },
	{ "control characters, escaped", 8, "0::/a\tb\x1b[31m\n", -ENOENT,
	  "pid 8: cgroup directory '%1$s/cg/a\\tb\\x1b[31m': No such file or directory" },
	{ "relative", 8, "0::x'y\n", -EINVAL, "pid 8: cgroup 'x\\'y' is not a valid cgroup path" },
	{ "missing directory", 8, "0::/machine.slice/c2\n", -ENOENT,
	  "pid 8: cgroup directory '%1$s/cg/machine.slice/c2': No such file or directory" },
	{ "not a directory", 8, "0::/machine.slice/file\n", -ENOTDIR,
	  "pid 8: cgroup '%1$s/cg/machine.slice/file' is not a directory" },
	{ "pid 0", 0, NULL, -EINVAL, "pid 0 is not a process id" },
	{ "negative pid", -1, NULL, -EINVAL, "pid -1 is not a process id" },
};

Test(resolve, errors)
{
	for (const struct resolve_case *c = resolve_cases;
	     c < resolve_cases + ARRAY_SIZE(resolve_cases); c++) {
		struct nf_err err = { 0 };
		char want[1024], *dir = SENTINEL;
		int r;

		if (c->content)
			fake_pid(c->pid, c->content);
		r = nf_cgroup_resolve(in_tmp("proc"), in_tmp("mountinfo"), c->pid, &dir, &err);
		cr_assert_eq(r, c->ret, "%s: got %d (%s), want %d", c->name, r, err, c->ret);
		snprintf(want, sizeof(want), c->msg, tmp);
		cr_assert_str_eq(err.msg, want, "%s", c->name);
		cr_assert_eq(dir, SENTINEL, "%s: output written on failure", c->name);
	}
}

Test(resolve, long_path_is_cut_in_message)
{
	struct nf_err err = { 0 };
	char content[3 + 12 * 50 + 1] = "0::", dir[PATH_MAX], want[512];
	char *ret = SENTINEL;

	for (int i = 0; i < 12; i++)
		strcat(content, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	fake_pid(9, content);
	cr_assert_eq(nf_cgroup_resolve(in_tmp("proc"), in_tmp("mountinfo"), 9, &ret, &err), -ENOENT,
		     "%s", err.msg);
	/* The first 128 characters of the directory are shown, then its length. */
	snprintf(dir, sizeof(dir), "%s/cg%s", tmp, content + 3);
	snprintf(want, sizeof(want),
		 "pid 9: cgroup directory '%.128s'... (%zu bytes): "
		 "No such file or directory",
		 dir, strlen(dir));
	cr_assert_str_eq(err.msg, want);
	cr_assert_eq(ret, SENTINEL);
}

Test(resolve, oversized_proc_file)
{
	size_t len = NF_CGROUP_PROC_MAX + 1;
	struct nf_err err = { 0 };
	char want[512], *buf = malloc(len), *dir = SENTINEL;

	cr_assert_not_null(buf);
	memset(buf, '\n', len);
	memcpy(buf, "0::/machine.slice/c1\n", 21);
	make_dir("proc/10");
	write_file("proc/10/cgroup", buf, len);
	free(buf);
	cr_assert_eq(nf_cgroup_resolve(in_tmp("proc"), in_tmp("mountinfo"), 10, &dir, &err),
		     -EFBIG);
	snprintf(want, sizeof(want), "pid 10: %s/proc/10/cgroup is more than 65536 bytes", tmp);
	cr_assert_str_eq(err.msg, want);
	cr_assert_eq(dir, SENTINEL);
}

Test(resolve, proc_file_of_exactly_the_limit)
{
	size_t len = NF_CGROUP_PROC_MAX;
	struct nf_err err = { 0 };
	char *buf = malloc(len), *dir = NULL;

	cr_assert_not_null(buf);
	memset(buf, '\n', len);
	memcpy(buf, "0::/machine.slice/c1\n", 21);
	make_dir("proc/11");
	write_file("proc/11/cgroup", buf, len);
	free(buf);
	cr_assert_eq(nf_cgroup_resolve(in_tmp("proc"), in_tmp("mountinfo"), 11, &dir, &err), 0,
		     "%s", err.msg);
	free(dir);
}

Test(resolve, no_cgroup2_mount)
{
	struct nf_err err = { 0 };
	char want[1024], *dir = SENTINEL;
	const char *v1 = "36 31 0:33 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";

	write_file("mountinfo", v1, strlen(v1));
	fake_pid(12, "0::/machine.slice/c1\n");
	cr_assert_eq(nf_cgroup_resolve(in_tmp("proc"), in_tmp("mountinfo"), 12, &dir, &err),
		     -ENOENT);
	snprintf(want, sizeof(want), "no cgroup2 filesystem mounted (according to %s/mountinfo)",
		 tmp);
	cr_assert_str_eq(err.msg, want);
	cr_assert_eq(dir, SENTINEL);
}

Test(resolve, missing_mountinfo)
{
	struct nf_err err = { 0 };
	char want[1024], *dir = SENTINEL;

	fake_pid(13, "0::/machine.slice/c1\n");
	cr_assert_eq(nf_cgroup_resolve(in_tmp("proc"), in_tmp("nope"), 13, &dir, &err), -ENOENT);
	snprintf(want, sizeof(want), "cannot read %s/nope: No such file or directory", tmp);
	cr_assert_str_eq(err.msg, want);
	cr_assert_eq(dir, SENTINEL);
}

Test(resolve, error_object_carries_the_code)
{
	struct nf_err err = { 0 };
	char *dir = SENTINEL;

	fake_pid(14, "0::/\n");
	cr_assert_eq(nf_cgroup_resolve(in_tmp("proc"), in_tmp("mountinfo"), 14, &dir, &err),
		     -EPERM);
	cr_assert_eq(err.code, -EPERM);
	cr_assert(strncmp(err.msg, "pid 14: cgroup ", 15) == 0, "%s", err.msg);
	cr_assert_eq(nf_cgroup_resolve(in_tmp("proc"), in_tmp("mountinfo"), 14, &dir, NULL),
		     -EPERM);
}

/* nf_cgroup_open, nf_cgroup_id ---------------------------------------- */

Test(resolve, open_refuses_other_filesystems)
{
	struct nf_err err = { 0 };
	char want[1024];

	snprintf(want, sizeof(want), "'%s/cg' is not on a cgroup2 filesystem", tmp);
	cr_assert_eq(nf_cgroup_open(in_tmp("cg"), &err), -EMEDIUMTYPE);
	cr_assert_str_eq(err.msg, want);

	snprintf(want, sizeof(want), "cannot open cgroup '%s/none': No such file or directory",
		 tmp);
	cr_assert_eq(nf_cgroup_open(in_tmp("none"), &err), -ENOENT);
	cr_assert_str_eq(err.msg, want);

	snprintf(want, sizeof(want),
		 "cannot open cgroup '%s/cg/machine.slice/file': Not a directory", tmp);
	cr_assert_eq(nf_cgroup_open(in_tmp("cg/machine.slice/file"), &err), -ENOTDIR);
	cr_assert_str_eq(err.msg, want);
}

Test(resolve, id_is_the_inode)
{
	struct stat st;
	uint64_t id = 0;

	cr_assert_eq(stat(in_tmp("cg/machine.slice/c1"), &st), 0);
	cr_assert_eq(nf_cgroup_id(in_tmp("cg/machine.slice/c1"), &id), 0);
	cr_assert_eq(id, (uint64_t)st.st_ino);
	id = 42;
	cr_assert_eq(nf_cgroup_id(in_tmp("cg/none"), &id), -ENOENT);
	cr_assert_eq(nf_cgroup_id(in_tmp("cg/machine.slice/file"), &id), -ENOTDIR);
	cr_assert_eq(id, 42);
}

/* On the host's own cgroup2 mount, when there is one. */
Test(cgroup, real_mount)
{
	struct nf_err err = { 0 };
	char *mount = NULL;
	uint64_t id = 0;
	int fd;

	if (nf_cgroup_find_mount("/proc/self/mountinfo", &mount) < 0)
		cr_skip_test("no cgroup2 mount on this host");
	fd = nf_cgroup_open(mount, &err);
	cr_assert_geq(fd, 0, "%s", err.msg);
	cr_assert_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
	/* The root cgroup's id is 1. */
	cr_assert_eq(nf_cgroup_id(mount, &id), 0);
	cr_assert_eq(id, 1, "root cgroup id %llu", (unsigned long long)id);
	free(mount);
}

Test(cgroup, resolve_self)
{
	struct nf_err err = { 0 };
	char *dir = NULL, *path = NULL, buf[4096];
	ssize_t n;
	int fd, r;

	fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	cr_assert_gt(n, 0);
	r = nf_cgroup_parse_proc(buf, n, &path);
	if (r == -ENOENT || r == -EPERM)
		cr_skip_test("this process is in no cgroup v2 or in the root cgroup");
	cr_assert_eq(r, 0);
	r = nf_cgroup_resolve(NULL, NULL, getpid(), &dir, &err);
	cr_assert_eq(r, 0, "%s", err.msg);
	cr_assert(strlen(dir) > strlen(path));
	cr_assert_str_eq(dir + strlen(dir) - strlen(path), path);
	fd = nf_cgroup_open(dir, &err);
	cr_assert_geq(fd, 0, "%s", err.msg);
	close(fd);
	free(dir);
	free(path);
}

/* Every cgroup2 mount, whatever subtree it shows; writable_only drops read-only ones. */
Test(resolve, list_mounts)
{
	static const char mi[] =
		"29 26 0:25 / /run rw,relatime shared:13 - tmpfs tmpfs rw\n"
		"35 21 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
		"36 21 0:27 /a /srv/a\\040b ro,nosuid - cgroup2 cgroup2 rw\n"
		"37 21 0:27 / /srv/c rw - cgroup2 cgroup2 ro\n"
		"38 21 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
	char **v = NULL;
	size_t n = 0;

	write_file("mountinfo", mi, strlen(mi));
	cr_assert_eq(nf_cgroup_list_mounts(in_tmp("mountinfo"), false, &v, &n), 0);
	cr_assert_eq(n, 3);
	cr_expect_str_eq(v[0], "/sys/fs/cgroup/unified");
	cr_expect_str_eq(v[1], "/srv/a b");
	cr_expect_str_eq(v[2], "/srv/c");
	nf_strv_free(v, n);
	cr_assert_eq(nf_cgroup_list_mounts(in_tmp("mountinfo"), true, &v, &n), 0);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0], "/sys/fs/cgroup/unified");
	nf_strv_free(v, n);
	cr_expect_eq(nf_cgroup_list_mounts(in_tmp("nonexistent"), false, &v, &n), -ENOENT);
}
