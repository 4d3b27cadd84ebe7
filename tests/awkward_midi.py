"""Awkward MIDI files, built byte by byte, with the outcome the loader must give for each.

The project keeps no binary test files: every file here is generated into a temporary
folder from the bytes below, so a reader can see exactly what is inside it. Each
:class:`AwkwardFile` says what ``load_midi`` must do with it:

* ``"piece"`` — return a Piece (and ``check(piece)`` passes),
* ``"empty"`` — return an empty Piece and warn,
* ``"error"`` — raise ``MusicFileError`` naming the file (``match`` is in the message),
* ``"any"``  — a Piece or a ``MusicFileError`` are both fine (nothing else).

Times below are in ticks; every file uses 96 ticks per quarter note unless it says otherwise.
"""

from __future__ import annotations

import signal
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

TPB = 96  # ticks per quarter note
END_OF_TRACK = b"\x00\xff\x2f\x00"


# ---- byte builders ----------------------------------------------------------------------
def vlq(n: int) -> bytes:
    """MIDI variable-length quantity (7 bits per byte, high bit = more bytes follow)."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def header(fmt: int, n_tracks: int, division: int = TPB, length: int = 6, extra: bytes = b"") -> bytes:
    """The 'MThd' chunk; ``division`` is written as 16 raw bits (a set top bit means SMPTE)."""
    return b"MThd" + struct.pack(">LHHH", length, fmt & 0xFFFF, n_tracks & 0xFFFF, division & 0xFFFF) + extra


def track(body: bytes, end: bool = True) -> bytes:
    """An 'MTrk' chunk around ``body`` (events), with an end-of-track event unless ``end=False``."""
    body = body + (END_OF_TRACK if end else b"")
    return b"MTrk" + struct.pack(">L", len(body)) + body


def smf(fmt: int, *bodies: bytes, division: int = TPB) -> bytes:
    """A whole Standard MIDI File with one track per body."""
    return header(fmt, len(bodies), division) + b"".join(track(b) for b in bodies)


def on(pitch: int, delta: int = 0, channel: int = 0, velocity: int = 64) -> bytes:
    return vlq(delta) + bytes([0x90 | channel, pitch, velocity])


def off(pitch: int, delta: int = 0, channel: int = 0) -> bytes:
    return vlq(delta) + bytes([0x80 | channel, pitch, 0])


def note(pitch: int, length: int = TPB, channel: int = 0, delta: int = 0, velocity: int = 64) -> bytes:
    """Note-on after ``delta`` ticks, note-off ``length`` ticks later."""
    return on(pitch, delta, channel, velocity) + off(pitch, length, channel)


def meta(kind: int, data: bytes, delta: int = 0) -> bytes:
    return vlq(delta) + bytes([0xFF, kind]) + vlq(len(data)) + data


def tempo(bpm: float, delta: int = 0) -> bytes:
    return meta(0x51, int(round(60_000_000 / bpm)).to_bytes(3, "big"), delta)


def time_signature(num: int, den: int, delta: int = 0) -> bytes:
    return meta(0x58, bytes([num, den.bit_length() - 1, 24, 8]), delta)


def track_name(name: str) -> bytes:
    return meta(0x03, name.encode("latin-1"))


def many_notes(n: int) -> bytes:
    """A type-0 file with ``n`` sixteenth notes in running status (3 bytes per event)."""
    body = bytearray(b"\x00\x90\x28\x40" + b"\x18\x28\x00")
    for i in range(1, n):
        pitch = 40 + i % 40
        body += bytes([0, pitch, 0x40, 0x18, pitch, 0])
    return smf(0, bytes(body))


def valid_example() -> bytes:
    """A small ordinary type-1 file: conductor track, a melody and a bass."""
    melody = track_name("melody") + b"".join(note(p, TPB // 2) for p in (60, 62, 64, 65, 67, 65, 64, 62))
    bass = track_name("bass") + b"".join(note(p, 2 * TPB, channel=1) for p in (36, 43))
    return smf(1, tempo(90) + time_signature(4, 4), melody, bass)


# ---- timeouts ---------------------------------------------------------------------------
@contextmanager
def time_limit(seconds: float, what: str = "the loader hangs on this input"):
    """Fail (TimeoutError) when the block runs longer than ``seconds`` — a hang becomes a
    test failure instead of a stuck test run. Unix, main thread only (as pytest runs tests);
    where there is no SIGALRM (Windows) the block runs unguarded. ``what`` ends the message."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def _raise(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: {what}")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---- the cases --------------------------------------------------------------------------
