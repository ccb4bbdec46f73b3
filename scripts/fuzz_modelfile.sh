#!/usr/bin/env bash
# Bounded libFuzzer run of the model-file reader (clang++ -fsanitize=fuzzer,address,undefined).
# Seeds are files the toolkit writes itself.  Usage: scripts/fuzz_modelfile.sh [seconds] [build-dir]
set -euo pipefail
SECONDS_TO_RUN="${1:-60}"
BUILD="${2:-build}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/$BUILD/fuzz"
CXX="${CXX_FUZZ:-clang++-14}"
command -v "$CXX" >/dev/null || CXX=clang++
mkdir -p "$OUT/corpus"
"$CXX" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$ROOT/src" -I"$ROOT" \
  "$ROOT/fuzz/fuzz_modelfile.cpp" "$ROOT/src/modelfile/safetensors.cpp" "$ROOT/src/modelfile/qsa_model.cpp" \
  "$ROOT/src/model/qsa_embedding.cpp" "$ROOT/src/enumerate/combinatorics.cpp" "$ROOT/src/numeric/rational.cpp" \
  -lgmpxx -lgmp -lmpfr -o "$OUT/fuzz_modelfile"
# Seeds: exported constructions (exact and rounded dtypes) from the built toolkit.
BIN="$ROOT/$BUILD/attnbounds"
if [ -x "$BIN" ]; then
  "$BIN" export qsa-cyclic --N 5 --q 2 --out "$OUT/corpus/cyclic_exact.st" >/dev/null
  "$BIN" export qsa-cyclic --N 4 --q 1 --dtype F16 --out "$OUT/corpus/cyclic_f16.st" >/dev/null
  "$BIN" export qsa-cyclic --N 4 --q 2 --dtype BF16 --out "$OUT/corpus/cyclic_bf16.st" >/dev/null
  "$BIN" export qsa-rip --N 5 --q 1 --dtype F32 --out "$OUT/corpus/rip_f32.st" >/dev/null
  "$BIN" export match2 --N 4 --M 8 --out "$OUT/corpus/match2_exact.st" >/dev/null
  "$BIN" export match3-third-order --N 3 --M 6 --dtype F32 --out "$OUT/corpus/match3_f32.st" >/dev/null
fi
"$OUT/fuzz_modelfile" -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -timeout=10 -rss_limit_mb=2048 "$OUT/corpus"
