"""The rendered book (`.ci/build_book.py`), built from the notebooks the test run executed and kept in `_book/executed/`.

Marked `book`: the README's test command runs it in a second pytest call, after the first has executed every notebook."""
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".ci"))
import build_book  # noqa: E402

pytestmark = pytest.mark.book


def test_every_chapter_has_a_page_with_its_figures_and_links_that_resolve():
    info = build_book.build()
    chapters = build_book.chapters()
    assert set(info) == {n[:-len(".ipynb")] + ".html" for n in chapters}
    assert build_book.check(info) == []
    index = (build_book.OUT / "index.html").read_text(encoding="utf-8")
    for n in chapters[1:]:                                    # the contents page links to every chapter
        assert f'href="{n[:-len(".ipynb")]}.html"' in index, n
    assert sum(v["images"] for v in info.values()) >= 40      # figures were kept by the test run, and shown
    page = (build_book.OUT / "47_troubleshooting.html").read_text(encoding="utf-8")
    assert 'href="05_train.html"' in page or 'href="18_collapse.html"' in page   # "chapter *Collapse lab*" became a link


def test_the_check_finds_what_is_wrong(tmp_path):
    ex, out = tmp_path / "executed", tmp_path / "html"
    ex.mkdir()
    nb = {"cells": [{"cell_type": "markdown", "id": "a1", "metadata": {}, "source": "# One\n\n[two](02_two.ipynb#Nowhere), chapter *Two*"},
                    {"cell_type": "code", "id": "a2", "metadata": {}, "execution_count": 1, "source": "",
                     "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBORw0KGgo=", "text/plain": "x"}}]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    two = {"cells": [{"cell_type": "markdown", "id": "b1", "metadata": {}, "source": "# Two\n\n## Somewhere"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    nbs = tmp_path / "nbs"; nbs.mkdir()
    for name, content in [("index.ipynb", two), ("01_one.ipynb", nb), ("02_two.ipynb", two)]:
        (nbs / name).write_text(json.dumps(content))
    with pytest.raises(SystemExit, match="run the README's test command first"):
        build_book.build(ex, out, nbs)
    for name, content in [("index.ipynb", two), ("01_one.ipynb", nb), ("02_two.ipynb", two)]:
        (ex / name).write_text(json.dumps(content))
    info = build_book.build(ex, out, nbs)
    page = (out / "01_one.html").read_text()
    assert '<a href="02_two.html"><em>Two</em></a>' in page                      # the chapter named in prose is linked
    assert build_book.check(info, out) == ["01_one.html: link to 02_two.html#Nowhere: no such anchor"]
    (out / "02_two.html").unlink()
    info["01_one.html"]["images"] = 2
    problems = build_book.check(info, out)
    assert "02_two.html: no page" in problems and "01_one.html: shows 1 images, the executed notebook has 2" in problems
