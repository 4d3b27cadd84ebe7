"""Note and Piece: the one in-memory form of music (musegen_helpers.music)."""

import pytest

from musegen_helpers.music import (
    PITCH_CLASS_NAMES, SCALES, Note, Piece, frequency_to_pitch, key_signature_mode, melody, normalize_mode,
    note_name, parse_key, pitch_from_name,
    pitch_to_frequency,
)


def _triples(piece):
    return [(n.pitch, n.start, n.duration) for n in piece.notes]


# ---- names and frequencies --------------------------------------------------------------
def test_a4_is_440_hz_and_an_octave_doubles_it():
    assert pitch_to_frequency(69) == 440.0
    assert pitch_to_frequency(81) == pytest.approx(880.0)
    assert pitch_to_frequency(60) == pytest.approx(261.6256, abs=1e-4)
    assert pitch_to_frequency(69, a4=415.0) == 415.0  # baroque tuning
    assert frequency_to_pitch(440.0) == pytest.approx(69.0)
    assert frequency_to_pitch(pitch_to_frequency(40.5)) == pytest.approx(40.5)


def test_frequency_to_pitch_rejects_zero_hz():
    with pytest.raises(ValueError, match="positive"):
        frequency_to_pitch(0)


@pytest.mark.parametrize("pitch, name", [(60, "C4"), (69, "A4"), (70, "Bb4"), (61, "C#4"), (66, "F#4"),
                                         (0, "C-1"), (11, "B-1"), (127, "G9"), (21, "A0")])
def test_note_name_of_known_pitches(pitch, name):
    assert note_name(pitch) == name


def test_pitch_from_name_inverts_note_name_for_all_128_pitches():
    assert [pitch_from_name(note_name(p)) for p in range(128)] == list(range(128))


@pytest.mark.parametrize("name, pitch", [("C4", 60), ("c4", 60), ("Bb3", 58), ("A#3", 58), ("B-3", 58),
                                         ("F#3", 54), ("Cb4", 59), ("E#4", 65), (" G4 ", 67), ("B--1", 10)])
def test_pitch_from_name_reads_sharps_and_flats(name, pitch):
    assert pitch_from_name(name) == pitch


@pytest.mark.parametrize("name, message", [("H4", "not a note name"), ("C", "not a note name"),
                                           ("G#9", "outside the MIDI range"), ("60", "not a note name")])
def test_pitch_from_name_rejects_bad_names(name, message):
    with pytest.raises(ValueError, match=message):
        pitch_from_name(name)


# ---- keys ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("C major", (0, "major")), ("a minor", (9, "minor")), ("A minor", (9, "minor")),
    ("F#m", (6, "minor")), ("F# minor", (6, "minor")), ("Bb", (10, "major")), ("B- major", (10, "major")),
    ("Ebm", (3, "minor")), ("D dorian", (2, "dorian")), ("E aeolian", (4, "minor")), ("G", (7, "major")),
    ("E harmonic minor", (4, "harmonic minor")), ("Bb melodic minor", (10, "melodic minor")),
    ("B blues", (11, "blues")), ("G pentatonic", (7, "major pentatonic")), ("c natural minor", (0, "minor")),
])
def test_parse_key_accepts_common_spellings(text, expected):
    assert parse_key(text) == expected


@pytest.mark.parametrize("text, message", [
    ("H major", "unknown key 'H major'"),   # German B: not accepted
    ("C blorp", "unknown mode 'blorp'"),
    ("", "a key must be a name"),
])
def test_parse_key_rejects_unknown_keys_with_clear_message(text, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_key(text)
    assert "major" in str(info.value)  # the message shows what a valid key looks like


@pytest.mark.parametrize("text, message", [("Bb blorp", "unknown mode 'blorp'"), ("Bblorp", "unknown mode 'blorp'")])
def test_parse_key_names_the_mode_as_written(text, message):
    with pytest.raises(ValueError, match=message):
        parse_key(text)


@pytest.mark.parametrize("mode", list(SCALES))
def test_every_mode_is_a_piece_key_that_transposes_and_has_a_signature(mode):
    piece = melody([64, 66], key=f"E {mode}")
    assert parse_key(piece.key) == (4, mode)
    assert piece.transpose(-5).key == f"B {mode}"
    assert parse_key(piece.transpose(-5).key) == (11, mode)
    # a score or MIDI file writes one of the seven church modes (major, minor, dorian...)
    assert key_signature_mode(mode) in ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian")


def test_key_signature_mode_and_normalize_mode():
    assert key_signature_mode("harmonic minor") == "minor" and key_signature_mode("ionian") == "major"
    assert key_signature_mode("dorian") == "dorian" and key_signature_mode("blues") == "minor"
    assert normalize_mode("Aeolian") == "minor" and normalize_mode("harmonic_minor") == "harmonic minor"
    with pytest.raises(ValueError, match="unknown mode 'gypsy'"):
        normalize_mode("gypsy")


def test_piece_rejects_unknown_key():
    with pytest.raises(ValueError, match="blorp"):
        Piece([], key="C blorp")


# ---- Note -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    ({"pitch": 128, "start": 0, "duration": 1}, "outside the MIDI range"),
    ({"pitch": -1, "start": 0, "duration": 1}, "outside the MIDI range"),
    ({"pitch": 60, "start": 0, "duration": -1}, "duration must be > 0"),
    ({"pitch": 60, "start": 0, "duration": 0}, "duration must be > 0"),
    ({"pitch": 60, "start": -0.5, "duration": 1}, "start must be >= 0"),
    ({"pitch": 60, "start": float("nan"), "duration": 1}, "start must be >= 0"),
    ({"pitch": 60, "start": 0, "duration": float("inf")}, "duration must be > 0"),
    ({"pitch": 60.5, "start": 0, "duration": 1}, "whole MIDI number"),
])
def test_note_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Note(**kwargs)


