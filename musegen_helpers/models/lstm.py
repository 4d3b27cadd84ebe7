"""An LSTM that writes melodies one sixteenth note at a time, and fast ways to sample from it.

The model reads event tokens (see :mod:`musegen_helpers.representation`: ``0–127`` a new
note of that MIDI pitch, ``HOLD``, ``REST``, ``END``) and predicts the next token at every
step::

    tokens (batch, steps) int32 -> Embedding -> LSTM (return_sequences) [-> LSTM ...]
                                 -> Dropout -> Dense(vocab) logits

**Where a tune starts.** Every tune is fed as ``[END] + tune + [END]``: the leading ``END``
means "the previous tune is over", so it doubles as a start-of-tune marker without adding a
token to the vocabulary. The model is trained (and scored, see :class:`LSTMScorer`) on
predicting every token after that marker, the final ``END`` included; generation starts from
the same marker. An n-gram that pads each tune with its own start symbol sees the same first
context, so ``scoring.bits_per_token`` compares the two on the same tokens.

**Generating fast.** The textbook loop calls ``model.predict`` on the whole growing melody at
every step: each new note re-reads everything before it, and every call pays Keras's start-up
cost. An LSTM does not need that: its state ``(h, c)`` already summarises the past, so one
step costs one small matrix product. :class:`MelodySampler` carries the state from step to
step inside one XLA-compiled TensorFlow loop (hundreds of times faster), or in plain NumPy
(:class:`NumpyLSTM`, the same arithmetic written out for reading). :func:`naive_generate` is
the textbook loop, kept for comparison.

Units: one token = one grid step (a sixteenth note with ``steps_per_quarter=4``).

Lesson: 03_lstm
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

# TensorFlow is imported quietly by musegen_helpers.models (see its __init__)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from ..config import PRETRAINED_DIR, check_seed  # noqa: E402
from ..errors import LimitError  # noqa: E402
from ..representation import END, VOCAB_SIZE  # noqa: E402
from .saving import load_info, load_model, save_model  # noqa: E402,F401 - the shared model saver

__all__ = [
    "START", "MAX_GENERATE_STEPS", "PRETRAINED_PATH",
    "build_melody_model", "build_legacy_model", "make_windows", "tune_windows", "train",
    "LiveLossPlot", "save_model", "load_model", "load_pretrained", "pretrained_info",
    "lstm_cell_step", "NumpyLSTM", "MelodySampler", "naive_generate",
    "next_token_probabilities", "LSTMScorer",
    # shared with the other sequence models (models/transformer.py): one check, one filter
    "check_tunes", "check_generate_args", "allowed_tokens", "filter_logits", "cut_at_end",
]

START = END  # the token fed before a tune's first note: "the previous tune has ended"
MAX_GENERATE_STEPS = 20_000  # 1250 bars of 4/4 in sixteenths; a longer request is almost surely a typo
PRETRAINED_PATH = PRETRAINED_DIR / "lstm_melody.keras"


# ---------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------
def _sparse_loss():
    # Average the loss over real tokens only: padded steps carry sample weight 0
    # (this reduction is why requirements.txt asks for Keras >= 3.10).
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")


def build_melody_model(vocab_size: int = VOCAB_SIZE, embedding_dim: int = 64, units: int = 256,
                       layers: int = 1, dropout: float = 0.2, learning_rate: float = 1e-3,
                       n_conditions: int = 0, seed: int | None = None,
                       name: str = "melody_lstm") -> keras.Model:
    """Next-token LSTM over event tokens, compiled and ready for :func:`train`.

    Args:
        vocab_size: number of token kinds (131: 128 pitches, HOLD, REST, END).
        embedding_dim: size of the vector that stands for each token. An embedding is a
            learnt table, so C4 and D4 can end up close; a one-hot input keeps every token
            equally far from every other.
        units: size of the LSTM state (its memory of the tune so far).
        layers: number of stacked LSTM layers.
        dropout: fraction of the LSTM outputs zeroed during training (between stacked
            layers and before the output layer) — fights memorising the training tunes.
        learning_rate: Adam's step size; gradients are clipped to norm 1.0 so one odd batch
            cannot throw the weights far away (LSTMs are prone to such spikes).
        n_conditions: when > 0, the model takes a second input ``condition`` (one int per
            tune, e.g. a key or meter index in ``[0, n_conditions)``), embedded and added to
            every step's token vector.
        seed: seed for the initial weights and dropout (same seed, same model).

    Returns:
        A compiled ``keras.Model``: input ``tokens`` (batch, steps) int32 → logits
        (batch, steps, vocab_size). Loss: sparse categorical cross-entropy on logits, in nats
        per token (divide by ln 2 for bits).

    Lesson: 03_lstm
    """
    for label, value, low in (("vocab_size", vocab_size, 2), ("embedding_dim", embedding_dim, 1),
                              ("units", units, 1), ("layers", layers, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"{label} must be a whole number >= {low}, got {value!r}.")
    if vocab_size <= END:
        raise ValueError(f"vocab_size must be at least {END + 1}: the model reads END ({END}) as its "
                         f"start-of-tune marker; the event tokens need {VOCAB_SIZE}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout is the fraction of outputs dropped, in [0, 1); got {dropout!r}.")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0 (1e-3 is a good start for Adam), got {learning_rate!r}.")
    if n_conditions < 0:
        raise ValueError(f"n_conditions must be >= 0 (0 = no conditioning), got {n_conditions!r}.")
    init = (lambda k: keras.initializers.GlorotUniform(seed=None if seed is None else seed + k))
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(vocab_size, embedding_dim, embeddings_initializer=keras.initializers.RandomUniform(
        -0.05, 0.05, seed=seed), name="embedding")(tokens)
    inputs = [tokens]
    if n_conditions:
        condition = keras.Input(shape=(1,), dtype="int32", name="condition")
        c = keras.layers.Embedding(n_conditions, embedding_dim, embeddings_initializer=keras.initializers.RandomUniform(
            -0.05, 0.05, seed=None if seed is None else seed + 99), name="condition_embedding")(condition)
        x = keras.layers.Add(name="add_condition")([x, c])  # (batch, 1, dim) broadcasts over steps
        inputs.append(condition)
    for k in range(int(layers)):
        x = keras.layers.LSTM(int(units), return_sequences=True, kernel_initializer=init(2 * k + 1),
                              recurrent_initializer=keras.initializers.Orthogonal(
                                  seed=None if seed is None else seed + 2 * k + 2),
                              name=f"lstm_{k + 1}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=seed, name=f"dropout_{k + 1}")(x)
    logits = keras.layers.Dense(vocab_size, kernel_initializer=init(50), name="logits")(x)
    model = keras.Model(inputs if n_conditions else tokens, logits, name=name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=1.0),
                  loss=_sparse_loss())
    return model


def build_legacy_model(seq_length: int, pitch_count: int) -> keras.Model:
    """The classic tutorial model, in working Keras 3 form.

    Old tutorials write ``LSTM(128, input_shape=(seq_length, pitch_count))`` and
    ``RMSprop(lr=0.01)``; Keras 3 rejects both (``input_shape`` on a layer, and ``lr``). The
    same model today: one-hot input of shape ``(seq_length, pitch_count)`` per example,
    ``LSTM(128, return_sequences=True)``, ``Dense(pitch_count, softmax)``, RMSprop with
    ``learning_rate=0.01``, categorical cross-entropy on one-hot targets.

    Lesson: 03_lstm
    """
    if seq_length is not None and (int(seq_length) != seq_length or seq_length < 1):
        raise ValueError(f"seq_length must be a whole number of steps >= 1 (or None), got {seq_length!r}.")
    if int(pitch_count) != pitch_count or pitch_count < 2:
        raise ValueError(f"pitch_count must be a whole number >= 2, got {pitch_count!r}.")
    model = keras.Sequential([
        keras.Input(shape=(seq_length, pitch_count)),
        keras.layers.LSTM(128, return_sequences=True),
        keras.layers.Dense(pitch_count, activation="softmax"),
    ], name="legacy_lstm")
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01), loss="categorical_crossentropy")
    return model


def _lstm_layers(model) -> list:
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    if not layers:
        raise ValueError(f"model {model.name!r} has no LSTM layer; build it with build_melody_model().")
    return layers


def _parts(model):
    """(embedding, [(kernel, recurrent_kernel, bias), ...], dense kernel, dense bias, condition table|None)
    as backend variables — always the model's current weights."""
    try:
        emb = model.get_layer("embedding").embeddings
        dense = model.get_layer("logits")
    except ValueError:
        raise ValueError(
            f"model {model.name!r} is not a melody model (it needs layers 'embedding', 'lstm_N' and "
            "'logits'); build it with build_melody_model() or load one with load_model()."
        ) from None
    cells = []
    for layer in _lstm_layers(model):
        cell = layer.cell
        if not cell.use_bias:
            raise ValueError("the fast samplers expect LSTM layers with a bias (use_bias=True).")
        cells.append((cell.kernel, cell.recurrent_kernel, cell.bias))
    cond = None
    if "condition" in [i.name for i in model.inputs]:
        cond = model.get_layer("condition_embedding").embeddings
    return emb, cells, dense.kernel, dense.bias, cond


