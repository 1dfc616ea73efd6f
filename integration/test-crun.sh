#!/bin/bash
# netfence with real crun containers: the basics of test-runc.sh with crun. Configs carry no
# linux.resources.devices rules: crun loads its device filter after raising RLIMIT_MEMLOCK,
# which needs CAP_SYS_RESOURCE that some sandboxes withhold. crun discards a hook's output
# unless the run.oci.hooks.stderr annotation names a file; the invalid-policy case uses it.
# Needs root; exits 77 when it cannot run.
#
#   integration/test-crun.sh [CASE...]      (default: every case, in table order)
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

CASES="
host-createRuntime        case_host_createRuntime
host-prestart             case_host_prestart
host-nostage              case_host_nostage
private-loopback-default  case_private_loopback_default
private-loopback-policy   case_private_loopback_policy
invalid-policy            case_invalid_policy
unfenced                  case_unfenced
poststop-pid0             case_poststop_pid0
crash-then-gc             case_crash_gc
config-example            case_config_example
store-empty               case_store_empty
"

rt_setup crun
rt_require_cmd crun ss
rt_use crun
rt_build_rootfs "$T/rootfs"

rt_bundle "$T/bundles/smoke" crun-smoke hooks=none devices=0 || rt_skip "cannot write a bundle"
if ! rt_run crun-smoke "$T/bundles/smoke" ||
	[ "$(rt_exec crun-smoke /bin/client tcp 127.0.0.1 1)" != ECONNREFUSED ]; then
	rt_skip "crun cannot run a container here: $(tail -n 1 "$T/logs/crun-smoke.create")"
fi
rt_delete crun-smoke

rt_policies
# Every bundle of this suite is written without device rules.
# shellcheck disable=SC2034 # read by rt_bundle
RT_BUNDLE_DEFAULTS="devices=0"
echo "crun $(crun --version | head -n 1 | awk '{ print $3 }'), cgroup v2 at $RT_CG2," \
	"ports: allowed $PA $PA2 (tcp) $PU (udp), denied $PD"

rt_run_table "$CASES" "$@"
rt_summary
