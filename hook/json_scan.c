// SPDX-License-Identifier: Apache-2.0
/* A strict JSON scanner that accepts what jansson accepts: see json_scan.h. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "err.h"
#include "json_scan.h"
#include "util.h"

/* No recorded member; and so also the parent of the top-level object's members. */
#define NONE NF_JSON_SCAN_TOP

/* An open object or array. */
struct frame {
	size_t member; /* the recorded member this container is the value of, or NONE */
	size_t keys;   /* an object's first key on the key stack */
	const char *start;
	bool object;
	bool record; /* an object whose members are recorded */
};

/* A key of an open object, decoded: duplicates are found on the text jansson would compare. */
struct key {
	const char *p;
	size_t len;
	const char *at; /* where it is written, for the message */
	char *owned;	/* the decoded copy p points to, for a key with escapes */
};

struct scanner {
	const char *p, *end;
	unsigned int levels;
	struct frame *stack;
	size_t depth, stack_cap;
	struct key *keys;
	size_t nkeys, keys_cap;
	struct nf_json_scan_doc *doc;
	size_t doc_cap;
	const char *bad, *why; /* after -EINVAL: where and why */
	char why_buf[NF_QUOTE_BUF + 16];
};

/* The document is refused at byte at, for reason why; returns -EINVAL. */
static int bad(struct scanner *s, const char *at, const char *why)
{
	s->bad = at;
	s->why = why;
	return -EINVAL;
}

/* Wanted want at s->p: or the document ended early. */
static int expected(struct scanner *s, const char *want)
{
	return bad(s, s->p, s->p == s->end ? "unexpected end of input" : want);
}

/* Bytes that end a run of plain string bytes: quote, backslash, control bytes, non-ASCII. */
static const unsigned char string_stop[256] = {
	[0x00 ... 0x1f] = 1,
	['"'] = 1,
	['\\'] = 1,
	[0x80 ... 0xff] = 1,
};

