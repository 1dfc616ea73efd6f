// SPDX-License-Identifier: Apache-2.0
/*
 * Tests for hook/policy.c: the policy document parser, prefixes and port ranges.
 *
 * The fixtures under tests/data/policies/ and the value lists tests/data/prefixes.txt and
 * ports.txt are shared with tests/schema_check.sh, which holds the JSON Schema to the same
 * classification: together they keep the schema and the parser in agreement.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfence.h"
#include "policy.h"
#include "policy_oracle.h"

#ifndef TEST_DATA
#define TEST_DATA "tests/data"
#endif

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	char *buf;
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json files of a fixture directory, sorted; returns the count. */
static size_t list_json(const char *dir, char ***ret)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	cr_assert_not_null(d, "cannot open %s", dir);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		cr_assert_not_null(names);
		cr_assert_neq(asprintf(&names[n++], "%s/%s", dir, e->d_name), -1);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	*ret = names;
	return n;
}

static int parse_str(const char *doc, struct nf_policy **p, struct nf_err *err)
{
	*p = NULL;
	err->msg[0] = '\0';
	return nf_policy_parse(doc, strlen(doc), p, err);
}

/* ---- fixtures: the same directories tests/schema_check.sh classifies ---------------------- */

TestSuite(fixtures);

Test(fixtures, valid)
{
	struct nf_err err = { 0 };
	char **files;
	size_t n = list_json(TEST_DATA "/policies/valid", &files);

	cr_assert_geq(n, 5);
	for (size_t i = 0; i < n; i++) {
		struct nf_policy *p = NULL;
		size_t len;
		char *buf = read_file(files[i], &len);

		err.msg[0] = '\0';
		cr_expect_eq(nf_policy_parse(buf, len, &p, &err), 0, "%s: %s", files[i], err.msg);
		nf_policy_free(p);
		free(buf);
		free(files[i]);
	}
	free(files);
}

/* Every document of dir is refused with the message in the .err file beside it. */
static void check_invalid_dir(const char *dir, size_t min)
{
	struct nf_err err = { 0 };
	char **files;
	size_t n = list_json(dir, &files);

	cr_assert_geq(n, min);
	for (size_t i = 0; i < n; i++) {
		struct nf_policy *p = NULL;
		size_t len, elen;
		char *buf = read_file(files[i], &len), *want, errpath[4096];

		snprintf(errpath, sizeof(errpath), "%.*s.err", (int)strlen(files[i]) - 5, files[i]);
		want = read_file(errpath, &elen);
		if (elen && want[elen - 1] == '\n')
			want[elen - 1] = '\0';
		err.msg[0] = '\0';
		cr_expect_eq(nf_policy_parse(buf, len, &p, &err), -EINVAL, "%s accepted", files[i]);
		cr_expect_null(p);
		cr_expect_str_eq(err.msg, want, "%s", files[i]);
		free(want);
		free(buf);
		free(files[i]);
	}
	free(files);
}

Test(fixtures, invalid)
{
	check_invalid_dir(TEST_DATA "/policies/invalid", 30);
}

Test(fixtures, invalid_semantic)
{
	check_invalid_dir(TEST_DATA "/policies/invalid-semantic", 3);
}

Test(fixtures, schema_examples)
{
	json_error_t jerr;
	json_t *schema = json_load_file(TEST_DATA "/../../schemas/policy.schema.json", 0, &jerr);
	json_t *examples, *ex;
	struct nf_err err = { 0 };
	size_t i;

	cr_assert_not_null(schema, "schema: %s", jerr.text);
	examples = json_object_get(schema, "examples");
	cr_assert(json_array_size(examples) >= 2);
	json_array_foreach(examples, i, ex)
	{
		struct nf_policy *p = NULL;

		err.msg[0] = '\0';
		char *text = json_dumps(ex, JSON_COMPACT);

		cr_expect_eq(nf_policy_parse(text, strlen(text), &p, &err), 0, "example %zu: %s", i,
			     err.msg);
		free(text);
		nf_policy_free(p);
	}
	json_decref(schema);
}

/* ---- parse errors, table-driven ----------------------------------------------------------- */

#define HEAD	"{\"version\":1,\"default\":\"deny\","
#define RULE(r) HEAD "\"rules\":[" r "]}"
#define R1	"{\"action\":\"allow\",\"cidr\":\"10.0.0.0/8\",\"ports\":[\"1-2\",3]},"
#define R10	R1 R1 R1 R1 R1 R1 R1 R1 R1 R1 /* ten valid rules: the next one is /rules/10 */

