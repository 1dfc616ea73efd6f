#!/bin/bash
# shellcheck disable=SC2016 # the tree edits are single-quoted for eval
# `netfence doctor` against temporary host trees (--root), one per mistake of issue 14, each
# built from a clean tree that has everything wired: the binary and its netfence-runc link, the
# hooks.d file Podman reads, the CDI spec, containerd's runtime handler, a host config, a policy,
# and a mountinfo with bpffs and cgroup2. Each case asserts the exit status, the set of problem
# ids (errors and warnings, from --json) and the exact line of its main finding. The clean tree
# must give exit 0 and "no problem found". One case runs doctor on this machine itself: with
# /sys/fs/bpf not mounted it must say so, with the fix.
#
# Needs root (the kernel probes load BPF programs; the files must be root's) and jq; exits 77
# with the reason otherwise. Environment: NETFENCE (default ./netfence), CASES=REGEX runs
# only matching cases, DT_KEEP=1 keeps the temporary directory.
set -u

# shellcheck source=integration/lib-kernel.sh
. "$(dirname "$0")/lib-kernel.sh"

HOOKS=/usr/share/containers/oci/hooks.d/netfence.json

cleanup()
{
	remove_tmp "${DT_KEEP:-0}"
}

# clean_tree DIR: a host tree where every engine runs netfence and nothing is wrong.
clean_tree()
{
	local r=$1
	mkdir -p "$r/proc/self" "$r/usr/local/bin" "$r/usr/sbin" "$r/etc/containers" \
		"$r/usr/share/containers/oci/hooks.d" "$r/etc/cdi" "$r/etc/containerd" \
		"$r/etc/netfence/policies.d"
	cat >"$r/proc/self/mountinfo" <<'MI'
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /sys rw,nosuid shared:7 - sysfs sysfs rw
26 23 0:24 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw
30 23 0:28 / /sys/fs/bpf rw,nosuid shared:9 - bpf bpf rw,mode=700
MI
	cp "$NETFENCE" "$r/usr/local/bin/netfence"
	chmod 0755 "$r/usr/local/bin/netfence"
	ln -s netfence "$r/usr/local/bin/netfence-runc"
	printf '#!/bin/sh\nexit 0\n' >"$r/usr/sbin/runc"
	chmod 0755 "$r/usr/sbin/runc"
	cp "$ROOT_DIR/schemas/netfence-hooks.json" "$r$HOOKS"
	cp "$ROOT_DIR/schemas/netfence-cdi.json" "$r/etc/cdi/netfence.json"
	cat >"$r/etc/containerd/config.toml" <<'TOML'
version = 2

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.netfence]
  runtime_type = "io.containerd.runc.v2"
  pod_annotations = ["io.netfence.*"]
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.netfence.options]
    BinaryName = "/usr/local/bin/netfence-runc"
TOML
	echo '{"fail_mode": "closed", "floor": {"rules": [{"action": "deny", "cidr": "169.254.169.254"}]}}' \
		>"$r/etc/netfence/config.json"
	echo '{"version": 1, "default": "deny", "rules": []}' >"$r/etc/netfence/policies.d/web.json"
}

# doctor_case NAME WANT_RC "WANT_IDS" "WANT_LINE" [DOCTOR-ARGS...]: run doctor on $R (made by
# the caller), check its exit status, the sorted problem ids, and one exact line of its text.
doctor_case()
{
	local name=$1 want_rc=$2 want_ids=$3 want_line=$4 rc ids
	shift 4
	"$NETFENCE" doctor "$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq "$want_rc" ] || fail "exit status $rc, expected $want_rc: $(flat "$(cat "$T/out" "$T/err")")"
	[ -s "$T/err" ] && fail "stderr: $(flat "$(cat "$T/err")")"
	if ! "$NETFENCE" doctor --json "$@" >"$T/json" 2>/dev/null && [ "$want_rc" -eq 0 ]; then
		fail "--json exited non-zero"
	fi
	ids=$(jq -r '.[] | select(.severity != "info") | .id' "$T/json" | sort -u | tr '\n' ' ')
	ids=${ids% }
	[ "$ids" = "$want_ids" ] || fail "problem ids '$ids', expected '$want_ids'"
	jq -e 'type == "array" and all(.[]; (.id | type) == "string" and
		(.severity | IN("info", "warning", "error")) and (.what | type) == "string")' \
		"$T/json" >/dev/null || fail "--json is not an array of findings"
	grep -qxF -- "$want_line" "$T/out" || fail "no line '$want_line' in: $(flat "$(cat "$T/out")")"
	case_end "$name"
}