/* The escapes that stand for one byte: \" \\ \/ \b \f \n \r \t. */
static const unsigned char simple_escape_ok[256] = {
	['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1, ['n'] = 1, ['r'] = 1, ['t'] = 1,
};

/* Up to this many keys in an object, duplicates are looked for pairwise rather than sorted. */
#define FEW_KEYS 8

#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL

/*
 * The high bit of each of the 8 bytes of w that string_stop[] flags, and maybe of bytes after
 * one of them; none when no byte is flagged, since only a flagged byte borrows. So in memory
 * order the first marked byte is a flagged one on a little-endian machine.
 */
static uint64_t stop_bytes(uint64_t w)
{
	return (w | (w - 0x20 * ONES) | ((w ^ ('"' * ONES)) - ONES) |
		((w ^ ('\\' * ONES)) - ONES)) &
	       HIGH;
}

/* The first byte at or after p that string_stop[] flags, or end; 8 bytes at a time. Inlined
 * into both its callers: a policy is many short strings, and a call for each shows. */
static inline __attribute__((always_inline)) const unsigned char *
string_run(const unsigned char *p, const unsigned char *end)
{
	uint64_t w, hit;

	for (; end - p >= 8; p += 8) {
		memcpy(&w, p, sizeof(w));
		hit = stop_bytes(w);
		if (hit) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return p + (__builtin_ctzll(hit) >> 3);
#else
			break;
#endif
		}
	}
	while (p < end && !string_stop[*p])
		p++;
	return p;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

static void skip_ws(struct scanner *s)
{
	while (s->p < s->end && is_ws(*s->p))
		s->p++;
}

/* Grow *v (of *cap elements of size sz) to hold at least n. */
static int grow(void **v, size_t *cap, size_t n, size_t sz)
{
	size_t c = *cap ? *cap : 16;
	void *g;

	if (n <= *cap)
		return 0;
	while (c < n)
		c *= 2;
	g = realloc(*v, c * sz);
	if (!g)
		return -ENOMEM;
	*v = g;
	*cap = c;
	return 0;
}

/* Four hex digits at p, or -1. */
static long hex4(const unsigned char *p, const unsigned char *end)
{
	long v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v * 16 + ((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	return v;
}

/*
 * The escape at p (a backslash); returns the byte after it, or NULL. Like jansson: \u0000 is
 * refused (it would cut the C strings callers get), and a surrogate only as a high-low pair.
 */
static const unsigned char *scan_escape(const unsigned char *p, const unsigned char *end)
{
	long u, lo;

	if (end - p < 2)
		return NULL;
	if (simple_escape_ok[p[1]])
		return p + 2;
	if (p[1] != 'u')
		return NULL;
	u = hex4(p + 2, end);
	if (u <= 0 || (u >= 0xdc00 && u <= 0xdfff))
		return NULL;
	if (u < 0xd800 || u > 0xdbff)
		return p + 6;
	if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
		return NULL;
	lo = hex4(p + 8, end);
	if (lo < 0xdc00 || lo > 0xdfff)
		return NULL;
	return p + 12;
}

/* Why scan_escape() refused the escape at p. */
static const char *escape_error(const unsigned char *p, const unsigned char *end)
{
	long u = end - p >= 2 && p[1] == 'u' ? hex4(p + 2, end) : -2;

	if (u == -2)
		return "invalid escape";
	if (u < 0)
		return "invalid \\u escape";
	if (u == 0)
		return "\\u0000 in a string";
	return "unpaired surrogate in a \\u escape";
}

/* A backslash at p whose escape is one of the two-byte ones (not \uXXXX, not invalid). */
static bool simple_escape_at(const unsigned char *p, const unsigned char *end)
{
	return end - p >= 2 && simple_escape_ok[p[1]];
}

#ifdef __SSE2__
static inline __attribute__((always_inline)) __m128i eq(__m128i v, char c)
{
	return _mm_cmpeq_epi8(v, _mm_set1_epi8(c));
}

static inline __attribute__((always_inline)) unsigned int bits(__m128i m)
{
	return (unsigned int)_mm_movemask_epi8(m);
}

/* Bit i set for each byte i of v that is an escape letter other than '"' and '\\'. */
static inline __attribute__((always_inline)) unsigned int bytes_other_escape(__m128i v)
{
	return bits(_mm_or_si128(_mm_or_si128(_mm_or_si128(eq(v, '/'), eq(v, 'b')),
					      _mm_or_si128(eq(v, 'f'), eq(v, 'n'))),
				 _mm_or_si128(eq(v, 'r'), eq(v, 't'))));
}

/*
 * The bytes a backslash escapes, from the block's backslashes bs and carry, 1 when its first
 * byte is escaped by the block before; bit 16 is the next block's first byte. A byte is escaped
 * when an odd run of backslashes ends just before it: runs starting on an odd bit are found by
 * adding them to the backslash mask, whose carries run to their ends (the technique of
 * simdjson's find_escaped). Checked against a byte-by-byte walk for every 16-bit mask.
 */
static unsigned int escaped_bytes(unsigned int bs, unsigned int carry)
{
	const unsigned int even = 0x55555555u;
	unsigned int follows, odd_starts;

	bs &= ~carry;
	follows = bs << 1 | carry;
	odd_starts = bs & ~even & ~follows;
	return (even ^ ((odd_starts + bs) << 1)) & follows;
}
#endif

/*
 * From p, skip plain string bytes and two-byte escapes; return the first byte that needs more:
 * a quote, a control byte, a non-ASCII byte, a backslash starting a \u or invalid escape, or
 * end. *escaped is set when an escape was skipped. A policy carried in an annotation is an
 * escaped quote every few bytes, so with SSE2 escapes are skipped 16 bytes at a time: which
 * bytes are escaped is computed for the whole block, escaped bytes must be escape letters, and
 * the first unescaped stop byte ends the run.
 */
static inline __attribute__((always_inline)) const unsigned char *
escaped_run(const unsigned char *p, const unsigned char *end, bool *escaped)
{
#ifdef __SSE2__
	unsigned int carry = 0;

	/* 17 bytes: the byte after the block may be the second of an escape. */
	while (end - p >= 17) {
		__m128i v = _mm_loadu_si128((const __m128i *)p), quote = eq(v, '"');
		__m128i bslash = eq(v, '\\');
		__m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
		unsigned int bs = bits(bslash), esc = escaped_bytes(bs, carry), cur = esc & 0xffff;
		/* Stop bytes: a quote, a control byte, a byte >= 0x80 (its own top bit). */
		unsigned int stop = bits(_mm_or_si128(_mm_or_si128(quote, ctl), v)) & ~cur, at;
		/* Escaped bytes must be escape letters: mostly quotes and backslashes here. */
		unsigned int bad = cur & ~bits(_mm_or_si128(quote, bslash));

		if (bad)
			bad &= ~bytes_other_escape(v);

		if (bad | stop) {
			at = (unsigned int)__builtin_ctz(stop | 1u << 16);
			/* A bad escaped byte: its backslash goes to the byte-wise path (bit 0: the
			 * backslash ended the block before). */
			if (bad && (unsigned int)__builtin_ctz(bad) < at)
				return p + __builtin_ctz(bad) - 1;
			if ((bs & ((1u << at) - 1)) || carry)
				*escaped = true;
			return p + at;
		}
		if (bs)
			*escaped = true;
		carry = esc >> 16;
		p += 16;
	}
	/* An escape across the last block's end: the byte-wise path takes it from its backslash. */
	p -= carry;
#endif
	for (;;) {
		p = string_run(p, end);
		if (p == end || *p != '\\' || !simple_escape_at(p, end))
			return p;
		*escaped = true;
		p += 2;
	}
}

/* The UTF-8 sequence at p (a byte >= 0x80), checked as jansson's utf8_check_full() does. */
static const unsigned char *scan_utf8(const unsigned char *p, const unsigned char *end)
{
	unsigned long v;
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, v = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, v = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, v = p[0] & 0x07;
	else
		return NULL;
	if ((size_t)(end - p) < n)
		return NULL;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return NULL;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) || (n == 3 && v < 0x800) ||
	    (n == 4 && v < 0x10000))
		return NULL;
	return p + n;
}

/*
 * String content from p, checked as scan_string() checks it, up to the closing quote (*closed
 * set, the quote returned) or end. Unless last, it stops before an escape or a UTF-8 sequence
 * that may go on past end (an escaped surrogate pair is 12 bytes), so that the caller can carry
 * those bytes over to the next piece. NULL: content nf_json_scan() refuses.
 */
static const unsigned char *string_part(const unsigned char *p, const unsigned char *end, bool last,
					bool *closed, const unsigned char **bad)
{
	bool escaped = false;

	for (;;) {
		p = escaped_run(p, end, &escaped);
		if (p == end)
			return p;
		if (*p == '"') {
			*closed = true;
			return p;
		}
		*bad = p;
		if (*p < 0x20)
			return NULL;
		if (!last && end - p < (*p == '\\' ? 12 : 4))
			return p;
		p = *p == '\\' ? scan_escape(p, end) : scan_utf8(p, end);
		if (!p)
			return NULL;
	}
}

/* The string starting at s->p (its quote). */
static int scan_string(struct scanner *s, struct nf_json_scan_span *ret)
{
	const unsigned char *p = (const unsigned char *)s->p + 1;
	const unsigned char *end = (const unsigned char *)s->end;
	bool escaped = false;

	for (;;) {
		const unsigned char *at;

		p = escaped_run(p, end, &escaped);
		if (p == end)
			return bad(s, s->p, "unterminated string");
		if (*p < 0x20)
			return bad(s, (const char *)p, "control character in a string");
		if (*p == '"')
			break;
		at = p;
		if (*p == '\\') {
			escaped = true;
			p = scan_escape(p, end);
		} else {
			p = scan_utf8(p, end);
		}
		if (!p)
			return bad(s, (const char *)at,
				   *at == '\\' ? escape_error(at, end) : "invalid UTF-8");
	}
	*ret = (struct nf_json_scan_span){ s->p + 1, (const char *)p - s->p - 1,
					   NF_JSON_SCAN_STRING, escaped };
	s->p = (const char *)p + 1;
	return 0;
}

/* An integer's magnitude, up to limit; false when it is larger (jansson: "too big integer"). */
static bool magnitude(const char *p, const char *end, unsigned long long limit,
		      unsigned long long *ret)
{
	unsigned long long v = 0;

	for (; p < end; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*ret = v;
	return true;
}

static bool integer_fits(const char *p, const char *end)
{
	unsigned long long v;
	bool neg = *p == '-';

	return magnitude(p + neg, end, neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX, &v);
}

/*
 * jansson refuses a real that overflows a double (underflow to 0 is fine). netfence never calls
 * setlocale(), so strtod() reads '.' as the decimal point, as jansson's own strtod wrapper does.
 */
static int real_fits(const char *p, const char *end)
{
	size_t n = (size_t)(end - p);
	char small[64], *buf = n < sizeof(small) ? small : malloc(n + 1);
	double d;
	int r;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, p, n);
	buf[n] = '\0';
	errno = 0;
	d = strtod(buf, NULL);
	r = (d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE ? -EINVAL : 0;
	if (buf != small)
		free(buf);
	return r;
}

static const char *skip_digits(const char *p, const char *end)
{
	while (is_digit(p, end))
		p++;
	return p;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(struct scanner *s, struct nf_json_scan_span *ret)
{
	const char *p = s->p, *end = s->end;
	bool real = false;
	int r;

	if (*p == '-')
		p++;
	if (!is_digit(p, end))
		return p == s->p ? expected(s, "unexpected character")
				 : bad(s, s->p, "invalid number");
	if (*p == '0' && is_digit(p + 1, end))
		return bad(s, s->p, "invalid number");
	p = skip_digits(p, end);
	if (p < end && *p == '.') {
		real = true;
		if (!is_digit(++p, end))
			return bad(s, s->p, "invalid number");
		p = skip_digits(p, end);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = true;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!is_digit(p, end))
			return bad(s, s->p, "invalid number");
		p = skip_digits(p, end);
	}
	if (!real && !integer_fits(s->p, p))
		return bad(s, s->p, "too big integer");
	r = real ? real_fits(s->p, p) : 0;
	if (r < 0)
		return r == -EINVAL ? bad(s, s->p, "real number overflow") : r;
	*ret = (struct nf_json_scan_span){ s->p, (size_t)(p - s->p),
					   real ? NF_JSON_SCAN_REAL : NF_JSON_SCAN_INTEGER, false };
	s->p = p;
	return 0;
}

static int scan_literal(struct scanner *s, const char *word, enum nf_json_scan_type type,
			struct nf_json_scan_span *ret)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return bad(s, s->p, "invalid literal");
	*ret = (struct nf_json_scan_span){ s->p, n, type, false };
	s->p += n;
	return 0;
}

/* A value that is not a container, at s->p. */
static int scan_scalar(struct scanner *s, struct nf_json_scan_span *ret)
{
	if (s->p == s->end)
		return expected(s, "");
	switch (*s->p) {
	case '"':
		return scan_string(s, ret);
	case 't':
		return scan_literal(s, "true", NF_JSON_SCAN_TRUE, ret);
	case 'f':
		return scan_literal(s, "false", NF_JSON_SCAN_FALSE, ret);
	case 'n':
		return scan_literal(s, "null", NF_JSON_SCAN_NULL, ret);
	default:
		return scan_number(s, ret);
	}
}

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->p, y->p, x->len);
}

