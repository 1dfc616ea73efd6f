/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Least privilege: netfence keeps CAP_BPF and CAP_NET_ADMIN (CAP_SYS_ADMIN instead of CAP_BPF
 * on kernels that predate it) and drops every other capability, from every set including the
 * bounding set, before it reads any input.
 */
#ifndef NETFENCE_CAPS_H
#define NETFENCE_CAPS_H

#include <stdbool.h>

#include "err.h"

/*
 * Kernels before 5.11 charge BPF maps and programs to RLIMIT_MEMLOCK (64 KiB by default), and
 * raising it needs CAP_SYS_RESOURCE, which nf_caps_drop() drops: raise it to unlimited first,
 * for this process only. Done on every kernel: one system call is cheaper than libbpf's probe
 * (loading a program), and later kernels do not read the limit for BPF, nor does netfence
 * mlock() or execute anything after it.
 */
void nf_caps_raise_memlock(void);

/*
 * 0 on success; -EPERM with a message in err when the needed capabilities are missing.
 * standby: CAP_SYS_ADMIN and CAP_SYS_PTRACE, where held, stay permitted but not effective, for
 * the seeding of name rules alone (hook/seed.c: a child enters the container's network
 * namespace with them and drops them); nf_caps_drop_standby() drops them from the parent.
 */
int nf_caps_drop(struct nf_err *err, bool standby);
/* Drop the standby capabilities: keep CAP_BPF and CAP_NET_ADMIN, effective. */
int nf_caps_drop_standby(void);
/* In the seeding child: make the standby capabilities effective (-EPERM when not held). */
int nf_caps_raise_standby(void);
/* In the seeding child, once in the namespace: no capability at all, in any set. */
int nf_caps_clear(void);
/* After nf_caps_drop(), for a process that only reads BPF maps: CAP_BPF (or CAP_SYS_ADMIN)
 * alone is kept. The bounding set already holds no more than the two. */
int nf_caps_keep_bpf(struct nf_err *err);

#endif
