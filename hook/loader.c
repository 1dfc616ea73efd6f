// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dns.h"
#include "loader.h"
#include "log.h"
#include "netfence.skel.h"
#include "netfence_small.skel.h"

/*
 * Fences whose compiled policy and settings are the same share one set of programs and maps,
 * loaded (and verified by the kernel) once and pinned under <root>/@programs/<key>/; each fence
 * has its own links to them, and its counters and events rate limit in cgroup storage
 * (bpf/netfence.h). The key hashes the embedded object and everything the loader writes into
 * it. A set found under a key is used only when its read-only data and frozen tables are, byte
 * for byte, what this policy compiles to: a colliding key costs a load, never a wrong verdict.
 * A set no fence links to any more is unpinned by nf_loader_prune(); the kernel frees it with
 * its last link.
 *
 * Sets whose settings are the same (mode, raw sockets, events rate, the same object) also share
 * what does not depend on the policy: the sock_create and egress programs and the per-fence maps
 * (counters, fence info, events). A key is "<settings>-<policy>", and a set loaded for a new
 * policy takes those from a pinned set of the same settings, a donor, whose read-only settings
 * are read back and compared first: its kernel verifies four programs instead of six. With
 * host rules a donor of the same settings gives the two DNS programs too, and any donor with
 * host rules the host's maps they read (bpf/netfence.h, name rules): the new set allocates a
 * names tag, puts its patterns and resolvers in behind it, and its kernel verifies the four
 * verdict programs of name rules, not the DNS parser again.
 */
#define NF_PROGRAMS_DIR "@programs"

struct prog_pin {
	const char *name; /* link_<name> in a fence, prog_<name> in a program set */
	size_t prog_off;  /* offset of the program pointer in struct netfence_bpf */
	enum bpf_attach_type type;
	/* reads the settings, not the policy (the DNS programs read it from the host's maps,
	 * by the fence's names tag): a donor's will do */
	bool settings_only;
	int names; /* 0: for every policy; 1: only with name rules; -1: only without */
};

#define PROG(name, type, settings_only, names)                                                    \
	{                                                                                         \
#name, offsetof(struct netfence_bpf, progs.nf_##name), type, settings_only, names \
	}
/* The variant with the lookup of learned addresses, pinned and linked under the same name. */
#define NAMES_VARIANT(name, type)                                                             \
	{                                                                                     \
#name, offsetof(struct netfence_bpf, progs.nf_##name##_names), type, false, 1 \
	}
static const struct prog_pin prog_pins[] = {
	PROG(connect4, BPF_CGROUP_INET4_CONNECT, false, -1),
	PROG(connect6, BPF_CGROUP_INET6_CONNECT, false, -1),
	PROG(sendmsg4, BPF_CGROUP_UDP4_SENDMSG, false, -1),
	PROG(sendmsg6, BPF_CGROUP_UDP6_SENDMSG, false, -1),
	PROG(sock_create, BPF_CGROUP_INET_SOCK_CREATE, true, 0),
	PROG(egress, BPF_CGROUP_INET_EGRESS, true, 0),
	NAMES_VARIANT(connect4, BPF_CGROUP_INET4_CONNECT),
	NAMES_VARIANT(connect6, BPF_CGROUP_INET6_CONNECT),
	NAMES_VARIANT(sendmsg4, BPF_CGROUP_UDP4_SENDMSG),
	NAMES_VARIANT(sendmsg6, BPF_CGROUP_UDP6_SENDMSG),
	PROG(dns_query, BPF_CGROUP_INET_EGRESS, true, 1),
	PROG(dns_answer, BPF_CGROUP_INET_INGRESS, true, 1),
};
#define NPROGS (sizeof(prog_pins) / sizeof(prog_pins[0]))

/* The maps of a program set, as pinned in its directory. */
enum {
	MAP_TREE4,
	MAP_TREE6,
	MAP_CLASSES,
	MAP_PORTSETS,
	MAP_RODATA,
	MAP_COUNTERS,
	MAP_FENCES,
	MAP_RINGS,
	MAP_NAMES,
	MAP_RESOLVERS,
	MAP_LEARNED,
	MAP_QNAMES,
	MAP_QUERIES,
	MAP_SOCKS,
	NMAPS,
};
static const char *const map_pins[NMAPS] = {
	[MAP_TREE4] = "map_tree4",
	[MAP_TREE6] = "map_tree6",
	[MAP_CLASSES] = "map_classes",
	[MAP_PORTSETS] = "map_portsets",
	[MAP_RODATA] = NF_PIN_RODATA,
	[MAP_COUNTERS] = NF_PIN_COUNTERS,
	[MAP_FENCES] = NF_PIN_FENCES,
	[MAP_RINGS] = NF_PIN_RINGS,
	[MAP_NAMES] = "map_names",
	[MAP_RESOLVERS] = "map_resolvers",
	[MAP_LEARNED] = NF_PIN_LEARNED_TABLE,
	[MAP_QNAMES] = NF_PIN_QNAMES,
	[MAP_QUERIES] = "map_queries",
	[MAP_SOCKS] = "map_socks",
};

/* Whether the set has (and so links and pins) program i. */
static bool prog_used(size_t i, bool names)
{
	return prog_pins[i].names == 0 || (prog_pins[i].names > 0) == names;
}

/* Whether the set has map i: the name rules' only for a policy with them. */
static bool map_used(size_t i, bool names)
{
	return names || (i != MAP_NAMES && i != MAP_RESOLVERS && i != MAP_LEARNED &&
			 i != MAP_QNAMES && i != MAP_QUERIES && i != MAP_SOCKS);
}

/* The name rules' maps, one per host: a donor with name rules gives them all, or none. */
static bool host_map(size_t i)
{
	return i == MAP_NAMES || i == MAP_RESOLVERS || i == MAP_LEARNED || i == MAP_QNAMES ||
	       i == MAP_QUERIES || i == MAP_SOCKS;
}

/* The maps a donor gives: per fence, not per policy nor per settings. */
static bool fence_map(size_t i)
{
	return i == MAP_COUNTERS || i == MAP_FENCES || i == MAP_RINGS;
}

/* What tells a set's programs apart (bpf/netfence.h: the owner), and where the set is pinned. */
struct set_id {
	char key[48];
	__u64 settings_tag; /* hash of the object and the settings */
	__u64 policy_tag;   /* and of the policy */
	__u32 names_tag;    /* name rules: this set's, allocated when loaded (bpf/netfence.h) */
};

/*
 * A program set in use by one attach: loaded here (skel; a donor's programs in it are owned
 * fds, donated[]) or opened from its pins (fds owned).
 */
struct progset {
	struct netfence_bpf *skel;
	struct set_id id;
	int prog[NPROGS];
	int map[NMAPS];
	bool donated[NPROGS];
	bool names; /* the policy has name rules */
};

/* The set's first program (its connect4, of either variant), which identifies it. */
static int first_prog(const struct progset *ps)
{
	for (size_t i = 0; i < NPROGS; i++)
		if (prog_used(i, ps->names))
			return ps->prog[i];
	return -1;
}

/*
 * libbpf's warnings and the verifier's log go to the debug log, but a failed load says why only
 * there: the last lines that say something are kept here (a ring) for the load's error message.
 */
#define LIBBPF_KEPT	4
#define LIBBPF_KEPT_LEN 160
static char libbpf_kept[LIBBPF_KEPT][LIBBPF_KEPT_LEN];
static unsigned int libbpf_nkept;

/* Lines that frame or summarise the reason, not the reason. */
static bool libbpf_boring(const char *line)
{
	static const char *const boring[] = { "-- BEGIN PROG LOAD LOG --",
					      "-- END PROG LOAD LOG --",
					      "failed to load object",
					      "failed to load BPF skeleton",
					      "processed ",
					      "verification time" };

	for (size_t i = 0; i < sizeof(boring) / sizeof(boring[0]); i++)
		if (strstr(line, boring[i]))
			return true;
	return false;
}

/* The kept lines, oldest first, joined with " | ": "" when there are none. */
static void libbpf_reason(char *buf, size_t size)
{
	unsigned int n = libbpf_nkept < LIBBPF_KEPT ? libbpf_nkept : LIBBPF_KEPT;
	size_t len = 0;

	buf[0] = 0;
	for (unsigned int i = libbpf_nkept - n; i < libbpf_nkept && len < size; i++)
		len += snprintf(buf + len, size - len, "%s%s", len ? " | " : "",
				libbpf_kept[i % LIBBPF_KEPT]);
	libbpf_nkept = 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *text = NULL, *line, *save = NULL;

	if (level == LIBBPF_DEBUG)
		return 0;
	/* Whole: a verifier log runs to megabytes, and its reason is in its last line. */
	if (vasprintf(&text, fmt, ap) < 0)
		return 0;
	/* Verifier logs come as one message; the log takes one line per event. */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		nf_log_debug("libbpf: %s", line);
		if (level == LIBBPF_WARN && !libbpf_boring(line))
			snprintf(libbpf_kept[libbpf_nkept++ % LIBBPF_KEPT], LIBBPF_KEPT_LEN, "%s",
				 line + (strncmp(line, "libbpf: ", 8) ? 0 : 8));
	}
	free(text);
	return 0;
}

void nf_loader_init(void)
{
	libbpf_set_print(libbpf_print);
}

