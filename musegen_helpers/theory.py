"""Music theory as code: scales, chords, Roman numerals, cadences, intervals and voice leading.

Units, as everywhere in the package: pitch = MIDI note number (60 = C4), pitch class = 0–11
(0 = C), positions and durations in quarter notes.

* **scales** — :data:`SCALES` lists each scale as semitones above its tonic ('minor' is the
  natural minor; the table and the key grammar are music.py's, shared with ``Piece.key`` and
  :func:`musegen_helpers.sampling.key_mask`);
  :func:`scale_pitch_classes`, :func:`scale_pitches` (``scale_pitches('G major', 'G3', 'G4')``).
* **chords** — :func:`chord_pitches` builds triads and seventh chords from a root;
  :func:`roman_to_chord` reads Roman numerals in a key (``roman_to_chord('V7', 'G major')`` is
  D F# A C), :func:`progression` a whole list of them; :func:`name_chord` names a chord you give it.
* **cadences** — :func:`cadence_type` names the cadence closing a progression
  (authentic, plagal, half, deceptive).
* **intervals** — :func:`interval_name` (7 -> 'perfect fifth') and :func:`consonance` /
  :func:`is_consonant` (perfect, imperfect or dissonant, by common-practice rules).
* **voice leading** — :func:`check_voice_leading` and one function per rule
  (:func:`check_parallel_fifths`, :func:`check_parallel_octaves`, :func:`check_voice_crossing`,
  :func:`check_voice_range`, :func:`check_spacing`, :func:`check_leaps`, and the optional
  :func:`check_hidden_fifths_octaves`, :func:`check_voice_overlap`) look at a piece with several
  voices and return :class:`Violation` records that say where each problem is
  ("bar 3, beat 2: parallel fifths between S and B (C5→D5 over F3→G3)").

Roman numerals read the chord's quality from the numeral itself, as lead-sheet symbols do:
upper case = major, lower case = minor, ``°``/``o`` = diminished, ``ø`` = half-diminished,
``+`` = augmented; ``7`` on an upper-case numeral is a *dominant* seventh (``V7``, and ``I7``
as in the blues), ``maj7`` a major seventh (``Imaj7``), ``7`` on a lower-case numeral a minor
seventh (``ii7``). In a minor key the roots come from the natural minor scale, except that
``vii°``/``viiø7``/``vii°7`` sit on the raised leading tone (G# in A minor); ``V`` is major, so
it holds the raised leading tone too. Accidentals (``bVII``, ``bVI``) are measured from the
*major* scale on the tonic. Inversions use figured-bass figures (``6``, ``64``, ``65``,
``43``, ``42``); secondary chords use a slash (``V/V``, ``V7/ii``, ``vii°7/V``).

Lesson: 02_rule_based
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from .music import LETTER_PITCH_CLASS, PITCH_CLASS_NAMES, SCALES, Note, Piece, note_name, parse_key, pitch_from_name, split_key

__all__ = [
    # scales
    "SCALES", "parse_scale", "scale_pitch_classes", "scale_pitches", "scale_note_names", "in_scale",
    # chords and Roman numerals
    "CHORD_QUALITIES", "chord_pitch_classes", "chord_pitches", "name_chord",
    "Chord", "RomanNumeral", "parse_roman", "roman_to_chord", "progression", "split_progression",
    # cadences
    "CADENCES", "cadence_type", "cadence_numerals",
    # intervals
    "interval_name", "interval_short_name", "consonance", "is_consonant",
    # voice leading
    "VOICE_RANGES", "Violation", "VOICE_LEADING_CHECKS", "DEFAULT_CHECKS",
    "voices_of", "voices_to_piece", "vertical_slices", "describe_position",
    "check_voice_leading", "check_parallel_fifths", "check_parallel_octaves",
    "check_voice_crossing", "check_voice_range", "check_spacing", "check_leaps",
    "check_hidden_fifths_octaves", "check_voice_overlap", "parallel_motion_matrix",
]

# =====================================================================================
# Scales
# =====================================================================================

# The scales (:data:`SCALES`) and the key grammar live in music.py, so a Piece's key, these
# scales and sampling's key masks read one table. ``parse_scale`` is music's ``parse_key`` under
# theory's name: ``parse_scale('E harmonic minor') == (4, 'harmonic minor')``,
# ``parse_scale('Am') == (9, 'minor')`` (the natural minor).
parse_scale = parse_key

_LETTERS = "CDEFGAB"


def _parse_tonic(text: str) -> tuple[int, str, int]:
    """'F#' -> (pc 6, letter 'F', alteration +1); music21's 'B-' is B flat."""
    m = re.fullmatch(r"([A-Ga-g])([#b\-♯♭]{0,2})", text)
    if not m:
        raise ValueError(f"{text!r} is not a tonic: use a letter A–G with optional # or b, e.g. 'F#', 'Bb'.")
    letter = m.group(1).upper()
    alteration = sum(1 if s in "#♯" else -1 for s in m.group(2))
    return (LETTER_PITCH_CLASS[letter] + alteration) % 12, letter, alteration


def scale_pitch_classes(key: str) -> tuple[int, ...]:
    """Pitch classes (0–11) of a scale, starting from its tonic.

    ``scale_pitch_classes('G major') == (7, 9, 11, 0, 2, 4, 6)``.
    """
    tonic, scale = parse_scale(key)
    return tuple((tonic + step) % 12 for step in SCALES[scale])


def _as_pitch(value, what: str) -> int:
    if isinstance(value, str):
        return pitch_from_name(value)
    if isinstance(value, (bool, np.bool_)) or int(value) != value:
        raise ValueError(f"{what} must be a MIDI pitch (e.g. 60) or a note name (e.g. 'C4'), got {value!r}.")
    pitch = int(value)
    if not 0 <= pitch <= 127:
        raise ValueError(f"{what} {pitch} is outside the MIDI range 0–127.")
    return pitch


