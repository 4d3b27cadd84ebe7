"""Ready-made checkers for exercises: each ``check_*`` factory returns a function that raises
:class:`~musegen_helpers.exercises.CheckFailed` with a reason in music terms when an answer is
wrong ("this is 8 semitones: a minor sixth, not a perfect fifth (7)") and returns when it is right.

* :func:`check_number` — a frequency, a duration, a count (names a wrong frequency as a note);
* :func:`check_interval` — an interval in semitones or by name;
* :func:`check_pitches` — a scale, a chord, a melody as MIDI pitches or names;
* :func:`check_piece` — a :class:`~musegen_helpers.music.Piece`, note by note with bar and beat;
* :func:`check_array` — a piano roll or any array;
* :func:`check_function` — the learner's function on hidden inputs (:class:`Args` for several
  arguments), :func:`all_of` to chain checkers;
* :func:`check_tokens` — event tokens, with the two rows aligned where they first differ.

Pass one to :class:`musegen_helpers.exercises.Exercise` (the framework: placeholder, feedback,
hints, solutions)::

    q1 = Exercise("A5's frequency", check=check_number(880.0, unit="Hz"), reference=880.0)

Lesson: 00_welcome, 01_representation
"""

from __future__ import annotations

import copy
import math
import numbers
import re
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .exercises import CheckFailed, call_learner, describe_answer, short_repr, with_expected
from .music import Note, Piece, note_name, pitch_from_name

__all__ = [
    "check_number", "check_interval", "check_pitches", "check_piece", "check_array",
    "check_function", "check_tokens", "Args", "all_of", "interval_phrase",
]


# ---------------------------------------------------------------------------------------
# Small music vocabulary for messages (interval names are theory.interval_name's: one home)
# ---------------------------------------------------------------------------------------
_DURATION_NAMES = {4.0: "a whole note", 3.0: "a dotted half note", 2.0: "a half note",
                   1.5: "a dotted quarter note", 1.0: "a quarter note", 0.75: "a dotted eighth note",
                   0.5: "an eighth note", 0.25: "a sixteenth note", 0.125: "a thirty-second note",
                   1 / 3: "an eighth-note triplet", 2 / 3: "a quarter-note triplet"}


def interval_phrase(semitones: int) -> str:
    """An interval as a learner's message says it, from :func:`musegen_helpers.theory.interval_name`
    with an article and a direction: ``7 -> 'a perfect fifth'``, ``-3 -> 'a minor third down'``,
    ``12 -> 'a perfect octave'``, ``31 -> 'a perfect fifth plus 2 octaves'``. Lesson: 02_rule_based"""
    from .theory import interval_name

    s = int(semitones)
    name = interval_name(abs(s))
    article = "" if name[0].isdigit() else ("an " if name[0] in "aeiou" else "a ")
    return f"{article}{name}{' down' if s < 0 else ''}"


def _count(n: int, thing: str) -> str:
    """'one octave', '3 octaves' — "one" reads better than "1" in a sentence."""
    return f"one {thing}" if n == 1 else f"{n} {thing}s"


def _semitone_shift(k: int) -> str:
    """'one semitone too high', '3 semitones too low', 'an octave too low', '2 octaves too high'."""
    direction = "too high" if k > 0 else "too low"
    k = abs(k)
    if k % 12 == 0:
        octaves = k // 12
        return f"{'an octave' if octaves == 1 else _count(octaves, 'octave')} {direction}"
    return f"{_count(k, 'semitone')} {direction}"


def _note(pitch: int) -> str:
    """'E4 (64)'."""
    return f"{note_name(pitch)} ({pitch})"


def _key_name(pitch: int) -> str:
    """Black keys get both spellings: 70 -> 'A#4/Bb4'."""
    pc, octave = pitch % 12, pitch // 12 - 1
    sharps = {1: "C#", 3: "D#", 6: "F#", 8: "G#", 10: "A#"}
    flats = {1: "Db", 3: "Eb", 6: "Gb", 8: "Ab", 10: "Bb"}
    if pc in sharps:
        return f"{sharps[pc]}{octave}/{flats[pc]}{octave}"
    return note_name(pitch)


def _duration_text(quarters: float) -> str:
    for value, name in _DURATION_NAMES.items():
        if abs(quarters - value) < 1e-6:
            return f"{quarters:g} quarter note{'s' if quarters != 1 else ''} ({name})"
    return f"{quarters:g} quarter notes"


def _position_text(start: float, piece: Piece | None = None) -> str:
    """'beat 3 (start=2)' in the first bar, 'bar 2, beat 1 (start=4)' later, 'bar 0, beat 4
    (start=0)' in a pickup: bar and beat as :meth:`Piece.bar_and_beat` counts them."""
    if piece is not None:
        bar, beat = piece.bar_and_beat(start)
        beat_text = f"{round(beat, 3):g}"
        if bar == 1 and not piece.pickup:
            return f"beat {beat_text} (start={start:g})"
        return f"bar {bar}, beat {beat_text} (start={start:g})"
    return f"start={start:g} quarter notes"


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) or (
        isinstance(x, np.ndarray) and x.ndim == 0 and np.issubdtype(x.dtype, np.number))


# ---------------------------------------------------------------------------------------
# check_number
# ---------------------------------------------------------------------------------------
_RATIO_HINTS = (
    (2.0, "exactly twice the right value — one octave (or one doubling) too many?"),
    (0.5, "exactly half the right value — one octave (or one halving) too few?"),
    (60.0, "exactly 60 times the right value — minutes where seconds are wanted (or the other way)?"),
    (1 / 60, "exactly 1/60 of the right value — seconds where minutes are wanted (or the other way)?"),
    (4.0, "exactly 4 times the right value — 16th-note steps where quarter notes are wanted?"),
    (0.25, "exactly a quarter of the right value — quarter notes where 16th-note steps are wanted?"),
    (1000.0, "exactly 1000 times the right value — milliseconds where seconds are wanted?"),
    (0.001, "exactly 1/1000 of the right value — seconds where milliseconds are wanted?"),
    (-1.0, "the right size but the wrong sign"),
)


