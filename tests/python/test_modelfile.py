"""The PyTorch bridge: exported constructions agree with `attnbounds eval` within its certified
enclosure, files round-trip between Python and C++, and a model trained here is checked by the
toolkit, whose witness really fails in PyTorch."""
import itertools
import json
import os
import subprocess
from fractions import Fraction

import numpy as np
import pytest
import torch

import attnbounds
from mutation import mutate
from attnbounds import safetensors_io

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ATTNBOUNDS_BIN", os.path.join(ROOT, "build", "attnbounds"))
# PyTorch runs in float64; the toolkit's enclosure is certified.  The slack covers float64
# rounding of scores of magnitude up to ~1e5 (the moment-curve tables) and of the softmax.
FLOAT64_SLACK = 1e-9


def run(*args, expect=(0,)):
    r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode in expect, r.stderr
    return r


def export(tmp_path, claim, *params):
    path = str(tmp_path / f"{claim}.st")
    run("export", claim, *params, "--out", path)
    return path


def random_input(rng, N, q, d):
    z = rng.normal(size=(N, d))
    z /= np.maximum(1.0, np.linalg.norm(z, axis=1, keepdims=True)) * rng.uniform(1.0, 1.5, size=(N, 1))
    y = np.stack([rng.choice(N, size=q, replace=False) for _ in range(N)])
    return z, y


@pytest.mark.parametrize("claim,params", [
    ("qsa-cyclic", ["--N", "8", "--q", "2"]),
    ("qsa-cyclic", ["--N", "7", "--q", "3", "--d", "2"]),
    ("qsa-cyclic", ["--N", "9", "--q", "2", "--c", "1/2"]),
    ("qsa-rip", ["--N", "10", "--q", "2"]),
    ("qsa-rip", ["--N", "8", "--q", "1", "--d", "3", "--seed", "7"]),
])
def test_exported_construction_matches_eval_enclosure(tmp_path, claim, params):
    path = export(tmp_path, claim, *params)
    unit = attnbounds.load(path)
    assert unit.query_table.dtype == torch.float64
    rng = np.random.default_rng(11)
    for trial in range(3):
        z, y = random_input(rng, unit.N, unit.q, unit.d)
        inp = tmp_path / f"in{trial}.json"
        # Exact decimals of the doubles, so the toolkit evaluates the very input PyTorch sees.
        inp.write_text(json.dumps({"z": [[repr(float(v)) for v in row] for row in z],
                                   "y": [[int(j) + 1 for j in row] for row in y]}))
        res = json.loads(run("eval", "qsa", "--model", path, "--input", str(inp), "--json").stdout)
        with torch.no_grad():
            out = unit(torch.from_numpy(z), torch.from_numpy(y)).numpy()
        for i, tok in enumerate(res["tokens"]):
            lo = np.array([float(v) for v in tok["output_lower"]])
            hi = np.array([float(v) for v in tok["output_upper"]])
            assert np.all(lo - FLOAT64_SLACK <= out[i]) and np.all(out[i] <= hi + FLOAT64_SLACK), (i, lo, out[i], hi)
            assert np.all(hi - lo < 1e-12)  # the enclosure is tight, so the comparison means something


def test_subset_rank_is_lexicographic():
    unit = attnbounds.QsaTableUnit(7, 3, 1, 1)
    subsets = list(itertools.combinations(range(7), 3))
    y = torch.tensor([list(reversed(s)) for s in subsets])  # order inside a subset must not matter
    assert unit.subset_rank(y).tolist() == list(range(len(subsets)))


def test_exact_companions_are_read_exactly(tmp_path):
    path = export(tmp_path, "qsa-cyclic", "--N", "6", "--q", "2")
    tables = attnbounds.exact_tables(path)
    # Keys of the moment curve: u_j = (j, j^2, j^3, j^4), 1-based j.
    assert tables["key_table"][:8] == [Fraction(1), Fraction(1), Fraction(1), Fraction(1),
                                       Fraction(2), Fraction(4), Fraction(8), Fraction(16)]
    c = Fraction(attnbounds.load(path).metadata["temperature"])
    # Query of S = {1, 2} (rank 0): -c (a_1..a_4) of p(t) = (t-1)^2 (t-2)^2 = t^4 - 6t^3 + 13t^2 - 12t + 4.
    assert tables["query_table"][:4] == [12 * c, -13 * c, 6 * c, -c]


def test_python_file_is_read_by_the_toolkit_and_back(tmp_path):
    unit = attnbounds.QsaTableUnit(5, 2, 1, 3)
    with torch.no_grad():
        unit.query_table.copy_(torch.arange(30, dtype=torch.float64).reshape(10, 3) / 8)
        unit.key_table.copy_(torch.eye(5, 3, dtype=torch.float64))
    for dtype in ["F64", "F32", "F16", "BF16"]:
        path = str(tmp_path / f"p_{dtype}.st")
        attnbounds.save(unit, path, dtype=dtype)
        back = attnbounds.load(path)
        assert torch.equal(back.query_table, unit.query_table)  # multiples of 1/8 below 4: exact in every dtype
        r = run("check", "qsa", "--model", path, "--eps", "0.5", "--json", expect=(0, 1, 3))
        assert json.loads(r.stdout)["params"]["dtypes"] == dtype


