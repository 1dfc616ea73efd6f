// SPDX-License-Identifier: Apache-2.0
/* netfence doctor: how the engines are wired to netfence (hooks.d, CDI, containerd). */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>

#include "doctor.h"
#include "json.h"
#include "toml.h"
#include "util.h"

#define ENGINE_FILE_MAX (1024 * 1024)
#define ANN_POLICY	"io.netfence.policy"
#define ANN_NAME	"io.netfence.policy-name"
#define ANN_SAMPLE	"{\"version\": 1,\n \"default\": \"deny\", \"rules\": []}"
#define HOOKS_USR	"/usr/share/containers/oci/hooks.d"
#define HOOKS_ETC	"/etc/containers/oci/hooks.d"
#define HOOKS_FIX                                                                             \
	"install schemas/netfence-hooks.json as " HOOKS_USR "/netfence.json (make install), " \
	"or in a hooks_dir the engine reads"

/* A list of host directories, and the file that configured them ("" for the defaults). */
struct dirs {
	char **v;
	size_t n, cap;
	char from[PATH_MAX];
};

static bool exists(const struct nf_doctor *d, const char *path)
{
	char full[PATH_MAX];
	struct stat st;

	return nf_doctor_path(d, path, full, sizeof(full)) == 0 && stat(full, &st) == 0;
}

static int read_host(struct nf_doctor *d, const char *path, char **buf, size_t *len)
{
	char full[PATH_MAX];
	int r = nf_doctor_path(d, path, full, sizeof(full));

	return r < 0 ? r : nf_read_regular_file(full, ENGINE_FILE_MAX, buf, len);
}

/* The names in host directory dir ending in suffix, sorted. */
static void list_dir(struct nf_doctor *d, const char *dir, const char *suffix, char ***v, size_t *n)
{
	char full[PATH_MAX];
	size_t cap = 0, sl = strlen(suffix);
	struct dirent *e;
	DIR *dh;

	*v = NULL;
	*n = 0;
	if (nf_doctor_path(d, dir, full, sizeof(full)) < 0 || !(dh = opendir(full)))
		return;
	while ((e = readdir(dh))) {
		size_t len = strlen(e->d_name);

		if (e->d_name[0] != '.' && len > sl && strcmp(e->d_name + len - sl, suffix) == 0 &&
		    nf_strv_push(v, n, &cap, strdup(e->d_name)) < 0)
			d->oom = true;
	}
	closedir(dh);
	nf_strv_sort(*v, *n);
}

static bool dirs_has(const struct dirs *l, const char *dir)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], dir) == 0)
			return true;
	return false;
}

static void dirs_add(struct nf_doctor *d, struct dirs *l, const char *dir)
{
	if (!dirs_has(l, dir) && nf_strv_push(&l->v, &l->n, &l->cap, strdup(dir)) < 0)
		d->oom = true;
}

static void dirs_free(struct dirs *l)
{
	nf_strv_free(l->v, l->n);
	*l = (struct dirs){};
}

/* --- hooks.d ------------------------------------------------------------------------------ */

