/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Name rules (netfence.h): the programs that learn, from the fence's own DNS traffic with the
 * resolvers the policy trusts, which addresses its allowed names have, and the lookup the
 * verdicts make in what they learned. Included by netfence.bpf.c; loaded and attached only for a
 * policy with name rules, and verified only by kernels with bpf_loop (5.17), which the parser is
 * written with: a walk of the answer in bounded loops is far beyond the verifier's budget for a
 * loader without CAP_PERFMON, while a bpf_loop callback is checked once.
 */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

/*
 * Every map below is one per host: the loader makes it with the first program set that has name
 * rules and every later set reuses it, so that the DNS programs, which read nothing of a policy
 * but through these maps, are loaded once per settings and shared. A set's patterns and
 * resolvers are behind its names tag (nf_fence_info.names_tag); sizes are the loader's.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct nf_tagged_name);
	__type(value, struct nf_name_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} nf_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct nf_resolver_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} nf_resolvers SEC(".maps");

/*
 * Each fence's learned addresses, a map of its own, found by its cgroup id: a fence that learns
 * more than it may keep loses its own least recently used, never another fence's. The loader
 * puts a new one in at each attach, which so starts with nothing learned.
 */
struct nf_learned_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	/* Sizes, not BTF types: before 6.2 a map made with BTF (as libbpf makes the template)
	 * and one made without (as the loader makes a fence's) do not match for the table. */
	__uint(key_size, sizeof(struct nf_learned_key));
	__uint(value_size, sizeof(struct nf_learned_val));
	__uint(max_entries, NF_LEARNED_MAX);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__array(values, struct nf_learned_map);
} nf_learned SEC(".maps");

/* The question names learned entries came from (nf_learned_val.name), for show. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct nf_qname_key);
	__type(value, struct nf_qname);
	__uint(max_entries, 1);
} nf_qnames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct nf_query_key);
	__type(value, struct nf_query_val);
	__uint(max_entries, 1);
} nf_queries SEC(".maps");

/*
 * The network namespace of each socket the fence sent a query from (socket cookie to netns
 * cookie), noted by the sock_addr programs, which read both: an answer teaches only for the
 * namespace of the socket it arrived at, which is the namespace it arrived in.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u64);
	__type(value, __u64);
	__uint(max_entries, 1);
} nf_socks SEC(".maps");

/* Where the walk of an answer is (nf_dns_step). */
enum nf_walk_state {
	NF_WALK_NAME,	  /* reading a name, a label a step */
	NF_WALK_QUESTION, /* the question's name is read */
	NF_WALK_REVERSE,  /* its labels reversed into the key, a byte a step */
	NF_WALK_MATCH,	  /* looked up among the patterns */
	NF_WALK_RECORD,	  /* a record's owner is read */
	NF_WALK_CNAME,	  /* a CNAME's target is read */
};

struct nf_walk {
	__u64 cgroup_id;
	__u64 netns; /* the cookie of the namespace the answer arrived in */
	__u64 now;
	__u32 dns;   /* offset of the message */
	__u32 off;   /* next byte to read */
	__u32 state; /* enum nf_walk_state */
	__u32 after; /* state once the name is read */
	/* the name being read (the rest of it in the scratch) */
	__u32 seg; /* start of its current piece: a pointer must point below it */
	__u32 end; /* where it ends in the message (after the first pointer, or its 0) */
	/* the question: its labels, what its patterns allow */
	__u32 qlab;
	__u32 portset[NF_PROTO_COUNT];
	/* the answer records */
	__u32 records, ancount, chain, rdend;
	__u32 learned;
	__u32 tag;   /* the fence's names tag */
	__u64 qname; /* the question's nf_name_hash */
};

/* What the bpf_loop callback gets: the packet and the scratch, where everything else is. */
struct nf_ctx {
	struct __sk_buff *skb;
	struct nf_dns_scratch *s;
	__u64 token; /* this answer's, on the stack where a nested answer cannot rewrite it */
};

