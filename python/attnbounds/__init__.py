"""attnbounds in Python: the toolkit's verbs (check, eval, lower, min_p, min_m, export, cc, run)
returning the data of --json as Python objects, the numeric formats (round), and model files in
PyTorch: load(path) -> torch.nn.Module, save(module, path).  See docs/python.md.

Format: docs/model-format.md (version 1: class qsa-table; version 2: classes match2-table,
match3-third-order, match3-local, attention-unit and qsa-unit).  Exact entries are loaded as their
nearest doubles; float32/bfloat16/float16 entries are loaded exactly (every one is a double).
"""
from __future__ import annotations

import json
from fractions import Fraction

import importlib

import numpy as np

from . import safetensors_io
try:  # the compiled module (CMake target attnbounds_core), when it is built and on the path
    import attnbounds_core as core
except ImportError:
    core = None
from .api import (AttnboundsWarning, cc, check, eval, export, format_name, lower, min_m, min_p, round, run,
                  to_python, usage)

# PyTorch is imported on first use (the model classes, load, save): importing it takes about a
# second, which the verbs (check, eval, ...) do not need.
_TORCH_CLASSES = {"QsaTableUnit": ".model", "Match2TableUnit": ".match_model", "Match3ThirdOrderUnit": ".match_model",
                  "Match3LocalUnit": ".match_model", "AttentionUnit": ".unit_model", "QsaUnit": ".qsa_unit_model"}


def __getattr__(name):
    if name in _TORCH_CLASSES:
        return getattr(importlib.import_module(_TORCH_CLASSES[name], __name__), name)
    raise AttributeError(f"module 'attnbounds' has no attribute '{name}'")


def _torch():
    import torch
    return torch
from .safetensors_io import ExactTrig, ModelFileError

FORMAT_NAME = "attnbounds-model"
FORMAT_VERSION = "1"
_TENSORS = ("query_table", "key_table", "value_map", "output_map")

MATCH_FORMAT_VERSION = "2"
_MATCH2_TENSORS = ("query_table", "key_table", "value_table", "residual_table", "query_pos", "key_pos", "value_pos",
                   "residual_pos", "psi_weights", "psi_threshold", "psi_threshold_linear")
_MATCH2_TABLES = _MATCH2_TENSORS[:-2]  # everything but psi's exact thresholds
_MATCH3_TENSORS = ("query_table", "key1_table", "key2_table", "value1_table", "value2_table", "psi_table",
                   "psi_threshold")

__all__ = ["check", "eval", "lower", "min_p", "min_m", "export", "cc", "run", "usage", "round", "format_name",
           "to_python", "AttnboundsWarning", "core", "load", "save", "QsaTableUnit", "Match2TableUnit", "Match3ThirdOrderUnit",
           "Match3LocalUnit", "AttentionUnit", "QsaUnit", "ModelFileError", "ExactTrig",
           "exact_tables"]


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


def _shape(path, arrays, name, shape):
    if name not in arrays:
        raise ModelFileError(path, f"tensor '{name}'", "missing")
    if tuple(arrays[name].shape) != tuple(shape):
        raise ModelFileError(path, f"tensor '{name}'.shape", f"must be {list(shape)}, got {list(arrays[name].shape)}")


def _check_match(path, meta, arrays, cls, allowed):
    if meta.get("format") != FORMAT_NAME:
        raise ModelFileError(path, "__metadata__.format", f"must be '{FORMAT_NAME}'")
    if meta.get("format_version") != MATCH_FORMAT_VERSION:
        raise ModelFileError(path, "__metadata__.format_version", f"must be {MATCH_FORMAT_VERSION} for class {cls}")
    if meta.get("heads", "1") != "1":
        raise ModelFileError(path, "__metadata__.heads", "must be 1")
    for name in arrays:
        if name not in allowed:
            raise ModelFileError(path, f"tensor '{name}'", f"unknown in class {cls}")
    if meta.get("psi_matched") not in ("below", "above"):
        raise ModelFileError(path, "__metadata__.psi_matched", "must be below or above")


