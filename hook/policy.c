// SPDX-License-Identifier: Apache-2.0
/*
 * The policy document (docs/policy.md; schemas/policy.schema.json says the same in JSON
 * Schema): parsing and validation. Pure: bytes in, a struct nf_policy or -errno and one message
 * out, never any I/O.
 *
 * Fields:
 *   version      required, the integer 1.
 *   mode         optional, "enforce" (default) or "audit".
 *   default      required, "allow" or "deny": a policy must say what happens to the rest.
 *   loopback     optional, "allow" or "policy"; absent: chosen by nf_policy_resolve().
 *   raw_sockets  optional, "allow" or "deny"; absent: same as default.
 *   rules        required, an array (possibly empty) of at most NF_POLICY_MAX_RULES rules:
 *     action     required, "allow" or "deny".
 *     cidr       an IPv4 or IPv6 prefix or "any" (see nf_prefix_parse), or
 *     host       a name (see nf_host_parse): one of the two, not both.
 *     protocol   optional, "tcp", "udp" or "any" (default).
 *     ports      optional, a non-empty array of at most NF_POLICY_MAX_PORTS port numbers
 *                (integers 0..65535) and "N" or "lo-hi" strings; absent: every port.
 *   resolvers    optional (required with a host rule), an array of at most
 *                NF_POLICY_MAX_RESOLVERS addresses (see nf_resolver_parse).
 *
 * Anything else is refused: unknown fields, wrong types (1.0 is not an integer, true is not a
 * port), duplicate keys, NUL bytes, invalid UTF-8, trailing bytes, a top level that is not an
 * object and documents over NF_POLICY_MAX_BYTES. A lenient parser would let a typo ("prot")
 * silently widen a fence.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "netfence.h"
#include "policy.h"
#include "util.h"

/* Room for any value nf_prefix_parse() or nf_port_range_parse() can accept. */
#define VALUE_BUF 128

/*
 * The field tables: one entry per field, indexed by its enum, which sizes the arrays the reader
 * fills. A new field is an enum entry, a table entry and its reading below.
 */
enum policy_field {
	P_VERSION,
	P_MODE,
	P_DEFAULT,
	P_LOOPBACK,
	P_RAW_SOCKETS,
	P_RULES,
	P_RESOLVERS,
	P_NFIELDS
};
static const struct nf_json_field policy_fields[] = {
	[P_VERSION] = { "version", true },	    [P_MODE] = { "mode", false },
	[P_DEFAULT] = { "default", true },	    [P_LOOPBACK] = { "loopback", false },
	[P_RAW_SOCKETS] = { "raw_sockets", false }, [P_RULES] = { "rules", true },
	[P_RESOLVERS] = { "resolvers", false },
};
_Static_assert(NF_ARRAY_SIZE(policy_fields) == P_NFIELDS, "one policy_fields[] entry per field");

/* A rule names "cidr" or "host", exactly one: rule_value() checks. */
enum rule_field { R_ACTION, R_CIDR, R_PROTOCOL, R_PORTS, R_HOST, R_NFIELDS };
static const struct nf_json_field rule_fields[] = {
	[R_ACTION] = { "action", true },      [R_CIDR] = { "cidr", false },
	[R_PROTOCOL] = { "protocol", false }, [R_PORTS] = { "ports", false },
	[R_HOST] = { "host", false },
};
_Static_assert(NF_ARRAY_SIZE(rule_fields) == R_NFIELDS, "one rule_fields[] entry per field");

/* The values a string field may take. */
struct name {
	const char *name;
	int value;
};

static const struct name mode_names[] = {
	{ "enforce", NF_MODE_ENFORCE },
	{ "audit", NF_MODE_AUDIT },
	{ NULL, 0 },
};
static const struct name action_names[] = {
	{ "allow", NF_ACTION_ALLOW },
	{ "deny", NF_ACTION_DENY },
	{ NULL, 0 },
};
static const struct name loopback_names[] = {
	{ "allow", NF_LOOPBACK_ALLOW },
	{ "policy", NF_LOOPBACK_POLICY },
	{ NULL, 0 },
};
static const struct name raw_names[] = {
	{ "allow", NF_RAW_ALLOW },
	{ "deny", NF_RAW_DENY },
	{ NULL, 0 },
};
static const struct name protocol_names[] = {
	{ "tcp", NF_PMASK_TCP },
	{ "udp", NF_PMASK_UDP },
	{ "any", NF_PMASK_ANY },
	{ NULL, 0 },
};

