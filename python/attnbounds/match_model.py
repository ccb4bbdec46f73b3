"""The Match classes of docs/model-format.md (format version 2) as torch.nn.Modules (Match3LocalUnit,
class match3-local, is described at its definition below).

Match2TableUnit (class match2-table), tokens x_i in [M] (0-based positions i, j):
    q_i = query_table[x_i] (+ query_pos[i]),  k_j = key_table[x_j] (+ key_pos[j])
    v_j = value_table[x_j] (+ value_pos[j]),  a_i = softmax_j <q_i, k_j>   (over all j)
    out_i = residual_table[x_i] (+ residual_pos[i]) + sum_j a_ij v_j       (residual optional)
    statistic_i = ||out_i|| (psi = "norm") or psi_weights . out_i (psi = "linear")
    psi_i = 1 iff statistic_i < threshold (psi_matched = "below"), > threshold ("above")
    psi = "sqnorm-or-abs-linear" (always matched below): psi_i = 1 iff ||out_i||^2 < threshold or
    |psi_weights . out_i| < threshold_linear; statistic_i is then the decision function
    max(threshold - ||out_i||^2, threshold_linear - |psi_weights . out_i|), matched iff > 0.

Match3ThirdOrderUnit (class match3-third-order), softmax over all N^2 pairs (j, k):
    s_ijk = sum_c query_table[x_i,c] key1_table[x_j,c] key2_table[x_k,c]
    out_i = sum_jk a_ijk value1_table[x_j] * value2_table[x_k]   (entrywise product)
    statistic_i = psi_table[x_i] . out_i, thresholded as above.
"""
from __future__ import annotations

import torch
from torch import nn

_POS = ("query_pos", "key_pos", "value_pos", "residual_pos")


class Match2TableUnit(nn.Module):
    def __init__(self, N: int, M: int, k: int, d: int, residual: bool = True, positional=(), psi: str = "norm",
                 matched_below: bool = True, threshold: float = 0.0, dtype=torch.float64, construction: str = "",
                 threshold_linear: float = 0.0):
        super().__init__()
        if psi not in ("norm", "linear", "sqnorm-or-abs-linear"):
            raise ValueError("psi must be norm, linear or sqnorm-or-abs-linear")
        if psi == "sqnorm-or-abs-linear" and not matched_below:
            raise ValueError("psi sqnorm-or-abs-linear is matched below")
        self.N, self.M, self.k, self.d = N, M, k, d
        self.psi, self.matched_below, self.construction = psi, matched_below, construction
        self.query_table = nn.Parameter(torch.zeros(M, k, dtype=dtype))
        self.key_table = nn.Parameter(torch.zeros(M, k, dtype=dtype))
        self.value_table = nn.Parameter(torch.zeros(M, d, dtype=dtype))
        self.residual_table = nn.Parameter(torch.zeros(M, d, dtype=dtype)) if residual else None
        for name in _POS:
            width = k if name in ("query_pos", "key_pos") else d
            setattr(self, name, nn.Parameter(torch.zeros(N, width, dtype=dtype)) if name in positional else None)
        self.psi_weights = nn.Parameter(torch.zeros(d, dtype=dtype)) if psi != "norm" else None
        self.register_buffer("threshold", torch.tensor(float(threshold), dtype=dtype))
        self.threshold_exact = None  # the file's exact threshold (Fraction or ExactTrig), kept for save
        if psi == "sqnorm-or-abs-linear":
            self.register_buffer("threshold_linear", torch.tensor(float(threshold_linear), dtype=dtype))
        else:
            self.threshold_linear = None
        self.threshold_linear_exact = None

    def extra_repr(self) -> str:
        pos = [n for n in _POS if getattr(self, n) is not None]
        return (f"N={self.N}, M={self.M}, k={self.k}, d={self.d}, residual={self.residual_table is not None}, "
                f"positional={pos}, psi={self.psi}, matched={'below' if self.matched_below else 'above'}")

    def output(self, x: torch.Tensor) -> torch.Tensor:
        """x: [..., N] long in [0, M) -> the unit's output [..., N, d]."""
        q, k, v = self.query_table[x], self.key_table[x], self.value_table[x]
        if self.query_pos is not None:
            q = q + self.query_pos
        if self.key_pos is not None:
            k = k + self.key_pos
        if self.value_pos is not None:
            v = v + self.value_pos
        out = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v
        if self.residual_table is not None:
            out = out + self.residual_table[x]
        if self.residual_pos is not None:
            out = out + self.residual_pos
        return out

    def statistic(self, x: torch.Tensor) -> torch.Tensor:
        out = self.output(x)
        if self.psi == "sqnorm-or-abs-linear":
            return torch.maximum(self.threshold - (out * out).sum(-1),
                                 self.threshold_linear - (out @ self.psi_weights).abs())
        return out.norm(dim=-1) if self.psi == "norm" else out @ self.psi_weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """psi's decision per token, 1 = matched."""
        s = self.statistic(x)
        if self.psi == "sqnorm-or-abs-linear":
            return (s > 0).long()
        return (s < self.threshold if self.matched_below else s > self.threshold).long()


