/* SPDX-License-Identifier: Apache-2.0 */
/* Temporary directories for the unit tests: made under /tmp, removed with all they hold. */
#ifndef NETFENCE_TEST_TMPDIR_H
#define NETFENCE_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <criterion/criterion.h>

/* buf receives "/tmp/netfence-test-<name>-XXXXXX", made. */
static inline void nf_test_mkdtemp(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "/tmp/netfence-test-%s-XXXXXX", name);
	cr_assert_not_null(mkdtemp(buf), "mkdtemp: %m");
}

static inline int nf_test_remove_entry(const char *path, const struct stat *st, int flag,
				       struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static inline void nf_test_rmtree(const char *dir)
{
	if (dir[0])
		nftw(dir, nf_test_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
