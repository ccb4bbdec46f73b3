"""Class attention-unit of docs/model-format.md as a torch.nn.Module: the paper's general unit on
tokens x_i in [M] at positions i = 0..N-1 (0-based here and in files).

    phi_i   = MLP_phi(e(x_i))  or  MLP_phi((e(x_i), e(i)))     one-hot input, activation between layers
    q^h_i   = head.h.query(phi_i),  k^h_j = head.h.key(phi_j),  v^h_j = head.h.value(phi_j)
    a^h_i   = softmax_j <q^h_i, k^h_j>                          (over all j, no 1/sqrt(k_h))
    out_i   = residual(phi_i) + sum_h sum_j a^h_ij v^h_j        (residual optional)
    psi_i   = 1 iff MLP_psi(out_i) > 0        (psi = "mlp")
            = 1 iff ||out_i|| < tau / > tau   (psi = "norm", matched below / above)

Every map is an nn.Linear, so state_dict() keys are exactly the file's tensor names
(phi.0.weight, head.0.query.weight, residual.weight, psi.0.bias, psi_threshold, ...).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

# The ranges of docs/model-format.md (class attention-unit), for the constructor and the reader below.
N_RANGE, M_RANGE = (2, 64), (2, 4096)
MAX_LAYERS, MAX_WIDTH, MAX_HEADS, MAX_HEAD_WIDTH = 4, 256, 8, 64
MAX_PARAMETERS = 1 << 20  # each layer counts out * (in + 1), with a bias or not
ACTIVATIONS = ("relu", "gelu")
PHI_INPUTS = ("token", "token+position")


def _in_range(name: str, v: int, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError(f"AttentionUnit: {name} must be an integer in {lo}..{hi} (got {v!r})")
    return v


class AttentionUnit(nn.Module):
    """N, M: positions and token values.  phi_widths: the out width of each phi layer (1..4 layers;
    the last is m).  heads: k_h per head (1..8 heads).  d: the value width.  psi = "mlp" with
    psi_widths its hidden widths (the last layer's out is 1), or "norm" with psi_threshold and
    psi_matched ("below" | "above").  bias: True / False for every layer, or the names of the
    layers that have one ("phi.0", "head.1.key", "residual", "psi.2", ...)."""

    def __init__(self, N: int, M: int, phi_widths: Sequence[int], heads: Sequence[int], d: int, *,
                 phi_input: str = "token", activation: str = "relu", residual: bool = True, psi: str = "mlp",
                 psi_widths: Sequence[int] = (), psi_threshold: float = 0.0, psi_matched: str = "below",
                 bias: bool | Iterable[str] = True, dtype=torch.float64, construction: str = "", task: str = ""):
        super().__init__()
        self.N, self.M = _in_range("N", N, *N_RANGE), _in_range("M", M, *M_RANGE)
        if phi_input not in PHI_INPUTS:
            raise ValueError(f"AttentionUnit: phi_input must be token or token+position (got {phi_input!r})")
        if activation not in ACTIVATIONS:
            raise ValueError(f"AttentionUnit: activation must be relu or gelu (got {activation!r})")
        if psi not in ("mlp", "norm"):
            raise ValueError(f"AttentionUnit: psi must be mlp or norm (got {psi!r})")
        if psi == "norm" and psi_matched not in ("below", "above"):
            raise ValueError(f"AttentionUnit: psi_matched must be below or above (got {psi_matched!r})")
        phi_widths, heads, psi_widths = list(phi_widths), list(heads), list(psi_widths)
        _in_range("number of phi layers", len(phi_widths), 1, MAX_LAYERS)
        _in_range("number of heads", len(heads), 1, MAX_HEADS)
        for w in phi_widths:
            _in_range("a phi width", w, 1, MAX_WIDTH)
        for k in heads:
            _in_range("a head's k_h", k, 1, MAX_HEAD_WIDTH)
        self.d = _in_range("d", d, 1, MAX_HEAD_WIDTH)
        if psi == "mlp":
            _in_range("number of psi layers", len(psi_widths) + 1, 1, MAX_LAYERS)
            for w in psi_widths:
                _in_range("a psi hidden width", w, 1, MAX_WIDTH)
        elif psi_widths:
            raise ValueError("AttentionUnit: psi_widths only with psi = mlp")
        self.phi_input, self.activation, self.psi_kind = phi_input, activation, psi
        self.psi_matched = psi_matched if psi == "norm" else None
        self.construction, self.task = construction, task
        self.m = phi_widths[-1]
        self.exact = {}  # a loaded file's exact companions {name: (entries, float64 array)}, kept by save

        bias_names = set() if isinstance(bias, bool) else set(bias)

        def has_bias(name: str) -> bool:
            return bias if isinstance(bias, bool) else name in bias_names

        def linear(name: str, n_in: int, n_out: int) -> nn.Linear:
            return nn.Linear(n_in, n_out, bias=has_bias(name), dtype=dtype)

        widths_in = [M + N if phi_input == "token+position" else M] + phi_widths[:-1]
        self.phi = nn.ModuleList(linear(f"phi.{i}", a, b) for i, (a, b) in enumerate(zip(widths_in, phi_widths)))
        self.head = nn.ModuleList(
            nn.ModuleDict({"query": linear(f"head.{h}.query", self.m, k), "key": linear(f"head.{h}.key", self.m, k),
                           "value": linear(f"head.{h}.value", self.m, d)})
            for h, k in enumerate(heads))
        self.residual = linear("residual", self.m, d) if residual else None
        if psi == "mlp":
            outs = psi_widths + [1]
            self.psi = nn.ModuleList(linear(f"psi.{i}", a, b) for i, (a, b) in enumerate(zip([d] + psi_widths, outs)))
        else:
            self.psi = None
            self.register_buffer("psi_threshold", torch.tensor([float(psi_threshold)], dtype=dtype))
        counted = sum(p.shape[0] * (p.shape[1] + 1) for n, p in self.named_parameters() if n.endswith(".weight"))
        if counted > MAX_PARAMETERS:
            raise ValueError(f"AttentionUnit: {counted} parameters (each layer out * (in + 1)) exceed the class's 2^20")
        layers = {n[:-len(".weight")] for n, _ in self.named_parameters() if n.endswith(".weight")}
        if bias_names - layers:
            raise ValueError(f"AttentionUnit: bias names no layer: {sorted(bias_names - layers)}")

    def extra_repr(self) -> str:
        psi = ("psi=mlp" if self.psi_kind == "mlp"
               else f"psi=norm, matched={self.psi_matched}, threshold={float(self.psi_threshold[0])!r}")
        return (f"N={self.N}, M={self.M}, phi_input={self.phi_input}, activation={self.activation}, "
                f"m={self.m}, heads={len(self.head)}, d={self.d}, residual={self.residual is not None}, {psi}")

    def _act(self, h: torch.Tensor) -> torch.Tensor:
        return torch.relu(h) if self.activation == "relu" else F.gelu(h, approximate="none")

    def _mlp(self, layers: nn.ModuleList, h: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(layers):
            h = layer(h)
            if i + 1 < len(layers):
                h = self._act(h)
        return h

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """phi_i, [..., N, m]: the phi MLP on the one-hot token (and position) features."""
        x = x.long()
        if x.shape[-1] != self.N:
            raise ValueError(f"AttentionUnit: the last dimension of x must be N = {self.N} (got {x.shape[-1]})")
        if (x < 0).any() or (x >= self.M).any():
            raise ValueError(f"AttentionUnit: tokens must lie in 0..{self.M - 1}")
        dtype = self.phi[0].weight.dtype
        e = F.one_hot(x, self.M).to(dtype)
        if self.phi_input == "token+position":
            e = torch.cat([e, torch.eye(self.N, dtype=dtype, device=x.device).expand(*x.shape, self.N)], dim=-1)
        return self._mlp(self.phi, e)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [..., N] long in [0, M) -> out [..., N, d]."""
        phi = self.features(x)
        out = self.residual(phi) if self.residual is not None else 0
        for head in self.head:
            q, k, v = head["query"](phi), head["key"](phi), head["value"](phi)
            out = out + torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v
        return out

    def statistic(self, x: torch.Tensor) -> torch.Tensor:
        """What psi thresholds, [..., N]: MLP_psi(out_i) (compared with 0) or ||out_i|| (with tau)."""
        out = self.forward(x)
        if self.psi_kind == "mlp":
            return self._mlp(self.psi, out).squeeze(-1)
        return out.norm(dim=-1)

    def decide(self, x: torch.Tensor) -> torch.Tensor:
        """psi per token, [..., N] long, 1 = matched (strict comparisons, as the file defines)."""
        s = self.statistic(x)
        if self.psi_kind == "mlp":
            return (s > 0).long()
        tau = self.psi_threshold[0]
        return (s < tau if self.psi_matched == "below" else s > tau).long()


# ---------------------------------------------------------------------------------------------
# Reading and writing files of class attention-unit (called by attnbounds.load / attnbounds.save).

FORMAT_VERSION = "2"
SAVE_DTYPES = ("F64", "F32", "F16", "BF16")


def _layer_count(path, arrays, prefix: str) -> int:
    """L for the MLP PREFIX.0 .. PREFIX.{L-1}: one past the highest index named, each layer's weight present."""
    import re
    from .safetensors_io import ModelFileError
    pattern = re.compile(rf"^{re.escape(prefix)}\.(0|[1-9][0-9]*)\.(weight|bias)$")
    indices = [int(m.group(1)) for m in map(pattern.match, arrays) if m]
    if not indices:
        raise ModelFileError(path, f"tensor '{prefix}.0.weight'", "missing")
    L = max(indices) + 1
    if L > MAX_LAYERS:
        raise ModelFileError(path, f"tensor '{prefix}.{L - 1}.weight'",
                             f"{prefix} has at most {MAX_LAYERS} layers ({prefix}.0 .. {prefix}.{MAX_LAYERS - 1})")
    for i in range(L):
        if f"{prefix}.{i}.weight" not in arrays:
            raise ModelFileError(path, f"tensor '{prefix}.{i}.weight'", f"missing (layers {prefix}.0 .. {prefix}.{L - 1} are named)")
    return L


def _linear_shape(path, arrays, name: str, n_in, out_range=None, n_out=None) -> int:
    """Checks NAME.weight [out, n_in] (out in out_range, or = n_out) and NAME.bias [out]; returns out."""
    from .safetensors_io import ModelFileError
    w = arrays.get(f"{name}.weight")
    if w is None:
        raise ModelFileError(path, f"tensor '{name}.weight'", "missing")
    field = f"tensor '{name}.weight'.shape"
    if w.ndim != 2:
        raise ModelFileError(path, field, f"must be [out, in] (got {list(w.shape)})")
    out, got_in = w.shape
    if n_out is not None and out != n_out:
        raise ModelFileError(path, field, f"must be [{n_out}, {n_in}] (got {list(w.shape)})")
    if out_range is not None and not out_range[0] <= out <= out_range[1]:
        raise ModelFileError(path, field, f"out must be in {out_range[0]}..{out_range[1]} (got {list(w.shape)})")
    if got_in != n_in:
        raise ModelFileError(path, field, f"in must be {n_in}, the width before it (got {list(w.shape)})")
    b = arrays.get(f"{name}.bias")
    if b is not None and tuple(b.shape) != (out,):
        raise ModelFileError(path, f"tensor '{name}.bias'.shape", f"must be [{out}] (got {list(b.shape)})")
    return out


def read_attention_unit(path, meta, arrays, exact, dtype):
    """The unit of a parsed file (safetensors_io.read), with the checks of docs/model-format.md."""
    import numpy as np
    from . import FORMAT_NAME, _meta_int
    from .safetensors_io import ModelFileError
    if meta.get("format") != FORMAT_NAME:
        raise ModelFileError(path, "__metadata__.format", f"must be '{FORMAT_NAME}'")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(path, "__metadata__.format_version", f"must be {FORMAT_VERSION} for class attention-unit")
    N, M = _meta_int(path, meta, "N", *N_RANGE), _meta_int(path, meta, "M", *M_RANGE)
    phi_input = meta.get("phi_input")
    if phi_input not in PHI_INPUTS:
        raise ModelFileError(path, "__metadata__.phi_input", "must be token or token+position")
    H = _meta_int(path, meta, "heads", 1, MAX_HEADS)
    if meta.get("residual") not in ("true", "false"):
        raise ModelFileError(path, "__metadata__.residual", "must be true or false")
    residual = meta["residual"] == "true"
    psi = meta.get("psi")
    if psi not in ("mlp", "norm"):
        raise ModelFileError(path, "__metadata__.psi", "must be mlp or norm")
    if psi == "norm" and meta.get("psi_matched") not in ("below", "above"):
        raise ModelFileError(path, "__metadata__.psi_matched", "must be below or above with psi = norm")
    if psi == "mlp" and "psi_matched" in meta:
        raise ModelFileError(path, "__metadata__.psi_matched", "only with psi = norm (psi = mlp is matched iff MLP(out) > 0)")

    L_phi = _layer_count(path, arrays, "phi")
    L_psi = _layer_count(path, arrays, "psi") if psi == "mlp" else 0
    activation = meta.get("activation")
    if activation is None and max(L_phi, L_psi) > 1:
        raise ModelFileError(path, "__metadata__.activation", "required (relu or gelu) when an MLP has more than one layer")
    if activation is not None and activation not in ACTIVATIONS:
        raise ModelFileError(path, "__metadata__.activation", "must be relu or gelu")

    allowed = set()
    parameters = 0

    def linear(name, n_in, out_range=None, n_out=None):
        nonlocal parameters
        allowed.update((f"{name}.weight", f"{name}.bias"))
        out = _linear_shape(path, arrays, name, n_in, out_range, n_out)
        parameters += out * (n_in + 1)
        if parameters > MAX_PARAMETERS:
            raise ModelFileError(path, f"tensor '{name}.weight'", "the model has more than 2^20 parameters (the class's limit)")
        return out

    width = M + N if phi_input == "token+position" else M
    phi_widths = []
    for i in range(L_phi):
        width = linear(f"phi.{i}", width, (1, MAX_WIDTH))
        phi_widths.append(width)
    m = width
    head_widths, d = [], None
    for h in range(H):
        k = linear(f"head.{h}.query", m, (1, MAX_HEAD_WIDTH))
        linear(f"head.{h}.key", m, n_out=k)
        if d is None:
            d = linear(f"head.{h}.value", m, (1, MAX_HEAD_WIDTH))
        else:
            linear(f"head.{h}.value", m, n_out=d)
        head_widths.append(k)
    if residual:
        linear("residual", m, n_out=d)
    elif "residual.weight" in arrays or "residual.bias" in arrays:
        name = min(n for n in ("residual.bias", "residual.weight") if n in arrays)  # the toolkit's order
        raise ModelFileError(path, f"tensor '{name}'", "only with residual = true")
    psi_widths = []
    if psi == "mlp":
        width = d
        for i in range(L_psi):
            last = i == L_psi - 1
            width = linear(f"psi.{i}", width, None if last else (1, MAX_WIDTH), 1 if last else None)
            if not last:
                psi_widths.append(width)
    else:
        allowed.add("psi_threshold")
        t = arrays.get("psi_threshold")
        if t is None:
            raise ModelFileError(path, "tensor 'psi_threshold'", "missing (psi = norm)")
        if tuple(t.shape) != (1,):
            raise ModelFileError(path, "tensor 'psi_threshold'.shape", f"must be [1] (got {list(t.shape)})")
    for name in sorted(arrays):
        if name not in allowed:
            raise ModelFileError(path, f"tensor '{name}'", "unknown in class attention-unit")

    unit = AttentionUnit(N, M, phi_widths, head_widths, d, phi_input=phi_input, activation=activation or "relu",
                         residual=residual, psi=psi, psi_widths=psi_widths,
                         psi_threshold=float(arrays["psi_threshold"][0]) if psi == "norm" else 0.0,
                         psi_matched=meta.get("psi_matched", "below"),
                         bias=[n[:-len(".bias")] for n in arrays if n.endswith(".bias")], dtype=dtype,
                         construction=meta.get("construction", ""), task=meta.get("task", ""))
    state = {n: torch.from_numpy(np.array(a, dtype=np.float64)).to(dtype) for n, a in arrays.items()}
    unit.load_state_dict(state, strict=True)
    unit.exact = {n: (vals, np.array(arrays[n], dtype=np.float64)) for n, vals in exact.items()}
    unit.metadata = meta
    return unit


def write_attention_unit(module: AttentionUnit, path: str, dtype: str, construction: str = "") -> None:
    """phi, the heads and the residual in `dtype`; psi (its MLP layers or psi_threshold) always F64
    with an exact companion, as the toolkit writes it (psi is exact in every semantics).  A tensor
    whose loaded values are unchanged keeps the file's exact companion when it is written as F64
    (psi always), so a loaded exact file saved as F64 loses nothing; a changed one gets the exact
    values of its doubles."""
    import numpy as np
    from fractions import Fraction
    from . import FORMAT_NAME, safetensors_io
    if dtype not in SAVE_DTYPES:
        raise ValueError(f"save: dtype must be one of {', '.join(SAVE_DTYPES)} (got {dtype!r})")
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "class": "attention-unit",
            "N": str(module.N), "M": str(module.M), "phi_input": module.phi_input, "activation": module.activation,
            "heads": str(len(module.head)), "residual": "true" if module.residual is not None else "false",
            "psi": module.psi_kind, "construction": construction or module.construction or "trained"}
    if module.psi_kind == "norm":
        meta["psi_matched"] = module.psi_matched
    if module.task:
        meta["task"] = module.task
    tensors, exact = {}, {}
    for name, t in module.state_dict().items():
        now = t.detach().to(torch.float64).cpu().numpy()
        kept = module.exact.get(name)
        unchanged = kept is not None and np.array_equal(kept[1], now)
        if name == "psi_threshold" or name.startswith("psi."):
            exact[name] = kept[0] if unchanged else [Fraction(float(v)) for v in now.reshape(-1)]
            tensors[name] = ("F64", now)
        elif dtype == "F64" and unchanged:
            exact[name] = kept[0]
            tensors[name] = ("F64", now)
        else:
            tensors[name] = (dtype, now)
    safetensors_io.write(path, meta, tensors, exact)