def _load_match2(path, meta, arrays, exact, dtype):
    torch = _torch()
    from .match_model import Match2TableUnit
    _check_match(path, meta, arrays, "match2-table", _MATCH2_TENSORS)
    N, M = _meta_int(path, meta, "N", 2, 64), _meta_int(path, meta, "M", 2, 1 << 20)
    for name, axis in (("key_table", 1), ("value_table", 1)):
        a = arrays.get(name)
        if a is None or a.ndim != 2 or not 1 <= a.shape[axis] <= 16:
            raise ModelFileError(path, f"tensor '{name}'.shape", "must be [M, w] with w in 1..16")
    k, d = arrays["key_table"].shape[1], arrays["value_table"].shape[1]
    psi = meta.get("psi")
    if psi not in ("norm", "linear", "sqnorm-or-abs-linear"):
        raise ModelFileError(path, "__metadata__.psi", "must be norm, linear or sqnorm-or-abs-linear")
    disjunctive = psi == "sqnorm-or-abs-linear"
    if disjunctive and meta["psi_matched"] != "below":
        raise ModelFileError(path, "__metadata__.psi_matched", "must be below with psi = sqnorm-or-abs-linear")
    want = {"query_table": (M, k), "key_table": (M, k), "value_table": (M, d), "psi_threshold": (1,)}
    optional = {"residual_table": (M, d), "query_pos": (N, k), "key_pos": (N, k), "value_pos": (N, d),
                "residual_pos": (N, d)}
    if psi != "norm":
        want["psi_weights"] = (d,)
    elif "psi_weights" in arrays:
        raise ModelFileError(path, "tensor 'psi_weights'", "only with psi = linear or sqnorm-or-abs-linear")
    if disjunctive:
        want["psi_threshold_linear"] = (1,)
    elif "psi_threshold_linear" in arrays:
        raise ModelFileError(path, "tensor 'psi_threshold_linear'", "only with psi = sqnorm-or-abs-linear")
    for name, shape in list(want.items()) + [(n, s) for n, s in optional.items() if n in arrays]:
        _shape(path, arrays, name, shape)
    unit = Match2TableUnit(N, M, k, d, residual="residual_table" in arrays,
                           positional=[n for n in ("query_pos", "key_pos", "value_pos", "residual_pos") if n in arrays],
                           psi=psi, matched_below=meta["psi_matched"] == "below",
                           threshold=float(arrays["psi_threshold"][0]), dtype=dtype,
                           construction=meta.get("construction", ""),
                           threshold_linear=float(arrays["psi_threshold_linear"][0]) if disjunctive else 0.0)
    with torch.no_grad():
        for name in _MATCH2_TABLES:
            if getattr(unit, name) is not None:
                getattr(unit, name).copy_(torch.from_numpy(np.array(arrays[name], dtype=np.float64)).to(dtype))
    unit.threshold_exact = (exact.get("psi_threshold") or [Fraction(float(arrays["psi_threshold"][0]))])[0]
    unit.threshold_double = float(arrays["psi_threshold"][0])
    if disjunctive:
        unit.threshold_linear_exact = (exact.get("psi_threshold_linear")
                                       or [Fraction(float(arrays["psi_threshold_linear"][0]))])[0]
        unit.threshold_linear_double = float(arrays["psi_threshold_linear"][0])
    unit.metadata = meta
    return unit


def _load_match3(path, meta, arrays, exact, dtype):
    torch = _torch()
    from .match_model import Match3ThirdOrderUnit
    _check_match(path, meta, arrays, "match3-third-order", _MATCH3_TENSORS)
    N, M = _meta_int(path, meta, "N", 2, 16), _meta_int(path, meta, "M", 2, 1 << 16)
    for name in ("query_table", "value1_table"):
        a = arrays.get(name)
        if a is None or a.ndim != 2 or not 1 <= a.shape[1] <= 16:
            raise ModelFileError(path, f"tensor '{name}'.shape", "must be [M, w] with w in 1..16")
    m, d = arrays["query_table"].shape[1], arrays["value1_table"].shape[1]
    for name, shape in (("query_table", (M, m)), ("key1_table", (M, m)), ("key2_table", (M, m)),
                        ("value1_table", (M, d)), ("value2_table", (M, d)), ("psi_table", (M, d)),
                        ("psi_threshold", (1,))):
        _shape(path, arrays, name, shape)
    unit = Match3ThirdOrderUnit(N, M, m, d, matched_below=meta["psi_matched"] == "below",
                                threshold=float(arrays["psi_threshold"][0]), dtype=dtype,
                                construction=meta.get("construction", ""))
    with torch.no_grad():
        for name in _MATCH3_TENSORS[:-1]:
            getattr(unit, name).copy_(torch.from_numpy(np.array(arrays[name], dtype=np.float64)).to(dtype))
    for name in ("psi_table", "psi_threshold"):
        if name in exact:
            unit.exact[name] = (exact[name], np.array(arrays[name], dtype=np.float64))
    unit.metadata = meta
    return unit


_LOCAL_TENSORS = ("query_table", "key_table", "value_table")


