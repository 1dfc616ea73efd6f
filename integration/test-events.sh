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
#   event-names-process         an event carries the pid and command of the caller
#   monitor-filters             --container reads those fences' events alone (the others stay
#                               in their rings), --verdict and --since skip the rest
#   pod-names-and-metrics       the hook records the pod, namespace and container names of the
#                               annotations; show, list, monitor and metrics carry them; metrics
#                               parse with a Prometheus text-format parser, quotes, backslashes
#                               and newlines in label values included, also as served by
#                               metrics --listen
#   fail-open-recorded-and-logged  a fail_mode open start is recorded where list, show and
#                               metrics see it, logged to a (fake) journald with its fields, or
#                               to log_file; poststop removes the record
#   ring-entry-after-detach     a detach leaves the fence's entry in the table of rings; a new
#                               fence on that cgroup reports through its own ring all the same;
#                               `netfence gc` takes the entries of fences gone out, and only those
#
# Needs root, a cgroup v2 hierarchy, bpftool, jq, python3, curl and a C compiler with a static
# libc; exits 77 with the reason when one is missing. The metrics case needs
# python3-prometheus-client (scripts/deps.sh) and says SKIP without it. Environment: NETFENCE
# (default ./netfence), CC (default cc), KT_KEEP=1 keeps the temporary directory, CASES=REGEX
# runs only matching cases.
set -u

# shellcheck source=integration/lib-kernel.sh
. "$(dirname "$0")/lib-kernel.sh"
CC=${CC:-cc}
CLIENT=""
SENDER=""
BG_PIDS=""
MON=""
SLEEPER=""
POD="" NS="" NAME=""

