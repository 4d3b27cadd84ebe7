"""The exercise framework: the ____ placeholder, Exercise.check/hint/solution, and every checker
with right answers, typical wrong answers (the message names the musical mistake) and ____."""

import copy

import numpy as np
import pytest

from musegen_helpers import exercises
from musegen_helpers.checks import (
    Args, check_array, check_function, check_interval, check_number, check_piece, check_pitches, check_tokens,
    interval_phrase,
)
from musegen_helpers.exercises import ____, CheckFailed, Exercise, Feedback, is_placeholder
from musegen_helpers.music import Note, melody
from musegen_helpers.representation import melody_to_tokens, piano_roll


def failure(check, answer) -> str:
    """The message a checker gives for a wrong answer (fails the test if it accepts it)."""
    with pytest.raises(CheckFailed) as info:
        check(answer)
    return str(info.value)


C_MAJOR = [60, 62, 64, 65, 67, 69, 71]
TWINKLE = melody(["C4", "C4", "G4", "G4", "A4", "A4", "G4"], durations=[1, 1, 1, 1, 1, 1, 2])


# ---- the placeholder ------------------------------------------------------------------
def test_placeholder_prints_helpfully_and_is_falsy():
    assert repr(____) == "____ (fill this in)"
    assert f"{____}" == "____ (fill this in)"
    assert f"{____:.2f} Hz" == "____ (fill this in) Hz"
    assert not bool(____)


def test_arithmetic_on_placeholder_stays_a_placeholder():
    assert (____ + 12) is ____
    assert (2 * ____) is ____
    assert (440 * 2 ** (____ / 12)) is ____
    assert (np.arange(3) + ____) is ____
    assert ____(1, 2) is ____
    assert ____[0] is ____


def test_placeholder_comparisons_do_not_raise():
    assert not (____ < 3) and not (____ > 3) and not (____ == 3)
    assert ____ == ____ and ____ != 3
    assert list(____) == [] and len(____) == 0


def test_placeholder_is_a_singleton_under_copy():
    assert copy.copy(____) is ____ and copy.deepcopy([____])[0] is ____


def test_placeholder_found_inside_containers():
    assert is_placeholder(____)
    assert is_placeholder([60, ____, 64])
    assert is_placeholder({"tonic": ____})
    assert is_placeholder((1, (2, ____)))
    assert not is_placeholder([60, 64, 67])
    assert not is_placeholder(0)


# ---- Exercise -------------------------------------------------------------------------
def make_exercise(**kwargs):
    defaults = dict(name="A5's frequency", check=check_number(880.0, unit="Hz"),
                    hints=["A5 is one octave above A4.", "An octave doubles the frequency: 2 × 440."],
                    solution="a5 = pitch_to_frequency(81)", explanation="Each octave doubles the frequency.",
                    reference=880.0)
    defaults.update(kwargs)
    return Exercise(**defaults)


def test_check_right_answer_prints_correct_and_returns_true(capsys):
    q = make_exercise()
    assert q.check(880.0) is True
    out = capsys.readouterr().out
    assert "✓ Correct" in out and "Each octave doubles" in out
    assert q.solved and q.attempts == 1


def test_check_wrong_answer_explains_and_returns_false(capsys):
    q = make_exercise()
    assert q.check(440.0) is False
    out = capsys.readouterr().out
    assert "✗" in out and "an octave too low" in out
    assert "hint()" in out  # points the learner to help
    assert not q.solved


def test_check_placeholder_is_not_attempted(capsys):
    q = make_exercise()
    assert q.check(____) is None
    out = capsys.readouterr().out
    assert "not attempted yet" in out.lower() and "replace ____" in out
    assert q.attempts == 0


def test_check_list_with_placeholder_is_not_attempted(capsys):
    q = Exercise("triad", check_pitches([60, 64, 67], what="chord"))
    assert q.check([60, ____, 67]) is None


def test_function_raising_not_implemented_is_not_attempted(capsys):
    q = Exercise("frequency", check_function(lambda p: 440 * 2 ** ((p - 69) / 12), [60, 69]))

    def frequency(pitch):
        raise NotImplementedError("Exercise: write this function")

    assert q.check(frequency) is None
    out = capsys.readouterr().out
    assert "not attempted" in out.lower() and "NotImplementedError" in out