def _n_conditions(model) -> int:
    emb = _parts(model)[4]
    return 0 if emb is None else int(emb.shape[0])


# ---------------------------------------------------------------------------------------
# Data: windows of tunes
# ---------------------------------------------------------------------------------------
def tune_windows(token_sequences: Sequence[np.ndarray], window: int | None = 128, stride: int | None = None,
                 add_end: bool = True, conditions: Sequence[int] | None = None):
    """Cut tunes into training windows, in NumPy (the first half of :func:`make_windows`).

    Each tune becomes ``[START] + tune (+ [END])``; windows of ``window + 1`` tokens start at
    ``0, stride, 2*stride, ...`` *within* that tune (never across two tunes), so the first window
    of a tune sees its beginning. Input = window[:-1], target = window[1:] (the next token).
    A window that runs past the end of the tune is padded with ``END`` and weight 0, so short
    tunes are kept and padding never counts in the loss. ``window=None`` keeps each whole tune
    as one window (padded to the longest tune).

    Returns:
        ``(inputs, targets, weights)`` arrays of shape (n_windows, window) — int32, int32,
        float32 — plus ``conds`` (n_windows,) int32 when ``conditions`` is given.

    Lesson: 03_lstm
    """
    seqs = check_tunes(token_sequences, conditions, allow_none=False)
    full = [np.concatenate([[START], s[s != END] if add_end else s, [END] if add_end else []]).astype(np.int32)
            for s in seqs]
    if window is None:
        window = max(len(f) for f in full) - 1
    if int(window) != window or window < 1:
        raise ValueError(f"window must be a whole number of steps >= 1 (or None for whole tunes), got {window!r}.")
    window = int(window)
    stride = window if stride is None else int(stride)
    if stride < 1:
        raise ValueError(f"stride must be >= 1 step, got {stride!r}.")
    ins, outs, weights, conds = [], [], [], []
    for t, f in enumerate(full):
        n_pred = len(f) - 1  # tokens to predict in this tune
        for a in range(0, max(n_pred, 1), stride):
            piece = f[a:a + window + 1]
            real = len(piece) - 1
            if real < 1:
                break
            padded = np.full(window + 1, END, dtype=np.int32)
            padded[:len(piece)] = piece
            w = np.zeros(window, dtype=np.float32)
            w[:real] = 1.0
            ins.append(padded[:-1])
            outs.append(padded[1:])
            weights.append(w)
            if conditions is not None:
                conds.append(int(conditions[t]))
            if a + window >= n_pred:
                break
    result = (np.stack(ins), np.stack(outs), np.stack(weights))
    if conditions is not None:
        result = result + (np.asarray(conds, dtype=np.int32),)
    return result