cleanup()
{
	local cg
	stop_test_work
	for cg in "$CG/a" "$CG/b" "$CG/c" "$CG"; do
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
	need_commands bpftool jq "$CC" mount umount timeout python3 curl
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
	mkdir "$CG" "$CG/a" "$CG/b" "$CG/c" || skip "cannot create cgroups under $CG2"
	policy deny '{"version":1,"default":"deny","loopback":"policy","rules":[]}'
	policy one '{"version":1,"default":"deny","loopback":"policy","raw_sockets":"allow",
		"rules":[{"action":"allow","cidr":"127.0.0.1/32"}]}'
	policy one_b '{"version":1,"default":"deny","loopback":"policy","raw_sockets":"allow",
		"rules":[{"action":"allow","cidr":"127.0.0.1/32"},{"action":"allow","cidr":"10.9.9.9/32"}]}'
	policy audit '{"version":1,"mode":"audit","default":"deny","loopback":"policy","rules":[]}'
	# The hook's bundle: few capabilities and its own network namespace, so that it attaches.
	mkdir -p "$T/bundle"
	jq -n '{ociVersion: "1.0.2", process: {capabilities: {bounding: ["CAP_CHOWN"],
		effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"]}},
		linux: {namespaces: [{type: "pid"}, {type: "network"}, {type: "mount"}]}}' \
		>"$T/bundle/config.json"
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
		exec timeout $((60 * KT_TIME_SCALE)) "$@"
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
	monitor_to "$T/time.out" --count 1 --timeout $((5000 * KT_TIME_SCALE))
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
	monitor_to "$T/flood.out" --timeout $((1500 * KT_TIME_SCALE))
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
	metric=$(nf metrics | awk '$1 == "netfence_events_dropped_total{id=\"ev-flood-b\"}" {
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
	"${NF[@]}" monitor --timeout $((5000 * KT_TIME_SCALE)) >"$T/mon1.out" 2>&1 &
	MON=$!
	BG_PIDS="$BG_PIDS $MON"
	for ((i = 0; i < 100 * KT_TIME_SCALE; i++)); do
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

# An event names the process that made the call: its pid, and its command while it runs.
case_event_process()
{
	local pid got
	attach ev-proc a deny || return
	in_cg a bash -c 'echo $$ >"$1"; : 2>/dev/null >/dev/tcp/127.0.0.1/80; sleep "$2" & wait' \
		bash "$T/proc.pid" $((10 * KT_TIME_SCALE)) >/dev/null &
	BG_PIDS="$BG_PIDS $!"
	monitor_to "$T/proc.out" --count 1 --timeout $((5000 * KT_TIME_SCALE))
	pid=$(cat "$T/proc.pid" 2>/dev/null)
	got=$(jq -c '[.container, .verdict, .hook, .pid, .command]' "$T/proc.out")
	[ "$got" = "[\"ev-proc\",\"denied\",\"connect4\",${pid:-0},\"bash\"]" ] ||
		fail "event of bash (pid $pid): $(flat "$(cat "$T/proc.out")")"
	pkill -P "$pid" sleep 2>/dev/null
	nf detach ev-proc >/dev/null
}

# Denied in a (ports 81, then 83 and 84 two seconds apart), audited in b (port 82): --container
# reads b's ring alone, a's event waits in its own for the next reader; --verdict and --since
# (the time between 83 and 84: a duration would count from whenever the monitor starts) skip
# the events they leave out.
case_monitor_filters()
{
	local got since
	attach ev-fa a deny || return
	attach ev-fb b audit || return
	[ "$(in_cg a "$CLIENT" tcp 127.0.0.1 81)" = EPERM ] || fail "a was not denied"
	in_cg b "$CLIENT" tcp 127.0.0.1 82 >/dev/null
	monitor_to "$T/f1.out" --container ev-fb --timeout $((1500 * KT_TIME_SCALE))
	got=$(jq -r '"\(.container) \(.verdict) \(.port)"' "$T/f1.out")
	[ "$got" = "ev-fb audited 82" ] || fail "--container ev-fb: $(flat "$(cat "$T/f1.out")")"
	in_cg b "$CLIENT" tcp 127.0.0.1 82 >/dev/null
	monitor_to "$T/f2.out" --verdict denied --timeout $((1500 * KT_TIME_SCALE))
	got=$(jq -r '"\(.container) \(.verdict) \(.port)"' "$T/f2.out")
	[ "$got" = "ev-fa denied 81" ] || fail "--verdict denied: $(flat "$(cat "$T/f2.out")")"
	[ "$(in_cg a "$CLIENT" tcp 127.0.0.1 83)" = EPERM ] || fail "a was not denied"
	sleep 1
	since=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
	sleep 1
	[ "$(in_cg a "$CLIENT" tcp 127.0.0.1 84)" = EPERM ] || fail "a was not denied"
	monitor_to "$T/f3.out" --since "$since" --container ev-fa \
		--timeout $((1500 * KT_TIME_SCALE))
	got=$(jq -r '"\(.container) \(.verdict) \(.port)"' "$T/f3.out")
	[ "$got" = "ev-fa denied 84" ] || fail "--since 1s: $(flat "$(cat "$T/f3.out")")"
	nf detach ev-fa >/dev/null
	nf detach ev-fb >/dev/null
}

# A python3 that has prometheus_client (Debian's python3-prometheus-client), or nothing.
prom_python()
{
	local py
	for py in python3 /usr/bin/python3; do
		"$py" -c 'import prometheus_client' 2>/dev/null && { echo "$py"; return 0; }
	done
	return 1
}

# sleeper CGROUP: a process sleeping in $CG/CGROUP; its pid in SLEEPER.
sleeper()
{
	(echo "$BASHPID" >"$CG/$1/cgroup.procs" && exec sleep 600) &
	SLEEPER=$!
	BG_PIDS="$BG_PIDS $SLEEPER"
}

# hook_state ID PID POLICY: an OCI state of a creating container with an inline policy and the
# Kubernetes names $POD, $NS and $NAME, on stdout.
hook_state()
{
	jq -cn --arg id "$1" --argjson pid "$2" --arg b "$T/bundle" --arg pol "$3" \
		--arg pod "$POD" --arg ns "$NS" --arg name "$NAME" \
		'{ociVersion: "1.0.2", id: $id, status: "creating", pid: $pid, bundle: $b,
		  annotations: {"io.netfence.policy": $pol, "io.kubernetes.pod.name": $pod,
		  "io.kubernetes.pod.namespace": $ns, "io.kubernetes.container.name": $name}}'
}

# What the metrics case checks in a Prometheus text document on stdin, with prometheus_client:
# ID POD NAMESPACE CONTAINER are the fence's labels.
METRICS_CHECK='
import sys
from prometheus_client.parser import text_string_to_metric_families
want = {"id": sys.argv[1], "pod": sys.argv[2], "namespace": sys.argv[3], "container": sys.argv[4]}
fams = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
info = fams["netfence_build_info"].samples
assert len(info) == 1 and info[0].labels.get("version") and info[0].value == 1, info
assert fams["netfence_verdicts"].type == "counter"
denied = [s for s in fams["netfence_verdicts"].samples
          if s.labels.get("id") == want["id"] and s.labels.get("verdict") == "denied"]
