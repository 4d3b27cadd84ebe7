"""Lesson 05's exercise checks: right answers pass, typical wrong answers are explained in music and
statistics terms, and a placeholder (or an unwritten function) counts as "not attempted".

Exercises 2 and 3 are built from the shipped melody dataset; their tests skip when it is missing.

Lesson: 05_evaluation
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy.stats import binomtest

from musegen_helpers import metrics as M
from musegen_helpers.config import DATA_DIR
from musegen_helpers.lessons import lesson05
from musegen_helpers.lessons.lesson05 import ____, q1, q2, q3, q4
from musegen_helpers.music import melody
from musegen_helpers.representation import HOLD, REST, melody_to_tokens

needs_data = pytest.mark.skipif(not (DATA_DIR / "melodies-v1.json").exists(),
                                reason="datasets not built: python -m musegen_helpers.datasets build")


def verdict(exercise, answer):
    passed, feedback = exercise.evaluate(answer)
    return passed, feedback.message


def unwritten(*args, **kwargs):
    raise NotImplementedError("Exercise: write this function")


@pytest.mark.parametrize("exercise", [q1, q2, q3, q4])
def test_placeholder_is_not_attempted(exercise):
    assert exercise.evaluate(____)[0] is None


def test_unwritten_function_is_not_attempted():
    assert q1.evaluate(unwritten)[0] is None


# ---- q1: pitch-class entropy -----------------------------------------------------------------
def entropy_with(log=np.log2, key=lambda n: n.pitch % 12, weight=lambda n: 1.0, keep_zeros=False, sign=-1.0):
    """A learner's entropy function, with one choice made differently."""
    def mine(piece):
        counts = Counter()
        for n in piece.notes:
            counts[key(n)] += weight(n)
        values = np.array([counts.get(k, 0.0) for k in range(12)] if keep_zeros else list(counts.values()), float)
        p = values / values.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(sign * (p * log(p)).sum())
    return mine


def test_entropy_reference_passes():
    assert verdict(q1, q1.answer_or_reference(____))[0] is True


def test_entropy_written_with_bincount_passes():
    def mine(piece):
        counts = np.bincount([n.pitch % 12 for n in piece.notes], minlength=12)
        p = counts[counts > 0] / counts.sum()
        return -(p * np.log2(p)).sum()          # a numpy float is a number too

    assert verdict(q1, mine)[0] is True
    assert verdict(q1, entropy_with())[0] is True


def test_entropy_in_nats_is_told_to_use_log2():
    passed, message = verdict(q1, entropy_with(log=np.log))
    assert passed is False and "nats" in message and "log2" in message


def test_entropy_of_midi_pitches_is_told_about_octaves():
    passed, message = verdict(q1, entropy_with(key=lambda n: n.pitch))
    assert passed is False and "octave" in message and "% 12" in message


def test_entropy_weighted_by_duration_is_told_to_count_notes():
    passed, message = verdict(q1, entropy_with(weight=lambda n: n.duration))
    assert passed is False and "duration" in message and "counts notes" in message


def test_entropy_with_empty_pitch_classes_is_told_about_zero_log_zero():
    passed, message = verdict(q1, entropy_with(keep_zeros=True))
    assert passed is False and "nan" in message and "0 · log2(0)" in message


def test_entropy_without_the_minus_sign_is_told_so():
    passed, message = verdict(q1, entropy_with(sign=1.0))
    assert passed is False and "negative" in message and "minus" in message


def test_normalised_entropy_is_told_to_return_bits():
    def normalised(piece):
        return M.pitch_class_entropy(piece) / math.log2(12)

    passed, message = verdict(q1, normalised)
    assert passed is False and "normalised" in message


def test_entropy_as_log_of_classes_used_is_told_to_weigh_shares():
    passed, message = verdict(q1, lambda piece: math.log2(len({n.pitch % 12 for n in piece.notes})))
    assert passed is False and "equally frequent" in message


def test_entropy_returning_the_histogram_is_told_to_return_one_number():
    passed, message = verdict(q1, lambda piece: M.pitch_class_histogram(piece))
    assert passed is False and "one number" in message


def test_entropy_error_in_learner_code_is_reported_not_raised():
    passed, message = verdict(q1, lambda piece: piece.notes[100].pitch)
    assert passed is False and "IndexError" in message


def test_entropy_check_pieces_cover_the_edges():
    values = [M.pitch_class_entropy(p) for _, p in lesson05._ENTROPY_PIECES]
    assert 0.0 in values                                           # one pitch class
    assert any(math.isclose(v, math.log2(12)) for v in values)     # all twelve, equally often


# ---- q4: the sign test ------------------------------------------------------------------------
def test_sign_test_answer_agrees_with_scipy():
    assert math.isclose(q4.answer_or_reference(____), binomtest(14, 20, 0.5).pvalue, abs_tol=1e-4)
    assert verdict(q4, binomtest(14, 20, 0.5).pvalue)[0] is True
    assert verdict(q4, 0.1153)[0] is True                          # rounded by hand
    n, k = 20, 6
    assert verdict(q4, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)[0] is True


