"""A small causal Transformer that writes melodies, a sampler with a key/value cache, and a look
inside its attention.

The model reads the same event tokens as lesson 03's LSTM (``0–127`` a new note of that MIDI
pitch, ``HOLD``, ``REST``, ``END``; one token per sixteenth note) from the same training windows
(:func:`musegen_helpers.models.lstm.make_windows`: each tune fed as ``[END] + tune + [END]``) and
predicts the next token at every step::

    tokens (batch, steps) int32 -> Embedding [+ learned positions] -> TransformerBlock x layers
                                 -> LayerNormalization -> Dense(vocab) logits (batch, steps, vocab)

    TransformerBlock (pre-norm, as GPT-2):  x + Attention(LayerNorm(x)), then x + FeedForward(LayerNorm(x))

**Attention** (Vaswani et al., "Attention Is All You Need", 2017): every step makes a query,
a key and a value vector per head; step ``i`` mixes the values of the steps ``j`` it may see,
weighted by ``softmax_j(q_i · k_j / sqrt(key_dim))``. The **causal mask** lets step ``i`` see
steps ``j <= i`` only — without it, the model trained with teacher forcing reads the very token
it is asked to predict.

**Where a note is.** Attention itself ignores order. ``position="learned"`` adds a learnt vector
per absolute position (GPT-2; at most ``max_length`` positions); ``position="rotary"`` rotates
every query and key by an angle proportional to its position (RoFormer: Su et al., 2021), so
``q_i · k_j`` depends on the offset ``i - j`` only: relative position. The rotation follows
KerasHub's ``RotaryEmbedding`` (halves of each head vector are paired; wavelengths up to 10 000);
it is written out here (15 lines) because ``keras-hub`` would add 14 packages to the course
(tensorflow-text, tokenizers, huggingface_hub, sentencepiece, kagglehub, ...) for this one formula.

**Generating fast.** The textbook loop re-runs the model on the whole melody for every new
token. :class:`TransformerSampler` (``backend="cached"``) keeps every layer's keys and values in
a cache of ``max_length`` slots and feeds one token per step, inside one XLA-compiled TensorFlow
loop (``tf.function(jit_compile=True)``, as lesson 03's :class:`~musegen_helpers.models.lstm.MelodySampler`):
each step computes one new token's query, key and value per layer and attends over the fixed-size
cache (its empty slots masked), so a step costs the same at token 10 as at token 200. The layers'
``call`` follows KerasHub's ``CachedMultiHeadAttention`` contract:
``call(x, cache=None, cache_update_index=None)`` returns ``(output, cache)`` when given a cache of
shape ``(batch, 2, max_length, num_heads, key_dim)`` (keys, then values), updated at
``cache_update_index``. The sampler itself uses each layer's ``step``: the same numbers with the
keys and values as two arrays per layer, heads first ``(num_heads, max_length, key_dim)``, each
step writing one row per head in place (stacking keys and values into one tensor would copy the
whole cache at every step, and a positions-first layout makes XLA transpose it twice per step),
the query, key and value from one matrix product, and the rotary angles of every position
computed once (:func:`rotary_tables`). Measured with ``python -m benchmarks transformer``.

**Scoring.** :class:`TransformerScorer` implements the scoring protocol of
:mod:`musegen_helpers.scoring` (``name``, ``log2_probs(tunes)``), like lesson 03's
:class:`~musegen_helpers.models.lstm.LSTMScorer` and the n-grams, so the one function
``scoring.bits_per_token`` scores all of them on the same tokens. A tune longer than the model's
context (``max_length`` tokens) is read in overlapping windows: every token is predicted from at
least ``max_length // 2`` tokens before it (or all of them, near the start).

Units: one token = one grid step (a sixteenth note with ``steps_per_quarter=4``); positions and
lengths are counted in tokens.

Lesson: 06_transformer
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Sequence

import numpy as np

import keras  # TensorFlow is imported quietly by musegen_helpers.models (see its __init__)
import tensorflow as tf
from keras import ops

from ..config import PRETRAINED_DIR, check_seed
from ..errors import LimitError
from ..representation import END, VOCAB_SIZE
from . import lstm
from .lstm import START, make_windows, train, tune_windows  # noqa: F401 - shared with lesson 03
from .saving import load_model, save_model  # noqa: F401 - the one saver every model shares

__all__ = [
    "START", "PRETRAINED_PATH", "POSITIONS", "causal_mask", "apply_rotary", "rotary_tables",
    "PositionEmbedding", "CausalSelfAttention", "TransformerBlock", "build_transformer",
    "make_windows", "tune_windows", "train", "TimeBudget", "save_model", "load_model", "load_pretrained",
    "pretrained_info", "TransformerSampler", "attention_maps", "TransformerScorer", "count_parameters",
    "context_length", "scoring_windows",
]

PRETRAINED_PATH = PRETRAINED_DIR / "transformer_melody.keras"
POSITIONS = ("rotary", "learned", "none")
_NEG = -1e9  # "impossible" attention score / logit: exp() underflows to exactly 0, no inf - inf = nan
_register = keras.saving.register_keras_serializable(package="musegen")


# ---------------------------------------------------------------------------------------
# The two ideas: a causal mask, a rotation by position
# ---------------------------------------------------------------------------------------
def causal_mask(length: int) -> np.ndarray:
    """``(length, length)`` booleans: ``mask[i, j]`` is True when step ``i`` may attend to step
    ``j``, i.e. ``j <= i`` (itself and the past, never the future).

    Lesson: 06_transformer
    """
    if isinstance(length, bool) or int(length) != length or length < 1:
        raise ValueError(f"length is a number of steps >= 1, got {length!r}.")
    return np.tril(np.ones((int(length), int(length)), dtype=bool))


def apply_rotary(x, positions, max_wavelength: float = 10_000.0):
    """Rotate query or key vectors by their positions (rotary position embedding, RoFormer).

    Args:
        x: ``(batch, steps, heads, dim)`` (``dim`` even), a Keras/TF tensor or NumPy array.
        positions: ``(steps,)`` positions in tokens (float).
        max_wavelength: the slowest pair turns once per ``2π·max_wavelength`` tokens.

    Pair ``(x[k], x[k + dim/2])`` turns by the angle ``position / max_wavelength ** (2k / dim)``
    (KerasHub's ``RotaryEmbedding`` convention). A rotated query and key then have a dot product
    that depends only on how far apart they are.

    Returns:
        a tensor of the shape of ``x``.

    Lesson: 06_transformer
    """
    dim = int(x.shape[-1])
    if dim % 2:
        raise ValueError(f"rotary embeddings pair up the features: the head size must be even, got {dim}.")
    half = dim // 2
    inverse_frequency = 1.0 / (max_wavelength ** (ops.arange(0, half, dtype="float32") * 2.0 / dim))
    angles = ops.cast(positions, "float32")[:, None] * inverse_frequency[None, :]  # (steps, half)
    cos, sin = ops.cos(angles)[:, None, :], ops.sin(angles)[:, None, :]  # broadcast over heads
    x1, x2 = x[..., :half], x[..., half:]
    return ops.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def rotary_tables(length: int, dim: int, max_wavelength: float = 10_000.0) -> tuple[np.ndarray, np.ndarray]:
    """``(cos, sin)``, each ``(length, dim // 2)`` float32: the rotation angles of
    :func:`apply_rotary` for positions ``0 .. length - 1``, computed once so that a sampler
    looks up one row per step instead of recomputing them.

    Lesson: 06_transformer
    """
    half = int(dim) // 2
    inverse_frequency = 1.0 / (max_wavelength ** (np.arange(half, dtype=np.float64) * 2.0 / int(dim)))
    angles = np.arange(int(length), dtype=np.float64)[:, None] * inverse_frequency[None, :]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def _rotate_rows(x, cos, sin):
    """Rotate ``(..., dim)`` vectors by one position's angles ``cos, sin`` (``(dim // 2,)``)."""
    half = int(x.shape[-1]) // 2
    x1, x2 = x[..., :half], x[..., half:]
    return tf.concat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def _initializer(seed, k, stddev=0.02):
    return keras.initializers.RandomNormal(stddev=stddev, seed=None if seed is None else seed + k)


# ---------------------------------------------------------------------------------------
# Layers (registered, so .keras files load with safe_mode=True)
# ---------------------------------------------------------------------------------------
@_register
class PositionEmbedding(keras.layers.Layer):
    """Adds a learnt vector per absolute position ``0 .. max_length - 1`` to ``(batch, steps, dim)``.

    ``call(x, start_index=0)`` adds rows ``start_index .. start_index + steps - 1`` (the sampler
    feeds one step at a time). A sequence longer than ``max_length`` has no vectors: the model
    cannot read it (the scorer and sampler never ask).

    Lesson: 06_transformer
    """

    def __init__(self, max_length: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.max_length = int(max_length)
        self.seed = seed

    def build(self, input_shape):
        self.position_table = self.add_weight(shape=(self.max_length, int(input_shape[-1])),
                                              initializer=_initializer(self.seed, 7), name="position_table")

    def call(self, x, start_index=0):
        steps = ops.shape(x)[1]
        rows = ops.slice(self.position_table, (start_index, 0), (steps, ops.shape(self.position_table)[1]))
        return x + ops.cast(rows, x.dtype)[None]

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length, "seed": self.seed}


@_register
class CausalSelfAttention(keras.layers.Layer):
    """Multi-head self-attention with a causal mask, optional rotary positions and a key/value cache.

    ``call(x, cache=None, cache_update_index=None, training=None, return_attention_scores=False)``:

    * ``x``: ``(batch, steps, dim)``;
    * without a cache: step ``i`` attends to steps ``j <= i`` (all steps with ``causal=False``);
    * with a cache ``(batch, 2, max_length, num_heads, key_dim)``: ``x`` holds the steps at
      positions ``cache_update_index, ...``; their keys and values are written into the cache at
      that index and they attend to every cached position up to their own (KerasHub's
      ``CachedMultiHeadAttention`` contract). Returns ``(output, cache)``.

    With ``return_attention_scores`` the attention weights ``(batch, heads, steps, keys)`` come last.
    Same weights layout as ``keras.layers.MultiHeadAttention`` (query/key/value kernels
    ``(dim, heads, key_dim)``, output kernel ``(heads, key_dim, dim)``).

    Lesson: 06_transformer
    """

    def __init__(self, num_heads: int, key_dim: int, causal: bool = True, rotary: bool = False,
                 max_wavelength: float = 10_000.0, dropout: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.causal, self.rotary = bool(causal), bool(rotary)
        self.max_wavelength, self.dropout, self.seed = float(max_wavelength), float(dropout), seed
        shape = (None, self.num_heads, self.key_dim)
        self.query_dense = keras.layers.EinsumDense("btd,dhk->bthk", shape, bias_axes="hk",
                                                    kernel_initializer=_initializer(seed, 1), name="query")
        self.key_dense = keras.layers.EinsumDense("btd,dhk->bthk", shape, bias_axes="hk",
                                                  kernel_initializer=_initializer(seed, 2), name="key")
        self.value_dense = keras.layers.EinsumDense("btd,dhk->bthk", shape, bias_axes="hk",
                                                    kernel_initializer=_initializer(seed, 3), name="value")
        self.attention_dropout = keras.layers.Dropout(self.dropout, seed=seed)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        for layer in (self.query_dense, self.key_dense, self.value_dense):
            layer.build(input_shape)
        self.output_dense = keras.layers.EinsumDense("bthk,hkd->btd", (None, dim), bias_axes="d",
                                                     kernel_initializer=_initializer(self.seed, 4), name="output")
        self.output_dense.build((None, None, self.num_heads, self.key_dim))

    def call(self, x, cache=None, cache_update_index=None, training=None, return_attention_scores=False):
        start = 0 if cache_update_index is None else cache_update_index
        steps = ops.shape(x)[1]
        query, key, value = self.query_dense(x), self.key_dense(x), self.value_dense(x)
        query_positions = ops.arange(steps, dtype="int32") + ops.cast(start, "int32")
        if self.rotary:
            query = apply_rotary(query, query_positions, self.max_wavelength)
            key = apply_rotary(key, query_positions, self.max_wavelength)
        if cache is not None:
            origin = [0, start, 0, 0]
            key = ops.slice_update(cache[:, 0], origin, ops.cast(key, cache.dtype))
            value = ops.slice_update(cache[:, 1], origin, ops.cast(value, cache.dtype))
            cache = ops.stack([key, value], axis=1)
        scores = ops.einsum("bqhk,bshk->bhqs", query, key) / math.sqrt(self.key_dim)
        if self.causal or cache is not None:  # a cache's empty slots lie in the "future", too
            key_positions = ops.arange(ops.shape(key)[1], dtype="int32")
            allowed = query_positions[:, None] >= key_positions[None, :]
            scores = ops.where(allowed[None, None], scores, _NEG)
        weights = tf.nn.softmax(scores, axis=-1)  # (ops.softmax warns about a 1-key row: the first step)
        mixed = ops.einsum("bhqs,bshk->bqhk", self.attention_dropout(weights, training=training), value)
        output = self.output_dense(mixed)
        result = (output,) + ((cache,) if cache is not None else ()) + ((weights,) if return_attention_scores else ())
        return result[0] if len(result) == 1 else result

    def step(self, x, key_cache, value_cache, t, cos=None, sin=None):
        """One new token at position ``t`` with the cache as two arrays (the sampler's fast path).

        ``x``: ``(1, dim)``; ``key_cache``, ``value_cache``: ``(num_heads, max_length, key_dim)``
        — heads first, so that each head's scores and blend read its rows where they lie (with
        positions first, XLA would transpose the whole cache twice per step); row ``t`` of every
        head is overwritten in place (``ops.slice_update``, XLA's dynamic update) and rows
        ``0 .. t`` are attended to; ``cos``, ``sin``: position ``t``'s rotary angles (rows of
        :func:`rotary_tables`). The query, key and value come from one matrix product (the three
        kernels side by side). The same numbers as ``call(x[None], cache, cache_update_index=t)``,
        with no copy of the cache per step. Returns ``(output (1, dim), key_cache, value_cache)``.
        """
        heads, width = self.num_heads, self.num_heads * self.key_dim
        dense = (self.query_dense, self.key_dense, self.value_dense)
        kernel = ops.concatenate([ops.reshape(layer.kernel, (-1, width)) for layer in dense], axis=-1)
        bias = ops.concatenate([ops.reshape(layer.bias, (width,)) for layer in dense], axis=-1)
        projected = ops.matmul(x, kernel) + bias  # (1, 3 * width): query | key | value
        query, key, value = (ops.reshape(projected[0, i * width:(i + 1) * width], (heads, self.key_dim))
                             for i in range(3))
        if self.rotary:
            query, key = _rotate_rows(query, cos, sin), _rotate_rows(key, cos, sin)
        key_cache = ops.slice_update(key_cache, [0, t, 0], ops.cast(key[:, None, :], key_cache.dtype))
        value_cache = ops.slice_update(value_cache, [0, t, 0], ops.cast(value[:, None, :], value_cache.dtype))
        scores = tf.einsum("hk,hsk->hs", query, key_cache) / math.sqrt(self.key_dim)
        seen = tf.range(tf.shape(key_cache)[1]) <= t
        weights = tf.nn.softmax(tf.where(seen[None], scores, _NEG), axis=-1)
        mixed = tf.einsum("hs,hsk->hk", weights, value_cache)
        return self.output_dense(mixed[None, None])[0], key_cache, value_cache

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "causal": self.causal, "rotary": self.rotary, "max_wavelength": self.max_wavelength,
                "dropout": self.dropout, "seed": self.seed}


@_register
class TransformerBlock(keras.layers.Layer):
    """One pre-norm decoder block: ``x + Attention(LayerNorm(x))``, then
    ``x + Dense(dim)(gelu(Dense(ff_dim)(LayerNorm(x))))``, dropout on both branches.

    ``max_length`` is the context the block was trained for (the sampler's cache size).
    ``call(x, cache=None, cache_update_index=None, training=None, return_attention_scores=False)``
    follows :class:`CausalSelfAttention`.

    Lesson: 06_transformer
    """

    def __init__(self, num_heads: int, key_dim: int, ff_dim: int, max_length: int, dropout: float = 0.1,
                 causal: bool = True, rotary: bool = False, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.key_dim, self.ff_dim = int(num_heads), int(key_dim), int(ff_dim)
        self.max_length, self.dropout, self.causal, self.rotary, self.seed = (
            int(max_length), float(dropout), bool(causal), bool(rotary), seed)
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="attention_norm")
        self.attention = CausalSelfAttention(num_heads, key_dim, causal=causal, rotary=rotary, dropout=dropout,
                                             seed=seed, name="attention")
        self.feed_forward_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="feed_forward_norm")
        self.feed_forward_in = keras.layers.Dense(self.ff_dim, activation="gelu",
                                                  kernel_initializer=_initializer(seed, 5), name="feed_forward_in")
        self.residual_dropout = keras.layers.Dropout(self.dropout, seed=None if seed is None else seed + 6)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape)
        self.feed_forward_norm.build(input_shape)
        self.feed_forward_in.build(input_shape)
        self.feed_forward_out = keras.layers.Dense(dim, kernel_initializer=_initializer(self.seed, 8),
                                                   name="feed_forward_out")
        self.feed_forward_out.build((None, None, self.ff_dim))

    def call(self, x, cache=None, cache_update_index=None, training=None, return_attention_scores=False):
        result = self.attention(self.attention_norm(x), cache=cache, cache_update_index=cache_update_index,
                                training=training, return_attention_scores=return_attention_scores)
        result = result if isinstance(result, tuple) else (result,)
        x = x + self.residual_dropout(result[0], training=training)
        ff = self.feed_forward_out(self.feed_forward_in(self.feed_forward_norm(x)))
        x = x + self.residual_dropout(ff, training=training)
        return (x,) + result[1:] if len(result) > 1 else x

    def step(self, x, key_cache, value_cache, t, cos=None, sin=None):
        """One token through the block with a two-array cache (see :meth:`CausalSelfAttention.step`):
        ``x`` ``(1, dim)`` -> ``(x, key_cache, value_cache)``. Inference only (no dropout)."""
        attended, key_cache, value_cache = self.attention.step(self.attention_norm(x), key_cache, value_cache, t,
                                                               cos, sin)
        x = x + attended
        x = x + self.feed_forward_out(self.feed_forward_in(self.feed_forward_norm(x)))
        return x, key_cache, value_cache

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "ff_dim": self.ff_dim, "max_length": self.max_length, "dropout": self.dropout,
                "causal": self.causal, "rotary": self.rotary, "seed": self.seed}


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------
def build_transformer(vocab_size: int = VOCAB_SIZE, max_length: int = 256, embed_dim: int = 128, num_heads: int = 4,
                      layers: int = 2, ff_dim: int | None = None, dropout: float = 0.1, position: str = "rotary",
                      causal: bool = True, learning_rate: float = 1e-3, seed: int | None = None,
                      name: str = "melody_transformer") -> keras.Model:
    """A next-token Transformer over event tokens, compiled and ready for :func:`train`.

    Args:
        vocab_size: number of token kinds (131: 128 pitches, HOLD, REST, END).
        max_length: the context in tokens (256 = 16 bars of 4/4 in sixteenths): the longest window
            it reads at once, the learned position table's size and the sampler's cache size.
        embed_dim: size of each token's vector (divisible by ``num_heads``).
        num_heads: attention heads per block; each has ``embed_dim // num_heads`` features.
        layers: number of Transformer blocks.
        ff_dim: width of each block's feed-forward layer (default ``4 * embed_dim``, as GPT-2).
        dropout: dropout on attention weights and on each block's output, while training.
        position: ``"rotary"`` (relative, RoFormer), ``"learned"`` (absolute, GPT-2) or ``"none"``.
        causal: False builds the *broken* model of lesson 06's exercise 2 (each step sees the future).
        learning_rate: Adam's step size (gradients clipped to norm 1.0): a number, or a
            ``keras.optimizers.schedules.LearningRateSchedule`` (e.g. ``CosineDecay`` with warm-up,
            for a run of a known number of steps).
        seed: seed for the initial weights and dropout.

    Returns:
        A compiled ``keras.Model``: input ``tokens`` (batch, steps) int32 → logits
        (batch, steps, vocab_size). Loss: sparse categorical cross-entropy in nats per token,
        averaged over tokens with weight 1 (padding has weight 0).

    Lesson: 06_transformer
    """
    for label, value, low in (("vocab_size", vocab_size, END + 1), ("max_length", max_length, 2),
                              ("embed_dim", embed_dim, 2), ("num_heads", num_heads, 1), ("layers", layers, 1)):
        if isinstance(value, bool) or int(value) != value or value < low:
            raise ValueError(f"{label} must be a whole number >= {low}, got {value!r}.")
    if embed_dim % num_heads:
        raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads}): each head gets "
                         "an equal share of the features.")
    key_dim = embed_dim // num_heads
    if position not in POSITIONS:
        raise ValueError(f"position must be one of {POSITIONS}, got {position!r}.")
    if position == "rotary" and key_dim % 2:
        raise ValueError(f"rotary positions need an even head size; embed_dim / num_heads = {key_dim}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout is the fraction of outputs dropped, in [0, 1); got {dropout!r}.")
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule) and not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0 (1e-3 is a good start for Adam), got {learning_rate!r}.")
    ff_dim = 4 * embed_dim if ff_dim is None else int(ff_dim)
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(int(vocab_size), int(embed_dim), embeddings_initializer=_initializer(seed, 0),
                               name="embedding")(tokens)
    if position == "learned":
        x = PositionEmbedding(max_length, seed=seed, name="positions")(x)
    for k in range(int(layers)):
        x = TransformerBlock(num_heads, key_dim, ff_dim, max_length, dropout=dropout, causal=causal,
                             rotary=position == "rotary", seed=None if seed is None else seed + 10 * (k + 1),
                             name=f"block_{k + 1}")(x)
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    logits = keras.layers.Dense(int(vocab_size), kernel_initializer=_initializer(seed, 9), name="logits")(x)
    model = keras.Model(tokens, logits, name=name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                  reduction="mean_with_sample_weight"))
    return model


