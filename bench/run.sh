#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# netfence benchmarks (`make bench`, as root). Prints a table and writes bench/results.json;
# BENCHMARKS.md describes the method and records a run. Nothing here is a pass/fail test: the
# targets are reported, never asserted.
#
#   1. hook      whole-process `netfence hook` attach (createRuntime) and detach (poststop)
#                latency and peak RSS, policies of 1, 100, 1000 and 16384 rules: cold (no other
#                fence holds the policy's programs: the attach loads and verifies them, the
#                detach unpins them) and shared (a sibling fence holds a twin policy of the
#                same size, which the shared runs attach: they only link to its programs),
#                taking turns
#   2. verdict   run_time_ns / run_cnt of every sock_addr program (kernel.bpf_stats_enabled=1)
#                on a mix of allowed and denied destinations spread over the rule set, IPv4 and
#                IPv6 policies of each size, beside programs that only return 1 (the floor)
#   3. connect   TCP connect() and UDP sendto() throughput from a fenced cgroup, an unfenced one,
#                and behind the same CIDRs as an nftables set and as iptables chains (one rule per
#                CIDR; iptables-nft, iptables-nft behind a conntrack shortcut, iptables-legacy)
#   4. runc      `runc run` of a container that exits at once, with and without the hooks (the
#                100-rule policy cold and shared with a sibling fence); and the kernel memory
#                of one fence (maps and programs)
#
# Everything lives in private places removed on exit, whatever happens: a temporary directory
# with its own bpffs mount and netfence state dir, cgroups under <cgroup2>/netfence-bench.PID,
# network namespaces nfb<PID>-*. The destinations are in 10.0.0.0/8 and fd00::/8, made local
# routes inside those namespaces (sources 192.168.0.1 and fd00::1 on a veth pair kept inside), so
# no packet leaves the machine. kernel.bpf_stats_enabled is restored.
#
# Environment:
#   NETFENCE=path      binary under test (default ./netfence)
#   BENCH_QUICK=1      fewer and shorter runs (a smoke run of the script, not for numbers)
#   BENCH_ONLY="hook verdict connect runc"   sections to run (default: all)
#   BENCH_KEEP=1       keep the temporary directory
#   BENCH_OUT=file     results file (default bench/results.json)
#   BENCH_BASE=rev|path  a base to compare with (`make bench BASE=...`): a git revision, built
#                      in a private worktree under .output and removed once built, or a netfence
#                      binary. The hook and verdict sections then measure the base and the binary
#                      under test taking turns, each in a bpffs and state dir of its own, on the
#                      same cgroups and policies; records of the base carry "binary": "base"
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NETFENCE=${NETFENCE:-$ROOT/netfence}
PYTHON=${PYTHON:-python3}
CC=${CC:-cc}
CLANG=${CLANG:-clang}
OUT=${BENCH_OUT:-$ROOT/bench/results.json}
BUILD=$ROOT/.output/bench
ONLY=${BENCH_ONLY:-hook verdict connect runc}
BASE_SPEC=${BENCH_BASE:-}

SIZES="1 100 1000 16384"
FW_SIZES="1000 16384" # sizes with the nftables/iptables comparison
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	HOOK_RUNS=5 VERDICT_REPEAT=3 VERDICT_ROUNDS=2 TPUT_SECS=0.3 TPUT_ROUNDS=1 RUNC_RUNS=3 RUNC_RUNS_HEAVY=3
	BUSY_FENCES=10
else
	HOOK_RUNS=40      # attach/detach pairs per size
	BUSY_FENCES=100   # fences in force for the busy-host rows of section 1
	VERDICT_REPEAT=20 # passes over the 4096 destinations (~80k calls per program)
	VERDICT_ROUNDS=4  # with a base: rounds per size, each measuring both binaries, each
	                  # making VERDICT_REPEAT / VERDICT_ROUNDS passes (as many calls in all)
	TPUT_SECS=0.6     # seconds per TCP throughput run (UDP: half)
	TPUT_ROUNDS=8     # rounds, each running every configuration once, in rotating order
	RUNC_RUNS=100     # runc runs per variant (a start varies by ±30 % here)
	RUNC_RUNS_HEAVY=30 # for the 1 MB variants, ~100 ms each
fi
TPUT_WINDOW=16 # TCP connects in flight
# runc variants, in two groups that take turns within themselves: the 1 MB ones leave work behind
# them (freeing, writeback) that would slow whatever runs next. nf100s is nf100 while a sibling
# fence holds the same policy, so that the container's hook only links to the programs.
RUNC_LIGHT="plain noop nf100 nf100s"
RUNC_HEAVY="ann16384 nf16384"
PORT=443

T=""
CG2=""
CGP=""
NS_LIST=""
BG_PIDS=""
STATS_OLD=""
RUNC_BIND=0
# The binaries measured: "current" (NETFENCE), and "base" with BENCH_BASE. Each has a world of
# its own (binary, config, bpffs mount, state dir), so that neither reads the other's pins and
# state, whose formats may differ; both use the same cgroups, taking turns. SIBLING[world] is
# the policy of that world's sibling fence (bench-sibling) in force, if any.
WORLDS="current"
declare -A NFBIN NFROOT NFSTATE NFCONF SIBLING
BASE_WT=""    # the base's build worktree, while it exists
BASE_LABEL="" # what the base is (a short commit, or the path of the binary given)
BASE_BPF=""   # the base's BPF objects, for the verifier table, if known

say()
{
	printf '%s\n' "$*" >&2
}

die()
{
	say "bench: $*"
	exit 1
}

in_list()
{
	case " $2 " in *" $1 "*) return 0 ;; esac
	return 1
}

# --- setup and cleanup -----------------------------------------------------------------------

