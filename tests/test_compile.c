// SPDX-License-Identifier: Apache-2.0
/*
 * Tests for hook/compile.c: the map contents a policy compiles to, and that the BPF lookup
 * emulated over them (nf_compiled_verdict) gives the verdict the rules give directly
 * (nf_policy_verdict) — on hand-written policies and on thousands of randomized probes.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "policy.h"

static struct nf_policy *parse(const char *doc, bool own_netns)
{
	struct nf_err err = { 0 };
	struct nf_policy *p = NULL;

	cr_assert_eq(nf_policy_parse(doc, strlen(doc), &p, &err), 0, "%s: %s", doc, err.msg);
	nf_policy_resolve(p, own_netns);
	return p;
}

static struct nf_compiled *compile(const struct nf_policy *p)
{
	struct nf_err err = { 0 };
	struct nf_compiled *c = NULL;

	cr_assert_eq(nf_compile(p, &c, &err), 0, "%s", err.msg);
	return c;
}

static const struct nf_entry *find4(const struct nf_compiled *c, const char *addr, int len)
{
	uint32_t a;

	cr_assert_eq(inet_pton(AF_INET, addr, &a), 1);
	for (size_t i = 0; i < c->n4; i++)
		if (c->v4[i].key.addr == a && c->v4[i].key.prefixlen == (uint32_t)len)
			return &c->v4[i].val;
	cr_assert_fail("no entry %s/%d", addr, len);
	return NULL;
}

/* Port set id as the list of ports it allows, compared with want (ascending, -1 ends). */
static void expect_ports(const struct nf_compiled *c, uint32_t id, const int *want)
{
	const struct nf_portset *set;
	int port, k = 0;

	cr_assert(id >= NF_PORTSET_FIRST && id - NF_PORTSET_FIRST < c->nportsets, "id %u", id);
	set = &c->portsets[id - NF_PORTSET_FIRST];
	for (port = 0; port < 65536; port++) {
		if (!((set->bits[port / 64] >> (port % 64)) & 1))
			continue;
		cr_expect_eq(port, want[k], "port %d allowed, want %d", port, want[k]);
		if (want[k] >= 0)
			k++;
	}
	cr_expect_eq(want[k], -1, "port %d not allowed", want[k]);
}

static int verdict_str(const struct nf_compiled *c, const struct nf_policy *p, const char *addr,
		       int proto, uint16_t port)
{
	uint8_t a[16];
	int family = strchr(addr, ':') ? 6 : 4;
	int v;

	cr_assert_eq(inet_pton(family == 4 ? AF_INET : AF_INET6, addr, a), 1);
	v = nf_compiled_verdict(c, family, a, proto, port);
	cr_expect_eq(v, nf_policy_verdict(p, family, a, proto, port), "%s proto %d port %u", addr,
		     proto, port);
	return v;
}

static bool compiled_equal(const struct nf_compiled *a, const struct nf_compiled *b)
{
	return a->n4 == b->n4 && a->n6 == b->n6 && a->nportsets == b->nportsets &&
	       !memcmp(&a->tree4, &b->tree4, sizeof(a->tree4)) &&
	       !memcmp(&a->tree6, &b->tree6, sizeof(a->tree6)) && a->nclasses == b->nclasses &&
	       !memcmp(a->nodes4, b->nodes4, a->tree4.nodes * sizeof(*a->nodes4)) &&
	       !memcmp(a->nodes6, b->nodes6, a->tree6.nodes * sizeof(*a->nodes6)) &&
	       !memcmp(a->classes, b->classes, a->nclasses * sizeof(*a->classes)) &&
	       !memcmp(a->v4, b->v4, a->n4 * sizeof(*a->v4)) &&
	       !memcmp(a->v6, b->v6, a->n6 * sizeof(*a->v6)) &&
	       !memcmp(a->portsets, b->portsets, a->nportsets * sizeof(*a->portsets)) &&
	       a->mode == b->mode && a->default_allow == b->default_allow &&
	       a->loopback_allow == b->loopback_allow && a->raw_deny == b->raw_deny;
}

/* ---- hand-written policies ---------------------------------------------------------------- */

Test(compile, empty_policies)
{
	struct nf_policy *p = parse("{\"version\":1,\"default\":\"deny\",\"rules\":[]}", true);
	struct nf_compiled *c = compile(p);
	uint8_t a[16] = { 8, 8, 8, 8 };

	cr_expect(c->n4 == 0 && c->n6 == 0 && c->nportsets == 0);
	cr_expect(!c->default_allow && c->raw_deny && c->loopback_allow);
	cr_expect_eq(c->mode, NF_MODE_ENFORCE);
	cr_expect_eq(nf_compiled_verdict(c, 4, a, NF_PROTO_TCP, 80), NF_VERDICT_DENY);
	nf_compiled_free(c);
	nf_policy_free(p);

	p = parse("{\"version\":1,\"default\":\"allow\",\"rules\":[]}", false);
	c = compile(p);
	cr_expect(c->n4 == 0 && c->n6 == 0 && c->nportsets == 0);
	cr_expect(c->default_allow && !c->raw_deny && !c->loopback_allow);
	cr_expect_eq(nf_compiled_verdict(c, 4, a, NF_PROTO_OTHER, 0), NF_VERDICT_ALLOW);
	nf_compiled_free(c);
	nf_policy_free(p);
}

Test(compile, settings)
{
	struct nf_policy *p =
		parse("{\"version\":1,\"mode\":\"audit\",\"default\":\"deny\","
		      "\"loopback\":\"policy\",\"raw_sockets\":\"allow\",\"rules\":[]}",
		      true);
	struct nf_compiled *c = compile(p);

	cr_expect_eq(c->mode, NF_MODE_AUDIT);
	cr_expect(!c->default_allow && !c->loopback_allow && !c->raw_deny);
	nf_compiled_free(c);
	nf_policy_free(p);
}

