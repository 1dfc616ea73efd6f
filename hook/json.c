// SPDX-License-Identifier: Apache-2.0
/* What the JSON readers share: see json.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

#define KEY_MAX	   64 /* bytes of one key in a JSON pointer */
#define NUMBER_MAX 64 /* bytes of a number shown in a message */

/* "/" and key as a pointer token (~0, ~1), non-printables escaped, cut after KEY_MAX bytes. */
static void put_token(char *out, size_t *o, size_t size, const char *key)
{
	size_t len = strlen(key);

	if (*o + 2 < size)
		out[(*o)++] = '/';
	for (size_t i = 0; i < len && i < KEY_MAX && *o + 8 < size; i++) {
		if (key[i] == '~' || key[i] == '/') {
			out[(*o)++] = '~';
			out[(*o)++] = key[i] == '~' ? '0' : '1';
		} else {
			nf_escape_byte(out, o, (unsigned char)key[i], false);
		}
	}
	if (len > KEY_MAX && *o + 4 < size)
		*o += (size_t)sprintf(out + *o, "...");
	out[*o] = '\0';
}

static void path_put(char *buf, size_t *o, const struct nf_json_path *at)
{
	char index[24];

	if (!at)
		return;
	path_put(buf, o, at->up);
	if (!at->key)
		snprintf(index, sizeof(index), "%zu", at->index);
	put_token(buf, o, NF_JSON_PTR_MAX, at->key ? at->key : index);
}

const char *nf_json_path_text(char buf[static NF_JSON_PTR_MAX], const struct nf_json_path *at)
{
	size_t o = 0;

	buf[0] = '\0';
	path_put(buf, &o, at);
	return o ? buf : "(root)";
}

