// SPDX-License-Identifier: Apache-2.0
/*
 * Tests for hook/dns.c: the query netfence sends to seed a name, and what an answer teaches under
 * the kernel parser's rules (bpf/names.bpf.h), each rule with a message that breaks it.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <criterion/criterion.h>

#include "dns.h"
#include "netfence.h"

#define ID 0x1234

struct msg {
	uint8_t b[8192];
	size_t len;
};

static void put(struct msg *m, const void *p, size_t n)
{
	cr_assert_leq(m->len + n, sizeof(m->b));
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void put16(struct msg *m, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	put(m, b, 2);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

/* The answer's header and question, as the resolver echoes the query for name. */
static void answer_start(struct msg *m, const char *name, uint16_t type)
{
	int n = nf_dns_query(m->b, sizeof(m->b), ID, name, type);

	cr_assert_gt(n, 0);
	m->len = (size_t)n;
	m->b[2] |= 0x80; /* a response */
	m->b[3] = 0x80;	 /* recursion available, no error */
}

static void set_ancount(struct msg *m, uint16_t n)
{
	m->b[6] = n >> 8;
	m->b[7] = n & 0xff;
}

/* A record: owner as wire bytes (a pointer 0xc0 0x0c for the question's name). */
static void rr(struct msg *m, const void *owner, size_t olen, uint16_t type, uint32_t ttl,
	       const void *rd, uint16_t rdlen)
{
	put(m, owner, olen);
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, rdlen);
	put(m, rd, rdlen);
}

static const uint8_t Q[2] = { 0xc0, 0x0c };
static const uint8_t A1[4] = { 203, 0, 113, 7 };
static const uint8_t A2[4] = { 203, 0, 113, 8 };

static size_t parse(const struct msg *m, const char *name, uint16_t type, int want,
		    struct nf_dns_addr *out)
{
	size_t n = 99;
	int r = nf_dns_answer(m->b, m->len, ID, name, type, out, 64, &n);

	cr_assert_eq(r, want, "nf_dns_answer: %d, expected %d", r, want);
	return r == 0 ? n : 0;
}

static void assert_v4(const struct nf_dns_addr *a, const uint8_t v4[4], uint32_t ttl)
{
	static const uint8_t pre[12] = { [10] = 0xff, [11] = 0xff };

	cr_assert_arr_eq(a->addr, pre, 12);
	cr_assert_arr_eq(a->addr + 12, v4, 4);
	cr_assert_eq(a->ttl, ttl);
}

Test(dns, query_bytes)
{
	static const uint8_t want[] = { 0x12, 0x34, 0x01, 0,   0,   1,	 0,   0,   0,	0,   0,
					0,    3,    'a',  'p', 'i', 7,	 'e', 'x', 'a', 'm', 'p',
					'l',  'e',  3,	  'c', 'o', 'm', 0,   0,   28,	0,   1 };
	uint8_t b[NF_DNS_QUERY_MAX];

	cr_assert_eq(nf_dns_query(b, sizeof(b), ID, "api.example.com", NF_DNS_TYPE_AAAA),
		     (int)sizeof(want));
	cr_assert_arr_eq(b, want, sizeof(want));
	cr_assert_eq(nf_dns_query(b, 10, ID, "api.example.com", 1), -ENOSPC);
	cr_assert_eq(nf_dns_query(b, sizeof(b), ID, "a..b", 1), -EINVAL);
	cr_assert_eq(nf_dns_query(b, sizeof(b), ID, "", 1), -EINVAL);
}

/* The form the kernel's programs keep names in: lower case, the final 0, zero padded. */
Test(dns, name_wire)
{
	static const uint8_t want[] = { 3, 'a', 'p', 'i', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 };
	uint8_t b[32];

	memset(b, 0xaa, sizeof(b));
	cr_assert_eq(nf_dns_name_wire("API.Example", b, sizeof(b)), (int)sizeof(want));
	cr_assert_arr_eq(b, want, sizeof(want));
	for (size_t i = sizeof(want); i < sizeof(b); i++)
		cr_assert_eq(b[i], 0);
	cr_assert_eq(nf_dns_name_wire("api.example", b, sizeof(want) - 1), -ENOSPC);
	cr_assert_eq(nf_dns_name_wire("a..b", b, sizeof(b)), -EINVAL);
	cr_assert_eq(nf_dns_name_wire("", b, sizeof(b)), -EINVAL);
}

