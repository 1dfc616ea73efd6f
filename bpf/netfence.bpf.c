// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * netfence egress fence: cgroup sock_addr programs judging every connect() and unconnected
 * sendmsg() of a cgroup against the compiled policy (see netfence.h for the table layout), and a
 * sock_create program refusing sockets that bypass those hooks when raw_sockets is denied.
 *
 * Kernel rules followed throughout: context fields are copied to locals before use, the address
 * family comes from the program type (sendmsg4 may run for an AF_INET6 socket), programs return
 * only 0 or 1, ctx->sk is never dereferenced and user_port is read with a 32-bit load.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/socket.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "netfence.h"

#ifndef SOCK_STREAM
#define SOCK_STREAM 1
#define SOCK_DGRAM  2
#define SOCK_RAW    3
#endif
#ifndef AF_INET
#define AF_INET	 2
#define AF_INET6 10
#endif

#define NF_LOOPBACK4  0x7f000001 /* 127.0.0.1, host order */
#define NF_CLASS_NONE 0xffffffff /* no table: nf_class() fails closed */

/* Settings of one fence, fixed at load time (a new policy means new programs). */
const volatile __u32 nf_mode = NF_MODE_ENFORCE;
const volatile __u32 nf_loopback_allow = 0;
const volatile __u32 nf_raw_deny = 0;
/* The policy has name rules: the verdicts consult the learned addresses (bpf/names.bpf.h). */
const volatile __u32 nf_names_on = 0;
const volatile __u32 nf_events_per_sec = 0; /* per fence; 0 disables events */
/* The kernel's clock ticks (jiffies) per second: the events rate limit counts in them. */
const volatile __u32 nf_ticks_per_sec = 1000;
/* Which programs these are, for the fence's owner (netfence.h): the loader's hashes of the
 * settings, and of the settings and the policy. */
const volatile __u64 nf_settings_tag = 0;
const volatile __u64 nf_policy_tag = 0;
/* Name rules: the set's names tag (nf_fence_info.names_tag), which its patterns, resolvers and
 * learned entries carry in the maps every set shares. */
const volatile __u64 nf_names_tag = 0;
/* Where each level of the trees starts; the loader sets both (defaults: no rule). */
const volatile struct nf_tree_layout nf_tree4_levels = { .level = { 0, 1, 2, 3 }, .nodes = 4 };
const volatile struct nf_tree_layout nf_tree6_levels = { .level = { 0, 1, 2, 3, 4, 5 },
							 .nodes = 6 };

/* Sizes are the loader's, per policy. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct nf_node4);
	__uint(max_entries, 4);
} nf_tree4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct nf_node6);
	__uint(max_entries, 6);
} nf_tree6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct nf_entry);
	__uint(max_entries, 1);
} nf_classes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct nf_portset);
	__uint(max_entries, 1);
} nf_portsets SEC(".maps");

/* Per fence (netfence.h): keyed by the cgroup the programs run for, no key on the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, __u64);
	__type(value, struct nf_fence_counters);
} nf_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, __u64);
	__type(value, struct nf_fence_info);
} nf_fences SEC(".maps");

struct nf_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NF_RING_BYTES);
};

/* Each fence's events ring, by nf_fence_info.cgroup_id; the loader puts them in. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, NF_RINGS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__array(values, struct nf_ring);
} nf_rings SEC(".maps");

/*
 * Whether this program counts and reports for the fence (netfence.h: the owner). by_settings
 * is a constant: set for the programs that sets of the same settings share.
 */
static __always_inline int nf_owns(__u32 by_settings)
{
	struct nf_fence_info *f = bpf_get_local_storage(&nf_fences, 0);
	__u64 owner = by_settings ? f->owner_settings : f->owner_policy;

	return owner == 0 || owner == (by_settings ? nf_settings_tag : nf_policy_tag);
}

/* slot is a constant at every call: a fixed offset into the value. */
static __always_inline void nf_count(__u32 slot)
{
	struct nf_fence_counters *c = bpf_get_local_storage(&nf_counters, 0);

	c->cnt[slot] += 1;
}

