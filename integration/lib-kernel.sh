# shellcheck shell=bash disable=SC2034 # variables here are read by the sourcing scripts
# Shared prelude of the kernel-level integration tests (test-kernel.sh, test-hostile.sh,
# test-faults.sh, test-memcheck.sh): prerequisite checks that exit 77 with the reason, the
# temporary directory with its private bpffs mount and a private copy of netfence, the test
# cgroups. Cases are selected and reported by lib-test.sh, which it sources. Source it; it
# defines functions and a few variables, and runs nothing by itself. (Not named test-*.sh:
# run-all.sh runs every integration/test-*.sh.)
#
# The sourcing script defines cleanup() (called, once, by the EXIT trap make_tmp installs,
# with the exit status kept) and may set:
#   FLAT_WIDTH      flat cuts its output to this many characters (default: no cut)

# shellcheck source=integration/lib-test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-test.sh"

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NETFENCE=${NETFENCE:-$ROOT_DIR/netfence}

T=""      # temporary directory: bpffs mount, state dir, policies, ...
CG2=""    # cgroup v2 mount point
CG=""     # the test's cgroup, under $CG2
NFARGS=() # netfence's options for the test's config, bpffs root and state dir
NF=()     # netfence with NFARGS
FLAT_WIDTH=""
# Waits bounded only so that a hang ends (a client that does not exit, events that never come)
# last KT_TIME_SCALE times longer: the kernel matrix's guests run under software emulation.
# No check compares a duration against it.
KT_TIME_SCALE=${KT_TIME_SCALE:-1}

# --- prerequisites -----------------------------------------------------------------------

# The cgroup v2 mount point, from /proc/self/mountinfo: field 4 is the mounted root (the
# hierarchy's own root, "/", not a bind of a sub-cgroup), field 5 the mount point, and the
# filesystem type follows the " - " separator.
find_cgroup2()
{
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
	       if ($(i + 1) == "cgroup2" && $4 == "/") { print $5; exit } }' /proc/self/mountinfo
}

need_root()
{
	[ "$(id -u)" = 0 ] || skip "needs root (cgroup eBPF, bpffs mounts)"
}

# need_commands CMD...: skip unless every CMD is installed.
need_commands()
{
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed"
	done
}

# Sets CG2.
need_cgroup2()
{
	CG2=$(find_cgroup2)
	if [ -z "$CG2" ] || [ ! -d "$CG2" ]; then
		skip "no cgroup v2 hierarchy in /proc/self/mountinfo"
	fi
}

need_netfence()
{
	[ -x "$NETFENCE" ] || skip "netfence binary '$NETFENCE' not found (run make)"
}

# --- setup and teardown ------------------------------------------------------------------