cleanup()
{
	local rc=$? pid ns m i id w
	trap - EXIT INT TERM
	if [ -n "$STATS_OLD" ]; then
		sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD" 2>/dev/null
	fi
	for pid in $BG_PIDS; do
		kill "$pid" 2>/dev/null
	done
	for pid in $BG_PIDS; do
		wait "$pid" 2>/dev/null
	done
	if [ -n "$T" ] && [ -d "$T/runc-root" ]; then
		for id in $(runc_ns runc --root "$T/runc-root" list -q 2>/dev/null); do
			runc_ns runc --root "$T/runc-root" delete -f "$id" >/dev/null 2>&1
		done
	fi
	if [ -n "$T" ]; then
		for w in $WORLDS; do
			[ -d "${NFROOT[$w]:-}" ] || continue
			for id in bench-hook bench-sibling bench-verdict bench-tput $(busy_ids); do
				nfx "$w" detach "$id" >/dev/null 2>&1
			done
		done
	fi
	remove_base_worktree
	for ns in $NS_LIST; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$T" ]; then
		# shellcheck disable=SC2013 # our mount points have no spaces
		for m in $(awk -v t="$T" '$5 == t || index($5, t "/") == 1 { print $5 }' \
			/proc/self/mountinfo | sort -r); do
			umount -l "$m" 2>/dev/null
		done
	fi
	if [ -n "$CGP" ] && [ -d "$CGP" ]; then
		for i in 1 2 3 4 5 6 7 8 9 10; do
			find "$CGP" -depth -type d -exec rmdir {} \; 2>/dev/null
			[ -d "$CGP" ] || break
			sleep 0.2
		done
		[ -d "$CGP" ] && say "bench: could not remove $CGP"
	fi
	if [ -n "$T" ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			say "bench: kept $T"
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}

# runc only uses cgroup v2 when it is at /sys/fs/cgroup: on a hybrid host it runs in a private
# mount namespace where the v2 hierarchy is bound there.
runc_ns()
{
	if [ "$RUNC_BIND" = 1 ]; then
		# shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
		unshare -m sh -c 'mount --make-rprivate / && mount --bind "$0" /sys/fs/cgroup &&
			exec "$@"' "$CG2" "$@"
	else
		"$@"
	fi
}

nf()
{
	nfx current "$@"
}

# nfx WORLD ARGS...: netfence of that world (current or base), in its own bpffs and state dir.
nfx()
{
	local w=$1
	shift
	"${NFBIN[$w]}" --config "${NFCONF[$w]}" --bpffs-root "${NFROOT[$w]}" \
		--state-dir "${NFSTATE[$w]}" "$@"
}

# binary_tag WORLD: the JSON members that label a record of the base ("" for the current binary).
binary_tag()
{
	[ "$1" = base ] && printf ',"binary":"base"'
	return 0
}

remove_base_worktree()
{
	[ -n "$BASE_WT" ] || return 0
	git -C "$ROOT" worktree remove --force "$BASE_WT" >/dev/null 2>&1 || rm -rf "$BASE_WT"
	git -C "$ROOT" worktree prune >/dev/null 2>&1
	BASE_WT=""
}

# build_base: the base binary at $T/base/netfence, from BASE_SPEC, a netfence binary or a git
# revision built in a detached worktree under .output that is removed once built.
build_base()
{
	local rev
	mkdir -p "$T/base"
	if [ -f "$BASE_SPEC" ]; then
		[ -x "$BASE_SPEC" ] || die "base $BASE_SPEC is not executable"
		cp "$BASE_SPEC" "$T/base/netfence" || die "cannot copy $BASE_SPEC"
		BASE_LABEL=$(cd "$(dirname "$BASE_SPEC")" && pwd)/$(basename "$BASE_SPEC")
		if [ -d "$(dirname "$BASE_SPEC")/.output/bpf" ]; then
			cp -r "$(dirname "$BASE_SPEC")/.output/bpf" "$T/base/bpf"
		fi
	else
		rev=$(git -C "$ROOT" rev-parse --verify --quiet "$BASE_SPEC^{commit}") ||
			die "base '$BASE_SPEC' is neither a file nor a git revision"
		BASE_LABEL=$(git -C "$ROOT" rev-parse --short "$rev")
		BASE_WT=$ROOT/.output/bench-base.$$
		mkdir -p "$ROOT/.output"
		say "bench: building the base $BASE_LABEL in $BASE_WT"
		git -C "$ROOT" worktree add --detach "$BASE_WT" "$rev" >"$T/logs/base-build" 2>&1 ||
			die "cannot add a worktree for $BASE_SPEC: $(tail -n 3 "$T/logs/base-build")"
		make -C "$BASE_WT" -j"$(nproc)" netfence >>"$T/logs/base-build" 2>&1 ||
			die "cannot build the base $BASE_LABEL: $(tail -n 5 "$T/logs/base-build")"
		if ! { cp "$BASE_WT/netfence" "$T/base/netfence" &&
			cp -r "$BASE_WT/.output/bpf" "$T/base/bpf"; }; then
			die "cannot copy the base's build"
		fi
		remove_base_worktree
	fi
	if [ -d "$T/base/bpf" ]; then
		BASE_BPF=$T/base/bpf
	else
		say "bench: no .output/bpf beside $BASE_SPEC: the base's verifier rows are left out"
	fi
	"$T/base/netfence" version >/dev/null 2>&1 || die "the base $BASE_LABEL does not run"
}

# world WHICH BINARY: a bpffs mount, a state dir and a host config of its own.
world()
{
	local w=$1 dir=$T
	[ "$w" = current ] || dir=$T/$w
	NFBIN[$w]=$2
	NFROOT[$w]=$dir/bpffs
	NFSTATE[$w]=$dir/state
	NFCONF[$w]=$dir/netfence.json
	SIBLING[$w]=""
	mkdir -p "${NFROOT[$w]}" "${NFSTATE[$w]}"
	mount -t bpf bpf "${NFROOT[$w]}" || die "cannot mount bpffs at ${NFROOT[$w]}"
	# netfence's defaults, events included: with events off the verifier drops the reporting
	# code as dead, and an attach is ~0.5 ms shorter than with the default.
	cat >"${NFCONF[$w]}" <<EOF
{
  "bpffs_root": "${NFROOT[$w]}",
  "state_dir": "${NFSTATE[$w]}",
  "policies_dir": "$dir/policies",
  "fail_mode": "closed",
  "log_level": "warning",
  "events": { "enabled": true, "rate_per_sec": 100 }
}
EOF
}

# wait_detached CGROUP: until no nf_ program is attached to it (outside the timed parts), so
# that each binary's runs start from the same cgroup whether or not its detach waited for the
# kernel to release the links.
wait_detached()
{
	local i
	for i in $(seq 50); do
		bpftool cgroup show "$1" 2>/dev/null | grep -q ' nf_' || return 0
		sleep 0.02
	done
	die "programs still attached to $1 a second after detach"
}

find_cgroup2()
{
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit }
		break } }' /proc/self/mountinfo
}

build_helpers()
{
	mkdir -p "$BUILD"
	"$CC" -O2 -Wall -Wextra -o "$BUILD/nfload" "$ROOT/bench/nfload.c" ||
		die "cannot build bench/nfload.c"
	"$CC" -O2 -Wall -Wextra -o "$BUILD/nftime" "$ROOT/bench/nftime.c" ||
		die "cannot build bench/nftime.c"
	"$CLANG" -O2 -g -target bpf -I"/usr/include/$(uname -m)-linux-gnu" \
		-c "$ROOT/bench/empty.bpf.c" -o "$BUILD/empty.bpf.o" ||
		die "cannot build bench/empty.bpf.c"
	"$CC" -O2 -Wall -Wextra -o "$BUILD/nfverify" "$ROOT/bench/nfverify.c" -lbpf ||
		die "cannot build bench/nfverify.c"
	printf 'int main(void) { return 0; }\n' >"$BUILD/true.c"
	# drain: reads its standard input to the end, the floor under a hook given the same state
	printf '#include <unistd.h>\nint main(void) { static char b[1 << 16];\n%s\n}\n' \
		'while (read(0, b, sizeof(b)) > 0) ; return 0;' >"$BUILD/drain.c"
	"$CC" -O2 -static -o "$BUILD/drain-static" "$BUILD/drain.c" ||
		die "cannot build a static drain program (static libc missing?)"
	"$CC" -O2 -static -o "$BUILD/true-static" "$BUILD/true.c" 2>/dev/null ||
		say "bench: no static libc: the runc section will be skipped"
}

