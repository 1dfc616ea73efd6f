// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "caps.h"
#include "seed.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#define LOOPBACK_IFINDEX 1 /* the loopback device of every network namespace */

size_t nf_seed_names(const struct nf_policy *p, const char **names, size_t max, size_t *ret_more,
		     size_t *ret_wild)
{
	size_t n = 0, more = 0, wild = 0;

	for (size_t i = 0; i < p->nrules; i++) {
		const char *h = p->rules[i].host;
		bool seen = false;

		if (!h || p->rules[i].action != NF_ACTION_ALLOW)
			continue;
		if (h[0] == '*') {
			wild++;
			continue;
		}
		for (size_t j = 0; j < n && !seen; j++)
			seen = strcmp(names[j], h) == 0;
		for (size_t j = 0; j < i && !seen && n == max; j++)
			seen = p->rules[j].host && strcmp(p->rules[j].host, h) == 0;
		if (seen)
			continue;
		if (n < max)
			names[n++] = h;
		else
			more++;
	}
	*ret_more = more;
	*ret_wild = wild;
	return n;
}

int nf_seed_entry(const struct nf_compiled *c, const char *name, const uint8_t addr[16], bool aaaa,
		  uint32_t ttl, uint64_t now_ns, uint64_t cgroup_id, uint64_t netns,
		  struct nf_learned_entry *ret)
{
	if (!nf_dns_learnable(addr, aaaa))
		return -EPERM;
	memset(ret, 0, sizeof(*ret));
	if (nf_compiled_host_ports(c, name, ret->portset) < 0)
		return -ENOENT;
	ret->cgroup_id = cgroup_id;
	ret->netns = netns;
	memcpy(ret->addr, addr, 16);
	ret->expires_ns = now_ns + (uint64_t)nf_dns_clamp_ttl(ttl) * 1000000000ULL;
	ret->name = name;
	return 0;
}

int nf_seed_cgroup_pids(const char *dir, pid_t *pids, size_t max, size_t *ret_n)
{
	char path[4096], buf[4096];
	size_t n = 0;
	ssize_t len;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	/* a last line cut by the buffer is left out */
	for (char *s = buf, *nl; n < max && (nl = strchr(s, '\n')); s = nl + 1) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == nl && v > 0 && v <= INT32_MAX)
			pids[n++] = (pid_t)v;
	}
	*ret_n = n;
	return 0;
}

/* ---- the child: in the container's namespace, without capabilities ------------------------ */

/* What the child reports through the pipe: this head, a status per name, the records. */
struct seed_head {
	int32_t err; /* 0, or why nothing was looked up: then why says it */
	char why[200];
	uint64_t netns;
	uint32_t nrec;
	uint32_t loopback; /* datagrams ignored: they came in over loopback */
	int32_t res_err[NF_POLICY_MAX_RESOLVERS]; /* why a resolver could not be asked */
};

enum { NAME_PENDING = 0, NAME_ANSWERED = 1, NAME_REFUSED = 2 };

struct seed_rec {
	uint16_t name;
	uint8_t aaaa;
	uint8_t pad;
	uint32_t ttl;
	uint8_t addr[16];
};

#define RECS_MAX (NF_SEED_NAMES_MAX * 2 * NF_SEED_ADDRS_MAX)

struct query {
	uint16_t name, type, id;
	bool done;
};

struct child {
	const struct nf_seed_request *req;
	const char **names;
	size_t nnames;
	struct query q[NF_SEED_NAMES_MAX * 2];
	size_t nq;
	uint8_t status[NF_SEED_NAMES_MAX];
	int sock[NF_POLICY_MAX_RESOLVERS];
	size_t round; /* resolvers asked so far */
	struct seed_head head;
	struct seed_rec rec[RECS_MAX];
};

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static int fail(struct child *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct child *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->head.why, sizeof(c->head.why), fmt, ap);
	va_end(ap);
	c->head.err = err < 0 ? err : -EIO;
	return c->head.err;
}

/*
 * Into the namespace the processes share: with the standby capabilities for as long as it takes
 * to open their namespaces (CAP_SYS_PTRACE: they may hold capabilities the hook does not) and
 * to enter one (CAP_SYS_ADMIN); then none at all.
 */