/* The example of bpf/netfence.h: an entry carries the verdict of every rule covering it. */
Test(compile, merged_entries)
{
	struct nf_policy *p = parse("{\"version\":1,\"default\":\"deny\",\"rules\":["
				    "{\"action\":\"allow\",\"cidr\":\"10.0.0.0/"
				    "8\",\"protocol\":\"tcp\",\"ports\":[443]},"
				    "{\"action\":\"deny\",\"cidr\":\"10.1.0.0/16\"}]}",
				    true);
	struct nf_compiled *c = compile(p);
	const struct nf_entry *e;
	static const int p443[] = { 443, -1 };

	cr_assert_eq(c->n4, 2);
	cr_expect_eq(c->n6, 0);
	e = find4(c, "10.0.0.0", 8);
	expect_ports(c, e->portset[NF_PROTO_TCP], p443);
	cr_expect_eq(e->portset[NF_PROTO_UDP], NF_PORTSET_NONE);
	cr_expect_eq(e->portset[NF_PROTO_OTHER], NF_PORTSET_NONE);
	e = find4(c, "10.1.0.0", 16);
	for (int k = 0; k < NF_PROTO_COUNT; k++)
		cr_expect_eq(e->portset[k], NF_PORTSET_NONE);
	cr_expect_eq(c->nportsets, 1);
	cr_expect_eq(verdict_str(c, p, "10.2.3.4", NF_PROTO_TCP, 443), 1);
	cr_expect_eq(verdict_str(c, p, "10.1.3.4", NF_PROTO_TCP, 443), 0);
	cr_expect_eq(verdict_str(c, p, "11.0.0.0", NF_PROTO_TCP, 443), 0);
	nf_compiled_free(c);
	nf_policy_free(p);
}

Test(compile, nested_allows_merge)
{
	struct nf_policy *p =
		parse("{\"version\":1,\"default\":\"deny\",\"rules\":["
		      "{\"action\":\"allow\",\"cidr\":\"10.1.2.0/"
		      "24\",\"protocol\":\"udp\",\"ports\":[53]},"
		      "{\"action\":\"allow\",\"cidr\":\"10.1.0.0/"
		      "16\",\"protocol\":\"tcp\",\"ports\":[80]},"
		      "{\"action\":\"allow\",\"cidr\":\"10.0.0.0/8\",\"protocol\":\"tcp\","
		      "\"ports\":[443,\"79-80\"]}]}",
		      true);
	struct nf_compiled *c = compile(p);
	const struct nf_entry *e8, *e16, *e24;
	static const int web[] = { 79, 80, 443, -1 }, dns[] = { 53, -1 };

	cr_assert_eq(c->n4, 3);
	e8 = find4(c, "10.0.0.0", 8);
	e16 = find4(c, "10.1.0.0", 16);
	e24 = find4(c, "10.1.2.0", 24);
	expect_ports(c, e8->portset[NF_PROTO_TCP], web);
	cr_expect_eq(e16->portset[NF_PROTO_TCP], e8->portset[NF_PROTO_TCP], "same set, same id");
	cr_expect_eq(e24->portset[NF_PROTO_TCP], e8->portset[NF_PROTO_TCP]);
	expect_ports(c, e24->portset[NF_PROTO_UDP], dns);
	cr_expect_eq(e16->portset[NF_PROTO_UDP], NF_PORTSET_NONE);
	cr_expect_eq(e24->portset[NF_PROTO_OTHER], NF_PORTSET_NONE);
	cr_expect_eq(c->nportsets, 2);
	nf_compiled_free(c);
	nf_policy_free(p);
}

Test(compile, default_allow_deny_ports)
{
	struct nf_policy *p = parse(
		"{\"version\":1,\"default\":\"allow\",\"rules\":["
		"{\"action\":\"deny\",\"cidr\":\"any\",\"protocol\":\"tcp\",\"ports\":[\"0-24\","
		"\"26-65535\"]},"
		"{\"action\":\"allow\",\"cidr\":\"192.0.2.0/24\",\"protocol\":\"tcp\"}]}",
		true);
	struct nf_compiled *c = compile(p);
	static const int smtp[] = { 25, -1 };

	cr_assert_eq(c->n4, 2, "any gives 0.0.0.0/0");
	cr_assert_eq(c->n6, 1, "any gives ::/0");
	cr_expect_eq(c->v6[0].key.prefixlen, 0);
	expect_ports(c, find4(c, "0.0.0.0", 0)->portset[NF_PROTO_TCP], smtp);
	cr_expect_eq(find4(c, "192.0.2.0", 24)->portset[NF_PROTO_TCP],
		     find4(c, "0.0.0.0", 0)->portset[NF_PROTO_TCP], "deny wins over the allow");
	cr_expect_eq(find4(c, "0.0.0.0", 0)->portset[NF_PROTO_UDP], NF_PORTSET_ALL);
	cr_expect_eq(verdict_str(c, p, "2001:db8::1", NF_PROTO_TCP, 25), 1);
	cr_expect_eq(verdict_str(c, p, "2001:db8::1", NF_PROTO_TCP, 26), 0);
	nf_compiled_free(c);
	nf_policy_free(p);
}

/* IPv4-mapped destinations are judged by the IPv4 rules only, as the programs do. */
Test(compile, mapped)
{
	struct nf_policy *p = parse(
		"{\"version\":1,\"default\":\"deny\",\"loopback\":\"policy\",\"rules\":["
		"{\"action\":\"allow\",\"cidr\":\"::ffff:10.0.0.0/104\",\"protocol\":\"tcp\"},"
		"{\"action\":\"allow\",\"cidr\":\"::/0\",\"protocol\":\"udp\"}]}",
		true);
	struct nf_compiled *c = compile(p);

	cr_assert_eq(c->n4, 1);
	cr_assert_eq(c->n6, 1);
	find4(c, "10.0.0.0", 8);
	cr_expect_eq(verdict_str(c, p, "::ffff:10.9.9.9", NF_PROTO_TCP, 1), 1);
	cr_expect_eq(verdict_str(c, p, "10.9.9.9", NF_PROTO_TCP, 1), 1);
	cr_expect_eq(verdict_str(c, p, "::ffff:10.9.9.9", NF_PROTO_UDP, 53), 0,
		     "::/0 is IPv6 only");
	cr_expect_eq(verdict_str(c, p, "2001:db8::", NF_PROTO_UDP, 53), 1);
	cr_expect_eq(verdict_str(c, p, "::ffff:11.0.0.1", NF_PROTO_TCP, 1), 0);
	nf_compiled_free(c);
	nf_policy_free(p);
}

Test(compile, loopback)
{
	static const char *const lo[] = { "127.0.0.1", "127.255.255.255", "::1",
					  "::ffff:127.0.0.1" };
	const char *doc = "{\"version\":1,\"default\":\"deny\",\"rules\":["
			  "{\"action\":\"deny\",\"cidr\":\"any\"}]}";
	struct nf_policy *own = parse(doc, true), *host = parse(doc, false);
	struct nf_compiled *cown = compile(own), *chost = compile(host);

	for (size_t i = 0; i < 4; i++) {
		cr_expect_eq(verdict_str(cown, own, lo[i], NF_PROTO_TCP, 80), 1, "%s", lo[i]);
		cr_expect_eq(verdict_str(chost, host, lo[i], NF_PROTO_TCP, 80), 0, "%s", lo[i]);
	}
	cr_expect_eq(verdict_str(cown, own, "128.0.0.1", NF_PROTO_TCP, 80), 0);
	cr_expect_eq(verdict_str(cown, own, "::2", NF_PROTO_TCP, 80), 0);
	nf_compiled_free(cown);
	nf_compiled_free(chost);
	nf_policy_free(own);
	nf_policy_free(host);
}

