"""Lesson 04's GAN helpers: data bars, models, gradient penalty, model files, and quality numbers
measured through Pieces by musegen_helpers.metrics (the metrics themselves: tests/test_metrics.py)."""

import json
import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from musegen_helpers import metrics as M  # noqa: E402
from musegen_helpers.models import gan as G  # noqa: E402
from musegen_helpers.models import saving  # noqa: E402
from musegen_helpers.music import Note, Piece  # noqa: E402

STEPS, PITCHES, LATENT = 8, 12, 4


@pytest.fixture(scope="module")
def tiny_generator():
    keras.utils.set_random_seed(1)
    return G.build_generator(LATENT, STEPS, PITCHES, filters=4)


def _bar(notes, steps=16, pitches=48):
    """A hand-made bar: notes are (row, first step, last step exclusive)."""
    bar = np.zeros((steps, pitches), dtype=bool)
    for row, a, b in notes:
        bar[a:b, row] = True
    return bar


# ---- generator and discriminator -----------------------------------------------------
def test_generator_makes_bars_of_chances(tiny_generator):
    probs = G.generate_bars(tiny_generator, 5, seed=3, threshold=None)
    assert probs.shape == (5, STEPS, PITCHES, 1)
    assert probs.dtype == np.float32
    assert probs.min() >= 0.0 and probs.max() <= 1.0


def test_generate_bars_binarises_and_repeats_with_the_same_seed(tiny_generator):
    probs = G.generate_bars(tiny_generator, 6, seed=3, threshold=None)
    bars = G.generate_bars(tiny_generator, 6, seed=3, threshold=0.5)
    assert bars.dtype == bool and bars.shape == (6, STEPS, PITCHES, 1)
    np.testing.assert_array_equal(bars, probs > 0.5)
    np.testing.assert_array_equal(bars, G.generate_bars(tiny_generator, 6, seed=3))
    assert not np.array_equal(probs, G.generate_bars(tiny_generator, 6, seed=4, threshold=None))


def test_discriminator_gives_one_logit_per_bar():
    d = G.build_discriminator(STEPS, PITCHES, filters=4)
    scores = np.asarray(d(np.zeros((3, STEPS, PITCHES, 1), np.float32)))
    assert scores.shape == (3, 1)


def test_generator_refuses_sizes_it_cannot_double_to():
    with pytest.raises(ValueError, match="multiples of 4"):
        G.build_generator(LATENT, 10, PITCHES)


# ---- losses and the gradient penalty -------------------------------------------------
def test_discriminator_loss_is_ln2_when_guessing_and_zero_when_always_right():
    zeros = np.zeros((4, 1), np.float32)
    assert float(G.discriminator_loss(zeros, zeros)) == pytest.approx(math.log(2), rel=1e-6)
    assert float(G.generator_loss(zeros)) == pytest.approx(math.log(2), rel=1e-6)
    sure = np.full((4, 1), 30.0, np.float32)
    assert float(G.discriminator_loss(sure, -sure)) == pytest.approx(0.0, abs=1e-6)


def test_label_smoothing_punishes_certainty_about_real_bars():
    sure = np.full((4, 1), 30.0, np.float32)
    # with labels 0.9, logit 30 costs 0.1 * 30 / 2 = 1.5 (the fake half costs ~0)
    assert float(G.discriminator_loss(sure, -sure, label_smoothing=0.1)) == pytest.approx(1.5, rel=1e-4)
    # the best real logit is now log(0.9 / 0.1), not infinity
    best = np.full((4, 1), math.log(9.0), np.float32)
    assert float(G.discriminator_loss(best, -sure, 0.1)) < float(G.discriminator_loss(best + 1, -sure, 0.1))


