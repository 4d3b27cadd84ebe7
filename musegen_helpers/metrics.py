"""Measuring generated music: pitch, diversity, harmony and rhythm features, set-against-set
comparison, a copying check and a scoreboard.

Every metric is one short function of a :class:`~musegen_helpers.music.Piece` with its formula
and its source in the docstring. Units: pitch = MIDI note number, positions and durations in
quarter notes, entropies in bits. A metric that has no value for a piece (an entropy of no
notes, a groove of a one-bar piece) returns ``nan`` rather than a made-up number.

Sources:

* **MusPy** — H.-W. Dong, K. Chen, J. McAuley, T. Berg-Kirkpatrick, "MusPy: A toolkit for
  symbolic music generation", ISMIR 2020. Where MusPy defines a metric (:func:`pitch_range`,
  :func:`n_pitches_used`, :func:`n_pitch_classes_used`, :func:`pitch_class_entropy`,
  :func:`scale_consistency`, :func:`polyphony`, :func:`empty_beat_rate`,
  :func:`groove_consistency`), ours gives MusPy's number on the same music (tested on Bach
  chorales, ``tests/test_muspy_agreement.py``). MusPy counts time in integer *time steps*,
  ``resolution`` steps per quarter note (24 by default, as here).
* **MGEval** — L.-C. Yang and A. Lerch, "On the evaluation of generative models in music",
  Neural Computing and Applications 32, 2020: per-feature intra-set and inter-set distance
  distributions, their kernel density estimates, overlapped area and KL divergence
  (:func:`compare_sets`).
* **MuseGAN** — H.-W. Dong, W.-Y. Hsiao, L.-C. Yang, Y.-H. Yang, "MuseGAN: Multi-track
  sequential generative adversarial networks", AAAI 2018 (empty bars/beats, qualified notes,
  pitch-in-scale rate).
* **distinct-n** — J. Li, M. Galley, C. Brockett, J. Gao, B. Dolan, "A diversity-promoting
  objective function for neural conversation models", NAACL 2016.

Lesson: 05_evaluation
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from .music import BarMap, Note, Piece, bar_length_of, beat_length

__all__ = [
    # pitch
    "pitch_range", "n_pitches_used", "n_pitch_classes_used", "pitch_class_histogram",
    "pitch_class_entropy", "mean_interval",
    # diversity
    "distinct_notes", "distinct_chords", "chords", "distinct_n", "repetition_rate",
    # harmony
    "scale_consistency", "in_key_ratio", "consonance_ratio", "voice_leading_violations",
    "voice_leading_violations_per_bar", "polyphony",
    # rhythm
    "DURATION_CLASSES", "duration_histogram", "duration_entropy", "empty_beat_rate",
    "groove_consistency", "syncopation", "on_beat_ratio", "mean_ioi",
    # one piece, sets of pieces, copying
    "DEFAULT_RESOLUTION", "FEATURES", "DEFAULT_FEATURES", "describe", "Table", "SetComparison",
    "compare_sets", "plot_set_comparison", "SharedRun", "longest_shared_run", "copy_rate",
    "Scoreboard", "scoreboard", "plot_scoreboard",
]

#: MusPy's default number of time steps per quarter note.
DEFAULT_RESOLUTION = 24
_EPS = 1e-9


# ---------------------------------------------------------------------------------------
# plumbing
# ---------------------------------------------------------------------------------------
def _as_piece(x) -> Piece:
    """A Piece, or anything :func:`musegen_helpers.representation.to_piece` accepts (tokens, rolls)."""
    if isinstance(x, Piece):
        return x
    from .representation import to_piece

    return to_piece(x)


def _pitched(piece: Piece) -> list[Note]:
    return [n for n in piece.notes if not n.is_drum]


def _check_resolution(resolution) -> int:
    if int(resolution) != resolution or resolution < 1:
        raise ValueError(f"resolution must be a whole number of time steps per quarter note (>= 1), "
                         f"got {resolution!r}; MusPy's default is 24.")
    return int(resolution)


def _time_steps(notes: Iterable[Note], resolution: int) -> list[tuple[int, int, int]]:
    """``(start step, end step, pitch)`` per note on a grid of ``resolution`` steps per quarter."""
    return [(round(n.start * resolution), round(n.end * resolution), n.pitch) for n in notes]


def _entropy_bits(counts) -> float:
    """Shannon entropy in bits of a histogram of counts; nan when it is empty."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    if total <= 0:
        return math.nan
    p = counts[counts > 0] / total
    return float(0.0 - (p * np.log2(p)).sum())  # 0.0 - x, not -x: no "-0.0" for one class


# ---------------------------------------------------------------------------------------
# pitch
# ---------------------------------------------------------------------------------------
def pitch_range(piece: Piece) -> int:
    """Highest minus lowest MIDI pitch, in semitones; 0 for a piece without pitched notes.

    ``pitch_range = max(pitch) - min(pitch)``; drum notes are left out. Source: MusPy
    ``pitch_range`` (Dong et al., ISMIR 2020); MGEval's "PR".
    """
    pitches = [n.pitch for n in _pitched(_as_piece(piece))]
    return max(pitches) - min(pitches) if pitches else 0


def n_pitches_used(piece: Piece) -> int:
    """Number of different MIDI pitches played (C4 and C5 count as two). Drums left out.

    Source: MusPy ``n_pitches_used``; MGEval's "total used pitch" (PC).
    """
    return len({n.pitch for n in _pitched(_as_piece(piece))})


def n_pitch_classes_used(piece: Piece) -> int:
    """Number of different pitch classes (0–11, octave ignored) played. Drums left out.

    Source: MusPy ``n_pitch_classes_used``; MuseGAN's "used pitch classes" (UPC).
    """
    return len({n.pitch % 12 for n in _pitched(_as_piece(piece))})


def pitch_class_histogram(piece: Piece, *, normalize: bool = True, weight: str = "count") -> np.ndarray:
    """How often each pitch class C, C#, ..., B occurs: 12 numbers.

    ``weight='count'`` counts notes (as MusPy and MGEval do); ``weight='duration'`` adds up
    quarter notes, so a held note counts more than a passing one. With ``normalize`` the 12
    numbers sum to 1 (all ``nan`` for a piece without notes). Source: MGEval's "total pitch
    class histogram" (PCH); Yang & Lerch 2020.
    """
    if weight not in ("count", "duration"):
        raise ValueError(f"weight must be 'count' or 'duration', got {weight!r}.")
    hist = np.zeros(12)
    for n in _pitched(_as_piece(piece)):
        hist[n.pitch % 12] += 1.0 if weight == "count" else n.duration
    if normalize:
        total = hist.sum()
        return hist / total if total > 0 else np.full(12, math.nan)
    return hist


def pitch_class_entropy(piece: Piece) -> float:
    """Shannon entropy, in bits, of the pitch-class histogram of note counts.

    ``H = -sum_i p_i * log2(p_i)`` with ``p_i`` the share of notes on pitch class ``i``.
    One pitch class gives 0; a scale with equal counts of its 7 notes gives log2(7) ≈ 2.81;
    all 12 equally often gives log2(12) ≈ 3.58. ``nan`` without notes. Source: MusPy
    ``pitch_class_entropy``; Wu & Yang, "The Jazz Transformer on the front line", ISMIR 2020.
    """
    return _entropy_bits(pitch_class_histogram(piece, normalize=False))


