#!/usr/bin/env bash
# Builds tests/consumer against attnbounds twice -- find_package on a prefix installed from the
# main build, and add_subdirectory of the source tree -- and runs the consumer's own claim
# through the toolkit's command line.  Usage: run_consumer_test.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
src=$1 build=$2 work=$3
cmake=${CMAKE:-cmake}
# The same compiler settings as the build under test (CTest passes them), so ccache can reuse its
# objects when the add_subdirectory build compiles the library again.
settings=(-DCMAKE_BUILD_TYPE="${CONSUMER_BUILD_TYPE:-Release}")
[[ -n ${CONSUMER_CXX_FLAGS_RELEASE+x} ]] && settings+=(-DCMAKE_CXX_FLAGS_RELEASE="$CONSUMER_CXX_FLAGS_RELEASE")
[[ -n ${CONSUMER_ATTNBOUNDS_RELEASE_FLAGS+x} ]] && settings+=(-DATTNBOUNDS_RELEASE_FLAGS="$CONSUMER_ATTNBOUNDS_RELEASE_FLAGS")
rm -rf "$work"
mkdir -p "$work"
fail() { echo "consumer test: $*" >&2; exit 1; }

# expect_run EXPECTED_EXIT EXPECTED_STDOUT_SUBSTRING PROGRAM ARGS...
expect_run() {
  local want=$1 needle=$2
  shift 2
  local out status=0
  out=$("$@" 2>"$work/stderr") || status=$?
  [[ $status == "$want" ]] || fail "'$*' exited $status, expected $want; stderr: $(cat "$work/stderr")"
  [[ $out$(cat "$work/stderr") == *"$needle"* ]] || fail "'$*' output lacks '$needle': $out $(cat "$work/stderr")"
}

check_toy() {
  local cli=$1
  expect_run 0 '"verdict": "holds"' "$cli" check toy-claim --n 20 --json
  expect_run 0 '"cases": 20' "$cli" check toy-claim --n 20 --json
  expect_run 1 '"verdict": "fails"' "$cli" check toy-claim --n 20 --offset 1 --json
  expect_run 1 '"claimed": "2"' "$cli" check toy-claim --n 20 --offset 1 --json
  expect_run 0 'check toy-claim: holds' "$cli" check toy-claim --n 5
  expect_run 2 '--n: must be an integer >= 1' "$cli" check toy-claim --n 0
  # The built-in claims are there too, and `list` shows the new one beside them.
  expect_run 0 '"name": "toy-claim"' "$cli" list --json
  expect_run 0 '"name": "qsa-cyclic"' "$cli" list --json
  expect_run 0 '"verdict": "holds"' "$cli" cc disj --n 2 --json
  # reproduce and regress are not part of the installed command-line library.
  expect_run 2 "unknown subcommand 'regress'" "$cli" regress
}

# 1. find_package against an installed prefix.
prefix=$work/prefix
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
for f in bin/attnbounds include/attnbounds/numeric/rational.hpp include/attnbounds/proofs/theorem3_qsa_cyclic.hpp \
         include/attnbounds/checks/registry.hpp include/attnbounds/checks/command_line.hpp \
         lib/cmake/attnbounds/attnboundsConfig.cmake lib/cmake/attnbounds/attnboundsConfigVersion.cmake \
         lib/cmake/attnbounds/attnboundsTargets.cmake lib/pkgconfig/attnbounds.pc; do
  [[ -e $prefix/$f ]] || fail "not installed: $f"
done
ls "$prefix"/lib/libattnbounds.* >/dev/null 2>&1 || fail "library not installed"
[[ ! -e $prefix/include/attnbounds/checks/reproduce ]] || fail "the reproduce harness must not be installed"
if grep -q -a -F "$src" "$prefix/bin/attnbounds"; then fail "the source path $src is compiled into the binary"; fi
expect_run 0 '"name": "qsa-cyclic"' "$prefix/bin/attnbounds" list --json
# The installed executable finds the LibTorch trainer plugin in the installed tree (when this
# build has one) and trains; without it, learn says so with exit 2.
if [[ -e $prefix/lib/attnbounds/libattnbounds_torch.so ]]; then
  expect_run 0 'wrote' "$prefix/bin/attnbounds" learn match2 --N 4 --M 8 --samples 20 --epochs 1 --out "$work/learn-run"
else
  expect_run 2 'no LibTorch trainer' "$prefix/bin/attnbounds" learn match2 --N 4 --M 8 --out "$work/learn-run"
fi

"$cmake" -S "$src/tests/consumer" -B "$work/installed" -DCMAKE_PREFIX_PATH="$prefix" "${settings[@]}" \
  >"$work/installed.configure.log" || fail "configure against the prefix failed (see $work/installed.configure.log)"
"$cmake" --build "$work/installed" -j2 >"$work/installed.build.log" || fail "build against the prefix failed (see $work/installed.build.log)"
check_toy "$work/installed/toy_cli"

# pkg-config: a library-only program.
cat >"$work/pc_main.cpp" <<'CPP'
#include "numeric/rational.hpp"
#include <iostream>
int main() { std::cout << attnbounds::to_exact_string(attnbounds::parse_rational("0.125") * 3) << '\n'; }
CPP
# shellcheck disable=SC2046
c++ -o "$work/pc_main" "$work/pc_main.cpp" $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs attnbounds) \
  || fail "pkg-config build failed"
[[ $("$work/pc_main") == "3/8" ]] || fail "pkg-config program printed $("$work/pc_main")"

# 2. add_subdirectory of the source tree (compiles the library again; ccache makes it cheap).
"$cmake" -S "$src/tests/consumer" -B "$work/subdir" -DATTNBOUNDS_SOURCE="$src" "${settings[@]}" \
  >"$work/subdir.configure.log" || fail "configure with add_subdirectory failed (see $work/subdir.configure.log)"
grep -q '^ATTNBOUNDS_BUILD_TESTS:BOOL=OFF' "$work/subdir/CMakeCache.txt" || fail "tests must be off when not top-level"
"$cmake" --build "$work/subdir" --target toy_cli -j2 >"$work/subdir.build.log" \
  || fail "build with add_subdirectory failed (see $work/subdir.build.log)"
check_toy "$work/subdir/toy_cli"

rm -rf "$work"
echo "consumer test: find_package, pkg-config and add_subdirectory consumers built and ran"
