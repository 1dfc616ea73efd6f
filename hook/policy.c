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
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfence.h"
#include "policy.h"
#include "policy_names.h"

#define QUOTE_MAX 64 /* bytes of a user value shown in a message; longer ones end in "..." */
#define QUOTE_BUF (QUOTE_MAX * 4 + 8)
#define PTR_BUF	  64

/*
 * Copy at most max of the n bytes of s into out with every byte outside printable ASCII
 * escaped (and, for quoted values, the quote and backslash), so that a hostile value can
 * forge neither log lines nor terminal sequences. A cut value ends in "...".
 */
static void escape_bytes(const char *s, size_t n, size_t max, bool quoted, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < max && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (quoted && (c == '\'' || c == '\\'))
			o += snprintf(out + o, outlen - o, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			o += snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (i < n && o + 4 <= outlen)
		o += snprintf(out + o, outlen - o, "...");
	out[o < outlen ? o : outlen - 1] = '\0';
}

static void quote_string(const char *s, size_t n, char *out, size_t outlen)
{
	char esc[QUOTE_BUF - 4];

	escape_bytes(s, n, QUOTE_MAX, true, esc, sizeof(esc));
	snprintf(out, outlen, "'%s'", esc);
}

/* How a JSON value appears in a message: strings quoted, numbers and literals as written. */
static void quote_value(const json_t *v, char *out, size_t outlen)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		quote_string(json_string_value(v), json_string_length(v), out, outlen);
		break;
	case JSON_INTEGER:
		snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(out, outlen, "%.15g", json_real_value(v));
		/* Show 1.0 as 1.0: "expected an integer, got 1" would puzzle the reader. */
		if (!strpbrk(out, ".eEni") && strlen(out) + 3 <= outlen)
			strcat(out, ".0");
		break;
	case JSON_TRUE:
		snprintf(out, outlen, "true");
		break;
	case JSON_FALSE:
		snprintf(out, outlen, "false");
		break;
	case JSON_NULL:
		snprintf(out, outlen, "null");
		break;
	case JSON_ARRAY:
		snprintf(out, outlen, "an array");
		break;
	case JSON_OBJECT:
		snprintf(out, outlen, "an object");
		break;
	}
}

/*
 * A JSON pointer, turned into text only when a message needs it: formatting the pointers of
 * every rule of a valid 16384-rule policy up front cost more than validating the rules.
 */
struct ptr {
	const char *name; /* the whole pointer ("/mode") or, inside a rule, its field ("cidr") */
	long rule;	  /* index in /rules; -1 outside the rules */
	long port;	  /* index in the rule's ports; -1 outside them */
};

#define TOP_PTR(s) (&(const struct ptr){ (s), -1, -1 })

