// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "log.h"
#include "netfence.skel.h"
#include "netfence_small.skel.h"

struct prog_pin {
	const char *pin;
	size_t prog_off; /* offset of the program pointer in skel->progs */
};

#define PROG(name)                                                            \
	{                                                                     \
		"link_" #name, offsetof(struct netfence_bpf, progs.nf_##name) \
	}
static const struct prog_pin prog_pins[] = {
	PROG(connect4), PROG(connect6),	   PROG(sendmsg4),
	PROG(sendmsg6), PROG(sock_create), PROG(egress),
};
#define NPROGS (sizeof(prog_pins) / sizeof(prog_pins[0]))

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static char text[65536];
	char *line, *save = NULL;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(text, sizeof(text), fmt, ap);
	/* Verifier logs come as one message; the log takes one line per event. */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		nf_log_debug("libbpf: %s", line);
	return 0;
}

void nf_loader_init(void)
{
	libbpf_set_print(libbpf_print);
}

static void set_settings(struct netfence_bpf *skel, const struct nf_load_opts *o)
{
	const struct nf_compiled *c = o->compiled;

	skel->rodata->nf_mode = c->mode;
	skel->rodata->nf_loopback_allow = c->loopback_allow;
	skel->rodata->nf_raw_deny = c->raw_deny;
	skel->rodata->nf_events_per_sec = o->events_per_sec;
	memcpy((void *)&skel->rodata->nf_tree4_levels, &c->tree4, sizeof(c->tree4));
	memcpy((void *)&skel->rodata->nf_tree6_levels, &c->tree6, sizeof(c->tree6));
}

static int size_maps(struct netfence_bpf *skel, const struct nf_load_opts *o)
{
	const struct nf_compiled *c = o->compiled;
	int r;

	r = bpf_map__set_max_entries(skel->maps.nf_tree4, c->tree4.nodes);
	if (!r)
		r = bpf_map__set_max_entries(skel->maps.nf_tree6, c->tree6.nodes);
	if (!r)
		r = bpf_map__set_max_entries(skel->maps.nf_classes, (__u32)c->nclasses);
	/* Zero-sized maps are refused by the kernel: keep one unused slot. */
	if (!r)
		r = bpf_map__set_max_entries(skel->maps.nf_portsets,
					     c->nportsets ? c->nportsets : 1);
	if (!r && o->counters_fd >= 0)
		r = bpf_map__reuse_fd(skel->maps.nf_counters, o->counters_fd);
	return r;
}

/*
 * One BPF_MAP_UPDATE_BATCH per map rather than a system call per element (a tree of 16384 rules
 * is thousands of nodes). Kernels without batch support for the map type get one update per
 * element.
 */
static int update_all(int fd, const void *keys, const void *vals, size_t key_size, size_t val_size,
		      size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = (__u32)n;

	if (n == 0)
		return 0;
	if (bpf_map_update_batch(fd, keys, vals, &count, &opts) == 0 && count == n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const char *)keys + i * key_size,
					(const char *)vals + i * val_size, BPF_ANY) < 0)
			return -errno;
	return 0;
}

/* An array map's elements 0..n-1 from vals. */
static int fill_array(int fd, const void *vals, size_t val_size, size_t n)
{
	__u32 *idx = calloc(n ? n : 1, sizeof(*idx));
	int r;

	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		idx[i] = (__u32)i;
	r = update_all(fd, idx, vals, sizeof(*idx), val_size, n);
	free(idx);
	return r;
}

static int fill_maps(struct netfence_bpf *skel, const struct nf_compiled *c)
{
	int fd4 = bpf_map__fd(skel->maps.nf_tree4);
	int fd6 = bpf_map__fd(skel->maps.nf_tree6);
	int fdc = bpf_map__fd(skel->maps.nf_classes);
	int fdp = bpf_map__fd(skel->maps.nf_portsets);
	int r;

	r = fill_array(fdp, c->portsets, sizeof(*c->portsets), c->nportsets);
	if (r == 0)
		r = fill_array(fd4, c->nodes4, sizeof(*c->nodes4), c->tree4.nodes);
	if (r == 0)
		r = fill_array(fd6, c->nodes6, sizeof(*c->nodes6), c->tree6.nodes);
	if (r == 0)
		r = fill_array(fdc, c->classes, sizeof(*c->classes), c->nclasses);
	if (r < 0)
		return r;
	/* Frozen maps cannot be rewritten through the syscall, by us or by anyone who finds
	 * them by id: the verdict tables are as immutable as the programs. */
	if (bpf_map_freeze(fd4) < 0 || bpf_map_freeze(fd6) < 0 || bpf_map_freeze(fdc) < 0 ||
	    bpf_map_freeze(fdp) < 0)
		return -errno;
	return 0;
}

static int pin_at(const char *dir, const char *name, int fd)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	return bpf_obj_pin(fd, path) < 0 ? -errno : 0;
}

