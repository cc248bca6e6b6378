"""Time chapters as a workshop participant runs them: every cell top to bottom (Run All, so `#| slow` cells included;
`#| eval: false` shell cells and the export cell left out), in a scratch copy of `nbs/`, on this machine's threads.

    python .ci/time_chapters.py 00_a_map_of_ssl 10_methods.simclr ... [--out timings.jsonl]

Prints one line per chapter (total seconds and its slowest cells) and appends it, as JSON, to --out."""
import argparse, json, os, shutil, sys, tempfile, time
from pathlib import Path

from execnb.shell import CaptureShell
from fastcore.xtras import working_directory
from nbdev.process import NBProcessor

NBS = Path(__file__).resolve().parents[1] / "nbs"


def time_chapter(path: Path) -> dict:
    "Run every cell of `path` -> {chapter, seconds, cells: [(seconds, first line)] slowest first, error}."
    nb = NBProcessor(path, procs=[], process=True).nb
    marks = []   # (time a cell starts, its first line): the preprocessor is called just before each cell runs

    def skip(cell):
        if cell.cell_type != "code": return True
        directives = getattr(cell, "directives_", {}) or {}
        if "nbdev_export" + "(" in cell.source or directives.get("eval:", [""])[0].lower() == "false": return True
        marks.append((time.time(), next((l for l in cell.source.splitlines() if l and not l.startswith("#|")), "")[:70]))
        return False

    shell, start, error = CaptureShell(path), time.time(), ""
    try:
        with working_directory(path.parent): shell.run_all(nb, exc_stop=True, preproc=skip)
    except Exception as e: error = f"{type(e).__name__}: {e}"[:300]
    end = time.time()
    cells = [(round(b[0] - a[0], 1), a[1]) for a, b in zip(marks, marks[1:] + [(end, "")])]
    return dict(chapter=path.stem, seconds=round(end - start, 1), threads=os.environ.get("OMP_NUM_THREADS", "all"),
                cells=sorted(cells, reverse=True)[:3], error=error)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="+", help="notebook names in nbs/, with or without .ipynb")
    ap.add_argument("--out", default="chapter_timings.jsonl")
    args = ap.parse_args()
    os.environ.pop("COOKBOOK_FULL", None); os.environ.pop("IN_TEST", None)   # the small form, as a participant runs it
    for name in args.chapters:
        if not (NBS / (name if name.endswith(".ipynb") else name + ".ipynb")).exists():
            sys.exit(f"no chapter {name.removesuffix('.ipynb')}.ipynb in nbs/: give a notebook name such as 10_methods.simclr")
    with tempfile.TemporaryDirectory(prefix="cookbook-timing-") as tmp:   # the chapters' own files go there, not into nbs/
        scratch = Path(tmp) / "nbs"
        shutil.copytree(NBS, scratch)
        for name in args.chapters:
            row = time_chapter(scratch / (name if name.endswith(".ipynb") else name + ".ipynb"))
            print(f"{row['chapter']:28s} {row['seconds']:7.1f} s   slowest: " + "; ".join(f"{s} s {l}" for s, l in row["cells"])
                  + (f"   FAILED {row['error']}" if row["error"] else ""), flush=True)
            with open(args.out, "a") as f: f.write(json.dumps(row) + "\n")
