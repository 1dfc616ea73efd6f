// SPDX-License-Identifier: Apache-2.0
/* OCI state and bundle config.json: see oci.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "json.h"
#include "json_scan.h"
#include "oci.h"
#include "pins.h"
#include "state.h"
#include "util.h"

#define ID_RULE NF_OCI_ID_RULE

/* The names derived from an id (state.h, pins.h) fit NAME_MAX at the bounds of NF_OCI_ID_RULE. */
_Static_assert(NF_OCI_ID_MAX + sizeof(NF_STATE_TMP_SUFFIX) - 1 == NAME_MAX,
	       "<id>.json.tmp, the longest name in the state dir, fits NAME_MAX");
_Static_assert(sizeof(NF_STATE_SUFFIX) <= sizeof(NF_STATE_TMP_SUFFIX),
	       "the temporary state file has the longest name");
_Static_assert(NF_OCI_ID_ENCODED_MAX + sizeof(NF_PINS_NEW_SUFFIX) - 1 == NAME_MAX &&
		       sizeof(NF_PINS_OLD_SUFFIX) == sizeof(NF_PINS_NEW_SUFFIX),
	       "<name>@new and <name>@old, the longest names in the pin store, fit NAME_MAX");

/* A copy of string v, or a type error. NULL v is "missing" when required, else leaves *ret. */
static int get_string(const struct nf_json_ctx *c, const char *ptr, const json_t *v, bool required,
		      char **ret)
{
	char *s;

	if (!v)
		return required ? nf_json_fail(c, -EINVAL, "%s: missing", ptr) : 0;
	if (!json_is_string(v))
		return nf_json_type_error(c, ptr, v, "a string");
	s = strdup(json_string_value(v));
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static void annotations_free(struct nf_oci_annotations *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].key);
		free(a->v[i].value);
	}
	free(a->v);
	a->n = 0;
	a->v = NULL;
}

/* An object of strings, or null; *ret is filled as it goes and freed by the caller. */
static int get_annotations(const struct nf_json_ctx *c, const char *ptr, const json_t *v,
			   struct nf_oci_annotations *ret)
{
	char p[NF_JSON_PTR_MAX];
	const char *key;
	json_t *val;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return nf_json_type_error(c, ptr, v, "an object");
	ret->v = calloc(json_object_size(v) ?: 1, sizeof(*ret->v));
	if (!ret->v)
		return -ENOMEM;
	json_object_foreach((json_t *)v, key, val)
	{
		struct nf_oci_annotation *a = &ret->v[ret->n];

		if (!json_is_string(val))
			return nf_json_type_error(c, nf_json_ptr_key(p, ptr, key), val, "a string");
		a->key = strdup(key);
		a->value = strdup(json_string_value(val));
		ret->n++;
		if (!a->key || !a->value)
			return -ENOMEM;
	}
	return 0;
}

const char *nf_oci_annotations_get(const struct nf_oci_annotations *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, key) == 0)
			return a->v[i].value;
	return NULL;
}

const char *nf_oci_annotation(const struct nf_oci_state *s, const char *key)
{
	return nf_oci_annotations_get(&s->annotations, key);
}

int nf_oci_id_valid(const char *id)
{
	size_t len;

	if (!id)
		return -EINVAL;
	len = strnlen(id, NF_OCI_ID_MAX + 1);
	if (len == 0 || len > NF_OCI_ID_MAX)
		return -EINVAL;
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char ch = id[i];
		bool alnum = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			     (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || !strchr("_.+-", ch)))
			return -EINVAL;
	}
	return nf_pins_name_len(id) > NF_OCI_ID_ENCODED_MAX ? -EINVAL : 0;
}

static void state_clear(struct nf_oci_state *s)
{
	free(s->oci_version);
	free(s->id);
	free(s->status);
	free(s->bundle);
	annotations_free(&s->annotations);
	*s = (struct nf_oci_state){ 0 };
}

void nf_oci_state_free(struct nf_oci_state *s)
{
	if (!s)
		return;
	state_clear(s);
	free(s);
}