/*
 * The keys of the object being closed: sorted, a duplicate is next to its twin. A few keys, as in
 * each rule of a policy, are compared pairwise: qsort() cost more than the rest of the scan.
 */
/* Key k, the second of two equal ones: refused, named. */
static int duplicate(struct scanner *s, const struct key *k)
{
	char q[NF_QUOTE_BUF];

	snprintf(s->why_buf, sizeof(s->why_buf), "duplicate key %s", nf_quote_mem(q, k->p, k->len));
	return bad(s, k->at, s->why_buf);
}

static int check_duplicates(struct scanner *s, struct key *k, size_t n)
{
	if (n <= FEW_KEYS) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (key_cmp(&k[i], &k[j]) == 0)
					return duplicate(s, &k[i]);
		return 0;
	}
	qsort(k, n, sizeof(*k), key_cmp);
	for (size_t i = 1; i < n; i++)
		if (key_cmp(&k[i - 1], &k[i]) == 0)
			return duplicate(s, k[i].at > k[i - 1].at ? &k[i] : &k[i - 1]);
	return 0;
}

static void pop_keys(struct scanner *s, size_t base)
{
	while (s->nkeys > base)
		if (s->keys[--s->nkeys].owned)
			free(s->keys[s->nkeys].owned);
}

/* A key of the innermost object, then its ':'; *member is its record, or NONE. */
static int scan_key(struct scanner *s, size_t *member)
{
	const struct frame *f = &s->stack[s->depth - 1];
	struct nf_json_scan_span k;
	struct key *key;
	int r;

	if (s->p == s->end || *s->p != '"')
		return expected(s, "expected a string key");
	r = scan_string(s, &k);
	if (r == 0)
		r = grow((void **)&s->keys, &s->keys_cap, s->nkeys + 1, sizeof(*s->keys));
	if (r < 0)
		return r;
	key = &s->keys[s->nkeys++];
	*key = (struct key){ k.p, k.len, k.p - 1, NULL };
	if (k.escaped) {
		key->owned = nf_json_scan_strdup(&k);
		if (!key->owned)
			return -ENOMEM;
		key->p = key->owned;
		key->len = strlen(key->owned);
	}
	*member = NONE;
	if (f->record) {
		r = grow((void **)&s->doc->m, &s->doc_cap, s->doc->n + 1, sizeof(*s->doc->m));
		if (r < 0)
			return r;
		*member = s->doc->n++;
		s->doc->m[*member] = (struct nf_json_scan_member){ .parent = f->member, .key = k };
	}
	skip_ws(s);
	if (s->p == s->end || *s->p != ':')
		return expected(s, "expected ':'");
	s->p++;
	skip_ws(s);
	return 0;
}