static bool regex_matches(const char *pattern, const char *s)
{
	regex_t re;
	bool m;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	m = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

/* oci-hooks 1.0.0: every condition set must hold, each annotation pair matched by some
 * annotation; a container carrying only this annotation has no other to match with. */
static bool when_matches(const json_t *when, const char *annotation, const char *value)
{
	const json_t *always = json_object_get(when, "always");
	const json_t *ann = json_object_get(when, "annotations");
	const char *key;
	json_t *v;

	if (json_is_false(always))
		return false;
	if (!json_is_true(always) && json_object_size(ann) == 0)
		return false;
	json_object_foreach((json_t *)ann, key, v)
	{
		if (!json_is_string(v) || !regex_matches(key, annotation) ||
		    !regex_matches(json_string_value(v), value))
			return false;
	}
	return true;
}

bool nf_doctor_hooks_matches(const char *json, const char *annotation, const char *value)
{
	json_t *doc = json_loads(json, 0, NULL);
	bool m = json_is_object(json_object_get(doc, "when")) &&
		 when_matches(json_object_get(doc, "when"), annotation, value);

	json_decref(doc);
	return m;
}

static bool is_stage(const char *s)
{
	static const char *const stages[] = { "prestart",	"createRuntime", "createContainer",
					      "startContainer", "poststart",	 "poststop" };

	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
		if (strcmp(s, stages[i]) == 0)
			return true;
	return false;
}

/* args must run `netfence ... hook [STAGE]`; the stage given after "hook", or NULL. */
static bool hook_args(const json_t *args, const char **ret_stage)
{
	bool hook = false;
	size_t i;
	json_t *a;

	*ret_stage = NULL;
	json_array_foreach(args, i, a)
	{
		const char *s = json_string_value(a);

		if (i == 0 || !s)
			continue;
		if (hook && is_stage(s))
			*ret_stage = s;
		hook = hook || strcmp(s, "hook") == 0;
	}
	return hook;
}

static bool array_has(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

/* The stages list of a hooks.d file. */
static size_t check_stages(struct nf_doctor *d, const char *file, const json_t *stages)
{
	size_t errors = 0;

	if (array_has(stages, "poststart")) {
		nf_doctor_add(d, NF_SEV_ERROR, "hooksd.stages", "remove poststart",
			      "%s: stage poststart: netfence refuses it (too late to fence), so "
			      "every matching container fails to start",
			      file);
		errors++;
	}
	if (!array_has(stages, "prestart") && !array_has(stages, "createRuntime")) {
		nf_doctor_add(d, NF_SEV_ERROR, "hooksd.stages",
			      "\"stages\": [\"prestart\", \"poststop\"]",
			      "%s: no prestart or createRuntime stage: the hook never fences",
			      file);
		errors++;
	}
	if (!array_has(stages, "poststop"))
		nf_doctor_add(d, NF_SEV_WARNING, "hooksd.stages",
			      "\"stages\": [\"prestart\", \"poststop\"]",
			      "%s: no poststop stage: fences stay after their containers until "
			      "netfence gc",
			      file);
	return errors;
}

/* Which containers the file's "when" selects. */
static size_t check_when(struct nf_doctor *d, const char *file, const json_t *when)
{
	bool always = json_is_true(json_object_get(when, "always"));

	if (!json_is_object(when) || !when_matches(when, ANN_POLICY, ANN_SAMPLE) ||
	    !when_matches(when, ANN_NAME, "web-egress")) {
		nf_doctor_add(
			d, NF_SEV_ERROR, "hooksd.when",
			"\"when\": {\"annotations\": {\"^io\\\\.netfence\\\\.policy(-name)?$\": "
			"\".*\"}}",
			"%s: \"when\" does not select a container carrying only %s, or only "
			"%s: such containers start unfenced",
			file, ANN_POLICY, ANN_NAME);
		return 1;
	}
	if (json_object_get(when, "commands") || json_object_get(when, "hasBindMounts"))
		nf_doctor_add(d, NF_SEV_WARNING, "hooksd.when",
			      "drop \"commands\" and \"hasBindMounts\" from \"when\"",
			      "%s: \"when\" also requires commands or bind mounts: annotated "
			      "containers without them start unfenced",
			      file);
	if (!always && (d->cfg.default_policy || d->cfg.fence_all))
		nf_doctor_add(d, NF_SEV_WARNING, "hooksd.not-always",
			      "\"when\": {\"always\": true}",
			      "%s: the host config sets %s, but the hook runs only for annotated "
			      "containers: the others start unfenced",
			      file, d->cfg.fence_all ? "fence_all" : "default_policy");
	return 0;
}

/* The JSON object in text, or NULL with an error finding `id` saying why and what follows. */
static json_t *load_object(struct nf_doctor *d, const char *id, const char *file, const char *text,
			   size_t len, const char *consequence)
{
	struct nf_err err;
	json_t *doc;

	/* Read as every other JSON document is: the scanner's checks and messages. */
	if (nf_json_load_object(text, len, len, &doc, &err) == 0)
		return doc;
	nf_doctor_add(d, NF_SEV_ERROR, id, "correct the file", "%s: %s: %s", file, err.msg,
		      consequence);
	return NULL;
}

bool nf_doctor_check_hooks_doc(struct nf_doctor *d, const char *file, const char *text, size_t len)
{
	const json_t *hook, *stages;
	const char *stage, *path, *version;
	char where[PATH_MAX + 32];
	size_t errors = 0;
	json_t *doc;

	doc = load_object(d, "hooksd.invalid", file, text, len, "the engine does not run it");
	if (!doc)
		return false;
	version = json_string_value(json_object_get(doc, "version"));
	if (!version || strcmp(version, "1.0.0") != 0) {
		nf_doctor_add(d, NF_SEV_ERROR, "hooksd.version", "\"version\": \"1.0.0\"",
			      "%s: \"version\" is not \"1.0.0\"", file);
		errors++;
	}
	hook = json_object_get(doc, "hook");
	path = json_string_value(json_object_get(hook, "path"));
	snprintf(where, sizeof(where), "%s: hook.path", file);
	if (!path) {
		nf_doctor_add(d, NF_SEV_ERROR, "hooksd.path-missing", "\"hook\": {\"path\": ...}",
			      "%s is missing", where);
		errors++;
	} else if (!nf_doctor_check_binary(d, "hooksd", where, path)) {
		errors++;
	}
	stages = json_object_get(doc, "stages");
	if (!hook_args(json_object_get(hook, "args"), &stage)) {
		nf_doctor_add(d, NF_SEV_ERROR, "hooksd.args", "\"args\": [\"netfence\", \"hook\"]",
			      "%s: hook.args do not run `netfence hook`", file);
		errors++;
	} else if (stage && json_array_size(stages) > 1) {
		nf_doctor_add(d, NF_SEV_ERROR, "hooksd.args", "\"args\": [\"netfence\", \"hook\"]",
			      "%s: hook.args name the stage '%s' for every stage of \"stages\": "
			      "poststop would attach, or prestart detach",
			      file, stage);
		errors++;
	}
	errors += check_stages(d, file, stages);
	errors += check_when(d, file, json_object_get(doc, "when"));
	json_decref(doc);
	return errors == 0;
}

/* Read one engine config file: its setting of key, if any, replaces *ret. */
static void engine_file(struct nf_doctor *d, const char *path, const char *const *key,
			struct dirs *ret)
{
	const struct nf_toml_entry *e;
	struct nf_toml doc;
	struct nf_err err;
	size_t len;
	char *buf;

	if (read_host(d, path, &buf, &len) < 0)
		return;
	if (nf_toml_parse(buf, len, &doc, &err) < 0) {
		nf_doctor_add(d, NF_SEV_WARNING, "engine.config-unparsed", NULL,
			      "%s: %s; its hooks_dir was not read", path, err.msg);
	} else if ((e = nf_toml_get(&doc, key)) && e->type == NF_TOML_ARRAY) {
		dirs_free(ret);
		for (size_t k = 0; k < e->n_items; k++)
			dirs_add(d, ret, e->items[k]);
		snprintf(ret->from, sizeof(ret->from), "%s", path);
	}
	nf_toml_free(&doc);
	free(buf);
}

/*
 * The hooks_dir an engine reads: the last setting of key in its config files, then its
 * drop-in directory's *.conf in name order (later ones override), else the defaults.
 */
static void engine_dirs(struct nf_doctor *d, const char *const *files, const char *dropins,
			const char *const *key, const char *const *defaults, struct dirs *ret)
{
	char **names = NULL, path[PATH_MAX];
	size_t n = 0;

	for (size_t i = 0; files[i]; i++)
		engine_file(d, files[i], key, ret);
	list_dir(d, dropins, ".conf", &names, &n);
	for (size_t i = 0; i < n; i++)
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dropins, names[i]) < sizeof(path))
			engine_file(d, path, key, ret);
	nf_strv_free(names, n);
	if (ret->from[0])
		return;
	for (size_t i = 0; defaults[i]; i++)
		dirs_add(d, ret, defaults[i]);
}

