"""Model files where the built-in constructions are used: `min-p match2 --model`, `min-p match3
--model` and `min-p match3-hinted|match3-window --model` of an exported construction give the p*,
per-p verdicts, worst values and named formats of the built-in `min-p match2` /
`min-p match3-third-order` / `min-p match3-hinted|match3-window`, and `lower qsa-disj --model FILE`
of an exported qsa-cyclic gives the built-in reduction result; the construction's flags are refused
beside --model."""
import json
import os
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from attnbounds import safetensors_io

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ATTNBOUNDS_BIN", os.path.join(ROOT, "build", "attnbounds"))


def run_json(*args, expect=(0, 1, 3)):
    r = subprocess.run([BIN, *args, "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode in expect, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("construction,claim,size,scan", [
    ("match2", "match2", ["--N", "3", "--M", "16"], ["--mode", "arith", "--p-max", "12"]),   # p* = 4
    ("match2", "match2", ["--N", "5", "--M", "16"], ["--p-max", "14"]),                      # p* = 5
    ("match2", "match2", ["--N", "4", "--M", "8", "--c", "1"], ["--p-max", "10"]),          # low temperature: fails
    ("match3-third-order", "match3", ["--N", "3", "--M", "6"], ["--mode", "arith", "--p-max", "12"]),  # p* = 3
])
def test_min_p_of_an_exported_construction_equals_the_builtin(tmp_path, construction, claim, size, scan):
    path = str(tmp_path / "m.st")
    subprocess.run([BIN, "export", construction, *size, "--out", path], check=True, capture_output=True)
    builtin = run_json("min-p", construction, *size, *scan)
    model = run_json("min-p", claim, "--model", path, *scan)
    for key in ("verdict", "p_star", "islands", "hardware_formats", "semantics", "p_star_meaning", "bound"):
        assert model[key] == builtin[key], key
    assert len(model["table"]) == len(builtin["table"])
    for m, b in zip(model["table"], builtin["table"]):
        for key in ("p", "semantics", "verdict", "witness_x", "witness_token"):
            assert m.get(key) == b.get(key), (key, m, b)
        # The model's rows come from the check's printed (17-digit, outward) ends, the built-in's
        # from its doubles: both rounded outward to 6 digits, so they agree to the 6th digit.
        for key in ("worst_lower", "worst_upper"):
            assert abs(float(m[key]) - float(b[key])) <= 1e-5 * max(1.0, abs(float(b[key]))), (key, m, b)
    assert model["claim"] == claim and model["params"]["model"] == path
    assert model["provenance"].endswith("the model is the file's")
    assert any(row["verdict"] == "holds" for row in model["table"]) or model["verdict"] == "fails"


def test_min_p_model_refusals(tmp_path):
    path = str(tmp_path / "m.st")
    subprocess.run([BIN, "export", "match2", "--N", "4", "--M", "8", "--out", path], check=True, capture_output=True)
    for args, needle in ([["min-p", "match2", "--model", path, "--N", "5"], "--N excludes --model"],
                         [["min-p", "match2", "--model", path, "--c", "2"], "--c excludes --model"],
                         [["min-p", "match3", "--model", path], "match3-third-order"],
                         [["min-p", "match3"], "--model"],
                         [["min-p", "match2", "--model", path, "--p-min", "9", "--p-max", "8"], "--p-max"]):
        r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (args, r.stderr)
        assert needle in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)


LOCAL_SCANS = [
    ("match3-hinted", ["--N", "6", "--M", "6", "--q", "2"], ["--p-max", "14"]),                  # p* = 11
    ("match3-hinted", ["--N", "6", "--M", "6", "--q", "2"], ["--mode", "arith", "--p-max", "16"]),  # p* = 15
    ("match3-hinted", ["--N", "6", "--M", "6", "--q", "2", "--c", "2"], ["--p-max", "12"]),      # too small a c: fails
    ("match3-window", ["--N", "7", "--M", "6", "--w", "2"], ["--p-max", "14"]),                  # p* = 12
    ("match3-window", ["--N", "7", "--M", "6", "--w", "2"], ["--mode", "arith", "--p-max", "16"]),  # p* = 14
]


@pytest.mark.parametrize("claim,size,scan", LOCAL_SCANS)
def test_min_p_of_an_exported_match3_local_file_equals_the_builtin(tmp_path, claim, size, scan):
    # The file's check and the construction's run the same checker on the same exact tables, and
    # both min-p scans build their rows from its typed result: every field but params, provenance
    # and the time is the same.
    path = str(tmp_path / "m.st")
    subprocess.run([BIN, "export", claim, *size, "--out", path], check=True, capture_output=True)
    builtin = run_json("min-p", claim, *size, *scan)
    model = run_json("min-p", claim, "--model", path, *scan)
    assert set(model) == set(builtin)
    for key in builtin:
        if key not in ("params", "provenance", "seconds"):
            assert model[key] == builtin[key], key
    assert model["claim"] == claim and model["params"]["model"] == path
    assert model["params"]["class"] == "match3-local"
    assert model["params"]["hints"] == ("window" if claim == "match3-window" else "all-subsets")
    for key in ("N", "M", "q" if claim == "match3-hinted" else "w"):
        assert model["params"][key] == int(size[size.index("--" + key) + 1])
    assert model["provenance"] == builtin["provenance"] + "; the model is the file's"
    # The scans are not trivial: low precision fails, and a passing scan has p* inside the range.
    assert model["table"][0]["verdict"] == "fails"
    if "--c" in size:
        assert model["verdict"] == "fails" and model["p_star"] is None
    else:
        assert model["verdict"] == "holds" and model["p_star"] > model["params"]["p_min"]


