"""Lessons 00–02 as a student meets them: every likely wrong answer gets a message that names the
mistake, and no cell after an exercise shows the reference answer before the learner has tried.

Each test gives an exercise the answer a learner most likely types when they slip — an octave off,
the frequency for the pitch, white keys only, the wrong direction, seconds for quarter notes,
a list where an array is wanted — and asserts the message's key words: what the learner's value
*is* and what to do, never just "too low by 6 %".
"""

from __future__ import annotations

import copy
import math
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from musegen_helpers.lessons import lesson00, lesson01, lesson02
from musegen_helpers.music import melody

ROOT = Path(__file__).resolve().parents[1]


def wrong(exercise, answer) -> str:
    """The message for an answer that must be judged wrong."""
    passed, feedback = exercise.evaluate(answer)
    assert passed is False, f"{exercise.name!r} accepted {answer!r}"
    return feedback.message


def says(message: str, *words: str) -> None:
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in: {message}"


@pytest.mark.parametrize("exercise", [getattr(m, q) for m, qs in
                                      [(lesson00, "q1 q2 q3"), (lesson01, "q1 q2 q3 q4"), (lesson02, "q1 q2 q3 q4 q5")]
                                      for q in qs.split()], ids=lambda e: e.name)
def test_the_reference_answer_passes(exercise):
    assert exercise.evaluate(copy.deepcopy(exercise._reference))[0] is True


# ---------------------------------------------------------------------------------------
# 00 · q1, the A above middle C
# ---------------------------------------------------------------------------------------
def test_00_q1_names_the_note_typed_and_how_pitch_relates_to_frequency():
    message = wrong(lesson00.q1, 65)
    says(message, "65", "F4", "4 semitones below", "440 Hz", "2**(1/12)", "12 semitones double")
    says(message, "white keys only")                   # 65 is C D E F G A counted on white keys
    assert "%" not in message                           # never just "too low, by 6%"


@pytest.mark.parametrize("answer, words", [
    (57, ["A3", "220.0 Hz", "*below* middle C", "octave"]),
    (81, ["A5", "880.0 Hz", "octave too high"]),
    (45, ["A2", "two octaves"]),
    (68, ["G#4/Ab4", "one key too low", "black keys"]),
    (70, ["A#4/Bb4", "one key too high"]),
    (60, ["C4", "middle C itself"]),
    (9, ["semitones the A lies above C", "add"]),
])
def test_00_q1_likely_wrong_pitches(answer, words):
    message = wrong(lesson00.q1, answer)
    says(message, f"you gave {answer}", *words)
    assert "%" not in message


@pytest.mark.parametrize("answer, words", [
    (440, ["frequency", "MIDI pitch number"]),
    (440.0, ["frequency", "MIDI pitch number"]),
    ("440 Hz", ["frequency", "without quotes"]),
    (69.5, ["whole numbers"]),
    (200, ["0 to 127"]),
    ("A4", ["right note", "number"]),
    ("A3", ["A3", "220.0 Hz", "not the A asked for"]),
    ("sixty-nine", ["without quotes"]),
])
def test_00_q1_a_frequency_a_fraction_or_a_name_instead_of_a_pitch(answer, words):
    says(wrong(lesson00.q1, answer), *words)


def test_00_q1_accepts_69_as_a_float_too():
    assert lesson00.q1.evaluate(69.0)[0] is True and lesson00.q1.evaluate(np.int64(69))[0] is True


# ---------------------------------------------------------------------------------------
# 00 · q2, the C major triad
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("answer, words", [
    ([60, 63, 67], ["minor", "major third (4) comes first"]),
    ([60, 64, 68], ["augmented"]),
    ([60, 63, 66], ["diminished"]),
    ([60, 62, 64], ["not a triad", "skips every other"]),
    ([0, 4, 7], ["steps above its root", "add them to", "60"]),
    (["C", "E", "G"], ["octave number", "'C4'"]),
    ([48, 52, 55], ["octave too low"]),
    ([64, 67, 60], ["wrong order", "lowest first"]),
    ([60, 64, 67, 72], ["leave out the octave"]),
    ([64, 67, 72], ["first inversion", "middle C as the lowest note"]),
    ([55, 60, 64], ["second inversion", "middle C as the lowest note"]),
])
def test_00_q2_names_the_chord_written(answer, words):
    says(wrong(lesson00.q2, answer), *words)


# ---------------------------------------------------------------------------------------
# 00 · q3, Twinkle
# ---------------------------------------------------------------------------------------
NAMES = ["C4", "C4", "G4", "G4", "A4", "A4", "G4"]


