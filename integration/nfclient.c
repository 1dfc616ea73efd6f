// SPDX-License-Identifier: Apache-2.0
/*
 * nfclient: a static probe for the kernel integration tests (integration/test-kernel.sh).
 * Each mode performs one kind of egress operation and prints its verdict as one word, "ok" or
 * the errno name ("EPERM", "ECONNREFUSED", ...), so the test can tell a fence denial (EPERM)
 * from an allowed operation that found no listener (ECONNREFUSED).
 *
 *   nfclient tcp ADDR PORT                  connect() (connect4/connect6)
 *   nfclient tfo ADDR PORT                  sendto(MSG_FASTOPEN) on a TCP socket (connect hook)
 *   nfclient udp ADDR PORT                  unconnected sendto() (sendmsg4/sendmsg6)
 *   nfclient udp-connect ADDR PORT          connect() then send() (connect4/connect6)
 *   nfclient udp-sendmsg ADDR PORT          unconnected sendmsg() with msg_name
 *   nfclient udp-sendmmsg ADDR PORT ...     one sendmmsg() batch; one word per message
 *                                           (IPv4 sent mapped when the batch mixes families)
 *   nfclient raw4 | raw6                    socket(SOCK_RAW, ICMP) (sock_create)
 *   nfclient ping4 | ping6                  socket(SOCK_DGRAM, ICMP) (sock_create)
 *   nfclient ping4-connect ADDR [PORT]      ping socket, connect() (connect4, "other" class),
 *                                           sin_port PORT (default 0)
 *   nfclient hold tcp|udp ADDR PORT         a connection kept across policy changes: a
 *                                           receiver on ADDR PORT in this process (not judged),
 *                                           a socket connected to it, then one line per line
 *                                           read on stdin (and one at the start) of two words:
 *                                           a byte sent on the kept socket reached the
 *                                           receiver ("ok", or ETIMEDOUT / the send's errno),
 *                                           and the verdict of a new socket to ADDR PORT (TCP
 *                                           connect(), UDP sendto()). A failed first connect()
 *                                           prints "ERRNO -".
 *   nfclient listen tcp|udp ADDR PORT       bind (and listen), print "listening", then wait
 *
 * ADDR is numeric. The socket family follows the address, so "::ffff:127.0.0.1" is reached
 * from an AF_INET6 socket (connect6/sendmsg6 on a v6 socket to an IPv4-mapped address, which
 * the kernel turns into connect4/sendmsg4 for UDP). Words are separated by spaces on one line.
 *
 * Exit status: 0 the probe ran (its verdict is the output, whatever it is), 1 the probe could
 * not be set up (e.g. socket() failed where it was not the thing under test; the output is
 * then "socket:ERRNO"), 2 usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"

#define TIMEOUT_MS 3000

/* Print the verdict of one operation: 0 is "ok", anything else an errno. */
static int verdict(int err)
{
	puts(err ? errname(err) : "ok");
	return 0;
}

static int usage(void)
{
	fputs("usage: nfclient tcp|tfo|udp|udp-connect|udp-sendmsg ADDR PORT\n"
	      "       nfclient udp-sendmmsg ADDR PORT [ADDR PORT]...\n"
	      "       nfclient raw4|raw6|ping4|ping6\n"
	      "       nfclient ping4-connect ADDR [PORT]\n"
	      "       nfclient hold tcp|udp ADDR PORT\n"
	      "       nfclient listen tcp|udp ADDR PORT\n",
	      stderr);
	return 2;
}

/* wait_connect_ms() (probe.h) with this client's timeout. */
static int wait_connect(int fd)
{
	return wait_connect_ms(fd, TIMEOUT_MS);
}

static int do_tcp(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err = 0;

	if (fd < 0)
		return setup_failed("socket", errno);
	if (connect(fd, (const struct sockaddr *)ss, len) < 0)
		err = errno == EINPROGRESS ? wait_connect(fd) : errno;
	close(fd);
	return verdict(err);
}

static int do_tfo(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err = 0;

	if (fd < 0)
		return setup_failed("socket", errno);
	if (sendto(fd, "x", 1, MSG_FASTOPEN, (const struct sockaddr *)ss, len) < 0)
		err = errno == EINPROGRESS ? wait_connect(fd) : errno;
	close(fd);
	return verdict(err);
}

/* One UDP datagram over a new socket, sent as HOW says (probe.h). */
static int udp_verdict(enum udp_how how, const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = udp_socket(ss->ss_family);

	if (fd < 0)
		return setup_failed("socket", errno);
	return verdict(udp_probe(fd, how, ss, len, "x", NULL));
}

static int do_udp(const struct sockaddr_storage *ss, socklen_t len)
{
	return udp_verdict(UDP_SENDTO, ss, len);
}

static int do_udp_connect(const struct sockaddr_storage *ss, socklen_t len)
{
	return udp_verdict(UDP_CONNECT, ss, len);
}

static int do_udp_sendmsg(const struct sockaddr_storage *ss, socklen_t len)
{
	return udp_verdict(UDP_SENDMSG, ss, len);
}

/* One sendmmsg() batch over one socket (probe.h). */
static int do_udp_sendmmsg(int argc, char **argv)
{
	int r = udp_sendmmsg_batch(argc, argv, "x");

	return r < 0 ? usage() : r;
}

/* socket() is the operation under test: its errno is the verdict. */
static int do_socket(int family, int type, int protocol)
{
	int fd = socket(family, type | SOCK_CLOEXEC, protocol);

	if (fd < 0)
		return verdict(errno);
	close(fd);
	return verdict(0);
}

