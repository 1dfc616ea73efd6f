#!/bin/bash
# Events and counters against the real kernel: `netfence attach` on test cgroups, a client in
# them that is denied, and what `monitor`, `show`, `metrics` make of it.
#
#   event-time-is-verdict-time  an event carries the time of the denial, not of its reading
#   flood-does-not-starve       a fence flooding its events (no monitor running) does not keep
#                               another fence of the same settings from reporting; its own
#                               overflow is counted and reported as dropped
#   second-monitor-refused      a second `monitor` is refused while one runs
#   counters-exact-over-updates counters equal the verdicts a client saw while the fence was
#                               updated back and forth, within one policy's settings and across
#
# Needs root, a cgroup v2 hierarchy, bpftool, jq and a C compiler with a static libc; exits 77
# with the reason when one is missing. Environment: NETFENCE (default ./netfence), CC (default
# cc), KT_KEEP=1 keeps the temporary directory, KT_FILTER=REGEX runs only matching cases.
set -u

# shellcheck source=integration/lib-kernel.sh
. "$(dirname "$0")/lib-kernel.sh"
CC=${CC:-cc}
CASE_FILTER=${KT_FILTER:-}
CLIENT=""
SENDER=""
BG_PIDS=""
MON=""

cleanup()
{
	local pid id cg
	for pid in $BG_PIDS; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ -n "$T" ] && [ -d "$T/state" ]; then
		for id in $("${NF[@]}" --json list 2>/dev/null | jq -r '.[]?.id // empty' 2>/dev/null); do
			"${NF[@]}" detach "$id" >/dev/null 2>&1
		done
	fi
	for cg in "$CG/a" "$CG/b" "$CG"; do
		[ -n "$CG" ] && [ -d "$cg" ] && remove_cgroup "$cg"
	done
	unmount_bpffs
	remove_tmp "${KT_KEEP:-0}"
}

# The sender: UDP sendto() in a loop for SECONDS to 127.0.0.1:9 and 127.0.0.2:9 in turn,
# printing how many sends passed and how many were refused with EPERM.
build_sender()
{
	SENDER=$T/sender
	cat >"$T/sender.c" <<'EOF'
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in to[2] = { { .sin_family = AF_INET, .sin_port = htons(9) },
				     { .sin_family = AF_INET, .sin_port = htons(9) } };
	long ok = 0, eperm = 0, other = 0;
	struct timespec start, now;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (argc != 2 || fd < 0)
		return 1;
	inet_pton(AF_INET, "127.0.0.1", &to[0].sin_addr);
	inet_pton(AF_INET, "127.0.0.2", &to[1].sin_addr);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		for (int i = 0; i < 200; i++) {
			if (sendto(fd, "x", 1, 0, (struct sockaddr *)&to[i & 1], sizeof(to[0])) == 1)
				ok++;
			else if (errno == EPERM)
				eperm++;
			else
				other++;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < atoi(argv[1]));
	printf("%ld %ld %ld\n", ok, eperm, other);
	return 0;
}
EOF
	"$CC" -static -O2 -o "$SENDER" "$T/sender.c" || skip "cannot build the sender with '$CC -static'"
}

setup()
{
	need_root
	need_commands bpftool jq "$CC" mount umount timeout
	need_cgroup2
	need_netfence
	make_tmp events
	mkdir -p "$T/bpffs" "$T/state" "$T/policies"
	mount_bpffs
	# A rate high enough to fill a ring in a moment.
	write_config policies '{"events": {"enabled": true, "rate_per_sec": 1000000}}'
	copy_netfence
	build_client
	build_sender
	CG=$CG2/netfence-events-$$
	mkdir "$CG" "$CG/a" "$CG/b" || skip "cannot create cgroups under $CG2"
	policy deny '{"version":1,"default":"deny","loopback":"policy","rules":[]}'
	policy one '{"version":1,"default":"deny","loopback":"policy","raw_sockets":"allow",
		"rules":[{"action":"allow","cidr":"127.0.0.1/32"}]}'
	policy one_b '{"version":1,"default":"deny","loopback":"policy","raw_sockets":"allow",
		"rules":[{"action":"allow","cidr":"127.0.0.1/32"},{"action":"allow","cidr":"10.9.9.9/32"}]}'
	policy one_raw '{"version":1,"default":"deny","loopback":"policy","raw_sockets":"deny",
		"rules":[{"action":"allow","cidr":"127.0.0.1/32"}]}'
}

