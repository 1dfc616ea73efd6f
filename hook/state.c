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

/* Write the pieces to <dir>/<id>.json.tmp. */
static int write_tmp(const char *dir, const char *id, const struct piece *pieces, size_t n)
{
	char tmp[4096];
	int fd, r = 0;

	if (state_path(dir, id, NF_STATE_TMP_SUFFIX, tmp, sizeof(tmp)) < 0)
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

int nf_state_prepare(const char *dir, const struct nf_state *s, const char *policy,
		     size_t policy_len)
{
	json_t *doc;
	char *head;
	int r;

	doc = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:b, s:b}", "id", s->id, "cgroup",
			s->cgroup, "cgroup_id", (json_int_t)s->cgroup_id, "mode", s->mode, "source",
			s->source, "attached_at", s->attached_at, "removable", s->removable,
			"own_netns", s->own_netns);
	if (!doc)
		return -ENOMEM;
	head = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
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
	json_decref(doc);
	if (!s->id || !s->cgroup || !s->mode || !s->source || !s->attached_at) {
		nf_state_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

int nf_state_remove(const char *dir, const char *id)
{
	char path[4096];

	static const char *const suffixes[] = { NF_STATE_SUFFIX, NF_STATE_TMP_SUFFIX };

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
	free(s);
}

int nf_state_ids(const char *dir, char ***ret_ids, size_t *ret_n)
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

		size_t suffix = strlen(NF_STATE_SUFFIX);

		if (de->d_name[0] == '.' || len <= suffix ||
		    strcmp(de->d_name + len - suffix, NF_STATE_SUFFIX))
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
