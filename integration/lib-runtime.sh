# shellcheck shell=bash disable=SC2034 # variables here are read by the sourcing scripts
# Shared helpers for the runtime integration tests (test-runc.sh, test-crun.sh, test-podman.sh,
# test-containerd.sh, test-deb.sh, test-bypass.sh, test-evasion.sh) and the demo. Source it; it
# defines functions and a few variables, and runs nothing by itself.
#
# Everything a test makes lives under one temporary directory $T: the rootfs, the bundles,
# the runtime's state root, a private bpffs mount (netfence's --bpffs-root), netfence's state
# dir and host config. rt_setup installs a trap that deletes containers, stops listeners,
# unmounts, removes the test cgroups and $T, whether the test passed, failed or was killed.
#
# Environment:
#   NETFENCE      the netfence binary (default: ./netfence at the project root)
#   RT_KEEP=1     keep $T after the run, for debugging (containers are still deleted)
#   CC            compiler for the static test client (default cc)

RT_ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NETFENCE=${NETFENCE:-$RT_ROOT_DIR/netfence}
CC=${CC:-cc}

T=""           # the test's temporary directory
RT_CG2=""      # the cgroup v2 mount point on the host
RT_BIND=0      # 1: hybrid host, runtimes run where cgroup v2 is bound over /sys/fs/cgroup
RT_PARENT=""   # the test's parent cgroup, relative to the cgroup v2 root ("/netfence-it.PID")
RT_PIDS=""     # background processes (listeners) to stop at exit
RT_RUNTIMES="" # runtimes whose containers live under $T/<runtime>-root
RT_PODMAN=""   # set by test-podman.sh and test-deb.sh: the podman command (pm)

# --- reporting (lib-test.sh selects and reports the cases) ----------------------------------

# shellcheck source=integration/lib-test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-test.sh"

rt_log()
{
	echo "    $*"
}

# --- prerequisites -----------------------------------------------------------------------

rt_require_root()
{
	[ "$(id -u)" = 0 ] || skip "needs root (cgroup eBPF, bpffs, runtimes)"
}

rt_require_cmd()
{
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed"
	done
}