@pytest.mark.parametrize("claim,flag", [("match3-hinted", "--q"), ("match3-window", "--w")])
def test_min_p_of_a_perturbed_match3_local_file_has_no_p_star(tmp_path, claim, flag):
    # enc_1(M - 1) = M - 1 becomes M: every precision's decode-error bound is at least q * 1, so
    # the file fails where the construction has p*.
    N, M, q = 6, 6, 2
    path = str(tmp_path / "m.st")
    subprocess.run([BIN, "export", claim, "--N", str(N), "--M", str(M), flag, str(q), "--out", path], check=True,
                   capture_output=True)
    meta, arrays, exact = safetensors_io.read(path)
    values = np.array(arrays["value_table"], dtype=np.float64)
    values[M - 1, 0] = M
    exact["value_table"][(M - 1) * q] = Fraction(M)
    bad = str(tmp_path / "bad.st")
    safetensors_io.write(bad, meta, {n: ("F64", values if n == "value_table" else np.array(a, dtype=np.float64))
                                     for n, a in arrays.items()}, exact)
    scan = ["--p-max", "14"]
    good = run_json("min-p", claim, "--model", path, *scan)
    worse = run_json("min-p", claim, "--model", bad, *scan, expect=(1,))
    assert good["verdict"] == "holds" and good["p_star"] is not None
    assert worse["verdict"] == "fails" and worse["p_star"] is None
    assert all(row["verdict"] == "fails" and float(row["worst_lower"]) >= q for row in worse["table"])
    assert worse["hardware_formats"] == {"bf16": "fails", "fp16": "fails", "fp32": "fails"}


def test_min_p_match3_local_model_refusals(tmp_path):
    hinted, window = str(tmp_path / "h.st"), str(tmp_path / "w.st")
    m2 = str(tmp_path / "m2.st")
    subprocess.run([BIN, "export", "match3-hinted", "--N", "5", "--M", "4", "--q", "2", "--out", hinted], check=True,
                   capture_output=True)
    subprocess.run([BIN, "export", "match3-window", "--N", "5", "--M", "4", "--w", "2", "--out", window], check=True,
                   capture_output=True)
    subprocess.run([BIN, "export", "match2", "--N", "4", "--M", "8", "--out", m2], check=True, capture_output=True)
    for args, needle in ([["match3-hinted", "--model", hinted, "--N", "5"], "--N excludes --model"],
                         [["match3-hinted", "--model", hinted, "--M", "4"], "--M excludes --model"],
                         [["match3-hinted", "--model", hinted, "--q", "2"], "--q excludes --model"],
                         [["match3-window", "--model", window, "--w", "2"], "--w excludes --model"],
                         [["match3-window", "--model", window, "--c", "3"], "--c excludes --model"],
                         [["match3-hinted", "--model", window], "__metadata__.hints is window"],
                         [["match3-window", "--model", hinted], "__metadata__.hints is all-subsets"],
                         [["match3-window", "--model", m2], "__metadata__.class"],
                         [["match3-hinted", "--model", str(tmp_path / "none.st")], "cannot open"],
                         [["match3-hinted", "--model", hinted, "--p-min", "9", "--p-max", "8"], "--p-max"]):
        r = subprocess.run([BIN, "min-p", *args], capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (args, r.stderr)
        assert needle in r.stderr and r.stderr.count("\n") == 1 and r.stdout == "", (args, r.stderr)


def cli(*args):
    r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300)
    return r.returncode, (json.loads(r.stdout) if r.returncode in (0, 1, 3) else r.stderr)


@pytest.mark.parametrize("semantics", ["exact", "embed:float:24", "embed:float:4", "embed:float:6"])
def test_lower_qsa_disj_of_an_exported_construction_equals_the_builtin(tmp_path, semantics):
    # The file is the construction: same verdict, message count, collision and witness instances.
    path = str(tmp_path / "c.st")
    subprocess.run([BIN, "export", "qsa-cyclic", "--N", "7", "--q", "3", "--out", path], check=True, capture_output=True)
    s1, builtin = cli("lower", "qsa-disj", "--q", "3", "--model", "qsa-cyclic", "--semantics", semantics, "--json")
    s2, model = cli("lower", "qsa-disj", "--model", path, "--semantics", semantics, "--json")
    assert s1 == s2 and s1 in (0, 1), (builtin, model)
    for key in builtin:
        if key not in ("params", "model", "seconds"):
            assert model[key] == builtin[key], key
    assert model["params"]["model"] == path and model["params"]["class"] == "qsa-table"
    assert (model["params"]["q"], model["params"]["N"]) == (3, 7)


def test_lower_qsa_disj_model_file_refusals(tmp_path):
    path = str(tmp_path / "c.st")
    subprocess.run([BIN, "export", "qsa-cyclic", "--N", "6", "--q", "3", "--out", path], check=True, capture_output=True)
    ok = str(tmp_path / "ok.st")
    subprocess.run([BIN, "export", "qsa-cyclic", "--N", "7", "--q", "3", "--out", ok], check=True, capture_output=True)
    for args, needle in ([["--model", path], "below 2q+1"],
                         [["--model", ok, "--q", "2"], "--q: is 2 but the --model file has q = 3"],
                         [["--model", ok, "--m", "3"], "--m: does not apply to --model FILE"],
                         [["--model", str(tmp_path / "random")], "cannot open"],
                         [["--model", ok, "--semantics", "embed:fixed:2.0"], "outside the range of fixed:2.0"]):
        status, err = cli("lower", "qsa-disj", *args)
        assert status == 2 and needle in err and err.count("\n") == 1, (args, err)