/* Configured directories that do not exist: the engine skips them without a word. */
static void check_dirs_exist(struct nf_doctor *d, const char *engine, const struct dirs *l)
{
	if (!l->from[0])
		return;
	for (size_t i = 0; i < l->n; i++)
		if (!nf_doctor_is_dir(d, l->v[i]))
			nf_doctor_add(d, NF_SEV_WARNING, "hooksd.dir-missing",
				      "create it, or correct hooks_dir",
				      "hooks_dir '%s' (from %s) does not exist: %s skips it",
				      l->v[i], l->from, engine);
}

/* The netfence hooks.d files in dir (those that mention netfence); true if one fences. */
static bool scan_hooks_dir(struct nf_doctor *d, const char *dir, bool read_by_engine)
{
	char **names = NULL, path[PATH_MAX];
	bool fences = false;
	size_t n = 0, len;
	char *buf;

	list_dir(d, dir, ".json", &names, &n);
	for (size_t i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path) ||
		    read_host(d, path, &buf, &len) < 0)
			continue;
		if (strstr(buf, "netfence") || strncmp(names[i], "netfence", 8) == 0) {
			if (!read_by_engine)
				nf_doctor_add(d, NF_SEV_WARNING, "hooksd.unread",
					      "move it to a directory in hooks_dir, or add its "
					      "directory there",
					      "%s: no engine on this host reads %s", path, dir);
			fences |= nf_doctor_check_hooks_doc(d, path, buf, len) && read_by_engine;
		}
		free(buf);
	}
	nf_strv_free(names, n);
	return fences;
}

