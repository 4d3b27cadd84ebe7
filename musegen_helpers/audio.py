"""Sound in any notebook: ``play(piece)`` returns an inline audio player.

The default synthesiser is pure numpy, so a fresh machine (or Colab) plays sound with no
system package. It has two timbres:

* ``"plucked"`` — a struck or plucked string, like a piano or a guitar: a 3 ms attack, then an
  exponential decay that is faster for higher notes (a time constant of 0.9 s at middle C,
  halving every two octaves), with upper partials that die away four times faster than the
  fundamental, so each note is bright when struck and mellow as it rings — the behaviour the
  Karplus–Strong plucked string shows (K. Karplus and A. Strong, "Digital synthesis of
  plucked-string and drum timbres", *Computer Music Journal* 7(2), 1983), made here by
  additive synthesis. Releasing the key damps the string in 80 ms. Melodies, piano rolls and
  keyboard textures use it.
* ``"sustained"`` — an organ or a choir: a gentle 60 ms attack, a held level while the key is
  down, a 150 ms release, two voices detuned by ±4 cents (a chorus) and a slow vibrato that
  fades in. Chorale voices use it.

``timbre="auto"`` (the default) picks per part: the named voices of a chorale (two or more parts
called S/A/T/B or Soprano/Alto/Tenor/Bass, as :func:`~musegen_helpers.datasets.load_chorales` and
:func:`~musegen_helpers.theory.voices_to_piece` label them) and parts named after a sustained
instrument (organ, flute, clarinet, strings, voice, choir ...) are ``"sustained"``; everything
else is ``"plucked"``. Pass ``timbre="plucked"`` or ``timbre="sustained"`` to :func:`play`,
:func:`render` or :func:`save_wav` to choose one for the whole piece. Drum notes are short noise
bursts in either.

Every clip :func:`play` returns (and :func:`save_wav` writes) is brought to one loudness,
:data:`TARGET_DBFS` of gated RMS (:func:`loudness_dbfs`), with peaks held below
:data:`PEAK_LIMIT` — so a one-note melody, a chorale and the noise of an untrained GAN all sound
equally loud and none clips. :func:`render` returns the raw mix (loudness follows velocity).

Speed: each distinct pitch's waveform is computed once per render (a wavetable read by a
fixed-point phase accumulator, times its envelope) and every note of that pitch is a slice of it,
so a 16-bar melody sounds within a widget's blink (see ``benchmarks/bench_audio.py``).

When ``pyfluidsynth`` and a system FluidSynth are installed, ``synth="fluidsynth"`` renders with
the General MIDI soundfont that ships inside the ``pretty_midi`` package.

Lesson: 00_welcome, 01_representation
"""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path

import numpy as np

from .errors import LimitError
from .music import Piece, pitch_to_frequency
from .representation import to_piece

__all__ = ["play", "render", "save_wav", "normalize_loudness", "loudness_dbfs", "timbres_for",
           "TIMBRES", "SAMPLE_RATE", "MAX_SECONDS", "TARGET_DBFS", "PEAK_LIMIT"]

SAMPLE_RATE = 22_050  # Hz
#: Longest piece the synthesiser renders (seconds); raise with render(..., max_seconds=...).
MAX_SECONDS = 600.0
#: The timbres of the built-in synthesiser; ``"auto"`` chooses one per part (see the module doc).
TIMBRES = ("plucked", "sustained")
#: Loudness every played clip is brought to: gated RMS in dB relative to full scale.
TARGET_DBFS = -18.0
#: Highest absolute sample value of a played clip (-1 dBFS): nothing reaches 1.0, nothing clips.
PEAK_LIMIT = 0.89

