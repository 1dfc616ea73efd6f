// SPDX-License-Identifier: Apache-2.0
/*
 * The fast path of nf_policy_parse(): a policy read through json_scan.h's scanner straight into
 * struct nf_policy, without jansson's tree, the dear part of a large policy's parse
 * (BENCHMARKS.md). It decides only "valid as it is": any document policy.c would refuse, and any it
 * would take but this path does not expect, is -EAGAIN, and policy.c parses it again with jansson
 * and writes the message. So this file never says what is wrong, and need not.
 *
 * Pure: no I/O, no globals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "policy.h"
#include "policy_names.h"

/* Room for any value nf_prefix_parse() or nf_port_range_parse() can accept; longer: -EAGAIN. */
#define VALUE_BUF 128

/* Index of key in names (NULL-terminated), or -1. */
static int field_index(const struct nf_json_scan_span *key, const char *const *names)
{
	char buf[VALUE_BUF];

	/* Keys with escapes ("\u0063idr") are rare: compare their decoded text. */
	if (key->escaped && nf_json_scan_copy(key, buf, sizeof(buf)) < 0)
		return -1;
	for (int i = 0; names[i]; i++) {
		if (key->escaped) {
			if (strcmp(buf, names[i]) == 0)
				return i;
		} else if (key->len && key->p[0] == names[i][0] && strlen(names[i]) == key->len &&
			   memcmp(key->p, names[i], key->len) == 0) {
			/* The first byte tells most names apart before any strlen(). */
			return i;
		}
	}
	return -1;
}

/* String v, one of names: *ret is its value. */
static int name_value(const struct nf_json_scan_span *v, const struct nf_name *names, int *ret)
{
	if (v->type != NF_JSON_SCAN_STRING)
		return -EAGAIN;
	for (size_t i = 0; names[i].name; i++) {
		if (nf_json_scan_streq(v, names[i].name)) {
			*ret = names[i].value;
			return 0;
		}
	}
	return -EAGAIN;
}

/* A port: an integer 0..65535, or a string nf_port_range_parse() takes. */
static int port_value(const struct nf_json_scan_span *v, struct nf_port_range *ret)
{
	char buf[VALUE_BUF];
	long long n;

	if (v->type == NF_JSON_SCAN_INTEGER) {
		n = nf_json_scan_integer(v);
		if (n < 0 || n > 65535)
			return -EAGAIN;
		ret->lo = ret->hi = (uint16_t)n;
		return 0;
	}
	if (v->type != NF_JSON_SCAN_STRING || nf_json_scan_copy(v, buf, sizeof(buf)) < 0 ||
	    nf_port_range_parse(buf, ret) < 0)
		return -EAGAIN;
	return 0;
}

