"""The toolkit's verbs as Python functions: check, eval, lower, min_p, min_m, export, cc, run.

Each call runs the command line in-process (the compiled module attnbounds_core links the same
command layer as the executable: the same registry, parameter checks, checkers and JSON writer),
adds --json, and converts that JSON to Python objects, so a result holds the same data as
`attnbounds ... --json`.  The conversion rule (docs/python.md):

* a JSON string that is a number in the toolkit's exact-number syntax (decimal, exponent, p/q;
  docs/schemas/common.schema.json) becomes the fractions.Fraction it denotes, exactly;
  "inf" / "-inf" become float infinities; the text fields listed in TEXT_FIELDS stay strings;
* JSON numbers stay int / float (a float is the double the toolkit printed, exactly);
* a non-empty rectangular list of numbers (or of booleans) becomes a NumPy array (int64, float64
  or bool; ints beyond int64 give an object array); a rectangular list of exact numbers an
  object array of Fraction; any other list stays a list of converted items.

Exit status 0 (holds / ok), 1 (fails, with its witness) and 3 (undecided) return the result;
bad input (exit 2) raises ValueError with the command line's one-line message; an internal error
(exit 4) raises RuntimeError.
"""
from __future__ import annotations

import json as _json
import math
import os
import re
import sys
import tempfile
import warnings
from fractions import Fraction

import numpy as np

try:  # the compiled module (CMake target attnbounds_core)
    import attnbounds_core as _core
except ImportError:
    _core = None

__all__ = ["check", "eval", "lower", "min_p", "min_m", "export", "cc", "run", "usage", "round", "format_name",
           "to_python", "TEXT_FIELDS", "AttnboundsWarning"]

# The exact-number syntax of the result schema (common.schema.json#/$defs/exact_number).
_EXACT = re.compile(r"[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?(/[0-9]+)?)")
_INF = re.compile(r"[-+]?inf")

# Fields whose strings are names, text or file names, never numbers (a file called "12" stays "12").
TEXT_FIELDS = frozenset({
    "tool", "version", "command", "claim", "theorem", "provenance", "semantics", "params_semantics", "reduction",
    "strategy", "c_source", "file", "model", "out", "class", "dtype", "dtypes", "construction", "encoding",
    "certificate", "journal", "lrs_file", "library", "note", "output_note", "missing", "reason", "message",
    "status", "verdict", "kind", "name", "description", "format", "mode", "family", "function", "input",
    "commit", "skipped", "structure", "path",
})


class AttnboundsWarning(UserWarning):
    """A warning the command line printed (for example a deprecated option spelling)."""


def _require_core():
    if _core is None or not hasattr(_core, "run_command_line"):
        raise ImportError("attnbounds_core is not built or not on sys.path: configure with pybind11-dev installed "
                          "(CMake builds it into <build>/python) and put that directory on PYTHONPATH")
    return _core


def _exact(text: str):
    if _EXACT.fullmatch(text):
        if "/" in text:
            head, den = text.split("/", 1)
            return Fraction(head) / int(den)
        return Fraction(text)
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    return None


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _rectangular(items):
    """The shape of a nested list whose leaves are not lists, or None when it is ragged or empty."""
    if not isinstance(items, list):
        return ()
    if not items:
        return None
    inner = [_rectangular(x) for x in items]
    if any(s is None for s in inner) or any(s != inner[0] for s in inner):
        return None
    return (len(items),) + inner[0]


def _leaves(items):
    if isinstance(items, list):
        for x in items:
            yield from _leaves(x)
    else:
        yield items


def _leaf(value, key):
    if isinstance(value, str) and key not in TEXT_FIELDS:
        exact = _exact(value)
        if exact is not None:
            return exact
    return value


def _array(raw, key):
    """A NumPy array of a rectangular nested list of numbers, booleans or exact numbers; else None."""
    shape = _rectangular(raw)
    if shape is None:
        return None
    leaves = [_leaf(v, key) for v in _leaves(raw)]
    if all(isinstance(v, bool) for v in leaves):
        return np.array(leaves, dtype=bool).reshape(shape)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in leaves):
        if all(-(1 << 63) <= v < (1 << 63) for v in leaves):
            return np.array(leaves, dtype=np.int64).reshape(shape)
        return _object_array(leaves, shape)
    if all(_is_number(v) for v in leaves):
        return np.array(leaves, dtype=np.float64).reshape(shape)
    if all(isinstance(v, Fraction) for v in leaves):
        return _object_array(leaves, shape)
    return None


def _object_array(leaves, shape):
    out = np.empty(len(leaves), dtype=object)
    for i, v in enumerate(leaves):
        out[i] = v
    return out.reshape(shape)


def to_python(value, key: str | None = None):
    """Converts a parsed --json result by the rule of this module's docstring."""
    if isinstance(value, dict):
        return {k: to_python(v, k) for k, v in value.items()}
    if isinstance(value, list):
        array = _array(value, key)
        return array if array is not None else [to_python(v, key) for v in value]
    return _leaf(value, key)


def _argument(name: str, value) -> str:
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}" if value.denominator != 1 else str(value.numerator)
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: a flag is given as True or left out")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise ValueError(f"--{name}: must be finite (got {value})")
        return repr(float(value))  # the shortest decimal of the double: eps=0.1 means 1/10
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = list(value)
    if isinstance(value, (list, tuple)):
        return ",".join(_argument(name, v) for v in value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"{name}: cannot pass a {type(value).__name__} on the command line")


