/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A process's cgroup v2 directory (docs/design.md): the `0::` line of
 * /proc/<pid>/cgroup, under the cgroup2 mount listed in /proc/self/mountinfo (/sys/fs/cgroup on
 * unified hosts, /sys/fs/cgroup/unified on hybrid ones).
 *
 * The proc root and the mountinfo path are parameters so that tests point them at a fake tree;
 * for the same reason nf_cgroup_resolve() checks only that the directory exists, and the caller
 * then opens it with nf_cgroup_open(), which checks that it is on a cgroup2 filesystem.
 *
 * Messages are one line, without trailing newline, with the values quoted, e.g.
 *   pid 1234: cgroup '/' is the root cgroup, refusing to fence it
 */
#ifndef NETFENCE_CGROUP_H
#define NETFENCE_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NF_CGROUP_PROC_MAX (64 * 1024) /* most bytes read from /proc/<pid>/cgroup */

/*
 * Find the cgroup2 mount point in a mountinfo file (e.g. "/proc/self/mountinfo"). Only mounts of
 * the hierarchy's root (root field "/") count, since the paths of /proc/<pid>/cgroup are relative
 * to it; of those, /sys/fs/cgroup is preferred, else the first listed. Octal escapes (\040) are
 * decoded. Returns 0 with a new string in *ret_mount, -ENOENT if there is none, or -errno from
 * reading the file.
 */
int nf_cgroup_find_mount(const char *mountinfo_path, char **ret_mount);

/*
 * Every cgroup2 mount point in a mountinfo file, whatever part of the hierarchy it shows (a
 * bind of a subtree exposes that subtree); with writable_only, only those neither the mount nor
 * the superblock of which is read-only. Returns 0 with *ret_v (free with nf_strv_free(), may be
 * NULL when *ret_n is 0), or -errno.
 */
int nf_cgroup_list_mounts(const char *mountinfo_path, bool writable_only, char ***ret_v,
			  size_t *ret_n);

/*
 * Parse the content of /proc/<pid>/cgroup and return the path of its `0::` line (cgroup v2) as a
 * new string in *ret_path. Fails with
 *   -ENOENT  no `0::` line (a cgroup v1 only host),
 *   -EXDEV   the path starts with "/.." (outside the reader's cgroup namespace),
 *   -EPERM   the path is "/" (the caller refuses the root cgroup),
 *   -EINVAL  anything else unexpected: two `0::` lines, a path that is not absolute, holds a NUL,
 *            an empty, "." or ".." component, or ends in " (deleted)".
 */
int nf_cgroup_parse_proc(const char *buf, size_t len, char **ret_path);

/*
 * The cgroup v2 directory of process pid: reads <proc_root>/<pid>/cgroup (NULL: "/proc") and
 * joins its `0::` path to the mount found in mountinfo_path (NULL: "/proc/self/mountinfo").
 * Checks that the result is a directory, not that it is on cgroup2 (see nf_cgroup_open()).
 * Returns 0 with a new string in *ret_dir, or -errno as nf_cgroup_parse_proc(), -ENOENT and
 * -ENOTDIR for a missing directory, -EFBIG for an oversized /proc file, with a message in err.
 */
int nf_cgroup_resolve(const char *proc_root, const char *mountinfo_path, int pid, char **ret_dir,
		      char *err, size_t errlen);

#define NF_CGROUP_ESCAPE_PIDS 256 /* most processes nf_cgroup_escapable() looks at */

/*
 * Whether a process in cgroup dir (its cgroup.procs, the first NF_CGROUP_ESCAPE_PIDS) could get
 * out of its fence: move itself out, as uid 0 (or CAP_DAC_OVERRIDE) in netfence's or the
 * initial cgroup namespace with a writable cgroup2 mount in its mount namespace, since
 * cgroup.procs is guarded by file permissions alone; or, in the host's PID and user
 * namespaces, ptrace a process outside (CAP_SYS_PTRACE, or ptrace_scope 0: see
 * nf_ptrace_scope()). 1 with the reason (one clause naming the pid) in why, 0 when none was
 * found (which says nothing of processes that join later), or -errno.
 */
int nf_cgroup_escapable(const char *proc_root, const char *dir, int ptrace_scope, char *why,
			size_t size);

/*
 * Open a cgroup directory (O_RDONLY | O_DIRECTORY | O_CLOEXEC) for attaching programs to it, and
 * check on that same fd that it is on a cgroup2 filesystem (-EMEDIUMTYPE otherwise). Returns the
 * fd, or -errno with a message in err.
 */
int nf_cgroup_open(const char *dir, char *err, size_t errlen);

/*
 * The cgroup id, the inode number of its directory (what bpf_get_current_cgroup_id() returns on
 * 64-bit hosts). Stored with a container's state, it tells a cgroup from another one later
 * created under the same name. 0 or -errno.
 */
int nf_cgroup_id(const char *dir, uint64_t *ret_id);

#endif
