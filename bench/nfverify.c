// SPDX-License-Identifier: Apache-2.0
/*
 * nfverify: what the verifier costs, program by program, for `make bench` (bench/run.sh builds
 * it with cc -O2 ... -lbpf).
 *
 *   nfverify OBJECT.bpf.o [NAME=VALUE...]
 *
 * Loads each program of the object on its own (the others not loaded, the maps created with
 * their default sizes; the read-only data as compiled, but for the __u32 variables named on the
 * command line, set as the hook sets them for a fence, since the verifier drops the code they
 * rule out) with BPF_LOG_STATS and prints one JSON line per
 * program: the kernel's "verification time" and "processed N insns", and the wall time of the
 * whole load. The hook loads every program each time it fences a container, so the sum is a
 * floor under its attach latency. Run it with the capabilities the hook keeps (CAP_BPF and
 * CAP_NET_ADMIN, e.g. under setpriv) to see what the hook pays: without CAP_PERFMON the
 * verifier also walks speculative paths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

static char logbuf[4 << 20];

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* Set the __u32 read-only variable name of obj to value, through the .rodata section's BTF. */
static int set_rodata(struct bpf_object *obj, const char *name, __u32 value)
{
	struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map;
	const struct btf_var_secinfo *v;
	const struct btf_type *sec;
	const char *data;
	size_t size;
	int id;

	bpf_object__for_each_map(map, obj) if (strstr(bpf_map__name(map), ".rodata")) break;
	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -1;
	if (!map || id < 0)
		return -1;
	data = bpf_map__initial_value(map, &size);
	sec = btf__type_by_id(btf, (__u32)id);
	v = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, v++) {
		const char *var = btf__name_by_offset(btf, btf__type_by_id(btf, v->type)->name_off);

		if (strcmp(var, name) == 0 && v->size == sizeof(value) &&
		    v->offset + v->size <= size) {
			char *copy = malloc(size);
			int r;

			if (!copy)
				return -1;
			memcpy(copy, data, size);
			memcpy(copy + v->offset, &value, sizeof(value));
			r = bpf_map__set_initial_value(map, copy, size);
			free(copy);
			return r;
		}
	}
	return -1;
}

static long after(const char *log, const char *marker)
{
	const char *s = strstr(log, marker);

	return s ? strtol(s + strlen(marker), NULL, 10) : -1;
}

int main(int argc, char **argv)
{
	int total = 0, failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: nfverify OBJECT.bpf.o [NAME=VALUE...]\n");
		return 2;
	}
	libbpf_set_print(quiet);
	for (int i = 0;; i++) {
		struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
		struct bpf_program *p, *mine = NULL;
		struct timespec a, b;
		int k = 0, r;

		if (!obj) {
			fprintf(stderr, "nfverify: cannot open %s\n", argv[1]);
			return 1;
		}
		bpf_object__for_each_program(p, obj)
		{
			bpf_program__set_autoload(p, k == i);
			if (k++ == i)
				mine = p;
		}
		if (!mine) {
			bpf_object__close(obj);
			break;
		}
		for (int a = 2; a < argc; a++) {
			char name[128];
			unsigned int value;

			if (sscanf(argv[a], "%127[^=]=%u", name, &value) != 2 ||
			    set_rodata(obj, name, value) < 0) {
				fprintf(stderr, "nfverify: cannot set %s\n", argv[a]);
				return 2;
			}
		}
		bpf_program__set_log_buf(mine, logbuf, sizeof(logbuf));
		bpf_program__set_log_level(mine, 4); /* BPF_LOG_STATS */
		logbuf[0] = 0;
		clock_gettime(CLOCK_MONOTONIC, &a);
		r = bpf_object__load(obj);
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("{\"program\":\"%s\",\"ok\":%s,\"verification_us\":%ld,\"insns_processed\":%"
		       "ld,"
		       "\"load_ms\":%.3f}\n",
		       bpf_program__name(mine), r == 0 ? "true" : "false",
		       after(logbuf, "verification time "), after(logbuf, "processed "),
		       (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
		failed += r != 0;
		total++;
		bpf_object__close(obj);
	}
	return total && !failed ? 0 : 1;
}
