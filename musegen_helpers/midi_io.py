"""Reading and writing music files: MIDI (with mido), scores (ABC, MusicXML, Humdrum, with music21).

* :func:`load_midi` / :func:`save_midi` — Standard MIDI Files, types 0, 1 and 2.
* :func:`load_score` — ABC, MusicXML (.xml/.mxl/.musicxml), Humdrum (.krn), MIDI too.
* :func:`from_music21` / :func:`to_music21` — convert between a music21 stream and a Piece.

Every failure to read is a :class:`~musegen_helpers.errors.MusicFileError` naming the file,
what is wrong and what to try. Saving never replaces an existing file unless ``overwrite=True``,
and writes to a temporary file first, so a crash never leaves half a file behind.

Why mido and not pretty_midi for reading: pretty_midi reports times in seconds; the course
works in quarter notes, which mido's ticks give exactly (``tick / ticks_per_beat``), with no
round trip through the tempo map.

Lesson: 01_representation
"""

from __future__ import annotations

import copy
import io
import os
import tempfile
from contextlib import contextmanager
import warnings
from pathlib import Path
from typing import Union

import mido

from .errors import LimitError, MusicFileError
from .music import PITCH_CLASS_NAMES, Note, Piece, parse_key

__all__ = ["load_midi", "save_midi", "load_score", "from_music21", "to_music21", "load",
           "MAX_FILE_BYTES", "MusicFileError"]

PathLike = Union[str, os.PathLike]

#: Files larger than this are refused (a MIDI file of a whole symphony is ~1 MB).
#: Raise it with ``load_midi(path, max_bytes=...)``. mido holds each event as a Python object,
#: 100–160 bytes of memory per byte of file: 5 MB of MIDI takes ~0.5–0.8 GB and ~10 s to read.
MAX_FILE_BYTES = 5_000_000
DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0
SCORE_SUFFIXES = {".abc", ".xml", ".mxl", ".musicxml", ".krn", ".mid", ".midi", ".mei"}


def _read_bytes(path: PathLike, kinds: str, max_bytes: int) -> bytes:
    p = Path(path)
    if not p.exists():
        raise MusicFileError(p, "no such file", "check the path and spelling; "
                             f"the current folder is {Path.cwd()}")
    if p.is_dir():
        raise MusicFileError(p, "this is a folder, not a file",
                             "pass one file, or use datasets.from_midi_folder for a folder")
    size = p.stat().st_size
    if size == 0:
        raise MusicFileError(p, "the file is empty (0 bytes)",
                             f"the download or copy probably failed; get the {kinds} file again")
    if size > max_bytes:
        raise LimitError(
            f"{p}: the file is {size:,} bytes, over the limit of {max_bytes:,} bytes; "
            "if you really mean to load it, pass max_bytes= a larger number."
        )
    try:
        return p.read_bytes()
    except OSError as exc:
        raise MusicFileError(p, f"cannot be read ({exc.strerror or exc})", "check its permissions") from None


