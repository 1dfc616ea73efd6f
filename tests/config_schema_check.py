#!/usr/bin/env python3
"""Check that schemas/config.schema.json accepts exactly what the hook's config parser accepts.

Validates the schema itself, its "examples" (all must be valid) and the fixtures under
tests/data/config/{valid,invalid}/ (the directory says which outcome is expected; the Criterion
test tests/test_config.c runs the C parser on the same files).

A few rules belong to the parser and no schema can state them; they are applied here before the
schema so that the fixtures can cover them too: at most 65536 bytes, UTF-8, no duplicate keys,
no NaN/Infinity, no U+0000 or lone surrogate in strings, and numbers with a fraction or an
exponent are not integers (JSON Schema would call 100.0 an integer; netfence, like the policy
parser, does not): they are loaded as Decimal, which jsonschema never takes for an integer.

JSON Schema patterns are ECMA-262 regular expressions, where "$" matches only at the very end;
Python's "$" also matches before a final newline, so patterns are checked with that one
difference undone.

Usage: config_schema_check.py [REPO_ROOT]. Exit 0 if all agree, 1 if not, 77 without jsonschema.
"""
import json
import os
import re
import sys
from decimal import Decimal

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError:
    print("config_schema_check: SKIP: python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(77)

CONFIG_MAX = 65536  # NF_CONFIG_MAX in hook/config.h


def ecma_pattern(validator, pattern, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    # An unescaped "$" outside a character class becomes \Z: end of input only.
    translated, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            translated.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "[":
            in_class = True
        elif ch == "]":
            in_class = False
        translated.append("\\Z" if ch == "$" and not in_class else ch)
        i += 1
    if not re.search("".join(translated), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


Validator = jsonschema.validators.extend(Draft202012Validator, {"pattern": ecma_pattern})


def reject_duplicates(pairs):
    keys = [k for k, _ in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise ValueError(f"duplicate key {sorted(dup)[0]!r}")
    return dict(pairs)


def reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def check_strings(value):
    if isinstance(value, str):
        if "\0" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            raise ValueError("U+0000 or a lone surrogate in a string")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_strings(k)
            check_strings(v)
    elif isinstance(value, list):
        for v in value:
            check_strings(v)


def load_strict(data):
    """The document as the C parser reads it, or ValueError with the reason it refuses it."""
    if len(data) > CONFIG_MAX:
        raise ValueError(f"{len(data)} bytes, more than {CONFIG_MAX}")
    doc = json.loads(data.decode("utf-8"), object_pairs_hook=reject_duplicates,
                     parse_constant=reject_constant, parse_float=Decimal)
    check_strings(doc)
    return doc


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    with open(os.path.join(root, "schemas", "config.schema.json"), "rb") as f:
        schema = load_strict(f.read())
    Draft202012Validator.check_schema(schema)
    validator = Validator(schema)
    failures, count = 0, 0

    for i, example in enumerate(schema.get("examples", [])):
        count += 1
        errors = list(validator.iter_errors(example))
        if errors:
            failures += 1
            print(f"FAIL examples/{i}: {errors[0].message}")

    for expect in ("valid", "invalid"):
        directory = os.path.join(root, "tests", "data", "config", expect)
        for name in sorted(os.listdir(directory)):
            if not name.endswith(".json"):
                continue
            count += 1
            with open(os.path.join(directory, name), "rb") as f:
                data = f.read()
            try:
                errors = [e.message for e in validator.iter_errors(load_strict(data))]
            except ValueError as e:  # includes JSON and UTF-8 decoding errors
                errors = [str(e)]
            if (expect == "valid") != (not errors):
                failures += 1
                why = errors[0] if errors else "accepted"
                print(f"FAIL {expect}/{name}: {why}")

    print(f"config_schema_check: {count - failures}/{count} agree")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
