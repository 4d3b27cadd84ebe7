"""Lesson 04's exercise checkers, with right and wrong answers."""

import numpy as np
import pytest

pytest.importorskip("keras")

from musegen_helpers import datasets  # noqa: E402
from musegen_helpers.metrics import diversity, unique_fraction  # noqa: E402
from musegen_helpers.config import DATA_DIR  # noqa: E402
from musegen_helpers.exercises import ____  # noqa: E402
from musegen_helpers.lessons import lesson04 as L  # noqa: E402
from musegen_helpers.models import gan as G  # noqa: E402

HAVE_CHORALES = all((DATA_DIR / f"{datasets.CHORALES_STEM}{s}").is_file() for s in (".npz", ".json"))


def _verdict(exercise, answer):
    passed, feedback = exercise.evaluate(answer)
    return passed, feedback.message


# ---- q1: the discriminator's loss --------------------------------------------------------
def test_q1_accepts_keras_and_numpy_versions():
    from keras import ops

    def with_keras(real, fake):
        return 0.5 * (ops.mean(ops.softplus(-real)) + ops.mean(ops.softplus(fake)))

    def with_numpy(real, fake):
        return (np.mean(np.log1p(np.exp(-real))) + np.mean(np.log1p(np.exp(fake)))) / 2

    assert _verdict(L.q1, with_keras)[0] is True
    assert _verdict(L.q1, with_numpy)[0] is True
    assert _verdict(L.q1, G.discriminator_loss)[0] is True


def test_q1_explains_swapped_labels_and_a_sum():
    def swapped(real, fake):
        return 0.5 * (np.mean(np.logaddexp(0, real)) + np.mean(np.logaddexp(0, -fake)))

    def summed(real, fake):
        return np.mean(np.logaddexp(0, -real)) + np.mean(np.logaddexp(0, fake))

    passed, message = _verdict(L.q1, swapped)
    assert passed is False and "swapped" in message
    passed, message = _verdict(L.q1, summed)
    assert passed is False and "twice" in message
    passed, message = _verdict(L.q1, lambda real, fake: 0.0)
    assert passed is False and "ln 2" in message


def test_q1_unsolved_stub_is_not_attempted():
    def stub(real, fake):
        raise NotImplementedError("Exercise: write this function")

    assert _verdict(L.q1, stub)[0] is None
    assert _verdict(L.q1, ____)[0] is None


# ---- q3: mode collapse -------------------------------------------------------------------
def test_collapse_test_sets_are_what_they_claim():
    for what, bars, collapsed in L.collapse_test_sets():
        assert bars.shape[1:] == (16, 48, 1)
        assert (diversity(G.bars_to_pieces(bars)) < 0.5) == collapsed, what
    flicker = [b for what, b, _ in L.collapse_test_sets() if "flicker" in what][0]
    assert unique_fraction(G.bars_to_pieces(flicker)) > 0.9   # the trap: all "unique", yet one bar


def test_q3_accepts_a_diversity_test_and_explains_why_unique_counting_fails():
    assert _verdict(L.q3, lambda bars: diversity(G.bars_to_pieces(bars)) < 0.5)[0] is True
    passed, message = _verdict(L.q3, lambda bars: unique_fraction(G.bars_to_pieces(bars)) < 0.5)
    assert passed is False and "flicker" in message and "diversity" in message
    assert _verdict(L.q3, lambda bars: False)[0] is False
    passed, message = _verdict(L.q3, lambda bars: None)
    assert passed is False and "return" in message


# ---- q4: the threshold ---------------------------------------------------------------------
def test_q4_accepts_the_reference_and_rejects_extremes_with_reasons():
    assert _verdict(L.q4, L.q4.answer_or_reference(____))[0] is True
    passed, message = _verdict(L.q4, 0.05)
    assert passed is False and "too low" in message
    passed, message = _verdict(L.q4, 0.9)
    assert passed is False and ("empty" in message or "too high" in message)
    passed, message = _verdict(L.q4, 1.5)
    assert passed is False and "between 0 and 1" in message
    assert _verdict(L.q4, "0.5")[0] is False


def test_q4_reference_threshold_matches_the_real_bars_better_than_half():
    generator, _ = G.load_pretrained_generator(early=True)
    probs = G.generate_bars(generator, 500, seed=3, threshold=None)
    best = G.quality(G.binarize(probs, L.q4.answer_or_reference(____)))
    half = G.quality(G.binarize(probs, 0.5))
    assert abs(best["notes per bar"] - L.REAL_NOTES_PER_BAR) < abs(half["notes per bar"] - L.REAL_NOTES_PER_BAR)


@pytest.mark.skipif(not HAVE_CHORALES, reason="datasets not built: python -m musegen_helpers.datasets build")
def test_q4_real_bar_numbers_are_those_of_the_data():
    real = G.quality(G.chorale_bars(datasets.load_chorales()))
    assert real["notes per bar"] == pytest.approx(L.REAL_NOTES_PER_BAR, abs=0.1)
    assert real["used pitch classes"] == pytest.approx(L.REAL_PITCH_CLASSES, abs=0.1)


# ---- q2: name the failure --------------------------------------------------------------------
def test_q2_knows_the_winning_discriminator():
    assert _verdict(L.q2, "winning discriminator")[0] is True
    assert _verdict(L.q2, "  Winning Discriminator ")[0] is True
    passed, message = _verdict(L.q2, "mode collapse")
    assert passed is False and "D(real)" in message
    passed, message = _verdict(L.q2, "overfitting")
    assert passed is False and "not one of" in message
