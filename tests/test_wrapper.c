// SPDX-License-Identifier: Apache-2.0
/* Tests for hook/wrapper.c: the wrapper's role from its name, and what it reads of argv. */
#include <errno.h>
#include <criterion/criterion.h>

#include "wrapper.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])) - 1)

Test(wrapper, role_from_name)
{
	cr_assert_str_eq(nf_wrapper_runtime("/usr/bin/netfence-runc"), "runc");
	cr_assert_str_eq(nf_wrapper_runtime("netfence-crun"), "crun");
	cr_assert_null(nf_wrapper_runtime("/usr/bin/netfence"));
	cr_assert_null(nf_wrapper_runtime("netfence-"));
	cr_assert_null(nf_wrapper_runtime("netfence-../runc"));
	cr_assert_null(nf_wrapper_runtime("/opt/netfence-runc/netfence"));
}

/* containerd's runc shim, as observed: global options first, then create with its own. */
Test(wrapper, containerd_shim_create)
{
	char *argv[] = { "netfence-runc",
			 "--root",
			 "/run/containerd/runc/k8s.io",
			 "--log",
			 "/b/log.json",
			 "--log-format",
			 "json",
			 "--systemd-cgroup",
			 "create",
			 "--bundle",
			 "/b",
			 "--pid-file",
			 "/b/init.pid",
			 "ctr1",
			 NULL };
	struct nf_wrapper_args a;

	cr_assert_eq(nf_wrapper_parse_args(ARGC(argv), argv, &a), 0);
	cr_assert_eq(a.cmd, 8);
	cr_assert(nf_wrapper_creates(ARGC(argv), argv, &a));
	cr_assert_str_eq(a.bundle, "/b");
	cr_assert_null(a.config);
}

Test(wrapper, option_forms)
{
	char *eq[] = { "netfence-crun", "--root=/r", "run", "--bundle=/b1", "id", NULL };
	char *shortb[] = { "netfence-runc", "-root", "/r", "create", "-b", "/b2", "id", NULL };
	char *cfg[] = {
		"netfence-crun", "create", "-f", "alt.json", "--bundle", "/b3", "id", NULL
	};
	/* A value that looks like an option is a value: -b after --pid-file is the pid file. */
	char *value[] = { "netfence-runc", "create", "--pid-file", "-b", "id", NULL };
	char *cwd[] = { "netfence-runc", "create", "id", NULL };
	struct nf_wrapper_args a;

	cr_assert_eq(nf_wrapper_parse_args(ARGC(eq), eq, &a), 0);
	cr_assert_str_eq(a.bundle, "/b1");
	cr_assert_eq(nf_wrapper_parse_args(ARGC(shortb), shortb, &a), 0);
	cr_assert_eq(a.cmd, 3);
	cr_assert_str_eq(a.bundle, "/b2");
	cr_assert_eq(nf_wrapper_parse_args(ARGC(cfg), cfg, &a), 0);
	cr_assert_str_eq(a.bundle, "/b3");
	cr_assert_str_eq(a.config, "alt.json");
	cr_assert_eq(nf_wrapper_parse_args(ARGC(value), value, &a), 0);
	cr_assert_null(a.bundle);
	cr_assert_eq(nf_wrapper_parse_args(ARGC(cwd), cwd, &a), 0);
	cr_assert(nf_wrapper_creates(ARGC(cwd), cwd, &a));
	cr_assert_null(a.bundle, "the working directory, as runc");
}

/* restore makes a container from a bundle (a checkpoint's) and runs its createRuntime hooks. */
Test(wrapper, restore_creates)
{
	char *argv[] = { "netfence-runc", "--root",   "/r", "restore", "--image-path",
			 "/ckpt",	  "--bundle", "/b", "id",      NULL };
	struct nf_wrapper_args a;

	cr_assert_eq(nf_wrapper_parse_args(ARGC(argv), argv, &a), 0);
	cr_assert(nf_wrapper_creates(ARGC(argv), argv, &a));
	cr_assert_str_eq(a.bundle, "/b");
}

/* crun (argp) takes options after the container id too. */
Test(wrapper, options_after_the_id)
{
	char *argv[] = { "netfence-crun", "create", "id", "--bundle", "/b4", NULL };
	struct nf_wrapper_args a;

	cr_assert_eq(nf_wrapper_parse_args(ARGC(argv), argv, &a), 0);
	cr_assert_str_eq(a.bundle, "/b4");
}

/* Every other command passes through: only the subcommand is found. */
Test(wrapper, pass_through)
{
	char *state[] = {
		"netfence-runc", "--root", "/r", "--log", "/l", "state", "-b", "x", NULL
	};
	char *version[] = { "netfence-runc", "--version", NULL };
	char *dangling[] = { "netfence-runc", "--root", NULL };
	struct nf_wrapper_args a;

	cr_assert_eq(nf_wrapper_parse_args(ARGC(state), state, &a), 0);
	cr_assert_eq(a.cmd, 5);
	cr_assert(!nf_wrapper_creates(ARGC(state), state, &a));
	cr_assert_null(a.bundle);
	cr_assert_eq(nf_wrapper_parse_args(ARGC(version), version, &a), 0);
	cr_assert_eq(a.cmd, 0);
	cr_assert(!nf_wrapper_creates(ARGC(version), version, &a));
	cr_assert_eq(nf_wrapper_parse_args(ARGC(dangling), dangling, &a), -EINVAL);
}
