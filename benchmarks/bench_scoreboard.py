"""Lesson 05's scoreboard, computed exactly as the notebook computes it.

Runs the code cells of ``solutions/05_evaluation.ipynb`` in order, up to the cell that builds
the scoreboard (``board``), and prints, per system, its mean overlapped area and mean KL
divergence with held-out real music and (melodies) its copy rate against the training tunes,
plus how long the notebook took to get there. Set ``MUSEGEN_FAST=1`` for the fast-mode numbers
(fewer pieces), as the tests run the notebook.

Lesson: 05_evaluation
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import time
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "05_evaluation.ipynb"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def run() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    namespace: dict = {"__name__": "__notebook__"}
    started = time.perf_counter()
    here = os.getcwd()
    os.chdir(NOTEBOOK.parent)            # the notebook's relative paths (my_music/...) as in Jupyter
    try:
        for cell in cells:
            source = "".join(cell["source"])
            if "google.colab" in source:  # the Colab setup cell does nothing here anyway
                continue
            with contextlib.redirect_stdout(io.StringIO()):   # the notebook's prints and tables
                exec(compile(source, str(NOTEBOOK), "exec"), namespace)
            plt.close("all")
            if "board" in namespace:
                break
    finally:
        os.chdir(here)
    elapsed = time.perf_counter() - started
    board = namespace["board"]
    print(f"RESULT fast_mode={int(bool(namespace['FAST']))}")
    print(f"RESULT notebook_to_scoreboard_s={elapsed:.1f}")
    for row in board:
        key = _slug(row["system"])
        print(f"RESULT {key}_pieces={row['pieces']}")
        for column in ("mean_overlap", "mean_kl", "copy_rate"):
            value = row.get(column)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                print(f"RESULT {key}_{column}={value:.3f}")