/*
 * Shared by all CPUs: the limit is per fence. A racing window reset, or a racing read of sent,
 * only lets a few extra events through. The add's result is not used: a fetching atomic
 * (BPF_FETCH) is refused by kernels before 5.12. The window is counted in jiffies, a load:
 * the clock is read only for an event that is sent.
 */
static __always_inline int nf_event_allowed(struct nf_fence_info *f)
{
	__u64 now = bpf_jiffies64();

	if (now - f->window >= nf_ticks_per_sec) {
		f->window = now;
		f->sent = 0;
	}
	if (f->sent >= nf_events_per_sec)
		return 0;
	__sync_fetch_and_add(&f->sent, 1);
	return 1;
}

/*
 * Send an event, rate permitting, to the fence's own ring, stamped with the time; an event not
 * sent (rate limit, full ring, no ring yet) is counted as dropped. what is hook | family << 8 |
 * proto << 16 | verdict << 24 | port << 32; w01 and w23 are the destination's four 32-bit
 * words as the program read them (network byte order, low word first; IPv4 in word 0, none:
 * all 0); task: the event names the calling process; dns: why no learned address opened it,
 * nf_allow's result shifted right by 8 (0 without name rules). Inlined into global functions, one
 * per value of task and of a constant dns, so that the verifier checks it once per program rather
 * than once per path that reports, and the egress program never calls the helpers its type may not.
 * Everything comes in three registers, which stay in callee-saved ones across the helper calls: a
 * fourth argument was spilled to the stack, and a first store to a stack slot costs a speculation
 * barrier for this loader. The programs of name rules take that cost for dns, on a denial only.
 */
