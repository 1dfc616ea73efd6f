// SPDX-License-Identifier: Apache-2.0
/*
 * Tests for hook/json_scan.c. The scanner must accept exactly what jansson's
 * json_loadb(JSON_REJECT_DUPLICATES) accepts, and read the same values: every case is checked
 * against jansson itself, and the table cases against a written expectation as well, so that a
 * jansson upgrade that changed its mind would show here rather than as a silently slower hook.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <jansson.h>

#include "json_scan.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TOP	      NF_JSON_SCAN_TOP

static bool same_type(enum nf_json_scan_type t, const json_t *v)
{
	static const json_type map[] = {
		[NF_JSON_SCAN_NULL] = JSON_NULL,   [NF_JSON_SCAN_FALSE] = JSON_FALSE,
		[NF_JSON_SCAN_TRUE] = JSON_TRUE,   [NF_JSON_SCAN_INTEGER] = JSON_INTEGER,
		[NF_JSON_SCAN_REAL] = JSON_REAL,   [NF_JSON_SCAN_STRING] = JSON_STRING,
		[NF_JSON_SCAN_ARRAY] = JSON_ARRAY, [NF_JSON_SCAN_OBJECT] = JSON_OBJECT,
	};

	return map[t] == json_typeof(v);
}

/* Member i (of object jp in jansson's tree) reads as jansson reads it; with levels 2 the
 * members of a top-level member's object are recorded, and checked, too. */
static void check_member(const struct nf_json_scan_doc *d, size_t i, const json_t *jp,
			 const char *doc)
{
	const struct nf_json_scan_member *m = &d->m[i];
	char *key = nf_json_scan_strdup(&m->key);
	const json_t *jv;

	cr_assert_not_null(key);
	cr_assert(nf_json_scan_streq(&m->key, key), "%s: key '%s'", doc, key);
	jv = json_object_get(jp, key);
	cr_assert_not_null(jv, "%s: key '%s' unknown to jansson", doc, key);
	cr_assert(same_type(m->val.type, jv), "%s: type of '%s'", doc, key);
	if (m->val.type == NF_JSON_SCAN_STRING) {
		char *v = nf_json_scan_strdup(&m->val);

		cr_assert_not_null(v);
		cr_assert_eq(strlen(v), json_string_length(jv), "%s: length of '%s'", doc, key);
		cr_assert_eq(memcmp(v, json_string_value(jv), strlen(v)), 0, "%s: '%s'", doc, key);
		free(v);
	} else if (m->val.type == NF_JSON_SCAN_INTEGER) {
		cr_assert_eq(nf_json_scan_integer(&m->val), json_integer_value(jv), "%s: '%s'", doc,
			     key);
	} else if (m->val.type == NF_JSON_SCAN_OBJECT && m->parent == TOP) {
		size_t n = 0;

		for (size_t k = i + 1; k < d->n; k++) {
			if (d->m[k].parent != i)
				continue;
			check_member(d, k, jv, doc);
			n++;
		}
		cr_assert_eq(n, json_object_size(jv), "%s: members of '%s'", doc, key);
	}
	free(key);
}

/* A value the walk returned reads as jansson's jv, and so, for containers, do all inside it. */
static void check_walked(const struct nf_json_scan_span *v, const json_t *jv, const char *doc)
{
	struct nf_json_scan_span key, val;
	struct nf_json_scan_iter it;
	size_t n = 0;

	cr_assert(same_type(v->type, jv), "%s: walked type", doc);
	if (v->type == NF_JSON_SCAN_STRING) {
		char *s = nf_json_scan_strdup(v);

		cr_assert_not_null(s);
		cr_assert(strlen(s) == json_string_length(jv) &&
				  memcmp(s, json_string_value(jv), strlen(s)) == 0,
			  "%s: walked string '%s'", doc, s);
		free(s);
	} else if (v->type == NF_JSON_SCAN_INTEGER) {
		cr_assert_eq(nf_json_scan_integer(v), json_integer_value(jv), "%s", doc);
	}
	if (v->type != NF_JSON_SCAN_OBJECT && v->type != NF_JSON_SCAN_ARRAY)
		return;
	nf_json_scan_iter_init(&it, v);
	while (nf_json_scan_iter_next(&it, &key, &val)) {
		if (v->type == NF_JSON_SCAN_OBJECT) {
			char *k = nf_json_scan_strdup(&key);

			cr_assert_not_null(k);
			check_walked(&val, json_object_get(jv, k), doc);
			free(k);
		} else {
			check_walked(&val, json_array_get(jv, n), doc);
		}
		n++;
	}
	cr_assert_eq(n, v->type == NF_JSON_SCAN_OBJECT ? json_object_size(jv) : json_array_size(jv),
		     "%s: walked members", doc);
}

