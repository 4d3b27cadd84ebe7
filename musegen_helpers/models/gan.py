"""A small GAN over one-bar piano rolls of the Bach chorales.

What is here, in the order lesson 04 uses it:

* **data** — :func:`chorale_bars` cuts chorales into one-bar piano rolls on a sixteenth-note
  grid (16 steps per 4/4 bar), every piece moved to C major / A minor, 48 pitches C2–B5.
  Arrays have shape ``(bars, steps, pitches, 1)`` — the trailing 1 is the image "channel" a
  ``Conv2D`` expects — with values 0.0 or 1.0 (a note sounds, or not). Why {0, 1} and not
  [-1, 1]: the generator ends in a sigmoid, so its output reads as "the chance that this pitch
  sounds on this step", and turning it into notes is one threshold (see :func:`generate_bars`).
* **models** — :func:`build_generator` (Dense → Reshape → Conv2DTranspose stack → sigmoid),
  :func:`build_discriminator` (Conv2D stack → Dense, one logit), :class:`BarGAN` (DCGAN,
  Radford et al. 2016) and :class:`WGANGP` (Wasserstein GAN with gradient penalty,
  Gulrajani et al. 2017), both ``keras.Model`` subclasses that override ``train_step`` the
  way the keras-io examples ``dcgan_overriding_train_step.py`` and ``wgan_gp.py`` do.
* **training** — :func:`make_gan` builds and compiles one; :func:`train_gan` trains it with a
  progress bar and, every few epochs, a grid of generated bars, the loss curves and the
  quality numbers.
* **generation** — :func:`generate_bars`, :func:`binarize`, :func:`bars_to_piece`, latent points
  and walks (:func:`latent_points`, :func:`interpolate_latent`).
* **quality** — :func:`quality` decodes bars into Pieces and asks :mod:`musegen_helpers.metrics`
  for MuseGAN's numbers (used pitch classes, qualified notes, empty bars; Dong et al. 2018)
  plus unique fraction, diversity and polyphony; :func:`quality_table` puts sets side by side.
* **failure modes** — :data:`RECIPES` names the settings that make a GAN fail on purpose
  (a discriminator that wins, mode collapse) and the fixes.
* **the shipped model** — :func:`load_pretrained_generator`.

Elsewhere: the pictures (``plot_bars``, ``plot_training``) are in :mod:`musegen_helpers.plots`,
the latent-walk slider (``latent_walk_widget``) in :mod:`musegen_helpers.widgets`, the metrics
in :mod:`musegen_helpers.metrics`, saving and loading any model in :mod:`.saving`.

Units: a *step* is one sixteenth note (0.25 quarter notes); pitches are MIDI numbers, a bar's
row ``i`` is pitch ``lowest_pitch + i``.

Needs the TensorFlow backend of Keras 3 (``train_step`` uses ``tf.GradientTape``, as the
keras-io examples do).

Lesson: 04_gan
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Iterable

import numpy as np

import keras
from keras import layers, ops

from .. import metrics
from ..config import PRETRAINED_DIR, check_seed
from ..errors import LimitError
from ..music import Piece, key_signature_mode, parse_key
from ..representation import bar_stack, piano_roll, piece_from_piano_roll
from .saving import load_info, load_model

__all__ = [
    "STEPS_PER_BAR", "LOWEST_PITCH", "N_PITCHES", "PRETRAINED_GENERATOR", "EARLY_GENERATOR",
    "semitones_to_c", "bar_roll", "chorale_bars", "bar_to_piece", "bars_to_pieces", "bars_to_piece",
    "build_generator", "build_discriminator", "discriminator_loss", "generator_loss",
    "gradient_penalty", "BarGAN", "WGANGP", "make_gan", "RECIPES", "TrainingLog", "train_gan",
    "latent_dim_of", "latent_points", "interpolate_latent", "generate_bars", "binarize", "density_threshold",
    "quality", "quality_table", "load_pretrained_generator",
]

STEPS_PER_BAR = 16   # sixteenth notes in a 4/4 bar
LOWEST_PITCH = 36    # C2: lowest row; with 48 rows the top is B5 (83) — 99.9 % of chorale notes in C
N_PITCHES = 48
MAX_BARS = 20_000     # one generate_bars call: 20 000 bars of 16 x 48 chances are 61 MB of float32
PRETRAINED_GENERATOR = PRETRAINED_DIR / "gan_generator.keras"
#: The same training run stopped after its first epoch (64 steps): unsure, soft output, for
#: lesson 04's binarisation-threshold exercise.
EARLY_GENERATOR = PRETRAINED_DIR / "gan_generator_early.keras"

# Part labels that are sung voices; instrument parts that some chorales add (violin, oboe,
# continuo...) mostly double a voice, and a bar of more than four voices is not a chorale texture.
_VOICES = {"S", "A", "T", "B", "Soprano", "Alto", "Tenor", "Bass"}


def _require_tensorflow():
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"musegen's GAN trains with TensorFlow's GradientTape, but Keras is using the "
            f"{keras.backend.backend()!r} backend; set the environment variable KERAS_BACKEND=tensorflow "
            "before importing keras (or restart the kernel without it)."
        )
    import tensorflow as tf
    return tf


# =========================================================================================
# Data: one-bar piano rolls
# =========================================================================================
def semitones_to_c(key: str) -> int:
    """Semitones (-6..+5) that move a key to C major or A minor — the key signature with no
    sharps or flats. ``'G major' -> 5``, ``'E minor' -> 5``, ``'F major' -> -5``.

    Moving the shortest way keeps voices near their written range. Lesson: 04_gan
    """
    tonic, mode = parse_key(key)
    # a mode shares its signature with a major key: E minor ~ G major (3 semitones up), D dorian ~
    # C major (2 down); harmonic minor, pentatonic and blues are written with their plain signature
    to_major = {"major": 0, "minor": 3, "dorian": -2, "phrygian": -4, "lydian": -5,
                "mixolydian": -7, "locrian": 1}
    relative_major = (tonic + to_major.get(key_signature_mode(mode), 0)) % 12
    shift = (-relative_major) % 12
    return shift - 12 if shift > 5 else shift


def bar_roll(piece: Piece, start: float, steps_per_bar: int = STEPS_PER_BAR,
             lowest_pitch: int = LOWEST_PITCH, n_pitches: int = N_PITCHES) -> np.ndarray:
    """The piano roll of the 4/4 bar that begins at ``start`` (quarter notes), as a
    ``(steps, pitches)`` boolean array (time first, like an image's rows).

    A note tied over the bar line from the previous bar starts again at step 0: each bar is
    a picture on its own. Uses :func:`musegen_helpers.representation.piano_roll`.
    """
    bar_length = 4.0
    steps_per_quarter = steps_per_bar / bar_length
    if steps_per_quarter != int(steps_per_quarter):
        raise ValueError(f"steps_per_bar must be a multiple of 4 for a 4/4 bar, got {steps_per_bar}.")
    window = piece.slice(start, start + bar_length) if piece.notes else piece
    roll = piano_roll(window, steps_per_quarter=int(steps_per_quarter), lowest_pitch=lowest_pitch,
                      highest_pitch=lowest_pitch + n_pitches - 1, n_steps=steps_per_bar)
    return roll.T


def chorale_bars(chorales: Iterable[Piece], steps_per_bar: int = STEPS_PER_BAR, *,
                 lowest_pitch: int = LOWEST_PITCH, n_pitches: int = N_PITCHES,
                 keep_empty: bool = False, return_sources: bool = False):
    """One-bar piano rolls for a GAN: ``(bars, steps, pitches, 1)`` float32 of 0.0 / 1.0.

    Choices, and why:

    * **4/4 only.** Pieces in 3/4 (about 1 chorale in 10) and pieces that change meter are
      skipped. Padding a 3/4 bar to 16 steps would teach the generator that bars often end in a
      silent beat, and it could not know which bars are "3/4 bars". One shape, one meter.
    * **The piece's own bar lines.** Bars are :meth:`Piece.bars`: a chorale that starts with an
      upbeat (``piece.pickup``, quarter notes) has its first full bar at that position; the
      pickup itself and an unfinished last bar are left out.
    * **Common key.** Every piece moves to C major / A minor (:func:`semitones_to_c`), so the
      GAN learns one set of "in-key" pitches instead of twelve. Pieces with no key are skipped.
    * **Cropped range.** Rows are ``lowest_pitch .. lowest_pitch + n_pitches - 1`` (default
      C2–B5, 99.9 % of the notes after transposition); notes outside are dropped.
    * **Sung voices.** When a piece labels its four voices, extra instrument parts are dropped.
    * **No empty bars** unless ``keep_empty`` — a rest bar is not what we want the GAN to learn.

    Args:
        chorales: Pieces (e.g. ``musegen_helpers.datasets.load_chorales()``).
        steps_per_bar: 16 = sixteenth notes.
        return_sources: also return a list of ``(piece index, bar start in quarter notes,
            semitones transposed)`` per bar.

    Lesson: 04_gan
    """
    bars, sources = [], []
    for index, piece in enumerate(chorales):
        if not isinstance(piece, Piece):
            raise TypeError(f"chorale_bars needs Pieces; item {index} is a {type(piece).__name__}.")
        if tuple(piece.time_signature) != (4, 4) or piece.time_signature_changes:
            continue
        if piece.key is None:
            continue
        shift = semitones_to_c(piece.key)
        labels = {n.part for n in piece.notes}
        if labels & _VOICES and labels - _VOICES:
            piece = piece.with_notes([n for n in piece.notes if n.part in _VOICES])
        try:
            piece = piece.pitched().transpose(shift)
        except ValueError:
            continue
        for bar in piece.bars():
            if bar.number == 0 or bar.end > piece.end + 1e-9:  # the pickup, an unfinished last bar
                continue
            roll = bar_roll(piece, bar.start, steps_per_bar, lowest_pitch, n_pitches)
            if keep_empty or roll.any():
                bars.append(roll)
                sources.append((index, bar.start, shift))
    if not bars:
        raise ValueError("no 4/4 bars with a known key were found in these pieces; chorale_bars needs "
                         "Pieces in 4/4 with piece.key set (e.g. from datasets.load_chorales()).")
    out = np.stack(bars).astype(np.float32)[..., None]
    return (out, sources) if return_sources else out


def _as_rolls(bars, threshold: float = 0.5) -> np.ndarray:
    """Bars as a boolean array ``(n, steps, pitches)``; accepts one bar, a trailing channel
    axis, and probabilities (binarised at ``threshold``)."""
    b = bar_stack(bars)
    return b if b.dtype == bool else b > threshold


def bar_to_piece(bar, lowest_pitch: int = LOWEST_PITCH, steps_per_bar: int = STEPS_PER_BAR, *,
                 tempo: float = 80.0, threshold: float = 0.5) -> Piece:
    """One bar ``(steps, pitches[, 1])`` as a Piece you can play (via
    :func:`~musegen_helpers.representation.piece_from_piano_roll`). Lesson: 04_gan"""
    return bars_to_pieces(_as_rolls(bar, threshold)[:1], lowest_pitch, tempo=tempo, steps_per_bar=steps_per_bar)[0]


def bars_to_pieces(bars, lowest_pitch: int = LOWEST_PITCH, tempo: float = 80.0, *,
                   steps_per_bar: int = STEPS_PER_BAR, threshold: float = 0.5,
                   key: str | None = "C major") -> list[Piece]:
    """Each bar as its own one-bar Piece in 4/4 (an empty bar is a Piece without notes).

    Each run of "on" steps of one pitch is one note, decoded by
    :func:`~musegen_helpers.representation.piece_from_piano_roll`; a step is
    ``4 / steps_per_bar`` quarter notes.

    Args:
        bars: ``(n, steps, pitches[, 1])`` booleans or probabilities (binarised at ``threshold``).
        lowest_pitch: MIDI pitch of row 0.
        tempo: quarter notes per minute.

    Lesson: 04_gan
    """
    rolls = _as_rolls(bars, threshold)
    steps_per_quarter = steps_per_bar // 4
    if steps_per_quarter * 4 != steps_per_bar or rolls.shape[1] != steps_per_bar:
        raise ValueError(f"bars have {rolls.shape[1]} steps; expected steps_per_bar={steps_per_bar} "
                         "(a multiple of 4).")
    return [piece_from_piano_roll(roll.T, steps_per_quarter=steps_per_quarter, lowest_pitch=lowest_pitch,
                                  tempo=tempo, time_signature=(4, 4), key=key) for roll in rolls]


def bars_to_piece(bars, lowest_pitch: int = LOWEST_PITCH, tempo: float = 80.0, *,
                  steps_per_bar: int = STEPS_PER_BAR, threshold: float = 0.5,
                  key: str | None = "C major", title: str = "") -> Piece:
    """String bars one after another into a phrase (a Piece in 4/4).

    Each bar is decoded on its own (:func:`bars_to_pieces`), so a pitch held across a bar line is
    struck again — the same convention as :func:`chorale_bars`, which cut notes at bar lines.

    Args:
        bars: ``(n, steps, pitches[, 1])`` booleans or probabilities (binarised at ``threshold``).
        lowest_pitch: MIDI pitch of row 0.
        tempo: quarter notes per minute.

    Lesson: 04_gan
    """
    pieces = bars_to_pieces(bars, lowest_pitch, tempo, steps_per_bar=steps_per_bar, threshold=threshold, key=key)
    notes = [replace(n, start=n.start + 4.0 * i) for i, bar in enumerate(pieces) for n in bar.notes]
    return Piece(notes, tempo=tempo, time_signature=(4, 4), key=key, title=title)


# =========================================================================================
# Models
# =========================================================================================
def build_generator(latent_dim: int = 64, steps: int = STEPS_PER_BAR, pitches: int = N_PITCHES,
                    filters: int = 64, name: str = "generator") -> keras.Model:
    """DCGAN-style generator: noise ``(latent_dim,)`` → one bar ``(steps, pitches, 1)`` in [0, 1].

    Dense → Reshape to a small ``(steps/4, pitches/4)`` grid → two ``Conv2DTranspose`` layers that
    double time and pitch resolution → a ``Conv2D`` with a sigmoid: each cell is the chance that
    the pitch sounds on that step. Batch normalisation keeps the layers' scales in check
    (Radford et al. 2016).

    Lesson: 04_gan
    """
    if steps % 4 or pitches % 4:
        raise ValueError(f"steps ({steps}) and pitches ({pitches}) must be multiples of 4: the generator "
                         "doubles its grid twice.")
    f = int(filters)
    return keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense((steps // 4) * (pitches // 4) * 2 * f, use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.LeakyReLU(0.2),
        layers.Reshape((steps // 4, pitches // 4, 2 * f)),
        layers.Conv2DTranspose(f, (4, 4), strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.LeakyReLU(0.2),
        layers.Conv2DTranspose(f // 2, (4, 4), strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.LeakyReLU(0.2),
        # 12 pitches tall: one octave, so a chord shape can be drawn in one stroke
        layers.Conv2D(1, (4, 12), padding="same", activation="sigmoid"),
    ], name=name)


def build_discriminator(steps: int = STEPS_PER_BAR, pitches: int = N_PITCHES, filters: int = 64,
                        dropout: float = 0.3, name: str = "discriminator") -> keras.Model:
    """DCGAN-style discriminator (or WGAN critic): one bar ``(steps, pitches, 1)`` → one score.

    Two strided ``Conv2D`` layers with LeakyReLU, then Dense(1). The output is a *logit*
    (any real number; > 0 means "looks real"): the sigmoid lives inside the loss
    (:func:`discriminator_loss`), which is more accurate than a sigmoid layer followed by a
    logarithm. A WGAN critic uses the score as it is. No batch normalisation, so the gradient
    penalty of :class:`WGANGP` sees each bar on its own.

    Lesson: 04_gan
    """
    f = int(filters)
    return keras.Sequential([
        keras.Input((steps, pitches, 1)),
        layers.Conv2D(f // 2, (4, 12), strides=2, padding="same"),
        layers.LeakyReLU(0.2),
        layers.Conv2D(f, (4, 4), strides=2, padding="same"),
        layers.LeakyReLU(0.2),
        layers.Flatten(),
        layers.Dropout(dropout),
        layers.Dense(1),
    ], name=name)


def discriminator_loss(real_logits, fake_logits, label_smoothing: float = 0.0):
    """The DCGAN discriminator's loss: binary cross-entropy, real bars labelled 1, generated 0.

    ``BCE(label, logit) = softplus(logit) - label * logit`` (= ``-log sigmoid`` for label 1,
    ``-log(1 - sigmoid)`` for label 0). The two halves are averaged, so a discriminator that
    guesses (every logit 0) scores ``ln 2 = 0.693``, and one that always wins scores 0.

    One-sided label smoothing (Salimans et al. 2016) labels real bars ``1 - label_smoothing``
    (e.g. 0.9): the discriminator is never rewarded for being *certain*, which keeps its
    gradients useful to the generator.

    Lesson: 04_gan
    """
    real_label = 1.0 - label_smoothing
    real_loss = ops.mean(ops.softplus(real_logits) - real_label * real_logits)
    fake_loss = ops.mean(ops.softplus(fake_logits))
    return 0.5 * (real_loss + fake_loss)


def generator_loss(fake_logits):
    """The generator's (non-saturating) loss: cross-entropy of its bars labelled *real*,
    ``mean(softplus(-logit)) = -mean(log D(G(z)))``. Lesson: 04_gan"""
    return ops.mean(ops.softplus(-fake_logits))


def gradient_penalty(critic, real, fake, alpha=None):
    """WGAN-GP's penalty (Gulrajani et al. 2017): ``mean((||∇ critic(x̂)||₂ - 1)²)`` at points
    ``x̂ = real + alpha * (fake - real)`` on lines between real and generated bars.

    It keeps the critic's slope near 1 everywhere in between, the Lipschitz condition that
    makes the critic's score difference estimate the Wasserstein distance.

    Args:
        critic: a callable ``critic(x, training=True) -> scores (batch, 1)``.
        real, fake: batches of the same shape ``(batch, steps, pitches, 1)``.
        alpha: ``(batch, 1, 1, 1)`` mixing weights in [0, 1]; uniform random when None.

    Lesson: 04_gan
    """
    tf = _require_tensorflow()
    real = ops.convert_to_tensor(real, dtype="float32")
    fake = ops.convert_to_tensor(fake, dtype="float32")
    if alpha is None:
        alpha = keras.random.uniform((ops.shape(real)[0],) + (1,) * (len(real.shape) - 1))
    mixed = real + ops.convert_to_tensor(alpha, dtype="float32") * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = critic(mixed, training=True)
    grads = tape.gradient(scores, mixed)
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=tuple(range(1, len(grads.shape)))) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


class BarGAN(keras.Model):
    """A DCGAN for piano-roll bars: ``fit`` alternates one discriminator step and one generator
    step per batch.

    Args:
        generator, discriminator: from :func:`build_generator` / :func:`build_discriminator`.
        latent_dim: length of the noise vector the generator reads.
        label_smoothing: one-sided smoothing of the real labels (0 = none, 0.1 = label 0.9).
        seed: seeds the noise drawn during training.

    Metrics shown while training: ``d_loss``, ``g_loss`` and the discriminator's mean belief
    that real bars (``real_score``) and generated bars (``fake_score``) are real, in [0, 1].

    Lesson: 04_gan
    """

    def __init__(self, generator, discriminator, latent_dim: int, label_smoothing: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= label_smoothing < 0.5:
            raise ValueError(f"label_smoothing must be in [0, 0.5) (0.1 is usual), got {label_smoothing}.")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.label_smoothing = float(label_smoothing)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_score_tracker = keras.metrics.Mean(name="real_score")
        self.fake_score_tracker = keras.metrics.Mean(name="fake_score")

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.real_score_tracker, self.fake_score_tracker]

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def _noise(self, batch_size):
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def train_step(self, data):
        tf = _require_tensorflow()
        real = data[0] if isinstance(data, (tuple, list)) else data
        batch_size = ops.shape(real)[0]

        # 1. the discriminator learns to tell real bars (label 1) from generated ones (label 0)
        fake = self.generator(self._noise(batch_size), training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits, self.label_smoothing)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        # 2. the generator learns to make the discriminator call its bars real
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(self._noise(batch_size), training=True),
                                             training=True)
            g_loss = generator_loss(fake_logits)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.real_score_tracker.update_state(ops.mean(ops.sigmoid(real_logits)))
        self.fake_score_tracker.update_state(ops.mean(ops.sigmoid(fake_logits)))
        return {m.name: m.result() for m in self.metrics}


class WGANGP(keras.Model):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017).

    The critic gives a score (no sigmoid); it trains ``n_critic`` times per generator step to
    widen ``mean(score(real)) - mean(score(fake))`` — an estimate of how far apart the two sets
    of bars are — while :func:`gradient_penalty` keeps its slope near 1. The generator learns to
    raise its bars' scores. The distance estimate gives a useful gradient even when the critic
    tells the sets apart perfectly, which is where a DCGAN's generator stops learning.

    Metrics: ``d_loss`` (critic loss), ``g_loss``, ``w_distance`` (the critic's distance
    estimate; falls as the generator improves) and ``gp`` (the penalty).

    Lesson: 04_gan
    """

    def __init__(self, generator, critic, latent_dim: int, n_critic: int = 5, gp_weight: float = 10.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if int(n_critic) < 1:
            raise ValueError(f"n_critic must be at least 1 (5 is usual), got {n_critic}.")
        self.generator = generator
        self.discriminator = critic
        self.latent_dim = int(latent_dim)
        self.n_critic = int(n_critic)
        self.gp_weight = float(gp_weight)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.w_tracker = keras.metrics.Mean(name="w_distance")
        self.gp_tracker = keras.metrics.Mean(name="gp")

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.w_tracker, self.gp_tracker]

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def _noise(self, batch_size):
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def train_step(self, data):
        tf = _require_tensorflow()
        real = data[0] if isinstance(data, (tuple, list)) else data
        batch_size = ops.shape(real)[0]
        critic = self.discriminator
        # the critic trains n_critic times on this batch of real bars (as keras-io's wgan_gp does)
        for _ in range(self.n_critic):
            fake = self.generator(self._noise(batch_size), training=True)
            with tf.GradientTape() as tape:
                distance = ops.mean(critic(real, training=True)) - ops.mean(critic(fake, training=True))
                penalty = gradient_penalty(critic, real, fake,
                                           keras.random.uniform((batch_size, 1, 1, 1), seed=self.seed_generator))
                d_loss = -distance + self.gp_weight * penalty
            grads = tape.gradient(d_loss, critic.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, critic.trainable_weights))

        with tf.GradientTape() as tape:
            g_loss = -ops.mean(critic(self.generator(self._noise(batch_size), training=True), training=True))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.w_tracker.update_state(distance)
        self.gp_tracker.update_state(penalty)
        return {m.name: m.result() for m in self.metrics}