# tree_case NAME WANT_IDS WANT_LINE EDIT: a clean tree changed by the shell code EDIT (which
# sees the tree as $R), doctor expected to exit 1.
tree_case()
{
	local name=$1 ids=$2 line=$3 edit=$4
	selected "$name" || return 0
	R=$T/$name
	clean_tree "$R"
	eval "$edit"
	doctor_case "$name" 1 "$ids" "$line" --root "$R"
}

main()
{
	need_root
	need_commands jq
	need_netfence
	make_tmp doctor
	NETFENCE=$(cd "$(dirname "$NETFENCE")" && pwd)/$(basename "$NETFENCE")

	if selected clean; then
		R=$T/clean
		clean_tree "$R"
		doctor_case clean 0 "" "netfence doctor: no problem found" --root "$R"
	fi
	# Unrestricted ptrace (no Yama in the tree) is reported, ptrace_scope 1 is not.
	if selected ptrace-info; then
		R=$T/ptrace
		clean_tree "$R"
		"$NETFENCE" doctor --root "$R" >"$T/out" 2>&1
		grep -q "^info    kernel.ptrace-unrestricted: ptrace is unrestricted" "$T/out" ||
			fail "no ptrace finding without Yama: $(flat "$(cat "$T/out")")"
		mkdir -p "$R/proc/sys/kernel/yama" && echo 1 >"$R/proc/sys/kernel/yama/ptrace_scope"
		"$NETFENCE" doctor --root "$R" >"$T/out" 2>&1
		! grep -q "kernel.ptrace-unrestricted" "$T/out" ||
			fail "a ptrace finding under ptrace_scope 1: $(flat "$(cat "$T/out")")"
		case_end ptrace-info
	fi

	tree_case hooksd-wrong-path "hooksd.path-missing" \
		"error   hooksd.path-missing: $HOOKS: hook.path '/usr/bin/netfence' does not exist: the engine skips the hook and the container runs unfenced, or fails to start; fix: install netfence there (make install) or correct the path" \
		'sed -i "s|/usr/local/bin/netfence|/usr/bin/netfence|" "$R$HOOKS"'
	tree_case hooksd-not-netfence "hooksd.path-not-netfence" \
		"error   hooksd.path-not-netfence: $HOOKS: hook.path '/usr/bin/true' is not netfence (\`/usr/bin/true version\` printed ''); fix: point it at the netfence binary" \
		'mkdir -p "$R/usr/bin" && cp /bin/true "$R/usr/bin/true" &&
		 sed -i "s|/usr/local/bin/netfence|/usr/bin/true|" "$R$HOOKS"'
	tree_case hooksd-invalid-json "hooksd.invalid" \
		"error   hooksd.invalid: $HOOKS: invalid JSON at line 4: string or '}' expected near end of file: the engine does not run it; fix: correct the file" \
		'head -c 40 "$ROOT_DIR/schemas/netfence-hooks.json" >"$R$HOOKS"'
	tree_case hooksd-stage-in-args "hooksd.args" \
		"error   hooksd.args: $HOOKS: hook.args name the stage 'prestart' for every stage of \"stages\": poststop would attach, or prestart detach; fix: \"args\": [\"netfence\", \"hook\"]" \
		'sed -i "s|\"hook\"\]|\"hook\", \"prestart\"]|" "$R$HOOKS"'
	# The issue's hooks dir that does not exist: containers.conf names it, the file sits in
	# the default directory Podman no longer reads, and no CDI spec catches the fall.
	tree_case hooks-dir-missing "hooksd.dir-missing hooksd.missing hooksd.unread" \
		"error   hooksd.missing: Podman reads no valid netfence hooks.d file (in /etc/netfence/hooks.d): containers with io.netfence annotations start unfenced; fix: install schemas/netfence-hooks.json as /usr/share/containers/oci/hooks.d/netfence.json (make install), or in a hooks_dir the engine reads" \
		'printf "[engine]\nhooks_dir = [\"/etc/netfence/hooks.d\"]\n" >"$R/etc/containers/containers.conf" &&
		 rm "$R/etc/cdi/netfence.json"'
	tree_case hooksd-never-installed "hooksd.missing" \
		"error   hooksd.missing: Podman reads no valid netfence hooks.d file (in /usr/share/containers/oci/hooks.d, /etc/containers/oci/hooks.d): containers with io.netfence annotations start unfenced; fix: install schemas/netfence-hooks.json as /usr/share/containers/oci/hooks.d/netfence.json (make install), or in a hooks_dir the engine reads" \
		'rm "$R$HOOKS" "$R/etc/cdi/netfence.json"'
	tree_case containerd-no-pod-annotations "containerd.cdi-disabled containerd.pod-annotations" \
		"error   containerd.pod-annotations: /etc/containerd/config.toml: runtime 'netfence' does not pass the io.netfence.* pod annotations into the container's spec: its pods run unfenced; fix: pod_annotations = [\"io.netfence.*\"]" \
		'sed -i "/pod_annotations/d" "$R/etc/containerd/config.toml"'
	tree_case containerd-no-runc "containerd.runtime-missing" \
		"error   containerd.runtime-missing: /etc/containerd/config.toml: runtime 'netfence' BinaryName: the wrapper runs 'runc', which is not in PATH: every container of the runtime fails to start; fix: install it, or set runtimes in the host config" \
		'rm "$R/usr/sbin/runc"'
	tree_case bad-policy "policy.invalid" \
		"error   policy.invalid: /etc/netfence/policies.d/bad.json: /rules/0/cidr: '10.0.0.0/33' is not a valid prefix: containers naming 'bad' fail to start (or run unfenced under fail_mode open); fix: netfence policy check /etc/netfence/policies.d/bad.json, and correct it" \
		'echo "{\"version\": 1, \"default\": \"deny\", \"rules\": [{\"action\": \"allow\", \"cidr\": \"10.0.0.0/33\"}]}" >"$R/etc/netfence/policies.d/bad.json"'
	tree_case bpffs-not-mounted "bpffs.not-mounted" \
		"error   bpffs.not-mounted: no bpffs at or above '/sys/fs/bpf/netfence' (the bpffs_root in use; it is on sysfs): every fence fails to attach; fix: mount -t bpf bpf /sys/fs/bpf" \
		'sed -i "/ - bpf /d" "$R/proc/self/mountinfo"'
	tree_case cgroup2-missing "cgroup2.missing" \
		"error   cgroup2.missing: no cgroup v2 hierarchy is mounted: netfence attaches to cgroup v2 directories and fences nothing without one; fix: boot with systemd.unified_cgroup_hierarchy=1, or mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified" \
		'sed -i "/cgroup2/d" "$R/proc/self/mountinfo"'
	tree_case fail-open "config.fail-open" \
		"warning config.fail-open: fail_mode is 'open' in /etc/netfence/config.json: a hook error starts the container unfenced (netfence list shows it); fix: set \"fail_mode\": \"closed\" unless an unfenced container is better than none" \
		'echo "{\"fail_mode\": \"open\"}" >"$R/etc/netfence/config.json"'
	tree_case default-policy-missing "config.default-policy-missing hooksd.not-always" \
		"error   config.default-policy-missing: default_policy 'base' names /etc/netfence/policies.d/base.json, which does not exist: unannotated containers fail to start (or run unfenced under fail_mode open); fix: install the policy file, or correct default_policy" \
		'echo "{\"default_policy\": \"base\"}" >"$R/etc/netfence/config.json"'
	tree_case binary-writable "cdi.path-writable containerd.not-wired containerd.path-writable hooksd.missing hooksd.path-writable" \
		"error   hooksd.path-writable: $HOOKS: hook.path '/usr/local/bin/netfence' is writable by others than root (owner uid 0, mode 0777); fix: chown root: and chmod go-w the binary" \
		'chmod 0777 "$R/usr/local/bin/netfence"'

	# This machine: /sys/fs/bpf is not mounted here (unless someone mounted it meanwhile).
	if selected this-host; then
		if mountpoint -q /sys/fs/bpf; then
			case_skip "/sys/fs/bpf is mounted on this machine"
		else
			"$NETFENCE" doctor >"$T/out" 2>&1
			rc=$?
			[ "$rc" -eq 1 ] || fail "exit status $rc, expected 1"
			grep -q "^error   bpffs.not-mounted: .*; fix: mount -t bpf bpf /sys/fs/bpf$" "$T/out" ||
				fail "no bpffs.not-mounted line: $(flat "$(cat "$T/out")")"
		fi
		case_end this-host
	fi
	test_summary
}

main "$@"
