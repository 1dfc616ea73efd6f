/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state file of a fence, <state_dir>/<id>.json: what was attached where and when, and, last,
 * the policy document as given (member "policy"). It is written atomically (temporary file, then
 * rename). The pins are the truth for what is attached; the state file is what `show` and `gc`
 * explain it with. Every hook run's gc reads the members before the policy, and only those.
 */
#ifndef NETFENCE_STATE_H
#define NETFENCE_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#define NF_STATE_MAX_BYTES (4 * 1024 * 1024)

/* The state file's name is the id and NF_STATE_SUFFIX; it is written as the id and
 * NF_STATE_TMP_SUFFIX, the longest name derived from an id in the state dir (oci.h bounds ids
 * by it). */
#define NF_STATE_SUFFIX	    ".json"
#define NF_STATE_TMP_SUFFIX ".json.tmp"
/* Beside it, no longer than NF_STATE_TMP_SUFFIX with their ".tmp": Kubernetes names, and the
 * record of a container running unfenced. */
#define NF_STATE_K8S_SUFFIX  ".meta"
#define NF_STATE_OPEN_SUFFIX ".open"

struct nf_state {
	char *id;
	char *cgroup; /* absolute directory of the fenced cgroup */
	uint64_t cgroup_id;
	char *mode;	   /* "enforce" or "audit" */
	char *source;	   /* "annotation", "policy-name:<name>", "default:<name>", "file" */
	char *attached_at; /* RFC 3339, UTC */
	bool removable;	   /* the container could lift the fence (accepted by the operator) */
	bool own_netns;
	/* A container that runs without its fence (fail_mode open), and why: its record is
	 * <id>.open, not a state file, so that gc, which removes state files without pins,
	 * keeps it until the container's poststop (or `netfence gc` once its cgroup is gone). */
	bool unfenced;
	char *unfenced_reason;
	struct nf_state_k8s {
		char *pod;	 /* io.kubernetes.pod.name, NULL when not given */
		char *namespace; /* io.kubernetes.pod.namespace */
		char *container; /* io.kubernetes.container.name */
	} k8s;
};

/* policy: a JSON document (the policy as given, already parsed once), or NULL for none. */
int nf_state_write(const char *dir, const struct nf_state *s, const char *policy,
		   size_t policy_len);
/*
 * The same in two steps, for a fence replaced in between: prepare writes the temporary file
 * (removed again on failure), commit renames it over the state file, discard removes it.
 */
int nf_state_prepare(const char *dir, const struct nf_state *s, const char *policy,
		     size_t policy_len);
int nf_state_commit(const char *dir, const char *id);
void nf_state_discard(const char *dir, const char *id);
/* The policy's text as written; -ENOENT when the state holds none. */
int nf_state_read_policy(const char *dir, const char *id, char **ret, size_t *ret_len);
/* Everything but the policy. */
int nf_state_read(const char *dir, const char *id, struct nf_state **ret);
/* The state file, the Kubernetes names beside it, and an unfenced record. */
int nf_state_remove(const char *dir, const char *id);

/*
 * The pod, namespace and container names of a fence, kept beside its state file in <id>.meta
 * (the state file is the fence's own, written as it is put in place); nf_state_read() reads
 * them. Nothing is written when none is known.
 */
int nf_state_write_k8s(const char *dir, const char *id, const struct nf_state_k8s *k8s);

/* Record s (s->unfenced set) as a container running without its fence: <id>.open, which
 * nf_state_read() reads when there is no state file. */
int nf_state_write_unfenced(const char *dir, const struct nf_state *s);
int nf_state_remove_unfenced(const char *dir, const char *id);
/* Ids with an unfenced record (sorted). */
int nf_state_unfenced_ids(const char *dir, char ***ret_ids, size_t *ret_n);
void nf_state_free(struct nf_state *s);

/* Ids with a state file (sorted). Free with nf_strv_free() (util.h). */
int nf_state_ids(const char *dir, char ***ret_ids, size_t *ret_n);

/* Current time as RFC 3339 UTC into buf (at least 32 bytes). */
void nf_state_now(char *buf, size_t size);

#endif