def scale_pitches(key: str, low: int | str = 60, high: int | str = 72) -> list[int]:
    """MIDI pitches of a scale between ``low`` and ``high`` (both included, MIDI numbers or names).

    ``scale_pitches('C major', 'C4', 'C5') == [60, 62, 64, 65, 67, 69, 71, 72]``.
    """
    low, high = _as_pitch(low, "low"), _as_pitch(high, "high")
    if high < low:
        raise ValueError(f"high ({note_name(high)}) is below low ({note_name(low)}); swap them.")
    pcs = set(scale_pitch_classes(key))
    return [p for p in range(low, high + 1) if p % 12 in pcs]


def in_scale(pitch: int, key: str) -> bool:
    """True when a MIDI pitch's pitch class belongs to the scale."""
    return int(pitch) % 12 in scale_pitch_classes(key)


def _spell(pc: int, letter: str) -> str:
    """Name pitch class ``pc`` with the given letter: (6, 'F') -> 'F#', (6, 'G') -> 'Gb'."""
    alteration = (pc - LETTER_PITCH_CLASS[letter] + 6) % 12 - 6
    if abs(alteration) > 2:  # no sensible spelling with this letter
        return PITCH_CLASS_NAMES[pc % 12]
    return letter + ("#" * alteration if alteration > 0 else "b" * -alteration)


def scale_note_names(key: str) -> list[str]:
    """Spelled note names of a scale: ``scale_note_names('F major') == ['F','G','A','Bb','C','D','E']``.

    Seven-note scales get one letter per degree; other scales use sharps for C#, F# and flats
    for the other black keys.
    """
    tonic_text, scale = split_key(key)
    tonic, letter, _ = _parse_tonic(tonic_text)
    steps = SCALES[scale]
    if len(steps) != 7:
        return [PITCH_CLASS_NAMES[(tonic + s) % 12] for s in steps]
    start = _LETTERS.index(letter)
    return [_spell((tonic + s) % 12, _LETTERS[(start + i) % 7]) for i, s in enumerate(steps)]


# =====================================================================================
# Chords
# =====================================================================================

#: Chord qualities as semitones above the root, in stacked-thirds order.
CHORD_QUALITIES: dict[str, tuple[int, ...]] = {
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "diminished": (0, 3, 6),
    "augmented": (0, 4, 8),
    "dominant seventh": (0, 4, 7, 10),
    "major seventh": (0, 4, 7, 11),
    "minor seventh": (0, 3, 7, 10),
    "minor-major seventh": (0, 3, 7, 11),
    "half-diminished seventh": (0, 3, 6, 10),
    "diminished seventh": (0, 3, 6, 9),
    "suspended fourth": (0, 5, 7),
    "suspended second": (0, 2, 7),
}

_QUALITY_ALIASES = {
    "maj": "major", "M": "major", "": "major", "min": "minor", "m": "minor",
    "dim": "diminished", "°": "diminished", "o": "diminished", "aug": "augmented", "+": "augmented",
    "7": "dominant seventh", "dom7": "dominant seventh", "dominant7": "dominant seventh",
    "maj7": "major seventh", "M7": "major seventh", "major7": "major seventh",
    "m7": "minor seventh", "min7": "minor seventh", "minor7": "minor seventh",
    "mM7": "minor-major seventh", "ø7": "half-diminished seventh", "m7b5": "half-diminished seventh",
    "half-diminished7": "half-diminished seventh", "ø": "half-diminished seventh",
    "°7": "diminished seventh", "o7": "diminished seventh", "dim7": "diminished seventh",
    "diminished7": "diminished seventh", "sus4": "suspended fourth", "sus2": "suspended second",
}

_QUALITY_SYMBOL = {
    "major": "", "minor": "m", "diminished": "dim", "augmented": "aug", "dominant seventh": "7",
    "major seventh": "maj7", "minor seventh": "m7", "minor-major seventh": "mMaj7",
    "half-diminished seventh": "ø7", "diminished seventh": "°7", "suspended fourth": "sus4",
    "suspended second": "sus2",
}


def _quality(quality: str) -> str:
    if quality in CHORD_QUALITIES:
        return quality
    q = _QUALITY_ALIASES.get(quality, _QUALITY_ALIASES.get(str(quality).strip().lower()))
    if q is None:
        raise ValueError(f"unknown chord quality {quality!r}: use one of {', '.join(CHORD_QUALITIES)} "
                         "(or a symbol such as 'm', 'dim', '7', 'maj7', 'm7', 'ø7', '°7').")
    return q


def _root_pc(root) -> int:
    if isinstance(root, str):
        return _parse_tonic(root.strip())[0]
    if isinstance(root, (bool, np.bool_)) or int(root) != root or not 0 <= int(root) <= 11:
        raise ValueError(f"a chord root must be a pitch class 0–11 (0 = C) or a name like 'F#', got {root!r}.")
    return int(root)


def chord_pitch_classes(root_pc: int | str, quality: str = "major") -> tuple[int, ...]:
    """Pitch classes of a chord, root first: ``chord_pitch_classes(2, 'dominant seventh') == (2, 6, 9, 0)``."""
    root = _root_pc(root_pc)
    return tuple((root + step) % 12 for step in CHORD_QUALITIES[_quality(quality)])


def chord_pitches(root_pc: int | str, quality: str = "major", octave: int = 4, inversion: int = 0) -> list[int]:
    """MIDI pitches of a chord in close position, lowest note in ``octave`` (4 = the middle-C octave).

    ``chord_pitches(0, 'major') == [60, 64, 67]`` (C4 E4 G4);
    ``chord_pitches('G', '7') == [67, 71, 74, 77]``; ``inversion=1`` puts the third in the bass.
    """
    steps = CHORD_QUALITIES[_quality(quality)]
    if not 0 <= int(inversion) < len(steps):
        raise ValueError(f"inversion must be 0 (root position) to {len(steps) - 1} for a "
                         f"{len(steps)}-note chord, got {inversion!r}.")
    root = _root_pc(root_pc)
    return _close_position([(root + s) % 12 for s in steps], int(inversion), int(octave))


