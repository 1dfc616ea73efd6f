/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The oracle for hook/oci.c's readers of the OCI state and config.json: the fields netfence reads
 * (oci.h), read a second way from jansson's tree, for the tests that feed both the same documents
 * and compare what they accept and what they build. It says only whether a document is valid.
 */
#ifndef NETFENCE_OCI_ORACLE_H
#define NETFENCE_OCI_ORACLE_H

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"

/* Absent or null. */
static bool oracle_absent(const json_t *v)
{
	return !v || json_is_null(v);
}

static bool oracle_annotations(const json_t *v, struct nf_oci_annotations *ret)
{
	const char *key;
	json_t *val;

	if (oracle_absent(v))
		return true;
	if (!json_is_object(v))
		return false;
	ret->v = calloc(json_object_size(v) + 1, sizeof(*ret->v));
	json_object_foreach((json_t *)v, key, val)
	{
		if (!json_is_string(val))
			return false;
		ret->v[ret->n].key = strdup(key);
		ret->v[ret->n++].value = strdup(json_string_value(val));
	}
	return true;
}

/* An array of strings, or absent or null. */
static bool oracle_strings(const json_t *v)
{
	size_t i;
	json_t *s;

	if (oracle_absent(v))
		return true;
	if (!json_is_array(v))
		return false;
	json_array_foreach(v, i, s) if (!json_is_string(s)) return false;
	return true;
}

static bool oracle_caps(const json_t *caps, struct nf_oci_config *cfg)
{
	static const char *const sets[] = { "bounding", "effective", "inheritable", "permitted",
					    "ambient" };
	size_t i, total = 0;
	json_t *name;

	if (oracle_absent(caps))
		return true;
	if (!json_is_object(caps))
		return false;
	cfg->has_capabilities = true;
	for (size_t k = 0; k < 5; k++) {
		if (!oracle_strings(json_object_get(caps, sets[k])))
			return false;
		total += json_array_size(json_object_get(caps, sets[k]));
	}
	cfg->caps = calloc(total + 1, sizeof(*cfg->caps));
	for (size_t k = 0; k < 5; k++)
		json_array_foreach(json_object_get(caps, sets[k]), i, name)
			cfg->caps[cfg->n_caps++] = strdup(json_string_value(name));
	return true;
}

static bool oracle_namespaces(const json_t *nss, struct nf_oci_config *cfg)
{
	const json_t *ns, *type, *path;
	char **ret_path;
	bool *has;
	size_t i;

	if (oracle_absent(nss))
		return true;
	if (!json_is_array(nss))
		return false;
	json_array_foreach(nss, i, ns)
	{
		type = json_object_get(ns, "type");
		path = json_object_get(ns, "path");
		if (!json_is_object(ns) || !json_is_string(type) || (path && !json_is_string(path)))
			return false;
		if (strcmp(json_string_value(type), "network") == 0) {
			has = &cfg->has_netns;
			ret_path = &cfg->netns_path;
		} else if (strcmp(json_string_value(type), "user") == 0) {
			has = &cfg->has_userns;
			ret_path = &cfg->userns_path;
		} else if (strcmp(json_string_value(type), "cgroup") == 0) {
			has = &cfg->has_cgroupns;
			ret_path = &cfg->cgroupns_path;
		} else if (strcmp(json_string_value(type), "pid") == 0) {
			has = &cfg->has_pidns;
			ret_path = &cfg->pidns_path;
		} else {
			continue;
		}
		if (*has)
			return false;
		*has = true;
		if (path && json_string_length(path) > 0)
			*ret_path = strdup(json_string_value(path));
	}
	return true;
}