Test(dns, a_and_aaaa)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct nf_dns_addr out[64];
	struct msg m;

	answer_start(&m, "api.example.com", NF_DNS_TYPE_A);
	set_ancount(&m, 2);
	rr(&m, Q, 2, NF_DNS_TYPE_A, 300, A1, 4);
	rr(&m, Q, 2, NF_DNS_TYPE_AAAA, 300, v6, 16);
	cr_assert_eq(parse(&m, "api.example.com", NF_DNS_TYPE_A, 0, out), 2);
	assert_v4(&out[0], A1, 300);
	cr_assert_arr_eq(out[1].addr, v6, 16);
}

/* Only what the question asked: another id, name, type or a query is no answer. */
Test(dns, not_an_answer)
{
	struct nf_dns_addr out[64];
	struct msg m;

	answer_start(&m, "api.example.com", NF_DNS_TYPE_A);
	set_ancount(&m, 1);
	rr(&m, Q, 2, NF_DNS_TYPE_A, 300, A1, 4);
	parse(&m, "api.example.org", NF_DNS_TYPE_A, -ENOMSG, out);
	parse(&m, "api.example.com", NF_DNS_TYPE_AAAA, -ENOMSG, out);
	cr_assert_eq(
		nf_dns_answer(m.b, m.len, ID + 1, "api.example.com", 1, out, 64, &(size_t){ 0 }),
		-ENOMSG);
	m.b[2] &= 0x7f; /* a query */
	parse(&m, "api.example.com", NF_DNS_TYPE_A, -ENOMSG, out);
	cr_assert_eq(nf_dns_answer(m.b, 11, ID, "api.example.com", 1, out, 64, &(size_t){ 0 }),
		     -ENOMSG);
}

Test(dns, question_case_insensitive)
{
	struct nf_dns_addr out[64];
	struct msg m;

	answer_start(&m, "API.Example.COM", NF_DNS_TYPE_A);
	set_ancount(&m, 1);
	rr(&m, Q, 2, NF_DNS_TYPE_A, 300, A1, 4);
	cr_assert_eq(parse(&m, "api.example.com", NF_DNS_TYPE_A, 0, out), 1);
}

/* Truncated, an error, another opcode: the answer teaches nothing. */
Test(dns, header_refusals)
{
	static const struct {
		int byte;
		uint8_t bits;
	} bad[] = { { 2, 0x02 }, { 3, 0x03 }, { 3, 0x02 }, { 2, 0x08 }, { 2, 0x10 } };
	struct nf_dns_addr out[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct msg m;

		answer_start(&m, "api.example.com", NF_DNS_TYPE_A);
		set_ancount(&m, 1);
		rr(&m, Q, 2, NF_DNS_TYPE_A, 300, A1, 4);
		m.b[bad[i].byte] |= bad[i].bits;
		parse(&m, "api.example.com", NF_DNS_TYPE_A, -EPROTO, out);
	}
}

Test(dns, cname_chain_by_owner)
{
	static const uint8_t target[] = { 6,   't', 'a', 'r', 'g', 'e', 't', 7,	  'e', 'x',
					  'a', 'm', 'p', 'l', 'e', 3,	'n', 'e', 't', 0 };
	static const uint8_t other[] = { 5, 'o', 't', 'h', 'e', 'r', 0xc0, 0x10 };
	struct nf_dns_addr out[64];
	struct msg m;

	answer_start(&m, "api.example.com", NF_DNS_TYPE_A);
	set_ancount(&m, 4);
	rr(&m, other, sizeof(other), NF_DNS_TYPE_A, 300, A2, 4); /* not the chain's: skipped */
	rr(&m, Q, 2, 5, 300, target, sizeof(target));
	rr(&m, Q, 2, NF_DNS_TYPE_A, 300, A2, 4); /* the chain moved on: skipped */
	rr(&m, target, sizeof(target), NF_DNS_TYPE_A, 60, A1, 4);
	cr_assert_eq(parse(&m, "api.example.com", NF_DNS_TYPE_A, 0, out), 1);
	assert_v4(&out[0], A1, 60);
}