/* The whole document walked from its top-level container. */
static void check_walk(const char *buf, size_t len, enum nf_json_scan_type top, const json_t *j,
		       const char *doc)
{
	struct nf_json_scan_span v = { .type = top };
	size_t a = 0, b = len;

	while (buf[a] != '{' && buf[a] != '[')
		a++;
	while (buf[b - 1] != '}' && buf[b - 1] != ']')
		b--;
	v.p = buf + a;
	v.len = b - a;
	check_walked(&v, j, doc);
}

/* The scanner and jansson agree on buf; returns whether they accept it. */
static bool check_doc(const char *buf, size_t len)
{
	struct nf_json_scan_doc d = { .n = 12345 };
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	char shown[128];
	size_t n = 0;
	int r;

	snprintf(shown, sizeof(shown), "%.*s", (int)(len < 100 ? len : 100), buf);
	r = nf_json_scan(buf, len, 2, &d, NULL);
	cr_assert_eq(r == 0, j != NULL, "'%s' (%zu bytes): scanner %d, jansson %s", shown, len, r,
		     j ? "accepts" : "refuses");
	if (r < 0) {
		cr_assert_eq(r, -EINVAL);
		cr_assert_eq(d.n, 12345, "'%s': output written on failure", shown);
		return false;
	}
	cr_assert(same_type(d.top, j), "'%s': top-level type", shown);
	for (size_t i = 0; i < d.n; i++) {
		if (d.m[i].parent != TOP)
			continue;
		check_member(&d, i, j, shown);
		n++;
	}
	cr_assert_eq(n, json_is_object(j) ? json_object_size(j) : 0, "'%s': members", shown);
	check_walk(buf, len, d.top, j, shown);
	nf_json_scan_free(&d);
	json_decref(j);
	return true;
}

static bool check_str(const char *doc)
{
	return check_doc(doc, strlen(doc));
}

static const char *const accepted[] = {
	"{}",
	"[]",
	" \t\r\n{ } \t\r\n",
	"[[],{},[[]]]",
	"{\"a\":1,\"b\":-2,\"c\":0,\"d\":-0,\"e\":9223372036854775807,"
	"\"f\":-9223372036854775808}",
	"{\"a\":0.5,\"b\":-1.25e-3,\"c\":1E+2,\"d\":1e308,\"e\":1e-400,\"f\":0e0,\"g\":1."
	"7976931348623157e308}",
	"{\"t\":true,\"f\":false,\"n\":null,\"s\":\"\",\"o\":{},\"a\":[]}",
	"{\"e\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
	"{\"u\":\"\\u0001\\u001f\\u007f\\u0080\\u07ff\\u0800\\uffff\\uFFFE\\ud7ff\\ue000\"}",
	"{\"pair\":\"\\ud800\\udc00\\udbff\\udfff\\uD83D\\uDE00\"}",
	"{\"utf8\":"
	"\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80"
	"\xf4\x8f\xbf\xbf\"}",
	"{\"del\":\"\x7f\",\"quote in key\\\"\":1}",
	"{\"\":1,\" \":2}",
	"{\"a\":1,\"\\u0062\":2}",
	"{\"x\":{\"a\":1},\"y\":{\"a\":1}}",
	"[{\"a\":1},{\"a\":2}]",
	"{\"annotations\":{\"k\":\"v\",\"io.netfence.policy\":\"{\\\"version\\\":1}\"},\"id\":"
	"\"c1\"}",
	"{\"deep\":{\"er\":{\"a\":1,\"b\":[1,{\"c\":null}]}}}",
};