def count_parameters(model: keras.Model) -> int:
    """Number of trainable weights (numbers) of a model."""
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def _parts(model: keras.Model):
    """(embedding, positions | None, [blocks], final norm, logits layer) of a melody Transformer."""
    try:
        embedding, final_norm, logits = (model.get_layer(n) for n in ("embedding", "final_norm", "logits"))
    except ValueError:
        raise ValueError(f"model {model.name!r} is not a melody Transformer (it needs layers 'embedding', "
                         "'block_N', 'final_norm' and 'logits'); build it with build_transformer() or load one "
                         "with load_model().") from None
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerBlock)]
    if not blocks:
        raise ValueError(f"model {model.name!r} has no TransformerBlock; build it with build_transformer().")
    positions = next((layer for layer in model.layers if isinstance(layer, PositionEmbedding)), None)
    return embedding, positions, blocks, final_norm, logits


def context_length(model: keras.Model) -> int:
    """The most tokens the model reads at once (its blocks' ``max_length``)."""
    return _parts(model)[2][0].max_length


class TimeBudget(keras.callbacks.Callback):
    """Stop training after the batch that runs past ``seconds`` (the weights of that moment are kept).

    Lesson: 06_transformer
    """

    def __init__(self, seconds: float):
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, got {seconds!r}.")
        self.seconds = float(seconds)
        self.started = None
        self.stopped_early = False

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.started > self.seconds:
            self.model.stop_training = True
            self.stopped_early = True


