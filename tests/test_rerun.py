"""Every student notebook runs top to bottom twice in the same kernel (fast mode).

Students re-run cells and whole notebooks after a kernel hiccup; a second pass must not trip
over state left by the first (a file the first pass saved, a widget, a model already built).
nbval already runs each notebook once in a fresh kernel.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
STUDENT_NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_twice_in_one_kernel(path, tmp_path, monkeypatch):
    assert STUDENT_NOTEBOOKS, "no student notebooks found"
    work = tmp_path / "notebooks"
    work.mkdir()
    shutil.copy(path, work / path.name)
    nb = nbformat.read(str(work / path.name), as_version=4)
    monkeypatch.setenv("MUSEGEN_FAST", "1")  # the kernel inherits the environment
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    with client.setup_kernel():
        for run in (1, 2):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)  # raises CellExecutionError on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []
