// SPDX-License-Identifier: Apache-2.0
/* Tests for hook/cli.c: the command table, each command's options, and --since. */
#include <errno.h>
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <jansson.h>

#include "cli.h"

/* Parse a NULL-terminated argument list (without "netfence"). */
static int parse(struct nf_cli *cli, const struct nf_command **cmd, char *err, size_t errlen,
		 const char *const *args)
{
	static char *argv[32];
	int argc = 0;

	argv[argc++] = "netfence";
	for (; *args && argc < 31; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	memset(cli, 0, sizeof(*cli));
	struct nf_err e = { 0 };
	int r = nf_cli_parse(argc, argv, cli, cmd, &e);

	size_t n = r < 0 ? strnlen(e.msg, errlen - 1) : 0;

	memcpy(err, e.msg, n);
	err[n] = '\0';
	return r;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

struct refusal {
	const char *const *args;
	const char *message;
};

Test(cli, options_a_command_does_not_take_are_refused)
{
	const struct refusal cases[] = {
		{ ARGS("detach", "--policy", "x", "--count", "3", "ID"),
		  "detach does not take --policy" },
		{ ARGS("detach", "--json", "ID"), "detach does not take --json" },
		{ ARGS("--json", "attach", "--id", "a", "--cgroup", "/c", "--policy", "-"),
		  "attach does not take --json" },
		{ ARGS("metrics", "--json"), "metrics does not take --json" },
		{ ARGS("list", "--count", "1"), "list does not take --count" },
		{ ARGS("show", "x", "--policy", "p"), "show does not take --policy" },
		{ ARGS("monitor", "--listen", "127.0.0.1:1"), "monitor does not take --listen" },
		{ ARGS("hook", "--id", "x"), "hook does not take --id" },
		{ ARGS("update", "x", "--cgroup", "/c", "--policy", "p"),
		  "update does not take --cgroup" },
		{ ARGS("policy", "check", "f", "--since", "1s"), "policy does not take --since" },
		{ ARGS("detach"), "detach takes ID" },
		{ ARGS("list", "extra"), "list takes no argument" },
		{ ARGS("bogus"), "unknown command 'bogus'" },
		{ ARGS("list", "--bogus"), "unknown option '--bogus'" },
		{ ARGS("list", "-x"), "unknown option '-x'" },
		{ ARGS("monitor", "--count"), "missing value for '--count'" },
		{ ARGS("monitor", "--count", "many"), "--count: 'many' is not a number" },
		{ ARGS("monitor", "--verdict", "allowed"), "is not denied or audited" },
		{ ARGS("monitor", "--since", "yesterday"), "is not a duration" },
		{ ARGS("list", "--json=yes"), "--json=yes" },
		{ ARGS("help", "bogus"), "help: unknown command 'bogus'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct nf_command *cmd = NULL;
		struct nf_cli cli;
		char err[256];
		int r = parse(&cli, &cmd, err, sizeof(err), cases[i].args);

		cr_expect_eq(r, -EINVAL, "case %zu (%s): %d", i, cases[i].message, r);
		cr_expect(strstr(err, cases[i].message), "case %zu: '%s' lacks '%s'", i, err,
			  cases[i].message);
		cr_expect(!strchr(err, '\n'), "case %zu: more than one line", i);
	}
}

Test(cli, each_command_takes_its_options_anywhere)
{
	const struct nf_command *cmd = NULL;
	struct nf_cli cli;
	char err[256];

	cr_assert_eq(parse(&cli, &cmd, err, sizeof(err),
			   ARGS("monitor", "--count", "3", "--container", "a", "--verdict",
				"denied", "--container", "b", "--json", "--timeout", "50")),
		     NF_CLI_RUN, "%s", err);
	cr_expect_str_eq(cmd->name, "monitor");
	cr_expect_eq(cli.count, 3);
	cr_expect_eq(cli.timeout_ms, 50);
	cr_expect_eq(cli.ncontainers, 2);
	cr_expect_str_eq(cli.containers[1], "b");
	cr_expect_eq(cli.verdicts, NF_VERDICT_DENIED);
	cr_expect(cli.json);

	cr_assert_eq(parse(&cli, &cmd, err, sizeof(err),
			   ARGS("--state-dir", "/s", "show", "abc", "--json")),
		     NF_CLI_RUN, "%s", err);
	cr_expect_str_eq(cmd->name, "show");
	cr_expect_eq(cli.argc, 1);
	cr_expect_str_eq(cli.argv[0], "abc");
	cr_expect_str_eq(cli.state_dir, "/s");

	cr_assert_eq(parse(&cli, &cmd, err, sizeof(err), ARGS("--json", "list")), NF_CLI_RUN);
	cr_assert_eq(
		parse(&cli, &cmd, err, sizeof(err), ARGS("metrics", "--listen", "127.0.0.1:9101")),
		NF_CLI_RUN);
	cr_expect_str_eq(cli.listen, "127.0.0.1:9101");
}

Test(cli, help_from_the_table)
{
	const struct nf_command *cmd = NULL;
	struct nf_cli cli;
	char err[256];

	cr_expect_eq(parse(&cli, &cmd, err, sizeof(err), ARGS("help", "monitor")), NF_CLI_HELP);
	cr_expect_str_eq(cmd->name, "monitor");
	cr_expect_eq(parse(&cli, &cmd, err, sizeof(err), ARGS("detach", "--help")), NF_CLI_HELP);
	cr_expect_str_eq(cmd->name, "detach");
	/* --help wins over what else is wrong on the line */
	cr_expect_eq(parse(&cli, &cmd, err, sizeof(err), ARGS("detach", "--policy", "x", "-h")),
		     NF_CLI_HELP);
	cr_expect_eq(parse(&cli, &cmd, err, sizeof(err), ARGS("--help")), NF_CLI_HELP);
	cr_expect_null(cmd);
	cr_expect_eq(parse(&cli, &cmd, err, sizeof(err), ARGS("help")), NF_CLI_HELP);
	cr_expect_null(cmd);
	cr_expect_eq(parse(&cli, &cmd, err, sizeof(err), ARGS("--version")), NF_CLI_VERSION);
	cr_expect_eq(parse(&cli, &cmd, err, sizeof(err), ARGS("version", "--json")), NF_CLI_RUN);
}

Test(cli, every_command_has_help_and_json_only_where_it_prints)
{
	static const char *const printing[] = {
		"list", "show", "monitor", "gc", "policy", "version"
	};
	static const char *const names[] = { "hook", "attach", "detach",  "update",
					     "list", "show",   "monitor", "metrics",
					     "gc",   "policy", "version", "help" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct nf_command *cmd = nf_cli_command(names[i]);
		bool prints = false;

		cr_assert_not_null(cmd, "%s", names[i]);
		cr_expect(cmd->summary && *cmd->summary && cmd->args, "%s", names[i]);
		for (size_t k = 0; k < sizeof(printing) / sizeof(printing[0]); k++)
			prints |= strcmp(names[i], printing[k]) == 0;
		cr_expect_eq(!!(cmd->opts & NF_OPT_JSON), prints, "%s: --json", names[i]);
	}
}

Test(cli, since)
{
	const int64_t now = 1700000000LL * 1000000000;
	static const struct {
		const char *in;
		int64_t want; /* ns; -1: refused */
	} cases[] = {
		{ "90s", now - 90LL * 1000000000 },
		{ "15m", now - 900LL * 1000000000 },
		{ "2h", now - 7200LL * 1000000000 },
		{ "1d", now - 86400LL * 1000000000 },
		{ "500ms", now - 500LL * 1000000 },
		{ "0s", now },
		{ "2023-11-14T22:13:20Z", 1700000000LL * 1000000000 },
		{ "2023-11-14T22:13:20.25Z", 1700000000LL * 1000000000 + 250000000 },
		{ "2023-11-14T23:13:20+01:00", 1700000000LL * 1000000000 },
		{ "2023-11-14T21:13:20-01:00", 1700000000LL * 1000000000 },
		{ "", -1 },
		{ "10", -1 },
		{ "-5s", -1 },
		{ "5 s", -1 },
		{ "5w", -1 },
		{ "2023-11-14T22:13:20", -1 },
		{ "2023-13-14T22:13:20Z", -1 },
		{ "2023-11-14T22:13:20.Z", -1 },
		{ "2023-11-14T22:13:20Zjunk", -1 },
		{ "99999999999999999999s", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = 0;
		int r = nf_cli_parse_since(cases[i].in, now, &got);

		if (cases[i].want < 0) {
			cr_expect_eq(r, -EINVAL, "'%s' accepted", cases[i].in);
		} else {
			cr_expect_eq(r, 0, "'%s' refused", cases[i].in);
			cr_expect_eq(got, cases[i].want, "'%s': %lld", cases[i].in, (long long)got);
		}
	}
}

/* doctor --json prints its findings as JSON when one names a path that is not UTF-8 (the
 * --root given), the stray byte escaped: jansson's writer refused the string. */
Test(cli, doctor_json_with_a_path_not_utf8, .init = cr_redirect_stdout)
{
	const struct nf_command *cmd = NULL;
	struct nf_cli cli;
	char err[256], text[65536];
	bool seen = false;
	json_t *doc, *f;
	size_t n, i;

	cr_assert_eq(parse(&cli, &cmd, err, sizeof(err),
			   ARGS("doctor", "--json", "--root", "/nonexistent/nf-\xff")),
		     NF_CLI_RUN, "%s", err);
	cmd->run(&cli);
	fflush(stdout);
	n = fread(text, 1, sizeof(text) - 1, cr_get_redirected_stdout());
	text[n] = '\0';
	doc = json_loads(text, 0, NULL);
	cr_assert(json_is_array(doc), "not a JSON array: '%s'", text);
	json_array_foreach(doc, i, f) seen =
		seen ||
		strstr(json_string_value(json_object_get(f, "what")), "/nonexistent/nf-\xc3\xbf/");
	cr_expect(seen, "no finding names the root: %s", text);
	json_decref(doc);
}