static const char *ptr_text(const struct ptr *p, char buf[static PTR_BUF])
{
	int n;

	if (p->rule < 0)
		return p->name;
	n = snprintf(buf, PTR_BUF, "/rules/%ld", p->rule);
	if (p->name && n < PTR_BUF)
		n += snprintf(buf + n, PTR_BUF - n, "/%s", p->name);
	if (p->port >= 0 && n < PTR_BUF)
		snprintf(buf + n, PTR_BUF - n, "/%ld", p->port);
	return buf;
}

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen,
						      const struct ptr *ptr, const char *fmt, ...)
{
	char buf[PTR_BUF];
	size_t n;
	va_list ap;

	if (!err || errlen == 0)
		return -EINVAL;
	snprintf(err, errlen, "%s: ", ptr_text(ptr, buf));
	n = strlen(err);
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int fail_type(char *err, size_t errlen, const struct ptr *ptr, const char *want,
		     const json_t *v)
{
	char q[QUOTE_BUF];

	quote_value(v, q, sizeof(q));
	return fail(err, errlen, ptr, "expected %s, got %s", want, q);
}

static int fail_nomem(char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* The first key of obj not in known, or NULL. */
static const char *unknown_field(const json_t *obj, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		size_t i;

		for (i = 0; known[i] && strcmp(known[i], key) != 0; i++)
			;
		if (!known[i])
			return key;
	}
	return NULL;
}

static int check_fields(const json_t *obj, const struct ptr *ptr, const char *const *known,
			const char *const *required, char *err, size_t errlen)
{
	const char *key = unknown_field(obj, known);
	char q[QUOTE_BUF];
	size_t i;

	if (key) {
		quote_string(key, strlen(key), q, sizeof(q));
		return fail(err, errlen, ptr, "unknown field %s", q);
	}
	for (i = 0; required[i]; i++)
		if (!json_object_get(obj, required[i]))
			return fail(err, errlen, ptr, "missing required field '%s'", required[i]);
	return 0;
}

static int fail_name(const json_t *v, const struct ptr *ptr, const struct nf_name *names, char *err,
		     size_t errlen)
{
	char q[QUOTE_BUF], list[128] = "";
	size_t i;

	for (i = 0; names[i].name; i++) {
		if (i)
			strcat(list, ", ");
		strcat(list, names[i].name);
	}
	quote_value(v, q, sizeof(q));
	return fail(err, errlen, ptr, "%s is not one of %s", q, list);
}

/* Look up string value v in names; *ret keeps its value when the field is absent. */
static int parse_name(const json_t *v, const struct ptr *ptr, const struct nf_name *names, int *ret,
		      char *err, size_t errlen)
{
	size_t i;

	if (!v)
		return 0;
	if (!json_is_string(v))
		return fail_type(err, errlen, ptr, "a string", v);
	for (i = 0; names[i].name; i++) {
		if (strcmp(names[i].name, json_string_value(v)) == 0 &&
		    strlen(names[i].name) == json_string_length(v)) {
			*ret = names[i].value;
			return 0;
		}
	}
	return fail_name(v, ptr, names, err, errlen);
}

static int parse_version(const json_t *v, int *ret, char *err, size_t errlen)
{
	char q[QUOTE_BUF];

	if (!json_is_integer(v))
		return fail_type(err, errlen, TOP_PTR("/version"), "an integer", v);
	if (json_integer_value(v) != 1) {
		quote_value(v, q, sizeof(q));
		return fail(err, errlen, TOP_PTR("/version"),
			    "%s is not a supported version (expected 1)", q);
	}
	*ret = 1;
	return 0;
}

/* Values are quoted on the error path only: a valid rule never needs its text. */
static int parse_port(const json_t *v, const struct ptr *ptr, struct nf_port_range *ret, char *err,
		      size_t errlen)
{
	char q[QUOTE_BUF];

	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);

		if (n >= 0 && n <= 65535) {
			ret->lo = ret->hi = (uint16_t)n;
			return 0;
		}
		quote_value(v, q, sizeof(q));
		return fail(err, errlen, ptr, "%s is out of range 0-65535", q);
	}
	if (!json_is_string(v)) {
		quote_value(v, q, sizeof(q));
		return fail(err, errlen, ptr, "%s is not a port number or a 'lo-hi' range", q);
	}
	/* nf_port_range_parse takes a C string: a value with a NUL inside is refused. */
	if (strlen(json_string_value(v)) == json_string_length(v) &&
	    nf_port_range_parse(json_string_value(v), ret) == 0)
		return 0;
	quote_value(v, q, sizeof(q));
	return fail(err, errlen, ptr, "%s is not a port 0-65535 or a range 'lo-hi' with lo <= hi",
		    q);
}

