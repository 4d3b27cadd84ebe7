"""Exercises of lesson 06 (a Transformer that writes folk tunes): attention by hand (q1), the
causal mask (q2), why a model without it looks so good and plays so badly (q3), rotary positions
(q4), one step of a key/value cache (q5), and measuring how far back a head looks (q6); and
the plain, model-free test of whether a sample is a tune at all (:func:`falls_apart`).

Every checker uses NumPy only (importing this module does not import TensorFlow); each runs the
learner's function on small hidden inputs and names the usual mistake when the result is wrong.

Lesson: 06_transformer
"""

from __future__ import annotations

import math

import numpy as np

from ..checks import Args, check_function
from ..exercises import ____, CheckFailed, Exercise, call_learner
from ..music import note_name
from ..representation import HOLD

__all__ = ["____", "q1", "q2", "q3", "q4", "q5", "q6", "attention", "causal_mask_reference", "rotate",
           "cached_attention_step", "lag_attention", "UNMASKED_DIAGNOSES", "melody_statistics", "falls_apart",
           "MIN_NOTES", "MAX_NOTE_SHARE", "MAX_SPAN", "MAX_REPEATED_SHARE", "opening_primer", "continue_tune"]


def _softmax(z, axis=-1):
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):  # a row with nothing allowed gives nan: never a match
        e = np.exp(z - z.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)


def _as_array(value, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} should be an array of numbers, got {type(value).__name__}.") from None
    return arr


def _close(a, b, tol=1e-6) -> bool:
    return a.shape == b.shape and np.allclose(a, b, atol=tol, rtol=1e-5)


# ---------------------------------------------------------------------------------------
# q1. Scaled dot-product attention
# ---------------------------------------------------------------------------------------
def attention(q, k, v, mask=None):
    """Reference: ``softmax(q @ k.T / sqrt(d_k))`` over the keys (positions where ``mask`` is False
    get weight 0), then the weighted sum of the values. Returns ``(output (n, d_v), weights (n, n))``."""
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    scores = q @ k.T / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(np.asarray(mask, bool), scores, -np.inf)
    weights = _softmax(scores, axis=-1)
    return weights @ v, weights


def _unkept_dims(scores):
    """Softmaxes a learner gets by reducing each row without ``keepdims=True``: the row maxima or
    sums, shape ``(n,)``, broadcast along the wrong axis (column j gets row j's number)."""
    with np.errstate(invalid="ignore", over="ignore"):
        row_max = scores.max(axis=-1, keepdims=True)
        for e in (np.exp(scores - row_max), np.exp(scores), np.exp(scores - row_max[:, 0])):
            yield e / e.sum(axis=-1)                   # the sum without keepdims
        e = np.exp(scores - row_max[:, 0])             # the maximum without keepdims, the sum with it
        yield e / e.sum(axis=-1, keepdims=True)


def _whole_matrix_softmax(scores):
    with np.errstate(invalid="ignore"):
        e = np.exp(scores - scores.max())
        return e / e.sum()


def _attention_cases():
    rng = np.random.default_rng(6)
    q, k, v = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    causal = np.tril(np.ones((4, 4), bool))
    return [Args(q, k, v), Args(q, k, v, causal), Args(2 * q, k, v, causal)]


