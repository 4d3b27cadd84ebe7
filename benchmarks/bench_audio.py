"""Synthesis speed and loudness of the course's built-in synthesiser (musegen_helpers.audio).

Speed: seconds of audio rendered per second of compute, for the same four-voice chorale in each
timbre (``plucked``, ``sustained``) side by side with a naive additive synth (five ``sin`` calls
per sample per note), and for a 16-bar melody. Target: >= 500x real time for every timbre.

Loudness: what a learner hears from ``play`` — the gated RMS (``audio.loudness_dbfs``, dBFS) and
the peak of a dataset melody, a Bach chorale, a dense random piano roll (what an untrained GAN
plays) and one long note, before and after ``normalize_loudness``. Target: every played clip
within 2 dB of the others, every peak below 1.0 (``tests/test_loudness.py`` checks the same).
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


def loudness_clips() -> dict:
    """The four clips the loudness target is stated for (also used by tests/test_loudness.py)."""
    import music21

    from musegen_helpers import datasets
    from musegen_helpers.midi_io import from_music21
    from musegen_helpers.music import Note, Piece
    from musegen_helpers.representation import piece_from_piano_roll

    roll = np.random.default_rng(0).random((48, 16)) > 0.5  # an untrained GAN's bar: half the cells on
    return {
        "dataset melody": datasets.load_melodies()[0],
        "Bach chorale": from_music21(music21.corpus.parse("bach/bwv66.6")),
        "dense random roll": piece_from_piano_roll(roll, steps_per_quarter=4, lowest_pitch=36, tempo=120),
        "one long note": Piece([Note(60, 0, 8)], tempo=120),
    }


def run() -> None:
    import music21

    from musegen_helpers import audio, datasets
    from musegen_helpers.midi_io import from_music21

    sr = audio.SAMPLE_RATE
    piece = from_music21(music21.corpus.parse("bach/bwv66.6"))
    seconds = piece.duration_seconds
    naive = _best_of(lambda: _naive_render(piece))
    print(f"four-voice chorale, {seconds:.1f} s of audio at {sr} Hz")
    factors = {}
    for timbre in audio.TIMBRES:
        ours = _best_of(lambda: audio.render(piece, timbre=timbre))
        factors[timbre] = seconds / ours
        print(f"  {timbre:9s} synth: {ours * 1000:6.1f} ms  ({seconds / ours:5.0f}x real time, "
              f"{naive / ours:.1f}x faster than naive)")
    print(f"  naive 5-sin synth: {naive * 1000:6.1f} ms  ({seconds / naive:5.0f}x real time)")
    tune = datasets.load_melodies()[0]
    tune_s = tune.duration_seconds
    t_tune = _best_of(lambda: audio.render(tune))
    t_norm = _best_of(lambda: audio.normalize_loudness(audio.render(tune)))
    print(f"melody '{tune.title}', {tune_s:.1f} s: render {t_tune * 1000:.1f} ms ({tune_s / t_tune:.0f}x real time), "
          f"render + loudness {t_norm * 1000:.1f} ms")

    print(f"\nloudness (gated RMS, dBFS) and peak; played = normalize_loudness, target {audio.TARGET_DBFS:g} dBFS, "
          f"peak limit {audio.PEAK_LIMIT}")
    played = {}
    for name, clip in loudness_clips().items():
        raw = audio.render(clip)
        out = audio.normalize_loudness(raw)
        played[name] = audio.loudness_dbfs(out)
        print(f"  {name:18s} raw {audio.loudness_dbfs(raw):6.1f} dBFS, peak {np.abs(raw).max():.2f}   "
              f"played {played[name]:6.1f} dBFS, peak {np.abs(out).max():.2f}")
    spread = max(played.values()) - min(played.values())
    print(f"  spread of played loudness: {spread:.2f} dB")
    for timbre, factor in factors.items():
        print(f"RESULT synth_realtime_factor_{timbre}={factor:.0f}")
    print(f"RESULT synth_speedup_vs_naive={naive * min(factors.values()) / seconds:.2f}")
    print(f"RESULT played_loudness_spread_db={spread:.2f}")
