"""A rule-based composer: a melody over a chord progression, built from music-theory rules.

:func:`compose` writes a melody one note at a time. Each note is drawn at random from the
pitches the rules allow, weighted by how much the rules like them; when a choice leads to a
dead end (a passing tone with nowhere to resolve, a leap with no step back), the composer
backs up and tries another. The rules, each switchable and weighted in a :class:`RuleSet`:

* stay in the key; chord tones on strong beats; passing and neighbour tones on weak beats;
* prefer steps to leaps (``stepwise_weight``), step back after a leap, no leaps larger than
  ``max_leap``, no awkward leaps (tritone, sevenths); stay within ``melody_range``;
* rhythm: one bar pattern per bar, drawn from a small weighted library for each meter, and
  repeated from two bars earlier unless ``rhythm_variety`` says otherwise;
* cadence: the music ends V–I with the melody stepping onto the tonic, held for a whole bar.

With ``harmonize=True`` the melody becomes the soprano of a four-voice texture whose alto,
tenor and bass are found by a search over chord voicings (Viterbi, exact) that minimises how
far the voices move and rejects parallel fifths and octaves, voice crossing, spacing wider
than an octave and notes outside the SATB ranges — the checks of :mod:`musegen_helpers.theory`.

Every piece carries its recipe in ``piece.meta``: the chords, the rules, the seed, and one
line per melody note saying which rule chose it (:func:`explain`). :func:`check_melody`
checks any melody against the same rules.

Units: pitch = MIDI note number, positions and durations in quarter notes, tempo in BPM.

Lesson: 02_rule_based
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .config import check_seed
from .music import Note, Piece, bar_length_of, beat_length, note_name, parse_key, pitch_from_name, split_key
from .theory import (
    Chord, Violation, check_voice_leading, describe_position, interval_name,
    parallel_motion_matrix, parse_roman, roman_to_chord, scale_note_names, scale_pitch_classes, split_progression,
)

__all__ = [
    "RuleSet", "compose", "check_melody", "explain", "describe_rules", "PRESETS",
    "preset_progression", "RHYTHMS", "STRONG_BEATS", "METERS",
]

# ----------------------------------------------------------------------------------------
# Presets and rhythm libraries
# ----------------------------------------------------------------------------------------

#: Preset progressions: name -> (Roman numerals, what it is). Minor ones suit a minor key.
PRESETS: dict[str, tuple[tuple[str, ...], str]] = {
    "pop": (("I", "V", "vi", "IV"), "I–V–vi–IV, the 'four chords' behind countless pop songs"),
    "doo-wop": (("I", "vi", "IV", "V"), "I–vi–IV–V, the 1950s doo-wop progression"),
    "pachelbel": (("I", "V", "vi", "iii", "IV", "I", "IV", "V"), "the bass line of Pachelbel's Canon in D"),
    "blues": (("I7", "I7", "I7", "I7", "IV7", "IV7", "I7", "I7", "V7", "IV7", "I7", "V7"),
              "the 12-bar blues, all dominant sevenths"),
    "ii-V-I": (("ii7", "V7", "Imaj7", "Imaj7"), "ii7–V7–Imaj7, the cadence at the heart of jazz"),
    "classical": (("I", "IV", "ii6", "V7", "I", "vi", "IV", "V"), "tonic, predominant, dominant, twice"),
    "circle": (("I", "IV", "vii°", "iii", "vi", "ii", "V", "I"), "diatonic circle of fifths"),
    "minor": (("i", "iv", "V", "i"), "i–iv–V–i, the basic minor-key cadence (V has the raised leading tone)"),
    "andalusian": (("i", "VII", "VI", "V"), "i–VII–VI–V, the descending flamenco progression (minor key)"),
}

#: Meters the composer knows, as (beats, beat unit).
METERS = ((4, 4), (3, 4), (2, 4), (6, 8))

#: Bar rhythms per meter: (note durations in quarter notes, weight). Each pattern fills one bar.
RHYTHMS: dict[tuple[int, int], tuple[tuple[tuple[float, ...], float], ...]] = {
    (4, 4): (
        ((1, 1, 1, 1), 4), ((1, 1, 2), 3), ((2, 1, 1), 2), ((0.5, 0.5, 1, 1, 1), 2),
        ((1, 0.5, 0.5, 1, 1), 2), ((1, 1, 0.5, 0.5, 1), 2), ((1.5, 0.5, 1, 1), 2),
        ((1, 1, 1, 0.5, 0.5), 1), ((1.5, 0.5, 2), 1), ((2, 2), 1), ((0.5, 0.5, 0.5, 0.5, 1, 1), 1),
        ((3, 1), 0.5),
    ),
    (3, 4): (
        ((1, 1, 1), 4), ((2, 1), 3), ((1, 0.5, 0.5, 1), 2), ((1.5, 0.5, 1), 2),
        ((0.5, 0.5, 1, 1), 1), ((1, 1, 0.5, 0.5), 1), ((3,), 0.5),
    ),
    (2, 4): (
        ((1, 1), 4), ((0.5, 0.5, 1), 2), ((1, 0.5, 0.5), 2), ((1.5, 0.5), 1),
        ((0.5, 0.5, 0.5, 0.5), 1), ((2,), 0.5),
    ),
    (6, 8): (
        ((1, 0.5, 1, 0.5), 4), ((1.5, 1.5), 2), ((1.5, 1, 0.5), 2), ((1, 0.5, 1.5), 2),
        ((0.5, 0.5, 0.5, 1, 0.5), 1), ((0.5,) * 6, 1), ((3,), 0.3),
    ),
}

#: Strong beats per meter, in quarter notes from the start of the bar.
STRONG_BEATS: dict[tuple[int, int], tuple[float, ...]] = {
    (4, 4): (0.0, 2.0), (3, 4): (0.0,), (2, 4): (0.0,), (6, 8): (0.0, 1.5),
}

_SATB = (("S", 60, 79), ("A", 55, 74), ("T", 48, 67), ("B", 40, 60))
_MAX_NODES = 20_000   # backtracking budget per attempt; real pieces need ~1.1 nodes per note
_CLASH = 10_000.0     # cost of one voice-leading violation in the voicing search
_MAX_VOICINGS = 60    # voicings per chord kept for the search
_HARMONY_TRIES = 12   # melodies drawn at most, in harmonise mode, to find one with a clean harmonisation


# ----------------------------------------------------------------------------------------
# RuleSet
# ----------------------------------------------------------------------------------------

def _doc(text: str) -> dict:
    return {"doc": text}


@dataclass(frozen=True)
class RuleSet:
    """The composer's rules, each one switchable (bool) or weighted (number).

    Weights multiply how likely a candidate note is; 1.0 means "no preference".
    ``RuleSet(stepwise_weight=6.0)`` prefers steps even more; ``RuleSet.none()`` switches
    every rule off. ``rules.replace(cadence=False)`` gives a changed copy.
    """

    stay_in_key: bool = field(default=True, metadata=_doc(
        "every note belongs to the key's scale (altered to fit chords like V in minor); off: chromatic notes may appear on weak beats"))
    chord_tones_on_strong_beats: bool = field(default=True, metadata=_doc(
        "notes on strong beats (and where the chord changes) are chord tones"))
    passing_tones: bool = field(default=True, metadata=_doc(
        "weak beats may hold non-chord tones (passing and neighbour tones); off: weak beats hold chord tones only"))
    non_chord_tones_resolve: bool = field(default=True, metadata=_doc(
        "a non-chord tone on a weak beat is a passing or neighbour tone: reached by step and left by step to a chord tone; off: weak beats may hold any note"))
    stepwise_weight: float = field(default=3.0, metadata=_doc(
        "how much likelier a step (1–2 semitones) is than a small leap; 1 = no preference, 0 = only as a last resort (0–20)"))
    repeated_note_weight: float = field(default=0.5, metadata=_doc(
        "how likely repeating the same pitch is, next to a small leap (0–20)"))
    leap_recovery: bool = field(default=True, metadata=_doc(
        "after a leap of a fourth or more, step back the other way"))
    max_leap: int = field(default=12, metadata=_doc(
        "largest melodic leap allowed, in semitones (1–24; 12 = an octave)"))
    avoid_awkward_leaps: bool = field(default=True, metadata=_doc(
        "no leaps of a tritone or a seventh (hard to sing)"))
    melody_range: tuple[int, int] = field(default=(60, 79), metadata=_doc(
        "lowest and highest melody pitch, MIDI numbers or names (default C4–G5, the soprano range)"))
    cadence: bool = field(default=True, metadata=_doc(
        "end with V–I: the melody steps onto the tonic and holds it for the last bar"))
    rhythm_variety: float = field(default=0.5, metadata=_doc(
        "chance that a bar gets a fresh rhythm instead of repeating the one two bars back (0 = one rhythm throughout, 1 = always fresh)"))

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type in ("bool", bool):
                if not isinstance(value, (bool, np.bool_)):
                    raise ValueError(f"rule {f.name!r} is switched on or off with True/False, got {value!r}.")
                object.__setattr__(self, f.name, bool(value))
        for name in ("stepwise_weight", "repeated_note_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                    or not math.isfinite(value) or not 0 <= value <= 20:
                raise ValueError(f"{name} must be a number from 0 to 20 (1 = no preference), got {value!r}.")
            object.__setattr__(self, name, float(value))
        v = self.rhythm_variety
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not 0 <= v <= 1:
            raise ValueError(f"rhythm_variety is a chance from 0 to 1, got {v!r}.")
        object.__setattr__(self, "rhythm_variety", float(v))
        leap = self.max_leap
        if isinstance(leap, bool) or not isinstance(leap, (int, np.integer)) or not 1 <= leap <= 24:
            raise ValueError(f"max_leap is a whole number of semitones from 1 to 24 (12 = an octave), got {leap!r}.")
        object.__setattr__(self, "max_leap", int(leap))
        try:
            low, high = self.melody_range
        except (TypeError, ValueError):
            raise ValueError(f"melody_range is (lowest, highest), e.g. (60, 79) or ('C4', 'G5'), "
                             f"got {self.melody_range!r}.") from None
        low = pitch_from_name(low) if isinstance(low, str) else low
        high = pitch_from_name(high) if isinstance(high, str) else high
        for p in (low, high):
            if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 21 <= p <= 108:
                raise ValueError(f"melody_range pitches must be MIDI numbers 21–108 (the piano), got {p!r}.")
        if high - low < 12:
            raise ValueError(f"melody_range {note_name(low)}–{note_name(high)} is narrower than an octave; "
                             "give the melody at least 12 semitones.")
        object.__setattr__(self, "melody_range", (int(low), int(high)))

    @classmethod
    def none(cls) -> "RuleSet":
        """Every rule off and every weight neutral: notes drawn freely from the range."""
        return cls(stay_in_key=False, chord_tones_on_strong_beats=False, passing_tones=True,
                   non_chord_tones_resolve=False,
                   stepwise_weight=1.0, repeated_note_weight=1.0, leap_recovery=False, max_leap=24,
                   avoid_awkward_leaps=False, cadence=False, rhythm_variety=1.0)

    def replace(self, **changes) -> "RuleSet":
        """A copy with some rules changed; unknown rule names raise a ValueError listing the rules."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown rule(s) {unknown}: the rules are {', '.join(sorted(names))}.")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The rules as a JSON-friendly dict (``RuleSet(**d)`` rebuilds them)."""
        d = dataclasses.asdict(self)
        d["melody_range"] = list(self.melody_range)
        return d

    @classmethod
    def from_dict(cls, values: Mapping) -> "RuleSet":
        """Rules from a dict, e.g. ``piece.meta['rules']``; unknown names raise a ValueError."""
        return cls().replace(**{k: (tuple(v) if k == "melody_range" else v) for k, v in values.items()})


def describe_rules(rules: RuleSet | None = None) -> str:
    """A table of the rules: name, current value, what it does."""
    rules = rules or RuleSet()
    lines = []
    for f in dataclasses.fields(rules):
        value = getattr(rules, f.name)
        if f.name == "melody_range":
            value = f"{note_name(value[0])}–{note_name(value[1])}"
        lines.append(f"{f.name:<28} {str(value):<8} {f.metadata['doc']}")
    return "\n".join(lines)


def _as_rules(rules) -> RuleSet:
    if rules is None:
        return RuleSet()
    if isinstance(rules, RuleSet):
        return rules
    if isinstance(rules, Mapping):
        return RuleSet.from_dict(rules)
    raise ValueError(f"rules must be a RuleSet (or a dict of rule values), got {type(rules).__name__}.")


# ----------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------

def _normalise_name(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("–", "-").replace("—", "-").strip().lower())


_PRESET_LOOKUP = {_normalise_name(name): name for name in PRESETS}
_PRESET_LOOKUP.update({"12-bar blues": "blues", "ii-v-i": "ii-V-I", "251": "ii-V-I",
                       "canon": "pachelbel", "four chords": "pop", "50s": "doo-wop"})


def preset_progression(name: str) -> list[str]:
    """The Roman numerals of a preset: ``preset_progression('pop') == ['I', 'V', 'vi', 'IV']``.

    Names are matched loosely: 'pop I–V–vi–IV', 'blues 12-bar' and 'Pachelbel' all work.
    """
    text = _normalise_name(str(name))
    found = _PRESET_LOOKUP.get(text) or _PRESET_LOOKUP.get(text.split(" ")[0] if text else "")
    if found is None:
        raise ValueError(f"unknown progression preset {name!r}: choose one of {', '.join(PRESETS)}.")
    return list(PRESETS[found][0])


def _resolve_progression(progression) -> list[str]:
    if isinstance(progression, str):
        try:
            return preset_progression(progression)
        except ValueError:
            pass
        try:
            numerals = split_progression(progression)
            for n in numerals:
                parse_roman(n)
            return numerals
        except ValueError:
            raise ValueError(
                f"unknown progression {progression!r}: use a preset name ({', '.join(PRESETS)}) or Roman "
                "numerals such as 'I vi IV V' or ['I', 'IV', 'V7', 'I'].") from None
    if not isinstance(progression, Sequence) or not progression:
        raise ValueError(f"progression must be a preset name or a non-empty list of Roman numerals, "
                         f"got {progression!r}.")
    numerals = [str(n).strip() for n in progression]
    for n in numerals:
        parse_roman(n)  # raises a ValueError naming the bad numeral
    return numerals


def _resolve_meter(meter) -> tuple[int, int]:
    if isinstance(meter, str):
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", meter)
        meter = (int(m.group(1)), int(m.group(2))) if m else meter
    try:
        meter = (int(meter[0]), int(meter[1]))
    except (TypeError, ValueError, IndexError):
        meter = None
    if meter not in RHYTHMS:
        raise ValueError(f"meter must be one of {', '.join(f'{a}/{b}' for a, b in METERS)} "
                         "(as a tuple such as (3, 4) or text '3/4').")
    return meter


# ----------------------------------------------------------------------------------------
# The composer
# ----------------------------------------------------------------------------------------

@dataclass
class _Slot:
    """One chord's span: start/end in quarter notes, its chord, allowed pitch classes."""

    start: float
    end: float
    chord: Chord
    chord_pcs: frozenset
    scale_pcs: frozenset


