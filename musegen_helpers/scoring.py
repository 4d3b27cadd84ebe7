"""One way to score every sequence model of the course: bits per token on held-out tunes.

**The scoring protocol.** A *scorer* is any object with

* ``name`` — a short label for tables and messages (``"Kneser-Ney 8-gram"``, ``"LSTM"``);
* ``log2_probs(tunes) -> list[np.ndarray]`` — for a list of tunes (each a 1-D array of event
  tokens), one float array per tune, of shape ``(len(tune),)``: ``out[i][j] = log2 P(tunes[i][j]
  | tunes[i][:j])``, the model's log2 probability of each token given everything before it *in
  its own tune*. Every tune is read from its own start: the first token is predicted from the
  model's start-of-tune context alone (``BOS`` padding for an n-gram, the ``START`` token for the
  LSTM and the Transformer), never from the end of the tune before. Units: bits (log base 2);
  ``-inf`` where the model gives a token probability 0.

**END.** ``END`` (token 130) is a token like any other: the scorer scores exactly the tokens it is
given, no more. A tune that ends with ``END`` has "the tune stops here" scored too; this is how
the course compares models (they all learnt where tunes stop), so append it once with
:func:`with_end` before scoring. A tune without ``END`` has ``len(tune)`` scores, one with it
``len(tune) + 1`` of the tune's notes-and-end.

**Onsets.** With ``onsets_only=True`` :func:`bits_per_token` averages over the tokens that start
something — a pitch (0–127) or ``REST`` — and skips ``HOLD`` and ``END``
(:func:`musegen_helpers.representation.is_onset_token`). A ``HOLD`` after a note is often easy to
guess; onsets are the musical decisions. Only for event tokens (lesson 01's vocabulary).

**Implementing it for a new model** — ten lines::

    class BigramScorer:
        name = "my bigram"

        def __init__(self, table):              # table[a, b] = P(b | a), row VOCAB_SIZE = start
            self.table = table

        def log2_probs(self, tunes):
            out = []
            for tune in tunes:
                previous = np.concatenate([[len(self.table) - 1], tune[:-1]]).astype(int)
                out.append(np.log2(self.table[previous, tune]))
            return out

    bits_per_token(BigramScorer(table), with_end(test_tokens))

The n-gram models of :mod:`musegen_helpers.ngram` are scorers themselves;
:class:`musegen_helpers.models.lstm.LSTMScorer` wraps a Keras LSTM (a Keras model alone does not
know where a tune starts). :func:`is_scorer` checks an object before a long run.

Source: perplexity and cross-entropy of language models, ``bits = -mean(log2 p)``
(Chen & Goodman, "An empirical study of smoothing techniques for language modeling", 1998, §2.2).

Lesson: 02_rule_based, 03_lstm, 05_evaluation, 06_transformer
"""

from __future__ import annotations

import numbers
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from .representation import END, is_onset_token

__all__ = ["Scorer", "is_scorer", "bits_per_token", "with_end"]