static __always_inline int nf_send(__u64 what, __u64 w01, __u64 w23, int task, __u64 dns)
{
	struct nf_fence_info *f = bpf_get_local_storage(&nf_fences, 0);
	struct nf_event *ev = NULL;
	__u64 key = f->cgroup_id;
	void *ring;

	if (nf_event_allowed(f)) {
		ring = bpf_map_lookup_elem(&nf_rings, &key);
		if (ring)
			ev = bpf_ringbuf_reserve(ring, sizeof(*ev), 0);
	}
	if (!ev) {
		nf_count(NF_CNT_DROPPED);
		return 0;
	}
	ev->cgroup_id = key;
	ev->addr[0] = (__u32)w01;
	ev->addr[1] = (__u32)(w01 >> 32);
	ev->addr[2] = (__u32)w23;
	ev->addr[3] = (__u32)(w23 >> 32);
	ev->port = (__u16)(what >> 32);
	ev->hook = (__u8)what;
	ev->family = (__u8)(what >> 8);
	ev->proto = (__u8)(what >> 16);
	ev->verdict = (__u8)(what >> 24);
	ev->dns_why = (__u8)dns;
	ev->dns_classes = (__u8)(dns >> 8);
	ev->time_ns = bpf_ktime_get_ns();
	ev->dns_detail = (__u32)(dns >> 24);
	ev->pid = task ? (__u32)(bpf_get_current_pid_tgid() >> 32) : 0;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

/* The sock_addr and sock_create programs run in the calling process: the event names it
 * (bpf_get_current_pid_tgid() is theirs since 5.7). */
__noinline int nf_send_event(__u64 what, __u64 w01, __u64 w23)
{
	return nf_send(what, w01, w23, 1, 0);
}

/* The programs of name rules' events, which say why no learned address opened the destination:
 * a fourth argument, on their deny path only. */
__noinline int nf_send_event_dns(__u64 what, __u64 w01, __u64 w23, __u64 dns)
{
	return nf_send(what, w01, w23, 1, dns);
}

/* The egress program may not (netfence.h), and may not call the helpers that would say. */
__noinline int nf_send_event_skb(__u64 what, __u64 w01, __u64 w23)
{
	return nf_send(what, w01, w23, 0, 0);
}

/* names: a constant, 1 in the sock_addr programs of name rules (nf_allow). */
static __always_inline void nf_report(__u32 hook, __u32 family, __u64 w01, __u64 w23, __u16 port,
				      __u32 proto, __u32 slot, __u64 dns, int names)
{
	__u64 what = hook | family << 8 | proto << 16 | slot << 24 | (__u64)port << 32;

	if (nf_events_per_sec == 0)
		return;
	if (hook == NF_HOOK_EGRESS)
		nf_send_event_skb(what, w01, w23);
	else if (names)
		nf_send_event_dns(what, w01, w23, dns);
	else
		nf_send_event(what, w01, w23);
}

/*
 * Turn a verdict into the program's return value, counting and reporting it when this program
 * owns the fence's counters (by_settings: see nf_owns). res: bit 0 allows; above bit 7, with
 * name rules, why no learned address did (nf_allow).
 */
static __always_inline int nf_finish_owned(__u64 res, __u32 hook, __u32 family, __u64 w01,
					   __u64 w23, __u16 port, __u32 proto, __u32 by_settings,
					   int names)
{
	int allow = res & 1;
	int verdict = allow || nf_mode == NF_MODE_AUDIT ? NF_VERDICT_ALLOW : NF_VERDICT_DENY;

	if (!nf_owns(by_settings))
		return verdict;
	if (allow) {
		nf_count(NF_CNT_ALLOWED);
		return NF_VERDICT_ALLOW;
	}
	if (nf_mode == NF_MODE_AUDIT) {
		nf_count(NF_CNT_AUDITED);
		nf_report(hook, family, w01, w23, port, proto, NF_CNT_AUDITED, res >> 8, names);
		return NF_VERDICT_ALLOW;
	}
	nf_count(NF_CNT_DENIED);
	nf_report(hook, family, w01, w23, port, proto, NF_CNT_DENIED, res >> 8, names);
	return NF_VERDICT_DENY;
}

/* The sock_addr programs' verdicts, which depend on the policy. */
static __always_inline int nf_finish(__u64 res, __u32 hook, __u32 family, __u64 w01, __u64 w23,
				     __u16 port, __u32 proto, int names)
{
	return nf_finish_owned(res, hook, family, w01, w23, port, proto, 0, names);
}

/*
 * Fixed-offset reads: an index that is a different constant on different paths makes the
 * verifier refuse the pointer arithmetic to loaders without CAP_PERFMON, and netfence keeps
 * only CAP_BPF and CAP_NET_ADMIN.
 */
static __always_inline __u32 nf_portset_id(const struct nf_entry *entry, __u32 proto)
{
	if (proto == NF_PROTO_TCP)
		return entry->portset[NF_PROTO_TCP];
	if (proto == NF_PROTO_UDP)
		return entry->portset[NF_PROTO_UDP];
	return entry->portset[NF_PROTO_OTHER];
}

static __always_inline int nf_portset_has(__u32 id, __u16 port)
{
	__u32 idx, word;
	struct nf_portset *set;

	if (id == NF_PORTSET_NONE)
		return 0;
	if (id == NF_PORTSET_ALL)
		return 1;
	idx = id - NF_PORTSET_FIRST;
	set = bpf_map_lookup_elem(&nf_portsets, &idx);
	if (!set)
		return 0; /* a dangling id is a loader bug: fail closed */
	word = (port >> 6) & (NF_PORTSET_WORDS - 1);
	return (set->bits[word] >> (port & 63)) & 1;
}

static __always_inline int nf_port_allowed(const struct nf_entry *entry, __u32 proto, __u16 port)
{
	return nf_portset_has(nf_portset_id(entry, proto), port);
}

static __always_inline __u32 nf_proto_class(__u32 type, __u32 protocol)
{
	if (type == SOCK_STREAM)
		return NF_PROTO_TCP;
	if (protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE)
		return NF_PROTO_UDP;
	return NF_PROTO_OTHER;
}

/*
 * Comparisons without a branch, so that the search below is one verifier path whatever the
 * table holds. The empty asm statements hide the arithmetic from clang, which would otherwise
 * turn it back into a compare-and-branch.
 */
static __always_inline __u64 nf_opaque(__u64 x)
{
	asm volatile("" : "+r"(x));
	return x;
}

/* All ones when a < b, else 0; for values below 2^63. */
static __always_inline __u64 nf_lt_mask(__u64 a, __u64 b)
{
	return nf_opaque((__s64)nf_opaque(a - b) >> 63);
}

/* All ones when the IPv6 address x < key, else 0: the sign of x - key, limb by limb. */
static __always_inline __u64 nf_lt6_mask(const struct nf_addr6 *x, const struct nf_addr6 *key)
{
	__u64 borrow = nf_opaque(x->low - key->low) >> 63;

	borrow = nf_opaque(x->mid - key->mid - borrow) >> 63;
	return nf_opaque((__s64)nf_opaque(x->top - key->top - borrow) >> 63);
}

/* NULL (fail closed) for a class the table does not hold: a loader bug. A lookup, not an index
 * into one array: the class is a constant on some paths (the last address), which the verifier
 * refuses as an offset to loaders without CAP_PERFMON. */
static __always_inline const struct nf_entry *nf_class(__u32 cls)
{
	return bpf_map_lookup_elem(&nf_classes, &cls);
}

/*
 * The class of the interval holding addr: a walk down the tree (netfence.h). At every level the
 * node's keys <= addr are counted without a branch, as FANOUT + the sum of the "<" masks, and
 * the count picks the child. These are global functions: the verifier checks each once, on its
 * own, rather than once per path of the program that calls it.
 *
 * What keeps that check small for a loader without CAP_PERFMON, which makes the verifier also
 * walk what the CPU might do speculatively (Spectre v1): a fixed number of levels and no branch
 * per key; and nodes fetched by map lookup, which returns a pointer the keys are read from at
 * fixed offsets. Adding a computed offset to a map value pointer instead makes the verifier
 * walk the rest of the search once more per level, as if the offset had been masked to 0:
 * 2^levels walks. The sums are written as trees so that the additions are not one long chain.
 */
#define NF_SUM4(m, i) ((m)[(i)] + (m)[(i) + 1] + ((m)[(i) + 2] + (m)[(i) + 3]))

__noinline __u32 nf_search4(__u32 addr)
{
	const struct nf_node4 *n = 0;
	__u32 node = 0, idx;

#pragma unroll
	for (int l = 0; l < NF_TREE4_LEVELS; l++) {
		__s64 m[NF_TREE4_FANOUT];

		idx = nf_tree4_levels.level[l] + node;
		n = bpf_map_lookup_elem(&nf_tree4, &idx);
		if (!n)
			return NF_CLASS_NONE;
#pragma unroll
		for (int k = 0; k < NF_TREE4_FANOUT; k++)
			m[k] = nf_lt_mask(addr, n->key[k]);
		node = node * NF_TREE4_FANOUT + NF_TREE4_FANOUT - 1 +
		       ((NF_SUM4(m, 0) + NF_SUM4(m, 4)) + (NF_SUM4(m, 8) + NF_SUM4(m, 12)));
	}
	return n->cls[node & (NF_TREE4_FANOUT - 1)];
}

/* The same for IPv6, with one running sum: more values alive at once than in the IPv4 walk
 * would be spilled to the stack, each spill costing a speculation barrier. */
__noinline __u32 nf_search6(__u64 hi, __u64 lo)
{
	const struct nf_node6 *n = 0;
	struct nf_addr6 x;
	__u32 node = 0, idx;

	x.top = hi >> 62;
	x.mid = (hi << 2 >> 1) | lo >> 63;
	x.low = lo << 1 >> 1;
#pragma unroll
	for (int l = 0; l < NF_TREE6_LEVELS; l++) {
		__s64 sum = 0;

		idx = nf_tree6_levels.level[l] + node;
		n = bpf_map_lookup_elem(&nf_tree6, &idx);
		if (!n)
			return NF_CLASS_NONE;
#pragma unroll
		for (int k = 0; k < NF_TREE6_FANOUT; k++)
			sum += nf_lt6_mask(&x, &n->key[k]);
		node = node * NF_TREE6_FANOUT + NF_TREE6_FANOUT - 1 + sum;
	}
	return n->cls[node & (NF_TREE6_FANOUT - 1)];
}

/* 1 when x is 0, else 0. */
static __always_inline __u64 nf_zero(__u64 x)
{
	return nf_opaque(~(x | -x)) >> 63;
}

/* a when the low bit of pick is set, else b. */
static __always_inline __u32 nf_pick(__u64 pick, __u32 a, __u32 b)
{
	__u64 m = nf_opaque(-(pick & 1));

	return (__u32)((a & m) | (b & ~m));
}

/* The ports of a class that a learned address may open: those no deny rule covers. */
static __always_inline __u32 nf_learn_id(const struct nf_entry *entry, __u32 proto)
{
	/* Read at fixed offsets and picked without a branch: as branches, clang merges this read
	 * and nf_portset_id's into one at a computed offset, refused to this loader. */
	return nf_pick(nf_zero(proto ^ NF_PROTO_TCP), entry->learn[NF_PROTO_TCP],
		       nf_pick(nf_zero(proto ^ NF_PROTO_UDP), entry->learn[NF_PROTO_UDP],
			       entry->learn[NF_PROTO_OTHER]));
}

/*
 * Bit 0: the compiled rules allow. Bit 1 (name rules only): they do not, but no deny rule
 * covers the port either, so a learned address may. Without name rules nf_names_on is a
 * constant 0 and the verifier drops the second lookup.
 */
static __always_inline int nf_entry_verdict(const struct nf_entry *entry, __u32 proto, __u16 port)
{
	if (nf_port_allowed(entry, proto, port))
		return 1;
	if (nf_names_on && nf_portset_has(nf_learn_id(entry, proto), port))
		return 2;
	return 0;
}

/*
 * The verdicts, before mode and counters, are global functions too: verified once with unknown
 * arguments, they hand their caller an unknown verdict. Inlined, most of their returns are
 * constants (loopback, no port, every port), which keeps the caller's paths from pruning each
 * other and doubles them at every later branch; verification took four times as long.
 * The special case that would leave the rest of a verdict with two verifier states, the all-ones
 * address (which the tree does not search), is settled without a branch: every destination that
 * is not an allowed loopback reaches the class lookup in one state. (Loopback keeps its early
 * return: it ends a path rather than doubling one, and costs nothing per verdict when the policy
 * does not allow it.)
 * Callers use bit 0 of the result, which is all the verifier lets a program return, and bit 1
 * with name rules (nf_entry_verdict).
 */
__noinline int nf_judge4(__u32 addr, __u32 port, __u32 proto)
{
	/* 0.0.0.0 never gets here: nf_decide4 and nf_decide6 rewrite it to 127.0.0.1. */
	__u64 host = bpf_ntohl(addr);
	const struct nf_entry *entry;
	__u32 cls;

	if (nf_loopback_allow && (host >> 24) == 127)
		return 1;
	cls = nf_pick(nf_zero(host ^ 0xffffffff), nf_tree4_levels.max_class, nf_search4(host));
	entry = nf_class(cls);
	if (!entry)
		return 0;
	return nf_entry_verdict(entry, proto, port);
}

/* IPv6 destinations (in the small build IPv4-mapped ones too); hi and lo in host order. */
__noinline int nf_judge6(__u64 hi, __u64 lo, __u32 port, __u32 proto)
{
	const struct nf_entry *entry;
	__u32 cls;

	/* :: never gets here: nf_decide6 rewrites it to ::1. */
	if (nf_loopback_allow && !hi && lo == 1)
		return 1;
#ifdef NF_TREE_SMALL
	/* ::ffff:127.0.0.0/104, judged as IPv4 loopback */
	if (nf_loopback_allow && !hi && lo >> 24 == 0xffff7f)
		return 1;
#endif
	cls = nf_pick(nf_zero(~hi) & nf_zero(~lo), nf_tree6_levels.max_class, nf_search6(hi, lo));
	entry = nf_class(cls);
	if (!entry)
		return 0;
	return nf_entry_verdict(entry, proto, port);
}

/* An IPv6 destination as two 64-bit values of its 32-bit words in network byte order, as the
 * program reads them, low word first: w01 = words 0 and 1, w23 = words 2 and 3. */
#ifndef NF_TREE_SMALL
static __always_inline int nf_is_v4mapped(__u64 w01, __u64 w23)
{
	return w01 == 0 && (__u32)w23 == bpf_htonl(0x0000ffff);
}
#endif

/*
 * IPv4-mapped destinations follow the IPv4 rules. The small build's IPv6 tree holds the IPv4
 * intervals at ::ffff:0.0.0.0/96 (hook/compile.c), so that its IPv6 programs need not carry and
 * verify the IPv4 walk as well.
 */
static __always_inline int nf_judge_any6(__u64 w01, __u64 w23, __u16 port, __u32 proto)
{
	__u64 hi, lo;

#ifndef NF_TREE_SMALL
	if (nf_is_v4mapped(w01, w23))
		return nf_judge4((__u32)(w23 >> 32), port, proto) & 3;
#endif
	hi = (__u64)bpf_ntohl((__u32)w01) << 32 | bpf_ntohl((__u32)(w01 >> 32));
	lo = (__u64)bpf_ntohl((__u32)w23) << 32 | bpf_ntohl((__u32)(w23 >> 32));
	return nf_judge6(hi, lo, port, proto) & 3;
}

#include "names.bpf.h"

/* names: a constant, 1 in the programs loaded for a policy with name rules (nf_allow). */
static __always_inline int nf_decide4(struct bpf_sock_addr *ctx, __u32 hook, int names)
{
	__u32 addr = ctx->user_ip4;
	__u32 port32 = ctx->user_port;
	__u32 type = ctx->type;
	__u32 protocol = ctx->protocol;
	__u16 port = bpf_ntohs((__u16)port32);
	__u32 proto = nf_proto_class(type, protocol);

	/*
	 * The kernel routes 0.0.0.0 to the socket's source address, or to 127.0.0.1 when it has
	 * none; the source cannot be read here, so the destination becomes 127.0.0.1: the
	 * address judged is the address reached.
	 */
	if (addr == 0) {
		addr = bpf_htonl(NF_LOOPBACK4);
		ctx->user_ip4 = addr;
	}
	return nf_finish(nf_allow(ctx, nf_judge4(addr, port, proto), 0,
				  (__u64)addr << 32 | bpf_htonl(0x0000ffff), port, proto, names),
			 hook, 4, addr, 0, port, proto, names);
}

static __always_inline int nf_decide6(struct bpf_sock_addr *ctx, __u32 hook, int names)
{
	__u32 port32 = ctx->user_port;
	__u32 type = ctx->type;
	__u32 protocol = ctx->protocol;
	__u16 port = bpf_ntohs((__u16)port32);
	__u32 proto = nf_proto_class(type, protocol);
	/* In registers, not a stack array: a first store to a stack slot is a speculation
	 * barrier for this loader, and this runs for every IPv6 destination. */
	__u64 w01 = (__u64)ctx->user_ip6[1] << 32 | ctx->user_ip6[0];
	__u64 w23 = (__u64)ctx->user_ip6[3] << 32 | ctx->user_ip6[2];
	__u64 any, mapped_any;
	__u32 w3;

	/*
	 * The kernel routes the unspecified address after this hook: ::ffff:0.0.0.0 to the
	 * socket's source address (see nf_decide4), and :: to ::ffff:127.0.0.1 over IPv4 when the
	 * source is IPv4-mapped, else to ::1. Both become the address judged (127.0.0.1, ::1; from
	 * a mapped source the kernel then refuses ::1): rewriting, rather than judging :: as both,
	 * keeps one tree walk and one verifier path. Only word 3 changes, without a branch.
	 */
	any = nf_zero(w01 | w23);
	mapped_any = nf_zero(w01 | (w23 ^ bpf_htonl(0x0000ffff)));
	w3 = (__u32)(w23 >> 32) | ((__u32)-any & bpf_htonl(1)) |
	     ((__u32)-mapped_any & bpf_htonl(NF_LOOPBACK4));
	ctx->user_ip6[3] = w3;
	w23 = (__u64)w3 << 32 | (__u32)w23;
	return nf_finish(
		nf_allow(ctx, nf_judge_any6(w01, w23, port, proto), w01, w23, port, proto, names),
		hook, 6, w01, w23, port, proto, names);
}

/*
 * Each sock_addr program comes twice: as itself, and with the lookup of learned addresses
 * (nf_allow) for a policy with name rules. The loader loads one of the two: without name
 * rules a verdict has the code, the registers and the stack it had before they existed.
 */
SEC("cgroup/connect4")
int nf_connect4(struct bpf_sock_addr *ctx)
{
	return nf_decide4(ctx, NF_HOOK_CONNECT4, 0);
}

SEC("cgroup/connect4")
int nf_connect4_names(struct bpf_sock_addr *ctx)
{
	return nf_decide4(ctx, NF_HOOK_CONNECT4, 1);
}

SEC("cgroup/connect6")
int nf_connect6(struct bpf_sock_addr *ctx)
{
	return nf_decide6(ctx, NF_HOOK_CONNECT6, 0);
}

SEC("cgroup/connect6")
int nf_connect6_names(struct bpf_sock_addr *ctx)
{
	return nf_decide6(ctx, NF_HOOK_CONNECT6, 1);
}

/*
 * A send on a connected UDP socket that carries control messages (IP_TOS, UDP_SEGMENT, ...)
 * runs the sendmsg hook without a destination: port 0, which a real destination never has
 * (the kernel refuses it before the hook). Its peer was judged at connect().
 */
static __always_inline int nf_no_destination(struct bpf_sock_addr *ctx)
{
	__u32 port32 = ctx->user_port;

	return port32 == 0;
}

SEC("cgroup/sendmsg4")
int nf_sendmsg4(struct bpf_sock_addr *ctx)
{
	if (nf_no_destination(ctx))
		return NF_VERDICT_ALLOW;
	return nf_decide4(ctx, NF_HOOK_SENDMSG4, 0);
}

SEC("cgroup/sendmsg4")
int nf_sendmsg4_names(struct bpf_sock_addr *ctx)
{
	if (nf_no_destination(ctx))
		return NF_VERDICT_ALLOW;
	return nf_decide4(ctx, NF_HOOK_SENDMSG4, 1);
}

SEC("cgroup/sendmsg6")
int nf_sendmsg6(struct bpf_sock_addr *ctx)
{
	if (nf_no_destination(ctx))
		return NF_VERDICT_ALLOW;
	return nf_decide6(ctx, NF_HOOK_SENDMSG6, 0);
}

SEC("cgroup/sendmsg6")
int nf_sendmsg6_names(struct bpf_sock_addr *ctx)
{
	if (nf_no_destination(ctx))
		return NF_VERDICT_ALLOW;
	return nf_decide6(ctx, NF_HOOK_SENDMSG6, 1);
}

/*
 * Raw, SCTP, SMC and other non-TCP/UDP inet sockets never reach the sock_addr hooks above, so
 * when raw_sockets is denied they are refused at socket(). Ping sockets (ICMP over SOCK_DGRAM)
 * are refused too: they address hosts without a port the policy could judge.
 */
SEC("cgroup/sock_create")
int nf_sock_create(struct bpf_sock *ctx)
{
	__u32 family = ctx->family;
	__u32 type = ctx->type;
	__u32 protocol = ctx->protocol;
	int allow;

	if (!nf_raw_deny || (family != AF_INET && family != AF_INET6))
		return NF_VERDICT_ALLOW;
	allow = (type == SOCK_STREAM && protocol == IPPROTO_TCP) ||
		(type == SOCK_DGRAM && (protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE));
	/* Counters are about destinations: a permitted socket() is not a verdict on one. */
	if (allow)
		return NF_VERDICT_ALLOW;
	return nf_finish_owned(0, NF_HOOK_SOCK_CREATE, family == AF_INET ? 4 : 6, 0, 0, 0,
			       NF_PROTO_OTHER, 1, 0);
}

/*
 * Source routing sends a packet to a first hop other than the destination the hooks above
 * judged: an IPv4 loose or strict source route option (set with IP_OPTIONS, or per message
 * with IP_RETOPTS, which no socket hook sees) or an IPv6 routing header (IPV6_RTHDR, allowed
 * without privileges). Such packets are dropped on their way out of the fenced cgroup.
 */
#define NF_IP6_HOPOPTS	0
#define NF_IP6_ROUTING	43
#define NF_IP6_FRAGMENT 44
#define NF_IP6_DSTOPTS	60
/* The kernel writes Hop-by-Hop, Destination Options, then the routing header: it is at most
 * the third extension header of a packet a socket sends. */
#define NF_IP6_MAX_EXTHDRS 3

/* One byte at a variable offset: indexing a stack array needs CAP_PERFMON, a helper does not. */
static __always_inline int nf_skb_byte(struct __sk_buff *skb, __u32 off)
{
	__u8 b = 0;

	if (bpf_skb_load_bytes(skb, off, &b, 1) < 0)
		return -1;
	return b;
}

/*
 * Any IPv4 option counts: scanning the option list for the source routes costs thousands of
 * verifier steps per fence without CAP_PERFMON, while options other than source routes are
 * next to unused by applications (timestamps, record route, router alert).
 */
static __always_inline int nf_source_routed4(struct __sk_buff *skb)
{
	int vihl = nf_skb_byte(skb, 0);

	return vihl > 0 && (vihl & 0xf) > 5;
}

static __always_inline int nf_source_routed6(struct __sk_buff *skb)
{
	__u8 next = 0, hdr[2] = {};
	__u32 off = 40;

	if (bpf_skb_load_bytes(skb, 6, &next, 1) < 0)
		return 0;
#pragma unroll
	for (int i = 0; i < NF_IP6_MAX_EXTHDRS; i++) {
		if (next == NF_IP6_ROUTING)
			return 1;
		if (next != NF_IP6_HOPOPTS && next != NF_IP6_DSTOPTS && next != NF_IP6_FRAGMENT)
			return 0;
		if (bpf_skb_load_bytes(skb, off, hdr, 2) < 0)
			return 0;
		/* A fragment header is 8 bytes; the others give their length in 8-byte units. */
		off += next == NF_IP6_FRAGMENT ? 8 : ((__u32)hdr[1] + 1) * 8;
		next = hdr[0];
	}
	return 0;
}

SEC("cgroup_skb/egress")
int nf_egress(struct __sk_buff *skb)
{
	__u32 protocol = skb->protocol;
	int routed;

	if (protocol == bpf_htons(0x0800))
		routed = nf_source_routed4(skb);
	else if (protocol == bpf_htons(0x86dd))
		routed = nf_source_routed6(skb);
	else
		return NF_VERDICT_ALLOW;
	/* Counters are about destinations: an ordinary packet is not a verdict on one. */
	if (!routed)
		return NF_VERDICT_ALLOW;
	return nf_finish_owned(0, NF_HOOK_EGRESS, protocol == bpf_htons(0x0800) ? 4 : 6, 0, 0, 0,
			       NF_PROTO_OTHER, 1, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
