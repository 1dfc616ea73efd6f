// SPDX-License-Identifier: Apache-2.0
/* Tests for hook/doctor.c and doctor_engines.c: the judges over mountinfo, hooks.d files,
 * containerd's config and the host's policies, on text and on temporary host trees. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <criterion/criterion.h>

#include "doctor.h"
#include "tmpdir.h"
#include "util.h"

#define MI_ROOT	   "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
#define MI_SYS	   "23 22 0:21 / /sys rw shared:7 - sysfs sysfs rw\n"
#define MI_BPF	   "30 23 0:28 / /sys/fs/bpf rw shared:9 - bpf bpf rw,mode=700\n"
#define MI_CG2	   "26 23 0:24 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw\n"
#define MI_CG1	   "27 25 0:25 / /sys/fs/cgroup/cpu rw shared:5 - cgroup cgroup rw,cpu\n"
#define MI_UNIFIED "28 25 0:26 / /sys/fs/cgroup/unified rw shared:6 - cgroup2 cgroup2 rw\n"

Test(doctor, bpffs_at_or_above_the_root)
{
	char type[32];

	cr_assert_eq(nf_doctor_mount_type(MI_ROOT MI_SYS MI_BPF, "/sys/fs/bpf/netfence", type,
					  sizeof(type)),
		     0);
	cr_assert_str_eq(type, "bpf");
	/* This machine's case: nothing on /sys/fs/bpf, sysfs holds the root. */
	cr_assert_eq(
		nf_doctor_mount_type(MI_ROOT MI_SYS, "/sys/fs/bpf/netfence", type, sizeof(type)),
		0);
	cr_assert_str_eq(type, "sysfs");
	/* A tmpfs over the root hides the bpffs under it; a prefix that is no parent is none. */
	cr_assert_eq(nf_doctor_mount_type(MI_ROOT MI_SYS MI_BPF
					  "31 30 0:29 / /sys/fs/bpf/netfence rw - tmpfs t rw\n",
					  "/sys/fs/bpf/netfence/x", type, sizeof(type)),
		     0);
	cr_assert_str_eq(type, "tmpfs");
	cr_assert_eq(nf_doctor_mount_type(MI_ROOT "31 22 0:29 / /run/b rw - bpf bpf rw\n",
					  "/run/bpffs", type, sizeof(type)),
		     0);
	cr_assert_str_eq(type, "ext4");
	/* Mount points are octal-escaped. */
	cr_assert_eq(nf_doctor_mount_type("31 22 0:29 / /run/my\\040bpf rw - bpf bpf rw\n",
					  "/run/my bpf/netfence", type, sizeof(type)),
		     0);
	cr_assert_str_eq(type, "bpf");
	cr_assert_eq(nf_doctor_mount_type("", "/x", type, sizeof(type)), -ENOENT);
}

Test(doctor, cgroup2_unified_hybrid_missing)
{
	char mnt[64];
	bool v1;

	nf_doctor_cgroup_mounts(MI_ROOT MI_SYS MI_CG2, mnt, sizeof(mnt), &v1);
	cr_assert_str_eq(mnt, "/sys/fs/cgroup");
	cr_assert(!v1);
	nf_doctor_cgroup_mounts(MI_ROOT MI_SYS MI_CG1 MI_UNIFIED, mnt, sizeof(mnt), &v1);
	cr_assert_str_eq(mnt, "/sys/fs/cgroup/unified");
	cr_assert(v1);
	/* A bind of a sub-cgroup is not the hierarchy's root. */
	nf_doctor_cgroup_mounts(MI_ROOT "40 22 0:24 /sub /mnt rw - cgroup2 cgroup2 rw\n", mnt,
				sizeof(mnt), &v1);
	cr_assert_str_eq(mnt, "");
}

Test(doctor, hooks_when_selects_annotated_containers)
{
	char *shipped;
	size_t len;

	cr_assert_eq(
		nf_read_file(TEST_DATA "/../../schemas/netfence-hooks.json", 65536, &shipped, &len),
		0);
	cr_assert(nf_doctor_hooks_matches(shipped, "io.netfence.policy", "{\n}"));
	cr_assert(nf_doctor_hooks_matches(shipped, "io.netfence.policy-name", "web"));
	cr_assert(!nf_doctor_hooks_matches(shipped, "io.netfence.policyx", "web"));
	free(shipped);
	cr_assert(nf_doctor_hooks_matches("{\"when\": {\"always\": true}}", "a", "b"));
	cr_assert(!nf_doctor_hooks_matches("{\"when\": {\"always\": false}}", "a", "b"));
	/* Two pairs must both match: no container carries one annotation matching both. */
	cr_assert(!nf_doctor_hooks_matches(
		"{\"when\": {\"annotations\": {\"^io\\\\.netfence\\\\.policy$\": \".*\", "
		"\"^io\\\\.netfence\\\\.policy-name$\": \".*\"}}}",
		"io.netfence.policy", "{}"));
	cr_assert(!nf_doctor_hooks_matches("{\"when\": {}}", "io.netfence.policy", "{}"));
}

