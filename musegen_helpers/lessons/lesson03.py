"""Exercises of lesson 03 (LSTM): the classic model in Keras 3, training windows, temperature,
bits per token.

Importing this module does not import TensorFlow; the model check imports Keras when it runs.

Lesson: 03_lstm
"""

from __future__ import annotations

import math

import numpy as np

from ..checks import Args, check_function
from ..exercises import ____, CheckFailed, Exercise, call_learner, learner_code_line
from ..representation import HOLD, REST

__all__ = ["____", "q2", "q1", "q3", "q4", "training_pairs", "with_temperature", "bits_per_token_of"]


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


def _compare_pairs(yours, expected):
    exp_x, exp_y = expected
    if not isinstance(yours, (tuple, list)) or len(yours) != 2:
        raise CheckFailed("return two arrays, `inputs, targets` (a tuple), not "
                          f"{type(yours).__name__}{'' if not hasattr(yours, '__len__') else f' of length {len(yours)}'}.")
    try:
        x, y = np.asarray(yours[0]), np.asarray(yours[1])
    except Exception:
        raise CheckFailed("your inputs or targets cannot be turned into a 2-D array: are all windows the same "
                          "length? Drop the last, incomplete window.") from None
    n, w = exp_x.shape
    for label, arr in (("inputs", x), ("targets", y)):
        if arr.shape != exp_x.shape:
            if arr.ndim == 2 and arr.shape[1] == w and arr.shape[0] == n + 1:
                raise CheckFailed(f"your {label} have {arr.shape[0]} windows, one too many: the last window has no "
                                  "next token to predict for its last step — drop it.")
            raise CheckFailed(f"your {label} have shape {arr.shape}; expected {exp_x.shape} "
                              f"({n} windows of {w} steps).")
    if np.array_equal(y, x):
        raise CheckFailed("your targets are the inputs themselves. At each step the model must predict the "
                          "*next* token: the targets are the inputs shifted one step later.")
    if n and np.array_equal(x[:, 1:], y[:, :-1]) and not np.array_equal(x, exp_x):
        raise CheckFailed("targets are one step after inputs — good — but your windows start at the wrong "
                          f"places: they should start at steps 0, {w}, {2 * w}, ...")
    if n and np.array_equal(y[:, 1:], x[:, :-1]):
        raise CheckFailed("your targets are one step *before* the inputs: shift the other way "
                          "(targets = tokens[start + 1 : start + window + 1]).")
    if not np.array_equal(x, exp_x):
        i = int(np.argwhere(x != exp_x)[0][0])
        raise CheckFailed(f"window {i} of your inputs is {x[i].tolist()}, expected {exp_x[i].tolist()}.")
    if not np.array_equal(y, exp_y):
        i = int(np.argwhere(y != exp_y)[0][0])
        raise CheckFailed(f"window {i} of your targets is {y[i].tolist()}, expected {exp_y[i].tolist()} — "
                          "the inputs shifted one step later.")
    return True


_tune_a = np.array([67, HOLD, 69, HOLD, 71, HOLD, HOLD, HOLD, 72, HOLD, 71, 69, REST, HOLD, 67, HOLD, HOLD], np.int32)
_tune_b = np.arange(60, 73, dtype=np.int32)  # a chromatic run, 13 tokens

q2 = Exercise(
    "input and target windows",
    check=check_function(training_pairs,
                         inputs=[Args(_tune_a, 4), Args(_tune_b, 3), Args(_tune_b[:12], 4), Args(_tune_b, 12),
                                 Args(_tune_a, 8)],
                         compare=_compare_pairs,
                         describe_input=lambda a: f"a tune of {len(a.args[0])} tokens and window={a.args[1]}"),
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

    for seq_length, pitch_count in ((32, 40), (8, 12)):
        try:
            model = build(seq_length, pitch_count)
        except NotImplementedError:
            raise
        except TypeError as err:
            if "lr" in str(err) or "input_shape" in str(err) or "not recognized" in str(err):
                raise CheckFailed(f"Keras 3 refused an argument: {err}. Use `learning_rate=` instead of `lr=`, and "
                                  "`keras.Input(shape=...)` as the first item instead of `input_shape=`.") from None
            raise CheckFailed(f"building the model raised TypeError: {err}") from None
        except ValueError as err:
            raise CheckFailed(f"building the model raised ValueError: {err}. (`lr=` is now `learning_rate=`.)") from None
        except Exception as err:  # a slip in the learner's own code: name it, without a traceback
            raise CheckFailed(f"building the model raised {type(err).__name__}: {err}"
                              f"{learner_code_line(err, build)}.") from None
        if model is None:
            raise CheckFailed("your function returned None — did you forget `return model`?")
        if not isinstance(model, keras.Model):
            raise CheckFailed(f"your function should return a Keras model, got {type(model).__name__}.")
        if tuple(model.input_shape) != (None, seq_length, pitch_count):
            raise CheckFailed(f"with seq_length={seq_length}, pitch_count={pitch_count} the model's input shape is "
                              f"{model.input_shape}; expected (None, {seq_length}, {pitch_count}): start with "
                              "keras.Input(shape=(seq_length, pitch_count)).")
        lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        if len(lstms) != 1 or lstms[0].units != 128:
            raise CheckFailed("the classic model has one LSTM layer of 128 units.")
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


def _compare_distributions(yours, expected):
    try:
        q = np.asarray(yours, dtype=np.float64)
    except Exception:
        raise CheckFailed(f"return an array of probabilities, got {type(yours).__name__}.") from None
    if q.shape != expected.shape:
        raise CheckFailed(f"your result has shape {q.shape}; it should have one probability per token, "
                          f"shape {expected.shape}.")
    if np.any(~np.isfinite(q)):
        raise CheckFailed("your result contains nan or inf — for a small temperature p ** (1/T) can underflow; "
                          "work with logarithms, or divide by the largest value before renormalising.")
    if not math.isclose(q.sum(), 1.0, abs_tol=1e-6):
        raise CheckFailed(f"your probabilities sum to {q.sum():.4f}, not 1: divide by their total.")
    if not np.allclose(q, expected, atol=1e-6):
        raise CheckFailed(f"your probabilities are {np.round(q, 3).tolist()}; expected "
                          f"{np.round(expected, 3).tolist()} (p ** (1 / T), then divide by the sum).")
    return True


_dists = [np.array([0.5, 0.3, 0.15, 0.05]), np.array([0.1, 0.2, 0.7]), np.array([0.25, 0.25, 0.4, 0.1, 0.0])]

q3 = Exercise(
    "temperature",
    check=check_function(with_temperature,
                         inputs=[Args(_dists[0], 1.0), Args(_dists[0], 0.5), Args(_dists[1], 2.0),
                                 Args(_dists[2], 0.25), Args(_dists[1], 0.05)],
                         compare=_compare_distributions,
                         describe_input=lambda a: f"probs={np.round(a.args[0], 3).tolist()}, temperature={a.args[1]}"),
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
    try:
        x = float(yours)
    except (TypeError, ValueError):
        raise CheckFailed(f"return one number (bits per token), got {type(yours).__name__}.") from None
    if math.isclose(x, expected, rel_tol=1e-6, abs_tol=1e-9):
        return True
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
