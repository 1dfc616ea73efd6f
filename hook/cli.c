// SPDX-License-Identifier: Apache-2.0
/* The command table, each command's options, and their usage text: see cli.h. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "json_writer.h"
#include "util.h"

static int cmd_version(struct nf_cli *cli)
{
	struct nf_jsonw w = NF_JSONW_INIT(stdout);

	if (!cli->json) {
		printf("netfence %s\n", NETFENCE_VERSION);
		return NF_EXIT_OK;
	}
	nf_jsonw_start_object(&w);
	nf_jsonw_string_field(&w, "version", NETFENCE_VERSION);
	nf_jsonw_end_object(&w);
	nf_jsonw_end_line(&w);
	return NF_EXIT_OK;
}

static int cmd_help(struct nf_cli *cli)
{
	(void)cli;
	return NF_EXIT_OK; /* nf_cli_parse answers it */
}

static const struct nf_command commands[] = {
	{ "hook", nf_cmd_hook, "[STAGE]",
	  "OCI hook: state JSON on stdin; STAGE is prestart, createRuntime (attach) or poststop "
	  "(detach)",
	  0, 0, 1, true },
	{ "attach", nf_cmd_attach, "--id ID --cgroup DIR --policy FILE|-",
	  "fence any cgroup v2 directory", NF_OPT_ID | NF_OPT_CGROUP | NF_OPT_POLICY, 0, 0, true },
	{ "detach", nf_cmd_detach, "ID", "remove a fence (an unknown id is success)", 0, 1, 1,
	  true },
	{ "update", nf_cmd_update, "ID --policy FILE|-", "replace a fence's policy without a gap",
	  NF_OPT_POLICY, 1, 1, true },
	{ "list", nf_cmd_list, "[--json]", "fences, unfenced containers, modes, verdict counters",
	  NF_OPT_JSON, 0, 0, true },
	{ "show", nf_cmd_show, "ID [--json]", "one fence in detail", NF_OPT_JSON, 1, 1, true },
	{ "monitor", nf_cmd_monitor,
	  "[--count N] [--timeout MS] [--since DURATION|TIME] [--container ID]... "
	  "[--verdict denied|audited]",
	  "denied and audited connections, and dropped events, as JSON lines",
	  NF_OPT_JSON | NF_OPT_COUNT | NF_OPT_TIMEOUT | NF_OPT_SINCE | NF_OPT_CONTAINER |
		  NF_OPT_VERDICT,
	  0, 0, true },
	{ "metrics", nf_cmd_metrics, "[--listen ADDR:PORT]",
	  "counters in Prometheus text format, or served on GET /metrics", NF_OPT_LISTEN, 0, 0,
	  true },
	{ "gc", nf_cmd_gc, "[--json]", "remove fences whose cgroup is gone", NF_OPT_JSON, 0, 0,
	  true },
	{ "policy", nf_cmd_policy, "check FILE|- [--json]", "validate a policy document",
	  NF_OPT_JSON, 2, 2, false },
	{ "doctor", nf_cmd_doctor, "[--root DIR] [--json]",
	  "find set-ups that leave containers unfenced or unable to start",
	  NF_OPT_ROOT | NF_OPT_JSON, 0, 0, false },
	{ "version", cmd_version, "[--json]", "the version", NF_OPT_JSON, 0, 0, false },
	{ "help", cmd_help, "[COMMAND]", "this text, or one command's", 0, 0, 1, false },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

enum {
	OPT_CONFIG = 256,
	OPT_BPFFS,
	OPT_STATE,
	OPT_VERSION,
	OPT_FIRST_CMD, /* the options below are the commands' */
	OPT_JSON = OPT_FIRST_CMD,
	OPT_ID,
	OPT_CGROUP,
	OPT_POLICY,
	OPT_COUNT,
	OPT_TIMEOUT,
	OPT_SINCE,
	OPT_CONTAINER,
	OPT_VERDICT,
	OPT_LISTEN,
	OPT_ROOT,
	OPT_LAST_CMD = OPT_ROOT,
};

static const struct option options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "bpffs-root", required_argument, NULL, OPT_BPFFS },
	{ "state-dir", required_argument, NULL, OPT_STATE },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "id", required_argument, NULL, OPT_ID },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "container", required_argument, NULL, OPT_CONTAINER },
	{ "verdict", required_argument, NULL, OPT_VERDICT },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "root", required_argument, NULL, OPT_ROOT },
	{},
};

