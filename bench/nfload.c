// SPDX-License-Identifier: Apache-2.0
/*
 * nfload: the load generator of `make bench` (bench/run.sh builds it with cc -O2).
 *
 *   nfload [--netns NAME] [--cgroup DIR] serve PORT
 *       TCP listeners on 0.0.0.0:PORT and [::]:PORT that accept and close at once, and UDP
 *       sockets on the same port that never read (full queues drop). Prints "ready" when
 *       listening, runs until killed.
 *
 *   nfload [--netns NAME] [--cgroup DIR] tcp DESTS PORT SECONDS WINDOW
 *       connect() throughput: non-blocking TCP connects, WINDOW in flight, round-robin over the
 *       addresses in DESTS (one per line), each closed with an RST (SO_LINGER 0, so no
 *       TIME_WAIT) as soon as it is established or refused. Prints one JSON object.
 *
 *   nfload [--netns NAME] [--cgroup DIR] udp DESTS PORT SECONDS
 *       unconnected UDP sendto() throughput over the same destinations.
 *
 *   nfload [--netns NAME] [--cgroup DIR] mix DESTS REPEAT
 *       verdict load: DESTS lines are "ADDR PORT tcp|udp allow|deny"; each line is tried REPEAT
 *       times (TCP: non-blocking connect then close; UDP: sendto). Prints counts, and how many
 *       outcomes disagree with the expected verdict (EPERM = deny, anything else = allow).
 *
 * --cgroup moves the process into a cgroup v2 directory and --netns into a network namespace
 * under /run/netns before anything else happens.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct dest {
	struct sockaddr_storage sa;
	socklen_t len;
	int family;
	int tcp;    /* mix: 1 tcp, 0 udp */
	int expect; /* mix: 1 allow, 0 deny */
};

static void die(const char *what)
{
	fprintf(stderr, "nfload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_addr(const char *s, int port, struct dest *d)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&d->sa;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&d->sa;

	memset(&d->sa, 0, sizeof(d->sa));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		d->len = sizeof(*a4);
		d->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		d->len = sizeof(*a6);
		d->family = AF_INET6;
		return 0;
	}
	return -1;
}

/* Lines "ADDR [PORT [tcp|udp [allow|deny]]]"; PORT defaults to default_port. */
static struct dest *load_dests(const char *path, int default_port, size_t *ret_n)
{
	FILE *f = fopen(path, "r");
	struct dest *v = NULL;
	size_t n = 0, cap = 0;
	char line[256];

	if (!f)
		die(path);
	while (fgets(line, sizeof(line), f)) {
		char addr[128] = "", proto[8] = "tcp", verdict[8] = "allow";
		int port = default_port;

		if (sscanf(line, "%127s %d %7s %7s", addr, &port, proto, verdict) < 1 ||
		    addr[0] == '#')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				die("realloc");
		}
		if (parse_addr(addr, port, &v[n]) < 0) {
			fprintf(stderr, "nfload: %s: bad address '%s'\n", path, addr);
			exit(1);
		}
		v[n].tcp = strcmp(proto, "udp") != 0;
		v[n].expect = strcmp(verdict, "deny") != 0;
		n++;
	}
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "nfload: %s: no destinations\n", path);
		exit(1);
	}
	*ret_n = n;
	return v;
}

static void enter(const char *netns, const char *cgroup)
{
	if (cgroup) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
		f = fopen(path, "w");
		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) != 0)
			die(path);
	}
	if (netns) {
		char path[4096];
		int fd;

		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			die(path);
		close(fd);
	}
}

/* --- serve ------------------------------------------------------------------------------- */