def _transpose_windows(x, y, w, shift_range: int, seed):
    """Shift every pitch token of a batch of windows by one random number of semitones per window
    (data augmentation: the same tune in another key). A shift that would leave 0–127 is not applied."""
    n = tf.shape(x)[0]
    shift = tf.random.stateless_uniform([n, 1], seed=seed, minval=-shift_range, maxval=shift_range + 1,
                                        dtype=tf.int32)

    def move(t):
        return tf.where(t < 128, t + shift, t)

    nx, ny = move(x), move(y)
    ok = tf.reduce_all(((nx >= 0) & (nx < 128)) | (x >= 128), axis=1, keepdims=True)
    ok &= tf.reduce_all(((ny >= 0) & (ny < 128)) | (y >= 128), axis=1, keepdims=True)
    return tf.where(ok, nx, x), tf.where(ok, ny, y), w


def make_windows(token_sequences: Sequence[np.ndarray], window: int | None = 128, stride: int | None = None,
                 batch_size: int = 64, shuffle: bool = True, seed: int = 0, add_end: bool = True,
                 conditions: Sequence[int] | None = None, transpose: int = 0) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of (input, target, weight) batches for :func:`train`.

    Windows come from :func:`tune_windows` (target = input shifted by one step; each tune starts
    with its own context; padded steps have weight 0). They are shuffled with ``seed``
    (reshuffled every epoch, same order for the same seed), batched and prefetched.

    Args:
        token_sequences: one int array of tokens per tune (``dataset.tokens()``).
        window: steps per training example (``None``: whole tunes).
        stride: steps between window starts within a tune (default ``window``: no overlap).
        batch_size: windows per batch.
        shuffle: shuffle windows (training); turn off for validation and test data.
        seed: shuffling / augmentation seed.
        add_end: append ``END`` to each tune so the model learns where tunes stop.
        conditions: one int per tune (key/meter index) for a model built with ``n_conditions``.
        transpose: when > 0, each window is moved by a random number of semitones in
            ``[-transpose, transpose]`` every epoch (augmentation).

    Lesson: 03_lstm
    """
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}.")
    arrays = tune_windows(token_sequences, window, stride, add_end, conditions)
    x, y, w = arrays[:3]
    ds = tf.data.Dataset.from_tensor_slices((x, y, w) if conditions is None else ((x, arrays[3]), y, w))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(int(batch_size))
    if transpose:
        if conditions is not None:
            raise ValueError("transpose augmentation would make key conditions wrong; use one or the other.")
        counter = tf.data.Dataset.counter()
        ds = tf.data.Dataset.zip((ds, counter)).map(
            lambda batch, i: _transpose_windows(*batch, int(transpose), tf.stack([tf.cast(seed, tf.int64), i])),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if conditions is not None:
        ds = ds.map(lambda xc, y_, w_: ({"tokens": xc[0], "condition": xc[1][:, None]}, y_, w_))
    return ds.prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------
def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class LiveLossPlot(keras.callbacks.Callback):
    """Redraw the training and validation loss (bits per token) after every epoch, in place.

    Falling training loss with rising validation loss is overfitting: the model is learning
    the training tunes by heart instead of how tunes go.

    Lesson: 03_lstm
    """

    def __init__(self, title: str = "LSTM training"):
        super().__init__()
        self.title = title
        self.history: dict[str, list[float]] = {"loss": [], "val_loss": []}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for key in self.history:
            if key in logs:
                self.history[key].append(float(logs[key]) / math.log(2))
        import matplotlib.pyplot as plt
        from IPython.display import clear_output, display

        fig, ax = plt.subplots(figsize=(6, 3.2))
        for key, label in (("loss", "training"), ("val_loss", "validation")):
            if self.history[key]:
                ax.plot(range(1, len(self.history[key]) + 1), self.history[key], "o-", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel("bits per token")
        ax.set_title(self.title)
        ax.legend()
        ax.grid(alpha=0.3)
        clear_output(wait=True)
        display(fig)
        plt.close(fig)


def train(model: keras.Model, train_ds, valid_ds=None, epochs: int = 10, callbacks: Iterable = (),
          patience: int = 3, live_plot: bool | None = None, verbose: int | str = "auto",
          title: str = "LSTM training"):
    """Fit ``model`` on batches from :func:`make_windows`, with early stopping.

    Stops when the validation loss has not improved for ``patience`` epochs and puts back the
    weights of the best epoch. In a notebook (``live_plot=None`` detects it) the loss curves
    are redrawn after every epoch, under ``title``; Keras prints a progress bar (``verbose``).
    Any Keras model of token windows trains this way (the Transformer of lesson 06, too).

    Returns:
        The Keras ``History`` (losses in nats per token; divide by ``math.log(2)`` for bits).

    Lesson: 03_lstm
    """
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a whole number >= 1, got {epochs!r}.")
    cbs = list(callbacks)
    if valid_ds is not None and patience:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(patience),
                                                 restore_best_weights=True))
    if live_plot is None:
        live_plot = _in_notebook()
    if live_plot:
        cbs.append(LiveLossPlot(title))  # the figure replaces the finished epoch's progress bar
    return model.fit(train_ds, validation_data=valid_ds, epochs=int(epochs), callbacks=cbs, verbose=verbose,
                     shuffle=False)  # make_windows already shuffles


# ---------------------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------------------
# save_model / load_model: the one saver every model shares (models/saving.py), imported above.


def load_pretrained(path=None) -> keras.Model:
    """The course's pretrained melody LSTM (trained on the Essen/O'Neill training split).

    Lesson: 03_lstm
    """
    p = Path(path) if path is not None else PRETRAINED_PATH
    if not p.is_file():
        raise FileNotFoundError(f"{p}: the pretrained LSTM is missing; rebuild it with "
                                "`python scripts/train_pretrained_lstm.py`.")
    return load_model(p)


def pretrained_info(path=None) -> dict:
    """The JSON next to the pretrained model: its configuration, losses and training time."""
    return load_info(Path(path) if path is not None else PRETRAINED_PATH)


# ---------------------------------------------------------------------------------------
# One LSTM step in NumPy — the arithmetic, written out
# ---------------------------------------------------------------------------------------
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_cell_step(x, h, c, kernel, recurrent_kernel, bias):
    """One LSTM step: new hidden state ``h`` and cell state ``c`` from input vector ``x``.

    Keras packs the four gates side by side in the order input, forget, candidate, output::

        z = x @ kernel + h @ recurrent_kernel + bias       # (4 * units,)
        i, f, g, o = sigmoid(z_i), sigmoid(z_f), tanh(z_g), sigmoid(z_o)
        c = f * c + i * g     # forget some of the old memory, write some new
        h = o * tanh(c)       # what the cell shows to the next layer

    Lesson: 03_lstm
    """
    z = x @ kernel + h @ recurrent_kernel + bias
    zi, zf, zg, zo = np.split(z, 4, axis=-1)
    c = _sigmoid(zf) * c + _sigmoid(zi) * np.tanh(zg)
    h = _sigmoid(zo) * np.tanh(c)
    return h, c


def _softmax(logits):
    z = logits - np.max(logits, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class NumpyLSTM:
    """The melody model's forward pass in NumPy, one token at a time, state carried along.

    ``step(token, state)`` → ``(probabilities of the next token, new state)``. Copies the
    model's weights when created (make a new one after training).

    Lesson: 03_lstm
    """

    def __init__(self, model: keras.Model, condition: int | None = None):
        emb, cells, dk, db, cond = _parts(model)
        as_np = keras.ops.convert_to_numpy
        self.embedding = as_np(emb).astype(np.float64)
        self.cells = [tuple(as_np(w).astype(np.float64) for w in cell) for cell in cells]
        self.dense_kernel = as_np(dk).astype(np.float64)
        self.dense_bias = as_np(db).astype(np.float64)
        self.condition_vector = 0.0
        if cond is not None:
            if condition is None:
                raise ValueError("this model is conditioned: pass condition=<int> (e.g. a key index).")
            self.condition_vector = as_np(cond).astype(np.float64)[int(condition)]
        self.units = [cell[1].shape[0] for cell in self.cells]

    def initial_state(self):
        """Zero hidden and cell states for every layer, as at the start of a tune."""
        return [(np.zeros(u), np.zeros(u)) for u in self.units]

    def logits_step(self, token: int, state):
        x = self.embedding[int(token)] + self.condition_vector
        new_state = []
        for (kernel, recurrent, bias), (h, c) in zip(self.cells, state):
            h, c = lstm_cell_step(x, h, c, kernel, recurrent, bias)
            new_state.append((h, c))
            x = h
        return x @ self.dense_kernel + self.dense_bias, new_state

    def step(self, token: int, state):
        logits, state = self.logits_step(token, state)
        return _softmax(logits), state

    def run(self, tokens: Sequence[int]):
        """Logits after every token of ``tokens`` (fed from a zero state): shape (len, vocab)."""
        state = self.initial_state()
        out = []
        for t in tokens:
            logits, state = self.logits_step(t, state)
            out.append(logits)
        return np.array(out), state


# ---------------------------------------------------------------------------------------
# Sampling helpers shared by every generator
# ---------------------------------------------------------------------------------------
def check_tunes(token_sequences, conditions=None, allow_none: bool = True) -> list[np.ndarray]:
    """The tunes as 1-D token arrays, after checking every token is in the vocabulary and that
    there is one condition per tune (when conditions are given)."""
    seqs = [np.asarray(s) for s in token_sequences]
    if not seqs and not allow_none:
        raise ValueError("no tunes given: pass a list of token arrays, e.g. dataset.tokens().")
    for i, s in enumerate(seqs):
        if s.ndim != 1 or (s.size and (s.min() < 0 or s.max() >= VOCAB_SIZE)):
            raise ValueError(f"tune {i} is not a 1-D array of tokens in [0, {VOCAB_SIZE}); "
                             "encode melodies with melody_to_tokens().")
    if conditions is not None and len(conditions) != len(seqs):
        raise ValueError(f"got {len(conditions)} conditions for {len(seqs)} tunes; give one per tune.")
    return seqs


def check_generate_args(length, temperature, top_k, top_p, primer, vocab_size):
    """Check a generator's arguments (the same rules for every sampler of the course); return
    ``(length, primer as an int32 array)``. Raises ValueError / LimitError saying what to change."""
    if isinstance(length, (bool, str)) or int(length) != length or length < 1:
        raise ValueError(f"length is a number of steps (sixteenth notes) >= 1, got {length!r}.")
    if length > MAX_GENERATE_STEPS:
        raise LimitError(f"length={int(length)} steps is over the limit of {MAX_GENERATE_STEPS} "
                         f"(about {MAX_GENERATE_STEPS // 16} bars of 4/4); generate in shorter pieces, or raise "
                         "musegen_helpers.models.lstm.MAX_GENERATE_STEPS if you really mean it.")
    try:
        temperature = float(temperature)
    except (TypeError, ValueError):
        raise ValueError(f"temperature must be a number >= 0, got {temperature!r}.") from None
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = always the likeliest token, 1 = as trained), "
                         f"got {temperature!r}.")
    if top_k is not None and (isinstance(top_k, (bool, str)) or int(top_k) != top_k or not 1 <= top_k <= vocab_size):
        raise ValueError(f"top_k keeps the k likeliest tokens: a whole number in 1..{vocab_size}, or None; "
                         f"got {top_k!r}.")
    if top_p is not None and (isinstance(top_p, (bool, str)) or not 0.0 < top_p <= 1.0):
        raise ValueError(f"top_p is a probability mass in (0, 1], or None; got {top_p!r}.")
    primer = np.zeros(0, dtype=np.int32) if primer is None else np.asarray(primer)
    if primer.ndim != 1 or (primer.size and (primer.min() < 0 or primer.max() >= vocab_size)):
        raise ValueError(f"primer must be a 1-D list of tokens in [0, {vocab_size}), e.g. melody_to_tokens(piece).")
    if primer.size > MAX_GENERATE_STEPS:
        raise LimitError(f"the primer is {primer.size} steps, over the limit of {MAX_GENERATE_STEPS}.")
    return int(length), primer.astype(np.int32)


def allowed_tokens(vocab_size: int, key, stop_at_end: bool) -> np.ndarray:
    """Boolean mask of tokens the sampler may pick: in the key (when given), END only if we stop at it."""
    if key is not None:
        from ..sampling import key_mask
        allowed = np.asarray(key_mask(key, vocab_size), dtype=bool)
    else:
        allowed = np.ones(vocab_size, dtype=bool)
    if not stop_at_end and END < vocab_size:
        allowed = allowed.copy()
        allowed[END] = False
    if not allowed.any():
        raise ValueError("the key mask allows no token at all; check the key name (e.g. 'G major').")
    return allowed


def cut_at_end(tokens: np.ndarray, stop_at_end: bool) -> np.ndarray:
    """The tokens before the first ``END`` (when ``stop_at_end``), else all of them."""
    if stop_at_end:
        hits = np.flatnonzero(tokens == END)
        if hits.size:
            return tokens[:hits[0]]
    return tokens


def _bucket(n: int, smallest: int) -> int:
    """Round up to a power of two so the compiled sampler is reused for nearby lengths."""
    return max(smallest, 1 << (max(int(n), 1) - 1).bit_length())


# ---------------------------------------------------------------------------------------
# The fast sampler: one XLA-compiled loop, state carried from step to step
# ---------------------------------------------------------------------------------------
_NEG = -1e9  # "impossible" logit: exp() underflows to exactly 0 without inf - inf = nan


def filter_logits(logits, temperature, top_k, top_p, allowed):
    """Temperature, key mask, top-k and nucleus (top-p) filtering of one step's logits (vocab,)."""
    scaled = tf.where(temperature > 0, logits / tf.maximum(temperature, 1e-6), logits)
    scaled = tf.where(allowed, scaled, _NEG)
    vocab = tf.shape(scaled)[0]
    ordered = tf.sort(scaled, direction="DESCENDING")
    kth = tf.gather(ordered, tf.clip_by_value(top_k, 1, vocab) - 1)
    scaled = tf.where((top_k > 0) & (scaled < kth), _NEG, scaled)
    probs = tf.nn.softmax(scaled)
    sorted_probs = tf.sort(probs, direction="DESCENDING")
    before = tf.cumsum(sorted_probs, exclusive=True)  # mass of the tokens likelier than this one
    n_keep = tf.maximum(tf.reduce_sum(tf.cast(before < top_p, tf.int32)), 1)
    threshold = tf.gather(sorted_probs, n_keep - 1)
    scaled = tf.where((top_p < 1.0) & (probs < threshold), _NEG, scaled)
    return scaled