nf()
{
	"${NF[@]}" "$@"
}

policy()
{
	printf '%s\n' "$2" >"$T/policies/$1.json"
}

attach()
{
	local out
	out=$(nf attach --id "$1" --cgroup "$CG/$2" --policy "$T/policies/$3.json" 2>&1) ||
		{ fail "attach $1: $out"; return 1; }
}

# in_cg CGROUP CMD...: CMD run inside $CG/CGROUP.
in_cg()
{
	local cg=$CG/$1
	shift
	(
		echo "$BASHPID" >"$cg/cgroup.procs" || exit 1
		exec timeout 60 "$@"
	) 2>&1
}

# monitor_to FILE ARGS...: `netfence monitor ARGS` writing FILE, in the foreground.
monitor_to()
{
	local out=$1
	shift
	nf monitor "$@" >"$out" 2>"$out.err" || fail "monitor exited $?: $(flat "$(cat "$out.err")")"
}

# An event read two seconds after its denial carries the denial's time (to the second), in
# RFC 3339 with sub-second digits.
case_event_time()
{
	local before after stamp t
	attach ev-time a deny || return
	before=$(date +%s.%N)
	[ "$(in_cg a "$CLIENT" tcp 127.0.0.1 80)" = EPERM ] || fail "the client was not denied"
	after=$(date +%s.%N)
	sleep 2
	monitor_to "$T/time.out" --count 1 --timeout 5000
	stamp=$(jq -r 'select(.verdict == "denied") | .time' "$T/time.out")
	[[ $stamp =~ ^[0-9-]{10}T[0-9:]{8}\.[0-9]{6}Z$ ]] ||
		fail "event time '$stamp' is not RFC 3339 with microseconds: $(flat "$(cat "$T/time.out")")"
	t=$(date -d "$stamp" +%s.%N 2>/dev/null) || { fail "cannot read time '$stamp'"; return; }
	awk -v t="$t" -v b="$before" -v a="$after" 'BEGIN { exit !(t >= b - 0.1 && t <= a + 0.1) }' ||
		fail "event stamped $t, the denial was between $before and $after"
	nf detach ev-time >/dev/null
}

