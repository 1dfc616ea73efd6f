/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pin store: one directory per fenced container under the bpffs root, replaced by renames
 * so that an interrupted attach (even SIGKILL) leaves either the old fence or the new one in
 * force, and the next run finishes or rolls back what was interrupted:
 *
 *   <root>/<id>/        the fence in force
 *   <root>/<id>@new/    a fence being built; complete once <id>@old exists
 *   <root>/<id>@old/    the fence being replaced, unpinned last
 *
 * bpffs refuses '.' in names, so ids are encoded ('.' as "_d", '_' as "__"); '@' never occurs
 * in a container id, so the slot names never collide with one.
 * Callers hold the store lock (nf_pins_lock) around every change.
 */
#ifndef NETFENCE_PINS_H
#define NETFENCE_PINS_H

#include <stddef.h>

/* The slots' names are the encoded id and these suffixes, of the same length (oci.h bounds ids
 * so that they fit NAME_MAX). */
#define NF_PINS_NEW_SUFFIX "@new"
#define NF_PINS_OLD_SUFFIX "@old"

/* The length of id's name in the store: '.' is written "_d" and '_' "__" (pins.c). */
static inline size_t nf_pins_name_len(const char *id)
{
	size_t n = 0;

	for (; *id; id++)
		n += *id == '.' || *id == '_' ? 2 : 1;
	return n;
}

enum nf_pins_slot {
	NF_PINS_CURRENT,
	NF_PINS_NEW,
	NF_PINS_OLD,
};

int nf_pins_path(const char *root, const char *id, enum nf_pins_slot slot, char *buf, size_t size);

/* Create the root (mode 0700) and check it is on bpffs. */
int nf_pins_ensure_root(const char *root);

/* Take the store's exclusive lock (a file in the state dir); returns the fd to close. */
int nf_pins_lock(const char *state_dir);

/* Finish or roll back an interrupted attach of id. */
int nf_pins_recover(const char *root, const char *id);

/* Start building a new fence: returns the empty <id>@new directory in buf. */
int nf_pins_begin(const char *root, const char *id, char *buf, size_t size);

/*
 * Put the built fence in force: the one it replaces, still attached, becomes <id>@old. On
 * failure the previous fence is back in force and <id>@new is left for nf_pins_abort().
 */
int nf_pins_commit(const char *root, const char *id);

/* Undo a commit not yet released: the replaced fence back in force, the new one removed. */
int nf_pins_rollback(const char *root, const char *id);

/* Release the fence a commit replaced (its links are detached when this returns). */
int nf_pins_release(const char *root, const char *id);

/* Drop a fence under construction. */
int nf_pins_abort(const char *root, const char *id);

/* Remove every slot of id. An unknown id is success. */
int nf_pins_remove(const char *root, const char *id);

/* Ids with any slot in the store (sorted, deduplicated). Free with nf_strv_free() (util.h). */
int nf_pins_ids(const char *root, char ***ret_ids, size_t *ret_n);

/* The same for the ids with a <id>@new or <id>@old slot: attaches to finish or roll back. */
int nf_pins_pending(const char *root, char ***ret_ids, size_t *ret_n);

#endif
