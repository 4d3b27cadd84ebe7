"""Reading and writing music files (musegen_helpers.midi_io): round trips and broken files."""

import io
import struct
import warnings

import mido
import pytest

from musegen_helpers.errors import LimitError, MusicFileError
from musegen_helpers.midi_io import (
    from_music21, load, load_midi, load_score, save_midi, to_music21,
)
from musegen_helpers.files import atomic_write, check_can_write
from musegen_helpers.music import Note, Piece, melody

TICK = 1 / 480  # save_midi's default resolution, in quarter notes


def _events(piece, with_part=True):
    """The notes as tuples (pitch, start, duration[, part]) in time order, times rounded to 1/1000."""
    return sorted(((n.pitch, round(n.start, 3), round(n.duration, 3)) + ((n.part,) if with_part else ())
                   for n in piece.notes), key=lambda e: (e[1], e[0], e[2:]))


def _assert_same_notes(a, b, tolerance=TICK, start_tolerance=None):
    """Every note of ``a`` has a partner in ``b``: same pitch, part and drum flag, times within one tick."""
    start_tolerance = tolerance if start_tolerance is None else start_tolerance
    assert len(a.notes) == len(b.notes)
    key = lambda n: (n.part or "", n.is_drum, n.pitch, n.start, n.duration)  # noqa: E731
    for x, y in zip(sorted(a.notes, key=key), sorted(b.notes, key=key)):
        assert (x.pitch, x.part, x.is_drum) == (y.pitch, y.part, y.is_drum)
        assert abs(x.start - y.start) <= start_tolerance and abs(x.duration - y.duration) <= tolerance, (x, y)


def _save_mido(mid, path):
    mid.save(str(path))
    return path


# ---- MIDI round trips -------------------------------------------------------------------------
def test_midi_round_trip_keeps_every_note_of_a_chorale(chorale, tmp_path):
    back = load_midi(save_midi(chorale, tmp_path / "bwv66.mid"))
    _assert_same_notes(chorale, back)
    assert back.parts == ["Soprano", "Alto", "Tenor", "Bass"]
    assert (back.key, back.time_signature) == (chorale.key, chorale.time_signature) == ("F# minor", (4, 4))


def test_midi_round_trip_keeps_odd_times_within_one_tick(tmp_path):
    notes = [Note(60 + i % 12, i * 0.3337, 0.2 + (i % 5) * 0.111, 30 + i, part=f"p{i % 3}") for i in range(40)]
    piece = Piece(notes, tempo=97)
    back = load_midi(save_midi(piece, tmp_path / "odd.mid"))
    # onsets and offsets each round to the nearest tick: start within half a tick, length within one
    _assert_same_notes(piece, back, tolerance=TICK + 1e-9, start_tolerance=TICK / 2 + 1e-9)
    assert sorted(n.velocity for n in back.notes) == sorted(n.velocity for n in notes)
    assert back.tempo == pytest.approx(97, abs=0.01)


def test_repeated_and_overlapping_notes_survive_midi(tmp_path):
    # back-to-back repeats (note-off and note-on on the same tick) and a same-pitch overlap
    piece = Piece([Note(60, 0, 1), Note(60, 1, 1), Note(60, 2, 0.5), Note(64, 0, 3), Note(64, 1, 3)])
    back = load_midi(save_midi(piece, tmp_path / "rep.mid"))
    assert _events(back, False) == _events(piece, False)


