/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the libFuzzer targets share: the checks every parser's message must pass. A message is
 * one line for syslog and a runtime's error, so it must be non-empty, NUL-terminated inside its
 * buffer and free of control bytes (quoted values are escaped, docs/policy.md, "Errors"). A broken
 * contract aborts, which libFuzzer reports as a crash with the input that caused it.
 */
#ifndef NETFENCE_FUZZ_COMMON_H
#define NETFENCE_FUZZ_COMMON_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

__attribute__((noreturn, format(printf, 1, 2))) static void fuzz_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz: contract broken: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* e (pre-filled with 0xff by the caller) after a failure of what. */
static void fuzz_check_message(const char *what, int r, const struct nf_err *e)
{
	const char *err = e->msg, *nul = memchr(err, '\0', sizeof(e->msg));

	if (r >= 0)
		fuzz_die("%s: failure expected, got %d", what, r);
	if (e->code != r)
		fuzz_die("%s: returned %d, the error object says %d", what, r, e->code);
	if (!nul)
		fuzz_die("%s: message not NUL-terminated in its buffer (r=%d)", what, r);
	if (nul == err)
		fuzz_die("%s: empty message (r=%d)", what, r);
	for (const char *p = err; p < nul; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fuzz_die("%s: control byte 0x%02x at offset %zu of message '%s'", what,
				 (unsigned char)*p, (size_t)(p - err), err);
}

#endif
