// SPDX-License-Identifier: Apache-2.0
/* The one error object: see err.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int nf_err_set(struct nf_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int nf_err_prefix(struct nf_err *e, const char *fmt, ...)
{
	char msg[NF_ERR_MAX];
	va_list ap;
	int n;

	if (!e)
		return -EINVAL;
	memcpy(msg, e->msg, sizeof(msg));
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	/* A message longer than the buffer is cut: what it says first matters most. */
	if (n >= 0 && (size_t)n < sizeof(e->msg) &&
	    snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", msg) < 0)
		e->msg[n] = '\0';
	return e->code;
}

int nf_err_nomem(struct nf_err *e)
{
	return nf_err_set(e, -ENOMEM, "out of memory");
}
