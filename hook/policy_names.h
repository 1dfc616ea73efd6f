/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The names and fields of a policy document, shared by its two readers: policy.c (jansson's tree,
 * which says what is wrong) and policy_scan.c (the fast path), so that they cannot disagree on
 * what a valid document is. Internal to those two files.
 */
#ifndef NETFENCE_POLICY_NAMES_H
#define NETFENCE_POLICY_NAMES_H

#include <stddef.h>

#include "netfence.h"
#include "policy.h"

struct nf_name {
	const char *name;
	int value;
};

static const struct nf_name mode_names[] = {
	{ "enforce", NF_MODE_ENFORCE },
	{ "audit", NF_MODE_AUDIT },
	{ NULL, 0 },
};

static const struct nf_name action_names[] = {
	{ "allow", NF_ACTION_ALLOW },
	{ "deny", NF_ACTION_DENY },
	{ NULL, 0 },
};

static const struct nf_name loopback_names[] = {
	{ "allow", NF_LOOPBACK_ALLOW },
	{ "policy", NF_LOOPBACK_POLICY },
	{ NULL, 0 },
};

static const struct nf_name raw_names[] = {
	{ "allow", NF_RAW_ALLOW },
	{ "deny", NF_RAW_DENY },
	{ NULL, 0 },
};

static const struct nf_name protocol_names[] = {
	{ "tcp", NF_PMASK_TCP },
	{ "udp", NF_PMASK_UDP },
	{ "any", NF_PMASK_ANY },
	{ NULL, 0 },
};

static const char *const policy_fields[] = { "version",	    "mode",  "default",	  "loopback",
					     "raw_sockets", "rules", "resolvers", NULL };
static const char *const policy_required[] = { "version", "default", "rules", NULL };
/* A rule has one of "cidr" and "host". */
static const char *const rule_fields[] = { "action", "cidr", "protocol", "ports", "host", NULL };
static const char *const rule_required[] = { "action", NULL };

#endif