def test_check_never_raises_when_the_checker_trips_over_an_odd_type(capsys):
    def fragile(answer):
        if answer.pitch != 69:  # AttributeError for anything but a Note
            raise CheckFailed("wrong pitch")

    fragile.expected = "a Note"
    q = Exercise("a note", fragile)
    assert q.check(object()) is False
    out = capsys.readouterr().out
    assert "expected a Note, got" in out and "object" in out
    assert "Traceback" not in out


def test_check_with_checker_returning_false_counts_as_wrong(capsys):
    q = Exercise("even", lambda answer: answer % 2 == 0)
    assert q.check(3) is False
    assert q.check(4) is True


def test_hints_are_revealed_one_level_per_call(capsys):
    q = make_exercise()
    q.hint()
    first = capsys.readouterr().out
    assert "Hint 1 of 2" in first and "one octave above A4" in first
    q.hint()
    second = capsys.readouterr().out
    assert "Hint 2 of 2" in second and "doubles" in second and "solution()" in second
    q.hint()  # no more levels: the last hint again
    assert "Hint 2 of 2" in capsys.readouterr().out
    assert q.hints_seen == 2


def test_hint_by_level_and_out_of_range(capsys):
    q = make_exercise()
    q.hint(2)
    assert "Hint 2 of 2" in capsys.readouterr().out
    q.hint(5)
    out = capsys.readouterr().out
    assert "2 hints" in out and "hint(1)" in out


def test_exercise_without_hints_points_to_solution(capsys):
    q = make_exercise(hints=())
    q.hint()
    assert "no hints" in capsys.readouterr().out


def test_solution_shows_the_code(capsys):
    q = make_exercise()
    q.solution()
    out = capsys.readouterr().out
    assert "Solution" in out and "a5 = pitch_to_frequency(81)" in out
    assert q.stats()["solution_seen"] is True


def test_answer_or_reference():
    q = Exercise("scale", check_pitches(C_MAJOR), reference=list(C_MAJOR))
    assert q.answer_or_reference(____) == C_MAJOR
    assert q.answer_or_reference([60, 62, 63]) == [60, 62, 63]  # wrong but usable: you hear it
    assert q.answer_or_reference("not a scale at all") == C_MAJOR  # wrong kind of thing
    with pytest.raises(ValueError, match="reference"):
        Exercise("no ref", check_pitches(C_MAJOR)).answer_or_reference(____)


def test_feedback_html_is_styled_and_accessible():
    html_text = Feedback("wrong", "note 3 is `Eb4`", exercise="scale")._repr_html_()
    assert "Not yet" in html_text  # a written label, not colour only
    assert 'role="status"' in html_text and "<code>Eb4</code>" in html_text
    assert "#c62828" in html_text
    assert "Correct" in Feedback("correct")._repr_html_()
    assert "Not attempted yet" in Feedback("not attempted")._repr_html_()
    assert "<script" not in Feedback("wrong", "<script>alert(1)</script>")._repr_html_()


def test_in_ipython_check_displays_rich_output_and_returns_a_silent_result(monkeypatch):
    shown = []
    monkeypatch.setattr(exercises, "_ipython_shell", lambda: object())
    import IPython.display
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    q = make_exercise()
    result = q.check(880.0)
    assert isinstance(shown[0], Feedback) and shown[0].status == "correct"
    assert result and result == True  # noqa: E712 - truthy and equal to True
    assert result._ipython_display_() is None  # prints nothing more under the ✓ line
    assert q.check(____) == None  # noqa: E711


# ---- check_number ---------------------------------------------------------------------
def test_number_accepts_right_and_sensibly_rounded_answers():
    check = check_number(466.1638, unit="Hz")
    check(466.1638)
    check(466.2)
    check(np.float64(466.16))


def test_number_names_the_note_a_wrong_frequency_is():
    message = failure(check_number(440.0, unit="Hz"), 466.2)
    assert "A#4/Bb4" in message and "one semitone too high" in message