def check_number(expected: float, tol: float | None = None, unit: str = "Hz", what: str = "the answer",
                 mistakes: dict | None = None) -> Callable:
    """A checker for one number, e.g. a frequency in Hz, a duration in seconds, a count.

    Args:
        expected: the right value.
        tol: allowed absolute difference; default 0.1 % of ``expected`` (at least 1e-9), so an answer
            rounded to a sensible number of digits (466.2 Hz for 466.16 Hz) passes.
        unit: printed after numbers. With ``"Hz"`` a wrong answer is named as a note
            ("that is A#4/Bb4 — one semitone too high").
        what: what the number is, for messages about the wrong kind of answer.
        mistakes: known wrong values and what they reveal, ``{value: "explanation"}``.

    Lesson: 01_representation
    """
    expected = float(expected)
    tol = max(1e-9, 1e-3 * abs(expected)) if tol is None else float(tol)
    unit_text = f" {unit}" if unit else ""
    mistakes = dict(mistakes or {})

    def check(answer):
        if isinstance(answer, np.ndarray) and answer.size == 1:
            answer = answer.reshape(()).item()
        if isinstance(answer, np.generic):
            answer = answer.item()
        if isinstance(answer, str):
            try:
                float(answer)
            except ValueError:
                raise CheckFailed(f"expected {what} as a number{unit_text and ' in' + unit_text}, got "
                                  f"{describe_answer(answer)}.", wrong_type=True) from None
            raise CheckFailed(f"expected {what} as a number, got {describe_answer(answer)}: remove the quotes.",
                              wrong_type=True)
        if not _is_number(answer):
            if isinstance(answer, (list, tuple, np.ndarray)):
                raise CheckFailed(f"expected one number for {what}, got {describe_answer(answer)}.", wrong_type=True)
            raise CheckFailed(f"expected {what} as a number, got {describe_answer(answer)}.", wrong_type=True)
        x = float(answer)
        if math.isnan(x):
            raise CheckFailed("your answer is nan (not a number): look for 0/0 or a log of 0 in your formula.")
        if math.isinf(x):
            raise CheckFailed("your answer is infinite: look for a division by zero or a huge power.")
        if abs(x - expected) <= tol:
            return
        for value, explanation in mistakes.items():
            if abs(x - float(value)) <= tol:
                raise CheckFailed(f"you gave {x:.6g}{unit_text}: {explanation}")
        message = f"you gave {x:.6g}{unit_text}"
        if unit == "Hz":
            message += _frequency_explanation(x, expected)
        else:
            message += "; " + _size_explanation(x, expected)
        raise CheckFailed(message)

    return with_expected(check, f"a number ({unit})" if unit else "a number")


def _frequency_explanation(x: float, expected: float) -> str:
    if x <= 0:
        return "; a frequency is always positive (it counts vibrations per second)."
    expected_pitch = 69 + 12 * math.log2(expected / 440.0) if expected > 0 else None
    if expected_pitch is not None and float(x).is_integer() and round(expected_pitch) == x \
            and abs(expected_pitch - round(expected_pitch)) < 0.05:
        return (f": that is the MIDI pitch of {note_name(int(x))}, not its frequency — "
                f"turn the pitch into Hz: f = 440 · 2^((pitch − 69) / 12).")
    pitch = 69 + 12 * math.log2(x / 440.0)
    nearest = round(pitch)
    if abs(pitch - nearest) > 0.15 or not 0 <= nearest <= 127:
        lower = math.floor(pitch)
        if 0 <= lower < 127:
            return (f"; that is not a note of the equal-tempered scale: it lies between "
                    f"{_key_name(lower)} ({440 * 2 ** ((lower - 69) / 12):.1f} Hz) and "
                    f"{_key_name(lower + 1)} ({440 * 2 ** ((lower + 1 - 69) / 12):.1f} Hz). "
                    "Check the exponent: f = 440 · 2^((pitch − 69) / 12).")
        return "; that is outside the range of MIDI notes (about 8 Hz to 12.5 kHz)."
    text = f"; that is {_key_name(nearest)}"
    if expected_pitch is not None and abs(expected_pitch - round(expected_pitch)) < 0.15:
        shift = nearest - round(expected_pitch)
        if shift == 0:
            # The right note, but further away than the tolerance (rounded too coarsely?).
            return text + ", the right note, but not precisely enough: keep at least one decimal place."
        text += f" — {_semitone_shift(shift)}"
        if shift % 12 == 0:
            text += " (each octave doubles the frequency)"
    return text + "."


def _size_explanation(x: float, expected: float) -> str:
    """Why a number is off: a telling ratio (x2, x60, x1000, wrong sign), off by one, or how far."""
    if expected != 0:
        ratio = x / expected
        for r, explanation in _RATIO_HINTS:
            if abs(ratio - r) <= 1e-3 * abs(r):
                return explanation + "."
    if float(x).is_integer() and float(expected).is_integer() and abs(x - expected) == 1:
        return f"off by one ({'one too many' if x > expected else 'one too few'})."
    direction = "too high" if x > expected else "too low"
    if expected == 0:
        return f"that is {direction}."
    ratio = x / expected
    if 0.5 < ratio < 2:
        return f"that is {direction}, by {abs(x - expected) / abs(expected):.0%}."
    if ratio > 0:
        return f"that is {direction}: about {ratio:.3g} times the right value." if ratio > 1 else \
            f"that is {direction}: about 1/{1 / ratio:.3g} of the right value."
    return "that has the wrong sign and the wrong size."


