#!/bin/bash
# netfence with real containerd (Debian 12's 1.6) through the wrapper runtime: a private
# containerd daemon (its own root, state, socket; no CRI plugin) driven by
# `ctr run --runc-binary .../netfence-runc --annotation io.netfence.policy=...`. The wrapper adds
# the hooks to the bundle containerd wrote, runc runs them: allowed and denied connections from
# inside, the fence listed while the container runs and gone after it is deleted; a container
# without annotation runs unfenced with no hook added; a bundle the wrapper cannot patch fails
# the create; the host floor holds under a tenant's "default": "allow"; fence_all fences an
# unannotated container; runtimes.runc is the runtime execed, with containerd's arguments.
# Needs root; exits 77 when containerd cannot run here.
#
#   integration/test-containerd.sh [REGEX...]   (the cases to run, or CASES=REGEX; default all)
set -u

# shellcheck source=integration/lib-runtime.sh
. "$(dirname "$0")/lib-runtime.sh"

CD_PID=""  # the containerd daemon
CD_NS=""   # the containerd namespace of the test: also the parent cgroup of its containers
CD_SOCK="" # containerd's socket

# ctr against the test's daemon and namespace.
cctr()
{
	ctr --address "$CD_SOCK" --namespace "$CD_NS" "$@"
}

cd_cleanup()
{
	local id
	if [ -n "$CD_PID" ]; then
		for id in $(cctr tasks list -q 2>/dev/null); do
			cctr tasks kill -s SIGKILL "$id" >/dev/null 2>&1
		done
		for id in $(cctr containers list -q 2>/dev/null); do
			cd_delete "$id"
		done
		kill "$CD_PID" 2>/dev/null
		wait "$CD_PID" 2>/dev/null
	fi
	# The runc shim keeps runc's state under /run/containerd/runc/<namespace> and its socket
	# in /run/containerd/s: the directories go if nothing else uses them.
	if [ -n "$CD_NS" ]; then
		rm -rf "/run/containerd/runc/$CD_NS"
		rmdir /run/containerd/runc /run/containerd/s /run/containerd 2>/dev/null
	fi
	rt_cleanup
}

# cd_start: the private daemon, in the mount namespace where cgroup v2 is /sys/fs/cgroup.
cd_start()
{
	local d=$T/containerd i
	mkdir -p "$d/root" "$d/state" "$d/opt"
	CD_SOCK=$d/containerd.sock
	cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$CD_SOCK"

[ttrpc]
  address = "$CD_SOCK.ttrpc"

[debug]
  address = "$d/debug.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
EOF
	# rt_ns without a shell in between, so that CD_PID is containerd's own pid.
	if [ "$RT_BIND" = 1 ]; then
		# shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
		unshare -m sh -c 'mount --make-rprivate / &&
			mount --bind "$0" /sys/fs/cgroup && exec "$@"' "$RT_CG2" \
			containerd --config "$d/config.toml" >"$T/logs/containerd.log" 2>&1 &
	else
		containerd --config "$d/config.toml" \
			>"$T/logs/containerd.log" 2>&1 &
	fi
	CD_PID=$!
	for i in $(seq 1 100); do
		ctr --address "$CD_SOCK" version >/dev/null 2>&1 && return 0
		kill -0 "$CD_PID" 2>/dev/null || break
		sleep 0.1
	done
	skip "containerd does not start here: $(tail -n 2 "$T/logs/containerd.log")"
}

# cd_run ID [ctr run options]: start /bin/client sleep in a new container, detached, on the
# host network (the listeners are on the host's loopback). Output in $T/logs/ID.create.
cd_run()
{
	local id=$1
	shift
	cctr run -d --fifo-dir "$T/fifo" --net-host --rootfs --runc-binary "${CD_RUNTIME:-$T/bin/netfence-runc}" \
		--cgroup "$RT_PARENT/$id" --cpu-shares 0 --cap-drop CAP_NET_RAW "$@" \
		"$T/rootfs" "$id" /bin/client sleep 3600 </dev/null >"$T/logs/$id.create" 2>&1
}

# cd_exec ID CMD...: run CMD in the container; stdout only.
cd_exec()
{
	local id=$1
	shift
	cctr tasks exec --fifo-dir "$T/fifo" --exec-id "x$RANDOM" "$id" "$@" </dev/null 2>>"$T/logs/$id.exec"
}

# cd_delete ID: kill the task, delete it (runc runs poststop) and the container.
cd_delete()
{
	local i
	cctr tasks kill -s SIGKILL "$1" >/dev/null 2>&1
	for i in $(seq 1 50); do
		cctr tasks delete "$1" >>"$T/logs/$1.delete" 2>&1 && break
		cctr tasks list -q 2>/dev/null | grep -qx -- "$1" || break
		sleep 0.1
	done
	cctr containers delete "$1" >>"$T/logs/$1.delete" 2>&1
}

