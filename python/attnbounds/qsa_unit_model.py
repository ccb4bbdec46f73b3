"""Class qsa-unit of docs/model-format.md (version 2) as a torch.nn.Module: the qSA unit with a
table or MLP query on (y_i, i), a table or MLP key on the position j, and linear value and output
maps.  Tokens are (z_i, y_i, i), z_i in R^d', y_i a q-subset of [N] (0-based here and in files).

    q_i    = query_table[rank(y_i)]    or  MLP_query((1_{y_i}, e(i)))    in {0,1}^{2N} -> R^k
    k_j    = key_table[j]              or  MLP_key(e(j))                 in {0,1}^N    -> R^k
    a_i    = softmax_j <q_i, k_j>      over all j, no 1/sqrt(k) scaling
    f(X)_i = output_map @ sum_j a_ij (value_map @ z_j)       value_map [d_v, d'], output_map [d', d_v]

MLP layers are nn.Linear (weight [out, in], optional bias), with relu or the exact GELU between
layers and none after the last.  value_map and output_map are plain tensors without bias (the
class's values and psi are linear).  state_dict() keys are exactly the file's tensor names.
"""
from __future__ import annotations

from math import comb
from typing import Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .model import rank_prefix, subset_rank

# The reader's ranges (docs/model-format.md, class qsa-unit; src/modelfile/qsa_unit_model.hpp).
# The format's limit of 2^20 parameters cannot be reached within them (at most about 350,000).
MAX_N, MAX_D, MAX_K, MAX_DV = 64, 16, 64, 64
MAX_LAYERS, MAX_WIDTH = 4, 256
MAX_TABLE_ENTRIES = 20_000_000  # C(N, q)·k of a query table
ACTIVATIONS = ("relu", "gelu")
FORMAT_VERSION = "2"
CLASS = "qsa-unit"
SAVE_DTYPES = ("F64", "F32", "F16", "BF16")