def _compare_attention(yours, expected, item):
    q, k, v = (np.asarray(a, np.float64) for a in item.args[:3])
    mask = item.args[3] if len(item.args) > 3 else None
    if not isinstance(yours, (tuple, list)) or len(yours) != 2:
        raise CheckFailed("return two arrays, `output, weights` (a tuple): the mixed values and the attention "
                          "weights.")
    out, w = _as_array(yours[0], "the output"), _as_array(yours[1], "the weights")
    exp_out, exp_w = expected
    # The specific mistakes first: each has its own signature. The general ones (nan, rows that do
    # not sum to 1) come last, because several specific mistakes also produce them.
    if out.shape == exp_w.shape and w.shape == exp_out.shape and exp_w.shape != exp_out.shape:
        raise CheckFailed(f"you returned `weights, output` (shapes {out.shape} and {w.shape}); return them the "
                          f"other way round: `return output, weights` — output {exp_out.shape} first, then weights "
                          f"{exp_w.shape}.")
    if w.shape != exp_w.shape:
        raise CheckFailed(f"your weights have shape {w.shape}; expected {exp_w.shape}: one weight for every "
                          "(query, key) pair — q @ k.T.")
    scale = math.sqrt(q.shape[1])
    raw = q @ k.T
    allowed = np.ones_like(raw, bool) if mask is None else np.asarray(mask, bool)
    masked = lambda s: np.where(allowed, s, -np.inf)  # noqa: E731
    if not _close(w, exp_w):
        if mask is None and not np.any(np.isfinite(w)):
            raise CheckFailed("called without a mask (mask=None), every weight is nan: np.where(None, scores, "
                              "-np.inf) treats None as False and hides every step. Apply the mask only when there "
                              "is one: `if mask is not None: scores = np.where(mask, scores, -np.inf)`.")
        seen = (~allowed).any(axis=1)  # rows a reversed mask leaves something to see (the others are nan)
        if mask is not None and not np.all(allowed) and _close(
                w[seen], _softmax(np.where(~allowed, raw / scale, -np.inf))[seen]):
            raise CheckFailed("your mask is the wrong way round: True means 'may attend', so the positions where "
                              "mask is False get -inf. (Reversed, the last step may see nothing at all, and its row "
                              "of weights is nan.)")
        if _close(w, _softmax(masked(raw))):
            raise CheckFailed(f"you forgot to scale: divide the scores q @ k.T by sqrt(d_k) = sqrt({q.shape[1]}) "
                              "before the softmax, or large vectors make the softmax nearly one-hot.")
        if _close(w, _softmax(masked(raw / q.shape[1]))):
            raise CheckFailed(f"you divided by d_k = {q.shape[1]}; the scale is sqrt(d_k).")
        n = q.shape[0]
        if n != q.shape[1] and _close(w, _softmax(masked(raw / math.sqrt(n)))):
            raise CheckFailed(f"you divided by sqrt({n}), the number of tokens (len(q) or q.shape[0] counts the rows "
                              f"of q); d_k is the length of each query vector, q.shape[-1] = {q.shape[1]}.")
        if _close(w, _softmax(masked(raw.T / scale))):
            raise CheckFailed("you computed k @ q.T: its rows are the keys. The scores are q @ k.T — one row per "
                              "query, one column per key it looks at.")
        if _close(w, _softmax(masked(raw / scale), axis=0)):
            raise CheckFailed("your softmax runs over the queries (each column sums to 1). Each query shares its "
                              "attention among the keys: softmax over the last axis, so each *row* sums to 1.")
        if any(_close(w, wrong) for wrong in _unkept_dims(masked(raw / scale))):
            raise CheckFailed("you summed (or took the maximum of) each row without keepdims=True: "
                              "weights.sum(axis=-1) has shape (n,), and dividing by it divides column j by row j's "
                              "sum. Keep the axis: weights.sum(axis=-1, keepdims=True).")
        if _close(w, _whole_matrix_softmax(masked(raw / scale))):
            raise CheckFailed("your softmax divides by the sum of the whole matrix, so all the weights together sum "
                              "to 1. Each query (row) shares out its own attention: weights.sum(axis=-1, "
                              "keepdims=True).")
        if mask is None and _close(w, _softmax(np.where(np.tril(np.ones_like(raw, bool)), raw / scale, -np.inf))):
            raise CheckFailed("called without a mask (mask=None), your weights still hide the later steps: you "
                              "built a causal mask of your own. Use the `mask` argument you are given — None means "
                              "every step may look at every step.")
        if mask is not None and not np.all(allowed):
            if _close(w, _softmax(np.where(allowed, raw / scale, 0.0))):
                raise CheckFailed("you set the masked scores to 0 (np.where(mask, scores, 0), or scores * mask), "
                                  "but exp(0) = 1: a score of 0 still gets weight. Set them to -np.inf, so that "
                                  "exp(-inf) = 0.")
            if _close(w, _softmax(np.where(allowed.T, raw / scale, -np.inf))):
                raise CheckFailed("you used the mask transposed (mask.T, or the upper triangle): then step 0 sees "
                                  "the whole tune and the last step only itself. mask[i, j] says whether query i "
                                  "(row) may look at key j (column): use it as it is given.")
        if mask is not None and _close(w, _softmax(raw / scale)):
            raise CheckFailed("you ignored the mask: where mask is False the weight must be 0 (that step may not "
                              "be looked at).")
        if np.any(~np.isfinite(w)):
            raise CheckFailed("your weights contain nan or inf. A masked position should get weight 0: set its score to "
                              "-inf (or a very negative number) *before* the softmax, never multiply after; and "
                              "subtract each row's maximum before np.exp so large scores do not overflow.")
        if not np.allclose(w.sum(axis=-1), 1.0, atol=1e-6):
            fix = ("divide each row by its own sum, weights.sum(axis=-1, keepdims=True)." if mask is None else
                   "to mask, set the scores to -inf *before* the softmax — multiplying the weights by the mask "
                   "afterwards breaks the sums.")
            raise CheckFailed(f"the rows of your weights sum to {np.round(w.sum(axis=-1), 3).tolist()}; each query's "
                              f"weights must sum to 1: {fix}")
        if mask is not None and np.any(np.abs(w[~allowed]) > 1e-9):
            raise CheckFailed("some masked positions still get weight: set their scores to -inf before the softmax "
                              "(multiplying the weights by the mask afterwards leaves rows that no longer sum to 1).")
        raise CheckFailed(f"your weights differ from softmax(q @ k.T / sqrt(d_k)); first row: "
                          f"{np.round(w[0], 3).tolist()}, expected {np.round(exp_w[0], 3).tolist()}.")
    if not _close(out, exp_out):
        if out.shape == exp_out.shape and _close(out, exp_w.T @ v):
            raise CheckFailed("your weights are right but you mixed the values with weights.T: output = weights @ v.")
        raise CheckFailed(f"your weights are right, but the output (shape {out.shape}) is not weights @ v "
                          f"(shape {exp_out.shape}).")
    return True


def _check_attention(fn):
    if not callable(fn):
        raise CheckFailed("pass your function itself (my_attention, without brackets).", wrong_type=True)
    for item in _attention_cases():
        expected = attention(*item.args)
        yours = call_learner(fn, [np.array(a, copy=True) for a in item.args],
                             context=f"with 4 tokens{' and a causal mask' if len(item.args) > 3 else ''}, ")
        try:
            _compare_attention(yours, expected, item)
        except CheckFailed as failure:
            raise CheckFailed(f"with 4 tokens{' and a causal mask' if len(item.args) > 3 else ''}: "
                              f"{failure.message}") from None
    return True