static bool oracle_mounts(const json_t *mounts, struct nf_oci_config *cfg)
{
	const json_t *m, *t, *src, *opts, *o;
	size_t i, k;

	if (oracle_absent(mounts))
		return true;
	if (!json_is_array(mounts))
		return false;
	cfg->mounts = calloc(json_array_size(mounts) + 1, sizeof(*cfg->mounts));
	json_array_foreach(mounts, i, m)
	{
		struct nf_oci_mount *mt = &cfg->mounts[cfg->n_mounts++];

		t = json_object_get(m, "type");
		src = json_object_get(m, "source");
		opts = json_object_get(m, "options");
		if (!json_is_object(m) || (t && !json_is_string(t)) ||
		    (src && !json_is_string(src)) || !oracle_strings(opts))
			return false;
		mt->type = t ? strdup(json_string_value(t)) : NULL;
		mt->source = src ? strdup(json_string_value(src)) : NULL;
		mt->bind = mt->type && strcmp(mt->type, "bind") == 0;
		json_array_foreach(opts, k, o)
		{
			const char *s = json_string_value(o);

			if (strcmp(s, "bind") == 0)
				mt->bind = true;
			else if (strcmp(s, "rbind") == 0)
				mt->rbind = mt->bind = true;
			else if (strcmp(s, "ro") == 0 || strcmp(s, "rw") == 0)
				mt->ro = s[1] == 'o';
			else if (strcmp(s, "rro") == 0 || strcmp(s, "rrw") == 0)
				mt->rro = s[2] == 'o';
		}
	}
	return true;
}

static bool oracle_section(const json_t *doc, const char *name, const char *field,
			   const json_t **ret)
{
	const json_t *v = json_object_get(doc, name);

	*ret = NULL;
	if (oracle_absent(v))
		return true;
	if (!json_is_object(v))
		return false;
	*ret = json_object_get(v, field);
	return true;
}

/* A string member, absent or not; false for any other type. */
static bool oracle_opt_string(const json_t *doc, const char *key, bool required, char **ret)
{
	const json_t *v = json_object_get(doc, key);

	if (!v)
		return !required;
	if (!json_is_string(v))
		return false;
	*ret = strdup(json_string_value(v));
	return true;
}

/* 0 with *ret, or -EINVAL: the OCI state as jansson reads it, judged by oci.h's rules. */
static int oracle_state_parse(const char *buf, size_t len, struct nf_oci_state **ret)
{
	struct nf_oci_state *s = calloc(1, sizeof(*s));
	const json_t *pid;
	json_t *doc = NULL;
	bool ok;

	if (len <= NF_OCI_STATE_MAX && !memchr(buf, '\0', len))
		doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	pid = json_object_get(doc, "pid");
	ok = json_is_object(doc) && oracle_opt_string(doc, "id", true, &s->id) &&
	     nf_oci_id_valid(s->id) == 0 && oracle_opt_string(doc, "status", true, &s->status) &&
	     oracle_opt_string(doc, "ociVersion", false, &s->oci_version) &&
	     oracle_opt_string(doc, "bundle", true, &s->bundle) &&
	     (!pid || (json_is_integer(pid) && json_integer_value(pid) >= 0 &&
		       json_integer_value(pid) <= INT_MAX)) &&
	     oracle_annotations(json_object_get(doc, "annotations"), &s->annotations);
	if (ok && pid) {
		s->pid = (int)json_integer_value(pid);
		s->has_pid = true;
	}
	json_decref(doc);
	if (!ok) {
		nf_oci_state_free(s);
		return -EINVAL;
	}
	*ret = s;
	return 0;
}

/* 0 with *ret, or -EINVAL: config.json as jansson reads it, judged by oci.h's rules. */
static int oracle_config_parse(const char *buf, size_t len, struct nf_oci_config **ret)
{
	struct nf_oci_config *cfg = calloc(1, sizeof(*cfg));
	const json_t *caps, *nss;
	json_t *doc = NULL;
	bool ok;

	if (len <= NF_OCI_CONFIG_MAX && !memchr(buf, '\0', len))
		doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	ok = json_is_object(doc) &&
	     oracle_annotations(json_object_get(doc, "annotations"), &cfg->annotations) &&
	     oracle_mounts(json_object_get(doc, "mounts"), cfg) &&
	     oracle_section(doc, "process", "capabilities", &caps) && oracle_caps(caps, cfg) &&
	     oracle_section(doc, "linux", "namespaces", &nss) && oracle_namespaces(nss, cfg);
	json_decref(doc);
	if (!ok) {
		nf_oci_config_free(cfg);
		return -EINVAL;
	}
	*ret = cfg;
	return 0;
}

#endif