static int path_in(char *buf, size_t size, const char *dir, const char *name)
{
	return (size_t)snprintf(buf, size, "%s/%s", dir, name) >= size ? -ENAMETOOLONG : 0;
}

static int pin_at(const char *dir, const char *name, int fd)
{
	char path[4096];
	int r = path_in(path, sizeof(path), dir, name);

	if (r < 0)
		return r;
	return bpf_obj_pin(fd, path) < 0 ? -errno : 0;
}

static int open_pin(const char *dir, const char *name)
{
	char path[4096];
	int fd, r = path_in(path, sizeof(path), dir, name);

	if (r < 0)
		return r;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* A program's pin in a set ("prog_" prefix) or its link's in a fence ("link_"). */
static const char *pin_name(char buf[64], const char *prefix, const char *name)
{
	snprintf(buf, 64, "%s%s", prefix, name);
	return buf;
}

static int open_pin2(const char *dir, const char *prefix, const char *name)
{
	char pin[64];

	return open_pin(dir, pin_name(pin, prefix, name));
}

/*
 * The kernel's jiffies per second (CONFIG_HZ), which the programs count the events rate limit
 * in: a coarse clock advances one jiffy at a time, and its resolution says how long that is.
 * Failing that, 1000, the largest HZ a kernel is built with: a longer window, fewer events.
 */
static unsigned int ticks_per_sec(void)
{
	struct timespec res;

	if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) < 0 || res.tv_sec || res.tv_nsec <= 0 ||
	    res.tv_nsec > 10000000)
		return 1000;
	return (unsigned int)((1000000000L + res.tv_nsec / 2) / res.tv_nsec);
}

/* The read-only data the programs are loaded with; also what a shared set must hold. */
static void rodata_for(struct netfence_bpf__rodata *rd, const struct nf_load_opts *o,
		       const struct set_id *id)
{
	const struct nf_compiled *c = o->compiled;

	memset(rd, 0, sizeof(*rd));
	rd->nf_mode = c->mode;
	rd->nf_loopback_allow = c->loopback_allow;
	rd->nf_raw_deny = c->raw_deny;
	rd->nf_names_on = c->names;
	rd->nf_events_per_sec = o->events_per_sec;
	rd->nf_ticks_per_sec = ticks_per_sec();
	rd->nf_tree4_levels = c->tree4;
	rd->nf_tree6_levels = c->tree6;
	rd->nf_settings_tag = id ? id->settings_tag : 0;
	rd->nf_policy_tag = id ? id->policy_tag : 0;
	rd->nf_names_tag = id ? id->names_tag : 0;
}

/* FNV-1a over 64-bit words (the tables are megabytes at 16384 rules), bytes for the tail. */
static uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; len; p++, len--)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h;
}

static const void *object_bytes(bool small, size_t *size)
{
	return small ? netfence_small_bpf__elf_bytes(size) : netfence_bpf__elf_bytes(size);
}

/* What the settings-only programs read of the read-only data: the rest zeroed. */
static void settings_of(struct netfence_bpf__rodata *rd)
{
	struct netfence_bpf__rodata s;

	memset(&s, 0, sizeof(s));
	s.nf_mode = rd->nf_mode;
	s.nf_raw_deny = rd->nf_raw_deny;
	s.nf_events_per_sec = rd->nf_events_per_sec;
	s.nf_ticks_per_sec = rd->nf_ticks_per_sec;
	s.nf_settings_tag = rd->nf_settings_tag;
	*rd = s;
}

/* "<settings>-<policy>": the settings' hash is the prefix that donors are looked up by; the
 * two hashes are also the set's tags (never 0, which means "no owner"). */
static void progset_key(const struct nf_load_opts *o, struct set_id *id)
{
	const struct nf_compiled *c = o->compiled;
	struct netfence_bpf__rodata rd;
	size_t elf_size;
	const void *elf = object_bytes(c->small, &elf_size);
	uint64_t h = 0xcbf29ce484222325ULL, base;

	memset(id, 0, sizeof(*id));
	rodata_for(&rd, o, NULL);
	h = hash_bytes(h, elf, elf_size);
	settings_of(&rd);
	base = hash_bytes(h, &rd, sizeof(rd));
	rodata_for(&rd, o, NULL);
	h = hash_bytes(h, &rd, sizeof(rd));
	h = hash_bytes(h, c->nodes4, c->tree4.nodes * sizeof(*c->nodes4));
	h = hash_bytes(h, c->nodes6, c->tree6.nodes * sizeof(*c->nodes6));
	h = hash_bytes(h, c->classes, c->nclasses * sizeof(*c->classes));
	h = hash_bytes(h, c->portsets, c->nportsets * sizeof(*c->portsets));
	h = hash_bytes(h, c->patterns, c->npatterns * sizeof(*c->patterns));
	h = hash_bytes(h, c->resolvers, c->nresolvers * sizeof(*c->resolvers));
	snprintf(id->key, sizeof(id->key), "%016" PRIx64 "-%016" PRIx64, base, h);
	id->settings_tag = base ? base : 1;
	id->policy_tag = h ? h : 1;
}

static void close_all(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void progset_close(struct progset *ps)
{
	if (ps->skel) {
		for (size_t i = 0; i < NPROGS; i++)
			if (ps->donated[i])
				close(ps->prog[i]);
		netfence_bpf__destroy(ps->skel);
	} else {
		close_all(ps->prog, NPROGS);
		close_all(ps->map, NMAPS);
	}
	memset(ps, 0, sizeof(*ps));
}

/* 1 when array map fd holds exactly the n values of val_size bytes at vals. */
static int array_holds(int fd, const void *vals, size_t val_size, size_t n)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), count = (__u32)n, out = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys = NULL;
	char *got = NULL;
	int same = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	if (info.value_size != val_size || info.max_entries != (n ? n : 1))
		return 0;
	if (n == 0)
		return 1;
	/* Zeroed although the kernel fills it: valgrind cannot tell what a batch lookup wrote. */
	keys = calloc(n, sizeof(*keys));
	got = calloc(n, val_size);
	if (!keys || !got) {
		free(keys);
		free(got);
		return -ENOMEM;
	}
	if (bpf_map_lookup_batch(fd, NULL, &out, keys, got, &count, &opts) < 0 && errno != ENOENT)
		count = 0;
	if (count != n) {
		/* no batch lookups for this map type here: one element at a time */
		for (__u32 k = 0; k < n; k++)
			if (bpf_map_lookup_elem(fd, &k, got + (size_t)k * val_size) < 0) {
				free(keys);
				free(got);
				return -errno;
			}
	}
	same = memcmp(got, vals, n * val_size) == 0;
	free(keys);
	free(got);
	return same;
}

/* A pattern of the policy as the host's nf_names keys it, behind tag. */
static void tagged_name(const struct nf_pattern *pt, __u32 tag, struct nf_tagged_name *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 16 + pt->key.prefixlen;
	k->tag = (__u16)tag;
	memcpy(k->name, pt->key.name, sizeof(k->name));
}

static void resolver_key(const struct nf_addr_key *a, __u32 tag, struct nf_resolver_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, a->addr, sizeof(k->addr));
	k->tag = tag;
}

/*
 * Whether the host's maps hold the policy's patterns and resolvers behind tag. Nothing else is
 * behind it: a tag is allocated free, its leftovers purged before the set is filled.
 */
static int names_hold(int names, int resolvers, const struct nf_compiled *c, __u32 tag)
{
	struct nf_name_val got;
	struct nf_tagged_name k;
	struct nf_resolver_key rk;
	__u32 one;

	if (!c->names)
		return 1; /* the programs that read them are not loaded; nf_names_on is 0 */
	if (tag == 0)
		return 0;
	for (size_t i = 0; i < c->npatterns; i++) {
		tagged_name(&c->patterns[i], tag, &k);
		if (bpf_map_lookup_elem(names, &k, &got) < 0)
			return errno == ENOENT ? 0 : -errno;
		/* an LPM lookup gives the longest match: the same length, or it is not there */
		if (memcmp(&got, &c->patterns[i].val, sizeof(got)) != 0)
			return 0;
	}
	for (size_t i = 0; i < c->nresolvers; i++) {
		resolver_key(&c->resolvers[i], tag, &rk);
		if (bpf_map_lookup_elem(resolvers, &rk, &one) < 0)
			return errno == ENOENT ? 0 : -errno;
	}
	return 1;
}

/* The read-only data of a set (or of a fence, which pins its set's): -ESTALE when its layout is
 * not this netfence's. */
static int rodata_read(int fd, struct netfence_bpf__rodata *rd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != sizeof(*rd) ||
	    info.max_entries != 1)
		return -ESTALE;
	memset(rd, 0, sizeof(*rd));
	return bpf_map_lookup_elem(fd, &zero, rd) < 0 ? -errno : 0;
}

/*
 * The set pinned in dir, if it is the one this policy needs: 0 with ps filled, -ENOENT when
 * there is none, -ESTALE when what is there differs (a colliding key), or another error.
 */
static int progset_open(const char *dir, const struct nf_load_opts *o, struct set_id *id,
			struct progset *ps)
{
	const struct nf_compiled *c = o->compiled;
	struct netfence_bpf__rodata rd;
	int r;

