// SPDX-License-Identifier: Apache-2.0
/* Tests for hook/config.c: the host configuration, and the fixtures it shares with the schema. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/stat.h>
#include <criterion/criterion.h>

#include "config.h"
#include "floor.h"
#include "policy.h"
#include "tmpdir.h"

#define FIXTURES      TEST_DATA "/config/"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NAME_RULE     "([a-z0-9][a-z0-9._-]{0,62})"

static void assert_defaults(const struct nf_config *c, const char *what)
{
	cr_assert_str_eq(c->bpffs_root, "/sys/fs/bpf/netfence", "%s", what);
	cr_assert_str_eq(c->state_dir, "/run/netfence", "%s", what);
	cr_assert_str_eq(c->policies_dir, "/etc/netfence/policies.d", "%s", what);
	cr_assert_null(c->default_policy, "%s", what);
	cr_assert_eq(c->fail_mode, NF_FAIL_CLOSED, "%s", what);
	cr_assert_eq(c->log_level, LOG_INFO, "%s", what);
	cr_assert(c->events_enabled, "%s", what);
	cr_assert_eq(c->events_rate_per_sec, 100, "%s", what);
	cr_assert(!c->allow_removable_fence, "%s", what);
}

Test(config, defaults)
{
	struct nf_config c = {};
	struct nf_err err = { 0 };

	cr_assert_eq(nf_config_defaults(&c), 0);
	assert_defaults(&c, "nf_config_defaults");
	nf_config_free(&c);
	cr_assert_null(c.bpffs_root, "freed and zeroed");
	nf_config_free(&c); /* twice is harmless */

	cr_assert_eq(nf_config_parse("{}", 2, &c, &err), 0, "%s", err.msg);
	assert_defaults(&c, "{}");
	nf_config_free(&c);
}

/* The host config the package and `make install` ship spells out the built-in defaults. */
Test(config, shipped_is_defaults)
{
	struct nf_config c = {};
	struct nf_err err = { 0 };

	cr_assert_eq(
		nf_config_load(TEST_DATA "/../../dist/etc/netfence/config.json", true, &c, &err), 0,
		"%s", err.msg);
	assert_defaults(&c, "dist/etc/netfence/config.json");
	cr_assert_eq(c.n_runtimes, 0);
	cr_assert(!nf_floor_active(&c.floor));
	cr_assert(!c.fence_all);
	nf_config_free(&c);
}

