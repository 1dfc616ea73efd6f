// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the policy parser and compiler (hook/policy.c, hook/compile.c).
 *
 * Every input is parsed; a failure must come with a one-line message. A policy that parses is
 * resolved (loopback chosen by a bit of the input), compiled, and the compiled maps are checked
 * against the rules: nf_compiled_verdict() (the BPF lookup emulated) must equal
 * nf_policy_verdict() (the rules read directly) for every protocol class, at addresses around
 * each rule's prefix (its first and last address, the ones just outside, the IPv4-mapped form
 * of IPv4 ones, loopback) and at ports around each rule's port ranges.
 *
 * nf_policy_parse() reads a document through the scanner (hook/json_scan.c); every input is
 * also given to the oracle (tests/policy_oracle.h), the policy rules read from jansson's tree,
 * which must accept the same documents and build the same policy.
 *
 * An input starting with a NUL byte (never a valid document) is instead a recipe: the bytes
 * after it generate a valid policy of up to 32 rules over a small pool of overlapping
 * prefixes, protocols and port ranges, so that the compiler's "deny wins, else allow, else
 * default" over nested prefixes is checked far more often than random JSON would reach it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "compile.h"
#include "policy.h"
#include "fuzz_common.h"
#include "../tests/policy_oracle.h"

#define MAX_RULES_CHECKED 32 /* rules whose neighbourhood is probed (nf_policy_verdict is O(n)) */
#define MAX_PORTS	  6

static void addr_add(uint8_t *a, int bytes, int delta)
{
	for (int i = bytes - 1; i >= 0; i--) {
		int v = a[i] + delta;

		a[i] = (uint8_t)v;
		if (v >= 0 && v <= 255)
			break;
		delta = v < 0 ? -1 : 1;
	}
}

/* Last address of a prefix: host bits set. */
static void addr_last(uint8_t *a, int bytes, int len)
{
	for (int bit = len; bit < bytes * 8; bit++)
		a[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
}

static const char *addr_str(int family, const uint8_t *a, char *buf, size_t size)
{
	return inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, size) ? buf : "?";
}

static void check_point(const struct nf_policy *p, const struct nf_compiled *c, int family,
			const uint8_t *addr, uint16_t port)
{
	for (int proto = 0; proto < NF_PROTO_COUNT; proto++) {
		int want = nf_policy_verdict(p, family, addr, proto, port);
		int got = nf_compiled_verdict(c, family, addr, proto, port);
		char buf[INET6_ADDRSTRLEN];

		if (want != got)
			fuzz_die("verdict mismatch at %s port %u proto %d: rules say %d, maps say "
				 "%d",
				 addr_str(family, addr, buf, sizeof(buf)), port, proto, want, got);
	}
}

/* An address at every port of the list; with mapped, its ::ffff:a.b.c.d form too (IPv4). */
static void check_addr(const struct nf_policy *p, const struct nf_compiled *c, int family,
		       const uint8_t *addr, const uint16_t *ports, size_t nports, bool mapped)
{
	uint8_t m[16] = { 0 };

	for (size_t i = 0; i < nports; i++)
		check_point(p, c, family, addr, ports[i]);
	if (family != 4 || !mapped)
		return;
	m[10] = m[11] = 0xff;
	memcpy(m + 12, addr, 4);
	for (size_t i = 0; i < nports; i++)
		check_point(p, c, 6, m, ports[i]);
}

/*
 * The ports that matter near rule r: the edges of one of its ranges (chosen by the input) and
 * one just outside, the first port of another rule's range, and a port from the input.
 */
static size_t rule_ports(const struct nf_policy *p, const struct nf_rule *r, unsigned int pick,
			 uint16_t derived, uint16_t *ports)
{
	const struct nf_rule *other = &p->rules[pick % p->nrules];
	size_t n = 0;

	ports[n++] = derived;
	if (r->nports) {
		const struct nf_port_range *pr = &r->ports[pick % r->nports];

		ports[n++] = pr->lo;
		ports[n++] = pr->hi;
		ports[n++] = pick & 1 ? (uint16_t)(pr->lo - 1) : (uint16_t)(pr->hi + 1);
	} else {
		ports[n++] = 0;
		ports[n++] = 65535;
	}
	if (other->nports)
		ports[n++] = other->ports[(pick >> 1) % other->nports].lo;
	return n;
}