/* A chain of NF_DNS_CHAIN CNAMEs is followed; one more stops the walk. */
Test(dns, cname_chain_bound)
{
	for (int links = NF_DNS_CHAIN; links <= NF_DNS_CHAIN + 1; links++) {
		struct nf_dns_addr out[64];
		struct msg m;
		uint8_t to[4] = { 0 };

		answer_start(&m, "c0", NF_DNS_TYPE_A);
		set_ancount(&m, links + 1);
		for (int i = 0; i < links; i++) {
			uint8_t from[] = { 2, 'c', (uint8_t)('0' + i), 0 };
			uint8_t next[] = { 2, 'c', (uint8_t)('0' + i + 1), 0 };

			rr(&m, from, 4, 5, 300, next, 4);
			memcpy(to, next, 4);
		}
		rr(&m, to, 4, NF_DNS_TYPE_A, 300, A1, 4);
		cr_assert_eq(parse(&m, "c0", NF_DNS_TYPE_A, 0, out), links == NF_DNS_CHAIN ? 1 : 0,
			     "%d links", links);
	}
}

/* At most NF_DNS_RECORDS records are read, and no more than ancount. */
Test(dns, record_bounds)
{
	struct nf_dns_addr out[64];
	struct msg m;

	answer_start(&m, "api.example.com", NF_DNS_TYPE_A);
	set_ancount(&m, NF_DNS_RECORDS + 1);
	for (int i = 0; i < NF_DNS_RECORDS + 1; i++) {
		uint8_t a[4] = { 203, 0, 113, (uint8_t)(i + 1) };

		rr(&m, Q, 2, NF_DNS_TYPE_A, 300, a, 4);
	}
	cr_assert_eq(parse(&m, "api.example.com", NF_DNS_TYPE_A, 0, out), NF_DNS_RECORDS);
	set_ancount(&m, 3);
	cr_assert_eq(parse(&m, "api.example.com", NF_DNS_TYPE_A, 0, out), 3);
}

Test(dns, ttl_clamped)
{
	struct nf_dns_addr out[64];
	struct msg m;

	answer_start(&m, "api.example.com", NF_DNS_TYPE_A);
	set_ancount(&m, 3);
	rr(&m, Q, 2, NF_DNS_TYPE_A, 0, A1, 4);
	rr(&m, Q, 2, NF_DNS_TYPE_A, 0xffffffff, A2, 4);
	rr(&m, Q, 2, NF_DNS_TYPE_A, 77, A2, 4);
	cr_assert_eq(parse(&m, "api.example.com", NF_DNS_TYPE_A, 0, out), 3);
	cr_assert_eq(out[0].ttl, NF_DNS_TTL_MIN);
	cr_assert_eq(out[1].ttl, NF_DNS_TTL_MAX);
	cr_assert_eq(out[2].ttl, 77);
}

/* Compression pointers backward only, each below the last piece, past the header. */
Test(dns, pointers)
{
	static const uint8_t fwd[2] = { 0xc0, 0xff }, self_loop[2] = { 0xc0, 0x21 },
			     into_hdr[2] = { 0xc0, 0x02 };
	const uint8_t *bad[] = { fwd, self_loop, into_hdr };
	struct nf_dns_addr out[64];

	for (size_t i = 0; i < 3; i++) {
		struct msg m;

		answer_start(&m, "api.example.com", NF_DNS_TYPE_A);
		set_ancount(&m, 2);
		cr_assert_eq(m.len, 0x21);
		rr(&m, bad[i], 2, NF_DNS_TYPE_A, 300, A2, 4);
		rr(&m, Q, 2, NF_DNS_TYPE_A, 300, A1, 4);
		/* the walk stops at the bad name: the record after it teaches nothing */
		cr_assert_eq(parse(&m, "api.example.com", NF_DNS_TYPE_A, 0, out), 0, "case %zu", i);
	}
}

/* Records of another class, or A/AAAA of the wrong length, are skipped. */
Test(dns, class_and_length)
{
	struct nf_dns_addr out[64];
	struct msg m;

	answer_start(&m, "api.example.com", NF_DNS_TYPE_A);
	set_ancount(&m, 3);
	rr(&m, Q, 2, NF_DNS_TYPE_A, 300, A2, 4);
	m.b[m.len - 4 - 6 - 2 - 1] = 3; /* class CH */
	rr(&m, Q, 2, NF_DNS_TYPE_A, 300, (uint8_t[5]){ 1, 2, 3, 4, 5 }, 5);
	rr(&m, Q, 2, NF_DNS_TYPE_A, 300, A1, 4);
	cr_assert_eq(parse(&m, "api.example.com", NF_DNS_TYPE_A, 0, out), 1);
	assert_v4(&out[0], A1, 300);
}

