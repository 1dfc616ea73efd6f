// SPDX-License-Identifier: Apache-2.0
/*
 * netfence hook: the OCI hook. The runtime passes the container state on stdin; attach stages
 * fence the container's cgroup with the policy from its annotations, poststop removes the fence.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "netfence.h"
#include "cli.h"
#include "json_scan.h"
#include "log.h"
#include "oci.h"
#include "pins.h"
#include "soundness.h"
#include "state.h"
#include "util.h"

#define ANN_POLICY	"io.netfence.policy"
#define ANN_POLICY_NAME "io.netfence.policy-name"
/* What CRI-O and containerd say a container is, recorded for list, show, metrics, monitor. */
#define ANN_K8S_POD	  "io.kubernetes.pod.name"
#define ANN_K8S_NAMESPACE "io.kubernetes.pod.namespace"
#define ANN_K8S_CONTAINER "io.kubernetes.container.name"

enum stage {
	STAGE_ATTACH,
	STAGE_DETACH,
	STAGE_LATE, /* the container's code already runs: a fence now comes too late */
};

/* Everything an attach decides from the state and bundle, freed by ctx_free. */
struct hook_ctx {
	struct nf_oci_state *state;
	struct nf_oci_config *config; /* the bundle's config.json */
	char *policy_buf;
	size_t policy_len;
	char source[128];
	char *cgroup;
	int cgroup_fd;	/* cgroup, open from resolve_cgroup() on; -1 before */
	bool refused;	/* a decision against the container, which fail_mode open does not undo */
	bool attaching; /* an attach stage, with a valid id */
};

/* Log a refusal (one line) and mark it as one: under fail_mode open the line says that the
 * container is still not started. */
static int refuse(struct nf_cli *cli, struct hook_ctx *c, const char *why)
{
	c->refused = true;
	nf_log_set_result("refused");
	nf_log_error(
		0, "%s%s", why,
		cli->cfg.fail_mode == NF_FAIL_OPEN
			? " (a refusal, not an error: fail_mode open does not start it unfenced)"
			: "");
	return -EPERM;
}

static int stage_parse(const char *arg, const char *status, enum stage *ret)
{
	static const struct {
		const char *name;
		enum stage stage;
	} stages[] = {
		{ "prestart", STAGE_ATTACH }, { "createRuntime", STAGE_ATTACH },
		{ "poststart", STAGE_LATE },  { "poststop", STAGE_DETACH },
		{ "creating", STAGE_ATTACH }, { "created", STAGE_ATTACH },
		{ "running", STAGE_LATE },    { "stopped", STAGE_DETACH },
	};
	const char *key = arg ? arg : status;

	for (size_t i = 0; key && i < sizeof(stages) / sizeof(stages[0]); i++) {
		if (strcmp(key, stages[i].name) == 0) {
			*ret = stages[i].stage;
			return 0;
		}
	}
	return -EINVAL;
}

/* Annotations come from the state; runtimes that leave them out have them in config.json. */
static const char *annotation(struct hook_ctx *c, const char *key)
{
	if (c->state->annotations.n > 0)
		return nf_oci_annotation(c->state, key);
	return c->config ? nf_oci_annotations_get(&c->config->annotations, key) : NULL;
}

static struct nf_state_k8s k8s_names(struct hook_ctx *c)
{
	return (struct nf_state_k8s){
		.pod = (char *)annotation(c, ANN_K8S_POD),
		.namespace = (char *)annotation(c, ANN_K8S_NAMESPACE),
		.container = (char *)annotation(c, ANN_K8S_CONTAINER),
	};
}

/* After an attach: its Kubernetes names beside the state, no record of running unfenced. */
static void record_fenced(struct nf_cli *cli, struct hook_ctx *c)
{
	struct nf_state_k8s k8s = k8s_names(c);
	int r = nf_state_write_k8s(cli->paths.state_dir, c->state->id, &k8s);

	if (r < 0)
		nf_log_warning(r, "cannot record the pod's names in %s", cli->paths.state_dir);
	nf_state_remove_unfenced(cli->paths.state_dir, c->state->id);
}

/* fail_mode open let the container start without its fence: say so where list, show and
 * metrics look, not only in the log. */
