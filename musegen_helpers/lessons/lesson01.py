"""Exercises of lesson 01 (representation): frequency, a major scale, tokens, transposition.

Lesson: 01_representation
"""

import math

import numpy as np

from ..checks import check_function, check_piece, check_pitches, check_tokens, interval_phrase
from ..exercises import ____, CheckFailed, Exercise, with_expected
from ..music import Piece, melody, note_name, pitch_to_frequency
from ..representation import HOLD, REST, tokens_from_names

__all__ = ["____", "q1", "q2", "q3", "q4"]


def _close_in_hz(yours, expected):
    return abs(float(yours) - expected) <= 1e-6 * max(1.0, abs(expected))


_FREQUENCY_INPUTS = [69, 81, 57, 60, 70, 21, 108, 0]
_frequency_values = check_function(pitch_to_frequency, inputs=_FREQUENCY_INPUTS, compare=_close_in_hz,
                                   describe_input=lambda p: f"pitch {p}", what="function")


def _outputs(fn, pitches):
    """The learner's function on ``pitches`` as floats, or None when it fails or returns a non-number."""
    values = []
    for p in pitches:
        try:
            out = fn(p)
            y = float(out)
        except Exception:
            return None
        if isinstance(out, bool) or not math.isfinite(y):
            return None
        values.append(y)
    return np.array(values)


def _frequency_diagnosis(fn) -> str | None:
    """What a wrong frequency(pitch) most likely does, read from its outputs on every test pitch."""
    pitches = np.array(_FREQUENCY_INPUTS, dtype=float)
    yours = _outputs(fn, _FREQUENCY_INPUTS)
    if yours is None:
        return None
    right = 440.0 * 2 ** ((pitches - 69) / 12)

    def same(a):
        return np.allclose(yours, a, rtol=1e-6, atol=1e-9)

    if same(440.0 * 2 ** np.floor((pitches - 69) / 12)):
        return ("it uses // (whole-number division): (60 − 69) // 12 is −1, so every pitch from 57 to 68 gets "
                "220 Hz and the semitones in between are lost. Use / so that each semitone counts.")
    if same(440.0 * 2 ** (pitches - 69 / 12)):
        return ("Python divides before it subtracts: pitch − 69 / 12 divides only 69 by 12 (5.75), so each "
                "semitone doubles the frequency. Put brackets round the difference: 2 ** ((pitch − 69) / 12).")
    if same(440.0 * 2 ** (pitches - 69) / 12):
        return ("Python raised 2 to the power (pitch − 69) first and divided the result by 12 afterwards: put "
                "the whole exponent in brackets, 2 ** ((pitch − 69) / 12).")
    if same(np.round(right)) or same(np.round(right, 1)) or same(np.round(right, 2)):
        return ("it rounds the frequency (C4 is 261.6256 Hz, not 261.63 or 262): return the exact value and round "
                "only when you print it.")
    if np.all(yours > 0):
        # log2(f) = a + b (pitch − 69): b says how much one semitone multiplies, a where 440 Hz sits
        b, a = np.polyfit(pitches - 69, np.log2(yours), 1)
        if np.allclose(a + b * (pitches - 69), np.log2(yours), atol=1e-6):
            per_semitone = 2 ** b
            if abs(b + 1 / 12) < 1e-6:
                return ("its frequencies go *down* as the pitch goes up (pitch 81 gets 220 Hz): the exponent "
                        "is (pitch − 69) / 12, positive above A4 — not (69 − pitch) / 12.")
            if abs(b - 1) < 1e-6:
                return ("each semitone *doubles* its frequency (pitch 70 gets 880 Hz): doubling is an octave, 12 "
                        "semitones. Divide the exponent by 12: one semitone multiplies by 2 ** (1/12).")
            if abs(b - 1 / 12) < 1e-6:
                shift = -12 * (a - math.log2(440.0))
                at_440 = 69 + shift
                if abs(shift - round(shift)) < 1e-6 and 0 <= round(at_440) <= 127:
                    p = int(round(at_440))
                    return (f"the steps between semitones are right, but it gives 440 Hz to pitch {p} "
                            f"({note_name(p)}), not to 69 (A4): measure the distance from 69, (pitch − 69).")
                return (f"the steps between semitones are right, but it gives {2 ** a:.6g} Hz to pitch 69; A4 "
                        "(69) is 440 Hz, so start the formula from 440.")
            if abs(b - 1 / 12) < 0.002:
                return (f"each semitone multiplies its frequency by {per_semitone:.5f}, close to but not exactly "
                        f"2 ** (1/12) = {2 ** (1 / 12):.5f}; the error grows with every semitone (pitch 108 "
                        f"gets {yours[6]:.1f} Hz instead of {right[6]:.1f}). Write 2 ** ((pitch − 69) / 12).")
            return (f"each semitone multiplies its frequency by {per_semitone:.4g}; in equal temperament 12 "
                    f"semitones double it, so one semitone multiplies by 2 ** (1/12) ≈ 1.05946.")
    inverse = 69 + 12 * np.log2(np.where(pitches > 0, pitches, np.nan) / 440.0)
    mask = pitches > 0
    if np.allclose(yours[mask], inverse[mask], atol=1e-6):
        return ("it turns a frequency into a pitch — the other way round. Here the input is the pitch; return "
                "440 * 2 ** ((pitch − 69) / 12).")
    return None