# ---------------------------------------------------------------------------------------
# check_interval
# ---------------------------------------------------------------------------------------
def _interval_from_text(text: str) -> int | None:
    """'perfect fifth' / 'a minor 3rd' / 'P5' / 'm3' -> semitones, or None."""
    t = text.strip().lower().replace("-", " ")
    t = re.sub(r"^(an?|the)\s+", "", t)
    short = {"p1": 0, "m2": 1, "M2": 2, "m3": 3, "M3": 4, "p4": 5, "tt": 6, "p5": 7, "m6": 8, "M6": 9,
             "m7": 10, "M7": 11, "p8": 12}
    raw = text.strip()
    if raw in short:
        return short[raw]
    if raw.lower() in ("p1", "p4", "p5", "p8", "tt"):
        return short[raw.lower()]
    t = (t.replace("1st", "unison").replace("2nd", "second").replace("3rd", "third").replace("4th", "fourth")
         .replace("5th", "fifth").replace("6th", "sixth").replace("7th", "seventh").replace("8ve", "octave"))
    aliases = {"augmented fourth": 6, "diminished fifth": 6, "perfect octave": 12, "perfect unison": 0,
               "octave": 12, "unison": 0, "tritone": 6, "two octaves": 24}
    if t in aliases:
        return aliases[t]
    from .theory import interval_name

    for s in range(25):
        if t == interval_name(s):
            return s
    return None


def check_interval(expected_semitones: int, what: str = "the interval", direction_matters: bool = True) -> Callable:
    """A checker for an interval given as a number of semitones (or a name such as 'perfect fifth').

    Messages name both intervals: "this is 8 semitones: a minor sixth, not a perfect fifth (7)".

    Args:
        expected_semitones: the right size; negative for a falling interval.
        direction_matters: when False, -7 counts as 7.

    Lesson: 02_rule_based
    """
    expected = int(expected_semitones)

    def check(answer):
        given_text = None
        if isinstance(answer, str):
            semis = _interval_from_text(answer)
            if semis is None:
                raise CheckFailed(f"{answer!r} is not an interval name I know; give the number of semitones "
                                  "(e.g. 7) or a name such as 'perfect fifth' or 'minor third'.", wrong_type=True)
            given_text, answer = answer, semis
        if isinstance(answer, np.generic):
            answer = answer.item()
        if not _is_number(answer):
            raise CheckFailed(f"expected {what} as a number of semitones, got {describe_answer(answer)}.",
                              wrong_type=True)
        if float(answer) != int(answer):
            raise CheckFailed(f"you gave {answer:g}: intervals between notes of the equal-tempered scale are "
                              "whole numbers of semitones.")
        given = int(answer)
        target = expected if direction_matters else abs(expected)
        if not direction_matters:
            given = abs(given)
        if given == target:
            return
        described = f"{given_text!r} is {given} semitones" if given_text else f"this is {_count_num(given)}"
        message = f"{described}: {interval_phrase(given)}, not {interval_phrase(target)} ({target})"
        if abs(given) == abs(target) and given != target:
            message += " — the right size, but going the other way (up is positive, down is negative)"
        elif given % 12 == target % 12 and given != target:
            diff = (given - target) // 12
            octaves = "an octave" if abs(diff) == 1 else _count(abs(diff), "octave")
            message += f" — the right interval but {octaves} too {'wide' if diff > 0 else 'narrow'}"
        elif abs(given - target) == 1:
            message += " — one semitone off: count every key, white and black"
        raise CheckFailed(message + ".")

    return with_expected(check, "a number of semitones")


def _count_num(n: int) -> str:
    return f"{n} semitone{'s' if abs(n) != 1 else ''}"


# ---------------------------------------------------------------------------------------
# check_pitches
# ---------------------------------------------------------------------------------------
def _to_pitches(value, whose: str) -> list[int]:
    """Normalise notes given as MIDI numbers, names ('C4'), Note objects or a Piece to MIDI pitches."""
    if isinstance(value, Piece):
        return list(value.pitches)
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise CheckFailed(f"{whose} is an array of shape {value.shape}; give a flat list of notes.",
                              wrong_type=True)
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise CheckFailed(f"expected a list of notes (MIDI numbers such as 60 or names such as 'C4'), "
                          f"got {describe_answer(value)}.", wrong_type=True)
    pitches = []
    for i, item in enumerate(value, start=1):
        if isinstance(item, Note):
            pitches.append(item.pitch)
        elif isinstance(item, str):
            try:
                pitches.append(pitch_from_name(item))
            except ValueError:
                raise CheckFailed(f"note {i}, {item!r}, is not a note name: write e.g. 'C4', 'F#4' or 'Bb3' "
                                  "(letter, optional # or b, octave number).", wrong_type=True) from None
        elif _is_number(item) and float(item) == int(item) and 0 <= int(item) <= 127:
            pitches.append(int(item))
        elif _is_number(item):
            raise CheckFailed(f"note {i} is {item!r}: a MIDI pitch is a whole number from 0 to 127 (60 = C4).",
                              wrong_type=True)
        else:
            raise CheckFailed(f"note {i} is {describe_answer(item)}; give MIDI numbers (60) or names ('C4').",
                              wrong_type=True)
    return pitches


def _multiset_difference(a: list[int], b: list[int]) -> list[int]:
    rest = list(b)
    out = []
    for p in a:
        if p in rest:
            rest.remove(p)
        else:
            out.append(p)
    return out


