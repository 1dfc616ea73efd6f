// SPDX-License-Identifier: Apache-2.0
/* Tests for hook/loader.c's purge of a table of events rings, on a real (small) BPF hash of
 * maps: a full table is what an attach purges before it tries again. Skipped where BPF maps
 * cannot be made (no privilege, or BPF under qemu-user). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "loader.h"

#define TABLE_MAX 4

static int rings[TABLE_MAX + 1];
static int table = -1;

static int ring_new(void)
{
	return bpf_map_create(BPF_MAP_TYPE_RINGBUF, "t_ring", 0, 0, 4096, NULL);
}

static void setup(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);

	for (int i = 0; i <= TABLE_MAX; i++)
		rings[i] = -1;
	rings[0] = ring_new();
	if (rings[0] < 0)
		cr_skip_test("cannot create a BPF ring buffer: %s", strerror(errno));
	opts.inner_map_fd = rings[0];
	table = bpf_map_create(BPF_MAP_TYPE_HASH_OF_MAPS, "t_rings", 8, 4, TABLE_MAX, &opts);
	cr_assert_geq(table, 0, "cannot create a hash of maps: %s", strerror(errno));
	for (int i = 1; i <= TABLE_MAX; i++) {
		rings[i] = ring_new();
		cr_assert_geq(rings[i], 0, "cannot create a ring: %s", strerror(errno));
	}
}

static void teardown(void)
{
	for (int i = 0; i <= TABLE_MAX; i++)
		if (rings[i] >= 0)
			close(rings[i]);
	if (table >= 0)
		close(table);
}

TestSuite(loader, .init = setup, .fini = teardown);

static __u32 id_of(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

static int put(__u64 key, int ring)
{
	return bpf_map_update_elem(table, &key, &ring, BPF_ANY) < 0 ? -errno : 0;
}

static bool holds(__u64 key, int ring)
{
	__u32 id = 0;

	return bpf_map_lookup_elem(table, &key, &id) == 0 && id == id_of(ring);
}

/* A full table refuses a new key; the purge deletes every entry but those kept (cgroup id and
 * ring both), which makes room. */
Test(loader, purge_full_table)
{
	struct nf_ring_ref keep[] = {
		{ .cgroup_id = 11, .ring_id = id_of(rings[1]) },
		/* the ring of another cgroup's fence: key 12's entry is stale all the same */
		{ .cgroup_id = 99, .ring_id = id_of(rings[2]) },
	};
	size_t deleted = 0;

	for (int i = 1; i <= TABLE_MAX; i++)
		cr_assert_eq(put(10 + (__u64)i, rings[i]), 0);
	cr_assert_eq(put(20, rings[1]), -E2BIG, "a full table took a new key");
	cr_assert_eq(nf_loader_purge_table(table, keep, 2, &deleted), 0);
	cr_expect_eq(deleted, TABLE_MAX - 1);
	cr_expect(holds(11, rings[1]), "the kept entry is gone");
	for (__u64 k = 12; k <= 10 + TABLE_MAX; k++) {
		__u32 id;

		cr_expect_neq(bpf_map_lookup_elem(table, &k, &id), 0, "entry %llu stayed",
			      (unsigned long long)k);
	}
	cr_expect_eq(put(20, rings[2]), 0, "no room after the purge");
}

/* Nothing to purge: nothing deleted, an empty table walked without error. */
Test(loader, purge_nothing)
{
	struct nf_ring_ref keep[] = { { .cgroup_id = 11, .ring_id = id_of(rings[1]) } };
	size_t deleted = 7;

	cr_assert_eq(nf_loader_purge_table(table, keep, 1, &deleted), 0);
	cr_expect_eq(deleted, 0);
	cr_assert_eq(put(11, rings[1]), 0);
	cr_assert_eq(nf_loader_purge_table(table, keep, 1, &deleted), 0);
	cr_expect_eq(deleted, 0);
	cr_expect(holds(11, rings[1]));
}