static int listen_on(int family, int type, int port)
{
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_storage ss = {};
	socklen_t len;

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		len = sizeof(*a);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind");
	if (type == SOCK_STREAM && listen(fd, 65535) < 0)
		die("listen");
	if (type == SOCK_DGRAM) {
		int small = 4096;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	return fd;
}

static __attribute__((noreturn)) void cmd_serve(int port)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int l4 = listen_on(AF_INET, SOCK_STREAM, port);
	int l6 = listen_on(AF_INET6, SOCK_STREAM, port);
	struct epoll_event ev = { .events = EPOLLIN };

	/* Bound but never read: datagrams are queued until the small buffer is full, then
	 * dropped, which keeps the receive side cheap. */
	listen_on(AF_INET, SOCK_DGRAM, port);
	listen_on(AF_INET6, SOCK_DGRAM, port);
	ev.data.fd = l4;
	epoll_ctl(ep, EPOLL_CTL_ADD, l4, &ev);
	ev.data.fd = l6;
	epoll_ctl(ep, EPOLL_CTL_ADD, l6, &ev);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct epoll_event evs[2];
		int n = epoll_wait(ep, evs, 2, -1);

		for (int i = 0; i < n; i++) {
			int c;

			while ((c = accept4(evs[i].data.fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
				close(c);
		}
	}
}

/* --- tcp --------------------------------------------------------------------------------- */

struct counts {
	uint64_t ok, eperm, refused, other;
	int last_other;
};

static void count_err(struct counts *c, int err)
{
	if (err == 0)
		c->ok++;
	else if (err == EPERM)
		c->eperm++;
	else if (err == ECONNREFUSED || err == ECONNRESET)
		c->refused++;
	else {
		c->other++;
		c->last_other = err;
	}
}

/* Start a connect to d; returns the fd when it is in flight, -1 when it finished at once. */
static int start_connect(const struct dest *d, struct counts *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = socket(d->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(fd, (const struct sockaddr *)&d->sa, d->len) == 0) {
		count_err(c, 0);
		close(fd);
		return -1;
	}
	if (errno == EINPROGRESS)
		return fd;
	count_err(c, errno);
	close(fd);
	return -1;
}

static void print_counts(const char *mode, const struct counts *c, double secs)
{
	uint64_t total = c->ok + c->eperm + c->refused + c->other;

	printf("{\"mode\":\"%s\",\"ok\":%llu,\"eperm\":%llu,\"refused\":%llu,\"other\":%llu,"
	       "\"last_other_errno\":%d,\"seconds\":%.4f,\"ops_per_sec\":%.1f}\n",
	       mode, (unsigned long long)c->ok, (unsigned long long)c->eperm,
	       (unsigned long long)c->refused, (unsigned long long)c->other, c->last_other, secs,
	       total / secs);
}

static int cmd_tcp(const struct dest *d, size_t n, double seconds, int window)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), inflight = 0;
	struct epoll_event evs[256];
	struct counts c = {};
	size_t next = 0;
	double t0 = now_s(), end = t0 + seconds, t;

	if (window < 1 || window > 256)
		window = 16;
	for (;;) {
		t = now_s();
		if (t < end) {
			/* Connects refused at once (EPERM) never go in flight: at most one window
			 * of attempts per pass, so that the clock is looked at. */
			for (int tries = 0; tries < window && inflight < window; tries++) {
				int fd = start_connect(&d[next], &c);

				next = (next + 1) % n;
				if (fd >= 0) {
					struct epoll_event ev = { .events = EPOLLOUT,
								  .data.fd = fd };

					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
					inflight++;
				}
			}
			if (inflight == 0)
				continue;
		} else if (inflight == 0) {
			break;
		}
		int k = epoll_wait(ep, evs, 256, 1000);

		if (k < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < k; i++) {
			int fd = evs[i].data.fd, err = 0;
			socklen_t len = sizeof(err);

			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
			count_err(&c, err);
			close(fd); /* also leaves the epoll set */
			inflight--;
		}
		if (k == 0 && t >= end + 2)
			break; /* a lost SYN would wait for its retransmission: give up */
	}
	print_counts("tcp", &c, now_s() - t0);
	return 0;
}

/* --- udp --------------------------------------------------------------------------------- */