class Match3ThirdOrderUnit(nn.Module):
    def __init__(self, N: int, M: int, m: int, d: int, matched_below: bool = False, threshold: float = 0.0,
                 dtype=torch.float64, construction: str = ""):
        super().__init__()
        self.N, self.M, self.m, self.d = N, M, m, d
        self.matched_below, self.construction = matched_below, construction
        for name, width in (("query_table", m), ("key1_table", m), ("key2_table", m), ("value1_table", d),
                            ("value2_table", d), ("psi_table", d)):
            setattr(self, name, nn.Parameter(torch.zeros(M, width, dtype=dtype)))
        self.register_buffer("threshold", torch.tensor(float(threshold), dtype=dtype))
        self.exact = {}  # the file's exact psi_table / threshold, kept for save

    def extra_repr(self) -> str:
        return f"N={self.N}, M={self.M}, m={self.m}, d={self.d}, matched={'below' if self.matched_below else 'above'}"

    def output(self, x: torch.Tensor) -> torch.Tensor:
        q, k1, k2 = self.query_table[x], self.key1_table[x], self.key2_table[x]
        v1, v2 = self.value1_table[x], self.value2_table[x]
        scores = torch.einsum("...ic,...jc,...kc->...ijk", q, k1, k2)
        shape = scores.shape
        a = torch.softmax(scores.reshape(*shape[:-2], -1), dim=-1).reshape(shape)
        return torch.einsum("...ijk,...jc,...kc->...ic", a, v1, v2)

    def statistic(self, x: torch.Tensor) -> torch.Tensor:
        return (self.output(x) * self.psi_table[x]).sum(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.statistic(x)
        return (s < self.threshold if self.matched_below else s > self.threshold).long()


class Match3LocalUnit(nn.Module):
    """Class match3-local: the hinted/window Match3 unit (math §4.5), 0-based positions.

    Token i carries x_i in [M] and a hint set y_i of q positions.
        q_i = query_table[row(y_i)]   (row: lexicographic rank of the q-subset, or i for hints = window)
        k_j = key_table[j],  v_j = value_table[x_j],  a_i = softmax_j <q_i, k_j>  (over all j)
        out_i = sum_j a_ij v_j                               (forward; width q)
    psi (power-sum decoder, scale q): P_k = floor(q*out_ik + 1/2), the multiset {c_1..c_q} in [M]
    with sum c^k = P_k (Newton's identities, then the integer roots), psi = 1 iff x_i + c_a + c_b = 0
    mod M for some a, b; no such multiset: psi = 0 (decide, in Python integers).
    """

    def __init__(self, N: int, M: int, q: int, K: int, window: bool = False, dtype=torch.float64,
                 construction: str = ""):
        super().__init__()
        from math import comb
        self.N, self.M, self.q, self.K, self.window = N, M, q, K, window
        self.construction = construction
        rows = N if window else comb(N, q)
        self.query_table = nn.Parameter(torch.zeros(rows, K, dtype=dtype))
        self.key_table = nn.Parameter(torch.zeros(N, K, dtype=dtype))
        self.value_table = nn.Parameter(torch.zeros(M, q, dtype=dtype))
        self.exact = {}  # a loaded file's exact tables (entries, doubles), kept for save
        # F[t, a] = sum_{s < a} C(N-1-s, q-1-t): the lexicographic rank is a sum of differences of F.
        F = torch.zeros(q, N + 1, dtype=torch.long)
        for t in range(q):
            for a in range(1, N + 1):
                F[t, a] = F[t, a - 1] + comb(N - a, q - 1 - t)
        self.register_buffer("rank_prefix", F, persistent=False)

    def extra_repr(self) -> str:
        return (f"N={self.N}, M={self.M}, q={self.q}, K={self.K}, hints={'window' if self.window else 'all-subsets'}, "
                f"psi=power-sum-decoder")

    def windows(self) -> torch.Tensor:
        """The window hint sets [N, q] (0-based, sorted): token i's is i+1, ..., i+q mod N."""
        y = [sorted((i + d) % self.N for d in range(1, self.q + 1)) for i in range(self.N)]
        return torch.tensor(y, dtype=torch.long)

    def query_rows(self, hints: torch.Tensor) -> torch.Tensor:
        """hints [..., N, q] (0-based) -> the query row of each token, [..., N]."""
        if self.window:
            if not torch.equal(hints.long().sort(dim=-1).values, self.windows().expand_as(hints)):
                raise ValueError("hints = window: token i's hint set must be i+1, ..., i+q mod N")
            return torch.arange(self.N).expand(hints.shape[:-1])
        s = hints.long().sort(dim=-1).values
        if s.shape[-1] != self.q or (s[..., 1:] == s[..., :-1]).any() or (s < 0).any() or (s >= self.N).any():
            raise ValueError(f"each hint set must be {self.q} distinct positions in 0..{self.N - 1}")
        prev = torch.cat([torch.full_like(s[..., :1], -1), s[..., :-1]], dim=-1)
        idx = torch.arange(self.q)
        F = self.rank_prefix
        return (F[idx, s] - F[idx, prev + 1]).sum(-1)

    def forward(self, x: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """x: [..., N] long in [0, M), hints: [..., N, q] long 0-based (None for window) -> out [..., N, q]."""
        if hints is None:
            if not self.window:
                raise ValueError("hints = all-subsets: forward needs the hint sets")
            hints = self.windows().expand(*x.shape, self.q)
        queries = self.query_table[self.query_rows(hints)]           # [..., N, K]
        a = torch.softmax(queries @ self.key_table.transpose(0, 1), dim=-1)
        return a @ self.value_table[x]

    @staticmethod
    def decode_power_sums(P, M: int):
        """The multiset of q values in [M] (ascending) whose power sums are P_1..P_q, else None; exact."""
        from fractions import Fraction
        q = len(P)
        e = [Fraction(1)]
        for k in range(1, q + 1):  # Newton: k e_k = sum_{i=1..k} (-1)^(i-1) e_(k-i) P_i
            e.append(sum((1 if i % 2 else -1) * e[k - i] * int(P[i - 1]) for i in range(1, k + 1)) / k)
        f = [(-1 if k % 2 else 1) * e[k] for k in range(q + 1)]  # prod (t - c), leading coefficient first
        roots = []
        for r in range(M):
            while len(f) > 1:
                quotient, acc = [], Fraction(0)
                for c in f[:-1]:
                    acc = acc * r + c
                    quotient.append(acc)
                if acc * r + f[-1] != 0:
                    break
                roots.append(r)
                f = quotient
        return roots if len(roots) == q else None

    def decide(self, x: torch.Tensor, hints: torch.Tensor | None = None):
        """psi per token of one input (x: [N]): a list of (decision, decoded candidates or None).
        q*out_ik is formed exactly from the float64 output (Fraction), then rounded half up."""
        from fractions import Fraction
        from math import floor
        out = self.forward(x, hints).detach().to(torch.float64)
        xs = [int(v) for v in x.reshape(-1)]
        result = []
        for i in range(self.N):
            P = [floor(Fraction(float(out[i, k])) * self.q + Fraction(1, 2)) for k in range(self.q)]
            dec = self.decode_power_sums(P, self.M)
            hit = dec is not None and any((xs[i] + a + b) % self.M == 0 for a in dec for b in dec)
            result.append((int(hit), dec))
        return result

    @staticmethod
    def truth(x, hints, M: int):
        """The task's answer per token: 1 iff x_i + x_j1 + x_j2 = 0 mod M for j1, j2 in y_i (j1 = j2 allowed)."""
        xs = [int(v) for v in x]
        return [int(any((xs[i] + xs[int(a)] + xs[int(b)]) % M == 0 for a in y for b in y))
                for i, y in enumerate(hints)]