/* Ranges across 64-port bitmap words: every one of the 65536 ports checked. */
Test(compile, port_edges)
{
	struct nf_policy *p =
		parse("{\"version\":1,\"default\":\"deny\",\"rules\":[{\"action\":\"allow\","
		      "\"cidr\":\"any\","
		      "\"protocol\":\"tcp\",\"ports\":[0,\"63-64\",\"127-255\",\"1000-2047\","
		      "\"65472-65535\","
		      "\"65470\"]},{\"action\":\"deny\",\"cidr\":\"any\",\"protocol\":\"tcp\","
		      "\"ports\":[\"128-128\",\"1024-1087\",65535]}]}",
		      true);
	struct nf_compiled *c = compile(p);
	uint8_t a[16] = { 192, 0, 2, 1 };

	for (uint32_t port = 0; port < 65536; port++)
		cr_expect_eq(nf_compiled_verdict(c, 4, a, NF_PROTO_TCP, (uint16_t)port),
			     nf_policy_verdict(p, 4, a, NF_PROTO_TCP, (uint16_t)port), "port %u",
			     port);
	cr_expect_eq(nf_compiled_verdict(c, 4, a, NF_PROTO_TCP, 64), 1);
	cr_expect_eq(nf_compiled_verdict(c, 4, a, NF_PROTO_TCP, 65), 0);
	cr_expect_eq(nf_compiled_verdict(c, 4, a, NF_PROTO_TCP, 65535), 0);
	cr_expect_eq(nf_compiled_verdict(c, 4, a, NF_PROTO_TCP, 65534), 1);
	nf_compiled_free(c);
	nf_policy_free(p);
}

static size_t crosscheck(const struct nf_policy *p, const struct nf_compiled *c, size_t max);

Test(compile, dangling_portset_fails_closed)
{
	/* One interval, class 0, whose TCP port set does not exist; one node per level. */
	struct nf_node4 nodes[NF_TREE4_LEVELS];
	struct nf_entry cls = { { 7, NF_PORTSET_ALL, 0 } };
	struct nf_compiled c = {
		.nodes4 = nodes, .classes = &cls, .nclasses = 1, .levels4 = NF_TREE4_LEVELS
	};
	uint8_t a[16] = { 1, 2, 3, 4 };

	memset(nodes, 0xff, sizeof(nodes));
	for (int l = 0; l < NF_TREE4_LEVELS; l++) {
		nodes[l].key[0] = 0;
		memset(nodes[l].cls, 0, sizeof(nodes[l].cls));
		c.tree4.level[l] = (uint32_t)l;
	}
	c.tree4.nodes = NF_TREE4_LEVELS;
	cr_expect_eq(nf_compiled_verdict(&c, 4, a, NF_PROTO_TCP, 1), NF_VERDICT_DENY);
	cr_expect_eq(nf_compiled_verdict(&c, 4, a, NF_PROTO_UDP, 1), NF_VERDICT_ALLOW);
	cr_expect_eq(nf_compiled_verdict(&c, 5, a, NF_PROTO_UDP, 1), NF_VERDICT_DENY);
	cr_expect_eq(nf_compiled_verdict(&c, 4, a, NF_PROTO_COUNT, 1), NF_VERDICT_DENY);
	/* A node the map does not hold, or a class the class table does not: closed too. */
	c.tree4.nodes = NF_TREE4_LEVELS - 1;
	cr_expect_eq(nf_compiled_verdict(&c, 4, a, NF_PROTO_UDP, 1), NF_VERDICT_DENY);
	c.tree4.nodes = NF_TREE4_LEVELS;
	c.nclasses = 0;
	cr_expect_eq(nf_compiled_verdict(&c, 4, a, NF_PROTO_UDP, 1), NF_VERDICT_DENY);
}

/* Leaf slot s of a compiled IPv4 tree: its key and class. */
static const struct nf_node4 *leaf4(const struct nf_compiled *c, size_t s)
{
	return &c->nodes4[c->tree4.level[c->levels4 - 1] + s / NF_TREE4_FANOUT];
}

static uint32_t leaf_key4(const struct nf_compiled *c, size_t s)
{
	return leaf4(c, s)->key[s % NF_TREE4_FANOUT];
}

static uint16_t leaf_class4(const struct nf_compiled *c, size_t s)
{
	return leaf4(c, s)->cls[s % NF_TREE4_FANOUT];
}

/* The leaves hold the merged interval starts, from 0, then padding; upper levels the first key
 * of each child. */
Test(compile, interval_tree)
{
	struct nf_policy *p =
		parse("{\"version\":1,\"default\":\"deny\",\"loopback\":\"policy\",\"rules\":["
		      "{\"action\":\"allow\",\"cidr\":\"10.0.0.0/8\"},"
		      "{\"action\":\"deny\",\"cidr\":\"10.1.0.0/16\"},"
		      "{\"action\":\"allow\",\"cidr\":\"11.0.0.0/8\"},"
		      "{\"action\":\"allow\",\"cidr\":\"255.255.255.255/32\"},"
		      "{\"action\":\"allow\",\"cidr\":\"::/0\",\"protocol\":\"udp\"}]}",
		      true);
	struct nf_compiled *c = compile(p);
	static const uint32_t want[] = { 0,	     0x0a000000, 0x0a010000,
					 0x0a020000, 0x0c000000, 0xffffffff };

	/* 10/8 and 11/8 have equal values: one interval 10.2.0.0 - 11.255.255.255. */
	for (size_t i = 0; i < 6; i++)
		cr_expect_eq(leaf_key4(c, i), want[i], "start %zu: %#x", i, leaf_key4(c, i));
	for (size_t i = 6; i < NF_TREE4_FANOUT; i++)
		cr_expect_eq(leaf_key4(c, i), 0xffffffff, "padding %zu", i);
	cr_expect_eq(leaf_class4(c, 0), 0); /* the default */
	cr_expect_eq(leaf_class4(c, 1), leaf_class4(c, 3));
	cr_expect_neq(leaf_class4(c, 1), leaf_class4(c, 2));
	cr_expect_eq(leaf_class4(c, 4), 0);
	cr_expect_eq(c->tree4.max_class, leaf_class4(c, 5));
	/* One leaf: every level above is one node whose first key is 0. */
	cr_expect(c->small);
	cr_expect_eq(c->levels4, NF_TREE4_LEVELS_SMALL);
	cr_expect_eq(c->levels6, NF_TREE6_LEVELS_SMALL);
	cr_expect_eq(c->tree4.nodes, c->levels4);
	for (int l = 0; l < (int)c->levels4 - 1; l++) {
		const struct nf_node4 *node = &c->nodes4[c->tree4.level[l]];

		cr_expect_eq(node->key[0], 0, "level %d", l);
		cr_expect_eq(node->key[1], 0xffffffff, "level %d", l);
	}
	cr_expect_eq(verdict_str(c, p, "255.255.255.255", NF_PROTO_TCP, 1), 1);
	cr_expect_eq(verdict_str(c, p, "255.255.255.254", NF_PROTO_TCP, 1), 0);
	cr_expect_eq(verdict_str(c, p, "11.255.255.255", NF_PROTO_TCP, 1), 1);
	cr_expect_eq(verdict_str(c, p, "12.0.0.0", NF_PROTO_TCP, 1), 0);
	cr_expect_eq(verdict_str(c, p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NF_PROTO_UDP, 1),
		     1);
	cr_expect_eq(verdict_str(c, p, "::2", NF_PROTO_UDP, 1), 1);
	nf_compiled_free(c);
	nf_policy_free(p);
}

