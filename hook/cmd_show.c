// SPDX-License-Identifier: Apache-2.0
/* Commands that report on fences: list, show, metrics, monitor. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "loader.h"
#include "log.h"
#include "oci.h"
#include "pins.h"
#include "state.h"
#include "util.h"

struct fence_view {
	const char *id;
	struct nf_state *state; /* NULL when the state file is missing */
	uint64_t counters[NF_CNT_COUNT];
	uint64_t cgroup_id; /* from the links: 0 when the cgroup is gone or they were detached */
	bool pinned;	    /* the fence's pins exist */
	bool attached;	    /* and its links are attached to a cgroup */
};

/* The recorded path now holds another cgroup than the one the links are attached to (removed
 * and made again while the old one lingers). Judged only where the path is on cgroup2 here. */
static bool cgroup_replaced(const struct fence_view *v)
{
	struct statfs sfs;
	struct stat st;

	if (!v->state || v->state->cgroup[0] != '/' || stat(v->state->cgroup, &st) < 0)
		return false;
	return st.st_ino != v->cgroup_id && statfs(v->state->cgroup, &sfs) == 0 &&
	       sfs.f_type == CGROUP2_SUPER_MAGIC;
}

static void view_load(const struct nf_cli *cli, const char *id, struct fence_view *v)
{
	char dir[4096];

	memset(v, 0, sizeof(*v));
	v->id = id;
	nf_state_read(cli->paths.state_dir, id, &v->state);
	if (nf_pins_path(cli->paths.bpffs_root, id, NF_PINS_CURRENT, dir, sizeof(dir)) < 0)
		return;
	v->pinned = nf_loader_counters(dir, v->counters, NULL) == 0;
	if (v->pinned)
		nf_loader_cgroup_id(dir, &v->cgroup_id);
	v->attached = v->pinned && v->cgroup_id != 0 && !cgroup_replaced(v);
}

/* The shared program set the fence runs (`show` only: it looks through every set), "" for
 * programs of its own. */
static void view_programs(const struct nf_cli *cli, const char *id, char *key, size_t size)
{
	char dir[4096];

	key[0] = '\0';
	if (nf_pins_path(cli->paths.bpffs_root, id, NF_PINS_CURRENT, dir, sizeof(dir)) < 0 ||
	    nf_loader_program_set(cli->paths.bpffs_root, dir, key, size) < 0)
		key[0] = '\0';
}

static json_t *view_json(const struct fence_view *v)
{
	const struct nf_state *s = v->state;
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:{s:I, s:I, s:I, s:I}}", "id", v->id,
			      "cgroup", s ? s->cgroup : "", "mode", s ? s->mode : "unknown",
			      "attached", v->attached, "cgroup_id", (json_int_t)v->cgroup_id,
			      "counters", "allowed", (json_int_t)v->counters[NF_CNT_ALLOWED],
			      "denied", (json_int_t)v->counters[NF_CNT_DENIED], "audited",
			      (json_int_t)v->counters[NF_CNT_AUDITED], "events_dropped",
			      (json_int_t)v->counters[NF_CNT_DROPPED]);

	if (o && s) {
		json_object_set_new(o, "source", json_string(s->source));
		json_object_set_new(o, "attached_at", json_string(s->attached_at));
		json_object_set_new(o, "removable", json_boolean(s->removable));
		json_object_set_new(o, "own_netns", json_boolean(s->own_netns));
	}
	return o;
}

