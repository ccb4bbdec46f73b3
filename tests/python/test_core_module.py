"""The compiled module attnbounds_core: its typed results equal the CLI's JSON (verdict, cases,
worst case, witness) on passing and failing instances of qSA, qSA model files, Match2 and min-p."""
import json
import os
import subprocess
from fractions import Fraction

import pytest

import attnbounds

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ATTNBOUNDS_BIN", os.path.join(ROOT, "build", "attnbounds"))

if attnbounds.core is None:
    if os.environ.get("ATTNBOUNDS_REQUIRE_CORE") == "ON":
        raise ImportError("attnbounds_core was built but cannot be imported")
    pytest.skip("attnbounds_core not built (pybind11 not found)", allow_module_level=True)
core = attnbounds.core


def cli(*args):
    r = subprocess.run([BIN, *args, "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def outward(cli_lower, cli_upper, lower, upper):
    """The CLI prints the enclosure rounded outward to 17 digits."""
    lo, hi = Fraction(cli_lower), Fraction(cli_upper)
    lower, upper = Fraction(lower), Fraction(upper)
    assert lo <= lower <= upper <= hi
    scale = max(abs(lower), abs(upper), Fraction(1, 10**300))
    assert (lower - lo) / scale < Fraction(1, 10**15) and (hi - upper) / scale < Fraction(1, 10**15)


@pytest.mark.parametrize("construction,args,kw", [
    ("qsa-cyclic", ["--N", "8", "--q", "2"], dict(N=8, q=2)),
    ("qsa-cyclic", ["--N", "9", "--q", "2", "--c", "1/2"], dict(N=9, q=2, c="1/2")),
    ("qsa-rip", ["--N", "10", "--q", "2", "--semantics", "embed:bf16"], dict(N=10, q=2, semantics="embed:bf16")),
])
def test_check_qsa_equals_cli(construction, args, kw):
    a = cli("check", construction, *args)
    b = core.check_qsa(construction, threads=2, **kw)
    assert b["verdict"] == a["verdict"]
    assert b["cases"] == a["cases"]
    assert isinstance(b["worst"]["lower"], Fraction)
    outward(a["worst"]["lower"], a["worst"]["upper"], b["worst"]["lower"], b["worst"]["upper"])
    assert b["worst"]["witness"]["S"] == a["worst"]["witness"]["S"]
    assert b["worst"]["witness"]["z"] == [[int(v) for v in row] for row in a["worst"]["witness"]["z"]]
    assert b["c"] == Fraction(a["params"]["c"])


def test_check_qsa_model_and_min_p_equal_cli(tmp_path):
    path = str(tmp_path / "c.st")
    subprocess.run([BIN, "export", "qsa-cyclic", "--N", "9", "--q", "2", "--c", "1/2", "--out", path], check=True,
                   capture_output=True)
    a = cli("check", "qsa", "--model", path, "--eps", "0.1")
    b = core.check_qsa_model(path, eps="0.1")
    assert (b["verdict"], b["cases"]) == (a["verdict"], a["cases"]) == ("fails", 36)
    outward(a["worst"]["lower"], a["worst"]["upper"], b["worst"]["lower"], b["worst"]["upper"])
    assert b["worst"]["witness"]["S"] == a["worst"]["witness"]["S"]
    assert b["worst"]["witness"]["verified_by_forward_pass"] is True
    m = cli("min-p", "qsa-cyclic", "--N", "8", "--q", "2", "--p-max", "24")
    n = core.min_p_qsa("qsa-cyclic", N=8, q=2, p_max=24)
    assert n["p_star"] == m["p_star"]
    assert n["verdict"] == m["verdict"]
    assert [(r["p"], r["verdict"]) for r in n["table"]] == [(r["p"], r["verdict"]) for r in m["table"]]


def same_match(a, b):
    assert b["verdict"] == a["verdict"]
    assert b["cases"] == a["cases"]
    assert b["fallback_cases"] == a["fallback_cases"]
    outward(a["worst"]["lower"], a["worst"]["upper"], b["worst"]["lower"], b["worst"]["upper"])
    for key in ("x", "token", "model", "truth"):
        assert b["worst"]["witness"].get(key) == a["worst"]["witness"].get(key)
    if a["verdict"] == "fails":
        assert b["worst"]["witness"]["verified"] is True


@pytest.mark.parametrize("args,kw", [
    (["--N", "6", "--M", "8"], dict(N=6, M=8)),
    (["--N", "6", "--M", "8", "--c", "1"], dict(N=6, M=8, c="1")),
    (["--N", "5", "--M", "16", "--semantics", "embed:float:3"], dict(N=5, M=16, semantics="embed:float:3")),
])
def test_check_match2_equals_cli(tmp_path, args, kw):
    same_match(cli("check", "match2", *args), core.check_match2(threads=2, **kw))
    path = str(tmp_path / "m.st")
    exp = [a for a in args if a not in ("--semantics",) and not a.startswith("embed")]
    subprocess.run([BIN, "export", "match2", *exp, "--out", path], check=True, capture_output=True)
    sem = kw.get("semantics", "exact")
    same_match(cli("check", "match2", "--model", path, "--semantics", sem), core.check_match2_model(path, semantics=sem))


def test_bad_input_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="N"):
        core.check_match2(N=1, M=8)
    with pytest.raises(ValueError, match="construction"):
        core.check_qsa("qsa-other")
    bad = tmp_path / "bad.st"
    bad.write_bytes(b"\x01\x00")
    with pytest.raises(ValueError, match="header length"):
        core.check_match2_model(str(bad))


@pytest.mark.parametrize("args", [["--N", "5", "--M", "6"], ["--N", "5", "--M", "6", "--c", "3"]])
def test_check_attention_unit_file_equals_cli(tmp_path, args):
    """A file of class attention-unit goes through the general unit's checker in both."""
    path = str(tmp_path / "u.st")
    subprocess.run([BIN, "export", "match2", "--class", "attention-unit", *args, "--out", path], check=True,
                   capture_output=True)
    for task, call in (("match2", core.check_match2_model), ("match3", core.check_match3_model)):
        r = call(path)
        assert r["class"] == "attention-unit"
        assert r["inputs"] == 252  # C(6+5-1, 5) sorted inputs
        same_match(cli("check", task, "--model", path), r)


@pytest.mark.parametrize("eps", ["0.1", "0.001"])
def test_check_qsa_unit_file_equals_cli(tmp_path, eps):
    """A qsa-unit file goes through its own row sweep in both; the witness z is exact."""
    path = str(tmp_path / "u.st")
    subprocess.run([BIN, "export", "qsa-cyclic", "--class", "qsa-unit", "--N", "9", "--q", "2", "--out", path],
                   check=True, capture_output=True)
    a = cli("check", "qsa", "--model", path, "--eps", eps)
    b = core.check_qsa_model(path, eps=eps)
    assert b["class"] == "qsa-unit"
    assert (b["verdict"], b["cases"]) == (a["verdict"], a["cases"])
    assert b["worst_case"] == a["worst_case"]
    outward(a["worst"]["lower"], a["worst"]["upper"], b["worst"]["lower"], b["worst"]["upper"])
    assert b["worst"]["witness"]["S"] == a["worst"]["witness"]["S"]
    assert b["worst"]["witness"]["z"] == [[Fraction(v) for v in row] for row in a["worst"]["witness"]["z"]]
    if a["verdict"] == "fails":
        assert b["worst"]["witness"]["verified_by_forward_pass"] is True
