"""Execute every chapter notebook top to bottom in its test form (cells flagged `slow`/`gpu` are skipped), and keep each
executed notebook, outputs included, in `_book/executed/` for the rendered book (`.ci/build_book.py`)."""
import json
import os
import sys
import time
from pathlib import Path

import pytest
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory
from nbdev.frontmatter import FrontmatterProc
from nbdev.process import NBProcessor

from test_browser import CHAPTER as BROWSER_CHAPTER, browser_missing

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted((ROOT / "nbs").glob("*.ipynb"))
EXECUTED = ROOT / "_book" / "executed"


def run_notebook(path: Path, skip_flags=("slow", "gpu"), keep: Path | None = EXECUTED) -> tuple:
    """Run `path` as `nbdev_test` does (the same cells skipped: flagged, `#| eval: false`, the `nbdev_export()` cell)
    -> (ok, seconds, error text); on success write the executed notebook into `keep`."""
    os.environ["IN_TEST"] = "1"
    front = getattr(NBProcessor(path, procs=FrontmatterProc, process=True).nb, "frontmatter_", {})
    if str(front.get("skip_exec", False)).lower() == "true": return True, 0.0, ""
    nb = NBProcessor(path, procs=[], process=True).nb   # the title cell stays (FrontmatterProc turns it into frontmatter)
    flags = set(skip_flags)

    def skip(cell):
        if cell.cell_type != "code": return True
        if "nbdev_export" + "(" in cell.source: return True
        directives = getattr(cell, "directives_", {}) or {}
        if directives.get("eval:", [""])[0].lower() == "false": return True
        return bool(flags & directives.keys())

    shell, start = CaptureShell(path), time.time()
    try:
        with working_directory(path.parent):
            shell.run_all(nb, exc_stop=True, preproc=skip)
    except Exception:
        return False, time.time() - start, shell.prettytb(fname=path)
    if keep is not None:   # the notebook as written (directives and all), with the outputs of this run
        original = json.loads(path.read_text(encoding="utf-8"))
        for cell, ran in zip(original["cells"], nb.cells):
            if cell["cell_type"] == "code": cell["outputs"], cell["execution_count"] = ran.get("outputs", []), None
        keep.mkdir(parents=True, exist_ok=True)
        (keep / path.name).write_text(json.dumps(original, indent=1, ensure_ascii=False), encoding="utf-8")
    return True, time.time() - start, ""


def test_there_are_chapters():
    assert len(NBS) >= 8, NBS


@pytest.mark.parametrize("nb", NBS, ids=[p.stem for p in NBS])
def test_notebook_runs(nb, monkeypatch):
    if nb.name == BROWSER_CHAPTER.name and not browser_missing():
        pytest.skip("run top to bottom in JupyterLab by tests/test_browser.py")
    monkeypatch.delenv("COOKBOOK_FULL", raising=False)   # the small form, whatever the caller's environment
    ok, seconds, error = run_notebook(nb)
    if not ok: sys.stderr.write(error + "\n")
    assert ok, f"{nb.name} failed (traceback above)"
