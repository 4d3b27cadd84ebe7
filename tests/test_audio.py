"""The built-in synthesiser and the inline player (musegen_helpers.audio)."""

import io
import sys
import wave

import numpy as np
import pytest

from musegen_helpers import audio
from musegen_helpers.audio import SAMPLE_RATE, play, render, save_wav
from musegen_helpers.errors import LimitError
from musegen_helpers.music import Note, Piece, melody, pitch_to_frequency
from musegen_helpers.representation import melody_to_tokens, piano_roll, to_piece

RELEASE = audio._RELEASE  # seconds a note rings on after it ends


def _peak_frequency(samples, sample_rate=SAMPLE_RATE):
    """Frequency (Hz) of the strongest component, refined by parabolic interpolation between bins."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    k = int(spectrum[1:].argmax()) + 1
    a, b, c = np.log(spectrum[k - 1:k + 2] + 1e-12)
    k_exact = k + 0.5 * (a - c) / (a - 2 * b + c)
    return k_exact * sample_rate / len(samples)


@pytest.mark.parametrize("pitch, hz", [(69, 440.0), (60, 261.63), (57, 220.0), (76, 659.26)])
def test_spectrum_peaks_at_the_note_frequency(pitch, hz):
    samples = render(Piece([Note(pitch, 0, 4)], tempo=120))  # two seconds
    assert pitch_to_frequency(pitch) == pytest.approx(hz, abs=0.01)
    assert _peak_frequency(samples) == pytest.approx(hz, rel=0.01)


def test_a_different_note_gives_a_different_peak():
    a4 = _peak_frequency(render(melody([69], 4.0)))
    bb4 = _peak_frequency(render(melody([70], 4.0)))
    assert bb4 / a4 == pytest.approx(2 ** (1 / 12), rel=0.005)  # one semitone apart


def test_silence_where_there_are_no_notes():
    # C4 for a quarter (0.5 s at 120 BPM), two quarters of rest, then D4
    samples = render(melody([60, None, 62], [1, 2, 1]))
    sr = SAMPLE_RATE
    ringing_until = int(np.ceil((0.5 + RELEASE) * sr)) + 1
    gap = samples[ringing_until:int(1.5 * sr)]
    assert len(gap) > 0.8 * sr
    assert np.all(gap == 0.0)  # exactly silent, not merely quiet
    assert np.abs(samples[: int(0.5 * sr)]).max() > 0.05
    assert np.abs(samples[int(1.5 * sr):]).max() > 0.05
    assert np.all(render(Piece([])) == 0.0)


def test_loud_dense_cluster_never_exceeds_one():
    cluster = Piece([Note(p, 0, 4, velocity=127) for p in range(36, 96)])
    samples = render(cluster)
    assert np.abs(samples).max() <= 1.0
    assert np.abs(samples).max() > 0.5  # scaled down as a whole, not silenced
    assert samples.dtype == np.float32


def test_louder_velocity_is_louder():
    soft = np.abs(render(Piece([Note(60, 0, 1, velocity=30)]))).max()
    loud = np.abs(render(Piece([Note(60, 0, 1, velocity=110)]))).max()
    assert loud > 3 * soft


@pytest.mark.parametrize("tempo", [60, 120, 200])
def test_length_matches_duration_at_tempo(tempo):
    piece = melody([60, 62, 64, 65], 1.0, tempo=tempo)
    samples = render(piece)
    expected_seconds = 4 * 60 / tempo + RELEASE
    assert len(samples) / SAMPLE_RATE == pytest.approx(expected_seconds, abs=3 / SAMPLE_RATE)


def test_length_follows_tempo_changes():
    piece = Piece([Note(60, 0, 4)], tempo=120, tempo_changes=[(2, 60)])  # 1 s + 2 s
    assert len(render(piece)) / SAMPLE_RATE == pytest.approx(3 + RELEASE, abs=3 / SAMPLE_RATE)
    assert len(render(piece, sample_rate=8000)) / 8000 == pytest.approx(3 + RELEASE, abs=3 / 8000)


def test_drums_make_sound():
    samples = render(Piece([Note(38, 0, 1, is_drum=True, velocity=100)]))
    assert np.abs(samples).max() > 0.01
    assert np.array_equal(samples, render(Piece([Note(38, 0, 1, is_drum=True, velocity=100)])))  # repeatable


def test_render_refuses_very_long_pieces():
    with pytest.raises(LimitError, match="max_seconds"):
        render(Piece([Note(60, 0, 4)], tempo=60), max_seconds=3)
    assert len(render(Piece([Note(60, 0, 4)], tempo=60), max_seconds=5)) > 0


def test_play_returns_an_audio_player_holding_wav():
    from IPython.display import Audio

    player = play(melody([60, 64, 67], 1.0))
    assert isinstance(player, Audio)
    data = player.data
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE)
        assert w.getnframes() == len(render(melody([60, 64, 67], 1.0)))


def test_play_rejects_unknown_synth():
    with pytest.raises(ValueError, match="unknown synth 'timidity'"):
        play(melody([60]), synth="timidity")


def test_fluidsynth_falls_back_to_numpy_with_a_notice(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # makes `import fluidsynth` fail
    monkeypatch.setattr(audio, "_fluidsynth_warned", False)
    piece = melody([60, 64], 1.0)
    player = play(piece, synth="fluidsynth")
    assert "numpy" in capsys.readouterr().out
    assert player.data == play(piece).data  # the same sound as the built-in synth
    play(piece, synth="fluidsynth")
    assert capsys.readouterr().out == ""  # the notice is shown once, not on every call


def test_save_wav_writes_a_wav_file(tmp_path):
    path = save_wav(melody([60, 62], 1.0), tmp_path / "tune.wav")
    with wave.open(str(path)) as w:
        assert w.getnframes() == len(render(melody([60, 62], 1.0)))


# ---- to_piece (representation.to_piece: what play, show_score, plots and metrics accept) ----------
def _triples(piece):
    return [(n.pitch, n.start, n.duration) for n in piece.notes]


def test_to_piece_accepts_what_learners_hold():
    p = melody([60, 62, 62, 65], [1, 0.5, 0.5, 2])
    assert to_piece(p) is p
    assert to_piece(p, tempo=80).tempo == 80
    assert _triples(to_piece(p.notes)) == _triples(p)
    assert _triples(to_piece(p.notes[0])) == [(60, 0.0, 1.0)]
    assert _triples(to_piece(melody_to_tokens(p))) == _triples(p)
    roll = piano_roll(p, lowest_pitch=60, highest_pitch=72)
    assert _triples(to_piece(roll, lowest_pitch=60)) == [(60, 0.0, 1.0), (62, 1.0, 1.0), (65, 2.0, 2.0)]
    assert to_piece([]).notes == []


@pytest.mark.parametrize("bad", ["C4 E4 G4", 3.5, {"pitch": 60}, np.zeros(4)])
def test_to_piece_rejects_other_things_with_a_clear_message(bad):
    with pytest.raises(TypeError, match="pass a Piece, a list of Notes, a piano roll"):
        to_piece(bad)
    with pytest.raises(TypeError):
        play(bad)