static const struct {
	const char *doc, *msg;
} bad_docs[] = {
	{ "{}", "(root): missing required field 'version'" },
	{ "null", "invalid JSON at line 1, column 1: expected '{' or '['" },
	{ "1", "invalid JSON at line 1, column 1: expected '{' or '['" },
	{ "1.5", "invalid JSON at line 1, column 1: expected '{' or '['" },
	{ "{\"foo\":1}", "(root): unknown field 'foo'" },
	{ "{\"a'b\\\\\":1}", "(root): unknown field 'a\\'b\\\\'" },
	{ "{\"version\":0,\"default\":\"deny\",\"rules\":[]}",
	  "/version: 0 is not a supported version (expected 1)" },
	{ "{\"version\":-1,\"default\":\"deny\",\"rules\":[]}",
	  "/version: -1 is not a supported version (expected 1)" },
	{ "{\"version\":true,\"default\":\"deny\",\"rules\":[]}",
	  "/version: expected an integer, got true" },
	{ "{\"version\":1e0,\"default\":\"deny\",\"rules\":[]}",
	  "/version: expected an integer, got 1e0" },
	{ HEAD "\"mode\":\"\",\"rules\":[]}", "/mode: '' is not one of 'enforce', 'audit'" },
	{ HEAD "\"mode\":[\"enforce\"],\"rules\":[]}", "/mode: expected a string, got an array" },
	{ HEAD "\"loopback\":\"ALLOW\",\"rules\":[]}",
	  "/loopback: 'ALLOW' is not one of 'allow', 'policy'" },
	{ HEAD "\"raw_sockets\":\"policy\",\"rules\":[]}",
	  "/raw_sockets: 'policy' is not one of 'allow', 'deny'" },
	{ HEAD "\"rules\":null}", "/rules: expected an array, got null" },
	{ RULE("[]"), "/rules/0: expected an object, got an array" },
	{ RULE("{}"), "/rules/0: missing required field 'action'" },
	{ RULE("{\"action\":\"allow\",\"cidr\":\"any\",\"port\":[1]}"),
	  "/rules/0: unknown field 'port'" },
	{ RULE("{\"action\":1,\"cidr\":\"any\"}"), "/rules/0/action: expected a string, got 1" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"protocol\":\"TCP\"}"),
	  "/rules/0/protocol: 'TCP' is not one of 'tcp', 'udp', 'any'" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"protocol\":null}"),
	  "/rules/0/protocol: expected a string, got null" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"\"}"), "/rules/0/cidr: '' is not a valid prefix" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"10.0.0.0/-1\"}"),
	  "/rules/0/cidr: '10.0.0.0/-1' is not a valid prefix" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"1.2.3.4/\"}"),
	  "/rules/0/cidr: '1.2.3.4/' is not a valid prefix" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"10.0.0\"}"),
	  "/rules/0/cidr: '10.0.0' is not a valid prefix" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"::/129\"}"),
	  "/rules/0/cidr: '::/129' is not a valid prefix" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\"},{\"action\":\"deny\",\"cidr\":\"192.168.1.1/"
	       "24\"}"),
	  "/rules/1/cidr: '192.168.1.1/24' has host bits set" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"::1/64\"}"),
	  "/rules/0/cidr: '::1/64' has host bits set" },
	{ RULE("{\"action\":\"deny\",\"cidr\":[\"any\"]}"),
	  "/rules/0/cidr: expected a string, got an array" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"\\t10.0.0.0/8\"}"),
	  "/rules/0/cidr: '\\t10.0.0.0/8' is not a valid prefix" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"a\\u0000b\"}"),
	  "invalid JSON at line 1, column 66: \\u0000 in a string" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[65536]}"),
	  "/rules/0/ports/0: 65536 is out of range 0-65535" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[9223372036854775807]}"),
	  "/rules/0/ports/0: 9223372036854775807 is out of range 0-65535" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[\"-1\"]}"),
	  "/rules/0/ports/0: '-1' is not a port 0-65535 or a range 'lo-hi' with lo <= hi" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[1,\"5-3\"]}"),
	  "/rules/0/ports/1: '5-3' is not a port 0-65535 or a range 'lo-hi' with lo <= hi" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[\"65535-65536\"]}"),
	  "/rules/0/ports/0: '65535-65536' is not a port 0-65535 or a range 'lo-hi' with lo <= "
	  "hi" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[\"a\"]}"),
	  "/rules/0/ports/0: 'a' is not a port 0-65535 or a range 'lo-hi' with lo <= hi" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[null]}"),
	  "/rules/0/ports/0: null is not a port number or a 'lo-hi' range" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[[1]]}"),
	  "/rules/0/ports/0: an array is not a port number or a 'lo-hi' range" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[1.5]}"),
	  "/rules/0/ports/0: 1.5 is not a port number or a 'lo-hi' range" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":{}}"),
	  "/rules/0/ports: expected an array, got an object" },
	{ RULE("{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[]}"),
	  "/rules/0/ports: must not be empty (leave \"ports\" out for every port)" },
	/* Pointers are built only on the error path: indexes past one digit, every field. */
	{ RULE(R10 "{\"action\":\"allow\",\"cidr\":\"any\",\"ports\":[1,2,3,4,5,6,7,8,9,10,"
		   "\"11-x\"]}"),
	  "/rules/10/ports/10: '11-x' is not a port 0-65535 or a range 'lo-hi' with lo <= hi" },
	{ RULE(R10 "{\"action\":\"permit\",\"cidr\":\"any\"}"),
	  "/rules/10/action: 'permit' is not one of 'allow', 'deny'" },
	{ RULE(R10 "{\"action\":\"deny\",\"cidr\":\"10.0.0.1/8\"}"),
	  "/rules/10/cidr: '10.0.0.1/8' has host bits set" },
	{ RULE(R10 "{\"action\":\"deny\",\"cidr\":\"any\",\"protocol\":\"icmp\"}"),
	  "/rules/10/protocol: 'icmp' is not one of 'tcp', 'udp', 'any'" },
	{ RULE(R10 "{\"action\":\"deny\"}"), "/rules/10: missing required field 'cidr'" },
	{ RULE(R10 "{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[true]}"),
	  "/rules/10/ports/0: true is not a port number or a 'lo-hi' range" },
	{ RULE(R10 "{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[-7]}"),
	  "/rules/10/ports/0: -7 is out of range 0-65535" },
	{ RULE(R10 "{\"action\":\"deny\",\"cidr\":\"any\",\"ports\":[\"a\\u0000b\"]}"),
	  "invalid JSON at line 1, column 651: \\u0000 in a string" },
	{ "{} {}", "invalid JSON at line 1, column 4: bytes after the document" },
	{ "{\"version\":1,\n\"default\":\"deny\",\n\"rules\":[],\n\"rules\":[]}",
	  "invalid JSON at line 4, column 1: duplicate key 'rules'" },
	{ "{\"version\":1,\"default\":\"d\xc3\"}",
	  "invalid JSON at line 1, column 26: invalid UTF-8" },
	{ "{\"version\":1,\"default\":\"d\x1b\"}",
	  "invalid JSON at line 1, column 26: control character in a string" },
};