static void hooks_missing(struct nf_doctor *d, const char *engine, const struct dirs *l)
{
	char list[1024] = "";

	for (size_t i = 0; i < l->n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 l->v[i]);
	if (d->cdi_spec)
		nf_doctor_add(d, NF_SEV_INFO, "hooksd.missing", NULL,
			      "%s reads no netfence hooks.d file (in %s): only containers given "
			      "the CDI device netfence.io/fence=on are fenced",
			      engine, list);
	else
		nf_doctor_add(d, NF_SEV_ERROR, "hooksd.missing", HOOKS_FIX,
			      "%s reads no valid netfence hooks.d file (in %s): containers with "
			      "io.netfence annotations start unfenced",
			      engine, list);
}

void nf_doctor_check_hooksd(struct nf_doctor *d)
{
	static const char *const podman_files[] = { "/usr/share/containers/containers.conf",
						    "/etc/containers/containers.conf", NULL };
	static const char *const podman_key[] = { "engine", "hooks_dir", NULL };
	static const char *const podman_def[] = { HOOKS_USR, HOOKS_ETC, NULL };
	static const char *const crio_files[] = { "/etc/crio/crio.conf", NULL };
	static const char *const crio_key[] = { "crio", "runtime", "hooks_dir", NULL };
	static const char *const crio_def[] = { HOOKS_USR, NULL };
	bool podman = nf_doctor_is_dir(d, "/etc/containers") || exists(d, "/usr/bin/podman");
	bool crio = nf_doctor_is_dir(d, "/etc/crio") || exists(d, "/usr/bin/crio") ||
		    exists(d, "/usr/local/bin/crio");
	struct dirs pd = {}, cd = {}, all = {};

	engine_dirs(d, podman_files, "/etc/containers/containers.conf.d", podman_key, podman_def,
		    &pd);
	engine_dirs(d, crio_files, "/etc/crio/crio.conf.d", crio_key, crio_def, &cd);
	if (podman)
		check_dirs_exist(d, "Podman", &pd);
	if (crio)
		check_dirs_exist(d, "CRI-O", &cd);
	for (size_t i = 0; i < pd.n; i++)
		dirs_add(d, &all, pd.v[i]);
	for (size_t i = 0; i < cd.n; i++)
		dirs_add(d, &all, cd.v[i]);
	dirs_add(d, &all, HOOKS_USR);
	dirs_add(d, &all, HOOKS_ETC);
	for (size_t i = 0; i < all.n; i++) {
		bool by_podman = podman && dirs_has(&pd, all.v[i]);
		bool by_crio = crio && dirs_has(&cd, all.v[i]);
		bool fences =
			scan_hooks_dir(d, all.v[i], by_podman || by_crio || !(podman || crio));

		d->hooksd_podman |= fences && by_podman;
		d->hooksd_crio |= fences && by_crio;
	}
	if (podman && !d->hooksd_podman)
		hooks_missing(d, "Podman", &pd);
	if (crio && !d->hooksd_crio)
		hooks_missing(d, "CRI-O", &cd);
	dirs_free(&pd);
	dirs_free(&cd);
	dirs_free(&all);
}

