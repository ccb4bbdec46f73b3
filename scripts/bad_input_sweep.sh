#!/bin/bash
# Bad-input sweep (math §7, BRIEF non-negotiable 3): every line of scripts/bad_input_cases.txt is
# a command that must exit 2 with exactly one line on stderr and nothing on stdout, within 20 s
# and 4 GB of address space (no hang, no OOM, no abort, no exit 4).  Prints each violation and
# exits 1 if there is any.
#   scripts/bad_input_sweep.sh [path/to/attnbounds]
set -u
BIN=${1:-build/attnbounds}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/attnbounds_sweep_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# Malformed input files the cases refer to as @TMP@/name.
printf '' > "$TMP/empty.txt"
printf '{"z": [[1]], "y": ' > "$TMP/badjson.json"
printf '{"z": [1, 2], "y": [[1],[2]]}' > "$TMP/zscalar.json"
printf '{"z": [[0.5],[0.5]], "y": [[1],[5]]}' > "$TMP/yrange.json"
printf '{"z": [[0.5],[0.5]], "y": [[],[]]}' > "$TMP/yempty.json"
printf '{"z": [[0.5],["abc"]], "y": [[1],[2]]}' > "$TMP/znonnum.json"
printf '{"z": [[2],[0]], "y": [[1],[2]]}' > "$TMP/zbig.json"
printf '{"z": [[0.5],[0.5]], "y": [[1,1],[1,2]]}' > "$TMP/ydup.json"
printf '{"z": [[0.5],[0.5]], "y": [[4294967297],[2]]}' > "$TMP/yhuge.json"
printf '[1,2,3]' > "$TMP/arr.json"
printf '{"z": [[0.5],[0.25]], "y": [[1],[2]]}' > "$TMP/qgood.json"
printf '{"z": [[0.5],[0.25]], "y": [[1],[2]], "w": 1}' > "$TMP/qextrakey.json"
printf '3: 2 3\n1: 1 3\n99: 1 2\n' > "$TMP/hinted_range.txt"
printf '0 1\n1\n' > "$TMP/ragged.txt"
printf '0 2\n1 0\n' > "$TMP/nonbool.txt"
printf 'abc\n' > "$TMP/text.txt"
printf '1 2 3\n' > "$TMP/w1.txt"
printf '{"format":"attnbounds-qsa-certificate-1"}' > "$TMP/cert_min.json"
printf '{"format":"attnbounds-qsa-certificate-1","N":4,"q":2}' > "$TMP/cert_partial.json"
printf 'attnbounds-qsa-certificate-1 garbage' > "$TMP/cert_garbage.json"
# Special files, deep nesting and manifests that try to reach outside --out.
mkfifo "$TMP/fifo"
python3 -c "print('{\"runs\": ' + '[' * 100000 + ']' * 100000 + '}')" > "$TMP/deep.json"
python3 -c "print('[' * 100000 + ']' * 100000)" > "$TMP/deeparr.json"
mkdir -p "$TMP/deepbase" && cp "$TMP/deep.json" "$TMP/deepbase/deep.json"
run='{"id": "r1", "theorem": "T", "args": ["list"]}'
table='{"id": "t1", "runs": ["r1"], "columns": [{"id": "v", "path": "tool"}]}'
printf '{"runs": [{"id": "../x", "theorem": "T", "args": ["list"]}]}' > "$TMP/m_runid.json"
printf '{"runs": [%s], "tables": [{"id": "../../x", "runs": ["r1"], "columns": [{"id": "v", "path": "tool"}]}]}' "$run" > "$TMP/m_tableid.json"
printf '{"runs": [%s], "tables": [%s], "plots": [{"id": "/tmp/x", "table": "t1", "x": "v", "series": [{"y": "v"}]}]}' "$run" "$table" > "$TMP/m_plotid.json"
printf '{"runs": [{"id": "r1", "theorem": "T", "args": ["check", "qsa-cyclic", "--certificate", "/tmp/x.json"]}]}' > "$TMP/m_absarg.json"
printf '{"runs": [{"id": "r1", "theorem": "T", "args": ["check", "qsa-cyclic", "--certificate=../x.json"]}]}' > "$TMP/m_dotdot.json"
printf '{"runs": [{"id": "r1", "theorem": "T", "args": ["reproduce", "--out", "x"]}]}' > "$TMP/m_verb.json"
printf '{"runs": [{"id": "r1", "theorem": "T", "args": ["list"], "program": "/bin/sh"}]}' > "$TMP/m_program.json"
mkdir -p "$TMP/linkout" && ln -s /tmp "$TMP/linkout/tables"
# Forged certificates derived from a real one.
if "$BIN" check qsa-cyclic --N 4 --q 2 --certificate "$TMP/good.json" >/dev/null 2>&1; then
  sed 's/"q": 2,/"q": 4294967298,/' "$TMP/good.json" > "$TMP/cert_qwrap.json"
  sed 's/"N": 4,/"N": 4.0,/' "$TMP/good.json" > "$TMP/cert_nfloat.json"
  sed 's/"queries"/"rows"/' "$TMP/good.json" > "$TMP/cert_otherkey.json"
  sed 's/{"S": \[1, 2\]/{"S": [true, 2]/' "$TMP/good.json" > "$TMP/cert_boolS.json"
  sed 's/{"S": \[1, 2\]/{"S": [1.0, 2]/' "$TMP/good.json" > "$TMP/cert_floatS.json"
  sed 's/{"S": \[1, 3\]/{"S": [1, 2]/' "$TMP/good.json" > "$TMP/cert_twice.json"
  grep -v '{"S": \[1, 2\]' "$TMP/good.json" > "$TMP/cert_missing.json"
  sed 's/"bound": "0.1"/"bound": "0x1"/' "$TMP/good.json" > "$TMP/cert_hex.json"
  sed 's/"m": 9,/"m": 9, "extra": 1,/' "$TMP/good.json" > "$TMP/cert_extra.json"
  head -c 500 "$TMP/good.json" > "$TMP/cert_trunc.json"
fi
"$BIN" export qsa-cyclic --N 2 --q 1 --out "$TMP/m2.st" >/dev/null 2>&1
"$BIN" export qsa-cyclic --class qsa-unit --N 2 --q 1 --out "$TMP/u2.st" >/dev/null 2>&1
violations=0 total=0
while IFS= read -r line; do
  [ -z "$line" ] && continue
  line=${line//@TMP@/$TMP}
  line=${line//@SRC@/$HERE/..}
  total=$((total + 1))
  if [ -n "${ATTNBOUNDS_SWEEP_NO_ULIMIT:-}" ]; then
    ( eval timeout 60 "$BIN" $line ) >"$TMP/out" 2>"$TMP/err" </dev/null
  else
    ( ulimit -v 4000000; eval timeout 20 "$BIN" $line ) >"$TMP/out" 2>"$TMP/err" </dev/null
  fi
  rc=$?
  nerr=$(wc -l < "$TMP/err"); nout=$(wc -c < "$TMP/out")
  if [ $rc -ne 2 ] || [ "$nerr" -ne 1 ] || [ "$nout" -ne 0 ]; then
    violations=$((violations + 1))
    echo "VIOLATION rc=$rc stderr_lines=$nerr stdout_bytes=$nout :: attnbounds $line"
    head -c 300 "$TMP/err" | sed 's/^/    stderr: /'
  fi
done < "$HERE/bad_input_cases.txt"
echo "bad-input sweep: $total commands, $violations violations"
[ $violations -eq 0 ]
