// SPDX-License-Identifier: Apache-2.0
/* OCI state and bundle config.json: see oci.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>

#include "oci.h"
#include "util.h"

#define QUOTE_MAX  128		    /* characters of a quoted value shown in a message */
#define QUOTE_BUF  (QUOTE_MAX + 48) /* and the quotes, last escape, length note */
#define RENDER_MAX 64		    /* bytes of a JSON value shown in a type error */
#define PTR_MAX	   512		    /* bytes of a JSON pointer shown in a message */
#define KEY_MAX	   64		    /* bytes of one key in a JSON pointer */
#define ID_RULE	   "[A-Za-z0-9][A-Za-z0-9_.+-]*, at most 1024 bytes"

/* Where messages go, and what they start with. */
struct ctx {
	char *err;
	size_t errlen;
	const char *prefix;
};

static int fail(const struct ctx *c, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(const struct ctx *c, int r, const char *fmt, ...)
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

/* Append byte ch to buf at *o, escaped unless printable ASCII. buf has room for 4 more. */
static void put_escaped(char *buf, size_t *o, unsigned char ch, bool quoting)
{
	if (quoting && (ch == '\'' || ch == '\\')) {
		buf[(*o)++] = '\\';
		buf[(*o)++] = ch;
	} else if (ch == '\n') {
		*o += sprintf(buf + *o, "\\n");
	} else if (ch == '\t') {
		*o += sprintf(buf + *o, "\\t");
	} else if (ch < 0x20 || ch >= 0x7f) {
		*o += sprintf(buf + *o, "\\x%02x", ch);
	} else {
		buf[(*o)++] = ch;
	}
}

/* 'value' with quotes, backslashes and every byte outside printable ASCII escaped; cut once the
 * escaped text passes QUOTE_MAX characters, and then followed by the value's length. */
static const char *quote(char buf[static QUOTE_BUF], const char *s)
{
	size_t i, o = 0, len = strlen(s);

	buf[o++] = '\'';
	for (i = 0; i < len && o <= QUOTE_MAX; i++)
		put_escaped(buf, &o, s[i], true);
	buf[o++] = '\'';
	buf[o] = '\0';
	if (i < len)
		snprintf(buf + o, QUOTE_BUF - o, "... (%zu bytes)", len);
	return buf;
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

/* A JSON value as compact JSON, cut after RENDER_MAX bytes with "...". */
static const char *render(char buf[static RENDER_MAX * 4 + 8], const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
	size_t o = 0;

	if (!s)
		return type_name(v);
	for (size_t i = 0; s[i] && i < RENDER_MAX; i++)
		put_escaped(buf, &o, s[i], false);
	strcpy(buf + o, strlen(s) > RENDER_MAX ? "..." : "");
	free(s);
	return buf;
}

/* parent + "/" + key as a JSON pointer token (~0, ~1), non-printables escaped, long keys cut. */
static const char *ptr_key(char out[static PTR_MAX], const char *parent, const char *key)
{
	char tok[KEY_MAX * 4 + 8];
	size_t len = strlen(key), o = 0;

	for (size_t i = 0; i < len && i < KEY_MAX; i++) {
		if (key[i] == '~' || key[i] == '/') {
			tok[o++] = '~';
			tok[o++] = key[i] == '~' ? '0' : '1';
		} else {
			put_escaped(tok, &o, key[i], false);
		}
	}
	strcpy(tok + o, len > KEY_MAX ? "..." : "");
	if (snprintf(out, PTR_MAX, "%s/%s", parent, tok) >= PTR_MAX)
		strcpy(out + PTR_MAX - 4, "...");
	return out;
}

static const char *ptr_index(char out[static PTR_MAX], const char *parent, size_t i)
{
	if (snprintf(out, PTR_MAX, "%s/%zu", parent, i) >= PTR_MAX)
		strcpy(out + PTR_MAX - 4, "...");
	return out;
}

static int type_error(const struct ctx *c, const char *ptr, const json_t *v, const char *want)
{
	char buf[RENDER_MAX * 4 + 8];

	return fail(c, -EINVAL, "%s: %s is not %s", ptr[0] ? ptr : "document", render(buf, v),
		    want);
}

/* Map jansson's load errors to one line; the text it quotes is escaped. */
static int syntax_error(const struct ctx *c, const json_error_t *e)
{
	char text[sizeof(e->text) * 4];
	size_t o = 0;

	switch (json_error_code(e)) {
	case json_error_out_of_memory:
		return fail(c, -ENOMEM, "out of memory");
	case json_error_invalid_utf8:
		return fail(c, -EINVAL, "invalid UTF-8 at line %d, column %d", e->line, e->column);
	case json_error_null_character:
		return fail(c, -EINVAL, "\\u0000 in a string at line %d, column %d", e->line,
			    e->column);
	default:
		for (size_t i = 0; e->text[i] && o + 4 < sizeof(text); i++)
			put_escaped(text, &o, e->text[i], false);
		text[o] = '\0';
		return fail(c, -EINVAL, "invalid JSON at line %d, column %d: %s", e->line,
			    e->column, text);
	}
}

/* The top-level object of a document of at most max bytes; no NULs, no duplicate keys. */
static int load_object(const struct ctx *c, const char *buf, size_t len, size_t max, json_t **ret)
{
	json_error_t e;
	const char *nul;
	json_t *doc;

	if (len > max)
		return fail(c, -EFBIG, "document is %zu bytes, more than the %zu allowed", len,
			    max);
	nul = memchr(buf, '\0', len);
	if (nul)
		return fail(c, -EINVAL, "document holds a NUL byte at offset %zu",
			    (size_t)(nul - buf));
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
	if (!doc)
		return syntax_error(c, &e);
	if (!json_is_object(doc)) {
		type_error(c, "", doc, "an object");
		json_decref(doc);
		return -EINVAL;
	}
	*ret = doc;
	return 0;
}

/* A copy of string v, or a type error. NULL v is "missing" when required, else leaves *ret. */
static int get_string(const struct ctx *c, const char *ptr, const json_t *v, bool required,
		      char **ret)
{
	char *s;

	if (!v)
		return required ? fail(c, -EINVAL, "%s: missing", ptr) : 0;
	if (!json_is_string(v))
		return type_error(c, ptr, v, "a string");
	s = strdup(json_string_value(v));
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* An integer in min..max, written as one: 12.0 and 1e3 are reals to jansson, and to netfence. */
static int get_int(const struct ctx *c, const char *ptr, const json_t *v, long long min,
		   long long max, long long *ret)
{
	char buf[RENDER_MAX * 4 + 8];

	if (!json_is_integer(v))
		return type_error(c, ptr, v, "an integer");
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return fail(c, -EINVAL, "%s: %s is out of range (%lld..%lld)", ptr, render(buf, v),
			    min, max);
	*ret = json_integer_value(v);
	return 0;
}

static void annotations_free(struct nf_oci_annotations *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].key);
		free(a->v[i].value);
	}
	free(a->v);
	a->n = 0;
	a->v = NULL;
}

