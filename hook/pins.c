// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "loader.h"
#include "pins.h"
#include "util.h"

#define SLOT_SUFFIX_LEN (sizeof(NF_PINS_NEW_SUFFIX) - 1)
_Static_assert(sizeof(NF_PINS_NEW_SUFFIX) == sizeof(NF_PINS_OLD_SUFFIX),
	       "the slot suffixes are told apart from an id by their length");

/* bpffs refuses names containing '.', which container ids may hold: '.' is written "_d" and '_'
 * "__", an encoding that keeps distinct ids distinct. */
static int encode_id(const char *id, char *buf, size_t size)
{
	size_t o = 0;

	for (; *id; id++) {
		if (o + 3 > size)
			return -ENAMETOOLONG;
		if (*id == '.' || *id == '_') {
			buf[o++] = '_';
			buf[o++] = *id == '.' ? 'd' : '_';
		} else {
			buf[o++] = *id;
		}
	}
	buf[o] = '\0';
	return 0;
}

static char *decode_id(const char *name, size_t len)
{
	char *id = malloc(len + 1);
	size_t o = 0;

	if (!id)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (name[i] != '_') {
			id[o++] = name[i];
			continue;
		}
		if (i + 1 == len || (name[i + 1] != 'd' && name[i + 1] != '_')) {
			free(id);
			return NULL;
		}
		id[o++] = name[++i] == 'd' ? '.' : '_';
	}
	id[o] = '\0';
	return id;
}

