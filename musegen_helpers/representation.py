"""Representations a model can read: piano rolls, event tokens and chord symbols.

Every encoder here has its decoder, and the round trip is tested:

* **piano roll** — a boolean array ``(pitches, steps)``; one row per MIDI pitch, one column
  per grid step (``steps_per_quarter=4`` gives sixteenth notes). Optional onset roll marks
  where notes start, so two repeated notes are not merged into one long one.
* **event tokens** — one integer per grid step for a *melody* (one note at a time):
  ``0–127`` = a new note of that MIDI pitch starts, ``HOLD`` = keep doing what you did
  (sound the note, or stay silent), ``REST`` = silence starts, ``END`` = the tune is over.
  This is the representation of lesson 02's Markov chain and lesson 03's LSTM.
* **chord symbols** — the pitch classes sounding on each beat and their chord name.

Lesson: 01_representation
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from .music import Note, Piece, note_name, pitch_from_name

__all__ = [
    "HOLD", "REST", "END", "VOCAB_SIZE",
    "monophonic", "melody_to_tokens", "tokens_to_melody", "token_names", "tokens_from_names",
    "is_onset_token", "piano_roll", "piece_from_piano_roll", "chord_symbols", "to_piece", "bar_stack",
]

HOLD = 128
REST = 129
END = 130
VOCAB_SIZE = 131

MAX_STEPS = 2_000_000  # a piano roll or token list longer than this is almost surely a mistake


def _grid_index(value: float, steps_per_quarter: int) -> int:
    return int(round(value * steps_per_quarter))


def _check_grid(steps_per_quarter):
    if int(steps_per_quarter) != steps_per_quarter or steps_per_quarter < 1:
        raise ValueError(
            f"steps_per_quarter must be a whole number >= 1 (4 = sixteenth notes), got {steps_per_quarter!r}."
        )
    return int(steps_per_quarter)


def monophonic(piece: Piece, steps_per_quarter: int = 4) -> Piece:
    """One note at a time, on the grid: the "skyline" melody of a piece.

    Notes are first quantised to the grid (``1/steps_per_quarter`` quarter notes). Of the notes
    that start on the same step the highest is kept; a note is cut short where the next kept
    note starts. Drum notes are left out. This is what :func:`melody_to_tokens` encodes.
    """
    spq = _check_grid(steps_per_quarter)
    grid = 1.0 / spq
    q = piece.pitched().quantize(grid)
    by_onset: dict[int, Note] = {}
    for n in q.notes:
        i = _grid_index(n.start, spq)
        if i not in by_onset or n.pitch > by_onset[i].pitch:
            by_onset[i] = n
    onsets = sorted(by_onset)
    out = []
    for k, i in enumerate(onsets):
        n = by_onset[i]
        end = _grid_index(n.end, spq)
        if k + 1 < len(onsets):
            end = min(end, onsets[k + 1])
        out.append(Note(n.pitch, i * grid, (end - i) * grid, n.velocity, n.part))
    return q.with_notes(out)


def melody_to_tokens(piece: Piece, steps_per_quarter: int = 4, add_end: bool = False,
                     start: float = 0.0) -> np.ndarray:
    """Encode a melody as one token per grid step (see the module docstring).

    Args:
        piece: any Piece; it is reduced to its :func:`monophonic` skyline first.
        steps_per_quarter: grid resolution, 4 = sixteenth notes.
        add_end: append the ``END`` token.
        start: position in quarter notes of the first step (e.g. a negative pickup is not
            allowed; use 0 for the piece's start).

    Returns:
        ``int32`` array of length ``ceil(end * steps_per_quarter)`` (+1 with ``add_end``).
        Silence before the first note is a ``REST`` followed by ``HOLD`` s.
    """
    spq = _check_grid(steps_per_quarter)
    mono = monophonic(piece, spq)
    n_steps = _grid_index(mono.end, spq) - _grid_index(start, spq)
    if n_steps > MAX_STEPS:
        from .errors import LimitError
        raise LimitError(f"this melody is {n_steps} steps long, over the limit of {MAX_STEPS}; "
                         "slice it first (piece.slice(start, end)).")
    tokens = np.full(max(n_steps, 0), HOLD, dtype=np.int32)
    offset = _grid_index(start, spq)
    cursor = 0  # first step not covered by a note yet
    for n in mono.notes:
        a = _grid_index(n.start, spq) - offset
        b = _grid_index(n.end, spq) - offset
        if b <= 0:
            continue
        if a > cursor:
            tokens[cursor] = REST
        a = max(a, 0)
        tokens[a] = n.pitch
        cursor = b
    if n_steps > 0 and cursor == 0:
        tokens[0] = REST
    if add_end:
        tokens = np.append(tokens, np.int32(END))
    return tokens


def tokens_to_melody(tokens: Iterable[int], steps_per_quarter: int = 4, *, tempo: float = 120.0,
                     time_signature: tuple[int, int] = (4, 4), key: str | None = None,
                     velocity: int = 80, title: str = "", pickup: float = 0.0,
                     time_signature_changes: Sequence[tuple[float, tuple[int, int]]] = ()) -> Piece:
    """Decode event tokens into a one-voice Piece (inverse of :func:`melody_to_tokens`).

    A ``HOLD`` at the very start is read as silence; decoding stops at the first ``END``.
    Tokens carry no bar lines: ``time_signature``, ``pickup`` (quarter notes) and
    ``time_signature_changes`` (``(position in quarter notes, (beats, unit))`` pairs) are the
    Piece's, so ``tokens_to_melody(melody_to_tokens(p), time_signature=p.time_signature,
    pickup=p.pickup, time_signature_changes=p.time_signature_changes)`` has ``p``'s bars.
    Raises ValueError for a token outside the vocabulary or a pickup of a whole bar or more.
    """
    spq = _check_grid(steps_per_quarter)
    grid = 1.0 / spq
    notes = []
    current_pitch, current_start = None, 0
    step = -1
    for step, token in enumerate(tokens):
        token = int(token)
        if not 0 <= token < VOCAB_SIZE:
            raise ValueError(
                f"token {token} at step {step} is not in the vocabulary: 0–127 pitches, "
                f"{HOLD}=HOLD, {REST}=REST, {END}=END."
            )
        if token == HOLD:
            continue
        if current_pitch is not None:
            notes.append(Note(current_pitch, current_start * grid, (step - current_start) * grid, velocity))
            current_pitch = None
        if token == END:
            step -= 1
            break
        if token != REST:
            current_pitch, current_start = token, step
    else:
        pass
    if current_pitch is not None:
        notes.append(Note(current_pitch, current_start * grid, (step + 1 - current_start) * grid, velocity))
    return Piece(notes, tempo=tempo, time_signature=time_signature, key=key, title=title, pickup=pickup,
                 time_signature_changes=list(time_signature_changes))


def is_onset_token(tokens) -> np.ndarray:
    """Boolean mask of tokens that start something: a pitch or a ``REST`` (not ``HOLD``/``END``)."""
    t = np.asarray(tokens)
    return (t <= 127) | (t == REST)


def token_names(tokens: Iterable[int]) -> list[str]:
    """Readable names: pitches as 'C4', HOLD as '_', REST as 'R', END as '|'."""
    special = {HOLD: "_", REST: "R", END: "|"}
    return [special.get(int(t), note_name(int(t)) if 0 <= int(t) <= 127 else f"?{int(t)}") for t in tokens]


def tokens_from_names(names: Sequence[str] | str) -> np.ndarray:
    """Inverse of :func:`token_names`; also accepts one space-separated string ('C4 _ _ R _ E4 |')."""
    if isinstance(names, str):
        names = names.split()
    special = {"_": HOLD, "R": REST, "|": END}
    return np.array([special[n] if n in special else pitch_from_name(n) for n in names], dtype=np.int32)


# ---------------------------------------------------------------------------------------
# Piano rolls
# ---------------------------------------------------------------------------------------
def piano_roll(piece: Piece, steps_per_quarter: int = 4, lowest_pitch: int = 0, highest_pitch: int = 127,
               n_steps: int | None = None, onsets: bool = False, include_drums: bool = False):
    """Piano roll of a piece: ``roll[pitch - lowest_pitch, step]`` is True while that pitch sounds.

    Args:
        steps_per_quarter: grid resolution (4 = sixteenth notes); notes are quantised to it.
        lowest_pitch, highest_pitch: MIDI pitches of the first and last row (inclusive).
            Notes outside are dropped — crop to what the data uses.
        n_steps: number of columns; default: just long enough for the last note.
        onsets: also return a second roll that is True only where a note starts.

    Returns:
        bool array ``(highest_pitch - lowest_pitch + 1, n_steps)``, or ``(roll, onset_roll)``.
    """
    spq = _check_grid(steps_per_quarter)
    if not 0 <= lowest_pitch <= highest_pitch <= 127:
        raise ValueError(f"pitch range {lowest_pitch}–{highest_pitch} must lie within 0–127, lowest first.")
    src = piece if include_drums else piece.pitched()
    q = src.quantize(1.0 / spq)
    total = n_steps if n_steps is not None else _grid_index(q.end, spq)
    if total > MAX_STEPS:
        from .errors import LimitError
        raise LimitError(f"this piano roll would have {total} steps, over the limit of {MAX_STEPS}; "
                         "slice the piece first (piece.slice(start, end)).")
    roll = np.zeros((highest_pitch - lowest_pitch + 1, total), dtype=bool)
    starts = np.zeros_like(roll)
    for n in q.notes:
        if not lowest_pitch <= n.pitch <= highest_pitch:
            continue
        a, b = _grid_index(n.start, spq), _grid_index(n.end, spq)
        if a >= total:
            continue
        roll[n.pitch - lowest_pitch, a:min(b, total)] = True
        starts[n.pitch - lowest_pitch, a] = True
    return (roll, starts) if onsets else roll


def piece_from_piano_roll(roll, steps_per_quarter: int = 4, lowest_pitch: int = 0, onsets=None, *,
                          threshold: float = 0.5, tempo: float = 120.0,
                          time_signature: tuple[int, int] = (4, 4), key: str | None = None,
                          velocity: int = 80, part: str | None = None, pickup: float = 0.0,
                          time_signature_changes: Sequence[tuple[float, tuple[int, int]]] = ()) -> Piece:
    """Turn a piano roll back into notes: each run of "on" steps in a row is one note.

    ``roll`` may be boolean or real-valued (e.g. a GAN's output in [0, 1]); values above
    ``threshold`` count as on. With an ``onsets`` roll, a run is split where a new onset is marked,
    so repeated notes survive the round trip. A roll has no bar lines: ``time_signature``,
    ``pickup`` (quarter notes) and ``time_signature_changes`` are given to the Piece as they are
    (see :class:`~musegen_helpers.music.Piece`).
    """
    spq = _check_grid(steps_per_quarter)
    r = np.asarray(roll)
    if r.ndim != 2:
        raise ValueError(f"a piano roll is 2-D (pitches, steps); got shape {r.shape}.")
    if r.dtype != bool:
        r = r > threshold
    if lowest_pitch < 0 or lowest_pitch + r.shape[0] - 1 > 127:
        raise ValueError(f"rows {lowest_pitch}–{lowest_pitch + r.shape[0] - 1} do not fit MIDI's 0–127.")
    o = None if onsets is None else (np.asarray(onsets) > threshold if np.asarray(onsets).dtype != bool
                                     else np.asarray(onsets))
    grid = 1.0 / spq
    notes = []
    for row in range(r.shape[0]):
        on = r[row]
        if not on.any():
            continue
        padded = np.concatenate([[False], on, [False]])
        changes = np.flatnonzero(padded[1:] != padded[:-1])
        for a, b in zip(changes[::2], changes[1::2]):
            cuts = [a]
            if o is not None:
                cuts += [int(i) for i in np.flatnonzero(o[row, a + 1:b]) + a + 1]
            cuts.append(b)
            for s, e in zip(cuts[:-1], cuts[1:]):
                notes.append(Note(lowest_pitch + row, s * grid, (e - s) * grid, velocity, part))
    return Piece(notes, tempo=tempo, time_signature=time_signature, key=key, pickup=pickup,
                 time_signature_changes=list(time_signature_changes))


# ---------------------------------------------------------------------------------------
# Chord symbols
# ---------------------------------------------------------------------------------------
def chord_symbols(piece: Piece, every: float = 1.0) -> list[tuple[float, tuple[int, ...], str]]:
    """The chord sounding at each position ``0, every, 2*every, ...`` (quarter notes).

    Returns ``(position, pitch classes sorted, name)`` triples; the name comes from music21
    (e.g. 'C-major triad', 'G-dominant seventh chord'); positions with silence are named 'rest'.
    """
    from music21 import chord as m21chord

    if not every > 0:
        raise ValueError(f"'every' must be a positive number of quarter notes, got {every}.")
    out = []
    cache: dict[tuple[int, ...], str] = {}
    pos = 0.0
    notes = piece.pitched().notes
    while pos < piece.end - 1e-9:
        sounding = sorted({n.pitch for n in notes if n.start <= pos + 1e-9 < n.end})
        pcs = tuple(sorted({p % 12 for p in sounding}))
        if not sounding:
            name = "rest"
        else:
            key = tuple(sounding)
            if key not in cache:
                cache[key] = m21chord.Chord(list(sounding)).pitchedCommonName
            name = cache[key]
        out.append((pos, pcs, name))
        pos += every
    return out


def to_piece(x, steps_per_quarter: int = 4, lowest_pitch: int = 0, tempo: float | None = None) -> Piece:
    """Accept what learners hold — a Piece, a Note, a list of Notes, a piano roll (2-D array,
    pitches × steps), or event tokens (1-D ints; a plain list of MIDI pitches reads as tokens, one
    grid step each) — and return a Piece.

    The one entry point for code that plays, engraves, plots or measures "whatever the learner
    holds" (audio, score, plots, metrics all call it).

    Args:
        x: a Piece (returned as it is, or with ``tempo`` changed), a Note or a list of Notes, a
            piano roll ``(pitches, steps)`` (see :func:`piece_from_piano_roll`), or 1-D integer
            event tokens (see :func:`tokens_to_melody`).
        steps_per_quarter: grid steps per quarter note of a roll or tokens (4 = sixteenth notes).
        lowest_pitch: MIDI pitch of a roll's first row.
        tempo: quarter notes per minute for the result (default: the Piece's own, or 120).

    Raises:
        TypeError: for anything else, saying what can be passed.

    Lesson: 01_representation
    """
    if isinstance(x, Piece):
        return x if tempo is None else x.with_notes(x.notes, tempo=tempo)
    kwargs = {} if tempo is None else {"tempo": tempo}
    if isinstance(x, Note):
        return Piece([x], **kwargs)
    if isinstance(x, (list, tuple)) and x and all(isinstance(n, Note) for n in x):
        return Piece(list(x), **kwargs)
    if isinstance(x, (list, tuple)) and not x:
        return Piece([], **kwargs)
    arr = np.asarray(x)
    if arr.ndim == 2:
        return piece_from_piano_roll(arr, steps_per_quarter, lowest_pitch, **kwargs)
    if arr.ndim == 1 and arr.dtype.kind in "iu":
        return tokens_to_melody(arr, steps_per_quarter, **kwargs)
    raise TypeError(
        f"cannot turn a {type(x).__name__} into music: pass a Piece, a list of Notes, a piano roll "
        "(2-D array of pitches × steps) or event tokens (1-D array of ints)."
    )


def bar_stack(bars) -> np.ndarray:
    """Piano-roll bars as one array of shape ``(n_bars, steps, pitches)``: accepts a stack with or
    without the trailing channel axis a Conv2D model uses (``(n, steps, pitches, 1)``) or a single
    bar ``(steps, pitches)``.

    Raises:
        ValueError: any other shape (the message shows it).

    Lesson: 04_gan
    """
    b = np.asarray(bars)
    if b.ndim in (3, 4) and b.shape[-1] == 1:   # the Conv2D channel axis (no bar has 1 pitch)
        b = b[..., 0]
    if b.ndim == 2:
        b = b[None]
    if b.ndim != 3:
        raise ValueError(f"bars must have shape (bars, steps, pitches[, 1]); got {np.asarray(bars).shape}.")
    return b