def test_note_pitch_must_be_a_number():
    with pytest.raises(TypeError, match="whole MIDI number"):
        Note("C4", 0, 1)


def test_note_accepts_numpy_numbers_and_clamps_velocity():
    import numpy as np

    n = Note(np.int64(60), np.float32(0.5), np.float64(1.0), velocity=200)
    assert (n.pitch, n.start, n.duration, n.velocity) == (60, 0.5, 1.0, 127)
    assert type(n.pitch) is int and n.end == 1.5 and n.name == "C4"
    assert Note(60, 0, 1, velocity=0).velocity == 1


def test_equal_note_sets_make_equal_pieces():
    drum, key = Note(2, 0, 1, is_drum=True), Note(2, 0, 1)
    assert Piece([drum, key]) == Piece([key, drum])
    assert Piece([Note(60, 0, 1, 50), Note(60, 0, 1, 90)]) == Piece([Note(60, 0, 1, 90), Note(60, 0, 1, 50)])


def test_notes_are_kept_sorted_by_time_then_pitch():
    p = Piece([Note(67, 1, 1), Note(64, 0, 1), Note(60, 0, 2)])
    assert _triples(p) == [(60, 0.0, 2.0), (64, 0.0, 1.0), (67, 1.0, 1.0)]


def test_piece_validates_tempo_and_meter():
    with pytest.raises(ValueError, match="tempo"):
        Piece([], tempo=0)
    with pytest.raises(ValueError, match="time signature"):
        Piece([], time_signature=(4, 3))


# ---- simple facts ---------------------------------------------------------------------------
def test_end_bars_and_seconds():
    p = melody(["C4", "E4", "G4"], [1, 1, 2], time_signature=(3, 4), tempo=60)
    assert p.end == 4.0
    assert p.bar_length == 3.0
    assert p.n_bars == 2
    assert p.duration_seconds == 4.0
    assert Piece([], time_signature=(6, 8)).bar_length == 3.0
    assert Piece([]).n_bars == 0 and Piece([]).end == 0.0


def test_seconds_follow_tempo_changes():
    p = Piece([Note(60, 0, 8)], tempo=120, tempo_changes=[(4, 60)])
    assert p.seconds_at(4) == 2.0          # 4 quarters at 120 BPM
    assert p.seconds_at(6) == 4.0          # then 2 quarters at 60 BPM
    assert p.duration_seconds == 6.0


def test_parts_are_listed_highest_first(chorale):
    assert chorale.parts == ["Soprano", "Alto", "Tenor", "Bass"]
    bass = chorale.part("Bass")
    assert {n.part for n in bass.notes} == {"Bass"}
    assert len(bass.notes) == sum(n.part == "Bass" for n in chorale.notes)
    with pytest.raises(KeyError, match="Soprano"):
        chorale.part("Melody")  # the message lists the parts there are


def test_pitches_and_pitched_leave_drums_out():
    p = Piece([Note(60, 0, 1), Note(38, 0, 1, is_drum=True), Note(64, 1, 1)])
    assert p.pitches == [60, 64]
    assert len(p.pitched().notes) == 2
    assert len(p.notes) == 3


def test_repr_mentions_notes_bars_and_key():
    p = melody([60, 62, 64, 65, 67], 1.0, key="C major", title="five")
    text = repr(p)
    assert "'five'" in text and "5 notes" in text and "2 bars of 4/4" in text and "key=C major" in text
    assert "C4–G4" in text
    assert "drum" in repr(Piece([Note(38, 0, 1, is_drum=True)]))
    assert "C4" in repr(Note(60, 0, 1)) and "drum" in repr(Note(38, 0, 1, is_drum=True))


# ---- melody() ---------------------------------------------------------------------------
def test_melody_builder_places_notes_one_after_another():
    p = melody(["C4", 62, None, "E4"], [1, 0.5, 0.5, 2], tempo=90, key="C major", title="t")
    assert _triples(p) == [(60, 0.0, 1.0), (62, 1.0, 0.5), (64, 2.0, 2.0)]  # None is a rest
    assert (p.tempo, p.key, p.title) == (90, "C major", "t")
    assert _triples(melody([60, 62], 0.5)) == [(60, 0.0, 0.5), (62, 0.5, 0.5)]


