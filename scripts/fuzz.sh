#!/usr/bin/env bash
# The fuzzing stage of scripts/test.sh: runs every libFuzzer harness (fuzz/*.cpp, built into
# build-asan/ by scripts/sanitize.sh with ASan and UBSan) for a bounded time, seeded from files
# the toolkit itself writes.  A crash, leak, sanitizer report or timeout leaves its input in
# build-asan/fuzz/crashes/<harness>/ and fails the stage; such an input becomes a regression test
# (tests/fuzz_regressions/, docs/testing.md).
#   scripts/fuzz.sh [seconds-per-harness]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-30}
# A fixed seed by default, so a CI run is repeatable; FUZZ_SEED=0 lets libFuzzer pick one.
FUZZ_SEED=${FUZZ_SEED:-1}
B=build-asan
HARNESSES="fuzz_certificate fuzz_manifest fuzz_baseline fuzz_matrix fuzz_weights fuzz_modelfile fuzz_semantics"
for h in $HARNESSES attnbounds; do
  [ -x "$B/$h" ] || { echo "fuzz: $B/$h is missing; run scripts/sanitize.sh build first" >&2; exit 2; }
done

# Seeds: what the toolkit writes (this build's binary), plus the files the tests keep.
BIN=$B/attnbounds
SEEDS=$B/fuzz/seeds
rm -rf "$SEEDS"
for h in $HARNESSES; do mkdir -p "$SEEDS/$h"; done
export ASAN_OPTIONS=detect_leaks=1
c=$SEEDS/fuzz_certificate
"$BIN" check qsa-cyclic --N 5 --q 2 --certificate "$c/cyclic.json" >/dev/null
"$BIN" check qsa-rip --N 6 --q 2 --certificate "$c/rip.json" >/dev/null
"$BIN" check qsa-cyclic --N 4 --q 2 --semantics embed:float:24 --certificate "$c/embed.json" >/dev/null
"$BIN" check qsa-cyclic --N 4 --q 2 --certificate "$c/cyclic.cbor" >/dev/null
"$BIN" check qsa-cyclic --N 4 --q 2 --certificate "$c/cyclic.cbor.zst" >/dev/null
"$BIN" reproduce --print-manifest > "$SEEDS/fuzz_manifest/default.json"
cp tests/fixtures/test_manifest.json "$SEEDS/fuzz_manifest/"
cp tests/baselines/*.json "$SEEDS/fuzz_baseline/"
printf '0 1\n1 0\n' > "$SEEDS/fuzz_matrix/eq2.txt"
printf '0 0 0 1\n0 0 1 1\n0 1 1 1\n1 1 1 1\n' > "$SEEDS/fuzz_matrix/gt4.txt"
printf '1 0 0\n0 1/2 0\n0 0 -3\n' > "$SEEDS/fuzz_weights/w3.txt"
printf '# weights\n1 2\n3 4\n' > "$SEEDS/fuzz_weights/w2.txt"
m=$SEEDS/fuzz_modelfile
"$BIN" export qsa-cyclic --N 5 --q 2 --out "$m/cyclic_exact.st" >/dev/null
"$BIN" export qsa-cyclic --N 4 --q 1 --dtype F16 --out "$m/cyclic_f16.st" >/dev/null
"$BIN" export qsa-cyclic --N 4 --q 2 --dtype BF16 --out "$m/cyclic_bf16.st" >/dev/null
"$BIN" export qsa-rip --N 5 --q 1 --dtype F32 --out "$m/rip_f32.st" >/dev/null
"$BIN" export match2 --N 4 --M 8 --out "$m/match2_exact.st" >/dev/null
"$BIN" export match2 --no-residual --N 4 --M 8 --out "$m/match2_no_residual_exact.st" >/dev/null
"$BIN" export match3-third-order --N 3 --M 6 --dtype F32 --out "$m/match3_f32.st" >/dev/null
"$BIN" export match3-hinted --N 5 --M 6 --q 2 --out "$m/match3_hinted.st" >/dev/null
"$BIN" export match3-window --N 5 --M 6 --w 2 --dtype BF16 --out "$m/match3_window_bf16.st" >/dev/null
"$BIN" export match2 --class attention-unit --N 4 --M 6 --out "$m/attention_unit_exact.st" >/dev/null
"$BIN" export match2 --class attention-unit --N 3 --M 4 --dtype F32 --out "$m/attention_unit_f32.st" >/dev/null
"$BIN" export qsa-cyclic --class qsa-unit --N 5 --q 2 --out "$m/qsa_unit_exact.st" >/dev/null
for s in exact embed:float:8 arith:fixed:2.6 tiled:fp16:4 embed:bf16 arith:fp8e4m3 fp32 fixed:3.12 float:53 fp8e5m2; do
  printf '%s' "$s" > "$SEEDS/fuzz_semantics/$(echo "$s" | tr ':.' '__')"
done
# Inputs that once crashed a reader stay seeds (they are also unit tests).
for h in $HARNESSES; do
  if [ -d "tests/fuzz_regressions/$h" ]; then cp tests/fuzz_regressions/"$h"/* "$SEEDS/$h/" 2>/dev/null || true; fi
done

status=0
for h in $HARNESSES; do
  corpus=$B/fuzz/corpus/$h crashes=$B/fuzz/crashes/$h
  mkdir -p "$corpus" "$crashes"
  start=$(date +%s)
  if "$B/$h" -seed="$FUZZ_SEED" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "$SEEDS/$h" >"$B/fuzz/$h.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$B/fuzz/$h.log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $h clean, $runs inputs in $(( $(date +%s) - start )) s"
  else
    echo "fuzz: $h FAILED (log $B/fuzz/$h.log, input in $crashes/)"
    { grep -E "ERROR|SUMMARY|Test unit written" "$B/fuzz/$h.log" | head -10; } || true
    status=1
  fi
done
exit $status