def _json_default(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, Fraction):
        return _argument("input", v)
    raise TypeError(f"cannot write a {type(v).__name__} to an input file")


def _flag(name: str) -> str:
    return "--" + name.rstrip("_").replace("_", "-")


def command_line(verb: str, name: str | None, params: dict, temporary: list) -> list[str]:
    """The argument list of a call (without the program name and --json).  A dict (the input of
    eval qsa-cyclic, say) is written to a temporary JSON file whose name is passed; a list, tuple
    or 1-D array is passed comma-separated (input=[3, 5, 1] for eval match2)."""
    args = [verb] + ([name] if name else [])
    for key, value in params.items():
        if key == "json":
            raise TypeError("json: results are always read as --json")
        if value is None or value is False or (isinstance(value, np.bool_) and not value):
            continue
        if value is True or isinstance(value, np.bool_):
            args.append(_flag(key))
            continue
        if isinstance(value, dict):
            handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
            with handle:
                _json.dump(value, handle, default=_json_default)
            temporary.append(handle.name)
            value = handle.name
        args += [_flag(key), _argument(key, value)]
    return args


def _message(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("attnbounds: ") and " warning: " not in line]
    line = lines[-1] if lines else (err.strip().splitlines() or ["no message"])[-1]
    for prefix in ("attnbounds: error: ", "attnbounds: internal error: "):
        if line.startswith(prefix):
            return line[len(prefix):]
    return line


def _run_raw(args: list[str]):
    status, out, err = _require_core().run_command_line(args)
    out = out.decode("utf-8", errors="replace")
    err = err.decode("utf-8", errors="replace")
    for line in err.splitlines():
        if line.startswith("attnbounds: warning: "):
            warnings.warn(line[len("attnbounds: warning: "):], AttnboundsWarning, stacklevel=4)
        elif status in (0, 1, 3) and line.strip():
            print(line, file=sys.stderr)  # progress summaries some commands print
    if status == 2:
        raise ValueError(_message(err))
    if status not in (0, 1, 3):
        raise RuntimeError(_message(err))
    return status, out


def run(verb: str, name: str | None = None, **params):
    """Runs `attnbounds VERB [NAME] --flag value ... --json` in-process and returns the result
    as Python objects.  Keyword arguments are flags: N=8 is --N 8, p_min=4 is --p-min 4,
    force=True is --force; a Fraction is passed as p/q, a float as its shortest decimal."""
    temporary: list[str] = []
    try:
        args = command_line(verb, name, params, temporary) + ["--json"]
        _, out = _run_raw(args)
    finally:
        for path in temporary:
            os.unlink(path)
    try:
        result = _json.loads(out)
    except ValueError as e:
        raise RuntimeError(f"{verb} {name or ''}: the command printed no JSON result ({e})") from None
    return to_python(result)


def check(claim: str, **params):
    """attnbounds check CLAIM ... --json: verdict, cases, worst case, witness, ..."""
    return run("check", claim, **params)


def eval(construction: str, **params):  # noqa: A001 - the toolkit's verb
    """attnbounds eval CONSTRUCTION ... --json (input= a file name, or a dict written to one)."""
    return run("eval", construction, **params)


def lower(reduction: str, **params):
    """attnbounds lower REDUCTION ... --json"""
    return run("lower", reduction, **params)


def min_p(claim: str, **params):
    """attnbounds min-p CLAIM ... --json: p* and the table of precisions."""
    return run("min-p", claim, **params)


def min_m(claim: str, **params):
    """attnbounds min-m CLAIM ... --json"""
    return run("min-m", claim, **params)


def export(construction: str, out, **params):
    """attnbounds export CONSTRUCTION --out FILE ... --json; returns the export summary."""
    return run("export", construction, out=out, **params)


def cc(function: str, **params):
    """attnbounds cc FUNCTION ... --json"""
    return run("cc", function, **params)


def usage(verb: str, name: str | None = None) -> str:
    """The command line's --help text of a verb or of one of its claims."""
    args = [verb] + ([name] if name else []) + ["--help"]
    _, out = _run_raw(args)
    return out


def _exact_argument(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        raise TypeError("x: expected a number, got a bool")
    if isinstance(x, str):
        return x
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(x):
            raise ValueError(f"x: must be finite (got {x})")
        x = Fraction(float(x))  # the double's exact value
    if isinstance(x, Fraction):
        return f"{x.numerator}/{x.denominator}"
    raise TypeError(f"x: expected an int, float, Fraction or decimal string, got {type(x).__name__}")


def round(x, format: str) -> Fraction:  # noqa: A001 - the toolkit's rounding, by name
    """The value of x rounded to `format` (any format string the toolkit accepts: fp16, bf16, fp32,
    fp64, fp8e4m3, fp8e5m2, float:P, fixed:I.F), to nearest with ties to even, exactly as the
    checkers round.  x is an int, a float (its exact double value), a Fraction or a decimal / p/q
    string (exact).  The result is always an exact Fraction; float(result) is exact whenever the
    result is a double (every fp16 / bf16 / fp32 / fp64 / fp8 value, and float:P for P <= 53 within
    the double range).  A value the format cannot hold (fixed-point range, or beyond a hardware
    format's largest finite value) raises OverflowError; a bad format string raises ValueError."""
    return _require_core().round_to_format(_exact_argument(x), format)


def format_name(format: str) -> str:
    """The canonical name of a format string ("float:11" stays "float:11", "fp16" is "fp16")."""
    return _require_core().format_name(format)
