/* SPDX-License-Identifier: Apache-2.0 */
/* What every subcommand receives from main: parsed options, host config, resolved paths. */
#ifndef NETFENCE_CLI_H
#define NETFENCE_CLI_H

#include <stdbool.h>

#include "config.h"
#include "fence.h"

/* Exit statuses (README, "Commands"). */
enum {
	NF_EXIT_OK = 0,
	NF_EXIT_FAIL = 1,
	NF_EXIT_USAGE = 2,
};

struct nf_cli {
	struct nf_config cfg; /* host config with --bpffs-root/--state-dir applied */
	struct nf_paths paths;
	bool config_given;
	bool json;
	const char *id;	    /* --id */
	const char *cgroup; /* --cgroup */
	const char *policy; /* --policy */
	int count;	    /* monitor --count: stop after N events (0: never) */
	int timeout_ms;	    /* monitor --timeout */
	int argc;	    /* positional arguments after the command */
	char **argv;

	/* doctor: the host root prefix (--root), and --config and --bpffs-root as given. */
	const char *root;
	const char *config_path;
	const char *bpffs_root;
};

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

/* Events per second per fence for the BPF programs: 0 disables them, the config's 0 is no limit. */
unsigned int nf_cli_events_rate(const struct nf_config *cfg);

/* Read a policy document from a file or "-" (stdin), bounded; message in err. */
int nf_cli_read_policy(const char *path, char **ret, size_t *ret_len, char *err, size_t errlen);

#endif
