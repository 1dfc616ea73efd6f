#!/bin/bash
# netfence with real runc containers: both hook wirings, host and private network
# namespaces, allowed and denied TCP/UDP over IPv4 and IPv6 loopback, errors, and cleanup
# (including a runtime that dies before poststop). Needs root; exits 77 when it cannot run.
#
#   integration/test-runc.sh [REGEX...]   (the cases to run, or CASES=REGEX; default all)
set -u

# shellcheck source=integration/lib-runtime.sh
. "$(dirname "$0")/lib-runtime.sh"

# Docker's default capabilities, and the same without CAP_NET_RAW (docker --cap-drop NET_RAW).
DOCKER_CAPS=CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FSETID,CAP_FOWNER,CAP_MKNOD,CAP_NET_RAW,CAP_SETGID
DOCKER_CAPS=$DOCKER_CAPS,CAP_SETUID,CAP_SETFCAP,CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_SYS_CHROOT
DOCKER_CAPS=$DOCKER_CAPS,CAP_KILL,CAP_AUDIT_WRITE
DOCKER_CAPS_NORAW=${DOCKER_CAPS/CAP_NET_RAW,/}

# --- runc-only cases ---------------------------------------------------------------------

# Host network namespace with "loopback": "allow": loopback passes whatever the rules say.
case_host_loopback_allow()
{
	local id=runc-host-lo-allow
	rt_start_fenced "$id" policy="$POLICY_LO_ALLOW" || return
	expect_probe "$id" tcp 127.0.0.1 "$PD" ok
	expect_probe "$id" tcp 127.0.0.2 "$PA" ECONNREFUSED
	expect_probe "$id" tcp ::1 "$PD" ok
	expect_probe "$id" udp 127.0.0.1 "$PD" ok
	rt_delete_clean "$id"
}

# Audit mode: nothing is refused, would-be denials are counted.
case_audit()
{
	local id=runc-audit
	rt_start_fenced "$id" policy="$POLICY_AUDIT" || return
	expect_probe "$id" tcp 127.0.0.1 "$PD" ok
	expect_probe "$id" udp ::1 "$PD" ok
	expect_probe "$id" tcp 127.0.0.1 "$PA" ok
	[ "$(nf_field "$id" mode)" = audit ] || fail "$id: show: mode is not audit"
	[ "$(nf_field "$id" counters.audited)" -gt 0 ] 2>/dev/null ||
		fail "$id: show: counters.audited is not > 0"
	[ "$(nf_field "$id" counters.denied)" = 0 ] ||
		fail "$id: show: counters.denied is $(nf_field "$id" counters.denied), expected 0"
	rt_delete_clean "$id"
}

# io.netfence.policy-name: the policy comes from <policies_dir>/<name>.json.
case_policy_name()
{
	local id=runc-policy-name
	printf '%s\n' "$POLICY" >"$T/policies/it-web.json"
	rt_start_fenced "$id" policy_name=it-web || return
	expect_probe "$id" tcp 127.0.0.1 "$PA" ok
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	expect_probe "$id" udp ::1 "$PD" EPERM
	rt_delete_clean "$id"
}

# A policy name that is not a file: refused with netfence's message.
case_policy_name_missing()
{
	local id=runc-policy-name-missing
	rt_bundle "$T/bundles/$id" "$id" policy_name=it-nosuch || return
	rt_run "$id" "$T/bundles/$id" && fail "$id: runc started it"
	grep -q "netfence: container '$id'" "$T/logs/$id.create" ||
		fail "$id: no netfence message in runc's output: $(tail -n 2 "$T/logs/$id.create")"
	rt_delete "$id"
	expect_nothing_left "$id"
}

# Both annotations: ambiguous, refused.
case_ambiguous()
{
	local id=runc-ambiguous
	printf '%s\n' "$POLICY" >"$T/policies/it-web.json"
	rt_bundle "$T/bundles/$id" "$id" policy="$POLICY" policy_name=it-web || return
	rt_run "$id" "$T/bundles/$id" && fail "$id: runc started it"
	grep -q "netfence: container '$id'.*ambiguous" "$T/logs/$id.create" ||
		fail "$id: no 'ambiguous' netfence message: $(tail -n 2 "$T/logs/$id.create")"
	rt_delete "$id"
	expect_nothing_left "$id"
}