/* A hooks.d document whose path is missing under an empty root, with other mistakes. */
static void hooks_case(const char *doc, const char *id, int severity)
{
	char root[64];
	struct nf_doctor d = { .root = root };
	const struct nf_finding *f;

	nf_test_mkdtemp(root, sizeof(root), "doctor");
	nf_config_defaults(&d.cfg);
	cr_assert(!nf_doctor_check_hooks_doc(&d, "/h/netfence.json", doc, strlen(doc)));
	f = nf_doctor_find(&d, id);
	cr_assert_not_null(f, "no finding %s for %s", id, doc);
	cr_assert_eq(f->severity, severity, "%s: %s", id, f->what);
	cr_assert_not_null(strstr(f->what, "/h/netfence.json"), "%s", f->what);
	nf_doctor_free(&d);
	nf_test_rmtree(root);
}

#define HOOK(path, args, stages, when)                                                      \
	"{\"version\": \"1.0.0\", \"hook\": {\"path\": \"" path "\", \"args\": " args "}, " \
	"\"when\": " when ", \"stages\": " stages "}"
#define ARGS   "[\"netfence\", \"hook\"]"
#define STAGES "[\"prestart\", \"poststop\"]"
#define WHEN   "{\"annotations\": {\"^io\\\\.netfence\\\\.policy(-name)?$\": \".*\"}}"

Test(doctor, hooks_doc_mistakes)
{
	hooks_case(HOOK("/usr/bin/netfence", ARGS, STAGES, WHEN), "hooksd.path-missing",
		   NF_SEV_ERROR);
	hooks_case("{\"version\": \"1.0.0\",", "hooksd.invalid", NF_SEV_ERROR);
	hooks_case(HOOK("/x", "[\"netfence\"]", STAGES, WHEN), "hooksd.args", NF_SEV_ERROR);
	hooks_case(HOOK("/x", "[\"netfence\", \"hook\", \"createRuntime\"]", STAGES, WHEN),
		   "hooksd.args", NF_SEV_ERROR);
	hooks_case(HOOK("/x", ARGS, "[\"poststop\"]", WHEN), "hooksd.stages", NF_SEV_ERROR);
	hooks_case(HOOK("/x", ARGS, "[\"prestart\", \"poststart\", \"poststop\"]", WHEN),
		   "hooksd.stages", NF_SEV_ERROR);
	hooks_case(HOOK("/x", ARGS, STAGES, "{\"annotations\": {\"^io\\\\.other$\": \".*\"}}"),
		   "hooksd.when", NF_SEV_ERROR);
	hooks_case("{\"version\": \"0.1.0\", \"hook\": {\"path\": \"/x\"}}", "hooksd.version",
		   NF_SEV_ERROR);
}

static void containerd_case(const char *toml, const char *id, bool wired, bool cdi)
{
	char root[64];
	struct nf_doctor d = { .root = root };
	bool got_cdi;

	nf_test_mkdtemp(root, sizeof(root), "doctor");
	nf_config_defaults(&d.cfg);
	cr_assert_eq(nf_doctor_check_containerd_doc(&d, "/etc/containerd/config.toml", toml,
						    strlen(toml), &got_cdi),
		     wired, "%s", toml);
	cr_assert_eq(got_cdi, cdi, "%s", toml);
	if (id)
		cr_assert_not_null(nf_doctor_find(&d, id), "no finding %s for %s", id, toml);
	nf_doctor_free(&d);
	nf_test_rmtree(root);
}

#define RT2 "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.netfence]\n"
#define RT3 "[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.netfence]\n"
#define OPTS(rt)                                                                            \
	rt "runtime_type = \"io.containerd.runc.v2\"\n"                                     \
	   "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.netfence.options]\n" \
	   "BinaryName = \"/usr/local/bin/netfence-runc\"\n"