# The config.json containerd wrote for ID (and the wrapper patched).
cd_spec()
{
	echo "$T/containerd/state/io.containerd.runtime.v2.task/$CD_NS/$1/config.json"
}

# cd_hooks ID: the netfence hooks in ID's config.json, one "stage path args" line each.
cd_hooks()
{
	python3 - "$(cd_spec "$1")" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
for stage, hooks in (spec.get("hooks") or {}).items():
    for h in hooks:
        if h.get("path", "").endswith("netfence"):
            print(stage, h["path"], " ".join(h.get("args", [])))
PY
}

cd_probe()
{
	local id=$1 kind=$2 addr=$3 port=$4 want=$5 got
	got=$(cd_exec "$id" /bin/client "$kind" "$addr" "$port")
	[ "$got" = "$want" ] ||
		fail "$id: $kind $addr port $port: expected $want, got '${got:-<nothing>}'"
}

# --- cases -------------------------------------------------------------------------------

# The annotation turns the fence on: the wrapper adds both hooks, runc runs them, the policy
# holds inside, `netfence list` shows the fence until the container is deleted.
case_fenced()
{
	local id=ctrd-fenced hooks
	if ! cd_run "$id" --annotation "io.netfence.policy=$POLICY"; then
		fail "$id: ctr run failed: $(tail -n 3 "$T/logs/$id.create")"
		return
	fi
	hooks=$(cd_hooks "$id")
	[ "$(printf '%s\n' "$hooks" | grep -c '^createRuntime .* --config .* hook createRuntime$')" = 1 ] ||
		fail "$id: config.json has no single netfence createRuntime hook: $hooks"
	[ "$(printf '%s\n' "$hooks" | grep -c '^poststop .* hook poststop$')" = 1 ] ||
		fail "$id: config.json has no single netfence poststop hook: $hooks"
	nf list | grep -q -- "$id" || fail "$id: not in netfence list: $(nf list 2>&1)"
	cd_probe "$id" tcp 127.0.0.1 "$PA" ok
	cd_probe "$id" tcp ::1 "$PA" ok
	cd_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	cd_probe "$id" tcp ::1 "$PD" EPERM
	cd_probe "$id" udp 127.0.0.1 "$PU" ok
	[ "$(nf_field "$id" counters.denied)" -gt 0 ] 2>/dev/null ||
		fail "$id: show: counters.denied is not > 0"
	cd_delete "$id"
	nf list | grep -q -- "$id" && fail "$id: still in netfence list after delete"
	expect_nothing_left "$id"
}

# io.netfence.policy-name works the same way, with the policy from policies_dir.
case_policy_name()
{
	local id=ctrd-policy-name
	printf '%s\n' "$POLICY" >"$T/policies/it-ctrd.json"
	if ! cd_run "$id" --annotation io.netfence.policy-name=it-ctrd; then
		fail "$id: ctr run failed: $(tail -n 3 "$T/logs/$id.create")"
		return
	fi
	cd_probe "$id" tcp 127.0.0.1 "$PA" ok
	cd_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	cd_delete "$id"
	expect_nothing_left "$id"
}

# No annotation: the wrapper adds nothing and the container runs unfenced.
case_unannotated()
{
	local id=ctrd-plain
	if ! cd_run "$id"; then
		fail "$id: ctr run failed: $(tail -n 3 "$T/logs/$id.create")"
		return
	fi
	[ -z "$(cd_hooks "$id")" ] || fail "$id: the wrapper added hooks: $(cd_hooks "$id")"
	nf list | grep -q -- "$id" && fail "$id: fenced without an annotation"
	cd_probe "$id" tcp 127.0.0.1 "$PD" ok
	cd_delete "$id"
	expect_nothing_left "$id"
}

# A bundle the wrapper cannot rewrite (here: a read-only mount, as the runc shim would call the
# wrapper) fails the create with one line naming the reason; runc never runs, nothing is left.
case_bundle_readonly()
{
	local id=ctrd-readonly b=$T/bundles/ctrd-readonly out
	rt_bundle "$b" "$id" hooks=none policy="$POLICY" || return
	if ! { mount --bind "$b" "$b" && mount -o remount,bind,ro "$b"; }; then
		fail "$id: cannot make the bundle read-only"
		return
	fi
	mkdir -p "$T/runc-root"
	rt_ns "$T/bin/netfence-runc" --root "$T/runc-root" --log "$T/logs/$id.runc" \
		--log-format json create --bundle "$b" --pid-file "$T/$id.pid" "$id" \
		</dev/null >"$T/logs/$id.create" 2>&1 &&
		fail "$id: the wrapper created a container it could not fence"
	out=$(cat "$T/logs/$id.create")
	if [ "$(printf '%s\n' "$out" | wc -l)" != 1 ] || ! printf '%s\n' "$out" |
		grep -q '^netfence-runc: refusing to create the container unfenced: .*Read-only'; then
		fail "$id: expected one 'refusing ... unfenced' line, got: $out"
	fi
	rt_ns runc --root "$T/runc-root" list -q 2>/dev/null | grep -qx -- "$id" &&
		fail "$id: runc has the container"
	rt_ns runc --root "$T/runc-root" delete -f "$id" >/dev/null 2>&1
	umount "$b"
	expect_nothing_left "$id"
}

