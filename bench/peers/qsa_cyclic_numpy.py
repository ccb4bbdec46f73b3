#!/usr/bin/python3
"""Uncertified numpy float64 peer of `attnbounds check qsa-cyclic` (exact semantics).

The construction (proofs/theorem3_qsa_cyclic.*): for a subset S of [N] (0-based), the score of
token j is -c * p_S(j) with p_S(j) = prod_{k in S} (j - k)^2 (0 on S), so the attention row is
softmax(-c * p_S) and the worst case over z is sum_j |a_j - t_j| with t = 1_S / q.  The peer
evaluates that row for every q-subset, vectorised in chunks, and prints the largest value.
Float64 only: where the on-set deficit a_j - 1/q is below half an ulp of 1/q it rounds to zero
and the reported worst case is about half the true one (qsa-cyclic N=64, q=4 at eps=0.01).
"""
import argparse
import itertools
import json
import sys
from fractions import Fraction

import numpy as np


def subsets(N, q):
    flat = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(N), q)), dtype=np.int64)
    return flat.reshape(-1, q)


def worst_case(N, q, c, chunk=8192):
    S_all = subsets(N, q)
    j = np.arange(N, dtype=np.float64)
    worst, worst_S, lost = -1.0, None, False
    for start in range(0, len(S_all), chunk):
        S = S_all[start:start + chunk]
        p = np.ones((len(S), N))
        for k in range(q):
            diff = j[None, :] - S[:, k:k + 1]
            p *= diff * diff
        e = np.exp(-c * p)  # the row maximum is 0 (on S): no shift needed
        a = e / e.sum(axis=1, keepdims=True)
        t = np.zeros_like(a)
        np.put_along_axis(t, S, 1.0 / q, axis=1)
        err = np.abs(a - t).sum(axis=1)
        i = int(np.argmax(err))
        if err[i] > worst:
            worst, worst_S = float(err[i]), S[i].tolist()
            # The on-set deficit 1/q - a_j is lost to rounding when every on-set weight rounds
            # to exactly 1/q although the off-set mass is positive.
            off_set = np.ones(N, dtype=bool)
            off_set[S[i]] = False
            off = e[i][off_set].sum()
            lost = bool(off > 0 and np.all(a[i][S[i]] == 1.0 / q))
    return worst, worst_S, len(S_all), lost


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, required=True)
    ap.add_argument("--q", type=int, required=True)
    ap.add_argument("--c", required=True, help="temperature (decimal or p/q, as attnbounds prints it)")
    ap.add_argument("--eps", default="0.01")
    a = ap.parse_args()
    c = float(Fraction(a.c))
    worst, S, cases, lost = worst_case(a.N, a.q, c)
    verdict = "holds" if worst <= float(Fraction(a.eps)) else "fails"
    json.dump({"peer": "numpy", "claim": "qsa-cyclic", "cases": cases, "worst": worst, "witness_S": S,
               "verdict": verdict, "on_set_deficit_lost": lost}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
