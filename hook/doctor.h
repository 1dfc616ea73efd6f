/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `netfence doctor`: the checks that find a node set up so that containers would run unfenced
 * without a word, or not run at all. Each check is one function that adds findings: a
 * severity, a stable id ("bpffs.not-mounted"), what is wrong and the fix.
 *
 * Every file a check reads is a host path under d->root ("" for the real root, or a tree a
 * test built), mountinfo included (<root>/proc/self/mountinfo). The kernel probes and the
 * privilege check look at the running kernel and process, whatever the root.
 *
 * doctor.c holds the findings, the file helpers, and the node checks (mounts, kernel,
 * privileges, host config, policies); doctor_engines.c the engines' wiring (hooks.d, CDI,
 * containerd). The parts that judge text are exported for the unit tests.
 */
#ifndef NETFENCE_DOCTOR_H
#define NETFENCE_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum nf_severity {
	NF_SEV_INFO = 0,    /* worth knowing; not a problem */
	NF_SEV_WARNING = 1, /* containers may run unfenced or weaker than meant */
	NF_SEV_ERROR = 2,   /* containers run unfenced, or fail to start */
};

struct nf_finding {
	int severity; /* enum nf_severity */
	char *id;     /* stable: "<area>.<problem>" */
	char *what;   /* one line: what is wrong, where */
	char *fix;    /* one line: what to do; may be NULL */
};

struct nf_doctor {
	const char *root;	 /* host root prefix, "" for / */
	const char *config_path; /* host path of the host config; NULL: NF_CONFIG_PATH */
	const char *bpffs_root;	 /* --bpffs-root, or NULL for the config's */
	bool config_loaded;	 /* cfg holds the host config (else its defaults) */
	struct nf_config cfg;
	/* Where netfence is wired, as the engine checks find it. */
	bool hooksd_podman, hooksd_crio; /* a netfence hooks.d file the engine reads */
	bool cdi_spec;			 /* a netfence CDI spec in a CDI directory */
	struct nf_finding *v;
	size_t n, cap;
	bool oom; /* a finding could not be stored */
};

/* d zeroed except root (and config_path, bpffs_root); runs every check. */
void nf_doctor_run(struct nf_doctor *d);
void nf_doctor_free(struct nf_doctor *d);

/* Add a finding; fix may be NULL. */
void nf_doctor_add(struct nf_doctor *d, int severity, const char *id, const char *fix,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The number of findings at or above severity. */
size_t nf_doctor_count(const struct nf_doctor *d, int severity);

/* The first finding with id, or NULL (for the tests). */
const struct nf_finding *nf_doctor_find(const struct nf_doctor *d, const char *id);

/* "<root><path>" into buf; -ENAMETOOLONG if it does not fit. */
int nf_doctor_path(const struct nf_doctor *d, const char *path, char *buf, size_t size);

/* Whether the directory <root><path> exists. */
bool nf_doctor_is_dir(const struct nf_doctor *d, const char *path);

/*
 * Check that host path path (named in where, e.g. "hooks.d file X: hook.path") is netfence:
 * present, a regular executable file, writable only by root, and running it with `version`
 * prints "netfence ..." (skipped when it is the very file running the doctor). Findings get
 * ids "<area>.path-missing", ".path-not-executable", ".path-writable", ".path-not-netfence".
 * Returns true when it is netfence.
 */
bool nf_doctor_check_binary(struct nf_doctor *d, const char *area, const char *where,
			    const char *path);

/* --- pure judges over text, for the checks and the unit tests ---------------------------- */

/*
 * In a mountinfo document, the filesystem type of the mount that holds path (the longest mount
 * point that is path or one of its parents) into type; -ENOENT when no mount holds it.
 */
int nf_doctor_mount_type(const char *mountinfo, const char *path, char *type, size_t size);

/*
 * The cgroup2 mount (of the hierarchy's root) of a mountinfo document into mnt ("" if none),
 * and whether cgroup v1 hierarchies are mounted beside it.
 */
void nf_doctor_cgroup_mounts(const char *mountinfo, char *mnt, size_t size, bool *ret_v1);

/*
 * Whether an oci-hooks "when" object (JSON text of the whole hooks.d file) makes the hook run
 * for a container carrying the given annotation: always, or an annotations pattern pair whose
 * key and value patterns (POSIX extended regexes, as close to Go's as these patterns need)
 * both match.
 */
bool nf_doctor_hooks_matches(const char *json, const char *annotation, const char *value);

/* The checks of one hooks.d document (text), named file; returns true when it fences. */
bool nf_doctor_check_hooks_doc(struct nf_doctor *d, const char *file, const char *text, size_t len);

/* The checks of containerd's config.toml (text); returns true when a runtime runs netfence
 * with the pod annotations passed through, or CDI is enabled (then cdi_enabled is set). */
bool nf_doctor_check_containerd_doc(struct nf_doctor *d, const char *file, const char *text,
				    size_t len, bool *cdi_enabled);

/* Whether a containerd annotation pattern list (filepath.Match globs) passes name. */
bool nf_doctor_glob_passes(char *const *patterns, size_t n, const char *name);

/* The engines' checks (doctor_engines.c). */
void nf_doctor_check_hooksd(struct nf_doctor *d);
void nf_doctor_check_cdi(struct nf_doctor *d);
void nf_doctor_check_containerd(struct nf_doctor *d);

#endif
