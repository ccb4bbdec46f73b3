"""The qsa-table attention unit of docs/model-format.md as a torch.nn.Module.

Token i is (z_i, y_i, i) with z_i in R^d and y_i a q-subset of [N] (0-based indices here).
    query_i = query_table[rank(y_i)]        (rank: lexicographic, as itertools.combinations)
    key_j   = key_table[j]
    s_ij    = <query_i, key_j>              (no 1/sqrt(m) scaling; the temperature is in the table)
    a_i     = softmax_j(s_ij) over all j
    out_i   = output_map @ sum_j a_ij (value_map @ z_j)
"""
from __future__ import annotations

from math import comb

import torch
from torch import nn


def rank_prefix(N: int, q: int) -> torch.Tensor:
    """F[i, a] = sum_{t < a} C(N-1-t, q-1-i): the lexicographic rank is a sum of differences of F."""
    F = torch.zeros(q, N + 1, dtype=torch.long)
    for i in range(q):
        for a in range(1, N + 1):
            F[i, a] = F[i, a - 1] + comb(N - a, q - 1 - i)
    return F


def subset_rank(prefix: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Lexicographic rank among the q-subsets of [N] of each subset (last dim of y, 0-based, any
    order), from F = rank_prefix(N, q)."""
    s, _ = torch.sort(y.long(), dim=-1)
    prev = torch.cat([torch.full_like(s[..., :1], -1), s[..., :-1]], dim=-1)
    idx = torch.arange(s.shape[-1], device=s.device)
    return (prefix[idx, s] - prefix[idx, prev + 1]).sum(-1)


class QsaTableUnit(nn.Module):
    def __init__(self, N: int, q: int, d: int, k: int, d_out: int | None = None, dtype=torch.float64,
                 construction: str = ""):
        super().__init__()
        if not (1 <= q <= N):
            raise ValueError("need 1 <= q <= N")
        self.N, self.q, self.d, self.k = N, q, d, k
        self.construction = construction
        d_out = d if d_out is None else d_out
        self.query_table = nn.Parameter(torch.zeros(comb(N, q), k, dtype=dtype))
        self.key_table = nn.Parameter(torch.zeros(N, k, dtype=dtype))
        self.value_map = nn.Parameter(torch.eye(d, dtype=dtype))
        self.output_map = nn.Parameter(torch.eye(d_out, d, dtype=dtype))
        self.register_buffer("rank_prefix", rank_prefix(N, q), persistent=False)

    def extra_repr(self) -> str:
        c = f", construction={self.construction}" if self.construction else ""
        return f"N={self.N}, q={self.q}, d={self.d}, k={self.k}, d_out={self.output_map.shape[0]}{c}"

    def subset_rank(self, y: torch.Tensor) -> torch.Tensor:
        """Lexicographic rank of each q-subset (last dim, 0-based, any order)."""
        return subset_rank(self.rank_prefix, y)

    def attention(self, y: torch.Tensor) -> torch.Tensor:
        queries = self.query_table[self.subset_rank(y)]          # [..., N, k]
        scores = queries @ self.key_table.transpose(0, 1)        # [..., N, N]
        return torch.softmax(scores, dim=-1)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """z: [..., N, d] float, y: [..., N, q] long (0-based) -> [..., N, d_out]."""
        values = z @ self.value_map.transpose(0, 1)
        return (self.attention(y) @ values) @ self.output_map.transpose(0, 1)
