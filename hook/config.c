// SPDX-License-Identifier: Apache-2.0
/* Host configuration: see config.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>

#include "config.h"
#include "util.h"

#define QUOTE_MAX  128		    /* characters of a quoted value shown in a message */
#define QUOTE_BUF  (QUOTE_MAX + 48) /* and the quotes, last escape, length note */
#define RENDER_MAX 64		    /* bytes of a JSON value shown in a type error */
#define PTR_MAX	   512		    /* bytes of a JSON pointer shown in a message */
#define KEY_MAX	   64		    /* bytes of one key in a JSON pointer */
#define NAME_RULE  "[a-z0-9][a-z0-9._-]{0,62}"

/* Where messages go, and what they start with. */
struct ctx {
	char *err;
	size_t errlen;
	const char *prefix;
};

static const struct {
	const char *name;
	int level;
} log_levels[] = {
    {"error", LOG_ERR},
    {"warning", LOG_WARNING},
    {"info", LOG_INFO},
    {"debug", LOG_DEBUG},
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

/* A JSON value as compact JSON, cut after RENDER_MAX bytes with "...". */
static const char *render(char buf[static RENDER_MAX * 4 + 8], const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
	size_t o = 0;

	if (!s)
		return "the value";
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

static int set_string(char **slot, const char *s)
{
	char *copy = NULL;

	if (s && !(copy = strdup(s)))
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

/* Absolute, at most NF_CONFIG_PATH_CHARS characters, no control character, no ".." component. */
static int parse_path(const struct ctx *c, const char *ptr, const json_t *v, char **slot)
{
	const char *s, *p;
	char q[QUOTE_BUF];
	size_t chars = 0;

	if (!json_is_string(v))
		return type_error(c, ptr, v, "a string");
	s = json_string_value(v);
	if (s[0] != '/')
		return fail(c, -EINVAL, "%s: %s is not an absolute path", ptr, quote(q, s));
	for (p = s; *p; p++) {
		/* jansson guarantees UTF-8: count the bytes that start a character. */
		chars += ((unsigned char)*p & 0xc0) != 0x80;
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(c, -EINVAL, "%s: %s contains a control character", ptr,
				    quote(q, s));
	}
	if (chars > NF_CONFIG_PATH_CHARS)
		return fail(c, -EINVAL, "%s: %s is longer than %d characters", ptr, quote(q, s),
			    NF_CONFIG_PATH_CHARS);
	for (p = s; (p = strstr(p, "/..")); p++)
		if (p[3] == '/' || p[3] == '\0')
			return fail(c, -EINVAL, "%s: %s has a '..' component", ptr, quote(q, s));
	return set_string(slot, s);
}

static int parse_bool(const struct ctx *c, const char *ptr, const json_t *v, bool *ret)
{
	if (!json_is_boolean(v))
		return type_error(c, ptr, v, "a boolean");
	*ret = json_is_true(v);
	return 0;
}

static int parse_default_policy(const struct ctx *c, const json_t *v, char **slot)
{
	char q[QUOTE_BUF];

	if (json_is_null(v))
		return set_string(slot, NULL);
	if (!json_is_string(v))
		return type_error(c, "/default_policy", v, "a string or null");
	if (nf_policy_name_valid(json_string_value(v)) < 0)
		return fail(c, -EINVAL,
			    "/default_policy: %s is not a valid policy name (" NAME_RULE ")",
			    quote(q, json_string_value(v)));
	return set_string(slot, json_string_value(v));
}

static int parse_fail_mode(const struct ctx *c, const json_t *v, int *ret)
{
	char q[QUOTE_BUF];
	const char *s;

	if (!json_is_string(v))
		return type_error(c, "/fail_mode", v, "a string");
	s = json_string_value(v);
	if (strcmp(s, "closed") == 0)
		*ret = NF_FAIL_CLOSED;
	else if (strcmp(s, "open") == 0)
		*ret = NF_FAIL_OPEN;
	else
		return fail(c, -EINVAL, "/fail_mode: %s is not one of 'closed', 'open'",
			    quote(q, s));
	return 0;
}

static int parse_log_level(const struct ctx *c, const json_t *v, int *ret)
{
	char q[QUOTE_BUF];

	if (!json_is_string(v))
		return type_error(c, "/log_level", v, "a string");
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (strcmp(json_string_value(v), log_levels[i].name) == 0) {
			*ret = log_levels[i].level;
			return 0;
		}
	}
	return fail(c, -EINVAL, "/log_level: %s is not one of 'error', 'warning', 'info', 'debug'",
		    quote(q, json_string_value(v)));
}

/* An integer 0..NF_EVENTS_RATE_MAX, written as one: 100.0 and 1e2 are refused. */
static int parse_rate(const struct ctx *c, const json_t *v, unsigned int *ret)
{
	const char *ptr = "/events/rate_per_sec";
	char buf[RENDER_MAX * 4 + 8];

	if (!json_is_integer(v))
		return type_error(c, ptr, v, "an integer");
	if (json_integer_value(v) < 0 || json_integer_value(v) > NF_EVENTS_RATE_MAX)
		return fail(c, -EINVAL, "%s: %s is out of range (0..%d)", ptr, render(buf, v),
			    NF_EVENTS_RATE_MAX);
	*ret = json_integer_value(v);
	return 0;
}

static int parse_events(const struct ctx *c, const json_t *v, struct nf_config *cfg)
{
	char p[PTR_MAX];
	const char *key;
	json_t *val;
	int r;

	if (!json_is_object(v))
		return type_error(c, "/events", v, "an object");
	json_object_foreach((json_t *)v, key, val)
	{
		if (strcmp(key, "enabled") == 0)
			r = parse_bool(c, "/events/enabled", val, &cfg->events_enabled);
		else if (strcmp(key, "rate_per_sec") == 0)
			r = parse_rate(c, val, &cfg->events_rate_per_sec);
		else
			r = fail(c, -EINVAL, "%s: unknown field", ptr_key(p, "/events", key));
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_field(const struct ctx *c, const char *key, const json_t *v, struct nf_config *cfg)
{
	char p[PTR_MAX];

	if (strcmp(key, "$schema") == 0)
		return json_is_string(v) ? 0 : type_error(c, "/$schema", v, "a string");
	if (strcmp(key, "bpffs_root") == 0)
		return parse_path(c, "/bpffs_root", v, &cfg->bpffs_root);
	if (strcmp(key, "state_dir") == 0)
		return parse_path(c, "/state_dir", v, &cfg->state_dir);
	if (strcmp(key, "policies_dir") == 0)
		return parse_path(c, "/policies_dir", v, &cfg->policies_dir);
	if (strcmp(key, "default_policy") == 0)
		return parse_default_policy(c, v, &cfg->default_policy);
	if (strcmp(key, "fail_mode") == 0)
		return parse_fail_mode(c, v, &cfg->fail_mode);
	if (strcmp(key, "log_level") == 0)
		return parse_log_level(c, v, &cfg->log_level);
	if (strcmp(key, "events") == 0)
		return parse_events(c, v, cfg);
	if (strcmp(key, "allow_removable_fence") == 0)
		return parse_bool(c, "/allow_removable_fence", v, &cfg->allow_removable_fence);
	return fail(c, -EINVAL, "%s: unknown field", ptr_key(p, "", key));
}

static int config_parse(const struct ctx *c, const char *buf, size_t len, struct nf_config *ret)
{
	struct nf_config cfg;
	const char *key, *nul;
	json_error_t e;
	json_t *doc, *v;
	int r;

	if (len > NF_CONFIG_MAX)
		return fail(c, -EFBIG, "document is %zu bytes, more than the %d allowed", len,
			    NF_CONFIG_MAX);
	nul = memchr(buf, '\0', len);
	if (nul)
		return fail(c, -EINVAL, "document holds a NUL byte at offset %zu",
			    (size_t)(nul - buf));
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
	if (!doc)
		return syntax_error(c, &e);
	if (!json_is_object(doc)) {
		r = type_error(c, "", doc, "an object");
		json_decref(doc);
		return r;
	}
	cfg = (struct nf_config){};
	r = nf_config_defaults(&cfg);
	if (r < 0) {
		json_decref(doc);
		return fail(c, r, "out of memory");
	}
	json_object_foreach(doc, key, v)
	{
		r = parse_field(c, key, v, &cfg);
		if (r < 0)
			break;
	}
	json_decref(doc);
	if (r < 0) {
		nf_config_free(&cfg);
		return r == -ENOMEM ? fail(c, r, "out of memory") : r;
	}
	nf_config_free(ret);
	*ret = cfg;
	return 0;
}

int nf_config_defaults(struct nf_config *c)
{
	struct nf_config d = {
	    .bpffs_root = strdup(NF_DEFAULT_BPFFS_ROOT),
	    .state_dir = strdup(NF_DEFAULT_STATE_DIR),
	    .policies_dir = strdup(NF_DEFAULT_POLICIES_DIR),
	    .default_policy = NULL,
	    .fail_mode = NF_FAIL_CLOSED,
	    .log_level = LOG_INFO,
	    .events_enabled = true,
	    .events_rate_per_sec = NF_DEFAULT_EVENTS_RATE,
	    .allow_removable_fence = false,
	};

	if (!d.bpffs_root || !d.state_dir || !d.policies_dir) {
		nf_config_free(&d);
		return -ENOMEM;
	}
	nf_config_free(c);
	*c = d;
	return 0;
}

int nf_config_parse(const char *buf, size_t len, struct nf_config *c, char *err, size_t errlen)
{
	const struct ctx ctx = {err, errlen, ""};

	return config_parse(&ctx, buf, len, c);
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

int nf_config_load(const char *path, bool must_exist, struct nf_config *c, char *err, size_t errlen)
{
	const struct ctx ctx = {err, errlen, ""};
	size_t len = 0;
	char *buf = NULL;
	int r;

	if (!path)
		path = NF_CONFIG_PATH;
	r = read_regular_file(path, NF_CONFIG_MAX, &buf, &len);
	if (r == -ENOENT && !must_exist) {
		r = nf_config_defaults(c);
		return r < 0 ? fail(&ctx, r, "out of memory") : 0;
	}
	if (r == -EFBIG)
		return fail(&ctx, r, "more than %d bytes", NF_CONFIG_MAX);
	if (r == -EINVAL)
		return fail(&ctx, r, "not a regular file");
	if (r < 0)
		return fail(&ctx, r, "%s", strerror(-r));
	r = config_parse(&ctx, buf, len, c);
	free(buf);
	return r;
}

void nf_config_free(struct nf_config *c)
{
	free(c->bpffs_root);
	free(c->state_dir);
	free(c->policies_dir);
	free(c->default_policy);
	memset(c, 0, sizeof(*c));
}

int nf_policy_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, 64);
	if (len == 0 || len > 63)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || !strchr("._-", ch)))
			return -EINVAL;
	}
	return 0;
}