# ---------------------------------------------------------------------------------------
# Pretrained model
# ---------------------------------------------------------------------------------------
def load_pretrained(path=None) -> keras.Model:
    """The course's pretrained melody Transformer (trained on the Essen/O'Neill training split by
    ``scripts/train_pretrained_transformer.py``), loaded with ``safe_mode=True``.

    Lesson: 06_transformer
    """
    p = Path(path) if path is not None else PRETRAINED_PATH
    if not p.is_file():
        raise FileNotFoundError(f"{p}: the pretrained Transformer is missing; rebuild it with "
                                "`python scripts/train_pretrained_transformer.py`.")
    return load_model(p)


def pretrained_info(path=None) -> dict:
    """The JSON next to the pretrained Transformer: configuration, losses, training time, test scores."""
    p = (Path(path) if path is not None else PRETRAINED_PATH).with_suffix(".json")
    return json.loads(p.read_text())


# ---------------------------------------------------------------------------------------
# Sampling: the naive loop and the cached, compiled loop
# ---------------------------------------------------------------------------------------
def _draw(filtered_logits, seed, t, temperature):
    """One token from filtered logits (vocab,): a stateless draw keyed by (seed, t), or the argmax at T=0."""
    drawn = tf.random.stateless_categorical(filtered_logits[None, :], 1, seed=tf.stack([seed, t]),
                                            dtype=tf.int32)[0, 0]
    return tf.where(temperature > 0, drawn, tf.argmax(filtered_logits, output_type=tf.int32))


