"""Property tests: conversions keep what each representation can hold, and hostile files are safe.

Hypothesis example budgets (fixed, so the run time is predictable; ~15 s in all on 2 cores):

======================================================  ========
property                                                examples
======================================================  ========
MIDI round trip keeps every note                              50
MIDI round trip keeps meter and key changes                   40
music21 round trip keeps every note                           40
MusicXML file round trip keeps every note                     15
piano roll (with onsets) round trip keeps every note          50
tokens round trip equals the monophonic skyline               60
monophonic melodies survive tokens unchanged                  60
transposing up then down is the identity                     100
transposing out of range raises ValueError naming a note     100
quantising twice equals quantising once                      100
random bytes: a Piece or MusicFileError                      200
mutated valid file: a Piece or MusicFileError                200
valid but odd MIDI (mido-written) always loads               100
======================================================  ========

Plus, without hypothesis: every prefix of a valid file, the hand-built awkward files of
``tests/awkward_midi.py`` (each with its expected outcome), and a 100 000-note file loaded in
a separate process with limits on time and memory. Every load runs under a 10 s alarm, so a
hang fails the test instead of stalling the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import mido
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from musegen_helpers.errors import MusicFileError
from musegen_helpers.midi_io import from_music21, load_midi, load_score, save_midi, to_music21
from musegen_helpers.music import Note, Piece
from musegen_helpers.notation import part_name
from musegen_helpers.representation import (
    melody_to_tokens, monophonic, piano_roll, piece_from_piano_roll, tokens_to_melody,
)
from musegen_helpers.score import save_musicxml

sys.path.insert(0, str(Path(__file__).parent))
import awkward_midi  # noqa: E402
from awkward_midi import CASES, time_limit  # noqa: E402

LOAD_SECONDS = 10  # a loader that takes longer than this on a small file is hanging
SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


# ---- strategies ---------------------------------------------------------------------------
@st.composite
def pieces(draw, parts=("S", "A", "T"), pitches=(0, 127), max_notes=24, drums=False,
           same_pitch_overlaps=False, grids=(0.25, 1 / 3), pickups=False):
    """A random quantised Piece: notes on a grid of 1/4 or 1/3 of a quarter note.

    Unless ``same_pitch_overlaps``, two notes of one part never sound the same pitch at once —
    MIDI (one key per pitch per channel) and piano rolls cannot tell such notes apart.
    With ``pickups``, some pieces start with an incomplete bar (``Piece.pickup``).
    """
    grid = draw(st.sampled_from(grids))
    raw = draw(st.lists(st.tuples(
        st.integers(*pitches),                      # pitch
        st.integers(0, 48),                         # start, in grid steps
        st.integers(1, 16),                         # duration, in grid steps
        st.integers(1, 127),                        # velocity
        st.sampled_from(parts),                     # part
        st.booleans() if drums else st.just(False),  # drum?
    ), max_size=max_notes))
    notes, sounding = [], {}
    for pitch, start, length, velocity, part, is_drum in raw:
        key = (part, is_drum, pitch)
        if not same_pitch_overlaps and any(a < start + length and start < b for a, b in sounding.get(key, [])):
            continue
        sounding.setdefault(key, []).append((start, start + length))
        notes.append(Note(pitch, start * grid, length * grid, velocity, part, is_drum))
    tempo = draw(st.sampled_from([40, 72.5, 100, 120, 180, 300]))
    time_signature = draw(st.sampled_from([(4, 4), (3, 4), (6, 8), (2, 2), (5, 4)]))
    key = draw(st.sampled_from([None, "C major", "A minor", "Eb major", "F# minor"]))
    piece = Piece(notes, tempo=tempo, time_signature=time_signature, key=key)
    if pickups and draw(st.booleans()):
        steps_per_bar = round(piece.bar_length / grid)
        piece = piece.with_notes(piece.notes, pickup=draw(st.integers(1, steps_per_bar - 1)) * grid)
    piece.meta["grid"] = grid
    return piece


def _notes(piece, part=True, velocity=False, digits=6):
    return sorted((n.pitch, round(n.start, digits), round(n.duration, digits))
                  + ((n.part, n.is_drum) if part else ()) + ((n.velocity,) if velocity else ())
                  for n in piece.notes)


def _load_safely(path, **kwargs):
    """load_midi under an alarm; returns the Piece or the MusicFileError (anything else fails)."""
    with time_limit(LOAD_SECONDS), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return load_midi(path, **kwargs)
        except MusicFileError as exc:
            assert str(Path(path)) in str(exc)  # the message names the file
            return exc


# ---- round trips ------------------------------------------------------------------------------
@settings(max_examples=50, deadline=None, suppress_health_check=SLOW)
@given(piece=pieces(drums=True))
def test_midi_round_trip_keeps_every_note(piece, tmp_path_factory):
    path = save_midi(piece, tmp_path_factory.mktemp("midi") / "piece.mid")
    if piece.notes:
        back = load_midi(path)
    else:  # an empty piece loads as empty, with a warning
        with pytest.warns(UserWarning, match="no notes"):
            back = load_midi(path)
    # 480 ticks per quarter hold sixteenths and triplets exactly
    assert _notes(back, velocity=True) == _notes(piece, velocity=True)
    assert back.tempo == pytest.approx(piece.tempo, rel=1e-5)
    assert back.time_signature == piece.time_signature and back.key == piece.key


@st.composite
def meter_and_key_maps(draw, max_changes=4):
    """(opening meter, meter changes, opening key, key changes), every change on a bar line:
    each change comes 1–3 bars of the meter in force after the one before."""
    meters = [(4, 4), (3, 4), (6, 8), (2, 2), (5, 4), (7, 8), (3, 8)]
    keys = ["C major", "A minor", "Eb major", "F# minor", "G major", "Bb minor", "B major"]
    opening = draw(st.sampled_from(meters))
    at, current, ts_changes = 0.0, opening, []
    for bars, meter in draw(st.lists(st.tuples(st.integers(1, 3), st.sampled_from(meters)), max_size=max_changes)):
        at += bars * current[0] * 4 / current[1]
        if meter != current:
            ts_changes.append((at, meter))
            current = meter
    key = draw(st.sampled_from([None] + keys))
    positions = sorted({b for b, _ in ts_changes} | {float(q) for q in draw(st.lists(st.integers(1, 24), max_size=3))})
    key_changes, current_key = [], key
    for position in positions:
        new_key = draw(st.sampled_from(keys))
        if new_key != current_key:
            key_changes.append((position, new_key))
            current_key = new_key
    return opening, ts_changes, key, key_changes


@settings(max_examples=40, deadline=None, suppress_health_check=SLOW)
@given(piece=pieces(drums=True), maps=meter_and_key_maps())
def test_midi_round_trip_keeps_meter_and_key_changes(piece, maps, tmp_path_factory):
    opening, ts_changes, key, key_changes = maps
    piece = piece.with_notes(piece.notes, time_signature=opening, time_signature_changes=ts_changes,
                             key=key, key_changes=key_changes)
    assert piece.time_signature_changes == ts_changes and piece.key_changes == key_changes  # as drawn
    path = save_midi(piece, tmp_path_factory.mktemp("maps") / "piece.mid")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty piece warns that it has no notes
        back = load_midi(path)
    assert _notes(back, velocity=True) == _notes(piece, velocity=True)
    assert (back.time_signature, back.time_signature_changes) == (opening, ts_changes)
    assert (back.key, back.key_changes) == (key, key_changes)
    assert back.bars(40.0) == piece.bars(40.0)


@settings(max_examples=40, deadline=None)
@given(piece=pieces(parts=("S", "A"), same_pitch_overlaps=True, pickups=True))
def test_music21_round_trip_keeps_every_note(piece):
    back = from_music21(to_music21(piece))
    # overlapping notes of one part are voices of its staff; the score names part 'S' 'Soprano'
    assert _notes(back) == sorted((p, s, d, part_name(part), drum) for p, s, d, part, drum in _notes(piece))
    assert (back.time_signature, back.key, back.tempo) == (piece.time_signature, piece.key, piece.tempo)
    if piece.notes:
        assert back.pickup == pytest.approx(piece.pickup)


@settings(max_examples=30, deadline=None, suppress_health_check=SLOW)
@given(piece=pieces(parts=("S", "A"), max_notes=12), maps=meter_and_key_maps())
def test_music21_round_trip_keeps_meter_and_key_changes(piece, maps):
    opening, ts_changes, key, key_changes = maps
    piece = piece.with_notes(piece.notes, time_signature=opening, time_signature_changes=ts_changes,
                             key=key, key_changes=key_changes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = from_music21(to_music21(piece))
    assert _notes(back) == sorted((p, s, d, part_name(part), drum) for p, s, d, part, drum in _notes(piece))
    # the score runs to the end of its last bar (an empty piece has one bar); every change before it is kept
    end = piece.bars()[-1].end
    assert (back.time_signature, back.key) == (opening, key)
    assert back.time_signature_changes == [(at, ts) for at, ts in ts_changes if at < end - 1e-9]
    assert back.key_changes == [(at, k) for at, k in key_changes if at < end - 1e-9]


@settings(max_examples=15, deadline=None, suppress_health_check=SLOW)
@given(piece=pieces(parts=("S", "A"), max_notes=12, pickups=True))
def test_musicxml_file_round_trip_keeps_every_note(piece, tmp_path_factory):
    path = tmp_path_factory.mktemp("xml") / "piece.musicxml"
    save_musicxml(piece, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = load_score(path)
    assert _notes(back, part=False, digits=4) == _notes(piece, part=False, digits=4)


@settings(max_examples=50, deadline=None)
@given(piece=pieces(parts=("S",)))
def test_piano_roll_round_trip_keeps_every_note(piece):
    spq = round(1 / piece.meta["grid"])
    roll, onsets = piano_roll(piece, steps_per_quarter=spq, onsets=True)
    back = piece_from_piano_roll(roll, steps_per_quarter=spq, onsets=onsets)
    assert _notes(back, part=False) == _notes(piece, part=False)
    assert roll.shape == (128, round(piece.end * spq))


@settings(max_examples=60, deadline=None)
@given(piece=pieces())
def test_tokens_round_trip_equals_the_monophonic_skyline(piece):
    spq = round(1 / piece.meta["grid"])
    tokens = melody_to_tokens(piece, spq)
    mono = monophonic(piece, spq)
    assert _notes(tokens_to_melody(tokens, spq), part=False) == _notes(mono, part=False)
    assert melody_to_tokens(mono, spq).tolist() == tokens.tolist()  # the skyline is what was encoded
    # one token per step of the skyline (shorter than the piece when a long low note is hidden)
    assert len(tokens) == round(mono.end * spq)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 127)), st.integers(1, 12)), max_size=30),
       spq=st.sampled_from([1, 2, 3, 4, 6, 12]))
def test_monophonic_melodies_survive_tokens_unchanged(steps, spq):
    notes, t = [], 0
    for pitch, length in steps:  # pitch None = a rest
        if pitch is not None:
            notes.append(Note(pitch, t / spq, length / spq))
        t += length
    piece = Piece(notes)
    back = tokens_to_melody(melody_to_tokens(piece, spq), spq)
    assert _notes(back, part=False) == _notes(piece, part=False)


# ---- transformations ----------------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(piece=pieces(drums=True), semitones=st.integers(-127, 127))
def test_transposing_up_then_down_is_the_identity(piece, semitones):
    pitched = piece.pitches
    assume(all(0 <= p + semitones <= 127 for p in pitched))
    up = piece.transpose(semitones)
    assert up.transpose(-semitones) == piece
    assert sorted(up.pitches) == sorted(p + semitones for p in pitched)


@settings(max_examples=100, deadline=None)
@given(piece=pieces(), semitones=st.integers(-127, 127))
def test_transposing_out_of_range_names_a_note(piece, semitones):
    assume(any(not 0 <= p + semitones <= 127 for p in piece.pitches))
    with pytest.raises(ValueError, match=r"transposing [A-G][#b]?-?\d \(pitch \d+\)"):
        piece.transpose(semitones)


@settings(max_examples=100, deadline=None)
@given(notes=st.lists(st.tuples(st.integers(0, 127), st.floats(0, 64), st.floats(0.001, 16)), max_size=30),
       grid=st.sampled_from([0.25, 0.5, 1.0, 1 / 3, 1 / 12, 0.1, 0.125]))
def test_quantising_twice_equals_quantising_once(notes, grid):
    piece = Piece([Note(p, s, d) for p, s, d in notes])
    once = piece.quantize(grid)
    assert once.quantize(grid) == once
    for n in once.notes:
        assert abs(n.start / grid - round(n.start / grid)) < 1e-9 and n.duration >= grid - 1e-9


# ---- hostile files ----------------------------------------------------------------------------
MTHD = awkward_midi.header(1, 1)


@settings(max_examples=200, deadline=None, suppress_health_check=SLOW)
@given(data=st.binary(max_size=600), prefix=st.sampled_from([b"", b"MThd", MTHD, MTHD + b"MTrk"]))
def test_random_bytes_give_a_piece_or_music_file_error(data, prefix, tmp_path):
    path = tmp_path / "random.mid"
    path.write_bytes(prefix + data)
    result = _load_safely(path)
    assert isinstance(result, (Piece, MusicFileError))
    if not (prefix + data).startswith(b"MThd"):
        assert isinstance(result, MusicFileError)
        assert "not a MIDI file" in str(result) or "empty" in str(result)


@settings(max_examples=200, deadline=None, suppress_health_check=SLOW)
@given(changes=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 10_000)))
def test_mutated_valid_file_gives_a_piece_or_music_file_error(changes, cut, tmp_path):
    data = bytearray(awkward_midi.valid_example())
    for position, value in changes:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    path = tmp_path / "mutated.mid"
    path.write_bytes(bytes(data))
    result = _load_safely(path)
    assert isinstance(result, (Piece, MusicFileError))
    if isinstance(result, Piece):
        assert all(0 <= n.pitch <= 127 and n.duration > 0 for n in result.notes)


def test_every_prefix_of_a_valid_file_is_reported_as_broken(tmp_path):
    data = awkward_midi.valid_example()
    path = tmp_path / "cut.mid"
    for length in range(len(data)):
        path.write_bytes(data[:length])
        result = _load_safely(path)
        assert isinstance(result, MusicFileError), f"a file cut after {length} bytes loaded"
    path.write_bytes(data)
    assert len(_load_safely(path).notes) == 10


# Messages for valid-but-odd files, written by mido (so the bytes are always well-formed MIDI).
_channel_messages = st.one_of(
    st.builds(lambda c, n, v, t: mido.Message("note_on", channel=c, note=n, velocity=v, time=t),
              st.sampled_from([0, 1, 9, 15]), st.integers(0, 127), st.integers(0, 127), st.integers(0, 400)),
    st.builds(lambda c, n, t: mido.Message("note_off", channel=c, note=n, velocity=0, time=t),
              st.sampled_from([0, 1, 9, 15]), st.integers(0, 127), st.integers(0, 400)),
    st.builds(lambda v, t: mido.Message("control_change", control=64, value=v, time=t),
              st.integers(0, 127), st.integers(0, 100)),
    st.builds(lambda t: mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01], time=t), st.integers(0, 100)),
)
_meta_messages = st.one_of(
    st.builds(lambda us, t: mido.MetaMessage("set_tempo", tempo=us, time=t),
              st.integers(0, 0xFFFFFF), st.integers(0, 400)),
    st.builds(lambda n, d, t: mido.MetaMessage("time_signature", numerator=n, denominator=2 ** d, time=t),
              st.integers(1, 255), st.integers(0, 7), st.integers(0, 400)),
    st.builds(lambda k, t: mido.MetaMessage("key_signature", key=k, time=t),
              st.sampled_from(["C", "F#", "Bb", "Am", "Ebm", "Cb", "A#m"]), st.integers(0, 400)),
    st.builds(lambda s: mido.MetaMessage("track_name", name=s), st.text(max_size=10)),
)
_tracks = st.lists(st.lists(st.one_of(_channel_messages, _channel_messages, _meta_messages), max_size=40),
                   min_size=1, max_size=4)


@settings(max_examples=100, deadline=None, suppress_health_check=SLOW)
@given(tracks=_tracks, fmt=st.sampled_from([0, 1, 2]), tpb=st.sampled_from([1, 24, 96, 480, 32767]),
       semitones=st.integers(-60, 60))
def test_valid_but_odd_midi_always_loads(tracks, fmt, tpb, semitones, tmp_path):
    if fmt == 0:
        tracks = [sum(tracks, [])]
    mid = mido.MidiFile(type=fmt, ticks_per_beat=tpb)
    for messages in tracks:
        mid.tracks.append(mido.MidiTrack(messages))
    path = tmp_path / "odd.mid"
    try:
        mid.save(str(path))
    except (ValueError, UnicodeEncodeError):  # mido refuses to write, e.g., a track name outside latin-1
        assume(False)
    piece = _load_safely(path)
    assert isinstance(piece, Piece), piece  # the file is valid MIDI: it must load
    note_ons = [m for tr in tracks for m in tr if m.type == "note_on" and m.velocity > 0]
    assert sum(n.is_drum for n in piece.notes) <= sum(m.channel == 9 for m in note_ons)
    assert sum(not n.is_drum for n in piece.notes) <= sum(m.channel != 9 for m in note_ons)
    assert all(n.duration > 0 and 1 <= n.velocity <= 127 for n in piece.notes)
    assert 1 <= piece.tempo <= 1000
    # transposing either works or says which note falls off the keyboard
    try:
        moved = piece.transpose(semitones)
    except ValueError as exc:
        assert "outside MIDI's 0–127" in str(exc)
    else:
        assert moved.transpose(-semitones) == piece


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_awkward_midi_file(case, tmp_path):
    path = case.write(tmp_path)
    with time_limit(LOAD_SECONDS), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = load_midi(path)
        except MusicFileError as exc:
            result = exc
    if case.outcome == "error":
        assert isinstance(result, MusicFileError), f"{case.description}: expected an error, got {result!r}"
        assert path.name in str(result) and case.match in str(result)
    elif case.outcome == "any":
        assert isinstance(result, (Piece, MusicFileError))
    else:
        assert isinstance(result, Piece), f"{case.description}: {result}"
        no_notes_warning = any("no notes" in str(w.message) for w in caught)
        assert no_notes_warning == (case.outcome == "empty")
        if case.outcome == "empty":
            assert result.notes == []
        if case.check is not None:
            case.check(result)


_BIG_FILE_SCRIPT = textwrap.dedent("""
    import resource, sys, time
    sys.path.insert(0, sys.argv[1])
    import awkward_midi
    from musegen_helpers.midi_io import load_midi
    path = sys.argv[2]
    open(path, "wb").write(awkward_midi.many_notes(100_000))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    piece = load_midi(path)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(len(piece.notes), len(piece.parts), piece.end, (after - before) // 1024)
""")


def test_a_file_of_100000_notes_loads_within_time_and_memory(tmp_path):
    # a separate process: its peak memory is measurable, and a hang is killed by the timeout
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    result = subprocess.run(
        [sys.executable, "-c", _BIG_FILE_SCRIPT, str(Path(__file__).parent), str(tmp_path / "big.mid")],
        capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    n_notes, n_parts, end, extra_mb = result.stdout.split()
    assert (int(n_notes), int(n_parts), float(end)) == (100_000, 1, 25_000.0)
    assert int(extra_mb) < 500, f"loading a 600 kB MIDI file took {extra_mb} MB of memory"