def check_pitches(expected, ordered: bool = True, what: str = "scale", name: str | None = None,
                  octave_matters: bool = True) -> Callable:
    """A checker for a list of notes (MIDI numbers, names like 'C4', Notes, or a Piece).

    Messages speak of notes and intervals: "your scale has 8 notes; a C major scale has 7
    different pitch classes (8 with the octave)", "note 3 is Eb4 (63) but should be E4 (64)",
    "right notes, wrong order", "every note is an octave too high".

    Args:
        expected: the right notes.
        ordered: False for a chord or a set of notes, where order does not matter.
        what: what the learner wrote ("scale", "chord", "melody").
        name: what the right answer is called ("a C major scale"); default "the expected <what>".
        octave_matters: False to compare pitch classes only (C4 == C5).

    Lesson: 01_representation
    """
    target = _to_pitches(expected, "the expected answer")
    description = name or f"the expected {what}"

    def check(answer):
        given = _to_pitches(answer, f"your {what}")
        if not octave_matters:
            given_cmp, target_cmp = [p % 12 for p in given], [p % 12 for p in target]
        else:
            given_cmp, target_cmp = given, target
        if given_cmp == target_cmp or (not ordered and sorted(given_cmp) == sorted(target_cmp)):
            return
        if len(given) != len(target):
            raise CheckFailed(_length_message(given, target, what, description))
        if ordered and sorted(given_cmp) == sorted(target_cmp):
            direction = ""
            if target == sorted(target):
                direction = " — lowest first"
            elif target == sorted(target, reverse=True):
                direction = " — highest first"
            raise CheckFailed(f"right notes, wrong order{direction}: {description} goes "
                              f"{' '.join(note_name(p) for p in target[:3])} ...")
        diffs = [g - t for g, t in zip(given, target)]
        if octave_matters and len(set(diffs)) == 1:
            k = diffs[0]
            if k % 12 == 0:
                raise CheckFailed(f"every note is {_semitone_shift(k)} (wrong octave): start on "
                                  f"{_note(target[0])}, not {_note(given[0])}.")
            raise CheckFailed(f"every note is {_semitone_shift(k)} — transpose by {-k:+d}: {description} "
                              f"starts on {_note(target[0])}, yours on {_note(given[0])}.")
        if not ordered:
            missing = _multiset_difference(target_cmp, given_cmp)
            extra = _multiset_difference(given_cmp, target_cmp)
            if octave_matters and sorted(p % 12 for p in given) == sorted(p % 12 for p in target):
                raise CheckFailed(f"right pitch classes, wrong octave: you have "
                                  f"{', '.join(_note(p) for p in extra)} where {description} has "
                                  f"{', '.join(_note(p) for p in missing)}.")
            show = _note if octave_matters else (lambda pc: note_name(pc + 60)[:-1])
            raise CheckFailed(f"your {what} has {', '.join(show(p) for p in extra)} but {description} has "
                              f"{', '.join(show(p) for p in missing)} instead.")
        wrong = [i for i, (g, t) in enumerate(zip(given_cmp, target_cmp)) if g != t]
        i = wrong[0]
        g, t = given[i], target[i]
        others = len(wrong) - 1
        tail = (f" ({'One other note is' if others == 1 else f'{others} other notes are'} wrong too.)"
                if others else "")
        if (g - t) % 12 == 0:
            raise CheckFailed(f"note {i + 1} (index {i}) is {_note(g)} but should be {_note(t)}: "
                              f"the right note name, {_semitone_shift(g - t)}.{tail}")
        message = f"note {i + 1} (index {i}) is {_note(g)} but should be {_note(t)}"
        if i > 0 and ordered:
            first = target[0]
            message += (f": {note_name(t)} is {interval_phrase(t - first)} above {note_name(first)}, "
                        f"{note_name(g)} is {interval_phrase(g - first)}"
                        if t > first and g > first else f" ({_semitone_shift(g - t)})")
        else:
            message += f" ({_semitone_shift(g - t)})"
        raise CheckFailed(message + "." + tail)

    return with_expected(check, "a list of notes (MIDI numbers or names such as 'C4')")


def _length_message(given: list[int], target: list[int], what: str, description: str) -> str:
    n_pc = len({p % 12 for p in target})
    has_octave = len(target) >= 2 and target[-1] - target[0] == 12 and n_pc == len(target) - 1
    message = f"your {what} has {len(given)} note{'s' if len(given) != 1 else ''}; {description} has "
    if has_octave:
        message += f"{n_pc} different pitch classes ({len(target)} with the octave)"
    elif n_pc == len(target) and len(target) > 2 and what in ("scale", "mode"):
        message += f"{n_pc} different pitch classes ({len(target) + 1} with the octave)"
    else:
        message += f"{len(target)} note{'s' if len(target) != 1 else ''}"
    if len(given) == len(target) + 1 and given[:-1] == target and given[-1] - given[0] == 12:
        message += f" — leave out the octave ({note_name(given[-1])}) at the top"
    elif len(given) + 1 == len(target) and target[:-1] == given and has_octave:
        message += f" — add the octave ({note_name(target[-1])}) at the top"
    else:
        extra = _multiset_difference(given, target)
        missing = _multiset_difference(target, given)
        bits = []
        if missing:
            bits.append("missing " + ", ".join(_note(p) for p in missing[:4]) + (" ..." if len(missing) > 4 else ""))
        if extra:
            bits.append("extra " + ", ".join(_note(p) for p in extra[:4]) + (" ..." if len(extra) > 4 else ""))
        repeated = sorted({p for p in given if given.count(p) > 1 and target.count(p) < given.count(p)})
        if repeated and not missing:
            bits = [f"{', '.join(note_name(p) for p in repeated)} appears more than once"]
        if bits:
            message += " (" + "; ".join(bits) + ")"
    return message + "."


# ---------------------------------------------------------------------------------------
# check_piece
# ---------------------------------------------------------------------------------------
_PIECE_FIELDS = ("tempo", "time_signature", "key", "title", "pickup")
_NOTE_FIELDS = ("pitch", "start", "duration", "velocity", "part", "is_drum")


