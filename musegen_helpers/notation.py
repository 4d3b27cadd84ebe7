"""Writing a Piece as notation: a music21 ``Score`` that MusicXML, verovio and notation programs read.

:func:`to_music21` makes every engraving decision, so that ``score.show_score``,
``score.musicxml_text`` and ``score.save_musicxml`` all show the same thing:

* **bars** come from :meth:`Piece.bars` — the one definition of bar and meter. A pickup is
  measure 0 (an incomplete bar), a meter change starts a bar with its new time signature, a key
  change puts a key signature where it happens. Every bar of every staff and voice is filled:
  rests where nothing sounds (a whole-bar rest for an empty bar), the last bar completed with
  rests, and a note held over a bar line written as tied notes.
* **spelling** follows the key in force at each note's onset (:meth:`Piece.key_at`) and the
  melodic direction — see :func:`spell`. A piece with no key is spelt from the key music21's
  Krumhansl–Schmuckler analysis (``analyze('key')``) finds, without printing a key signature.
* **staves and clefs**: one staff per part, highest part on top, with the clef that needs
  the fewest ledger lines (treble, bass; treble-8vb for a tenor). One unnamed part with a
  keyboard-like texture (notes that overlap, or a range no single clef holds) gets a grand
  staff — two staves in a brace, split at middle C, treble over bass.
* **voices**: notes of one staff that start and end together are a chord. Notes that overlap
  otherwise are written in two voices (stems up / down) when two suffice; denser textures (a
  piano roll from a GAN) are cut at every onset and release into chords tied to the next, in
  one voice — as notation programs import MIDI — unless a pitch overlaps itself, which a chord
  cannot show (then one voice per layer).
* **names**: parts are named from what the piece knows — labels 'S', 'A', 'T', 'B' become
  Soprano, Alto, Tenor, Bass; a track name stays as it is; an unnamed part (or a loader's
  placeholder such as 'track 0') has no name. See :func:`part_name`.
* **drums** are written on a percussion staff (five lines, percussion clef), one line or space
  per kind of drum.

Played music (onsets a few MIDI ticks off the beat) cannot be written as notes; score.py
engraves a copy quantised by :func:`engraving_grid` / :func:`quantize_for_score` and says so.

Lesson: 00_welcome, 01_representation
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple, Sequence

from .errors import LimitError
from .music import PITCH_CLASS_NAMES, Note, Piece, bar_length_of, beat_length, key_signature_mode, parse_key

__all__ = [
    "to_music21", "spell", "part_name", "clef_for", "engraving_grid", "quantize_for_score",
    "is_engravable", "MAX_SCORE_BARS", "MAX_SCORE_STAVES",
]

#: More bars than this are refused (a 1-tick-per-quarter MIDI file can last millions of bars).
MAX_SCORE_BARS = 2000
#: More staves than this are refused (a MIDI file can hold thousands of one-note tracks).
MAX_SCORE_STAVES = 64

_EPS = 1e-6
_LETTERS = "CDEFGAB"
_NATURAL_PC = (0, 2, 4, 5, 7, 9, 11)
_MIDDLE_C = 60


# ---------------------------------------------------------------------------------------------
# Spelling
# ---------------------------------------------------------------------------------------------
class _KeyFrame(NamedTuple):
    tonic_pc: int
    mode: str
    tonic_name: str          # music21 spelling of the tonic, e.g. 'B-', 'F#'
    signature: tuple          # alter of each letter C..B in the key signature
    diatonic: dict            # pitch class -> (letter index, alter), incl. raised 6th/7th in minor
    awkward_ok: tuple         # (sharps allow E#/B#, flats allow Fb/Cb)


# default choice for a chromatic note heard with no melodic direction (a chord tone, the last
# note): semitones above the tonic -> 'lower' (sharpen the letter below) or 'upper' (flatten the
# letter above). Major: #1 b3 #4 #5 b7; minor: b2 (Neapolitan), natural 3 (Picardy), #4.
_DEFAULT_MAJOR = {1: "lower", 3: "upper", 6: "lower", 8: "lower", 10: "upper"}
_DEFAULT_MINOR = {1: "upper", 4: "lower", 6: "lower", 11: "lower"}
_DEFAULT_OTHER = {1: "lower", 2: "lower", 3: "upper", 4: "lower", 5: "upper", 6: "lower", 7: "lower",
                  8: "lower", 9: "lower", 10: "upper", 11: "lower"}


def _tonic_candidates(pc: int) -> list[tuple[str, int]]:
    out = []
    for li, natural in enumerate(_NATURAL_PC):
        for alter in (-1, 0, 1):
            if (natural + alter) % 12 == pc:
                out.append((_LETTERS[li], alter))
    return out


def _m21_name(letter: str, alter: int) -> str:
    return letter + ("#" * alter if alter > 0 else "-" * -alter)


@lru_cache(maxsize=256)
def _frame(key: str) -> _KeyFrame:
    from music21 import key as m21key

    tonic_pc, mode = parse_key(key)
    # harmonic/melodic minor, pentatonic, blues: the signature their plain major or minor writes
    mode = key_signature_mode(mode)
    # the name's own letter, when it has one ('Gb major' stays G-flat, 'F# major' F-sharp)
    m = re.match(r"\s*([A-Ga-g])([#b\-♯♭]?)", key)
    named = None
    if m:
        named = (m.group(1).upper(), {"": 0, "#": 1, "♯": 1, "b": -1, "-": -1, "♭": -1}[m.group(2)])
    # the name's spelling when its key signature has at most six sharps or flats, else the
    # spelling with fewer ('C# major' -> D-flat major; a transposed 'Ab minor' -> G-sharp minor)
    best = None
    for letter, alter in _tonic_candidates(tonic_pc):
        k = m21key.Key(_m21_name(letter, alter), mode)
        score = (abs(k.sharps) if not ((letter, alter) == named and abs(k.sharps) <= 6) else -1,
                 (letter, alter) != named)
        if abs(k.sharps) <= 7 and (best is None or score < best[0]):
            best = (score, letter, alter, k)
    _, letter, alter, k = best
    signature = [0] * 7
    for p in k.alteredPitches:
        signature[_LETTERS.index(p.step)] = int(p.alter)
    diatonic = {}
    for li in range(7):
        diatonic[(_NATURAL_PC[li] + signature[li]) % 12] = (li, signature[li])
    if mode == "minor":  # the raised 6th and 7th are part of the minor key (melodic / harmonic minor)
        tonic_letter = _LETTERS.index(letter)
        for degree in (5, 6):  # 6th and 7th degrees, counted from 0
            li = (tonic_letter + degree) % 7
            diatonic[(_NATURAL_PC[li] + signature[li] + 1) % 12] = (li, signature[li] + 1)
    return _KeyFrame(tonic_pc, mode, _m21_name(letter, alter), tuple(signature), diatonic,
                     (k.sharps >= 5, k.sharps <= -5))


def _awkward(letter_index: int, alter: int, frame: _KeyFrame | None) -> bool:
    """E#, B#, Fb, Cb and double accidentals — unless the key signature makes such spellings usual."""
    if abs(alter) >= 2:
        return True
    letter = _LETTERS[letter_index]
    if alter == 1 and letter in "EB":
        return not (frame is not None and frame.awkward_ok[0])
    if alter == -1 and letter in "FC":
        return not (frame is not None and frame.awkward_ok[1])
    return False


