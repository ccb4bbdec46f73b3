"""safetensors files in pure Python (json + struct + numpy), with the toolkit's strict checks.

A file is an 8-byte little-endian header length, a JSON header, then raw little-endian arrays.
Exact arrays: a F64 tensor NAME may have a U8 companion "NAME.exact" of ASCII exact reals separated
by single spaces; NAME then holds the nearest double of each entry (docs/model-format.md).  An exact
real is a canonical rational ("-3/4") or, in format version 2, a trigonometric entry
"B*cos(2pi*r/M)" / "A+B*sin(2pi*r/M)" (ExactTrig below).
"""
from __future__ import annotations

import json
import os
import stat
import struct
from fractions import Fraction

import numpy as np

MAX_FILE_BYTES = 1 << 30
MAX_HEADER_BYTES = 16 << 20
MAX_ELEMENTS = 1 << 27
MAX_RANK = 8

_DTYPES = {"F64": (np.dtype("<f8"), 8), "F32": (np.dtype("<f4"), 4), "F16": (np.dtype("<f2"), 2),
           "BF16": (np.dtype("<u2"), 2), "U8": (np.dtype("u1"), 1)}


class ModelFileError(ValueError):
    """A malformed model file; str() is one line "FILE: FIELD: message"."""

    def __init__(self, file: str, field: str, message: str):
        super().__init__(f"{file}: {field}: {message}")
        self.file, self.field = file, field


def _decode(dtype: str, raw: bytes, shape) -> np.ndarray:
    np_dtype, _ = _DTYPES[dtype]
    a = np.frombuffer(raw, dtype=np_dtype)
    if dtype == "BF16":  # the upper half of a float32
        a = (a.astype(np.uint32) << 16).view(np.float32)
    return a.reshape(shape) if shape else a.reshape(())


def _parse_fraction(tok: str):
    if not tok or any(c not in "0123456789-/" for c in tok):
        return None
    try:
        f = Fraction(tok)
    except (ValueError, ZeroDivisionError):
        return None
    canon = str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
    return f if canon == tok else None