	memset(ps, 0, sizeof(*ps));
	for (size_t i = 0; i < NPROGS; i++)
		ps->prog[i] = -1;
	for (size_t i = 0; i < NMAPS; i++)
		ps->map[i] = -1;
	for (size_t i = 0; i < NPROGS; i++) {
		if (!prog_used(i, c->names))
			continue;
		ps->prog[i] = open_pin2(dir, "prog_", prog_pins[i].name);
		if (ps->prog[i] < 0) {
			r = ps->prog[i];
			goto fail;
		}
	}
	for (size_t i = 0; i < NMAPS; i++) {
		if (!map_used(i, c->names))
			continue;
		ps->map[i] = open_pin(dir, map_pins[i]);
		if (ps->map[i] < 0) {
			r = ps->map[i];
			goto fail;
		}
	}
	/* The names tag is the set's own, allocated: taken from it, the rest compared. */
	r = rodata_read(ps->map[MAP_RODATA], &rd);
	if (r == -ESTALE)
		r = 0;
	else if (r < 0)
		goto fail;
	id->names_tag = c->names ? rd.nf_names_tag : 0;
	rodata_for(&rd, o, id);
	r = array_holds(ps->map[MAP_RODATA], &rd, sizeof(rd), 1);
	if (r == 1)
		r = array_holds(ps->map[MAP_TREE4], c->nodes4, sizeof(*c->nodes4), c->tree4.nodes);
	if (r == 1)
		r = array_holds(ps->map[MAP_TREE6], c->nodes6, sizeof(*c->nodes6), c->tree6.nodes);
	if (r == 1)
		r = array_holds(ps->map[MAP_CLASSES], c->classes, sizeof(*c->classes), c->nclasses);
	if (r == 1 && c->nportsets)
		r = array_holds(ps->map[MAP_PORTSETS], c->portsets, sizeof(*c->portsets),
				c->nportsets);
	if (r == 1)
		r = names_hold(ps->map[MAP_NAMES], ps->map[MAP_RESOLVERS], c, id->names_tag);
	if (r == 1) {
		ps->names = c->names;
		return 0;
	}
	if (r == 0)
		r = -ESTALE;
fail:
	/* A set being built by a run that was killed lacks pins: not there. */
	if (r == -ENOENT || r == -ESTALE)
		nf_log_debug("program set %s: %s", dir, r == -ESTALE ? "differs" : "absent");
	progset_close(ps);
	return r;
}

static int size_maps(struct netfence_bpf *skel, const struct nf_compiled *c)
{
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
	/* The name rules' maps are not made for a policy without them: the sock_addr programs
	 * refer to nf_learned only in code the verifier drops (nf_names_on is 0). */
	if (!r && !c->names &&
	    ((r = bpf_map__set_autocreate(skel->maps.nf_names, false)) ||
	     (r = bpf_map__set_autocreate(skel->maps.nf_resolvers, false)) ||
	     (r = bpf_map__set_autocreate(skel->maps.nf_learned, false)) ||
	     (r = bpf_map__set_autocreate(skel->maps.nf_qnames, false)) ||
	     (r = bpf_map__set_autocreate(skel->maps.nf_queries, false)) ||
	     (r = bpf_map__set_autocreate(skel->maps.nf_socks, false)) ||
	     (r = bpf_map__set_autocreate(skel->maps.nf_dns_scratch, false)) ||
	     (r = bpf_map__set_autocreate(skel->maps.nf_pkts, false))))
		return r;
	/* One per host, the same size whichever set makes them: a donor's are reused. */
	if (!r)
		r = bpf_map__set_max_entries(skel->maps.nf_names, NF_HOST_NAMES);
	if (!r)
		r = bpf_map__set_max_entries(skel->maps.nf_resolvers, NF_HOST_RESOLVERS);
	if (!r)
		r = bpf_map__set_max_entries(skel->maps.nf_learned, c->names ? NF_RINGS_MAX : 1);
	if (!r)
		r = bpf_map__set_max_entries(skel->maps.nf_qnames, c->names ? NF_QNAMES_MAX : 1);
	if (!r)
		r = bpf_map__set_max_entries(skel->maps.nf_queries, c->names ? NF_QUERIES_MAX : 1);
	if (!r)
		r = bpf_map__set_max_entries(skel->maps.nf_socks, c->names ? NF_QUERIES_MAX : 1);
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

#define NAMES_TAGS 65536 /* 16 bits (struct nf_tagged_name) */

/*
 * The names tags in use: those of the sets pinned under root and of the fences (each pins its
 * set's read-only data), as bits of live. A set loaded but not pinned, which only its fences
 * use, is found through them.
 */
static int tags_live(const char *root, uint64_t live[NAMES_TAGS / 64])
{
	char sets[4096], path[4096];
	const char *dirs[2] = { root, sets };

	memset(live, 0, NAMES_TAGS / 8);
	if (path_in(sets, sizeof(sets), root, NF_PROGRAMS_DIR) < 0)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *de;

		if (!d) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		while ((de = readdir(d))) {
			struct netfence_bpf__rodata rd;
			int fd;

			/* Slots of an update ("<id>@old") and sets half pinned included: a tag
			 * kept too long costs memory, one purged too soon a fence's names. */
			if (de->d_name[0] == '.' ||
			    path_in(path, sizeof(path), dirs[i], de->d_name) < 0)
				continue;
			fd = open_pin(path, NF_PIN_RODATA);
			if (fd < 0)
				continue;
			if (rodata_read(fd, &rd) == 0 && rd.nf_names_tag < NAMES_TAGS)
				live[rd.nf_names_tag / 64] |= 1ULL << (rd.nf_names_tag % 64);
			close(fd);
		}
		closedir(d);
	}
	return 0;
}

static bool tag_in(const uint64_t live[NAMES_TAGS / 64], __u32 tag)
{
	return tag < NAMES_TAGS && (live[tag / 64] >> (tag % 64) & 1);
}

/* A free names tag (never 0): random, so that a tag freed is seldom taken again soon. */
static int tag_alloc(const uint64_t live[NAMES_TAGS / 64], __u32 *tag)
{
	for (int tries = 0; tries < 256; tries++) {
		__u16 t = 0;

		if (getrandom(&t, sizeof(t), 0) != sizeof(t))
			return -errno;
		if (t && !tag_in(live, t)) {
			*tag = t;
			return 0;
		}
	}
	return -ENOSPC;
}

/* Delete from a map of the host's the keys (key_size bytes) collected in keys. */
static int delete_all(int fd, const char *keys, size_t key_size, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * key_size) < 0 && errno != ENOENT)
			return -errno;
	return 0;
}

/*
 * Take out of the host's patterns (names) or resolvers the entries of every tag not live: those
 * of sets gone, and of sets whose load or unpinning was cut short. Idempotent: what one run
 * leaves, the next takes.
 */
static int names_purge(int fd, bool patterns, const uint64_t live[NAMES_TAGS / 64])
{
	size_t key_size = patterns ? sizeof(struct nf_tagged_name) : sizeof(struct nf_resolver_key);
	char key[sizeof(struct nf_tagged_name)], next[sizeof(key)], *gone = NULL;
	size_t n = 0, cap = 0;
	bool first = true;
	int r = 0;

	while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
		__u32 tag = patterns ? ((struct nf_tagged_name *)next)->tag
				     : ((struct nf_resolver_key *)next)->tag;

		first = false;
		memcpy(key, next, key_size);
		if (tag_in(live, tag))
			continue;
		if (n == cap) {
			char *g = realloc(gone, (cap = cap ? 2 * cap : 64) * key_size);

			if (!g) {
				r = -ENOMEM;
				break;
			}
			gone = g;
		}
		memcpy(gone + n++ * key_size, next, key_size);
	}
	if (r == 0)
		r = delete_all(fd, gone, key_size, n);
	free(gone);
	return r;
}

/* The policy's patterns and resolvers into the host's maps, behind the set's tag, leftovers of
 * tags not live taken out first. */
