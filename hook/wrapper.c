// SPDX-License-Identifier: Apache-2.0
/* The wrapper runtime: see wrapper.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "config.h"
#include "json.h"
#include "oci.h"
#include "util.h"
#include "wrapper.h"

#define ANN_POLICY	"io.netfence.policy"
#define ANN_POLICY_NAME "io.netfence.policy-name"
#define DEFAULT_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The wrapper's own name, for messages: "netfence-runc". */
static const char *prog = "netfence";

const char *nf_wrapper_runtime(const char *argv0)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;

	base = base ? base + 1 : argv0;
	if (!base || strncmp(base, NF_WRAPPER_PREFIX, strlen(NF_WRAPPER_PREFIX)) != 0)
		return NULL;
	base += strlen(NF_WRAPPER_PREFIX);
	return nf_policy_name_valid(base) == 0 ? base : NULL;
}

static bool in_list(const char *name, size_t len, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == len && strncmp(name, *list, len) == 0)
			return true;
	return false;
}

/*
 * Scan options from argv[i]: returns the index of the first non-option (argc if none), or with
 * permute, goes on past non-options to the end, as crun's argp does (runc refuses options after
 * the container id, so reading them costs nothing there). An option in with_value takes the next
 * argument unless written --name=value. found (or NULL) names the options whose values are
 * wanted, stored in vals[k].
 */
static int scan_options(int argc, char **argv, int i, const char *const *with_value,
			const char *const *found, const char **vals, bool permute)
{
	for (; i < argc; i++) {
		const char *a = argv[i], *name, *eq;
		size_t len;

		if (strcmp(a, "--") == 0)
			return i + 1 < argc ? i + 1 : argc;
		if ((a[0] != '-' || a[1] == '\0') && permute)
			continue;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		/* runc's flag library takes -root as well as --root. */
		name = a + (a[1] == '-' ? 2 : 1);
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		if (!eq && in_list(name, len, with_value)) {
			if (i + 1 >= argc)
				return -EINVAL;
			eq = argv[++i] - 1; /* the value is the next argument */
		}
		for (size_t k = 0; found && found[k]; k++)
			if (strlen(found[k]) == len && strncmp(name, found[k], len) == 0 && eq)
				vals[k] = eq + 1;
	}
	return argc;
}

int nf_wrapper_parse_args(int argc, char **argv, struct nf_wrapper_args *ret)
{
	/* The global options of runc and crun that take a value. */
	static const char *const global[] = { "root",	  "log",       "log-format",	 "criu",
					      "rootless", "log-level", "cgroup-manager", NULL };
	/* Those of runc and crun create, run and restore: bundle and config are the ones read. */
	static const char *const create[] = { "bundle",
					      "b",
					      "console-socket",
					      "pid-file",
					      "preserve-fds",
					      "config",
					      "f",
					      "image-path",
					      "work-path",
					      "parent-path",
					      "manage-cgroups-mode",
					      "empty-ns",
					      "lsm-profile",
					      "lsm-mount-context",
					      NULL };
	static const char *const wanted[] = { "bundle", "b", "config", "f", NULL };
	const char *vals[4] = {};
	int i;

	*ret = (struct nf_wrapper_args){};
	i = scan_options(argc, argv, 1, global, NULL, NULL, false);
	if (i < 0)
		return i;
	if (i >= argc)
		return 0;
	ret->cmd = i;
	if (!nf_wrapper_creates(argc, argv, ret))
		return 0;
	i = scan_options(argc, argv, i + 1, create, wanted, vals, true);
	if (i < 0)
		return i;
	ret->bundle = vals[0] ? vals[0] : vals[1];
	ret->config = vals[2] ? vals[2] : vals[3];
	return 0;
}

/* The commands that make a container from a bundle: restore too (from a checkpoint), which
 * runs the createRuntime hooks as create does. */
