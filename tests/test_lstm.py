"""The melody LSTM: windows, the fast samplers against the textbook loop, saving and scoring.

Small random models keep this file fast; the pretrained model is only loaded and checked.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from musegen_helpers.errors import LimitError  # noqa: E402
from musegen_helpers.models import lstm  # noqa: E402
from musegen_helpers.representation import END, HOLD, REST, VOCAB_SIZE, is_onset_token  # noqa: E402
from musegen_helpers.sampling import key_mask  # noqa: E402
from musegen_helpers.scoring import bits_per_token, with_end  # noqa: E402

TUNE = np.array([67, HOLD, 69, HOLD, 71, HOLD, HOLD, HOLD, 72, HOLD, 71, 69, REST, HOLD, 67, HOLD], np.int32)


@pytest.fixture(scope="module")
def small_model():
    return lstm.build_melody_model(embedding_dim=8, units=16, layers=2, dropout=0.1, seed=3)


@pytest.fixture(scope="module")
def sampler(small_model):
    return lstm.MelodySampler(small_model)


# ---------------------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------------------
def test_windows_target_is_input_shifted_by_one_step():
    x, y, w = lstm.tune_windows([TUNE], window=6, stride=3)
    full = np.concatenate([[lstm.START], TUNE, [END]])
    for row_x, row_y, row_w in zip(x, y, w):
        real = int(row_w.sum())
        np.testing.assert_array_equal(row_x[1:real], row_y[:real - 1])
    # the first window sees the start of the tune, and every real token is a target at least once
    np.testing.assert_array_equal(x[0], full[:6])
    targets = {(i, int(t)) for row_x, row_y, row_w in zip(x, y, w) for i, t in enumerate(row_y[row_w > 0])}
    assert len(targets) > 0
    assert int(np.round(w.sum())) >= len(full) - 1


def test_windows_never_span_two_tunes_and_padding_has_no_weight():
    a = np.array([60, HOLD, 62], np.int32)
    b = np.array([72, HOLD, HOLD, HOLD, 74], np.int32)
    x, y, w = lstm.tune_windows([a, b], window=4)
    # tune a: START 60 _ 62 -> 60 _ 62 END; then tune b starts in a fresh window
    np.testing.assert_array_equal(x[0], [lstm.START, 60, HOLD, 62])
    np.testing.assert_array_equal(y[0], [60, HOLD, 62, END])
    np.testing.assert_array_equal(x[1], [lstm.START, 72, HOLD, HOLD])
    np.testing.assert_array_equal(x[2][:2], [HOLD, 74])
    np.testing.assert_array_equal(y[2][:2], [74, END])
    np.testing.assert_array_equal(w[2], [1, 1, 0, 0])
    assert len(x) == 3


def test_whole_tune_windows_keep_every_token_once():
    tunes = [TUNE, TUNE[:5], TUNE[:1]]
    x, y, w = lstm.tune_windows(tunes, window=None)
    assert x.shape == (3, len(TUNE) + 1)
    np.testing.assert_array_equal(w.sum(axis=1), [len(t) + 1 for t in tunes])


def test_windows_refuse_tokens_outside_the_vocabulary():
    with pytest.raises(ValueError, match="tokens in"):
        lstm.tune_windows([np.array([60, 400])])


def test_dataset_batches_line_up_and_transposition_moves_input_and_target_together():
    tunes = [TUNE + 0, np.where(TUNE < 128, TUNE - 5, TUNE)]
    plain = list(lstm.make_windows(tunes, window=8, batch_size=4, shuffle=False))
    moved = list(lstm.make_windows(tunes, window=8, batch_size=4, shuffle=False, transpose=4, seed=1))
    x0, y0, w0 = (np.asarray(t) for t in plain[0])
    x1, y1, w1 = (np.asarray(t) for t in moved[0])
    np.testing.assert_array_equal(x0[:, 1:], y0[:, :-1])
    np.testing.assert_array_equal(w0, w1)
    shifts = set()
    for a, b, c, d in zip(x0, x1, y0, y1):
        pitched = a < 128
        shift = set((b[pitched] - a[pitched]).tolist())
        assert len(shift) <= 1  # one shift per window
        np.testing.assert_array_equal(b[~pitched], a[~pitched])  # HOLD/REST/END untouched
        np.testing.assert_array_equal(d[c < 128] - c[c < 128], np.full((c < 128).sum(), next(iter(shift), 0)))
        shifts |= shift
    assert shifts - {0}, "transposition never moved a window"


def test_shuffled_dataset_is_reproducible_with_a_seed():
    tunes = [np.full(10, 60 + i, np.int32) for i in range(12)]
    a = [np.asarray(b[0]) for b in lstm.make_windows(tunes, window=4, batch_size=5, seed=7)]
    b = [np.asarray(b[0]) for b in lstm.make_windows(tunes, window=4, batch_size=5, seed=7)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------------------------------
# Fast samplers against the textbook loop
# ---------------------------------------------------------------------------------------
def test_numpy_step_equals_keras_forward_pass(small_model):
    net = lstm.NumpyLSTM(small_model)
    feed = np.concatenate([[lstm.START], TUNE])
    logits, _ = net.run(feed)
    expected = np.asarray(small_model(feed[None, :], training=False))[0]
    np.testing.assert_allclose(logits, expected, atol=1e-5)


def test_next_token_probabilities_agree_across_samplers(small_model, sampler):
    context = TUNE[:9]
    slow = lstm.next_token_probabilities(small_model, context)
    fast = sampler.next_token_probabilities(context)
    numpy_way = lstm.MelodySampler(small_model, backend="numpy").next_token_probabilities(context)
    assert slow.shape == (VOCAB_SIZE,) and math.isclose(slow.sum(), 1.0, rel_tol=1e-9)
    np.testing.assert_allclose(fast, slow, atol=1e-5)
    np.testing.assert_allclose(numpy_way, slow, atol=1e-5)


@pytest.mark.parametrize("primer", [None, TUNE[:5]])
def test_greedy_fast_sampler_writes_the_same_notes_as_the_predict_loop(small_model, sampler, primer):
    slow = lstm.naive_generate(small_model, length=12, temperature=0.0, primer=primer, seed=5)
    fast = sampler.generate(length=12, temperature=0.0, primer=primer, seed=5)
    by_numpy = lstm.MelodySampler(small_model, backend="numpy").generate(12, temperature=0.0, primer=primer)
    assert fast.dtype == np.int32 and len(fast) == 12
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(by_numpy, slow)


def test_same_seed_same_melody_other_seed_other_melody(sampler):
    a = sampler.generate(64, temperature=1.0, seed=11)
    b = sampler.generate(64, temperature=1.0, seed=11)
    c = sampler.generate(64, temperature=1.0, seed=12)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sampled_first_tokens_follow_the_top_k_distribution(sampler):
    probs = sampler.next_token_probabilities()
    top3 = np.argsort(-probs)[:3]
    expected = probs[top3] / probs[top3].sum()
    draws = np.array([sampler.generate(1, temperature=1.0, top_k=3, seed=s)[0] for s in range(600)])
    assert set(draws.tolist()) <= set(top3.tolist())
    observed = np.array([(draws == t).mean() for t in top3])
    np.testing.assert_allclose(observed, expected, atol=0.07)


def test_key_mask_keeps_pitches_in_the_key(sampler):
    out = sampler.generate(200, temperature=1.5, key="D major", seed=2)
    allowed = key_mask("D major")
    assert allowed[out].all()
    assert (out < 128).any()


def test_stop_at_end_returns_the_tune_before_end(sampler):
    never = sampler.generate(300, temperature=2.0, seed=4, stop_at_end=False)
    assert END not in never and len(never) == 300
    stopped = sampler.generate(300, temperature=2.0, seed=4, stop_at_end=True)
    assert END not in stopped and len(stopped) <= 300


def test_a_million_steps_is_refused_with_the_limit_named(small_model, sampler):
    with pytest.raises(LimitError, match="limit"):
        sampler.generate(1_000_000)
    with pytest.raises(LimitError, match="limit"):
        lstm.naive_generate(small_model, length=1_000_000)


@pytest.mark.parametrize("kwargs, words", [
    ({"temperature": -1}, "temperature"), ({"top_k": 0}, "top_k"), ({"top_p": 1.5}, "top_p"),
    ({"length": 0}, "length"), ({"primer": [60, 999]}, "primer"),
])
def test_bad_sampling_settings_are_explained(sampler, kwargs, words):
    with pytest.raises(ValueError, match=words):
        sampler.generate(**{"length": 8, **kwargs})


def test_a_conditioned_model_is_scored_under_its_condition():
    model = lstm.build_melody_model(embedding_dim=8, units=12, n_conditions=3, seed=1)
    tunes = [TUNE[:5], TUNE[:3]]
    for condition in (0, 2):
        logps = lstm.LSTMScorer(model, condition=condition).log2_probs(tunes)
        by_hand = [math.log2(lstm.next_token_probabilities(model, TUNE[:i], condition=condition)[TUNE[i]])
                   for i in range(5)]
        np.testing.assert_allclose(logps[0], by_hand, atol=1e-5)
    mixed = lstm.LSTMScorer(model, condition=[0, 2]).log2_probs(tunes)
    np.testing.assert_allclose(mixed[1], lstm.LSTMScorer(model, condition=2).log2_probs(tunes)[1], atol=1e-6)
    with pytest.raises(ValueError, match="conditioned"):
        lstm.LSTMScorer(model)
    with pytest.raises(ValueError, match="one per tune"):
        lstm.LSTMScorer(model, condition=[0]).log2_probs(tunes)


def test_conditioned_model_samples_match_predict_for_each_condition():
    model = lstm.build_melody_model(embedding_dim=8, units=12, n_conditions=3, seed=1)
    s = lstm.MelodySampler(model)
    for condition in (0, 2):
        slow = lstm.next_token_probabilities(model, TUNE[:4], condition=condition)
        np.testing.assert_allclose(s.next_token_probabilities(TUNE[:4], condition=condition), slow, atol=1e-5)
    assert not np.allclose(s.next_token_probabilities(condition=0), s.next_token_probabilities(condition=2))
    with pytest.raises(ValueError, match="condition"):
        s.generate(8)


# ---------------------------------------------------------------------------------------
# Training, scoring, saving
# ---------------------------------------------------------------------------------------
def test_training_on_one_phrase_learns_to_continue_it():
    keras.utils.set_random_seed(0)
    phrase = np.tile(np.array([60, 62, 64, 65, 67, 69, 71, 72], np.int32), 4)  # a C major scale, again and again
    model = lstm.build_melody_model(embedding_dim=8, units=24, dropout=0.0, learning_rate=0.03, seed=0)
    ds = lstm.make_windows([phrase] * 16, window=None, batch_size=2, seed=0)
    history = lstm.train(model, ds, ds, epochs=12, patience=12, live_plot=False, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    out = lstm.MelodySampler(model).generate(16, temperature=0.0, primer=phrase[:8])
    np.testing.assert_array_equal(out, phrase[8:24])


def test_the_scorer_gives_each_token_its_probability_given_the_tune_before_it(small_model):
    tunes = with_end([TUNE, TUNE[:6]])
    scorer = lstm.LSTMScorer(small_model)
    logps = scorer.log2_probs(tunes)
    assert [len(lp) for lp in logps] == [len(TUNE) + 1, 7]
    # the first token of a tune is scored from the start marker alone (model.predict, no batching)
    first = lstm.next_token_probabilities(small_model, [])[TUNE[0]]
    assert math.isclose(logps[0][0], math.log2(first), abs_tol=1e-5)
    after = lstm.next_token_probabilities(small_model, TUNE[:3])[TUNE[3]]
    assert math.isclose(logps[0][3], math.log2(after), abs_tol=1e-5)
    end = lstm.next_token_probabilities(small_model, TUNE)[END]
    assert math.isclose(logps[0][-1], math.log2(end), abs_tol=1e-5)
    total = -np.concatenate(logps).mean()
    assert math.isclose(bits_per_token(scorer, tunes), total, rel_tol=1e-12)
    onsets = np.concatenate([is_onset_token(t) for t in tunes])   # END is not an onset
    assert not onsets[len(TUNE)]
    assert math.isclose(bits_per_token(scorer, tunes, onsets_only=True), -np.concatenate(logps)[onsets].mean(),
                        rel_tol=1e-12)


def test_scoring_does_not_depend_on_batching(small_model):
    tunes = [TUNE, TUNE[:3], np.zeros(0, np.int32), TUNE[:9], [END]]
    together = lstm.LSTMScorer(small_model).log2_probs(tunes)
    one_by_one = lstm.LSTMScorer(small_model, max_batch_tokens=8).log2_probs(tunes)
    assert [len(lp) for lp in together] == [16, 3, 0, 9, 1]  # exactly the tokens given
    for a, b in zip(together, one_by_one):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_a_keras_model_alone_is_not_a_scorer(small_model):
    with pytest.raises(ValueError, match="LSTMScorer"):
        bits_per_token(small_model, [TUNE])
    with pytest.raises(ValueError, match="takes no condition"):
        lstm.LSTMScorer(small_model, condition=1)


def test_save_and_load_round_trip_keeps_predictions(small_model, tmp_path):
    path = lstm.save_model(small_model, tmp_path / "melody.keras")
    loaded = lstm.load_model(path)
    feed = np.concatenate([[lstm.START], TUNE])[None, :]
    np.testing.assert_allclose(np.asarray(loaded(feed)), np.asarray(small_model(feed)), atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["melody.keras"]  # no temporary file left behind
    with pytest.raises(FileExistsError, match="overwrite=True"):
        lstm.save_model(small_model, path)
    lstm.save_model(small_model, path, overwrite=True)
    with pytest.raises(ValueError, match=".keras"):
        lstm.save_model(small_model, tmp_path / "melody.h5")
    with pytest.raises(FileNotFoundError, match="no such model file"):
        lstm.load_model(tmp_path / "missing.keras")


def test_damaged_model_file_is_reported(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match="could not load"):
        lstm.load_model(bad)


def test_pretrained_model_loads_safely_and_writes_music():
    assert lstm.PRETRAINED_PATH.is_file(), "run scripts/train_pretrained_lstm.py to build the pretrained model"
    assert lstm.PRETRAINED_PATH.stat().st_size < 5_000_000
    model = lstm.load_pretrained()
    info = json.loads(lstm.PRETRAINED_PATH.with_suffix(".json").read_text())
    assert {"config", "epochs", "history", "train_seconds"} <= set(info)
    tokens = lstm.MelodySampler(model).generate(64, temperature=0.8, seed=0)
    assert (tokens < 128).sum() >= 4  # it writes notes, not just silence
    # a trained model finds a real tune far less surprising than a uniform guess (7.03 bits)
    assert bits_per_token(lstm.LSTMScorer(model), with_end([TUNE])) < 4.0


def test_legacy_model_is_the_classic_tutorial_model_in_keras_3_form():
    model = lstm.build_legacy_model(seq_length=16, pitch_count=12)
    assert model.input_shape == (None, 16, 12)
    assert model.output_shape == (None, 16, 12)
    assert [type(layer).__name__ for layer in model.layers] == ["LSTM", "Dense"]
    assert math.isclose(float(model.optimizer.learning_rate), 0.01, rel_tol=1e-6)
    out = np.asarray(model(np.eye(12, dtype="float32")[np.arange(16) % 12][None]))
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, atol=1e-5)


def test_the_compiled_sampler_serves_models_of_different_sizes_in_one_session():
    # a learner samples the pretrained model, then their own smaller one, then the pretrained again
    small = lstm.build_melody_model(embedding_dim=16, units=24)
    other = lstm.build_melody_model(embedding_dim=24, units=16)
    for model in (small, other, small):
        tokens = lstm.MelodySampler(model).generate(40, seed=3)
        assert len(tokens) == 40
    xla = lstm.MelodySampler(small).generate(40, seed=3, temperature=0)
    numpy_path = lstm.MelodySampler(small, backend="numpy").generate(40, seed=3, temperature=0)
    assert list(xla) == list(numpy_path)  # greedy: both back ends agree note for note