#: Named settings for :func:`make_gan` — the healthy ones and the ones that fail on purpose.
#: Lesson 04 trains each for the same number of epochs and compares the numbers.
RECIPES: dict[str, dict] = {
    # Radford et al.'s DCGAN settings: Adam, learning rate 2e-4, beta_1 = 0.5
    "dcgan": dict(kind="dcgan", d_learning_rate=2e-4, g_learning_rate=2e-4),
    # the discriminator learns 20x faster than the generator, which can barely move:
    # d_loss -> 0, real_score -> 1, fake_score -> 0, and the generator's gradient vanishes
    "winning_discriminator": dict(kind="dcgan", d_learning_rate=1e-3, g_learning_rate=5e-5),
    # a weak discriminator and a generator that leaps (learning rate 10x): the generator finds
    # a few bars the discriminator likes and every noise vector maps to them
    "mode_collapse": dict(kind="dcgan", d_learning_rate=5e-5, g_learning_rate=2e-3),
    # fixes
    "label_smoothing": dict(kind="dcgan", d_learning_rate=2e-4, g_learning_rate=2e-4, label_smoothing=0.1),
    "balanced_rates": dict(kind="dcgan", d_learning_rate=1e-4, g_learning_rate=4e-4, label_smoothing=0.1),
    "wgan_gp": dict(kind="wgan-gp", d_learning_rate=2e-4, g_learning_rate=2e-4, n_critic=5, gp_weight=10.0),
}


