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

static const cap_value_t standby_caps[2] = { CAP_SYS_ADMIN, CAP_SYS_PTRACE };

/* keep (effective and permitted) and, with standby, what is held of standby_caps (permitted
 * only). */
static int caps_set(const cap_value_t keep[2], bool standby)
{
	cap_t now = standby ? cap_get_proc() : NULL, want = cap_init();
	int r = 0;

	if (!want || (standby && !now)) {
		r = -ENOMEM;
		goto out;
	}
	if (cap_set_flag(want, CAP_PERMITTED, 2, keep, CAP_SET) < 0 ||
	    cap_set_flag(want, CAP_EFFECTIVE, 2, keep, CAP_SET) < 0)
		r = -errno;
	for (int i = 0; standby && r == 0 && i < 2; i++)
		if (caps_have(now, standby_caps[i]) &&
		    cap_set_flag(want, CAP_PERMITTED, 1, &standby_caps[i], CAP_SET) < 0)
			r = -errno;
	if (r == 0 && cap_set_proc(want) < 0)
		r = -errno;
out:
	cap_free(now);
	cap_free(want);
	return r;
}

static void keep_set(cap_value_t keep[2])
{
	/* Kernels without CAP_BPF (< 5.8) gate BPF behind CAP_SYS_ADMIN. */
	keep[0] = CAP_IS_SUPPORTED(CAP_BPF) ? CAP_BPF : CAP_SYS_ADMIN;
	keep[1] = CAP_NET_ADMIN;
}

int nf_caps_drop_standby(void)
{
	cap_value_t keep[2];

	keep_set(keep);
	return caps_set(keep, false);
}

int nf_caps_raise_standby(void)
{
	cap_t caps = cap_get_proc();
	int r = 0;

	if (!caps)
		return -ENOMEM;
	if (!caps_have(caps, standby_caps[0]) || !caps_have(caps, standby_caps[1]))
		r = -EPERM;
	else if (cap_set_flag(caps, CAP_EFFECTIVE, 2, standby_caps, CAP_SET) < 0 ||
		 cap_set_proc(caps) < 0)
		r = -errno;
	cap_free(caps);
	return r;
}

int nf_caps_clear(void)
{
	cap_t none = cap_init();
	int r = 0;

	if (!none)
		return -ENOMEM;
	if (cap_set_proc(none) < 0)
		r = -errno;
	cap_free(none);
	return r;
}

int nf_caps_drop(struct nf_err *err, bool standby)
{
	cap_value_t keep[2];
	cap_t now;
	int r = 0;

	keep_set(keep);
	/* no standby where CAP_SYS_ADMIN is kept anyway (no CAP_BPF): no name rules there */
	standby = standby && keep[0] == CAP_BPF;

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

	r = caps_set(keep, standby);
	if (r < 0)
		nf_err_set(err, r, "cannot drop capabilities: %s", strerror(-r));
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
