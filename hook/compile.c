// SPDX-License-Identifier: Apache-2.0
/*
 * Policy → map contents (layout in bpf/netfence.h).
 *
 * Per address family, the distinct rule prefixes sorted by (address, length) are a preorder walk
 * of the prefix tree: every prefix comes after the prefixes covering it, and the prefixes it
 * covers follow it contiguously. One pass with a stack of the covering chain (at most 33 or 129
 * deep) therefore sees, for each prefix, the union of the ports of the rules covering it as
 * "own rules ∪ what the parent already accumulated": O(rules · log rules) plus the port work,
 * never rules × rules.
 *
 * The entries, in that same order, then become interval tables in one more pass with a stack:
 * an entry starts an interval with its own value, and where it ends its parent's value resumes.
 *
 * Port sets are handled as sorted, disjoint, non-adjacent lists of ranges, which are canonical
 * (two lists are equal exactly when the bitmaps are) and small for real policies; only the
 * interned final sets become 8 KiB bitmaps. The cost per prefix is that of its parent's lists,
 * which real policies keep short; a hostile one (a parent holding tens of thousands of scattered
 * ports under thousands of /32s) is bounded by the document size and takes seconds, not more.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

#define PORT_MAX     65535
#define STACK_MAX    129 /* prefix lengths 0..128: the longest chain of covering prefixes */
#define INTERN_SLOTS (2 * NF_MAX_PORTSETS) /* open addressing, at most half full */
#define ACTIONS	     2			   /* enum nf_action: deny, allow */

struct ranges {
	struct nf_port_range *r;
	size_t n;
};

/* A rule seen from one family: its prefix (/0 for "any") and its index in the policy. */
struct item {
	uint8_t addr[16];
	uint8_t len;
	uint32_t rule;
};

/* One prefix of the covering chain, with everything its rules and their parents add up to. */
struct frame {
	uint8_t addr[16];
	uint8_t len;
	struct ranges cum[ACTIONS][NF_PROTO_COUNT];
	bool owned[ACTIONS][NF_PROTO_COUNT]; /* false: borrowed from the parent frame */
	uint32_t id[NF_PROTO_COUNT];	     /* interned final verdict set */
	uint32_t learn[NF_PROTO_COUNT];	     /* name rules: the ports no deny rule covers */
};

/* A compiled entry before it takes its per-family key shape. */
struct gentry {
	uint8_t addr[16];
	uint8_t len;
	struct nf_entry val;
};

struct interner {
	struct ranges sets[NF_MAX_PORTSETS]; /* id - NF_PORTSET_FIRST */
	uint64_t hash[NF_MAX_PORTSETS];
	size_t n;
	uint32_t slot[INTERN_SLOTS]; /* index + 1; 0 = empty */
};

struct builder {
	const struct nf_policy *p;
	bool default_allow;
	bool names; /* the policy has name rules: entries say what learned addresses may open */
	struct ranges *rule_ports; /* per rule, normalized; absent ports = every port */
	struct interner in;
	struct frame stack[STACK_MAX + 1];
	struct frame base; /* what an address no rule covers gets */
};

static const struct nf_port_range all_ports = { 0, PORT_MAX };

static int cmp_range(const void *a, const void *b)
{
	const struct nf_port_range *x = a, *y = b;

	return x->lo != y->lo ? (x->lo < y->lo ? -1 : 1) : (x->hi > y->hi) - (x->hi < y->hi);
}

/* Append r to a normalized list being built in order of r.lo, merging overlaps and neighbours. */
static void push_range(struct ranges *out, struct nf_port_range r)
{
	struct nf_port_range *last = out->n ? &out->r[out->n - 1] : NULL;

	if (last && (uint32_t)r.lo <= (uint32_t)last->hi + 1) {
		if (r.hi > last->hi)
			last->hi = r.hi;
		return;
	}
	out->r[out->n++] = r;
}

/* Sort and merge r[0..n) in place; returns the new count. */
static size_t normalize(struct nf_port_range *r, size_t n)
{
	struct ranges out = { r, 0 };
	size_t i;

	qsort(r, n, sizeof(*r), cmp_range);
	for (i = 0; i < n; i++)
		push_range(&out, r[i]);
	return out.n;
}

static int ranges_merge(const struct ranges *a, const struct ranges *b, struct ranges *ret)
{
	struct ranges out = { malloc((a->n + b->n) * sizeof(*out.r)), 0 };
	size_t i = 0, j = 0;

	if (!out.r)
		return -ENOMEM;
	while (i < a->n || j < b->n) {
		if (j == b->n || (i < a->n && a->r[i].lo <= b->r[j].lo))
			push_range(&out, a->r[i++]);
		else
			push_range(&out, b->r[j++]);
	}
	*ret = out;
	return 0;
}

/* base minus cut, both normalized; the result is normalized. */
static int ranges_subtract(const struct ranges *base, const struct ranges *cut, struct ranges *ret)
{
	struct ranges out = { malloc((base->n + cut->n + 1) * sizeof(*out.r)), 0 };
	size_t i, j = 0;

	if (!out.r)
		return -ENOMEM;
	for (i = 0; i < base->n; i++) {
		uint32_t lo = base->r[i].lo, hi = base->r[i].hi;

		while (j < cut->n && cut->r[j].hi < lo)
			j++;
		for (size_t k = j; k < cut->n && cut->r[k].lo <= hi && lo <= hi; k++) {
			if (cut->r[k].lo > lo)
				out.r[out.n++] = (struct nf_port_range){ lo, cut->r[k].lo - 1 };
			lo = (uint32_t)cut->r[k].hi + 1;
		}
		if (lo <= hi)
			out.r[out.n++] = (struct nf_port_range){ lo, hi };
	}
	*ret = out;
	return 0;
}

static uint64_t ranges_hash(const struct ranges *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < s->n; i++) {
		h = (h ^ s->r[i].lo) * 0x100000001b3ULL;
		h = (h ^ s->r[i].hi) * 0x100000001b3ULL;
	}
	return h ^ s->n;
}

