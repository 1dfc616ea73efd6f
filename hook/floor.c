// SPDX-License-Identifier: Apache-2.0
/* The host floor: see floor.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floor.h"
#include "netfence.h"
#include "policy.h"
#include "util.h"

static int parse_rules(struct nf_err *c, const json_t *v, struct nf_floor *f)
{
	json_t *doc;
	char *text;
	size_t i;
	int r;

	if (!json_is_array(v))
		return nf_json_type_error(c, "/floor/rules", v, "an array");
	/* The rules are policy rules: the policy reader judges them, inside a policy. */
	doc = json_pack("{s:i, s:s, s:O}", "version", 1, "default", "allow", "rules", v);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return nf_err_nomem(c);
	r = nf_policy_parse(text, strlen(text), &f->rules, c);
	free(text);
	/* Its pointers start at /rules: the floor's rules are at /floor/rules. */
	if (r == -EINVAL && c) {
		char msg[NF_ERR_MAX];

		memcpy(msg, c->msg, sizeof(msg));
		return nf_err_set(c, r, "/floor%s", msg);
	}
	if (r < 0)
		return r;
	for (i = 0; i < f->rules->nrules; i++)
		if (f->rules->rules[i].action != NF_ACTION_DENY)
			return nf_err_set(c, -EINVAL,
					  "/floor/rules/%zu/action: the floor holds deny rules "
					  "only (an allow cannot open what a policy denies)",
					  i);
	f->rules_json = json_deep_copy(v);
	return f->rules_json ? 0 : nf_err_nomem(c);
}

int nf_floor_parse(struct nf_err *c, const json_t *v, struct nf_floor *f)
{
	char q[NF_QUOTE_BUF];
	const char *key, *s;
	json_t *val;
	int r = 0;

	nf_floor_free(f);
	if (!json_is_object(v))
		return nf_json_type_error(c, "/floor", v, "an object");
	json_object_foreach((json_t *)v, key, val)
	{
		if (strcmp(key, "rules") == 0) {
			r = parse_rules(c, val, f);
		} else if (strcmp(key, "raw_sockets") == 0) {
			s = json_string_value(val);
			if (!s)
				r = nf_json_type_error(c, "/floor/raw_sockets", val, "a string");
			else if (strcmp(s, "deny") == 0 || strcmp(s, "policy") == 0)
				f->raw_deny = strcmp(s, "deny") == 0;
			else
				r = nf_err_set(
					c, -EINVAL,
					"/floor/raw_sockets: %s is not one of 'deny', 'policy'",
					nf_quote_str(q, s));
		} else {
			r = nf_err_set(c, -EINVAL, "/floor: unknown field %s",
				       nf_quote_str(q, key));
		}
		if (r < 0) {
			nf_floor_free(f);
			return r;
		}
	}
	return 0;
}

void nf_floor_free(struct nf_floor *f)
{
	nf_policy_free(f->rules);
	json_decref(f->rules_json);
	memset(f, 0, sizeof(*f));
}

bool nf_floor_active(const struct nf_floor *f)
{
	return (f->rules && f->rules->nrules > 0) || f->raw_deny;
}

static int copy_rule(struct nf_rule *dst, const struct nf_rule *src)
{
	*dst = *src;
	dst->ports = NULL;
	if (src->nports == 0)
		return 0;
	dst->ports = malloc(src->nports * sizeof(*src->ports));
	if (!dst->ports)
		return -ENOMEM;
	memcpy(dst->ports, src->ports, src->nports * sizeof(*src->ports));
	return 0;
}

/* The stored text: the policy as written, the floor's rules appended to its "rules". */
static int merge_text(const struct nf_floor *f, char **text, size_t *len)
{
	json_t *doc = json_loadb(*text, *len, 0, NULL), *rules;
	char *out;

	rules = json_object_get(doc, "rules");
	if (!json_is_array(rules) || json_array_extend(rules, f->rules_json) < 0) {
		json_decref(doc);
		return -ENOMEM;
	}
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!out)
		return -ENOMEM;
	free(*text);
	*text = out;
	*len = strlen(out);
	return 0;
}

int nf_floor_apply(const struct nf_floor *f, struct nf_policy *p, char **text, size_t *len,
		   char *source, size_t srclen, struct nf_err *err)
{
	size_t n = f->rules ? f->rules->nrules : 0, first = p->nrules, used;
	struct nf_rule *rules;

	if (!nf_floor_active(f))
		return 0;
	/* Audit allows everything, the floor's denials (raw sockets included) too. */
	if (p->mode == NF_MODE_AUDIT)
		return nf_err_set(err, -EPERM,
				  "/mode: 'audit' is refused under the host floor: audit would let "
				  "%s through",
				  n ? "the floor's denied destinations"
				    : "the floor's raw sockets");
	if (f->raw_deny)
		p->raw_sockets = NF_RAW_DENY;
	if (n == 0)
		goto done;
	if (first + n > NF_POLICY_MAX_RULES)
		return nf_err_set(err, -EPERM,
				  "/rules: %zu rules and the host floor's %zu are more than %d",
				  first, n, NF_POLICY_MAX_RULES);
	rules = realloc(p->rules, (first + n) * sizeof(*rules));
	if (!rules)
		goto nomem;
	p->rules = rules;
	for (size_t i = 0; i < n; i++) {
		if (copy_rule(&p->rules[first + i], &f->rules->rules[i]) < 0)
			goto nomem;
		p->nrules++;
	}
	if (text && merge_text(f, text, len) < 0)
		goto nomem;
done:
	used = strlen(source);
	if (n)
		snprintf(source + used, srclen - used, "+floor:rules[%zu..%zu]", first,
			 first + n - 1);
	else
		snprintf(source + used, srclen - used, "+floor");
	return 0;
nomem:
	return nf_err_nomem(err);
}
