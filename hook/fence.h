/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fence is a compiled policy attached to one cgroup under one id: the pins under
 * <bpffs_root>/<id>/ and the state file <state_dir>/<id>.json. This module puts fences in
 * place, replaces and removes them, and reaps those whose cgroup is gone.
 */
#ifndef NETFENCE_FENCE_H
#define NETFENCE_FENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "policy.h"

struct nf_paths {
	const char *bpffs_root;
	const char *state_dir;
};

struct nf_fence_request {
	const char *id;
	const char *cgroup_dir;
	int cgroup_fd; /* cgroup_dir, opened by nf_cgroup_open(); the caller closes it */
	const struct nf_policy *policy; /* resolved (nf_policy_resolve) */
	const char *policy_text;	/* the document as given, kept in the state file */
	size_t policy_len;
	const char *source;
	bool own_netns;
	bool removable;
	unsigned int events_per_sec;
	/* Name rules are seeded (hook/seed.h) in the network namespace these processes share:
	 * none, not seeded (the log says so). */
	const pid_t *seed_pids;
	size_t seed_npids;
};

/*
 * Attach, or replace the fence of an id already attached: the new programs are attached before
 * the old ones are released, so the cgroup is never unfenced. On failure nothing new is left
 * attached or pinned and the previous fence, if any, stays in force. A policy with name rules
 * is then seeded, which never fails the attach: one log line says what was not seeded.
 */
int nf_fence_attach(const struct nf_paths *paths, const struct nf_fence_request *req,
		    struct nf_err *err);

/* Remove the fence of id; an unknown id is success. Works after the cgroup is gone. */
int nf_fence_detach(const struct nf_paths *paths, const char *id, struct nf_err *err);

/*
 * Remove every fence whose cgroup no longer exists, and state files without pins. Fences of a
 * live cgroup are never touched. Optional count of removed ids in ret_removed.
 *
 * quick: judge a fence by its links alone (a removed cgroup's links lose it once the kernel
 * releases the cgroup, which an open socket can delay), as every hook run does: a few system
 * calls per fence. Otherwise the state file's cgroup directory is looked at too, which tells at
 * once (`netfence gc`).
 */
int nf_fence_gc(const struct nf_paths *paths, bool quick, size_t *ret_removed);

#endif