# ---------------------------------------------------------------------------------------
# MIDI
# ---------------------------------------------------------------------------------------
def load_midi(path: PathLike, *, max_bytes: int = MAX_FILE_BYTES, max_notes: int = 500_000) -> Piece:
    """Read a Standard MIDI File into a :class:`Piece`.

    * Times become quarter notes (``ticks / ticks_per_beat``).
    * Tempo: the first tempo is ``piece.tempo``; later ones go to ``piece.tempo_changes``.
    * Each note's ``part`` is its track name (or ``'track N'``), with ``' ch M'`` added when a
      track uses several channels. Notes on channel 10 get ``is_drum=True`` — kept, flagged, and
      left out of melodies, piano rolls and pitch statistics.
    * A note-on with velocity 0 is a note-off; overlapping notes of the same pitch and channel
      end first-in-first-out; a note never turned off ends at the end of its track.
    * A valid file with no notes gives an empty Piece and a warning.

    Raises:
        MusicFileError: missing, empty, not MIDI, truncated or corrupt file, SMPTE timing that
            cannot be converted, or too many notes.
    """
    data = _read_bytes(path, "MIDI", max_bytes)
    p = Path(path)
    if not data.startswith(b"MThd"):
        hint = "it may be a different format (MusicXML, ABC, audio); try load_score()"
        if data[:4] in (b"RIFF", b"ID3\x03", b"fLaC", b"OggS") or data[:2] == b"\xff\xfb":
            hint = "this looks like an audio recording, not MIDI; the course reads symbolic music only"
        elif data.lstrip()[:5] in (b"<?xml", b"<scor"):
            hint = "this looks like MusicXML; use load_score()"
        raise MusicFileError(p, "not a MIDI file (it does not start with the 'MThd' header)", hint)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mid = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except EOFError:
        raise MusicFileError(p, "the MIDI file is truncated (it ends in the middle of a track)",
                             "download or export it again") from None
    except Exception as exc:  # mido raises OSError, KeyError, ValueError, IndexError... on corrupt data
        raise MusicFileError(p, f"the MIDI data is corrupt ({type(exc).__name__}: {exc})",
                             "open it in a MIDI editor and export it again, or try another file") from None
    return _piece_from_midifile(mid, p, max_notes)


def _piece_from_midifile(mid: mido.MidiFile, p: Path, max_notes: int) -> Piece:
    tpb = mid.ticks_per_beat
    if not isinstance(tpb, int) or tpb <= 0:
        kind = ("0 ticks per quarter note, which no file may have" if tpb == 0
                else "SMPTE frame timing (frames per second), not ticks per quarter note")
        raise MusicFileError(
            p, f"the file's time division ({tpb}) is {kind}",
            "re-export it from a sequencer with 'ticks per beat' timing")
    tempos: list[tuple[int, float]] = []
    time_sigs: list[tuple[int, tuple[int, int]]] = []
    keys: list[tuple[int, str]] = []
    notes: list[Note] = []
    title = ""
    tracks = mid.tracks
    # Type 2 files hold independent sequences one after another; play them in sequence.
    track_offsets = [0] * len(tracks)
    if mid.type == 2:
        offset = 0
        for i, tr in enumerate(tracks):
            track_offsets[i] = offset
            offset += sum(m.time for m in tr)

    for ti, track in enumerate(tracks):
        name = track.name.strip() if track.name else ""
        open_notes: dict[tuple[int, int], list[tuple[int, int]]] = {}
        channels: set[int] = set()
        raw: list[tuple[int, int, int, int, int]] = []  # start, end, pitch, velocity, channel
        tick = track_offsets[ti]
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                open_notes.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
                channels.add(msg.channel)
            elif msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0):
                stack = open_notes.get((msg.channel, msg.note))
                if stack:
                    start, vel = stack.pop(0)
                    if tick > start:
                        raw.append((start, tick, msg.note, vel, msg.channel))
            elif msg.type == "set_tempo":
                if msg.tempo > 0:  # 0 microseconds per beat is a corrupt event (and a division by 0)
                    tempos.append((tick, mido.tempo2bpm(msg.tempo)))
            elif msg.type == "time_signature":
                time_sigs.append((tick, (msg.numerator, msg.denominator)))
            elif msg.type == "key_signature":
                keys.append((tick, msg.key))
            elif msg.type == "track_name" and not title and ti == 0:
                title = msg.name.strip()
            if len(raw) > max_notes:
                raise MusicFileError(p, f"the file has more than {max_notes:,} notes",
                                     "pass max_notes= a larger number if this is intended")
        for (channel, pitch), stack in open_notes.items():  # never turned off: end with the track
            for start, vel in stack:
                if tick > start:
                    raw.append((start, tick, pitch, vel, channel))
        label = name or f"track {ti}"
        for start, end, pitch, vel, channel in raw:
            part = label if len(channels) <= 1 else f"{label} ch {channel + 1}"
            notes.append(Note(pitch, start / tpb, (end - start) / tpb, vel, part, channel == DRUM_CHANNEL))

    tempos.sort()
    tempo = tempos[0][1] if tempos and tempos[0][0] == 0 else 120.0
    changes = [(t / tpb, bpm) for t, bpm in tempos if t > 0]
    time_sigs.sort()
    time_signature = time_sigs[0][1] if time_sigs else (4, 4)
    key = None
    if keys:
        key = _mido_key_to_name(sorted(keys)[0][1])
    meta = {"midi_type": mid.type, "ticks_per_beat": tpb, "n_tracks": len(tracks)}
    if len(time_sigs) > 1:
        meta["time_signature_changes"] = [[t / tpb, list(ts)] for t, ts in time_sigs[1:]]
    try:
        piece = Piece(notes, tempo=min(max(tempo, 1.0), 1000.0), time_signature=time_signature, key=key,
                      title=title or p.stem, source=str(p), tempo_changes=changes, meta=meta)
    except ValueError:
        piece = Piece(notes, tempo=min(max(tempo, 1.0), 1000.0), key=key, title=title or p.stem,
                      source=str(p), tempo_changes=changes, meta=meta)
    if not notes:
        warnings.warn(f"{p}: a valid MIDI file, but it contains no notes; returning an empty Piece.",
                      stacklevel=3)
    return piece