static int cmd_udp(const struct dest *d, size_t n, double seconds)
{
	int fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct counts c = {};
	size_t next = 0;
	double t0 = now_s(), end = t0 + seconds;
	static const char payload[16];

	if (fd4 < 0 || fd6 < 0)
		die("socket");
	do {
		for (int i = 0; i < 256; i++) {
			const struct dest *x = &d[next];

			next = (next + 1) % n;
			count_err(&c,
				  sendto(x->family == AF_INET ? fd4 : fd6, payload, sizeof(payload),
					 0, (const struct sockaddr *)&x->sa, x->len) < 0
					  ? errno
					  : 0);
		}
	} while (now_s() < end);
	print_counts("udp", &c, now_s() - t0);
	return 0;
}

/* --- mix --------------------------------------------------------------------------------- */

static int cmd_mix(const struct dest *d, size_t n, long repeat)
{
	int fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint64_t tcp = 0, udp = 0, mismatch = 0, denied = 0;
	struct counts c = {};
	static const char payload[8];
	double t0 = now_s();

	if (fd4 < 0 || fd6 < 0)
		die("socket");
	for (long r = 0; r < repeat; r++) {
		for (size_t i = 0; i < n; i++) {
			const struct dest *x = &d[i];
			int err = 0;

			if (x->tcp) {
				int fd = socket(x->family,
						SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
				struct linger lg = { .l_onoff = 1, .l_linger = 0 };

				if (fd < 0)
					die("socket");
				setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
				if (connect(fd, (const struct sockaddr *)&x->sa, x->len) < 0 &&
				    errno != EINPROGRESS)
					err = errno;
				close(fd);
				tcp++;
			} else {
				if (sendto(x->family == AF_INET ? fd4 : fd6, payload,
					   sizeof(payload), 0, (const struct sockaddr *)&x->sa,
					   x->len) < 0)
					err = errno;
				udp++;
			}
			count_err(&c, err);
			denied += err == EPERM;
			if ((err == EPERM) == x->expect)
				mismatch++;
		}
	}
	printf("{\"mode\":\"mix\",\"tcp\":%llu,\"udp\":%llu,\"denied\":%llu,\"mismatch\":%llu,"
	       "\"other\":%llu,\"last_other_errno\":%d,\"seconds\":%.4f}\n",
	       (unsigned long long)tcp, (unsigned long long)udp, (unsigned long long)denied,
	       (unsigned long long)mismatch, (unsigned long long)c.other, c.last_other,
	       now_s() - t0);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: nfload [--netns NAME] [--cgroup DIR] serve PORT\n"
			"       nfload [...] tcp DESTS PORT SECONDS WINDOW\n"
			"       nfload [...] udp DESTS PORT SECONDS\n"
			"       nfload [...] mix DESTS REPEAT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *netns = NULL, *cgroup = NULL;
	struct dest *d;
	size_t n;
	int i = 1;

	signal(SIGPIPE, SIG_IGN);
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--netns") == 0)
			netns = argv[i + 1];
		else if (strcmp(argv[i], "--cgroup") == 0)
			cgroup = argv[i + 1];
		else
			usage();
	}
	if (i >= argc)
		usage();
	enter(netns, cgroup);
	if (strcmp(argv[i], "serve") == 0 && argc - i == 2)
		cmd_serve(atoi(argv[i + 1]));
	if (strcmp(argv[i], "tcp") == 0 && argc - i == 5) {
		d = load_dests(argv[i + 1], atoi(argv[i + 2]), &n);
		return cmd_tcp(d, n, atof(argv[i + 3]), atoi(argv[i + 4]));
	}
	if (strcmp(argv[i], "udp") == 0 && argc - i == 4) {
		d = load_dests(argv[i + 1], atoi(argv[i + 2]), &n);
		return cmd_udp(d, n, atof(argv[i + 3]));
	}
	if (strcmp(argv[i], "mix") == 0 && argc - i == 3) {
		d = load_dests(argv[i + 1], 0, &n);
		return cmd_mix(d, n, atol(argv[i + 2]));
	}
	usage();
	return 2;
}
