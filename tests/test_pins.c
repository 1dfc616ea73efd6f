// SPDX-License-Identifier: Apache-2.0
/* Tests for hook/pins.c: names in the pin store, listing it, and recovering interrupted attaches
 * (on a plain directory: the store's logic is renames and unlinks, bpffs only holds the pins). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <criterion/criterion.h>

#include "pins.h"
#include "tmpdir.h"
#include "util.h"

static char root[256];

static void setup(void)
{
	nf_test_mkdtemp(root, sizeof(root), "pins");
}

static void teardown(void)
{
	nf_test_rmtree(root);
}

TestSuite(pins, .init = setup, .fini = teardown);

static void make_dir(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	cr_assert_eq(mkdir(path, 0700), 0, "mkdir %s: %m", path);
}

static void make_file(const char *dir, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s%s%s", root, dir, dir[0] ? "/" : "", name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0, "create %s: %m", path);
	close(fd);
}

static bool exists(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	return lstat(path, &st) == 0;
}

static void expect_ids(char **ids, size_t n, const char *const *want, size_t nwant)
{
	cr_assert_eq(n, nwant, "%zu ids, expected %zu", n, nwant);
	for (size_t i = 0; i < n; i++)
		cr_expect_str_eq(ids[i], want[i]);
}

Test(pins, path_encodes_dots_and_underscores)
{
	char buf[512], want[512];

	cr_assert_eq(nf_pins_path(root, "web.1_a", NF_PINS_CURRENT, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/web_d1__a", root);
	cr_expect_str_eq(buf, want);
	cr_assert_eq(nf_pins_path(root, "web.1_a", NF_PINS_NEW, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/web_d1__a@new", root);
	cr_expect_str_eq(buf, want);
	cr_assert_eq(nf_pins_path(root, "x", NF_PINS_OLD, buf, 8), -ENAMETOOLONG);
}

/* Fences by id, each once whatever its slots; the shared program sets (@programs), files,
 * hidden entries and names that are no encoding of an id are not fences. */
Test(pins, ids_and_pending)
{
	static const char *const all[] = { "a.b", "job", "web" };
	static const char *const pending[] = { "job", "web" };
	char **ids = NULL;
	size_t n = 0;

	make_dir("web");
	make_dir("web@new");
	make_dir("a_db");
	make_dir("job@old");
	make_dir("@programs");
	make_dir("bad_x");
	make_dir(".hidden");
	make_file("", "file");
	cr_assert_eq(nf_pins_ids(root, &ids, &n), 0);
	expect_ids(ids, n, all, 3);
	nf_strv_free(ids, n);
	cr_assert_eq(nf_pins_pending(root, &ids, &n), 0);
	expect_ids(ids, n, pending, 2);
	nf_strv_free(ids, n);
}

Test(pins, ids_of_a_missing_root)
{
	char **ids = (char **)1, missing[300];
	size_t n = 1;

	snprintf(missing, sizeof(missing), "%s/none", root);
	cr_assert_eq(nf_pins_ids(missing, &ids, &n), 0);
	cr_expect_null(ids);
	cr_expect_eq(n, 0);
}

/* Two slots of "web", each holding a pin named after its slot ("web@new" holds "pin_new"), are
 * recovered: "web" then holds the pin named want, and neither @new nor @old is left. */
static const char *slot_pin(const char *slot)
{
	if (strcmp(slot, "web@new") == 0)
		return "pin_new";
	return strcmp(slot, "web@old") == 0 ? "pin_old" : "pin_cur";
}

static void recover_from(const char *a, const char *b, const char *want)
{
	char pin[64];

	make_dir(a);
	make_file(a, slot_pin(a));
	make_dir(b);
	make_file(b, slot_pin(b));
	cr_assert_eq(nf_pins_recover(root, "web"), 0);
	snprintf(pin, sizeof(pin), "web/%s", want);
	cr_expect(exists(pin), "%s is not in force", want);
	cr_expect_not(exists("web@new"));
	cr_expect_not(exists("web@old"));
}

/* Killed after the old fence was moved aside, before the new one was in place: the new one
 * (complete once @old exists) is put in force and the old one released. */