static int vfail(struct nf_err *e, const char *ptr, const char *fmt, va_list ap)
{
	char msg[NF_ERR_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return nf_err_set(e, -EINVAL, "%s: %s", ptr, msg);
}

int nf_json_fail(struct nf_err *e, const struct nf_json_path *at, const char *fmt, ...)
{
	char ptr[NF_JSON_PTR_MAX];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(e, nf_json_path_text(ptr, at), fmt, ap);
	va_end(ap);
	return r;
}

const char *nf_json_span_text(char *buf, const struct nf_json_scan_span *v)
{
	char *s;

	switch (v->type) {
	case NF_JSON_SCAN_STRING:
		s = nf_json_scan_strdup(v);
		if (!s)
			return "a string";
		nf_quote_mem(buf, s, strlen(s));
		free(s);
		return buf;
	case NF_JSON_SCAN_ARRAY:
		return "an array";
	case NF_JSON_SCAN_OBJECT:
		return "an object";
	default:
		snprintf(buf, NF_QUOTE_BUF, "%.*s%s",
			 (int)(v->len < NUMBER_MAX ? v->len : NUMBER_MAX), v->p,
			 v->len > NUMBER_MAX ? "..." : "");
		return buf;
	}
}

int nf_json_type_fail(struct nf_err *e, const struct nf_json_path *at,
		      const struct nf_json_scan_span *v, const char *want)
{
	char q[NF_QUOTE_BUF];

	return nf_json_fail(e, at, "expected %s, got %s", want, nf_json_span_text(q, v));
}

/* Index of key in fields, or -1. Most names differ in their first byte: no strlen() then. */
static int field_index(const struct nf_json_scan_span *key, const struct nf_json_field *fields,
		       size_t n)
{
	char buf[KEY_MAX];

	/* Keys with escapes ("\u0063idr") are rare: compare their decoded text. */
	if (key->escaped && nf_json_scan_copy(key, buf, sizeof(buf)) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *name = fields[i].name;

		if (key->escaped ? strcmp(buf, name) == 0
				 : key->len && key->p[0] == name[0] && strlen(name) == key->len &&
					   memcmp(key->p, name, key->len) == 0)
			return (int)i;
	}
	return -1;
}

static int take(const struct nf_json_scan_span *key, const struct nf_json_scan_span *val,
		const struct nf_json_field *fields, size_t n, bool strict,
		struct nf_json_scan_span *vals, const struct nf_json_path *at, struct nf_err *e)
{
	char q[NF_QUOTE_BUF], *k;
	int i = field_index(key, fields, n);

	if (i >= 0) {
		vals[i] = *val;
		return 0;
	}
	if (!strict)
		return 0;
	k = nf_json_scan_strdup(key);
	if (!k)
		return nf_err_nomem(e);
	nf_quote_mem(q, k, strlen(k));
	free(k);
	return nf_json_fail(e, at, "unknown field %s", q);
}

static int check_required(const struct nf_json_field *fields, size_t n,
			  const struct nf_json_scan_span *vals, const struct nf_json_path *at,
			  struct nf_err *e)
{
	for (size_t i = 0; i < n; i++)
		if (fields[i].required && !vals[i].p)
			return nf_json_fail(e, at, "missing required field '%s'", fields[i].name);
	return 0;
}

int nf_json_read_object(const struct nf_json_scan_span *obj, const struct nf_json_field *fields,
			size_t n, bool strict, struct nf_json_scan_span *vals,
			const struct nf_json_path *at, struct nf_err *e)
{
	struct nf_json_scan_span k, v;
	struct nf_json_scan_iter it;
	int r;

	memset(vals, 0, n * sizeof(*vals));
	nf_json_scan_iter_init(&it, obj);
	while (nf_json_scan_iter_next(&it, &k, &v)) {
		r = take(&k, &v, fields, n, strict, vals, at, e);
		if (r < 0)
			return r;
	}
	return check_required(fields, n, vals, at, e);
}

int nf_json_read_members(const struct nf_json_scan_doc *d, size_t parent,
			 const struct nf_json_field *fields, size_t n, bool strict,
			 struct nf_json_scan_span *vals, const struct nf_json_path *at,
			 struct nf_err *e)
{
	int r;

	memset(vals, 0, n * sizeof(*vals));
	for (size_t i = 0; i < d->n; i++) {
		if (d->m[i].parent != parent)
			continue;
		r = take(&d->m[i].key, &d->m[i].val, fields, n, strict, vals, at, e);
		if (r < 0)
			return r;
	}
	return check_required(fields, n, vals, at, e);
}

int nf_json_strdup(const struct nf_json_scan_span *v, const struct nf_json_path *at,
		   struct nf_err *e, char **ret)
{
	if (v->type != NF_JSON_SCAN_STRING)
		return nf_json_type_fail(e, at, v, "a string");
	*ret = nf_json_scan_strdup(v);
	return *ret ? 0 : nf_err_nomem(e);
}

int nf_json_integer(const struct nf_json_scan_span *v, const struct nf_json_path *at, long long min,
		    long long max, struct nf_err *e, long long *ret)
{
	char q[NF_QUOTE_BUF];
	long long n;

	if (v->type != NF_JSON_SCAN_INTEGER)
		return nf_json_type_fail(e, at, v, "an integer");
	n = nf_json_scan_integer(v);
	if (n < min || n > max)
		return nf_json_fail(e, at, "%s is out of range %lld-%lld", nf_json_span_text(q, v),
				    min, max);
	*ret = n;
	return 0;
}

/* --- the host config's side, on jansson's tree -------------------------------------------- */

const char *nf_json_ptr_key(char out[static NF_JSON_PTR_MAX], const char *parent, const char *key)
{
	size_t o = (size_t)snprintf(out, NF_JSON_PTR_MAX, "%s", parent);

	put_token(out, &o, NF_JSON_PTR_MAX, key);
	return out;
}

/* v as it appears in a message, as nf_json_span_text() shows a span. */
static const char *value_text(char buf[static NF_QUOTE_BUF], const json_t *v)
{
	char *s;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return nf_quote_mem(buf, json_string_value(v), json_string_length(v));
	case JSON_ARRAY:
		return "an array";
	case JSON_OBJECT:
		return "an object";
	default:
		s = json_dumps(v, JSON_ENCODE_ANY);
		snprintf(buf, NF_QUOTE_BUF, "%.*s", NUMBER_MAX, s ? s : "a number");
		free(s);
		return buf;
	}
}

int nf_json_type_error(struct nf_err *e, const char *ptr, const json_t *v, const char *want)
{
	char q[NF_QUOTE_BUF];

	return nf_err_set(e, -EINVAL, "%s: expected %s, got %s", ptr[0] ? ptr : "(root)", want,
			  value_text(q, v));
}

int nf_json_load_object(const char *buf, size_t len, size_t max, json_t **ret, struct nf_err *e)
{
	struct nf_json_scan_doc d;
	json_t *doc;
	int r;

	if (len > max)
		return nf_err_set(e, -EFBIG, "the document is %zu bytes, more than the %zu allowed",
				  len, max);
	/* The scanner says what is wrong, and where, as for every other document. */
	r = nf_json_scan(buf, len, 0, &d, e);
	if (r < 0)
		return r;
	nf_json_scan_free(&d);
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (!doc)
		return nf_err_nomem(e);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return nf_err_set(e, -EINVAL, "(root): expected an object, got an array");
	}
	*ret = doc;
	return 0;
}

int nf_json_get_int(struct nf_err *e, const char *ptr, const json_t *v, long long min,
		    long long max, long long *ret)
{
	char q[NF_QUOTE_BUF];

	if (!json_is_integer(v))
		return nf_json_type_error(e, ptr, v, "an integer");
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return nf_err_set(e, -EINVAL, "%s: %s is out of range %lld-%lld", ptr,
				  value_text(q, v), min, max);
	*ret = json_integer_value(v);
	return 0;
}
