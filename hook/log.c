// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "config.h"
#include "log.h"
#include "util.h"

enum target {
	TARGET_NONE,
	TARGET_JOURNAL,
	TARGET_SYSLOG,
	TARGET_FILE,
};

static bool log_system;
static enum target log_target;
static int log_fd = -1; /* the journal's socket, or the log file */
static int log_max = LOG_INFO;
static char log_id[1100];
static char log_cid[300];  /* the container id, for CONTAINER_ID= */
static char log_stage[32]; /* NETFENCE_STAGE= */
static char log_result[32];
static char log_last[2048];

static void target_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	if (log_target == TARGET_SYSLOG)
		closelog();
	log_target = TARGET_NONE;
}

/* The journal listens on path: a datagram socket connected to it. */
static int journal_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

void nf_log_targets(const char *journal_socket, const char *log_file)
{
	if (!log_system)
		return;
	target_close();
	log_fd = journal_connect(journal_socket);
	if (log_fd >= 0) {
		log_target = TARGET_JOURNAL;
	} else if (access("/dev/log", F_OK) == 0) {
		openlog("netfence", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_target = TARGET_SYSLOG;
	} else if (log_file) {
		log_fd = open(log_file,
			      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
			      0600);
		if (log_fd >= 0)
			log_target = TARGET_FILE;
	}
}

void nf_log_open(bool to_system)
{
	log_system = to_system;
	nf_log_targets(NF_DEFAULT_JOURNAL, NULL);
}

void nf_log_set_stage(const char *stage)
{
	snprintf(log_stage, sizeof(log_stage), "%s", stage ? stage : "");
}

void nf_log_set_result(const char *result)
{
	snprintf(log_result, sizeof(log_result), "%s", result ? result : "");
}

const char *nf_log_last_error(void)
{
	return log_last;
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

	log_cid[0] = '\0';
	if (!container_id) {
		log_id[0] = '\0';
	} else {
		snprintf(log_id, sizeof(log_id),
			 "container '%s': ", nf_escape_str(q, sizeof(q), container_id));
		nf_escape_str(log_cid, sizeof(log_cid), container_id);
	}
}

/* One field of the journal's native protocol; values hold no newline (messages are one line). */
static size_t field(char *buf, size_t size, size_t o, const char *key, const char *value)
{
	int n;

	if (!value || !*value || o >= size)
		return o;
	n = snprintf(buf + o, size - o, "%s=%s\n", key, value);
	return n < 0 || (size_t)n >= size - o ? o : o + (size_t)n;
}

static void to_journal(int level, const char *msg)
{
	char buf[4096], line[2200], prio[4];
	size_t o = 0;

	snprintf(line, sizeof(line), "%s%s", log_id, msg);
	snprintf(prio, sizeof(prio), "%d", level);
	o = field(buf, sizeof(buf), o, "MESSAGE", line);
	o = field(buf, sizeof(buf), o, "PRIORITY", prio);
	o = field(buf, sizeof(buf), o, "SYSLOG_IDENTIFIER", "netfence");
	o = field(buf, sizeof(buf), o, "CONTAINER_ID", log_cid);
	o = field(buf, sizeof(buf), o, "NETFENCE_STAGE", log_stage);
	o = field(buf, sizeof(buf), o, "NETFENCE_RESULT",
		  log_result[0]	     ? log_result
		  : level <= LOG_ERR ? "error"
				     : "");
	if (send(log_fd, buf, o, MSG_NOSIGNAL) < 0)
		syslog(level, "%s", line); /* journald gone since: syslog(3) goes nowhere worse */
}

/* A line of the log file: time, pid and the message. */
static void to_file(int level, const char *msg)
{
	static const char *const names[] = { "emerg",	"alert",  "crit", "error",
					     "warning", "notice", "info", "debug" };
	char line[2400], now[32];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%06ldZ netfence[%d]: %s: %s%s\n", now,
		     ts.tv_nsec / 1000, (int)getpid(), names[level & 7], log_id, msg);
	if (n > 0)
		(void)!write(log_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void to_system(int level, const char *msg)
{
	switch (log_target) {
	case TARGET_JOURNAL:
		to_journal(level, msg);
		break;
	case TARGET_SYSLOG:
		syslog(level, "%s%s", log_id, msg);
		break;
	case TARGET_FILE:
		to_file(level, msg);
		break;
	case TARGET_NONE:
		break;
	}
}

/* with_errno: ": <strerror(err)>" after the message. */
static void log_va(int level, int err, bool with_errno, const char *fmt, va_list ap)
{
	char msg[2048];
	int saved = errno;

	if (level <= log_max) {
		size_t n;

		vsnprintf(msg, sizeof(msg), fmt, ap);
		n = strlen(msg);
		if (with_errno && err && n < sizeof(msg) - 1)
			snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err));
		/* One line per event, whatever the message carried. */
		for (char *p = msg; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		if (level <= LOG_ERR)
			snprintf(log_last, sizeof(log_last), "%s", msg);
		to_system(level, msg);
		fprintf(stderr, "netfence: %s%s\n", log_id, msg);
	}
	errno = saved;
}

int nf_log_full(int level, int err, const char *fmt, ...)
{
	va_list ap;

	if (err < 0)
		err = -err;
	va_start(ap, fmt);
	log_va(level, err, true, fmt, ap);
	va_end(ap);
	return err ? -err : -EIO;
}

int nf_log_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(LOG_ERR, code, false, fmt, ap);
	va_end(ap);
	return code;
}

int nf_log_err(const struct nf_err *e)
{
	return nf_log_fail(e->code, "%s", e->msg);
}
