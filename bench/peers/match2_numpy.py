#!/usr/bin/python3
"""Uncertified numpy float64 peer of `attnbounds check match2` (exact semantics).

Construction (proofs/match2_trig.*): theta(x) = 2 pi x / M, key (cos, sin), query
c (cos, -sin), value (-cos, sin), residual phi = key; ||out_i|| < g/2 decides "matched" with
g = 1 - cos(2 pi / M).  The same multiset reduction as the toolkit: for every query value a and
every multiset of the other N - 1 tokens (as residue counts, query included) the output of the
query token is phi_a + sum_b n_b w_ab v_b / sum_b n_b w_ab, w_ab = exp(s_ab - max_b s_ab).
Prints the largest matched norm, the smallest unmatched norm and the smallest room to g/2.
"""
import argparse
import itertools
import json
import sys
from fractions import Fraction

import numpy as np


def multiset_counts(N, M):
    k = N - 1
    rows = []
    for ms in itertools.combinations_with_replacement(range(M), k):
        rows.append(ms)
    idx = np.array(rows, dtype=np.int64)
    counts = np.zeros((len(idx), M))
    for col in range(k):
        np.add.at(counts, (np.arange(len(idx)), idx[:, col]), 1.0)
    return counts


def check(N, M, c):
    theta = 2 * np.pi * np.arange(M) / M
    kc, ks = np.cos(theta), np.sin(theta)
    qc, qs = c * np.cos(theta), -c * np.sin(theta)
    vc, vs = -np.cos(theta), np.sin(theta)
    tau = (1 - np.cos(2 * np.pi / M)) / 2
    counts = multiset_counts(N, M)
    matched_max, unmatched_min = -np.inf, np.inf
    for a in range(M):
        s = qc[a] * kc + qs[a] * ks
        w = np.exp(s - s.max())
        n = counts.copy()
        n[:, a] += 1.0  # the query token itself
        den = n @ w
        oc = kc[a] + (n @ (w * vc)) / den
        os_ = ks[a] + (n @ (w * vs)) / den
        norm = np.sqrt(oc * oc + os_ * os_)
        matched = n[:, (M - a) % M] > 0
        if matched.any():
            matched_max = max(matched_max, float(norm[matched].max()))
        if (~matched).any():
            unmatched_min = min(unmatched_min, float(norm[~matched].min()))
    room = min(tau - matched_max, unmatched_min - tau)
    return {"cases": M * len(counts), "largest_matched_norm": matched_max, "smallest_unmatched_norm": unmatched_min,
            "worst": room, "verdict": "holds" if room > 0 else "fails"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, required=True)
    ap.add_argument("--M", type=int, required=True)
    ap.add_argument("--c", required=True, help="temperature (decimal or p/q, as attnbounds prints it)")
    a = ap.parse_args()
    out = {"peer": "numpy", "claim": "match2"}
    out.update(check(a.N, a.M, float(Fraction(a.c))))
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