# fail_mode "open": an invalid policy is logged (syslog; runc shows a hook's stderr only when
# it fails) and the container starts, unfenced.
case_fail_open()
{
	local id=runc-fail-open
	rt_write_config "$T/netfence-open.json" open false
	rt_start_fenced "$id" policy="$POLICY_BAD" config="$T/netfence-open.json" || return
	expect_probe "$id" tcp 127.0.0.1 "$PD" ok
	rt_delete "$id"
	expect_nothing_left "$id"
}

# fail_mode "open" does not undo a soundness refusal: CAP_NET_RAW under raw_sockets deny (the
# policy's default deny) is refused and the container is not started.
case_fail_open_refusal()
{
	local id=runc-fail-open-refusal
	rt_write_config "$T/netfence-open.json" open false
	rt_bundle "$T/bundles/$id" "$id" policy="$POLICY" config="$T/netfence-open.json" \
		caps="$DOCKER_CAPS" || return
	if rt_run "$id" "$T/bundles/$id"; then
		fail "$id: runc started it (fail_mode open turned the refusal into no fence)"
		expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	fi
	grep -q "netfence: container '$id': holds CAP_NET_RAW.*fail_mode open does not start it" \
		"$T/logs/$id.create" ||
		fail "$id: no one-line refusal naming fail_mode: $(tail -n 1 "$T/logs/$id.create")"
	rt_delete "$id"
	expect_nothing_left "$id"
}

# --- the cgroup hierarchy seen from inside ---------------------------------------------------
# Docker's default capabilities without CAP_NET_RAW: no capability that touches BPF, NAT or
# raw sockets. What decides is how /sys/fs/cgroup is mounted.

# CG_MOUNT OPTIONS...: a cgroup mount at /sys/fs/cgroup with the given options.
# expect_refused ID WANT [rt_bundle options...]: runc does not start the container, netfence's
# one line says WANT, and nothing is left.
expect_refused()
{
	local id=$1 want=$2
	shift 2
	rt_bundle "$T/bundles/$id" "$id" policy="$POLICY" "$@" || return
	rt_run "$id" "$T/bundles/$id" && fail "$id: runc started it"
	grep -q "netfence: container '$id': $want" "$T/logs/$id.create" ||
		fail "$id: no refusal saying '$want': $(tail -n 1 "$T/logs/$id.create")"
	rt_delete "$id"
	expect_nothing_left "$id"
}

# ptrace_attack ID PID WANT: from container ID, make process PID connect to the denied port.
ptrace_attack()
{
	local got
	got=$(rt_exec "$1" /bin/client ptrace "$2" 127.0.0.1 "$PD")
	[ "$got" = "$3" ] || fail "$1: the attack gave '$got', expected '$3'"
}

# In the host's PID namespace a container that may ptrace a host process makes it connect for
# it: a victim outside any fence, root without capabilities (what classic ptrace lets a
# container's root trace without CAP_SYS_PTRACE), sleeping until the case kills it.
ptrace_victim()
{
	setpriv --bounding-set=-all --inh-caps=-all "$T/ctclient" sleep 600 &
	PTRACE_VICTIM=$!
	RT_PIDS="$RT_PIDS $PTRACE_VICTIM"
}

ptrace_scope()
{
	cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0
}

case_ptrace_refused()
{
	expect_refused runc-ptrace "holds CAP_SYS_PTRACE in the host's PID namespace" pidns=host \
		caps="$DOCKER_CAPS_NORAW,CAP_SYS_PTRACE"
}

# Accepted as removable: the attack itself, a connect to the denied port from the victim.
case_ptrace_escapes()
{
	local id=runc-ptrace-ok
	[ "$(uname -m)" = x86_64 ] || { case_skip "the ptrace attack is written for x86_64"; return; }
	rt_write_config "$T/netfence-removable.json" closed true
	rt_start_fenced "$id" policy="$POLICY" config="$T/netfence-removable.json" pidns=host \
		caps="$DOCKER_CAPS_NORAW,CAP_SYS_PTRACE" || return
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	[ "$(nf_field "$id" removable)" = True ] ||
		fail "$id: show: removable is '$(nf_field "$id" removable)', expected True"
	ptrace_victim
	ptrace_attack "$id" "$PTRACE_VICTIM" ok
	kill "$PTRACE_VICTIM"
	rt_delete "$id"
	expect_nothing_left "$id"
}

