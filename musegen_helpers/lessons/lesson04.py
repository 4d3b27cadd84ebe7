"""Exercises of lesson 04 (a GAN over piano-roll bars): the discriminator's loss (q1), naming a
failure from its numbers (q2), spotting mode collapse (q3), choosing a binarisation threshold (q4).

Also what the lesson's later cells need: :func:`threshold_or_reference` (exercise 4's answer, or
the reference without showing it), and *verdicts* — sentences about one training run phrased from
its numbers (:func:`loss_verdict`, :func:`winning_verdict`, :func:`read_quality_table`, ...), so
that the lesson never states a result its own run did not produce.

The checkers use numpy only; q4 loads the pretrained generator (and so Keras) when it checks.

Lesson: 04_gan
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..exercises import ____, CheckFailed, Exercise, call_learner, describe_answer

__all__ = ["____", "q1", "q2", "q3", "q4", "collapse_test_sets", "threshold_quality", "threshold_or_reference",
           "loss_verdict", "early_training_verdict", "winning_verdict", "collapse_verdict", "sampling_verdict",
           "read_quality_table", "neighbour_distance", "walk_verdict"]


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


def _loss_mistakes(real, fake) -> list[tuple[float, str]]:
    """The losses a learner's usual slips give on one case, each with what it means."""
    r, f = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    sp = _softplus
    return [
        (0.5 * (np.mean(sp(r)) + np.mean(sp(-f))),
         "the loss of a discriminator with the labels swapped: real bars must be labelled 1 (loss "
         "softplus(-logit)), generated bars 0 (loss softplus(logit))"),
        (np.mean(sp(-r)) + np.mean(sp(f)),
         "twice the right value: you added the two halves; average them (0.5 * (real_loss + fake_loss)), so "
         "that a guessing discriminator scores ln 2"),
        (0.5 * (np.mean(sp(-r)) + np.mean(sp(-f))),
         "the loss with the generated bars labelled real (1) as well — softplus(-logit) on both halves, the "
         "generator's view. The discriminator labels generated bars 0: softplus(+fake_logits)"),
        (0.5 * (np.mean(sp(r)) + np.mean(sp(f))),
         "the loss with the real bars labelled generated (0) as well — softplus(+logit) on both halves. Real "
         "bars are labelled 1: softplus(-real_logits), with the minus sign"),
        (np.mean(sp(-r)),
         "the real bars' half alone: add the generated bars' half, softplus(fake_logits), and average the two"),
        (np.mean(sp(f)),
         "the generated bars' half alone: add the real bars' half, softplus(-real_logits), and average the two"),
        (0.5 * (np.sum(sp(-r)) + np.sum(sp(f))),
         f"the sum over the batch ({len(r)} bars), not the mean: a sum grows with the batch size, so the same "
         "discriminator would score differently with bigger batches. Use ops.mean for each half"),
        (np.mean(sp(-f)),
         "the *generator's* loss: softplus(-fake_logits), the generated bars labelled real. The discriminator's "
         "loss labels real bars 1 and generated bars 0: 0.5 * (mean softplus(-real_logits) + mean "
         "softplus(fake_logits))"),
        (0.5 * (np.mean(sp(r) - 0.9 * r) + np.mean(sp(f))),
         "the loss with label smoothing (real bars labelled 0.9). Section 9 uses that as a fix; this exercise "
         "asks for the plain loss, real bars labelled 1"),
    ]