/* Union of the ids with pins and those with a state file. */
static int all_ids(const struct nf_cli *cli, char ***ret, size_t *ret_n)
{
	char **a = NULL, **b = NULL, **out;
	size_t na = 0, nb = 0, n = 0;
	int r;

	r = nf_pins_ids(cli->paths.bpffs_root, &a, &na);
	if (r < 0)
		return r;
	r = nf_state_ids(cli->paths.state_dir, &b, &nb);
	if (r < 0) {
		nf_strv_free(a, na);
		return r;
	}
	out = calloc(na + nb + 1, sizeof(*out));
	if (!out) {
		nf_strv_free(a, na);
		nf_strv_free(b, nb);
		return -ENOMEM;
	}
	for (size_t i = 0, j = 0; i < na || j < nb;) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i], b[j]);

		if (c <= 0) {
			out[n++] = a[i++];
			if (c == 0)
				free(b[j++]);
		} else {
			out[n++] = b[j++];
		}
	}
	free(a);
	free(b);
	*ret = out;
	*ret_n = n;
	return 0;
}

int nf_cli_resolve_id(const struct nf_cli *cli, const char *arg, char **ret)
{
	char **ids = NULL, q[128], names[1024];
	size_t n = 0, hits = 0, len = strlen(arg), o = 0;
	const char *hit = NULL;
	int r;

	if (nf_oci_id_valid(arg) < 0)
		return nf_log_error(0, "id '%s' is not a valid container id (" NF_OCI_ID_RULE ")",
				    nf_quote(arg, q, sizeof(q))),
		       -EINVAL;
	r = all_ids(cli, &ids, &n);
	if (r < 0)
		return nf_log_error(r, "cannot list fences");
	names[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ids[i], arg) == 0) {
			hit = ids[i];
			hits = 1;
			break;
		}
		if (strncmp(ids[i], arg, len) != 0)
			continue;
		hit = ids[i];
		hits++;
		if (o < sizeof(names) - 1)
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
					      hits > 1 ? ", " : "", ids[i]);
	}
	if (hits > 1) {
		if (o >= sizeof(names) - 1)
			strcpy(names + sizeof(names) - 4, "...");
		nf_log_error(0, "id prefix '%s' names %zu fences: %s", arg, hits, names);
		nf_strv_free(ids, n);
		return -EEXIST;
	}
	*ret = strdup(hits ? hit : arg);
	nf_strv_free(ids, n);
	return *ret ? 0 : -ENOMEM;
}

