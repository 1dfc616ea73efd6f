// SPDX-License-Identifier: Apache-2.0
/* netfence monitor: denied and audited connections of every fence, as JSON lines. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "loader.h"
#include "log.h"
#include "pins.h"
#include "state.h"
#include "util.h"

struct watch {
	struct ring_buffer *rb;
	char **ids; /* the fences whose ring buffers rb reads, in nf_pins_ids order */
	size_t n;
	int seen;  /* events printed */
	int limit; /* stop after this many (0: never) */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_event(void *ctx, void *data, size_t size)
{
	static const char *const hooks[NF_HOOK_COUNT] = { "connect4", "connect6",    "sendmsg4",
							  "sendmsg6", "sock_create", "egress" };
	static const char *const protos[NF_PROTO_COUNT] = { "tcp", "udp", "other" };
	const struct nf_event *ev = data;
	struct watch *w = *(struct watch **)ctx;
	const char *id = (const char *)ctx + sizeof(struct watch *);
	char addr[INET6_ADDRSTRLEN] = "", now[64];

	if (size < sizeof(*ev) || ev->hook >= NF_HOOK_COUNT || ev->proto >= NF_PROTO_COUNT)
		return 0;
	inet_ntop(ev->family == 6 ? AF_INET6 : AF_INET, ev->addr, addr, sizeof(addr));
	nf_state_now(now, sizeof(now));
	printf("{\"time\":\"%s\",\"container\":\"%s\",\"verdict\":\"%s\",\"hook\":\"%s\","
	       "\"protocol\":\"%s\",\"address\":\"%s\",\"port\":%u}\n",
	       now, id, ev->verdict == NF_CNT_AUDITED ? "audited" : "denied", hooks[ev->hook],
	       protos[ev->proto], ev->hook == NF_HOOK_SOCK_CREATE ? "" : addr, ev->port);
	fflush(stdout);
	w->seen++;
	return 0;
}

/* Callback context: the watch pointer followed by the container id. */
static void *make_ctx(struct watch *w, const char *id)
{
	size_t len = strlen(id);
	char *ctx = malloc(sizeof(w) + len + 1);

	if (ctx) {
		memcpy(ctx, &w, sizeof(w));
		memcpy(ctx + sizeof(w), id, len + 1);
	}
	return ctx;
}

static void watch_reset(struct watch *w, void ***ctxs)
{
	ring_buffer__free(w->rb);
	w->rb = NULL;
	for (size_t i = 0; i < w->n; i++)
		free((*ctxs)[i]);
	free(*ctxs);
	*ctxs = NULL;
	nf_strv_free(w->ids, w->n);
	w->ids = NULL;
	w->n = 0;
}

static bool same_ids(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

/* Follow fences as they come and go: rebuild the ring buffer set when the ids change. */
static int watch_rescan(struct watch *w, const char *root, void ***ctxs)
{
	char **ids = NULL, path[4096];
	size_t n = 0;
	int r = nf_pins_ids(root, &ids, &n);

	if (r < 0)
		return r;
	if (same_ids(ids, n, w->ids, w->n)) {
		nf_strv_free(ids, n);
		return 0;
	}
	watch_reset(w, ctxs);
	w->ids = ids;
	w->n = n;
	*ctxs = calloc(n ? n : 1, sizeof(void *));
	if (!*ctxs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int fd;

		if (nf_pins_path(root, ids[i], NF_PINS_CURRENT, path, sizeof(path) - 32) < 0)
			continue;
		strcat(path, "/" NF_PIN_EVENTS);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		(*ctxs)[i] = make_ctx(w, ids[i]);
		if (!w->rb)
			w->rb = ring_buffer__new(fd, on_event, (*ctxs)[i], NULL);
		else
			ring_buffer__add(w->rb, fd, on_event, (*ctxs)[i]);
		close(fd); /* the ring buffer manager keeps its own mapping */
	}
	return 0;
}

int nf_cmd_monitor(struct nf_cli *cli)
{
	struct watch w = { .limit = cli->count };
	void **ctxs = NULL;
	struct timespec start, now;
	int r = 0;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!stop && (!w.limit || w.seen < w.limit)) {
		r = watch_rescan(&w, cli->paths.bpffs_root, &ctxs);
		if (r < 0)
			break;
		if (w.rb)
			ring_buffer__poll(w.rb, 200);
		else
			usleep(200 * 1000);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (cli->timeout_ms &&
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
			    cli->timeout_ms)
			break;
	}
	watch_reset(&w, &ctxs);
	if (r < 0)
		return nf_log_error(r, "monitor failed"), NF_EXIT_FAIL;
	return NF_EXIT_OK;
}