_draw_compiled = tf.function(_draw, jit_compile=True, reduce_retracing=True)  # the same XLA kernel as the loop


def _bucket(n: int, smallest: int) -> int:
    """Round up to a power of two so a compiled loop is reused for nearby lengths."""
    return max(smallest, 1 << (max(int(n), 1) - 1).bit_length())


class TransformerSampler:
    """Generate melodies from a melody Transformer.

    ``backend="cached"`` (default) feeds one token per step through every layer, keeping each
    layer's keys and values in a cache, all inside one XLA-compiled TensorFlow loop: each step
    attends over the fixed-size cache of ``max_length`` slots, the same work at every step (the first call for a new length compiles it, a few seconds). ``backend="naive"`` is
    the textbook loop: the whole melody so far goes through the model for every new token. Both
    draw token ``n`` with the same stateless random numbers, so the same seed gives the same
    melody (up to float rounding).

    ``generate`` takes the same arguments as lesson 03's ``MelodySampler.generate``. START, the
    primer and the new tokens must fit in the model's context (:func:`context_length`).

    Lesson: 06_transformer
    """

    def __init__(self, model: keras.Model, backend: str = "cached"):
        if backend not in ("cached", "naive"):
            raise ValueError(f"backend must be 'cached' or 'naive', got {backend!r}.")
        self.embedding, self.positions, self.blocks, self.final_norm, self.logits_layer = _parts(model)
        self.model = model
        self.backend = backend
        self.vocab_size = int(self.logits_layer.units)
        self.max_length = self.blocks[0].max_length
        attention = self.blocks[0].attention
        self._cos = self._sin = None
        if attention.rotary:  # the angles of every position, once (not recomputed per step)
            cos, sin = rotary_tables(self.max_length, attention.key_dim, attention.max_wavelength)
            self._cos, self._sin = tf.constant(cos), tf.constant(sin)
        self._loop = tf.function(self._generate_graph, jit_compile=True, reduce_retracing=True)
        self._last_logits = tf.function(lambda x: self.model(x, training=False)[0, -1],
                                        input_signature=[tf.TensorSpec((1, None), tf.int32)])  # one trace, any length

    # -- one step with the cache --------------------------------------------------------
    def _step(self, token, t, caches):
        x = self.embedding(ops.reshape(token, (1, 1)))
        if self.positions is not None:
            x = self.positions(x, start_index=t)
        x = x[0]  # (1, dim)
        cos = sin = None
        if self._cos is not None:
            cos, sin = tf.gather(self._cos, t), tf.gather(self._sin, t)
        new_caches = []
        for block, (key_cache, value_cache) in zip(self.blocks, caches):
            x, key_cache, value_cache = block.step(x, key_cache, value_cache, t, cos, sin)
            new_caches.append((key_cache, value_cache))
        return self.logits_layer(self.final_norm(x))[0], tuple(new_caches)

    def _generate_graph(self, primer, primer_len, out_buffer, n_new, temperature, top_k, top_p, allowed, seed):
        caches = tuple((tf.zeros([b.num_heads, self.max_length, b.key_dim]),
                        tf.zeros([b.num_heads, self.max_length, b.key_dim])) for b in self.blocks)
        total = primer_len + n_new
        first_probs = tf.zeros([self.vocab_size])

        def body(t, token, caches, out, first_probs):
            logits, caches = self._step(token, t, caches)
            first_probs = tf.where(t == primer_len, tf.nn.softmax(logits), first_probs)
            filtered = lstm.filter_logits(logits, temperature, top_k, top_p, allowed)
            sampled = _draw(filtered, seed, t, temperature)
            is_new = t >= primer_len
            slot = tf.maximum(t - primer_len, 0)
            out = tf.tensor_scatter_nd_update(out, [[slot]], [tf.where(is_new, sampled, out[slot])])
            next_token = tf.where(is_new, sampled, tf.gather(primer, tf.minimum(t, tf.shape(primer)[0] - 1)))
            return t + 1, next_token, caches, out, first_probs

        _, _, _, out, first_probs = tf.while_loop(
            lambda t, *_: t < total, body, (tf.constant(0), tf.constant(START, tf.int32), caches, out_buffer,
                                            first_probs))
        return out, first_probs

    def _run_cached(self, length, temperature, top_k, top_p, allowed, primer, seed):
        primer_buf = np.zeros(_bucket(len(primer), 64), dtype=np.int32)  # one compiled loop for primers <= 4 bars
        primer_buf[:len(primer)] = primer
        out, first = self._loop(
            tf.constant(primer_buf), tf.constant(len(primer), tf.int32), tf.zeros([_bucket(length, 64)], tf.int32),
            tf.constant(length, tf.int32), tf.constant(float(temperature), tf.float32),
            tf.constant(0 if top_k is None else int(top_k), tf.int32),
            tf.constant(1.0 if top_p is None else float(top_p), tf.float32), tf.constant(allowed),
            tf.constant(int(seed) % 2**31, tf.int32))
        return out.numpy()[:length], first.numpy()

    def _run_naive(self, length, temperature, top_k, top_p, allowed, primer, seed):
        melody = [START] + [int(t) for t in primer]
        args = (tf.constant(float(temperature), tf.float32), tf.constant(0 if top_k is None else int(top_k), tf.int32),
                tf.constant(1.0 if top_p is None else float(top_p), tf.float32), tf.constant(allowed))
        out, first = [], None
        for _ in range(length):
            logits = self._last_logits(tf.constant([melody], tf.int32))   # re-reads the whole melody
            if first is None:
                first = tf.nn.softmax(logits).numpy()
            filtered = lstm.filter_logits(logits, *args)
            token = int(_draw_compiled(filtered, tf.constant(int(seed) % 2**31, tf.int32),
                                       tf.constant(len(melody) - 1, tf.int32), args[0]))
            out.append(token)
            melody.append(token)
        return np.array(out, dtype=np.int32), first

    def _check_fits(self, length, primer):
        room = self.max_length - len(primer)  # START + primer + all new tokens but the last are read
        if length > room:
            raise LimitError(f"the model reads at most {self.max_length} tokens (START + primer + new ones; "
                             f"{self.max_length // 16} bars of 4/4): with a primer of {len(primer)} tokens ask for at "
                             f"most {max(room, 0)} new tokens, or use a shorter primer.")

    def generate(self, length: int = 256, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, key: str | None = None, primer=None, seed: int = 0,
                 stop_at_end: bool = False) -> np.ndarray:
        """Sample ``length`` new tokens (grid steps) after an optional ``primer``.

        Args: as :meth:`musegen_helpers.models.lstm.MelodySampler.generate` — ``temperature``
        (0 = greedy), ``top_k``, ``top_p`` (nucleus), ``key`` (e.g. ``'G major'``: pitches
        outside the scale are never chosen), ``primer`` (tokens read first, not repeated in the
        result), ``seed``, ``stop_at_end``.

        Returns:
            ``int32`` array of new tokens (no primer, no ``END``).

        Raises:
            LimitError: START + primer + ``length - 1`` tokens (what the model reads) are more than its context.
            ValueError: a bad temperature, top-k, top-p, key, seed or primer (the message says which).
        """
        length, primer = lstm.check_generate_args(length, temperature, top_k, top_p, primer, self.vocab_size)
        self._check_fits(length, primer)
        seed = check_seed(seed, allow_none=False)
        allowed = lstm.allowed_tokens(self.vocab_size, key, stop_at_end)
        run = self._run_cached if self.backend == "cached" else self._run_naive
        out, _ = run(length, temperature, top_k, top_p, allowed, primer, seed)
        return lstm.cut_at_end(np.asarray(out, dtype=np.int32), stop_at_end)

    def next_token_probabilities(self, context=None) -> np.ndarray:
        """The model's distribution (temperature 1, no filters) of the token after START + ``context``."""
        _, primer = lstm.check_generate_args(1, 1.0, None, None, context, self.vocab_size)
        self._check_fits(1, primer)
        run = self._run_cached if self.backend == "cached" else self._run_naive
        return np.asarray(run(1, 0.0, None, None, np.ones(self.vocab_size, bool), primer, 0)[1], dtype=np.float64)