static int enter(struct child *c)
{
	const struct nf_seed_request *req = c->req;
	struct stat first = {}, st;
	int fd = -1, r;
	size_t found = 0;

	if (req->npids == 0)
		return fail(c, -ESRCH, "no process in the cgroup to take a network namespace from");
	r = nf_caps_raise_standby();
	if (r < 0)
		return fail(c, r,
			    "cannot enter the container's network namespace without "
			    "CAP_SYS_ADMIN and CAP_SYS_PTRACE");
	for (size_t i = 0; i < req->npids; i++) {
		char path[64];
		int nfd;

		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)req->pids[i]);
		nfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nfd < 0 && (errno == ENOENT || errno == ESRCH))
			continue; /* gone since */
		if (nfd < 0 || fstat(nfd, &st) < 0) {
			r = -errno;
			if (nfd >= 0)
				close(nfd);
			if (fd >= 0)
				close(fd);
			return fail(c, r, "cannot open the network namespace of pid %d: %s",
				    (int)req->pids[i], strerror(-r));
		}
		if (found++ == 0) {
			fd = nfd;
			first = st;
			continue;
		}
		close(nfd);
		if (st.st_ino != first.st_ino || st.st_dev != first.st_dev) {
			close(fd);
			return fail(
				c, -EEXIST,
				"the cgroup's processes are in more than one network namespace");
		}
	}
	if (fd < 0)
		return fail(c, -ESRCH, "no process in the cgroup to take a network namespace from");
	r = setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
	close(fd);
	if (r == 0)
		r = nf_caps_clear();
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	return r < 0 ? fail(c, r, "cannot enter the container's network namespace: %s",
			    strerror(-r))
		     : 0;
}

static void resolver_addr(const struct nf_prefix *p, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (p->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(NF_DNS_PORT);
		memcpy(&sin->sin_addr, p->addr, 4);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(NF_DNS_PORT);
		memcpy(&sin6->sin6_addr, p->addr, 16);
		*len = sizeof(*sin6);
	}
}

/*
 * A socket filter that cuts a datagram which came in over the loopback device to its UDP header
 * (an empty datagram: no answer), reading the device as the kernel's parser does (skb->dev).
 * IP_PKTINFO and IPV6_PKTINFO would name the device of the local address it was sent to
 * instead, and a process without any capability sends from the resolver's IPv6 address to the
 * seeder's over loopback (IPV6_FREEBIND).
 */