def mean_interval(piece: Piece) -> float:
    """Average size in semitones of the step from one note to the next within each part.

    Where a part sounds several notes at once, its highest note is the melody. ``nan`` when
    no part has two notes. Source: MGEval's "average pitch interval" (PI).
    """
    piece = _as_piece(piece)
    steps = []
    for label in piece.parts:
        tops: dict[float, int] = {}
        for n in _pitched(piece):
            if n.part == label:
                key = round(n.start, 6)
                tops[key] = max(tops.get(key, 0), n.pitch)
        line = [tops[t] for t in sorted(tops)]
        steps += [abs(b - a) for a, b in zip(line, line[1:])]
    return float(np.mean(steps)) if steps else math.nan


# ---------------------------------------------------------------------------------------
# diversity
# ---------------------------------------------------------------------------------------
def _per_bar_mean(piece: Piece, items: Iterable[tuple[float, object]]) -> float:
    """Mean over bars of the number of distinct items ``(position, item)`` in each bar,
    counting only bars that hold at least one item."""
    bars: dict[int, set] = {}
    bar_map = BarMap(piece)
    for position, item in items:
        bars.setdefault(bar_map.bar(position).number, set()).add(item)
    return float(np.mean([len(s) for s in bars.values()])) if bars else math.nan


def distinct_notes(piece: Piece, per: str = "piece") -> float:
    """How many different pitches the music uses: in the whole piece, or on average per bar.

    ``per='piece'``: the number of different MIDI pitches (= :func:`n_pitches_used`).
    ``per='bar'``: for each bar with at least one note starting in it, the number of different
    pitches starting there; the mean over those bars. Bars are the piece's own
    (:meth:`Piece.bars`: a pickup is its own short bar, meter changes are followed). Source:
    MGEval's "used pitch per bar" (PC/bar).
    """
    piece = _as_piece(piece)
    if per == "piece":
        return n_pitches_used(piece)
    if per == "bar":
        return _per_bar_mean(piece, ((n.start, n.pitch) for n in _pitched(piece)))
    raise ValueError(f"per must be 'piece' or 'bar', got {per!r}.")


def chords(piece: Piece, min_notes: int = 2) -> list[tuple[float, frozenset]]:
    """The chords of a piece: at each onset, the set of pitch classes sounding then.

    A note sounds at position ``t`` when ``start <= t < end``. Only sets with at least
    ``min_notes`` different pitch classes are chords (a melody alone has none).
    Returns ``[(position in quarter notes, frozenset of pitch classes), ...]``.
    """
    piece = _as_piece(piece)
    notes = _pitched(piece)
    out = []
    active: list[Note] = []
    i = 0
    onsets = sorted({round(n.start, 9) for n in notes})
    for t in onsets:
        while i < len(notes) and notes[i].start <= t + _EPS:
            active.append(notes[i])
            i += 1
        active = [n for n in active if n.end > t + _EPS]
        pcs = frozenset(n.pitch % 12 for n in active)
        if len(pcs) >= min_notes:
            out.append((t, pcs))
    return out


def distinct_chords(piece: Piece, per: str = "piece", min_notes: int = 2) -> float:
    """How many different chords (pitch-class sets of simultaneous notes) the music uses.

    Chords are read at every onset (see :func:`chords`); C-E-G in any voicing or octave is one
    chord. ``per='piece'``: the number of different chords; ``per='bar'``: the mean, over bars
    holding a chord, of the number of different chords in the bar (``nan`` with no chords).
    A GAN stuck on one bar (mode collapse) scores low per piece even when each bar looks rich.
    """
    found = chords(piece, min_notes)
    if per == "piece":
        return len({c for _, c in found})
    if per == "bar":
        return _per_bar_mean(_as_piece(piece), found)
    raise ValueError(f"per must be 'piece' or 'bar', got {per!r}.")


def _sequences(tokens) -> list[np.ndarray]:
    """One token sequence or a list of them -> list of 1-D int arrays."""
    if isinstance(tokens, Piece):
        from .representation import melody_to_tokens

        return [melody_to_tokens(tokens)]
    if isinstance(tokens, np.ndarray) and tokens.ndim == 1:
        return [tokens.astype(np.int64)]
    tokens = list(tokens)
    if tokens and all(isinstance(t, (int, np.integer)) for t in tokens):
        return [np.asarray(tokens, dtype=np.int64)]
    out = []
    for t in tokens:
        if isinstance(t, Piece):
            out += _sequences(t)
        else:
            arr = np.asarray(t)
            if arr.ndim != 1:
                raise ValueError(f"each token sequence must be 1-D (one token per step), got shape {arr.shape}.")
            out.append(arr.astype(np.int64))
    return out


