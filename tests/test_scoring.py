"""The one bits-per-token scorer and its protocol (musegen_helpers.scoring)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musegen_helpers import scoring
from musegen_helpers.ngram import KneserNey, MarkovChain, WittenBell
from musegen_helpers.representation import END, HOLD, REST, VOCAB_SIZE, is_onset_token
from musegen_helpers.scoring import Scorer, bits_per_token, is_scorer, with_end


def corpus(seed, n_tunes):
    """Stepwise tunes in C major with held notes and rests (event tokens, no END)."""
    rng = np.random.default_rng(seed)
    scale = np.array([60, 62, 64, 65, 67, 69, 71, 72, 74, 76])
    tunes = []
    for _ in range(n_tunes):
        degree, tune = int(rng.integers(0, 8)), []
        for _ in range(int(rng.integers(6, 20))):
            degree = int(np.clip(degree + rng.choice([-2, -1, -1, 1, 1, 2]), 0, len(scale) - 1))
            tune += [REST if rng.random() < 0.08 else int(scale[degree])] + [HOLD] * int(rng.choice([0, 1, 1, 3]))
        tunes.append(np.array(tune, dtype=np.int64))
    return tunes


TRAIN, VALID, TEST = with_end(corpus(1, 120)), with_end(corpus(2, 30)), with_end(corpus(3, 30))

# (bits per token, onset bits per token) on TEST, computed before the refactor by the two old functions
# ``ngram.bits_per_token(model, tunes)`` / ``mask=is_onset_token`` (commit fccea2a), where the Markov
# chain was written MarkovChain(2, add_k=0.1): "order" then counted previous tokens. The Kneser-Ney
# numbers are those of issue 19's model (one BOS at a tune's start, every discount tuned on its own).
BEFORE = {
    "MarkovChain(order=3, add_k=0.1)": (2.451146989607306, 3.7519384407865486),
    "WittenBell(order=3)": (2.1795049526655172, 3.606368467233769),
    "KneserNey(order=4), tuned": (2.0180689807205834, 3.3609229288464975),
    "KneserNey(order=8)": (2.205131452521329, 3.539843207591479),
}


def test_the_one_scorer_gives_the_numbers_of_the_old_ones():
    models = {"MarkovChain(order=3, add_k=0.1)": MarkovChain(3, add_k=0.1).fit(TRAIN),
              "WittenBell(order=3)": WittenBell(3).fit(TRAIN),
              "KneserNey(order=4), tuned": KneserNey(4).fit(TRAIN, VALID),
              "KneserNey(order=8)": KneserNey(8).fit(TRAIN)}
    for label, model in models.items():
        bits, onsets = BEFORE[label]
        assert bits_per_token(model, TEST) == pytest.approx(bits, abs=1e-9), label
        assert bits_per_token(model, TEST, onsets_only=True) == pytest.approx(onsets, abs=1e-9), label


class Fixed:
    """A scorer that gives every onset token probability 1/4 and every other token 1/2."""

    name = "fixed"

    def log2_probs(self, tunes):
        return [np.where(is_onset_token(t), -2.0, -1.0) for t in tunes]


def test_bits_per_token_is_the_mean_surprise_and_onsets_skip_hold_and_end():
    tunes = [[60, HOLD, HOLD, REST, 62, END], [64, END]]   # 4 onsets (2 bits), 4 others (1 bit)
    assert bits_per_token(Fixed(), tunes) == pytest.approx(12 / 8)
    assert bits_per_token(Fixed(), tunes, onsets_only=True) == pytest.approx(2.0)
    assert bits_per_token(Fixed(), [[HOLD, END]]) == pytest.approx(1.0)


def test_a_token_of_probability_zero_costs_infinitely_many_bits():
    chain = MarkovChain(2).fit([[60, 62, 64]])
    assert bits_per_token(chain, [[60, 64]]) == math.inf


def test_the_example_in_the_module_text_is_a_working_scorer():
    # the ten-line bigram of the module docstring, with add-one counts, is the order-2 Markov chain
    namespace = {"np": np}
    example = scoring.__doc__.split("ten lines::")[1].split("    bits_per_token(")[0]
    exec(compile("\n".join(line[4:] for line in example.splitlines()), "scoring-example", "exec"), namespace)
    counts = np.ones((VOCAB_SIZE + 1, VOCAB_SIZE))
    for tune in TRAIN:
        np.add.at(counts, (np.concatenate([[VOCAB_SIZE], tune[:-1]]), tune), 1)
    table = counts / counts.sum(axis=1, keepdims=True)
    bigram = namespace["BigramScorer"](table)
    assert is_scorer(bigram) and isinstance(bigram, Scorer)
    chain = MarkovChain(2, add_k=1.0).fit(TRAIN)
    assert bits_per_token(bigram, TRAIN[:10]) == pytest.approx(bits_per_token(chain, TRAIN[:10]), rel=1e-12)


def test_with_end_adds_one_end_where_it_is_missing():
    out = with_end([[60, HOLD], [62, END], []])
    assert [t.tolist() for t in out] == [[60, HOLD, END], [62, END], [END]]
    with pytest.raises(ValueError, match="tune 0 has END at step 1"):
        with_end([[60, END, 62]])


class OldProtocol:
    def log2_prob_sequences(self, tunes):
        return [np.zeros(len(t)) for t in tunes]


class Nameless:
    def log2_probs(self, tunes):
        return [np.zeros(len(t)) for t in tunes]


class KerasLike:
    def predict(self, x):
        return x


class Short:
    name = "short"

    def log2_probs(self, tunes):
        return [np.zeros(max(len(t) - 1, 0)) for t in tunes]


class Missing:
    name = "missing"

    def log2_probs(self, tunes):
        return [np.zeros(len(t)) for t in tunes][:-1]


@pytest.mark.parametrize("scorer, tunes, words", [
    (KerasLike(), [[60]], "LSTMScorer"),
    (OldProtocol(), [[60]], "rename it log2_probs"),
    (Nameless(), [[60]], "name attribute"),
    (object(), [[60]], "ten-line example"),
    (Short(), [[60, 62]], "one score per token"),
    (Missing(), [[60], [62]], "for 1 tunes, but 2"),
    (Fixed(), np.array([60, 62]), "wrap it in a list"),
    (Fixed(), [60, 62], "single number"),
    (Fixed(), [[60.5]], "whole numbers"),
    (Fixed(), [[], []], "no token to score"),
    (Fixed(), [[HOLD, END]], None),   # fine without onsets_only; refused with it below
])
def test_bad_scorers_and_tunes_are_explained(scorer, tunes, words):
    if words is None:
        with pytest.raises(ValueError, match="no onset"):
            bits_per_token(scorer, tunes, onsets_only=True)
        return
    with pytest.raises(ValueError, match=words):
        bits_per_token(scorer, tunes)
