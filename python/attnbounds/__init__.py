"""attnbounds model files in PyTorch: load(path) -> torch.nn.Module, save(module, path).

Format: docs/model-format.md (version 1, class qsa-table).  Exact entries are loaded as their
nearest doubles; float32/bfloat16/float16 entries are loaded exactly (every one is a double).
"""
from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import torch

from . import safetensors_io
from .model import QsaTableUnit
from .safetensors_io import ModelFileError

FORMAT_NAME = "attnbounds-model"
FORMAT_VERSION = "1"
_TENSORS = ("query_table", "key_table", "value_map", "output_map")

__all__ = ["load", "save", "QsaTableUnit", "ModelFileError", "exact_tables"]


def _meta_int(path, meta, key, lo, hi):
    v = meta.get(key)
    if v is None or not (v.isascii() and v.isdigit()) or (len(v) > 1 and v[0] == "0") or not lo <= int(v) <= hi:
        raise ModelFileError(path, f"__metadata__.{key}", f"must be a decimal integer in {lo}..{hi}")
    return int(v)


def _check(path, meta, arrays):
    if meta.get("format") != FORMAT_NAME:
        raise ModelFileError(path, "__metadata__.format", f"must be '{FORMAT_NAME}'")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(path, "__metadata__.format_version", f"must be {FORMAT_VERSION}")
    if meta.get("class") != "qsa-table":
        raise ModelFileError(path, "__metadata__.class", "format version 1 defines only class qsa-table")
    if meta.get("heads", "1") != "1":
        raise ModelFileError(path, "__metadata__.heads", "must be 1")
    if meta.get("residual", "false") != "false":
        raise ModelFileError(path, "__metadata__.residual", "must be false")
    N = _meta_int(path, meta, "N", 1, 100000)
    q = _meta_int(path, meta, "q", 1, N)
    d = _meta_int(path, meta, "d", 1, 4096)
    for name in arrays:
        if name not in _TENSORS:
            raise ModelFileError(path, f"tensor '{name}'", "unknown in class qsa-table")
    for name in _TENSORS:
        if name not in arrays:
            raise ModelFileError(path, f"tensor '{name}'", "missing")
    from math import comb
    k = arrays["key_table"].shape[1] if arrays["key_table"].ndim == 2 else -1
    want = {"key_table": (N, k), "query_table": (comb(N, q), k), "value_map": (d, d)}
    for name, shape in want.items():
        if arrays[name].shape != shape or k < 1:
            raise ModelFileError(path, f"tensor '{name}'.shape", f"must be {list(shape)}, got {list(arrays[name].shape)}")
    out = arrays["output_map"]
    if out.ndim != 2 or out.shape[1] != d:
        raise ModelFileError(path, "tensor 'output_map'.shape", f"must be [d_out, {d}]")
    return N, q, d, k, out.shape[0]


def load(path: str, dtype=torch.float64) -> QsaTableUnit:
    """Reads a model file into a QsaTableUnit (float64 by default)."""
    meta, arrays, _exact = safetensors_io.read(path)
    N, q, d, k, d_out = _check(path, meta, arrays)
    unit = QsaTableUnit(N, q, d, k, d_out, dtype=dtype, construction=meta.get("construction", ""))
    with torch.no_grad():
        for name in _TENSORS:
            getattr(unit, name).copy_(torch.from_numpy(np.array(arrays[name], dtype=np.float64)).to(dtype))
    unit.metadata = meta
    return unit


def exact_tables(path: str) -> dict:
    """The exact entries of a file: {name: list of Fraction} (companions, else the stored floats)."""
    meta, arrays, exact = safetensors_io.read(path)
    _check(path, meta, arrays)
    return {n: exact.get(n) or [Fraction(float(x)) for x in np.asarray(arrays[n], dtype=np.float64).reshape(-1)]
            for n in _TENSORS}


def save(module: QsaTableUnit, path: str, dtype: str = "F32", construction: str = "trained") -> None:
    """Writes a QsaTableUnit as a version-1 qsa-table file, every tensor in `dtype`."""
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "class": "qsa-table",
            "N": str(module.N), "q": str(module.q), "d": str(module.d), "heads": "1", "residual": "false",
            "construction": construction}
    tensors = {name: (dtype, getattr(module, name).detach().to(torch.float64).cpu().numpy()) for name in _TENSORS}
    safetensors_io.write(path, meta, tensors)