/*
 * Room for the answer's names, per CPU. Should a second answer be parsed on this CPU while the
 * first is (a softirq interrupting a program run in process context), it rewrites the token,
 * and the first learns nothing more.
 *
 * The walk's state lives here too, not on the stack: the verifier knows nothing of a value
 * loaded from a map, so every pass over the bpf_loop callback starts alike and the callback is
 * verified once. Kept on the stack, offsets are constants in the first pass and not in the next
 * (pointer arithmetic that differs so between passes is refused to a loader without
 * CAP_PERFMON), and every different state is one more pass, past the verifier's budget.
 */
struct nf_dns_scratch {
	__u8 name[NF_NAME_BUF];	 /* the name being read: wire form, lower case, zero padded */
	__u8 chain[NF_NAME_BUF]; /* the name the chain has reached */
	__u8 label[128];	 /* where each label of the name read starts in name */
	__u32 prefixlen;	 /* with tag and key: a struct nf_tagged_name and room to spare */
	__u16 tag;
	__u8 key[NF_NAME_BUF];
	__u64 token; /* of the answer being parsed */
	__u32 len;   /* bytes in name */
	__u32 nlab;  /* labels in name */
	__u32 rl;    /* the reversal: label of the question being copied */
	__u32 rb;    /* its byte */
	__u32 kpos;  /* bytes in key */
	struct nf_walk w;
	/* The steps' buffers, here rather than on their stacks: before Linux 6.3 a store narrower
	 * than 8 bytes into a stack slot where the compiler spilled a register is refused to a
	 * loader without CAP_PERFMON. */
	__u8 b[2];
	__u8 q[4];
	__u8 h[10];
	__u32 addr[4];
	struct nf_learned_key lk;
	struct nf_learned_val lv;
	struct nf_qname_key nk;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct nf_dns_scratch);
	__uint(max_entries, 1);
} nf_dns_scratch SEC(".maps");

#define NF_NS_PER_SEC 1000000000ULL

/* A denial's why and its detail, as nf_allow gives them (nf_finish_owned). */
#define NF_DNS_RES(why, classes, detail) \
	((__u64)(why) << 8 | (__u64)(classes) << 16 | (__u64)(detail) << 32)

/*
 * 1 when the learned entry of the destination (IPv6 form, IPv4 mapped) allows this port and was
 * learned in the caller's network namespace; else why not, for the event (NF_DNS_RES): the
 * work of saying so is done on a denial only. Inlined into the programs of name rules only
 * (nf_allow).
 */
static __always_inline __u64 nf_learned_allows(struct bpf_sock_addr *ctx, __u64 w01, __u64 w23,
					       __u32 port, __u32 proto)
{
	struct nf_fence_info *f = bpf_get_local_storage(&nf_fences, 0);
	struct nf_learned_key k;
	struct nf_learned_val *v = NULL;
	__u64 now, ago;
	__u32 id, classes;
	void *mine;

	k.cgroup_id = f->cgroup_id;
	k.addr[0] = (__u32)w01;
	k.addr[1] = (__u32)(w01 >> 32);
	k.addr[2] = (__u32)w23;
	k.addr[3] = (__u32)(w23 >> 32);
	mine = bpf_map_lookup_elem(&nf_learned, &k.cgroup_id);
	if (mine)
		v = bpf_map_lookup_elem(mine, &k);
	if (!v || v->tag != nf_names_tag)
		return NF_DNS_RES(NF_WHY_NEVER, 0, 0);
	now = bpf_ktime_get_ns();
	if (v->expires_ns < now) {
		ago = (now - v->expires_ns) / NF_NS_PER_SEC;
		return NF_DNS_RES(NF_WHY_EXPIRED, 0, ago > 0xffffffff ? 0xffffffff : ago);
	}
	if (v->netns != bpf_get_netns_cookie(ctx))
		return NF_DNS_RES(NF_WHY_NETNS, 0, 0);
	id = nf_pick(nf_zero(proto ^ NF_PROTO_TCP), v->portset[NF_PROTO_TCP],
		     nf_pick(nf_zero(proto ^ NF_PROTO_UDP), v->portset[NF_PROTO_UDP],
			     v->portset[NF_PROTO_OTHER]));
	if (nf_portset_has(id, (__u16)port))
		return 1;
	classes = (__u32)(nf_zero(v->portset[NF_PROTO_TCP]) ^ 1) |
		  (__u32)(nf_zero(v->portset[NF_PROTO_UDP]) ^ 1) << 1 |
		  (__u32)(nf_zero(v->portset[NF_PROTO_OTHER]) ^ 1) << 2;
	return NF_DNS_RES(NF_WHY_PORT, classes, id);
}

