// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "state.h"
#include "util.h"

static int state_path(const char *dir, const char *id, const char *suffix, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s%s", dir, id, suffix);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void nf_state_now(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * The policy is the state's last member, written as given (it was parsed as JSON before it got
 * here), after a head of jansson's compact output. In that output a quote inside a string is
 * always escaped, so the bytes `,"` never occur within a string: the first POLICY_MEMBER of the
 * file is the member itself, and readers of the head stop there.
 */
#define POLICY_MEMBER ",\"policy\":"

struct piece {
	const char *text;
	size_t len;
};

_Static_assert(sizeof(NF_STATE_K8S_SUFFIX ".tmp") <= sizeof(NF_STATE_TMP_SUFFIX) &&
		       sizeof(NF_STATE_OPEN_SUFFIX ".tmp") <= sizeof(NF_STATE_TMP_SUFFIX),
	       "a name beside the state file is longer than the ids allow for");

/* Write the pieces to <dir>/<id><tmp_suffix>. */
static int write_tmp_as(const char *dir, const char *id, const char *tmp_suffix,
			const struct piece *pieces, size_t n)
{
	char tmp[4096];
	int fd, r = 0;

	if (state_path(dir, id, tmp_suffix, tmp, sizeof(tmp)) < 0)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n && r == 0; i++)
		r = nf_write_all(fd, pieces[i].text, pieces[i].len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static int write_tmp(const char *dir, const char *id, const struct piece *pieces, size_t n)
{
	return write_tmp_as(dir, id, NF_STATE_TMP_SUFFIX, pieces, n);
}

/* The members Kubernetes names are kept under (state files and unfenced records). */
static int k8s_set(json_t *doc, const struct nf_state_k8s *k)
{
	const struct {
		const char *key, *value;
	} names[] = { { "pod", k->pod },
		      { "namespace", k->namespace },
		      { "container_name", k->container } };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].value &&
		    json_object_set_new(doc, names[i].key, json_string(names[i].value)) < 0)
			return -ENOMEM;
	return 0;
}

static char *head_dump(const struct nf_state *s)
{
	json_t *doc;
	char *head;

	doc = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:b, s:b}", "id", s->id, "cgroup",
			s->cgroup ? s->cgroup : "", "cgroup_id", (json_int_t)s->cgroup_id, "mode",
			s->mode, "source", s->source ? s->source : "", "attached_at",
			s->attached_at, "removable", s->removable, "own_netns", s->own_netns);
	if (doc && s->unfenced &&
	    (json_object_set_new(doc, "unfenced", json_true()) < 0 ||
	     json_object_set_new(doc, "unfenced_reason",
				 json_string(s->unfenced_reason ? s->unfenced_reason : "")) < 0))
		json_object_clear(doc);
	if (!doc || k8s_set(doc, &s->k8s) < 0 || json_object_size(doc) == 0) {
		json_decref(doc);
		return NULL;
	}
	head = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return head;
}

int nf_state_prepare(const char *dir, const struct nf_state *s, const char *policy,
		     size_t policy_len)
{
	char *head;
	int r;

	head = head_dump(s);
	if (!head)
		return -ENOMEM;
	/* with a policy: the head without its closing brace, then the policy member */
	struct piece pieces[] = {
		{ head, strlen(head) - (policy ? 1 : 0) },
		{ POLICY_MEMBER, strlen(POLICY_MEMBER) },
		{ policy, policy_len },
		{ "}", 1 },
	};

	r = write_tmp(dir, s->id, pieces, policy ? 4 : 1);
	free(head);
	return r;
}

int nf_state_commit(const char *dir, const char *id)
{
	char path[4096], tmp[4096];

	if (state_path(dir, id, NF_STATE_SUFFIX, path, sizeof(path)) < 0 ||
	    state_path(dir, id, NF_STATE_TMP_SUFFIX, tmp, sizeof(tmp)) < 0)
		return -ENAMETOOLONG;
	return rename(tmp, path) < 0 ? -errno : 0;
}

void nf_state_discard(const char *dir, const char *id)
{
	char tmp[4096];

	if (state_path(dir, id, NF_STATE_TMP_SUFFIX, tmp, sizeof(tmp)) == 0)
		unlink(tmp);
}

int nf_state_write(const char *dir, const struct nf_state *s, const char *policy, size_t policy_len)
{
	int r = nf_state_prepare(dir, s, policy, policy_len);

	if (r == 0 && (r = nf_state_commit(dir, s->id)) < 0)
		nf_state_discard(dir, s->id);
	return r;
}

