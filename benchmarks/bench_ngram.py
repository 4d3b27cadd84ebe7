"""n-gram models on real folk tunes: fit time and held-out bits per token.

Kneser–Ney (interpolated, modified, discounts tuned on the validation split) and Witten–Bell at
orders 1–32, and add-k Markov chains of orders 2–6 (looking 1–5 tokens back), all trained on the training split
and scored on the test split, every tune from its own start with its final ``END`` token.

Data: ``load_melodies()`` (Essen + O'Neill, split by tune family) when the dataset files are
built; otherwise a stand-in corpus parsed once from music21's Essen files (cached in the temp
folder, split in blocks of 40 consecutive tunes so most variants of a tune stay together).

The "fit" time of Kneser–Ney includes tuning its discounts on the validation split.
"""

from __future__ import annotations

import glob
import os
import tempfile
import time
from pathlib import Path

import numpy as np

KN_ORDERS = (1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32)
MARKOV_ORDERS = (2, 3, 4, 5, 6)  # n-gram orders: 1-5 tokens of context
ADD_K = (0.001, 0.01, 0.1, 1.0)
FALLBACK_TUNES = 4000
FALLBACK_CACHE = Path(tempfile.gettempdir()) / "musegen_bench_ngram_essen.npz"


def _with_end(tunes):
    from musegen_helpers.representation import END

    return [np.append(np.asarray(t, dtype=np.int64), END) for t in tunes]


def _from_datasets():
    from musegen_helpers.datasets import load_melodies

    data = load_melodies()
    return "load_melodies() (split by tune family)", {s: _with_end(data.split(s).tokens())
                                                     for s in ("train", "valid", "test")}


def _parse_essen(limit: int):
    """Token lists of the first ``limit`` Essen tunes, parsed with music21 (minutes; cached)."""
    import music21

    from musegen_helpers.midi_io import from_music21
    from musegen_helpers.representation import melody_to_tokens

    root = Path(music21.__file__).parent / "corpus" / "essenFolksong"
    tunes = []
    started = time.perf_counter()
    for path in sorted(glob.glob(str(root / "*.abc"))):
        opus = music21.converter.parse(path)
        scores = list(opus.scores) if hasattr(opus, "scores") and len(opus.scores) else [opus]
        for score in scores:
            try:
                tokens = melody_to_tokens(from_music21(score), 4)
            except Exception:  # a tune music21 cannot read is skipped, as the dataset builder does
                continue
            if len(tokens) > 8:
                tunes.append(tokens.astype(np.int16))
        print(f"  parsed {os.path.basename(path)}: {len(tunes)} tunes ({time.perf_counter() - started:.0f} s)",
              flush=True)
        if len(tunes) >= limit:
            break
    return tunes[:limit]


