"""Build the rendered book: static HTML pages of every chapter with its outputs, from the notebooks the test run executed.

    python .ci/build_book.py            # reads _book/executed/*.ipynb, writes _book/html/ (open _book/html/index.html)
    python .ci/build_book.py --check    # also checks every page, figure and link, and exits 1 naming what is wrong

The test run (`python -m pytest tests ...`, the README's test command) keeps each notebook it executed, outputs included,
in `_book/executed/`; this script converts those, it never runs a notebook again. nbdev's own docs tool needs Quarto,
which cannot be installed from the package registries, so the pages come from nbconvert's HTML exporter ("lab" template).
Links: `*.ipynb` links become `*.html`, and a chapter named in the prose ("chapter *Train*") links to its page."""
from __future__ import annotations

import argparse
import html
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS, EXECUTED, OUT = ROOT / "nbs", ROOT / "_book" / "executed", ROOT / "_book" / "html"


def chapters(nbs: Path = NBS) -> list:
    "The book's notebooks in reading order: the index first, then the chapters by file name."
    names = sorted(p.name for p in nbs.glob("*.ipynb"))
    return ["index.ipynb"] + [n for n in names if n != "index.ipynb"]


def title_of(nb: dict, fallback: str) -> str:
    "The text of the notebook's first `# ` heading."
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "): return line[2:].strip()
    return fallback


def is_hidden(cell: dict) -> bool:
    "A cell the docs leave out, as nbdev's do: `#| hide` (imports, the export call)."
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    return cell["cell_type"] == "code" and any(line.strip() in ("#| hide", "#|hide") for line in source.splitlines())


def image_outputs(nb: dict) -> int:
    "How many images the notebook's outputs hold (what its page must show)."
    return sum(1 for c in nb["cells"] for o in c.get("outputs", []) if any(k.startswith("image/") for k in o.get("data", {})))


def _widget_html(model_id: str, state: dict) -> str:
    "Static HTML for widget `model_id` as saved in `state` (JupyterLab's widget state): boxes, images, text, and each control's value."
    m = state.get(model_id)
    if m is None: return ""
    name, st = m["model_name"], m.get("state", {})
    child = lambda ref: _widget_html(ref.removeprefix("IPY_MODEL_"), state)
    desc = html.escape(st.get("description", "") or "")
    if name in ("VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel"):
        direction = "row" if name == "HBoxModel" else "column"
        inner = "".join(child(c) for c in st.get("children", []))
        return f'<div style="display:flex;flex-direction:{direction};flex-wrap:wrap;gap:6px;align-items:flex-start">{inner}</div>'
    if name == "ImageModel":
        data = next((b["data"] for b in m.get("buffers", []) if b.get("path") == ["value"]), "")
        width = st.get("width") or ""
        style = f"width:{width}px;" if str(width).isdigit() else ""
        return f'<img src="data:image/{st.get("format", "png")};base64,{data}" style="{style}max-width:100%" alt="{desc or "explorer figure"}">'
    if name in ("HTMLModel", "HTMLMathModel"): return f"<div>{(desc + ' ') if desc else ''}{st.get('value', '')}</div>"
    if name == "LabelModel": return f"<div>{html.escape(str(st.get('value', '')))}</div>"
    if name in ("DropdownModel", "ToggleButtonsModel", "RadioButtonsModel", "SelectModel"):
        labels, i = st.get("_options_labels", []), st.get("index")
        value = labels[i] if isinstance(i, int) and 0 <= i < len(labels) else ""
        return f'<div style="font-family:sans-serif;font-size:13px">{desc} <b>{html.escape(str(value))}</b></div>'
    if "Slider" in name or name in ("CheckboxModel", "ToggleButtonModel", "TextModel", "FloatTextModel", "IntTextModel"):
        value = st.get("value", 0)                    # the saved state leaves out values at their default
        if isinstance(value, float): value = format(value, st.get("readout_format") or ".3g")
        return f'<div style="font-family:sans-serif;font-size:13px">{desc} <b>{html.escape(str(value))}</b></div>'
    return ""


def static_widgets(nb: dict) -> int:
    "Replace each widget output of `nb` with a static picture of its saved state (no kernel, no script needed) -> how many."
    state = nb.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    n = 0
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view is None: continue
            snapshot = _widget_html(view["model_id"], state)
            if not snapshot: continue
            note = '<div style="font-size:12px;color:#666">(the explorer as Run All left it: run the notebook to move its controls)</div>'
            out["data"] = {"text/html": note + snapshot}
            n += 1
    nb.get("metadata", {}).pop("widgets", None)
    return n


def _link_chapters(body: str, titles: dict) -> str:
    "`chapter <em>T</em>` (and lists: `chapters <em>A</em> and <em>B</em>`) -> links, for every T that is a chapter's title."
    def one(m):
        t = html.unescape(m.group(1))
        return f'<a href="{titles[t]}"><em>{m.group(1)}</em></a>' if t in titles else m.group(0)
    def group(m):
        return m.group(1) + re.sub(r"<em>([^<]+)</em>", one, m.group(2))
    return re.sub(r"(\b[Cc]hapters?\s+)((?:<em>[^<]+</em>(?:,\s*|\s+and\s+|\s+or\s+)?)+)", group, body)


