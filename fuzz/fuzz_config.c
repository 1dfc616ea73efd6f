// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the other documents netfence reads, each fed every input:
 *   - the host config (nf_config_parse, hook/config.c),
 *   - a bundle's config.json (nf_oci_config_parse, hook/oci.c),
 *   - /proc/<pid>/cgroup (nf_cgroup_parse_proc, hook/cgroup.c),
 *   - /proc/self/mountinfo (nf_cgroup_find_mount, through a memfd).
 * Besides not crashing, each must keep its documented contract: a failure leaves the output
 * alone and (for the JSON parsers) gives a one-line message; what is accepted obeys the rules
 * the rest of netfence relies on (absolute paths without "..", a cgroup path that is not the
 * root and has no "." or ".." component).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include "cgroup.h"
#include "config.h"
#include "oci.h"
#include "fuzz_common.h"

static bool has_dotdot_component(const char *s)
{
	for (const char *p = s; (p = strstr(p, "/..")); p++)
		if (p[3] == '/' || p[3] == '\0')
			return true;
	return false;
}

/* Read every byte of s (NULL: nothing), so that ASan sees a dangling or unterminated string. */
static void touch(const char *s)
{
	static volatile size_t sink;

	for (; s && *s; s++)
		sink += (unsigned char)*s;
}

static void check_path_setting(const char *what, const char *s)
{
	if (!s || s[0] != '/' || has_dotdot_component(s))
		fuzz_die("nf_config_parse: accepted %s '%s'", what, s ? s : "(null)");
}

static void fuzz_host_config(const uint8_t *data, size_t size)
{
	struct nf_config c = { 0 }, before;
	struct nf_err err;
	int r;

	if (nf_config_defaults(&c) < 0)
		return;
	before = c;
	memset(&err, 0xff, sizeof(err));
	r = nf_config_parse((const char *)data, size, &c, &err);
	if (r < 0) {
		fuzz_check_message("nf_config_parse", r, &err);
		if (memcmp(&c, &before, sizeof(c)))
			fuzz_die("nf_config_parse: config changed by a failed parse");
		nf_config_free(&c);
		return;
	}
	check_path_setting("bpffs_root", c.bpffs_root);
	check_path_setting("state_dir", c.state_dir);
	check_path_setting("policies_dir", c.policies_dir);
	if (c.default_policy && nf_policy_name_valid(c.default_policy) < 0)
		fuzz_die("nf_config_parse: accepted default_policy '%s'", c.default_policy);
	if (c.fail_mode != NF_FAIL_CLOSED && c.fail_mode != NF_FAIL_OPEN)
		fuzz_die("nf_config_parse: fail_mode %d", c.fail_mode);
	if (c.log_level != LOG_ERR && c.log_level != LOG_WARNING && c.log_level != LOG_INFO &&
	    c.log_level != LOG_DEBUG)
		fuzz_die("nf_config_parse: log_level %d", c.log_level);
	if (c.events_rate_per_sec > NF_EVENTS_RATE_MAX)
		fuzz_die("nf_config_parse: events rate %u", c.events_rate_per_sec);
	nf_config_free(&c);
}

static void fuzz_bundle_config(const uint8_t *data, size_t size)
{
	struct nf_oci_config *c = (void *)1;
	struct nf_err err;
	int r;

	memset(&err, 0xff, sizeof(err));
	r = nf_oci_config_parse((const char *)data, size, &c, &err);
	if (r < 0) {
		fuzz_check_message("nf_oci_config_parse", r, &err);
		if (c != (void *)1)
			fuzz_die("nf_oci_config_parse: *ret written on failure");
		return;
	}
	for (size_t i = 0; i < c->n_caps; i++)
		if (!c->caps[i])
			fuzz_die("nf_oci_config_parse: capability %zu is NULL", i);
	for (size_t i = 0; i < c->annotations.n; i++)
		if (!c->annotations.v[i].key || !c->annotations.v[i].value)
			fuzz_die("nf_oci_config_parse: annotation %zu is NULL", i);
	for (size_t i = 0; i < c->n_mounts; i++) {
		touch(c->mounts[i].type);
		touch(c->mounts[i].source);
	}
	touch(c->netns_path);
	touch(c->userns_path);
	if (c->n_mounts && !c->mounts)
		fuzz_die("nf_oci_config_parse: %zu mounts, no array", c->n_mounts);
	if ((c->netns_path && !c->has_netns) || (c->userns_path && !c->has_userns))
		fuzz_die("nf_oci_config_parse: a namespace path without its namespace");
	/* Without process.capabilities every capability counts as held. */
	if (!c->has_capabilities && !nf_oci_config_has_cap(c, "CAP_SYS_ADMIN"))
		fuzz_die("nf_oci_config_parse: no capabilities listed, yet CAP_SYS_ADMIN not held");
	(void)nf_oci_config_has_cap(c, "cap_bpf");
	(void)nf_oci_annotations_get(&c->annotations, "io.netfence.policy");
	nf_oci_config_free(c);
}

static void fuzz_proc_cgroup(const uint8_t *data, size_t size)
{
	char *path = (void *)1;
	size_t len;
	int r;

	r = nf_cgroup_parse_proc((const char *)data, size, &path);
	if (r < 0) {
		if (r != -ENOENT && r != -EXDEV && r != -EPERM && r != -EINVAL && r != -ENOMEM)
			fuzz_die("nf_cgroup_parse_proc: unexpected %d", r);
		if (path != (void *)1)
			fuzz_die("nf_cgroup_parse_proc: *ret_path written on failure");
		return;
	}
	len = strlen(path);
	if (path[0] != '/' || len < 2 || path[len - 1] == '/' || strstr(path, "//") ||
	    has_dotdot_component(path) || strstr(path, "/./") ||
	    (len >= 2 && !strcmp(path + len - 2, "/.")))
		fuzz_die("nf_cgroup_parse_proc: accepted path '%s'", path);
	free(path);
}

static void fuzz_mountinfo(const uint8_t *data, size_t size)
{
	static int fd = -2;
	char name[64], *mount = (void *)1;
	int r;

	if (fd == -2)
		fd = memfd_create("mountinfo", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return;
	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	r = nf_cgroup_find_mount(name, &mount);
	if (r < 0) {
		if (mount != (void *)1)
			fuzz_die("nf_cgroup_find_mount: *ret_mount written on failure");
		return;
	}
	if (!mount)
		fuzz_die("nf_cgroup_find_mount: success without a mount point");
	free(mount);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_host_config(data, size);
	fuzz_bundle_config(data, size);
	fuzz_proc_cgroup(data, size);
	fuzz_mountinfo(data, size);
	return 0;
}