/* --- CDI ------------------------------------------------------------------------------------ */

/* What the hooks of one CDI spec add up to. */
struct cdi_walk {
	const char *checked; /* the binary path already checked: the hooks share one */
	bool checked_ok;
	bool attach, detach; /* a netfence hook at an attach stage, at poststop */
};

/* One CDI hook: netfence run at a stage that matches its arguments. */
static size_t check_cdi_hook(struct nf_doctor *d, const char *file, const json_t *h,
			     struct cdi_walk *w)
{
	const char *name = json_string_value(json_object_get(h, "hookName"));
	const char *path = json_string_value(json_object_get(h, "path"));
	char where[PATH_MAX + 64];
	const char *stage;

	if (!name || !path || !strstr(path, "netfence"))
		return 0;
	snprintf(where, sizeof(where), "%s: hook %s path", file, name);
	if (!w->checked || strcmp(w->checked, path) != 0) {
		w->checked = path;
		w->checked_ok = nf_doctor_check_binary(d, "cdi", where, path);
	}
	if (!w->checked_ok)
		return 1;
	if (!hook_args(json_object_get(h, "args"), &stage)) {
		nf_doctor_add(d, NF_SEV_ERROR, "cdi.args",
			      "\"args\": [\"netfence\", \"hook\", ...]",
			      "%s: the %s hook's args do not run `netfence hook`", file, name);
		return 1;
	}
	if (stage && strcmp(stage, name) != 0 &&
	    !(strcmp(name, "prestart") == 0 && strcmp(stage, "createRuntime") == 0)) {
		nf_doctor_add(d, NF_SEV_ERROR, "cdi.args", "give the hook its own stage in args",
			      "%s: the %s hook runs `netfence hook %s`", file, name, stage);
		return 1;
	}
	w->attach |= strcmp(name, "createRuntime") == 0 || strcmp(name, "prestart") == 0;
	w->detach |= strcmp(name, "poststop") == 0;
	return 0;
}

static size_t check_cdi_hooks(struct nf_doctor *d, const char *file, const json_t *edits,
			      struct cdi_walk *w)
{
	size_t errors = 0, i;
	json_t *h;

	json_array_foreach(json_object_get(edits, "hooks"), i, h)
	{
		errors += check_cdi_hook(d, file, h, w);
	}
	return errors;
}