static int fill_names(int names, int resolvers, const struct nf_compiled *c, __u32 tag,
		      const uint64_t live[NAMES_TAGS / 64])
{
	struct nf_tagged_name k;
	struct nf_resolver_key rk;
	__u32 one = 1;
	int r = names_purge(names, true, live);

	if (r == 0)
		r = names_purge(resolvers, false, live);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->npatterns; i++) {
		tagged_name(&c->patterns[i], tag, &k);
		if (bpf_map_update_elem(names, &k, &c->patterns[i].val, BPF_ANY) < 0)
			return -errno;
	}
	for (size_t i = 0; i < c->nresolvers; i++) {
		resolver_key(&c->resolvers[i], tag, &rk);
		if (bpf_map_update_elem(resolvers, &rk, &one, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
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
		skel->skeleton->data = (void *)object_bytes(true, &skel->skeleton->data_sz);
	if (!r)
		r = bpf_object__open_skeleton(skel->skeleton, NULL);
	if (r) {
		netfence_bpf__destroy(skel);
		errno = -r;
		return NULL;
	}
	return skel;
}

/* What a donor set gives a new one: its settings-only programs, its per-fence maps and the
 * host's maps of name rules, fds owned (-1 for the rest). */
struct donor {
	int prog[NPROGS];
	int map[NMAPS];
};

static void donor_close(struct donor *d)
{
	close_all(d->prog, NPROGS);
	close_all(d->map, NMAPS);
}

/* Whether the read-only data of the set pinned in dir has these settings. */
static int donor_settings(const char *dir, const struct nf_load_opts *o, const struct set_id *id)
{
	struct netfence_bpf__rodata want, got;
	int fd = open_pin(dir, map_pins[MAP_RODATA]), r;

	if (fd < 0)
		return fd;
	r = rodata_read(fd, &got);
	close(fd);
	rodata_for(&want, o, id);
	settings_of(&want);
	settings_of(&got);
	return r == 0 && memcmp(&want, &got, sizeof(want)) != 0 ? -ESTALE : r;
}

/* The host's maps of name rules the set in dir holds, all of them or none (-ENOENT). */
static int donor_host_maps(const char *dir, struct donor *d)
{
	for (size_t i = 0; i < NMAPS; i++) {
		if (!host_map(i))
			continue;
		d->map[i] = open_pin(dir, map_pins[i]);
		if (d->map[i] < 0) {
			int r = d->map[i];

			for (size_t j = 0; j < NMAPS; j++)
				if (host_map(j) && d->map[j] >= 0) {
					close(d->map[j]);
					d->map[j] = -1;
				}
			return r;
		}
	}
	return 0;
}

/*
 * A donor in dir: its per-fence maps; for a policy with name rules the host's maps of them,
 * when it has them; and with progs its settings-only programs, which it gives only when its
 * settings are these (the DNS programs only with the host's maps they read). need_names: a
 * donor without the host's maps will not do.
 */
static int donor_open(const char *dir, const struct nf_load_opts *o, const struct set_id *id,
		      bool progs, bool need_names, struct donor *d)
{
	int r = progs ? donor_settings(dir, o, id) : 0, host = -ENOENT;

	for (size_t i = 0; i < NPROGS; i++)
		d->prog[i] = -1;
	for (size_t i = 0; i < NMAPS; i++)
		d->map[i] = -1;
	if (r == 0 && o->compiled->names) {
		host = donor_host_maps(dir, d);
		if (need_names && host < 0)
			r = host;
	}
	for (size_t i = 0; i < NPROGS && r == 0 && progs; i++) {
		if (!prog_pins[i].settings_only || (prog_pins[i].names > 0 && host < 0))
			continue;
		d->prog[i] = open_pin2(dir, "prog_", prog_pins[i].name);
		r = d->prog[i] < 0 ? d->prog[i] : 0;
	}
	for (size_t i = 0; i < NMAPS && r == 0; i++) {
		if (!fence_map(i))
			continue;
		d->map[i] = open_pin(dir, map_pins[i]);
		r = d->map[i] < 0 ? d->map[i] : 0;
	}
	if (r < 0)
		donor_close(d);
	return r;
}

/*
 * A set pinned in sets that can give: one whose key starts with the settings part of ours
 * gives programs and maps (for a policy with name rules, first one with the DNS programs);
 * failing that any set gives its per-fence maps and the host's maps of name rules, so that
 * every set counts a fence in the same storage, which `update` relies on (bpf/netfence.h: the
 * owner), and every set's patterns are in the maps the DNS programs read.
 */
static int donor_find(const char *sets, const struct nf_load_opts *o, const struct set_id *id,
		      struct donor *d)
{
	size_t n = (size_t)(strchr(id->key, '-') - id->key) + 1;
	char path[4096];
	struct dirent *de;
	int r = -ENOENT;

	for (int pass = o->compiled->names ? 0 : 1; pass < 3 && r < 0; pass++) {
		DIR *dir = opendir(sets);

		if (!dir)
			return -errno;
		while (r < 0 && (de = readdir(dir))) {
			if (de->d_name[0] == '.' || strchr(de->d_name, '@') ||
			    (pass < 2 && strncmp(de->d_name, id->key, n) != 0) ||
			    path_in(path, sizeof(path), sets, de->d_name) < 0)
				continue;
			r = donor_open(path, o, id, pass < 2, pass == 0, d);
		}
		closedir(dir);
	}
	return r;
}

/*
 * Name rules need bpf_loop (Linux 5.17) in cgroup_skb programs: the answer parser is written
 * with it. Probed, not inferred from the kernel's version.
 */
static int names_supported(struct nf_err *err)
{
	int r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_loop, NULL);

	if (r == 1)
		return 0;
	return nf_err_set(err, -EOPNOTSUPP,
			  "the policy's host rules need the bpf_loop helper in cgroup_skb programs "
			  "(Linux 5.17 or later), which this kernel %s",
			  r == 0 ? "lacks" : "could not be probed for");
}

/*
 * Load the programs for this policy: verification, the costly part of an attach. With a donor,
 * its settings-only programs are not loaded again and its per-fence maps are used, and the
 * donor gives up its program fds to ps.
 */
static struct bpf_map *skel_map(struct netfence_bpf *skel, size_t i)
{
	switch (i) {
	case MAP_COUNTERS:
		return skel->maps.nf_counters;
	case MAP_FENCES:
		return skel->maps.nf_fences;
	case MAP_RINGS:
		return skel->maps.nf_rings;
	case MAP_NAMES:
		return skel->maps.nf_names;
	case MAP_RESOLVERS:
		return skel->maps.nf_resolvers;
	case MAP_LEARNED:
		return skel->maps.nf_learned;
	case MAP_QNAMES:
		return skel->maps.nf_qnames;
	case MAP_QUERIES:
		return skel->maps.nf_queries;
	case MAP_SOCKS:
		return skel->maps.nf_socks;
	case MAP_TREE4:
		return skel->maps.nf_tree4;
	case MAP_TREE6:
		return skel->maps.nf_tree6;
	case MAP_CLASSES:
		return skel->maps.nf_classes;
	case MAP_PORTSETS:
		return skel->maps.nf_portsets;
	default:
		return skel->maps.rodata;
	}
}

static int progset_load(const struct nf_load_opts *o, const struct set_id *id, struct donor *donor,
			const uint64_t *live, struct progset *ps, struct nf_err *err)
{
	const struct nf_compiled *c = o->compiled;
	struct netfence_bpf *skel;
	int r;

	memset(ps, 0, sizeof(*ps));
	if (c->names) {
		r = names_supported(err);
		if (r < 0)
			return r;
	}
	skel = open_skel(c->small);
	if (!skel) {
		r = -errno;
		nf_err_set(err, r, "cannot open the BPF object: %s", strerror(-r));
		return r;
	}
	rodata_for(skel->rodata, o, id);
	r = size_maps(skel, c);
	if (r < 0) {
		nf_err_set(err, r, "cannot size the BPF maps: %s", strerror(-r));
		goto fail;
	}
	for (size_t i = 0; i < NPROGS; i++)
		if ((donor && donor->prog[i] >= 0) || !prog_used(i, c->names))
			bpf_program__set_autoload(
				*(struct bpf_program **)((char *)skel + prog_pins[i].prog_off),
				false);
	for (size_t i = 0; i < NMAPS && donor; i++) {
		if (donor->map[i] < 0 || !map_used(i, c->names))
			continue;
		r = bpf_map__reuse_fd(skel_map(skel, i), donor->map[i]);
		if (r < 0) {
			nf_err_set(err, r, "cannot use the donor's %s: %s", map_pins[i],
				   strerror(-r));
			goto fail;
		}
	}
	libbpf_nkept = 0;
	r = netfence_bpf__load(skel);
	if (r < 0) {
		char why[LIBBPF_KEPT * LIBBPF_KEPT_LEN];

		libbpf_reason(why, sizeof(why));
		nf_err_set(err, r, "cannot load the BPF programs: %s%s%s%s", strerror(-r),
			   why[0] ? " (libbpf: " : "", why, why[0] ? ")" : "");
		goto fail;
	}
	r = fill_maps(skel, c);
	if (r == 0 && c->names)
		r = fill_names(bpf_map__fd(skel->maps.nf_names),
			       bpf_map__fd(skel->maps.nf_resolvers), c, id->names_tag, live);
	if (r < 0) {
		nf_err_set(err, r, "cannot fill the BPF maps: %s", strerror(-r));
		goto fail;
	}
	ps->skel = skel;
	ps->names = c->names;
	for (size_t i = 0; i < NPROGS; i++) {
		ps->donated[i] = donor && donor->prog[i] >= 0;
		if (!prog_used(i, c->names)) {
			ps->prog[i] = -1;
			continue;
		}
		ps->prog[i] =
			ps->donated[i]
				? donor->prog[i]
				: bpf_program__fd(*(struct bpf_program **)((char *)skel +
									   prog_pins[i].prog_off));
		if (ps->donated[i])
			donor->prog[i] = -1;
	}
	for (size_t i = 0; i < NMAPS; i++)
		ps->map[i] = map_used(i, c->names) ? bpf_map__fd(skel_map(skel, i)) : -1;
	return 0;
fail:
	netfence_bpf__destroy(skel);
	return r;
}

/* Pin a freshly loaded set as dir: built in dir@new, then renamed, so that dir is complete. */
static int progset_pin(const struct progset *ps, const char *dir)
{
	char tmp[4096];
	int r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s@new", dir) >= sizeof(tmp))
		return -ENAMETOOLONG;
	nf_loader_unpin(tmp);
	if (mkdir(tmp, 0700) < 0)
		return -errno;
	for (size_t i = 0; i < NPROGS && r == 0; i++) {
		char name[64];

		if (prog_used(i, ps->names))
			r = pin_at(tmp, pin_name(name, "prog_", prog_pins[i].name), ps->prog[i]);
	}
	for (size_t i = 0; i < NMAPS && r == 0; i++)
		if (map_used(i, ps->names))
			r = pin_at(tmp, map_pins[i], ps->map[i]);
	if (r == 0 && rename(tmp, dir) < 0)
		r = -errno;
	if (r < 0)
		nf_loader_unpin(tmp);
	return r;
}

/*
 * The set this policy needs: the shared one when it is pinned, else loaded now (beside a donor
 * of the same settings when one is pinned) and, when its key is free, pinned for the fences that
 * come next.
 */
static int progset_get(const struct nf_load_opts *o, struct progset *ps, struct nf_err *err)
{
	char sets[4096], dir[4096];
	uint64_t *live = NULL;
	struct set_id id;
	struct donor donor;
	int r;

	progset_key(o, &id);
	if (path_in(sets, sizeof(sets), o->root, NF_PROGRAMS_DIR) < 0 ||
	    path_in(dir, sizeof(dir), sets, id.key) < 0) {
		return nf_err_set(err, -ENAMETOOLONG, "bpffs root %s: name too long", o->root);
	}
	r = progset_open(dir, o, &id, ps);
	if (r == 0) {
		nf_log_debug("sharing the programs of %s", dir);
		ps->id = id;
		return 0;
	}
	id.names_tag = 0;
	if (o->compiled->names) {
		live = calloc(NAMES_TAGS / 64, sizeof(*live));
		r = !live ? -ENOMEM : tags_live(o->root, live);
		if (r == 0)
			r = tag_alloc(live, &id.names_tag);
		if (r < 0) {
			free(live);
			return nf_err_set(err, r, "cannot allocate a names tag: %s", strerror(-r));
		}
	}
	r = -ENOENT;
	if (donor_find(sets, o, &id, &donor) == 0) {
		r = progset_load(o, &id, &donor, live, ps, err);
		donor_close(&donor);
		if (r == 0)
			nf_log_debug("per-fence maps (and programs of the same settings) of a "
				     "donor set");
		else
			nf_log_debug("loading beside a donor set failed (%s): alone",
				     err ? err->msg : "");
	}
	if (r < 0)
		r = progset_load(o, &id, NULL, live, ps, err);
	free(live);
	if (r < 0)
		return r;
	ps->id = id;
	/* A set that is not shared serves this fence all the same. */
	if (access(dir, F_OK) == 0)
		return 0;
	if (mkdir(sets, 0700) < 0 && errno != EEXIST)
		return 0;
	r = progset_pin(ps, dir);
	if (r < 0)
		nf_log_debug("cannot share the programs as %s: %s", dir, strerror(-r));
	return 0;
}

static int map_id(int fd, __u32 *id, __u32 *type)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	*id = info.id;
	if (type)
		*type = info.type;
	return 0;
}

