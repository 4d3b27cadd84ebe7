"""The one in-memory form of music in the course: :class:`Note` and :class:`Piece`.

Units, everywhere in the package:

* pitch — MIDI note number, 0–127 (60 = middle C = C4, 69 = A4 = 440 Hz);
* start, duration — quarter notes (a "beat" in 4/4), measured from the start of the piece;
* velocity — MIDI velocity, 1–127 (how hard the key is struck);
* tempo — quarter notes per minute (BPM).

Every other representation (MIDI files, music21 streams, piano rolls, tokens)
is converted to and from a ``Piece``; nothing converts between two of them directly.

Lesson: 01_representation
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Iterable, NamedTuple, Sequence

__all__ = [
    "Note",
    "Piece",
    "PITCH_CLASS_NAMES",
    "LETTER_PITCH_CLASS",
    "note_name",
    "pitch_from_name",
    "pitch_to_frequency",
    "frequency_to_pitch",
    "SCALES",
    "normalize_mode",
    "split_key",
    "parse_key",
    "key_signature_mode",
    "melody",
    "Bar",
    "BarMap",
    "beat_length",
    "bar_length_of",
]

PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Pitch class of each natural note letter (the white keys): C=0 ... B=11.
LETTER_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def note_name(pitch: int) -> str:
    """Scientific name of a MIDI pitch, e.g. ``60 -> 'C4'``, ``70 -> 'Bb4'`` (flats for black keys
    except F#, C#)."""
    pitch = int(pitch)
    return f"{PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}"


def _pitch_class_from_text(text: str) -> int:
    """'C' -> 0, 'F#' -> 6, 'Bb' -> 10, 'b-' (music21 flat) -> 10."""
    m = re.fullmatch(r"([A-Ga-g])([#sb\-♯♭]*)", text.strip())
    if not m:
        raise ValueError(
            f"{text!r} is not a note name: use a letter A–G with optional # or b, e.g. 'C', 'F#', 'Bb'."
        )
    pc = LETTER_PITCH_CLASS[m.group(1).upper()]
    for sign in m.group(2):
        pc += 1 if sign in "#s♯" else -1
    return pc % 12


def pitch_from_name(name: str) -> int:
    """MIDI pitch of a scientific note name: ``'C4' -> 60``, ``'A4' -> 69``, ``'Bb3' -> 58``."""
    # '-' is both music21's flat ('B-4' = Bb4) and the minus of MIDI's lowest octave ('C-1' = 0,
    # as note_name writes it). Octave -1 is the only negative octave MIDI has, so a '-1' at the
    # end is that octave ('B-1' = 11; write music21's B-flat 1 as 'Bb1').
    m = re.fullmatch(r"\s*([A-Ga-g][#b\-♯♭]*?)(-1|\d+)\s*", str(name))
    if not m:
        raise ValueError(
            f"{name!r} is not a note name with an octave: write e.g. 'C4' (middle C), 'F#3' or 'Bb5'."
        )
    letter_and_signs, octave = m.group(1), int(m.group(2))
    base = LETTER_PITCH_CLASS[letter_and_signs[0].upper()]
    shift = sum(1 if s in "#♯" else -1 for s in letter_and_signs[1:])
    pitch = (octave + 1) * 12 + base + shift
    if not 0 <= pitch <= 127:
        raise ValueError(f"{name!r} is MIDI pitch {pitch}, outside the MIDI range 0–127.")
    return pitch


def pitch_to_frequency(pitch: float, a4: float = 440.0) -> float:
    """Frequency in Hz of a MIDI pitch in equal temperament: ``f = a4 * 2 ** ((pitch - 69) / 12)``."""
    return a4 * 2.0 ** ((pitch - 69) / 12.0)


def frequency_to_pitch(frequency: float, a4: float = 440.0) -> float:
    """MIDI pitch (possibly fractional) of a frequency in Hz: ``69 + 12 * log2(f / a4)``."""
    if frequency <= 0:
        raise ValueError(f"a frequency must be positive (got {frequency} Hz).")
    return 69.0 + 12.0 * math.log2(frequency / a4)


#: Every scale and mode the course knows, as semitones above its tonic, ascending — the one key
#: and scale grammar: a ``Piece.key`` (``'E harmonic minor'``), :mod:`~musegen_helpers.theory`'s
#: scales and :func:`musegen_helpers.sampling.key_mask` all read their mode from here.
#: ``'minor'`` is the natural minor (aeolian) scale, as in music21's ``MinorScale``.
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),            # natural minor = aeolian
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),   # raised 7th: the leading tone of V and vii°
    "melodic minor": (0, 2, 3, 5, 7, 9, 11),    # the ascending form (raised 6th and 7th)
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "major pentatonic": (0, 2, 4, 7, 9),
    "minor pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "chromatic": tuple(range(12)),
}

