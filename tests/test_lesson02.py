"""Lesson 02's exercise checks: right answers pass, typical wrong answers are explained in music terms,
and a placeholder (or an unwritten function) counts as "not attempted"."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musegen_helpers.lessons import lesson02
from musegen_helpers.lessons.lesson02 import ____, q1, q2, q3, q4, q5


def verdict(exercise, answer):
    passed, feedback = exercise.evaluate(answer)
    return passed, feedback.message


def unwritten(*args, **kwargs):
    raise NotImplementedError("Exercise: write this function")


@pytest.mark.parametrize("exercise", [q1, q2, q3, q4, q5])
def test_placeholder_is_not_attempted(exercise):
    assert exercise.evaluate(____)[0] is None


@pytest.mark.parametrize("exercise", [q1, q3, q4, q5])
def test_unwritten_function_is_not_attempted(exercise):
    assert exercise.evaluate(unwritten)[0] is None


@pytest.mark.parametrize("exercise", [q1, q2, q3, q4, q5])
def test_reference_answer_passes(exercise):
    assert exercise.evaluate(exercise.answer_or_reference(____))[0] is True


# ---- q1: chord tones ---------------------------------------------------------------------
def test_chord_tone_reference_knows_octaves():
    assert lesson02.is_chord_tone(76, [60, 64, 67])          # E5 in C E G
    assert not lesson02.is_chord_tone(62, [60, 64, 67])      # D4
    assert lesson02.is_chord_tone(65, [67, 71, 74, 77])      # F4: the seventh of G7


def test_chord_tone_written_with_pitch_classes_passes():
    def mine(pitch, chord_pitches):
        return any((pitch - p) % 12 == 0 for p in chord_pitches)

    assert verdict(q1, mine)[0] is True


def test_chord_tone_comparing_midi_numbers_is_told_about_octaves():
    passed, message = verdict(q1, lambda pitch, chord: pitch in chord)
    assert passed is False
    assert "E5" in message and "octave" in message and "% 12" in message


def test_chord_tone_that_says_yes_to_everything_is_told_about_non_chord_tones():
    passed, message = verdict(q1, lambda pitch, chord: True)
    assert passed is False and "non-chord tone" in message and "D4" in message


def test_chord_tone_returning_a_list_is_told_to_return_true_or_false():
    passed, message = verdict(q1, lambda pitch, chord: [p for p in chord if p % 12 == pitch % 12])
    assert passed is False and "True or False" in message


def test_chord_tone_error_in_learner_code_is_reported_not_raised():
    def broken(pitch, chord_pitches):
        return chord_pitches[pitch]

    passed, message = verdict(q1, broken)
    assert passed is False and "IndexError" in message


# ---- q2: a progression with an authentic cadence -------------------------------------------
@pytest.mark.parametrize("answer", [["I", "IV", "V", "I"], "I vi ii V7 I", ("I", "ii6", "V", "I"),
                                    ["I", "V", "vi", "iii", "IV", "I", "V7", "I"]])
def test_progressions_ending_v_i_pass(answer):
    assert verdict(q2, answer)[0] is True


@pytest.mark.parametrize("answer, words", [
    (["I", "V", "I", "IV", "I"], "plagal"),
    (["I", "vi", "IV", "V"], "half cadence"),
    (["I", "IV", "V", "vi"], "deceptive"),
    (["I", "V", "vi", "IV"], "tonic"),
    (["I", "V", "ii", "I"], "dominant"),
])
def test_other_endings_are_named(answer, words):
    passed, message = verdict(q2, answer)
    assert passed is False and words in message


def test_progression_must_start_on_the_tonic_and_have_four_to_eight_chords():
    assert "starts on IV" in verdict(q2, ["IV", "ii", "V", "I"])[1]
    assert "2 chords" in verdict(q2, ["V", "I"])[1]
    assert "9 chords" in verdict(q2, ["I"] * 7 + ["V", "I"])[1]


def test_unreadable_numeral_is_explained_and_falls_back_to_the_reference():
    passed, message = verdict(q2, ["I", "IV", "Q", "I"])
    assert passed is False and "'Q'" in message
    assert q2.answer_or_reference(["I", "IV", "Q", "I"]) == ["I", "vi", "ii", "V7", "I"]
    assert q2.answer_or_reference(["I", "IV", "V", "vi"]) == ["I", "IV", "V", "vi"]  # wrong but readable: hear it


# ---- q3: parallel fifths -------------------------------------------------------------------
def test_parallel_fifths_reference_finds_the_textbook_case():
    assert lesson02.parallel_fifths([72, 74, 76, 77], [65, 67, 60, 53]) == [1]
    assert lesson02.parallel_fifths([67, 67, 69], [60, 60, 65]) == []         # held fifth
    assert lesson02.parallel_fifths([79, 81], [60, 62]) == [1]                 # twelfths


def test_parallel_fifths_agree_with_the_theory_module():
    from musegen_helpers.theory import check_parallel_fifths, voices_to_piece

    upper, lower = [76, 74, 72, 74, 76], [69, 67, 60, 67, 69]
    piece = voices_to_piece([upper, lower], labels=["S", "B"])
    from_theory = [int(v.position) for v in check_parallel_fifths(piece)]
    assert from_theory == lesson02.parallel_fifths(upper, lower) == [1, 4]


def test_fifths_without_checking_motion_are_told_both_voices_must_move():
    def no_motion_check(upper, lower):
        return [i for i in range(1, len(upper))
                if abs(upper[i - 1] - lower[i - 1]) % 12 == 7 and abs(upper[i] - lower[i]) % 12 == 7]

    passed, message = verdict(q3, no_motion_check)
    assert passed is False and "both voices to move" in message


def test_fifths_without_modulo_are_told_about_twelfths():
    def exact_seven(upper, lower):
        return [i for i in range(1, len(upper))
                if upper[i - 1] - lower[i - 1] == 7 and upper[i] - lower[i] == 7
                and upper[i] != upper[i - 1] and lower[i] != lower[i - 1]]

    passed, message = verdict(q3, exact_seven)
    assert passed is False and "twelfth" in message and "modulo 12" in message


def test_fifths_reported_one_position_early_are_explained():
    passed, message = verdict(q3, lambda u, l: [i - 1 for i in lesson02.parallel_fifths(u, l)])
    assert passed is False and "one position too early" in message


def test_fifths_returning_nothing_misses_the_textbook_case():
    passed, message = verdict(q3, lambda u, l: [])
    assert passed is False and "missed position 1" in message and "C5→D5 over F4→G4" in message


# ---- q4: transition counts -------------------------------------------------------------------
def test_transition_reference_counts_inside_each_tune():
    counts = lesson02.count_transitions([[0, 1, 1], [1, 0]], 3)
    np.testing.assert_array_equal(counts, [[0, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_transition_loop_solution_passes():
    def mine(sequences, n_symbols=128):
        counts = np.zeros((n_symbols, n_symbols), dtype=int)
        for tune in sequences:
            for a, b in zip(tune[:-1], tune[1:]):
                counts[a, b] += 1
        return counts

    assert verdict(q4, mine)[0] is True


def test_transitions_across_tunes_are_explained():
    def joined(sequences, n_symbols=128):
        flat = [s for t in sequences for s in t]
        return lesson02.count_transitions([flat], n_symbols)

    passed, message = verdict(q4, joined)
    assert passed is False and "from the last note of one tune" in message


def test_flipped_table_is_explained():
    passed, message = verdict(q4, lambda seqs, n=128: lesson02.count_transitions(seqs, n).T)
    assert passed is False and "flipped" in message


def test_probabilities_instead_of_counts_are_explained():
    def probs(seqs, n=128):
        c = lesson02.count_transitions(seqs, n).astype(float)
        rows = c.sum(axis=1, keepdims=True)
        return np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)

    passed, message = verdict(q4, probs)
    assert passed is False and "probabilities" in message


def test_wrong_count_names_the_notes():
    def off_by_one(seqs, n=128):
        c = lesson02.count_transitions(seqs, n)
        c[60, 62] += 1
        return c

    passed, message = verdict(q4, off_by_one)
    assert passed is False and "from C4 to D4" in message


def test_wrong_shape_is_explained():
    passed, message = verdict(q4, lambda seqs, n=128: np.zeros((n, n + 1)))
    assert passed is False and "shape" in message


# ---- q5: choosing the order -----------------------------------------------------------------
def test_best_order_reference():
    assert lesson02.best_order({1: 2.0, 2: 1.5, 3: 1.6}) == 2
    assert lesson02.best_order({1: 2.0, 2: 1.5, 3: 1.49}, tolerance=0.02) == 2
    assert lesson02.best_order({1: 2.0, 2: math.inf}) == 1
    with pytest.raises(ValueError, match="add_k"):
        lesson02.best_order({1: math.inf})


def test_plain_argmin_ignores_the_tolerance():
    passed, message = verdict(q5, lambda table, tolerance=0.0: min(table, key=table.get))
    assert passed is False and "tolerance" in message


def test_returning_the_bits_instead_of_the_order_is_explained():
    passed, message = verdict(q5, lambda table, tolerance=0.0: min(table.values()))
    assert passed is False and "bits" in message and "key" in message


def test_returning_the_worst_order_is_explained():
    def worst(table, tolerance=0.0):
        finite = {k: v for k, v in table.items() if math.isfinite(v)}
        return max(finite, key=finite.get)

    passed, message = verdict(q5, worst)
    assert passed is False and "most" in message


def test_highest_order_within_tolerance_is_told_to_prefer_the_lower():
    def highest(table, tolerance=0.0):
        lowest = min(v for v in table.values() if math.isfinite(v))
        return max(k for k, v in table.items() if v <= lowest + tolerance)

    passed, message = verdict(q5, highest)
    assert passed is False and "lower" in message


def test_infinite_bits_are_not_the_best():
    passed, message = verdict(q5, lambda table, tolerance=0.0: min(table, key=lambda k: -table[k]))
    assert passed is False and ("infinite" in message or "most" in message)
