// SPDX-License-Identifier: Apache-2.0
/*
 * ctclient: a tiny static network probe for the runtime integration tests and the demo.
 * It runs inside a container rootfs that holds nothing else, so it must not depend on NSS,
 * a dynamic loader or a shell.
 *
 *   ctclient tcp  ADDR PORT            connect(); prints "ok" or the errno name (EPERM, ...)
 *   ctclient udp  ADDR PORT            unconnected sendto() of one datagram (the sendmsg hook)
 *   ctclient udpc ADDR PORT            connected UDP: connect() then send() (the connect hook)
 *   ctclient listen tcp ADDR PORT [S]  accept and answer "hello from ADDR:PORT\n" for S seconds
 *   ctclient listen udp ADDR PORT [S]  receive and count datagrams for S seconds
 *   ctclient sleep S                   the container's init when the rootfs has no busybox
 *
 * ADDR is numeric (IPv4 or IPv6). Exit status: 0 "ok", 1 an errno, 2 usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define PROBE_TIMEOUT_S 5

static int report(int err)
{
	puts(err ? errname(err) : "ok");
	return err ? 1 : 0;
}

static int probe(const char *kind, const struct sockaddr_storage *ss, socklen_t len)
{
	int tcp = strcmp(kind, "tcp") == 0;
	int fd = socket(ss->ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	static const char msg[] = "netfence-probe\n";
	char buf[64];
	ssize_t n;

	if (fd < 0)
		return report(errno);
	if (!tcp)
		return report(udp_probe(fd, strcmp(kind, "udp") == 0 ? UDP_SENDTO : UDP_CONNECT, ss,
					len, msg, NULL));
	if (connect(fd, (const struct sockaddr *)ss, len) < 0)
		return report(errno);
	/* A connected TCP probe reads the listener's greeting, if any, for the demo's output. */
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 1000) == 1) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			fprintf(stderr, "ctclient: server said: %s\n", buf);
		}
	}
	return report(0);
}

static int listen_loop(const char *kind, const struct sockaddr_storage *ss, socklen_t len,
		       const char *addr, const char *port, long seconds)
{
	int tcp = strcmp(kind, "tcp") == 0;
	int fd = socket(ss->ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	int one = 1;
	time_t stop = time(NULL) + seconds;
	char greet[128], buf[256];

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 || (tcp && listen(fd, 16) < 0)) {
		fprintf(stderr, "ctclient: listen %s %s %s: %s\n", kind, addr, port,
			errname(errno));
		return 1;
	}
	snprintf(greet, sizeof(greet), "hello from %s:%s\n", addr, port);
	puts("listening");
	fflush(stdout);
	while (time(NULL) < stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 200) != 1)
			continue;
		if (tcp) {
			int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

			if (c < 0)
				continue;
			if (write(c, greet, strlen(greet)) < 0)
				fprintf(stderr, "ctclient: write: %s\n", errname(errno));
			close(c);
		} else if (recv(fd, buf, sizeof(buf), 0) >= 0) {
			fprintf(stderr, "ctclient: datagram received\n");
		}
	}
	close(fd);
	return 0;
}

static int usage(void)
{
	fputs("usage: ctclient tcp|udp|udpc ADDR PORT\n"
	      "       ctclient listen tcp|udp ADDR PORT [SECONDS]\n"
	      "       ctclient sleep SECONDS\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "sleep") == 0) {
		/* pause() would do, but a bounded life means a leaked container ends by itself. */
		unsigned long s = strtoul(argv[2], NULL, 10);

		while (s > 0)
			s = sleep((unsigned int)s);
		return 0;
	}
	if (argc >= 5 && strcmp(argv[1], "listen") == 0) {
		long seconds = argc >= 6 ? strtol(argv[5], NULL, 10) : 60;

		if (strcmp(argv[2], "tcp") && strcmp(argv[2], "udp"))
			return usage();
		len = parse_addr(argv[3], argv[4], &ss);
		if (!len || seconds <= 0)
			return usage();
		return listen_loop(argv[2], &ss, len, argv[3], argv[4], seconds);
	}
	if (argc != 4 ||
	    (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp") && strcmp(argv[1], "udpc")))
		return usage();
	len = parse_addr(argv[2], argv[3], &ss);
	if (!len)
		return usage();
	/* Loopback answers at once; a hang means something is badly wrong, not a verdict. */
	alarm(PROBE_TIMEOUT_S);
	return probe(argv[1], &ss, len);
}
