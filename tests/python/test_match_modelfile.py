"""The Match classes in PyTorch: exported constructions agree with `attnbounds eval ... --model`
within its certified enclosure, the toolkit's witness of a failing file really fails in
PyTorch, and files round-trip between Python and C++ with identical certified results."""
import json
import os
import subprocess

import numpy as np
import pytest
import torch

import attnbounds
from attnbounds import safetensors_io

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ATTNBOUNDS_BIN", os.path.join(ROOT, "build", "attnbounds"))
FLOAT64_SLACK = 1e-9  # PyTorch's own float64 rounding of scores up to ~1e2 and of the softmax


def run(*args, expect=(0,)):
    r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode in expect, r.stderr
    return r


def export(tmp_path, claim, *params, name=None):
    path = str(tmp_path / (name or f"{claim}.st"))
    run("export", claim, *params, "--out", path)
    return path


CASES = [
    ("match2", ["--N", "6", "--M", "8"], "match2", "norm"),
    ("match2", ["--N", "5", "--M", "12", "--c", "1"], "match2", "norm"),
    ("match2", ["--N", "4", "--M", "7", "--dtype", "BF16"], "match2", "norm"),
    ("match2", ["--N", "6", "--M", "8", "--no-residual"], "match2", "psi_function"),
    ("match2", ["--N", "5", "--M", "12", "--no-residual", "--c", "2"], "match2", "psi_function"),
    ("match2", ["--N", "4", "--M", "7", "--no-residual", "--dtype", "F32"], "match2", "psi_function"),
    ("match3-third-order", ["--N", "4", "--M", "9"], "match3", "statistic"),
    ("match3-third-order", ["--N", "4", "--M", "8", "--c", "1"], "match3", "statistic"),
]


@pytest.mark.parametrize("claim,params,task,stat", CASES)
def test_exported_match_unit_matches_eval_enclosure(tmp_path, claim, params, task, stat):
    path = export(tmp_path, claim, *params)
    unit = attnbounds.load(path)
    assert unit.query_table.dtype == torch.float64
    rng = np.random.default_rng(5)
    for _ in range(4):
        x = rng.integers(0, unit.M, size=unit.N)
        r = run("eval", task, "--model", path, "--input", ",".join(str(int(v)) for v in x), "--json", expect=(0, 1))
        res = json.loads(r.stdout)
        with torch.no_grad():
            s = unit.statistic(torch.tensor(x)).numpy()
            decision = unit(torch.tensor(x)).numpy()
        for i, tok in enumerate(res["tokens"]):
            lo, hi = float(tok[stat]["lower"]), float(tok[stat]["upper"])
            assert lo - FLOAT64_SLACK <= s[i] <= hi + FLOAT64_SLACK, (i, lo, s[i], hi)
            # Where the certified statistic is clear of the threshold, PyTorch decides the same
            # (the disjunctive psi's decision function is compared with 0).
            tau = float(res.get("threshold", 0))
            if tok["decided"] and (hi < tau - 1e-6 or lo > tau + 1e-6):
                assert decision[i] == tok["model"]


@pytest.mark.parametrize("claim,params,task", [
    ("match2", ["--N", "6", "--M", "8", "--c", "1"], "match2"),
    ("match2", ["--N", "5", "--M", "8", "--flip-query-sign"], "match2"),
    ("match2", ["--N", "6", "--M", "8", "--no-residual", "--c", "2"], "match2"),
    ("match3-third-order", ["--N", "5", "--M", "9", "--c", "1"], "match3"),
])
def test_failing_file_witness_really_fails_in_pytorch(tmp_path, claim, params, task):
    path = export(tmp_path, claim, *params)
    res = json.loads(run("check", task, "--model", path, "--json", expect=(1,)).stdout)
    assert res["verdict"] == "fails"
    w = res["worst"]["witness"]
    x, i = w["x"], w["token"] - 1
    M = attnbounds.load(path).M
    if task == "match2":
        truth = any((x[i] + v) % M == 0 for v in x)
    else:
        truth = any((x[i] + a + b) % M == 0 for a in x for b in x)
    assert w["truth"] == int(truth)
    unit = attnbounds.load(path)
    with torch.no_grad():
        assert int(unit(torch.tensor(x))[i]) != int(truth)
        # and by a margin far above float64 rounding
        tau = 0.0 if getattr(unit, "psi", "") == "sqnorm-or-abs-linear" else float(unit.threshold)
        assert abs(float(unit.statistic(torch.tensor(x))[i]) - tau) > 1e-6


def check_json(task, path, *extra):
    r = run("check", task, "--model", path, "--json", *extra, expect=(0, 1))
    res = json.loads(r.stdout)
    return {k: res.get(k) for k in ("verdict", "cases", "worst", "threshold")}


