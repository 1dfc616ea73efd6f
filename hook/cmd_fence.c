// SPDX-License-Identifier: Apache-2.0
/* Commands that change fences by hand: attach, detach, update, gc; and policy check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "caps.h"
#include "cgroup.h"
#include "cli.h"
#include "json_writer.h"
#include "log.h"
#include "oci.h"
#include "seed.h"
#include "state.h"
#include "util.h"

int nf_cli_read_policy(const char *path, char **ret, size_t *ret_len, struct nf_err *err)
{
	char q[NF_QUOTE_BUF];
	int r;

	/* One byte over the limit lets the parser report the size with the real numbers. */
	if (strcmp(path, "-") == 0)
		r = nf_read_fd(STDIN_FILENO, NF_POLICY_MAX_BYTES + 1, ret, ret_len);
	else
		r = nf_read_file(path, NF_POLICY_MAX_BYTES + 1, ret, ret_len);
	if (r == -EFBIG)
		return nf_err_set(err, r,
				  "policy %s: the document is more than the %d bytes allowed",
				  nf_quote_str(q, path), NF_POLICY_MAX_BYTES);
	if (r < 0)
		return nf_err_set(err, r, "cannot read %s: %s", nf_quote_str(q, path),
				  strerror(-r));
	return r;
}

unsigned int nf_cli_events_rate(const struct nf_config *cfg)
{
	if (!cfg->events_enabled)
		return 0;
	return cfg->events_rate_per_sec ? cfg->events_rate_per_sec : UINT32_MAX;
}

/*
 * Read, parse and resolve the --policy argument, the host floor under it; the text is kept for
 * the state dir.
 */
static int load_policy(const struct nf_config *cfg, const char *path, bool own_netns,
		       struct nf_policy **ret_policy, char **ret_text, size_t *ret_len,
		       char *source, size_t srclen)
{
	struct nf_policy *p = NULL;
	char q[NF_QUOTE_BUF];
	struct nf_err err;
	size_t len;
	char *buf;
	int r;

	r = nf_cli_read_policy(path, &buf, &len, &err);
	if (r < 0)
		return nf_log_err(&err);
	r = nf_policy_parse(buf, len, &p, &err);
	if (r == 0)
		r = nf_floor_apply(&cfg->floor, p, &buf, &len, source, srclen, &err);
	if (r < 0) {
		nf_policy_free(p);
		free(buf);
		nf_err_prefix(&err, "policy %s", nf_quote_str(q, path));
		return nf_log_err(&err);
	}
	nf_policy_resolve(p, own_netns);
	*ret_policy = p;
	*ret_text = buf;
	*ret_len = len;
	return 0;
}

static int check_id(const char *id)
{
	char q[NF_QUOTE_BUF];

	if (!id)
		return nf_log_fail(-EINVAL, "--id is required");
	if (nf_oci_id_valid(id) < 0)
		return nf_log_fail(-EINVAL,
				   "id %s is not a valid container id (" NF_OCI_ID_RULE ")",
				   nf_quote_str(q, id));
	return 0;
}

/*
 * After a change, as after every hook run: remove what is gone, including a program set that the
 * fence replaced or detached was the last to use. Nothing is created for it where nothing is.
 */
static void reap(struct nf_cli *cli)
{
	struct stat st;

	if (stat(cli->paths.bpffs_root, &st) == 0 && stat(cli->paths.state_dir, &st) == 0)
		nf_fence_gc(&cli->paths, true, NULL);
}

/*
 * A process already in the cgroup that could get out of it makes the fence removable. Only
 * what runs at attach time can be seen; docs/security.md says what keeps later ones in.
 */
static bool attach_removable(struct nf_cli *cli)
{
	char why[1024];

	if (nf_cgroup_escapable(NULL, cli->cgroup, nf_ptrace_scope(NULL), why, sizeof(why)) <= 0)
		return false;
	nf_log_warning(0, "%s; the fence is recorded as removable", why);
	return true;
}