static void record_unfenced(struct nf_cli *cli, struct hook_ctx *c)
{
	char now[64];
	int r;

	/* where it runs, for list and for gc once it is gone: best effort, the error came first */
	if (!c->cgroup && c->state->pid)
		nf_cgroup_resolve("/proc", "/proc/self/mountinfo", c->state->pid, &c->cgroup, NULL);
	struct nf_state s = {
		.id = c->state->id,
		.cgroup = c->cgroup,
		.mode = "unfenced",
		.source = c->source,
		.attached_at = now,
		.unfenced = true,
		.unfenced_reason = (char *)nf_log_last_error(),
		.k8s = k8s_names(c),
	};

	nf_state_now(now, sizeof(now));
	r = nf_state_write_unfenced(cli->paths.state_dir, &s);
	nf_log_set_result("unfenced");
	if (r < 0)
		nf_log_warning(r,
			       "fail_mode is open: the container runs without this fence, and "
			       "cannot be recorded so in %s",
			       cli->paths.state_dir);
	else
		nf_log_warning(0, "fail_mode is open: the container runs without this fence "
				  "(recorded: netfence list shows it UNFENCED)");
}

static int load_named_policy(struct nf_cli *cli, struct hook_ctx *c, const char *name,
			     const char *what)
{
	char path[4096], q[NF_QUOTE_BUF];
	int r;

	/* A valid name is quoted as it is: nothing in it needs escaping. */
	if (nf_policy_name_valid(name) < 0)
		return nf_log_fail(-EINVAL, "%s: %s is not a valid policy name", what,
				   nf_quote_str(q, name));
	snprintf(path, sizeof(path), "%s/%s.json", cli->cfg.policies_dir, name);
	/* Regular files only: opening a FIFO there would hang the runtime. */
	r = nf_read_regular_file(path, NF_POLICY_MAX_BYTES + 1, &c->policy_buf, &c->policy_len);
	if (r == -EINVAL)
		return nf_log_fail(r, "%s: policy '%s' (%s) is not a regular file", what, name,
				   path);
	if (r == -EFBIG)
		return nf_log_fail(r,
				   "%s: policy '%s' (%s): the document is more than the %d bytes "
				   "allowed",
				   what, name, path, NF_POLICY_MAX_BYTES);
	if (r < 0)
		return nf_log_error(r, "%s: cannot read policy '%s' (%s)", what, name, path);
	return 0;
}

/* Pick the policy: inline annotation, named annotation, host default, or none (returns 0). */
static int choose_policy(struct nf_cli *cli, struct hook_ctx *c)
{
	const char *inline_doc = annotation(c, ANN_POLICY);
	const char *name = annotation(c, ANN_POLICY_NAME);
	int r;

	if (inline_doc && name)
		return nf_log_fail(-EINVAL, "both %s and %s are set; refusing an ambiguous policy",
				   ANN_POLICY, ANN_POLICY_NAME);
	if (inline_doc) {
		c->policy_len = strlen(inline_doc);
		c->policy_buf = strndup(inline_doc, c->policy_len);
		snprintf(c->source, sizeof(c->source), "annotation");
		return c->policy_buf ? 1 : -ENOMEM;
	}
	if (name) {
		r = load_named_policy(cli, c, name, ANN_POLICY_NAME);
		snprintf(c->source, sizeof(c->source), "policy-name:%s", name);
		return r < 0 ? r : 1;
	}
	if (cli->cfg.default_policy) {
		r = load_named_policy(cli, c, cli->cfg.default_policy, "default_policy");
		snprintf(c->source, sizeof(c->source), "default:%s", cli->cfg.default_policy);
		return r < 0 ? r : 1;
	}
	return 0;
}

static bool own_netns(const struct nf_oci_config *config)
{
	return config &&
	       nf_soundness_ns_own(config->has_netns, config->netns_path, "/proc/self/ns/net");
}

/*
 * Returns 1 when the container could lift or walk around its fence and the operator accepts
 * that (the fence is then marked removable), 0 when the fence holds, -EPERM when it could and
 * the operator does not accept it.
 */