/* brief: only id and status, what a detach reads. */
static int state_from_json(const struct nf_json_ctx *c, const json_t *doc, bool brief,
			   struct nf_oci_state *s)
{
	char q[NF_QUOTE_BUF];
	const json_t *pid;
	long long v = 0;
	int r;

	if (!brief) {
		r = get_string(c, "/ociVersion", json_object_get(doc, "ociVersion"), false,
			       &s->oci_version);
		if (r < 0)
			return r;
	}
	r = get_string(c, "/id", json_object_get(doc, "id"), true, &s->id);
	if (r < 0)
		return r;
	if (nf_oci_id_valid(s->id) < 0)
		return nf_json_fail(c, -EINVAL, "/id: %s is not a valid container id (" ID_RULE ")",
				    nf_quote_str(q, s->id));
	r = get_string(c, "/status", json_object_get(doc, "status"), true, &s->status);
	if (r < 0 || brief)
		return r;
	pid = json_object_get(doc, "pid");
	if (pid) {
		r = nf_json_get_int(c, "/pid", pid, 0, INT_MAX, &v);
		if (r < 0)
			return r;
		s->pid = (int)v;
		s->has_pid = true;
	}
	r = get_string(c, "/bundle", json_object_get(doc, "bundle"), true, &s->bundle);
	if (r < 0)
		return r;
	return get_annotations(c, "/annotations", json_object_get(doc, "annotations"),
			       &s->annotations);
}

/* The slow way, which says what is wrong: jansson's tree, checked field by field. */
static int state_from_jansson(const struct nf_json_ctx *c, const char *buf, size_t len, bool brief,
			      struct nf_oci_state *s)
{
	json_t *doc;
	int r;

	r = nf_json_load_object(c, buf, len, NF_OCI_STATE_MAX, &doc);
	if (r < 0)
		return r;
	r = state_from_json(c, doc, brief, s);
	json_decref(doc);
	return r;
}

/*
 * The fast way: the scanner's spans. It answers -EAGAIN for anything state_from_json() would
 * refuse, so that every message comes from one place, and -ENOMEM.
 */
static const struct nf_json_scan_member *scan_get(const struct nf_json_scan_doc *d, size_t parent,
						  const char *key)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->m[i].parent == parent && nf_json_scan_streq(&d->m[i].key, key))
			return &d->m[i];
	return NULL;
}

static int scan_string_dup(const struct nf_json_scan_member *m, bool required, char **ret)
{
	if (!m)
		return required ? -EAGAIN : 0;
	if (m->val.type != NF_JSON_SCAN_STRING)
		return -EAGAIN;
	*ret = nf_json_scan_strdup(&m->val);
	return *ret ? 0 : -ENOMEM;
}

static int scan_annotations(const struct nf_json_scan_doc *d, const struct nf_json_scan_member *a,
			    struct nf_oci_annotations *ret)
{
	size_t parent, n = 0;

	if (!a || a->val.type == NF_JSON_SCAN_NULL)
		return 0;
	if (a->val.type != NF_JSON_SCAN_OBJECT)
		return -EAGAIN;
	parent = (size_t)(a - d->m);
	for (size_t i = parent + 1; i < d->n; i++)
		n += d->m[i].parent == parent;
	ret->v = calloc(n ?: 1, sizeof(*ret->v));
	if (!ret->v)
		return -ENOMEM;
	for (size_t i = parent + 1; i < d->n; i++) {
		struct nf_oci_annotation *an = &ret->v[ret->n];

		if (d->m[i].parent != parent)
			continue;
		if (d->m[i].val.type != NF_JSON_SCAN_STRING)
			return -EAGAIN;
		an->key = nf_json_scan_strdup(&d->m[i].key);
		an->value = nf_json_scan_strdup(&d->m[i].val);
		ret->n++;
		if (!an->key || !an->value)
			return -ENOMEM;
	}
	return 0;
}

