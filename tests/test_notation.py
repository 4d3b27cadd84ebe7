"""Sheet music a musician would sign (musegen_helpers.notation, through score.musicxml_text).

Every score is read back from the MusicXML text itself (ElementTree), so these tests check what
a notation program would show: bars that add up to their meter, rests, spelling, clefs, names.
"""

from __future__ import annotations

import sys
import warnings
import xml.etree.ElementTree as ET
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import mido
import numpy as np
import pytest

from musegen_helpers import datasets
from musegen_helpers.errors import LimitError
from musegen_helpers.midi_io import load_midi
from musegen_helpers.music import Note, Piece, melody, pitch_from_name
from musegen_helpers.notation import clef_for, part_name, quantize_for_score, spell, to_music21
from musegen_helpers.representation import HOLD, REST, piece_from_piano_roll, tokens_to_melody
from musegen_helpers.rules import compose
from musegen_helpers.score import musicxml_text, score_svg

sys.path.insert(0, str(Path(__file__).parent))
from awkward_midi import CASES  # noqa: E402


# ---- reading MusicXML back ------------------------------------------------------------------
def _parts(xml: str) -> list[dict]:
    """Each <part>: its name, clefs, and per measure (number, {(staff, voice): quarter notes}, meter)."""
    root = ET.fromstring(xml)
    names = {sp.get("id"): (sp.findtext("part-name") or "").strip() for sp in root.iter("score-part")}
    out = []
    for part in root.iter("part"):
        divisions, staves, clefs, measures = None, 1, [], []
        for m in part.findall("measure"):
            meter = None
            for attrs in m.findall("attributes"):
                if attrs.findtext("divisions"):
                    divisions = int(attrs.findtext("divisions"))
                if attrs.findtext("staves"):
                    staves = int(attrs.findtext("staves"))
                for time in attrs.findall("time"):
                    meter = (int(time.findtext("beats")), int(time.findtext("beat-type")))
                for c in attrs.findall("clef"):
                    clefs.append((c.get("number", "1"), c.findtext("sign"), c.findtext("line"),
                                  c.findtext("clef-octave-change")))
            totals: dict = defaultdict(Fraction)
            for el in m:
                if el.tag == "note" and el.find("chord") is None and el.find("grace") is None:
                    key = (el.findtext("staff", "1"), el.findtext("voice", "1"))
                    totals[key] += Fraction(int(el.findtext("duration")), divisions)
                elif el.tag == "forward" and el.findtext("voice"):
                    key = (el.findtext("staff", "1"), el.findtext("voice"))
                    totals[key] += Fraction(int(el.findtext("duration")), divisions)
            measures.append((m.get("number"), dict(totals), meter))
        out.append({"name": names.get(part.get("id"), ""), "staves": staves, "clefs": clefs,
                    "measures": measures})
    return out


def assert_bars_add_up(piece: Piece, xml: str) -> None:
    """Every staff and voice of every bar lasts exactly as long as the Piece's bar (its meter,
    or the pickup), there is one measure per bar of piece.bars(), and meters change where the
    piece says."""
    bars = piece.bars()
    parts = _parts(xml)
    assert parts
    for part in parts:
        assert [m[0] for m in part["measures"]] == [str(b.number) for b in bars]
        meter = None
        for (number, totals, new_meter), bar in zip(part["measures"], bars):
            meter = new_meter or meter
            assert meter == bar.time_signature, f"bar {number}: meter {meter} != {bar.time_signature}"
            want = Fraction(bar.length).limit_denominator(1000)
            for staff in range(1, part["staves"] + 1):
                assert any(k[0] == str(staff) for k in totals), f"bar {number}: staff {staff} is empty"
            for (staff, voice), total in totals.items():
                assert total == want, (f"{part['name'] or 'part'} bar {number} staff {staff} voice {voice}: "
                                       f"{total} quarter notes, the bar holds {want}")


def _pitches_spelt(xml: str) -> list[str]:
    """Written pitches in document order, e.g. 'F#4', 'Bb3' (tied continuations included)."""
    out = []
    for n in ET.fromstring(xml).iter("note"):
        p = n.find("pitch")
        if p is None:
            continue
        alter = int(float(p.findtext("alter", "0")))
        out.append(p.findtext("step") + {0: "", 1: "#", -1: "b", 2: "##", -2: "bb"}[alter] + p.findtext("octave"))
    return out


