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
    for py in (ROOT / "cookbook").rglob("*.py"):
        text = py.read_text()
        for banned in ("import nbdev", "from nbdev", "from fastcore", "import fastcore", "IPython", "get_ipython"):
            assert banned not in text, f"{py.name} imports {banned}: exported code must be plain PyTorch"
