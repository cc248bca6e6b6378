#!/usr/bin/env python
"""Clean the notebooks: `nbdev_clean`, then the notebook metadata that JupyterLab writes when it opens a notebook.

JupyterLab sets `kernelspec` and `language_info` to what the kernel reports as soon as a kernel starts, and a
notebook whose values differ is modified ("save changes?") before the reader has touched it. `nbdev_clean` alone
resets the kernelspec's display name to its `name` ("python3"), which JupyterLab replaces by "Python 3 (ipykernel)".
`language_info.version` is the kernel's Python: the value below is the Python that CI and the book's notebooks run
on; with another Python, JupyterLab rewrites that one field.

    python .ci/clean_nbs.py            # clean nbs/ in place
    python .ci/clean_nbs.py --check    # exit 1, naming them, if any notebook would change
"""
import copy, json, subprocess, sys
from pathlib import Path

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py", "mimetype": "text/x-python",
                 "name": "python", "nbconvert_exporter": "python", "pygments_lexer": "ipython3", "version": "3.11.7"}
ROOT = Path(__file__).resolve().parents[1]


def jupyterlab_metadata(nb: dict) -> dict:
    "`nb` with the metadata JupyterLab would write on opening it, nothing else changed."
    nb = copy.deepcopy(nb)
    nb["metadata"].update(kernelspec=dict(KERNELSPEC), language_info=copy.deepcopy(LANGUAGE_INFO))
    return nb


def dumps(nb: dict) -> str:
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"   # nbdev's (execnb's) layout


def main(check: bool = False) -> int:
    nbs = sorted((ROOT / "nbs").glob("*.ipynb"))
    before = {p: p.read_text(encoding="utf-8") for p in nbs}
    subprocess.run(["nbdev_clean"], cwd=ROOT, check=True)
    changed = []
    for p in nbs:
        text = dumps(jupyterlab_metadata(json.loads(p.read_text(encoding="utf-8"))))
        if text != before[p]: changed.append(p.name)
        p.write_text(before[p] if check else text, encoding="utf-8")
    if check and changed:
        print(f"not clean: {', '.join(changed)}; run `python .ci/clean_nbs.py` and commit the notebooks")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv[1:]))
