// SPDX-License-Identifier: Apache-2.0
/* Host configuration: see config.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <jansson.h>

#include "config.h"
#include "json.h"
#include "log.h"
#include "util.h"

#define NAME_RULE "[a-z0-9][a-z0-9._-]{0,62}"

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
static int parse_path(struct nf_err *c, const char *ptr, const json_t *v, char **slot)
{
	const char *s, *p;
	char q[NF_QUOTE_BUF];
	size_t chars = 0;

	if (!json_is_string(v))
		return nf_json_type_error(c, ptr, v, "a string");
	s = json_string_value(v);
	if (s[0] != '/')
		return nf_err_set(c, -EINVAL, "%s: %s is not an absolute path", ptr,
				  nf_quote_str(q, s));
	for (p = s; *p; p++) {
		/* jansson guarantees UTF-8: count the bytes that start a character. */
		chars += ((unsigned char)*p & 0xc0) != 0x80;
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return nf_err_set(c, -EINVAL, "%s: %s contains a control character", ptr,
					  nf_quote_str(q, s));
	}
	if (chars > NF_CONFIG_PATH_CHARS)
		return nf_err_set(c, -EINVAL, "%s: %s is longer than %d characters", ptr,
				  nf_quote_str(q, s), NF_CONFIG_PATH_CHARS);
	for (p = s; (p = strstr(p, "/..")); p++)
		if (p[3] == '/' || p[3] == '\0')
			return nf_err_set(c, -EINVAL, "%s: %s has a '..' component", ptr,
					  nf_quote_str(q, s));
	return set_string(slot, s);
}

static int parse_bool(struct nf_err *c, const char *ptr, const json_t *v, bool *ret)
{
	if (!json_is_boolean(v))
		return nf_json_type_error(c, ptr, v, "a boolean");
	*ret = json_is_true(v);
	return 0;
}

static int parse_default_policy(struct nf_err *c, const json_t *v, char **slot)
{
	char q[NF_QUOTE_BUF];

	if (json_is_null(v))
		return set_string(slot, NULL);
	if (!json_is_string(v))
		return nf_json_type_error(c, "/default_policy", v, "a string or null");
	if (nf_policy_name_valid(json_string_value(v)) < 0)
		return nf_err_set(c, -EINVAL,
				  "/default_policy: %s is not a valid policy name (" NAME_RULE ")",
				  nf_quote_str(q, json_string_value(v)));
	return set_string(slot, json_string_value(v));
}

static int parse_fail_mode(struct nf_err *c, const json_t *v, int *ret)
{
	char q[NF_QUOTE_BUF];
	const char *s;

	if (!json_is_string(v))
		return nf_json_type_error(c, "/fail_mode", v, "a string");
	s = json_string_value(v);
	if (strcmp(s, "closed") == 0)
		*ret = NF_FAIL_CLOSED;
	else if (strcmp(s, "open") == 0)
		*ret = NF_FAIL_OPEN;
	else
		return nf_err_set(c, -EINVAL, "/fail_mode: %s is not one of 'closed', 'open'",
				  nf_quote_str(q, s));
	return 0;
}

static int parse_log_level(struct nf_err *c, const json_t *v, int *ret)
{
	char q[NF_QUOTE_BUF];
	int level;

	if (!json_is_string(v))
		return nf_json_type_error(c, "/log_level", v, "a string");
	level = nf_log_level_parse(json_string_value(v));
	if (level >= 0) {
		*ret = level;
		return 0;
	}
	return nf_err_set(c, -EINVAL,
			  "/log_level: %s is not one of 'error', 'warning', 'info', 'debug'",
			  nf_quote_str(q, json_string_value(v)));
}

/* An integer 0..NF_EVENTS_RATE_MAX, written as one: 100.0 and 1e2 are refused. */
static int parse_rate(struct nf_err *c, const json_t *v, unsigned int *ret)
{
	long long rate;
	int r;

	r = nf_json_get_int(c, "/events/rate_per_sec", v, 0, NF_EVENTS_RATE_MAX, &rate);
	if (r < 0)
		return r;
	*ret = rate;
	return 0;
}

static int parse_events(struct nf_err *c, const json_t *v, struct nf_config *cfg)
{
	char p[NF_QUOTE_BUF];
	const char *key;
	json_t *val;
	int r;

	if (!json_is_object(v))
		return nf_json_type_error(c, "/events", v, "an object");
	json_object_foreach((json_t *)v, key, val)
	{
		if (strcmp(key, "enabled") == 0)
			r = parse_bool(c, "/events/enabled", val, &cfg->events_enabled);
		else if (strcmp(key, "rate_per_sec") == 0)
			r = parse_rate(c, val, &cfg->events_rate_per_sec);
		else
			r = nf_err_set(c, -EINVAL, "/events: unknown field %s",
				       nf_quote_str(p, key));
		if (r < 0)
			return r;
	}
	return 0;
}

