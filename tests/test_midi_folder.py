"""A folder of your own MIDI files, fast and faithful (musegen_helpers.datasets.from_midi_folder).

The fast path (``midi_io.load_midi_arrays``: symusic's C++ parser, then numpy) must give the
very dataset the slow path gives (``fast=False``: ``load_midi`` + ``skyline`` per file): the same
notes (pitch, start, duration, velocity), the same metadata, the same files skipped for the same
reasons. These tests compare the two on ordinary songs, on every file of ``awkward_midi``, on
files with the oddities where symusic and mido differ, and on files hypothesis writes — and they
check the fast path really is taken for ordinary files (a comparison of two slow paths would
pass and prove nothing).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import mido
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musegen_helpers.datasets import from_midi_folder, skyline, write_example_midi_folder
from musegen_helpers.errors import LimitError, MusicFileError
from musegen_helpers.midi_io import fast_reader_available, load_midi, load_midi_arrays

sys.path.insert(0, str(Path(__file__).parent))
from awkward_midi import CASES, TPB, meta, note, off, on, smf, tempo, time_signature, track_name  # noqa: E402

pytestmark = pytest.mark.skipif(not fast_reader_available(), reason="symusic is not installed")

MELODY_CHOICES = ("skyline", "track:0", "track:1", "track:2", "track:5")


def _slow_and_fast(path):
    """(load_midi's answer, load_midi_arrays' answer as a Piece): a Piece or the error text."""
    out = []
    for read in (load_midi, lambda p: load_midi_arrays(p)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                got = read(path)
            except (MusicFileError, LimitError) as exc:
                got = f"{type(exc).__name__}: {exc}"
        out.append(got.to_piece() if hasattr(got, "to_piece") else got)
    return out


def assert_same_dataset(folder, melody="skyline"):
    """The fast and slow datasets of a folder are equal; returns how many files were read fast."""
    quiet = dict(progress=False, verbose=False)
    fast = from_midi_folder(folder, melody, **quiet)
    slow = from_midi_folder(folder, melody, fast=False, **quiet)
    assert fast.skipped == slow.skipped
    assert fast.meta == slow.meta
    for name in ("pitch", "start", "duration", "velocity", "part", "note_offsets"):
        a, b = getattr(fast._store, name), getattr(slow._store, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), f"{melody}: {name} differs"
    assert [p.notes for p in fast] == [p.notes for p in slow]
    assert slow.report["read_fast"] == 0
    return fast.report["read_fast"]


# ---- files built here ------------------------------------------------------------------
def _song(seed: int) -> bytes:
    """A POP909-like song: conductor, melody, a bridge line and piano chords (mido)."""
    import io

    rng = np.random.default_rng(seed)
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("track_name", name=f"song {seed}"),
                                      mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(96)),
                                      mido.MetaMessage("time_signature", numerator=3, denominator=4),
                                      mido.MetaMessage("key_signature", key="Bb")]))
    for name, channel, low, high, lengths in (("MELODY", 0, 62, 80, [0.5, 1.0]), ("BRIDGE", 1, 55, 70, [1.0, 2.0]),
                                              ("PIANO", 2, 40, 75, [0.5, 1.5, 3.0])):
        events, t = [], 0.0
        while t < 48:
            d = float(rng.choice(lengths))
            for pitch in rng.choice(np.arange(low, high), size=2 if name == "PIANO" else 1, replace=False):
                a, b = int(t * 480), int((t + d * 0.9) * 480)
                events += [(a, 1, int(pitch), int(rng.integers(30, 120))), (b, 0, int(pitch), 0)]
            t += d
        events.sort()
        tr, now = mido.MidiTrack([mido.MetaMessage("track_name", name=name)]), 0
        for tick, is_on, pitch, velocity in events:
            tr.append(mido.Message("note_on" if is_on else "note_off", note=pitch, velocity=velocity,
                                   channel=channel, time=tick - now))
            now = tick
        mid.tracks.append(tr)
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def program(number: int, channel: int = 0, delta: int = 0) -> bytes:
    from awkward_midi import vlq
    return vlq(delta) + bytes([0xC0 | channel, number])


ODDITIES = {
    # a note of one key still sounding at End-of-Track after a second one began on its last tick
    "two_open_at_end": smf(0, on(60) + on(64) + meta(0x01, b"x", TPB) + on(60)),
    "never_off_in_a_song": smf(1, tempo(100), track_name("lead") + note(67) + on(72, TPB) + note(74, delta=TPB)),
    "program_change_mid_track": smf(1, b"", program(0) + note(60) + program(40, delta=0) + note(62)),
    "f7_escape": smf(0, note(60) + b"\x00\xf7\x03\x43\x10\x4c" + note(62)),
    "f0_sysex_then_notes": smf(0, b"\x00\xf0\x05\x7e\x7f\x09\x01\xf7" + note(60) + note(62)),
    "running_status_after_meta": smf(0, b"\x00\x90\x3c\x40" + meta(0x01, b"hi") + b"\x00\x3e\x40"
                                     + off(60, TPB) + off(62)),
    "same_start_same_pitch_two_tracks": smf(1, b"", track_name("b") + note(72, 2 * TPB, velocity=90),
                                            track_name("a") + note(72, TPB, velocity=30) + note(60, delta=TPB)),
    "duplicate_track_names": smf(1, b"", track_name("piano") + note(60), track_name("piano") + note(64, delta=TPB)),
    "name_is_ch_of_another": smf(1, b"", track_name("X") + note(60), track_name("X ch 2") + note(79)),
    "empty_then_named": smf(1, track_name("") + track_name("Title") + tempo(90), track_name("") + note(65)),
    "latin1_and_utf8_names": smf(1, meta(0x03, "Flöte".encode("latin-1")),
                                 meta(0x03, "Flöte ♪".encode("utf-8")) + note(70)),
    "meter_clash_at_one_tick": smf(1, time_signature(3, 4), time_signature(6, 8) + note(60, 6 * TPB)),
    "mid_track_end_of_track": smf(0, note(60) + b"\x00\xff\x2f\x00" + note(62)),
    "tempo_key_meter_changes": smf(1, tempo(80) + time_signature(4, 4) + meta(0x59, b"\xfd\x01")
                                   + tempo(120, 4 * TPB) + time_signature(5, 8, 0) + meta(0x59, b"\x02\x00", TPB),
                                   note(60, 8 * TPB, delta=TPB // 2) + note(62)),
    "bad_smpte_offset": smf(0, meta(0x54, b"\xe0\x00\x00\x00\x00") + note(60)),
    "short_time_signature": smf(0, meta(0x58, b"\x04\x02") + note(60)),
    "sequence_number_one_byte": smf(0, meta(0x00, b"\x01") + note(60)),
    "overlap_across_channels": smf(0, on(60) + on(60, TPB // 2, channel=1) + off(60, TPB // 2)
                                   + off(60, TPB // 2, channel=1)),
    "drum_and_pitched_track": smf(1, b"", track_name("kit") + note(36, channel=9) + note(62, delta=0)),
    # rests of 2 400 ticks: their delta times start with byte 0x92, which looks like a note-on on
    # channel 3 (status 0x92); the track plays on channel 4 and leaves its last note sounding
    "never_off_after_long_rests": smf(1, b"", track_name("lead") + note(60, channel=3)
                                      + note(62, channel=3, delta=2400) + on(67, 2400, channel=3)
                                      + meta(0x01, b"end", TPB)),
    # a note-on with a velocity byte over 127 (clipped by mido), never turned off
    "never_off_velocity_over_127": smf(0, note(60, channel=2) + b"\x00\x92\x3c\xc8"),
}


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    """Ordinary songs, every awkward file, the oddities above and the course's example folder."""
    folder = tmp_path_factory.mktemp("mine")
    write_example_midi_folder(folder / "examples", 4)
    for seed in range(6):
        (folder / f"song_{seed}.mid").write_bytes(_song(seed))
    for case in CASES:
        case.write(folder)
    for name, data in ODDITIES.items():
        (folder / "odd").mkdir(exist_ok=True)
        (folder / "odd" / f"{name}.mid").write_bytes(data)
    return folder