# other names people write for the same modes ('' = a bare tonic, 'C' = C major)
_MODE_ALIASES = {
    "": "major", "maj": "major", "ionian": "major",
    "m": "minor", "min": "minor", "aeolian": "minor", "natural minor": "minor",
    "pentatonic": "major pentatonic",
}

# the mode whose key signature a score or a MIDI file writes for a scale that has none of its own
_SIGNATURE_MODE = {
    "harmonic minor": "minor", "melodic minor": "minor", "minor pentatonic": "minor", "blues": "minor",
    "major pentatonic": "major", "chromatic": "major",
}


def normalize_mode(mode: str) -> str:
    """The name in :data:`SCALES` of a mode or scale name: ``'Aeolian' -> 'minor'``,
    ``'m' -> 'minor'``, ``'harmonic_minor' -> 'harmonic minor'``, ``'' -> 'major'``.

    Raises ValueError naming the known modes for anything else. Lesson: 01_representation
    """
    if not isinstance(mode, str):
        raise ValueError(f"a mode must be a name such as 'major', 'minor' or 'dorian' (got {mode!r}).")
    text = re.sub(r"[\s_\-]+", " ", mode.lower()).strip()
    text = _MODE_ALIASES.get(text, text)
    if text not in SCALES:
        raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(SCALES)} "
                         "(or 'm' / 'aeolian' for minor, 'ionian' for major).")
    return text


def split_key(key: str) -> tuple[str, str]:
    """Split a key or scale name into ``(tonic as written, mode name in SCALES)``.

    ``'F# minor' -> ('F#', 'minor')``, ``'Bb' -> ('Bb', 'major')``, ``'B blues' -> ('B', 'blues')``,
    ``'E harmonic minor' -> ('E', 'harmonic minor')``. The tonic keeps its spelling (a letter
    A–G and at most one ``#``/``b``/``-``), for code that names notes by letter. Raises
    ValueError saying what a key looks like. Lesson: 01_representation
    """
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"a key must be a name such as 'C major' or 'A minor' (got {key!r}).")
    text = key.strip()
    m = re.fullmatch(r"([A-Ga-g])([#♯\-♭b]?)\s*(.*)", text)
    if not m:
        raise ValueError(f"unknown key {key!r}: write a tonic and a mode, e.g. 'C major', 'A minor', "
                         "'F# minor', 'E harmonic minor', 'D dorian'.")
    # 'Bb major' and 'Abm' have a flat; in 'B blues' or 'b minor' the 'b' belongs to the letter
    # or the word, so try the reading with the flat first and fall back to the one without.
    readings = [(m.group(1) + m.group(2), m.group(3))]
    if m.group(2) == "b":
        readings.append((m.group(1), "b" + m.group(3)))
    for tonic_text, rest in readings:
        try:
            return tonic_text, normalize_mode(rest)
        except ValueError:
            continue
    # name the word as the learner wrote it: 'blorp' in 'Bb blorp', 'blorp' in 'Bblorp'
    shown = readings[0][1] if len(readings) == 1 or re.match(r"[A-Ga-g]b\s", text) else readings[1][1]
    raise ValueError(f"unknown mode {shown.strip()!r} in key {key!r}: use one of "
                     f"{', '.join(SCALES)} (or 'm' / 'aeolian' for minor, 'ionian' for major).")


