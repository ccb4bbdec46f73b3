#!/usr/bin/env bash
# 1 against 2 worker threads on the same work, alternating, with the load average before and
# after each pair.  Uses build-bench/attnbounds (bench/run_peers.sh builds it).
#   bash bench/thread_scaling.sh [REPS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${ATTNBOUNDS:-$root/build-bench/attnbounds}"
reps="${1:-5}"
exec /usr/bin/python3 - "$bin" "$reps" <<'PY'
import os, resource, statistics, subprocess, sys, time
binary, reps = sys.argv[1], int(sys.argv[2])
# Two short checks (a fixed cost of start, calibration and chunking is part of them) and one of
# about 2 s on one thread.
work = [["check", "qsa-cyclic", "--N", "64", "--q", "4", "--eps", "0.01"], ["check", "match2", "--N", "8", "--M", "16"],
        ["check", "match2", "--N", "10", "--M", "16"]]
def load():
    return open("/proc/loadavg").read().split()[0]
print(f"CPUs usable: {len(os.sched_getaffinity(0))}; load average (1 min) at start {load()}")
print("| work | threads | wall s, median (min–max) | CPU s, median | load (1 min) during the runs |")
print("|---|---|---|---|---|")
for args in work:
    t = {1: [], 2: []}
    loads = []
    for _ in range(reps):
        for n in (1, 2):
            loads.append(float(load()))
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([binary] + args + ["--threads", str(n)], stdout=subprocess.DEVNULL, check=False)
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t[n].append((wall, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime))
    for n in (1, 2):
        w = [x for x, _ in t[n]]
        c = [y for _, y in t[n]]
        print(f"| `{' '.join(args)}` | {n} | {statistics.median(w):.3f} ({min(w):.3f}–{max(w):.3f}) | "
              f"{statistics.median(c):.3f} | {min(loads):.1f}–{max(loads):.1f} |")
    w1 = statistics.median(x for x, _ in t[1]); w2 = statistics.median(x for x, _ in t[2])
    print(f"| | speedup 1 → 2 threads (wall medians) | {w1 / w2:.2f} | | |")
PY
