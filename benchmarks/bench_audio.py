"""Synthesis speed: seconds of four-voice audio rendered per second of compute.

Side by side: the course's wavetable synth and a naive additive synth (five ``sin`` calls
per sample) rendering the same chorale. Target: >= 500x real time.
"""

from __future__ import annotations

import time

import numpy as np


def _naive_render(piece, sr=22_050):
    from musegen_helpers.music import pitch_to_frequency

    out = np.zeros(int(piece.duration_seconds * sr) + sr // 10)
    for n in piece.notes:
        a = int(piece.seconds_at(n.start) * sr)
        b = int(piece.seconds_at(n.end) * sr)
        t = np.arange(b - a) / sr
        f = pitch_to_frequency(n.pitch)
        out[a:b] += sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 6)) * 0.1
    return out


def _best_of(fn, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run() -> None:
    import music21

    from musegen_helpers.audio import SAMPLE_RATE, render
    from musegen_helpers.midi_io import from_music21

    piece = from_music21(music21.corpus.parse("bach/bwv66.6"))
    seconds = piece.duration_seconds
    ours = _best_of(lambda: render(piece))
    naive = _best_of(lambda: _naive_render(piece))
    print(f"four-voice chorale, {seconds:.1f} s of audio at {SAMPLE_RATE} Hz")
    print(f"  wavetable synth: {ours * 1000:.1f} ms  ({seconds / ours:.0f}x real time)")
    print(f"  naive 5-sin synth: {naive * 1000:.1f} ms  ({seconds / naive:.0f}x real time)")
    print(f"RESULT synth_realtime_factor={seconds / ours:.0f}")
    print(f"RESULT synth_speedup_vs_naive={naive / ours:.2f}")
