/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types shared by the netfence BPF programs and the userspace loader.
 *
 * How a verdict is reached
 * ------------------------
 * A policy is a list of rules (action, prefix, protocol, ports). The loader first compiles it
 * into one entry per distinct rule prefix per address family. The value of an entry describes the
 * verdict of every port for every protocol class, taking into account *all* rules whose prefix
 * covers the entry's prefix, not only the rule that introduced it. Because the prefixes that
 * contain an address form a chain, the rules covering an address are exactly the rules covering
 * the longest rule prefix that contains it.
 *
 * Those prefixes then cut the address space into intervals: at most 2n + 1 for n prefixes, each
 * with the value of the longest prefix covering it (or the policy's default), adjacent intervals
 * with equal values merged. The values are interned into a small table of classes, and the
 * interval starts of each family go into a static B+-tree: leaves of NF_TREE*_FANOUT sorted
 * starts (one class id per start), internal nodes holding the first start of each child, every
 * node one or two cache lines. A verdict walks a fixed number of levels, at each one counting
 * the keys <= the address without a branch: a few cache lines, no pointer chasing, and a cost
 * that grows with log(rules), not rules.
 *
 * Per protocol class the entry names a port set. A port set is the final verdict for each of
 * the 65536 ports after "deny wins, else allow, else default" has been applied, stored as a
 * bitmap (bit set = allow). The two sets every policy needs, "no port allowed" and "every port
 * allowed", are reserved ids and take no memory; the others are interned, so rules sharing the
 * same ports share one bitmap.
 *
 * IPv4-mapped IPv6 destinations (::ffff:a.b.c.d) are looked up in the IPv4 table.
 */
#ifndef NETFENCE_BPF_H
#define NETFENCE_BPF_H

#include <linux/types.h>

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
	NF_CNT_DROPPED = 3, /* events not reported: rate limit, full ring, no ring */
	/* DNS answers the name rules learned nothing from (netfence.h: name rules): */
	NF_CNT_DNS_UNTRUSTED = 4,   /* from port 53 of an address not among the resolvers */
	NF_CNT_DNS_UNSOLICITED = 5, /* no query of the fence waits for it */
	NF_CNT_DNS_REPLAYED = 6,    /* its query was answered already */
	NF_CNT_DNS_LOOPBACK = 7,    /* came in over loopback, where the fence can forge it */
	NF_CNT_DNS_LEARNED = 8,	    /* addresses learned */
	NF_CNT_COUNT = 9,
};
/* Slots of the counters of an older netfence, which had no NF_CNT_DROPPED. */
#define NF_CNT_COUNT_V1 3

/* A compiled prefix; the tables the programs read are built from these. */
struct nf_key4 {
	__u32 prefixlen;
	__u32 addr; /* network byte order */
};

struct nf_key6 {
	__u32 prefixlen;
	__u32 addr[4]; /* network byte order */
};

/*
 * Trees (nf_tree4, nf_tree6): array maps of nodes, the levels one after the other, root first
 * (struct nf_tree_layout gives where each level starts). A node holds FANOUT sorted keys,
 * interval starts as numbers in host byte order (IPv4 __u32, IPv6 struct nf_addr6), padding
 * keys all ones; a leaf also names the class of each of its intervals, an index into
 * nf_classes. Key c of node i is the first key of node i * FANOUT + c of the level below. The
 * number of levels is fixed (a smaller tree starts with one-child nodes), so that the programs
 * have no loop and no branch per key; 16384 rules make at most 32769 intervals, which the levels
 * cover. Padding would count as <= the last address (all ones), so that one is not searched: its
 * class is max_class.
 */
#define NF_TREE4_FANOUT	   16 /* 96-byte nodes */
#define NF_TREE6_FANOUT	   8  /* 208-byte nodes */
#define NF_TREE_MAX_LEVELS 6
/*
 * Two builds of the programs: the small one, with shallower trees, serves every policy whose
 * intervals fit them (up to about a hundred rules), and verifies and runs faster; the other
 * serves any policy. The loader picks one per fence. In the small build the IPv6 tree also
 * holds the IPv4 intervals, at ::ffff:0.0.0.0/96, for IPv4-mapped destinations.
 */