def _check_loss(answer):
    if not callable(answer):
        raise CheckFailed("write a function `def my_discriminator_loss(real_logits, fake_logits):` and pass "
                          "its name (without brackets).", wrong_type=True)
    close = lambda a, b: math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-5)  # noqa: E731
    values = []
    for what, real, fake in _LOSS_CASES:
        value = call_learner(answer, (real.astype(np.float32), fake.astype(np.float32)), context=f"with {what}, ")
        size = np.size(value) if isinstance(value, (list, tuple, np.ndarray)) or hasattr(value, "shape") else 1
        if size != 1:
            raise CheckFailed(f"with {what} (a batch of {len(real)} real and {len(fake)} generated bars) your "
                              f"function returned {size} numbers — a loss per bar? Return one number: the mean "
                              "over the batch (ops.mean) of each half, the two halves averaged.")
        try:
            values.append(float(np.asarray(value)))
        except (TypeError, ValueError):
            raise CheckFailed(f"your function should return one number (the mean loss), got {value!r}.") from None
    expected = [_reference_loss(real, fake) for _, real, fake in _LOSS_CASES]
    wrong = [i for i, (v, e) in enumerate(zip(values, expected)) if not close(v, e)]
    if not wrong:
        return
    first = wrong[0]
    what, value, right = _LOSS_CASES[first][0], values[first], expected[first]
    if not all(math.isfinite(v) for v in values):
        bad = next(i for i, v in enumerate(values) if not math.isfinite(v))
        raise CheckFailed(f"with {_LOSS_CASES[bad][0]} your loss is {values[bad]}. The discriminator's outputs are "
                          "logits — any real number, negative too — not chances between 0 and 1, so log(logit) or "
                          "log(1 - logit) breaks. Use softplus: -log σ(ℓ) = softplus(-ℓ) and -log(1 - σ(ℓ)) = "
                          "softplus(ℓ).")
    # A slip is named when the learner's numbers match its formula on every case (some cases cannot tell
    # two slips apart; together they can).
    slips = [_loss_mistakes(real, fake) for _, real, fake in _LOSS_CASES]
    for k, (_, meaning) in enumerate(slips[0]):
        if all(close(v, case[k][0]) for v, case in zip(values, slips)):
            raise CheckFailed(f"with {what} your loss is {value:.4f}, not {right:.4f}: {meaning}.")
    raise CheckFailed(f"with {what} your loss is {value:.4f}; binary cross-entropy gives {right:.4f}. "
                      f"Check it against the cases you know: a discriminator that says 0 to everything scores "
                      f"ln 2 = 0.6931; yours gives {values[0]:.4f}.")


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


def _set_numbers(bars) -> str:
    """A test set's diversity and unique fraction, as the learner's tools would measure them."""
    from ..metrics import diversity, unique_fraction
    from ..models import gan as G

    pieces = G.bars_to_pieces(bars)
    return f"diversity {diversity(pieces):.2f}, unique fraction {unique_fraction(pieces):.2f}"


def _check_collapse(answer):
    if not callable(answer):
        raise CheckFailed("write a function `def is_collapsed(bars):` that returns True or False, and pass "
                          "its name.", wrong_type=True)
    sets = collapse_test_sets()
    verdicts = []
    for what, bars, collapsed in sets:
        said = call_learner(answer, (bars,), context=f"on {what}, ")
        if not isinstance(said, (bool, np.bool_)) and not (isinstance(said, numbers.Integral) and said in (0, 1)):
            # bool() of an array or a string would either raise or always be True: say what is wanted instead
            hint = (" — a measurement, not yet a verdict: compare it with a threshold"
                    if isinstance(said, numbers.Real) or (isinstance(said, np.ndarray) and said.size == 1) else "")
            raise CheckFailed(f"on {what}, your function returned {describe_answer(said)}{hint}; it should return "
                              "True (collapsed) or False, e.g. `return diversity(G.bars_to_pieces(bars)) < 0.5`.")
        verdicts.append(bool(said))
    wrong = [(what, bars, collapsed) for (what, bars, collapsed), said in zip(sets, verdicts) if said != collapsed]
    if not wrong:
        return
    if len(wrong) == len(sets):
        raise CheckFailed("your function gets every one of the five sets the wrong way round: it says True for the "
                          "varied sets and False for the collapsed ones. True should mean *collapsed* — low "
                          "diversity: `diversity(...) < 0.5`, not `> 0.5`.")
    what, bars, collapsed = wrong[0]
    numbers_here = _set_numbers(bars)
    if collapsed and "flicker" in what:
        raise CheckFailed(f"on {what} your function says 'not collapsed'. This set has {numbers_here}: every bar "
                          "differs from every other in a few cells, so they are all unique, yet they sound the "
                          "same. Measure how much bars overlap (diversity), not only whether they are identical.")
    if collapsed:
        raise CheckFailed(f"on {what} your function says 'not collapsed', but it is: this set has {numbers_here} "
                          "(Bach's bars: diversity about 0.9). If you compare diversity with a threshold, the "
                          "threshold is too low to catch it.")
    raise CheckFailed(f"on {what} your function says 'collapsed', but these bars are varied: {numbers_here} "
                      "(Bach's bars: diversity about 0.9). If you compare diversity with a threshold, it is too "
                      "high: a varied set must pass.")


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
REAL_QUALIFIED_NOTE_RATE = 0.60
#: The share of piano-roll cells that are on in the real bars (8 %).
REAL_CELL_DENSITY = 0.081
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


