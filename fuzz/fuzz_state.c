// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the OCI state a runtime writes to the hook's stdin (nf_oci_state_parse in
 * hook/oci.c), followed the way the hook follows it: the container id, the pid, and the policy
 * annotations (the inline document through nf_policy_parse, the name through
 * nf_policy_name_valid).
 *
 * A state that parses must satisfy the container id rule (hook/oci.h), checked here
 * independently of nf_oci_id_valid() because the id becomes a path; a failure must come with a
 * one-line message and leave *ret alone.
 *
 * The state is read by the scanner of hook/json_scan.c, which must accept exactly what jansson
 * accepts and read the same values: every input is also given to both and compared. The brief
 * parse of a detach must accept whatever the full parse accepts, with the same id and status.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "json_scan.h"
#include "oci.h"
#include "policy.h"
#include "fuzz_common.h"

/* [A-Za-z0-9][A-Za-z0-9_.+-]*, at most NF_OCI_ID_MAX bytes and NF_OCI_ID_ENCODED_MAX with '.'
 * and '_' counted twice, never "." or "..". */
static bool id_ok(const char *id)
{
	size_t len = strlen(id), encoded = len;

	if (len == 0 || len > NF_OCI_ID_MAX || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = id[i];
		bool alnum = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			     (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || !strchr("_.+-", ch)))
			return false;
		encoded += ch == '.' || ch == '_';
	}
	return encoded <= NF_OCI_ID_ENCODED_MAX;
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
	struct nf_err err;
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
		memset(&err, 0xff, sizeof(err));
		r = nf_policy_parse(doc, strlen(doc), &p, &err);
		if (r < 0)
			fuzz_check_message("nf_policy_parse(annotation)", r, &err);
		nf_policy_free(p);
	}
	if (name && nf_policy_name_valid(name) == 0 &&
	    (strchr(name, '/') || name[0] == '.' || strlen(name) > 63))
		fuzz_die("policy name '%s' accepted", name);
}

/* String, integer and type of member m as jansson reads value jv. */
static void compare_value(const struct nf_json_scan_member *m, const json_t *jv, const char *key)
{
	static const json_type types[] = {
		[NF_JSON_SCAN_NULL] = JSON_NULL,   [NF_JSON_SCAN_FALSE] = JSON_FALSE,
		[NF_JSON_SCAN_TRUE] = JSON_TRUE,   [NF_JSON_SCAN_INTEGER] = JSON_INTEGER,
		[NF_JSON_SCAN_REAL] = JSON_REAL,   [NF_JSON_SCAN_STRING] = JSON_STRING,
		[NF_JSON_SCAN_ARRAY] = JSON_ARRAY, [NF_JSON_SCAN_OBJECT] = JSON_OBJECT,
	};
	char *v;

	if (!jv || types[m->val.type] != json_typeof(jv))
		fuzz_die("nf_json_scan: member '%s' is not what jansson read", key);
	if (m->val.type == NF_JSON_SCAN_INTEGER &&
	    nf_json_scan_integer(&m->val) != json_integer_value(jv))
		fuzz_die("nf_json_scan: integer '%s' differs", key);
	if (m->val.type != NF_JSON_SCAN_STRING)
		return;
	v = nf_json_scan_strdup(&m->val);
	if (v &&
	    (strlen(v) != json_string_length(jv) || memcmp(v, json_string_value(jv), strlen(v))))
		fuzz_die("nf_json_scan: string '%s' differs", key);
	free(v);
}

/*
 * The scanner and jansson agree on the document and on the members the scanner records. Not on
 * NUL bytes: jansson's lookahead takes a 0 for an empty buffer and so skips a NUL right after a
 * number or a literal ("[1\0]" passes), while the scanner refuses every NUL byte, as its callers
 * do before parsing.
 */
static void compare_scanner(const char *buf, size_t len)
{
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	struct nf_json_scan_doc d;
	int r = nf_json_scan(buf, len, 2, &d, NULL);

	if (r == 0 && memchr(buf, '\0', len))
		fuzz_die("nf_json_scan: accepted a NUL byte");
	if (r == -ENOMEM || memchr(buf, '\0', len))
		goto out;
	if ((r == 0) != (j != NULL))
		fuzz_die("nf_json_scan: %d but jansson %s", r, j ? "accepts" : "refuses");
	for (size_t i = 0; r == 0 && i < d.n; i++) {
		const struct nf_json_scan_member *m = &d.m[i];
		const json_t *parent = m->parent == NF_JSON_SCAN_TOP ? j : NULL;
		char *key = nf_json_scan_strdup(&m->key);

		if (m->parent != NF_JSON_SCAN_TOP) {
			char *pkey = nf_json_scan_strdup(&d.m[m->parent].key);

			parent = pkey ? json_object_get(j, pkey) : NULL;
			free(pkey);
		}
		if (key && parent)
			compare_value(m, json_object_get(parent, key), key);
		free(key);
	}
	if (r == 0)
		nf_json_scan_free(&d);
out:
	json_decref(j);
}