q1 = Exercise(
    "scaled dot-product attention",
    check=_check_attention,
    hints=["Scores: one number per (query, key) pair, q @ k.T, divided by sqrt(d_k) where d_k = q.shape[-1].",
           "Where the mask is False, set the score to -np.inf; then softmax over the last axis (subtract the row "
           "maximum, exp, divide by the row sum). The output is weights @ v.",
           "scores = q @ k.T / np.sqrt(q.shape[-1])\nif mask is not None:\n    scores = np.where(mask, scores, -np.inf)\n"
           "weights = np.exp(scores - scores.max(axis=-1, keepdims=True))\nweights /= weights.sum(axis=-1, keepdims=True)\n"
           "return weights @ v, weights"],
    solution="def my_attention(q, k, v, mask=None):\n"
             "    scores = q @ k.T / np.sqrt(q.shape[-1])          # (queries, keys)\n"
             "    if mask is not None:\n"
             "        scores = np.where(mask, scores, -np.inf)     # never look where mask is False\n"
             "    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
             "    weights /= weights.sum(axis=-1, keepdims=True)   # each row sums to 1\n"
             "    return weights @ v, weights",
    explanation="Each step asks a question (its query), every step answers how well it fits (its key), and the "
                "step takes a blend of their values in that proportion. Dividing by sqrt(d_k) keeps the scores "
                "from growing with the vector size.",
    reference=attention,
)


# ---------------------------------------------------------------------------------------
# q2. The causal mask
# ---------------------------------------------------------------------------------------
def causal_mask_reference(n: int) -> np.ndarray:
    """Reference: ``(n, n)`` booleans, True where step i may look at step j (j <= i)."""
    return np.tril(np.ones((n, n), dtype=bool))


def _compare_mask(yours, expected):
    n = expected.shape[0]
    arr = np.asarray(yours)
    if arr.shape != expected.shape:
        raise CheckFailed(f"your mask has shape {arr.shape}; expected ({n}, {n}): one row per step (the query), "
                          "one column per step it might look at.")
    if arr.dtype.kind == "f" and np.any(np.isinf(arr)):
        raise CheckFailed("that is an *additive* mask (0 and -inf), another convention. Here the mask says True "
                          "where a step may look: return booleans (np.tril(np.ones((n, n), dtype=bool))).")
    b = arr.astype(bool)
    if np.array_equal(b, expected):
        return True
    if np.all(b):
        raise CheckFailed("everything is True: that is no mask at all — every step sees the whole tune, future "
                          "included.")
    if np.array_equal(b, expected.T):
        raise CheckFailed("your mask lets each step look at the *future* (j >= i) and hides the past: row i is "
                          "step i, and it may see columns j <= i — the lower triangle.")
    if np.array_equal(b, np.tril(np.ones((n, n), bool), -1)):
        raise CheckFailed("you hid the diagonal: a step must see itself — the token it has just read is the most "
                          "important one for guessing the next.")
    if np.array_equal(b, ~expected):
        raise CheckFailed("your mask is the wrong way round: True means 'may look', so the past and the diagonal "
                          "are True and the future False.")
    if not np.any(b):
        raise CheckFailed("everything is False: no step may look at anything, not even itself — every row of "
                          "the softmax would be 0 / 0. True marks the steps a step *may* look at: j <= i.")
    if n > 1 and np.array_equal(b, np.tril(np.ones((n, n), bool), 1)):
        raise CheckFailed("each step also sees the step after it (np.tril(..., k=1)): that next token is exactly "
                          "the one it must predict — the answer leaks. Stop at the diagonal: k=0, the default.")
    if n > 1 and np.array_equal(b, np.eye(n, dtype=bool)):
        raise CheckFailed("each step sees only itself: it must also see every earlier step, the whole tune so "
                          "far (the lower triangle, diagonal included).")
    raise CheckFailed(f"row 1 of your mask is {b[1].astype(int).tolist()}; expected "
                      f"{expected[1].astype(int).tolist()} (step 1 sees steps 0 and 1).")


q2 = Exercise(
    "the causal mask",
    check=check_function(causal_mask_reference, inputs=[4, 1, 7], compare=_compare_mask,
                         describe_input=lambda n: f"n={n}"),
    hints=["Row i is the step that is looking, column j the step it may look at. Allowed: j <= i.",
           "That is the lower triangle with the diagonal: np.tril(np.ones((n, n), dtype=bool))."],
    solution="def my_causal_mask(n):\n    return np.tril(np.ones((n, n), dtype=bool))",
    explanation="With teacher forcing, the input at step i+1 *is* the target of step i. The mask is what keeps "
                "the model from reading it.",
    reference=causal_mask_reference,
)


# ---------------------------------------------------------------------------------------
# q3. Why the unmasked model looks so good and plays so badly
# ---------------------------------------------------------------------------------------
UNMASKED_DIAGNOSES = {
    "a": "It memorised the training tunes: the training loss is low because it has seen them all before.",
    "b": "It read the answer: at every step it could attend to the next token, which is the very target it is "
         "scored on. When it generates, that token does not exist yet.",
    "c": "A Transformer is simply a better model than an LSTM, and sampling failed by bad luck (another seed helps).",
    "d": "The learning rate was too high, so the loss fell too fast.",
}

