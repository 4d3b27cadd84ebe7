"""Exercises of lesson 00 (welcome): a pitch number, a chord, a first tune.

Lesson: 00_welcome
"""

import re

from ..checks import check_number, check_piece, check_pitches, interval_phrase
from ..exercises import ____, CheckFailed, Exercise, with_expected
from ..music import melody, note_name, pitch_from_name, pitch_to_frequency

__all__ = ["____", "q1", "q2", "q3"]

def _key_text(pitch: int) -> str:
    """'A4 (440.0 Hz)'; black keys with both spellings: 'A#4/Bb4 (466.2 Hz)'."""
    sharps = {1: "C#", 3: "D#", 6: "F#", 8: "G#", 10: "A#"}
    flats = {1: "Db", 3: "Eb", 6: "Gb", 8: "Ab", 10: "Bb"}
    pc, octave = pitch % 12, pitch // 12 - 1
    name = f"{sharps[pc]}{octave}/{flats[pc]}{octave}" if pc in sharps else note_name(pitch)
    return f"{name} ({pitch_to_frequency(pitch):.1f} Hz)"


#: What a wrong whole-number pitch most likely means, beyond naming it.
_A4_CAUSES = {
    65: "65 is what counting the white keys only gives (C D E F G A: 5 steps up from 60). MIDI numbers "
        "count every key, the black ones too.",
    57: "57 is the A *below* middle C; the question asks for the A above it.",
    45: "that is an A, but two octaves below the one asked for.",
    81: "81 is the A one octave too high, above the C after middle C.",
    68: "one key too low: count the black keys too, up to the A itself.",
    70: "one key too high: A#4 is the black key just after the A.",
    60: "60 is middle C itself; the A is further up.",
    9: "9 is how many semitones the A lies above C — add them to middle C's number.",
    21: "21 is the lowest A of a piano; the question asks for the A just above middle C.",
    72: "72 is the C an octave above middle C.",
}


def _check_a_above_middle_c(answer):
    """Checker of q1: names the note the learner's number is, and how far (and why) it is from A4."""
    if isinstance(answer, str):
        text = answer.strip()
        try:
            pitch = pitch_from_name(text)
        except ValueError:
            pitch = None
        if pitch == 69:
            raise CheckFailed(f"{text!r} is the right note! The question asks for its MIDI pitch *number* "
                              "(a whole number, no quotes): count up from middle C = 60, one per key.",
                              wrong_type=True)
        if pitch is not None:
            raise CheckFailed(f"{text!r} is a note name ({_key_text(pitch)}), and not the A asked for. Give the "
                              "A's MIDI pitch number, without quotes: count up from middle C = 60, one per key.",
                              wrong_type=True)
        number = re.sub(r"\s*hz\s*$", "", text, flags=re.IGNORECASE)
        try:
            float(number)
        except ValueError:
            raise CheckFailed(f"expected a MIDI pitch number such as 60 (middle C), got the text {text!r}. "
                              "Write the number without quotes.", wrong_type=True) from None
        if abs(float(number) - 440) < 1e-9:
            raise CheckFailed("440 Hz is the A's frequency; the question asks for its MIDI pitch number "
                              "(and without quotes).", wrong_type=True)
        raise CheckFailed(f"expected the MIDI pitch as a number, got the text {text!r}: remove the quotes.",
                          wrong_type=True)
    try:
        _as_number(answer)
    except CheckFailed as failure:
        if failure.wrong_type or "nan" in failure.message or "infinite" in failure.message:
            raise  # a list, None, nan...: the plain number checker words those
    x = float(answer.item() if hasattr(answer, "item") else answer)
    if x == 69:
        return
    if abs(x - 440) < 0.5:
        raise CheckFailed(f"you gave {x:g}: 440 Hz is the A's frequency (how many times a second it vibrates). "
                          "The question asks for its MIDI pitch number — the piano key, counted from middle "
                          "C = 60.")
    if not x.is_integer():
        raise CheckFailed(f"you gave {x:g}: MIDI pitches are whole numbers, one per piano key (60 = middle C, "
                          "61 = C#4, ...). Which whole number is the A?")
    p = int(x)
    if not 0 <= p <= 127:
        raise CheckFailed(f"you gave {p}: MIDI pitches go from 0 to 127 (60 is middle C). Count up from 60, "
                          "one number per key.")
    k = p - 69
    ratio = 2 ** (k / 12)
    how = (f"{abs(k)} semitone{'s' if abs(k) != 1 else ''} {'below' if k < 0 else 'above'} A4, the A at 440 Hz "
           f"({interval_phrase(k)})")
    message = f"you gave {p}: that is {_key_text(p)}, {how}."
    cause = _A4_CAUSES.get(p)
    if cause is None and k % 12 == 0:
        cause = f"that is an A, but {'one octave' if abs(k) == 12 else f'{abs(k) // 12} octaves'} " \
                f"{'too low' if k < 0 else 'too high'}."
    if cause:
        message += " " + cause[0].upper() + cause[1:]
    if k % 12 == 0:
        message += (f" Each octave (12 semitones) doubles the frequency: {_key_text(p).split(' (')[0]} vibrates at "
                    f"{pitch_to_frequency(p):.1f} Hz, not 440.")
    else:
        message += (f" Each semitone multiplies the frequency by 2**(1/12) ≈ 1.059 (12 semitones double it), so "
                    f"your note is {ratio:.3g} times 440 Hz.")
    raise CheckFailed(message)


_as_number = check_number(69, tol=0, unit="", what="a MIDI pitch")