def _close_position(pcs: Sequence[int], inversion: int, octave: int) -> list[int]:
    order = list(pcs[inversion:]) + list(pcs[:inversion])
    out = [12 * (octave + 1) + order[0]]
    for pc in order[1:]:
        p = out[-1] + (pc - out[-1]) % 12
        out.append(p if p > out[-1] else p + 12)
    if out[0] < 0 or out[-1] > 127:
        raise ValueError(f"octave {octave} puts this chord outside the MIDI range 0–127.")
    return out


def name_chord(pitches: Iterable[int]) -> str | None:
    """Name the chord made by some MIDI pitches (or pitch classes), e.g. ``[62, 66, 69, 72] -> 'D7'``.

    Returns a lead-sheet symbol with the bass after a slash when it is not the root
    (``[64, 67, 72] -> 'C/E'``), or None when the pitch classes are no triad or seventh chord.
    """
    pitches = [int(p) for p in pitches]
    if not pitches:
        return None
    pcs = {p % 12 for p in pitches}
    bass = min(pitches) % 12
    for quality, steps in CHORD_QUALITIES.items():
        if quality.startswith("suspended"):
            continue
        for root in range(12):
            if {(root + s) % 12 for s in steps} == pcs:
                name = PITCH_CLASS_NAMES[root] + _QUALITY_SYMBOL[quality]
                return name if bass == root else f"{name}/{PITCH_CLASS_NAMES[bass]}"
    return None


class RomanNumeral(NamedTuple):
    """A parsed Roman numeral such as ``'V65/V'`` (no key needed yet).

    ``degree`` 1–7; ``alteration`` -1/0/+1 from a leading b/#; ``quality`` a CHORD_QUALITIES name;
    ``inversion`` 0 (root in the bass) to 3; ``secondary`` the numeral after the slash, or None.
    """

    text: str
    degree: int
    alteration: int
    quality: str
    inversion: int
    secondary: "RomanNumeral | None"

    @property
    def is_seventh(self) -> bool:
        return len(CHORD_QUALITIES[self.quality]) == 4


_NUMERALS = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7}
_ROMAN_RE = re.compile(
    r"(?P<acc>[b#♭♯]?)(?P<num>VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)"
    r"(?P<mark>°|o|ø|\+|dim|aug)?(?P<maj>maj|M)?(?P<fig>7|6/5|65|4/3|43|4/2|42|2|6/4|64|6)?"
)
_FIGURE_INVERSION = {"": 0, "6": 1, "64": 2, "6/4": 2, "7": 0, "65": 1, "6/5": 1,
                     "43": 2, "4/3": 2, "42": 3, "4/2": 3, "2": 3}


def parse_roman(numeral: str) -> RomanNumeral:
    """Read a Roman numeral's degree, quality, inversion and secondary target (no key needed).

    ``parse_roman('V7').quality == 'dominant seventh'``; ``parse_roman('ii6').inversion == 1``.
    """
    if not isinstance(numeral, str) or not numeral.strip():
        raise ValueError(f"a Roman numeral must be text such as 'V7' or 'ii6', got {numeral!r}.")
    text = numeral.strip()
    main, _, target = text.partition("/")
    m = _ROMAN_RE.fullmatch(main)
    if not m:
        raise ValueError(
            f"{numeral!r} is not a Roman numeral: write e.g. 'I', 'ii', 'V7', 'vii°', 'viiø7', "
            "'IV6', 'bVII', 'V/V' (upper case = major, lower case = minor, ° diminished).")
    num, mark, fig = m.group("num"), m.group("mark") or "", m.group("fig") or ""
    upper = num.isupper()
    seventh = fig in ("7", "65", "6/5", "43", "4/3", "42", "4/2", "2")
    if m.group("maj") and not seventh:
        raise ValueError(f"{numeral!r}: 'maj' needs a seventh figure, e.g. 'Imaj7'.")
    if mark == "ø" and not seventh:
        raise ValueError(f"{numeral!r}: ø (half-diminished) is a seventh chord; write e.g. 'viiø7'.")
    if not seventh:
        quality = {"°": "diminished", "o": "diminished", "dim": "diminished",
                   "+": "augmented", "aug": "augmented"}.get(mark, "major" if upper else "minor")
    elif mark in ("°", "o", "dim"):
        quality = "diminished seventh"
    elif mark == "ø":
        quality = "half-diminished seventh"
    elif mark in ("+", "aug"):
        raise ValueError(f"{numeral!r}: augmented seventh chords are not supported; use 'V+' or 'V7'.")
    elif m.group("maj"):
        quality = "major seventh" if upper else "minor-major seventh"
    else:
        quality = "dominant seventh" if upper else "minor seventh"
    secondary = parse_roman(target) if target else None
    if secondary is not None and secondary.quality in ("diminished", "augmented", "diminished seventh",
                                                       "half-diminished seventh"):
        raise ValueError(f"{numeral!r}: a chord can only be tonicised when it is major or minor "
                         f"({target!r} is {secondary.quality}).")
    acc = {"b": -1, "♭": -1, "#": 1, "♯": 1}.get(m.group("acc"), 0)
    return RomanNumeral(text, _NUMERALS[num.upper()], acc, quality, _FIGURE_INVERSION[fig], secondary)


@dataclass(frozen=True)
class Chord:
    """A chord read from a Roman numeral in a key.

    Attributes:
        numeral: the Roman numeral as written ('V7').
        key: the key it was read in ('G major').
        root: root pitch class 0–11.
        quality: a name from CHORD_QUALITIES ('dominant seventh').
        pitch_classes: chord tones, root first, in stacked-thirds order (root, 3rd, 5th, 7th).
        note_names: their spelled names in the same order (('D', 'F#', 'A', 'C')).
        inversion: 0 = root in the bass, 1 = third, 2 = fifth, 3 = seventh.
    """

    numeral: str
    key: str
    root: int
    quality: str
    pitch_classes: tuple[int, ...]
    note_names: tuple[str, ...]
    inversion: int = 0

    @property
    def bass(self) -> int:
        """Pitch class in the bass (depends on the inversion)."""
        return self.pitch_classes[self.inversion]

    @property
    def symbol(self) -> str:
        """Lead-sheet symbol, e.g. 'D7', 'Bdim', 'F#m', 'C/E'."""
        name = self.note_names[0] + _QUALITY_SYMBOL[self.quality]
        return name if self.inversion == 0 else f"{name}/{self.note_names[self.inversion]}"

    def pitches(self, octave: int = 4) -> list[int]:
        """MIDI pitches in close position above the bass note, which sits in ``octave``."""
        return _close_position(self.pitch_classes, self.inversion, octave)

    def __str__(self) -> str:
        return f"{self.numeral} in {self.key}: {self.symbol} ({' '.join(self.note_names)})"