def _threshold_problem(t: float) -> str | None:
    """What is wrong with the bars at threshold ``t`` (0 < t < 1), or None when they pass."""
    q = threshold_quality(t)
    notes, pcs, empty = q["notes per bar"], q["used pitch classes"], q["empty bar rate"]
    if empty > 0.02:
        return (f"at {t:g}, {empty:.0%} of the bars are empty and a bar holds {notes:.1f} notes on average (Bach: "
                f"{REAL_NOTES_PER_BAR}): too high a threshold silences real notes — lower it.")
    if abs(notes / REAL_NOTES_PER_BAR - 1) > TOLERANCE or abs(pcs / REAL_PITCH_CLASSES - 1) > TOLERANCE:
        direction = ("too low: faint cells become notes — raise it" if notes > REAL_NOTES_PER_BAR
                     else "too high: notes go missing — lower it")
        return (f"at {t:g} the bars hold {notes:.1f} notes and {pcs:.1f} pitch classes each, Bach's "
                f"{REAL_NOTES_PER_BAR} and {REAL_PITCH_CLASSES}; the threshold is {direction}. Aim for both "
                "within 20 %; near the answer the numbers change fast, so try steps of 0.025.")
    return None


def _check_threshold(answer):
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.floating, np.integer)):
        raise CheckFailed(f"the threshold is one number between 0 and 1, got {describe_answer(answer)}.",
                          wrong_type=True)
    t = float(answer)
    if not 0.0 < t < 1.0:
        # Outside (0, 1) is not a threshold on chances at all: later cells use the reference instead.
        if 1.0 < t < 100.0 and _threshold_problem(t / 100) is None:
            raise CheckFailed(f"{t:g} is not between 0 and 1 — did you mean {t / 100:g}? The threshold is a chance, "
                              f"a fraction between 0 and 1, not a percentage: write {t / 100:g}.", wrong_type=True)
        if abs(t - REAL_NOTES_PER_BAR) < 1.0 or abs(t - REAL_PITCH_CLASSES) < 0.5:
            raise CheckFailed(f"{t:g} is Bach's number of notes or pitch classes per bar: that is the target the "
                              "bars should reach, not the threshold. The threshold is a chance between 0 and 1: "
                              "try values on early_probs until the bars reach those numbers.", wrong_type=True)
        percent = f" (if {t:g} was meant as a percentage, {t / 100:g} is not the answer either)" if 1 < t < 100 else ""
        raise CheckFailed(f"{t:g} is not between 0 and 1: the generator's outputs are chances in [0, 1], so a "
                          f"threshold outside turns every cell on, or every cell off{percent}.", wrong_type=True)
    problem = _threshold_problem(t)
    if problem is None:
        return
    if abs(t - REAL_CELL_DENSITY) < 0.01:
        raise CheckFailed(f"{t:g} is the share of cells that are on in Bach's bars ({REAL_CELL_DENSITY:.0%}), not a "
                          "threshold on the generator's chances. To use that share, find the threshold that keeps "
                          "that share of cells on: `G.density_threshold(early_probs, bars.mean())`. (" + problem + ")")
    if t == 0.5:
        problem += (" 0.5 is the usual default, right for a sure generator whose chances are near 0 or 1; this "
                    "one's chances sit below 0.5.")
    raise CheckFailed(problem)


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