/*
 * The processes of the cgroup, whose network namespace name rules are seeded in (hook/seed.h);
 * none when it cannot be read, which the seeding reports.
 */
static size_t seed_pids(const struct nf_policy *p, const char *cgroup, pid_t *pids)
{
	size_t n = 0;

	if (!nf_policy_has_names(p)) {
		nf_caps_drop_standby();
		return 0;
	}
	if (nf_seed_cgroup_pids(cgroup, pids, NF_SEED_PIDS_MAX, &n) < 0)
		n = 0;
	return n;
}

/* bare: a cgroup given by hand, whose processes are looked at once the policy is valid. */
static int fence(struct nf_cli *cli, const char *id, const char *cgroup, bool own_netns,
		 bool removable, bool bare, const char *verb)
{
	char source[128] = "file";
	pid_t pids[NF_SEED_PIDS_MAX];
	struct nf_policy *p = NULL;
	struct nf_err err;
	char *text = NULL;
	size_t len = 0;
	int r;

	nf_log_set_id(id);
	r = load_policy(&cli->cfg, cli->policy, own_netns, &p, &text, &len, source, sizeof(source));
	if (r < 0) {
		nf_caps_drop_standby();
		return NF_EXIT_FAIL;
	}
	removable = removable || (bare && attach_removable(cli));
	r = nf_cgroup_open(cgroup, &err);
	if (r < 0) {
		nf_caps_drop_standby();
		nf_policy_free(p);
		free(text);
		reap(cli);
		return nf_log_err(&err), NF_EXIT_FAIL;
	}
	struct nf_fence_request req = {
		.id = id,
		.cgroup_dir = cgroup,
		.cgroup_fd = r,
		.policy = p,
		.policy_text = text,
		.policy_len = len,
		.source = source,
		.own_netns = own_netns,
		.removable = removable,
		.events_per_sec = nf_cli_events_rate(&cli->cfg),
		.seed_pids = pids,
		.seed_npids = seed_pids(p, cgroup, pids),
	};
	r = nf_fence_attach(&cli->paths, &req, &err);
	close(req.cgroup_fd);
	nf_policy_free(p);
	free(text);
	reap(cli);
	if (r < 0)
		return nf_log_err(&err), NF_EXIT_FAIL;
	nf_log_info("%s %s", verb, cgroup);
	return NF_EXIT_OK;
}

int nf_cmd_attach(struct nf_cli *cli)
{
	if (check_id(cli->id) < 0)
		return NF_EXIT_USAGE;
	if (!cli->cgroup || !cli->policy) {
		nf_log_fail(-EINVAL, "attach needs --id, --cgroup and --policy");
		return NF_EXIT_USAGE;
	}
	/* A bare cgroup may share the host's network namespace: loopback follows the rules. */
	return fence(cli, cli->id, cli->cgroup, false, false, true, "fenced");
}

static int update(struct nf_cli *cli, const char *id)
{
	struct nf_state *s = NULL;
	int r;

	nf_log_set_id(id);
	r = nf_state_read(cli->paths.state_dir, id, &s);
	if (r == 0 && s->unfenced)
		r = -ENOENT; /* a container that runs unfenced has no fence to update */
	if (r < 0) {
		nf_caps_drop_standby();
		nf_state_free(s);
		return nf_log_error(r, "not fenced (no state in %s)", cli->paths.state_dir),
		       NF_EXIT_FAIL;
	}
	r = fence(cli, id, s->cgroup, s->own_netns, s->removable, false, "policy updated on");
	nf_state_free(s);
	return r;
}

/* An id, or a unique prefix of one, to r's exit status or the id to act on. */
static int resolve(struct nf_cli *cli, char **ret)
{
	int r = nf_cli_resolve_id(cli, cli->argv[0], ret);

	return r == 0 ? NF_EXIT_OK : r == -EINVAL ? NF_EXIT_USAGE : NF_EXIT_FAIL;
}