static bool ranges_equal(const struct ranges *a, const struct ranges *b)
{
	return a->n == b->n && memcmp(a->r, b->r, a->n * sizeof(*a->r)) == 0;
}

/* The id of set s, which the interner takes over (or frees when it already holds it). */
static int intern(struct interner *in, struct ranges *s, uint32_t *ret)
{
	uint64_t h = ranges_hash(s);
	size_t i = h & (INTERN_SLOTS - 1);

	if (s->n == 0 || (s->n == 1 && s->r[0].lo == 0 && s->r[0].hi == PORT_MAX)) {
		*ret = s->n ? NF_PORTSET_ALL : NF_PORTSET_NONE;
		free(s->r);
		return 0;
	}
	for (; in->slot[i]; i = (i + 1) & (INTERN_SLOTS - 1)) {
		size_t k = in->slot[i] - 1;

		if (in->hash[k] == h && ranges_equal(&in->sets[k], s)) {
			*ret = NF_PORTSET_FIRST + k;
			free(s->r);
			return 0;
		}
	}
	if (in->n == NF_MAX_PORTSETS) {
		free(s->r);
		return -E2BIG;
	}
	in->sets[in->n] = *s;
	in->hash[in->n] = h;
	in->slot[i] = ++in->n;
	*ret = NF_PORTSET_FIRST + in->n - 1;
	return 0;
}

/* Every rule's ports as a normalized list, so that later unions are linear merges. */
static int prepare_rules(struct builder *b)
{
	const struct nf_policy *p = b->p;
	size_t i;

	b->rule_ports = calloc(p->nrules ? p->nrules : 1, sizeof(*b->rule_ports));
	if (!b->rule_ports)
		return -ENOMEM;
	for (i = 0; i < p->nrules; i++) {
		const struct nf_rule *rule = &p->rules[i];
		size_t n = rule->nports ? rule->nports : 1;
		struct ranges *s = &b->rule_ports[i];

		s->r = malloc(n * sizeof(*s->r));
		if (!s->r)
			return -ENOMEM;
		if (rule->nports)
			memcpy(s->r, rule->ports, n * sizeof(*s->r));
		else
			s->r[0] = all_ports;
		s->n = normalize(s->r, n);
	}
	return 0;
}

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, sizeof(x->addr));

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->rule > y->rule) - (x->rule < y->rule);
}

/* Does the prefix (addr, len) cover addr b? Host bits of addr are zero. */
static bool covers(const uint8_t *addr, unsigned int len, const uint8_t *b)
{
	unsigned int whole = len / 8, rest = len % 8;

	if (memcmp(addr, b, whole) != 0)
		return false;
	return rest == 0 || ((addr[whole] ^ b[whole]) & (uint8_t)(0xff00 >> rest)) == 0;
}

static void frame_release(struct frame *f)
{
	for (int a = 0; a < ACTIONS; a++)
		for (int c = 0; c < NF_PROTO_COUNT; c++)
			if (f->owned[a][c])
				free(f->cum[a][c].r);
	memset(f->owned, 0, sizeof(f->owned));
}

/* The union of the ports of items[0..n) with action a that apply to protocol class c. */
static int own_ports(struct builder *b, const struct item *items, size_t n, int a, int c,
		     struct ranges *ret)
{
	struct ranges out = { NULL, 0 };
	size_t i, total = 0, rules = 0;

	for (i = 0; i < n; i++) {
		const struct nf_rule *rule = &b->p->rules[items[i].rule];

		if (rule->action == a && (rule->protocols & (1u << c))) {
			total += b->rule_ports[items[i].rule].n;
			rules++;
		}
	}
	*ret = out;
	if (!rules)
		return 0;
	out.r = malloc(total * sizeof(*out.r));
	if (!out.r)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct nf_rule *rule = &b->p->rules[items[i].rule];
		const struct ranges *s = &b->rule_ports[items[i].rule];

		if (rule->action == a && (rule->protocols & (1u << c))) {
			memcpy(out.r + out.n, s->r, s->n * sizeof(*s->r));
			out.n += s->n;
		}
	}
	if (rules > 1)
		out.n = normalize(out.r, out.n);
	*ret = out;
	return 0;
}

/* f->cum = own rules' ports ∪ parent's, per action and class; borrowed when nothing is added. */
static int frame_accumulate(struct builder *b, struct frame *f, const struct frame *parent,
			    const struct item *items, size_t n)
{
	for (int a = 0; a < ACTIONS; a++) {
		for (int c = 0; c < NF_PROTO_COUNT; c++) {
			struct ranges own;
			int r = own_ports(b, items, n, a, c, &own);

			if (r < 0)
				return r;
			f->cum[a][c] = parent->cum[a][c];
			if (!own.n) {
				free(own.r);
				continue;
			}
			r = ranges_merge(&own, &parent->cum[a][c], &f->cum[a][c]);
			free(own.r);
			if (r < 0)
				return r;
			f->owned[a][c] = true;
		}
	}
	return 0;
}