def distinct_n(tokens, n: int = 2) -> float:
    """Share of n-grams that are different: ``#distinct n-grams / #n-grams`` (0–1].

    ``tokens`` is one sequence (list or 1-D array of tokens) or a list of sequences; with a
    list, n-grams are pooled over all of them, so a model that plays the same tune every time
    scores low even when each tune varies inside. ``nan`` when no sequence is ``n`` long.
    Source: distinct-n, Li et al., NAACL 2016.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a whole number >= 1 (tokens per n-gram), got {n!r}.")
    n = int(n)
    grams = [tuple(seq[i:i + n].tolist()) for seq in _sequences(tokens) for i in range(len(seq) - n + 1)]
    return len(set(grams)) / len(grams) if grams else math.nan


def _bar_contents(piece: Piece) -> list[tuple]:
    """Each non-empty bar (:meth:`Piece.bars`) as a sorted tuple of (beat, pitch, duration)."""
    bars: dict[int, list] = {}
    bar_map = BarMap(piece)
    for n in _pitched(piece):
        bar, beat = bar_map.bar_and_beat(n.start)
        bars.setdefault(bar.number, []).append((round(beat, 6), n.pitch, round(n.duration, 6)))
    return [tuple(sorted(bars[b])) for b in sorted(bars)]


def repetition_rate(piece: Piece) -> float:
    """Share of bars that repeat an earlier bar exactly (same pitches, onsets and durations).

    ``repetition_rate = #bars equal to an earlier bar / #bars with notes``. Folk tunes with
    their AABB form repeat a lot (often 0.3–0.6); an LSTM stuck in a loop approaches 1; random
    notes give 0. ``nan`` without notes.
    """
    bars = _bar_contents(_as_piece(piece))
    if not bars:
        return math.nan
    seen, repeats = set(), 0
    for bar in bars:
        repeats += bar in seen
        seen.add(bar)
    return repeats / len(bars)


# ---------------------------------------------------------------------------------------
# harmony
# ---------------------------------------------------------------------------------------
_MUSPY_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}


def scale_consistency(piece: Piece) -> float:
    """The largest share of notes that fit one major or (natural) minor scale.

    ``scale_consistency = max over the 24 keys of #notes in the key's scale / #notes``; 1.0
    means every note fits some key. Drums left out; ``nan`` without notes. Source: MusPy
    ``scale_consistency``; Mogren, "C-RNN-GAN", NeurIPS workshop 2016.
    """
    pcs = pitch_class_histogram(piece, normalize=False)
    total = pcs.sum()
    if total <= 0:
        return math.nan
    best = 0.0
    for steps in _MUSPY_SCALES.values():
        for tonic in range(12):
            best = max(best, sum(pcs[(tonic + s) % 12] for s in steps) / total)
    return float(best)


def _key_pitch_classes(key: str, leading_tone: bool) -> set[int]:
    from .theory import parse_scale, scale_pitch_classes

    tonic, scale = parse_scale(key)
    pcs = set(scale_pitch_classes(key))
    if leading_tone and scale == "minor":  # the natural minor (music.SCALES)
        pcs.add((tonic + 11) % 12)
    return pcs


def in_key_ratio(piece: Piece, key: str | None = None, *, leading_tone: bool = True) -> float:
    """Share of notes whose pitch class belongs to the key's scale (0–1).

    ``key`` is a name such as 'G major', 'E minor', 'D dorian' (default: ``piece.key``). In a
    minor key the raised seventh (G# in A minor) also counts as in key when ``leading_tone``
    is True, because every minor-key cadence needs it; the raised sixth of melodic minor does
    not. Drums left out; ``nan`` without notes. Source: MuseGAN's pitch-in-scale rate
    (Dong et al., AAAI 2018), measured against the piece's own key.
    """
    piece = _as_piece(piece)
    key = key if key is not None else piece.key
    if key is None:
        raise ValueError("this piece has no key: pass one, e.g. in_key_ratio(piece, 'C major').")
    scale = _key_pitch_classes(key, leading_tone)
    notes = _pitched(piece)
    if not notes:
        return math.nan
    return sum(n.pitch % 12 in scale for n in notes) / len(notes)


def consonance_ratio(piece: Piece) -> float:
    """Share of the intervals between simultaneous notes that are consonant (0–1).

    Every pair of notes that sound together is counted once, at the moment the later of the
    two starts; its interval (reduced to within an octave) is judged by
    :func:`musegen_helpers.theory.is_consonant`: unisons, octaves, fifths, thirds and sixths
    are consonant; seconds, sevenths and the tritone are not; a perfect fourth is dissonant
    when its lower note is the lowest note sounding (the bass), consonant between upper voices
    (common-practice rule). ``nan`` when no two notes overlap (a melody).
    """
    from .theory import is_consonant

    notes = _pitched(_as_piece(piece))
    consonant = total = 0
    active: list[Note] = []
    i = 0
    for t in sorted({round(n.start, 9) for n in notes}):
        new = []
        while i < len(notes) and notes[i].start <= t + _EPS:
            new.append(notes[i])
            i += 1
        active = [n for n in active if n.end > t + _EPS]
        sounding = active + new
        bass = min(n.pitch for n in sounding)
        pairs = [(a, b) for a in new for b in active]
        pairs += [(new[j], new[k]) for j in range(len(new)) for k in range(j + 1, len(new))]
        for a, b in pairs:
            low, high = sorted((a.pitch, b.pitch))
            total += 1
            consonant += is_consonant(high - low, against_bass=(low == bass))
        active = sounding
    return consonant / total if total else math.nan


def voice_leading_violations(piece: Piece, checks: Iterable[str] | None = None) -> list:
    """Every broken voice-leading rule in a piece with several voices (parts), in time order.

    Uses :func:`musegen_helpers.theory.check_voice_leading` (parallel fifths and octaves,
    voice crossing, ranges, spacing, large leaps by default); each item is a
    ``theory.Violation`` whose text says where and what. Raises ValueError when a part plays
    two notes at once (give each voice its own part label).
    """
    from .theory import check_voice_leading

    return check_voice_leading(_as_piece(piece), checks)


def voice_leading_violations_per_bar(piece: Piece, checks: Iterable[str] | None = None) -> float:
    """:func:`voice_leading_violations` per bar: ``#violations / piece.n_bars`` (``nan`` when
    empty), so long and short chorales compare fairly."""
    piece = _as_piece(piece)
    if not piece.n_bars:
        return math.nan
    return len(voice_leading_violations(piece, checks)) / piece.n_bars


def polyphony(piece: Piece, resolution: int = DEFAULT_RESOLUTION) -> float:
    """Average number of pitches sounding together, over the time steps where any pitch sounds.

    ``polyphony = sum over steps of #pitches on / #steps with at least one pitch on`` on a grid
    of ``resolution`` steps per quarter note; a melody scores 1.0, a four-part chorale about 4
    (less where voices rest or share a pitch: one pitch on at a step counts once). Drums left
    out; ``nan`` without notes. Source: MusPy ``polyphony``.
    """
    piece = _as_piece(piece)
    res = _check_resolution(resolution)
    length = max((end for _, end, _ in _time_steps(piece.notes, res)), default=0)
    roll = np.zeros((length, 128), dtype=bool)
    for start, end, pitch in _time_steps(_pitched(piece), res):
        roll[start:end, pitch] = True
    sounding = np.count_nonzero(roll.any(axis=1))
    return float(roll.sum() / sounding) if sounding else math.nan


# ---------------------------------------------------------------------------------------
# rhythm
# ---------------------------------------------------------------------------------------
#: The 12 duration classes of MGEval's note-length histogram, in quarter notes, with names:
#: whole, half, quarter, 8th, 16th; dotted half, quarter, 8th, 16th; half, quarter, 8th triplets.
DURATION_CLASSES: tuple[tuple[float, str], ...] = (
    (4.0, "whole"), (3.0, "dotted half"), (2.0, "half"), (1.5, "dotted quarter"),
    (4 / 3, "half triplet"), (1.0, "quarter"), (0.75, "dotted 8th"), (2 / 3, "quarter triplet"),
    (0.5, "8th"), (0.375, "dotted 16th"), (1 / 3, "8th triplet"), (0.25, "16th"),
)
_LOG_CLASSES = np.log2([d for d, _ in DURATION_CLASSES])


def duration_histogram(piece: Piece, *, normalize: bool = True) -> np.ndarray:
    """How often each of the 12 :data:`DURATION_CLASSES` occurs (whole ... 16th).

    Each note's duration (quarter notes) goes to the nearest class on a log scale (a ratio,
    so 0.3 is an 8th triplet and 5.0 a whole note). Normalised to sum to 1 (``nan`` s without
    notes). Drums left out. Source: MGEval's "note length histogram" (NLH).
    """
    hist = np.zeros(len(DURATION_CLASSES))
    for n in _pitched(_as_piece(piece)):
        hist[int(np.argmin(np.abs(_LOG_CLASSES - math.log2(n.duration))))] += 1
    if normalize:
        total = hist.sum()
        return hist / total if total > 0 else np.full(len(hist), math.nan)
    return hist


def duration_entropy(piece: Piece) -> float:
    """Entropy in bits of the duration histogram: 0 when every note has the same length,
    log2(12) ≈ 3.58 at most. ``nan`` without notes."""
    return _entropy_bits(duration_histogram(piece, normalize=False))


def empty_beat_rate(piece: Piece, resolution: int = DEFAULT_RESOLUTION, *, muspy_compatible: bool = True) -> float:
    """Share of beats (quarter notes) in which no note sounds.

    ``empty_beat_rate = #empty beats / #beats``, drums included; ``nan`` for an empty piece.
    Source: MusPy ``empty_beat_rate`` (and Pypianoroll), with a "beat" of one quarter note
    (``resolution`` steps).

    MusPy's definition, kept by default so that our numbers equal MusPy's, counts the beat in
    which a note *ends* as sounding, even when the note ends exactly at that beat's start, and
    counts one beat more than the piece lasts; so a one-beat rest right after a note is not
    noticed. ``muspy_compatible=False`` counts exactly the beats a note sounds in.
    """
    piece = _as_piece(piece)
    res = _check_resolution(resolution)
    steps = _time_steps(piece.notes, res)
    length = max((end for _, end, _ in steps), default=0)
    if length < 1:
        return math.nan
    if muspy_compatible:
        n_beats = length // res + 1
        beats = {b for start, end, _ in steps for b in range(start // res, end // res + 1)}
    else:
        n_beats = -(-length // res)
        beats = {b for start, end, _ in steps for b in range(start // res, max(end - 1, start) // res + 1)}
    return 1.0 - len(beats) / n_beats


def groove_consistency(piece: Piece, resolution: int = DEFAULT_RESOLUTION, measure_resolution: int | None = None,
                       *, muspy_compatible: bool = True) -> float:
    """How alike the rhythm of neighbouring bars is: 1 − mean Hamming distance of their onsets.

    ``groove_consistency = 1 - 1/(T-1) * sum_i d(G_i, G_i+1) / measure_resolution``, where
    ``G_i`` marks the time steps of bar ``i`` where a note starts (drums included) and ``d``
    counts the steps where two bars differ. 1.0 = every bar has the same rhythm. ``nan`` with
    fewer than two bars. Source: MusPy ``groove_consistency``; Wu & Yang, ISMIR 2020.

    ``measure_resolution`` = time steps per bar (default: ``piece.bar_length * resolution``).
    Like MusPy (the default), bars are counted from time 0 in the opening meter — a pickup
    shifts them — and one (empty) bar after the end is included. ``muspy_compatible=False``
    uses the piece's own bars (:meth:`Piece.bars`: the pickup is bar 0, its onsets counted back
    from bar 1 as :meth:`Piece.bar_and_beat` counts them; meter changes are followed, shorter
    bars padded to the longest) and stops at the last bar; ``measure_resolution`` must then be
    left out (ValueError otherwise).
    """
    piece = _as_piece(piece)
    res = _check_resolution(resolution)
    if not muspy_compatible:
        if measure_resolution is not None:
            raise ValueError("with muspy_compatible=False the bars are the piece's own (Piece.bars), "
                             "so leave measure_resolution out.")
        return _groove_in_own_bars(piece, res)
    if measure_resolution is None:
        measure_resolution = round(piece.bar_length * res)
    if int(measure_resolution) != measure_resolution or measure_resolution < 1:
        raise ValueError(f"measure_resolution must be a whole number of steps per bar, got {measure_resolution!r}.")
    bar = int(measure_resolution)
    steps = _time_steps(piece.notes, res)
    length = max((end for _, end, _ in steps), default=0)
    n_bars = length // bar + 1
    if n_bars < 2:
        return math.nan
    grooves = np.zeros((n_bars, bar), dtype=bool)
    for start, _, _ in steps:
        measure, position = divmod(start, bar)
        grooves[measure, position] = True
    distance = np.count_nonzero(grooves[:-1] != grooves[1:])
    return float(1.0 - distance / (bar * (n_bars - 1)))


def _groove_in_own_bars(piece: Piece, res: int) -> float:
    """groove_consistency over :meth:`Piece.bars`, each onset placed by :meth:`Piece.bar_and_beat`."""
    bar_map = BarMap(piece)
    bars = bar_map.bars
    if not piece.notes or len(bars) < 2:
        return math.nan
    width = max(round(bar_length_of(b.time_signature) * res) for b in bars)
    grooves = np.zeros((len(bars), width), dtype=bool)
    first = bars[0].number
    for n in piece.notes:
        bar, beat = bar_map.bar_and_beat(n.start)
        into = (beat - 1) * beat_length(bar.time_signature)  # quarter notes after the bar's first beat
        grooves[bar.number - first, min(round(into * res), width - 1)] = True
    distance = np.count_nonzero(grooves[:-1] != grooves[1:])
    return float(1.0 - distance / (width * (len(bars) - 1)))


def _onsets(piece: Piece) -> list[tuple[float, float]]:
    """``(onset, longest end among notes starting there)`` for each distinct onset."""
    ends: dict[float, float] = {}
    for n in _pitched(piece):
        t = round(n.start, 9)
        ends[t] = max(ends.get(t, 0.0), n.end)
    return sorted(ends.items())


def on_beat_ratio(piece: Piece) -> float:
    """Share of onsets (positions where at least one note starts) that fall on a beat.

    Beats are the meter's felt beats (:func:`~musegen_helpers.music.beat_length`: quarters in
    4/4 and 3/4, halves in 2/2, eighths in 3/8, dotted quarters in 6/8), counted from the bar
    line as :meth:`Piece.bar_and_beat` counts them, so a pickup and meter changes shift them.
    ``nan`` without notes. A march or a chorale scores high; a line full of off-beat 8ths and
    16ths low.
    """
    piece = _as_piece(piece)
    onsets = _onsets(piece)
    if not onsets:
        return math.nan
    bar_map = BarMap(piece)
    return sum(bar_map.is_on_beat(t) for t, _ in onsets) / len(onsets)


def syncopation(piece: Piece) -> float:
    """Share of onsets that are syncopated: they start off the beat and are held across the
    next beat (the accent is "pulled forward", as in 8th–quarter–8th).

    ``syncopation = #onsets off the beat whose longest note sounds past the next beat / #onsets``
    (beats as in :func:`on_beat_ratio`). ``nan`` without notes. A simple onset measure in the
    spirit of Longuet-Higgins & Lee, "The rhythmic interpretation of monophonic music", Music
    Perception 1984.
    """
    piece = _as_piece(piece)
    onsets = _onsets(piece)
    if not onsets:
        return math.nan
    count = 0
    bar_map = BarMap(piece)
    for t, end in onsets:
        bar, beat = bar_map.bar_and_beat(t)
        if abs(beat - round(beat)) < 1e-6:
            continue
        # the next beat, or the next bar line when a meter change cuts the bar short
        next_beat = min(t + (math.ceil(beat) - beat) * beat_length(bar.time_signature), bar.end)
        count += end > next_beat + _EPS
    return count / len(onsets)


def mean_ioi(piece: Piece) -> float:
    """Mean inter-onset interval in quarter notes: the average time from one onset to the next
    (0.5 for running 8ths). ``nan`` with fewer than two onsets. Source: MGEval's "average
    inter-onset interval" (IOI)."""
    onsets = [t for t, _ in _onsets(_as_piece(piece))]
    return float(np.mean(np.diff(onsets))) if len(onsets) > 1 else math.nan