/* An object of strings, or null; *ret is filled as it goes and freed by the caller. */
static int get_annotations(const struct ctx *c, const char *ptr, const json_t *v,
			   struct nf_oci_annotations *ret)
{
	char p[PTR_MAX];
	const char *key;
	json_t *val;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return type_error(c, ptr, v, "an object");
	ret->v = calloc(json_object_size(v) ?: 1, sizeof(*ret->v));
	if (!ret->v)
		return -ENOMEM;
	json_object_foreach((json_t *)v, key, val)
	{
		struct nf_oci_annotation *a = &ret->v[ret->n];

		if (!json_is_string(val))
			return type_error(c, ptr_key(p, ptr, key), val, "a string");
		a->key = strdup(key);
		a->value = strdup(json_string_value(val));
		ret->n++;
		if (!a->key || !a->value)
			return -ENOMEM;
	}
	return 0;
}

const char *nf_oci_annotations_get(const struct nf_oci_annotations *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, key) == 0)
			return a->v[i].value;
	return NULL;
}

const char *nf_oci_annotation(const struct nf_oci_state *s, const char *key)
{
	return nf_oci_annotations_get(&s->annotations, key);
}

int nf_oci_id_valid(const char *id)
{
	size_t len;

	if (!id)
		return -EINVAL;
	len = strnlen(id, NF_OCI_ID_MAX + 1);
	if (len == 0 || len > NF_OCI_ID_MAX)
		return -EINVAL;
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char ch = id[i];
		bool alnum = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			     (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || !strchr("_.+-", ch)))
			return -EINVAL;
	}
	return 0;
}

void nf_oci_state_free(struct nf_oci_state *s)
{
	if (!s)
		return;
	free(s->oci_version);
	free(s->id);
	free(s->status);
	free(s->bundle);
	annotations_free(&s->annotations);
	free(s);
}

