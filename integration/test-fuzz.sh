#!/bin/bash
# The libFuzzer targets as part of `make check`:
#   regression-TARGET  every saved crasher (fuzz/crashers/TARGET/) and seed
#                      (fuzz/seeds/TARGET/) replayed once: none may crash any more;
#   fuzz-TARGET        FUZZ_TIME seconds of fuzzing (default 30 here; `make fuzz` runs longer).
# Both through fuzz/run.sh, which builds the targets with clang -fsanitize=fuzzer,address,
# undefined; a new crasher it finds is saved in fuzz/crashers/TARGET/ for the next replay.
# Prints PASS/FAIL per case and "N passed, N failed"; exits 77 when clang's libFuzzer runtime
# is missing (Debian: clang and libclang-rt-14-dev, or the package matching the clang version).
#
# Environment: FUZZ_TIME (seconds per target, default 30), CLANG.
set -u

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
RUN=$ROOT_DIR/fuzz/run.sh
export FUZZ_TIME=${FUZZ_TIME:-30}

PASSED=0
FAILED=0

# relabel PREFIX LOG: turn run.sh's "PASS fuzz_X"/"FAIL fuzz_X" lines into this script's cases,
# showing its other lines indented.
relabel()
{
	local prefix=$1 line
	while IFS= read -r line; do
		case $line in
		"PASS fuzz_"*)
			PASSED=$((PASSED + 1))
			echo "PASS $prefix-${line#PASS fuzz_}"
			;;
		"FAIL fuzz_"*)
			FAILED=$((FAILED + 1))
			echo "FAIL $prefix-${line#FAIL fuzz_}"
			;;
		*" passed, "*" failed") ;;
		*) echo "  $line" ;;
		esac
	done <"$2"
}

# run PREFIX ARGS...: one run.sh invocation; its exit status 77 skips the whole script.
run()
{
	local prefix=$1 log rc
	shift
	log=$(mktemp /tmp/netfence-test-fuzz.XXXXXX) || exit 1
	"$RUN" "$@" >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 77 ]; then
		grep '^SKIP:' "$log" | tail -n 1
		rm -f "$log"
		exit 77
	fi
	relabel "$prefix" "$log"
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$log"; then
		FAILED=$((FAILED + 1))
		echo "FAIL $prefix (fuzz/run.sh exit status $rc)"
		sed 's/^/    /' "$log" | tail -n 20
	fi
	rm -f "$log"
}

[ -x "$RUN" ] || { echo "SKIP: $RUN is missing"; exit 77; }
run regression --replay
run fuzz
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