def _xla_generate_for(weight_shapes: tuple):
    """The compiled sampling loop for models whose weights have these shapes (one per model size).

    One ``tf.function`` for all sizes would, with ``reduce_retracing``, generalise its trace to
    unknown sizes; XLA then compiles the while loop with the first model's state shapes and a
    second model of other sizes fails ("In[0]: [1,256] vs [64,256]"). Per size, lengths may still
    generalise, so a new melody length compiles at most twice.
    """
    fn = _XLA_BY_SHAPES.get(weight_shapes)
    if fn is None:
        fn = _XLA_BY_SHAPES[weight_shapes] = tf.function(_xla_generate, jit_compile=True, reduce_retracing=True)
    return fn


_XLA_BY_SHAPES: dict = {}


def _xla_generate(embedding, cells, dense_kernel, dense_bias, condition_vector, primer, primer_len,
                  out_buffer, n_new, temperature, top_k, top_p, allowed, seed):
    """Feed START + primer[:primer_len], then sample n_new tokens; all in one compiled loop.

    Step t feeds one token and computes the distribution of the next: t = 0 feeds START,
    1..primer_len feed the primer, later steps feed the token sampled at the step before.
    Returns (tokens (buffer,), probabilities of the first new token at temperature 1 (vocab,)).
    """
    units = [tf.shape(rec)[0] for _, rec, _ in cells]
    state = tuple((tf.zeros([1, u]), tf.zeros([1, u])) for u in units)
    total = primer_len + n_new
    first_probs = tf.zeros([tf.shape(dense_bias)[0]])

    def body(t, token, state, out, first_probs):
        x = tf.gather(embedding, token)[None, :] + condition_vector
        new_state = []
        for (kernel, recurrent, bias), (h, c) in zip(cells, state):
            z = tf.matmul(x, kernel) + tf.matmul(h, recurrent) + bias
            zi, zf, zg, zo = tf.split(z, 4, axis=1)
            c = tf.sigmoid(zf) * c + tf.sigmoid(zi) * tf.tanh(zg)
            h = tf.sigmoid(zo) * tf.tanh(c)
            new_state.append((h, c))
            x = h
        logits = (tf.matmul(x, dense_kernel) + dense_bias)[0]
        first_probs = tf.where(t == primer_len, tf.nn.softmax(logits), first_probs)
        filtered = filter_logits(logits, temperature, top_k, top_p, allowed)
        drawn = tf.random.stateless_categorical(filtered[None, :], 1, seed=tf.stack([seed, t]), dtype=tf.int32)[0, 0]
        greedy = tf.argmax(filtered, output_type=tf.int32)
        sampled = tf.where(temperature > 0, drawn, greedy)
        is_new = t >= primer_len
        out = tf.tensor_scatter_nd_update(out, [[tf.maximum(t - primer_len, 0)]],
                                          [tf.where(is_new, sampled, out[tf.maximum(t - primer_len, 0)])])
        next_token = tf.where(is_new, sampled, tf.gather(primer, tf.minimum(t, tf.shape(primer)[0] - 1)))
        return t + 1, next_token, tuple(new_state), out, first_probs

    _, _, _, out, first_probs = tf.while_loop(
        lambda t, *_: t < total, body,
        (tf.constant(0), tf.constant(START, tf.int32), state, out_buffer, first_probs))
    return out, first_probs


