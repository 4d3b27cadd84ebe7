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

import io
import warnings
from pathlib import Path

import mido

from .errors import MusicFileError
from .files import PathLike, atomic_write, check_can_write, read_bytes
from .music import PITCH_CLASS_NAMES, Note, Piece, parse_key

__all__ = ["load_midi", "save_midi", "load_score", "from_music21", "to_music21", "load",
           "MAX_FILE_BYTES", "MusicFileError"]

#: Files larger than this are refused (a MIDI file of a whole symphony is ~1 MB).
#: Raise it with ``load_midi(path, max_bytes=...)``. mido holds each event as a Python object,
#: 100–160 bytes of memory per byte of file: 5 MB of MIDI takes ~0.5–0.8 GB and ~10 s to read.
MAX_FILE_BYTES = 5_000_000
DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0
SCORE_SUFFIXES = {".abc", ".xml", ".mxl", ".musicxml", ".krn", ".mid", ".midi", ".mei"}


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
    data = read_bytes(path, "MIDI", max_bytes)
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
    atomic_write(p, mid.save_file if hasattr(mid, "save_file") else (lambda fh: mid.save(file=fh)))
    return p


def load(path: PathLike, **kwargs) -> Piece:
    """Read any supported music file: MIDI with :func:`load_midi`, scores with :func:`load_score`."""
    from .score_io import load_score

    suffix = Path(path).suffix.lower()
    if suffix in (".mid", ".midi"):
        return load_midi(path, **kwargs)
    return load_score(path, **kwargs)


def __getattr__(name):
    # the music21 converters live in score_io (reading) and notation (writing); they are
    # importable from here too, where lessons and earlier code look for them
    if name in ("from_music21", "load_score"):
        from . import score_io
        return getattr(score_io, name)
    if name == "to_music21":
        from . import notation
        return notation.to_music21
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