int nf_cmd_list(struct nf_cli *cli)
{
	json_t *arr = cli->json ? json_array() : NULL;
	char **ids = NULL;
	size_t n = 0;
	int r;

	r = all_ids(cli, &ids, &n);
	if (r < 0)
		return nf_log_error(r, "cannot list fences"), NF_EXIT_FAIL;
	if (!cli->json)
		printf("%-24s %-8s %10s %10s %10s  %s\n", "ID", "MODE", "ALLOWED", "DENIED",
		       "AUDITED", "CGROUP");
	for (size_t i = 0; i < n; i++) {
		struct fence_view v;

		view_load(cli, ids[i], &v);
		if (cli->json)
			json_array_append_new(arr, view_json(&v));
		else
			printf("%-24s %-8s %10llu %10llu %10llu  %s%s%s\n", v.id,
			       v.state ? v.state->mode : "?",
			       (unsigned long long)v.counters[NF_CNT_ALLOWED],
			       (unsigned long long)v.counters[NF_CNT_DENIED],
			       (unsigned long long)v.counters[NF_CNT_AUDITED],
			       v.state ? v.state->cgroup : "?", v.attached ? "" : " (not attached)",
			       v.state && v.state->removable ? " (removable)" : "");
		nf_state_free(v.state);
	}
	if (cli->json) {
		json_dumpf(arr, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(arr);
	}
	nf_strv_free(ids, n);
	return NF_EXIT_OK;
}

static int show(struct nf_cli *cli, const char *id)
{
	struct fence_view v;
	char programs[48];

	view_load(cli, id, &v);
	if (!v.state && !v.pinned) {
		nf_log_set_id(id);
		nf_log_error(0, "not fenced");
		return NF_EXIT_FAIL;
	}
	view_programs(cli, id, programs, sizeof(programs));
	if (cli->json) {
		json_t *o = view_json(&v);
		char *text = NULL;
		size_t len;

		json_object_set_new(o, "programs",
				    programs[0] ? json_string(programs) : json_null());

		if (nf_state_read_policy(cli->paths.state_dir, id, &text, &len) == 0)
			json_object_set_new(o, "policy", json_loadb(text, len, 0, NULL));
		free(text);
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("id:          %s\n", id);
		printf("cgroup:      %s\n", v.state ? v.state->cgroup : "?");
		printf("attached:    %s\n",
		       v.attached ? "yes"
		       : v.pinned ? "no (cgroup gone or replaced, or links detached)"
				  : "no");
		printf("mode:        %s\n", v.state ? v.state->mode : "?");
		printf("source:      %s\n", v.state ? v.state->source : "?");
		printf("since:       %s\n", v.state ? v.state->attached_at : "?");
		printf("programs:    %s\n", programs[0] ? programs : "its own (not shared)");
		if (v.state && v.state->removable)
			printf("soundness:   REMOVABLE: what it fences could lift or leave it (a "
			       "capability, a bpffs or writable cgroup mount, a uid 0 process; the "
			       "attach's log line names it)\n");
		printf("allowed:     %llu\n", (unsigned long long)v.counters[NF_CNT_ALLOWED]);
		printf("denied:      %llu\n", (unsigned long long)v.counters[NF_CNT_DENIED]);
		printf("audited:     %llu\n", (unsigned long long)v.counters[NF_CNT_AUDITED]);
		printf("events dropped: %llu\n", (unsigned long long)v.counters[NF_CNT_DROPPED]);
	}
	nf_state_free(v.state);
	return NF_EXIT_OK;
}

int nf_cmd_show(struct nf_cli *cli)
{
	char *id = NULL;
	int r;

	r = nf_cli_resolve_id(cli, cli->argv[0], &id);
	if (r < 0)
		return r == -EINVAL ? NF_EXIT_USAGE : NF_EXIT_FAIL;
	r = show(cli, id);
	free(id);
	return r;
}

int nf_cmd_metrics(struct nf_cli *cli)
{
	static const char *const names[NF_CNT_DROPPED] = { "allowed", "denied", "audited" };
	char **ids = NULL;
	size_t n = 0, attached = 0;
	long long *dropped;
	int r;

	r = all_ids(cli, &ids, &n);
	if (r < 0)
		return nf_log_error(r, "cannot list fences"), NF_EXIT_FAIL;
	dropped = calloc(n ? n : 1, sizeof(*dropped));
	if (!dropped) {
		nf_strv_free(ids, n);
		return nf_log_error(-ENOMEM, "cannot list fences"), NF_EXIT_FAIL;
	}
	printf("# HELP netfence_verdicts_total Verdicts given by a fence, by kind.\n"
	       "# TYPE netfence_verdicts_total counter\n");
	for (size_t i = 0; i < n; i++) {
		struct fence_view v;

		view_load(cli, ids[i], &v);
		attached += v.attached;
		for (int k = 0; k < NF_CNT_DROPPED && v.pinned; k++)
			printf("netfence_verdicts_total{container=\"%s\",verdict=\"%s\"} %llu\n",
			       ids[i], names[k], (unsigned long long)v.counters[k]);
		dropped[i] = v.pinned ? (long long)v.counters[NF_CNT_DROPPED] : -1;
		nf_state_free(v.state);
	}
	printf("# HELP netfence_events_dropped_total Denied or audited verdicts a fence did not "
	       "report as events (rate limit, full ring).\n"
	       "# TYPE netfence_events_dropped_total counter\n");
	for (size_t i = 0; i < n; i++)
		if (dropped[i] >= 0)
			printf("netfence_events_dropped_total{container=\"%s\"} %lld\n", ids[i],
			       dropped[i]);
	free(dropped);
	printf("# HELP netfence_fences Fences currently attached.\n"
	       "# TYPE netfence_fences gauge\n"
	       "netfence_fences %zu\n",
	       attached);
	nf_strv_free(ids, n);
	return NF_EXIT_OK;
}