# Without CAP_SYS_PTRACE, classic ptrace (no Yama, or ptrace_scope 0) still lets root trace a
# root process holding no more capabilities than it; Yama's scope 1 and above stop that.
case_ptrace_classic()
{
	local id=runc-ptrace-classic
	[ "$(uname -m)" = x86_64 ] || { case_skip "the ptrace attack is written for x86_64"; return; }
	ptrace_victim
	if [ "$(ptrace_scope)" -gt 0 ]; then
		rt_bundle "$T/bundles/$id" "$id" policy="$POLICY" pidns=host || return
		rt_run "$id" "$T/bundles/$id" ||
			fail "$id: refused under ptrace_scope $(ptrace_scope): $(tail -n 1 "$T/logs/$id.create")"
		ptrace_attack "$id" "$PTRACE_VICTIM" "seize EPERM"
		kill "$PTRACE_VICTIM"
		rt_delete_clean "$id"
		return
	fi
	expect_refused "$id" "shares the host's PID namespace while ptrace is unrestricted" \
		pidns=host
	# What the refusal prevents: the same container accepted as removable reaches the port.
	id=runc-ptrace-classic-ok
	rt_write_config "$T/netfence-removable.json" closed true
	rt_start_fenced "$id" policy="$POLICY" config="$T/netfence-removable.json" pidns=host ||
		return
	ptrace_attack "$id" "$PTRACE_VICTIM" ok
	kill "$PTRACE_VICTIM"
	rt_delete "$id"
	expect_nothing_left "$id"
}

# Joining another container's PID namespace shows it that container's processes: an unfenced
# one connects for it.
case_ptrace_joined_pidns()
{
	local a=runc-ptrace-peer id=runc-ptrace-joined
	rt_bundle "$T/bundles/$a" "$a" hooks=none || return
	rt_run "$a" "$T/bundles/$a" || { fail "$a: runc failed"; return; }
	expect_refused "$id" "holds CAP_SYS_PTRACE in the PID namespace it joins" \
		pidns="/proc/$(rt_pid "$a")/ns/pid" caps="$DOCKER_CAPS_NORAW,CAP_SYS_PTRACE"
	[ "$(uname -m)" = x86_64 ] || { rt_delete "$a"; return; }
	# What the refusal prevents: accepted as removable, it makes the peer's init connect.
	id=runc-ptrace-joined-ok
	rt_write_config "$T/netfence-removable.json" closed true
	rt_start_fenced "$id" policy="$POLICY" config="$T/netfence-removable.json" \
		pidns="/proc/$(rt_pid "$a")/ns/pid" caps="$DOCKER_CAPS_NORAW,CAP_SYS_PTRACE" || return
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	ptrace_attack "$id" 1 ok
	rt_delete "$id"
	expect_nothing_left "$id"
	rt_delete "$a"
}

# A PID namespace of its own: the host's processes are not there to trace.
case_ptrace_own_pidns()
{
	local id=runc-ptrace-pidns
	rt_start_fenced "$id" policy="$POLICY" caps="$DOCKER_CAPS_NORAW,CAP_SYS_PTRACE" || return
	[ "$(nf_field "$id" removable)" = False ] ||
		fail "$id: show: removable is '$(nf_field "$id" removable)', expected False"
	ptrace_victim
	ptrace_attack "$id" "$PTRACE_VICTIM" "seize ESRCH"
	kill "$PTRACE_VICTIM"
	rt_delete_clean "$id"
}

# CAP_DAC_READ_SEARCH in the initial user namespace opens a file by handle
# (open_by_handle_at) anywhere on a filesystem the container has mounted: its rootfs's, here the
# host's root filesystem.
case_handle_refused()
{
	expect_refused runc-handle "holds CAP_DAC_READ_SEARCH in the initial user namespace" \
		caps="$DOCKER_CAPS_NORAW,CAP_DAC_READ_SEARCH"
}

# What the refusal prevents: accepted as removable, the container writes a host file outside
# its root and its volume, through the volume's mount (a bind of a directory under $T, on the
# filesystem whose root inode the attack names; the read-only rootfs would do for reading).
case_handle_escapes()
{
	local id=runc-handle-ok proof="$T/outside-root" top fs got
	fs=$(stat -f -c %T "$T") top=$(stat -c %m "$T")
	[ "$fs" = ext2/ext3 ] && [ "$(stat -c %i "$top")" = 2 ] || {
		case_skip "the attack names ext4's root inode; $T is on $fs mounted at $top"
		return
	}
	rt_write_config "$T/netfence-removable.json" closed true
	mkdir -p "$T/volume"
	rt_start_fenced "$id" policy="$POLICY" config="$T/netfence-removable.json" \
		caps="$DOCKER_CAPS_NORAW,CAP_DAC_READ_SEARCH" \
		mount='{"destination": "/data", "type": "bind", "source": "'"$T/volume"'", "options": ["rbind", "rw"]}' ||
		return
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	[ "$(nf_field "$id" removable)" = True ] ||
		fail "$id: show: removable is '$(nf_field "$id" removable)', expected True"
	proof=$(realpath "$proof")
	got=$(rt_exec "$id" /bin/client byhandle /data "${proof#"${top%/}"/}")
	[ "$got" = ok ] && [ "$(cat "$proof" 2>/dev/null)" = escaped ] ||
		fail "$id: the attack gave '$got' and left '$(cat "$proof" 2>/dev/null)' in $proof"
	rm -f "$proof"
	rt_delete_clean "$id"
}

