"""Execute every chapter notebook top to bottom in its small CPU form (cells flagged `slow`/`gpu` are skipped)."""
from pathlib import Path

import nbdev.test as nbt
import pytest

from test_browser import CHAPTER as BROWSER_CHAPTER, browser_missing

NBS = sorted((Path(__file__).resolve().parents[1] / "nbs").glob("*.ipynb"))


def test_there_are_chapters():
    assert len(NBS) >= 8, NBS


@pytest.mark.parametrize("nb", NBS, ids=[p.stem for p in NBS])
def test_notebook_runs(nb, monkeypatch):
    if nb.name == BROWSER_CHAPTER.name and not browser_missing():
        pytest.skip("run top to bottom in JupyterLab by tests/test_browser.py")
    monkeypatch.delenv("COOKBOOK_FULL", raising=False)   # the small form, whatever the caller's environment
    ok, seconds = nbt.test_nb(nb, skip_flags=["slow", "gpu"])
    assert ok, f"{nb.name} failed (traceback above)"
