/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one place netfence prints diagnostics. One line per event, container id first:
 * "netfence: container 'web-1': ...", to stderr (runc shows it in its error) and, for the hook,
 * which crun runs with its output discarded, to the first of: the journal (native protocol,
 * with CONTAINER_ID=, NETFENCE_STAGE=, NETFENCE_RESULT= fields), syslog (/dev/log), the host
 * config's log_file.
 */
#ifndef NETFENCE_LOG_H
#define NETFENCE_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "err.h"

/* to_system: besides stderr, to the journal, syslog or a file (nf_log_targets). */
void nf_log_open(bool to_system);
/* Pick the system target again with the host config's settings (either may be NULL). */
void nf_log_targets(const char *journal_socket, const char *log_file);
void nf_log_set_level(int max_level);	      /* LOG_ERR .. LOG_DEBUG */
int nf_log_level_parse(const char *s);	      /* "error", "warning", "info", "debug"; -EINVAL */
void nf_log_set_id(const char *container_id); /* NULL: no container prefix */
/* The journal's NETFENCE_STAGE= and NETFENCE_RESULT= of the lines that follow (NULL: none; the
 * result then says "error" for errors). */
void nf_log_set_stage(const char *stage);
void nf_log_set_result(const char *result);
/* The last error logged, without the container prefix ("" when none). */
const char *nf_log_last_error(void);

/* Log one line; returns -|err| (or -EIO when err is 0) so callers can `return nf_log_error(r,
 * ...)`. err is reported as ": <strerror>" when nonzero and the format does not already end with
 * %m. */
int nf_log_full(int level, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An error whose message says why by itself: logged as it is, returns code (< 0). */
int nf_log_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* e's message, logged as it is; returns e's code. */
int nf_log_err(const struct nf_err *e);

#define nf_log_error(err, ...)	 nf_log_full(LOG_ERR, (err), __VA_ARGS__)
#define nf_log_warning(err, ...) nf_log_full(LOG_WARNING, (err), __VA_ARGS__)
#define nf_log_info(...)	 nf_log_full(LOG_INFO, 0, __VA_ARGS__)
#define nf_log_debug(...)	 nf_log_full(LOG_DEBUG, 0, __VA_ARGS__)

#endif
