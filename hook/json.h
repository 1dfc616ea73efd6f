/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the strict JSON parsers (oci, config) share: one message per error, naming the field by
 * JSON pointer and showing the value as compact JSON, escaped and cut:
 *   /linux/namespaces/2/type: 3 is not a string
 * and the loading of a bounded document whose top level is an object, with no NUL byte, no
 * "\u0000", no invalid UTF-8 and no duplicate key. Pure: no I/O, no globals.
 */
#ifndef NETFENCE_JSON_H
#define NETFENCE_JSON_H

#include <stddef.h>
#include <jansson.h>

#define NF_JSON_RENDER_MAX 64 /* bytes of a JSON value shown in a type error */
#define NF_JSON_RENDER_BUF (NF_JSON_RENDER_MAX * 4 + 8)
#define NF_JSON_PTR_MAX	   512 /* bytes of a JSON pointer shown in a message */

/* Where messages go, and what they start with. */
struct nf_json_ctx {
	char *err;
	size_t errlen;
	const char *prefix;
};

/* Write prefix and message to c->err, if there is one; returns r. */
int nf_json_fail(const struct nf_json_ctx *c, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "<ptr>: <value> is not <want>" ("document" for the empty pointer); returns -EINVAL. */
int nf_json_type_error(const struct nf_json_ctx *c, const char *ptr, const json_t *v,
		       const char *want);

/* v as compact JSON, cut after NF_JSON_RENDER_MAX bytes with "..."; returns buf, or a type name
 * ("a string") when v cannot be dumped. */
const char *nf_json_render(char buf[static NF_JSON_RENDER_BUF], const json_t *v);

/* parent + "/" + key as a JSON pointer token (~0, ~1), non-printables escaped, long keys cut. */
const char *nf_json_ptr_key(char out[static NF_JSON_PTR_MAX], const char *parent, const char *key);
/* parent + "/" + i. */
const char *nf_json_ptr_index(char out[static NF_JSON_PTR_MAX], const char *parent, size_t i);

/* The top-level object of a document of at most max bytes, for the caller to json_decref(). */
int nf_json_load_object(const struct nf_json_ctx *c, const char *buf, size_t len, size_t max,
			json_t **ret);

/* An integer in min..max, written as one: 12.0 and 1e3 are reals to jansson, and to netfence. */
int nf_json_get_int(const struct nf_json_ctx *c, const char *ptr, const json_t *v, long long min,
		    long long max, long long *ret);

#endif
