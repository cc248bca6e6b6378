"""`.ci/time_chapters.py`, which measured the workshop guide's run times: it runs every cell, times it, and refuses a bad name."""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "time_chapters.py"


def test_times_a_chapter(tmp_path):
    out = tmp_path / "t.jsonl"
    r = subprocess.run([sys.executable, str(SCRIPT), "45_exercises", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    row = json.loads(out.read_text())
    assert row["chapter"] == "45_exercises" and row["error"] == "" and row["seconds"] > 0
    assert len(row["cells"]) == 3 and all(s >= 0 and line for s, line in row["cells"])   # its three slowest cells, named
    assert row["seconds"] >= sum(s for s, _ in row["cells"]) - 0.2
    assert r.stdout.startswith("45_exercises") and "slowest:" in r.stdout


def test_unknown_chapter(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "99_nothing", "--out", str(tmp_path / "t.jsonl")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 1 and r.stderr.strip() == "no chapter 99_nothing.ipynb in nbs/: give a notebook name such as 10_methods.simclr"
    assert not (tmp_path / "t.jsonl").exists()
