/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wrapper runtime: the netfence binary started as netfence-<runtime> (netfence-runc,
 * netfence-crun) stands in front of the real runtime for engines that read no hooks.d
 * (containerd, Docker). On create and run it adds netfence's createRuntime and poststop hooks
 * to the bundle's config.json when the container carries a netfence annotation, or every
 * container when the host config sets fence_all; then it execs the real runtime with the same
 * arguments. The host config is NETFENCE_CONFIG from the environment, else NF_CONFIG_PATH.
 */
#ifndef NETFENCE_WRAPPER_H
#define NETFENCE_WRAPPER_H

#include <stdbool.h>

#define NF_WRAPPER_PREFIX "netfence-"
#define NF_WRAPPER_ENV	  "NETFENCE_CONFIG"

/* The runtime argv0 names when it starts the wrapper (netfence-runc: "runc"), else NULL. */
const char *nf_wrapper_runtime(const char *argv0);

/* What the wrapper needs from a runtime command line. */
struct nf_wrapper_args {
	int cmd;	    /* index of the subcommand in argv; 0: none */
	const char *bundle; /* --bundle / -b of create and run; NULL: the working directory */
	const char *config; /* crun's --config / -f: the file in the bundle; NULL: config.json */
};

/*
 * Find the subcommand past the runtime's global options (runc: --root X --log Y --log-format F
 * --systemd-cgroup; crun: --root=X ...) and, for create and run, the bundle. Nothing else is
 * interpreted. Returns 0, or -EINVAL when an option that takes a value ends the line.
 */
int nf_wrapper_parse_args(int argc, char **argv, struct nf_wrapper_args *ret);

/* True for the subcommands that create a container from a bundle: create and run. */
bool nf_wrapper_creates(int argc, char **argv, const struct nf_wrapper_args *a);

/* Run as the wrapper: patch the bundle if needed, exec the real runtime. Returns only on error. */
int nf_wrapper_main(int argc, char **argv);

#endif
