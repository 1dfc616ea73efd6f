#!/bin/bash
# Build and run netfence's libFuzzer targets (fuzz/fuzz_*.c) with ASan and UBSan.
#
#   fuzz/run.sh [--replay] [TARGET...]     TARGET: policy, state, config, dns (default: all)
#
# For each target: build .output/fuzz/fuzz_TARGET with clang -fsanitize=fuzzer,address,undefined
# from the hook modules it needs; replay its seeds (fuzz/seeds/TARGET/) and its saved crashers
# (fuzz/crashers/TARGET/, regression inputs that must no longer crash); then, unless --replay,
# fuzz for FUZZ_TIME seconds on a copy of the seeds in a temporary directory, with the
# target's dictionary (fuzz/TARGET.dict). A crash, leak, timeout or out-of-memory input found
# is saved to fuzz/crashers/TARGET/ (keep it there as a regression input once fixed).
# One PASS/FAIL line per target, then "N passed, N failed"; exit 1 on any failure, 77 when
# clang's libFuzzer runtime is missing.
#
# Environment: FUZZ_TIME (seconds per target, default 60), CLANG (default clang),
# FUZZ_KEEP=1 keeps the temporary corpora and logs (their path is printed).
set -u

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
FUZZ_DIR=$ROOT_DIR/fuzz
OUT=$ROOT_DIR/.output/fuzz
FUZZ_TIME=${FUZZ_TIME:-60}
CLANG=${CLANG:-clang}
ALL_TARGETS="policy state config dns"

# The hook modules each target links (parsers are pure, so no libbpf or libcap). If a module
# grows a dependency, the build falls back to every module but main.c, which needs `make`'s
# BPF skeleton and the full library list.
declare -A SRCS=(
	[policy]="policy.c json.c json_scan.c util.c err.c compile.c"
	[state]="oci.c json.c json_scan.c util.c err.c policy.c config.c floor.c log.c"
	[config]="config.c floor.c policy.c oci.c cgroup.c json.c json_scan.c util.c err.c log.c"
	[dns]="dns.c err.c"
)
# Longest input per target: the documents are bounded far above this, but the interesting
# structure fits, and short inputs keep the runs fast.
declare -A MAX_LEN=(
	[policy]=8192
	[state]=4096
	[config]=4096
	[dns]=4608
)

# shellcheck disable=SC2054 # the commas belong to the flag
SANITIZE=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
CFLAGS=(-g -O1 -fno-omit-frame-pointer -std=gnu11 -Wall -Wextra -Wno-missing-field-initializers
	-D_GNU_SOURCE '-DNETFENCE_VERSION="fuzz"' "-I$ROOT_DIR/hook" "-I$ROOT_DIR/bpf"
	"-I$ROOT_DIR/.output")
# Leaks are bugs too; a slow input (over 25 s) is reported as a timeout.
FUZZ_OPTS=(-timeout=25 -rss_limit_mb=4096 -detect_leaks=1 -print_final_stats=1)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

PASSED=0
FAILED=0
TMP=""
REPLAY_ONLY=0

cleanup()
{
	if [ -n "$TMP" ]; then
		if [ "${FUZZ_KEEP:-0}" = 1 ]; then
			echo "kept $TMP" >&2
		else
			rm -rf "$TMP"
		fi
	fi
}

pkg_flags()
{
	pkg-config "$@" 2>/dev/null
}

# Whether clang can link a libFuzzer binary at all.
have_libfuzzer()
{
	command -v "$CLANG" >/dev/null 2>&1 || return 1
	printf '%s\n' '#include <stdint.h>' '#include <stddef.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		>"$TMP/probe.c"
	"$CLANG" "${SANITIZE[@]}" "$TMP/probe.c" -o "$TMP/probe" >/dev/null 2>&1
}

# build TARGET: .output/fuzz/fuzz_TARGET; the compiler's output goes to $TMP/TARGET.build.
build()
{
	local t=$1 bin=$OUT/fuzz_$1 log=$TMP/$1.build src
	local -a srcs=()
	for src in ${SRCS[$t]}; do
		srcs+=("$ROOT_DIR/hook/$src")
	done
	# Up to date: no source, header or fuzz file newer than the binary.
	if [ -x "$bin" ] && [ -z "$(find "$ROOT_DIR/hook" "$ROOT_DIR/bpf" "$FUZZ_DIR" -maxdepth 1 \
		\( -name '*.[ch]' -o -name run.sh \) -newer "$bin" -print -quit)" ]; then
		return 0
	fi
	# shellcheck disable=SC2046 # pkg-config's flags are words
	if "$CLANG" "${CFLAGS[@]}" "${SANITIZE[@]}" $(pkg_flags --cflags jansson) \
		"$FUZZ_DIR/fuzz_$t.c" "${srcs[@]}" $(pkg_flags --libs jansson) -o "$bin" \
		>"$log" 2>&1; then
		return 0
	fi
	# Fall back to every module but main.c (needs the skeleton from `make`).
	echo "  fuzz_$t: minimal link failed, retrying with every hook module" >>"$log"
	[ -e "$ROOT_DIR/.output/netfence.skel.h" ] ||
		make -C "$ROOT_DIR" -s .output/netfence.skel.h >>"$log" 2>&1
	srcs=()
	for src in "$ROOT_DIR"/hook/*.c; do
		[ "${src##*/}" = main.c ] || srcs+=("$src")
	done
	# shellcheck disable=SC2046
	"$CLANG" "${CFLAGS[@]}" "${SANITIZE[@]}" $(pkg_flags --cflags libbpf jansson libcap) \
		"$FUZZ_DIR/fuzz_$t.c" "${srcs[@]}" $(pkg_flags --libs libbpf jansson libcap) \
		-lelf -lz -o "$bin" >>"$log" 2>&1
}