/* Open the container at s->p, the value of recorded member (or NONE). */
static int open_container(struct scanner *s, size_t member)
{
	struct frame *f;
	int r;

	r = grow((void **)&s->stack, &s->stack_cap, s->depth + 1, sizeof(*s->stack));
	if (r < 0)
		return r;
	f = &s->stack[s->depth++];
	f->member = member;
	f->keys = s->nkeys;
	f->start = s->p;
	f->object = *s->p == '{';
	/* Members of the top-level object, and of objects directly in it when levels is 2. */
	f->record = f->object && s->depth <= s->levels && (s->depth == 1 || member != NONE);
	s->p++;
	skip_ws(s);
	return 0;
}

/* Close the innermost container at s->p (its '}' or ']'). */
static int close_container(struct scanner *s)
{
	struct frame *f = &s->stack[s->depth - 1];
	int r = 0;

	s->p++;
	if (f->object && s->nkeys - f->keys > 1)
		r = check_duplicates(s, &s->keys[f->keys], s->nkeys - f->keys);
	pop_keys(s, f->keys);
	if (f->member != NONE)
		s->doc->m[f->member].val = (struct nf_json_scan_span){
			f->start, (size_t)(s->p - f->start),
			f->object ? NF_JSON_SCAN_OBJECT : NF_JSON_SCAN_ARRAY, false
		};
	s->depth--;
	return r;
}