#define NF_TREE4_LEVELS_SMALL 2 /* 16^2 = 256 intervals */
#define NF_TREE6_LEVELS_SMALL 3 /* 8^3 = 512 intervals */
#define NF_TREE4_LEVELS_LARGE 4 /* 16^4 = 65536 intervals */
#define NF_TREE6_LEVELS_LARGE 6 /* 8^6 = 262144 intervals */
#ifdef NF_TREE_SMALL
#define NF_TREE4_LEVELS NF_TREE4_LEVELS_SMALL
#define NF_TREE6_LEVELS NF_TREE6_LEVELS_SMALL
#else
#define NF_TREE4_LEVELS NF_TREE4_LEVELS_LARGE
#define NF_TREE6_LEVELS NF_TREE6_LEVELS_LARGE
#endif

/* An IPv6 tree key: the address as a 128-bit number in limbs below 2^63, so that a comparison
 * is three subtractions whose signs are exact (a 64-bit limb would need a longer borrow
 * formula and more registers than the program has, hence stack spills). */
struct nf_addr6 {
	__u64 top; /* bits 127-126 */
	__u64 mid; /* bits 125-63 */
	__u64 low; /* bits 62-0 */
};

struct nf_node4 {
	__u32 key[NF_TREE4_FANOUT];
	__u16 cls[NF_TREE4_FANOUT]; /* leaves only */
};

struct nf_node6 {
	struct nf_addr6 key[NF_TREE6_FANOUT];
	__u16 cls[NF_TREE6_FANOUT]; /* leaves only */
};

struct nf_tree_layout {
	__u32 level[NF_TREE_MAX_LEVELS]; /* index of the first node of each level, root first */
	__u32 nodes;			 /* in all */
	__u32 max_class;		 /* the class of the last address */
};

struct nf_entry {
	__u32 portset[NF_PROTO_COUNT]; /* indexed by enum nf_proto */
	/* With name rules: the ports no deny rule covers, which a learned address may open
	 * (deny wins over names). Without: NF_PORTSET_NONE. */
	__u32 learn[NF_PROTO_COUNT];
};

struct nf_portset {
	__u64 bits[NF_PORTSET_WORDS]; /* bit (port % 64) of word (port / 64), host order port */
};

/*
 * Fences with the same compiled policy and settings share one set of loaded programs, and every
 * set shares the per-fence maps (hook/loader.c). What belongs to one fence lives in cgroup
 * storage, one value per cgroup the programs are attached to, shared by every program on that
 * cgroup: nf_fence_counters per CPU, nf_fence_info once; and its own events ring, found in
 * nf_rings by the fence's cgroup id. The kernel creates a storage value, zero-filled, when the
 * first link on a cgroup is made; the loader then writes the fence's cgroup id and owner.
 *
 * The owner says which programs count: while `update` replaces a fence, the old and the new
 * programs both judge every verdict (the old first), in the same storage. A program counts
 * only when owner_policy is its nf_policy_tag (sock_addr programs) or owner_settings its
 * nf_settings_tag (sock_create, egress and the DNS programs, which sets of the same settings
 * share), or when the owner is not written yet (0: a new fence). The loader writes the new
 * owner once the new links are made, and that one write hands counting over from the old
 * programs to the new.
 */
struct nf_fence_counters {
	__u64 cnt[NF_CNT_COUNT]; /* enum nf_counter */
};

struct nf_fence_info {
	__u64 cgroup_id; /* of the fenced cgroup, which events name; 0 until the loader writes it */
	__u64 window;	 /* events rate limit: start of the current one-second window, in jiffies */
	__u64 sent;	 /* and the events sent in it */
	__u64 owner_policy;   /* the counting programs' nf_policy_tag; 0: any */
	__u64 owner_settings; /* and their nf_settings_tag */
	/* Name rules: the names tag of the fence's program set (nf_names_tag), which the shared
	 * DNS programs look its patterns and resolvers up by; 0: none, nothing is learned. */
	__u64 names_tag;
};

/* Events rings, one per fence: a fence flooding its own cannot starve another's. */
#define NF_RING_BYTES (32 * 1024)
#define NF_RINGS_MAX  4096 /* fences per host with a ring; beyond, their events are dropped */

