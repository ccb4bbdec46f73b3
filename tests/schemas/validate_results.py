#!/usr/bin/python3
"""Runs one small instance of every command kind with --json and validates each result against
its JSON Schema in docs/schemas/ (Debian's python3-jsonschema).  Usage:
  validate_results.py BINARY SCHEMA_DIR [--dump DIR]
Exit 0 when every result validates and every schema was used; 1 otherwise."""
import json
import os
import subprocess
import sys
import tempfile

import jsonschema
from jsonschema import Draft202012Validator

# (schema, args): every verb and every claim, reduction and function of the registry, small.
CASES = [
    ("list", ["list"]),
    ("check", ["check", "qsa-cyclic", "--N", "8", "--q", "2", "--eps", "0.1"]),
    ("check", ["check", "qsa-cyclic", "--N", "8", "--q", "2", "--eps", "0.1", "--c", "1"]),
    ("check", ["check", "qsa-cyclic", "--N", "8", "--q", "2", "--eps", "0.1", "--semantics", "embed:float:24"]),
    ("check", ["check", "qsa-cyclic", "--N", "8", "--q", "2", "--eps", "0.1", "--semantics", "arith:float:24"]),
    ("check", ["check", "qsa-rip", "--N", "8", "--q", "2", "--eps", "0.1", "--mk", "16"]),
    ("check", ["check", "qsa-rip", "--N", "8", "--q", "2", "--eps", "0.1", "--mk", "2"]),
    ("check", ["check", "match2", "--N", "4", "--M", "8"]),
    ("check", ["check", "match2", "--N", "4", "--M", "8", "--c", "1"]),
    ("check", ["check", "match2", "--N", "4", "--M", "8", "--no-residual"]),
    ("check", ["check", "match3-third-order", "--N", "3", "--M", "6"]),
    ("check", ["check", "match3-third-order", "--N", "3", "--M", "6", "--flip-query-sign"]),
    ("check", ["check", "match3-hinted", "--N", "5", "--M", "7", "--q", "2"]),
    ("check", ["check", "match3-window", "--N", "6", "--M", "7", "--w", "2"]),
    ("eval", ["eval", "qsa-cyclic", "--input", "{qsa_input}"]),
    ("eval", ["eval", "qsa-rip", "--input", "{qsa_input}"]),
    ("eval", ["eval", "match2", "--input", "3,13,5,1", "--M", "16"]),
    ("eval", ["eval", "match2", "--no-residual", "--input", "1,2", "--M", "16"]),
    ("eval", ["eval", "match3-third-order", "--input", "1,2,5", "--M", "9"]),
    ("eval", ["eval", "match3-window", "--input", "1,2,3,4", "--M", "8", "--w", "2"]),
    ("eval", ["eval", "match3-hinted", "--input", "1,2,3", "--hints", "2 3|1 3|1 2", "--M", "8"]),
    ("lower-qsa-disj", ["lower", "qsa-disj", "--q", "3", "--model", "random", "--m", "1", "--semantics", "embed:fixed:2.0"]),
    ("lower-qsa-disj", ["lower", "qsa-disj", "--q", "3", "--model", "qsa-cyclic", "--semantics", "embed:float:24"]),
    ("lower-qsa-disj", ["lower", "qsa-disj", "--model", "{qsa_model_7_3}", "--semantics", "embed:float:4"]),
    ("lower-qsa-disj-grid", ["lower", "qsa-disj", "--q", "3", "--model", "random", "--grid", "--m-values", "1,2",
                             "--p-values", "2,3"]),
    ("lower-match3-disj", ["lower", "match3-disj", "--n", "3"]),
    ("lower-match3-disj", ["lower", "match3-disj", "--n", "3", "--model", "random", "--m", "1", "--H", "1",
                           "--semantics", "tiled:float:2:15"]),
    ("lower-match3-disj", ["lower", "match3-disj", "--model", "{match2_model_7}", "--semantics", "tiled:float:8:3"]),
    ("lower-match3-disj-grid", ["lower", "match3-disj", "--n", "3", "--grid", "--grid-m", "1,2", "--grid-p", "2,4",
                                "--grid-H", "1"]),
    ("lower-fc-rank", ["lower", "fc-rank", "--N", "6", "--q", "2", "--d", "1", "--seed", "1"]),
    ("lower-fc-rank", ["lower", "fc-rank", "--N", "6", "--q", "2", "--d", "1", "--k", "5", "--seed", "1"]),
    ("lower-rnn-index", ["lower", "rnn-index", "--N", "5", "--model", "automaton", "--S", "4"]),
    ("lower-rnn-index", ["lower", "rnn-index", "--N", "5", "--model", "automaton", "--S", "3"]),
    ("lower-rnn-index", ["lower", "rnn-index", "--N", "5", "--model", "linear", "--r", "4", "--state-format", "fixed:2.0",
                         "--recurrence", "shift"]),
    ("cc", ["cc", "disj", "--n", "2"]),
    ("cc", ["cc", "eq", "--n", "2"]),
    ("cc", ["cc", "index", "--n", "2"]),
    ("cc", ["cc", "ip", "--n", "2"]),
    ("cc", ["cc", "matrix", "--matrix", "{matrix}"]),
    ("min-p", ["min-p", "qsa-cyclic", "--N", "8", "--q", "2", "--eps", "0.1", "--mode", "embed", "--p-max", "40"]),
    ("min-p", ["min-p", "qsa-cyclic", "--N", "8", "--q", "1", "--eps", "0.1", "--mode", "arith", "--p-max", "30"]),
    ("min-p", ["min-p", "qsa-cyclic", "--N", "8", "--q", "2", "--eps", "0.1", "--mode", "embed", "--p-max", "4"]),
    ("min-p", ["min-p", "qsa-rip", "--N", "8", "--q", "1", "--eps", "0.1", "--mode", "embed", "--p-max", "24"]),
    ("min-p", ["min-p", "match2", "--N", "4", "--M", "8", "--p-max", "16", "--mode", "embed"]),
    ("min-p", ["min-p", "match2", "--N", "4", "--M", "8", "--p-max", "3", "--mode", "embed"]),
    ("min-p", ["min-p", "match3-third-order", "--N", "3", "--M", "6", "--p-max", "8", "--mode", "arith"]),
    ("min-p", ["min-p", "match3-hinted", "--N", "5", "--M", "7", "--q", "2", "--p-max", "24", "--mode", "embed"]),
    ("min-p", ["min-p", "match3-window", "--N", "6", "--M", "7", "--w", "2", "--p-max", "24", "--mode", "embed"]),
    ("min-m", ["min-m", "qsa-rip", "--N", "8", "--q", "1,2", "--seeds", "2", "--seed", "1"]),
    ("check", ["check", "qsa-cyclic", "--N", "6", "--q", "2", "--eps", "0.1", "--certificate", "{cert_cyclic}"]),
    ("check", ["check", "qsa-rip", "--N", "6", "--q", "2", "--eps", "0.1", "--mk", "16", "--certificate", "{cert_rip}"]),
    ("replay", ["replay", "{cert_cyclic}"]),
    ("replay", ["replay", "{cert_rip}"]),
    ("check", ["check", "match2", "--model", "{match2_model}"]),
    ("check", ["check", "match2", "--model", "{match2_model_low}", "--semantics", "embed:bf16"]),
    ("check", ["check", "match3", "--model", "{match3_model}"]),
    ("min-p", ["min-p", "match2", "--model", "{match2_model}", "--p-max", "6"]),
    ("min-p", ["min-p", "match3", "--model", "{match3_model}", "--p-max", "6", "--mode", "arith"]),
    ("eval", ["eval", "match2", "--model", "{match2_model}", "--input", "3,5,1,4"]),
    ("check", ["check", "match2", "--model", "{match2_nr_model}", "--semantics", "embed:bf16"]),
    ("min-p", ["min-p", "match2", "--model", "{match2_nr_model}", "--p-max", "6"]),
    ("eval", ["eval", "match2", "--model", "{match2_nr_model}", "--input", "3,5,1,4"]),
    ("min-p", ["min-p", "match3-hinted", "--model", "{hinted_model}", "--p-max", "12"]),
    ("min-p", ["min-p", "match3-window", "--model", "{window_model}", "--p-max", "12", "--mode", "arith"]),
    ("check", ["check", "qsa", "--model", "{qsa_unit_model}", "--eps", "0.1"]),
    ("check", ["check", "qsa", "--model", "{qsa_unit_model_low}", "--eps", "0.1"]),
    ("eval", ["eval", "qsa", "--model", "{qsa_unit_model}", "--input", "{qsa_input}"]),
]