def _key_frame(key: str) -> tuple[int, str, str, tuple[int, ...], str]:
    """(tonic pc, tonic letter, scale name, scale steps, mode 'major'/'minor'/other) of a key."""
    tonic_text, scale = split_key(key)
    if len(SCALES[scale]) != 7:
        raise ValueError(f"Roman numerals need a seven-note key; {key!r} uses the {scale} scale.")
    tonic, letter, _ = _parse_tonic(tonic_text)
    return tonic, letter, scale, SCALES[scale], scale


def _chord_in_frame(rn: RomanNumeral, tonic: int, letter: str, steps: tuple[int, ...], scale: str):
    """Root pc and root letter of a (non-secondary) numeral in a key frame."""
    d = rn.degree - 1
    if rn.alteration:
        root = (tonic + SCALES["major"][d] + rn.alteration) % 12
    else:
        root = (tonic + steps[d]) % 12
        minorish = scale in ("minor", "dorian", "phrygian")
        if minorish and rn.degree == 7 and rn.quality in ("diminished", "diminished seventh",
                                                          "half-diminished seventh"):
            root = (tonic + 11) % 12  # vii° sits on the raised leading tone (G# in A minor)
    root_letter = _LETTERS[(_LETTERS.index(letter) + d) % 7]
    return root, root_letter


def roman_to_chord(numeral: str, key: str = "C major") -> Chord:
    """The chord a Roman numeral stands for in a key.

    ``roman_to_chord('V7', 'G major').note_names == ('D', 'F#', 'A', 'C')``;
    ``roman_to_chord('V', 'A minor').note_names == ('E', 'G#', 'B')``;
    ``roman_to_chord('V/V', 'C major').symbol == 'D'``. See the module docstring for the rules.
    """
    rn = parse_roman(numeral)
    tonic, letter, scale, steps, _ = _key_frame(key)
    if rn.secondary is not None:
        # Tonicise: the target chord's root becomes a temporary tonic (major if the target is).
        target_root, target_letter = _chord_in_frame(rn.secondary, tonic, letter, steps, scale)
        scale = "major" if rn.secondary.quality == "major" else "minor"
        tonic, letter, steps = target_root, target_letter, SCALES[scale]
    root, root_letter = _chord_in_frame(rn, tonic, letter, steps, scale)
    intervals = CHORD_QUALITIES[rn.quality]
    pcs = tuple((root + s) % 12 for s in intervals)
    start = _LETTERS.index(root_letter)
    names = tuple(_spell(pc, _LETTERS[(start + 2 * i) % 7]) for i, pc in enumerate(pcs))
    if rn.inversion >= len(pcs):
        raise ValueError(f"{numeral!r}: a triad has no third inversion; use 6 or 64 (or add a seventh).")
    return Chord(rn.text, key, root, rn.quality, pcs, names, rn.inversion)


def split_progression(numerals: Sequence[str] | str) -> list[str]:
    """The Roman numerals of a progression as a list: ``'I vi IV V'``, ``'I, IV, V7, I'``,
    ``'ii7-V7-I'`` and ``['I', 'V']`` all work (spaces, commas, bars or dashes between; the
    dash inside ``V/V`` or ``bVII`` is kept). Raises ValueError for an empty progression.

    Lesson: 02_rule_based
    """
    if isinstance(numerals, str):
        parts = [p for p in re.split(r"[\s,–—|]+|(?<=[^/\s])-(?=[^\s])", numerals) if p and p != "-"]
    else:
        parts = list(numerals)
    if not parts:
        raise ValueError("a progression needs at least one Roman numeral, e.g. ['I', 'IV', 'V', 'I'].")
    return parts


def progression(numerals: Sequence[str] | str, key: str = "C major") -> list[Chord]:
    """Chords of a list of Roman numerals in a key: ``progression(['I','IV','V','I'], 'D major')``.

    A string also works: ``progression('I vi IV V', 'G major')`` (spaces, commas or dashes between).
    """
    return [roman_to_chord(n, key) for n in split_progression(numerals)]


# =====================================================================================
# Cadences
# =====================================================================================

#: The four cadences, as (second-to-last, last) numerals in a major key, and what they sound like.
CADENCES: dict[str, tuple[tuple[str, str], str]] = {
    "authentic": (("V", "I"), "dominant to tonic — the strongest close, 'full stop'"),
    "plagal": (("IV", "I"), "subdominant to tonic — the 'Amen' cadence"),
    "half": (("I", "V"), "ends on the dominant — a 'comma', the music must go on"),
    "deceptive": (("V", "vi"), "dominant to vi instead of I — the expected close is dodged"),
}


def cadence_numerals(name: str, key: str = "C major") -> tuple[str, str]:
    """The two numerals of a cadence in a key: ``cadence_numerals('plagal', 'A minor') == ('iv', 'i')``."""
    if name not in CADENCES:
        raise ValueError(f"unknown cadence {name!r}: use one of {', '.join(CADENCES)}.")
    a, b = CADENCES[name][0]
    if split_key(key)[1] in ("minor", "harmonic minor", "melodic minor"):
        a, b = ({"I": "i", "IV": "iv", "vi": "VI"}.get(x, x) for x in (a, b))
    return a, b


def _is_plain(rn: RomanNumeral, degree: int) -> bool:
    return rn.secondary is None and rn.alteration == 0 and rn.degree == degree


