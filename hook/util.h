/* SPDX-License-Identifier: Apache-2.0 */
/* Small I/O helpers shared by the modules: bounded reads of untrusted input, full writes. */
#ifndef NETFENCE_UTIL_H
#define NETFENCE_UTIL_H

#include <stddef.h>

/* Read all of fd, at most max bytes; -EFBIG when there is more. *ret is NUL-terminated. */
int nf_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
int nf_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
int nf_write_all(int fd, const void *buf, size_t len);

#endif