setup()
{
	[ "$(id -u)" = 0 ] || die "needs root (cgroup eBPF, bpffs, network namespaces)"
	[ -x "$NETFENCE" ] || die "$NETFENCE not found (run make)"
	local c
	for c in bpftool ip "$PYTHON" "$CC" "$CLANG" sysctl mount unshare; do
		command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed (make deps)"
	done
	CG2=$(find_cgroup2)
	[ -n "$CG2" ] || die "no cgroup v2 hierarchy in /proc/self/mountinfo"
	[ "$CG2" = /sys/fs/cgroup ] || RUNC_BIND=1
	T=$(mktemp -d /tmp/netfence-bench.XXXXXX) || die "cannot create a temporary directory"
	chmod 755 "$T"
	CGP="$CG2/netfence-bench.$$"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$T/gen" "$T/bundle" "$T/logs"
	mkdir "$CGP" || die "cannot create $CGP"
	world current "$NETFENCE"
	if [ -n "$BASE_SPEC" ]; then
		build_base
		world base "$T/base/netfence"
		WORLDS="current base"
	fi
	# The capabilities runc spec gives: without them the hook refuses a container that could
	# lift its own fence.
	cat >"$T/bundle/config.json" <<'EOF'
{"ociVersion": "1.0.2", "process": {"capabilities": {
  "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
  "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
  "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]}}}
EOF
	STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
	build_helpers
	: >"$T/results.jsonl"
}

# rec JSON: one result record.
rec()
{
	printf '%s\n' "$1" >>"$T/results.jsonl"
}

# A private network namespace where 10.0.0.0/8 and fd00::/8 are local, on a veth pair whose
# two ends both stay inside it, with a listener (TCP accept-and-close, UDP sink) on $PORT.
# Connections to 10/8 come from 192.168.0.1 (the local route's source), outside every CIDR of
# the benchmark, so that replies and a reject's ICMP error are not themselves rejected.
make_netns()
{
	local ns="nfb$$-$1" log="$T/logs/serve-$1"
	ip netns add "$ns" || die "cannot create network namespace $ns"
	NS_LIST="$NS_LIST $ns"
	# shellcheck disable=SC2015 # die only runs on failure; it exits
	ip -n "$ns" link set lo up &&
		ip -n "$ns" link add nf0 type veth peer name nf1 &&
		ip -n "$ns" link set nf0 up && ip -n "$ns" link set nf1 up &&
		ip -n "$ns" addr add 10.0.0.1/8 dev nf0 &&
		ip -n "$ns" addr add 192.168.0.1/32 dev nf0 &&
		ip -n "$ns" route add local 10.0.0.0/8 dev nf0 table local src 192.168.0.1 &&
		ip -n "$ns" -6 addr add fd00::1/8 dev nf0 nodad &&
		ip -n "$ns" -6 route add local fd00::/8 dev nf0 table local ||
		die "cannot set up the addresses of $ns"
	# A firewall's reject answers with an ICMP error: unthrottled, so that a refusal is as fast
	# as the firewall can make it rather than the ICMP rate limit (1000/s by default).
	ip netns exec "$ns" sysctl -qw net.core.somaxconn=65535 net.ipv4.icmp_ratelimit=0 \
		net.ipv4.icmp_msgs_per_sec=10000000 net.ipv4.icmp_msgs_burst=10000000
	mkdir -p "$CGP/srv"
	"$BUILD/nfload" --netns "$ns" --cgroup "$CGP/srv" serve "$PORT" >"$log" 2>&1 &
	BG_PIDS="$BG_PIDS $!"
	for _ in $(seq 50); do
		grep -q ready "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	die "the listener in $ns did not start: $(cat "$log")"
}

# prog_id WORLD ID HOOK: the program behind the pinned link of fence ID.
prog_id()
{
	bpftool link show pinned "${NFROOT[$1]}/$2/link_$3" --json 2>/dev/null |
		"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])'
}

# prog_stats ID...: "id run_cnt run_time_ns" per program.
prog_stats()
{
	local id
	for id in "$@"; do
		bpftool prog show id "$id" --json | "$PYTHON" -c '
import json, sys
p = json.load(sys.stdin)
print(p["id"], p.get("run_cnt", 0), p.get("run_time_ns", 0))'
	done
}

# base_failed KEY WHAT: the base cannot run KEY (say, "hook 100 cold"): noted in the results and
# on stderr, and its rows left out, rather than the run given up. A failure of the binary under
# test ends the run.
declare -A BASE_SKIP
base_failed()
{
	local why
	[ -n "${BASE_SKIP[$1]:-}" ] && return 0
	BASE_SKIP[$1]=1
	why=$(printf '%s' "$2" | tr '\n' ' ')
	say "bench: base $BASE_LABEL: $1 skipped: $why"
	rec "$("$PYTHON" -c 'import json, sys; print(json.dumps({"section": "base_skipped",
		"what": sys.argv[1], "why": sys.argv[2]}))' "$1" "$why")"
}

# turns 0|1: the binaries in the order they take their turns: "current base" for 0, "base
# current" for 1 (just "current" without a base).
turns()
{
	if [ "$1" = 0 ] || [ "$WORLDS" = current ]; then
		echo "$WORLDS"
	else
		echo "base current"
	fi
}

# --- 1. hook latency ----------------------------------------------------------------------------

state_json()
{
	# state_json STATUS PID POLICY_FILE: an OCI state as runc sends it (annotations included).
	"$PYTHON" - "$1" "$2" "$3" "$T/bundle" <<'PY'
import json, sys
status, pid, policy, bundle = sys.argv[1:5]
s = {"ociVersion": "1.0.2", "id": "bench-hook", "status": status, "bundle": bundle,
     "annotations": {"io.netfence.policy": open(policy).read()}}
if int(pid):
    s["pid"] = int(pid)
print(json.dumps(s, separators=(",", ":")))
PY
}

