"""Scores as musicians write them: ABC files of many tunes, ABC 2.1 accidentals, fields changed
mid-tune, and MusicXML as notation programs write it (drum parts, transposing instruments, ties
between chords, parts that share a name). Every file is written here, by hand.

Lesson: 01_representation
"""

from __future__ import annotations

import warnings

import pytest

from musegen_helpers import datasets
from musegen_helpers import dataset_build
from musegen_helpers.errors import MusicFileError
from musegen_helpers.midi_io import load
from musegen_helpers.music import Note, Piece
from musegen_helpers.score_io import (AbcTune, from_music21, list_tunes, load_score, parse_abc,
                                      read_abc_tunes)


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _quietly(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, [str(w.message) for w in caught]


# ---------------------------------------------------------------------------------------
# ABC: files of many tunes
# ---------------------------------------------------------------------------------------
TWO_TUNES = """%abc-2.1
X:1
T:The First Tune
M:4/4
L:1/4
K:C
C D E F|G4|]

X:2
T:The Second Tune
M:3/4
L:1/4
K:G
G A B|d3|]
"""


def test_a_file_of_two_tunes_gives_the_first_with_a_notice(tmp_path):
    path = _write(tmp_path, "two.abc", TWO_TUNES)
    with pytest.warns(UserWarning, match=r"two\.abc holds 2 tunes.*tune="):
        piece = load_score(path)
    assert piece.pitches == [60, 62, 64, 65, 67]
    assert piece.title == "The First Tune"
    assert (piece.time_signature, piece.key) == ((4, 4), "C major")


@pytest.mark.parametrize("choice", [2, "The Second Tune", "the second tune", "second"])
def test_a_tune_is_chosen_by_number_or_title(tmp_path, choice):
    path = _write(tmp_path, "two.abc", TWO_TUNES)
    piece, notices = _quietly(load_score, path, tune=choice)
    assert notices == []
    assert piece.pitches == [67, 69, 71, 74]
    assert piece.title == "The Second Tune"
    assert (piece.time_signature, piece.key) == ((3, 4), "G major")
    assert [b.length for b in piece.bars()] == [3.0, 3.0]


def test_load_forwards_the_tune_choice(tmp_path):
    path = _write(tmp_path, "two.abc", TWO_TUNES)
    assert load(path, tune=2).pitches == [67, 69, 71, 74]


def test_list_tunes_lists_number_title_meter_key(tmp_path):
    tunes = list_tunes(_write(tmp_path, "two.abc", TWO_TUNES))
    assert [(t.number, t.title, t.meter, t.key) for t in tunes] == [
        (1, "The First Tune", "4/4", "C"), (2, "The Second Tune", "3/4", "G")]


def test_an_unknown_tune_is_a_music_file_error_listing_the_tunes(tmp_path):
    path = _write(tmp_path, "two.abc", TWO_TUNES)
    with pytest.raises(MusicFileError, match=r"two\.abc.*no tune 7.*X:1 'The First Tune'"):
        load_score(path, tune=7)
    with pytest.raises(MusicFileError, match=r"two\.abc.*no tune 'Swallowtail'"):
        load_score(path, tune="Swallowtail")


def test_tune_choice_on_a_musicxml_file_is_refused(tmp_path):
    path = _write(tmp_path, "one.musicxml", _score([("P1", "Flute", _measure(FLUTE_NOTES, attributes=ATTR))]))
    with pytest.raises(MusicFileError, match=r"one\.musicxml.*tune="):
        load_score(path, tune=2)


def test_the_file_header_applies_to_every_tune():
    tunes = read_abc_tunes("%abc-2.1\nL:1/8\n\nX:1\nT:A\nK:C\nCD|]\n\nX:2\nT:B\nK:C\nEF|]\n")
    assert [t.header for t in tunes] == ["%abc-2.1\nL:1/8\n"] * 2
    part = parse_abc(tunes[1]).parts[0]
    assert [float(n.quarterLength) for n in part.recurse().notes] == [0.5, 0.5]  # L:1/8 from the header


# ---------------------------------------------------------------------------------------
# ABC 2.1 rules and fields changed mid-tune
# ---------------------------------------------------------------------------------------
def test_an_accidental_lasts_to_the_bar_line(tmp_path):
    path = _write(tmp_path, "acc.abc", "X:1\nT:Sharp\nM:4/4\nL:1/4\nK:C\n^F G F A|F4|]\n")
    assert load_score(path).pitches == [66, 67, 66, 69, 65]


def test_a_declared_older_version_is_respected():
    # ABC 1.x: an accidental applies to its own note only
    score = parse_abc("%abc-1.6\nX:1\nM:4/4\nL:1/4\nK:C\n^F G F A|]\n")
    assert [n.pitch.midi for n in score.recurse().notes] == [66, 67, 65, 69]


HEADER = "X:1\nT:Changes\nM:4/4\nL:1/4\nQ:1/4=120\nK:C\n"


@pytest.mark.parametrize("body", [
    "C D E F|[K:G] F G A B|]\n",
    "C D E F|\nK:G\nF G A B|]\n",
], ids=["inline", "field line"])
def test_a_key_change_mid_tune(tmp_path, body):
    piece = load_score(_write(tmp_path, "k.abc", HEADER + body))
    assert piece.pitches == [60, 62, 64, 65, 66, 67, 69, 71]  # F sharp in G
    assert piece.key == "C major" and piece.key_changes == [(4.0, "G major")]
    assert piece.key_at(5.0) == "G major"


@pytest.mark.parametrize("body", [
    "C D E F|[M:3/4] G A B|c d e|]\n",
    "C D E F|\nM:3/4\nG A B|c d e|]\n",
], ids=["inline", "field line"])
def test_a_meter_change_mid_tune(tmp_path, body):
    piece = load_score(_write(tmp_path, "m.abc", HEADER + body))
    assert piece.time_signature == (4, 4) and piece.time_signature_changes == [(4.0, (3, 4))]
    assert [(b.start, b.end, b.time_signature) for b in piece.bars()] == [
        (0.0, 4.0, (4, 4)), (4.0, 7.0, (3, 4)), (7.0, 10.0, (3, 4))]
    assert piece.bar_and_beat(8.0) == (3, 2.0)


@pytest.mark.parametrize("body", [
    "C D E F|[Q:1/4=90] G A B c|]\n",
    "C D E F|\nQ:1/4=90\nG A B c|]\n",
], ids=["inline", "field line"])
def test_a_tempo_change_mid_tune(tmp_path, body):
    piece = load_score(_write(tmp_path, "q.abc", HEADER + body))
    assert piece.tempo == 120.0 and piece.tempo_changes == [(4.0, 90.0)]
    assert piece.seconds_at(8.0) == pytest.approx(4 * 0.5 + 4 * 60 / 90)


@pytest.mark.parametrize("body", [
    "C D E F|[L:1/8] G A B c d e f g|]\n",
    "C D E F|\nL:1/8\nG A B c d e f g|]\n",
], ids=["inline", "field line"])
def test_a_unit_length_change_mid_tune(tmp_path, body):
    piece = load_score(_write(tmp_path, "l.abc", HEADER + body))
    assert [n.duration for n in piece.notes] == [1.0] * 4 + [0.5] * 8
    assert piece.end == 8.0 and piece.time_signature_changes == []


def test_an_overfull_bar_is_not_a_meter_change(tmp_path):
    # as in Essen's altdeu10 X:43: a 4/2 bar written with 10 quarter notes. music21 splits it and
    # gives the rest an invented 4/4; the tune writes no meter change, so the Piece has none
    text = "X:1\nT:Overfull\nM:4/2\nL:1/4\nK:C\nB2 | c2d2d2e2 | B3AG3FE2 | c2d2B2dc | c8 |]\n"
    piece = load_score(_write(tmp_path, "over.abc", text))
    assert piece.time_signature == (4, 2) and piece.time_signature_changes == []
    assert piece.pickup == 2.0


def test_an_abc_pickup(tmp_path):
    piece = load_score(_write(tmp_path, "up.abc", "X:1\nT:Up\nM:3/4\nL:1/4\nK:D\nA|d2 e|f3|]\n"))
    assert piece.pickup == 1.0
    assert piece.bar_and_beat(0.0) == (0, 3.0) and piece.bar_and_beat(1.0) == (1, 1.0)
    assert piece.pitches == [69, 74, 76, 78]


def test_the_dataset_builder_reads_abc_as_load_score_does(tmp_path):
    # one ABC reading for the package: the builder's notes equal load_score's, and both place an
    # inline key change (O'Neill's 0051-0100.abc X:67 writes "||[K:C]" in a tune in G)
    text = "X:5\nT:Shared\nM:4/4\nL:1/4\nK:G\n^c B F A|F4||[K:C] F G F c|]\n"
    task = {"kind": "abc", "collection": "oneill", "file": "test/shared.abc", "stem": "shared", "x": "5",
            "position": 0, "fields": read_abc_tunes(text)[0].fields, "text": text}
    built = dataset_build._process_abc(task)
    piece = load_score(_write(tmp_path, "shared.abc", text))
    assert built["pitch"] == piece.pitches == [73, 71, 66, 69, 66, 65, 67, 65, 72]
    assert built["start"] == [n.start for n in piece.notes]
    assert piece.key_changes == [(8.0, "C major")]


# ---------------------------------------------------------------------------------------
# MusicXML as notation programs write it
# ---------------------------------------------------------------------------------------
ATTR = ("<attributes><divisions>1</divisions><key><fifths>0</fifths></key>"
        "<time><beats>4</beats><beat-type>4</beat-type></time><clef><sign>G</sign><line>2</line></clef></attributes>")
DRUM_ATTR = ("<attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time>"
             "<clef><sign>percussion</sign></clef></attributes>")


def _pitch(step, octave, alter=0):
    alter_tag = f"<alter>{alter}</alter>" if alter else ""
    return f"<pitch><step>{step}</step>{alter_tag}<octave>{octave}</octave></pitch>"


def _note(pitch_xml, duration, *, chord=False, tie=None, instrument=None):
    ties = "".join(f'<tie type="{t}"/>' for t in (tie or ()))
    tied = "".join(f'<tied type="{t}"/>' for t in (tie or ()))
    kind = {1: "quarter", 2: "half", 4: "whole"}[duration]
    inst = f'<instrument id="{instrument}"/>' if instrument else ""
    return (f"<note>{'<chord/>' if chord else ''}{pitch_xml}<duration>{duration}</duration>{ties}{inst}"
            f"<type>{kind}</type>{f'<notations>{tied}</notations>' if tied else ''}</note>")


def _measure(notes, number=1, attributes=""):
    return f'<measure number="{number}">{attributes}{"".join(notes)}</measure>'


def _score(parts, part_list=None):
    heads = part_list or "".join(f'<score-part id="{pid}"><part-name>{name}</part-name></score-part>'
                                 for pid, name, _ in parts)
    body = "".join(f'<part id="{pid}">{measures}</part>' for pid, _, measures in parts)
    return (f'<?xml version="1.0" encoding="UTF-8"?><score-partwise version="4.0">'
            f"<part-list>{heads}</part-list>{body}</score-partwise>")


FLUTE_NOTES = [_note(_pitch("C", 5), 2), _note(_pitch("D", 5), 2)]
BASS_DRUM = "<unpitched><display-step>F</display-step><display-octave>4</display-octave></unpitched>"
SNARE = "<unpitched><display-step>C</display-step><display-octave>5</display-octave></unpitched>"


def _drum_file(tmp_path, drum_notes, instruments):
    score_instruments = "".join(f'<score-instrument id="P2-I{k}"><instrument-name>{name}</instrument-name>'
                                f"</score-instrument>" for k, name, _ in instruments)
    midi = "".join(f'<midi-instrument id="P2-I{k}"><midi-channel>10</midi-channel>'
                   + (f"<midi-unpitched>{u}</midi-unpitched>" if u else "") + "</midi-instrument>"
                   for k, _, u in instruments)
    part_list = ('<score-part id="P1"><part-name>Flute</part-name></score-part>'
                 f'<score-part id="P2"><part-name>Drum Set</part-name>{score_instruments}{midi}</score-part>')
    text = _score([("P1", "Flute", _measure(FLUTE_NOTES, attributes=ATTR)),
                   ("P2", "Drum Set", _measure(drum_notes, attributes=DRUM_ATTR))], part_list)
    return _write(tmp_path, "band.musicxml", text)


def test_a_drum_part_keeps_the_flute_and_its_drum_hits(tmp_path):
    path = _drum_file(tmp_path, [_note(BASS_DRUM, 1, instrument="P2-I37")] * 4, [(37, "Bass Drum 1", 37)])
    piece, notices = _quietly(load_score, path)
    assert notices == []
    assert piece.pitches == [72, 74]
    drums = [(n.pitch, n.start, n.duration, n.part) for n in piece.notes if n.is_drum]
    assert drums == [(36, float(beat), 1.0, "Drum Set") for beat in range(4)]  # midi-unpitched 37 = GM 36


def test_each_drum_of_a_drum_set_gets_its_own_key(tmp_path):
    # a drum set names one <midi-instrument> per drum and each note says which it is
    notes = [_note(BASS_DRUM, 1, instrument="P2-I37"), _note(SNARE, 1, instrument="P2-I39")] * 2
    path = _drum_file(tmp_path, notes, [(37, "Bass Drum 1", 37), (39, "Acoustic Snare", 39)])
    piece = load_score(path)
    assert [(n.pitch, n.start) for n in piece.notes if n.is_drum] == [(36, 0.0), (38, 1.0), (36, 2.0), (38, 3.0)]


def test_drums_without_a_midi_key_are_placed_by_staff_position_with_a_notice(tmp_path):
    notes = [_note(BASS_DRUM, 1), _note(SNARE, 1), _note(BASS_DRUM, 2)]
    path = _drum_file(tmp_path, notes, [(1, "Drums", None)])
    with pytest.warns(UserWarning, match=r"Drum Set.*without a MIDI drum key.*F4 -> 36 \(2 notes\)"):
        piece = load_score(path)
    assert [(n.pitch, n.start) for n in piece.notes if n.is_drum] == [(36, 0.0), (38, 1.0), (36, 2.0)]
    assert piece.pitches == [72, 74]


def test_a_transposing_instrument_sounds_at_concert_pitch(tmp_path):
    clarinet_attr = ATTR.replace("<fifths>0</fifths>", "<fifths>2</fifths>").replace(
        "</attributes>", "<transpose><diatonic>-1</diatonic><chromatic>-2</chromatic></transpose></attributes>")
    clarinet = _measure([_note(_pitch("D", 5), 2), _note(_pitch("F", 5, 1), 2)], attributes=clarinet_attr)
    flute = _measure([_note(_pitch("C", 5), 2), _note(_pitch("E", 5), 2)], attributes=ATTR)
    path = _write(tmp_path, "duet.musicxml", _score([("P1", "Clarinet in Bb", clarinet), ("P2", "Flute", flute)]))
    piece = load_score(path)
    assert piece.part("Clarinet in Bb").pitches == [72, 76]  # written D5 F#5 sound C5 E5
    assert piece.part("Flute").pitches == [72, 76]
    assert piece.key == "C major"


def test_a_tie_from_a_chord_note_to_the_next_chord_makes_one_note(tmp_path):
    m1 = _measure([_note(_pitch("C", 5), 2), _note(_pitch("E", 5), 2, chord=True, tie=["start"]),
                   _note(_pitch("E", 5), 2, tie=["stop", "start"]), _note(_pitch("G", 5), 2, chord=True)],
                  attributes=ATTR)
    m2 = _measure([_note(_pitch("E", 5), 4, tie=["stop"])], number=2)  # and on over the bar line
    piece = load_score(_write(tmp_path, "ties.musicxml", _score([("P1", "Piano", m1 + m2)])))
    assert [(n.pitch, n.start, n.duration) for n in piece.notes] == [(72, 0.0, 2.0), (76, 0.0, 8.0), (79, 2.0, 2.0)]


def test_parts_that_share_a_name_stay_apart(tmp_path):
    one = _measure([_note(_pitch("E", 5), 4)], attributes=ATTR)
    two = _measure([_note(_pitch("C", 5), 4)], attributes=ATTR)
    piece = load_score(_write(tmp_path, "strings.musicxml", _score([("P1", "Violin", one), ("P2", "Violin", two)])))
    assert piece.parts == ["Violin", "Violin 2"]
    assert piece.part("Violin").pitches == [76] and piece.part("Violin 2").pitches == [72]


def test_the_two_staves_of_a_piano_are_one_part(tmp_path):
    attr = ("<attributes><divisions>1</divisions><key><fifths>0</fifths></key><time><beats>4</beats>"
            "<beat-type>4</beat-type></time><staves>2</staves><clef number=\"1\"><sign>G</sign><line>2</line>"
            "</clef><clef number=\"2\"><sign>F</sign><line>4</line></clef></attributes>")
    right = _note(_pitch("C", 5), 4).replace("<type>", "<voice>1</voice><type>").replace("</note>", "<staff>1</staff></note>")
    left = _note(_pitch("C", 3), 4).replace("<type>", "<voice>5</voice><type>").replace("</note>", "<staff>2</staff></note>")
    measure = _measure([right, "<backup><duration>4</duration></backup>", left], attributes=attr)
    two = _measure([_note(_pitch("E", 5), 4)], attributes=ATTR)
    piece = load_score(_write(tmp_path, "piano.musicxml", _score([("P1", "Piano", measure), ("P2", "Piano", two)])))
    assert piece.parts == ["Piano 2", "Piano"]  # highest first; the second Piano part is another instrument
    assert piece.part("Piano").pitches == [48, 72] and piece.part("Piano 2").pitches == [76]


def test_musicxml_pickup_meter_and_key_changes(tmp_path):
    three = ATTR.replace("<beats>4</beats>", "<beats>3</beats>")
    measures = ('<measure number="0" implicit="yes">' + three + _note(_pitch("G", 4), 1) + "</measure>"
                + _measure([_note(_pitch("C", 5), 2), _note(_pitch("D", 5), 1)], number=1)
                + _measure(["<attributes><key><fifths>1</fifths></key><time><beats>4</beats>"
                            "<beat-type>4</beat-type></time></attributes>",
                            _note(_pitch("F", 5, 1), 4)], number=2)
                + _measure([_note(_pitch("G", 5), 4)], number=3))
    piece = load_score(_write(tmp_path, "changes.musicxml", _score([("P1", "Flute", measures)])))
    assert piece.pickup == 1.0 and piece.time_signature == (3, 4) and piece.key == "C major"
    assert piece.time_signature_changes == [(4.0, (4, 4))]
    assert piece.key_changes == [(4.0, "G major")]
    assert [(b.number, b.start, b.end) for b in piece.bars()] == [(0, 0.0, 1.0), (1, 1.0, 4.0), (2, 4.0, 8.0),
                                                                 (3, 8.0, 12.0)]


def test_a_time_signature_shared_by_several_measures_is_read_in_each():
    from music21 import meter, note, stream

    part = stream.Part()
    three, four = meter.TimeSignature("3/4"), meter.TimeSignature("4/4")
    for i, (ts, length) in enumerate([(three, 3), (four, 4), (three, 3)]):
        m = stream.Measure(number=i + 1)
        m.insert(0, ts)  # one object in two measures, as music21's own readers leave it
        m.append(note.Note("C4", quarterLength=length))
        part.append(m)
    piece = from_music21(part)
    assert piece.time_signature == (3, 4)
    assert piece.time_signature_changes == [(3.0, (4, 4)), (7.0, (3, 4))]


# ---------------------------------------------------------------------------------------
# Failures name the file
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, text", [
    ("broken.abc", "X:1\nT:Broken\nM:4/4\nK:C\n" + "[" * 3 + "\x00"),
    ("empty.abc", ""),
    ("notxml.musicxml", "<score-partwise><part id='P1'><measure><note><pitch>"),
])
def test_unreadable_scores_are_music_file_errors_naming_the_file(tmp_path, name, text):
    path = _write(tmp_path, name, text)
    with pytest.raises(MusicFileError) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load_score(path)
    assert name in str(info.value)