static bool check_cdi_doc(struct nf_doctor *d, const char *file, const char *text, size_t len)
{
	struct cdi_walk w = {};
	bool on = false;
	const char *kind;
	size_t errors = 0, i;
	json_t *doc, *dev;

	doc = load_object(d, "cdi.invalid", file, text, len, "engines refuse the device");
	if (!doc)
		return false;
	kind = json_string_value(json_object_get(doc, "kind"));
	if (!json_is_string(json_object_get(doc, "cdiVersion")) || !kind) {
		nf_doctor_add(d, NF_SEV_ERROR, "cdi.invalid", "copy schemas/netfence-cdi.json",
			      "%s: cdiVersion or kind is missing", file);
		errors++;
	} else if (strcmp(kind, "netfence.io/fence") != 0) {
		nf_doctor_add(d, NF_SEV_WARNING, "cdi.kind", "\"kind\": \"netfence.io/fence\"",
			      "%s: kind '%s': devices named netfence.io/fence=on are not found",
			      file, kind);
	}
	errors += check_cdi_hooks(d, file, json_object_get(doc, "containerEdits"), &w);
	json_array_foreach(json_object_get(doc, "devices"), i, dev)
	{
		const char *name = json_string_value(json_object_get(dev, "name"));

		on |= name && strcmp(name, "on") == 0;
		errors += check_cdi_hooks(d, file, json_object_get(dev, "containerEdits"), &w);
	}
	if (!on)
		nf_doctor_add(d, NF_SEV_WARNING, "cdi.device", "a device named \"on\"",
			      "%s: no device 'on': netfence.io/fence=on is not found", file);
	if (!w.attach && errors == 0) {
		nf_doctor_add(d, NF_SEV_ERROR, "cdi.hooks",
			      "a createRuntime hook: netfence hook createRuntime",
			      "%s: no createRuntime (or prestart) netfence hook: the device "
			      "fences nothing",
			      file);
		errors++;
	} else if (!w.detach && errors == 0) {
		nf_doctor_add(d, NF_SEV_WARNING, "cdi.hooks",
			      "a poststop hook: netfence hook poststop",
			      "%s: no poststop netfence hook: fences stay after their containers "
			      "until netfence gc",
			      file);
	}
	json_decref(doc);
	return errors == 0;
}

void nf_doctor_check_cdi(struct nf_doctor *d)
{
	static const char *const cdi_dirs[] = { "/etc/cdi", "/var/run/cdi" };
	char **names, path[PATH_MAX];
	size_t n, len;
	char *buf;

	for (size_t k = 0; k < 2; k++) {
		list_dir(d, cdi_dirs[k], "", &names, &n);
		for (size_t i = 0; i < n; i++) {
			bool yaml = strstr(names[i], ".yaml") || strstr(names[i], ".yml");

			if ((size_t)snprintf(path, sizeof(path), "%s/%s", cdi_dirs[k], names[i]) >=
				    sizeof(path) ||
			    read_host(d, path, &buf, &len) < 0)
				continue;
			if (yaml && strstr(buf, "netfence"))
				nf_doctor_add(d, NF_SEV_INFO, "cdi.yaml-unchecked", NULL,
					      "%s: a YAML CDI spec, which doctor does not read",
					      path);
			else if ((strstr(buf, "netfence") ||
				  strncmp(names[i], "netfence", 8) == 0) &&
				 strstr(names[i], ".json"))
				d->cdi_spec |= check_cdi_doc(d, path, buf, len);
			free(buf);
		}
		nf_strv_free(names, n);
	}
}

/* --- containerd ----------------------------------------------------------------------------- */

#define CONTAINERD_CONFIG "/etc/containerd/config.toml"

/* The CRI plugin's table in config versions 1, 2 and 3 (containerd 1.x, 1.x, 2.x). */
static const char *const cri_v1[] = { "plugins", "cri", NULL };
static const char *const cri_v2[] = { "plugins", "io.containerd.grpc.v1.cri", NULL };
static const char *const cri_v3[] = { "plugins", "io.containerd.cri.v1.runtime", NULL };