/* String v, one of names: *ret its value. An absent v (p NULL) leaves *ret. */
static int name_value(const struct nf_json_scan_span *v, const struct name *names,
		      const struct nf_json_path *at, struct nf_err *e, int *ret)
{
	char q[NF_QUOTE_BUF], list[128];
	size_t o = 0;

	if (!v->p)
		return 0;
	if (v->type != NF_JSON_SCAN_STRING)
		return nf_json_type_fail(e, at, v, "a string");
	for (size_t i = 0; names[i].name; i++) {
		if (nf_json_scan_streq(v, names[i].name)) {
			*ret = names[i].value;
			return 0;
		}
	}
	for (size_t i = 0; names[i].name; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s'%s'", i ? ", " : "",
				      names[i].name);
	return nf_json_fail(e, at, "%s is not one of %s", nf_json_span_text(q, v), list);
}

/* A port: an integer 0..65535, or a string nf_port_range_parse() takes. */
static int port_value(const struct nf_json_scan_span *v, const struct nf_json_path *at,
		      struct nf_err *e, struct nf_port_range *ret)
{
	char buf[VALUE_BUF], q[NF_QUOTE_BUF];
	long long n;

	if (v->type == NF_JSON_SCAN_INTEGER) {
		n = nf_json_scan_integer(v);
		if (n >= 0 && n <= 65535) {
			ret->lo = ret->hi = (uint16_t)n;
			return 0;
		}
		return nf_json_fail(e, at, "%s is out of range 0-65535", nf_json_span_text(q, v));
	}
	if (v->type != NF_JSON_SCAN_STRING)
		return nf_json_fail(e, at, "%s is not a port number or a 'lo-hi' range",
				    nf_json_span_text(q, v));
	if (nf_json_scan_copy(v, buf, sizeof(buf)) == 0 && nf_port_range_parse(buf, ret) == 0)
		return 0;
	return nf_json_fail(e, at, "%s is not a port 0-65535 or a range 'lo-hi' with lo <= hi",
			    nf_json_span_text(q, v));
}

/* Counted first, so that rule->ports is exactly as long as it needs to be. */
static int ports_value(const struct nf_json_scan_span *v, const struct nf_json_path *at,
		       struct nf_err *e, struct nf_rule *rule)
{
	struct nf_json_scan_span el;
	struct nf_json_scan_iter it;
	size_t n;
	int r;