def test_number_octave_mistake():
    message = failure(check_number(880.0, unit="Hz"), 440.0)
    assert "A4" in message and "an octave too low" in message


def test_number_midi_pitch_instead_of_frequency():
    message = failure(check_number(880.0, unit="Hz"), 81)
    assert "MIDI pitch of A5" in message


def test_number_between_two_notes():
    message = failure(check_number(440.0, unit="Hz"), 450.0)
    assert "between A4" in message


def test_number_wrong_types_are_explained():
    check = check_number(2.0, unit="s", what="the length in seconds")
    assert "remove the quotes" in failure(check, "2.0")
    assert "one number" in failure(check, [1.0, 2.0])
    assert "nan" in failure(check, float("nan"))
    assert "None" in failure(check, None)


def test_number_telling_ratios_and_known_mistakes():
    check = check_number(2.0, unit="s", mistakes={4.0: "that is the length in quarter notes, not seconds."})
    assert "60 times" in failure(check, 120.0)
    assert "quarter notes, not seconds" in failure(check, 4.0)
    assert "too low" in failure(check, 1.7)


# ---- check_interval -------------------------------------------------------------------
def test_interval_right_answer_as_number_or_name():
    check = check_interval(7)
    check(7)
    check("perfect fifth")
    check("P5")


def test_interval_names_both_intervals():
    message = failure(check_interval(7), 8)
    assert message.startswith("this is 8 semitones: a minor sixth, not a perfect fifth (7)")


def test_interval_direction_and_octave():
    assert "other way" in failure(check_interval(7), -7)
    assert "an octave too wide" in failure(check_interval(4), 16)
    check_interval(7, direction_matters=False)(-7)


def test_interval_non_whole_and_unknown_names():
    assert "whole numbers of semitones" in failure(check_interval(7), 7.5)
    assert "not an interval name" in failure(check_interval(7), "big jump")


def test_interval_phrase_uses_the_one_interval_table():
    assert interval_phrase(0) == "a perfect unison"
    assert interval_phrase(6) == "a tritone"
    assert interval_phrase(12) == "a perfect octave"
    assert interval_phrase(-3) == "a minor third down"
    assert interval_phrase(19) == "a perfect twelfth"
    assert interval_phrase(31) == "a perfect fifth plus 2 octaves"
    assert interval_phrase(24) == "a double octave"


# ---- check_pitches --------------------------------------------------------------------
def test_pitches_right_as_numbers_names_or_piece():
    check = check_pitches(C_MAJOR, name="a C major scale")
    check(C_MAJOR)
    check(["C4", "D4", "E4", "F4", "G4", "A4", "B4"])
    check("C4 D4 E4 F4 G4 A4 B4")
    check(melody(C_MAJOR))


def test_pitches_explains_wrong_scale_length():
    message = failure(check_pitches(C_MAJOR, name="a C major scale"), C_MAJOR + [72])
    assert "your scale has 8 notes" in message
    assert "a C major scale has 7 different pitch classes (8 with the octave)" in message
    assert "leave out the octave" in message


def test_pitches_names_the_wrong_degree():
    message = failure(check_pitches(C_MAJOR, name="a C major scale"), [60, 62, 63, 65, 67, 69, 71])
    assert "note 3" in message and "Eb4 (63)" in message and "E4 (64)" in message
    assert "major third" in message and "minor third" in message


def test_pitches_right_notes_wrong_order():
    assert "right notes, wrong order" in failure(check_pitches(C_MAJOR), C_MAJOR[::-1])


def test_pitches_wrong_octave_and_transposed():
    assert "an octave too high" in failure(check_pitches(C_MAJOR), [p + 12 for p in C_MAJOR])
    message = failure(check_pitches(C_MAJOR), [p - 3 for p in C_MAJOR])
    assert "3 semitones too low" in message and "+3" in message
    one_octave_off = C_MAJOR[:-1] + [83]
    assert "right note name, an octave too high" in failure(check_pitches(C_MAJOR), one_octave_off)