def cadence_type(numerals: Sequence[str] | str) -> str | None:
    """Name the cadence made by the last two numerals, or None if they make none.

    * 'authentic' — V (or V7, or vii°) to I/i
    * 'plagal' — IV/iv to I/i
    * 'deceptive' — V(7) to vi/VI (or bVI)
    * 'half' — any chord to V (the music stops on the dominant)

    ``cadence_type(['I', 'IV', 'V7', 'I']) == 'authentic'``. Works in any key, since only
    scale degrees matter.
    """
    parts = split_progression(numerals)
    if len(parts) < 2:
        raise ValueError("a cadence needs at least two chords (the last two numerals are read).")
    a, b = parse_roman(parts[-2]), parse_roman(parts[-1])
    dominant = _is_plain(a, 5) and a.quality in ("major", "dominant seventh")
    leading = _is_plain(a, 7) and a.quality in ("diminished", "diminished seventh", "half-diminished seventh")
    if _is_plain(b, 1) and (dominant or leading):
        return "authentic"
    if _is_plain(b, 1) and _is_plain(a, 4):
        return "plagal"
    if dominant and b.secondary is None and b.degree == 6 and b.alteration in (0, -1):
        return "deceptive"
    if _is_plain(b, 5) and b.quality in ("major", "dominant seventh"):
        return "half"
    return None


# =====================================================================================
# Intervals
# =====================================================================================

_SIMPLE_INTERVALS = (
    "perfect unison", "minor second", "major second", "minor third", "major third", "perfect fourth",
    "tritone", "perfect fifth", "minor sixth", "major sixth", "minor seventh", "major seventh",
    "perfect octave",
)
_COMPOUND_INTERVALS = (
    "minor ninth", "major ninth", "minor tenth", "major tenth", "perfect eleventh",
    "augmented eleventh", "perfect twelfth", "minor thirteenth", "major thirteenth",
    "minor fourteenth", "major fourteenth", "double octave",
)
_SHORT = ("P1", "m2", "M2", "m3", "M3", "P4", "TT", "P5", "m6", "M6", "m7", "M7", "P8")


def _semitones(semitones) -> int:
    if isinstance(semitones, (bool, np.bool_)) or int(semitones) != semitones:
        raise ValueError(f"an interval is a whole number of semitones, got {semitones!r}.")
    return abs(int(semitones))


def interval_name(semitones: int, simple: bool = False) -> str:
    """Name of an interval given in semitones (direction ignored).

    ``7 -> 'perfect fifth'``, ``8 -> 'minor sixth'``, ``6 -> 'tritone'``, ``12 -> 'perfect octave'``,
    ``16 -> 'major tenth'``, ``31 -> 'perfect fifth plus 2 octaves'``. With ``simple=True``
    compound intervals are reduced to within an octave (``16 -> 'major third'``).
    Semitones cannot tell enharmonic intervals apart (an augmented fourth and a diminished
    fifth are both 6), so 6 is called a tritone and the others get their usual names.
    """
    s = _semitones(semitones)
    if simple and s > 12:
        s = s % 12 or 12
    if s <= 12:
        return _SIMPLE_INTERVALS[s]
    if s <= 24:
        return _COMPOUND_INTERVALS[s - 13]
    octaves, rest = divmod(s, 12)
    if rest == 0:
        return f"{octaves} octaves"
    return f"{_SIMPLE_INTERVALS[rest]} plus {octaves} octaves"


def interval_short_name(semitones: int) -> str:
    """Short name of the simple interval: ``7 -> 'P5'``, ``8 -> 'm6'``, ``6 -> 'TT'``, ``19 -> 'P5'``."""
    s = _semitones(semitones)
    return _SHORT[s if s <= 12 else (s % 12 or 12)]


def consonance(semitones: int, against_bass: bool = True) -> str:
    """Classify an interval by common-practice rules: 'perfect', 'imperfect' or 'dissonant'.

    * perfect consonances: unison, fifth, octave (and their compounds);
    * imperfect consonances: minor/major thirds and sixths;
    * dissonances: seconds, sevenths and the tritone.

    The perfect fourth depends on context. Measured above the bass — always the case in
    two-voice counterpoint, where one voice *is* the bass — it is a dissonance (it wants to
    resolve, as in the cadential 6/4), so ``against_bass=True`` (the default) calls it
    'dissonant'. Between two upper voices it is consonant, and ``against_bass=False`` calls it
    'perfect'.
    """
    s = _semitones(semitones) % 12
    if s in (0, 7):
        return "perfect"
    if s in (3, 4, 8, 9):
        return "imperfect"
    if s == 5:
        return "dissonant" if against_bass else "perfect"
    return "dissonant"


def is_consonant(semitones: int, against_bass: bool = True) -> bool:
    """True for perfect and imperfect consonances; see :func:`consonance` for the fourth."""
    return consonance(semitones, against_bass) != "dissonant"


# =====================================================================================
# Voice leading
# =====================================================================================

#: Standard SATB ranges (lowest, highest) as MIDI pitches: S C4–G5, A G3–D5, T C3–G4, B E2–C4.
VOICE_RANGES: dict[str, tuple[int, int]] = {
    "S": (60, 79), "A": (55, 74), "T": (48, 67), "B": (40, 60),
}
_VOICE_ALIASES = {"s": "S", "soprano": "S", "a": "A", "alto": "A", "t": "T", "tenor": "T",
                  "b": "B", "bass": "B"}
_SATB_ORDER = {"S": 0, "A": 1, "T": 2, "B": 3}
_EPS = 1e-9


@dataclass(frozen=True)
class Violation:
    """One broken voice-leading (or melody) rule, and where it happens.

    Attributes:
        rule: the rule's name, e.g. 'parallel_fifths' (see VOICE_LEADING_CHECKS).
        position: where, in quarter notes from the start of the piece.
        bar: bar number, counting from 1 (a pickup bar is bar 0), as :meth:`Piece.bar_and_beat` counts.
        voices: the labels of the voices involved, upper voice first.
        description: a sentence saying where and what, e.g.
            'bar 3, beat 2: parallel fifths between S and B (C5→D5 over F3→G3)'.
        beat: beat within the bar, counting from 1, in the meter's felt beat
            (:func:`~musegen_helpers.music.beat_length`: quarters in 4/4, dotted quarters in 6/8).
    """

    rule: str
    position: float
    bar: int
    voices: tuple[str, ...]
    description: str
    beat: float = 1.0

    def __str__(self) -> str:
        return self.description


