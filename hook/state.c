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

int nf_state_write(const char *dir, const struct nf_state *s)
{
	char path[4096], tmp[4096];
	json_t *doc;
	char *text;
	int fd, r;

	if (state_path(dir, s->id, ".json", path, sizeof(path)) < 0 ||
	    state_path(dir, s->id, ".json.tmp", tmp, sizeof(tmp)) < 0)
		return -ENAMETOOLONG;
	doc = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:b, s:b, s:O}", "id", s->id, "cgroup",
			s->cgroup, "cgroup_id", (json_int_t)s->cgroup_id, "mode", s->mode, "source",
			s->source, "attached_at", s->attached_at, "removable", s->removable,
			"own_netns", s->own_netns, "policy", s->policy ? s->policy : json_null());
	if (!doc)
		return -ENOMEM;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		free(text);
		return -errno;
	}
	r = nf_write_all(fd, text, strlen(text));
	free(text);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static char *dup_str(json_t *doc, const char *key)
{
	const char *v = json_string_value(json_object_get(doc, key));

	return strdup(v ? v : "");
}

int nf_state_read(const char *dir, const char *id, struct nf_state **ret)
{
	char path[4096], *buf;
	struct nf_state *s;
	json_t *doc;
	size_t len;
	int r;

	if (state_path(dir, id, ".json", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	r = nf_read_file(path, NF_STATE_MAX_BYTES, &buf, &len);
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
	s->policy = json_incref(json_object_get(doc, "policy"));
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

	if (state_path(dir, id, ".json", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	if (state_path(dir, id, ".json.tmp", path, sizeof(path)) == 0)
		unlink(path);
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
	json_decref(s->policy);
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

		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		id = strndup(de->d_name, len - 5);
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
