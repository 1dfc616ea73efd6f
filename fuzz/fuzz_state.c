// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the OCI state a runtime writes to the hook's stdin (nf_oci_state_parse in
 * hook/oci.c), followed the way the hook follows it: the container id, the pid, and the policy
 * annotations (the inline document through nf_policy_parse, the name through
 * nf_policy_name_valid).
 *
 * A state that parses must satisfy DESIGN.md's id rule, checked here independently of
 * nf_oci_id_valid() because the id becomes a path; a failure must come with a one-line message
 * and leave *ret alone.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "oci.h"
#include "policy.h"
#include "fuzz_common.h"

/* [A-Za-z0-9][A-Za-z0-9_.+-]*, at most NF_OCI_ID_MAX bytes, never "." or "..". */
static bool id_ok(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > NF_OCI_ID_MAX || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = id[i];
		bool alnum = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			     (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || !strchr("_.+-", ch)))
			return false;
	}
	return true;
}

/* Read every byte of s (NULL: nothing), so that ASan sees a dangling or unterminated string. */
static void touch(const char *s)
{
	static volatile size_t sink;

	for (; s && *s; s++)
		sink += (unsigned char)*s;
}

static void follow_annotations(const struct nf_oci_state *s)
{
	const char *doc = nf_oci_annotation(s, "io.netfence.policy");
	const char *name = nf_oci_annotation(s, "io.netfence.policy-name");
	struct nf_policy *p = NULL;
	char err[FUZZ_ERR_BUF];
	int r;

	for (size_t i = 0; i < s->annotations.n; i++) {
		if (!s->annotations.v[i].key || !s->annotations.v[i].value)
			fuzz_die("annotation %zu has a NULL key or value", i);
		touch(s->annotations.v[i].key);
		touch(s->annotations.v[i].value);
	}
	touch(s->oci_version);
	touch(s->status);
	touch(s->bundle);
	if (doc) {
		memset(err, 0xff, sizeof(err));
		r = nf_policy_parse(doc, strlen(doc), &p, err, sizeof(err));
		if (r < 0)
			fuzz_check_message("nf_policy_parse(annotation)", r, err);
		nf_policy_free(p);
	}
	if (name && nf_policy_name_valid(name) == 0 &&
	    (strchr(name, '/') || name[0] == '.' || strlen(name) > 63))
		fuzz_die("policy name '%s' accepted", name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nf_oci_state *s = (void *)1;
	char err[FUZZ_ERR_BUF];
	int r;

	memset(err, 0xff, sizeof(err));
	r = nf_oci_state_parse((const char *)data, size, &s, err, sizeof(err));
	if (r < 0) {
		fuzz_check_message("nf_oci_state_parse", r, err);
		if (r != -EINVAL && r != -EFBIG && r != -ENOMEM)
			fuzz_die("nf_oci_state_parse: unexpected %d (%s)", r, err);
		if (s != (void *)1)
			fuzz_die("nf_oci_state_parse: *ret written on failure");
		return 0;
	}
	if (!s || !s->id || !s->status || !s->bundle)
		fuzz_die("nf_oci_state_parse: success without id, status or bundle");
	if (!id_ok(s->id) || nf_oci_id_valid(s->id) < 0)
		fuzz_die("nf_oci_state_parse: accepted id '%s'", s->id);
	if (s->pid < 0 || (!s->has_pid && s->pid != 0))
		fuzz_die("nf_oci_state_parse: pid %d (has_pid %d)", s->pid, s->has_pid);
	follow_annotations(s);
	nf_oci_state_free(s);
	return 0;
}