static void cross_check(const struct nf_policy *p, const struct nf_compiled *c, const uint8_t *data,
			size_t size)
{
	static const uint8_t lo4[4] = { 127, 0, 0, 1 }, lo6[16] = { [15] = 1 }, zero[16] = { 0 };
	uint16_t derived = size >= 2 ? (uint16_t)(data[size - 2] << 8 | data[size - 1]) : 443;
	uint16_t ports[MAX_PORTS] = { 0, 53, 443, 65535, derived };

	check_addr(p, c, 4, lo4, ports, 5, true);
	check_addr(p, c, 6, lo6, ports, 5, false);
	check_addr(p, c, 4, zero, ports, 5, true);
	check_addr(p, c, 6, zero, ports, 5, false);
	for (size_t i = 0; i < p->nrules && i < MAX_RULES_CHECKED; i++) {
		const struct nf_rule *r = &p->rules[i];
		unsigned int pick = data[i % size] | data[(i * 7 + 3) % size] << 8;
		int fam = r->any ? (pick & 2 ? 6 : 4) : r->prefix.family;
		int bytes = fam == 4 ? 4 : 16, delta = pick & 4 ? -1 : 1;
		size_t n = rule_ports(p, r, pick, derived, ports);
		uint8_t a[16] = { 0 };

		if (!r->any)
			memcpy(a, r->prefix.addr, bytes);
		check_addr(p, c, fam, a, ports, n, true); /* first address */
		if (delta < 0) {
			addr_add(a, bytes, -1);
			check_addr(p, c, fam, a, ports, n, false); /* just below */
			addr_add(a, bytes, 1);
		}
		addr_last(a, bytes, r->any ? 0 : r->prefix.prefixlen);
		check_addr(p, c, fam, a, ports, n, false); /* last address */
		if (delta > 0) {
			addr_add(a, bytes, 1);
			check_addr(p, c, fam, a, ports, n, false); /* just above */
		}
	}
}

/* --- recipe mode ---------------------------------------------------------------------- */

struct recipe {
	const uint8_t *d;
	size_t n, i;
};

static unsigned int take(struct recipe *rc)
{
	return rc->i < rc->n ? rc->d[rc->i++] : 0;
}

static const char *pick(struct recipe *rc, const char *const *v, size_t n)
{
	return v[take(rc) % n];
}

static uint16_t take_port(struct recipe *rc)
{
	static const uint16_t pool[] = { 0, 1, 52, 53, 54, 79, 80, 443, 8000, 8080, 65534, 65535 };
	unsigned int b = take(rc);

	if (b < 200)
		return pool[b % (sizeof(pool) / sizeof(pool[0]))];
	return (uint16_t)(take(rc) << 8 | take(rc));
}