bool nf_wrapper_creates(int argc, char **argv, const struct nf_wrapper_args *a)
{
	static const char *const creating[] = { "create", "run", "restore" };

	for (size_t i = 0; a->cmd > 0 && a->cmd < argc && i < sizeof(creating) / sizeof(*creating);
	     i++)
		if (strcmp(argv[a->cmd], creating[i]) == 0)
			return true;
	return false;
}

/* Does the spec ask for a fence? A non-string annotation is the runtime's to refuse. */
static bool wants_fence(const struct nf_config *cfg, json_t *spec)
{
	json_t *ann = json_object_get(spec, "annotations");

	if (cfg->fence_all)
		return true;
	return json_is_object(ann) &&
	       (json_object_get(ann, ANN_POLICY) || json_object_get(ann, ANN_POLICY_NAME));
}

/*
 * A hook is netfence's `hook` at stage when its path is this very binary (by inode, so a link or
 * a copy under another name of another build is not taken for it: a file merely named netfence
 * could be anything) and its arguments run `hook` with that stage, or with none (the stage then
 * comes from the state). Anything else there (`netfence version`, `hook poststop`) does not
 * fence, and skipping the wrapper's own hook for it would leave the container unfenced.
 */
static bool is_netfence_hook(json_t *hook, const char *stage, const struct stat *self)
{
	const char *path = json_string_value(json_object_get(hook, "path"));
	json_t *args = json_object_get(hook, "args");
	size_t n = json_array_size(args);
	struct stat st;

	if (!path || stat(path, &st) < 0 || st.st_dev != self->st_dev || st.st_ino != self->st_ino)
		return false;
	for (size_t i = 1; i < n; i++) {
		const char *a = json_string_value(json_array_get(args, i));

		if (!a || strcmp(a, "hook") != 0)
			continue;
		if (i + 1 == n)
			return true;
		a = json_string_value(json_array_get(args, i + 1));
		return a && strcmp(a, stage) == 0;
	}
	return false;
}

/* Whether hooks[stage] already runs netfence's hook for that stage. */
static bool has_netfence_hook(json_t *hooks, const char *stage, const struct stat *self)
{
	json_t *hook;
	size_t i;

	json_array_foreach(json_object_get(hooks, stage), i, hook)
	{
		if (is_netfence_hook(hook, stage, self))
			return true;
	}
	return false;
}

static json_t *hook_entry(const char *self_path, const char *config, const char *stage)
{
	json_t *args = json_array();

	if (!args)
		return NULL;
	json_array_append_new(args, json_string("netfence"));
	if (config) {
		json_array_append_new(args, json_string("--config"));
		json_array_append_new(args, json_string(config));
	}
	json_array_append_new(args, json_string("hook"));
	json_array_append_new(args, json_string(stage));
	if (json_array_size(args) != (config ? 5u : 3u)) {
		json_decref(args);
		return NULL;
	}
	return json_pack("{s:s, s:o}", "path", self_path, "args", args);
}

/* Add one hook to hooks[stage], first or last. */
static int add_hook(json_t *hooks, const char *stage, json_t *entry, bool first)
{
	json_t *list = json_object_get(hooks, stage);

	if (!entry)
		return -ENOMEM;
	if (!list) {
		list = json_array();
		if (!list || json_object_set_new(hooks, stage, list) < 0) {
			json_decref(entry);
			return -ENOMEM;
		}
	}
	if (!json_is_array(list)) {
		json_decref(entry);
		return -EINVAL;
	}
	if ((first ? json_array_insert_new(list, 0, entry) : json_array_append_new(list, entry)) <
	    0)
		return -ENOMEM;
	return 0;
}

