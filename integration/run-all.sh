#!/bin/bash
# Run every integration test script (integration/test-*.sh), each as its own process, and
# add up their results. `make integration` calls this from the project root after building
# ./netfence.
#
#   integration/run-all.sh [NAME...]     NAME: e.g. kernel or test-kernel.sh; default all
#
# A script reports through lib-test.sh: one line per case and at the end "N passed, N failed"
# (", N skipped" when cases could not run); exit status 77 means it could not run here (its
# "SKIP: reason" line says why) and counts as one skipped. A script that ends without that
# summary line, or whose exit status contradicts it, counts as one failed case on top of what
# it reported.
#
# Environment: CASES=REGEX (every script runs only the cases whose names match), IT_TIMEOUT
# (seconds per script, default 3600; the script gets SIGTERM, so its cleanup trap runs). The
# scripts' own variables (NETFENCE, CC, ...) pass through.
set -u

IT_DIR=$(cd "$(dirname "$0")" && pwd)
# The scripts' summary lines are read here: they print them as text, not as TAP.
unset TEST_TAP
IT_TIMEOUT=${IT_TIMEOUT:-3600}

passed=0
failed=0
skipped=0
problems=""

# The scripts to run: all, or those named on the command line.
select_scripts()
{
	local name
	if [ $# -eq 0 ]; then
		for name in "$IT_DIR"/test-*.sh; do
			[ -e "$name" ] && echo "$name"
		done
		return 0
	fi
	for name in "$@"; do
		name=${name##*/}
		name=${name#test-}
		name=${name%.sh}
		if [ -e "$IT_DIR/test-$name.sh" ]; then
			echo "$IT_DIR/test-$name.sh"
		else
			echo "run-all: no integration/test-$name.sh" >&2
			return 2
		fi
	done
}

note_problem()
{
	problems="${problems}  $*
"
}

# run_script PATH: run one script, show its output as it comes, fold its counts in.
run_script()
{
	local script=$1 name log rc summary p f s reason why
	name=$(basename "$script")
	log=$(mktemp "/tmp/netfence-run-all.XXXXXX") || return 1
	echo "=== $name"
	timeout -k 30 "$IT_TIMEOUT" "$script" </dev/null 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n 1)
	if [ "$rc" -eq 77 ]; then
		reason=$(grep -E '^SKIP:' "$log" | tail -n 1)
		reason=${reason#SKIP: }
		[ -n "$reason" ] || reason=$(tail -n 1 "$log")
		skipped=$((skipped + 1))
		echo "=== $name: SKIPPED (${reason:-no reason given})"
		note_problem "$name: skipped: ${reason:-no reason given}"
		rm -f "$log"
		return 0
	fi
	rm -f "$log"
	if [ -z "$summary" ]; then
		failed=$((failed + 1))
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			why="timed out after ${IT_TIMEOUT}s"
		else
			why="exit status $rc"
		fi
		echo "=== $name: FAILED ($why, no \"N passed, N failed\" summary)"
		note_problem "$name: $why without a summary"
		return 0
	fi
	read -r p _ f _ s _ <<<"${summary//,/}"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + ${s:-0}))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		failed=$((failed + 1))
		note_problem "$name: exit status $rc although it reported no failure"
	elif [ "$rc" -eq 0 ] && [ "$f" -ne 0 ]; then
		note_problem "$name: reported $f failed but exited 0"
	elif [ "$f" -ne 0 ]; then
		note_problem "$name: $f failed"
	fi
	echo "=== $name: $summary (exit status $rc)"
}

main()
{
	local scripts script
	scripts=$(select_scripts "$@") || exit 2
	if [ -z "$scripts" ]; then
		echo "run-all: no integration/test-*.sh scripts" >&2
		exit 2
	fi
	while read -r script; do
		run_script "$script"
	done <<<"$scripts"
	echo
	[ -z "$problems" ] || printf 'Notes:\n%s' "$problems"
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

main "$@"