def _link_notebook_names(body: str, pages: dict) -> str:
    "`<code>10_methods.simclr</code>` (the chapter table) -> a link to that chapter's page."
    return re.sub(r"<code>([0-9A-Za-z_.]+)</code>",
                  lambda m: f'<a href="{pages[m.group(1)]}"><code>{m.group(1)}</code></a>' if m.group(1) in pages else m.group(0), body)


def _nav(i: int, order: list, titles_by_page: dict) -> str:
    prev = f'<a href="{order[i - 1]}">&larr; {html.escape(titles_by_page[order[i - 1]])}</a>' if i > 0 else ""
    nxt = f'<a href="{order[i + 1]}">{html.escape(titles_by_page[order[i + 1]])} &rarr;</a>' if i + 1 < len(order) else ""
    return ('<nav class="cookbook-nav" style="display:flex;justify-content:space-between;gap:1em;padding:0.6em 1em;'
            'border-bottom:1px solid #ddd;font-family:sans-serif;font-size:14px">'
            f'<span>{prev}</span><a href="index.html">Contents</a><span>{nxt}</span></nav>')


def build(executed: Path = EXECUTED, out: Path = OUT, nbs: Path = NBS) -> dict:
    "Convert every executed notebook into `out/*.html` -> `{page: {title, images expected}}`; raises SystemExit naming what is missing."
    import nbformat
    from nbconvert import HTMLExporter
    order_nb = chapters(nbs)
    missing = [n for n in order_nb if not (executed / n).exists()]
    if missing:
        raise SystemExit(f"no executed copy of {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} in {executed}: "
                         f"run the README's test command first (it executes the notebooks and keeps them there)")
    out.mkdir(parents=True, exist_ok=True)
    nbs_read = {n: json.loads((executed / n).read_text(encoding="utf-8")) for n in order_nb}
    page = lambda n: n[:-len(".ipynb")] + ".html"
    order = [page(n) for n in order_nb]
    titles_by_page = {page(n): title_of(nb, n) for n, nb in nbs_read.items()}
    titles = {t: p for p, t in titles_by_page.items() if p != "index.html"}
    stems = {n[:-len(".ipynb")]: page(n) for n in order_nb}
    exporter = HTMLExporter(template_name="lab", exclude_raw=True, exclude_input_prompt=True, exclude_output_prompt=True)
    info = {}
    for i, n in enumerate(order_nb):
        nbs_read[n]["cells"] = [c for c in nbs_read[n]["cells"] if not is_hidden(c)]
        widgets = static_widgets(nbs_read[n])
        body, _ = exporter.from_notebook_node(nbformat.reads(json.dumps(nbs_read[n]), as_version=4))
        body = re.sub(r'href="(?!https?:|mailto:|#)([^"#]+)\.ipynb(#[^"]*)?"', lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', body)
        body = _link_chapters(body, titles)
        if n == "index.ipynb": body = _link_notebook_names(body, stems)
        body = re.sub(r"<title>[^<]*</title>", f"<title>{html.escape(titles_by_page[page(n)])} - cookbook</title>", body, count=1)
        body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _nav(i, order, titles_by_page), body, count=1)
        (out / page(n)).write_text(body, encoding="utf-8")
        info[page(n)] = {"title": titles_by_page[page(n)], "images": image_outputs(nbs_read[n]), "widgets": widgets}
    return info


def check(info: dict, out: Path = OUT) -> list:
    "Problems with the built pages: a missing page, fewer figures than the notebook's outputs, a link or anchor that does not resolve."
    problems, ids = [], {}
    for p in info:
        f = out / p
        if not f.exists(): problems.append(f"{p}: no page"); continue
        text = f.read_text(encoding="utf-8")
        ids[p] = set(re.findall(r'\bid="([^"]+)"', text))
        shown = len(re.findall(r'<img[^>]+src="data:image/', text)) + len(re.findall(r"<svg", text))
        if shown < info[p]["images"]: problems.append(f"{p}: shows {shown} images, the executed notebook has {info[p]['images']}")
    for p in info:
        f = out / p
        if not f.exists(): continue
        for href in re.findall(r'<a [^>]*href="([^"]+)"', f.read_text(encoding="utf-8")):
            if re.match(r"(https?:|mailto:|data:)", href): continue
            target, _, anchor = href.partition("#")
            target = target or p
            if target not in info and not (out / target).exists(): problems.append(f"{p}: link to {href} has no page"); continue
            if anchor and target in ids and anchor not in ids[target]: problems.append(f"{p}: link to {href}: no such anchor")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="check pages, figures and links after building; exit 1 naming any problem")
    args = ap.parse_args(argv)
    info = build()
    print(f"wrote {len(info)} pages to {OUT.relative_to(ROOT)}/ (open {OUT.relative_to(ROOT)}/index.html), "
          f"{sum(v['images'] for v in info.values())} figures")
    if args.check:
        problems = check(info)
        for p in problems: print(p)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
