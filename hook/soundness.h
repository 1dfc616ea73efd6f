/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whether a container could lift or walk around its fence, decided from its bundle's
 * config.json before the fence is attached (docs/security.md has the measurements):
 *
 * - CAP_SYS_ADMIN, or CAP_BPF with CAP_NET_ADMIN, in the initial user namespace: the container
 *   can attach its own program to its cgroup after netfence's and reset the verdict
 *   (bpf_set_retval), and with CAP_SYS_ADMIN detach netfence's links by id.
 * - CAP_SYS_MODULE in the initial user namespace: a module runs in the kernel, below every fence.
 * - CAP_NET_ADMIN over the network namespace its traffic leaves through: a NAT rule rewrites the
 *   destination after netfence has judged the original one.
 * - CAP_NET_RAW over that network namespace when the policy denies raw sockets: packet sockets
 *   (AF_PACKET) send frames that no cgroup hook sees.
 * - A mount of the BPF filesystem: whoever is uid 0 there can unpin netfence's links.
 * - A writable mount of the cgroup2 hierarchy beyond its own subtree (a cgroup mount without a
 *   cgroup namespace, a bind from the runtime's cgroup2 mount, an rbind of an ancestor of it
 *   without "rro"): uid 0 needs no capability to write its pid into another cgroup's
 *   cgroup.procs, which leaves the fence.
 * - A PID namespace it did not create (the host's, or one joined by path) where ptrace reaches
 *   beyond the container (CAP_SYS_PTRACE, or Yama's ptrace_scope 0): it can make a process
 *   outside its cgroup connect for it.
 *
 * A container in its own user namespace holds capabilities only there: they still govern a
 * network namespace that user namespace owns, never the host's BPF.
 */
#ifndef NETFENCE_SOUNDNESS_H
#define NETFENCE_SOUNDNESS_H

#include <stdbool.h>
#include <stddef.h>

#include "oci.h"

struct nf_soundness_ctx {
	bool own_userns; /* the container has a user namespace other than the host's */
	bool own_netns;	 /* the container has a network namespace other than the host's */
	const char *bpffs_root;
	bool raw_deny;	   /* the policy denies raw sockets (resolved raw_sockets) */
	bool own_cgroupns; /* the container has a cgroup namespace other than the host's */
	/* The cgroup2 mount points in the runtime's mount namespace (nf_cgroup_list_mounts());
	 * none: /sys/fs/cgroup is assumed. */
	const char *const *cgroup2_mounts;
	size_t n_cgroup2_mounts;
	const char *bundle; /* a bind's relative source is taken from here, as runtimes do */
	bool own_pidns;	    /* the container creates its PID namespace (no path to join) */
	/* kernel.yama.ptrace_scope: 0 classic (also without Yama), 1 descendants only, 2 only
	 * CAP_SYS_PTRACE, 3 no ptrace at all. */
	int ptrace_scope;
};

/* 0 when the fence holds; 1 with the reason (one clause, for a log line) in buf when the
 * container could lift or walk around it. */
int nf_soundness_check(const struct nf_oci_config *cfg, const struct nf_soundness_ctx *ctx,
		       char *buf, size_t size);

/* Whether the namespace the OCI entry names is the container's own: true for a new one (no
 * path), else whether path is another namespace than host_ns (e.g. /proc/self/ns/net). */
bool nf_soundness_ns_own(bool has_entry, const char *path, const char *host_ns);

#endif