# ---------------------------------------------------------------------------------------
# one piece: every feature at once
# ---------------------------------------------------------------------------------------
#: Features :func:`compare_sets` and :func:`scoreboard` know by name: piece -> number or vector.
FEATURES: dict[str, Callable[[Piece], float | np.ndarray]] = {
    "pitch_range": pitch_range,
    "n_pitches_used": n_pitches_used,
    "n_pitch_classes_used": n_pitch_classes_used,
    "pitch_class_entropy": pitch_class_entropy,
    "pitch_class_histogram": pitch_class_histogram,
    "mean_interval": mean_interval,
    "distinct_notes_per_bar": lambda p: distinct_notes(p, per="bar"),
    "distinct_chords": distinct_chords,
    "repetition_rate": repetition_rate,
    "scale_consistency": scale_consistency,
    "in_key_ratio": lambda p: in_key_ratio(p) if _as_piece(p).key else math.nan,
    "consonance_ratio": consonance_ratio,
    "polyphony": polyphony,
    "duration_histogram": duration_histogram,
    "duration_entropy": duration_entropy,
    "empty_beat_rate": empty_beat_rate,
    "groove_consistency": groove_consistency,
    "on_beat_ratio": on_beat_ratio,
    "syncopation": syncopation,
    "mean_ioi": mean_ioi,
}

