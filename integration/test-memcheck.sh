#!/bin/bash
# Memory errors and leaks on the real paths: every command that reads input or changes a
# fence, run against the kernel on a test cgroup with a process in it, under
#   valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99
# (with integration/valgrind.supp: libbpf's partially zeroed bpf_attr, a valgrind false positive)
# or, when NETFENCE is a sanitizer build (`make ASAN=1`: valgrind cannot run those), directly
# with ASan, LeakSanitizer and UBSan set to exit 99 on any report.
#
# Each case checks netfence's own exit status (the error paths are run too: they are where
# leaks hide), that the tool reported nothing, and what the command should have done to the
# cgroup. Prints PASS/FAIL per case and "N passed, N failed"; exit 1 on any failure, 77 with
# the reason when it cannot run (not root, no valgrind, ...).
#
# Valgrind follows malloc only through a shared glibc: `make integration` hands this suite the
# dynamically linked twin of the static ./netfence (MC_NETFENCE, the same objects), and a static
# binary is skipped with that reason rather than checked without its heap.
#
# Environment: NETFENCE (default ./netfence), MC_NETFENCE (the binary to check instead),
# MC_TOOL=valgrind|sanitizer (default: chosen from the binary), CASES=REGEX, MC_KEEP=1 keeps
# the temporary directory and the logs.
set -u

# shellcheck source=integration/lib-kernel.sh
. "$(dirname "$0")/lib-kernel.sh"
FLAT_WIDTH=400
MC_TOOL=${MC_TOOL:-}

# T, CG2, CG ($CG2/netfence-memcheck-$$), NFARGS: see lib-kernel.sh.
SLEEPER=""
FENCE_N=0 # programs of one fence, as counted after the first attach

check_prereqs()
{
	need_root
	NETFENCE=${MC_NETFENCE:-$NETFENCE}
	need_netfence
	if [ -z "$MC_TOOL" ]; then
		if grep -aq __asan_init "$NETFENCE"; then
			MC_TOOL=sanitizer
		else
			MC_TOOL=valgrind
		fi
	fi
	need_commands bpftool jq mount umount awk timeout
	if [ "$MC_TOOL" = valgrind ]; then
		command -v valgrind >/dev/null 2>&1 || skip "valgrind is not installed"
		grep -aq __asan_init "$NETFENCE" &&
			skip "$NETFENCE is a sanitizer build; valgrind cannot run it (MC_TOOL=sanitizer)"
		need_commands readelf
		readelf -l "$NETFENCE" | grep -q 'program interpreter' ||
			skip "$NETFENCE is linked statically: valgrind cannot see its heap (MC_NETFENCE=.output/netfence-dynamic)"
	fi
	need_cgroup2
}

# Called by the EXIT trap (lib-kernel.sh's on_exit).
cleanup()
{
	local cg
	if [ -n "$SLEEPER" ]; then
		kill "$SLEEPER" 2>/dev/null
		wait "$SLEEPER" 2>/dev/null
	fi
	unmount_bpffs
	for cg in "$CG/dead" "$CG/hook" "$CG/cli" "$CG"; do
		[ -n "$CG" ] && [ -d "$cg" ] || continue
		remove_cgroup "$cg"
	done
	remove_tmp "${MC_KEEP:-0}"
}

setup()
{
	make_tmp memcheck
	mkdir -p "$T/bpffs" "$T/state" "$T/pol" "$T/bundle" "$T/logs" || exit 1
	mount_bpffs
	write_config pol '{events: {enabled: true, rate_per_sec: 10}}'
	jq -n '{ociVersion: "1.0.2", process: {capabilities: {bounding: ["CAP_CHOWN"]}},
		linux: {namespaces: [{type: "network"}]}}' >"$T/bundle/config.json"
	cat >"$T/pol/web.json" <<'EOF'
{"version":1,"mode":"enforce","default":"deny","rules":[
 {"action":"allow","cidr":"10.0.0.0/8","protocol":"tcp","ports":[443,"8000-8080"]},
 {"action":"allow","cidr":"::/0","protocol":"udp","ports":[53]},
 {"action":"deny","cidr":"169.254.169.254/32"}]}
EOF
	echo '{"version":1,"mode":"audit","default":"deny","rules":[]}' >"$T/pol/audit.json"
	echo '{"version":1,"default":"deny","rules":[{"action":"allow","cidr":"10.0.0.0/33"}]}' \
		>"$T/pol/bad.json"
	copy_netfence
	CG=$CG2/netfence-memcheck-$$
	mkdir "$CG" "$CG/cli" "$CG/hook" "$CG/dead" || skip "cannot create cgroups under $CG2"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 3600' sh "$CG/hook" &
	SLEEPER=$!
	sleep 0.2
	grep -qx "$SLEEPER" "$CG/hook/cgroup.procs" || skip "cannot move a process into $CG/hook"
}