rt_require_netfence()
{
	[ -x "$NETFENCE" ] || skip "netfence binary '$NETFENCE' not found (run make)"
	case $NETFENCE in
	/*) ;;
	*) NETFENCE=$(cd "$(dirname "$NETFENCE")" && pwd)/$(basename "$NETFENCE") ;;
	esac
}

# Find the cgroup v2 mount. On a hybrid host runc and crun only use cgroup v2 when it is at
# /sys/fs/cgroup, so they run in a private mount namespace where it is bound there.
rt_find_cgroup2()
{
	if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		RT_CG2=/sys/fs/cgroup
		RT_BIND=0
	elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
		RT_CG2=/sys/fs/cgroup/unified
		RT_BIND=1
	else
		skip "no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified"
	fi
}

# rt_ns CMD...: run CMD where cgroup v2 is at /sys/fs/cgroup (see rt_find_cgroup2).
rt_ns()
{
	if [ "$RT_BIND" = 1 ]; then
		# shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
		unshare -m sh -c 'mount --make-rprivate / && mount --bind "$0" /sys/fs/cgroup &&
			exec "$@"' "$RT_CG2" "$@"
	else
		"$@"
	fi
}

# --- setup and teardown ------------------------------------------------------------------

# rt_setup NAME: make $T, mount its bpffs, write netfence's host config, install the trap.
rt_setup()
{
	rt_require_root
	rt_require_cmd unshare mount umount python3 bpftool
	rt_require_netfence
	rt_find_cgroup2
	T=$(mktemp -d "/tmp/netfence-$1.XXXXXX") || skip "cannot create a temporary directory"
	chmod 755 "$T"
	RT_PARENT="/netfence-it.$$"
	trap rt_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$T/bpffs" "$T/state" "$T/policies" "$T/logs" "$T/bundles"
	mount -t bpf bpf "$T/bpffs" || skip "cannot mount bpffs at $T/bpffs"
	rt_write_config "$T/netfence.json" closed false
	RT_NF_PROGS_BASE=$(rt_count_nf_progs)
}

# rt_write_config FILE FAIL_MODE ALLOW_REMOVABLE_FENCE
rt_write_config()
{
	cat >"$1" <<EOF
{
  "bpffs_root": "$T/bpffs",
  "state_dir": "$T/state",
  "policies_dir": "$T/policies",
  "fail_mode": "$2",
  "log_level": "info",
  "events": { "enabled": false, "rate_per_sec": 10 },
  "allow_removable_fence": $3
}
EOF
}

rt_cleanup()
{
	local rc=$? rt id pid m
	trap - EXIT INT TERM
	[ -n "$T" ] || exit "$rc"
	for rt in $RT_RUNTIMES; do
		for id in $(rt_ns "$rt" --root "$T/$rt-root" list -q 2>/dev/null); do
			rt_ns "$rt" --root "$T/$rt-root" delete -f "$id" >/dev/null 2>&1
		done
	done
	if [ -n "$RT_PODMAN" ]; then
		$RT_PODMAN rm -a -f -t 0 >/dev/null 2>&1
	fi
	for pid in $RT_PIDS; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# Whatever is left (podman's shm mounts, the bpffs) is unmounted deepest first; dropping
	# the bpffs drops any pinned link netfence leaked, which detaches its programs.
	# shellcheck disable=SC2013 # mount points under $T have no spaces
	for m in $(awk -v t="$T" '$5 == t || index($5, t "/") == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	rt_remove_cgroups
	if [ "${RT_KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}

# Remove the test's cgroups, deepest first, in the v2 tree and (Podman on a hybrid host) in
# every v1 hierarchy.
rt_remove_cgroups()
{
	local top
	[ -n "$RT_PARENT" ] || return 0
	for top in "$RT_CG2$RT_PARENT" /sys/fs/cgroup/*"$RT_PARENT"; do
		[ -d "$top" ] || continue
		find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
}

# --- rootfs and bundles ------------------------------------------------------------------

# rt_build_rootfs DIR: a minimal rootfs with the static client as /bin/client and, when the
# host has a static busybox (Debian's busybox-static), /bin/busybox and /bin/sh.
rt_build_rootfs()
{
	local dir=$1 bb
	mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/etc"
	if [ ! -x "$T/ctclient" ]; then
		"$CC" -static -O2 -Wall -Wextra -D_GNU_SOURCE -o "$T/ctclient" \
			"$RT_ROOT_DIR/integration/ctclient.c" 2>"$T/logs/ctclient.err" ||
			skip "cannot build the static client: $(head -n 1 "$T/logs/ctclient.err")"
	fi
	cp "$T/ctclient" "$dir/bin/client"
	for bb in /bin/busybox /usr/bin/busybox; do
		# Only a static one (busybox-static) runs in a rootfs without a libc: no interpreter.
		if [ -x "$bb" ] && readelf -l "$bb" >/dev/null 2>&1 &&
			! readelf -l "$bb" 2>/dev/null | grep -q 'program interpreter'; then
			cp "$bb" "$dir/bin/busybox"
			ln -sf busybox "$dir/bin/sh"
			break
		fi
	done
	echo 'root:x:0:0:root:/:/bin/sh' >"$dir/etc/passwd"
	echo 'root:x:0:' >"$dir/etc/group"
	touch "$dir/etc/hosts" "$dir/etc/resolv.conf"
}

rt_have_busybox()
{
	[ -x "$1/bin/busybox" ]
}

# rt_bundle DIR ID [KEY=VALUE...]: write DIR/config.json for container ID.
#   rootfs=DIR         (default $T/rootfs)
#   netns=host|private (default host)
#   hooks=createRuntime|prestart|poststart|nostage|none  (default createRuntime; each with
#                      poststop; nostage: "netfence hook" without a stage, which reads
#                      state.status)
#   policy=JSON        the io.netfence.policy annotation
#   policy_name=NAME   the io.netfence.policy-name annotation
#   config=FILE        netfence --config (default $T/netfence.json)
#   devices=1|0        a deny-all device rule, as runc spec writes (default 1; crun: 0)
#   after_hook=PATH    one more createRuntime hook, run after netfence's (e.g. /bin/false)
#   caps=CAP,CAP       the process capabilities (default: runc spec's three)
#   args=A B C         the container's process (default: /bin/client sleep 3600)
#   annotation=K=V     one more annotation
#   mount=JSON         one more entry of "mounts" (an OCI mount object)
#   cgroupns=1         a cgroup namespace of its own
#   pidns=host|PATH    no PID namespace of its own: the host's, or the one at PATH
# RT_BUNDLE_DEFAULTS, if set, holds options applied before the arguments (crun: devices=0).
rt_bundle()
{
	local dir=$1 id=$2 kv
	shift 2
	mkdir -p "$dir"
	(
		export RTB_DIR="$dir" RTB_ID="$id" RTB_ROOTFS="$T/rootfs" RTB_NETNS=host
		export RTB_HOOKS=createRuntime RTB_CONFIG="$T/netfence.json" RTB_DEVICES=1
		export RTB_NETFENCE="$NETFENCE" RTB_BPFFS="$T/bpffs" RTB_STATE="$T/state"
		export RTB_CGROUP="$RT_PARENT/$id"
		# shellcheck disable=SC2086 # RT_BUNDLE_DEFAULTS is a list of KEY=VALUE words
		for kv in ${RT_BUNDLE_DEFAULTS:-} "$@"; do
			case $kv in
			rootfs=*) export RTB_ROOTFS="${kv#*=}" ;;
			netns=*) export RTB_NETNS="${kv#*=}" ;;
			hooks=*) export RTB_HOOKS="${kv#*=}" ;;
			policy=*) export RTB_POLICY="${kv#*=}" ;;
			policy_name=*) export RTB_POLICY_NAME="${kv#*=}" ;;
			config=*) export RTB_CONFIG="${kv#*=}" ;;
			devices=*) export RTB_DEVICES="${kv#*=}" ;;
			after_hook=*) export RTB_AFTER_HOOK="${kv#*=}" ;;
			caps=*) export RTB_CAPS="${kv#*=}" ;;
			args=*) export RTB_ARGS="${kv#*=}" ;;
			annotation=*) export RTB_ANNOTATION="${kv#*=}" ;;
			mount=*) export RTB_MOUNT="${kv#*=}" ;;
			cgroupns=*) export RTB_CGROUPNS="${kv#*=}" ;;
			pidns=*) export RTB_PIDNS="${kv#*=}" ;;
			*)
				echo "rt_bundle: unknown option '$kv'" >&2
				exit 1
				;;
			esac
		done
		python3 - <<'PY'
import json, os

e = os.environ
nf = [e["RTB_NETFENCE"], "--config", e["RTB_CONFIG"], "--bpffs-root", e["RTB_BPFFS"],
      "--state-dir", e["RTB_STATE"]]
path = e["RTB_NETFENCE"]
hooks = {}
kind = e["RTB_HOOKS"]
if kind in ("createRuntime", "prestart", "poststart"):
    hooks[kind] = [{"path": path, "args": ["netfence"] + nf[1:] + ["hook", kind]}]
    hooks["poststop"] = [{"path": path, "args": ["netfence"] + nf[1:] + ["hook", "poststop"]}]
elif kind == "nostage":
    hooks["createRuntime"] = [{"path": path, "args": ["netfence"] + nf[1:] + ["hook"]}]
    hooks["poststop"] = [{"path": path, "args": ["netfence"] + nf[1:] + ["hook"]}]
elif kind != "none":
    raise SystemExit("rt_bundle: unknown hooks=" + kind)
if e.get("RTB_AFTER_HOOK"):
    hooks.setdefault("createRuntime", []).append(
        {"path": e["RTB_AFTER_HOOK"], "args": [os.path.basename(e["RTB_AFTER_HOOK"])]})

annotations = {}
if "RTB_POLICY" in e:
    annotations["io.netfence.policy"] = e["RTB_POLICY"]
if "RTB_POLICY_NAME" in e:
    annotations["io.netfence.policy-name"] = e["RTB_POLICY_NAME"]
if e.get("RTB_ANNOTATION"):
    k, _, v = e["RTB_ANNOTATION"].partition("=")
    annotations[k] = v

caps = e.get("RTB_CAPS", "CAP_AUDIT_WRITE,CAP_KILL,CAP_NET_BIND_SERVICE").split(",")
namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
if e.get("RTB_PIDNS") == "host":
    namespaces.pop(0)
elif e.get("RTB_PIDNS"):
    namespaces[0]["path"] = e["RTB_PIDNS"]
if e["RTB_NETNS"] == "private":
    namespaces.append({"type": "network"})
if e.get("RTB_CGROUPNS") == "1":
    namespaces.append({"type": "cgroup"})
resources = {}
if e["RTB_DEVICES"] == "1":
    resources["devices"] = [{"allow": False, "access": "rwm"}]

config = {
    "ociVersion": "1.0.2",
    "process": {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": e.get("RTB_ARGS", "/bin/client sleep 3600").split(),
        "env": ["PATH=/bin", "TERM=dumb"],
        "cwd": "/",
        "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    },
    "root": {"path": e["RTB_ROOTFS"], "readonly": True},
    "hostname": e["RTB_ID"][:63],
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=1777", "size=16m"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
    ],
    "hooks": hooks,
    "annotations": annotations,
    "linux": {
        "cgroupsPath": e["RTB_CGROUP"],
        "resources": resources,
        "namespaces": namespaces,
        "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                          "/proc/sysrq-trigger"],
    },
}
if e.get("RTB_MOUNT"):
    config["mounts"].append(json.loads(e["RTB_MOUNT"]))
with open(os.path.join(e["RTB_DIR"], "config.json"), "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
PY
	)
}

# --- runtime wrappers (runc, crun) -------------------------------------------------------

# rt_use RUNTIME: select runc or crun for the rt_* wrappers below.
rt_use()
{
	RT=$1
	case " $RT_RUNTIMES " in
	*" $RT "*) ;;
	*) RT_RUNTIMES="$RT_RUNTIMES $RT" ;;
	esac
	mkdir -p "$T/$RT-root"
}

rt_cli()
{
	rt_ns "$RT" --root "$T/$RT-root" "$@"
}

# rt_create ID BUNDLE: create (hooks up to createRuntime/prestart run here) and start.
# Output goes to $T/logs/ID.create; returns the runtime's exit status.
rt_run()
{
	local id=$1 bundle=$2 rc
	rt_cli create --bundle "$bundle" "$id" </dev/null >"$T/logs/$id.create" 2>&1
	rc=$?
	[ $rc -eq 0 ] || return $rc
	rt_cli start "$id" </dev/null >>"$T/logs/$id.create" 2>&1
}

# rt_exec ID CMD...: run CMD in the container (it joins the container's cgroup); stdout only.
rt_exec()
{
	local id=$1
	shift
	rt_cli exec "$id" "$@" </dev/null 2>>"$T/logs/$id.exec"
}

# rt_exec_bg ID CMD...: run CMD detached in the container (e.g. a listener).
rt_exec_bg()
{
	local id=$1
	shift
	rt_cli exec -d "$id" "$@" </dev/null >>"$T/logs/$id.exec" 2>&1
}

# rt_delete ID: kill and delete the container; the runtime runs poststop.
rt_delete()
{
	rt_cli delete -f "$1" </dev/null >>"$T/logs/$1.delete" 2>&1
}

rt_pid()
{
	rt_cli state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'
}

# --- Podman (test-podman.sh, test-deb.sh) -------------------------------------------------

# pm ARGS...: podman with the test's storage and hooks ($RT_PODMAN, set by the script).
pm()
{
	# shellcheck disable=SC2086 # RT_PODMAN is a command line without spaces inside words
	$RT_PODMAN "$@"
}

# pm_probe NAME KIND ADDR PORT WANT: the probe in container NAME must print WANT.
pm_probe()
{
	local name=$1 kind=$2 addr=$3 port=$4 want=$5 got
	got=$(pm exec "$name" /bin/client "$kind" "$addr" "$port" </dev/null 2>>"$T/logs/$name.exec")
	[ "$got" = "$want" ] ||
		fail "$name: $kind $addr port $port: expected $want, got '${got:-<nothing>}'"
}

# --- netfence ----------------------------------------------------------------------------

# nf CMD...: netfence with the test's bpffs root, state dir and config, in the runtimes' view.
nf()
{
	rt_ns "$NETFENCE" --config "$T/netfence.json" --bpffs-root "$T/bpffs" --state-dir "$T/state" \
		"$@"
}

# nf_field ID KEY: one field of `netfence show ID --json` ("mode", "counters.denied", ...).
nf_field()
{
	nf show "$1" --json 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[k]
print(v)' "$2" 2>/dev/null
}

rt_count_nf_progs()
{
	bpftool prog show 2>/dev/null | grep -c ' name nf_'
}

# rt_nf_progs_on CGROUP_DIR: netfence programs attached to one cgroup.
rt_nf_progs_on()
{
	bpftool cgroup show "$1" 2>/dev/null | grep -c ' nf_'
}

# --- checks ------------------------------------------------------------------------------

# expect_probe ID KIND ADDR PORT EXPECTED: the client inside container ID gets EXPECTED.
expect_probe()
{
	local id=$1 kind=$2 addr=$3 port=$4 want=$5 got
	got=$(rt_exec "$id" /bin/client "$kind" "$addr" "$port")
	if [ "$got" != "$want" ]; then
		fail "$id: $kind $addr port $port: expected $want, got '${got:-<nothing>}'"
	fi
}

# expect_nothing_left ID: no pins, no state, no netfence program for ID anywhere.
expect_nothing_left()
{
	local id=$1 left
	left=$(find "$T/bpffs" -mindepth 1 -path "*$id*" 2>/dev/null | head -n 3)
	[ -z "$left" ] || fail "$id: pins left under the bpffs root: $left"
	left=$(find "$T/state" -mindepth 1 -name "*$id*" 2>/dev/null | head -n 3)
	[ -z "$left" ] || fail "$id: state left: $left"
	if bpftool cgroup tree "$RT_CG2$RT_PARENT" 2>/dev/null | grep -q ' nf_'; then
		fail "$id: bpftool cgroup tree shows netfence programs under $RT_PARENT"
	fi
	# A hook never leaves a process behind (one holding program fds would keep them loaded).
	left=$(command -v pgrep >/dev/null && pgrep -f -- "--bpffs-root $T/bpffs" | head -n 3)
	[ -z "$left" ] || fail "$id: netfence processes still running: $(echo "$left" | tr '\n' ' ')"
}

# expect_store_empty: after every container is gone, nothing at all under the roots.
expect_store_empty()
{
	local left
	# maps.debug and progs.debug are the kernel's own (bpf_preload) in every bpffs mount;
	# dot files in the state dir are netfence's lock.
	left=$(find "$T/bpffs" -mindepth 1 ! -path "$T/bpffs/maps.debug" \
		! -path "$T/bpffs/progs.debug" 2>/dev/null | head -n 5)
	[ -z "$left" ] || fail "pins left under the bpffs root: $(printf '%s' "$left" | tr '\n' ' ')"
	left=$(find "$T/state" -mindepth 1 ! -name '.*' 2>/dev/null | head -n 5)
	[ -z "$left" ] || fail "state files left: $(printf '%s' "$left" | tr '\n' ' ')"
	rt_wait_progs_freed
}

# The number of nf_* programs loaded should come back to what it was before the tests. Only a
# note: the kernel frees a removed cgroup's programs once the last socket made in it is gone
# (a TCP socket can linger for a minute), and other tests on the machine load their own.
rt_wait_progs_freed()
{
	local i n
	for ((i = 0; i < 50; i++)); do
		n=$(rt_count_nf_progs)
		[ "$n" -le "$RT_NF_PROGS_BASE" ] && return 0
		sleep 0.2
	done
	rt_log "note: $n nf_* programs loaded, $RT_NF_PROGS_BASE before the tests (no pins hold them)"
}

# rt_wait_released ID: wait until the kernel has let go of the removed cgroup of fence ID.
# rmdir only takes a cgroup offline; its BPF programs are released later, from a workqueue
# and only once no socket created in it holds it, and until then the pinned links still name
# the cgroup. netfence (and anyone) can only see the cgroup as gone after that.
rt_wait_released()
{
	local id=$1 f ids i
	for ((i = 0; i < 50; i++)); do
		ids=""
		for f in "$T/bpffs/$id"/link*; do
			[ -e "$f" ] || continue
			ids="$ids$(bpftool link show pinned "$f" 2>/dev/null |
				awk '$1 == "cgroup_id" && $2 != 0 { print $2 }')"
		done
		[ -z "$ids" ] && return 0
		sleep 0.1
	done
	rt_log "$id: the kernel still names cgroup $ids in the links after 5 s"
}

# --- host-side listeners -----------------------------------------------------------------

# rt_listen tcp|udp ADDR PORT: a listener in the host network namespace for the test's life.
rt_listen()
{
	local log="$T/logs/listen-$1-$2-$3" i
	"$T/ctclient" listen "$1" "$2" "$3" 3600 >"$log" 2>&1 &
	RT_PIDS="$RT_PIDS $!"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		grep -q listening "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "cannot listen on $1 $2 port $3: $(cat "$log")" >&2
	return 1
}

# rt_free_ports N: print a base port such that base..base+N-1 are free on TCP and UDP.
rt_free_ports()
{
	local n=$1 base p used
	used=$(ss -Htuan 2>/dev/null | awk '{ n = split($5, a, ":"); print a[n] }')
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		base=$((20000 + RANDOM % 30000))
		for ((p = base; p < base + n; p++)); do
			if printf '%s\n' "$used" | grep -qx "$p"; then
				continue 2
			fi
		done
		echo "$base"
		return 0
	done
	echo 40000
}

# --- policies and listeners shared by the runc and crun tests ------------------------------

# rt_policies: pick free ports, start the host listeners and define the test policies.
#   PA   allowed TCP, a listener on 127.0.0.1 and ::1     -> ok
#   PA2  allowed TCP, nothing listening                    -> ECONNREFUSED
#   PD   denied, TCP listeners on 127.0.0.1 and ::1        -> EPERM (ok would mean unfenced)
#   PU   allowed UDP                                       -> ok
rt_policies()
{
	local base
	base=$(rt_free_ports 4)
	PA=$base PA2=$((base + 1)) PD=$((base + 2)) PU=$((base + 3))
	if ! { rt_listen tcp 127.0.0.1 "$PA" && rt_listen tcp ::1 "$PA" &&
		rt_listen tcp 127.0.0.1 "$PD" && rt_listen tcp ::1 "$PD"; }; then
		skip "cannot start loopback listeners on ports $PA/$PD"
	fi
	POLICY_RULES='[
    {"action": "allow", "cidr": "127.0.0.1/32", "protocol": "tcp", "ports": ['"$PA, $PA2"']},
    {"action": "allow", "cidr": "::1/128", "protocol": "tcp", "ports": ['"$PA, $PA2"']},
    {"action": "allow", "cidr": "127.0.0.1/32", "protocol": "udp", "ports": ['"$PU"']},
    {"action": "allow", "cidr": "::1/128", "protocol": "udp", "ports": ['"$PU"']}]'
	# No "loopback" field: the hook's default applies (policy in the host netns, allow in a
	# private one).
	POLICY='{"version": 1, "mode": "enforce", "default": "deny", "rules": '"$POLICY_RULES"'}'
	POLICY_LO_POLICY='{"version": 1, "mode": "enforce", "default": "deny",
  "loopback": "policy", "rules": '"$POLICY_RULES"'}'
	POLICY_LO_ALLOW='{"version": 1, "mode": "enforce", "default": "deny",
  "loopback": "allow", "rules": '"$POLICY_RULES"'}'
	POLICY_AUDIT='{"version": 1, "mode": "audit", "default": "deny", "rules": '"$POLICY_RULES"'}'
	POLICY_BAD='{"version": 1, "default": "deny",
  "rules": [{"action": "allow", "cidr": "10.0.0.0/33"}]}'
}

# --- cases shared by test-runc.sh and test-crun.sh (runtime chosen by rt_use) ---------------

# rt_start_fenced ID [rt_bundle options]: bundle, create and start; record a failure if not.
rt_start_fenced()
{
	local id=$1
	shift
	rt_bundle "$T/bundles/$id" "$id" "$@" || {
		fail "$id: cannot write the bundle"
		return 1
	}
	if ! rt_run "$id" "$T/bundles/$id"; then
		fail "$id: $RT could not start the container: $(tail -n 3 "$T/logs/$id.create")"
		return 1
	fi
}

# rt_delete_clean ID: delete (poststop runs) and check that nothing of the fence is left.
rt_delete_clean()
{
	rt_delete "$1" || fail "$1: $RT delete failed: $(tail -n 2 "$T/logs/$1.delete")"
	expect_nothing_left "$1"
}

# The full probe table for a container under $POLICY (or POLICY_LO_POLICY) where loopback
# follows the rules and the host listeners are reachable (host network namespace).
rt_probe_table()
{
	local id=$1
	expect_probe "$id" tcp 127.0.0.1 "$PA" ok
	expect_probe "$id" tcp 127.0.0.1 "$PA2" ECONNREFUSED
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	expect_probe "$id" tcp 127.0.0.2 "$PA" EPERM
	expect_probe "$id" tcp ::1 "$PA" ok
	expect_probe "$id" tcp ::1 "$PA2" ECONNREFUSED
	expect_probe "$id" tcp ::1 "$PD" EPERM
	expect_probe "$id" udp 127.0.0.1 "$PU" ok
	expect_probe "$id" udp 127.0.0.1 "$PD" EPERM
	expect_probe "$id" udp ::1 "$PU" ok
	expect_probe "$id" udp ::1 "$PD" EPERM
	expect_probe "$id" udp 127.0.0.1 "$PA" EPERM
	expect_probe "$id" udpc 127.0.0.1 "$PU" ok
	expect_probe "$id" udpc 127.0.0.1 "$PD" EPERM
	expect_probe "$id" udpc ::1 "$PD" EPERM
	# IPv4-mapped IPv6 destinations are judged by the IPv4 rules.
	expect_probe "$id" tcp ::ffff:127.0.0.1 "$PA" ok
	expect_probe "$id" tcp ::ffff:127.0.0.1 "$PD" EPERM
	expect_probe "$id" udp ::ffff:127.0.0.1 "$PU" ok
	expect_probe "$id" udp ::ffff:127.0.0.1 "$PD" EPERM
}

# Host network namespace, loopback following the rules; HOOKS is the wiring under test.
rt_case_host()
{
	local hooks=$1 id="$RT-host-$1" n
	rt_start_fenced "$id" netns=host hooks="$hooks" policy="$POLICY" || return
	rt_probe_table "$id"
	n=$(rt_nf_progs_on "$RT_CG2$RT_PARENT/$id")
	[ "$n" -ge 4 ] || fail "$id: $n netfence programs on the cgroup, expected at least 4"
	[ "$(nf_field "$id" mode)" = enforce ] || fail "$id: show: mode is not enforce"
	[ "$(nf_field "$id" counters.denied)" -gt 0 ] 2>/dev/null ||
		fail "$id: show: counters.denied is not > 0"
	[ "$(nf_field "$id" counters.allowed)" -gt 0 ] 2>/dev/null ||
		fail "$id: show: counters.allowed is not > 0"
	case $(nf_field "$id" cgroup) in
	*"$RT_PARENT/$id") ;;
	*) fail "$id: show: cgroup '$(nf_field "$id" cgroup)' is not the container's" ;;
	esac
	nf list --json 2>/dev/null | grep -q "\"$id\"" || fail "$id: list --json does not name it"
	rt_delete_clean "$id"
}

case_host_createRuntime() { rt_case_host createRuntime; }
case_host_prestart() { rt_case_host prestart; }

# "netfence hook" without a stage argument: the stage comes from state.status.
case_host_nostage()
{
	local id="$RT-host-nostage"
	rt_start_fenced "$id" netns=host hooks=nostage policy="$POLICY" || return
	expect_probe "$id" tcp 127.0.0.1 "$PA" ok
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	expect_probe "$id" udp ::1 "$PD" EPERM
	rt_delete_clean "$id"
}

# Own network namespace, no "loopback" field: its loopback is its own, so allowed.
case_private_loopback_default()
{
	local id="$RT-private-lo-default"
	rt_start_fenced "$id" netns=private policy="$POLICY" || return
	expect_probe "$id" tcp 127.0.0.1 "$PD" ECONNREFUSED
	expect_probe "$id" tcp ::1 "$PD" ECONNREFUSED
	expect_probe "$id" udp 127.0.0.1 "$PD" ok
	expect_probe "$id" udp ::1 "$PD" ok
	[ "$(nf_field "$id" mode)" = enforce ] || fail "$id: show: mode is not enforce"
	rt_delete_clean "$id"
}

# Own network namespace with "loopback": "policy"; a listener inside the container on PA.
case_private_loopback_policy()
{
	local id="$RT-private-lo-policy"
	rt_start_fenced "$id" netns=private policy="$POLICY_LO_POLICY" || return
	rt_exec_bg "$id" /bin/client listen tcp 127.0.0.1 "$PA" 120
	sleep 0.3
	expect_probe "$id" tcp 127.0.0.1 "$PA" ok
	expect_probe "$id" tcp 127.0.0.1 "$PA2" ECONNREFUSED
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	expect_probe "$id" tcp ::1 "$PA2" ECONNREFUSED
	expect_probe "$id" tcp ::1 "$PD" EPERM
	expect_probe "$id" udp 127.0.0.1 "$PU" ok
	expect_probe "$id" udp 127.0.0.1 "$PD" EPERM
	expect_probe "$id" udp ::1 "$PD" EPERM
	rt_delete_clean "$id"
}

# An invalid policy: the container does not start and the runtime's error names the field.
case_invalid_policy()
{
	local id="$RT-invalid" out
	rt_bundle "$T/bundles/$id" "$id" policy="$POLICY_BAD" \
		annotation="run.oci.hooks.stderr=$T/logs/$id.hook-stderr" || return
	if rt_run "$id" "$T/bundles/$id"; then
		fail "$id: $RT started a container with an invalid policy"
	fi
	out=$(cat "$T/logs/$id.create" "$T/logs/$id.hook-stderr" 2>/dev/null)
	case $out in
	*"netfence: container '$id': io.netfence.policy: /rules/0/cidr: '10.0.0.0/33'"*) ;;
	*) fail "$id: netfence's one-line error is not in $RT's output: $(printf '%s' "$out" |
		tr '\n' ' ' | cut -c 1-400)" ;;
	esac
	if rt_cli state "$id" 2>/dev/null | grep -q '"status": *"running"'; then
		fail "$id: the container is running"
	fi
	rt_delete "$id"
	expect_nothing_left "$id"
}

# No netfence annotation and no default policy: the container runs unfenced.
case_unfenced()
{
	local id="$RT-unfenced"
	rt_start_fenced "$id" || return
	expect_probe "$id" tcp 127.0.0.1 "$PD" ok
	expect_probe "$id" udp ::1 "$PD" ok
	[ "$(rt_nf_progs_on "$RT_CG2$RT_PARENT/$id")" = 0 ] ||
		fail "$id: netfence programs attached to an unannotated container"
	expect_nothing_left "$id"
	nf show "$id" >/dev/null 2>&1 && fail "$id: netfence show knows an unfenced container"
	rt_delete "$id"
}

# The runtime dies after the attach and poststop never comes: the cgroup is gone, netfence's
# pins and state remain. WITH is "gc" (netfence gc reaps) or "hook" (the next hook run does).
rt_case_crash()
{
	local with=$1 id="$RT-crash-$1" other="$RT-after-crash" pid cg
	rt_start_fenced "$id" policy="$POLICY" || return
	expect_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	pid=$(rt_pid "$id")
	cg="$RT_CG2$RT_PARENT/$id"
	# Simulate the crash: kill the container, forget it in the runtime, remove its cgroup.
	kill -9 "$pid" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		rmdir "$cg" 2>/dev/null && break
		sleep 0.2
	done
	[ -d "$cg" ] && fail "$id: cannot remove the cgroup $cg"
	rm -rf "${T:?}/$RT-root/$id"
	[ -n "$(find "$T/state" "$T/bpffs" -mindepth 1 -name "*$id*" 2>/dev/null)" ] ||
		fail "$id: nothing of the fence was left to reap (was it ever attached?)"
	rt_wait_released "$id"
	if [ "$with" = gc ]; then
		nf gc >"$T/logs/$id.gc" 2>&1 || fail "$id: netfence gc failed: $(cat "$T/logs/$id.gc")"
	else
		rt_start_fenced "$other" policy="$POLICY" || return
		expect_probe "$other" tcp 127.0.0.1 "$PD" EPERM
	fi
	if [ "$with" = hook ]; then
		# The other container is fenced: check only what belonged to the crashed one first.
		[ -z "$(find "$T/state" "$T/bpffs" -mindepth 1 -name "*$id*" 2>/dev/null)" ] ||
			fail "$id: the next hook run did not reap the stale fence"
		rt_delete_clean "$other"
	fi
	expect_nothing_left "$id"
}

case_crash_gc() { rt_case_crash gc; }
case_crash_next_hook() { rt_case_crash hook; }

# config.json.example as shipped, with only the paths changed (rootfs, hook binary and the
# test's directories, cgroup) and a process that waits: it must start fenced. Its own network
# and cgroup namespaces are kept, so loopback is allowed by default.
case_config_example()
{
	local id="$RT-config-example" n
	mkdir -p "$T/bundles/$id"
	if ! python3 - "$RT_ROOT_DIR/config.json.example" "$T/bundles/$id/config.json" "$T" \
		"$NETFENCE" "$RT_PARENT/$id" <<'PY'

import json, sys
src, dst, t, binary, cgroup = sys.argv[1:]
c = json.load(open(src))
c["root"]["path"] = t + "/rootfs"
c["process"]["args"] = ["/bin/client", "sleep", "3600"]
c["linux"]["cgroupsPath"] = cgroup
opts = ["--config", t + "/netfence.json", "--bpffs-root", t + "/bpffs", "--state-dir", t + "/state"]
for stage in c["hooks"].values():
    for h in stage:
        h["path"] = binary
        h["args"] = h["args"][:1] + opts + h["args"][1:]
json.dump(c, open(dst, "w"), indent=2)
PY
	then
		fail "$id: cannot adapt config.json.example"
		return
	fi
	if ! rt_run "$id" "$T/bundles/$id"; then
		fail "$id: $RT could not start it: $(tail -n 3 "$T/logs/$id.create")"
		return
	fi
	expect_probe "$id" tcp 127.0.0.1 "$PD" ECONNREFUSED
	n=$(rt_nf_progs_on "$RT_CG2$RT_PARENT/$id")
	[ "$n" -ge 4 ] || fail "$id: $n netfence programs on the cgroup, expected at least 4"
	[ "$(nf_field "$id" mode)" = enforce ] || fail "$id: show: mode is not enforce"
	rt_delete_clean "$id"
}

# After every case: no pins and no state at all.
case_store_empty()
{
	expect_store_empty
}
