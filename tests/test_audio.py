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


# ---- the two timbres, and which one a piece gets ---------------------------------------------------
def _rms_db(x):
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20)


def _window(x, start_s, length_s=0.1):
    return x[int(start_s * SAMPLE_RATE):int((start_s + length_s) * SAMPLE_RATE)]


def _centroid(x):
    """Spectral centroid (Hz) of a stretch of samples: where the energy of its partials sits."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float((spectrum * np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)).sum() / spectrum.sum())


def _four_voices():
    from musegen_helpers.theory import voices_to_piece

    return voices_to_piece({"S": ["G4", "A4"], "A": ["E4", "F4"], "T": ["C4", "C4"], "B": ["C3", "F3"]},
                           duration=2.0)


def test_chorale_voices_are_sustained_and_melodies_plucked():
    assert set(audio.timbres_for(_four_voices()).values()) == {"sustained"}
    assert audio.timbres_for(melody([60, 62], 1.0)) == {None: "plucked"}
    named = Piece([Note(60, 0, 1, part=p) for p in ("Soprano", "Alto", "Tenor", "Bass")])
    assert set(audio.timbres_for(named).values()) == {"sustained"}
    band = Piece([Note(60, 0, 1, part="Flute"), Note(48, 0, 1, part="Piano"), Note(36, 0, 1, part="Bass"),
                  Note(38, 0, 1, part="Drumset", is_drum=True)])
    assert audio.timbres_for(band) == {"Flute": "sustained", "Piano": "plucked", "Bass": "plucked"}
    lone = Piece([Note(60, 0, 1, part="S")])  # one voice is not a chorale
    assert audio.timbres_for(lone) == {"S": "plucked"}
    assert set(audio.timbres_for(_four_voices(), "plucked").values()) == {"plucked"}
    assert audio.timbres_for(melody([60]), "sustained") == {None: "sustained"}


def test_timbre_argument_changes_the_sound_and_auto_follows_the_parts():
    chorale = _four_voices()
    assert np.array_equal(render(chorale), render(chorale, timbre="sustained"))
    assert not np.array_equal(render(chorale), render(chorale, timbre="plucked"))
    tune = melody([60, 64, 67], 1.0)
    assert np.array_equal(render(tune), render(tune, timbre="plucked"))
    assert play(tune).data == play(tune, timbre="auto").data  # old calls sound as before
    assert play(tune).data != play(tune, timbre="sustained").data


@pytest.mark.parametrize("call", ["render", "play", "save_wav"])
def test_unknown_timbre_is_refused_with_the_choices(call, tmp_path):
    target = tmp_path / "new" / "x.wav"
    calls = {"render": render, "play": play, "save_wav": lambda x, **kw: save_wav(x, target, **kw)}
    with pytest.raises(ValueError, match="unknown timbre 'piano'.*'plucked'.*'sustained'"):
        calls[call](melody([60]), timbre="piano")
    assert not target.parent.exists()  # refused before anything was written


def test_plucked_note_decays_faster_when_higher_and_loses_its_brightness():
    def held(pitch):
        return render(Piece([Note(pitch, 0, 4)], tempo=120), timbre="plucked")  # held 2 s

    low, high = held(48), held(72)
    drop_low = _rms_db(_window(low, 0.01)) - _rms_db(_window(low, 1.5))
    drop_high = _rms_db(_window(high, 0.01)) - _rms_db(_window(high, 1.5))
    assert drop_low > 5  # it decays while the key is still down, like a piano string
    assert drop_high > drop_low + 5  # and a high string dies away sooner
    assert np.abs(_window(low, 0, 0.003)).max() > 0  # fast attack: sounding within 3 ms
    c4 = held(60)
    bright, mellow = _centroid(_window(c4, 0.01, 0.1)), _centroid(_window(c4, 1.2, 0.1))
    assert bright > 1.3 * mellow  # upper partials fade before the fundamental


def test_sustained_note_holds_its_level_with_a_gentle_attack_and_release():
    x = render(Piece([Note(60, 0, 4)], tempo=120), timbre="sustained")  # held 2 s
    assert abs(_rms_db(_window(x, 0.3)) - _rms_db(_window(x, 1.8))) < 3  # an organ does not decay
    assert _rms_db(_window(x, 0, 0.01)) < _rms_db(_window(x, 0.3)) - 10  # no click at the onset
    assert len(x) / SAMPLE_RATE == pytest.approx(2 + audio._SUSTAINED_RELEASE, abs=3 / SAMPLE_RATE)
    assert np.abs(x[int(2.05 * SAMPLE_RATE):]).max() < np.abs(_window(x, 1.8)).max()  # fading out
    assert x[-1] == pytest.approx(0, abs=1e-3)
    assert _peak_frequency(x[: 2 * SAMPLE_RATE]) == pytest.approx(261.63, rel=0.01)  # in tune despite vibrato


def test_every_note_of_a_pitch_starts_alike_wherever_it_falls():
    # notes are slices of one per-pitch waveform: a repeated note sounds the same each time
    x = render(melody([64, None, 64], [1, 1, 1]), timbre="plucked")
    n = int(0.3 * SAMPLE_RATE)
    assert np.allclose(x[:n], x[SAMPLE_RATE:SAMPLE_RATE + n], atol=1e-6)