/*
 * After a value: close what ends here, then either stop at the end of the document (1) or move
 * to the next value (0), past its key when it is a member (*member: its record, or NONE).
 */
static int after_value(struct scanner *s, size_t *member)
{
	const struct frame *f;
	int r;

	for (;;) {
		skip_ws(s);
		if (s->depth == 0)
			return s->p == s->end ? 1 : bad(s, s->p, "bytes after the document");
		f = &s->stack[s->depth - 1];
		if (s->p < s->end && *s->p == (f->object ? '}' : ']')) {
			r = close_container(s);
			if (r < 0)
				return r;
			continue;
		}
		if (s->p == s->end || *s->p != ',')
			return expected(s,
					f->object ? "expected ',' or '}'" : "expected ',' or ']'");
		s->p++;
		skip_ws(s);
		*member = NONE;
		return f->object ? scan_key(s, member) : 0;
	}
}

/* From the top-level container on: each turn scans one value and what follows it. */
static int scan_values(struct scanner *s)
{
	struct nf_json_scan_span v;
	size_t member = NONE; /* the record of the value about to be scanned */
	const struct frame *f;
	int r;

	for (;;) {
		/* jansson's depth: a value inside n containers is at depth n + 1. */
		if (s->depth >= NF_JSON_SCAN_MAX_DEPTH)
			return bad(s, s->p, "nested more than 2048 deep");
		if (s->p < s->end && (*s->p == '{' || *s->p == '[')) {
			r = open_container(s, member);
			if (r < 0)
				return r;
			f = &s->stack[s->depth - 1];
			if (s->p == s->end || *s->p != (f->object ? '}' : ']')) {
				/* Not empty: go on with its first value. */
				member = NONE;
				r = f->object ? scan_key(s, &member) : 0;
				if (r < 0)
					return r;
				continue;
			}
			r = close_container(s);
		} else {
			r = scan_scalar(s, &v);
			if (r == 0 && member != NONE)
				s->doc->m[member].val = v;
		}
		if (r == 0)
			r = after_value(s, &member);
		if (r != 0)
			return r < 0 ? r : 0;
	}
}