# The files of a directory (none if it is missing), NUL-separated.
files_in()
{
	[ -d "$1" ] && find "$1" -maxdepth 1 -type f ! -name '.*' ! -name 'README*' -print0
}

# replay TARGET DIR: run every file of DIR through the target once; 0 if none crashes.
replay()
{
	local t=$1 dir=$2 log f bad=0 n=0
	log=$TMP/$1.replay.$(basename "$2")
	local -a inputs=()
	while IFS= read -r -d '' f; do
		inputs+=("$f")
	done < <(files_in "$dir")
	[ "${#inputs[@]}" -eq 0 ] && return 0
	# All at once; only when that fails, one process per input, so that every crashing input
	# is named and the others still run.
	if "$OUT/fuzz_$t" -runs=1 "${FUZZ_OPTS[@]}" "${inputs[@]}" >"$log" 2>&1; then
		echo "  fuzz_$t: replayed ${#inputs[@]} input(s) of ${dir#"$ROOT_DIR"/}, 0 crashing"
		return 0
	fi
	for f in "${inputs[@]}"; do
		n=$((n + 1))
		if ! "$OUT/fuzz_$t" -runs=1 "${FUZZ_OPTS[@]}" "$f" >"$log" 2>&1; then
			bad=$((bad + 1))
			echo "    crashes on ${f#"$ROOT_DIR"/}:"
			grep -E 'ERROR|runtime error|contract broken|SUMMARY' "$log" | head -n 4 |
				sed 's/^/      /'
		fi
	done
	echo "  fuzz_$t: replayed $n input(s) of ${dir#"$ROOT_DIR"/}, $bad crashing"
	[ "$bad" -eq 0 ]
}

# fuzz TARGET: FUZZ_TIME seconds; new crashers land in fuzz/crashers/TARGET/.
fuzz()
{
	local t=$1 corpus=$TMP/corpus-$1 log=$TMP/$1.fuzz crashdir=$FUZZ_DIR/crashers/$1
	local rc stats dict=()
	mkdir -p "$corpus" "$crashdir" || return 1
	files_in "$FUZZ_DIR/seeds/$t" | xargs -0 -r cp -t "$corpus"
	[ -e "$FUZZ_DIR/$t.dict" ] && dict=(-dict="$FUZZ_DIR/$t.dict")
	# libFuzzer's own clock stops it; the outer timeout only guards against a hang.
	timeout -k 10 $((FUZZ_TIME + 120)) "$OUT/fuzz_$t" -max_total_time="$FUZZ_TIME" \
		-max_len="${MAX_LEN[$t]}" "${FUZZ_OPTS[@]}" "${dict[@]}" \
		-artifact_prefix="$crashdir/" "$corpus" >"$log" 2>&1
	rc=$?
	stats=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	echo "  fuzz_$t: ${FUZZ_TIME}s, exit $rc, last: ${stats:-no progress line}"
	echo "  fuzz_$t: $(grep -c '' < <(find "$corpus" -type f)) corpus inputs," \
		"$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs"
	if [ "$rc" -ne 0 ]; then
		grep -E 'ERROR|runtime error|contract broken|Test unit written|SUMMARY' "$log" |
			head -n 8 | sed 's/^/    /'
		return 1
	fi
}

run_target()
{
	local t=$1 ok=1
	if ! build "$t"; then
		echo "FAIL fuzz_$t (build failed)"
		sed 's/^/    /' "$TMP/$t.build" | tail -n 20
		FAILED=$((FAILED + 1))
		return
	fi
	replay "$t" "$FUZZ_DIR/seeds/$t" || ok=0
	replay "$t" "$FUZZ_DIR/crashers/$t" || ok=0
	if [ "$REPLAY_ONLY" = 0 ]; then
		fuzz "$t" || ok=0
	fi
	if [ "$ok" = 1 ]; then
		PASSED=$((PASSED + 1))
		echo "PASS fuzz_$t"
	else
		FAILED=$((FAILED + 1))
		echo "FAIL fuzz_$t"
	fi
}

main()
{
	local t targets=""
	while [ $# -gt 0 ]; do
		case $1 in
		--replay) REPLAY_ONLY=1 ;;
		-h | --help)
			sed -n '2,16p' "$0"
			exit 0
			;;
		policy | state | config | dns) targets="$targets $1" ;;
		*)
			echo "fuzz/run.sh: unknown target '$1' (policy, state, config, dns)" >&2
			exit 2
			;;
		esac
		shift
	done
	[ -n "$targets" ] || targets=$ALL_TARGETS
	case $FUZZ_TIME in
	'' | *[!0-9]*)
		echo "fuzz/run.sh: FUZZ_TIME '$FUZZ_TIME' is not a number of seconds" >&2
		exit 2
		;;
	esac
	TMP=$(mktemp -d /tmp/netfence-fuzz.XXXXXX) || exit 1
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if ! have_libfuzzer; then
		echo "SKIP: '$CLANG -fsanitize=fuzzer' cannot link (install clang and libclang-rt-dev)"
		exit 77
	fi
	mkdir -p "$OUT" || exit 1
	for t in $targets; do
		run_target "$t"
	done
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

main "$@"
