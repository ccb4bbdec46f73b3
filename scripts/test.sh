#!/usr/bin/env bash
# Builds and runs the whole default test suite (this is what .ci/run runs), in stages:
#   setup, release build, release tests (ctest, everything but the [long] runs),
#   asan (ASan+UBSan+LSan build and the default suite under it), tsan (ThreadSanitizer build and
#   the multi-threaded commands), fuzz (every libFuzzer harness for a bounded time).
# Each stage prints its duration; the first failing stage stops the run.  What each stage runs,
# its measured time and what it leaves out: docs/testing.md.
#   FUZZ_SECONDS   seconds per fuzz harness (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
total_start=$(date +%s)
stage() {
  local name=$1 t0
  shift
  t0=$(date +%s)
  echo "test.sh: stage $name ..."
  "$@"
  echo "test.sh: stage $name done in $(( $(date +%s) - t0 )) s"
}
stage setup bash -c 'bash scripts/setup.sh >/dev/null'
stage build bash scripts/build.sh
stage tests ctest --test-dir build --output-on-failure -LE long
stage asan-build bash scripts/sanitize.sh build
stage asan-tests bash scripts/sanitize.sh test
stage fuzz bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
stage tsan-build bash scripts/tsan.sh build
stage tsan-commands bash scripts/tsan.sh test
echo "test.sh: all stages passed in $(( $(date +%s) - total_start )) s"
