// SPDX-License-Identifier: Apache-2.0
/*
 * nftime: time one whole process, for `make bench` (bench/run.sh builds it with cc -O2).
 *
 *   nftime STDIN_FILE COMMAND [ARG...]
 *
 * Runs COMMAND with STDIN_FILE on its standard input (/dev/null: none) and its output thrown
 * away, and prints "WALL_US MAXRSS_KB EXIT USER_US SYS_US" on one line: the wall-clock time from
 * just before fork() to the child's reaping, the child's peak resident set size, its exit status
 * (128+N for signal N), and the CPU time it spent in user space and in the kernel (getrusage
 * RUSAGE_CHILDREN, which covers the child and anything it waited for).
 * The command's standard error goes to nftime's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status, in, out;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: nftime STDIN_FILE COMMAND [ARG...]\n");
		return 2;
	}
	in = open(argv[1], O_RDONLY | O_CLOEXEC);
	out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (in < 0 || out < 0) {
		fprintf(stderr, "nftime: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("nftime: fork");
		return 2;
	}
	if (pid == 0) {
		dup2(in, 0);
		dup2(out, 1);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "nftime: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
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
	return 0;
}