def describe_position(piece: Piece, position: float) -> str:
    """Where a position (quarter notes) lies, as a musician says it: ``'bar 3, beat 2'``.

    Bar and beat are :meth:`Piece.bar_and_beat`'s (bar 0 is a pickup; beats count from 1 in the
    meter's felt beat, :func:`~musegen_helpers.music.beat_length`: dotted quarters in 6/8), so the
    text follows the piece's pickup and meter changes. A beat between beats is written with up to
    three decimals (``'beat 2.5'``, ``'beat 1.333'`` for the second eighth of a 6/8 bar).

    Lesson: 02_rule_based
    """
    bar, beat = piece.bar_and_beat(position)
    return f"bar {bar}, beat {round(beat, 3):g}"


def _canonical_label(label) -> str:
    return _VOICE_ALIASES.get(str(label).strip().lower(), str(label))


def voices_to_piece(voices, labels: Sequence[str] | None = None, duration: float = 1.0,
                    time_signature: tuple[int, int] = (4, 4)) -> Piece:
    """Build a several-voice Piece from voices given as lists, top voice first.

    ``voices`` is a list (or a dict label -> voice) whose items are Pieces, lists of Notes, or
    lists of MIDI pitches / note names (``None`` = rest), each pitch lasting ``duration``
    quarter notes. Four voices are labelled S, A, T, B; others 'voice 1', 'voice 2', ...

    ``voices_to_piece([['C5', 'D5'], ['F3', 'G3']], labels=['S', 'B'])``.
    """
    if isinstance(voices, Mapping):
        labels = list(voices) if labels is None else labels
        voices = list(voices.values())
    voices = list(voices)
    if labels is None:
        labels = ["S", "A", "T", "B"] if len(voices) == 4 else [f"voice {i + 1}" for i in range(len(voices))]
    if len(labels) != len(voices):
        raise ValueError(f"got {len(voices)} voices but {len(labels)} labels; give one label per voice.")
    notes = []
    for label, voice in zip(labels, voices):
        if isinstance(voice, Piece):
            voice = voice.notes
        t = 0.0
        for item in voice:
            if isinstance(item, Note):
                notes.append(Note(item.pitch, item.start, item.duration, item.velocity, label))
                continue
            if item is not None:
                notes.append(Note(_as_pitch(item, "a voice's pitch"), t, duration, part=label))
            t += duration
    return Piece(notes, time_signature=time_signature)


def voices_of(music, labels: Sequence[str] | None = None) -> list[tuple[str, list[Note]]]:
    """The voices of a piece as ``(label, notes)`` pairs, highest voice first.

    Parts labelled S/A/T/B (or soprano/alto/tenor/bass) keep that order; other parts are
    ordered by average pitch. Drum notes are left out. ``music`` may also be anything
    :func:`voices_to_piece` accepts. Raises ValueError when a voice plays two notes at once.
    """
    piece = music if isinstance(music, Piece) else voices_to_piece(music, labels)
    groups: dict[str, list[Note]] = {}
    for n in piece.notes:
        if not n.is_drum:
            groups.setdefault(_canonical_label(n.part) if n.part is not None else "voice", []).append(n)

    def rank(label):
        if label in _SATB_ORDER:
            return (0, _SATB_ORDER[label], 0.0)
        mean = sum(n.pitch for n in groups[label]) / len(groups[label])
        return (1, 0, -mean)

    out = []
    for label in sorted(groups, key=rank):
        notes = sorted(groups[label], key=lambda n: n.start)
        for a, b in zip(notes, notes[1:]):
            if abs(a.start - b.start) < _EPS:
                where = describe_position(piece, a.start)
                raise ValueError(
                    f"voice {label!r} plays two notes at once at {where} ({a.name} and {b.name}); "
                    "voice-leading checks need one note at a time per voice — give each voice its own "
                    "part label (e.g. 'S', 'A', 'T', 'B').")
        out.append((label, notes))
    return out


def vertical_slices(music) -> list[tuple[float, tuple[Note | None, ...]]]:
    """The music cut at every onset where any voice moves: ``[(position, notes), ...]``.

    ``notes`` holds, for each voice of :func:`voices_of` (highest first), the note sounding
    at that position, or None for a rest. A note held over several slices appears in each.
    """
    voices = voices_of(music)
    onsets = sorted({round(n.start, 9) for _, notes in voices for n in notes})
    slices = []
    idx = [0] * len(voices)
    for t in onsets:
        row = []
        for v, (_, notes) in enumerate(voices):
            # advance to the latest note that started at or before t (legato overlaps allowed)
            while idx[v] + 1 < len(notes) and notes[idx[v] + 1].start <= t + _EPS:
                idx[v] += 1
            n = notes[idx[v]] if notes else None
            row.append(n if n is not None and n.start <= t + _EPS < n.end else None)
        slices.append((t, tuple(row)))
    return slices


class _Context:
    """Shared view of a piece for the checks: voices and slices; bars and beats are the Piece's."""

    def __init__(self, music):
        piece = music if isinstance(music, Piece) else voices_to_piece(music)
        self.piece = piece
        self.voices = voices_of(piece)
        self.labels = [label for label, _ in self.voices]
        self.slices = vertical_slices(piece)

    def violation(self, rule, position, voices, text) -> Violation:
        bar, beat = self.piece.bar_and_beat(position)
        where = describe_position(self.piece, position)
        return Violation(rule, float(position), bar, tuple(voices), f"{where}: {text}", round(beat, 6))


def _motion(a_prev: Note, a_cur: Note, b_prev: Note, b_cur: Note):
    return a_prev.pitch != a_cur.pitch and b_prev.pitch != b_cur.pitch