assert len(denied) == 1, fams["netfence_verdicts"].samples
assert {k: denied[0].labels[k] for k in want} == want, denied[0].labels
assert denied[0].value >= 1, denied
drop = [s for s in fams["netfence_events_dropped"].samples if s.labels.get("id") == want["id"]]
assert len(drop) == 1 and drop[0].labels["pod"] == want["pod"], drop
assert fams["netfence_fences"].samples[0].value >= 1
'

# The hook records the Kubernetes names of the annotations (a pod name with a quote, a
# backslash and a newline); show, list --json, monitor and metrics carry them, metrics parsed
# by prometheus_client, printed and served by metrics --listen (404 for another path, 405 for
# another method).
case_pod_names()
{
	local py got want port srv i
	POD=$'web"1\\x\nb' NS=shop NAME=nginx
	py=$(prom_python) || { case_skip "no python3-prometheus-client"; return; }
	sleeper c
	hook_state ev-pod "$SLEEPER" "$(cat "$T/policies/deny.json")" >"$T/pod.state"
	nf hook createRuntime <"$T/pod.state" >/dev/null 2>"$T/pod.err" ||
		{ fail "hook: $(flat "$(cat "$T/pod.err")")"; return; }
	want=$(jq -cn --arg p "$POD" '[$p, "shop", "nginx"]')
	got=$(nf show ev-pod --json | jq -c '[.pod, .namespace, .container_name]')
	[ "$got" = "$want" ] || fail "show --json: $got"
	got=$(nf list --json | jq -c '.[] | select(.id == "ev-pod") | [.pod, .namespace, .container_name]')
	[ "$got" = "$want" ] || fail "list --json: $got"
	[ "$(in_cg c "$CLIENT" tcp 127.0.0.1 80)" = EPERM ] || fail "the pod was not denied"
	monitor_to "$T/pod.out" --count 1 --timeout $((5000 * KT_TIME_SCALE))
	got=$(jq -c '[.pod, .namespace, .container_name]' "$T/pod.out")
	[ "$got" = "$want" ] || fail "monitor: $(flat "$(cat "$T/pod.out")")"
	got=$(nf metrics | "$py" -c "$METRICS_CHECK" ev-pod "$POD" "$NS" "$NAME" 2>&1) ||
		fail "metrics: $(flat "$got")"
	port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	timeout $((30 * KT_TIME_SCALE)) "${NF[@]}" metrics --listen "127.0.0.1:$port" \
		2>"$T/listen.err" &
	srv=$!
	BG_PIDS="$BG_PIDS $srv"
	for ((i = 0; i < 100 * KT_TIME_SCALE; i++)); do
		curl -s -m 2 -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.05
	done
	got=$(timeout $((10 * KT_TIME_SCALE)) "$py" -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())' \
		"$port" | "$py" -c "$METRICS_CHECK" ev-pod "$POD" "$NS" "$NAME" 2>&1) ||
		fail "metrics --listen: $(flat "$got") $(flat "$(cat "$T/listen.err")")"
	got=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")
	[ "$got" = 404 ] || fail "GET /other answered $got, expected 404"
	got=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics")
	[ "$got" = 405 ] || fail "POST /metrics answered $got, expected 405"
	kill "$srv" 2>/dev/null
	wait "$srv"
	got=$?
	[ "$got" = 0 ] || fail "metrics --listen exited $got on SIGTERM, expected 0"
	echo '{"ociVersion":"1.0.2","id":"ev-pod","status":"stopped"}' | nf hook poststop >/dev/null 2>&1
	got=$(find "$T/state" -name 'ev-pod*')
	[ -z "$got" ] || fail "left in the state dir: $(flat "$got")"
	kill "$SLEEPER" 2>/dev/null
}

# The fake journald: a datagram socket at $1 writing each datagram, NUL-terminated, to $2.
JOURNAL='
import signal, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
s.settimeout(60)
with open(sys.argv[2], "wb") as out:
    while True:
        out.write(s.recv(65536) + b"\0")
        out.flush()
'

# journal_has FIELD=VALUE...: one datagram of $T/journal.out holds every field.
journal_has()
{
	python3 -c 'import sys
want = set(sys.argv[2:])
for d in open(sys.argv[1], "rb").read().split(b"\0"):
    if want <= set(d.decode().splitlines()):
        sys.exit(0)
sys.exit(1)' "$T/journal.out" "$@"
}

