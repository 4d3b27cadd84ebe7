"""Loading a ~1 MB MIDI file: ``load_midi`` side by side with pretty_midi itself."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def _make_big_midi(path: Path) -> None:
    from musegen_helpers.midi_io import save_midi
    from musegen_helpers.music import Note, Piece

    rng = np.random.default_rng(0)
    notes = []
    for part in range(8):
        t = 0.0
        for _ in range(16_000):
            d = float(rng.choice([0.25, 0.5, 1.0]))
            notes.append(Note(int(rng.integers(36, 90)), t, d, int(rng.integers(40, 110)), f"p{part}"))
            t += d
    save_midi(Piece(notes, tempo=100), path)


def run() -> None:
    import pretty_midi

    from musegen_helpers.midi_io import load_midi

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.mid"
        _make_big_midi(path)
        size = path.stat().st_size
        best_ours = best_pm = float("inf")
        for _ in range(3):
            t = time.perf_counter(); piece = load_midi(path); best_ours = min(best_ours, time.perf_counter() - t)
            t = time.perf_counter(); pm = pretty_midi.PrettyMIDI(str(path)); best_pm = min(best_pm, time.perf_counter() - t)
        n_pm = sum(len(i.notes) for i in pm.instruments)
        print(f"file: {size / 1e6:.2f} MB, {len(piece.notes)} notes (pretty_midi: {n_pm})")
        print(f"  load_midi: {best_ours:.3f} s   pretty_midi: {best_pm:.3f} s")
        print(f"RESULT midi_load_s={best_ours:.3f}")
        print(f"RESULT midi_load_vs_pretty_midi={best_ours / best_pm:.2f}")