/* A 16384-rule tree uses every level: internal keys are the first keys of their children. */
Test(compile, interval_tree_levels)
{
	char *doc = malloc(64 + 16384 * 64), *w = doc;
	struct nf_policy *p;
	struct nf_compiled *c;

	w += sprintf(w, "{\"version\":1,\"default\":\"deny\",\"rules\":[");
	for (unsigned int i = 0; i < 16384; i++)
		w += sprintf(w, "%s{\"action\":\"allow\",\"cidr\":\"10.%u.%u.0/25\"}", i ? "," : "",
			     i >> 8, i & 255);
	strcpy(w, "]}");
	p = parse(doc, true);
	free(doc);
	c = compile(p);
	/* Every /25 allow is followed by a default gap: 32769 intervals, 2049 leaves. */
	cr_assert(!c->small);
	cr_assert_eq(c->levels4, NF_TREE4_LEVELS_LARGE);
	for (int l = NF_TREE4_LEVELS - 2; l >= 0; l--) {
		const struct nf_node4 *up = &c->nodes4[c->tree4.level[l]];
		const struct nf_node4 *down = &c->nodes4[c->tree4.level[l + 1]];
		size_t slots = (c->tree4.level[l + 1] - c->tree4.level[l]) * NF_TREE4_FANOUT;
		size_t children =
			(l + 2 < NF_TREE4_LEVELS ? c->tree4.level[l + 2] : c->tree4.nodes) -
			c->tree4.level[l + 1];

		for (size_t i = 0; i < slots; i++)
			cr_assert_eq(up[i / NF_TREE4_FANOUT].key[i % NF_TREE4_FANOUT],
				     i < children ? down[i].key[0] : 0xffffffff, "level %d key %zu",
				     l, i);
	}
	cr_expect_eq(c->tree4.nodes - c->tree4.level[NF_TREE4_LEVELS - 1], 2049);
	cr_expect_eq(c->tree4.level[1] - c->tree4.level[0], 1); /* one root */
	cr_expect_eq(leaf_key4(c, 32768), 0x0a3fff80);
	crosscheck(p, c, 64);
	nf_compiled_free(c);
	nf_policy_free(p);
}

/* n allow rules on distinct, non-adjacent IPv4 /32s: 2n + 1 intervals. */
static struct nf_compiled *hosts_policy(unsigned int n, struct nf_policy **ret)
{
	char *doc = malloc(64 + n * 64), *w = doc;
	struct nf_compiled *c;

	w += sprintf(w, "{\"version\":1,\"default\":\"deny\",\"rules\":[");
	for (unsigned int i = 0; i < n; i++)
		w += sprintf(w, "%s{\"action\":\"allow\",\"cidr\":\"10.0.%u.%u/32\"}", i ? "," : "",
			     i >> 7, (i & 127) * 2 + 1);
	strcpy(w, "]}");
	*ret = parse(doc, true);
	free(doc);
	c = compile(*ret);
	crosscheck(*ret, c, SIZE_MAX);
	return c;
}

/* The small build serves policies whose intervals fit its levels, the large one the others. */
Test(compile, tree_build_choice)
{
	struct nf_policy *p;
	struct nf_compiled *c;

	c = hosts_policy(127, &p); /* 255 intervals */
	cr_expect(c->small);
	nf_compiled_free(c);
	nf_policy_free(p);
	c = hosts_policy(128, &p); /* 257 intervals: more than 16^2 */
	cr_expect(!c->small);
	cr_expect_eq(c->levels4, NF_TREE4_LEVELS_LARGE);
	cr_expect_eq(c->levels6, NF_TREE6_LEVELS_LARGE);
	nf_compiled_free(c);
	nf_policy_free(p);
}

/* In the small build the IPv6 tree holds the IPv4 intervals at ::ffff:0.0.0.0/96: an IPv6 rule
 * covering that range must not decide for IPv4-mapped destinations, on either side of it. */
Test(compile, small_build_mapped_range)
{
	struct nf_policy *p =
		parse("{\"version\":1,\"default\":\"deny\",\"loopback\":\"allow\",\"rules\":["
		      "{\"action\":\"allow\",\"cidr\":\"::/0\"},"
		      "{\"action\":\"allow\",\"cidr\":\"10.0.0.0/8\",\"protocol\":\"udp\"}]}",
		      true);
	struct nf_compiled *c = compile(p);

	cr_assert(c->small);
	cr_expect_eq(verdict_str(c, p, "::ffff:10.1.2.3", NF_PROTO_UDP, 53), 1);
	cr_expect_eq(verdict_str(c, p, "::ffff:10.1.2.3", NF_PROTO_TCP, 53), 0);
	cr_expect_eq(verdict_str(c, p, "::ffff:11.0.0.0", NF_PROTO_UDP, 53), 0);
	cr_expect_eq(verdict_str(c, p, "::ffff:0.0.0.1", NF_PROTO_UDP, 53), 0);
	cr_expect_eq(verdict_str(c, p, "::ffff:255.255.255.255", NF_PROTO_UDP, 53), 0);
	cr_expect_eq(verdict_str(c, p, "::ffff:127.0.0.1", NF_PROTO_TCP, 80), 1);
	cr_expect_eq(verdict_str(c, p, "::fffe:ffff:ffff", NF_PROTO_TCP, 80), 1);
	cr_expect_eq(verdict_str(c, p, "::1:0:0:0", NF_PROTO_TCP, 80), 1);
	cr_expect_eq(verdict_str(c, p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NF_PROTO_TCP, 80),
		     1);
	nf_compiled_free(c);
	nf_policy_free(p);
}