@pytest.mark.parametrize("claim,params,task", [
    ("match2", ["--N", "6", "--M", "8"], "match2"),
    ("match2", ["--N", "5", "--M", "8", "--c", "3/2"], "match2"),
    ("match2", ["--N", "5", "--M", "8", "--no-residual"], "match2"),
    ("match3-third-order", ["--N", "4", "--M", "9"], "match3"),
])
@pytest.mark.parametrize("dtype", ["F32", "BF16", "F64"])
def test_round_trip_python_cpp(tmp_path, claim, params, task, dtype):
    # C++ writes a rounded file; Python loads and saves it again in the same dtype; the toolkit
    # certifies both files identically, and every table survives bit for bit.
    original = export(tmp_path, claim, *params, "--dtype", dtype, name="orig.st")
    unit = attnbounds.load(original)
    again = str(tmp_path / "again.st")
    attnbounds.save(unit, again, dtype=dtype)
    assert check_json(task, again) == check_json(task, original)
    assert check_json(task, again, "--semantics", "embed:fp16") == check_json(task, original, "--semantics", "embed:fp16")
    _, a, ea = safetensors_io.read(original)
    _, b, eb = safetensors_io.read(again)
    assert set(a) == set(b)
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    assert {n: [str(v) for v in vals] for n, vals in ea.items()} == {n: [str(v) for v in vals] for n, vals in eb.items()}


def test_exact_file_round_trips_through_python(tmp_path):
    # An exact export keeps its trigonometric entries when Python re-saves ψ's threshold.
    path = export(tmp_path, "match2", "--N", "5", "--M", "16")
    meta, arrays, exact = safetensors_io.read(path)
    assert str(exact["psi_threshold"][0]) == "1/2-1/2*cos(2pi*1/16)"
    assert any(isinstance(v, attnbounds.ExactTrig) for v in exact["query_table"])
    unit = attnbounds.load(path)
    again = str(tmp_path / "again.st")
    attnbounds.save(unit, again, dtype="F64")
    _, _, e2 = safetensors_io.read(again)
    assert str(e2["psi_threshold"][0]) == "1/2-1/2*cos(2pi*1/16)"
    # The F64 file holds the nearest doubles of the construction: still certified to hold.
    assert check_json("match2", again)["verdict"] == "holds"


def test_python_reader_refuses_what_the_toolkit_refuses(tmp_path):
    for bad in ("1*cos(2pi*2/8)", "cos(2pi*1/8)", "2/4*cos(2pi*1/8)", "1/2+-1/2*cos(2pi*1/8)", "0*sin(2pi*1/8)"):
        assert safetensors_io.parse_exact_entry(bad) is None, bad
    assert str(safetensors_io.parse_exact_entry("1/2-1/2*cos(2pi*1/16)")) == "1/2-1/2*cos(2pi*1/16)"
    path = export(tmp_path, "match2", "--N", "4", "--M", "8")
    data = bytearray(open(path, "rb").read())
    data[8:8 + 200] = data[8:8 + 200].replace(b'"match2-table"', b'"match9-table"')
    bad = tmp_path / "bad.st"
    bad.write_bytes(bytes(data))
    r = run("check", "match2", "--model", str(bad), expect=(2,))
    assert "__metadata__.class" in r.stderr and r.stderr.count("\n") == 1


def test_no_residual_export_keeps_its_exact_bounds_through_python(tmp_path):
    # The disjunctive psi's two bounds are trigonometric reals; Python keeps them when it re-saves.
    path = export(tmp_path, "match2", "--N", "5", "--M", "16", "--no-residual")
    meta, _, exact = safetensors_io.read(path)
    assert meta["psi"] == "sqnorm-or-abs-linear" and meta["residual"] == "false"
    assert str(exact["psi_threshold"][0]) == "21/25+4/25*cos(2pi*2/16)"
    assert str(exact["psi_threshold_linear"][0]) == "1/2*sin(2pi*1/16)"
    unit = attnbounds.load(path)
    assert unit.residual_table is None and unit.psi == "sqnorm-or-abs-linear"
    again = str(tmp_path / "again.st")
    attnbounds.save(unit, again, dtype="F64")
    _, _, e2 = safetensors_io.read(again)
    assert str(e2["psi_threshold"][0]) == "21/25+4/25*cos(2pi*2/16)"
    assert str(e2["psi_threshold_linear"][0]) == "1/2*sin(2pi*1/16)"
    assert check_json("match2", again)["verdict"] == "holds"
    # Python refuses what the toolkit refuses, naming the same field.
    for edit, field in (({"psi_matched": "above"}, "__metadata__.psi_matched"), ({"psi": "norm"}, "tensor 'psi_weights'")):
        m2 = dict(meta, **edit)
        _, arrays, ex = safetensors_io.read(path)
        bad = str(tmp_path / "bad.st")
        safetensors_io.write(bad, m2, {n: ("F64", a) for n, a in arrays.items()}, ex)
        with pytest.raises(attnbounds.ModelFileError) as e:
            attnbounds.load(bad)
        assert field in str(e.value)
        r = run("check", "match2", "--model", bad, expect=(2,))
        assert field in r.stderr and r.stderr.count("\n") == 1
