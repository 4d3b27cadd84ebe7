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

import bisect
import functools
import io
import os
import stat
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from .errors import LimitError, MusicFileError, outside_stacklevel
from .files import PathLike, atomic_write, check_can_write, read_bytes
from .music import PITCH_CLASS_NAMES, Note, Piece, parse_key

__all__ = ["load_midi", "save_midi", "load_score", "from_music21", "to_music21", "load",
           "load_midi_arrays", "MidiArrays", "load_midi_batch", "MidiBatch", "fast_reader_available", "MAX_FILE_BYTES", "MusicFileError"]

#: Files larger than this are refused (a MIDI file of a whole symphony is ~1 MB).
#: Raise it with ``load_midi(path, max_bytes=...)``. mido holds each event as a Python object,
#: 100–160 bytes of memory per byte of file: 5 MB of MIDI takes ~0.5–0.8 GB and ~10 s to read.
MAX_FILE_BYTES = 5_000_000
DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0
SCORE_SUFFIXES = {".abc", ".xml", ".mxl", ".musicxml", ".krn", ".mid", ".midi", ".mei"}


# ---------------------------------------------------------------------------------------
# MIDI
# ---------------------------------------------------------------------------------------
#: Length in quarter notes given to a note whose note-on and note-off fall on the same tick
#: (drum machines and some exporters write hits that way): a 32nd note, shortened to end at
#: the next onset of the same key so it never overlaps it. Without it the note has no length
#: and would be lost — a whole drum track would vanish from the audio.
ZERO_LENGTH_NOTE = 0.125

_END_OF_TRACK = b"\xff\x2f\x00"


def load_midi(path: PathLike, *, max_bytes: int = MAX_FILE_BYTES, max_notes: int = 500_000) -> Piece:
    """Read a Standard MIDI File into a :class:`Piece`.

    * Times become quarter notes (``ticks / ticks_per_beat``).
    * Tempo: the first tempo is ``piece.tempo``; later ones go to ``piece.tempo_changes``.
    * Meter and key are maps, as in the file: ``piece.time_signature`` is the meter at 0 — 4/4,
      the MIDI default, until the first time-signature event — and every later change is in
      ``piece.time_signature_changes``; ``piece.key`` is the key at 0 (None until the first
      key-signature event) and later ones are in ``piece.key_changes``. Events from all tracks
      count; the same meter repeated (e.g. 4/4 at tick 0 in two tracks) is not a change. An
      impossible meter (0/4, or a beat unit over 32) is ignored with a warning.
    * MIDI has no pickup (anacrusis): ``piece.pickup`` is 0 and bar 1 starts at 0. When you know
      the file opens with an upbeat, set it: ``piece.pickup = 1.0``.
    * Text (track names, the title) is read as UTF-8, as current software writes it, and as
      Latin-1 when the bytes are not valid UTF-8 (older files), so both 'Flöte's come back right.
    * Each note's ``part`` is its track name (or ``'track N'``), with ``' ch M'`` added when a
      track uses several channels. Notes on channel 10 get ``is_drum=True`` — kept, flagged, and
      left out of melodies, piano rolls and pitch statistics.
    * A note-on with velocity 0 is a note-off; overlapping notes of the same pitch and channel
      end first-in-first-out; a note never turned off ends at the end of its track.
    * A note whose note-on and note-off share a tick (a drum hit, often) gets a length of
      :data:`ZERO_LENGTH_NOTE` (a 32nd note, cut short at the next onset of the same key), with
      a warning saying how many notes were lengthened.
    * Track chunks are checked before parsing: a track whose declared length does not end at
      its End-of-Track event is read to that event (with a warning naming the track and both
      byte counts) when the event is followed by the next chunk; otherwise the file is refused.
    * A valid file with no notes gives an empty Piece and a warning.

    Raises:
        MusicFileError: missing, empty, not MIDI, truncated or corrupt file (a track length that
            runs past the end of the file counts as truncated), SMPTE timing that cannot be
            converted, or too many notes.
        LimitError: a file larger than ``max_bytes``.

    Lesson: 01_representation
    """
    data, p = _midi_bytes(path, max_bytes)
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


def _midi_bytes(path: PathLike, max_bytes: int) -> tuple[bytes, Path]:
    """The file's bytes, checked to be MIDI and with every track chunk framed as its events say
    (see :func:`_checked_chunks`); the checks load_midi and load_midi_arrays share."""
    data, p = _plain_midi_bytes(Path(path).expanduser(), max_bytes)  # the common case: one stat, one read
    if data is None:
        data = read_bytes(p, "MIDI", max_bytes)  # says what is wrong (or reads what that read did not)
    if not data.startswith(b"MThd"):
        hint = ("it may be another format (MusicXML, ABC, audio) with a .mid name: give it its real extension "
                "(.musicxml, .xml, .abc) — load() and the course's widgets choose the reader by the extension — "
                "or read it with load_score(path)")
        if data[:4] in (b"RIFF", b"ID3\x03", b"fLaC", b"OggS") or data[:2] == b"\xff\xfb":
            hint = "this looks like an audio recording, not MIDI; the course reads symbolic music only"
        elif data.lstrip()[:5] in (b"<?xml", b"<scor"):
            hint = ("this looks like MusicXML: give it the extension .musicxml (load() and the widgets choose the "
                    "reader by the extension) or read it with load_score(path)")
        raise MusicFileError(p, "not a MIDI file (it does not start with the 'MThd' header)", hint)
    return _checked_chunks(data, p), p


# ---- chunk framing ------------------------------------------------------------------------
# mido trusts each track's declared length: it reads events until exactly that many bytes are
# used, so a length that is too short silently cuts the last track (or misreads the next one),
# and one that ends inside an event reads on into the next chunk. The Standard MIDI File spec
# (MIDI 1.0, "Standard MIDI Files 1.0", chunk structure) frames each chunk as a 4-byte id and a
# 4-byte big-endian length; a track ends with the End-of-Track meta event FF 2F 00. These few
# lines check that framing — no MIDI library exposes such a check — and mido still parses.
_TRUNCATED_ADVICE = "download or export it again"
_CORRUPT_ADVICE = "open it in a MIDI editor and export it again, or try another file"


def _is_chunk_id(four: bytes) -> bool:
    return len(four) == 4 and all(0x20 <= b < 0x7F for b in four)


