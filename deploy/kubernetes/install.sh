#!/bin/sh
# Install netfence onto a node's root: the static binary, its netfence-runc and netfence-crun
# links, the hooks.d file (Podman, CRI-O) and the CDI spec with their paths rewritten to where
# the binary lands, the host config and the policies; with NETFENCE_CONTAINERD_CONFIG=1 also a
# runtime handler in containerd's config.toml. Idempotent: a file is written only when its
# content or mode differs, atomically (a temporary file renamed over it). Prints what it
# changed, then what the operator must still do.
#
#   install.sh HOST_ROOT          e.g. /host, where the DaemonSet mounts the node's directories
#
# Environment (defaults in brackets):
#   NETFENCE_SRC        netfence, netfence-hooks.json, netfence-cdi.json [this script's
#                       directory; in a checkout, the built ./netfence and schemas/]
#   NETFENCE_CONFIG_SRC the ConfigMap's files: config.json, and <name>.json policies
#                       [/etc/netfence-config; absent: no config or policy installed]
#   NETFENCE_BIN_DIR    [/usr/local/bin]   NETFENCE_HOOKS_DIR [/usr/share/containers/oci/hooks.d]
#   NETFENCE_CDI_DIR    [/etc/cdi]         NETFENCE_CONTAINERD_CONFIG=1: add the handler
#   NETFENCE_QUIET=1    print nothing when nothing changed
# Exit status: 0, or 1 when something could not be installed (it says what).
set -eu