/* "invalid JSON at line L, column C: <why>", L and C counted in bytes from 1. */
static int syntax_error(const struct scanner *s, const char *buf, struct nf_err *err)
{
	size_t line = 1, col = 1;

	for (const char *c = buf; c < s->bad; c++, col++) {
		if (*c == '\n') {
			line++;
			col = 0;
		}
	}
	return nf_err_set(err, -EINVAL, "invalid JSON at line %zu, column %zu: %s", line, col,
			  s->bad < s->end && !*s->bad ? "NUL byte" : s->why);
}

int nf_json_scan(const char *buf, size_t len, unsigned int levels, struct nf_json_scan_doc *ret,
		 struct nf_err *err)
{
	struct nf_json_scan_doc doc = { 0 };
	struct scanner s = { .p = buf, .end = buf + len, .levels = levels, .doc = &doc };
	int r;

	skip_ws(&s);
	if (s.p < s.end && (*s.p == '{' || *s.p == '[')) {
		doc.top = *s.p == '{' ? NF_JSON_SCAN_OBJECT : NF_JSON_SCAN_ARRAY;
		r = scan_values(&s);
	} else {
		r = expected(&s, "expected '{' or '['");
	}
	pop_keys(&s, 0);
	free(s.keys);
	free(s.stack);
	if (r < 0) {
		nf_json_scan_free(&doc);
		return r == -EINVAL ? syntax_error(&s, buf, err) : nf_err_nomem(err);
	}
	*ret = doc;
	return 0;
}

void nf_json_scan_free(struct nf_json_scan_doc *d)
{
	free(d->m);
	d->m = NULL;
	d->n = 0;
}

/* UTF-8 of code point u at o; returns the byte after it. */
static char *put_utf8(char *o, unsigned long u)
{
	if (u < 0x80) {
		*o++ = (char)u;
	} else if (u < 0x800) {
		*o++ = (char)(0xc0 | u >> 6);
		*o++ = (char)(0x80 | (u & 0x3f));
	} else if (u < 0x10000) {
		*o++ = (char)(0xe0 | u >> 12);
		*o++ = (char)(0x80 | (u >> 6 & 0x3f));
		*o++ = (char)(0x80 | (u & 0x3f));
	} else {
		*o++ = (char)(0xf0 | u >> 18);
		*o++ = (char)(0x80 | (u >> 12 & 0x3f));
		*o++ = (char)(0x80 | (u >> 6 & 0x3f));
		*o++ = (char)(0x80 | (u & 0x3f));
	}
	return o;
}

static char simple_escape(unsigned char c)
{
	switch (c) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	default:
		return (char)c; /* '"', '\\' and '/' stand for themselves */
	}
}

/* Decode the escape at *p (scanned, so valid and complete before end) into *o; advance both. */
static void unescape(const unsigned char **p, const unsigned char *end, char **o)
{
	const unsigned char *e = *p;
	unsigned long u;

	if (e[1] != 'u') {
		*(*o)++ = simple_escape(e[1]);
		*p = e + 2;
		return;
	}
	u = (unsigned long)hex4(e + 2, end);
	*p = e + 6;
	if (u >= 0xd800 && u <= 0xdbff) {
		u = 0x10000 + ((u - 0xd800) << 10) + ((unsigned long)hex4(e + 8, end) - 0xdc00);
		*p = e + 12;
	}
	*o = put_utf8(*o, u);
}

/* The decoded text of s into out, which has room for s->len + 1 bytes (decoding never grows). */
static void decode(const struct nf_json_scan_span *s, char *out)
{
	const unsigned char *p = (const unsigned char *)s->p, *end = p + s->len;
	char *o = out;

	if (!s->escaped) {
		memcpy(out, s->p, s->len);
		out[s->len] = '\0';
		return;
	}
	/* A byte loop: in an escaped policy the runs between escapes are a few bytes long. */
	while (p < end) {
		if (*p == '\\')
			unescape(&p, end, &o);
		else
			*o++ = (char)*p++;
	}
	*o = '\0';
}

char *nf_json_scan_strdup(const struct nf_json_scan_span *s)
{
	char *out = malloc(s->len + 1);

	if (out)
		decode(s, out);
	return out;
}

int nf_json_scan_copy(const struct nf_json_scan_span *s, char *buf, size_t size)
{
	if (s->len >= size)
		return -ENOSPC;
	decode(s, buf);
	return 0;
}