Test(config, every_field)
{
	static const char doc[] =
		"{\"$schema\":\"x\",\"bpffs_root\":\"/sys/fs/bpf/nf\",\"state_dir\":\"/run/nf\","
		"\"policies_dir\":\"/srv/"
		"p\",\"default_policy\":\"web-egress\",\"fail_mode\":\"open\","
		"\"log_level\":\"debug\",\"events\":{\"enabled\":false,\"rate_per_sec\":0},"
		"\"allow_removable_fence\":true}";
	struct nf_config c = {};
	struct nf_err err = { 0 };

	cr_assert_eq(nf_config_parse(doc, strlen(doc), &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.bpffs_root, "/sys/fs/bpf/nf");
	cr_assert_str_eq(c.state_dir, "/run/nf");
	cr_assert_str_eq(c.policies_dir, "/srv/p");
	cr_assert_str_eq(c.default_policy, "web-egress");
	cr_assert_eq(c.fail_mode, NF_FAIL_OPEN);
	cr_assert_eq(c.log_level, LOG_DEBUG);
	cr_assert(!c.events_enabled);
	cr_assert_eq(c.events_rate_per_sec, 0);
	cr_assert(c.allow_removable_fence);
	nf_config_free(&c);
}

struct field_case {
	const char *doc;
	int level;	    /* expected log_level, or -1 */
	long rate;	    /* expected events_rate_per_sec, or -1 */
	const char *policy; /* expected default_policy ("-": NULL) */
};

static const struct field_case field_cases[] = {
	{ "{\"log_level\":\"error\"}", LOG_ERR, -1, "-" },
	{ "{\"log_level\":\"warning\"}", LOG_WARNING, -1, "-" },
	{ "{\"log_level\":\"info\"}", LOG_INFO, -1, "-" },
	{ "{\"log_level\":\"debug\"}", LOG_DEBUG, -1, "-" },
	{ "{\"events\":{\"rate_per_sec\":1000000}}", -1, 1000000, "-" },
	{ "{\"events\":{\"rate_per_sec\":0}}", -1, 0, "-" },
	{ "{\"default_policy\":\"a\"}", -1, -1, "a" },
	{ "{\"default_policy\":null}", -1, -1, "-" },
};

Test(config, field_values)
{
	for (size_t i = 0; i < ARRAY_SIZE(field_cases); i++) {
		const struct field_case *f = &field_cases[i];
		struct nf_config c = {};
		struct nf_err err = { 0 };

		cr_assert_eq(nf_config_parse(f->doc, strlen(f->doc), &c, &err), 0, "%s: %s", f->doc,
			     err.msg);
		if (f->level >= 0)
			cr_assert_eq(c.log_level, f->level, "%s", f->doc);
		if (f->rate >= 0)
			cr_assert_eq(c.events_rate_per_sec, (unsigned long)f->rate, "%s", f->doc);
		if (strcmp(f->policy, "-") == 0)
			cr_assert_null(c.default_policy, "%s", f->doc);
		else
			cr_assert_str_eq(c.default_policy, f->policy, "%s", f->doc);
		nf_config_free(&c);
	}
}

/* Errors not covered by the fixtures: the parser's own limits. */
Test(config, limits)
{
	size_t len = NF_CONFIG_MAX + 1;
	struct nf_config c = { .state_dir = (char *)"untouched" };
	static const char nul[] = "{\"fail_mode\":\"open\"}\0";
	struct nf_err err = { 0 };
	char *buf = malloc(len);

	cr_assert_not_null(buf);
	memset(buf, ' ', len);
	buf[1] = '{';
	buf[len - 1] = '}';
	cr_assert_eq(nf_config_parse(buf, len, &c, &err), -EFBIG);
	cr_assert_str_eq(err.msg, "the document is 65537 bytes, more than the 65536 allowed");
	cr_assert_str_eq(c.state_dir, "untouched");
	cr_assert_eq(nf_config_parse(nul, sizeof(nul) - 1, &c, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "invalid JSON at line 1, column 21: NUL byte");
	cr_assert_str_eq(c.state_dir, "untouched");

	c = (struct nf_config){};
	cr_assert_eq(nf_config_parse(buf + 1, len - 1, &c, &err), 0, "%s", err.msg);
	free(buf);
	/* A NUL just past len is not part of the document. */
	cr_assert_eq(nf_config_parse(nul, sizeof(nul) - 2, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.fail_mode, NF_FAIL_OPEN);
	nf_config_free(&c);
}

Test(config, first_error_in_document_order)
{
	static const char doc[] = "{\"log_level\":\"loud\",\"zzz\":1,\"fail_mode\":2}";
	struct nf_config c = {};
	struct nf_err err = { 0 };

	cr_assert_eq(nf_config_parse(doc, strlen(doc), &c, &err), -EINVAL);
	cr_assert_str_eq(err.msg,
			 "/log_level: 'loud' is not one of 'error', 'warning', 'info', 'debug'");
}

Test(config, long_values_are_cut)
{
	struct nf_err err = { 0 };
	char doc[600], want[512];
	struct nf_config c = {};

	snprintf(doc, sizeof(doc), "{\"fail_mode\":\"%0300d\"}", 7);
	cr_assert_eq(nf_config_parse(doc, strlen(doc), &c, &err), -EINVAL);
	snprintf(want, sizeof(want),
		 "/fail_mode: '%0128d'... (300 bytes) is not one of "
		 "'closed', 'open'",
		 0);
	cr_assert_str_eq(err.msg, want);

	snprintf(doc, sizeof(doc), "{\"%0300d\":1}", 5);
	cr_assert_eq(nf_config_parse(doc, strlen(doc), &c, &err), -EINVAL);
	snprintf(want, sizeof(want), "(root): unknown field '%0128d'... (300 bytes)", 0);
	cr_assert_str_eq(err.msg, want);
}

/* The fixtures shared with tests/config_schema_check.py ------------------------------------ */

static char *read_all(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf;

	cr_assert_not_null(f, "%s: %m", path);
	buf = malloc(1 << 20);
	cr_assert_not_null(buf);
	*ret_len = fread(buf, 1, 1 << 20, f);
	cr_assert(!ferror(f), "%s", path);
	fclose(f);
	return buf;
}

/* Calls fn for every NAME.json in dir; returns how many. */
static int for_each_fixture(const char *dir, void (*fn)(const char *dir, const char *name))
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort), count = 0;

	cr_assert_geq(n, 0, "%s: %m", dir);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);

		if (len > 5 && strcmp(names[i]->d_name + len - 5, ".json") == 0) {
			fn(dir, names[i]->d_name);
			count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

static void check_valid(const char *dir, const char *name)
{
	struct nf_err err = { 0 };
	char path[PATH_MAX];
	struct nf_config c = {};
	size_t len;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf = read_all(path, &len);
	cr_expect_eq(nf_config_parse(buf, len, &c, &err), 0, "valid/%s: %s", name, err.msg);
	nf_config_free(&c);
	free(buf);
}

/* invalid/NAME.json must fail with the message in invalid/NAME.err. */
static void check_invalid(const char *dir, const char *name)
{
	struct nf_err err = { 0 };
	char path[PATH_MAX];
	struct nf_config c = { .state_dir = (char *)"untouched" };
	size_t len, want_len;
	char *buf, *want;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf = read_all(path, &len);
	r = nf_config_parse(buf, len, &c, &err);
	cr_expect_eq(r, -EINVAL, "invalid/%s: got %d", name, r);
	cr_expect_str_eq(c.state_dir, "untouched", "invalid/%s: output written", name);
	free(buf);

	snprintf(path, sizeof(path), "%s/%.*s.err", dir, (int)strlen(name) - 5, name);
	want = read_all(path, &want_len);
	cr_assert(want_len > 0 && want[want_len - 1] == '\n', "%s: one line", path);
	want[want_len - 1] = '\0';
	cr_expect_str_eq(err.msg, want, "invalid/%s", name);
	free(want);
}

Test(fixtures, valid)
{
	cr_assert_geq(for_each_fixture(FIXTURES "valid", check_valid), 10);
}

Test(fixtures, invalid)
{
	cr_assert_geq(for_each_fixture(FIXTURES "invalid", check_invalid), 30);
}

/* nf_config_load ---------------------------------------------------------------------------- */

static char dir[64]; /* "/tmp/netfence-test-config-XXXXXX" */

static void setup_dir(void)
{
	nf_test_mkdtemp(dir, sizeof(dir), "config");
}

static void teardown_dir(void)
{
	nf_test_rmtree(dir);
}

static const char *in_dir(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void write_file(const char *name, const char *content, size_t len)
{
	FILE *f = fopen(in_dir(name), "we");

	cr_assert_not_null(f, "%s: %m", in_dir(name));
	cr_assert_eq(fwrite(content, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

TestSuite(load, .init = setup_dir, .fini = teardown_dir);

Test(load, file)
{
	static const char doc[] = "{\"fail_mode\":\"open\",\"events\":{\"enabled\":false}}\n";
	struct nf_config c = {};
	struct nf_err err = { 0 };

	write_file("config.json", doc, strlen(doc));
	cr_assert_eq(nf_config_load(in_dir("config.json"), true, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.fail_mode, NF_FAIL_OPEN);
	cr_assert(!c.events_enabled);
	cr_assert_str_eq(c.state_dir, NF_DEFAULT_STATE_DIR);
	nf_config_free(&c);
}

Test(load, missing_file)
{
	struct nf_config c = {};
	struct nf_err err = { 0 };

	cr_assert_eq(nf_config_load(in_dir("none.json"), false, &c, &err), 0, "%s", err.msg);
	assert_defaults(&c, "missing, optional");
	nf_config_free(&c);

	c.state_dir = (char *)"untouched";
	cr_assert_eq(nf_config_load(in_dir("none.json"), true, &c, &err), -ENOENT);
	cr_assert_str_eq(err.msg, "No such file or directory");
	cr_assert_str_eq(c.state_dir, "untouched");
}

Test(load, errors)
{
	struct nf_config c = { .state_dir = (char *)"untouched" };
	struct nf_err err = { 0 };
	char *big;

	/* Only a missing file is optional: anything else wrong with it is an error. */
	write_file("bad.json", "{\"fail_mode\":\"shut\"}", 20);
	cr_assert_eq(nf_config_load(in_dir("bad.json"), false, &c, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "/fail_mode: 'shut' is not one of 'closed', 'open'");

	big = malloc(NF_CONFIG_MAX + 1);
	cr_assert_not_null(big);
	memset(big, ' ', NF_CONFIG_MAX + 1);
	write_file("big.json", big, NF_CONFIG_MAX + 1);
	free(big);
	cr_assert_eq(nf_config_load(in_dir("big.json"), false, &c, &err), -EFBIG);
	cr_assert_str_eq(err.msg, "more than 65536 bytes");

	cr_assert_eq(mkfifo(in_dir("fifo.json"), 0600), 0, "mkfifo: %m");
	cr_assert_eq(nf_config_load(in_dir("fifo.json"), false, &c, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "not a regular file");

	cr_assert_eq(nf_config_load(dir, false, &c, &err), -EISDIR);
	cr_assert_str_eq(err.msg, "Is a directory");

	cr_assert_str_eq(c.state_dir, "untouched");
}

/* Loading over a config frees the one it replaces (valgrind checks). */
Test(load, replaces)
{
	static const char doc[] = "{\"state_dir\":\"/run/a\",\"default_policy\":\"p\"}";
	struct nf_config c = {};
	struct nf_err err = { 0 };

	write_file("config.json", doc, strlen(doc));
	cr_assert_eq(nf_config_defaults(&c), 0);
	cr_assert_eq(nf_config_load(in_dir("config.json"), true, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.state_dir, "/run/a");
	cr_assert_eq(nf_config_load(in_dir("none.json"), false, &c, &err), 0, "%s", err.msg);
	assert_defaults(&c, "reloaded");
	cr_assert_eq(nf_config_parse(doc, strlen(doc), &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.default_policy, "p");
	cr_assert_eq(nf_config_defaults(&c), 0);
	assert_defaults(&c, "defaults again");
	nf_config_free(&c);
}

/* Policy names ----------------------------------------------------------------------------- */

Test(policy_name, rule)
{
	static const char *const good[] = {
		"a",
		"0",
		"web-egress",
		"deny.all",
		"a_b",
		"a..",
		"0-0",
		"a.json",
		"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0", /* 63 */
	};
	static const char *const bad[] = {
		"",    ".",
		"..",  "-a",
		"_a",  ".a",
		"A",   "Web",
		"a/b", "../x",
		"a b", "a\n",
		"é",   "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01", /* 64 */
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		cr_assert_eq(nf_policy_name_valid(good[i]), 0, "'%s'", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		cr_assert_eq(nf_policy_name_valid(bad[i]), -EINVAL, "'%s'", bad[i]);
	cr_assert_eq(nf_policy_name_valid(NULL), -EINVAL);
}

Test(policy_name, in_config)
{
	static const char doc[] = "{\"default_policy\":\"../etc/shadow\"}";
	struct nf_config c = {};
	struct nf_err err = { 0 };

	cr_assert_eq(nf_config_parse(doc, strlen(doc), &c, &err), -EINVAL);
	cr_assert_str_eq(err.msg,
			 "/default_policy: '../etc/shadow' is not a valid policy name " NAME_RULE);
}

/* The host floor: deny rules only, parsed as policy rules, named by JSON pointer. */
Test(floor, parse)
{
	static const char doc[] = "{\"floor\":{\"rules\":[{\"action\":\"deny\",\"cidr\":"
				  "\"169.254.169.254\"}],\"raw_sockets\":\"deny\"},"
				  "\"default_policy\":\"base\",\"fence_all\":true}";
	static const char host_bits[] =
		"{\"floor\":{\"rules\":[{\"action\":\"deny\",\"cidr\":\"10.0.0.1/8\"}]}}";
	struct nf_config c = {};
	struct nf_err err = { 0 };

	cr_assert_eq(nf_config_parse(doc, strlen(doc), &c, &err), 0, "%s", err.msg);
	cr_assert(nf_floor_active(&c.floor));
	cr_assert_eq(c.floor.rules->nrules, 1);
	cr_assert(c.floor.raw_deny);
	cr_assert(c.fence_all);
	cr_assert_eq(nf_config_parse(host_bits, strlen(host_bits), &c, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "/floor/rules/0/cidr: '10.0.0.1/8' has host bits set");
	cr_assert(c.fence_all, "a failed parse leaves the config as it was");
	nf_config_free(&c);
	cr_assert_eq(nf_config_parse("{}", 2, &c, &err), 0, "%s", err.msg);
	cr_assert(!nf_floor_active(&c.floor));
	cr_assert(!c.fence_all);
	nf_config_free(&c);
}

static void parse_floor_config(struct nf_config *c, const char *doc)
{
	struct nf_err err = { 0 };

	cr_assert_eq(nf_config_parse(doc, strlen(doc), c, &err), 0, "%s", err.msg);
}

/*
 * A tenant's "default": "allow", and even its own allow rule for the address, cannot lift the
 * floor: the floor's deny rule is appended, and deny wins.
 */
Test(floor, apply_under_allow_policy)
{
	static const char tenant[] =
		"{\"version\":1,\"default\":\"allow\",\"rules\":[{\"action\":\"allow\","
		"\"cidr\":\"169.254.169.254\"}]}";
	struct nf_config c = {};
	struct nf_policy *p = NULL;
	struct nf_err err = { 0 };
	char source[128] = "annotation";
	char *text = strdup(tenant);
	size_t len = strlen(tenant);
	json_t *doc, *rules;

	parse_floor_config(&c, "{\"floor\":{\"rules\":[{\"action\":\"deny\",\"cidr\":"
			       "\"169.254.169.254\"}]}}");
	cr_assert_eq(nf_policy_parse(text, len, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(nf_floor_apply(&c.floor, p, &text, &len, source, sizeof(source), &err), 0,
		     "%s", err.msg);
	cr_assert_eq(p->nrules, 2);
	cr_assert_eq(p->rules[1].action, NF_ACTION_DENY);
	cr_assert_eq(p->rules[1].prefix.prefixlen, 32);
	cr_assert_eq(p->default_action, NF_ACTION_ALLOW, "the tenant's default stays");
	cr_assert_str_eq(source, "annotation+floor:rules[1..1]");
	/* The stored text is the policy enforced: the tenant's rule, then the floor's. */
	doc = json_loadb(text, len, 0, NULL);
	rules = json_object_get(doc, "rules");
	cr_assert_eq(json_array_size(rules), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rules, 1), "action")),
			 "deny");
	json_decref(doc);
	nf_policy_free(p);
	free(text);
	nf_config_free(&c);
}

/* Audit would let the floor's destinations, or its raw sockets, through: refused under either. */
Test(floor, audit_refused)
{
	static const char tenant[] = "{\"version\":1,\"mode\":\"audit\",\"default\":\"deny\","
				     "\"rules\":[]}";
	static const struct {
		const char *config, *why;
	} floors[] = {
		{ "{\"floor\":{\"rules\":[{\"action\":\"deny\",\"cidr\":\"any\","
		  "\"protocol\":\"udp\",\"ports\":[53]}]}}",
		  "the floor's denied destinations" },
		{ "{\"floor\":{\"raw_sockets\":\"deny\"}}", "the floor's raw sockets" },
	};

	for (size_t i = 0; i < sizeof(floors) / sizeof(floors[0]); i++) {
		struct nf_config c = {};
		struct nf_policy *p = NULL;
		struct nf_err err = { 0 };
		char source[128] = "file";
		char *text = strdup(tenant);
		size_t len = strlen(tenant);

		parse_floor_config(&c, floors[i].config);
		cr_assert_eq(nf_policy_parse(text, len, &p, &err), 0, "%s", err.msg);
		cr_assert_eq(nf_floor_apply(&c.floor, p, &text, &len, source, sizeof(source), &err),
			     -EPERM);
		cr_assert(strstr(err.msg, "/mode: 'audit' is refused under the host floor"), "%s",
			  err.msg);
		cr_assert(strstr(err.msg, floors[i].why), "%s", err.msg);
		cr_assert_eq(p->nrules, 0);
		nf_policy_free(p);
		free(text);
		nf_config_free(&c);
	}
}

/* raw_sockets deny alone: the tenant's raw_sockets is overridden, no rule is added. */
Test(floor, raw_sockets_only)
{
	static const char tenant[] = "{\"version\":1,\"default\":\"allow\",\"rules\":[],"
				     "\"raw_sockets\":\"allow\"}";
	struct nf_config c = {};
	struct nf_policy *p = NULL;
	struct nf_err err = { 0 };
	char source[128] = "annotation";
	char *text = strdup(tenant);
	size_t len = strlen(tenant);

	parse_floor_config(&c, "{\"floor\":{\"raw_sockets\":\"deny\"}}");
	cr_assert_eq(nf_policy_parse(text, len, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(nf_floor_apply(&c.floor, p, &text, &len, source, sizeof(source), &err), 0,
		     "%s", err.msg);
	cr_assert_eq(p->raw_sockets, NF_RAW_DENY);
	cr_assert_eq(p->nrules, 0);
	cr_assert_str_eq(source, "annotation+floor");
	cr_assert_str_eq(text, tenant, "no rule added: the text stays as written");
	nf_policy_free(p);
	free(text);
	nf_config_free(&c);
}
