"""Class match3-local (the hinted/window Match3 unit, psi = power-sum decoder) in PyTorch: exported
files loaded by attnbounds.load agree with `attnbounds eval ... --model --json` on every token's
decision and decoded candidates (eval prints no output values), their float64 outputs lie within the
certified decode-error bound of `check ... --model --json` of the true power sums, and a file with
one value-table entry changed fails the toolkit's check with a witness that PyTorch confirms.
attnbounds.save writes the class: a re-saved export has the same table bits and the same certified
result, and a unit changed in Python fails with a witness PyTorch confirms."""
import json
import os
import random
import subprocess
from fractions import Fraction

import numpy as np
import pytest
import torch

import attnbounds
from attnbounds import safetensors_io
from attnbounds.match_model import Match3LocalUnit

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ATTNBOUNDS_BIN", os.path.join(ROOT, "build", "attnbounds"))


def run_json(*args, status=0):
    r = subprocess.run([BIN, *args, "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == status, r.stderr
    return json.loads(r.stdout)


def export(tmp_path, claim, flag, N, M, q, extra=()):
    path = str(tmp_path / f"{claim}.st")
    r = subprocess.run([BIN, "export", claim, "--N", str(N), "--M", str(M), flag, str(q), *extra, "--out", path],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return path


CASES = [("match3-hinted", "--q", 7, 6, 2), ("match3-hinted", "--q", 6, 5, 3), ("match3-window", "--w", 8, 8, 3)]


@pytest.mark.parametrize("claim,flag,N,M,q", CASES)
def test_match3_local_agrees_with_eval(tmp_path, claim, flag, N, M, q):
    path = export(tmp_path, claim, flag, N, M, q)
    unit = attnbounds.load(path)
    assert isinstance(unit, Match3LocalUnit) and unit.value_table.dtype == torch.float64
    assert (unit.N, unit.M, unit.q, unit.window) == (N, M, q, claim == "match3-window")
    bound = float(run_json("check", claim, "--model", path)["worst"]["upper"])  # certified, every row and x
    assert 0 < bound < 0.5
    rng = random.Random(11)
    window = claim == "match3-window"
    seen = set()
    for trial in range(6):
        x = [rng.randrange(M) for _ in range(N)]
        if window:
            hints = [sorted((i + d) % N for d in range(1, q + 1)) for i in range(N)]
            args = ["eval", claim, "--model", path, "--input", ",".join(map(str, x))]
        else:
            hints = [sorted(rng.sample(range(N), q)) for _ in range(N)]
            args = ["eval", claim, "--model", path, "--input", ",".join(map(str, x)),
                    "--hints", "|".join(" ".join(str(j + 1) for j in y) for y in hints)]
        tokens = run_json(*args)["tokens"]
        assert len(tokens) == N
        xt, yt = torch.tensor(x), torch.tensor(hints)
        out = unit(xt, None if window else yt).detach()
        decided = unit.decide(xt, None if window else yt)
        truth = Match3LocalUnit.truth(x, hints, M)
        for i, tok in enumerate(tokens):
            assert tok["x"] == x[i] and tok["y"] == [j + 1 for j in hints[i]] and tok["decided"]
            assert (decided[i][0], decided[i][1]) == (tok["model"], tok["decoded_candidates"])
            assert truth[i] == tok["truth"] == tok["model"]  # the construction is right
            assert decided[i][1] == sorted(x[j] for j in hints[i])
            for k in range(q):  # q*out_ik is within the certified bound of the true power sum
                power_sum = sum(x[j] ** (k + 1) for j in hints[i])
                assert abs(q * float(out[i, k]) - power_sum) <= bound + 1e-9
            seen.add(tok["model"])
    assert seen == {0, 1}  # both answers occur, so the comparison can tell them apart


def test_decoder_is_exact():
    for M, ms in ((6, [0, 0, 5]), (9, [1, 4, 4, 8]), (4096, [4095, 17])):
        P = [sum(c ** k for c in ms) for k in range(1, len(ms) + 1)]
        assert Match3LocalUnit.decode_power_sums(P, M) == sorted(ms)
    assert Match3LocalUnit.decode_power_sums([3, 4], 6) is None     # t^2 - 3t + 5/2: no integer roots
    assert Match3LocalUnit.decode_power_sums([11, 61], 6) is None   # roots 5 and 6, but 6 is not in [6]


@pytest.mark.parametrize("claim,flag", [("match3-hinted", "--q"), ("match3-window", "--w")])
def test_perturbed_file_fails_and_pytorch_confirms_the_witness(tmp_path, claim, flag):
    # As tests/test_match3_local_modelfile.cpp: enc_1(2) = 2 becomes M + 3.
    N, M, q = 7, 6, 2
    path = export(tmp_path, claim, flag, N, M, q)
    meta, arrays, exact = safetensors_io.read(path)
    values = np.array(arrays["value_table"], dtype=np.float64)
    values[2, 0] = M + 3
    exact["value_table"][2 * q] = Fraction(M + 3)
    bad = str(tmp_path / "bad.st")
    safetensors_io.write(bad, meta, {n: ("F64", values if n == "value_table" else np.array(a, dtype=np.float64))
                                     for n, a in arrays.items()}, exact)
    r = run_json("check", claim, "--model", bad, status=1)  # exit 1: fails
    assert r["verdict"] == "fails"
    w = r["worst"]["witness"]
    x, hints, token = w["x"], [[j - 1 for j in y] for y in w["y"]], w["token"] - 1
    assert 2 in x
    unit = attnbounds.load(bad)
    assert float(unit.value_table[2, 0]) == M + 3
    window = claim == "match3-window"
    decision, _ = unit.decide(torch.tensor(x), None if window else torch.tensor(hints))[token]
    truth = Match3LocalUnit.truth(x, hints, M)[token]
    assert (decision, truth) == (w["model"], w["truth"])
    assert decision != truth


def check_fields(claim, path, *flags):
    """The certified result of a file: everything but what names the file and the time."""
    r = subprocess.run([BIN, "check", claim, "--model", path, *flags, "--json"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode in (0, 1, 3), r.stderr
    res = json.loads(r.stdout)
    return r.returncode, {k: res.get(k) for k in ("verdict", "cases", "worst", "rows_checked", "decoder_multisets_checked",
                                                  "decoder_failures", "fallback_rows", "m")}


def same_tables(a, b):
    _, x, ex = safetensors_io.read(a)
    _, y, ey = safetensors_io.read(b)
    assert set(x) == set(y) == {"key_table", "query_table", "value_table"}
    for name in x:
        assert x[name].dtype == y[name].dtype and np.array_equal(x[name], y[name]), name
    assert {n: [str(v) for v in vals] for n, vals in ex.items()} == {n: [str(v) for v in vals] for n, vals in ey.items()}
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read(), fb.read()


ROUND_TRIPS = [  # (claim, export flags): passing and failing (a too-small c) instances
    ("match3-hinted", ["--N", "6", "--M", "6", "--q", "2"]),
    ("match3-hinted", ["--N", "6", "--M", "6", "--q", "2", "--c", "2"]),
    ("match3-window", ["--N", "7", "--M", "6", "--w", "3"]),
    ("match3-window", ["--N", "7", "--M", "6", "--w", "3", "--c", "1/16"]),
]


@pytest.mark.parametrize("claim,params", ROUND_TRIPS)
@pytest.mark.parametrize("export_dtype,save_dtype", [("exact", "F64"), ("BF16", "BF16"), ("F64", "F64")])
def test_saved_file_has_the_same_tables_and_certified_result(tmp_path, claim, params, export_dtype, save_dtype):
    # C++ writes the construction; Python loads it and saves it again: every table holds the same
    # bits (an exact file keeps its exact entries under F64), and the toolkit's certified check
    # of the two files is the same, witness included.
    original, again = str(tmp_path / "orig.st"), str(tmp_path / "again.st")
    r = subprocess.run([BIN, "export", claim, *params, "--dtype", export_dtype, "--out", original],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    unit = attnbounds.load(original)
    attnbounds.save(unit, again, dtype=save_dtype)
    same_tables(original, again)
    meta, _, exact = safetensors_io.read(again)
    assert (meta["class"], meta["psi"], meta["psi_scale"]) == ("match3-local", "power-sum-decoder", params[5])
    assert meta["hints"] == ("window" if claim == "match3-window" else "all-subsets")
    assert set(exact) == (set() if export_dtype != "exact" else {"key_table", "query_table", "value_table"})
    for flags in ([], ["--semantics", "embed:bf16"]):
        status, original_result = check_fields(claim, original, *flags)
        assert (status, original_result) == check_fields(claim, again, *flags)
    status, result = check_fields(claim, again)
    failing = "--c" in params or export_dtype == "BF16"
    assert result["verdict"] == ("fails" if failing else "holds") and status == (1 if failing else 0)
    if failing:
        assert "x" in result["worst"]["witness"] and "token" in result["worst"]["witness"]


@pytest.mark.parametrize("dtype,N,M,w", [("F32", 24, 16, 6), ("BF16", 24, 16, 6), ("F16", 6, 4, 2)])
def test_python_rounds_tables_as_the_toolkit_does(tmp_path, dtype, N, M, w):
    # An exact file saved in a rounded dtype holds what `export --dtype` writes: the nearest value
    # of each entry's nearest double, ties to even.  With N = 24 the keys j^k (k up to 12) are not
    # all exact in float32, so BF16 must round each double once, not through float32.  (F16 takes
    # a small instance: the large keys overflow it.)
    exact_file, cpp, py = (str(tmp_path / n) for n in ("exact.st", "cpp.st", "py.st"))
    size = ["--N", str(N), "--M", str(M), "--w", str(w)]
    for dt, out in (("exact", exact_file), (dtype, cpp)):
        r = subprocess.run([BIN, "export", "match3-window", *size, "--dtype", dt, "--out", out],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    if dtype != "F16":
        _, arrays, _ = safetensors_io.read(exact_file)
        keys = np.array(arrays["key_table"], dtype=np.float64)
        assert np.any(keys.astype(np.float32).astype(np.float64) != keys)
    attnbounds.save(attnbounds.load(exact_file), py, dtype=dtype)
    same_tables(cpp, py)


@pytest.mark.parametrize("claim,flag", [("match3-hinted", "--q"), ("match3-window", "--w")])
def test_a_unit_changed_in_python_fails_and_pytorch_confirms_the_witness(tmp_path, claim, flag):
    # enc_1(2) = 2 becomes M + 3 in the loaded unit; save writes it (F64: the unchanged key and
    # query tables keep their exact entries, the changed value table is stored as its doubles).
    N, M, q = 7, 6, 2
    path = export(tmp_path, claim, flag, N, M, q)
    assert run_json("check", claim, "--model", path)["verdict"] == "holds"
    unit = attnbounds.load(path)
    with torch.no_grad():
        unit.value_table[2, 0] = M + 3
    saved = str(tmp_path / "changed.st")
    attnbounds.save(unit, saved, dtype="F64")
    _, arrays, exact = safetensors_io.read(saved)
    assert set(exact) == {"key_table", "query_table"} and arrays["value_table"][2, 0] == M + 3
    r = run_json("check", claim, "--model", saved, status=1)
    assert r["verdict"] == "fails"
    w = r["worst"]["witness"]
    x, hints, token = w["x"], [[j - 1 for j in y] for y in w["y"]], w["token"] - 1
    window = claim == "match3-window"
    for model in (unit, attnbounds.load(saved)):
        decision, _ = model.decide(torch.tensor(x), None if window else torch.tensor(hints))[token]
        truth = Match3LocalUnit.truth(x, hints, M)[token]
        assert (decision, truth) == (w["model"], w["truth"])
        assert decision != truth
    # The construction itself gets the witness right.
    decision, _ = attnbounds.load(path).decide(torch.tensor(x), None if window else torch.tensor(hints))[token]
    assert decision == w["truth"]


def test_save_writes_a_new_unit_and_refuses_what_the_reader_refuses(tmp_path):
    unit = Match3LocalUnit(5, 4, 2, 3, window=True)
    with torch.no_grad():
        unit.key_table.copy_(torch.arange(15, dtype=torch.float64).reshape(5, 3) / 8)
        unit.value_table.copy_(torch.tensor([[x, x * x] for x in range(4)], dtype=torch.float64))
    path = str(tmp_path / "new.st")
    attnbounds.save(unit, path, dtype="F32")
    back = attnbounds.load(path)
    assert (back.N, back.M, back.q, back.K, back.window) == (5, 4, 2, 3, True)
    assert torch.equal(back.key_table, unit.key_table) and torch.equal(back.value_table, unit.value_table)
    assert back.metadata["construction"] == "trained"
    # All-zero queries: uniform attention, not the window: the toolkit refuses nothing and fails.
    assert run_json("check", "match3-window", "--model", path, status=1)["verdict"] == "fails"
    for bad in (Match3LocalUnit(5, 4, 5, 3, window=True), Match3LocalUnit(25, 4, 1, 3, window=True),
                Match3LocalUnit(5, 4, 2, 65)):
        with pytest.raises(ValueError, match="class match3-local needs"):
            attnbounds.save(bad, str(tmp_path / "bad.st"))


def test_load_refuses_bad_match3_local_metadata(tmp_path):
    path = export(tmp_path, "match3-hinted", "--q", 5, 4, 2)
    meta, arrays, exact = safetensors_io.read(path)
    tensors = {n: ("F64", np.array(a, dtype=np.float64)) for n, a in arrays.items()}
    for key, value in (("psi_scale", "3"), ("hints", "random"), ("psi", "norm")):
        bad = str(tmp_path / f"bad-{key}.st")
        safetensors_io.write(bad, {**meta, key: value}, tensors, exact)
        with pytest.raises(attnbounds.ModelFileError) as err:
            attnbounds.load(bad)
        assert err.value.field == f"__metadata__.{key}"