/*
 * A send or connect to port 53 of a trusted resolver: the socket's namespace, for its answers
 * (nf_socks). Noted whatever the verdict: it opens nothing by itself.
 */
static __always_inline void nf_note_socket(struct bpf_sock_addr *ctx, __u64 w01, __u64 w23,
					   __u16 port)
{
	struct nf_resolver_key a;
	__u64 sock, netns;

	if (port != NF_DNS_PORT)
		return;
	a.addr[0] = (__u32)w01;
	a.addr[1] = (__u32)(w01 >> 32);
	a.addr[2] = (__u32)w23;
	a.addr[3] = (__u32)(w23 >> 32);
	a.tag = (__u32)nf_names_tag;
	if (!bpf_map_lookup_elem(&nf_resolvers, &a))
		return;
	sock = bpf_get_socket_cookie(ctx);
	netns = bpf_get_netns_cookie(ctx);
	bpf_map_update_elem(&nf_socks, &sock, &netns, BPF_ANY);
}

/* The verdict from nf_judge*'s two bits (nf_entry_verdict) and, where the rules would deny by
 * default, the learned addresses (bit 0; above, why they did not allow: nf_learned_allows);
 * names is a constant (the program's variant). */
static __always_inline __u64 nf_allow(struct bpf_sock_addr *ctx, int v, __u64 w01, __u64 w23,
				      __u16 port, __u32 proto, int names)
{
	if (names && nf_names_on)
		nf_note_socket(ctx, w01, w23, port);
	if (!names || !nf_names_on || (v & 1))
		return v & 1;
	if (!(v & 2))
		return 0;
	return nf_learned_allows(ctx, w01, w23, port, proto);
}

/* A UDP datagram's addresses (IPv6 form), ports (network order) and where its payload starts.
 * Fragments and IPv6 extension headers are not read: no DNS message is learned from them. */
struct nf_udp {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport, dport;
	__u32 payload;
};

/*
 * A packet's headers and the query key made from them, per CPU, one slot for the query program
 * and one for the answer program. Not on the stack: writes narrower than 8 bytes into a stack
 * slot that held a spilled register are refused before Linux 6.3 to a loader without
 * CAP_PERFMON, and the compiler decides which slots it reuses.
 */
struct nf_pkt {
	struct nf_udp u;
	struct nf_resolver_key r; /* the resolver, behind the fence's names tag */
	struct nf_query_key k;
	struct nf_query_val v;
	__u8 hdr[12];
};

#define NF_PKT_QUERY  0
#define NF_PKT_ANSWER 1

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct nf_pkt);
	__uint(max_entries, 2);
} nf_pkts SEC(".maps");

static __always_inline int nf_udp_of(struct __sk_buff *skb, struct nf_udp *u)
{
	__u32 protocol = skb->protocol;
	struct udphdr uh;

	if (protocol == bpf_htons(0x0800)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) < 0 || ip.version != 4 ||
		    ip.protocol != IPPROTO_UDP || (ip.frag_off & bpf_htons(0x3fff)) || ip.ihl < 5)
			return -1;
		u->src[0] = u->src[1] = u->dst[0] = u->dst[1] = 0;
		u->src[2] = u->dst[2] = bpf_htonl(0x0000ffff);
		u->src[3] = ip.saddr;
		u->dst[3] = ip.daddr;
		u->payload = ip.ihl * 4;
	} else if (protocol == bpf_htons(0x86dd)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) < 0 || ip6.nexthdr != IPPROTO_UDP)
			return -1;
		__builtin_memcpy(u->src, &ip6.saddr, 16);
		__builtin_memcpy(u->dst, &ip6.daddr, 16);
		u->payload = sizeof(ip6);
	} else {
		return -1;
	}
	if (bpf_skb_load_bytes(skb, u->payload, &uh, sizeof(uh)) < 0)
		return -1;
	u->sport = uh.source;
	u->dport = uh.dest;
	u->payload += sizeof(uh);
	return 0;
}