static int filter_loopback(int fd)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_IFINDEX),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LOOPBACK_IFINDEX, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* A UDP socket connect()ed to resolver i, on which a datagram over loopback arrives empty. */
static int open_resolver(const struct nf_prefix *p)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, r;

	resolver_addr(p, &ss, &len);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	r = filter_loopback(fd);
	if (r == 0)
		r = connect(fd, (struct sockaddr *)&ss, len);
	if (r < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* The next resolver gets every query not answered yet. */
static void next_round(struct child *c)
{
	const struct nf_policy *p = c->req->policy;

	while (c->round < p->nresolvers) {
		size_t i = c->round++;
		int fd = open_resolver(&p->resolvers[i]);

		if (fd < 0) {
			c->head.res_err[i] = fd;
			continue;
		}
		c->sock[i] = fd;
		for (size_t k = 0; k < c->nq; k++) {
			uint8_t b[NF_DNS_QUERY_MAX];
			int n;

			if (c->q[k].done)
				continue;
			n = nf_dns_query(b, sizeof(b), c->q[k].id, c->names[c->q[k].name],
					 c->q[k].type);
			if (n > 0 && send(fd, b, (size_t)n, 0) < 0 && !c->head.res_err[i])
				c->head.res_err[i] = -errno;
		}
		return;
	}
}

static void take_answer(struct child *c, const uint8_t *b, size_t n)
{
	static const uint8_t v4_prefix[12] = { [10] = 0xff, [11] = 0xff };
	struct nf_dns_addr a[NF_SEED_ADDRS_MAX];

	for (size_t k = 0; k < c->nq; k++) {
		struct query *q = &c->q[k];
		size_t got = 0;
		int r;

		if (q->done)
			continue;
		r = nf_dns_answer(b, n, q->id, c->names[q->name], q->type, a, NF_SEED_ADDRS_MAX,
				  &got);
		if (r == -ENOMSG)
			continue;
		q->done = true;
		if (r < 0) {
			if (c->status[q->name] == NAME_PENDING)
				c->status[q->name] = NAME_REFUSED;
			return;
		}
		c->status[q->name] = NAME_ANSWERED;
		for (size_t i = 0; i < got && c->head.nrec < RECS_MAX; i++) {
			struct seed_rec *rec = &c->rec[c->head.nrec++];

			rec->name = q->name;
			/* the parser gives no IPv4-mapped address from an AAAA record */
			rec->aaaa = memcmp(a[i].addr, v4_prefix, 12) != 0;
			rec->ttl = a[i].ttl;
			memcpy(rec->addr, a[i].addr, 16);
		}
		return;
	}
}

/* Every datagram waiting on resolver i's socket. */
static void read_resolver(struct child *c, size_t i)
{
	for (;;) {
		uint8_t b[NF_DNS_BYTES + 512];
		struct iovec iov = { b, sizeof(b) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(c->sock[i], &m, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				c->head.res_err[i] = -errno; /* refused: the next one now */
				close(c->sock[i]);
				c->sock[i] = -1;
				if (i + 1 == c->round)
					next_round(c);
			}
			return;
		}
		/* Anything in the namespace can send over loopback as the resolver (IPv6: with
		 * IPV6_FREEBIND): filter_loopback left it empty, never an answer. */
		if (n == 0) {
			c->head.loopback++;
			continue;
		}
		take_answer(c, b, (size_t)n);
	}
}

static bool pending(const struct child *c)
{
	for (size_t k = 0; k < c->nq; k++)
		if (!c->q[k].done)
			return true;
	return false;
}

static void ask(struct child *c, uint64_t start)
{
	uint64_t deadline = start + c->req->budget_ms, next = start + NF_SEED_STEP_MS;

	next_round(c);
	while (pending(c)) {
		struct pollfd pfd[NF_POLICY_MAX_RESOLVERS];
		size_t idx[NF_POLICY_MAX_RESOLVERS], np = 0;
		uint64_t now = mono_ms(), until = next < deadline ? next : deadline;

		if (now >= deadline)
			return;
		if (now >= next) {
			next_round(c);
			next = now + NF_SEED_STEP_MS;
			continue;
		}
		for (size_t i = 0; i < c->round; i++)
			if (c->sock[i] >= 0) {
				pfd[np] = (struct pollfd){ .fd = c->sock[i], .events = POLLIN };
				idx[np++] = i;
			}
		if (np == 0 && c->round >= c->req->policy->nresolvers)
			return;
		if (poll(pfd, np, (int)(until - now)) < 0 && errno != EINTR)
			return;
		for (size_t k = 0; k < np; k++)
			if (pfd[k].revents)
				read_resolver(c, idx[k]);
	}
}

static uint64_t netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
		cookie = 0;
	if (fd >= 0)
		close(fd);
	return cookie;
}

static void write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

static void child_report(struct child *c, int out)
{
	write_all(out, &c->head, sizeof(c->head));
	write_all(out, c->status, c->nnames);
	write_all(out, c->rec, c->head.nrec * sizeof(c->rec[0]));
}

/* Only the pipe stays open, and /dev/null on 0-2: no child holds the hook's output. */
static int child_fds(int out)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	for (int fd = 0; fd < 3; fd++)
		if (null >= 0 && fd != out)
			dup2(null, fd);
	if (out < 3)
		return -EBADF;
	syscall(SYS_close_range, 3U, (unsigned)out - 1, 0U);
	syscall(SYS_close_range, (unsigned)out + 1, ~0U, 0U);
	return 0;
}

/*
 * The system calls the child makes once in the namespace, and no other (EPERM): without a
 * capability it is still uid 0, the owner of the host's files, so a flaw in reading the answers
 * must not reach open() or anything like it, such as an AF_UNIX socket connecting to the
 * container engine's: socket() for IPv4 and IPv6 only (the domain's low 32 bits: an int).
 */
