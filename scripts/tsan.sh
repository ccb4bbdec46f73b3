#!/usr/bin/env bash
# The ThreadSanitizer stage of scripts/test.sh: a clang -fsanitize=thread build of the attnbounds
# binary in build-tsan/, then every command that runs worker threads (parallel_reduce), each
# with --threads 2 on an instance with many chunks.  A data race, a lock-order inversion, a
# sanitizer report of any kind, or an exit status other than the verdict's (0/1/3) fails the
# stage.  What runs and what is left out: docs/testing.md.
#   scripts/tsan.sh [build|test|all]      (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-all}
JOBS=${JOBS:-$(nproc)}
SAN="-fsanitize=thread -fno-omit-frame-pointer"

if [ "$WHAT" = build ] || [ "$WHAT" = all ]; then
  # Only the binary: the commands are what is run.  No LibTorch (not built with TSan: its own
  # thread pool would be reported), no Python module, no MPI (Open MPI's progress threads are
  # not instrumented); the tests of those stay in the release stage.
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
    -DATTNBOUNDS_RELEASE_FLAGS="-O1 -gline-tables-only" \
    -DCMAKE_CXX_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="$SAN" \
    -DATTNBOUNDS_BUILD_TESTS=OFF -DATTNBOUNDS_BUILD_BENCH=OFF -DATTNBOUNDS_FUZZ=OFF \
    -DATTNBOUNDS_LEARN=OFF -DATTNBOUNDS_PYTHON_MODULE=OFF -DATTNBOUNDS_MPI=OFF >/dev/null
  cmake --build build-tsan -j"$JOBS" --target attnbounds
fi

if [ "$WHAT" = test ] || [ "$WHAT" = all ]; then
  BIN=build-tsan/attnbounds
  LOGS=$PWD/build-tsan/sanitizer-logs
  WORK=$(mktemp -d /tmp/attnbounds_tsan_XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  rm -rf "$LOGS" && mkdir -p "$LOGS"
  SYMBOLIZER=$(command -v llvm-symbolizer || ls /usr/lib/llvm-*/bin/llvm-symbolizer 2>/dev/null | tail -1 || true)
  [ -n "$SYMBOLIZER" ] && export TSAN_SYMBOLIZER_PATH="$SYMBOLIZER"
  export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:log_path=$LOGS/tsan"
  # Model files and certificates for the commands that read them (written by this binary).
  $BIN export qsa-cyclic --N 8 --q 2 --out "$WORK/cyclic.st" >/dev/null
  $BIN export match2 --N 4 --M 8 --out "$WORK/m2.st" >/dev/null
  $BIN export match3-third-order --N 4 --M 6 --out "$WORK/m3.st" >/dev/null
  commands=(
    "check qsa-cyclic --N 9 --q 2"
    "check qsa-cyclic --N 8 --q 2 --c 1"
    "check qsa-cyclic --N 7 --q 2 --semantics embed:fp16"
    "check qsa-cyclic --N 7 --q 2 --semantics arith:float:24"
    "lower match3-disj --n 3 --semantics tiled:float:24:3"
    "check qsa-rip --N 10 --q 2"
    "check qsa-rip --N 10 --q 2 --mk 3"
    "check qsa-cyclic --N 8 --q 2 --certificate $WORK/c.json"
    "replay $WORK/c.json"
    "check qsa-cyclic --N 8 --q 2 --certificate $WORK/c.cbor.zst"
    "replay $WORK/c.cbor.zst"
    "check match2 --N 4 --M 8"
    "check match2 --N 4 --M 8 --c 1"
    "check match2 --N 3 --M 6 --semantics arith:fp16"
    "check match2 --N 4 --M 8 --no-residual"
    "check match3-third-order --N 4 --M 6"
    "check match3-third-order --N 3 --M 6 --c 1"
    "check match3-hinted --N 6 --M 8 --q 2"
    "check match3-window --N 6 --M 8 --w 2"
    "check qsa --model $WORK/cyclic.st"
    "check match2 --model $WORK/m2.st"
    "check match3 --model $WORK/m3.st"
    "lower qsa-disj --q 3 --m 1 --semantics embed:fixed:1.1"
    "lower qsa-disj --q 3 --model qsa-cyclic"
    "lower qsa-disj --q 3 --model random --m 1 --semantics embed:fixed:2.0"
    "lower match3-disj --n 3"
    "lower match3-disj --n 3 --model random --m 1 --semantics tiled:float:2:3"
    "lower fc-rank --N 6 --q 2"
    "lower rnn-index --N 6"
    "lower rnn-index --N 8 --model automaton --S 3"
    "min-p qsa-cyclic --N 6 --q 2 --p-max 12"
    "min-p match2 --N 3 --M 6 --p-max 8"
    "min-p qsa --model $WORK/cyclic.st --p-max 12"
    "min-m qsa-rip --N 8 --q 2"
  )
  start=$(date +%s)
  status=0
  for cmd in "${commands[@]}"; do
    set +e
    # shellcheck disable=SC2086
    $BIN $cmd --threads 2 >"$WORK/out" 2>"$WORK/err"
    rc=$?
    set -e
    if [ $rc -ne 0 ] && [ $rc -ne 1 ] && [ $rc -ne 3 ]; then
      echo "tsan: FAILED (exit $rc): attnbounds $cmd --threads 2"
      head -c 2000 "$WORK/err"
      status=1
    fi
  done
  if compgen -G "$LOGS/*" >/dev/null; then
    echo "tsan: ThreadSanitizer reports:"
    for f in "$LOGS"/*; do echo "== $f"; head -80 "$f"; done
    status=1
  fi
  echo "tsan: ${#commands[@]} multi-threaded commands under ThreadSanitizer: $([ $status -eq 0 ] && echo clean || echo FAILED) in $(( $(date +%s) - start )) s"
  exit $status
fi