def test_gradient_penalty_of_a_linear_critic_is_its_slope_minus_one_squared():
    # critic(x) = w . x with every weight 0.5 over 2 x 3 cells: its gradient is w everywhere,
    # |w| = sqrt(6 * 0.25) = sqrt(1.5), so the penalty is (sqrt(1.5) - 1)^2 for any points.
    critic = keras.Sequential([keras.Input((2, 3, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    critic.layers[-1].set_weights([np.full((6, 1), 0.5, np.float32), np.zeros(1, np.float32)])
    rng = np.random.default_rng(0)
    real = rng.random((5, 2, 3, 1)).astype(np.float32)
    fake = rng.random((5, 2, 3, 1)).astype(np.float32)
    penalty = float(G.gradient_penalty(critic, real, fake))
    assert penalty == pytest.approx((math.sqrt(1.5) - 1) ** 2, rel=1e-5)


def test_gradient_penalty_is_measured_between_real_and_fake():
    # critic(x) = sum(x^2) has gradient 2x. Halfway between zeros and ones (4 cells) x = 0.5,
    # the gradient is all ones with norm 2, so the penalty is (2 - 1)^2 = 1; at alpha = 0 (the
    # real zeros) the gradient is 0 and the penalty (0 - 1)^2 = 1 too, at alpha = 1: (4 - 1)^2 = 9.
    from keras import ops

    def critic(x, training=False):
        return ops.sum(x ** 2, axis=(1, 2, 3))

    real = np.zeros((1, 2, 2, 1), np.float32)
    fake = np.ones((1, 2, 2, 1), np.float32)
    for alpha, expected in [(0.5, 1.0), (1.0, 9.0), (0.25, 0.0)]:
        a = np.full((1, 1, 1, 1), alpha, np.float32)
        assert float(G.gradient_penalty(critic, real, fake, a)) == pytest.approx(expected, abs=1e-5)


# ---- training runs ---------------------------------------------------------------------
def _toy_bars(n=32):
    rng = np.random.default_rng(0)
    bars = np.zeros((n, STEPS, PITCHES, 1), np.float32)
    for i in range(n):
        bars[i, :, rng.integers(0, PITCHES), 0] = 1.0  # one held note per bar
    return bars


@pytest.mark.parametrize("kind", ["dcgan", "wgan-gp"])
def test_one_epoch_of_training_changes_the_generator_and_logs_finite_losses(kind):
    gan = G.make_gan(kind, latent_dim=LATENT, steps=STEPS, pitches=PITCHES, filters=4, n_critic=1, seed=0)
    before = [w.copy() for w in gan.generator.get_weights()]
    log = G.train_gan(gan, _toy_bars(), epochs=1, batch_size=16, show=False, n_check=32, lowest_pitch=60)
    after = gan.generator.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(before, after))
    assert log.epochs == 1 and len(log.checks) == 1
    assert np.isfinite(log.last("d_loss")) and np.isfinite(log.last("g_loss"))
    assert log.sample.shape == (16, STEPS, PITCHES, 1)
    assert isinstance(log.sample_piece, Piece)


def test_train_gan_refuses_bars_of_another_shape():
    gan = G.make_gan("dcgan", latent_dim=LATENT, steps=STEPS, pitches=PITCHES, filters=4)
    with pytest.raises(ValueError, match="shape"):
        G.train_gan(gan, np.zeros((8, 16, 48, 1), np.float32), epochs=1, show=False)


def test_make_gan_knows_its_recipes():
    with pytest.raises(ValueError, match="recipe"):
        G.make_gan(recipe="magic")
    gan = G.make_gan(recipe="winning_discriminator", latent_dim=LATENT, steps=STEPS, pitches=PITCHES, filters=4)
    assert gan.settings["d_learning_rate"] > 10 * gan.settings["g_learning_rate"]


# ---- files (models/saving.py, shared by every model) -----------------------------------------
def test_saved_generator_loads_safely_and_makes_the_same_bars(tiny_generator, tmp_path):
    path = saving.save_model(tiny_generator, tmp_path / "g.keras", info={"lowest_pitch": 60})
    loaded = saving.load_model(path)
    np.testing.assert_allclose(G.generate_bars(loaded, 4, seed=9, threshold=None),
                               G.generate_bars(tiny_generator, 4, seed=9, threshold=None), atol=1e-6)
    assert json.loads((tmp_path / "g.json").read_text()) == {"lowest_pitch": 60}
    assert saving.load_info(path) == {"lowest_pitch": 60}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json", "g.keras"]  # no temp files left


def test_save_model_never_overwrites_unless_asked(tiny_generator, tmp_path):
    path = saving.save_model(tiny_generator, tmp_path / "g.keras")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        saving.save_model(tiny_generator, path)
    saving.save_model(tiny_generator, path, overwrite=True)
    with pytest.raises(ValueError, match=".keras"):
        saving.save_model(tiny_generator, tmp_path / "g.h5")
    # the JSON beside it is checked before a long run, too
    (tmp_path / "h.json").write_text("{}")
    with pytest.raises(FileExistsError, match="h.json"):
        saving.check_can_write_model(tmp_path / "h.keras")
    assert saving.check_can_write_model(tmp_path / "h.keras", with_info=False) == tmp_path / "h.keras"


def test_info_that_json_cannot_write_is_refused_before_the_model_is_written(tiny_generator, tmp_path):
    with pytest.raises(TypeError, match="JSON"):
        saving.save_model(tiny_generator, tmp_path / "g.keras", info={"when": object()})
    assert list(tmp_path.iterdir()) == []


def test_load_model_explains_a_missing_or_damaged_file(tmp_path):
    from musegen_helpers.errors import MusicFileError
    with pytest.raises(FileNotFoundError, match="no such model file"):
        saving.load_model(tmp_path / "nothing.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip archive")
    with pytest.raises(MusicFileError, match="bad.keras.*could not load"):
        saving.load_model(bad)
    with pytest.raises(FileNotFoundError, match="no information file"):
        saving.load_info(bad)


def test_pretrained_generator_is_small_and_makes_chorale_bars():
    assert G.PRETRAINED_GENERATOR.stat().st_size < 5_000_000
    generator, info = G.load_pretrained_generator()
    bars = G.generate_bars(generator, 8, seed=0)
    assert bars.shape == (8, G.STEPS_PER_BAR, G.N_PITCHES, 1)
    assert info["lowest_pitch"] == G.LOWEST_PITCH
    assert bars.any(axis=(1, 2, 3)).all(), "the pretrained generator made an empty bar"


# ---- quality numbers: bars -> Pieces -> musegen_helpers.metrics ----------------------------------
C4, E4, G4, C5 = 24, 28, 31, 36  # rows above LOWEST_PITCH = 36 (C2)


def _roll_quality(bars, lowest_pitch=G.LOWEST_PITCH, min_steps=3):
    """The numbers computed straight on the rolls with numpy, independently of Pieces (the
    definitions gan.py had before the metrics moved to musegen_helpers.metrics)."""
    rolls = np.asarray(bars).astype(bool)
    rolls = rolls[..., 0] if rolls.ndim == 4 else rolls
    nonempty = rolls[rolls.any(axis=(1, 2))]
    classes = (lowest_pitch + np.arange(rolls.shape[2])) % 12
    upc = [len(set(classes[b.any(axis=0)])) for b in nonempty]
    runs = np.diff(np.pad(np.transpose(rolls, (0, 2, 1)).astype(np.int8), ((0, 0), (0, 0), (1, 1))), axis=2)
    lengths = np.nonzero(runs == -1)[2] - np.nonzero(runs == 1)[2]
    counts = rolls.sum(axis=2).ravel()
    flat = rolls.reshape(len(rolls), -1)
    rng = np.random.default_rng(0)
    i = rng.integers(0, len(rolls), 2000)
    j = (i + rng.integers(1, len(rolls), 2000)) % len(rolls)
    inter, union = (flat[i] & flat[j]).sum(axis=1), (flat[i] | flat[j]).sum(axis=1)
    return {
        "used pitch classes": float(np.mean(upc)) if upc else 0.0,
        "qualified note rate": float(np.mean(lengths >= min_steps)) if lengths.size else math.nan,
        "empty bar rate": float(np.mean(~rolls.any(axis=(1, 2)))),
        "unique fraction": len(np.unique(flat, axis=0)) / len(rolls),
        "diversity": float(np.mean(np.where(union > 0, 1.0 - inter / np.maximum(union, 1), 0.0))),
        "polyphony": float(counts[counts > 0].mean()) if (counts > 0).any() else math.nan,
        "notes per bar": lengths.size / len(rolls),
    }


@pytest.mark.parametrize("density", [0.02, 0.1, 0.3])
def test_quality_through_pieces_equals_counting_cells_of_the_rolls(density):
    rng = np.random.default_rng(int(density * 100))
    bars = rng.random((60, 16, 48)) < density
    bars[::7] = False                                   # some empty bars
    bars[1::9] = bars[2]                                # some repeated bars
    got, expected = G.quality(bars[..., None]), _roll_quality(bars)
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name] == pytest.approx(expected[name], nan_ok=True), name


def test_quality_of_a_held_triad_and_of_silence():
    triad = _bar([(C4, 0, 16), (E4, 0, 16), (G4, 0, 16)])
    q = G.quality(np.stack([triad, triad]))
    assert q["used pitch classes"] == 3 and q["qualified note rate"] == 1.0 and q["polyphony"] == 3.0
    assert q["notes per bar"] == 3.0 and q["unique fraction"] == 0.5 and q["diversity"] == 0.0
    # trailing empty bars count: a Piece ends with its last note, so quality passes the bars' length
    q = G.quality(np.stack([triad, _bar([]), _bar([]), _bar([])]))
    assert q["empty bar rate"] == 0.75 and q["notes per bar"] == 0.75
    silent = G.quality(np.zeros((3, 16, 48), bool))
    assert silent["used pitch classes"] == 0.0 and silent["empty bar rate"] == 1.0
    assert math.isnan(silent["qualified note rate"]) and math.isnan(silent["polyphony"])
    # three sixteenths are a qualified note, two are not (min_steps=3 -> 0.75 quarter notes)
    assert G.quality(_bar([(C4, 0, 2), (C4, 4, 6), (E4, 8, 11)]))["qualified note rate"] == pytest.approx(1 / 3)


def test_quality_table_is_a_metrics_table_with_one_row_per_set():
    real = np.stack([_bar([(C4, 0, 16), (E4, 0, 16), (G4, 0, 16)])] * 2)
    flicker = np.stack([_bar([(C4, s, s + 1) for s in range(0, 16, 2)]), _bar([])])
    table = G.quality_table(real, flicker, other=real)
    assert isinstance(table, M.Table)
    assert table["bars"] == ["real", "generated", "other"]
    assert table.row("real")["used pitch classes"] == 3.0
    assert table.row("generated")["used pitch classes"] == 1.0
    assert table.row("generated")["qualified note rate"] == 0.0
    assert table.row("generated")["empty bar rate"] == 0.5
    assert "qualified note rate" in repr(table) and "<table>" in table._repr_html_()


def test_bars_to_pieces_gives_one_piece_per_bar_and_the_phrase_strings_them():
    bars = np.stack([_bar([(C4, 0, 16)]), _bar([]), _bar([(E4, 4, 8)])])
    pieces = G.bars_to_pieces(bars)
    assert [len(p) for p in pieces] == [1, 0, 1]
    assert all(p.time_signature == (4, 4) and p.key == "C major" for p in pieces)
    phrase = G.bars_to_piece(bars)
    assert [(n.pitch, n.start, n.duration) for n in phrase.notes] == [(60, 0.0, 4.0), (64, 9.0, 1.0)]


def test_binarisation_thresholds():
    probs = np.array([[0.1, 0.4, 0.6, 0.9]])
    assert G.binarize(probs, 0.5).tolist() == [[False, False, True, True]]
    assert G.binarize(probs, 0.3).tolist() == [[False, True, True, True]]
    with pytest.raises(ValueError, match="between 0 and 1"):
        G.binarize(probs, 1.5)
    sampled = G.binarize(np.full((200, 200), 0.25), "sample", seed=1)
    assert sampled.mean() == pytest.approx(0.25, abs=0.01)
    assert G.density_threshold(np.linspace(0, 1, 1001), 0.1) == pytest.approx(0.9, abs=1e-3)


def test_latent_interpolation_starts_and_ends_at_the_chosen_points():
    a, b = G.latent_points(2, 16, seed=5)
    path = G.interpolate_latent(a, b, np.linspace(0, 1, 5))
    np.testing.assert_allclose(path[0], a, atol=1e-5)
    np.testing.assert_allclose(path[-1], b, atol=1e-5)
    # slerp between points of equal length stays at that length (a plain average shrinks)
    b_scaled = b / np.linalg.norm(b) * np.linalg.norm(a)
    mid = G.interpolate_latent(a, b_scaled, 0.5)
    assert np.linalg.norm(mid) == pytest.approx(np.linalg.norm(a), rel=1e-4)
    assert np.linalg.norm(G.interpolate_latent(a, b_scaled, 0.5, spherical=False)) < np.linalg.norm(a)


# ---- data: chorale bars ------------------------------------------------------------------
def test_semitones_to_c_moves_the_key_signature_to_no_sharps_or_flats():
    assert G.semitones_to_c("C major") == 0
    assert G.semitones_to_c("A minor") == 0
    assert G.semitones_to_c("G major") == 5
    assert G.semitones_to_c("E minor") == 5
    assert G.semitones_to_c("F major") == -5
    assert G.semitones_to_c("D minor") == -5
    assert G.semitones_to_c("Bb major") == 2


def test_chorale_bars_start_after_the_pickup_and_move_to_c():
    # G major, a one-beat pickup (D4), then bar 1: G3 whole bar under B4 B4 (halves)
    notes = [Note(62, 0, 1, part="S"), Note(55, 1, 4, part="B"), Note(71, 1, 2, part="S"),
             Note(71, 3, 2, part="S"), Note(74, 5, 4, part="S"), Note(40, 5, 4, part="Violin")]
    piece = Piece(notes, key="G major", pickup=1.0)
    bars, sources = G.chorale_bars([piece], return_sources=True)
    assert bars.shape == (2, 16, 48, 1) and bars.dtype == np.float32
    assert sources == [(0, 1.0, 5), (0, 5.0, 5)]
    first = bars[0, :, :, 0]
    # G3 (55) + 5 = C4 (60) -> row 24, held all bar; B4 (71) + 5 = E5 (76) -> row 40, two halves
    assert first[:, 24].all()
    assert first[:, 40].all()
    second = bars[1, :, :, 0]
    assert np.flatnonzero(second.any(axis=0)).tolist() == [74 + 5 - 36]  # violin part dropped
    # a plain piano roll cannot tell two repeated B4s from one long one: they come back merged
    piece_back = G.bars_to_piece(bars[:1])
    assert sorted((n.pitch, n.start, n.duration) for n in piece_back.notes) == [(60, 0.0, 4.0), (76, 0.0, 4.0)]


def test_chorale_bars_skip_three_four_and_keyless_pieces():
    waltz = Piece([Note(60, 0, 3)], time_signature=(3, 4), key="C major")
    keyless = Piece([Note(60, 0, 4)], key=None)
    changing = Piece([Note(60, 0, 7)], key="C major", time_signature_changes=[(4, (3, 4))])
    with pytest.raises(ValueError, match="4/4"):
        G.chorale_bars([waltz, keyless, changing])
    ok = Piece([Note(60, 0, 4)], key="C major")
    assert len(G.chorale_bars([waltz, ok, keyless])) == 1


def test_one_bar_with_its_channel_axis_is_one_bar():
    bar = _bar([(C4, 0, 16), (E4, 4, 8)])[..., None]           # (16, 48, 1), as bars[i] gives it
    piece = G.bar_to_piece(bar)
    assert sorted((n.pitch, n.start, n.duration) for n in piece.notes) == [(60, 0.0, 4.0), (64, 1.0, 1.0)]
    assert G.quality(bar)["used pitch classes"] == 2


def test_bars_round_trip_through_a_piece():
    rng = np.random.default_rng(2)
    bars = rng.random((12, 16, 48)) < 0.1
    piece = G.bars_to_piece(bars, lowest_pitch=G.LOWEST_PITCH)
    assert piece.time_signature == (4, 4)
    again = np.stack([G.bar_roll(piece, 4.0 * i) for i in range(len(bars))])
    np.testing.assert_array_equal(again, bars)


def test_a_million_bars_are_refused_before_any_memory_is_used(tiny_generator):
    from musegen_helpers.errors import LimitError

    with pytest.raises(LimitError, match=r"1000000 bars is over the limit of 20000 .*GB.*MAX_BARS"):
        G.generate_bars(tiny_generator, 1_000_000)
    for bad in (0, -3, 2.5, "16"):
        with pytest.raises(ValueError, match="whole number >= 1"):
            G.generate_bars(tiny_generator, bad)
