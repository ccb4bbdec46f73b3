"""Class match3-local (the hinted/window Match3 unit, psi = power-sum decoder) is not loaded into
PyTorch: load() refuses it with one ModelFileError naming __metadata__.class; its raw tables
still read, and they are the construction's (moment-curve keys, enc(x) = (x, x^2))."""
import os
import subprocess

import pytest

import attnbounds
from attnbounds import safetensors_io

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ATTNBOUNDS_BIN", os.path.join(ROOT, "build", "attnbounds"))


@pytest.mark.parametrize("claim,flag", [("match3-hinted", "--q"), ("match3-window", "--w")])
def test_load_refuses_match3_local(tmp_path, claim, flag):
    path = str(tmp_path / f"{claim}.st")
    r = subprocess.run([BIN, "export", claim, "--N", "5", "--M", "4", flag, "2", "--out", path],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with pytest.raises(attnbounds.ModelFileError) as err:
        attnbounds.load(path)
    assert err.value.field == "__metadata__.class"
    assert "match3-local" in str(err.value) and "power-sum decoder" in str(err.value)
    assert "\n" not in str(err.value)
    meta, arrays, exact = safetensors_io.read(path)
    assert meta["class"] == "match3-local" and meta["psi"] == "power-sum-decoder" and meta["psi_scale"] == "2"
    assert meta["hints"] == ("window" if claim == "match3-window" else "all-subsets")
    assert arrays["key_table"].shape == (5, 4)
    assert [float(v) for v in arrays["key_table"][2]] == [3.0, 9.0, 27.0, 81.0]
    assert [[float(v) for v in row] for row in arrays["value_table"]] == [[x, x * x] for x in range(4)]
    assert arrays["query_table"].shape == ((5, 4) if claim == "match3-window" else (10, 4))
