#!/bin/bash
# Builds the libFuzzer harnesses (fuzz/*.cpp) with clang, ASan and UBSan into build-fuzz/, seeds
# each from files the toolkit itself writes, and runs each for a bounded time.  A crash leaves
# its input in build-fuzz/crashes/<harness>/ and fails the script.
#   scripts/fuzz.sh [seconds-per-harness]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-20}
JOBS=${JOBS:-2}
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
HARNESSES="fuzz_certificate fuzz_manifest fuzz_baseline fuzz_matrix fuzz_weights fuzz_semantics"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DATTNBOUNDS_BUILD_TESTS=OFF -DATTNBOUNDS_BUILD_BENCH=OFF -DATTNBOUNDS_FUZZ=ON >/dev/null
# shellcheck disable=SC2086
cmake --build build-fuzz -j"$JOBS" --target attnbounds $HARNESSES

# Seeds: outputs of the toolkit (a normal build is enough to write them).
BIN=build-fuzz/attnbounds
SEEDS=build-fuzz/seeds
rm -rf "$SEEDS"
mkdir -p "$SEEDS"/{fuzz_certificate,fuzz_manifest,fuzz_baseline,fuzz_matrix,fuzz_weights,fuzz_semantics}
export ASAN_OPTIONS=detect_leaks=1
"$BIN" check qsa-cyclic --N 5 --q 2 --certificate "$SEEDS/fuzz_certificate/cyclic.json" >/dev/null
"$BIN" check qsa-rip --N 6 --q 2 --certificate "$SEEDS/fuzz_certificate/rip.json" >/dev/null
"$BIN" check qsa-cyclic --N 4 --q 2 --semantics embed:fixed:8.12 --certificate "$SEEDS/fuzz_certificate/embed.json" >/dev/null
"$BIN" check qsa-cyclic --N 4 --q 2 --certificate "$SEEDS/fuzz_certificate/cyclic.cbor" >/dev/null
"$BIN" check qsa-cyclic --N 4 --q 2 --certificate "$SEEDS/fuzz_certificate/cyclic.cbor.zst" >/dev/null
"$BIN" reproduce --print-manifest > "$SEEDS/fuzz_manifest/default.json"
cp tests/fixtures/test_manifest.json "$SEEDS/fuzz_manifest/"
cp tests/baselines/*.json "$SEEDS/fuzz_baseline/"
printf '0 1\n1 0\n' > "$SEEDS/fuzz_matrix/eq2.txt"
printf '0 0 0 1\n0 0 1 1\n0 1 1 1\n1 1 1 1\n' > "$SEEDS/fuzz_matrix/gt4.txt"
printf '1 0 0\n0 1/2 0\n0 0 -3\n' > "$SEEDS/fuzz_weights/w3.txt"
printf '# weights\n1 2\n3 4\n' > "$SEEDS/fuzz_weights/w2.txt"
for s in exact embed:float:8 arith:fixed:2.6 tiled:fp16:4 embed:bf16 fp32 fixed:3.12 float:53; do
  printf '%s' "$s" > "$SEEDS/fuzz_semantics/$(echo "$s" | tr ':.' '__')"
done

status=0
for h in $HARNESSES; do
  mkdir -p "build-fuzz/corpus/$h" "build-fuzz/crashes/$h"
  echo "fuzz: $h for ${SECONDS_EACH} s"
  if ! "build-fuzz/$h" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="build-fuzz/crashes/$h/" "build-fuzz/corpus/$h" "$SEEDS/$h" >"build-fuzz/$h.log" 2>&1; then
    echo "fuzz: $h FAILED (see build-fuzz/$h.log; inputs in build-fuzz/crashes/$h/)"
    tail -30 "build-fuzz/$h.log"
    status=1
  else
    grep -E "^#[0-9]+.*DONE" "build-fuzz/$h.log" | tail -1 || true
  fi
done
exit $status
