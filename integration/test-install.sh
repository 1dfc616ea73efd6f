#!/bin/bash
# deploy/kubernetes/install.sh against temporary host roots, with the ConfigMap's own files
# (tests/kubernetes_check.py dumps them after checking the manifests): the tree it leaves (the
# binary, its links, the hooks.d file and CDI spec pointing where the binary landed, the config
# and policies, containerd's runtime handler when asked), a second run that changes nothing,
# and `netfence doctor --root` on the result, which must find nothing wrong.
#
# Needs root (files must be root's for doctor; its kernel probes load BPF programs), jq and
# python3 with PyYAML; exits 77 with the reason otherwise. Environment: NETFENCE (default
# ./netfence), CASES=REGEX runs only matching cases, IT_KEEP=1 keeps the temporary directory.
set -u

# shellcheck source=integration/lib-kernel.sh
. "$(dirname "$0")/lib-kernel.sh"
INSTALL=$ROOT_DIR/deploy/kubernetes/install.sh

cleanup()
{
	remove_tmp "${IT_KEEP:-0}"
}

# node DIR: a node's root before the install: containerd (systemd cgroups), CRI-O, runc, and
# the mounts doctor reads.
node()
{
	local r=$1
	mkdir -p "$r/proc/self" "$r/etc/containerd" "$r/etc/crio" "$r/usr/sbin"
	printf '%s\n' '22 1 8:1 / / rw - ext4 /dev/sda1 rw' \
		'26 22 0:24 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw' \
		'30 22 0:28 / /sys/fs/bpf rw - bpf bpf rw' >"$r/proc/self/mountinfo"
	printf '%s\n' 'version = 2' \
		'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]' \
		'  SystemdCgroup = true' >"$r/etc/containerd/config.toml"
	printf '#!/bin/sh\n' >"$r/usr/sbin/runc"
	chmod 0755 "$r/usr/sbin/runc"
}

# run_install DIR [VAR=VALUE...]: install.sh onto DIR with the ConfigMap's files; OUT, RC.
run_install()
{
	local r=$1
	shift
	OUT=$(env NETFENCE_SRC="$T/src" NETFENCE_CONFIG_SRC="$T/configmap" "$@" \
		"$INSTALL" "$r" 2>&1)
	RC=$?
}

# The tree's files, modes, owners, link targets, times and contents, as one digest.
tree_digest()
{
	(cd "$1" && find . -printf '%p %m %u %T@ %l\n' | sort &&
		find . -type f -exec md5sum {} + | sort) | md5sum
}

expect_doctor_clean()
{
	local out
	out=$("$NETFENCE" doctor --root "$1" 2>&1) || fail "doctor: $(flat "$out")"
	[[ $out == *"netfence doctor: no problem found" ]] || fail "doctor said: $(flat "$out")"
}