# ---- file by file: load_midi_arrays equals load_midi, or steps aside ----------------------
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_awkward_file_fast_equals_load_midi(case, tmp_path):
    slow, fast = _slow_and_fast(case.write(tmp_path))
    assert fast is None or fast == slow


@pytest.mark.parametrize("name", sorted(ODDITIES))
def test_oddity_fast_equals_load_midi(name, tmp_path):
    path = tmp_path / f"{name}.mid"
    path.write_bytes(ODDITIES[name])
    slow, fast = _slow_and_fast(path)
    assert fast is None or fast == slow


def test_fast_path_is_taken_for_ordinary_files_and_declined_for_odd_ones(tmp_path):
    def fast_ok(data, name):
        path = tmp_path / f"{name}.mid"
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_midi_arrays(path) is not None

    by_name = {c.name: c.data for c in CASES}
    for name in ("type1_named_tracks", "running_status", "meter_and_tempo_changes", "drum_only",
                 "never_turned_off", "stray_note_off", "key_signature", "thousands_of_tracks",
                 "track_length_too_short", "long_header"):
        assert fast_ok(by_name[name], name), f"{name} should be read by the fast path"
    assert fast_ok(_song(0), "song")
    assert fast_ok(ODDITIES["never_off_in_a_song"], "never_off")
    assert fast_ok(ODDITIES["never_off_after_long_rests"], "never_off_after_long_rests")
    for name in ("type2_sequences", "overlapping_same_pitch", "zero_length_drums", "type0_two_channels",
                 "bad_key_signature", "short_tempo_event", "smpte_timing", "data_byte_over_127"):
        assert not fast_ok(by_name[name], name), f"{name} must go to load_midi"
    for name in ("two_open_at_end", "f7_escape", "running_status_after_meta", "program_change_mid_track",
                 "mid_track_end_of_track", "bad_smpte_offset", "short_time_signature",
                 "never_off_velocity_over_127"):
        assert not fast_ok(ODDITIES[name], name), f"{name} must go to load_midi"


