"""Tests for musegen_helpers.theory: scales, chords, Roman numerals, cadences, intervals, voice leading."""

import numpy as np
import pytest

from musegen_helpers.music import Note, Piece, pitch_from_name
from musegen_helpers.theory import (
    CHORD_QUALITIES, SCALES, VOICE_LEADING_CHECKS, VOICE_RANGES, Violation, cadence_numerals, cadence_type,
    check_hidden_fifths_octaves, check_leaps, check_parallel_fifths, check_parallel_octaves,
    check_spacing, check_voice_crossing, check_voice_leading, check_voice_overlap, check_voice_range,
    chord_pitch_classes, chord_pitches, consonance, in_scale, interval_name, interval_short_name,
    is_consonant, name_chord, parallel_motion_matrix, parse_roman, parse_scale, describe_position,
    progression, roman_to_chord, scale_note_names, scale_pitch_classes, scale_pitches, split_progression,
    vertical_slices, voices_of, voices_to_piece,
)


# ---------------------------------------------------------------------------------------
# Scales
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("key, pcs", [
    ("C major", (0, 2, 4, 5, 7, 9, 11)),
    ("G major", (7, 9, 11, 0, 2, 4, 6)),
    ("A minor", (9, 11, 0, 2, 4, 5, 7)),
    ("A harmonic minor", (9, 11, 0, 2, 4, 5, 8)),
    ("A melodic minor", (9, 11, 0, 2, 4, 6, 8)),
    ("D dorian", (2, 4, 5, 7, 9, 11, 0)),
    ("E phrygian", (4, 5, 7, 9, 11, 0, 2)),
    ("F lydian", (5, 7, 9, 11, 0, 2, 4)),
    ("G mixolydian", (7, 9, 11, 0, 2, 4, 5)),
    ("B locrian", (11, 0, 2, 4, 5, 7, 9)),
    ("C pentatonic", (0, 2, 4, 7, 9)),
    ("A minor pentatonic", (9, 0, 2, 4, 7)),
])
def test_scale_pitch_classes_start_on_the_tonic(key, pcs):
    assert scale_pitch_classes(key) == pcs


def test_every_church_mode_of_c_major_has_the_white_keys():
    white = {0, 2, 4, 5, 7, 9, 11}
    for tonic, mode in zip("CDEFGAB", ["ionian", "dorian", "phrygian", "lydian", "mixolydian", "aeolian", "locrian"]):
        assert set(scale_pitch_classes(f"{tonic} {mode}")) == white


def test_scale_pitches_in_a_range_include_both_ends():
    assert scale_pitches("C major", "C4", "C5") == [60, 62, 64, 65, 67, 69, 71, 72]
    assert scale_pitches("G major", 66, 72) == [66, 67, 69, 71, 72]
    assert all(in_scale(p, "Eb major") for p in scale_pitches("Eb major", 40, 80))


def test_scale_pitches_rejects_a_reversed_range():
    with pytest.raises(ValueError, match="below low"):
        scale_pitches("C major", "C5", "C4")


def test_scale_note_names_use_one_letter_per_degree():
    assert scale_note_names("F major") == ["F", "G", "A", "Bb", "C", "D", "E"]
    assert scale_note_names("E harmonic minor")[-1] == "D#"
    assert scale_note_names("F# minor") == ["F#", "G#", "A", "B", "C#", "D", "E"]


@pytest.mark.parametrize("text, expected", [
    ("Bb major", (10, "major")), ("Abm", (8, "minor")), ("B blues", (11, "blues")),
    ("b minor", (11, "minor")), ("E- major", (3, "major")), ("C", (0, "major")),
    ("A natural minor", (9, "minor")), ("D aeolian", (2, "minor")), ("Bb harmonic_minor", (10, "harmonic minor")),
])
def test_parse_scale_reads_flats_and_short_forms(text, expected):
    assert parse_scale(text) == expected


