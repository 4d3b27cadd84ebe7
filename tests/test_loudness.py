"""One loudness across the course: every clip ``play`` returns is brought to the same gated RMS
(audio.TARGET_DBFS) with its peaks below audio.PEAK_LIMIT, whatever it holds — a dataset melody,
a Bach chorale, the dense random roll an untrained GAN plays, a single long note.
``python -m benchmarks audio`` prints the same numbers."""

import io
import wave

import numpy as np
import pytest

from musegen_helpers import audio, datasets
from musegen_helpers.audio import PEAK_LIMIT, SAMPLE_RATE, TARGET_DBFS, loudness_dbfs, normalize_loudness, play
from musegen_helpers.music import Note, Piece
from musegen_helpers.representation import piece_from_piano_roll

WINDOW_DB = 2.0  # every played clip within this many dB of every other


def _clips():
    roll = np.random.default_rng(0).random((48, 16)) > 0.5  # an untrained GAN's bar: half the cells on
    return {
        "dataset melody": datasets.load_melodies()[0],
        "Bach chorale": datasets.load_chorales()[0],
        "dense random roll": piece_from_piano_roll(roll, steps_per_quarter=4, lowest_pitch=36, tempo=120),
        "one long note": Piece([Note(60, 0, 8)], tempo=120),
        "one drum hit": Piece([Note(38, 0, 1, is_drum=True, velocity=100)]),  # needs the peak limiter
        "loud cluster": Piece([Note(p, 0, 4, velocity=127) for p in range(36, 96)]),
    }


def _played_samples(x, **kwargs):
    """What the learner hears: the WAV inside play()'s player, as floats in [-1, 1]."""
    with wave.open(io.BytesIO(play(x, **kwargs).data)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32767


def test_played_clips_share_one_loudness_and_none_clips():
    raw, played = {}, {}
    for name, clip in _clips().items():
        raw[name] = loudness_dbfs(audio.render(clip))
        samples = _played_samples(clip)
        played[name] = loudness_dbfs(samples)
        assert np.abs(samples).max() < 1.0, f"{name} clips"
        assert np.abs(samples).max() <= PEAK_LIMIT + 1 / 32767, f"{name} peaks over the limit"
    assert max(raw.values()) - min(raw.values()) > 15  # the raw mixes really differ ...
    assert max(played.values()) - min(played.values()) < WINDOW_DB, played  # ... what is heard does not
    assert all(abs(v - TARGET_DBFS) < WINDOW_DB for v in played.values()), played


def test_loudness_is_the_rms_of_the_sounding_part():
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    sine = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    assert loudness_dbfs(sine) == pytest.approx(-3.01, abs=0.05)  # full-scale sine: RMS 1/sqrt(2)
    assert loudness_dbfs(0.1 * sine) == pytest.approx(-23.01, abs=0.05)
    with_rests = np.concatenate([sine, np.zeros(3 * SAMPLE_RATE, np.float32), sine])
    # rests do not count (the blocks straddling a note's edges do, partly: a few tenths of a dB)
    assert loudness_dbfs(with_rests) == pytest.approx(-3.01, abs=0.5)
    assert loudness_dbfs(with_rests) > -4.0  # counting the rest (3 s of 7) would read -5.44 dBFS
    assert loudness_dbfs(np.zeros(SAMPLE_RATE)) == float("-inf")
    assert loudness_dbfs(sine[:1000]) == pytest.approx(-3.01, abs=0.1)  # shorter than one block


def test_limiter_only_touches_the_neighbourhood_of_a_peak():
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    x = (0.01 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    spike_at = int(1.5 * SAMPLE_RATE)
    x[spike_at] = 0.5  # one sample 34 dB above the tone
    out = normalize_loudness(x)
    assert np.abs(out).max() <= PEAK_LIMIT
    far = np.r_[0:spike_at - SAMPLE_RATE // 10, spike_at + SAMPLE_RATE // 10:len(x)]
    gain = out[far] / np.where(x[far] == 0, 1, x[far])
    assert np.allclose(gain[x[far] != 0], gain[x[far] != 0][0], rtol=1e-3)  # one gain away from the spike
    assert loudness_dbfs(out) == pytest.approx(TARGET_DBFS, abs=0.5)


def test_normalize_leaves_silence_and_refuses_a_bad_limit():
    assert np.array_equal(normalize_loudness(np.zeros(100, np.float32)), np.zeros(100))
    with pytest.raises(ValueError, match=r"peak_limit must be in \(0, 1\]"):
        normalize_loudness(np.ones(10), peak_limit=1.5)


def test_raw_play_and_save_wav_follow_the_normalize_switch(tmp_path):
    quiet = Piece([Note(60, 0, 2, velocity=20)])
    assert loudness_dbfs(_played_samples(quiet)) == pytest.approx(TARGET_DBFS, abs=0.2)
    assert loudness_dbfs(_played_samples(quiet, normalize=False)) < TARGET_DBFS - 15
    path = audio.save_wav(quiet, tmp_path / "quiet.wav")
    with wave.open(str(path)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32767
    assert loudness_dbfs(pcm) == pytest.approx(TARGET_DBFS, abs=0.2)  # the file sounds as play() does
