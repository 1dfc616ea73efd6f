// SPDX-License-Identifier: Apache-2.0
/* netfence: argument parsing (hook/cli.c's table) and dispatch. The commands live in cmd_*.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "cli.h"
#include "loader.h"
#include "log.h"
#include "wrapper.h"

static int replace_str(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

static int load_config(struct nf_cli *cli)
{
	const char *config = cli->config_path;
	struct nf_err err;
	int r;

	r = nf_config_load(config ? config : NF_CONFIG_PATH, config != NULL, &cli->cfg, &err);
	if (r < 0) {
		nf_err_prefix(&err, "config %s", config ? config : NF_CONFIG_PATH);
		return nf_log_err(&err);
	}
	nf_log_set_level(cli->cfg.log_level);
	nf_log_targets(cli->cfg.journal_socket, cli->cfg.log_file);
	if ((cli->bpffs_root && replace_str(&cli->cfg.bpffs_root, cli->bpffs_root) < 0) ||
	    (cli->state_dir && replace_str(&cli->cfg.state_dir, cli->state_dir) < 0))
		return -ENOMEM;
	cli->paths.bpffs_root = cli->cfg.bpffs_root;
	cli->paths.state_dir = cli->cfg.state_dir;
	return 0;
}

/*
 * Commands acting on fences keep only the capabilities BPF needs, before reading any input;
 * those that may seed name rules (hook/seed.h) keep two more on standby, not effective.
 */
static int drop_privileges(const struct nf_command *cmd)
{
	bool seeds = !strcmp(cmd->name, "hook") || !strcmp(cmd->name, "attach") ||
		     !strcmp(cmd->name, "update");
	struct nf_err err;
	int r;

	nf_caps_raise_memlock();
	r = nf_caps_drop(&err, seeds);
	return r < 0 ? nf_log_err(&err) : r;
}

int main(int argc, char **argv)
{
	const struct nf_command *cmd = NULL;
	struct nf_cli cli = {};
	struct nf_err err;
	int r;

	/* Started as netfence-runc or netfence-crun: an OCI runtime in front of the real one. */
	if (nf_wrapper_runtime(argv[0]))
		return nf_wrapper_main(argc, argv);
	nf_config_defaults(&cli.cfg);
	r = nf_cli_parse(argc, argv, &cli, &cmd, &err);
	if (r != NF_CLI_RUN) {
		if (r == NF_CLI_HELP)
			nf_cli_usage(stdout, cmd);
		else if (r == NF_CLI_VERSION)
			printf("netfence %s\n", NETFENCE_VERSION);
		else
			fprintf(stderr, "netfence: %s\n", err.msg);
		nf_config_free(&cli.cfg);
		return r < 0 ? NF_EXIT_USAGE : NF_EXIT_OK;
	}

	/* The hook logs to the journal or syslog too: crun discards hook output by default. */
	nf_log_open(strcmp(cmd->name, "hook") == 0);
	nf_loader_init();
	if (cmd->needs_config && drop_privileges(cmd) < 0)
		r = NF_EXIT_FAIL;
	else if (cmd->needs_config && load_config(&cli) < 0)
		r = NF_EXIT_FAIL;
	else
		r = cmd->run(&cli);
	nf_config_free(&cli.cfg);
	return r;
}
