// SPDX-License-Identifier: Apache-2.0
/*
 * evasion: a static probe for integration/test-evasion.sh. Each mode tries one way of reaching
 * a destination (or of getting a socket) that a netfence policy may forbid, and prints its
 * verdict as one word per result: "ok" or the errno name ("EPERM", "ECONNREFUSED", ...). A
 * fence denial is EPERM; a protocol the kernel lacks is EPROTONOSUPPORT, ESOCKTNOSUPPORT or
 * EAFNOSUPPORT, never EPERM. Modes that need io_uring print "unsupported" when the binary was
 * built without liburing, and "uring-setup:ERRNO" when io_uring_setup() itself fails (seccomp,
 * kernel.io_uring_disabled), so that an EPERM from there is never mistaken for the fence's.
 *
 * Options before the mode:  -m MARK  the payload sent (default "evasion"), so that a listener
 *                                    or sniffer can tell this probe's packets from others.
 *                           -t MS    how long to wait for a connection (default 3000).
 *                           -b SRC   bind() the socket to SRC (port 0) before it connects or
 *                                    sends, in the modes below marked [b]; a failed bind()
 *                                    prints "bind:ERRNO".
 *
 * Through the connect/sendmsg hooks (ADDR numeric; the socket family follows ADDR, so
 * "::ffff:127.0.0.1" is an AF_INET6 socket to an IPv4-mapped address):
 *   tcp ADDR PORT                 connect(), then write MARK [b]
 *   tfo ADDR PORT                 sendto(MSG_FASTOPEN) of MARK [b]
 *   tfo-connect ADDR PORT         TCP_FASTOPEN_CONNECT, connect(), write(MARK) [b]
 *   mptcp ADDR PORT               socket(IPPROTO_MPTCP), connect(), write [b]
 *   sctp ADDR PORT                socket(SOCK_STREAM, IPPROTO_SCTP), connect()
 *   udp ADDR PORT                 unconnected sendto() [b]
 *   udp-sendmsg ADDR PORT         unconnected sendmsg() with msg_name [b]
 *   udp-connect ADDR PORT         connect() then send()  (two words: connect, send) [b]
 *   udp-connected-sendto A P A2 P2  connect() to A P, then sendto() A2 P2 (two words)
 *   udp-connected-cmsg ADDR PORT  connect(), then sendmsg() without a name but with an IP_TOS
 *                                 (IPV6_TCLASS) control message (two words)
 *   udp-connected-cmsg-sendto A P A2 P2  connect() to A P, then sendmsg() to A2 P2 with the same
 *                                 control message (two words)
 *   tcp-from SRC ADDR PORT        bind() to SRC (port 0), then as tcp
 *   udp-from SRC ADDR PORT        bind() to SRC (port 0), then as udp
 *   udp-pktinfo SRC ADDR PORT     unconnected sendmsg() with an IP_PKTINFO (IPV6_PKTINFO) control
 *                                 message whose source address is SRC
 *   tcp-dev IFNAME ADDR PORT      SO_BINDTODEVICE to IFNAME (no privilege needed on an unbound
 *                                 socket), then as tcp
 *   udp-sendmmsg ADDR PORT ...    one sendmmsg() batch; one word per message (a refused message
 *                                 ends the call; the rest are resubmitted). All messages go out
 *                                 of one socket: AF_INET6 if any ADDR is IPv6 (IPv4 ones are
 *                                 then sent IPv4-mapped), else AF_INET.
 *   udp6-sin4 ADDR PORT           AF_INET6 UDP socket, sendto() with a struct sockaddr_in
 *   udp6-sin4-connect ADDR PORT   AF_INET6 UDP socket, connect() with a struct sockaddr_in,
 *                                 then send() (two words)
 *   udp-unspec ADDR PORT          AF_INET UDP sendto() whose sockaddr_in says AF_UNSPEC
 *   udplite ADDR PORT             unconnected sendto() on IPPROTO_UDPLITE
 *   ping-sendto ADDR              ICMP echo by unconnected sendto() on a ping socket
 *   ping-connect ADDR             ping socket: connect(), then send()
 *   uring-connect ADDR PORT       TCP connect by IORING_OP_CONNECT [b]
 *   uring-connect-sqpoll ADDR PORT  the same, submitted by the SQPOLL kernel thread
 *   uring-connect-udp ADDR PORT   UDP connect by IORING_OP_CONNECT, then IORING_OP_SEND (2 words)
 *                                 [b]
 *   uring-sendmsg ADDR PORT       IORING_OP_SENDMSG with msg_name on an unconnected UDP socket
 *                                 [b]
 *   uring-sendmsg-sqpoll ADDR PORT  the same, submitted by the SQPOLL kernel thread
 *   uring-sendto ADDR PORT        IORING_OP_SEND with a destination address (kernel >= 6.0)
 *   uring-send-zc ADDR PORT       IORING_OP_SEND_ZC with a destination address
 *   uring-sendmsg-zc ADDR PORT    IORING_OP_SENDMSG_ZC with msg_name
 *
 * Around them (the destination the hooks judge is not where the packet goes):
 *   udp-lsrr HOP ADDR PORT        IPv4 loose source route via IP_OPTIONS: the hooks judge ADDR,
 *                                 the datagram is sent to HOP. ADDR may be IPv4-mapped (an
 *                                 AF_INET6 socket, the option set at SOL_IP).
 *   udp-ssrr HOP ADDR PORT        the same with a strict source route
 *   udp-lsrr-cmsg HOP ADDR PORT   the same option as an IP_RETOPTS control message
 *   tcp-lsrr HOP ADDR PORT        TCP connect with the option set; prints "pending" when the
 *                                 connect neither completed nor failed within the timeout (the
 *                                 kernel ignores a SYN its output path dropped and retransmits:
 *                                 only a sniffer tells whether the SYN left)
 *   udp-srh6 HOP ADDR PORT        IPv6 segment routing header (IPV6_RTHDR, type 4) whose
 *                                 first segment is HOP
 *   tcp-srh6 HOP ADDR PORT        the same on a TCP connect ("pending" as for tcp-lsrr)
 *   raw-udp ADDR PORT             an IPv4 UDP datagram sent on a SOCK_RAW/IPPROTO_UDP socket
 *                                 (needs CAP_NET_RAW; the kernel adds the IP header)
 *   packet-udp IFNAME SRC DST PORT [MAC]  an IPv4/IPv6 UDP datagram built by hand and sent on
 *                                 an AF_PACKET socket (needs CAP_NET_RAW); MAC default
 *                                 ff:ff:ff:ff:ff:ff (00:..:00 on lo)
 *   fd-send FD [ADDR PORT]        send MARK on an inherited socket FD (sendto if ADDR given)
 *   presock-udp PROCS ADDR PORT   make a UDP socket, move this process into the cgroup whose
 *                                 cgroup.procs is PROCS, then sendto() (two words: move, send)
 *
 * socket() only, its errno is the verdict (the cgroup/sock_create hook):
 *   raw4 raw6 raw4-udp raw4-ipraw ping4 ping6 sctp4 sctp6 sctp4-seq smc smc6 smc-inet
 *   smc-inet6 mptcp4 mptcp6 packet packet-raw sockpacket vsock uring-raw4 uring-raw6 uring-ping4
 *   (vsock only creates the socket; nothing here ever connects one)
 *
 * Helpers run outside the fence:
 *   listen tcp|udp ADDR PORT [tfo]  print "listening", then "got DATA" per datagram or per
 *                                 connection (its first read); "tfo" enables TCP_FASTOPEN
 *   sniff IFNAME DST SECONDS      AF_PACKET capture: print "listening", then "seen" and exit 0
 *                                 as soon as an IPv4/IPv6 packet to DST holding MARK passes
 *                                 IFNAME, or "unseen" after SECONDS
 *   sleep SECONDS                 a container's init
 *   cgroup                        print this process's cgroup v2 path
 *
 * Exit status: 0 the probe ran (its verdict is the output, whatever it is), 1 the probe could
 * not be set up (output "WHAT:ERRNO"), 2 usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef IPPROTO_SMC
#define IPPROTO_SMC 256
#endif
#ifndef AF_SMC
#define AF_SMC 43
#endif
#ifndef SMCPROTO_SMC6
#define SMCPROTO_SMC6 1
#endif
#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif
#ifndef IPV6_RTHDR
#define IPV6_RTHDR 57
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

static const char *mark = "evasion";
static int timeout_ms = 3000;
static struct sockaddr_storage bind_src; /* -b */
static socklen_t bind_len;

