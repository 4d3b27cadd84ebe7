"""Sound in any notebook: ``play(piece)`` returns an inline audio player.

The default synthesiser is pure numpy, so a fresh machine (or Colab) plays sound with no
system package: each pitched note is a sum of five harmonic partials (amplitudes 1/k) read
from a wavetable, shaped by an attack/decay/release envelope; drum notes are short noise
bursts. When ``pyfluidsynth`` and a system FluidSynth are installed, ``synth="fluidsynth"``
renders with the General MIDI soundfont that ships inside the ``pretty_midi`` package.

Why a wavetable: computing five ``sin`` calls per sample per note is the slow part of a
naive additive synth; one table look-up per sample gives the same waveform several times
faster, so a 16-bar melody sounds within a widget's blink (see ``benchmarks/bench_audio.py``).

Lesson: 00_welcome, 01_representation
"""

from __future__ import annotations

import io
import warnings
import wave
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import LimitError
from .music import Piece, pitch_to_frequency
from .representation import to_piece

__all__ = ["play", "render", "save_wav", "SAMPLE_RATE", "MAX_SECONDS"]

SAMPLE_RATE = 22_050  # Hz
#: Longest piece the synthesiser renders (seconds); raise with render(..., max_seconds=...).
MAX_SECONDS = 600.0
_TABLE_SIZE = 4096
_N_PARTIALS = 5
_ATTACK = 0.01   # seconds
_DECAY = 0.25    # seconds, from peak down to the sustain level
_SUSTAIN = 0.6   # fraction of peak
_RELEASE = 0.08  # seconds after the note ends
_fluidsynth_warned = False


def _wavetables() -> list[np.ndarray]:
    """One period of the harmonic waveform with 1..5 partials (fewer for high notes, to avoid aliasing)."""
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE * 2 * np.pi
    tables = [np.zeros(_TABLE_SIZE)]
    for n in range(1, _N_PARTIALS + 1):
        wave_ = sum(np.sin(k * phase) / k for k in range(1, n + 1))
        tables.append((wave_ / np.abs(wave_).max()).astype(np.float32))
    return tables


_TABLES = _wavetables()


def _envelope(n_on: int, n_total: int, sr: int) -> np.ndarray:
    """Attack–decay–sustain while the key is held (n_on samples), then release to silence."""
    t = np.arange(n_total, dtype=np.float32) / sr
    held = t < n_on / sr
    attack = np.minimum(t / _ATTACK, 1.0)
    decay = _SUSTAIN + (1 - _SUSTAIN) * np.exp(-np.maximum(t - _ATTACK, 0) / (_DECAY / 3))
    env = attack * decay
    level_at_off = env[min(n_on, n_total) - 1] if n_on > 0 else 0.0
    release = level_at_off * np.maximum(1 - (t - n_on / sr) / _RELEASE, 0)
    return np.where(held, env, release).astype(np.float32)