/* Whatever the full parse accepts, the brief one accepts, with the same id and status. */
static void compare_brief(const char *buf, size_t len, const struct nf_oci_state *full)
{
	struct nf_oci_state *s = (void *)1;
	struct nf_err err;
	int r;

	memset(&err, 0xff, sizeof(err));
	r = nf_oci_state_parse_brief(buf, len, &s, &err);
	if (r < 0) {
		fuzz_check_message("nf_oci_state_parse_brief", r, &err);
		if (s != (void *)1)
			fuzz_die("nf_oci_state_parse_brief: *ret written on failure");
		if (full && r != -ENOMEM)
			fuzz_die("nf_oci_state_parse_brief refuses what the full parse accepts: %s",
				 err.msg);
		return;
	}
	if (!s->id || !s->status || !id_ok(s->id))
		fuzz_die("nf_oci_state_parse_brief: success without a valid id or status");
	if (full && (strcmp(s->id, full->id) || strcmp(s->status, full->status)))
		fuzz_die("nf_oci_state_parse_brief: id or status differ from the full parse");
	nf_oci_state_free(s);
}

/*
 * The compacted copy a detach reads (json_scan.h), made in pieces of a size the input picks:
 * with short strings standing in it is JSON exactly when the input is (duplicate keys aside),
 * and with the hook's keep the brief parse reads from it what it reads from the input.
 */
static int compact(const char *buf, size_t len, size_t keep, struct nf_json_compact *c)
{
	size_t piece = 1 + len % 37, have = 0, off = 0;
	char win[64];
	long used;

	nf_json_compact_init(c, keep);
	for (;;) {
		size_t n = len - off < piece ? len - off : piece;

		memcpy(win + have, buf + off, n);
		off += n;
		have += n;
		used = nf_json_compact_feed(c, win, have, n == 0);
		if (used < 0)
			return (int)used;
		if ((size_t)used > have || (n == 0 && (size_t)used != have) ||
		    have - (size_t)used >= 12)
			fuzz_die("nf_json_compact_feed: used %ld of %zu", used, have);
		have -= (size_t)used;
		memmove(win, win + used, have);
		if (n == 0)
			return 0;
	}
}

static void compare_compacted(const char *buf, size_t len, const struct nf_oci_state *full)
{
	json_t *j = json_loadb(buf, len, 0, NULL), *jc;
	struct nf_json_compact c;
	struct nf_oci_state *s;
	struct nf_err err;
	int r;

	r = compact(buf, len, 8, &c);
	if (r == -EINVAL && j)
		fuzz_die("nf_json_compact_feed refuses what jansson reads");
	if (r == 0) {
		jc = json_loadb(c.out ? c.out : "", c.len, 0, NULL);
		if (!jc != !j)
			fuzz_die("compacted, jansson %s", jc ? "reads it" : "does not read it");
		json_decref(jc);
	}
	json_decref(j);
	nf_json_compact_free(&c);
	if (!full)
		return;
	if (compact(buf, len, NF_OCI_BRIEF_KEEP, &c) < 0)
		fuzz_die("nf_json_compact_feed refuses a state the full parse accepts");
	r = nf_oci_state_parse_brief(c.out, c.len, &s, &err);
	if (r < 0 && r != -ENOMEM)
		fuzz_die("the brief parse refuses the compacted state: %s", err.msg);
	if (r == 0 && (strcmp(s->id, full->id) || strcmp(s->status, full->status)))
		fuzz_die("the compacted state has another id or status");
	if (r == 0)
		nf_oci_state_free(s);
	nf_json_compact_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nf_oci_state *s = (void *)1;
	struct nf_err err;
	int r;

	compare_scanner((const char *)data, size);
	memset(&err, 0xff, sizeof(err));
	r = nf_oci_state_parse((const char *)data, size, &s, &err);
	if (r < 0) {
		fuzz_check_message("nf_oci_state_parse", r, &err);
		if (r != -EINVAL && r != -EFBIG && r != -ENOMEM)
			fuzz_die("nf_oci_state_parse: unexpected %d (%s)", r, err.msg);
		if (s != (void *)1)
			fuzz_die("nf_oci_state_parse: *ret written on failure");
		compare_brief((const char *)data, size, NULL);
		compare_compacted((const char *)data, size, NULL);
		return 0;
	}
	compare_brief((const char *)data, size, s);
	compare_compacted((const char *)data, size, s);
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