class MelodySampler:
    """Generate melodies from a melody LSTM, carrying its state from step to step.

    ``backend="xla"`` runs the whole loop as one compiled TensorFlow function (the first call
    for a new length compiles it, about a second; later calls take milliseconds);
    ``backend="numpy"`` runs :class:`NumpyLSTM` and ``musegen_helpers.sampling.sample``.
    Both read the model's current weights.

    Lesson: 03_lstm
    """

    def __init__(self, model: keras.Model, backend: str = "xla"):
        if backend not in ("xla", "numpy"):
            raise ValueError(f"backend must be 'xla' or 'numpy', got {backend!r}.")
        _parts(model)  # fail early on a model of the wrong kind
        self.model = model
        self.backend = backend
        self.vocab_size = int(model.get_layer("logits").units)

    def _tensors(self, condition):
        emb, cells, dk, db, cond = _parts(self.model)
        value = lambda v: v.value if hasattr(v, "value") else v  # noqa: E731 - the backend tf.Variable
        if cond is None:
            if condition is not None:
                raise ValueError("this model is not conditioned; leave condition=None.")
            cvec = tf.zeros([1, emb.shape[1]])
        else:
            if condition is None or not 0 <= int(condition) < cond.shape[0]:
                raise ValueError(f"this model is conditioned: pass condition=<int in 0..{cond.shape[0] - 1}>.")
            cvec = tf.gather(value(cond), [int(condition)])
        return value(emb), tuple(tuple(value(w) for w in c) for c in cells), value(dk), value(db), cvec

    def _run_xla(self, length, temperature, top_k, top_p, allowed, primer, seed, condition):
        emb, cells, dk, db, cvec = self._tensors(condition)
        primer_buf = np.zeros(_bucket(len(primer), 16), dtype=np.int32)
        primer_buf[:len(primer)] = primer
        shapes = tuple(tuple(t.shape) for t in (emb, dk, db, cvec)) + tuple(tuple(w.shape) for c in cells for w in c)
        out, first = _xla_generate_for(shapes)(
            emb, cells, dk, db, cvec, tf.constant(primer_buf), tf.constant(len(primer), tf.int32),
            tf.zeros([_bucket(length, 64)], tf.int32), tf.constant(length, tf.int32),
            tf.constant(float(temperature), tf.float32), tf.constant(0 if top_k is None else int(top_k), tf.int32),
            tf.constant(1.0 if top_p is None else float(top_p), tf.float32), tf.constant(allowed),
            tf.constant(int(seed) % 2**31, tf.int32))
        return out.numpy()[:length], first.numpy()

    def _run_numpy(self, length, temperature, top_k, top_p, allowed, primer, seed, condition):
        from ..sampling import sample
        net = NumpyLSTM(self.model, condition=condition)
        rng = np.random.default_rng(seed)
        state = net.initial_state()
        probs = None
        for token in np.concatenate([[START], primer]):
            probs, state = net.step(int(token), state)
        first = probs
        out = np.zeros(length, dtype=np.int32)
        for i in range(length):
            token = int(sample(probs, rng, temperature=temperature, top_k=top_k, top_p=top_p, mask=allowed))
            out[i] = token
            if i + 1 < length:
                probs, state = net.step(token, state)
        return out, first

    def generate(self, length: int = 256, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, key: str | None = None, primer=None, seed: int = 0,
                 condition: int | None = None, stop_at_end: bool = False) -> np.ndarray:
        """Sample ``length`` new tokens (grid steps), after an optional ``primer``.

        Args:
            length: number of new tokens (16 per bar of 4/4 at sixteenth-note resolution).
            temperature: 0 = always the likeliest token (greedy), 1 = the model's own
                probabilities, > 1 = more surprising.
            top_k: sample only among the k likeliest tokens.
            top_p: sample only among the likeliest tokens that together hold this much
                probability (nucleus sampling).
            key: e.g. ``'G major'``: pitches outside the key's scale are never chosen.
            primer: tokens the melody starts with (the model reads them first); not repeated
                in the result.
            seed: same seed, same melody.
            condition: the key/meter index of a conditioned model.
            stop_at_end: True: stop when the model chooses ``END`` (the result may be shorter);
                False: ``END`` is never chosen, you get exactly ``length`` tokens.

        Returns:
            ``int32`` array of new tokens (no primer, no ``END``).
        """
        length, primer = check_generate_args(length, temperature, top_k, top_p, primer, self.vocab_size)
        seed = check_seed(seed, allow_none=False)
        allowed = allowed_tokens(self.vocab_size, key, stop_at_end)
        run = self._run_xla if self.backend == "xla" else self._run_numpy
        out, _ = run(length, temperature, top_k, top_p, allowed, primer, seed, condition)
        return cut_at_end(np.asarray(out, dtype=np.int32), stop_at_end)

    def next_token_probabilities(self, context=None, condition: int | None = None) -> np.ndarray:
        """The model's distribution (temperature 1, no filters) of the token after START + ``context``."""
        _, primer = check_generate_args(1, 1.0, None, None, context, self.vocab_size)
        allowed = np.ones(self.vocab_size, dtype=bool)
        run = self._run_xla if self.backend == "xla" else self._run_numpy
        return np.asarray(run(1, 0.0, None, None, allowed, primer, 0, condition)[1], dtype=np.float64)