# ---------------------------------------------------------------------------------------
# Writing and reading back keeps the maps
# ---------------------------------------------------------------------------------------
def test_to_music21_and_back_keeps_pickup_meter_and_key_maps():
    from musegen_helpers.notation import to_music21

    notes = [Note(67, 0, 1)] + [Note(60 + i, 1 + i, 1) for i in range(3)] + \
        [Note(66, 4 + i, 1) for i in range(4)] + [Note(67, 8, 3)]
    piece = Piece(notes, time_signature=(3, 4), key="C major", pickup=1.0,
                  time_signature_changes=[(4.0, (4, 4)), (8.0, (3, 4))], key_changes=[(4.0, "G major")])
    back = from_music21(to_music21(piece))
    assert (back.pickup, back.time_signature, back.key) == (1.0, (3, 4), "C major")
    assert back.time_signature_changes == piece.time_signature_changes
    assert back.key_changes == piece.key_changes
    assert [(n.pitch, n.start, n.duration) for n in back.notes] == [(n.pitch, n.start, n.duration) for n in notes]


def test_abc_tune_is_a_named_tuple():
    tune = read_abc_tunes("X:3\nT:Solo\nM:6/8\nK:D\nDFA|]\n")[0]
    assert isinstance(tune, AbcTune) and tune.number == 3 and tune.abc.startswith("X:3")


def test_ties_in_two_voices_on_one_pitch_stay_in_their_voices():
    # both voices hold G4 over the bar line; bar 2 writes the lower voice first, so only the voice
    # tells which tie goes on where
    from music21 import note, stream, tie

    def tied(kind, length):
        n = note.Note("G4", quarterLength=length)
        n.tie = tie.Tie(kind)
        return n

    part = stream.Part()
    for number, (upper, lower) in enumerate([([note.Note("C5", quarterLength=2), tied("start", 2)],
                                              [note.Note("E4", quarterLength=3), tied("start", 1)]),
                                             ([tied("stop", 2), note.Rest(quarterLength=2)],
                                              [tied("stop", 1), note.Rest(quarterLength=3)])], start=1):
        m = stream.Measure(number=number)
        for vid, contents in (("2", lower), ("1", upper)) if number == 2 else (("1", upper), ("2", lower)):
            v = stream.Voice(id=vid)
            v.append(contents)
            m.insert(0, v)
        part.append(m)
    piece = from_music21(part)
    assert sorted((n.pitch, n.start, n.duration) for n in piece.notes) == [
        (64, 0.0, 3.0), (67, 2.0, 4.0), (67, 3.0, 2.0), (72, 0.0, 2.0)]