def _mido_key_to_name(key: str) -> str | None:
    """mido writes 'C', 'Am', 'F#m', 'Bb'."""
    try:
        tonic, mode = parse_key(key)
    except ValueError:
        return None
    return f"{PITCH_CLASS_NAMES[tonic]} {mode}"


def _key_to_mido(key: str | None) -> str | None:
    if key is None:
        return None
    tonic, mode = parse_key(key)
    if mode not in ("major", "minor"):
        return None
    names_major = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
    names_minor = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]
    return names_major[tonic] if mode == "major" else names_minor[tonic] + "m"


@contextmanager
def _atomic_path(path: Path, suffix: str = ".tmp"):
    """A temporary file name beside ``path`` to write to; on success it replaces ``path``, on any
    error it is removed — so a crash never leaves half a file. ``suffix`` matters to writers that
    check it (Keras wants '.keras')."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes owner-only files; saved work is readable as usual
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _atomic_write(path: Path, write) -> None:
    """Write bytes through ``write(file_handle)`` to a temporary file, then rename over the target."""
    with _atomic_path(path) as tmp, open(tmp, "wb") as fh:
        write(fh)


def check_can_write(path: PathLike, overwrite: bool) -> Path:
    """Refuse to replace an existing file unless ``overwrite=True`` (nothing the user made is lost)."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise FileExistsError(
            f"{p} already exists; pass overwrite=True to replace it, or choose another file name."
        )
    return p


def _midi_text(text: str) -> str:
    """MIDI text events hold Latin-1 bytes: replace what does not fit (a curly ’ becomes '?')."""
    return str(text)[:120].encode("latin-1", "replace").decode("latin-1")


def save_midi(piece: Piece, path: PathLike, *, overwrite: bool = False, ticks_per_beat: int = 480) -> Path:
    """Write a Piece as a type-1 MIDI file: a tempo/meter track, then one track per part.

    Drum notes go to channel 10; other parts get channels 1, 2, ... (skipping 10).
    Times are rounded to the nearest tick (``ticks_per_beat`` per quarter note).
    Refuses to overwrite an existing file unless ``overwrite=True``. Returns the path.
    """
    p = check_can_write(path, overwrite)
    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    conductor = mido.MidiTrack()
    if piece.title:
        conductor.append(mido.MetaMessage("track_name", name=_midi_text(piece.title), time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(piece.tempo), time=0))
    num, den = piece.time_signature
    conductor.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    mkey = _key_to_mido(piece.key)
    if mkey:
        conductor.append(mido.MetaMessage("key_signature", key=mkey, time=0))
    last = 0
    for beat, bpm in piece.tempo_changes:
        t = int(round(beat * ticks_per_beat))
        conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=t - last))
        last = t
    mid.tracks.append(conductor)

    groups: dict[tuple[str | None, bool], list[Note]] = {}
    for n in piece.notes:
        groups.setdefault((n.part, n.is_drum), []).append(n)
    channel_cycle = [c for c in range(16) if c != DRUM_CHANNEL]
    for i, ((part, is_drum), notes) in enumerate(groups.items()):
        channel = DRUM_CHANNEL if is_drum else channel_cycle[i % len(channel_cycle)]
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=_midi_text(part or ("drums" if is_drum else "notes")),
                                      time=0))
        events = []
        for n in notes:
            a = int(round(n.start * ticks_per_beat))
            b = max(a + 1, int(round(n.end * ticks_per_beat)))
            # note-offs sort before note-ons at the same tick so repeated notes re-strike
            events.append((a, 1, n.pitch, n.velocity))
            events.append((b, 0, n.pitch, 0))
        events.sort()
        now = 0
        for t, is_on, pitch, vel in events:
            kind = "note_on" if is_on else "note_off"
            track.append(mido.Message(kind, note=pitch, velocity=vel if is_on else 0, channel=channel,
                                      time=t - now))
            now = t
        mid.tracks.append(track)
    _atomic_write(p, mid.save_file if hasattr(mid, "save_file") else (lambda fh: mid.save(file=fh)))
    return p