# ---------------------------------------------------------------------------------------
# Does a sample fall apart? Plain statistics, independent of any model
# ---------------------------------------------------------------------------------------
MIN_NOTES = 3               # fewer new notes than this: silence or one held note, no melody
MAX_NOTE_SHARE = 0.75       # a new note on more of the steps (sixteenths) than this: a machine gun, not a tune
MAX_SPAN = 24               # semitones from the lowest to the highest note: more than two octaves
MAX_REPEATED_SHARE = 2 / 3  # more of the notes repeating the pitch before: one note struck over and over


def melody_statistics(tokens) -> dict:
    """Plain statistics of event tokens (one token per sixteenth note; ``0–127`` a new note of that
    MIDI pitch), judged by no model: ``steps`` (tokens), ``notes`` (new notes), ``pitches``
    (distinct MIDI pitches), ``lowest`` and ``highest`` (MIDI pitch, None without notes),
    ``repeated`` (notes with the same pitch as the note before),
    ``repeated_share`` (``repeated / (notes - 1)``, 0 with fewer than 2 notes), ``most_common``
    (the most frequent pitch's name, or None) and ``held_steps`` (the longest run of HOLD tokens).

    Lesson: 06_transformer (how the model without a causal mask writes)
    """
    t = np.asarray(tokens, dtype=np.int64).ravel()
    onsets = t[t < HOLD]                              # tokens 0-127: a new note of that pitch
    repeated = int(np.sum(onsets[1:] == onsets[:-1]))
    is_hold = np.r_[False, t == HOLD, False].astype(np.int8)
    edges = np.flatnonzero(np.diff(is_hold))          # starts and ends of the HOLD runs, alternating
    held = int((edges[1::2] - edges[::2]).max()) if len(edges) else 0
    values, counts = np.unique(onsets, return_counts=True)
    return {"steps": len(t), "notes": len(onsets), "pitches": len(values),
            "lowest": int(values[0]) if len(values) else None, "highest": int(values[-1]) if len(values) else None,
            "repeated": repeated,
            "repeated_share": repeated / (len(onsets) - 1) if len(onsets) > 1 else 0.0,
            "most_common": note_name(int(values[counts.argmax()])) if len(values) else None,
            "held_steps": held}


def falls_apart(tokens) -> str | None:
    """Why a sample is no tune, in words, or None when it passes. It fails with fewer than
    :data:`MIN_NOTES` new notes (silence or one held note), a new note on more than
    :data:`MAX_NOTE_SHARE` of its steps (every sixteenth), notes spanning more than
    :data:`MAX_SPAN` semitones, or more than :data:`MAX_REPEATED_SHARE` of its notes repeating the
    pitch before (one note struck over and over). The lesson puts the same test to real tunes,
    so how often it fails them is measured, not assumed.

    Lesson: 06_transformer
    """
    s = melody_statistics(tokens)
    if s["notes"] == 0:
        return f"silence: not one note in {s['steps']} steps"
    if s["notes"] < MIN_NOTES:
        return (f"only {s['notes']} note{'s' if s['notes'] > 1 else ''} in {s['steps']} steps (one held for "
                f"{s['held_steps']} steps)")
    if s["notes"] > MAX_NOTE_SHARE * s["steps"]:
        return (f"a new note on {s['notes']} of its {s['steps']} sixteenths ({s['repeated']} of them repeating the "
                f"note before, {s['most_common']} most of all)")
    if s["highest"] - s["lowest"] > MAX_SPAN:
        return (f"its notes leap from {note_name(s['lowest'])} to {note_name(s['highest'])}, "
                f"{s['highest'] - s['lowest']} semitones — more than two octaves")
    if s["repeated_share"] > MAX_REPEATED_SHARE:
        return (f"{s['repeated']} of its {s['notes']} notes repeat the note before ({s['most_common']} most of "
                "all): one note struck over and over")
    return None


_DIAGNOSIS_FEEDBACK = {
    "a": "Memorising would show as a gap between training and *validation* loss — but its validation loss is low "
         "too, on tunes it never saw. Something else lets it predict unseen tunes almost perfectly.",
    "c": "No seed rescues it: look at the samples above — seed after seed, the unmasked model's fall apart, while "
         "the masked Transformer of the same size, trained the same way, writes tunes. Look at what the unmasked "
         "model can see at step i.",
    "d": "A too-high learning rate makes the loss jump about or stall; it does not make it reach nearly 0 bits.",
}


def _check_diagnosis(answer):
    if not isinstance(answer, str):
        raise CheckFailed(f"answer with one letter as a string, e.g. \"a\"; got {type(answer).__name__}.",
                          wrong_type=True)
    letter = answer.strip().strip("().: ").lower()
    by_text = {text.strip("().: ").lower(): key for key, text in UNMASKED_DIAGNOSES.items()}
    letter = by_text.get(letter, letter)             # the whole text of a choice, pasted, counts as its letter
    if letter not in UNMASKED_DIAGNOSES:
        raise CheckFailed(f"{answer!r} is not one of the choices; answer with one of "
                          f"{', '.join(repr(k) for k in UNMASKED_DIAGNOSES)}.")
    if letter != "b":
        raise CheckFailed(_DIAGNOSIS_FEEDBACK[letter])
    return True


