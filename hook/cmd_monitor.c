// SPDX-License-Identifier: Apache-2.0
/*
 * netfence monitor: denied and audited connections of every fence, as JSON lines, and the
 * events each fence dropped.
 *
 * Each fence has its own events ring (hook/loader.c); a fence of an older netfence may share
 * one with others, so each distinct ring is read once, and an event names its fence by the
 * cgroup id the programs put in it, and the process that made the call. Reading a ring consumes
 * its events: one monitor at a time reads them, under a lock in the state dir. --container
 * reads the rings of those fences alone; --since and --verdict skip the events they leave out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "json_writer.h"
#include "loader.h"
#include "log.h"
#include "pins.h"
#include "state.h"
#include "util.h"

/* The fence attached to a cgroup. */
struct owner {
	uint64_t cgroup_id;
	char *id;
	uint64_t dropped;	/* its dropped events, as last reported */
	struct nf_state *state; /* for the pod's names; NULL when unreadable */
};

/* A fence's events ring. Fences sharing a ring have the same kernel map id. */
struct ring {
	__u32 map_id;
	int fd;
};

struct watch {
	const struct nf_cli *cli; /* the filters */
	const char *root;
	const char *state_dir;
	struct ring_buffer *rb;
	__u32 *ring_ids; /* the rings rb reads, sorted by map id */
	size_t nrings;
	struct owner *owners; /* the fences in force at the last scan */
	size_t nowners;
	struct owner *prev; /* and at the one before: an event read after its fence was */
	size_t nprev;	    /* detached still names it */
	bool rescanned;	    /* owners scanned again for an unknown cgroup during this poll */
	int seen;	    /* events printed */
	int limit;	    /* stop after this many (0: never) */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void owners_free(struct owner *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].id);
		nf_state_free(o[i].state);
	}
	free(o);
}

/* Install a new table cgroup id → container id; the one it replaces stays as the fallback. */
static void owners_use(struct watch *w, struct owner *owners, size_t n)
{
	owners_free(w->prev, w->nprev);
	w->prev = w->owners;
	w->nprev = w->nowners;
	w->owners = owners;
	w->nowners = n;
}

static int fences_scan(struct watch *w, bool rings);
static void event_time(uint64_t mono_ns, char *buf, size_t size);

/* The fence id as last scanned, NULL for a fence not seen before. */
static struct owner *owner_known(const struct watch *w, const char *id)
{
	for (size_t i = 0; i < w->nowners; i++)
		if (strcmp(w->owners[i].id, id) == 0)
			return &w->owners[i];
	return NULL;
}

/* monitor --container: the fences asked for, or all. */
static bool wanted(const struct watch *w, const char *id)
{
	if (!w->cli->ncontainers)
		return true;
	for (int i = 0; i < w->cli->ncontainers; i++)
		if (strcmp(w->cli->containers[i], id) == 0)
			return true;
	return false;
}

/*
 * A record for each fence whose dropped count grew since the last report (at the first, since
 * its attach): events that the rate limit or a full ring kept from the monitor, which the
 * fence counted but did not report.
 */
static void drops_report(struct watch *w)
{
	struct nf_jsonw jw = NF_JSONW_INIT(stdout);
	char dir[4096], now[64];

	for (size_t i = 0; i < w->nowners && (!w->limit || w->seen < w->limit); i++) {
		struct owner *o = &w->owners[i];
		uint64_t cnt[NF_CNT_COUNT] = {};

		if (!wanted(w, o->id) ||
		    nf_pins_path(w->root, o->id, NF_PINS_CURRENT, dir, sizeof(dir)) < 0 ||
		    nf_loader_counters(dir, cnt, NULL) < 0 || cnt[NF_CNT_DROPPED] <= o->dropped)
			continue;
		event_time(0, now, sizeof(now));
		nf_jsonw_start_object(&jw);
		nf_jsonw_string_field(&jw, "time", now);
		nf_jsonw_string_field(&jw, "container", o->id);
		nf_jsonw_uint_field(&jw, "dropped", cnt[NF_CNT_DROPPED] - o->dropped);
		nf_jsonw_uint_field(&jw, "dropped_total", cnt[NF_CNT_DROPPED]);
		nf_jsonw_end_object(&jw);
		nf_jsonw_end_line(&jw);
		fflush(stdout);
		o->dropped = cnt[NF_CNT_DROPPED];
		w->seen++;
	}
}

