"""Turning a model's next-token distribution into one token: temperature, top-k, nucleus
(top-p) and key masks. Pure numpy, shared by every model of the course (Markov chains,
n-grams, the LSTM).

Every function works on one distribution (a 1-D array over the vocabulary) or on a batch
(the vocabulary on the last axis). Inputs are non-negative weights; they need not sum to 1,
outputs always do.

The order :func:`sample` applies them in: key mask → temperature → top-k → nucleus → draw.

Lesson: 02_rule_based, 03_lstm
"""

from __future__ import annotations

import numbers

import numpy as np

from .music import SCALES, normalize_mode, parse_key
from .representation import END, HOLD, REST, VOCAB_SIZE

__all__ = ["apply_temperature", "top_k", "nucleus", "key_mask", "sample", "as_rng"]


def _as_weights(probs, name: str = "probs") -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"{name} must be an array over the vocabulary (last axis), got shape {p.shape}.")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} contains NaN or infinity; pass probabilities (or weights) >= 0.")
    if np.any(p < 0):
        raise ValueError(f"{name} contains negative numbers; pass probabilities, or logits with from_logits=True.")
    total = p.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        raise ValueError(f"{name} gives every token probability 0 (in at least one row): nothing can be "
                         "sampled. Did a mask rule out every token?")
    return p / total


def _check_temperature(temperature) -> float:
    if not isinstance(temperature, numbers.Real) or not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a number >= 0 (0 = always the likeliest token, "
                         f"1 = the model as it is, >1 = more surprising), got {temperature!r}.")
    return float(temperature)


def apply_temperature(logits_or_probs, temperature: float, *, from_logits: bool = False) -> np.ndarray:
    """Sharpen (T < 1) or flatten (T > 1) a distribution: ``p_i ∝ p_i ** (1 / T)``.

    Args:
        logits_or_probs: probabilities/weights >= 0, or logits with ``from_logits=True``
            (then ``p_i ∝ exp(logit_i / T)``). Vocabulary on the last axis.
        temperature: >= 0. ``0`` is greedy: all probability on the likeliest token (the first
            one on a tie); ``1`` leaves the distribution as it is.

    Returns:
        probabilities (float64) of the same shape, summing to 1 on the last axis.
    """
    t = _check_temperature(temperature)
    if from_logits:
        z = np.asarray(logits_or_probs, dtype=np.float64)
        if z.ndim == 0 or z.shape[-1] == 0:
            raise ValueError(f"logits must be an array over the vocabulary, got shape {z.shape}.")
        if np.any(np.isnan(z)) or np.any(z == np.inf):
            raise ValueError("logits contain NaN or +infinity.")
        if np.any(np.all(z == -np.inf, axis=-1)):
            raise ValueError("every logit is -infinity in at least one row: nothing can be sampled.")
    else:
        p = _as_weights(logits_or_probs)
        with np.errstate(divide="ignore"):
            z = np.log(p)
    if t == 0:
        out = np.zeros(z.shape)
        np.put_along_axis(out, np.argmax(z, axis=-1)[..., None], 1.0, axis=-1)
        return out
    z = z / t
    z = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def top_k(probs, k: int) -> np.ndarray:
    """Keep the ``k`` likeliest tokens, renormalised; the rest get probability 0.

    On a tie at the border the token with the lower index is kept, so exactly ``min(k, vocab)``
    tokens keep their probability (fewer if some of them already had probability 0).
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"top-k needs a whole number k >= 1 (how many tokens to keep), got {k!r}.")
    p = _as_weights(probs)
    if k >= p.shape[-1]:
        return p
    order = np.argsort(-p, axis=-1, kind="stable")
    keep = np.zeros(p.shape, dtype=bool)
    np.put_along_axis(keep, order[..., :k], True, axis=-1)
    out = np.where(keep, p, 0.0)
    return out / out.sum(axis=-1, keepdims=True)


_keep_top_k = top_k  # sample() has an argument called top_k


def nucleus(probs, p: float) -> np.ndarray:
    """Nucleus (top-p) sampling filter: keep the smallest set of likeliest tokens whose total
    probability is at least ``p`` (0 < p <= 1), renormalised (Holtzman et al. 2020)."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 < p <= 1:
        raise ValueError(f"nucleus (top-p) needs 0 < p <= 1 (the share of probability to keep), got {p!r}.")
    q = _as_weights(probs)
    order = np.argsort(-q, axis=-1, kind="stable")
    sorted_q = np.take_along_axis(q, order, axis=-1)
    cum = np.cumsum(sorted_q, axis=-1)
    # a token is kept when the mass *before* it is still short of p (tolerance for rounding)
    before = cum - sorted_q
    keep_sorted = before < p - 1e-12
    keep_sorted[..., 0] = True
    keep = np.zeros(q.shape, dtype=bool)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    out = np.where(keep, q, 0.0)
    return out / out.sum(axis=-1, keepdims=True)


