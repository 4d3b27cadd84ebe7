"""The course as a static web site: ``python -m musegen_helpers.site [--out site] [--only NN]``.

Executes every solution notebook in fast mode (``MUSEGEN_FAST=1``) and writes one HTML page per
lesson plus an ``index.html`` with a table of contents and each lesson's objectives. Audio
players (WAV as data URIs), score SVGs and plots (PNG) are embedded in the pages, so the site
works opened straight from disk — no server, no internet.

Every picture has a text description for readers who cannot see it: a matplotlib figure's comes
from its titles and axis labels (:func:`figure_alt_text`, stored in the output's display metadata
as ``{"image/png": {"alt": ...}}`` while the notebook runs, see :func:`install_alt_text`) and
becomes the ``<img alt>`` of the page; an engraved score carries ``role="img"`` and an
``aria-label`` ("Score: <title>, N bars in <meter>", :func:`musegen_helpers.score.score_alt_text`).

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

__all__ = ["build_site", "lesson_objectives", "figure_alt_text", "install_alt_text", "images_without_alt"]


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


_PLACEHOLDER_ALT = "No description has been provided for this image"  # what nbconvert writes


def _describe_axes(ax) -> str:
    """One panel: what kind of plot, its y against its x, and its title."""
    xlabel, ylabel, title = ax.get_xlabel().strip(), ax.get_ylabel().strip(), ax.get_title().strip()
    if "pitch" in ylabel.lower() and "time" in xlabel.lower():
        kind = "Piano roll"
    elif ax.images:
        kind = "Image plot"
    elif len(ax.patches) >= 2:
        kind = "Bar chart"
    elif ax.lines or ax.collections:
        kind = "Line plot" if ax.lines else "Scatter plot"
    else:
        kind = "Plot"
    text = kind
    if xlabel and ylabel:
        text += f": {ylabel} against {xlabel}"
    elif xlabel or ylabel:
        text += f": {xlabel or ylabel}"
    return f"{text} — {title}" if title else text


def figure_alt_text(fig, max_chars: int = 600) -> str:
    """A text description of a matplotlib figure, from its titles and axis labels.

    One phrase per panel, e.g. ``"Piano roll: pitch against time (quarter notes) — Twinkle"``;
    identical panels are counted (``"8 panels: Piano roll: pitch against time (16ths) — untrained"``),
    the figure's suptitle comes first, and the text is cut at ``max_chars`` characters.

    Lesson: instructors (the course site's ``<img alt>``)
    """
    parts: list[str] = []
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text().strip():
        parts.append(suptitle.get_text().strip())
    panels: dict[str, int] = {}
    for ax in fig.get_axes():
        if not ax.get_visible() or not ax.axison and not ax.images and not ax.get_title():
            continue  # an empty grid cell or a colour bar's frame
        description = _describe_axes(ax)
        panels[description] = panels.get(description, 0) + 1
    for description, count in panels.items():
        parts.append(f"{count} panels: {description}" if count > 1 else description)
    text = ". ".join(parts) or "Figure without titles or axis labels"
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def install_alt_text(shell=None) -> None:
    """Make every matplotlib figure a kernel displays carry its :func:`figure_alt_text`.

    The IPython PNG/JPEG/SVG formatters return ``(data, {"alt": text})`` for a figure, so the
    output's display metadata holds ``{"image/png": {"alt": text}}``; :func:`build_site` runs this
    in each lesson's kernel before the first cell. Figures shown by matplotlib's inline backend,
    by ``display(fig)`` or as a cell's value are all covered; a size the formatter gives (the
    ``retina`` format's width and height) is kept.

    Lesson: instructors (the course site's ``<img alt>``)
    """
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    for mime in ("image/png", "image/jpeg", "image/svg+xml"):
        formatter = formatters.get(mime)
        if formatter is None or getattr(formatter, "_musegen_alt", False):
            continue

        class _WithAlt(type(formatter)):  # keeps every printer registered on the instance
            _musegen_alt = True

            def __call__(self, obj):
                data = super().__call__(obj)
                figure_module = sys.modules.get("matplotlib.figure")
                if data is None or figure_module is None or not isinstance(obj, figure_module.Figure):
                    return data
                data, metadata = data if isinstance(data, tuple) else (data, None)  # retina: (png, size)
                return data, {**(metadata or {}), "alt": figure_alt_text(obj)}

        formatter.__class__ = _WithAlt


_INSTALL_ALT_TEXT = "from musegen_helpers.site import install_alt_text\ninstall_alt_text()"


def _execute(path: Path, timeout: int):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    preamble = nbformat.v4.new_code_cell(_INSTALL_ALT_TEXT)
    nb.cells.insert(0, preamble)
    # the kernel inherits these: the site is always built in fast mode, with figures drawn inline
    # (a test run or a shell may have set MPLBACKEND=Agg, which would leave the pages without plots)
    kernel_env = {"MUSEGEN_FAST": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    env_before = {name: os.environ.get(name) for name in kernel_env}
    os.environ.update(kernel_env)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for name, value in env_before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    nb.cells.remove(preamble)  # the page shows the lesson only, numbered from 1
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("execution_count"):
            cell.execution_count -= 1
    return nb


# the lab template's picture blocks, with the alt text from the output's display metadata
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% macro alt_text(output, mime) -%}
{{ (output.metadata.get(mime, {}).get('alt') or '') | escape_html }}
{%- endmacro %}
{% macro size(output, mime) -%}
{%- for name in ('width', 'height') -%}
{%- set value = output | get_metadata(name, mime) -%}
{%- if value is not none %} {{ name }}={{ value | escape_html }}{% endif -%}
{%- endfor -%}
{%- endmacro %}
{% block data_png scoped %}
{%- set alt = alt_text(output, 'image/png') -%}
{%- if alt and 'image/png' not in output.metadata.get('filenames', {}) -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}" alt="{{ alt }}"{{ size(output, 'image/png') }}>
</div>
{%- else -%}{{ super() }}{%- endif -%}
{% endblock data_png %}
{% block data_jpg scoped %}
{%- set alt = alt_text(output, 'image/jpeg') -%}
{%- if alt and 'image/jpeg' not in output.metadata.get('filenames', {}) -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/jpeg;base64,{{ output.data['image/jpeg'] | escape_html }}" alt="{{ alt }}"{{ size(output, 'image/jpeg') }}>
</div>
{%- else -%}{{ super() }}{%- endif -%}
{% endblock data_jpg %}
{% block data_svg scoped %}
{%- set alt = alt_text(output, 'image/svg+xml') -%}
{%- if alt and not output.svg_filename -%}
<div class="jp-RenderedSVG jp-OutputArea-output {{ extra_class }}" data-mime-type="image/svg+xml">
<img src="data:image/svg+xml;base64,{{ output.data['image/svg+xml'] | text_base64 | escape_html }}" alt="{{ alt }}">
</div>
{%- else -%}{{ super() }}{%- endif -%}
{% endblock data_svg %}
"""


def _page(nb) -> str:
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"musegen.html.j2": _TEMPLATE})],
                            template_file="musegen.html.j2")
    body, _ = exporter.from_notebook_node(nb)
    return body


def images_without_alt(page_html: str) -> list[str]:
    """The ``src`` (first 60 characters) of each ``<img>`` in a page whose ``alt`` is missing, empty
    or nbconvert's stand-in text ("No description has been provided for this image").

    Lesson: instructors (the course site's ``<img alt>``)
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page_html, features="html.parser")
    return [img.get("src", "")[:60] for img in soup.find_all("img")
            if not (img.get("alt") or "").strip() or img.get("alt") == _PLACEHOLDER_ALT]


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
        text = _page(nb)
        missing = images_without_alt(text)
        if missing:
            print(f"  {len(missing)} picture(s) in {page.name} have no description (alt text): "
                  "give them a title or axis labels, or display them with metadata={'alt': ...}", flush=True)
        tmp.write_text(text, encoding="utf-8")
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
