// SPDX-License-Identifier: Apache-2.0
/* Commands that report on fences: list, show, metrics, monitor. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <jansson.h>

#include "cli.h"
#include "http.h"
#include "json_writer.h"
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
	bool names;	    /* its policy has name rules: the DNS programs are linked */
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
	v->names = v->pinned && strlen(dir) + sizeof("/" NF_PIN_NAMES_LINK) <= sizeof(dir) &&
		   access(strcat(dir, "/" NF_PIN_NAMES_LINK), F_OK) == 0;
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

/* The members of a fence's object in list and show; the caller opens and closes it. */
static void view_json(struct nf_jsonw *w, const struct fence_view *v)
{
	const struct nf_state *s = v->state;

	nf_jsonw_string_field(w, "id", v->id);
	nf_jsonw_string_field(w, "cgroup", s ? s->cgroup : "");
	nf_jsonw_string_field(w, "mode", s ? s->mode : "unknown");
	nf_jsonw_bool_field(w, "attached", v->attached);
	nf_jsonw_uint_field(w, "cgroup_id", v->cgroup_id);
	nf_jsonw_name(w, "counters");
	nf_jsonw_start_object(w);
	nf_jsonw_uint_field(w, "allowed", v->counters[NF_CNT_ALLOWED]);
	nf_jsonw_uint_field(w, "denied", v->counters[NF_CNT_DENIED]);
	nf_jsonw_uint_field(w, "audited", v->counters[NF_CNT_AUDITED]);
	nf_jsonw_uint_field(w, "events_dropped", v->counters[NF_CNT_DROPPED]);
	/* name rules: addresses learned, and answers that taught nothing, by why */
	if (v->names) {
		nf_jsonw_uint_field(w, "dns_learned", v->counters[NF_CNT_DNS_LEARNED]);
		nf_jsonw_uint_field(w, "dns_untrusted", v->counters[NF_CNT_DNS_UNTRUSTED]);
		nf_jsonw_uint_field(w, "dns_unsolicited", v->counters[NF_CNT_DNS_UNSOLICITED]);
		nf_jsonw_uint_field(w, "dns_replayed", v->counters[NF_CNT_DNS_REPLAYED]);
		nf_jsonw_uint_field(w, "dns_loopback", v->counters[NF_CNT_DNS_LOOPBACK]);
	}
	nf_jsonw_end_object(w);
	if (!s)
		return;
	nf_jsonw_string_field(w, "source", s->source);
	nf_jsonw_string_field(w, "attached_at", s->attached_at);
	nf_jsonw_bool_field(w, "removable", s->removable);
	nf_jsonw_bool_field(w, "own_netns", s->own_netns);
	nf_jsonw_bool_field(w, "fenced", !s->unfenced);
	if (s->unfenced)
		nf_jsonw_string_field(w, "unfenced_reason",
				      s->unfenced_reason ? s->unfenced_reason : "");
	nf_jsonw_string_field(w, "pod", s->k8s.pod);
	nf_jsonw_string_field(w, "namespace", s->k8s.namespace);
	nf_jsonw_string_field(w, "container_name", s->k8s.container);
}

/* Append the ids of list(dir) to v; the list is freed. */
static int ids_add(int (*list)(const char *, char ***, size_t *), const char *dir, char ***v,
		   size_t *n, size_t *cap)
{
	char **ids = NULL;
	size_t k = 0, i;
	int r = list(dir, &ids, &k);

	for (i = 0; i < k && r == 0; i++) {
		r = nf_strv_push(v, n, cap, ids[i]);
		ids[i] = NULL;
	}
	nf_strv_free(ids, k);
	return r;
}

/* Union of the ids with pins, with a state file, and with an unfenced record; sorted. */
static int all_ids(const struct nf_cli *cli, char ***ret, size_t *ret_n)
{
	char **v = NULL;
	size_t n = 0, cap = 0, u = 0;
	int r;

	r = ids_add(nf_pins_ids, cli->paths.bpffs_root, &v, &n, &cap);
	if (r == 0)
		r = ids_add(nf_state_ids, cli->paths.state_dir, &v, &n, &cap);
	if (r == 0)
		r = ids_add(nf_state_unfenced_ids, cli->paths.state_dir, &v, &n, &cap);
	if (r < 0) {
		nf_strv_free(v, n);
		return r;
	}
	nf_strv_sort(v, n);
	for (size_t i = 0; i < n; i++) {
		if (u && strcmp(v[u - 1], v[i]) == 0)
			free(v[i]);
		else
			v[u++] = v[i];
	}
	*ret = v;
	*ret_n = u;
	return 0;
}