@dataclass(frozen=True)
class AwkwardFile:
    name: str
    data: bytes
    outcome: str  # "piece", "empty", "error" or "any"
    description: str
    check: Callable | None = None  # check(piece) asserts what the Piece must hold
    match: str = ""  # for "error": text the message must contain

    def write(self, folder: Path) -> Path:
        path = Path(folder) / f"{self.name}.mid"
        path.write_bytes(self.data)
        return path


def _notes(piece):
    return [(n.pitch, n.start, n.duration) for n in piece.notes]


def _check_type0(piece):
    assert piece.meta["midi_type"] == 0
    assert sorted(piece.parts, key=str) == ["track 0 ch 1", "track 0 ch 2"]
    assert _notes(piece.part("track 0 ch 1")) == [(60, 0.0, 1.0), (64, 1.0, 1.0)]
    assert _notes(piece.part("track 0 ch 2")) == [(48, 0.0, 2.0)]


def _check_type1(piece):
    assert piece.meta["midi_type"] == 1 and piece.meta["n_tracks"] == 3
    assert piece.parts == ["melody", "bass"]
    assert _notes(piece.part("melody"))[:3] == [(60, 0.0, 0.5), (62, 0.5, 0.5), (64, 1.0, 0.5)]
    assert _notes(piece.part("bass")) == [(36, 0.0, 2.0), (43, 2.0, 2.0)]
    assert abs(piece.tempo - 90) < 0.01  # MIDI stores whole microseconds per beat


def _check_type2(piece):
    # type 2: independent sequences, played one after the other
    assert piece.meta["midi_type"] == 2
    assert _notes(piece) == [(60, 0.0, 1.0), (67, 1.0, 2.0)]


def _check_running_status(piece):
    assert _notes(piece) == [(60, 0.0, 1.0), (62, 1.0, 1.0), (64, 2.0, 0.5), (64, 2.5, 0.5)]


def _check_meter_tempo(piece):
    assert piece.time_signature == (3, 4)
    assert piece.time_signature_changes == [(3.0, (6, 8))]
    assert piece.tempo == 100
    assert [b for b, _ in piece.tempo_changes] == [3.0]
    assert abs(piece.tempo_changes[0][1] - 140) < 0.01
    # 3 quarters at 100 BPM, then 3 at 140 BPM
    assert abs(piece.duration_seconds - (3 * 60 / 100 + 3 * 60 / 140)) < 1e-3


def _check_drums(piece):
    assert len(piece.notes) == 4 and all(n.is_drum for n in piece.notes)
    assert piece.pitches == []
    assert piece.pitched().notes == []


def _check_sysex(piece):
    assert _notes(piece) == [(60, 0.0, 1.0), (62, 1.0, 1.0)]


def _check_overlap(piece):
    # same pitch struck twice before the first is released: the first note-off ends the first note
    assert _notes(piece) == [(60, 0.0, 1.0), (60, 0.5, 1.0)]


def _check_never_off(piece):
    assert _notes(piece) == [(60, 0.0, 4.0), (64, 1.0, 1.0)]


def _check_stray_off(piece):
    assert _notes(piece) == [(62, 1.0, 1.0)]


def _check_extremes(piece):
    import pytest

    assert piece.pitches == [0, 127]
    with pytest.raises(ValueError, match="G9"):
        piece.transpose(1)
    with pytest.raises(ValueError, match="C-1"):
        piece.transpose(-1)


def _check_tempo_zero(piece):
    assert piece.tempo == 120.0 and piece.tempo_changes == []
    assert _notes(piece) == [(60, 0.0, 1.0)]


def _check_key(piece):
    assert piece.key == "B minor"


def _check_many_tracks(piece):
    assert len(piece.notes) == 3000 and len(piece.parts) == 3000
    assert {n.start for n in piece.notes} == {0.0}


def _check_huge_delta(piece):
    import pytest

    from musegen_helpers.audio import render
    from musegen_helpers.errors import LimitError
    from musegen_helpers.representation import melody_to_tokens, piano_roll

    assert _notes(piece) == [(60, 0.0, float(0x0FFFFFFF))]
    # a note lasting 280 million quarter notes must not be turned into a giant array
    for make_array in (render, piano_roll, melody_to_tokens):
        with pytest.raises(LimitError):
            make_array(piece)


def _check_clipped_data(piece):
    assert [(n.pitch, n.velocity) for n in piece.notes] == [(60, 127)]


def _check_bad_meter(piece):
    assert piece.time_signature == (4, 4)  # 0/4 is impossible: fall back to the default
    assert len(piece.notes) == 1