static int state_from_json(const struct ctx *c, const json_t *doc, struct nf_oci_state *s)
{
	char q[QUOTE_BUF];
	const json_t *pid;
	long long v = 0;
	int r;

	r = get_string(c, "/ociVersion", json_object_get(doc, "ociVersion"), false,
		       &s->oci_version);
	if (r < 0)
		return r;
	r = get_string(c, "/id", json_object_get(doc, "id"), true, &s->id);
	if (r < 0)
		return r;
	if (nf_oci_id_valid(s->id) < 0)
		return fail(c, -EINVAL, "/id: %s is not a valid container id (" ID_RULE ")",
			    quote(q, s->id));
	r = get_string(c, "/status", json_object_get(doc, "status"), true, &s->status);
	if (r < 0)
		return r;
	pid = json_object_get(doc, "pid");
	if (pid) {
		r = get_int(c, "/pid", pid, 0, INT_MAX, &v);
		if (r < 0)
			return r;
		s->pid = (int)v;
		s->has_pid = true;
	}
	r = get_string(c, "/bundle", json_object_get(doc, "bundle"), true, &s->bundle);
	if (r < 0)
		return r;
	return get_annotations(c, "/annotations", json_object_get(doc, "annotations"),
			       &s->annotations);
}

int nf_oci_state_parse(const char *buf, size_t len, struct nf_oci_state **ret, char *err,
		       size_t errlen)
{
	const struct ctx c = {err, errlen, ""};
	struct nf_oci_state *s;
	json_t *doc;
	int r;

	r = load_object(&c, buf, len, NF_OCI_STATE_MAX, &doc);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s) {
		json_decref(doc);
		return -ENOMEM;
	}
	r = state_from_json(&c, doc, s);
	json_decref(doc);
	if (r < 0) {
		nf_oci_state_free(s);
		return r == -ENOMEM ? fail(&c, r, "out of memory") : r;
	}
	*ret = s;
	return 0;
}

void nf_oci_config_free(struct nf_oci_config *c)
{
	if (!c)
		return;
	annotations_free(&c->annotations);
	for (size_t i = 0; i < c->n_caps; i++)
		free(c->caps[i]);
	free(c->caps);
	free(c->netns_path);
	free(c->userns_path);
	free(c);
}

/* process.capabilities: append every set's names to cfg->caps. */
static int get_caps(const struct ctx *c, const json_t *caps, struct nf_oci_config *cfg)
{
	static const char *const sets[] = {"bounding", "effective", "inheritable", "permitted",
					   "ambient"};
	char p[PTR_MAX], pi[PTR_MAX];
	size_t i, total = 0;
	json_t *set, *name;
	int r;

	if (!caps || json_is_null(caps))
		return 0;
	if (!json_is_object(caps))
		return type_error(c, "/process/capabilities", caps, "an object");
	cfg->has_capabilities = true;
	for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
		set = json_object_get(caps, sets[k]);
		ptr_key(p, "/process/capabilities", sets[k]);
		if (set && !json_is_null(set) && !json_is_array(set))
			return type_error(c, p, set, "an array");
		total += json_array_size(set);
	}
	cfg->caps = calloc(total ?: 1, sizeof(*cfg->caps));
	if (!cfg->caps)
		return -ENOMEM;
	for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
		ptr_key(p, "/process/capabilities", sets[k]);
		json_array_foreach(json_object_get(caps, sets[k]), i, name)
		{
			r = get_string(c, ptr_index(pi, p, i), name, true, &cfg->caps[cfg->n_caps]);
			if (r < 0)
				return r;
			cfg->n_caps++;
		}
	}
	return 0;
}

/* linux.namespaces: note the network and user entries. */
static int get_namespaces(const struct ctx *c, const json_t *nss, struct nf_oci_config *cfg)
{
	char p[PTR_MAX], pf[PTR_MAX], q[QUOTE_BUF];
	const json_t *ns, *t, *path;
	const char *type;
	char **ret_path;
	bool *has;
	size_t i;

	if (!nss || json_is_null(nss))
		return 0;
	if (!json_is_array(nss))
		return type_error(c, "/linux/namespaces", nss, "an array");
	json_array_foreach(nss, i, ns)
	{
		ptr_index(p, "/linux/namespaces", i);
		if (!json_is_object(ns))
			return type_error(c, p, ns, "an object");
		t = json_object_get(ns, "type");
		if (!t)
			return fail(c, -EINVAL, "%s: missing", ptr_key(pf, p, "type"));
		if (!json_is_string(t))
			return type_error(c, ptr_key(pf, p, "type"), t, "a string");
		path = json_object_get(ns, "path");
		if (path && !json_is_string(path))
			return type_error(c, ptr_key(pf, p, "path"), path, "a string");

		type = json_string_value(t);
		if (strcmp(type, "network") == 0) {
			has = &cfg->has_netns;
			ret_path = &cfg->netns_path;
		} else if (strcmp(type, "user") == 0) {
			has = &cfg->has_userns;
			ret_path = &cfg->userns_path;
		} else {
			continue;
		}
		if (*has)
			return fail(c, -EINVAL, "%s: second %s namespace", p, quote(q, type));
		*has = true;
		/* No path, or "" as runc reads it: a new namespace. */
		if (path && json_string_length(path) > 0) {
			*ret_path = strdup(json_string_value(path));
			if (!*ret_path)
				return -ENOMEM;
		}
	}
	return 0;
}