def _check_frequency(answer):
    """Checker of q1: the plain comparison, then what the learner's formula does wrong."""
    try:
        _frequency_values(answer)
    except CheckFailed as failure:
        if failure.wrong_type or failure.message.startswith("expected a function"):
            raise
        if "for ^" in failure.message:  # 2 ^ 0.75: TypeError, unsupported operand type(s) for ^
            raise CheckFailed(f"{failure.message.rstrip('.')}. In Python `^` is not a power, it is bitwise XOR "
                              "(and does not work on fractions): write powers with `**`, "
                              "2 ** ((pitch − 69) / 12).", failure.details) from None
        if "returned None" in failure.message or " raised " in failure.message:
            raise  # the learner's own error (or a missing return) is the diagnosis
        why = _frequency_diagnosis(answer)
        if why is None:
            raise
        raise CheckFailed(f"{failure.message.rstrip('.')}: {why}", failure.details) from None


q1 = Exercise(
    "frequency of a MIDI pitch",
    check=with_expected(_check_frequency, "a function"),
    hints=["Start at A4 = pitch 69 = 440 Hz. How many semitones is `pitch` above (or below) 69?",
           "Each semitone multiplies the frequency by 2 ** (1/12); n semitones multiply it by 2 ** (n/12).",
           "return 440 * 2 ** ((pitch - 69) / 12)"],
    solution="def frequency(pitch):\n    return 440.0 * 2 ** ((pitch - 69) / 12)",
    reference=pitch_to_frequency,
)

_c_major = [60, 62, 64, 65, 67, 69, 71, 72]

_scale_pitches = check_pitches(_c_major, ordered=True, what="scale", name="the C major scale from C4 to C5")
_MAJOR_STEPS = [2, 2, 1, 2, 2, 2, 1]
_STEP_NAMES = {1: "H (a half step, 1 semitone)", 2: "W (a whole step, 2 semitones)"}
#: Other scales from C a learner may write, and what they are.
_OTHER_SCALES = {
    (60, 62, 63, 65, 67, 68, 70, 72): "that is C *natural minor* (Eb, Ab, Bb): its steps are W H W W H W W. "
                                      "Major goes W W H W W W H — E, A and B stay natural.",
    (60, 62, 63, 65, 67, 68, 71, 72): "that is C *harmonic minor* (Eb, Ab, B). Major goes W W H W W W H.",
    (60, 62, 64, 65, 67, 69, 70, 72): "that is C *mixolydian* (B flat): the last two steps are W H in major — "
                                      "A to B is a whole step, B to C a half step.",
    (60, 62, 64, 66, 67, 69, 71, 72): "that is C *lydian* (F sharp): in major the third step, E to F, is a half "
                                      "step (H).",
    (60, 62, 64, 66, 68, 70, 72): "that is a whole-tone scale (all W): major has two half steps, E–F and B–C.",
}


def _check_c_major_scale(answer):
    """Checker of q2: steps instead of pitches, names without octave, other scales, then the step that
    went wrong (W where H belongs...), then the plain note-by-note comparison."""
    if isinstance(answer, (list, tuple)) and answer and all(isinstance(n, str) for n in answer) \
            and all(not any(ch.isdigit() for ch in n) for n in answer):
        raise CheckFailed(f"{', '.join(repr(n) for n in answer[:8])}: note names need their octave number too — "
                          "middle C is 'C4', the C above it 'C5' (or write MIDI numbers such as 60).",
                          wrong_type=True)
    try:
        values = [int(v) for v in answer] if isinstance(answer, (list, tuple, np.ndarray)) else None
    except (TypeError, ValueError):
        values = None
    if values == _MAJOR_STEPS:
        raise CheckFailed("these are the steps W W H W W W H as numbers (2 2 1 2 2 2 1) — the recipe, not the "
                          "scale. Start at 60 and add each step in turn: 60, 60 + 2, ...")
    if values is not None and values[:1] == [0] and len(values) == 8 and values == [v - 60 for v in _c_major]:
        raise CheckFailed("0, 2, 4, ... are the steps above C (pitch classes), not MIDI pitches: add 60 to each.")
    if values is not None and tuple(values) in _OTHER_SCALES:
        raise CheckFailed(_OTHER_SCALES[tuple(values)])
    if values is not None and len(values) == len(_c_major) and values[0] == 60 and values != _c_major:
        steps = [b - a for a, b in zip(values, values[1:])]
        i = next(i for i, (mine, want) in enumerate(zip(steps, _MAJOR_STEPS)) if mine != want)
        if all(v == t for v, t in zip(values[:i + 1], _c_major)):
            want = _MAJOR_STEPS[i]
            raise CheckFailed(f"from {note_name(values[i])} (note {i + 1}) you went up {steps[i]} semitone"
                              f"{'s' if abs(steps[i]) != 1 else ''} to {note_name(values[i + 1])} "
                              f"({values[i + 1]}); step {i + 1} of W W H W W W H is {_STEP_NAMES[want]}, which "
                              f"lands on {note_name(_c_major[i + 1])}. Each step starts from the note before.")
    _scale_pitches(answer)