_TABLE_SIZE = 4096
_RELEASE = 0.08            # seconds: plucked string damped after the key is released
_SUSTAINED_RELEASE = 0.15  # seconds: organ/choir release
_PLUCK_ATTACK = 0.003      # seconds
_PLUCK_TAU_C4 = 0.9        # seconds: decay time constant of the fundamental at middle C
_PLUCK_TAU_RANGE = (0.12, 2.5)
_BRIGHT_FASTER = 4.0       # upper partials decay this many times faster than the body
_SUSTAINED_ATTACK = 0.06   # seconds
_DETUNE = 2 ** (4 / 1200)  # the two chorus voices: ±4 cents
_CHORUS_MIX = 0.4          # the second voice's amplitude: beats stay gentle (±3 dB), never cancel
_VIBRATO_HZ, _VIBRATO_DEPTH, _VIBRATO_FADE_IN = 5.2, 0.003, 0.4  # Hz, fraction of frequency, s
_SUSTAINED_LEVEL = 0.5     # a held organ note carries more energy than a decaying pluck
_fluidsynth_warned = False

# partial amplitudes (harmonic k = index + 1) of each timbre's components
_PLUCK_BODY = (1.0, 0.35, 0.12)
_PLUCK_BRIGHT = (0.0, 0.45, 0.35, 0.25, 0.18, 0.12, 0.08, 0.05)
_SUSTAINED = (1.0, 0.5, 0.33, 0.2, 0.12, 0.08)

#: words in a part's name that mean a sustained instrument (matched as whole words, any case)
_SUSTAINED_WORDS = ("organ", "harmonium", "accordion", "choir", "chorus", "voice", "vocals", "vox",
                    "flute", "flöte", "flauto", "piccolo", "recorder", "oboe", "clarinet", "bassoon",
                    "horn", "trumpet", "trombone", "tuba", "sax", "saxophone", "violin", "viola",
                    "cello", "violoncello", "contrabass", "strings", "string", "pad", "soprano",
                    "alto", "tenor", "baritone", "contralto", "mezzo")
#: chorale voice labels: sustained when a piece has two or more of them
_CHORALE_VOICES = {"s", "a", "t", "b", "soprano", "alto", "tenor", "bass", "sopran", "tenore", "basso"}


def _table(amplitudes: tuple[float, ...], n_partials: int) -> np.ndarray:
    """One period of a harmonic waveform: partial k has amplitude ``amplitudes[k-1]`` (k <= n_partials)."""
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE * 2 * np.pi
    wave_ = np.zeros(_TABLE_SIZE)
    for k, a in enumerate(amplitudes[:n_partials], start=1):
        wave_ += a * np.sin(k * phase)
    return wave_.astype(np.float32)


def _tables(amplitudes: tuple[float, ...]) -> list[np.ndarray]:
    """``tables[n]``: the waveform with its first n partials (fewer for high notes: no aliasing)."""
    return [_table(amplitudes, n) for n in range(len(amplitudes) + 1)]


_BODY_TABLES = _tables(_PLUCK_BODY)
_BRIGHT_TABLES = _tables(_PLUCK_BRIGHT)
_SUSTAINED_TABLES = _tables(_SUSTAINED)
_PLUCK_NORM = 1.0 / float(np.abs(_BODY_TABLES[-1] + _BRIGHT_TABLES[-1]).max())
_SUSTAINED_NORM = _SUSTAINED_LEVEL / float(np.abs(_SUSTAINED_TABLES[-1]).max())


def _pluck_tau(pitch: int) -> float:
    """Decay time constant (seconds) of a plucked note's fundamental: 0.9 s at C4, halving every 2 octaves."""
    return float(np.clip(_PLUCK_TAU_C4 * 2 ** (-(pitch - 60) / 24), *_PLUCK_TAU_RANGE))