def check_piece(expected_piece: Piece, compare: Sequence[str] = ("pitch", "start", "duration"),
                tol: float = 1e-6, what: str = "melody") -> Callable:
    """A checker for a :class:`Piece`; explains the first difference in time.

    "the note at beat 3 (start=2) should be G4 but is F#4", "missing note: ...", "extra note: ...",
    "every note is 3 semitones too low — transpose by +3", "every note starts 1 quarter note late".

    Args:
        expected_piece: the right piece.
        compare: note fields to compare (``pitch``, ``start``, ``duration``, ``velocity``, ``part``)
            and optionally piece fields (``tempo``, ``time_signature``, ``key``, ``title``,
            ``pickup``). Without ``start`` notes are compared in order, one by one.
        tol: allowed difference in quarter notes (and BPM) for times, pickup and tempo.

    Lesson: 01_representation
    """
    if not isinstance(expected_piece, Piece):
        raise TypeError(f"check_piece needs the expected Piece, got {type(expected_piece).__name__}.")
    unknown = [f for f in compare if f not in _NOTE_FIELDS + _PIECE_FIELDS]
    if unknown:
        raise ValueError(f"check_piece cannot compare {unknown}; use fields of Note {_NOTE_FIELDS} "
                         f"or of Piece {_PIECE_FIELDS}.")
    note_fields = [f for f in compare if f in _NOTE_FIELDS]
    piece_fields = [f for f in compare if f in _PIECE_FIELDS]
    expected_notes = list(expected_piece.notes)

    def check(answer):
        if not isinstance(answer, Piece):
            advice = ""
            if isinstance(answer, (list, tuple)) and answer and all(isinstance(n, Note) for n in answer):
                advice = " — wrap your notes in a Piece: Piece(notes)"
            elif isinstance(answer, (list, tuple)):
                advice = " — melody(pitches, durations) turns a list of pitches into a Piece"
            raise CheckFailed(f"expected a Piece (your {what}), got {describe_answer(answer)}{advice}.",
                              wrong_type=True)
        for field_name in piece_fields:
            mine, theirs = getattr(answer, field_name), getattr(expected_piece, field_name)
            same = (abs(mine - theirs) <= tol) if field_name in ("tempo", "pickup") else (mine == theirs)
            if field_name == "key" and mine and theirs and not same:
                from .music import parse_key
                same = parse_key(mine) == parse_key(theirs)
            if not same:
                label = field_name.replace("_", " ")
                raise CheckFailed(f"your {what}'s {label} is {_fmt_field(field_name, mine)}, "
                                  f"but should be {_fmt_field(field_name, theirs)}.")
        notes = list(answer.notes)
        if not notes and expected_notes:
            raise CheckFailed(f"your {what} has no notes; it should have {len(expected_notes)}.")
        if "start" in note_fields:
            _explain_timed_difference(notes, expected_notes, note_fields, tol, what, expected_piece)
        else:
            _explain_sequence_difference(notes, expected_notes, note_fields, tol, what)

    return with_expected(check, "a Piece")


def _fmt_field(name: str, value) -> str:
    if name == "time_signature":
        return f"{value[0]}/{value[1]}"
    if name == "tempo":
        return f"{value:g} BPM"
    if name == "pickup":
        return f"{value:g} quarter notes" if value else "none (0 quarter notes)"
    return repr(value)


def _same(field_name: str, a, b, tol: float) -> bool:
    if field_name in ("start", "duration"):
        return abs(a - b) <= tol
    return a == b


def _explain_timed_difference(notes, expected, fields, tol, what, piece):
    def key(n):
        return tuple(getattr(n, f) for f in fields)

    if len(notes) == len(expected) and all(all(_same(f, getattr(a, f), getattr(b, f), tol) for f in fields)
                                           for a, b in zip(notes, expected)):
        return
    # Whole-piece mistakes first: one shift explains every note.
    if len(notes) == len(expected) and notes:
        others = [f for f in fields if f != "pitch"]
        same_rest = all(all(_same(f, getattr(a, f), getattr(b, f), tol) for f in others)
                        for a, b in zip(notes, expected))
        shifts = {a.pitch - b.pitch for a, b in zip(notes, expected)}
        if "pitch" in fields and same_rest and len(shifts) == 1:
            k = shifts.pop()
            raise CheckFailed(f"every note is {_semitone_shift(k)} — transpose by {-k:+d}.")
        same_pitch = all(a.pitch == b.pitch for a, b in zip(notes, expected)) or "pitch" not in fields
        if same_pitch and "duration" in fields:
            offsets = [a.start - b.start for a, b in zip(notes, expected)]
            same_dur = all(abs(a.duration - b.duration) <= tol for a, b in zip(notes, expected))
            if same_dur and max(offsets) - min(offsets) <= tol and abs(offsets[0]) > tol:
                d = offsets[0]
                raise CheckFailed(f"every note starts {abs(d):g} quarter note{'s' if abs(d) != 1 else ''} too "
                                  f"{'late' if d > 0 else 'early'} — shift the {what} by {-d:+g}.")
            ratios = {round(a.duration / b.duration, 6) for a, b in zip(notes, expected)}
            if len(ratios) == 1:
                r = ratios.pop()
                if r != 1 and all(abs(a.start - b.start * r) <= tol for a, b in zip(notes, expected)):
                    size = "twice as long" if r == 2 else "half as long" if r == 0.5 else f"{r:g} times as long"
                    raise CheckFailed(f"every note is {size} as it should be (the rhythm is right, the time "
                                      "scale is not): durations count quarter notes, 1 = one beat in 4/4.")
    # Walk through time: the first onset where the two differ.
    def onset_groups(ns):
        groups: dict[float, list[Note]] = {}
        for n in ns:
            for t in groups:
                if abs(t - n.start) <= tol:
                    groups[t].append(n)
                    break
            else:
                groups[n.start] = [n]
        return groups

    mine, theirs = onset_groups(notes), onset_groups(expected)
    times = sorted(set(mine) | set(theirs))
    merged: list[float] = []
    for t in times:
        if not merged or abs(t - merged[-1]) > tol:
            merged.append(t)
    n_differences = 0
    first = None
    for t in merged:
        a = next((v for k, v in mine.items() if abs(k - t) <= tol), [])
        b = next((v for k, v in theirs.items() if abs(k - t) <= tol), [])
        text = _explain_onset(t, a, b, fields, tol, what, piece)
        if text:
            n_differences += 1
            first = first or text
    if first is None:  # same onsets and notes but different order/duplicates; fall back to counts
        first = f"your {what} has {len(notes)} notes; it should have {len(expected)}."
    if n_differences > 1:
        first += f" ({n_differences} places differ in all.)"
    raise CheckFailed(first)