bool nf_json_scan_streq(const struct nf_json_scan_span *s, const char *str)
{
	char *d;
	bool eq;

	if (!s->escaped)
		return s->len == strlen(str) && memcmp(s->p, str, s->len) == 0;
	d = nf_json_scan_strdup(s);
	eq = d && strcmp(d, str) == 0;
	free(d);
	return eq;
}

long long nf_json_scan_integer(const struct nf_json_scan_span *s)
{
	bool neg = s->p[0] == '-';
	unsigned long long v = 0;

	magnitude(s->p + neg, s->p + s->len, (unsigned long long)LLONG_MAX + 1, &v);
	if (!neg)
		return (long long)v;
	return v ? -(long long)(v - 1) - 1 : 0;
}

/*
 * The walk of nf_json_scan_iter: the text was scanned, so every string ends before the container
 * does, every escape is complete and nothing but values, ',', ':' and white space lie between
 * the brackets. It only has to find ends.
 */

/* The string at p (its quote): where it ends, and whether it holds an escape. */
static const char *walk_string(const char *p, const char *end, struct nf_json_scan_span *ret)
{
	const unsigned char *q = (const unsigned char *)p + 1;
	bool escaped = false;

	for (;;) {
		q = escaped_run(q, (const unsigned char *)end, &escaped);
		if (*q == '"')
			break;
		if (*q == '\\') {
			escaped = true;
			q += 2; /* the rest of a \uXXXX is plain hex digits */
		} else {
			q++; /* a byte of a UTF-8 sequence */
		}
	}
	*ret = (struct nf_json_scan_span){ p + 1, (size_t)((const char *)q - p - 1),
					   NF_JSON_SCAN_STRING, escaped };
	return (const char *)q + 1;
}

/* The object or array at p: past its closing bracket, strings skipped whole. */
static const char *walk_container(const char *p, const char *end, struct nf_json_scan_span *ret)
{
	struct nf_json_scan_span s;
	const char *q = p + 1;
	size_t depth = 1;

	while (depth) {
		switch (*q) {
		case '"':
			q = walk_string(q, end, &s);
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			depth--;
			break;
		}
		q++;
	}
	*ret = (struct nf_json_scan_span){ p, (size_t)(q - p),
					   *p == '{' ? NF_JSON_SCAN_OBJECT : NF_JSON_SCAN_ARRAY,
					   false };
	return q;
}

/* A number at p: its characters, real when one of them is '.', 'e' or 'E'. */
static const char *walk_number(const char *p, const char *end, struct nf_json_scan_span *ret)
{
	const char *q = p;
	bool real = false;

	for (; q < end; q++) {
		if (*q == '.' || *q == 'e' || *q == 'E')
			real = true;
		else if (!(*q >= '0' && *q <= '9') && *q != '-' && *q != '+')
			break;
	}
	*ret = (struct nf_json_scan_span){ p, (size_t)(q - p),
					   real ? NF_JSON_SCAN_REAL : NF_JSON_SCAN_INTEGER, false };
	return q;
}

static const char *walk_value(const char *p, const char *end, struct nf_json_scan_span *ret)
{
	switch (*p) {
	case '"':
		return walk_string(p, end, ret);
	case '{':
	case '[':
		return walk_container(p, end, ret);
	case 't':
		*ret = (struct nf_json_scan_span){ p, 4, NF_JSON_SCAN_TRUE, false };
		return p + 4;
	case 'f':
		*ret = (struct nf_json_scan_span){ p, 5, NF_JSON_SCAN_FALSE, false };
		return p + 5;
	case 'n':
		*ret = (struct nf_json_scan_span){ p, 4, NF_JSON_SCAN_NULL, false };
		return p + 4;
	default:
		return walk_number(p, end, ret);
	}
}

static const char *walk_ws(const char *p, const char *end)
{
	while (p < end && is_ws(*p))
		p++;
	return p;
}

void nf_json_scan_iter_init(struct nf_json_scan_iter *it, const struct nf_json_scan_span *c)
{
	it->p = c->p + 1;	     /* past the '{' or '[' */
	it->end = c->p + c->len - 1; /* at the '}' or ']' */
	it->object = c->type == NF_JSON_SCAN_OBJECT;
}

bool nf_json_scan_iter_next(struct nf_json_scan_iter *it, struct nf_json_scan_span *key,
			    struct nf_json_scan_span *val)
{
	struct nf_json_scan_span k;
	const char *p = walk_ws(it->p, it->end);

