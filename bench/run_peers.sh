#!/usr/bin/env bash
# Builds attnbounds and the plain-loop peer (Release, build-bench/), then times attnbounds
# against the uncertified peers of bench/peers on the same work, alternately, and prints the
# ratio table with the machine, the load and the thread count.
#   bash bench/run_peers.sh [--reps K] [--only NAME,...]
# Work names: "qsa-cyclic N=64 q=4", "qsa-cyclic N=128 q=3", "qsa-cyclic N=256 q=3",
# "qsa-cyclic agreement", "match2", "qsa-disj q=6", "qsa-disj q=7", "replay N=32 q=4",
# "replay N=64 q=3".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNBOUNDS_BUILD_BENCH=ON \
  -DATTNBOUNDS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target attnbounds qsa_cyclic_loop -j2 >/dev/null
exec /usr/bin/python3 "$root/bench/peers/run_peers.py" --attnbounds "$build/attnbounds" \
  --loop "$build/qsa_cyclic_loop" "$@"