# ---------------------------------------------------------------------------------------
# The textbook loop, for comparison
# ---------------------------------------------------------------------------------------
def _model_inputs(model, tokens_2d, condition):
    if "condition" in [i.name for i in model.inputs]:
        if condition is None:
            raise ValueError("this model is conditioned: pass condition=<int>.")
        return {"tokens": tokens_2d, "condition": np.full((len(tokens_2d), 1), int(condition), np.int32)}
    return tokens_2d


def next_token_probabilities(model: keras.Model, context=None, condition: int | None = None) -> np.ndarray:
    """Distribution of the token after START + ``context`` from one ``model.predict`` call."""
    _, primer = check_generate_args(1, 1.0, None, None, context, int(model.output_shape[-1]))
    window = np.concatenate([[START], primer]).astype(np.int32)[None, :]
    logits = model.predict(_model_inputs(model, window, condition), verbose=0)[0, -1]
    return _softmax(np.asarray(logits, dtype=np.float64))


def naive_generate(model: keras.Model, length: int = 64, temperature: float = 1.0, top_k: int | None = None,
                   top_p: float | None = None, key: str | None = None, primer=None, seed: int = 0,
                   condition: int | None = None, stop_at_end: bool = False) -> np.ndarray:
    """The loop most tutorials show: call ``model.predict`` on the whole melody so far, take the
    last step's distribution, sample a token, append it, repeat. Step n re-reads n tokens, and
    every call pays Keras's set-up cost — compare with :class:`MelodySampler`.

    Same arguments as :meth:`MelodySampler.generate`; sampling uses ``musegen_helpers.sampling``.

    Lesson: 03_lstm
    """
    from ..sampling import sample
    vocab = int(model.output_shape[-1])
    length, primer = check_generate_args(length, temperature, top_k, top_p, primer, vocab)
    allowed = allowed_tokens(vocab, key, stop_at_end)
    rng = np.random.default_rng(check_seed(seed, allow_none=False))
    melody = [START] + [int(t) for t in primer]
    new = []
    for _ in range(length):
        window = np.array([melody], dtype=np.int32)
        logits = model.predict(_model_inputs(model, window, condition), verbose=0)[0, -1]
        probs = _softmax(np.asarray(logits, dtype=np.float64))
        token = int(sample(probs, rng, temperature=temperature, top_k=top_k, top_p=top_p, mask=allowed))
        new.append(token)
        melody.append(token)
        if stop_at_end and token == END:
            break
    return cut_at_end(np.array(new, dtype=np.int32), stop_at_end)


