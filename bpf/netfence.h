/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types shared by the netfence BPF programs and the userspace loader.
 *
 * How a verdict is reached
 * ------------------------
 * A policy is a list of rules (action, prefix, protocol, ports). The loader compiles it into two
 * longest-prefix-match tries, one per address family, with one entry per distinct rule prefix.
 * The value of an entry describes the verdict of every port for every protocol class, taking
 * into account *all* rules whose prefix covers the entry's prefix, not only the rule that
 * introduced it. Because the prefixes that contain an address form a chain, the rules covering
 * an address are exactly the rules covering the longest rule prefix that contains it, so one
 * trie lookup finds everything that applies: the cost is that of the lookup, O(prefix length),
 * whatever the number of rules.
 *
 * Per protocol class the entry names a port set. A port set is the final verdict for each of
 * the 65536 ports after "deny wins, else allow, else default" has been applied, stored as a
 * bitmap (bit set = allow). The two sets every policy needs, "no port allowed" and "every port
 * allowed", are reserved ids and take no memory; the others are interned, so rules sharing the
 * same ports share one bitmap. An address no prefix covers gets the policy's default.
 *
 * IPv4-mapped IPv6 destinations (::ffff:a.b.c.d) are looked up in the IPv4 trie.
 */
#ifndef NETFENCE_BPF_H
#define NETFENCE_BPF_H

#ifdef __KERNEL_TYPES_FROM_VMLINUX
/* nothing: vmlinux.h provides the __u types */
#else
#include <linux/types.h>
#endif

/* Protocol classes: a rule's "protocol" selects one or more of them. */
enum nf_proto {
	NF_PROTO_TCP = 0,   /* SOCK_STREAM sockets */
	NF_PROTO_UDP = 1,   /* UDP and UDP-Lite datagrams */
	NF_PROTO_OTHER = 2, /* anything else reaching connect (e.g. ICMP ping sockets) */
	NF_PROTO_COUNT = 3,
};

/* Reserved port set ids. Ids from NF_PORTSET_FIRST index nf_portsets at (id - NF_PORTSET_FIRST). */
enum {
	NF_PORTSET_NONE = 0, /* every port denied */
	NF_PORTSET_ALL = 1,  /* every port allowed */
	NF_PORTSET_FIRST = 2,
};

#define NF_PORTSET_WORDS (65536 / 64)

/* The two verdicts a cgroup sock_addr program may return. */
enum nf_verdict {
	NF_VERDICT_DENY = 0, /* connect()/sendmsg() fails with EPERM */
	NF_VERDICT_ALLOW = 1,
};

enum nf_mode {
	NF_MODE_ENFORCE = 0,
	NF_MODE_AUDIT = 1, /* allow everything, count would-be denials */
};

/* Counter slots in nf_counters (a per-CPU array). */
enum nf_counter {
	NF_CNT_ALLOWED = 0,
	NF_CNT_DENIED = 1,
	NF_CNT_AUDITED = 2, /* audit mode: would have been denied */
	NF_CNT_COUNT = 3,
};

struct nf_key4 {
	__u32 prefixlen;
	__u32 addr; /* network byte order */
};

struct nf_key6 {
	__u32 prefixlen;
	__u32 addr[4]; /* network byte order */
};

struct nf_entry {
	__u32 portset[NF_PROTO_COUNT]; /* indexed by enum nf_proto */
};

struct nf_portset {
	__u64 bits[NF_PORTSET_WORDS]; /* bit (port % 64) of word (port / 64), host order port */
};

/* Event reported to `netfence monitor` for a denied or audited connection. */
struct nf_event {
	__u64 cgroup_id;
	__u32 addr[4]; /* network byte order; IPv4 in addr[0] */
	__u16 port;    /* host byte order */
	__u8 family;   /* 4 or 6 */
	__u8 proto;    /* enum nf_proto */
	__u8 verdict;  /* enum nf_counter: NF_CNT_DENIED or NF_CNT_AUDITED */
	__u8 hook;     /* enum nf_hook */
	__u8 pad[2];
};

enum nf_hook {
	NF_HOOK_CONNECT4 = 0,
	NF_HOOK_CONNECT6 = 1,
	NF_HOOK_SENDMSG4 = 2,
	NF_HOOK_SENDMSG6 = 3,
	NF_HOOK_SOCK_CREATE = 4,
	NF_HOOK_EGRESS = 5,
	NF_HOOK_COUNT = 6,
};

#endif /* NETFENCE_BPF_H */