def test_never_turned_off_notes_end_with_their_track(tmp_path):
    path = tmp_path / "held.mid"
    path.write_bytes(ODDITIES["never_off_in_a_song"])
    arrays = load_midi_arrays(path)
    assert arrays is not None
    notes = sorted(zip(arrays.pitch.tolist(), arrays.start.tolist(), arrays.duration.tolist()))
    assert notes == [(67, 0.0, 1.0), (72, 2.0, 2.0), (74, 3.0, 1.0)]  # 72 ends with the track at 4


def test_notes_left_sounding_after_long_rests_are_kept(tmp_path):
    """The note-offs that close notes left sounding go to every channel that may play a note: a
    byte 9n inside a delta time is not one, the track's own channel is."""
    path = tmp_path / "rests.mid"
    path.write_bytes(ODDITIES["never_off_after_long_rests"])
    arrays = load_midi_arrays(path)
    assert arrays is not None
    notes = sorted(zip(arrays.pitch.tolist(), (arrays.start * TPB).tolist(), (arrays.duration * TPB).tolist()))
    assert notes == [(60, 0, TPB), (62, TPB + 2400, TPB), (67, 2 * TPB + 4800, TPB)]


def test_symusic_refuses_note_on_data_over_127():
    """The fast path closes notes only on channels with a byte 9n followed by two bytes under
    0x80: sound because symusic refuses a note-on whose key or velocity byte is over 127 (the file
    then goes to load_midi), so a 9n byte followed by a byte >= 0x80 is never a note-on it reads."""
    import symusic

    for body in (b"\x00\x92\xc8\x40", b"\x00\x92\x3c\xc8"):
        with pytest.raises(Exception):
            symusic.Score.from_midi(smf(0, body + off(60, TPB, channel=2)))


# ---- whole folders: the same dataset, the same skips ---------------------------------------
@pytest.mark.parametrize("melody", MELODY_CHOICES)
def test_folder_fast_equals_slow(mixed_folder, melody):
    n_fast = assert_same_dataset(mixed_folder, melody)
    assert n_fast >= 20  # the songs, examples and most awkward files went the fast way


def test_example_folder_melodies_and_skips(tmp_path):
    folder = write_example_midi_folder(tmp_path / "mine", 3)
    assert sorted(p.name for p in folder.iterdir()) == ["broken.mid", "song_01.mid", "song_02.mid", "song_03.mid"]
    with pytest.raises(FileExistsError):
        write_example_midi_folder(folder, 3)
    ds = from_midi_folder(folder, progress=False, verbose=False)
    assert ds.ids == ["song_01.mid", "song_02.mid", "song_03.mid"]
    assert [r for r, _ in ds.skipped] == ["broken.mid"] and "truncated" in ds.skipped[0][1]
    # the tune is the top line: the skyline of the whole song is the melody track (track 1)
    tunes = from_midi_folder(folder, "track:1", progress=False, verbose=False)
    assert [p.notes for p in ds] == [p.notes for p in tunes]
    for piece, path in zip(ds, sorted(folder.glob("song_*.mid"))):
        song = load_midi(path)
        assert len(piece.notes) == len(song.part("melody").notes) > 20
        assert {n.part for n in song.notes} == {"melody", "chords", "bass", "drums"}
        assert song.time_signature == (4, 4) and song.key in ("C major", "G major", "A minor")
    assert ds.report["read_fast"] == 3


