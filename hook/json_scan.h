/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A strict JSON scanner: it decides whether a document is one that jansson's
 * json_loadb(JSON_REJECT_DUPLICATES) accepts, without building a tree, records where the
 * members of the top-level object are, and says where and why it refuses a document. The policy,
 * the OCI state and config.json are read with it: jansson's tree is dear on a 1 MB OCI state
 * that is almost all one escaped policy string; this reads it in blocks and keeps no tree
 * (BENCHMARKS.md). jansson, which accepts the same documents, is its oracle in the tests.
 *
 * Accepted exactly as jansson accepts (RFC 8259, plus jansson's limits): an object or an array at
 * the top level, surrounded by nothing but JSON whitespace; strings of valid UTF-8 (no overlong
 * forms, no surrogate code points, nothing past U+10FFFF) without control bytes, with the
 * escapes \" \\ \/ \b \f \n \r \t \uXXXX, where \u escapes of surrogates come in high-low pairs
 * and \u0000 is refused; numbers as RFC 8259 writes them, integers within long long and reals
 * within double; no duplicate key in any object; values nested at most 2048 deep (jansson's
 * JSON_PARSER_MAX_DEPTH, counted as jansson counts it: a value inside n containers is at depth
 * n + 1).
 *
 * One difference: jansson's lookahead takes a 0 byte for an empty buffer and skips a NUL right
 * after a number or a literal; the scanner refuses every NUL byte, as its callers do anyway.
 *
 * Pure: no I/O, no globals.
 */
#ifndef NETFENCE_JSON_SCAN_H
#define NETFENCE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define NF_JSON_SCAN_MAX_DEPTH 2048
#define NF_JSON_SCAN_TOP       ((size_t)-1) /* the parent of the top-level object's members */

enum nf_json_scan_type {
	NF_JSON_SCAN_NULL,
	NF_JSON_SCAN_FALSE,
	NF_JSON_SCAN_TRUE,
	NF_JSON_SCAN_INTEGER, /* no fraction, no exponent: a json_integer to jansson */
	NF_JSON_SCAN_REAL,
	NF_JSON_SCAN_STRING,
	NF_JSON_SCAN_ARRAY,
	NF_JSON_SCAN_OBJECT,
};

/* A value as written in the document. For a string, the bytes between the quotes. */
struct nf_json_scan_span {
	const char *p;
	size_t len;
	enum nf_json_scan_type type;
	bool escaped; /* a string holding a backslash: its text needs decoding */
};

struct nf_json_scan_member {
	size_t parent; /* NF_JSON_SCAN_TOP, or the index of the member whose value holds this one */
	struct nf_json_scan_span key, val;
};

/* The members of the top-level object, and with levels 2 of the objects directly in it. */
struct nf_json_scan_doc {
	enum nf_json_scan_type top; /* NF_JSON_SCAN_OBJECT or NF_JSON_SCAN_ARRAY */
	size_t n;
	struct nf_json_scan_member *m; /* in document order */
};

/*
 * Scan the len bytes of buf (need not be NUL-terminated). levels: 1 records the members of the
 * top-level object, 2 also the members of the objects that are its members' values. Returns 0
 * with *ret filled (free with nf_json_scan_free()), -EINVAL when jansson would refuse the
 * document ("invalid JSON at line L, column C: <reason>" in err, which may be NULL), or -ENOMEM.
 */
int nf_json_scan(const char *buf, size_t len, unsigned int levels, struct nf_json_scan_doc *ret,
		 struct nf_err *err);
void nf_json_scan_free(struct nf_json_scan_doc *d);

/* The decoded text of string s as a new NUL-terminated string (it holds no NUL), or NULL when
 * out of memory. */
char *nf_json_scan_strdup(const struct nf_json_scan_span *s);

/* Whether string s decodes to exactly str. */
bool nf_json_scan_streq(const struct nf_json_scan_span *s, const char *str);

/* The decoded text of string s into buf of size bytes, NUL-terminated: 0, or -ENOSPC when it
 * may not fit (s->len >= size), so that short values need no allocation. */
int nf_json_scan_copy(const struct nf_json_scan_span *s, char *buf, size_t size);

/* The value of integer s. */
long long nf_json_scan_integer(const struct nf_json_scan_span *s);

/*
 * A walk over the members of an object or the elements of an array, for values deeper than the
 * levels recorded. It trusts its input: c must be a container span of a document that
 * nf_json_scan() accepted (a recorded value, or one this walk returned), which it does not check
 * again; it only finds where each value ends. Values come back as nf_json_scan() records them.
 */
struct nf_json_scan_iter {
	const char *p, *end;
	bool object;
};

void nf_json_scan_iter_init(struct nf_json_scan_iter *it, const struct nf_json_scan_span *c);
/* The next member (key and value) or element (value only; key may be NULL); false after the
 * last one. */
bool nf_json_scan_iter_next(struct nf_json_scan_iter *it, struct nf_json_scan_span *key,
			    struct nf_json_scan_span *val);
/* The number of members or elements of container c (as for nf_json_scan_iter_init()). */
size_t nf_json_scan_count(const struct nf_json_scan_span *c);

/*
 * Compaction, for readers that need only a document's short strings: the hook's detach reads
 * the state's id and status, while runtimes send the annotations, a policy of up to a megabyte,
 * at poststop too. Fed the document in pieces, it keeps a copy in which each string longer than
 * keep bytes (between its quotes, as written) stands in as "(a string of N bytes, HASH)", HASH
 * that of its first keep bytes, and checks the long strings on the way as nf_json_scan() checks
 * strings: so the reader holds a few kilobytes rather than the document. nf_json_scan() accepts
 * the copy exactly when it accepts the document, but for duplicate keys longer than keep bytes
 * in one object: equal keys written differently ("a" and "\u0061") are not found, and keys as
 * long as each other that differ only after their first keep bytes are taken for duplicates.
 */
struct nf_json_compact {
	char *out; /* the copy, not NUL-terminated; len bytes */
	size_t len, cap;
	size_t keep;
	size_t fed;	/* bytes consumed so far */
	size_t bad_at;	/* after -EINVAL: the offset of the escape or byte refused */
	size_t line;	/* the line of the bytes consumed so far, from 1 */
	size_t line_at; /* the offset at which that line starts */
	size_t open;	/* the current string's opening quote, in out */
	size_t str_bytes;
	unsigned long long hash;
	bool in_string, long_string;
};

void nf_json_compact_init(struct nf_json_compact *c, size_t keep);
/*
 * Feed the next n bytes. Returns how many were consumed: all of them when last, otherwise all
 * but up to 11 bytes of an escape or UTF-8 sequence that may go on in the next piece, which the
 * caller hands over again in front of it. -EINVAL: a long string's content is refused
 * (c->bad_at says where, on line c->line starting at c->line_at); -ENOMEM.
 */
long nf_json_compact_feed(struct nf_json_compact *c, const char *buf, size_t n, bool last);
void nf_json_compact_free(struct nf_json_compact *c);

#endif