q1 = Exercise(
    "the A above middle C",
    check=with_expected(_check_a_above_middle_c, "a MIDI pitch number (a whole number, 0–127)"),
    hints=["Count up from middle C (60), one number per key, black keys included: C#4 = 61, D4 = 62, ...",
           "A is 9 semitones above C."],
    solution="a_above_middle_c = 69   # 60 + 9 semitones (C C# D D# E F F# G G# A)",
    reference=69,
)

_TRIAD = [60, 64, 67]
_triad_pitches = check_pitches(_TRIAD, ordered=True, what="chord", name="the C major triad C4–E4–G4")
#: Other three-note chords on C a learner may write, and what they are.
_OTHER_TRIADS = {
    (60, 63, 67): "C4–Eb4–G4 is the C *minor* triad: a minor third (3 semitones) then a major third (4). "
                  "Major is the other way round: the major third (4) comes first, at the bottom.",
    (60, 64, 68): "C4–E4–G#4 is an augmented triad: two major thirds (4 + 4). The top third of a major triad "
                  "is a minor third (3 semitones).",
    (60, 63, 66): "C4–Eb4–Gb4 is a diminished triad: two minor thirds (3 + 3). A major triad stacks a major "
                  "third (4), then a minor third (3).",
    (60, 62, 64): "C4–D4–E4 are three neighbouring notes of the scale, not a triad: a triad skips every "
                  "other scale note (C, skip D, E, skip F, G).",
    (60, 65, 67): "C4–F4–G4 is a 'sus4' chord: the third (E4, 4 semitones up) is replaced by a fourth (F4, 5).",
    (64, 67, 72): "E4–G4–C5 are the notes of C major, but in *first inversion*: E at the bottom, C on top. The "
                  "question asks for middle C as the lowest note: C4, then a major third and a minor third up.",
    (55, 60, 64): "G3–C4–E4 are the notes of C major, but in *second inversion*: G at the bottom. The question "
                  "asks for middle C as the lowest note: C4, then a major third and a minor third up.",
    (67, 72, 76): "G4–C5–E5 are the notes of C major, but in *second inversion* (G at the bottom) and above "
                  "middle C. Start on middle C itself, C4 = 60, then a major third and a minor third up.",
}


def _check_c_major_triad(answer):
    """Checker of q2: names the chord the learner wrote, then the plain note-by-note comparison."""
    if isinstance(answer, (list, tuple)) and answer and all(isinstance(n, str) for n in answer) \
            and all(not any(ch.isdigit() for ch in n) for n in answer):
        raise CheckFailed(f"{', '.join(repr(n) for n in answer)}: note names need their octave number too — "
                          "middle C is 'C4' (or write MIDI numbers such as 60).", wrong_type=True)
    try:
        values = [int(v) for v in answer] if isinstance(answer, (list, tuple)) else None
    except (TypeError, ValueError):
        values = None
    if values == [0, 4, 7]:
        raise CheckFailed("0, 4, 7 are the chord's steps above its root (C = 0), not MIDI pitches: add them to "
                          "middle C's number, 60.")
    if values is not None and tuple(values) in _OTHER_TRIADS:
        raise CheckFailed(_OTHER_TRIADS[tuple(values)])
    _triad_pitches(answer)


q2 = Exercise(
    "the C major triad",
    check=with_expected(_check_c_major_triad, "a list of notes (MIDI numbers or names such as 'C4')"),
    hints=["The root is middle C, 60. A major third is 4 semitones up.",
           "Root 60, then 60 + 4 = 64 (E4), then a minor third (3 semitones) higher."],
    solution="c_major_triad = [60, 64, 67]   # C4, E4 (+4), G4 (+3)",
    reference=[60, 64, 67],
)

_twinkle = melody(["C4", "C4", "G4", "G4", "A4", "A4", "G4"], durations=[1, 1, 1, 1, 1, 1, 2])

_twinkle_notes = check_piece(_twinkle, what="tune")


def _check_twinkle(answer):
    """Checker of q3: a missing or merged repeated note is named as such, then note-by-note in time."""
    from ..music import Piece

    if isinstance(answer, Piece):
        mine = [n.pitch for n in answer.notes]
        target = [n.pitch for n in _twinkle.notes]
        names = " ".join(note_name(p) for p in target)
        merged = [p for i, p in enumerate(target) if i == 0 or target[i - 1] != p]
        if mine == merged:
            raise CheckFailed(f"your tune has {len(mine)} notes, {' '.join(note_name(p) for p in mine)}: each "
                              "repeated note was written once. Twinkle sings every note twice — C4, C4, G4, G4, "
                              f"... — and each needs its own entry in the list (7 notes: {names}).")
        if len(mine) != len(target):
            missing = [note_name(p) for p in target]
            raise CheckFailed(f"your tune has {len(mine)} note{'s' if len(mine) != 1 else ''} "
                              f"({' '.join(note_name(p) for p in mine) or 'none'}); the opening of Twinkle has "
                              f"{len(target)}: {' '.join(missing)} — one name and one duration per note.")
    _twinkle_notes(answer)


q3 = Exercise(
    "Twinkle, Twinkle",
    check=with_expected(_check_twinkle, "a Piece"),
    hints=["melody() takes a list of note names and a list of durations in quarter notes, one per note.",
           'melody(["C4", "C4", "G4", ...], durations=[1, 1, 1, ...]) — the last note lasts 2.'],
    solution='twinkle = melody(["C4", "C4", "G4", "G4", "A4", "A4", "G4"], durations=[1, 1, 1, 1, 1, 1, 2])',
    reference=_twinkle,
)