	if (p < it->end && *p == ',')
		p = walk_ws(p + 1, it->end);
	if (p >= it->end)
		return false;
	if (it->object) {
		p = walk_string(p, it->end, &k);
		if (key)
			*key = k;
		p = walk_ws(walk_ws(p, it->end) + 1, it->end); /* past the ':' */
	}
	it->p = walk_value(p, it->end, val);
	return true;
}

size_t nf_json_scan_count(const struct nf_json_scan_span *c)
{
	struct nf_json_scan_iter it;
	struct nf_json_scan_span v;
	size_t n = 0;

	nf_json_scan_iter_init(&it, c);
	while (nf_json_scan_iter_next(&it, NULL, &v))
		n++;
	return n;
}

/* --- compaction ---------------------------------------------------------------------------- */

static int compact_append(struct nf_json_compact *c, const void *p, size_t n)
{
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		char *out;

		while (cap < c->len + n)
			cap *= 2;
		out = realloc(c->out, cap);
		if (!out)
			return -ENOMEM;
		c->out = out;
		c->cap = cap;
	}
	memcpy(c->out + c->len, p, n);
	c->len += n;
	return 0;
}

/* FNV-1a of a long string's first bytes, the stand-in's tag: equal long keys get equal
 * stand-ins. Not of all of it: hashing a megabyte byte by byte took longer than reading it. */
static uint64_t compact_hash(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

void nf_json_compact_init(struct nf_json_compact *c, size_t keep)
{
	*c = (struct nf_json_compact){ .keep = keep, .line = 1 };
}

void nf_json_compact_free(struct nf_json_compact *c)
{
	free(c->out);
	*c = (struct nf_json_compact){ 0 };
}

/* The string at c->open goes on longer than c->keep: drop its first keep bytes, hash them. */
static void compact_go_long(struct nf_json_compact *c)
{
	c->hash = compact_hash(0xcbf29ce484222325ULL, c->out + c->open + 1, c->len - c->open - 1);
	c->len = c->open + 1;
	c->long_string = true;
}

static int compact_close(struct nf_json_compact *c)
{
	char stand_in[96];
	int n;

	if (c->long_string) {
		n = snprintf(stand_in, sizeof(stand_in), "(a string of %zu bytes, %016llx)",
			     c->str_bytes, (unsigned long long)c->hash);
		if (compact_append(c, stand_in, (size_t)n) < 0)
			return -ENOMEM;
	}
	c->in_string = false;
	return compact_append(c, "\"", 1);
}

long nf_json_compact_feed(struct nf_json_compact *c, const char *buf, size_t n, bool last)
{
	const char *p = buf, *end = buf + n;

	while (p < end) {
		const unsigned char *bad = NULL;
		const char *q;
		bool closed = false;
		size_t k;

		if (!c->in_string) {
			q = memchr(p, '"', (size_t)(end - p));
			k = q ? (size_t)(q - p) + 1 : (size_t)(end - p);
			/* Lines break only here: a string holding a raw newline is refused. */
			for (const char *nl = p; (nl = memchr(nl, '\n', k - (size_t)(nl - p)));) {
				c->line++;
				c->line_at = c->fed + (size_t)(++nl - buf);
			}
			if (compact_append(c, p, k) < 0)
				return -ENOMEM;
			if (q) {
				c->in_string = true;
				c->long_string = false;
				c->open = c->len - 1;
				c->str_bytes = 0;
			}
			p += k;
			continue;
		}
		q = (const char *)string_part((const unsigned char *)p, (const unsigned char *)end,
					      last, &closed, &bad);
		if (!q) {
			c->bad_at = c->fed + (size_t)((const char *)bad - buf);
			return -EINVAL;
		}
		k = (size_t)(q - p);
		if (!c->long_string && c->str_bytes + k > c->keep) {
			/* The stand-in's hash is of the first keep bytes, wherever pieces end. */
			if (compact_append(c, p, c->keep - c->str_bytes) < 0)
				return -ENOMEM;
			compact_go_long(c);
		}
		if (!c->long_string && compact_append(c, p, k) < 0)
			return -ENOMEM;
		c->str_bytes += k;
		p = q;
		if (!closed)
			break; /* at end, or before bytes that may go on in the next piece */
		if (compact_close(c) < 0)
			return -ENOMEM;
		p++;
	}
	c->fed += (size_t)(p - buf);
	return (long)(p - buf);
}