cg_mount()
{
	local o=$1 opts=""
	shift
	for o in "$o" "$@"; do
		opts="$opts${opts:+,}\"$o\""
	done
	printf '{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": [%s]}' \
		"$opts"
}

# cg_escape ID: inside container ID, write the shell's pid into an unfenced cgroup beside the
# container's (seen as /sys/fs/cgroup/<parent>/escape-ID without a cgroup namespace), then
# probe the denied port; prints "moved" when the write succeeded, then the verdict.
cg_escape()
{
	local id=$1
	mkdir -p "$RT_CG2$RT_PARENT/escape-$id"
	rt_exec "$id" /bin/sh -c 'if echo $$ >"$1/cgroup.procs" 2>/dev/null; then echo moved; fi
		exec /bin/client tcp 127.0.0.1 "$2"' sh "/sys/fs/cgroup$RT_PARENT/escape-$id" "$PD" |
		tr '\n' ' '
}

case_cgroup_rw_refused()
{
	local id=runc-cgroup-rw
	rt_bundle "$T/bundles/$id" "$id" policy="$POLICY" caps="$DOCKER_CAPS_NORAW" \
		mount="$(cg_mount nosuid noexec nodev rw)" || return
	rt_run "$id" "$T/bundles/$id" && fail "$id: runc started it"
	grep -q "netfence: container '$id': mounts cgroup writable without a cgroup namespace" \
		"$T/logs/$id.create" ||
		fail "$id: no refusal naming the cgroup mount: $(tail -n 1 "$T/logs/$id.create")"
	rt_delete "$id"
	expect_nothing_left "$id"
}

# The same with allow_removable_fence: it starts, reported removable, and really escapes.
case_cgroup_rw_escapes()
{
	local id=runc-cgroup-rw-ok got
	rt_have_busybox "$T/rootfs" || { case_skip "no static busybox for the attack"; return; }
	rt_write_config "$T/netfence-removable.json" closed true
	rt_start_fenced "$id" policy="$POLICY" config="$T/netfence-removable.json" \
		caps="$DOCKER_CAPS_NORAW" mount="$(cg_mount nosuid noexec nodev rw)" || return
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	[ "$(nf_field "$id" removable)" = True ] ||
		fail "$id: show: removable is '$(nf_field "$id" removable)', expected True"
	got=$(cg_escape "$id")
	[ "$got" = "moved ok " ] || fail "$id: the attack gave '$got', expected 'moved ok'"
	rt_delete "$id"
	expect_nothing_left "$id"
}

# Read-only, or a cgroup namespace (rw): accepted as sound, and the write fails.
rt_case_cgroup_fenced()
{
	local id=$1 got
	shift
	rt_have_busybox "$T/rootfs" || { case_skip "no static busybox for the attack"; return; }
	rt_start_fenced "$id" policy="$POLICY" caps="$DOCKER_CAPS_NORAW" "$@" || return
	[ "$(nf_field "$id" removable)" = False ] ||
		fail "$id: show: removable is '$(nf_field "$id" removable)', expected False"
	got=$(cg_escape "$id")
	[ "$got" = "EPERM " ] || fail "$id: the attack gave '$got', expected 'EPERM'"
	rt_delete_clean "$id"
}

case_cgroup_ro_fenced()
{
	rt_case_cgroup_fenced runc-cgroup-ro mount="$(cg_mount nosuid noexec nodev ro)"
}
case_cgroupns_rw_fenced()
{
	rt_case_cgroup_fenced runc-cgroupns-rw mount="$(cg_mount nosuid noexec nodev rw)" cgroupns=1
}