# wrapped_create ID BUNDLE EDIT HOOKS: edit the bundle's hooks with the python EDIT (given the
# hooks object as h), create the container through the wrapper as containerd's shim would, and
# check that the hooks then number HOOKS ("createRuntime poststop") and that it is fenced; then
# delete it and check nothing is left.
wrapped_create()
{
	local id=$1 b=$2 edit=$3 want=$4 n
	rt_bundle "$b" "$id" policy="$POLICY" || return
	mkdir -p "$T/runc-root"
	python3 - "$b/config.json" "$edit" <<'PY'
import json, sys
path, edit = sys.argv[1:]
c = json.load(open(path))
h = c["hooks"]
exec(edit)
json.dump(c, open(path, "w"))
PY
	cp "$b/config.json" "$T/$id.before"
	if ! rt_ns "$T/bin/netfence-runc" --root "$T/runc-root" create --bundle "$b" "$id" \
		</dev/null >"$T/logs/$id.create" 2>&1; then
		fail "$id: create failed: $(tail -n 2 "$T/logs/$id.create")"
	fi
	n=$(python3 -c 'import json, sys
h = json.load(open(sys.argv[1]))["hooks"]
print(len(h["createRuntime"]), len(h["poststop"]))' "$b/config.json")
	[ "$n" = "$want" ] || fail "$id: createRuntime and poststop hooks: $n, expected $want"
	nf list | grep -q -- "$id" || fail "$id: not fenced"
	rt_ns runc --root "$T/runc-root" delete -f "$id" >/dev/null 2>&1
	expect_nothing_left "$id"
}

# A bundle that already has netfence's hooks (a hooks.d engine in front of the wrapper, or
# the operator's own) is left alone: one attach, not two.
case_already_hooked()
{
	wrapped_create ctrd-hooked "$T/bundles/ctrd-hooked" "pass" "1 1"
	cmp -s "$T/bundles/ctrd-hooked/config.json" "$T/ctrd-hooked.before" ||
		fail "ctrd-hooked: the wrapper rewrote config.json"
}

# A createRuntime hook that is only named netfence (here /bin/true) and a netfence poststop hook
# alone do not fence: the wrapper still adds its attach hook, and the container is fenced.
case_fake_hook()
{
	mkdir -p "$T/fake"
	cp /bin/true "$T/fake/netfence"
	wrapped_create ctrd-fake "$T/bundles/ctrd-fake" \
		"h['createRuntime'][0]['path'] = '$T/fake/netfence'" "2 1"
}

# netfence itself at createRuntime, but running `version`: not an attach hook, so the wrapper
# adds its own and the container is fenced.
case_version_hook()
{
	wrapped_create ctrd-version "$T/bundles/ctrd-version" \
		"h['createRuntime'][0]['args'] = ['netfence', 'version']" "2 1"
}

# cd_config JSON_FIELDS: the test's host config with more fields, for one case; cd_config_reset
# puts the plain one back. The wrapper and the hooks read the file at every run.
cd_config()
{
	rt_write_config "$T/netfence.json" closed false
	python3 - "$T/netfence.json" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(json.loads(sys.argv[2]))
json.dump(c, open(sys.argv[1], "w"))
PY
}

cd_config_reset()
{
	rt_write_config "$T/netfence.json" closed false
}

# A host floor denying PD: a tenant policy of "default": "allow", with an allow rule for PD
# besides, still cannot reach it; show names the floor's rules.
case_floor()
{
	local id=ctrd-floor src
	cd_config '{"floor": {"rules": [
		{"action": "deny", "cidr": "127.0.0.1", "protocol": "tcp", "ports": ['"$PD"']},
		{"action": "deny", "cidr": "::1", "protocol": "tcp", "ports": ['"$PD"']}]}}'
	if ! cd_run "$id" --annotation 'io.netfence.policy={"version": 1, "default": "allow",
		"rules": [{"action": "allow", "cidr": "any", "ports": ['"$PD"']}]}'; then
		fail "$id: ctr run failed: $(tail -n 3 "$T/logs/$id.create")"
		cd_config_reset
		return
	fi
	cd_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	cd_probe "$id" tcp ::1 "$PD" EPERM
	cd_probe "$id" tcp 127.0.0.1 "$PA" ok
	src=$(nf_field "$id" source)
	[ "$src" = "annotation+floor:rules[1..2]" ] ||
		fail "$id: show: source is '$src', expected the floor's rules named"
	cd_delete "$id"
	cd_config_reset
	expect_nothing_left "$id"
}