/* Print one result word: 0 is "ok", anything else an errno. */
static void word(int err)
{
	fputs(err ? errname(err) : "ok", stdout);
}

static int verdict(int err)
{
	word(err);
	putchar('\n');
	return 0;
}

static int usage(void)
{
	fputs("usage: evasion [-m MARK] [-t MS] [-b SRC] MODE ARGS... (see evasion.c)\n", stderr);
	return 2;
}

/* socket(), bound to the -b source if one was given; a failed bind() ends the probe as a setup
 * failure. */
static int probe_socket(int family, int type, int protocol)
{
	int fd = socket(family, type | SOCK_CLOEXEC, protocol);

	if (fd >= 0 && bind_len && bind(fd, (const struct sockaddr *)&bind_src, bind_len) < 0)
		exit(setup_failed("bind", errno));
	return fd;
}

/* wait_connect_ms() (probe.h) with this client's timeout. */
static int wait_connect(int fd)
{
	return wait_connect_ms(fd, timeout_ms);
}

/* --- TCP-like connects -------------------------------------------------------------------- */

/* connect() a stream socket of PROTOCOL, then write MARK; the first error is the verdict. */
static int do_stream(const struct sockaddr_storage *ss, socklen_t len, int protocol)
{
	int fd = probe_socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK, protocol);
	int err = 0;

	if (fd < 0)
		return verdict(errno); /* socket() is part of what is judged (sock_create) */
	if (connect(fd, (const struct sockaddr *)ss, len) < 0)
		err = errno == EINPROGRESS ? wait_connect(fd) : errno;
	if (!err && write(fd, mark, strlen(mark)) < 0)
		err = errno;
	close(fd);
	return verdict(err);
}

static int do_tcp(const struct sockaddr_storage *ss, socklen_t len)
{
	return do_stream(ss, len, 0);
}

static int do_mptcp(const struct sockaddr_storage *ss, socklen_t len)
{
	return do_stream(ss, len, IPPROTO_MPTCP);
}

static int do_sctp(const struct sockaddr_storage *ss, socklen_t len)
{
	return do_stream(ss, len, IPPROTO_SCTP);
}

static int do_tfo(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = probe_socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int err = 0;

	if (fd < 0)
		return setup_failed("socket", errno);
	if (sendto(fd, mark, strlen(mark), MSG_FASTOPEN, (const struct sockaddr *)ss, len) < 0) {
		err = errno == EINPROGRESS ? wait_connect(fd) : errno;
		/* Without a cookie the data did not ride on the SYN: send it now. */
		if (!err && write(fd, mark, strlen(mark)) < 0)
			err = errno;
	}
	close(fd);
	return verdict(err);
}

static int do_tfo_connect(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = probe_socket(ss->ss_family, SOCK_STREAM, 0);
	int one = 1, err = 0;

	if (fd < 0)
		return setup_failed("socket", errno);
	if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)) < 0)
		return setup_failed("TCP_FASTOPEN_CONNECT", errno);
	if (connect(fd, (const struct sockaddr *)ss, len) < 0 || write(fd, mark, strlen(mark)) < 0)
		err = errno;
	close(fd);
	return verdict(err);
}

/* --- UDP ---------------------------------------------------------------------------------- */

/* Print the two words of a connected UDP probe: connect()'s verdict, then the send's ("-"
 * when the connect failed). */
static int two_words(int connect_err, int err)
{
	if (connect_err) {
		printf("%s -\n", errname(connect_err));
		return 0;
	}
	word(0);
	putchar(' ');
	return verdict(err);
}

static int do_udp(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = probe_socket(ss->ss_family, SOCK_DGRAM, IPPROTO_UDP);

	if (fd < 0)
		return setup_failed("socket", errno);
	return verdict(udp_probe(fd, UDP_SENDTO, ss, len, mark, NULL));
}