# A bind of the runtime's cgroup2 mount shows the whole hierarchy, cgroup namespace or not.
case_cgroup_bind_refused()
{
	local id=runc-cgroup-bind
	rt_bundle "$T/bundles/$id" "$id" policy="$POLICY" caps="$DOCKER_CAPS_NORAW" cgroupns=1 \
		mount='{"destination": "/sys/fs/cgroup", "type": "bind", "source": "/sys/fs/cgroup", "options": ["rbind", "rw"]}' ||
		return
	rt_run "$id" "$T/bundles/$id" && fail "$id: runc started it"
	grep -q "netfence: container '$id': mounts the cgroup hierarchy writable (source '/sys/fs/cgroup')" \
		"$T/logs/$id.create" ||
		fail "$id: no refusal naming the bind: $(tail -n 1 "$T/logs/$id.create")"
	rt_delete "$id"
	expect_nothing_left "$id"
}

# A bind is judged by its source whatever type it names, and a relative source is the
# bundle's, as runc resolves it: binds of the cgroup hierarchy and of the bpffs written those ways
# are refused like the plain ones (each let the container leave its fence, or unpin it).
refused_by_mount()
{
	local id=$1 want=$2 mount=$3
	shift 3
	expect_refused "$id" "$want" caps="$DOCKER_CAPS_NORAW" "$@" mount="$mount"
}

case_cgroup_type_bind_refused()
{
	refused_by_mount runc-cgroup-type-bind "mounts the cgroup hierarchy writable" \
		'{"destination": "/cg", "type": "cgroup", "source": "/sys/fs/cgroup", "options": ["rbind", "rw"]}' \
		cgroupns=1
}

case_cgroup_relative_bind_refused()
{
	refused_by_mount runc-cgroup-rel-bind "mounts the cgroup hierarchy writable" \
		'{"destination": "/cg", "type": "bind", "source": "../../../../../../../../sys/fs/cgroup", "options": ["rbind", "rw"]}'
}

case_bpffs_relative_bind_refused()
{
	refused_by_mount runc-bpffs-rel-bind "mounts the BPF filesystem" \
		'{"destination": "/mnt", "type": "bind", "source": "../../../../../../../..'"$T"'/bpffs", "options": ["rbind", "rw"]}'
}

# The container's own process runs before poststart: refused, nothing attached.
case_poststart_refused()
{
	local id=runc-poststart
	rt_bundle "$T/bundles/$id" "$id" policy="$POLICY" hooks=poststart || return
	rt_run "$id" "$T/bundles/$id"
	grep -q "netfence: container '$id': hook stage 'poststart' is too late.*createRuntime or prestart" \
		"$T/logs/$id.create" ||
		fail "$id: no refusal naming the stages: $(tail -n 2 "$T/logs/$id.create" | tr '\n' ' ')"
	[ "$(rt_nf_progs_on "$RT_CG2$RT_PARENT/$id")" = 0 ] ||
		fail "$id: netfence programs attached at poststart"
	rt_delete "$id"
	expect_nothing_left "$id"
}


# CAP_SYS_ADMIN in the initial user namespace could lift the fence: refused by default,
# accepted (and reported as removable) with allow_removable_fence.
case_removable_refused()
{
	local id=runc-sys-admin
	rt_bundle "$T/bundles/$id" "$id" policy="$POLICY" \
		caps=CAP_SYS_ADMIN,CAP_KILL,CAP_NET_BIND_SERVICE || return
	rt_run "$id" "$T/bundles/$id" && fail "$id: runc started it"
	grep -q "netfence: container '$id'.*CAP_SYS_ADMIN" "$T/logs/$id.create" ||
		fail "$id: no netfence message naming CAP_SYS_ADMIN: $(tail -n 1 "$T/logs/$id.create")"
	rt_delete "$id"
	expect_nothing_left "$id"
}

case_removable_accepted()
{
	local id=runc-sys-admin-ok
	rt_write_config "$T/netfence-removable.json" closed true
	rt_start_fenced "$id" policy="$POLICY" config="$T/netfence-removable.json" \
		caps=CAP_SYS_ADMIN,CAP_KILL,CAP_NET_BIND_SERVICE || return
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	expect_probe "$id" tcp 127.0.0.1 "$PA" ok
	[ "$(nf_field "$id" removable)" = True ] ||
		fail "$id: show: removable is '$(nf_field "$id" removable)', expected true"
	rt_delete "$id" || fail "$id: runc delete failed"
	expect_nothing_left "$id"
}