/* Replace path with doc, as the same mode and owner: a temporary file renamed over it. */
static int write_atomic(const char *path, json_t *doc, struct nf_err *err)
{
	char tmp[PATH_MAX];
	struct stat st;
	char *text;
	int fd, r;

	if (stat(path, &st) < 0)
		return nf_err_set(err, -errno, "%s: %s", path, strerror(errno));
	if (snprintf(tmp, sizeof(tmp), "%s.netfence-XXXXXX", path) >= (int)sizeof(tmp))
		return nf_err_set(err, -ENAMETOOLONG, "%s: path too long", path);
	text = json_dumps(doc, JSON_COMPACT);
	if (!text)
		return nf_err_nomem(err);
	fd = mkstemp(tmp);
	if (fd < 0) {
		r = -errno;
		nf_err_set(err, r, "cannot create %s: %s", tmp, strerror(errno));
		free(text);
		return r;
	}
	r = nf_write_all(fd, text, strlen(text));
	if (r == 0 && (fchmod(fd, st.st_mode & 07777) < 0 || fchown(fd, st.st_uid, st.st_gid) < 0 ||
		       fsync(fd) < 0))
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		nf_err_set(err, r, "cannot write %s: %s", path, strerror(-r));
		unlink(tmp);
	}
	free(text);
	return r;
}

/*
 * Add the hooks to the bundle's config.json if the container asks for a fence. Returns 1 when
 * it did, 0 when there was nothing to do, -errno with a message in err.
 */
static int patch_bundle(const struct nf_config *cfg, const char *cfg_path,
			const struct nf_wrapper_args *a, struct nf_err *err)
{
	char path[PATH_MAX], self_path[PATH_MAX];
	const char *file = a->config ? a->config : "config.json";
	json_t *spec = NULL, *hooks;
	struct stat self;
	bool attach, detach;
	size_t len;
	char *buf;
	ssize_t n;
	int r;

	if (file[0] == '/')
		r = snprintf(path, sizeof(path), "%s", file);
	else
		r = snprintf(path, sizeof(path), "%s/%s", a->bundle ? a->bundle : ".", file);
	if (r >= (int)sizeof(path))
		return nf_err_set(err, -ENAMETOOLONG, "bundle path too long");
	r = nf_read_regular_file(path, NF_OCI_CONFIG_MAX, &buf, &len);
	if (r < 0)
		return nf_err_set(err, r, "cannot read %s: %s", path,
				  r == -EFBIG ? "larger than 4 MiB" : strerror(-r));
	/* Read as the hook will read it: the same checks, the same messages. */
	r = nf_json_load_object(buf, len, NF_OCI_CONFIG_MAX, &spec, err);
	free(buf);
	if (r < 0)
		return nf_err_prefix(err, "%s", path);
	if (!wants_fence(cfg, spec)) {
		json_decref(spec);
		return 0;
	}
	/* The hook is this very file, whatever name or link the runtime used to start it. */
	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n < 0 || n >= (ssize_t)sizeof(self_path) - 1 || stat("/proc/self/exe", &self) < 0) {
		r = n < 0 ? -errno : -ENAMETOOLONG;
		nf_err_set(err, r, "cannot find the netfence binary: %s", strerror(-r));
		goto out;
	}
	self_path[n] = '\0';
	hooks = json_object_get(spec, "hooks");
	if (!hooks) {
		hooks = json_object();
		if (!hooks || json_object_set_new(spec, "hooks", hooks) < 0) {
			r = nf_err_nomem(err);
			goto out;
		}
	}
	if (!json_is_object(hooks)) {
		r = nf_json_type_error(err, "/hooks", hooks, "an object");
		nf_err_prefix(err, "%s", path);
		goto out;
	}
	/* Each stage once: an attach hook only where none attaches yet (a netfence hook at any
	 * other stage does not fence), a poststop only where none detaches. */
	attach = !has_netfence_hook(hooks, "createRuntime", &self) &&
		 !has_netfence_hook(hooks, "prestart", &self);
	detach = !has_netfence_hook(hooks, "poststop", &self);
	if (!attach && !detach) {
		r = 0;
		goto out;
	}
	/* The fence goes on before any other createRuntime hook runs. */
	r = 0;
	if (attach)
		r = add_hook(hooks, "createRuntime",
			     hook_entry(self_path, cfg_path, "createRuntime"), true);
	if (r == 0 && detach)
		r = add_hook(hooks, "poststop", hook_entry(self_path, cfg_path, "poststop"), false);
	if (r < 0) {
		nf_err_set(err, r, "%s: %s", path,
			   r == -EINVAL ? "/hooks holds a stage that is not an array"
					: "out of memory");
		goto out;
	}
	r = write_atomic(path, spec, err);
	if (r == 0)
		r = 1;