#: The features compared by default: they mean something for melodies and for chorales alike.
DEFAULT_FEATURES = (
    "pitch_range", "n_pitch_classes_used", "pitch_class_entropy", "pitch_class_histogram",
    "mean_interval", "scale_consistency", "duration_histogram", "duration_entropy",
    "on_beat_ratio", "syncopation", "groove_consistency", "repetition_rate",
)


def _feature_functions(features) -> dict[str, Callable]:
    features = DEFAULT_FEATURES if features is None else features
    if isinstance(features, str) or callable(features):
        features = [features]
    if isinstance(features, Mapping):
        return dict(features)
    out = {}
    for f in features:
        if callable(f):
            out[getattr(f, "__name__", f"feature {len(out) + 1}")] = f
        elif f in FEATURES:
            out[f] = FEATURES[f]
        else:
            raise ValueError(f"unknown feature {f!r}: choose from {', '.join(FEATURES)}, or pass a function "
                             "piece -> number.")
    return out


def describe(piece: Piece, features=None) -> dict[str, float]:
    """Every scalar feature of one piece as ``{name: value}`` (histograms left out).

    ``describe(piece)`` uses all of :data:`FEATURES`; pass names to choose.
    """
    piece = _as_piece(piece)
    funcs = _feature_functions(list(FEATURES) if features is None else features)
    out = {}
    for name, fn in funcs.items():
        value = fn(piece)
        if np.ndim(value) == 0:
            out[name] = float(value)
    return out


# ---------------------------------------------------------------------------------------
# a small printable table
# ---------------------------------------------------------------------------------------
def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


class Table:
    """Rows of results (a list of dicts) that print as a table in a terminal and a notebook.

    ``len(t)``, ``for row in t``, ``t[0]`` (a row), ``t['feature']`` (a column as a list),
    ``t.rows`` (the list of dicts).
    """

    def __init__(self, rows: Sequence[Mapping], title: str = ""):
        self.rows = [dict(r) for r in rows]
        self.title = title
        self.columns: list[str] = []
        for r in self.rows:
            self.columns += [c for c in r if c not in self.columns]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, item):
        if isinstance(item, str):
            if item not in self.columns:
                raise KeyError(f"no column {item!r}; the columns are {self.columns}.")
            return [r.get(item) for r in self.rows]
        return self.rows[item]

    def row(self, value, column: str | None = None) -> dict:
        """The first row whose ``column`` (default: the first column) equals ``value``."""
        column = column or self.columns[0]
        for r in self.rows:
            if r.get(column) == value:
                return r
        raise KeyError(f"no row with {column} = {value!r}; there are {[r.get(column) for r in self.rows]}.")

    def __repr__(self) -> str:
        cells = [[_cell(r.get(c, "")) for c in self.columns] for r in self.rows]
        widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(self.columns)]
        lines = [self.title] if self.title else []
        lines.append("  ".join(c.ljust(w) for c, w in zip(self.columns, widths)))
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths)))
                  for row in cells]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(_cell(r.get(c, '')))}</td>" for c in self.columns) + "</tr>"
                       for r in self.rows)
        caption = f"<caption>{escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ---------------------------------------------------------------------------------------
# set against set (MGEval)
# ---------------------------------------------------------------------------------------
def _feature_matrix(pieces: Sequence[Piece], fn: Callable) -> np.ndarray:
    """Feature values of each piece as rows ``(pieces, dims)``; pieces whose value is nan are dropped."""
    rows = [np.atleast_1d(np.asarray(fn(_as_piece(p)), dtype=float)) for p in pieces]
    rows = [r for r in rows if np.all(np.isfinite(r))]
    if not rows:
        return np.zeros((0, 1))
    return np.vstack(rows)


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between every row of ``a`` and every row of ``b`` (|x−y| for scalars)."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))


def _bandwidth(values: np.ndarray, fallback: float) -> float:
    """Scott's-rule kernel width of ``scipy.stats.gaussian_kde`` (``n**-1/5 * std``), or
    ``fallback`` when the values do not vary (every distance 0), where a KDE is undefined and a
    narrow spike stands in for it."""
    from scipy.stats import gaussian_kde

    if len(values) > 1 and np.ptp(values) > 1e-12:
        try:
            return float(math.sqrt(gaussian_kde(values).covariance[0, 0]))
        except np.linalg.LinAlgError:  # pragma: no cover - near-constant values
            pass
    return fallback


