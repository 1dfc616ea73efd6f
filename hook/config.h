/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host configuration, /etc/netfence/config.json (docs/configuration.md; the schema
 * is schemas/config.schema.json and accepts exactly what nf_config_parse() accepts).
 *
 *   {
 *     "bpffs_root": "/sys/fs/bpf/netfence",      absolute, no ".." component
 *     "state_dir": "/run/netfence",               likewise
 *     "policies_dir": "/etc/netfence/policies.d", likewise
 *     "default_policy": null,                     or a policy name: <policies_dir>/<name>.json
 *     "fail_mode": "closed",                      or "open": log the error and exit 0
 *     "log_level": "info",                        "error", "warning", "info" or "debug"
 *     "events": { "enabled": true, "rate_per_sec": 100 },
 *     "allow_removable_fence": false,
 *     "runtimes": { "runc": "/usr/sbin/runc" },   the runtime netfence-<name> wraps; default:
 *                                                   <name> in PATH, the wrapper skipped
 *     "floor": { "rules": [...], "raw_sockets": "deny" },   under every policy (floor.h)
 *     "fence_all": false,                         fence unannotated containers too, with
 *                                                   default_policy (which it requires)
 *     "journal_socket": "/run/systemd/journal/socket",   where the hook finds journald
 *     "log_file": null                            or a path: the hook's log where neither
 *   }                                               journald nor syslog listens
 *
 * Every field is optional; unknown fields are refused (a typo must not silently keep a
 * default), except "$schema", which editors use. Messages name the field by JSON pointer:
 *   /fail_mode: 'shut' is not one of 'closed', 'open'
 */
#ifndef NETFENCE_CONFIG_H
#define NETFENCE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "floor.h"

#define NF_CONFIG_PATH	     "/etc/netfence/config.json"
#define NF_CONFIG_MAX	     (64 * 1024) /* bytes of the config file */
#define NF_CONFIG_PATH_CHARS 512	 /* characters (not bytes) of a path setting */
#define NF_EVENTS_RATE_MAX   1000000	 /* events.rate_per_sec */
#define NF_RUNTIMES_MAX	     16		 /* entries of "runtimes" */

#define NF_DEFAULT_BPFFS_ROOT	"/sys/fs/bpf/netfence"
#define NF_DEFAULT_STATE_DIR	"/run/netfence"
#define NF_DEFAULT_POLICIES_DIR "/etc/netfence/policies.d"
#define NF_DEFAULT_EVENTS_RATE	100
#define NF_DEFAULT_JOURNAL	"/run/systemd/journal/socket"

enum nf_fail_mode {
	NF_FAIL_CLOSED = 0, /* exit non-zero: the runtime refuses to start the container */
	NF_FAIL_OPEN = 1,   /* log the error and exit 0 */
};

struct nf_config {
	char *bpffs_root;   /* pinned links and maps: <bpffs_root>/<container-id>/ */
	char *state_dir;    /* <state_dir>/<container-id>.json */
	char *policies_dir; /* <policies_dir>/<name>.json */
	/* Policy name for containers without a policy annotation; NULL: none. */
	char *default_policy;
	int fail_mode; /* enum nf_fail_mode */
	int log_level; /* a syslog priority: LOG_ERR, LOG_WARNING, LOG_INFO or LOG_DEBUG */
	bool events_enabled;
	unsigned int events_rate_per_sec; /* per container; 0: no limit */
	/*
	 * Fence containers that hold CAP_SYS_ADMIN, or CAP_BPF with CAP_NET_ADMIN, in the initial
	 * user namespace, although they could attach their own program and lift the fence.
	 */
	bool allow_removable_fence;
	/* "runtimes": the real runtime each wrapper (netfence-<name>) execs, by name. */
	struct nf_runtime_path {
		char *name;
		char *path;
	} runtimes[NF_RUNTIMES_MAX];
	size_t n_runtimes;
	struct nf_floor floor; /* deny rules every fence gets on top of its policy */
	/* The wrapper adds the hooks to every container, not only annotated ones. */
	bool fence_all;
	/* Where the hook logs besides stderr: the journal at journal_socket where it listens,
	 * else syslog where /dev/log exists, else log_file when set (NULL: none). */
	char *journal_socket;
	char *log_file;
};

/*
 * c must be zeroed or hold a config (from any of the functions below). On success its strings
 * are freed and replaced; on failure it is left as it was.
 */

/* Set c to the defaults. 0 or -ENOMEM. */
int nf_config_defaults(struct nf_config *c);

/*
 * Parse a config document of len bytes (at most NF_CONFIG_MAX, need not be NUL-terminated);
 * fields it does not set get their defaults. Returns 0, or -EINVAL, -EFBIG or -ENOMEM with a
 * message in err, e.g. "/fail_mode: 'shut' is not one of 'closed', 'open'".
 */
int nf_config_parse(const char *buf, size_t len, struct nf_config *c, struct nf_err *err);

/*
 * Read and parse the config file at path (NULL: NF_CONFIG_PATH), a regular file. A missing file
 * gives the defaults unless must_exist (for --config FILE); any other problem is an error. The
 * message does not name the file: the caller prefixes it ("config <path>: <message>").
 */
int nf_config_load(const char *path, bool must_exist, struct nf_config *c, struct nf_err *err);

/* Free c's strings and zero it. */
void nf_config_free(struct nf_config *c);

/* The path "runtimes" gives for name, or NULL. */
const char *nf_config_runtime(const struct nf_config *c, const char *name);

/* A policy name, [a-z0-9][a-z0-9._-]{0,62}: 0 or -EINVAL (also for NULL). */
int nf_policy_name_valid(const char *name);

#endif