static const struct owner *owner_in(const struct owner *o, size_t n, uint64_t cgroup_id)
{
	for (size_t i = 0; i < n; i++)
		if (o[i].cgroup_id == cgroup_id)
			return &o[i];
	return NULL;
}

static const struct owner *owner_of(const struct watch *w, uint64_t cgroup_id)
{
	const struct owner *o = owner_in(w->owners, w->nowners, cgroup_id);

	return o ? o : owner_in(w->prev, w->nprev, cgroup_id);
}

/*
 * The container of an event. A fence attached since the last scan is not in the table yet, so
 * an unknown cgroup scans again, but once per poll: a burst from a cgroup no fence names costs
 * one scan, not one per event. An event still unknown is printed with no container, not dropped.
 */
static const struct owner *event_owner(struct watch *w, uint64_t cgroup_id)
{
	const struct owner *o = owner_of(w, cgroup_id);

	if (!o && cgroup_id && !w->rescanned) {
		w->rescanned = true;
		if (fences_scan(w, false) == 0)
			o = owner_of(w, cgroup_id);
	}
	return o;
}

/*
 * An event's time, kept as CLOCK_MONOTONIC nanoseconds by the programs, as UTC RFC 3339 with
 * microseconds: the wall clock now, less the time since the event.
 */