def test_theory_scales_are_the_one_table_every_key_reads():
    """One key/scale grammar: every scale theory knows is a valid Piece key and key mask,
    and transposes to a name that reads back as the same scale."""
    from musegen_helpers import music, sampling

    assert SCALES is music.SCALES and parse_scale is music.parse_key
    for scale, steps in SCALES.items():
        name = f"E {scale}"
        piece = Piece([Note(64, 0, 1)], key=name)
        assert parse_scale(piece.key) == (4, scale)
        mask = sampling.key_mask(name)
        assert {p % 12 for p in range(128) if mask[p]} == set(scale_pitch_classes(name))
        assert len(set(scale_pitch_classes(name))) == len(steps)
        moved = piece.transpose(3).key
        assert parse_scale(moved) == (7, scale)
        assert scale_pitch_classes(moved) == tuple((p + 3) % 12 for p in scale_pitch_classes(name))


def test_unknown_scale_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown mode 'hyperlydian'.*harmonic minor"):
        scale_pitch_classes("C hyperlydian")
    with pytest.raises(ValueError, match="tonic"):
        scale_pitch_classes("H major")


# ---------------------------------------------------------------------------------------
# Chords and Roman numerals
# ---------------------------------------------------------------------------------------
def test_chord_pitches_in_close_position():
    assert chord_pitches(0, "major") == [60, 64, 67]
    assert chord_pitches("G", "7") == [67, 71, 74, 77]
    assert chord_pitches(0, "major", inversion=1) == [64, 67, 72]
    assert chord_pitch_classes(11, "half-diminished seventh") == (11, 2, 5, 9)
    assert len(CHORD_QUALITIES["diminished seventh"]) == 4


def test_chord_pitches_rejects_bad_quality_and_root():
    with pytest.raises(ValueError, match="unknown chord quality"):
        chord_pitches(0, "superminor")
    with pytest.raises(ValueError, match="pitch class 0–11"):
        chord_pitches(60, "major")


def test_name_chord_names_triads_sevenths_and_inversions():
    assert name_chord([62, 66, 69, 72]) == "D7"
    assert name_chord([64, 67, 72]) == "C/E"
    assert name_chord([57, 60, 64]) == "Am"
    assert name_chord([60, 61, 62]) is None


@pytest.mark.parametrize("numeral, names", [
    ("I", ("C", "E", "G")), ("ii", ("D", "F", "A")), ("iii", ("E", "G", "B")), ("IV", ("F", "A", "C")),
    ("V", ("G", "B", "D")), ("vi", ("A", "C", "E")), ("vii°", ("B", "D", "F")),
    ("V7", ("G", "B", "D", "F")), ("ii7", ("D", "F", "A", "C")), ("viio7", ("B", "D", "F", "Ab")),
    ("viiø7", ("B", "D", "F", "A")), ("Imaj7", ("C", "E", "G", "B")), ("V/V", ("D", "F#", "A")),
    ("V7/ii", ("A", "C#", "E", "G")), ("vii°7/V", ("F#", "A", "C", "Eb")), ("bVII", ("Bb", "D", "F")),
])
def test_roman_numerals_in_c_major(numeral, names):
    assert roman_to_chord(numeral, "C major").note_names == names


def test_v7_in_g_major_is_d_f_sharp_a_c():
    chord = roman_to_chord("V7", "G major")
    assert chord.note_names == ("D", "F#", "A", "C")
    assert chord.pitch_classes == (2, 6, 9, 0)
    assert chord.quality == "dominant seventh"
    assert chord.pitches() == [62, 66, 69, 72]
    assert chord.symbol == "D7"


@pytest.mark.parametrize("numeral, names", [
    ("i", ("A", "C", "E")), ("ii°", ("B", "D", "F")), ("III", ("C", "E", "G")), ("iv", ("D", "F", "A")),
    ("v", ("E", "G", "B")), ("V", ("E", "G#", "B")), ("VI", ("F", "A", "C")), ("VII", ("G", "B", "D")),
    ("vii°", ("G#", "B", "D")), ("viio7", ("G#", "B", "D", "F")), ("V7", ("E", "G#", "B", "D")),
])
def test_roman_numerals_in_a_minor_raise_the_leading_tone_only_where_written(numeral, names):
    assert roman_to_chord(numeral, "A minor").note_names == names