# The attach hook runs again for a live container (Podman reruns hooks on restart): the new
# programs replace the old, the container stays fenced, nothing doubles up.
case_reattach()
{
	local id=runc-reattach pid before after state
	rt_start_fenced "$id" policy="$POLICY" || return
	before=$(rt_nf_progs_on "$RT_CG2$RT_PARENT/$id")
	pid=$(rt_pid "$id")
	state=$(python3 - "$id" "$pid" "$T/bundles/$id" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[3] + "/config.json"))
print(json.dumps({"ociVersion": "1.0.2", "id": sys.argv[1], "status": "created",
                  "pid": int(sys.argv[2]), "bundle": sys.argv[3],
                  "annotations": cfg["annotations"]}))
PY
	)
	for _ in 1 2; do
		printf '%s' "$state" | nf hook createRuntime >"$T/logs/$id.reattach" 2>&1 ||
			fail "$id: second attach failed: $(cat "$T/logs/$id.reattach")"
	done
	after=$(rt_nf_progs_on "$RT_CG2$RT_PARENT/$id")
	[ "$after" = "$before" ] ||
		fail "$id: $before netfence programs before re-attach, $after after"
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	expect_probe "$id" tcp 127.0.0.1 "$PA" ok
	rt_delete_clean "$id"
}

# netfence gc leaves live fences alone.
case_gc_keeps_live()
{
	local id=runc-gc-live
	rt_start_fenced "$id" policy="$POLICY" || return
	nf gc >"$T/logs/$id.gc" 2>&1 || fail "$id: netfence gc failed: $(cat "$T/logs/$id.gc")"
	nf show "$id" >/dev/null 2>&1 || fail "$id: gc removed a live fence"
	# Also from the host's mount namespace, where the recorded cgroup path does not exist on
	# a hybrid host: gc must judge by the kernel's links, not by the path.
	"$NETFENCE" --config "$T/netfence.json" --bpffs-root "$T/bpffs" --state-dir "$T/state" gc \
		>>"$T/logs/$id.gc" 2>&1 || fail "$id: netfence gc (host mount ns) failed"
	nf show "$id" >/dev/null 2>&1 || fail "$id: gc in the host mount namespace removed it"
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	rt_delete_clean "$id"
}

# A hook after netfence's fails: runc gives up after the attach. runc 1.1 runs poststop from
# its error path; other versions and runtimes may not. Either way nothing is left after gc.
case_later_hook_fails()
{
	local id=runc-later-hook-fails
	rt_bundle "$T/bundles/$id" "$id" policy="$POLICY" after_hook=/bin/false || return
	rt_run "$id" "$T/bundles/$id" && fail "$id: runc started it despite a failing hook"
	rt_delete "$id"
	if [ -n "$(find "$T/state" "$T/bpffs" -mindepth 1 -name "*$id*" 2>/dev/null)" ]; then
		rt_log "$id: fence left behind after the failed create; reaping"
		rt_wait_released "$id"
	fi
	nf gc >"$T/logs/$id.gc" 2>&1 || fail "$id: netfence gc failed: $(cat "$T/logs/$id.gc")"
	expect_nothing_left "$id"
}

