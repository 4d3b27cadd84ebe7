"""Markov chains, Kneser–Ney and Witten–Bell n-grams over event tokens (musegen_helpers.ngram)."""

import itertools
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musegen_helpers.metrics import longest_shared_run
from musegen_helpers.ngram import (BOS, KneserNey, MarkovChain, WittenBell, _estimate_discounts, _kn_bits_and_gradient,
                                   _prepare_kn, best_kneser_ney)
from musegen_helpers.representation import END, HOLD, REST, VOCAB_SIZE, is_onset_token
from musegen_helpers.sampling import key_mask
from musegen_helpers.scoring import Scorer, bits_per_token

V = VOCAB_SIZE


def random_source_tunes(n_tunes, seed, order=2, n_symbols=12, branching=3, mean_length=40):
    """Tunes from a fixed random sparse Markov source: each context of ``order`` tokens allows
    only ``branching`` next tokens, so longer contexts help and smoothing matters."""
    rng = np.random.default_rng(12345)  # the source is fixed; ``seed`` picks the tunes
    alphabet = [int(a) for a in 60 + np.arange(n_symbols - 2)] + [HOLD, REST]
    contexts = list(itertools.product([BOS] + alphabet, repeat=order))
    table = {ctx: (rng.choice(alphabet, branching, replace=False), rng.dirichlet(np.ones(branching)))
             for ctx in contexts}
    draw = np.random.default_rng(seed)
    tunes = []
    for _ in range(n_tunes):
        ctx = (BOS,) * order
        tune = []
        for _ in range(draw.integers(mean_length // 2, 3 * mean_length // 2)):
            options, probs = table[ctx]
            tok = int(draw.choice(options, p=probs))
            tune.append(tok)
            ctx = ctx[1:] + (tok,)
        tune.append(END)
        tunes.append(np.array(tune))
    return tunes


TRAIN = random_source_tunes(120, seed=1)
TEST = random_source_tunes(40, seed=2)
SMALL = random_source_tunes(25, seed=3, mean_length=14)


# --- reference implementations: slow, plain Python, straight from the formulas -------------
def all_grams(tunes, order):
    grams = Counter()
    for t in tunes:
        x = [BOS] * (order - 1) + [int(v) for v in t]
        for i in range(order - 1, len(x)):
            for n in range(1, order + 1):
                grams[tuple(x[i - n + 1:i + 1])] += 1
    return grams


def kn_grams(tunes, order):
    """Every n-gram, n = 1..order, of the tunes read as Kneser-Ney reads them: a tune is BOS + its
    tokens, and the history of a token near the start is cut at that one BOS (KenLM's <s>)."""
    grams = Counter()
    for t in tunes:
        x = [BOS] + [int(v) for v in t]
        for i in range(1, len(x)):
            for n in range(1, min(order, i + 1) + 1):
                grams[tuple(x[i - n + 1:i + 1])] += 1
    return grams


def reference_kn(tunes, order, table):
    grams = kn_grams(tunes, order)
    left = defaultdict(set)
    for g in grams:
        if len(g) > 1:
            left[g[1:]].add(g[0])
    followers = defaultdict(dict)
    for g, c in grams.items():
        n = len(g)
        top = n == order
        followers[g[:-1]][g[-1]] = c if (top or g[0] == BOS) else len(left[g])

    def prob(context, w):
        ctx = tuple([BOS] + [int(v) for v in context])
        p = 1 / V
        for n in range(1, min(order, len(ctx) + 1) + 1):
            h = ctx[len(ctx) - (n - 1):] if n > 1 else ()
            # followers of h as the model of order n sees them (plain counts at the top order)
            if n == order:
                f = {g[-1]: grams[g] for g in grams if len(g) == n and g[:-1] == h}
            else:
                f = {g[-1]: followers[h][g[-1]] for g in grams if len(g) == n and g[:-1] == h}
            total = sum(f.values())
            if total == 0:
                break
            d = table[n - 1]
            counts = list(f.values())
            gamma = d[0] * counts.count(1) + d[1] * counts.count(2) + d[2] * sum(c >= 3 for c in counts)
            c = f.get(int(w), 0)
            disc = 0 if c == 0 else d[min(c, 3) - 1]
            p = (max(c - disc, 0) + gamma * p) / total
        return p

    return prob


def reference_witten_bell(tunes, order):
    grams = all_grams(tunes, order)

    def prob(context, w):
        ctx = tuple([BOS] * (order - 1) + [int(v) for v in context])
        p = 1 / V
        for n in range(1, order + 1):
            h = ctx[len(ctx) - (n - 1):] if n > 1 else ()
            f = {g[-1]: c for g, c in grams.items() if len(g) == n and g[:-1] == h}
            if not f:
                break
            p = (f.get(int(w), 0) + len(f) * p) / (sum(f.values()) + len(f))
        return p

    return prob


def contexts_to_try(tunes, n=12, seed=0):
    rng = np.random.default_rng(seed)
    out = [[], [END], [5, 6, 7], [HOLD, HOLD, HOLD, HOLD]]  # incl. contexts never seen
    for _ in range(n):
        t = tunes[rng.integers(len(tunes))]
        out.append(list(t[:rng.integers(0, len(t))]))
    return out


# --- probabilities are distributions ---------------------------------------------------------
@pytest.mark.parametrize("model", [
    *[KneserNey(o) for o in (1, 2, 3, 5, 9)], KneserNey(4, discounts="kn"), KneserNey(3, discounts=0.4),
    *[WittenBell(o) for o in (1, 2, 4, 9)],
    *[MarkovChain(o) for o in (1, 2, 4)], MarkovChain(3, add_k=0.5),
])
def test_next_token_probabilities_sum_to_one_after_any_context(model):
    model.fit(TRAIN)
    for context in contexts_to_try(TEST):
        p = model.next_token_probs(context)
        assert p.shape == (V,)
        assert np.all(p >= 0)
        assert p.sum() == pytest.approx(1.0, abs=1e-9)


def test_kneser_ney_gives_every_token_some_probability():
    p = KneserNey(5).fit(TRAIN).next_token_probs(list(TRAIN[0][:10]))
    assert np.all(p > 0)
    assert p[0] > 0  # MIDI pitch 0 never occurs, still possible


def test_scoring_and_next_token_probs_agree_token_by_token():
    model = KneserNey(6).fit(TRAIN, valid=TEST[:10])
    tune = TEST[3]
    logp = model.log2_probs([tune])[0]
    by_hand = [np.log2(model.next_token_probs(tune[:i])[tune[i]]) for i in range(len(tune))]
    np.testing.assert_allclose(logp, by_hand, rtol=1e-12)


# --- Kneser-Ney against the formulas ---------------------------------------------------------
def test_kneser_ney_hand_computed_bigram():
    a, b, c = 60, 62, 64
    model = KneserNey(2, discounts=0.5).fit([[a, b], [a, c], [a, b]])
    # top order (plain counts): c(a b) = 2, c(a c) = 1, c(a) = 3, one follower seen once, one twice
    # unigram (continuation counts): a, b and c each follow one distinct token -> 1/3 each
    p_b_unigram = (1 - 0.5) / 3 + (0.5 * 3) / 3 / V
    p_b_after_a = (2 - 0.5) / 3 + (0.5 * 1 + 0.5 * 1) / 3 * p_b_unigram
    assert model.next_token_probs([a])[b] == pytest.approx(p_b_after_a, rel=1e-12)
    assert p_b_after_a == pytest.approx(0.5 + 1 / 18 + 1 / (6 * V))
    # a context never seen hands everything to the continuation unigram
    assert model.next_token_probs([70])[b] == pytest.approx(p_b_unigram, rel=1e-12)


def test_kneser_ney_order_one_is_the_unigram_interpolated_with_uniform():
    model = KneserNey(1).fit(TRAIN)
    counts = np.bincount(np.concatenate(TRAIN), minlength=V).astype(float)
    d1, d2, d3 = model.discounts_[0]
    disc = np.select([counts == 0, counts == 1, counts == 2], [0, d1, d2], d3)
    gamma = d1 * np.sum(counts == 1) + d2 * np.sum(counts == 2) + d3 * np.sum(counts >= 3)
    expected = (np.maximum(counts - disc, 0) + gamma / V) / counts.sum()
    np.testing.assert_allclose(model.next_token_probs([60, 62]), expected, rtol=1e-12)


@pytest.mark.parametrize("order", [2, 3, 4, 6])
def test_kneser_ney_matches_a_plain_python_reference(order):
    model = KneserNey(order).fit(SMALL)
    ref = reference_kn(SMALL, order, model.discounts_)
    for context in contexts_to_try(SMALL, n=6, seed=order):
        p = model.next_token_probs(context)
        for w in {60, 61, 62, 64, HOLD, REST, END}:
            assert p[w] == pytest.approx(ref(context, w), rel=1e-10), (context, w)


def test_witten_bell_matches_a_plain_python_reference():
    model = WittenBell(4).fit(SMALL)
    ref = reference_witten_bell(SMALL, 4)
    for context in contexts_to_try(SMALL, n=6):
        p = model.next_token_probs(context)
        for w in {60, 63, HOLD, REST, END}:
            assert p[w] == pytest.approx(ref(context, w), rel=1e-10)


def reference_count_of_counts(tunes, order):
    """n1..n4 of each n-gram length 1..order as the model of this order counts them: plain counts
    for the longest, continuation counts (plain when the n-gram starts at BOS) for the others."""
    grams = kn_grams(tunes, order)
    left = defaultdict(set)
    for g in grams:
        if len(g) > 1:
            left[g[1:]].add(g[0])
    out = []
    for n in range(1, order + 1):
        counts = [c if (n == order or g[0] == BOS) else len(left[g]) for g, c in grams.items() if len(g) == n]
        out.append([sum(c == j for c in counts) for j in (1, 2, 3, 4)])
    return out


tiny_tunes = st.lists(st.lists(st.sampled_from([60, 62, HOLD, END]), min_size=0, max_size=12),
                      min_size=1, max_size=6).filter(lambda ts: sum(len(t) for t in ts) > 0)


@settings(max_examples=40, deadline=None)
@given(tunes=tiny_tunes, order=st.integers(1, 6), context=st.lists(st.sampled_from([60, 62, HOLD, 64]), max_size=7))
def test_kneser_ney_matches_the_reference_on_any_tiny_corpus(tunes, order, context):
    tunes = [np.array(t, dtype=np.int64) for t in tunes]
    model = KneserNey(order).fit(tunes)
    expected_discounts = [_estimate_discounts(np.array(c)) for c in reference_count_of_counts(tunes, order)]
    np.testing.assert_allclose(model.discounts_, expected_discounts, rtol=1e-12)
    ref = reference_kn(tunes, order, model.discounts_)
    p = model.next_token_probs(context)
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    for w in (60, 62, 64, HOLD, END):
        assert p[w] == pytest.approx(ref(context, w), rel=1e-10)


@pytest.mark.parametrize("model_class", [KneserNey, WittenBell])
def test_every_order_up_to_32_gives_distributions(model_class):
    for order in range(1, 33):
        model = model_class(order).fit(SMALL)
        for context in ([], list(SMALL[0]), [HOLD] * 40, [61, 61, 61]):
            assert model.next_token_probs(context).sum() == pytest.approx(1.0, abs=1e-9)


def test_modified_discounts_follow_chen_and_goodman():
    # n1..n4 = 10, 5, 3, 2 -> Y = 0.5, D1 = 0.5, D2 = 2 - 1.5*3/5, D3+ = 3 - 2*2/3
    np.testing.assert_allclose(_estimate_discounts(np.array([10, 5, 3, 2])), [0.5, 1.1, 3 - 4 / 3])


def test_kneser_ney_reads_the_start_of_a_tune_with_one_bos():
    # after 3 tokens of a tune the history is BOS + 3 tokens: every order from 5 up sees the same
    # contexts (with fixed discounts, the same numbers); more BOS padding would add a level per order
    # that discounts the same counts again (the old bug: 0.05 apart here)
    for context in ([], list(TRAIN[0][:3]), [END]):
        start = len(context) + 2
        ps = [KneserNey(o, discounts=0.5).fit(TRAIN).next_token_probs(context) for o in (start, start + 1, 9, 32)]
        for p in ps[1:]:
            np.testing.assert_allclose(p, ps[0], rtol=1e-12, atol=0)


def test_a_much_longer_kneser_ney_context_does_not_hurt():
    # a random source that looks two tokens back: contexts longer than ~12 tokens are hardly ever
    # seen twice, so the 32-gram must score like the 16-gram (it was 0.2 bits worse with BOS runs)
    train = random_source_tunes(400, seed=5)
    bits = {o: bits_per_token(KneserNey(o).fit(train), TEST) for o in (16, 32)}
    assert bits[32] <= bits[16] + 0.01


def test_best_kneser_ney_shares_counts_without_changing_any_order():
    # one set of counts fitted at order 6 gives each lower order the numbers of its own fit
    model = best_kneser_ney(SMALL, TEST[:10], orders=(2, 3, 4, 6), tune=False)
    for order, bits in model.validation_by_order_.items():
        assert bits == pytest.approx(bits_per_token(KneserNey(order).fit(SMALL), TEST[:10]), rel=1e-12)


def test_discount_gradient_matches_finite_differences():
    model = KneserNey(5).fit(TRAIN)
    n, per_level, _ = model._counts.level_stats(TEST[:10], 4, 4, True)
    prepared = _prepare_kn(per_level, 5)
    table = model.discounts_[:len(prepared)].copy()
    bits, grad = _kn_bits_and_gradient(prepared, n, table, V)
    assert bits == pytest.approx(bits_per_token(model, TEST[:10]), rel=1e-12)
    for k, j in [(0, 0), (1, 2), (len(prepared) - 1, 1), (len(prepared) - 1, 2)]:
        step = np.zeros_like(table)
        step[k, j] = 1e-6
        numeric = (_kn_bits_and_gradient(prepared, n, table + step, V)[0]
                   - _kn_bits_and_gradient(prepared, n, table - step, V)[0]) / 2e-6
        assert grad[k, j] == pytest.approx(numeric, rel=1e-4, abs=1e-9)


def test_tuning_on_validation_never_makes_validation_worse():
    untuned = KneserNey(5).fit(TRAIN)
    tuned = KneserNey(5).fit(TRAIN, valid=TEST[:20])
    assert bits_per_token(tuned, TEST[:20]) <= bits_per_token(untuned, TEST[:20]) + 1e-9
    assert tuned.validation_bits_ == pytest.approx(bits_per_token(tuned, TEST[:20]))


# --- what the models learn -----------------------------------------------------------------------
def test_high_order_model_is_nearly_certain_on_a_deterministic_corpus():
    pattern = [60, 62, 64, 65, 67, HOLD, 65, 64, 62, HOLD, 60, REST]
    rng = np.random.default_rng(0)
    tunes = [np.array((pattern * 6)[s:s + 60] + [END]) for s in rng.integers(0, 12, 80)]
    # no n-gram is seen once here, so the estimated discounts are degenerate (D2 = 2, D3+ = 3 at the
    # top order): tune them on held-out tunes, as the course does
    model = KneserNey(8).fit(tunes[:50], valid=tunes[50:60])
    # every token from the third on is fixed by the ones before it (62 and HOLD each occur twice in
    # the pattern, so a tune's second token is not)
    logs = [lp[2:-1] for lp in model.log2_probs(tunes[60:])]
    assert len(logs) == 20
    assert -np.mean(np.concatenate(logs)) < 0.1


def test_kneser_ney_beats_add_k_markov_chains_on_held_out_tunes():
    valid, test = TEST[:10], TEST[10:]
    for order in (3, 4):
        kn = bits_per_token(KneserNey(order).fit(TRAIN, valid=valid), test)
        for add_k in (0.01, 0.1, 1.0):
            assert kn < bits_per_token(MarkovChain(order, add_k=add_k).fit(TRAIN), test)


def test_unsmoothed_markov_chain_gives_infinite_bits_to_a_new_continuation():
    model = MarkovChain(2).fit([[60, 62, 64]])
    assert bits_per_token(model, [[60, 64]]) == np.inf
    assert bits_per_token(model, [[60, 62]]) == pytest.approx(0.0)


def test_markov_chain_backs_off_to_a_shorter_seen_context():
    model = MarkovChain(3).fit([[60, 62, 64], [67, 62, 65]])
    p = model.next_token_probs([71, 62])  # (71, 62) never seen; 62 was followed by 64 and 65
    np.testing.assert_allclose(p[[64, 65]], [0.5, 0.5])


def test_transition_table_of_a_bigram_chain():
    table = MarkovChain(2).fit([[60, 62, 60, 64]]).transition_table()
    assert table[(BOS,)] == {60: 1.0}
    assert table[(60,)] == {62: 0.5, 64: 0.5}
    assert table[(62,)] == {60: 1.0}


def test_witten_bell_gets_worse_at_high_orders_while_kneser_ney_does_not_collapse():
    wb = {o: bits_per_token(WittenBell(o).fit(TRAIN), TEST) for o in (3, 10)}
    kn = {o: bits_per_token(KneserNey(o).fit(TRAIN), TEST) for o in (3, 10)}
    assert wb[10] > wb[3] + 0.1
    assert kn[10] < wb[10]


def test_best_kneser_ney_picks_the_order_with_fewest_validation_bits():
    model = best_kneser_ney(TRAIN, TEST[:20], orders=(1, 2, 3, 5))
    scores = model.validation_by_order_
    assert set(scores) == {1, 2, 3, 5}
    assert model.order == min(scores, key=scores.get)
    assert model.order >= 3  # the source looks two tokens back
    assert bits_per_token(model, TEST[:20]) == pytest.approx(scores[model.order])


def test_bits_per_token_can_score_onsets_only():
    model = KneserNey(3).fit(TRAIN)
    tunes = TEST[:5]
    logs = np.concatenate(model.log2_probs(tunes))
    onsets = np.concatenate([is_onset_token(t) for t in tunes])
    assert bits_per_token(model, tunes, onsets_only=True) == pytest.approx(-logs[onsets].mean())
    assert bits_per_token(model, tunes) == pytest.approx(-logs.mean())


def test_log2_probs_gives_one_value_per_token_for_every_tune():
    logs = KneserNey(4).fit(TRAIN).log2_probs([TEST[0], [], TEST[1]])
    assert [len(x) for x in logs] == [len(TEST[0]), 0, len(TEST[1])]
    assert np.all(logs[0] < 0)


def test_log_prob_of_a_tune_is_the_sum_of_its_token_log_probabilities():
    model = WittenBell(3).fit(TRAIN)
    tune = TEST[0]
    assert model.log_prob(tune) == pytest.approx(np.sum(model.log2_probs([tune])[0]) * np.log(2))
    assert MarkovChain(2).fit([[60, 62]]).log_prob([60, 62]) == pytest.approx(0.0)


# --- sampling --------------------------------------------------------------------------------------
def test_same_seed_gives_the_same_tune():
    model = KneserNey(4).fit(TRAIN)
    a = model.sample(80, seed=11, temperature=0.9, top_p=0.95)
    b = model.sample(80, seed=11, temperature=0.9, top_p=0.95)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, model.sample(80, seed=12, temperature=0.9, top_p=0.95))


def test_sample_keeps_the_primer_and_stops_at_end():
    model = MarkovChain(3).fit(TRAIN)
    tune = model.sample(500, seed=0, primer=TRAIN[0][:5])
    np.testing.assert_array_equal(tune[:5], TRAIN[0][:5])
    assert tune[-1] == END and END not in tune[:-1]
    assert len(model.sample(7, seed=0)) <= 7


def test_sample_with_a_key_mask_plays_only_notes_of_the_key():
    model = WittenBell(3).fit(TRAIN)
    mask = key_mask("C major")
    tune = model.sample(200, seed=3, mask=mask, stop_at_end=False)
    assert len(tune) == 200
    assert all(mask[t] for t in tune)


def test_greedy_sampling_follows_the_likeliest_token():
    model = KneserNey(3).fit(TRAIN)
    tune = model.sample(20, seed=0, temperature=0, stop_at_end=False)
    for i in range(len(tune)):
        assert tune[i] == np.argmax(model.next_token_probs(tune[:i]))


# --- copying (the check itself is metrics.longest_shared_run, tested in test_metrics.py) ---------------
def test_high_order_samples_copy_longer_passages():
    low = KneserNey(2).fit(TRAIN)
    high = KneserNey(16).fit(TRAIN)
    lows = [longest_shared_run(low.sample(120, seed=s), TRAIN).length for s in range(3)]
    highs = [longest_shared_run(high.sample(120, seed=s), TRAIN).length for s in range(3)]
    assert np.mean(highs) > np.mean(lows)


# --- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda: KneserNey(0),
    lambda: KneserNey(33),
    lambda: KneserNey(2.5),
    lambda: KneserNey(3, discounts="huge"),
    lambda: WittenBell(0),
    lambda: MarkovChain(0),                                   # order 1 is the least: no context
    lambda: MarkovChain(2, add_k=-1),
    lambda: KneserNey(3).fit(np.array([60, 62, 64])),         # one tune, not a list of tunes
    lambda: KneserNey(3).fit([[60, 62, 400]]),                # not a token
    lambda: KneserNey(3).fit([[]]),                           # nothing to learn
    lambda: KneserNey(3).next_token_probs([60]),              # not fitted
    lambda: KneserNey(3).fit(TRAIN).sample(-1),
])
def test_bad_input_raises_a_clear_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_a_million_step_sample_is_refused_with_the_limit_and_how_to_raise_it(monkeypatch):
    from musegen_helpers import ngram
    from musegen_helpers.errors import LimitError

    chain = ngram.MarkovChain(order=2).fit([[60, 62, 64, 62] * 4])
    with pytest.raises(LimitError, match=r"over the limit of 20000.*MAX_SAMPLE_STEPS"):
        chain.sample(1_000_000, seed=0)
    # the limit is read at call time, so changing it (as the message says) takes effect at once
    monkeypatch.setattr(ngram, "MAX_SAMPLE_STEPS", 100)
    assert len(chain.sample(100, seed=0, stop_at_end=False)) == 100
    with pytest.raises(LimitError, match="over the limit of 100"):
        chain.sample(101, seed=0)


