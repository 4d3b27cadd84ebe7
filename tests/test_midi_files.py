"""MIDI files as people really write them (musegen_helpers.midi_io): meter and key maps, text in
any script, zero-length drum hits, and track chunks whose declared length is wrong.

Every file is built here from bytes (``awkward_midi``'s builders) or with mido, so a reader can
see exactly what is in it.
"""

from __future__ import annotations

import struct
import sys
import warnings
from pathlib import Path

import mido
import numpy as np
import pytest

from musegen_helpers.errors import MusicFileError
from musegen_helpers.midi_io import ZERO_LENGTH_NOTE, load_midi, save_midi
from musegen_helpers.music import Note, Piece

sys.path.insert(0, str(Path(__file__).parent))
from awkward_midi import (  # noqa: E402
    END_OF_TRACK, TPB, header, meta, note, off, on, smf, tempo, time_signature, track,
)


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _load_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # these files are well-formed: no warning expected
        return load_midi(path)


def _notes(piece):
    return [(n.pitch, n.start, n.duration) for n in piece.notes]


def key_signature(sharps: int, minor: bool = False, delta: int = 0) -> bytes:
    return meta(0x59, bytes([sharps & 0xFF, int(minor)]), delta)


def text_meta(kind: int, raw: bytes, delta: int = 0) -> bytes:
    return meta(kind, raw, delta)


def _conductor_events(path):
    """(absolute tick, event) of the first track of a file, events as short strings."""
    out, tick = [], 0
    for msg in mido.MidiFile(str(path)).tracks[0]:
        tick += msg.time
        if msg.type == "time_signature":
            out.append((tick, f"meter {msg.numerator}/{msg.denominator}"))
        elif msg.type == "key_signature":
            out.append((tick, f"key {msg.key}"))
        elif msg.type == "set_tempo":
            out.append((tick, f"tempo {round(mido.tempo2bpm(msg.tempo))}"))
    return out


# ---- 1. meter and key are maps -------------------------------------------------------------
def test_save_midi_writes_every_meter_and_key_change_merged_with_tempo(tmp_path):
    piece = Piece([Note(60, 0, 14)], tempo=100, time_signature=(4, 4), key="C major",
                  time_signature_changes=[(4, (3, 4)), (10, (6, 8))], key_changes=[(7, "G major")],
                  tempo_changes=[(4, 80), (13, 60)])
    path = save_midi(piece, tmp_path / "maps.mid")
    assert _conductor_events(path) == [
        (0, "meter 4/4"), (0, "key C"), (0, "tempo 100"),
        (4 * 480, "meter 3/4"), (4 * 480, "tempo 80"),
        (7 * 480, "key G"),
        (10 * 480, "meter 6/8"),
        (13 * 480, "tempo 60"),
    ]
    back = _load_quietly(path)
    assert back.time_signature == (4, 4) and back.time_signature_changes == [(4.0, (3, 4)), (10.0, (6, 8))]
    assert back.key == "C major" and back.key_changes == [(7.0, "G major")]
    # the bars follow the meter map: one 4/4 bar, two 3/4 bars, then 6/8 from quarter 10
    assert [(b.number, b.start, b.end, b.time_signature) for b in back.bars()] == [
        (1, 0.0, 4.0, (4, 4)), (2, 4.0, 7.0, (3, 4)), (3, 7.0, 10.0, (3, 4)),
        (4, 10.0, 13.0, (6, 8)), (5, 13.0, 16.0, (6, 8))]


def test_a_file_whose_only_meter_comes_late_opens_in_the_midi_default(tmp_path):
    # MIDI's meter is 4/4 until a time-signature event says otherwise
    path = _write(tmp_path, "late_meter.mid", smf(1, time_signature(3, 4, delta=8 * TPB), note(60, 11 * TPB)))
    piece = _load_quietly(path)
    assert piece.time_signature == (4, 4)
    assert piece.time_signature_changes == [(8.0, (3, 4))]
    assert piece.bar_and_beat(8.0) == (3, 1.0) and piece.bar_and_beat(10.0) == (3, 3.0)
    assert piece.bar_and_beat(11.0) == (4, 1.0)
    assert "time_signature_changes" not in piece.meta  # the typed field is the one home


