// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static bool log_syslog;
static int log_max = LOG_INFO;
static char log_id[1100];

void nf_log_open(bool to_syslog)
{
	log_syslog = to_syslog;
	if (to_syslog)
		openlog("netfence", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void nf_log_set_level(int max_level)
{
	log_max = max_level;
}

int nf_log_level_parse(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", LOG_ERR },
		{ "warning", LOG_WARNING },
		{ "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(s, levels[i].name) == 0)
			return levels[i].level;
	return -EINVAL;
}

void nf_log_set_id(const char *container_id)
{
	char q[1100];

	if (!container_id)
		log_id[0] = '\0';
	else
		snprintf(log_id, sizeof(log_id),
			 "container '%s': ", nf_quote(container_id, q, sizeof(q)));
}

const char *nf_quote(const char *s, char *buf, size_t size)
{
	size_t o = 0, limit = size > 8 ? size - 8 : 0;

	if (!s)
		s = "(null)";
	for (; *s && o < limit; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			buf[o++] = (char)c;
		} else {
			if (o + 4 >= limit)
				break;
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		}
	}
	if (*s && size >= 4)
		o += (size_t)snprintf(buf + o, size - o, "...");
	if (size)
		buf[o < size ? o : size - 1] = '\0';
	return buf;
}

int nf_log_full(int level, int err, const char *fmt, ...)
{
	char msg[2048];
	int saved = errno;
	va_list ap;

	if (err < 0)
		err = -err;
	if (level <= log_max) {
		size_t n;

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		n = strlen(msg);
		if (err && n < sizeof(msg) - 1)
			snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err));
		/* One line per event, whatever the message carried. */
		for (char *p = msg; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		if (log_syslog)
			syslog(level, "%s%s", log_id, msg);
		fprintf(stderr, "netfence: %s%s\n", log_id, msg);
	}
	errno = saved;
	return err ? -err : -EIO;
}