static int config_from_json(const struct ctx *c, const json_t *doc, struct nf_oci_config *cfg)
{
	const json_t *process, *linux_;
	int r;

	r = get_annotations(c, "/annotations", json_object_get(doc, "annotations"),
			    &cfg->annotations);
	if (r < 0)
		return r;
	process = json_object_get(doc, "process");
	if (process && !json_is_null(process)) {
		if (!json_is_object(process))
			return type_error(c, "/process", process, "an object");
		r = get_caps(c, json_object_get(process, "capabilities"), cfg);
		if (r < 0)
			return r;
	}
	linux_ = json_object_get(doc, "linux");
	if (linux_ && !json_is_null(linux_)) {
		if (!json_is_object(linux_))
			return type_error(c, "/linux", linux_, "an object");
		r = get_namespaces(c, json_object_get(linux_, "namespaces"), cfg);
		if (r < 0)
			return r;
	}
	return 0;
}

static int config_parse(const struct ctx *c, const char *buf, size_t len,
			struct nf_oci_config **ret)
{
	struct nf_oci_config *cfg;
	json_t *doc;
	int r;

	r = load_object(c, buf, len, NF_OCI_CONFIG_MAX, &doc);
	if (r < 0)
		return r;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		json_decref(doc);
		return fail(c, -ENOMEM, "out of memory");
	}
	r = config_from_json(c, doc, cfg);
	json_decref(doc);
	if (r < 0) {
		nf_oci_config_free(cfg);
		return r == -ENOMEM ? fail(c, r, "out of memory") : r;
	}
	*ret = cfg;
	return 0;
}

int nf_oci_config_parse(const char *buf, size_t len, struct nf_oci_config **ret, char *err,
			size_t errlen)
{
	const struct ctx c = {err, errlen, ""};

	return config_parse(&c, buf, len, ret);
}

/* Read a regular file of at most max bytes (-EFBIG if more, -EINVAL if not regular). O_NONBLOCK
 * so that a FIFO in its place cannot hang us before fstat() refuses it. */
static int read_regular_file(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	else
		r = nf_read_fd(fd, max, ret_buf, ret_len);
	close(fd);
	return r;
}

int nf_oci_config_load(const char *bundle, struct nf_oci_config **ret, char *err, size_t errlen)
{
	char q[QUOTE_BUF], prefix[QUOTE_BUF + 32], path[PATH_MAX];
	const struct ctx c = {err, errlen, prefix};
	size_t len = 0;
	char *buf = NULL;
	int r;

	snprintf(prefix, sizeof(prefix), "bundle %s: ", quote(q, bundle));
	if (bundle[0] != '/')
		return fail(&c, -EINVAL, "not an absolute path");
	if ((size_t)snprintf(path, sizeof(path), "%s/config.json", bundle) >= sizeof(path))
		return fail(&c, -ENAMETOOLONG, "path too long");
	r = read_regular_file(path, NF_OCI_CONFIG_MAX, &buf, &len);
	if (r == -EFBIG)
		return fail(&c, r, "config.json is more than %d bytes", NF_OCI_CONFIG_MAX);
	if (r == -EINVAL)
		return fail(&c, r, "config.json is not a regular file");
	if (r < 0)
		return fail(&c, r, "cannot read config.json: %s", strerror(-r));
	snprintf(prefix, sizeof(prefix), "bundle %s: config.json: ", q);
	r = config_parse(&c, buf, len, ret);
	free(buf);
	return r;
}

bool nf_oci_config_has_cap(const struct nf_oci_config *c, const char *cap)
{
	if (!c->has_capabilities)
		return true;
	for (size_t i = 0; i < c->n_caps; i++)
		if (strcasecmp(c->caps[i], cap) == 0)
			return true;
	return false;
}