/* ---- interning and its limit -------------------------------------------------------------- */

/* n allow rules on distinct /32s, rule i allowing TCP port (i % distinct). */
static struct nf_policy *distinct_ports_policy(size_t n, size_t distinct)
{
	size_t cap = 128 + n * 96, len;
	char *doc = malloc(cap), *c = doc;
	struct nf_policy *p;

	c += sprintf(c, "{\"version\":1,\"default\":\"deny\",\"rules\":[");
	for (size_t i = 0; i < n; i++)
		c += sprintf(c,
			     "%s{\"action\":\"allow\",\"cidr\":\"10.%zu.%zu.%zu\",\"protocol\":"
			     "\"tcp\",\"ports\":[%zu]}",
			     i ? "," : "", i >> 16, (i >> 8) & 255, i & 255, i % distinct);
	strcpy(c, "]}");
	len = strlen(doc);
	cr_assert_lt(len, cap);
	p = parse(doc, true);
	free(doc);
	return p;
}

Test(compile, interning)
{
	struct nf_policy *p = distinct_ports_policy(1000, 10);
	struct nf_compiled *c = compile(p);

	cr_expect_eq(c->n4, 1000);
	cr_expect_eq(c->nportsets, 10, "1000 prefixes share 10 sets");
	for (size_t i = 0; i < c->n4; i++) {
		cr_expect_eq(c->v4[i].val.portset[NF_PROTO_UDP], NF_PORTSET_NONE);
		cr_expect_geq(c->v4[i].val.portset[NF_PROTO_TCP], NF_PORTSET_FIRST);
	}
	nf_compiled_free(c);
	nf_policy_free(p);
}

/* Equal sets share an id however the rules spell them: ids compare bitmaps, not text. */
Test(compile, interning_canonical)
{
	struct nf_policy *p = parse(
		"{\"version\":1,\"default\":\"deny\",\"rules\":["
		"{\"action\":\"allow\",\"cidr\":\"10.0.0.1\",\"ports\":[\"1-2\",\"3-4\",8]},"
		"{\"action\":\"allow\",\"cidr\":\"10.0.0.2\",\"ports\":[8,\"1-4\",2,\"2-3\"]},"
		"{\"action\":\"allow\",\"cidr\":\"10.0.0.3\",\"ports\":[\"1-4\"]},"
		"{\"action\":\"allow\",\"cidr\":\"10.0.0.3\",\"ports\":[8]},"
		"{\"action\":\"allow\",\"cidr\":\"10.0.0.4\",\"ports\":[\"0-65535\"]},"
		"{\"action\":\"allow\",\"cidr\":\"10.0.0.5\",\"ports\":[\"0-9\",\"10-65535\"]}]}",
		true);
	struct nf_compiled *c = compile(p);
	static const int want[] = { 1, 2, 3, 4, 8, -1 };
	uint32_t id = find4(c, "10.0.0.1", 32)->portset[NF_PROTO_UDP];

	expect_ports(c, id, want);
	cr_expect_eq(find4(c, "10.0.0.2", 32)->portset[NF_PROTO_UDP], id);
	cr_expect_eq(find4(c, "10.0.0.3", 32)->portset[NF_PROTO_OTHER], id);
	cr_expect_eq(find4(c, "10.0.0.4", 32)->portset[NF_PROTO_TCP], NF_PORTSET_ALL);
	cr_expect_eq(find4(c, "10.0.0.5", 32)->portset[NF_PROTO_TCP], NF_PORTSET_ALL);
	cr_expect_eq(c->nportsets, 1);
	nf_compiled_free(c);
	nf_policy_free(p);
}

Test(compile, too_many_portsets)
{
	struct nf_policy *p = distinct_ports_policy(NF_MAX_PORTSETS, NF_MAX_PORTSETS);
	struct nf_compiled *c = compile(p);
	struct nf_err err = { 0 };

	cr_expect_eq(c->nportsets, NF_MAX_PORTSETS);
	nf_compiled_free(c);
	nf_policy_free(p);
	p = distinct_ports_policy(NF_MAX_PORTSETS + 1, NF_MAX_PORTSETS + 1);
	c = NULL;
	cr_expect_eq(nf_compile(p, &c, &err), -E2BIG);
	cr_expect_null(c);
	cr_expect_str_eq(err.msg,
			 "the policy needs more than 4096 distinct port sets (ports allowed "
			 "per prefix and protocol); use fewer distinct port lists");
	nf_policy_free(p);
}

/* ---- randomized cross-check --------------------------------------------------------------- */

static uint64_t rng = 0x6e6574666e6365ULL; /* fixed seed: failures reproduce */

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static const char *const pool4[] = { "10.0.0.0",  "10.1.0.0",	     "10.1.2.0",
				     "10.1.2.3",  "10.255.255.255",  "192.168.1.128",
				     "127.0.0.1", "255.255.255.255", "0.0.0.0" };
static const char *const pool6[] = {
	"2001:db8::", "2001:db8:1::", "2001:db8:1:2::1", "::",
	"::1",	      "fe80::",	      "::ffff:10.1.2.3", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	"::ffff:0:0"
};
#define POOL_SIZE (sizeof(pool4) / sizeof(pool4[0]))
static const uint16_t port_edges[] = { 0,   1,	  21,	22,   23,   53,	   80,
				       443, 1023, 1024, 8080, 8443, 65534, 65535 };

