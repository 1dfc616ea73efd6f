// SPDX-License-Identifier: Apache-2.0
/* Which containers could lift their fence (hook/soundness.c), decided from config.json. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "oci.h"
#include "soundness.h"

struct sound_case {
	const char *name;
	const char *config; /* config.json */
	bool own_userns, own_netns, raw_deny;
	int expect;	    /* 0: the fence holds; 1: removable */
	const char *reason; /* substring of the reason when removable */
	bool own_cgroupns;
	bool host_pidns; /* the host's PID namespace (every other row has its own) */
	int ptrace_scope;
};

#define CAPS(...)    "{\"process\":{\"capabilities\":{\"bounding\":[" __VA_ARGS__ "]}}"
#define DEFAULT_CAPS "\"CAP_CHOWN\",\"CAP_NET_RAW\",\"CAP_NET_BIND_SERVICE\",\"CAP_KILL\""
/* One mount; the runtime's cgroup2 mounts are /sys/fs/cgroup and /srv/cg/unified (see below). */
#define MOUNT(type, source, opts)                                                 \
	CAPS()                                                                    \
	",\"mounts\":[{\"destination\":\"/sys/fs/cgroup\",\"type\":\"" type "\"," \
	"\"source\":\"" source "\",\"options\":[" opts "]}]}"

