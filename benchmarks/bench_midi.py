"""Reading MIDI: ``load_midi`` and ``datasets.from_midi_folder`` side by side with the field's readers.

1. One ~1 MB file: ``load_midi`` vs pretty_midi.
2. A folder of 300 POP909-like songs (conductor track + MELODY, BRIDGE and PIANO tracks, ~2,400
   notes and ~12 bars a minute of chords, made here with mido): ``from_midi_folder`` (fast path:
   ``midi_io.load_midi_batch`` — symusic, then numpy over all files at once — and one vectorised
   skyline for the folder; slow path ``fast=False``: load_midi + skyline per file) and ``load_midi`` vs a raw read
   of the same files with symusic (the C++ reader MidiTok uses; ``pip install symusic`` —
   optional, the ratio is skipped without it). The course's target is ``from_midi_folder``
   within 3× of the raw symusic read; the fast and slow datasets are compared too.

Prints ``RESULT name=value`` lines.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

N_SONGS = 300


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


def _make_song(path: Path, seed: int) -> None:
    """A POP909-like type-1 file: conductor, a melody, a bridge line and a piano accompaniment."""
    import mido

    rng = np.random.default_rng(seed)
    tpb = 480
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    mid.tracks.append(mido.MidiTrack([
        mido.MetaMessage("track_name", name=f"song {seed:03d}"),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(float(rng.uniform(70, 130)))),
        mido.MetaMessage("time_signature", numerator=4, denominator=4),
        mido.MetaMessage("key_signature", key=str(rng.choice(["C", "G", "F", "Am", "D"])))]))
    bars = int(rng.integers(60, 90))

    def add_track(name, channel, notes):
        events = []
        for start, length, pitch, velocity in notes:
            a, b = int(start * tpb), int((start + length) * tpb)
            events += [(a, 1, pitch, velocity), (b, 0, pitch, 0)]
        events.sort()
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name),
                                mido.Message("program_change", program=0, channel=channel)])
        now = 0
        for t, is_on, pitch, velocity in events:
            track.append(mido.Message("note_on" if is_on else "note_off", note=pitch, velocity=velocity,
                                      channel=channel, time=t - now))
            now = t
        mid.tracks.append(track)

    def line(low, high, lengths, keep, scale=1.0):
        t = 0.0
        while t < bars * 4:
            d = float(rng.choice(lengths))
            if rng.random() < keep:
                yield t, d * scale, int(rng.integers(low, high)), int(rng.integers(50, 110))
            t += d

    def piano():
        for bar in range(bars):
            root = int(rng.choice([36, 41, 43, 45]))
            yield bar * 4, 4.0, root, 70
            for beat in np.arange(0, 4, 0.5):
                t = bar * 4 + float(beat)
                yield t, 0.5, root + 12, 60
                for interval in (4, 7, 12):
                    if rng.random() > 0.3:
                        yield t, 0.45, root + 24 + interval, int(rng.integers(40, 80))

    add_track("MELODY", 0, line(60, 80, [0.25, 0.5, 0.5, 1.0, 1.5], 0.85, 0.9))
    add_track("BRIDGE", 1, line(55, 72, [0.5, 1.0, 2.0], 0.5))
    add_track("PIANO", 2, piano())
    mid.save(str(path))


def _best(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


def _big_file() -> None:
    import pretty_midi

    from musegen_helpers.midi_io import load_midi

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.mid"
        _make_big_midi(path)
        size = path.stat().st_size
        best_ours, piece = _best(lambda: load_midi(path), 3)
        best_pm, pm = _best(lambda: pretty_midi.PrettyMIDI(str(path)), 3)
        n_pm = sum(len(i.notes) for i in pm.instruments)
        print(f"one file: {size / 1e6:.2f} MB, {len(piece.notes)} notes (pretty_midi: {n_pm})")
        print(f"  load_midi: {best_ours:.3f} s   pretty_midi: {best_pm:.3f} s")
        print(f"RESULT midi_load_s={best_ours:.3f}")
        print(f"RESULT midi_load_vs_pretty_midi={best_ours / best_pm:.2f}")


def _folder() -> None:
    from musegen_helpers.datasets import from_midi_folder
    from musegen_helpers.midi_io import fast_reader_available, load_midi

    try:
        import symusic
    except ImportError:
        symusic = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pop"
        folder.mkdir()
        started = time.perf_counter()
        for i in range(N_SONGS):
            _make_song(folder / f"{i:03d}.mid", i)
        files = sorted(folder.glob("*.mid"))
        print(f"folder: {len(files)} songs, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB "
              f"(made in {time.perf_counter() - started:.0f} s)")
        quiet = dict(progress=False, verbose=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_load, pieces = _best(lambda: [load_midi(f) for f in files], 1)
            t_slow, slow = _best(lambda: from_midi_folder(folder, fast=False, **quiet), 1)
            # interleaved, best of 7: the machine's load hits both alike
            t_fast = t_sym = float("inf")
            for _ in range(7):
                t, fast = _best(lambda: from_midi_folder(folder, **quiet), 1)
                t_fast = min(t_fast, t)
                if symusic is not None:
                    t, scores = _best(lambda: [symusic.Score(str(f)) for f in files], 1)
                    t_sym = min(t_sym, t)
        n_notes = sum(len(p.notes) for p in pieces)
        same = (fast.skipped == slow.skipped and fast.meta == slow.meta
                and all(np.array_equal(getattr(fast._store, k), getattr(slow._store, k))
                        for k in ("pitch", "start", "duration", "velocity", "note_offsets")))
        print(f"  {n_notes:,} notes; load_midi on each file: {t_load:.2f} s")
        print(f"  from_midi_folder, slow path (load_midi + skyline): {t_slow:.2f} s ({len(slow)} melodies)")
        print(f"  from_midi_folder, fast path (symusic + numpy):     {t_fast:.3f} s ({len(fast)} melodies, "
              f"{fast.report['read_fast']} files read fast; same dataset as the slow path: {same})")
        print(f"RESULT midi_folder_load_midi_s={t_load:.2f}")
        print(f"RESULT midi_folder_slow_s={t_slow:.2f}")
        print(f"RESULT midi_folder_dataset_s={t_fast:.3f}")
        print(f"RESULT midi_folder_fast_vs_slow={t_slow / t_fast:.0f}")
        if symusic is None or not fast_reader_available():
            print("  symusic is not installed (pip install symusic): no side-by-side ratio")
            return
        n_sym = sum(len(t.notes) for s in scores for t in s.tracks)
        print(f"  symusic raw read (Score per file, no checks, no melody): {t_sym:.3f} s ({n_sym:,} notes)")
        print(f"RESULT midi_folder_symusic_s={t_sym:.3f}")
        print(f"RESULT midi_folder_dataset_vs_symusic={t_fast / t_sym:.1f}   (target: 3)")
        print(f"RESULT midi_folder_load_midi_vs_symusic={t_load / t_sym:.0f}")


def run() -> None:
    _big_file()
    _folder()