/* The per-CPU counters value of one cgroup, as BPF_MAP_*_ELEM exchange it. */
static size_t counters_value_size(int ncpu)
{
	return (size_t)ncpu * ((sizeof(struct nf_fence_counters) + 7) & ~(size_t)7);
}

/*
 * This fence's own state in the set's cgroup storage: its counters, those of the fence it
 * replaces (carry) or zero for a new fence, then its cgroup id, which its events name, and its
 * owner. A counters value shared with the fence it replaces (the same map: every set pinned
 * shares one) is left alone. A fence replacing one in force on the same cgroup keeps that
 * one's owner: the old programs go on counting until nf_loader_hand_over() names the new ones,
 * in one step, once the new fence is committed (bpf/netfence.h). A failed attach thus leaves
 * the fence in force counting. The names tag is the new set's at once, now that its links are
 * made: from this write on, the DNS programs learn what the new policy allows, with its port
 * sets, which only its programs read (nf_learned_val.tag).
 */
static int fence_storage(const struct progset *ps, const struct nf_load_opts *o)
{
	struct nf_fence_info info = {
		.cgroup_id = o->cgroup_id,
		.owner_policy = ps->id.policy_tag,
		.owner_settings = ps->id.settings_tag,
		.names_tag = ps->id.names_tag,
	};
	struct nf_fence_info cur = {};
	__u64 key = o->cgroup_id;
	int ncpu = libbpf_num_possible_cpus();
	__u32 id = 0;
	char *vals;
	int r;

	r = map_id(ps->map[MAP_COUNTERS], &id, NULL);
	if (r < 0)
		return r;
	if (!o->carry || o->carry_map_id != id) {
		if (ncpu <= 0)
			return ncpu < 0 ? ncpu : -EINVAL;
		vals = calloc(1, counters_value_size(ncpu));
		if (!vals)
			return -ENOMEM;
		if (o->carry)
			memcpy(vals, o->carry, sizeof(struct nf_fence_counters));
		r = bpf_map_update_elem(ps->map[MAP_COUNTERS], &key, vals, BPF_ANY) < 0 ? -errno
											: 0;
		free(vals);
		if (r < 0)
			return r;
	}
	if (o->prev_dir && bpf_map_lookup_elem(ps->map[MAP_FENCES], &key, &cur) == 0 &&
	    (cur.owner_policy || cur.owner_settings)) {
		info.owner_policy = cur.owner_policy;
		info.owner_settings = cur.owner_settings;
	}
	return bpf_map_update_elem(ps->map[MAP_FENCES], &key, &info, BPF_ANY) < 0 ? -errno : 0;
}

/*
 * Name rules: the learned addresses' map of the fence pinned in pin_dir back in the host's table
 * under its cgroup id, where a replacement that did not come into force put its own. Left as it
 * is when it is there already (each change of the table waits for an RCU grace period).
 */
static int learned_back(const char *pin_dir, __u64 cgid)
{
	int mine = open_pin(pin_dir, NF_PIN_LEARNED),
	    table = open_pin(pin_dir, NF_PIN_LEARNED_TABLE);
	__u32 id = 0, cur = 0;
	int r = mine < 0 ? mine : table < 0 ? table : map_id(mine, &id, NULL);

	if (r == 0 && (bpf_map_lookup_elem(table, &cgid, &cur) < 0 || cur != id))
		r = bpf_map_update_elem(table, &cgid, &mine, BPF_ANY) < 0 ? -errno : 0;
	if (mine >= 0)
		close(mine);
	if (table >= 0)
		close(table);
	return r == -ENOENT ? 0 : r; /* no name rules */
}

int nf_loader_hand_over(const char *pin_dir)
{
	struct netfence_bpf__rodata rd = {};
	struct nf_fence_info info = {};
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi), zero = 0;
	uint64_t cgid = 0;
	int rodata = open_pin(pin_dir, NF_PIN_RODATA), fences = open_pin(pin_dir, NF_PIN_FENCES);
	int r = rodata < 0 ? rodata : fences < 0 ? fences : nf_loader_cgroup_id(pin_dir, &cgid);

	if (r == 0 &&
	    (bpf_obj_get_info_by_fd(rodata, &mi, &len) < 0 || mi.value_size != sizeof(rd)))
		r = -ESTALE;
	if (r == 0 && cgid == 0)
		r = -ENOENT; /* the cgroup is gone: nothing runs to count */
	if (r == 0 && (bpf_map_lookup_elem(rodata, &zero, &rd) < 0 ||
		       bpf_map_lookup_elem(fences, &cgid, &info) < 0))
		r = -errno;
	/* The map before the tag: entries the DNS programs write into it meanwhile carry the
	 * other tag, which the fence's programs do not use. */
	if (r == 0)
		r = learned_back(pin_dir, cgid);
	if (r == 0) {
		info.owner_policy = rd.nf_policy_tag;
		info.owner_settings = rd.nf_settings_tag;
		info.names_tag = rd.nf_names_tag;
		if (bpf_map_update_elem(fences, &cgid, &info, BPF_EXIST) < 0)
			r = -errno;
	}
	if (rodata >= 0)
		close(rodata);
	if (fences >= 0)
		close(fences);
	/* ESTALE: read-only data of another layout, an older netfence's, which has no owner. */
	return r == -ENOENT || r == -ESTALE ? 0 : r;
}

/* 1 when fd is an events ring as this netfence makes them. */
static bool is_ring(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_MAP_TYPE_RINGBUF &&
	       info.max_entries == NF_RING_BYTES;
}

/*
 * Put ring (map id id) in the table under key. A full table is purged of the entries of fences
 * no longer pinned under root, then tried once more; a table of fences all alive stays full, and
 * the new fence's events are dropped (counted) while its verdicts stand.
 */
static int ring_insert(int table, __u64 key, int ring, const char *root)
{
	int r = bpf_map_update_elem(table, &key, &ring, BPF_ANY) < 0 ? -errno : 0;

	if (r != -E2BIG)
		return r;
	r = nf_loader_purge_rings(root);
	if (r < 0)
		nf_log_debug("cannot purge the tables of events rings: %s", strerror(-r));
	return bpf_map_update_elem(table, &key, &ring, BPF_ANY) < 0 ? -errno : 0;
}

/*
 * The fence's own events ring, pinned in its directory and found by the programs in the set's
 * nf_rings under its cgroup id: the ring of the fence it replaces, so that events not read yet
 * stay for the monitor, or a new one. Every change of a table of maps waits for an RCU grace
 * period: an entry that holds the ring already (an update within one table) is left as it is.
 */
