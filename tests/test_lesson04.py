"""Lesson 04's exercise checkers, with right and wrong answers."""

import numpy as np
import pytest

pytest.importorskip("keras")

from musegen_helpers import datasets  # noqa: E402
from musegen_helpers.metrics import diversity, unique_fraction  # noqa: E402
from musegen_helpers.config import DATA_DIR  # noqa: E402
from musegen_helpers.exercises import ____  # noqa: E402
from musegen_helpers.lessons import lesson04 as L  # noqa: E402
from musegen_helpers.models import gan as G  # noqa: E402

HAVE_CHORALES = all((DATA_DIR / f"{datasets.CHORALES_STEM}{s}").is_file() for s in (".npz", ".json"))


def _verdict(exercise, answer):
    passed, feedback = exercise.evaluate(answer)
    return passed, feedback.message


# ---- q1: the discriminator's loss --------------------------------------------------------
def test_q1_accepts_keras_and_numpy_versions():
    from keras import ops

    def with_keras(real, fake):
        return 0.5 * (ops.mean(ops.softplus(-real)) + ops.mean(ops.softplus(fake)))

    def with_numpy(real, fake):
        return (np.mean(np.log1p(np.exp(-real))) + np.mean(np.log1p(np.exp(fake)))) / 2

    assert _verdict(L.q1, with_keras)[0] is True
    assert _verdict(L.q1, with_numpy)[0] is True
    assert _verdict(L.q1, G.discriminator_loss)[0] is True


def test_q1_explains_swapped_labels_and_a_sum():
    def swapped(real, fake):
        return 0.5 * (np.mean(np.logaddexp(0, real)) + np.mean(np.logaddexp(0, -fake)))

    def summed(real, fake):
        return np.mean(np.logaddexp(0, -real)) + np.mean(np.logaddexp(0, fake))

    passed, message = _verdict(L.q1, swapped)
    assert passed is False and "swapped" in message
    passed, message = _verdict(L.q1, summed)
    assert passed is False and "twice" in message
    passed, message = _verdict(L.q1, lambda real, fake: 0.0)
    assert passed is False and "ln 2" in message


def test_q1_unsolved_stub_is_not_attempted():
    def stub(real, fake):
        raise NotImplementedError("Exercise: write this function")

    assert _verdict(L.q1, stub)[0] is None
    assert _verdict(L.q1, ____)[0] is None


# ---- q3: mode collapse -------------------------------------------------------------------
def test_collapse_test_sets_are_what_they_claim():
    for what, bars, collapsed in L.collapse_test_sets():
        assert bars.shape[1:] == (16, 48, 1)
        assert (diversity(G.bars_to_pieces(bars)) < 0.5) == collapsed, what
    flicker = [b for what, b, _ in L.collapse_test_sets() if "flicker" in what][0]
    assert unique_fraction(G.bars_to_pieces(flicker)) > 0.9   # the trap: all "unique", yet one bar


def test_q3_accepts_a_diversity_test_and_explains_why_unique_counting_fails():
    assert _verdict(L.q3, lambda bars: diversity(G.bars_to_pieces(bars)) < 0.5)[0] is True
    passed, message = _verdict(L.q3, lambda bars: unique_fraction(G.bars_to_pieces(bars)) < 0.5)
    assert passed is False and "flicker" in message and "diversity" in message
    assert _verdict(L.q3, lambda bars: False)[0] is False
    passed, message = _verdict(L.q3, lambda bars: None)
    assert passed is False and "return" in message


# ---- q4: the threshold ---------------------------------------------------------------------
def test_q4_accepts_the_reference_and_rejects_extremes_with_reasons():
    assert _verdict(L.q4, L.q4.answer_or_reference(____))[0] is True
    passed, message = _verdict(L.q4, 0.05)
    assert passed is False and "too low" in message
    passed, message = _verdict(L.q4, 0.9)
    assert passed is False and ("empty" in message or "too high" in message)
    passed, message = _verdict(L.q4, 1.5)
    assert passed is False and "between 0 and 1" in message
    assert _verdict(L.q4, "0.5")[0] is False


def test_q4_reference_threshold_matches_the_real_bars_better_than_half():
    generator, _ = G.load_pretrained_generator(early=True)
    probs = G.generate_bars(generator, 500, seed=3, threshold=None)
    best = G.quality(G.binarize(probs, L.q4.answer_or_reference(____)))
    half = G.quality(G.binarize(probs, 0.5))
    assert abs(best["notes per bar"] - L.REAL_NOTES_PER_BAR) < abs(half["notes per bar"] - L.REAL_NOTES_PER_BAR)