# progsets WORLD: how many shared program sets are pinned. netfence keeps one per distinct
# compiled policy and settings under <bpffs_root>/@programs/ while a fence links to it, and
# unpins it with the last such fence.
progsets()
{
	local d c=0
	for d in "${NFROOT[$1]}/@programs"/*; do
		[ -e "$d" ] && c=$((c + 1))
	done
	echo "$c"
}

# expect_progsets WORLD N WHEN: fail unless N program sets are pinned. A shared measurement that
# loaded its own programs (the hook and `netfence attach` compiling the policy to different
# settings) would show as two, and would time a cold attach under the shared label.
expect_progsets()
{
	local got
	got=$(progsets "$1")
	[ "$got" = "$2" ] && return 0
	set -- "$1" "$3: $got program sets pinned in ${NFROOT[$1]}/@programs, expected $2" \
		"($(cd "${NFROOT[$1]}/@programs" 2>/dev/null && echo *))"
	[ "$1" = base ] || die "$2 $3"
	say "bench: base: $2 $3"
	return 1
}

# sibling WORLD POLICY_FILE|"": the fence bench-sibling of that world on its own cgroup
# ($CGP/hook-sibling, or hook-sibling-base) with that policy, or none. With it in force, a fence
# with the same policy shares its programs: it only links to them. It is a bare cgroup fenced by
# `netfence attach`, as an operator would fence one by hand.
sibling()
{
	local w=$1 cg=$CGP/hook-sibling
	[ "$w" = current ] || cg=$cg-$w
	[ "$2" = "${SIBLING[$w]}" ] && return 0
	if [ -n "${SIBLING[$w]}" ]; then
		nfx "$w" detach bench-sibling >/dev/null 2>"$T/logs/sibling.err" ||
			die "detach of the $w sibling fence failed: $(cat "$T/logs/sibling.err")"
		SIBLING[$w]=""
	fi
	[ -n "$2" ] || return 0
	mkdir -p "$cg"
	if ! nfx "$w" attach --id bench-sibling --cgroup "$cg" --policy "$2" \
		>/dev/null 2>"$T/logs/sibling.err"; then
		[ "$w" = base ] || die "attach of the sibling fence ($2) failed: $(cat "$T/logs/sibling.err")"
		base_failed "hook $(basename "$2")" "attach of the sibling: $(cat "$T/logs/sibling.err")"
		return 1
	fi
	SIBLING[$w]=$2
}

# busy_ids: the ids of the busy host's extra fences (bench_hook_busy).
busy_ids()
{
	local k
	for ((k = 2; k <= BUSY_FENCES; k++)); do
		echo "bench-busy-$k"
	done
}

# hook_pair WORLD RULES cold|shared [untimed [TAG [ITER]]]: one attach (createRuntime) and one
# detach (poststop) of the hook of WORLD, timed by nftime and recorded as attach/detach (cold) or
# attach_shared/detach_shared. Cold runs the size's policy (mix4-N), which no other fence holds;
# shared runs its twin (mix4-Ns: same generator and size, another seed), which the sibling fence
# holds throughout. The number of program sets pinned is checked around each step, outside the
# timed part: the sibling's always, and the cold fence's own while it is attached. A failure of
# the base leaves its rows of that size and kind out (base_failed).
hook_pair()
{
	local w=$1 n=$2 kind=$3 timed=${4:-timed} tag=${5:-} iter=${6:-} sfx="" during=2 op stage
	local line us rss rc user sys key extra
	key="hook $n$tag $kind"
	[ "$w" = base ] && [ -n "${BASE_SKIP[$key]:-}${BASE_SKIP[hook mix4-${n}s.json]:-}" ] &&
		return 0
	if [ "$kind" = shared ]; then
		sfx=_shared during=1 n=${n}s
	fi
	sfx=$sfx$tag
	extra=$(binary_tag "$w")
	[ -n "$iter" ] && extra="$extra,\"iter\":$iter"
	expect_progsets "$w" 1 "before a $kind attach of ${n%s} rules" ||
		{ base_failed "$key" "program sets before the attach"; return 0; }
	for op in attach detach; do
		[ $op = attach ] && stage=createRuntime || stage=poststop
		line=$("$BUILD/nftime" "$T/gen/state-$op-$n.json" "${NFBIN[$w]}" \
			--config "${NFCONF[$w]}" --bpffs-root "${NFROOT[$w]}" \
			--state-dir "${NFSTATE[$w]}" hook "$stage" 2>>"$T/logs/hook.err")
		read -r us rss rc user sys <<<"$line"
		if [ "$rc" != 0 ]; then
			[ "$w" = base ] || die "hook $op ($kind) of ${n%s} rules exited $rc: $(tail -n 2 "$T/logs/hook.err")"
			base_failed "$key" "hook $op exited $rc: $(tail -n 2 "$T/logs/hook.err")"
			nfx base hook poststop <"$T/gen/state-detach-$n.json" >/dev/null 2>&1
			wait_detached "$CGP/hook"
			return 0
		fi
		[ "$timed" = timed ] &&
			rec "{\"section\":\"hook\",\"rules\":${n%s},\"op\":\"$op$sfx\",\"us\":$us,\"rss_kb\":$rss,\"user_us\":$user,\"sys_us\":$sys$extra}"
		# Attached: the cold fence's own set beside the sibling's, or only the sibling's,
		# which the shared fence links to (two would mean the hook and `netfence attach`
		# compiled the policy to different settings). Detached: the sibling's alone.
		if [ $op = attach ] && ! expect_progsets "$w" $during "after a $kind attach of ${n%s} rules"; then
			base_failed "$key" "program sets after the attach"
			nfx base hook poststop <"$T/gen/state-detach-$n.json" >/dev/null 2>&1
			wait_detached "$CGP/hook"
			return 0
		fi
		if [ $op = detach ] && ! expect_progsets "$w" 1 "after a $kind detach of ${n%s} rules"; then
			base_failed "$key" "program sets after the detach"
			return 0
		fi
	done
	# With a base, each binary's turn starts from a cgroup without programs, whether or not
	# the detach before it waited for the kernel to let go of its links.
	[ "$WORLDS" = current ] || wait_detached "$CGP/hook"
}

bench_hook()
{
	local n pid i line us kinds kind p w
	say "== hook attach/detach latency, cold and shared ($HOOK_RUNS runs of each per size${BASE_LABEL:+ and binary})"
	mkdir -p "$CGP/hook"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 100000' sh "$CGP/hook" &
	pid=$!
	BG_PIDS="$BG_PIDS $pid"
	sleep 0.1
	for n in $SIZES; do
		for p in "$n" "${n}s"; do
			state_json creating "$pid" "$T/gen/mix4-$p.json" >"$T/gen/state-attach-$p.json"
			state_json stopped 0 "$T/gen/mix4-$p.json" >"$T/gen/state-detach-$p.json"
		done
		for w in $WORLDS; do
			# The sibling fence holds the shared twin for the whole size, so that both kinds
			# run beside one other fence (the kernel's cgroup BPF switches stay on, as on any
			# host with a fence) and no set is loaded or freed between timed runs but the
			# cold fence's own. With a base, each binary has its sibling, both in force.
			sibling "$w" "$T/gen/mix4-${n}s.json" || continue
			# One untimed pair of each first: page cache, the lock file, the bpffs root.
			if ! nfx "$w" hook createRuntime <"$T/gen/state-attach-$n.json" >/dev/null \
				2>"$T/logs/hook.err"; then
				[ "$w" = base ] || die "hook attach of $n rules failed: $(cat "$T/logs/hook.err")"
				base_failed "hook $n cold" "warm-up attach: $(cat "$T/logs/hook.err")"
			fi
			[ "$(bpftool cgroup show "$CGP/hook" 2>/dev/null | grep -c ' nf_')" -ge 4 ] ||
				[ -n "${BASE_SKIP[hook $n cold]:-}" ] ||
				die "the $w hook reported success but no nf_* program is on $CGP/hook"
			nfx "$w" hook poststop <"$T/gen/state-detach-$n.json" >/dev/null 2>&1
			[ "$WORLDS" = current ] || wait_detached "$CGP/hook"
			hook_pair "$w" "$n" shared untimed
		done
		for ((i = 0; i < HOOK_RUNS; i++)); do
			# Cold and shared take turns within the loop, so that the machine's drifts fall
			# on both alike, in the order C S, S C, C S...: each runs first in half of the
			# iterations. With a base, the binaries take turns within each kind, the base
			# first in every other pair of iterations.
			((i % 2 == 0)) && kinds="cold shared" || kinds="shared cold"
			for kind in $kinds; do
				for w in $(turns $((i / 2 % 2))); do
					hook_pair "$w" "$n" "$kind" timed "" "$i"
				done
			done
			# The floor: a static program that only reads the same state from the pipe.
			line=$("$BUILD/nftime" "$T/gen/state-attach-$n.json" "$BUILD/drain-static")
			read -r us _ <<<"$line"
			rec "{\"section\":\"hook\",\"rules\":$n,\"op\":\"drain\",\"us\":$us,\"rss_kb\":0,\"user_us\":0,\"sys_us\":0}"
		done
		for w in $WORLDS; do
			sibling "$w" ""
		done
		rec "{\"section\":\"hook_sizes\",\"rules\":$n,\"policy_bytes\":$(stat -c %s "$T/gen/mix4-$n.json"),\"state_bytes\":$(stat -c %s "$T/gen/state-attach-$n.json")}"
		say "   $n rules done"
	done
	bench_hook_busy "$pid"
	kill "$pid" 2>/dev/null
	bench_verifier
}

# bench_hook_busy PID: the 100-rule rows again on a busy host, with BUSY_FENCES fences in force
# (a Kubernetes node runs up to 110 pods): the sibling and the rest on cgroups of their own, all
# with the twin policy. Every hook run judges every fence for its gc, so this is what the
# number of fences costs a container start. Recorded as attach_busy, attach_shared_busy, ...
# With a base, each binary has its BUSY_FENCES fences (on cgroups of its own), all in force.
bench_hook_busy()
{
	local pid=$1 i k kinds kind n=100 w cg ok
	[ "$BUSY_FENCES" -gt 1 ] || return 0
	in_list 100 "$SIZES" || return 0
	for w in $WORLDS; do
		sibling "$w" "$T/gen/mix4-${n}s.json" || continue
		cg=$CGP/busy
		[ "$w" = current ] || cg=$cg-$w
		ok=1
		for ((k = 2; k <= BUSY_FENCES; k++)); do
			mkdir -p "$cg/$k"
			nfx "$w" attach --id "bench-busy-$k" --cgroup "$cg/$k" \
				--policy "$T/gen/mix4-${n}s.json" >/dev/null 2>"$T/logs/busy.err" && continue
			[ "$w" = base ] || die "attach of busy fence $k failed: $(cat "$T/logs/busy.err")"
			base_failed "hook ${n}_busy cold" "busy fence $k: $(cat "$T/logs/busy.err")"
			BASE_SKIP[hook ${n}_busy shared]=1
			ok=0
			break
		done
		[ $ok = 1 ] || continue
		expect_progsets "$w" 1 "with $BUSY_FENCES fences of one policy in force" ||
			{ base_failed "hook ${n}_busy cold" "program sets" &&
				BASE_SKIP[hook ${n}_busy shared]=1; }
		hook_pair "$w" "$n" shared untimed _busy
	done
	for ((i = 0; i < HOOK_RUNS; i++)); do
		((i % 2 == 0)) && kinds="cold shared" || kinds="shared cold"
		for kind in $kinds; do
			for w in $(turns $((i / 2 % 2))); do
				hook_pair "$w" "$n" "$kind" timed _busy "$i"
			done
		done
	done
	for w in $WORLDS; do
		for k in $(busy_ids); do
			if ! nfx "$w" detach "$k" >/dev/null 2>&1; then
				[ "$w" = base ] || die "detach of $k failed"
			fi
		done
		sibling "$w" ""
	done
	rec "{\"section\":\"hook_busy\",\"fences\":$BUSY_FENCES}"
	say "   $n rules with $BUSY_FENCES fences in force done"
}

# The verifier's share of an attach: every program of the embedded object, loaded alone, with
# every capability and with only those the hook keeps, and the settings of the fences timed
# above (events on, raw sockets denied under "default": "deny", loopback by the rules for a
# process in the host's network namespace). With a base, its objects too, taking turns.
bench_verifier()
{
	local obj caps line build dir w
	local -a settings=(nf_events_per_sec=100 nf_raw_deny=1 nf_loopback_allow=0)
	for build in large small; do
		for caps in all hook; do
			for w in $WORLDS; do
				# The objects embedded in the binary under test: they are built beside it.
				# The large build serves every policy, the small one policies of up to about
				# a hundred rules.
				if [ "$w" = base ]; then
					dir=$BASE_BPF
					[ -n "$dir" ] || continue
				else
					dir=$(dirname "$NETFENCE")/.output/bpf
					[ -f "$dir/netfence.bpf.o" ] || dir=$ROOT/.output/bpf
				fi
				obj=$dir/netfence.bpf.o
				[ $build = large ] || obj=$dir/netfence_$build.bpf.o
				[ -f "$obj" ] || continue
				if [ $caps = hook ]; then
					command -v setpriv >/dev/null 2>&1 || continue
					set -- setpriv --bounding-set=-all,+bpf,+net_admin \
						--inh-caps=-all,+bpf,+net_admin "$BUILD/nfverify" "$obj" \
						"${settings[@]}"
				else
					set -- "$BUILD/nfverify" "$obj" "${settings[@]}"
				fi
				"$@" >"$T/verify.out" 2>>"$T/logs/verify.err"
				while read -r line; do
					rec "{\"section\":\"verifier\",\"build\":\"$build\",\"caps\":\"$caps\",\"result\":$line$(binary_tag "$w")}"
				done <"$T/verify.out"
			done
		done
	done
}

# --- 2. verdict cost and kernel memory -------------------------------------------------------------

# fence_memory WORLD FAMILY RULES: the maps and programs of fence bench-verdict, as one record.
fence_memory()
{
	local w=$1 ids="" h
	shift
	for h in "${NFROOT[$w]}/bench-verdict"/link_*; do
		ids="$ids $(prog_id "$w" bench-verdict "${h##*/link_}")"
	done
	# shellcheck disable=SC2086 # one argument per program id
	"$PYTHON" - "$1" "$2" "{\"x\":0$(binary_tag "$w")}" $ids <<'PY' >>"$T/results.jsonl"