static int check_removable(struct nf_cli *cli, struct hook_ctx *c, bool own_net, bool raw_deny)
{
	const struct nf_oci_config *config = c->config;
	struct nf_soundness_ctx ctx = {
		.own_userns = config && nf_soundness_ns_own(config->has_userns, config->userns_path,
							    "/proc/self/ns/user"),
		.own_netns = own_net,
		.bpffs_root = cli->cfg.bpffs_root,
		.raw_deny = raw_deny,
		.own_cgroupns =
			config && nf_soundness_ns_own(config->has_cgroupns, config->cgroupns_path,
						      "/proc/self/ns/cgroup"),
		.bundle = c->state->bundle,
		/* Joined by path, it holds processes of other cgroups: not the container's own. */
		.own_pidns = config && config->has_pidns && !config->pidns_path,
		.ptrace_scope = nf_ptrace_scope(NULL),
	};
	char why[640], line[800], **mounts = NULL;
	size_t n_mounts = 0;
	int r;

	if (!config)
		return 0;
	/* Unreadable: nf_soundness_check() falls back to /sys/fs/cgroup. */
	if (nf_cgroup_list_mounts("/proc/self/mountinfo", false, &mounts, &n_mounts) == 0) {
		ctx.cgroup2_mounts = (const char *const *)mounts;
		ctx.n_cgroup2_mounts = n_mounts;
	}
	r = nf_soundness_check(config, &ctx, why, sizeof(why));
	nf_strv_free(mounts, n_mounts);
	if (r == 0)
		return 0;
	if (!cli->cfg.allow_removable_fence) {
		snprintf(line, sizeof(line),
			 "%s; refusing to start it behind a fence it could lift (set "
			 "allow_removable_fence in the host config to accept)",
			 why);
		return refuse(cli, c, line);
	}
	nf_log_warning(0, "%s; accepted by allow_removable_fence, the fence is not sound", why);
	return 1;
}

/*
 * Without a cgroup of its own (crun --cgroup-manager=disabled, podman --cgroups=disabled) the
 * container stays in the cgroup of the runtime that started it, and of this hook: fencing that
 * fences the runtime and its caller, and no override makes that right.
 */
static int check_own_cgroup(struct nf_cli *cli, struct hook_ctx *c)
{
	char line[1024], q[NF_QUOTE_BUF];
	char *self = NULL;
	bool shared;

	if (nf_cgroup_resolve("/proc", "/proc/self/mountinfo", getpid(), &self, NULL) < 0)
		return 0; /* the root cgroup or outside our namespace: no cgroup under it to share
			   */
	shared = strncmp(self, c->cgroup, strlen(c->cgroup)) == 0 &&
		 (self[strlen(c->cgroup)] == '\0' || self[strlen(c->cgroup)] == '/');
	free(self);
	if (!shared)
		return 0;
	snprintf(line, sizeof(line),
		 "pid %d: cgroup %s is not the container's own but the runtime's, which this "
		 "hook runs in: fencing it would fence the runtime and its caller; refusing to "
		 "start it (give the container a cgroup of its own: no crun "
		 "--cgroup-manager=disabled, no podman --cgroups=disabled)",
		 c->state->pid, nf_quote_str(q, c->cgroup));
	return refuse(cli, c, line);
}

static int resolve_cgroup(struct hook_ctx *c)
{
	struct nf_err err;
	int r;

	if (!c->state->pid)
		return nf_log_fail(
			-EINVAL,
			"state: /pid: missing or 0; needed to find the container's cgroup");
	r = nf_cgroup_resolve("/proc", "/proc/self/mountinfo", c->state->pid, &c->cgroup, &err);
	if (r == 0)
		r = c->cgroup_fd = nf_cgroup_open(c->cgroup, &err);
	return r < 0 ? nf_log_err(&err) : 0;
}

