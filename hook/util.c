// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "util.h"

/* The most nf_read_fd() allocates for a pipe or socket before knowing its length. */
#define READ_HINT_MAX (4 * 1024 * 1024)

/*
 * The first buffer for fd: a regular file's size, so that one read() fills it and a second finds
 * the end; a pipe's (the state on stdin) as much as max allows, up to READ_HINT_MAX. Doubling
 * from 4 KiB took nine reallocations of a 1 MB state. A buffer that large comes from mmap(), and
 * the pages a short input leaves untouched are never faulted in. Files of /proc say 0 and grow
 * from 4 KiB as before.
 */
static size_t read_hint(int fd, size_t max)
{
	struct stat st;
	size_t hint = 4096;

	if (fstat(fd, &st) == 0) {
		if (S_ISREG(st.st_mode) && st.st_size > 0)
			hint = (size_t)st.st_size + 1; /* room to see the end without growing */
		else if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
			hint = READ_HINT_MAX;
	}
	/* Never more than max + 1: one byte over the limit is enough to say -EFBIG. */
	return hint <= max ? hint : max + 1;
}

/*
 * Read fd into a buffer of cap bytes to begin with, doubled as needed, at most max bytes
 * (-EFBIG past them); with stop, only until stop first appears, which *ret_stop then points at
 * (NULL when it never does). *ret is NUL-terminated.
 */
static int read_until(int fd, size_t max, size_t cap, const char *stop, char **ret, size_t *ret_len,
		      char **ret_stop)
{
	size_t len = 0, slen = stop ? strlen(stop) : 0;
	char *buf = malloc(cap + 1), *found = NULL;

	if (!buf)
		return -ENOMEM;
	while (!found) {
		size_t from = len >= slen ? len - slen + 1 : 0;
		ssize_t n;

		if (len == cap) {
			char *grown;

			if (cap > max) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			grown = realloc(buf, cap + 1);
			if (!grown) {
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			free(buf);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(buf);
			return -EFBIG;
		}
		if (stop)
			found = memmem(buf + from, len - from, stop, slen);
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	if (ret_stop)
		*ret_stop = found;
	return 0;
}

int nf_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	return read_until(fd, max, read_hint(fd, max), NULL, ret, ret_len, NULL);
}

/* Small reads first: what comes after stop is meant to stay unread. */
int nf_read_fd_until(int fd, size_t max, const char *stop, char **ret, size_t *ret_len,
		     char **ret_stop)
{
	return read_until(fd, max, max < 4096 ? max + 1 : 4096, stop, ret, ret_len, ret_stop);
}

int nf_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int r;

	if (fd < 0)
		return -errno;
	r = nf_read_fd(fd, max, ret, ret_len);
	close(fd);
	return r;
}

/* O_NONBLOCK so that a FIFO in place of the file cannot hang us before fstat() refuses it. */
int nf_read_regular_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	else
		r = nf_read_fd(fd, max, ret, ret_len);
	close(fd);
	return r;
}

int nf_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void nf_escape_byte(char *buf, size_t *o, unsigned char ch, bool quoting)
{
	if (quoting && (ch == '\'' || ch == '\\')) {
		buf[(*o)++] = '\\';
		buf[(*o)++] = ch;
	} else if (ch == '\n') {
		*o += sprintf(buf + *o, "\\n");
	} else if (ch == '\t') {
		*o += sprintf(buf + *o, "\\t");
	} else if (ch < 0x20 || ch >= 0x7f) {
		*o += sprintf(buf + *o, "\\x%02x", ch);
	} else {
		buf[(*o)++] = ch;
	}
}

const char *nf_quote_mem(char buf[static NF_QUOTE_BUF], const char *s, size_t len)
{
	size_t i, o = 0;

	buf[o++] = '\'';
	for (i = 0; i < len && o <= NF_QUOTE_MAX; i++)
		nf_escape_byte(buf, &o, s[i], true);
	buf[o++] = '\'';
	buf[o] = '\0';
	if (i < len)
		snprintf(buf + o, NF_QUOTE_BUF - o, "... (%zu bytes)", len);
	return buf;
}

const char *nf_quote_str(char buf[static NF_QUOTE_BUF], const char *s)
{
	return nf_quote_mem(buf, s, strlen(s));
}

int nf_strv_push(char ***v, size_t *n, size_t *cap, char *s)
{
	if (!s)
		return -ENOMEM;
	if (*n == *cap) {
		size_t grown_cap = *cap ? *cap * 2 : 16;
		char **grown = realloc(*v, grown_cap * sizeof(**v));

		if (!grown) {
			free(s);
			return -ENOMEM;
		}
		*v = grown;
		*cap = grown_cap;
	}
	(*v)[(*n)++] = s;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void nf_strv_sort(char **v, size_t n)
{
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
}

void nf_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int nf_ptrace_scope(const char *root)
{
	char path[PATH_MAX];
	FILE *f;
	int scope = 0;

	snprintf(path, sizeof(path), "%s/proc/sys/kernel/yama/ptrace_scope", root ? root : "");
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%d", &scope) != 1)
		scope = 0;
	fclose(f);
	return scope;
}