static int fence_ring(const struct progset *ps, const struct nf_load_opts *o)
{
	__u64 key = o->cgroup_id;
	__u32 id = 0, cur = 0;
	int fd = o->prev_dir ? open_pin(o->prev_dir, NF_PIN_EVENTS) : -ENOENT, r;

	if (fd >= 0 && !is_ring(fd)) {
		close(fd);
		fd = -ESTALE;
	}
	if (fd < 0)
		fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "nf_ring", 0, 0, NF_RING_BYTES, NULL);
	if (fd < 0)
		return -errno;
	r = map_id(fd, &id, NULL);
	if (!r && (bpf_map_lookup_elem(ps->map[MAP_RINGS], &key, &cur) < 0 || cur != id))
		r = ring_insert(ps->map[MAP_RINGS], key, fd, o->root);
	if (!r)
		r = pin_at(o->pin_dir, NF_PIN_EVENTS, fd);
	close(fd);
	return r;
}

/*
 * The fence's own map of learned addresses (bpf/names.bpf.h), new and empty: a fence starts with
 * nothing learned, also when a set kept by other fences holds a map of this cgroup's from an
 * earlier attach. Put in the set's table under the cgroup id (which waits for an RCU grace
 * period) and pinned in the fence's directory, beside the table, for show and for detach.
 */
static int fence_learned(const struct progset *ps, const struct nf_load_opts *o)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	__u64 key = o->cgroup_id;
	int fd, r;

	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "nf_learned_f", sizeof(struct nf_learned_key),
			    sizeof(struct nf_learned_val), NF_LEARNED_MAX, &opts);
	if (fd < 0)
		return -errno;
	r = bpf_map_update_elem(ps->map[MAP_LEARNED], &key, &fd, BPF_ANY) < 0 ? -errno : 0;
	if (r == -E2BIG) {
		r = nf_loader_purge_rings(o->root);
		if (r < 0)
			nf_log_debug("cannot purge the tables of learned addresses: %s",
				     strerror(-r));
		r = bpf_map_update_elem(ps->map[MAP_LEARNED], &key, &fd, BPF_ANY) < 0 ? -errno : 0;
	}
	if (!r)
		r = pin_at(o->pin_dir, NF_PIN_LEARNED, fd);
	close(fd);
	return r;
}

/*
 * Take the fence pinned in pin_dir's map of learned addresses out of its set's table, where it
 * still is (a fence that replaced it on the same set put its own in): its memory goes with the
 * fence rather than at the next gc. The entry is found by its map, not by cgroup id, which is
 * not known once the cgroup is gone.
 */
static void forget_learned(const char *pin_dir)
{
	int mine = open_pin(pin_dir, NF_PIN_LEARNED),
	    table = open_pin(pin_dir, NF_PIN_LEARNED_TABLE);
	__u64 key = 0, next;
	__u32 id = 0, val;

	if (mine >= 0 && table >= 0 && map_id(mine, &id, NULL) == 0)
		while (bpf_map_get_next_key(table, &key, &next) == 0) {
			key = next;
			if (bpf_map_lookup_elem(table, &key, &val) == 0 && val == id) {
				if (bpf_map_delete_elem(table, &key) < 0)
					nf_log_debug("cannot take the learned addresses out: %s",
						     strerror(errno));
				break;
			}
		}
	if (mine >= 0)
		close(mine);
	if (table >= 0)
		close(table);
}

static int link_and_pin(const struct progset *ps, const struct nf_load_opts *o, struct nf_err *err)
{
	int r;

	if (ps->names) {
		r = fence_learned(ps, o);
		if (r < 0)
			return nf_err_set(err, r,
					  "cannot make the fence's map of learned addresses: %s",
					  strerror(-r));
	}
	for (size_t i = 0; i < NPROGS; i++) {
		char name[64];
		int fd;

		if (!prog_used(i, ps->names))
			continue;
		fd = bpf_link_create(ps->prog[i], o->cgroup_fd, prog_pins[i].type, NULL);

		if (fd < 0) {
			r = -errno;
			nf_err_set(err, r, "cannot attach nf_%s: %s", prog_pins[i].name,
				   strerror(-r));
			return r;
		}
		r = pin_at(o->pin_dir, pin_name(name, "link_", prog_pins[i].name), fd);
		/* The pin keeps the link (and so the attachment) alive. */
		close(fd);
		if (r < 0) {
			nf_err_set(err, r, "cannot pin %s/%s: %s", o->pin_dir, name, strerror(-r));
			return r;
		}
	}
	r = pin_at(o->pin_dir, NF_PIN_COUNTERS, ps->map[MAP_COUNTERS]);
	if (!r)
		r = pin_at(o->pin_dir, NF_PIN_RINGS, ps->map[MAP_RINGS]);
	if (!r)
		r = pin_at(o->pin_dir, NF_PIN_FENCES, ps->map[MAP_FENCES]);
	if (!r)
		r = pin_at(o->pin_dir, NF_PIN_RODATA, ps->map[MAP_RODATA]);
	if (!r && ps->names)
		r = pin_at(o->pin_dir, NF_PIN_LEARNED_TABLE, ps->map[MAP_LEARNED]);
	if (!r && ps->names)
		r = pin_at(o->pin_dir, NF_PIN_PORTSETS, ps->map[MAP_PORTSETS]);
	if (!r && ps->names)
		r = pin_at(o->pin_dir, NF_PIN_QNAMES, ps->map[MAP_QNAMES]);
	if (!r)
		r = fence_ring(ps, o);
	if (r < 0) {
		nf_err_set(err, r, "cannot pin maps in %s: %s", o->pin_dir, strerror(-r));
		return r;
	}
	r = fence_storage(ps, o);
	if (r < 0)
		nf_err_set(err, r, "cannot write the fence's cgroup storage: %s", strerror(-r));
	return r;
}

int nf_loader_in_force(const struct nf_load_opts *o, const char *cur_dir)
{
	char sets[4096], dir[4096];
	struct set_id id;
	struct progset ps;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), prog = 0;
	uint64_t cgid = 0;
	int r;

	if (nf_loader_link_info(cur_dir, &cgid, &prog) < 0 || cgid != o->cgroup_id)
		return 0;
	progset_key(o, &id);
	if (path_in(sets, sizeof(sets), o->root, NF_PROGRAMS_DIR) < 0 ||
	    path_in(dir, sizeof(dir), sets, id.key) < 0 || progset_open(dir, o, &id, &ps) < 0)
		return 0;
	r = bpf_obj_get_info_by_fd(first_prog(&ps), &info, &len) == 0 && info.id == prog;
	progset_close(&ps);
	return r;
}

int nf_loader_attach(const struct nf_load_opts *o, struct nf_err *err)
{
	struct progset ps;
	int r;

	r = progset_get(o, &ps, err);
	if (r < 0)
		return r;
	r = link_and_pin(&ps, o, err);
	if (r < 0)
		nf_loader_unpin(o->pin_dir);
	progset_close(&ps);
	return r;
}

int nf_loader_link_info(const char *pin_dir, uint64_t *ret_cgroup_id, uint32_t *ret_prog_id)
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
	if (r < 0)
		return r;
	if (ret_cgroup_id)
		*ret_cgroup_id = info.type == BPF_LINK_TYPE_CGROUP ? info.cgroup.cgroup_id : 0;
	if (ret_prog_id)
		*ret_prog_id = info.prog_id;
	return 0;
}

int nf_loader_cgroup_id(const char *pin_dir, uint64_t *ret_id)
{
	return nf_loader_link_info(pin_dir, ret_id, NULL);
}

int nf_loader_open_events(const char *pin_dir, uint32_t *ret_map_id)
{
	__u32 id = 0;
	int fd = open_pin(pin_dir, NF_PIN_EVENTS), r;

	if (fd < 0)
		return fd;
	r = map_id(fd, &id, NULL);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_map_id = id;
	return fd;
}

/* Counters of a fence from an older netfence: a per-CPU array of one counter per slot. */
static int sum_array(int fd, int ncpu, uint64_t sum[NF_CNT_COUNT])
{
	__u64 *vals = calloc((size_t)ncpu, sizeof(*vals));
	int r = 0;

	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < NF_CNT_COUNT_V1 && r == 0; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals) < 0) {
			r = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			sum[k] += vals[c];
	}
	free(vals);
	return r;
}

/* The fence's value in the set's cgroup storage; none (the cgroup is gone): zero. The value of
 * an older netfence has fewer slots. */
static int sum_storage(int fd, int ncpu, uint64_t cgroup_id, uint64_t sum[NF_CNT_COUNT])
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	size_t stride;
	__u64 key = cgroup_id;
	char *vals;
	int r = 0;

	if (cgroup_id == 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	if (info.value_size > sizeof(struct nf_fence_counters) || info.value_size % 8)
		return -EPROTO;
	stride = info.value_size;
	vals = calloc((size_t)ncpu, stride);
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals) < 0) {
		r = errno == ENOENT ? 0 : -errno;
	} else {
		for (int c = 0; c < ncpu; c++) {
			struct nf_fence_counters v = {};

			memcpy(&v, vals + (size_t)c * stride, stride);
			for (int k = 0; k < NF_CNT_COUNT; k++)
				sum[k] += v.cnt[k];
		}
	}
	free(vals);
	return r;
}