def _partials(freq: float, sample_rate: int, most: int) -> int:
    return int(min(most, (sample_rate / 2) // freq))


def _plucked_wave(pitch: int, length: int, sample_rate: int) -> np.ndarray | None:
    """A plucked note of ``pitch`` held for ``length`` samples (before any release); None above Nyquist."""
    freq = pitch_to_frequency(pitch)
    n_body = _partials(freq, sample_rate, len(_PLUCK_BODY))
    if n_body < 1:
        return None
    n_bright = _partials(freq, sample_rate, len(_PLUCK_BRIGHT))
    step = int(freq * _TABLE_SIZE / sample_rate * 65536)  # fixed point: 16 fractional bits
    index = ((np.arange(length, dtype=np.int64) * step) >> 16) & (_TABLE_SIZE - 1)
    t = np.arange(length, dtype=np.float32) / np.float32(sample_rate)
    tau = _pluck_tau(pitch)
    body = np.exp(t * np.float32(-1 / tau))
    bright = np.exp(t * np.float32(-_BRIGHT_FASTER / tau))
    seg = _BODY_TABLES[n_body][index] * body + _BRIGHT_TABLES[n_bright][index] * bright
    attack = int(_PLUCK_ATTACK * sample_rate)
    if attack > 0:
        n = min(attack, length)
        seg[:n] *= np.arange(n, dtype=np.float32) / attack
    seg *= np.float32(_PLUCK_NORM)
    return seg


def _sustained_wave(pitch: int, length: int, sample_rate: int) -> np.ndarray | None:
    """An organ/choir note of ``pitch`` held for ``length`` samples; None above Nyquist."""
    freq = pitch_to_frequency(pitch)
    n = _partials(freq * _DETUNE, sample_rate, len(_SUSTAINED))
    if n < 1:
        return None
    t = np.arange(length) / sample_rate
    vibrato = _VIBRATO_DEPTH * np.minimum(t / _VIBRATO_FADE_IN, 1.0) * np.sin(2 * np.pi * _VIBRATO_HZ * t)
    cycles = np.cumsum(freq / sample_rate * (1.0 + vibrato))  # phase in periods, from the onset
    cycles -= cycles[0] if length else 0.0
    table = _SUSTAINED_TABLES[n]
    upper = ((cycles * (_DETUNE * _TABLE_SIZE)).astype(np.int64)) & (_TABLE_SIZE - 1)
    lower = ((cycles * (_TABLE_SIZE / _DETUNE)).astype(np.int64)) & (_TABLE_SIZE - 1)
    seg = table[upper] + np.float32(_CHORUS_MIX) * table[lower]
    attack = int(_SUSTAINED_ATTACK * sample_rate)
    if attack > 0:
        k = min(attack, length)
        seg[:k] *= (0.5 - 0.5 * np.cos(np.pi * np.arange(k) / attack)).astype(np.float32)  # raised cosine
    seg *= np.float32(_SUSTAINED_NORM / (1 + _CHORUS_MIX))
    return seg


_WAVES = {"plucked": (_plucked_wave, _RELEASE), "sustained": (_sustained_wave, _SUSTAINED_RELEASE)}


def _check_timbre(timbre: str) -> None:
    if timbre != "auto" and timbre not in TIMBRES:
        raise ValueError(f"unknown timbre {timbre!r}: use 'auto' (chorale voices sustained, the rest "
                         f"plucked), 'plucked' (piano/guitar-like) or 'sustained' (organ/choir-like).")


def timbres_for(piece: Piece, timbre: str = "auto") -> dict[str | None, str]:
    """The timbre each part of ``piece`` is played with: ``{part label: "plucked" | "sustained"}``.

    With ``timbre="auto"``: a part is ``"sustained"`` when the piece has two or more chorale voice
    parts (labelled S, A, T, B or Soprano, Alto, Tenor, Bass) and it is one of them, or when its
    name contains a sustained instrument's word (organ, flute, clarinet, strings, voice, choir ...);
    any other part, and notes without a part, are ``"plucked"``. Any other ``timbre`` applies to
    every part.

    Raises:
        ValueError: ``timbre`` is not ``"auto"``, ``"plucked"`` or ``"sustained"``.

    Lesson: 00_welcome
    """
    _check_timbre(timbre)
    parts = {n.part for n in piece.notes if not n.is_drum}
    if timbre != "auto":
        return {p: timbre for p in parts}
    voices = {p for p in parts if p is not None and str(p).strip().lower() in _CHORALE_VOICES}
    chosen = {}
    for p in parts:
        words = set(re.findall(r"\w+", str(p).lower())) if p is not None else set()
        sustained = (p in voices and len(voices) >= 2) or bool(words & set(_SUSTAINED_WORDS))
        chosen[p] = "sustained" if sustained else "plucked"
    return chosen


def render(x, sample_rate: int = SAMPLE_RATE, *, max_seconds: float = MAX_SECONDS, gain: float = 0.25,
           timbre: str = "auto", **to_piece_kwargs) -> np.ndarray:
    """Synthesise music to a mono ``float32`` waveform in [-1, 1] at ``sample_rate`` Hz.

    Loudness scales with velocity; overlapping notes add up (polyphony). If the mix would
    exceed ±1 it is scaled down as a whole, so nothing clips. Silence where there are no notes.
    The waveform lasts the piece's duration plus the longest release used (0.08 s plucked,
    0.15 s sustained). This is the raw mix; :func:`play` and :func:`save_wav` also bring it to
    the course's one loudness (:func:`normalize_loudness`).

    Args:
        timbre: ``"auto"`` (default: chorale voices and sustained instruments ``"sustained"``,
            everything else ``"plucked"``; see :func:`timbres_for`), ``"plucked"`` or ``"sustained"``.
        gain: amplitude of a velocity-127 note before any scaling.

    Raises:
        LimitError: the piece is longer than ``max_seconds`` seconds.
        ValueError: an unknown ``timbre``.
    """
    _check_timbre(timbre)
    piece = to_piece(x, **to_piece_kwargs)
    chosen = timbres_for(piece, timbre)
    release = max((_WAVES[t][1] for t in chosen.values()), default=_RELEASE)
    length_s = piece.duration_seconds + release
    if length_s > max_seconds:
        raise LimitError(
            f"this piece lasts {length_s:.0f} s, over the synthesis limit of {max_seconds:.0f} s; "
            "play a slice (piece.slice(start, end)) or pass max_seconds= a larger number."
        )
    total = int(np.ceil(length_s * sample_rate)) + 1
    out = np.zeros(total, dtype=np.float32)
    rng = np.random.default_rng(0)  # drum noise: same sound every time
    spans = []  # (note, first sample, samples held, timbre)
    longest: dict[tuple[int, str], int] = {}
    for n in piece.notes:
        a = int(round(piece.seconds_at(n.start) * sample_rate))
        b = int(round(piece.seconds_at(n.end) * sample_rate))
        kind = "drum" if n.is_drum else chosen[n.part]
        n_on = max(b - a, 1)
        spans.append((n, a, n_on, kind))
        if kind != "drum":
            need = n_on + int(_WAVES[kind][1] * sample_rate)
            longest[(n.pitch, kind)] = max(longest.get((n.pitch, kind), 0), need)
    # each pitch's waveform once, at the longest length any of its notes needs; notes are slices
    waves = {key: _WAVES[key[1]][0](key[0], length, sample_rate) for key, length in longest.items()}
    ramps: dict[int, np.ndarray] = {}
    for n, a, n_on, kind in spans:
        amp = gain * (n.velocity / 127.0) ** 1.5
        if kind == "drum":
            length = int(0.12 * sample_rate)
            seg = rng.standard_normal(length).astype(np.float32)
            seg *= np.exp(-np.arange(length) / (0.03 * sample_rate)).astype(np.float32)
            seg *= 0.5 * amp
        else:
            full = waves[(n.pitch, kind)]
            if full is None:
                continue  # above Nyquist: inaudible at this sample rate
            n_release = int(_WAVES[kind][1] * sample_rate)
            seg = full[: n_on + n_release] * np.float32(amp)
            ramp = ramps.get(n_release)
            if ramp is None:  # linear fade to silence after the key is released
                ramp = ramps[n_release] = (1 - np.arange(n_release, dtype=np.float32) / n_release)
            seg[n_on:] *= ramp[: len(seg) - n_on]
        end = min(a + len(seg), total)
        out[a:end] += seg[: end - a]
    peak = float(np.abs(out).max()) if out.size else 0.0
    if peak > 0.99:
        out *= 0.99 / peak
    return out


# ---- one loudness for every clip -----------------------------------------------------------------
_BLOCK_S, _HOP_S = 0.4, 0.1           # ITU-R BS.1770-4 gating blocks: 400 ms, 75 % overlap
_ABSOLUTE_GATE, _RELATIVE_GATE = -70.0, -10.0  # dB


def _gated_power(audio: np.ndarray, sample_rate: int) -> float:
    """Mean square of the sounding part: BS.1770-4's two-stage gating, without its K-weighting filter."""
    x = np.asarray(audio, dtype=np.float32)
    if x.size == 0:
        return 0.0
    hop = int(_HOP_S * sample_rate)
    per_block = int(round(_BLOCK_S / _HOP_S))  # a block is 4 hops
    n_hops = x.size // hop
    if n_hops < per_block:
        return float(np.mean(np.square(x, dtype=np.float64)))
    hops = x[: n_hops * hop].reshape(n_hops, hop)
    energy = np.einsum("ij,ij->i", hops, hops, dtype=np.float64)  # per 100 ms hop
    power = np.convolve(energy, np.ones(per_block), mode="valid") / (per_block * hop)
    power = power[power > 10 ** (_ABSOLUTE_GATE / 10)]
    if power.size == 0:
        return 0.0
    power = power[power > power.mean() * 10 ** (_RELATIVE_GATE / 10)]
    return float(power.mean())


def loudness_dbfs(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Loudness of a waveform: the RMS of its sounding part, in dB relative to full scale (dBFS).

    The sounding part is found as ITU-R BS.1770-4 does it: 400 ms blocks every 100 ms, dropping
    blocks quieter than -70 dBFS and then those more than 10 dB below the mean of the rest (so
    rests and a note's fading tail do not count); the filter that standard applies first
    (K-weighting) is left out. A full-scale sine reads -3 dBFS. Silence gives ``-inf``.

    Lesson: 00_welcome
    """
    power = _gated_power(audio, sample_rate)
    return 10 * np.log10(power) if power > 0 else float("-inf")


def normalize_loudness(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, *, target_dbfs: float = TARGET_DBFS,
                       peak_limit: float = PEAK_LIMIT) -> np.ndarray:
    """``audio`` brought to ``target_dbfs`` (:func:`loudness_dbfs`) with every sample within ±``peak_limit``.

    The gain that reaches the target is applied; where that would push a peak over the limit, a
    peak limiter turns the gain down around that peak only (12 ms blocks, smoothly), and the
    loudness is measured and corrected again. Silence comes back unchanged. Returns a new
    ``float32`` array of the same length.

    Raises:
        ValueError: ``peak_limit`` outside (0, 1].

    Lesson: 00_welcome
    """
    if not 0 < peak_limit <= 1:
        raise ValueError(f"peak_limit must be in (0, 1] (full scale is 1.0), got {peak_limit}.")
    out = np.asarray(audio, dtype=np.float32).copy()
    power = _gated_power(out, sample_rate)
    for _ in range(4):  # limiting lowers the loudness a little: measure and correct again
        if power <= 0:
            return out
        out *= np.float32(10 ** (target_dbfs / 20) / np.sqrt(power))
        if np.abs(out).max() <= peak_limit:
            return out  # the usual case: one gain, no limiting
        out = _limit_peaks(out, peak_limit)
        power = _gated_power(out, sample_rate)
        if abs(10 * np.log10(power) - target_dbfs) < 0.1:
            break
    return _limit_peaks(out, peak_limit)


def _limit_peaks(x: np.ndarray, limit: float, block: int = 256) -> np.ndarray:
    """Scale ``x`` down around its peaks so that ``|x| <= limit``, with a gain that moves smoothly.

    The gain each sample needs (``limit / |x|``, at most 1) is reduced to its minimum per block,
    each block takes the minimum of itself and its neighbours, and the gain is interpolated
    linearly between block centres: between two centres it never exceeds what either block needs.
    """
    mag = np.abs(x)
    if mag.size == 0 or mag.max() <= limit:
        return x
    n_blocks = -(-x.size // block)
    padded = np.ones(n_blocks * block, dtype=np.float32)
    padded[: x.size] = np.minimum(1.0, limit / np.maximum(mag, 1e-12))
    need = padded.reshape(n_blocks, block).min(axis=1)
    wide = need.copy()
    wide[1:] = np.minimum(wide[1:], need[:-1])
    wide[:-1] = np.minimum(wide[:-1], need[1:])
    centres = np.arange(n_blocks) * block + block / 2
    gain = np.interp(np.arange(x.size), centres, wide).astype(np.float32)
    return np.clip(x * gain, -limit, limit)  # the clip only catches float rounding


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
         timbre: str = "auto", normalize: bool = True, **kwargs):
    """An inline audio player for a Piece, a list of Notes, a piano roll or event tokens.

    Works in JupyterLab, VS Code and Colab (it is an ``IPython.display.Audio`` holding a WAV).
    Every clip is brought to one loudness (:data:`TARGET_DBFS`, peaks below :data:`PEAK_LIMIT`),
    so a single note, a chorale and a dense GAN piano roll play equally loud.

    Args:
        synth: ``"numpy"`` (default, no system packages) or ``"fluidsynth"`` (General MIDI
            soundfont; falls back to numpy with a one-line notice when unavailable).
        timbre: the numpy synth's sound: ``"auto"`` (default: chorale voices sustained like an
            organ, melodies and piano rolls plucked like a piano), ``"plucked"`` or ``"sustained"``.
        normalize: ``False`` plays the raw mix (:func:`render`), whose loudness follows the notes.
        autoplay: start playing as soon as the cell runs.
        **kwargs: passed to :func:`musegen_helpers.representation.to_piece` (``steps_per_quarter``, ``lowest_pitch``, ``tempo``).

    Raises:
        ValueError: an unknown ``synth`` or ``timbre``.
        TypeError: ``x`` is not something :func:`~musegen_helpers.representation.to_piece` reads.
    """
    from IPython.display import Audio

    if synth not in ("numpy", "fluidsynth"):
        raise ValueError(f"unknown synth {synth!r}: use 'numpy' (built in) or 'fluidsynth'.")
    _check_timbre(timbre)
    piece = to_piece(x, **kwargs)
    audio = None
    if synth == "fluidsynth":
        audio = _render_fluidsynth(piece, sample_rate)
    if audio is None:
        audio = render(piece, sample_rate, timbre=timbre)
    if normalize:
        audio = normalize_loudness(audio, sample_rate)
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


def save_wav(x, path, *, overwrite: bool = False, sample_rate: int = SAMPLE_RATE, timbre: str = "auto",
             normalize: bool = True, **kwargs) -> Path:
    """Render music and write a 16-bit mono WAV file; refuses to overwrite unless ``overwrite=True``.

    The file sounds as :func:`play` plays it: the same ``timbre`` choice and, unless
    ``normalize=False``, the same loudness (:func:`normalize_loudness`).

    Raises:
        FileExistsError: the file exists and ``overwrite`` is False.
        ValueError: an unknown ``timbre``.
    """
    from .files import atomic_write, check_can_write

    _check_timbre(timbre)  # before anything touches the disk
    p = check_can_write(path, overwrite)
    audio = render(x, sample_rate, timbre=timbre, **kwargs)
    if normalize:
        audio = normalize_loudness(audio, sample_rate)
    data = _wav_bytes(audio, sample_rate)
    atomic_write(p, lambda fh: fh.write(data))
    return p