static int do_udplite(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDPLITE);

	if (fd < 0)
		return verdict(errno);
	return verdict(udp_probe(fd, UDP_SENDTO, ss, len, mark, NULL));
}

static int do_udp_sendmsg(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = probe_socket(ss->ss_family, SOCK_DGRAM, IPPROTO_UDP);

	if (fd < 0)
		return setup_failed("socket", errno);
	return verdict(udp_probe(fd, UDP_SENDMSG, ss, len, mark, NULL));
}

static int do_udp_connect(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = probe_socket(ss->ss_family, SOCK_DGRAM, IPPROTO_UDP);
	int cerr, err;

	if (fd < 0)
		return setup_failed("socket", errno);
	err = udp_probe(fd, UDP_CONNECT, ss, len, mark, &cerr);
	return two_words(cerr, err);
}

/* Connected to one destination, sendto() another: the second is judged by sendmsg4/6. */
static int do_udp_connected_sendto(char **argv)
{
	struct sockaddr_storage a, b;
	socklen_t la = parse_addr(argv[0], argv[1], &a), lb = parse_addr(argv[2], argv[3], &b);
	int fd, err = 0;

	if (!la || !lb || a.ss_family != b.ss_family)
		return usage();
	fd = udp_socket(a.ss_family);
	if (fd < 0)
		return setup_failed("socket", errno);
	if (connect(fd, (struct sockaddr *)&a, la) < 0) {
		err = errno;
		close(fd);
		return two_words(err, 0);
	}
	return two_words(0, udp_probe(fd, UDP_SENDTO, &b, lb, mark, NULL));
}

/*
 * Connected, then a send without a name but with a control message: the kernel then runs
 * the sendmsg hook (it does so for every send with a control message) with no address, i.e.
 * 0.0.0.0 or :: port 0. With TO (length TOLEN), the send names that destination instead.
 */
static int connected_cmsg(const struct sockaddr_storage *ss, socklen_t len,
			  const struct sockaddr_storage *to, socklen_t tolen)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)mark, .iov_len = strlen(mark) };
	struct msghdr msg = { .msg_name = (void *)to,
			      .msg_namelen = to ? tolen : 0,
			      .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	int fd = udp_socket(ss->ss_family), cerr = 0, err = 0, tos = 0;

	if (fd < 0)
		return setup_failed("socket", errno);
	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = ss->ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
	c->cmsg_type = ss->ss_family == AF_INET6 ? IPV6_TCLASS : IP_TOS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &tos, sizeof(tos));
	if (connect(fd, (const struct sockaddr *)ss, len) < 0)
		cerr = errno;
	else if (sendmsg(fd, &msg, 0) < 0)
		err = errno;
	close(fd);
	return two_words(cerr, err);
}

static int do_udp_connected_cmsg(const struct sockaddr_storage *ss, socklen_t len)
{
	return connected_cmsg(ss, len, NULL, 0);
}

static int do_udp_connected_cmsg_sendto(char **argv)
{
	struct sockaddr_storage a, b;
	socklen_t la = parse_addr(argv[0], argv[1], &a), lb = parse_addr(argv[2], argv[3], &b);

	if (!la || !lb || a.ss_family != b.ss_family)
		return usage();
	return connected_cmsg(&a, la, &b, lb);
}

/*
 * A source address given with bind() (tcp-from, udp-from) or per message with IP_PKTINFO /
 * IPV6_PKTINFO (udp-pktinfo), or picked from a device (tcp-dev). To the unspecified address,
 * the kernel's IPv4 route lookup connects to that source address rather than to 127.0.0.1.
 */
static int do_from(const char *mode, char **argv)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} u;
	struct sockaddr_storage src, ss;
	socklen_t slen = parse_addr(argv[0], "0", &src), len = parse_addr(argv[1], argv[2], &ss);
	struct iovec iov = { .iov_base = (void *)mark, .iov_len = strlen(mark) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	int fd, err = 0;

	if (strcmp(mode, "tcp-dev") == 0)
		slen = 0; /* argv[0] is a device */
	else if (!slen || src.ss_family != ss.ss_family)
		return usage();
	if (!len)
		return usage();
	if (strcmp(mode, "tcp-from") == 0 || strcmp(mode, "tcp-dev") == 0) {
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return setup_failed("socket", errno);
		if (slen && bind(fd, (struct sockaddr *)&src, slen) < 0)
			return setup_failed("bind", errno);
		if (!slen && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, argv[0],
					(socklen_t)strlen(argv[0])) < 0)
			return setup_failed("SO_BINDTODEVICE", errno);
		if (connect(fd, (struct sockaddr *)&ss, len) < 0)
			err = errno == EINPROGRESS ? wait_connect(fd) : errno;
		if (!err && write(fd, mark, strlen(mark)) < 0)
			err = errno;
		close(fd);
		return verdict(err);
	}
	fd = udp_socket(ss.ss_family);
	if (fd < 0)
		return setup_failed("socket", errno);
	msg.msg_name = &ss;
	msg.msg_namelen = len;
	if (strcmp(mode, "udp-from") == 0) {
		if (bind(fd, (struct sockaddr *)&src, slen) < 0)
			return setup_failed("bind", errno);
	} else {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&msg);
		if (ss.ss_family == AF_INET6) {
			struct in6_pktinfo pi = {
				.ipi6_addr = ((struct sockaddr_in6 *)&src)->sin6_addr
			};

			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = IPV6_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
		} else {
			struct in_pktinfo pi = { .ipi_spec_dst =
							 ((struct sockaddr_in *)&src)->sin_addr };

			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
		}
	}
	if (sendmsg(fd, &msg, 0) < 0)
		err = errno;
	close(fd);
	return verdict(err);
}

static int do_udp6_sin4(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd;

	if (ss->ss_family != AF_INET)
		return usage();
	fd = udp_socket(AF_INET6);
	if (fd < 0)
		return setup_failed("socket", errno);
	return verdict(udp_probe(fd, UDP_SENDTO, ss, len, mark, NULL));
}