# Fence b floods its events while no monitor runs; fence a, with the same policy (the same
# programs and maps), is denied once after that. A monitor started then reports a's denial;
# b's events beyond its ring are counted as dropped, shown by show and metrics, and reported by
# the monitor as a record.
case_flood()
{
	local batch="" k dropped shown metric denied events
	attach ev-flood-a a deny || return
	attach ev-flood-b b deny || return
	for ((k = 1; k <= 50; k++)); do
		batch+=" 127.0.0.3 $k"
	done
	for ((k = 0; k < 60; k++)); do
		in_cg b "$CLIENT" udp-sendmmsg $batch >/dev/null
	done
	[ "$(in_cg a "$CLIENT" tcp 127.0.0.1 81)" = EPERM ] || fail "fence a did not deny"
	monitor_to "$T/flood.out" --timeout 1500
	events=$(jq -r 'select(.container == "ev-flood-a" and .verdict == "denied") |
		"\(.hook) \(.address) \(.port)"' "$T/flood.out")
	[ "$events" = "connect4 127.0.0.1 81" ] ||
		fail "fence a's denial after b's flood: got '$(flat "$events")'"
	denied=$(nf show ev-flood-b --json | jq -r .counters.denied)
	[ "$denied" = 3000 ] || fail "fence b counted $denied denials, expected 3000"
	shown=$(nf show ev-flood-b --json | jq -r .counters.events_dropped)
	events=$(jq -r 'select(.container == "ev-flood-b" and .verdict == "denied")' "$T/flood.out" |
		jq -s length)
	if ! [[ $shown =~ ^[1-9][0-9]*$ ]]; then
		fail "fence b shows '$shown' events dropped, expected some"
		shown=0
	fi
	[ "$((events + shown))" = 3000 ] ||
		fail "fence b: $events events reported + $shown dropped, expected 3000"
	dropped=$(jq -r 'select(.container == "ev-flood-b" and .dropped) | .dropped_total' \
		"$T/flood.out" | tail -1)
	[ "$dropped" = "$shown" ] || fail "monitor reported $dropped dropped for b, show $shown"
	metric=$(nf metrics | awk '$1 == "netfence_events_dropped_total{container=\"ev-flood-b\"}" {
		print $2 }')
	[ "$metric" = "$shown" ] || fail "metrics: b dropped '$metric', show: $shown"
	shown=$(nf show ev-flood-a --json | jq -r .counters.events_dropped)
	[ "$shown" = 0 ] || fail "fence a shows $shown events dropped, expected 0"
	nf detach ev-flood-a >/dev/null
	nf detach ev-flood-b >/dev/null
}

# Each event is read by one monitor: a second one is refused while the first runs.
case_second_monitor()
{
	local out i
	attach ev-mon a deny || return
	"${NF[@]}" monitor --timeout 5000 >"$T/mon1.out" 2>&1 &
	MON=$!
	BG_PIDS="$BG_PIDS $MON"
	for ((i = 0; i < 100; i++)); do
		grep -qs 'bpf-map' /proc/"$MON"/maps && break
		sleep 0.05
	done
	if out=$(nf monitor --timeout 1000 2>&1); then
		fail "a second monitor ran: $(flat "$out")"
	else
		[[ $out == *"another netfence monitor is running"* ]] ||
			fail "second monitor's message: $(flat "$out")"
	fi
	kill "$MON" 2>/dev/null
	wait "$MON" 2>/dev/null
	nf detach ev-mon >/dev/null
}

# While a client sends without pause, the fence is updated 30 times, in turn to another policy
# of the same settings and to one of other settings (raw sockets), all with the same verdicts:
# its counters end equal to what the client saw, to within one verdict per CPU per update.
case_counters_over_updates()
{
	local k out pid policies=(one_b one_raw one) a d slack ok eperm other
	attach ev-upd a one || return
	in_cg a "$SENDER" 6 >"$T/sender.out" &
	pid=$!
	BG_PIDS="$BG_PIDS $pid"
	sleep 0.3
	for ((k = 0; k < 30; k++)); do
		out=$(nf update ev-upd --policy "$T/policies/${policies[k % 3]}.json" 2>&1) ||
			fail "update $k: $out"
	done
	wait "$pid"
	read -r ok eperm other <"$T/sender.out"
	[ "${other:-1}" = 0 ] || fail "sender: $(cat "$T/sender.out")"
	# A verdict judged across the hand-over of an update counts twice: at most one per CPU
	# per update, and never one lost (docs/configuration.md).
	read -r a d < <(nf show ev-upd --json | jq -r '"\(.counters.allowed) \(.counters.denied)"')
	slack=$((30 * $(nproc)))
	if ((a < ok || a > ok + slack || d < eperm || d > eperm + slack)); then
		fail "counters a=$a d=$d after 30 updates, the sender saw a=$ok d=$eperm (+$slack at most)"
	fi
	nf detach ev-upd >/dev/null
}

CASES=(
	"event-time-is-verdict-time case_event_time"
	"flood-does-not-starve case_flood"
	"second-monitor-refused case_second_monitor"
	"counters-exact-over-updates case_counters_over_updates"
)

main()
{
	local c name fn
	setup
	for c in "${CASES[@]}"; do
		read -r name fn <<<"$c"
		selected "$name" || continue
		"$fn" </dev/null
		case_end "$name"
	done
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

main "$@"