/* Help for each command option, by its enum nf_cli_opt bit (in OPT_JSON.. order). */
static const char *const opt_help[] = {
	"--json              machine-readable output",
	"--id ID             the fence's id (a container id)",
	"--cgroup DIR        the cgroup v2 directory to fence",
	"--policy FILE|-     the policy document (- reads stdin)",
	"--count N           stop after N records",
	"--timeout MS        stop after MS milliseconds",
	"--since DURATION|TIME  skip events older than that (90s, 15m, 2h, 1d; RFC 3339)",
	"--container ID      only this fence's events (repeatable)",
	"--verdict V         only denied or only audited events",
	"--listen ADDR:PORT  serve GET /metrics over HTTP instead of printing once",
	"--root DIR          read the host's files under DIR (default /)",
};
_Static_assert(sizeof(opt_help) / sizeof(opt_help[0]) == OPT_LAST_CMD - OPT_FIRST_CMD + 1,
	       "one help line per command option, in enum nf_cli_opt order");

const struct nf_command *nf_cli_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

void nf_cli_usage(FILE *f, const struct nf_command *cmd)
{
	if (cmd) {
		fprintf(f, "Usage: netfence [GLOBAL OPTIONS] %s %s\n\n%s.\n", cmd->name, cmd->args,
			cmd->summary);
		if (cmd->opts)
			fputs("\nOptions:\n", f);
		for (size_t b = 0; b < sizeof(opt_help) / sizeof(opt_help[0]); b++)
			if (cmd->opts & (1u << b))
				fprintf(f, "  %s\n", opt_help[b]);
	} else {
		fputs("Usage: netfence [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\nCommands:\n",
		      f);
		for (size_t i = 0; i < NCOMMANDS; i++)
			fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	}
	fputs("\nGlobal options:\n"
	      "  --config FILE       host config (default /etc/netfence/config.json)\n"
	      "  --bpffs-root DIR    pins (default /sys/fs/bpf/netfence)\n"
	      "  --state-dir DIR     state files (default /run/netfence)\n"
	      "  -h, --help          this text; netfence help COMMAND, or COMMAND --help\n"
	      "  --version\n"
	      "\nExit status: 0 success, 1 failure, 2 usage error.\n",
	      f);
}

static const char *opt_name(int val)
{
	for (const struct option *o = options; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

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

/* Digits of exactly n characters as a number. */
static int digits(const char *s, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return 0;
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), as ns since the epoch. */
static int parse_rfc3339(const char *s, int64_t *ret)
{
	struct tm tm = {};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 100000000;
	time_t t;

	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -EINVAL;
	s += 19;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return -EINVAL;
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac += (*s - '0') * scale;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s == '+' ? 1 : -1;
		if (digits(s + 1, 2, &oh) || s[3] != ':' || digits(s + 4, 2, &om))
			return -EINVAL;
		s += 6;
	} else {
		return -EINVAL;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    oh > 23 || om > 59)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	t -= sign * (oh * 3600 + om * 60);
	*ret = (int64_t)t * 1000000000 + frac;
	return 0;
}

int nf_cli_parse_since(const char *s, int64_t now_ns, int64_t *ret)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = {
		{ "ms", 1000000LL },	  { "s", 1000000000LL },     { "m", 60000000000LL },
		{ "h", 3600000000000LL }, { "d", 86400000000000LL },
	};
	char *end;
	long long v;

	if (!s || !*s)
		return -EINVAL;
	if (strchr(s, 'T') || strchr(s, 't'))
		return parse_rfc3339(s, ret);
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || v > 100LL * 365 * 86400)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			*ret = now_ns - v * units[i].ns;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_verdict(const char *s, unsigned int *mask)
{
	if (strcmp(s, "denied") == 0)
		*mask |= NF_VERDICT_DENIED;
	else if (strcmp(s, "audited") == 0)
		*mask |= NF_VERDICT_AUDITED;
	else
		return -EINVAL;
	return 0;
}

