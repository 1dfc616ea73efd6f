/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The netfence policy document (docs/policy.md): parsing and validation.
 *
 * nf_policy_parse() is pure: bytes in, a policy or -errno plus one message out. The message
 * names the field by JSON pointer and quotes the bad value, e.g.
 *   /rules/3/cidr: '10.0.0.0/33' is not a valid prefix
 * The caller prefixes it with the container id and the annotation or file it came from.
 */
#ifndef NETFENCE_POLICY_H
#define NETFENCE_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "err.h"

#define NF_POLICY_MAX_RULES	16384
#define NF_POLICY_MAX_BYTES	(1024 * 1024)
#define NF_POLICY_MAX_PORTS	1024 /* entries in one rule's "ports" */
#define NF_POLICY_MAX_RESOLVERS 16
#define NF_POLICY_MAX_HOSTS	1024 /* rules with "host" */

enum nf_action {
	NF_ACTION_DENY = 0,
	NF_ACTION_ALLOW = 1,
};

/* Bit mask of protocol classes (bit n = enum nf_proto n). */
enum nf_protomask {
	NF_PMASK_TCP = 1 << 0,
	NF_PMASK_UDP = 1 << 1,
	NF_PMASK_ANY = 0x7, /* tcp, udp and everything else */
};

enum nf_loopback {
	NF_LOOPBACK_UNSET = 0, /* not in the document: chosen by context (nf_policy_resolve) */
	NF_LOOPBACK_ALLOW,
	NF_LOOPBACK_POLICY,
};

enum nf_raw {
	NF_RAW_UNSET = 0, /* same as "default" */
	NF_RAW_ALLOW,
	NF_RAW_DENY,
};

struct nf_port_range {
	uint16_t lo, hi; /* inclusive, host order */
};

struct nf_prefix {
	uint8_t family;	   /* 4 or 6 */
	uint8_t prefixlen; /* 0..32 or 0..128 */
	uint8_t addr[16];  /* network order, host bits zero; IPv4 uses addr[0..3] */
};

struct nf_rule {
	uint8_t action;		 /* enum nf_action */
	uint8_t protocols;	 /* enum nf_protomask */
	bool any;		 /* cidr "any": both 0.0.0.0/0 and ::/0 */
	struct nf_prefix prefix; /* unused when any */
	size_t nports;		 /* 0: every port */
	struct nf_port_range *ports;
	/* A name rule: "api.example.com", "*.example.org" (one label below) or "**.example.org"
	 * (any depth below), lower case, no final dot; NULL for a CIDR rule. */
	char *host;
};

struct nf_policy {
	int version;	    /* 1 */
	int mode;	    /* enum nf_mode (netfence.h) */
	int default_action; /* enum nf_action */
	int loopback;	    /* enum nf_loopback */
	int raw_sockets;    /* enum nf_raw */
	size_t nrules;
	struct nf_rule *rules;
	/* The resolvers whose answers name rules learn from: addresses (prefixlen 32 or 128). */
	size_t nresolvers;
	struct nf_prefix resolvers[NF_POLICY_MAX_RESOLVERS];
};

/*
 * Parse and validate a policy document of len bytes (need not be NUL-terminated), read with
 * json_scan.h's scanner. On success returns 0 and stores a new policy in *ret (free with
 * nf_policy_free). On failure returns -EINVAL (bad document) or -ENOMEM with the message in err
 * (which may be NULL).
 */
int nf_policy_parse(const char *buf, size_t len, struct nf_policy **ret, struct nf_err *err);

void nf_policy_free(struct nf_policy *p);

/* Fill in context-dependent defaults: loopback (own network namespace → allow, else policy). */
void nf_policy_resolve(struct nf_policy *p, bool own_netns);

/*
 * "10.0.0.0/8", "::1/128", "10.1.2.3" (= /32); host bits must be zero. 0, -EINVAL (not a
 * prefix) or -EDOM (a prefix with host bits set). No whitespace, no leading zeros in IPv4 octets
 * or in the length. IPv4-mapped prefixes (inside ::ffff:0:0/96, length >= 96) come back as the
 * equivalent IPv4 prefix, because mapped destinations are judged by the IPv4 rules; an IPv6
 * prefix shorter than /96 (::/0 included) therefore never applies to a mapped destination.
 */
int nf_prefix_parse(const char *s, struct nf_prefix *ret);

/*
 * A name rule's host of len bytes: labels of letters, digits, '-' and '_' (1-63 bytes, 253 in
 * all), the first one possibly "*" or "**"; one final dot is dropped. The lower-case form in
 * *ret (free()). 0, -EINVAL or -ENOMEM.
 */
int nf_host_parse(const char *s, size_t len, char **ret);

/* A resolver: an address without length, not unspecified, loopback or multicast. 0 or -EINVAL. */
int nf_resolver_parse(const char *s, struct nf_prefix *ret);

/*
 * What a policy with name rules must also be, beyond each field on its own: its name rules
 * allow (a name cannot deny: an address never looked up would slip by), its default is deny,
 * it lists resolvers. 0, or -EINVAL with one message in e (e may be NULL).
 */
int nf_policy_check_names(const struct nf_policy *p, struct nf_err *e);

/* Whether the policy has name rules. */
bool nf_policy_has_names(const struct nf_policy *p);

/* "443" or "8000-8080" with lo <= hi, both 0..65535, decimal without sign, spaces or leading
 * zeros. 0 or -EINVAL. */
int nf_port_range_parse(const char *s, struct nf_port_range *ret);

#endif