/* Event reported to `netfence monitor` for a denied or audited connection. */
struct nf_event {
	__u64 cgroup_id; /* the fence's: nf_fence_info.cgroup_id */
	__u32 addr[4];	 /* network byte order; IPv4 in addr[0] */
	__u16 port;	 /* host byte order */
	__u8 family;	 /* 4 or 6 */
	__u8 proto;	 /* enum nf_proto */
	__u8 verdict;	 /* enum nf_counter: NF_CNT_DENIED or NF_CNT_AUDITED */
	__u8 hook;	 /* enum nf_hook */
	/* Name rules: why no learned address opened it (enum nf_dns_why), and for NF_WHY_PORT
	 * the classes the learned entry opens some port of (bit per enum nf_proto). */
	__u8 dns_why;
	__u8 dns_classes;
	__u64 time_ns; /* when: bpf_ktime_get_ns(), CLOCK_MONOTONIC */
	/*
	 * Who: the calling process (its tgid, in the initial pid namespace), taken only for an
	 * event sent; the monitor reads its command from /proc. Not bpf_get_current_comm(): from
	 * 6.x kernels on, cgroup programs get it only from a loader with CAP_PERFMON, which
	 * netfence does not keep. The egress program runs where the current task may not be the
	 * sender (softirq), and kernels before 6.10 do not give cgroup_skb programs the helper:
	 * 0 there.
	 */
	__u32 pid;
	/* NF_WHY_EXPIRED: seconds since the entry expired; NF_WHY_PORT: the learned port set of
	 * the connect's class (a port set id, as in nf_learned_val). */
	__u32 dns_detail;
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

/*
 * Name rules
 * ----------
 * A policy may allow hosts by name ("api.example.com", "*.example.org", "**.example.org").
 * The fence learns, in the kernel, the addresses the container's own lookups get (attach and
 * update seed them too, below). A cgroup_skb/egress program records each UDP query the fence
 * sends to a resolver the policy trusts (nf_resolvers) as pending (nf_queries: resolver, source
 * port, id); a cgroup_skb/ingress program takes an answer only from that resolver, to that port
 * with that id, once, and not over loopback; it walks the answer (compression pointers backward
 * only, CNAME chains by exact owner, bounded) and, when the question names an allowed host,
 * puts each A/AAAA address of the chain into the fence's own map of learned addresses (found in
 * nf_learned by its cgroup id) with its expiry (TTL, clamped), the ports the matching rules allow
 * and the question's name (kept in nf_qnames, for show), tagged with the network namespace the
 * answer arrived in: that of the socket it arrived at, which the sock_addr programs noted
 * (nf_socks) when the socket sent to a resolver's port 53; an answer to a socket never noted
 * teaches nothing. connect and sendmsg consult the fence's map only where the compiled rules would
 * deny by default (nf_entry.learn), and only in that namespace: deny rules win. Learned addresses
 * never include loopback, link-local (169.254.0.0/16, fe80::/10: cloud metadata), unspecified or
 * multicast ones: only a CIDR rule opens those.
 *
 * The loader also writes nf_learned: at attach and update, what one lookup of each exact name
 * from the container's namespace got (hook/seed.c), entries as these programs would make them.
 *
 * Names are kept in DNS wire form (length-prefixed labels, lower case); patterns in nf_names, an
 * LPM trie, with their labels in reverse order ("\3org\7example"), so that the longest pattern
 * that is a suffix of a name at a label boundary is the trie's longest prefix. Each pattern's
 * value gives, per protocol class, the port set for the name itself, for a name one label below
 * it and for a name two or more below, with every shorter pattern's contribution included.
 *
 * The two DNS programs read no policy but through maps, and are shared by every program set of
 * the same settings: loaded (their bpf_loop parser verified) once per host, not once per policy.
 * nf_names, nf_resolvers, the table of learned maps, nf_qnames, nf_queries and nf_socks are one
 * per host. Each set has a names tag (nf_names_tag, 16 bits, allocated free when the set is
 * loaded): its patterns and resolvers sit behind it, the fence's cgroup storage carries it
 * (nf_fence_info.names_tag, written once the fence's links are made, so an update switches it
 * with the new links in one write), and the DNS programs look a packet's names up by the tag of
 * the fence whose cgroup it belongs to: a tag not written (0) or gone finds nothing and learns
 * nothing. A learned entry carries the tag of the set whose port set ids it holds, and only that
 * set's verdict programs use it. gc takes out the names of every tag that no pinned set or fence
 * holds, which finishes what a killed run left; a set's load does the same before it fills.
 */
#define NF_NAME_MAX	  255  /* wire form, the root's 0 included */
#define NF_NAME_BUF	  320  /* a name and one more label: copies need no check per byte */
#define NF_NAMES_MAX	  1024 /* distinct patterns per policy */
#define NF_RESOLVERS_MAX  16
#define NF_DNS_PORT	  53
#define NF_DNS_RECORDS	  32   /* answer records walked */
#define NF_DNS_CHAIN	  8    /* CNAMEs followed */
#define NF_DNS_BYTES	  4096 /* of the message read */
#define NF_DNS_TTL_MIN	  5    /* seconds: an answer of TTL 0 still serves the connect after it */
#define NF_DNS_TTL_MAX	  3600
#define NF_DNS_WAIT	  30   /* seconds a query waits for its answer */
#define NF_LEARNED_MAX	  4096 /* learned addresses per fence (LRU) */
#define NF_QUERIES_MAX	  4096
#define NF_QNAMES_MAX	  4096	/* question names kept for `show` per host (LRU) */
#define NF_HOST_NAMES	  65536 /* patterns of every program set, in nf_names */
#define NF_HOST_RESOLVERS 4096	/* resolvers of every program set, in nf_resolvers */

/*
 * Why a destination a learned address could have opened (the compiled rules deny it by
 * default, no deny rule covers the port) was denied: in the event (nf_event.dns_why).
 */
enum nf_dns_why {
	NF_WHY_NONE = 0,    /* not such a destination: a rule denied it */
	NF_WHY_NEVER = 1,   /* nothing learned for the address (or evicted, or forgotten) */
	NF_WHY_EXPIRED = 2, /* learned, expired */
	NF_WHY_NETNS = 3,   /* learned in another network namespace */
	NF_WHY_PORT = 4,    /* learned for other ports or another protocol */
};

struct nf_name_key {
	__u32 prefixlen; /* bits: 8 * bytes of name */
	__u8 name[NF_NAME_MAX - 1];
};

/*
 * A pattern in nf_names, the map every program set shares: behind the names tag of its set, so
 * that a lookup by one set's tag finds that set's patterns only. 16 bits: an LPM trie's data is
 * at most 256 bytes, and a reversed name takes 254 of them.
 */
struct nf_tagged_name {
	__u32 prefixlen; /* bits: 16 + 8 * bytes of name */
	__u16 tag;
	__u8 name[NF_NAME_MAX - 1];
};

/* A resolver in nf_resolvers, shared too, behind its set's names tag. */
struct nf_resolver_key {
	__u32 addr[4]; /* IPv6 form, IPv4 mapped, network order */
	__u32 tag;
};

enum nf_name_depth {
	NF_DEPTH_SELF = 0,  /* the name is the pattern's domain */
	NF_DEPTH_ONE = 1,   /* one label below */
	NF_DEPTH_DEEPER = 2 /* two or more */
};

struct nf_name_val {
	__u32 portset[3][NF_PROTO_COUNT]; /* [enum nf_name_depth][enum nf_proto] */
	__u32 labels;			  /* of the pattern's domain */
	__u32 pad;
};

/* An address in IPv6 form, IPv4 ones mapped (::ffff:a.b.c.d), network byte order. */
struct nf_addr_key {
	__u32 addr[4];
};

struct nf_learned_key {
	__u64 cgroup_id; /* the fence's (nf_fence_info) */
	__u32 addr[4];
};

struct nf_learned_val {
	__u64 expires_ns; /* bpf_ktime_get_ns() */
	__u32 portset[NF_PROTO_COUNT];
	/* The names tag of the set whose port set ids these are: only that set's programs use
	 * the entry. */
	__u32 tag;
	/* The network namespace the answer arrived in (its cookie): the fence's processes can
	 * make namespaces of their own and answer themselves there. Only connects in this one
	 * may use the address. */
	__u64 netns;
	/* The question name that taught it: its nf_name_hash, which with the cgroup id keys
	 * nf_qnames; 0 for none. For `show` only: no verdict reads it. */
	__u64 name;
};

/* A question name kept for show, per fence: a fence's names cannot overwrite another's. */
struct nf_qname_key {
	__u64 cgroup_id;
	__u64 hash; /* nf_name_hash */
};

struct nf_qname {
	__u8 name[NF_NAME_MAX + 1]; /* wire form, lower case, zero padded */
};

#if defined(__bpf__)
#define NF_HASH_INLINE static __always_inline
#define NF_UNROLL      _Pragma("unroll")
#else
#define NF_HASH_INLINE static inline
#define NF_UNROLL
#endif

/* A name's hash (FNV-1a over 64-bit words): the name in wire form, lower case, zero padded to
 * 256 bytes, as 32 words. Never 0, which means no name. */
NF_HASH_INLINE __u64 nf_name_hash(const __u64 *w)
{
	__u64 h = 0xcbf29ce484222325ULL;

	NF_UNROLL
	for (int i = 0; i < (NF_NAME_MAX + 1) / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h | 1;
}

struct nf_query_key {
	__u64 cgroup_id;
	__u32 resolver[4];
	__u16 port; /* the fence's source port, network byte order */
	__u16 id;   /* the query's id, network byte order */
	__u32 pad;
};

struct nf_query_val {
	__u64 expires_ns;
	__u64 answered;
};

#endif /* NETFENCE_BPF_H */