static const char *const refused[] = {
	"",
	" ",
	"1",
	"\"a\"",
	"null",
	"true",
	"{",
	"}",
	"[",
	"{\"a\"}",
	"{\"a\":}",
	"{\"a\" 1}",
	"{\"a\":1,}",
	"{,}",
	"{1:1}",
	"{'a':1}",
	"{a:1}",
	"[1,]",
	"[,]",
	"[1 2]",
	"[1,,2]",
	"{\"a\":1 \"b\":2}",
	"{} x",
	"{}{}",
	"{}]",
	"[]}",
	"[}",
	"{]",
	"[01]",
	"[-01]",
	"[00]",
	"[-]",
	"[-a]",
	"[1.]",
	"[.5]",
	"[1.e5]",
	"[1e]",
	"[1e+]",
	"[1E-]",
	"[+1]",
	"[0x10]",
	"[1a]",
	"[NaN]",
	"[Infinity]",
	"[-Infinity]",
	"[9223372036854775808]",
	"[-9223372036854775809]",
	"[99999999999999999999]",
	"[1e309]",
	"[-1e400]",
	"[1.8e308]",
	"[tru]",
	"[truex]",
	"[True]",
	"[nul]",
	"[nulll]",
	"[falsey]",
	"[\"\\u0000\"]",
	"{\"\\u0000\":1}",
	"[\"a\\u0000b\"]",
	"[\"\\ud800\"]",
	"[\"\\udbff\"]",
	"[\"\\udc00\"]",
	"[\"\\udfff\"]",
	"[\"\\ud800\\u0041\"]",
	"[\"\\ud800\\ud800\"]",
	"[\"\\ud800\\n\"]",
	"[\"\\ud800x\"]",
	"[\"\\ud800\\\"]",
	"[\"\\x\"]",
	"[\"\\a\"]",
	"[\"\\U0041\"]",
	"[\"\\u12\"]",
	"[\"\\u12g4\"]",
	"[\"\\u\"]",
	"[\"\\",
	"[\"abc",
	"[\"abc\\\"]",
	"[\"\t\"]",
	"[\"\n\"]",
	"[\"\x1f\"]",
	"[\"\x80\"]",
	"[\"\xbf\"]",
	"[\"\xc0\x80\"]",
	"[\"\xc1\xbf\"]",
	"[\"\xc2\"]",
	"[\"\xc2\x7f\"]",
	"[\"\xc2\xc0\"]",
	"[\"\xe0\x80\x80\"]",
	"[\"\xe0\x9f\xbf\"]",
	"[\"\xed\xa0\x80\"]",
	"[\"\xed\xbf\xbf\"]",
	"[\"\xef\xbf\"]",
	"[\"\xf0\x80\x80\x80\"]",
	"[\"\xf0\x8f\xbf\xbf\"]",
	"[\"\xf4\x90\x80\x80\"]",
	"[\"\xf5\x80\x80\x80\"]",
	"[\"\xf8\x88\x80\x80\x80\"]",
	"[\"\xff\"]",
	"[\xc3\xa9]",
	"{}\xc3\xa9",
	"{\"a\":1,\"a\":2}",
	"{\"a\":1,\"b\":2,\"a\":3}",
	"{\"a\":1,\"\\u0061\":2}",
	"{\"\\/\":1,\"/\":2}",
	"{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
	"{\"\":1,\"\":2}",
	"{\"x\":{\"a\":1,\"a\":1}}",
	"[{\"a\":1,\"a\":2}]",
	"{\"x\":[[{\"k\":{\"a\":1,\"b\":2,\"a\":3}}]]}",
	"{\"x\":{\"a\":1},\"x\":{\"a\":1}}",
};

Test(scan, table)
{
	for (size_t i = 0; i < ARRAY_SIZE(accepted); i++)
		cr_assert(check_str(accepted[i]), "refused: %s", accepted[i]);
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		cr_assert_not(check_str(refused[i]), "accepted: %s", refused[i]);
}

/* NUL bytes: in a string, around the document, and a length that stops before one. */
Test(scan, nul_bytes)
{
	static const char in_string[] = "{\"a\":\"x\0y\"}";
	static const char after[] = "{\"a\":1}\0";
	static const char before[] = "\0{\"a\":1}";
	static const char in_key[] = "{\"a\0\":1}";

	cr_assert_not(check_doc(in_string, sizeof(in_string) - 1));
	cr_assert_not(check_doc(after, sizeof(after) - 1));
	cr_assert_not(check_doc(before, sizeof(before) - 1));
	cr_assert_not(check_doc(in_key, sizeof(in_key) - 1));
	cr_assert(check_doc(after, sizeof(after) - 2));
}

/*
 * jansson's lookahead takes a 0 byte for an empty buffer, so it skips a NUL right after a number
 * or a literal. The scanner refuses every NUL byte; its callers refuse them before parsing.
 */
Test(scan, nul_after_number)
{
	static const char *const docs[] = { "[1\0]", "{\"a\":true\0}", "[null\0,2]" };
	struct nf_json_scan_doc d;

	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		size_t len = strlen(docs[i]) + 1 + strlen(docs[i] + strlen(docs[i]) + 1);
		json_t *j = json_loadb(docs[i], len, JSON_REJECT_DUPLICATES, NULL);

		cr_assert_eq(nf_json_scan(docs[i], len, 2, &d, NULL), -EINVAL, "%s", docs[i]);
		/* If jansson ever stops skipping it, this test has done its job. */
		cr_expect_not_null(j, "%s: jansson no longer skips the NUL", docs[i]);
		json_decref(j);
	}
}