static int hook_attach(struct nf_cli *cli, struct hook_ctx *c)
{
	struct nf_policy *p = NULL;
	pid_t pid;
	struct nf_err e;
	bool own_net;
	int removable, r;

	if (c->state->bundle) {
		r = nf_oci_config_load(c->state->bundle, &c->config, &e);
		if (r < 0)
			return nf_log_err(&e);
	}
	r = choose_policy(cli, c);
	if (r <= 0) {
		if (r == 0)
			nf_log_debug("no netfence policy; not fenced");
		return r;
	}
	r = nf_policy_parse(c->policy_buf, c->policy_len, &p, &e);
	if (r < 0) {
		nf_err_prefix(&e, "%s",
			      strncmp(c->source, "annotation", 10) == 0 ? ANN_POLICY : c->source);
		return nf_log_err(&e);
	}
	/* The host floor goes under every policy; the stored text is the policy enforced. */
	r = nf_floor_apply(&cli->cfg.floor, p, &c->policy_buf, &c->policy_len, c->source,
			   sizeof(c->source), &e);
	if (r < 0) {
		nf_policy_free(p);
		nf_err_prefix(&e, "%s", c->source);
		return nf_log_err(&e);
	}
	/* the standby capabilities serve the seeding of name rules alone */
	if (!nf_policy_has_names(p))
		nf_caps_drop_standby();
	own_net = own_netns(c->config);
	nf_policy_resolve(p, own_net);
	removable = check_removable(cli, c, own_net, p->raw_sockets == NF_RAW_DENY);
	r = removable < 0 ? removable : resolve_cgroup(c);
	if (r == 0)
		r = check_own_cgroup(cli, c);
	if (r < 0) {
		nf_policy_free(p);
		return r;
	}
	pid = (pid_t)c->state->pid;
	struct nf_fence_request req = {
		.id = c->state->id,
		.cgroup_dir = c->cgroup,
		.cgroup_fd = c->cgroup_fd,
		.policy = p,
		.policy_text = c->policy_buf,
		.policy_len = c->policy_len,
		.source = c->source,
		.own_netns = own_net,
		.removable = removable == 1,
		.events_per_sec = nf_cli_events_rate(&cli->cfg),
		/* the container's process: its network namespace is the container's */
		.seed_pids = &pid,
		.seed_npids = 1,
	};
	r = nf_fence_attach(&cli->paths, &req, &e);
	if (r == 0) {
		record_fenced(cli, c);
		nf_log_set_result("fenced");
		nf_log_info("fenced %s (%s, %s)", c->cgroup,
			    p->mode == NF_MODE_AUDIT ? "audit" : "enforce", c->source);
	}
	nf_policy_free(p);
	return r < 0 ? nf_log_err(&e) : 0;
}

static void ctx_free(struct hook_ctx *c)
{
	nf_oci_state_free(c->state);
	nf_oci_config_free(c->config);
	free(c->policy_buf);
	free(c->cgroup);
	if (c->cgroup_fd >= 0)
		close(c->cgroup_fd);
}

/*
 * A whole state, for an attach or a hook run without a stage. Without one, the status decides,
 * and a detach needs only the id: the brief parse reads the two (the annotations carry the whole
 * policy at poststop too). An attach parses the state in full, so that it refuses what it always
 * refused.
 */
static int parse_state(struct nf_cli *cli, struct hook_ctx *c, const char *buf, size_t len)
{
	const char *arg = cli->argc ? cli->argv[0] : NULL;
	enum stage stage;
	struct nf_err e;
	int r;

	if (!arg) {
		r = nf_oci_state_parse_brief(buf, len, &c->state, &e);
		if (r < 0)
			goto fail;
		if (stage_parse(NULL, c->state->status, &stage) == 0 && stage == STAGE_DETACH)
			return 0;
		nf_oci_state_free(c->state);
		c->state = NULL;
	}
	r = nf_oci_state_parse(buf, len, &c->state, &e);
	if (r == 0)
		return 0;
fail:
	nf_err_prefix(&e, "state");
	return nf_log_err(&e);
}

/*
 * The state of a detach, which needs its id alone: read through a 64 KiB window and compacted,
 * rather than held whole: strings longer than NF_OCI_BRIEF_KEEP bytes, the policy in the
 * annotations above all, are checked on the way and dropped (json_scan.h). A 1 MB state held in
 * fresh memory costs page faults that a reused window does not (BENCHMARKS.md, Hook detach).
 */
static int read_state_compact(struct nf_json_compact *c)
{
	char win[64 * 1024];
	size_t have = 0, total = 0;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, win + have, sizeof(win) - have);
		long used;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		total += (size_t)n;
		if (total > NF_OCI_STATE_MAX)
			return -EFBIG;
		have += (size_t)n;
		used = nf_json_compact_feed(c, win, have, n == 0);
		if (used < 0)
			return (int)used;
		have -= (size_t)used;
		memmove(win, win + used, have);
		if (n == 0)
			return 0;
	}
}