import json, subprocess, sys
fam, rules, extra, ids = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4:]
def show(kind, i):
    return json.loads(subprocess.check_output(["bpftool", kind, "show", "id", str(i), "--json"]))
progs = [show("prog", i) for i in ids]
map_ids = sorted({m for p in progs for m in p.get("map_ids", [])})
maps = [show("map", m) for m in map_ids]
r = {
    "section": "memory", "family": fam, "rules": rules,
    "progs": [{k: p.get(k) for k in ("name", "bytes_xlated", "bytes_jited", "bytes_memlock",
                                      "verified_insns")} for p in progs],
    "maps": [{k: m.get(k) for k in ("name", "type", "max_entries", "bytes_key", "bytes_value",
                                     "bytes_memlock")} for m in maps],
}
extra.pop("x")
r.update(extra)
print(json.dumps(r))
PY
}

# measure_verdict LABEL FAMILY RULES DESTS CGROUP EXTRA PROG_ID...: one stats-enabled pass of the
# mix load; EXTRA, a JSON object, adds its members to the record (which binary, which round).
measure_verdict()
{
	local label=$1 fam=$2 n=$3 dests=$4 cg=$5 extra=$6
	shift 6
	"$BUILD/nfload" --netns "nfb$$-base" --cgroup "$cg" mix "$dests" 1 >/dev/null # warm up
	prog_stats "$@" >"$T/stats.before"
	sysctl -qw kernel.bpf_stats_enabled=1
	"$BUILD/nfload" --netns "nfb$$-base" --cgroup "$cg" mix "$dests" "$PASSES" >"$T/mix.out"
	sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD"
	prog_stats "$@" >"$T/stats.after"
	"$PYTHON" - "$label" "$fam" "$n" "$T/stats.before" "$T/stats.after" "$T/mix.out" "$extra" \
		<<'PY' >>"$T/results.jsonl"
import json, subprocess, sys
label, fam, n, before, after, mix, extra = sys.argv[1:8]
b = {l.split()[0]: l.split()[1:] for l in open(before)}
progs = {}
for line in open(after):
    pid, cnt, ns = line.split()
    name = json.loads(subprocess.check_output(["bpftool", "prog", "show", "id", pid, "--json"]))["name"]
    dc, dt = int(cnt) - int(b[pid][0]), int(ns) - int(b[pid][1])
    progs[name] = {"calls": dc, "ns_per_call": round(dt / dc, 1) if dc else None}
r = {"section": "verdict", "label": label, "family": int(fam), "rules": int(n),
     "programs": progs, "load": json.loads(open(mix).read())}
r.update(json.loads(extra))
print(json.dumps(r))
PY
}