static int do_udp6_sin4_connect(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd, cerr, err;

	if (ss->ss_family != AF_INET)
		return usage();
	fd = udp_socket(AF_INET6);
	if (fd < 0)
		return setup_failed("socket", errno);
	err = udp_probe(fd, UDP_CONNECT, ss, len, mark, &cerr);
	return two_words(cerr, err);
}

/* udp_sendmsg() takes the address of an AF_UNSPEC sockaddr_in as if it were AF_INET. */
static int do_udp_unspec(const struct sockaddr_storage *ss, socklen_t len)
{
	struct sockaddr_in sin;
	int fd;

	if (ss->ss_family != AF_INET)
		return usage();
	memcpy(&sin, ss, sizeof(sin));
	sin.sin_family = AF_UNSPEC;
	fd = udp_socket(AF_INET);
	if (fd < 0)
		return setup_failed("socket", errno);
	return verdict(udp_probe(fd, UDP_SENDTO, &sin, len, mark, NULL));
}

/* One sendmmsg() batch over one socket (probe.h). */
static int do_udp_sendmmsg(int argc, char **argv)
{
	int r = udp_sendmmsg_batch(argc, argv, mark);

	return r < 0 ? usage() : r;
}

/* --- ping sockets ------------------------------------------------------------------------- */

static int ping_socket(int family)
{
	return socket(family, SOCK_DGRAM | SOCK_CLOEXEC,
		      family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
}

static size_t echo_request(int family, unsigned char *buf, size_t size)
{
	size_t n = 8 + strlen(mark);

	if (n > size)
		n = size;
	memset(buf, 0, 8);
	buf[0] = family == AF_INET6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	memcpy(buf + 8, mark, n - 8);
	return n; /* the kernel fills in the id and the checksum */
}

static int do_ping(const char *addr, int use_connect)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(addr, "0", &ss);
	unsigned char buf[128];
	size_t n;
	int fd, err = 0;

	if (!len)
		return usage();
	fd = ping_socket(ss.ss_family);
	if (fd < 0)
		return verdict(errno);
	n = echo_request(ss.ss_family, buf, sizeof(buf));
	if (use_connect) {
		if (connect(fd, (struct sockaddr *)&ss, len) < 0 || send(fd, buf, n, 0) < 0)
			err = errno;
	} else if (sendto(fd, buf, n, 0, (struct sockaddr *)&ss, len) < 0) {
		err = errno;
	}
	close(fd);
	return verdict(err);
}

/* --- source routes: the judged destination is not the first hop ---------------------------- */

#define OPT_LSRR 0x83 /* IPOPT_LSRR */
#define OPT_SSRR 0x89 /* IPOPT_SSRR */

/* IP_OPTIONS bytes of a source route of TYPE (OPT_LSRR, OPT_SSRR) whose first hop is HOP. */
static int srr_option(const char *hop, unsigned char type, unsigned char opt[8])
{
	struct in_addr a;

	if (inet_pton(AF_INET, hop, &a) != 1)
		return -1;
	opt[0] = type;
	opt[1] = 7; /* length: type, length, pointer, one address */
	opt[2] = 4; /* pointer to the first address */
	memcpy(opt + 3, &a, 4);
	opt[7] = 0; /* IPOPT_END */
	return 0;
}

static int is_v4mapped(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int do_udp_srr(char **argv, unsigned char type, int as_cmsg)
{
	union {
		char buf[CMSG_SPACE(8)];
		struct cmsghdr align;
	} u;
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(argv[1], argv[2], &ss);
	struct iovec iov = { .iov_base = (void *)mark, .iov_len = strlen(mark) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned char opt[8];
	struct cmsghdr *c;
	int fd, err = 0;

	if (!len || (ss.ss_family != AF_INET && !is_v4mapped(&ss)) ||
	    srr_option(argv[0], type, opt) < 0)
		return usage();
	fd = udp_socket(ss.ss_family);
	if (fd < 0)
		return setup_failed("socket", errno);
	msg.msg_name = &ss;
	msg.msg_namelen = len;
	if (as_cmsg) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_RETOPTS;
		c->cmsg_len = CMSG_LEN(8);
		memcpy(CMSG_DATA(c), opt, 8);
	} else if (setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, sizeof(opt)) < 0) {
		return setup_failed("IP_OPTIONS", errno);
	}
	if (sendmsg(fd, &msg, 0) < 0)
		err = errno;
	close(fd);
	return verdict(err);
}

/* IPV6_RTHDR bytes of a segment routing header (type 4) whose next segment is HOP. */
static int srh_option(const char *hop, unsigned char srh[40])
{
	struct in6_addr a;

	if (inet_pton(AF_INET6, hop, &a) != 1)
		return -1;
	memset(srh, 0, 40);
	srh[1] = 4; /* hdrlen: 2 segments of 16 bytes, in 8-byte units */
	srh[2] = 4; /* type: segment routing */
	srh[3] = 1; /* segments left: the packet goes to segments[1] first */
	srh[4] = 1; /* last entry: segments[1] */
	/* segments[0] (bytes 8-23), the final destination, is filled in by the kernel. */
	memcpy(srh + 24, &a, 16);
	return 0;
}

/* Set the routing option on FD for HOP; returns 0 or -1 (usage), or an errno > 0. */
static int set_route(int fd, int family, const char *hop)
{
	unsigned char buf[40];

	if (family == AF_INET) {
		if (srr_option(hop, OPT_LSRR, buf) < 0)
			return -1;
		return setsockopt(fd, IPPROTO_IP, IP_OPTIONS, buf, 8) < 0 ? errno : 0;
	}
	if (srh_option(hop, buf) < 0)
		return -1;
	return setsockopt(fd, IPPROTO_IPV6, IPV6_RTHDR, buf, 40) < 0 ? errno : 0;
}

static int do_udp_srh6(char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(argv[1], argv[2], &ss);
	int fd, r, err = 0;

	if (!len || ss.ss_family != AF_INET6)
		return usage();
	fd = udp_socket(AF_INET6);
	if (fd < 0)
		return setup_failed("socket", errno);
	r = set_route(fd, AF_INET6, argv[0]);
	if (r < 0)
		return usage();
	if (r > 0)
		return setup_failed("IPV6_RTHDR", r);
	if (sendto(fd, mark, strlen(mark), 0, (struct sockaddr *)&ss, len) < 0)
		err = errno;
	close(fd);
	return verdict(err);
}

