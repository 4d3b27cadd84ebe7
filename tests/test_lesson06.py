"""Lesson 06's exercise checks: right answers pass, the usual wrong answers are explained."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from musegen_helpers.lessons import lesson06 as L
from musegen_helpers.lessons.lesson06 import ____, q1, q2, q3, q4, q5, q6


def verdict(exercise, answer):
    passed, feedback = exercise.evaluate(answer)
    return passed, feedback.message


def test_importing_the_lesson_does_not_import_tensorflow():
    code = "import sys, musegen_helpers.lessons.lesson06; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("exercise", [q1, q2, q4, q5, q6])
def test_placeholder_and_unwritten_function_are_not_attempted(exercise):
    def unwritten(*args):
        raise NotImplementedError("Exercise: write this function")

    assert exercise.evaluate(____)[0] is None
    assert exercise.evaluate(unwritten)[0] is None


def test_every_exercise_passes_its_own_reference():
    for exercise, reference in ((q1, L.attention), (q2, L.causal_mask_reference), (q3, "b"), (q4, L.rotate),
                                (q5, L.cached_attention_step), (q6, L.lag_attention)):
        assert verdict(exercise, reference)[0] is True, exercise.name


# ---- q1: attention ---------------------------------------------------------------------------
def softmax_rows(s, axis=-1):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def attention_with(scale=True, axis=-1, use_mask=True, mask_after=False):
    def fn(q, k, v, mask=None):
        s = q @ k.T / (np.sqrt(q.shape[-1]) if scale else 1.0)
        if mask is not None and use_mask and not mask_after:
            s = np.where(mask, s, -np.inf)
        w = softmax_rows(s, axis)
        if mask is not None and mask_after:
            w = w * mask
        return w @ v, w
    return fn


def test_attention_right_answer_passes_and_matches_keras():
    assert verdict(q1, attention_with())[0] is True
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    mha = keras.layers.MultiHeadAttention(num_heads=1, key_dim=6, use_bias=False)
    out, weights = mha(x[None], x[None], use_causal_mask=True, return_attention_scores=True)
    kernel = {w.path.split("/")[-2]: keras.ops.convert_to_numpy(w) for w in mha.weights}
    q, k, v = (x @ kernel[n][:, 0, :] for n in ("query", "key", "value"))
    mine, my_weights = L.attention(q, k, v, np.tril(np.ones((4, 4), bool)))
    np.testing.assert_allclose(my_weights, np.asarray(weights)[0, 0], atol=1e-5)
    np.testing.assert_allclose(mine @ kernel["attention_output"][0], np.asarray(out)[0], atol=1e-5)


@pytest.mark.parametrize("wrong, words", [
    (attention_with(scale=False), "sqrt(d_k)"),
    (attention_with(axis=0), "over the queries"),
    (attention_with(use_mask=False), "ignored the mask"),
    (attention_with(mask_after=True), "sum to 1"),
])
def test_attention_mistakes_are_explained(wrong, words):
    passed, message = verdict(q1, wrong)
    assert passed is False and words in message


def attention_forgetting_none(q, k, v, mask=None):
    s = np.where(mask, q @ k.T / np.sqrt(q.shape[-1]), -np.inf)    # np.where(None, ...) hides every step
    with np.errstate(invalid="ignore"):
        w = softmax_rows(s)
    return w @ v, w


def attention_mask_reversed(very_negative):
    def fn(q, k, v, mask=None):
        s = q @ k.T / np.sqrt(q.shape[-1])
        if mask is not None:
            s = np.where(~np.asarray(mask, bool), s, very_negative)
        with np.errstate(invalid="ignore"):
            w = softmax_rows(s)
        return w @ v, w
    return fn


@pytest.mark.parametrize("wrong, words, not_words", [
    (attention_forgetting_none, "mask=None", "never multiply after"),
    (attention_mask_reversed(-np.inf), "wrong way round", "never multiply after"),   # last row all nan
    (attention_mask_reversed(-1e9), "wrong way round", "sum to 1"),                   # last row uniform
    (lambda q, k, v, mask=None: attention_with()(q, k, v, mask)[::-1], "other way round", "shape (4, 2)"),
])
def test_attention_specific_mistakes_are_diagnosed_before_the_general_ones(wrong, words, not_words):
    passed, message = verdict(q1, wrong)
    assert passed is False and words in message and not_words not in message


def test_attention_nan_from_multiplying_by_inf_gets_the_general_message():
    def times_inf(q, k, v, mask=None):
        s = q @ k.T / np.sqrt(q.shape[-1])
        if mask is not None:
            s = s * np.where(mask, 1.0, np.inf)       # inf * score: +-inf, nan after the softmax
        with np.errstate(invalid="ignore"):
            w = softmax_rows(s)
        return w @ v, w

    passed, message = verdict(q1, times_inf)
    assert passed is False and "nan or inf" in message


def test_attention_returning_one_array_is_explained():
    passed, message = verdict(q1, lambda q, k, v, mask=None: attention_with()(q, k, v, mask)[0])
    assert passed is False and "output, weights" in message


# ---- q2: the causal mask ---------------------------------------------------------------------
@pytest.mark.parametrize("wrong, words", [
    (lambda n: np.triu(np.ones((n, n), bool)), "future"),
    (lambda n: np.tril(np.ones((n, n), bool), -1), "see itself"),
    (lambda n: np.where(np.tril(np.ones((n, n))), 0.0, -np.inf), "additive"),
    (lambda n: np.ones((n, n), bool), "no mask at all"),
    (lambda n: np.tril(np.ones((n + 1, n + 1), bool)), "shape"),
])
def test_mask_mistakes_are_explained(wrong, words):
    passed, message = verdict(q2, wrong)
    assert passed is False and words in message


def test_mask_of_ones_and_zeros_is_accepted():
    assert verdict(q2, lambda n: np.tril(np.ones((n, n))))[0] is True


# ---- q3: the diagnosis -----------------------------------------------------------------------
def test_only_reading_the_answer_is_the_right_diagnosis():
    assert verdict(q3, "b")[0] is True
    assert verdict(q3, " (B) ")[0] is True
    for letter, words in (("a", "validation"), ("c", "No seed"), ("d", "learning rate")):
        passed, message = verdict(q3, letter)
        assert passed is False and words in message
    passed, message = verdict(q3, "e")
    assert passed is False and "not one of the choices" in message
    assert verdict(q3, 2)[0] is False
    assert verdict(q3, ____)[0] is None


# ---- q4: rotary ------------------------------------------------------------------------------
def test_rotation_keeps_length_and_distance():
    x, y = np.random.default_rng(1).normal(size=(2, 6))
    assert np.linalg.norm(L.rotate(x, 37)) == pytest.approx(np.linalg.norm(x))
    assert L.rotate(x, 9) @ L.rotate(y, 4) == pytest.approx(L.rotate(x, 105) @ L.rotate(y, 100))


def test_rotary_reference_matches_the_models_layer():
    pytest.importorskip("keras")
    from musegen_helpers.models.transformer import apply_rotary
    x = np.random.default_rng(2).normal(size=(1, 3, 1, 8)).astype("float32")
    ours = np.asarray(apply_rotary(x, np.array([0.0, 4.0, 50.0], np.float32)))
    for i, position in enumerate((0, 4, 50)):
        np.testing.assert_allclose(ours[0, i, 0], L.rotate(x[0, i, 0], position), atol=1e-5)


@pytest.mark.parametrize("wrong, words", [
    (lambda x, p, max_wavelength=1e4: L.rotate(x, -p), "wrong way"),
    (lambda x, p, max_wavelength=1e4: L._interleaved(x, p), "neighbours"),
    (lambda x, p, max_wavelength=1e4: x * np.cos(p / 10), "length"),
    (lambda x, p, max_wavelength=1e4: L.rotate(x, p)[:4], "shape"),
])
def test_rotation_mistakes_are_explained(wrong, words):
    passed, message = verdict(q4, wrong)
    assert passed is False and words in message


def test_rotation_with_wrong_frequencies_is_explained():
    def k_over_d(x, p, max_wavelength=1e4):
        half = len(x) // 2
        a = p / max_wavelength ** (np.arange(half) / len(x))
        return np.concatenate([x[:half] * np.cos(a) - x[half:] * np.sin(a), x[half:] * np.cos(a) + x[:half] * np.sin(a)])

    passed, message = verdict(q4, k_over_d)
    assert passed is False and "2k / d" in message


# ---- q5: the cache ---------------------------------------------------------------------------
def cache_step(attend_all=False, write_first=True, write=True):
    def fn(q, k, v, keys, values, t):
        if write and write_first:
            keys[t], values[t] = k, v
        rows = slice(None) if attend_all else slice(0, t + 1 if write_first else t)
        s = keys[rows] @ q / np.sqrt(len(q))
        w = softmax_rows(s) if s.size else s
        out = w @ values[rows] if s.size else np.zeros_like(q)
        if write and not write_first:
            keys[t], values[t] = k, v
        return out, keys, values
    return fn


@pytest.mark.parametrize("wrong, words", [
    (cache_step(attend_all=True), "empty slots"),
    (cache_step(write_first=False), "attend to itself"),
    (cache_step(write=False), "did not change"),
])
def test_cache_mistakes_are_explained(wrong, words):
    passed, message = verdict(q5, wrong)
    assert passed is False and words in message


def test_cache_right_answer_and_returning_too_little():
    assert verdict(q5, cache_step())[0] is True
    passed, message = verdict(q5, lambda q, k, v, keys, values, t: cache_step()(q, k, v, keys, values, t)[0])
    assert passed is False and "three things" in message


# ---- q6: how far back ------------------------------------------------------------------------
def test_lag_attention_reads_the_diagonal_lag_steps_below():
    w = np.zeros((1, 5, 5))
    w[0, np.arange(5), np.maximum(np.arange(5) - 2, 0)] = 1.0  # every step looks exactly 2 back (or at 0)
    np.testing.assert_allclose(L.lag_attention(w, 2), [1.0])
    np.testing.assert_allclose(L.lag_attention(w, 1), [0.25])  # only step 1 (looking at 0) is 1 back


@pytest.mark.parametrize("wrong, words", [
    (lambda w, lag: np.array([w[h].diagonal(lag).mean() for h in range(len(w))]), "ahead"),
    (lambda w, lag: w[:, np.arange(w.shape[-1]), np.arange(w.shape[-1]) - lag].mean(axis=1), "i < "),
    (lambda w, lag: L.lag_attention(w, lag).mean(), "one number"),
    (lambda w, lag: w[:, np.arange(lag, w.shape[-1]), np.arange(w.shape[-1] - lag)].sum(axis=1), "mean"),
])
def test_lag_mistakes_are_explained(wrong, words):
    passed, message = verdict(q6, wrong)
    assert passed is False and words in message


# ---- the plain test of a sample: does it fall apart? ----------------------------------------
H = 128  # HOLD


@pytest.mark.parametrize("tokens, words", [
    ([H] * 48, "silence"),
    ([67] + [H] * 47, "only 1 note"),
    ([67, 67, 67, 65] * 12, "a new note on 48 of its 48"),
    ([67, H, H, H, 40, H, H, H, 69, H, H, H, 71, H, H, H] * 3, "more than two octaves"),
    (([67, H] * 5 + [69, H, H, H]) * 4, "struck over and over"),
])
def test_samples_that_are_no_tune_fall_apart_and_say_why(tokens, words):
    assert words in L.falls_apart(tokens)


def test_a_plain_tune_passes():
    scale_up_and_down = [60, H, 62, H, 64, H, H, H, 65, H, 67, H, 65, H, 64, H, 62, H, H, H, 60, H, H, H] * 2
    assert L.falls_apart(scale_up_and_down) is None
    stats = L.melody_statistics(scale_up_and_down)
    assert (stats["notes"], stats["pitches"], stats["lowest"], stats["highest"]) == (18, 5, 60, 67)
    assert stats["repeated"] == 1 and stats["held_steps"] == 3     # the 60 that ends bar 1 starts bar 2 again


def test_the_sample_test_is_fair_to_real_tunes():
    from musegen_helpers.datasets import load_melodies
    openings = [t[:96] for t in load_melodies().split("valid").tokens() if len(t) >= 96]
    failed = sum(L.falls_apart(t) is not None for t in openings)
    assert len(openings) > 100 and failed / len(openings) < 0.05    # measured: 18 of 872 (2%)


# ---- more of the mistakes a learner really makes: each named, not "your weights differ" ----------
def attention_variant(scores=lambda q, k: q @ k.T / np.sqrt(q.shape[-1]), masked=None, normalise=None):
    def fn(q, k, v, mask=None):
        s = scores(q, k)
        if mask is not None:
            s = masked(s, np.asarray(mask, bool)) if masked else np.where(mask, s, -np.inf)
        with np.errstate(invalid="ignore"):
            w = normalise(s) if normalise else softmax_rows(s)
        return w @ v, w
    return fn


def no_keepdims(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1)


def whole_matrix(s):
    e = np.exp(s - s.max())
    return e / e.sum()


def own_causal_mask(q, k, v, mask=None):
    n = len(q)
    s = np.where(np.tril(np.ones((n, n), bool)), q @ k.T / np.sqrt(q.shape[-1]), -np.inf)
    w = softmax_rows(s)
    return w @ v, w


@pytest.mark.parametrize("wrong, words", [
    (attention_variant(scores=lambda q, k: q @ k.T / np.sqrt(len(q))), "number of tokens"),
    (attention_variant(scores=lambda q, k: k @ q.T / np.sqrt(q.shape[-1])), "k @ q.T"),
    (attention_variant(masked=lambda s, m: np.where(m, s, 0.0)), "exp(0) = 1"),
    (attention_variant(masked=lambda s, m: s * m), "exp(0) = 1"),
    (attention_variant(masked=lambda s, m: np.where(m.T, s, -np.inf)), "transposed"),
    (attention_variant(normalise=no_keepdims), "keepdims"),
    (attention_variant(normalise=whole_matrix), "whole matrix"),
    (own_causal_mask, "causal mask of your own"),
])
def test_more_attention_mistakes_are_named(wrong, words):
    passed, message = verdict(q1, wrong)
    assert passed is False and words in message, message


def test_rows_that_do_not_sum_to_one_without_a_mask_do_not_talk_about_masking():
    def halves(q, k, v, mask=None):
        w = attention_with()(q, k, v, mask)[1] / 2
        return w @ v, w

    passed, message = verdict(q1, halves)
    assert passed is False and "sum to 1" in message and "mask" not in message, message


@pytest.mark.parametrize("wrong, words", [
    (lambda n: np.tril(np.ones((n, n), bool), 1), "step after it"),
    (lambda n: np.zeros((n, n), bool), "everything is False"),
    (lambda n: np.eye(n, dtype=bool), "only itself"),
])
def test_more_mask_mistakes_are_named(wrong, words):
    passed, message = verdict(q2, wrong)
    assert passed is False and words in message, message


@pytest.mark.parametrize("answer", ["b.", "B)", "(b)", L.UNMASKED_DIAGNOSES["b"]])
def test_the_diagnosis_accepts_b_however_it_is_written(answer):
    assert verdict(q3, answer)[0] is True


def rotation_variant(kind):
    def fn(x, position, max_wavelength=10_000.0):
        d = len(x)
        x1, x2 = x[:d // 2], x[d // 2:]
        k = np.arange(d // 2) + (1 if kind == "k from 1" else 0)
        angle = (1 if kind == "no position" else position) / max_wavelength ** (2 * k / d)
        c, s = np.cos(angle), np.sin(angle)
        if kind == "cos and sin swapped":
            return np.concatenate([x1 * s - x2 * c, x2 * s + x1 * c])
        if kind == "halves swapped":
            return np.concatenate([x2 * c + x1 * s, x1 * c - x2 * s])
        return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s])
    return fn


@pytest.mark.parametrize("kind, words", [
    ("cos and sin swapped", "swapped cos and sin"),
    ("halves swapped", "wrong order"),
    ("no position", "do not use the position"),
    ("k from 1", "k = 1, 2"),
])
def test_more_rotation_mistakes_are_named(kind, words):
    passed, message = verdict(q4, rotation_variant(kind))
    assert passed is False and words in message, message


def cache_variant(kind):
    def fn(q, k, v, keys, values, t):
        if kind == "row t + 1":
            keys[t + 1], values[t + 1] = k, v
        elif kind == "swapped":
            keys[t], values[t] = v, k
        elif kind == "appended":
            keys, values = np.vstack([keys, k]), np.vstack([values, v])
        else:
            keys[t], values[t] = k, v
        rows = slice(0, t + 2 if kind == "one row too many" else t + 1)
        s = keys[rows] @ (k if kind == "scored with k" else q) / np.sqrt(len(q))
        w = np.exp(s - s.max())
        if kind != "not normalised":
            w = w / w.sum()
        out = w @ (keys if kind == "blends keys" else values)[rows]
        return (keys, values, out) if kind == "caches first" else (out, keys, values)
    return fn


@pytest.mark.parametrize("kind, words", [
    ("row t + 1", "into row 1"),
    ("swapped", "you swapped them"),
    ("appended", "instead of appending"),
    ("one row too many", "empty slot"),
    ("scored with k", "*query*"),
    ("not normalised", "do not sum to 1"),
    ("blends keys", "blended the keys"),
    ("caches first", "output first"),
])
def test_more_cache_mistakes_are_named(kind, words):
    passed, message = verdict(q5, cache_variant(kind))
    assert passed is False and words in message, message


@pytest.mark.parametrize("wrong, words", [
    (lambda w, lag: L.lag_attention(w, lag + 1), "off by one"),
    (lambda w, lag: L.lag_attention(w, lag - 1), "off by one"),
    (lambda w, lag: w[:, np.arange(lag, w.shape[-1]), np.arange(w.shape[-1] - lag)].sum(axis=1) / w.shape[-1],
     "averaged over all"),
    (lambda w, lag: w[:, np.arange(lag, w.shape[-1]), np.arange(w.shape[-1] - lag)].mean(axis=0), "over the heads"),
    (lambda w, lag: w[:, np.arange(lag, w.shape[-1]), np.arange(w.shape[-1] - lag)].max(axis=1), "largest"),
])
def test_more_lag_mistakes_are_named(wrong, words):
    passed, message = verdict(q6, wrong)
    assert passed is False and words in message, message


def test_the_seed_diagnosis_points_at_the_samples_instead_of_claiming_every_one_fails():
    passed, message = verdict(q3, "c")
    assert passed is False and "No seed" in message and "samples above" in message
    assert "every sample falls apart" not in message     # a claim the run does not compute
