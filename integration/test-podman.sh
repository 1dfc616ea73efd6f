#!/bin/bash
# netfence under Podman, wired the way users install it: a hooks.d file (a copy of
# schemas/netfence-hooks.json pointing at the built ./netfence, with the test's bpffs root and
# state dir) in the directory given by --hooks-dir, and the policy in --annotation. Podman
# runs the prestart hook at start and the poststop hook itself at removal.
#
# Podman runs with the runc runtime, cgroupfs, its storage under the test's temp dir (vfs, no
# image: --rootfs), host or no networking (no netavark or slirp needed). On a hybrid cgroup
# host it runs as it is (cgroup v1 controllers plus the unified hierarchy), which exercises
# netfence's discovery of cgroup v2 at /sys/fs/cgroup/unified.
# Needs root; exits 77 when it cannot run.
#
#   integration/test-podman.sh [REGEX...]   (the cases to run, or CASES=REGEX; default all)
set -u

# shellcheck source=integration/lib-runtime.sh
. "$(dirname "$0")/lib-runtime.sh"

# The podman run options every test container needs. --rootfs is a flag: the rootfs directory
# takes the image's place, after all the options.
pm_run_opts()
{
	echo "--cgroup-parent=$RT_PARENT --ulimit nofile=1024:1024 --ulimit nproc=4096:4096" \
		"--pids-limit=0 --rootfs"
}

# pm_start NAME NETWORK [podman run options...]: a detached container sleeping; echoes its id.
pm_start()
{
	local name=$1 net=$2
	shift 2
	# shellcheck disable=SC2046 # pm_run_opts is a list of words
	pm run -d --name "$name" --network "$net" $(pm_run_opts) "$@" "$T/rootfs" /bin/client sleep 3600 \
		</dev/null 2>"$T/logs/$name.run"
}

# pm_annotation KEY VALUE: the --annotation argument for KEY=VALUE. Some Podman versions (4.3) parse
# --annotation as a comma-separated list (pflag "strings", which is CSV): a JSON policy, with
# its commas and quotes, must then be one CSV-quoted field, quotes doubled. Later versions
# take the argument as it is ("stringArray").
pm_annotation()
{
	local kv="$1=$2"
	if [ "$PM_CSV" = 1 ]; then
		printf '"%s"' "${kv//\"/\"\"}"
	else
		printf '%s' "$kv"
	fi
}

pm_id()
{
	pm inspect --format '{{.Id}}' "$1" 2>/dev/null
}

# pm_remove NAME ID: remove (Podman runs poststop) and check that nothing is left.
pm_remove()
{
	pm rm -f -t 0 "$1" >"$T/logs/$1.rm" 2>&1 || fail "$1: podman rm failed: $(cat "$T/logs/$1.rm")"
	expect_nothing_left "$2"
}

case_host_network()
{
	local name=pm-host id
	id=$(pm_start "$name" host --annotation "$(pm_annotation io.netfence.policy "$POLICY")") ||
		{ fail "$name: podman run failed: $(tail -n 3 "$T/logs/$name.run")"; return; }
	pm_probe "$name" tcp 127.0.0.1 "$PA" ok
	pm_probe "$name" tcp 127.0.0.1 "$PA2" ECONNREFUSED
	pm_probe "$name" tcp 127.0.0.1 "$PD" EPERM
	pm_probe "$name" tcp ::1 "$PA" ok
	pm_probe "$name" tcp ::1 "$PD" EPERM
	pm_probe "$name" udp 127.0.0.1 "$PU" ok
	pm_probe "$name" udp 127.0.0.1 "$PD" EPERM
	pm_probe "$name" udp ::1 "$PD" EPERM
	[ "$(nf_field "$id" mode)" = enforce ] || fail "$name: netfence show $id: mode is not enforce"
	[ "$(nf_field "$id" counters.denied)" -gt 0 ] 2>/dev/null ||
		fail "$name: show: counters.denied is not > 0"
	case $(nf_field "$id" cgroup) in
	*"$RT_PARENT/"*"$id"*) ;;
	*) fail "$name: show: cgroup '$(nf_field "$id" cgroup)' is not the container's" ;;
	esac
	pm_remove "$name" "$id"
}