/* Counted first, so that rule->ports is exactly as long as policy.c makes it. */
static int ports_value(const struct nf_json_scan_span *v, struct nf_rule *rule)
{
	struct nf_json_scan_span e;
	struct nf_json_scan_iter it;
	size_t n;
	int r;

	if (v->type != NF_JSON_SCAN_ARRAY)
		return -EAGAIN;
	n = nf_json_scan_count(v);
	if (n == 0 || n > NF_POLICY_MAX_PORTS)
		return -EAGAIN;
	rule->ports = calloc(n, sizeof(*rule->ports));
	if (!rule->ports)
		return -ENOMEM;
	rule->nports = n;
	nf_json_scan_iter_init(&it, v);
	for (size_t i = 0; nf_json_scan_iter_next(&it, NULL, &e); i++) {
		r = port_value(&e, &rule->ports[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cidr_value(const struct nf_json_scan_span *v, struct nf_rule *rule)
{
	char buf[VALUE_BUF];

	if (v->type != NF_JSON_SCAN_STRING || nf_json_scan_copy(v, buf, sizeof(buf)) < 0)
		return -EAGAIN;
	if (strcmp(buf, "any") == 0) {
		rule->any = true;
		return 0;
	}
	return nf_prefix_parse(buf, &rule->prefix) == 0 ? 0 : -EAGAIN;
}

static int host_value(const struct nf_json_scan_span *v, struct nf_rule *rule)
{
	char buf[512];
	int r;

	if (v->type != NF_JSON_SCAN_STRING || nf_json_scan_copy(v, buf, sizeof(buf)) < 0)
		return -EAGAIN;
	r = nf_host_parse(buf, strlen(buf), &rule->host);
	return r == -ENOMEM ? r : r < 0 ? -EAGAIN : 0;
}

static int resolvers_value(const struct nf_json_scan_span *v, struct nf_policy *p)
{
	struct nf_json_scan_iter it;
	struct nf_json_scan_span e;
	char buf[VALUE_BUF];
	size_t n;

	if (v->type != NF_JSON_SCAN_ARRAY)
		return -EAGAIN;
	n = nf_json_scan_count(v);
	if (n == 0 || n > NF_POLICY_MAX_RESOLVERS)
		return -EAGAIN;
	nf_json_scan_iter_init(&it, v);
	for (size_t i = 0; nf_json_scan_iter_next(&it, NULL, &e); i++)
		if (e.type != NF_JSON_SCAN_STRING || nf_json_scan_copy(&e, buf, sizeof(buf)) < 0 ||
		    nf_resolver_parse(buf, &p->resolvers[i]) < 0)
			return -EAGAIN;
	p->nresolvers = n;
	return 0;
}

/* One rule; its members in the order of rule_fields[] (the scanner refused duplicates). */
static int rule_value(const struct nf_json_scan_span *v, struct nf_rule *rule)
{
	struct nf_json_scan_span key, val, field[5] = { 0 };
	int action, protocols = NF_PMASK_ANY, i, r;
	struct nf_json_scan_iter it;

	if (v->type != NF_JSON_SCAN_OBJECT)
		return -EAGAIN;
	nf_json_scan_iter_init(&it, v);
	while (nf_json_scan_iter_next(&it, &key, &val)) {
		i = field_index(&key, rule_fields);
		if (i < 0)
			return -EAGAIN;
		field[i] = val;
	}
	/* "cidr" or "host", not both */
	if (!field[0].p || !field[1].p == !field[4].p)
		return -EAGAIN;
	r = name_value(&field[0], action_names, &action);
	if (r == 0)
		r = field[1].p ? cidr_value(&field[1], rule) : host_value(&field[4], rule);
	if (r == 0 && field[2].p)
		r = name_value(&field[2], protocol_names, &protocols);
	if (r == 0 && field[3].p)
		r = ports_value(&field[3], rule);
	if (r < 0)
		return r;
	rule->action = (uint8_t)action;
	rule->protocols = (uint8_t)protocols;
	return 0;
}

/* Grown by doubling rather than counted first: counting would walk every rule twice. */
static int rules_value(const struct nf_json_scan_span *v, struct nf_policy *p)
{
	struct nf_json_scan_iter it;
	struct nf_json_scan_span e;
	size_t cap = 0;
	int r;

	if (v->type != NF_JSON_SCAN_ARRAY)
		return -EAGAIN;
	nf_json_scan_iter_init(&it, v);
	while (nf_json_scan_iter_next(&it, NULL, &e)) {
		if (p->nrules == NF_POLICY_MAX_RULES)
			return -EAGAIN;
		if (p->nrules == cap) {
			size_t c = cap ? cap * 2 : 64;
			struct nf_rule *g = realloc(p->rules, c * sizeof(*g));

			if (!g)
				return -ENOMEM;
			p->rules = g;
			cap = c;
		}
		/* Counted before it is filled, so that nf_policy_free() frees its ports. */
		p->rules[p->nrules] = (struct nf_rule){ 0 };
		r = rule_value(&e, &p->rules[p->nrules++]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The top-level members; their values, in the order of policy_fields[]. */
static int policy_value(const struct nf_json_scan_doc *d, struct nf_policy *p)
{
	const struct nf_json_scan_span *field[7] = { 0 };
	int r;

	if (d->top != NF_JSON_SCAN_OBJECT)
		return -EAGAIN;
	for (size_t k = 0; k < d->n; k++) {
		int i = field_index(&d->m[k].key, policy_fields);

		if (i < 0)
			return -EAGAIN;
		field[i] = &d->m[k].val;
	}
	if (!field[0] || !field[2] || !field[5])
		return -EAGAIN;
	if (field[0]->type != NF_JSON_SCAN_INTEGER || nf_json_scan_integer(field[0]) != 1)
		return -EAGAIN;
	p->version = 1;
	r = field[1] ? name_value(field[1], mode_names, &p->mode) : 0;
	if (r == 0)
		r = name_value(field[2], action_names, &p->default_action);
	if (r == 0 && field[3])
		r = name_value(field[3], loopback_names, &p->loopback);
	if (r == 0 && field[4])
		r = name_value(field[4], raw_names, &p->raw_sockets);
	if (r == 0)
		r = rules_value(field[5], p);
	if (r == 0 && field[6])
		r = resolvers_value(field[6], p);
	if (r == 0 && nf_policy_check_names(p, NULL, 0) < 0)
		r = -EAGAIN;
	return r;
}

int nf_policy_parse_scan(const char *buf, size_t len, struct nf_policy **ret)
{
	struct nf_json_scan_doc d;
	struct nf_policy *p;
	int r;

	if (len > NF_POLICY_MAX_BYTES)
		return -EAGAIN;
	/* Only the top level is recorded: the rules are walked where they lie. */
	r = nf_json_scan(buf, len, 1, &d);
	if (r < 0)
		return r == -ENOMEM ? r : -EAGAIN;
	p = calloc(1, sizeof(*p));
	r = -ENOMEM;
	if (p) {
		p->mode = NF_MODE_ENFORCE;
		r = policy_value(&d, p);
	}
	nf_json_scan_free(&d);
	if (r < 0) {
		nf_policy_free(p);
		return r;
	}
	*ret = p;
	return 0;
}