def test_type0_file_with_two_channels(tmp_path):
    mid = mido.MidiFile(type=0, ticks_per_beat=220)
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("track_name", name="Duet", time=0))
    tr.append(mido.Message("note_on", note=72, velocity=90, channel=0, time=0))
    tr.append(mido.Message("note_on", note=48, velocity=70, channel=3, time=0))
    tr.append(mido.Message("note_off", note=72, channel=0, time=110))
    tr.append(mido.Message("note_on", note=74, velocity=90, channel=0, time=0))
    tr.append(mido.Message("note_on", note=74, velocity=0, channel=0, time=330))  # velocity 0 = note-off
    tr.append(mido.Message("note_off", note=48, channel=3, time=0))
    mid.tracks.append(tr)
    piece = load_midi(_save_mido(mid, tmp_path / "type0.mid"))
    assert piece.meta["midi_type"] == 0 and piece.title == "Duet"
    assert _events(piece) == [(48, 0.0, 2.0, "Duet ch 4"), (72, 0.0, 0.5, "Duet ch 1"),
                              (74, 0.5, 1.5, "Duet ch 1")]
    assert [n.velocity for n in piece.notes if n.pitch == 72] == [90]
    # written back as type 1, the two channels become two tracks and the notes stay
    back = load_midi(save_midi(piece, tmp_path / "back.mid"))
    assert back.meta["midi_type"] == 1
    _assert_same_notes(piece, back)


def test_several_tracks_become_parts(tmp_path):
    mid = mido.MidiFile(type=1, ticks_per_beat=96)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(75), time=0)])
    mid.tracks.append(conductor)
    for name, pitches in [("Flute", [79, 81]), ("Cello", [43, 45]), ("", [60, 62])]:
        tr = mido.MidiTrack()
        if name:
            tr.append(mido.MetaMessage("track_name", name=name, time=0))
        for p in pitches:
            tr.append(mido.Message("note_on", note=p, velocity=64, time=0))
            tr.append(mido.Message("note_off", note=p, time=96))
        mid.tracks.append(tr)
    piece = load_midi(_save_mido(mid, tmp_path / "three.mid"))
    assert piece.parts == ["Flute", "track 3", "Cello"]  # an unnamed track gets its number
    assert piece.part("Cello").pitches == [43, 45]
    assert piece.tempo == pytest.approx(75)


def test_tempo_changes_are_kept(tmp_path):
    piece = Piece([Note(60, 0, 16)], tempo=90, tempo_changes=[(4, 120), (8.5, 60)])
    back = load_midi(save_midi(piece, tmp_path / "tempi.mid"))
    assert back.tempo == pytest.approx(90)
    assert [b for b, _ in back.tempo_changes] == [4.0, 8.5]
    assert [bpm for _, bpm in back.tempo_changes] == pytest.approx([120, 60], abs=1e-3)
    assert back.duration_seconds == pytest.approx(piece.duration_seconds, abs=1e-3)


def test_meter_key_and_title_are_kept(tmp_path):
    piece = melody([62, 64, 66], 1.0, time_signature=(3, 4), key="D major", title="Waltz")
    back = load_midi(save_midi(piece, tmp_path / "waltz.mid"))
    assert (back.time_signature, back.key, back.title) == ((3, 4), "D major", "Waltz")
    minor = load_midi(save_midi(piece.with_notes(piece.notes, key="F# minor"), tmp_path / "m.mid"))
    assert minor.key == "F# minor"


def test_drum_channel_notes_are_flagged_and_left_out(tmp_path):
    from musegen_helpers.representation import melody_to_tokens, piano_roll

    mid = mido.MidiFile(type=1, ticks_per_beat=96)
    drums, bass = mido.MidiTrack(), mido.MidiTrack()
    for p in (36, 38, 42, 38):
        drums.append(mido.Message("note_on", note=p, velocity=100, channel=9, time=0))
        drums.append(mido.Message("note_off", note=p, channel=9, time=96))
    bass.append(mido.Message("note_on", note=40, velocity=80, channel=1, time=0))
    bass.append(mido.Message("note_off", note=40, channel=1, time=384))
    mid.tracks += [drums, bass]
    piece = load_midi(_save_mido(mid, tmp_path / "drums.mid"))
    assert sorted((n.pitch, n.is_drum) for n in piece.notes) == [(36, True), (38, True), (38, True),
                                                                (40, False), (42, True)]
    assert piece.pitches == [40]
    assert set(melody_to_tokens(piece).tolist()) == {40, 128}  # the bass note and HOLDs only
    roll = piano_roll(piece)
    assert roll[[36, 38, 42]].sum() == 0 and roll[40].sum() == 16
    # saved again, the drums go back to channel 10 and stay drums
    back = load_midi(save_midi(piece, tmp_path / "drums2.mid"))
    assert sum(n.is_drum for n in back.notes) == 4
    channels = {m.channel for tr in mido.MidiFile(tmp_path / "drums2.mid").tracks for m in tr
                if m.type == "note_on" and m.note in (36, 42)}
    assert channels == {9}