def test_melody_builder_checks_lengths():
    with pytest.raises(ValueError, match="3 pitches but 2 durations"):
        melody([60, 62, 64], [1, 1])


# ---- transformations ------------------------------------------------------------------------
def test_transpose_up_then_down_is_identity(chorale):
    assert chorale.transpose(5).transpose(-5) == chorale
    up = chorale.transpose(5)
    assert up.pitches == [p + 5 for p in chorale.pitches]
    assert [n.start for n in up.notes] == [n.start for n in chorale.notes]


def test_transpose_moves_the_key_name():
    assert melody([60], key="C major").transpose(2).key == "D major"
    assert melody([69], key="A minor").transpose(3).key == "C minor"
    assert melody([62], key="D dorian").transpose(-3).key == "B dorian"
    assert melody([60], key="B major").transpose(1).key == "C major"
    assert melody([60]).transpose(1).key is None


def test_transpose_out_of_range_names_the_note():
    p = melody([60, 120, 64])
    with pytest.raises(ValueError, match=r"C9 \(pitch 120\) by \+8"):
        p.transpose(8)
    with pytest.raises(ValueError, match="C4"):
        p.transpose(-61)
    with pytest.raises(ValueError, match="whole number"):
        p.transpose(0.5)


def test_transpose_leaves_drums_alone():
    p = Piece([Note(60, 0, 1), Note(38, 0, 1, is_drum=True)]).transpose(12)
    assert sorted((n.pitch, n.is_drum) for n in p.notes) == [(38, True), (72, False)]


def test_slice_keeps_cuts_and_drops_notes():
    p = melody([60, 62, 64, 65], [1, 2, 1, 1])  # 60@0-1, 62@1-3, 64@3-4, 65@4-5
    s = p.slice(2, 4)
    # 62 is cut to its part inside the window, 64 kept whole, 60 and 65 dropped; moved to start at 0
    assert _triples(s) == [(62, 0.0, 1.0), (64, 1.0, 1.0)]
    assert _triples(p.slice(0, 5)) == _triples(p)
    assert p.slice(10, 12).notes == []
    with pytest.raises(ValueError, match="after its start"):
        p.slice(3, 3)


def test_slice_keeps_the_pickup_when_it_starts_at_the_pickup():
    p = Piece([Note(60, 0, 1), Note(62, 1, 4), Note(64, 5, 4)], pickup=1)   # a one-beat upbeat in 4/4
    assert p.slice(0, 9).pickup == 1          # the upbeat is still an upbeat: bar lines at 1 and 5
    assert p.slice(1, 9).pickup == 0          # from the first full bar: no pickup
    assert p.slice(2, 9).pickup == 3          # from inside a bar: a pickup to the next bar line


def test_slice_carries_tempo_changes():
    p = Piece([Note(60, 0, 12)], tempo=100, tempo_changes=[(2, 80), (6, 140), (20, 60)])
    s = p.slice(4, 12)
    assert s.tempo == 80                     # the tempo in force at the window's start
    assert s.tempo_changes == [(2.0, 140.0)]  # shifted; changes outside dropped


def test_quantize_snaps_to_the_grid():
    p = Piece([Note(60, 0.1, 0.9), Note(62, 1.02, 0.1), Note(64, 2.3, 0.45)])
    q = p.quantize(0.25)
    # 62 is shorter than a step after snapping: it keeps one step
    assert _triples(q) == [(60, 0.0, 1.0), (62, 1.0, 0.25), (64, 2.25, 0.5)]


def test_quantize_twice_equals_once(chorale):
    wobbly = chorale.with_notes([Note(n.pitch, n.start + 0.07, n.duration * 0.93, n.velocity, n.part)
                                 for n in chorale.notes])
    for grid in (0.25, 0.5, 1 / 3):
        once = wobbly.quantize(grid)
        assert once.quantize(grid) == once
    # a short note late in the piece on a triplet grid: both ends must be exact grid multiples
    once = Piece([Note(0, 32, 0.125)]).quantize(1 / 3)
    assert once.quantize(1 / 3) == once
    with pytest.raises(ValueError, match="positive"):
        chorale.quantize(0)


def test_with_notes_copies_meta():
    p = Piece([Note(60, 0, 1)], meta={"pickup": 1.0})
    q = p.with_notes([])
    q.meta["pickup"] = 2.0
    assert p.meta == {"pickup": 1.0} and len(p.notes) == 1


def test_with_notes_takes_other_fields_too():
    p = Piece([Note(60, 0, 1)], meta={"pickup": 1.0}, title="a")
    q = p.with_notes([Note(62, 0, 1)], meta={"id": 7}, title="b", tempo=90)
    assert (q.meta, q.title, q.tempo, q.pitches) == ({"id": 7}, "b", 90.0, [62])
    assert (p.meta, p.title) == ({"pickup": 1.0}, "a")


def test_pitch_class_names_are_twelve_distinct():
    assert len(set(PITCH_CLASS_NAMES)) == 12 and PITCH_CLASS_NAMES[0] == "C"