def key_mask(key, vocab_size: int = VOCAB_SIZE, extra_pitch_classes=()) -> np.ndarray:
    """Which tokens a melody in ``key`` may use: pitches of the key's scale, and always
    ``HOLD``, ``REST`` and ``END``.

    Args:
        key: a key name (``'D major'``, ``'A minor'``, ``'E dorian'``, ``'E harmonic minor'``,
            ``'A minor pentatonic'``; any mode of :data:`musegen_helpers.music.SCALES`, read by
            :func:`musegen_helpers.music.parse_key`) or a ``(tonic pitch class, mode)`` pair.
            ``minor`` means the natural minor scale.
        vocab_size: length of the mask (131 for the event tokens: pitches 0–127, HOLD, REST, END).
        extra_pitch_classes: pitch classes (0–11, 0 = C) to allow as well, e.g. the raised 7th
            of a minor key.

    Returns:
        boolean array of length ``vocab_size``; True = allowed. Use it as ``sample(..., mask=m)``
        or multiply a distribution by it.
    """
    if isinstance(key, tuple) and len(key) == 2:
        tonic, mode = int(key[0]) % 12, normalize_mode(key[1])
    else:
        tonic, mode = parse_key(key)
    if int(vocab_size) != vocab_size or vocab_size < 1:
        raise ValueError(f"vocab_size must be a whole number >= 1, got {vocab_size!r}.")
    pcs = {(tonic + s) % 12 for s in SCALES[mode]}
    for pc in extra_pitch_classes:
        if not 0 <= int(pc) <= 11:
            raise ValueError(f"extra pitch classes are 0–11 (0 = C, 11 = B), got {pc!r}.")
        pcs.add(int(pc))
    mask = np.zeros(int(vocab_size), dtype=bool)
    pitches = np.arange(min(128, int(vocab_size)))
    mask[pitches] = np.isin(pitches % 12, sorted(pcs))
    for special in (HOLD, REST, END):
        if special < vocab_size:
            mask[special] = True
    return mask


def as_rng(rng) -> np.random.Generator:
    """A numpy random generator from what a sampler's ``rng``/``seed`` argument may be: a
    ``np.random.Generator`` (used as it is, so a sequence of draws continues), an int seed
    (checked by :func:`musegen_helpers.config.check_seed`) or None (a fresh unseeded generator).
    Raises ValueError for anything else. Shared by every sampler of the course (n-grams, LSTM).

    Lesson: 02_rule_based
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, numbers.Integral):
        from .config import check_seed

        return np.random.default_rng(check_seed(rng))
    raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)), a seed or None, got {rng!r}.")


def sample(probs, rng=None, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None, mask=None):
    """Draw one token from a next-token distribution.

    Args:
        probs: probabilities or weights >= 0 over the vocabulary (1-D), or a batch (2-D+).
        rng: ``np.random.Generator``, an int seed, or None (a fresh unseeded generator).
            Same generator state → same token.
        temperature: >= 0; 0 picks the likeliest allowed token (greedy).
        top_k: keep only the k likeliest tokens.
        top_p: nucleus: keep the smallest likeliest set with probability >= top_p.
        mask: boolean array over the vocabulary (e.g. :func:`key_mask`); False tokens are never drawn.

    Returns:
        an ``int`` for one distribution, an int array of the batch shape otherwise.
    """
    t = _check_temperature(temperature)
    p = _as_weights(probs)
    if mask is not None:
        m = np.asarray(mask)
        if m.shape[-1] != p.shape[-1]:
            raise ValueError(f"the mask has {m.shape[-1]} entries but the distribution has {p.shape[-1]} tokens.")
        p = _as_weights(np.where(m.astype(bool), p, 0.0), name="probs after the mask")
    p = apply_temperature(p, t)
    if top_k is not None:
        p = _keep_top_k(p, top_k)
    if top_p is not None:
        p = nucleus(p, top_p)
    generator = as_rng(rng)
    cum = np.cumsum(p, axis=-1)
    u = generator.random(size=p.shape[:-1] + (1,)) * cum[..., -1:]
    idx = (cum <= u).sum(axis=-1)  # first index whose cumulative mass exceeds u
    # rounding can push u to the very end: fall back to the last token with probability > 0
    last_positive = p.shape[-1] - 1 - np.argmax((p > 0)[..., ::-1], axis=-1)
    idx = np.minimum(idx, last_positive)
    if idx.ndim == 0:
        return int(idx)
    return idx.astype(np.int64)