int nf_cli_resolve_id(const struct nf_cli *cli, const char *arg, char **ret)
{
	char **ids = NULL, q[NF_QUOTE_BUF], names[1024];
	size_t n = 0, hits = 0, len = strlen(arg), o = 0;
	const char *hit = NULL;
	int r;

	if (nf_oci_id_valid(arg) < 0)
		return nf_log_fail(-EINVAL,
				   "id %s is not a valid container id (" NF_OCI_ID_RULE ")",
				   nf_quote_str(q, arg));
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
		nf_log_fail(-EEXIST, "id prefix '%s' names %zu fences: %s", arg, hits, names);
		nf_strv_free(ids, n);
		return -EEXIST;
	}
	*ret = strdup(hits ? hit : arg);
	nf_strv_free(ids, n);
	return *ret ? 0 : -ENOMEM;
}

int nf_cmd_list(struct nf_cli *cli)
{
	struct nf_jsonw w = NF_JSONW_INIT(stdout);
	char **ids = NULL;
	size_t n = 0;
	int r;

	r = all_ids(cli, &ids, &n);
	if (r < 0)
		return nf_log_error(r, "cannot list fences"), NF_EXIT_FAIL;
	if (cli->json)
		nf_jsonw_start_array(&w);
	else
		printf("%-24s %-8s %10s %10s %10s  %s\n", "ID", "MODE", "ALLOWED", "DENIED",
		       "AUDITED", "CGROUP");
	for (size_t i = 0; i < n; i++) {
		struct fence_view v;

		view_load(cli, ids[i], &v);
		if (cli->json) {
			nf_jsonw_start_object(&w);
			view_json(&w, &v);
			nf_jsonw_end_object(&w);
		} else if (v.state && v.state->unfenced)
			printf("%-24s %-8s %10s %10s %10s  %s (unfenced: %s)\n", v.id, "UNFENCED",
			       "-", "-", "-", v.state->cgroup[0] ? v.state->cgroup : "?",
			       v.state->unfenced_reason ? v.state->unfenced_reason : "");
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
		nf_jsonw_end_array(&w);
		nf_jsonw_end_line(&w);
	}
	nf_strv_free(ids, n);
	return NF_EXIT_OK;
}

/* The names come from annotations: quoted, as any untrusted value printed as text. */
static void show_k8s(const struct nf_state *s)
{
	char q[300];

	if (s->k8s.pod)
		printf("pod:         %s\n", nf_escape_str(q, sizeof(q), s->k8s.pod));
	if (s->k8s.namespace)
		printf("namespace:   %s\n", nf_escape_str(q, sizeof(q), s->k8s.namespace));
	if (s->k8s.container)
		printf("container:   %s\n", nf_escape_str(q, sizeof(q), s->k8s.container));
}

/* An address learned by name rules as text: IPv4 for the mapped form. */
static const char *learned_text(const struct nf_learned_addr *a, char *buf, size_t size)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (memcmp(a->addr, mapped, sizeof(mapped)) == 0)
		return inet_ntop(AF_INET, a->addr + 12, buf, (socklen_t)size);
	return inet_ntop(AF_INET6, a->addr, buf, (socklen_t)size);
}

static int cmp_learned(const void *a, const void *b)
{
	const struct nf_learned_addr *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : memcmp(x->addr, y->addr, sizeof(x->addr));
}

/*
 * The addresses the fence learned, when it has name rules: a "learned" array (each with the
 * name that taught it) and a "names" array (name, then its addresses), or a line per name.
 */
