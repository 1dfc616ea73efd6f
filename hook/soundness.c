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

/*
 * The directory a bind mount shows, as the runtime resolves it: a relative source is the
 * bundle's (runc and crun bind <bundle>/<source>), and symbolic links are followed. NULL when
 * it cannot be told (no bundle for a relative source, a path too long): the caller then takes
 * the mount for the worst it could be.
 */
static const char *bind_source(const struct nf_oci_mount *m, const struct nf_soundness_ctx *ctx,
			       char real[PATH_MAX])
{
	char joined[PATH_MAX];
	const char *src = m->source;

	if (!src || !*src)
		return NULL;
	if (src[0] != '/') {
		if (!ctx->bundle || (size_t)snprintf(joined, sizeof(joined), "%s/%s", ctx->bundle,
						     src) >= sizeof(joined))
			return NULL;
		src = joined;
	}
	if (realpath(src, real))
		return real;
	/* A source that does not exist fails the runtime's mount; a relative one is judged as
	 * the worst it could be. */
	return src == joined ? NULL : m->source;
}

/* A mount that shows the BPF filesystem holding netfence's pins inside the container. */
static const struct nf_oci_mount *bpffs_mount(const struct nf_oci_config *cfg,
					      const struct nf_soundness_ctx *ctx)
{
	const char *bpffs_root = ctx->bpffs_root;
	char real[PATH_MAX];

	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct nf_oci_mount *m = &cfg->mounts[i];
		const char *src;

		if (m->type && strcmp(m->type, "bpf") == 0 && !m->bind)
			return m;
		if (!m->bind)
			continue;
		src = bind_source(m, ctx, real);
		if (!src)
			return m;
		if (path_within(src, "/sys/fs/bpf") || (bpffs_root && path_within(src, bpffs_root)))
			return m;
		/* A recursive bind of an ancestor brings the bpffs mount along. */
		if (m->rbind && (path_within("/sys/fs/bpf", src) ||
				 (bpffs_root && path_within(bpffs_root, src))))
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
		const char *src;

		*ret_sub = false;
		/* A bind is judged by its source whatever type it names (runtimes ignore it). */
		if (!m->bind) {
			if (m->type &&
			    (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0) &&
			    !m->ro && !m->rro && !ctx->own_cgroupns)
				return m;
			continue;
		}
		src = bind_source(m, ctx, real);
		if (!src)
			return m;
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
	/* Its own user namespace gets EPERM from init_module: only the initial one loads. */
	if (!ctx->own_userns && nf_oci_config_has_cap(cfg, "CAP_SYS_MODULE"))
		return "CAP_SYS_MODULE in the initial user namespace, which loads code into the "
		       "kernel that netfence's programs run in";
	/* open_by_handle_at needs it in the initial user namespace: any file of a filesystem
	 * mounted in the container, outside its root too, opens by handle. */
	if (!ctx->own_userns && nf_oci_config_has_cap(cfg, "CAP_DAC_READ_SEARCH"))
		return "CAP_DAC_READ_SEARCH in the initial user namespace, which opens the host's "
		       "files on any filesystem mounted in it by handle (open_by_handle_at), "
		       "outside "
		       "its root (drop CAP_DAC_READ_SEARCH)";
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

/*
 * A PID namespace it did not create shows it processes of other cgroups (the host's, or
 * another container's), and a process it may ptrace (or reach with process_vm_writev,
 * pidfd_getfd) runs whatever it injects from outside the fenced cgroup. Its own user namespace
 * holds CAP_SYS_PTRACE only over its own processes, and classic ptrace needs the tracee's user
 * namespace, so that stops it too.
 */
static int ptrace_reason(const struct nf_oci_config *cfg, const struct nf_soundness_ctx *ctx,
			 char *buf, size_t size)
{
	char q[NF_QUOTE_BUF], where[NF_QUOTE_BUF + 64];

	if (ctx->own_pidns || ctx->own_userns || ctx->ptrace_scope >= 3)
		return 0;
	if (cfg->pidns_path)
		snprintf(where, sizeof(where), "the PID namespace it joins (%s)",
			 nf_quote_str(q, cfg->pidns_path));
	else
		snprintf(where, sizeof(where), "the host's PID namespace");
	if (nf_oci_config_has_cap(cfg, "CAP_SYS_PTRACE"))
		snprintf(
			buf, size,
			"holds CAP_SYS_PTRACE in %s, through which it can ptrace a process outside "
			"its cgroup and connect from there (give it a PID namespace of its own, or "
			"drop CAP_SYS_PTRACE)",
			where);
	else if (ctx->ptrace_scope <= 0)
		snprintf(
			buf, size,
			"shares %s while ptrace is unrestricted (kernel.yama.ptrace_scope 0, or no "
			"Yama), through which it can ptrace a process of its uid outside its "
			"cgroup "
			"and connect from there (give it a PID namespace of its own, or set "
			"kernel.yama.ptrace_scope to 1 or more)",
			where);
	else
		return 0;
	return 1;
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
	if (ptrace_reason(cfg, ctx, buf, size))
		return 1;
	m = bpffs_mount(cfg, ctx);
	if (m) {
		snprintf(buf, size,
			 "mounts the BPF filesystem (source %s), through which it could unpin "
			 "netfence's links",
			 nf_quote_str(q, m->source ? m->source : "bpf"));
		return 1;
	}
	m = cgroup_mount(cfg, ctx, &sub);
	if (m && m->bind)
		snprintf(buf, size,
			 "mounts the cgroup hierarchy writable (source %s), through which uid 0 "
			 "moves itself out of its cgroup and its fence by writing cgroup.procs "
			 "(mount it %s)",
			 nf_quote_str(q, m->source ? m->source : ""),
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