def _describe_note(n: Note, fields) -> str:
    text = note_name(n.pitch)
    if "duration" in fields:
        text += f", lasting {_duration_text(n.duration)}"
    return text


def _explain_onset(t, mine, theirs, fields, tol, what, piece) -> str | None:
    where = _position_text(t, piece)
    if theirs and not mine:
        names = " and ".join(_describe_note(n, fields) for n in theirs)
        return f"missing note at {where}: {names}."
    if mine and not theirs:
        names = " and ".join(note_name(n.pitch) for n in mine)
        return f"extra note at {where}: {names} — there should be no note starting there."
    mine = sorted(mine, key=lambda n: n.pitch)
    theirs = sorted(theirs, key=lambda n: n.pitch)
    if "pitch" in fields and [n.pitch for n in mine] != [n.pitch for n in theirs]:
        if len(mine) == 1 and len(theirs) == 1:
            g, e = mine[0].pitch, theirs[0].pitch
            return f"the note at {where} should be {note_name(e)} but is {note_name(g)} ({_semitone_shift(g - e)})."
        return (f"at {where} you have {', '.join(note_name(n.pitch) for n in mine)} but there should be "
                f"{', '.join(note_name(n.pitch) for n in theirs)}.")
    for a, b in zip(mine, theirs):
        if "duration" in fields and abs(a.duration - b.duration) > tol:
            return (f"the {note_name(a.pitch)} at {where} lasts {_duration_text(a.duration)} but should last "
                    f"{_duration_text(b.duration)}.")
        for f in fields:
            if f in ("pitch", "start", "duration"):
                continue
            if getattr(a, f) != getattr(b, f):
                return (f"the {note_name(a.pitch)} at {where} has {f}={getattr(a, f)!r} but should have "
                        f"{f}={getattr(b, f)!r}.")
    if len(mine) != len(theirs):
        return f"at {where} you have {len(mine)} notes but there should be {len(theirs)}."
    return None


def _explain_sequence_difference(notes, expected, fields, tol, what):
    for i, (a, b) in enumerate(zip(notes, expected)):
        for f in fields:
            if not _same(f, getattr(a, f), getattr(b, f), tol):
                if f == "pitch":
                    raise CheckFailed(f"note {i + 1} should be {note_name(b.pitch)} but is {note_name(a.pitch)} "
                                      f"({_semitone_shift(a.pitch - b.pitch)}).")
                if f == "duration":
                    raise CheckFailed(f"note {i + 1} ({note_name(a.pitch)}) lasts {_duration_text(a.duration)} "
                                      f"but should last {_duration_text(b.duration)}.")
                raise CheckFailed(f"note {i + 1} ({note_name(a.pitch)}) has {f}={getattr(a, f)!r} but should "
                                  f"have {f}={getattr(b, f)!r}.")
    if len(notes) != len(expected):
        raise CheckFailed(f"your {what} has {len(notes)} notes; it should have {len(expected)}.")


# ---------------------------------------------------------------------------------------
# check_array
# ---------------------------------------------------------------------------------------
def check_array(expected, tol: float = 1e-6, what: str = "array",
                axis_names: Sequence[str] | None = None) -> Callable:
    """A checker for a numpy array (a piano roll, probabilities, features).

    Reports the wrong shape ("(64, 128) — transposed? try .T"), the wrong kind of values
    (numbers where True/False are expected), NaNs, and the first differing index with both values.

    Args:
        expected: the right array.
        tol: allowed absolute difference for numbers.
        axis_names: names of the axes for messages, e.g. ``("pitch", "step")`` for a piano roll.

    Lesson: 01_representation
    """
    target = np.asarray(expected)
    names = tuple(axis_names) if axis_names else None

    def where(index) -> str:
        index = tuple(int(i) for i in index)
        if names and len(names) == len(index):
            return ", ".join(f"{n} {i}" for n, i in zip(names, index))
        return f"index {index if len(index) != 1 else index[0]}"

    def check(answer):
        if isinstance(answer, (str, bytes)) or answer is None or callable(answer):
            raise CheckFailed(f"expected a numpy array of shape {target.shape}, got {describe_answer(answer)}.",
                              wrong_type=True)
        try:
            arr = np.asarray(answer)
        except Exception:
            raise CheckFailed(f"your answer cannot be turned into an array (a ragged list?): rows of different "
                              f"lengths. Expected shape {target.shape}.", wrong_type=True) from None
        if arr.dtype == object or arr.dtype.kind in "USV":
            raise CheckFailed(f"your {what} holds {'text' if arr.dtype.kind in 'US' else 'mixed objects'}, "
                              f"not numbers; expected {target.dtype} values of shape {target.shape}.",
                              wrong_type=True)
        if arr.shape != target.shape:
            message = f"your {what} has shape {arr.shape}, expected {target.shape}"
            if names:
                message += f" ({' × '.join(names)})"
            if arr.ndim == 2 and arr.shape == target.shape[::-1]:
                message += " — the axes are swapped; try .T"
            elif arr.size == target.size:
                message += f" — the same number of values; reshape it to {target.shape}"
            elif arr.ndim != target.ndim:
                message += f" — {arr.ndim} axes instead of {target.ndim}"
            raise CheckFailed(message + ".", wrong_type=arr.ndim != target.ndim)
        if target.dtype == bool and arr.dtype != bool:
            if not np.isin(arr, (0, 1)).all():
                lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
                raise CheckFailed(f"expected True/False values (on/off) in your {what}, got numbers from "
                                  f"{lo:g} to {hi:g}; compare with a threshold, e.g. probabilities > 0.5.")
            arr = arr.astype(bool)
        if arr.dtype.kind in "fc" and np.isnan(arr).any() and not np.isnan(target).any():
            first = np.argwhere(np.isnan(arr))[0]
            raise CheckFailed(f"your {what} contains nan (not a number), first at {where(first)}: look for 0/0.")
        if target.dtype == bool or arr.dtype == bool:
            diff = arr.astype(bool) != target.astype(bool)
        else:
            diff = ~np.isclose(arr.astype(float), target.astype(float), atol=tol, rtol=0, equal_nan=True)
        if not diff.any():
            return
        bad = np.argwhere(diff)
        first = bad[0]
        mine, theirs = arr[tuple(first)], target[tuple(first)]
        message = (f"{len(bad)} of {diff.size} values differ; the first at {where(first)}: "
                   f"yours is {_fmt_value(mine)}, expected {_fmt_value(theirs)}.")
        if target.dtype != bool and np.allclose(arr, -target, atol=tol):
            message += " Every value has the wrong sign."
        raise CheckFailed(message)

    return with_expected(check, f"a numpy array of shape {target.shape}")