int nf_pins_path(const char *root, const char *id, enum nf_pins_slot slot, char *buf, size_t size)
{
	static const char *const suffix[] = { "", NF_PINS_NEW_SUFFIX, NF_PINS_OLD_SUFFIX };
	char enc[2100];
	int n;

	if (encode_id(id, enc, sizeof(enc)) < 0)
		return -ENAMETOOLONG;
	n = snprintf(buf, size, "%s/%s%s", root, enc, suffix[slot]);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* path and its missing parents. Every hook run asks for directories that are there already:
 * one mkdir() says so, the walk from / is only for a first run. */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int nf_pins_ensure_root(const char *root)
{
	struct statfs sfs;
	int r = mkdir_p(root, 0700);

	if (r < 0)
		return r;
	if (statfs(root, &sfs) < 0)
		return -errno;
	return sfs.f_type == BPF_FS_MAGIC ? 0 : -ENOTSUP;
}

int nf_pins_lock(const char *state_dir)
{
	char path[4096];
	int fd, r = mkdir_p(state_dir, 0700);

	if (r < 0)
		return r;
	if ((size_t)snprintf(path, sizeof(path), "%s/.lock", state_dir) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int nf_pins_recover(const char *root, const char *id)
{
	char cur[4096], new[4096], old[4096];
	bool had_new;
	int r;

	if (nf_pins_path(root, id, NF_PINS_CURRENT, cur, sizeof(cur)) < 0 ||
	    nf_pins_path(root, id, NF_PINS_NEW, new, sizeof(new)) < 0 ||
	    nf_pins_path(root, id, NF_PINS_OLD, old, sizeof(old)) < 0)
		return -ENAMETOOLONG;

	if (exists(old)) {
		/* The new fence was complete before the old one was moved aside. */
		if (!exists(cur)) {
			r = rename(exists(new) ? new : old, cur);
			if (r < 0)
				return -errno;
		}
		/* Whichever is in force now counts (a run stopped before the hand-over left the
		 * counting with the other). Counting is not the fence: a failure does not stop the
		 * recovery. */
		nf_loader_hand_over(cur);
		r = nf_loader_unpin(old);
		if (r < 0)
			return r;
	}
	/* A @new without @old never finished building: the fence in force is <id>, and gets back
	 * what the new one's attach took (its names). */
	had_new = exists(new);
	r = nf_loader_unpin(new);
	if (r == 0 && had_new && exists(cur))
		nf_loader_hand_over(cur);
	return r;
}

int nf_pins_begin(const char *root, const char *id, char *buf, size_t size)
{
	int r = nf_pins_recover(root, id);

	if (r < 0)
		return r;
	r = nf_pins_path(root, id, NF_PINS_NEW, buf, size);
	if (r < 0)
		return r;
	return mkdir(buf, 0700) < 0 ? -errno : 0;
}

/* The slots of id: <id>, <id>@new, <id>@old. */
static int slot_paths(const char *root, const char *id, char cur[4096], char new[4096],
		      char old[4096])
{
	if (nf_pins_path(root, id, NF_PINS_CURRENT, cur, 4096) < 0 ||
	    nf_pins_path(root, id, NF_PINS_NEW, new, 4096) < 0 ||
	    nf_pins_path(root, id, NF_PINS_OLD, old, 4096) < 0)
		return -ENAMETOOLONG;
	return 0;
}

int nf_pins_commit(const char *root, const char *id)
{
	char cur[4096], new[4096], old[4096];
	bool replacing;
	int r;

	if (slot_paths(root, id, cur, new, old) < 0)
		return -ENAMETOOLONG;
	replacing = exists(cur);
	if (replacing && rename(cur, old) < 0)
		return -errno;
	if (rename(new, cur) < 0) {
		r = -errno;
		if (replacing)
			rename(old, cur);
		return r;
	}
	return 0;
}

int nf_pins_rollback(const char *root, const char *id)
{
	char cur[4096], new[4096], old[4096];

	if (slot_paths(root, id, cur, new, old) < 0)
		return -ENAMETOOLONG;
	if (!exists(old)) {
		/* A first attach: as <id>@new without <id>@old, a recovery would drop it too. */
		if (rename(cur, new) < 0)
			return -errno;
		return nf_loader_unpin(new);
	}
	/* One step, so that a run killed after it finds the new fence as <id>@old and drops it. */
	if (renameat2(AT_FDCWD, old, AT_FDCWD, cur, RENAME_EXCHANGE) == 0) {
		nf_loader_hand_over(cur);
		return nf_loader_unpin(old);
	}
	if (errno != EINVAL)
		return -errno;
	/*
	 * bpffs before Linux 5.16 cannot exchange. Two renames, the new fence's first: a run
	 * killed between them finds <id>@new and <id>@old as a commit leaves them, and keeps the
	 * new fence, which is complete (links judge throughout: only their names move).
	 */
	if (rename(cur, new) < 0)
		return -errno;
	if (rename(old, cur) < 0) {
		int r = -errno;

		rename(new, cur);
		return r;
	}
	nf_loader_hand_over(cur);
	return nf_loader_unpin(new);
}

int nf_pins_release(const char *root, const char *id)
{
	char old[4096];
	int r = nf_pins_path(root, id, NF_PINS_OLD, old, sizeof(old));

	return r < 0 ? r : nf_loader_unpin(old);
}

int nf_pins_abort(const char *root, const char *id)
{
	char cur[4096], new[4096], old[4096];
	int r = slot_paths(root, id, cur, new, old);

	if (r == 0)
		r = nf_loader_unpin(new);
	/* The fence in force gets back what the new one's attach took (its names). */
	if (r == 0 && exists(cur))
		nf_loader_hand_over(cur);
	return r;
}

int nf_pins_remove(const char *root, const char *id)
{
	char cur[4096];
	int r = nf_pins_recover(root, id);

	if (r < 0)
		return r;
	r = nf_pins_path(root, id, NF_PINS_CURRENT, cur, sizeof(cur));
	return r < 0 ? r : nf_loader_unpin(cur);
}

static bool is_slot(const char *name)
{
	size_t len = strlen(name);

	return len > SLOT_SUFFIX_LEN &&
	       (strcmp(name + len - SLOT_SUFFIX_LEN, NF_PINS_NEW_SUFFIX) == 0 ||
		strcmp(name + len - SLOT_SUFFIX_LEN, NF_PINS_OLD_SUFFIX) == 0);
}

/* "<enc>", "<enc>@new" or "<enc>@old" → id; NULL for anything else. */
static char *slot_id(const char *name)
{
	size_t len = strlen(name);

	if (is_slot(name))
		len -= SLOT_SUFFIX_LEN;
	if (memchr(name, '@', len))
		return NULL;
	return decode_id(name, len);
}

static int list_ids(const char *root, bool slots_only, char ***ret_ids, size_t *ret_n)
{
	DIR *d = opendir(root);
	struct dirent *de;
	char **ids = NULL;
	size_t n = 0, cap = 0, out = 0;

	if (!d) {
		if (errno != ENOENT)
			return -errno;
		*ret_ids = NULL;
		*ret_n = 0;
		return 0;
	}
	while ((de = readdir(d))) {
		char *id;

		if (de->d_type != DT_DIR || de->d_name[0] == '.' ||
		    (slots_only && !is_slot(de->d_name)))
			continue;
		id = slot_id(de->d_name);
		if (!id)
			continue;
		if (nf_strv_push(&ids, &n, &cap, id) < 0) {
			closedir(d);
			nf_strv_free(ids, n);
			return -ENOMEM;
		}
	}
	closedir(d);
	nf_strv_sort(ids, n);
	for (size_t i = 0; i < n; i++) {
		if (out && strcmp(ids[out - 1], ids[i]) == 0)
			free(ids[i]);
		else
			ids[out++] = ids[i];
	}
	*ret_ids = ids;
	*ret_n = out;
	return 0;
}

int nf_pins_ids(const char *root, char ***ret_ids, size_t *ret_n)
{
	return list_ids(root, false, ret_ids, ret_n);
}

int nf_pins_pending(const char *root, char ***ret_ids, size_t *ret_n)
{
	return list_ids(root, true, ret_ids, ret_n);
}