def test_pitches_unordered_chord():
    check = check_pitches([60, 64, 67], ordered=False, what="chord", name="a C major triad")
    check([67, 60, 64])
    message = failure(check, [60, 63, 67])
    assert "Eb4" in message and "E4" in message
    assert "wrong octave" in failure(check, [60, 64, 79])


def test_pitches_bad_items():
    check = check_pitches(C_MAJOR)
    assert "not a note name" in failure(check, ["C4", "H4"])
    assert "whole number" in failure(check, [60.5])
    assert "list of notes" in failure(check, 60)


# ---- check_piece ----------------------------------------------------------------------
def test_piece_right_answer():
    check_piece(TWINKLE)(melody(["C4", "C4", "G4", "G4", "A4", "A4", "G4"], [1, 1, 1, 1, 1, 1, 2]))


def test_piece_transposed_by_a_constant():
    message = failure(check_piece(TWINKLE), TWINKLE.transpose(-3))
    assert "every note is 3 semitones too low" in message and "transpose by +3" in message


def test_piece_wrong_note_at_a_beat():
    wrong = melody(["C4", "C4", "G4", "F#4", "A4", "A4", "G4"], [1, 1, 1, 1, 1, 1, 2])
    message = failure(check_piece(TWINKLE), wrong)
    assert "beat 4 (start=3)" in message and "should be G4 but is F#4" in message


def test_piece_wrong_note_is_placed_by_the_pieces_own_bars_and_beats():
    # 6/8 counts dotted-quarter beats: the 4th eighth (start=1.5) is beat 2 of bar 1
    jig = melody(["C4", "D4", "E4", "F4", "G4", "A4", "G4"], [0.5] * 6 + [3], time_signature=(6, 8))
    wrong = jig.with_notes([n if n.start != 1.5 else Note(66, 1.5, 0.5) for n in jig.notes])
    assert "beat 2 (start=1.5)" in failure(check_piece(jig), wrong)
    # with a one-quarter pickup in 4/4, the upbeat is beat 4 of bar 0 and bar 2 starts at 5
    upbeat = TWINKLE.with_notes(TWINKLE.notes, pickup=1.0)
    wrong = upbeat.with_notes([n if n.start != 0 else Note(59, 0, 1) for n in upbeat.notes])
    assert "bar 0, beat 4 (start=0)" in failure(check_piece(upbeat), wrong)
    wrong = upbeat.with_notes([n if n.start != 5 else Note(70, 5, 1) for n in upbeat.notes])
    assert "bar 2, beat 1 (start=5)" in failure(check_piece(upbeat), wrong)


def test_piece_pickup_can_be_checked():
    upbeat = TWINKLE.with_notes(TWINKLE.notes, pickup=1.0)
    check_piece(upbeat, compare=("pitch", "start", "pickup"))(upbeat)
    message = failure(check_piece(upbeat, compare=("pitch", "start", "pickup")), TWINKLE)
    assert "pickup is none (0 quarter notes), but should be 1 quarter notes" in message


def test_piece_missing_and_extra_notes():
    missing = melody(["C4", "C4", "G4", "G4", "A4", "A4"], [1] * 6)
    assert "missing note" in failure(check_piece(TWINKLE), missing)
    extra = melody(["C4", "C4", "G4", "G4", "A4", "A4", "G4", "C5"], [1, 1, 1, 1, 1, 1, 2, 1])
    message = failure(check_piece(TWINKLE), extra)
    assert "extra note" in message and "C5" in message


def test_piece_wrong_duration_and_time_shift():
    short_end = melody(["C4", "C4", "G4", "G4", "A4", "A4", "G4"], [1] * 7)
    message = failure(check_piece(TWINKLE), short_end)
    assert "half note" in message and "G4" in message
    late = TWINKLE.with_notes([Note(n.pitch, n.start + 1, n.duration) for n in TWINKLE])
    assert "1 quarter note too late" in failure(check_piece(TWINKLE), late)
    doubled = melody(["C4", "C4", "G4", "G4", "A4", "A4", "G4"], [2, 2, 2, 2, 2, 2, 4])
    assert "twice as long" in failure(check_piece(TWINKLE), doubled)


