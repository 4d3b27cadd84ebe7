"""How long a widget takes to answer a control change (lesson 02's composer widget, 16 bars).

Two numbers, median over several changes of the seed, measured warm:

* ``widget_sound_ms`` — from the change to the new sound being ready: compose the piece and
  encode the WAV player (``play``), as ``MusicControls.update`` does first (target < 100 ms);
* ``widget_full_ms`` — the whole update: also the piano roll drawn and rendered to PNG, and the
  score engraved to SVG (target < 400 ms).

The updates run inside an IPython shell with matplotlib's inline backend, so ``display`` does
the same work as in a notebook: the player's HTML with the WAV in base64, the figure rendered to
PNG, the score's SVG. Only the messages to the browser are missing.

Lesson: 02_rule_based
"""

from __future__ import annotations

import contextlib
import io
import time

import numpy as np

BARS = 16
REPEATS = 20


def _notebook_like_shell():
    """An IPython shell whose ``display`` computes every rich format, as a kernel would."""
    import matplotlib

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import select_figure_formats

    shell = InteractiveShell.instance()
    select_figure_formats(shell, {"png"})   # what the inline backend does: display(fig) -> PNG
    return shell


def _composer_widget():
    import ipywidgets as widgets

    from musegen_helpers.rules import RuleSet, compose
    from musegen_helpers.widgets import music_controls

    def make_piece(tonic, mode, progression, seed, cadence):
        return compose(f"{tonic} {mode}", progression, bars=BARS, seed=seed, tempo=100,
                       rules=RuleSet(cadence=cadence), accompaniment=True)

    controls = {
        "tonic": widgets.Text(value="C"),
        "mode": widgets.Dropdown(options=["major", "minor"], value="major"),
        "progression": widgets.Dropdown(options=["pop", "classical"], value="pop"),
        "seed": widgets.IntText(value=0),
        "cadence": widgets.Checkbox(value=True),
    }
    return music_controls(make_piece, controls, run=False)


def _median_ms(values) -> float:
    return float(np.median(values) * 1000.0)


def run() -> None:
    _notebook_like_shell()
    mc = _composer_widget()
    sound, full, parts = [], [], {"make": [], "sound": [], "roll": [], "score": []}
    sink = io.StringIO()  # a plain shell prints text/plain reprs; the rich formats are still computed
    with contextlib.redirect_stdout(sink):
        for seed in range(2):            # warm: imports, caches, first figure, first engraving
            mc.controls["seed"].value = 1000 + seed
        for seed in range(REPEATS):
            t = time.perf_counter()
            mc.controls["seed"].value = seed    # the observer runs update() synchronously
            total = time.perf_counter() - t
            if mc.error is not None:
                raise RuntimeError(f"the widget failed: {mc.error}")
            timings = dict(mc.timings)
            sound.append(timings["make"] + timings["sound"])
            full.append(total)
            for name in parts:
                parts[name].append(timings[name])
    notes = len(mc.piece.notes)
    print(f"(16-bar melody with chords: {notes} notes; medians of {REPEATS} seed changes)")
    for name, values in parts.items():   # where the time goes: compose, WAV, piano roll + PNG, score SVG
        print(f"RESULT widget_step_{name}_ms={_median_ms(values):.1f}")
    print(f"RESULT widget_sound_ms={_median_ms(sound):.1f}")
    print(f"RESULT widget_full_ms={_median_ms(full):.1f}")
    # the fastest change: close to what an idle machine gives when other jobs share the cores
    print(f"RESULT widget_sound_min_ms={min(sound) * 1000:.1f}")
    print(f"RESULT widget_full_min_ms={min(full) * 1000:.1f}")
    print(f"RESULT widget_sound_budget_ratio={_median_ms(sound) / 100.0:.3f}")   # target < 100 ms
    print(f"RESULT widget_full_budget_ratio={_median_ms(full) / 400.0:.3f}")     # target < 400 ms


if __name__ == "__main__":
    run()
