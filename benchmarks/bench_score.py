"""How long engraving takes: ``show_score`` from a Piece to SVG (notation → MusicXML → verovio).

Three pieces, median of several warm runs each, with the share spent in each stage:

* a 16-bar folk melody from ``load_melodies()``;
* 16 bars of ``rules.compose(accompaniment=True)`` — what lesson 02's composer widget engraves;
* a Bach chorale from ``load_chorales()`` (four staves);
* 32 beats of a 1 000-note played performance (random-ish, onsets off the grid, two hands):
  the path that quantises first.

A widget's full update (sound, piano roll and score) must stay under 400 ms, so the score alone
should take well under that; the last line says whether it does.

Run: ``python -m benchmarks score``. Lesson: 00_welcome, 02_rule_based
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np

REPEATS = 7
BUDGET_MS = 400


def _performance(n_notes: int = 1000, seed: int = 0):
    """A played, two-handed texture: melody over broken chords, onsets jittered by up to ±40 ticks
    at 480 ticks per quarter, notes held 60–100 % of their written length."""
    from musegen_helpers.music import Note, Piece

    rng = np.random.default_rng(seed)
    notes, t = [], 0.0
    while len(notes) < n_notes:
        written = float(rng.choice([0.25, 0.5, 0.5, 1.0]))
        jitter = rng.integers(-40, 41) / 480
        pitch = int(rng.integers(62, 84)) if len(notes) % 2 == 0 else int(rng.integers(40, 60))
        start = max(0.0, t + jitter)
        notes.append(Note(pitch, start, written * rng.uniform(0.6, 1.0), int(rng.integers(50, 100))))
        if len(notes) % 2 == 0:
            t += written
    return Piece(notes, tempo=96, title="performance")


def _time(fn) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run() -> None:
    from musegen_helpers import datasets
    from musegen_helpers.notation import quantize_for_score, to_music21
    from musegen_helpers.score import musicxml_text, show_score

    melodies = datasets.load_melodies()
    tune = next(m for m in melodies if m.time_signature == (4, 4) and len(m.bars()) >= 16 and len(m.notes) >= 80)
    tune = tune.slice(0, 16 * 4)
    chorale = datasets.load_chorales()[0]
    played = _performance()
    excerpt = played.slice(0, 32)
    from musegen_helpers.rules import compose

    widget = compose(bars=16, accompaniment=True, seed=1)  # what lesson 02's composer widget shows
    cases = [("16-bar melody", tune), ("16 bars composed + chords", widget), ("chorale", chorale),
             ("32 beats played (quantised)", excerpt)]
    show_score(tune)  # warm imports and caches
    print(f"{'piece':32s} {'notes':>5s} {'bars':>4s} {'to_music21':>10s} {'musicxml':>9s} {'show_score':>10s}")
    worst = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, piece in cases:
            ready = quantize_for_score(piece)[0]
            t_m21 = _time(lambda: to_music21(ready))
            t_xml = _time(lambda: musicxml_text(piece))
            t_all = _time(lambda: show_score(piece))
            worst = max(worst, t_all)
            print(f"{name:32s} {len(piece.notes):5d} {len(ready.bars()):4d} {t_m21:8.0f}ms {t_xml:7.0f}ms {t_all:8.0f}ms")
    verdict = "within" if worst < BUDGET_MS else "OVER"
    print(f"slowest show_score: {worst:.0f} ms — {verdict} a widget's {BUDGET_MS} ms for the whole update "
          "(sound and piano roll come on top: see `python -m benchmarks widgets`)")


if __name__ == "__main__":
    run()
