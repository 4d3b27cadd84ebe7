"""The melody Transformer of lesson 06: generation speed (the naive loop that re-reads the melody
for every token vs the key/value-cached XLA loop), side by side with lesson 03's LSTM sampler, and
held-out bits per token of both pretrained models on the same test tunes.

Three ways to sample 256 tokens (16 bars of 4/4) are timed: the textbook loop (``model.predict``
on the growing melody for every token), the whole buffer re-run inside one compiled loop, and the
key/value-cached compiled loop of ``TransformerSampler``; lesson 03's LSTM sampler is timed in the
same run, interleaved with the cached one. Scores come from the one shared
function :func:`musegen_helpers.scoring.bits_per_token` through each model's scorer; every test
tune is read from its own start, ``END`` included (the Transformer reads tunes longer than its
context in overlapping windows, each token with at least half a context of past).
"""

from __future__ import annotations

import time

import numpy as np

MELODY_STEPS = 256  # 16 bars of 4/4 in sixteenth notes


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000.0 * float(np.median(times))


def textbook_loop(model, steps: int, seed: int = 1) -> np.ndarray:
    """The loop most tutorials show: ``model.predict`` on the whole melody so far, once per new
    token (a new Python call, a new batch, the whole prefix through every layer)."""
    from musegen_helpers.models.lstm import START

    rng = np.random.default_rng(seed)
    melody = [START]
    for _ in range(steps):
        logits = model.predict(np.array([melody], np.int32), verbose=0)[0, -1]
        probs = np.exp(logits - logits.max())
        melody.append(int(rng.choice(len(probs), p=probs / probs.sum())))
    return np.array(melody[1:], np.int32)


def recompute_loop(model):
    """Generation in one XLA-compiled loop, but without a cache: every step runs the model over the
    whole fixed-size buffer (the causal mask keeps the empty future out) and reads the logits at
    the current position — the work per step grows with the context, not with one token."""
    import tensorflow as tf

    from musegen_helpers.models.lstm import START

    def generate(n_new, seed):
        buffer = tf.fill([1, n_new + 1], START)

        def body(t, buffer):
            logits = model(buffer, training=False)[0, t]
            token = tf.random.stateless_categorical(logits[None], 1, seed=tf.stack([seed, t]), dtype=tf.int32)[0, 0]
            buffer = tf.tensor_scatter_nd_update(buffer, [[0, t + 1]], [token])
            return t + 1, buffer

        _, buffer = tf.while_loop(lambda t, _: t < n_new, body, (tf.constant(0), buffer))
        return buffer[0, 1:]

    fn = tf.function(generate, jit_compile=True)
    return lambda steps, seed=1: fn(tf.constant(steps), tf.constant(seed)).numpy()


def speed(transformer, lstm_model) -> None:
    from musegen_helpers.models import lstm
    from musegen_helpers.models import transformer as T

    n = min(MELODY_STEPS, T.context_length(transformer))  # START + 255 fed tokens give 256 new ones
    cached = T.TransformerSampler(transformer)
    t = time.perf_counter()
    cached.generate(n, seed=0)
    print(f"first cached call (XLA compile): {1000 * (time.perf_counter() - t):.0f} ms")
    lstm_sampler = lstm.MelodySampler(lstm_model)
    lstm_sampler.generate(MELODY_STEPS, seed=0)
    cached_runs, lstm_runs = [], []
    for _ in range(3):  # interleaved, so that a busy moment hits both samplers alike
        cached_runs.append(_median_ms(lambda: cached.generate(n, temperature=1.0, top_p=0.95, seed=1), 7))
        lstm_runs.append(_median_ms(lambda: lstm_sampler.generate(MELODY_STEPS, temperature=1.0, top_p=0.95,
                                                                  seed=1), 7))
    cached_ms, lstm_ms = float(np.median(cached_runs)), float(np.median(lstm_runs))
    recompute = recompute_loop(transformer)
    recompute(n)
    recompute_ms = _median_ms(lambda: recompute(n), 3)
    textbook_loop(transformer, 2)
    t = time.perf_counter()
    textbook_loop(transformer, n)
    naive_ms = 1000.0 * (time.perf_counter() - t)
    naive = T.TransformerSampler(transformer, backend="naive")
    same = np.array_equal(naive.generate(32, seed=5), cached.generate(32, seed=5))
    print(f"{n} tokens (16 bars of 4/4), batch 1, warm, median:")
    print(f"  textbook loop (model.predict on the growing melody): {naive_ms:9.0f} ms")
    print(f"  whole buffer re-run in one compiled loop:             {recompute_ms:9.1f} ms")
    print(f"  key/value cache in one compiled loop:                 {cached_ms:9.1f} ms "
          f"(runs: {', '.join(f'{x:.1f}' for x in cached_runs)})")
    print(f"  lesson 03's LSTM sampler, same run:                   {lstm_ms:9.1f} ms "
          f"(runs: {', '.join(f'{x:.1f}' for x in lstm_runs)})")
    print(f"  cached / LSTM: {cached_ms / lstm_ms:.2f}x; the naive and cached samplers give the same tokens for "
          f"the same seed: {same}")
    print(f"RESULT transformer_melody16_ms={cached_ms:.2f}")
    print(f"RESULT transformer_naive_melody16_ms={naive_ms:.0f}")
    print(f"RESULT transformer_recompute_melody16_ms={recompute_ms:.1f}")
    print(f"RESULT transformer_cache_speedup={naive_ms / cached_ms:.0f}")
    print(f"RESULT lstm_melody16_ms={lstm_ms:.2f}")


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
        print(f"RESULT {name.lower()}_test_bits_per_token={bits:.4f}")
        print(f"RESULT {name.lower()}_onset_bits={onsets:.4f}")


def run() -> None:
    from musegen_helpers.models import lstm
    from musegen_helpers.models import transformer as T

    transformer, lstm_model = T.load_pretrained(), lstm.load_pretrained()
    speed(transformer, lstm_model)
    held_out(transformer, lstm_model)


if __name__ == "__main__":
    run()