def test_piece_not_a_piece():
    assert "wrap your notes in a Piece" in failure(check_piece(TWINKLE), list(TWINKLE.notes))
    assert "expected a Piece" in failure(check_piece(TWINKLE), [60, 62])


def test_piece_compare_fields():
    faster = TWINKLE.with_notes(TWINKLE.notes, tempo=90)
    check_piece(TWINKLE)(faster)  # tempo not compared by default
    assert "tempo is 90 BPM" in failure(check_piece(TWINKLE, compare=("pitch", "start", "duration", "tempo")),
                                        faster)
    only_pitches = check_piece(TWINKLE, compare=("pitch",))
    only_pitches(melody(["C4", "C4", "G4", "G4", "A4", "A4", "G4"], 0.5))


# ---- check_array ----------------------------------------------------------------------
ROLL = piano_roll(TWINKLE, lowest_pitch=48, highest_pitch=84)


def test_array_right_answer_and_zero_one_for_bool():
    check = check_array(ROLL, axis_names=("pitch row", "step"))
    check(ROLL.copy())
    check(ROLL.astype(int))


def test_array_swapped_axes():
    assert "try .T" in failure(check_array(ROLL), ROLL.T)


def test_array_probabilities_where_on_off_expected():
    assert "True/False" in failure(check_array(ROLL), ROLL * 0.9)


def test_array_first_mismatch_index():
    wrong = ROLL.copy()
    wrong[10, 5] = not wrong[10, 5]
    message = failure(check_array(ROLL, axis_names=("pitch row", "step")), wrong)
    assert "1 of" in message and "pitch row 10, step 5" in message
    floats = check_array(np.array([0.1, 0.2, 0.7]), tol=1e-6)
    assert "index 2" in failure(floats, [0.1, 0.2, 0.8])
    assert "nan" in failure(floats, [0.1, float("nan"), 0.7])


def test_array_wrong_kinds():
    assert "expected a numpy array" in failure(check_array(ROLL), "roll")
    assert "ragged" in failure(check_array(np.zeros((2, 2))), [[1, 2], [3]])


# ---- check_function -------------------------------------------------------------------
def reference_frequency(pitch):
    return 440.0 * 2 ** ((pitch - 69) / 12)


FREQUENCY_CHECK = check_function(reference_frequency, [60, 69, 81])


def test_function_right_answer():
    FREQUENCY_CHECK(lambda p: 440 * 2 ** ((p - 69) / 12))


def test_function_wrong_output_shows_input_and_both_values():
    message = failure(FREQUENCY_CHECK, lambda p: 440 * 2 ** (p - 69) / 12)
    assert "called with 60" in message and "261.626" in message


def test_function_exception_reported_by_type_and_message():
    def frequency(pitch):
        ratio = (pitch - 69) / 0
        return 440 * ratio

    message = failure(FREQUENCY_CHECK, frequency)
    assert "ZeroDivisionError: division by zero" in message
    assert "ratio = (pitch - 69) / 0" in message  # the learner's own line
    assert "Traceback" not in message


def test_function_forgot_return_and_not_callable():
    def frequency(pitch):
        440 * 2 ** ((pitch - 69) / 12)

    assert "forget `return`" in failure(FREQUENCY_CHECK, frequency)
    assert "expected a function" in failure(FREQUENCY_CHECK, 440.0)


def test_function_placeholder_result_is_not_attempted(capsys):
    q = Exercise("frequency", FREQUENCY_CHECK)
    assert q.check(lambda pitch: ____) is None


def test_function_on_pieces_uses_music_messages():
    def transpose_up(piece, semitones):
        return piece.transpose(semitones)

    check = check_function(transpose_up, [Args(TWINKLE, 3)],
                           describe_input=lambda a: f"Twinkle and semitones={a.args[1]}")
    check(lambda piece, semitones: piece.transpose(semitones))
    message = failure(check, lambda piece, semitones: piece.transpose(-semitones))
    assert "Twinkle and semitones=3" in message and "6 semitones too low" in message