# Fields whose type today differs from the contract in docs/schemas (kind, path, words of the
# error).  Each is reported on every run and tolerated until the producing command is fixed;
# remove the entry then, so the schema guards the field.
KNOWN_DEVIATIONS = [
]


def known_deviation(kind, path, message):
    for k, p, words, why in KNOWN_DEVIATIONS:
        if k == kind and p == path and words in message:
            return why
    return None


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, schema_dir = sys.argv[1], sys.argv[2]
    dump = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--dump" else None
    schemas = {}
    for name in sorted(os.listdir(schema_dir)):
        if name.endswith(".schema.json"):
            with open(os.path.join(schema_dir, name)) as f:
                schemas[name[: -len(".schema.json")]] = json.load(f)
    # $ref "common.schema.json#/$defs/..." resolves against the schema directory.
    store = {s.get("$id", k + ".schema.json"): s for k, s in schemas.items()}
    failures, used, known = [], set(), set()
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "qsa_input": os.path.join(tmp, "qsa_input.json"),
            "matrix": os.path.join(tmp, "matrix.txt"),
            "cert_cyclic": os.path.join(tmp, "cert_cyclic.json"),
            "cert_rip": os.path.join(tmp, "cert_rip.json"),
            "match2_model": os.path.join(tmp, "match2.st"),
            "match2_model_low": os.path.join(tmp, "match2_low.st"),
            "match3_model": os.path.join(tmp, "match3.st"),
            "match2_nr_model": os.path.join(tmp, "match2_nr.st"),
            "qsa_model_7_3": os.path.join(tmp, "cyclic_7_3.st"),
            "match2_model_7": os.path.join(tmp, "match2_7.st"),
            "hinted_model": os.path.join(tmp, "hinted.st"),
            "window_model": os.path.join(tmp, "window.st"),
            "qsa_unit_model": os.path.join(tmp, "qsa_unit.st"),
            "qsa_unit_model_low": os.path.join(tmp, "qsa_unit_low.st"),
        }
        for export in (["match2", "--N", "4", "--M", "8", "--out", files["match2_model"]],
                       ["match2", "--N", "4", "--M", "8", "--c", "1", "--out", files["match2_model_low"]],
                       ["match3-third-order", "--N", "3", "--M", "6", "--out", files["match3_model"]],
                       ["match2", "--no-residual", "--N", "4", "--M", "8", "--out", files["match2_nr_model"]],
                       ["qsa-cyclic", "--N", "7", "--q", "3", "--out", files["qsa_model_7_3"]],
                       ["match2", "--N", "7", "--M", "12", "--out", files["match2_model_7"]],
                       ["match3-hinted", "--N", "5", "--M", "7", "--q", "2", "--out", files["hinted_model"]],
                       ["match3-window", "--N", "6", "--M", "7", "--w", "2", "--out", files["window_model"]],
                       ["qsa-cyclic", "--class", "qsa-unit", "--N", "4", "--q", "2", "--out", files["qsa_unit_model"]],
                       ["qsa-cyclic", "--class", "qsa-unit", "--N", "4", "--q", "2", "--c", "1/2",
                        "--out", files["qsa_unit_model_low"]]):
            subprocess.run([binary, "export"] + export, check=True, capture_output=True, timeout=60)
        with open(files["qsa_input"], "w") as f:
            f.write('{"z": [[1], [-1], ["1/2"], [0]], "y": [[1, 2], [2, 3], [3, 4], [1, 4]]}')
        with open(files["matrix"], "w") as f:
            f.write("1 0 1\n0 1 1\n1 1 0\n")
        for i, (schema_name, args) in enumerate(CASES):
            argv = [a.format(**files) for a in args] + ["--json"]
            shown = "attnbounds " + " ".join(argv)
            p = subprocess.run([binary] + argv, capture_output=True, text=True, timeout=300)
            if p.returncode not in (0, 1, 3):
                failures.append(f"{shown}: exit {p.returncode}: {p.stderr.strip()}")
                continue
            try:
                result = json.loads(p.stdout)
            except json.JSONDecodeError as e:
                failures.append(f"{shown}: stdout is not JSON ({e})")
                continue
            if dump:
                os.makedirs(dump, exist_ok=True)
                with open(os.path.join(dump, f"{i:02d}-{schema_name}.json"), "w") as f:
                    json.dump({"args": argv, "exit": p.returncode, "result": result}, f, indent=2)
            schema = schemas.get(schema_name)
            if schema is None:
                failures.append(f"{shown}: no schema {schema_name}.schema.json")
                continue
            used.add(schema_name)
            resolver = jsonschema.RefResolver(base_uri=schema.get("$id", ""), referrer=schema, store=store)
            errors = sorted(Draft202012Validator(schema, resolver=resolver).iter_errors(result), key=lambda e: list(e.path))
            real = []
            for e in errors:
                path = "/".join(str(x) for x in e.absolute_path)
                why = known_deviation(schema_name, path, e.message)
                if why:
                    known.add(f"{schema_name}: {path or '(root)'}: {why}")
                else:
                    real.append(f"{shown}: {schema_name}: at {path or '(root)'}: {e.message[:300]}")
            failures.extend(real[:5])
    for name in schemas:
        if name != "common" and name not in used:
            failures.append(f"schema {name}.schema.json validated no result (add a case)")
    for k in sorted(known):
        print("KNOWN " + k)
    for f in failures:
        print("FAIL " + f)
    print(f"schemas: {len(CASES)} results against {len(used)} schemas, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
