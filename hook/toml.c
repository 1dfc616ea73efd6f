// SPDX-License-Identifier: Apache-2.0
/* The TOML subset reader: see toml.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml.h"

struct cursor {
	const char *p, *end;
	int line;
	struct nf_err *err;
};

static int fail(struct cursor *c, const char *what)
{
	return nf_err_set(c->err, -EINVAL, "line %d: %s", c->line, what);
}

static bool at_end(const struct cursor *c)
{
	return c->p >= c->end;
}

static void skip_blank(struct cursor *c)
{
	while (!at_end(c) && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* Blanks, newlines and comments: what may stand between the items of an array. */
static void skip_space(struct cursor *c)
{
	for (;;) {
		skip_blank(c);
		if (at_end(c))
			return;
		if (*c->p == '#') {
			while (!at_end(c) && *c->p != '\n')
				c->p++;
		} else if (*c->p == '\n') {
			c->line++;
			c->p++;
		} else if (*c->p == '\r') {
			c->p++;
		} else {
			return;
		}
	}
}

/* The rest of the line must be blank or a comment. */
static int end_of_line(struct cursor *c)
{
	skip_blank(c);
	if (!at_end(c) && *c->p == '#')
		while (!at_end(c) && *c->p != '\n')
			c->p++;
	if (!at_end(c) && *c->p == '\r')
		c->p++;
	if (at_end(c))
		return 0;
	if (*c->p != '\n')
		return fail(c, "unexpected text after the value");
	c->p++;
	c->line++;
	return 0;
}

/* A "basic" or 'literal' single-line string; escapes other than \" and \\ are kept as read. */
static int read_string(struct cursor *c, char **ret)
{
	char quote = *c->p++, *out, *o;

	out = o = malloc(c->end - c->p + 1);
	if (!out)
		return -ENOMEM;
	while (!at_end(c) && *c->p != quote && *c->p != '\n') {
		if (quote == '"' && *c->p == '\\' && c->p + 1 < c->end &&
		    (c->p[1] == '"' || c->p[1] == '\\'))
			c->p++;
		*o++ = *c->p++;
	}
	if (at_end(c) || *c->p != quote) {
		free(out);
		return fail(c, "unterminated string");
	}
	c->p++;
	*o = '\0';
	*ret = out;
	return 0;
}

static bool bare_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-';
}

/* key(.key)*, appended to path[*depth...]. */
static int read_key(struct cursor *c, char **path, size_t *depth)
{
	for (;;) {
		char *comp;
		int r;

		skip_blank(c);
		if (at_end(c))
			return fail(c, "a key is missing");
		if (*c->p == '"' || *c->p == '\'') {
			r = read_string(c, &comp);
			if (r < 0)
				return r;
		} else {
			const char *s = c->p;

			while (!at_end(c) && bare_char(*c->p))
				c->p++;
			if (c->p == s)
				return fail(c, "a key is missing");
			comp = strndup(s, c->p - s);
			if (!comp)
				return -ENOMEM;
		}
		if (*depth >= NF_TOML_DEPTH) {
			free(comp);
			return fail(c, "too many key components");
		}
		path[(*depth)++] = comp;
		skip_blank(c);
		if (at_end(c) || *c->p != '.')
			return 0;
		c->p++;
	}
}

/* Skip a value netfence does not read, to the end of its line at bracket depth 0. */
static int skip_other(struct cursor *c)
{
	int depth = 0;

	while (!at_end(c)) {
		char ch = *c->p;

		if (ch == '"' || ch == '\'') {
			bool triple = c->end - c->p >= 3 && c->p[1] == ch && c->p[2] == ch;

			if (triple) {
				const char close[4] = { ch, ch, ch, 0 };
				const char *e = memmem(c->p + 3, c->end - c->p - 3, close, 3);

				if (!e)
					return fail(c, "unterminated multi-line string");
				for (const char *q = c->p; q < e; q++)
					c->line += *q == '\n';
				c->p = e + 3;
				continue;
			}
			c->p++;
			while (!at_end(c) && *c->p != ch && *c->p != '\n')
				c->p += (ch == '"' && *c->p == '\\' && c->p + 1 < c->end) ? 2 : 1;
			if (at_end(c) || *c->p != ch)
				return fail(c, "unterminated string");
			c->p++;
			continue;
		}
		if (ch == '#') {
			while (!at_end(c) && *c->p != '\n')
				c->p++;
			continue;
		}
		if (ch == '\n' && depth <= 0)
			return 0;
		if (ch == '[' || ch == '{')
			depth++;
		else if (ch == ']' || ch == '}')
			depth--;
		else if (ch == '\n')
			c->line++;
		c->p++;
	}
	return depth > 0 ? fail(c, "unterminated array or table") : 0;
}

static int read_array(struct cursor *c, struct nf_toml_entry *e)
{
	const char *start = c->p;
	int line = c->line, r;

	c->p++;
	for (;;) {
		char *s;

		skip_space(c);
		if (at_end(c))
			return fail(c, "unterminated array");
		if (*c->p == ']') {
			c->p++;
			return 0;
		}
		if ((*c->p == '"' || *c->p == '\'') &&
		    !(c->end - c->p >= 3 && c->p[1] == *c->p && c->p[2] == *c->p)) {
			char **v;

			r = read_string(c, &s);
			if (r < 0)
				return r;
			v = realloc(e->items, (e->n_items + 1) * sizeof(*v));
			if (!v) {
				free(s);
				return -ENOMEM;
			}
			e->items = v;
			e->items[e->n_items++] = s;
		} else if (*c->p == '[' || *c->p == '{' || *c->p == '"' || *c->p == '\'') {
			/* Nested arrays, inline tables, multi-line strings: not netfence's. */
			c->p = start;
			c->line = line;
			e->type = NF_TOML_OTHER;
			return skip_other(c);
		} else {
			while (!at_end(c) && !strchr(",]\n#", *c->p))
				c->p++;
		}
		skip_space(c);
		if (!at_end(c) && *c->p == ',')
			c->p++;
		else if (!at_end(c) && *c->p != ']')
			return fail(c, "expected ',' or ']' in an array");
	}
}

