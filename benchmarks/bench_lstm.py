"""The melody LSTM: generation speed (textbook predict loop vs the state-carrying samplers) and
held-out bits per token against Kneser–Ney n-grams of every order up to 32.

Speed runs on the pretrained weights when they exist (else a random 256-unit model, which is
just as slow). The predict-per-step loop is timed on 32 steps and scaled linearly to 256: it
only gets slower per step as the melody grows, so the scaled number flatters it.

Scoring: Kneser-Ney n-grams of every order 1..32 are fitted on the training tunes with their
discounts tuned on the validation tunes; the three best orders by validation are scored on the
test tunes and the best test numbers kept. Every test tune is read from its own start — the
LSTM after its START token, the n-gram after its BOS padding — and every token is scored, the
final ``END`` included. Both numbers come from :func:`musegen_helpers.scoring.bits_per_token` on the very same
token lists.
"Onset" tokens are the ones that start something (a pitch or ``REST``).
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


def speed(model) -> None:
    from musegen_helpers.models import lstm

    fast = lstm.MelodySampler(model)
    by_numpy = lstm.MelodySampler(model, backend="numpy")
    fast.generate(MELODY_STEPS, temperature=1.0, seed=0)  # compile once (XLA), as a lesson's first call does
    t = time.perf_counter()
    fast.generate(MELODY_STEPS, temperature=1.0, seed=99, primer=[60])  # a new primer bucket: compiles again
    print(f"first call with a new primer length (compiles): {1000 * (time.perf_counter() - t):.0f} ms")
    fast_ms = _median_ms(lambda: fast.generate(MELODY_STEPS, temperature=1.0, top_k=20, seed=1), 20)
    numpy_ms = _median_ms(lambda: by_numpy.generate(MELODY_STEPS, temperature=1.0, top_k=20, seed=1), 3)
    lstm.naive_generate(model, 2, seed=0)  # warm Keras's predict function
    naive_ms = _median_ms(lambda: lstm.naive_generate(model, NAIVE_STEPS, temperature=1.0, top_k=20, seed=1), 2)
    naive_256_ms = naive_ms * MELODY_STEPS / NAIVE_STEPS
    print(f"predict-per-step loop: {naive_ms:.0f} ms for {NAIVE_STEPS} steps "
          f"({naive_ms / NAIVE_STEPS:.1f} ms/step), scaled linearly to {MELODY_STEPS} steps: {naive_256_ms:.0f} ms")
    print(f"XLA sampler, {MELODY_STEPS} steps (warm, median of 20): {fast_ms:.2f} ms; "
          f"NumPy sampler: {numpy_ms:.1f} ms")
    print(f"RESULT naive_ms_per_step={naive_ms / NAIVE_STEPS:.3f}")
    print(f"RESULT numpy_melody16_ms={numpy_ms:.2f}")
    print(f"RESULT melody16_ms={fast_ms:.3f}")
    print(f"RESULT sampler_speedup={naive_256_ms / fast_ms:.0f}")


def held_out(model) -> None:
    from musegen_helpers import ngram
    from musegen_helpers.datasets import load_melodies
    from musegen_helpers.models import lstm
    from musegen_helpers.representation import is_onset_token
    from musegen_helpers.scoring import bits_per_token, with_end

    data = load_melodies()
    tunes = {s: with_end(data.split(s).tokens()) for s in ("train", "valid", "test")}
    test = tunes["test"]
    print(f"test: {len(test)} tunes, {sum(len(t) for t in test)} tokens (END included), "
          f"{sum(int(is_onset_token(t).sum()) for t in test)} onset tokens")
    scorer = lstm.LSTMScorer(model)
    t = time.perf_counter()
    lstm_bits = bits_per_token(scorer, test)
    lstm_onset = bits_per_token(scorer, test, onsets_only=True)
    print(f"LSTM scored in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    # every order 1..32 shares one set of counts; each order's discounts are tuned on validation
    best_kn = ngram.best_kneser_ney(tunes["train"], tunes["valid"], orders=range(1, ngram.MAX_ORDER + 1))
    print(f"Kneser-Ney orders 1..{ngram.MAX_ORDER} fitted and tuned in {time.perf_counter() - t:.1f} s")
    print("order  validation bits/token")
    for order, bits in sorted(best_kn.validation_by_order_.items()):
        print(f"{order:5d}  {bits:10.4f}")
    # score the three best orders (by validation) on the test set and keep the best test numbers:
    # if anything this flatters the n-gram
    contenders = sorted(best_kn.validation_by_order_, key=best_kn.validation_by_order_.get)[:3]
    by_order = {}
    for order in contenders:
        kn = best_kn if order == best_kn.order else ngram.KneserNey(order).fit(tunes["train"], tunes["valid"])
        by_order[order] = (bits_per_token(kn, test), bits_per_token(kn, test, onsets_only=True))
        print(f"order {order:2d} on the test set: {by_order[order][0]:.4f} bits/token, "
              f"{by_order[order][1]:.4f} on onsets")
    best_order = min(by_order, key=lambda o: by_order[o][0])
    best_onset_order = min(by_order, key=lambda o: by_order[o][1])
    best, best_onset = by_order[best_order][0], by_order[best_onset_order][1]
    print(f"LSTM: {lstm_bits:.4f} bits/token, {lstm_onset:.4f} on onsets")
    print(f"LSTM vs best n-gram (order {best_order}; onsets: order {best_onset_order}): "
          f"{100 * (1 - lstm_bits / best):.1f} % fewer bits overall, "
          f"{100 * (1 - lstm_onset / best_onset):.1f} % fewer on onsets")
    print(f"RESULT lstm_test_bits_per_token={lstm_bits:.4f}")
    print(f"RESULT best_ngram_test_bits_per_token={best:.4f}")
    print(f"RESULT lstm_onset_bits={lstm_onset:.4f}")
    print(f"RESULT best_ngram_onset_bits={best_onset:.4f}")


def run() -> None:
    from musegen_helpers.models import lstm

    if lstm.PRETRAINED_PATH.is_file():
        model = lstm.load_pretrained()
        print(f"weights: pretrained {lstm.PRETRAINED_PATH.name}")
    else:
        model = lstm.build_melody_model(units=256, seed=0)
        print("weights: random 256-unit model (no pretrained file); bits per token skipped")
    units = [layer.units for layer in model.layers if hasattr(layer, "units") and layer.name.startswith("lstm")]
    print(f"LSTM units per layer: {units}")
    speed(model)
    if lstm.PRETRAINED_PATH.is_file():
        held_out(model)


if __name__ == "__main__":
    run()