def _density(values: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian kernel density of ``values`` on a uniform ``grid``: the values are binned onto
    the grid (linear binning) and the bins smoothed with the Gaussian kernel. It equals
    ``gaussian_kde(values)(grid)`` to within the grid spacing, but costs O(grid) instead of
    O(values × grid), which matters for the 20 000 distances between two sets of 100 and 200."""
    dx = grid[1] - grid[0]
    position = np.clip((values - grid[0]) / dx, 0, len(grid) - 1 - 1e-9)
    left = np.floor(position).astype(int)
    right_share = position - left
    counts = (np.bincount(left, weights=1 - right_share, minlength=len(grid))
              + np.bincount(left + 1, weights=right_share, minlength=len(grid) + 1)[:len(grid)])
    half = min(len(grid) - 1, int(math.ceil(5 * bandwidth / dx)))
    offsets = np.arange(-half, half + 1) * dx
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    kernel /= kernel.sum() * dx  # a kernel narrower than a grid step still holds mass 1
    return np.convolve(counts, kernel, mode="same") / max(len(values), 1)


def _overlap_and_kl(p: np.ndarray, q: np.ndarray, grid: np.ndarray) -> tuple[float, float]:
    """Overlapped area ∫ min(p, q) dx and KL(p ‖ q) = ∫ p log(p / q) dx (nats) on a common grid."""
    from scipy.special import rel_entr

    dx = grid[1] - grid[0]
    overlap = float(np.minimum(p, q).sum() * dx)
    pn, qn = p / p.sum(), q / q.sum()
    # a density that is exactly 0 where the other is not would make KL infinite; floor it
    kl = float(rel_entr(pn, np.maximum(qn, 1e-12)).sum())
    return min(overlap, 1.0), max(kl, 0.0)


@dataclass
class _FeatureComparison:
    real: np.ndarray
    generated: np.ndarray
    intra_real: np.ndarray
    intra_generated: np.ndarray
    inter: np.ndarray
    grid: np.ndarray
    density_intra_real: np.ndarray
    density_intra_generated: np.ndarray
    density_inter: np.ndarray


class SetComparison(Table):
    """The result of :func:`compare_sets`: one row per feature, plus ``.details[feature]`` with
    the feature values, the three distance samples, and their densities on a common grid."""

    def __init__(self, rows, details: dict[str, _FeatureComparison], title: str = ""):
        super().__init__(rows, title)
        self.details = details


def compare_sets(generated: Sequence[Piece], real: Sequence[Piece], features=None, *,
                 grid_points: int = 1000) -> SetComparison:
    """Compare a set of generated pieces with a set of real ones, feature by feature (MGEval).

    For each feature (a name in :data:`FEATURES` or a function piece -> number or vector):

    1. compute it for every piece (pieces where it is ``nan`` are left out);
    2. *intra-set* distances: between every two pieces of the same set; *inter-set*:
       between every generated and every real piece (``|x − y|``, Euclidean for histograms);
    3. smooth each distance sample into a density with a Gaussian KDE (``scipy.stats.gaussian_kde``);
    4. compare the intra-real density ``p`` with the inter-set density ``q``:
       **overlapped area** ``OA = ∫ min(p, q)`` (1 = the generated pieces sit among the real
       ones as the real ones sit among themselves) and **KL divergence** ``KL(p‖q)`` in nats
       (0 = the same). Both are computed on one common grid, unlike MGEval's ``kl_dist``,
       which evaluates the two densities at different points.

    Returns a :class:`SetComparison` (a printable table) with, per feature, the mean and spread
    of the feature in each set, the mean intra- and inter-set distances, ``overlap`` and ``kl``.
    Source: Yang & Lerch, "On the evaluation of generative models in music", 2020.
    """
    generated, real = list(generated), list(real)
    if len(real) < 2 or len(generated) < 1:
        raise ValueError(f"compare_sets needs at least 2 real pieces and 1 generated piece "
                         f"(got {len(real)} real, {len(generated)} generated).")
    if int(grid_points) < 10:
        raise ValueError(f"grid_points must be at least 10, got {grid_points!r}.")
    rows, details = [], {}
    for name, fn in _feature_functions(features).items():
        xr, xg = _feature_matrix(real, fn), _feature_matrix(generated, fn)
        if len(xr) < 2 or len(xg) < 1 or xr.shape[1] != xg.shape[1]:
            rows.append({"feature": name, "real_n": len(xr), "generated_n": len(xg),
                         "overlap": math.nan, "kl": math.nan})
            continue
        iu = np.triu_indices(len(xr), k=1)
        intra_real = _pairwise(xr, xr)[iu]
        ig = np.triu_indices(len(xg), k=1)
        intra_gen = _pairwise(xg, xg)[ig] if len(xg) > 1 else np.zeros(0)
        inter = _pairwise(xg, xr).ravel()
        everything = np.concatenate([intra_real, intra_gen, inter])
        spike = 1e-3 * max(float(np.ptp(everything)), float(np.abs(everything).max()), 1e-6)
        widths = [_bandwidth(d, spike) if len(d) else spike for d in (intra_real, intra_gen, inter)]
        pad = max(0.25 * float(np.ptp(everything)), 5 * max(widths))  # room for the kernels' tails
        grid = np.linspace(everything.min() - pad, everything.max() + pad, int(grid_points))
        p = _density(intra_real, grid, widths[0])
        q = _density(inter, grid, widths[2])
        pg = _density(intra_gen, grid, widths[1]) if len(intra_gen) else np.full_like(grid, math.nan)
        overlap, kl = _overlap_and_kl(p, q, grid)
        scalar = xr.shape[1] == 1
        rows.append({
            "feature": name,
            "real_mean": float(xr.mean()) if scalar else math.nan,
            "real_std": float(xr.std()) if scalar else math.nan,
            "generated_mean": float(xg.mean()) if scalar else math.nan,
            "generated_std": float(xg.std()) if scalar else math.nan,
            "intra_real": float(intra_real.mean()),
            "intra_generated": float(intra_gen.mean()) if len(intra_gen) else math.nan,
            "inter": float(inter.mean()),
            "overlap": overlap,
            "kl": kl,
        })
        details[name] = _FeatureComparison(xr, xg, intra_real, intra_gen, inter, grid, p, pg, q)
    return SetComparison(rows, details, title="generated vs real (MGEval: overlap 1 and KL 0 = alike)")


def plot_set_comparison(result: SetComparison, ax=None, *, features: Sequence[str] | None = None,
                        figsize=None):
    """Draw, per feature, the three distance densities: intra-real, intra-generated, inter-set.

    The closer the inter-set curve (generated vs real) lies to the intra-real curve, the more
    the generated pieces resemble real ones on that feature. ``ax``: one Axes (for one feature)
    or an array of Axes (one per feature); by default a new figure with a grid of panels.
    Returns ``(fig, ax)`` (``ax`` is the array of Axes used).
    """
    import matplotlib.pyplot as plt

    names = [f for f in (features or list(result.details)) if f in result.details]
    if not names:
        raise ValueError("nothing to plot: no feature in this comparison has values in both sets.")
    if ax is None:
        cols = min(3, len(names))
        rows = math.ceil(len(names) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=figsize or (4.2 * cols, 2.8 * rows), squeeze=False)
        axes = axes.ravel()
        for extra in axes[len(names):]:
            extra.set_visible(False)
    else:
        axes = np.atleast_1d(ax).ravel()
        if len(axes) < len(names):
            raise ValueError(f"got {len(axes)} Axes for {len(names)} features; pass one Axes per feature "
                             "or features=[...] to choose fewer.")
        fig = axes[0].figure
    for a, name in zip(axes, names):
        d = result.details[name]
        row = result.row(name)
        a.plot(d.grid, d.density_intra_real, label="intra-set: real", color="#1f77b4")
        if np.all(np.isfinite(d.density_intra_generated)):
            a.plot(d.grid, d.density_intra_generated, label="intra-set: generated", color="#d62728", ls="--")
        a.plot(d.grid, d.density_inter, label="inter-set", color="#2ca02c")
        a.fill_between(d.grid, np.minimum(d.density_intra_real, d.density_inter), color="#2ca02c", alpha=0.15)
        a.set_title(f"{name}\nOA={row['overlap']:.2f}  KL={row['kl']:.2f}", fontsize=9)
        a.set_xlabel("distance", fontsize=8)
        a.set_yticks([])
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig, (axes[0] if ax is not None and np.ndim(ax) == 0 else axes)


# ---------------------------------------------------------------------------------------
# copying: runs of tokens shared with the training set
# ---------------------------------------------------------------------------------------
# The one copy check of the course (lessons 02, 03, 05, 06). Written with numpy rather than a
# suffix-array library: nothing in the course's dependencies does it, and polynomial hashes of
# windows plus a sorted binary search handle a million training tokens in about a second.
_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd, so invertible modulo 2**64
_HASH_INVERSE = np.uint64(pow(int(_HASH_BASE), -1, 2 ** 64))


class _HashedTokens:
    """All sequences glued together, with prefix hashes so that the hash of any window
    ``[i, i + n)`` costs O(1): ``(P[i+n] - P[i]) * B**-i`` modulo 2**64 (numpy wraps uint64).
    A window never spans two sequences. Used by :func:`copy_rate` and :func:`longest_shared_run`."""

    def __init__(self, sequences: Sequence[np.ndarray]):
        sequences = list(sequences)
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        self.tokens = np.concatenate(sequences).astype(np.int64) if sequences else np.zeros(0, np.int64)
        self.which = np.repeat(np.arange(len(sequences)), lengths)
        self.first = np.cumsum(lengths) - lengths          # where each sequence starts in ``tokens``
        total = len(self.tokens)
        # tokens from each position to the end of its sequence: a window of n fits where room >= n
        self.room = (self.first + lengths)[self.which] - np.arange(total)
        # powers[k] = B**k and inverse_powers[k] = B**-k, modulo 2**64 (uint64 products wrap)
        powers = np.ones(total, dtype=np.uint64)
        self.inverse_powers = np.ones(total, dtype=np.uint64)
        if total > 1:
            powers[1:] = np.cumprod(np.full(total - 1, _HASH_BASE, dtype=np.uint64))
            self.inverse_powers[1:] = np.cumprod(np.full(total - 1, _HASH_INVERSE, dtype=np.uint64))
        # tokens + 1 so that token 0 (a low C) still changes the hash
        self.prefix = np.zeros(total + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            self.prefix[1:] = np.cumsum((self.tokens.astype(np.uint64) + np.uint64(1)) * powers, dtype=np.uint64)

    def starts(self, n: int) -> np.ndarray:
        """Start (index into ``tokens``) of every length-``n`` window that lies inside one sequence."""
        if n < 1:
            return np.zeros(0, np.int64)
        return np.flatnonzero(self.room >= n)

    def hashes(self, starts: np.ndarray, n: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (self.prefix[starts + n] - self.prefix[starts]) * self.inverse_powers[starts]

    def windows(self, n: int) -> np.ndarray:
        """Hashes of every length-``n`` window that lies inside one sequence."""
        return self.hashes(self.starts(n), n)


def _member(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """``values[i] in pool`` for every i, by binary search in the sorted pool (numpy's ``isin``
    hashes both arrays, which is many times slower for a million 64-bit hashes)."""
    if not len(pool):
        return np.zeros(len(values), dtype=bool)
    pool = np.sort(pool)
    idx = np.minimum(np.searchsorted(pool, values), len(pool) - 1)
    return pool[idx] == values


@dataclass(frozen=True)
class SharedRun:
    """The longest stretch of tokens a generated sequence shares with the training set.

    Attributes:
        length: its length in tokens (steps: 16 = one bar of 4/4 on the 16th-note grid; notes
            when the tokens are whole notes, as in lesson 02).
        training_index: which training sequence holds it (the nearest training piece), or None.
        training_start: where it starts in that training sequence (token index), or None.
        generated_start: where it starts in the generated sequence (token index), or None.
        tokens: the shared tokens.
    """

    length: int
    training_index: int | None
    training_start: int | None
    generated_start: int | None
    tokens: tuple[int, ...]


def _shared_at(train: _HashedTokens, gen: _HashedTokens, n: int):
    """``(training position, generated position)`` of the first length-``n`` run the two share
    (checked token by token after the hashes agree), or None."""
    t_starts, g_starts = train.starts(n), gen.starts(n)
    if not len(t_starts) or not len(g_starts):
        return None
    g_hash = gen.hashes(g_starts, n)
    t_hash = train.hashes(t_starts, n)
    hit = _member(t_hash, g_hash)
    for ts, h in zip(t_starts[hit], t_hash[hit]):
        for gs in g_starts[g_hash == h]:
            if np.array_equal(train.tokens[ts:ts + n], gen.tokens[gs:gs + n]):
                return int(ts), int(gs)
    return None


def longest_shared_run(generated_tokens, training_token_sequences) -> SharedRun:
    """Find the longest run of consecutive tokens that a generated sequence copies, in the same
    order, from one training sequence — the nearest-neighbour copy check.

    A real tune shares a few beats with others (a scale, a cadence); a run of several bars means
    the model is reciting its training data. Runs never span two training sequences. Any whole-
    number tokens work: lesson 01's event tokens, or lesson 02's whole-note tokens. The search is
    a binary search over the run's length; at each length the hashes of all windows are compared
    (sorted binary search), and a hit is checked token by token. About a second for a tune
    against 2 million training tokens (``python -m benchmarks metrics``).

    Args:
        generated_tokens: one token sequence (or a Piece, encoded with ``melody_to_tokens``).
        training_token_sequences: a list of token sequences (or of Pieces).

    Returns:
        :class:`SharedRun`; ``SharedRun(0, None, None, None, ())`` when not even one token is
        shared. Of several longest runs, the first in training order (then in the generated
        sequence) is reported.

    Raises:
        ValueError: when more than one generated sequence is given.

    Lesson: 02_rule_based, 03_lstm, 05_evaluation
    """
    generated = _sequences(generated_tokens)
    if len(generated) != 1:
        raise ValueError(f"pass one generated sequence (got {len(generated)}); call longest_shared_run "
                         "once per generated piece.")
    training = _sequences(training_token_sequences)
    gen, train = _HashedTokens(generated), _HashedTokens(training)
    lo, found = 0, None                      # lo: a length known to be shared
    hi = min(len(gen.tokens), max((len(t) for t in training), default=0))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        hit = _shared_at(train, gen, mid)
        if hit is None:
            hi = mid - 1
        else:
            lo, found = mid, hit
    if found is None:
        return SharedRun(0, None, None, None, ())
    ts, gs = found
    index = int(train.which[ts])
    return SharedRun(int(lo), index, int(ts - train.first[index]), gs,
                     tuple(int(t) for t in gen.tokens[gs:gs + lo]))


def copy_rate(generated, training, n: int = 32) -> float:
    """Share of the generated ``n``-grams that occur somewhere in the training set (0–1).

    ``generated``: a token sequence, a list of them, or Pieces (encoded with
    ``melody_to_tokens``, 4 steps per quarter); ``training``: a list of sequences or Pieces.
    ``n`` is in tokens: 32 = two bars of 4/4 on the 16th-note grid. A small rate is normal (a
    scale or a cadence recurs across tunes); a high one means copying. ``nan`` when no generated
    sequence is ``n`` long.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a whole number of tokens >= 1, got {n!r}.")
    gen = _HashedTokens(_sequences(generated))
    train = _HashedTokens(_sequences(training))
    g_hash = gen.windows(int(n))
    if not len(g_hash):
        return math.nan
    t_hash = train.windows(int(n))
    return float(_member(g_hash, t_hash).mean())


# ---------------------------------------------------------------------------------------
# scoreboard: every generator against held-out real music
# ---------------------------------------------------------------------------------------
class Scoreboard(Table):
    """The result of :func:`scoreboard`: one row per system (the reference first), and
    ``.comparisons[system]`` holding each system's :class:`SetComparison`."""

    def __init__(self, rows, comparisons: dict[str, SetComparison], features: list[str], title: str = ""):
        super().__init__(rows, title)
        self.comparisons = comparisons
        self.features = features


def scoreboard(sets: Mapping[str, Sequence[Piece]], reference: Sequence[Piece], features=None, *,
               training=None, n: int = 32) -> Scoreboard:
    """The same metrics for every generator, against held-out real music: one table.

    ``sets`` maps a system's name ('n-gram', 'LSTM t=1.0', 'GAN') to its pieces; ``reference``
    is real music the systems never saw (the test split). Each row gives a system's mean of
    each scalar feature, its mean overlapped area and KL divergence with the reference over all
    features (:func:`compare_sets`), and, when ``training`` (token sequences or Pieces) is given,
    its :func:`copy_rate` of ``n``-grams. The first row is the reference itself.
    """
    if not sets:
        raise ValueError("give at least one system: scoreboard({'LSTM': pieces}, reference).")
    funcs = _feature_functions(features)
    names = list(funcs)
    reference = list(reference)

    def means(pieces) -> dict:
        out = {}
        for name, fn in funcs.items():
            x = _feature_matrix(pieces, fn)
            if x.shape[1] == 1:
                out[name] = float(x.mean()) if len(x) else math.nan
        return out

    rows = [{"system": "reference (real)", "pieces": len(reference), **means(reference),
             "mean_overlap": 1.0, "mean_kl": 0.0}]
    if training is not None:
        rows[0]["copy_rate"] = copy_rate(reference, training, n)
    comparisons = {}
    for system, pieces in sets.items():
        pieces = list(pieces)
        cmp = compare_sets(pieces, reference, funcs)
        comparisons[system] = cmp
        row = {"system": system, "pieces": len(pieces), **means(pieces),
               "mean_overlap": float(np.nanmean(cmp["overlap"])) if len(cmp) else math.nan,
               "mean_kl": float(np.nanmean(cmp["kl"])) if len(cmp) else math.nan}
        if training is not None:
            row["copy_rate"] = copy_rate(pieces, training, n)
        rows.append(row)
    return Scoreboard(rows, comparisons, names, title="scoreboard (overlap with real music: higher is closer)")


def plot_scoreboard(board: Scoreboard, ax=None, *, figsize=None):
    """A heat map of overlapped area (systems × features): how close each system comes to the
    reference on each feature, 0 (nothing alike) to 1 (as alike as real pieces are to each
    other). Returns ``(fig, ax)``."""
    import matplotlib.pyplot as plt

    systems = list(board.comparisons)
    features = [f for f in board.features if any(f in c.details for c in board.comparisons.values())]
    grid = np.array([[board.comparisons[s].row(f)["overlap"] if f in board.comparisons[s].details else np.nan
                      for f in features] for s in systems])
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize or (1.0 + 0.75 * len(features), 1.2 + 0.5 * len(systems)))
    else:
        fig = ax.figure
    image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for i in range(len(systems)):
        for j in range(len(features)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if grid[i, j] < 0.6 else "black")
    ax.set_xticks(range(len(features)))
    ax.set_xticklabels(features, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(systems)))
    ax.set_yticklabels(systems)
    ax.set_title("overlap with real music (1 = as alike as real pieces are)", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.03)
    fig.tight_layout()
    return fig, ax