static int state_from_scan(const struct nf_json_scan_doc *d, bool brief, struct nf_oci_state *s)
{
	const size_t top = NF_JSON_SCAN_TOP;
	const struct nf_json_scan_member *pid;
	long long v;
	int r;

	if (d->top != NF_JSON_SCAN_OBJECT)
		return -EAGAIN;
	r = scan_string_dup(scan_get(d, top, "id"), true, &s->id);
	if (r == 0 && nf_oci_id_valid(s->id) < 0)
		r = -EAGAIN;
	if (r == 0)
		r = scan_string_dup(scan_get(d, top, "status"), true, &s->status);
	if (r < 0 || brief)
		return r;
	r = scan_string_dup(scan_get(d, top, "ociVersion"), false, &s->oci_version);
	if (r == 0)
		r = scan_string_dup(scan_get(d, top, "bundle"), true, &s->bundle);
	if (r < 0)
		return r;
	pid = scan_get(d, top, "pid");
	if (pid) {
		if (pid->val.type != NF_JSON_SCAN_INTEGER)
			return -EAGAIN;
		v = nf_json_scan_integer(&pid->val);
		if (v < 0 || v > INT_MAX)
			return -EAGAIN;
		s->pid = (int)v;
		s->has_pid = true;
	}
	return scan_annotations(d, scan_get(d, top, "annotations"), &s->annotations);
}

static int state_from_scanner(const char *buf, size_t len, bool brief, struct nf_oci_state *s)
{
	struct nf_json_scan_doc d;
	int r;

	if (len > NF_OCI_STATE_MAX)
		return -EAGAIN;
	/* A detach never looks into the annotations: their members need no record. */
	r = nf_json_scan(buf, len, brief ? 1 : 2, &d);
	if (r < 0)
		return r == -ENOMEM ? r : -EAGAIN;
	r = state_from_scan(&d, brief, s);
	nf_json_scan_free(&d);
	return r;
}

static int state_parse(const char *buf, size_t len, bool brief, struct nf_oci_state **ret,
		       char *err, size_t errlen)
{
	const struct nf_json_ctx c = { err, errlen, "" };
	struct nf_oci_state *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return nf_json_fail(&c, -ENOMEM, "out of memory");
	/* jansson only for documents the scanner refuses: it says what is wrong, and where. */
	r = state_from_scanner(buf, len, brief, s);
	if (r == -EAGAIN) {
		state_clear(s);
		r = state_from_jansson(&c, buf, len, brief, s);
	}
	if (r < 0) {
		nf_oci_state_free(s);
		return r == -ENOMEM ? nf_json_fail(&c, r, "out of memory") : r;
	}
	*ret = s;
	return 0;
}

int nf_oci_state_parse(const char *buf, size_t len, struct nf_oci_state **ret, char *err,
		       size_t errlen)
{
	return state_parse(buf, len, false, ret, err, errlen);
}

int nf_oci_state_parse_brief(const char *buf, size_t len, struct nf_oci_state **ret, char *err,
			     size_t errlen)
{
	return state_parse(buf, len, true, ret, err, errlen);
}

static void config_clear(struct nf_oci_config *c)
{
	annotations_free(&c->annotations);
	for (size_t i = 0; i < c->n_caps; i++)
		free(c->caps[i]);
	free(c->caps);
	free(c->netns_path);
	free(c->userns_path);
	free(c->cgroupns_path);
	free(c->pidns_path);
	for (size_t i = 0; i < c->n_mounts; i++) {
		free(c->mounts[i].type);
		free(c->mounts[i].source);
	}
	free(c->mounts);
	*c = (struct nf_oci_config){ 0 };
}

void nf_oci_config_free(struct nf_oci_config *c)
{
	if (!c)
		return;
	config_clear(c);
	free(c);
}

/* process.capabilities: append every set's names to cfg->caps. */
static int get_caps(const struct nf_json_ctx *c, const json_t *caps, struct nf_oci_config *cfg)
{
	static const char *const sets[] = { "bounding", "effective", "inheritable", "permitted",
					    "ambient" };
	char p[NF_JSON_PTR_MAX], pi[NF_JSON_PTR_MAX];
	size_t i, total = 0;
	json_t *set, *name;
	int r;

	if (!caps || json_is_null(caps))
		return 0;
	if (!json_is_object(caps))
		return nf_json_type_error(c, "/process/capabilities", caps, "an object");
	cfg->has_capabilities = true;
	for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
		set = json_object_get(caps, sets[k]);
		nf_json_ptr_key(p, "/process/capabilities", sets[k]);
		if (set && !json_is_null(set) && !json_is_array(set))
			return nf_json_type_error(c, p, set, "an array");
		total += json_array_size(set);
	}
	cfg->caps = calloc(total ?: 1, sizeof(*cfg->caps));
	if (!cfg->caps)
		return -ENOMEM;
	for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
		nf_json_ptr_key(p, "/process/capabilities", sets[k]);
		json_array_foreach(json_object_get(caps, sets[k]), i, name)
		{
			r = get_string(c, nf_json_ptr_index(pi, p, i), name, true,
				       &cfg->caps[cfg->n_caps]);
			if (r < 0)
				return r;
			cfg->n_caps++;
		}
	}
	return 0;
}