static int64_t event_real_ns(uint64_t mono_ns)
{
	struct timespec real, mono;
	int64_t ago;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	ago = ((int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec) - (int64_t)mono_ns;
	return (int64_t)real.tv_sec * 1000000000 + real.tv_nsec - (mono_ns ? ago : 0);
}

static void event_time(uint64_t mono_ns, char *buf, size_t size)
{
	int64_t ns = event_real_ns(mono_ns);
	time_t sec;
	struct tm tm;
	size_t n;

	sec = (time_t)(ns / 1000000000);
	gmtime_r(&sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%06dZ", (int)(ns % 1000000000 / 1000));
}

/* The names of the fence's pod, null where not known. */
static void event_k8s(struct nf_jsonw *jw, const struct owner *owner)
{
	const struct nf_state *st = owner ? owner->state : NULL;

	nf_jsonw_string_field(jw, "pod", st ? st->k8s.pod : NULL);
	nf_jsonw_string_field(jw, "namespace", st ? st->k8s.namespace : NULL);
	nf_jsonw_string_field(jw, "container_name", st ? st->k8s.container : NULL);
}

/*
 * The command of the process that made the call, read from /proc as the event is printed (the
 * programs take its pid only: netfence.h): "" when it has exited since, non-printable bytes as ?.
 */
static void event_comm(uint32_t pid, char *buf, size_t size)
{
	char path[32];
	size_t len = 0;
	int fd;

	buf[0] = '\0';
	if (!pid)
		return;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, size - 1);

	close(fd);
	len = n > 0 ? (size_t)n : 0;
	if (len && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
			buf[i] = '?';
}

/*
 * Why no address learned by name rules opened the destination (bpf/netfence.h: enum
 * nf_dns_why): a "dns" object and a "reason" sentence, null for a denial by the rules.
 */
static void event_dns(struct nf_jsonw *jw, const struct watch *w, const struct owner *owner,
		      const struct nf_event *ev, size_t size, const char *addr)
{
	static const char *const whys[] = { [NF_WHY_NEVER] = "never_resolved",
					    [NF_WHY_EXPIRED] = "expired",
					    [NF_WHY_NETNS] = "other_netns",
					    [NF_WHY_PORT] = "other_port" };
	static const char *const protos[NF_PROTO_COUNT] = { "tcp", "udp", "other" };
	char reason[512], ports[256] = "", dir[4096];
	bool have_ports = false;

	if (size < sizeof(*ev) || ev->dns_why == NF_WHY_NONE || ev->dns_why > NF_WHY_PORT) {
		nf_jsonw_string_field(jw, "reason", NULL);
		nf_jsonw_name(jw, "dns");
		nf_jsonw_null(jw);
		return;
	}
	/* the port set ids are those of the fence's programs, which it pins (loader.c) */
	if (ev->dns_why == NF_WHY_PORT && ev->dns_detail != NF_PORTSET_NONE && owner &&
	    nf_pins_path(w->root, owner->id, NF_PINS_CURRENT, dir, sizeof(dir)) == 0)
		have_ports = nf_loader_portset_text(dir, ev->dns_detail, ports, sizeof(ports)) == 0;
	switch (ev->dns_why) {
	case NF_WHY_NEVER:
		snprintf(reason, sizeof(reason), "%s was never resolved here", addr);
		break;
	case NF_WHY_EXPIRED:
		snprintf(reason, sizeof(reason), "%s expired %u s ago", addr, ev->dns_detail);
		break;
	case NF_WHY_NETNS:
		snprintf(reason, sizeof(reason), "%s was learned in another network namespace",
			 addr);
		break;
	default:
		if (ev->dns_detail == NF_PORTSET_NONE) {
			size_t n = (size_t)snprintf(reason, sizeof(reason), "%s was learned for",
						    addr);

			for (int p = 0, first = 1; p < NF_PROTO_COUNT; p++)
				if (ev->dns_classes >> p & 1) {
					n += (size_t)snprintf(reason + n, sizeof(reason) - n,
							      "%s%s", first ? " " : ", ",
							      protos[p]);
					first = 0;
				}
			snprintf(reason + n, sizeof(reason) - n, ", not %s", protos[ev->proto]);
		} else if (have_ports) {
			snprintf(reason, sizeof(reason), "%s was learned for %s port %s, not %u",
				 addr, protos[ev->proto], ports, ev->port);
		} else {
			snprintf(reason, sizeof(reason),
				 "%s was learned for other %s ports, not %u", addr,
				 protos[ev->proto], ev->port);
		}
	}
	nf_jsonw_string_field(jw, "reason", reason);
	nf_jsonw_name(jw, "dns");
	nf_jsonw_start_object(jw);
	nf_jsonw_string_field(jw, "learned", whys[ev->dns_why]);
	if (ev->dns_why == NF_WHY_EXPIRED)
		nf_jsonw_uint_field(jw, "expired_s_ago", ev->dns_detail);
	if (ev->dns_why == NF_WHY_PORT) {
		nf_jsonw_name(jw, "learned_protocols");
		nf_jsonw_start_array(jw);
		for (int p = 0; p < NF_PROTO_COUNT; p++)
			if (ev->dns_classes >> p & 1)
				nf_jsonw_string(jw, protos[p]);
		nf_jsonw_end_array(jw);
		/* of the event's protocol; null where the fence's programs are gone */
		nf_jsonw_string_field(jw, "learned_ports",
				      have_ports || ev->dns_detail == NF_PORTSET_NONE ? ports
										      : NULL);
	}
	nf_jsonw_end_object(jw);
}

static int on_event(void *ctx, void *data, size_t size)
{
	static const char *const hooks[NF_HOOK_COUNT] = { "connect4", "connect6",    "sendmsg4",
							  "sendmsg6", "sock_create", "egress" };
	static const char *const protos[NF_PROTO_COUNT] = { "tcp", "udp", "other" };
	const struct nf_event *ev = data;
	struct watch *w = ctx;
	char addr[INET6_ADDRSTRLEN] = "", when[64], comm[32];
	const struct owner *owner;
	uint64_t mono;
	struct nf_jsonw jw = NF_JSONW_INIT(stdout);
	uint32_t pid;

	/* An older netfence's event has no time: stamped when read. */
	if (size < offsetof(struct nf_event, time_ns) || ev->hook >= NF_HOOK_COUNT ||
	    ev->proto >= NF_PROTO_COUNT)
		return 0;
	mono = size >= offsetof(struct nf_event, pid) ? ev->time_ns : 0;
	if (w->cli->since_ns && event_real_ns(mono) < w->cli->since_ns)
		return 0;
	if (w->cli->verdicts &&
	    !(w->cli->verdicts &
	      (ev->verdict == NF_CNT_AUDITED ? NF_VERDICT_AUDITED : NF_VERDICT_DENIED)))
		return 0;
	owner = event_owner(w, ev->cgroup_id);
	if (!wanted(w, owner ? owner->id : ""))
		return 0;
	inet_ntop(ev->family == 6 ? AF_INET6 : AF_INET, ev->addr, addr, sizeof(addr));
	event_time(mono, when, sizeof(when));
	pid = size >= sizeof(*ev) ? ev->pid : 0;
	event_comm(pid, comm, sizeof(comm));
	nf_jsonw_start_object(&jw);
	nf_jsonw_string_field(&jw, "time", when);
	nf_jsonw_string_field(&jw, "container", owner ? owner->id : "");
	nf_jsonw_string_field(&jw, "verdict", ev->verdict == NF_CNT_AUDITED ? "audited" : "denied");
	nf_jsonw_string_field(&jw, "hook", hooks[ev->hook]);
	nf_jsonw_string_field(&jw, "protocol", protos[ev->proto]);
	nf_jsonw_string_field(&jw, "address", ev->hook == NF_HOOK_SOCK_CREATE ? "" : addr);
	nf_jsonw_uint_field(&jw, "port", ev->port);
	nf_jsonw_uint_field(&jw, "pid", pid);
	nf_jsonw_string_field(&jw, "command", comm);
	event_k8s(&jw, owner);
	event_dns(&jw, w, owner, ev, size, addr);
	nf_jsonw_end_object(&jw);
	nf_jsonw_end_line(&jw);
	fflush(stdout);
	w->seen++;
	/* at --count, the events after this one stay in the ring, for the next reader */
	return w->limit && w->seen >= w->limit ? -ECANCELED : 0;
}

static int cmp_ring(const void *a, const void *b)
{
	__u32 x = ((const struct ring *)a)->map_id, y = ((const struct ring *)b)->map_id;

	return x < y ? -1 : x > y;
}

static bool same_rings(const struct ring *a, size_t na, const __u32 *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].map_id != b[i])
			return false;
	return true;
}

