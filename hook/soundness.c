// SPDX-License-Identifier: Apache-2.0
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "soundness.h"
#include "util.h"

bool nf_soundness_ns_own(bool has_entry, const char *path, const char *host_ns)
{
	struct stat ns, host;

	if (!has_entry)
		return false;
	if (!path)
		return true;
	/* Joining a namespace by path: own unless it is the host's, or cannot be told apart. */
	if (stat(path, &ns) < 0 || stat(host_ns, &host) < 0)
		return false;
	return ns.st_dev != host.st_dev || ns.st_ino != host.st_ino;
}

/* path equals dir or lies below it. */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* A mount that shows the BPF filesystem holding netfence's pins inside the container. */
static const struct nf_oci_mount *bpffs_mount(const struct nf_oci_config *cfg,
					      const char *bpffs_root)
{
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct nf_oci_mount *m = &cfg->mounts[i];

		if (m->type && strcmp(m->type, "bpf") == 0)
			return m;
		if (!m->source || m->source[0] != '/')
			continue;
		if (path_within(m->source, "/sys/fs/bpf") ||
		    (bpffs_root && path_within(m->source, bpffs_root)))
			return m;
		/* A recursive bind of an ancestor brings the bpffs mount along. */
		if (m->rbind && (path_within("/sys/fs/bpf", m->source) ||
				 (bpffs_root && path_within(bpffs_root, m->source))))
			return m;
	}
	return NULL;
}

/* path lies in a cgroup2 mount of the runtime's (/sys/fs/cgroup when none is known), or with
 * ancestor, is above one. */
static bool in_cgroup2(const struct nf_soundness_ctx *ctx, const char *path, bool ancestor)
{
	static const char *const fallback[] = { "/sys/fs/cgroup" };
	const char *const *v = ctx->n_cgroup2_mounts ? ctx->cgroup2_mounts : fallback;
	size_t n = ctx->n_cgroup2_mounts ? ctx->n_cgroup2_mounts : 1;

	for (size_t i = 0; i < n; i++) {
		if (!ancestor && path_within(path, v[i]))
			return true;
		if (ancestor && path_within(v[i], path) && strcmp(v[i], path) != 0)
			return true;
	}
	return false;
}

/*
 * A mount that shows the cgroup2 hierarchy writable beyond the container's own subtree: writing
 * a pid into another cgroup's cgroup.procs needs no capability, only write permission, which
 * uid 0 has. A cgroup mount inside a cgroup namespace shows only the container's subtree; a
 * bind shows what the runtime sees, namespace or not. "ro" on an rbind leaves its submounts
 * writable, so an ancestor of the cgroup2 mount must be "rro".
 */
static const struct nf_oci_mount *cgroup_mount(const struct nf_oci_config *cfg,
					       const struct nf_soundness_ctx *ctx, bool *ret_sub)
{
	char real[PATH_MAX];

	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct nf_oci_mount *m = &cfg->mounts[i];
		const char *src = m->source;

		*ret_sub = false;
		if (m->type &&
		    (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0)) {
			if (!m->ro && !m->rro && !ctx->own_cgroupns)
				return m;
			continue;
		}
		if (!src || src[0] != '/')
			continue;
		/* The runtime follows symbolic links in a bind's source. */
		if (realpath(src, real))
			src = real;
		if (in_cgroup2(ctx, src, false) && !m->ro && !m->rro)
			return m;
		*ret_sub = true;
		if (m->rbind && !m->rro && in_cgroup2(ctx, src, true))
			return m;
	}
	return NULL;
}

static const char *cap_reason(const struct nf_oci_config *cfg, const struct nf_soundness_ctx *ctx)
{
	bool sys_admin = nf_oci_config_has_cap(cfg, "CAP_SYS_ADMIN");
	bool bpf = nf_oci_config_has_cap(cfg, "CAP_BPF");
	bool net_admin = nf_oci_config_has_cap(cfg, "CAP_NET_ADMIN");

	if (!ctx->own_userns && sys_admin)
		return "CAP_SYS_ADMIN in the initial user namespace, which lets it detach "
		       "netfence's "
		       "programs or attach its own after them";
	if (!ctx->own_userns && bpf && net_admin)
		return "CAP_BPF and CAP_NET_ADMIN in the initial user namespace, which let it "
		       "attach "
		       "its own BPF program after netfence's and reset the verdict";
	/* Its own user namespace owns a network namespace it creates, not the host's. */
	if (net_admin && (!ctx->own_userns || ctx->own_netns))
		return "CAP_NET_ADMIN over its network namespace, which lets it rewrite "
		       "destinations with NAT after netfence has judged them";
	/* Under raw_sockets allow the policy itself lets raw packets out. */
	if (ctx->raw_deny && nf_oci_config_has_cap(cfg, "CAP_NET_RAW") &&
	    (!ctx->own_userns || ctx->own_netns))
		return "CAP_NET_RAW while the policy denies raw sockets, and packet sockets "
		       "(AF_PACKET) send frames no cgroup hook sees (drop CAP_NET_RAW or allow "
		       "raw_sockets)";
	return NULL;
}

int nf_soundness_check(const struct nf_oci_config *cfg, const struct nf_soundness_ctx *ctx,
		       char *buf, size_t size)
{
	const struct nf_oci_mount *m;
	const char *why = cap_reason(cfg, ctx);
	char q[NF_QUOTE_BUF];
	bool sub;

	if (why) {
		/* Without process.capabilities the runtime leaves the container all of its own. */
		snprintf(buf, size, "holds %s%s", why,
			 cfg->has_capabilities ? ""
					       : " (config.json has no process.capabilities, so it "
						 "keeps every capability of the runtime)");
		return 1;
	}
	m = bpffs_mount(cfg, ctx->bpffs_root);
	if (m) {
		snprintf(buf, size,
			 "mounts the BPF filesystem (source %s), through which it could unpin "
			 "netfence's links",
			 nf_quote_str(q, m->source ? m->source : "bpf"));
		return 1;
	}
	m = cgroup_mount(cfg, ctx, &sub);
	if (m && m->source && m->source[0] == '/')
		snprintf(buf, size,
			 "mounts the cgroup hierarchy writable (source %s), through which uid 0 "
			 "moves itself out of its cgroup and its fence by writing cgroup.procs "
			 "(mount it %s)",
			 nf_quote_str(q, m->source),
			 sub ? "with \"rro\": \"ro\" leaves the cgroup2 submount writable"
			     : "with \"ro\"");
	else if (m)
		snprintf(buf, size,
			 "mounts cgroup writable without a cgroup namespace (type %s), through "
			 "which uid 0 moves itself out of its cgroup and its fence by writing "
			 "cgroup.procs (add \"ro\" to the mount's options or a \"cgroup\" entry to "
			 "linux.namespaces)",
			 nf_quote_str(q, m->type));
	return m ? 1 : 0;
}
