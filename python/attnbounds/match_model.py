"""The Match classes of docs/model-format.md (format version 2) as torch.nn.Modules.

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