/* Read these rings from now on: a new manager, which replaces the old one only once complete. */
static int rings_read(struct watch *w, const struct ring *rings, size_t n)
{
	struct ring_buffer *rb = NULL;
	__u32 *ids = calloc(n ? n : 1, sizeof(*ids));
	int r = ids ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && r == 0; i++) {
		ids[i] = rings[i].map_id;
		if (rb) {
			r = ring_buffer__add(rb, rings[i].fd, on_event, w);
		} else {
			rb = ring_buffer__new(rings[i].fd, on_event, w, NULL);
			r = rb ? 0 : -errno;
		}
	}
	if (r < 0) {
		ring_buffer__free(rb);
		free(ids);
		return r;
	}
	ring_buffer__free(w->rb);
	free(w->ring_ids);
	w->rb = rb;
	w->ring_ids = ids;
	w->nrings = n;
	return 0;
}

/*
 * Read each distinct ring of rings (n opened, closed here) once: a shared ring read twice would
 * print its events twice. The manager is rebuilt only when the set of rings changes; events
 * left in a ring meanwhile stay there for the new manager.
 */
static int rings_use(struct watch *w, struct ring *rings, size_t n)
{
	size_t u = 0;
	int r = 0;

	qsort(rings, n, sizeof(*rings), cmp_ring);
	for (size_t i = 0; i < n; i++) {
		if (u && rings[u - 1].map_id == rings[i].map_id)
			close(rings[i].fd);
		else
			rings[u++] = rings[i];
	}
	if (!same_rings(rings, u, w->ring_ids, w->nrings))
		r = rings_read(w, rings, u);
	for (size_t i = 0; i < u; i++)
		close(rings[i].fd); /* the manager keeps its own mappings */
	return r;
}