@pytest.mark.parametrize("answer, words", [
    (binomtest(14, 20, 0.5, alternative="greater").pvalue, "one-sided"),
    (0.0370, "exactly 14"),
    (binomtest(14, 24, 0.5).pvalue, "leaves ties out"),
    (binomtest(16, 24, 0.5).pvalue, "split the 4 ties"),
    (0.0736, "normal approximation"),
    (0.1175, "continuity correction"),
    (1 - binomtest(14, 20, 0.5).pvalue, "less* extreme"),
    (0.7, "win rate"),
    (0.0414, "left out the observed split"),
])
def test_sign_test_mistakes_are_explained(answer, words):
    passed, message = verdict(q4, answer)
    assert passed is False and words in message


def test_sign_test_answer_as_text_is_the_wrong_kind():
    passed, message = verdict(q4, "0.115")
    assert passed is False and "quotes" in message


# ---- q2: which feature differs most ----------------------------------------------------------
def test_mystery_generator_keeps_notes_and_rhythm_but_not_their_order():
    tokens = melody_to_tokens(melody(["C4", "D4", "E4", None, "G4", "A4", "B4", "C5"], 0.5))
    scrambled = lesson05._scramble(tokens, np.random.default_rng(0))
    assert sorted(scrambled[tokens <= 127]) == sorted(tokens[tokens <= 127])     # the same notes
    assert np.array_equal(scrambled > 127, tokens > 127)                         # the same rhythm and rests
    assert np.array_equal(scrambled[scrambled == REST], tokens[tokens == REST])
    assert not np.array_equal(scrambled, tokens)                                 # another order


@needs_data
def test_overlap_quiz_is_deterministic_and_has_a_clear_answer():
    mystery, real = lesson05.mystery_sets()
    assert (len(mystery), len(real)) == (20, 40)
    rows = sorted(lesson05.overlap_quiz(), key=lambda r: r["overlap"])
    assert rows[0]["feature"] == q2.answer_or_reference(____)
    assert rows[1]["overlap"] - rows[0]["overlap"] > 0.1          # no near tie to argue about
    lesson05._mystery_sets_cached.cache_clear()    # build it again from scratch: the same numbers
    lesson05.overlap_quiz.cache_clear()
    again = {r["feature"]: r["overlap"] for r in lesson05.overlap_quiz()}
    assert again == {r["feature"]: r["overlap"] for r in rows}


@needs_data
@pytest.mark.parametrize("answer", ["mean_interval", "Mean interval", " mean-interval "])
def test_overlap_quiz_right_feature_passes(answer):
    assert verdict(q2, answer)[0] is True


@needs_data
def test_overlap_quiz_unchanged_pitch_statistic_is_explained():
    passed, message = verdict(q2, "pitch_class_entropy")
    assert passed is False and "overlapped area" in message and "among themselves" in message


@needs_data
def test_overlap_quiz_runner_up_is_told_it_is_close():
    second = sorted(lesson05.overlap_quiz(), key=lambda r: r["overlap"])[1]["feature"]
    passed, message = verdict(q2, second)
    assert passed is False and message.startswith("close")


@needs_data
def test_overlap_quiz_unknown_feature_lists_the_features():
    passed, message = verdict(q2, "loudness")
    assert passed is False and "pitch_range" in message and "syncopation" in message
    assert verdict(q2, 3)[0] is False


# ---- q3: spot the copied melody --------------------------------------------------------------
def test_variation_keeps_the_start_and_changes_later_notes():
    tokens = melody_to_tokens(melody(["C4", "D4", "E4", "F4", "G4", "A4", "G4", "E4"] * 2, 1.0))
    varied = lesson05._vary(tokens, after=16)
    assert np.array_equal(varied[:16], tokens[:16])
    assert not np.array_equal(varied[16:], tokens[16:])
    assert np.array_equal(varied == HOLD, tokens == HOLD)                        # the rhythm stays
    assert set(varied[varied <= 127]) <= set(tokens[tokens <= 127])              # the tune's own notes


@needs_data
def test_copy_quiz_has_one_long_copy_and_four_originals():
    _, _, train_tokens = lesson05._copy_quiz_cached()
    quiz = lesson05.copy_quiz()
    assert list(quiz) == list("ABCDE")
    copier = q3.answer_or_reference(____)
    assert M.longest_shared_run(quiz[copier], train_tokens).length >= lesson05._COPIED_STEPS
    others = [tune for label, tune in quiz.items() if label != copier]
    assert M.copy_rate(others, train_tokens, n=32) == 0.0       # no 2-bar window of the others is copied


@needs_data
@pytest.mark.parametrize("answer", ["D", "d", "tune D"])
def test_copy_quiz_right_letter_passes(answer):
    assert verdict(q3, answer)[0] is True


@needs_data
def test_copy_quiz_right_tune_as_a_piece_passes():
    assert verdict(q3, lesson05.copy_quiz()["D"])[0] is True


@needs_data
def test_copy_quiz_wrong_letter_is_told_its_longest_run():
    passed, message = verdict(q3, "B")
    assert passed is False and "tune B shares at most" in message and "several bars" in message


@needs_data
def test_copy_quiz_answer_that_is_not_a_letter_is_the_wrong_kind():
    passed, message = verdict(q3, "F")
    assert passed is False and "'A', 'B', 'C', 'D' or 'E'" in message
    assert q3.answer_or_reference(3) == "D"                      # wrong kind: later cells use the reference
