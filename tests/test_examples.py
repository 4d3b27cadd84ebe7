"""The learner's own files of lesson 01 (musegen_helpers.examples): each loads, sounds, engraves
and saves as a musician expects, with the notices a learner sees."""

import warnings

import numpy as np
import pytest

from musegen_helpers import load, save_midi
from musegen_helpers.audio import render
from musegen_helpers.examples import PLAYED_NOTES, PLAYED_TITLE, PLAYED_TPB, write_example_files
from musegen_helpers.score import musicxml_text, save_musicxml, score_svg
from musegen_helpers.score_io import list_tunes


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_example_files(tmp_path_factory.mktemp("my_music"))


def _load(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        piece = load(path, **kwargs)
    return piece, [str(w.message) for w in caught]


def test_played_file_keeps_title_meter_change_and_every_note(files):
    piece, notices = _load(files["played"])
    assert piece.title == PLAYED_TITLE  # UTF-8, not mojibake
    assert piece.time_signature == (4, 4) and piece.time_signature_changes == [(8.0, (3, 4))]
    melody = [n for n in piece.notes if not n.is_drum]
    assert [(n.pitch, n.start) for n in melody] == [(p, s / PLAYED_TPB) for p, s, _ in PLAYED_NOTES]
    assert melody[0].part == "Flöte"
    drums = [n for n in piece.notes if n.is_drum]
    assert [n.start for n in drums] == [float(b) for b in range(8)] and all(n.duration > 0 for n in drums)
    assert any("8 zero-length notes" in text for text in notices)


def test_played_file_sounds_with_its_drums(files):
    piece, _ = _load(files["played"])
    with_drums = render(piece)
    without = render(piece.with_notes([n for n in piece.notes if not n.is_drum]))
    n = min(len(with_drums), len(without))
    assert np.abs(with_drums[:n] - without[:n]).max() > 0.01  # the kicks are heard


def test_played_file_engraves_a_quantised_copy_and_leaves_the_piece_alone(files):
    piece, _ = _load(files["played"])
    before = list(piece.notes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pages = score_svg(piece)
    assert pages and "quantised" in " ".join(str(w.message) for w in caught)
    assert piece.notes == before
    xml = musicxml_text(piece)
    assert "<beats>3</beats>" in xml  # the 3/4 bars are barred in 3/4


def test_tunebook_reads_the_first_tune_and_says_how_many(files):
    tunes = list_tunes(files["tunebook"])
    assert [(t.number, t.title) for t in tunes] == [(1, "Morning Walk"), (2, "The Lantern Waltz")]
    first, notices = _load(files["tunebook"])
    assert first.title == "Morning Walk" and first.time_signature == (4, 4) and first.key == "D major"
    assert first.pickup == 1.0
    assert any("2 tunes" in text for text in notices)
    # ABC 2.1: an accidental lasts to the bar line; '=G' cancels it
    assert first.pitches[6:9] == [71, 68, 69] and first.pitches[20:24] == [71, 68, 69, 67]


def test_tunebook_second_tune_by_number_or_title_with_its_key_change(files):
    by_number, _ = _load(files["tunebook"], tune=2)
    by_title, _ = _load(files["tunebook"], tune="The Lantern Waltz")
    assert by_number.notes == by_title.notes
    assert by_number.time_signature == (3, 4) and by_number.key == "G major"
    assert by_number.key_changes == [(13.0, "E minor")]
    assert 70 in by_number.pitches  # the A sharp leading to B in E minor


def test_band_export_sounds_at_concert_pitch_with_its_drums(files):
    band, _ = _load(files["musicxml"])
    assert [n.pitch for n in band.notes if n.part == "Flute"][:2] == [72, 76]
    assert [n.pitch for n in band.notes if n.part == "Clarinet in B♭"][:2] == [60, 64]  # written D4, F#4
    assert band.key == "C major"
    drums = [(n.pitch, n.start) for n in band.notes if n.is_drum]
    assert drums == [(36, 0.0), (38, 1.0), (36, 2.0), (38, 3.0)]


@pytest.mark.parametrize("name", ["played", "tunebook", "musicxml"])
def test_each_file_saves_and_reloads_with_the_same_notes_meter_and_key(files, tmp_path, name):
    piece, _ = _load(files[name])
    path = save_midi(piece, tmp_path / f"{name}.mid")
    back, _ = _load(path)
    assert [(n.pitch, round(n.start, 3), round(n.duration, 3), n.is_drum) for n in back.notes] == \
        [(n.pitch, round(n.start, 3), round(n.duration, 3), n.is_drum) for n in piece.notes]
    assert back.time_signature_changes == piece.time_signature_changes
    assert back.key_changes == piece.key_changes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xml_path = save_musicxml(piece, tmp_path / f"{name}.musicxml")
    assert xml_path.stat().st_size > 0


def test_writing_the_examples_again_refuses_to_overwrite_when_asked(files):
    with pytest.raises(FileExistsError):
        write_example_files(files["played"].parent, overwrite=False)


def test_load_tells_a_midi_file_has_no_tunes(files):
    with pytest.raises(TypeError, match="holds one piece"):
        load(files["played"], tune=2)