def _consecutive_perfect(ctx: _Context, interval_class: int, rule: str, name: str) -> list[Violation]:
    out = []
    n_voices = len(ctx.voices)
    for (_, prev), (t, cur) in zip(ctx.slices, ctx.slices[1:]):
        for i in range(n_voices):
            for j in range(i + 1, n_voices):
                up0, up1, lo0, lo1 = prev[i], cur[i], prev[j], cur[j]
                if None in (up0, up1, lo0, lo1) or not _motion(up0, up1, lo0, lo1):
                    continue
                if (abs(up0.pitch - lo0.pitch) % 12 == interval_class
                        and abs(up1.pitch - lo1.pitch) % 12 == interval_class):
                    same_way = (up1.pitch - up0.pitch) * (lo1.pitch - lo0.pitch) > 0
                    kind = f"parallel {name}" if same_way else f"{name} by contrary motion"
                    if interval_class == 0 and same_way and up0.pitch == lo0.pitch and up1.pitch == lo1.pitch:
                        kind = "parallel unisons"
                    out.append(ctx.violation(
                        rule, t, (ctx.labels[i], ctx.labels[j]),
                        f"{kind} between {ctx.labels[i]} and {ctx.labels[j]} "
                        f"({up0.name}→{up1.name} over {lo0.name}→{lo1.name})"))
    return out


def check_parallel_fifths(music) -> list[Violation]:
    """Consecutive perfect fifths (or twelfths) between any two voices that both move.

    Fifths by contrary motion (a fifth followed by a twelfth the other way) are reported too,
    as strict common-practice style forbids them. A fifth held while one voice stays put
    (oblique motion) is fine.
    """
    return _consecutive_perfect(_Context(music), 7, "parallel_fifths", "fifths")


def check_parallel_octaves(music) -> list[Violation]:
    """Consecutive octaves or unisons between two voices that both move (parallel or contrary)."""
    return _consecutive_perfect(_Context(music), 0, "parallel_octaves", "octaves")


def _attacked(note: Note | None, t: float) -> bool:
    return note is not None and abs(note.start - t) < _EPS


def check_voice_crossing(music) -> list[Violation]:
    """A voice sounding below the voice under it (e.g. A above S), reported where it happens.

    Only neighbouring voices are compared: if S is below T, then S is below A or A is below T.
    A crossing is reported at each onset where one of the two voices starts a note.
    """
    ctx = _Context(music)
    out = []
    for t, notes in ctx.slices:
        for i in range(len(notes) - 1):
            up, lo = notes[i], notes[i + 1]
            if up is None or lo is None or up.pitch >= lo.pitch:
                continue
            if _attacked(up, t) or _attacked(lo, t):
                out.append(ctx.violation(
                    "voice_crossing", t, (ctx.labels[i], ctx.labels[i + 1]),
                    f"voice crossing: {ctx.labels[i + 1]} ({lo.name}) is above {ctx.labels[i]} ({up.name})"))
    return out


def check_voice_range(music, ranges: Mapping[str, tuple[int | str, int | str]] | None = None
                      ) -> list[Violation]:
    """Notes outside a voice's range. By default the SATB ranges of :data:`VOICE_RANGES`
    (S C4–G5, A G3–D5, T C3–G4, B E2–C4); voices with other labels are only checked when
    ``ranges`` gives theirs, as ``{label: (lowest, highest)}`` in MIDI numbers or names."""
    ctx = _Context(music)
    table = dict(VOICE_RANGES)
    for label, (lo, hi) in (ranges or {}).items():
        table[_canonical_label(label)] = (_as_pitch(lo, "lowest"), _as_pitch(hi, "highest"))
    full = {"S": "soprano", "A": "alto", "T": "tenor", "B": "bass"}
    out = []
    for label, notes in ctx.voices:
        if label not in table:
            continue
        lo, hi = table[label]
        for n in notes:
            if lo <= n.pitch <= hi:
                continue
            side = "above" if n.pitch > hi else "below"
            out.append(ctx.violation(
                "voice_range", n.start, (label,),
                f"{label} sings {n.name}, {side} the {full.get(label, label)} range "
                f"{note_name(lo)}–{note_name(hi)}"))
    return out


def check_spacing(music, max_spacing: int = 12) -> list[Violation]:
    """More than ``max_spacing`` semitones (an octave) between neighbouring *upper* voices.

    Every pair of neighbouring voices except the lowest two is checked (S–A and A–T in SATB;
    tenor and bass may be further apart).
    """
    ctx = _Context(music)
    out = []
    for t, notes in ctx.slices:
        for i in range(len(notes) - 2):
            up, lo = notes[i], notes[i + 1]
            if up is None or lo is None or up.pitch - lo.pitch <= max_spacing:
                continue
            if _attacked(up, t) or _attacked(lo, t):
                gap = up.pitch - lo.pitch
                out.append(ctx.violation(
                    "spacing", t, (ctx.labels[i], ctx.labels[i + 1]),
                    f"spacing: {ctx.labels[i]} ({up.name}) and {ctx.labels[i + 1]} ({lo.name}) are "
                    f"{gap} semitones apart, more than {interval_name(max_spacing)}"))
    return out


def check_leaps(music, max_leap: int = 12) -> list[Violation]:
    """Melodic leaps of more than ``max_leap`` semitones (default: larger than an octave) in any voice.

    Consecutive notes of a voice are compared even across a rest.
    """
    ctx = _Context(music)
    out = []
    for label, notes in ctx.voices:
        for a, b in zip(notes, notes[1:]):
            leap = abs(b.pitch - a.pitch)
            if leap > max_leap:
                out.append(ctx.violation(
                    "large_leaps", b.start, (label,),
                    f"large leap in {label}, {a.name}→{b.name} ({leap} semitones, a {interval_name(leap)})"))
    return out


