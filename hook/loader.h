/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The BPF side of a fence: load the embedded programs with a compiled policy (or find them
 * loaded for another fence with the same one), attach them to a cgroup with bpf_link, and pin
 * links and maps in a bpffs directory. Also reads back what a pin directory holds (counters,
 * the cgroup its links are attached to).
 */
#ifndef NETFENCE_LOADER_H
#define NETFENCE_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include "compile.h"

/* Names of the pins in a fence's directory. */
#define NF_PIN_COUNTERS	     "map_counters"
#define NF_PIN_EVENTS	     "map_events" /* the fence's own ring */
#define NF_PIN_RINGS	     "map_rings"  /* where the programs find it */
#define NF_PIN_FIRST_LINK    "link_connect4"
#define NF_PIN_FENCES	     "map_fences"	  /* the per-fence info: whose programs count */
#define NF_PIN_RODATA	     "map_rodata"	  /* the set's read-only data: its tags */
#define NF_PIN_LEARNED	     "map_learned"	  /* name rules: the addresses the fence learned */
#define NF_PIN_LEARNED_TABLE "map_learned_fences" /* and the set's table of such maps */
#define NF_PIN_PORTSETS	     "map_portsets"	  /* name rules: the port sets learned ones name */
#define NF_PIN_QNAMES	     "map_qnames"	  /* name rules: the names that taught them */
#define NF_PIN_NAMES_LINK    "link_dns_answer"	  /* linked only for a policy with name rules */

struct nf_load_opts {
	const struct nf_compiled *compiled;
	int cgroup_fd;
	uint64_t cgroup_id;
	const char *root;	     /* the bpffs root: shared program sets live under it */
	const char *pin_dir;	     /* an existing, empty directory on bpffs */
	unsigned int events_per_sec; /* per fence; 0 disables events */
	/* The counters of the fence being replaced, to continue from, and the map they are in;
	 * NULL for a new fence, which starts from zero. */
	const uint64_t *carry;
	uint32_t carry_map_id;
	const char *prev_dir; /* the pins of the fence being replaced, NULL for none */
};

/*
 * Link the programs for the compiled policy to the cgroup and pin the links and the fence's
 * maps in pin_dir. The programs are those already loaded for another fence with the same
 * policy and settings when there is one (loader.c), else loaded now and kept for the next.
 * The links stand next to whatever is already on the cgroup (BPF_F_ALLOW_MULTI semantics of
 * bpf_link), so a previous fence stays in force until its own links are released. On failure
 * nothing stays attached and nothing stays pinned in pin_dir.
 */
int nf_loader_attach(const struct nf_load_opts *o, struct nf_err *err);

/*
 * Hand the counting and the events of the fence's cgroup over to the programs pinned in
 * pin_dir (bpf/netfence.h: the owner). A replacement's new programs judge from the moment they
 * are linked but count only from here on: call it once the new fence is the one in force, before
 * the old one's links are released. Fences pinned by an older netfence have no owner: 0. Also
 * where a replacement is dropped: the fence in force gets back its names tag and its map of
 * learned addresses, which the replacement's attach had switched (bpf/netfence.h: name rules).
 */
int nf_loader_hand_over(const char *pin_dir);

/* 1 when the fence pinned in cur_dir already runs the programs nf_loader_attach() would link
 * for o, on o's cgroup: linking them again would only run them twice for a while (and count
 * twice). 0 otherwise. */
int nf_loader_in_force(const struct nf_load_opts *o, const char *cur_dir);

/* Sum of the fence's per-CPU counters pinned in pin_dir (enum nf_counter order), and the id of
 * the map they are in (ret_map_id may be NULL). */
int nf_loader_counters(const char *pin_dir, uint64_t ret[NF_CNT_COUNT], uint32_t *ret_map_id);

/* The id of the cgroup the fence's links are attached to (0 once that cgroup is gone) and of
 * the program of its first link; either pointer may be NULL. */
int nf_loader_link_info(const char *pin_dir, uint64_t *ret_cgroup_id, uint32_t *ret_prog_id);
int nf_loader_cgroup_id(const char *pin_dir, uint64_t *ret_id);

/* An fd of the fence's events ring buffer pinned in pin_dir, and the ring's map id (an older
 * netfence shared one between the fences of a program set). */