int nf_state_read_policy(const char *dir, const char *id, char **ret, size_t *ret_len)
{
	char path[4096], *buf, *member, *policy;
	size_t len;
	int r;

	if (state_path(dir, id, NF_STATE_SUFFIX, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	r = nf_read_file(path, NF_STATE_MAX_BYTES, &buf, &len);
	if (r < 0)
		return r;
	member = memmem(buf, len, POLICY_MEMBER, strlen(POLICY_MEMBER));
	/* the policy runs from the member's colon to the closing brace written after it */
	if (!member || buf[len - 1] != '}') {
		free(buf);
		return -ENOENT;
	}
	member += strlen(POLICY_MEMBER);
	len = (size_t)(buf + len - 1 - member);
	policy = strndup(member, len);
	free(buf);
	if (!policy)
		return -ENOMEM;
	*ret = policy;
	*ret_len = len;
	return 0;
}

/*
 * The members before the policy, as a document of their own: the file is read in pieces until
 * the policy member shows up, so that a large policy costs the readers of the head (every hook
 * run's gc among them) nothing. A file without a policy is read whole.
 */
static int read_head(const char *path, char **ret, size_t *ret_len)
{
	char *member;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	r = nf_read_fd_until(fd, NF_STATE_MAX_BYTES, POLICY_MEMBER, ret, ret_len, &member);
	close(fd);
	if (r == 0 && member) {
		member[0] = '}';
		member[1] = '\0';
		*ret_len = (size_t)(member - *ret) + 1;
	}
	return r;
}

static char *dup_str(json_t *doc, const char *key)
{
	const char *v = json_string_value(json_object_get(doc, key));

	return strdup(v ? v : "");
}

/* A member that may be missing: NULL then; -ENOMEM when a copy fails. */
static int dup_opt(json_t *doc, const char *key, char **slot)
{
	const char *v = json_string_value(json_object_get(doc, key));

	if (!v || *slot)
		return 0;
	*slot = strdup(v);
	return *slot ? 0 : -ENOMEM;
}

static int k8s_get(json_t *doc, struct nf_state_k8s *k)
{
	if (dup_opt(doc, "pod", &k->pod) < 0 || dup_opt(doc, "namespace", &k->namespace) < 0 ||
	    dup_opt(doc, "container_name", &k->container) < 0)
		return -ENOMEM;
	return 0;
}

/* The Kubernetes names beside a state file, when there are any. */
static int read_k8s(const char *dir, const char *id, struct nf_state_k8s *k)
{
	char path[4096], *buf = NULL;
	json_t *doc;
	size_t len;
	int r;

	if (state_path(dir, id, NF_STATE_K8S_SUFFIX, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	r = nf_read_file(path, 64 * 1024, &buf, &len);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	r = json_is_object(doc) ? k8s_get(doc, k) : -EBADMSG;
	json_decref(doc);
	return r;
}

int nf_state_read(const char *dir, const char *id, struct nf_state **ret)
{
	char path[4096], *buf = NULL;
	struct nf_state *s;
	json_t *doc;
	size_t len = 0;
	int r;

	if (state_path(dir, id, NF_STATE_SUFFIX, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	r = read_head(path, &buf, &len);
	/* no fence: a container running without one may have left its record */
	if (r == -ENOENT && state_path(dir, id, NF_STATE_OPEN_SUFFIX, path, sizeof(path)) == 0)
		r = read_head(path, &buf, &len);
	if (r < 0)
		return r;
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return -EBADMSG;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		json_decref(doc);
		return -ENOMEM;
	}
	s->id = dup_str(doc, "id");
	s->cgroup = dup_str(doc, "cgroup");
	s->mode = dup_str(doc, "mode");
	s->source = dup_str(doc, "source");
	s->attached_at = dup_str(doc, "attached_at");
	s->cgroup_id = (uint64_t)json_integer_value(json_object_get(doc, "cgroup_id"));
	s->removable = json_is_true(json_object_get(doc, "removable"));
	s->own_netns = json_is_true(json_object_get(doc, "own_netns"));
	s->unfenced = json_is_true(json_object_get(doc, "unfenced"));
	r = k8s_get(doc, &s->k8s);
	if (r == 0 && s->unfenced)
		r = dup_opt(doc, "unfenced_reason", &s->unfenced_reason);
	json_decref(doc);
	if (r == 0 && !s->unfenced)
		r = read_k8s(dir, id, &s->k8s) == -ENOMEM ? -ENOMEM : 0;
	if (r < 0 || !s->id || !s->cgroup || !s->mode || !s->source || !s->attached_at) {
		nf_state_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

int nf_state_remove(const char *dir, const char *id)
{
	char path[4096];

	static const char *const suffixes[] = {
		NF_STATE_SUFFIX,      NF_STATE_TMP_SUFFIX,
		NF_STATE_K8S_SUFFIX,  NF_STATE_K8S_SUFFIX ".tmp",
		NF_STATE_OPEN_SUFFIX, NF_STATE_OPEN_SUFFIX ".tmp",
	};

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (state_path(dir, id, suffixes[i], path, sizeof(path)) < 0)
			return -ENAMETOOLONG;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	}
	return 0;
}

void nf_state_free(struct nf_state *s)
{
	if (!s)
		return;
	free(s->id);
	free(s->cgroup);
	free(s->mode);
	free(s->source);
	free(s->attached_at);
	free(s->unfenced_reason);
	free(s->k8s.pod);
	free(s->k8s.namespace);
	free(s->k8s.container);
	free(s);
}

/* Write text to <dir>/<id><suffix> through <suffix>.tmp. */
static int write_beside(const char *dir, const char *id, const char *suffix, const char *text)
{
	char path[4096], tmp[4096], tmp_suffix[16];
	struct piece piece = { text, strlen(text) };
	int r;

	snprintf(tmp_suffix, sizeof(tmp_suffix), "%s.tmp", suffix);
	if (state_path(dir, id, suffix, path, sizeof(path)) < 0 ||
	    state_path(dir, id, tmp_suffix, tmp, sizeof(tmp)) < 0)
		return -ENAMETOOLONG;
	r = write_tmp_as(dir, id, tmp_suffix, &piece, 1);
	if (r == 0 && rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
	}
	return r;
}

int nf_state_write_k8s(const char *dir, const char *id, const struct nf_state_k8s *k8s)
{
	json_t *doc;
	char *text;
	int r;

	if (!k8s->pod && !k8s->namespace && !k8s->container)
		return 0;
	doc = json_object();
	if (!doc || k8s_set(doc, k8s) < 0 || !(text = json_dumps(doc, JSON_COMPACT))) {
		json_decref(doc);
		return -ENOMEM;
	}
	json_decref(doc);
	r = write_beside(dir, id, NF_STATE_K8S_SUFFIX, text);
	free(text);
	return r;
}

int nf_state_write_unfenced(const char *dir, const struct nf_state *s)
{
	char *head = head_dump(s);
	int r;

	if (!head)
		return -ENOMEM;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		free(head);
		return -errno;
	}
	r = write_beside(dir, s->id, NF_STATE_OPEN_SUFFIX, head);
	free(head);
	return r;
}

int nf_state_remove_unfenced(const char *dir, const char *id)
{
	char path[4096];

	if (state_path(dir, id, NF_STATE_OPEN_SUFFIX, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static int ids_with(const char *dir, const char *suffix_name, char ***ret_ids, size_t *ret_n);

int nf_state_ids(const char *dir, char ***ret_ids, size_t *ret_n)
{
	return ids_with(dir, NF_STATE_SUFFIX, ret_ids, ret_n);
}

int nf_state_unfenced_ids(const char *dir, char ***ret_ids, size_t *ret_n)
{
	return ids_with(dir, NF_STATE_OPEN_SUFFIX, ret_ids, ret_n);
}

static int ids_with(const char *dir, const char *suffix_name, char ***ret_ids, size_t *ret_n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **ids = NULL;
	size_t n = 0, cap = 0;

	*ret_ids = NULL;
	*ret_n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *id;

		size_t suffix = strlen(suffix_name);

		if (de->d_name[0] == '.' || len <= suffix ||
		    strcmp(de->d_name + len - suffix, suffix_name))
			continue;
		id = strndup(de->d_name, len - suffix);
		if (nf_strv_push(&ids, &n, &cap, id) < 0) {
			closedir(d);
			nf_strv_free(ids, n);
			return -ENOMEM;
		}
	}
	closedir(d);
	nf_strv_sort(ids, n);
	*ret_ids = ids;
	*ret_n = n;
	return 0;
}
