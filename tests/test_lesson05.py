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


def test_entropy_as_a_plain_mean_of_surprisals_is_told_to_weigh_by_p():
    def plain_mean(piece):
        counts = np.bincount([n.pitch % 12 for n in piece.notes], minlength=12)
        p = counts[counts > 0] / counts.sum()
        return float(-np.log2(p).mean())

    passed, message = verdict(q1, plain_mean)
    assert passed is False and "plain average" in message and "weighted sum, not a mean" in message


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
    runs = {label: lesson05._longest_run(label) for label in "ABCDE"}
    middling = next(label for label in "ABCE" if runs[label] > min(runs.values()))
    passed, message = verdict(q3, middling)
    assert passed is False and f"tune {middling} shares at most" in message and "several bars" in message


@needs_data
def test_copy_quiz_answer_that_is_not_a_letter_is_the_wrong_kind():
    passed, message = verdict(q3, "F")
    assert passed is False and "'A', 'B', 'C', 'D' or 'E'" in message
    assert q3.answer_or_reference(3) == "D"                      # wrong kind: later cells use the reference


# ---- every exercise: the likely mistakes, each named ------------------------------------------
@pytest.mark.parametrize("answer, words", [
    (2 * math.comb(20, 6) / 2 ** 20, "the tail sum is missing"),     # one term of the binomial, doubled
    (math.comb(20, 14) / 2 ** 20, "the tail sum is missing"),        # one term
    (2 * sum(math.comb(20, i) for i in range(15)) / 2 ** 20, "cannot be above 1"),   # k = 14
    (2 * sum(math.comb(20, i) for i in range(7)), "forgot to divide by 2^20"),
    (2 * sum(math.comb(20, i) for i in range(7)) / 400, "n² = 400"),
    (11.53, "percentage"),
    (sum(math.comb(20, i) for i in range(15)) / 2 ** 20, "wrong tail"),
    (2 * sum(math.comb(24, i) for i in range(7)) / 2 ** 24, "leaves ties out"),
    (-0.1153, "negative"),
    (0.3, "Check each step"),
    (0.12, "did you round?"),                                         # right, rounded to 2 decimals
])
def test_sign_test_slips_are_named(answer, words):
    passed, message = verdict(q4, answer)
    assert passed is False and words in message, message
    if "above 1" in words:
        assert "k = min(wins, losses) = 6" in message


def test_sign_test_one_term_is_not_called_the_normal_approximation():
    passed, message = verdict(q4, 0.0739)           # 2 * C(20, 6) / 2**20, rounded: 0.0003 from the z-test
    assert passed is False and "tail sum is missing" in message and "normal approximation" not in message
    passed, message = verdict(q4, 0.0736)           # the z-test itself
    assert passed is False and "normal approximation" in message


def test_entropy_with_shares_that_do_not_sum_to_one_is_told_so():
    def over_twelve(piece):
        counts = np.bincount([n.pitch % 12 for n in piece.notes], minlength=12)
        p = counts[counts > 0] / 12
        return float(-(p * np.log2(p)).sum())

    passed, message = verdict(q1, over_twelve)
    assert passed is False and "do not add up to 1" in message and "counts.sum()" in message

    def raw(piece):
        counts = np.bincount([n.pitch % 12 for n in piece.notes], minlength=12)
        p = counts[counts > 0].astype(float)
        return float(-(p * np.log2(p)).sum())

    passed, message = verdict(q1, raw)
    assert passed is False and "counts themselves" in message


@needs_data
def test_overlap_quiz_highest_overlap_is_told_oa_means_alike():
    highest = max(lesson05.overlap_quiz(), key=lambda r: r["overlap"])["feature"]
    passed, message = verdict(q2, highest)
    assert passed is False and "*highest*" in message and "*smallest*" in message


@needs_data
def test_overlap_quiz_other_answers():
    assert verdict(q2, "interval")[0] is True                      # read as mean_interval, the only match
    passed, message = verdict(q2, 0.41)
    assert passed is False and "number" in message and "name" in message
    row = min(lesson05.overlap_quiz(), key=lambda r: r["overlap"])
    passed, message = verdict(q2, dict(row))
    assert passed is False and "row['feature']" in message


@needs_data
def test_copy_quiz_shortest_run_is_told_max_not_min():
    runs = {label: lesson05._longest_run(label) for label in "ABCDE"}
    shortest = min(runs, key=runs.get)
    passed, message = verdict(q3, shortest)
    assert passed is False and "*fewest*" in message and "max, not min" in message


@needs_data
def test_copy_quiz_max_of_the_dict_is_told_it_compares_letters():
    passed, message = verdict(q3, max({label: lesson05._longest_run(label) for label in "ABCDE"}))
    assert passed is False and "max(runs)" in message and "compares its keys" in message
    passed, message = verdict(q3, "B")
    assert passed is False and "compares its keys" not in message


@needs_data
def test_copy_quiz_table_pair_or_length_is_the_wrong_kind():
    runs = {label: lesson05._longest_run(label) for label in "ABCDE"}
    passed, message = verdict(q3, runs)
    assert passed is False and "max(runs, key=runs.get)" in message
    passed, message = verdict(q3, ("D", runs["D"]))
    assert passed is False and "letter alone" in message
    passed, message = verdict(q3, runs["D"])
    assert passed is False and "run length" in message
    assert q3.answer_or_reference(runs) == "D"                    # later cells go on with the reference