# make_tmp NAME: T=/tmp/netfence-NAME.XXXXXX, and the traps that run cleanup on any exit.
make_tmp()
{
	T=$(mktemp -d "/tmp/netfence-$1.XXXXXX") || skip "cannot create a temporary directory"
	trap on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

on_exit()
{
	local rc=$?
	trap - EXIT INT TERM
	cleanup
	exit "$rc"
}

# A private bpffs at $T/bpffs (the directory must exist): netfence's --bpffs-root.
mount_bpffs()
{
	mount -t bpf bpf "$T/bpffs" || skip "cannot mount bpffs at $T/bpffs"
}

# write_config POLICIES-DIR [JQ-OBJECT]: $T/config.json, netfence's config with the test's
# bpffs root and state dir, $T/POLICIES-DIR as its policies dir, failing closed, plus the
# fields of JQ-OBJECT.
write_config()
{
	local extra=${2:-"{}"}
	jq -n --arg b "$T/bpffs" --arg s "$T/state" --arg p "$T/$1" \
		'{bpffs_root: $b, state_dir: $s, policies_dir: $p, fail_mode: "closed"} + '"$extra" \
		>"$T/config.json"
}

# A private copy of netfence, so a rebuild of ./netfence during the run does not disturb it;
# sets NETFENCE to it, NFARGS and NF.
copy_netfence()
{
	cp "$NETFENCE" "$T/netfence" || skip "cannot copy $NETFENCE"
	NETFENCE=$T/netfence
	NFARGS=(--config "$T/config.json" --bpffs-root "$T/bpffs" --state-dir "$T/state")
	NF=("$NETFENCE" "${NFARGS[@]}")
}

# build_client [HINT]: CLIENT=$T/nfclient, integration/nfclient.c built static with $CC; HINT
# ends the reason for the skip when that fails.
build_client()
{
	CLIENT=$T/nfclient
	"$CC" -static -O2 -Wall -D_GNU_SOURCE -o "$CLIENT" "$ROOT_DIR/integration/nfclient.c" ||
		skip "cannot build the static test client with '$CC -static'${1:+ $1}"
}

# remove_cgroup DIR: kill what runs in the cgroup DIR, then remove it.
remove_cgroup()
{
	local pid
	while read -r pid; do
		kill -9 "$pid" 2>/dev/null
	done <"$1/cgroup.procs"
	sleep 0.1
	rmdir "$1" 2>/dev/null || echo "warning: could not remove cgroup $1" >&2
}

# stop_test_work: stop the processes the script started ($BG_PIDS) and detach every fence of
# the test's store, before the script's cleanup removes its cgroups.
stop_test_work()
{
	local pid id
	for pid in ${BG_PIDS:-}; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ -n "$T" ] && [ -d "$T/state" ] || return 0
	for id in $("${NF[@]}" --json list 2>/dev/null | jq -r '.[]?.id // empty' 2>/dev/null); do
		"${NF[@]}" detach "$id" >/dev/null 2>&1
	done
}

# Unmounting the bpffs releases every link netfence pinned there: the programs detach,
# whatever state a failed case left.
unmount_bpffs()
{
	if [ -n "$T" ] && mountpoint -q "$T/bpffs"; then
		umount "$T/bpffs"
	fi
}

# remove_tmp KEEP: remove $T, unless KEEP is 1.
remove_tmp()
{
	[ -n "$T" ] || return 0
	if [ "$1" = 1 ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
}

# --- reporting ---------------------------------------------------------------------------

# flat TEXT: TEXT on one line (cut to FLAT_WIDTH characters).
flat()
{
	if [ -n "$FLAT_WIDTH" ]; then
		printf '%s' "$1" | tr '\n' ' ' | cut -c "1-$FLAT_WIDTH"
	else
		printf '%s' "$1" | tr '\n' ' '
	fi
}

# --- cgroups -----------------------------------------------------------------------------

# cg_query CGROUP: the programs attached to CGROUP as a JSON array of {id, attach_type,
# attach_flags, name}, through integration/cgprogs.c (built into $T on first use): bpftool 7.1
# lists nothing on kernels before 6.0. When the query fails, the array holds one entry of
# attach_type "query-failed", so that no check reads a failed query as "no programs".
cg_query()
{
	local out
	if [ ! -x "$T/cgprogs" ]; then
		"${CC:-cc}" -O2 -Wall -o "$T/cgprogs.$BASHPID" "$ROOT_DIR/integration/cgprogs.c" &&
			mv "$T/cgprogs.$BASHPID" "$T/cgprogs"
	fi
	if ! out=$("$T/cgprogs" "$1" 2>&1); then
		echo "cg_query $1: $out" >&2
		jq -n -c --arg e "$out" '[{id: 0, attach_type: "query-failed", attach_flags: "", name: $e}]'
		return 1
	fi
	printf '%s\n' "$out"
}

# cg_prog_lines CGROUP: the programs on CGROUP as "attach_type:name" lines.
cg_prog_lines()
{
	cg_query "$1" | jq -r '.[] | "\(.attach_type):\(.name)"'
}

# cg_count CGROUP: number of programs attached to CGROUP.
cg_count()
{
	cg_query "$1" | jq length
}
