/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host floor: deny rules from the host config that every fence gets on top of its own
 * policy. The policy language is deny-wins, so appended deny rules hold whatever the tenant's
 * policy allows, its "default": "allow" included. The floor holds deny rules only: an allow
 * there could not open what the tenant denies (deny wins) and would only read as if it did.
 *
 *   "floor": { "rules": [ {"action": "deny", "cidr": "169.254.169.254"} ],
 *              "raw_sockets": "deny" }     "policy" (default): the tenant's raw_sockets holds
 */
#ifndef NETFENCE_FLOOR_H
#define NETFENCE_FLOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "json.h"

struct nf_policy;

struct nf_floor {
	struct nf_policy *rules; /* only its rules are used; NULL: no rules */
	json_t *rules_json;	 /* the same rules as written, appended to the stored policy */
	bool raw_deny;		 /* raw_sockets: deny whatever the tenant says */
};

/* Parse the config's "floor" object into f (zeroed or freed). 0 or -EINVAL/-ENOMEM, message. */
int nf_floor_parse(struct nf_err *c, const json_t *v, struct nf_floor *f);

void nf_floor_free(struct nf_floor *f);

/* True when the floor changes anything. */
bool nf_floor_active(const struct nf_floor *f);

/*
 * Put the floor under policy p, parsed from text (*text, *len, owned by the caller): p gets
 * the floor's rules appended (and raw_sockets deny if the floor says so), *text becomes the
 * policy with the floor's rules appended, so that the stored policy is the one enforced, and
 * source (of size srclen) gets "+floor:rules[A..B]" naming them. A policy in audit mode is
 * refused while the floor has rules: audit would let the floor's destinations through.
 * Returns 0, or -EPERM / -ENOMEM with a message in err.
 */
int nf_floor_apply(const struct nf_floor *f, struct nf_policy *p, char **text, size_t *len,
		   char *source, size_t srclen, struct nf_err *err);

#endif
