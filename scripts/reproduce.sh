#!/usr/bin/env bash
# The README's first command: installs the dependencies (scripts/setup.sh), builds
# (scripts/build.sh), runs every theorem of the default manifest with
# `attnbounds reproduce --out out`, and prints where the report is.
# Extra arguments go to reproduce, e.g. `bash scripts/reproduce.sh --only thm3`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
status=0
build/attnbounds reproduce --out out "$@" || status=$?
echo
echo "Report:  $(pwd)/out/report.md"
echo "Tables:  $(pwd)/out/tables/ (Markdown, CSV, LaTeX booktabs)"
echo "Plots:   $(pwd)/out/plots/ (SVG, PNG, pgfplots .tex, gnuplot .gp)"
echo "Data:    $(pwd)/out/results.json (timings in out/timings.json)"
case "$status" in
  0) echo "Every run produced its expected result." ;;
  1) echo "Some result contradicts the manifest's expectation: see the summary at the top of the report." ;;
  3) echo "Some runs produced no result (not available, error or timeout): see 'Runs without a result' in the report." ;;
  *) echo "reproduce failed with exit status $status." ;;
esac
exit "$status"