def _chords(xml: str) -> list[list[str]]:
    """Written pitches grouped by onset: each note, with the <chord/> notes that follow it."""
    out: list[list[str]] = []
    for n in ET.fromstring(xml).iter("note"):
        if n.find("pitch") is None:
            continue
        name = n.findtext("pitch/step") + n.findtext("pitch/octave")
        if n.find("chord") is not None:
            out[-1].append(name)
        else:
            out.append([name])
    return out


def _quiet_xml(piece, **kwargs) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an engravable piece needs no notice
        return musicxml_text(piece, **kwargs)


# ---- the music under test --------------------------------------------------------------------
MELODIES = {  # index in load_melodies(): what it exercises
    1: "4/4, no pickup", 5: "3/4 with a one-beat pickup", 7: "4/4 with a pickup of 1.5",
    9: "6/8 with a pickup of a dotted quarter", 0: "4/2 with a pickup",
}


@pytest.fixture(scope="module")
def melodies():
    return datasets.load_melodies()


@pytest.mark.parametrize("index", list(MELODIES), ids=list(MELODIES.values()))
def test_folk_tune_bars_add_up(melodies, index):
    tune = melodies[index]
    assert_bars_add_up(tune, _quiet_xml(tune))


def test_dataset_tune_with_pickup_starts_with_measure_0(melodies):
    tune = melodies[7]  # 'Der Brautmoerder': 4/4, upbeat of a dotted quarter
    assert tune.pickup == 1.5
    part = _parts(_quiet_xml(tune))[0]
    assert part["measures"][0][0] == "0" and part["measures"][0][1] == {("1", "1"): Fraction(3, 2)}


@pytest.mark.parametrize("index", [0, 1, 2])
def test_chorale_bars_add_up(index):
    chorale = datasets.load_chorales()[index]
    xml = _quiet_xml(chorale)
    assert_bars_add_up(chorale, xml)
    assert [p["name"] for p in _parts(xml)] == ["Soprano", "Alto", "Tenor", "Bass"]


@pytest.mark.parametrize("kwargs", [dict(accompaniment=True), dict(harmonize=True, seed=3),
                                    dict(key="A minor", progression="minor", meter=(3, 4), accompaniment=True),
                                    dict(meter=(6, 8), bars=4)],
                         ids=["accompaniment", "harmonized", "3/4 minor", "6/8"])
def test_rule_based_composition_bars_add_up(kwargs):
    piece = compose(**kwargs)
    xml = _quiet_xml(piece)
    assert_bars_add_up(piece, xml)
    names = [p["name"] for p in _parts(xml)]
    assert "Music" not in names and not any("(" in n for n in names)


def _gan_like_piece(seed=0, bars=4):
    rng = np.random.default_rng(seed)
    roll = rng.random((48, 16 * bars)) < 0.08       # a sparse, noisy 48-pitch roll like a GAN's
    roll[12:24, ::4] |= rng.random((12, 4 * bars)) < 0.3
    return piece_from_piano_roll(roll, steps_per_quarter=4, lowest_pitch=36, key="C major")


def test_gan_like_roll_is_a_grand_staff_whose_bars_add_up():
    piece = _gan_like_piece()
    assert len(piece.parts) == 1 and piece.parts[0] is None
    xml = _quiet_xml(piece)
    assert_bars_add_up(piece, xml)
    parts = _parts(xml)
    assert len(parts) == 1 and parts[0]["staves"] == 2 and parts[0]["name"] == ""
    assert {(c[0], c[1]) for c in parts[0]["clefs"]} == {("1", "G"), ("2", "F")}
    # every note is written (as a note or tied chord members): pitches are all there
    assert {pitch_from_name(n) for n in _pitches_spelt(xml)} == {n.pitch for n in piece.notes}


def test_lstm_like_token_sample_bars_add_up():
    rng = np.random.default_rng(1)
    tokens = [int(t) for t in rng.choice(list(range(55, 80)) + [HOLD] * 20 + [REST] * 4, size=128)]
    piece = tokens_to_melody(tokens)
    assert_bars_add_up(piece, _quiet_xml(piece))