@pytest.mark.skipif(not HAVE_CHORALES, reason="datasets not built: python -m musegen_helpers.datasets build")
def test_q4_real_bar_numbers_are_those_of_the_data():
    real = G.quality(G.chorale_bars(datasets.load_chorales()))
    assert real["notes per bar"] == pytest.approx(L.REAL_NOTES_PER_BAR, abs=0.1)
    assert real["used pitch classes"] == pytest.approx(L.REAL_PITCH_CLASSES, abs=0.1)


# ---- q2: name the failure --------------------------------------------------------------------
def test_q2_knows_the_winning_discriminator():
    assert _verdict(L.q2, "winning discriminator")[0] is True
    assert _verdict(L.q2, "  Winning Discriminator ")[0] is True
    passed, message = _verdict(L.q2, "mode collapse")
    assert passed is False and "D(real)" in message
    passed, message = _verdict(L.q2, "overfitting")
    assert passed is False and "not one of" in message


# ---- every exercise: the likely mistakes, each named ------------------------------------------
def test_q1_names_each_usual_slip():
    sp = lambda x: np.logaddexp(0, x)  # noqa: E731
    slips = {
        "generator's view": lambda r, f: 0.5 * (np.mean(sp(-r)) + np.mean(sp(-f))),     # both labelled real
        "with the minus sign": lambda r, f: 0.5 * (np.mean(sp(r)) + np.mean(sp(f))),    # both labelled generated
        "real bars' half alone": lambda r, f: np.mean(sp(-r)),
        "generated bars' half alone": lambda r, f: np.mean(sp(f)),
        "label smoothing": lambda r, f: G.discriminator_loss(r, f, label_smoothing=0.1),
        "not chances": lambda r, f: -np.mean(np.log(r)) - np.mean(np.log(1 - f)),       # logits read as chances
        "one number": lambda r, f: 0.5 * (sp(-r) + sp(f)),                             # a loss per bar
        "not the mean": lambda r, f: 0.5 * (np.sum(sp(-r)) + np.sum(sp(f))),           # ops.sum for ops.mean
        "*generator's* loss": lambda r, f: np.mean(sp(-f)),                            # the other network's loss
    }
    for words, slip in slips.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            passed, message = _verdict(L.q1, slip)
        assert passed is False and words in message, (words, message)


def test_q2_explains_each_wrong_failure():
    for name, words in [("empty output", "silent"), ("fragmented notes", "3 steps or longer"),
                        ("mode collapse", "diversity")]:
        passed, message = _verdict(L.q2, name)
        assert passed is False and words in message, (name, message)


def test_q3_reports_the_set_numbers_and_a_reversed_test():
    passed, message = _verdict(L.q3, lambda bars: diversity(G.bars_to_pieces(bars)) > 0.5)
    assert passed is False and "wrong way round" in message
    passed, message = _verdict(L.q3, lambda bars: diversity(G.bars_to_pieces(bars)) < 0.3)   # too strict
    assert passed is False and "two bars taking turns" in message and "diversity 0.4" in message
    assert "too low" in message
    passed, message = _verdict(L.q3, lambda bars: diversity(G.bars_to_pieces(bars)) < 0.95)  # too loose
    assert passed is False and "too" in message and "high" in message and "diversity 0.9" in message
    passed, message = _verdict(L.q3, lambda bars: diversity(G.bars_to_pieces(bars)))        # a number
    assert passed is False and "compare it with a threshold" in message


@pytest.mark.parametrize("answer, words", [
    (35, "did you mean 0.35"),                       # a percentage typed where a fraction is asked
    (15.5, "target"),                                # Bach's notes per bar, not a threshold
    (0.08, "share of cells"),                        # Bach's density, not a threshold
    (0.5, "usual default"),
    (0.3, "raise it"),
    (0.4, "lower it"),
])
def test_q4_names_the_mistake(answer, words):
    passed, message = _verdict(L.q4, answer)
    assert passed is False and words in message, message


def test_q4_an_answer_outside_0_1_falls_back_to_the_reference():
    value, name = L.threshold_or_reference(35)
    assert value == L.q4.answer_or_reference(____) and name == "the reference threshold"