usage()
{
	echo "usage: $0 HOST_ROOT" >&2
	exit 2
}
[ $# -eq 1 ] || usage
ROOT=${1%/}
[ -d "$ROOT/" ] || {
	echo "install.sh: host root '$1' is not a directory" >&2
	exit 1
}

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${NETFENCE_SRC:-$HERE}
BIN_DIR=${NETFENCE_BIN_DIR:-/usr/local/bin}
HOOKS_DIR=${NETFENCE_HOOKS_DIR:-/usr/share/containers/oci/hooks.d}
CDI_DIR=${NETFENCE_CDI_DIR:-/etc/cdi}
CONFIG_SRC=${NETFENCE_CONFIG_SRC:-/etc/netfence-config}
CONTAINERD_TOML=/etc/containerd/config.toml

BIN=$SRC/netfence
HOOKS_JSON=$SRC/netfence-hooks.json
CDI_JSON=$SRC/netfence-cdi.json
# In a checkout: the binary at the top, the files in schemas/.
if [ -z "${NETFENCE_SRC:-}" ] && [ ! -e "$BIN" ] && [ -e "$HERE/../../schemas" ]; then
	BIN=$HERE/../../netfence
	HOOKS_JSON=$HERE/../../schemas/netfence-hooks.json
	CDI_JSON=$HERE/../../schemas/netfence-cdi.json
fi

CHANGED=0
FAILED=0
TODO=""

say()
{
	echo "install.sh: $*"
}

todo()
{
	TODO="${TODO}  - $*
"
}

# put TMPFILE HOST_PATH MODE: move TMPFILE to $ROOT/HOST_PATH unless that already has the same
# content and mode; says what it did.
put()
{
	tmp=$1
	dest=$ROOT$2
	mode=$3
	if [ -f "$dest" ] && cmp -s "$tmp" "$dest" &&
		[ "$(stat -c %a "$dest")" = "$mode" ] && [ "$(stat -c %u "$dest")" = 0 ]; then
		rm -f "$tmp"
		return 0
	fi
	verb=installed
	[ -e "$dest" ] && verb=updated
	chmod "$mode" "$tmp"
	if mv -f "$tmp" "$dest"; then
		say "$verb $2 (mode $mode)"
		CHANGED=$((CHANGED + 1))
	else
		rm -f "$tmp"
		say "cannot write $2" >&2
		FAILED=1
	fi
}

# content SRC [SED-SCRIPT]: SRC on stdout, through sed when given.
content()
{
	if [ $# -ge 2 ]; then
		sed "$2" "$1"
	else
		cat "$1"
	fi
}

# install_file SRC HOST_PATH MODE [SED-SCRIPT]: SRC (through sed when given) to HOST_PATH. An
# unchanged file is not touched, nor is its directory (no temporary file comes and goes).
install_file()
{
	src=$1
	dest=$2
	mode=$3
	shift 3
	if [ -f "$ROOT$dest" ] && content "$src" "$@" | cmp -s - "$ROOT$dest" &&
		[ "$(stat -c '%a %u' "$ROOT$dest")" = "$mode 0" ]; then
		return 0
	fi
	dir=$ROOT$(dirname "$dest")
	mkdir -p "$dir"
	tmp=$(mktemp "$dir/.netfence-install.XXXXXX")
	content "$src" "$@" >"$tmp"
	put "$tmp" "$dest" "$mode"
}

# install_link NAME TARGET: $BIN_DIR/NAME -> TARGET, a relative link that holds under any root.
install_link()
{
	dest=$ROOT$BIN_DIR/$1
	if [ -L "$dest" ] && [ "$(readlink "$dest")" = "$2" ]; then
		return 0
	fi
	ln -s "$2" "$dest.netfence-new"
	mv -fT "$dest.netfence-new" "$dest"
	say "linked $BIN_DIR/$1 -> $2"
	CHANGED=$((CHANGED + 1))
}

install_binaries()
{
	[ -f "$BIN" ] || {
		say "no netfence binary at $BIN (set NETFENCE_SRC)" >&2
		exit 1
	}
	install_file "$BIN" "$BIN_DIR/netfence" 755
	install_link netfence-runc netfence
	install_link netfence-crun netfence
	# The shipped files name /usr/local/bin/netfence: point them where the binary is.
	install_file "$HOOKS_JSON" "$HOOKS_DIR/netfence.json" 644 \
		"s|/usr/local/bin/netfence|$BIN_DIR/netfence|g"
	install_file "$CDI_JSON" "$CDI_DIR/netfence.json" 644 \
		"s|/usr/local/bin/netfence|$BIN_DIR/netfence|g"
}

# config_invalid FILE: what is wrong with the host config FILE, as netfence doctor reads it
# (succeeds, printing the reason, when it is invalid). A broken host config would fail every
# hook on the node: the one in place stays.
config_invalid()
{
	scratch=$(mktemp -d) || return 0
	mkdir -p "$scratch/etc/netfence"
	cp "$1" "$scratch/etc/netfence/config.json"
	out=$("$BIN" doctor --root "$scratch" 2>/dev/null | sed -n 's/^error *config\.invalid: //p')
	rm -rf "$scratch"
	[ -n "$out" ] && printf '%s\n' "$out"
}

# The ConfigMap: config.json is the host config, every other <name>.json a policy.
install_config()
{
	if [ ! -d "$CONFIG_SRC" ]; then
		todo "no $CONFIG_SRC: the node keeps its host config and policies as they are"
		return 0
	fi
	for f in "$CONFIG_SRC"/*.json; do
		[ -f "$f" ] || continue
		name=$(basename "$f")
		if [ "$name" = config.json ]; then
			if why=$(config_invalid "$f"); then
				say "not installing the host config: $why" >&2
				FAILED=1
			else
				install_file "$f" /etc/netfence/config.json 644
			fi
		elif "$BIN" policy check "$f" >/dev/null 2>&1; then
			install_file "$f" "/etc/netfence/policies.d/$name" 644
		else
			say "not installing policy $name: $("$BIN" policy check "$f" 2>&1 | head -n 1)" >&2
			FAILED=1
		fi
	done
	for f in "$ROOT"/etc/netfence/policies.d/*.json; do
		[ -f "$f" ] || continue
		name=$(basename "$f")
		[ -e "$CONFIG_SRC/$name" ] ||
			todo "/etc/netfence/policies.d/$name is not in the ConfigMap; left in place"
	done
}

# containerd reads no hooks.d: a runtime handler running the wrapper, the pod annotations
# passed through. Added only when asked, since containerd must then be restarted.
install_containerd()
{
	toml=$ROOT$CONTAINERD_TOML
	if [ -f "$toml" ] && grep -q 'containerd\.runtimes\.netfence\]' "$toml"; then
		return 0
	fi
	if [ "${NETFENCE_CONTAINERD_CONFIG:-0}" != 1 ]; then
		[ -f "$toml" ] && todo "containerd: $CONTAINERD_TOML has no netfence runtime" \
			"handler; add it (docs/runtimes.md) or rerun with NETFENCE_CONTAINERD_CONFIG=1," \
			"or use CDI (containerd 1.7+: enable_cdi = true)"
		return 0
	fi
	cri='plugins."io.containerd.grpc.v1.cri"'
	if [ -f "$toml" ] && grep -Eq '^[[:space:]]*version[[:space:]]*=[[:space:]]*3' "$toml"; then
		cri='plugins."io.containerd.cri.v1.runtime"'
	fi
	mkdir -p "$(dirname "$toml")"
	tmp=$(mktemp "$(dirname "$toml")/.netfence-install.XXXXXX")
	if [ -f "$toml" ]; then
		cat "$toml" >"$tmp"
	else
		echo "version = 2" >"$tmp"
	fi
	{
		echo
		echo "# netfence: the wrapper runtime, with the pod annotations it needs (install.sh)."
		echo "[$cri.containerd.runtimes.netfence]"
		echo '  runtime_type = "io.containerd.runc.v2"'
		echo '  pod_annotations = ["io.netfence.*"]'
		echo '  container_annotations = ["io.netfence.*"]'
		echo "  [$cri.containerd.runtimes.netfence.options]"
		echo "    BinaryName = \"$BIN_DIR/netfence-runc\""
		# Same cgroup driver as the node's other runtimes (the kubelet's).
		if [ -f "$toml" ] && grep -Eq '^[[:space:]]*SystemdCgroup[[:space:]]*=[[:space:]]*true' "$toml"; then
			echo "    SystemdCgroup = true"
		fi
	} >>"$tmp"
	mode=644
	[ -f "$toml" ] && mode=$(stat -c %a "$toml")
	put "$tmp" "$CONTAINERD_TOML" "$mode"
	todo "containerd: restart it on this node (systemctl restart containerd) to read the" \
		"netfence runtime handler, and create the RuntimeClass (runtimeclass.yaml)"
}

install_binaries
install_config
install_containerd
if [ "$CHANGED" -eq 0 ] && [ "${NETFENCE_QUIET:-0}" != 1 ]; then
	say "nothing changed under $ROOT/"
fi
if [ -n "$TODO" ] && { [ "$CHANGED" -gt 0 ] || [ "${NETFENCE_QUIET:-0}" != 1 ]; }; then
	say "still to do:"
	printf '%s' "$TODO"
	echo "  - check the node with: netfence doctor"
fi
exit "$FAILED"