# netfence's programs that are not on the cgroup.
missing_progs()
{
	local progs t
	progs=$(bpftool -j cgroup show "$1" 2>/dev/null | jq -r -s 'add // [] | .[].name')
	for t in nf_connect4 nf_connect6 nf_sendmsg4 nf_sendmsg6 nf_sock_create; do
		grep -qx "$t" <<<"$progs" || printf '%s ' "$t"
	done
}

# checked NAME WANT_RC STDIN-FILE ARGS...: run netfence ARGS under the tool and check its exit
# status and the tool's report. The case stays open (case_end is the caller's).
checked()
{
	local name=$1 want=$2 in=$3 rc log
	shift 3
	log=$T/logs/$name
	if [ "$MC_TOOL" = valgrind ]; then
		timeout -k 5 300 valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
			--show-leak-kinds=definite --error-exitcode=99 --track-fds=no \
			--suppressions="$ROOT_DIR/integration/valgrind.supp" \
			--log-file="$log.tool" "$NETFENCE" "${NFARGS[@]}" "$@" \
			<"$in" >"$log.out" 2>"$log.err"
		rc=$?
	else
		ASAN_OPTIONS=detect_leaks=1:exitcode=99:abort_on_error=0:log_path="$log.tool" \
			LSAN_OPTIONS=exitcode=99 UBSAN_OPTIONS=halt_on_error=1:exitcode=99:print_stacktrace=1:log_path="$log.tool" \
			timeout -k 5 120 "$NETFENCE" "${NFARGS[@]}" "$@" <"$in" >"$log.out" 2>"$log.err"
		rc=$?
	fi
	if [ "$rc" -eq 99 ]; then
		fail "$MC_TOOL reported errors: $(flat "$(cat "$log.tool"* "$log.err" 2>/dev/null | grep -m 8 -E 'ERROR|Invalid|uninitialised|definitely|runtime error|#[0-3] |at 0x|by 0x')")"
	elif [ "$rc" -ne "$want" ]; then
		fail "exit status $rc, expected $want: $(flat "$(cat "$log.err")")"
	fi
	if cat "$log.tool"* 2>/dev/null | grep -qE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|Sanitizer|runtime error'; then
		[ "$rc" -eq 99 ] || fail "$MC_TOOL log holds a report: $(flat "$(cat "$log.tool"*)")"
	fi
}

# run NAME WANT_RC STDIN ARGS...: one whole case.
run()
{
	local name=$1
	selected "$name" || return 0
	checked "$@"
	case_end "$name"
}

# metrics --listen under the tool: one scrape, one 404, then SIGTERM; it exits 0, reports nothing.
metrics_listen()
{
	local port pid i code log=$T/logs/metrics-listen
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	if [ "$MC_TOOL" = valgrind ]; then
		timeout -k 5 120 valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
			--show-leak-kinds=definite --error-exitcode=99 --track-fds=no \
			--suppressions="$ROOT_DIR/integration/valgrind.supp" --log-file="$log.tool" \
			"$NETFENCE" "${NFARGS[@]}" metrics --listen "127.0.0.1:$port" 2>"$log.err" &
	else
		ASAN_OPTIONS=detect_leaks=1:exitcode=99:log_path="$log.tool" timeout -k 5 120 \
			"$NETFENCE" "${NFARGS[@]}" metrics --listen "127.0.0.1:$port" 2>"$log.err" &
	fi
	pid=$!
	for ((i = 0; i < 200; i++)); do
		curl -s -m 2 -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.05
	done
	code=$(curl -s -m 10 -o "$log.out" -w '%{http_code}' "http://127.0.0.1:$port/metrics")
	[ "$code" = 200 ] && grep -q '^netfence_build_info' "$log.out" ||
		fail "GET /metrics: $code $(flat "$(head -c 300 "$log.out")")"
	code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/x")
	[ "$code" = 404 ] || fail "GET /x: $code"
	kill -TERM "$pid"
	wait "$pid"
	code=$?
	[ "$code" = 0 ] || fail "exit status $code after SIGTERM: $(flat "$(cat "$log.err" "$log.tool"* 2>/dev/null | grep -m 8 -E 'ERROR|Invalid|uninitialised|definitely|at 0x|by 0x')")"
}

state_json()
{
	jq -cn --arg id "$1" --arg st "$2" --argjson pid "$3" --arg b "$T/bundle" --arg pol "$4" \
		'{ociVersion: "1.0.2", id: $id, status: $st, pid: $pid, bundle: $b} +
		 (if $pol == "" then {} else {annotations: {"io.netfence.policy": $pol}} end)'
}

