// SPDX-License-Identifier: Apache-2.0
/* OCI state and bundle config.json: see oci.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* An object of strings, or null, whose members d recorded (level 2). *ret is filled as it goes
 * and freed by the caller. */
static int read_annotations(const struct nf_json_scan_doc *d, const struct nf_json_scan_span *v,
			    struct nf_err *e, struct nf_oci_annotations *ret)
{
	const struct nf_json_path *at = NF_JSON_KEY(NULL, "annotations");
	size_t parent = 0, n = 0;

	if (!v->p || v->type == NF_JSON_SCAN_NULL)
		return 0;
	if (v->type != NF_JSON_SCAN_OBJECT)
		return nf_json_type_fail(e, at, v, "an object");
	while (d->m[parent].parent != NF_JSON_SCAN_TOP || d->m[parent].val.p != v->p)
		parent++;
	for (size_t i = parent + 1; i < d->n; i++)
		n += d->m[i].parent == parent;
	ret->v = calloc(n ?: 1, sizeof(*ret->v));
	if (!ret->v)
		return nf_err_nomem(e);
	for (size_t i = parent + 1; i < d->n; i++) {
		struct nf_oci_annotation *a = &ret->v[ret->n];
		int r;

		if (d->m[i].parent != parent)
			continue;
		a->key = nf_json_scan_strdup(&d->m[i].key);
		if (!a->key)
			return nf_err_nomem(e);
		ret->n++;
		r = nf_json_strdup(&d->m[i].val, NF_JSON_KEY(at, a->key), e, &a->value);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The state's fields; a detach reads the first STATE_BRIEF of them. */
enum state_field { S_ID, S_STATUS, S_OCI_VERSION, S_PID, S_BUNDLE, S_ANNOTATIONS, S_NFIELDS };
#define STATE_BRIEF (S_STATUS + 1)
static const struct nf_json_field state_fields[] = {
	[S_ID] = { "id", true },
	[S_STATUS] = { "status", true },
	[S_OCI_VERSION] = { "ociVersion", false },
	[S_PID] = { "pid", false },
	[S_BUNDLE] = { "bundle", true },
	[S_ANNOTATIONS] = { "annotations", false },
};
_Static_assert(NF_ARRAY_SIZE(state_fields) == S_NFIELDS, "one state_fields[] entry per field");

static int state_read(const struct nf_json_scan_doc *d, bool brief, struct nf_err *e,
		      struct nf_oci_state *s)
{
	struct nf_json_scan_span f[S_NFIELDS];
	char q[NF_QUOTE_BUF];
	long long pid;
	int r;

	r = nf_json_read_members(d, NF_JSON_SCAN_TOP, state_fields, brief ? STATE_BRIEF : S_NFIELDS,
				 false, f, NULL, e);
	if (r == 0)
		r = nf_json_strdup(&f[S_ID], NF_JSON_KEY(NULL, "id"), e, &s->id);
	if (r < 0)
		return r;
	if (nf_oci_id_valid(s->id) < 0)
		return nf_err_set(e, -EINVAL, "/id: %s is not a valid container id (" ID_RULE ")",
				  nf_quote_str(q, s->id));
	r = nf_json_strdup(&f[S_STATUS], NF_JSON_KEY(NULL, "status"), e, &s->status);
	if (r < 0 || brief)
		return r;
	if (f[S_OCI_VERSION].p)
		r = nf_json_strdup(&f[S_OCI_VERSION], NF_JSON_KEY(NULL, "ociVersion"), e,
				   &s->oci_version);
	if (r == 0 && f[S_PID].p) {
		r = nf_json_integer(&f[S_PID], NF_JSON_KEY(NULL, "pid"), 0, INT_MAX, e, &pid);
		s->pid = (int)pid;
		s->has_pid = r == 0;
	}
	if (r == 0)
		r = nf_json_strdup(&f[S_BUNDLE], NF_JSON_KEY(NULL, "bundle"), e, &s->bundle);
	if (r == 0)
		r = read_annotations(d, &f[S_ANNOTATIONS], e, &s->annotations);
	return r;
}

/* The top level of a document of at most max bytes, recorded to levels, and an object. */
static int scan_object(const char *buf, size_t len, size_t max, unsigned int levels,
		       struct nf_json_scan_doc *d, struct nf_err *e)
{
	int r;

	if (len > max)
		return nf_err_set(e, -EFBIG, "the document is %zu bytes, more than the %zu allowed",
				  len, max);
	r = nf_json_scan(buf, len, levels, d, e);
	if (r == 0 && d->top != NF_JSON_SCAN_OBJECT) {
		nf_json_scan_free(d);
		return nf_err_set(e, -EINVAL, "(root): expected an object, got an array");
	}
	return r;
}

static int state_parse(const char *buf, size_t len, bool brief, struct nf_oci_state **ret,
		       struct nf_err *e)
{
	struct nf_json_scan_doc d;
	struct nf_oci_state *s;
	int r;

	/* A detach never looks into the annotations: their members need no record. */
	r = scan_object(buf, len, NF_OCI_STATE_MAX, brief ? 1 : 2, &d, e);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	r = s ? state_read(&d, brief, e, s) : nf_err_nomem(e);
	nf_json_scan_free(&d);
	if (r < 0) {
		nf_oci_state_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int nf_oci_state_parse(const char *buf, size_t len, struct nf_oci_state **ret, struct nf_err *err)
{
	return state_parse(buf, len, false, ret, err);
}

int nf_oci_state_parse_brief(const char *buf, size_t len, struct nf_oci_state **ret,
			     struct nf_err *err)
{
	return state_parse(buf, len, true, ret, err);
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

/* Absent or null: both mean "not given". */
static bool given(const struct nf_json_scan_span *v)
{
	return v->p && v->type != NF_JSON_SCAN_NULL;
}

/* An array of strings, or null: each one to fn. */
static int read_strings(const struct nf_json_scan_span *v, const struct nf_json_path *at,
			struct nf_err *e, int (*fn)(const struct nf_json_scan_span *, void *),
			void *data)
{
	struct nf_json_scan_span el;
	struct nf_json_scan_iter it;
	int r;

	if (!given(v))
		return 0;
	if (v->type != NF_JSON_SCAN_ARRAY)
		return nf_json_type_fail(e, at, v, "an array");
	nf_json_scan_iter_init(&it, v);
	for (size_t i = 0; nf_json_scan_iter_next(&it, NULL, &el); i++) {
		if (el.type != NF_JSON_SCAN_STRING)
			return nf_json_type_fail(e, NF_JSON_INDEX(at, i), &el, "a string");
		r = fn ? fn(&el, data) : 0;
		if (r < 0)
			return nf_err_nomem(e);
	}
	return 0;
}

static int count_string(const struct nf_json_scan_span *v, void *data)
{
	(void)v;
	(*(size_t *)data)++;
	return 0;
}

static int add_cap(const struct nf_json_scan_span *v, void *data)
{
	struct nf_oci_config *cfg = data;

	cfg->caps[cfg->n_caps] = nf_json_scan_strdup(v);
	return cfg->caps[cfg->n_caps++] ? 0 : -ENOMEM;
}

static int add_mount_option(const struct nf_json_scan_span *v, void *data)
{
	for (size_t i = 0; i < NF_ARRAY_SIZE(mount_options); i++)
		if (nf_json_scan_streq(v, mount_options[i]))
			mount_option(data, mount_options[i]);
	return 0;
}

/* process.capabilities: every set's names, counted first, into cfg->caps. */
enum cap_set { C_BOUNDING, C_EFFECTIVE, C_INHERITABLE, C_PERMITTED, C_AMBIENT, C_NSETS };
static const struct nf_json_field cap_sets[] = {
	[C_BOUNDING] = { "bounding", false },	    [C_EFFECTIVE] = { "effective", false },
	[C_INHERITABLE] = { "inheritable", false }, [C_PERMITTED] = { "permitted", false },
	[C_AMBIENT] = { "ambient", false },
};
_Static_assert(NF_ARRAY_SIZE(cap_sets) == C_NSETS, "one cap_sets[] entry per set");

static int read_caps(const struct nf_json_scan_span *v, struct nf_err *e, struct nf_oci_config *cfg)
{
	const struct nf_json_path *at = NF_JSON_KEY(NF_JSON_KEY(NULL, "process"), "capabilities");
	struct nf_json_scan_span set[C_NSETS];
	size_t total = 0;
	int r;

	if (!given(v))
		return 0;
	if (v->type != NF_JSON_SCAN_OBJECT)
		return nf_json_type_fail(e, at, v, "an object");
	cfg->has_capabilities = true;
	nf_json_read_object(v, cap_sets, C_NSETS, false, set, at, e);
	for (size_t k = 0; k < C_NSETS; k++) {
		r = read_strings(&set[k], NF_JSON_KEY(at, cap_sets[k].name), e, count_string,
				 &total);
		if (r < 0)
			return r;
	}
	cfg->caps = calloc(total ?: 1, sizeof(*cfg->caps));
	if (!cfg->caps)
		return nf_err_nomem(e);
	for (size_t k = 0; k < C_NSETS; k++) {
		r = read_strings(&set[k], NULL, e, add_cap, cfg);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One entry of linux.namespaces: the network, user and cgroup ones are noted, at most one of
 * each. */
enum ns_field { N_TYPE, N_PATH, N_NFIELDS };
static const struct nf_json_field ns_fields[] = {
	[N_TYPE] = { "type", true },
	[N_PATH] = { "path", false },
};
_Static_assert(NF_ARRAY_SIZE(ns_fields) == N_NFIELDS, "one ns_fields[] entry per field");

static int read_namespace(const struct nf_json_scan_span *v, const struct nf_json_path *at,
			  struct nf_err *e, struct nf_oci_config *cfg)
{
	struct nf_json_scan_span f[N_NFIELDS];
	char q[NF_QUOTE_BUF], **path;
	bool *has;
	int r;

	if (v->type != NF_JSON_SCAN_OBJECT)
		return nf_json_type_fail(e, at, v, "an object");
	r = nf_json_read_object(v, ns_fields, N_NFIELDS, false, f, at, e);
	if (r < 0)
		return r;
	if (f[N_TYPE].type != NF_JSON_SCAN_STRING)
		return nf_json_type_fail(e, NF_JSON_KEY(at, "type"), &f[N_TYPE], "a string");
	if (f[N_PATH].p && f[N_PATH].type != NF_JSON_SCAN_STRING)
		return nf_json_type_fail(e, NF_JSON_KEY(at, "path"), &f[N_PATH], "a string");
	if (nf_json_scan_streq(&f[N_TYPE], "network")) {
		has = &cfg->has_netns;
		path = &cfg->netns_path;
	} else if (nf_json_scan_streq(&f[N_TYPE], "user")) {
		has = &cfg->has_userns;
		path = &cfg->userns_path;
	} else if (nf_json_scan_streq(&f[N_TYPE], "cgroup")) {
		has = &cfg->has_cgroupns;
		path = &cfg->cgroupns_path;
	} else if (nf_json_scan_streq(&f[N_TYPE], "pid")) {
		has = &cfg->has_pidns;
		path = &cfg->pidns_path;
	} else {
		return 0;
	}
	if (*has)
		return nf_json_fail(e, at, "second %s namespace", nf_json_span_text(q, &f[N_TYPE]));
	*has = true;
	/* No path, or "" as runc reads it: a new namespace. */
	if (f[N_PATH].len == 0)
		return 0;
	return nf_json_strdup(&f[N_PATH], NULL, e, path);
}

/* mounts: type, source, whether submounts come along and whether it is read-only, for the
 * exposure checks. */
enum mount_field { M_TYPE, M_SOURCE, M_OPTIONS, M_NFIELDS };
static const struct nf_json_field mount_fields[] = {
	[M_TYPE] = { "type", false },
	[M_SOURCE] = { "source", false },
	[M_OPTIONS] = { "options", false },
};
_Static_assert(NF_ARRAY_SIZE(mount_fields) == M_NFIELDS, "one mount_fields[] entry per field");

static int read_mount(const struct nf_json_scan_span *v, const struct nf_json_path *at,
		      struct nf_err *e, struct nf_oci_mount *m)
{
	struct nf_json_scan_span f[M_NFIELDS];
	int r;

	if (v->type != NF_JSON_SCAN_OBJECT)
		return nf_json_type_fail(e, at, v, "an object");
	nf_json_read_object(v, mount_fields, M_NFIELDS, false, f, at, e);
	r = f[M_TYPE].p ? nf_json_strdup(&f[M_TYPE], NF_JSON_KEY(at, "type"), e, &m->type) : 0;
	if (r == 0 && f[M_SOURCE].p)
		r = nf_json_strdup(&f[M_SOURCE], NF_JSON_KEY(at, "source"), e, &m->source);
	if (r < 0)
		return r;
	m->bind = m->type && strcmp(m->type, "bind") == 0;
	return read_strings(&f[M_OPTIONS], NF_JSON_KEY(at, "options"), e, add_mount_option, m);
}

/* An array of objects, or null: each one to fn. n counts the elements read. */
static int read_array(const struct nf_json_scan_span *v, const struct nf_json_path *at,
		      struct nf_err *e, size_t *n,
		      int (*fn)(const struct nf_json_scan_span *, const struct nf_json_path *,
				struct nf_err *, void *),
		      void *data)
{
	struct nf_json_scan_span el;
	struct nf_json_scan_iter it;
	int r;

	if (!given(v))
		return 0;
	if (v->type != NF_JSON_SCAN_ARRAY)
		return nf_json_type_fail(e, at, v, "an array");
	nf_json_scan_iter_init(&it, v);
	for (size_t i = 0; nf_json_scan_iter_next(&it, NULL, &el); i++) {
		r = fn(&el, NF_JSON_INDEX(at, i), e, data);
		if (n)
			(*n)++;
		if (r < 0)
			return r;
	}
	return 0;
}

static int one_namespace(const struct nf_json_scan_span *v, const struct nf_json_path *at,
			 struct nf_err *e, void *cfg)
{
	return read_namespace(v, at, e, cfg);
}

static int one_mount(const struct nf_json_scan_span *v, const struct nf_json_path *at,
		     struct nf_err *e, void *cfg)
{
	struct nf_oci_config *c = cfg;

	return read_mount(v, at, e, &c->mounts[c->n_mounts]);
}

/* process or linux: absent, null or an object; the recorded member's index, or TOP. */
static int section(const struct nf_json_scan_doc *d, const struct nf_json_scan_span *v,
		   const char *name, struct nf_err *e, size_t *ret)
{
	*ret = NF_JSON_SCAN_TOP;
	if (!given(v))
		return 0;
	if (v->type != NF_JSON_SCAN_OBJECT)
		return nf_json_type_fail(e, NF_JSON_KEY(NULL, name), v, "an object");
	for (size_t i = 0; i < d->n; i++)
		if (d->m[i].parent == NF_JSON_SCAN_TOP && d->m[i].val.p == v->p)
			*ret = i;
	return 0;
}

enum config_field { F_ANNOTATIONS, F_MOUNTS, F_PROCESS, F_LINUX, F_NFIELDS };
static const struct nf_json_field config_fields[] = {
	[F_ANNOTATIONS] = { "annotations", false },
	[F_MOUNTS] = { "mounts", false },
	[F_PROCESS] = { "process", false },
	[F_LINUX] = { "linux", false },
};
_Static_assert(NF_ARRAY_SIZE(config_fields) == F_NFIELDS, "one config_fields[] entry per field");

static const struct nf_json_field process_fields[] = { { "capabilities", false } };
static const struct nf_json_field linux_fields[] = { { "namespaces", false } };

static int config_read(const struct nf_json_scan_doc *d, struct nf_err *e,
		       struct nf_oci_config *cfg)
{
	struct nf_json_scan_span f[F_NFIELDS], v;
	size_t process, linux_;
	int r;

	/* Tables of optional fields, others skipped: reading them cannot fail. */
	nf_json_read_members(d, NF_JSON_SCAN_TOP, config_fields, F_NFIELDS, false, f, NULL, e);
	r = read_annotations(d, &f[F_ANNOTATIONS], e, &cfg->annotations);
	if (r < 0)
		return r;
	if (given(&f[F_MOUNTS]) && f[F_MOUNTS].type == NF_JSON_SCAN_ARRAY) {
		cfg->mounts = calloc(nf_json_scan_count(&f[F_MOUNTS]) ?: 1, sizeof(*cfg->mounts));
		if (!cfg->mounts)
			return nf_err_nomem(e);
	}
	r = read_array(&f[F_MOUNTS], NF_JSON_KEY(NULL, "mounts"), e, &cfg->n_mounts, one_mount,
		       cfg);
	if (r == 0)
		r = section(d, &f[F_PROCESS], "process", e, &process);
	if (r == 0 && process != NF_JSON_SCAN_TOP) {
		nf_json_read_members(d, process, process_fields, 1, false, &v, NULL, e);
		r = read_caps(&v, e, cfg);
	}
	if (r == 0)
		r = section(d, &f[F_LINUX], "linux", e, &linux_);
	if (r == 0 && linux_ != NF_JSON_SCAN_TOP) {
		nf_json_read_members(d, linux_, linux_fields, 1, false, &v, NULL, e);
		r = read_array(&v, NF_JSON_KEY(NF_JSON_KEY(NULL, "linux"), "namespaces"), e, NULL,
			       one_namespace, cfg);
	}
	return r;
}

int nf_oci_config_parse(const char *buf, size_t len, struct nf_oci_config **ret, struct nf_err *err)
{
	struct nf_json_scan_doc d;
	struct nf_oci_config *cfg;
	int r;

	/* Level 2 records process.* and linux.*, and the annotations; the rest is walked. */
	r = scan_object(buf, len, NF_OCI_CONFIG_MAX, 2, &d, err);
	if (r < 0)
		return r;
	cfg = calloc(1, sizeof(*cfg));
	r = cfg ? config_read(&d, err, cfg) : nf_err_nomem(err);
	nf_json_scan_free(&d);
	if (r < 0) {
		nf_oci_config_free(cfg);
		return r;
	}
	*ret = cfg;
	return 0;
}

int nf_oci_config_load(const char *bundle, struct nf_oci_config **ret, struct nf_err *err)
{
	char q[NF_QUOTE_BUF], path[PATH_MAX];
	size_t len = 0;
	char *buf = NULL;
	int r;

	nf_quote_str(q, bundle);
	if (bundle[0] != '/')
		return nf_err_set(err, -EINVAL, "bundle %s: not an absolute path", q);
	if ((size_t)snprintf(path, sizeof(path), "%s/config.json", bundle) >= sizeof(path))
		return nf_err_set(err, -ENAMETOOLONG, "bundle %s: path too long", q);
	r = nf_read_regular_file(path, NF_OCI_CONFIG_MAX, &buf, &len);
	if (r == -EFBIG)
		return nf_err_set(err, r, "bundle %s: config.json is more than %d bytes", q,
				  NF_OCI_CONFIG_MAX);
	if (r == -EINVAL)
		return nf_err_set(err, r, "bundle %s: config.json is not a regular file", q);
	if (r < 0)
		return nf_err_set(err, r, "bundle %s: cannot read config.json: %s", q,
				  strerror(-r));
	r = nf_oci_config_parse(buf, len, ret, err);
	free(buf);
	if (r < 0 && err)
		nf_err_prefix(err, "bundle %s: config.json", q);
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