bench_verdict()
{
	local fam n ids h rounds=1 r w extra
	[ "$WORLDS" = current ] || rounds=$VERDICT_ROUNDS
	say "== verdict cost (bpf_stats, $VERDICT_REPEAT x 4096 destinations${BASE_LABEL:+, in $rounds rounds of both binaries})"
	mkdir -p "$CGP/verdict" "$CGP/empty"
	# The floor: programs returning 1, attached to their own cgroup.
	bpftool prog loadall "$BUILD/empty.bpf.o" "$T/bpffs/empty" ||
		die "cannot load bench/empty.bpf.c"
	for h in connect4 sendmsg4 connect6 sendmsg6; do
		bpftool cgroup attach "$CGP/empty" "$h" pinned "$T/bpffs/empty/empty_$h" ||
			die "cannot attach the empty $h program"
	done
	ids=""
	for h in connect4 sendmsg4 connect6 sendmsg6; do
		ids="$ids $(bpftool prog show pinned "$T/bpffs/empty/empty_$h" --json |
			"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
	done
	for fam in 4 6; do
		PASSES=$VERDICT_REPEAT
		# shellcheck disable=SC2086
		measure_verdict empty "$fam" 0 "$T/gen/mix$fam-16384.dests" "$CGP/empty" '{}' $ids
	done
	for fam in 4 6; do
		for n in $SIZES; do
			# With a base, the binaries take turns on the same cgroup: attach, measure,
			# detach, the other; each round starting with the other binary.
			PASSES=$(((VERDICT_REPEAT + rounds - 1) / rounds))
			for ((r = 0; r < rounds; r++)); do
				for w in $(turns $((r % 2))); do
					[ "$w" = base ] && [ -n "${BASE_SKIP[verdict $fam $n]:-}" ] && continue
					if ! nfx "$w" attach --id bench-verdict --cgroup "$CGP/verdict" \
						--policy "$T/gen/mix$fam-$n.json" >/dev/null \
						2>"$T/logs/attach.err"; then
						[ "$w" = base ] ||
							die "attach of mix$fam-$n failed: $(cat "$T/logs/attach.err")"
						base_failed "verdict $fam $n" "attach: $(cat "$T/logs/attach.err")"
						nfx base detach bench-verdict >/dev/null 2>&1
						wait_detached "$CGP/verdict"
						continue
					fi
					# Every program of the fence: the sock_addr ones judge each
					# connect/sendmsg, others (sock_create, a cgroup_skb egress filter)
					# run per socket or per packet.
					ids=""
					for h in "${NFROOT[$w]}/bench-verdict"/link_*; do
						ids="$ids $(prog_id "$w" bench-verdict "${h##*/link_}")"
					done
					extra="{}"
					[ "$WORLDS" = current ] ||
						extra="{\"round\":$r$(binary_tag "$w")}"
					# shellcheck disable=SC2086
					measure_verdict netfence "$fam" "$n" "$T/gen/mix$fam-$n.dests" \
						"$CGP/verdict" "$extra" $ids
					[ "$r" = 0 ] && fence_memory "$w" "$fam" "$n"
					nfx "$w" detach bench-verdict >/dev/null 2>&1
					[ "$WORLDS" = current ] || wait_detached "$CGP/verdict"
				done
			done
			say "   IPv$fam $n rules done"
		done
	done
	for h in connect4 sendmsg4 connect6 sendmsg6; do
		bpftool cgroup detach "$CGP/empty" "$h" pinned "$T/bpffs/empty/empty_$h" 2>/dev/null
	done
	rm -rf "$T/bpffs/empty"
}

# --- 3. connect() throughput -----------------------------------------------------------------

# tput CONFIG RULES PROTO DESTS ROUND: one throughput run; CONFIG picks the netns and cgroup.
tput()
{
	local cfg=$1 n=$2 proto=$3 dests=$4 round=$5 ns cg secs
	case $cfg in
	unfenced) ns=base cg=$CGP/unfenced ;;
	netfence) ns=base cg=$CGP/fenced ;;
	*) ns=$cfg cg=$CGP/unfenced ;;
	esac
	if [ "$proto" = tcp ]; then
		"$BUILD/nfload" --netns "nfb$$-$ns" --cgroup "$cg" tcp "$dests" "$PORT" "$TPUT_SECS" \
			"$TPUT_WINDOW" >"$T/tput.out" 2>>"$T/logs/tput.err"
	else
		secs=$(awk -v s="$TPUT_SECS" 'BEGIN { print s / 2 }')
		"$BUILD/nfload" --netns "nfb$$-$ns" --cgroup "$cg" udp "$dests" "$PORT" "$secs" \
			>"$T/tput.out" 2>>"$T/logs/tput.err"
	fi
	rec "{\"section\":\"tput\",\"config\":\"$cfg\",\"rules\":$n,\"dest\":\"$(basename "$dests" |
		sed 's/.*\.//')\",\"proto\":\"$proto\",\"round\":$round,\"result\":$(cat "$T/tput.out")}"
}

