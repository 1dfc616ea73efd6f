// SPDX-License-Identifier: Apache-2.0
/* netfence: argument parsing and dispatch. The commands live in cmd_*.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "cli.h"
#include "loader.h"
#include "log.h"
#include "wrapper.h"

struct command {
	const char *name;
	int (*run)(struct nf_cli *cli);
	int min_args, max_args;
	bool needs_config; /* commands that act on fences read the host config */
};

static int cmd_version(struct nf_cli *cli)
{
	(void)cli;
	printf("netfence %s\n", NETFENCE_VERSION);
	return NF_EXIT_OK;
}

static const struct command commands[] = {
	{ "hook", nf_cmd_hook, 0, 1, true },	   { "attach", nf_cmd_attach, 0, 0, true },
	{ "detach", nf_cmd_detach, 1, 1, true },   { "update", nf_cmd_update, 1, 1, true },
	{ "list", nf_cmd_list, 0, 0, true },	   { "show", nf_cmd_show, 1, 1, true },
	{ "monitor", nf_cmd_monitor, 0, 0, true }, { "metrics", nf_cmd_metrics, 0, 0, true },
	{ "gc", nf_cmd_gc, 0, 0, true },	   { "policy", nf_cmd_policy, 2, 2, false },
	{ "doctor", nf_cmd_doctor, 0, 0, false },  { "version", cmd_version, 0, 0, false },
};

static void usage(FILE *f)
{
	fputs("Usage: netfence [OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Commands:\n"
	      "  hook [STAGE]                OCI hook: state JSON on stdin; STAGE is prestart or\n"
	      "                              createRuntime (attach), or poststop (detach)\n"
	      "  attach --id ID --cgroup DIR --policy FILE|-\n"
	      "                              fence any cgroup v2 directory\n"
	      "  detach ID                   remove a fence (an unknown id is success)\n"
	      "  update ID --policy FILE|-   replace a fence's policy without a gap\n"
	      "  list                        fenced ids, cgroups, modes and verdict counters\n"
	      "  show ID                     one fence in detail\n"
	      "  monitor [--count N] [--timeout MS]\n"
	      "                              denied and audited connections as JSON lines\n"
	      "  metrics                     counters in Prometheus text format\n"
	      "  gc                          remove fences whose cgroup is gone\n"
	      "  policy check FILE|-         validate a policy document\n"
	      "  doctor [--root DIR]         find set-ups that leave containers unfenced or\n"
	      "                              unable to start; DIR: the host's root (default /)\n"
	      "  version                     print the version (also --version)\n"
	      "\n"
	      "Options:\n"
	      "  --config FILE       host config (default /etc/netfence/config.json)\n"
	      "  --bpffs-root DIR    pins (default /sys/fs/bpf/netfence)\n"
	      "  --state-dir DIR     state files (default /run/netfence)\n"
	      "  --json              machine-readable output\n"
	      "  -h, --help          this text\n"
	      "  -V, --version       print the version\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 usage error.\n",
	      f);
}

enum {
	OPT_CONFIG = 256,
	OPT_BPFFS,
	OPT_STATE,
	OPT_JSON,
	OPT_ID,
	OPT_CGROUP,
	OPT_POLICY,
	OPT_COUNT,
	OPT_TIMEOUT,
	OPT_ROOT,
};

static int parse_int(const char *s, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 1000000000)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

static int parse_options(int argc, char **argv, struct nf_cli *cli, const char **config,
			 const char **bpffs, const char **state)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "bpffs-root", required_argument, NULL, OPT_BPFFS },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "id", required_argument, NULL, OPT_ID },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			*config = optarg;
			break;
		case OPT_BPFFS:
			*bpffs = optarg;
			break;
		case OPT_STATE:
			*state = optarg;
			break;
		case OPT_JSON:
			cli->json = true;
			break;
		case OPT_ROOT:
			cli->root = optarg;
			break;
		case OPT_ID:
			cli->id = optarg;
			break;
		case OPT_CGROUP:
			cli->cgroup = optarg;
			break;
		case OPT_POLICY:
			cli->policy = optarg;
			break;
		case OPT_COUNT:
		case OPT_TIMEOUT:
			if (parse_int(optarg, c == OPT_COUNT ? &cli->count : &cli->timeout_ms) <
			    0) {
				fprintf(stderr, "netfence: --%s: '%s' is not a number\n",
					c == OPT_COUNT ? "count" : "timeout", optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			cmd_version(cli);
			return 1;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

static int replace_str(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

static int load_config(struct nf_cli *cli, const char *config, const char *bpffs, const char *state)
{
	char err[NF_ERR_MAX + 128];
	int r;

	r = nf_config_load(config ? config : NF_CONFIG_PATH, config != NULL, &cli->cfg, err,
			   sizeof(err));
	if (r < 0) {
		nf_log_error(0, "config %s: %s", config ? config : NF_CONFIG_PATH, err);
		return r;
	}
	nf_log_set_level(cli->cfg.log_level);
	if ((bpffs && replace_str(&cli->cfg.bpffs_root, bpffs) < 0) ||
	    (state && replace_str(&cli->cfg.state_dir, state) < 0))
		return -ENOMEM;
	cli->paths.bpffs_root = cli->cfg.bpffs_root;
	cli->paths.state_dir = cli->cfg.state_dir;
	return 0;
}

/* Commands acting on fences keep only the capabilities BPF needs, before reading any input. */
static int drop_privileges(void)
{
	char err[256];
	int r = nf_caps_drop(err, sizeof(err));

	if (r < 0)
		nf_log_error(0, "%s", err);
	return r;
}

int main(int argc, char **argv)
{
	const char *config = NULL, *bpffs = NULL, *state = NULL;
	const struct command *cmd = NULL;
	struct nf_cli cli = {};
	int r, nargs;

	/* Started as netfence-runc or netfence-crun: an OCI runtime in front of the real one. */
	if (nf_wrapper_runtime(argv[0]))
		return nf_wrapper_main(argc, argv);
	nf_config_defaults(&cli.cfg);
	r = parse_options(argc, argv, &cli, &config, &bpffs, &state);
	if (r != 0) {
		nf_config_free(&cli.cfg);
		return r > 0 ? NF_EXIT_OK : NF_EXIT_USAGE;
	}
	if (optind >= argc) {
		usage(stderr);
		nf_config_free(&cli.cfg);
		return NF_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	nargs = argc - optind - 1;
	if (cmd && cli.root && strcmp(cmd->name, "doctor") != 0) {
		fprintf(stderr, "netfence: --root is an option of doctor only\n");
		nf_config_free(&cli.cfg);
		return NF_EXIT_USAGE;
	}
	if (!cmd || nargs < cmd->min_args || nargs > cmd->max_args) {
		fprintf(stderr, "netfence: %s '%s'\n",
			cmd ? "wrong arguments for" : "unknown command", argv[optind]);
		usage(stderr);
		nf_config_free(&cli.cfg);
		return NF_EXIT_USAGE;
	}
	cli.argc = nargs;
	cli.argv = argv + optind + 1;
	cli.config_given = config != NULL;
	cli.config_path = config;
	cli.bpffs_root = bpffs;

	/* The hook logs to syslog too: crun discards hook output by default. */
	nf_log_open(strcmp(cmd->name, "hook") == 0);
	nf_loader_init();
	if (cmd->needs_config && drop_privileges() < 0)
		r = NF_EXIT_FAIL;
	else if (cmd->needs_config && load_config(&cli, config, bpffs, state) < 0)
		r = NF_EXIT_FAIL;
	else
		r = cmd->run(&cli);
	nf_config_free(&cli.cfg);
	return r;
}