@pytest.mark.parametrize("seed", [-1, 2 ** 40, 1.5, True])
def test_sample_explains_a_bad_seed(seed):
    from musegen_helpers import ngram

    chain = ngram.MarkovChain(order=2).fit([[60, 62, 64, 62]])
    with pytest.raises(ValueError, match="seed must be a whole number|rng must be"):
        chain.sample(8, seed=seed)


# --- one meaning of order; the scoring protocol ---------------------------------------------------------
def test_order_means_the_same_for_every_model():
    # an n-gram of order n looks at n - 1 tokens: a Markov chain and Kneser-Ney of the same order see the
    # same contexts (the transition table's keys are n - 1 tokens long) and agree where Kneser-Ney is sure
    for order in (1, 2, 3, 5):
        for model in (MarkovChain(order), KneserNey(order), WittenBell(order)):
            assert model.order == order and model.context_length == order - 1
            assert f"{order}-gram" in model.name and f"looks at {order - 1} previous tokens" in repr(model)
    table = MarkovChain(3).fit(TRAIN).transition_table()
    assert {len(context) for context in table} == {2}
    deterministic = [[60, 62, 64, 65, 67]] * 3
    chain, kn = MarkovChain(3).fit(deterministic), KneserNey(3).fit(deterministic)
    assert np.argmax(chain.next_token_probs([62, 64])) == np.argmax(kn.next_token_probs([62, 64])) == 65


def test_old_markov_order_zero_is_refused_with_the_new_meaning():
    with pytest.raises(ValueError, match=r"order=k \+ 1"):
        MarkovChain(0)


@pytest.mark.parametrize("model", [MarkovChain(3, add_k=0.1), WittenBell(3), KneserNey(4)])
def test_every_ngram_model_is_a_scorer(model):
    model.fit(TRAIN)
    assert isinstance(model, Scorer)
    logs = model.log2_probs(TEST[:3])
    assert [lp.shape for lp in logs] == [(len(t),) for t in TEST[:3]]
    assert bits_per_token(model, TEST[:3]) == pytest.approx(-np.concatenate(logs).mean(), rel=1e-12)