int nf_cmd_update(struct nf_cli *cli)
{
	char *id = NULL;
	int r;

	if (!cli->policy) {
		nf_log_fail(-EINVAL, "update needs --policy");
		return NF_EXIT_USAGE;
	}
	r = resolve(cli, &id);
	if (r == NF_EXIT_OK)
		r = update(cli, id);
	free(id);
	return r;
}

int nf_cmd_detach(struct nf_cli *cli)
{
	struct nf_err err;
	char *id = NULL;
	int r;

	r = resolve(cli, &id);
	if (r != NF_EXIT_OK)
		return r;
	nf_log_set_id(id);
	r = nf_fence_detach(&cli->paths, id, &err);
	free(id);
	reap(cli);
	if (r < 0)
		return nf_log_err(&err), NF_EXIT_FAIL;
	return NF_EXIT_OK;
}

/*
 * The records of containers started unfenced whose cgroup is gone: their poststop never came.
 * A record without a cgroup (the hook failed before finding it) stays until a detach.
 */
static size_t reap_unfenced(struct nf_cli *cli)
{
	char **ids = NULL;
	size_t n = 0, removed = 0;

	if (nf_state_unfenced_ids(cli->paths.state_dir, &ids, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct nf_state *s = NULL;
		struct stat st;

		if (nf_state_read(cli->paths.state_dir, ids[i], &s) == 0 && s->unfenced &&
		    s->cgroup[0] == '/' && stat(s->cgroup, &st) < 0 && errno == ENOENT &&
		    nf_state_remove_unfenced(cli->paths.state_dir, ids[i]) == 0)
			removed++;
		nf_state_free(s);
	}
	nf_strv_free(ids, n);
	return removed;
}

int nf_cmd_gc(struct nf_cli *cli)
{
	size_t removed = 0;
	int r = nf_fence_gc(&cli->paths, false, &removed);

	if (r < 0)
		return nf_log_error(r, "gc failed"), NF_EXIT_FAIL;
	removed += reap_unfenced(cli);
	if (cli->json) {
		struct nf_jsonw w = NF_JSONW_INIT(stdout);

		nf_jsonw_start_object(&w);
		nf_jsonw_uint_field(&w, "removed", removed);
		nf_jsonw_end_object(&w);
		nf_jsonw_end_line(&w);
	} else {
		printf("removed %zu stale fence%s\n", removed, removed == 1 ? "" : "s");
	}
	return NF_EXIT_OK;
}

int nf_cmd_policy(struct nf_cli *cli)
{
	const char *path = cli->argv[1];
	struct nf_policy *p = NULL;
	char q[NF_QUOTE_BUF];
	struct nf_err err;
	size_t len;
	char *buf;
	int r;

	if (strcmp(cli->argv[0], "check") != 0) {
		nf_log_fail(-EINVAL, "unknown policy command %s", nf_quote_str(q, cli->argv[0]));
		return NF_EXIT_USAGE;
	}
	r = nf_cli_read_policy(path, &buf, &len, &err);
	if (r < 0)
		return nf_log_err(&err), NF_EXIT_FAIL;
	r = nf_policy_parse(buf, len, &p, &err);
	free(buf);
	if (r < 0) {
		nf_err_prefix(&err, "%s", nf_quote_str(q, path));
		return nf_log_err(&err), NF_EXIT_FAIL;
	}
	if (cli->json) {
		struct nf_jsonw w = NF_JSONW_INIT(stdout);

		nf_jsonw_start_object(&w);
		nf_jsonw_bool_field(&w, "valid", true);
		nf_jsonw_uint_field(&w, "rules", p->nrules);
		nf_jsonw_end_object(&w);
		nf_jsonw_end_line(&w);
	} else {
		printf("%s: valid, %zu rule%s\n", nf_escape_str(q, sizeof(q), path), p->nrules,
		       p->nrules == 1 ? "" : "s");
	}
	nf_policy_free(p);
	return NF_EXIT_OK;
}