# ---------------------------------------------------------------------------------------
# bars: MuseGAN's bar metrics, and variety across a set of pieces (mode collapse)
# ---------------------------------------------------------------------------------------
__all__ += ["used_pitch_classes", "qualified_note_rate", "empty_bar_rate", "unique_fraction", "diversity"]


def _bars_sounding(piece: Piece, until: float | None = None) -> tuple[list, dict[int, list[Note]]]:
    """The piece's bars (:meth:`Piece.bars` up to ``until``) and, per bar number, the notes that
    sound in it (a note held over a bar line sounds in both bars)."""
    bar_map = BarMap(piece, until)
    sounding: dict[int, list[Note]] = {}
    for n in piece.notes:
        bar = bar_map.bar(n.start)
        while True:
            sounding.setdefault(bar.number, []).append(n)
            if bar.end >= n.end - _EPS:
                break
            bar = bar_map.bar(bar.end)
    listed = piece.bars(until) if until is not None else bar_map.bars
    return listed, sounding


def used_pitch_classes(piece: Piece) -> float:
    """UPC: the number of pitch classes (0–12) sounding in a bar, averaged over the bars where
    anything sounds.

    ``UPC = mean over non-empty bars b of |{pitch % 12 : a note sounds in b}|``; bars are the
    piece's own (:meth:`Piece.bars`), a note held over a bar line counts in both bars, drums are
    left out. Bach's chorale bars use about 7 (a scale's worth); random notes use nearly 12, a
    single repeated note 1. ``nan`` without notes. (:func:`n_pitch_classes_used` counts the
    whole piece.) Source: Dong et al., "MuseGAN", AAAI 2018 (UPC).

    Lesson: 04_gan
    """
    piece = _as_piece(piece)
    _, sounding = _bars_sounding(piece.pitched())
    counts = [len({n.pitch % 12 for n in notes}) for notes in sounding.values()]
    return float(np.mean(counts)) if counts else math.nan