def _local_scale(key_names: list[str], key_pcs: tuple[int, ...], chord: Chord) -> frozenset:
    """The key's scale with the chord's altered notes swapped in (G for G# over V in A minor)."""
    pcs = dict(zip((n[0] for n in key_names), key_pcs))
    for name, pc in zip(chord.note_names, chord.pitch_classes):
        pcs[name[0]] = pc
    return frozenset(pcs.values())


def _is_dominant(numeral: str) -> bool:
    rn = parse_roman(numeral)
    return rn.secondary is None and rn.alteration == 0 and rn.degree == 5 and \
        rn.quality in ("major", "dominant seventh")


def _is_tonic(numeral: str) -> bool:
    rn = parse_roman(numeral)
    return rn.secondary is None and rn.alteration == 0 and rn.degree == 1


def _slot_numerals(numerals: list[str], n_slots: int, chords_per_bar: int, cadence: bool, minor: bool):
    slots = [numerals[i % len(numerals)] for i in range(n_slots)]
    if cadence:
        # reuse the progression's own tonic and dominant (I7 in the blues, V7 in 'classical')
        root_position = [n for n in numerals if parse_roman(n).inversion == 0]
        tonic = next((n for n in root_position if _is_tonic(n)), "i" if minor else "I")
        dominant = next((n for n in root_position if _is_dominant(n)), "V")
        for i in range(n_slots - chords_per_bar, n_slots):
            slots[i] = tonic
        if not _is_dominant(slots[-chords_per_bar - 1]):
            slots[-chords_per_bar - 1] = dominant
    return slots