def test_v_in_a_minor_has_g_sharp():
    assert 8 in roman_to_chord("V", "A minor").pitch_classes
    assert 7 not in roman_to_chord("V", "A minor").pitch_classes


def test_roman_numerals_in_other_keys_spell_sharps_and_flats():
    assert roman_to_chord("IV", "Bb major").note_names == ("Eb", "G", "Bb")
    assert roman_to_chord("V7", "F# major").note_names == ("C#", "E#", "G#", "B")
    assert roman_to_chord("V", "C minor").note_names == ("G", "B", "D")


def test_inversions_put_the_right_note_in_the_bass():
    assert roman_to_chord("IV6", "C major").bass == 9          # A under F major
    assert roman_to_chord("I64", "C major").bass == 7          # G under C major
    assert roman_to_chord("V65", "C major").bass == 11         # B under G7
    assert roman_to_chord("V42", "C major").bass == 5          # F under G7
    assert roman_to_chord("V65", "C major").pitches(3)[0] == 59
    assert parse_roman("ii6").inversion == 1


def test_progression_accepts_a_list_or_a_string():
    as_list = progression(["I", "IV", "V", "I"], "D major")
    as_text = progression("I–IV–V–I", "D major")
    assert [c.root for c in as_list] == [c.root for c in as_text] == [2, 7, 9, 2]
    assert [c.symbol for c in progression("ii-V-I", "C major")] == ["Dm", "G", "C"]


def test_split_progression_keeps_slashes_and_flats_and_needs_a_numeral():
    assert split_progression("I, vi | IV-V7/V bVII") == ["I", "vi", "IV", "V7/V", "bVII"]
    assert split_progression(("I", "V")) == ["I", "V"]
    with pytest.raises(ValueError, match="at least one"):
        split_progression(" , ")


@pytest.mark.parametrize("bad", ["X", "IIII", "Vi", "V9", "Iø", "V/vii°", ""])
def test_bad_roman_numerals_are_clear_errors(bad):
    with pytest.raises(ValueError):
        roman_to_chord(bad, "C major")


def test_roman_numerals_need_a_seven_note_key():
    with pytest.raises(ValueError, match="seven-note"):
        roman_to_chord("V", "C pentatonic")


# ---------------------------------------------------------------------------------------
# Cadences
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("numerals, name", [
    (["I", "IV", "V7", "I"], "authentic"), (["i", "iv", "V", "i"], "authentic"),
    (["I", "vii°", "I"], "authentic"), (["I", "IV", "I"], "plagal"), (["i", "iv", "i"], "plagal"),
    (["I", "ii", "V"], "half"), (["i", "iv6", "V"], "half"), (["I", "V", "vi"], "deceptive"),
    (["i", "V7", "VI"], "deceptive"), (["I", "IV", "ii"], None), (["I", "V/V"], None),
])
def test_cadence_type_from_the_last_two_numerals(numerals, name):
    assert cadence_type(numerals) == name


def test_cadence_numerals_follow_the_mode():
    assert cadence_numerals("authentic", "C major") == ("V", "I")
    assert cadence_numerals("plagal", "A minor") == ("iv", "i")
    assert cadence_numerals("deceptive", "A minor") == ("V", "VI")
    assert cadence_type(cadence_numerals("deceptive", "A minor")) == "deceptive"
    with pytest.raises(ValueError, match="unknown cadence"):
        cadence_numerals("perfect", "C major")
    with pytest.raises(ValueError, match="two chords"):
        cadence_type(["I"])


# ---------------------------------------------------------------------------------------
# Intervals
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("semitones, name", [
    (0, "perfect unison"), (1, "minor second"), (3, "minor third"), (4, "major third"),
    (5, "perfect fourth"), (6, "tritone"), (7, "perfect fifth"), (8, "minor sixth"), (9, "major sixth"),
    (10, "minor seventh"), (11, "major seventh"), (12, "perfect octave"), (14, "major ninth"),
    (16, "major tenth"), (19, "perfect twelfth"), (24, "double octave"), (31, "perfect fifth plus 2 octaves"),
    (-7, "perfect fifth"),
])
def test_interval_names(semitones, name):
    assert interval_name(semitones) == name