@runtime_checkable
class Scorer(Protocol):
    """What :func:`bits_per_token` needs from a model (see the module text for the convention)."""

    name: str

    def log2_probs(self, tunes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One array of shape ``(len(tune),)`` per tune: log2 P(token | the tune before it)."""
        ...


def is_scorer(obj) -> bool:
    """True when ``obj`` has a ``name`` and a callable ``log2_probs`` (the scoring protocol)."""
    return isinstance(getattr(obj, "name", None), str) and callable(getattr(obj, "log2_probs", None))


def _not_a_scorer(obj) -> ValueError:
    kind = type(obj).__name__
    module = type(obj).__module__ or ""
    if module.startswith("keras") or hasattr(obj, "predict"):
        hint = ("a Keras model alone does not know where a tune starts; wrap it: "
                "bits_per_token(lstm.LSTMScorer(model), tunes) (or the Transformer's scorer).")
    elif callable(getattr(obj, "log2_prob_sequences", None)):
        hint = "it has the old log2_prob_sequences method; rename it log2_probs and give the class a name."
    elif callable(getattr(obj, "log2_probs", None)):
        hint = "give it a name attribute (a string), e.g. name = 'my model'."
    else:
        hint = ("a scorer has a name and log2_probs(tunes) -> one array of log2 probabilities per tune; "
                "see the musegen_helpers.scoring module text for a ten-line example.")
    return ValueError(f"cannot score with a {kind}: {hint}")


def _as_tune_list(tunes, what: str = "tunes") -> list[np.ndarray]:
    """A list of 1-D arrays of whole-number tokens; a bare token array is refused (wrap it in a list)."""
    if isinstance(tunes, np.ndarray) and tunes.ndim == 1 and tunes.dtype != object:
        raise ValueError(f"{what} must be a list of tunes (each an array of tokens); you passed one array of "
                         "tokens — wrap it in a list: [tokens].")
    try:
        items = list(tunes)
    except TypeError:
        raise ValueError(f"{what} must be a list of tunes (arrays of tokens), got {type(tunes).__name__}.") from None
    out = []
    for i, t in enumerate(items):
        if isinstance(t, numbers.Number):
            raise ValueError(f"{what} must be a list of tunes, but item {i} is a single number ({t!r}); "
                             "wrap one tune's tokens in a list: [tokens].")
        a = np.asarray(t)
        if a.size == 0:
            a = np.zeros(0, dtype=np.int64)
        if a.ndim != 1:
            raise ValueError(f"tune {i} of {what} has shape {a.shape}; each tune is a 1-D array of tokens.")
        if not np.issubdtype(a.dtype, np.integer):
            if np.issubdtype(a.dtype, np.floating) and np.all(a == np.round(a)):
                a = a.astype(np.int64)
            else:
                raise ValueError(f"tune {i} of {what} holds {a.dtype} values; tokens are whole numbers.")
        out.append(a)
    return out


def with_end(tunes) -> list[np.ndarray]:
    """Each tune with one ``END`` token at its end (added where it is missing), as the course scores
    tunes: the models learnt where tunes stop, so that is scored too.

    Args:
        tunes: a list of 1-D event-token arrays.

    Returns:
        a new list of int64 arrays; a tune that already ends with ``END`` is kept as it is.

    Raises:
        ValueError: when a tune has ``END`` before its last token (a tune ends once: split it).

    Lesson: 03_lstm
    """
    out = []
    for i, t in enumerate(_as_tune_list(tunes)):
        t = t.astype(np.int64)
        inner = np.flatnonzero(t[:-1] == END)
        if len(inner):
            raise ValueError(f"tune {i} has END at step {int(inner[0])} of {len(t)}; a tune ends once — "
                             "split it into two tunes at the END.")
        out.append(t if len(t) and t[-1] == END else np.append(t, END))
    return out


def bits_per_token(scorer: Scorer, tunes, onsets_only: bool = False) -> float:
    """Average surprise of ``scorer`` on ``tunes``: ``-mean(log2 P(token | tokens before it))``
    over every token of every tune, in bits per token. Lower is better: 0 = always certain and
    right, ``log2(131) ≈ 7.03`` = a uniform guess over the event-token vocabulary.

    Args:
        scorer: a model implementing the scoring protocol (module text): an n-gram model,
            ``lstm.LSTMScorer(model)``, the Transformer's scorer, or your own.
        tunes: list of 1-D token arrays, each scored from its own start, exactly as given (append
            ``END`` with :func:`with_end` to score where the tunes stop).
        onsets_only: average over onset tokens only (a pitch or ``REST``; not ``HOLD``/``END``).

    Returns:
        bits per scored token; ``inf`` when a scored token has probability 0.

    Raises:
        ValueError: ``scorer`` does not implement the protocol (the message says how to wrap it),
            it returns the wrong number or shape of scores, or there is no token to score.

    Lesson: 02_rule_based, 03_lstm
    """
    if not is_scorer(scorer):
        raise _not_a_scorer(scorer)
    tunes = _as_tune_list(tunes)
    logs = scorer.log2_probs(tunes)
    if len(logs) != len(tunes):
        raise ValueError(f"{scorer.name} returned scores for {len(logs)} tunes, but {len(tunes)} were given.")
    picked = []
    for i, (tokens, lp) in enumerate(zip(tunes, logs)):
        lp = np.asarray(lp, dtype=np.float64)
        if lp.shape != tokens.shape:
            raise ValueError(f"{scorer.name} gave {lp.shape} log-probabilities for tune {i} of shape {tokens.shape}; "
                             "the protocol is one score per token of the tune as given.")
        picked.append(lp[is_onset_token(tokens)] if onsets_only else lp)
    scored = np.concatenate(picked) if picked else np.zeros(0)
    if len(scored) == 0:
        raise ValueError("there is no token to score: the tunes are empty" +
                         (" or have no onset (pitch or REST)." if onsets_only else "."))
    return float(-np.mean(scored))
