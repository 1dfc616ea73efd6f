#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Check that what is shipped about the command line cannot drift from the program:
#   - man/netfence.8.md and the bash completion name every command and every option that
#     `netfence --help` lists;
#   - the man pages render without a warning (groff -ww, and man(1) when installed);
#   - the host config shipped in dist/ is the one docs/configuration.md shows.
#
#   tests/cli_docs_check.sh NETFENCE [MAN_DIR]   (from the project root; `make unit` runs it)
#
# Exit: 0 all agree, 1 not, 77 when a tool it needs (python3, groff) is missing.
set -u
cd "$(dirname "$0")/.." || exit 1
netfence=${1:?usage: cli_docs_check.sh NETFENCE [MAN_DIR]}
mandir=${2:-.output/man}
status=0

fail()
{
	echo "cli_docs_check: FAIL: $*"
	status=1
}

command -v python3 >/dev/null || { echo "cli_docs_check: SKIP: no python3"; exit 77; }
command -v groff >/dev/null || { echo "cli_docs_check: SKIP: no groff (groff-base)"; exit 77; }

help=$("$netfence" --help) || fail "$netfence --help exits non-zero"
# Commands: the first word of each indented line of the "Commands:" block.
commands=$(printf '%s\n' "$help" | awk '/^Commands:/ { on = 1; next } /^[^ ]/ { on = 0 }
	on && /^  [a-z]/ { print $1 }' | sort -u)
# Options: the global ones in --help, and each command's in `netfence help COMMAND`.
options=$( (
	printf '%s\n' "$help"
	for c in $commands; do "$netfence" help "$c"; done
) | grep -oE -- '--[a-z][a-z-]*' | sort -u)
[ -n "$commands" ] && [ -n "$options" ] || fail "no commands or options found in --help"

for c in $commands; do
	grep -q "^### $c\b" man/netfence.8.md || fail "man/netfence.8.md has no '### $c' section"
	grep -qw -- "$c" dist/bash-completion/netfence ||
		fail "the bash completion does not know the command '$c'"
done
for o in $options; do
	grep -q -- "\`$o\`" man/netfence.8.md || fail "man/netfence.8.md does not name '$o'"
	grep -q -- "$o\b" dist/bash-completion/netfence ||
		fail "the bash completion does not know the option '$o'"
done
"$netfence" --version | grep -qx "netfence [0-9][0-9a-z.~+-]*" ||
	fail "'netfence --version' prints '$("$netfence" --version 2>&1)'"

n=0
for page in "$mandir"/netfence.8 "$mandir"/netfence-policy.5 "$mandir"/netfence-config.5; do
	[ -f "$page" ] || { fail "$page is not built (make man)"; continue; }
	n=$((n + 1))
	out=$(LC_ALL=C.UTF-8 groff -ww -z -man "$page" 2>&1)
	[ -z "$out" ] || fail "groff -ww on $page: $(printf '%s' "$out" | head -n 3)"
	if command -v man >/dev/null; then
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		[ -z "$out" ] || fail "man --warnings -l $page: $(printf '%s' "$out" | head -n 3)"
	fi
done

python3 - <<'EOF' || status=1
import json, re, sys
doc = open("docs/configuration.md").read()
block = re.search(r"```json\n(.*?)```", doc, re.S).group(1)
shipped = json.load(open("dist/etc/netfence/config.json"))
if json.loads(block) != shipped:
    print("cli_docs_check: FAIL: dist/etc/netfence/config.json is not the config "
          "docs/configuration.md shows")
    sys.exit(1)
EOF

[ "$status" -eq 0 ] &&
	echo "cli_docs_check: OK: $(echo $commands | wc -w) commands, $(echo $options | wc -w)" \
		"options documented and completed; $n man pages render cleanly"
exit "$status"