# ---- later cells: the learner's threshold (or the reference, unnamed) -----------------------
def threshold_or_reference(threshold) -> tuple[float, str]:
    """The threshold the cells after exercise 4 use, and how they name it: ``(value, name)``.

    The learner's answer when it is a threshold at all (a wrong one too: hearing it is part of the
    lesson), named by its value; before they have one (``____``, or not a number between 0 and 1)
    the reference, named "the reference threshold" — its value is not shown, so running the
    notebook top to bottom does not give exercise 4's answer away.
    """
    value = q4.answer_or_reference(threshold)
    if value is threshold:
        return float(value), f"{float(value):g}"
    return float(value), "the reference threshold"


# ---- verdicts: sentences about a run, phrased from its numbers ------------------------------
# The lesson's prose says what to look for; these say what *this* run did (normal and fast mode
# train differently, and so does every machine), so no sentence states a result it did not see.
def _epochs(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def _went(a: float, b: float, fmt: str = ".2f", tolerance: float = 0.05) -> str:
    """'fell from a to b' / 'rose from a to b' / 'stayed at about a', from the numbers."""
    if abs(b - a) <= tolerance * max(abs(a), abs(b), 1e-9):
        return f"stayed at about {a:{fmt}}"
    return f"{'fell' if b < a else 'rose'} from {a:{fmt}} to {b:{fmt}}"


def loss_verdict(log) -> str:
    """What the losses of a DCGAN run did: where the discriminator's loss stayed over the second
    half of the epochs (0.3–0.7 is the balanced zone of the rule of thumb), and how often the
    generator's loss was the higher one. ``log``: a ``TrainingLog`` of ``gan.train_gan``."""
    d = np.asarray(log.history["d_loss"], float)
    g = np.asarray(log.history["g_loss"], float)
    half = d[len(d) // 2:]
    lo, hi = float(half.min()), float(half.max())
    zone = ("inside 0.3–0.7: a balanced game" if 0.3 <= lo and hi <= 0.7 else
            "below 0.3 at times: the discriminator pulling ahead" if lo < 0.3 and hi <= 0.7 else
            "above 0.7 at times: the discriminator struggling to tell the bars apart" if lo >= 0.3 else
            "both below 0.3 and above 0.7: an unsteady game")
    higher = int(np.sum(g > d))
    where = (f"was {lo:.2f}" if hi - lo < 0.005 else f"stayed between {lo:.2f} and {hi:.2f}")
    return (f"Over the last {_epochs(len(half))}, the discriminator's loss {where} ({zone}); the generator's loss "
            f"was the higher of the two in {higher} of {_epochs(len(d))}.")


def early_training_verdict(log, steps_per_epoch: int = 4) -> str:
    """What happened in the first steps of a GAN run, from its quality checks: how the notes per bar
    moved, the thinnest and emptiest moments, and how long the notes were (qualified-note rate,
    Bach about ``REAL_QUALIFIED_NOTE_RATE``). ``steps_per_epoch`` turns epochs into steps."""
    checks = [(epoch * steps_per_epoch, q) for epoch, q in log.checks]
    if not checks:
        return "No quality checks were recorded: train with every=1."
    (first_step, first), (last_step, last) = checks[0], checks[-1]
    thinnest_step, thinnest = min(checks, key=lambda c: c[1]["notes per bar"])
    emptiest_step, emptiest = max(checks, key=lambda c: c[1]["empty bar rate"])
    longest = max(q["qualified note rate"] for _, q in checks)
    parts = [f"Notes per bar {_went(first['notes per bar'], last['notes per bar'], '.1f')} between step "
             f"{first_step} and step {last_step} (Bach: {REAL_NOTES_PER_BAR})."]
    if thinnest["notes per bar"] < 0.5 * REAL_NOTES_PER_BAR:
        parts.append(f"The bars went thin: {thinnest['notes per bar']:.1f} notes per bar at step {thinnest_step}.")
    else:
        parts.append(f"The bars never went thin: at least {thinnest['notes per bar']:.1f} notes per bar "
                     f"(at step {thinnest_step}).")
    if emptiest["empty bar rate"] > 0:
        parts.append(f"Some bars went silent: {emptiest['empty bar rate']:.0%} empty at step {emptiest_step}.")
    else:
        parts.append("No bar went silent.")
    if longest < 0.5 * REAL_QUALIFIED_NOTE_RATE:
        parts.append(f"The notes stayed fragments: a qualified-note rate of at most {longest:.2f} "
                     f"(Bach: about {REAL_QUALIFIED_NOTE_RATE:.2f}).")
    else:
        parts.append(f"The notes were not all fragments: a qualified-note rate up to {longest:.2f} "
                     f"(Bach: about {REAL_QUALIFIED_NOTE_RATE:.2f}).")
    return " ".join(parts)


def winning_verdict(log) -> str:
    """Did the discriminator win? From the last epoch of a run: a clear win is d_loss below 0.1 with
    D(real) above 0.9 and D(fake) below 0.1; 'ahead' is D(real) − D(fake) above 0.4."""
    h = log.history
    d, real, fake = h["d_loss"][-1], h["real_score"][-1], h["fake_score"][-1]
    g0, g1 = h["g_loss"][0], h["g_loss"][-1]
    g_text = f"{_went(g0, g1)}" if len(h["g_loss"]) > 1 else f"is {g1:.2f}"
    numbers = (f"after {_epochs(len(h['d_loss']))}: d_loss {d:.3f}, D(real) {real:.3f}, D(fake) {fake:.3f}; the "
               f"generator's loss {g_text}")
    if d < 0.1 and real > 0.9 and fake < 0.1:
        return (f"The discriminator won {numbers}. It is near-certain and right about both kinds of bar, so its "
                "verdicts carry almost no slope for the generator to follow.")
    if real - fake > 0.4:
        return (f"The discriminator is ahead {numbers}, but has not won outright (a clear win: d_loss below 0.1, "
                "D(real) above 0.9, D(fake) below 0.1) — more epochs would take it further.")
    return (f"The discriminator did not win in this run ({numbers}): it cannot yet tell real from generated bars "
            "with confidence. With this few epochs the imbalance has not shown; in normal mode it trains longer.")


def collapse_verdict(collapsed_diversity: float, collapsed_unique: float, real_diversity: float) -> str:
    """Did the mode-collapse recipe collapse? Diversity below 0.5 counts as collapsed (Bach's bars:
    about 0.9), whatever the unique fraction says."""
    numbers = (f"diversity {collapsed_diversity:.2f} against Bach's {real_diversity:.2f}, unique fraction "
               f"{collapsed_unique:.2f}")
    if collapsed_diversity < 0.5:
        trap = (" — although most of its bars are 'unique': they differ in a few cells, not in the music"
                if collapsed_unique > 0.5 else "")
        return f"The mode_collapse GAN collapsed in this run: {numbers}{trap}."
    return (f"The mode_collapse GAN did not collapse in this run ({numbers}): its bars are still varied. "
            "Collapse comes and goes as the two players chase each other; it may show after more epochs.")


def sampling_verdict(trained_hard: dict, trained_sampled: dict, early_hard: dict, early_sampled: dict) -> str:
    """Hard threshold against Bernoulli sampling, for a sure (trained) and an unsure (1-epoch)
    generator: how much sampling changed the notes per bar and the qualified-note rate of each."""
    def change(a, b, name):
        return f"{name} {_went(a[name], b[name], '.2f' if name == 'qualified note rate' else '.1f', 0.1)}"

    def ratio(a, b, name):
        return b[name] / a[name] if a[name] else math.inf

    trained = (f"Sampling instead of thresholding: for the trained generator, {change(trained_hard, trained_sampled, 'notes per bar')} "
               f"and {change(trained_hard, trained_sampled, 'qualified note rate')}; for the 1-epoch one, "
               f"{change(early_hard, early_sampled, 'notes per bar')} and "
               f"{change(early_hard, early_sampled, 'qualified note rate')}.")
    sure = all(abs(ratio(trained_hard, trained_sampled, m) - 1) <= 0.1
               for m in ("notes per bar", "qualified note rate"))
    blips = (ratio(early_hard, early_sampled, "notes per bar") > 1.5
             and early_sampled["qualified note rate"] < 0.5 * REAL_QUALIFIED_NOTE_RATE)
    verdict = [("The trained generator hardly noticed (both within 10 %)." if sure else
                "Even the trained generator changed by more than 10 %: it is less sure of itself than it looks.")]
    if blips:
        verdict.append(f"The unsure one scattered {ratio(early_hard, early_sampled, 'notes per bar'):.1f} times as "
                       "many notes, nearly all of them short blips.")
    else:
        verdict.append("The unsure one did not turn into a cloud of short notes here.")
    return trained + " " + " ".join(verdict)


#: The quality numbers read_quality_table compares, with words for "more" and "fewer".
_TABLE_WORDS = {
    "notes per bar": ("busier bars (more notes)", "thinner bars (fewer notes)"),
    "used pitch classes": ("more pitch classes", "fewer pitch classes"),
    "qualified note rate": ("longer notes", "more fragmented notes"),
    "polyphony": ("more voices at once", "fewer voices at once"),
    "diversity": ("more varied bars", "less varied bars (towards collapse)"),
}


_SHORT = {"notes per bar": "notes", "used pitch classes": "pitch classes", "qualified note rate": "qualified notes",
          "polyphony": "polyphony", "diversity": "diversity"}


def read_quality_table(table, within: float = 0.10) -> str:
    """Read a :func:`~musegen_helpers.models.gan.quality_table` against its ``real`` row: for each
    generator, every number as a ratio of Bach's, and in words the ones more than ``within``
    (10 %) away — or "within 10 % of Bach on every number". Empty bars count when more than 2 %
    of the bars are empty (Bach's: none). Ends with which of ``dcgan`` and ``smoothed`` was
    closer to Bach, when both are in the table."""
    real = table.row("real")
    lines, distance = [], {}
    for row in table.rows:
        name = row["bars"]
        if name == "real":
            continue
        ratios = {m: row[m] / real[m] for m in _TABLE_WORDS if real[m]}
        off = [f"{_TABLE_WORDS[m][0 if r > 1 else 1]} ×{r:.2f}" for m, r in ratios.items()
               if math.isfinite(r) and abs(r - 1) > within]
        if row["empty bar rate"] > 0.02:
            off.append(f"{row['empty bar rate']:.0%} empty bars")
        finite = [abs(math.log(r)) for r in ratios.values() if math.isfinite(r) and r > 0]
        distance[name] = float(np.mean(finite)) if finite else math.inf
        numbers = "  ".join(f"{_SHORT[m]} ×{r:.2f}" for m, r in ratios.items())
        verdict = (f"within {within:.0%} of Bach on every number" if not off
                   else "off by more than " + f"{within:.0%}: " + ", ".join(off))
        lines.append(f"{name:13s} {numbers}\n{'':13s} → {verdict}")
    if "dcgan" in distance and "smoothed" in distance:
        closer, other = sorted(["dcgan", "smoothed"], key=distance.get)
        lines.append(f"In this run {closer} was closer to Bach than {other} (how far its ratios are from ×1 on "
                     f"average, as |log ratio|: {distance[closer]:.2f} against {distance[other]:.2f}).")
    return "\n".join(lines)


def neighbour_distance(bars) -> float:
    """The mean Jaccard distance between neighbouring bars (1 − shared on-cells / all on-cells of
    the two): 0 when each bar repeats the one before, 1 when they share no cell."""
    rolls = np.asarray(bars).reshape(len(bars), -1) > 0.5
    out = []
    for a, b in zip(rolls[:-1], rolls[1:]):
        union = np.sum(a | b)
        out.append(1.0 - np.sum(a & b) / union if union else 0.0)
    return float(np.mean(out)) if out else math.nan


def walk_verdict(walk_bars, random_bars) -> str:
    """Do the bars of a latent walk hang together better than random bars? Compares
    :func:`neighbour_distance` of the two."""
    walk, rand = neighbour_distance(walk_bars), neighbour_distance(random_bars)
    numbers = (f"neighbouring bars of the walk differ in {walk:.0%} of their notes' cells, neighbouring random "
               f"bars in {rand:.0%}")
    if walk < rand - 0.05:
        return f"The walk hangs together better than random bars: {numbers}."
    return f"The walk does not hang together better than random bars here: {numbers}."