def test_type2_file_plays_its_sequences_in_turn(tmp_path):
    mid = mido.MidiFile(type=2, ticks_per_beat=96)
    for p in (60, 67):
        mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=p, velocity=64, time=0),
                                          mido.Message("note_off", note=p, time=192)]))
    piece = load_midi(_save_mido(mid, tmp_path / "type2.mid"))
    assert _events(piece, False) == [(60, 0.0, 2.0), (67, 2.0, 2.0)]


# ---- music21 --------------------------------------------------------------------------------
def test_music21_round_trip_keeps_chorale(chorale):
    back = from_music21(to_music21(chorale))
    assert _events(back) == _events(chorale)
    assert (back.key, back.time_signature, back.tempo) == (chorale.key, chorale.time_signature, chorale.tempo)


def test_chorale_from_music21_has_four_parts_and_a_pickup(chorale):
    assert len(chorale.notes) == 163
    assert chorale.pickup == 1.0
    assert min(chorale.pitches) == 42 and max(chorale.pitches) == 76  # F#2 .. E5


def test_music21_round_trip_keeps_chords():
    piece = Piece([Note(p, 0, 2, part="piano") for p in (60, 64, 67)]
                  + [Note(p, 2, 1, part="piano") for p in (59, 62, 65, 67)]
                  + [Note(72, 0, 1, part="piano"), Note(71, 1, 1, part="piano")])
    score = to_music21(piece)
    from music21 import chord

    chords = list(score.recurse().getElementsByClass(chord.Chord))
    assert sorted(len(c.pitches) for c in chords) == [3, 4]
    back = from_music21(score)
    assert _events(back, False) == _events(piece, False)
    # the melody overlapping the first chord is a second voice of the same part, not a second staff
    assert sorted(set(n.part for n in back.notes)) == ["piano"]


def test_music21_merges_ties_and_drops_grace_notes():
    from music21 import note, stream, tie

    part = stream.Part()
    a, b = note.Note("C4", quarterLength=2), note.Note("C4", quarterLength=1)
    a.tie, b.tie = tie.Tie("start"), tie.Tie("stop")
    part.append([a, b, note.Note("D4", quarterLength=1).getGrace(), note.Note("E4", quarterLength=1)])
    piece = from_music21(part)
    assert _events(piece, False) == [(60, 0.0, 3.0), (64, 3.0, 1.0)]


def test_music21_keeps_the_lowest_octave():
    # MIDI 0-11 lie in octave -1; spelt as text, 'C-1' would read as C-flat 1
    piece = Piece([Note(0, 0, 1), Note(3, 1, 1), Note(11, 2, 1), Note(12, 3, 1)], key="Eb major")
    assert from_music21(to_music21(piece)).pitches == [0, 3, 11, 12]


def test_from_music21_rejects_non_streams():
    with pytest.raises(TypeError, match="music21 stream"):
        from_music21([Note(60, 0, 1)])


def test_to_music21_leaves_drums_out_and_handles_empty_piece():
    score = to_music21(Piece([Note(38, 0, 1, is_drum=True), Note(60, 0, 1)]))
    assert [p.midi for p in score.flatten().pitches] == [60]
    assert from_music21(to_music21(Piece([]))).notes == []


