"""Exercises of lesson 01 (representation): frequency, a major scale, tokens, transposition.

Lesson: 01_representation
"""

from ..checks import check_function, check_piece, check_pitches, check_tokens
from ..exercises import ____, Exercise
from ..music import melody, pitch_to_frequency

__all__ = ["____", "q1", "q2", "q3", "q4"]


def _close_in_hz(yours, expected):
    return abs(float(yours) - expected) <= 1e-6 * max(1.0, abs(expected))


q1 = Exercise(
    "frequency of a MIDI pitch",
    check=check_function(pitch_to_frequency, inputs=[69, 81, 57, 60, 70, 21, 108, 0],
                         compare=_close_in_hz,
                         describe_input=lambda p: f"pitch {p}", what="function"),
    hints=["Start at A4 = pitch 69 = 440 Hz. How many semitones is `pitch` above (or below) 69?",
           "Each semitone multiplies the frequency by 2 ** (1/12); n semitones multiply it by 2 ** (n/12).",
           "return 440 * 2 ** ((pitch - 69) / 12)"],
    solution="def frequency(pitch):\n    return 440.0 * 2 ** ((pitch - 69) / 12)",
    reference=pitch_to_frequency,
)

_c_major = [60, 62, 64, 65, 67, 69, 71, 72]

q2 = Exercise(
    "the C major scale",
    check=check_pitches(_c_major, ordered=True, what="scale", name="the C major scale from C4 to C5"),
    hints=["Start at 60 and add the steps W W H W W W H, where W = 2 semitones and H = 1.",
           "60, 62, 64, then a half step to 65 ..."],
    solution="c_major_scale = [60, 62, 64, 65, 67, 69, 71, 72]   # C D E F G A B C",
    reference=_c_major,
)

q3 = Exercise(
    "encode a bar as tokens",
    check=check_tokens("E4 _ _ _ D4 _ C4 _ R _ G4 _ _ _ _ _"),
    hints=["One token per 16th note: a quarter note is 4 steps (the pitch, then 3 HOLDs '_').",
           "An eighth note is 2 steps; the eighth rest is 'R _'; the dotted quarter is 6 steps.",
           "16 tokens in all (one 4/4 bar)."],
    solution='my_tokens = "E4 _ _ _ D4 _ C4 _ R _ G4 _ _ _ _ _"',
    reference="E4 _ _ _ D4 _ C4 _ R _ G4 _ _ _ _ _",
)

_e_minor = melody(["E4", "F#4", "G4", "B4", "A4", "G4", "F#4", "E4"],
                  durations=[1, 0.5, 0.5, 1, 0.5, 0.5, 1, 2], key="E minor")

q4 = Exercise(
    "transpose to A minor",
    check=check_piece(_e_minor.transpose(5), what="melody"),
    hints=["From E up to A is a perfect fourth: how many semitones? From E down to A is a perfect fifth.",
           "E→A up is 5 semitones, down is 7: the smaller move is up by 5.",
           "a_minor_tune = e_minor_tune.transpose(5)"],
    solution="a_minor_tune = e_minor_tune.transpose(5)   # E up a perfect fourth (5 semitones) to A",
    reference=_e_minor.transpose(5),
)