q3 = Exercise(
    "why the unmasked model cheats",
    check=_check_diagnosis,
    hints=["Training feeds the true tune as input and asks for the same tune one step later. Which input step "
           "holds the target of step i?",
           "Step i+1's input is step i's target. Without the mask, step i can attend to step i+1."],
    solution='why = "b"   # it read the answer',
    explanation="Teacher forcing puts the target of step i into the input at step i+1. Without the mask, attention "
                "simply copies it: near 0 bits on any tune, seen or not. When generating there is no step i+1 to "
                "copy, and the model has learnt nothing else.",
    reference="b",
)


# ---------------------------------------------------------------------------------------
# q4. Rotary positions
# ---------------------------------------------------------------------------------------
def rotate(x, position: float, max_wavelength: float = 10_000.0) -> np.ndarray:
    """Reference rotary embedding of one vector ``x`` (even length d) at ``position``: the pair
    ``(x[k], x[k + d/2])`` turns by the angle ``position / max_wavelength ** (2k / d)``."""
    x = np.asarray(x, dtype=np.float64)
    half = x.shape[-1] // 2
    angle = position / max_wavelength ** (np.arange(half) * 2.0 / x.shape[-1])
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * np.cos(angle) - x2 * np.sin(angle), x2 * np.cos(angle) + x1 * np.sin(angle)], -1)


