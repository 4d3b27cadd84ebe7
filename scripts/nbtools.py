"""Authoring helper: write a lesson notebook from a list of ("md"|"code", source) cells.

Lesson authors keep the .ipynb in solutions/ as the source of truth; this helper is only a
convenient way to create one from a script (outputs empty, stable cell ids).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import nbformat


def write_notebook(path, cells, *, overwrite=False):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    stem = Path(path).stem
    for i, (kind, source) in enumerate(cells):
        source = source.strip("\n")
        cell_id = hashlib.sha1(f"{stem}-{i}".encode()).hexdigest()[:8]
        if kind == "md":
            cell = nbformat.v4.new_markdown_cell(source, id=cell_id)
        else:
            cell = nbformat.v4.new_code_cell(source, id=cell_id)
        nb.cells.append(cell)
    p = Path(path)
    if p.exists() and not overwrite:
        sys.exit(f"{p} exists; pass overwrite=True")
    nbformat.write(nb, str(p))
    return p