def _fmt_value(x) -> str:
    x = x.item() if isinstance(x, np.generic) else x
    return f"{x:g}" if isinstance(x, float) else repr(x)


# ---------------------------------------------------------------------------------------
# check_function
# ---------------------------------------------------------------------------------------
class Args:
    """Several arguments for one call in :func:`check_function`: ``Args(piece, 3, steps=4)``."""

    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs

    def __repr__(self):
        parts = [short_repr(a, 40) for a in self.args] + [f"{k}={short_repr(v, 40)}" for k, v in self.kwargs.items()]
        return ", ".join(parts)


def _call(fn, item):
    if isinstance(item, Args):
        return fn(*copy.deepcopy(item.args), **copy.deepcopy(item.kwargs))
    return fn(copy.deepcopy(item))


def _equal(a, b) -> bool:
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return np.array_equal(np.asarray(a), np.asarray(b))
        return bool(a == b)
    except Exception:
        return False


def _default_comparison(expected) -> Callable | None:
    """A checker that fits the reference's output, or None for plain equality."""
    if isinstance(expected, Piece):
        return check_piece(expected, what="result")
    if isinstance(expected, np.ndarray):
        return check_array(expected, what="result")
    if isinstance(expected, (float, np.floating)):
        target = float(expected)

        def close_enough(yours):
            if not _is_number(yours):
                raise CheckFailed(f"it returned {describe_answer(yours)}, but it should return a number, "
                                  f"{target:.6g}.")
            x = float(yours)
            if math.isclose(x, target, rel_tol=1e-6, abs_tol=1e-9):
                return
            why = "" if math.isnan(x) else " — " + _size_explanation(x, target)
            raise CheckFailed(f"it returned {x:.6g}, but it should return {target:.6g}{why}")

        return close_enough
    return None


def all_of(checkers: Iterable[Callable]) -> Callable:
    """One checker that runs ``checkers`` in order and reports the first failure.

    For an exercise checked on several hidden inputs that each need their own explanation
    (``all_of(check_function(ref, [item], compare=...) for item in inputs)``).

    Lesson: 00_welcome
    """
    checkers = list(checkers)
    if not checkers:
        raise ValueError("all_of needs at least one checker.")

    def check(answer):
        for checker in checkers:
            checker(answer)

    return with_expected(check, getattr(checkers[0], "expected", None))


def check_function(reference: Callable, inputs: Iterable, compare: Callable | None = None,
                   describe_input: Callable[[Any], str] | None = None, what: str = "function") -> Callable:
    """A checker that calls the learner's function on hidden inputs and compares with ``reference``.

    Args:
        reference: the right function.
        inputs: one argument per call, or :class:`Args` for several (``Args(piece, 3)``).
        compare: ``compare(yours, expected)`` -> bool, or a function that raises CheckFailed.
            Default: Pieces, arrays and floats get the matching ``check_*`` explanation, other
            values must be equal.
        describe_input: turns an input into words for messages ("the C major scale"); default repr.

    An exception inside the learner's function is reported by its type, message and line, not as a
    traceback; ``NotImplementedError`` (the unsolved stub) counts as "not attempted".

    Lesson: 01_representation
    """
    inputs = list(inputs)
    if not inputs:
        raise ValueError("check_function needs at least one input to call the function with.")
    describe = describe_input or (lambda item: repr(item) if isinstance(item, Args) else short_repr(item, 60))

    def check(answer):
        if not callable(answer):
            raise CheckFailed(f"expected a function (write `def name(...):` and pass its name without "
                              f"brackets), got {describe_answer(answer)}.", wrong_type=True)
        for item in inputs:
            expected = _call(reference, item)
            # copies, so a function that changes its input in place cannot spoil the next check
            if isinstance(item, Args):
                args, kwargs = copy.deepcopy(item.args), copy.deepcopy(item.kwargs)
            else:
                args, kwargs = (copy.deepcopy(item),), {}
            yours = call_learner(answer, args, kwargs, context=f"called with {describe(item)}, ", what=what,
                                 none_ok=expected is None)
            _compare(yours, expected, item, describe, what)

    def _compare(yours, expected, item, describe, what):
        prefix = f"called with {describe(item)}, "
        checker = compare or _default_comparison(expected)
        if checker is None:
            if not _equal(yours, expected):
                raise CheckFailed(f"{prefix}your {what} returned {short_repr(yours)}, but it should return "
                                  f"{short_repr(expected)}.")
            return
        try:
            outcome = checker(yours, expected) if compare is not None else checker(yours)
        except CheckFailed as failure:
            raise CheckFailed(prefix + failure.message, failure.details) from None
        except Exception:  # e.g. float() of a list: the answer is of a kind the comparison cannot read
            raise CheckFailed(f"{prefix}your {what} returned {describe_answer(yours)}, but it should return "
                              f"{describe_answer(expected)}.") from None
        if compare is not None and not outcome:
            raise CheckFailed(f"{prefix}your {what} returned {short_repr(yours)}, but it should return "
                              f"{short_repr(expected)}.")

    return with_expected(check, "a function")


