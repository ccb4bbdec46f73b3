#!/usr/bin/python3
"""Uncertified plain-Python brute force of `attnbounds lower qsa-disj --model random` (exact semantics).

Rebuilds the toolkit's seeded random one-unit model (proofs/theorem4_qsa_disj.cpp: the same
mt19937_64 stream, G with entries in {-8..8}/(8(d+q+2)), Q and K in {-8..8}/2, V in {-8..8}/4),
then for every pair of sets (a, b) of [q] builds the DISJ_q reduction instance, embeds every
token, runs the attention row of Alice's token in float64 and measures the error against qSA.
Messages (Alice's embedding for each a) are compared exactly, as fractions.  The verdict and the
reported errors follow the toolkit's rule: a collision of messages a != a' gives the witness
pair (a1, a2, b = complement of a1), else the first instance above 1/(2q), else the worst one.
"""
import argparse
import json
import math
import sys
from fractions import Fraction

MASK64 = (1 << 64) - 1


class MT19937_64:
    """The 64-bit Mersenne Twister, as std::mt19937_64 (seeded with one integer)."""

    def __init__(self, seed):
        self.mt = [0] * 312
        self.mt[0] = seed & MASK64
        for i in range(1, 312):
            prev = self.mt[i - 1]
            self.mt[i] = (6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64
        self.index = 312

    def _twist(self):
        mt = self.mt
        for i in range(312):
            x = (mt[i] & 0xFFFFFFFF80000000) | (mt[(i + 1) % 312] & 0x7FFFFFFF)
            xa = x >> 1
            if x & 1:
                xa ^= 0xB5026F5AA96619E9
            mt[i] = mt[(i + 156) % 312] ^ xa
        self.index = 0

    def __call__(self):
        if self.index >= 312:
            self._twist()
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & MASK64


def small_random(rng, half_range, den):
    return Fraction(int(rng() % (2 * half_range + 1)) - half_range, den)


def random_model(N, q, d, m, seed):
    rng = MT19937_64(seed)
    features = d + 2 * N + 1
    G = [[small_random(rng, 8, 8 * (d + q + 2)) for _ in range(features)] for _ in range(m)]
    Q = [[None] * m for _ in range(m)]
    K = [[None] * m for _ in range(m)]
    for r in range(m):
        for c in range(m):
            Q[r][c] = small_random(rng, 8, 2)
            K[r][c] = small_random(rng, 8, 2)
    V = [[small_random(rng, 8, 4) for _ in range(d)] for _ in range(m)]
    return G, Q, K, V


def make_instance(q, N, d, a, b):
    z = [[0] * d for _ in range(N)]
    pub = list(range(q))
    y = [pub for _ in range(N)]
    for i in range(q):
        z[2 * i][0] = 1 if (b >> i) & 1 else -1
        z[2 * i + 1][0] = -1
    y[2 * q] = [2 * i if (a >> i) & 1 else 2 * i + 1 for i in range(q)]
    return z, y


def embed(G, N, d, z, y, i):
    feat = [0] * len(G[0])
    for c in range(d):
        feat[c] = z[i][c]
    for j in y[i]:
        feat[d + j] = 1
    feat[d + N + i] = 1
    feat[-1] = 1
    return [sum(g * f for g, f in zip(row, feat) if f != 0) for row in G]


def qkv(phi, Q, K, V):
    m, d = len(Q), len(V[0])
    query = [sum(phi[r] * Q[r][c] for r in range(m)) for c in range(m)]
    key = [sum(phi[r] * K[r][c] for r in range(m)) for c in range(m)]
    value = [sum(phi[r] * V[r][c] for r in range(m)) for c in range(d)]
    return query, key, value


def alice_error(model, q, N, d, a, b):
    G, Q, K, V = model  # float64 copies
    z, y = make_instance(q, N, d, a, b)
    toks = [qkv(embed(G, N, d, z, y, i), Q, K, V) for i in range(N)]
    alice = 2 * q
    qa = toks[alice][0]
    scores = [sum(u * v for u, v in zip(qa, toks[j][1])) for j in range(N)]
    top = max(scores)
    e = [math.exp(s - top) for s in scores]
    Z = sum(e)
    out = [sum(e[j] / Z * toks[j][2][c] for j in range(N)) for c in range(d)]
    truth = [Fraction(sum(z[j][c] for j in y[alice]), q) for c in range(d)]
    expected = -1 + Fraction(2 * bin(a & b).count("1"), q)
    assert truth[0] == expected and (truth[0] < -1 + Fraction(1, q)) == ((a & b) == 0), "reduction"
    return math.sqrt(sum((o - float(t)) ** 2 for o, t in zip(out, truth)))


def run(q, N, d, m, seed):
    exact = random_model(N, q, d, m, seed)
    model = tuple([[float(x) for x in row] for row in mat] for mat in exact)
    sets = 1 << q
    bound = 1 / (2 * q)
    first_with, collision, messages = {}, None, []
    first_violation, worst, worst_ab = None, -1.0, None
    for a in range(sets):
        z, y = make_instance(q, N, d, a, 0)
        msg = tuple(embed(exact[0], N, d, z, y, 2 * q))
        messages.append(msg)
        for b in range(sets):
            err = alice_error(model, q, N, d, a, b)
            if err > bound and first_violation is None:
                first_violation = (a, b)
            if err > worst:
                worst, worst_ab = err, (a, b)
    for a, msg in enumerate(messages):
        if msg in first_with:
            if collision is None:
                collision = (first_with[msg], a)
        else:
            first_with[msg] = a
    out = {"peer": "python", "claim": "qsa-disj", "instances": sets * sets, "messages_distinct": len(first_with)}
    if collision:
        a1, a2 = collision
        if (a2 & ~a1) == 0:
            a1, a2 = a2, a1
        b = (sets - 1) & ~a1
        errs = [alice_error(model, q, N, d, a1, b), alice_error(model, q, N, d, a2, b)]
        out.update({"verdict": "fails", "kind": "collision", "a": a1, "a_prime": a2, "b": b, "errors": errs,
                    "worst": max(errs)})
    elif first_violation:
        a, b = first_violation
        out.update({"verdict": "fails", "kind": "inaccurate", "a": a, "b": b,
                    "worst": alice_error(model, q, N, d, a, b)})
    else:
        out.update({"verdict": "holds", "kind": "worst", "a": worst_ab[0], "b": worst_ab[1], "worst": worst})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--q", type=int, required=True)
    ap.add_argument("--N", type=int, default=0, help="tokens (0: 2q + 1)")
    ap.add_argument("--d", type=int, default=1)
    ap.add_argument("--m", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    json.dump(run(a.q, a.N or 2 * a.q + 1, a.d, a.m, a.seed), sys.stdout)
    print()


if __name__ == "__main__":
    main()
