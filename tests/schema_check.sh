#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Check that schemas/policy.schema.json and the C parser (hook/policy.c) agree.
#
#   tests/schema_check.sh [NETFENCE]     (from the project root; `make unit` runs it)
#
# Both sides classify the same fixtures by directory:
#   tests/data/policies/valid/             accepted by the schema and by the parser
#   tests/data/policies/invalid/           refused by both (*.err: the parser's exact message)
#   tests/data/policies/invalid-semantic/  accepted by the schema, refused by the parser: the
#                                          checks JSON Schema cannot express (host bits, lo > hi)
# and tests/data/prefixes.txt and ports.txt give the same kind of classes to single values.
#
# This script is the schema side, run with python3-jsonschema (Draft202012Validator). JSON-level
# rules the parser also enforces are applied when loading: strict UTF-8, no duplicate keys, no
# NaN, at most 1 MiB, and numbers with a fraction or exponent are not integers (JSON Schema would
# call 443.0 an integer; netfence does not). The C side is the `fixtures` suite of
# tests/test_policy.c, run here when built; with NETFENCE given and supporting
# `netfence policy check FILE`, every fixture is also checked through the binary.
#
# Exit: 0 agreement, 1 disagreement, 77 when python3-jsonschema is missing.
set -u
cd "$(dirname "$0")/.." || exit 1

if ! python3 -c 'from jsonschema import Draft202012Validator' 2>/dev/null; then
	echo "schema_check: SKIP: python3-jsonschema with Draft 2020-12 support is not installed" \
		"(apt-get install python3-jsonschema)"
	exit 77
fi

python3 - <<'EOF'
import json, re, sys
from decimal import Decimal
from pathlib import Path
from jsonschema import Draft202012Validator

MAX_BYTES = 1024 * 1024
root = Path("tests/data/policies")
failures = []


def refuse_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def load(raw):
    """The document as netfence would read it, or an exception."""
    if len(raw) > MAX_BYTES:
        raise ValueError("more than 1 MiB")
    return json.loads(raw.decode("utf-8"), object_pairs_hook=refuse_duplicates,
                      parse_float=Decimal, parse_constant=refuse_constant)


def schema_accepts(validator, raw):
    try:
        doc = load(raw)
    except (ValueError, RecursionError) as e:
        return False, f"not loadable: {str(e)[:60]}"
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        return False, f"/{'/'.join(map(str, errors[0].path))}: {errors[0].message[:80]}"
    return True, ""


schema = json.loads(Path("schemas/policy.schema.json").read_text())
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema)

examples = schema.get("examples", [])
if not examples:
    failures.append("schema: no examples")
for i, ex in enumerate(examples):
    ok, why = schema_accepts(validator, json.dumps(ex).encode())
    if not ok:
        failures.append(f"schema example {i}: refused: {why}")

expect = {"valid": True, "invalid": False, "invalid-semantic": True}
counts = {}
for d, want in expect.items():
    files = sorted((root / d).glob("*.json"))
    counts[d] = len(files)
    if not files:
        failures.append(f"{root / d}: no fixtures")
    for f in files:
        ok, why = schema_accepts(validator, f.read_bytes())
        if ok != want:
            failures.append(f"{f}: schema {'accepts' if ok else 'refuses'} it "
                            f"({why or 'valid'}), expected {'valid' if want else 'invalid'}")


def corpus(path):
    for line in Path(path).read_text().split("\n"):
        if line and not line.startswith("#"):
            cls, value = line.split("\t", 1)
            yield cls, value


def matches(subschema, value):
    return Draft202012Validator(subschema).is_valid(value)


# "any" is the rule parser's business; nf_prefix_parse and prefixes.txt see only prefixes.
cidr = {"anyOf": [a for a in schema["$defs"]["cidr"]["anyOf"] if "pattern" in a]}
port = schema["$defs"]["port"]
nvalues = 0
for path, sub, accepted in (("tests/data/prefixes.txt", cidr, ("ok", "hostbits")),
                            ("tests/data/ports.txt", port, ("ok", "order"))):
    for cls, value in corpus(path):
        nvalues += 1
        if matches(sub, value) != (cls in accepted):
            failures.append(f"{path}: {value!r} ({cls}): schema "
                            f"{'accepts' if matches(sub, value) else 'refuses'} it")

print(f"schema_check: schema side: {len(examples)} examples, "
      + ", ".join(f"{n} {d}" for d, n in counts.items())
      + f" fixtures, {nvalues} prefix/port values")
for f in failures:
    print(f"schema_check: FAIL: {f}")
sys.exit(1 if failures else 0)
EOF
status=$?

# The C side: the fixtures suite of the policy unit test, when built.
ctest=""
for t in "${TEST_POLICY:-}" .output/tests/test_policy .output-asan/tests/test_policy; do
	if [ -n "$t" ] && [ -x "$t" ]; then
		ctest=$t
		break
	fi
done
cside=no
if [ -n "$ctest" ]; then
	cside=yes
	if "$ctest" --jobs 1 --filter 'fixtures/*' >/dev/null 2>&1; then
		echo "schema_check: C side: $ctest fixtures suite passes"
	else
		echo "schema_check: FAIL: C side: $ctest --filter 'fixtures/*' fails"
		status=1
	fi
else
	echo "schema_check: C side: .output/tests/test_policy not built, only the schema was checked"
fi

# Through the binary, when it has `policy check` (exit 0 valid, 1 refused, 2 usage).
netfence=${1:-}
probe=tests/data/policies/valid/minimal.json
if [ -n "$netfence" ] && [ -x "$netfence" ] && "$netfence" policy check "$probe" >/dev/null 2>&1
then
	n=0
	for f in tests/data/policies/*/*.json; do
		n=$((n + 1))
		"$netfence" policy check "$f" >/dev/null 2>&1
		rc=$?
		case "$f:$rc" in
		*/valid/*:0 | */invalid/*:1 | */invalid-semantic/*:1) ;;
		*)
			echo "schema_check: FAIL: $netfence policy check $f exits $rc"
			status=1
			;;
		esac
	done
	echo "schema_check: binary side: $netfence policy check ran on $n fixtures"
	cside=yes
fi

if [ "$status" -ne 0 ]; then
	echo "schema_check: FAILED: the schema and the parser disagree (see above)"
elif [ "$cside" = yes ]; then
	echo "schema_check: OK: schema and parser agree"
else
	echo "schema_check: OK for the schema side; build the tests to check the parser side"
fi
exit "$status"
