/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the static test clients (nfclient.c, evasion.c, ctclient.c): numeric
 * addresses, errno names, the one-word results the test scripts read, and the operations the
 * clients run the same way. Included once by each client; static inline, so a client that uses
 * only some of them builds without warnings.
 */
#ifndef NETFENCE_PROBE_H
#define NETFENCE_PROBE_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define PROBE_MAX_MSGS 128 /* destinations of one sendmmsg() batch */

static inline const char *errname(int e)
{
	static char buf[16];
	const char *n = strerrorname_np(e);

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static inline int setup_failed(const char *what, int err)
{
	printf("%s:%s\n", what, errname(err));
	return 1;
}

/* Fill *ss from a numeric address and port; an IPv6 address may end in %N, the scope id
 * (interface index) N. Returns the address length, 0 if invalid. */
static inline socklen_t parse_addr(const char *addr, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	const char *pct = strchr(addr, '%');
	unsigned long p, scope = 0;
	char a6[INET6_ADDRSTRLEN];
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
	if (pct) {
		scope = strtoul(pct + 1, &end, 10);
		if (errno || *end || end == pct + 1 || scope > UINT32_MAX ||
		    (size_t)(pct - addr) >= sizeof(a6))
			return 0;
		memcpy(a6, addr, (size_t)(pct - addr));
		a6[pct - addr] = '\0';
		addr = a6;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)p);
		s6->sin6_scope_id = (uint32_t)scope;
		return sizeof(*s6);
	}
	return 0;
}

static inline int udp_socket(int family)
{
	return socket(family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
}

/* The ways a UDP probe hands its datagram to the kernel. */
enum udp_how {
	UDP_SENDTO,  /* unconnected sendto(): sendmsg4/6 */
	UDP_SENDMSG, /* unconnected sendmsg() with msg_name: sendmsg4/6 */
	UDP_CONNECT, /* connect() then send(): connect4/6 */
};

/*
 * Send PAYLOAD to SA (length LEN) on the UDP socket FD, the way HOW says, and close FD. Returns
 * 0 or the errno of the call that failed; *connect_err (if not NULL) gets connect()'s result
 * alone, so that a client can report the connect and the send apart.
 */
static inline int udp_probe(int fd, enum udp_how how, const void *sa, socklen_t len,
			    const char *payload, int *connect_err)
{
	struct iovec iov = { .iov_base = (void *)payload, .iov_len = strlen(payload) };
	struct msghdr msg = {
		.msg_name = (void *)sa, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1
	};
	int err = 0, cerr = 0;
	ssize_t r = 0;

	switch (how) {
	case UDP_SENDTO:
		r = sendto(fd, payload, iov.iov_len, 0, (const struct sockaddr *)sa, len);
		break;
	case UDP_SENDMSG:
		r = sendmsg(fd, &msg, 0);
		break;
	case UDP_CONNECT:
		if (connect(fd, (const struct sockaddr *)sa, len) < 0)
			cerr = err = errno;
		else
			r = send(fd, payload, iov.iov_len, 0);
		break;
	}
	if (r < 0)
		err = errno;
	if (connect_err)
		*connect_err = cerr;
	close(fd);
	return err;
}

/* Rewrite an IPv4 address as IPv4-mapped IPv6 (in place); returns the new length. */
static inline socklen_t to_v6(struct sockaddr_storage *ss)
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

/* Wait for a non-blocking connect to finish; returns 0 or the errno it ended with. */
static inline int wait_connect_ms(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0, r;

	r = poll(&pfd, 1, timeout_ms);
	if (r < 0)
		return errno;
	if (r == 0)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

/*
 * One sendmmsg() batch of payload over one socket to the ADDR PORT pairs of argv: AF_INET6 if
 * any address is IPv6 (IPv4 ones are then sent IPv4-mapped, which runs sendmsg4 on the v6
 * socket), else AF_INET. Prints one word per message on one line. sendmmsg stops at the first
 * failing message and, when it has sent some before it, returns their number without an errno;
 * the failing message is then resubmitted alone to learn its errno, and the rest after it.
 * Returns -1 for arguments that are not pairs of an address and a port.
 */
static inline int udp_sendmmsg_batch(int argc, char **argv, const char *payload)
{
	static struct sockaddr_storage ss[PROBE_MAX_MSGS];
	static struct mmsghdr mm[PROBE_MAX_MSGS];
	static struct iovec iov[PROBE_MAX_MSGS];
	int n = argc / 2, i = 0, family = AF_INET, fd;

	if (argc % 2 || n == 0 || n > PROBE_MAX_MSGS)
		return -1;
	for (int k = 0; k < n; k++) {
		if (!parse_addr(argv[2 * k], argv[2 * k + 1], &ss[k]))
			return -1;
		if (ss[k].ss_family == AF_INET6)
			family = AF_INET6;
	}
	for (int k = 0; k < n; k++) {
		socklen_t len = family == AF_INET6 ? to_v6(&ss[k]) : sizeof(struct sockaddr_in);

		iov[k] = (struct iovec){ .iov_base = (void *)payload, .iov_len = strlen(payload) };
		mm[k].msg_hdr = (struct msghdr){
			.msg_name = &ss[k], .msg_namelen = len, .msg_iov = &iov[k], .msg_iovlen = 1
		};
	}
	fd = udp_socket(family);
	if (fd < 0)
		return setup_failed("socket", errno);
	while (i < n) {
		int r = sendmmsg(fd, &mm[i], n - i, 0);

		if (r < 0) {
			printf("%s%s", i ? " " : "", errname(errno));
			i++;
			continue;
		}
		for (int k = 0; k < r; k++, i++)
			printf("%sok", i ? " " : "");
	}
	putchar('\n');
	close(fd);
	return 0;
}

#endif