def _in_range(name: str, v, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError(f"QsaUnit: {name} must be an integer in {lo}..{hi} (got {v!r})")
    return v


class QsaUnit(nn.Module):
    """N, q, d (= d'), k: tokens, subset size, value width, query/key width.  d_v: the width of
    value_map's output (default d).  query_hidden / key_hidden: None for a table (query_table /
    key_table), else the hidden widths of the MLP (() is one linear layer, at most 3 hidden
    widths).  bias: True / False for every MLP layer, or the names of the layers that have one
    ("query.0", "key.1", ...).  Tables start at 0, value_map and output_map at the identity (when
    d_v = d), MLP layers as nn.Linear initialises them."""

    def __init__(self, N: int, q: int, d: int, k: int, *, d_v: int | None = None,
                 query_hidden: Sequence[int] | None = None, key_hidden: Sequence[int] | None = None,
                 activation: str = "relu", bias: bool | Iterable[str] = True, dtype=torch.float64,
                 construction: str = ""):
        super().__init__()
        self.N = _in_range("N", N, 1, MAX_N)
        self.q = _in_range("q", q, 1, N)
        self.d = _in_range("d", d, 1, MAX_D)
        self.k = _in_range("k", k, 1, MAX_K)
        self.d_v = _in_range("d_v", d if d_v is None else d_v, 1, MAX_DV)
        if activation not in ACTIVATIONS:
            raise ValueError(f"QsaUnit: activation must be relu or gelu (got {activation!r})")
        self.activation, self.construction = activation, construction
        self.exact = {}  # a loaded file's exact companions {name: (entries, float64 array)}, kept by save
        bias_names = set() if isinstance(bias, bool) else set(bias)

        def mlp(prefix: str, n_in: int, hidden) -> nn.ModuleList:
            hidden = list(hidden)
            _in_range(f"the number of {prefix} layers", len(hidden) + 1, 1, MAX_LAYERS)
            for w in hidden:
                _in_range(f"a {prefix} hidden width", w, 1, MAX_WIDTH)
            widths = [n_in] + hidden + [k]
            return nn.ModuleList(
                nn.Linear(a, b, bias=bias if isinstance(bias, bool) else f"{prefix}.{i}" in bias_names, dtype=dtype)
                for i, (a, b) in enumerate(zip(widths, widths[1:])))

        if query_hidden is None:
            if comb(N, q) * k > MAX_TABLE_ENTRIES:
                raise ValueError(f"QsaUnit: a query table of C(N, q)·k = {comb(N, q) * k} entries exceeds "
                                 f"{MAX_TABLE_ENTRIES}")
            self.query_table = nn.Parameter(torch.zeros(comb(N, q), k, dtype=dtype))
            self.query = None
        else:
            self.query_table = None
            self.query = mlp("query", 2 * N, query_hidden)
        if key_hidden is None:
            self.key_table = nn.Parameter(torch.zeros(N, k, dtype=dtype))
            self.key = None
        else:
            self.key_table = None
            self.key = mlp("key", N, key_hidden)
        self.value_map = nn.Parameter(torch.eye(self.d_v, d, dtype=dtype))
        self.output_map = nn.Parameter(torch.eye(d, self.d_v, dtype=dtype))
        layers = {n[:-len(".weight")] for n, _ in self.named_parameters() if n.endswith(".weight")}
        if bias_names - layers:
            raise ValueError(f"QsaUnit: bias names no MLP layer: {sorted(bias_names - layers)}")
        self.register_buffer("rank_prefix", rank_prefix(N, q), persistent=False)

    def extra_repr(self) -> str:
        def kind(table, layers):
            return "table" if table is not None else f"mlp({len(layers)} layers)"
        return (f"N={self.N}, q={self.q}, d={self.d}, k={self.k}, d_v={self.d_v}, "
                f"query={kind(self.query_table, self.query)}, key={kind(self.key_table, self.key)}, "
                f"activation={self.activation}")

    def _mlp(self, layers: nn.ModuleList, h: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(layers):
            h = layer(h)
            if i + 1 < len(layers):
                h = torch.relu(h) if self.activation == "relu" else F.gelu(h, approximate="none")
        return h

    def query_positional(self) -> bool:
        """Whether the query can depend on the position: an MLP query with a nonzero positional
        column of query.0.weight (then the checker has one row per (S, i))."""
        return self.query is not None and bool((self.query[0].weight[:, self.N:] != 0).any())

    def _check_y(self, y: torch.Tensor) -> torch.Tensor:
        y = y.long()
        if y.shape[-1] != self.q or y.shape[-2] != self.N:
            raise ValueError(f"QsaUnit: y must have shape [..., N = {self.N}, q = {self.q}] (got {list(y.shape)})")
        s, _ = torch.sort(y, dim=-1)
        if (s[..., 0] < 0).any() or (s[..., -1] >= self.N).any() or (s[..., 1:] == s[..., :-1]).any():
            raise ValueError(f"QsaUnit: every y_i must be q distinct indices in 0..{self.N - 1}")
        return y

    def queries(self, y: torch.Tensor) -> torch.Tensor:
        """q_i, [..., N, k]: the table row of y_i's rank, or the MLP on (1_{y_i}, e(i))."""
        y = self._check_y(y)
        if self.query is None:
            return self.query_table[subset_rank(self.rank_prefix, y)]
        dtype = self.query[0].weight.dtype
        indicator = torch.zeros(*y.shape[:-1], self.N, dtype=dtype, device=y.device)
        indicator.scatter_(-1, y, 1.0)
        position = torch.eye(self.N, dtype=dtype, device=y.device).expand(*y.shape[:-2], self.N, self.N)
        return self._mlp(self.query, torch.cat([indicator, position], dim=-1))

    def keys(self) -> torch.Tensor:
        """k_j, [N, k]: key_table, or the MLP on the one-hot e(j)."""
        if self.key is None:
            return self.key_table
        w = self.key[0].weight
        return self._mlp(self.key, torch.eye(self.N, dtype=w.dtype, device=w.device))

    def attention(self, y: torch.Tensor) -> torch.Tensor:
        """a_ij, [..., N, N]: softmax over all j of <q_i, k_j> (no scaling)."""
        return torch.softmax(self.queries(y) @ self.keys().transpose(0, 1), dim=-1)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """z: [..., N, d'] float, y: [..., N, q] long (0-based, any order) -> f(X) [..., N, d']."""
        values = z @ self.value_map.transpose(0, 1)                          # [..., N, d_v]
        return (self.attention(y) @ values) @ self.output_map.transpose(0, 1)


# ---------------------------------------------------------------------------------------------
# Reading and writing files of class qsa-unit (called by attnbounds.load / attnbounds.save), with
# the checks of the toolkit's reader (src/modelfile/qsa_unit_model.cpp), in its order.

def _width(path, arrays, name: str, axis: int, what: str, hi: int) -> int:
    from .safetensors_io import ModelFileError
    a = arrays.get(name)
    if a is None:
        raise ModelFileError(path, f"tensor '{name}'", f"missing ({what})")
    if a.ndim != 2:
        raise ModelFileError(path, f"tensor '{name}'.shape", f"must have rank 2 (got {list(a.shape)})")
    if not 1 <= a.shape[axis] <= hi:
        raise ModelFileError(path, f"tensor '{name}'.shape", f"{what} must be in 1..{hi} (got {list(a.shape)})")
    return int(a.shape[axis])


def _table(path, arrays, exact, name: str, shape) -> None:
    from .safetensors_io import ExactTrig, ModelFileError
    if tuple(arrays[name].shape) != tuple(shape):
        raise ModelFileError(path, f"tensor '{name}'.shape", f"must be {list(shape)} (got {list(arrays[name].shape)})")
    if any(isinstance(v, ExactTrig) for v in exact.get(name, ())):
        raise ModelFileError(path, f"tensor '{name}.exact'", "class qsa-unit takes rational entries only")


def _mlp_widths(path, arrays, exact, known: set, prefix: str, n_in: int, last_out: int | None):
    """Layers PREFIX.0, PREFIX.1, ... while PREFIX.L.weight exists; returns (widths, bias layer names)."""
    from .safetensors_io import ModelFileError
    from .unit_model import _layer_count  # the one rule of both readers (and the toolkit's)
    widths, biased, width = [], [], n_in
    if not any(k.startswith(f"{prefix}.") for k in arrays):
        raise ModelFileError(path, f"tensor '{prefix}.0.weight'", f"missing (the {prefix} MLP)")
    for i in range(_layer_count(path, arrays, prefix)):
        name = f"{prefix}.{i}"
        out = _width(path, arrays, f"{name}.weight", 0, "out", MAX_WIDTH)
        _table(path, arrays, exact, f"{name}.weight", (out, width))
        if f"{name}.bias" in arrays:
            _table(path, arrays, exact, f"{name}.bias", (out,))
            biased.append(name)
        known.update((f"{name}.weight", f"{name}.bias"))
        widths.append(out)
        width = out
    if not widths:
        raise ModelFileError(path, f"tensor '{prefix}.0.weight'", f"missing (the {prefix} MLP)")
    if last_out is not None and widths[-1] != last_out:
        raise ModelFileError(path, f"tensor '{prefix}.{len(widths) - 1}.weight'.shape",
                             f"the last layer of the {prefix} MLP must have out = k = {last_out}")
    return widths, biased


def read_qsa_unit(path, meta, arrays, exact, dtype) -> QsaUnit:
    """The unit of a parsed file (safetensors_io.read), with the checks of docs/model-format.md."""
    import numpy as np
    from . import FORMAT_NAME, _meta_int
    from .safetensors_io import ModelFileError
    if meta.get("format") != FORMAT_NAME:
        raise ModelFileError(path, "__metadata__.format", f"must be '{FORMAT_NAME}'")
    if meta.get("class") != CLASS:
        raise ModelFileError(path, "__metadata__.class", f"is {meta.get('class')!r}, not {CLASS}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(path, "__metadata__.format_version", f"must be {FORMAT_VERSION} for class {CLASS}")
    if meta.get("heads", "1") != "1":
        raise ModelFileError(path, "__metadata__.heads", "must be 1: class qsa-unit is one softmax unit")
    if meta.get("residual", "false") != "false":
        raise ModelFileError(path, "__metadata__.residual", "must be false: a residual is outside the class")
    N = _meta_int(path, meta, "N", 1, MAX_N)
    q = _meta_int(path, meta, "q", 1, N)
    d = _meta_int(path, meta, "d", 1, MAX_D)
    known, biased = set(), []

    if "query_table" in arrays and "query.0.weight" in arrays:
        raise ModelFileError(path, "tensor 'query_table'", "and query.0.weight both present: the query is one or the other")
    if "query_table" in arrays:
        k = _width(path, arrays, "query_table", 1, "k (the query width)", MAX_K)
        if comb(N, q) * k > MAX_TABLE_ENTRIES:
            raise ModelFileError(path, "tensor 'query_table'.shape", f"C(N, q)·k exceeds the limit of {MAX_TABLE_ENTRIES} entries")
        _table(path, arrays, exact, "query_table", (comb(N, q), k))
        known.add("query_table")
        query_hidden = None
    elif "query.0.weight" in arrays:
        widths, b = _mlp_widths(path, arrays, exact, known, "query", 2 * N, None)
        k = widths[-1]
        if k > MAX_K:
            raise ModelFileError(path, f"tensor 'query.{len(widths) - 1}.weight'.shape",
                                 f"the query width k must be in 1..{MAX_K} (got {k})")
        query_hidden, biased = widths[:-1], biased + b
    else:
        raise ModelFileError(path, "tensor 'query_table'", "missing (the query: query_table [C(N, q), k] or an MLP query.0, ...)")

    if "key_table" in arrays and "key.0.weight" in arrays:
        raise ModelFileError(path, "tensor 'key_table'", "and key.0.weight both present: the key is one or the other")
    if "key_table" in arrays:
        _width(path, arrays, "key_table", 1, "k", MAX_K)
        _table(path, arrays, exact, "key_table", (N, k))
        known.add("key_table")
        key_hidden = None
    elif "key.0.weight" in arrays:
        widths, b = _mlp_widths(path, arrays, exact, known, "key", N, k)
        key_hidden, biased = widths[:-1], biased + b
    else:
        raise ModelFileError(path, "tensor 'key_table'", "missing (the key: key_table [N, k] or an MLP key.0, ...)")

    for name in ("value_map.bias", "output_map.bias", "value_map.weight", "output_map.weight"):
        if name in arrays:
            raise ModelFileError(path, f"tensor '{name}'", "not allowed: value_map [d_v, d'] and output_map [d', d_v] "
                                 "are plain tensors without bias (values and psi linear)")
    d_v = _width(path, arrays, "value_map", 0, "d_v (the value width)", MAX_DV)
    _table(path, arrays, exact, "value_map", (d_v, d))
    if "output_map" not in arrays:
        raise ModelFileError(path, "tensor 'output_map'", "missing (f(X)_i = output_map · Σ_j a_ij v_j, [d', d_v])")
    _table(path, arrays, exact, "output_map", (d, d_v))
    known.update(("value_map", "output_map"))

    deep = (query_hidden is not None and len(query_hidden) > 0) or (key_hidden is not None and len(key_hidden) > 0)
    activation = meta.get("activation")
    if activation is None and deep:
        raise ModelFileError(path, "__metadata__.activation", "required (relu or gelu) when an MLP has more than one layer")
    if activation is not None and activation not in ACTIVATIONS:
        raise ModelFileError(path, "__metadata__.activation", f"must be relu or gelu (got {activation!r})")
    for name in sorted(arrays):
        if name not in known:
            raise ModelFileError(path, f"tensor '{name}'", "not part of this qsa-unit file (query_table or query.L, "
                                 "key_table or key.L, value_map, output_map, and NAME.exact)")

    unit = QsaUnit(N, q, d, k, d_v=d_v, query_hidden=query_hidden, key_hidden=key_hidden,
                   activation=activation or "relu", bias=biased, dtype=dtype, construction=meta.get("construction", ""))
    state = {n: torch.from_numpy(np.array(a, dtype=np.float64)).to(dtype) for n, a in arrays.items()}
    unit.load_state_dict(state, strict=True)
    unit.exact = {n: (vals, np.array(arrays[n], dtype=np.float64)) for n, vals in exact.items()}
    unit.metadata = meta
    return unit


def _file_shapes(module: QsaUnit) -> dict:
    """The shape of every tensor the reader will accept for this module: the ranges hold by
    construction of QsaUnit, so this catches a parameter replaced by one of another shape."""
    N, q, d, k, d_v = module.N, module.q, module.d, module.k, module.d_v
    shapes = {"value_map": (d_v, d), "output_map": (d, d_v)}
    for prefix, layers, table_shape, n_in in (("query", module.query, (comb(N, q), k), 2 * N),
                                              ("key", module.key, (N, k), N)):
        if layers is None:
            shapes[f"{prefix}_table"] = table_shape
            continue
        width = n_in
        for i, layer in enumerate(layers):
            out = k if i == len(layers) - 1 else layer.out_features
            shapes[f"{prefix}.{i}.weight"] = (out, width)
            shapes[f"{prefix}.{i}.bias"] = (out,)
            width = out
    return shapes


def write_qsa_unit(module: QsaUnit, path: str, dtype: str, construction: str = "") -> None:
    """Every tensor in `dtype`.  With dtype F64, a tensor loaded with an exact companion and not
    changed since keeps the file's exact entries (a companion stands beside a F64 tensor only, so
    any other dtype rounds, as asked)."""
    import numpy as np
    from . import FORMAT_NAME, safetensors_io
    if dtype not in SAVE_DTYPES:
        raise ValueError(f"save: dtype must be one of {', '.join(SAVE_DTYPES)} (got {dtype!r})")
    shapes = _file_shapes(module)
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "class": CLASS, "N": str(module.N),
            "q": str(module.q), "d": str(module.d), "heads": "1", "residual": "false"}
    if module.query is not None or module.key is not None:
        meta["activation"] = module.activation
    meta["construction"] = construction or module.construction or "trained"
    tensors, exact = {}, {}
    for name, t in module.named_parameters():
        now = t.detach().to(torch.float64).cpu().numpy()
        if now.shape != shapes.get(name):
            raise ValueError(f"save: {name} has shape {list(now.shape)}, class qsa-unit needs "
                             f"{list(shapes[name]) if name in shapes else 'no such tensor'}")
        kept = module.exact.get(name)
        if dtype == "F64" and kept is not None and np.array_equal(kept[1], now):
            exact[name] = kept[0]
        tensors[name] = (dtype, now)
    safetensors_io.write(path, meta, tensors, exact)
