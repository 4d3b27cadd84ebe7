"""Temperature, top-k, nucleus, key masks and the draw itself (musegen_helpers.sampling)."""

import numpy as np
import pytest

from musegen_helpers.representation import END, HOLD, REST, VOCAB_SIZE
from musegen_helpers.sampling import apply_temperature, key_mask, nucleus, sample, top_k

PROBS = np.array([0.1, 0.5, 0.05, 0.3, 0.05])


def test_temperature_one_leaves_the_distribution_unchanged():
    np.testing.assert_allclose(apply_temperature(PROBS, 1.0), PROBS)


def test_temperature_zero_puts_everything_on_the_likeliest_token():
    np.testing.assert_array_equal(apply_temperature(PROBS, 0), [0, 1, 0, 0, 0])


def test_temperature_sharpens_below_one_and_flattens_above():
    cold, hot = apply_temperature(PROBS, 0.5), apply_temperature(PROBS, 2.0)
    assert cold[1] > PROBS[1] > hot[1]
    np.testing.assert_allclose(cold, PROBS**2 / np.sum(PROBS**2))
    np.testing.assert_allclose(hot, np.sqrt(PROBS) / np.sum(np.sqrt(PROBS)))


def test_temperature_on_logits_is_a_softmax():
    logits = np.array([1.0, 2.0, 0.0])
    expected = np.exp(logits / 0.7) / np.exp(logits / 0.7).sum()
    np.testing.assert_allclose(apply_temperature(logits, 0.7, from_logits=True), expected)


def test_tiny_temperature_approaches_argmax():
    np.testing.assert_allclose(apply_temperature(PROBS, 1e-3), [0, 1, 0, 0, 0], atol=1e-12)


def test_zero_probability_stays_zero_under_temperature():
    p = apply_temperature([0.0, 0.2, 0.8], 3.0)
    assert p[0] == 0 and p.sum() == pytest.approx(1)


def test_top_k_keeps_the_k_likeliest_tokens():
    out = top_k(PROBS, 2)
    assert np.count_nonzero(out) == 2
    np.testing.assert_allclose(out, [0, 0.5 / 0.8, 0, 0.3 / 0.8, 0])


def test_top_k_keeps_exactly_k_on_ties_and_all_when_k_is_large():
    tied = np.full(6, 1 / 6)
    assert np.count_nonzero(top_k(tied, 4)) == 4
    np.testing.assert_allclose(top_k(PROBS, 50), PROBS)


def test_nucleus_keeps_the_smallest_set_with_enough_mass():
    p = np.array([0.15, 0.5, 0.3, 0.05])
    np.testing.assert_allclose(nucleus(p, 0.8), [0, 0.5 / 0.8, 0.3 / 0.8, 0])   # 0.5 + 0.3 reaches 0.8
    assert np.count_nonzero(nucleus(p, 0.81)) == 3
    assert np.count_nonzero(nucleus(p, 0.4)) == 1
    np.testing.assert_allclose(nucleus(p, 1.0), p)