# --network none: a private network namespace, loopback following the rules on request.
case_private_network()
{
	local name=pm-private id ann
	ann=$(pm_annotation io.netfence.policy "$POLICY_LO_POLICY")
	id=$(pm_start "$name" none --annotation "$ann") ||
		{ fail "$name: podman run failed: $(tail -n 3 "$T/logs/$name.run")"; return; }
	pm_probe "$name" tcp 127.0.0.1 "$PA2" ECONNREFUSED
	pm_probe "$name" tcp 127.0.0.1 "$PD" EPERM
	pm_probe "$name" tcp ::1 "$PD" EPERM
	pm_probe "$name" udp 127.0.0.1 "$PD" EPERM
	pm_remove "$name" "$id"
}

# --network none without a "loopback" field: its own loopback is allowed.
case_private_loopback_default()
{
	local name=pm-private-lo id
	id=$(pm_start "$name" none --annotation "$(pm_annotation io.netfence.policy "$POLICY")") ||
		{ fail "$name: podman run failed: $(tail -n 3 "$T/logs/$name.run")"; return; }
	pm_probe "$name" tcp 127.0.0.1 "$PD" ECONNREFUSED
	pm_probe "$name" udp ::1 "$PD" ok
	pm_remove "$name" "$id"
}

# podman run --rm: the probes run as the container's own process; removal is Podman's
# cleanup after exit.
case_run_rm()
{
	local name=pm-run-rm out want ann
	ann=$(pm_annotation io.netfence.policy "$POLICY")
	if ! rt_have_busybox "$T/rootfs"; then
		rt_log "$name: no busybox in the rootfs: one probe only"
		# shellcheck disable=SC2046
		out=$(pm run --rm --name "$name" --network host $(pm_run_opts) \
			--annotation "$ann" "$T/rootfs" /bin/client tcp 127.0.0.1 "$PD" \
			</dev/null 2>"$T/logs/$name.run")
		want=EPERM
	else
		# shellcheck disable=SC2046
		out=$(pm run --rm --name "$name" --network host $(pm_run_opts) \
			--annotation "$ann" "$T/rootfs" /bin/sh -c \
			"client tcp 127.0.0.1 $PA 2>/dev/null; client tcp 127.0.0.1 $PD;
			 client udp ::1 $PU; client udp ::1 $PD" </dev/null 2>"$T/logs/$name.run")
		want=$(printf 'ok\nEPERM\nok\nEPERM')
	fi
	[ "$out" = "$want" ] || fail "$name: probes printed '$(printf '%s' "$out" | tr '\n' ' ')'," \
		"expected '$(printf '%s' "$want" | tr '\n' ' ')'"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		pm container exists "$name" 2>/dev/null || break
		sleep 0.5
	done
	pm container exists "$name" 2>/dev/null && fail "$name: still there after --rm"
	expect_store_empty
}

# No netfence annotation: the hooks.d file does not match, the container runs unfenced.
case_unannotated()
{
	local name=pm-plain id
	id=$(pm_start "$name" host) ||
		{ fail "$name: podman run failed: $(tail -n 3 "$T/logs/$name.run")"; return; }
	pm_probe "$name" tcp 127.0.0.1 "$PD" ok
	[ -z "$(find "$T/state" "$T/bpffs" -name "*$id*" 2>/dev/null)" ] ||
		fail "$name: netfence fenced an unannotated container"
	pm_remove "$name" "$id"
}

# An invalid policy: podman run fails and says why in netfence's words.
case_invalid_policy()
{
	local name=pm-invalid id ann
	ann=$(pm_annotation io.netfence.policy "$POLICY_BAD")
	if pm_start "$name" host --annotation "$ann" >/dev/null; then
		fail "$name: podman started a container with an invalid policy"
	fi
	grep -q "netfence: container '[0-9a-f]*': io.netfence.policy: /rules/0/cidr: '10.0.0.0/33'" \
		"$T/logs/$name.run" ||
		fail "$name: netfence's message is not in podman's error: $(tail -n 2 "$T/logs/$name.run" |
			tr '\n' ' ' | cut -c 1-400)"
	id=$(pm_id "$name")
	pm rm -f -t 0 "$name" >/dev/null 2>&1
	[ -z "$id" ] || expect_nothing_left "$id"
	expect_store_empty
}

# io.netfence.policy-name through Podman.
case_policy_name()
{
	local name=pm-policy-name id
	printf '%s\n' "$POLICY" >"$T/policies/it-web.json"
	id=$(pm_start "$name" host --annotation "io.netfence.policy-name=it-web") ||
		{ fail "$name: podman run failed: $(tail -n 3 "$T/logs/$name.run")"; return; }
	pm_probe "$name" tcp 127.0.0.1 "$PA" ok
	pm_probe "$name" tcp 127.0.0.1 "$PD" EPERM
	pm_remove "$name" "$id"
}

