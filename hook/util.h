/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by the modules: bounded reads of untrusted input, full writes, quoting
 * of untrusted values for messages, sorted lists of strings. */
#ifndef NETFENCE_UTIL_H
#define NETFENCE_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#define NF_QUOTE_MAX 128		 /* characters of a quoted value shown in a message */
#define NF_QUOTE_BUF (NF_QUOTE_MAX + 48) /* and the quotes, last escape, length note */

/* Read all of fd, at most max bytes; -EFBIG when there is more. *ret is NUL-terminated. */
int nf_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
/* The same, but only until the string stop first appears in what is read, which *ret_stop then
 * points at (NULL when it never does); the rest of fd is left unread, give or take a few KiB. */
int nf_read_fd_until(int fd, size_t max, const char *stop, char **ret, size_t *ret_len,
		     char **ret_stop);
int nf_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* nf_read_file() of a regular file only: -EISDIR for a directory, -EINVAL for anything else
 * (a FIFO in its place cannot hang the caller). */
int nf_read_regular_file(const char *path, size_t max, char **ret, size_t *ret_len);
int nf_write_all(int fd, const void *buf, size_t len);
/* kernel.yama.ptrace_scope under root (NULL: the host's): 0 classic ptrace (also without Yama,
 * or unreadable), 1 descendants only, 2 CAP_SYS_PTRACE only, 3 none. */
int nf_ptrace_scope(const char *root);

/* Append byte ch to buf at *o, escaped unless printable ASCII (and, when quoting, the quote and
 * backslash too): \n, \t or \xNN. buf has room for 4 more bytes. */
void nf_escape_byte(char *buf, size_t *o, unsigned char ch, bool quoting);

/* The len bytes of s as 'value' for a message, escaped with nf_escape_byte(); cut once the
 * escaped text passes NF_QUOTE_MAX characters, and then followed by the value's length. Unlike
 * nf_quote() (log.h) the quotes are part of the result. Both return buf. */
const char *nf_quote_mem(char buf[static NF_QUOTE_BUF], const char *s, size_t len);
const char *nf_quote_str(char buf[static NF_QUOTE_BUF], const char *s);

/* A growable array of owned strings: v[0..*n), room for *cap. nf_strv_push() takes s (and
 * frees it on failure; a NULL s is -ENOMEM, so a failed strdup() can be passed straight in). */
int nf_strv_push(char ***v, size_t *n, size_t *cap, char *s);
void nf_strv_sort(char **v, size_t n);
void nf_strv_free(char **v, size_t n);

#endif
