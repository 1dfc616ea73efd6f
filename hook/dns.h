/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DNS messages for seeding name rules (hook/seed.c): a query for one name, and what an answer
 * to it teaches under the rules the kernel's parser follows (bpf/names.bpf.h): a response to
 * the query's id and question, standard, not truncated, without error; its answer records read
 * in order, at most NF_DNS_RECORDS of them within NF_DNS_BYTES of the message, compression
 * pointers backward only; a CNAME moves the chain when its owner is the name the chain has
 * reached (at most NF_DNS_CHAIN), an A or AAAA record of that owner gives an address, unless
 * nf_dns_learnable() says no; TTLs clamped to NF_DNS_TTL_MIN..NF_DNS_TTL_MAX.
 *
 * Pure: bytes in, addresses or -errno out. No I/O, no globals.
 */
#ifndef NETFENCE_DNS_H
#define NETFENCE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NF_DNS_TYPE_A	 1
#define NF_DNS_TYPE_AAAA 28
#define NF_DNS_QUERY_MAX 300 /* a query for any valid name fits */

struct nf_dns_addr {
	uint8_t addr[16]; /* IPv6 form, IPv4 mapped (::ffff:a.b.c.d), network order */
	uint32_t ttl;	  /* seconds, clamped */
};

/*
 * name, a host name as policy.c keeps it, in wire form, lower case, its final 0 included, zero
 * padded to size (as the kernel's programs keep names): its length, or -EINVAL (not a name),
 * -ENOSPC (buf too small).
 */
int nf_dns_name_wire(const char *name, uint8_t *buf, size_t size);

/*
 * A query (recursion desired, one question of type and class IN) for name, a host name as
 * policy.c keeps it (lower case, no final dot), with id (host order), into buf. Its length, or
 * -EINVAL (not a name), -ENOSPC (buf too small).
 */
int nf_dns_query(uint8_t *buf, size_t size, uint16_t id, const char *name, uint16_t type);

/*
 * What the answer msg of len bytes to the query (id, name, type) teaches: up to max addresses
 * in out, their number in *ret_n. 0 for an answer to the query (which may teach nothing);
 * -ENOMSG for a message that is no answer to it (another id or question, not a response:
 * ignore it and keep waiting); -EPROTO for an answer that teaches nothing by its header
 * (truncated, an error such as NXDOMAIN, not a standard query, not one question).
 */
int nf_dns_answer(const uint8_t *msg, size_t len, uint16_t id, const char *name, uint16_t type,
		  struct nf_dns_addr *out, size_t max, size_t *ret_n);

/* A record's TTL as a learned address keeps it: NF_DNS_TTL_MIN..NF_DNS_TTL_MAX seconds. */
uint32_t nf_dns_clamp_ttl(uint32_t ttl);

/* Whether an address (IPv6 form, network order) may be learned: not unspecified, loopback,
 * link-local (cloud metadata), multicast, broadcast or reserved (240/4), not EC2's
 * fd00:ec2::254. from_aaaa: it came in an AAAA record, where no IPv4-mapped or -compatible
 * address (::/64) is taken either. */
bool nf_dns_learnable(const uint8_t addr[16], bool from_aaaa);

#endif
