/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The oracle for hook/policy.c's reader: the policy rules of docs/policy.md read a second way,
 * from jansson's tree, for the tests and the fuzz target that feed both the same documents and
 * compare what they accept and what they build. It says only whether a document is valid.
 */
#ifndef NETFENCE_POLICY_ORACLE_H
#define NETFENCE_POLICY_ORACLE_H

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "netfence.h"
#include "policy.h"

struct oracle_name {
	const char *name;
	int value;
};

/* Only the keys in known; every key in required. */
static bool oracle_fields(const json_t *o, const char *const *known, const char *const *required)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v)
	{
		size_t i = 0;

		while (known[i] && strcmp(known[i], key) != 0)
			i++;
		if (!known[i])
			return false;
	}
	for (size_t i = 0; required[i]; i++)
		if (!json_object_get(o, required[i]))
			return false;
	return true;
}

/* Absent: *ret unchanged. A string with a NUL inside matches no name. */
static bool oracle_name(const json_t *v, const struct oracle_name *names, int *ret)
{
	if (!v)
		return true;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return false;
	for (size_t i = 0; names[i].name; i++) {
		if (strcmp(names[i].name, json_string_value(v)) == 0) {
			*ret = names[i].value;
			return true;
		}
	}
	return false;
}

static bool oracle_port(const json_t *v, struct nf_port_range *ret)
{
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 || json_integer_value(v) > 65535)
			return false;
		ret->lo = ret->hi = (uint16_t)json_integer_value(v);
		return true;
	}
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v) &&
	       nf_port_range_parse(json_string_value(v), ret) == 0;
}

static bool oracle_ports(const json_t *ports, struct nf_rule *rule)
{
	size_t n = json_array_size(ports);

	if (!ports)
		return true;
	if (!json_is_array(ports) || n == 0 || n > NF_POLICY_MAX_PORTS)
		return false;
	rule->ports = calloc(n, sizeof(*rule->ports));
	rule->nports = n;
	for (size_t i = 0; i < n; i++)
		if (!oracle_port(json_array_get(ports, i), &rule->ports[i]))
			return false;
	return true;
}

static bool oracle_rule(const json_t *v, struct nf_rule *rule)
{
	static const char *const known[] = { "action", "cidr", "protocol", "ports", "host", NULL };
	static const char *const required[] = { "action", NULL };
	static const struct oracle_name actions[] = { { "allow", NF_ACTION_ALLOW },
						      { "deny", NF_ACTION_DENY },
						      { NULL, 0 } };
	static const struct oracle_name protocols[] = { { "tcp", NF_PMASK_TCP },
							{ "udp", NF_PMASK_UDP },
							{ "any", NF_PMASK_ANY },
							{ NULL, 0 } };
	int action = 0, proto = NF_PMASK_ANY;
	const json_t *cidr, *host;
	const char *s;

	if (!json_is_object(v) || !oracle_fields(v, known, required) ||
	    !oracle_name(json_object_get(v, "action"), actions, &action) ||
	    !oracle_name(json_object_get(v, "protocol"), protocols, &proto))
		return false;
	/* "cidr" or "host", exactly one */
	cidr = json_object_get(v, "cidr");
	host = json_object_get(v, "host");
	if (!cidr == !host)
		return false;
	if (host)
		return json_is_string(host) &&
		       strlen(json_string_value(host)) == json_string_length(host) &&
		       nf_host_parse(json_string_value(host), json_string_length(host),
				     &rule->host) == 0 &&
		       oracle_ports(json_object_get(v, "ports"), rule) &&
		       ((rule->action = (uint8_t)action), (rule->protocols = (uint8_t)proto), true);
	s = json_string_value(cidr);
	if (!s || strlen(s) != json_string_length(cidr))
		return false;
	if (strcmp(s, "any") == 0)
		rule->any = true;
	else if (nf_prefix_parse(s, &rule->prefix) < 0)
		return false;
	if (!oracle_ports(json_object_get(v, "ports"), rule))
		return false;
	rule->action = (uint8_t)action;
	rule->protocols = (uint8_t)proto;
	return true;
}

static bool oracle_policy(const json_t *doc, struct nf_policy *p)
{
	static const char *const known[] = { "version",	    "mode",  "default",	  "loopback",
					     "raw_sockets", "rules", "resolvers", NULL };
	static const char *const required[] = { "version", "default", "rules", NULL };
	static const struct oracle_name modes[] = { { "enforce", NF_MODE_ENFORCE },
						    { "audit", NF_MODE_AUDIT },
						    { NULL, 0 } };
	static const struct oracle_name actions[] = { { "allow", NF_ACTION_ALLOW },
						      { "deny", NF_ACTION_DENY },
						      { NULL, 0 } };
	static const struct oracle_name loopbacks[] = { { "allow", NF_LOOPBACK_ALLOW },
							{ "policy", NF_LOOPBACK_POLICY },
							{ NULL, 0 } };
	static const struct oracle_name raws[] = { { "allow", NF_RAW_ALLOW },
						   { "deny", NF_RAW_DENY },
						   { NULL, 0 } };
	const json_t *rules, *version, *resolvers;

	if (!json_is_object(doc) || !oracle_fields(doc, known, required))
		return false;
	version = json_object_get(doc, "version");
	if (!json_is_integer(version) || json_integer_value(version) != 1)
		return false;
	p->version = 1;
	p->mode = NF_MODE_ENFORCE;
	if (!oracle_name(json_object_get(doc, "mode"), modes, &p->mode) ||
	    !oracle_name(json_object_get(doc, "default"), actions, &p->default_action) ||
	    !oracle_name(json_object_get(doc, "loopback"), loopbacks, &p->loopback) ||
	    !oracle_name(json_object_get(doc, "raw_sockets"), raws, &p->raw_sockets))
		return false;
	rules = json_object_get(doc, "rules");
	if (!json_is_array(rules) || json_array_size(rules) > NF_POLICY_MAX_RULES)
		return false;
	p->rules = calloc(json_array_size(rules) ?: 1, sizeof(*p->rules));
	for (size_t i = 0; i < json_array_size(rules); i++) {
		p->nrules++;
		if (!oracle_rule(json_array_get(rules, i), &p->rules[i]))
			return false;
	}
	resolvers = json_object_get(doc, "resolvers");
	if (resolvers) {
		size_t n = json_array_size(resolvers);

		if (!json_is_array(resolvers) || n == 0 || n > NF_POLICY_MAX_RESOLVERS)
			return false;
		for (size_t i = 0; i < n; i++) {
			const json_t *e = json_array_get(resolvers, i);

			if (!json_is_string(e) ||
			    strlen(json_string_value(e)) != json_string_length(e) ||
			    nf_resolver_parse(json_string_value(e), &p->resolvers[i]) < 0)
				return false;
		}
		p->nresolvers = n;
	}
	return nf_policy_check_names(p, NULL) == 0;
}

/* 0 with *ret, or -EINVAL: the document jansson reads, judged by the rules of docs/policy.md. */
static int oracle_policy_parse(const char *buf, size_t len, struct nf_policy **ret)
{
	struct nf_policy *p = calloc(1, sizeof(*p));
	json_t *doc = NULL;
	bool ok;

	/* jansson stops at a NUL, which the policy refuses wherever it is. */
	if (len <= NF_POLICY_MAX_BYTES && !memchr(buf, '\0', len))
		doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	ok = doc && oracle_policy(doc, p);
	json_decref(doc);
	if (!ok) {
		nf_policy_free(p);
		return -EINVAL;
	}
	*ret = p;
	return 0;
}

#endif