def _load_match3_local(path, meta, arrays, exact, dtype):
    """Class match3-local, with the checks of the C++ reader (src/modelfile/match3_local_model.cpp)."""
    torch = _torch()
    from math import comb
    from .match_model import Match3LocalUnit
    if meta.get("format") != FORMAT_NAME:
        raise ModelFileError(path, "__metadata__.format", f"must be '{FORMAT_NAME}'")
    if meta.get("format_version") != MATCH_FORMAT_VERSION:
        raise ModelFileError(path, "__metadata__.format_version", f"must be {MATCH_FORMAT_VERSION} for class match3-local")
    if meta.get("heads", "1") != "1":
        raise ModelFileError(path, "__metadata__.heads", "must be 1")
    hints = meta.get("hints")
    if hints not in ("all-subsets", "window"):
        raise ModelFileError(path, "__metadata__.hints", "must be all-subsets or window")
    window = hints == "window"
    N, M = _meta_int(path, meta, "N", 2, 24), _meta_int(path, meta, "M", 2, 4096)
    q = _meta_int(path, meta, "q", 1, min(6, N - 1 if window else N))
    if meta.get("psi") != "power-sum-decoder":
        raise ModelFileError(path, "__metadata__.psi", "must be power-sum-decoder")
    _meta_int(path, meta, "psi_scale", q, q)
    for name in arrays:
        if name not in _LOCAL_TENSORS:
            raise ModelFileError(path, f"tensor '{name}'", "unknown in class match3-local")
    key = arrays.get("key_table")
    if key is None or key.ndim != 2 or not 1 <= key.shape[1] <= 64:
        raise ModelFileError(path, "tensor 'key_table'.shape", "must be [N, K] with K in 1..64")
    K = key.shape[1]
    for name, shape in (("key_table", (N, K)), ("query_table", (N if window else comb(N, q), K)),
                        ("value_table", (M, q))):
        _shape(path, arrays, name, shape)
        if any(isinstance(v, ExactTrig) for v in exact.get(name, ())):
            raise ModelFileError(path, f"tensor '{name}.exact'", "class match3-local takes rational entries only")
    unit = Match3LocalUnit(N, M, q, K, window=window, dtype=dtype, construction=meta.get("construction", ""))
    with torch.no_grad():
        for name in _LOCAL_TENSORS:
            getattr(unit, name).copy_(torch.from_numpy(np.array(arrays[name], dtype=np.float64)).to(dtype))
    for name in _LOCAL_TENSORS:  # the exact entries and the doubles beside them, kept for save
        if name in exact:
            unit.exact[name] = (exact[name], np.array(arrays[name], dtype=np.float64))
    unit.metadata = meta
    return unit


def load(path: str, dtype=None):
    """Reads a model file into a QsaTableUnit, Match2TableUnit, Match3ThirdOrderUnit, Match3LocalUnit,
    AttentionUnit or QsaUnit (float64 by default)."""
    torch = _torch()
    from .model import QsaTableUnit
    if dtype is None:
        dtype = torch.float64
    meta, arrays, exact = safetensors_io.read(path)
    if meta.get("class") == "match2-table":
        return _load_match2(path, meta, arrays, exact, dtype)
    if meta.get("class") == "match3-third-order":
        return _load_match3(path, meta, arrays, exact, dtype)
    if meta.get("class") == "match3-local":
        return _load_match3_local(path, meta, arrays, exact, dtype)
    if meta.get("class") == "attention-unit":
        from .unit_model import read_attention_unit
        return read_attention_unit(path, meta, arrays, exact, dtype)
    if meta.get("class") == "qsa-unit":
        from .qsa_unit_model import read_qsa_unit
        return read_qsa_unit(path, meta, arrays, exact, dtype)
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


def _array(p):
    return p.detach().to(_torch().float64).cpu().numpy()


