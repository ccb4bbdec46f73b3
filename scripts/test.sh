#!/usr/bin/env bash
# Builds and runs the default test suite (everything but the [long] exhaustive runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
bash scripts/build.sh
ctest --test-dir build --output-on-failure -LE long