# fail_mode open lets a container start without its fence (its policy is invalid here): list,
# show and metrics see it, the journal gets the error and the warning with their fields, and
# poststop removes the record. Without journald or syslog, log_file gets the lines.
case_fail_open()
{
	local jpid got n mode stop='{"ociVersion":"1.0.2","id":"ev-open","status":"stopped"}'
	POD=db-0 NS=shop NAME=postgres
	sleeper c
	jq --arg j "$T/journal.sock" '. + {fail_mode: "open", journal_socket: $j}' \
		"$T/config.json" >"$T/open.json"
	python3 -c "$JOURNAL" "$T/journal.sock" "$T/journal.out" &
	jpid=$!
	BG_PIDS="$BG_PIDS $jpid"
	for ((n = 0; n < 100 * KT_TIME_SCALE; n++)); do
		[ -S "$T/journal.sock" ] && break
		sleep 0.05
	done
	hook_state ev-open "$SLEEPER" '{"version":1,"default":"nope"}' >"$T/open.state"
	"$NETFENCE" --config "$T/open.json" hook createRuntime <"$T/open.state" >/dev/null \
		2>"$T/open.err" || fail "fail_mode open: the hook exited $?"
	got=$(nf list | awk '$1 == "ev-open" { print $2 }')
	[ "$got" = UNFENCED ] || fail "list: $(flat "$(nf list)")"
	got=$(nf show ev-open --json | jq -c '[.fenced, (.unfenced_reason | test("io.netfence.policy")), .pod]')
	[ "$got" = '[false,true,"db-0"]' ] || fail "show --json: $(flat "$(nf show ev-open --json)")"
	got=$(nf metrics | awk '$1 == "netfence_unfenced_containers" { print $2 }')
	[ "$got" = 1 ] || fail "metrics: netfence_unfenced_containers '$got', expected 1"
	nf metrics | grep -qF 'netfence_container_unfenced{id="ev-open",pod="db-0",namespace="shop",container="postgres"} 1' ||
		fail "metrics: no netfence_container_unfenced for ev-open"
	for ((n = 0; n < 40 * KT_TIME_SCALE; n++)); do
		journal_has NETFENCE_RESULT=unfenced && break
		sleep 0.05
	done
	journal_has CONTAINER_ID=ev-open NETFENCE_STAGE=createRuntime NETFENCE_RESULT=error \
		PRIORITY=3 SYSLOG_IDENTIFIER=netfence ||
		fail "journal: no error record: $(flat "$(tr '\0' '|' <"$T/journal.out")")"
	journal_has CONTAINER_ID=ev-open NETFENCE_STAGE=createRuntime NETFENCE_RESULT=unfenced \
		PRIORITY=4 "MESSAGE=container 'ev-open': fail_mode is open: the container runs without this fence (recorded: netfence list shows it UNFENCED)" ||
		fail "journal: no unfenced record: $(flat "$(tr '\0' '|' <"$T/journal.out")")"
	kill "$jpid" 2>/dev/null
	wait "$jpid" 2>/dev/null
	echo "$stop" | "$NETFENCE" --config "$T/open.json" hook poststop >/dev/null 2>&1
	got=$(nf list | awk '$1 == "ev-open"')
	[ -z "$got" ] || fail "poststop left the record: $(flat "$got")"
	if [ -e /dev/log ]; then
		echo "      (log_file not checked: /dev/log exists, and syslog comes first)"
	else
		jq --arg j "$T/no-journal.sock" --arg f "$T/log/netfence.log" \
			'. + {fail_mode: "open", journal_socket: $j, log_file: $f}' "$T/config.json" \
			>"$T/file.json"
		mkdir -p "$T/log"
		"$NETFENCE" --config "$T/file.json" hook createRuntime <"$T/open.state" \
			>/dev/null 2>&1 || fail "fail_mode open with log_file: the hook exited $?"
		mode=$(stat -c %a "$T/log/netfence.log" 2>/dev/null)
		[ "$mode" = 600 ] || fail "log_file mode '$mode', expected 600"
		n=$(grep -c "container 'ev-open': " "$T/log/netfence.log" 2>/dev/null)
		[ "$n" = 2 ] || fail "log_file: $n lines of ev-open, expected 2: $(flat "$(cat "$T/log/netfence.log" 2>&1)")"
		grep -q "warning: container 'ev-open': fail_mode is open" "$T/log/netfence.log" ||
			fail "log_file: no fail-open warning"
	fi
	# Its poststop never comes: `netfence gc` removes the record once the cgroup is gone.
	"$NETFENCE" --config "$T/open.json" hook createRuntime <"$T/open.state" >/dev/null 2>&1
	got=$(nf show ev-open --json | jq -r .cgroup)
	[ "$got" = "$CG/c" ] || fail "recorded cgroup '$got', expected $CG/c"
	kill "$SLEEPER" 2>/dev/null
	wait "$SLEEPER" 2>/dev/null
	rmdir "$CG/c" || fail "cannot remove $CG/c"
	nf gc >/dev/null
	got=$(nf list | awk '$1 == "ev-open"')
	[ -z "$got" ] || fail "gc left the record of a gone cgroup: $(flat "$got")"
	mkdir -p "$CG/c"
}

