// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <string.h>

#include "dns.h"
#include "netfence.h"

#define HDR	   12
#define CLASS_IN   1
#define TYPE_CNAME 5

/* A name in wire form, ASCII lower case, without its final 0. */
struct wname {
	size_t len;
	uint8_t b[NF_NAME_MAX];
};

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool wname_equal(const struct wname *a, const struct wname *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static int to_wire(const char *name, struct wname *w)
{
	size_t n = strlen(name), start = 0;

	if (n == 0 || n > 253)
		return -EINVAL;
	w->len = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && name[i] != '.')
			continue;
		if (i == start || i - start > 63)
			return -EINVAL;
		w->b[w->len++] = (uint8_t)(i - start);
		for (size_t k = start; k < i; k++)
			w->b[w->len++] = lower((uint8_t)name[k]);
		start = i + 1;
	}
	return 0;
}

int nf_dns_name_wire(const char *name, uint8_t *buf, size_t size)
{
	struct wname w;

	if (to_wire(name, &w) < 0)
		return -EINVAL;
	if (w.len + 1 > size)
		return -ENOSPC;
	memset(buf, 0, size);
	memcpy(buf, w.b, w.len);
	return (int)w.len + 1;
}

int nf_dns_query(uint8_t *buf, size_t size, uint16_t id, const char *name, uint16_t type)
{
	struct wname w;
	size_t len;

	if (to_wire(name, &w) < 0)
		return -EINVAL;
	len = HDR + w.len + 1 + 4;
	if (len > size)
		return -ENOSPC;
	memset(buf, 0, HDR);
	buf[0] = id >> 8;
	buf[1] = id & 0xff;
	buf[2] = 0x01; /* recursion desired */
	buf[5] = 1;    /* one question */
	memcpy(buf + HDR, w.b, w.len);
	buf[HDR + w.len] = 0;
	buf[HDR + w.len + 1] = type >> 8;
	buf[HDR + w.len + 2] = type & 0xff;
	buf[HDR + w.len + 3] = 0;
	buf[HDR + w.len + 4] = CLASS_IN;
	return (int)len;
}

/*
 * The name at *off, read as the kernel reads it: labels of 1-63 bytes, 253 bytes in all, a
 * compression pointer only to below every piece read so far and past the header, nothing
 * beyond NF_DNS_BYTES. *off moves past the name where it stands. 0 or -EBADMSG.
 */
static int read_name(const uint8_t *msg, size_t len, size_t *off, struct wname *w)
{
	size_t at = *off, seg = at, end = 0;
	unsigned int nlab = 0;

	w->len = 0;
	for (;;) {
		uint8_t l;

		if (at > NF_DNS_BYTES || at >= len)
			return -EBADMSG;
		l = msg[at];
		if (l == 0) {
			*off = end ? end : at + 1;
			return 0;
		}
		if ((l & 0xc0) == 0xc0) {
			size_t target;

			if (at + 1 >= len)
				return -EBADMSG;
			target = (size_t)(l & 0x3f) << 8 | msg[at + 1];
			if (target >= seg || target < HDR)
				return -EBADMSG;
			if (!end)
				end = at + 2;
			at = seg = target;
			continue;
		}
		if (l > 63 || nlab >= 127 || w->len + l > NF_NAME_MAX - 2 || at + 1 + l > len)
			return -EBADMSG;
		w->b[w->len++] = l;
		for (size_t k = 0; k < l; k++)
			w->b[w->len++] = lower(msg[at + 1 + k]);
		at += 1 + l;
		nlab++;
	}
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool nf_dns_learnable(const uint8_t a[16], bool from_aaaa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t ec2[16] = { 0xfd, 0, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 };
	static const uint8_t zero8[8];

	if (!from_aaaa && memcmp(a, mapped, 12) == 0) {
		uint8_t top = a[12];

		return top != 0 && top != 127 && !(top == 169 && a[13] == 254) && top < 224;
	}
	/* ::/64 (unspecified, loopback, mapped, compatible), fe80::/10, ff00::/8 */
	if (memcmp(a, zero8, 8) == 0 || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff)
		return false;
	return memcmp(a, ec2, 16) != 0;
}

uint32_t nf_dns_clamp_ttl(uint32_t ttl)
{
	return ttl < NF_DNS_TTL_MIN ? NF_DNS_TTL_MIN : ttl > NF_DNS_TTL_MAX ? NF_DNS_TTL_MAX : ttl;
}

static void take(struct nf_dns_addr *out, size_t max, size_t *n, const uint8_t *rd, bool aaaa,
		 uint32_t ttl)
{
	struct nf_dns_addr a = { .addr = { [10] = 0xff, [11] = 0xff } };

	if (aaaa)
		memcpy(a.addr, rd, 16);
	else
		memcpy(a.addr + 12, rd, 4);
	if (*n >= max || !nf_dns_learnable(a.addr, aaaa))
		return;
	a.ttl = nf_dns_clamp_ttl(ttl);
	out[(*n)++] = a;
}

/* The answer records from off: what the chain from question q reaches. Stops, keeping what it
 * took, where the kernel's walk stops. */
static void walk_records(const uint8_t *msg, size_t len, size_t off, unsigned int ancount,
			 const struct wname *q, struct nf_dns_addr *out, size_t max, size_t *n)
{
	struct wname chain = *q, owner;
	unsigned int cnames = 0;

	for (unsigned int i = 0; i < ancount && i < NF_DNS_RECORDS; i++) {
		uint16_t type, rdlen;
		uint32_t ttl;
		size_t rd;

		if (read_name(msg, len, &off, &owner) < 0 || off > NF_DNS_BYTES || off + 10 > len)
			return;
		type = get16(msg + off);
		ttl = get32(msg + off + 4);
		rdlen = get16(msg + off + 8);
		rd = off + 10;
		off = rd + rdlen;
		if (get16(msg + rd - 8) != CLASS_IN || !wname_equal(&owner, &chain))
			continue;
		if ((type == NF_DNS_TYPE_A && rdlen == 4) ||
		    (type == NF_DNS_TYPE_AAAA && rdlen == 16)) {
			if (rd + rdlen > len)
				return;
			take(out, max, n, msg + rd, type == NF_DNS_TYPE_AAAA, ttl);
		} else if (type == TYPE_CNAME) {
			if (++cnames > NF_DNS_CHAIN || read_name(msg, len, &rd, &chain) < 0)
				return;
		}
	}
}

int nf_dns_answer(const uint8_t *msg, size_t len, uint16_t id, const char *name, uint16_t type,
		  struct nf_dns_addr *out, size_t max, size_t *ret_n)
{
	struct wname want, q;
	size_t off = HDR, n = 0;

	if (to_wire(name, &want) < 0)
		return -EINVAL;
	if (len < HDR || get16(msg) != id || !(msg[2] & 0x80))
		return -ENOMSG;
	/* the question first: an answer to another one is no answer to this query */
	if (get16(msg + 4) != 1 || read_name(msg, len, &off, &q) < 0 || off + 4 > len ||
	    !wname_equal(&q, &want) || get16(msg + off) != type || get16(msg + off + 2) != CLASS_IN)
		return -ENOMSG;
	/* a standard query, not truncated, no error */
	if ((msg[2] & 0x7a) || (msg[3] & 0x0f))
		return -EPROTO;
	walk_records(msg, len, off + 4, get16(msg + 6), &q, out, max, &n);
	*ret_n = n;
	return 0;
}