case_fresh()
{
	local r=$T/fresh d
	node "$r"
	run_install "$r" NETFENCE_CONTAINERD_CONFIG=1
	[ "$RC" -eq 0 ] || fail "exit status $RC: $(flat "$OUT")"
	cmp -s "$NETFENCE" "$r/usr/local/bin/netfence" || fail "the binary was not copied"
	[ "$(stat -c '%a %u' "$r/usr/local/bin/netfence")" = "755 0" ] || fail "binary mode/owner"
	for l in netfence-runc netfence-crun; do
		[ "$(readlink "$r/usr/local/bin/$l")" = netfence ] || fail "$l is not a link to netfence"
	done
	[ "$(jq -r .hook.path "$r/usr/share/containers/oci/hooks.d/netfence.json")" = \
		/usr/local/bin/netfence ] || fail "hooks.d path"
	[ "$(stat -c %a "$r/usr/share/containers/oci/hooks.d/netfence.json")" = 644 ] ||
		fail "hooks.d file mode"
	[ "$(jq -r '[.devices[].containerEdits.hooks[].path] | unique | join(" ")' \
		"$r/etc/cdi/netfence.json")" = /usr/local/bin/netfence ] || fail "CDI hook paths"
	cmp -s "$T/configmap/config.json" "$r/etc/netfence/config.json" || fail "config.json"
	for d in "$T"/configmap/*.json; do
		[ "$(basename "$d")" = config.json ] && continue
		cmp -s "$d" "$r/etc/netfence/policies.d/$(basename "$d")" ||
			fail "policy $(basename "$d") not installed"
	done
	grep -qx '    BinaryName = "/usr/local/bin/netfence-runc"' "$r/etc/containerd/config.toml" ||
		fail "no BinaryName in config.toml"
	[ "$(grep -c 'SystemdCgroup = true' "$r/etc/containerd/config.toml")" = 2 ] ||
		fail "the handler does not keep the node's systemd cgroup driver"
	[[ $OUT == *"restart it on this node"* ]] || fail "no word of restarting containerd"
	expect_doctor_clean "$r"
	# Twice: nothing written, nothing said but that.
	d=$(tree_digest "$r")
	run_install "$r" NETFENCE_CONTAINERD_CONFIG=1
	[ "$RC" -eq 0 ] || fail "second run: exit status $RC"
	[[ $OUT == "install.sh: nothing changed under $r/"* ]] || fail "second run said: $(flat "$OUT")"
	[ "$(tree_digest "$r")" = "$d" ] || fail "the second run changed the tree"
	run_install "$r" NETFENCE_CONTAINERD_CONFIG=1 NETFENCE_QUIET=1
	[ -z "$OUT" ] || fail "a quiet run with nothing to do said: $(flat "$OUT")"
	case_end fresh
}

# Without NETFENCE_CONTAINERD_CONFIG the config.toml is left alone, the operator told, and
# doctor names what is missing.
case_containerd_untouched()
{
	local r=$T/untouched before
	node "$r"
	before=$(md5sum <"$r/etc/containerd/config.toml")
	run_install "$r"
	[ "$RC" -eq 0 ] || fail "exit status $RC"
	[ "$(md5sum <"$r/etc/containerd/config.toml")" = "$before" ] || fail "config.toml changed"
	[[ $OUT == *"NETFENCE_CONTAINERD_CONFIG=1"* ]] || fail "no word of the handler: $(flat "$OUT")"
	out=$("$NETFENCE" doctor --root "$r" 2>&1)
	[[ $out == *"error   containerd.cdi-disabled: "* ]] || fail "doctor said: $(flat "$out")"
	case_end containerd-untouched
}

# A read-only /usr: the binary elsewhere, and every file pointing there.
case_bin_dir()
{
	local r=$T/bindir
	node "$r"
	run_install "$r" NETFENCE_CONTAINERD_CONFIG=1 NETFENCE_BIN_DIR=/opt/netfence/bin
	[ "$RC" -eq 0 ] || fail "exit status $RC: $(flat "$OUT")"
	[ "$(jq -r .hook.path "$r/usr/share/containers/oci/hooks.d/netfence.json")" = \
		/opt/netfence/bin/netfence ] || fail "hooks.d path not rewritten"
	grep -q 'BinaryName = "/opt/netfence/bin/netfence-runc"' "$r/etc/containerd/config.toml" ||
		fail "BinaryName not in the bin dir"
	expect_doctor_clean "$r"
	case_end bin-dir
}

# A bad policy in the ConfigMap is not installed; the rest is, and the exit status says so.
case_bad_policy()
{
	local r=$T/badpolicy
	node "$r"
	cp -r "$T/configmap" "$T/configmap.good"
	echo '{"version": 1, "default": "deny", "rules": [{"action": "allow", "cidr": "10.0.0.0/33"}]}' \
		>"$T/configmap/bad.json"
	run_install "$r"
	rm -rf "$T/configmap" && mv "$T/configmap.good" "$T/configmap"
	[ "$RC" -eq 1 ] || fail "exit status $RC, expected 1"
	[[ $OUT == *"not installing policy bad.json: "*"10.0.0.0/33"* ]] || fail "said: $(flat "$OUT")"
	[ ! -e "$r/etc/netfence/policies.d/bad.json" ] || fail "the bad policy was installed"
	[ -e "$r/usr/local/bin/netfence" ] || fail "the binary was not installed"
	case_end bad-policy
}

# An invalid host config in the ConfigMap is not installed: it would fail every hook on the
# node. The one in place stays, and the run fails saying why.
case_bad_config()
{
	local r=$T/badconfig before
	node "$r"
	run_install "$r"
	before=$(md5sum <"$r/etc/netfence/config.json")
	cp "$T/configmap/config.json" "$T/config.saved"
	echo '{"fail_mode": "sometimes"}' >"$T/configmap/config.json"
	run_install "$r"
	mv "$T/config.saved" "$T/configmap/config.json"
	[ "$RC" -eq 1 ] || fail "exit status $RC, expected 1"
	[[ $OUT == *"not installing the host config: "*"sometimes"* ]] || fail "said: $(flat "$OUT")"
	[ "$(md5sum <"$r/etc/netfence/config.json")" = "$before" ] ||
		fail "the host config in place was replaced"
	case_end bad-config
}

# A changed ConfigMap reaches the node on the next run, and only that file changes.
case_update()
{
	local r=$T/update
	node "$r"
	run_install "$r"
	cp "$T/configmap/config.json" "$T/config.saved"
	echo '{"fail_mode": "closed"}' >"$T/configmap/config.json"
	run_install "$r"
	mv "$T/config.saved" "$T/configmap/config.json"
	[ "$RC" -eq 0 ] || fail "exit status $RC"
	[ "$(printf '%s\n' "$OUT" | grep -c '^install.sh: \(installed\|updated\|linked\)')" = 1 ] ||
		fail "expected one change: $(flat "$OUT")"
	[[ $OUT == *"updated /etc/netfence/config.json (mode 644)"* ]] || fail "said: $(flat "$OUT")"
	case_end update
}

main()
{
	local rc c
	need_root
	need_commands jq python3 md5sum
	need_netfence
	make_tmp install
	NETFENCE=$(cd "$(dirname "$NETFENCE")" && pwd)/$(basename "$NETFENCE")
	mkdir -p "$T/src"
	cp "$NETFENCE" "$T/src/netfence"
	cp "$ROOT_DIR/schemas/netfence-hooks.json" "$ROOT_DIR/schemas/netfence-cdi.json" "$T/src/"
	python3 "$ROOT_DIR/tests/kubernetes_check.py" "$ROOT_DIR" --dump-configmap "$T/configmap"
	rc=$?
	[ "$rc" -eq 77 ] && skip "python3-yaml is not installed"
	if selected manifests; then
		[ "$rc" -eq 0 ] || fail "tests/kubernetes_check.py failed"
		case_end manifests
	fi
	for c in fresh containerd-untouched bin-dir bad-policy bad-config update; do
		selected "$c" && "case_${c//-/_}"
	done
	test_summary
}

main "$@"
