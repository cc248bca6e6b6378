"""The committed package is what the notebooks export, the notebooks are clean, and README.md is current."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _copy(tmp_path):
    dst = tmp_path / "repo"
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(".git", "runs", "*.egg-info", "__pycache__", ".ipynb_checkpoints"))
    return dst


def _tree(path):
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def test_export_matches_committed_package(tmp_path):
    repo = _copy(tmp_path)
    before = _tree(repo / "cookbook")
    subprocess.run(["nbdev_export"], cwd=repo, check=True)
    after = _tree(repo / "cookbook")
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"nbdev_export changes {changed}: run nbdev_export and commit cookbook/"


def test_notebooks_are_clean(tmp_path):
    repo = _copy(tmp_path)
    before = _tree(repo / "nbs")
    subprocess.run(["nbdev_clean"], cwd=repo, check=True)
    after = _tree(repo / "nbs")
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert not changed, f"nbdev_clean changes {changed}: run nbdev_clean and commit the notebooks"


def test_readme_is_generated_from_index():
    r = subprocess.run([sys.executable, str(ROOT / ".ci" / "make_readme.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_exported_code_is_plain_pytorch():
    """No nbdev/fastcore anywhere in the package, and every module imports with Jupyter absent: IPython and
    ipywidgets may only be imported lazily, inside the functions that draw in a notebook (monitor, explorers)."""
    for py in (ROOT / "cookbook").rglob("*.py"):
        text = py.read_text()
        for banned in ("import nbdev", "from nbdev", "from fastcore", "import fastcore"):
            assert banned not in text, f"{py.name} imports {banned}: exported code must be plain PyTorch"
    code = (
        "import sys, importlib, pkgutil\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'nbdev', 'fastcore', 'execnb', 'IPython', 'ipywidgets'}: raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import cookbook\n"
        "names = [m.name for m in pkgutil.walk_packages(cookbook.__path__, 'cookbook.')]\n"
        "for n in names: importlib.import_module(n)\n"
        "print(len(names), 'modules')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert int(r.stdout.split()[0]) >= 20, r.stdout