def _canonical(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def _turn_is_rational(fn: str, r: int, M: int) -> bool:
    """Niven: cos of a rational number of turns t is rational iff t's reduced denominator is 1, 2, 3, 4 or 6."""
    t = Fraction(r, M) if fn == "cos" else Fraction(4 * r - M, 4 * M)  # sin(2πt) = cos(2π(t − 1/4))
    return (t % 1).denominator in (1, 2, 3, 4, 6)


def _cos_turn(t: Fraction) -> float:
    """cos(2πt) in float64, the angle first reduced exactly to [0, π/4] (a few ulps at most)."""
    import math
    t %= 1
    if t > Fraction(1, 2):
        t = 1 - t
    sign = 1.0
    if t > Fraction(1, 4):
        t, sign = Fraction(1, 2) - t, -1.0
    if t > Fraction(1, 8):
        return sign * math.sin(2.0 * math.pi * float(Fraction(1, 4) - t))
    return sign * math.cos(2.0 * math.pi * float(t))


class ExactTrig:
    """The exact real constant + coefficient·fn(2π·r/M), fn = cos or sin, irrational."""

    __slots__ = ("constant", "coefficient", "fn", "r", "M")

    def __init__(self, constant: Fraction, coefficient: Fraction, fn: str, r: int, M: int):
        self.constant, self.coefficient, self.fn, self.r, self.M = constant, coefficient, fn, r, M

    def __float__(self) -> float:
        return float(self.constant) + float(self.coefficient) * _cos_turn(
            Fraction(self.r, self.M) if self.fn == "cos" else Fraction(4 * self.r - self.M, 4 * self.M))

    def __eq__(self, other) -> bool:
        return isinstance(other, ExactTrig) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        f = f"{self.fn}(2pi*{self.r}/{self.M})"
        if self.constant == 0:
            return f"{_canonical(self.coefficient)}*{f}"
        op = "-" if self.coefficient < 0 else "+"
        return f"{_canonical(self.constant)}{op}{_canonical(abs(self.coefficient))}*{f}"

    __repr__ = __str__


def _small_natural(s: str):
    if not s or len(s) > 7 or not (s.isascii() and s.isdigit()) or (len(s) > 1 and s[0] == "0"):
        return None
    return int(s)


def parse_exact_entry(tok: str):
    """A Fraction or an ExactTrig for one canonical spelling, else None (the toolkit's rules)."""
    star = tok.find("*")
    if star < 0:
        return _parse_fraction(tok)
    prefix, fn = tok[:star], tok[star + 1:]
    if not (fn.startswith("cos(2pi*") or fn.startswith("sin(2pi*")) or not fn.endswith(")"):
        return None
    num, _, den = fn[8:-1].partition("/")
    r, M = _small_natural(num), _small_natural(den)
    if r is None or M is None or not (2 <= M <= 1 << 20 and 1 <= r < M) or _turn_is_rational(fn[:3], r, M):
        return None
    op = next((i for i in range(1, len(prefix)) if prefix[i] in "+-"), None)
    if op is None:
        b = _parse_fraction(prefix)
        if b is None or b == 0:
            return None
        return ExactTrig(Fraction(0), b, fn[:3], r, M)
    a, b_text = _parse_fraction(prefix[:op]), prefix[op + 1:]
    if not b_text or b_text[0] == "-":
        return None
    b = _parse_fraction(b_text)
    if a is None or a == 0 or b is None or b == 0:
        return None
    return ExactTrig(a, b if prefix[op] == "+" else -b, fn[:3], r, M)


def exact_text(v) -> str:
    return str(v) if isinstance(v, ExactTrig) else _canonical(Fraction(v))


def parse(data: bytes, file: str = "(bytes)"):
    """Returns (metadata dict, {name: numpy array}, {name: list of Fraction} for exact tensors)."""
    if len(data) < 8:
        raise ModelFileError(file, "header length", f"file has {len(data)} bytes, fewer than 8")
    (hlen,) = struct.unpack("<Q", data[:8])
    if hlen > MAX_HEADER_BYTES:
        raise ModelFileError(file, "header length", f"{hlen} bytes exceeds the limit of {MAX_HEADER_BYTES}")
    if hlen > len(data) - 8:
        raise ModelFileError(file, "header length", f"{hlen} bytes but only {len(data) - 8} follow (truncated file)")

    def no_duplicates(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                raise ModelFileError(file, "header", f"duplicate key '{k}'")
            d[k] = v
        return d

    try:
        header = json.loads(data[8:8 + hlen].decode("utf-8"), object_pairs_hook=no_duplicates)
    except ModelFileError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ModelFileError(file, "header", f"not valid JSON: {e}".replace("\n", " "))
    if not isinstance(header, dict):
        raise ModelFileError(file, "header", "must be a JSON object")
    body = data[8 + hlen:]
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or any(not isinstance(v, str) for v in meta.values()):
        raise ModelFileError(file, "__metadata__", "must be an object of strings")
    arrays, spans = {}, []
    for name, e in header.items():
        field = f"tensor '{name}'"
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            raise ModelFileError(file, field, "must be an object with exactly dtype, shape, data_offsets")
        if e["dtype"] not in _DTYPES:
            raise ModelFileError(file, field + ".dtype", f"unknown dtype '{e['dtype']}' (allowed: F64, F32, BF16, F16, U8)")
        shape = e["shape"]
        if (not isinstance(shape, list) or len(shape) > MAX_RANK
                or any(not isinstance(s, int) or isinstance(s, bool) or s < 0 or s > MAX_ELEMENTS for s in shape)):
            raise ModelFileError(file, field + ".shape", f"must be at most {MAX_RANK} non-negative integers")
        n = 1
        for s in shape:
            n *= s
        if n > MAX_ELEMENTS:
            raise ModelFileError(file, field + ".shape", f"more than {MAX_ELEMENTS} entries")
        off = e["data_offsets"]
        if (not isinstance(off, list) or len(off) != 2 or any(not isinstance(o, int) or isinstance(o, bool) for o in off)
                or not 0 <= off[0] <= off[1] <= len(body)):
            raise ModelFileError(file, field + ".data_offsets", f"must be [begin, end] inside the {len(body)}-byte data region")
        need = n * _DTYPES[e["dtype"]][1]
        if off[1] - off[0] != need:
            raise ModelFileError(file, field + ".data_offsets", f"span of {off[1] - off[0]} bytes, shape and dtype need {need}")
        a = _decode(e["dtype"], body[off[0]:off[1]], shape)
        if e["dtype"] != "U8" and not np.all(np.isfinite(a)):
            raise ModelFileError(file, field, "has a NaN or infinite entry")
        arrays[name] = (e["dtype"], a)
        spans.append((off[0], off[1], name))
    at = 0
    for b, end, name in sorted(spans):
        if b != at:
            raise ModelFileError(file, f"tensor '{name}'.data_offsets", "overlaps another tensor or leaves a hole")
        at = end
    if at != len(body):
        raise ModelFileError(file, "data", f"{len(body) - at} trailing bytes belong to no tensor")
    exact = {}
    for name, (dt, a) in arrays.items():
        if not name.endswith(".exact"):
            continue
        base = name[:-len(".exact")]
        if dt != "U8" or a.ndim != 1 or base not in arrays or arrays[base][0] != "F64":
            raise ModelFileError(file, f"tensor '{name}'", "an exact companion is rank-1 U8 beside a F64 tensor")
        toks = a.tobytes().decode("ascii", errors="replace").split(" ") if a.size else []
        vals = [parse_exact_entry(t) for t in toks]
        base_a = arrays[base][1].reshape(-1)
        if any(v is None for v in vals) or len(vals) != base_a.size:
            raise ModelFileError(file, f"tensor '{name}'", "must hold one canonical exact real per entry, single spaces between")
        # Rationals exactly; a trigonometric entry within 4 ulps (math.cos is not correctly
        # rounded; the toolkit checks the nearest double exactly).
        if any(float(v) != float(x) if not isinstance(v, ExactTrig) else abs(float(v) - float(x)) > 4 * np.spacing(abs(float(x)) + 1e-300)
               for v, x in zip(vals, base_a)):
            raise ModelFileError(file, f"tensor '{base}'", "an entry is not the nearest double of its exact value")
        exact[base] = vals
    plain = {k: v for k, (dt, v) in arrays.items() if not k.endswith(".exact")}
    return meta, plain, exact


def read(path: str):
    """Reads a regular file (a FIFO is refused without blocking); see parse()."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ModelFileError(path, "file", "not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise ModelFileError(path, "file", f"{st.st_size} bytes exceeds the limit of {MAX_FILE_BYTES}")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read()
    finally:
        os.close(fd)
    return parse(data, path)


def _encode(dtype: str, a: np.ndarray) -> bytes:
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("cannot store NaN or infinity")
    if dtype == "F64":
        return a.astype("<f8").tobytes()
    if dtype == "F32":
        out = a.astype("<f4")
    elif dtype == "F16":
        out = a.astype("<f2")
    elif dtype == "BF16":
        # The nearest bfloat16 of each double, ties to even, in one rounding (as the toolkit's
        # writer; rounding to float32 first could round twice).  bfloat16 keeps 8 significant
        # bits and float32's exponent range: x = m 2^e with 1/2 <= |m| < 1 has the quantum
        # 2^(e-8), and no quantum is below 2^-133 (the smallest subnormal).  Scaling by a power
        # of two is exact, so rint (ties to even) rounds once.
        _, e = np.frexp(a)
        quantum = np.ldexp(1.0, np.maximum(e - 8, -133))
        r = np.rint(a / quantum) * quantum
        if np.any(np.abs(r) > 3.3895313892515355e38):  # (2 - 2^-7) 2^127, the largest bfloat16
            raise ValueError("a value overflows BF16")
        out = (r.astype(np.float32).view(np.uint32) >> 16).astype("<u2")  # r is exact in float32
        return out.tobytes()
    else:
        raise ValueError(f"unknown dtype {dtype}")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"a value overflows {dtype}")
    return out.tobytes()


def serialize(metadata: dict, tensors: dict, exact: dict | None = None) -> bytes:
    """tensors: {name: (dtype, array)}; exact: {name: list of Fraction or ExactTrig} (stored as F64 +
    NAME.exact).  For an exact tensor that is also in `tensors` (F64), its array gives the nearest
    doubles (needed for trigonometric entries: pass the doubles the toolkit wrote)."""
    items = {}
    for name, (dt, a) in tensors.items():
        items[name] = (dt, list(np.shape(a)), _encode(dt, a))
    for name, vals in (exact or {}).items():
        shape = list(np.shape(tensors[name][1])) if name in tensors else [len(vals)]
        if name in tensors:
            doubles = np.asarray(tensors[name][1], dtype=np.float64).reshape(-1)
        elif any(isinstance(v, ExactTrig) for v in vals):
            raise ValueError(f"{name}: trigonometric exact entries need their nearest doubles")
        else:
            doubles = np.array([float(v) for v in vals], dtype=np.float64)
        items[name] = ("F64", shape, doubles.astype("<f8").tobytes())
        text = " ".join(exact_text(v) for v in vals)
        items[name + ".exact"] = ("U8", [len(text)], text.encode("ascii"))
    header, at, blobs = {"__metadata__": dict(metadata)}, 0, []
    for name in sorted(items):
        dt, shape, raw = items[name]
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [at, at + len(raw)]}
        at += len(raw)
        blobs.append(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def write(path: str, metadata: dict, tensors: dict, exact: dict | None = None) -> None:
    with open(path, "wb") as f:
        f.write(serialize(metadata, tensors, exact))