# ---- scores ------------------------------------------------------------------------------------
ABC_TUNE = """X:1
T:Test tune
M:3/4
L:1/8
Q:1/4=90
K:G
GAB c2 d|e4 d2|]
"""

KERN_TUNE = "**kern\n*M4/4\n=1-\n4c\n4d\n4e\n4f\n=2\n1g\n==\n*-\n"


def test_load_score_reads_abc(tmp_path):
    path = tmp_path / "tune.abc"
    path.write_text(ABC_TUNE)
    piece = load_score(path)
    assert _events(piece, False) == [(67, 0.0, 0.5), (69, 0.5, 0.5), (71, 1.0, 0.5), (72, 1.5, 1.0),
                                     (74, 2.5, 0.5), (76, 3.0, 2.0), (74, 5.0, 1.0)]
    assert (piece.title, piece.key, piece.time_signature, piece.tempo) == ("Test tune", "G major", (3, 4), 90)
    assert load(path).notes == piece.notes  # load() dispatches on the extension


def test_load_score_reads_humdrum(tmp_path):
    path = tmp_path / "scale.krn"
    path.write_text(KERN_TUNE)
    piece = load_score(path)
    assert _events(piece, False) == [(60, 0.0, 1.0), (62, 1.0, 1.0), (64, 2.0, 1.0), (65, 3.0, 1.0),
                                     (67, 4.0, 4.0)]
    assert piece.title == "scale"  # no title inside: the file name


def test_load_score_reads_a_corpus_humdrum_chorale():
    import music21

    path = music21.corpus.getWork("bach/bwv277", fileExtensions=("krn",))
    piece = load_score(path)
    assert len(piece.parts) == 4 and len(piece.notes) > 200
    assert piece.key == "A minor"


@pytest.mark.parametrize("suffix", [".xml", ".mxl", ".musicxml"])
def test_load_score_reads_musicxml_written_by_music21(chorale, tmp_path, suffix):
    path = tmp_path / f"chorale{suffix}"
    fmt = "mxl" if suffix == ".mxl" else "musicxml"
    to_music21(chorale).write(fmt, fp=str(path))
    piece = load_score(path)
    assert _events(piece) == _events(chorale)


def test_load_score_passes_midi_to_load_midi(tmp_path):
    path = save_midi(melody([60, 62]), tmp_path / "m.midi")
    assert load_score(path).pitches == [60, 62]


# ---- broken files --------------------------------------------------------------------------------
def _valid_midi_bytes(tmp_path):
    path = save_midi(melody([60, 62, 64, 65, 67] * 4, 0.5, title="five"), tmp_path / "valid.mid")
    return path.read_bytes()