bool nf_doctor_glob_passes(char *const *patterns, size_t n, const char *name)
{
	/* containerd matches with Go's filepath.Match: '*' stops at '/'. */
	for (size_t i = 0; i < n; i++)
		if (fnmatch(patterns[i], name, FNM_PATHNAME) == 0)
			return true;
	return false;
}

/* The entry <cri>.containerd.runtimes.<name>.<k1>[.<k2>] of doc, or NULL. */
static const struct nf_toml_entry *runtime_get(const struct nf_toml *doc, const char *const *cri,
					       const char *name, const char *k1, const char *k2)
{
	const char *path[] = { cri[0], cri[1], "containerd", "runtimes", name, k1, k2, NULL };

	return nf_toml_get(doc, path);
}

/* The real runtime the wrapper netfence-<rt> execs must be there. */
static void check_wrapped(struct nf_doctor *d, const char *where, const char *rt)
{
	static const char *const path_dirs[] = { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
						 "/usr/bin",	    "/sbin",	      "/bin" };
	const char *configured = nf_config_runtime(&d->cfg, rt);
	char path[PATH_MAX];

	if (configured && exists(d, configured))
		return;
	for (size_t i = 0; !configured && i < sizeof(path_dirs) / sizeof(path_dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", path_dirs[i], rt);
		if (exists(d, path))
			return;
	}
	nf_doctor_add(d, NF_SEV_ERROR, "containerd.runtime-missing",
		      "install it, or set runtimes in the host config",
		      "%s: the wrapper runs '%s', which is %s: every container of the runtime "
		      "fails to start",
		      where, configured ? configured : rt,
		      configured ? "missing (runtimes in the host config)" : "not in PATH");
}

/* One runtime handler whose BinaryName is a netfence wrapper; true when it fences pods. */
static bool check_runtime(struct nf_doctor *d, const char *file, const struct nf_toml *doc,
			  const char *const *cri, const char *name, const char *binary)
{
	const struct nf_toml_entry *type = runtime_get(doc, cri, name, "runtime_type", NULL);
	const struct nf_toml_entry *ann = runtime_get(doc, cri, name, "pod_annotations", NULL);
	const char *base = strrchr(binary, '/') ? strrchr(binary, '/') + 1 : binary;
	char where[PATH_MAX + 128];
	bool ok;

	snprintf(where, sizeof(where), "%s: runtime '%s' BinaryName", file, name);
	ok = nf_doctor_check_binary(d, "containerd", where, binary);
	check_wrapped(d, where, base + strlen("netfence-"));
	if (!type || type->type != NF_TOML_STRING || strcmp(type->str, "io.containerd.runc.v2")) {
		nf_doctor_add(d, NF_SEV_ERROR, "containerd.runtime-type",
			      "runtime_type = \"io.containerd.runc.v2\"",
			      "%s: runtime '%s' is not of type io.containerd.runc.v2, whose shim "
			      "alone reads BinaryName",
			      file, name);
		ok = false;
	}
	if (!ann || ann->type != NF_TOML_ARRAY ||
	    !nf_doctor_glob_passes(ann->items, ann->n_items, "io.netfence.policy") ||
	    !nf_doctor_glob_passes(ann->items, ann->n_items, "io.netfence.policy-name")) {
		nf_doctor_add(
			d, d->cfg.fence_all ? NF_SEV_WARNING : NF_SEV_ERROR,
			"containerd.pod-annotations", "pod_annotations = [\"io.netfence.*\"]",
			"%s: runtime '%s' does not pass the io.netfence.* pod annotations into "
			"the container's spec: its pods run %s",
			file, name,
			d->cfg.fence_all ? "under default_policy, not their own" : "unfenced");
		ok = ok && d->cfg.fence_all;
	}
	return ok;
}

static bool cdi_enabled(const struct nf_toml *doc, long long version)
{
	const char *v2[] = { cri_v2[0], cri_v2[1], "enable_cdi", NULL };
	const char *v3[] = { cri_v3[0], cri_v3[1], "enable_cdi", NULL };
	const struct nf_toml_entry *e = nf_toml_get(doc, version >= 3 ? v3 : v2);

	/* containerd 2.x enables CDI by default, 1.7 does not, 1.6 has none. */
	if (e && e->type == NF_TOML_BOOL)
		return e->b;
	return version >= 3;
}

bool nf_doctor_check_containerd_doc(struct nf_doctor *d, const char *file, const char *text,
				    size_t len, bool *ret_cdi)
{
	static const char *const version_key[] = { "version", NULL };
	static const char *const imports_key[] = { "imports", NULL };
	const char *const *cris[] = { cri_v1, cri_v2, cri_v3 };
	const struct nf_toml_entry *v;
	long long version = 1;
	struct nf_toml doc;
	bool wired = false;
	struct nf_err err;

	*ret_cdi = false;
	if (nf_toml_parse(text, len, &doc, &err) < 0) {
		nf_doctor_add(d, NF_SEV_WARNING, "containerd.unparsed", NULL,
			      "%s: %s; containerd's runtimes not checked", file, err.msg);
		return false;
	}
	v = nf_toml_get(&doc, version_key);
	if (v && v->type == NF_TOML_INT)
		version = v->i;
	if (nf_toml_get(&doc, imports_key))
		nf_doctor_add(d, NF_SEV_INFO, "containerd.imports", NULL,
			      "%s imports other files, which doctor does not read", file);
	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < doc.n; i++) {
			const struct nf_toml_entry *e = &doc.v[i];
			const char *base;

			if (e->depth != 7 || !nf_toml_has_prefix(e, cris[k]) ||
			    strcmp(e->path[2], "containerd") || strcmp(e->path[3], "runtimes") ||
			    strcmp(e->path[5], "options") || strcmp(e->path[6], "BinaryName") ||
			    e->type != NF_TOML_STRING)
				continue;
			base = strrchr(e->str, '/') ? strrchr(e->str, '/') + 1 : e->str;
			if (strncmp(base, "netfence-", 9) == 0)
				wired |= check_runtime(d, file, &doc, cris[k], e->path[4], e->str);
		}
	}
	*ret_cdi = cdi_enabled(&doc, version);
	nf_toml_free(&doc);
	return wired;
}

