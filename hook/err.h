/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one error object: a negative errno and one line that says what went wrong, carried by
 * pointer from where it happens to the one place that logs it (log.h's nf_log_err()). Library
 * code fills it and returns its code; each caller on the way up may prefix where it was:
 *   r = nf_policy_parse(buf, len, &p, err);
 *   if (r < 0)
 *           return nf_err_prefix(err, "policy %s", nf_quote_str(q, path));
 * Messages follow one grammar (docs/design.md): a JSON value is named by its RFC 6901 pointer,
 * "(root)" for the document itself; "<pointer>: expected <type>, got <value>";
 * "invalid JSON at line L, column C: <reason>"; user values quoted by nf_quote_mem() (util.h).
 */
#ifndef NETFENCE_ERR_H
#define NETFENCE_ERR_H

#define NF_ERR_MAX 512

struct nf_err {
	int code; /* -errno; 0 while nothing failed */
	char msg[NF_ERR_MAX];
};

/* Set *e (when e is not NULL) to code (< 0) and the message; returns code. */
int nf_err_set(struct nf_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Put "<prefix>: " in front of e's message; returns e's code. */
int nf_err_prefix(struct nf_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* -ENOMEM, "out of memory". */
int nf_err_nomem(struct nf_err *e);

#endif