# podman --cgroups=disabled (crun) leaves the container in the cgroup Podman runs in, here a test
# cgroup of its own: netfence refuses, the container does not start, and that cgroup is not
# fenced.
case_cgroups_disabled()
{
	local name=pm-no-cgroup cg="$RT_CG2$RT_PARENT/pm-caller" id
	mkdir -p "$cg"
	printf '%s\n' "$POLICY" >"$T/policies/it-web.json"
	# shellcheck disable=SC2046 # pm_run_opts is a list of words
	# Podman needs crun for it, and crun a cgroup v2 host: the cgroup2 mount bound over
	# /sys/fs/cgroup, as for runc (lib-runtime.sh).
	if (echo "$BASHPID" >"$cg/cgroup.procs" && RT_BIND=1 &&
		rt_ns $RT_PODMAN --runtime crun run -d --name "$name" --network host --cgroups=disabled \
			--ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
			--annotation "io.netfence.policy-name=it-web" \
			--annotation "run.oci.hooks.stderr=$T/logs/$name.hook-stderr" --rootfs "$T/rootfs" \
			/bin/client sleep 3600 </dev/null >"$T/logs/$name.run" 2>&1); then
		fail "$name: podman started a container without a cgroup of its own"
	fi
	# crun keeps hook output for run.oci.hooks.stderr only.
	grep -q "is not the container's own but the runtime's" "$T/logs/$name.hook-stderr" ||
		fail "$name: no refusal naming the shared cgroup: $(tail -n 2 "$T/logs/$name.run" \
			"$T/logs/$name.hook-stderr" 2>&1 | tr '\n' ' ' | cut -c 1-300)"
	[ "$(rt_nf_progs_on "$cg")" = 0 ] ||
		fail "$name: netfence programs attached to Podman's own cgroup $cg"
	id=$(pm_id "$name")
	RT_BIND=1 rt_ns $RT_PODMAN --runtime crun rm -f -t 0 "$name" >/dev/null 2>&1
	[ -z "$id" ] || expect_nothing_left "$id"
}

# podman run --pid=host shows the container the host's processes, which it could ptrace into
# connecting for it (docs/security.md): refused while ptrace is unrestricted (no Yama, or
# ptrace_scope 0) or with CAP_SYS_PTRACE; the same container in a PID namespace of its own runs
# fenced.
case_pid_host()
{
	local name=pm-pid-host id ann
	ann=$(pm_annotation io.netfence.policy "$POLICY")
	if pm_start "$name" host --pid=host --cap-add=SYS_PTRACE --annotation "$ann" >/dev/null; then
		fail "$name: podman started a container with --pid=host and SYS_PTRACE"
	fi
	grep -q "netfence: container '[0-9a-f]*': holds CAP_SYS_PTRACE in the host's PID namespace" \
		"$T/logs/$name.run" ||
		fail "$name: no refusal naming ptrace in podman's error: $(tail -n 2 "$T/logs/$name.run" |
			tr '\n' ' ' | cut -c 1-400)"
	id=$(pm_id "$name")
	pm rm -f -t 0 "$name" >/dev/null 2>&1
	[ -z "$id" ] || expect_nothing_left "$id"
	name=pm-pid-own
	id=$(pm_start "$name" host --cap-add=SYS_PTRACE --annotation "$ann") ||
		{ fail "$name: podman run failed: $(tail -n 3 "$T/logs/$name.run")"; return; }
	pm_probe "$name" tcp 127.0.0.1 "$PD" EPERM
	pm_remove "$name" "$id"
}

# podman restart reruns the hooks with the same id: still fenced afterwards, nothing doubled.
case_restart()
{
	local name=pm-restart id cg n
	id=$(pm_start "$name" host --annotation "$(pm_annotation io.netfence.policy "$POLICY")") ||
		{ fail "$name: podman run failed: $(tail -n 3 "$T/logs/$name.run")"; return; }
	pm_probe "$name" tcp 127.0.0.1 "$PD" EPERM
	pm restart -t 0 "$name" >"$T/logs/$name.restart" 2>&1 ||
		fail "$name: podman restart failed: $(tail -n 2 "$T/logs/$name.restart")"
	pm_probe "$name" tcp 127.0.0.1 "$PD" EPERM
	pm_probe "$name" tcp 127.0.0.1 "$PA" ok
	cg=$(nf_field "$id" cgroup)
	n=$(rt_nf_progs_on "$cg")
	[ "${n:-0}" -ge 5 ] && [ "$n" -le 6 ] && n=ok
	[ "$n" = ok ] ||
		fail "$name: $n netfence programs on $cg after restart, expected 5 or 6"
	pm_remove "$name" "$id"
}