def test_the_same_meter_at_tick_0_in_two_tracks_is_not_a_change(tmp_path):
    path = _write(tmp_path, "twice.mid", smf(1, time_signature(4, 4) + tempo(90),
                                            time_signature(4, 4) + note(60, 8 * TPB)))
    piece = _load_quietly(path)
    assert (piece.time_signature, piece.time_signature_changes) == ((4, 4), [])
    path = _write(tmp_path, "twice34.mid", smf(1, time_signature(3, 4), time_signature(3, 4) + note(60)))
    piece = _load_quietly(path)
    assert (piece.time_signature, piece.time_signature_changes) == ((3, 4), [])


def test_keys_are_a_map_unknown_until_the_first_key_signature(tmp_path):
    # no key for four quarters, then D major (2 sharps), then B minor (2 sharps, minor) at 8
    path = _write(tmp_path, "keys.mid", smf(1, key_signature(2, delta=4 * TPB) + key_signature(2, True, 4 * TPB),
                                           note(62, 12 * TPB)))
    piece = _load_quietly(path)
    assert piece.key is None
    assert piece.key_changes == [(4.0, "D major"), (8.0, "B minor")]
    assert (piece.key_at(0), piece.key_at(5), piece.key_at(11)) == (None, "D major", "B minor")
    # a key at 0 is the piece's key; the same key again later is not a change
    path = _write(tmp_path, "keys0.mid", smf(1, key_signature(-3) + key_signature(-3, delta=4 * TPB),
                                            note(63, 8 * TPB)))
    piece = _load_quietly(path)
    assert (piece.key, piece.key_changes) == ("Eb major", [])
    # saved and read back: still no key at the start, and the same changes
    back = _load_quietly(save_midi(_load_quietly(tmp_path / "keys.mid"), tmp_path / "keys_back.mid"))
    assert (back.key, back.key_changes) == (None, [(4.0, "D major"), (8.0, "B minor")])


def test_a_modal_key_is_left_out_of_the_file_with_a_warning(tmp_path):
    piece = Piece([Note(62, 0, 8)], key="D dorian", key_changes=[(4, "G major")])
    with pytest.warns(UserWarning, match="only major and minor.*D dorian at quarter 0"):
        path = save_midi(piece, tmp_path / "dorian.mid")
    back = _load_quietly(path)
    assert (back.key, back.key_changes) == (None, [(4.0, "G major")])


def test_midi_has_no_pickup_so_notes_keep_their_positions(tmp_path):
    # save_midi writes the notes where they are; load_midi cannot know about an upbeat
    piece = Piece([Note(67, 0, 1), Note(72, 1, 4)], time_signature=(4, 4), pickup=1.0)
    back = _load_quietly(save_midi(piece, tmp_path / "upbeat.mid"))
    assert _notes(back) == _notes(piece) and back.pickup == 0.0
    back.pickup = 1.0  # the reader who knows says so, and the bars follow
    assert back.bar_and_beat(1.0) == (1, 1.0)


# ---- 2. text ------------------------------------------------------------------------------
def test_utf8_track_names_and_title_are_read_exactly(tmp_path):
    title, name = "Für Elise – 夜曲", "Flöte"
    data = smf(1, text_meta(0x03, title.encode("utf-8")) + tempo(100),
               text_meta(0x03, name.encode("utf-8")) + note(72))
    piece = _load_quietly(_write(tmp_path, "utf8.mid", data))
    assert piece.title == title
    assert piece.parts == [name]


def test_latin1_track_names_still_read_right(tmp_path):
    data = smf(1, text_meta(0x03, "Gesänge".encode("latin-1")),
               text_meta(0x03, "Flöte".encode("latin-1")) + note(72))
    piece = _load_quietly(_write(tmp_path, "latin1.mid", data))
    assert (piece.title, piece.parts) == ("Gesänge", ["Flöte"])