/* The final verdict per class: deny wins, else allow, else default. */
static int frame_finish(struct builder *b, struct frame *f, const struct frame *parent)
{
	static const struct ranges every = { (struct nf_port_range *)&all_ports, 1 };

	for (int c = 0; c < NF_PROTO_COUNT; c++) {
		const struct ranges *deny = &f->cum[NF_ACTION_DENY][c];
		const struct ranges *allow = &f->cum[NF_ACTION_ALLOW][c];
		struct ranges final;
		int r;

		if (!f->owned[NF_ACTION_DENY][c] && !f->owned[NF_ACTION_ALLOW][c]) {
			f->id[c] = parent->id[c];
			f->learn[c] = parent->learn[c];
			continue;
		}
		r = ranges_subtract(b->default_allow ? &every : allow, deny, &final);
		if (r < 0)
			return r;
		r = intern(&b->in, &final, &f->id[c]);
		if (r < 0)
			return r;
		f->learn[c] = NF_PORTSET_NONE;
		if (!b->names)
			continue;
		r = ranges_subtract(&every, deny, &final);
		if (r >= 0)
			r = intern(&b->in, &final, &f->learn[c]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Compile the rules of one family, items sorted by cmp_item, into out (one entry per prefix). */
static int compile_items(struct builder *b, const struct item *items, size_t n, struct gentry *out,
			 size_t *ret_n)
{
	size_t i = 0, j, depth = 0, nout = 0;
	int r = 0;

	while (i < n && r >= 0) {
		struct frame *f, *parent;

		for (j = i + 1; j < n && items[j].len == items[i].len &&
				!memcmp(items[j].addr, items[i].addr, sizeof(items[i].addr));
		     j++)
			;
		while (depth &&
		       !covers(b->stack[depth - 1].addr, b->stack[depth - 1].len, items[i].addr))
			frame_release(&b->stack[--depth]);
		parent = depth ? &b->stack[depth - 1] : &b->base;
		f = &b->stack[depth++];
		memcpy(f->addr, items[i].addr, sizeof(f->addr));
		f->len = items[i].len;
		r = frame_accumulate(b, f, parent, items + i, j - i);
		if (r >= 0)
			r = frame_finish(b, f, parent);
		memcpy(out[nout].addr, f->addr, sizeof(f->addr));
		out[nout].len = f->len;
		for (int c = 0; c < NF_PROTO_COUNT; c++) {
			out[nout].val.portset[c] = f->id[c];
			out[nout].val.learn[c] = f->learn[c];
		}
		nout++;
		i = j;
	}
	while (depth)
		frame_release(&b->stack[--depth]);
	*ret_n = nout;
	return r;
}

/* The rules applying to family (4 or 6), "any" ones as /0, sorted into preorder. */
static struct item *collect_items(const struct nf_policy *p, int family, size_t *ret_n)
{
	struct item *items = calloc(p->nrules ? p->nrules : 1, sizeof(*items));
	size_t i, n = 0;

	if (!items)
		return NULL;
	for (i = 0; i < p->nrules; i++) {
		const struct nf_rule *rule = &p->rules[i];

		if (rule->host || (!rule->any && rule->prefix.family != family))
			continue;
		if (!rule->any) {
			memcpy(items[n].addr, rule->prefix.addr, sizeof(items[n].addr));
			items[n].len = rule->prefix.prefixlen;
		}
		items[n++].rule = (uint32_t)i;
	}
	qsort(items, n, sizeof(*items), cmp_item);
	*ret_n = n;
	return items;
}

static int compile_family(struct builder *b, int family, struct gentry **ret, size_t *ret_n)
{
	struct gentry *out = NULL;
	struct item *items;
	size_t n;
	int r = -ENOMEM;

	items = collect_items(b->p, family, &n);
	if (items)
		out = calloc(n ? n : 1, sizeof(*out));
	if (out)
		r = compile_items(b, items, n, out, ret_n);
	free(items);
	if (r < 0) {
		free(out);
		return r;
	}
	*ret = out;
	return 0;
}

static int emit_entries(struct nf_compiled *c, const struct gentry *g4, size_t n4,
			const struct gentry *g6, size_t n6)
{
	size_t i;

	c->v4 = calloc(n4 ? n4 : 1, sizeof(*c->v4));
	c->v6 = calloc(n6 ? n6 : 1, sizeof(*c->v6));
	if (!c->v4 || !c->v6)
		return -ENOMEM;
	for (i = 0; i < n4; i++) {
		c->v4[i].key.prefixlen = g4[i].len;
		memcpy(&c->v4[i].key.addr, g4[i].addr, 4);
		c->v4[i].val = g4[i].val;
	}
	for (i = 0; i < n6; i++) {
		c->v6[i].key.prefixlen = g6[i].len;
		memcpy(c->v6[i].key.addr, g6[i].addr, 16);
		c->v6[i].val = g6[i].val;
	}
	c->n4 = n4;
	c->n6 = n6;
	return 0;
}

static void set_bits(struct nf_portset *set, uint32_t lo, uint32_t hi)
{
	for (uint32_t port = lo; port <= hi;) {
		uint32_t word = port / 64, bit = port % 64;

		if (bit == 0 && hi - port >= 63) {
			set->bits[word] = ~0ULL;
			port += 64;
		} else {
			set->bits[word] |= 1ULL << bit;
			port++;
		}
	}
}

static int emit_portsets(struct nf_compiled *c, const struct interner *in)
{
	c->portsets = calloc(in->n ? in->n : 1, sizeof(*c->portsets));
	if (!c->portsets)
		return -ENOMEM;
	for (size_t k = 0; k < in->n; k++)
		for (size_t i = 0; i < in->sets[k].n; i++)
			set_bits(&c->portsets[k], in->sets[k].r[i].lo, in->sets[k].r[i].hi);
	c->nportsets = in->n;
	return 0;
}

/* Addresses as numbers: IPv4 in the low 32 bits. */
typedef unsigned __int128 nf_u128;

/* From start to the next interval's start, the addresses get class cls. */
struct interval {
	nf_u128 start;
	uint32_t cls;
};

/* Distinct entry values, found again by open addressing. */
struct class_set {
	struct nf_entry *v;
	size_t n;
	uint32_t *slot; /* index + 1; 0 = empty */
	size_t mask;
};

static bool entry_equal(const struct nf_entry *a, const struct nf_entry *b)
{
	return !memcmp(a->portset, b->portset, sizeof(a->portset)) &&
	       !memcmp(a->learn, b->learn, sizeof(a->learn));
}

static uint32_t class_of(struct class_set *cs, const struct nf_entry *e)
{
	uint64_t h =
		(e->portset[0] * 0x9e3779b97f4a7c15ULL) ^ (e->portset[1] * 0xc2b2ae3d27d4eb4fULL) ^
		(e->portset[2] * 0x165667b19e3779f9ULL) ^ (e->learn[0] * 0x27d4eb2f165667c5ULL) ^
		(e->learn[1] * 0x94d049bb133111ebULL) ^ (e->learn[2] * 0xbf58476d1ce4e5b9ULL);
	size_t i;

	for (i = (size_t)(h ^ h >> 29) & cs->mask; cs->slot[i]; i = (i + 1) & cs->mask)
		if (entry_equal(&cs->v[cs->slot[i] - 1], e))
			return cs->slot[i] - 1;
	cs->v[cs->n] = *e;
	cs->slot[i] = (uint32_t)++cs->n;
	return (uint32_t)(cs->n - 1);
}

static nf_u128 addr_value(const uint8_t *a, size_t bytes)
{
	nf_u128 v = 0;

	for (size_t i = 0; i < bytes; i++)
		v = v << 8 | a[i];
	return v;
}

/* The last address of a family: 2^32 - 1 or 2^128 - 1. */
static nf_u128 addr_max(int family)
{
	return family == 4 ? (nf_u128)UINT32_MAX : ~(nf_u128)0;
}

/* A new interval at start; one already starting there is superseded. */
static void interval_push(struct interval *iv, size_t *n, nf_u128 start, uint32_t cls)
{
	if (*n && iv[*n - 1].start == start)
		iv[*n - 1].cls = cls;
	else
		iv[(*n)++] = (struct interval){ start, cls };
}

struct open_prefix {
	nf_u128 end;
	uint32_t cls;
};

/* Close the innermost open prefix: its parent (or the default) resumes after it. */
static void interval_close(struct open_prefix *stack, size_t *depth, struct interval *iv, size_t *n,
			   nf_u128 max, uint32_t default_cls)
{
	nf_u128 end = stack[--(*depth)].end;

	if (end != max)
		interval_push(iv, n, end + 1, *depth ? stack[*depth - 1].cls : default_cls);
}

/* Entry i's key as (address bytes, length), whichever family. */
static const uint8_t *entry_key(const struct nf_compiled *c, int family, size_t i,
				unsigned int *len)
{
	if (family == 4) {
		*len = c->v4[i].key.prefixlen;
		return (const uint8_t *)&c->v4[i].key.addr;
	}
	*len = c->v6[i].key.prefixlen;
	return (const uint8_t *)c->v6[i].key.addr;
}

/* The entries of one family (preorder) as merged intervals covering the whole address space. */
static int build_intervals(const struct nf_compiled *c, int family, struct class_set *cs,
			   uint32_t default_cls, struct interval **ret, size_t *ret_n)
{
	size_t n = family == 4 ? c->n4 : c->n6, bytes = family == 4 ? 4 : 16, m = 0, depth = 0;
	unsigned int width = (unsigned int)bytes * 8;
	struct open_prefix stack[STACK_MAX];
	nf_u128 max = addr_max(family);
	struct interval *iv = malloc((2 * n + 1) * sizeof(*iv));
	size_t i, k;

	if (!iv)
		return -ENOMEM;
	interval_push(iv, &m, 0, default_cls);
	for (i = 0; i < n; i++) {
		const struct nf_entry *val = family == 4 ? &c->v4[i].val : &c->v6[i].val;
		unsigned int len;
		nf_u128 start = addr_value(entry_key(c, family, i, &len), bytes);
		nf_u128 span = len == 0 ? max : ((nf_u128)1 << (width - len)) - 1;

		while (depth && stack[depth - 1].end < start)
			interval_close(stack, &depth, iv, &m, max, default_cls);
		stack[depth].end = start + span;
		stack[depth++].cls = class_of(cs, val);
		interval_push(iv, &m, start, stack[depth - 1].cls);
	}
	while (depth)
		interval_close(stack, &depth, iv, &m, max, default_cls);
	/* Neighbours with the same value are one interval. */
	for (i = k = 1; i < m; i++)
		if (iv[i].cls != iv[k - 1].cls)
			iv[k++] = iv[i];
	*ret = iv;
	*ret_n = k;
	return 0;
}

struct tree_shape {
	unsigned int fanout, levels;
};

/* One family's nodes, whichever key type. */
struct tree {
	int family;
	struct tree_shape sh;
	struct nf_node4 *n4;
	struct nf_node6 *n6;
};

static void key_store(const struct tree *t, size_t node, unsigned int k, nf_u128 v)
{
	if (t->family == 4) {
		t->n4[node].key[k] = (uint32_t)v;
	} else {
		struct nf_addr6 *key = &t->n6[node].key[k];

		key->top = (uint64_t)(v >> 126);
		key->mid = (uint64_t)(v >> 63) & INT64_MAX;
		key->low = (uint64_t)v & INT64_MAX;
	}
}

static nf_u128 key_load(const struct tree *t, size_t node, unsigned int k)
{
	const struct nf_addr6 *key;

	if (t->family == 4)
		return t->n4[node].key[k];
	key = &t->n6[node].key[k];
	return (nf_u128)key->top << 126 | (nf_u128)key->mid << 63 | key->low;
}

/* Key k of a node <= a, computed as the programs do: for IPv6 the sign of a - key limb by limb,
 * which is only right for limbs in range, so that a bad key shows here as in the kernel. */
static bool key_le(const struct tree *t, size_t node, unsigned int k, nf_u128 a)
{
	const struct nf_addr6 *key;
	uint64_t borrow;

	if (t->family == 4)
		return t->n4[node].key[k] <= a;
	key = &t->n6[node].key[k];
	borrow = ((uint64_t)a & INT64_MAX) - key->low;
	borrow = ((uint64_t)(a >> 63) & INT64_MAX) - key->mid - (borrow >> 63);
	return ((uint64_t)(a >> 126) - key->top - (borrow >> 63)) >> 63 == 0;
}

static void cls_store(const struct tree *t, size_t node, unsigned int k, uint32_t cls)
{
	if (t->family == 4)
		t->n4[node].cls[k] = (uint16_t)cls;
	else
		t->n6[node].cls[k] = (uint16_t)cls;
}

static uint16_t cls_load(const struct tree *t, size_t node, unsigned int k)
{
	return t->family == 4 ? t->n4[node].cls[k] : t->n6[node].cls[k];
}

/* The number of intervals a tree of that shape holds. */
static size_t tree_capacity(const struct tree_shape *sh)
{
	size_t n = 1;

	for (unsigned int l = 0; l < sh->levels; l++)
		n *= sh->fanout;
	return n;
}

/* Node counts per level, root first: leaves hold the intervals, each level above one key per
 * node below. */
static int tree_levels(const struct tree_shape *sh, size_t m, size_t *nodes)
{
	size_t n = (m + sh->fanout - 1) / sh->fanout;

	for (int l = (int)sh->levels - 1; l >= 0; l--) {
		nodes[l] = n ? n : 1;
		n = (nodes[l] + sh->fanout - 1) / sh->fanout;
	}
	return nodes[0] == 1 ? 0 : -E2BIG; /* 16384 rules never come near */
}

/* The tree of netfence.h over the merged intervals. */
static int emit_tree(const struct interval *iv, size_t m, int family, unsigned int levels,
		     struct nf_tree_layout *lay, struct tree *t)
{
	size_t nodes[NF_TREE_MAX_LEVELS], total = 0, leaves, i, l;
	unsigned int f = family == 4 ? NF_TREE4_FANOUT : NF_TREE6_FANOUT;

	t->family = family;
	t->sh = (struct tree_shape){ f, levels };
	if (tree_levels(&t->sh, m, nodes) < 0)
		return -E2BIG;
	memset(lay, 0, sizeof(*lay));
	for (l = 0; l < t->sh.levels; l++) {
		lay->level[l] = (uint32_t)total;
		total += nodes[l];
	}
	lay->nodes = (uint32_t)total;
	lay->max_class = iv[m - 1].cls;
	if (family == 4)
		t->n4 = calloc(total, sizeof(*t->n4));
	else
		t->n6 = calloc(total, sizeof(*t->n6));
	if (!t->n4 && !t->n6)
		return -ENOMEM;
	leaves = lay->level[t->sh.levels - 1];
	for (i = 0; i < total * f; i++) {
		key_store(t, i / f, (unsigned int)(i % f), addr_max(family)); /* padding */
		cls_store(t, i / f, (unsigned int)(i % f), iv[m - 1].cls);
	}
	for (i = 0; i < m; i++) {
		key_store(t, leaves + i / f, (unsigned int)(i % f), iv[i].start);
		cls_store(t, leaves + i / f, (unsigned int)(i % f), iv[i].cls);
	}
	/* Upwards: key c of node n is the first key of node n * fanout + c of the level below. */
	for (l = t->sh.levels - 1; l-- > 0;)
		for (i = 0; i < nodes[l + 1]; i++)
			key_store(t, lay->level[l] + i / f, (unsigned int)(i % f),
				  key_load(t, lay->level[l + 1] + i, 0));
	return 0;
}

#define MAPPED_BASE ((nf_u128)0xffff << 32) /* ::ffff:0.0.0.0 */

/*
 * The IPv6 intervals with ::ffff:0.0.0.0/96 replaced by the IPv4 intervals: IPv4-mapped
 * destinations follow the IPv4 rules only. The small build's IPv6 programs judge them in the
 * IPv6 tree, which spares them verifying the IPv4 walk too.
 */
static int merge_mapped(const struct interval *iv6, size_t m6, const struct interval *iv4,
			size_t m4, struct interval **ret, size_t *ret_n)
{
	nf_u128 after = MAPPED_BASE + ((nf_u128)1 << 32);
	struct interval *out = malloc((m6 + m4 + 1) * sizeof(*out));
	uint32_t resume = 0;
	size_t i, j, n = 0;

	if (!out)
		return -ENOMEM;
	for (i = 0; i < m6 && iv6[i].start < MAPPED_BASE; i++)
		out[n++] = iv6[i];
	for (j = 0; j < m4; j++)
		interval_push(out, &n, MAPPED_BASE + iv4[j].start, iv4[j].cls);
	/* After ::ffff:255.255.255.255, the IPv6 interval covering it resumes. */
	for (i = 0; i < m6 && iv6[i].start <= after; i++)
		resume = iv6[i].cls;
	interval_push(out, &n, after, resume);
	for (; i < m6; i++)
		out[n++] = iv6[i];
	for (i = j = 1; i < n; i++)
		if (out[i].cls != out[j - 1].cls)
			out[j++] = out[i];
	*ret = out;
	*ret_n = j;
	return 0;
}

/*
 * The small build when both trees fit its levels, the IPv6 one holding the IPv4-mapped range
 * too; else the large build. On success *iv6 and *m6 are the intervals to put in the IPv6 tree.
 */
static int choose_build(struct nf_compiled *c, const struct interval *iv4, size_t m4,
			struct interval **iv6, size_t *m6)
{
	struct tree_shape s4 = { NF_TREE4_FANOUT, NF_TREE4_LEVELS_SMALL };
	struct tree_shape s6 = { NF_TREE6_FANOUT, NF_TREE6_LEVELS_SMALL };
	struct interval *merged;
	size_t n;
	int r;

	c->small = false;
	c->levels4 = NF_TREE4_LEVELS_LARGE;
	c->levels6 = NF_TREE6_LEVELS_LARGE;
	if (m4 > tree_capacity(&s4))
		return 0;
	r = merge_mapped(*iv6, *m6, iv4, m4, &merged, &n);
	if (r < 0)
		return r;
	if (n > tree_capacity(&s6)) {
		free(merged);
		return 0;
	}
	free(*iv6);
	*iv6 = merged;
	*m6 = n;
	c->small = true;
	c->levels4 = NF_TREE4_LEVELS_SMALL;
	c->levels6 = NF_TREE6_LEVELS_SMALL;
	return 0;
}

static int emit_tables(struct nf_compiled *c, const struct builder *b)
{
	struct class_set cs = { 0 };
	struct nf_entry def;
	struct interval *iv4 = NULL, *iv6 = NULL;
	struct tree t4 = { 0 }, t6 = { 0 };
	size_t cap = c->n4 + c->n6 + 1, slots = 1, m4 = 0, m6 = 0;
	int r;

	while (slots < 2 * cap)
		slots *= 2;
	cs.v = calloc(cap, sizeof(*cs.v));
	cs.slot = calloc(slots, sizeof(*cs.slot));
	cs.mask = slots - 1;
	if (!cs.v || !cs.slot) {
		free(cs.slot);
		free(cs.v);
		return -ENOMEM;
	}
	memcpy(def.portset, b->base.id, sizeof(def.portset));
	memcpy(def.learn, b->base.learn, sizeof(def.learn));
	class_of(&cs, &def); /* class 0: no prefix covers the address */
	r = build_intervals(c, 4, &cs, 0, &iv4, &m4);
	if (r >= 0)
		r = build_intervals(c, 6, &cs, 0, &iv6, &m6);
	if (r >= 0)
		r = choose_build(c, iv4, m4, &iv6, &m6);
	if (r >= 0)
		r = emit_tree(iv4, m4, 4, c->levels4, &c->tree4, &t4);
	if (r >= 0)
		r = emit_tree(iv6, m6, 6, c->levels6, &c->tree6, &t6);
	free(iv4);
	free(iv6);
	c->nodes4 = t4.n4;
	c->nodes6 = t6.n6;
	free(cs.slot);
	c->classes = cs.v;
	c->nclasses = cs.n;
	return r;
}

static void builder_free(struct builder *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; b->rule_ports && i < b->p->nrules; i++)
		free(b->rule_ports[i].r);
	free(b->rule_ports);
	for (i = 0; i < b->in.n; i++)
		free(b->in.sets[i].r);
	free(b);
}

/* ---- name rules ---------------------------------------------------------------------------- */

_Static_assert(NF_POLICY_MAX_RESOLVERS == NF_RESOLVERS_MAX, "resolvers: one limit");
_Static_assert(NF_POLICY_MAX_HOSTS <= NF_NAMES_MAX, "patterns: room for every host rule");

enum { HOST_EXACT, HOST_ONE, HOST_ANY };

static const char *host_domain(const char *host, int *kind)
{
	if (!strncmp(host, "**.", 3)) {
		*kind = HOST_ANY;
		return host + 3;
	}
	if (!strncmp(host, "*.", 2)) {
		*kind = HOST_ONE;
		return host + 2;
	}
	*kind = HOST_EXACT;
	return host;
}

static unsigned int labels_of(const char *d)
{
	unsigned int n = 1;

	for (; *d; d++)
		n += *d == '.';
	return n;
}

/* Whether domain d is x or below it; *depth: how many labels below. */
static bool domain_under(const char *d, const char *x, unsigned int *depth)
{
	size_t dl = strlen(d), xl = strlen(x);

	if (dl < xl || strcmp(d + dl - xl, x) != 0 || (dl > xl && d[dl - xl - 1] != '.'))
		return false;
	*depth = labels_of(d) - labels_of(x);
	return true;
}

/* The domain's labels, last first, in wire form: "\3org\7example" for example.org. */
static void pattern_key(const char *d, struct nf_name_key *k)
{
	size_t end = strlen(d), pos = 0;

	memset(k, 0, sizeof(*k));
	for (;;) {
		size_t start = end;

		while (start > 0 && d[start - 1] != '.')
			start--;
		k->name[pos++] = (uint8_t)(end - start);
		memcpy(&k->name[pos], d + start, end - start);
		pos += end - start;
		if (start == 0)
			break;
		end = start - 1;
	}
	k->prefixlen = (uint32_t)pos * 8;
}

/*
 * Which of the pattern's depths (enum nf_name_depth, as bits) a rule of kind reaching depth
 * labels above the pattern's domain covers: the domain itself, a name one label below it, names
 * two or more below.
 */
static unsigned int rule_depths(int kind, unsigned int depth)
{
	if (kind == HOST_EXACT)
		return depth == 0 ? 1u << NF_DEPTH_SELF : 0;
	if (kind == HOST_ONE)
		return depth == 0 ? 1u << NF_DEPTH_ONE : depth == 1 ? 1u << NF_DEPTH_SELF : 0;
	return depth == 0 ? (1u << NF_DEPTH_ONE | 1u << NF_DEPTH_DEEPER) : 7;
}

static int pattern_value(struct builder *b, const char *d, struct nf_name_val *v)
{
	struct ranges acc[3][NF_PROTO_COUNT] = { 0 };
	const struct nf_policy *p = b->p;
	int r = 0;

	for (size_t i = 0; i < p->nrules && r >= 0; i++) {
		const struct nf_rule *rule = &p->rules[i];
		unsigned int depth, bits;
		int kind;
		const char *x;

		if (!rule->host)
			continue;
		x = host_domain(rule->host, &kind);
		if (!domain_under(d, x, &depth))
			continue;
		bits = rule_depths(kind, depth);
		for (int dep = 0; dep < 3 && r >= 0; dep++) {
			for (int c = 0; c < NF_PROTO_COUNT && r >= 0; c++) {
				struct ranges m;

				if (!(bits & (1u << dep)) || !(rule->protocols & (1u << c)))
					continue;
				r = ranges_merge(&acc[dep][c], &b->rule_ports[i], &m);
				if (r >= 0) {
					free(acc[dep][c].r);
					acc[dep][c] = m;
				}
			}
		}
	}
	for (int dep = 0; dep < 3; dep++)
		for (int c = 0; c < NF_PROTO_COUNT; c++) {
			if (r >= 0)
				r = intern(&b->in, &acc[dep][c], &v->portset[dep][c]);
			else
				free(acc[dep][c].r);
		}
	v->labels = labels_of(d);
	return r;
}

int nf_compiled_host_ports(const struct nf_compiled *c, const char *host,
			   uint32_t ret[NF_PROTO_COUNT])
{
	const struct nf_pattern *best = NULL;
	struct nf_name_key k;
	unsigned int depth;

	if (strlen(host) > NF_NAME_MAX - 2 || strchr(host, '*'))
		return -EINVAL;
	pattern_key(host, &k);
	/* the trie's lookup: the longest pattern whose key starts the name's */
	for (size_t i = 0; i < c->npatterns; i++) {
		const struct nf_pattern *p = &c->patterns[i];

		if (p->key.prefixlen <= k.prefixlen &&
		    memcmp(p->key.name, k.name, p->key.prefixlen / 8) == 0 &&
		    (!best || p->key.prefixlen > best->key.prefixlen))
			best = p;
	}
	if (!best || best->val.labels > labels_of(host))
		return -ENOENT;
	depth = labels_of(host) - best->val.labels;
	depth = depth > NF_DEPTH_DEEPER ? NF_DEPTH_DEEPER : depth;
	for (int p = 0; p < NF_PROTO_COUNT; p++)
		ret[p] = best->val.portset[depth][p];
	return ret[0] || ret[1] || ret[2] ? 0 : -ENOENT;
}

/* One pattern per distinct domain of the name rules, and the resolvers. */
static int compile_names(struct builder *b, struct nf_compiled *c)
{
	const struct nf_policy *p = b->p;
	int r = 0;

	c->patterns = calloc(NF_NAMES_MAX, sizeof(*c->patterns));
	if (!c->patterns)
		return -ENOMEM;
	for (size_t i = 0; i < p->nrules && r >= 0; i++) {
		const char *d;
		bool seen = false;
		int kind;

		if (!p->rules[i].host)
			continue;
		d = host_domain(p->rules[i].host, &kind);
		for (size_t j = 0; j < i && !seen; j++)
			seen = p->rules[j].host && !strcmp(host_domain(p->rules[j].host, &kind), d);
		if (seen)
			continue;
		if (c->npatterns == NF_NAMES_MAX)
			return -E2BIG;
		pattern_key(d, &c->patterns[c->npatterns].key);
		r = pattern_value(b, d, &c->patterns[c->npatterns++].val);
	}
	for (size_t i = 0; i < p->nresolvers; i++) {
		uint8_t *a = (uint8_t *)c->resolvers[i].addr;

		memset(a, 0, 16);
		if (p->resolvers[i].family == 4) {
			a[10] = a[11] = 0xff;
			memcpy(a + 12, p->resolvers[i].addr, 4);
		} else {
			memcpy(a, p->resolvers[i].addr, 16);
		}
	}
	c->nresolvers = p->nresolvers;
	return r;
}

/*
 * The rules a policy with name rules gets on top of its own: each resolver is reachable on
 * UDP port 53, which the learning needs (deny rules still win). The rules array is new; the
 * rest is p's. NULL when out of memory.
 */
static const struct nf_port_range dns_port = { NF_DNS_PORT, NF_DNS_PORT };

static struct nf_rule *with_resolver_rules(const struct nf_policy *p, struct nf_policy *out)
{
	struct nf_rule *rules = calloc(p->nrules + p->nresolvers + 1, sizeof(*rules));

	if (!rules)
		return NULL;
	memcpy(rules, p->rules, p->nrules * sizeof(*rules));
	for (size_t i = 0; i < p->nresolvers; i++)
		rules[p->nrules + i] = (struct nf_rule){
			.action = NF_ACTION_ALLOW,
			.protocols = NF_PMASK_UDP,
			.prefix = p->resolvers[i],
			.nports = 1,
			.ports = (struct nf_port_range *)&dns_port,
		};
	*out = *p;
	out->rules = rules;
	out->nrules = p->nrules + p->nresolvers;
	return rules;
}

static void compile_settings(const struct nf_policy *p, struct nf_compiled *c)
{
	c->mode = p->mode == NF_MODE_AUDIT ? NF_MODE_AUDIT : NF_MODE_ENFORCE;
	c->default_allow = p->default_action == NF_ACTION_ALLOW;
	/* An unresolved policy gets the closed choices: loopback follows the rules. */
	c->loopback_allow = p->loopback == NF_LOOPBACK_ALLOW;
	c->raw_deny = p->raw_sockets == NF_RAW_DENY ||
		      (p->raw_sockets == NF_RAW_UNSET && !c->default_allow);
}

static int compile_maps(struct builder *b, struct nf_compiled *c)
{
	struct gentry *g4 = NULL, *g6 = NULL;
	size_t n4 = 0, n6 = 0;
	int r;

	r = prepare_rules(b);
	if (r >= 0)
		r = compile_family(b, 4, &g4, &n4);
	if (r >= 0)
		r = compile_family(b, 6, &g6, &n6);
	if (r >= 0 && b->names)
		r = compile_names(b, c);
	if (r >= 0)
		r = emit_entries(c, g4, n4, g6, n6);
	if (r >= 0)
		r = emit_portsets(c, &b->in);
	if (r >= 0)
		r = emit_tables(c, b);
	free(g4);
	free(g6);
	return r;
}

int nf_compile(const struct nf_policy *p, struct nf_compiled **ret, struct nf_err *err)
{
	struct nf_compiled *c = calloc(1, sizeof(*c));
	struct builder *b = calloc(1, sizeof(*b));
	struct nf_rule *extra = NULL;
	struct nf_policy with;
	int r = -ENOMEM;

	if (c && b && nf_policy_has_names(p))
		extra = with_resolver_rules(p, &with);
	if (c && b && (extra || !nf_policy_has_names(p))) {
		b->p = extra ? &with : p;
		b->names = extra != NULL;
		c->names = b->names;
		compile_settings(p, c);
		b->default_allow = c->default_allow;
		for (int k = 0; k < NF_PROTO_COUNT; k++) {
			b->base.id[k] = c->default_allow ? NF_PORTSET_ALL : NF_PORTSET_NONE;
			b->base.learn[k] = b->names ? NF_PORTSET_ALL : NF_PORTSET_NONE;
		}
		r = compile_maps(b, c);
	}
	builder_free(b);
	free(extra);
	if (r < 0) {
		nf_compiled_free(c);
		if (r == -E2BIG)
			return nf_err_set(
				err, r,
				"the policy needs more than %d distinct port sets (ports "
				"allowed per prefix and protocol); use fewer distinct port "
				"lists",
				NF_MAX_PORTSETS);
		return nf_err_set(err, r, "out of memory compiling the policy");
	}
	*ret = c;
	return 0;
}

void nf_compiled_free(struct nf_compiled *c)
{
	if (!c)
		return;
	free(c->v4);
	free(c->v6);
	free(c->portsets);
	free(c->nodes4);
	free(c->nodes6);
	free(c->classes);
	free(c->patterns);
	free(c);
}

/* ::ffff:a.b.c.d is judged as a.b.c.d and 0.0.0.0 and :: as loopback, as the programs do.
 * Returns the family or -EINVAL. */
static int dest_normalize(int family, const uint8_t *addr, uint8_t out[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	static const uint8_t zero[16];

	memset(out, 0, 16);
	if (family == 4) {
		memcpy(out, addr, 4);
	} else if (family != 6) {
		return -EINVAL;
	} else if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memcpy(out, addr + 12, 4);
		family = 4;
	} else {
		memcpy(out, addr, 16);
	}
	/* The kernel connects the unspecified address to this host: judge it as loopback. */
	if (family == 4 && !out[0] && !out[1] && !out[2] && !out[3]) {
		out[0] = 127;
		out[3] = 1;
	} else if (family == 6 && !memcmp(out, zero, 16)) {
		out[15] = 1;
	}
	return family;
}

static bool is_loopback(int family, const uint8_t *a)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };

	return family == 4 ? a[0] == 127 : memcmp(a, v6_loopback, 16) == 0;
}