static void show_learned(struct nf_jsonw *w, const struct nf_cli *cli, const char *id)
{
	struct nf_learned_addr *l = NULL;
	char dir[4096], text[INET6_ADDRSTRLEN];
	size_t n = 0;

	if (nf_pins_path(cli->paths.bpffs_root, id, NF_PINS_CURRENT, dir, sizeof(dir)) < 0 ||
	    nf_loader_learned(dir, &l, &n) < 0)
		return;
	qsort(l, n, sizeof(*l), cmp_learned);
	if (w) {
		nf_jsonw_name(w, "learned");
		nf_jsonw_start_array(w);
		for (size_t i = 0; i < n; i++) {
			if (!learned_text(&l[i], text, sizeof(text)))
				continue;
			nf_jsonw_start_object(w);
			nf_jsonw_string_field(w, "address", text);
			nf_jsonw_uint_field(w, "expires_in_s", (l[i].expires_in_ms + 999) / 1000);
			nf_jsonw_string_field(w, "name", l[i].name[0] ? l[i].name : NULL);
			nf_jsonw_end_object(w);
		}
		nf_jsonw_end_array(w);
		nf_jsonw_name(w, "names");
		nf_jsonw_start_array(w);
	}
	for (size_t i = 0; i < n; i++) {
		bool first = i == 0 || strcmp(l[i].name, l[i - 1].name) != 0;
		bool last = i + 1 == n || strcmp(l[i].name, l[i + 1].name) != 0;
		unsigned long long left = (l[i].expires_in_ms + 999) / 1000;

		if (!learned_text(&l[i], text, sizeof(text)))
			snprintf(text, sizeof(text), "?");
		if (w && first) {
			nf_jsonw_start_object(w);
			nf_jsonw_string_field(w, "name", l[i].name[0] ? l[i].name : NULL);
			nf_jsonw_name(w, "addresses");
			nf_jsonw_start_array(w);
		}
		if (w) {
			nf_jsonw_start_object(w);
			nf_jsonw_string_field(w, "address", text);
			nf_jsonw_uint_field(w, "expires_in_s", left);
			nf_jsonw_end_object(w);
		} else {
			if (first)
				printf("learned:     %s: ",
				       l[i].name[0] ? l[i].name : "(name not kept)");
			printf("%s%s (%llu s)%s", first ? "" : ", ", text, left, last ? "\n" : "");
		}
		if (w && last) {
			nf_jsonw_end_array(w);
			nf_jsonw_end_object(w);
		}
	}
	if (w)
		nf_jsonw_end_array(w);
	free(l);
}

