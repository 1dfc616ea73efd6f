/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command line: one table of commands, each naming the options it takes (bpftool's
 * do_<verb> model), from which main dispatches, options a command does not take are refused,
 * and `help COMMAND` and `COMMAND --help` are printed.
 */
#ifndef NETFENCE_CLI_H
#define NETFENCE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "fence.h"

/* Exit statuses (README, "Commands"). */
enum {
	NF_EXIT_OK = 0,
	NF_EXIT_FAIL = 1,
	NF_EXIT_USAGE = 2,
};

/* Options a command may take; --config, --bpffs-root, --state-dir and --help every one does. */
enum nf_cli_opt {
	NF_OPT_JSON = 1 << 0,
	NF_OPT_ID = 1 << 1,
	NF_OPT_CGROUP = 1 << 2,
	NF_OPT_POLICY = 1 << 3,
	NF_OPT_COUNT = 1 << 4,
	NF_OPT_TIMEOUT = 1 << 5,
	NF_OPT_SINCE = 1 << 6,
	NF_OPT_CONTAINER = 1 << 7,
	NF_OPT_VERDICT = 1 << 8,
	NF_OPT_LISTEN = 1 << 9,
	NF_OPT_ROOT = 1 << 10,
};

#define NF_CLI_CONTAINERS_MAX 64 /* monitor --container, repeated */

/* monitor --verdict */
enum {
	NF_VERDICT_DENIED = 1 << 0,
	NF_VERDICT_AUDITED = 1 << 1,
};

struct nf_cli {
	struct nf_config cfg; /* host config with --bpffs-root/--state-dir applied */
	struct nf_paths paths;
	const char *config_path; /* --config, NULL: the default */
	const char *bpffs_root;	 /* --bpffs-root */
	const char *state_dir;	 /* --state-dir */
	bool config_given;
	bool json;
	const char *id;	    /* --id */
	const char *cgroup; /* --cgroup */
	const char *policy; /* --policy */
	int count;	    /* monitor --count: stop after N events (0: never) */
	int timeout_ms;	    /* monitor --timeout */
	int64_t since_ns;   /* monitor --since: CLOCK_REALTIME ns, 0: every event */
	const char *containers[NF_CLI_CONTAINERS_MAX]; /* monitor --container */
	int ncontainers;
	unsigned int verdicts; /* monitor --verdict: NF_VERDICT_* mask, 0: both */
	const char *listen;    /* metrics --listen ADDR:PORT */
	int argc;	       /* positional arguments after the command */
	char **argv;
	const char *root; /* doctor --root: the host root prefix */
};

struct nf_command {
	const char *name;
	int (*run)(struct nf_cli *cli);
	const char *args;    /* what follows the name in its usage line */
	const char *summary; /* one line */
	unsigned int opts;   /* enum nf_cli_opt it takes */
	int min_args, max_args;
	bool needs_config; /* commands that act on fences read the host config */
};

/* What nf_cli_parse found: run the command, or print help or the version and exit 0. */
enum {
	NF_CLI_RUN = 0,
	NF_CLI_HELP = 1,
	NF_CLI_VERSION = 2,
};

/*
 * Parse argv into cli (zeroed by the caller but for cfg) and the command; NF_CLI_HELP sets
 * *ret_cmd to the command asked about, NULL for the general usage. -EINVAL with a one-line
 * message in err for a usage error. Uses getopt_long, from the start of argv.
 */
int nf_cli_parse(int argc, char **argv, struct nf_cli *cli, const struct nf_command **ret_cmd,
		 struct nf_err *err);
const struct nf_command *nf_cli_command(const char *name);
/* The general usage (cmd NULL), or one command's with the options it takes. */
void nf_cli_usage(FILE *f, const struct nf_command *cmd);

/*
 * monitor --since: a duration back from now_ns ("90s", "15m", "2h", "1d", "500ms") or a time,
 * RFC 3339 ("2026-01-02T03:04:05Z", fractions and "+01:00" offsets allowed); CLOCK_REALTIME ns.
 */
int nf_cli_parse_since(const char *s, int64_t now_ns, int64_t *ret);

int nf_cmd_hook(struct nf_cli *cli);
int nf_cmd_attach(struct nf_cli *cli);
int nf_cmd_detach(struct nf_cli *cli);
int nf_cmd_update(struct nf_cli *cli);
int nf_cmd_gc(struct nf_cli *cli);
int nf_cmd_list(struct nf_cli *cli);
int nf_cmd_show(struct nf_cli *cli);
int nf_cmd_metrics(struct nf_cli *cli);
int nf_cmd_monitor(struct nf_cli *cli);
int nf_cmd_policy(struct nf_cli *cli);
int nf_cmd_doctor(struct nf_cli *cli);

/*
 * The fence an operator names: the id itself when a fence (or unfenced record) has it, else the
 * one id it is a unique prefix of, else the argument as given. A prefix of several is an error
 * naming them (logged); an invalid id is a usage error (logged, -EINVAL).
 */
int nf_cli_resolve_id(const struct nf_cli *cli, const char *arg, char **ret);

/* Events per second per fence for the BPF programs: 0 disables them, the config's 0 is no limit. */
unsigned int nf_cli_events_rate(const struct nf_config *cfg);

/* Read a policy document from a file or "-" (stdin), bounded; message in err. */
int nf_cli_read_policy(const char *path, char **ret, size_t *ret_len, struct nf_err *err);

#endif