def _fallback():
    if FALLBACK_CACHE.is_file():
        with np.load(FALLBACK_CACHE, allow_pickle=False) as f:
            tokens, lengths = f["tokens"], f["lengths"]
        tunes = np.split(tokens.astype(np.int64), np.cumsum(lengths)[:-1])
    else:
        print(f"dataset files not built; parsing up to {FALLBACK_TUNES} Essen tunes with music21 "
              f"(once, cached in {FALLBACK_CACHE})", flush=True)
        tunes = _parse_essen(FALLBACK_TUNES)
        np.savez_compressed(FALLBACK_CACHE, tokens=np.concatenate(tunes),
                            lengths=np.array([len(t) for t in tunes]))
    block = np.arange(len(tunes)) // 40 % 10
    split = {"train": block < 8, "valid": block == 8, "test": block == 9}
    tunes = [np.asarray(t, dtype=np.int64) for t in tunes]
    return (f"music21 Essen stand-in ({len(tunes)} tunes, block split)",
            {s: _with_end([t for t, keep in zip(tunes, m) if keep]) for s, m in split.items()})


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def run() -> None:
    from musegen_helpers import ngram
    from musegen_helpers.metrics import longest_shared_run
    from musegen_helpers.scoring import bits_per_token

    try:
        source, tunes = _from_datasets()
    except (FileNotFoundError, ImportError) as exc:
        print(f"load_melodies() unavailable ({type(exc).__name__}); using the stand-in corpus")
        source, tunes = _fallback()
    train, valid, test = tunes["train"], tunes["valid"], tunes["test"]
    print(f"data: {source}")
    for name, part in tunes.items():
        print(f"  {name}: {len(part)} tunes, {sum(len(t) for t in part)} tokens (END included)")

    print("\nmodel          order  context  fit wall s  fit cpu s  test bits/token  test onset bits")
    rows = {}
    for order in KN_ORDERS:
        model, wall, cpu = _timed(lambda: ngram.KneserNey(order).fit(train, valid))
        bits = bits_per_token(model, test)
        onset = bits_per_token(model, test, onsets_only=True)
        rows[("kn", order)] = (wall, cpu, bits, model.validation_bits_)
        print(f"Kneser-Ney     {order:5d}  {order - 1:7d}  {wall:10.2f}  {cpu:9.2f}  {bits:15.4f}  {onset:15.4f}",
              flush=True)
    for order in KN_ORDERS:
        model, wall, cpu = _timed(lambda: ngram.WittenBell(order).fit(train))
        bits = bits_per_token(model, test)
        onset = bits_per_token(model, test, onsets_only=True)
        rows[("wb", order)] = (wall, cpu, bits, bits_per_token(model, valid))
        print(f"Witten-Bell    {order:5d}  {order - 1:7d}  {wall:10.2f}  {cpu:9.2f}  {bits:15.4f}  {onset:15.4f}",
              flush=True)
    for order in MARKOV_ORDERS:
        (model, wall, cpu) = _timed(lambda: ngram.MarkovChain(order).fit(train))
        by_k = {}
        for k in ADD_K:
            model.add_k = k
            by_k[k] = bits_per_token(model, valid)
        model.add_k = min(by_k, key=by_k.get)
        bits = bits_per_token(model, test)
        onset = bits_per_token(model, test, onsets_only=True)
        rows[("markov", order)] = (wall, cpu, bits, by_k[model.add_k])
        print(f"Markov k={model.add_k:<5g} {order:5d}  {order - 1:7d}  {wall:10.2f}  {cpu:9.2f}  {bits:15.4f}  "
              f"{onset:15.4f}", flush=True)

    best, wall, cpu = _timed(lambda: ngram.best_kneser_ney(train, valid, orders=KN_ORDERS))
    best_bits = bits_per_token(best, test)
    best_onsets = bits_per_token(best, test, onsets_only=True)
    print(f"\nbest_kneser_ney over orders {KN_ORDERS}: order {best.order} chosen on validation "
          f"({wall:.1f} s wall, {cpu:.1f} s cpu, one set of counts for all orders); test {best_bits:.4f} bits/token, "
          f"{best_onsets:.4f} on onsets")
    wb_best = min((o for o in KN_ORDERS), key=lambda o: rows[("wb", o)][3])
    print(f"Witten-Bell's best order on validation: {wb_best}; at order 32 it scores "
          f"{rows[('wb', 32)][2]:.4f} vs {rows[('wb', wb_best)][2]:.4f} test bits/token")

    kn8 = ngram.KneserNey(8).fit(train, valid)
    tune, sample_wall, _ = _timed(lambda: kn8.sample(256, seed=0, stop_at_end=False))
    shared, copy_wall, _ = _timed(lambda: longest_shared_run(tune, train))
    print(f"sampling 256 tokens from the 8-gram: {sample_wall * 1000:.0f} ms; longest run copied from "
          f"training: {shared.length} tokens (found in {copy_wall * 1000:.0f} ms)")

    print(f"RESULT best_ngram_test_bits_per_token={best_bits:.4f}")
    print(f"RESULT best_ngram_test_onset_bits_per_token={best_onsets:.4f}")
    print(f"RESULT best_ngram_order={best.order}")
    print(f"RESULT kn_order8_test_bits_per_token={rows[('kn', 8)][2]:.4f}")
    print(f"RESULT kn_order32_test_bits_per_token={rows[('kn', 32)][2]:.4f}")
    print(f"RESULT kn_order32_fit_s={rows[('kn', 32)][0]:.2f}")
    print(f"RESULT kn_order32_fit_cpu_s={rows[('kn', 32)][1]:.2f}")
    print(f"RESULT wb_order32_test_bits_per_token={rows[('wb', 32)][2]:.4f}")
    print(f"RESULT best_markov_test_bits_per_token={min(rows[('markov', c)][2] for c in MARKOV_ORDERS):.4f}")
    print(f"RESULT sample256_ms={sample_wall * 1000:.1f}")
    print(f"RESULT longest_shared_run_ms={copy_wall * 1000:.1f}")


if __name__ == "__main__":
    run()