def make_gan(kind: str = "dcgan", *, recipe: str | None = None, latent_dim: int = 64,
             steps: int = STEPS_PER_BAR, pitches: int = N_PITCHES, filters: int = 64,
             d_learning_rate: float = 2e-4, g_learning_rate: float = 2e-4,
             label_smoothing: float = 0.0, n_critic: int = 5, gp_weight: float = 10.0,
             dropout: float = 0.3, seed: int = 0):
    """Build and compile a GAN for bars ``(steps, pitches, 1)``.

    Args:
        kind: ``'dcgan'`` (:class:`BarGAN`) or ``'wgan-gp'`` (:class:`WGANGP`).
        recipe: a name from :data:`RECIPES`; its settings replace the arguments above.
        d_learning_rate, g_learning_rate: Adam learning rates of discriminator and generator.
        label_smoothing: DCGAN only, one-sided (0.1 labels real bars 0.9).
        n_critic, gp_weight: WGAN-GP only.
        seed: seeds the weights and the training noise: the same seed gives the same model.

    Adam with ``beta_1=0.5`` (DCGAN) or ``beta_1=0.5, beta_2=0.9`` (WGAN-GP), as in the papers.

    Lesson: 04_gan
    """
    if recipe is not None:
        if recipe not in RECIPES:
            raise ValueError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}.")
        settings = dict(RECIPES[recipe])
        kind = settings.pop("kind")
        d_learning_rate = settings.get("d_learning_rate", d_learning_rate)
        g_learning_rate = settings.get("g_learning_rate", g_learning_rate)
        label_smoothing = settings.get("label_smoothing", label_smoothing)
        n_critic = settings.get("n_critic", n_critic)
        gp_weight = settings.get("gp_weight", gp_weight)
    _require_tensorflow()
    keras.utils.set_random_seed(int(seed))
    generator = build_generator(latent_dim, steps, pitches, filters)
    if kind == "dcgan":
        gan = BarGAN(generator, build_discriminator(steps, pitches, filters, dropout), latent_dim,
                     label_smoothing=label_smoothing, seed=seed)
        beta_2 = 0.999
    elif kind in ("wgan-gp", "wgan_gp", "wgangp"):
        gan = WGANGP(generator, build_discriminator(steps, pitches, filters, dropout=0.0, name="critic"),
                     latent_dim, n_critic=n_critic, gp_weight=gp_weight, seed=seed)
        beta_2 = 0.9
    else:
        raise ValueError(f"unknown kind {kind!r}: use 'dcgan' or 'wgan-gp'.")
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate=d_learning_rate, beta_1=0.5, beta_2=beta_2),
                g_optimizer=keras.optimizers.Adam(learning_rate=g_learning_rate, beta_1=0.5, beta_2=beta_2))
    gan.settings = dict(kind="dcgan" if kind == "dcgan" else "wgan-gp", recipe=recipe, latent_dim=latent_dim,
                        steps=steps, pitches=pitches, filters=filters, d_learning_rate=d_learning_rate,
                        g_learning_rate=g_learning_rate, label_smoothing=label_smoothing,
                        n_critic=n_critic, gp_weight=gp_weight, seed=seed)
    return gan