out:
	json_decref(spec);
	return r;
}

/* The real runtime: the host config's runtimes.<name>, else <name> in PATH but not this file. */
static int find_runtime(const struct nf_config *cfg, const char *name, char *ret, size_t retlen)
{
	const char *dirs = getenv("PATH"), *configured = nf_config_runtime(cfg, name);
	struct stat self, st;

	if (stat("/proc/self/exe", &self) < 0)
		return -errno;
	if (configured) {
		/* A runtimes entry naming the wrapper itself would exec it forever. */
		if (stat(configured, &st) == 0 && st.st_dev == self.st_dev &&
		    st.st_ino == self.st_ino)
			return -ELOOP;
		snprintf(ret, retlen, "%s", configured);
		return 0;
	}
	if (!dirs || !*dirs)
		dirs = DEFAULT_PATH;
	while (*dirs) {
		size_t len = strcspn(dirs, ":");

		if (len > 0 &&
		    (size_t)snprintf(ret, retlen, "%.*s/%s", (int)len, dirs, name) < retlen &&
		    stat(ret, &st) == 0 && S_ISREG(st.st_mode) && access(ret, X_OK) == 0 &&
		    !(st.st_dev == self.st_dev && st.st_ino == self.st_ino))
			return 0;
		dirs += len;
		if (*dirs == ':')
			dirs++;
	}
	return -ENOENT;
}

int nf_wrapper_main(int argc, char **argv)
{
	const char *runtime = nf_wrapper_runtime(argv[0]);
	const char *cfg_path = getenv(NF_WRAPPER_ENV);
	char real[PATH_MAX];
	struct nf_wrapper_args a;
	struct nf_config cfg = {};
	struct nf_err err;
	bool creates;
	int r;

	prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (cfg_path && !*cfg_path)
		cfg_path = NULL;
	r = nf_wrapper_parse_args(argc, argv, &a);
	creates = r == 0 && nf_wrapper_creates(argc, argv, &a);
	r = nf_config_load(cfg_path, cfg_path != NULL, &cfg, &err);
	if (r < 0) {
		/*
		 * Without its config the wrapper cannot know whether a container is to be
		 * fenced: it refuses to create one, but still lets the runtime stop and delete.
		 */
		if (creates) {
			fprintf(stderr, "%s: config %s: %s\n", prog,
				cfg_path ? cfg_path : NF_CONFIG_PATH, err.msg);
			return 1;
		}
		nf_config_defaults(&cfg);
	}
	if (creates) {
		r = patch_bundle(&cfg, cfg_path, &a, &err);
		if (r < 0) {
			fprintf(stderr, "%s: refusing to create the container unfenced: %s\n", prog,
				err.msg);
			nf_config_free(&cfg);
			return 1;
		}
	}
	r = find_runtime(&cfg, runtime, real, sizeof(real));
	nf_config_free(&cfg);
	if (r == -ELOOP) {
		fprintf(stderr, "%s: runtimes.%s in the host config names this wrapper itself\n",
			prog, runtime);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr,
			"%s: cannot find the runtime '%s' in PATH (or set runtimes.%s in the host "
			"config)\n",
			prog, runtime, runtime);
		return 1;
	}
	argv[0] = real;
	execv(real, argv);
	fprintf(stderr, "%s: cannot run %s: %s\n", prog, real, strerror(errno));
	return 1;
}