/* TCP with a source route: "pending" when the connect neither completed nor failed in time. */
static int do_tcp_routed(char **argv, int family)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(argv[1], argv[2], &ss);
	int fd, r, err = 0;

	if (!len || ss.ss_family != family)
		return usage();
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return setup_failed("socket", errno);
	r = set_route(fd, family, argv[0]);
	if (r < 0)
		return usage();
	if (r > 0)
		return setup_failed(family == AF_INET ? "IP_OPTIONS" : "IPV6_RTHDR", r);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		err = errno == EINPROGRESS ? wait_connect(fd) : errno;
	close(fd);
	if (err == ETIMEDOUT) {
		puts("pending");
		return 0;
	}
	return verdict(err);
}

/* --- AF_PACKET: a datagram built by hand ------------------------------------------------- */

static uint16_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (unsigned char)b[i];
	return 0;
}

static int do_packet_udp(int argc, char **argv)
{
	unsigned char pkt[256], mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct sockaddr_storage src, dst;
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	size_t plen = strlen(mark), n;
	unsigned long port;
	uint16_t c;
	int fd, family, err = 0;

	if (argc < 4 || argc > 5 || !parse_addr(argv[1], "0", &src) ||
	    !parse_addr(argv[2], argv[3], &dst) || src.ss_family != dst.ss_family ||
	    (argc == 5 && parse_mac(argv[4], mac) < 0) || plen > 128)
		return usage();
	family = dst.ss_family;
	port = strtoul(argv[3], NULL, 10);
	ll.sll_ifindex = (int)if_nametoindex(argv[0]);
	if (!ll.sll_ifindex)
		return setup_failed("if_nametoindex", errno);
	memcpy(ll.sll_addr, mac, 6);
	memset(pkt, 0, sizeof(pkt));
	if (family == AF_INET) {
		struct iphdr *ip = (struct iphdr *)pkt;
		unsigned char *udp = pkt + 20;

		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->tot_len = htons((uint16_t)(20 + 8 + plen));
		ip->saddr = ((struct sockaddr_in *)&src)->sin_addr.s_addr;
		ip->daddr = ((struct sockaddr_in *)&dst)->sin_addr.s_addr;
		ip->check = htons((uint16_t)~csum_add(0, ip, 20));
		udp[0] = 0x9c; /* source port 40000 */
		udp[1] = 0x40;
		udp[2] = (unsigned char)(port >> 8);
		udp[3] = (unsigned char)port;
		udp[4] = (unsigned char)((8 + plen) >> 8);
		udp[5] = (unsigned char)(8 + plen);
		memcpy(udp + 8, mark, plen); /* checksum 0: none, valid for IPv4 */
		n = 20 + 8 + plen;
		ll.sll_protocol = htons(ETH_P_IP);
	} else {
		unsigned char *ip6 = pkt, *udp = pkt + 40, pseudo[40];
		uint32_t ulen = (uint32_t)(8 + plen);

		ip6[0] = 0x60;
		ip6[4] = (unsigned char)(ulen >> 8);
		ip6[5] = (unsigned char)ulen;
		ip6[6] = IPPROTO_UDP;
		ip6[7] = 64;
		memcpy(ip6 + 8, &((struct sockaddr_in6 *)&src)->sin6_addr, 16);
		memcpy(ip6 + 24, &((struct sockaddr_in6 *)&dst)->sin6_addr, 16);
		udp[0] = 0x9c;
		udp[1] = 0x40;
		udp[2] = (unsigned char)(port >> 8);
		udp[3] = (unsigned char)port;
		udp[4] = (unsigned char)(ulen >> 8);
		udp[5] = (unsigned char)ulen;
		memcpy(udp + 8, mark, plen);
		memset(pseudo, 0, sizeof(pseudo));
		memcpy(pseudo, ip6 + 8, 32);
		pseudo[34] = (unsigned char)(ulen >> 8);
		pseudo[35] = (unsigned char)ulen;
		pseudo[39] = IPPROTO_UDP;
		c = (uint16_t)~csum_add(csum_add(0, pseudo, 40), udp, ulen);
		if (c == 0)
			c = 0xffff;
		udp[6] = (unsigned char)(c >> 8);
		udp[7] = (unsigned char)c;
		n = 40 + ulen;
		ll.sll_protocol = htons(ETH_P_IPV6);
	}
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, ll.sll_protocol);
	if (fd < 0)
		return verdict(errno);
	if (sendto(fd, pkt, n, 0, (struct sockaddr *)&ll, sizeof(ll)) < 0)
		err = errno;
	close(fd);
	return verdict(err);
}

static int do_raw_udp(const struct sockaddr_storage *ss, socklen_t len)
{
	unsigned char pkt[256];
	size_t plen = strlen(mark);
	unsigned int port;
	int fd, err = 0;

	if (ss->ss_family != AF_INET || plen > 128)
		return usage();
	port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	memset(pkt, 0, 8);
	pkt[0] = 0x9c; /* source port 40000 */
	pkt[1] = 0x40;
	pkt[2] = (unsigned char)(port >> 8);
	pkt[3] = (unsigned char)port;
	pkt[4] = (unsigned char)((8 + plen) >> 8);
	pkt[5] = (unsigned char)(8 + plen);
	memcpy(pkt + 8, mark, plen); /* checksum 0: none */
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return verdict(errno);
	if (sendto(fd, pkt, 8 + plen, 0, (const struct sockaddr *)ss, len) < 0)
		err = errno;
	close(fd);
	return verdict(err);
}

/* --- sockets made elsewhere ------------------------------------------------------------- */

static int do_fd_send(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char *end;
	long fd = strtol(argv[0], &end, 10);
	int err = 0;

	if (*end || fd < 0 || (argc == 3 && !(len = parse_addr(argv[1], argv[2], &ss))) ||
	    (argc != 1 && argc != 3))
		return usage();
	if (sendto((int)fd, mark, strlen(mark), 0, len ? (struct sockaddr *)&ss : NULL, len) < 0)
		err = errno;
	return verdict(err);
}