def qualified_note_rate(piece: Piece, min_duration: float = 0.75) -> float:
    """QN: the share of notes at least ``min_duration`` quarter notes long.

    ``QN = #notes with duration >= min_duration / #notes`` (drums left out). Many short
    fragments mean a generator "flickers" instead of holding notes. MuseGAN counts notes of 3 or
    more of its 24 steps per beat (a 32nd note); the default here, 0.75 (three sixteenths, a
    dotted eighth), is stricter, so Bach's chorale bars cut at bar lines score about 0.6: compare
    with real music, not with 1. ``nan`` without notes. Source: Dong et al., "MuseGAN", AAAI 2018 (QN).

    Lesson: 04_gan
    """
    durations = np.array([n.duration for n in _pitched(_as_piece(piece))])
    return float(np.mean(durations >= min_duration - _EPS)) if durations.size else math.nan


def empty_bar_rate(piece: Piece, until: float | None = None) -> float:
    """EB: the share of bars in which no note sounds.

    ``EB = #bars with no sounding note / #bars`` over :meth:`Piece.bars` up to ``until``
    (quarter notes). A Piece ends where its last note ends, so give ``until`` when the music
    ends in silence (e.g. ``4.0 * n`` for ``n`` bars of 4/4). A note held over a bar line fills
    both bars; drums count. Source: Dong et al., "MuseGAN", AAAI 2018 (EB).

    Lesson: 04_gan
    """
    bars, sounding = _bars_sounding(_as_piece(piece), until)
    return 1.0 - sum(bar.number in sounding for bar in bars) / len(bars)


def _note_set(piece: Piece) -> tuple:
    return tuple(sorted((round(n.start, 6), n.pitch, round(n.duration, 6)) for n in _pitched(piece)))


def unique_fraction(pieces: Sequence[Piece]) -> float:
    """The share of different pieces in a set: ``#distinct pieces / #pieces``.

    Two pieces are the same when they hold the same notes (start, pitch, duration; velocity and
    part ignored); all empty pieces are one. 1.0 = all different, ``1/n`` = one piece repeated —
    mode collapse. A coarse test: copies that differ in one note all count as different (see
    :func:`diversity`). ``nan`` for an empty set. Source: counting duplicate samples, the first
    check for GAN mode collapse (Arora & Zhang, "Do GANs learn the distribution?", 2017, count
    duplicates among generated samples).

    Lesson: 04_gan
    """
    sets = [_note_set(_as_piece(p)) for p in pieces]
    return len(set(sets)) / len(sets) if sets else math.nan


def diversity(pieces: Sequence[Piece], pairs: int = 2000, seed: int = 0, resolution: int = 4) -> float:
    """Mean Jaccard distance between random pairs of pieces: ``1 - |A ∩ B| / |A ∪ B|``, where ``A``
    and ``B`` are the (time step, pitch) cells where each piece sounds a note on a grid of
    ``resolution`` steps per quarter note (4 = sixteenths).

    0 = every pair the same, 1 = no pair shares a sounding cell; two empty pieces count as the
    same. A finer test of mode collapse than :func:`unique_fraction`: copies of one bar with a
    few cells flickering are all "unique", yet their pairs differ in few cells. ``pairs`` random
    pairs of two different pieces are drawn with ``seed``. Compare with real music (Bach's chorale
    bars: about 0.9). Source: the Jaccard distance (Jaccard 1912) of piano-roll cells; pairwise
    distances within one set, as MGEval's intra-set distances (Yang & Lerch 2020).

    Raises:
        ValueError: fewer than two pieces.

    Lesson: 04_gan
    """
    pieces = [_as_piece(p) for p in pieces]
    if len(pieces) < 2:
        raise ValueError(f"diversity compares pairs of pieces: give at least two, got {len(pieces)}.")
    res = _check_resolution(resolution)
    steps = [_time_steps(_pitched(p), res) for p in pieces]
    length = max([end for s in steps for _, end, _ in s], default=0) or 1
    rolls = np.zeros((len(pieces), length, 128), dtype=bool)
    for k, s in enumerate(steps):
        for start, end, pitch in s:
            rolls[k, start:end, pitch] = True
    rolls = rolls.reshape(len(pieces), -1)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(pieces), int(pairs))
    j = (i + rng.integers(1, len(pieces), int(pairs))) % len(pieces)   # never a piece with itself
    inter = (rolls[i] & rolls[j]).sum(axis=1)
    union = (rolls[i] | rolls[j]).sum(axis=1)
    return float(np.mean(np.where(union > 0, 1.0 - inter / np.maximum(union, 1), 0.0)))
