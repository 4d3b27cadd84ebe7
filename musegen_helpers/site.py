"""The course as a static web site: ``python -m musegen_helpers.site [--out site] [--only NN]``.

Executes every solution notebook in fast mode (``MUSEGEN_FAST=1``) and writes one HTML page per
lesson plus an ``index.html`` with a table of contents and each lesson's objectives. Audio
players (WAV as data URIs), score SVGs and plots (PNG) are embedded in the pages, so the site
works opened straight from disk — no server, no internet.

Lesson: instructors (docs/instructor.md)
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
import time
from pathlib import Path

from .config import PROJECT_DIR

__all__ = ["build_site", "lesson_objectives"]


def _title_and_objectives(nb) -> tuple[str, list[str], str]:
    """The lesson's title (first '# ' heading), its objectives list and its time estimate."""
    title, objectives, minutes = "", [], ""
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "colab-header" in cell.metadata.get("tags", []):
            continue
        text = cell.source
        if not title:
            m = re.search(r"^#\s+(.+)$", text, flags=re.M)
            if m:
                title = m.group(1).strip()
        if not objectives and re.search(r"(learn to|will)\b", text, flags=re.I):
            items = re.findall(r"^\s*(?:\d+\.|[-*])\s+(.+)$", text, flags=re.M)
            objectives = [i.strip() for i in items]
        m = re.search(r"Time:\*\*\s*([^\n]+)", text)
        if m and not minutes:
            minutes = m.group(1).strip()
        if title and objectives:
            break
    return title, objectives, minutes


def lesson_objectives(path) -> tuple[str, list[str], str]:
    """``(title, objectives, time estimate)`` read from a lesson notebook."""
    import nbformat

    return _title_and_objectives(nbformat.read(str(path), as_version=4))


def _execute(path: Path, timeout: int):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    env_before = os.environ.get("MUSEGEN_FAST")
    os.environ["MUSEGEN_FAST"] = "1"  # the kernel inherits it: the site is always built in fast mode
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("MUSEGEN_FAST", None)
        else:
            os.environ["MUSEGEN_FAST"] = env_before
    return nb


def _page(nb) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb)
    return body


def _index(lessons: list[dict]) -> str:
    rows = []
    for lesson in lessons:
        items = "".join(f"<li>{html.escape(_plain(o))}</li>" for o in lesson["objectives"])
        time_text = f'<p class="time">⏱ {html.escape(_plain(lesson["time"]))}</p>' if lesson["time"] else ""
        rows.append(f'<section><h2><a href="{lesson["file"]}">{html.escape(_plain(lesson["title"]))}</a></h2>'
                    f'{time_text}<ul>{items}</ul></section>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>musegen — Music Generation with Machine Learning</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
section{{border-top:1px solid #ddd;padding:.5rem 0}} .time{{color:#555;margin:0}} nav a{{margin-right:1rem}}</style>
</head><body>
<h1>musegen — Music Generation with Machine Learning</h1>
<p>Five lessons, each executed in fast mode, with its sound, scores and plots. Run them yourself with
<code>make lab</code>, or open them in Colab from the badge at the top of each lesson.</p>
<nav id="toc">{''.join(f'<a href="{l["file"]}">{html.escape(l["file"][:2])}</a>' for l in lessons)}</nav>
{''.join(rows)}
</body></html>
"""


def _plain(markdown: str) -> str:
    return re.sub(r"[*_`]", "", markdown)


def build_site(out=None, only: list[str] | None = None, timeout: int = 900, root=None) -> list[Path]:
    """Execute the solution notebooks and write the site; returns the pages written."""
    root = Path(root or PROJECT_DIR)
    out = Path(out or root / "site")
    out.mkdir(parents=True, exist_ok=True)
    paths = sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.name.startswith(o) for o in only)]
    if not paths:
        raise SystemExit(f"no solution notebooks found under {root / 'solutions'}")
    lessons, written = [], []
    for path in paths:
        started = time.perf_counter()
        print(f"executing {path.name} ...", flush=True)
        nb = _execute(path, timeout)
        title, objectives, minutes = _title_and_objectives(nb)
        page = out / f"{path.stem}.html"
        tmp = page.with_suffix(".html.tmp")
        tmp.write_text(_page(nb), encoding="utf-8")
        tmp.replace(page)
        written.append(page)
        lessons.append({"file": page.name, "title": title or path.stem, "objectives": objectives,
                        "time": minutes})
        print(f"  wrote {page} ({time.perf_counter() - started:.0f} s)", flush=True)
    index = out / "index.html"
    index.write_text(_index(lessons), encoding="utf-8")
    written.append(index)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m musegen_helpers.site", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="output folder (default: site/)")
    parser.add_argument("--only", nargs="*", help="lesson numbers to build, e.g. 00 02")
    args = parser.parse_args(argv)
    pages = build_site(args.out, args.only)
    print(f"site ready: {pages[-1]} ({len(pages) - 1} lessons)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
