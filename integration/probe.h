/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the static test clients (nfclient.c, evasion.c): numeric addresses, errno
 * names, and the one-word results the test scripts read. Included once by each client.
 */
#ifndef NETFENCE_PROBE_H
#define NETFENCE_PROBE_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *errname(int e)
{
	static char buf[16];
	const char *n = strerrorname_np(e);

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static int setup_failed(const char *what, int err)
{
	printf("%s:%s\n", what, errname(err));
	return 1;
}

/* Fill *ss from a numeric address and port; returns the address length, 0 if invalid. */
static socklen_t parse_addr(const char *addr, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	unsigned long p;
	char *end;

	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || *end || end == port || p > 65535)
		return 0;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)p);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)p);
		return sizeof(*s6);
	}
	return 0;
}

static int udp_socket(int family)
{
	return socket(family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
}

/* Rewrite an IPv4 address as IPv4-mapped IPv6 (in place); returns the new length. */
static socklen_t to_v6(struct sockaddr_storage *ss)
{
	struct sockaddr_in s4 = *(struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET6)
		return sizeof(*s6);
	memset(s6, 0, sizeof(*s6));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = s4.sin_port;
	s6->sin6_addr.s6_addr[10] = 0xff;
	s6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&s6->sin6_addr.s6_addr[12], &s4.sin_addr, 4);
	return sizeof(*s6);
}

#endif