static const struct sound_case cases[] = {
	{ "runc defaults, raw allowed", CAPS(DEFAULT_CAPS) "}", false, true, false, 0, NULL },
	{ "runc defaults, raw denied", CAPS(DEFAULT_CAPS) "}", false, true, true, 1, "AF_PACKET" },
	{ "podman defaults, raw denied", CAPS("\"CAP_CHOWN\",\"CAP_KILL\"") "}", false, true, true,
	  0, NULL },
	{ "userns: net_raw, host netns, raw denied", CAPS("\"CAP_NET_RAW\"") "}", true, false, true,
	  0, NULL },
	{ "no capabilities", CAPS() "}", false, false, false, 0, NULL },
	{ "sys_admin", CAPS("\"CAP_SYS_ADMIN\"") "}", false, true, false, 1, "CAP_SYS_ADMIN" },
	{ "bpf+net_admin", CAPS("\"CAP_BPF\",\"CAP_NET_ADMIN\"") "}", false, true, false, 1,
	  "CAP_BPF and CAP_NET_ADMIN" },
	{ "bpf alone", CAPS("\"CAP_BPF\"") "}", false, true, false, 0, NULL },
	{ "sys_module", CAPS("\"CAP_SYS_MODULE\"") "}", false, true, false, 1, "CAP_SYS_MODULE" },
	{ "userns: sys_module", CAPS("\"CAP_SYS_MODULE\"") "}", true, true, false, 0, NULL },
	{ "dac_read_search", CAPS("\"CAP_DAC_READ_SEARCH\"") "}", false, true, false, 1,
	  "open_by_handle_at" },
	{ "userns: dac_read_search", CAPS("\"CAP_DAC_READ_SEARCH\"") "}", true, true, false, 0,
	  NULL },
	{ "net_admin, own netns", CAPS("\"CAP_NET_ADMIN\"") "}", false, true, false, 1, "NAT" },
	{ "net_admin, host netns", CAPS("\"CAP_NET_ADMIN\"") "}", false, false, false, 1, "NAT" },
	{ "userns: sys_admin+bpf, host netns", CAPS("\"CAP_SYS_ADMIN\",\"CAP_BPF\"") "}", true,
	  false, false, 0, NULL },
	{ "userns: net_admin over its own netns", CAPS("\"CAP_SYS_ADMIN\",\"CAP_NET_ADMIN\"") "}",
	  true, true, false, 1, "NAT" },
	{ "userns: net_admin, host netns", CAPS("\"CAP_NET_ADMIN\"") "}", true, false, false, 0,
	  NULL },
	{ "capabilities absent", "{}", false, true, false, 1, "no process.capabilities" },
	{ "capabilities only in ambient",
	  "{\"process\":{\"capabilities\":{\"ambient\":[\"CAP_SYS_ADMIN\"]}}}", false, true, false,
	  1, "CAP_SYS_ADMIN" },
	{ "bpffs mount by type", CAPS() ",\"mounts\":[{\"destination\":\"/b\",\"type\":\"bpf\"}]}",
	  false, true, false, 1, "BPF filesystem" },
	{ "bind of the bpffs root",
	  CAPS() ",\"mounts\":[{\"destination\":\"/b\",\"type\":\"bind\","
		 "\"source\":\"/sys/fs/bpf/netfence\"}]}",
	  false, true, false, 1, "/sys/fs/bpf/netfence" },
	{ "rbind of /sys",
	  CAPS() ",\"mounts\":[{\"destination\":\"/s\",\"source\":\"/sys\","
		 "\"options\":[\"rbind\",\"ro\"]}]}",
	  false, true, false, 1, "BPF filesystem" },
	{ "plain bind of /sys",
	  CAPS() ",\"mounts\":[{\"destination\":\"/s\",\"source\":\"/sys\","
		 "\"options\":[\"bind\"]}]}",
	  false, true, false, 0, NULL },
	{ "sysfs and a look-alike path",
	  CAPS() ",\"mounts\":[{\"destination\":\"/sys\","
		 "\"type\":\"sysfs\",\"source\":\"sysfs\"},"
		 "{\"destination\":\"/x\",\"source\":"
		 "\"/sys/fs/bpfx\",\"options\":[\"rbind\"]}]}",
	  false, true, false, 0, NULL },
	/* The cgroup hierarchy: writable beyond the container's own subtree, or not. */
	{ "cgroup2 rw, host cgroupns", MOUNT("cgroup2", "cgroup", "\"nosuid\",\"rw\""), false, true,
	  false, 1, "mounts cgroup writable without a cgroup namespace (type 'cgroup2')" },
	{ "cgroup no options, host cgroupns", MOUNT("cgroup", "cgroup", ""), false, true, false, 1,
	  "cgroup.procs" },
	{ "cgroup ro, host cgroupns", MOUNT("cgroup", "cgroup", "\"nosuid\",\"ro\""), false, true,
	  false, 0, NULL },
	{ "cgroup ro then rw", MOUNT("cgroup", "cgroup", "\"ro\",\"rw\""), false, true, false, 1,
	  "cgroup.procs" },
	{ "cgroup rw, own cgroupns", MOUNT("cgroup", "cgroup", "\"rw\""), false, true, false, 0,
	  NULL, true },
	{ "bind of the cgroup2 mount rw", MOUNT("bind", "/sys/fs/cgroup", "\"rbind\",\"rw\""),
	  false, true, false, 1, "source '/sys/fs/cgroup'" },
	{ "bind of a cgroup rw, own cgroupns",
	  MOUNT("none", "/sys/fs/cgroup/system.slice", "\"bind\""), false, true, false, 1,
	  "with \"ro\"", true },
	{ "bind of the cgroup2 mount ro", MOUNT("bind", "/sys/fs/cgroup", "\"rbind\",\"ro\""),
	  false, true, false, 0, NULL },
	{ "rbind of an ancestor, ro", MOUNT("bind", "/srv/cg", "\"rbind\",\"ro\""), false, true,
	  false, 1, "\"rro\"" },
	{ "rbind of an ancestor, rro", MOUNT("bind", "/srv/cg", "\"rbind\",\"rro\""), false, true,
	  false, 0, NULL },
	{ "bind of an ancestor", MOUNT("bind", "/srv/cg", "\"bind\""), false, true, false, 0,
	  NULL },
	{ "look-alike path", MOUNT("bind", "/srv/cg/unifiedx", "\"rbind\""), false, true, false, 0,
	  NULL },
	/* A bind is judged by its source whatever type it names, and a relative source is the
	 * bundle's (the bundle here is /usr/share). */
	{ "type cgroup with rbind, own cgroupns",
	  MOUNT("cgroup", "/sys/fs/cgroup", "\"rbind\",\"rw\""), false, true, false, 1,
	  "source '/sys/fs/cgroup'", true },
	{ "type cgroup2 with bind ro, own cgroupns",
	  MOUNT("cgroup2", "/sys/fs/cgroup", "\"bind\",\"ro\""), false, true, false, 0, NULL,
	  true },
	{ "relative bind of the cgroup2 mount",
	  MOUNT("bind", "../../sys/fs/cgroup", "\"rbind\",\"rw\""), false, true, false, 1,
	  "cgroup.procs", true },
	{ "relative rbind of the bpffs", MOUNT("none", "../../sys/fs/bpf", "\"rbind\",\"rw\""),
	  false, true, false, 1, "BPF filesystem" },
	{ "relative bind elsewhere", MOUNT("bind", "../../etc", "\"rbind\""), false, true, false, 0,
	  NULL },
	/* ptrace from the host's PID namespace reaches processes outside the fence. */
	{ "host pidns, sys_ptrace", CAPS("\"CAP_SYS_PTRACE\"") "}", false, true, false, 1,
	  "CAP_SYS_PTRACE in the host's PID namespace", false, true, 2 },
	{ "host pidns, sys_ptrace, yama 3", CAPS("\"CAP_SYS_PTRACE\"") "}", false, true, false, 0,
	  NULL, false, true, 3 },
	{ "host pidns, classic ptrace", CAPS(DEFAULT_CAPS) "}", false, true, false, 1,
	  "ptrace_scope 0", false, true, 0 },
	{ "host pidns, yama 1", CAPS(DEFAULT_CAPS) "}", false, true, false, 0, NULL, false, true,
	  1 },
	{ "host pidns, own userns, sys_ptrace", CAPS("\"CAP_SYS_PTRACE\"") "}", true, true, false,
	  0, NULL, false, true, 0 },
	{ "own pidns, sys_ptrace", CAPS("\"CAP_SYS_PTRACE\"") "}", false, true, false, 0, NULL,
	  false, false, 0 },
	{ "joined pidns, sys_ptrace",
	  "{\"process\":{\"capabilities\":{\"bounding\":[\"CAP_SYS_PTRACE\"]}},\"linux\":{"
	  "\"namespaces\":[{\"type\":\"pid\",\"path\":\"/proc/7/ns/pid\"}]}}",
	  false, true, false, 1, "the PID namespace it joins ('/proc/7/ns/pid')", false, true, 1 },
};