def _save_match(module, path, dtype, construction):
    """Tables in `dtype`; psi's threshold (and psi_table) exact: the file's exact values when the
    module was loaded from one, else the exact value of the stored double."""
    from .match_model import Match2TableUnit
    meta = {"format": FORMAT_NAME, "format_version": MATCH_FORMAT_VERSION, "N": str(module.N), "M": str(module.M),
            "heads": "1", "psi_matched": "below" if module.matched_below else "above",
            "construction": construction or module.construction or "trained"}
    tensors, exact = {}, {}
    if isinstance(module, Match2TableUnit):
        meta.update({"class": "match2-table", "psi": module.psi,
                     "residual": "true" if module.residual_table is not None or module.residual_pos is not None else "false"})
        for name in _MATCH2_TABLES:
            if getattr(module, name) is not None:
                tensors[name] = (dtype, _array(getattr(module, name)))
        bounds = [("psi_threshold", "threshold")]
        if module.psi == "sqnorm-or-abs-linear":
            bounds.append(("psi_threshold_linear", "threshold_linear"))
        for tensor, attr in bounds:
            t = float(getattr(module, attr))
            kept = getattr(module, attr + "_exact")
            if kept is not None and getattr(module, attr + "_double", None) == t:
                exact[tensor] = [kept]
            else:
                exact[tensor] = [Fraction(t)]
            tensors[tensor] = ("F64", np.array([t]))
    else:
        meta["class"] = "match3-third-order"
        for name in _MATCH3_TENSORS[:-2]:
            tensors[name] = (dtype, _array(getattr(module, name)))
        psi = _array(module.psi_table)
        t = np.array([float(module.threshold)])
        for name, now in (("psi_table", psi), ("psi_threshold", t)):
            kept = module.exact.get(name)
            if kept is not None and np.array_equal(kept[1].reshape(-1), now.reshape(-1)):
                exact[name] = kept[0]
            else:
                exact[name] = [Fraction(float(v)) for v in now.reshape(-1)]
            tensors[name] = ("F64", now)
    safetensors_io.write(path, meta, tensors, exact)


def _save_match3_local(module, path, dtype, construction):
    """Class match3-local: key, query and value tables in `dtype`.  With dtype F64, a table that
    was loaded with exact companions and has not changed since keeps the file's exact entries (a
    companion stands beside a F64 tensor only; any other dtype rounds, as asked)."""
    from math import comb
    N, M, q, K, window = module.N, module.M, module.q, module.K, module.window
    # The reader's ranges (docs/model-format.md), so that load and the toolkit accept the file.
    q_max = min(6, N - 1 if window else N)
    if not (2 <= N <= 24 and 2 <= M <= 4096 and 1 <= q <= q_max and 1 <= K <= 64):
        raise ValueError(f"save: class match3-local needs N in 2..24, M in 2..4096, q in 1..min(6, N{' - 1' if window else ''})"
                         f" and K in 1..64 (got N = {N}, M = {M}, q = {q}, K = {K})")
    meta = {"format": FORMAT_NAME, "format_version": MATCH_FORMAT_VERSION, "class": "match3-local",
            "hints": "window" if window else "all-subsets", "N": str(N), "M": str(M), "q": str(q), "heads": "1",
            "psi": "power-sum-decoder", "psi_scale": str(q), "construction": construction or module.construction or "trained"}
    shapes = {"key_table": (N, K), "query_table": (N if window else comb(N, q), K), "value_table": (M, q)}
    tensors, exact = {}, {}
    for name in _LOCAL_TENSORS:
        now = _array(getattr(module, name))
        if now.shape != shapes[name]:
            raise ValueError(f"save: {name} has shape {list(now.shape)}, class match3-local needs {list(shapes[name])}")
        kept = module.exact.get(name)
        if dtype == "F64" and kept is not None and np.array_equal(kept[1], now):
            exact[name] = kept[0]
        tensors[name] = (dtype, now)
    safetensors_io.write(path, meta, tensors, exact)


def save(module, path: str, dtype: str = "F32", construction: str = "trained") -> None:
    """Writes a module as a model file, every table in `dtype` (F64 | F32 | F16 | BF16).  A
    QsaTableUnit becomes a version-1 qsa-table file; a Match unit a version-2 file whose ψ
    threshold (and ψ table) stay exact; a Match3LocalUnit a version-2 match3-local file (with
    F64, unchanged tables loaded from an exact file keep their exact entries); an AttentionUnit a
    version-2 attention-unit file whose ψ (MLP layers or threshold) stays exact; a QsaUnit a
    version-2 qsa-unit file (the same rule for exact entries)."""
    torch = _torch()
    from .qsa_unit_model import QsaUnit, write_qsa_unit
    if isinstance(module, QsaUnit):
        return write_qsa_unit(module, path, dtype, construction)
    from .match_model import Match2TableUnit, Match3LocalUnit, Match3ThirdOrderUnit
    from .unit_model import AttentionUnit, write_attention_unit
    if isinstance(module, AttentionUnit):
        return write_attention_unit(module, path, dtype, construction)
    if isinstance(module, Match3LocalUnit):
        return _save_match3_local(module, path, dtype, construction)
    if isinstance(module, (Match2TableUnit, Match3ThirdOrderUnit)):
        return _save_match(module, path, dtype, construction)
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "class": "qsa-table",
            "N": str(module.N), "q": str(module.q), "d": str(module.d), "heads": "1", "residual": "false",
            "construction": construction}
    tensors = {name: (dtype, getattr(module, name).detach().to(torch.float64).cpu().numpy()) for name in _TENSORS}
    safetensors_io.write(path, meta, tensors)