# ---------------------------------------------------------------------------------------
# Looking inside
# ---------------------------------------------------------------------------------------
def attention_maps(model: keras.Model, tokens) -> np.ndarray:
    """Attention weights of every layer and head while the model reads ``[START] + tokens``.

    Returns:
        float array ``(layers, heads, n, n)`` with ``n = 1 + len(tokens)`` (cut to the model's
        context): row ``i`` says how much step ``i`` (0 = START, ``i`` = token ``i - 1``) takes
        from each earlier step ``j``; every row sums to 1.

    Lesson: 06_transformer
    """
    embedding, positions, blocks, final_norm, _ = _parts(model)
    seq = lstm.check_tunes([tokens])[0]
    x_tokens = np.concatenate([[START], seq]).astype(np.int32)[:blocks[0].max_length]
    x = embedding(x_tokens[None, :])
    if positions is not None:
        x = positions(x)
    maps = []
    for block in blocks:
        x, weights = block(x, return_attention_scores=True)
        maps.append(np.asarray(weights)[0])
    return np.stack(maps)


# ---------------------------------------------------------------------------------------
# Scoring held-out tunes (the protocol of lesson 03)
# ---------------------------------------------------------------------------------------
def _log_softmax_fn(model):
    fn = model.__dict__.get("_musegen_transformer_log_softmax")
    if fn is None:
        fn = tf.function(lambda x: tf.nn.log_softmax(model(x, training=False), axis=-1),
                         input_signature=[tf.TensorSpec((None, None), tf.int32)])  # traced once, any batch shape
        object.__setattr__(model, "_musegen_transformer_log_softmax", fn)  # off Keras's tracking
    return fn