int nf_loader_open_events(const char *pin_dir, uint32_t *ret_map_id);

/*
 * The tables of events rings (nf_rings) keep a fence's entry, and so its ring, after the fence
 * is detached or removed: every change of a table waits for an RCU grace period, which the hook
 * does not pay at detach. The entries of fences gone are taken out by `netfence gc` and, when a
 * table is full, by the attach that needs room.
 */
struct nf_ring_ref {
	uint64_t cgroup_id;
	uint32_t ring_id; /* map id */
};

/* Delete from the table of rings fd every entry (cgroup id, ring) that keep[0..n) does not
 * hold; the number deleted in *ret_deleted (may be NULL). */
int nf_loader_purge_table(int fd, const struct nf_ring_ref *keep, size_t n, size_t *ret_deleted);

/* Purge every set's table under root of the entries no fence pinned there holds: those of
 * fences detached or removed, and of fences whose cgroup is gone. Also the tables of the fences'
 * maps of learned addresses (name rules), the same way. Caller holds the store lock. */
int nf_loader_purge_rings(const char *root);

/* Take the links pinned in pin_dir off their cgroup (done when this returns), unpin everything
 * in it and remove the directory. */
int nf_loader_unpin(const char *pin_dir);

/* Unpin the shared program sets under root whose first program is none of used (the program
 * ids of the fences' first links, nf_loader_link_info). */
int nf_loader_prune(const char *root, const uint32_t *used, size_t n);

/* The key of the shared program set (<root>/@programs/<key>) whose programs the fence pinned in
 * pin_dir runs; -ENOENT when they are its own (loaded while another set held its key, or by an
 * older netfence). */
int nf_loader_program_set(const char *root, const char *pin_dir, char *key, size_t size);

/* An address a fence with name rules learned (bpf/netfence.h: name rules), not yet expired. */
struct nf_learned_addr {
	uint8_t addr[16]; /* IPv6 form, IPv4 mapped; network order */
	uint64_t expires_in_ms;
	char name[512]; /* the question name that taught it, text form; "" when not known */
};

/* The addresses the fence pinned in pin_dir has learned, in *ret (free()); -ENOENT for a fence
 * without name rules. */
int nf_loader_learned(const char *pin_dir, struct nf_learned_addr **ret, size_t *ret_n);

/* One learned address, as the programs write it (bpf/netfence.h: name rules). */
struct nf_learned_entry {
	uint64_t cgroup_id;
	uint64_t netns;	  /* the cookie of the network namespace whose connects it opens */
	uint8_t addr[16]; /* IPv6 form, IPv4 mapped; network order */
	uint32_t portset[NF_PROTO_COUNT]; /* port set ids of the set's nf_portsets, per class */
	uint64_t expires_ns;		  /* CLOCK_MONOTONIC */
	const char *name;		  /* the name it is an address of; NULL for none */
};

/* The maps of the fence pinned in pin_dir a learned address goes to (nf_loader_learn). */
struct nf_learned_maps {
	int learned;  /* the fence's own map of learned addresses */
	int qnames;   /* the names they were learned for (show) */
	uint32_t tag; /* the names tag of the fence's set, which its entries carry */
};

/* Open them: 0, or -ENOENT for a fence without name rules; closed again by
 * nf_loader_close_learned(). */
int nf_loader_open_learned(const char *pin_dir, struct nf_learned_maps *m);
void nf_loader_close_learned(struct nf_learned_maps *m);

/*
 * Write e into the learned addresses, and its name beside (for show): what the programs do
 * with an answer. -EINVAL for an address never learned (loopback, link-local, ...:
 * nf_dns_learnable()) or a name that is not one.
 */
int nf_loader_learn(const struct nf_learned_maps *m, const struct nf_learned_entry *e);

/*
 * The ports of port set id (bpf/netfence.h) of the programs the fence pinned in pin_dir runs,
 * as text: "443", "80,8000-8999", "1-65535" for every port, "" for none; cut with "..." at
 * size. For an event, whose port set ids are those of its fence's programs.
 */
int nf_loader_portset_text(const char *pin_dir, uint32_t id, char *buf, size_t size);

/* Route libbpf's messages to the log (warnings as debug: the caller reports failures). */
void nf_loader_init(void);

#endif
