"""The lesson 06 Transformer: the causal mask holds, the cached sampler writes what the naive loop
writes, .keras files round-trip in safe mode, and the scorer gives the shared bits-per-token number."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from musegen_helpers.scoring import bits_per_token, is_scorer, with_end  # noqa: E402
from musegen_helpers.errors import LimitError  # noqa: E402
from musegen_helpers.models import lstm  # noqa: E402
from musegen_helpers.models import transformer as T  # noqa: E402
from musegen_helpers.representation import END, HOLD, REST  # noqa: E402

CONTEXT = 48


def small_model(position="rotary", causal=True, seed=3, layers=2, learning_rate=1e-3):
    return T.build_transformer(max_length=CONTEXT, embed_dim=16, num_heads=2, layers=layers, ff_dim=32,
                               dropout=0.0, position=position, causal=causal, seed=seed, learning_rate=learning_rate)


@pytest.fixture(scope="module")
def rotary():
    return small_model("rotary")


@pytest.fixture(scope="module")
def learned():
    return small_model("learned")


def tunes(n=6, seed=0, low=8, high=40):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        t = rng.integers(55, 80, rng.integers(low, high)).astype(np.int32)
        t[rng.random(len(t)) < 0.4] = HOLD
        t[rng.random(len(t)) < 0.05] = REST
        out.append(t)
    return out


# ---- the causal mask -------------------------------------------------------------------------
def test_causal_mask_is_the_lower_triangle():
    np.testing.assert_array_equal(T.causal_mask(3), [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    with pytest.raises(ValueError, match="length"):
        T.causal_mask(0)


@pytest.mark.parametrize("fixture", ["rotary", "learned"])
def test_changing_a_future_token_never_changes_earlier_logits(fixture, request):
    model = request.getfixturevalue(fixture)
    x = np.array([tunes(1, seed=1, low=40, high=41)[0]], np.int32)
    base = np.asarray(model(x))
    for k in (5, 20, 39):
        y = x.copy()
        y[0, k] = (y[0, k] + 7) % 128
        changed = np.asarray(model(y))
        np.testing.assert_allclose(changed[0, :k], base[0, :k], atol=1e-6)
        assert np.abs(changed[0, k:] - base[0, k:]).max() > 1e-4  # the token itself and later steps do see it


def test_without_the_mask_earlier_logits_see_the_future():
    model = small_model(causal=False)
    x = np.array([tunes(1, seed=1, low=30, high=31)[0]], np.int32)
    y = x.copy()
    y[0, 20] = (y[0, 20] + 7) % 128
    assert np.abs(np.asarray(model(y))[0, :20] - np.asarray(model(x))[0, :20]).max() > 1e-4


def test_rotary_scores_depend_only_on_the_distance():
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(1, 1, 1, 8)).astype("float32"), rng.normal(size=(1, 1, 1, 8)).astype("float32")

    def score(i, j):
        rq = np.asarray(T.apply_rotary(q, np.array([i], np.float32)))
        rk = np.asarray(T.apply_rotary(k, np.array([j], np.float32)))
        return float((rq * rk).sum())

    assert score(5, 2) == pytest.approx(score(105, 102), abs=1e-4)
    assert score(5, 2) != pytest.approx(score(6, 2), abs=1e-3)
    np.testing.assert_allclose(np.asarray(T.apply_rotary(q, np.array([0.0], np.float32))), q, atol=1e-7)


def test_attention_weights_match_keras_multi_head_attention():
    """The layer's arithmetic is Keras's MultiHeadAttention with a causal mask (same weights copied over)."""
    layer = T.CausalSelfAttention(2, 4, seed=1)
    x = np.random.default_rng(1).normal(size=(1, 5, 8)).astype("float32")
    ours, weights = layer(x, return_attention_scores=True)
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    mha(x, x)
    mha.set_weights(layer.get_weights())  # query, key, value, output: kernel and bias each, same order
    theirs, their_weights = mha(x, x, use_causal_mask=True, return_attention_scores=True)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=1e-5)
    np.testing.assert_allclose(np.asarray(weights), np.asarray(their_weights), atol=1e-6)


# ---- sampling ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["rotary", "learned"])
def test_cached_sampler_writes_what_the_naive_loop_writes(fixture, request):
    model = request.getfixturevalue(fixture)
    cached, naive = T.TransformerSampler(model), T.TransformerSampler(model, backend="naive")
    primer = [67, HOLD, 69, HOLD]
    for kwargs in (dict(temperature=1.0, seed=5), dict(temperature=0.0), dict(temperature=1.3, top_p=0.9, seed=2),
                   dict(temperature=1.0, top_k=5, key="G major", seed=9, primer=primer)):
        a, b = cached.generate(24, **kwargs), naive.generate(24, **kwargs)
        assert len(a) == 24
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(cached.next_token_probabilities(primer), naive.next_token_probabilities(primer),
                               atol=1e-5)


def test_cached_probabilities_equal_the_models_own(rotary):
    context = tunes(1, seed=4, low=20, high=21)[0]
    expected = lstm.next_token_probabilities(rotary, context)
    np.testing.assert_allclose(T.TransformerSampler(rotary).next_token_probabilities(context), expected, atol=1e-5)


def test_same_seed_same_melody_and_the_filters_hold(rotary):
    sampler = T.TransformerSampler(rotary)
    a, b = sampler.generate(30, seed=1), sampler.generate(30, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sampler.generate(30, seed=2))
    from musegen_helpers.sampling import key_mask
    in_key = sampler.generate(40, seed=3, key="D major", temperature=1.5)
    assert key_mask("D major")[in_key].all()
    assert END not in sampler.generate(40, seed=3)


def test_sampler_refuses_what_does_not_fit_with_a_clear_message(rotary):
    sampler = T.TransformerSampler(rotary)
    full = sampler.generate(CONTEXT - 4, primer=[60, HOLD, HOLD, HOLD], seed=3)  # the context exactly filled
    naive = T.TransformerSampler(rotary, backend="naive").generate(CONTEXT - 4, primer=[60, HOLD, HOLD, HOLD], seed=3)
    assert len(full) == CONTEXT - 4
    np.testing.assert_array_equal(full, naive)
    with pytest.raises(LimitError, match=f"at most {CONTEXT - 4} new tokens"):
        sampler.generate(CONTEXT - 3, primer=[60, HOLD, HOLD, HOLD])
    with pytest.raises(ValueError, match="top_p"):
        sampler.generate(8, top_p=1.5)
    with pytest.raises(ValueError, match="seed"):
        sampler.generate(8, seed=-1)
    with pytest.raises(ValueError, match="backend"):
        T.TransformerSampler(rotary, backend="fast")
    with pytest.raises(ValueError, match="not a melody Transformer"):
        T.TransformerSampler(lstm.build_melody_model(units=8, embedding_dim=4))


# ---- saving and loading -----------------------------------------------------------------------
@pytest.mark.parametrize("position", ["rotary", "learned"])
def test_save_load_round_trip_in_safe_mode(position, tmp_path):
    model = small_model(position, seed=11, layers=1)
    x = np.array([tunes(1, seed=2, low=30, high=31)[0]], np.int32)
    path = T.save_model(model, tmp_path / "melody.keras")
    with pytest.raises(FileExistsError):
        T.save_model(model, path)
    again = T.load_model(path)  # safe_mode=True: only registered layers
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), atol=1e-6)
    assert again.get_layer("block_1").get_config() == model.get_layer("block_1").get_config()
    np.testing.assert_array_equal(T.TransformerSampler(again).generate(20, seed=4),
                                  T.TransformerSampler(model).generate(20, seed=4))
    assert not list(tmp_path.glob("*.tmp*"))


# ---- scoring ----------------------------------------------------------------------------------
def test_scorer_protocol_gives_the_shared_number(rotary):
    scorer = T.TransformerScorer(rotary)
    assert is_scorer(scorer) and scorer.name == "Transformer"
    short = with_end(tunes(8, seed=5))
    logs = scorer.log2_probs(short)
    assert [len(lp) for lp in logs] == [len(t) for t in short]
    # within the context a tune is read whole: the same numbers as lesson 03's whole-tune scorer, which
    # reads any tokens -> logits model the same way
    whole = lstm.LSTMScorer(rotary).log2_probs(short)
    for a, b in zip(logs, whole):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert bits_per_token(scorer, short) == pytest.approx(float(-np.mean(np.concatenate(logs))), rel=1e-12)
    assert bits_per_token(scorer, short) == pytest.approx(bits_per_token(lstm.LSTMScorer(rotary), short), rel=1e-6)
    assert bits_per_token(scorer, short, onsets_only=True) == pytest.approx(
        bits_per_token(lstm.LSTMScorer(rotary), short, onsets_only=True), rel=1e-6)
    with pytest.raises(ValueError, match="tokens in"):
        scorer.log2_probs([np.array([60, 131])])


def test_long_tunes_are_scored_in_windows_with_half_a_context_of_past(rotary):
    long = tunes(1, seed=6, low=130, high=131)[0]  # 131 tokens + END: several windows of 48
    targets = with_end([long])[0].astype(np.int32)
    scores = T.TransformerScorer(rotary).log2_probs([targets])[0]
    assert len(scores) == len(targets) and np.all(np.isfinite(scores)) and np.all(scores <= 0)
    inputs = np.concatenate([[T.START], targets[:-1]]).astype(np.int32)
    spans = T.scoring_windows(len(targets), CONTEXT)
    covered = np.concatenate([np.arange(first, end) for _, first, end in spans])
    np.testing.assert_array_equal(covered, np.arange(len(targets)))  # every token once, in order
    for start, first, end in spans:
        assert first - start >= CONTEXT // 2 or start == 0
        logp = np.asarray(keras.ops.log_softmax(rotary(inputs[None, start:end]), axis=-1))[0] / math.log(2)
        direct = logp[np.arange(end - start), targets[start:end]][first - start:]
        np.testing.assert_allclose(scores[first:end], direct, atol=1e-4)


def test_attention_maps_are_causal_rows_of_weights(rotary):
    maps = T.attention_maps(rotary, tunes(1, seed=7, low=20, high=21)[0])
    assert maps.shape == (2, 2, 21, 21)
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-5)
    assert np.abs(np.triu(maps, 1)).max() == 0.0


def test_builder_explains_bad_settings():
    with pytest.raises(ValueError, match="divisible"):
        T.build_transformer(embed_dim=30, num_heads=4)
    with pytest.raises(ValueError, match="position"):
        T.build_transformer(position="sinusoidal")
    with pytest.raises(ValueError, match="even head size"):
        T.build_transformer(embed_dim=12, num_heads=4)


def test_time_budget_stops_training(rotary):
    model = small_model(seed=1, layers=1)
    ds = T.make_windows(tunes(40, seed=8), window=CONTEXT, batch_size=2, seed=0)
    budget = T.TimeBudget(0.01)
    history = T.train(model, ds, epochs=5, callbacks=[budget], live_plot=False, verbose=0)
    assert budget.stopped_early and len(history.history["loss"]) == 1


def test_training_lowers_the_loss_on_the_lstm_windows():
    model = small_model(seed=2, layers=1, learning_rate=1e-2)
    data = tunes(30, seed=9)
    before = bits_per_token(T.TransformerScorer(model), with_end(data))  # about log2(131) = 7.03: even guesses
    T.train(model, T.make_windows(data, window=CONTEXT, batch_size=8, seed=0), epochs=6, live_plot=False, verbose=0)
    assert bits_per_token(T.TransformerScorer(model), with_end(data)) < before - 1.5


# ---- the shipped model ------------------------------------------------------------------------
def test_pretrained_transformer_loads_generates_and_is_small():
    assert T.PRETRAINED_PATH.stat().st_size < 10e6
    info = T.pretrained_info()
    for key in ("config", "parameters", "history", "test_bits_per_token", "test_onset_bits_per_token",
                "train_seconds", "train_cpu_seconds", "command"):
        assert key in info, key
    model = T.load_pretrained()
    assert T.count_parameters(model) == info["parameters"]
    assert T.context_length(model) == info["config"]["max_length"] >= 256  # START + 255 tokens read: 16 bars written
    melody = T.TransformerSampler(model).generate(256, seed=1)
    assert len(melody) == 256
    json.dumps(info)  # plain JSON, nothing pickled


def test_builder_defaults_are_the_shipped_models_architecture():
    """build_transformer() with no arguments is the pretrained model's size (a learner who
    retrains with the defaults gets the model the lesson's table describes)."""
    shipped = T.load_pretrained()
    fresh = T.build_transformer()
    assert T.count_parameters(fresh) == T.count_parameters(shipped)
    assert T.context_length(fresh) == T.context_length(shipped)
    blocks = [[layer for layer in m.layers if isinstance(layer, T.TransformerBlock)] for m in (fresh, shipped)]
    assert len(blocks[0]) == len(blocks[1])
    for mine, theirs in zip(*blocks):
        assert {k: v for k, v in mine.get_config().items() if k not in ("name", "dropout", "seed", "trainable", "dtype")} == \
            {k: v for k, v in theirs.get_config().items() if k not in ("name", "dropout", "seed", "trainable", "dtype")}


