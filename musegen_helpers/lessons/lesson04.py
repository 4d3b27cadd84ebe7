"""Exercises of lesson 04 (a GAN over piano-roll bars): the discriminator's loss (q1), naming a
failure from its numbers (q2), spotting mode collapse (q3), choosing a binarisation threshold (q4).

The checkers use numpy only; q4 loads the pretrained generator (and so Keras) when it checks.

Lesson: 04_gan
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..exercises import ____, CheckFailed, Exercise, call_learner, describe_answer

__all__ = ["____", "q1", "q2", "q3", "q4", "collapse_test_sets", "threshold_quality"]


# ---- q1: the discriminator's loss ----------------------------------------------------------
def _softplus(x):
    return np.logaddexp(0.0, x)


def _reference_loss(real_logits, fake_logits):
    """Binary cross-entropy, real bars labelled 1 and generated bars 0, the two halves averaged."""
    r = np.asarray(real_logits, np.float64)
    f = np.asarray(fake_logits, np.float64)
    return 0.5 * (np.mean(_softplus(-r)) + np.mean(_softplus(f)))


_LOSS_CASES = [
    ("every logit 0 (a discriminator that guesses)", np.zeros((4, 1)), np.zeros((4, 1))),
    ("a confident, right discriminator", np.full((4, 1), 6.0), np.full((4, 1), -6.0)),
    ("a confident, wrong discriminator", np.full((4, 1), -3.0), np.full((4, 1), 3.0)),
    ("mixed logits", np.array([[2.0], [-1.0], [0.5], [3.0]]), np.array([[-2.0], [1.5], [-0.5], [0.0]])),
]


def _check_loss(answer):
    if not callable(answer):
        raise CheckFailed("write a function `def my_discriminator_loss(real_logits, fake_logits):` and pass "
                          "its name (without brackets).", wrong_type=True)
    for what, real, fake in _LOSS_CASES:
        expected = _reference_loss(real, fake)
        value = call_learner(answer, (real.astype(np.float32), fake.astype(np.float32)), context=f"with {what}, ")
        try:
            value = float(np.asarray(value))
        except (TypeError, ValueError):
            raise CheckFailed(f"your function should return one number (the mean loss), got {value!r}.") from None
        if math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-5):
            continue
        swapped = _reference_loss(-real, -fake)
        if math.isclose(value, swapped, rel_tol=1e-4, abs_tol=1e-5):
            raise CheckFailed(f"with {what} your loss is {value:.4f}, the loss of a discriminator with the labels "
                              "swapped: real bars must be labelled 1 (loss -log σ(logit) = softplus(-logit)), "
                              "generated bars 0 (loss -log(1 - σ(logit)) = softplus(logit)).")
        if math.isclose(value, 2 * expected, rel_tol=1e-4, abs_tol=1e-5):
            raise CheckFailed(f"with {what} your loss is {value:.4f}, twice the expected {expected:.4f}: average "
                              "the real and the generated halves, so that a guessing discriminator scores ln 2.")
        raise CheckFailed(f"with {what} your loss is {value:.4f}; binary cross-entropy gives {expected:.4f}. "
                          "A discriminator that says 0 to everything should score ln 2 = 0.6931.")


q1 = Exercise(
    "the discriminator's loss",
    check=_check_loss,
    hints=["The discriminator outputs logits (any real number); σ(logit) is its belief that a bar is real.",
           "For a real bar the loss is -log σ(logit) = softplus(-logit); for a generated bar it is "
           "-log(1 - σ(logit)) = softplus(logit). `keras.ops.softplus` or `np.logaddexp(0, x)` compute softplus.",
           "Take the mean of each half over the batch, then average the two halves."],
    solution=("def my_discriminator_loss(real_logits, fake_logits):\n"
              "    real_loss = ops.mean(ops.softplus(-real_logits))   # real bars labelled 1\n"
              "    fake_loss = ops.mean(ops.softplus(fake_logits))    # generated bars labelled 0\n"
              "    return 0.5 * (real_loss + fake_loss)"),
    explanation="This is what BarGAN.train_step minimises (G.discriminator_loss, with label_smoothing=0).",
    reference=_reference_loss,
)


# ---- q2: which failure is it? -------------------------------------------------------------
FAILURES = ("empty output", "winning discriminator", "mode collapse", "fragmented notes")


def _check_failure(answer):
    if not isinstance(answer, str):
        raise CheckFailed(f"answer with one of the names {', '.join(map(repr, FAILURES))}.", wrong_type=True)
    said = answer.strip().lower()
    if said not in FAILURES:
        raise CheckFailed(f"{answer!r} is not one of {', '.join(map(repr, FAILURES))}.")
    if said == "winning discriminator":
        return
    why = {
        "mode collapse": "mode collapse shows in the bars (diversity near 0), and a collapsed generator usually "
                         "fools the discriminator well; here it fools it almost never",
        "empty output": "the bars have notes (8 per bar); an empty-output generator makes silent bars",
        "fragmented notes": "79 % of the notes are 3 steps or longer: they are not fragments",
    }[said]
    raise CheckFailed(f"not this one: {why}. Look at D(real), D(fake) and the losses.")


q2 = Exercise(
    "name the failure",
    check=_check_failure,
    hints=["D(real) = 0.999 and D(fake) = 0.001: how sure is the discriminator, and is it right?",
           "A discriminator loss near 0 means it always wins; the generator's loss then keeps growing."],
    solution='failure = "winning discriminator"',
    reference="winning discriminator",
)


# ---- q3: spotting mode collapse ----------------------------------------------------------
def _random_chorale_like(rng, n, steps=16, pitches=48):
    """Varied four-voice bars: each voice holds notes of random lengths on C major scale pitches."""
    scale_rows = [r for r in range(pitches) if (36 + r) % 12 in (0, 2, 4, 5, 7, 9, 11)]
    bars = np.zeros((n, steps, pitches), dtype=bool)
    for b in range(n):
        for voice in range(4):
            lo = voice * len(scale_rows) // 4
            t = 0
            while t < steps:
                length = int(rng.choice([2, 4, 4, 8]))
                bars[b, t:t + length, scale_rows[lo + rng.integers(0, len(scale_rows) // 4)]] = True
                t += length
    return bars


def collapse_test_sets(n: int = 200, seed: int = 0) -> list[tuple[str, np.ndarray, bool]]:
    """The sets of bars q3 checks a collapse detector on: ``(description, bars, collapsed?)``."""
    rng = np.random.default_rng(seed)
    varied = _random_chorale_like(rng, n)
    one = np.repeat(varied[:1], n, axis=0)
    flicker = one.copy()
    for b in range(n):  # a few cells differ, so every bar is "unique"
        flicker[b, rng.integers(0, 16, 3), rng.integers(0, 48, 3)] ^= True
    two = np.concatenate([np.repeat(varied[1:3], n // 2, axis=0)])
    return [
        ("200 varied chorale-like bars", varied[..., None], False),
        ("one bar repeated 200 times", one[..., None], True),
        ("one bar repeated with 3 cells flickering in each copy (every bar 'unique')", flicker[..., None], True),
        ("two bars taking turns", two[..., None], True),
        ("200 other varied bars", _random_chorale_like(rng, n)[..., None], False),
    ]


def _check_collapse(answer):
    if not callable(answer):
        raise CheckFailed("write a function `def is_collapsed(bars):` that returns True or False, and pass "
                          "its name.", wrong_type=True)
    for what, bars, collapsed in collapse_test_sets():
        said = call_learner(answer, (bars,), context=f"on {what}, ")
        if not isinstance(said, (bool, np.bool_)) and not (isinstance(said, numbers.Integral) and said in (0, 1)):
            # bool() of an array or a string would either raise or always be True: say what is wanted instead
            raise CheckFailed(f"on {what}, your function returned {describe_answer(said)}; it should return True "
                              "(collapsed) or False, e.g. `return diversity(G.bars_to_pieces(bars)) < 0.5`.")
        if bool(said) != collapsed:
            if collapsed and "flicker" in what:
                raise CheckFailed(f"on {what} your function says 'not collapsed'. Every bar differs from every "
                                  "other in a few cells, so they are all unique, yet they sound the same. "
                                  "Measure how much bars overlap (diversity), not only whether they are identical.")
            raise CheckFailed(f"on {what} your function says {'not ' if collapsed else ''}collapsed, but it "
                              f"{'is' if collapsed else 'is not'}.")


q3 = Exercise(
    "detect mode collapse",
    check=_check_collapse,
    hints=["unique_fraction(G.bars_to_pieces(bars)) counts bars that differ in at least one note. Is one "
           "cell enough to make two bars sound different?",
           "diversity(G.bars_to_pieces(bars)) is the mean Jaccard distance between random pairs of bars: about "
           "0.9 for Bach's bars, near 0 when the bars are copies of each other.",
           "return diversity(G.bars_to_pieces(bars)) < 0.5"],
    solution=("def is_collapsed(bars):\n"
              "    return diversity(G.bars_to_pieces(bars)) < 0.5   # Bach's bars: about 0.9; copies of one bar: near 0"),
)


# ---- q4: a binarisation threshold -------------------------------------------------------
#: Quality numbers of the real chorale bars (all 4/4 bars of datasets.load_chorales(), C2–B5):
#: tests/test_lesson04.py checks them against the data.
REAL_NOTES_PER_BAR = 15.5
REAL_PITCH_CLASSES = 7.0
THRESHOLD_SAMPLES = 500


TOLERANCE = 0.20


def threshold_probabilities() -> np.ndarray:
    """The chances q4 is about: the *early* pretrained generator (one epoch of training, unsure of
    itself) on 500 noise vectors of seed 3. Computed once, then cached."""
    if not _probabilities_cache:
        from ..models import gan as G
        generator, _ = G.load_pretrained_generator(early=True)
        _probabilities_cache.append(G.generate_bars(generator, THRESHOLD_SAMPLES, seed=3, threshold=None))
    return _probabilities_cache[0]


def threshold_quality(threshold: float, probabilities=None) -> dict[str, float]:
    """The quality numbers of the bars q4's chances give at one threshold."""
    from ..models import gan as G

    p = threshold_probabilities() if probabilities is None else probabilities
    return G.quality(G.binarize(p, threshold))