Test(soundness, table)
{
	static const char *const cgroup2_mounts[] = { "/sys/fs/cgroup", "/srv/cg/unified" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sound_case *t = &cases[i];
		struct nf_soundness_ctx ctx = {
			.own_userns = t->own_userns,
			.own_netns = t->own_netns,
			.raw_deny = t->raw_deny,
			.bpffs_root = "/sys/fs/bpf/netfence",
			.own_cgroupns = t->own_cgroupns,
			.cgroup2_mounts = cgroup2_mounts,
			.n_cgroup2_mounts = 2,
			.bundle = "/usr/share",
			.own_pidns = !t->host_pidns,
			.ptrace_scope = t->ptrace_scope,
		};
		struct nf_oci_config *cfg = NULL;
		struct nf_err err = { 0 };
		char why[512] = "";
		int r;

		r = nf_oci_config_parse(t->config, strlen(t->config), &cfg, &err);
		cr_assert_eq(r, 0, "%s: config does not parse: %s", t->name, err.msg);
		r = nf_soundness_check(cfg, &ctx, why, sizeof(why));
		cr_expect_eq(r, t->expect, "%s: got %d (%s)", t->name, r, why);
		if (t->reason)
			cr_expect(strstr(why, t->reason), "%s: reason '%s' lacks '%s'", t->name,
				  why, t->reason);
		nf_oci_config_free(cfg);
	}
}

/* A relative bind source without a bundle to resolve it against could be anything. */
Test(soundness, relative_source_without_bundle)
{
	static const char doc[] = MOUNT("bind", "data", "\"rbind\"");
	struct nf_soundness_ctx ctx = { .bpffs_root = "/sys/fs/bpf/netfence",
					.own_netns = true,
					.own_pidns = true };
	struct nf_oci_config *cfg = NULL;
	struct nf_err err = { 0 };
	char why[512] = "";

	cr_assert_eq(nf_oci_config_parse(doc, strlen(doc), &cfg, &err), 0, "%s", err.msg);
	cr_expect_eq(nf_soundness_check(cfg, &ctx, why, sizeof(why)), 1, "%s", why);
	nf_oci_config_free(cfg);
}

Test(soundness, mount_types_checked)
{
	static const char doc[] =
		"{\"mounts\":[{\"destination\":\"/b\",\"options\":[\"rbind\",3]}]}";
	struct nf_oci_config *cfg = NULL;
	struct nf_err err = { 0 };

	cr_assert_eq(nf_oci_config_parse(doc, strlen(doc), &cfg, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "/mounts/0/options/1: expected a string, got 3");
}

Test(soundness, namespace_identity)
{
	cr_expect(!nf_soundness_ns_own(false, NULL, "/proc/self/ns/net"));
	cr_expect(nf_soundness_ns_own(true, NULL, "/proc/self/ns/net"));
	/* Joining our own namespace by path is the host's namespace, not the container's. */
	cr_expect(!nf_soundness_ns_own(true, "/proc/self/ns/net", "/proc/self/ns/net"));
	cr_expect(!nf_soundness_ns_own(true, "/nonexistent/ns", "/proc/self/ns/net"));
}
