// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "caps.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int caps_have(cap_t caps, cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;

	if (cap_get_flag(caps, cap, CAP_PERMITTED, &v) < 0)
		return 0;
	return v == CAP_SET;
}

void nf_caps_raise_memlock(void)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY }, now;

	/* Without CAP_SYS_RESOURCE (not ours), the hard limit is as far as it goes. */
	if (setrlimit(RLIMIT_MEMLOCK, &unlimited) < 0 && getrlimit(RLIMIT_MEMLOCK, &now) == 0) {
		now.rlim_cur = now.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &now);
	}
}

int nf_caps_drop(struct nf_err *err)
{
	cap_value_t keep[2] = { CAP_BPF, CAP_NET_ADMIN };
	cap_t now, want;
	int r = 0;

	/* Kernels without CAP_BPF (< 5.8) gate BPF behind CAP_SYS_ADMIN. */
	if (!CAP_IS_SUPPORTED(CAP_BPF))
		keep[0] = CAP_SYS_ADMIN;

	now = cap_get_proc();
	if (!now) {
		r = errno ? -errno : -ENOMEM;
		nf_err_set(err, r, "cannot read capabilities: %s", strerror(-r));
		return r;
	}
	if (!caps_have(now, keep[0]) || !caps_have(now, CAP_NET_ADMIN)) {
		nf_err_set(err, -EPERM,
			   "needs %s and CAP_NET_ADMIN to load and attach BPF programs (uid %u); "
			   "rootless operation is not supported",
			   keep[0] == CAP_BPF ? "CAP_BPF" : "CAP_SYS_ADMIN", (unsigned)getuid());
		cap_free(now);
		return -EPERM;
	}
	cap_free(now);

	/* Shrink the bounding set first: it needs CAP_SETPCAP, which the next step drops. One
	 * system call per capability (libcap's cap_drop_bound asks first whether it is there);
	 * EINVAL: a capability this kernel does not know. */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		if (c == keep[0] || c == keep[1])
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM) {
			r = -errno;
			nf_err_set(err, r, "cannot drop capability %d from the bounding set: %s", c,
				   strerror(-r));
			return r;
		}
	}

	want = cap_init();
	if (!want)
		return nf_err_set(err, -ENOMEM, "cannot allocate capabilities");
	if (cap_set_flag(want, CAP_PERMITTED, 2, keep, CAP_SET) < 0 ||
	    cap_set_flag(want, CAP_EFFECTIVE, 2, keep, CAP_SET) < 0 || cap_set_proc(want) < 0) {
		r = -errno;
		nf_err_set(err, r, "cannot drop capabilities: %s", strerror(-r));
	}
	cap_free(want);
	if (r == 0)
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return r;
}

int nf_caps_keep_bpf(struct nf_err *err)
{
	cap_value_t keep = CAP_IS_SUPPORTED(CAP_BPF) ? CAP_BPF : CAP_SYS_ADMIN;
	cap_t want;
	int r = 0;

	want = cap_init();
	if (!want)
		return nf_err_set(err, -ENOMEM, "cannot allocate capabilities");
	if (cap_set_flag(want, CAP_PERMITTED, 1, &keep, CAP_SET) < 0 ||
	    cap_set_flag(want, CAP_EFFECTIVE, 1, &keep, CAP_SET) < 0 || cap_set_proc(want) < 0) {
		r = -errno;
		nf_err_set(err, r, "cannot drop capabilities: %s", strerror(-r));
	}
	cap_free(want);
	return r;
}