/*
 * A query the fence sends to a trusted resolver waits for its answer: by resolver, the fence's
 * source port and the query's id. Other packets pass untouched.
 */
SEC("cgroup_skb/egress")
int nf_dns_query(struct __sk_buff *skb)
{
	__u32 slot = NF_PKT_QUERY;
	struct nf_fence_info *f;
	struct nf_pkt *p;

	p = bpf_map_lookup_elem(&nf_pkts, &slot);
	if (!p || nf_udp_of(skb, &p->u) < 0 || p->u.dport != bpf_htons(NF_DNS_PORT))
		return NF_VERDICT_ALLOW;
	f = bpf_get_local_storage(&nf_fences, 0);
	__builtin_memcpy(p->r.addr, p->u.dst, 16);
	p->r.tag = (__u32)f->names_tag;
	if (!bpf_map_lookup_elem(&nf_resolvers, &p->r) ||
	    bpf_skb_load_bytes(skb, p->u.payload, p->hdr, 4) < 0 || (p->hdr[2] & 0x80))
		return NF_VERDICT_ALLOW;
	p->k.cgroup_id = f->cgroup_id;
	__builtin_memcpy(p->k.resolver, p->u.dst, 16);
	p->k.port = p->u.sport;
	p->k.id = (__u16)p->hdr[0] | (__u16)p->hdr[1] << 8;
	p->k.pad = 0;
	p->v.expires_ns = bpf_ktime_get_ns() + NF_DNS_WAIT * NF_NS_PER_SEC;
	p->v.answered = 0;
	bpf_map_update_elem(&nf_queries, &p->k, &p->v, BPF_ANY);
	return NF_VERDICT_ALLOW;
}

static __always_inline void nf_name_start(struct nf_ctx *c, __u32 off, __u32 after)
{
	struct nf_walk *w = &c->s->w;
	__u64 *n = (__u64 *)c->s->name;

#pragma unroll
	for (int i = 0; i < NF_NAME_BUF / 8; i++)
		n[i] = 0;
	c->s->len = 0;
	c->s->nlab = 0;
	w->off = off;
	w->seg = off;
	w->end = 0;
	w->state = NF_WALK_NAME;
	w->after = after;
}

/* One label of a name, or one compression pointer: 0 to go on, 1 when the walk must stop. */
static __noinline long nf_name_step(struct nf_ctx *c)
{
	struct nf_walk *w = &c->s->w;
	struct nf_dns_scratch *s = c->s;
	__u8 *b = s->b;
	__u32 len, nlab, target;
	__u64 pos; /* 64 bits: pos + 1 as a 32-bit sum loses its bounds for the verifier */

	if (bpf_skb_load_bytes(c->skb, w->off, b, 1) < 0)
		return 1;
	len = b[0];
	if (len == 0) {
		if (!w->end)
			w->end = w->off + 1;
		w->off = w->end;
		w->state = w->after;
		return 0;
	}
	if ((len & 0xc0) == 0xc0) {
		if (bpf_skb_load_bytes(c->skb, w->off, b, 2) < 0)
			return 1;
		target = ((__u32)(b[0] & 0x3f) << 8 | b[1]) + w->dns;
		/* Backward only, below every piece read so far, past the header: no loop. */
		if (target >= w->seg || target < w->dns + 12)
			return 1;
		if (!w->end)
			w->end = w->off + 2;
		w->off = target;
		w->seg = target;
		return 0;
	}
	pos = s->len;
	nlab = s->nlab;
	if (len > 63 || nlab >= 127 || pos > NF_NAME_MAX - 2)
		return 1;
	/* pos + 1 + len <= NF_NAME_MAX - 1, written so that no pos + 1 is made before pos is
	 * bounded: the verifier would not see that sum bounded */
	if (len > NF_NAME_MAX - 2 - pos)
		return 1;
	s->label[nlab] = (__u8)pos;
	s->name[pos] = (__u8)len;
	/* 1..63 already; written so that the verifier sees it is never 0 (before 6.x it does not
	 * carry a test of len into the copy's size) */
	len = ((len - 1) & 0x3f) + 1;
	if (bpf_skb_load_bytes(c->skb, w->off + 1, &s->name[pos + 1], len) < 0)
		return 1;
	w->off += 1 + len;
	s->len = (__u32)pos + 1 + len;
	s->nlab = nlab + 1;
	return 0;
}