_probabilities_cache: list = []


def _check_threshold(answer):
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.floating)):
        raise CheckFailed(f"the threshold is one number between 0 and 1, got {answer!r}.", wrong_type=True)
    t = float(answer)
    if not 0.0 < t < 1.0:
        raise CheckFailed(f"{t} is not between 0 and 1: the generator's outputs are chances in [0, 1], so a "
                          "threshold outside turns every cell on, or every cell off.")
    q = threshold_quality(t)
    notes, pcs, empty = q["notes per bar"], q["used pitch classes"], q["empty bar rate"]
    if empty > 0.02:
        raise CheckFailed(f"at {t:g}, {empty:.0%} of the bars are empty and the rest hold {notes:.1f} notes "
                          f"(Bach: {REAL_NOTES_PER_BAR}): too high a threshold silences real notes.")
    if abs(notes / REAL_NOTES_PER_BAR - 1) > TOLERANCE or abs(pcs / REAL_PITCH_CLASSES - 1) > TOLERANCE:
        direction = "too low: faint cells become notes" if notes > REAL_NOTES_PER_BAR else "too high: notes go missing"
        raise CheckFailed(f"at {t:g} the bars hold {notes:.1f} notes and {pcs:.1f} pitch classes each, Bach's "
                          f"{REAL_NOTES_PER_BAR} and {REAL_PITCH_CLASSES}; the threshold is {direction}. "
                          "Aim for both within 20 %.")


q4 = Exercise(
    "choose a binarisation threshold",
    check=_check_threshold,
    hints=["Print G.quality(G.binarize(early_probs, t)) for thresholds between 0.25 and 0.5 in steps of 0.025.",
           f"Bach's bars hold about {REAL_NOTES_PER_BAR} notes and {REAL_PITCH_CLASSES} pitch classes; pick the "
           "threshold whose bars match both within 20 % and leave no bar empty.",
           "Between 0.3 (too many notes) and 0.4 (too few)."],
    solution="threshold = 0.35   # about 14.7 notes and 7.0 pitch classes per bar, Bach's 15.5 and 7.0",
    reference=0.35,
)