Test(parse, errors)
{
	struct nf_err err = { 0 };
	struct nf_policy *p;
	size_t i;

	cr_assert_geq(sizeof(bad_docs) / sizeof(bad_docs[0]), 30);
	for (i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
		cr_expect_eq(parse_str(bad_docs[i].doc, &p, &err), -EINVAL, "accepted: %s",
			     bad_docs[i].doc);
		cr_expect_null(p);
		cr_expect_str_eq(err.msg, bad_docs[i].msg, "for %s\n  got  %s\n  want %s",
				 bad_docs[i].doc, err.msg, bad_docs[i].msg);
		nf_policy_free(p);
	}
}

/* A document of exactly len bytes: a valid policy padded with spaces. */
static char *padded_doc(size_t len)
{
	static const char doc[] = "{\"version\":1,\"default\":\"deny\",\"rules\":[]}";
	char *buf = malloc(len);

	cr_assert_not_null(buf);
	memset(buf, ' ', len);
	memcpy(buf, doc, sizeof(doc) - 1);
	return buf;
}

Test(parse, size_limit)
{
	struct nf_err err = { 0 };
	struct nf_policy *p = NULL;
	char *buf = padded_doc(NF_POLICY_MAX_BYTES + 1);

	cr_expect_eq(nf_policy_parse(buf, NF_POLICY_MAX_BYTES, &p, &err), 0, "%s", err.msg);
	nf_policy_free(p);
	p = NULL;
	cr_expect_eq(nf_policy_parse(buf, NF_POLICY_MAX_BYTES + 1, &p, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "the document is 1048577 bytes, more than the 1048576 allowed");
	cr_expect_null(p);
	free(buf);
}

static char *rules_doc(size_t n)
{
	static const char rule[] = "{\"action\":\"deny\",\"cidr\":\"any\"},";
	char *buf = malloc(64 + n * (sizeof(rule) - 1)), *c = buf;

	cr_assert_not_null(buf);
	c += sprintf(c, "{\"version\":1,\"default\":\"allow\",\"rules\":[");
	for (size_t i = 0; i < n; i++)
		c += sprintf(c, "%s", rule);
	strcpy(c - (n ? 1 : 0), "]}");
	return buf;
}

Test(parse, rule_limit)
{
	struct nf_err err = { 0 };
	struct nf_policy *p = NULL;
	char *buf = rules_doc(NF_POLICY_MAX_RULES);

	cr_expect_eq(parse_str(buf, &p, &err), 0, "%s", err.msg);
	cr_expect_eq(p->nrules, NF_POLICY_MAX_RULES);
	nf_policy_free(p);
	free(buf);
	buf = rules_doc(NF_POLICY_MAX_RULES + 1);
	cr_expect_eq(parse_str(buf, &p, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "/rules: 16385 rules, more than the 16384 allowed");
	free(buf);
}

Test(parse, fields)
{
	static const char doc[] =
		"{\"version\":1,\"mode\":\"audit\",\"default\":\"allow\",\"loopback\":\"policy\","
		"\"raw_sockets\":\"deny\",\"rules\":["
		"{\"action\":\"allow\",\"cidr\":\"10.0.0.0/8\",\"protocol\":\"tcp\","
		"\"ports\":[443,\"8000-8080\",\"0\",65535]},"
		"{\"action\":\"deny\",\"cidr\":\"any\",\"protocol\":\"udp\"},"
		"{\"action\":\"deny\",\"cidr\":\"2001:db8::/32\"},"
		"{\"action\":\"allow\",\"cidr\":\"::ffff:192.0.2.0/120\",\"protocol\":\"any\"}]}";
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	static const uint8_t v4[16] = { 192, 0, 2, 0 };
	struct nf_err err = { 0 };
	struct nf_policy *p;
	const struct nf_rule *r;

	cr_assert_eq(parse_str(doc, &p, &err), 0, "%s", err.msg);
	cr_expect_eq(p->version, 1);
	cr_expect_eq(p->mode, NF_MODE_AUDIT);
	cr_expect_eq(p->default_action, NF_ACTION_ALLOW);
	cr_expect_eq(p->loopback, NF_LOOPBACK_POLICY);
	cr_expect_eq(p->raw_sockets, NF_RAW_DENY);
	cr_assert_eq(p->nrules, 4);
	r = &p->rules[0];
	cr_expect_eq(r->action, NF_ACTION_ALLOW);
	cr_expect_eq(r->protocols, NF_PMASK_TCP);
	cr_expect_not(r->any);
	cr_expect_eq(r->prefix.family, 4);
	cr_expect_eq(r->prefix.prefixlen, 8);
	cr_expect_eq(r->prefix.addr[0], 10);
	cr_assert_eq(r->nports, 4);
	cr_expect(r->ports[0].lo == 443 && r->ports[0].hi == 443);
	cr_expect(r->ports[1].lo == 8000 && r->ports[1].hi == 8080);
	cr_expect(r->ports[2].lo == 0 && r->ports[2].hi == 0);
	cr_expect(r->ports[3].lo == 65535 && r->ports[3].hi == 65535);
	r = &p->rules[1];
	cr_expect(r->any && r->action == NF_ACTION_DENY && r->protocols == NF_PMASK_UDP);
	cr_expect_eq(r->nports, 0);
	r = &p->rules[2];
	cr_expect(r->prefix.family == 6 && r->prefix.prefixlen == 32);
	cr_expect_arr_eq(r->prefix.addr, v6, 16);
	cr_expect_eq(r->protocols, NF_PMASK_ANY);
	r = &p->rules[3];
	cr_expect(r->prefix.family == 4 && r->prefix.prefixlen == 24, "mapped prefix kept as IPv6");
	cr_expect_arr_eq(r->prefix.addr, v4, 16);
	nf_policy_free(p);
}

Test(parse, defaults)
{
	struct nf_err err = { 0 };
	struct nf_policy *p;

	cr_assert_eq(parse_str(RULE("{\"action\":\"allow\",\"cidr\":\"::1\"}"), &p, &err), 0);
	cr_expect_eq(p->mode, NF_MODE_ENFORCE);
	cr_expect_eq(p->default_action, NF_ACTION_DENY);
	cr_expect_eq(p->loopback, NF_LOOPBACK_UNSET);
	cr_expect_eq(p->raw_sockets, NF_RAW_UNSET);
	cr_expect_eq(p->rules[0].protocols, NF_PMASK_ANY);
	cr_expect_eq(p->rules[0].nports, 0);
	cr_expect_eq(p->rules[0].prefix.prefixlen, 128);
	nf_policy_free(p);
}

/* The parser reads exactly len bytes: no NUL terminator needed, nothing read beyond. */
Test(parse, length_bounded)
{
	static const char doc[] = "{\"version\":1,\"default\":\"deny\",\"rules\":[]}";
	char *buf = malloc(sizeof(doc) - 1);
	struct nf_err err = { 0 };
	struct nf_policy *p = NULL;

	memcpy(buf, doc, sizeof(doc) - 1);
	cr_expect_eq(nf_policy_parse(buf, sizeof(doc) - 1, &p, &err), 0, "%s", err.msg);
	nf_policy_free(p);
	free(buf);
	cr_expect_eq(nf_policy_parse("{\"version\":1,\"default\":\"deny\",\"rules\":[]}}",
				     sizeof(doc) - 1, &p, &err),
		     0);
	nf_policy_free(p);
}

Test(parse, no_error_object)
{
	struct nf_policy *p = NULL;

	cr_expect_eq(nf_policy_parse("{\"a\":1}", 7, &p, NULL), -EINVAL);
	cr_expect_eq(nf_policy_parse("{\"a\":", 5, &p, NULL), -EINVAL);
	cr_expect_null(p);
}

/* ---- resolve ------------------------------------------------------------------------------- */

Test(policy, resolve)
{
	static const struct {
		int loopback, raw, def;
		bool own_netns;
		int want_loopback, want_raw;
	} cases[] = {
		{ NF_LOOPBACK_UNSET, NF_RAW_UNSET, NF_ACTION_DENY, true, NF_LOOPBACK_ALLOW,
		  NF_RAW_DENY },
		{ NF_LOOPBACK_UNSET, NF_RAW_UNSET, NF_ACTION_ALLOW, false, NF_LOOPBACK_POLICY,
		  NF_RAW_ALLOW },
		{ NF_LOOPBACK_POLICY, NF_RAW_ALLOW, NF_ACTION_DENY, true, NF_LOOPBACK_POLICY,
		  NF_RAW_ALLOW },
		{ NF_LOOPBACK_ALLOW, NF_RAW_DENY, NF_ACTION_ALLOW, false, NF_LOOPBACK_ALLOW,
		  NF_RAW_DENY },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nf_policy p = { .loopback = cases[i].loopback,
				       .raw_sockets = cases[i].raw,
				       .default_action = cases[i].def };

		nf_policy_resolve(&p, cases[i].own_netns);
		cr_expect_eq(p.loopback, cases[i].want_loopback, "case %zu", i);
		cr_expect_eq(p.raw_sockets, cases[i].want_raw, "case %zu", i);
		nf_policy_resolve(&p, !cases[i].own_netns);
		cr_expect_eq(p.loopback, cases[i].want_loopback, "resolve is idempotent");
	}
}

/* ---- prefixes ------------------------------------------------------------------------------ */

Test(prefix, table)
{
	static const struct {
		const char *s;
		int family, len;
		const char *addr; /* expected address, inet_pton form */
	} cases[] = {
		{ "10.0.0.0/8", 4, 8, "10.0.0.0" },
		{ "0.0.0.0/0", 4, 0, "0.0.0.0" },
		{ "1.2.3.4", 4, 32, "1.2.3.4" },
		{ "1.2.3.4/32", 4, 32, "1.2.3.4" },
		{ "255.255.255.254/31", 4, 31, "255.255.255.254" },
		{ "::/0", 6, 0, "::" },
		{ "::1", 6, 128, "::1" },
		{ "2001:DB8::/32", 6, 32, "2001:db8::" },
		{ "2001:db8::1/128", 6, 128, "2001:db8::1" },
		{ "::ffff:10.0.0.0/104", 4, 8, "10.0.0.0" },
		{ "::ffff:1.2.3.4", 4, 32, "1.2.3.4" },
		{ "::ffff:0:0/96", 4, 0, "0.0.0.0" },
		{ "::fffe:0:0/95", 6, 95, "::fffe:0:0" }, /* covers the mapped range: stays IPv6 */
		{ "::1.2.3.4", 6, 128, "::1.2.3.4" },	  /* IPv4-compatible is not mapped */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nf_prefix p, empty = { 0 };
		uint8_t want[16] = { 0 };

		cr_assert_eq(
			inet_pton(cases[i].family == 4 ? AF_INET : AF_INET6, cases[i].addr, want),
			1);
		cr_expect_eq(nf_prefix_parse(cases[i].s, &p), 0, "%s", cases[i].s);
		cr_expect_eq(p.family, cases[i].family, "%s", cases[i].s);
		cr_expect_eq(p.prefixlen, cases[i].len, "%s", cases[i].s);
		cr_expect_arr_eq(p.addr, want, 16, "%s", cases[i].s);
		p = empty;
	}
}

Test(prefix, errors)
{
	static const struct {
		const char *s;
		int r;
	} cases[] = {
		{ "10.0.0.0/33", -EINVAL },
		{ "10.0.0.0/-1", -EINVAL },
		{ "10.0.0", -EINVAL },
		{ "1.2.3.4/", -EINVAL },
		{ "010.0.0.1", -EINVAL },
		{ "1.2.3.4/08", -EINVAL },
		{ " 1.2.3.4", -EINVAL },
		{ "1.2.3.4 ", -EINVAL },
		{ "::/129", -EINVAL },
		{ "any", -EINVAL },
		{ "", -EINVAL },
		{ "10.0.0.1/8", -EDOM },
		{ "::1/0", -EDOM },
		{ "1.2.3.5/31", -EDOM },
		{ "128.0.0.0/0", -EDOM },
	};
	struct nf_prefix p = { .family = 99 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(nf_prefix_parse(cases[i].s, &p), cases[i].r, "%s", cases[i].s);
	cr_expect_eq(p.family, 99, "ret written on failure");
}

/* Runs check(class, value) on every line of a "class<TAB>value" corpus; returns the count. */
static size_t each_corpus_line(const char *path, void (*check)(const char *, const char *))
{
	size_t len, n = 0;
	char *buf = read_file(path, &len), *line, *save = NULL;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t');

		if (line[0] == '#')
			continue;
		cr_assert_not_null(tab, "%s: bad line '%s'", path, line);
		*tab = '\0';
		check(line, tab + 1);
		n++;
	}
	free(buf);
	return n;
}

static void check_prefix_line(const char *cls, const char *value)
{
	struct nf_prefix p;
	int want = strcmp(cls, "ok") == 0 ? 0 : strcmp(cls, "hostbits") == 0 ? -EDOM : -EINVAL;

	cr_expect_eq(nf_prefix_parse(value, &p), want, "prefixes.txt: '%s' (%s)", value, cls);
}

static void check_port_line(const char *cls, const char *value)
{
	struct nf_port_range r;
	int want = strcmp(cls, "ok") == 0 ? 0 : -EINVAL;

	cr_expect_eq(nf_port_range_parse(value, &r), want, "ports.txt: '%s' (%s)", value, cls);
}

Test(prefix, corpus)
{
	cr_expect_geq(each_corpus_line(TEST_DATA "/prefixes.txt", check_prefix_line), 60);
}

/* ---- port ranges --------------------------------------------------------------------------- */

Test(port, table)
{
	static const struct {
		const char *s;
		int r, lo, hi;
	} cases[] = {
		{ "0", 0, 0, 0 },
		{ "65535", 0, 65535, 65535 },
		{ "0-65535", 0, 0, 65535 },
		{ "443", 0, 443, 443 },
		{ "8000-8080", 0, 8000, 8080 },
		{ "7-7", 0, 7, 7 },
		{ "65536", -EINVAL },
		{ "5-3", -EINVAL },
		{ "-1", -EINVAL },
		{ "1-", -EINVAL },
		{ "a", -EINVAL },
		{ "", -EINVAL },
		{ "080", -EINVAL },
		{ " 80", -EINVAL },
		{ "80 ", -EINVAL },
		{ "1-2-3", -EINVAL },
		{ "+80", -EINVAL },
		{ "0-65536", -EINVAL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nf_port_range r = { 1, 1 };

		cr_expect_eq(nf_port_range_parse(cases[i].s, &r), cases[i].r, "'%s'", cases[i].s);
		if (cases[i].r == 0)
			cr_expect(r.lo == cases[i].lo && r.hi == cases[i].hi, "'%s'", cases[i].s);
		else
			cr_expect(r.lo == 1 && r.hi == 1, "'%s': ret written on failure",
				  cases[i].s);
	}
}

Test(port, corpus)
{
	cr_expect_geq(each_corpus_line(TEST_DATA "/ports.txt", check_port_line), 40);
}

/* ---- the reader against its oracle (policy_oracle.h, on jansson's tree) ------------------- */

static void expect_same_policy(const struct nf_policy *a, const struct nf_policy *b,
			       const char *what)
{
	cr_assert(a->version == b->version && a->mode == b->mode &&
			  a->default_action == b->default_action && a->loopback == b->loopback &&
			  a->raw_sockets == b->raw_sockets && a->nrules == b->nrules,
		  "%s: settings differ", what);
	for (size_t i = 0; i < a->nrules; i++) {
		const struct nf_rule *x = &a->rules[i], *y = &b->rules[i];

		cr_assert(x->action == y->action && x->protocols == y->protocols &&
				  x->any == y->any && x->nports == y->nports,
			  "%s: rule %zu differs", what, i);
		cr_assert(x->prefix.family == y->prefix.family &&
				  x->prefix.prefixlen == y->prefix.prefixlen &&
				  memcmp(x->prefix.addr, y->prefix.addr, 16) == 0,
			  "%s: prefix of rule %zu differs", what, i);
		cr_assert(x->nports == 0 ||
				  memcmp(x->ports, y->ports, x->nports * sizeof(*x->ports)) == 0,
			  "%s: ports of rule %zu differ", what, i);
		cr_assert(!x->host == !y->host && (!x->host || strcmp(x->host, y->host) == 0),
			  "%s: host of rule %zu differs", what, i);
	}
	cr_assert(a->nresolvers == b->nresolvers &&
			  memcmp(a->resolvers, b->resolvers,
				 a->nresolvers * sizeof(*a->resolvers)) == 0,
		  "%s: resolvers differ", what);
}

/*
 * The reader takes what the oracle takes and builds the same policy; what it refuses, it says
 * why, in one line of err.h's grammar. Returns whether buf is valid.
 */
static bool cross_check(const char *buf, size_t len)
{
	struct nf_policy *po = NULL, *p = NULL;
	struct nf_err err = { 0 };
	char shown[80];
	int ro, r;

	snprintf(shown, sizeof(shown), "%.*s", (int)(len < 60 ? len : 60), buf);
	ro = oracle_policy_parse(buf, len, &po);
	r = nf_policy_parse(buf, len, &p, &err);
	cr_assert_eq(r, ro, "%s: reader %d, oracle %d (%s)", shown, r, ro, err.msg);
	if (ro == 0) {
		expect_same_policy(p, po, shown);
	} else {
		cr_assert_null(p, "%s: policy returned on failure", shown);
		cr_assert(err.code == r && err.msg[0] && !strchr(err.msg, '\n'), "%s: '%s'", shown,
			  err.msg);
		cr_assert(err.msg[0] == '/' || strncmp(err.msg, "(root): ", 8) == 0 ||
				  strncmp(err.msg, "invalid JSON at line ", 21) == 0 ||
				  strncmp(err.msg, "the document is ", 16) == 0,
			  "%s: '%s' names no place", shown, err.msg);
	}
	nf_policy_free(po);
	nf_policy_free(p);
	return ro == 0;
}

static void cross_check_dir(const char *dir)
{
	char **files;
	size_t n = list_json(dir, &files);

	for (size_t i = 0; i < n; i++) {
		size_t len;
		char *buf = read_file(files[i], &len);

		cross_check(buf, len);
		free(buf);
		free(files[i]);
	}
	free(files);
}

Test(oracle, fixtures)
{
	cross_check_dir(TEST_DATA "/policies/valid");
	cross_check_dir(TEST_DATA "/policies/invalid");
	cross_check_dir(TEST_DATA "/policies/invalid-semantic");
	for (size_t i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++)
		cross_check(bad_docs[i].doc, strlen(bad_docs[i].doc));
}

/* Documents the reader must take as they are, and odd ones jansson takes too. */
Test(oracle, documents)
{
	static const char *const docs[] = {
		"{\"version\":1,\"default\":\"deny\",\"rules\":[]}",
		" \r\n\t{ \"rules\" : [ ] , \"default\" : \"allow\" , \"version\" : 1 } \n",
		"{\"version\":1,\"mode\":\"audit\",\"default\":\"deny\",\"loopback\":\"policy\","
		"\"raw_sockets\":\"allow\",\"rules\":[{\"cidr\":\"::ffff:10.0.0.0/104\","
		"\"action\":\"deny\",\"ports\":[0,65535,\"1-2\",\"7\"],\"protocol\":\"udp\"},"
		"{\"action\":\"allow\",\"cidr\":\"any\"}]}",
		"{\"\\u0076ersion\":1,\"default\":\"d\\u0065ny\",\"rules\":[{\"action\":"
		"\"\\u0061llow\",\"c\\u0069dr\":\"10.0.0.0\\/8\",\"ports\":[\"8\\u0030\"]}]}",
		"{\"version\":1,\"default\":\"deny\",\"rules\":[{\"action\":\"allow\",\"cidr\":"
		"\"10.0.0.0/8\",\"ports\":[-0]}]}",
		"{\"version\":1,\"default\":\"deny\",\"rules\":[{\"action\":\"allow\",\"cidr\":"
		"\"10.0.0.0/8\",\"ports\":[1e2]}]}",
		"{\"version\":1.0,\"default\":\"deny\",\"rules\":[]}",
		"{\"version\":1,\"default\":\"deny\",\"rules\":[{\"action\":\"allow\",\"cidr\":"
		"\"10.0.0.0/8\",\"ports\":[]}]}",
		"{\"version\":1,\"default\":\"deny\",\"rules\":[],\"rules\":[]}",
		"{\"version\":1,\"default\":\"deny\",\"rules\":[{\"action\":\"allow\",\"cidr\":"
		"\"10.0.0.0/8\",\"x\":{\"a\":1,\"a\":2}}]}",
		"{\"version\":1,\"default\":\"deny\",\"rules\":[{\"action\":\"allow\",\"cidr\":"
		"\"10.0.0.1/8\"}]}",
		"{\"version\":1,\"default\":\"deny\",\"rules\":[{\"action\":\"allow\",\"cidr\":"
		"\"any\\u0000\"}]}",
		"[{\"version\":1}]",
		"\"x\"",
		"",
	};

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		cross_check(docs[i], strlen(docs[i]));
	cr_assert(cross_check(docs[2], strlen(docs[2])));
	cr_assert(cross_check(docs[3], strlen(docs[3])));
}

/* A random policy, mostly valid: fields from small pools with the odd invalid value. */
static size_t random_policy(unsigned int *seed, char *out, size_t cap)
{
	static const char *const actions[] = { "\"allow\"", "\"deny\"", "\"Allow\"", "1" };
	static const char *const cidrs[] = {
		"\"10.0.0.0/8\"", "\"any\"",	       "\"::/0\"",	 "\"fd00::/8\"",
		"\"1.2.3.4\"",	  "\"1.2.3.4/33\"",    "\"10.0.0.1/8\"", "\"::ffff:1.2.3.0/120\"",
		"null",		  "\"\\u0031.2.3.4\"",
	};
	static const char *const protos[] = { "", ",\"protocol\":\"tcp\"", ",\"protocol\":\"udp\"",
					      ",\"protocol\":\"any\"", ",\"protocol\":\"icmp\"" };
	static const char *const ports[] = { "",
					     ",\"ports\":[443]",
					     ",\"ports\":[\"1-2\",3]",
					     ",\"ports\":[65536]",
					     ",\"ports\":[\"2-1\"]",
					     ",\"ports\":[]",
					     ",\"ports\":[1.5]" };
	static const char *const heads[] = { "", "\"mode\":\"audit\",", "\"loopback\":\"allow\",",
					     "\"raw_sockets\":\"deny\",", "\"mode\":\"x\"," };
	unsigned int n = (unsigned int)rand_r(seed) % 8;
	size_t o = 0;

#define PICK(v)	  (v)[(unsigned int)rand_r(seed) % (sizeof(v) / sizeof((v)[0]))]
#define EMIT(...) (o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, __VA_ARGS__))
	EMIT("{%s\"version\":1,\"default\":\"deny\",\"rules\":[", PICK(heads));
	for (unsigned int i = 0; i < n; i++)
		EMIT("%s{\"action\":%s,\"cidr\":%s%s%s}", i ? "," : "",
		     rand_r(seed) % 20 ? "\"allow\"" : PICK(actions),
		     rand_r(seed) % 5 ? "\"10.0.0.0/8\"" : PICK(cidrs),
		     rand_r(seed) % 3 ? "" : PICK(protos), rand_r(seed) % 3 ? "" : PICK(ports));
	EMIT("]}");
#undef EMIT
#undef PICK
	cr_assert_lt(o, cap);
	return o;
}

/* One mutation of the len bytes of buf (room for len + 8): a byte changed, cut, or repeated. */
static size_t mutate(unsigned int *seed, char *buf, size_t len)
{
	static const char bytes[] = "{}[]\",:\\ 0123456789-.eEtrufalsn\x00\x80\xc3\xff/u";
	size_t at = len ? (size_t)rand_r(seed) % len : 0;

	switch (rand_r(seed) % 4) {
	case 0:
		buf[at] = bytes[(unsigned int)rand_r(seed) % (sizeof(bytes) - 1)];
		return len;
	case 1:
		return at; /* cut */
	case 2:
		if (!len)
			return 0;
		memmove(buf + at, buf + at + 1, len - at - 1);
		return len - 1;
	default:
		memmove(buf + at + 1, buf + at, len - at);
		buf[at] = bytes[(unsigned int)rand_r(seed) % (sizeof(bytes) - 1)];
		return len + 1;
	}
}

Test(oracle, random_and_mutated)
{
	unsigned int seed = 20261125;
	size_t valid = 0, total = 0;
	char buf[4096];

	for (int i = 0; i < 3000; i++) {
		size_t len = random_policy(&seed, buf, sizeof(buf) - 16);

		valid += cross_check(buf, len);
		total++;
		for (int m = 0; m < 3; m++) {
			len = mutate(&seed, buf, len);
			valid += cross_check(buf, len);
			total++;
		}
	}
	/* Both kinds must be common for the comparison to mean anything. */
	cr_expect_gt(valid, total / 20, "%zu of %zu valid", valid, total);
	cr_expect_lt(valid, total * 9 / 10, "%zu of %zu valid", valid, total);
}

Test(oracle, limits)
{
	char *buf = rules_doc(NF_POLICY_MAX_RULES);

	cr_assert(cross_check(buf, strlen(buf)));
	free(buf);
	buf = rules_doc(NF_POLICY_MAX_RULES + 1);
	cr_assert_not(cross_check(buf, strlen(buf)));
	free(buf);
	buf = padded_doc(NF_POLICY_MAX_BYTES);
	cr_assert(cross_check(buf, NF_POLICY_MAX_BYTES));
	free(buf);
	buf = padded_doc(NF_POLICY_MAX_BYTES + 1);
	cr_assert_not(cross_check(buf, NF_POLICY_MAX_BYTES + 1));
	free(buf);
}

/* ---- hosts and resolvers ------------------------------------------------------------------- */

Test(host, table)
{
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} cases[] = {
		{ "api.example.com", "api.example.com" },
		{ "API.Example.COM.", "api.example.com" },
		{ "*.example.org", "*.example.org" },
		{ "**.example.org", "**.example.org" },
		{ "_svc._tcp.example.org", "_svc._tcp.example.org" },
		{ "localhost", "localhost" },
		{ "*.org", "*.org" },
		{ "", NULL },
		{ ".", NULL },
		{ "*", NULL },
		{ "**", NULL },
		{ "*.", NULL },
		{ "***.example.org", NULL },
		{ "a.*.example.org", NULL },
		{ "a..example.org", NULL },
		{ ".example.org", NULL },
		{ "example.org..", NULL },
		{ "exa mple.org", NULL },
		{ "ex%ample.org", NULL },
		{ "exämple.org", NULL },
		{ "*example.org", NULL },
	};
	char label64[80], long254[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *h = NULL;
		int r = nf_host_parse(cases[i].in, strlen(cases[i].in), &h);

		if (!cases[i].out) {
			cr_expect_eq(r, -EINVAL, "'%s' taken", cases[i].in);
			continue;
		}
		cr_assert_eq(r, 0, "'%s' refused", cases[i].in);
		cr_expect_str_eq(h, cases[i].out);
		free(h);
	}
	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".org");
	cr_expect_eq(nf_host_parse(label64, strlen(label64), &(char *){ NULL }), -EINVAL);
	/* 253 bytes is the most a name may have; the wildcard does not count */
	for (int i = 0; i < 254; i++)
		long254[i] = i % 2 ? '.' : 'a';
	long254[253] = 'a';
	long254[254] = '\0';
	{
		char *h = NULL;

		cr_expect_eq(nf_host_parse(long254, 253, &h), 0);
		free(h);
	}
	cr_expect_eq(nf_host_parse(long254, 253 + 1, &(char *){ NULL }), -EINVAL);
}

Test(resolver, table)
{
	static const struct {
		const char *in;
		int ok;
	} cases[] = {
		{ "10.0.0.53", 1 },
		{ "fd00::53", 1 },
		{ "::ffff:192.0.2.1", 1 },
		{ "127.0.0.53", 0 },
		{ "::1", 0 },
		{ "0.0.0.0", 0 },
		{ "::", 0 },
		{ "224.0.0.251", 0 },
		{ "ff02::fb", 0 },
		{ "10.0.0.53/32", 0 },
		{ "10.0.0.0/8", 0 },
		{ "resolver", 0 },
		{ "::ffff:127.0.0.1", 0 },
		{ "255.255.255.255", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nf_prefix p;

		cr_expect_eq(nf_resolver_parse(cases[i].in, &p) == 0, cases[i].ok, "%s",
			     cases[i].in);
	}
}