def render(x, sample_rate: int = SAMPLE_RATE, *, max_seconds: float = MAX_SECONDS, gain: float = 0.25,
           **to_piece_kwargs) -> np.ndarray:
    """Synthesise music to a mono ``float32`` waveform in [-1, 1] at ``sample_rate`` Hz.

    Loudness scales with velocity; overlapping notes add up (polyphony). If the mix would
    exceed ±1 it is scaled down as a whole, so nothing clips. Silence where there are no notes.

    Raises:
        LimitError: the piece is longer than ``max_seconds`` seconds.
    """
    piece = to_piece(x, **to_piece_kwargs)
    length_s = piece.duration_seconds + _RELEASE
    if length_s > max_seconds:
        raise LimitError(
            f"this piece lasts {length_s:.0f} s, over the synthesis limit of {max_seconds:.0f} s; "
            "play a slice (piece.slice(start, end)) or pass max_seconds= a larger number."
        )
    total = int(np.ceil(length_s * sample_rate)) + 1
    out = np.zeros(total, dtype=np.float32)
    rng = np.random.default_rng(0)  # drum noise: same sound every time
    envelopes: dict[tuple[int, int], np.ndarray] = {}
    for n in piece.notes:
        a = int(round(piece.seconds_at(n.start) * sample_rate))
        b = int(round(piece.seconds_at(n.end) * sample_rate))
        amp = gain * (n.velocity / 127.0) ** 1.5
        if n.is_drum:
            length = int(0.12 * sample_rate)
            seg = rng.standard_normal(length).astype(np.float32)
            seg *= np.exp(-np.arange(length) / (0.03 * sample_rate)).astype(np.float32)
            seg *= 0.5 * amp
        else:
            n_on = max(b - a, 1)
            length = n_on + int(_RELEASE * sample_rate)
            freq = pitch_to_frequency(n.pitch)
            partials = int(min(_N_PARTIALS, (sample_rate / 2) // freq))
            if partials < 1:
                continue  # above Nyquist: inaudible at this sample rate
            # fixed-point phase accumulator: 16 fractional bits, wraps with a bit mask
            step = int(freq * _TABLE_SIZE / sample_rate * 65536)
            index = ((np.arange(length, dtype=np.int64) * step) >> 16) & (_TABLE_SIZE - 1)
            env = envelopes.get((n_on, length))
            if env is None:  # many notes share a length: compute each envelope once
                env = envelopes[(n_on, length)] = _envelope(n_on, length, sample_rate)
            seg = _TABLES[partials][index] * env
            seg *= amp
        end = min(a + len(seg), total)
        out[a:end] += seg[: end - a]
    peak = float(np.abs(out).max()) if out.size else 0.0
    if peak > 0.99:
        out *= 0.99 / peak
    return out


def _render_fluidsynth(piece: Piece, sample_rate: int) -> np.ndarray | None:
    """Render with FluidSynth through pretty_midi; None when FluidSynth is unavailable."""
    global _fluidsynth_warned
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth)
        import pretty_midi
    except Exception:
        if not _fluidsynth_warned:
            print("FluidSynth is not installed; using the built-in numpy synthesiser instead.")
            _fluidsynth_warned = True
        return None
    import tempfile

    from .midi_io import save_midi

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "piece.mid"
        save_midi(piece, path)
        pm = pretty_midi.PrettyMIDI(str(path))
    try:
        audio = pm.fluidsynth(fs=sample_rate)
    except Exception as exc:
        if not _fluidsynth_warned:
            print(f"FluidSynth failed ({exc}); using the built-in numpy synthesiser instead.")
            _fluidsynth_warned = True
        return None
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return (audio / peak * 0.9 if peak > 0 else audio).astype(np.float32)


def play(x, *, synth: str = "numpy", sample_rate: int = SAMPLE_RATE, autoplay: bool = False,
         **kwargs):
    """An inline audio player for a Piece, a list of Notes, a piano roll or event tokens.

    Works in JupyterLab, VS Code and Colab (it is an ``IPython.display.Audio`` holding a WAV).

    Args:
        synth: ``"numpy"`` (default, no system packages) or ``"fluidsynth"`` (General MIDI
            soundfont; falls back to numpy with a one-line notice when unavailable).
        autoplay: start playing as soon as the cell runs.
        **kwargs: passed to :func:`musegen_helpers.representation.to_piece` (``steps_per_quarter``, ``lowest_pitch``, ``tempo``).
    """
    from IPython.display import Audio

    if synth not in ("numpy", "fluidsynth"):
        raise ValueError(f"unknown synth {synth!r}: use 'numpy' (built in) or 'fluidsynth'.")
    piece = to_piece(x, **kwargs)
    audio = None
    if synth == "fluidsynth":
        audio = _render_fluidsynth(piece, sample_rate)
    if audio is None:
        audio = render(piece, sample_rate)
    return Audio(data=_wav_bytes(audio, sample_rate), autoplay=autoplay)


def _wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def save_wav(x, path, *, overwrite: bool = False, sample_rate: int = SAMPLE_RATE, **kwargs) -> Path:
    """Render music and write a 16-bit mono WAV file; refuses to overwrite unless ``overwrite=True``."""
    from .files import atomic_write, check_can_write

    p = check_can_write(path, overwrite)
    data = _wav_bytes(render(x, sample_rate, **kwargs), sample_rate)
    atomic_write(p, lambda fh: fh.write(data))
    return p