def _spelling(pitch: int, frame: _KeyFrame | None, direction: int) -> tuple[int, int]:
    """(letter index 0-6 for C..B, alter in semitones) of a MIDI pitch."""
    pc = pitch % 12
    if frame is None:
        name = PITCH_CLASS_NAMES[pc] if direction == 0 else \
            ("C C# D D# E F F# G G# A A# B" if direction > 0 else "C Db D Eb E F Gb G Ab A Bb B").split()[pc]
        return _LETTERS.index(name[0]), (1 if "#" in name else -1 if "b" in name else 0)
    if pc in frame.diatonic:
        return frame.diatonic[pc]
    sig_pc = {(_NATURAL_PC[li] + frame.signature[li]) % 12: li for li in range(7)}
    li_low, li_up = sig_pc[(pc - 1) % 12], sig_pc[(pc + 1) % 12]
    lower = (li_low, frame.signature[li_low] + 1)   # sharpen the letter below
    upper = (li_up, frame.signature[li_up] - 1)     # flatten the letter above
    if direction > 0:
        choice = "lower"
    elif direction < 0:
        choice = "upper"
    else:
        table = {"major": _DEFAULT_MAJOR, "minor": _DEFAULT_MINOR}.get(frame.mode, _DEFAULT_OTHER)
        choice = table.get((pc - frame.tonic_pc) % 12, "lower")
    first, other = (lower, upper) if choice == "lower" else (upper, lower)
    if _awkward(*first, frame) and not _awkward(*other, frame):
        return other
    return first


def spell(pitch: int, key: str | None = None, direction: int = 0):
    """Spell a MIDI pitch as a musician would in a key: a music21 ``Pitch`` (letter, accidental, octave).

    Rules (common-practice spelling, as in Aldwell & Schachter, *Harmony and Voice Leading*, ch. 1):

    * notes of the key are spelt as its scale spells them (``70`` in G minor is B♭4, not A♯4);
    * in minor the raised 6th and 7th belong to the key and are always raised
      (G minor: F♯ and E♮, so the line F–F♯–G is F4–F♯4–G4);
    * other (chromatic) notes follow the melodic direction: rising (``direction > 0``) sharpens
      the letter below (C–C♯–D), falling (``direction < 0``) flattens the letter above (D–D♭–C);
      with no direction (a chord tone, a last note) major keys use ♯1 ♭3 ♯4 ♯5 ♭7, minor keys
      ♭2 ♮3 ♯4;
    * E♯, B♯, F♭, C♭ and double accidentals are avoided when the other spelling is plain,
      unless the key has five or more sharps (E♯, B♯) or flats (F♭, C♭).

    With ``key=None`` black keys are sharps going up, flats going down, and C♯ E♭ F♯ A♭ B♭ with
    no direction. (:func:`to_music21` spells a piece without a key from the key music21 infers.)

    Args:
        pitch: MIDI pitch 0–127 (60 = C4).
        key: key name ('G minor', 'Bb major', 'D dorian'...) or None.
        direction: sign of the melodic step to the next note: +1 rising, -1 falling, 0 none.

    Returns:
        ``music21.pitch.Pitch`` whose ``.midi`` equals ``pitch``.

    Raises:
        ValueError: an unknown key name or a pitch outside 0–127.

    Lesson: 01_representation
    """
    from music21 import pitch as m21pitch

    pitch = int(pitch)
    if not 0 <= pitch <= 127:
        raise ValueError(f"pitch {pitch} is outside the MIDI range 0–127 (60 is middle C).")
    frame = _frame(key) if key is not None else None
    li, alter = _spelling(pitch, frame, int(math.copysign(1, direction)) if direction else 0)
    return _pitch(pitch, li, alter, m21pitch)