# =========================================================================================
# Generation
# =========================================================================================
def latent_dim_of(generator) -> int:
    """The length of the noise vector a generator reads (its input's last dimension). Lesson: 04_gan"""
    return int(generator.inputs[0].shape[-1])


def _cells(generator) -> int:
    """Cells (steps x pitches) in one generated bar."""
    return int(np.prod(generator.outputs[0].shape[1:]))


def latent_points(n: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """``n`` noise vectors, standard normal, from numpy's generator with ``seed``: the same seed
    gives the same points (and so the same bars). Lesson: 04_gan"""
    return np.random.default_rng(check_seed(seed, allow_none=False)).standard_normal(
        (int(n), int(latent_dim))).astype(np.float32)


def interpolate_latent(start, end, t, spherical: bool = True) -> np.ndarray:
    """The point a fraction ``t`` (0..1, or an array of them) of the way from ``start`` to ``end``.

    Spherical interpolation (slerp; White 2016) stays at the typical distance from the origin
    that normal noise has, so the middle of the walk sounds like a typical sample rather than
    a washed-out average. Lesson: 04_gan
    """
    a, b = np.asarray(start, np.float32), np.asarray(end, np.float32)
    ts = np.atleast_1d(np.asarray(t, np.float32))[:, None]
    if not spherical:
        out = (1 - ts) * a + ts * b
    else:
        cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)
        omega = np.arccos(np.clip(cos, -1.0, 1.0))
        if omega < 1e-6:
            out = (1 - ts) * a + ts * b
        else:
            out = (np.sin((1 - ts) * omega) * a + np.sin(ts * omega) * b) / np.sin(omega)
    return out.astype(np.float32) if np.ndim(t) else out[0].astype(np.float32)


