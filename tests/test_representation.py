"""Piano rolls, event tokens and chord symbols: every encoder against its decoder."""

import numpy as np
import pytest

from musegen_helpers.errors import LimitError
from musegen_helpers.music import Note, Piece, melody
from musegen_helpers.representation import (
    END, HOLD, REST, VOCAB_SIZE, chord_symbols, is_onset_token, melody_to_tokens, monophonic,
    piano_roll, piece_from_piano_roll, token_names, tokens_from_names, tokens_to_melody,
)


def _triples(piece):
    return [(n.pitch, n.start, n.duration) for n in piece.notes]


def _roundtrip(piece, spq=4):
    return tokens_to_melody(melody_to_tokens(piece, spq), spq)


# ---- tokens ---------------------------------------------------------------------------------
def test_token_constants():
    assert (HOLD, REST, END, VOCAB_SIZE) == (128, 129, 130, 131)


def test_tokens_of_a_known_melody():
    p = melody([60, None, 62, 62], [1, 0.5, 0.25, 0.25])
    assert melody_to_tokens(p).tolist() == [60, HOLD, HOLD, HOLD, REST, HOLD, 62, 62]
    assert melody_to_tokens(p, add_end=True).tolist()[-1] == END
    assert melody_to_tokens(melody([60, None, 62], 1.0), steps_per_quarter=2).tolist() == [
        60, HOLD, REST, HOLD, 62, HOLD]
    assert melody_to_tokens(p).dtype == np.int32


@pytest.mark.parametrize("pitches, durations", [
    ([60, 62, 64, 65], [1, 1, 1, 1]),                            # plain
    ([60, None, 64, None, 67], [0.5, 0.5, 1, 0.25, 1.75]),       # rests inside
    ([None, 60, 62], [1.5, 1, 1]),                               # leading rest
    ([67, 67, 67, 67], [0.25, 0.25, 0.5, 1]),                    # repeated notes stay separate
    ([72, None, None, 72], [3, 1, 1, 0.25]),                     # long rests, repeated note
])
def test_tokens_round_trip_keeps_melody(pitches, durations):
    p = melody(pitches, durations)
    back = _roundtrip(p)
    assert _triples(back) == _triples(monophonic(p))
    assert _triples(back) == _triples(p)  # already monophonic and on the grid: nothing is lost
    assert back.end == p.end


def test_decoders_keep_the_pickup_and_the_meter_map():
    # a one-quarter upbeat in 3/4, then a change to 2/4 at quarter 4: tokens and rolls carry no
    # bar lines, so the decoders take them and the decoded piece has the original's bars
    p = Piece([Note(67, 0, 1), Note(72, 1, 2), Note(71, 3, 1), Note(72, 4, 2)], time_signature=(3, 4),
              pickup=1.0, time_signature_changes=[(4.0, (2, 4))])
    context = dict(time_signature=p.time_signature, pickup=p.pickup,
                   time_signature_changes=p.time_signature_changes)
    back = tokens_to_melody(melody_to_tokens(p), **context)
    roll, onsets = piano_roll(p, onsets=True)
    from_roll = piece_from_piano_roll(roll, onsets=onsets, **context)
    for decoded in (back, from_roll):
        assert _triples(decoded) == _triples(p)
        assert decoded.bars() == p.bars()
        assert [b.start for b in decoded.bars()] == [0.0, 1.0, 4.0]
        assert decoded.bar_and_beat(0.0) == (0, 3.0)
    assert monophonic(p).bars() == p.bars()
    with pytest.raises(ValueError, match="pickup"):
        tokens_to_melody(melody_to_tokens(p), time_signature=(3, 4), pickup=3.0)


def test_tokens_keep_repeated_notes_apart():
    tokens = melody_to_tokens(melody([64, 64], 0.5))
    assert tokens.tolist() == [64, HOLD, 64, HOLD]
    assert len(tokens_to_melody(tokens).notes) == 2


def test_monophonic_keeps_the_top_note_and_cuts_at_the_next_onset(chorale):
    p = Piece([Note(48, 0, 4), Note(64, 0, 1), Note(67, 0, 1), Note(65, 1, 1), Note(60, 1.6, 0.3)])
    mono = monophonic(p)
    # 60 is snapped to the 16th grid first (1.6–1.9 -> 1.5–2.0), then 65 is cut where it starts
    assert _triples(mono) == [(67, 0.0, 1.0), (65, 1.0, 0.5), (60, 1.5, 0.5)]
    # the chorale's skyline round-trips through tokens
    assert _triples(_roundtrip(chorale)) == _triples(monophonic(chorale))
    assert max(sum(1 for m in monophonic(chorale).notes if m.start <= t < m.end)
               for t in np.arange(0, chorale.end, 0.25)) == 1


def test_tokens_leave_drums_out():
    p = Piece([Note(38, 0, 1, is_drum=True), Note(60, 1, 1)])
    assert melody_to_tokens(p).tolist() == [REST, HOLD, HOLD, HOLD, 60, HOLD, HOLD, HOLD]
    assert not any(t == 38 for t in melody_to_tokens(Piece([Note(38, 0, 1, is_drum=True)])))


def test_decoder_reads_leading_hold_as_silence_and_stops_at_end():
    p = tokens_to_melody([HOLD, HOLD, 60, HOLD, END, 62, HOLD])
    assert _triples(p) == [(60, 0.5, 0.5)]
    assert tokens_to_melody([]).notes == []