def _pitch(midi: int, li: int, alter: int, m21pitch):
    p = m21pitch.Pitch()
    p.step = _LETTERS[li]
    if alter:
        p.accidental = m21pitch.Accidental(alter)
    p.octave = (midi - alter - _NATURAL_PC[li]) // 12 - 1
    return p


def _inferred_key(notes: Sequence[Note]) -> str | None:
    """The key music21's Krumhansl–Schmuckler analysis finds from duration-weighted pitch classes."""
    if not notes:
        return None
    from music21 import note as m21note, stream as m21stream

    weights = [0.0] * 12
    for n in notes:
        weights[n.pitch % 12] += n.duration
    s = m21stream.Stream()
    for pc, w in enumerate(weights):
        if w > 0:
            s.append(m21note.Note(60 + pc, quarterLength=max(0.25, round(w * 4) / 4)))
    try:
        k = s.analyze("key")
    except Exception:  # pragma: no cover - analysis needs at least one pitch
        return None
    return f"{PITCH_CLASS_NAMES[k.tonic.pitchClass]} {k.mode}"


# ---------------------------------------------------------------------------------------------
# Names and clefs
# ---------------------------------------------------------------------------------------------
_VOICE_NAMES = {"S": "Soprano", "A": "Alto", "T": "Tenor", "B": "Bass"}
# labels a loader makes up when a file names nothing ('track 0', 'track 2 ch 10', 'part 1')
_PLACEHOLDER = re.compile(r"(track|part|channel)\s*\d+(\s*ch\s*\d+)?", re.I)


def part_name(label: str | None) -> str | None:
    """The name a score prints for a part label, or None for no name.

    'S', 'A', 'T', 'B' (the chorale labels) become 'Soprano', 'Alto', 'Tenor', 'Bass'; a track or
    part name is printed as it is; None and a loader's placeholder ('track 0', 'track 1 ch 2',
    'part 3') print no name. Lesson: 01_representation
    """
    if label is None:
        return None
    text = str(label).strip()
    if not text or _PLACEHOLDER.fullmatch(text):
        return None
    return _VOICE_NAMES.get(text, text)


# clef -> (diatonic number of the bottom line, of the top line); diatonic number = octave*7 + letter
def _dnn(letter: str, octave: int) -> int:
    return octave * 7 + _LETTERS.index(letter)


_CLEF_LINES = {
    "treble": (_dnn("E", 4), _dnn("F", 5)),
    "bass": (_dnn("G", 2), _dnn("A", 3)),
    "treble8vb": (_dnn("E", 3), _dnn("F", 4)),
}


def _ledger_lines(dnn: int, clef: str) -> int:
    bottom, top = _CLEF_LINES[clef]
    if dnn < bottom:
        return (bottom - dnn) // 2
    if dnn > top:
        return (dnn - top) // 2
    return 0


