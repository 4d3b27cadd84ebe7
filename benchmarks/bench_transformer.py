"""The melody Transformer of lesson 06: generation speed (the naive loop that re-reads the melody
for every token vs the key/value-cached XLA loop), side by side with lesson 03's LSTM sampler, and
held-out bits per token of both pretrained models on the same test tunes.

The naive loop is timed on 32 tokens and scaled linearly to 256 (16 bars of 4/4): its cost per
token grows with the melody, so the scaled number flatters it. Scores come from the one shared
function :func:`musegen_helpers.scoring.bits_per_token` through each model's scorer; every test
tune is read from its own start, ``END`` included (the Transformer reads tunes longer than its
context in overlapping windows, each token with at least half a context of past).
"""

from __future__ import annotations

import time

import numpy as np

NAIVE_STEPS = 32
MELODY_STEPS = 256  # 16 bars of 4/4 in sixteenth notes


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000.0 * float(np.median(times))


def speed(transformer, lstm_model) -> None:
    from musegen_helpers.models import lstm
    from musegen_helpers.models import transformer as T

    cached, naive = T.TransformerSampler(transformer), T.TransformerSampler(transformer, backend="naive")
    t = time.perf_counter()
    cached.generate(MELODY_STEPS, seed=0)
    print(f"first cached call (XLA compile): {1000 * (time.perf_counter() - t):.0f} ms")
    cached_ms = _median_ms(lambda: cached.generate(MELODY_STEPS, temperature=1.0, top_p=0.95, seed=1), 10)
    naive.generate(2, seed=0)  # trace the model function once
    naive_ms = _median_ms(lambda: naive.generate(NAIVE_STEPS, temperature=1.0, top_p=0.95, seed=1), 2)
    naive_256 = naive_ms * MELODY_STEPS / NAIVE_STEPS
    lstm_sampler = lstm.MelodySampler(lstm_model)
    lstm_sampler.generate(MELODY_STEPS, seed=0)
    lstm_ms = _median_ms(lambda: lstm_sampler.generate(MELODY_STEPS, temperature=1.0, top_p=0.95, seed=1), 10)
    same = np.array_equal(naive.generate(NAIVE_STEPS, seed=5), cached.generate(NAIVE_STEPS, seed=5))
    print(f"Transformer, naive loop: {naive_ms / NAIVE_STEPS:.1f} ms/token, scaled to {MELODY_STEPS}: {naive_256:.0f} ms")
    print(f"Transformer, cached XLA loop, {MELODY_STEPS} tokens: {cached_ms:.1f} ms  |  LSTM XLA sampler: {lstm_ms:.1f} ms")
    print(f"same tokens for the same seed (naive vs cached): {same}")
    print(f"RESULT transformer_naive_ms_per_token={naive_ms / NAIVE_STEPS:.3f}")
    print(f"RESULT transformer_melody16_ms={cached_ms:.2f}")
    print(f"RESULT lstm_melody16_ms={lstm_ms:.2f}")
    print(f"RESULT cache_speedup={naive_256 / cached_ms:.0f}")


def held_out(transformer, lstm_model) -> None:
    from musegen_helpers.datasets import load_melodies
    from musegen_helpers.models import lstm
    from musegen_helpers.models import transformer as T
    from musegen_helpers.scoring import bits_per_token, with_end

    test = with_end(load_melodies().split("test").tokens())
    print(f"{'model':12s} {'bits/token':>10s} {'onsets':>8s} {'parameters':>10s} {'seconds':>8s}   ({len(test)} test tunes)")
    for name, model, scorer in (("LSTM", lstm_model, lstm.LSTMScorer(lstm_model)),
                                ("Transformer", transformer, T.TransformerScorer(transformer))):
        t = time.perf_counter()
        bits = bits_per_token(scorer, test)
        onsets = bits_per_token(scorer, test, onsets_only=True)
        print(f"{name:12s} {bits:10.4f} {onsets:8.4f} {T.count_parameters(model):10,d} {time.perf_counter() - t:8.1f}")
        print(f"RESULT {name.lower()}_test_bits={bits:.4f}")
        print(f"RESULT {name.lower()}_test_onset_bits={onsets:.4f}")


def run() -> None:
    from musegen_helpers.models import lstm
    from musegen_helpers.models import transformer as T

    transformer, lstm_model = T.load_pretrained(), lstm.load_pretrained()
    speed(transformer, lstm_model)
    held_out(transformer, lstm_model)


if __name__ == "__main__":
    run()