def check_hidden_fifths_octaves(music) -> list[Violation]:
    """Hidden (direct) fifths and octaves: the outer voices move the same way into a perfect
    fifth or octave while the top voice leaps. (Allowed when the top voice moves by step.)"""
    ctx = _Context(music)
    out = []
    if len(ctx.voices) < 2:
        return out
    top, bottom = 0, len(ctx.voices) - 1
    for (_, prev), (t, cur) in zip(ctx.slices, ctx.slices[1:]):
        up0, up1, lo0, lo1 = prev[top], cur[top], prev[bottom], cur[bottom]
        if None in (up0, up1, lo0, lo1) or not _motion(up0, up1, lo0, lo1):
            continue
        same_way = (up1.pitch - up0.pitch) * (lo1.pitch - lo0.pitch) > 0
        arrival = abs(up1.pitch - lo1.pitch) % 12
        before = abs(up0.pitch - lo0.pitch) % 12
        if same_way and arrival in (0, 7) and before != arrival and abs(up1.pitch - up0.pitch) > 2:
            name = "octaves" if arrival == 0 else "fifths"
            out.append(ctx.violation(
                "hidden_fifths_octaves", t, (ctx.labels[top], ctx.labels[bottom]),
                f"hidden {name} between {ctx.labels[top]} and {ctx.labels[bottom]} "
                f"({up0.name}→{up1.name} over {lo0.name}→{lo1.name}, top voice leaps)"))
    return out


def check_voice_overlap(music) -> list[Violation]:
    """A voice moving above the *previous* note of the voice above it (or below that of the
    voice below it) — a milder cousin of crossing."""
    ctx = _Context(music)
    out = []
    for (_, prev), (t, cur) in zip(ctx.slices, ctx.slices[1:]):
        for i in range(len(cur) - 1):
            up0, up1, lo0, lo1 = prev[i], cur[i], prev[i + 1], cur[i + 1]
            if None in (up0, up1, lo0, lo1):
                continue
            if _attacked(lo1, t) and lo1.pitch > up0.pitch:
                out.append(ctx.violation("voice_overlap", t, (ctx.labels[i], ctx.labels[i + 1]),
                                         f"voice overlap: {ctx.labels[i + 1]} moves to {lo1.name}, above "
                                         f"{ctx.labels[i]}'s previous {up0.name}"))
            elif _attacked(up1, t) and up1.pitch < lo0.pitch:
                out.append(ctx.violation("voice_overlap", t, (ctx.labels[i], ctx.labels[i + 1]),
                                         f"voice overlap: {ctx.labels[i]} moves to {up1.name}, below "
                                         f"{ctx.labels[i + 1]}'s previous {lo0.name}"))
    return out


#: Every voice-leading check by rule name.
VOICE_LEADING_CHECKS = {
    "parallel_fifths": check_parallel_fifths,
    "parallel_octaves": check_parallel_octaves,
    "voice_crossing": check_voice_crossing,
    "voice_range": check_voice_range,
    "spacing": check_spacing,
    "large_leaps": check_leaps,
    "hidden_fifths_octaves": check_hidden_fifths_octaves,
    "voice_overlap": check_voice_overlap,
}
#: The checks :func:`check_voice_leading` runs unless told otherwise.
DEFAULT_CHECKS = ("parallel_fifths", "parallel_octaves", "voice_crossing", "voice_range", "spacing",
                  "large_leaps")


def check_voice_leading(music, checks: Iterable[str] | None = None, *,
                        ranges: Mapping[str, tuple[int | str, int | str]] | None = None,
                        max_spacing: int = 12, max_leap: int = 12) -> list[Violation]:
    """Run several voice-leading checks; return every violation, in time order.

    ``music`` is a Piece whose parts are the voices (labelled 'S', 'A', 'T', 'B' or anything
    else) or a list of voices (see :func:`voices_to_piece`). ``checks`` names rules from
    :data:`VOICE_LEADING_CHECKS` (default: :data:`DEFAULT_CHECKS`).

    Example: ``for v in check_voice_leading(chorale): print(v)`` prints lines such as
    ``bar 3, beat 2: parallel fifths between S and B (C5→D5 over F3→G3)``.
    """
    names = list(DEFAULT_CHECKS if checks is None else ([checks] if isinstance(checks, str) else checks))
    unknown = [c for c in names if c not in VOICE_LEADING_CHECKS]
    if unknown:
        raise ValueError(f"unknown voice-leading check(s) {unknown}: choose from {', '.join(VOICE_LEADING_CHECKS)}.")
    piece = music if isinstance(music, Piece) else voices_to_piece(music)
    out: list[Violation] = []
    for name in names:
        fn = VOICE_LEADING_CHECKS[name]
        if name == "voice_range":
            out += fn(piece, ranges=ranges)
        elif name == "spacing":
            out += fn(piece, max_spacing=max_spacing)
        elif name == "large_leaps":
            out += fn(piece, max_leap=max_leap)
        else:
            out += fn(piece)
    return sorted(out, key=lambda v: (v.position, names.index(v.rule), v.voices))


def parallel_motion_matrix(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Count consecutive perfect fifths and octaves/unisons between every pair of chords.

    ``previous`` (N, voices) and ``current`` (M, voices) hold MIDI pitches, highest voice
    first. Entry ``[n, m]`` counts the voice pairs that move from a fifth (octave) in chord
    ``n`` to a fifth (octave) in chord ``m`` with both voices moving — the same rule as
    :func:`check_parallel_fifths` and :func:`check_parallel_octaves`, vectorised for searches
    over voicings (see ``rules.compose(harmonize=True)``).
    """
    prev = np.asarray(previous, dtype=np.int64)
    cur = np.asarray(current, dtype=np.int64)
    if prev.ndim != 2 or cur.ndim != 2 or prev.shape[1] != cur.shape[1]:
        raise ValueError("previous and current must be 2-D arrays (chords, voices) with the same number of voices.")
    upper, lower = np.triu_indices(prev.shape[1], k=1)          # every pair of voices
    before = np.abs(prev[:, upper] - prev[:, lower]) % 12         # (N, pairs) interval classes
    after = np.abs(cur[:, upper] - cur[:, lower]) % 12            # (M, pairs)
    perfect_before = (before == 0) | (before == 7)
    same = (before[:, None, :] == after[None, :, :]) & perfect_before[:, None, :]
    moved = prev[:, None, :] != cur[None, :, :]                   # (N, M, voices)
    count = (same & moved[:, :, upper] & moved[:, :, lower]).sum(axis=2)
    return count