def test_interval_names_simple_and_short():
    assert interval_name(16, simple=True) == "major third"
    assert interval_name(24, simple=True) == "perfect octave"
    assert [interval_short_name(s) for s in (7, 8, 6, 19)] == ["P5", "m6", "TT", "P5"]
    with pytest.raises(ValueError, match="whole number"):
        interval_name(2.5)


def test_consonance_follows_common_practice():
    perfect, imperfect = {0, 7, 12, 19}, {3, 4, 8, 9, 15, 16}
    dissonant = {1, 2, 6, 10, 11, 13, 14}
    assert all(consonance(s) == "perfect" for s in perfect)
    assert all(consonance(s) == "imperfect" for s in imperfect)
    assert all(consonance(s) == "dissonant" and not is_consonant(s) for s in dissonant)


def test_the_fourth_is_dissonant_above_the_bass_only():
    assert consonance(5) == "dissonant" and not is_consonant(5)
    assert consonance(17, against_bass=True) == "dissonant"
    assert consonance(5, against_bass=False) == "perfect" and is_consonant(5, against_bass=False)


# ---------------------------------------------------------------------------------------
# Voice leading
# ---------------------------------------------------------------------------------------
CLEAN_SATB = {  # I – IV – V – I in C major, textbook voicing, quarter notes
    "S": ["C5", "C5", "B4", "C5"],
    "A": ["E4", "F4", "D4", "E4"],
    "T": ["G3", "A3", "G3", "G3"],
    "B": ["C3", "F3", "G2", "C3"],
}


def test_a_clean_chorale_passes_every_check():
    piece = voices_to_piece(CLEAN_SATB)
    assert check_voice_leading(piece, checks=list(VOICE_LEADING_CHECKS)) == []
    assert check_voice_leading(piece) == []


def test_parallel_fifths_are_found_with_their_place_and_notes():
    piece = voices_to_piece({"S": ["E5", "C5", "D5", "E5"], "B": ["C3", "F3", "G3", "C3"]})
    found = check_voice_leading(piece)
    assert len(found) == 1
    v = found[0]
    assert isinstance(v, Violation)
    assert (v.rule, v.position, v.bar, v.beat, v.voices) == ("parallel_fifths", 2.0, 1, 3.0, ("S", "B"))
    assert v.description == "bar 1, beat 3: parallel fifths between S and B (C5→D5 over F3→G3)"
    assert str(v) == v.description


def test_parallel_octaves_and_unisons():
    octaves = check_parallel_octaves(voices_to_piece({"S": ["C5", "D5"], "B": ["C3", "D3"]}))
    assert [(v.rule, v.position, v.voices) for v in octaves] == [("parallel_octaves", 1.0, ("S", "B"))]
    unisons = check_parallel_octaves(voices_to_piece([["C4", "D4"], ["C4", "D4"]]))
    assert len(unisons) == 1 and "parallel unisons" in unisons[0].description


def test_fifths_by_contrary_motion_are_reported():
    found = check_parallel_fifths(voices_to_piece({"S": ["G4", "D5"], "B": ["C3", "G2"]}))
    assert len(found) == 1 and "fifths by contrary motion" in found[0].description


def test_oblique_and_static_fifths_are_fine():
    assert check_parallel_fifths(voices_to_piece({"S": ["G4", "G4"], "B": ["C3", "C3"]})) == []
    assert check_parallel_fifths(voices_to_piece({"S": ["G4", "G5"], "B": ["C3", "C3"]})) == []
    assert check_parallel_fifths(voices_to_piece({"S": ["G4", "F4"], "B": ["C3", "D3"]})) == []  # fifth to tenth


def test_held_note_is_compared_with_every_onset_of_the_other_voice():
    # S holds G4 for two beats while B moves C3 -> D3: oblique, then S moves with B into a fifth
    piece = Piece([Note(67, 0, 2, part="S"), Note(69, 2, 1, part="S"),
                   Note(48, 0, 1, part="B"), Note(48, 1, 1, part="B"), Note(50, 2, 1, part="B")])
    assert [t for t, _ in vertical_slices(piece)] == [0.0, 1.0, 2.0]
    found = check_parallel_fifths(piece)
    assert [(v.position, v.beat) for v in found] == [(2.0, 3.0)]