def parse_key(key: str) -> tuple[int, str]:
    """Split a key name into ``(tonic pitch class 0–11, mode name in SCALES)``.

    Accepts ``'C major'``, ``'A minor'``, ``'F# minor'``, ``'Bb major'``, ``'D dorian'``,
    ``'E harmonic minor'``, ``'G pentatonic'``, music21's ``'a minor'`` / ``'B- major'``, and
    short forms ``'C'`` (major) and ``'Am'`` (minor); every mode of :data:`SCALES`. Raises
    ValueError naming the known modes. Lesson: 01_representation
    """
    tonic_text, mode = split_key(key)
    return _pitch_class_from_text(tonic_text), mode


def key_signature_mode(mode: str) -> str:
    """The mode whose key signature a score or a MIDI file writes for a key in ``mode``: the mode
    itself for major, minor and the church modes; 'minor' for harmonic/melodic minor, minor
    pentatonic and blues; 'major' for major pentatonic and chromatic ('E harmonic minor' is written
    with E minor's one sharp). Lesson: 01_representation
    """
    mode = normalize_mode(mode)
    return _SIGNATURE_MODE.get(mode, mode)


_EPS = 1e-9
_VALID_BEAT_UNITS = (1, 2, 4, 8, 16, 32)


def _check_time_signature(time_signature, where: str = "time signature") -> tuple[int, int]:
    try:
        num, den = time_signature
        num, den = int(num), int(den)
    except (TypeError, ValueError):
        raise ValueError(f"{where} {time_signature!r} is not a (beats, beat unit) pair: "
                         "use e.g. (4, 4), (3, 4) or (6, 8).") from None
    if num < 1 or den not in _VALID_BEAT_UNITS:
        raise ValueError(f"{where} {num}/{den} is not valid: use e.g. (4, 4), (3, 4) or (6, 8).")
    return num, den


def bar_length_of(time_signature: tuple[int, int]) -> float:
    """Length of one full bar in quarter notes: ``beats * 4 / beat_unit`` (3/4 -> 3, 6/8 -> 3, 7/16 -> 1.75)."""
    num, den = time_signature
    return num * 4.0 / den


def beat_length(time_signature: tuple[int, int]) -> float:
    """The felt beat of a meter, in quarter notes — the one definition every module uses.

    Simple meters count the written unit (4/4 -> 1, 2/2 -> 2, 3/8 -> 0.5, 5/16 -> 0.25). Compound
    meters — a numerator of 6, 9, 12 ... (divisible by 3 and above 3) — count dotted beats of three
    units (6/8 -> 1.5, 9/8 -> 1.5, 12/16 -> 0.75). This is music21's ``TimeSignature.beatDuration``
    for these meters.

    Lesson: 01_representation
    """
    num, den = time_signature
    unit = 4.0 / den
    return 3 * unit if num % 3 == 0 and num > 3 else unit


class Bar(NamedTuple):
    """One bar (measure) of a piece, as :meth:`Piece.bars` lists them.

    Attributes:
        number: bar number as a score prints it — 0 for a pickup (anacrusis) bar, then 1, 2, ...
        start, end: position in quarter notes of its first beat and of the next bar line.
        time_signature: the meter in force in this bar.
    """

    number: int
    start: float
    end: float
    time_signature: tuple[int, int]

    @property
    def length(self) -> float:
        """Length in quarter notes (shorter than the meter for a pickup bar or a bar cut by a meter change)."""
        return self.end - self.start

    @property
    def is_complete(self) -> bool:
        """True when the bar is as long as its meter says."""
        return abs(self.length - bar_length_of(self.time_signature)) < 1e-6