def test_save_midi_writes_utf8_and_the_round_trip_is_exact(tmp_path):
    piece = Piece([Note(72, 0, 1, part="Flöte"), Note(48, 0, 1, part="Cello ’2"), Note(60, 1, 1, part="琵琶")],
                  title="Für Elise – 夜曲")
    path = save_midi(piece, tmp_path / "text.mid")
    data = path.read_bytes()
    assert "夜曲".encode("utf-8") in data and "Flöte".encode("utf-8") in data
    back = _load_quietly(path)
    assert back.title == "Für Elise – 夜曲"
    assert sorted(back.parts) == sorted(["Flöte", "Cello ’2", "琵琶"])


# ---- 3. zero-length notes ------------------------------------------------------------------
def _zero_length_hits(pitches, channel, gap=TPB):
    """Note-on and note-off on the same tick for each pitch, ``gap`` ticks apart."""
    body = b""
    for i, p in enumerate(pitches):
        body += on(p, 0 if i == 0 else gap, channel=channel, velocity=100) + off(p, 0, channel=channel)
    return body


def test_zero_length_drum_hits_get_a_32nd_note_and_a_warning(tmp_path):
    path = _write(tmp_path, "drums.mid", smf(0, _zero_length_hits([36, 38, 42, 38], channel=9)))
    with pytest.warns(UserWarning, match="4 zero-length notes.*4 of them drums.*0.125 quarter notes") as caught:
        piece = load_midi(path)
    assert "drums.mid" in str(caught[0].message)
    assert ZERO_LENGTH_NOTE == 0.125
    assert [(n.pitch, n.start, n.duration, n.is_drum) for n in piece.notes] == [
        (36, 0.0, 0.125, True), (38, 1.0, 0.125, True), (42, 2.0, 0.125, True), (38, 3.0, 0.125, True)]
    # ... so the drum track is heard
    from musegen_helpers.audio import render

    assert np.abs(render(piece)).max() > 0.01