# ---- without the mask: a tiny loss, and samples that are no tune ------------------------------
def test_the_unmasked_model_reads_the_answer_and_its_samples_fall_apart():
    """Lesson 06, section 3, in miniature: the same tiny model with and without the mask on real
    tunes. The unmasked one's loss on unseen tunes is far lower; its samples fail the plain test."""
    from musegen_helpers.datasets import load_melodies
    from musegen_helpers.lessons.lesson06 import falls_apart

    melodies = load_melodies(limit=600)
    train, valid = melodies.split("train").tokens()[:80], with_end(melodies.split("valid").tokens()[:20])
    windows = T.make_windows(train, window=CONTEXT, batch_size=16, seed=1)
    bits, failed = {}, {}
    for causal in (True, False):
        model = small_model(causal=causal, seed=1, layers=1, learning_rate=1e-2)
        T.train(model, windows, epochs=6, live_plot=False, verbose=0)
        bits[causal] = bits_per_token(T.TransformerScorer(model), valid)
        sampler = T.TransformerSampler(model, backend="naive")
        failed[causal] = [falls_apart(sampler.generate(CONTEXT - 1, seed=s)) for s in range(1, 5)]
    assert bits[False] < 0.5 * bits[True]                            # measured: 0.13 against 0.73
    assert all(reason is not None for reason in failed[False]), failed[False]
    assert sum(reason is not None for reason in failed[True]) < len(failed[True]) / 2, failed[True]   # 0 of 4
