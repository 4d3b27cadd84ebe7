"""Exercises of lesson 03 (LSTM): the classic model in Keras 3, training windows, temperature,
bits per token.

Importing this module does not import TensorFlow; the model check imports Keras when it runs.

Lesson: 03_lstm
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..checks import Args, check_function
from ..exercises import ____, CheckFailed, Exercise, call_learner, learner_code_line, with_expected
from ..representation import HOLD, REST

__all__ = ["____", "q2", "q1", "q3", "q4", "training_pairs", "with_temperature", "bits_per_token_of",
           "notes_outside_key", "seed_with_notes_outside", "epoch_timer"]


# ---------------------------------------------------------------------------------------
# 2. Training windows: input and target, one step apart
# ---------------------------------------------------------------------------------------
def training_pairs(tokens, window: int):
    """Reference: non-overlapping windows of ``window`` input tokens, each with the ``window``
    tokens one step later as targets; the last, incomplete window is dropped."""
    tokens = np.asarray(tokens)
    starts = range(0, len(tokens) - window, window)
    inputs = np.array([tokens[s:s + window] for s in starts], dtype=tokens.dtype).reshape(-1, window)
    targets = np.array([tokens[s + 1:s + window + 1] for s in starts], dtype=tokens.dtype).reshape(-1, window)
    return inputs, targets


class _ExpectedPairs(NamedTuple):
    """What the q2 comparison needs: the right windows, and the tune and window they came from."""
    inputs: np.ndarray
    targets: np.ndarray
    tokens: np.ndarray
    window: int


def _expected_pairs(tokens, window: int) -> _ExpectedPairs:
    inputs, targets = training_pairs(tokens, window)
    return _ExpectedPairs(inputs, targets, np.asarray(tokens), int(window))


def _windows(tokens, starts, width):
    return np.array([tokens[s:s + width] for s in starts]).reshape(-1, width)


def _compare_pairs(yours, expected: _ExpectedPairs):
    exp_x, exp_y, tokens, w = expected
    if not isinstance(yours, (tuple, list)) or len(yours) != 2:
        raise CheckFailed("return two arrays, `inputs, targets` (a tuple), not "
                          f"{type(yours).__name__}{'' if not hasattr(yours, '__len__') else f' of length {len(yours)}'}.")
    try:
        x, y = np.asarray(yours[0]), np.asarray(yours[1])
    except Exception:
        raise CheckFailed("your inputs or targets cannot be turned into a 2-D array: are all windows the same "
                          "length? Drop the last, incomplete window.") from None
    if x.shape == exp_x.shape and y.shape == exp_y.shape and np.array_equal(x, exp_x) and np.array_equal(y, exp_y):
        return True
    n, length = exp_x.shape[0], len(tokens)
    last = (n - 1) * w  # where the last complete window starts
    for label, arr in (("inputs", x), ("targets", y)):
        if arr.shape == exp_x.shape:
            continue
        if arr.ndim == 2 and arr.shape[1] == w + 1:
            raise CheckFailed(f"your {label} windows are {w + 1} tokens long, one too many: a slice "
                              "tokens[s : s + window] already holds `window` tokens (the end index is not "
                              "included), so do not add 1 to the inputs' end.")
        if arr.ndim == 2 and arr.shape[1] == w - 1:
            raise CheckFailed(f"your {label} windows are {w - 1} tokens long, one short: tokens[s : s + window] "
                              "holds `window` tokens (the end index is not included; no - 1 needed).")
        if arr.ndim == 2 and arr.shape[1] == w and arr.shape[0] > n + 1 and \
                np.array_equal(arr[1:, :-1], arr[:-1, 1:]):
            raise CheckFailed(f"your {label} has {arr.shape[0]} windows that overlap: each starts one step after "
                              f"the one before. Start them `window` steps apart — at 0, {w}, {2 * w}, ... — "
                              "with range(0, len(tokens) - window, window).")
        if arr.ndim == 2 and arr.shape[1] == w and arr.shape[0] == n + 1:
            raise CheckFailed(f"your {label} have {arr.shape[0]} windows, one too many: the last window has no "
                              "next token to predict for its last step — drop it (a window starting at s needs "
                              "s + window + 1 <= len(tokens)).")
        if arr.ndim == 2 and arr.shape[1] == w and arr.shape[0] == n - 1 and n:
            raise CheckFailed(f"your {label} have {arr.shape[0]} windows, one too few: with {length} tokens the "
                              f"window starting at step {last} is still complete ({last} + {w} + 1 = "
                              f"{last + w + 1} <= {length}), so keep it — range(0, len(tokens) - window, window).")
        raise CheckFailed(f"your {label} have shape {arr.shape}; expected {exp_x.shape} "
                          f"({n} windows of {w} steps).")
    if np.array_equal(y, x):
        raise CheckFailed("your targets are the inputs themselves. At each step the model must predict the "
                          "*next* token: the targets are the inputs shifted one step later.")
    if np.array_equal(x, exp_x) and last + 2 * w <= length and \
            np.array_equal(y, _windows(tokens, range(w, last + 2 * w, w), w)):
        raise CheckFailed("your targets are the *next window* (tokens[s + window : s + 2 * window]): the model "
                          "would have to guess a whole window ahead. Shift by one step: "
                          "targets = tokens[s + 1 : s + window + 1].")
    if np.array_equal(x, exp_y) and np.array_equal(y, exp_x):
        raise CheckFailed("your inputs and targets are swapped: return `inputs, targets` in that order — the "
                          "inputs are tokens[s : s + window], the targets the same window one step later.")
    if n and np.array_equal(x[:, 1:], y[:, :-1]) and not np.array_equal(x, exp_x):
        raise CheckFailed("targets are one step after inputs — good — but your windows start at the wrong "
                          f"places: they should start at steps 0, {w}, {2 * w}, ...")
    if n and np.array_equal(y[:, 1:], x[:, :-1]):
        raise CheckFailed("your targets are one step *before* the inputs: shift the other way "
                          "(targets = tokens[start + 1 : start + window + 1]).")
    if not np.array_equal(x, exp_x):
        i = int(np.argwhere(x != exp_x)[0][0])
        raise CheckFailed(f"window {i} of your inputs is {x[i].tolist()}, expected {exp_x[i].tolist()}.")
    i = int(np.argwhere(y != exp_y)[0][0])
    raise CheckFailed(f"window {i} of your targets is {y[i].tolist()}, expected {exp_y[i].tolist()} — "
                      "the inputs shifted one step later.")


_tune_a = np.array([67, HOLD, 69, HOLD, 71, HOLD, HOLD, HOLD, 72, HOLD, 71, 69, REST, HOLD, 67, HOLD, HOLD], np.int32)
_tune_b = np.arange(60, 73, dtype=np.int32)  # a chromatic run, 13 tokens

def _ragged_windows_named(check):
    """``check`` with one more diagnosis: numpy's "inhomogeneous shape" error from the learner's own
    np.array(...) means a window of another length — the incomplete last one was kept."""
    def checker(answer):
        try:
            return check(answer)
        except CheckFailed as failure:
            if "inhomogeneous" in failure.message:
                raise CheckFailed(f"{failure.message.rstrip('.')}. numpy says your windows are not all the same "
                                  "length: the last window runs past the end of the tune, so its target (or input) "
                                  "is short. Drop it — a window starting at s is complete only when "
                                  "s + window + 1 <= len(tokens): range(0, len(tokens) - window, window).",
                                  failure.details) from None
            raise
    return with_expected(checker, getattr(check, "expected", None))


q2 = Exercise(
    "input and target windows",
    check=_ragged_windows_named(check_function(_expected_pairs,
                         # first a tune whose every "next window" is complete, so that mistake can be named
                         inputs=[Args(_tune_b[:12], 4), Args(_tune_a, 4), Args(_tune_b, 3), Args(_tune_b, 12),
                                 Args(_tune_a, 8)],
                         compare=_compare_pairs,
                         describe_input=lambda a: f"a tune of {len(a.args[0])} tokens and window={a.args[1]}")),
    hints=["Windows start at 0, window, 2*window, ... For a start s, the inputs are tokens[s : s + window].",
           "The targets are the same window one step later: tokens[s + 1 : s + window + 1]. A window is only "
           "complete when s + window + 1 <= len(tokens), so use range(0, len(tokens) - window, window).",
           "starts = range(0, len(tokens) - window, window)\n"
           "inputs = np.array([tokens[s:s + window] for s in starts])\n"
           "targets = np.array([tokens[s + 1:s + window + 1] for s in starts])"],
    solution="def make_training_pairs(tokens, window):\n"
             "    tokens = np.asarray(tokens)\n"
             "    starts = range(0, len(tokens) - window, window)\n"
             "    inputs = np.array([tokens[s:s + window] for s in starts])\n"
             "    targets = np.array([tokens[s + 1:s + window + 1] for s in starts])\n"
             "    return inputs, targets",
    explanation="This is *teacher forcing*: at every step the model reads the true previous token and is "
                "scored on the next one, so one window trains all its steps at once.",
    reference=training_pairs,
)


# ---------------------------------------------------------------------------------------
# 1. The classic tutorial model, in Keras 3
# ---------------------------------------------------------------------------------------
def _check_legacy_builder(build):
    if not callable(build):
        raise CheckFailed("pass your function itself (build_fixed_model, without brackets).", wrong_type=True)
    import keras

    import warnings

    for seq_length, pitch_count in ((32, 40), (8, 12)):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = build(seq_length, pitch_count)
        except NotImplementedError:
            raise
        except TypeError as err:
            if "lr" in str(err) or "input_shape" in str(err) or "not recognized" in str(err):
                raise CheckFailed(f"Keras 3 refused an argument: {err}. Use `learning_rate=` instead of `lr=`, and "
                                  "`keras.Input(shape=...)` as the first item instead of `input_shape=`.") from None
            raise CheckFailed(f"building the model raised TypeError: {err}") from None
        except ValueError as err:
            text = str(err)
            if "expected ndim=3, found ndim=2" in text:
                raise CheckFailed(f"building the model raised ValueError: {text} The LSTM reads windows of "
                                  "seq_length steps, each step a one-hot vector of pitch_count numbers, so each input "
                                  "has two dimensions: keras.Input(shape=(seq_length, pitch_count)).") from None
            hint = " (`lr=` is now `learning_rate=`.)" if "lr" in text or "not recognized" in text else ""
            raise CheckFailed(f"building the model raised ValueError: {text.rstrip('.')}.{hint}"
                              f"{learner_code_line(err, build)}") from None
        except Exception as err:  # a slip in the learner's own code: name it, without a traceback
            raise CheckFailed(f"building the model raised {type(err).__name__}: {err}"
                              f"{learner_code_line(err, build)}.") from None
        if model is None:
            raise CheckFailed("your function returned None — did you forget `return model`?")
        if not isinstance(model, keras.Model):
            raise CheckFailed(f"your function should return a Keras model, got {type(model).__name__}.")
        try:
            input_shape = tuple(model.input_shape)
        except (AttributeError, ValueError):
            raise CheckFailed("your model has no input yet: start the list of layers with "
                              "keras.Input(shape=(seq_length, pitch_count)).") from None
        if input_shape == (None, pitch_count, seq_length):
            raise CheckFailed(f"your input shape is {input_shape}: seq_length and pitch_count are swapped. Each "
                              "window is seq_length steps of pitch_count one-hot numbers: "
                              "keras.Input(shape=(seq_length, pitch_count)).")
        if input_shape != (None, seq_length, pitch_count):
            raise CheckFailed(f"with seq_length={seq_length}, pitch_count={pitch_count} the model's input shape is "
                              f"{model.input_shape}; expected (None, {seq_length}, {pitch_count}): start with "
                              "keras.Input(shape=(seq_length, pitch_count)).")
        if any("input_shape" in str(w.message) for w in caught):
            raise CheckFailed("you passed input_shape= to a layer: Keras 3 warns against it (and the functional API "
                              "refuses it). Make keras.Input(shape=(seq_length, pitch_count)) the first item of "
                              "the Sequential list and drop input_shape= from the LSTM.")
        lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        if len(lstms) != 1:
            raise CheckFailed(f"your model has {len(lstms)} LSTM layers; the classic model has exactly one, "
                              "keras.layers.LSTM(128, return_sequences=True).")
        if lstms[0].units != 128:
            raise CheckFailed(f"your LSTM has {lstms[0].units} units; the classic model's has 128 (the first "
                              "argument of keras.layers.LSTM is the number of units, not the window length).")
        if not lstms[0].return_sequences:
            raise CheckFailed("the LSTM must predict at every step: pass return_sequences=True.")
        if len(dense) != 1 or dense[0].units != pitch_count:
            raise CheckFailed(f"the output layer should be Dense({pitch_count}) — one probability per pitch.")
        if keras.activations.serialize(dense[0].activation) != "softmax" and \
                getattr(dense[0].activation, "__name__", "") != "softmax":
            raise CheckFailed("the output layer needs activation='softmax', so each step's outputs are "
                              "probabilities that sum to 1.")
        if not model.compiled or model.optimizer is None:
            raise CheckFailed("compile the model: model.compile(loss=..., optimizer=...).")
        if not isinstance(model.optimizer, keras.optimizers.RMSprop):
            raise CheckFailed(f"the classic model trains with RMSprop, got {type(model.optimizer).__name__}.")
        lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        if not math.isclose(lr, 0.01, rel_tol=1e-5):
            raise CheckFailed(f"the learning rate is {lr:g}; the classic model uses RMSprop(learning_rate=0.01).")
        loss = model.loss
        name = loss if isinstance(loss, str) else getattr(loss, "name", getattr(loss, "__name__", ""))
        if name in ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"):
            raise CheckFailed("the loss is sparse categorical cross-entropy, which expects each target as one "
                              "token id; this model's targets are one-hot vectors (one 1 among pitch_count "
                              "numbers), as its inputs are: use loss='categorical_crossentropy'.")
        if name not in ("categorical_crossentropy", "CategoricalCrossentropy"):
            raise CheckFailed(f"the loss is {name!r}; with one-hot targets and softmax outputs use "
                              "'categorical_crossentropy'.")
    return True


q1 = Exercise(
    "the classic model, fixed for Keras 3",
    check=_check_legacy_builder,
    hints=["Two things changed: a layer no longer takes input_shape=; a model starts with "
           "keras.Input(shape=(seq_length, pitch_count)). And optimizers take learning_rate=, not lr=.",
           "keras.Sequential([keras.Input(shape=(seq_length, pitch_count)), keras.layers.LSTM(128, "
           "return_sequences=True), keras.layers.Dense(pitch_count, activation='softmax')]), then "
           "compile with keras.optimizers.RMSprop(learning_rate=0.01)."],
    solution="def build_fixed_model(seq_length, pitch_count):\n"
             "    model = keras.Sequential([\n"
             "        keras.Input(shape=(seq_length, pitch_count)),\n"
             "        keras.layers.LSTM(128, return_sequences=True),\n"
             "        keras.layers.Dense(pitch_count, activation='softmax'),\n"
             "    ])\n"
             "    model.compile(loss='categorical_crossentropy',\n"
             "                  optimizer=keras.optimizers.RMSprop(learning_rate=0.01))\n"
             "    return model",
    explanation="Same model as the old tutorials — it just says where the input comes from with keras.Input, "
                "and spells the learning rate out.",
)


# ---------------------------------------------------------------------------------------
# 3. Temperature
# ---------------------------------------------------------------------------------------
def with_temperature(probs, temperature: float):
    """Reference: ``p_i ** (1 / T)``, renormalised (T > 0)."""
    p = np.asarray(probs, dtype=np.float64)
    z = np.log(np.maximum(p, 1e-300)) / temperature
    z -= z.max()
    e = np.exp(z) * (p > 0)
    return e / e.sum()


class _ExpectedTemperature(NamedTuple):
    """What the q3 comparison needs: the right distribution, and the input it came from."""
    probs: np.ndarray
    given: np.ndarray
    temperature: float


def _expected_temperature(probs, temperature: float) -> _ExpectedTemperature:
    return _ExpectedTemperature(with_temperature(probs, temperature), np.asarray(probs, dtype=np.float64),
                                float(temperature))


def _renormalised(values):
    values = np.asarray(values, dtype=np.float64)
    total = values.sum()
    return values / total if np.isfinite(total) and total > 0 else None


def _close(q, candidate) -> bool:
    return candidate is not None and np.allclose(q, candidate, atol=1e-6)


def _compare_distributions(yours, expected: _ExpectedTemperature):
    expected_q, p, t = expected
    try:
        q = np.asarray(yours, dtype=np.float64)
    except Exception:
        raise CheckFailed(f"return an array of probabilities, got {type(yours).__name__}.") from None
    if q.shape != expected_q.shape:
        raise CheckFailed(f"your result has shape {q.shape}; it should have one probability per token, "
                          f"shape {expected_q.shape}.")
    with np.errstate(all="ignore"):
        plain = p ** (1 / t)
        exponent = np.log10(p.max()) / t  # p_max ** (1/T) = 10 ** exponent
    underflows = not np.any(plain > 0)
    if underflows and (np.any(~np.isfinite(q)) or q.sum() == 0):
        raise CheckFailed(f"your result is {'nan' if np.any(np.isnan(q)) else 'all zeros'}: p ** (1/T) "
                          f"underflowed. Even the largest probability, {p.max():.4g}, raised to 1/T = {1 / t:g} is "
                          f"about 10^{exponent:.0f} — smaller than the smallest number a float can hold (about "
                          "1e-308) — so every value became 0, and 0 / 0 = nan. Work with logarithms (logits): "
                          "z = np.log(p) / T, then subtract the largest, z = z - z.max(), so the likeliest token "
                          "gets exp(0) = 1 and nothing underflows; then np.exp(z) and divide by the sum. "
                          "(Dividing p by p.max() *before* raising it to 1/T works too.)")
    if np.any(~np.isfinite(q)):
        raise CheckFailed("your result contains nan or inf: did you divide by a total of 0, or take the log of 0 "
                          "and then subtract -inf? Subtract z.max() (a finite number when any probability is "
                          "above 0) and let exp(-inf) be 0.")
    if not math.isclose(q.sum(), 1.0, abs_tol=1e-6):
        if _close(q, plain):
            raise CheckFailed(f"your probabilities are p ** (1/T) — right so far — but they sum to {q.sum():.4f}, "
                              "not 1: raising to a power changes the total, so divide by the sum to renormalise.")
        raise CheckFailed(f"your probabilities sum to {q.sum():.4f}, not 1: divide by their total.")
    if _close(q, expected_q):
        return True
    with np.errstate(all="ignore"):
        power_t = _renormalised(p ** t)
        as_logits = _renormalised(np.exp(p / t - np.max(p / t)))
    if t != 1 and _close(q, _renormalised(p)):
        raise CheckFailed(f"your result is the original probabilities: T = {t:g} changed nothing. Dividing the "
                          "probabilities by T (p / T) and renormalising cancels out; temperature divides the "
                          "*log*-probabilities (the logits): exp(log(p) / T), renormalised — i.e. p ** (1/T).")
    if t != 1 and _close(q, power_t):
        raise CheckFailed(f"you raised p to the power T = {t:g}; temperature uses 1/T: p ** (1/T) "
                          "(exp(log(p) / T)). Check: T < 1 must make the likeliest token likelier.")
    if _close(q, as_logits):
        raise CheckFailed("you applied a softmax to p / T, treating the probabilities as logits. Take their log "
                          "first: softmax(log(p) / T) = exp(log(p) / T), renormalised.")
    raise CheckFailed(f"your probabilities are {np.round(q, 3).tolist()}; expected "
                      f"{np.round(expected_q, 3).tolist()} (p ** (1 / T), then divide by the sum).")


# hidden inputs; the last is a flat distribution over the 131 tokens (a model unsure of the next note) at a very
# low temperature: there p ** (1/T) underflows to 0 in floating point, exactly as the exercise warns
_flat = np.linspace(1.0, 2.0, 131) / np.linspace(1.0, 2.0, 131).sum()
_dists = [np.array([0.5, 0.3, 0.15, 0.05]), np.array([0.1, 0.2, 0.7]), np.array([0.25, 0.25, 0.4, 0.1, 0.0]), _flat]


def _describe_temperature_input(a) -> str:
    probs, t = np.asarray(a.args[0]), a.args[1]
    if len(probs) > 8:
        return (f"{len(probs)} probabilities from {probs.min():.4f} to {probs.max():.4f} (a flat distribution: "
                f"a model unsure of the next note), temperature={t}")
    return f"probs={np.round(probs, 3).tolist()}, temperature={t}"


q3 = Exercise(
    "temperature",
    check=check_function(_expected_temperature,
                         inputs=[Args(_dists[0], 1.0), Args(_dists[0], 0.5), Args(_dists[1], 2.0),
                                 Args(_dists[2], 0.25), Args(_dists[1], 0.05), Args(_dists[3], 0.005)],
                         compare=_compare_distributions,
                         describe_input=_describe_temperature_input),
    hints=["Temperature reshapes a distribution: raise every probability to the power 1 / T, then make them sum "
           "to 1 again.",
           "T = 0.5 squares the probabilities (the likely token gets likelier); T = 2 takes square roots "
           "(flatter). For small T, p ** (1/T) underflows: compute it as exp(log(p) / T) after subtracting the max.",
           "z = np.log(probs) / temperature\nz = z - z.max()\nq = np.exp(z)\nreturn q / q.sum()"],
    solution="def apply_my_temperature(probs, temperature):\n"
             "    with np.errstate(divide='ignore'):\n"
             "        z = np.log(np.asarray(probs, dtype=float)) / temperature\n"
             "    z = z - z.max()            # avoids overflow / underflow\n"
             "    q = np.exp(z)\n"
             "    return q / q.sum()",
    explanation="Below 1 the likely notes take over (safe, repetitive); above 1 the unlikely ones get a chance "
                "(adventurous, then random).",
    reference=with_temperature,
)


# ---------------------------------------------------------------------------------------
# 4. Bits per token
# ---------------------------------------------------------------------------------------
def bits_per_token_of(probs_of_actual_tokens) -> float:
    """Reference: ``-mean(log2 p)`` over the probabilities the model gave the tokens that came."""
    p = np.asarray(probs_of_actual_tokens, dtype=np.float64)
    return float(-np.mean(np.log2(p)))


def _compare_bits(yours, expected, p):
    shape = np.shape(yours) if isinstance(yours, (np.ndarray, list, tuple)) else ()
    if shape == p.shape and len(p) > 1:
        raise CheckFailed(f"you returned {len(p)} numbers, one per token (each token's -log2 p, perhaps); "
                          "bits per token is their average: one number, -np.mean(np.log2(probs)).")
    try:
        x = float(yours)
    except (TypeError, ValueError):
        raise CheckFailed(f"return one number (bits per token), got {type(yours).__name__}.") from None
    if math.isclose(x, expected, rel_tol=1e-6, abs_tol=1e-9):
        return True
    if expected > 0 and math.isclose(x, expected * math.log10(2), rel_tol=1e-6):
        raise CheckFailed(f"{x:.4f} is in decimal digits (log base 10, np.log10); bits use log base 2: np.log2.")
    if math.isclose(x, 2.0 ** expected, rel_tol=1e-6):
        raise CheckFailed(f"{x:.4f} is the perplexity, 2 ** bits (\"as unsure as a choice among {x:.2f} tokens\"); "
                          "the exercise asks for the bits themselves: -mean(log2 p).")
    if expected > 0 and math.isclose(x, -expected * math.log(2), rel_tol=1e-6):
        raise CheckFailed(f"{x:.4f} is negative and in nats: the mean of np.log(p). Two fixes: bits use log base 2 "
                          "(np.log2), and log2 of a probability is <= 0, so bits = *minus* the mean.")
    if math.isclose(x, -expected, rel_tol=1e-6):
        raise CheckFailed("your number is negative: log2 of a probability is <= 0, so bits = *minus* the mean.")
    if math.isclose(x, expected * math.log(2), rel_tol=1e-6):
        raise CheckFailed(f"{x:.4f} is in nats (natural log); bits use log base 2: np.log2, or divide by ln 2.")
    if math.isclose(x, expected * len(p), rel_tol=1e-6):
        raise CheckFailed(f"{x:.4f} is the total over {len(p)} tokens; divide by the number of tokens (the mean).")
    if math.isclose(x, -math.log2(float(np.mean(p))), rel_tol=1e-6):
        raise CheckFailed("you took the log of the average probability; take the average of the logs.")
    raise CheckFailed(f"you returned {x:.4f} bits per token; expected {expected:.4f} = -mean(log2 p).")


class _BitsChecker:
    expected = "a function that returns bits per token"
    _inputs = [np.array([0.5, 0.5, 0.5]), np.array([0.9, 0.05, 0.6, 0.25]), np.array([1.0, 0.125, 1 / 1024])]

    def __call__(self, fn):
        if not callable(fn):
            raise CheckFailed("pass your function itself (without brackets).", wrong_type=True)
        for p in self._inputs:
            yours = call_learner(fn, (p.copy(),), context=f"called with probabilities {np.round(p, 4).tolist()}, ")
            try:
                _compare_bits(yours, bits_per_token_of(p), p)
            except CheckFailed as failure:
                raise CheckFailed(f"with probabilities {np.round(p, 4).tolist()}: {failure.message}") from None
        return True


q4 = Exercise(
    "bits per token",
    check=_BitsChecker(),
    hints=["A token the model gave probability 1/2 costs 1 bit, 1/4 costs 2 bits, 1/8 three bits: "
           "bits = -log2(p).",
           "Average that over all tokens: return -np.mean(np.log2(probs))."],
    solution="def my_bits_per_token(probs):\n    return float(-np.mean(np.log2(probs)))",
    explanation="A fair coin is 1 bit per toss; a model at 1.2 bits per sixteenth note is, on average, a little "
                "less sure than a coin toss about what comes next.",
    reference=bits_per_token_of,
)


# ---------------------------------------------------------------------------------------
# Lesson helpers (not exercises)
# ---------------------------------------------------------------------------------------
def notes_outside_key(tokens, key: str) -> int:
    """How many notes of ``tokens`` (pitch tokens 0–127, each a note's start) have a pitch class
    outside ``key``'s scale (:func:`musegen_helpers.sampling.key_mask`: ``'G major'``, ``'A minor'``...).

    Returns:
        the count of such notes (0 for a tune entirely in the key).

    Raises:
        ValueError: for a key name the course does not know (from ``key_mask``).

    Lesson: 03_lstm
    """
    from ..sampling import key_mask

    tokens = np.asarray(tokens, dtype=np.int64).ravel()
    allowed = key_mask(key)
    pitches = tokens[(tokens >= 0) & (tokens < 128)]
    return int(np.count_nonzero(~allowed[pitches]))


def seed_with_notes_outside(sampler, key: str, seeds, length: int = 128, min_notes: int = 3, **settings):
    """The first seed whose unmasked sample has at least ``min_notes`` notes outside ``key``,
    so that a key-mask demo shows a visible change (a sample already in the key would not).

    Args:
        sampler: anything with ``generate(length, seed=..., **settings)`` (``lstm.MelodySampler``).
        key: the key of the mask, e.g. ``'G major'``.
        seeds: the seeds to try, in order.
        length: tokens per sample (sixteenth-note steps).
        min_notes: how many notes outside the key count as a visible change.
        settings: passed on to ``generate`` (``temperature=1.0`` ...), without ``key``.

    Returns:
        ``(seed, tokens, outside)``: the seed, its unmasked sample and its number of notes outside the key.

    Raises:
        ValueError: when no seed gives such a sample (try more seeds, or a lower ``min_notes``).

    Lesson: 03_lstm
    """
    tried = []
    for seed in seeds:
        tokens = sampler.generate(length, seed=seed, **settings)
        outside = notes_outside_key(tokens, key)
        if outside >= min_notes:
            return seed, tokens, outside
        tried.append(seed)
    raise ValueError(f"none of the seeds {tried} gave a sample with {min_notes} or more notes outside {key}: "
                     "try more seeds or a lower min_notes.")


def epoch_timer(max_epochs: int, label: str = "epoch"):
    """A Keras callback that says, as each epoch starts, how long the training has left at most:
    ``epoch 3 of at most 6 — the last took 95 s: at most 6.3 min left``. Printed when an epoch
    begins (after :class:`musegen_helpers.models.lstm.LiveLossPlot` has redrawn), above Keras's own
    progress bar, whose ETA is for the current epoch. Early stopping may end training sooner.

    Args:
        max_epochs: the ``epochs`` given to ``fit`` (the most it will run).
        label: the word for one pass ("epoch").

    Returns:
        a ``keras.callbacks.Callback`` (importing Keras when called, not when this module is imported).

    Lesson: 03_lstm
    """
    import time

    import keras

    if int(max_epochs) != max_epochs or max_epochs < 1:
        raise ValueError(f"max_epochs must be a whole number >= 1, got {max_epochs!r}.")

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.durations: list[float] = []
            self._started = None

        def on_epoch_begin(self, epoch, logs=None):
            self._started = time.perf_counter()
            print(self.message(epoch), flush=True)

        def on_epoch_end(self, epoch, logs=None):
            if self._started is not None:
                self.durations.append(time.perf_counter() - self._started)

        def message(self, epoch: int) -> str:
            head = f"{label} {epoch + 1} of at most {int(max_epochs)}"
            if not self.durations:
                return f"{head} — the time left is estimated once this {label} is done"
            each = float(np.mean(self.durations))
            left = each * (int(max_epochs) - epoch)
            when = f"{left:.0f} s" if left < 120 else f"{left / 60:.1f} min"
            return f"{head} — {each:.0f} s per {label} so far: at most {when} left"

    return EpochTimer()