def clef_for(pitches: Sequence[int], label: str | None = None) -> str:
    """The clef that needs the fewest ledger lines for these MIDI pitches: 'treble' or 'bass'
    ('treble8vb' also competes for a tenor, label 'T' or 'Tenor'). Treble's ledger lines count
    half (a melody that dips below middle C stays in treble); ties go to treble.
    An empty staff gets treble. Lesson: 01_representation"""
    if not pitches:
        return "treble"
    clefs = ["treble", "bass"]
    if label is not None and str(label).strip().lower() in ("t", "tenor"):
        clefs.insert(1, "treble8vb")
    dnns = [_dnn(_LETTERS[_spelling(p, None, 0)[0]], p // 12 - 1) for p in pitches]
    # treble counts half: a tune that dips a little below middle C stays in treble, as melodies do
    cost = {c: sum(_ledger_lines(d, c) for d in dnns) * (0.5 if c == "treble" else 1.0) for c in clefs}
    return min(clefs, key=lambda c: (cost[c], clefs.index(c)))


def _fits_one_staff(pitches: Sequence[int]) -> bool:
    """All notes within three ledger lines of one clef (treble F3..E6, bass A1..G4)."""
    return bool(pitches) and (min(pitches) >= 53 or max(pitches) <= 67) and max(pitches) - min(pitches) <= 31


# ---------------------------------------------------------------------------------------------
# Quantising played music
# ---------------------------------------------------------------------------------------------
def _on(value: float, step: float) -> bool:
    return abs(value / step - round(value / step)) < 1e-4


def is_engravable(piece: Piece) -> bool:
    """True when every onset and release lies on a 32nd-note grid (1/8 quarter) or a
    16th-triplet grid (1/6 quarter) — the rhythms a score writes without quantising."""
    return all((_on(t, 1 / 8) or _on(t, 1 / 6)) for n in piece.notes for t in (n.start, n.end))


def _grid_error(piece: Piece, grid: float) -> float:
    # onsets only: a player's releases wander (a legato or detached touch), and the finer triplet
    # grid would win on releases alone — a straight played tune would be written in triplets
    err = sum(abs(n.start - round(n.start / grid) * grid) for n in piece.notes)
    return err / max(1, len(piece.notes))


def engraving_grid(piece: Piece) -> float | None:
    """The grid (quarter notes) :func:`quantize_for_score` uses by default, or None when the piece
    is already engravable (:func:`is_engravable`).

    Sixteenth notes (0.25), or sixteenth-note triplets (1/6) when they fit the onsets
    at least twice as closely (mean distance to the grid) — the finer grid always fits a little
    better, so it has to win clearly. Lesson: 01_representation
    """
    if is_engravable(piece):
        return None
    straight, triplet = _grid_error(piece, 0.25), _grid_error(piece, 1 / 6)
    return 1 / 6 if triplet < 0.5 * straight else 0.25


def quantize_for_score(piece: Piece, grid: float | str | None = "auto") -> tuple[Piece, int, float | None]:
    """A copy of ``piece`` that a score can write, and what changed: ``(piece, notes_moved, grid)``.

    Args:
        grid: ``'auto'`` (default): leave engravable music untouched, else quantise to
            :func:`engraving_grid`; a number: quantise to that grid in quarter notes (0.25 = 16ths,
            1/3 = eighth-note triplets) — music already on it is untouched; ``None``: never quantise.

    Returns:
        The piece to engrave (the given one when nothing moved — never modified), how many notes
        had an onset or a release moved, and the grid used (None when nothing was quantised).
        A quantised copy also has the small gaps a player leaves before the next note closed
        (see ``_legato``), so that played quarter notes are written as quarter notes.

    Raises:
        ValueError: ``grid`` is not 'auto', None or a positive number.

    Lesson: 01_representation
    """
    if grid is None:
        return piece, 0, None
    if isinstance(grid, str):
        if grid != "auto":
            raise ValueError(f"grid must be 'auto', None or a number of quarter notes (0.25 = 16ths), got {grid!r}.")
        grid = engraving_grid(piece)
        if grid is None:
            return piece, 0, None
    try:
        grid = float(grid)
    except (TypeError, ValueError):
        raise ValueError(f"grid must be 'auto', None or a number of quarter notes (0.25 = 16ths), got {grid!r}.") from None
    if not (math.isfinite(grid) and grid > 0):
        raise ValueError(f"grid must be a positive number of quarter notes (0.25 = 16ths), got {grid!r}.")
    moved = sum(1 for n in piece.notes if not (_on(n.start, grid) and _on(n.end, grid)))
    if not moved:
        return piece, 0, None
    return _legato(piece.quantize(grid), grid), moved, grid


def _legato(piece: Piece, grid: float) -> Piece:
    """Close the small gaps a player leaves between notes (a release a little before the next
    onset of the same part): up to one grid step, or a quarter of the note, at most an eighth note;
    a drum hit lasts to the next hit of its part, at most a quarter note.
    A played scale of quarter notes is then written as quarter notes, not dotted eighths and rests
    — as notation programs import MIDI."""
    from dataclasses import replace

    onsets: dict[tuple, list[float]] = {}
    for n in piece.notes:
        onsets.setdefault((n.part, n.is_drum), []).append(n.start)
    out = []
    for n in piece.notes:
        later = [t for t in onsets[(n.part, n.is_drum)] if t > n.start + 1e-9]
        if n.is_drum:
            # a drum hit has no written length of its own: a drummer reads it up to the next hit,
            # at most a beat (a kick on every beat is a quarter note, not a 32nd and rests)
            end = min(min(later, default=n.start + 1.0), n.start + 1.0)
            out.append(replace(n, duration=max(n.duration, end - n.start)))
            continue
        if later:
            gap = min(later) - n.end
            if 1e-9 < gap <= min(0.5, max(grid, 0.25 * n.duration)) + 1e-9:
                n = replace(n, duration=min(later) - n.start)
        out.append(n)
    return piece.with_notes(out)


# ---------------------------------------------------------------------------------------------
# Layout: staves, voices, events
# ---------------------------------------------------------------------------------------------
class _Tone(NamedTuple):
    pitch: int
    tie_from: bool     # continues a note from the previous event (no new attack)
    tie_to: bool       # continues into the next event


class _Event(NamedTuple):
    start: float
    end: float
    tones: tuple       # of _Tone, low to high
    velocity: int
    direction: int     # melodic direction to the next event of the voice (single notes only)


def _lanes(notes: list[Note]) -> list[list[tuple[float, float, list[Note]]]]:
    """Chords (notes starting and ending together) packed greedily into lanes that never overlap."""
    groups: dict[tuple[float, float], list[list[Note]]] = {}
    for n in notes:
        chords = groups.setdefault((round(n.start, 6), round(n.end, 6)), [])
        # a chord holds each pitch once: a doubled unison goes to another chord (another voice)
        for ch in chords:
            if all(x.pitch != n.pitch for x in ch):
                ch.append(n)
                break
        else:
            chords.append([n])
    events = sorted(((s, e, sorted(ns, key=lambda x: x.pitch)) for (s, e), chords in groups.items()
                     for ns in chords), key=lambda ev: (ev[0], -ev[2][-1].pitch))
    lanes: list[list] = []
    ends: list[float] = []
    for ev in events:
        for i, end in enumerate(ends):
            if ev[0] >= end - 1e-9:
                lanes[i].append(ev)
                ends[i] = ev[1]
                break
        else:
            lanes.append([ev])
            ends.append(ev[1])
    return lanes


def _same_pitch_overlap(notes: list[Note]) -> bool:
    by_pitch: dict[int, list[Note]] = {}
    for n in notes:
        by_pitch.setdefault(n.pitch, []).append(n)
    for ns in by_pitch.values():
        ns.sort(key=lambda n: n.start)
        for a, b in zip(ns, ns[1:]):
            if b.start < a.end - 1e-9:
                return True
    return False


def _voice_events(lane) -> list[_Event]:
    out = []
    for i, (s, e, ns) in enumerate(lane):
        direction = 0
        if len(ns) == 1 and i + 1 < len(lane) and len(lane[i + 1][2]) == 1:
            step = lane[i + 1][2][0].pitch - ns[0].pitch
            direction = (step > 0) - (step < 0)
        out.append(_Event(s, e, tuple(_Tone(n.pitch, False, False) for n in ns), ns[0].velocity, direction))
    return out


def _segmented(notes: list[Note]) -> list[_Event]:
    """Cut a dense texture at every onset and release into chords, tied where a note goes on."""
    cuts = sorted({round(t, 9) for n in notes for t in (n.start, n.end)})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        sounding = [n for n in notes if n.start < b - 1e-9 and n.end > a + 1e-9]
        if not sounding:
            continue
        tones = sorted(_Tone(n.pitch, n.start < a - 1e-9, n.end > b + 1e-9) for n in sounding)
        out.append(_Event(a, b, tuple(tones), max(n.velocity for n in sounding), 0))
    return out


def _voices(notes: list[Note]) -> list[list[_Event]]:
    """The voices of one staff, highest first (see the module docstring)."""
    if not notes:
        return [[]]
    lanes = _lanes(notes)
    if len(lanes) > 2 and not _same_pitch_overlap(notes):
        return [_segmented(notes)]
    lanes.sort(key=lambda lane: -sum(n.pitch for _, _, ns in lane for n in ns) / sum(len(ns) for _, _, ns in lane))
    return [_voice_events(lane) for lane in lanes]


class _Staff(NamedTuple):
    name: str | None
    clef: str
    voices: list          # of lists of _Event
    drums: bool = False


# GM percussion key -> (display step, octave, notehead) on a five-line percussion staff
_DRUM_LINES = {
    35: ("F", 4, None), 36: ("F", 4, None), 37: ("C", 5, "x"), 38: ("C", 5, None), 40: ("C", 5, None),
    39: ("C", 5, "x"), 41: ("A", 4, None), 43: ("A", 4, None), 45: ("B", 4, None), 47: ("B", 4, None),
    48: ("D", 5, None), 50: ("E", 5, None), 42: ("G", 5, "x"), 44: ("D", 4, "x"), 46: ("G", 5, "circle-x"),
    49: ("A", 5, "x"), 57: ("A", 5, "x"), 51: ("F", 5, "x"), 59: ("F", 5, "x"), 53: ("F", 5, "diamond"),
    52: ("A", 5, "x"), 55: ("A", 5, "x"), 54: ("E", 5, "x"), 56: ("E", 5, "triangle"),
}


def _staves(piece: Piece) -> list[tuple[str | None, list[_Staff]]]:
    """Groups of staves, top to bottom: one group per part (two staves for a grand staff)."""
    pitched = [n for n in piece.notes if not n.is_drum]
    drums = [n for n in piece.notes if n.is_drum]
    by_part: dict[str | None, list[Note]] = {}
    for n in pitched:
        by_part.setdefault(n.part, []).append(n)
    order = [label for label in piece.parts if label in by_part]
    groups = []
    for label in order:
        notes = by_part[label]
        name = part_name(label)
        pitches = [n.pitch for n in notes]
        keyboard = (name is None and len(order) == 1
                    and (len(_lanes(notes)) > 1 or not _fits_one_staff(pitches)))
        if keyboard:
            upper = [n for n in notes if n.pitch >= _MIDDLE_C]
            lower = [n for n in notes if n.pitch < _MIDDLE_C]
            groups.append((None, [_Staff(None, "treble", _voices(upper)), _Staff(None, "bass", _voices(lower))]))
        else:
            groups.append((name, [_Staff(name, clef_for(pitches, label), _voices(notes))]))
    if drums:
        groups.append(("Drums", [_Staff("Drums", "percussion", _voices(drums), drums=True)]))
    if not groups:
        groups.append((None, [_Staff(None, "treble", [[]])]))
    return groups


# ---------------------------------------------------------------------------------------------
# Building the music21 score
# ---------------------------------------------------------------------------------------------
def _q(x: float):
    """A position or length as music21 wants it: an exact fraction (1/3, not 0.3333)."""
    from music21.common.numberTools import opFrac

    return opFrac(Fraction(x).limit_denominator(3 * 1024))


def _exact(x) -> Fraction:
    """A position or length as an exact fraction (thirds and 64ths survive float rounding)."""
    return Fraction(x).limit_denominator(3 * 1024)


@lru_cache(maxsize=512)
def _expressible(ql: Fraction) -> bool:
    """One notehead can show this length: a plain or dotted value, or one simple tuplet."""
    from music21 import duration

    d = duration.Duration(ql)
    return d.type not in ("complex", "inexpressible", "zero") and len(d.tuplets) <= 1


_BINARY = tuple(Fraction(x) for x in (4, 3, 2, 1.5, 1, 0.75, 0.5, 0.375, 0.25, 0.1875, 0.125, 0.0625))
_TRIPLET = tuple(sorted({Fraction(x) for x in (4, 3, 2, 1.5, 1, 0.5)}
                        | {Fraction(4, 3), Fraction(2, 3), Fraction(1, 3), Fraction(1, 6), Fraction(1, 12)},
                        reverse=True))


def _greedy(length: Fraction) -> list[Fraction]:
    binary = (length * 16).denominator == 1
    candidates, step = (_BINARY, Fraction(1, 16)) if binary else (_TRIPLET, Fraction(1, 12))
    out = []
    while length > 0:
        for c in candidates:
            if c <= length and ((length - c) / step).denominator == 1:
                out.append(c)
                length -= c
                break
        else:
            out.append(length)  # not on any grid a score writes: music21 will refuse it (ValueError)
            break
    return out


def _lengths(offset: Fraction, length: Fraction, beat: Fraction) -> list[Fraction]:
    """Split a note or rest of ``length`` at ``offset`` (from the bar's first beat) into values one
    notehead can show, tied together: whole as one value when it can be, else cut at the beats
    and joined again while the joined value can be written."""
    offset, length, beat = Fraction(offset), Fraction(length), Fraction(beat)
    if _expressible(length):
        return [length]
    cuts, pos, end = [], offset, offset + length
    while pos < end:
        nxt = min(end, (pos // beat + 1) * beat)
        cuts.append((pos, nxt - pos))
        pos = nxt
    out: list[Fraction] = []
    acc_start, acc = None, Fraction(0)
    for start, seg in cuts:
        if acc and _expressible(acc + seg) and (acc_start / beat).denominator == 1:
            acc += seg
            continue
        if acc:
            out += [acc] if _expressible(acc) else _greedy(acc)
        acc_start, acc = start, seg
    out += [acc] if _expressible(acc) else _greedy(acc)
    return out


def _binary_rests(pos: Fraction, end: Fraction) -> list[Fraction] | None:
    """Rests from ``pos`` to ``end`` inside one beat: the largest plain (undotted) value that starts
    on a multiple of itself, again and again (a 16th rest then an 8th rest from the second 16th
    of a beat). None when the span is not on a 64th-note grid (tuplets)."""
    if ((pos * 16).denominator != 1) or ((end * 16).denominator != 1):
        return None
    out = []
    while pos < end:
        value = Fraction(4)
        while value > end - pos or (pos / value).denominator != 1:
            value /= 2
        out.append(value)
        pos += value
    return out


def _rest_lengths(offset: Fraction, length: Fraction, beat: Fraction, time_signature) -> list[Fraction]:
    """Rests that show the beats, as engraving manuals ask (Gould, *Behind Bars*, 2011, ch. 'Rests'):
    a part-beat is filled with plain values up to the beat; whole beats get one rest each (a
    dotted rest in compound time); in an even simple meter (2/2, 4/4, 4/2) two beats starting on
    an odd beat — beats 1–2 or 3–4 of 4/4 — share one rest; no dotted rests in simple time."""
    num, den = time_signature
    compound = beat != Fraction(4, den)
    pos, end, out = offset, offset + length, []
    while pos < end:
        next_beat = (pos // beat + 1) * beat
        if pos % beat or end - pos < beat:
            seg_end = min(end, next_beat)
            split = _binary_rests(pos, seg_end)
            out += split if split is not None else _lengths(pos, seg_end - pos, beat)
            pos = seg_end
            continue
        k = pos // beat
        if not compound and num % 2 == 0 and k % 2 == 0 and end - pos >= 2 * beat:
            out.append(2 * beat)
            pos += 2 * beat
        else:
            out.append(beat)
            pos += beat
    return out


def _clef(name: str):
    from music21 import clef

    return {"treble": clef.TrebleClef, "bass": clef.BassClef, "treble8vb": clef.Treble8vbClef,
            "percussion": clef.PercussionClef}[name]()


def _key_object(key: str):
    from music21 import key as m21key

    frame = _frame(key)
    return m21key.Key(frame.tonic_name, frame.mode)


def _tie_type(tie_from: bool, tie_to: bool) -> str | None:
    if tie_from and tie_to:
        return "continue"
    return "stop" if tie_from else "start" if tie_to else None


def _element(ev: _Event, first: bool, last: bool, ql, piece: Piece, spelling_key: str | None,
             drums: bool, m21):
    """One note, chord or unpitched drum hit of ``ql`` quarter notes for a part of ``ev``
    (``first``/``last``: it starts / ends the event, else it is tied on)."""
    chord, note, pitch, tie = m21["chord"], m21["note"], m21["pitch"], m21["tie"]
    key = piece.key_at(ev.start) if piece.key_at(ev.start) is not None else spelling_key
    frame = _frame(key) if key is not None else None
    notes = []
    for tone in ev.tones:
        if drums:
            step, octave, head = _DRUM_LINES.get(tone.pitch, ("E", 5, "x"))
            n = note.Unpitched(displayName=f"{step}{octave}")
            if head:
                n.notehead = head
        else:
            li, alter = _spelling(tone.pitch, frame, ev.direction)
            n = note.Note(_pitch(tone.pitch, li, alter, pitch))
        kind = _tie_type(tone.tie_from or not first, tone.tie_to or not last)
        if kind and not drums:
            n.tie = tie.Tie(kind)
        notes.append(n)
    if len(notes) == 1:
        el = notes[0]
        el.duration.quarterLength = ql
    elif drums:
        el = chord.PercussionChord(notes, quarterLength=ql)
    else:
        el = chord.Chord(notes, quarterLength=ql)
    el.volume.velocity = ev.velocity
    return el


def _fill_measure(container, events, bar, piece, spelling_key, drums, m21, whole_bar_rest: bool):
    """Notes of one voice inside one bar, with rests in every gap; every length one a score can
    write (see :func:`_lengths`), a note cut into several values tied."""
    rest = m21["note"].Rest
    beat = _q(beat_length(bar.time_signature))
    # beats count from the bar line the pickup would have had: a pickup bar's first beat is late
    lead = Fraction(_q(bar_length_of(bar.time_signature) - bar.length)) if bar.number == 0 else Fraction(0)

    def rests(a, b):
        # exact fractions before subtracting: opFrac gives floats where it can (4.0), and a float
        # minus Fraction(2, 3) is a float again — 3.3333333333333335 leaves a 1/6755399441055744 rest
        a, b = _exact(a - bar.start), _exact(b - bar.start)
        for ql in _rest_lengths(a + lead, b - a, Fraction(beat), bar.time_signature):
            # music21 reads a whole-note rest back as a whole-bar rest, whatever the bar's length
            # (a silent 4-beat pickup in 5/4 would come back 5 beats long): write two halves
            for part_ql in ([ql / 2, ql / 2] if ql == 4 and not (bar.is_complete and abs(bar.length - 4) < 1e-9)
                            else [ql]):
                container.insert(_q(a), rest(quarterLength=_q(part_ql)))
                a += part_ql

    cursor = bar.start
    wrote = False
    for ev in events:
        a, b = max(ev.start, bar.start), min(ev.end, bar.end)
        if b - a < 1e-9:
            continue
        if a - cursor > 1e-9:
            rests(cursor, a)
        first, last = ev.start >= bar.start - 1e-9, ev.end <= bar.end + 1e-9
        qa, qb = _exact(a - bar.start), _exact(b - bar.start)
        pieces = _lengths(qa + lead, qb - qa, Fraction(beat))
        for i, ql in enumerate(pieces):
            el = _element(ev, first and i == 0, last and i == len(pieces) - 1, _q(ql), piece,
                          spelling_key, drums, m21)
            container.insert(_q(qa), el)
            qa += ql
        cursor, wrote = b, True
    if not wrote:
        if whole_bar_rest and bar.is_complete:
            r = rest(quarterLength=_q(bar.end - bar.start))
            r.fullMeasure = True
            container.insert(0, r)
        else:
            rests(bar.start, bar.end)
    elif bar.end - cursor > 1e-9:
        rests(cursor, bar.end)


def to_music21(piece: Piece):
    """Convert a Piece into a music21 ``Score`` laid out as a musician would write it.

    See the module docstring for the decisions: bars from :meth:`Piece.bars` (pickup = measure 0,
    meter and key changes where they happen), rests in every gap, notes over bar lines tied,
    spelling from the key (:func:`spell`), clefs from the range (:func:`clef_for`), a grand staff
    for one unnamed keyboard-like part, two voices per staff at most, parts named by
    :func:`part_name`, drums on a percussion staff.

    Args:
        piece: the music; times in quarter notes. Durations should be engravable — multiples of a
            32nd note or of a 16th-triplet (``score.musicxml_text`` quantises played music first).

    Returns:
        ``music21.stream.Score``: one ``Part`` (or two ``PartStaff`` in a brace ``StaffGroup``)
        per part, highest part on top, each with one ``Measure`` per bar of :meth:`Piece.bars`.

    Raises:
        LimitError: more than :data:`MAX_SCORE_BARS` bars or :data:`MAX_SCORE_STAVES` staves.

    Source: music21 (Cuthbert & Ariza, 2010) streams; MusicXML 4.0 measures, voices and ties.
    Lesson: 00_welcome, 01_representation
    """
    from music21 import chord, layout, metadata, meter, note, pitch, stream, tempo, tie

    m21 = {"chord": chord, "note": note, "pitch": pitch, "tie": tie}
    if piece.end / max(1e-9, min(bar_length_of(ts) for ts in
                                 [piece.time_signature] + [t for _, t in piece.time_signature_changes])) \
            > MAX_SCORE_BARS + 1:
        raise LimitError(f"this piece lasts {piece.end:g} quarter notes, over {MAX_SCORE_BARS} bars; "
                         "show a slice, e.g. piece.slice(0, 64).")
    bars = piece.bars(piece.end if piece.notes else None)
    if len(bars) > MAX_SCORE_BARS:
        raise LimitError(f"this piece has {len(bars)} bars, over the score limit of {MAX_SCORE_BARS}; "
                         "show a slice, e.g. piece.slice(0, 64).")
    groups = _staves(piece)
    n_staves = sum(len(staves) for _, staves in groups)
    if n_staves > MAX_SCORE_STAVES:
        raise LimitError(f"this piece needs {n_staves} staves (one per part), over the limit of "
                         f"{MAX_SCORE_STAVES}; merge parts, e.g. piece.with_notes([dataclasses.replace(n, part=None) "
                         "for n in piece.notes]), or show fewer parts.")
    spelling_key = piece.key
    if piece.key is None and not piece.key_changes:
        spelling_key = _inferred_key([n for n in piece.notes if not n.is_drum])

    score = stream.Score()
    score.metadata = metadata.Metadata()
    score.metadata.title = piece.title or ""
    # where each key signature goes: (position, key name)
    key_marks = ([(0.0, piece.key)] if piece.key else []) + list(piece.key_changes)
    tempo_marks = [(0.0, piece.tempo)] + list(piece.tempo_changes)
    first_staff = True
    for name, staves in groups:
        parts = []
        for staff in staves:
            part = stream.PartStaff() if len(staves) > 1 else stream.Part()
            if name:
                part.partName = name
            previous_ts = None
            for bar in bars:
                m = stream.Measure(number=bar.number)
                full = bar_length_of(bar.time_signature)
                if bar.number == 0:
                    m.paddingLeft = _q(full - bar.length)
                elif not bar.is_complete:
                    m.paddingRight = _q(full - bar.length)
                if bar is bars[0]:
                    m.insert(0, _clef(staff.clef))
                if bar.time_signature != previous_ts:
                    m.insert(0, meter.TimeSignature(f"{bar.time_signature[0]}/{bar.time_signature[1]}"))
                    previous_ts = bar.time_signature
                if not staff.drums:
                    for at, k in key_marks:
                        if bar.start - 1e-9 <= at < bar.end - 1e-9 or (at == 0.0 and bar is bars[0]):
                            m.insert(_q(max(0.0, at - bar.start)), _key_object(k))
                if first_staff:
                    for at, bpm in tempo_marks:
                        if bar.start - 1e-9 <= at < bar.end - 1e-9 or (at == 0.0 and bar is bars[0]):
                            m.insert(_q(max(0.0, at - bar.start)),
                                     tempo.MetronomeMark(number=round(bpm, 2), referent=1.0))
                used = [v for i, v in enumerate(staff.voices)
                        if i == 0 or any(ev.start < bar.end - 1e-9 and ev.end > bar.start + 1e-9 for ev in v)]
                if len(used) == 1:
                    _fill_measure(m, used[0], bar, piece, spelling_key, staff.drums, m21, True)
                else:
                    for i, events in enumerate(used):
                        v = stream.Voice(id=str(i + 1))
                        _fill_measure(v, events, bar, piece, spelling_key, staff.drums, m21, False)
                        m.insert(0, v)
                part.append(m)
            if staff.drums:
                from music21 import instrument

                part.insert(0, instrument.UnpitchedPercussion())
            parts.append(part)
            first_staff = False
        for part in parts:
            score.insert(0, part)
        if len(parts) > 1:
            score.insert(0, layout.StaffGroup(parts, symbol="brace", barTogether=True))
    singles = [staves for _, staves in groups]
    if len(groups) > 1 and all(len(st) == 1 for st in singles):  # a choir or band: one bracket
        score.insert(0, layout.StaffGroup(list(score.parts), symbol="bracket", barTogether=False))
    return score
