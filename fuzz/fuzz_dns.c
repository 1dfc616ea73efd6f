// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: a DNS message from a resolver, as the seeding of name rules reads it
 * (nf_dns_answer in hook/dns.c), asked for the name of its own question when it has one and for
 * a fixed one. Whatever the bytes, the parser stays inside them and inside out, and every
 * address it gives is learnable, with a TTL in NF_DNS_TTL_MIN..NF_DNS_TTL_MAX.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "dns.h"
#include "netfence.h"
#include "fuzz_common.h"

static void check(const uint8_t *d, size_t n, const char *name, uint16_t type)
{
	struct nf_dns_addr out[8];
	size_t got = 0;
	int r;

	for (uint16_t id = 0; id < 2; id++) {
		r = nf_dns_answer(d, n, (uint16_t)(n >= 2 ? d[0] << 8 | d[1] : id), name, type, out,
				  8, &got);
		if (r != 0 && r != -ENOMSG && r != -EPROTO && r != -EINVAL)
			fuzz_die("nf_dns_answer returned %d", r);
		if (r != 0)
			continue;
		if (got > 8)
			fuzz_die("%zu addresses in an array of 8", got);
		for (size_t i = 0; i < got; i++) {
			if (!nf_dns_learnable(out[i].addr, false) &&
			    !nf_dns_learnable(out[i].addr, true))
				fuzz_die("address %zu is not learnable", i);
			if (out[i].ttl < NF_DNS_TTL_MIN || out[i].ttl > NF_DNS_TTL_MAX)
				fuzz_die("TTL %u out of range", out[i].ttl);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char name[256];
	size_t at = 12, len = 0;

	check(d, n, "api.example.com", NF_DNS_TYPE_A);
	/* the message's own question as a dotted name, when it is plain labels */
	while (at < n && d[at] && d[at] < 64 && at + 1 + d[at] <= n && len + d[at] + 1 < 254) {
		if (len)
			name[len++] = '.';
		memcpy(name + len, d + at + 1, d[at]);
		len += d[at];
		at += 1 + d[at];
	}
	name[len] = '\0';
	if (len && !memchr(name, '\0', len))
		check(d, n, name, NF_DNS_TYPE_AAAA);
	return 0;
}