/* "runtimes": { "<name>": "/absolute/path", ... }, names as policy names. */
static int parse_runtimes(struct nf_err *c, const json_t *v, struct nf_config *cfg)
{
	char p[NF_JSON_PTR_MAX], q[NF_QUOTE_BUF];
	const char *key;
	json_t *val;
	int r;

	if (!json_is_object(v))
		return nf_json_type_error(c, "/runtimes", v, "an object");
	if (json_object_size(v) > NF_RUNTIMES_MAX)
		return nf_err_set(c, -EINVAL, "/runtimes: more than %d runtimes", NF_RUNTIMES_MAX);
	json_object_foreach((json_t *)v, key, val)
	{
		struct nf_runtime_path *rt = &cfg->runtimes[cfg->n_runtimes];

		nf_json_ptr_key(p, "/runtimes", key);
		if (nf_policy_name_valid(key) < 0)
			return nf_err_set(c, -EINVAL,
					  "%s: %s is not a valid runtime name (" NAME_RULE ")", p,
					  nf_quote_str(q, key));
		r = parse_path(c, p, val, &rt->path);
		if (r < 0)
			return r;
		r = set_string(&rt->name, key);
		if (r < 0)
			return r;
		cfg->n_runtimes++;
	}
	return 0;
}

static int parse_field(struct nf_err *c, const char *key, const json_t *v, struct nf_config *cfg)
{
	char p[NF_QUOTE_BUF];

	if (strcmp(key, "$schema") == 0)
		return json_is_string(v) ? 0 : nf_json_type_error(c, "/$schema", v, "a string");
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
	if (strcmp(key, "runtimes") == 0)
		return parse_runtimes(c, v, cfg);
	if (strcmp(key, "floor") == 0)
		return nf_floor_parse(c, v, &cfg->floor);
	if (strcmp(key, "fence_all") == 0)
		return parse_bool(c, "/fence_all", v, &cfg->fence_all);
	if (strcmp(key, "journal_socket") == 0)
		return parse_path(c, "/journal_socket", v, &cfg->journal_socket);
	if (strcmp(key, "log_file") == 0)
		return json_is_null(v) ? set_string(&cfg->log_file, NULL)
				       : parse_path(c, "/log_file", v, &cfg->log_file);
	return nf_err_set(c, -EINVAL, "(root): unknown field %s", nf_quote_str(p, key));
}

static int config_parse(struct nf_err *c, const char *buf, size_t len, struct nf_config *ret)
{
	struct nf_config cfg;
	const char *key;
	json_t *doc, *v;
	int r;

	r = nf_json_load_object(buf, len, NF_CONFIG_MAX, &doc, c);
	if (r < 0)
		return r;
	cfg = (struct nf_config){};
	r = nf_config_defaults(&cfg);
	if (r < 0) {
		json_decref(doc);
		return nf_err_nomem(c);
	}
	json_object_foreach(doc, key, v)
	{
		r = parse_field(c, key, v, &cfg);
		if (r < 0)
			break;
	}
	json_decref(doc);
	/* Fencing every container needs a policy for those without one. */
	if (r == 0 && cfg.fence_all && !cfg.default_policy)
		r = nf_err_set(c, -EINVAL,
			       "/fence_all: true needs a default_policy, the policy of containers "
			       "without a netfence annotation");
	if (r < 0) {
		nf_config_free(&cfg);
		return r == -ENOMEM ? nf_err_nomem(c) : r;
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
		.journal_socket = strdup(NF_DEFAULT_JOURNAL),
		.default_policy = NULL,
		.fail_mode = NF_FAIL_CLOSED,
		.log_level = LOG_INFO,
		.events_enabled = true,
		.events_rate_per_sec = NF_DEFAULT_EVENTS_RATE,
		.allow_removable_fence = false,
	};

	if (!d.bpffs_root || !d.state_dir || !d.policies_dir || !d.journal_socket) {
		nf_config_free(&d);
		return -ENOMEM;
	}
	nf_config_free(c);
	*c = d;
	return 0;
}

int nf_config_parse(const char *buf, size_t len, struct nf_config *c, struct nf_err *err)
{
	return config_parse(err, buf, len, c);
}

int nf_config_load(const char *path, bool must_exist, struct nf_config *c, struct nf_err *err)
{
	size_t len = 0;
	char *buf = NULL;
	int r;

	if (!path)
		path = NF_CONFIG_PATH;
	r = nf_read_regular_file(path, NF_CONFIG_MAX, &buf, &len);
	if (r == -ENOENT && !must_exist) {
		r = nf_config_defaults(c);
		return r < 0 ? nf_err_nomem(err) : 0;
	}
	if (r == -EFBIG)
		return nf_err_set(err, r, "more than %d bytes", NF_CONFIG_MAX);
	if (r == -EINVAL)
		return nf_err_set(err, r, "not a regular file");
	if (r < 0)
		return nf_err_set(err, r, "%s", strerror(-r));
	r = config_parse(err, buf, len, c);
	free(buf);
	return r;
}

void nf_config_free(struct nf_config *c)
{
	free(c->bpffs_root);
	free(c->state_dir);
	free(c->policies_dir);
	free(c->default_policy);
	free(c->journal_socket);
	free(c->log_file);
	for (size_t i = 0; i < NF_RUNTIMES_MAX; i++) {
		free(c->runtimes[i].name);
		free(c->runtimes[i].path);
	}
	nf_floor_free(&c->floor);
	memset(c, 0, sizeof(*c));
}

const char *nf_config_runtime(const struct nf_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_runtimes; i++)
		if (strcmp(c->runtimes[i].name, name) == 0)
			return c->runtimes[i].path;
	return NULL;
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
