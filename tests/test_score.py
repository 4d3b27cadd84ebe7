"""Sheet music through verovio (musegen_helpers.score)."""

import re

import pytest

from musegen_helpers.errors import LimitError
from musegen_helpers.midi_io import load_score
from musegen_helpers.music import Note, Piece, melody
from musegen_helpers.notation import part_name
from musegen_helpers.score import musicxml_text, save_musicxml, score_svg, show_score

NOTE_GROUP = re.compile(r'<g\b[^>]*\bclass="note"')  # verovio draws one such group per notehead


def _noteheads(score) -> int:
    return len(NOTE_GROUP.findall(score.svg))


def _events(piece):
    return sorted((n.pitch, round(n.start, 4), round(n.duration, 4), n.part) for n in piece.notes)


def test_scale_shows_one_notehead_per_note(c_major_scale):
    score = show_score(c_major_scale)
    assert _noteheads(score) == 8
    assert score.svg.count("<svg") >= 1
    assert "<svg" in score._repr_html_()


def test_chord_shows_one_notehead_per_pitch():
    chord = Piece([Note(p, 0, 4) for p in (60, 64, 67, 72)])
    svg = show_score(chord).svg
    assert _noteheads(show_score(chord)) == 4
    assert svg.count('class="chord"') == 1


def test_chorale_excerpt_shows_every_note(chorale):
    # the chorale starts with a one-beat pickup: bars begin at 1, 5, 9...; take two whole bars
    excerpt = chorale.quantize(0.25).slice(1, 9)
    assert not any(n.start // 4 != (n.end - 1e-9) // 4 for n in excerpt.notes)  # no note crosses a bar line
    assert len(excerpt.parts) == 4
    assert _noteheads(show_score(excerpt)) == len(excerpt.notes) > 30


def test_note_crossing_a_bar_line_is_tied():
    # a half note on beat 4 is written as two tied noteheads
    svg = show_score(Piece([Note(60, 3, 2)])).svg
    assert len(NOTE_GROUP.findall(svg)) == 2
    assert 'class="tie"' in svg


def test_score_of_a_list_of_notes():
    assert _noteheads(show_score([Note(60, 0, 1), Note(62, 1, 1)])) == 2


def test_too_many_notes_raise_limit_error():
    long_piece = melody([60, 62, 64, 65] * 20, 0.25)
    with pytest.raises(LimitError, match="80 notes, over the score limit of 50"):
        show_score(long_piece, max_notes=50)
    assert len(score_svg(long_piece, max_notes=80)) >= 1


def test_title_is_printed_only_when_asked(c_major_scale):
    assert "C major scale" not in show_score(c_major_scale).svg
    assert "C major scale" in show_score(c_major_scale, title=True).svg


def test_musicxml_text_is_musicxml(c_major_scale):
    xml = musicxml_text(c_major_scale)
    assert "<score-partwise" in xml and xml.count("<note") == 8


def test_save_musicxml_reloads_with_the_same_notes(chorale, tmp_path):
    path = save_musicxml(chorale, tmp_path / "chorale.musicxml")
    back = load_score(path)
    assert _events(back) == _events(chorale)
    assert (back.key, back.time_signature) == (chorale.key, chorale.time_signature)


def test_save_musicxml_keeps_melody_and_chords(tmp_path):
    piece = Piece([Note(60, 0, 1.5, part="piano"), Note(62, 1.5, 0.5, part="piano"),
                   Note(64, 2, 4, part="piano")] + [Note(p, 6, 2, part="piano") for p in (55, 59, 62)])
    back = load_score(save_musicxml(piece, tmp_path / "p.xml"))
    assert _events(back) == _events(piece)  # the tied note across the bar comes back as one note


def test_tie_chain_on_a_natural_in_a_flat_key_comes_back_as_one_note(tmp_path):
    # A4 in E-flat major carries a natural sign; held from beat 4 over the bar line it is written
    # as three tied noteheads (1/16 + quarter + 1/16): reloaded, it is one note again
    piece = Piece([Note(69, 3.75, 1.5)], key="Eb major")
    back = load_score(save_musicxml(piece, tmp_path / "tied.musicxml"))
    assert [e[:3] for e in _events(back)] == [(69, 3.75, 1.5)]


def test_part_silent_during_the_pickup_stays_in_time(tmp_path):
    # soprano has a one-beat pickup; the bass enters on the first downbeat
    piece = Piece([Note(67, 0, 1, part="S"), Note(72, 1, 2, part="S"), Note(48, 1, 2, part="B")], pickup=1.0)
    back = load_score(save_musicxml(piece, tmp_path / "pickup.musicxml"))
    # the score names parts 'S' and 'B' Soprano and Bass
    assert _events(back) == [(p, s, d, part_name(part)) for p, s, d, part in _events(piece)]
    assert back.pickup == 1.0