int nf_loader_counters(const char *pin_dir, uint64_t ret[NF_CNT_COUNT], uint32_t *ret_map_id)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum[NF_CNT_COUNT] = {}, cgid = 0;
	__u32 id = 0, type = 0;
	int fd, r;

	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	fd = open_pin(pin_dir, NF_PIN_COUNTERS);
	if (fd < 0)
		return fd;
	r = map_id(fd, &id, &type);
	if (r == 0 && type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE) {
		r = nf_loader_cgroup_id(pin_dir, &cgid);
		if (r == 0)
			r = sum_storage(fd, ncpu, cgid, sum);
	} else if (r == 0) {
		r = sum_array(fd, ncpu, sum);
	}
	close(fd);
	if (r == 0) {
		memcpy(ret, sum, sizeof(sum));
		if (ret_map_id)
			*ret_map_id = id;
	}
	return r;
}

static bool id_in(uint32_t id, const uint32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* 1 when ref is in keep[0..n). */
static bool ref_in(const struct nf_ring_ref *keep, size_t n, __u64 cgroup_id, __u32 ring_id)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i].cgroup_id == cgroup_id && keep[i].ring_id == ring_id)
			return true;
	return false;
}

/* Delete keys[0..n) from table, in one batch where the kernel takes them so (one grace period
 * rather than one per key), else one by one. Keys gone already are no error. */
static int delete_keys(int table, __u64 *keys, size_t n)
{
	__u32 done = (__u32)n;
	int r = 0;

	if (n == 0 || bpf_map_delete_batch(table, keys, &done, NULL) == 0)
		return 0;
	for (size_t i = done < n ? done : 0; i < n; i++)
		if (bpf_map_delete_elem(table, &keys[i]) < 0 && errno != ENOENT)
			r = -errno;
	return r;
}

int nf_loader_purge_table(int table, const struct nf_ring_ref *keep, size_t n, size_t *ret_deleted)
{
	__u64 key = 0, next, *gone = NULL;
	size_t ngone = 0, cap = 0;
	__u32 val = 0;
	int r = 0;

	/* Keys to delete are collected first, so that the walk does not restart at every
	 * deletion. The walk starts from key 0, which no cgroup has: the kernel then gives the
	 * first key. */
	while (bpf_map_get_next_key(table, &key, &next) == 0) {
		key = next;
		if (bpf_map_lookup_elem(table, &key, &val) < 0 || ref_in(keep, n, key, val))
			continue;
		if (ngone == cap) {
			__u64 *g = realloc(gone, (cap = cap ? 2 * cap : 16) * sizeof(*g));

			if (!g) {
				r = -ENOMEM;
				break;
			}
			gone = g;
		}
		gone[ngone++] = key;
	}
	if (r == 0)
		r = delete_keys(table, gone, ngone);
	free(gone);
	if (r == 0 && ret_deleted)
		*ret_deleted = ngone;
	return r;
}

/* The cgroup id and the map pinned as pin (its ring, or its learned addresses) of the fence
 * pinned in dir, added to *refs; none: nothing added. */
static int fence_ref(const char *dir, const char *pin, struct nf_ring_ref **refs, size_t *n,
		     size_t *cap)
{
	uint64_t cgid = 0;
	__u32 id = 0;
	int fd = open_pin(dir, pin), r;

	if (fd < 0)
		return 0;
	r = map_id(fd, &id, NULL);
	close(fd);
	if (r < 0 || nf_loader_cgroup_id(dir, &cgid) < 0 || cgid == 0)
		return 0;
	if (*n == *cap) {
		struct nf_ring_ref *g = realloc(*refs, (*cap = *cap ? 2 * *cap : 16) * sizeof(*g));

		if (!g)
			return -ENOMEM;
		*refs = g;
	}
	(*refs)[(*n)++] = (struct nf_ring_ref){ .cgroup_id = cgid, .ring_id = id };
	return 0;
}

/* The map ids of the tables seen so far, so that a table shared by sets is walked once. */
static bool seen_table(int fd, __u32 *ids, size_t *n, size_t max)
{
	__u32 id = 0;

	if (map_id(fd, &id, NULL) < 0 || id_in(id, ids, *n))
		return true;
	if (*n < max)
		ids[(*n)++] = id;
	return false;
}

/* Purge the tables pinned as table_pin in the sets under root of the entries whose map no
 * fence pinned as fence_pin: the events rings, or the maps of learned addresses. */
static int purge_tables(const char *root, const char *fence_pin, const char *table_pin,
			const char *what)
{
	char sets[4096], path[4096];
	struct nf_ring_ref *refs = NULL;
	size_t nrefs = 0, cap = 0, nseen = 0, deleted = 0;
	__u32 seen[64];
	struct dirent *de;
	DIR *d = opendir(root);
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	/* Every directory under root but the sets' holds a fence's pins (any slot of one). */
	while (r == 0 && (de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, NF_PROGRAMS_DIR) != 0 &&
		    path_in(path, sizeof(path), root, de->d_name) == 0)
			r = fence_ref(path, fence_pin, &refs, &nrefs, &cap);
	closedir(d);
	d = r == 0 && path_in(sets, sizeof(sets), root, NF_PROGRAMS_DIR) == 0 ? opendir(sets)
									      : NULL;
	while (d && (de = readdir(d))) {
		size_t n = 0;
		int table, k;

		if (de->d_name[0] == '.' || path_in(path, sizeof(path), sets, de->d_name) < 0)
			continue;
		table = open_pin(path, table_pin);
		if (table < 0)
			continue; /* no name rules, or an older netfence's set (one ring) */
		k = seen_table(table, seen, &nseen, sizeof(seen) / sizeof(seen[0]))
			    ? 0
			    : nf_loader_purge_table(table, refs, nrefs, &n);
		close(table);
		if (k < 0)
			r = k;
		deleted += n;
	}
	if (d)
		closedir(d);
	free(refs);
	if (deleted)
		nf_log_debug("%zu %s of fences gone taken out of their tables", deleted, what);
	return r;
}

int nf_loader_purge_rings(const char *root)
{
	int r = purge_tables(root, NF_PIN_EVENTS, NF_PIN_RINGS, "events rings");
	int k = purge_tables(root, NF_PIN_LEARNED, NF_PIN_LEARNED_TABLE,
			     "maps of learned addresses");

	return r < 0 ? r : k;
}

/*
 * Take a fence's pinned link off its cgroup now. The unlink alone would leave the programs
 * attached for a while: the pin drops its reference once its inode is freed, after an RCU grace
 * period, and the link is released from a workqueue after that.
 */