static int do_presock_udp(char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(argv[1], argv[2], &ss);
	char pid[32];
	int fd, cg, n, err = 0;

	if (!len)
		return usage();
	fd = udp_socket(ss.ss_family);
	if (fd < 0)
		return setup_failed("socket", errno);
	cg = open(argv[0], O_WRONLY | O_CLOEXEC);
	if (cg < 0)
		return setup_failed("open", errno);
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (write(cg, pid, (size_t)n) < 0)
		return setup_failed("move", errno);
	close(cg);
	word(0);
	if (sendto(fd, mark, strlen(mark), 0, (struct sockaddr *)&ss, len) < 0)
		err = errno;
	putchar(' ');
	close(fd);
	return verdict(err);
}

/* --- io_uring ------------------------------------------------------------------------------ */

#ifdef HAVE_LIBURING
static struct io_uring ring;
static unsigned int ring_flags; /* io_uring_setup() flags: IORING_SETUP_SQPOLL for *-sqpoll */

static int ring_setup(void)
{
	int r = io_uring_queue_init(8, &ring, ring_flags);

	if (r < 0) {
		printf("uring-setup:%s\n", errname(-r));
		return -1;
	}
	return 0;
}

/* Submit what is queued and reap one completion (and, for a zero-copy send, its notification);
 * returns the result of the operation: >= 0 or -errno. */
static int ring_run(int *res)
{
	struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
					.tv_nsec = (timeout_ms % 1000) * 1000000L };
	struct io_uring_cqe *cqe;
	int r, more;

	r = io_uring_submit(&ring);
	if (r < 0)
		return r;
	r = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
	if (r < 0)
		return r;
	*res = cqe->res;
	more = cqe->flags & IORING_CQE_F_MORE;
	io_uring_cqe_seen(&ring, cqe);
	if (more && io_uring_wait_cqe_timeout(&ring, &cqe, &ts) == 0)
		io_uring_cqe_seen(&ring, cqe);
	return 0;
}

/* Run the prepared operation; print its verdict word (no newline); 0 or -1 (setup failure). */
static int ring_word(void)
{
	int res = 0, r = ring_run(&res);

	if (r < 0) {
		printf("uring-wait:%s", errname(-r));
		return -1;
	}
	word(res < 0 ? -res : 0);
	return 0;
}

static int do_uring_connect(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = probe_socket(ss->ss_family, SOCK_STREAM, 0);

	if (fd < 0)
		return setup_failed("socket", errno);
	if (ring_setup() < 0)
		return 1;
	io_uring_prep_connect(io_uring_get_sqe(&ring), fd, (const struct sockaddr *)ss, len);
	ring_word();
	putchar('\n');
	return 0;
}

static int do_uring_connect_udp(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = probe_socket(ss->ss_family, SOCK_DGRAM, IPPROTO_UDP), res = 0;

	if (fd < 0)
		return setup_failed("socket", errno);
	if (ring_setup() < 0)
		return 1;
	io_uring_prep_connect(io_uring_get_sqe(&ring), fd, (const struct sockaddr *)ss, len);
	if (ring_run(&res) < 0 || res < 0) {
		printf("%s -\n", errname(res < 0 ? -res : EIO));
		return 0;
	}
	fputs("ok ", stdout);
	io_uring_prep_send(io_uring_get_sqe(&ring), fd, mark, strlen(mark), 0);
	ring_word();
	putchar('\n');
	return 0;
}

static int do_uring_sendmsg(const struct sockaddr_storage *ss, socklen_t len, int zc)
{
	static struct iovec iov;
	static struct msghdr msg;
	int fd = probe_socket(ss->ss_family, SOCK_DGRAM, IPPROTO_UDP);

	if (fd < 0)
		return setup_failed("socket", errno);
	if (ring_setup() < 0)
		return 1;
	iov = (struct iovec){ .iov_base = (void *)mark, .iov_len = strlen(mark) };
	msg = (struct msghdr){
		.msg_name = (void *)ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1
	};
	if (zc)
		io_uring_prep_sendmsg_zc(io_uring_get_sqe(&ring), fd, &msg, 0);
	else
		io_uring_prep_sendmsg(io_uring_get_sqe(&ring), fd, &msg, 0);
	ring_word();
	putchar('\n');
	return 0;
}

static int do_uring_sendto(const struct sockaddr_storage *ss, socklen_t len, int zc)
{
	struct io_uring_sqe *sqe;
	int fd = udp_socket(ss->ss_family);

	if (fd < 0)
		return setup_failed("socket", errno);
	if (ring_setup() < 0)
		return 1;
	sqe = io_uring_get_sqe(&ring);
	if (zc)
		io_uring_prep_send_zc(sqe, fd, mark, strlen(mark), 0, 0);
	else
		io_uring_prep_send(sqe, fd, mark, strlen(mark), 0);
	io_uring_prep_send_set_addr(sqe, (const struct sockaddr *)ss, (uint16_t)len);
	ring_word();
	putchar('\n');
	return 0;
}

static int do_uring_socket(int family, int type, int protocol)
{
	int res = 0, r;

	if (ring_setup() < 0)
		return 1;
	io_uring_prep_socket(io_uring_get_sqe(&ring), family, type, protocol, 0);
	r = ring_run(&res);
	if (r < 0)
		return setup_failed("uring-wait", -r);
	if (res >= 0)
		close(res);
	return verdict(res < 0 ? -res : 0);
}
#else
static int no_uring(void)
{
	puts("unsupported");
	return 0;
}

static int do_uring_connect(const struct sockaddr_storage *ss, socklen_t len)
{
	(void)ss, (void)len;
	return no_uring();
}

static int do_uring_connect_udp(const struct sockaddr_storage *ss, socklen_t len)
{
	(void)ss, (void)len;
	return no_uring();
}

static int do_uring_sendmsg(const struct sockaddr_storage *ss, socklen_t len, int zc)
{
	(void)ss, (void)len, (void)zc;
	return no_uring();
}

static int do_uring_sendto(const struct sockaddr_storage *ss, socklen_t len, int zc)
{
	(void)ss, (void)len, (void)zc;
	return no_uring();
}