# ---------------------------------------------------------------------------------------
# check_tokens
# ---------------------------------------------------------------------------------------
def check_tokens(expected, what: str = "tokens") -> Callable:
    """A checker for event tokens (see :mod:`musegen_helpers.representation`).

    Accepts an integer array or list, or token names as one string / list (``'C4 _ _ R _ E4'``).
    Shows where the tokens first differ, with both rows aligned and in readable names.

    Lesson: 01_representation
    """
    from .representation import END, HOLD, REST, VOCAB_SIZE, token_names, tokens_from_names

    meaning = {HOLD: "HOLD (_, keep going)", REST: "REST (R, silence starts)", END: "END (|, the tune is over)"}

    def as_tokens(value, whose) -> np.ndarray:
        if isinstance(value, str) or (isinstance(value, (list, tuple)) and value and
                                      all(isinstance(v, str) for v in value)):
            try:
                return tokens_from_names(value)
            except (ValueError, KeyError) as error:
                raise CheckFailed(f"{whose} contain a name I cannot read ({str(error).rstrip('.')}); use pitch names such as "
                                  "'C4', '_' for HOLD, 'R' for REST and '|' for END.", wrong_type=True) from None
        try:
            arr = np.asarray(value)
        except Exception:
            arr = np.asarray([], dtype=object)
        if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
            if arr.ndim == 1 and arr.size and np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
                return arr.astype(np.int64)
            raise CheckFailed(f"expected a 1-D sequence of whole-number tokens, got {describe_answer(value)}.",
                              wrong_type=True)
        return arr.astype(np.int64)

    target = as_tokens(expected, "the expected tokens")

    def _sounding_pitch(tokens, i):
        """The pitch still sounding just before step i (None after a REST or at the start)."""
        for token in tokens[:i][::-1]:
            if token != HOLD:
                return int(token) if token <= 127 else None
        return None

    def describe(token: int) -> str:
        return meaning.get(token, f"{note_name(token)} (a new note)" if 0 <= token <= 127 else str(token))

    def rows(mine: np.ndarray, start: int) -> str:
        lo, hi = max(0, start - 4), start + 8
        a = token_names(target[lo:hi])
        b = token_names(mine[lo:hi])
        width = max([len(x) for x in a + b] + [2])
        a += [""] * (len(b) - len(a))
        b += [""] * (len(a) - len(b))
        steps = "step:     " + " ".join(f"{i:<{width}}" for i in range(lo, lo + len(a)))
        exp = "expected: " + " ".join(f"{x:<{width}}" for x in a)
        yours = "yours:    " + " ".join(f"{x:<{width}}" for x in b)
        marker = "          " + " ".join(("^" if i == start else " ") * 1 + " " * (width - 1)
                                         for i in range(lo, lo + len(a)))
        return "\n".join(line.rstrip() for line in (steps, exp, yours, marker))

    def check(answer):
        mine = as_tokens(answer, "your tokens")
        bad = np.flatnonzero((mine < 0) | (mine >= VOCAB_SIZE))
        if bad.size:
            i = int(bad[0])
            raise CheckFailed(f"token {int(mine[i])} at step {i} is not in the vocabulary: 0–127 are pitches, "
                              f"{HOLD} = HOLD, {REST} = REST, {END} = END.")
        if mine.shape == target.shape and np.array_equal(mine, target):
            return
        n = min(len(mine), len(target))
        differ = np.flatnonzero(mine[:n] != target[:n])
        if len(mine) != len(target):
            if len(mine) == len(target) - 1 and target[-1] == END and np.array_equal(mine, target[:-1]):
                raise CheckFailed(f"your {what} lack the END token (|) at the end.")
            if len(mine) == len(target) + 1 and mine[-1] == END and np.array_equal(mine[:-1], target):
                raise CheckFailed(f"your {what} end with END (|), but this answer has no END token.")
            steps = len(mine) - len(target)
            message = (f"your {what} are {len(mine)} steps long; expected {len(target)} "
                       f"({abs(steps)} step{'s' if abs(steps) != 1 else ''} too {'many' if steps > 0 else 'few'}"
                       f"; with 4 steps per quarter note that is {abs(steps) / 4:g} quarter notes).")
            if differ.size:
                i = int(differ[0])
                message += f" They first differ at step {i}."
                raise CheckFailed(message, rows(mine, i))
            raise CheckFailed(message, rows(mine, n))
        pitched = (target <= 127)
        if np.array_equal(pitched, mine <= 127) and pitched.any() and np.array_equal(mine[~pitched], target[~pitched]):
            shifts = set((mine[pitched] - target[pitched]).tolist())
            if len(shifts) == 1:
                k = shifts.pop()
                raise CheckFailed(f"the rhythm is right, but every note is {_semitone_shift(k)} — "
                                  f"transpose by {-k:+d}.")
        i = int(differ[0])
        message = (f"step {i}: yours is {describe(int(mine[i]))}, expected {describe(int(target[i]))}. "
                   f"({len(differ)} of {len(target)} steps differ.)")
        if mine[i] == HOLD and target[i] <= 127 and _sounding_pitch(target, i) == target[i]:
            message += " A repeated note needs its pitch token again; HOLD would merge the two into one long note."
        elif mine[i] == HOLD and target[i] == REST:
            message += " A rest starts with REST; HOLD would keep the previous note sounding."
        raise CheckFailed(message, rows(mine, i))

    return with_expected(check, "event tokens (a list or array of ints, or names like 'C4 _ _ R')")
