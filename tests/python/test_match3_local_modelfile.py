"""Class match3-local (the hinted/window Match3 unit, psi = power-sum decoder) in PyTorch: exported
files loaded by attnbounds.load agree with `attnbounds eval ... --model --json` on every token's
decision and decoded candidates (eval prints no output values), their float64 outputs lie within the
certified decode-error bound of `check ... --model --json` of the true power sums, and a file with
one value-table entry changed fails the toolkit's check with a witness that PyTorch confirms."""
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


def test_save_refuses_match3_local(tmp_path):
    unit = attnbounds.load(export(tmp_path, "match3-window", "--w", 5, 4, 2))
    with pytest.raises(ValueError, match="match3-local is not written from Python"):
        attnbounds.save(unit, str(tmp_path / "again.st"))


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
