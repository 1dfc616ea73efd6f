/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A textual reader of the TOML subset that containerd's, CRI-O's and Podman's configuration
 * files use, enough for `netfence doctor` to find a few keys in them. Pure: bytes in, a list of
 * entries out.
 *
 * Read: comments, [table] and [[array.of.tables]] headers, bare, "basic" and 'literal' keys,
 * dotted keys, and values that are strings ("basic" with escapes, 'literal'), booleans,
 * integers, and arrays of those (over several lines, trailing comma allowed). Anything else as
 * a value (floats, dates, inline tables, multi-line strings, nested arrays) is kept as
 * NF_TOML_OTHER and skipped over, brackets and quotes balanced. A line that fits none of this
 * is an error naming it.
 */
#ifndef NETFENCE_TOML_H
#define NETFENCE_TOML_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define NF_TOML_DEPTH 16 /* components of a table header plus a dotted key */

enum nf_toml_type {
	NF_TOML_STRING,
	NF_TOML_BOOL,
	NF_TOML_INT,
	NF_TOML_ARRAY, /* of strings: its other items are left out */
	NF_TOML_OTHER,
};

struct nf_toml_entry {
	char *path[NF_TOML_DEPTH]; /* the table's components, then the key's */
	size_t depth;		   /* components in path, the last one the key */
	int line;		   /* 1-based, where the key is */
	int type;		   /* enum nf_toml_type */
	char *str;		   /* NF_TOML_STRING */
	bool b;			   /* NF_TOML_BOOL */
	long long i;		   /* NF_TOML_INT */
	char **items;		   /* NF_TOML_ARRAY: its strings */
	size_t n_items;
};

struct nf_toml {
	struct nf_toml_entry *v;
	size_t n, cap;
};

/* Parse len bytes, NUL-terminated at len, into doc. 0, or -EINVAL / -ENOMEM with "line N: ..." in
 * err. */
int nf_toml_parse(const char *buf, size_t len, struct nf_toml *doc, struct nf_err *err);

void nf_toml_free(struct nf_toml *doc);

/* The last entry whose path is exactly the NULL-terminated list of components, or NULL. */
const struct nf_toml_entry *nf_toml_get(const struct nf_toml *doc, const char *const *path);

/* Whether e's path starts with the NULL-terminated list prefix. */
bool nf_toml_has_prefix(const struct nf_toml_entry *e, const char *const *prefix);

#endif