/*
 * Follow fences as they come, go and change policy, in one walk over them: the table cgroup id
 * → container id (on failure the previous one stays) and, when rings is set, the rings to read.
 */
static int fences_scan(struct watch *w, bool rings)
{
	char **ids = NULL, dir[4096];
	struct owner *owners = NULL;
	struct ring *found = NULL;
	size_t n = 0, k = 0, nfound = 0;
	int r = nf_pins_ids(w->root, &ids, &n);

	if (r < 0)
		return r;
	owners = calloc(n ? n : 1, sizeof(*owners));
	if (rings)
		found = calloc(n ? n : 1, sizeof(*found));
	if (!owners || (rings && !found)) {
		free(owners);
		free(found);
		nf_strv_free(ids, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t cgroup_id;

		if (nf_pins_path(w->root, ids[i], NF_PINS_CURRENT, dir, sizeof(dir)) < 0)
			continue;
		/* monitor --container reads the rings of those fences alone: the others' events
		 * stay for another monitor */
		if (rings && wanted(w, ids[i])) {
			found[nfound].fd = nf_loader_open_events(dir, &found[nfound].map_id);
			if (found[nfound].fd >= 0)
				nfound++;
		}
		/* No link yet (attach in progress), or 0: its cgroup is gone. */
		if (nf_loader_cgroup_id(dir, &cgroup_id) < 0 || cgroup_id == 0)
			continue;
		struct owner *known = owner_known(w, ids[i]);

		owners[k].cgroup_id = cgroup_id;
		owners[k].dropped = known ? known->dropped : 0;
		/* the names stay what they were at attach: read once per fence */
		if (known) {
			owners[k].state = known->state;
			known->state = NULL;
		} else {
			nf_state_read(w->state_dir, ids[i], &owners[k].state);
		}
		owners[k++].id = ids[i];
		ids[i] = NULL;
	}
	nf_strv_free(ids, n);
	owners_use(w, owners, k);
	if (rings)
		r = rings_use(w, found, nfound);
	free(found);
	return r;
}

static void watch_free(struct watch *w)
{
	ring_buffer__free(w->rb);
	free(w->ring_ids);
	owners_free(w->owners, w->nowners);
	owners_free(w->prev, w->nprev);
}

/* The lock one monitor holds, on the state dir itself: a second would take half of the events
 * from the first. */
static int monitor_lock(const char *state_dir)
{
	int fd;

	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return r;
	}
	return fd;
}

int nf_cmd_monitor(struct nf_cli *cli)
{
	struct watch w = { .cli = cli,
			   .root = cli->paths.bpffs_root,
			   .state_dir = cli->paths.state_dir,
			   .limit = cli->count };
	struct timespec start, now;
	int lock, r = 0;

	lock = monitor_lock(cli->paths.state_dir);
	if (lock == -EBUSY) {
		nf_log_fail(lock,
			    "another netfence monitor is running: each event goes to one reader");
		return NF_EXIT_FAIL;
	}
	if (lock < 0)
		return nf_log_error(lock, "cannot lock the state dir %s", cli->paths.state_dir),
		       NF_EXIT_FAIL;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!stop && (!w.limit || w.seen < w.limit)) {
		r = fences_scan(&w, true);
		if (r < 0)
			break;
		w.rescanned = false;
		if (w.rb)
			ring_buffer__poll(w.rb, 200);
		else
			usleep(200 * 1000);
		drops_report(&w);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (cli->timeout_ms &&
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
			    cli->timeout_ms)
			break;
	}
	watch_free(&w);
	close(lock);
	if (r < 0)
		return nf_log_error(r, "monitor failed"), NF_EXIT_FAIL;
	return NF_EXIT_OK;
}