static int64_t now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One option's value into cli; -EINVAL with the message in err. */
static int take_option(int c, const char *arg, struct nf_cli *cli, struct nf_err *err)
{
	char q[NF_QUOTE_BUF];
	int r = 0;

	switch (c) {
	case OPT_CONFIG:
		cli->config_path = arg;
		break;
	case OPT_BPFFS:
		cli->bpffs_root = arg;
		break;
	case OPT_STATE:
		cli->state_dir = arg;
		break;
	case OPT_JSON:
		cli->json = true;
		break;
	case OPT_ID:
		cli->id = arg;
		break;
	case OPT_CGROUP:
		cli->cgroup = arg;
		break;
	case OPT_POLICY:
		cli->policy = arg;
		break;
	case OPT_COUNT:
	case OPT_TIMEOUT:
		r = parse_int(arg, c == OPT_COUNT ? &cli->count : &cli->timeout_ms);
		break;
	case OPT_SINCE:
		r = nf_cli_parse_since(arg, now_real_ns(), &cli->since_ns);
		break;
	case OPT_CONTAINER:
		if (cli->ncontainers == NF_CLI_CONTAINERS_MAX) {
			return nf_err_set(err, -EINVAL, "--container: more than %d",
					  NF_CLI_CONTAINERS_MAX);
		}
		cli->containers[cli->ncontainers++] = arg;
		break;
	case OPT_VERDICT:
		r = parse_verdict(arg, &cli->verdicts);
		break;
	case OPT_LISTEN:
		cli->listen = arg;
		break;
	case OPT_ROOT:
		cli->root = arg;
		break;
	}
	if (r < 0)
		nf_err_set(err, r, "--%s: %s is not %s", opt_name(c), nf_quote_str(q, arg),
			   c == OPT_SINCE     ? "a duration (90s, 15m, 2h, 1d) or an RFC 3339 time"
			   : c == OPT_VERDICT ? "denied or audited"
					      : "a number");
	return r;
}

/* The command in argv after the options, and the help it asks for. */
static int find_command(int argc, char **argv, int first, bool help,
			const struct nf_command **ret_cmd, struct nf_err *err)
{
	const struct nf_command *cmd;
	char q[NF_QUOTE_BUF];

	*ret_cmd = NULL;
	if (first >= argc) {
		if (help)
			return NF_CLI_HELP;
		return nf_err_set(err, -EINVAL, "no command (netfence --help lists them)");
	}
	cmd = nf_cli_command(argv[first]);
	if (!cmd) {
		return nf_err_set(err, -EINVAL, "unknown command %s (netfence --help lists them)",
				  nf_quote_str(q, argv[first]));
	}
	*ret_cmd = cmd;
	return help ? NF_CLI_HELP : NF_CLI_RUN;
}

int nf_cli_parse(int argc, char **argv, struct nf_cli *cli, const struct nf_command **ret_cmd,
		 struct nf_err *err)
{
	const struct nf_command *cmd;
	char q[NF_QUOTE_BUF];
	unsigned int given = 0;
	int c, nargs, r;
	bool help = false, version = false;

	optind = 0; /* glibc: start over, also after an earlier parse */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == '?' || c == ':') {
			char opt[3] = { '-', (char)optopt, '\0' };

			/* optopt is a short option's letter, else the text is in argv */
			return nf_err_set(err, -EINVAL, "%s %s",
					  c == '?' ? "unknown option" : "missing value for",
					  nf_quote_str(q, c == '?' && optopt > 0 && optopt < 128
								  ? opt
								  : argv[optind - 1]));
		}
		if (c == 'h') {
			help = true;
			continue;
		}
		if (c == OPT_VERSION) {
			version = true;
			continue;
		}
		if (c >= OPT_FIRST_CMD)
			given |= 1u << (c - OPT_FIRST_CMD); /* checked against the command below */
		r = take_option(c, optarg, cli, err);
		if (r < 0)
			return r;
	}
	if (version && !help && optind >= argc)
		return NF_CLI_VERSION;
	r = find_command(argc, argv, optind, help, &cmd, err);
	if (r != NF_CLI_RUN) {
		*ret_cmd = cmd;
		return r;
	}
	/* An option given that the command does not take: the first in the table's order. */
	for (c = OPT_FIRST_CMD; c <= OPT_LAST_CMD; c++) {
		unsigned int bit = 1u << (c - OPT_FIRST_CMD);

		if ((given & bit) && !(cmd->opts & bit)) {
			return nf_err_set(err, -EINVAL, "%s does not take --%s (netfence help %s)",
					  cmd->name, opt_name(c), cmd->name);
		}
	}
	nargs = argc - optind - 1;
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		return nf_err_set(err, -EINVAL, "%s takes %s (netfence help %s)", cmd->name,
				  cmd->max_args == 0 ? "no argument" : cmd->args, cmd->name);
	}
	cli->argc = nargs;
	cli->argv = argv + optind + 1;
	cli->config_given = cli->config_path != NULL;
	if (cmd->run == cmd_help) {
		*ret_cmd = nargs ? nf_cli_command(cli->argv[0]) : NULL;
		if (nargs && !*ret_cmd) {
			return nf_err_set(err, -EINVAL, "help: unknown command %s",
					  nf_quote_str(q, cli->argv[0]));
		}
		return NF_CLI_HELP;
	}
	*ret_cmd = cmd;
	return NF_CLI_RUN;
}