def test_without_symusic_the_slow_path_reads_everything(mixed_folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "symusic", None)  # `import symusic` now fails
    assert not fast_reader_available()
    ds = from_midi_folder(mixed_folder / "examples", progress=False, verbose=False)
    assert ds.report["read_fast"] == 0 and len(ds) == 4


def test_blocks_of_files_change_nothing(mixed_folder, monkeypatch):
    """from_midi_folder reads the files a block at a time: where the blocks end changes nothing."""
    import musegen_helpers.datasets as datasets

    quiet = dict(progress=False, verbose=False)
    whole = from_midi_folder(mixed_folder, **quiet)
    assert len(whole.ids) > datasets._FOLDER_BLOCK  # several blocks
    monkeypatch.setattr(datasets, "_FOLDER_BLOCK", 3)
    small = from_midi_folder(mixed_folder, **quiet)
    assert small.skipped == whole.skipped and small.meta == whole.meta
    assert small.report["read_fast"] == whole.report["read_fast"] >= 20
    for name in ("pitch", "start", "duration", "velocity", "note_offsets"):
        assert np.array_equal(getattr(small._store, name), getattr(whole._store, name)), name


def test_skyline_on_arrays_equals_skyline(tmp_path):
    """Chords under a held melody, ties between tracks: the fast skyline is the Piece skyline."""
    data = smf(1, b"", track_name("tune") + note(72, 4 * TPB) + note(74, TPB) + note(60, TPB),
               track_name("acc") + note(48) + note(50) + note(52) + note(74, 2 * TPB, velocity=20)
               + note(40, TPB, delta=TPB))
    path = tmp_path / "held.mid"
    path.write_bytes(data)
    ds = from_midi_folder(tmp_path, progress=False, verbose=False)
    assert ds.report["read_fast"] == 1
    expected = skyline(load_midi(path))
    assert [(n.pitch, n.start, n.duration, n.velocity) for n in ds[0].notes] == \
        [(n.pitch, n.start, n.duration, n.velocity) for n in expected.notes]


# ---- files hypothesis writes ---------------------------------------------------------------
@st.composite
def midi_files(draw):
    """A type-0 or type-1 file of random events: notes (some overlapping, some never ended, some
    of no length, note-on velocity 0 as note-off), channels 0, 1 and 10, program changes,
    running status, tempo, meter, key and text events, sysex."""
    from awkward_midi import vlq

    n_tracks = draw(st.integers(1, 3))
    bodies = []
    for ti in range(n_tracks):
        body = bytearray()
        if draw(st.booleans()):
            body += track_name(draw(st.sampled_from(["", "lead", "pad", "Flöte", "lead"])))
        status = None
        for _ in range(draw(st.integers(0, 25))):
            delta = draw(st.sampled_from([0, 0, 1, 24, 48, 96, 200, 3000]))
            kind = draw(st.sampled_from(["on", "on", "on", "off", "off", "off", "vel0", "meta", "program", "sysex"]))
            channel = draw(st.sampled_from([0, 0, 0, 1, 9]))
            pitch = draw(st.integers(58, 66))
            if kind == "meta":
                body += draw(st.sampled_from([tempo(90, delta), time_signature(3, 4, delta),
                                              time_signature(6, 8, delta), meta(0x59, b"\x01\x00", delta),
                                              meta(0x01, b"text", delta)]))
                status = None
                continue
            if kind == "sysex":
                body += vlq(delta) + b"\xf0\x03\x7e\x7f\xf7"
                status = None
                continue
            if kind == "program":
                byte = 0xC0 | channel
                body += vlq(delta) + bytes([byte, draw(st.integers(0, 3))])
                status = byte
                continue
            byte = (0x90 if kind in ("on", "vel0") else 0x80) | channel
            velocity = 0 if kind != "on" else draw(st.integers(1, 127))
            running = status == byte and draw(st.booleans())
            body += vlq(delta) + (b"" if running else bytes([byte])) + bytes([pitch, velocity])
            status = byte
        bodies.append(bytes(body))
    return smf(draw(st.sampled_from([0, 1])) if n_tracks == 1 else 1, *bodies)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=midi_files(), melody=st.sampled_from(["skyline", "track:0", "track:1"]))