/* linux.namespaces: note the network, user and cgroup entries. */
static int get_namespaces(const struct nf_json_ctx *c, const json_t *nss, struct nf_oci_config *cfg)
{
	char p[NF_JSON_PTR_MAX], pf[NF_JSON_PTR_MAX], q[NF_QUOTE_BUF];
	const json_t *ns, *t, *path;
	const char *type;
	char **ret_path;
	bool *has;
	size_t i;

	if (!nss || json_is_null(nss))
		return 0;
	if (!json_is_array(nss))
		return nf_json_type_error(c, "/linux/namespaces", nss, "an array");
	json_array_foreach(nss, i, ns)
	{
		nf_json_ptr_index(p, "/linux/namespaces", i);
		if (!json_is_object(ns))
			return nf_json_type_error(c, p, ns, "an object");
		t = json_object_get(ns, "type");
		if (!t)
			return nf_json_fail(c, -EINVAL, "%s: missing",
					    nf_json_ptr_key(pf, p, "type"));
		if (!json_is_string(t))
			return nf_json_type_error(c, nf_json_ptr_key(pf, p, "type"), t, "a string");
		path = json_object_get(ns, "path");
		if (path && !json_is_string(path))
			return nf_json_type_error(c, nf_json_ptr_key(pf, p, "path"), path,
						  "a string");

		type = json_string_value(t);
		if (strcmp(type, "network") == 0) {
			has = &cfg->has_netns;
			ret_path = &cfg->netns_path;
		} else if (strcmp(type, "user") == 0) {
			has = &cfg->has_userns;
			ret_path = &cfg->userns_path;
		} else if (strcmp(type, "cgroup") == 0) {
			has = &cfg->has_cgroupns;
			ret_path = &cfg->cgroupns_path;
		} else if (strcmp(type, "pid") == 0) {
			has = &cfg->has_pidns;
			ret_path = &cfg->pidns_path;
		} else {
			continue;
		}
		if (*has)
			return nf_json_fail(c, -EINVAL, "%s: second %s namespace", p,
					    nf_quote_str(q, type));
		*has = true;
		/* No path, or "" as runc reads it: a new namespace. */
		if (path && json_string_length(path) > 0) {
			*ret_path = strdup(json_string_value(path));
			if (!*ret_path)
				return -ENOMEM;
		}
	}
	return 0;
}

/* The mount options the exposure checks read; the last of "ro" and "rw" (of "rro" and "rrw")
 * wins, as in mount(8). */
static const char *const mount_options[] = { "bind", "rbind", "ro", "rw", "rro", "rrw" };

static void mount_option(struct nf_oci_mount *m, const char *opt)
{
	if (strcmp(opt, "bind") == 0)
		m->bind = true;
	else if (strcmp(opt, "rbind") == 0)
		m->rbind = m->bind = true;
	else if (strcmp(opt, "ro") == 0 || strcmp(opt, "rw") == 0)
		m->ro = opt[1] == 'o';
	else if (strcmp(opt, "rro") == 0 || strcmp(opt, "rrw") == 0)
		m->rro = opt[2] == 'o';
}

/* mounts: type, source, whether submounts come along and whether it is read-only, for the
 * exposure checks. */
static int get_mount(const struct nf_json_ctx *c, const char *p, const json_t *m,
		     struct nf_oci_mount *ret)
{
	char pf[NF_JSON_PTR_MAX], po[NF_JSON_PTR_MAX];
	const json_t *opts, *o;
	size_t i;
	int r;

