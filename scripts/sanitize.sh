#!/bin/bash
# AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer) build in build-asan/ with clang,
# then the default unit suite under it.  Any sanitizer report fails the run.
#   scripts/sanitize.sh [catch2-test-spec]      (default: "~[long]", the default suite)
set -euo pipefail
cd "$(dirname "$0")/.."
SPEC=${1:-"~[long]"}
JOBS=${JOBS:-2}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="$SAN" \
  -DATTNBOUNDS_BUILD_TESTS=ON -DATTNBOUNDS_BUILD_BENCH=OFF -DATTNBOUNDS_FUZZ=OFF >/dev/null
cmake --build build-asan -j"$JOBS" --target attnbounds attnbounds_tests
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86
# The bad-input sweep caps address space with ulimit -v, which ASan's shadow memory cannot live
# with; under ASan it runs without that cap (ASan itself catches memory errors).
export ATTNBOUNDS_SWEEP_NO_ULIMIT=1
start=$(date +%s)
build-asan/attnbounds_tests "$SPEC"
build-asan/attnbounds regress --baselines tests/baselines >/dev/null
echo "sanitize: suite '$SPEC' clean under ASan+UBSan+LSan in $(( $(date +%s) - start )) s"