static int show(struct nf_cli *cli, const char *id)
{
	struct fence_view v;
	char programs[48];

	view_load(cli, id, &v);
	if (!v.state && !v.pinned) {
		nf_log_set_id(id);
		nf_log_fail(-ENOENT, "not fenced");
		return NF_EXIT_FAIL;
	}
	view_programs(cli, id, programs, sizeof(programs));
	if (cli->json) {
		struct nf_jsonw w = NF_JSONW_INIT(stdout);
		json_t *policy = NULL;
		char *text = NULL;
		size_t len;

		nf_jsonw_start_object(&w);
		view_json(&w, &v);
		nf_jsonw_string_field(&w, "programs", programs[0] ? programs : NULL);
		if (v.names)
			show_learned(&w, cli, id);
		if (nf_state_read_policy(cli->paths.state_dir, id, &text, &len) == 0)
			policy = json_loadb(text, len, 0, NULL);
		free(text);
		if (policy) {
			nf_jsonw_name(&w, "policy");
			nf_jsonw_json(&w, policy);
			json_decref(policy);
		}
		nf_jsonw_end_object(&w);
		nf_jsonw_end_line(&w);
	} else if (v.state && v.state->unfenced) {
		printf("id:          %s\n", id);
		printf("fenced:      NO: started without its fence (fail_mode open)\n");
		printf("reason:      %s\n",
		       v.state->unfenced_reason ? v.state->unfenced_reason : "");
		printf("since:       %s\n", v.state->attached_at);
		show_k8s(v.state);
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
		if (v.state)
			show_k8s(v.state);
		if (v.state && v.state->removable)
			printf("soundness:   REMOVABLE: what it fences could lift or leave it (a "
			       "capability, a bpffs or writable cgroup mount, a uid 0 process; the "
			       "attach's log line names it)\n");
		printf("allowed:     %llu\n", (unsigned long long)v.counters[NF_CNT_ALLOWED]);
		printf("denied:      %llu\n", (unsigned long long)v.counters[NF_CNT_DENIED]);
		printf("audited:     %llu\n", (unsigned long long)v.counters[NF_CNT_AUDITED]);
		printf("events dropped: %llu\n", (unsigned long long)v.counters[NF_CNT_DROPPED]);
		if (v.names)
			show_learned(NULL, cli, id);
		if (v.names)
			printf("dns learned: %llu addresses; answers ignored: %llu untrusted, %llu "
			       "unsolicited, %llu replayed, %llu over loopback\n",
			       (unsigned long long)v.counters[NF_CNT_DNS_LEARNED],
			       (unsigned long long)v.counters[NF_CNT_DNS_UNTRUSTED],
			       (unsigned long long)v.counters[NF_CNT_DNS_UNSOLICITED],
			       (unsigned long long)v.counters[NF_CNT_DNS_REPLAYED],
			       (unsigned long long)v.counters[NF_CNT_DNS_LOOPBACK]);
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

/* A label value in the text format: backslash, double quote and newline escaped. */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f), fputc(*v, f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* {id="...",pod="...",namespace="...",container="..." and extra, the names where known. */
static void labels(FILE *f, const char *id, const struct nf_state *s, const char *extra)
{
	const struct {
		const char *name, *value;
	} known[] = {
		{ "pod", s ? s->k8s.pod : NULL },
		{ "namespace", s ? s->k8s.namespace : NULL },
		{ "container", s ? s->k8s.container : NULL },
	};

	fputs("{id=\"", f);
	label_value(f, id);
	fputc('"', f);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (!known[i].value)
			continue;
		fprintf(f, ",%s=\"", known[i].name);
		label_value(f, known[i].value);
		fputc('"', f);
	}
	fprintf(f, "%s}", extra ? extra : "");
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Every family, its samples fence by fence. */
static int metrics_write(FILE *f, void *ctx)
{
	static const char *const names[NF_CNT_DROPPED] = { "allowed", "denied", "audited" };
	const struct nf_cli *cli = ctx;
	struct fence_view *views;
	size_t n = 0, attached = 0, unfenced = 0;
	char **ids = NULL, extra[32];
	int r;

	r = all_ids(cli, &ids, &n);
	if (r < 0)
		return nf_log_error(r, "cannot list fences");
	views = calloc(n ? n : 1, sizeof(*views));
	if (!views) {
		nf_strv_free(ids, n);
		return nf_log_error(-ENOMEM, "cannot list fences");
	}
	for (size_t i = 0; i < n; i++) {
		view_load(cli, ids[i], &views[i]);
		attached += views[i].attached;
		unfenced += views[i].state && views[i].state->unfenced;
	}
	family(f, "netfence_build_info", "gauge", "The running netfence's version.");
	fprintf(f, "netfence_build_info{version=\"%s\"} 1\n", NETFENCE_VERSION);
	family(f, "netfence_verdicts_total", "counter",
	       "Verdicts given by a fence, by kind; id is the container id, container its name.");
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < NF_CNT_DROPPED && views[i].pinned; k++) {
			snprintf(extra, sizeof(extra), ",verdict=\"%s\"", names[k]);
			fputs("netfence_verdicts_total", f);
			labels(f, ids[i], views[i].state, extra);
			fprintf(f, " %llu\n", (unsigned long long)views[i].counters[k]);
		}
	}
	family(f, "netfence_events_dropped_total", "counter",
	       "Denied or audited verdicts a fence did not report as events (rate limit, full "
	       "ring).");
	for (size_t i = 0; i < n; i++) {
		if (!views[i].pinned)
			continue;
		fputs("netfence_events_dropped_total", f);
		labels(f, ids[i], views[i].state, NULL);
		fprintf(f, " %llu\n", (unsigned long long)views[i].counters[NF_CNT_DROPPED]);
	}
	family(f, "netfence_fences", "gauge", "Fences currently attached.");
	fprintf(f, "netfence_fences %zu\n", attached);
	family(f, "netfence_unfenced_containers", "gauge",
	       "Containers started without their fence under fail_mode open, still recorded.");
	fprintf(f, "netfence_unfenced_containers %zu\n", unfenced);
	family(f, "netfence_container_unfenced", "gauge",
	       "1 for each container started without its fence under fail_mode open.");
	for (size_t i = 0; i < n; i++) {
		if (!views[i].state || !views[i].state->unfenced)
			continue;
		fputs("netfence_container_unfenced", f);
		labels(f, ids[i], views[i].state, NULL);
		fputs(" 1\n", f);
	}
	for (size_t i = 0; i < n; i++)
		nf_state_free(views[i].state);
	free(views);
	nf_strv_free(ids, n);
	return 0;
}

int nf_cmd_metrics(struct nf_cli *cli)
{
	if (cli->listen)
		return nf_http_serve_metrics(cli->listen, metrics_write, cli) < 0 ? NF_EXIT_FAIL
										  : NF_EXIT_OK;
	return metrics_write(stdout, cli) < 0 ? NF_EXIT_FAIL : NF_EXIT_OK;
}