class BarMap:
    """A piece's bars listed once (:meth:`Piece.bars`), for the bar and beat of many positions.

    ``Piece.bar_at`` and ``Piece.bar_and_beat`` answer one position; a metric or a checker that
    asks for every note builds one ``BarMap`` and asks it (binary search, O(log bars) a position).
    Positions past ``until`` extend the list as needed.
    """

    def __init__(self, piece: "Piece", until: float | None = None):
        self.piece = piece
        self.bars = piece.bars(until)
        self._starts = [bar.start for bar in self.bars]

    def bar(self, position: float) -> Bar:
        """The bar holding ``position`` (quarter notes); a bar line belongs to the bar it opens."""
        import bisect

        if position >= self.bars[-1].end - _EPS:  # past the listed bars: list further
            self.bars = self.piece.bars(position + max(8.0, position - self.bars[-1].end) + 2 * _EPS)
            self._starts = [bar.start for bar in self.bars]
        i = max(0, bisect.bisect_right(self._starts, position + _EPS) - 1)
        return self.bars[i]

    def bar_and_beat(self, position: float) -> tuple[Bar, float]:
        """``(bar, beat counted from 1)``; see :meth:`Piece.bar_and_beat`."""
        bar = self.bar(position)
        into = position - bar.start
        if bar.number == 0:  # a pickup's beats count back from bar 1
            into += bar_length_of(bar.time_signature) - bar.length
        return bar, 1.0 + into / beat_length(bar.time_signature)

    def is_on_beat(self, position: float) -> bool:
        """True when ``position`` falls on a beat (:func:`beat_length`) of its bar."""
        beat = self.bar_and_beat(position)[1]
        return abs(beat - round(beat)) < 1e-6


@dataclass(frozen=True)
class Note:
    """One sounding note.

    Attributes:
        pitch: MIDI note number 0–127 (60 = C4).
        start: onset in quarter notes from the start of the piece (>= 0).
        duration: length in quarter notes (> 0).
        velocity: MIDI velocity 1–127.
        part: optional part or voice label ('S', 'A', 'T', 'B', 'melody', a track name...).
        is_drum: True for notes on the General MIDI drum channel (10); their pitch names a drum,
            not a frequency, so melody code leaves them out.
    """

    pitch: int
    start: float
    duration: float
    velocity: int = 80
    part: str | None = None
    is_drum: bool = False

    def __post_init__(self):
        if not isinstance(self.pitch, (int,)) or isinstance(self.pitch, bool):
            try:
                whole = int(self.pitch)
            except (TypeError, ValueError):
                raise TypeError(f"a note's pitch must be a whole MIDI number, got {self.pitch!r}") from None
            if whole != self.pitch:  # 60.7 must not silently become 60
                raise ValueError(f"a note's pitch must be a whole MIDI number, got {self.pitch!r}; "
                                 "round it first, e.g. round(pitch).")
            object.__setattr__(self, "pitch", whole)
        if not 0 <= self.pitch <= 127:
            raise ValueError(f"pitch {self.pitch} is outside the MIDI range 0–127 (60 is middle C).")
        object.__setattr__(self, "start", float(self.start))
        object.__setattr__(self, "duration", float(self.duration))
        if not (math.isfinite(self.start) and self.start >= 0):
            raise ValueError(f"a note's start must be >= 0 quarter notes, got {self.start}.")
        if not (math.isfinite(self.duration) and self.duration > 0):
            raise ValueError(f"a note's duration must be > 0 quarter notes, got {self.duration}.")
        object.__setattr__(self, "velocity", int(min(127, max(1, int(self.velocity)))))

    @property
    def end(self) -> float:
        """Offset in quarter notes: ``start + duration``."""
        return self.start + self.duration

    @property
    def name(self) -> str:
        """Scientific pitch name, e.g. 'C4'."""
        return note_name(self.pitch)

    def __repr__(self) -> str:
        extra = f", part={self.part!r}" if self.part is not None else ""
        drum = ", drum" if self.is_drum else ""
        return (f"Note({self.name} pitch={self.pitch}, start={self.start:g}, "
                f"duration={self.duration:g}, velocity={self.velocity}{extra}{drum})")