def scoring_windows(n: int, context: int) -> list[tuple[int, int, int]]:
    """``(start, first scored position, end)`` of the windows that read a sequence of ``n`` inputs:
    the first window scores all it reads; each later one moves by context // 2 and scores its
    last context // 2 positions, so every token keeps at least context // 2 tokens of past."""
    if n <= context:
        return [(0, 0, n)]
    stride = context // 2
    spans, start = [(0, 0, context)], 0
    while start + context < n:
        start += stride
        end = min(start + context, n)
        spans.append((start, spans[-1][2], end))
    return spans


class TransformerScorer:
    """A melody Transformer as a *scorer* (the protocol of :mod:`musegen_helpers.scoring`), so that
    ``scoring.bits_per_token(TransformerScorer(model), tunes)`` measures it exactly as an n-gram or
    :class:`~musegen_helpers.models.lstm.LSTMScorer`.

    Each tune is read from its own start, as ``[START] + tune[:-1]``, and every token of the tune
    *as given* is scored (append ``END`` with ``scoring.with_end`` to score where tunes stop). A
    tune longer than the model's context is read in overlapping windows
    (:func:`scoring_windows`): every token is predicted from at least ``context // 2`` tokens
    before it, or from all of them near the start. Within the context the scores equal one pass
    over the whole tune.

    Args:
        model: a melody Transformer from :func:`build_transformer` / :func:`load_model`.
        name: label for tables and messages.
        max_batch_tokens: windows of similar length are batched, at most this many steps per
            batch (memory); the scores do not depend on it.

    Lesson: 06_transformer
    """

    def __init__(self, model: keras.Model, name: str = "Transformer", max_batch_tokens: int = 32_768):
        if isinstance(max_batch_tokens, bool) or int(max_batch_tokens) != max_batch_tokens or max_batch_tokens < 1:
            raise ValueError(f"max_batch_tokens is a number of steps >= 1, got {max_batch_tokens!r}.")
        self.context = context_length(model)  # also checks that this is a melody Transformer
        self.model = model
        self.name = str(name)
        self.max_batch_tokens = int(max_batch_tokens)

    def __repr__(self) -> str:
        return f"TransformerScorer({self.model.name!r}, name={self.name!r})"

    def log2_probs(self, tunes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """log2 probability the model gives each token of each tune, given the tune before it.

        Returns:
            One float64 array per tune, of shape ``(len(tune),)``, in bits (log base 2).

        Raises:
            ValueError: a token outside the vocabulary.
        """
        targets = [s.astype(np.int32) for s in lstm.check_tunes(tunes)]
        result = [np.zeros(len(t)) for t in targets]
        jobs = [(i, start, first, end) for i, t in enumerate(targets) if len(t)
                for start, first, end in scoring_windows(len(t), self.context)]
        jobs.sort(key=lambda job: job[3] - job[1])
        fn = _log_softmax_fn(self.model)
        a = 0
        while a < len(jobs):
            # grow the batch while (windows x widest window) stays within the budget; sorted by width
            b = a + 1
            while b < len(jobs) and (b + 1 - a) * (jobs[b][3] - jobs[b][1]) <= self.max_batch_tokens:
                b += 1
            batch = jobs[a:b]
            width = max(end - start for _, start, _, end in batch)
            xb = np.full((len(batch), width), END, dtype=np.int32)  # what the model reads: START + tune[:-1]
            yb = np.full((len(batch), width), END, dtype=np.int32)  # what it must predict: the tune
            for row, (i, start, _, end) in enumerate(batch):
                inputs = np.concatenate([[START], targets[i][:-1]])
                xb[row, :end - start] = inputs[start:end]
                yb[row, :end - start] = targets[i][start:end]
            log_probs = np.asarray(fn(tf.constant(xb)), dtype=np.float64)
            picked = np.take_along_axis(log_probs, yb[..., None], axis=-1)[..., 0] / np.log(2)
            for row, (i, start, first, end) in enumerate(batch):
                result[i][first:end] = picked[row, first - start:end - start]
            a = b
        return result