def binarize(probabilities, threshold: float | str = 0.5, seed: int = 0) -> np.ndarray:
    """Turn the generator's chances into notes.

    * a number: a cell is on when its chance is above the threshold (hard thresholding);
    * ``'sample'``: each cell is on with its own chance (Bernoulli sampling). MuseGAN (Dong et al.
      2018) found that sampling breaks notes into fragments; lesson 04 measures it.

    Lesson: 04_gan
    """
    p = np.asarray(probabilities)
    if isinstance(threshold, str):
        if threshold != "sample":
            raise ValueError(f"threshold must be a number in (0, 1) or 'sample', got {threshold!r}.")
        return np.random.default_rng(seed).random(p.shape) < p
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"a binarisation threshold must lie between 0 and 1, got {threshold}.")
    return p > float(threshold)


def generate_bars(generator, n: int = 16, seed: int = 0, threshold: float | str | None = 0.5,
                  batch_size: int = 256) -> np.ndarray:
    """Generate ``n`` bars from noise drawn with ``seed``.

    Returns ``(n, steps, pitches, 1)`` booleans (binarised, see :func:`binarize`), or the raw
    float32 chances in [0, 1] when ``threshold=None``.

    Lesson: 04_gan
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n is a number of bars: a whole number >= 1, got {n!r}.")
    if n > MAX_BARS:
        raise LimitError(f"n={int(n)} bars is over the limit of {MAX_BARS} (their note chances alone would take "
                         f"{int(n) * _cells(generator) * 4 / 1e9:.1f} GB); ask for fewer, or raise "
                         "musegen_helpers.models.gan.MAX_BARS if you really mean it.")
    z = latent_points(n, latent_dim_of(generator), seed)
    probs = np.concatenate([np.asarray(generator(z[i:i + batch_size], training=False))
                            for i in range(0, len(z), batch_size)])
    return probs if threshold is None else binarize(probs, threshold, seed)


def density_threshold(probabilities, target_density: float) -> float:
    """The threshold that turns on the fraction ``target_density`` of cells (e.g. the real bars'
    share of "on" cells), a data-driven choice of binarisation threshold. Lesson: 04_gan"""
    p = np.asarray(probabilities, np.float64).ravel()
    if not 0.0 < target_density < 1.0:
        raise ValueError(f"target_density is a fraction of cells in (0, 1), got {target_density}.")
    return float(np.clip(np.quantile(p, 1.0 - target_density), 1e-6, 1 - 1e-6))


# =========================================================================================
# Quality: MuseGAN's numbers, through Pieces and musegen_helpers.metrics
# =========================================================================================
def quality(bars, lowest_pitch: int = LOWEST_PITCH, min_steps: int = 3) -> dict[str, float]:
    """The quality numbers of one set of bars, as a dict.

    The bars are decoded into Pieces (:func:`bars_to_pieces`, one per bar, and the phrase they
    make) and measured by :mod:`musegen_helpers.metrics`:

    * ``used pitch classes`` — :func:`~musegen_helpers.metrics.used_pitch_classes` (UPC, mean over
      non-empty bars; 0 when every bar is empty);
    * ``qualified note rate`` — :func:`~musegen_helpers.metrics.qualified_note_rate`, notes of at
      least ``min_steps`` steps (QN);
    * ``empty bar rate`` — :func:`~musegen_helpers.metrics.empty_bar_rate` (EB);
    * ``unique fraction`` and ``diversity`` — :func:`~musegen_helpers.metrics.unique_fraction` and
      :func:`~musegen_helpers.metrics.diversity` over the one-bar Pieces (mode collapse);
    * ``polyphony`` — :func:`~musegen_helpers.metrics.polyphony` (MusPy; ``nan`` without notes);
    * ``notes per bar``.

    Lesson: 04_gan
    """
    rolls = _as_rolls(bars)
    steps_per_quarter = rolls.shape[1] // 4
    pieces = bars_to_pieces(rolls, lowest_pitch, steps_per_bar=rolls.shape[1])
    phrase = Piece([replace(n, start=n.start + 4.0 * i) for i, bar in enumerate(pieces) for n in bar.notes])
    upc = metrics.used_pitch_classes(phrase)
    return {
        "used pitch classes": 0.0 if math.isnan(upc) else upc,
        "qualified note rate": metrics.qualified_note_rate(phrase, min_steps / steps_per_quarter),
        "empty bar rate": metrics.empty_bar_rate(phrase, until=4.0 * len(pieces)),
        "unique fraction": metrics.unique_fraction(pieces),
        "diversity": metrics.diversity(pieces, resolution=steps_per_quarter) if len(pieces) > 1 else math.nan,
        "polyphony": metrics.polyphony(phrase, resolution=steps_per_quarter),
        "notes per bar": len(phrase.notes) / len(pieces),
    }


def quality_table(real_bars, generated_bars=None, lowest_pitch: int = LOWEST_PITCH,
                  min_steps: int = 3, **more_sets) -> metrics.Table:
    """Compare real bars with generated ones (and any more named sets given as keywords): one row
    per set, ``bars`` naming it (``'real'`` first), then the numbers of :func:`quality`.

    Returns a :class:`musegen_helpers.metrics.Table` (prints as a table; ``table.row('real')``
    is a dict). Compare like with like: the unique fraction depends on how many bars you give.

    >>> quality_table(real, generated, wgan=other_bars)        # doctest: +SKIP

    Lesson: 04_gan
    """
    sets = {"real": real_bars}
    if generated_bars is not None:
        sets["generated"] = generated_bars
    sets.update(more_sets)
    rows = [{"bars": name, **quality(b, lowest_pitch, min_steps)} for name, b in sets.items()]
    return metrics.Table(rows, title="quality of bars (MuseGAN's metrics; close to 'real' is good)")


# =========================================================================================
# The shipped generator
# =========================================================================================
def load_pretrained_generator(early: bool = False):
    """The generator shipped with the course and what is known about it: ``(generator, info)``,
    ``info`` holding its settings, training time and quality numbers (``gan_generator.json``).
    ``early=True`` gives the same run stopped after one epoch. Loaded with ``safe_mode=True``
    (:func:`musegen_helpers.models.saving.load_model`).

    Raises:
        FileNotFoundError: the file is missing; ``python scripts/train_pretrained_gan.py`` makes it.

    Lesson: 04_gan
    """
    path = EARLY_GENERATOR if early else PRETRAINED_GENERATOR
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the pretrained generator is missing; rebuild it with "
                                "`python scripts/train_pretrained_gan.py`.")
    return load_model(path, compile=False), load_info(path)


# =========================================================================================
# Training with a live view
# =========================================================================================
@dataclass
class TrainingLog:
    """What :func:`train_gan` saw: per-epoch losses and metrics, quality checks every few
    epochs, seconds spent, and the latest sample.

    ``history[name]`` is a list with one value per epoch (``d_loss``, ``g_loss``...);
    ``checks`` holds ``(epoch, quality dict)`` pairs; ``sample`` is the last preview as bars and
    ``sample_piece`` as a phrase you can ``play``."""

    history: dict[str, list[float]] = field(default_factory=dict)
    checks: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    seconds: float = 0.0
    epochs: int = 0
    sample: np.ndarray | None = None
    sample_piece: Piece | None = None

    def check(self, metric: str) -> list[float]:
        """One quality number over the checks, e.g. ``log.check('unique fraction')``."""
        return [q[metric] for _, q in self.checks]

    def last(self, name: str) -> float:
        """The last epoch's value of a loss or metric (``'d_loss'``...), or of a quality number."""
        if name in self.history:
            return self.history[name][-1]
        return self.checks[-1][1][name]


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
        shell = get_ipython()
        return shell is not None and hasattr(shell, "kernel")
    except ImportError:  # pragma: no cover
        return False


