// SPDX-License-Identifier: Apache-2.0
#include <inttypes.h>
#include <stdlib.h>

#include "json_writer.h"

/* The length of the valid UTF-8 sequence at p (RFC 3629: no overlong form, no surrogate,
 * nothing past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static void put_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		const unsigned char *run = p;
		size_t n;

		/* Runs of bytes that go out as they are, in one write. */
		while (*p >= 0x20 && *p != '"' && *p != '\\' && (n = utf8_len(p)) > 0)
			p += n;
		fwrite(run, 1, (size_t)(p - run), f);
		if (!*p)
			break;
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default: /* another control byte, or a byte of no valid UTF-8 sequence */
			fprintf(f, "\\u%04X", *p);
		}
		p++;
	}
	fputc('"', f);
}

/* Before a value or a name: the comma, when something came before at this level. */
static void value_begin(struct nf_jsonw *w)
{
	if (w->sep)
		fputc(',', w->f);
	w->sep = true;
}

static void open_level(struct nf_jsonw *w, int c)
{
	value_begin(w);
	fputc(c, w->f);
	w->sep = false;
}

static void close_level(struct nf_jsonw *w, int c)
{
	fputc(c, w->f);
	w->sep = true;
}

void nf_jsonw_start_object(struct nf_jsonw *w)
{
	open_level(w, '{');
}

void nf_jsonw_end_object(struct nf_jsonw *w)
{
	close_level(w, '}');
}

void nf_jsonw_start_array(struct nf_jsonw *w)
{
	open_level(w, '[');
}

void nf_jsonw_end_array(struct nf_jsonw *w)
{
	close_level(w, ']');
}

void nf_jsonw_name(struct nf_jsonw *w, const char *name)
{
	value_begin(w);
	put_string(w->f, name);
	fputc(':', w->f);
	w->sep = false;
}

void nf_jsonw_string(struct nf_jsonw *w, const char *s)
{
	if (!s) {
		nf_jsonw_null(w);
		return;
	}
	value_begin(w);
	put_string(w->f, s);
}

void nf_jsonw_uint(struct nf_jsonw *w, uint64_t v)
{
	value_begin(w);
	fprintf(w->f, "%" PRIu64, v);
}

void nf_jsonw_int(struct nf_jsonw *w, int64_t v)
{
	value_begin(w);
	fprintf(w->f, "%" PRId64, v);
}

void nf_jsonw_bool(struct nf_jsonw *w, bool v)
{
	value_begin(w);
	fputs(v ? "true" : "false", w->f);
}

void nf_jsonw_null(struct nf_jsonw *w)
{
	value_begin(w);
	fputs("null", w->f);
}

void nf_jsonw_json(struct nf_jsonw *w, const json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		nf_jsonw_start_object(w);
		json_object_foreach((json_t *)v, key, m)
		{
			nf_jsonw_name(w, key);
			nf_jsonw_json(w, m);
		}
		nf_jsonw_end_object(w);
		break;
	case JSON_ARRAY:
		nf_jsonw_start_array(w);
		json_array_foreach(v, i, m) nf_jsonw_json(w, m);
		nf_jsonw_end_array(w);
		break;
	case JSON_STRING:
		nf_jsonw_string(w, json_string_value(v));
		break;
	case JSON_INTEGER:
		nf_jsonw_int(w, json_integer_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		nf_jsonw_bool(w, json_is_true(v));
		break;
	case JSON_REAL: {
		/* jansson's own spelling of a double, which round-trips */
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		value_begin(w);
		fputs(s ? s : "null", w->f);
		free(s);
		break;
	}
	default:
		nf_jsonw_null(w);
	}
}

void nf_jsonw_string_field(struct nf_jsonw *w, const char *name, const char *s)
{
	nf_jsonw_name(w, name);
	nf_jsonw_string(w, s);
}

void nf_jsonw_uint_field(struct nf_jsonw *w, const char *name, uint64_t v)
{
	nf_jsonw_name(w, name);
	nf_jsonw_uint(w, v);
}

void nf_jsonw_int_field(struct nf_jsonw *w, const char *name, int64_t v)
{
	nf_jsonw_name(w, name);
	nf_jsonw_int(w, v);
}

void nf_jsonw_bool_field(struct nf_jsonw *w, const char *name, bool v)
{
	nf_jsonw_name(w, name);
	nf_jsonw_bool(w, v);
}

void nf_jsonw_end_line(struct nf_jsonw *w)
{
	fputc('\n', w->f);
	w->sep = false;
}