static int do_uring_socket(int family, int type, int protocol)
{
	(void)family, (void)type, (void)protocol;
	return no_uring();
}
#endif

static int do_uring_sendmsg_plain(const struct sockaddr_storage *ss, socklen_t len)
{
	return do_uring_sendmsg(ss, len, 0);
}

static int do_uring_sendmsg_zc(const struct sockaddr_storage *ss, socklen_t len)
{
	return do_uring_sendmsg(ss, len, 1);
}

static int do_uring_connect_sqpoll(const struct sockaddr_storage *ss, socklen_t len)
{
#ifdef HAVE_LIBURING
	ring_flags = IORING_SETUP_SQPOLL;
#endif
	return do_uring_connect(ss, len);
}

static int do_uring_sendmsg_sqpoll(const struct sockaddr_storage *ss, socklen_t len)
{
#ifdef HAVE_LIBURING
	ring_flags = IORING_SETUP_SQPOLL;
#endif
	return do_uring_sendmsg(ss, len, 0);
}

static int do_uring_sendto_plain(const struct sockaddr_storage *ss, socklen_t len)
{
	return do_uring_sendto(ss, len, 0);
}

static int do_uring_send_zc(const struct sockaddr_storage *ss, socklen_t len)
{
	return do_uring_sendto(ss, len, 1);
}

/* --- helpers outside the fence ----------------------------------------------------------- */

static void print_got(const char *buf, ssize_t n)
{
	printf("got ");
	for (ssize_t i = 0; i < n; i++)
		putchar(buf[i] >= 0x21 && buf[i] < 0x7f ? buf[i] : '.');
	putchar('\n');
	fflush(stdout);
}

static int do_listen(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int tcp, one = 1, fd;

	if (argc < 3 || argc > 4 || !(len = parse_addr(argv[1], argv[2], &ss)))
		return usage();
	tcp = strcmp(argv[0], "tcp") == 0;
	if (!tcp && strcmp(argv[0], "udp") != 0)
		return usage();
	fd = socket(ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return setup_failed("socket", errno);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return setup_failed("bind", errno);
	if (tcp && argc == 4 && strcmp(argv[3], "tfo") == 0) {
		int qlen = 16;

		if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)) < 0)
			return setup_failed("TCP_FASTOPEN", errno);
	}
	if (tcp && listen(fd, 128) < 0)
		return setup_failed("listen", errno);
	puts("listening");
	fflush(stdout);
	for (;;) {
		char buf[512];
		ssize_t n;

		if (tcp) {
			int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
			struct pollfd pfd = { .fd = c, .events = POLLIN };

			if (c < 0)
				continue;
			n = poll(&pfd, 1, 1000) > 0 ? read(c, buf, sizeof(buf)) : 0;
			print_got(buf, n > 0 ? n : 0);
			close(c);
		} else {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n < 0 && errno != EINTR)
				return setup_failed("recv", errno);
			if (n >= 0)
				print_got(buf, n);
		}
	}
}

static int contains(const unsigned char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	if (m == 0)
		return 1;
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return 1;
	return 0;
}

static int do_sniff(char **argv)
{
	struct sockaddr_storage dst;
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	time_t end;
	int fd, family;

	if (!parse_addr(argv[1], "0", &dst))
		return usage();
	family = dst.ss_family;
	ll.sll_ifindex = (int)if_nametoindex(argv[0]);
	if (!ll.sll_ifindex)
		return setup_failed("if_nametoindex", errno);
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return setup_failed("socket", errno);
	if (bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0)
		return setup_failed("bind", errno);
	puts("listening");
	fflush(stdout);
	end = time(NULL) + atoi(argv[2]);
	while (time(NULL) < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		unsigned char buf[2048];
		ssize_t n;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			continue;
		if (family == AF_INET && n >= 20 && buf[0] >> 4 == 4 &&
		    memcmp(buf + 16, &((struct sockaddr_in *)&dst)->sin_addr, 4) == 0 &&
		    contains(buf, (size_t)n, mark)) {
			puts("seen");
			return 0;
		}
		if (family == AF_INET6 && n >= 40 && buf[0] >> 4 == 6 &&
		    memcmp(buf + 24, &((struct sockaddr_in6 *)&dst)->sin6_addr, 16) == 0 &&
		    contains(buf, (size_t)n, mark)) {
			puts("seen");
			return 0;
		}
	}
	puts("unseen");
	return 0;
}

/* --- dispatch -------------------------------------------------------------------------------- */

typedef int (*addr_fn)(const struct sockaddr_storage *, socklen_t);

static const struct {
	const char *name;
	addr_fn fn;
} addr_modes[] = {
	{ "tcp", do_tcp },
	{ "tfo", do_tfo },
	{ "tfo-connect", do_tfo_connect },
	{ "mptcp", do_mptcp },
	{ "sctp", do_sctp },
	{ "udp", do_udp },
	{ "udp-sendmsg", do_udp_sendmsg },
	{ "udp-connect", do_udp_connect },
	{ "udp-connected-cmsg", do_udp_connected_cmsg },
	{ "udp6-sin4", do_udp6_sin4 },
	{ "udplite", do_udplite },
	{ "raw-udp", do_raw_udp },
	{ "uring-connect", do_uring_connect },
	{ "uring-connect-udp", do_uring_connect_udp },
	{ "uring-connect-sqpoll", do_uring_connect_sqpoll },
	{ "uring-sendmsg-sqpoll", do_uring_sendmsg_sqpoll },
	{ "udp6-sin4-connect", do_udp6_sin4_connect },
	{ "udp-unspec", do_udp_unspec },
	{ "uring-sendmsg", do_uring_sendmsg_plain },
	{ "uring-sendmsg-zc", do_uring_sendmsg_zc },
	{ "uring-sendto", do_uring_sendto_plain },
	{ "uring-send-zc", do_uring_send_zc },
};