# The cgroup ids (decimal) that the table of events rings pinned at FILE has entries for, and
# the ring's map id: "CGID RING" per line, sorted.
ring_entries()
{
	bpftool -j map dump pinned "$1" |
		jq -r '.[] | [(.key | reverse | map(.[2:]) | join("")),
			(.value | reverse | map(.[2:]) | join(""))] | @tsv' |
		while read -r k v; do echo "$((16#$k)) $((16#$v))"; done | sort
}

# The map id of a fence's own ring.
ring_id()
{
	bpftool -j map show pinned "$T/bpffs/$1/map_events" | jq -r .id
}

# Fence a stays attached throughout (its set keeps the table). A fence on b is detached
# without gc: its entry stays. A new fence on b (another id: a ring of its own) reports its
# denial; once it is detached, `netfence gc` leaves a's entry alone.
case_ring_entry()
{
	local table cga cgb got want ring
	attach ev-keep a deny || return
	table=$T/bpffs/ev-keep/map_rings
	cga=$(stat -c %i "$CG/a") cgb=$(stat -c %i "$CG/b")
	attach ev-gone b deny || return
	ring=$(ring_id ev-gone)
	nf detach ev-gone >/dev/null
	got=$(ring_entries "$table" | awk -v c="$cgb" '$1 == c { print $2 }')
	[ "$got" = "$ring" ] || fail "after detach, b's entry is '$got', expected its ring $ring"
	attach ev-new b deny || return
	[ "$(in_cg b "$CLIENT" tcp 127.0.0.1 85)" = EPERM ] || fail "fence ev-new did not deny"
	monitor_to "$T/entry.out" --container ev-new --count 1 --timeout $((5000 * KT_TIME_SCALE))
	got=$(jq -r 'select(.verdict == "denied") | "\(.container) \(.port)"' "$T/entry.out")
	[ "$got" = "ev-new 85" ] || fail "ev-new's denial: $(flat "$(cat "$T/entry.out")")"
	got=$(ring_entries "$table" | awk -v c="$cgb" '$1 == c { print $2 }')
	want=$(ring_id ev-new)
	[ "$got" = "$want" ] || fail "b's entry holds ring '$got', expected ev-new's $want"
	nf detach ev-new >/dev/null
	nf gc >/dev/null || fail "gc failed"
	got=$(ring_entries "$table")
	want="$cga $(ring_id ev-keep)"
	[ "$got" = "$want" ] || fail "after gc the table holds '$(flat "$got")', expected '$want'"
	[ "$(in_cg a "$CLIENT" tcp 127.0.0.1 86)" = EPERM ] || fail "fence ev-keep did not deny"
	monitor_to "$T/keep.out" --container ev-keep --count 1 --timeout $((5000 * KT_TIME_SCALE))
	got=$(jq -r 'select(.verdict == "denied") | "\(.container) \(.port)"' "$T/keep.out")
	[ "$got" = "ev-keep 86" ] || fail "ev-keep's denial after gc: $(flat "$(cat "$T/keep.out")")"
	nf detach ev-keep >/dev/null
}

TABLE="
	event-time-is-verdict-time    | case_event_time
	flood-does-not-starve         | case_flood
	second-monitor-refused        | case_second_monitor
	counters-exact-over-updates   | case_counters_over_updates
	event-names-process           | case_event_process
	monitor-filters               | case_monitor_filters
	pod-names-and-metrics         | case_pod_names
	fail-open-recorded-and-logged | case_fail_open
	ring-entry-after-detach       | case_ring_entry
"

main()
{
	setup
	run_cases "$TABLE"
	test_summary
}

main "$@"