def train_gan(gan, bars, epochs: int = 10, batch_size: int = 64, every: int = 5, show: bool = True,
              seed: int = 0, n_check: int = 256, lowest_pitch: int = LOWEST_PITCH,
              threshold: float = 0.5, log: TrainingLog | None = None) -> TrainingLog:
    """Train ``gan`` on ``bars`` and watch it learn.

    A progress bar counts epochs; every ``every`` epochs (and after the last) the generator
    makes ``n_check`` bars from the same fixed noise, the quality numbers are recorded, and with
    ``show=True`` a figure of the loss curves and 16 of those bars is drawn (replaced in place in
    a notebook; printed as one line elsewhere).

    Pass the ``log`` of an earlier call to continue training and keep one history.
    Returns the :class:`TrainingLog`; ``log.sample_piece`` is the last preview as a phrase.

    Lesson: 04_gan
    """
    from tqdm.auto import tqdm

    data = np.asarray(bars, dtype=np.float32)
    if data.ndim == 3:
        data = data[..., None]
    expected = tuple(gan.generator.outputs[0].shape[1:])
    if data.shape[1:] != expected:
        raise ValueError(f"bars have shape {data.shape[1:]} but this GAN makes bars of shape {expected}; "
                         "build it with make_gan(steps=..., pitches=...) to match the data.")
    if int(epochs) < 1 or int(every) < 1:
        raise ValueError("epochs and every must be at least 1.")
    log = log or TrainingLog()
    fixed_noise = latent_points(n_check, gan.latent_dim, seed=seed + 7919)
    notebook = show and _in_notebook()
    handle = None
    first_epoch = log.epochs

    class _Watch(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=int(epochs), desc="training", unit="epoch", leave=True)
            self.t0 = time.perf_counter() - log.seconds

        def on_epoch_end(self, epoch, logs=None):
            nonlocal handle
            for k, v in (logs or {}).items():
                log.history.setdefault(k, []).append(float(v))
            log.epochs = first_epoch + epoch + 1
            log.seconds = time.perf_counter() - self.t0
            self.bar.set_postfix({k: f"{float(v):.3f}" for k, v in (logs or {}).items() if k in ("d_loss", "g_loss")})
            self.bar.update(1)
            if log.epochs % every and epoch + 1 != epochs:
                return
            probs = np.concatenate([np.asarray(gan.generator(fixed_noise[i:i + 256], training=False))
                                    for i in range(0, n_check, 256)])
            rolls = probs > threshold
            q = quality(rolls, lowest_pitch)
            log.checks.append((log.epochs, q))
            log.sample = rolls[:16]
            log.sample_piece = bars_to_piece(rolls[:4], lowest_pitch, steps_per_bar=data.shape[1])
            if not show:
                return
            if notebook:
                import matplotlib.pyplot as plt
                from IPython.display import display

                from ..plots import plot_training
                fig, _ = plot_training(log, probs[:16], lowest_pitch=lowest_pitch)
                if handle is None:
                    handle = display(fig, display_id=True)
                else:
                    handle.update(fig)
                plt.close(fig)
            else:
                self.bar.write(f"epoch {log.epochs}: d_loss {log.last('d_loss'):.3f}  g_loss {log.last('g_loss'):.3f}  "
                               f"pitch classes/bar {q['used pitch classes']:.2f}  qualified {q['qualified note rate']:.2f}  "
                               f"empty {q['empty bar rate']:.2f}  unique {q['unique fraction']:.2f}")

        def on_train_end(self, logs=None):
            self.bar.close()

    gan.fit(data, epochs=int(epochs), batch_size=int(batch_size), shuffle=True, verbose=0, callbacks=[_Watch()])
    return log