def test_bad_files_are_refused_in_python_and_by_the_toolkit(tmp_path):
    path = export(tmp_path, "qsa-cyclic", "--N", "5", "--q", "2")
    data = open(path, "rb").read()
    bad = tmp_path / "trunc.st"
    bad.write_bytes(data[:-5])
    with pytest.raises(attnbounds.ModelFileError) as e:
        attnbounds.load(str(bad))
    assert "data_offsets" in str(e.value) or "header" in str(e.value)
    r = run("check", "qsa", "--model", str(bad), "--eps", "0.1", expect=(2,))
    assert str(bad) in r.stderr and r.stderr.count("\n") == 1
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(attnbounds.ModelFileError):
        safetensors_io.read(str(fifo))
    run("check", "qsa", "--model", str(fifo), "--eps", "0.1", expect=(2,))


def test_python_reader_mutation_run(tmp_path):
    """Bounded, seeded mutations of an exported file: each either loads with consistent shapes
    or is refused with a ModelFileError (never another exception)."""
    path = export(tmp_path, "qsa-cyclic", "--N", "5", "--q", "2")
    seed = open(path, "rb").read()
    rng = np.random.default_rng(3)
    refused = 0
    for _ in range(800):
        b = mutate(rng, seed, "0123456789[]{},:\"-/ eE.")
        try:
            meta, arrays, exact = safetensors_io.parse(b, "mut")
            N, q, d, k, d_out = attnbounds._check("mut", meta, arrays)
            assert arrays["key_table"].shape == (N, k)
        except attnbounds.ModelFileError:
            refused += 1
    assert refused > 500
    deep = b"[" * 100000 + b"]" * 100000
    with pytest.raises(attnbounds.ModelFileError):
        safetensors_io.parse(len(deep).to_bytes(8, "little") + deep, "deep")


def train_tiny_model(seed=0, N=6, q=2, d=1, k=6, steps=250):
    torch.manual_seed(seed)
    unit = attnbounds.QsaTableUnit(N, q, d, k)
    with torch.no_grad():
        unit.query_table.normal_(0, 0.5)
        unit.key_table.normal_(0, 0.5)
    # V and ψ stay the identity: the structure the checker certifies.
    opt = torch.optim.Adam([unit.query_table, unit.key_table], lr=0.05)
    subsets = torch.tensor(list(itertools.combinations(range(N), q)))
    for _ in range(steps):
        z = torch.randn(64, N, d, dtype=torch.float64)
        z = z / torch.clamp(z.norm(dim=-1, keepdim=True), min=1.0)
        y = subsets[torch.randint(len(subsets), (64, N))]
        target = z[torch.arange(64)[:, None, None], y].mean(dim=2)  # [B, N, d]
        loss = ((unit(z, y) - target) ** 2).sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return unit


def test_trained_model_checked_and_witness_fails_in_pytorch(tmp_path):
    unit = train_tiny_model()
    path = str(tmp_path / "trained.st")
    attnbounds.save(unit, path, dtype="F32")
    eps = "0.01"
    res = json.loads(run("check", "qsa", "--model", path, "--eps", eps, "--json", expect=(0, 1, 3)).stdout)
    assert res["params"]["dtypes"] == "F32"
    assert res["verdict"] == "fails"  # 250 steps do not reach 0.01 on every input
    w = res["worst"]["witness"]
    assert w["verified_by_forward_pass"] is True
    # Re-run the witness on the stored (float32) numbers, in float64.
    stored = attnbounds.load(path)
    S = [j - 1 for j in w["S"]]
    z = torch.tensor([[float(v[0])] for v in w["z"]], dtype=torch.float64)
    y = torch.tensor([S] * stored.N)
    with torch.no_grad():
        out = stored(z, y)
    target = z[S].mean(dim=0)
    err = torch.linalg.norm(out[0] - target).item()
    assert err > float(eps)
    assert err >= float(res["worst"]["lower"]) - FLOAT64_SLACK
    assert err <= float(res["worst"]["upper"]) + FLOAT64_SLACK
    # At a looser eps the same file holds, with the same certified worst case.
    loose = json.loads(run("check", "qsa", "--model", path, "--eps", "0.5", "--json").stdout)
    assert loose["verdict"] == "holds" and loose["worst"]["upper"] == res["worst"]["upper"]
    # The witness is the worst case: random inputs never exceed the certified upper bound.
    rng = np.random.default_rng(5)
    for _ in range(20):
        zz, yy = random_input(rng, stored.N, stored.q, stored.d)
        with torch.no_grad():
            o = stored(torch.from_numpy(zz), torch.from_numpy(yy)).numpy()
        t = np.stack([zz[row].mean(axis=0) for row in yy])
        assert np.linalg.norm(o - t, axis=1).max() <= float(res["worst"]["upper"]) + FLOAT64_SLACK