def _check_valid_example(piece):
    assert len(piece.notes) == 10


def _check_zero_length_drums(piece):
    # note-on and note-off on one tick: a 32nd note each (and a warning), not silently dropped
    assert [(n.pitch, n.start, n.duration, n.is_drum) for n in piece.notes] == [
        (36, 0.0, 0.125, True), (38, 1.0, 0.125, True), (42, 2.0, 0.125, True), (38, 3.0, 0.125, True)]


def _chunk(body: bytes, declared: int) -> bytes:
    """An 'MTrk' chunk whose length field says ``declared`` whatever the body holds."""
    return b"MTrk" + struct.pack(">L", declared) + body


def _lying_length(valid: bytes, track_index: int, change: int) -> bytes:
    """``valid`` (a type-1 file) with one track's declared length off by ``change`` bytes."""
    pos, out = 14, bytearray(valid[:14])
    for i in range(struct.unpack(">H", valid[10:12])[0]):
        length = struct.unpack(">L", valid[pos + 4:pos + 8])[0]
        body = valid[pos + 8:pos + 8 + length]
        out += _chunk(body, length + change if i == track_index else length)
        pos += 8 + length
    return bytes(out)


def _build_cases() -> list[AwkwardFile]:
    valid = valid_example()
    cases = [
        AwkwardFile("type0_two_channels", smf(0, on(60) + on(48, channel=1) + off(60, TPB) + on(64)
                                             + off(64, TPB) + off(48, channel=1)),
                    "piece", "type 0: one track, two channels become two parts", _check_type0),
        AwkwardFile("type1_named_tracks", valid, "piece", "type 1: conductor + named tracks", _check_type1),
        AwkwardFile("type2_sequences", smf(2, note(60), note(67, 2 * TPB)),
                    "piece", "type 2: two sequences in a row", _check_type2),
        AwkwardFile("running_status",
                    # one 0x90 status byte, then only data bytes; velocity 0 ends a note
                    smf(0, b"\x00\x90\x3c\x40" + b"\x60\x3c\x00" + b"\x00\x3e\x40" + b"\x60\x3e\x00"
                        + b"\x00\x40\x40" + b"\x30\x40\x00" + b"\x00\x40\x40"
                        + b"\x30\x80\x40\x00"),  # the last note ends with a real note-off
                    "piece", "running status with note-on velocity 0 as note-off", _check_running_status),
        AwkwardFile("smpte_timing", smf(0, note(60), division=0xE728), "error",
                    "SMPTE timing: -25 frames per second, 40 ticks per frame", match="SMPTE"),
        AwkwardFile("zero_ticks_per_beat", smf(0, note(60), division=0), "error",
                    "a division of 0 ticks per quarter note", match="time division (0) is 0 ticks per quarter note"),
        AwkwardFile("meter_and_tempo_changes",
                    smf(1, tempo(100) + time_signature(3, 4) + tempo(140, 3 * TPB) + time_signature(6, 8),
                        note(60, 6 * TPB)),
                    "piece", "3/4 at 100 BPM, then 6/8 at 140 BPM from quarter 3", _check_meter_tempo),
        AwkwardFile("drum_only", smf(0, b"".join(note(p, TPB // 2, channel=9) for p in (36, 38, 42, 38))),
                    "piece", "only channel-10 drums", _check_drums),
        AwkwardFile("sysex_events",
                    smf(0, b"\x00\xf0\x05\x7e\x7f\x09\x01\xf7" + note(60)
                        + b"\x00\xf7\x03\x43\x10\x4c" + note(62)),
                    "piece", "GM-reset sysex and an F7 escape between notes", _check_sysex),
        AwkwardFile("no_notes", smf(1, tempo(120) + time_signature(4, 4)), "empty",
                    "a valid file with tempo and meter but no notes"),
        AwkwardFile("no_tracks", header(1, 0), "empty", "a header that announces zero tracks"),
        AwkwardFile("overlapping_same_pitch", smf(0, on(60) + on(60, TPB // 2) + off(60, TPB // 2)
                                                   + off(60, TPB // 2)),
                    "piece", "C4 struck twice before it is released", _check_overlap),
        AwkwardFile("never_turned_off", smf(0, on(60) + note(64, TPB, delta=TPB) + meta(0x01, b"end", 2 * TPB)),
                    "piece", "a note-on with no note-off ends with its track", _check_never_off),
        AwkwardFile("stray_note_off", smf(0, off(60) + note(62, delta=TPB)),
                    "piece", "a note-off with no note-on is ignored", _check_stray_off),
        AwkwardFile("extreme_pitches", smf(0, note(0) + note(127)),
                    "piece", "pitches 0 and 127: loads, but cannot be transposed out of range",
                    _check_extremes),
        AwkwardFile("tempo_zero", smf(0, meta(0x51, b"\x00\x00\x00") + note(60) + meta(0x51, b"\x00\x00\x00")),
                    "piece", "a tempo of 0 microseconds per beat is ignored", _check_tempo_zero),
        AwkwardFile("key_signature", smf(0, meta(0x59, b"\x02\x01") + note(59)),
                    "piece", "2 sharps, minor = B minor", _check_key),
        AwkwardFile("bad_key_signature", smf(0, meta(0x59, b"\x20\x05") + note(60)),
                    "error", "32 sharps, mode 5", match="corrupt"),
        AwkwardFile("short_tempo_event", smf(0, meta(0x51, b"\x07") + note(60)),
                    "error", "a tempo event with 1 data byte instead of 3", match="corrupt"),
        AwkwardFile("thousands_of_tracks", header(1, 3000) + track(note(60)) * 3000,
                    "piece", "3000 tracks of one note each", _check_many_tracks),
        AwkwardFile("huge_delta", smf(0, on(60) + off(60, 0x0FFFFFFF), division=1),
                    "piece", "the longest delta time MIDI allows, at 1 tick per quarter", _check_huge_delta),
        AwkwardFile("data_byte_over_127", smf(0, b"\x00\x90\x3c\xc8" + off(60, TPB)),
                    "piece", "a velocity byte of 200 is clipped to 127", _check_clipped_data),
        AwkwardFile("meter_zero", smf(0, meta(0x58, b"\x00\x02\x18\x08") + note(60)),
                    "piece", "a 0/4 time signature", _check_bad_meter),
        AwkwardFile("long_header", header(1, 3, length=10, extra=b"\x00\x00\x00\x00") + valid[14:],
                    "piece", "a header chunk 4 bytes longer than usual", _check_valid_example),
        AwkwardFile("trailing_garbage", valid + b"\x00garbage after the last track\xff",
                    "piece", "bytes after the last track are ignored", _check_valid_example),
        AwkwardFile("zero_length_drums",
                    smf(0, b"".join(on(p, TPB if i else 0, channel=9) + off(p, 0, channel=9)
                                    for i, p in enumerate((36, 38, 42, 38)))),
                    "piece", "four drum hits whose note-on and note-off share a tick",
                    _check_zero_length_drums),
        AwkwardFile("track_length_too_short", _lying_length(valid, 2, -9), "piece",
                    "the last track claims 9 bytes fewer: its last note-off and End-of-Track lie outside",
                    _check_valid_example),
        AwkwardFile("track_length_too_long", _lying_length(valid, 1, +8), "piece",
                    "a middle track claims 8 bytes more, reaching into the next track",
                    _check_valid_example),
        AwkwardFile("truncated_half", valid[: len(valid) // 2], "error",
                    "a valid file cut in half", match="truncated"),
        AwkwardFile("header_only", header(1, 2), "error", "two tracks announced, none present",
                    match="truncated"),
        AwkwardFile("track_length_4gb", header(0, 1) + b"MTrk\xff\xff\xff\xff" + note(60) + END_OF_TRACK,
                    "error", "a track that claims to be 4 GB long", match="truncated"),
        AwkwardFile("running_status_at_start", smf(0, b"\x00\x3c\x40" + off(60, TPB)), "error",
                    "data bytes before any status byte", match="corrupt"),
        AwkwardFile("undefined_status", smf(0, b"\x00\xf4\x00" + note(60)), "error",
                    "status byte 0xF4 is undefined", match="corrupt"),
        AwkwardFile("huge_sysex", header(0, 1) + track(b"\x00\xf0\xff\xff\xff\x7f", end=False), "error",
                    "a sysex that claims 256 MB", match="corrupt"),
        AwkwardFile("unknown_chunk", header(0, 1) + b"XFIH\x00\x00\x00\x02ab" + track(note(60)), "any",
                    "a vendor chunk before the track (mido refuses it; an error is acceptable)"),
        AwkwardFile("format_7", header(7, 1) + track(note(60)), "any", "an undefined format number"),
        AwkwardFile("corrupt_after_header", header(1, 1) + bytes(range(256)), "error",
                    "a valid header followed by 256 bytes of noise", match="corrupt"),
    ]
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


CASES = _build_cases()