# ---- later cells never show the reference before the learner answers -------------------------
def test_sign_test_comparison_shows_the_value_only_once_the_answer_is_right():
    for not_yet in (____, 0.0739, "0.115"):
        text = lesson05.sign_test_comparison(not_yet)
        assert "0.115" not in text and "0.1153" not in text, text
    assert "0.1153" in lesson05.sign_test_comparison(0.1153)


@needs_data
def test_copied_tune_is_not_named_before_an_answer():
    assert lesson05.copied_tune_or_none(____) is None
    assert lesson05.copied_tune_or_none("F") is None               # the wrong kind: still no answer
    assert lesson05.copied_tune_or_none(" tune b") == "B"         # a wrong letter is shown, it is theirs
    assert lesson05.copied_tune_or_none(lesson05.copy_quiz()["D"]) == "D"


def test_notebook_cells_after_the_checks_do_not_print_the_references():
    import nbformat
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for folder in ("solutions", "notebooks"):
        nb = nbformat.read(root / folder / "05_evaluation.ipynb", 4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        for check, helper in [("q3.check(", "copied_tune_or_none(copied_tune)"),
                              ("q4.check(", "sign_test_comparison(p_value)")]:
            after = code[next(i for i, s in enumerate(code) if check in s) + 1:]
            assert any(helper in s for s in after), helper
            for source in after:
                assert "q3.answer_or_reference" not in source and "q4.answer_or_reference" not in source
                assert "sign_test(14, 6)" not in source and "sign_test(14,6)" not in source


# ---- verdicts --------------------------------------------------------------------------------
def test_repetition_verdict_follows_the_numbers():
    assert "not stuck in a loop" in lesson05.repetition_verdict(0.0, 0.75, bars=8)
    assert "is stuck in a loop" in lesson05.repetition_verdict(0.6, 0.75, bars=8)


def test_scoreboard_verdict_follows_the_numbers():
    rows = [{"system": "real melodies (held out)", "mean_overlap": 1.0, "copy_rate": 0.2},
            {"system": "memoriser (order 17)", "mean_overlap": 0.81, "copy_rate": 0.66},
            {"system": "Kneser-Ney 8-gram", "mean_overlap": 0.64, "copy_rate": 0.02},
            {"system": "LSTM T=0.8", "mean_overlap": 0.89, "copy_rate": 0.27},
            {"system": "LSTM T=1.2", "mean_overlap": 0.80, "copy_rate": 0.0},
            {"system": "GAN", "mean_overlap": 0.83}, {"system": "rule-based chorales", "mean_overlap": 0.40}]
    text = lesson05.scoreboard_verdict(M.Scoreboard(rows, {}, [], title=""))
    assert "ranks 2 of 4" in text and "3.3 times as high" in text
    assert "temperature 0.8 → 1.2: mean overlap 0.89 → 0.80, copy rate 0.27 → 0.00" in text
    assert "GAN is closer" in text
    rows[1]["copy_rate"] = 0.25
    assert "not far above real tunes" in lesson05.scoreboard_verdict(M.Scoreboard(rows, {}, [], title=""))


# ---- sentences of the lesson that are tested to hold ---------------------------------------
@needs_data
def test_the_pitch_facts_of_the_lesson_hold_for_held_out_tunes():
    from musegen_helpers.datasets import load_melodies

    tunes = [lesson05.through_tokens(t) for t in load_melodies().split("test").tokens()]
    ranges = np.array([M.pitch_range(t) for t in tunes])
    assert np.mean(ranges <= 19) >= 0.9                    # "9 in 10 held-out tunes span at most 19 semitones"
    assert np.median([M.n_pitch_classes_used(t) for t in tunes]) == 7     # "a tonal tune uses about 7"
    entropy = np.array([M.pitch_class_entropy(t) for t in tunes])
    assert np.mean(entropy < 3) > 0.95                     # "tonal music sits below 3"
    mean_steps = np.array([M.mean_interval(t) for t in tunes])
    assert np.nanmean((mean_steps >= 1.5) & (mean_steps <= 3)) > 0.75    # "most ... between 1.5 and 3"
    small = [np.mean(np.abs(np.diff([n.pitch for n in t.notes])) <= 2) for t in tunes if len(t.notes) > 1]
    assert np.median(small) > 0.5                          # "mostly repeated notes and steps of 1–2 semitones"


def test_rule_based_chorales_hold_every_chord_for_a_whole_bar():
    from musegen_helpers.rules import compose

    for key, progression in [("C major", "classical"), ("A minor", "minor"), ("G major", "pop")]:
        piece = compose(key, progression, bars=4, harmonize="chorale", seed=1)
        assert {n.duration for n in piece.notes} == {4.0}           # "every note is a whole note"


def test_bach_breaks_a_textbook_rule_in_the_lessons_excerpt():
    from musegen_helpers.datasets import load_chorales

    excerpt = load_chorales().split("test")[0].slice(0, 16)
    assert M.voice_leading_violations(excerpt)             # "Bach breaks 'rules' now and then"