static int do_ping4_connect(const char *addr, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(addr, port, &ss);
	struct icmphdr echo = { .type = ICMP_ECHO };
	int fd, err = 0;

	if (!len || ss.ss_family != AF_INET)
		return usage();
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd < 0)
		return setup_failed("socket", errno);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 || send(fd, &echo, sizeof(echo), 0) < 0)
		err = errno;
	close(fd);
	return verdict(err);
}

/* Bind a listener, say so, and stay until killed (the test starts it outside the fence). */
static int do_listen(const char *proto, const struct sockaddr_storage *ss, socklen_t len)
{
	int tcp = strcmp(proto, "tcp") == 0;
	int one = 1, fd;

	if (!tcp && strcmp(proto, "udp") != 0)
		return usage();
	fd = socket(ss->ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return setup_failed("socket", errno);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0)
		return setup_failed("bind", errno);
	if (tcp && listen(fd, 128) < 0)
		return setup_failed("listen", errno);
	puts("listening");
	fflush(stdout);
	for (;;) {
		char buf[512];

		if (tcp) {
			int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

			if (c >= 0)
				close(c);
		} else if (recv(fd, buf, sizeof(buf), 0) < 0 && errno != EINTR) {
			return setup_failed("recv", errno);
		}
	}
}

/* Send one byte "k" on the kept socket and wait for it at the receiver (which may hold the
 * datagrams of new sockets too); 0 or an errno. */
static int kept_exchange(int cli, int peer)
{
	struct pollfd pfd = { .fd = peer, .events = POLLIN };
	char c = 0;

	if (send(cli, "k", 1, MSG_NOSIGNAL) < 0)
		return errno;
	while (c != 'k') {
		int r = poll(&pfd, 1, TIMEOUT_MS);

		if (r < 0)
			return errno;
		if (r == 0)
			return ETIMEDOUT;
		if (recv(peer, &c, 1, 0) < 0)
			return errno;
	}
	return 0;
}

/* The verdict of a new socket to the same destination. */
static int fresh_verdict(const struct sockaddr_storage *ss, socklen_t len, int type)
{
	int fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return errno;
	if (type == SOCK_STREAM ? connect(fd, (const struct sockaddr *)ss, len) < 0
				: sendto(fd, "f", 1, 0, (const struct sockaddr *)ss, len) < 0)
		err = errno;
	close(fd);
	return err;
}

static int do_hold(const char *proto, const struct sockaddr_storage *ss, socklen_t len)
{
	int tcp = strcmp(proto, "tcp") == 0, type = tcp ? SOCK_STREAM : SOCK_DGRAM;
	int one = 1, srv, cli, peer;
	char line[64];

	if (!tcp && strcmp(proto, "udp") != 0)
		return usage();
	srv = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);
	if (srv < 0)
		return setup_failed("socket", errno);
	setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(srv, (const struct sockaddr *)ss, len) < 0)
		return setup_failed("bind", errno);
	if (tcp && listen(srv, 16) < 0)
		return setup_failed("listen", errno);
	cli = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);
	if (cli < 0)
		return setup_failed("socket", errno);
	if (connect(cli, (const struct sockaddr *)ss, len) < 0) {
		printf("%s -\n", errname(errno));
		return 0;
	}
	peer = tcp ? accept4(srv, NULL, NULL, SOCK_CLOEXEC) : srv;
	if (peer < 0)
		return setup_failed("accept", errno);
	do {
		int kept = kept_exchange(cli, peer), fresh = fresh_verdict(ss, len, type);

		/* Two calls: errname() returns a static buffer. */
		printf("%s ", kept ? errname(kept) : "ok");
		printf("%s\n", fresh ? errname(fresh) : "ok");
	} while (fgets(line, sizeof(line), stdin));
	return 0;
}

typedef int (*addr_fn)(const struct sockaddr_storage *, socklen_t);

static const struct {
	const char *name;
	addr_fn fn;
} addr_modes[] = {
	{ "tcp", do_tcp },
	{ "tfo", do_tfo },
	{ "udp", do_udp },
	{ "udp-connect", do_udp_connect },
	{ "udp-sendmsg", do_udp_sendmsg },
};

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "udp-sendmmsg") == 0)
		return do_udp_sendmmsg(argc - 2, argv + 2);
	if (strcmp(argv[1], "raw4") == 0 && argc == 2)
		return do_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (strcmp(argv[1], "raw6") == 0 && argc == 2)
		return do_socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	if (strcmp(argv[1], "ping4") == 0 && argc == 2)
		return do_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (strcmp(argv[1], "ping6") == 0 && argc == 2)
		return do_socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	if (strcmp(argv[1], "ping4-connect") == 0 && (argc == 3 || argc == 4))
		return do_ping4_connect(argv[2], argc == 4 ? argv[3] : "0");
	if (strcmp(argv[1], "hold") == 0 && argc == 5) {
		len = parse_addr(argv[3], argv[4], &ss);
		return len ? do_hold(argv[2], &ss, len) : usage();
	}
	if (strcmp(argv[1], "listen") == 0 && argc == 5) {
		len = parse_addr(argv[3], argv[4], &ss);
		return len ? do_listen(argv[2], &ss, len) : usage();
	}
	if (argc != 4)
		return usage();
	len = parse_addr(argv[2], argv[3], &ss);
	if (!len)
		return usage();
	for (size_t i = 0; i < sizeof(addr_modes) / sizeof(addr_modes[0]); i++)
		if (strcmp(argv[1], addr_modes[i].name) == 0)
			return addr_modes[i].fn(&ss, len);
	return usage();
}
