/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seeding name rules (docs/policy.md, "Name rules"): at attach and update, the policy's exact
 * host names are looked up once, from the container's network namespace, at the policy's
 * resolvers, and what the answers teach (hook/dns.c: the kernel parser's rules) goes into the
 * fence's map of learned addresses, as if the container had looked them up itself. Wildcards
 * cannot be looked up and are not seeded.
 *
 * A child process enters the namespace with the capabilities kept on standby (hook/caps.h),
 * drops every capability, asks and reads the answers; the parent writes the map. Seeding never
 * fails an attach: what it could not seed fails closed until the container's own lookup, and
 * nf_seed_run says so in its result.
 */
#ifndef NETFENCE_SEED_H
#define NETFENCE_SEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compile.h"
#include "dns.h"
#include "loader.h"
#include "netfence.h"
#include "policy.h"

#define NF_SEED_NAMES_MAX 64   /* exact names looked up; the others wait for the container's */
#define NF_SEED_BUDGET_MS 1000 /* for all of them, the queries in parallel */
#define NF_SEED_STEP_MS	  250  /* before the names not answered yet go to the next resolver */
#define NF_SEED_PIDS_MAX  64   /* processes of a cgroup looked at for its namespace */
#define NF_SEED_ADDRS_MAX 16   /* addresses taken from one answer */

/* The exact host names of p's rules, each once, in rule order: at most max in names (pointers
 * into p); *ret_more counts those beyond, *ret_wild the wildcard patterns. */
size_t nf_seed_names(const struct nf_policy *p, const char **names, size_t max, size_t *ret_more,
		     size_t *ret_wild);

/*
 * The entry an address of name, answered at now_ns (CLOCK_MONOTONIC) with a TTL of ttl, makes
 * for the fence of cgroup_id in the namespace netns: the ports c's patterns give name, the TTL
 * clamped, the name (a pointer to name). -ENOENT when no pattern allows name, -EPERM for an
 * address never learned (aaaa: from an AAAA record).
 */
int nf_seed_entry(const struct nf_compiled *c, const char *name, const uint8_t addr[16], bool aaaa,
		  uint32_t ttl, uint64_t now_ns, uint64_t cgroup_id, uint64_t netns,
		  struct nf_learned_entry *ret);

/* The processes of the cgroup directory dir (its own cgroup.procs, at most max): the
 * namespace to seed in is the one they share. */
int nf_seed_cgroup_pids(const char *dir, pid_t *pids, size_t max, size_t *ret_n);

struct nf_seed_request {
	const pid_t *pids; /* whose network namespace, which all must share */
	size_t npids;
	const struct nf_policy *policy;
	const struct nf_compiled *compiled;
	const struct nf_learned_maps *maps; /* the fence's, written by the parent */
	uint64_t cgroup_id;
	unsigned int budget_ms;
};

struct nf_seed_result {
	size_t names, seeded, addresses; /* names looked up, those with an address, entries */
	size_t more, wild;		 /* names not looked up: beyond the bound, wildcards */
	unsigned int ms;		 /* how long it took */
	/* What was not seeded and why, one line ("" when every name was): a reason for all, or
	 * the names left and why each. */
	char why[512];
};

/* The seccomp filter the lookup child runs under once in the namespace: the system calls of a
 * lookup over IPv4 and IPv6, nothing else (EPERM). For good: tests call it in a child. */
int nf_seed_sandbox(void);

/* Seed; never fails, the result says what it did. Drops the standby capabilities. */
void nf_seed_run(const struct nf_seed_request *req, struct nf_seed_result *res);

#endif
