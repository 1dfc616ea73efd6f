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

struct nf_state {
	char *id;
	char *cgroup; /* absolute directory of the fenced cgroup */
	uint64_t cgroup_id;
	char *mode;	   /* "enforce" or "audit" */
	char *source;	   /* "annotation", "policy-name:<name>", "default:<name>", "file" */
	char *attached_at; /* RFC 3339, UTC */
	bool removable;	   /* the container could lift the fence (accepted by the operator) */
	bool own_netns;
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
int nf_state_remove(const char *dir, const char *id);
void nf_state_free(struct nf_state *s);

/* Ids with a state file (sorted). Free with nf_strv_free() (util.h). */
int nf_state_ids(const char *dir, char ***ret_ids, size_t *ret_n);

/* Current time as RFC 3339 UTC into buf (at least 32 bytes). */
void nf_state_now(char *buf, size_t size);

#endif
