// SPDX-License-Identifier: Apache-2.0
/*
 * nftime: time one whole process, for `make bench` (bench/run.sh builds it with cc -O2).
 *
 *   nftime STDIN_FILE COMMAND [ARG...]
 *
 * Runs COMMAND with the contents of STDIN_FILE on its standard input (/dev/null: none) and its
 * output thrown away, and prints "WALL_US MAXRSS_KB EXIT USER_US SYS_US" on one line: the
 * wall-clock time from just before fork() to the child's reaping, the child's peak resident set
 * size, its exit status (128+N for signal N), and the CPU time it spent in user space and in
 * the kernel (getrusage RUSAGE_CHILDREN, which covers the child and anything it waited for).
 * The command's standard error goes to nftime's.
 *
 * The input goes through a pipe that nftime writes while the command runs, as runc, crun and
 * Podman hand a hook the container's state: a pipe fills 64 KiB at a time, so a large state
 * costs the reader more than a regular file would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The whole of path, read before the clock starts. */
static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	*len = 0;
	while (buf && *len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + *len, (size_t)st.st_size - *len);

		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	return buf;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status, out, pfd[2];
	size_t len, off = 0;
	char *input;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: nftime STDIN_FILE COMMAND [ARG...]\n");
		return 2;
	}
	input = slurp(argv[1], &len);
	out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (!input || out < 0) {
		fprintf(stderr, "nftime: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	/* A command that exits without reading everything must not kill nftime. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		perror("nftime: pipe");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("nftime: fork");
		return 2;
	}
	if (pid == 0) {
		dup2(pfd[0], 0);
		dup2(out, 1);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "nftime: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	close(pfd[0]);
	while (off < len) {
		ssize_t n = write(pfd[1], input + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the command closed its input: what it read is its business */
		off += (size_t)n;
	}
	close(pfd[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("nftime: waitpid");
			return 2;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("%.1f %ld %d %ld %ld\n",
	       (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3, ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	       ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
	       ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec);
	free(input);
	return 0;
}