# ---------------------------------------------------------------------------------------
# Scoring held-out tunes
# ---------------------------------------------------------------------------------------
def _log_softmax_fn(model):
    """A compiled ``tokens -> log-probabilities`` function per model, traced once for any batch shape
    (calling the model eagerly runs its LSTM loop step by step in Python: many times slower)."""
    fn = model.__dict__.get("_musegen_log_softmax")
    if fn is None:
        fn = tf.function(lambda inputs: tf.nn.log_softmax(model(inputs, training=False), axis=-1),
                         reduce_retracing=True)
        object.__setattr__(model, "_musegen_log_softmax", fn)  # kept off Keras's layer/weight tracking
    return fn


class LSTMScorer:
    """A melody LSTM as a *scorer* (the protocol of :mod:`musegen_helpers.scoring`), so that
    ``scoring.bits_per_token(LSTMScorer(model), tunes)`` measures it exactly as an n-gram.

    Each tune is read from its own start: it is fed as ``[START] + tune[:-1]`` and every token of
    the tune *as given* is scored, the first from the start marker alone — the same tokens an
    n-gram scores when it pads each tune with its start symbol. Append ``END`` to score where
    tunes stop (``scoring.with_end``); the model learnt it (see :func:`tune_windows`).

    Args:
        model: a melody model from :func:`build_melody_model` / :func:`load_model`.
        name: label for tables and messages.
        condition: for a conditioned model, the condition of every tune scored (an int), or one
            per tune (a sequence as long as the list of tunes later scored).
        max_batch_tokens: tunes of similar length are batched together, at most this many steps
            per batch (memory); the scores do not depend on it.

    Lesson: 03_lstm
    """

    def __init__(self, model: keras.Model, name: str = "LSTM", condition=None, max_batch_tokens: int = 65_536):
        conditioned = "condition" in [i.name for i in model.inputs]
        if conditioned and condition is None:
            raise ValueError("this model is conditioned: pass LSTMScorer(model, condition=<int>) "
                             "(or one condition per tune).")
        if not conditioned and condition is not None:
            raise ValueError("this model takes no condition; leave condition=None.")
        if isinstance(max_batch_tokens, bool) or int(max_batch_tokens) != max_batch_tokens or max_batch_tokens < 1:
            raise ValueError(f"max_batch_tokens is a number of steps >= 1, got {max_batch_tokens!r}.")
        self.model = model
        self.name = str(name)
        self.condition = condition
        self.max_batch_tokens = int(max_batch_tokens)

    def __repr__(self) -> str:
        return f"LSTMScorer({self.model.name!r}, name={self.name!r})"

    def _conditions(self, n_tunes: int):
        if self.condition is None:
            return None
        if isinstance(self.condition, (int, np.integer)):
            return [int(self.condition)] * n_tunes
        return list(self.condition)

    def log2_probs(self, tunes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """log2 probability the model gives each token of each tune, given the tune before it.

        Returns:
            One float64 array per tune, of shape ``(len(tune),)``, in bits (log base 2).

        Raises:
            ValueError: a token outside the vocabulary, or not one condition per tune.
        """
        conditions = self._conditions(len(tunes))
        seqs = check_tunes(tunes, conditions)
        targets = [s.astype(np.int32) for s in seqs]
        result: list[np.ndarray] = [np.zeros(0) for _ in seqs]
        order = sorted((i for i in range(len(seqs)) if len(targets[i])), key=lambda i: len(targets[i]))
        fn = _log_softmax_fn(self.model)
        a = 0
        while a < len(order):
            # grow the batch while (tunes x longest tune) stays within the budget; the order is by length
            b = a + 1
            while b < len(order) and (b + 1 - a) * len(targets[order[b]]) <= self.max_batch_tokens:
                b += 1
            idx = order[a:b]
            width = len(targets[idx[-1]])
            xb = np.full((len(idx), width), END, dtype=np.int32)   # what the model reads: START + tune[:-1]
            yb = np.full((len(idx), width), END, dtype=np.int32)   # what it must predict: the tune
            for row, i in enumerate(idx):
                t = targets[i]
                xb[row, 0] = START
                xb[row, 1:len(t)] = t[:-1]
                yb[row, :len(t)] = t
            inputs = xb
            if conditions is not None:
                inputs = {"tokens": xb, "condition": np.asarray(conditions, np.int32)[idx][:, None]}
            log_probs = np.asarray(fn(inputs), dtype=np.float64)
            picked = np.take_along_axis(log_probs, yb[..., None], axis=-1)[..., 0] / np.log(2)
            for row, i in enumerate(idx):
                result[i] = picked[row, :len(targets[i])]
            a = b
        return result
