// SPDX-License-Identifier: Apache-2.0
/* Messages and loading shared by the strict JSON parsers: see json.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

#define KEY_MAX 64 /* bytes of one key in a JSON pointer */

int nf_json_fail(const struct nf_json_ctx *c, int r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || !c->errlen)
		return r;
	n = snprintf(c->err, c->errlen, "%s", c->prefix);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - n, fmt, ap);
		va_end(ap);
	}
	return r;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

const char *nf_json_render(char buf[static NF_JSON_RENDER_BUF], const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
	size_t o = 0;

	if (!s)
		return type_name(v);
	for (size_t i = 0; s[i] && i < NF_JSON_RENDER_MAX; i++)
		nf_escape_byte(buf, &o, s[i], false);
	strcpy(buf + o, strlen(s) > NF_JSON_RENDER_MAX ? "..." : "");
	free(s);
	return buf;
}

const char *nf_json_ptr_key(char out[static NF_JSON_PTR_MAX], const char *parent, const char *key)
{
	char tok[KEY_MAX * 4 + 8];
	size_t len = strlen(key), o = 0;

	for (size_t i = 0; i < len && i < KEY_MAX; i++) {
		if (key[i] == '~' || key[i] == '/') {
			tok[o++] = '~';
			tok[o++] = key[i] == '~' ? '0' : '1';
		} else {
			nf_escape_byte(tok, &o, key[i], false);
		}
	}
	strcpy(tok + o, len > KEY_MAX ? "..." : "");
	if (snprintf(out, NF_JSON_PTR_MAX, "%s/%s", parent, tok) >= NF_JSON_PTR_MAX)
		strcpy(out + NF_JSON_PTR_MAX - 4, "...");
	return out;
}

const char *nf_json_ptr_index(char out[static NF_JSON_PTR_MAX], const char *parent, size_t i)
{
	if (snprintf(out, NF_JSON_PTR_MAX, "%s/%zu", parent, i) >= NF_JSON_PTR_MAX)
		strcpy(out + NF_JSON_PTR_MAX - 4, "...");
	return out;
}

int nf_json_type_error(const struct nf_json_ctx *c, const char *ptr, const json_t *v,
		       const char *want)
{
	char buf[NF_JSON_RENDER_BUF];

	return nf_json_fail(c, -EINVAL, "%s: %s is not %s", ptr[0] ? ptr : "document",
			    nf_json_render(buf, v), want);
}

/* Map jansson's load errors to one line; the text it quotes is escaped. */
static int syntax_error(const struct nf_json_ctx *c, const json_error_t *e)
{
	char text[sizeof(e->text) * 4];
	size_t o = 0;

	switch (json_error_code(e)) {
	case json_error_out_of_memory:
		return nf_json_fail(c, -ENOMEM, "out of memory");
	case json_error_invalid_utf8:
		return nf_json_fail(c, -EINVAL, "invalid UTF-8 at line %d, column %d", e->line,
				    e->column);
	case json_error_null_character:
		return nf_json_fail(c, -EINVAL, "\\u0000 in a string at line %d, column %d",
				    e->line, e->column);
	default:
		for (size_t i = 0; e->text[i] && o + 4 < sizeof(text); i++)
			nf_escape_byte(text, &o, e->text[i], false);
		text[o] = '\0';
		return nf_json_fail(c, -EINVAL, "invalid JSON at line %d, column %d: %s", e->line,
				    e->column, text);
	}
}

int nf_json_load_object(const struct nf_json_ctx *c, const char *buf, size_t len, size_t max,
			json_t **ret)
{
	json_error_t e;
	const char *nul;
	json_t *doc;

	if (len > max)
		return nf_json_fail(c, -EFBIG, "document is %zu bytes, more than the %zu allowed",
				    len, max);
	nul = memchr(buf, '\0', len);
	if (nul)
		return nf_json_fail(c, -EINVAL, "document holds a NUL byte at offset %zu",
				    (size_t)(nul - buf));
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
	if (!doc)
		return syntax_error(c, &e);
	if (!json_is_object(doc)) {
		nf_json_type_error(c, "", doc, "an object");
		json_decref(doc);
		return -EINVAL;
	}
	*ret = doc;
	return 0;
}

int nf_json_get_int(const struct nf_json_ctx *c, const char *ptr, const json_t *v, long long min,
		    long long max, long long *ret)
{
	char buf[NF_JSON_RENDER_BUF];

	if (!json_is_integer(v))
		return nf_json_type_error(c, ptr, v, "an integer");
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return nf_json_fail(c, -EINVAL, "%s: %s is out of range (%lld..%lld)", ptr,
				    nf_json_render(buf, v), min, max);
	*ret = json_integer_value(v);
	return 0;
}
