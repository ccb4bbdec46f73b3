"""The Python module's verbs (attnbounds.check, eval, lower, min_p, export, cc) return the same data
as the command line's --json, converted by attnbounds.to_python; failing checks return their
verified witness; bad input raises ValueError with the command line's message; attnbounds.round
agrees with independent roundings (NumPy's float16 / float32, integer rounding for fixed point)."""
import json
import os
import subprocess
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch

import attnbounds

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ATTNBOUNDS_BIN", os.path.join(ROOT, "build", "attnbounds"))

if attnbounds.core is None or not hasattr(attnbounds.core, "run_command_line"):
    if os.environ.get("ATTNBOUNDS_REQUIRE_CORE") == "ON":
        raise ImportError("attnbounds_core was built but cannot be imported")
    pytest.skip("attnbounds_core not built (pybind11 not found)", allow_module_level=True)


def cli_json(args):
    r = subprocess.run([BIN, *args, "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode in (0, 1, 3), r.stderr
    return r.returncode, json.loads(r.stdout)


def without_timing(v):
    if isinstance(v, dict):
        return {k: without_timing(x) for k, x in v.items() if k != "seconds"}
    if isinstance(v, list):
        return [without_timing(x) for x in v]
    return v


def assert_same(a, b, where="result"):
    """Equal values of equal types; arrays equal in dtype, shape and every entry."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} vs {list(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert all(x == y and type(x) is type(y) for x, y in zip(a.reshape(-1).tolist(), b.reshape(-1).tolist())), where
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def test_conversion_rule():
    r = attnbounds.to_python({"version": "1", "bound": "1/10", "x": "-2.5e-3", "w": "inf", "S": [1, 3],
                              "z": [["-1", "0"], ["1", "0"]], "n": 3, "f": 0.25, "ok": [True, False], "text": "ab 1",
                              "mixed": [1, "a"], "rows": [{"p": "0.5"}], "empty": [], "big": [1 << 70]})
    assert r["version"] == "1" and r["text"] == "ab 1"
    assert r["bound"] == Fraction(1, 10) and type(r["bound"]) is Fraction
    assert r["x"] == Fraction(-1, 400)
    assert r["w"] == float("inf")
    assert r["S"].dtype == np.int64 and r["S"].tolist() == [1, 3]
    assert r["z"].dtype == object and r["z"].shape == (2, 2) and r["z"][0, 0] == Fraction(-1)
    assert r["n"] == 3 and r["f"] == 0.25
    assert r["ok"].dtype == bool
    assert r["mixed"] == [1, "a"]
    assert r["rows"][0]["p"] == Fraction(1, 2)
    assert r["empty"] == []
    assert r["big"].dtype == object and r["big"][0] == 1 << 70


def qsa_input(N, q):
    rng = np.random.default_rng(5)
    z = [[str(Fraction(int(v), 8))] for v in rng.integers(-8, 9, size=N)]
    y = [sorted(int(t) + 1 for t in rng.choice(N, size=q, replace=False)) for _ in range(N)]
    return {"z": z, "y": y}


# (verb, name, CLI arguments, keyword arguments) for each verb; export is tested below.
CASES = [
    ("check", "qsa-cyclic", ["--N", "8", "--q", "2"], dict(N=8, q=2)),
    ("check", "qsa-cyclic", ["--N", "9", "--q", "2", "--c", "1/2"], dict(N=9, q=2, c=Fraction(1, 2))),
    ("check", "qsa-rip", ["--N", "8", "--q", "2", "--semantics", "embed:bf16"], dict(N=8, q=2, semantics="embed:bf16")),
    ("check", "match2", ["--N", "5", "--M", "8"], dict(N=5, M=8)),
    ("check", "match2", ["--N", "4", "--M", "8", "--no-residual"], dict(N=4, M=8, no_residual=True)),
    ("check", "match3-window", ["--N", "5", "--M", "4", "--w", "2"], dict(N=5, M=4, w=2)),
    ("eval", "match2", ["--M", "8", "--input", "1,7,2,3"], dict(M=8, input=[1, 7, 2, 3])),
    ("eval", "match3-third-order", ["--M", "6", "--input", "1,2,3,0"], dict(M=6, input=np.array([1, 2, 3, 0]))),
    ("lower", "qsa-disj", ["--q", "2"], dict(q=2)),
    ("lower", "qsa-disj", ["--q", "2", "--grid", "--m-values", "1,2", "--p-values", "2,3"],
     dict(q=2, grid=True, m_values=[1, 2], p_values=(2, 3))),
    ("lower", "match3-disj", ["--n", "2"], dict(n=2)),
    ("lower", "fc-rank", ["--N", "5", "--q", "2"], dict(N=5, q=2)),
    ("lower", "rnn-index", ["--N", "5"], dict(N=5)),
    ("min-p", "qsa-cyclic", ["--N", "6", "--q", "2", "--p-max", "16"], dict(N=6, q=2, p_max=16)),
    ("min-p", "qsa-rip", ["--N", "6", "--q", "2", "--number-format", "fixed", "--p-max", "20"],
     dict(N=6, q=2, number_format="fixed", p_max=20)),
    ("min-p", "match2", ["--N", "4", "--M", "8", "--p-max", "12"], dict(N=4, M=8, p_max=12)),
    ("cc", "disj", ["--n", "3"], dict(n=3)),
]


@pytest.mark.parametrize("verb,name,args,kw", CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_same_data_as_cli_json(verb, name, args, kw):
    status, expected = cli_json([verb, name, *args, "--threads", "2"])
    got = {"check": attnbounds.check, "eval": attnbounds.eval, "lower": attnbounds.lower, "min-p": attnbounds.min_p,
           "cc": attnbounds.cc}[verb](name, threads=2, **kw)
    assert_same(attnbounds.to_python(without_timing(expected)), without_timing(got))
    assert got.get("verdict", "holds") == {0: "holds", 1: "fails", 3: "undecided"}[status] or verb == "eval"


def test_eval_qsa_input_dict_equals_cli(tmp_path):
    data = qsa_input(7, 2)
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    _, expected = cli_json(["eval", "qsa-cyclic", "--input", str(path)])
    got = attnbounds.eval("qsa-cyclic", input=data)
    assert_same(attnbounds.to_python(without_timing(expected)), without_timing(got))
    assert got["tokens"][0]["qsa"].dtype == object


def test_export_and_model_checks_equal_cli(tmp_path):
    for construction, params, args in [("qsa-cyclic", dict(N=7, q=2, c="1/2"), ["--N", "7", "--q", "2", "--c", "1/2"]),
                                       ("match2", dict(N=5, M=8), ["--N", "5", "--M", "8"])]:
        a, b = tmp_path / f"{construction}-cli.st", tmp_path / f"{construction}-py.st"
        _, expected = cli_json(["export", construction, *args, "--out", str(a)])
        got = attnbounds.export(construction, b, **params)
        expected["file"] = str(b)
        assert_same(attnbounds.to_python(without_timing(expected)), without_timing(got))
        assert a.read_bytes() == b.read_bytes()  # the same file, byte for byte
        claim = "qsa" if construction == "qsa-cyclic" else "match2"
        extra = ["--eps", "0.1"] if claim == "qsa" else []
        _, checked = cli_json(["check", claim, "--model", str(b), *extra])
        mine = attnbounds.check(claim, model=b, **({"eps": "0.1"} if claim == "qsa" else {}))
        assert_same(attnbounds.to_python(without_timing(checked)), without_timing(mine))


def test_failing_check_returns_a_witness_that_fails_in_pytorch(tmp_path):
    N, q = 9, 2
    r = attnbounds.check("qsa-cyclic", N=N, q=q, c="1/2", eps=0.1)
    assert r["verdict"] == "fails"
    w = r["worst"]["witness"]
    assert w["verified_by_forward_pass"] is True
    assert r["worst"]["lower"] > r["bound"] == Fraction(1, 10)
    # Re-run the witness independently: the exported unit in PyTorch (float64), every token y_i = S.
    path = tmp_path / "c.st"
    attnbounds.export("qsa-cyclic", path, N=N, q=q, c="1/2", eps=0.1)
    unit = attnbounds.load(str(path))
    z = torch.tensor(np.array(w["z"], dtype=np.float64))
    S = torch.tensor(w["S"] - 1)
    y = S.expand(N, q)
    out = unit(z, y)
    truth = z[S].mean(0)
    errors = (out - truth).norm(dim=-1)
    assert float(errors.max()) > 0.1 + 1e-6
    assert abs(float(errors.max()) - float(r["worst"]["lower"])) < 1e-9


def test_bad_input_raises_value_error_with_the_cli_message(tmp_path):
    with pytest.raises(ValueError, match=r"^--N: must be an integer in 1\.\.100000 \(got 0\)"):
        attnbounds.check("qsa-cyclic", N=0)
    with pytest.raises(ValueError, match="unknown claim 'qsa-other'"):
        attnbounds.check("qsa-other")
    with pytest.raises(ValueError, match="did you mean --N"):
        attnbounds.check("qsa-cyclic", NN=4)
    with pytest.raises(ValueError, match="--eps"):
        attnbounds.check("qsa-cyclic", eps="abc")
    bad = tmp_path / "bad.st"
    bad.write_bytes(b"\x01\x00")
    with pytest.raises(ValueError, match="header length"):
        attnbounds.check("match2", model=bad)
    with pytest.raises(ValueError, match="--force"):
        attnbounds.check("qsa-cyclic", N=60, q=8)
    with pytest.raises(TypeError):
        attnbounds.check("qsa-cyclic", json=True)
    # The same message as the executable's one line.
    r = subprocess.run([BIN, "check", "qsa-cyclic", "--N", "0"], capture_output=True, text=True)
    assert r.returncode == 2
    with pytest.raises(ValueError) as e:
        attnbounds.check("qsa-cyclic", N=0)
    assert r.stderr.strip() == "attnbounds: error: " + str(e.value)
    # A run after a refused one is unaffected (no state carried between runs).
    assert attnbounds.check("qsa-cyclic", N=6, q=2)["verdict"] == "holds"


def test_deprecated_spelling_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = attnbounds.min_p("qsa-cyclic", N=6, q=2, format="float", p_max=14)
    assert any(issubclass(w.category, attnbounds.AttnboundsWarning) and "--number-format" in str(w.message)
               for w in caught)
    new = attnbounds.min_p("qsa-cyclic", N=6, q=2, number_format="float", p_max=14)
    assert old["p_star"] == new["p_star"]


def test_round_agrees_with_independent_roundings():
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.normal(0, 1, 300), rng.normal(0, 1e4, 100), rng.normal(0, 1e-6, 100),
                             [0.0, 1.0, -2.5, 65504.0, 1e-8, 6.1e-5, 2.0**-24, 3 * 2.0**-25]])
    for x in values:
        x = float(x)
        assert attnbounds.round(x, "fp16") == Fraction(float(np.float16(x)))
        assert attnbounds.round(x, "fp32") == Fraction(float(np.float32(x)))
        assert attnbounds.round(x, "fp64") == Fraction(x)
        assert attnbounds.round(x, "float:53") == Fraction(x)
        if abs(x) < 7:
            # fixed:4.8: the nearest multiple of 2^-8, ties to even (Python's round of a Fraction)
            assert attnbounds.round(x, "fixed:4.8") == Fraction(round(Fraction(x) * 256), 256)
    # Exact inputs: strings and Fractions are taken exactly, not through a double.
    assert attnbounds.round("1/3", "float:4") == Fraction(11, 32)
    assert attnbounds.round(Fraction(1, 3), "float:4") == Fraction(11, 32)
    assert attnbounds.round("0.1", "fp16") == Fraction(819, 8192)
    assert attnbounds.round(3, "bf16") == 3
    assert attnbounds.round(257, "bf16") == 256  # tie between 256 and 258 goes to the even significand
    assert attnbounds.round(259, "bf16") == 260
    assert isinstance(attnbounds.round(0.1, "fp16"), Fraction)
    assert attnbounds.format_name("float:11") == "float:11"
    with pytest.raises(OverflowError):
        attnbounds.round(70000, "fp16")
    with pytest.raises(OverflowError):
        attnbounds.round(9, "fixed:4.8")
    with pytest.raises(ValueError, match="format"):
        attnbounds.round(1, "fp17")
    with pytest.raises(ValueError):
        attnbounds.round(float("nan"), "fp16")
    with pytest.raises(ValueError):
        attnbounds.round("abc", "fp16")


def test_usage_is_the_help_text():
    text = attnbounds.usage("check", "qsa-cyclic")
    assert "--N INT" in text and "--semantics" in text


def test_eval_with_an_exact_zero_error_is_not_an_internal_error():
    # Token outputs equal to the truth up to rounding: the error enclosure straddles 0, whose
    # square was once computed as x * x (negative lower end, NaN square root, exit 4).
    data = {"z": [[1], [0], [1], [1], [1], [1], [1]], "y": [[1, 2]] * 7}
    r = attnbounds.eval("qsa-cyclic", input=data)
    assert r["within_eps"] is True
    assert Fraction(0) <= r["max_error_upper"] < Fraction(1, 10**6)
    assert r["tokens"][0]["qsa"][0] == Fraction(1, 2)