/* A document need not be NUL-terminated: nothing past len is read (ASan would see it). */
Test(scan, exact_length)
{
	static const char *const docs[] = { "{\"a\":\"xyz\"}", "{\"a\":123}", "{\"a\":1.5e3}",
					    "{\"a\":true}", "[\"\\u00e9\"]" };

	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		size_t len = strlen(docs[i]);
		char *buf = malloc(len);

		cr_assert_not_null(buf);
		memcpy(buf, docs[i], len);
		cr_assert(check_doc(buf, len), "%s", docs[i]);
		for (size_t cut = 0; cut < len; cut++)
			cr_assert_not(check_doc(buf, cut), "%s cut at %zu", docs[i], cut);
		free(buf);
	}
}

/* Every \uXXXX alone, and high surrogates followed by every kind of second escape. */
Test(scan, unicode_escapes)
{
	char doc[64];

	for (unsigned int u = 0; u <= 0xffff; u++) {
		snprintf(doc, sizeof(doc), "{\"k\":\"a\\u%04x\",\"K\":\"\\u%04X\"}", u, u);
		check_str(doc);
	}
	for (unsigned int hi = 0xd800; hi <= 0xdbff; hi += 0x3f) {
		for (unsigned int lo = 0; lo <= 0xffff; lo += 0x101) {
			snprintf(doc, sizeof(doc), "[\"\\u%04x\\u%04x\"]", hi, lo);
			check_str(doc);
		}
		snprintf(doc, sizeof(doc), "{\"\\u%04x\\udc01\":1}", hi);
		cr_assert(check_str(doc));
	}
}