q2 = Exercise(
    "the C major scale",
    check=with_expected(_check_c_major_scale, "a list of notes (MIDI numbers or names such as 'C4')"),
    hints=["Start at 60 and add the steps W W H W W W H, where W = 2 semitones and H = 1.",
           "60, 62, 64, then a half step to 65 ..."],
    solution="c_major_scale = [60, 62, 64, 65, 67, 69, 71, 72]   # C D E F G A B C",
    reference=_c_major,
)

_BAR_TOKENS = "E4 _ _ _ D4 _ C4 _ R _ G4 _ _ _ _ _"
_bar_tokens = check_tokens(_BAR_TOKENS)
_STEP_VALUES = {1: "a 16th note", 2: "an eighth note", 3: "a dotted eighth", 4: "a quarter note",
                6: "a dotted quarter note", 8: "a half note"}


def _events(tokens) -> list[tuple[int, int]]:
    """(token that starts it, length in 16th-note steps) for each note or rest."""
    tokens = [int(t) for t in tokens]
    events = []
    for t in tokens:
        if t == HOLD and events:
            events[-1][1] += 1
        else:
            events.append([t, 1])
    return [tuple(e) for e in events]


def _event_text(token: int) -> str:
    return "the rest" if token == REST else note_name(token)


def _check_bar_tokens(answer):
    """Checker of q3: HOLD written as '-', commas, then the note or rest whose length is off (in steps and
    note values), then the plain step-by-step comparison with both rows aligned."""
    if isinstance(answer, str):
        words = answer.split()
        if "-" in words or "–" in words:
            raise CheckFailed("HOLD is written '_' (an underscore), not '-': replace each '-' with '_'.",
                              wrong_type=True)
        if "," in answer:
            raise CheckFailed("separate the tokens with spaces, not commas, as token_names prints them: "
                              "'E4 _ _ _ D4 ...'.", wrong_type=True)
    target = tokens_from_names(_BAR_TOKENS)
    try:
        mine = tokens_from_names(answer) if isinstance(answer, (str, list, tuple)) and answer and \
            all(isinstance(t, str) for t in (answer.split() if isinstance(answer, str) else answer)) \
            else np.asarray(answer, dtype=np.int64)
    except (ValueError, KeyError, TypeError, OverflowError):
        mine = None
    if mine is not None and mine.ndim == 1 and not np.array_equal(mine, target):
        ours, theirs = _events(mine), _events(target)
        pitches_mine = [t for t, _ in ours if t != HOLD]
        if [t for t, _ in ours] == [t for t, _ in theirs]:
            for (t, n), (_, want) in zip(ours, theirs):
                if n != want:
                    value = _STEP_VALUES.get(want, f"{want} steps")
                    raise CheckFailed(
                        f"the right notes in the right order, but {_event_text(t)} lasts {n} step"
                        f"{'s' if n != 1 else ''} ({_STEP_VALUES.get(n, f'{n / 4:g} quarter notes')}); "
                        f"{value} is {want} steps of a 16th note: the {'REST' if t == REST else 'pitch'} token "
                        f"counts as the first step, then {want - 1} HOLD{'s' if want != 2 else ''} '_'.")
        if len(pitches_mine) > len([t for t, _ in theirs]) and HOLD not in mine:
            raise CheckFailed("you repeated each name at every step (or wrote no HOLDs): a pitch token starts a "
                              "*new* note, so E4 E4 E4 E4 is four 16th notes. Keep a note sounding with HOLD, "
                              "'_': a quarter note is E4 _ _ _.")
        if any(a == REST and b == REST for a, b in zip(mine[:-1], mine[1:])):
            raise CheckFailed("R R is two rests, one after the other. Like a note, a rest is one REST token and "
                              "then HOLDs while the silence lasts: an eighth-note rest is R _.")
        if [t for t, _ in ours] == [t for t, _ in theirs if t != REST]:
            raise CheckFailed("the eighth-note rest is missing: silence is written too, as REST 'R' and a HOLD "
                              "(R _), or the G4 starts too early.")
    _bar_tokens(answer)