static int read_state(struct nf_cli *cli, struct hook_ctx *c)
{
	const char *arg = cli->argc ? cli->argv[0] : NULL;
	struct nf_json_compact doc;
	struct nf_err e;
	enum stage stage;
	size_t len;
	char *buf;
	int r;

	if (!arg || stage_parse(arg, NULL, &stage) < 0 || stage != STAGE_DETACH) {
		/* One byte over the limit lets the parser report the size with the real numbers. */
		r = nf_read_fd(STDIN_FILENO, NF_OCI_STATE_MAX + 1, &buf, &len);
		if (r == -EFBIG)
			goto too_big;
		if (r < 0)
			return nf_log_error(r, "cannot read the container state on stdin");
		r = parse_state(cli, c, buf, len);
		free(buf);
		return r;
	}
	nf_json_compact_init(&doc, NF_OCI_BRIEF_KEEP);
	r = read_state_compact(&doc);
	if (r == 0) {
		r = nf_oci_state_parse_brief(doc.out ? doc.out : "", doc.len, &c->state, &e);
		if (r < 0) {
			nf_err_prefix(&e, "state");
			nf_log_err(&e);
		}
	} else if (r == -EINVAL) {
		nf_log_fail(
			r,
			"state: invalid JSON at line %zu, column %zu: a string holds an invalid "
			"escape, control character or UTF-8 sequence",
			doc.line, doc.bad_at - doc.line_at + 1);
	} else if (r != -EFBIG) {
		nf_log_error(r, "cannot read the container state on stdin");
	}
	nf_json_compact_free(&doc);
	if (r == -EFBIG)
		goto too_big;
	return r;
too_big:
	return nf_log_fail(-EFBIG, "state: the document is more than the %d bytes allowed",
			   NF_OCI_STATE_MAX);
}

static int refuse_late(struct nf_cli *cli, struct hook_ctx *c)
{
	const char *arg = cli->argc ? cli->argv[0] : NULL;
	char line[512], q[NF_QUOTE_BUF];

	snprintf(line, sizeof(line),
		 "%s %s is too late to attach: the container's process already runs and may "
		 "have connected; run netfence hook at createRuntime or prestart (or without a "
		 "stage where the state's status is 'creating' or 'created')",
		 arg ? "hook stage" : "state: /status",
		 nf_quote_str(q, arg ? arg : c->state->status));
	return refuse(cli, c, line);
}

static int hook_run(struct nf_cli *cli, struct hook_ctx *c)
{
	char q[NF_QUOTE_BUF];
	struct nf_err err;
	enum stage stage;
	int r;

	r = read_state(cli, c);
	if (r < 0)
		return r;
	nf_log_set_id(c->state->id);
	nf_log_set_stage(cli->argc ? cli->argv[0] : c->state->status);
	if (stage_parse(cli->argc ? cli->argv[0] : NULL, c->state->status, &stage) < 0)
		return nf_log_fail(-EINVAL, "unknown hook stage %s",
				   nf_quote_str(q, cli->argc ? cli->argv[0] : c->state->status));
	if (stage != STAGE_ATTACH)
		nf_caps_drop_standby();
	if (stage == STAGE_DETACH) {
		r = nf_fence_detach(&cli->paths, c->state->id, &err);
		return r < 0 ? nf_log_err(&err) : 0;
	}
	if (stage == STAGE_LATE)
		return refuse_late(cli, c);
	c->attaching = true;
	return hook_attach(cli, c);
}

int nf_cmd_hook(struct nf_cli *cli)
{
	struct hook_ctx c = { .cgroup_fd = -1 };
	int r = hook_run(cli, &c);

	nf_caps_drop_standby(); /* where the run ended before the seeding would */

	/* Fences whose cgroup is gone (poststop never came) are reaped by every hook run. */
	if (nf_pins_ensure_root(cli->paths.bpffs_root) == 0)
		nf_fence_gc(&cli->paths, true, NULL);
	if (r < 0 && !c.refused && cli->cfg.fail_mode == NF_FAIL_OPEN) {
		if (c.attaching)
			record_unfenced(cli, &c);
		else
			nf_log_warning(0, "fail_mode is open: the container runs without this "
					  "fence");
		ctx_free(&c);
		return NF_EXIT_OK;
	}
	ctx_free(&c);
	return r < 0 ? NF_EXIT_FAIL : NF_EXIT_OK;
}
