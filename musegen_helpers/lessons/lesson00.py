"""Exercises of lesson 00 (welcome): a pitch number, a chord, a first tune.

Lesson: 00_welcome
"""

from ..checks import check_number, check_piece, check_pitches
from ..exercises import ____, Exercise
from ..music import melody

__all__ = ["____", "q1", "q2", "q3"]

q1 = Exercise(
    "the A above middle C",
    check=check_number(69, tol=0, unit="", what="a MIDI pitch",
                       mistakes={440: "440 is the A's frequency in Hz; the question asks for its MIDI pitch number",
                                 57: "57 is the A *below* middle C; count up from 60",
                                 68: "68 is G#4/Ab4, one key too low — count the black keys too",
                                 70: "70 is A#4/Bb4, one key too high"}),
    hints=["Count up from middle C (60), one number per key, black keys included: C#4 = 61, D4 = 62, ...",
           "A is 9 semitones above C."],
    solution="a_above_middle_c = 69   # 60 + 9 semitones (C C# D D# E F F# G G# A)",
    reference=69,
)

q2 = Exercise(
    "the C major triad",
    check=check_pitches([60, 64, 67], ordered=True, what="chord", name="the C major triad C4–E4–G4"),
    hints=["The root is middle C, 60. A major third is 4 semitones up.",
           "Root 60, then 60 + 4 = 64 (E4), then a minor third (3 semitones) higher."],
    solution="c_major_triad = [60, 64, 67]   # C4, E4 (+4), G4 (+3)",
    reference=[60, 64, 67],
)

_twinkle = melody(["C4", "C4", "G4", "G4", "A4", "A4", "G4"], durations=[1, 1, 1, 1, 1, 1, 2])

q3 = Exercise(
    "Twinkle, Twinkle",
    check=check_piece(_twinkle, what="tune"),
    hints=["melody() takes a list of note names and a list of durations in quarter notes, one per note.",
           'melody(["C4", "C4", "G4", ...], durations=[1, 1, 1, ...]) — the last note lasts 2.'],
    solution='twinkle = melody(["C4", "C4", "G4", "G4", "A4", "A4", "G4"], durations=[1, 1, 1, 1, 1, 1, 2])',
    reference=_twinkle,
)
