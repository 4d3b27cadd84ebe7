"""Reading scores with music21: ABC, MusicXML (.xml/.mxl/.musicxml), Humdrum (.krn), MEI.

* :func:`load_score` — a score file into a :class:`~musegen_helpers.music.Piece`;
* :func:`from_music21` — a music21 stream into a Piece (sounding pitch, ties, meter, key, pickup).

Every failure to read is a :class:`~musegen_helpers.errors.MusicFileError` naming the file.
Writing a Piece as a score is :mod:`musegen_helpers.notation`'s job.

Lesson: 01_representation
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

from .errors import MusicFileError
from .files import PathLike, read_bytes
from .music import PITCH_CLASS_NAMES, Note, Piece, parse_key

__all__ = ["load_score", "from_music21", "SCORE_SUFFIXES"]

SCORE_SUFFIXES = {".abc", ".xml", ".mxl", ".musicxml", ".krn", ".mid", ".midi", ".mei"}
MAX_FILE_BYTES = 5_000_000


def from_music21(stream, *, title: str | None = None, source: str = "") -> Piece:
    """Convert a music21 Score/Part/Stream into a Piece.

    Ties are merged into single notes, chords become simultaneous notes, grace notes (no
    duration) are dropped, and each note's ``part`` is its part's name (or id). The first
    metronome mark, time signature and key (or key signature) become the Piece's.
    """
    from music21 import chord as m21chord
    from music21 import key as m21key
    from music21 import meter, stream as m21stream, tempo as m21tempo

    if not isinstance(stream, m21stream.Stream):
        raise TypeError(f"from_music21 needs a music21 stream (Score, Part, ...), got {type(stream).__name__}.")
    # music21 joins a tie chain only while the pitches compare equal, and an A written with a
    # natural sign is not "equal" to the plain A that continues the tie; a Piece needs only MIDI
    # numbers, so drop natural signs from a copy before joining ties
    stripped = copy.deepcopy(stream)
    for el in stripped.recurse().notes:
        for pt in el.pitches:
            if pt.accidental is not None and pt.accidental.name == "natural":
                pt.accidental = None
    stripped.stripTies(inPlace=True)
    if isinstance(stripped, m21stream.Score) and stripped.parts:
        parts = list(stripped.parts)
    else:
        parts = [stripped]
    notes: list[Note] = []
    for i, part in enumerate(parts):
        label = None
        if len(parts) > 1 or isinstance(stripped, m21stream.Score):
            label = (part.partName or (str(part.id) if part.id is not None and not isinstance(part.id, int)
                                       else f"part {i + 1}"))
        flat_part = part.flatten()
        for el in flat_part.notes:
            ql = float(el.quarterLength)
            if ql <= 0:  # grace notes
                continue
            start = float(flat_part.elementOffset(el))
            pitches = el.pitches if isinstance(el, m21chord.Chord) else [el.pitch]
            velocity = el.volume.velocity if el.volume is not None and el.volume.velocity else 80
            for pt in pitches:
                if 0 <= pt.midi <= 127:
                    notes.append(Note(int(pt.midi), start, ql, int(velocity), label))
    flat = stream.flatten()
    marks = list(flat.getElementsByClass(m21tempo.MetronomeMark))
    tempo = float(marks[0].getQuarterBPM()) if marks and marks[0].number else 120.0
    changes = [(float(m.getOffsetBySite(flat)), float(m.getQuarterBPM())) for m in marks[1:]
               if m.number and m.getOffsetBySite(flat) > 0]
    sigs = list(flat.getElementsByClass(meter.TimeSignature))
    ts = (sigs[0].numerator, sigs[0].denominator) if sigs else (4, 4)
    key = None
    keys = list(flat.getElementsByClass(m21key.Key))
    if keys:
        key = f"{PITCH_CLASS_NAMES[keys[0].tonic.pitchClass]} {keys[0].mode}"
    else:
        ksigs = list(flat.getElementsByClass(m21key.KeySignature))
        if ksigs:
            k = ksigs[0].asKey("major")
            key = f"{PITCH_CLASS_NAMES[k.tonic.pitchClass]} major"
    if key is not None:
        try:
            parse_key(key)
        except ValueError:
            key = None
    if title is None:
        md = stream.metadata
        title = (md.title if md is not None and md.title else "") or ""
    meta = {}
    pickup = _pickup_length(parts[0]) if parts else 0.0
    if pickup:
        meta["pickup"] = pickup
    changes_ts = []
    last_ts = ts
    for sig in sigs[1:]:
        at = float(sig.getOffsetBySite(flat))
        if at > 0 and (sig.numerator, sig.denominator) != last_ts:
            changes_ts.append([at, [sig.numerator, sig.denominator]])
            last_ts = (sig.numerator, sig.denominator)
    if changes_ts:
        meta["time_signature_changes"] = changes_ts
    return Piece(notes, tempo=min(max(tempo, 1.0), 1000.0), time_signature=ts, key=key, title=title,
                 source=source, tempo_changes=changes, meta=meta)


def _pickup_length(part) -> float:
    """Length in quarter notes of an anacrusis (an incomplete first bar), or 0."""
    from music21 import stream as m21stream

    measures = list(part.getElementsByClass(m21stream.Measure))
    if not measures:
        return 0.0
    padding = float(measures[0].paddingLeft or 0.0)
    if padding <= 0:
        return 0.0
    return float(measures[0].barDuration.quarterLength) - padding


def load_score(path: PathLike, *, max_bytes: int = MAX_FILE_BYTES, expand_repeats: bool = False) -> Piece:
    """Read a score (ABC, MusicXML .xml/.mxl/.musicxml, Humdrum .krn, MEI, or MIDI) with music21.

    With ``expand_repeats=True`` repeat signs are written out. Raises MusicFileError on failure.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".mid", ".midi"):
        from .midi_io import load_midi

        return load_midi(p, max_bytes=max_bytes)
    if suffix not in SCORE_SUFFIXES:
        raise MusicFileError(p, f"unsupported file type {suffix or '(no extension)'}",
                             "the course reads .abc, .xml/.mxl/.musicxml, .krn, .mei and .mid files")
    read_bytes(p, "score", max_bytes)
    import music21

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = music21.converter.parse(str(p))
            if expand_repeats:
                parsed = parsed.expandRepeats()
    except Exception as exc:
        raise MusicFileError(p, f"music21 could not parse it ({type(exc).__name__}: {str(exc)[:200]})",
                             "check that the file is complete and really is the format its extension says") from None
    try:
        piece = from_music21(parsed, source=str(p))
    except Exception as exc:
        raise MusicFileError(p, f"the score parsed but could not be converted ({type(exc).__name__}: {exc})",
                             "the score may use notation the course does not support") from None
    if not piece.title:
        piece.title = p.stem
    if not piece.notes:
        warnings.warn(f"{p}: the score contains no notes; returning an empty Piece.", stacklevel=2)
    return piece