def test_generated_files_fast_equals_slow(tmp_path_factory, data, melody):
    folder = tmp_path_factory.mktemp("gen")
    (folder / "song.mid").write_bytes(data)
    slow, fast = _slow_and_fast(folder / "song.mid")
    assert fast is None or fast == slow
    assert_same_dataset(folder, melody)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(files=st.lists(midi_files(), min_size=2, max_size=5), melody=st.sampled_from(["skyline", "track:1"]))
def test_generated_folders_fast_equals_slow(tmp_path_factory, files, melody):
    """Several files read together: what one file holds never leaks into the next one's melody."""
    folder = tmp_path_factory.mktemp("genfolder")
    for i, data in enumerate(files):
        (folder / f"{i}.mid").write_bytes(data)
    assert_same_dataset(folder, melody)


# ---- the batch reader ---------------------------------------------------------------------
def test_batch_equals_file_by_file(mixed_folder):
    """load_midi_batch gives each file what load_midi_arrays gives it: the same arrays, the same
    files left to load_midi, the same errors."""
    from musegen_helpers.midi_io import load_midi_batch

    paths = sorted(mixed_folder.rglob("*.mid"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = load_midi_batch(iter(paths))  # any iterable, read once
        assert len(batch) == len(paths)
        n_read = n_error = 0
        for i, path in enumerate(paths):
            try:
                single = load_midi_arrays(path)
            except (MusicFileError, LimitError) as exc:
                assert str(batch.errors[i]) == str(exc) and batch.headers[i] is None
                n_error += 1
                continue
            assert batch.errors[i] is None
            got = batch.arrays(i)
            assert (got is None) == (single is None), path.name
            if single is not None:
                n_read += 1
                assert got.header == single.header
                for name in ("pitch", "start", "duration", "velocity", "track", "is_drum"):
                    a, b = getattr(got, name), getattr(single, name)
                    assert a.dtype == b.dtype and np.array_equal(a, b), (path.name, name)
    assert n_read >= 20 and n_error >= 3
    assert batch.note_offsets[-1] == len(batch.pitch) == len(batch.file)
    assert np.all(np.diff(batch.file) >= 0)  # file by file


def test_long_held_note_over_many_onsets_and_ties_across_files(tmp_path):
    """A tune note held over 40 lower onsets (the one-by-one search), a later higher note, and the
    same note at one onset in two tracks, in two files read together: skyline of each Piece."""
    held = smf(1, b"", track_name("tune") + note(80, 41 * TPB) + note(82, TPB),
               track_name("acc") + b"".join(note(60 + i % 5, TPB // 2, delta=TPB // 2) for i in range(40))
               + note(82, TPB, velocity=20))
    tie = smf(1, b"", track_name("b") + note(72, TPB, velocity=90) + note(70),
              track_name("a") + note(72, 2 * TPB, velocity=30) + note(65))
    (tmp_path / "a_held.mid").write_bytes(held)
    (tmp_path / "b_tie.mid").write_bytes(tie)
    ds = from_midi_folder(tmp_path, progress=False, verbose=False)
    assert ds.report["read_fast"] == 2
    for piece, name in zip(ds, ("a_held.mid", "b_tie.mid")):
        expected = skyline(load_midi(tmp_path / name))
        assert [(n.pitch, n.start, n.duration, n.velocity) for n in piece.notes] == \
            [(n.pitch, n.start, n.duration, n.velocity) for n in expected.notes]
    # 80 holds over the 40 lower notes until the accompaniment's 82 (higher) cuts it at 40
    assert [(n.pitch, n.start, n.duration) for n in ds[0].notes] == [(80, 0.0, 40.0), (82, 40.0, 1.0), (82, 41.0, 1.0)]
    # the tie at 0: track 'a' comes first in a Piece's order (by part name), so its 72 is kept and
    # holds over b's lower 70
    assert [(n.pitch, n.start, n.duration, n.velocity) for n in ds[1].notes] == [(72, 0.0, 2.0, 30), (65, 2.0, 1.0, 64)]
    assert_same_dataset(tmp_path)