Test(pins, recover_completes_a_swap)
{
	recover_from("web@new", "web@old", "pin_new");
}

/* Killed while the new fence was being built: the one in force stays, the new one goes. */
Test(pins, recover_drops_an_unfinished_fence)
{
	recover_from("web", "web@new", "pin_cur");
}

/* Killed after the swap, before the old fence was released: only the release is left. */
Test(pins, recover_releases_the_old_fence)
{
	recover_from("web", "web@old", "pin_cur");
}

/* "web" holds pin_cur, "web@new" pin_new: a replacement ready to commit. */
static void replacement_ready(void)
{
	make_dir("web");
	make_file("web", "pin_cur");
	make_dir("web@new");
	make_file("web@new", "pin_new");
}

/* A commit puts the new fence in force and keeps the replaced one as @old until released. */
Test(pins, commit_then_release)
{
	replacement_ready();
	cr_assert_eq(nf_pins_commit(root, "web"), 0);
	cr_expect(exists("web/pin_new"));
	cr_expect(exists("web@old/pin_cur"), "the replaced fence is released before the release");
	cr_expect_not(exists("web@new"));
	cr_assert_eq(nf_pins_release(root, "web"), 0);
	cr_expect_not(exists("web@old"));
	cr_expect(exists("web/pin_new"));
}

/* A rollback after a commit (the state could not be put in place): the replaced fence is back
 * in force, the new one gone; for a first attach nothing is left. */
Test(pins, rollback_restores_the_replaced_fence)
{
	replacement_ready();
	cr_assert_eq(nf_pins_commit(root, "web"), 0);
	cr_assert_eq(nf_pins_rollback(root, "web"), 0);
	cr_expect(exists("web/pin_cur"));
	cr_expect_not(exists("web/pin_new"));
	cr_expect_not(exists("web@new"));
	cr_expect_not(exists("web@old"));

	make_dir("first@new");
	make_file("first@new", "pin_new");
	cr_assert_eq(nf_pins_commit(root, "first"), 0);
	cr_assert_eq(nf_pins_rollback(root, "first"), 0);
	cr_expect_not(exists("first"));
	cr_expect_not(exists("first@new"));
}

/* Killed after the rollback's exchange, before the new fence was released: a recovery keeps
 * the replaced fence, which the exchange put back. */
Test(pins, recover_after_an_interrupted_rollback)
{
	char cur[512], old[512];

	replacement_ready();
	cr_assert_eq(nf_pins_commit(root, "web"), 0);
	snprintf(cur, sizeof(cur), "%s/web", root);
	snprintf(old, sizeof(old), "%s/web@old", root);
	cr_assert_eq(renameat2(AT_FDCWD, old, AT_FDCWD, cur, RENAME_EXCHANGE), 0, "%m");
	cr_assert_eq(nf_pins_recover(root, "web"), 0);
	cr_expect(exists("web/pin_cur"));
	cr_expect_not(exists("web@old"));
}

/* A rollback where bpffs cannot exchange (before 5.16) renames twice, the new fence back to
 * @new first. Killed between the renames, a recovery keeps the new fence, complete; killed
 * after both, the replaced one. */
static void rollback_by_renames(int renames)
{
	char cur[512], new[512], old[512];

	replacement_ready();
	cr_assert_eq(nf_pins_commit(root, "web"), 0);
	snprintf(cur, sizeof(cur), "%s/web", root);
	snprintf(new, sizeof(new), "%s/web@new", root);
	snprintf(old, sizeof(old), "%s/web@old", root);
	cr_assert_eq(rename(cur, new), 0, "%m");
	if (renames == 2)
		cr_assert_eq(rename(old, cur), 0, "%m");
	cr_assert_eq(nf_pins_recover(root, "web"), 0);
	cr_expect(exists(renames == 2 ? "web/pin_cur" : "web/pin_new"));
	cr_expect_not(exists("web@new"));
	cr_expect_not(exists("web@old"));
}

Test(pins, recover_between_the_renames_of_a_rollback)
{
	rollback_by_renames(1);
}

Test(pins, recover_after_the_renames_of_a_rollback)
{
	rollback_by_renames(2);
}