def test_meter_and_key_changes_are_written_where_they_happen():
    # 4/4 bar, then 3/4 from quarter 4 and D major from quarter 7; a note across the meter change
    notes = [Note(60, 0, 1), Note(62, 1, 1), Note(64, 2, 3), Note(66, 5, 2), Note(69, 7, 3), Note(73, 10, 2)]
    piece = Piece(notes, key="C major", time_signature_changes=[(4, (3, 4))], key_changes=[(7, "D major")])
    xml = _quiet_xml(piece)
    assert_bars_add_up(piece, xml)
    root = ET.fromstring(xml)
    measures = root.find("part").findall("measure")
    assert [m.find("attributes/time/beats").text if m.find("attributes/time") is not None else None
            for m in measures] == ["4", "3", None, None]
    assert [m.findtext("attributes/key/fifths") for m in measures] == ["0", None, "2", None]
    # F# in C major before the change (a rising passing note), C# in D major after it
    assert _pitches_spelt(xml) == ["C4", "D4", "E4", "E4", "F#4", "A4", "C#5"]


def test_bar_cut_short_by_a_meter_change():
    piece = Piece([Note(60, 0, 2), Note(62, 2, 3)], time_signature_changes=[(2, (3, 4))])
    assert [b.length for b in piece.bars()] == [2, 3]
    assert_bars_add_up(piece, _quiet_xml(piece))


def test_pickup_is_measure_0_and_the_last_bar_is_filled_with_rests():
    piece = Piece([Note(67, 0, 1), Note(72, 1, 2), Note(71, 3, 1), Note(72, 4, 1)], time_signature=(3, 4),
                  key="C major", pickup=1.0)
    xml = _quiet_xml(piece)
    assert_bars_add_up(piece, xml)
    measures = _parts(xml)[0]["measures"]
    assert [m[0] for m in measures] == ["0", "1", "2"]
    last = ET.fromstring(xml).find("part").findall("measure")[-1]
    # beats 2 and 3 of 3/4 are two quarter rests: a half rest would hide beat 3
    assert [n.find("rest") is not None for n in last.findall("note")] == [False, True, True]


@pytest.mark.parametrize("notes, meter, rests", [
    ([(60, 0, 0.5)], (4, 4), ["eighth", "quarter", "half"]),          # not a double-dotted half
    ([(60, 0, 1), (62, 3, 1)], (4, 4), ["quarter", "quarter"]),        # beats 2 and 3: no half rest mid-bar
    ([(60, 0, 0.25), (62, 1, 3)], (4, 4), ["16th", "eighth"]),         # fill the beat with plain values
    ([(60, 0, 0.5)], (6, 8), ["eighth", "eighth", "quarter"]),        # compound: eighths to the beat, then a dotted beat
])
def test_rests_show_the_beats(notes, meter, rests):
    piece = Piece([Note(p, s, d) for p, s, d in notes], time_signature=meter)
    xml = _quiet_xml(piece)
    assert_bars_add_up(piece, xml)
    first = ET.fromstring(xml).find("part").find("measure")
    assert [n.findtext("type") for n in first.findall("note") if n.find("rest") is not None][:len(rests)] == rests


def test_gaps_become_rests_in_every_part():
    piece = Piece([Note(72, 0, 1, part="S"), Note(74, 3, 1, part="S"), Note(48, 1, 1, part="B")])
    xml = _quiet_xml(piece)
    assert_bars_add_up(piece, xml)
    kinds = [["rest" if n.find("rest") is not None else n.findtext("pitch/step") for n in p.findall("measure/note")]
             for p in ET.fromstring(xml).iter("part")]
    # beats 2–3 of 4/4 are two quarter rests (a half rest mid-bar hides the middle of the bar)
    assert kinds == [["C", "rest", "rest", "D"], ["rest", "C", "rest"]]