load_firewalls()
{
	local n=$1 g="$T/gen/block-$1"
	if in_list nft "$FWS"; then
		ip netns exec "nfb$$-nft" nft flush ruleset
		ip netns exec "nfb$$-nft" nft -f "$g.nft" || die "nft could not load $g.nft"
	fi
	if in_list iptables "$FWS"; then
		ip netns exec "nfb$$-iptables" iptables-restore <"$g.ipt" ||
			die "iptables-restore could not load $g.ipt"
	fi
	if in_list iptables-ct "$FWS"; then
		ip netns exec "nfb$$-iptables-ct" iptables-restore <"$g.ipt-ct" ||
			die "iptables-restore could not load $g.ipt-ct"
	fi
	if in_list iptables-legacy "$FWS"; then
		ip netns exec "nfb$$-iptables-legacy" iptables-legacy-restore <"$g.ipt" ||
			die "iptables-legacy-restore could not load $g.ipt"
	fi
}

clear_firewalls()
{
	local fw
	for fw in $FWS; do
		ip netns exec "nfb$$-$fw" nft flush ruleset 2>/dev/null
		if [ "$fw" = iptables-legacy ]; then
			ip netns exec "nfb$$-$fw" iptables-legacy -F OUTPUT 2>/dev/null
		fi
	done
}

bench_connect()
{
	local n r cfgs rot c proto i
	say "== connect()/sendto() throughput ($TPUT_ROUNDS rounds of ${TPUT_SECS}s per configuration)"
	mkdir -p "$CGP/unfenced" "$CGP/fenced"
	FWS=""
	command -v nft >/dev/null 2>&1 && FWS="$FWS nft"
	if command -v iptables-restore >/dev/null 2>&1; then
		FWS="$FWS iptables iptables-ct"
	fi
	command -v iptables-legacy-restore >/dev/null 2>&1 && FWS="$FWS iptables-legacy"
	[ -n "$FWS" ] || say "bench: neither nft nor iptables is installed: firewall rows skipped"
	for c in $FWS; do
		make_netns "$c"
	done
	for n in $SIZES; do
		nf attach --id bench-tput --cgroup "$CGP/fenced" --policy "$T/gen/block-$n.policy.json" \
			>/dev/null 2>"$T/logs/attach.err" ||
			die "attach of block-$n failed: $(cat "$T/logs/attach.err")"
		cfgs="unfenced netfence"
		if in_list "$n" "$FW_SIZES"; then
			load_firewalls "$n"
			cfgs="$cfgs $FWS"
		else
			clear_firewalls
		fi
		# shellcheck disable=SC2086
		set -- $cfgs
		for ((r = 0; r < TPUT_ROUNDS; r++)); do
			# Rotate the order every round, so that no configuration always runs first.
			rot=("${@:$((r % $# + 1))}" "${@:1:$((r % $#))}")
			for c in "${rot[@]}"; do
				for proto in tcp udp; do
					tput "$c" "$n" "$proto" "$T/gen/block-$n.allowed" "$r"
				done
			done
		done
		# Denied destinations: how fast a refusal comes back (EPERM, or the firewall's reject).
		for c in "$@"; do
			[ "$c" = unfenced ] && continue
			tput "$c" "$n" tcp "$T/gen/block-$n.denied" 0
		done
		say "   $n rules done"
	done
	clear_firewalls
	nf detach bench-tput >/dev/null 2>&1
}

# --- 4. container start --------------------------------------------------------------------------

# runc_bundle DIR POLICY_FILE|"" CGROUPS_PATH [hooks|none|noop]: a container running /bin/true
# in its own namespaces, with the policy annotation when a policy is given, and the netfence
# hooks (hooks, with a policy), no hooks (none), or two hooks that are a static /bin/true (noop).
runc_bundle()
{
	mkdir -p "$1"
	"$PYTHON" - "$1" "$2" "$T" "$NETFENCE" "$T/rootfs" "$3" "${4:-hooks}" "$BUILD/true-static" <<'PY'
import json, os, sys
d, policy, t, netfence, rootfs, cgpath, with_hooks, true = sys.argv[1:9]
nf = [netfence, "--config", t + "/netfence.json", "--bpffs-root", t + "/bpffs",
      "--state-dir", t + "/state", "hook"]
hooks, annotations = {}, {}
if policy:
    annotations["io.netfence.policy"] = open(policy).read()
if policy and with_hooks == "hooks":
    hooks = {"createRuntime": [{"path": netfence, "args": ["netfence"] + nf[1:] + ["createRuntime"]}],
             "poststop": [{"path": netfence, "args": ["netfence"] + nf[1:] + ["poststop"]}]}
if with_hooks == "noop":
    hooks = {"createRuntime": [{"path": true}], "poststop": [{"path": true}]}
config = {
    "ociVersion": "1.0.2",
    "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["/bin/true"],
                "env": ["PATH=/bin"], "cwd": "/", "noNewPrivileges": True,
                "capabilities": {k: ["CAP_KILL"] for k in ("bounding", "effective", "permitted")}},
    "root": {"path": rootfs, "readonly": True},
    "hostname": "bench",
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "hooks": hooks,
    "annotations": annotations,
    "linux": {"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
              "cgroupsPath": cgpath, "resources": {}},
}
json.dump(config, open(os.path.join(d, "config.json"), "w"))
PY
}