main()
{
	local n missing
	check_prereqs
	setup
	echo "    tool: $MC_TOOL"
	: >"$T/empty"

	run policy-check-valid 0 "$T/empty" policy check "$T/pol/web.json"
	run policy-check-invalid 1 "$T/empty" policy check "$T/pol/bad.json"
	run policy-check-stdin 0 "$T/pol/web.json" policy check -

	if selected attach; then
		checked attach 0 "$T/empty" attach --id mc-cli --cgroup "$CG/cli" --policy "$T/pol/web.json"
		FENCE_N=$(cg_count "$CG/cli")
		missing=$(missing_progs "$CG/cli")
		[ -z "$missing" ] || fail "programs missing after attach: $missing"
		case_end attach
	fi
	run attach-invalid-policy 1 "$T/pol/bad.json" attach --id mc-bad --cgroup "$CG/cli" --policy -
	run reattach 0 "$T/empty" attach --id mc-cli --cgroup "$CG/cli" --policy "$T/pol/audit.json"
	run update 0 "$T/empty" update mc-cli --policy "$T/pol/web.json"
	run show 0 "$T/empty" show mc-cli
	run show-json 0 "$T/empty" show mc-cli --json
	run show-unknown 1 "$T/empty" show mc-nope
	run list-json 0 "$T/empty" list --json
	run metrics 0 "$T/empty" metrics
	run monitor 0 "$T/empty" monitor --count 1 --timeout 300
	if selected detach; then
		checked detach 0 "$T/empty" detach mc-cli
		n=$(cg_count "$CG/cli")
		[ "$n" -eq 0 ] || fail "$n programs left after detach"
		case_end detach
	fi
	run detach-unknown 0 "$T/empty" detach mc-cli

	state_json mc-hook creating "$SLEEPER" "$(cat "$T/pol/web.json")" >"$T/state-create.json"
	if selected hook-createRuntime; then
		checked hook-createRuntime 0 "$T/state-create.json" hook createRuntime
		n=$(cg_count "$CG/hook")
		missing=$(missing_progs "$CG/hook")
		[ -z "$missing" ] || fail "programs missing after the hook: $missing"
		[ "$n" -eq "$FENCE_N" ] || fail "$n programs attached by the hook, $FENCE_N by attach"
		case_end hook-createRuntime
	fi
	run hook-createRuntime-again 0 "$T/state-create.json" hook createRuntime
	# Runtimes send the annotations at poststop too: a detach reads the policy's long string
	# through its window without keeping it (escapes and UTF-8 across the window's edges).
	state_json mc-hook stopped 0 "$(for _ in $(seq 3000); do printf '{"a":"\u00e9\xc3\xa9"},'; done)" \
		>"$T/state-stop.json"
	if selected hook-poststop; then
		checked hook-poststop 0 "$T/state-stop.json" hook poststop
		n=$(cg_count "$CG/hook")
		[ "$n" -eq 0 ] || fail "$n programs left after poststop"
		case_end hook-poststop
	fi
	printf '{"id":"mc-x","status":"creating","bundle":"/b","pid":[[[' >"$T/state-bad.json"
	run hook-invalid-state 1 "$T/state-bad.json" hook createRuntime
	state_json mc-hook creating "$SLEEPER" "$(cat "$T/pol/bad.json")" >"$T/state-badpol.json"
	run hook-invalid-policy 1 "$T/state-badpol.json" hook createRuntime
	state_json mc-hook creating 1 "$(cat "$T/pol/web.json")" >"$T/state-root.json"
	run hook-root-cgroup 1 "$T/state-root.json" hook createRuntime
	# fail_mode open: the start is recorded, logged to a file (no journald here: the socket
	# named does not exist), listed, counted, and removed at poststop.
	jq --arg f "$T/logs/hook.log" --arg j "$T/no-journal" \
		'. + {fail_mode: "open", log_file: $f, journal_socket: $j}' "$T/config.json" \
		>"$T/open.json"
	run hook-fail-open 0 "$T/state-badpol.json" hook createRuntime --config "$T/open.json"
	run list-unfenced 0 "$T/empty" list
	run show-unfenced 0 "$T/empty" show mc-ho --json
	run metrics-unfenced 0 "$T/empty" metrics
	state_json mc-hook stopped 0 "" >"$T/state-stop-open.json"
	run hook-fail-open-poststop 0 "$T/state-stop-open.json" hook poststop --config "$T/open.json"
	run help 0 "$T/empty" help monitor
	run option-refused 2 "$T/empty" detach --policy x mc-hook
	if selected metrics-listen; then
		metrics_listen
		case_end metrics-listen
	fi

	# gc with a fence whose cgroup is gone.
	if selected gc; then
		"$NETFENCE" "${NFARGS[@]}" attach --id mc-dead --cgroup "$CG/dead" \
			--policy "$T/pol/web.json" >/dev/null 2>&1 || fail "setup: attach mc-dead failed"
		rmdir "$CG/dead" || fail "setup: cannot remove $CG/dead"
		checked gc 0 "$T/empty" gc
		[ ! -e "$T/state/mc-dead.json" ] || fail "gc left the state of mc-dead"
		case_end gc
	fi

	n=$(find "$T/bpffs" -mindepth 1 ! -name progs.debug ! -name maps.debug | wc -l)
	[ "$n" -eq 0 ] || fail "pins left: $(flat "$(find "$T/bpffs" -mindepth 1)")"
	case_end all-clean

	test_summary
}

main "$@"