def test_voice_crossing_names_the_voices_and_place():
    voices = dict(CLEAN_SATB)
    voices["A"] = ["E4", "F4", "D5", "E4"]        # the alto jumps above the soprano on beat 3
    found = check_voice_crossing(voices_to_piece(voices))
    assert [(v.position, v.voices) for v in found] == [(2.0, ("S", "A"))]
    assert "A (D5) is above S (B4)" in found[0].description


def test_voice_range_flags_notes_outside_satb_ranges():
    voices = dict(CLEAN_SATB)
    voices["B"] = ["C3", "F3", "D2", "C3"]
    voices["S"] = ["C5", "A5", "B4", "C5"]
    found = check_voice_range(voices_to_piece(voices))
    assert [(v.position, v.voices) for v in found] == [(1.0, ("S",)), (2.0, ("B",))]
    assert "above the soprano range C4–G5" in found[0].description
    assert "below the bass range E2–C4" in found[1].description
    assert VOICE_RANGES["T"] == (pitch_from_name("C3"), pitch_from_name("G4"))


def test_voice_range_for_other_labels_needs_ranges():
    piece = voices_to_piece({"flute": ["C7"], "cello": ["C2"]})
    assert check_voice_range(piece) == []
    found = check_voice_range(piece, ranges={"flute": ("C4", "C7"), "cello": ("C2", "A5")})
    assert found == []
    assert len(check_voice_range(piece, ranges={"flute": ("C4", "B6")})) == 1


def test_spacing_checks_upper_voices_but_not_tenor_and_bass():
    voices = dict(CLEAN_SATB)
    voices["S"] = ["E5", "C5", "B4", "C5"]
    voices["A"] = ["C4", "F4", "D4", "E4"]       # E5 over C4: 16 semitones on beat 1
    voices["B"] = ["C2", "F3", "G2", "C3"]       # tenor G3 over bass C2: 19 semitones, allowed
    found = check_spacing(voices_to_piece(voices))
    assert [(v.position, v.voices) for v in found] == [(0.0, ("S", "A"))]
    assert "16 semitones" in found[0].description


def test_large_leaps_default_octave_and_configurable():
    voices = dict(CLEAN_SATB)
    voices["T"] = ["C3", "E4", "G3", "G3"]       # up a major tenth
    found = check_leaps(voices_to_piece(voices))
    assert [(v.position, v.voices) for v in found] == [(1.0, ("T",))]
    assert "major tenth" in found[0].description
    tight = check_voice_leading(voices_to_piece(CLEAN_SATB), checks=["large_leaps"], max_leap=7)
    assert [(v.position, v.voices) for v in tight] == [(2.0, ("B",))]   # F3 -> G2 is 10 semitones


def test_hidden_octaves_need_a_leaping_top_voice():
    leaping = voices_to_piece({"S": ["E4", "C5"], "B": ["G2", "C3"]})
    found = check_hidden_fifths_octaves(leaping)
    assert [(v.rule, v.position) for v in found] == [("hidden_fifths_octaves", 1.0)]
    assert "hidden octaves between S and B" in found[0].description
    stepping = voices_to_piece({"S": ["B4", "C5"], "B": ["G2", "C3"]})
    assert check_hidden_fifths_octaves(stepping) == []
    assert check_voice_leading(leaping) == []           # not one of the default checks


def test_voice_overlap_when_a_voice_passes_its_neighbours_last_note():
    lower_passes = check_voice_overlap(voices_to_piece({"S": ["E4", "G4"], "A": ["C4", "F4"]}))
    assert [(v.rule, v.position, v.voices) for v in lower_passes] == [("voice_overlap", 1.0, ("S", "A"))]
    upper_passes = check_voice_overlap(voices_to_piece({"S": ["E4", "B3"], "A": ["C4", "A3"]}))
    assert len(upper_passes) == 1 and "below A's previous C4" in upper_passes[0].description
    assert check_voice_overlap(voices_to_piece({"S": ["E4", "G4"], "A": ["C4", "D4"]})) == []