# readme_annotation podman4|podman5: the --annotation argument of the README's command for that
# Podman, exactly as a shell reads it: the single-quoted word after "--annotation".
readme_annotation()
{
	python3 - "$RT_ROOT_DIR/README.md" "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
block = text.split("<!-- readme-" + sys.argv[2], 1)[1].split("```", 2)[1]
m = re.search(r"--annotation '([^']*)'", block)
sys.exit("no --annotation '...' in the README block") if not m else print(m.group(1))
PY
}

# The README's inline example, as typed, for the Podman here (4.x reads --annotation as CSV,
# 5 and later as it is): the container is fenced by the README's policy (TCP only to
# 10.0.0.0/8 port 443, UDP port 53 anywhere), so TCP to the host's listener is refused and UDP
# to port 53 passes.
case_readme_inline()
{
	local name=pm-readme id ann form=podman5
	[ "$PM_CSV" = 1 ] && form=podman4
	ann=$(readme_annotation $form) || { fail "$name: README: $ann"; return; }
	id=$(pm_start "$name" host --annotation "$ann") ||
		{ fail "$name: the README's $form command failed: $(tail -n 3 "$T/logs/$name.run")"; return; }
	pm_probe "$name" tcp 127.0.0.1 "$PA" EPERM
	pm_probe "$name" udp 127.0.0.1 53 ok
	[ "$(nf_field "$id" source)" = annotation ] ||
		fail "$name: show: source is '$(nf_field "$id" source)', expected annotation"
	pm_remove "$name" "$id"
}

# The README's first command: io.netfence.policy-name=web-egress, the same on every Podman.
case_readme_policy_name()
{
	local name=pm-readme-name id ann
	ann=$(readme_annotation podman5) || { fail "$name: README: $ann"; return; }
	printf '%s\n' "${ann#io.netfence.policy=}" >"$T/policies/web-egress.json"
	grep -qF -- '$ podman run --annotation io.netfence.policy-name=web-egress' \
		"$RT_ROOT_DIR/README.md" || fail "$name: the README's first command changed"
	id=$(pm_start "$name" host --annotation io.netfence.policy-name=web-egress) ||
		{ fail "$name: podman run failed: $(tail -n 3 "$T/logs/$name.run")"; return; }
	pm_probe "$name" tcp 127.0.0.1 "$PA" EPERM
	pm_probe "$name" udp 127.0.0.1 53 ok
	pm_remove "$name" "$id"
}

# CDI: the shipped spec (schemas/netfence-cdi.json), pointed at the built binary and the test's
# config, in /etc/cdi (Podman 4.3 reads no other directory) under a name and device of the
# test's own, removed at exit. --device netfence.io/fence=<device> adds the hooks without any
# hooks.d: the container is fenced by its annotation. Podman runs here with an empty hooks
# directory: the same container without the device is not fenced.
case_cdi()
{
	local name=pm-cdi id dev="it$$"
	PM_CDI_FILE=/etc/cdi/netfence-it-$$.json
	[ -d /etc/cdi ] || { mkdir /etc/cdi && PM_CDI_MADE_DIR=1; }
	python3 - "$RT_ROOT_DIR/schemas/netfence-cdi.json" "$PM_CDI_FILE" "$NETFENCE" "$T" \
		"$dev" <<'PY' || { fail "$name: cannot write the CDI spec"; return; }
import json, sys
src, dst, binary, t, dev = sys.argv[1:]
spec = json.load(open(src))
opts = ["--config", t + "/netfence.json", "--bpffs-root", t + "/bpffs", "--state-dir", t + "/state"]
d = spec["devices"][0]
d["name"] = dev
for h in d["containerEdits"]["hooks"]:
    h["path"] = binary
    h["args"] = h["args"][:1] + opts + h["args"][1:]
json.dump(spec, open(dst, "w"), indent=2)
PY
	# Podman without the test's hooks.d: only the CDI device can bring the hooks.
	mkdir -p "$T/no-hooks.d"
	local saved=$RT_PODMAN
	RT_PODMAN=${RT_PODMAN/--hooks-dir $T\/hooks.d/--hooks-dir $T/no-hooks.d}
	id=$(pm_start "$name-none" host \
		--annotation "$(pm_annotation io.netfence.policy "$POLICY")") ||
		fail "$name-none: podman run failed: $(tail -n 3 "$T/logs/$name-none.run")"
	pm_probe "$name-none" tcp 127.0.0.1 "$PD" ok
	[ -n "$id" ] && pm_remove "$name-none" "$id"
	id=$(pm_start "$name" host --device "netfence.io/fence=$dev" \
		--annotation "$(pm_annotation io.netfence.policy "$POLICY")")
	if [ -z "$id" ]; then
		fail "$name: podman run failed: $(tail -n 3 "$T/logs/$name.run")"
		RT_PODMAN=$saved
		return
	fi
	pm_probe "$name" tcp 127.0.0.1 "$PA" ok
	pm_probe "$name" tcp 127.0.0.1 "$PD" EPERM
	nf list | grep -q -- "$id" || fail "$name: not in netfence list"
	pm_remove "$name" "$id"
	RT_PODMAN=$saved
}

