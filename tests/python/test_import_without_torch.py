"""`import attnbounds` must not import PyTorch (about a second): the verbs do not need it.  The
model classes, load and save bring it in on first use."""
import subprocess
import sys


def run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=None, check=False)


def test_import_does_not_load_torch():
    r = run("import sys\nsys.path[:0] = %r\nimport attnbounds\nprint('torch' in sys.modules)" % (sys.path,))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_model_classes_load_torch_on_first_use():
    r = run("import sys\nsys.path[:0] = %r\nimport attnbounds\nu = attnbounds.QsaTableUnit\n"
            "print('torch' in sys.modules, u.__name__, attnbounds.Match2TableUnit.__name__)" % (sys.path,))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "QsaTableUnit", "Match2TableUnit"]


def test_unknown_attribute_is_an_attribute_error():
    r = run("import sys\nsys.path[:0] = %r\nimport attnbounds\n"
            "try:\n    attnbounds.NoSuchThing\nexcept AttributeError as e:\n    print('AttributeError', e)" % (sys.path,))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("AttributeError")