def test_decoder_rejects_tokens_outside_the_vocabulary():
    with pytest.raises(ValueError, match="token 131 at step 1"):
        tokens_to_melody([60, 131])
    with pytest.raises(ValueError, match="steps_per_quarter"):
        melody_to_tokens(melody([60]), steps_per_quarter=0)


def test_is_onset_token():
    tokens = np.array([60, HOLD, REST, HOLD, 0, 127, END])
    assert is_onset_token(tokens).tolist() == [True, False, True, False, True, True, False]


def test_token_names_and_back():
    tokens = np.array([60, HOLD, HOLD, REST, HOLD, 70, 0, 127, END])
    names = token_names(tokens)
    assert names == ["C4", "_", "_", "R", "_", "Bb4", "C-1", "G9", "|"]
    assert tokens_from_names(names).tolist() == tokens.tolist()
    assert tokens_from_names("C4 _ R E4 |").tolist() == [60, HOLD, REST, 64, END]
    assert token_names(range(VOCAB_SIZE)) == token_names(tokens_from_names(token_names(range(VOCAB_SIZE))))


def test_very_long_melody_is_refused():
    with pytest.raises(LimitError, match="slice"):
        melody_to_tokens(Piece([Note(60, 0, 600_000)]))


# ---- piano rolls ----------------------------------------------------------------------------
def test_piano_roll_of_a_known_piece():
    p = Piece([Note(60, 0, 1), Note(64, 0.5, 0.5), Note(38, 0, 1, is_drum=True)])
    roll = piano_roll(p, steps_per_quarter=2, lowest_pitch=60, highest_pitch=64)
    assert roll.shape == (5, 2) and roll.dtype == bool
    assert roll.tolist() == [[True, True], [False, False], [False, False], [False, False], [False, True]]
    # drums are left out unless asked for
    assert not piano_roll(p)[38].any()
    assert piano_roll(p, include_drums=True)[38].all()


def test_piano_roll_n_steps_pads_and_crops():
    p = melody([60, 62], 1.0)
    assert piano_roll(p, n_steps=16).shape == (128, 16)
    cropped = piano_roll(p, n_steps=2)
    assert cropped.shape == (128, 2) and cropped[60].all() and not cropped[62].any()


def test_piano_roll_round_trip_with_onsets_keeps_repeated_notes():
    p = melody([60, 60, 60, None, 64, 64], [0.5, 0.5, 1, 1, 0.25, 0.75])
    roll, onsets = piano_roll(p, onsets=True)
    back = piece_from_piano_roll(roll, onsets=onsets)
    assert _triples(back) == _triples(p)
    # without the onset roll, repeated notes merge into one long note — why onsets exist
    merged = piece_from_piano_roll(roll)
    assert _triples(merged) == [(60, 0.0, 2.0), (64, 3.0, 1.0)]


def test_piano_roll_round_trip_of_each_chorale_part(chorale):
    # one roll per voice: in a single roll, alto and tenor in unison would merge into one note
    for label in chorale.parts:
        voice = chorale.part(label)
        roll, onsets = piano_roll(voice, lowest_pitch=36, highest_pitch=84, onsets=True)
        back = piece_from_piano_roll(roll, lowest_pitch=36, onsets=onsets)
        assert _triples(back) == _triples(voice.quantize(0.25)), label


def test_piano_roll_merges_unisons_of_two_parts():
    p = Piece([Note(60, 0, 2, part="S"), Note(60, 1, 2, part="A")])
    roll, onsets = piano_roll(p, onsets=True)
    assert roll[60].tolist() == [True] * 12
    assert _triples(piece_from_piano_roll(roll, onsets=onsets)) == [(60, 0.0, 1.0), (60, 1.0, 2.0)]


def test_piano_roll_accepts_probabilities():
    roll = np.zeros((3, 4))
    roll[1, 1:3] = [0.9, 0.7]
    roll[2, 0] = 0.4  # under the threshold
    p = piece_from_piano_roll(roll, lowest_pitch=60)
    assert _triples(p) == [(61, 0.25, 0.5)]
    assert _triples(piece_from_piano_roll(roll, lowest_pitch=60, threshold=0.3))[0] == (62, 0.0, 0.25)


def test_piano_roll_rejects_bad_shapes_and_ranges():
    with pytest.raises(ValueError, match="2-D"):
        piece_from_piano_roll(np.zeros(5))
    with pytest.raises(ValueError, match="0–127"):
        piece_from_piano_roll(np.zeros((10, 4)), lowest_pitch=120)
    with pytest.raises(ValueError, match="lowest first"):
        piano_roll(melody([60]), lowest_pitch=70, highest_pitch=60)


# ---- chord symbols --------------------------------------------------------------------------
def test_chord_symbols_name_a_c_major_triad():
    p = Piece([Note(60, 0, 2), Note(64, 0, 2), Note(67, 0, 2), Note(67, 2, 1), Note(71, 2, 1),
               Note(62, 2, 1), Note(65, 2, 1)])
    symbols = chord_symbols(p)
    assert symbols[0] == (0.0, (0, 4, 7), "C-major triad")
    assert symbols[1][2] == "C-major triad"
    assert symbols[2][1] == (2, 5, 7, 11) and "dominant seventh" in symbols[2][2]
    assert [s[0] for s in symbols] == [0.0, 1.0, 2.0]


def test_chord_symbols_mark_silence_as_rest():
    p = melody([60, None, 64], 1.0)
    assert [name for _, _, name in chord_symbols(p)][1] == "rest"
    with pytest.raises(ValueError, match="positive"):
        chord_symbols(p, every=0)