static int attach_and_pin(struct netfence_bpf *skel, const struct nf_load_opts *o,
			  struct bpf_link **links, char *err, size_t errlen)
{
	int r;

	for (size_t i = 0; i < NPROGS; i++) {
		struct bpf_program *prog =
			*(struct bpf_program **)((char *)skel + prog_pins[i].prog_off);

		links[i] = bpf_program__attach_cgroup(prog, o->cgroup_fd);
		if (!links[i]) {
			r = -errno;
			snprintf(err, errlen, "cannot attach %s: %s", bpf_program__name(prog),
				 strerror(-r));
			return r;
		}
		r = pin_at(o->pin_dir, prog_pins[i].pin, bpf_link__fd(links[i]));
		if (r < 0) {
			snprintf(err, errlen, "cannot pin %s/%s: %s", o->pin_dir, prog_pins[i].pin,
				 strerror(-r));
			return r;
		}
	}
	r = pin_at(o->pin_dir, NF_PIN_COUNTERS, bpf_map__fd(skel->maps.nf_counters));
	if (!r)
		r = pin_at(o->pin_dir, NF_PIN_EVENTS, bpf_map__fd(skel->maps.nf_events));
	if (r < 0)
		snprintf(err, errlen, "cannot pin maps in %s: %s", o->pin_dir, strerror(-r));
	return r;
}

/*
 * The skeleton, opened on the small build's object when the compiled trees have its levels.
 * Both builds come from one source with the same maps, programs and read-only data, so one
 * skeleton type serves either object.
 */
static struct netfence_bpf *open_skel(bool small)
{
	struct netfence_bpf *skel = calloc(1, sizeof(*skel));
	int r;

	if (!skel) {
		errno = ENOMEM;
		return NULL;
	}
	r = netfence_bpf__create_skeleton(skel);
	if (!r && small)
		skel->skeleton->data =
			(void *)netfence_small_bpf__elf_bytes(&skel->skeleton->data_sz);
	if (!r)
		r = bpf_object__open_skeleton(skel->skeleton, NULL);
	if (r) {
		netfence_bpf__destroy(skel);
		errno = -r;
		return NULL;
	}
	return skel;
}

int nf_loader_attach(const struct nf_load_opts *o, char *err, size_t errlen)
{
	struct bpf_link *links[NPROGS] = {};
	struct netfence_bpf *skel;
	int r;

	skel = open_skel(o->compiled->small);
	if (!skel) {
		r = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(-r));
		return r;
	}
	set_settings(skel, o);
	r = size_maps(skel, o);
	if (r < 0) {
		snprintf(err, errlen, "cannot size the BPF maps: %s", strerror(-r));
		goto out;
	}
	r = netfence_bpf__load(skel);
	if (r < 0) {
		snprintf(err, errlen, "cannot load the BPF programs: %s", strerror(-r));
		goto out;
	}
	r = fill_maps(skel, o->compiled);
	if (r < 0) {
		snprintf(err, errlen, "cannot fill the BPF maps: %s", strerror(-r));
		goto out;
	}
	r = attach_and_pin(skel, o, links, err, errlen);
out:
	if (r < 0)
		nf_loader_unpin(o->pin_dir);
	/* Our references go; the pins keep the links (and so the attachment) alive. */
	for (size_t i = 0; i < NPROGS; i++)
		bpf_link__destroy(links[i]);
	netfence_bpf__destroy(skel);
	return r;
}

static int open_pin(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int nf_loader_counters(const char *pin_dir, uint64_t ret[NF_CNT_COUNT])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum[NF_CNT_COUNT] = {};
	__u64 *vals;
	int fd, r = 0;

	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	fd = open_pin(pin_dir, NF_PIN_COUNTERS);
	if (fd < 0)
		return fd;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals) {
		close(fd);
		return -ENOMEM;
	}
	for (__u32 k = 0; k < NF_CNT_COUNT && r == 0; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals) < 0) {
			r = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			sum[k] += vals[c];
	}
	free(vals);
	close(fd);
	if (r == 0)
		memcpy(ret, sum, sizeof(sum));
	return r;
}

int nf_loader_cgroup_id(const char *pin_dir, uint64_t *ret_id)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd, r;

	fd = open_pin(pin_dir, NF_PIN_FIRST_LINK);
	if (fd < 0)
		return fd;
	r = bpf_obj_get_info_by_fd(fd, &info, &len);
	r = r < 0 ? -errno : 0;
	close(fd);
	if (r == 0)
		*ret_id = info.type == BPF_LINK_TYPE_CGROUP ? info.cgroup.cgroup_id : 0;
	return r;
}

int nf_loader_unpin(const char *pin_dir)
{
	DIR *d = opendir(pin_dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			r = -errno;
	}
	closedir(d);
	if (rmdir(pin_dir) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}