def _broken_cases(tmp_path):
    """(file name, bytes or None for 'do not create', text the message must contain)."""
    valid = _valid_midi_bytes(tmp_path)
    header = valid[:14]
    return [
        ("missing.mid", None, "no such file"),
        ("empty.mid", b"", "empty"),
        ("notes.mid", b"C4 D4 E4 -- these are note names, not MIDI\n", "not a MIDI file"),
        ("recording.mid", b"RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00" + bytes(100), "audio"),
        ("score.mid", b'<?xml version="1.0"?><score-partwise/>', "MusicXML"),
        ("truncated.mid", valid[: len(valid) // 2], "truncated"),
        ("corrupt.mid", header + b"MTrk\x00\x00\x00\x10" + bytes(range(0xF1, 0xFF)) * 2, "corrupt"),
        ("noise_after_header.mid", header + bytes(range(256)), "corrupt"),
        ("smpte.mid", header[:12] + struct.pack(">h", -(25 << 8) | 40) + valid[14:], "SMPTE"),
        ("zero_ticks.mid", header[:12] + b"\x00\x00" + valid[14:], "time division"),
    ]


def test_every_broken_midi_raises_music_file_error_naming_the_file(tmp_path):
    cases = _broken_cases(tmp_path)
    for name, data, problem in cases:
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        with pytest.raises(MusicFileError) as info:
            load_midi(path)
        assert name in str(info.value), name
        assert problem in str(info.value), (name, str(info.value))
        assert info.value.path == str(path)
    assert len(cases) == 10


def test_a_folder_is_not_a_midi_file(tmp_path):
    folder = tmp_path / "songs.mid"
    folder.mkdir()
    with pytest.raises(MusicFileError, match="songs.mid: this is a folder"):
        load_midi(folder)
    with pytest.raises(MusicFileError, match="folder"):
        load_score(folder)


def test_smpte_header_bytes_are_negative_division(tmp_path):
    # the header really says SMPTE: top bit of the division set (-25 fps, 40 ticks per frame)
    data = dict((n, d) for n, d, _ in _broken_cases(tmp_path))["smpte.mid"]
    assert data[12] == 0xE7 and data[13] == 40


def test_unsupported_score_extension(tmp_path):
    path = tmp_path / "song.mp3"
    path.write_bytes(b"ID3\x03" + bytes(50))
    with pytest.raises(MusicFileError, match=r"song\.mp3: unsupported file type \.mp3"):
        load_score(path)
    with pytest.raises(MusicFileError, match="unsupported"):
        load(tmp_path / "noextension")


@pytest.mark.parametrize("name, text", [
    ("garbage.abc", "this is not abc {{{ \x00 \n"),
    ("garbage.xml", "<score-partwise><part id='x'><measure><note>garbage"),
    ("garbage.musicxml", "<<<>>>"),
    ("garbage.mxl", "not a zip archive"),
    ("garbage.krn", "garbage\n"),
    ("empty_score.xml", ""),
    ("missing.abc", None),
])
def test_garbage_scores_raise_music_file_error(tmp_path, name, text):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(MusicFileError) as info:
        load_score(path)
    assert name in str(info.value)


def test_valid_midi_without_notes_gives_empty_piece_and_warning(tmp_path):
    mid = mido.MidiFile(type=1)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100), time=0)]))
    path = _save_mido(mid, tmp_path / "silent.mid")
    with pytest.warns(UserWarning, match="silent.mid.*no notes"):
        piece = load_midi(path)
    assert piece.notes == [] and piece.tempo == pytest.approx(100)


def test_file_size_limit(tmp_path):
    path = save_midi(melody(list(range(40, 80))), tmp_path / "long.mid")
    with pytest.raises(LimitError, match="long.mid.*max_bytes"):
        load_midi(path, max_bytes=100)
    assert len(load_midi(path, max_bytes=10_000).notes) == 40


def test_default_size_limit_refuses_before_parsing(tmp_path):
    from musegen_helpers.midi_io import MAX_FILE_BYTES

    path = tmp_path / "huge.mid"
    path.write_bytes(b"MThd" + bytes(MAX_FILE_BYTES))  # would take gigabytes of memory to parse
    with pytest.raises(LimitError, match="huge.mid: the file is"):
        load_midi(path)
    assert MAX_FILE_BYTES <= 5_000_000


def test_note_count_limit(tmp_path):
    path = save_midi(melody(list(range(40, 80))), tmp_path / "many.mid")
    with pytest.raises(MusicFileError, match="more than 10 notes"):
        load_midi(path, max_notes=10)


# ---- saving ----------------------------------------------------------------------------------
def _savers():
    from musegen_helpers.audio import save_wav
    from musegen_helpers.score import save_musicxml

    return [("mid", save_midi), ("wav", save_wav), ("musicxml", save_musicxml)]


@pytest.mark.parametrize("suffix, save", _savers(), ids=["save_midi", "save_wav", "save_musicxml"])
def test_saving_refuses_to_overwrite(tmp_path, suffix, save):
    path = tmp_path / f"mine.{suffix}"
    path.write_bytes(b"my precious work")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save(melody([60, 64, 67]), path)
    assert path.read_bytes() == b"my precious work"
    save(melody([60, 64, 67]), path, overwrite=True)
    assert path.read_bytes() != b"my precious work"
    assert [p.name for p in tmp_path.iterdir()] == [f"mine.{suffix}"]  # no temporary files left