/* A prefix from a pool of nested and neighbouring networks, host bits cleared. */
static void take_cidr(struct recipe *rc, char *out, size_t size)
{
	static const uint8_t v4[][4] = { { 10, 0, 0, 0 },      { 10, 1, 0, 0 },
					 { 10, 1, 2, 3 },      { 127, 0, 0, 1 },
					 { 0, 0, 0, 0 },       { 192, 168, 1, 255 },
					 { 10, 255, 255, 255 } };
	static const uint8_t v6[][16] = {
		{ 0x20, 0x01, 0x0d, 0xb8 },
		{ 0x20, 0x01, 0x0d, 0xb8, 0, 1 },
		{ [15] = 1 },
		{ 0 },
		{ 0xfe, 0x80 },
		{ [10] = 0xff, [11] = 0xff, 10, 1, 2, 3 }, /* mapped: judged as IPv4 */
	};
	unsigned int kind = take(rc) % 8, len;
	uint8_t a[16] = { 0 };
	int bytes;

	if (kind == 7) {
		snprintf(out, size, "any");
		return;
	}
	bytes = kind < 4 ? 4 : 16;
	if (bytes == 4)
		memcpy(a, v4[take(rc) % (sizeof(v4) / sizeof(v4[0]))], 4);
	else
		memcpy(a, v6[take(rc) % (sizeof(v6) / sizeof(v6[0]))], 16);
	a[bytes - 1] ^= (uint8_t)(take(rc) & 3);
	len = take(rc) % (bytes * 8 + 1);
	if (bytes == 16 && a[10] == 0xff && len < 96 && (take(rc) & 1))
		len += 96; /* a mapped prefix, kept mapped */
	if (len > (unsigned int)bytes * 8)
		len = bytes * 8;
	for (unsigned int bit = len; bit < (unsigned int)bytes * 8; bit++)
		a[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
	inet_ntop(bytes == 4 ? AF_INET : AF_INET6, a, out, size);
	snprintf(out + strlen(out), size - strlen(out), "/%u", len);
}

static size_t recipe_policy(const uint8_t *data, size_t size, char *out, size_t cap)
{
	static const char *const actions[] = { "allow", "deny" };
	static const char *const modes[] = { "", "\"mode\":\"enforce\",", "\"mode\":\"audit\"," };
	static const char *const loopbacks[] = { "", "\"loopback\":\"allow\",",
						 "\"loopback\":\"policy\"," };
	static const char *const raws[] = { "", "\"raw_sockets\":\"allow\",",
					    "\"raw_sockets\":\"deny\"," };
	static const char *const protos[] = { "", ",\"protocol\":\"tcp\"", ",\"protocol\":\"udp\"",
					      ",\"protocol\":\"any\"" };
	struct recipe rc = { data, size, 0 };
	unsigned int nrules = take(&rc) % 33;
	size_t o = 0;

#define EMIT(...) (o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, __VA_ARGS__))
	EMIT("{\"version\":1,%s%s%s\"default\":\"%s\",\"rules\":[", pick(&rc, modes, 3),
	     pick(&rc, loopbacks, 3), pick(&rc, raws, 3), pick(&rc, actions, 2));
	for (unsigned int i = 0; i < nrules && o < cap; i++) {
		char cidr[INET6_ADDRSTRLEN + 8];
		unsigned int nports = take(&rc) % 6;

		take_cidr(&rc, cidr, sizeof(cidr));
		EMIT("%s{\"action\":\"%s\",\"cidr\":\"%s\"%s", i ? "," : "", pick(&rc, actions, 2),
		     cidr, pick(&rc, protos, 4));
		if (nports) {
			EMIT(",\"ports\":[");
			for (unsigned int k = 0; k < nports; k++) {
				uint16_t lo = take_port(&rc), hi = take_port(&rc);

				if (lo > hi) {
					uint16_t t = lo;

					lo = hi;
					hi = t;
				}
				if (take(&rc) & 1)
					EMIT("%s%u", k ? "," : "", lo);
				else
					EMIT("%s\"%u-%u\"", k ? "," : "", lo, hi);
			}
			EMIT("]");
		}
		EMIT("}");
	}
	EMIT("]}");
#undef EMIT
	return o < cap ? o : 0;
}

/* --- the two ways of parsing ------------------------------------------------------------- */

static bool same_rule(const struct nf_rule *x, const struct nf_rule *y)
{
	return x->action == y->action && x->protocols == y->protocols && x->any == y->any &&
	       x->prefix.family == y->prefix.family && x->prefix.prefixlen == y->prefix.prefixlen &&
	       memcmp(x->prefix.addr, y->prefix.addr, sizeof(x->prefix.addr)) == 0 &&
	       x->nports == y->nports &&
	       (!x->nports || memcmp(x->ports, y->ports, x->nports * sizeof(*x->ports)) == 0);
}

static void compare_policy(const struct nf_policy *a, const struct nf_policy *b, const char *what)
{
	if (a->version != b->version || a->mode != b->mode ||
	    a->default_action != b->default_action || a->loopback != b->loopback ||
	    a->raw_sockets != b->raw_sockets || a->nrules != b->nrules)
		fuzz_die("%s: settings differ from the oracle's", what);
	for (size_t i = 0; i < a->nrules; i++)
		if (!same_rule(&a->rules[i], &b->rules[i]))
			fuzz_die("%s: rule %zu differs from the oracle's", what, i);
}

/* nf_policy_parse() gave r and p for buf: what the oracle (on jansson's tree) gives. */
static void compare_oracle(const char *buf, size_t len, int r, const struct nf_policy *p)
{
	struct nf_policy *po = NULL;
	int ro = oracle_policy_parse(buf, len, &po);

	if (r != -ENOMEM && (r == 0) != (ro == 0))
		fuzz_die("nf_policy_parse %s what the oracle %s", r ? "refuses" : "accepts",
			 ro ? "refuses" : "accepts");
	if (r == 0 && ro == 0)
		compare_policy(p, po, "nf_policy_parse");
	nf_policy_free(po);
}

/* --- one input --------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nf_compiled *c = (void *)1;
	struct nf_policy *p = (void *)1;
	struct nf_err err;
	static char doc[64 * 1024];
	int r;

	if (size > 1 && data[0] == 0) {
		size_t len = recipe_policy(data + 1, size - 1, doc, sizeof(doc));

		memset(&err, 0xff, sizeof(err));
		r = nf_policy_parse(doc, len, &p, &err);
		if (r < 0)
			fuzz_die("recipe policy refused: %s: %.*s", err.msg, (int)len, doc);
		compare_oracle(doc, len, r, p);
		data++;
		size--;
		goto parsed;
	}
	memset(&err, 0xff, sizeof(err));
	r = nf_policy_parse((const char *)data, size, &p, &err);
	compare_oracle((const char *)data, size, r, r == 0 ? p : NULL);
	if (r < 0) {
		fuzz_check_message("nf_policy_parse", r, &err);
		if (r != -EINVAL && r != -ENOMEM && r != -EFBIG)
			fuzz_die("nf_policy_parse: unexpected %d (%s)", r, err.msg);
		if (p != (void *)1)
			fuzz_die("nf_policy_parse: *ret written on failure");
		return 0;
	}
	if (!p || p->nrules > NF_POLICY_MAX_RULES)
		fuzz_die("nf_policy_parse: bad policy (%p)", (void *)p);
	if (size == 0)
		fuzz_die("nf_policy_parse: accepted an empty document");
parsed:
	nf_policy_resolve(p, data[0] & 1);
	if (p->loopback == NF_LOOPBACK_UNSET)
		fuzz_die("nf_policy_resolve left loopback unset");
	memset(&err, 0xff, sizeof(err));
	r = nf_compile(p, &c, &err);
	if (r < 0) {
		if (r != -ENOMEM && r != -E2BIG)
			fuzz_die("nf_compile: unexpected %d", r);
		if (r == -E2BIG)
			fuzz_check_message("nf_compile", r, &err);
		nf_policy_free(p);
		return 0;
	}
	cross_check(p, c, data, size);
	nf_compiled_free(c);
	nf_policy_free(p);
	return 0;
}
