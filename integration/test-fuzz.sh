#!/bin/bash
# The libFuzzer targets as part of `make check`:
#   regression-TARGET  every saved crasher (fuzz/crashers/TARGET/) and seed
#                      (fuzz/seeds/TARGET/) replayed once: none may crash any more;
#   fuzz-TARGET        FUZZ_TIME seconds of fuzzing (default 30 here; `make fuzz` runs longer).
# Both through fuzz/run.sh, which builds the targets with clang -fsanitize=fuzzer,address,
# undefined; a new crasher it finds is saved in fuzz/crashers/TARGET/ for the next replay.
# Reports through lib-test.sh; exits 77 when clang's libFuzzer runtime is missing (Debian: clang
# and libclang-rt-14-dev, or the package matching the clang version).
#
# Environment: FUZZ_TIME (seconds per target, default 30), CLANG, CASES=REGEX (or REGEX
# arguments): the cases to run.
set -u

# shellcheck source=integration/lib-test.sh
. "$(dirname "$0")/lib-test.sh"

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
RUN=$ROOT_DIR/fuzz/run.sh
export FUZZ_TIME=${FUZZ_TIME:-30}

# relabel PREFIX LOG: turn run.sh's "PASS fuzz_X"/"FAIL fuzz_X" lines into this script's cases,
# showing its other lines indented.
relabel()
{
	local prefix=$1 line
	while IFS= read -r line; do
		case $line in
		"PASS fuzz_"*)
			case_end "$prefix-${line#PASS fuzz_}"
			;;
		"FAIL fuzz_"*)
			fail "fuzz/run.sh failed it (its output above)"
			case_end "$prefix-${line#FAIL fuzz_}"
			;;
		*" passed, "*" failed") ;;
		*) echo "  $line" ;;
		esac
	done <"$2"
}

# run PREFIX [--replay]: one run.sh invocation over the selected targets (fuzz/fuzz_*.c); its
# exit status 77 skips the whole script.
run()
{
	local prefix=$1 log rc f t targets=()
	shift
	for f in "$ROOT_DIR"/fuzz/fuzz_*.c; do
		t=${f##*/fuzz_}
		t=${t%.c}
		selected "$prefix-$t" && targets+=("$t")
	done
	[ ${#targets[@]} -gt 0 ] || return 0
	log=$(mktemp /tmp/netfence-test-fuzz.XXXXXX) || exit 1
	"$RUN" "$@" "${targets[@]}" >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 77 ]; then
		t=$(grep '^SKIP:' "$log" | tail -n 1)
		rm -f "$log"
		skip "${t#SKIP: }"
	fi
	relabel "$prefix" "$log"
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$log"; then
		fail "fuzz/run.sh exit status $rc: $(tail -n 20 "$log")"
		case_end "$prefix"
	fi
	rm -f "$log"
}

[ -x "$RUN" ] || skip "$RUN is missing"
run regression --replay
run fuzz
test_summary