/* A prefix string as a user would write it, through the parser's own prefix code. */
static void random_prefix(struct nf_prefix *ret)
{
	bool v6 = rnd(2);
	const char *base = v6 ? pool6[rnd(POOL_SIZE)] : pool4[rnd(POOL_SIZE)];
	uint8_t a[16] = { 0 };
	unsigned int max = v6 ? 128 : 32, len = rnd(4) ? max - rnd(max / 4 + 1) : rnd(max + 1);
	char s[80];

	cr_assert_eq(inet_pton(v6 ? AF_INET6 : AF_INET, base, a), 1);
	for (unsigned int bit = len; bit < max; bit++)
		a[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
	inet_ntop(v6 ? AF_INET6 : AF_INET, a, s, 64);
	sprintf(s + strlen(s), "/%u", len);
	cr_assert_eq(nf_prefix_parse(s, ret), 0, "%s", s);
}

static void random_rule(struct nf_rule *r)
{
	static const uint8_t protos[] = { NF_PMASK_TCP, NF_PMASK_UDP, NF_PMASK_ANY };

	r->action = rnd(3) ? NF_ACTION_ALLOW : NF_ACTION_DENY;
	r->protocols = protos[rnd(3)];
	r->any = rnd(12) == 0;
	if (!r->any)
		random_prefix(&r->prefix);
	r->nports = rnd(4) ? 1 + rnd(3) : 0;
	r->ports = calloc(r->nports ? r->nports : 1, sizeof(*r->ports));
	for (size_t k = 0; k < r->nports; k++) {
		uint16_t x = port_edges[rnd(14)], y = rnd(3) ? x : port_edges[rnd(14)];

		r->ports[k].lo = x < y ? x : y;
		r->ports[k].hi = x < y ? y : x;
	}
}

static struct nf_policy *random_policy(size_t nrules)
{
	struct nf_policy *p = calloc(1, sizeof(*p));

	p->version = 1;
	p->default_action = rnd(2) ? NF_ACTION_ALLOW : NF_ACTION_DENY;
	p->loopback = rnd(2) ? NF_LOOPBACK_ALLOW : NF_LOOPBACK_POLICY;
	p->raw_sockets = NF_RAW_DENY;
	p->nrules = nrules;
	p->rules = calloc(nrules ? nrules : 1, sizeof(*p->rules));
	for (size_t i = 0; i < nrules; i++)
		random_rule(&p->rules[i]);
	return p;
}

/* Destinations around a prefix: its first and last address and their outside neighbours. */
static void probe_addrs(const struct nf_prefix *pf, uint8_t out[4][16], int *family)
{
	unsigned int bytes = pf->family == 4 ? 4 : 16, max = bytes * 8;

	*family = pf->family;
	memcpy(out[0], pf->addr, 16);
	memcpy(out[1], pf->addr, 16);
	for (unsigned int bit = pf->prefixlen; bit < max; bit++)
		out[1][bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	memcpy(out[2], out[0], 16);
	memcpy(out[3], out[1], 16);
	for (int i = (int)bytes - 1; i >= 0 && out[2][i]-- == 0; i--)
		; /* first - 1, wrapping */
	for (int i = (int)bytes - 1; i >= 0 && ++out[3][i] == 0; i--)
		; /* last + 1, wrapping */
}

static size_t probe(const struct nf_policy *p, const struct nf_compiled *c, int family,
		    const uint8_t *a)
{
	uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff };
	size_t n = 0;

	for (int proto = 0; proto < NF_PROTO_COUNT; proto++) {
		for (size_t k = 0; k < 14 + 4; k++) {
			uint16_t port = k < 14 ? port_edges[k] : (uint16_t)rnd(65536);

			if (k >= 14 && p->nrules) {
				const struct nf_rule *r = &p->rules[rnd((uint32_t)p->nrules)];

				if (r->nports)
					port = k % 2 ? r->ports[0].lo - 1 : r->ports[0].hi + 1;
			}
			cr_assert_eq(nf_compiled_verdict(c, family, a, proto, port),
				     nf_policy_verdict(p, family, a, proto, port),
				     "family %d proto %d port %u", family, proto, port);
			n++;
			if (family == 4) {
				memcpy(mapped + 12, a, 4);
				cr_assert_eq(nf_compiled_verdict(c, 6, mapped, proto, port),
					     nf_policy_verdict(p, 4, a, proto, port),
					     "mapped: proto %d port %u", proto, port);
				n++;
			}
		}
	}
	return n;
}

/* Probe around the prefixes of every rule (of at most max random rules) and random addresses. */
static size_t crosscheck(const struct nf_policy *p, const struct nf_compiled *c, size_t max)
{
	uint8_t addrs[4][16], a[16];
	size_t n = 0;
	int family;

	for (size_t k = 0; k < p->nrules && k < max; k++) {
		size_t i = p->nrules <= max ? k : rnd((uint32_t)p->nrules);

		if (p->rules[i].any)
			continue;
		probe_addrs(&p->rules[i].prefix, addrs, &family);
		for (int k = 0; k < 4; k++)
			n += probe(p, c, family, addrs[k]);
	}
	for (int k = 0; k < 8; k++) {
		struct nf_prefix pf;

		random_prefix(&pf);
		memcpy(a, pf.addr, 16);
		for (unsigned int b = pf.prefixlen; b < (pf.family == 4 ? 32u : 128u); b++)
			if (rnd(2))
				a[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		n += probe(p, c, pf.family, a);
	}
	return n;
}

static void shuffle(struct nf_policy *p)
{
	for (size_t i = p->nrules; i > 1; i--) {
		size_t j = rnd((uint32_t)i);
		struct nf_rule t = p->rules[i - 1];

		p->rules[i - 1] = p->rules[j];
		p->rules[j] = t;
	}
}

Test(compile, random_crosscheck)
{
	size_t probes = 0;

	for (int round = 0; round < 150; round++) {
		struct nf_policy *p = random_policy(rnd(40));
		struct nf_compiled *c = compile(p), *c2;

		probes += crosscheck(p, c, SIZE_MAX);
		shuffle(p);
		c2 = compile(p);
		cr_assert(compiled_equal(c, c2), "round %d: rule order changed the maps", round);
		probes += crosscheck(p, c2, SIZE_MAX);
		nf_compiled_free(c);
		nf_compiled_free(c2);
		nf_policy_free(p);
	}
	cr_log_info("%zu probes", probes);
	cr_expect_gt(probes, 100000);
}

/* Deny wins whatever the order: an allow inside a deny inside an allow. */
Test(compile, deny_wins_any_order)
{
	struct nf_policy *p =
		parse("{\"version\":1,\"default\":\"deny\",\"rules\":["
		      "{\"action\":\"allow\",\"cidr\":\"10.0.0.0/8\",\"protocol\":\"tcp\"},"
		      "{\"action\":\"deny\",\"cidr\":\"10.1.0.0/"
		      "16\",\"protocol\":\"tcp\",\"ports\":[22]},"
		      "{\"action\":\"allow\",\"cidr\":\"10.1.1.1\",\"protocol\":\"tcp\",\"ports\":["
		      "22,23]},"
		      "{\"action\":\"deny\",\"cidr\":\"any\",\"protocol\":\"udp\"},"
		      "{\"action\":\"allow\",\"cidr\":\"10.1.1.0/24\",\"protocol\":\"udp\"}]}",
		      true);
	struct nf_compiled *ref = compile(p);

	for (int i = 0; i < 50; i++) {
		struct nf_compiled *c;

		shuffle(p);
		c = compile(p);
		cr_expect(compiled_equal(ref, c), "shuffle %d", i);
		cr_expect_eq(verdict_str(c, p, "10.1.1.1", NF_PROTO_TCP, 22), 0);
		cr_expect_eq(verdict_str(c, p, "10.1.1.1", NF_PROTO_TCP, 23), 1);
		cr_expect_eq(verdict_str(c, p, "10.1.1.2", NF_PROTO_TCP, 23), 1);
		cr_expect_eq(verdict_str(c, p, "10.1.1.2", NF_PROTO_UDP, 53), 0);
		nf_compiled_free(c);
	}
	nf_compiled_free(ref);
	nf_policy_free(p);
}

/* ---- scale -------------------------------------------------------------------------------- */

static struct nf_policy *big_policy(int kind)
{
	struct nf_policy *p = calloc(1, sizeof(*p));

	p->version = 1;
	p->default_action = NF_ACTION_DENY;
	p->loopback = NF_LOOPBACK_ALLOW;
	p->raw_sockets = NF_RAW_DENY;
	p->nrules = NF_POLICY_MAX_RULES;
	p->rules = calloc(p->nrules, sizeof(*p->rules));
	for (uint32_t i = 0; i < p->nrules; i++) {
		struct nf_rule *r = &p->rules[i];
		uint32_t v = kind == 0 ? 0x0a000000 | i : 0x0a000000 | i << 8;

		r->action = i % 7 ? NF_ACTION_ALLOW : NF_ACTION_DENY;
		r->protocols = NF_PMASK_TCP;
		r->prefix.family = kind == 2 ? 6 : 4;
		r->prefix.prefixlen = kind == 0 ? 32 : kind == 1 ? 24 : 64;
		v = htonl(v);
		memcpy(kind == 2 ? r->prefix.addr + 4 : r->prefix.addr, &v, 4);
		if (kind == 2)
			r->prefix.addr[0] = 0x20;
		r->nports = 2;
		r->ports = calloc(2, sizeof(*r->ports));
		r->ports[0] = (struct nf_port_range){ 443, 443 };
		r->ports[1] = (struct nf_port_range){ 8000 + i % 16, 8080 };
	}
	return p;
}

Test(compile, scale)
{
	static const char *const kinds[] = { "16384 /32", "16384 /24", "16384 IPv6 /64" };

	for (int kind = 0; kind < 3; kind++) {
		struct nf_policy *p = big_policy(kind);
		struct nf_compiled *c = compile(p);

		cr_log_info("%s: %zu sets, %zu classes", kinds[kind], c->nportsets, c->nclasses);
		cr_expect_eq(c->n4 + c->n6, NF_POLICY_MAX_RULES);
		crosscheck(p, c, 4);
		nf_compiled_free(c);
		nf_policy_free(p);
	}
}

/* ---- name rules ---------------------------------------------------------------------------- */

/* The pattern of domain d (reversed wire form), or NULL. */
static const struct nf_name_val *pattern(const struct nf_compiled *c, const char *wire, size_t n)
{
	for (size_t i = 0; i < c->npatterns; i++)
		if (c->patterns[i].key.prefixlen == n * 8 &&
		    memcmp(c->patterns[i].key.name, wire, n) == 0)
			return &c->patterns[i].val;
	return NULL;
}

/* The ports no deny rule covers are what a learned address may open; the rules' own verdict is
 * the same as without names, but for the resolvers' UDP port 53. */
Test(compile, names_learn_sets)
{
	struct nf_policy *p = parse(
		"{\"version\":1,\"default\":\"deny\",\"resolvers\":[\"192.0.2.53\"],\"rules\":["
		"{\"action\":\"allow\",\"host\":\"api.example.com\",\"protocol\":\"tcp\","
		"\"ports\":[443]},"
		"{\"action\":\"deny\",\"cidr\":\"10.0.0.0/"
		"8\",\"protocol\":\"tcp\",\"ports\":[443]},"
		"{\"action\":\"deny\",\"cidr\":\"10.1.0.0/16\"}]}",
		true);
	struct nf_compiled *c = compile(p);
	const struct nf_entry *e8 = find4(c, "10.0.0.0", 8), *e16 = find4(c, "10.1.0.0", 16);
	const struct nf_entry *dns = find4(c, "192.0.2.53", 32);

	cr_assert(c->names);
	/* 10.0.0.0/8: every port but TCP 443 may be learned */
	cr_expect_eq(e8->portset[NF_PROTO_TCP], NF_PORTSET_NONE);
	cr_expect_eq(e8->learn[NF_PROTO_UDP], NF_PORTSET_ALL);
	cr_assert_geq(e8->learn[NF_PROTO_TCP], NF_PORTSET_FIRST);
	cr_expect_eq((c->portsets[e8->learn[NF_PROTO_TCP] - NF_PORTSET_FIRST].bits[443 / 64] >>
		      (443 % 64)) &
			     1,
		     0);
	cr_expect_eq((c->portsets[e8->learn[NF_PROTO_TCP] - NF_PORTSET_FIRST].bits[444 / 64] >>
		      (444 % 64)) &
			     1,
		     1);
	/* 10.1.0.0/16: nothing */
	for (int k = 0; k < NF_PROTO_COUNT; k++)
		cr_expect_eq(e16->learn[k], NF_PORTSET_NONE, "class %d", k);
	/* the resolver: UDP 53 by the rules themselves */
	cr_assert_geq(dns->portset[NF_PROTO_UDP], NF_PORTSET_FIRST);
	cr_expect_eq(verdict_str(c, p, "192.0.2.53", NF_PROTO_UDP, 53), NF_VERDICT_ALLOW);
	cr_expect_eq(verdict_str(c, p, "192.0.2.53", NF_PROTO_TCP, 53), NF_VERDICT_DENY);
	cr_expect_eq(verdict_str(c, p, "192.0.2.54", NF_PROTO_UDP, 53), NF_VERDICT_DENY);
	cr_expect_eq(c->nresolvers, 1);
	nf_compiled_free(c);
	nf_policy_free(p);
}

Test(compile, names_off_without_host_rules)
{
	struct nf_policy *p =
		parse("{\"version\":1,\"default\":\"deny\",\"resolvers\":[\"192.0.2.53\"],"
		      "\"rules\":[{\"action\":\"deny\",\"cidr\":\"10.0.0.0/8\"}]}",
		      true);
	struct nf_compiled *c = compile(p);

	cr_expect(!c->names);
	cr_expect_eq(c->npatterns, 0);
	cr_expect_eq(c->nresolvers, 0);
	for (size_t i = 0; i < c->nclasses; i++)
		for (int k = 0; k < NF_PROTO_COUNT; k++)
			cr_expect_eq(c->classes[i].learn[k], NF_PORTSET_NONE);
	/* no implicit rule for the resolver either */
	cr_expect_eq(verdict_str(c, p, "192.0.2.53", NF_PROTO_UDP, 53), NF_VERDICT_DENY);
	nf_compiled_free(c);
	nf_policy_free(p);
}

/* One pattern per domain, each depth holding every shorter pattern's share. */
Test(compile, names_patterns)
{
	struct nf_policy *p = parse(
		"{\"version\":1,\"default\":\"deny\",\"resolvers\":[\"192.0.2.53\"],\"rules\":["
		"{\"action\":\"allow\",\"host\":\"**.example.org\",\"protocol\":\"tcp\","
		"\"ports\":[443]},"
		"{\"action\":\"allow\",\"host\":\"*.a.example.org\",\"protocol\":\"udp\"},"
		"{\"action\":\"allow\",\"host\":\"b.a.example.org\",\"protocol\":\"tcp\","
		"\"ports\":[80]},"
		"{\"action\":\"allow\",\"host\":\"api.EXAMPLE.com\"}]}",
		true);
	struct nf_compiled *c = compile(p);
	static const char org[] = "\3org\7example", a[] = "\3org\7example\1a",
			  b[] = "\3org\7example\1a\1b", com[] = "\3com\7example\3api";
	const struct nf_name_val *vo = pattern(c, org, sizeof(org) - 1),
				 *va = pattern(c, a, sizeof(a) - 1),
				 *vb = pattern(c, b, sizeof(b) - 1),
				 *vc = pattern(c, com, sizeof(com) - 1);
	static const int p443[] = { 443, -1 }, p80_443[] = { 80, 443, -1 };

	cr_assert_eq(c->npatterns, 4);
	cr_assert(vo && va && vb && vc);
	cr_expect_eq(vo->labels, 2);
	cr_expect_eq(vb->labels, 4);
	/* example.org itself: nothing; below it, TCP 443 */
	for (int k = 0; k < NF_PROTO_COUNT; k++)
		cr_expect_eq(vo->portset[NF_DEPTH_SELF][k], NF_PORTSET_NONE);
	expect_ports(c, vo->portset[NF_DEPTH_ONE][NF_PROTO_TCP], p443);
	expect_ports(c, vo->portset[NF_DEPTH_DEEPER][NF_PROTO_TCP], p443);
	cr_expect_eq(vo->portset[NF_DEPTH_ONE][NF_PROTO_UDP], NF_PORTSET_NONE);
	/* a.example.org: TCP 443 everywhere; UDP one label below only */
	expect_ports(c, va->portset[NF_DEPTH_SELF][NF_PROTO_TCP], p443);
	cr_expect_eq(va->portset[NF_DEPTH_SELF][NF_PROTO_UDP], NF_PORTSET_NONE);
	cr_expect_eq(va->portset[NF_DEPTH_ONE][NF_PROTO_UDP], NF_PORTSET_ALL);
	cr_expect_eq(va->portset[NF_DEPTH_DEEPER][NF_PROTO_UDP], NF_PORTSET_NONE);
	/* b.a.example.org: TCP 80 and 443, all UDP; below it TCP 443 only */
	expect_ports(c, vb->portset[NF_DEPTH_SELF][NF_PROTO_TCP], p80_443);
	cr_expect_eq(vb->portset[NF_DEPTH_SELF][NF_PROTO_UDP], NF_PORTSET_ALL);
	expect_ports(c, vb->portset[NF_DEPTH_ONE][NF_PROTO_TCP], p443);
	cr_expect_eq(vb->portset[NF_DEPTH_ONE][NF_PROTO_UDP], NF_PORTSET_NONE);
	/* api.example.com, in lower case: every port of every class, for the name only */
	for (int k = 0; k < NF_PROTO_COUNT; k++) {
		cr_expect_eq(vc->portset[NF_DEPTH_SELF][k], NF_PORTSET_ALL);
		cr_expect_eq(vc->portset[NF_DEPTH_ONE][k], NF_PORTSET_NONE);
	}
	nf_compiled_free(c);
	nf_policy_free(p);
}

/* The ports a seeded answer gives a name: what the kernel's lookup of nf_names would give. */
Test(compile, host_ports)
{
	struct nf_policy *p = parse(
		"{\"version\":1,\"default\":\"deny\",\"resolvers\":[\"192.0.2.53\"],\"rules\":["
		"{\"action\":\"allow\",\"host\":\"**.example.org\",\"protocol\":\"tcp\","
		"\"ports\":[443]},"
		"{\"action\":\"allow\",\"host\":\"*.a.example.org\",\"protocol\":\"udp\"},"
		"{\"action\":\"allow\",\"host\":\"b.a.example.org\",\"protocol\":\"tcp\","
		"\"ports\":[80]},"
		"{\"action\":\"allow\",\"host\":\"api.example.com\"}]}",
		true);
	struct nf_compiled *c = compile(p);
	static const char b[] = "\3org\7example\1a\1b", org[] = "\3org\7example";
	const struct nf_name_val *vb = pattern(c, b, sizeof(b) - 1),
				 *vo = pattern(c, org, sizeof(org) - 1);
	uint32_t ports[NF_PROTO_COUNT];

	cr_assert(vb && vo);
	cr_assert_eq(nf_compiled_host_ports(c, "b.a.example.org", ports), 0);
	cr_expect_arr_eq(ports, vb->portset[NF_DEPTH_SELF], sizeof(ports));
	/* below the longest pattern: its depths */
	cr_assert_eq(nf_compiled_host_ports(c, "x.y.b.a.example.org", ports), 0);
	cr_expect_arr_eq(ports, vb->portset[NF_DEPTH_DEEPER], sizeof(ports));
	cr_assert_eq(nf_compiled_host_ports(c, "x.example.org", ports), 0);
	cr_expect_arr_eq(ports, vo->portset[NF_DEPTH_ONE], sizeof(ports));
	cr_assert_eq(nf_compiled_host_ports(c, "api.example.com", ports), 0);
	for (int k = 0; k < NF_PROTO_COUNT; k++)
		cr_expect_eq(ports[k], NF_PORTSET_ALL);
	/* no pattern, or one that allows nothing there: -ENOENT */
	cr_expect_eq(nf_compiled_host_ports(c, "example.org", ports), -ENOENT);
	cr_expect_eq(nf_compiled_host_ports(c, "x.api.example.com", ports), -ENOENT);
	cr_expect_eq(nf_compiled_host_ports(c, "example.net", ports), -ENOENT);
	cr_expect_eq(nf_compiled_host_ports(c, "*.example.org", ports), -EINVAL);
	nf_compiled_free(c);
	nf_policy_free(p);
}