static bool ports_match(const struct nf_rule *rule, uint16_t port)
{
	if (!rule->nports)
		return true;
	for (size_t i = 0; i < rule->nports; i++)
		if (rule->ports[i].lo <= port && port <= rule->ports[i].hi)
			return true;
	return false;
}

int nf_policy_verdict(const struct nf_policy *p, int family, const uint8_t *addr, int proto,
		      uint16_t port)
{
	bool allowed = false;
	uint8_t a[16];
	int fam = dest_normalize(family, addr, a);

	if (fam < 0 || proto < 0 || proto >= NF_PROTO_COUNT)
		return NF_VERDICT_DENY;
	if (p->loopback == NF_LOOPBACK_ALLOW && is_loopback(fam, a))
		return NF_VERDICT_ALLOW;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct nf_rule *rule = &p->rules[i];

		if (rule->host)
			continue;
		if (!rule->any && (rule->prefix.family != fam ||
				   !covers(rule->prefix.addr, rule->prefix.prefixlen, a)))
			continue;
		if (!(rule->protocols & (1u << proto)) || !ports_match(rule, port))
			continue;
		if (rule->action == NF_ACTION_DENY)
			return NF_VERDICT_DENY;
		allowed = true;
	}
	/* A policy with name rules reaches its resolvers on UDP port 53 (with_resolver_rules). */
	for (size_t i = 0; i < p->nresolvers && nf_policy_has_names(p); i++)
		if (p->resolvers[i].family == fam &&
		    !memcmp(p->resolvers[i].addr, a, fam == 4 ? 4 : 16) && proto == NF_PROTO_UDP &&
		    port == NF_DNS_PORT)
			allowed = true;
	if (allowed || p->default_action == NF_ACTION_ALLOW)
		return NF_VERDICT_ALLOW;
	return NF_VERDICT_DENY;
}