	if (!v->p)
		return 0; /* every port */
	if (v->type != NF_JSON_SCAN_ARRAY)
		return nf_json_type_fail(e, at, v, "an array");
	n = nf_json_scan_count(v);
	if (n == 0)
		return nf_json_fail(e, at,
				    "must not be empty (leave \"ports\" out for every port)");
	if (n > NF_POLICY_MAX_PORTS)
		return nf_json_fail(e, at, "%zu entries, more than the %d allowed", n,
				    NF_POLICY_MAX_PORTS);
	rule->ports = calloc(n, sizeof(*rule->ports));
	if (!rule->ports)
		return nf_err_nomem(e);
	rule->nports = n;
	nf_json_scan_iter_init(&it, v);
	for (size_t i = 0; nf_json_scan_iter_next(&it, NULL, &el); i++) {
		r = port_value(&el, NF_JSON_INDEX(at, i), e, &rule->ports[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cidr_value(const struct nf_json_scan_span *v, const struct nf_json_path *at,
		      struct nf_err *e, struct nf_rule *rule)
{
	char buf[VALUE_BUF], q[NF_QUOTE_BUF];
	int r = -EINVAL;

	if (v->type != NF_JSON_SCAN_STRING)
		return nf_json_type_fail(e, at, v, "a string");
	if (nf_json_scan_copy(v, buf, sizeof(buf)) == 0) {
		if (strcmp(buf, "any") == 0) {
			rule->any = true;
			return 0;
		}
		r = nf_prefix_parse(buf, &rule->prefix);
		if (r == 0)
			return 0;
	}
	return nf_json_fail(e, at, r == -EDOM ? "%s has host bits set" : "%s is not a valid prefix",
			    nf_json_span_text(q, v));
}

static int host_value(const struct nf_json_scan_span *v, const struct nf_json_path *at,
		      struct nf_err *e, struct nf_rule *rule)
{
	char buf[512], q[NF_QUOTE_BUF];
	int r = -EINVAL;

	if (v->type != NF_JSON_SCAN_STRING)
		return nf_json_type_fail(e, at, v, "a string");
	if (nf_json_scan_copy(v, buf, sizeof(buf)) == 0)
		r = nf_host_parse(buf, strlen(buf), &rule->host);
	if (r == -ENOMEM)
		return nf_err_nomem(e);
	if (r == 0)
		return 0;
	return nf_json_fail(e, at,
			    "%s is not a host name (labels of letters, digits, '-' and '_', the "
			    "first one possibly '*' or '**')",
			    nf_json_span_text(q, v));
}

static int resolvers_value(const struct nf_json_scan_span *v, struct nf_err *e, struct nf_policy *p)
{
	const struct nf_json_path *at = NF_JSON_KEY(NULL, "resolvers");
	char buf[VALUE_BUF], q[NF_QUOTE_BUF];
	struct nf_json_scan_iter it;
	struct nf_json_scan_span el;
	size_t n;

	if (!v->p)
		return 0;
	if (v->type != NF_JSON_SCAN_ARRAY)
		return nf_json_type_fail(e, at, v, "an array");
	n = nf_json_scan_count(v);
	if (n == 0 || n > NF_POLICY_MAX_RESOLVERS)
		return nf_json_fail(e, at, "%zu entries: expected 1 to %d addresses", n,
				    NF_POLICY_MAX_RESOLVERS);
	nf_json_scan_iter_init(&it, v);
	for (size_t i = 0; nf_json_scan_iter_next(&it, NULL, &el); i++) {
		if (el.type != NF_JSON_SCAN_STRING)
			return nf_json_type_fail(e, NF_JSON_INDEX(at, i), &el, "a string");
		if (nf_json_scan_copy(&el, buf, sizeof(buf)) < 0 ||
		    nf_resolver_parse(buf, &p->resolvers[i]) < 0)
			return nf_json_fail(e, NF_JSON_INDEX(at, i),
					    "%s is not a resolver's address (an IPv4 or IPv6 "
					    "address, not unspecified, loopback or multicast)",
					    nf_json_span_text(q, &el));
	}
	p->nresolvers = n;
	return 0;
}

static int rule_value(const struct nf_json_scan_span *v, const struct nf_json_path *at,
		      struct nf_err *e, struct nf_rule *rule)
{
	int action = NF_ACTION_DENY, protocols = NF_PMASK_ANY, r;
	struct nf_json_scan_span f[R_NFIELDS];

	if (v->type != NF_JSON_SCAN_OBJECT)
		return nf_json_type_fail(e, at, v, "an object");
	r = nf_json_read_object(v, rule_fields, R_NFIELDS, true, f, at, e);
	if (r == 0)
		r = name_value(&f[R_ACTION], action_names, NF_JSON_KEY(at, "action"), e, &action);
	if (r == 0 && f[R_CIDR].p && f[R_HOST].p)
		r = nf_json_fail(e, at, "has both 'cidr' and 'host': a rule names one");
	else if (r == 0 && !f[R_CIDR].p && !f[R_HOST].p)
		r = nf_json_fail(e, at, "missing required field 'cidr'");
	else if (r == 0 && f[R_CIDR].p)
		r = cidr_value(&f[R_CIDR], NF_JSON_KEY(at, "cidr"), e, rule);
	else if (r == 0)
		r = host_value(&f[R_HOST], NF_JSON_KEY(at, "host"), e, rule);
	if (r == 0)
		r = name_value(&f[R_PROTOCOL], protocol_names, NF_JSON_KEY(at, "protocol"), e,
			       &protocols);
	if (r == 0)
		r = ports_value(&f[R_PORTS], NF_JSON_KEY(at, "ports"), e, rule);
	rule->action = (uint8_t)action;
	rule->protocols = (uint8_t)protocols;
	return r;
}

/* Grown by doubling rather than counted first: counting would walk every rule twice. */
static int rules_value(const struct nf_json_scan_span *v, struct nf_err *e, struct nf_policy *p)
{
	const struct nf_json_path *at = NF_JSON_KEY(NULL, "rules");
	struct nf_json_scan_iter it;
	struct nf_json_scan_span el;
	size_t cap = 0;
	int r;

	if (v->type != NF_JSON_SCAN_ARRAY)
		return nf_json_type_fail(e, at, v, "an array");
	nf_json_scan_iter_init(&it, v);
	while (nf_json_scan_iter_next(&it, NULL, &el)) {
		if (p->nrules == NF_POLICY_MAX_RULES)
			return nf_json_fail(e, at, "%zu rules, more than the %d allowed",
					    nf_json_scan_count(v), NF_POLICY_MAX_RULES);
		if (p->nrules == cap) {
			size_t c = cap ? cap * 2 : 64;
			struct nf_rule *g = realloc(p->rules, c * sizeof(*g));

			if (!g)
				return nf_err_nomem(e);
			p->rules = g;
			cap = c;
		}
		/* Counted before it is filled, so that nf_policy_free() frees its ports. */
		p->rules[p->nrules] = (struct nf_rule){ 0 };
		r = rule_value(&el, NF_JSON_INDEX(at, p->nrules), e, &p->rules[p->nrules]);
		p->nrules++;
		if (r < 0)
			return r;
	}
	return 0;
}

/* The top-level members, read in the order of the table. */
static int policy_value(const struct nf_json_scan_doc *d, struct nf_err *e, struct nf_policy *p)
{
	struct nf_json_scan_span f[P_NFIELDS];
	char q[NF_QUOTE_BUF];
	int r;

	r = nf_json_read_members(d, NF_JSON_SCAN_TOP, policy_fields, P_NFIELDS, true, f, NULL, e);
	if (r < 0)
		return r;
	if (f[P_VERSION].type != NF_JSON_SCAN_INTEGER)
		return nf_json_type_fail(e, NF_JSON_KEY(NULL, "version"), &f[P_VERSION],
					 "an integer");
	if (nf_json_scan_integer(&f[P_VERSION]) != 1)
		return nf_json_fail(e, NF_JSON_KEY(NULL, "version"),
				    "%s is not a supported version (expected 1)",
				    nf_json_span_text(q, &f[P_VERSION]));
	p->version = 1;
	r = name_value(&f[P_MODE], mode_names, NF_JSON_KEY(NULL, "mode"), e, &p->mode);
	if (r == 0)
		r = name_value(&f[P_DEFAULT], action_names, NF_JSON_KEY(NULL, "default"), e,
			       &p->default_action);
	if (r == 0)
		r = name_value(&f[P_LOOPBACK], loopback_names, NF_JSON_KEY(NULL, "loopback"), e,
			       &p->loopback);
	if (r == 0)
		r = name_value(&f[P_RAW_SOCKETS], raw_names, NF_JSON_KEY(NULL, "raw_sockets"), e,
			       &p->raw_sockets);
	if (r == 0)
		r = rules_value(&f[P_RULES], e, p);
	if (r == 0)
		r = resolvers_value(&f[P_RESOLVERS], e, p);
	if (r == 0)
		r = nf_policy_check_names(p, e);
	return r;
}

int nf_policy_parse(const char *buf, size_t len, struct nf_policy **ret, struct nf_err *e)
{
	struct nf_json_scan_doc d;
	struct nf_policy *p;
	int r;

	if (len > NF_POLICY_MAX_BYTES)
		return nf_err_set(e, -EINVAL, "the document is %zu bytes, more than the %d allowed",
				  len, NF_POLICY_MAX_BYTES);
	/* Only the top level is recorded: the rules are walked where they lie. */
	r = nf_json_scan(buf ? buf : "", len, 1, &d, e);
	if (r < 0)
		return r;
	if (d.top != NF_JSON_SCAN_OBJECT) {
		nf_json_scan_free(&d);
		return nf_err_set(e, -EINVAL, "(root): expected an object, got an array");
	}
	p = calloc(1, sizeof(*p));
	if (p) {
		p->mode = NF_MODE_ENFORCE;
		r = policy_value(&d, e, p);
	} else {
		r = nf_err_nomem(e);
	}
	nf_json_scan_free(&d);
	if (r < 0) {
		nf_policy_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void nf_policy_free(struct nf_policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nrules; i++) {
		free(p->rules[i].ports);
		free(p->rules[i].host);
	}
	free(p->rules);
	free(p);
}

void nf_policy_resolve(struct nf_policy *p, bool own_netns)
{
	if (p->loopback == NF_LOOPBACK_UNSET)
		p->loopback = own_netns ? NF_LOOPBACK_ALLOW : NF_LOOPBACK_POLICY;
	if (p->raw_sockets == NF_RAW_UNSET)
		p->raw_sockets = p->default_action == NF_ACTION_DENY ? NF_RAW_DENY : NF_RAW_ALLOW;
}

/*
 * A decimal number without sign, leading zeros or spaces, at most max, from s up to end (not
 * included). strtoul would accept " +1" and "0x10".
 */
static int parse_decimal(const char *s, const char *end, unsigned long max, unsigned long *ret)
{
	unsigned long v = 0;
	const char *c;

	if (s == end || end - s > 6 || (s[0] == '0' && end - s > 1))
		return -EINVAL;
	for (c = s; c < end; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static bool host_bits_set(const struct nf_prefix *p)
{
	unsigned int bytes = p->family == 4 ? 4 : 16, i;

	for (i = 0; i < bytes; i++) {
		unsigned int keep = p->prefixlen > i * 8 ? p->prefixlen - i * 8 : 0;
		uint8_t mask = keep >= 8 ? 0xff : (uint8_t)(0xff00 >> keep);

		if (p->addr[i] & ~mask)
			return true;
	}
	return false;
}

/* ::ffff:a.b.c.d/96+n becomes a.b.c.d/n: the programs judge mapped destinations as IPv4. */
static void unmap_v4(struct nf_prefix *p)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (p->family != 6 || p->prefixlen < 96 || memcmp(p->addr, mapped, 12) != 0)
		return;
	p->family = 4;
	p->prefixlen -= 96;
	memmove(p->addr, p->addr + 12, 4);
	memset(p->addr + 4, 0, 12);
}

/*
 * Addresses follow inet_pton(3): IPv4 only as four decimal octets without leading zeros
 * ("010.0.0.1" could mean octal 8 to some tools, so it is refused), IPv6 in RFC 4291 text form
 * without zone. The length, after '/', is decimal without leading zeros. No whitespace anywhere.
 * -EDOM: well formed but host bits set (the caller says so rather than "not a valid prefix").
 */
int nf_prefix_parse(const char *s, struct nf_prefix *ret)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	char addr[64];
	struct nf_prefix p = { 0 };
	unsigned long len;

	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	p.family = strchr(addr, ':') ? 6 : 4;
	if (inet_pton(p.family == 4 ? AF_INET : AF_INET6, addr, p.addr) != 1)
		return -EINVAL;
	len = p.family == 4 ? 32 : 128;
	if (slash && parse_decimal(slash + 1, slash + 1 + strlen(slash + 1), len, &len) < 0)
		return -EINVAL;
	p.prefixlen = (uint8_t)len;
	if (host_bits_set(&p))
		return -EDOM;
	unmap_v4(&p);
	*ret = p;
	return 0;
}

/* "N" or "lo-hi", decimal 0..65535 without sign, leading zeros or spaces, lo <= hi. */
int nf_port_range_parse(const char *s, struct nf_port_range *ret)
{
	const char *dash = strchr(s, '-');
	const char *end = s + strlen(s);
	unsigned long lo, hi;

	if (parse_decimal(s, dash ? dash : end, 65535, &lo) < 0)
		return -EINVAL;
	hi = lo;
	if (dash && parse_decimal(dash + 1, end, 65535, &hi) < 0)
		return -EINVAL;
	if (lo > hi)
		return -EINVAL;
	ret->lo = (uint16_t)lo;
	ret->hi = (uint16_t)hi;
	return 0;
}

/* A label of a host: letters, digits, '-' and '_', 1-63 bytes. */
static bool host_label(const char *s, size_t n)
{
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

int nf_host_parse(const char *s, size_t len, char **ret)
{
	size_t start, wild = 0;
	char *h;

	if (len && s[len - 1] == '.')
		len--;
	if (len >= 3 && memcmp(s, "**.", 3) == 0)
		wild = 3;
	else if (len >= 2 && memcmp(s, "*.", 2) == 0)
		wild = 2;
	if (len == wild || len - wild > 253)
		return -EINVAL;
	start = wild;
	for (size_t i = wild; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (!host_label(s + start, i - start))
			return -EINVAL;
		start = i + 1;
	}
	h = malloc(len + 1);
	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++)
		h[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
	h[len] = '\0';
	*ret = h;
	return 0;
}

int nf_resolver_parse(const char *s, struct nf_prefix *ret)
{
	struct nf_prefix p;
	static const uint8_t zero[16], one6[16] = { [15] = 1 };

	if (strchr(s, '/') || nf_prefix_parse(s, &p) < 0)
		return -EINVAL;
	if (p.family == 4 && (p.addr[0] == 0 || p.addr[0] == 127 || p.addr[0] >= 224))
		return -EINVAL;
	if (p.family == 6 &&
	    (!memcmp(p.addr, zero, 16) || !memcmp(p.addr, one6, 16) || p.addr[0] == 0xff))
		return -EINVAL;
	*ret = p;
	return 0;
}

bool nf_policy_has_names(const struct nf_policy *p)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].host)
			return true;
	return false;
}

int nf_policy_check_names(const struct nf_policy *p, struct nf_err *e)
{
	size_t hosts = 0;

	for (size_t i = 0; i < p->nrules; i++) {
		if (!p->rules[i].host)
			continue;
		if (p->rules[i].action != NF_ACTION_ALLOW)
			return nf_json_fail(
				e,
				NF_JSON_KEY(NF_JSON_INDEX(NF_JSON_KEY(NULL, "rules"), i), "action"),
				"a host rule allows: a name cannot deny, since an "
				"address never looked up here would slip by; deny by "
				"'cidr'");
		hosts++;
	}
	if (hosts == 0)
		return 0;
	if (hosts > NF_POLICY_MAX_HOSTS)
		return nf_json_fail(e, NF_JSON_KEY(NULL, "rules"),
				    "%zu host rules, more than the %d allowed", hosts,
				    NF_POLICY_MAX_HOSTS);
	if (p->default_action != NF_ACTION_DENY)
		return nf_json_fail(e, NF_JSON_KEY(NULL, "default"),
				    "'allow' with host rules: they can only add to a default of "
				    "'deny'");
	/* Under deny the hook also refuses a container holding CAP_NET_RAW (packet sockets). */
	if (p->raw_sockets == NF_RAW_ALLOW)
		return nf_json_fail(e, NF_JSON_KEY(NULL, "raw_sockets"),
				    "'allow' with host rules: a raw or packet socket can forge the "
				    "resolver's answers, so name rules need 'deny'");
	if (p->nresolvers == 0)
		return nf_json_fail(e, NF_JSON_KEY(NULL, "resolvers"),
				    "missing: host rules learn addresses only from the answers of "
				    "the resolvers listed here");
	return 0;
}