# ---- later cells never print the reference before the learner answers --------------------------
def test_threshold_or_reference_hides_the_reference_and_names_the_learners_value():
    reference = L.q4.answer_or_reference(____)
    value, name = L.threshold_or_reference(____)
    assert value == reference and str(reference) not in name and f"{reference:g}" not in name
    assert L.threshold_or_reference(0.3) == (0.3, "0.3")          # a wrong answer is used, by its value


def test_notebook_cells_after_exercise_4_name_the_threshold_only_through_the_helper():
    import nbformat
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for folder in ("solutions", "notebooks"):
        nb = nbformat.read(root / folder / "04_gan.ipynb", 4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        after = code[next(i for i, s in enumerate(code) if "q4.check(" in s) + 1:]
        assert any("threshold_or_reference(threshold)" in s for s in after)
        for source in after:
            # the value is printed only through chosen_name, which hides the reference
            assert "answer_or_reference" not in source
            for shown in ("{chosen}", "{chosen:", "str(chosen)", "{threshold", "str(threshold)"):
                assert shown not in source, (shown, source)


# ---- verdicts: phrased from the numbers ----------------------------------------------------
class _Log:
    def __init__(self, history=None, checks=None):
        self.history, self.checks = history or {}, checks or []


def test_loss_verdict_follows_the_numbers():
    balanced = _Log({"d_loss": [0.6, 0.5, 0.45, 0.5], "g_loss": [0.9, 1.0, 1.1, 1.0]})
    assert "a balanced game" in L.loss_verdict(balanced) and "4 of 4 epochs" in L.loss_verdict(balanced)
    ahead = _Log({"d_loss": [0.6, 0.3, 0.1, 0.05], "g_loss": [0.9, 2.0, 3.0, 4.0]})
    assert "pulling ahead" in L.loss_verdict(ahead)


def test_early_training_verdict_follows_the_numbers():
    q = lambda notes, empty, qn: {"notes per bar": notes, "empty bar rate": empty,  # noqa: E731
                                  "qualified note rate": qn}
    thin = _Log(checks=[(1, q(190, 0, 0.1)), (2, q(5, 0.2, 0.0)), (3, q(9, 0.05, 0.05))])
    text = L.early_training_verdict(thin)
    assert "fell from 190.0 to 9.0" in text and "went thin" in text and "20% empty at step 8" in text
    assert "stayed fragments" in text
    dense = _Log(checks=[(1, q(197.8, 0, 0.12)), (2, q(187.9, 0, 0.05))])      # fast mode's run
    text = L.early_training_verdict(dense)
    assert "never went thin" in text and "No bar went silent" in text


def test_winning_verdict_follows_the_numbers():
    won = _Log({"d_loss": [0.5, 0.01], "real_score": [0.6, 0.999], "fake_score": [0.4, 0.001], "g_loss": [1, 7.5]})
    assert L.winning_verdict(won).startswith("The discriminator won") and "rose from 1.00 to 7.50" in L.winning_verdict(won)
    early = _Log({"d_loss": [0.603], "real_score": [0.508], "fake_score": [0.369], "g_loss": [1.02]})
    assert "did not win" in L.winning_verdict(early)


def test_collapse_and_walk_verdicts_follow_the_numbers():
    assert "collapsed in this run" in L.collapse_verdict(0.11, 1.0, 0.88)
    assert "although most of its bars are 'unique'" in L.collapse_verdict(0.11, 1.0, 0.88)
    assert "did not collapse" in L.collapse_verdict(0.7, 1.0, 0.88)
    bar = np.zeros((16, 48), bool)
    bar[:, 10] = True
    other = np.zeros((16, 48), bool)
    other[:, 30] = True
    assert L.neighbour_distance([bar, bar, bar]) == 0.0 and L.neighbour_distance([bar, other]) == 1.0
    assert "hangs together better" in L.walk_verdict([bar, bar, bar], [bar, other, bar])
    assert "does not hang together" in L.walk_verdict([bar, other, bar], [bar, other, bar])


def test_read_quality_table_says_within_10_percent_only_when_true():
    from musegen_helpers.metrics import Table

    real = {"bars": "real", "used pitch classes": 7.0, "qualified note rate": 0.6, "empty bar rate": 0.0,
            "unique fraction": 1.0, "diversity": 0.9, "polyphony": 3.9, "notes per bar": 15.5}
    # the student's run: DCGAN's qualified-note rate x1.16, label smoothing's x0.82
    dcgan = dict(real, bars="dcgan", **{"qualified note rate": 0.6 * 1.16})
    smoothed = dict(real, bars="smoothed", **{"qualified note rate": 0.6 * 0.82})
    close = dict(real, bars="pretrained", **{"used pitch classes": 7.1})
    thin = dict(real, bars="winning_disc", **{"notes per bar": 7.0, "used pitch classes": 3.5, "empty bar rate": 0.1})
    text = L.read_quality_table(Table([real, dcgan, smoothed, close, thin]))
    assert "longer notes ×1.16" in text and "more fragmented notes ×0.82" in text
    assert text.count("within 10% of Bach on every number") == 1          # the pretrained row only
    assert "thinner bars (fewer notes) ×0.45" in text and "10% empty bars" in text
    assert "In this run dcgan was closer to Bach than smoothed" in text


# ---- sentences of the lesson that are tested to hold ---------------------------------------
def test_an_untrained_generator_gives_every_cell_a_chance_near_one_half_and_clusters_at_0_5():
    import keras

    for seed in range(6):
        keras.utils.set_random_seed(seed)
        chances = G.generate_bars(G.build_generator(latent_dim=64, filters=32), 8, seed=seed, threshold=None)
        assert 0.4 < chances.min() and chances.max() < 0.6
        # "scattered over the bar they make many times more notes than a real bar has"
        assert G.quality(chances > 0.5)["notes per bar"] > 3 * L.REAL_NOTES_PER_BAR


def test_the_shipped_generators_are_what_the_lesson_says():
    early, _ = G.load_pretrained_generator(early=True)
    trained, info = G.load_pretrained_generator()
    assert info["settings"]["recipe"] == "label_smoothing"           # "The shipped generator was trained this way"
    early_probs = G.generate_bars(early, 500, seed=3, threshold=None)
    trained_probs = G.generate_bars(trained, 500, seed=3, threshold=None)
    unsure = lambda p: np.mean((p > 0.1) & (p < 0.9))  # noqa: E731
    assert unsure(trained_probs) < 0.01                               # "nearly every chance close to 0 or 1"
    assert np.mean(early_probs > 0.5) < 0.01                          # "its chances sit below 0.5"
    at_half = G.quality(G.binarize(early_probs, 0.5))
    assert at_half["notes per bar"] < 0.3 * L.REAL_NOTES_PER_BAR      # "its bars are nearly silent"
    # "No threshold fixes [the fragments]": at every threshold that gives Bach's density within 50 %
    for t in np.arange(0.25, 0.5, 0.0125):
        q = G.quality(G.binarize(early_probs, t))
        if abs(q["notes per bar"] / L.REAL_NOTES_PER_BAR - 1) < 0.5:
            assert q["qualified note rate"] < 0.1 * L.REAL_QUALIFIED_NOTE_RATE, t
    # "... only training does: the fully trained generator's rate is close to Bach's"; four-ish voices
    trained_quality = G.quality(G.binarize(trained_probs, 0.5))
    assert abs(trained_quality["qualified note rate"] / L.REAL_QUALIFIED_NOTE_RATE - 1) < 0.1
    assert 3.0 < trained_quality["polyphony"] < 5.0
    assert info["train_seconds"] < 10 * 60                            # "trained for a few minutes"


@pytest.mark.skipif(not HAVE_CHORALES, reason="datasets not built: python -m musegen_helpers.datasets build")
def test_the_data_facts_of_the_lesson_hold():
    chorales = datasets.load_chorales()
    in_3_4 = sum(tuple(p.time_signature) == (3, 4) for p in chorales) / len(chorales)
    assert 0.07 < in_3_4 < 0.13                                       # "about 1 in 10"
    kept = dropped = 0
    for piece in chorales:
        if tuple(piece.time_signature) != (4, 4) or piece.time_signature_changes or piece.key is None:
            continue
        for n in piece.pitched().transpose(G.semitones_to_c(piece.key)).notes:
            inside = G.LOWEST_PITCH <= n.pitch < G.LOWEST_PITCH + G.N_PITCHES
            kept, dropped = kept + inside, dropped + (not inside)
    assert kept / (kept + dropped) == pytest.approx(0.999, abs=0.0005)  # "99.9 % of the notes fall in this range"
    bars = G.chorale_bars(chorales)
    assert bars.mean() == pytest.approx(L.REAL_CELL_DENSITY, abs=0.002)
    real = G.quality(bars)
    assert real["qualified note rate"] == pytest.approx(L.REAL_QUALIFIED_NOTE_RATE, abs=0.02)
    assert 0.85 < real["diversity"] < 0.95                             # "Bach's bars score about 0.9"