bench_runc()
{
	local v n
	if ! command -v runc >/dev/null 2>&1 || [ ! -x "$BUILD/true-static" ]; then
		say "== runc: skipped (no runc or no static libc)"
		rec '{"section":"runc_skipped"}'
		return 0
	fi
	say "== runc run, with and without the hooks ($RUNC_RUNS or $RUNC_RUNS_HEAVY runs per variant)"
	mkdir -p "$T/rootfs/bin" "$T/rootfs/proc" "$T/runc-root"
	cp "$BUILD/true-static" "$T/rootfs/bin/true"
	# ann16384: the 16384-rule policy in the annotations without the hooks, so that runc's own
	# cost of a 1 MB config and state is not counted as netfence's. noop: two hooks that are a
	# static /bin/true, what any createRuntime + poststop pair costs before doing anything.
	# nf100s: a container like nf100 whose 100-rule policy (the twin, mix4-100s) the sibling
	# fence holds, so that its hook only links.
	for v in $RUNC_LIGHT $RUNC_HEAVY; do
		case $v in
		plain) runc_bundle "$T/rc-$v" "" "/${CGP#"$CG2"/}/rc-$v" ;;
		noop) runc_bundle "$T/rc-$v" "" "/${CGP#"$CG2"/}/rc-$v" noop ;;
		ann*) runc_bundle "$T/rc-$v" "$T/gen/mix4-${v#ann}.json" "/${CGP#"$CG2"/}/rc-$v" none ;;
		*) runc_bundle "$T/rc-$v" "$T/gen/mix4-${v#nf}.json" "/${CGP#"$CG2"/}/rc-$v" ;;
		esac
	done
	# The sibling fence of nf100s, on a cgroup of its own. The inner shell attaches and
	# detaches it, and sees the cgroup v2 hierarchy at /sys/fs/cgroup.
	mkdir -p "$CGP/rc-sibling"
	# One shell in the runtime's mount namespace runs every container; the variants take turns,
	# each under its own id and cgroup, which runc removes when the container exits.
	# shellcheck disable=SC2016
	runc_ns bash -c '
		b=$1 t=$2 light=$3 light_runs=$4 heavy=$5 heavy_runs=$6 netfence=$7 sibcg=$8
		sib=off
		nf() {
			"$netfence" --config "$t/netfence.json" --bpffs-root "$t/bpffs" \
				--state-dir "$t/state" "$@"
		}
		sets() { # the shared program sets pinned (see progsets in run.sh)
			ls -A "$t/bpffs/@programs" 2>/dev/null | wc -l
		}
		# sibling on|off: the fence bench-sibling with the twin 100-rule policy, on a bare
		# cgroup.
		sibling() {
			[ "$1" = "$sib" ] && return 0
			if [ "$1" = on ]; then
				nf attach --id bench-sibling --cgroup "$sibcg" \
					--policy "$t/gen/mix4-100s.json" >/dev/null 2>"$t/logs/sibling.err"
			else
				nf detach bench-sibling >/dev/null 2>"$t/logs/sibling.err"
			fi || { echo "sibling $1: $(cat "$t/logs/sibling.err")"; exit 1; }
			sib=$1
		}
		# prepare VARIANT: the sibling fence in force during the light group, every variant
		# alike (the kernel'"'"'s cgroup BPF switches stay on, as on any host with a fence), and
		# not during the 1 MB group; and a check that the program sets pinned before a
		# netfence variant are the sibling'"'"'s alone, or none.
		prepare() {
			local want
			case $1 in
			*16384) sibling off && want=0 ;;
			*) sibling on && want=1 ;;
			esac
			case $1 in
			nf*) ;;
			*) return 0 ;;
			esac
			[ "$(sets)" = "$want" ] ||
				{ echo "before $1: $(sets) program sets pinned, expected $want"; exit 1; }
		}
		for v in $light $heavy; do # warm-up, untimed
			prepare "$v"
			runc --root "$t/runc-root" run --bundle "$t/rc-$v" "bench-$v" </dev/null \
				>"$t/logs/runc-warm-$v" 2>&1 ||
				{ echo "warm-up $v: $(tail -n 3 "$t/logs/runc-warm-$v")"; exit 1; }
		done
		# nf100s must share for real: while one of its containers is created (its
		# createRuntime hook has run) beside the sibling, one program set is pinned, not two
		# (the hook, for a container in its own network namespace, and `netfence attach`, for
		# a bare cgroup, could resolve the policy to different settings). runc delete runs
		# its poststop hook, which leaves the sibling'"'"'s set.
		if [ -d "$t/rc-nf100s" ]; then
			prepare nf100s
			runc --root "$t/runc-root" create --bundle "$t/rc-nf100s" bench-check \
				</dev/null >"$t/logs/runc-check" 2>&1 ||
				{ echo "runc create (nf100s): $(tail -n 3 "$t/logs/runc-check")"; exit 1; }
			n=$(sets)
			runc --root "$t/runc-root" delete -f bench-check >>"$t/logs/runc-check" 2>&1
			[ "$n" = 1 ] || { echo "nf100s: $n program sets pinned while the container" \
				"and the sibling fence hold the same policy, expected 1: the hook and" \
				"netfence attach compile it to different settings"; exit 1; }
			prepare nf100s
		fi
		# Each round starts with the next variant of the group, so that none always runs first.
		for group in "$light_runs $light" "$heavy_runs $heavy"; do
			read -r runs group <<<"$group"
			read -r -a order <<<"$group"
			n=${#order[@]}
			for ((i = 0; i < runs; i++)); do
				for ((k = 0; k < n; k++)); do
					v=${order[(i + k) % n]}
					prepare "$v"
					echo "$v $("$b/nftime" /dev/null runc --root "$t/runc-root" \
						run --bundle "$t/rc-$v" "bench-$v" 2>>"$t/logs/runc.err")"
				done
			done
			sibling off
		done' bash "$BUILD" "$T" "$RUNC_LIGHT" "$RUNC_RUNS" "$RUNC_HEAVY" "$RUNC_RUNS_HEAVY" \
		"$NETFENCE" "/sys/fs/cgroup/${CGP#"$CG2"/}/rc-sibling" >"$T/runc.out" ||
		die "runc failed: $(tail -n 3 "$T/runc.out") $(tail -n 3 "$T/logs/runc.err" 2>/dev/null)"
	while read -r v us rss rc _; do
		[ "$rc" = 0 ] || die "runc run ($v) exited $rc: $(tail -n 3 "$T/logs/runc.err")"
		rec "{\"section\":\"runc\",\"variant\":\"$v\",\"us\":$us}"
	done <"$T/runc.out"
}

# --- main ----------------------------------------------------------------------------------------

main()
{
	local n fam t0
	t0=$(date +%s)
	setup
	say "bench: netfence $("$NETFENCE" version 2>/dev/null | head -n 1), kernel $(uname -r), $(nproc) CPUs"
	if [ -n "$BASE_LABEL" ]; then
		say "bench: base $BASE_LABEL: $("${NFBIN[base]}" version 2>/dev/null | head -n 1)"
		rec "$("$PYTHON" -c 'import json, sys; print(json.dumps({"section": "base",
			"label": sys.argv[1], "spec": sys.argv[2], "version": sys.argv[3]}))' \
			"$BASE_LABEL" "$BASE_SPEC" "$("${NFBIN[base]}" version 2>/dev/null | head -n 1)")"
	fi
	for n in $SIZES; do
		for fam in 4 6; do
			"$PYTHON" "$ROOT/bench/gen-policy.py" mix --family "$fam" --rules "$n" \
				--seed "$n" "$T/gen/mix$fam-$n.json" "$T/gen/mix$fam-$n.dests" \
				>>"$T/gen/log" || die "gen-policy.py mix failed"
		done
		"$PYTHON" "$ROOT/bench/gen-policy.py" block --rules "$n" --seed "$n" "$T/gen/block-$n" \
			>>"$T/gen/log" || die "gen-policy.py block failed"
		# The twin of the IPv4 policy (another seed), which the shared measurements run.
		"$PYTHON" "$ROOT/bench/gen-policy.py" mix --family 4 --rules "$n" \
			--seed $((n + 100000)) "$T/gen/mix4-${n}s.json" "$T/gen/mix4-${n}s.dests" \
			>>"$T/gen/log" || die "gen-policy.py mix failed"
	done
	make_netns base
	in_list hook "$ONLY" && bench_hook
	in_list verdict "$ONLY" && bench_verdict
	in_list connect "$ONLY" && bench_connect
	in_list runc "$ONLY" && bench_runc
	cp "$T/results.jsonl" "$BUILD/records.jsonl" # for re-running report.py by hand
	"$PYTHON" "$ROOT/bench/report.py" "$T/results.jsonl" "$OUT" \
		--netfence "$NETFENCE" --seconds $(($(date +%s) - t0)) \
		--params "hook_runs=$HOOK_RUNS verdict_repeat=$VERDICT_REPEAT${BASE_LABEL:+ verdict_rounds=$VERDICT_ROUNDS} tput_secs=$TPUT_SECS tput_rounds=$TPUT_ROUNDS tput_window=$TPUT_WINDOW runc_runs=$RUNC_RUNS/$RUNC_RUNS_HEAVY quick=${BENCH_QUICK:-0}" ||
		die "report.py failed"
}

main "$@"