q3 = Exercise(
    "encode a bar as tokens",
    check=with_expected(_check_bar_tokens, "event tokens (a string of names like 'C4 _ _ R _')"),
    hints=["One token per 16th note: a quarter note is 4 steps (the pitch, then 3 HOLDs '_').",
           "An eighth note is 2 steps; the eighth rest is 'R _'; the dotted quarter is 6 steps.",
           "16 tokens in all (one 4/4 bar)."],
    solution='my_tokens = "E4 _ _ _ D4 _ C4 _ R _ G4 _ _ _ _ _"',
    reference=_BAR_TOKENS,
)

_e_minor = melody(["E4", "F#4", "G4", "B4", "A4", "G4", "F#4", "E4"],
                  durations=[1, 0.5, 0.5, 1, 0.5, 0.5, 1, 2], key="E minor")

_a_minor_notes = check_piece(_e_minor.transpose(5), what="melody")


def _check_a_minor(answer):
    """Checker of q4: when every note moved by the same amount, say which key that lands in and, for the
    A-minor moves other than +5, that the question asks for the smaller move."""
    if isinstance(answer, (int, np.integer)) and not isinstance(answer, bool) and abs(int(answer)) < 128:
        k = int(answer)
        start = ("5 is the right move! But" if k == 5 else
                 f"you gave the number {k}, a number of semitones (a move of {interval_phrase(k)}); and")
        raise CheckFailed(f"{start} the exercise asks for the transposed melody itself, a Piece: "
                          f"`transpose` returns it — a_minor_tune = e_minor_tune.transpose({5 if k == 5 else '...'}).",
                          wrong_type=True)
    if isinstance(answer, Piece) and len(answer.notes) == len(_e_minor.notes):
        mine, theirs = list(answer.notes), list(_e_minor.notes)
        same_rhythm = all(abs(a.start - b.start) < 1e-6 and abs(a.duration - b.duration) < 1e-6
                          for a, b in zip(mine, theirs))
        shifts = {a.pitch - b.pitch for a, b in zip(mine, theirs)}
        if same_rhythm and len(shifts) == 1 and shifts != {5}:
            k = shifts.pop()
            tonic = note_name(mine[0].pitch)
            moved = f"transpose({k}) moves every note {interval_phrase(k)}" if k else ""
            if k == 0:
                raise CheckFailed("your melody is still the E minor tune, note for note. `transpose` does not "
                                  "change the tune it is called on; it returns a new piece — assign that: "
                                  "a_minor_tune = e_minor_tune.transpose(...).")
            if k % 12 == 5 and k != 5:
                raise CheckFailed(f"{moved}: your tune is in A minor (it starts on {tonic}), so the key is "
                                  f"right — but you moved it {abs(k)} semitones. The exercise asks for the "
                                  "*smaller* of the two moves from E to A: compare going up a perfect fourth "
                                  "with going down a perfect fifth, and count the semitones of each.")
            if k % 12 == 0:
                raise CheckFailed(f"{moved}: an octave changes no note names, so the tune is still in E minor "
                                  f"(it starts on {tonic}). Move it to A.")
            key = f"{tonic[:-1]} minor"
            why = ""
            if k == 7:
                why = (" 7 semitones is the size of the move *down* from E to A (a perfect fifth); going up 7 "
                       "lands on B instead.")
            elif k == -5:
                why = (" 5 semitones is the size of the move *up* from E to A (a perfect fourth); going down 5 "
                       "lands on B instead.")
            elif abs(k) in (4, 6):
                why = " One semitone off: count every key from E to A, black keys too."
            raise CheckFailed(f"{moved}: your tune now starts on {tonic}, so it is in {key}, not A minor.{why}")
    _a_minor_notes(answer)


q4 = Exercise(
    "transpose to A minor",
    check=with_expected(_check_a_minor, "a Piece"),
    hints=["From E up to A is a perfect fourth: how many semitones? From E down to A is a perfect fifth.",
           "E→A up is 5 semitones, down is 7: the smaller move is up by 5.",
           "a_minor_tune = e_minor_tune.transpose(5)"],
    solution="a_minor_tune = e_minor_tune.transpose(5)   # E up a perfect fourth (5 semitones) to A",
    reference=_e_minor.transpose(5),
)