# fence_all: a container without annotation gets default_policy through the wrapper.
case_fence_all()
{
	local id=ctrd-fence-all src
	printf '%s\n' "$POLICY" >"$T/policies/it-base.json"
	cd_config '{"default_policy": "it-base", "fence_all": true}'
	if ! cd_run "$id"; then
		fail "$id: ctr run failed: $(tail -n 3 "$T/logs/$id.create")"
		cd_config_reset
		return
	fi
	[ -n "$(cd_hooks "$id")" ] || fail "$id: fence_all, but the wrapper added no hook"
	cd_probe "$id" tcp 127.0.0.1 "$PA" ok
	cd_probe "$id" tcp 127.0.0.1 "$PD" EPERM
	src=$(nf_field "$id" source)
	[ "$src" = "default:it-base" ] || fail "$id: show: source is '$src'"
	cd_delete "$id"
	cd_config_reset
	expect_nothing_left "$id"
}

# runtimes.runc in the host config: the wrapper execs that file, with containerd's arguments
# unchanged (a logging runc in front of the real one records them); a runtimes entry that names
# the wrapper itself is refused instead of looping.
case_runtime_config()
{
	local id=ctrd-runtimes args
	printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s"\nexec runc "$@"\n' "$T/runc-args" \
		>"$T/bin/runc-logged"
	chmod 755 "$T/bin/runc-logged"
	cd_config '{"runtimes": {"runc": "'"$T/bin/runc-logged"'"}}'
	if ! cd_run "$id" --annotation "io.netfence.policy=$POLICY"; then
		fail "$id: ctr run failed: $(tail -n 3 "$T/logs/$id.create")"
	else
		cd_probe "$id" tcp 127.0.0.1 "$PD" EPERM
		args=$(grep -- " create " "$T/runc-args" | grep -- "$id")
		case $args in
		"--root /run/containerd/runc/$CD_NS --log "*" --log-format json create --bundle "*"/$id --pid-file "*" $id") ;;
		*) fail "$id: the runtime got '$args'" ;;
		esac
		cd_delete "$id"
	fi
	cd_config '{"runtimes": {"runc": "'"$T/bin/netfence-runc"'"}}'
	rt_bundle "$T/bundles/$id-loop" "$id-loop" hooks=none || return
	mkdir -p "$T/runc-root"
	rt_ns "$T/bin/netfence-runc" --root "$T/runc-root" create --bundle "$T/bundles/$id-loop" \
		"$id-loop" </dev/null >"$T/logs/$id-loop.create" 2>&1 &&
		fail "$id-loop: the wrapper ran with runtimes.runc naming itself"
	grep -q "names this wrapper itself" "$T/logs/$id-loop.create" ||
		fail "$id-loop: $(cat "$T/logs/$id-loop.create")"
	cd_config_reset
	expect_nothing_left "$id"
}

TABLE="
fenced          | case_fenced
policy-name     | case_policy_name
unannotated     | case_unannotated
bundle-readonly | case_bundle_readonly
already-hooked  | case_already_hooked
fake-hook       | case_fake_hook
version-hook    | case_version_hook
floor           | case_floor
fence-all       | case_fence_all
runtime-config  | case_runtime_config
"

rt_setup containerd
rt_require_cmd containerd ctr runc ss
trap cd_cleanup EXIT
CD_NS=${RT_PARENT#/}
# The wrapper's host config, for containerd (whose runc shim passes its environment on) and for
# the cases that start the wrapper directly, as the shim would.
export NETFENCE_CONFIG=$T/netfence.json
mkdir -p "$T/bin"
ln -s "$NETFENCE" "$T/bin/netfence-runc"
rt_build_rootfs "$T/rootfs"
cd_start

# Can containerd run a plain container with plain runc here at all? If not, skip with its own
# words. (The wrapper is what is tested: its failures are failures, never a skip.)
if ! CD_RUNTIME=$(command -v runc) cd_run ctrd-smoke || [ "$(cd_exec ctrd-smoke /bin/client tcp 127.0.0.1 1)" != ECONNREFUSED ]; then
	skip "containerd cannot run a container here: $(tail -n 2 "$T/logs/ctrd-smoke.create")"
fi
cd_delete ctrd-smoke

rt_policies
echo "containerd $(containerd --version | awk '{ print $3 }'), cgroup v2 at $RT_CG2," \
	"ports: allowed $PA (tcp) $PU (udp), denied $PD"

run_cases "$TABLE"
test_summary
