"""Loading the shipped datasets vs parsing the same tunes with music21.

Parsing every tune would take minutes, so a sample of 200 melodies and 20 chorales is parsed
and the time scaled to the whole dataset. Prints::

    RESULT melodies_load_s=...          load_melodies(), from disk, nothing cached
    RESULT chorales_load_s=...          load_chorales(), from disk
    RESULT music21_parse_estimate_s=... parsing all of them with music21 (scaled from the sample)
    RESULT dataset_load_speedup=...     music21 parse time / load time
    RESULT all_pieces_s=...             load and build every Piece (iterating the datasets)
    RESULT dataset_pieces_speedup=...   music21 parse time / (load + every Piece)
"""

from __future__ import annotations

import re
import time
import warnings

from musegen_helpers import datasets
from musegen_helpers import dataset_build

MELODY_SAMPLE = 200
CHORALE_SAMPLE = 20


def _fresh_load(loader):
    datasets._LOADED.clear()  # time the disk, not the in-memory cache
    started = time.perf_counter()
    ds = loader()
    return ds, time.perf_counter() - started


def _parse_abc(meta) -> None:
    from music21 import converter

    m = re.fullmatch(r"music21 corpus (\S+) X:(\d+)", meta["source"])
    path = dataset_build._corpus_dir() / m.group(1)
    score = converter.parse(str(path), number=int(m.group(2)), forceSource=True)
    if meta.get("repeats") == "expanded":
        score.expandRepeats()


def run() -> None:
    from music21 import converter

    best_m = best_c = float("inf")
    for _ in range(3):
        melodies, t_m = _fresh_load(datasets.load_melodies)
        chorales, t_c = _fresh_load(datasets.load_chorales)
        best_m, best_c = min(best_m, t_m), min(best_c, t_c)

    started = time.perf_counter()
    n_notes = sum(len(p.notes) for p in melodies) + sum(len(p.notes) for p in chorales)
    t_pieces = best_m + best_c + time.perf_counter() - started

    meta_m, meta_c = melodies.meta, chorales.meta
    sample_m = meta_m[:: max(1, len(meta_m) // MELODY_SAMPLE)][:MELODY_SAMPLE]
    sample_c = meta_c[:: max(1, len(meta_c) // CHORALE_SAMPLE)][:CHORALE_SAMPLE]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        for meta in sample_m:
            _parse_abc(meta)
        per_melody = (time.perf_counter() - started) / len(sample_m)
        started = time.perf_counter()
        for meta in sample_c:
            converter.parse(str(dataset_build._corpus_dir() / meta["source"].split()[-1]), forceSource=True)
        per_chorale = (time.perf_counter() - started) / len(sample_c)
    parse_all = per_melody * len(meta_m) + per_chorale * len(meta_c)

    print(f"{len(melodies)} melodies, {len(chorales)} chorales, {n_notes:,} notes")
    print(f"music21: {per_melody * 1000:.0f} ms per melody, {per_chorale * 1000:.0f} ms per chorale "
          f"(samples of {len(sample_m)} and {len(sample_c)})")
    print(f"RESULT melodies_load_s={best_m:.3f}")
    print(f"RESULT chorales_load_s={best_c:.3f}")
    print(f"RESULT music21_parse_estimate_s={parse_all:.1f}")
    print(f"RESULT dataset_load_speedup={parse_all / (best_m + best_c):.0f}")
    print(f"RESULT all_pieces_s={t_pieces:.2f}")
    print(f"RESULT dataset_pieces_speedup={parse_all / t_pieces:.0f}")


if __name__ == "__main__":
    run()