pm_cleanup()
{
	[ -n "${PM_CDI_FILE:-}" ] && rm -f "$PM_CDI_FILE"
	[ "${PM_CDI_MADE_DIR:-0}" = 1 ] && rmdir /etc/cdi 2>/dev/null
	rt_cleanup
}

case_store_empty()
{
	expect_store_empty
}

TABLE="
host-network             | case_host_network
private-network          | case_private_network
private-loopback-default | case_private_loopback_default
run-rm                   | case_run_rm
unannotated              | case_unannotated
invalid-policy           | case_invalid_policy
policy-name              | case_policy_name
restart                  | case_restart
cgroups-disabled         | case_cgroups_disabled
pid-host-refused         | case_pid_host
readme-inline            | case_readme_inline
readme-policy-name       | case_readme_policy_name
cdi                      | case_cdi
store-empty              | case_store_empty
"

rt_setup podman
rt_require_cmd podman runc ss
trap pm_cleanup EXIT
# Podman handles cgroups itself (v1 + unified on a hybrid host), in the host mount namespace.
# shellcheck disable=SC2034 # read by rt_ns
RT_BIND=0
rt_build_rootfs "$T/rootfs"

# The shipped hooks.d file, pointed at the built binary and the test's directories.
mkdir -p "$T/hooks.d" "$T/podman"
python3 - "$RT_ROOT_DIR/schemas/netfence-hooks.json" "$T/hooks.d/netfence.json" "$NETFENCE" \
	"$T" <<'PY' || skip "cannot write the hooks.d file from schemas/netfence-hooks.json"
import json, sys
src, dst, binary, t = sys.argv[1:]
h = json.load(open(src))
h["hook"]["path"] = binary
opts = ["--config", t + "/netfence.json", "--bpffs-root", t + "/bpffs", "--state-dir", t + "/state"]
h["hook"]["args"] = h["hook"]["args"][:1] + opts + h["hook"]["args"][1:]
json.dump(h, open(dst, "w"), indent=2)
PY
RT_PODMAN="podman --root $T/podman/root --runroot $T/podman/runroot --tmpdir $T/podman/tmp"
RT_PODMAN="$RT_PODMAN --storage-driver vfs --runtime runc --cgroup-manager cgroupfs"
RT_PODMAN="$RT_PODMAN --events-backend file --hooks-dir $T/hooks.d --log-level error"

PM_CSV=0
podman run --help 2>/dev/null | grep -q -- '--annotation strings' && PM_CSV=1

# Can Podman run a plain container here at all?
# shellcheck disable=SC2046
out=$(pm run --rm --network host $(pm_run_opts) "$T/rootfs" /bin/client tcp 127.0.0.1 1 </dev/null \
	2>"$T/logs/podman-smoke")
[ "$out" = ECONNREFUSED ] ||
	skip "podman cannot run a container here: $(tail -n 1 "$T/logs/podman-smoke")"

rt_policies
echo "podman $(podman --version | awk '{ print $3 }') (runc, cgroupfs), hooks.d: $T/hooks.d," \
	"ports: allowed $PA $PA2 (tcp) $PU (udp), denied $PD"

run_cases "$TABLE"
test_summary
