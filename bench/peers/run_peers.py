#!/usr/bin/python3
"""Times attnbounds against the uncertified peers in bench/peers on the same work.

Every work item is run by attnbounds and by each peer alternately (toolkit, peer 1, peer 2,
toolkit, ...) `--reps` times; the ratios are of medians of whole-process times (wall clock and
CPU = user + system of the child).  Before timing, every peer's answer is compared with the
toolkit's certified one: equal within float64 error, or (qsa-cyclic) the float64 underflow of the
on-set deficit is detected and recorded.  A disagreement stops the run (exit 1).
Run through bench/run_peers.sh, which builds what this needs.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
# Single-threaded numpy (the toolkit runs with --threads 1 too).
PEER_ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


def run(argv, env=None):
    """Runs argv; returns (stdout, wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode not in (0, 1):  # 1: a claim that fails (qsa-disj with the random model)
        sys.exit(f"run_peers: {' '.join(argv)} exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout, wall, cpu


def uptime():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), {platform.system()} {platform.release()}"


class Failure(Exception):
    pass


def require(cond, what):
    if not cond:
        raise Failure(what)


# ---- agreement checks (toolkit JSON vs peer JSON) ----------------------------------------

def qsa_cyclic_agreement(tk, peer, N):
    lo, hi = float(tk["worst"]["lower"]), float(tk["worst"]["upper"])
    w = peer["worst"]
    require(peer["cases"] == tk["cases"], f"{peer['peer']}: {peer['cases']} subsets, toolkit {tk['cases']}")
    if peer["on_set_deficit_lost"]:
        return (f"{peer['peer']}: float64 underflow — reports {w:.5g} against the certified "
                f"[{lo:.5g}, {hi:.5g}] (the on-set deficit 1/q − a_j rounds to 0)")
    # Each |a_j − t_j| carries an absolute float64 error of a few ulps of 1: N terms, 4·N·2^-53.
    tol = 4 * N * 2.0 ** -53
    require(lo - tol <= w <= hi + tol, f"{peer['peer']}: worst {w!r} outside [{lo!r}, {hi!r}] ± {tol:.2g}")
    return f"{peer['peer']}: agrees ({w:.17g} in [{lo:.17g}, {hi:.17g}] ± {tol:.1g})"


def match2_agreement(tk, peer):
    require(peer["cases"] == tk["cases"], f"numpy: {peer['cases']} cases, toolkit {tk['cases']}")
    tol = 1e-13  # a handful of float64 operations on values of size <= 2
    notes = []
    for key in ("largest_matched_norm", "smallest_unmatched_norm"):
        lo, hi, v = float(tk[key]["lower"]), float(tk[key]["upper"]), peer[key]
        require(lo - tol <= v <= hi + tol, f"numpy: {key} {v!r} outside [{lo!r}, {hi!r}]")
        notes.append(f"{key} {v:.17g} in [{lo:.17g}, {hi:.17g}]")
    lo, hi, v = float(tk["worst"]["lower"]), float(tk["worst"]["upper"]), peer["worst"]
    require(lo - tol <= v <= hi + tol, f"numpy: worst room {v!r} outside [{lo!r}, {hi!r}]")
    require(peer["verdict"] == tk["verdict"], "numpy: verdict differs")
    return "numpy: agrees (" + "; ".join(notes) + ")"


def qsa_disj_agreement(tk, peer):
    require(peer["verdict"] == tk["verdict"], f"python: verdict {peer['verdict']}, toolkit {tk['verdict']}")
    require(peer["messages_distinct"] == tk["messages_distinct"], "python: distinct messages differ")
    require(peer["instances"] == tk["instances"], "python: instance count differs")
    tol = 1e-12
    w = tk["worst"]["witness"]
    errs = [(float(a), float(b)) for a, b in zip(w["errors"], w.get("errors_upper", w["errors"]))]
    if peer["kind"] == "collision":
        require(w["kind"] == "collision", "python: collision, toolkit not")
        for (lo, hi), v in zip(errs, peer["errors"]):
            require(lo - tol <= v <= hi + tol, f"python: error {v!r} outside [{lo!r}, {hi!r}]")
    lo, hi = float(tk["worst"]["lower"]), float(tk["worst"]["upper"])
    require(lo - tol <= peer["worst"] <= hi + tol, f"python: worst {peer['worst']!r} outside [{lo!r}, {hi!r}]")
    return (f"python: agrees (verdict {peer['verdict']}, {peer['messages_distinct']} distinct messages, "
            f"worst error {peer['worst']:.17g} in [{lo:.17g}, {hi:.17g}])")


# ---- timing ------------------------------------------------------------------------------

def timed_alternating(runners, reps):
    """runners: list of (name, argv, env).  Returns {name: [(wall, cpu), ...]}."""
    times = {name: [] for name, _, _ in runners}
    for _ in range(reps):
        for name, argv, env in runners:
            _, wall, cpu = run(argv, env)
            times[name].append((wall, cpu))
    return times


def med(xs):
    return statistics.median(xs)


def fmt_spread(xs):
    return f"{med(xs):.3f} ({min(xs):.3f}–{max(xs):.3f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--attnbounds", required=True)
    ap.add_argument("--loop", required=True, help="the qsa_cyclic_loop peer binary")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated work names (default: all)")
    args = ap.parse_args()
    tk_bin = args.attnbounds
    only = set(filter(None, args.only.split(",")))
    rows, notes = [], []
    load_before = uptime()
    t_start = time.time()

    def want(name):
        return not only or name in only

    def toolkit_json(argv):
        out, _, _ = run(argv + ["--json"])
        return json.loads(out)

    # qsa-cyclic: numpy and the plain loop.
    for N, q, eps in ((64, 4, "0.01"), (128, 3, "0.01"), (256, 3, "0.01")):
        name = f"qsa-cyclic N={N} q={q}"
        if not want(name):
            continue
        tk_argv = [tk_bin, "check", "qsa-cyclic", "--N", str(N), "--q", str(q), "--eps", eps, "--threads", "1"]
        tk = toolkit_json(tk_argv)
        c = tk["params"]["c"]
        numpy_argv = [PY, os.path.join(HERE, "qsa_cyclic_numpy.py"), "--N", str(N), "--q", str(q), "--c", c, "--eps", eps]
        loop_argv = [args.loop, str(N), str(q), str(float(Fraction(c)))]
        for peer_argv, env in ((numpy_argv, PEER_ENV), (loop_argv, None)):
            notes.append(f"{name}: " + qsa_cyclic_agreement(tk, json.loads(run(peer_argv, env)[0]), N))
        # numpy needs about 40 s of CPU at N = 256: at most 3 runs there.
        t = timed_alternating([("attnbounds", tk_argv, None), ("numpy", numpy_argv, PEER_ENV), ("loop", loop_argv, None)],
                              args.reps if N < 256 else min(args.reps, 3))
        rows.append((f"`check qsa-cyclic --N {N} --q {q} --eps {eps} --threads 1`", t, ["numpy", "loop"],
                     ">= 5x vs numpy" if N == 64 else "no slower relative to numpy than at N = 64"))

    # The no-underflow agreement check for qsa-cyclic (not timed).
    if want("qsa-cyclic agreement"):
        tk = toolkit_json([tk_bin, "check", "qsa-cyclic", "--N", "32", "--q", "3", "--eps", "0.5", "--threads", "1"])
        c = tk["params"]["c"]
        for peer_argv, env in (([PY, os.path.join(HERE, "qsa_cyclic_numpy.py"), "--N", "32", "--q", "3", "--c", c], PEER_ENV),
                               ([args.loop, "32", "3", str(float(Fraction(c)))], None)):
            notes.append("qsa-cyclic N=32 q=3 eps=0.5: " + qsa_cyclic_agreement(tk, json.loads(run(peer_argv, env)[0]), 32))

    # match2: numpy over the same multiset reduction.
    if want("match2"):
        tk_argv = [tk_bin, "check", "match2", "--N", "8", "--M", "16", "--threads", "1"]
        tk = toolkit_json(tk_argv)
        numpy_argv = [PY, os.path.join(HERE, "match2_numpy.py"), "--N", "8", "--M", "16", "--c", tk["params"]["c"]]
        notes.append("match2 N=8 M=16: " + match2_agreement(tk, json.loads(run(numpy_argv, PEER_ENV)[0])))
        t = timed_alternating([("attnbounds", tk_argv, None), ("numpy", numpy_argv, PEER_ENV)], args.reps)
        rows.append(("`check match2 --N 8 --M 16 --threads 1`", t, ["numpy"], ">= 3x vs numpy"))

    # lower qsa-disj: plain Python brute force.
    for q in (6, 7):
        name = f"qsa-disj q={q}"
        if not want(name):
            continue
        tk_argv = [tk_bin, "lower", "qsa-disj", "--q", str(q), "--model", "random", "--m", "2", "--threads", "1"]
        tk = toolkit_json(tk_argv)
        py_argv = [PY, os.path.join(HERE, "qsa_disj_brute.py"), "--q", str(q), "--m", "2"]
        notes.append(f"{name}: " + qsa_disj_agreement(tk, json.loads(run(py_argv)[0])))
        t = timed_alternating([("attnbounds", tk_argv, None), ("python", py_argv, None)], args.reps)
        rows.append((f"`lower qsa-disj --q {q} --model random --m 2 --threads 1`", t, ["python"], ">= 20x vs Python"))

    # replay against the check that wrote the certificate.
    for N, q in ((32, 4), (64, 3)):
        name = f"replay N={N} q={q}"
        if not want(name):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            cert = os.path.join(tmp, "cert.json")
            check_argv = [tk_bin, "check", "qsa-cyclic", "--N", str(N), "--q", str(q), "--eps", "0.01", "--threads", "1",
                          "--certificate", cert]
            replay_argv = [tk_bin, "replay", cert, "--threads", "1"]
            run(check_argv)
            rep = json.loads(run(replay_argv + ["--json"])[0])
            require(rep.get("verdict") == "holds", f"replay N={N} q={q}: verdict {rep.get('verdict')}")
            notes.append(f"{name}: replay verdict holds")
            t = timed_alternating([("check", check_argv, None), ("replay", replay_argv, None)], args.reps)
        rows.append((f"`replay` of `check qsa-cyclic --N {N} --q {q} --eps 0.01 --certificate`", t, ["replay"],
                     "replay within 2x of the check"))

    load_after = uptime()
    print(f"machine: {machine()}")
    print(f"load average (1, 5, 15 min): {load_before} before, {load_after} after; "
          f"{time.time() - t_start:.0f} s in all")
    print(f"threads: attnbounds --threads 1; numpy with OMP/OPENBLAS_NUM_THREADS=1; {args.reps} alternating runs each "
          f"(qsa-cyclic N = 256: {min(args.reps, 3)})")
    print()
    print("| work | attnbounds wall s, median (min–max) | peer | peer wall s, median (min–max) | "
          "peer / attnbounds, wall | same, CPU | target |")
    print("|---|---|---|---|---|---|---|")
    for label, t, peers, target in rows:
        base = "check" if "check" in t else "attnbounds"
        bw = [w for w, _ in t[base]]
        bc = [c for _, c in t[base]]
        for p in peers:
            pw = [w for w, _ in t[p]]
            pc = [c for _, c in t[p]]
            if p == "replay":  # the ratio reported is replay / check (how much slower replay is)
                ratio_w, ratio_c = med(pw) / med(bw), med(pc) / med(bc)
                print(f"| {label} | check: {fmt_spread(bw)} | replay | {fmt_spread(pw)} | "
                      f"replay / check = {ratio_w:.2f} | {ratio_c:.2f} | {target} |")
            else:
                print(f"| {label} | {fmt_spread(bw)} | {p} | {fmt_spread(pw)} | {med(pw) / med(bw):.2f} | "
                      f"{med(pc) / med(bc):.2f} | {target} |")
    print()
    print("agreement:")
    for n in notes:
        print(f"- {n}")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        sys.exit(f"run_peers: DISAGREEMENT: {e}")