# ---------------------------------------------------------------------------------------
# music21
# ---------------------------------------------------------------------------------------
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


def _lanes(events):
    """Split (start, duration, pitches) events into lanes with no overlaps inside a lane."""
    lanes: list[list] = []
    ends: list[float] = []
    for ev in events:
        for i, end in enumerate(ends):
            if ev[0] >= end - 1e-9:
                lanes[i].append(ev)
                ends[i] = ev[0] + ev[1]
                break
        else:
            lanes.append([ev])
            ends.append(ev[0] + ev[1])
    return lanes


_SHARP_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
_FLAT_NAMES = ["C", "D-", "D", "E-", "E", "F", "G-", "G", "A-", "A", "B-", "B"]


def to_music21(piece: Piece):
    """Convert a Piece into a music21 ``Score`` with one ``Part`` per part label, highest part on top.

    Notes of a part that start and end together become a chord. When notes of one part
    overlap otherwise, the part is split into extra staves ('melody (2)', ...) so that
    every staff can be written as MusicXML. Black keys are spelt with sharps or flats to
    suit the key; a pickup (``piece.meta['pickup']``, quarter notes) becomes an incomplete
    first bar. Drum notes are left out (no drum staff).
    """
    from music21 import chord as m21chord
    from music21 import clef, metadata, meter, note as m21note, pitch as m21pitch
    from music21 import key as m21key
    from music21 import stream as m21stream, tempo as m21tempo

    score = m21stream.Score()
    score.metadata = metadata.Metadata()
    score.metadata.title = piece.title or "Untitled"
    m21_key = None
    if piece.key:
        tonic, mode = parse_key(piece.key)
        try:
            m21_key = m21key.Key(_FLAT_NAMES[tonic] if tonic in (1, 3, 5, 8, 10) and mode == "major"
                                 else _SHARP_NAMES[tonic].replace("#", "#"), mode)
        except Exception:
            m21_key = None
    names = _FLAT_NAMES if (m21_key is not None and m21_key.sharps < 0) else _SHARP_NAMES
    bar = piece.bar_length
    pickup = float(piece.meta.get("pickup", 0.0) or 0.0)
    shift = (bar - pickup) % bar if 0 < pickup < bar else 0.0

    groups: dict[str | None, dict[tuple[float, float], list[Note]]] = {label: {} for label in piece.parts}
    for n in piece.pitched().notes:
        groups[n.part].setdefault((n.start, n.duration), []).append(n)
    groups = {k: v for k, v in groups.items() if v} or {None: {}}
    first = True
    for label, events in groups.items():
        ordered = sorted((s, d, sorted(ns, key=lambda x: x.pitch)) for (s, d), ns in events.items())
        lanes = _lanes(ordered) if ordered else [[]]
        for li, lane in enumerate(lanes):
            part = m21stream.Part()
            name = label or "Music"
            part.partName = name if li == 0 else f"{name} ({li + 1})"
            part.id = part.partName
            if first:
                part.insert(0, m21tempo.MetronomeMark(number=round(piece.tempo, 2), referent=1.0))
            part.insert(0, meter.TimeSignature(f"{piece.time_signature[0]}/{piece.time_signature[1]}"))
            if m21_key is not None:
                part.insert(0, m21key.Key(m21_key.tonic, m21_key.mode))
            lane_pitches = [n.pitch for _, _, ns in lane for n in ns] or [60]
            if sum(lane_pitches) / len(lane_pitches) < 57:
                part.insert(0, clef.BassClef())
            else:
                part.insert(0, clef.TrebleClef())
            for start, dur, ns in lane:
                # octave given apart: as text, 'C-1' (MIDI 0) would read as C-flat 1
                spelled = [m21pitch.Pitch(names[x.pitch % 12], octave=x.pitch // 12 - 1) for x in ns]
                if len(ns) == 1:
                    el = m21note.Note(spelled[0], quarterLength=dur)
                else:
                    el = m21chord.Chord(spelled, quarterLength=dur)
                el.volume.velocity = ns[0].velocity
                part.insert(start + shift, el)
            if lane:
                end = max(s + d for s, d, _ in lane) + shift
                full = -(-end // bar) * bar
                if full > end + 1e-9:
                    part.insert(end, m21note.Rest(quarterLength=full - end))
            if shift:
                part = _with_pickup_bar(part, shift)
            score.insert(0, part)
            first = False
    return score


def _with_pickup_bar(part, shift: float):
    """Turn the first ``shift`` quarter notes of silence into an incomplete (pickup) first bar."""
    from music21 import note as m21note, stream as m21stream

    measured = part.makeMeasures()
    # a note held across a bar line must become tied notes, or its bar is overfull and every
    # later note of the part is written a beat (or more) late in MusicXML
    measured.makeTies(inPlace=True)
    measured.partName, measured.id = part.partName, part.id
    measures = list(measured.getElementsByClass(m21stream.Measure))
    if not measures:
        return part
    m1 = measures[0]
    if any(el.offset < shift - 1e-9 for el in m1.notes):
        return measured
    if not m1.notes:
        # this part is silent during the pickup (a bass that enters on the downbeat): its first
        # bar is one rest as long as the pickup, so its later notes line up with the other parts
        for el in list(m1.notesAndRests):
            m1.remove(el)
        m1.insert(0, m21note.Rest(quarterLength=float(m1.barDuration.quarterLength) - shift))
    else:
        for el in list(m1.getElementsByClass(m21note.Rest)):
            if el.offset < shift - 1e-9:
                m1.remove(el)
        for el in list(m1.notesAndRests):
            el.offset = el.offset - shift
    m1.paddingLeft = shift
    # later bars keep their offsets relative to the part: move them all left by the gap
    for m in measures[1:]:
        measured.setElementOffset(m, m.offset - shift)
    return measured


def load_score(path: PathLike, *, max_bytes: int = MAX_FILE_BYTES, expand_repeats: bool = False) -> Piece:
    """Read a score (ABC, MusicXML .xml/.mxl/.musicxml, Humdrum .krn, MEI, or MIDI) with music21.

    With ``expand_repeats=True`` repeat signs are written out. Raises MusicFileError on failure.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".mid", ".midi"):
        return load_midi(p, max_bytes=max_bytes)
    if suffix not in SCORE_SUFFIXES:
        raise MusicFileError(p, f"unsupported file type {suffix or '(no extension)'}",
                             "the course reads .abc, .xml/.mxl/.musicxml, .krn, .mei and .mid files")
    _read_bytes(p, "score", max_bytes)
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


def load(path: PathLike, **kwargs) -> Piece:
    """Read any supported music file: MIDI with :func:`load_midi`, scores with :func:`load_score`."""
    suffix = Path(path).suffix.lower()
    if suffix in (".mid", ".midi"):
        return load_midi(path, **kwargs)
    return load_score(path, **kwargs)