static int parse_ports(const json_t *v, size_t idx, struct nf_rule *rule, char *err, size_t errlen)
{
	struct ptr ptr = { "ports", (long)idx, -1 };
	size_t i, n;
	int r;

	if (!v)
		return 0; /* every port */
	if (!json_is_array(v))
		return fail_type(err, errlen, &ptr, "an array", v);
	n = json_array_size(v);
	if (n == 0)
		return fail(err, errlen, &ptr,
			    "must not be empty (leave \"ports\" out for every port)");
	if (n > NF_POLICY_MAX_PORTS)
		return fail(err, errlen, &ptr, "%zu entries, more than the %d allowed", n,
			    NF_POLICY_MAX_PORTS);
	rule->ports = calloc(n, sizeof(*rule->ports));
	if (!rule->ports)
		return fail_nomem(err, errlen);
	rule->nports = n;
	for (i = 0; i < n; i++) {
		ptr.port = (long)i;
		r = parse_port(json_array_get(v, i), &ptr, &rule->ports[i], err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_cidr(const json_t *v, const struct ptr *ptr, struct nf_rule *rule, char *err,
		      size_t errlen)
{
	const char *s = json_string_value(v);
	char q[QUOTE_BUF];
	int r;

	if (!json_is_string(v))
		return fail_type(err, errlen, ptr, "a string", v);
	if (strcmp(s, "any") == 0 && json_string_length(v) == 3) {
		rule->any = true;
		return 0;
	}
	r = -EINVAL;
	if (strlen(s) == json_string_length(v))
		r = nf_prefix_parse(s, &rule->prefix);
	if (r == 0)
		return 0;
	quote_value(v, q, sizeof(q));
	if (r == -EDOM)
		return fail(err, errlen, ptr, "%s has host bits set", q);
	return fail(err, errlen, ptr, "%s is not a valid prefix", q);
}

static int parse_host(const json_t *v, const struct ptr *ptr, struct nf_rule *rule, char *err,
		      size_t errlen)
{
	char q[QUOTE_BUF];
	int r;

	if (!json_is_string(v))
		return fail_type(err, errlen, ptr, "a string", v);
	r = nf_host_parse(json_string_value(v), json_string_length(v), &rule->host);
	if (r == -ENOMEM)
		return fail_nomem(err, errlen);
	if (r == 0)
		return 0;
	quote_value(v, q, sizeof(q));
	return fail(err, errlen, ptr,
		    "%s is not a host name (labels of letters, digits, '-' and '_', the first "
		    "one possibly '*' or '**')",
		    q);
}

static int parse_resolvers(const json_t *v, struct nf_policy *p, char *err, size_t errlen)
{
	char q[QUOTE_BUF], name[PTR_BUF];
	size_t i, n;

	if (!v)
		return 0;
	if (!json_is_array(v))
		return fail_type(err, errlen, TOP_PTR("/resolvers"), "an array", v);
	n = json_array_size(v);
	if (n == 0 || n > NF_POLICY_MAX_RESOLVERS)
		return fail(err, errlen, TOP_PTR("/resolvers"),
			    "%zu entries: expected 1 to %d addresses", n, NF_POLICY_MAX_RESOLVERS);
	for (i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i);

		snprintf(name, sizeof(name), "/resolvers/%zu", i);
		if (!json_is_string(e))
			return fail_type(err, errlen, TOP_PTR(name), "a string", e);
		if (strlen(json_string_value(e)) != json_string_length(e) ||
		    nf_resolver_parse(json_string_value(e), &p->resolvers[i]) < 0) {
			quote_value(e, q, sizeof(q));
			return fail(err, errlen, TOP_PTR(name),
				    "%s is not a resolver's address (an IPv4 or IPv6 address, not "
				    "unspecified, loopback or multicast)",
				    q);
		}
	}
	p->nresolvers = n;
	return 0;
}

static int parse_rule(const json_t *v, size_t idx, struct nf_rule *rule, char *err, size_t errlen)
{
	const struct ptr ptr = { NULL, (long)idx, -1 };
	int action = NF_ACTION_DENY, protocols = NF_PMASK_ANY;
	int r;

	if (!json_is_object(v))
		return fail_type(err, errlen, &ptr, "an object", v);
	r = check_fields(v, &ptr, rule_fields, rule_required, err, errlen);
	if (r < 0)
		return r;
	r = parse_name(json_object_get(v, "action"), &(const struct ptr){ "action", (long)idx, -1 },
		       action_names, &action, err, errlen);
	if (r < 0)
		return r;
	if (json_object_get(v, "cidr") && json_object_get(v, "host"))
		return fail(err, errlen, &ptr, "has both 'cidr' and 'host': a rule names one");
	if (!json_object_get(v, "cidr") && !json_object_get(v, "host"))
		return fail(err, errlen, &ptr, "missing required field 'cidr'");
	if (json_object_get(v, "cidr"))
		r = parse_cidr(json_object_get(v, "cidr"),
			       &(const struct ptr){ "cidr", (long)idx, -1 }, rule, err, errlen);
	else
		r = parse_host(json_object_get(v, "host"),
			       &(const struct ptr){ "host", (long)idx, -1 }, rule, err, errlen);
	if (r < 0)
		return r;
	r = parse_name(json_object_get(v, "protocol"),
		       &(const struct ptr){ "protocol", (long)idx, -1 }, protocol_names, &protocols,
		       err, errlen);
	if (r < 0)
		return r;
	r = parse_ports(json_object_get(v, "ports"), idx, rule, err, errlen);
	if (r < 0)
		return r;
	rule->action = (uint8_t)action;
	rule->protocols = (uint8_t)protocols;
	return 0;
}

static int parse_rules(const json_t *v, struct nf_policy *p, char *err, size_t errlen)
{
	size_t i, n;
	int r;

	if (!json_is_array(v))
		return fail_type(err, errlen, TOP_PTR("/rules"), "an array", v);
	n = json_array_size(v);
	if (n > NF_POLICY_MAX_RULES)
		return fail(err, errlen, TOP_PTR("/rules"), "%zu rules, more than the %d allowed",
			    n, NF_POLICY_MAX_RULES);
	if (n == 0)
		return 0;
	p->rules = calloc(n, sizeof(*p->rules));
	if (!p->rules)
		return fail_nomem(err, errlen);
	p->nrules = n;
	for (i = 0; i < n; i++) {
		r = parse_rule(json_array_get(v, i), i, &p->rules[i], err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_settings(const json_t *doc, struct nf_policy *p, char *err, size_t errlen)
{
	int r;

	r = parse_version(json_object_get(doc, "version"), &p->version, err, errlen);
	if (r < 0)
		return r;
	r = parse_name(json_object_get(doc, "mode"), TOP_PTR("/mode"), mode_names, &p->mode, err,
		       errlen);
	if (r < 0)
		return r;
	r = parse_name(json_object_get(doc, "default"), TOP_PTR("/default"), action_names,
		       &p->default_action, err, errlen);
	if (r < 0)
		return r;
	r = parse_name(json_object_get(doc, "loopback"), TOP_PTR("/loopback"), loopback_names,
		       &p->loopback, err, errlen);
	if (r < 0)
		return r;
	return parse_name(json_object_get(doc, "raw_sockets"), TOP_PTR("/raw_sockets"), raw_names,
			  &p->raw_sockets, err, errlen);
}

int nf_policy_from_json(const struct json_t *doc, struct nf_policy **ret, char *err, size_t errlen)
{
	struct nf_policy *p;
	int r;

	if (!json_is_object(doc))
		return fail_type(err, errlen, TOP_PTR("/"), "an object", doc);
	r = check_fields(doc, TOP_PTR("/"), policy_fields, policy_required, err, errlen);
	if (r < 0)
		return r;
	p = calloc(1, sizeof(*p));
	if (!p)
		return fail_nomem(err, errlen);
	p->mode = NF_MODE_ENFORCE;
	p->loopback = NF_LOOPBACK_UNSET;
	p->raw_sockets = NF_RAW_UNSET;
	r = parse_settings(doc, p, err, errlen);
	if (r >= 0)
		r = parse_rules(json_object_get(doc, "rules"), p, err, errlen);
	if (r >= 0)
		r = parse_resolvers(json_object_get(doc, "resolvers"), p, err, errlen);
	if (r >= 0)
		r = nf_policy_check_names(p, err, errlen);
	if (r < 0) {
		nf_policy_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

/* jansson takes a NUL as the end of input and then says "end of file expected": name it. */
static int check_nul(const char *buf, size_t len, char *err, size_t errlen)
{
	const char *nul = memchr(buf, '\0', len);
	size_t line = 1, col = 1;
	const char *c;

	if (!nul)
		return 0;
	for (c = buf; c < nul; c++) {
		col++;
		if (*c == '\n') {
			line++;
			col = 1;
		}
	}
	snprintf(err, errlen, "invalid JSON at line %zu column %zu: NUL byte", line, col);
	return -EINVAL;
}

int nf_policy_parse_jansson(const char *buf, size_t len, struct nf_policy **ret, char *err,
			    size_t errlen)
{
	char text[JSON_ERROR_TEXT_LENGTH * 4 + 8];
	json_error_t jerr;
	json_t *doc;
	int r;

	if (!buf)
		buf = ""; /* memchr and jansson want a pointer even for 0 bytes */
	if (len > NF_POLICY_MAX_BYTES)
		return fail(err, errlen, TOP_PTR("/"),
			    "document is %zu bytes, more than the %d allowed", len,
			    NF_POLICY_MAX_BYTES);
	r = check_nul(buf, len, err, errlen);
	if (r < 0)
		return r;
	/* JSON_DECODE_ANY so that a scalar document gets the same message as an array. */
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!doc) {
		/* jansson quotes the raw token it stopped at, which may hold any byte. */
		escape_bytes(jerr.text, strnlen(jerr.text, sizeof(jerr.text)), sizeof(jerr.text),
			     false, text, sizeof(text));
		snprintf(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line,
			 jerr.column, text);
		return -EINVAL;
	}
	r = nf_policy_from_json(doc, ret, err, errlen);
	json_decref(doc);
	return r;
}

/*
 * jansson's tree is the dear part of parsing a large policy (BENCHMARKS.md). Documents go through
 * the scanner first; only those it does not take as they are, the invalid ones among them, are
 * parsed again by jansson, which says what is wrong: the messages stay its own, to the byte.
 */
int nf_policy_parse(const char *buf, size_t len, struct nf_policy **ret, char *err, size_t errlen)
{
	int r = nf_policy_parse_scan(buf ? buf : "", len, ret);

	if (r == -ENOMEM)
		return fail_nomem(err, errlen);
	if (r != -EAGAIN)
		return r;
	return nf_policy_parse_jansson(buf, len, ret, err, errlen);
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

int nf_policy_check_names(const struct nf_policy *p, char *err, size_t errlen)
{
	char ptr[PTR_BUF];
	size_t hosts = 0;

	for (size_t i = 0; i < p->nrules; i++) {
		if (!p->rules[i].host)
			continue;
		snprintf(ptr, sizeof(ptr), "/rules/%zu/action", i);
		if (p->rules[i].action != NF_ACTION_ALLOW)
			return err ? fail(err, errlen, TOP_PTR(ptr),
					  "a host rule allows: a name cannot deny, since an "
					  "address never looked up here would slip by; deny by "
					  "'cidr'")
				   : -EINVAL;
		hosts++;
	}
	if (hosts == 0)
		return 0;
	if (hosts > NF_POLICY_MAX_HOSTS)
		return err ? fail(err, errlen, TOP_PTR("/rules"),
				  "%zu host rules, more than the %d allowed", hosts,
				  NF_POLICY_MAX_HOSTS)
			   : -EINVAL;
	if (p->default_action != NF_ACTION_DENY)
		return err ? fail(err, errlen, TOP_PTR("/default"),
				  "'allow' with host rules: they can only add to a default of "
				  "'deny'")
			   : -EINVAL;
	/* Under deny the hook also refuses a container holding CAP_NET_RAW (packet sockets). */
	if (p->raw_sockets == NF_RAW_ALLOW)
		return err ? fail(err, errlen, TOP_PTR("/raw_sockets"),
				  "'allow' with host rules: a raw or packet socket can forge the "
				  "resolver's answers, so name rules need 'deny'")
			   : -EINVAL;
	if (p->nresolvers == 0)
		return err ? fail(err, errlen, TOP_PTR("/resolvers"),
				  "missing: host rules learn addresses only from the answers of "
				  "the resolvers listed here")
			   : -EINVAL;
	return 0;
}