def test_zero_length_pitched_notes_too_and_never_past_the_next_hit(tmp_path):
    # a 64th-note roll of one pitch: each hit lasts only up to the next one
    roll = _zero_length_hits([60, 60, 60], channel=0, gap=TPB // 16)
    path = _write(tmp_path, "roll.mid", smf(0, roll + note(64, TPB)))
    with pytest.warns(UserWarning, match="3 zero-length notes") as caught:
        piece = load_midi(path)
    assert "drums" not in str(caught[0].message)
    assert _notes(piece) == [(60, 0.0, 0.0625), (60, 0.0625, 0.0625), (60, 0.125, 0.125), (64, 0.125, 1.0)]


def test_zero_length_notes_survive_a_save_and_load(tmp_path):
    path = _write(tmp_path, "hits.mid", smf(0, _zero_length_hits([36, 38], channel=9)))
    with pytest.warns(UserWarning, match="2 zero-length"):
        piece = load_midi(path)
    back = _load_quietly(save_midi(piece, tmp_path / "hits_back.mid"))  # now they have a length
    assert [(n.pitch, n.start, n.duration, n.is_drum) for n in back.notes] == [
        (36, 0.0, 0.125, True), (38, 1.0, 0.125, True)]


# ---- 4. track chunks whose declared length is wrong -----------------------------------------
MELODY = b"".join(note(p, TPB) for p in (60, 62, 64, 65))
BASS = b"".join(note(p, 2 * TPB, channel=1) for p in (36, 43))


def _chunk(body: bytes, declared: int) -> bytes:
    return b"MTrk" + struct.pack(">L", declared) + body


def _melody_and_bass(piece):
    assert [(n.pitch, n.start) for n in piece.notes if n.pitch >= 60] == [(60, 0), (62, 1), (64, 2), (65, 3)]
    assert [(n.pitch, n.start) for n in piece.notes if n.pitch < 60] == [(36, 0), (43, 2)]


@pytest.mark.parametrize("short_by", [4, 7, 12])
def test_a_last_track_that_claims_too_few_bytes_is_read_in_full_with_a_warning(tmp_path, short_by):
    # short by 4 or 12 bytes ends the declared length on an event boundary, where mido stops
    # without a word and the last notes vanish; short by 7 ends inside an event
    body = BASS + END_OF_TRACK
    data = header(1, 2) + track(MELODY) + _chunk(body, len(body) - short_by)
    with pytest.warns(UserWarning, match=rf"track 1 declares {len(body) - short_by} bytes.*after {len(body)} bytes"):
        piece = load_midi(_write(tmp_path, "short_last.mid", data))
    _melody_and_bass(piece)


def test_a_middle_track_that_claims_too_few_bytes(tmp_path):
    body = MELODY + END_OF_TRACK
    data = header(1, 2) + _chunk(body, len(body) - 6) + track(BASS)
    with pytest.warns(UserWarning, match=rf"short_mid.mid: track 0 declares {len(body) - 6} bytes"):
        piece = load_midi(_write(tmp_path, "short_mid.mid", data))
    _melody_and_bass(piece)


def test_a_track_that_claims_too_many_bytes_does_not_swallow_the_next(tmp_path):
    body = MELODY + END_OF_TRACK
    data = header(1, 2) + _chunk(body, len(body) + 10) + track(BASS)
    with pytest.warns(UserWarning, match=rf"track 0 declares {len(body) + 10} bytes.*after {len(body)} bytes"):
        piece = load_midi(_write(tmp_path, "long_mid.mid", data))
    _melody_and_bass(piece)
    # claiming more bytes than the whole file holds, with the next track right after its end
    data = header(1, 2) + _chunk(body, 0x00FFFFFF) + track(BASS)
    with pytest.warns(UserWarning, match="more than the file holds"):
        _melody_and_bass(load_midi(_write(tmp_path, "huge_mid.mid", data)))


def test_a_chunk_longer_than_the_file_is_truncated(tmp_path):
    body = MELODY + END_OF_TRACK
    path = _write(tmp_path, "cut.mid", header(1, 2) + track(MELODY) + _chunk(body, len(body) + 50)[:-5])
    with pytest.raises(MusicFileError, match=rf"cut.mid: the MIDI file is truncated \(track 1 claims "
                                             rf"{len(body) + 50} bytes, but the file holds only {len(body) - 5} more"):
        load_midi(path)


def test_a_wrong_length_that_cannot_be_squared_with_the_events_is_refused(tmp_path):
    # declared too short, and the events after it never reach an End-of-Track: noise follows
    body = MELODY + b"\x00\xf4\x00\x00"  # 0xF4 is no status byte
    data = header(1, 2) + _chunk(body, len(MELODY) - 3) + track(BASS)
    with pytest.raises(MusicFileError, match="bad_len.mid: the MIDI data is corrupt .*track 0 declares"):
        load_midi(_write(tmp_path, "bad_len.mid", data))


def test_a_track_without_end_of_track_that_fills_its_length_still_loads(tmp_path):
    data = header(1, 2) + track(MELODY, end=False) + track(BASS, end=False)
    _melody_and_bass(_load_quietly(_write(tmp_path, "no_eot.mid", data)))


def test_a_vendor_chunk_is_skipped_with_a_word(tmp_path):
    data = header(1, 2) + b"XFIH\x00\x00\x00\x02ab" + track(MELODY) + track(BASS)
    with pytest.warns(UserWarning, match="skipped 1 chunk.*XFIH"):
        _melody_and_bass(load_midi(_write(tmp_path, "vendor.mid", data)))


def test_an_ordinary_file_raises_no_warning(tmp_path):
    data = header(1, 3) + track(tempo(90) + time_signature(3, 4)) + track(MELODY) + track(BASS)
    _melody_and_bass(_load_quietly(_write(tmp_path, "ok.mid", data)))
