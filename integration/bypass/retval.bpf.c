// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Programs for integration/test-bypass.sh, loaded by integration/bypass/bypass.c. None of
 * this is part of netfence, and no name starts with nf_: the tests count nf_* programs as
 * netfence's.
 *
 * retval_*  the attacker: reset the verdict earlier programs of the same run set
 *           (bpf_set_retval(0)) and allow. Attached after netfence's programs on the same
 *           cgroup this lifts the fence; attached on a child cgroup it runs before them.
 * deny_*    a deny-all program, standing in for a fence given at an ancestor cgroup.
 * anc_*     the "ancestor mode" experiment: one program on an ancestor cgroup serving every
 *           container below it, keyed by the container's cgroup id (the id of the calling
 *           task's ancestor at anc_level, so sub-cgroups the container creates are judged as
 *           the container). anc_fences maps a cgroup id to that container's IPv4 rules (an
 *           LPM trie, value 0 = deny, 1 = allow, no match = allow); a cgroup id that is not in
 *           anc_fences (an unfenced sibling) is allowed after one hash lookup.
 * egress_*  the post-NAT experiment: a cgroup_skb/egress program dropping IPv4 packets to
 *           egress_deny4. It runs after netfilter's OUTPUT DNAT, so it sees where a packet
 *           really goes, not the address given to connect().
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile int anc_level = 1;
const volatile __u32 egress_deny4 = 0; /* network byte order */

struct anc_key4 {
	__u32 prefixlen;
	__u32 addr; /* network byte order */
};

struct anc_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct anc_key4);
	__type(value, __u32);
	__uint(max_entries, 64);
} anc_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u64);
	__type(value, __u32);
	__uint(max_entries, 65536);
	__array(values, struct anc_inner);
} anc_fences SEC(".maps");

#define RETVAL_PROG(sec, name)              \
	SEC(sec)                            \
	int name(struct bpf_sock_addr *ctx) \
	{                                   \
		bpf_set_retval(0);          \
		return 1;                   \
	}

RETVAL_PROG("cgroup/connect4", retval_connect4)
RETVAL_PROG("cgroup/connect6", retval_connect6)
RETVAL_PROG("cgroup/sendmsg4", retval_sendmsg4)
RETVAL_PROG("cgroup/sendmsg6", retval_sendmsg6)

#define DENY_PROG(sec, name)                \
	SEC(sec)                            \
	int name(struct bpf_sock_addr *ctx) \
	{                                   \
		return 0;                   \
	}

DENY_PROG("cgroup/connect4", deny_connect4)
DENY_PROG("cgroup/connect6", deny_connect6)
DENY_PROG("cgroup/sendmsg4", deny_sendmsg4)
DENY_PROG("cgroup/sendmsg6", deny_sendmsg6)

static __always_inline int anc_judge4(struct bpf_sock_addr *ctx)
{
	__u32 addr = ctx->user_ip4;
	__u64 id = bpf_get_current_ancestor_cgroup_id(anc_level);
	struct anc_key4 key = { .prefixlen = 32, .addr = addr };
	void *rules;
	__u32 *verdict;

	rules = bpf_map_lookup_elem(&anc_fences, &id);
	if (!rules)
		return 1; /* not a fenced container */
	verdict = bpf_map_lookup_elem(rules, &key);
	return verdict ? (*verdict ? 1 : 0) : 1;
}

/* IPv6: a fenced container gets no IPv6 at all in this experiment. */
static __always_inline int anc_judge6(void)
{
	__u64 id = bpf_get_current_ancestor_cgroup_id(anc_level);

	return bpf_map_lookup_elem(&anc_fences, &id) ? 0 : 1;
}

SEC("cgroup/connect4")
int anc_connect4(struct bpf_sock_addr *ctx)
{
	return anc_judge4(ctx);
}

SEC("cgroup/sendmsg4")
int anc_sendmsg4(struct bpf_sock_addr *ctx)
{
	return anc_judge4(ctx);
}

SEC("cgroup/connect6")
int anc_connect6(struct bpf_sock_addr *ctx)
{
	return anc_judge6();
}

SEC("cgroup/sendmsg6")
int anc_sendmsg6(struct bpf_sock_addr *ctx)
{
	return anc_judge6();
}

SEC("cgroup_skb/egress")
int egress_deny(struct __sk_buff *skb)
{
	__u32 daddr;

	if (skb->protocol != bpf_htons(0x0800)) /* ETH_P_IP */
		return 1;
	/* cgroup_skb data starts at the network header: daddr is at offset 16. */
	if (bpf_skb_load_bytes(skb, 16, &daddr, sizeof(daddr)) < 0)
		return 1;
	return daddr == egress_deny4 ? 0 : 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