/* An answer cut short keeps what came before the cut. */
Test(dns, cut_short)
{
	struct nf_dns_addr out[64];
	struct msg m;

	answer_start(&m, "api.example.com", NF_DNS_TYPE_A);
	set_ancount(&m, 2);
	rr(&m, Q, 2, NF_DNS_TYPE_A, 300, A1, 4);
	rr(&m, Q, 2, NF_DNS_TYPE_A, 300, A2, 4);
	m.len -= 2;
	cr_assert_eq(parse(&m, "api.example.com", NF_DNS_TYPE_A, 0, out), 1);
}

/* Nothing read beyond NF_DNS_BYTES of the message. */
Test(dns, byte_bound)
{
	struct nf_dns_addr out[64];
	uint8_t pad[200] = { 0 };
	struct msg m;

	answer_start(&m, "api.example.com", NF_DNS_TYPE_A);
	set_ancount(&m, 31);
	for (int i = 0; i < 30; i++)
		rr(&m, Q, 2, 16, 300, pad, sizeof(pad)); /* TXT, skipped */
	cr_assert_gt(m.len, NF_DNS_BYTES);
	rr(&m, Q, 2, NF_DNS_TYPE_A, 300, A1, 4);
	cr_assert_eq(parse(&m, "api.example.com", NF_DNS_TYPE_A, 0, out), 0);
}

struct learn_case {
	uint8_t a[16];
	bool aaaa, want;
};

#define V4(x, y, z, w)                                                           \
	{                                                                        \
		[10] = 0xff, [11] = 0xff, [12] = x, [13] = y, [14] = z, [15] = w \
	}

Test(dns, learnable)
{
	static const struct learn_case cases[] = {
		{ V4(203, 0, 113, 7), false, true },
		{ V4(0, 1, 2, 3), false, false },
		{ V4(127, 0, 0, 1), false, false },
		{ V4(169, 254, 169, 254), false, false },
		{ V4(169, 253, 1, 1), false, true },
		{ V4(224, 0, 0, 1), false, false },
		{ V4(255, 255, 255, 255), false, false },
		{ V4(10, 0, 0, 1), false, true },
		{ V4(203, 0, 113, 7), true, false }, /* IPv4-mapped in an AAAA record */
		{ { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, true, true },
		{ { [15] = 1 }, true, false },
		{ { 0 }, true, false },
		{ { [12] = 1, [13] = 2, [14] = 3, [15] = 4 }, true, false }, /* compatible */
		{ { 0xfe, 0x80, [15] = 1 }, true, false },
		{ { 0xfe, 0xbf, [15] = 1 }, true, false },
		{ { 0xfe, 0xc0, [15] = 1 }, true, true },
		{ { 0xff, 0x02, [15] = 1 }, true, false },
		{ { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 }, true, false },
		{ { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x55 }, true, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(nf_dns_learnable(cases[i].a, cases[i].aaaa), cases[i].want, "case %zu",
			     i);
}

/* What is not learnable is not returned: an allowed name at the metadata address opens nothing. */
Test(dns, never_learned)
{
	static const uint8_t meta[4] = { 169, 254, 169, 254 };
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, 203, 0, 113, 7 };
	struct nf_dns_addr out[64];
	struct msg m;

	answer_start(&m, "api.example.com", NF_DNS_TYPE_A);
	set_ancount(&m, 2);
	rr(&m, Q, 2, NF_DNS_TYPE_A, 300, meta, 4);
	rr(&m, Q, 2, NF_DNS_TYPE_AAAA, 300, mapped, 16);
	cr_assert_eq(parse(&m, "api.example.com", NF_DNS_TYPE_A, 0, out), 0);
}

/* out holds max addresses; more are dropped, not written past it. */
Test(dns, out_bound)
{
	struct nf_dns_addr out[2];
	struct msg m;
	size_t n = 0;

	answer_start(&m, "api.example.com", NF_DNS_TYPE_A);
	set_ancount(&m, 3);
	for (int i = 0; i < 3; i++)
		rr(&m, Q, 2, NF_DNS_TYPE_A, 300, A1, 4);
	cr_assert_eq(nf_dns_answer(m.b, m.len, ID, "api.example.com", 1, out, 2, &n), 0);
	cr_assert_eq(n, 2);
}
