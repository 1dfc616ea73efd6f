/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the JSON readers share. The policy, the OCI state and config.json are read from the
 * scanner's spans (json_scan.h) against tables of field names; the host config from jansson's
 * tree. All of them word their messages one way (err.h): a value named by its RFC 6901 pointer,
 * "(root)" for the document itself, and shown as written, strings quoted:
 *   /rules/3/ports: expected an array, got 443
 *   /linux/namespaces/2: missing required field 'type'
 * Pure: no I/O, no globals.
 */
#ifndef NETFENCE_JSON_H
#define NETFENCE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "err.h"
#include "json_scan.h"

#define NF_JSON_PTR_MAX 512 /* bytes of a JSON pointer shown in a message */

/*
 * Where a value is: a chain of members and elements up to the document, kept on the stack and
 * turned into a pointer only when a message needs it (a valid policy of 16384 rules never does).
 */
struct nf_json_path {
	const struct nf_json_path *up; /* NULL: the document */
	const char *key;	       /* a member's name; NULL: element index of up */
	size_t index;
};

#define NF_JSON_KEY(up_, key_)	   (&(const struct nf_json_path){ (up_), (key_), 0 })
#define NF_JSON_INDEX(up_, index_) (&(const struct nf_json_path){ (up_), NULL, (index_) })

/* The pointer of at, "(root)" for the document; long pointers are cut. Returns buf. */
const char *nf_json_path_text(char buf[static NF_JSON_PTR_MAX], const struct nf_json_path *at);

/* "<pointer>: <message>"; returns -EINVAL. */
int nf_json_fail(struct nf_err *e, const struct nf_json_path *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "<pointer>: expected <want>, got <v as written>"; returns -EINVAL. */
int nf_json_type_fail(struct nf_err *e, const struct nf_json_path *at,
		      const struct nf_json_scan_span *v, const char *want);
/* v as it appears in a message: strings quoted, numbers and literals as written; buf holds
 * NF_QUOTE_BUF bytes (util.h). */
const char *nf_json_span_text(char *buf, const struct nf_json_scan_span *v);

/*
 * A field table: the members an object may have. A reader declares an enum of its fields and a
 * table indexed by it, and gets the values in an array of the enum's size:
 *   enum { F_ACTION, F_CIDR, F_NFIELDS };
 *   static const struct nf_json_field fields[] = { [F_ACTION] = { "action", true }, ... };
 *   _Static_assert(NF_ARRAY_SIZE(fields) == F_NFIELDS, "one entry per field");
 */
struct nf_json_field {
	const char *name;
	bool required;
};

#define NF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The members of object obj by table fields[0..n): vals[i] is fields[i]'s value (p NULL when
 * absent). A member not in the table is an error when strict and skipped otherwise; so is a
 * required field that is missing. obj must be an object (a recorded or walked span).
 */
int nf_json_read_object(const struct nf_json_scan_span *obj, const struct nf_json_field *fields,
			size_t n, bool strict, struct nf_json_scan_span *vals,
			const struct nf_json_path *at, struct nf_err *e);
/* The same for the recorded members of d whose parent is parent (NF_JSON_SCAN_TOP: the top). */
int nf_json_read_members(const struct nf_json_scan_doc *d, size_t parent,
			 const struct nf_json_field *fields, size_t n, bool strict,
			 struct nf_json_scan_span *vals, const struct nf_json_path *at,
			 struct nf_err *e);

/* String v as a new C string; -EINVAL (type error) or -ENOMEM. */
int nf_json_strdup(const struct nf_json_scan_span *v, const struct nf_json_path *at,
		   struct nf_err *e, char **ret);
/* Integer v in min..max. */
int nf_json_integer(const struct nf_json_scan_span *v, const struct nf_json_path *at, long long min,
		    long long max, struct nf_err *e, long long *ret);

/*
 * The host config's side, on jansson's tree: the same grammar, the pointer given as text.
 */
/* The top-level object of a document of at most max bytes, for the caller to json_decref();
 * syntax errors worded as the scanner words them. */
int nf_json_load_object(const char *buf, size_t len, size_t max, json_t **ret, struct nf_err *e);
/* "<ptr>: expected <want>, got <v>"; returns -EINVAL. */
int nf_json_type_error(struct nf_err *e, const char *ptr, const json_t *v, const char *want);
/* An integer in min..max, written as one: 12.0 and 1e3 are reals to jansson, and to netfence. */
int nf_json_get_int(struct nf_err *e, const char *ptr, const json_t *v, long long min,
		    long long max, long long *ret);
/* parent + "/" + key as a JSON pointer token (~0, ~1), non-printables escaped, long keys cut. */
const char *nf_json_ptr_key(char out[static NF_JSON_PTR_MAX], const char *parent, const char *key);

#endif
