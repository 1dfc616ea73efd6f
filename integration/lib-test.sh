# shellcheck shell=bash disable=SC2034 # variables here are read by the sourcing scripts
# The case harness every integration suite (integration/test-*.sh) uses: which cases run, one
# verdict line per case, the summary line and the exit status. integration/README.md says how
# to write a suite and a case. lib-kernel.sh and lib-runtime.sh source it; a suite that needs
# neither sources it itself, at its top level (it reads the suite's arguments).
#
# Selecting cases: CASES=REGEX in the environment, or REGEX arguments to the suite (several
# are or-ed), picks the cases whose names match (bash =~, unanchored; '^name$' for one case).
# run-all.sh, `make integration` and `make check` pass CASES on to every suite.
#
# Output, one line per case, which run-all.sh and CI logs read:
#   PASS NAME
#   FAIL NAME                then "      - CHECK" for each failed check
#   SKIP NAME (REASON)       the case could not run here: never counted as passed
# and at the end "N passed, N failed" (", N skipped" when any was). A suite that cannot run at
# all prints "SKIP: REASON" and exits 77. Exit status: 0 every case passed (or was skipped),
# 1 some case failed, 77 skipped as a whole. TEST_TAP=1 prints the verdicts and the summary as
# TAP instead ("ok N - NAME", "not ok N - NAME", "# SKIP REASON", the plan "1..N" last); the
# suites' other lines are no TAP lines, which TAP readers pass over.
#
# The calls:
#   selected NAME          whether case NAME is to run
#   fail CHECK...          record a failed check of the current case (it goes on running)
#   case_skip REASON...    the current case cannot run here
#   case_end NAME [NOTE]   print the verdict of the current case (a passed one with NOTE
#                          under it) and start the next
#   run_cases TABLE [FN]   run the selected rows of a case table (below)
#   table_rows TABLE       TABLE_ROWS=(its rows), for a suite that runs a row more than once
#   skip REASON...         the whole suite cannot run here: "SKIP: REASON", exit 77
#   test_summary           the summary line; returns 1 if a case failed (the suite's status)
#
# A case table is a string, one row per line, fields separated by '|' (spaces around them
# trimmed); blank lines and lines starting with '#' are ignored. The first field is the case's
# name. run_cases calls FN with the row's fields as arguments, the name first; without FN the
# second field is the command that runs the case (split into words), the further fields its
# arguments. Each row runs with stdin from /dev/null, then its verdict is printed. A table may
# use $VARIABLES (it is a double-quoted string); a field cannot hold '|'.
#
# Optional settings for the sourcing suite:
#   ERRS_MAX_LINES  case_end prints at most this many lines of a failed case (default: all)

TEST_PASSED=0
TEST_FAILED=0
TEST_SKIPPED=0
TEST_ERRS=""     # the current case's failed checks, one "      - CHECK" line each
TEST_SKIP_WHY="" # why the current case was skipped, if it was
ERRS_MAX_LINES=""
TEST_FILTER=${CASES:-}
if [ $# -gt 0 ]; then
	TEST_FILTER=$(
		IFS='|'
		echo "$*"
	)
fi

# tap_on: whether TAP output was asked for.
tap_on()
{
	[ "${TEST_TAP:-0}" = 1 ]
}

skip()
{
	if tap_on; then
		echo "1..0 # SKIP $*"
	fi
	echo "SKIP: $*"
	exit 77
}

selected()
{
	[ -z "$TEST_FILTER" ] || [[ $1 =~ $TEST_FILTER ]]
}

fail()
{
	TEST_ERRS="${TEST_ERRS}      - $*
"
}

case_skip()
{
	TEST_SKIP_WHY="$*"
}

# print_errs PREFIX: the current case's failed checks, cut to ERRS_MAX_LINES, PREFIX on each.
print_errs()
{
	if [ -n "$ERRS_MAX_LINES" ]; then
		printf '%s' "$TEST_ERRS" | head -n "$ERRS_MAX_LINES"
	else
		printf '%s' "$TEST_ERRS"
	fi | sed "s/^/$1/"
}

case_end()
{
	local n=$((TEST_PASSED + TEST_FAILED + TEST_SKIPPED + 1))
	if [ -n "$TEST_ERRS" ]; then
		TEST_FAILED=$((TEST_FAILED + 1))
		if tap_on; then
			echo "not ok $n - $1"
			print_errs '#'
		else
			echo "FAIL $1"
			print_errs ''
		fi
	elif [ -n "$TEST_SKIP_WHY" ]; then
		TEST_SKIPPED=$((TEST_SKIPPED + 1))
		if tap_on; then
			echo "ok $n - $1 # SKIP $TEST_SKIP_WHY"
		else
			echo "SKIP $1 ($TEST_SKIP_WHY)"
		fi
	else
		TEST_PASSED=$((TEST_PASSED + 1))
		if tap_on; then
			echo "ok $n - $1"
			[ -z "${2:-}" ] || echo "# note: $2"
		else
			echo "PASS $1"
			[ -z "${2:-}" ] || echo "    note: $2"
		fi
	fi
	TEST_ERRS=""
	TEST_SKIP_WHY=""
}

# trim TEXT: TEXT without its leading and trailing blanks.
trim()
{
	local s=$1
	s=${s#"${s%%[![:space:]]*}"}
	s=${s%"${s##*[![:space:]]}"}
	printf '%s' "$s"
}

table_rows()
{
	local rows row fields j f
	TABLE_ROWS=()
	mapfile -t rows <<<"$1"
	for row in "${rows[@]}"; do
		row=$(trim "$row")
		if [ -z "$row" ] || [ "${row:0:1}" = "#" ]; then
			continue
		fi
		IFS='|' read -r -a fields <<<"$row"
		for ((j = 0; j < ${#fields[@]}; j++)); do
			f=${fields[j]}
			f=${f#"${f%%[![:space:]]*}"}
			fields[j]=${f%"${f##*[![:space:]]}"}
		done
		row=$(
			IFS='|'
			echo "${fields[*]}"
		)
		TABLE_ROWS+=("$row")
	done
}

run_cases()
{
	local fn=${2:-} row fields run_cmd
	table_rows "$1"
	for row in "${TABLE_ROWS[@]}"; do
		IFS='|' read -r -a fields <<<"$row"
		selected "${fields[0]}" || continue
		TEST_ERRS=""
		TEST_SKIP_WHY=""
		if [ -n "$fn" ]; then
			"$fn" "${fields[@]}" </dev/null
		else
			read -r -a run_cmd <<<"${fields[1]:-}"
			"${run_cmd[@]}" "${fields[@]:2}" </dev/null
		fi
		case_end "${fields[0]}"
	done
}

test_summary()
{
	local line="$TEST_PASSED passed, $TEST_FAILED failed"
	[ "$TEST_SKIPPED" -eq 0 ] || line="$line, $TEST_SKIPPED skipped"
	if tap_on; then
		echo "1..$((TEST_PASSED + TEST_FAILED + TEST_SKIPPED))"
		echo "# $line"
	else
		echo "$line"
	fi
	[ "$TEST_FAILED" -eq 0 ]
}