@dataclass
class Piece:
    """A piece of music: notes plus the context needed to play, show and model them.

    Attributes:
        notes: the notes, kept sorted by (start, pitch).
        tempo: initial tempo in quarter notes per minute.
        time_signature: (beats per bar, beat unit), e.g. (3, 4) or (6, 8).
        key: key name such as 'G major' or 'E minor', or None when unknown.
        title: a human-readable title.
        source: where the piece came from (a file path or corpus id).
        tempo_changes: later tempo changes as (start in quarter notes, BPM) pairs.
        meta: free-form extra information (JSON-friendly values); never meter, key or pickup.
        time_signature_changes: later meter changes as (start in quarter notes, (beats, unit)) pairs;
            ``time_signature`` is the meter at 0. A change always starts a new bar.
        key_changes: later key changes as (start in quarter notes, key name) pairs; ``key`` is the key at 0.
        pickup: length in quarter notes of an anacrusis (an incomplete first bar), 0 when bar 1
            starts at 0. Must be shorter than one bar of ``time_signature``.

    Bars and beats are computed here and nowhere else: :meth:`bars`, :meth:`bar_at`,
    :meth:`bar_and_beat`, :meth:`time_signature_at`, :meth:`key_at` and :func:`beat_length`.
    """

    notes: list[Note] = field(default_factory=list)
    tempo: float = 120.0
    time_signature: tuple[int, int] = (4, 4)
    key: str | None = None
    title: str = ""
    source: str = ""
    tempo_changes: list[tuple[float, float]] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    time_signature_changes: list[tuple[float, tuple[int, int]]] = field(default_factory=list)
    key_changes: list[tuple[float, str]] = field(default_factory=list)
    pickup: float = 0.0

    def __post_init__(self):
        # every field in the key, so equal note sets give equal lists (and equal Pieces)
        self.notes = sorted(self.notes, key=lambda n: (n.start, n.pitch, n.part or "", n.duration,
                                                       n.is_drum, n.velocity, n.part is None))
        if not (isinstance(self.tempo, (int, float)) and 1 <= self.tempo <= 1000):
            raise ValueError(f"tempo must be between 1 and 1000 quarter notes per minute, got {self.tempo!r}.")
        self.tempo = float(self.tempo)
        self.time_signature = _check_time_signature(self.time_signature)
        if self.key is not None:
            parse_key(self.key)  # raises a clear error for unknown names
        self.tempo_changes = sorted((float(b), float(t)) for b, t in self.tempo_changes)
        # meter and key maps: sorted, one entry per position (the last given wins), a change at 0
        # replaces the opening value, and an entry that repeats the value in force is not a change
        ts_at: dict[float, tuple[int, int]] = {}
        for at, ts in self.time_signature_changes:
            at = float(at)
            if not (math.isfinite(at) and at >= 0):
                raise ValueError(f"a time-signature change must be at a position >= 0 quarter notes, got {at}.")
            ts_at[at] = _check_time_signature(ts, f"time-signature change at {at:g}:")
        if 0.0 in ts_at:
            self.time_signature = ts_at.pop(0.0)
        changes, current = [], self.time_signature
        for at in sorted(ts_at):
            if ts_at[at] != current:
                changes.append((at, ts_at[at]))
                current = ts_at[at]
        self.time_signature_changes = changes
        key_at: dict[float, str] = {}
        for at, name in self.key_changes:
            at = float(at)
            if not (math.isfinite(at) and at >= 0):
                raise ValueError(f"a key change must be at a position >= 0 quarter notes, got {at}.")
            parse_key(name)
            key_at[at] = name
        if 0.0 in key_at:
            self.key = key_at.pop(0.0)
        kchanges, current_key = [], self.key
        for at in sorted(key_at):
            if current_key is None or parse_key(key_at[at]) != parse_key(current_key):
                kchanges.append((at, key_at[at]))
                current_key = key_at[at]
        self.key_changes = kchanges
        pickup = float(self.pickup or 0.0)
        first_bar = bar_length_of(self.time_signature)
        if not (math.isfinite(pickup) and 0 <= pickup < first_bar - 1e-9):
            raise ValueError(
                f"a pickup (anacrusis) must be at least 0 and shorter than one bar of "
                f"{self.time_signature[0]}/{self.time_signature[1]} ({first_bar:g} quarter notes), got {self.pickup!r}.")
        self.pickup = pickup

    # ---- simple facts -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.notes)

    def __iter__(self):
        return iter(self.notes)

    @property
    def end(self) -> float:
        """Length in quarter notes: the latest note offset (0 for an empty piece)."""
        return max((n.end for n in self.notes), default=0.0)

    @property
    def bar_length(self) -> float:
        """Length of one full bar of the opening meter in quarter notes: ``beats * 4 / beat_unit``
        (3/4 -> 3, 6/8 -> 3). With meter changes, use :meth:`bars` for each bar's length."""
        return bar_length_of(self.time_signature)

    @property
    def n_bars(self) -> int:
        """Number of bars the notes reach into (a pickup bar counts as one; 0 for no notes)."""
        return len(self.bars()) if self.notes else 0

    # ---- meter, key and bar positions: the one definition ------------------------------
    def time_signature_at(self, position: float) -> tuple[int, int]:
        """The meter in force at a position (quarter notes)."""
        ts = self.time_signature
        for at, change in self.time_signature_changes:
            if at > position + _EPS:
                break
            ts = change
        return ts

    def key_at(self, position: float) -> str | None:
        """The key in force at a position (quarter notes), or None when unknown."""
        key = self.key
        for at, change in self.key_changes:
            if at > position + _EPS:
                break
            key = change
        return key

    def bars(self, until: float | None = None) -> list[Bar]:
        """The bars from 0 up to ``until`` (quarter notes; default: the end of the last note),
        following the pickup and every meter change.

        The pickup bar is bar 0 (``[0, pickup)``); each later bar lasts one bar of its meter,
        except that a meter change falling inside a bar ends that bar there (a change always
        starts a new bar). An empty piece has one bar. Shapes: a list of :class:`Bar`.

        Lesson: 01_representation
        """
        until = self.end if until is None else float(until)
        out: list[Bar] = []
        pos, number = 0.0, 1
        if self.pickup > 0:
            out.append(Bar(0, 0.0, self.pickup, self.time_signature))
            pos = self.pickup
        changes = [at for at, _ in self.time_signature_changes]
        while pos < until - _EPS or not out:
            ts = self.time_signature_at(pos)
            end = pos + bar_length_of(ts)
            for at in changes:
                if pos + _EPS < at < end - _EPS:
                    end = at
                    break
            out.append(Bar(number, pos, end, ts))
            pos, number = end, number + 1
        return out

    def bar_at(self, position: float) -> Bar:
        """The bar that contains a position (quarter notes); a bar line belongs to the bar it opens."""
        return BarMap(self, until=position + 2 * _EPS).bar(position)

    def bar_and_beat(self, position: float) -> tuple[int, float]:
        """``(bar number, beat)`` of a position in quarter notes, as a musician counts: bar 0 is the
        pickup, beats count from 1 in units of :func:`beat_length` (4/4: quarter 2.5 -> (1, 3.5);
        6/8: quarter 1.5 -> (1, 2.0)). A pickup's beats are counted back from its bar line (a
        one-beat upbeat in 4/4 is beat 4 of bar 0). For many positions use :class:`BarMap`.

        Lesson: 01_representation
        """
        bar, beat = BarMap(self, until=position + 2 * _EPS).bar_and_beat(position)
        return bar.number, beat

    @property
    def parts(self) -> list[str | None]:
        """Part labels, highest-sounding part first (soprano before bass), as a score lists them."""
        pitches: dict[str | None, list[int]] = {}
        for n in self.notes:
            pitches.setdefault(n.part, []).append(n.pitch)
        return sorted(pitches, key=lambda label: -sum(pitches[label]) / len(pitches[label]))

    @property
    def pitches(self) -> list[int]:
        """MIDI pitches of the pitched (non-drum) notes in time order."""
        return [n.pitch for n in self.notes if not n.is_drum]

    def part(self, label: str | None) -> "Piece":
        """The notes of one part as a new Piece (same tempo, meter, key)."""
        if label not in self.parts:
            raise KeyError(f"no part {label!r} in this piece; its parts are {self.parts}.")
        return self.with_notes([n for n in self.notes if n.part == label])

    def pitched(self) -> "Piece":
        """This piece without drum notes."""
        return self.with_notes([n for n in self.notes if not n.is_drum])

    def with_notes(self, notes: Iterable[Note], **changes) -> "Piece":
        """A copy with other notes (and optionally other fields)."""
        changes.setdefault("meta", dict(self.meta))  # a copy, so the two pieces never share it
        return replace(self, notes=list(notes), **changes)

    def seconds_at(self, beat: float) -> float:
        """Time in seconds of a position in quarter notes, following the tempo changes."""
        seconds, last_beat, bpm = 0.0, 0.0, self.tempo
        for change_beat, change_bpm in self.tempo_changes:
            if change_beat >= beat:
                break
            seconds += (change_beat - last_beat) * 60.0 / bpm
            last_beat, bpm = change_beat, change_bpm
        return seconds + (beat - last_beat) * 60.0 / bpm

    @property
    def duration_seconds(self) -> float:
        """Length in seconds at the piece's tempo."""
        return self.seconds_at(self.end)

    # ---- transformations ------------------------------------------------------------
    def transpose(self, semitones: int) -> "Piece":
        """Move every pitched note by ``semitones`` (drums stay); the key name moves with it.

        Raises ValueError, naming the offending note, when a note would leave 0–127.
        """
        if int(semitones) != semitones:
            raise ValueError(f"transpose by a whole number of semitones, got {semitones!r}.")
        semitones = int(semitones)
        out = []
        for n in self.notes:
            if n.is_drum:
                out.append(n)
                continue
            new = n.pitch + semitones
            if not 0 <= new <= 127:
                raise ValueError(
                    f"transposing {n.name} (pitch {n.pitch}) by {semitones:+d} semitones gives {new}, "
                    "outside MIDI's 0–127; transpose by fewer semitones."
                )
            out.append(replace(n, pitch=new))
        def moved(name):
            if name is None:
                return None
            tonic, mode = parse_key(name)
            return f"{PITCH_CLASS_NAMES[(tonic + semitones) % 12]} {mode}"

        return self.with_notes(out, key=moved(self.key),
                               key_changes=[(at, moved(name)) for at, name in self.key_changes])

    def slice(self, start: float, end: float) -> "Piece":
        """The music between two positions (quarter notes), moved to start at 0.

        Notes that overlap the window are cut to it; notes outside are dropped.
        Tempo, meter and key in force at ``start`` become the slice's opening ones; changes inside
        the window are kept (shifted). A slice that starts inside a bar (or at the start of the piece's
        own pickup) opens with a pickup that lasts to the next bar line; one that starts on the bar line of
        a full bar has none.
        """
        if end <= start:
            raise ValueError(f"slice end ({end}) must be after its start ({start}), in quarter notes.")
        out = []
        for n in self.notes:
            a, b = max(n.start, start), min(n.end, end)
            if b - a > 1e-9:
                out.append(replace(n, start=a - start, duration=b - a))
        tempo = self.tempo
        changes = []
        for beat, bpm in self.tempo_changes:
            if beat <= start:
                tempo = bpm
            elif beat < end:
                changes.append((beat - start, bpm))
        bar = self.bar_at(start)
        pickup = bar.end - start   # to the next bar line: a pickup bar kept from its start stays a pickup
        opening = self.time_signature_at(start)
        if pickup >= bar_length_of(opening) - 1e-9:
            pickup = 0.0
        return self.with_notes(
            out, tempo=tempo, tempo_changes=changes, pickup=pickup,
            time_signature=opening, key=self.key_at(start),
            time_signature_changes=[(at - start, ts) for at, ts in self.time_signature_changes
                                    if start + _EPS < at < end - _EPS],
            key_changes=[(at - start, k) for at, k in self.key_changes if start + _EPS < at < end - _EPS])

    def quantize(self, grid: float = 0.25) -> "Piece":
        """Snap onsets and offsets to a grid (quarter notes; 0.25 = sixteenth notes).

        A note shorter than one grid step keeps one step. Quantising twice equals
        quantising once.
        """
        if not grid > 0:
            raise ValueError(f"the grid must be a positive number of quarter notes (0.25 = 16ths), got {grid}.")
        out = []
        for n in self.notes:
            # whole numbers of steps first, so both ends are exact multiples of the grid
            # (``a + grid`` can be one rounding off, and then quantising again moves the note)
            first = round(n.start / grid)
            last = max(round(n.end / grid), first + 1)
            a, b = first * grid, last * grid
            out.append(replace(n, start=a, duration=b - a))
        return self.with_notes(out)

    # ---- display ----------------------------------------------------------------
    def __repr__(self) -> str:
        num, den = self.time_signature
        head = f"Piece({self.title!r}, " if self.title else "Piece("
        parts = [p for p in self.parts if p is not None]
        part_text = f", parts={parts}" if parts else ""
        drums = sum(n.is_drum for n in self.notes)
        drum_text = f", {drums} drum notes" if drums else ""
        lo_hi = ""
        if self.pitches:
            lo_hi = f", range {note_name(min(self.pitches))}–{note_name(max(self.pitches))}"
        meter = f"{num}/{den}" + (f" (+{len(self.time_signature_changes)} meter changes)"
                                  if self.time_signature_changes else "")
        key = (self.key or "?") + (f" (+{len(self.key_changes)} key changes)" if self.key_changes else "")
        pickup = f", pickup {self.pickup:g}" if self.pickup else ""
        return (f"{head}{len(self.notes)} notes, {self.n_bars} bars of {meter}{pickup}, "
                f"key={key}, tempo={self.tempo:g} BPM{part_text}{lo_hi}{drum_text})")

    def _repr_html_(self):  # pragma: no cover - notebook display
        return None


def melody(pitches: Sequence[int | str | None], durations: float | Sequence[float] = 1.0, *,
           tempo: float = 120.0, time_signature: tuple[int, int] = (4, 4), key: str | None = None,
           velocity: int = 80, title: str = "") -> Piece:
    """Build a one-voice Piece from pitches (MIDI numbers or names like 'C4'; None = rest)
    played one after another. ``durations`` is one length in quarter notes for all, or one per pitch."""
    if isinstance(durations, (int, float)):
        durations = [float(durations)] * len(pitches)
    if len(durations) != len(pitches):
        raise ValueError(f"got {len(pitches)} pitches but {len(durations)} durations; give one duration per pitch.")
    notes, t = [], 0.0
    for p, d in zip(pitches, durations):
        if p is not None:
            pitch = pitch_from_name(p) if isinstance(p, str) else int(p)
            notes.append(Note(start=t, pitch=pitch, duration=d, velocity=velocity))
        t += d
    return Piece(notes, tempo=tempo, time_signature=time_signature, key=key, title=title)
