#!/bin/bash
# netfence with real crun containers: the basics of test-runc.sh with crun. Configs carry no
# linux.resources.devices rules: crun loads its device filter after raising RLIMIT_MEMLOCK,
# which needs CAP_SYS_RESOURCE that some sandboxes withhold. crun discards a hook's output
# unless the run.oci.hooks.stderr annotation names a file; the invalid-policy case uses it.
# Needs root; exits 77 when it cannot run.
#
#   integration/test-crun.sh [REGEX...]   (the cases to run, or CASES=REGEX; default all)
set -u

# shellcheck source=integration/lib-runtime.sh
. "$(dirname "$0")/lib-runtime.sh"

# crun sends pid 0 at poststop; detach must work from the pins alone.
case_poststop_pid0()
{
	local id=crun-poststop
	rt_start_fenced "$id" policy="$POLICY" || return
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	rt_delete_clean "$id"
}

# poststart comes after the container's process started (crun let it connect before the
# fence): refused with a line naming the right stages, never attached.
case_poststart_refused()
{
	local id=crun-poststart out
	rt_bundle "$T/bundles/$id" "$id" policy="$POLICY" hooks=poststart \
		annotation="run.oci.hooks.stderr=$T/logs/$id.hook-stderr" || return
	rt_run "$id" "$T/bundles/$id"
	out=$(cat "$T/logs/$id.hook-stderr" 2>/dev/null)
	case $out in
	"netfence: container '$id': hook stage 'poststart' is too late"*"createRuntime or prestart"*) ;;
	*) fail "$id: no refusal naming the stages: $(printf '%s' "$out" | tr '\n' ' ' | cut -c 1-300)" ;;
	esac
	[ "$(rt_nf_progs_on "$RT_CG2$RT_PARENT/$id")" = 0 ] ||
		fail "$id: netfence programs attached at poststart"
	rt_delete "$id"
	expect_nothing_left "$id"
}

# crun --cgroup-manager=disabled leaves the container in the cgroup of its caller (here a test
# cgroup of its own): refused, and that cgroup is not fenced.
case_no_own_cgroup()
{
	local id=crun-no-cgroup cg="$RT_CG2$RT_PARENT/caller" out
	mkdir -p "$cg"
	rt_bundle "$T/bundles/$id" "$id" policy="$POLICY" \
		annotation="run.oci.hooks.stderr=$T/logs/$id.hook-stderr" || return
	if (echo "$BASHPID" >"$cg/cgroup.procs" &&
		rt_cli --cgroup-manager=disabled create --bundle "$T/bundles/$id" "$id" \
			</dev/null >"$T/logs/$id.create" 2>&1); then
		fail "$id: crun created it"
	fi
	out=$(cat "$T/logs/$id.hook-stderr" 2>/dev/null)
	case $out in
	"netfence: container '$id': pid "*"is not the container's own but the runtime's"*) ;;
	*) fail "$id: no refusal naming the shared cgroup: $(printf '%s' "$out" | tr '\n' ' ' |
		cut -c 1-300) $(tail -n 1 "$T/logs/$id.create")" ;;
	esac
	[ "$(rt_nf_progs_on "$cg")" = 0 ] ||
		fail "$id: netfence programs attached to the caller's cgroup $cg"
	rt_cli --cgroup-manager=disabled delete -f "$id" >/dev/null 2>&1
	expect_nothing_left "$id"
}

TABLE="
host-createRuntime       | case_host_createRuntime
host-prestart            | case_host_prestart
host-nostage             | case_host_nostage
private-loopback-default | case_private_loopback_default
private-loopback-policy  | case_private_loopback_policy
invalid-policy           | case_invalid_policy
unfenced                 | case_unfenced
poststop-pid0            | case_poststop_pid0
poststart-refused        | case_poststart_refused
no-own-cgroup-refused    | case_no_own_cgroup
crash-then-gc            | case_crash_gc
config-example           | case_config_example
store-empty              | case_store_empty
"

rt_setup crun
rt_require_cmd crun ss
rt_use crun
rt_build_rootfs "$T/rootfs"

rt_bundle "$T/bundles/smoke" crun-smoke hooks=none devices=0 || skip "cannot write a bundle"
if ! rt_run crun-smoke "$T/bundles/smoke" ||
	[ "$(rt_exec crun-smoke /bin/client tcp 127.0.0.1 1)" != ECONNREFUSED ]; then
	skip "crun cannot run a container here: $(tail -n 1 "$T/logs/crun-smoke.create")"
fi
rt_delete crun-smoke

rt_policies
# Every bundle of this suite is written without device rules.
# shellcheck disable=SC2034 # read by rt_bundle
RT_BUNDLE_DEFAULTS="devices=0"
echo "crun $(crun --version | head -n 1 | awk '{ print $3 }'), cgroup v2 at $RT_CG2," \
	"ports: allowed $PA $PA2 (tcp) $PU (udp), denied $PD"

run_cases "$TABLE"
test_summary