static const struct {
	const char *name;
	int family, type, protocol, uring;
} socket_modes[] = {
	{ "raw4", AF_INET, SOCK_RAW, IPPROTO_ICMP, 0 },
	{ "raw6", AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, 0 },
	{ "raw4-udp", AF_INET, SOCK_RAW, IPPROTO_UDP, 0 },
	{ "raw4-ipraw", AF_INET, SOCK_RAW, IPPROTO_RAW, 0 },
	{ "ping4", AF_INET, SOCK_DGRAM, IPPROTO_ICMP, 0 },
	{ "ping6", AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6, 0 },
	{ "sctp4", AF_INET, SOCK_STREAM, IPPROTO_SCTP, 0 },
	{ "sctp6", AF_INET6, SOCK_STREAM, IPPROTO_SCTP, 0 },
	{ "sctp4-seq", AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP, 0 },
	{ "smc", AF_SMC, SOCK_STREAM, 0, 0 },
	{ "smc6", AF_SMC, SOCK_STREAM, SMCPROTO_SMC6, 0 },
	{ "smc-inet", AF_INET, SOCK_STREAM, IPPROTO_SMC, 0 },
	{ "smc-inet6", AF_INET6, SOCK_STREAM, IPPROTO_SMC, 0 },
	{ "mptcp4", AF_INET, SOCK_STREAM, IPPROTO_MPTCP, 0 },
	{ "mptcp6", AF_INET6, SOCK_STREAM, IPPROTO_MPTCP, 0 },
	{ "packet", AF_PACKET, SOCK_DGRAM, 0x0300 /* htons(ETH_P_ALL) */, 0 },
	{ "packet-raw", AF_PACKET, SOCK_RAW, 0x0300, 0 },
	{ "sockpacket", AF_INET, SOCK_PACKET, 0x0300, 0 },
	{ "vsock", AF_VSOCK, SOCK_STREAM, 0, 0 },
	{ "uring-raw4", AF_INET, SOCK_RAW, IPPROTO_ICMP, 1 },
	{ "uring-raw6", AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, 1 },
	{ "uring-ping4", AF_INET, SOCK_DGRAM, IPPROTO_ICMP, 1 },
};

static int do_socket(int family, int type, int protocol)
{
	int fd = socket(family, type | SOCK_CLOEXEC, protocol);

	if (fd < 0)
		return verdict(errno);
	close(fd);
	return verdict(0);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	const char *mode;
	socklen_t len;
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "+m:t:b:")) != -1) {
		if (opt == 'm')
			mark = optarg;
		else if (opt == 't')
			timeout_ms = atoi(optarg);
		else if (opt == 'b' && (bind_len = parse_addr(optarg, "0", &bind_src)) != 0)
			continue;
		else
			return usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage();
	mode = argv[0];
	argc--;
	argv++;
	for (size_t i = 0; i < sizeof(socket_modes) / sizeof(socket_modes[0]); i++) {
		if (strcmp(mode, socket_modes[i].name) != 0)
			continue;
		if (argc != 0)
			return usage();
		if (socket_modes[i].uring)
			return do_uring_socket(socket_modes[i].family, socket_modes[i].type,
					       socket_modes[i].protocol);
		return do_socket(socket_modes[i].family, socket_modes[i].type,
				 socket_modes[i].protocol);
	}
	if (strcmp(mode, "udp-sendmmsg") == 0)
		return do_udp_sendmmsg(argc, argv);
	if (strcmp(mode, "udp-connected-sendto") == 0)
		return argc == 4 ? do_udp_connected_sendto(argv) : usage();
	if (strcmp(mode, "ping-sendto") == 0 || strcmp(mode, "ping-connect") == 0)
		return argc == 1 ? do_ping(argv[0], mode[5] == 'c') : usage();
	if (strcmp(mode, "udp-lsrr") == 0 || strcmp(mode, "udp-lsrr-cmsg") == 0)
		return argc == 3 ? do_udp_srr(argv, OPT_LSRR, mode[8] == '-') : usage();
	if (strcmp(mode, "udp-ssrr") == 0)
		return argc == 3 ? do_udp_srr(argv, OPT_SSRR, 0) : usage();
	if (strcmp(mode, "udp-connected-cmsg-sendto") == 0)
		return argc == 4 ? do_udp_connected_cmsg_sendto(argv) : usage();
	if (strcmp(mode, "tcp-from") == 0 || strcmp(mode, "udp-from") == 0 ||
	    strcmp(mode, "udp-pktinfo") == 0 || strcmp(mode, "tcp-dev") == 0)
		return argc == 3 ? do_from(mode, argv) : usage();
	if (strcmp(mode, "tcp-lsrr") == 0)
		return argc == 3 ? do_tcp_routed(argv, AF_INET) : usage();
	if (strcmp(mode, "udp-srh6") == 0)
		return argc == 3 ? do_udp_srh6(argv) : usage();
	if (strcmp(mode, "tcp-srh6") == 0)
		return argc == 3 ? do_tcp_routed(argv, AF_INET6) : usage();
	if (strcmp(mode, "packet-udp") == 0)
		return do_packet_udp(argc, argv);
	if (strcmp(mode, "fd-send") == 0)
		return argc >= 1 ? do_fd_send(argc, argv) : usage();
	if (strcmp(mode, "presock-udp") == 0)
		return argc == 3 ? do_presock_udp(argv) : usage();
	if (strcmp(mode, "listen") == 0)
		return do_listen(argc, argv);
	if (strcmp(mode, "sniff") == 0)
		return argc == 3 ? do_sniff(argv) : usage();
	if (strcmp(mode, "cgroup") == 0 && argc == 0) {
		char line[4096];
		FILE *f = fopen("/proc/self/cgroup", "re");

		if (!f)
			return setup_failed("open", errno);
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "0::", 3) == 0)
				fputs(line + 3, stdout);
		fclose(f);
		return 0;
	}
	if (strcmp(mode, "sleep") == 0 && argc == 1) {
		sleep((unsigned int)atoi(argv[0]));
		return 0;
	}
	if (strcmp(mode, "udp-connected-sendto") == 0)
		return usage();
	if (argc != 2)
		return usage();
	len = parse_addr(argv[0], argv[1], &ss);
	if (!len)
		return usage();
	for (size_t i = 0; i < sizeof(addr_modes) / sizeof(addr_modes[0]); i++)
		if (strcmp(mode, addr_modes[i].name) == 0)
			return addr_modes[i].fn(&ss, len);
	return usage();
}