Test(doctor, containerd_config)
{
	/* The mistake: the wrapper without pod_annotations. */
	containerd_case("version = 2\n" OPTS(RT2), "containerd.pod-annotations", false, false);
	containerd_case("version = 2\n" RT2 "pod_annotations = [\"io.other.*\"]\n", NULL, false,
			false);
	/* Here the handler is right; only the binary is absent from the empty tree. */
	containerd_case("version = 2\n" OPTS(RT2) RT2 "pod_annotations = [\"io.netfence.*\"]\n",
			"containerd.path-missing", false, false);
	containerd_case("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\nenable_cdi = true\n",
			NULL, false, true);
	/* containerd 2.x: CDI on by default, off when said so. */
	containerd_case("version = 3\n", NULL, false, true);
	containerd_case("version = 3\n[plugins.\"io.containerd.cri.v1.runtime\"]\n"
			"enable_cdi = false\n",
			NULL, false, false);
	containerd_case("version = 2\n[plugins\n", "containerd.unparsed", false, false);
}

Test(doctor, containerd_annotation_globs)
{
	char *const all[] = { "io.netfence.*" };
	char *const exact[] = { "io.netfence.policy", "io.netfence.policy-name" };
	char *const one[] = { "io.netfence.policy" };
	char *const star[] = { "*" };

	cr_assert(nf_doctor_glob_passes(all, 1, "io.netfence.policy-name"));
	cr_assert(nf_doctor_glob_passes(exact, 2, "io.netfence.policy-name"));
	cr_assert(!nf_doctor_glob_passes(one, 1, "io.netfence.policy-name"));
	cr_assert(nf_doctor_glob_passes(star, 1, "io.netfence.policy"));
}

static void write_file(const char *root, const char *path, const char *text)
{
	char full[512];
	FILE *f;

	snprintf(full, sizeof(full), "%s%s", root, path);
	f = fopen(full, "w");
	cr_assert_not_null(f, "%s: %m", full);
	fputs(text, f);
	fclose(f);
}

/* The host config and policies.d of a tree: the first error of each file, named. */
Test(doctor, config_and_policies)
{
	char root[64], dir[128];
	struct nf_doctor d = { 0 };
	const struct nf_finding *f;

	nf_test_mkdtemp(root, sizeof(root), "doctor");
	d.root = root;
	snprintf(dir, sizeof(dir), "%s/etc", root);
	mkdir(dir, 0755);
	strcat(dir, "/netfence");
	mkdir(dir, 0755);
	strcat(dir, "/policies.d");
	mkdir(dir, 0755);
	write_file(root, "/etc/netfence/config.json",
		   "{\"fail_mode\": \"open\", \"default_policy\": \"base\", "
		   "\"allow_removable_fence\": true}");
	write_file(root, "/etc/netfence/policies.d/good.json",
		   "{\"version\": 1, \"default\": \"deny\", \"rules\": []}");
	write_file(root, "/etc/netfence/policies.d/bad.json",
		   "{\"version\": 1, \"default\": \"deny\", \"rules\": "
		   "[{\"action\": \"allow\", \"cidr\": \"10.0.0.0/33\"}]}");
	write_file(root, "/etc/netfence/policies.d/Web.json",
		   "{\"version\": 1, \"default\": \"deny\", \"rules\": []}");
	nf_doctor_run(&d);
	f = nf_doctor_find(&d, "policy.invalid");
	cr_assert_not_null(f);
	cr_assert_eq(f->severity, NF_SEV_ERROR);
	cr_assert_not_null(strstr(f->what, "/etc/netfence/policies.d/bad.json: /rules/0/cidr: "
					   "'10.0.0.0/33' is not a valid prefix"),
			   "%s", f->what);
	cr_assert_eq(nf_doctor_count(&d, NF_SEV_ERROR) >= 2, true);
	cr_assert_not_null(nf_doctor_find(&d, "policy.bad-name"));
	cr_assert_not_null(nf_doctor_find(&d, "config.default-policy-missing"));
	cr_assert_eq(nf_doctor_find(&d, "config.fail-open")->severity, NF_SEV_WARNING);
	cr_assert_eq(nf_doctor_find(&d, "config.removable-fence")->severity, NF_SEV_WARNING);
	/* No mountinfo in the tree: said, not guessed. */
	cr_assert_not_null(nf_doctor_find(&d, "mounts.unreadable"));
	nf_doctor_free(&d);

	write_file(root, "/etc/netfence/config.json", "{\"fail_mode\": \"shut\"}");
	d = (struct nf_doctor){ .root = root };
	nf_doctor_run(&d);
	f = nf_doctor_find(&d, "config.invalid");
	cr_assert_not_null(f);
	cr_assert_not_null(strstr(f->what, "/fail_mode: 'shut' is not one of"), "%s", f->what);
	nf_doctor_free(&d);
	nf_test_rmtree(root);
}
