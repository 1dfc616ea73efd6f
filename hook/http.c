// SPDX-License-Identifier: Apache-2.0
/* A one-request-at-a-time HTTP/1.0 server for GET /metrics: see http.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "caps.h"
#include "http.h"
#include "log.h"
#include "util.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int nf_http_parse_addr(const char *s, struct sockaddr_storage *ret, unsigned int *ret_len)
{
	char host[64], *end;
	const char *colon;
	unsigned long port;
	size_t len;

	memset(ret, 0, sizeof(*ret));
	colon = strrchr(s, ':');
	if (!colon || colon == s || !colon[1])
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port == 0 || port > 65535 || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	len = (size_t)(colon - s);
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ret;

		if (len < 3 || s[len - 1] != ']' || len - 2 >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, len - 2);
		host[len - 2] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*ret_len = sizeof(*a);
		return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ret;

	if (len >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, len);
	host[len] = '\0';
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	*ret_len = sizeof(*a);
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Send all of buf before the deadline; a slow reader is cut off. */
static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The request line and headers, up to the blank line; -E2BIG past NF_HTTP_REQUEST_MAX. */
static int read_request(int fd, char *buf, size_t size, int64_t deadline)
{
	size_t have = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		n = recv(fd, buf + have, size - 1 - have, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return 0;
		if (have == size - 1)
			return -E2BIG;
	}
}

static void answer(int fd, const char *status, const char *type, const char *body, size_t len,
		   int64_t deadline)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, type, len);

	if (send_all(fd, head, (size_t)n, deadline) == 0)
		send_all(fd, body, len, deadline);
}

static void serve_one(int fd, nf_http_body_fn body, void *ctx)
{
	int64_t deadline = now_ms() + NF_HTTP_TIMEOUT_MS;
	char req[NF_HTTP_REQUEST_MAX + 1], *text = NULL;
	size_t len = 0, target;
	FILE *f;
	int r;

	r = read_request(fd, req, sizeof(req), deadline);
	if (r == -E2BIG) {
		answer(fd, "431 Request Header Fields Too Large", "text/plain", "too large\n", 10,
		       deadline);
		return;
	}
	if (r < 0)
		return;
	if (strncmp(req, "GET ", 4) != 0) {
		answer(fd, "405 Method Not Allowed", "text/plain", "GET only\n", 9, deadline);
		return;
	}
	target = strcspn(req + 4, " ?\r\n");
	if (target != strlen("/metrics") || strncmp(req + 4, "/metrics", target) != 0) {
		answer(fd, "404 Not Found", "text/plain", "not found: GET /metrics\n", 24,
		       deadline);
		return;
	}
	f = open_memstream(&text, &len);
	if (!f)
		return;
	r = body(f, ctx);
	if (fclose(f) != 0)
		r = -ENOMEM;
	if (r < 0)
		answer(fd, "500 Internal Server Error", "text/plain", "error\n", 6, deadline);
	else
		answer(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", text, len,
		       deadline);
	free(text);
}

static int listen_on(const char *addr)
{
	struct sockaddr_storage sa;
	unsigned int salen = 0;
	int fd, one = 1;
	char q[NF_QUOTE_BUF];

	if (nf_http_parse_addr(addr, &sa, &salen) < 0)
		return nf_log_fail(-EINVAL,
				   "--listen: %s is not ADDR:PORT (127.0.0.1:9101, [::1]:9101)",
				   nf_quote_str(q, addr));
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return nf_log_error(-errno, "--listen: socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0 || listen(fd, 16) < 0) {
		int r = -errno;

		close(fd);
		return nf_log_error(r, "--listen: cannot listen on %s%s", nf_quote_str(q, addr),
				    r == -EACCES
					    ? " (a port below 1024 needs a capability netfence "
					      "does not keep)"
					    : "");
	}
	return fd;
}

int nf_http_serve_metrics(const char *addr, nf_http_body_fn body, void *ctx)
{
	struct nf_err err;
	int fd, r;

	/* Serving needs the counters alone: CAP_BPF stays, CAP_NET_ADMIN goes. */
	r = nf_caps_keep_bpf(&err);
	if (r < 0)
		return nf_log_err(&err);
	fd = listen_on(addr);
	if (fd < 0)
		return fd;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	nf_log_info("serving GET /metrics on %s", addr);
	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 500) <= 0)
			continue;
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve_one(c, body, ctx);
		close(c);
	}
	close(fd);
	return 0;
}