def test_filters_work_on_a_batch_row_by_row():
    batch = np.array([[0.1, 0.6, 0.3], [0.7, 0.1, 0.2]])
    np.testing.assert_array_equal(top_k(batch, 1) > 0, [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(nucleus(batch, 0.85) > 0, [[0, 1, 1], [1, 0, 1]])
    np.testing.assert_array_equal(apply_temperature(batch, 0), [[0, 1, 0], [1, 0, 0]])
    draws = sample(batch, 0, temperature=0)
    np.testing.assert_array_equal(draws, [1, 0])


def test_key_mask_allows_the_scale_and_the_special_tokens():
    mask = key_mask("C major")
    assert mask.shape == (VOCAB_SIZE,) and mask.dtype == bool
    assert mask[60] and mask[62] and mask[71] and mask[72]   # C4 D4 B4 C5
    assert not mask[61] and not mask[66] and not mask[70]    # C#4 F#4 Bb4
    assert mask[HOLD] and mask[REST] and mask[END]
    assert mask[:128].sum() == sum(1 for p in range(128) if p % 12 in (0, 2, 4, 5, 7, 9, 11))


def test_key_mask_knows_minor_modes_and_extra_pitch_classes():
    a_minor = key_mask("A minor")
    np.testing.assert_array_equal(a_minor[:128], key_mask("C major")[:128])   # relative keys
    assert not a_minor[68] and key_mask("A minor", extra_pitch_classes=[8])[68]  # G# leading tone
    d_dorian = key_mask((2, "dorian"))
    assert d_dorian[71] and not d_dorian[70]                                  # dorian's raised 6th (B)
    assert key_mask("D major")[66] and not key_mask("D major")[65]            # F# not F
    assert key_mask((9, "Aeolian")).tolist() == a_minor.tolist()              # mode names as Piece.key reads them


def test_key_mask_knows_every_scale_a_piece_key_can_name():
    harmonic = key_mask("A harmonic minor")
    assert harmonic[68] and not harmonic[67]                                  # G# in, G out
    natural_plus_g_sharp = key_mask("A minor", extra_pitch_classes=[8])
    natural_plus_g_sharp[[p for p in range(128) if p % 12 == 7]] = False   # G leaves when G# comes in
    np.testing.assert_array_equal(harmonic, natural_plus_g_sharp)
    blues = key_mask("C blues")
    assert [p for p in range(60, 72) if blues[p]] == [60, 63, 65, 66, 67, 70]
    assert key_mask("G pentatonic")[:128].sum() == sum(1 for p in range(128) if p % 12 in (7, 9, 11, 2, 4))
    assert key_mask("C chromatic").all()


def test_mask_zeroes_out_of_key_pitches_in_every_draw():
    rng = np.random.default_rng(1)
    probs = np.ones(VOCAB_SIZE)
    mask = key_mask("G major")
    draws = [sample(probs, rng, mask=mask) for _ in range(500)]
    assert all(mask[d] for d in draws)
    assert len(set(draws)) > 30  # still random among the allowed tokens


def test_same_seed_gives_same_draws_and_temperature_zero_is_argmax():
    rng_probs = np.random.default_rng(7).random((20, VOCAB_SIZE))
    a = [sample(p, np.random.default_rng(3), temperature=1.3, top_p=0.9) for p in rng_probs]
    b = [sample(p, np.random.default_rng(3), temperature=1.3, top_p=0.9) for p in rng_probs]
    assert a == b
    assert [sample(p, 0, temperature=0) for p in rng_probs] == [int(np.argmax(p)) for p in rng_probs]


def test_sample_draws_in_proportion_to_probability():
    rng = np.random.default_rng(0)
    draws = sample(np.tile([0.2, 0.0, 0.8], (20000, 1)), rng)
    assert np.all(draws != 1)
    assert np.mean(draws == 2) == pytest.approx(0.8, abs=0.02)


def test_sample_with_top_k_one_is_greedy():
    assert sample(PROBS, 5, top_k=1) == 1


def test_sample_returns_a_python_int_for_one_distribution():
    assert isinstance(sample(PROBS, 0), int)


@pytest.mark.parametrize("call", [
    lambda: apply_temperature(PROBS, -0.5),
    lambda: sample(PROBS, 0, temperature=-1),
    lambda: top_k(PROBS, 0),
    lambda: top_k(PROBS, 2.5),
    lambda: sample(PROBS, 0, top_k=0),
    lambda: nucleus(PROBS, 0.0),
    lambda: nucleus(PROBS, 1.5),
    lambda: sample(PROBS, 0, top_p=-0.1),
    lambda: sample([0.5, -0.1, 0.6], 0),
    lambda: sample([0.0, 0.0], 0),
    lambda: sample([0.5, np.nan], 0),
    lambda: sample(np.ones(VOCAB_SIZE), 0, mask=np.zeros(VOCAB_SIZE, bool)),
    lambda: sample(np.ones(5), 0, mask=np.ones(4, bool)),
    lambda: key_mask("H major"),
    lambda: key_mask("C major", extra_pitch_classes=[12]),
])
def test_bad_arguments_raise_a_clear_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_error_for_an_empty_mask_says_why():
    with pytest.raises(ValueError, match="mask"):
        sample(np.ones(VOCAB_SIZE), 0, mask=np.zeros(VOCAB_SIZE, bool))
