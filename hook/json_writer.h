/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one writer of what netfence prints as JSON (list, show, gc, policy check, monitor, doctor,
 * version --json), in the shape of bpftool's json_writer: one call per name or value, the commas
 * and colons its own, output as compact as jansson's JSON_COMPACT. Strings are escaped as
 * jansson escapes them ("\"", "\\", \b \f \n \r \t, other control bytes \u00XX); valid UTF-8
 * passes through, and each byte that is not part of a valid UTF-8 sequence is written \u00XX
 * (the code point of that byte), so that whatever is printed is JSON. Stream errors are the
 * caller's to see (ferror()).
 */
#ifndef NETFENCE_JSON_WRITER_H
#define NETFENCE_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

struct nf_jsonw {
	FILE *f;
	bool sep; /* a value was written at this level: the next one takes a comma */
};

#define NF_JSONW_INIT(file) \
	{                   \
		.f = (file) \
	}

void nf_jsonw_start_object(struct nf_jsonw *w);
void nf_jsonw_end_object(struct nf_jsonw *w);
void nf_jsonw_start_array(struct nf_jsonw *w);
void nf_jsonw_end_array(struct nf_jsonw *w);
/* The name of the next member of an object. */
void nf_jsonw_name(struct nf_jsonw *w, const char *name);

/* s, or null for NULL. */
void nf_jsonw_string(struct nf_jsonw *w, const char *s);
void nf_jsonw_uint(struct nf_jsonw *w, uint64_t v);
void nf_jsonw_int(struct nf_jsonw *w, int64_t v);
void nf_jsonw_bool(struct nf_jsonw *w, bool v);
void nf_jsonw_null(struct nf_jsonw *w);
/* A jansson value, as it is (a document netfence keeps, such as a fence's policy). */
void nf_jsonw_json(struct nf_jsonw *w, const json_t *v);

/* A member, name and value. */
void nf_jsonw_string_field(struct nf_jsonw *w, const char *name, const char *s);
void nf_jsonw_uint_field(struct nf_jsonw *w, const char *name, uint64_t v);
void nf_jsonw_int_field(struct nf_jsonw *w, const char *name, int64_t v);
void nf_jsonw_bool_field(struct nf_jsonw *w, const char *name, bool v);

/* The newline after a top-level value, which is ready for the next. */
void nf_jsonw_end_line(struct nf_jsonw *w);

#endif