#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SECCOMP_ARG0_LOW offsetof(struct seccomp_data, args[0])
#else
#define SECCOMP_ARG0_LOW (offsetof(struct seccomp_data, args[0]) + 4)
#endif

#define ALLOW(nr)                                        \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

int nf_seed_sandbox(void)
{
#ifdef SECCOMP_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SECCOMP_ARG0_LOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		ALLOW(__NR_setsockopt),
		ALLOW(__NR_getsockopt),
		ALLOW(__NR_connect),
		ALLOW(__NR_sendto),
		ALLOW(__NR_recvmsg),
		ALLOW(__NR_ppoll),
#ifdef __NR_poll
		ALLOW(__NR_poll),
#endif
		ALLOW(__NR_write),
		ALLOW(__NR_close),
		ALLOW(__NR_clock_gettime),
		ALLOW(__NR_brk),
		ALLOW(__NR_mmap),
		ALLOW(__NR_munmap),
		ALLOW(__NR_rt_sigreturn),
		ALLOW(__NR_restart_syscall),
		ALLOW(__NR_exit),
		ALLOW(__NR_exit_group),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return -errno;
#endif
	return 0;
}

static __attribute__((noreturn)) void child_main(struct child *c, int out)
{
	uint64_t start = mono_ms();

	signal(SIGPIPE, SIG_IGN);
	/* Not traceable by a process of its uid while it holds the standby capabilities. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (child_fds(out) == 0 && enter(c) == 0) {
		int r = nf_seed_sandbox();

		c->head.netns = r < 0 ? 0 : netns_cookie();
		if (r < 0)
			fail(c, r, "cannot confine the lookup (seccomp): %s", strerror(-r));
		else if (!c->head.netns)
			fail(c, -ENOTSUP,
			     "cannot read the network namespace's cookie (SO_NETNS_COOKIE)");
		else
			ask(c, start);
	}
	child_report(c, out);
	_exit(0);
}

/* ---- the parent ----------------------------------------------------------------------------- */

static int read_all(int fd, void *p, size_t n, uint64_t deadline)
{
	uint8_t *b = p;

	while (n > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = mono_ms();
		ssize_t got;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return -errno;
		got = read(fd, b, n);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EPIPE;
		b += got;
		n -= (size_t)got;
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* The child's records into the map, each checked again: the child read untrusted bytes. */
static size_t write_entries(const struct nf_seed_request *req, const struct child *c,
			    uint64_t asked_ns, bool *has_addr)
{
	size_t n = 0;

	for (uint32_t i = 0; i < c->head.nrec && i < RECS_MAX; i++) {
		const struct seed_rec *rec = &c->rec[i];
		struct nf_learned_entry e;

		if (rec->name >= c->nnames ||
		    nf_seed_entry(req->compiled, c->names[rec->name], rec->addr, rec->aaaa,
				  rec->ttl, asked_ns, req->cgroup_id, c->head.netns, &e) < 0)
			continue;
		if (nf_loader_learn(req->maps, &e) == 0) {
			has_addr[rec->name] = true;
			n++;
		}
	}
	return n;
}

/* Append to res->why what fits of the formatted text; false when it did not all fit. */
static bool append(struct nf_seed_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool append(struct nf_seed_result *res, const char *fmt, ...)
{
	size_t len = strlen(res->why);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(res->why + len, sizeof(res->why) - len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(res->why) - len)
		return true;
	res->why[len] = '\0'; /* nothing cut in half */
	return false;
}

/* res->why: the names left and why each, answers ignored, resolvers that could not be asked. */
static void explain(struct nf_seed_result *res, const struct child *c, const bool *has_addr)
{
	const struct nf_policy *p = c->req->policy;
	size_t listed = 0, left = 0;

	for (size_t i = 0; i < c->nnames; i++) {
		const char *why = c->status[i] == NAME_PENDING	 ? "no answer"
				  : c->status[i] == NAME_REFUSED ? "an error answer"
								 : "no address it may learn";

		if (has_addr[i])
			continue;
		/* room kept for the count of the rest */
		if (strlen(res->why) < sizeof(res->why) - 160 &&
		    append(res, "%s'%s' (%s)", listed ? ", " : "", c->names[i], why))
			listed++;
		else
			left++;
	}
	if (listed + left == 0)
		return;
	if (left)
		append(res, "%s%zu more", listed ? " and " : "", left);
	if (c->head.loopback)
		append(res, "; %u answers over loopback ignored", c->head.loopback);
	for (size_t i = 0; i < p->nresolvers && i < NF_POLICY_MAX_RESOLVERS; i++) {
		char addr[INET6_ADDRSTRLEN] = "?";

		if (c->head.res_err[i] >= 0)
			continue;
		inet_ntop(p->resolvers[i].family == 4 ? AF_INET : AF_INET6, p->resolvers[i].addr,
			  addr, sizeof(addr));
		append(res, "; resolver %s: %s", addr, strerror(-c->head.res_err[i]));
	}
}

static void child_init(struct child *c, const struct nf_seed_request *req, const char **names,
		       size_t n)
{
	uint16_t ids[NF_SEED_NAMES_MAX * 2];

	memset(c, 0, offsetof(struct child, rec));
	c->req = req;
	c->names = names;
	c->nnames = n;
	for (size_t i = 0; i < NF_POLICY_MAX_RESOLVERS; i++)
		c->sock[i] = -1;
	if (getrandom(ids, sizeof(ids), 0) != sizeof(ids))
		for (size_t i = 0; i < 2 * n; i++)
			ids[i] = (uint16_t)(rand() ^ (int)i);
	for (size_t i = 0; i < 2 * n; i++) {
		/* distinct ids: an answer is matched to its query by id first */
		for (size_t j = 0; j < i; j++)
			if (ids[j] == ids[i]) {
				ids[i]++;
				j = (size_t)-1;
			}
		c->q[i] = (struct query){ .name = (uint16_t)(i / 2),
					  .type = i % 2 ? NF_DNS_TYPE_AAAA : NF_DNS_TYPE_A,
					  .id = ids[i] };
	}
	c->nq = 2 * n;
}

/* Fork the child, take its report (waiting budget + 1 s at most), reap it. */
static int run_child(struct child *c, struct nf_seed_result *res)
{
	int pfd[2], r, status;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_main(c, pfd[1]);
	}
	close(pfd[1]);
	nf_caps_drop_standby();
	uint64_t deadline = mono_ms() + c->req->budget_ms + 1000;
	r = read_all(pfd[0], &c->head, sizeof(c->head), deadline);
	if (r == 0)
		r = read_all(pfd[0], c->status, c->nnames, deadline);
	if (r == 0 && c->head.err == 0 && c->head.nrec > RECS_MAX)
		r = -EPROTO;
	if (r == 0 && c->head.err == 0)
		r = read_all(pfd[0], c->rec, c->head.nrec * sizeof(c->rec[0]), deadline);
	close(pfd[0]);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		snprintf(res->why, sizeof(res->why), "the lookup did not report: %s", strerror(-r));
	return r;
}

void nf_seed_run(const struct nf_seed_request *req, struct nf_seed_result *res)
{
	static struct child c; /* about 40 KiB of records: not on the stack */
	const char *names[NF_SEED_NAMES_MAX];
	bool has_addr[NF_SEED_NAMES_MAX] = { false };
	uint64_t start = mono_ms(), asked_ns = mono_ns();
	size_t n;

	memset(res, 0, sizeof(*res));
	n = nf_seed_names(req->policy, names, NF_SEED_NAMES_MAX, &res->more, &res->wild);
	res->names = n;
	if (n == 0) {
		nf_caps_drop_standby();
		return;
	}
	child_init(&c, req, names, n);
	if (run_child(&c, res) == 0) {
		if (c.head.err < 0) {
			c.head.why[sizeof(c.head.why) - 1] = '\0';
			snprintf(res->why, sizeof(res->why), "%s", c.head.why);
		} else {
			res->addresses = write_entries(req, &c, asked_ns, has_addr);
			for (size_t i = 0; i < n; i++)
				res->seeded += has_addr[i];
			explain(res, &c, has_addr);
		}
	}
	res->ms = (unsigned int)(mono_ms() - start);
	nf_caps_drop_standby(); /* done after the fork already, unless there was none */
}