void nf_doctor_check_containerd(struct nf_doctor *d)
{
	bool present = exists(d, CONTAINERD_CONFIG) || exists(d, "/usr/bin/containerd") ||
		       exists(d, "/usr/local/bin/containerd");
	bool wired = false, cdi = false;
	char *buf = NULL;
	size_t len = 0;

	if (!present)
		return;
	if (read_host(d, CONTAINERD_CONFIG, &buf, &len) == 0)
		wired = nf_doctor_check_containerd_doc(d, CONTAINERD_CONFIG, buf, len, &cdi);
	free(buf);
	if (wired || (cdi && d->cdi_spec))
		return;
	if (d->cdi_spec)
		nf_doctor_add(d, NF_SEV_ERROR, "containerd.cdi-disabled",
			      "enable_cdi = true in the CRI plugin's table and restart containerd, "
			      "or add the netfence runtime handler (docs/runtimes.md)",
			      "containerd has CDI disabled and no runtime runs netfence-runc or "
			      "netfence-crun: pods with io.netfence annotations run unfenced");
	else
		nf_doctor_add(
			d, NF_SEV_ERROR, "containerd.not-wired",
			"add the netfence runtime handler with pod_annotations, or install "
			"the CDI spec (docs/runtimes.md, deploy/kubernetes)",
			"containerd: no runtime in %s runs netfence-runc or netfence-crun with "
			"the pod annotations, and no netfence CDI spec: pods with io.netfence "
			"annotations run unfenced",
			CONTAINERD_CONFIG);
}
