/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The BPF side of a fence: load the embedded programs with a compiled policy, attach them to a
 * cgroup with bpf_link, and pin links and maps in a bpffs directory. Also reads back what a pin
 * directory holds (counters, the cgroup its links are attached to).
 */
#ifndef NETFENCE_LOADER_H
#define NETFENCE_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include "compile.h"

/* Names of the pins in a fence's directory. */
#define NF_PIN_COUNTERS	  "map_counters"
#define NF_PIN_EVENTS	  "map_events"
#define NF_PIN_FIRST_LINK "link_connect4"

struct nf_load_opts {
	const struct nf_compiled *compiled;
	int cgroup_fd;
	const char *pin_dir;	     /* an existing, empty directory on bpffs */
	unsigned int events_per_sec; /* per fence; 0 disables events */
	int counters_fd;	     /* counters map to keep using (re-attach), or -1 */
};

/*
 * Load, fill, attach and pin. The new programs are attached next to whatever is already on the
 * cgroup (BPF_F_ALLOW_MULTI semantics of bpf_link), so a previous fence stays in force until
 * its own links are released. On failure nothing stays attached and nothing stays pinned.
 */
int nf_loader_attach(const struct nf_load_opts *o, char *err, size_t errlen);

/* Sum of the per-CPU counters pinned in pin_dir (enum nf_counter order). */
int nf_loader_counters(const char *pin_dir, uint64_t ret[NF_CNT_COUNT]);

/* The id of the cgroup the fence's links are attached to; 0 once that cgroup is gone. */
int nf_loader_cgroup_id(const char *pin_dir, uint64_t *ret_id);

/* Unpin everything in pin_dir (links detach once unpinned) and remove the directory. */
int nf_loader_unpin(const char *pin_dir);

/* Route libbpf's messages to the log (warnings as debug: the caller reports failures). */
void nf_loader_init(void);

#endif