def _events_end(data: bytes, pos: int, limit: int | None = None) -> tuple[int, bool]:
    """Walk the events of a track from byte ``pos``: returns (position after the last whole
    event, whether that event was End-of-Track). Stops at End-of-Track, at ``limit``, at the end
    of the data, or at a byte sequence that is not an event. Running status as mido reads it."""
    n = len(data) if limit is None else min(limit, len(data))
    last_status = None
    while pos < n:
        q = pos
        for _ in range(4):  # delta time: a variable-length quantity of at most 4 bytes
            if q >= n:
                return pos, False
            q += 1
            if data[q - 1] < 0x80:
                break
        else:
            return pos, False
        if q >= n:
            return pos, False
        status = data[q]
        if status < 0x80:
            if last_status is None:
                return pos, False
            status, q = last_status, q - 1  # the byte is data, read again below
        q += 1
        if status == 0xFF:
            if q >= n:
                return pos, False
            kind = data[q]
            length, q = _vlq(data, q + 1, n)
            if length is None or q + length > n:
                return pos, False
            q += length
            if kind == 0x2F:
                return q, True
        elif status in (0xF0, 0xF7):
            last_status = status
            length, q = _vlq(data, q, n)
            if length is None or q + length > n:
                return pos, False
            q += length
        elif 0x80 <= status <= 0xEF:
            last_status = status
            q += 1 if 0xC0 <= status <= 0xDF else 2
            if q > n:
                return pos, False
        else:
            return pos, False
        pos = q
    return pos, False


def _vlq(data: bytes, q: int, n: int) -> tuple[int | None, int]:
    value = 0
    for _ in range(4):
        if q >= n:
            return None, q
        byte = data[q]
        q += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, q
    return None, q


def _track_end(data: bytes, p: Path, number: int, body: int, end: int, last: bool,
               next_ok: bool) -> tuple[int, int]:
    """Where the events of track ``number`` (from byte ``body``, declared to end at ``end``)
    really end, and where the next chunk starts, when the quick check (End-of-Track just before
    ``end``, a chunk id after it) fails."""
    declared = end - body
    stop, has_eot = _events_end(data, body)
    if stop == end:
        return end, end
    within, _ = _events_end(data, body, end)
    next_is_track = end == len(data) or data[end:end + 4] == b"MTrk"
    after_ok = stop == len(data) or last or _is_chunk_id(data[stop:stop + 4])
    if within == end and next_is_track:
        return end, end  # the events fill the declared length exactly; only End-of-Track is missing
    if has_eot and stop > end and after_ok:
        warnings.warn(
            f"{p}: track {number} declares {declared:,} bytes, but its events run on to End-of-Track "
            f"after {stop - body:,} bytes; read all {stop - body:,} bytes.", stacklevel=outside_stacklevel())
        return stop, stop
    if has_eot and stop < end and (next_ok or after_ok):
        warnings.warn(
            f"{p}: track {number} declares {declared:,} bytes, but its End-of-Track event comes after "
            f"{stop - body:,} bytes; ignored the {end - stop:,} bytes after it.", stacklevel=outside_stacklevel())
        return stop, (end if next_ok else stop)
    if within == end and next_ok:
        return end, end
    raise MusicFileError(
        p, f"the MIDI data is corrupt (track {number} declares {declared:,} bytes, which ends neither "
        f"at its End-of-Track event nor at the next chunk)", _CORRUPT_ADVICE)


def _checked_chunks(data: bytes, p: Path) -> bytes:
    """The file's bytes with every track chunk framed as its events say: a track whose declared
    length does not end at its End-of-Track event gets the length the event gives (and a
    warning), when the event is followed by the next chunk or the end of the file. Unknown
    chunks are skipped, as the SMF spec asks. Raises MusicFileError for a truncated file or a
    length that cannot be squared with the events."""
    if len(data) < 14:
        raise MusicFileError(p, "the MIDI file is truncated (it ends inside its 14-byte header)",
                             _TRUNCATED_ADVICE)
    header_length, n_tracks = struct.unpack(">L", data[4:8])[0], struct.unpack(">H", data[10:12])[0]
    if header_length < 6:
        raise MusicFileError(p, f"the MIDI data is corrupt (its header chunk claims {header_length} bytes; "
                             "a header holds at least 6)", _CORRUPT_ADVICE)
    pos = 8 + header_length
    if pos > len(data):
        raise MusicFileError(p, "the MIDI file is truncated (it ends inside its header chunk)",
                             _TRUNCATED_ADVICE)
    out = bytearray(data[:pos])
    found, skipped = 0, []
    while found < n_tracks:
        if pos + 8 > len(data):
            raise MusicFileError(
                p, f"the MIDI file is truncated (its header announces {n_tracks} tracks, "
                f"but the file ends after {found} of them)", _TRUNCATED_ADVICE)
        chunk_id, declared = data[pos:pos + 4], struct.unpack(">L", data[pos + 4:pos + 8])[0]
        body, end = pos + 8, pos + 8 + declared
        if chunk_id != b"MTrk":
            if _is_chunk_id(chunk_id) and end <= len(data):  # a vendor chunk: skip it
                skipped.append(chunk_id.decode("ascii"))
                pos = end
                continue
            raise MusicFileError(
                p, f"the MIDI data is corrupt (track {found} should start at byte {pos} with 'MTrk', "
                f"found {chunk_id!r})", _CORRUPT_ADVICE)
        last = found == n_tracks - 1
        next_ok = end == len(data) or last or _is_chunk_id(data[end:end + 4])
        if end > len(data):
            stop, has_eot = _events_end(data, body)
            if not (has_eot and data[stop:stop + 4] == b"MTrk"):
                raise MusicFileError(
                    p, f"the MIDI file is truncated (track {found} claims {declared:,} bytes, "
                    f"but the file holds only {len(data) - body:,} more)", _TRUNCATED_ADVICE)
            # the next track follows its End-of-Track event: the length is wrong, not the file
            warnings.warn(
                f"{p}: track {found} declares {declared:,} bytes, more than the file holds, but its "
                f"events end with End-of-Track after {stop - body:,} bytes, where the next track "
                f"starts; read those {stop - body:,} bytes.", stacklevel=outside_stacklevel())
            end = resume = stop
        elif not (data[end - 3:end] == _END_OF_TRACK and next_ok):
            end, resume = _track_end(data, p, found, body, end, last, next_ok)
        else:
            resume = end
        out += b"MTrk" + struct.pack(">L", end - body) + data[body:end]
        pos = resume
        found += 1
    if skipped:
        warnings.warn(f"{p}: skipped {len(skipped)} chunk(s) that are not MIDI tracks "
                      f"({', '.join(sorted(set(skipped)))}); the SMF standard says readers ignore them.",
                      stacklevel=outside_stacklevel())
    return bytes(out)