@pytest.mark.parametrize("meter, pickup, changes, position, text", [
    ((4, 4), 0.0, [], 5.5, "bar 2, beat 2.5"),
    ((6, 8), 0.0, [], 1.5, "bar 1, beat 2"),        # 6/8 counts dotted quarters, as Piece does
    ((6, 8), 0.0, [], 0.5, "bar 1, beat 1.333"),    # the second eighth of the first beat
    ((3, 8), 0.0, [], 2.0, "bar 2, beat 2"),        # 3/8: eighths; bar 2 starts at 1.5
    ((5, 16), 0.0, [], 1.5, "bar 2, beat 2"),       # 5/16: sixteenths; bar 2 starts at 1.25
    ((12, 16), 0.0, [], 0.75, "bar 1, beat 2"),     # 12/16: dotted eighths
    ((4, 4), 1.0, [], 0.5, "bar 0, beat 4.5"),      # the pickup counts back from bar 1
    ((4, 4), 1.0, [], 1.0, "bar 1, beat 1"),
    ((4, 4), 0.0, [(4.0, (3, 4))], 7.0, "bar 3, beat 1"),  # 4/4 then 3/4: bar 3 starts at 7
])
def test_positions_are_the_pieces_bars_and_beats(meter, pickup, changes, position, text):
    piece = Piece([Note(60, 0, 12)], time_signature=meter, pickup=pickup, time_signature_changes=changes)
    assert describe_position(piece, position) == text
    bar, beat = piece.bar_and_beat(position)
    assert text == f"bar {bar}, beat {round(beat, 3):g}"


def test_violations_are_placed_by_the_pieces_pickup_and_meter():
    piece = voices_to_piece({"S": ["E5", "C5", "D5"], "B": ["C3", "F3", "G3"]}, time_signature=(3, 4))
    piece = piece.with_notes(piece.notes, pickup=1.0)
    (v,) = check_parallel_fifths(piece)
    assert (v.bar, v.beat) == (1, 2.0) and v.description.startswith("bar 1, beat 2:")
    # in 6/8 (eighth-note chords) the fifths C5/F3 -> D5/G3 at quarter 1.0 fall on the third eighth
    jig = voices_to_piece({"S": ["E5", "C5", "D5"], "B": ["C3", "F3", "G3"]}, duration=0.5,
                          time_signature=(6, 8))
    (v,) = check_parallel_fifths(jig)
    bar, beat = jig.bar_and_beat(1.0)
    assert (v.bar, v.beat) == (bar, pytest.approx(beat, abs=1e-6)) and beat == pytest.approx(1 + 1 / 1.5)
    assert v.description.startswith("bar 1, beat 1.667:")


def test_voices_are_ordered_satb_and_need_one_note_at_a_time():
    piece = voices_to_piece({"B": ["C3"], "S": ["C5"], "T": ["G3"], "A": ["E4"]})
    assert [label for label, _ in voices_of(piece)] == ["S", "A", "T", "B"]
    chordal = Piece([Note(60, 0, 1, part="S"), Note(64, 0, 1, part="S")])
    with pytest.raises(ValueError, match="two notes at once"):
        check_voice_leading(chordal)
    with pytest.raises(ValueError, match="one label per voice"):
        voices_to_piece([["C4"], ["C3"]], labels=["S"])


def test_unknown_check_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown voice-leading check"):
        check_voice_leading(voices_to_piece(CLEAN_SATB), checks=["parallel_ninths"])


def test_parallel_motion_matrix_agrees_with_the_piece_checks():
    rng = np.random.default_rng(0)
    prev = rng.integers(40, 80, size=(40, 4))
    cur = prev + rng.integers(-4, 5, size=(40, 4))
    counts = parallel_motion_matrix(prev, cur)
    for n in range(len(prev)):
        for m in range(len(cur)):
            piece = voices_to_piece([[int(prev[n, v]), int(cur[m, v])] for v in range(4)])
            expected = len(check_parallel_fifths(piece)) + len(check_parallel_octaves(piece))
            assert counts[n, m] == expected
    assert counts.sum() > 0     # the sample does contain parallels