def _interleaved(x, position, max_wavelength=10_000.0):
    x = np.asarray(x, np.float64)
    d = x.shape[-1]
    angle = position / max_wavelength ** (np.arange(d // 2) * 2.0 / d)
    out = x.copy()
    a, b = x[0::2], x[1::2]
    out[0::2], out[1::2] = a * np.cos(angle) - b * np.sin(angle), b * np.cos(angle) + a * np.sin(angle)
    return out


def _compare_rotation(yours, expected, item):
    x, position = np.asarray(item.args[0], np.float64), item.args[1]
    y = _as_array(yours, "your result")
    if y.shape != expected.shape:
        raise CheckFailed(f"your result has shape {y.shape}; a rotation gives a vector of the same shape as x, "
                          f"{expected.shape}.")
    if _close(y, expected):
        return True
    if not math.isclose(np.linalg.norm(y), np.linalg.norm(x), rel_tol=1e-6):
        raise CheckFailed(f"your vector has length {np.linalg.norm(y):.4f}, x had {np.linalg.norm(x):.4f}: a rotation "
                          "never changes a vector's length. Use cos for the part that stays and sin for the part "
                          "that turns in: (x1·cos − x2·sin, x2·cos + x1·sin).")
    d = x.shape[-1]
    half = d // 2
    x1, x2 = x[:half], x[half:]
    angle = position / 10_000.0 ** (np.arange(half) * 2.0 / d)
    c, s = np.cos(angle), np.sin(angle)
    if _close(y, np.concatenate([x1 * s - x2 * c, x2 * s + x1 * c])):
        raise CheckFailed("you swapped cos and sin: the part of each half that stays gets cos (at angle 0, cos = 1 "
                          "and sin = 0, so the vector comes back unchanged): (x1·cos − x2·sin, x2·cos + x1·sin).")
    if _close(y, np.concatenate([x2 * c + x1 * s, x1 * c - x2 * s])):
        raise CheckFailed("you put the two halves back in the wrong order: first x1·cos − x2·sin (the new first "
                          "half), then x2·cos + x1·sin.")
    if position != 1 and _close(y, rotate(x, 1)):
        raise CheckFailed(f"your angles do not use the position: at position {position} you turned x as if it were "
                          "at position 1. Pair k turns by position / max_wavelength ** (2k / d).")
    if position == 0:
        raise CheckFailed("at position 0 the angle is 0: the vector must come back unchanged.")
    if _close(y, rotate(x, -position)):
        raise CheckFailed("you turned the wrong way (by −angle): the first half gets x1·cos − x2·sin, the second "
                          "x2·cos + x1·sin.")
    if _close(y, _interleaved(x, position)):
        raise CheckFailed("you paired neighbours (x[0], x[1]), (x[2], x[3]), ... — the original RoFormer layout. "
                          "This course, like KerasHub, pairs x[k] with x[k + d/2]: split x into halves.")
    for label, angle in (("k / d", position / 10_000.0 ** (np.arange(half) / d)),
                         ("k = 1, 2, ... (np.arange starts at 0: the first pair turns by exactly `position` "
                          "radians)", position / 10_000.0 ** ((np.arange(half) + 1) * 2.0 / d)),
                         ("2k / d without dividing the position", position * 10_000.0 ** (np.arange(half) * 2.0 / d))):
        x1, x2 = x[:half], x[half:]
        if _close(y, np.concatenate([x1 * np.cos(angle) - x2 * np.sin(angle), x2 * np.cos(angle) + x1 * np.sin(angle)])):
            raise CheckFailed(f"your angles use {label}; pair k turns by position / max_wavelength ** (2k / d): "
                              "the first pair fastest (1 radian per step), the last almost not at all.")
    raise CheckFailed(f"at position {position} your vector is {np.round(y, 3).tolist()}; expected "
                      f"{np.round(expected, 3).tolist()}.")


_rot_x = np.random.default_rng(4).normal(size=8)


def _check_rotation(fn):
    if not callable(fn):
        raise CheckFailed("pass your function itself (my_rotate, without brackets).", wrong_type=True)
    for position in (0, 1, 5, 100):
        item = Args(_rot_x, position)
        yours = call_learner(fn, (_rot_x.copy(), position), context=f"at position {position}, ")
        try:
            _compare_rotation(yours, rotate(_rot_x, position), item)
        except CheckFailed as failure:
            raise CheckFailed(f"at position {position}: {failure.message}") from None
    return True

q4 = Exercise(
    "rotary position embedding",
    check=_check_rotation,
    hints=["Split x into halves x1 = x[:d//2], x2 = x[d//2:]. Pair k (x1[k], x2[k]) turns like a clock hand.",
           "angle = position / max_wavelength ** (2 * np.arange(d // 2) / d); then "
           "np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin])."],
    solution="def my_rotate(x, position, max_wavelength=10_000.0):\n"
             "    d = len(x)\n"
             "    x1, x2 = x[:d // 2], x[d // 2:]\n"
             "    angle = position / max_wavelength ** (2 * np.arange(d // 2) / d)\n"
             "    return np.concatenate([x1 * np.cos(angle) - x2 * np.sin(angle), x2 * np.cos(angle) + x1 * np.sin(angle)])",
    explanation="Turn the query at position i by i·θ and the key at j by j·θ: their dot product depends on the "
                "angle between them, (i − j)·θ — the distance, not where in the tune they are.",
    reference=rotate,
)




# ---------------------------------------------------------------------------------------
# q5. One step with a key/value cache
# ---------------------------------------------------------------------------------------
def cached_attention_step(q, k, v, key_cache, value_cache, t: int):
    """Reference: write the new token's key and value into row ``t`` of the caches, then let its
    query attend to rows ``0..t``. Returns ``(output (d_v,), key_cache, value_cache)``."""
    key_cache, value_cache = np.array(key_cache, np.float64), np.array(value_cache, np.float64)
    key_cache[t], value_cache[t] = k, v
    weights = _softmax(key_cache[:t + 1] @ np.asarray(q, np.float64) / math.sqrt(len(q)))
    return weights @ value_cache[:t + 1], key_cache, value_cache


def _with_row(cache, t, row):
    cache = np.array(cache, np.float64)
    cache[t] = row
    return cache


def _cache_cases():
    rng = np.random.default_rng(5)
    size, d = 6, 4
    keys, values = np.zeros((size, d)), np.zeros((size, d))
    cases = []
    for t in range(3):
        q, k, v = rng.normal(size=d), rng.normal(size=d), rng.normal(size=d)
        cases.append(Args(q, k, v, keys.copy(), values.copy(), t))
        _, keys, values = cached_attention_step(q, k, v, keys, values, t)
    return cases


def _check_cache_step(fn):
    if not callable(fn):
        raise CheckFailed("pass your function itself (my_cached_step, without brackets).", wrong_type=True)
    for item in _cache_cases():
        q, k, v, keys, values, t = item.args
        exp_out, exp_keys, exp_values = cached_attention_step(*item.args)
        yours = call_learner(fn, [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in item.args],
                             context=f"at step t={t}, ")
        where = f"at step t={t} (cache of {len(keys)} slots): "
        if not isinstance(yours, (tuple, list)) or len(yours) != 3:
            raise CheckFailed(where + "return three things: `output, key_cache, value_cache`.")
        out, yk, yv = (_as_array(a, "each result") for a in yours)
        if out.shape == exp_keys.shape and yv.shape == exp_out.shape:
            raise CheckFailed(where + f"you returned the caches first (shapes {out.shape}, {yk.shape}, {yv.shape}); "
                                      "return the output first: `return output, key_cache, value_cache`.")
        if not (_close(yk, exp_keys) and _close(yv, exp_values)):
            if yk.ndim == 2 and yk.shape[0] != keys.shape[0]:
                raise CheckFailed(where + f"your key cache has {yk.shape[0]} rows; it came with {keys.shape[0]}, one "
                                          "slot per position, and keeps that size. Write into row t "
                                          "(key_cache[t] = k) instead of appending.")
            if yk.shape == exp_keys.shape and _close(yk, keys):
                raise CheckFailed(where + "your key cache did not change: write the new key into row t "
                                          "(key_cache[t] = k) — and the value into value_cache[t].")
            if yk.shape == exp_keys.shape and _close(yk, _with_row(keys, t, v)) and _close(yv, _with_row(values, t, k)):
                raise CheckFailed(where + "you swapped them: the key went into the value cache and the value into "
                                          "the key cache. key_cache[t] = k, value_cache[t] = v.")
            if t + 1 < len(keys) and yk.shape == exp_keys.shape and _close(yk, _with_row(keys, t + 1, k)):
                raise CheckFailed(where + f"you wrote the new key into row {t + 1}; the token at position t = {t} "
                                          f"belongs in row t = {t} (rows count from 0).")
            raise CheckFailed(where + "your caches differ from the old ones with row t = the new key / value.")
        if _close(out, exp_out):
            continue
        scale = math.sqrt(len(q))
        if (t == 0 and out.shape == exp_out.shape and np.allclose(out, 0)) or (
                t > 0 and _close(out, _softmax(keys[:t] @ q / scale) @ values[:t])):
            raise CheckFailed(where + "the new token did not attend to itself: write its key and value first, "
                                      "then attend to rows 0..t (key_cache[:t + 1]).")
        if _close(out, _softmax(exp_keys @ q / scale) @ exp_values):
            raise CheckFailed(where + "you attended to the whole cache, empty slots included: rows after t hold "
                                      "zeros, not tokens. Attend to key_cache[:t + 1] only.")
        if t + 2 <= len(keys) and _close(out, _softmax(exp_keys[:t + 2] @ q / scale) @ exp_values[:t + 2]):
            raise CheckFailed(where + f"you attended to rows 0..{t + 1}: row {t + 1} is an empty slot (zeros), "
                                      "not a token yet. Attend to key_cache[:t + 1] — rows 0..t.")
        if _close(out, _softmax(exp_keys[:t + 1] @ q) @ exp_values[:t + 1]):
            raise CheckFailed(where + f"you forgot the scale: divide the scores by sqrt(d) = sqrt({len(q)}).")
        if _close(out, _softmax(exp_keys[:t + 1] @ k / scale) @ exp_values[:t + 1]):
            raise CheckFailed(where + "you scored with the new token's key k; the *query* asks the question: "
                                      "scores = key_cache[:t + 1] @ q / sqrt(d).")
        scores = exp_keys[:t + 1] @ q / scale
        if any(_close(out, e @ exp_values[:t + 1]) for e in (np.exp(scores), np.exp(scores - scores.max()))):
            raise CheckFailed(where + "your weights do not sum to 1: after np.exp, divide them by their sum "
                                      "(weights /= weights.sum()).")
        if _close(out, _softmax(scores) @ exp_keys[:t + 1]):
            raise CheckFailed(where + "you blended the keys; the output blends the *values*: "
                                      "weights @ value_cache[:t + 1].")
        raise CheckFailed(where + f"your output is {np.round(out, 3).tolist()}; expected "
                                  f"{np.round(exp_out, 3).tolist()}.")
    return True


q5 = Exercise(
    "one step with a key/value cache",
    check=_check_cache_step,
    hints=["Two parts: store, then attend. key_cache[t] = k and value_cache[t] = v; the earlier rows already hold "
           "the keys and values of the tokens before.",
           "Then the usual attention for one query over rows 0..t: scores = key_cache[:t + 1] @ q / sqrt(d), "
           "softmax, output = weights @ value_cache[:t + 1]."],
    solution="def my_cached_step(q, k, v, key_cache, value_cache, t):\n"
             "    key_cache[t], value_cache[t] = k, v              # remember this token\n"
             "    scores = key_cache[:t + 1] @ q / np.sqrt(len(q))  # the past and itself\n"
             "    weights = np.exp(scores - scores.max())\n"
             "    weights /= weights.sum()\n"
             "    return weights @ value_cache[:t + 1], key_cache, value_cache",
    explanation="The keys and values of earlier tokens never change (the mask stops them from seeing later ones), "
                "so they can be computed once and kept. Each new token costs one row of work per layer.",
    reference=cached_attention_step,
)


# ---------------------------------------------------------------------------------------
# q6. How far back does a head look?
# ---------------------------------------------------------------------------------------
def lag_attention(weights, lag: int) -> np.ndarray:
    """Reference: for attention weights ``(heads, n, n)``, the mean weight each head puts on the
    step exactly ``lag`` steps back, ``weights[h, i, i - lag]``, over the queries ``i >= lag``."""
    w = np.asarray(weights, dtype=np.float64)
    n = w.shape[-1]
    i = np.arange(lag, n)
    return w[:, i, i - lag].mean(axis=1)


def _lag_cases():
    rng = np.random.default_rng(9)
    cases = []
    for heads, n, lag in ((2, 6, 2), (3, 9, 4), (1, 5, 1)):
        w = rng.random((heads, n, n)) * np.tril(np.ones((n, n)))
        cases.append(Args(w / w.sum(-1, keepdims=True), lag))
    return cases


def _check_lag(fn):
    if not callable(fn):
        raise CheckFailed("pass your function itself (my_lag_attention, without brackets).", wrong_type=True)
    for item in _lag_cases():
        w, lag = item.args
        heads, n, _ = w.shape
        expected = lag_attention(w, lag)
        where = f"with {heads} head{'s' if heads > 1 else ''}, {n} steps and lag={lag}: "
        y = _as_array(call_learner(fn, (w.copy(), lag), context=where), "your result")
        if y.shape != expected.shape:
            i = np.arange(lag, n)
            if y.shape == (len(i),) and heads != len(i) and _close(y, w[:, i, i - lag].mean(axis=0)):
                raise CheckFailed(where + f"you averaged over the heads (axis 0): that gives one number per query, "
                                          f"{len(i)} of them. Average over the queries, axis=1, for one number per "
                                          "head.")
            if y.ndim == 0:
                raise CheckFailed(where + f"you returned one number; return one per head, shape ({heads},) — "
                                          "average over the queries only, not over the heads.")
            raise CheckFailed(where + f"your result has shape {y.shape}; expected ({heads},), one number per head.")
        if _close(y, expected):
            continue
        i = np.arange(lag, n)
        if np.allclose(y, 0):
            raise CheckFailed(where + "you got zeros: weights[h, i, i + lag] looks *ahead*, where the causal mask "
                                      "allows nothing. Look back: weights[h, i, i - lag].")
        if _close(y, w[:, i, i - lag].sum(axis=1)):
            raise CheckFailed(where + f"that is the sum over {len(i)} queries; take the mean.")
        every = np.arange(n)
        if _close(y, w[:, every, every - lag].mean(axis=1)):
            raise CheckFailed(where + f"you averaged over all {n} rows, the queries i < {lag} included — they have "
                                      f"no step {lag} back (with np.arange(n) - lag, numpy wraps round to the end of the "
                                      f"tune and reads the 0s above the diagonal). Average over the {n - lag} queries "
                                      f"i = {lag} .. {n - 1} only: i = np.arange(lag, n).")
        for other in (lag - 1, lag + 1):
            if 0 <= other < n and _close(y, lag_attention(w, other)):
                raise CheckFailed(where + f"that is the weight on the step {other} back, not {lag}: off by one. "
                                          "Row i, column i - lag: i = np.arange(lag, n); weights[:, i, i - lag].")
        if _close(y, w[:, i, i - lag].max(axis=1)):
            raise CheckFailed(where + "that is each head's largest weight on the step lag back; take the mean over "
                                      "the queries.")
        raise CheckFailed(where + f"you returned {np.round(y, 4).tolist()}; expected {np.round(expected, 4).tolist()}.")
    return True


q6 = Exercise(
    "how far back does each head look?",
    check=_check_lag,
    hints=["weights[h, i, j] is how much step i takes from step j. 'lag steps back' is j = i - lag.",
           "i = np.arange(lag, n); return weights[:, i, i - lag].mean(axis=1)."],
    solution="def my_lag_attention(weights, lag):\n"
             "    n = weights.shape[-1]\n"
             "    i = np.arange(lag, n)                    # queries that have a step `lag` back\n"
             "    return weights[:, i, i - lag].mean(axis=1)",
    explanation="A head that puts much more than its fair share on the step one bar back is reading the same "
                "beat of the previous bar — how a folk tune repeats its rhythm. Mind which bar: row i predicts "
                "token i + 1, so the same beat one bar before the *predicted* note is bar_steps - 1 steps back.",
    reference=lag_attention,
)


# ---------------------------------------------------------------------------------------
# Play with it: continue the opening of a tune (section 8's widget)
# ---------------------------------------------------------------------------------------
def opening_primer(piece, bars: int = 1, steps_per_quarter: int = 4):
    """The tokens of a tune's opening — its upbeat (anacrusis), if it has one, and its first
    ``bars`` full bars — to give a melody model as a primer.

    Args:
        piece: a :class:`~musegen_helpers.music.Piece` (several voices are reduced to their top
            line, the skyline, by :func:`~musegen_helpers.representation.melody_to_tokens`).
        bars: how many full bars after the upbeat (>= 1).
        steps_per_quarter: grid steps per quarter note (4 = sixteenths, the course's tokens).

    Returns:
        ``int32`` tokens, one per grid step, from the piece's start to the end of bar ``bars``.

    Raises:
        ValueError: ``bars`` is not a whole number >= 1, or the piece has no notes.

    Lesson: 06_transformer
    """
    from ..representation import melody_to_tokens

    if isinstance(bars, bool) or int(bars) != bars or bars < 1:
        raise ValueError(f"bars is a number of full bars >= 1, got {bars!r}.")
    if not piece.notes:
        raise ValueError("this piece has no notes: there is no opening to continue. Choose another tune or file.")
    tokens = melody_to_tokens(piece, steps_per_quarter)
    full = [bar for bar in piece.bars() if bar.number >= 1]
    end = full[min(int(bars), len(full)) - 1].end if full else piece.end
    return tokens[:int(round(end * steps_per_quarter))]


def continue_tune(sampler, source, length: int = 160, *, bars: int = 1, temperature: float = 0.9,
                  top_p: float | None = 0.95, key: str | None = None, seed: int = 0, tempo: float = 110.0):
    """Give a melody model the opening of a tune and let it go on: the opening and the model's
    continuation as one Piece, barred and spelt like the source (its meter, upbeat and key).

    Args:
        sampler: a sampler with ``generate(length, temperature, top_p=, key=, primer=, seed=)`` —
            :class:`~musegen_helpers.models.transformer.TransformerSampler` or lesson 03's
            :class:`~musegen_helpers.models.lstm.MelodySampler`.
        source: a Piece, or the path of a music file of your own (MIDI, ABC, MusicXML; read with
            :func:`~musegen_helpers.midi_io.load`: the first tune of a tunebook).
        length: new grid steps (sixteenths) to write after the opening.
        bars: full bars of the source (after its upbeat) given as the primer.
        temperature, top_p, key, seed: as the sampler's ``generate`` (``key``: pitches outside
            that scale are never chosen; None = any).
        tempo: beats per minute of the result.

    Returns:
        a :class:`~musegen_helpers.music.Piece`: the source's opening, then the model's notes.

    Raises:
        MusicFileError: the file is missing or is not a music file the course reads (the message
            says which and what to do).
        LimitError: opening + ``length`` do not fit in what the model reads at once.
        ValueError: a bad temperature, top-p, key, seed or bar count (the message says which).

    Lesson: 06_transformer
    """
    from ..music import Piece
    from ..representation import tokens_to_melody

    if not isinstance(source, Piece):
        from ..midi_io import load

        source = load(source)
    primer = opening_primer(source, bars)
    new = sampler.generate(length, temperature=temperature, top_p=top_p, key=key, primer=primer, seed=seed)
    title = source.title or "your tune"
    return tokens_to_melody(np.concatenate([primer, new]), tempo=tempo, time_signature=source.time_signature,
                            pickup=source.pickup, key=source.key,
                            time_signature_changes=[c for c in source.time_signature_changes
                                                    if c[0] < len(primer) / 4],
                            title=f"the opening of '{title}', then the model")