# ---- events -> Piece --------------------------------------------------------------------
def _text(text: str) -> str:
    """Meta-event text as written: mido decodes the bytes as Latin-1; re-read them as UTF-8
    when they are valid UTF-8 (what current software writes), else keep Latin-1."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return text
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return text


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
    bad_meters: list[str] = []
    keys: list[tuple[int, str]] = []
    notes: list[Note] = []
    zero_length = zero_drums = 0
    title = ""
    tracks = mid.tracks
    # Type 2 files hold independent sequences one after another; play them in sequence.
    track_offsets = [0] * len(tracks)
    if mid.type == 2:
        offset = 0
        for i, tr in enumerate(tracks):
            track_offsets[i] = offset
            offset += sum(m.time for m in tr)
    n_raw = 0
    for ti, track in enumerate(tracks):
        name = _text(track.name).strip() if track.name else ""
        open_notes: dict[tuple[int, int], list[tuple[int, int]]] = {}
        channels: set[int] = set()
        raw: list[tuple[int, int, int, int, int]] = []  # start, end, pitch, velocity, channel
        tick = track_offsets[ti]
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                open_notes.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
                channels.add(msg.channel)
            elif kind == "note_off" or kind == "note_on":
                stack = open_notes.get((msg.channel, msg.note))
                if stack:
                    start, vel = stack.pop(0)
                    raw.append((start, tick, msg.note, vel, msg.channel))
                    n_raw += 1
                    if n_raw > max_notes:
                        raise MusicFileError(p, f"the file has more than {max_notes:,} notes",
                                             "pass max_notes= a larger number if this is intended")
            elif kind == "set_tempo":
                if msg.tempo > 0:  # 0 microseconds per beat is a corrupt event (and a division by 0)
                    tempos.append((tick, mido.tempo2bpm(msg.tempo)))
            elif kind == "time_signature":
                ts = (msg.numerator, msg.denominator)
                if ts[0] >= 1 and ts[1] in (1, 2, 4, 8, 16, 32):
                    time_sigs.append((tick, ts))
                else:
                    bad_meters.append(f"{ts[0]}/{ts[1]} at quarter {tick / tpb:g}")
            elif kind == "key_signature":
                keys.append((tick, msg.key))
            elif kind == "track_name" and not title and ti == 0:
                title = _text(msg.name).strip()
        for (channel, pitch), stack in open_notes.items():  # never turned off: end with the track
            for start, vel in stack:
                raw.append((start, tick, pitch, vel, channel))
        label = name or f"track {ti}"
        # a note of no length (note-on and note-off on one tick) lasts a 32nd note, or up to the
        # next onset of the same key when that comes sooner
        zero_ends: dict[tuple[int, int], list[int]] = {}
        for start, end, pitch, vel, channel in raw:
            if end <= start:
                zero_ends.setdefault((channel, pitch), [])
        if zero_ends:
            for start, _, pitch, _, channel in raw:
                if (channel, pitch) in zero_ends:
                    zero_ends[(channel, pitch)].append(start)
            for onsets in zero_ends.values():
                onsets.sort()
        for start, end, pitch, vel, channel in raw:
            part = label if len(channels) <= 1 else f"{label} ch {channel + 1}"
            if end > start:
                duration = (end - start) / tpb
            else:
                duration = ZERO_LENGTH_NOTE
                onsets = zero_ends[(channel, pitch)]
                i = bisect.bisect_right(onsets, start)
                if i < len(onsets):
                    duration = min(duration, (onsets[i] - start) / tpb)
                zero_length += 1
                zero_drums += channel == DRUM_CHANNEL
            notes.append(Note(pitch, start / tpb, duration, vel, part, channel == DRUM_CHANNEL))

    if zero_length:
        drums = f", {zero_drums} of them drums" if zero_drums else ""
        warnings.warn(f"{p}: {zero_length} zero-length notes (note-on and note-off on the same tick{drums}) "
                      f"were given a length of {ZERO_LENGTH_NOTE:g} quarter notes (a 32nd note) so that "
                      "they sound.", stacklevel=outside_stacklevel())
    return _finish_piece(notes, p, tpb, tempos, time_sigs, bad_meters, keys, title, mid.type,
                         [_text(t.name).strip() if t.name else "" for t in tracks])


def _finish_piece(notes: list[Note], p: Path, tpb: int, tempos: list, time_sigs: list, bad_meters: list,
                  keys: list, title: str, midi_type: int, track_names: list[str], *,
                  has_notes: bool | None = None, stacklevel: int | None = 4) -> Piece:
    """The Piece of a MIDI file from its notes and the meta events of all tracks, in track order:
    ``tempos`` (tick, BPM), ``time_sigs`` (tick, (beats, unit)), ``keys`` (tick, mido key name).
    Shared by load_midi and load_midi_arrays, so both give the same tempo, meter and key maps.
    ``stacklevel=None``: warnings point at the first caller outside the package (worked out only
    when there is something to warn about)."""
    tempos = sorted(tempos, key=lambda t: t[0])
    tempo = tempos[0][1] if tempos and tempos[0][0] == 0 else 120.0
    changes = [(t / tpb, bpm) for t, bpm in tempos if t > 0]
    time_sigs = sorted(time_sigs, key=lambda t: t[0])  # stable: at one tick, the later track wins
    keys = sorted(keys, key=lambda k: k[0])
    key_changes = [(t / tpb, name) for t, name in ((t, _mido_key_to_name(k)) for t, k in keys) if name]
    labels = [name or f"track {i}" for i, name in enumerate(track_names)]
    meta = {"midi_type": midi_type, "ticks_per_beat": tpb, "n_tracks": len(track_names), "track_labels": labels}
    piece = Piece(notes, tempo=min(max(tempo, 1.0), 1000.0), time_signature=(4, 4), key=None,
                  title=title or p.stem, source=str(p), tempo_changes=changes, meta=meta,
                  time_signature_changes=[(t / tpb, ts) for t, ts in time_sigs], key_changes=key_changes)
    if stacklevel is None and (bad_meters or not (bool(notes) if has_notes is None else has_notes)):
        stacklevel = outside_stacklevel()
    if bad_meters:
        warnings.warn(f"{p}: ignored {len(bad_meters)} impossible time signature(s) "
                      f"({', '.join(bad_meters[:5])}); the meter there is the one before.", stacklevel=stacklevel)
    if not (bool(notes) if has_notes is None else has_notes):
        warnings.warn(f"{p}: a valid MIDI file, but it contains no notes; returning an empty Piece.",
                      stacklevel=stacklevel)
    return piece


# ---- the fast path: symusic's C++ reader, checked, into numpy arrays ------------------------
# load_midi builds one Note object per note after mido has built one Python object per event:
# ~0.1 s for a 2 400-note song. A folder of songs (from_midi_folder) needs the notes as arrays
# only, so here symusic (the C++ reader MidiTok uses) parses the events and numpy takes it from
# there. symusic and mido differ on awkward files (notes never turned off, zero-length and
# overlapping notes, type-2 files, short meta events, running status after a meta event...), so
# this path only answers when it can prove the answer equals load_midi's, and says None
# otherwise: tests/test_midi_folder.py checks the two note for note on ordinary and awkward files.
@dataclass(frozen=True)
class MidiArrays:
    """The notes of a MIDI file as numpy arrays, exactly as :func:`load_midi` reads them.

    Attributes (arrays of shape ``(n_notes,)``, grouped by track, not sorted):
        pitch: MIDI pitch 0–127 (uint8).
        start, duration: quarter notes (float64), ``ticks / ticks_per_beat`` as in load_midi.
        velocity: MIDI velocity 1–127 (uint8).
        track: index of the MIDI track the note is in, from 0 as mido and MIDI editors count (int32).
        is_drum: True for notes on channel 10 (bool).
        header: the Piece load_midi gives, without its notes: tempo, meter and key maps, title,
            source and ``meta`` (``meta["track_labels"]`` names each track as the notes' ``part``).

    ``to_piece()`` builds the Notes, and equals ``load_midi(path)``.

    Lesson: 01_representation
    """

    pitch: np.ndarray
    start: np.ndarray
    duration: np.ndarray
    velocity: np.ndarray
    track: np.ndarray
    is_drum: np.ndarray
    header: Piece

    def __len__(self) -> int:
        return len(self.pitch)

    @property
    def track_labels(self) -> list[str]:
        """The ``part`` label of each track's notes: its name, or ``'track N'``."""
        return self.header.meta["track_labels"]

    def to_piece(self) -> Piece:
        """The file as a Piece, with one Note per note: equal to ``load_midi(path)``."""
        labels = self.track_labels
        notes = [Note(p, s, d, v, labels[t], bool(k)) for p, s, d, v, t, k in zip(
            self.pitch.tolist(), self.start.tolist(), self.duration.tolist(), self.velocity.tolist(),
            self.track.tolist(), self.is_drum.tolist())]
        return self.header.with_notes(notes)


def fast_reader_available() -> bool:
    """True when symusic (``pip install symusic``), which :func:`load_midi_arrays` needs, is installed."""
    return _symusic() is not None


def _symusic():
    try:
        import symusic
    except ImportError:
        return None
    return symusic


def load_midi_arrays(path: PathLike, *, max_bytes: int = MAX_FILE_BYTES,
                     max_notes: int = 500_000) -> MidiArrays | None:
    """Read a MIDI file into numpy arrays (:class:`MidiArrays`) with symusic's C++ parser — about
    30 times faster than :func:`load_midi` — or return None when only load_midi can read it exactly.

    The arrays hold the same notes as ``load_midi(path)`` (``to_piece()`` equals it). To keep
    that promise the fast path steps aside (None) for anything where symusic and mido may disagree
    or where load_midi has a rule of its own: type-2 files, SMPTE timing, notes of no length,
    overlapping notes of one pitch in a track, a note still sounding at the end of its track
    after another of the same pitch began, a track that uses several channels or programs,
    more than ``max_notes`` notes, meta events mido cannot decode, running status right after a
    meta or sysex event, F7 sysex escapes, system messages inside a track, and anything symusic
    refuses. Call
    load_midi then: it reads the file, or raises the MusicFileError that says what is wrong.
    None also when symusic is not installed (see :func:`fast_reader_available`).
    For many files, :func:`load_midi_batch` reads them all into one set of arrays (faster).

    Raises:
        MusicFileError, LimitError: what load_midi raises for a file that is missing, empty, too
            large, not MIDI, or whose track chunks are truncated or cannot be framed.

    Source: symusic (Liao et al., ISMIR 2024 late-breaking demo; github.com/Yikai-Liao/symusic).
    Lesson: 03_lstm (a folder of your own MIDI files)
    """
    batch = load_midi_batch([path], max_bytes=max_bytes, max_notes=max_notes)
    if batch.errors[0] is not None:
        raise batch.errors[0]
    return batch.arrays(0)


@dataclass(frozen=True)
class MidiBatch:
    """The notes of many MIDI files in one set of flat arrays, as :func:`load_midi_batch` reads them.

    Attributes (arrays of shape ``(n_notes,)``: file by file, and track by track within a file):
        pitch: MIDI pitch 0–127 (uint8).
        ticks, length: start and length in ticks (int32, as symusic reads them); divide by the file's ``ticks_per_beat``
            for quarter notes, as load_midi does.
        velocity: MIDI velocity 1–127 (uint8).
        file: index of the file in the paths given (int32).
        track: index of the MIDI track within its file, from 0 as mido counts (int32).
        is_drum: True for notes on channel 10 (bool).
        note_offsets: shape ``(n_files + 1,)``: file ``i`` owns rows ``note_offsets[i]:note_offsets[i+1]``.
        ticks_per_beat: shape ``(n_files,)`` (int64; 0 for a file not read here).
        headers: one per file: the Piece load_midi gives, without its notes (tempo, meter and key
            maps, title, ``meta["track_labels"]``), or None when the file was not read here —
            read it with load_midi, which reads it or says what is wrong.
        errors: one per file: the MusicFileError or LimitError that load_midi raises too, or None.

    Lesson: 03_lstm (a folder of your own MIDI files)
    """

    pitch: np.ndarray
    ticks: np.ndarray
    length: np.ndarray
    velocity: np.ndarray
    file: np.ndarray
    track: np.ndarray
    is_drum: np.ndarray
    note_offsets: np.ndarray
    ticks_per_beat: np.ndarray
    headers: list
    errors: list

    def __len__(self) -> int:
        """The number of files."""
        return len(self.headers)

    def arrays(self, i: int) -> MidiArrays | None:
        """File ``i`` as :class:`MidiArrays` (equal to what ``load_midi`` reads), or None when it
        was not read here (see ``headers``)."""
        header = self.headers[i]
        if header is None:
            return None
        a, b = int(self.note_offsets[i]), int(self.note_offsets[i + 1])
        tpb = int(self.ticks_per_beat[i])
        return MidiArrays(self.pitch[a:b], self.ticks[a:b] / tpb, self.length[a:b] / tpb, self.velocity[a:b],
                          self.track[a:b], self.is_drum[a:b], header)


def load_midi_batch(paths, *, max_bytes: int = MAX_FILE_BYTES, max_notes: int = 500_000) -> MidiBatch:
    """Read many MIDI files with symusic's C++ parser into one :class:`MidiBatch` of flat arrays.

    Each file is read exactly as :func:`load_midi_arrays` reads it — the same notes as
    :func:`load_midi`, or no notes and ``headers[i] = None`` where only load_midi can read it
    exactly (the list is in load_midi_arrays' docs) — but the checks that need the notes sorted
    (overlapping notes of one key, notes of no length, too many notes) run once over all the files
    together, so a folder is read at close to symusic's own speed. ``paths`` may be any iterable
    (a tqdm progress bar over a list of paths, for instance); it is read once, in order.
    Warnings are those load_midi_arrays gives, file by file.

    A file that load_midi would refuse (missing, empty, too large, not MIDI, truncated, track
    chunks that cannot be framed) does not stop the batch: its MusicFileError or LimitError is
    in ``errors[i]``. Without symusic every file has ``headers[i] = None``.

    Source: symusic (Liao et al., ISMIR 2024 late-breaking demo; github.com/Yikai-Liao/symusic).
    Lesson: 03_lstm (a folder of your own MIDI files)
    """
    symusic = _symusic()
    # symusic.Score.from_midi(data) is this, behind a Python dispatch on the time unit
    from_midi = getattr(getattr(symusic, "core", None), "ScoreTick", symusic.Score).from_midi if symusic else None
    read: list = []  # per file: None, or (path, tpb, midi type, meta events, names, title, n notes)
    errors: list = []
    parts: list = []  # the notes of each track: bytes in _NOTE_DTYPE's layout
    track_rows: list[tuple[int, int, int, bool]] = []  # (file, track, n notes, is_drum) per track
    for fi, path in enumerate(paths):
        data, p = _plain_midi_bytes(path, max_bytes)
        tracks = _declared_tracks(data)
        if tracks is None:  # anything unusual: load_midi's own checks, its errors and its warnings
            try:
                data, p = _midi_bytes(path, max_bytes)
            except (MusicFileError, LimitError) as exc:
                errors.append(exc)
                read.append(None)
                continue
            tracks = _declared_tracks(data)
        errors.append(None)
        got = _read_fast(data, p, from_midi, tracks) if from_midi is not None and tracks is not None else None
        if got is None:
            read.append(None)
            continue
        info, notes = got
        n = 0
        for ti, k, a, is_drum in notes:
            n += k
            parts.append(a)
            track_rows.append((fi, ti, k, is_drum))
        read.append(info + (n,))
    n_files = len(read)
    counts = np.array([r[-1] if r is not None else 0 for r in read], np.int64)
    rows = np.array(track_rows, np.int64).reshape(-1, 4)
    per_track = rows[:, 2]
    every = np.frombuffer(b"".join(parts), _NOTE_DTYPE)
    pitch, velocity = every["pitch"].astype(np.uint8), every["velocity"].astype(np.uint8)
    ticks, length = every["time"].astype(np.int32), every["duration"].astype(np.int32)
    del every, parts
    file = np.repeat(rows[:, 0].astype(np.int32), per_track)
    track = np.repeat(rows[:, 1].astype(np.int32), per_track)
    is_drum = np.repeat(rows[:, 3].astype(bool), per_track)
    # load_midi's rules that need the notes: files that break one go to load_midi
    declined = np.zeros(n_files, bool)
    declined |= counts > max_notes  # too many notes: load_midi says so
    odd = (length <= 0) | (ticks < 0)  # notes of no length (or an overflow)
    declined[file[odd]] = True
    if len(ticks) > 1:
        # notes must come in time order within each track (symusic sorts them; checked, not assumed)
        track_starts = np.cumsum(per_track)
        back = ticks[1:] < ticks[:-1]
        firsts = track_starts[:-1]  # a track's first note may start before the last one of the track before
        back[firsts[(firsts > 0) & (firsts < len(ticks))] - 1] = False
        declined[file[1:][back]] = True
        # overlapping notes of one key in one track: mido and symusic may pair them differently.
        # A stable sort by pitch (one 8-bit radix pass) keeps the rows of each pitch in their
        # order: track by track, each in time order. Then each note is compared with the one
        # before it, when that one has the same key in the same track of the same file.
        order = np.argsort(pitch, kind="stable")
        end = ticks.astype(np.int64)
        end += length
        t, e = ticks[order], end[order]
        near = np.flatnonzero(t[1:] < e[:-1])  # starts before the note before it ends...
        a, b = order[near], order[near + 1]
        # ...on the same key of the same track of the same file
        clash = (pitch[a] == pitch[b]) & (track[a] == track[b]) & (file[a] == file[b])
        declined[file[b[clash]]] = True
    if declined.any():
        keep = ~declined[file]
        pitch, ticks, length, velocity = pitch[keep], ticks[keep], length[keep], velocity[keep]
        file, track, is_drum = file[keep], track[keep], is_drum[keep]
        counts[declined] = 0
    headers: list = []
    tpbs = np.zeros(n_files, np.int64)
    for fi, info in enumerate(read):
        if info is None or declined[fi]:
            headers.append(None)
            continue
        p, tpb, midi_type, tempos, time_sigs, bad_meters, keys, title, names, n = info
        tpbs[fi] = tpb
        headers.append(_finish_piece([], p, tpb, tempos, time_sigs, bad_meters, keys, title, midi_type, names,
                                     has_notes=n > 0, stacklevel=None))
    offsets = np.zeros(n_files + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return MidiBatch(pitch, ticks, length, velocity, file, track, is_drum, offsets, tpbs, headers, errors)


def _plain_midi_bytes(path: PathLike, max_bytes: int) -> tuple[bytes | None, Path]:
    """The bytes of a regular file of 1 to ``max_bytes`` bytes, read whole, or None (then
    ``files.read_bytes`` reads it again and says what is wrong). One read of the file's own size:
    asking for ``max_bytes + 1`` bytes has the system hand over (and fault in) megabytes of fresh
    memory for every file."""
    p = path if isinstance(path, Path) else Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None, p
    try:
        st = os.fstat(fd)
        size = st.st_size
        if stat.S_ISREG(st.st_mode) and 0 < size <= max_bytes:
            data = os.read(fd, size + 1)
            if len(data) == size:
                return data, p
    except OSError:
        pass
    finally:
        os.close(fd)
    return None, p


def _declared_tracks(data: bytes | None) -> list[tuple[int, int]] | None:
    """Where the events of each track lie, ``[(first byte, end)]``, for a MIDI file framed exactly
    as its chunks declare — 'MThd', then the header's number of 'MTrk' chunks one after another,
    each at least 4 bytes long and ending with End-of-Track, each followed by a chunk id or the end
    of the file: the files :func:`_checked_chunks` passes through without a change or a warning.
    None for anything else (no file, or a file :func:`_midi_bytes` must check, mend or refuse)."""
    if data is None or len(data) < 14 or not data.startswith(b"MThd"):
        return None
    n = len(data)
    header_length, _, n_tracks = struct.unpack_from(">LHH", data, 4)
    pos = 8 + header_length
    if header_length < 6 or pos > n:
        return None
    tracks = []
    last = n_tracks - 1
    for ti in range(n_tracks):
        body = pos + 8
        if body > n or not data.startswith(b"MTrk", pos):
            return None
        end = body + struct.unpack_from(">L", data, pos + 4)[0]
        if end > n or end - body < 4 or not data.endswith(_END_OF_TRACK, body, end):
            return None
        if end != n and ti != last and not data.startswith(b"MTrk", end) and not _is_chunk_id(data[end:end + 4]):
            return None
        tracks.append((body, end))
        pos = end
    return tracks


def _read_fast(data: bytes, p: Path, from_midi, tracks: list[tuple[int, int]]):
    """One file through symusic's ``from_midi`` (bytes framed as declared, ``tracks`` from
    :func:`_declared_tracks` in): ``(facts for the header, [(track, n notes, the notes' bytes
    (:data:`_NOTE_DTYPE`), is_drum)])``, or None where the fast path steps aside."""
    midi_type, _, tpb = struct.unpack_from(">HHH", data, 8)
    if midi_type > 1 or tpb == 0 or tpb & 0x8000:
        return None
    out = [b"MThd\x00\x00\x00\x06", data[8:14]]
    tempos: list = []
    time_sigs: list = []
    bad_meters: list[str] = []
    keys: list = []
    names: list[str] = []
    title = ""
    for ti, (body, end) in enumerate(tracks):
        events = data[body:end - 3]  # all but End-of-Track
        # its note-on status bytes (9n) and its bytes >= F0 (meta, sysex and system events, long
        # delta times): the events that hold one of the latter are read in Python
        kept = events.translate(None, _NOT_NOTE_ON_OR_HIGH)
        on = kept.translate(None, _NOT_NOTE_ON)
        scanned = _scan_meta_events(data, body, end, len(kept) - len(on)) if len(kept) > len(on) else ()
        if scanned is None:
            return None
        name = None  # mido's track.name: the first track_name event's text
        for tick, kind, payload, msg in scanned:
            if kind == 0x03:
                text = _text(payload.decode("latin-1")).strip()
                if name is None:
                    name = text
                if ti == 0 and not title:
                    title = text
            elif kind == 0x51:
                if msg.tempo > 0:
                    tempos.append((tick, mido.tempo2bpm(msg.tempo)))
            elif kind == 0x58:
                ts = (msg.numerator, msg.denominator)
                if ts[0] >= 1 and ts[1] in (1, 2, 4, 8, 16, 32):
                    time_sigs.append((tick, ts))
                else:
                    bad_meters.append(f"{ts[0]}/{ts[1]} at quarter {tick / tpb:g}")
            elif kind == 0x59:
                keys.append((tick, msg.key))
        names.append(name or "")
        tail = _track_tail(events, on, ti)
        out += (b"MTrk", (len(events) + len(tail)).to_bytes(4, "big"), events, tail)
    try:
        score = from_midi(b"".join(out))
    except Exception:  # symusic refuses the file: load_midi says why (or reads it)
        return None
    if score.ticks_per_quarter != tpb:
        return None
    notes = []
    seen: set[int] = set()
    for tr in score.tracks:
        name = tr.name
        ti = _MARKED.get(name)
        if ti is None:
            ti = int(name.rsplit(" ", 1)[1])
        if ti in seen:
            return None  # one MIDI track, several channels or programs: load_midi labels them
        seen.add(ti)
        notes.append((ti, *_track_notes(tr.notes), bool(tr.is_drum)))
    return (p, tpb, midi_type, tempos, time_sigs, bad_meters, keys, title, names), notes


#: symusic's notes in ticks as it stores them: time, duration (int32), pitch, velocity (int8)
_NOTE_DTYPE = np.dtype({"names": ["time", "duration", "pitch", "velocity"], "formats": ["<i4", "<i4", "i1", "i1"],
                        "offsets": [0, 4, 8, 9], "itemsize": 12})
_STATE_LAYOUT_OK: list[bool] = []  # [whether symusic's serialised notes are _NOTE_DTYPE], once known


def _track_notes(notes) -> tuple[int, bytes | memoryview]:
    """A symusic track's notes (a NoteTickList): how many, and their bytes in the layout of
    :data:`_NOTE_DTYPE` (for ``np.frombuffer``, once the tracks of many files are joined).

    ``notes.numpy()`` builds four arrays element by element (~18 ns a note); the list's pickle
    state (``__getstate__``, symusic's own serialisation) is the notes' memory as it is — a 4-byte
    count, then 12 bytes a note — in a third of the time. That layout is symusic's, not a promise:
    the first track read is checked against ``numpy()``, and every state must hold its count and
    exactly that many notes, or ``numpy()`` is used."""
    n = len(notes)
    if _STATE_LAYOUT_OK != [False]:
        try:
            state = notes.__getstate__()
        except Exception:  # another symusic: its own numpy() below
            state = None
        if isinstance(state, bytes) and len(state) == 4 + 12 * n and int.from_bytes(state[:4], "little") == n:
            if _STATE_LAYOUT_OK:
                return n, memoryview(state)[4:]
            if n:  # the first track with notes: the layout is what numpy() says, or never used
                got, a = np.frombuffer(state, _NOTE_DTYPE, n, 4), notes.numpy()
                _STATE_LAYOUT_OK.append(all(np.array_equal(got[name], a[name]) for name in _NOTE_DTYPE.names))
                if _STATE_LAYOUT_OK[0]:
                    return n, memoryview(state)[4:]
    a = notes.numpy()
    out = np.zeros(n, _NOTE_DTYPE)
    for name in _NOTE_DTYPE.names:
        out[name] = a[name]
    return n, out.tobytes()


#: every byte but the note-on status bytes 90..9F (deleted to find the channels a track plays on)
_NOT_NOTE_ON = bytes(b for b in range(256) if b >> 4 != 0x9)
_NOT_HIGH = bytes(range(0xF0))
_NOT_NOTE_ON_OR_HIGH = bytes(b for b in range(0xF0) if b >> 4 != 0x9)
#: the track names _track_tail writes, and the MIDI track each stands for
_MARKED = {f"musegen track {ti}": ti for ti in range(64)}


def _track_tail(events: bytes, on: bytes, ti: int) -> bytes:
    """What goes after a track's ``events`` (less End-of-Track) for symusic: note-offs that close
    every note still sounding at End-of-Track, as load_midi does, so symusic keeps it — for every
    key of every channel the track may play on, twice (a second note of one key left sounding
    shows up as an overlap, and the file goes the slow way) — then a track name saying which MIDI
    track this is (symusic names a track by its last name), then End-of-Track.

    The channels: those of the bytes 9n in the track (``on`` holds them all) that may be the status
    byte of a note-on, see :func:`_may_start_note_on`."""
    if not on:
        channels = b""
    elif on.count(on[:1]) == len(on):  # one channel, the usual case
        channels = on[:1] if _may_start_note_on(events, on[0]) else b""
    else:
        channels = bytes(status for status in sorted(set(on)) if _may_start_note_on(events, status))
    return _tail_for(channels, ti)


@functools.lru_cache(maxsize=4096)  # a folder repeats the same few channel sets
def _tail_for(channels: bytes, ti: int) -> bytes:
    """:func:`_track_tail` for the note-on status bytes ``channels`` of MIDI track ``ti``."""
    marker = f"musegen track {ti}".encode("ascii")
    parts = [_note_closers(status & 0x0F) for status in channels]
    parts.append(b"\xff\x03" + bytes([len(marker)]) + marker)
    return b"\x00".join(parts) + b"\x00" + _END_OF_TRACK


def _may_start_note_on(events: bytes, status: int) -> bool:
    """Whether some byte ``status`` (9n) in a track's events may be a note-on's status byte: one
    followed by two bytes under 0x80 (a key and a velocity), or too near the end to tell. A 9n
    byte followed by a byte >= 0x80 is part of a delta time (a rest of 2 048 ticks or more starts
    with one), or of meta or sysex data: symusic refuses a note-on whose key or velocity byte is
    over 127 (tests/test_midi_folder.py checks it), so in a file it reads such a byte is never a
    note-on. Leaving those channels out keeps symusic from reading hundreds of note-offs that
    close nothing."""
    n = len(events)
    i = events.find(status)
    while i >= 0:
        if i + 2 >= n or (events[i + 1] < 0x80 and events[i + 2] < 0x80):
            return True
        i = events.find(status, i + 1)
    return False


_CLOSERS: dict[int, bytes] = {}


def _note_closers(channel: int) -> bytes:
    """Note-off events for all 128 keys of a channel, twice, in running status; the first event
    has no delta time (it takes End-of-Track's)."""
    if channel not in _CLOSERS:
        first = bytes([0x80 | channel, 0, 0])
        rest = b"".join(bytes([0, key, 0]) for key in list(range(1, 128)) + list(range(128)))
        _CLOSERS[channel] = first + rest
    return _CLOSERS[channel]


#: meta events whose data mido decodes (and may refuse); the others are text or ignored
_DECODED_META = {0x00, 0x20, 0x21, 0x51, 0x54, 0x58, 0x59}


_DECODED: dict[tuple[int, bytes], object] = {}


def _decoded_meta(kind: int, payload: bytes):
    """mido's own decoding of a meta event (the same answer, the same errors), remembered: the
    messages are only read here, and a folder of songs repeats the same few meters and keys."""
    found = _DECODED.get((kind, payload))
    if found is None:
        from mido.midifiles.meta import build_meta_message

        found = build_meta_message(kind, list(payload))  # raises for data mido refuses: not remembered
        if len(_DECODED) < 10_000:
            _DECODED[(kind, payload)] = found
    return found


def _scan_meta_events(data: bytes, body: int, end: int, n_high: int) -> list | None:
    """Walk a track's events from byte ``body`` (as mido reads them) until past the last of its
    ``n_high`` bytes >= 0xF0 before End-of-Track and any meta or sysex event: every event that
    holds such a byte (a meta, sysex or system event, or a long delta time) is read here, and what
    follows holds only channel messages, which symusic and mido read alike. Returns ``[(tick, meta
    type, data, mido message)]`` for track names and the meta events mido decodes, or None for
    anything the fast path leaves to load_midi: a meta event mido cannot decode, End-of-Track
    before the end, running status after a meta or sysex event (or with none), an F7 sysex escape,
    a system message, a delta time over 4 bytes."""
    pos, tick, last_status, after_meta = body, 0, None, False
    seen, counted = 0, body  # bytes >= 0xF0 in data[body:counted]
    found: list = []
    while pos < end:
        if not after_meta:
            if pos > counted:
                seen += len(data[counted:pos].translate(None, _NOT_HIGH))
                counted = pos
            if seen >= n_high:
                break
        delta = data[pos]
        if delta < 0x80:  # a one-byte delta time, the usual case
            q = pos + 1
        else:
            delta, q = _vlq(data, pos, end)
            if delta is None:
                return None
        if q >= end:
            return None
        tick += delta
        status = data[q]
        if status < 0x80:
            if last_status is None or after_meta or last_status >= 0xF0:
                return None
            pos, after_meta = q + (1 if 0xC0 <= last_status <= 0xDF else 2), False
            continue
        q += 1
        if status == 0xFF:
            if q >= end:
                return None
            kind = data[q]
            q += 1
            if q < end and data[q] < 0x80:  # a one-byte length, the usual case
                length, q = data[q], q + 1
            else:
                length, q = _vlq(data, q, end)
            if length is None or q + length > end:
                return None
            payload = data[q:q + length]
            pos, after_meta = q + length, True
            if kind == 0x2F:
                if pos != end:
                    return None  # End-of-Track before the end: mido reads on, symusic may not
                break
            if kind == 0x03:
                found.append((tick, kind, payload, None))
            elif kind in _DECODED_META:
                try:
                    found.append((tick, kind, payload, _decoded_meta(kind, payload)))
                except Exception:
                    return None  # mido refuses it: load_midi reports the file as corrupt
        elif status == 0xF0:
            length, q = _vlq(data, q, end)
            if length is None or q + length > end:
                return None
            pos, after_meta, last_status = q + length, True, status
        elif status < 0xF0:
            pos, after_meta, last_status = q + (1 if 0xC0 <= status <= 0xDF else 2), False, status
        else:
            return None  # an F7 escape (symusic 0.6 misreads its length) or a system message
    return found


@functools.lru_cache(maxsize=1024)  # a folder of songs repeats the same few keys
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


def save_midi(piece: Piece, path: PathLike, *, overwrite: bool = False, ticks_per_beat: int = 480) -> Path:
    """Write a Piece as a type-1 MIDI file: a conductor track, then one track per part.

    * The conductor track holds the title and, merged in time order, the tempo, every
      time-signature change and every key change (``piece.time_signature_changes``,
      ``piece.key_changes``). MIDI key signatures hold major and minor keys only: a modal key
      ('D dorian') is left out, with a warning.
    * MIDI has no pickup (anacrusis): the notes keep their positions (quarter notes from 0) and
      ``piece.pickup`` is not written, so :func:`load_midi` gives the piece back with pickup 0.
    * Text (title, part names) is written as UTF-8, so any script survives the round trip.
    * Drum notes go to channel 10; other parts get channels 1, 2, ... (skipping 10).
    * Times are rounded to the nearest tick (``ticks_per_beat`` per quarter note; 480 holds
      sixteenths and triplets exactly).

    Refuses to overwrite an existing file unless ``overwrite=True`` (FileExistsError), and
    writes through a temporary file. Returns the path.

    Lesson: 00_welcome
    """
    p = check_can_write(path, overwrite)
    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat, charset="utf-8")
    conductor = mido.MidiTrack()
    if piece.title:
        conductor.append(mido.MetaMessage("track_name", name=str(piece.title), time=0))
    tick = lambda q: int(round(q * ticks_per_beat))  # noqa: E731
    events = []  # (tick, order, message): meter and key before tempo at one tick
    for at, (num, den) in [(0.0, piece.time_signature)] + list(piece.time_signature_changes):
        events.append((tick(at), 0, mido.MetaMessage("time_signature", numerator=num, denominator=den)))
    modal = []
    for at, key in ([(0.0, piece.key)] if piece.key else []) + list(piece.key_changes):
        mkey = _key_to_mido(key)
        if mkey:
            events.append((tick(at), 1, mido.MetaMessage("key_signature", key=mkey)))
        else:
            modal.append(f"{key} at quarter {at:g}")
    for at, bpm in [(0.0, piece.tempo)] + list(piece.tempo_changes):
        events.append((tick(at), 2, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    events.sort(key=lambda e: (e[0], e[1]))
    now = 0
    for t, _, msg in events:
        conductor.append(msg.copy(time=t - now))
        now = t
    mid.tracks.append(conductor)
    if modal:
        warnings.warn(f"{p}: MIDI key signatures hold only major and minor keys; left out "
                      f"{', '.join(modal)}.", stacklevel=outside_stacklevel())

    groups: dict[tuple[str | None, bool], list[Note]] = {}
    for n in piece.notes:
        groups.setdefault((n.part, n.is_drum), []).append(n)
    channel_cycle = [c for c in range(16) if c != DRUM_CHANNEL]
    for i, ((part, is_drum), notes) in enumerate(groups.items()):
        channel = DRUM_CHANNEL if is_drum else channel_cycle[i % len(channel_cycle)]
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=str(part or ("drums" if is_drum else "notes")),
                                      time=0))
        events = []
        for n in notes:
            a = tick(n.start)
            b = max(a + 1, tick(n.end))
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
    atomic_write(p, lambda fh: mid.save(file=fh))
    return p


def load(path: PathLike, **kwargs) -> Piece:
    """Read any supported music file — the one entry point a lesson uses.

    MIDI (``.mid``/``.midi``) goes to :func:`load_midi`; ABC, MusicXML, Humdrum and MEI go to
    :func:`musegen_helpers.score_io.load_score` (``tune=`` picks a tune of an ABC tunebook,
    ``expand_repeats=True`` writes repeats out). Keyword arguments go to the reader.

    Raises:
        MusicFileError: the file is missing, of an unsupported kind, or cannot be read.
        TypeError: an option the reader of this kind of file does not take (named in the message).

    Lesson: 01_representation
    """
    from .score_io import load_score

    path = Path(path).expanduser()  # "~/music/tune.mid" as a shell reads it
    suffix = path.suffix.lower()
    if suffix in (".mid", ".midi"):
        if "tune" in kwargs:
            raise TypeError(f"{path}: tune= chooses a tune of an ABC tunebook; a MIDI file holds one piece "
                            "— leave tune= out (to keep one track, use piece.part(name)).")
        if "expand_repeats" in kwargs:
            raise TypeError(f"{path}: expand_repeats= is for scores; a MIDI file has its repeats "
                            "written out already — leave it out.")
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
