// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
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
	return 0;
}