@pytest.mark.parametrize("case", [c for c in CASES if c.outcome in ("piece", "any")], ids=lambda c: c.name)
def test_awkward_midi_files_engrave_or_refuse_clearly(case, tmp_path):
    path = tmp_path / f"{case.name}.mid"
    path.write_bytes(case.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            piece = load_midi(path)
        except Exception:
            pytest.skip("the loader refuses this file (tested in test_properties)")
    if not piece.notes:
        pytest.skip("no notes")
    if case.name in ("huge_delta", "thousands_of_tracks"):
        with pytest.raises(LimitError, match="slice|merge parts"):
            musicxml_text(piece)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xml = musicxml_text(piece)
    assert_bars_add_up(piece, xml)


# ---- spelling ----------------------------------------------------------------------------
def test_spelling_in_g_minor():
    assert spell(66, "G minor").nameWithOctave == "F#4"
    assert spell(70, "G minor").nameWithOctave == "B-4"
    assert spell(63, "G minor").nameWithOctave == "E-4"
    assert spell(64, "G minor").nameWithOctave == "E4"     # raised 6th, whatever the direction
    assert spell(66, "G minor", direction=-1).nameWithOctave == "F#4"  # raised 7th, even falling
    assert spell(54, "G minor").nameWithOctave == "F#3"


def test_chromatic_notes_follow_the_melody():
    assert spell(61, "C major", +1).name == "C#" and spell(61, "C major", -1).name == "D-"
    assert spell(61, "C major").name == "C#"                  # #1 with no direction
    assert spell(63, "C major").name == "E-" and spell(70, "C major").name == "B-"  # b3, b7
    assert spell(66, "C major").name == "F#" and spell(68, "C major").name == "G#"  # #4, #5
    assert spell(70, "F major", +1).name == "B-"              # diatonic: no direction changes it
    assert spell(71, "F major", +1).name == "B" and spell(71, "F major", -1).name == "B"  # not C-flat
    assert spell(60, "D major", +1).name == "C"               # not B#
    assert spell(60, "F# major", +1).name == "B#"             # six sharps: B# is the usual spelling
    assert spell(65, "F# major").name == "E#"                 # diatonic in F# major
    assert spell(72, "C# minor", -1).name == "B#"             # raised 7th of C# minor
    assert spell(64, "Bb major", -1).name == "E"              # falling to E-flat: not F-flat
    assert spell(58, None, +1).name == "A#" and spell(58, None, -1).name == "B-"
    assert spell(0, "Eb major").midi == 0 and spell(127, "C# major").midi == 127


def test_flat_key_sample_writes_b_flat_not_a_sharp():
    piece = melody([67, 69, 70, 72, 70, 69, 65], 1.0, key="F major")
    assert _pitches_spelt(_quiet_xml(piece)) == ["G4", "A4", "Bb4", "C5", "Bb4", "A4", "F4"]


def test_alto_line_f_f_sharp_g_and_bass_f_sharp_3_in_g_minor():
    piece = Piece([Note(65, 0, 1, part="A"), Note(66, 1, 1, part="A"), Note(67, 2, 2, part="A"),
                   Note(50, 0, 1, part="B"), Note(54, 1, 1, part="B"), Note(43, 2, 2, part="B")], key="G minor")
    xml = _quiet_xml(piece)
    assert_bars_add_up(piece, xml)
    assert _pitches_spelt(xml) == ["F4", "F#4", "G4", "D3", "F#3", "G2"]


def test_every_chorale_note_is_spelt_from_its_key():
    # no note of a chorale is written with a spelling a musician would not use in its key
    chorale = datasets.load_chorales()[0]   # G minor
    assert chorale.key == "G minor"
    spelt = set(_pitches_spelt(_quiet_xml(chorale)))
    assert not spelt & {"Gb4", "Gb3", "A#4", "A#3", "D#4", "D#3", "Gb2"}
    assert {"F#4", "Bb4", "Bb3"} <= spelt


def test_piece_without_key_is_spelt_from_the_inferred_key():
    # E major scale with no key: D# (not Eb), G# (not Ab) — music21 finds E major
    piece = melody([64, 66, 68, 69, 71, 73, 75, 76], 0.5)
    assert _pitches_spelt(_quiet_xml(piece)) == ["E4", "F#4", "G#4", "A4", "B4", "C#5", "D#5", "E5"]
    assert "<key>" not in _quiet_xml(piece)  # no key signature the piece does not have


# ---- clefs, staves, voices, names ---------------------------------------------------------
def test_bass_part_below_middle_c_gets_a_bass_clef():
    piece = Piece([Note(72, 0, 4, part="S"), Note(43, 0, 2, part="B"), Note(48, 2, 2, part="B")])
    parts = _parts(_quiet_xml(piece))
    assert [(p["name"], p["clefs"][0][1]) for p in parts] == [("Soprano", "G"), ("Bass", "F")]
    assert clef_for([40, 45, 50]) == "bass" and clef_for([67, 72]) == "treble" and clef_for([]) == "treble"
    assert clef_for([48, 55, 60, 64], "T") == "treble8vb"


def test_single_melody_has_no_name():
    piece = melody([60, 62, 64], 1.0)
    xml = _quiet_xml(piece)
    assert [p["name"] for p in _parts(xml)] == [""]
    assert "<part-name>Music" not in xml


def test_part_names():
    assert [part_name(x) for x in ("S", "A", "T", "B", None, "track 0", "track 2 ch 10", "Flute", "melody")] == [
        "Soprano", "Alto", "Tenor", "Bass", None, None, None, "Flute", "melody"]


def test_overlapping_notes_become_two_voices_not_two_staves():
    # a held chord under a moving melody, one labelled part
    piece = Piece([Note(p, 0, 4, part="piano") for p in (55, 60, 64)]
                  + [Note(p, i, 1, part="piano") for i, p in enumerate((72, 74, 76, 77))])
    xml = _quiet_xml(piece)
    assert_bars_add_up(piece, xml)
    parts = _parts(xml)
    assert len(parts) == 1 and parts[0]["name"] == "piano"
    assert set(parts[0]["measures"][0][1]) == {("1", "1"), ("1", "2")}


def test_dense_texture_is_tied_chords_in_one_voice():
    # three overlapping layers: cut into chords tied across each other's onsets
    piece = Piece([Note(60, 0, 3, part="x"), Note(64, 1, 3, part="x"), Note(67, 2, 2, part="x")])
    xml = _quiet_xml(piece)
    assert_bars_add_up(piece, xml)
    assert set(_parts(xml)[0]["measures"][0][1]) == {("1", "1")}
    # C (0-3), E (1-4), G (2-4) -> quarter chords C | C E | C E G | E G, five ties in all
    assert xml.count('<tie type="start"') == 5 and xml.count('<tie type="stop"') == 5
    assert [len(c) for c in _chords(xml)] == [1, 2, 3, 2]


def test_drums_get_a_percussion_staff():
    piece = Piece([Note(60, 0, 1), Note(62, 1, 1)] + [Note(36, i, 0.5, is_drum=True) for i in range(4)])
    xml = _quiet_xml(piece)
    assert_bars_add_up(piece, xml)
    assert xml.count("<unpitched>") == 4 and "<sign>percussion</sign>" in xml


def test_round_trip_through_music21_keeps_every_note():
    from musegen_helpers.score_io import from_music21

    piece = Piece([Note(p, 0, 2, part="piano") for p in (60, 64, 67)]
                  + [Note(72, 0, 1, part="piano"), Note(71, 1, 1, part="piano"), Note(60, 3, 2, part="piano")],
                  key="C major")
    back = from_music21(to_music21(piece))
    assert sorted((n.pitch, n.start, n.duration) for n in back.notes) == \
        sorted((n.pitch, n.start, n.duration) for n in piece.notes)


def test_svg_of_a_tune_with_a_rest_draws_a_rest():
    piece = melody([60, None, 64, 65], 1.0)
    svg = "".join(score_svg(piece))
    assert 'class="rest"' in svg


# ---- played music ----------------------------------------------------------------------------
def _played_scale(path: Path) -> Path:
    """C major scale, 480 ticks per quarter, onsets ±30 ticks off the beat, notes held short."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    events = []
    for i, (p, jitter, length) in enumerate(zip([60, 62, 64, 65, 67, 69, 71, 72],
                                               [0, 30, -30, 20, -10, 30, -25, 15],
                                               [400, 430, 390, 410, 380, 440, 400, 455])):
        start = i * 480 + jitter + 30
        events += [(start, "note_on", p), (start + length, "note_off", p)]
    now = 0
    for t, kind, p in sorted(events):
        track.append(mido.Message(kind, note=p, velocity=70 if kind == "note_on" else 0, time=t - now))
        now = t
    mid.save(str(path))
    return path


def test_played_scale_engraves_quantised_with_a_notice(tmp_path):
    piece = load_midi(_played_scale(tmp_path / "played.mid"))
    before = list(piece.notes)
    with pytest.warns(UserWarning, match=r"8 of 8 notes moved to a grid of 16th notes"):
        svg = "".join(score_svg(piece))
    assert svg.count('class="note"') == 8
    assert piece.notes == before                        # the learner's Piece is unchanged
    with pytest.warns(UserWarning, match="quantised"):
        xml = musicxml_text(piece)
    quantised, moved, grid = quantize_for_score(piece)
    assert (moved, grid) == (8, 0.25)
    assert_bars_add_up(quantised, xml)


def test_music_already_on_the_grid_is_untouched():
    piece = melody([60, 62, 64], [1 / 3, 1 / 3, 1 / 3 + 1])
    same, moved, grid = quantize_for_score(piece)
    assert same is piece and moved == 0 and grid is None


def test_unwritable_rhythm_is_a_clear_value_error():
    piece = Piece([Note(60, 0.0137, 0.9)])
    with pytest.raises(ValueError, match="grid=0.25"):
        musicxml_text(piece, grid=None)
    with pytest.raises(ValueError, match="grid must be"):
        musicxml_text(piece, grid="fine")