# A cgroup made under the container's stays fenced (no BPF_F_ALLOW_OVERRIDE): a host process
# moved into it is refused like the container.
case_child_cgroup()
{
	local id=runc-child-cgroup cg got
	rt_start_fenced "$id" policy="$POLICY" || return
	cg="$RT_CG2$RT_PARENT/$id/nested"
	mkdir "$cg" || fail "$id: cannot make $cg"
	got=$(sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" tcp 127.0.0.1 "$3"' sh "$cg" \
		"$T/ctclient" "$PD" 2>/dev/null)
	[ "$got" = EPERM ] || fail "$id: a process in a nested cgroup got '$got', expected EPERM"
	got=$(sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" tcp ::1 "$3"' sh "$cg" \
		"$T/ctclient" "$PA" 2>/dev/null)
	[ "$got" = ok ] || fail "$id: a process in a nested cgroup got '$got' for PA, expected ok"
	rmdir "$cg" 2>/dev/null
	rt_delete_clean "$id"
}

# Container ids may hold '.', '+', '_' and '-': they name pins and state files unharmed.
case_odd_id()
{
	local id=runc.odd+id_1-x
	rt_start_fenced "$id" policy="$POLICY" || return
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	expect_probe "$id" tcp 127.0.0.1 "$PA" ok
	[ "$(nf_field "$id" id)" = "$id" ] || fail "$id: show does not find it by its id"
	rt_delete_clean "$id"
}

# poststop for a container netfence never saw, twice, and detach of an unknown id: success.
case_detach_idempotent()
{
	local id=runc-never-fenced i
	for i in 1 2; do
		printf '{"ociVersion": "1.0.2", "id": "%s", "status": "stopped", "bundle": "%s"}' \
			"$id" "$T/bundles/none" | nf hook poststop >"$T/logs/$id.poststop" 2>&1 ||
			fail "$id: poststop #$i for an unknown id failed: $(cat "$T/logs/$id.poststop")"
	done
	nf detach "$id" >"$T/logs/$id.detach" 2>&1 ||
		fail "$id: detach of an unknown id failed: $(cat "$T/logs/$id.detach")"
	expect_nothing_left "$id"
}

# The largest policy allowed (16384 rules, through a policy file): the container starts in
# reasonable time and the verdicts are the same as with the small policy.
case_large_policy()
{
	local id=runc-large-policy start ms
	python3 - "$T/policies/it-large.json" "$POLICY" <<'PY'
import json, sys
p = json.loads(sys.argv[2])
extra = [{"action": "allow", "cidr": "10.%d.%d.%d/32" % (i >> 16, (i >> 8) & 255, i & 255)}
         for i in range(16384 - len(p["rules"]))]
p["rules"] = extra + p["rules"]
with open(sys.argv[1], "w") as f:
    json.dump(p, f, separators=(",", ":"))
PY
	start=$(date +%s%N)
	rt_start_fenced "$id" policy_name=it-large || return
	ms=$((($(date +%s%N) - start) / 1000000))
	rt_log "$id: 16384 rules, $(stat -c %s "$T/policies/it-large.json") bytes: created in $ms ms"
	[ "$ms" -lt 10000 ] || fail "$id: creating the container took $ms ms"
	expect_probe "$id" tcp 127.0.0.1 "$PA" ok
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	expect_probe "$id" udp ::1 "$PU" ok
	expect_probe "$id" udp ::1 "$PD" EPERM
	rt_delete_clean "$id"
}

# Two containers with the same policy: the second one's hook links to the programs the first
# loaded (one set pinned), each keeps its own counters, and the set outlives the first container
# but not the second.
case_shared_programs()
{
	local a=runc-share-a b=runc-share-b sets
	rt_start_fenced "$a" policy="$POLICY" || return
	rt_start_fenced "$b" policy="$POLICY" || { rt_delete_clean "$a"; return; }
	sets=$(find "$T/bpffs/@programs" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null)
	[ "$(printf '%s' "$sets" | grep -c '')" = 1 ] ||
		fail "$a, $b: program sets for one policy:" \
			"'$(printf '%s' "$sets" | tr '\n' ' ')', expected one"
	[ "$(nf_field "$a" programs)" = "$sets" ] && [ "$(nf_field "$b" programs)" = "$sets" ] ||
		fail "$a, $b: programs $(nf_field "$a" programs) and $(nf_field "$b" programs)," \
			"set $sets"
	expect_probe "$a" tcp 127.0.0.1 "$PD" EPERM
	expect_probe "$a" tcp 127.0.0.1 "$PD" EPERM
	expect_probe "$b" tcp 127.0.0.1 "$PD" EPERM
	expect_probe "$b" tcp 127.0.0.1 "$PA" ok
	[ "$(nf_field "$a" counters.denied)" = 2 ] ||
		fail "$a: denied $(nf_field "$a" counters.denied), expected 2"
	[ "$(nf_field "$b" counters.denied)" = 1 ] ||
		fail "$b: denied $(nf_field "$b" counters.denied), expected 1"
	# (rt_delete_clean would also want no netfence program under the runtime's parent cgroup.)
	rt_delete "$a" || fail "$a: $RT delete failed: $(tail -n 2 "$T/logs/$a.delete")"
	[ -z "$(find "$T/bpffs" "$T/state" -mindepth 1 -maxdepth 1 -name "*$a*" 2>/dev/null)" ] ||
		fail "$a: pins or state left after delete"
	expect_probe "$b" tcp 127.0.0.1 "$PD" EPERM
	[ "$(nf_field "$b" programs)" = "$sets" ] || fail "$b: its program set went with $a"
	rt_delete_clean "$b"
	[ ! -e "$T/bpffs/@programs" ] || fail "program sets left: $(ls "$T/bpffs/@programs")"
}

# --- the table ---------------------------------------------------------------------------

# A policy with host rules in a container with a network namespace of its own, which has only
# loopback when the hook runs at createRuntime: the seeding enters that namespace (runc's init
# holds capabilities the hook dropped: CAP_SYS_PTRACE on standby opens it), finds no route to the
# resolver, and says so in one line; the container starts, fenced, its names failing closed.
case_seed_private_netns()
{
	local id=runc-seed-private cfg=$T/netfence-seed.json log=$T/logs/seed.log
	local policy='{"version": 1, "default": "deny", "resolvers": ["192.0.2.53"],
  "rules": [{"action": "allow", "host": "api.example.com", "protocol": "tcp", "ports": [443]}]}'
	rt_write_config "$cfg" closed false
	jq --arg l "$log" '. + {log_file: $l}' "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg"
	rt_start_fenced "$id" netns=private policy="$policy" config="$cfg" || return
	grep -q "container '$id'.*names not seeded.*'api.example.com' (no answer); resolver 192.0.2.53: Network is unreachable" \
		"$log" || fail "$id: no line saying api.example.com was not seeded: $(cat "$log")"
	[ "$(grep -c "container '$id'.*not seeded" "$log")" = 1 ] ||
		fail "$id: not one line: $(cat "$log")"
	grep -q "cannot enter\|cannot open the network namespace" "$log" &&
		fail "$id: the seeding did not enter the namespace: $(cat "$log")"
	expect_probe "$id" tcp 192.0.2.53 443 EPERM
	rt_delete_clean "$id"
}

TABLE="
host-createRuntime       | case_host_createRuntime
host-prestart            | case_host_prestart
host-nostage             | case_host_nostage
host-loopback-allow      | case_host_loopback_allow
private-loopback-default | case_private_loopback_default
private-loopback-policy  | case_private_loopback_policy
audit-mode               | case_audit
policy-name              | case_policy_name
policy-name-missing      | case_policy_name_missing
ambiguous-annotations    | case_ambiguous
invalid-policy           | case_invalid_policy
fail-open                | case_fail_open
fail-open-refusal        | case_fail_open_refusal
cgroup-rw-refused        | case_cgroup_rw_refused
cgroup-rw-escapes        | case_cgroup_rw_escapes
cgroup-ro-fenced         | case_cgroup_ro_fenced
cgroupns-rw-fenced       | case_cgroupns_rw_fenced
cgroup-bind-refused      | case_cgroup_bind_refused
cgroup-type-bind-refused | case_cgroup_type_bind_refused
cgroup-rel-bind-refused  | case_cgroup_relative_bind_refused
bpffs-rel-bind-refused   | case_bpffs_relative_bind_refused
poststart-refused        | case_poststart_refused
ptrace-refused           | case_ptrace_refused
ptrace-escapes           | case_ptrace_escapes
ptrace-classic           | case_ptrace_classic
ptrace-own-pidns         | case_ptrace_own_pidns
ptrace-joined-pidns      | case_ptrace_joined_pidns
handle-refused           | case_handle_refused
handle-escapes           | case_handle_escapes
unfenced                 | case_unfenced
removable-refused        | case_removable_refused
removable-accepted       | case_removable_accepted
reattach                 | case_reattach
gc-keeps-live            | case_gc_keeps_live
crash-then-gc            | case_crash_gc
crash-then-next-hook     | case_crash_next_hook
later-hook-fails         | case_later_hook_fails
nested-cgroup            | case_child_cgroup
odd-id                   | case_odd_id
detach-idempotent        | case_detach_idempotent
large-policy             | case_large_policy
shared-programs          | case_shared_programs
config-example           | case_config_example
store-empty              | case_store_empty
seed-private-netns       | case_seed_private_netns
"

rt_setup runc
rt_require_cmd runc ss
rt_use runc
rt_build_rootfs "$T/rootfs"

# Can runc run a plain container here at all? If not, skip with its own words.
rt_bundle "$T/bundles/smoke" runc-smoke hooks=none || skip "cannot write a bundle"
if ! rt_run runc-smoke "$T/bundles/smoke" ||
	[ "$(rt_exec runc-smoke /bin/client tcp 127.0.0.1 1)" != ECONNREFUSED ]; then
	skip "runc cannot run a container here: $(tail -n 1 "$T/logs/runc-smoke.create")"
fi
rt_delete runc-smoke

rt_policies
echo "runc $(runc --version | head -n 1 | awk '{ print $3 }'), cgroup v2 at $RT_CG2," \
	"ports: allowed $PA $PA2 (tcp) $PU (udp), denied $PD"

run_cases "$TABLE"
test_summary