/* Every one- and two-byte sequence, and the edges of the three- and four-byte ones. */
Test(scan, utf8)
{
	static const unsigned char leads[] = { 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef,
					       0xf0, 0xf1, 0xf3, 0xf4, 0xf5 };
	char doc[16];

	for (unsigned int a = 0; a < 256; a++) {
		for (unsigned int b = 0; b < 256; b++) {
			int n = snprintf(doc, sizeof(doc), "[\"%c%c\"]", 0, 0);

			doc[2] = (char)a;
			doc[3] = (char)b;
			check_doc(doc, (size_t)n);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(leads); i++) {
		for (unsigned int b = 0x70; b < 0xd0; b++) {
			unsigned char d4[] = { '[', '"', leads[i], b, 0x80, 0xbf, '"', ']' };
			unsigned char d3[] = { '[', '"', leads[i], b, 0xbf, '"', ']' };

			check_doc((const char *)d4, sizeof(d4));
			check_doc((const char *)d3, sizeof(d3));
		}
	}
}

/* jansson's depth: at most 2048, counting a value inside n containers as n + 1. */
static char *nested(size_t n, const char *open, const char *inner, const char *close)
{
	size_t lo = strlen(open), li = strlen(inner), lc = strlen(close);
	char *buf = malloc(n * (lo + lc) + li + 1), *p = buf;

	cr_assert_not_null(buf);
	for (size_t i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, inner, li);
	p += li;
	for (size_t i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return buf;
}

Test(scan, depth)
{
	static const struct {
		size_t n;
		const char *open, *inner, *close;
		bool ok;
	} cases[] = {
		{ 2047, "[", "", "]", true },	      { 2048, "[", "", "]", true },
		{ 2049, "[", "", "]", false },	      { 2047, "[", "1", "]", true },
		{ 2048, "[", "1", "]", false },	      { 2047, "[", "{}", "]", true },
		{ 2048, "[", "{}", "]", false },      { 2047, "{\"a\":", "1", "}", true },
		{ 2048, "{\"a\":", "1", "}", false }, { 2048, "{\"a\":", "{}", "}", false },
		{ 2047, "{\"a\":", "{}", "}", true }, { 100000, "[", "", "]", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *doc = nested(cases[i].n, cases[i].open, cases[i].inner, cases[i].close);

		cr_assert_eq(check_str(doc), cases[i].ok, "%zu x %s%s%s", cases[i].n, cases[i].open,
			     cases[i].inner, cases[i].close);
		free(doc);
	}
}

/* levels: 1 records the top-level members only, 2 those of the objects directly in it too. */
Test(scan, levels)
{
	static const char doc[] = "{\"a\":{\"b\":{\"c\":1},\"d\":[{\"e\":2}]},\"f\":[{\"g\":3}],"
				  "\"h\":\"\\u0069\"}";
	struct nf_json_scan_doc d;

	cr_assert_eq(nf_json_scan(doc, strlen(doc), 1, &d, NULL), 0);
	cr_assert_eq(d.n, 3);
	for (size_t i = 0; i < d.n; i++)
		cr_assert_eq(d.m[i].parent, TOP);
	cr_assert(nf_json_scan_streq(&d.m[0].key, "a"));
	cr_assert_eq(d.m[0].val.type, NF_JSON_SCAN_OBJECT);
	cr_assert_eq(d.m[0].val.len, strlen("{\"b\":{\"c\":1},\"d\":[{\"e\":2}]}"));
	cr_assert_eq(d.m[2].val.type, NF_JSON_SCAN_STRING);
	cr_assert(d.m[2].val.escaped);
	cr_assert(nf_json_scan_streq(&d.m[2].val, "i"));
	cr_assert_not(nf_json_scan_streq(&d.m[2].val, "\\u0069"));
	nf_json_scan_free(&d);

	cr_assert_eq(nf_json_scan(doc, strlen(doc), 2, &d, NULL), 0);
	cr_assert_eq(d.n, 5);
	cr_assert(nf_json_scan_streq(&d.m[1].key, "b"));
	cr_assert_eq(d.m[1].parent, 0);
	cr_assert_eq(d.m[1].val.type, NF_JSON_SCAN_OBJECT);
	cr_assert(nf_json_scan_streq(&d.m[2].key, "d"));
	cr_assert_eq(d.m[2].parent, 0);
	cr_assert_eq(d.m[2].val.type, NF_JSON_SCAN_ARRAY);
	cr_assert(nf_json_scan_streq(&d.m[3].key, "f"));
	cr_assert_eq(d.m[3].parent, TOP);
	nf_json_scan_free(&d);
}

/* Mutations of valid documents, from a fixed seed: the two must still agree on every one. */
/*
 * Strings are scanned 16 bytes at a time with escapes skipped inside a block: every kind of
 * escape and stop byte at every offset of strings around the block size, alone and in runs
 * (an escaped backslash before a quote, escapes straddling two blocks).
 */
Test(scan, string_blocks)
{
	static const char *const pieces[] = {
		"\\\"",	    "\\\\",    "\\/",
		"\\n",	    "\\u0041", "\\ud83d\\ude00",
		"\\x",	    "\\",      "\\\\\\\"",
		"\\\\\"",   "\"",      "\x01",
		"\xc3\xa9", "\xff",    "\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"",
	};
	char doc[256], body[160];

	for (size_t piece = 0; piece < ARRAY_SIZE(pieces); piece++) {
		for (size_t len = 0; len < 70; len++) {
			for (size_t at = 0; at <= len; at++) {
				memset(body, 'a', len);
				body[len] = 0;
				snprintf(doc, sizeof(doc), "{\"k\":\"%.*s%s%s\",\"z\":1}", (int)at,
					 body, pieces[piece], body + at);
				check_str(doc);
			}
		}
	}
}

/*
 * Which bytes a run of backslashes escapes is computed for 16 bytes at once: every pattern of
 * backslashes over a block, the other bytes an escape letter or a quote (escaped, or ending
 * the string early), at two alignments, against jansson.
 */
Test(scan, backslash_patterns)
{
	char doc[80];

	for (unsigned int pattern = 0; pattern < 1u << 16; pattern++) {
		for (int other = 0; other < 2; other++) {
			for (int shift = 0; shift < 2; shift++) {
				char *w = doc + sprintf(doc, "[\"%s", shift ? "abcdefg" : "");

				for (int i = 0; i < 16; i++)
					*w++ = pattern >> i & 1 ? '\\' : other ? '"' : 'n';
				strcpy(w, "nnnnnnnnnnnnnnnnnn\",1]");
				check_str(doc);
			}
		}
	}
}

static uint64_t rng(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* One of the table's accepted documents with one to three random edits, in buf (256 bytes). */
static size_t mutated(char *buf, uint64_t *seed)
{
	static const char alphabet[] = "{}[]:,\"\\/ u0123456789abcdefABCDEF.eE+-tfnlrsx\t\n\x7f\x80"
				       "\xbf\xc2\xe0\xed\xf0\xf4";
	const char *base = accepted[rng(seed) % ARRAY_SIZE(accepted)];
	size_t len = strlen(base) < 256 - 8 ? strlen(base) : 256 - 8;
	int edits = 1 + (int)(rng(seed) % 3);

	memcpy(buf, base, len);
	for (int e = 0; e < edits && len > 0; e++) {
		size_t at = rng(seed) % len;
		char c = alphabet[rng(seed) % (sizeof(alphabet) - 1)];

		switch (rng(seed) % 3) {
		case 0: /* replace */
			buf[at] = c;
			break;
		case 1: /* insert */
			memmove(buf + at + 1, buf + at, len - at);
			buf[at] = c;
			len++;
			break;
		default: /* delete */
			memmove(buf + at, buf + at + 1, len - at - 1);
			len--;
		}
	}
	return len;
}

Test(scan, mutations)
{
	char buf[256];
	uint64_t seed = 42;
	size_t yes = 0, no = 0;

	for (int round = 0; round < 60000; round++) {
		size_t len = mutated(buf, &seed);

		if (check_doc(buf, len))
			yes++;
		else
			no++;
	}
	/* Both sides of the line were explored. */
	cr_assert_gt(yes, 5000, "%zu accepted", yes);
	cr_assert_gt(no, 5000, "%zu refused", no);
}

/* --- compaction ------------------------------------------------------------------------------ */

/*
 * Compact len bytes of doc as the hook's detach does, fed in pieces of piece bytes with the
 * bytes each feed leaves carried over in front of the next; strings over keep bytes stand in.
 * Returns 0, or the feed's error.
 */
static long compact(const char *doc, size_t len, size_t keep, size_t piece,
		    struct nf_json_compact *c)
{
	char *win = malloc(piece + 16);
	size_t have = 0, off = 0;
	long used = 0;

	cr_assert_not_null(win);
	nf_json_compact_init(c, keep);
	for (;;) {
		size_t n = len - off < piece ? len - off : piece;

		memcpy(win + have, doc + off, n);
		off += n;
		have += n;
		used = nf_json_compact_feed(c, win, have, n == 0);
		if (used < 0)
			break;
		cr_assert_leq((size_t)used, have);
		cr_assert(n == 0 ? (size_t)used == have : have - (size_t)used < 12,
			  "%zu of %zu bytes left over", have - (size_t)used, have);
		have -= (size_t)used;
		memmove(win, win + used, have);
		if (n == 0)
			break;
	}
	free(win);
	return used < 0 ? used : 0;
}

/* Whether jansson reads buf, duplicate keys allowed: what compaction keeps whatever keep is. */
static bool jansson_reads(const char *buf, size_t len)
{
	json_t *j = json_loadb(buf, len, 0, NULL);

	json_decref(j);
	return j != NULL;
}

static const size_t pieces_tried[] = { 1, 2, 3, 7, 12, 16, 17, 33, 4096 };

/*
 * Every table document, compacted: with keep above the length of any of its strings the copy
 * is the document itself; with short keep, strings stand in, and the copy is JSON exactly when
 * the document is (duplicate keys aside: stand-ins of short keep make keys collide or differ).
 * A refused feed (a long string's content) means jansson refuses the document too.
 */
Test(compact, table)
{
	static const size_t keeps[] = { 0, 1, 3, 8, 64 };
	const char *docs[ARRAY_SIZE(accepted) + ARRAY_SIZE(refused)];
	struct nf_json_compact c;

	for (size_t i = 0; i < ARRAY_SIZE(accepted); i++)
		docs[i] = accepted[i];
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		docs[ARRAY_SIZE(accepted) + i] = refused[i];
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		size_t len = strlen(docs[i]);
		bool reads = jansson_reads(docs[i], len);

		for (size_t k = 0; k < ARRAY_SIZE(keeps); k++) {
			for (size_t p = 0; p < ARRAY_SIZE(pieces_tried); p++) {
				long r = compact(docs[i], len, keeps[k], pieces_tried[p], &c);

				if (r == -EINVAL) {
					cr_assert_not(reads, "keep %zu, pieces of %zu: %s refused",
						      keeps[k], pieces_tried[p], docs[i]);
				} else {
					cr_assert_eq(r, 0);
					cr_assert_eq(
						jansson_reads(c.out ? c.out : "", c.len), reads,
						"keep %zu, pieces of %zu: %s became %.*s", keeps[k],
						pieces_tried[p], docs[i], (int)c.len, c.out);
					if (keeps[k] >= len)
						cr_assert(c.len == len &&
								  !memcmp(c.out, docs[i], len),
							  "%s changed", docs[i]);
				}
				nf_json_compact_free(&c);
			}
		}
	}
}

/*
 * A state with a long escaped policy, as runtimes send at poststop: the short strings are kept,
 * the policy stands in with its length, and the copy scans to the same id and status, in
 * pieces of every size up to 40 bytes (escapes and UTF-8 sequences cut at every place).
 */
Test(compact, long_string_stands_in)
{
	static const char filler[] =
		"{\\\"v\\\":1,\\\"r\\\":[\\\"\\u00e9\xc3\xa9\\ud83d\\ude00\\\\\\\"]}";
	char doc[4096], *w = doc, want[128];
	struct nf_json_compact c;
	struct nf_json_scan_doc d;
	size_t body;

	w += sprintf(w, "{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"stopped\","
			"\"annotations\":{\"io.netfence.policy\":\"");
	body = (size_t)(w - doc);
	for (int i = 0; i < 40; i++)
		w += sprintf(w, "%s", filler);
	body = (size_t)(w - doc) - body;
	w += sprintf(w, "\"}}");
	cr_assert(check_str(doc));
	snprintf(want, sizeof(want), "(a string of %zu bytes, ", body);
	for (size_t piece = 1; piece <= 40; piece++) {
		cr_assert_eq(compact(doc, (size_t)(w - doc), 32, piece, &c), 0, "pieces of %zu",
			     piece);
		cr_assert_eq(nf_json_scan(c.out, c.len, 1, &d, NULL), 0, "%.*s", (int)c.len, c.out);
		cr_assert_eq(d.n, 4);
		cr_assert(nf_json_scan_streq(&d.m[1].val, "c1"));
		cr_assert(nf_json_scan_streq(&d.m[2].val, "stopped"));
		cr_assert_not_null(memmem(c.out, c.len, want, strlen(want)), "%.*s", (int)c.len,
				   c.out);
		cr_assert_lt(c.len, 200);
		nf_json_scan_free(&d);
		nf_json_compact_free(&c);
	}
}

/* A long string's bad content is refused where it is, whichever piece it falls in. */
Test(compact, bad_content_found)
{
	static const char *const bad[] = {
		"\\x",	   "\x01",	   "\\ud800\\u0041", "\xc0\xaf",
		"\\u0000", "\xed\xa0\x80", "\\udc00",	     "\xf5\x80\x80\x80"
	};
	char doc[512];
	struct nf_json_compact c;

	for (size_t b = 0; b < ARRAY_SIZE(bad); b++) {
		for (size_t at = 0; at < 80; at += 7) {
			int n = snprintf(
				doc, sizeof(doc), "{\"id\":\"c1\",\"a\":\"%.*s%s%s\"}", (int)at,
				"\\\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				bad[b], "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
			size_t where = strlen("{\"id\":\"c1\",\"a\":\"") + at;

			/* A cut "\\\"" prefix would end in a lone backslash: keep whole escapes. */
			if (at % 2 == 1)
				continue;
			cr_assert_not(check_str(doc), "%s", doc);
			for (size_t p = 0; p < ARRAY_SIZE(pieces_tried); p++) {
				cr_assert_eq(compact(doc, (size_t)n, 4, pieces_tried[p], &c),
					     -EINVAL, "pieces of %zu: %s", pieces_tried[p], doc);
				cr_assert_eq(c.bad_at, where, "pieces of %zu: %s at %zu, not %zu",
					     pieces_tried[p], doc, c.bad_at, where);
				nf_json_compact_free(&c);
			}
		}
	}
}

/* Long keys: equal ones are duplicates still; ones of other lengths are not. */
Test(compact, long_keys)
{
	struct nf_json_compact c;
	static const char *const docs[] = {
		"{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1,"
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":2}",
		"{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1,"
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":2}",
		"{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1,"
		"\"baaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":2}",
	};
	static const bool ok[] = { false, true, true };

	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		cr_assert_eq(check_str(docs[i]), ok[i]);
		for (size_t p = 0; p < ARRAY_SIZE(pieces_tried); p++) {
			struct nf_json_scan_doc d;
			int r;

			cr_assert_eq(compact(docs[i], strlen(docs[i]), 16, pieces_tried[p], &c), 0);
			r = nf_json_scan(c.out, c.len, 1, &d, NULL);
			cr_assert_eq(r == 0, ok[i], "%.*s", (int)c.len, c.out);
			if (r == 0)
				nf_json_scan_free(&d);
			nf_json_compact_free(&c);
		}
	}
}

/* Random edits of the table's documents, compacted with random keep and pieces: the copy is
 * JSON exactly when the document is, duplicate keys aside. */
Test(compact, mutations)
{
	char buf[256];
	uint64_t seed = 7;
	size_t yes = 0, no = 0;
	struct nf_json_compact c;

	for (int round = 0; round < 40000; round++) {
		size_t len = mutated(buf, &seed);
		size_t keep = rng(&seed) % 10, piece = 1 + rng(&seed) % 40;
		long r;
		bool reads;

		reads = jansson_reads(buf, len);
		r = compact(buf, len, keep, piece, &c);
		if (r == -EINVAL)
			cr_assert_not(reads, "%.*s refused", (int)len, buf);
		else
			cr_assert_eq(jansson_reads(c.out ? c.out : "", c.len), reads,
				     "keep %zu, pieces of %zu: %.*s became %.*s", keep, piece,
				     (int)len, buf, (int)c.len, c.out);
		nf_json_compact_free(&c);
		reads ? yes++ : no++;
	}
	cr_assert_gt(yes, 3000, "%zu read", yes);
	cr_assert_gt(no, 3000, "%zu refused", no);
}

/* A refused document says where (line and column, from 1, in bytes) and why, in one line. */
Test(scan, syntax_errors)
{
	static const struct {
		const char *doc, *msg;
	} cases[] = {
		{ "", "invalid JSON at line 1, column 1: unexpected end of input" },
		{ "  \n 7", "invalid JSON at line 2, column 2: expected '{' or '['" },
		{ "{\"a\":1", "invalid JSON at line 1, column 7: unexpected end of input" },
		{ "{\"a\" 1}", "invalid JSON at line 1, column 6: expected ':'" },
		{ "{\"a\":1,}", "invalid JSON at line 1, column 8: expected a string key" },
		{ "[1 2]", "invalid JSON at line 1, column 4: expected ',' or ']'" },
		{ "{\"a\":1 \"b\":2}", "invalid JSON at line 1, column 8: expected ',' or '}'" },
		{ "[1]x", "invalid JSON at line 1, column 4: bytes after the document" },
		{ "[tru]", "invalid JSON at line 1, column 2: invalid literal" },
		{ "[01]", "invalid JSON at line 1, column 2: invalid number" },
		{ "[-]", "invalid JSON at line 1, column 2: invalid number" },
		{ "[x]", "invalid JSON at line 1, column 2: unexpected character" },
		{ "[99999999999999999999]", "invalid JSON at line 1, column 2: too big integer" },
		{ "[1e999]", "invalid JSON at line 1, column 2: real number overflow" },
		{ "[\"ab", "invalid JSON at line 1, column 2: unterminated string" },
		{ "[\"a\tb\"]", "invalid JSON at line 1, column 4: control character in a string" },
		{ "[\"a\\qb\"]", "invalid JSON at line 1, column 4: invalid escape" },
		{ "[\"\\u12x4\"]", "invalid JSON at line 1, column 3: invalid \\u escape" },
		{ "[\"\\u0000\"]", "invalid JSON at line 1, column 3: \\u0000 in a string" },
		{ "[\"\\udc00\"]",
		  "invalid JSON at line 1, column 3: unpaired surrogate in a \\u escape" },
		{ "[\"\\ud800x\"]",
		  "invalid JSON at line 1, column 3: unpaired surrogate in a \\u escape" },
		{ "[\"\xc3\x28\"]", "invalid JSON at line 1, column 3: invalid UTF-8" },
		{ "{\"a\":1,\n\"b\":2,\n \"a\":3}",
		  "invalid JSON at line 3, column 2: duplicate key 'a'" },
		{ "{\"k\\u0065y\":1,\"key\":2}",
		  "invalid JSON at line 1, column 15: duplicate key 'key'" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct nf_err err = { 0 };
		struct nf_json_scan_doc d;

		cr_assert_eq(nf_json_scan(cases[i].doc, strlen(cases[i].doc), 2, &d, &err), -EINVAL,
			     "%s", cases[i].doc);
		cr_expect_eq(err.code, -EINVAL);
		cr_expect_str_eq(err.msg, cases[i].msg, "%s: %s", cases[i].doc, err.msg);
	}
}

/* Past 2048 levels of nesting, and a NUL byte anywhere: named as such. */
Test(scan, syntax_errors_depth_and_nul)
{
	static const char nul[] = "{\"a\":\n[1,\0]}";
	struct nf_err err = { 0 };
	struct nf_json_scan_doc d;
	char deep[2100];

	memset(deep, '[', sizeof(deep));
	cr_assert_eq(nf_json_scan(deep, sizeof(deep), 2, &d, &err), -EINVAL);
	cr_expect_str_eq(err.msg,
			 "invalid JSON at line 1, column 2049: nested more than 2048 deep");
	cr_assert_eq(nf_json_scan(nul, sizeof(nul) - 1, 2, &d, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "invalid JSON at line 2, column 4: NUL byte");
}

/* A refused long string is placed by line and column, wherever the pieces end. */
Test(compact, bad_string_line_and_column)
{
	static const char doc[] =
		"{\n\"id\":\"c1\",\n\n  \"a\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaa\x01\"}";
	static const size_t pieces_tried[] = { 1, 3, 7, 64 };
	struct nf_json_compact c;

	for (size_t p = 0; p < ARRAY_SIZE(pieces_tried); p++) {
		cr_assert_eq(compact(doc, sizeof(doc) - 1, 4, pieces_tried[p], &c), -EINVAL);
		cr_expect_eq(c.line, 4, "pieces of %zu: line %zu", pieces_tried[p], c.line);
		cr_expect_eq(c.bad_at - c.line_at + 1, 36, "pieces of %zu: column %zu",
			     pieces_tried[p], c.bad_at - c.line_at + 1);
		nf_json_compact_free(&c);
	}
}