static int read_value(struct cursor *c, struct nf_toml_entry *e)
{
	const char *s;
	char *endp;

	skip_blank(c);
	s = c->p;
	if (at_end(c) || *c->p == '\n' || *c->p == '#')
		return fail(c, "a value is missing");
	if ((*s == '"' || *s == '\'') && !(c->end - s >= 3 && s[1] == *s && s[2] == *s)) {
		e->type = NF_TOML_STRING;
		return read_string(c, &e->str);
	}
	if (*s == '[') {
		e->type = NF_TOML_ARRAY;
		return read_array(c, e);
	}
	if (c->end - s >= 4 && strncmp(s, "true", 4) == 0 &&
	    (c->end - s == 4 || !bare_char(s[4]))) {
		e->type = NF_TOML_BOOL;
		e->b = true;
		c->p += 4;
		return 0;
	}
	if (c->end - s >= 5 && strncmp(s, "false", 5) == 0 &&
	    (c->end - s == 5 || !bare_char(s[5]))) {
		e->type = NF_TOML_BOOL;
		c->p += 5;
		return 0;
	}
	errno = 0;
	e->i = strtoll(s, &endp, 10);
	if (endp != s && errno == 0 && endp <= c->end &&
	    (endp == c->end || strchr(" \t\r\n#", *endp))) {
		e->type = NF_TOML_INT;
		c->p = endp;
		return 0;
	}
	e->type = NF_TOML_OTHER;
	return skip_other(c);
}

static void entry_free(struct nf_toml_entry *e)
{
	for (size_t i = 0; i < e->depth; i++)
		free(e->path[i]);
	for (size_t i = 0; i < e->n_items; i++)
		free(e->items[i]);
	free(e->items);
	free(e->str);
	memset(e, 0, sizeof(*e));
}

static void table_free(char **table, size_t *depth)
{
	for (size_t i = 0; i < *depth; i++)
		free(table[i]);
	*depth = 0;
}

static int read_header(struct cursor *c, char **table, size_t *depth)
{
	bool array = c->end - c->p >= 2 && c->p[1] == '[';
	int r;

	c->p += array ? 2 : 1;
	table_free(table, depth);
	r = read_key(c, table, depth);
	if (r < 0)
		return r;
	if (c->end - c->p < (array ? 2 : 1) || c->p[0] != ']' || (array && c->p[1] != ']'))
		return fail(c, "unterminated table header");
	c->p += array ? 2 : 1;
	return end_of_line(c);
}

static int read_pair(struct cursor *c, char **table, size_t depth, struct nf_toml *doc)
{
	struct nf_toml_entry e = { .line = c->line };
	int r;

	for (size_t i = 0; i < depth; i++) {
		e.path[i] = strdup(table[i]);
		if (!e.path[i]) {
			entry_free(&e);
			return -ENOMEM;
		}
		e.depth++;
	}
	r = read_key(c, e.path, &e.depth);
	if (r == 0 && (at_end(c) || *c->p != '='))
		r = fail(c, "expected '=' after the key");
	if (r == 0) {
		c->p++;
		r = read_value(c, &e);
	}
	if (r == 0)
		r = end_of_line(c);
	if (r == 0 && doc->n == doc->cap) {
		size_t cap = doc->cap ? doc->cap * 2 : 32;
		struct nf_toml_entry *v = realloc(doc->v, cap * sizeof(*v));

		if (!v)
			r = -ENOMEM;
		else
			doc->v = v, doc->cap = cap;
	}
	if (r < 0) {
		entry_free(&e);
		return r;
	}
	doc->v[doc->n++] = e;
	return 0;
}

int nf_toml_parse(const char *buf, size_t len, struct nf_toml *doc, struct nf_err *err)
{
	struct cursor c = { buf, buf + len, 1, err };
	char *table[NF_TOML_DEPTH] = {};
	size_t depth = 0;
	int r = 0;

	*doc = (struct nf_toml){};
	while (r == 0) {
		skip_space(&c);
		if (at_end(&c))
			break;
		if (*c.p == '[')
			r = read_header(&c, table, &depth);
		else
			r = read_pair(&c, table, depth, doc);
	}
	table_free(table, &depth);
	if (r == -ENOMEM)
		nf_err_nomem(err);
	if (r < 0)
		nf_toml_free(doc);
	return r;
}

void nf_toml_free(struct nf_toml *doc)
{
	for (size_t i = 0; i < doc->n; i++)
		entry_free(&doc->v[i]);
	free(doc->v);
	*doc = (struct nf_toml){};
}

bool nf_toml_has_prefix(const struct nf_toml_entry *e, const char *const *prefix)
{
	size_t i;

	for (i = 0; prefix[i]; i++)
		if (i >= e->depth || strcmp(e->path[i], prefix[i]) != 0)
			return false;
	return true;
}

const struct nf_toml_entry *nf_toml_get(const struct nf_toml *doc, const char *const *path)
{
	size_t n = 0;

	while (path[n])
		n++;
	for (size_t i = doc->n; i-- > 0;)
		if (doc->v[i].depth == n && nf_toml_has_prefix(&doc->v[i], path))
			return &doc->v[i];
	return NULL;
}