def _weighted_order(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """A random order of candidates where each comes first with probability ∝ its weight
    (Efraimidis–Spirakis keys). A zero weight puts a candidate last: it is used only when
    nothing else leads anywhere (a zero stepwise_weight must not make a cadence impossible)."""
    if weights.size <= 1:
        return np.arange(weights.size)
    keys = np.log(rng.random(weights.size)) / np.maximum(weights, 1e-12)
    return np.argsort(-keys, kind="stable")


@functools.lru_cache(maxsize=32)
def _rhythm_library(meter: tuple[int, int], chords_per_bar: int):
    """The bar rhythms of a meter that start a note wherever the chord changes, and their
    cumulative probabilities."""
    bar_len = bar_length_of(meter)
    changes = [k * bar_len / chords_per_bar for k in range(chords_per_bar)]
    library = []
    for durations, weight in RHYTHMS[meter]:
        onsets = np.cumsum((0.0,) + tuple(durations[:-1]))
        if all(np.any(np.abs(onsets - c) < 1e-9) for c in changes):
            library.append((tuple(float(d) for d in durations), weight))
    weights = np.array([w for _, w in library], dtype=float)
    return tuple(r for r, _ in library), np.cumsum(weights / weights.sum())


def _choose_rhythms(rng, meter, bars, chords_per_bar, rules):
    bar_len = bar_length_of(meter)
    library, cumulative = _rhythm_library(meter, chords_per_bar)
    rhythms = []
    for b in range(bars):
        if rules.cadence and b == bars - 1:
            rhythms.append((bar_len,))
            continue
        source = b - 2 if b >= 2 else 0
        fresh = rng.random() < rules.rhythm_variety
        if b == 0 or fresh:
            pick = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
            rhythms.append(library[min(pick, len(library) - 1)])
        else:
            rhythms.append(rhythms[source])
    return rhythms


def compose(key: str = "C major", progression: Sequence[str] | str = "pop", bars: int = 8,
            meter: tuple[int, int] | str = (4, 4), tempo: float = 100, seed: int | None = 0,
            rules: RuleSet | Mapping | None = None, harmonize: bool | str = False,
            chords_per_bar: int = 1, accompaniment: bool = False, title: str | None = None) -> Piece:
    """Compose a melody over a chord progression by following music-theory rules.

    Args:
        key: e.g. 'C major', 'A minor', 'D dorian'.
        progression: a preset name (see :data:`PRESETS`: 'pop', 'doo-wop', 'pachelbel', 'blues',
            'ii-V-I', 'classical', 'circle', 'minor', 'andalusian') or Roman numerals
            (['I', 'vi', 'IV', 'V'] or 'I vi IV V'); it repeats to fill the bars.
        bars: number of bars (2–256 with a cadence).
        meter: (4, 4), (3, 4), (2, 4) or (6, 8).
        tempo: quarter notes per minute (20–300).
        seed: the same seed gives the same piece; None draws a fresh one.
        rules: a :class:`RuleSet` (or dict of rule values); default ``RuleSet()``.
        harmonize: False for a melody alone (part 'melody'); True or 'melody' adds alto, tenor and
            bass under the melody (parts 'S', 'A', 'T', 'B'; the melody then keeps to the soprano
            range C4–G5, leaps at most an octave and spans at most a fifth over one chord, so that
            the lower voices fit); 'chorale' writes four voices that each move once per chord,
            the soprano chosen by the same search.
        chords_per_bar: 1, or 2 for a chord every half bar (not in 3/4).
        accompaniment: add block chords (part 'chords') under a lone melody, to hear the harmony.
        title: the piece's title (default describes the recipe).

    Returns:
        A Piece; ``piece.meta`` holds 'chords' (start, end, numeral, symbol, pitch classes),
        'progression', 'rules', 'seed', and 'explanation' (one line per melody note, see
        :func:`explain`).
    """
    rules = _as_rules(rules)
    tonic_pc, mode = parse_key(key)  # the Piece's key must be one music.py understands
    tonic_text, _ = split_key(key)
    key_name = f"{tonic_text[0].upper()}{tonic_text[1:]} {mode}"
    if isinstance(bars, bool) or not isinstance(bars, (int, np.integer)) or not 1 <= bars <= 256:
        raise ValueError(f"bars must be a whole number from 1 to 256, got {bars!r}.")
    bars = int(bars)
    if rules.cadence and bars < 2:
        raise ValueError("a cadence needs at least 2 bars (V, then I); ask for more bars or set cadence=False.")
    meter = _resolve_meter(meter)
    if isinstance(tempo, bool) or not isinstance(tempo, (int, float, np.number)) or not 20 <= tempo <= 300:
        raise ValueError(f"tempo must be 20–300 quarter notes per minute, got {tempo!r}.")
    seed = check_seed(seed)
    if chords_per_bar not in (1, 2) or isinstance(chords_per_bar, bool):
        raise ValueError(f"chords_per_bar must be 1 or 2, got {chords_per_bar!r}.")
    if chords_per_bar == 2 and meter == (3, 4):
        raise ValueError("3/4 bars do not split into two halves on a beat; use chords_per_bar=1 in 3/4.")
    if harmonize not in (False, True, "melody", "chorale"):
        raise ValueError(f"harmonize must be False, True ('melody') or 'chorale', got {harmonize!r}.")
    if harmonize and accompaniment:
        raise ValueError("harmonize already adds alto, tenor and bass; leave accompaniment=False.")
    numerals = _resolve_progression(progression)
    rng = np.random.default_rng(seed)

    low, high = rules.melody_range
    melody_rules = rules
    if harmonize:  # the melody is the soprano: soprano range, and no leap beyond an octave
        low, high = max(low, 60), min(high, 79)
        melody_rules = rules.replace(max_leap=min(rules.max_leap, 12))
        if high - low < 7:
            raise ValueError(f"melody_range {note_name(rules.melody_range[0])}–{note_name(rules.melody_range[1])} "
                             "leaves too little of the soprano range C4–G5 for a harmonised melody.")

    # ---- chords, one per slot -----------------------------------------------------------
    bar_len = bar_length_of(meter)
    slot_len = bar_len / chords_per_bar
    n_slots = bars * chords_per_bar
    minor = (scale_pitch_classes(key_name)[2] - tonic_pc) % 12 == 3   # minor third: tonic chord is 'i'
    slot_numerals = _slot_numerals(numerals, n_slots, chords_per_bar, rules.cadence, minor)
    key_names, key_pcs = scale_note_names(key_name), scale_pitch_classes(key_name)
    chord_cache: dict[str, tuple[Chord, frozenset, frozenset]] = {}
    slots = []
    for i, numeral in enumerate(slot_numerals):
        if numeral not in chord_cache:
            chord = roman_to_chord(numeral, key_name)
            chord_cache[numeral] = (chord, frozenset(chord.pitch_classes),
                                    _local_scale(key_names, key_pcs, chord))
        chord, cpcs, spcs = chord_cache[numeral]
        slots.append(_Slot(i * slot_len, (i + 1) * slot_len, chord, cpcs, spcs))

    cost = 0.0
    if harmonize == "chorale":
        piece_notes, explanation, cost = _chorale(rng, slots, tonic_pc, rules)
    else:
        rhythms = _choose_rhythms(rng, meter, bars, chords_per_bar, rules)
        onsets, durations, slot_of, strong = [], [], [], []
        strong_set = set(STRONG_BEATS[meter]) | {k * slot_len for k in range(chords_per_bar)}
        for b, rhythm in enumerate(rhythms):
            t = 0.0
            for d in rhythm:
                onsets.append(b * bar_len + t)
                durations.append(d)
                slot_of.append(min(int((b * bar_len + t + 1e-9) // slot_len), n_slots - 1))
                strong.append(any(abs(t - s) < 1e-9 for s in strong_set))
                t += d
        velocity = [96 if abs(o % bar_len) < 1e-9 else (86 if s else 74) for o, s in zip(onsets, strong)]
        label = "S" if harmonize else "melody"
        # A harmonised melody keeps within a fifth per chord, so the alto fits under all of it
        # within an octave; a melody that still has no clean harmonisation is redrawn.
        for _ in range(_HARMONY_TRIES if harmonize else 1):
            pitches, roles, relaxed = _melody_pitches(rng, slots, slot_of, strong, tonic_pc, low, high,
                                                      melody_rules, max_span=7 if harmonize else None)
            melody_notes = [Note(p, o, d, v, label) for p, o, d, v in zip(pitches, onsets, durations, velocity)]
            if not harmonize:
                break
            lower, cost = _harmonize_melody(melody_notes, slots, tonic_pc)
            if cost < _CLASH:
                break
        piece_notes = melody_notes + (lower if harmonize else [])
        explanation = _explanations(melody_notes, roles, slots, slot_of, strong, meter, tonic_pc, rules.cadence)
        if relaxed:
            explanation.append(f"(the rules {', '.join(relaxed)} were relaxed: no melody obeyed all of them)")

    meta = {
        "generator": "musegen_helpers.rules.compose",
        "seed": None if seed is None else int(seed),
        "rules": rules.to_dict(),
        "progression": list(slot_numerals),
        "chords": [{"start": s.start, "end": s.end, "numeral": s.chord.numeral, "symbol": s.chord.symbol,
                    "pitch_classes": list(s.chord.pitch_classes)} for s in slots],
        "explanation": explanation,
        "harmonize": "melody" if harmonize is True else harmonize,
    }
    if accompaniment:
        piece_notes = piece_notes + [Note(p, s.start, s.end - s.start, 60, "chords")
                                     for s in slots for p in s.chord.pitches(octave=3)]
    if title is None:
        name = progression if isinstance(progression, str) else " ".join(numerals)
        title = f"Rule-based {'chorale' if harmonize == 'chorale' else 'melody'} in {key_name} over {name} (seed {seed})"
    piece = Piece(piece_notes, tempo=float(tempo), time_signature=meter, key=key_name, title=title,
                  source="musegen_helpers.rules.compose", meta=meta)
    if harmonize:  # only when the search could not avoid a clash is it worth listing them
        problems = check_voice_leading(piece) if cost >= _CLASH else []
        piece.meta["voice_leading_problems"] = [str(v) for v in problems]
    return piece


# ---- melody -------------------------------------------------------------------------------

def _melody_pitches(rng, slots, slot_of, strong, tonic_pc, low, high, rules, max_span=None):
    """Choose one pitch per note by weighted random depth-first search with backtracking.

    Returns (pitches, roles, relaxed rule names). A role is 'chord', 'nct' (a non-chord tone
    that must resolve by step), or 'free' (a non-chord tone the rules let stand).
    """
    attempts = [rules]
    if rules.leap_recovery or rules.avoid_awkward_leaps:
        attempts.append(rules.replace(leap_recovery=False, avoid_awkward_leaps=False))
    attempts.append(attempts[-1].replace(non_chord_tones_resolve=False, max_leap=24))
    for attempt in attempts:
        result = _search(rng, slots, slot_of, strong, tonic_pc, low, high, attempt, max_span)
        if result is not None:
            relaxed = [f.name for f in dataclasses.fields(rules)
                       if getattr(attempt, f.name) != getattr(rules, f.name)]
            return result[0], result[1], relaxed
    raise RuntimeError("the rules leave no possible melody; widen melody_range or switch rules off.")  # pragma: no cover


def _search(rng, slots, slot_of, strong, tonic_pc, low, high, rules, max_span=None):
    n = len(slot_of)
    pitches = [0] * n
    roles = [""] * n
    orders: list = [None] * n
    role_options: list = [None] * n
    ptr = [0] * n
    center = (low + high) / 2.0
    step_w, repeat_w = rules.stepwise_weight, rules.repeated_note_weight
    last = n - 1

    def candidates(i):
        slot = slots[slot_of[i]]
        prev = pitches[i - 1] if i >= 1 else None
        prev2 = pitches[i - 2] if i >= 2 else None
        prev_role = roles[i - 1] if i >= 1 else ""
        leap_before = prev2 is not None and abs(prev - prev2) >= 5 and rules.leap_recovery
        cand, weights, cand_roles = [], [], []
        lo, hi = low, high
        if max_span is not None:  # keep the notes over one chord within max_span semitones
            j = i - 1
            while j >= 0 and slot_of[j] == slot_of[i]:
                lo, hi = max(lo, pitches[j] - max_span), min(hi, pitches[j] + max_span)
                j -= 1
        for p in range(lo, hi + 1):
            pc = p % 12
            is_chord = pc in slot.chord_pcs
            if rules.stay_in_key and not is_chord and pc not in slot.scale_pcs:
                continue
            if rules.cadence and i == last and pc != tonic_pc:
                continue
            if prev_role == "nct":
                # resolve the non-chord tone by step to a chord tone: onward (passing) or back (neighbour)
                if not is_chord:
                    continue
                if p != prev2 and not (1 <= abs(p - prev) <= 2 and (p - prev) * (prev - prev2) > 0):
                    continue
            role = "chord"
            if not is_chord:
                if strong[i]:
                    if rules.chord_tones_on_strong_beats:
                        continue
                    role = "free"
                elif not rules.passing_tones:
                    continue
                elif not rules.non_chord_tones_resolve:
                    role = "free"
                elif prev is None or i == last or prev_role == "nct" or not 1 <= abs(p - prev) <= 2:
                    continue
                else:
                    role = "nct"
            if prev is None:
                w = math.exp(-((p - center) / 5.0) ** 2)
            else:
                d = abs(p - prev)
                if d > rules.max_leap:
                    continue
                if rules.avoid_awkward_leaps and d in (6, 10, 11):
                    continue
                if rules.cadence and i == last and not 1 <= d <= 2:
                    continue
                if leap_before and not (1 <= d <= 2 and (p - prev) * (prev - prev2) < 0):
                    continue
                w = repeat_w if d == 0 else step_w if d <= 2 else min(1.0, 4.0 / d)
            cand.append(p)
            weights.append(w)
            cand_roles.append(role)
        order = _weighted_order(rng, np.asarray(weights, dtype=float))
        return [cand[k] for k in order], [cand_roles[k] for k in order]

    i, nodes = 0, 0
    orders[0], role_options[0] = candidates(0)
    while 0 <= i < n:
        nodes += 1
        if nodes > _MAX_NODES:
            return None
        if ptr[i] < len(orders[i]):
            pitches[i] = orders[i][ptr[i]]
            roles[i] = role_options[i][ptr[i]]
            ptr[i] += 1
            i += 1
            if i < n:
                orders[i], role_options[i] = candidates(i)
                ptr[i] = 0
        else:
            i -= 1
    if i < 0:
        return None
    return pitches, roles


def _chord_member(pc: int, chord: Chord) -> str:
    names = ("root", "3rd", "5th", "7th")
    return names[chord.pitch_classes.index(pc)] if pc in chord.pitch_classes else ""


def _explanations(notes, roles, slots, slot_of, strong, meter, tonic_pc, cadence) -> list[str]:
    lines = []
    bars = Piece(time_signature=meter)  # compose writes no pickup: bar 1 starts at 0
    for i, note in enumerate(notes):
        slot = slots[slot_of[i]]
        chord = slot.chord
        where = describe_position(bars, note.start)
        beat = "a strong beat" if strong[i] else "a weak beat"
        if roles[i] == "chord":
            harmony = f"chord tone ({_chord_member(note.pitch % 12, chord)} of {chord.numeral} = {' '.join(chord.note_names)}) on {beat}"
        elif roles[i] == "nct":
            nxt = notes[i + 1].pitch if i + 1 < len(notes) else None
            prev = notes[i - 1].pitch
            kind = "neighbour tone" if nxt == prev else "passing tone"
            harmony = f"{kind} on {beat}, between chord tones of {chord.numeral}"
        else:
            harmony = f"non-chord tone on {beat} over {chord.numeral} (allowed: a rule that forbids it is off)"
        if i == 0:
            motion = "first note (the composer prefers the middle of the range)"
        else:
            d = note.pitch - notes[i - 1].pitch
            if d == 0:
                motion = "repeated note"
            else:
                way = "up" if d > 0 else "down"
                kind = "step" if abs(d) <= 2 else "leap"
                motion = f"{kind} {way} a {interval_name(d)}"
                if i >= 2 and kind == "step" and abs(notes[i - 1].pitch - notes[i - 2].pitch) >= 5 \
                        and d * (notes[i - 1].pitch - notes[i - 2].pitch) < 0:
                    motion += " (leap recovery: step back after the leap)"
        if cadence and i == len(notes) - 1:
            motion += "; cadence: ends on the tonic, held for the last bar"
        elif cadence and i == len(notes) - 2:
            motion += "; cadence: steps into the final tonic"
        lines.append(f"{where}: {note.name} — {harmony}; {motion}")
    return lines


def explain(piece: Piece) -> str:
    """Which rule chose each melody note of a composed piece, one line per note.

    >>> print(explain(compose(seed=1)))  # doctest: +SKIP
    bar 1, beat 1: E4 — chord tone (3rd of I = C E G) on a strong beat; first note ...
    """
    lines = piece.meta.get("explanation")
    if not lines:
        raise ValueError("this piece has no explanation: only pieces made by rules.compose() carry one.")
    return "\n".join(lines)


# ---- harmonisation ------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def _lower_voicings(pcs: tuple, bass_pcs: tuple):
    """Alto, tenor, bass pitches (rows A, T, B) on chord tones, in order and A–T within an octave,
    with a bit mask of the pitch classes each row holds. Cached: chords recur."""
    bass = [p for p in range(40, 61) if p % 12 in bass_pcs]
    tenor = [p for p in range(48, 68) if p % 12 in pcs]
    alto = [p for p in range(55, 75) if p % 12 in pcs]
    atb = np.array([(a, t, b) for a in alto for t in tenor for b in bass if b < t < a and a - t <= 12],
                   dtype=np.int64).reshape(-1, 3)
    bits = np.bitwise_or.reduce(np.left_shift(1, atb % 12), axis=1)
    return atb, bits


def _voicings(slot: _Slot, soprano: Sequence[int], s_low: int | None, s_high: int | None, tonic_pc: int,
              allow_inversion: bool = True):
    """SATB voicings (rows S, A, T, B) of a slot's chord and a static cost for each.

    ``soprano`` lists the soprano pitches to consider. In melody mode ``s_low``/``s_high`` are
    the lowest and highest melody notes sounding in the slot: the alto must stay below all of
    them (no crossing) and within an octave of all of them (spacing); None uses the soprano
    pitch itself. Breaking those costs ``_CLASH``; an incomplete chord or a doubled leading
    tone or seventh costs 5; style preferences cost less.
    """
    chord = slot.chord
    pcs = chord.pitch_classes
    # the written bass note, plus the third (first inversion) unless the numeral fixes an
    # inversion or the chord must stand in root position (cadence); inversions cost a little
    bass_pcs = (chord.bass,) + ((pcs[1],) if allow_inversion and chord.inversion == 0 else ())
    atb, bits = _lower_voicings(tuple(pcs), bass_pcs)
    sop = np.asarray(soprano, dtype=np.int64)
    m, k = len(sop), len(atb)
    s = np.repeat(sop, k)
    a, t, b = (np.tile(atb[:, v], m) for v in range(3))
    all_bits = np.tile(bits, m) | np.left_shift(1, s % 12)
    lowest = s if s_low is None else np.minimum(s, s_low)
    highest = s if s_high is None else np.maximum(s, s_high)
    clash = (a > lowest).astype(np.int64) + (highest - a > 12)
    required = (1 << pcs[0]) | (1 << pcs[1]) | ((1 << pcs[3]) if len(pcs) == 4 else 0)
    cost = 5.0 * ((all_bits & required) != required)
    counts = np.stack([s % 12, a % 12, t % 12, b % 12], axis=1)
    leading = (tonic_pc - 1) % 12
    if leading in pcs:
        cost += 5.0 * ((counts == leading).sum(axis=1) > 1)
    if len(pcs) == 4:
        cost += 5.0 * ((counts == pcs[3]).sum(axis=1) > 1)
    cost += 1.0 * ((counts == pcs[1]).sum(axis=1) >= 2)            # doubled third
    cost += 0.5 * ((all_bits & (1 << pcs[2])) == 0)                # missing fifth
    cost += 0.05 * np.abs(t - 57)                                  # tenor near the middle
    cost += 2.5 * (b % 12 != chord.bass)                           # first inversion instead of the written bass
    cost += 1.5 * ((b % 12 == pcs[1]) & (s % 12 == pcs[1]))        # a 6 chord with the third doubled in S
    cost += _CLASH * clash
    grid = np.stack([s, a, t, b], axis=1)
    # keep the clean, complete voicings when there are any, and at most _MAX_VOICINGS of them
    # (the cheapest), so the search between chords stays quick
    for limit in (5.0, _CLASH):
        keep = cost < limit
        if keep.any():
            grid, cost = grid[keep], cost[keep]
            break
    if len(cost) > _MAX_VOICINGS:
        best = np.argsort(cost, kind="stable")[:_MAX_VOICINGS]
        grid, cost = grid[best], cost[best]
    return grid, cost


def _transition_cost(prev: np.ndarray, cur: np.ndarray, s_before, prev_slot, cur_slot, tonic_pc,
                     soprano_free: bool) -> np.ndarray:
    """Cost (N, M) of moving from each previous voicing to each current one."""
    motion_prev = prev.copy()
    if s_before is not None:
        motion_prev[:, 0] = s_before
    clashes = parallel_motion_matrix(motion_prev, cur)
    delta = np.abs(cur[None, :, :] - motion_prev[:, None, :])          # (N, M, 4)
    clashes = clashes + (delta[:, :, 1:] > 12).sum(axis=2)
    cost = delta[:, :, 1] + delta[:, :, 2] + 0.5 * delta[:, :, 3]
    if soprano_free:
        # a chorale tune moves mostly by step: repeats and leaps cost more than steps
        d = delta[:, :, 0]
        cost = cost + np.where(d == 0, 1.2, np.where(d <= 2, 0.2, np.where(d <= 4, 1.2, 2.0 + 0.5 * d))) \
            + _CLASH * (d > 12)
    # voice overlap: a voice moving past where its upper neighbour just was
    for i in range(3):
        cost = cost + 1.0 * (cur[None, :, i + 1] > motion_prev[:, None, i])
    # hidden fifths/octaves in the outer voices with a leaping soprano
    s0, b0 = motion_prev[:, 0][:, None], motion_prev[:, 3][:, None]
    s1, b1 = cur[:, 0][None, :], cur[:, 3][None, :]
    same_way = (s1 - s0) * (b1 - b0) > 0
    arrive = np.abs(s1 - b1) % 12
    cost = cost + 2.0 * (same_way & ((arrive == 0) | (arrive == 7)) & (np.abs(s1 - s0) > 2))
    # tendency tones: the leading tone rises to the tonic, a chordal seventh falls by step
    leading = (tonic_pc - 1) % 12
    if leading in prev_slot.chord.pitch_classes and cur_slot.chord.root == tonic_pc:
        for v, weight in ((0, 3.0), (1, 0.7), (2, 0.7)):
            has_lt = (motion_prev[:, v] % 12 == leading)[:, None]
            rises = cur[None, :, v] - motion_prev[:, None, v] == 1
            cost = cost + weight * (has_lt & ~rises)
    if len(prev_slot.chord.pitch_classes) == 4:
        seventh = prev_slot.chord.pitch_classes[3]
        for v in (1, 2):
            has7 = (motion_prev[:, v] % 12 == seventh)[:, None]
            fall = motion_prev[:, None, v] - cur[None, :, v]
            step_down = (fall == 1) | (fall == 2)
            cost = cost + 1.0 * (has7 & ~step_down)
    return cost + _CLASH * clashes


def _viterbi(candidates, static_costs, transition):
    """Cheapest path through per-slot candidates; ``transition(k, prev, cur)`` -> (N, M) costs."""
    total = static_costs[0].copy()
    back = []
    for k in range(1, len(candidates)):
        step = total[:, None] + transition(k, candidates[k - 1], candidates[k]) + static_costs[k][None, :]
        best = np.argmin(step, axis=0)
        back.append(best)
        total = step[best, np.arange(step.shape[1])]
    path = [int(np.argmin(total))]
    best_cost = float(total[path[0]])
    for best in reversed(back):
        path.append(int(best[path[-1]]))
    path.reverse()
    return [candidates[k][j] for k, j in enumerate(path)], best_cost


def _harmonize_melody(melody: list[Note], slots: list[_Slot], tonic_pc: int):
    """Alto, tenor and bass notes under a melody (the soprano), one chord per slot."""
    # the melody notes sounding in each slot (a long note may carry over into the next chord)
    by_slot = [[n for n in melody if n.start < slot.end - 1e-9 and n.end > slot.start + 1e-9] for slot in slots]
    candidates, static = [], []
    for k, (slot, notes) in enumerate(zip(slots, by_slot)):
        first = notes[0].pitch
        pitches = [n.pitch for n in notes]
        root_position = k == 0 or k >= len(slots) - 2
        grid, cost = _voicings(slot, [first], min(pitches), max(pitches), tonic_pc, not root_position)
        candidates.append(grid)
        static.append(cost)

    def transition(k, prev, cur):
        s_before = by_slot[k - 1][-1].pitch
        return _transition_cost(prev, cur, s_before, slots[k - 1], slots[k], tonic_pc, soprano_free=False)

    path, cost = _viterbi(candidates, static, transition)
    lower = []
    for slot, voicing in zip(slots, path):
        for label, pitch in zip("ATB", voicing[1:]):
            lower.append(Note(int(pitch), slot.start, slot.end - slot.start, 72, label))
    return lower, cost


def _chorale(rng, slots: list[_Slot], tonic_pc: int, rules: RuleSet):
    """Four voices, one note each per chord; the soprano is chosen by the search too.
    A little random cost per voicing makes each seed give a different (equally good) chorale."""
    low, high = max(rules.melody_range[0], 60), min(rules.melody_range[1], 79)
    candidates, static = [], []
    for k, slot in enumerate(slots):
        soprano = [p for p in range(low, high + 1) if p % 12 in slot.chord_pcs]
        if rules.cadence and k == len(slots) - 1:
            soprano = [p for p in soprano if p % 12 == tonic_pc] or soprano
        grid, cost = _voicings(slot, soprano, None, None, tonic_pc, 0 < k < len(slots) - 2)
        cost = cost + 0.08 * np.abs(grid[:, 0] - (low + high) / 2) + rng.random(len(cost)) * 3.0
        candidates.append(grid)
        static.append(cost)

    def transition(k, prev, cur):
        return _transition_cost(prev, cur, None, slots[k - 1], slots[k], tonic_pc, soprano_free=True)

    path, cost = _viterbi(candidates, static, transition)
    notes, lines = [], []
    for slot, voicing in zip(slots, path):
        for label, pitch in zip("SATB", voicing):
            notes.append(Note(int(pitch), slot.start, slot.end - slot.start, 80 if label == "S" else 72, label))
        lines.append(f"{slot.start:g}: {slot.chord.numeral} = " +
                     " ".join(f"{label} {note_name(int(p))}" for label, p in zip("SATB", voicing)))
    return notes, lines, cost


# ---- checking a melody against the rules -------------------------------------------------

def check_melody(piece: Piece, rules: RuleSet | Mapping | None = None, *, progression=None,
                 key: str | None = None, chords_per_bar: int = 1) -> list[Violation]:
    """Check a melody against the composer's rules; return the broken ones with where they are.

    The melody is part 'melody' or 'S' (or the piece's only part). The chords come from
    ``piece.meta['chords']`` (set by :func:`compose`) or from ``progression`` (numerals, one per
    ``1/chords_per_bar`` bar, repeated to the end; bars are the piece's own, :meth:`Piece.bars`,
    and a pickup is sung over the first chord). ``rules`` defaults to the piece's own
    (``piece.meta['rules']``) or ``RuleSet()``. Rule names in the violations are the RuleSet
    field names ('chord_tones_on_strong_beats', 'cadence', ...). Bars and beats in the
    violations are :meth:`Piece.bar_and_beat`'s (bar 0 = pickup; beats in the meter's felt beat).
    Strong beats are :data:`STRONG_BEATS` of the meter in force at each note.

    Raises ValueError for a meter outside :data:`METERS` or a piece without a key.
    """
    if rules is None:
        rules = RuleSet.from_dict(piece.meta["rules"]) if "rules" in piece.meta else RuleSet()
    rules = _as_rules(rules)
    key = key or piece.key
    if key is None:
        raise ValueError("the piece has no key; pass key='C major' (or the right one).")
    labels = [p for p in piece.parts if p in ("melody", "S")]
    if labels:
        notes = [n for n in piece.notes if n.part == labels[0]]
    elif len(piece.parts) == 1:
        notes = list(piece.pitched().notes)
    else:
        raise ValueError(f"which part is the melody? label it 'melody' or 'S' (parts: {piece.parts}).")
    if not notes:
        return []
    meters = [piece.time_signature] + [ts for _, ts in piece.time_signature_changes]
    unknown = sorted({f"{a}/{b}" for a, b in meters if (a, b) not in STRONG_BEATS})
    if unknown:
        raise ValueError(f"check_melody knows the meters {', '.join(f'{a}/{b}' for a, b in METERS)}; "
                         f"this piece is (also) in {', '.join(unknown)}.")
    tonic_pc = parse_key(key)[0]
    key_names, key_pcs = scale_note_names(key), scale_pitch_classes(key)
    if progression is not None:
        # chords change on the piece's bar lines (Piece.bars: pickup and meter changes included);
        # a pickup is sung over the first chord
        numerals = _resolve_progression(progression)
        chords = []
        for bar in piece.bars():
            if bar.number == 0:
                continue
            slot_len = bar.length / chords_per_bar
            for j in range(chords_per_bar):
                numeral = numerals[len(chords) % len(numerals)]
                chords.append((bar.start + j * slot_len, bar.start + (j + 1) * slot_len,
                               roman_to_chord(numeral, key)))
        if not chords:  # nothing after the pickup
            chords = [(0.0, max(piece.end, piece.pickup), roman_to_chord(numerals[0], key))]
        chords[0] = (0.0,) + chords[0][1:]
    elif "chords" in piece.meta:
        chords = [(c["start"], c["end"], roman_to_chord(c["numeral"], key)) for c in piece.meta["chords"]]
    else:
        raise ValueError("give the progression the melody was written over (progression=['I', 'IV', ...]).")
    changes = {round(s, 6) for s, _, _ in chords}

    def chord_at(t):
        for s, e, c in chords:
            if s - 1e-9 <= t < e - 1e-9:
                return c
        return chords[-1][2]

    def is_strong(t):
        _, beat = piece.bar_and_beat(t)
        meter = piece.time_signature_at(t)
        in_bar = round((beat - 1) * beat_length(meter), 6)  # quarter notes after the bar's first beat
        return in_bar in STRONG_BEATS[meter] or round(t, 6) in changes

    def violation(rule, note, text):
        bar, beat = piece.bar_and_beat(note.start)
        return Violation(rule, note.start, bar, ("melody",), f"{describe_position(piece, note.start)}: {text}",
                         round(beat, 6))

    out = []
    low, high = rules.melody_range
    for i, n in enumerate(notes):
        chord = chord_at(n.start)
        pc = n.pitch % 12
        is_chord = pc in chord.pitch_classes
        scale = _local_scale(key_names, key_pcs, chord)
        if not low <= n.pitch <= high:
            out.append(violation("melody_range", n, f"{n.name} is outside the melody range "
                                                    f"{note_name(low)}–{note_name(high)}"))
        if rules.stay_in_key and not is_chord and pc not in scale:
            out.append(violation("stay_in_key", n, f"{n.name} is not in {key} (over {chord.numeral})"))
        strong = is_strong(n.start)
        if strong and rules.chord_tones_on_strong_beats and not is_chord:
            out.append(violation("chord_tones_on_strong_beats", n,
                                 f"{n.name} on a strong beat is not in {chord.numeral} ({' '.join(chord.note_names)})"))
        if not strong and not is_chord:
            prev = notes[i - 1].pitch if i else None
            nxt = notes[i + 1] if i + 1 < len(notes) else None
            if not rules.passing_tones:
                out.append(violation("passing_tones", n, f"{n.name} on a weak beat is not in {chord.numeral} "
                                                         "(passing tones are switched off)"))
            elif rules.non_chord_tones_resolve:
                resolves = (prev is not None and nxt is not None and 1 <= abs(n.pitch - prev) <= 2
                            and nxt.pitch % 12 in chord_at(nxt.start).pitch_classes
                            and (nxt.pitch == prev or (1 <= abs(nxt.pitch - n.pitch) <= 2
                                                       and (nxt.pitch - n.pitch) * (n.pitch - prev) > 0)))
                if not resolves:
                    out.append(violation("non_chord_tones_resolve", n, f"non-chord tone {n.name} over {chord.numeral} is not "
                                                             "a passing or neighbour tone (step in, step out to a chord tone)"))
        if i:
            d = n.pitch - notes[i - 1].pitch
            if abs(d) > rules.max_leap:
                out.append(violation("max_leap", n, f"leap of {abs(d)} semitones ({interval_name(d)}) from "
                                                    f"{notes[i - 1].name}, more than max_leap={rules.max_leap}"))
            if rules.avoid_awkward_leaps and abs(d) in (6, 10, 11):
                out.append(violation("avoid_awkward_leaps", n, f"awkward leap of a {interval_name(d)} "
                                                               f"from {notes[i - 1].name}"))
        if i >= 2 and rules.leap_recovery:
            before = notes[i - 1].pitch - notes[i - 2].pitch
            d = n.pitch - notes[i - 1].pitch
            if abs(before) >= 5 and not (1 <= abs(d) <= 2 and d * before < 0):
                out.append(violation("leap_recovery", n, f"after the leap {notes[i - 2].name}→{notes[i - 1].name}, "
                                                         f"{n.name} does not step back the other way"))
    if rules.cadence:
        last = notes[-1]
        final_chord = chord_at(last.start)
        if last.pitch % 12 != tonic_pc:
            out.append(violation("cadence", last, f"the melody ends on {last.name}, not the tonic"))
        if len(notes) >= 2 and not 1 <= abs(last.pitch - notes[-2].pitch) <= 2:
            out.append(violation("cadence", last, f"the final note is not reached by step "
                                                  f"({notes[-2].name}→{last.name})"))
        j = next(k for k, (s, e, _) in enumerate(chords) if s - 1e-9 <= last.start < e - 1e-9) \
            if last.start < chords[-1][1] - 1e-9 else len(chords) - 1
        if final_chord.root != tonic_pc or j == 0 or not _is_dominant_chord(chords[j - 1][2], tonic_pc):
            out.append(violation("cadence", last, "the music does not close V–I"))
        if last.duration < bar_length_of(piece.time_signature_at(last.start)) - 1e-9:
            out.append(violation("cadence", last, f"the final note lasts {last.duration:g} quarter notes, "
                                                  f"less than a whole bar"))
    return sorted(out, key=lambda v: v.position)


def _is_dominant_chord(chord: Chord, tonic_pc: int) -> bool:
    return chord.root == (tonic_pc + 7) % 12 and chord.quality in ("major", "dominant seventh")