def test_function_custom_compare():
    check = check_function(sorted, [[3, 1, 2]], compare=lambda yours, expected: list(yours) == expected)
    check(lambda xs: sorted(xs))
    assert "should return [1, 2, 3]" in failure(check, lambda xs: xs)


# ---- check_tokens ---------------------------------------------------------------------
BAR = melody(["E4", "D4", "C4", None, "G4"], durations=[1, 0.5, 0.5, 0.5, 1.5])
BAR_TOKENS = melody_to_tokens(BAR)


def test_tokens_right_as_ints_or_names():
    check = check_tokens(BAR_TOKENS)
    check(BAR_TOKENS.tolist())
    check("E4 _ _ _ D4 _ C4 _ R _ G4 _ _ _ _ _")


def test_tokens_hold_instead_of_rest():
    with pytest.raises(CheckFailed) as info:
        check_tokens(BAR_TOKENS)("E4 _ _ _ D4 _ C4 _ _ _ G4 _ _ _ _ _")
    assert "step 8" in info.value.message and "REST" in info.value.message and "HOLD" in info.value.message
    assert "expected: " in info.value.details and "yours:" in info.value.details


def test_tokens_repeated_note_needs_its_pitch_again():
    message = failure(check_tokens("C4 _ C4 _ R _ |"), "C4 _ _ _ R _ |")
    assert "repeated note" in message


def test_tokens_missing_end_and_length():
    check = check_tokens("C4 _ R _ |")
    assert "END" in failure(check, "C4 _ R _")
    assert "steps long" in failure(check_tokens(BAR_TOKENS), BAR_TOKENS[:-1])


def test_tokens_transposed_and_out_of_vocabulary():
    down = "D4 _ _ _ C4 _ A#3 _ R _ F4 _ _ _ _ _"
    assert "2 semitones too low" in failure(check_tokens(BAR_TOKENS), down)
    assert "not in the vocabulary" in failure(check_tokens(BAR_TOKENS), [64, 999])
    assert "cannot read" in failure(check_tokens(BAR_TOKENS), "E4 _ X")


def test_every_checker_says_not_attempted_for_the_placeholder(capsys):
    checkers = [check_number(440.0), check_interval(7), check_pitches(C_MAJOR), check_piece(TWINKLE),
                check_array(ROLL), FREQUENCY_CHECK, check_tokens(BAR_TOKENS)]
    for check in checkers:
        assert Exercise("x", check).check(____) is None
    assert capsys.readouterr().out.lower().count("not attempted yet") == len(checkers)


def test_call_learner_reports_errors_with_the_learners_line_and_forgotten_returns():
    from musegen_helpers.exercises import CheckFailed, _NotAttempted, call_learner

    def halve(x):
        total = x / 0
        return total

    with pytest.raises(CheckFailed, match=r"^with 3, your function raised ZeroDivisionError: division by zero "
                                          r"\(line \d+: `total = x / 0`\)\.$"):
        call_learner(halve, (3,), context="with 3, ")
    with pytest.raises(CheckFailed, match="returned None — did you forget `return`"):
        call_learner(lambda x: None, (3,))
    assert call_learner(lambda x: None, (3,), none_ok=True) is None
    with pytest.raises(_NotAttempted):
        call_learner(lambda: ____)
    with pytest.raises(_NotAttempted):
        call_learner(_raise_not_implemented)
    assert call_learner(lambda a, b=0: a + b, (2,), {"b": 5}) == 7


def _raise_not_implemented():
    raise NotImplementedError


def test_all_of_reports_the_first_failing_input_and_passes_when_all_pass():
    from musegen_helpers.checks import all_of

    double = check_function(lambda x: 2 * x, [1], describe_input=lambda x: "one")
    double_two = check_function(lambda x: 2 * x, [2], describe_input=lambda x: "two")
    q = Exercise("double", check=all_of([double, double_two]))
    assert q.evaluate(lambda x: 2 * x)[0] is True
    passed, feedback = q.evaluate(lambda x: 2 if x == 1 else 5)
    assert passed is False and "called with two" in feedback.message
    assert q._checker.expected == "a function"
    with pytest.raises(ValueError, match="at least one"):
        all_of([])