def test_save_creates_missing_folders(tmp_path):
    path = save_midi(melody([60]), tmp_path / "a" / "b" / "tune.mid")
    assert load_midi(path).pitches == [60]


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "out.mid"

    def write_half_then_fail(fh):
        fh.write(b"MThd")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, write_half_then_fail)
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        atomic_write(target, write_half_then_fail)
    assert target.read_bytes() == b"old"


def test_check_can_write(tmp_path):
    assert check_can_write(tmp_path / "new.mid", overwrite=False) == tmp_path / "new.mid"
    (tmp_path / "old.mid").write_bytes(b"x")
    with pytest.raises(FileExistsError, match="old.mid already exists"):
        check_can_write(tmp_path / "old.mid", overwrite=False)


def test_saved_file_is_a_standard_midi_file(tmp_path):
    path = save_midi(melody([60, 62]), tmp_path / "std.mid")
    mid = mido.MidiFile(file=io.BytesIO(path.read_bytes()))
    assert mid.type == 1 and mid.ticks_per_beat == 480 and len(mid.tracks) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a normal file loads without warnings
        load_midi(path)


def test_save_midi_accepts_titles_and_parts_outside_latin1(tmp_path):
    # chorale titles such as "Meine Seel’ erhebt den Herren" use a curly apostrophe
    from musegen_helpers.midi_io import load_midi, save_midi
    from musegen_helpers.music import Note, Piece

    piece = Piece([Note(60, 0, 1, part="Sopran ’1"), Note(48, 0, 1, part="Bass")], title="Meine Seel’ erhebt")
    path = save_midi(piece, tmp_path / "t.mid")
    back = load_midi(path)
    assert sorted((n.pitch, n.start, n.duration) for n in back) == [(48, 0.0, 1.0), (60, 0.0, 1.0)]
    assert back.title == "Meine Seel’ erhebt"  # written as UTF-8: nothing replaced
    assert back.parts == ["Sopran ’1", "Bass"]


def test_saved_files_get_the_usual_permissions_not_private_temp_ones(tmp_path):
    # saves go through a mkstemp file (owner-only) that is renamed; the result must be readable as usual
    import os

    from musegen_helpers.midi_io import save_midi
    from musegen_helpers.music import melody

    umask = os.umask(0)
    os.umask(umask)
    path = save_midi(melody([60, 62]), tmp_path / "m.mid")
    assert (path.stat().st_mode & 0o777) == (0o666 & ~umask)
    assert [p.name for p in tmp_path.iterdir()] == ["m.mid"]  # no temporary file left behind


def test_a_path_from_the_home_folder_loads_as_a_shell_reads_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    save_midi(melody([60, 62, 64], 1.0), tmp_path / "tune.mid")
    (tmp_path / "tune.abc").write_text("X:1\nT:t\nM:4/4\nL:1/4\nK:C\nC D E F|]\n")
    assert [n.pitch for n in load("~/tune.mid").notes] == [60, 62, 64]
    assert [n.pitch for n in load("~/tune.abc").notes] == [60, 62, 64, 65]


def test_a_score_saved_with_a_mid_name_is_told_to_take_its_real_extension(tmp_path):
    wrong = tmp_path / "song.mid"
    wrong.write_text("X:1\nT:t\nM:4/4\nL:1/4\nK:C\nC D E F|]\n")
    with pytest.raises(MusicFileError, match=r"not a MIDI file.*real extension \(\.musicxml, \.xml, \.abc\)"):
        load(wrong)
    wrong.write_text('<?xml version="1.0"?><score-partwise/>')
    with pytest.raises(MusicFileError, match=r"looks like MusicXML: give it the extension \.musicxml"):
        load(wrong)