/*
 * ASCII upper case to lower case, eight bytes at a time. Length bytes (at most 63) are below
 * 'A' and stay as they are.
 */
static __noinline void nf_name_lower(__u8 *name)
{
	__u64 *n = (__u64 *)name;

#pragma unroll
	for (int i = 0; i < 256 / 8; i++) {
		__u64 x = n[i], h = x & 0x7f7f7f7f7f7f7f7fULL;
		__u64 ge_a = h + 0x3f3f3f3f3f3f3f3fULL; /* bit 7 set where byte >= 'A' */
		__u64 gt_z = h + 0x2525252525252525ULL; /* bit 7 set where byte > 'Z' */
		__u64 up = (ge_a & ~gt_z & ~x) & 0x8080808080808080ULL;

		n[i] = x | up >> 2;
	}
}

static __noinline int nf_name_equal(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	__u64 d = 0;

#pragma unroll
	for (int i = 0; i < 256 / 8; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

static __noinline void nf_name_copy(__u8 *to, const __u8 *from)
{
	__u64 *t = (__u64 *)to;
	const __u64 *f = (const __u64 *)from;

#pragma unroll
	for (int i = 0; i < 256 / 8; i++)
		t[i] = f[i];
}

/* Addresses no name opens: unspecified, loopback, link-local (cloud metadata), multicast and
 * broadcast; IPv4-mapped ones in an AAAA record. a is network order, IPv6 form. */
static __always_inline int nf_learnable(const __u32 *a)
{
	__u32 w0 = bpf_ntohl(a[0]), w3 = bpf_ntohl(a[3]);

	if (a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0x0000ffff)) {
		__u32 top = w3 >> 24;

		return top != 0 && top != 127 && (w3 >> 16) != 0xa9fe && top < 224;
	}
	if (!a[0] && !a[1] && !a[2] && (w3 == 0 || w3 == 1))
		return 0;
	/* fe80::/10, ff00::/8, ::/96 (mapped and compatible forms), fd00:ec2::254 (EC2's) */
	if ((w0 >> 22) == (0xfe80 >> 6) || (w0 >> 24) == 0xff || (!a[0] && !a[1]))
		return 0;
	return !(w0 == 0xfd000ec2 && !a[1] && !a[2] && w3 == 0x254);
}

static __noinline void nf_learn(struct nf_ctx *c, const __u32 *addr, __u32 ttl)
{
	struct nf_walk *w = &c->s->w;
	struct nf_learned_key *k = &c->s->lk;
	struct nf_learned_val *v = &c->s->lv;
	void *mine;

	if (!nf_learnable(addr) || c->s->token != c->token)
		return;
	if (ttl < NF_DNS_TTL_MIN)
		ttl = NF_DNS_TTL_MIN;
	if (ttl > NF_DNS_TTL_MAX)
		ttl = NF_DNS_TTL_MAX;
	k->cgroup_id = w->cgroup_id;
	__builtin_memcpy(k->addr, addr, 16);
	v->expires_ns = w->now + (__u64)ttl * NF_NS_PER_SEC;
	v->portset[NF_PROTO_TCP] = w->portset[NF_PROTO_TCP];
	v->portset[NF_PROTO_UDP] = w->portset[NF_PROTO_UDP];
	v->portset[NF_PROTO_OTHER] = w->portset[NF_PROTO_OTHER];
	v->tag = w->tag;
	v->netns = w->netns;
	v->name = w->qname;
	mine = bpf_map_lookup_elem(&nf_learned, &k->cgroup_id);
	if (mine && bpf_map_update_elem(mine, k, v, BPF_ANY) == 0)
		w->learned++;
}

/* The question is read: an A or AAAA question of class IN is looked up among the patterns. */
static __noinline long nf_question(struct nf_ctx *c)
{
	struct nf_walk *w = &c->s->w;
	struct nf_dns_scratch *s = c->s;
	__u8 *q = s->q;
	__u32 nlab = s->nlab;

	if (bpf_skb_load_bytes(c->skb, w->off, q, sizeof(s->q)) < 0 || q[2] != 0 || q[3] != 1 ||
	    q[0] != 0 || (q[1] != 1 && q[1] != 28) || nlab == 0)
		return 1;
	w->off += sizeof(s->q);
	nf_name_lower(s->name);
	nf_name_copy(s->chain, s->name);
	w->qlab = nlab;
	s->rl = nlab - 1;
	s->rb = 0;
	s->kpos = 0;
	w->state = NF_WALK_REVERSE;
	return 0;
}

/* One byte of the key: the question's labels, last first. */
static __noinline long nf_reverse(struct nf_ctx *c)
{
	struct nf_walk *w = &c->s->w;
	struct nf_dns_scratch *s = c->s;
	__u32 rl = s->rl, rb = s->rb, kpos = s->kpos, start, idx;

	if (rl >= 128 || rb >= 64 || kpos >= NF_NAME_MAX - 1)
		return 1;
	start = s->label[rl];
	idx = start + rb;
	if (idx >= NF_NAME_BUF)
		return 1;
	s->key[kpos] = s->chain[idx];
	s->kpos = kpos + 1;
	s->rb = rb + 1;
	if (rb + 1 <= s->chain[start]) /* the label's length byte and its bytes */
		return 0;
	s->rb = 0;
	if (rl == 0) {
		w->state = NF_WALK_MATCH;
		return 0;
	}
	s->rl = rl - 1;
	return 0;
}

/* The question's name, which the addresses it teaches name, kept for show (nf_qnames): written
 * only when not kept already, as the names a container looks up again mostly are (an LRU update
 * takes a new element and copies the whole name). */
static __noinline void nf_keep_name(struct nf_ctx *c)
{
	struct nf_dns_scratch *s = c->s;

	s->w.qname = nf_name_hash((const __u64 *)s->chain);
	s->nk.cgroup_id = s->w.cgroup_id;
	s->nk.hash = s->w.qname;
	if (!bpf_map_lookup_elem(&nf_qnames, &s->nk))
		bpf_map_update_elem(&nf_qnames, &s->nk, s->chain, BPF_ANY);
}

/* The patterns that allow the question's name, if any: their ports, then the records. */
static __noinline long nf_match(struct nf_ctx *c)
{
	struct nf_walk *w = &c->s->w;
	struct nf_dns_scratch *s = c->s;
	struct nf_name_val *v;
	__u64 self, one;
	__u32 depth;

	s->prefixlen = 16 + s->kpos * 8;
	s->tag = (__u16)w->tag;
	v = bpf_map_lookup_elem(&nf_names, &s->prefixlen);
	if (!v || v->labels > w->qlab)
		return 1;
	/* All nine read at fixed offsets and one picked without a branch: clang turns branches
	 * into one read at a computed offset, which the verifier refuses this loader. */
	depth = w->qlab - v->labels;
	self = nf_zero(depth);
	one = nf_zero(depth ^ 1);
	w->portset[0] =
		nf_pick(self, v->portset[NF_DEPTH_SELF][0],
			nf_pick(one, v->portset[NF_DEPTH_ONE][0], v->portset[NF_DEPTH_DEEPER][0]));
	w->portset[1] =
		nf_pick(self, v->portset[NF_DEPTH_SELF][1],
			nf_pick(one, v->portset[NF_DEPTH_ONE][1], v->portset[NF_DEPTH_DEEPER][1]));
	w->portset[2] =
		nf_pick(self, v->portset[NF_DEPTH_SELF][2],
			nf_pick(one, v->portset[NF_DEPTH_ONE][2], v->portset[NF_DEPTH_DEEPER][2]));
	if (!w->portset[0] && !w->portset[1] && !w->portset[2])
		return 1;
	if (w->ancount == 0)
		return 1;
	nf_keep_name(c);
	nf_name_start(c, w->off, NF_WALK_RECORD);
	return 0;
}

/* The next record, or the end of the walk. */
static __always_inline long nf_next_record(struct nf_ctx *c, __u32 off)
{
	struct nf_walk *w = &c->s->w;
	if (++w->records >= w->ancount || w->records >= NF_DNS_RECORDS)
		return 1;
	nf_name_start(c, off, NF_WALK_RECORD);
	return 0;
}

/* A record's owner is read: its type, class, TTL and data. Only records owned by the name the
 * chain has reached count: its A and AAAA addresses are learned, its CNAME moves the chain. */
static __noinline long nf_record(struct nf_ctx *c)
{
	struct nf_walk *w = &c->s->w;
	__u8 *h = c->s->h;
	__u32 type, rdlen, ttl, rd;
	__u32 *addr = c->s->addr;

	if (bpf_skb_load_bytes(c->skb, w->off, h, sizeof(c->s->h)) < 0)
		return 1;
	type = (__u32)h[0] << 8 | h[1];
	ttl = (__u32)h[4] << 24 | (__u32)h[5] << 16 | (__u32)h[6] << 8 | h[7];
	rdlen = (__u32)h[8] << 8 | h[9];
	rd = w->off + sizeof(c->s->h);
	w->rdend = rd + rdlen;
	nf_name_lower(c->s->name);
	if (h[2] != 0 || h[3] != 1 || !nf_name_equal(c->s->name, c->s->chain))
		return nf_next_record(c, w->rdend);
	if (type == 1 && rdlen == 4) {
		addr[0] = addr[1] = 0;
		addr[2] = bpf_htonl(0x0000ffff);
		if (bpf_skb_load_bytes(c->skb, rd, &addr[3], 4) < 0)
			return 1;
		nf_learn(c, addr, ttl);
	} else if (type == 28 && rdlen == 16) {
		if (bpf_skb_load_bytes(c->skb, rd, addr, 16) < 0)
			return 1;
		/* ::/64 is never learned from AAAA: nf_learnable takes its mapped form for A */
		if (addr[0] || addr[1])
			nf_learn(c, addr, ttl);
	} else if (type == 5) {
		if (++w->chain > NF_DNS_CHAIN)
			return 1;
		nf_name_start(c, rd, NF_WALK_CNAME);
		return 0;
	}
	return nf_next_record(c, w->rdend);
}

static long nf_dns_step(__u64 i, void *data)
{
	struct nf_ctx *c = data;
	struct nf_walk *w = &c->s->w;

	if (w->off > w->dns + NF_DNS_BYTES)
		return 1;
	switch (w->state) {
	case NF_WALK_NAME:
		return nf_name_step(c);
	case NF_WALK_QUESTION:
		return nf_question(c);
	case NF_WALK_REVERSE:
		return nf_reverse(c);
	case NF_WALK_MATCH:
		return nf_match(c);
	case NF_WALK_RECORD:
		return nf_record(c);
	case NF_WALK_CNAME:
		nf_name_lower(c->s->name);
		nf_name_copy(c->s->chain, c->s->name);
		return nf_next_record(c, w->rdend);
	}
	return 1;
}

/*
 * A function of its own, with the slot as an argument: inlined, clang merges the calls of
 * different slots into one add of a variable offset, which paths that differ make the verifier
 * refuse to a loader without CAP_PERFMON.
 */
__noinline int nf_dns_count_n(__u64 slot, __u64 n)
{
	struct nf_fence_counters *c;

	if (!nf_owns(1) || slot >= NF_CNT_COUNT)
		return 0;
	c = bpf_get_local_storage(&nf_counters, 0);
	c->cnt[slot] += n;
	return 0;
}

static __always_inline void nf_dns_count(__u32 slot)
{
	nf_dns_count_n(slot, 1);
}

/*
 * Claim the query an answer is for: once. The entry is deleted (one of two answers racing
 * wins) and put back as answered, so that a replay is told from an answer never asked for.
 */
static __always_inline int nf_claim(struct nf_query_key *k, struct nf_query_val *done)
{
	struct nf_query_val *v = bpf_map_lookup_elem(&nf_queries, k);
	__u64 now = bpf_ktime_get_ns();

	if (!v || v->expires_ns < now) {
		nf_dns_count(NF_CNT_DNS_UNSOLICITED);
		return 0;
	}
	if (v->answered || bpf_map_delete_elem(&nf_queries, k) < 0) {
		nf_dns_count(NF_CNT_DNS_REPLAYED);
		return 0;
	}
	done->expires_ns = now + NF_DNS_WAIT * NF_NS_PER_SEC;
	done->answered = 1;
	bpf_map_update_elem(&nf_queries, k, done, BPF_ANY);
	return 1;
}

/*
 * An answer from a trusted resolver to a query of the fence: what it teaches. Every packet
 * passes: an answer learned nothing from still reaches the application, whose connect then
 * finds no learned address.
 */
SEC("cgroup_skb/ingress")
int nf_dns_answer(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, zero = 0, slot = NF_PKT_ANSWER;
	struct nf_fence_info *f;
	struct nf_dns_scratch *s;
	struct nf_walk *w;
	struct nf_ctx c;
	struct nf_pkt *p;
	__u64 sock, *netns;
	__u32 learned;

	p = bpf_map_lookup_elem(&nf_pkts, &slot);
	if (!p || nf_udp_of(skb, &p->u) < 0 || p->u.sport != bpf_htons(NF_DNS_PORT))
		return NF_VERDICT_ALLOW;
	f = bpf_get_local_storage(&nf_fences, 0);
	__builtin_memcpy(p->r.addr, p->u.src, 16);
	p->r.tag = (__u32)f->names_tag;
	if (!bpf_map_lookup_elem(&nf_resolvers, &p->r)) {
		nf_dns_count(NF_CNT_DNS_UNTRUSTED);
		return NF_VERDICT_ALLOW;
	}
	/* Anything in the fence can send to its own loopback: 1 is the loopback device. */
	if (ifindex == 1) {
		nf_dns_count(NF_CNT_DNS_LOOPBACK);
		return NF_VERDICT_ALLOW;
	}
	/* A response, standard query, not truncated, no error, one question. */
	if (bpf_skb_load_bytes(skb, p->u.payload, p->hdr, sizeof(p->hdr)) < 0 ||
	    !(p->hdr[2] & 0x80) || (p->hdr[2] & 0x7a) || (p->hdr[3] & 0x0f) || p->hdr[4] != 0 ||
	    p->hdr[5] != 1)
		return NF_VERDICT_ALLOW;
	/* A socket that sent no query through the sock_addr programs has no namespace noted. */
	sock = bpf_get_socket_cookie(skb);
	netns = bpf_map_lookup_elem(&nf_socks, &sock);
	if (!netns) {
		nf_dns_count(NF_CNT_DNS_UNSOLICITED);
		return NF_VERDICT_ALLOW;
	}
	p->k.cgroup_id = f->cgroup_id;
	__builtin_memcpy(p->k.resolver, p->u.src, 16);
	p->k.port = p->u.dport;
	p->k.id = (__u16)p->hdr[0] | (__u16)p->hdr[1] << 8;
	p->k.pad = 0;
	if (!nf_claim(&p->k, &p->v))
		return NF_VERDICT_ALLOW;
	s = bpf_map_lookup_elem(&nf_dns_scratch, &zero);
	if (!s)
		return NF_VERDICT_ALLOW;
	w = &s->w;
	__builtin_memset(w, 0, sizeof(*w));
	c.token = bpf_get_prandom_u32() | (__u64)bpf_get_prandom_u32() << 32;
	s->token = c.token;
	w->cgroup_id = p->k.cgroup_id;
	w->tag = p->r.tag;
	w->netns = *netns;
	w->now = bpf_ktime_get_ns();
	w->dns = p->u.payload;
	w->ancount = (__u32)p->hdr[6] << 8 | p->hdr[7];
	c.skb = skb;
	c.s = s;
	nf_name_start(&c, p->u.payload + sizeof(p->hdr), NF_WALK_QUESTION);
	bpf_loop(NF_DNS_RECORDS * 160, nf_dns_step, &c, 0);
	learned = s->token == c.token ? w->learned : 0;
	if (learned)
		nf_dns_count_n(NF_CNT_DNS_LEARNED, learned);
	return NF_VERDICT_ALLOW;
}
