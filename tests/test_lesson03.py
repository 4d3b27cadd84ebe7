"""Lesson 03's exercise checks: right answers pass, known wrong answers are explained."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from musegen_helpers.lessons import lesson03
from musegen_helpers.lessons.lesson03 import ____, q2, q1, q3, q4


def verdict(exercise, answer):
    passed, feedback = exercise.evaluate(answer)
    return passed, feedback.message


def test_importing_the_lesson_does_not_import_tensorflow():
    code = "import sys, musegen_helpers.lessons.lesson03; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("exercise", [q2, q1, q3, q4])
def test_placeholder_and_unwritten_function_are_not_attempted(exercise):
    def unwritten(*args):
        raise NotImplementedError("Exercise: write this function")

    assert exercise.evaluate(____)[0] is None
    assert exercise.evaluate(unwritten)[0] is None


# ---- q2: windows -------------------------------------------------------------------------
def good_pairs(tokens, window):
    tokens = np.asarray(tokens)
    starts = range(0, len(tokens) - window, window)
    return (np.array([tokens[s:s + window] for s in starts]),
            np.array([tokens[s + 1:s + window + 1] for s in starts]))


def test_windows_right_answer_passes():
    assert verdict(q2, good_pairs)[0] is True
    x, y = lesson03.training_pairs(np.arange(10), 3)
    np.testing.assert_array_equal(x, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    np.testing.assert_array_equal(y, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])


def test_windows_without_shift_are_explained():
    def no_shift(tokens, window):
        x, _ = good_pairs(tokens, window)
        return x, x.copy()

    passed, message = verdict(q2, no_shift)
    assert passed is False and "next" in message


def test_windows_shifted_backwards_are_explained():
    def backwards(tokens, window):
        tokens = np.asarray(tokens)
        starts = range(1, len(tokens) - window + 1, window)
        return (np.array([tokens[s:s + window] for s in starts]), np.array([tokens[s - 1:s + window - 1] for s in starts]))

    passed, message = verdict(q2, backwards)
    assert passed is False


def test_one_window_too_many_is_explained():
    def too_many(tokens, window):
        tokens = np.asarray(tokens)
        starts = range(0, len(tokens) - window + 1, window)
        return (np.array([tokens[s:s + window] for s in starts]),
                np.array([np.resize(tokens[s + 1:s + window + 1], window) for s in starts]))

    passed, message = verdict(q2, too_many)
    assert passed is False and ("too many" in message or "shape" in message)


# ---- q1: the classic model in Keras 3 ---------------------------------------------------
keras = pytest.importorskip("keras")


def fixed_model(seq_length, pitch_count):
    model = keras.Sequential([
        keras.Input(shape=(seq_length, pitch_count)),
        keras.layers.LSTM(128, return_sequences=True),
        keras.layers.Dense(pitch_count, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=0.01))
    return model


def test_fixed_model_passes_and_the_helper_builds_the_same():
    assert verdict(q1, fixed_model)[0] is True
    from musegen_helpers.models.lstm import build_legacy_model
    assert verdict(q1, build_legacy_model)[0] is True


def test_old_lr_argument_is_explained():
    def old_style(seq_length, pitch_count):
        model = fixed_model(seq_length, pitch_count)
        model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(**{"l" "r": 0.01}))
        return model

    passed, message = verdict(q1, old_style)
    assert passed is False and "learning_rate" in message


def test_model_without_return_sequences_or_softmax_is_explained():
    def last_step_only(seq_length, pitch_count):
        model = keras.Sequential([keras.Input(shape=(seq_length, pitch_count)), keras.layers.LSTM(128),
                                  keras.layers.Dense(pitch_count, activation="softmax")])
        model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=0.01))
        return model

    def no_softmax(seq_length, pitch_count):
        model = keras.Sequential([keras.Input(shape=(seq_length, pitch_count)),
                                  keras.layers.LSTM(128, return_sequences=True), keras.layers.Dense(pitch_count)])
        model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=0.01))
        return model

    assert "return_sequences" in verdict(q1, last_step_only)[1]
    assert "softmax" in verdict(q1, no_softmax)[1]


def test_wrong_learning_rate_and_missing_return_are_explained():
    def slow(seq_length, pitch_count):
        model = fixed_model(seq_length, pitch_count)
        model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=0.001))
        return model

    def forgot_return(seq_length, pitch_count):
        fixed_model(seq_length, pitch_count)

    assert "0.001" in verdict(q1, slow)[1]
    assert "return" in verdict(q1, forgot_return)[1]


# ---- q3: temperature ----------------------------------------------------------------------
def test_temperature_right_answer_passes():
    def mine(probs, temperature):
        with np.errstate(divide="ignore"):
            z = np.log(np.asarray(probs, dtype=float)) / temperature
        q = np.exp(z - z.max())
        return q / q.sum()

    assert verdict(q3, mine)[0] is True


def test_temperature_reference_agrees_with_the_sampling_module():
    from musegen_helpers.sampling import apply_temperature
    p = np.array([0.5, 0.3, 0.15, 0.05])
    for t in (0.3, 1.0, 2.5):
        np.testing.assert_allclose(lesson03.with_temperature(p, t), apply_temperature(p, t), atol=1e-12)


def test_temperature_without_renormalising_is_explained():
    passed, message = verdict(q3, lambda probs, temperature: np.asarray(probs) ** (1 / temperature))
    assert passed is False and "sum" in message


def test_temperature_multiplied_instead_of_divided_is_wrong():
    def backwards(probs, temperature):
        q = np.asarray(probs) ** temperature
        return q / q.sum()

    assert verdict(q3, backwards)[0] is False


# ---- q4: bits per token -------------------------------------------------------------------
def test_bits_right_answer_passes_and_halves_cost_one_bit():
    assert verdict(q4, lambda p: -np.mean(np.log2(p)))[0] is True
    assert lesson03.bits_per_token_of([0.5, 0.25]) == pytest.approx(1.5)


@pytest.mark.parametrize("wrong, words", [
    (lambda p: np.mean(np.log2(p)), "minus"),
    (lambda p: -np.mean(np.log(p)), "nats"),
    (lambda p: -np.sum(np.log2(p)), "total"),
    (lambda p: -np.log2(np.mean(p)), "average of the logs"),
])
def test_bits_known_mistakes_are_explained(wrong, words):
    passed, message = verdict(q4, wrong)
    assert passed is False and words in message