	if (!json_is_object(m))
		return nf_json_type_error(c, p, m, "an object");
	r = get_string(c, nf_json_ptr_key(pf, p, "type"), json_object_get(m, "type"), false,
		       &ret->type);
	if (r == 0)
		r = get_string(c, nf_json_ptr_key(pf, p, "source"), json_object_get(m, "source"),
			       false, &ret->source);
	if (r < 0)
		return r;
	ret->bind = ret->type && strcmp(ret->type, "bind") == 0;
	opts = json_object_get(m, "options");
	if (!opts || json_is_null(opts))
		return 0;
	nf_json_ptr_key(pf, p, "options");
	if (!json_is_array(opts))
		return nf_json_type_error(c, pf, opts, "an array");
	json_array_foreach(opts, i, o)
	{
		if (!json_is_string(o))
			return nf_json_type_error(c, nf_json_ptr_index(po, pf, i), o, "a string");
		mount_option(ret, json_string_value(o));
	}
	return 0;
}

static int get_mounts(const struct nf_json_ctx *c, const json_t *mounts, struct nf_oci_config *cfg)
{
	char p[NF_JSON_PTR_MAX];
	const json_t *m;
	size_t i;
	int r;

	if (!mounts || json_is_null(mounts))
		return 0;
	if (!json_is_array(mounts))
		return nf_json_type_error(c, "/mounts", mounts, "an array");
	cfg->mounts = calloc(json_array_size(mounts) ?: 1, sizeof(*cfg->mounts));
	if (!cfg->mounts)
		return -ENOMEM;
	json_array_foreach(mounts, i, m)
	{
		cfg->n_mounts++;
		r = get_mount(c, nf_json_ptr_index(p, "/mounts", i), m, &cfg->mounts[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int config_from_json(const struct nf_json_ctx *c, const json_t *doc,
			    struct nf_oci_config *cfg)
{
	const json_t *process, *linux_;
	int r;

	r = get_annotations(c, "/annotations", json_object_get(doc, "annotations"),
			    &cfg->annotations);
	if (r < 0)
		return r;
	r = get_mounts(c, json_object_get(doc, "mounts"), cfg);
	if (r < 0)
		return r;
	process = json_object_get(doc, "process");
	if (process && !json_is_null(process)) {
		if (!json_is_object(process))
			return nf_json_type_error(c, "/process", process, "an object");
		r = get_caps(c, json_object_get(process, "capabilities"), cfg);
		if (r < 0)
			return r;
	}
	linux_ = json_object_get(doc, "linux");
	if (linux_ && !json_is_null(linux_)) {
		if (!json_is_object(linux_))
			return nf_json_type_error(c, "/linux", linux_, "an object");
		r = get_namespaces(c, json_object_get(linux_, "namespaces"), cfg);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The fast way for config.json: config_from_json() on the scanner's spans. Like the state's, it
 * answers -EAGAIN for anything config_from_json() would refuse, and -ENOMEM.
 */

/* Member key of object span obj (a value the scanner recorded or walked), or NULL. */
static bool walk_get(const struct nf_json_scan_span *obj, const char *key,
		     struct nf_json_scan_span *ret)
{
	struct nf_json_scan_span k, v;
	struct nf_json_scan_iter it;

	nf_json_scan_iter_init(&it, obj);
	while (nf_json_scan_iter_next(&it, &k, &v)) {
		if (nf_json_scan_streq(&k, key)) {
			*ret = v;
			return true;
		}
	}
	return false;
}

/* Absent or null: both mean "not given" to config_from_json(). */
static bool given(const struct nf_json_scan_span *v)
{
	return v->p && v->type != NF_JSON_SCAN_NULL;
}

/* The elements of array v, which must all be strings: their number. */
static int walk_strings(const struct nf_json_scan_span *v, size_t *ret)
{
	struct nf_json_scan_span e;
	struct nf_json_scan_iter it;
	size_t n = 0;

	nf_json_scan_iter_init(&it, v);
	while (nf_json_scan_iter_next(&it, NULL, &e)) {
		if (e.type != NF_JSON_SCAN_STRING)
			return -EAGAIN;
		n++;
	}
	*ret = n;
	return 0;
}

static int walk_string_dup(const struct nf_json_scan_span *v, char **ret)
{
	if (!v->p)
		return 0;
	if (v->type != NF_JSON_SCAN_STRING)
		return -EAGAIN;
	*ret = nf_json_scan_strdup(v);
	return *ret ? 0 : -ENOMEM;
}

static int scan_caps(const struct nf_json_scan_span *caps, struct nf_oci_config *cfg)
{
	static const char *const sets[] = { "bounding", "effective", "inheritable", "permitted",
					    "ambient" };
	struct nf_json_scan_span set[5] = { 0 }, e;
	struct nf_json_scan_iter it;
	size_t total = 0, n;
	int r;

	if (!given(caps))
		return 0;
	if (caps->type != NF_JSON_SCAN_OBJECT)
		return -EAGAIN;
	cfg->has_capabilities = true;
	for (size_t k = 0; k < 5; k++) {
		if (!walk_get(caps, sets[k], &set[k]) || set[k].type == NF_JSON_SCAN_NULL)
			continue;
		if (set[k].type != NF_JSON_SCAN_ARRAY)
			return -EAGAIN;
		r = walk_strings(&set[k], &n);
		if (r < 0)
			return r;
		total += n;
	}
	cfg->caps = calloc(total ?: 1, sizeof(*cfg->caps));
	if (!cfg->caps)
		return -ENOMEM;
	for (size_t k = 0; k < 5; k++) {
		if (set[k].type != NF_JSON_SCAN_ARRAY)
			continue;
		nf_json_scan_iter_init(&it, &set[k]);
		while (nf_json_scan_iter_next(&it, NULL, &e)) {
			cfg->caps[cfg->n_caps] = nf_json_scan_strdup(&e);
			if (!cfg->caps[cfg->n_caps])
				return -ENOMEM;
			cfg->n_caps++;
		}
	}
	return 0;
}

/* One entry of linux.namespaces: the network, user and cgroup ones are noted, at most one of
 * each. */
static int scan_namespace(const struct nf_json_scan_span *ns, struct nf_oci_config *cfg)
{
	struct nf_json_scan_span type = { 0 }, path = { 0 };
	char **ret_path;
	bool *has;

	if (ns->type != NF_JSON_SCAN_OBJECT)
		return -EAGAIN;
	walk_get(ns, "type", &type);
	walk_get(ns, "path", &path);
	if (type.type != NF_JSON_SCAN_STRING || !type.p)
		return -EAGAIN;
	if (path.p && path.type != NF_JSON_SCAN_STRING)
		return -EAGAIN;
	if (nf_json_scan_streq(&type, "network")) {
		has = &cfg->has_netns;
		ret_path = &cfg->netns_path;
	} else if (nf_json_scan_streq(&type, "user")) {
		has = &cfg->has_userns;
		ret_path = &cfg->userns_path;
	} else if (nf_json_scan_streq(&type, "cgroup")) {
		has = &cfg->has_cgroupns;
		ret_path = &cfg->cgroupns_path;
	} else if (nf_json_scan_streq(&type, "pid")) {
		has = &cfg->has_pidns;
		ret_path = &cfg->pidns_path;
	} else {
		return 0;
	}
	if (*has)
		return -EAGAIN; /* a second one: config_from_json() says so */
	*has = true;
	/* No path, or "" as runc reads it: a new namespace. */
	return path.len > 0 ? walk_string_dup(&path, ret_path) : 0;
}

static int scan_namespaces(const struct nf_json_scan_span *nss, struct nf_oci_config *cfg)
{
	struct nf_json_scan_span ns;
	struct nf_json_scan_iter it;
	int r;

	if (!given(nss))
		return 0;
	if (nss->type != NF_JSON_SCAN_ARRAY)
		return -EAGAIN;
	nf_json_scan_iter_init(&it, nss);
	while (nf_json_scan_iter_next(&it, NULL, &ns)) {
		r = scan_namespace(&ns, cfg);
		if (r < 0)
			return r;
	}
	return 0;
}

static int scan_mount(const struct nf_json_scan_span *m, struct nf_oci_mount *ret)
{
	struct nf_json_scan_span type = { 0 }, source = { 0 }, opts = { 0 }, o;
	struct nf_json_scan_iter it;
	size_t n;
	int r;

	if (m->type != NF_JSON_SCAN_OBJECT)
		return -EAGAIN;
	walk_get(m, "type", &type);
	walk_get(m, "source", &source);
	walk_get(m, "options", &opts);
	r = walk_string_dup(&type, &ret->type);
	if (r == 0)
		r = walk_string_dup(&source, &ret->source);
	if (r == 0)
		ret->bind = ret->type && strcmp(ret->type, "bind") == 0;
	if (r < 0 || !given(&opts))
		return r;
	if (opts.type != NF_JSON_SCAN_ARRAY)
		return -EAGAIN;
	r = walk_strings(&opts, &n);
	if (r < 0)
		return r;
	nf_json_scan_iter_init(&it, &opts);
	while (nf_json_scan_iter_next(&it, NULL, &o))
		for (size_t i = 0; i < sizeof(mount_options) / sizeof(mount_options[0]); i++)
			if (nf_json_scan_streq(&o, mount_options[i]))
				mount_option(ret, mount_options[i]);
	return 0;
}

static int scan_mounts(const struct nf_json_scan_span *mounts, struct nf_oci_config *cfg)
{
	struct nf_json_scan_span m;
	struct nf_json_scan_iter it;
	int r;

	if (!given(mounts))
		return 0;
	if (mounts->type != NF_JSON_SCAN_ARRAY)
		return -EAGAIN;
	cfg->mounts = calloc(nf_json_scan_count(mounts) ?: 1, sizeof(*cfg->mounts));
	if (!cfg->mounts)
		return -ENOMEM;
	nf_json_scan_iter_init(&it, mounts);
	while (nf_json_scan_iter_next(&it, NULL, &m)) {
		r = scan_mount(&m, &cfg->mounts[cfg->n_mounts++]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The value of member key of recorded member parent (or the top level), absent: p NULL. */
static struct nf_json_scan_span scan_val(const struct nf_json_scan_doc *d, size_t parent,
					 const char *key)
{
	const struct nf_json_scan_member *m = scan_get(d, parent, key);

	return m ? m->val : (struct nf_json_scan_span){ 0 };
}

/* process or linux: absent, null or an object; its index among the recorded members. */
static int scan_section(const struct nf_json_scan_doc *d, const char *key, size_t *ret)
{
	const struct nf_json_scan_member *m = scan_get(d, NF_JSON_SCAN_TOP, key);

	*ret = NF_JSON_SCAN_TOP;
	if (!m || m->val.type == NF_JSON_SCAN_NULL)
		return 0;
	if (m->val.type != NF_JSON_SCAN_OBJECT)
		return -EAGAIN;
	*ret = (size_t)(m - d->m);
	return 0;
}

static int config_from_scan(const struct nf_json_scan_doc *d, struct nf_oci_config *cfg)
{
	const size_t top = NF_JSON_SCAN_TOP;
	struct nf_json_scan_span v;
	size_t process, linux_;
	int r;

	if (d->top != NF_JSON_SCAN_OBJECT)
		return -EAGAIN;
	r = scan_annotations(d, scan_get(d, top, "annotations"), &cfg->annotations);
	if (r == 0) {
		v = scan_val(d, top, "mounts");
		r = scan_mounts(&v, cfg);
	}
	if (r == 0)
		r = scan_section(d, "process", &process);
	if (r == 0 && process != top) {
		v = scan_val(d, process, "capabilities");
		r = scan_caps(&v, cfg);
	}
	if (r == 0)
		r = scan_section(d, "linux", &linux_);
	if (r == 0 && linux_ != top) {
		v = scan_val(d, linux_, "namespaces");
		r = scan_namespaces(&v, cfg);
	}
	return r;
}

static int config_from_scanner(const char *buf, size_t len, struct nf_oci_config *cfg)
{
	struct nf_json_scan_doc d;
	int r;

	if (len > NF_OCI_CONFIG_MAX)
		return -EAGAIN;
	/* Level 2 records process.* and linux.*, and the annotations; the rest is walked. */
	r = nf_json_scan(buf, len, 2, &d);
	if (r < 0)
		return r == -ENOMEM ? r : -EAGAIN;
	r = config_from_scan(&d, cfg);
	nf_json_scan_free(&d);
	return r;
}

/* The slow way, which says what is wrong. */
static int config_from_jansson(const struct nf_json_ctx *c, const char *buf, size_t len,
			       struct nf_oci_config *cfg)
{
	json_t *doc;
	int r;

	r = nf_json_load_object(c, buf, len, NF_OCI_CONFIG_MAX, &doc);
	if (r < 0)
		return r;
	r = config_from_json(c, doc, cfg);
	json_decref(doc);
	return r;
}

/*
 * A runtime's config.json carries the annotations too, policy included, and jansson's tree of
 * them is dear (BENCHMARKS.md). Scanner first, as for the state; jansson only for
 * what the scanner or the field checks refuse, so that the messages stay the same.
 */
static int config_parse(const struct nf_json_ctx *c, const char *buf, size_t len,
			struct nf_oci_config **ret)
{
	struct nf_oci_config *cfg;
	int r;

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return nf_json_fail(c, -ENOMEM, "out of memory");
	r = config_from_scanner(buf, len, cfg);
	if (r == -EAGAIN) {
		config_clear(cfg);
		r = config_from_jansson(c, buf, len, cfg);
	}
	if (r < 0) {
		nf_oci_config_free(cfg);
		return r == -ENOMEM ? nf_json_fail(c, r, "out of memory") : r;
	}
	*ret = cfg;
	return 0;
}

int nf_oci_config_parse(const char *buf, size_t len, struct nf_oci_config **ret, char *err,
			size_t errlen)
{
	const struct nf_json_ctx c = { err, errlen, "" };

	return config_parse(&c, buf, len, ret);
}

int nf_oci_config_parse_jansson(const char *buf, size_t len, struct nf_oci_config **ret, char *err,
				size_t errlen)
{
	const struct nf_json_ctx c = { err, errlen, "" };
	struct nf_oci_config *cfg = calloc(1, sizeof(*cfg));
	int r;

	if (!cfg)
		return nf_json_fail(&c, -ENOMEM, "out of memory");
	r = config_from_jansson(&c, buf, len, cfg);
	if (r < 0) {
		nf_oci_config_free(cfg);
		return r == -ENOMEM ? nf_json_fail(&c, r, "out of memory") : r;
	}
	*ret = cfg;
	return 0;
}

int nf_oci_config_load(const char *bundle, struct nf_oci_config **ret, char *err, size_t errlen)
{
	char q[NF_QUOTE_BUF], prefix[NF_QUOTE_BUF + 32], path[PATH_MAX];
	const struct nf_json_ctx c = { err, errlen, prefix };
	size_t len = 0;
	char *buf = NULL;
	int r;

	snprintf(prefix, sizeof(prefix), "bundle %s: ", nf_quote_str(q, bundle));
	if (bundle[0] != '/')
		return nf_json_fail(&c, -EINVAL, "not an absolute path");
	if ((size_t)snprintf(path, sizeof(path), "%s/config.json", bundle) >= sizeof(path))
		return nf_json_fail(&c, -ENAMETOOLONG, "path too long");
	r = nf_read_regular_file(path, NF_OCI_CONFIG_MAX, &buf, &len);
	if (r == -EFBIG)
		return nf_json_fail(&c, r, "config.json is more than %d bytes", NF_OCI_CONFIG_MAX);
	if (r == -EINVAL)
		return nf_json_fail(&c, r, "config.json is not a regular file");
	if (r < 0)
		return nf_json_fail(&c, r, "cannot read config.json: %s", strerror(-r));
	snprintf(prefix, sizeof(prefix), "bundle %s: config.json: ", q);
	r = config_parse(&c, buf, len, ret);
	free(buf);
	return r;
}

bool nf_oci_config_has_cap(const struct nf_oci_config *c, const char *cap)
{
	if (!c->has_capabilities)
		return true;
	for (size_t i = 0; i < c->n_caps; i++)
		if (strcasecmp(c->caps[i], cap) == 0)
			return true;
	return false;
}