/* The search the programs make (nf_judge*, nf_search*), over the same bytes. */
static const struct nf_entry *table_find(const struct nf_compiled *c, int family,
					 const uint8_t *addr)
{
	const struct nf_tree_layout *lay = family == 4 ? &c->tree4 : &c->tree6;
	struct tree t = { family,
			  { family == 4 ? NF_TREE4_FANOUT : NF_TREE6_FANOUT,
			    family == 4 ? c->levels4 : c->levels6 },
			  c->nodes4,
			  c->nodes6 };
	nf_u128 a = addr_value(addr, family == 4 ? 4 : 16);
	uint32_t node = 0, idx = 0, cls = lay->max_class;

	for (unsigned int l = 0; l < t.sh.levels && a != addr_max(family); l++) {
		unsigned int count = 0;

		idx = lay->level[l] + node;
		if (idx >= lay->nodes)
			return NULL; /* the map lookup fails: so do the programs */
		for (unsigned int k = 0; k < t.sh.fanout; k++)
			count += key_le(&t, idx, k, a);
		node = node * t.sh.fanout + count - 1;
		cls = cls_load(&t, idx, node & (t.sh.fanout - 1));
	}
	return cls < c->nclasses ? &c->classes[cls] : NULL;
}

int nf_compiled_verdict(const struct nf_compiled *c, int family, const uint8_t *addr, int proto,
			uint16_t port)
{
	const struct nf_entry *e;
	uint8_t a[16];
	int fam = dest_normalize(family, addr, a);
	uint32_t id;

	if (fam < 0 || proto < 0 || proto >= NF_PROTO_COUNT)
		return NF_VERDICT_DENY;
	if (c->loopback_allow && is_loopback(fam, a))
		return NF_VERDICT_ALLOW;
	if (c->small && family == 6 && fam == 4) {
		/* The small build's IPv6 programs search the mapped address in the IPv6 tree. */
		uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff };

		memcpy(mapped + 12, a, 4);
		e = table_find(c, 6, mapped);
	} else {
		e = table_find(c, fam, a);
	}
	if (!e)
		return NF_VERDICT_DENY; /* as the programs do with a dangling class */
	id = e->portset[proto];
	if (id == NF_PORTSET_NONE)
		return NF_VERDICT_DENY;
	if (id == NF_PORTSET_ALL)
		return NF_VERDICT_ALLOW;
	if (id - NF_PORTSET_FIRST >= c->nportsets)
		return NF_VERDICT_DENY; /* as the programs do with a dangling id */
	return (c->portsets[id - NF_PORTSET_FIRST].bits[port / 64] >> (port % 64)) & 1;
}