static int link_detach(const char *pin_dir, const char *name)
{
	int fd, r;

	if (strncmp(name, "link_", strlen("link_")) != 0)
		return 0;
	fd = open_pin(pin_dir, name);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	r = bpf_link_detach(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int nf_loader_unpin(const char *pin_dir)
{
	DIR *d = opendir(pin_dir);
	struct dirent *de;
	int r = 0, k;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	forget_learned(pin_dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		k = link_detach(pin_dir, de->d_name);
		if (k < 0)
			r = k;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			r = -errno;
	}
	closedir(d);
	if (rmdir(pin_dir) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

/* The id of the first program of the set pinned in dir (<root>/@programs/<name>), which the
 * fences running the set link to; an error for a set half pinned by a killed run
 * ("<key>@new"), which none does. */
static int set_prog_id(const char *dir, const char *name, __u32 *id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	char set[4096];
	int fd, r;

	if (name[0] == '.' || strchr(name, '@'))
		return -ENOENT;
	r = path_in(set, sizeof(set), dir, name);
	fd = r < 0 ? r : open_pin2(set, "prog_", prog_pins[0].name);
	if (fd < 0)
		return fd;
	r = bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ? -errno : 0;
	close(fd);
	if (r == 0)
		*id = info.id;
	return r;
}

/* The host's maps of patterns and resolvers of the set in dir, kept in hosts (distinct maps
 * only, at most max pairs) for names_gc(). */
static void host_names_keep(const char *dir, int hosts[][2], size_t *n, size_t max)
{
	int names = open_pin(dir, map_pins[MAP_NAMES]);
	int resolvers = open_pin(dir, map_pins[MAP_RESOLVERS]);
	__u32 id = 0, other = 0;

	for (size_t i = 0; names >= 0 && i < *n; i++)
		if (map_id(names, &id, NULL) == 0 && map_id(hosts[i][0], &other, NULL) == 0 &&
		    id == other) {
			close(names);
			names = -1;
		}
	if (names >= 0 && resolvers >= 0 && *n < max) {
		hosts[*n][0] = names;
		hosts[(*n)++][1] = resolvers;
		return;
	}
	if (names >= 0)
		close(names);
	if (resolvers >= 0)
		close(resolvers);
}

/* Take the patterns and resolvers of the sets unpinned out of the host's maps (hosts, closed):
 * every tag no set nor fence pinned under root has any more. */
static int names_gc(const char *root, int hosts[][2], size_t n)
{
	uint64_t *live = n ? calloc(NAMES_TAGS / 64, sizeof(*live)) : NULL;
	int r = n && !live ? -ENOMEM : 0;

	if (r == 0 && n)
		r = tags_live(root, live);
	for (size_t i = 0; i < n; i++) {
		if (r == 0)
			r = names_purge(hosts[i][0], true, live);
		if (r == 0)
			r = names_purge(hosts[i][1], false, live);
		close(hosts[i][0]);
		close(hosts[i][1]);
	}
	free(live);
	return r;
}

int nf_loader_prune(const char *root, const uint32_t *used, size_t n)
{
	char dir[4096], set[4096];
	int hosts[8][2];
	size_t nhosts = 0;
	struct dirent *de;
	DIR *d;
	int r = 0, k;

	if (path_in(dir, sizeof(dir), root, NF_PROGRAMS_DIR) < 0)
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		__u32 id = 0;
		bool keep;

		if (de->d_name[0] == '.' || path_in(set, sizeof(set), dir, de->d_name) < 0)
			continue;
		keep = set_prog_id(dir, de->d_name, &id) == 0 && id_in(id, used, n);
		if (!keep)
			host_names_keep(set, hosts, &nhosts, sizeof(hosts) / sizeof(hosts[0]));
		if (!keep && nf_loader_unpin(set) < 0)
			r = -EBUSY;
	}
	closedir(d);
	k = names_gc(root, hosts, nhosts);
	if (k < 0)
		nf_log_debug("cannot take the patterns of unpinned sets out: %s", strerror(-k));
	/* Gone with the last set, so that an idle host keeps nothing pinned. */
	if (rmdir(dir) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
		r = r ? r : -errno;
	return r;
}

int nf_loader_program_set(const char *root, const char *pin_dir, char *key, size_t size)
{
	char dir[4096];
	struct dirent *de;
	uint32_t prog = 0;
	int r = nf_loader_link_info(pin_dir, NULL, &prog);
	DIR *d;

	if (r < 0)
		return r;
	if (path_in(dir, sizeof(dir), root, NF_PROGRAMS_DIR) < 0)
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return -errno;
	r = -ENOENT;
	while (r == -ENOENT && (de = readdir(d))) {
		__u32 id = 0;

		if (set_prog_id(dir, de->d_name, &id) == 0 && id == prog)
			r = (size_t)snprintf(key, size, "%s", de->d_name) >= size ? -ENAMETOOLONG
										  : 0;
	}
	closedir(d);
	return r;
}

/* A name in wire form as text: labels joined by dots, bytes other than letters, digits, '-'
 * and '_' as \DDD (as dig writes them). "" when it does not fit. */
static void name_text(const uint8_t *wire, char *buf, size_t size)
{
	size_t n = 0, pos = 0;

	buf[0] = '\0';
	while (pos < NF_NAME_MAX && wire[pos]) {
		size_t len = wire[pos++];

		if (len > 63 || pos + len > NF_NAME_MAX)
			break;
		if (n && n + 1 < size)
			buf[n++] = '.';
		for (size_t i = 0; i < len; i++) {
			uint8_t c = wire[pos + i];
			int w = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
						c == '_'
					? snprintf(buf + n, size - n, "%c", c)
					: snprintf(buf + n, size - n, "\\%03u", c);

			if (w < 0 || (size_t)w >= size - n) {
				buf[0] = '\0';
				return;
			}
			n += (size_t)w;
		}
		pos += len;
	}
	buf[n < size ? n : size - 1] = '\0';
}

int nf_loader_open_learned(const char *pin_dir, struct nf_learned_maps *m)
{
	struct netfence_bpf__rodata rd;
	int rodata, r;

	m->learned = open_pin(pin_dir, NF_PIN_LEARNED);
	m->qnames = m->learned < 0 ? -1 : open_pin(pin_dir, NF_PIN_QNAMES);
	if (m->qnames < 0) {
		r = m->learned < 0 ? m->learned : m->qnames;

		nf_loader_close_learned(m);
		return r;
	}
	/* The set's names tag, which its entries carry (nf_learned_val.tag). */
	rodata = open_pin(pin_dir, NF_PIN_RODATA);
	r = rodata < 0 ? rodata : rodata_read(rodata, &rd);
	if (rodata >= 0)
		close(rodata);
	if (r < 0) {
		nf_loader_close_learned(m);
		return r;
	}
	m->tag = (uint32_t)rd.nf_names_tag;
	return 0;
}

void nf_loader_close_learned(struct nf_learned_maps *m)
{
	if (m->learned >= 0)
		close(m->learned);
	if (m->qnames >= 0)
		close(m->qnames);
	m->learned = m->qnames = -1;
}

int nf_loader_learn(const struct nf_learned_maps *m, const struct nf_learned_entry *e)
{
	struct nf_learned_key key = { .cgroup_id = e->cgroup_id };
	struct nf_learned_val val = {
		.expires_ns = e->expires_ns,
		.portset = { e->portset[0], e->portset[1], e->portset[2] },
		.tag = m->tag,
		.netns = e->netns,
	};
	union {
		uint8_t b[NF_NAME_MAX + 1];
		__u64 w[(NF_NAME_MAX + 1) / 8];
	} wire;
	struct nf_qname_key nk = { .cgroup_id = e->cgroup_id };

	if (!nf_dns_learnable(e->addr, false) ||
	    (e->name && nf_dns_name_wire(e->name, wire.b, sizeof(wire.b)) < 0))
		return -EINVAL;
	memcpy(key.addr, e->addr, 16);
	if (e->name) {
		nk.hash = val.name = nf_name_hash(wire.w);
		if (bpf_map_update_elem(m->qnames, &nk, wire.b, BPF_ANY) < 0)
			return -errno;
	}
	return bpf_map_update_elem(m->learned, &key, &val, BPF_ANY) < 0 ? -errno : 0;
}

int nf_loader_learned(const char *pin_dir, struct nf_learned_addr **ret, size_t *ret_n)
{
	struct nf_learned_key key = {}, next;
	struct nf_learned_addr *out = NULL;
	struct nf_learned_val val;
	struct nf_qname_key nk;
	struct timespec now;
	uint8_t wire[NF_NAME_MAX + 1];
	size_t n = 0, cap = 0;
	uint64_t cgid = 0, mono;
	int fd, names, r;

	r = nf_loader_cgroup_id(pin_dir, &cgid);
	if (r < 0)
		return r;
	fd = open_pin(pin_dir, NF_PIN_LEARNED);
	if (fd < 0)
		return fd;
	names = open_pin(pin_dir, NF_PIN_QNAMES); /* none from an older netfence */
	clock_gettime(CLOCK_MONOTONIC, &now);
	mono = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
	r = 0;
	/* The walk starts from a key no entry has (cgroup 0): the kernel gives the first key. */
	while (bpf_map_get_next_key(fd, &key, &next) == 0) {
		key = next;
		if (key.cgroup_id != cgid || bpf_map_lookup_elem(fd, &key, &val) < 0 ||
		    val.expires_ns <= mono)
			continue;
		if (n == cap) {
			struct nf_learned_addr *g =
				realloc(out, (cap = cap ? 2 * cap : 16) * sizeof(*g));

			if (!g) {
				r = -ENOMEM;
				break;
			}
			out = g;
		}
		memcpy(out[n].addr, key.addr, 16);
		out[n].expires_in_ms = (val.expires_ns - mono) / 1000000;
		out[n].name[0] = '\0';
		nk.cgroup_id = cgid;
		nk.hash = val.name;
		if (names >= 0 && val.name && bpf_map_lookup_elem(names, &nk, wire) == 0)
			name_text(wire, out[n].name, sizeof(out[n].name));
		n++;
	}
	close(fd);
	if (names >= 0)
		close(names);
	if (r < 0) {
		free(out);
		return r;
	}
	*ret = out;
	*ret_n = n;
	return 0;
}

/* "443", "80,8000-8999": the ports set in bits, at most size bytes, "..." where cut. */
static void ports_text(const __u64 *bits, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int p = 0; p < 65536; p++) {
		unsigned int last = p;
		int w;

		if (!(bits[p / 64] >> (p % 64) & 1))
			continue;
		while (last + 1 < 65536 && bits[(last + 1) / 64] >> ((last + 1) % 64) & 1)
			last++;
		w = last == p ? snprintf(buf + n, size - n, "%s%u", n ? "," : "", p)
			      : snprintf(buf + n, size - n, "%s%u-%u", n ? "," : "", p, last);
		if (w < 0 || (size_t)w >= size - n) {
			snprintf(buf + (n < size - 4 ? n : size - 4), 4, "...");
			return;
		}
		n += (size_t)w;
		p = last;
	}
}

int nf_loader_portset_text(const char *pin_dir, uint32_t id, char *buf, size_t size)
{
	struct nf_portset *set;
	uint32_t idx = id - NF_PORTSET_FIRST;
	int fd, r;

	if (size < 8)
		return -ENOSPC;
	if (id == NF_PORTSET_NONE || id == NF_PORTSET_ALL) {
		snprintf(buf, size, "%s", id == NF_PORTSET_ALL ? "1-65535" : "");
		return 0;
	}
	fd = open_pin(pin_dir, NF_PIN_PORTSETS);
	if (fd < 0)
		return fd;
	set = malloc(sizeof(*set));
	r = !set ? -ENOMEM : bpf_map_lookup_elem(fd, &idx, set) < 0 ? -errno : 0;
	close(fd);
	if (r == 0)
		ports_text(set->bits, buf, size);
	free(set);
	return r;
}