@pytest.mark.parametrize("answer, words", [
    (melody(["C4", "G4", "A4", "G4"], durations=[2, 2, 2, 2]), ["each repeated note was written once", "twice"]),
    (melody(NAMES[1:], durations=[1] * 5 + [2]), ["6 notes", "has 7"]),
    (melody(NAMES, durations=1), ["G4", "quarter note", "should last 2 quarter notes", "half note"]),
    (melody(NAMES, durations=[0.5] * 6 + [1]), ["half as long", "quarter notes"]),   # seconds at 120 BPM
    (melody(NAMES, durations=[2] * 6 + [4]), ["twice as long"]),
    (melody(["C5", "C5", "G5", "G5", "A5", "A5", "G5"], durations=[1] * 6 + [2]), ["octave too high"]),
    (NAMES, ["expected a Piece", "melody("]),
])
def test_00_q3_names_the_slip(answer, words):
    says(wrong(lesson00.q3, answer), *words)


# ---------------------------------------------------------------------------------------
# 01 · q1, frequency(pitch)
# ---------------------------------------------------------------------------------------
def _xor(p):
    return 440 * 2 ^ ((p - 69) / 12)


@pytest.mark.parametrize("fn, words", [
    (lambda p: 440 * 2 ** ((p - 69) // 12), ["//", "whole-number division", "use /"]),
    (lambda p: 440 * 2 ** ((69 - p) / 12), ["go *down*", "(pitch − 69) / 12"]),
    (lambda p: 440 * 2 ** (p - 69), ["doubles", "divide the exponent by 12"]),
    (lambda p: 440 * 2 ** (p - 69) / 12, ["brackets"]),
    (lambda p: 440 * 2 ** (p - 69 / 12), ["divides before it subtracts", "only 69", "(pitch − 69) / 12"]),
    (lambda p: 440 * 2 ** ((p - 60) / 12), ["440 Hz to pitch 60", "C4", "(pitch − 69)"]),
    (lambda p: 261.63 * 2 ** ((p - 69) / 12), ["261.63 Hz to pitch 69", "start the formula from 440"]),
    (lambda p: 440 * 1.06 ** (p - 69), ["1.06000", "not exactly", "1.05946"]),
    (lambda p: 440 * 2 ** ((p - 69) / 13), ["1.055", "12 semitones double"]),
    (lambda p: round(440 * 2 ** ((p - 69) / 12), 2), ["rounds", "return the exact value"]),
    (lambda p: 69 + 12 * math.log2(p / 440) if p > 0 else 0.0, ["frequency into a pitch", "other way round"]),
    (_xor, ["XOR", "**"]),
])
def test_01_q1_explains_what_the_formula_does_wrong(fn, words):
    says(wrong(lesson01.q1, fn), *words)


def test_01_q1_a_missing_return_is_named_once():
    message = wrong(lesson01.q1, lambda p: print(440 * 2 ** ((p - 69) / 12)))
    says(message, "forget `return`")


# ---------------------------------------------------------------------------------------
# 01 · q2, the C major scale
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("answer, words", [
    ([60, 62, 64, 65, 67, 69, 71], ["7 notes", "add the octave"]),
    ([60, 62, 64, 66, 68, 70, 72, 74], ["from E4 (note 3)", "H (a half step", "lands on F4"]),
    ([60, 61, 63, 65, 67, 69, 71, 72], ["from C4 (note 1)", "W (a whole step"]),
    ([60, 62, 63, 65, 67, 68, 70, 72], ["natural minor", "W W H W W W H"]),
    ([60, 62, 64, 65, 67, 69, 70, 72], ["mixolydian"]),
    ([60, 62, 64, 66, 67, 69, 71, 72], ["lydian", "half step"]),
    ([2, 2, 1, 2, 2, 2, 1], ["steps", "not the scale", "start at 60"]),
    ([0, 2, 4, 5, 7, 9, 11, 12], ["add 60"]),
    (["C", "D", "E", "F", "G", "A", "B", "C"], ["octave number", "'C5'"]),
    ([72, 71, 69, 67, 65, 64, 62, 60], ["wrong order", "lowest first"]),
])
def test_01_q2_names_the_step_or_the_scale(answer, words):
    says(wrong(lesson01.q2, answer), *words)


# ---------------------------------------------------------------------------------------
# 01 · q3, tokens by hand
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("answer, words", [
    ("E4 D4 C4 R G4", ["right notes in the right order", "E4 lasts 1 step", "quarter note is 4 steps", "3 HOLDs"]),
    ("E4 _ _ _ D4 _ C4 _ R _ G4 _ _ _", ["G4 lasts 4 steps", "dotted quarter note is 6 steps"]),
    ("E4 _ _ D4 _ C4 _ R _ G4 _ _ _ _", ["E4 lasts 3 steps", "counts as the first step"]),
    ("E4 _ _ _ D4 _ C4 _ _ _ G4 _ _ _ _ _", ["rest is missing", "R _"]),
    ("E4 _ _ _ D4 _ C4 _ R R G4 _ _ _ _ _", ["two rests", "R _"]),
    ("E4 E4 E4 E4 D4 D4 C4 C4 R R G4 G4 G4 G4 G4 G4", ["new", "HOLD", "E4 _ _ _"]),
    ("E4 - - - D4 - C4 - R - G4 - - - - -", ["underscore"]),
    ("E4,_,_,_,D4,_,C4,_,R,_,G4,_,_,_,_,_", ["spaces, not commas"]),
    ("E4 _ _ _ D4 _ C4 _ R _ G4 _ _ _ _ _ |", ["END"]),
    ("E5 _ _ _ D5 _ C5 _ R _ G5 _ _ _ _ _", ["octave too high"]),
])
def test_01_q3_names_the_length_or_token_that_is_off(answer, words):
    says(wrong(lesson01.q3, answer), *words)


# ---------------------------------------------------------------------------------------
# 01 · q4, into A minor
# ---------------------------------------------------------------------------------------
E_MINOR = lesson01._e_minor


def test_01_q4_down_a_fifth_is_the_right_key_but_not_the_smaller_move():
    message = wrong(lesson01.q4, E_MINOR.transpose(-7))
    says(message, "in A minor", "A3", "key is right", "moved it 7 semitones", "*smaller*")
    assert "octave too low" not in message              # the old, untrue diagnosis


@pytest.mark.parametrize("k, words", [
    (7, ["B minor", "size of the move *down*"]),
    (-5, ["B minor", "size of the move *up*"]),
    (0, ["still the E minor tune", "returns a new piece", "a_minor_tune = e_minor_tune.transpose"]),
    (12, ["octave changes no note names", "E minor"]),
    (17, ["in A minor", "17 semitones", "*smaller*"]),
    (4, ["Ab minor", "one semitone off"]),
])
def test_01_q4_says_which_key_each_move_lands_in(k, words):
    says(wrong(lesson01.q4, E_MINOR.transpose(k)), f"transpose({k})" if k else "", *words)


@pytest.mark.parametrize("k, words", [
    (5, ["the right move", "e_minor_tune.transpose(5)", "returns"]),
    (-7, ["number of semitones", "a Piece", "e_minor_tune.transpose("]),
])
def test_01_q4_a_number_of_semitones_is_told_to_transpose_the_tune(k, words):
    says(wrong(lesson01.q4, k), *words)


def test_01_q4_a_list_of_pitches_is_told_to_make_a_piece():
    says(wrong(lesson01.q4, [n.pitch + 5 for n in E_MINOR.notes]), "expected a Piece")


# ---------------------------------------------------------------------------------------
# 02 · q1–q5
# ---------------------------------------------------------------------------------------
def test_02_q1_pitch_class_compared_with_midi_numbers():
    message = wrong(lesson02.q1, lambda pitch, chord: pitch % 12 in chord)
    says(message, "in the chord itself", "% 12 on both sides", "[0, 4, 7]")
    assert "in another octave" not in message           # E4 *is* in C4 E4 G4: that explanation was untrue
    says(wrong(lesson02.q1, lambda pitch, chord: pitch in chord), "E5 is E4 in another octave", "pitch % 12")


@pytest.mark.parametrize("answer, words", [
    (["C", "F", "G", "C"], ["chord *name*", "'I'", "'IV'"]),
    (["1", "4", "5", "1"], ["digit", "Roman numeral", "'V'"]),
    (["I", "IV", "v", "I"], ["lower-case v", "leading tone", "upper-case V"]),
    (["I", "IV", "ii", "I"], ["lands on I", "not from the dominant"]),
    (["I", "vi", "IV", "I"], ["plagal"]),
    (["I", "IV", "I", "V"], ["half cadence"]),
    (["I", "IV", "V", "vi"], ["deceptive"]),
    (["vi", "IV", "V", "I"], ["start on the tonic"]),
    (["I", "V", "I"], ["3 chords", "4 to 8"]),
])
def test_02_q2_names_the_cadence_or_the_notation_slip(answer, words):
    says(wrong(lesson02.q2, answer), *words)


def test_02_q3_octaves_booleans_and_off_by_one():
    def fifths_and_octaves(u, l):
        return [i for i in range(1, len(u)) if abs(u[i - 1] - l[i - 1]) % 12 in (0, 7)
                and abs(u[i] - l[i]) % 12 in (0, 7) and u[i] != u[i - 1] and l[i] != l[i - 1]]

    says(wrong(lesson02.q3, fifths_and_octaves), "an octave", "fifths only")
    says(wrong(lesson02.q3, lambda u, l: [abs(u[i] - l[i]) % 12 == 7 for i in range(len(u))]),
         "one True/False per position", "*positions*")
    says(wrong(lesson02.q3, lambda u, l: [i - 1 for i in lesson02.parallel_fifths(u, l)]), "one position too early")


def test_02_q4_wrap_around_last_pair_and_numpy_fancy_increment():
    def wrap(seqs, n=128):
        c = np.zeros((n, n), int)
        for t in seqs:
            for i in range(len(t)):
                c[t[i - 1], t[i]] += 1
        return c

    def misses_last(seqs, n=128):
        c = np.zeros((n, n), int)
        for t in seqs:
            for i in range(len(t) - 2):
                c[t[i], t[i + 1]] += 1
        return c

    def fancy(seqs, n=128):
        c = np.zeros((n, n), int)
        for t in seqs:
            t = np.asarray(t, int)
            c[t[:-1], t[1:]] += 1
        return c

    says(wrong(lesson02.q4, wrap), "from its last note back to its first", "tune[-1]")
    says(wrong(lesson02.q4, misses_last), "missed the last transition", "range(len(tune) - 1)")
    says(wrong(lesson02.q4, fancy), "counted once", "np.add.at")
    says(wrong(lesson02.q4, lambda seqs, n=128: lesson02.count_transitions(seqs, n).T), "flipped")

    def sets_instead_of_adding(seqs, n=128):
        c = np.zeros((n, n), int)
        for t in seqs:
            for a, b in zip(t[:-1], t[1:]):
                c[a, b] = 1
        return c

    says(wrong(lesson02.q4, sets_instead_of_adding), "counts[a, b] = 1", "+= 1")


def test_02_q3_one_voice_leaping_an_octave_is_not_parallel():
    def one_voice_moving(u, l):   # `or` where the rule says both voices move
        return [i for i in range(1, len(u)) if abs(u[i - 1] - l[i - 1]) % 12 == 7
                and abs(u[i] - l[i]) % 12 == 7 and (u[i] != u[i - 1] or l[i] != l[i - 1])]

    says(wrong(lesson02.q3, one_voice_moving), "lower voice stays put", "both voices to move")


def test_02_q5_ignoring_the_tolerance_and_returning_bits():
    says(wrong(lesson02.q5, lambda bits, tolerance=0.0: min(bits, key=bits.get)),
         "fewest bits", "tolerance=0.05", "lower order 3", "use `tolerance`")
    says(wrong(lesson02.q5, lambda bits, tolerance=0.0: min(bits.values())), "number of bits", "order")


def test_02_q5_relative_tolerance_highest_order_and_strict_comparison():
    def relative(bits, tolerance=0.0):
        lowest = min(bits.values())
        return min(k for k, v in bits.items() if v <= lowest * (1 + tolerance))

    def highest(bits, tolerance=0.0):
        lowest = min(bits.values())
        return max(k for k, v in bits.items() if v <= lowest + tolerance)

    def strict(bits, tolerance=0.0):
        lowest = min(bits.values())
        return min(k for k, v in bits.items() if v - lowest < tolerance)

    says(wrong(lesson02.q5, relative), "fraction of the best", "lowest + tolerance")
    says(wrong(lesson02.q5, highest), "so is the lower order", "take the lower one")
    says(wrong(lesson02.q5, strict), "empty sequence", "not even the best itself", "`<=`")


# ---------------------------------------------------------------------------------------
# No cell after an exercise shows the reference answer before the learner has tried
# ---------------------------------------------------------------------------------------
LESSON_MODULES = {"00_welcome": lesson00, "01_representation": lesson01, "02_rule_based": lesson02}

# Another answer of the same kind for each exercise whose answer is a value (code run in the kernel,
# where `_kept` is the reference): if what a later cell prints changes when the reference changes,
# that cell shows the reference.
def _perturbing_code(reference) -> str:
    from musegen_helpers.music import Piece

    if isinstance(reference, Piece):
        return "_kept.transpose(2)"
    if isinstance(reference, int):
        return "_kept + 1"
    if isinstance(reference, str):
        return "_kept.replace('E4', 'F4')"
    if all(isinstance(x, str) for x in reference):
        return "['I', 'IV', 'V', 'I']"
    return "[p + 2 for p in _kept]"


_SETUP = "import matplotlib\nmatplotlib.use('Agg')  # figures stay open, so their titles can be read\n"
_TITLES = ("import matplotlib.pyplot as _plt\n"
           "print('FIGURE TEXT:', [t for n in _plt.get_fignums() for ax in _plt.figure(n).axes "
           "for t in (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) if t])\n"
           "_plt.close('all')\n")


def _text(cell) -> str:
    """What a cell printed or displayed as text (players, figures and scores by their kind only)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(out["text"])
        elif out.get("output_type") in ("display_data", "execute_result"):
            plain = out.get("data", {}).get("text/plain", "")
            if not re.match(r"<(IPython\.lib\.display\.Audio|Figure|score)", plain):
                parts.append(plain)
        elif out.get("output_type") == "error":
            raise AssertionError(f"{out['ename']}: {out['evalue']}")
    return "".join(parts)


def _followers(nb, number: int) -> list[int]:
    """Indices of the code cells after exercise ``number``'s check that use its reference."""
    check = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and f"q{number}.check(" in c.source)
    return [i for i, c in enumerate(nb.cells[check + 1:], start=check + 1)
            if c.cell_type == "code" and f"q{number}.answer_or_reference(" in c.source]


@pytest.mark.parametrize("lesson", sorted(LESSON_MODULES))
def test_no_later_cell_shows_the_reference_answer(lesson, tmp_path, monkeypatch):
    """Runs the *student* notebook (nothing answered, fast mode). For an exercise whose answer is a
    value, each later cell that falls back on the reference is run again with a different reference:
    what it prints, and its figures' titles, must not change. For a function, a later cell that
    prints what the reference computes must say it is the reference."""
    from nbclient import NotebookClient

    module = LESSON_MODULES[lesson]
    path = ROOT / "notebooks" / f"{lesson}.ipynb"
    work = tmp_path / "notebooks"
    work.mkdir()
    shutil.copy(path, work / path.name)
    nb = nbformat.read(str(work / path.name), as_version=4)
    exercises = {int(name[1:]): ex for name, ex in vars(module).items() if re.fullmatch(r"q\d", name)}
    plan = {i: n for n in exercises for i in _followers(nb, n)}
    cells = [nbformat.v4.new_code_cell(_SETUP)]
    probes = []  # (exercise number, first run's cells, second run's cells)
    for i, cell in enumerate(nb.cells):
        if i not in plan:
            cells.append(cell)
            continue
        n = plan[i]
        closing = nbformat.v4.new_code_cell("import matplotlib.pyplot as _plt\n_plt.close('all')")
        first = [cell, nbformat.v4.new_code_cell(_TITLES)]
        second = []
        if not callable(exercises[n]._reference):
            swap = nbformat.v4.new_code_cell(f"_kept = q{n}._reference\n"
                                             f"q{n}._reference = {_perturbing_code(exercises[n]._reference)}\n"
                                             "_plt.close('all')")
            second = [nbformat.v4.new_code_cell(cell.source), nbformat.v4.new_code_cell(_TITLES)]
            restore = nbformat.v4.new_code_cell(f"q{n}._reference = _kept")
            cells += [closing, *first, swap, *second, restore]
        else:
            cells += [closing, *first]
        probes.append((n, first, second))
    assert probes, "no later cell uses a reference: is the test still looking at the right cells?"
    nb.cells = cells
    monkeypatch.setenv("MUSEGEN_FAST", "1")  # the kernel inherits the environment
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    for n, first, second in probes:
        shown = "".join(_text(c) for c in first)
        if second:
            assert "".join(_text(c) for c in second) == shown, (
                f"{lesson} q{n}: a later cell shows something that depends on the reference answer:\n{shown}")
        else:
            printed = _text(first[0]).strip()
            if printed:  # nothing is answered here, so every such cell runs on the reference
                assert "reference" in printed, (
                    f"{lesson} q{n}: a later cell prints what the reference function computes without saying "
                    f"so:\n{printed}")
