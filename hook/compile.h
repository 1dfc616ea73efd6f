/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compiling a policy into the map contents the BPF programs read (layout and reasoning in
 * bpf/netfence.h): one entry per distinct rule prefix per family, each naming, per protocol
 * class, an interned port set holding the final verdict of every port under "deny wins, else
 * allow, else default" over all rules covering that prefix; then, from those entries, the
 * interval tables the programs search.
 */
#ifndef NETFENCE_COMPILE_H
#define NETFENCE_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include "policy.h"
#include "netfence.h"

#define NF_MAX_PORTSETS 4096 /* 32 MiB of bitmaps; more distinct port sets is refused */

struct nf_entry4 {
	struct nf_key4 key;
	struct nf_entry val;
};

struct nf_entry6 {
	struct nf_key6 key;
	struct nf_entry val;
};

/* A name pattern as the programs look it up (bpf/netfence.h: name rules). */
struct nf_pattern {
	struct nf_name_key key;
	struct nf_name_val val;
};

struct nf_compiled {
	size_t n4, n6;
	struct nf_entry4 *v4;
	struct nf_entry6 *v6;
	size_t nportsets; /* stored sets; id = index + NF_PORTSET_FIRST */
	struct nf_portset *portsets;
	/* The tables the programs read: a tree of intervals per family (tree*.nodes nodes, its
	 * levels where tree* says) and the distinct entry values they name. */
	struct nf_tree_layout tree4, tree6;
	struct nf_node4 *nodes4;
	struct nf_node6 *nodes6;
	bool small; /* the small build's levels (netfence.h); IPv4-mapped in the IPv6 tree */
	unsigned int levels4, levels6;
	size_t nclasses;
	struct nf_entry *classes;
	/* Settings for the programs' read-only data. */
	unsigned int mode;	    /* enum nf_mode */
	unsigned int default_allow; /* 1: no matching rule → allow */
	unsigned int loopback_allow;
	unsigned int raw_deny;
	/* Name rules: their patterns and the resolvers they trust; none without. */
	bool names;
	size_t npatterns;
	struct nf_pattern *patterns;
	size_t nresolvers;
	struct nf_addr_key resolvers[NF_RESOLVERS_MAX];
};

/*
 * Compile a resolved policy (nf_policy_resolve called). 0 on success with *ret set (free with
 * nf_compiled_free); -ENOMEM, or -E2BIG with a message in err when the policy needs more than
 * NF_MAX_PORTSETS distinct port sets.
 */
int nf_compile(const struct nf_policy *p, struct nf_compiled **ret, struct nf_err *err);
void nf_compiled_free(struct nf_compiled *c);

/*
 * The port sets (ids, per enum nf_proto) that an answer naming host, an exact name, makes the
 * programs learn its addresses for: nf_names' lookup, done on c's patterns. 0, or -ENOENT when
 * no pattern allows it, -EINVAL for a name with a wildcard or too long.
 */
int nf_compiled_host_ports(const struct nf_compiled *c, const char *host,
			   uint32_t ret[NF_PROTO_COUNT]);

/* Reference verdict computed from the rules directly (no maps): for tests and `policy check`.
 * addr is network order (4 or 16 bytes per family); returns 1 allow, 0 deny. */
int nf_policy_verdict(const struct nf_policy *p, int family, const uint8_t *addr, int proto,
		      uint16_t port);

/* The verdict the compiled tables give, by running the programs' search in userspace. */
int nf_compiled_verdict(const struct nf_compiled *c, int family, const uint8_t *addr, int proto,
			uint16_t port);

#endif
