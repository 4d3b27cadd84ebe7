"""Exercises of lesson 05 (evaluation): pitch-class entropy, reading an overlap plot, spotting
a copied melody, a sign test by hand.

Exercises 2 and 3 are about sets of tunes built here, deterministically, from the course's
melody dataset (:func:`mystery_sets`, :func:`copy_quiz`): the notebook shows them, and the
checks know the right answer without seeing the notebook. Both are the same in fast and normal
mode.

The later cells' helpers: :func:`copied_tune_or_none` and :func:`sign_test_comparison` use the
learner's answers without showing the reference before they have one; :func:`repetition_verdict`
and :func:`scoreboard_verdict` phrase what the run shows from its own numbers.

Lesson: 05_evaluation
"""

from __future__ import annotations

import math
import numbers
import re
from collections import Counter
from functools import lru_cache

import numpy as np

from .. import metrics as M
from ..checks import all_of, check_function, check_number
from ..exercises import ____, CheckFailed, Exercise, with_expected
from ..music import Note, Piece, melody

__all__ = ["____", "q1", "q2", "q3", "q4", "through_tokens", "mystery_sets", "overlap_quiz", "copy_quiz",
           "SIGN_TEST_ANSWERS", "copied_tune_or_none", "sign_test_comparison", "repetition_verdict",
           "scoreboard_verdict"]

#: Every tune of the exercises is cut to this many 16th-note steps (16 bars of 4/4).
MAX_STEPS = 256


def through_tokens(x, max_steps: int = MAX_STEPS, tempo: float = 110.0, title: str = "") -> Piece:
    """A melody (Piece or event tokens) the way a token model sees it: encoded on the 16th-note
    grid, cut to ``max_steps`` steps, decoded in 4/4 from the first note at ``tempo`` quarter
    notes per minute. The notebook's ``as_tune`` does the same, so real and generated tunes are
    measured through one pipe."""
    from ..representation import melody_to_tokens, tokens_to_melody

    tokens = melody_to_tokens(x) if isinstance(x, Piece) else np.asarray(x, dtype=np.int64)
    return tokens_to_melody(tokens[:max_steps], tempo=tempo, title=title)


def _number(x) -> bool:
    return (isinstance(x, numbers.Real) and not isinstance(x, bool)) or (
        isinstance(x, np.ndarray) and x.ndim == 0 and np.issubdtype(x.dtype, np.number))


# ---------------------------------------------------------------------------------------
# q1. Pitch-class entropy
# ---------------------------------------------------------------------------------------
def _entropy(counts) -> float:
    c = np.asarray([v for v in counts if v > 0], dtype=float)
    if not len(c):
        return math.nan
    p = c / c.sum()
    return float(0.0 - (p * np.log2(p)).sum())


def _chord_piece() -> Piece:
    """C major chord, G7 chord, C major chord (block chords, half notes)."""
    chords = [[48, 60, 64, 67], [43, 59, 62, 65, 67], [48, 60, 64, 67, 72]]
    return Piece([Note(p, 2.0 * i, 2.0) for i, chord in enumerate(chords) for p in chord], title="three chords")


_ENTROPY_PIECES = [
    ("the C major scale C4–C5 (C twice, the six other notes once)",
     melody(["C4", "D4", "E4", "F4", "G4", "A4", "B4", "C5"], 1.0)),
    ("one note, A4, repeated six times", melody(["A4"] * 6, 0.5)),
    ("the chromatic scale from C4 (all twelve pitch classes once)", melody(list(range(60, 72)), 0.25)),
    ("a tune with long and short notes (G4 half note, then eighth notes)",
     melody(["G4", "E4", "E4", "F4", "D4", "D4", "C4", "D4", "E4", "F4", "G4", "G4", "G4"],
            [2, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 2])),
    ("a bass line leaping in octaves under the tonic and dominant",
     melody(["C2", "C3", "G2", "G3", "C2", "C3", "G2", "G1", "C2"], 1.0)),
    ("three block chords (C, G7, C: 14 notes at once in groups)", _chord_piece()),
]


def _entropy_check(description: str, piece: Piece):
    expected = M.pitch_class_entropy(piece)
    pitches = [n.pitch for n in piece.notes]
    by_pitch = _entropy(Counter(pitches).values())
    by_duration = _entropy(M.pitch_class_histogram(piece, normalize=False, weight="duration"))
    used = len({p % 12 for p in pitches})
    pc_counts = np.bincount([p % 12 for p in pitches], minlength=12).astype(float)
    nonzero = pc_counts[pc_counts > 0]
    over_twelve = float(-(nonzero / 12 * np.log2(nonzero / 12)).sum())    # p = count / 12
    raw_counts = float(-(nonzero * np.log2(nonzero)).sum())                # p = count
    plain_mean = float(-np.log2(nonzero / nonzero.sum()).mean())          # mean of -log2 p, unweighted

    def compare(yours, _expected):
        if isinstance(yours, (list, tuple, np.ndarray)) and np.ndim(yours) > 0:
            raise CheckFailed(f"your function returned {len(yours)} numbers; return one number, the entropy in bits "
                              "(sum the terms −p·log2 p over the pitch classes).")
        if not _number(yours):
            raise CheckFailed(f"your function returned {yours!r}; it should return one number (bits).")
        x = float(yours)
        close = lambda a, b: math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)  # noqa: E731
        if close(x, expected):
            return True
        if math.isnan(x):
            raise CheckFailed("it returned nan: a pitch class that never occurs gives 0 · log2(0) = nan in numpy. "
                              "By convention that term is 0 — leave out the pitch classes with a count of 0.")
        if expected > 0 and close(x, expected * math.log(2)):
            raise CheckFailed(f"it returned {x:.4f}, which is {expected:.4f} bits measured with the natural log "
                              "(nats). Use log2, so that the answer is in bits: 12 equally likely pitch classes "
                              "give log2(12) ≈ 3.58 bits.")
        if expected > 0 and close(x, expected * math.log10(2)):
            raise CheckFailed(f"it returned {x:.4f}: that is log10, not log2. Entropies here are in bits (log2).")
        if expected > 0 and close(x, -expected):
            raise CheckFailed(f"it returned {x:.4f}, a negative entropy: H = −Σ p·log2 p. Each log2 p is negative "
                              "(p ≤ 1), so the minus sign makes H positive.")
        if expected > 0 and close(x, expected / math.log2(12)):
            raise CheckFailed(f"it returned {x:.4f} = the entropy divided by log2(12), a normalised entropy "
                              "(0–1). Return the entropy itself, in bits.")
        if not close(by_pitch, expected) and close(x, by_pitch):
            raise CheckFailed(f"it returned {x:.4f}, the entropy of the MIDI pitches: C4 and C5 counted as two "
                              f"different notes. Pitch classes ignore the octave — use pitch % 12 (expected "
                              f"{expected:.4f} bits).")
        if not close(by_duration, expected) and close(x, by_duration):
            raise CheckFailed(f"it returned {x:.4f}: you weighted each note by its duration. This metric counts "
                              f"notes, as MusPy does — each note counts once, long or short (expected {expected:.4f}).")
        if len(pitches) != 12 and not close(over_twelve, expected) and close(x, over_twelve):
            raise CheckFailed(f"it returned {x:.4f}: your shares p do not add up to 1 — you divided the counts by 12 "
                              f"(the number of pitch classes). Divide by the number of notes ({len(pitches)} here, "
                              f"counts.sum()), so that p is each pitch class's share (expected {expected:.4f}).")
        if len(pitches) > 1 and not close(raw_counts, expected) and close(x, raw_counts):
            raise CheckFailed(f"it returned {x:.4f}: you used the counts themselves as p. Turn them into shares "
                              f"first — p = counts / counts.sum() — so that they add up to 1 (expected {expected:.4f}).")
        if used > 1 and not close(math.log2(used), expected) and close(x, math.log2(used)):
            raise CheckFailed(f"it returned log2({used}) = {x:.4f}, as if the {used} pitch classes that occur were "
                              f"all equally frequent. Weigh each by its share of the notes (expected {expected:.4f}).")
        if used > 1 and not close(plain_mean, expected) and close(x, plain_mean):
            raise CheckFailed(f"it returned {x:.4f}: the plain average of −log2 p over the {used} pitch classes that "
                              "occur. Entropy weighs each class's −log2 p by its share p and adds them up: "
                              f"H = −Σ p·log2 p, a weighted sum, not a mean (expected {expected:.4f}).")
        raise CheckFailed(f"it returned {x:.4f} bits; expected {expected:.4f}.")

    return check_function(M.pitch_class_entropy, [piece], compare=compare,
                          describe_input=lambda _: description)


q1 = Exercise(
    "pitch-class entropy",
    check=all_of(_entropy_check(d, p) for d, p in _ENTROPY_PIECES),
    hints=["Count the notes on each of the 12 pitch classes (`note.pitch % 12`), then turn the counts into "
           "shares p that sum to 1.",
           "H = −Σ p·log2(p), summed over the pitch classes that occur (leave out counts of 0: 0·log 0 counts "
           "as 0). `np.bincount(pitch_classes, minlength=12)` counts them.",
           "counts = np.bincount([n.pitch % 12 for n in piece.notes], minlength=12)\n"
           "p = counts[counts > 0] / counts.sum()\nreturn float(-(p * np.log2(p)).sum())"],
    solution="def my_pitch_class_entropy(piece):\n"
             "    counts = np.bincount([note.pitch % 12 for note in piece.notes], minlength=12)\n"
             "    p = counts[counts > 0] / counts.sum()\n"
             "    return float(-(p * np.log2(p)).sum())",
    explanation="One pitch class gives 0 bits; a tonal tune, mostly on its scale's 7 notes, sits near 2.5; all "
                "twelve equally often give the maximum, log2(12) ≈ 3.58.",
    reference=M.pitch_class_entropy,
)


# ---------------------------------------------------------------------------------------
# q2. Read an overlapped-area plot
# ---------------------------------------------------------------------------------------
_MYSTERY_SEED = 2024


def _scramble(tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The mystery generator: a real tune with its notes in a random order (same rhythm, same
    notes, different order)."""
    out = np.array(tokens)
    notes = np.flatnonzero(out <= 127)  # pitch tokens; rests, holds and END stay where they are
    out[notes] = rng.permutation(out[notes])
    return out


@lru_cache(maxsize=1)
def _mystery_sets_cached() -> tuple[tuple[Piece, ...], tuple[Piece, ...]]:
    from ..datasets import load_melodies

    test = load_melodies().split("test")
    tokens = test.tokens()
    # 60 test tunes spread evenly over the split (it is ordered by collection): 40 stay real,
    # 20 go through the mystery generator.
    picks = np.linspace(0, len(test) - 1, 60).round().astype(int)
    rng = np.random.default_rng(_MYSTERY_SEED)
    real, mystery = [], []
    for k, i in enumerate(picks):
        if k % 3:
            real.append(through_tokens(tokens[i], title=f"real tune {len(real) + 1}"))
        else:
            scrambled = _scramble(tokens[i][:MAX_STEPS], rng)
            mystery.append(through_tokens(scrambled, title=f"mystery tune {len(mystery) + 1}"))
    return tuple(mystery), tuple(real)


def mystery_sets() -> tuple[list[Piece], list[Piece]]:
    """Exercise 2's two sets: ``(mystery, real)`` — 20 tunes from a mystery generator and 40 real
    held-out tunes (the test split), all through :func:`through_tokens`. Always the same tunes."""
    mystery, real = _mystery_sets_cached()
    return list(mystery), list(real)


@lru_cache(maxsize=1)
def overlap_quiz() -> M.SetComparison:
    """Exercise 2's comparison: :func:`metrics.compare_sets` of the mystery tunes against the
    real ones, default features. Always the same numbers."""
    mystery, real = mystery_sets()
    return M.compare_sets(mystery, real)


def _feature_key(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().strip("`'\"").lower())


def _check_feature(answer):
    table = overlap_quiz()
    rows = {r["feature"]: r for r in table}
    if isinstance(answer, dict) and answer.get("feature") in rows:
        raise CheckFailed(f"that is a whole row of the comparison table; answer with its feature's name, the text "
                          f"{answer['feature']!r} (row['feature']).", wrong_type=True)
    if _number(answer):
        raise CheckFailed(f"{answer!r} is a number — an overlapped area? Answer with the *name* of the feature whose "
                          "panel shows it, as text, e.g. 'pitch_range'.", wrong_type=True)
    if not isinstance(answer, str):
        raise CheckFailed(f"answer with the feature's name as text, e.g. 'pitch_range' (got {type(answer).__name__}).",
                          wrong_type=True)
    name = _feature_key(answer)
    reading = ""
    if name not in rows:
        partial = [f for f in rows if name and name in f]
        if len(partial) != 1:
            raise CheckFailed(f"{answer!r} is not one of the features in the plot; choose one of: "
                              f"{', '.join(rows)}.", wrong_type=True)
        name, reading = partial[0], f"(reading {answer!r} as {partial[0]!r}) "
    ranked = sorted(rows, key=lambda f: rows[f]["overlap"])
    best = ranked[0]
    if name == best:
        return
    mine = rows[name]
    if name == ranked[-1]:
        raise CheckFailed(f"{reading}{name} has the *highest* overlapped area of all ({mine['overlap']:.2f}): on it the "
                          "mystery tunes are the most like real ones. OA measures how much the green curve overlaps "
                          "the blue one — 1 = alike; the feature that gives the generator away has the *smallest* OA.")
    message = (f"on {name} the overlapped area is {mine['overlap']:.2f}: the green inter-set curve (mystery vs "
               f"real) covers {mine['overlap']:.0%} of the blue intra-set curve (real vs real), so on this feature "
               "the mystery tunes sit among the real ones almost as the real ones sit among themselves.")
    if name == ranked[1]:
        message = (f"close — {name} does differ (overlapped area {mine['overlap']:.2f}), but one feature differs "
                   "more: look for the panel with the smallest OA in its title.")
    elif name == max(rows, key=lambda f: rows[f]["kl"]):
        message = (f"{name} has the largest KL divergence ({mine['kl']:.2f}), but the question asks for the smallest "
                   "overlapped area — here they point at different features; read the OA in the titles.")
    else:
        gaps = {f: abs(r.get("generated_mean", math.nan) - r.get("real_mean", math.nan)) for f, r in rows.items()}
        gaps = {f: g for f, g in gaps.items() if np.isfinite(g)}
        if gaps and name == max(gaps, key=gaps.get):
            message += (f" Its means differ by the most in raw numbers ({mine['real_mean']:.3g} real vs "
                        f"{mine['generated_mean']:.3g}), but features have different units (semitones, shares, "
                        "bits): what counts is the difference compared with how much real tunes vary among "
                        "themselves — which is what the overlapped area measures.")
        if mine["overlap"] > 0.8:
            message += " The feature that differs most is where the two curves part the most (lowest OA)."
    raise CheckFailed(reading + message)


q2 = Exercise(
    "which feature gives the mystery generator away?",
    check=_check_feature,
    hints=["Each panel's title gives its OA (overlapped area): 1 means the mystery tunes are as close to the real "
           "ones as real tunes are to each other; near 0, they are a different kind of music on that feature.",
           "Find the smallest OA. `min(comparison, key=lambda row: row['overlap'])['feature']` finds it in the table."],
    solution='most_different = "mean_interval"   # the smallest overlap: '
             "min(comparison, key=lambda row: row['overlap'])['feature']",
    explanation="The mystery generator shuffled the notes of real tunes. Everything that counts *which* notes are "
                "played (range, pitch classes, entropy, histogram) stays the same, and the rhythm is untouched; "
                "only the order changed — and with it the steps from one note to the next. Real melodies move "
                "mostly by step; shuffled ones leap about. One metric alone would have missed it: look at many.",
    reference="mean_interval",
)


# ---------------------------------------------------------------------------------------
# q3. Spot the copied melody
# ---------------------------------------------------------------------------------------
_COPIER = "D"
_LABELS = "ABCDE"
_COPIED_STEPS = 96  # six bars of 4/4 recited note for note


def _plain_duple(piece: Piece) -> bool:
    """A tune in 2/4 or 4/4 without an upbeat or a meter change: it reads correctly as 4/4 from its first note."""
    return (tuple(piece.time_signature) in ((2, 4), (4, 4)) and not piece.pickup
            and not piece.time_signature_changes)


def _vary(tokens: np.ndarray, after: int) -> np.ndarray:
    """Change every second note from step ``after`` on to the next higher pitch the tune uses:
    an overfitted model that recites the start of a tune, then drifts."""
    out = np.array(tokens)
    ladder = sorted({int(t) for t in out if t <= 127})
    notes = [i for i in range(after, len(out)) if out[i] <= 127]
    for i in notes[::2]:
        higher = [p for p in ladder if p > out[i]]
        out[i] = higher[0] if higher else ladder[-2] if len(ladder) > 1 else out[i]
    return out


@lru_cache(maxsize=1)
def _copy_quiz_cached():
    from ..datasets import load_melodies

    melodies = load_melodies()
    train_tokens = melodies.split("train").tokens()
    # The source comes from the first 1000 tunes of the dataset, so that fast mode's smaller
    # training set (the notebook loads at least 1000 tunes) holds it too.
    first = load_melodies(limit=1000).split("train")
    first_tokens = first.tokens()
    source = next(i for i, piece in enumerate(first)
                  if _plain_duple(piece) and 160 <= len(first_tokens[i]) <= MAX_STEPS)
    copier = _vary(first_tokens[source][:MAX_STEPS], _COPIED_STEPS)
    # Decoys: held-out tunes (never in training) that share no 2-bar passage with any training
    # tune — what a model that learnt the style without copying would write.
    test = melodies.split("test")
    test_tokens = test.tokens()
    decoys = []
    for i in np.linspace(0, len(test) - 1, 200).round().astype(int):
        t = test_tokens[i][:MAX_STEPS]
        if _plain_duple(test[i]) and len(t) >= 128 and M.copy_rate([t], train_tokens, n=32) == 0:
            decoys.append(t)
        if len(decoys) == 4:
            break
    tunes, d = {}, iter(decoys)
    for label in _LABELS:
        tokens = copier if label == _COPIER else next(d)
        tunes[label] = through_tokens(tokens, title=f"tune {label}")
    return tunes, first[source].meta["id"], train_tokens


def copy_quiz() -> dict[str, Piece]:
    """Exercise 3's five tunes, labelled 'A' to 'E', "from a model trained on the training
    split". One of them recites a training tune. Always the same tunes."""
    tunes, _, _ = _copy_quiz_cached()
    return dict(tunes)


@lru_cache(maxsize=8)
def _longest_run(label: str) -> int:
    tunes, _, train_tokens = _copy_quiz_cached()
    return M.longest_shared_run(tunes[label], train_tokens).length


def _check_copier(answer):
    if isinstance(answer, Piece):
        tunes = copy_quiz()
        matches = [label for label, tune in tunes.items() if tune.notes == answer.notes]
        if len(matches) == 1:
            answer = matches[0]
    if isinstance(answer, dict) and set(map(str, answer)) == set(_LABELS):
        raise CheckFailed("that is the whole table, one entry per tune; answer with one letter — the tune whose "
                          "shared run is the longest: `max(runs, key=runs.get)`.", wrong_type=True)
    if isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], str) and \
            answer[0].strip().upper() in _LABELS:
        raise CheckFailed(f"that is a pair {answer!r} — (letter, run length)? Answer with the letter alone: "
                          "`max(runs, key=runs.get)` gives it.", wrong_type=True)
    if _number(answer):
        raise CheckFailed(f"{answer!r} is a number — a run length in steps? Answer with the letter of the tune that "
                          "has the longest run, e.g. 'B'.", wrong_type=True)
    if not isinstance(answer, str):
        raise CheckFailed(f"answer with the tune's letter, e.g. 'B' (got {type(answer).__name__}).", wrong_type=True)
    label = answer.strip().upper().removeprefix("TUNE").strip().strip("'\"")
    if label not in _LABELS:
        raise CheckFailed(f"{answer!r} is not one of the tunes; answer 'A', 'B', 'C', 'D' or 'E'.", wrong_type=True)
    if label == _COPIER:
        return
    steps = _longest_run(label)
    if label == max(_LABELS):   # what max(runs) gives: max of a dict compares its keys, the letters
        also = (f" (Or did you write max(runs)? The max of a dictionary compares its keys — the letters — and 'E' "
                "comes last: max(runs, key=runs.get) compares the run lengths.)")
    else:
        also = ""
    if steps == min(_longest_run(other) for other in _LABELS):
        raise CheckFailed(f"tune {label} shares the *fewest* steps with the training tunes: its longest shared run, "
                          f"{steps} steps ({steps / 4:g} quarter notes), is as short as any of the five. A copy is the "
                          "tune with the *longest* shared run — max, not min." + also)
    raise CheckFailed(f"tune {label} shares at most {steps} steps ({steps / 4:g} quarter notes) with any training tune — "
                      "a scale run or a cadence formula, the kind of passage real tunes share too. A copy shows as a "
                      "run of several bars (a 4/4 bar is 16 steps). Compare all five tunes' longest runs." + also)


q3 = Exercise(
    "spot the copied melody",
    check=_check_copier,
    hints=["For each tune, `M.longest_shared_run(tune, train_tokens)` finds its longest passage that also occurs in "
           "a training tune; `.length` is in 16th-note steps (16 = one 4/4 bar).",
           "Real tunes share a few beats with others (scales, cadences). Several bars in a row is copying: pick the "
           "tune whose longest run is longest.",
           "runs = {label: M.longest_shared_run(tune, train_tokens).length for label, tune in quiz.items()}\n"
           "copied_tune = max(runs, key=runs.get)"],
    solution="runs = {label: M.longest_shared_run(tune, train_tokens).length for label, tune in quiz.items()}\n"
             "copied_tune = max(runs, key=runs.get)   # 'D': six bars note for note",
    explanation="Tune D recites the first six bars of a training tune note for note, then varies it. The other four "
                "are real tunes from the test split — new music in the same style, which shares only short "
                "formulas with the training tunes.",
    reference=_COPIER,
)


# ---------------------------------------------------------------------------------------
# q4. A sign test by hand
# ---------------------------------------------------------------------------------------
#: The listening-test answers of exercise 4.
SIGN_TEST_ANSWERS = {"prefer the LSTM": 14, "prefer the Markov chain": 6, "no preference": 4}


def _sign_test_mistakes() -> tuple[float, dict]:
    from scipy.stats import binom, binomtest, norm

    wins, losses, ties = SIGN_TEST_ANSWERS.values()
    n = wins + losses
    expected = binomtest(wins, n, 0.5).pvalue
    z = (wins - n / 2) / math.sqrt(n / 4)
    mistakes = {
        binomtest(wins, n, 0.5, alternative="greater").pvalue:
            "that is the one-sided p-value (only 'the LSTM is better' counts as extreme). Before the test we did "
            "not know which system would win, so a split as uneven the other way (6 or fewer for the LSTM) counts "
            "too: double it — the two-sided p-value.",
        binom.pmf(wins, n, 0.5):
            f"that is one term, the chance of exactly {wins} of {n}: the tail sum is missing. A p-value adds up "
            f"every outcome at least as extreme — {wins}, {wins + 1}, …, {n} for the LSTM (the same as 0, …, {losses}) "
            "— and, two-sided, doubles that tail.",
        2 * binom.pmf(losses, n, 0.5):
            f"that is 2 · C({n}, {losses}) / 2^{n}: one term of the binomial, doubled — the tail sum is missing. "
            f"Add up every split at least as uneven: P(X = 0) + P(X = 1) + … + P(X = {losses}), i.e. "
            f"sum(math.comb({n}, i) for i in range({losses} + 1)) / 2 ** {n}, then double it.",
        2 * binom.sf(wins, n, 0.5):
            f"you left out the observed split itself: 'at least as extreme' includes {wins} of {n} (sum from "
            f"{wins}, not {wins + 1}; or up to {losses} with range({losses} + 1), not range({losses})).",
        binomtest(wins, n + ties, 0.5).pvalue:
            f"you kept the {ties} 'no preference' answers in n (n = {n + ties}). The sign test leaves ties out: "
            f"n = {n} listeners who chose.",
        2 * binom.cdf(losses, n + ties, 0.5):
            f"you kept the {ties} 'no preference' answers in n (n = {n + ties}). The sign test leaves ties out: "
            f"n = {n} listeners who chose.",
        binomtest(wins + ties // 2, n + ties, 0.5).pvalue:
            f"you split the {ties} ties between the systems. The sign test leaves them out instead: n = {n}.",
        2 * norm.sf(z):
            f"that is the normal approximation (z-test). With {n} answers use the exact binomial tail sum; the "
            "approximation is off by a third here.",
        2 * norm.sf(z - 0.5 / math.sqrt(n / 4)):
            "that is the normal approximation with a continuity correction — close, but asked for is the exact "
            "binomial sum.",
        1 - expected:
            "that is the chance of a split *less* extreme than the one observed: the p-value is the chance of "
            "one at least as extreme.",
        binom.cdf(wins, n, 0.5):
            f"that is P(X ≤ {wins}): you summed the wrong tail, from 0 up to {wins} — nearly every outcome. Sum "
            f"the tail at least as uneven as {wins}–{losses}: 0 … {losses} (k = the smaller count), then double it.",
        wins / n: "that is the LSTM's win rate (wins / decided answers), not a p-value.",
        wins / (n + ties): "that is a share of answers, not a p-value.",
    }
    return expected, mistakes


_SIGN_EXPECTED, _SIGN_MISTAKES = _sign_test_mistakes()
_SIGN_TOLERANCE = 5e-4
_sign_test_number = check_number(_SIGN_EXPECTED, tol=_SIGN_TOLERANCE, unit="", what="the two-sided p-value")


def _impossible_p_value(x: float) -> str:
    """Why a p-value above 1 or below 0 came out, from its size."""
    from scipy.stats import binom

    wins, losses, ties = SIGN_TEST_ANSWERS.values()
    n = wins + losses
    head = f"you gave {x:.6g}, but a p-value is a probability: it cannot be {'above 1' if x > 1 else 'negative'}"
    if x < 0:
        return head + ". Check the signs in your formula: every term C(n, i) / 2^n is positive."
    if abs(x / 100 - _SIGN_EXPECTED) <= _SIGN_TOLERANCE:
        return head + f". {x:.4g} looks like a percentage: give the p-value as a fraction ({x:.4g} % = {x / 100:.4g})."
    for k in (wins, wins - 1):
        if abs(x - 2 * binom.cdf(k, n, 0.5)) <= _SIGN_TOLERANCE:
            return (head + f". You summed from 0 to {k}, nearly the whole distribution (k = {wins} is the larger "
                    f"count), then doubled it. Use k = min(wins, losses) = {losses}: the tail as uneven as the "
                    "observed split.")
    if abs(x / 2 ** n - _SIGN_EXPECTED) <= _SIGN_TOLERANCE or x >= 1000:
        return (head + f". It is about the size of a count of outcomes: you forgot to divide by 2^{n} (2 ** {n} = "
                f"{2 ** n:,} equally likely sequences of answers).")
    if abs(x * n ** 2 / 2 ** n - _SIGN_EXPECTED) <= _SIGN_TOLERANCE:
        return head + f". You divided by n² = {n ** 2}; divide by 2^{n} (2 ** {n}), the number of equally likely outcomes."
    return (head + ". Likely: the wrong tail (k must be the smaller count, "
            f"{losses}), a missing division by 2 ** {n}, or a tail more than half the distribution that was doubled.")


def _check_sign_test(answer):
    x = answer
    if isinstance(x, np.ndarray) and x.size == 1:
        x = x.reshape(()).item()
    if isinstance(x, np.generic):
        x = x.item()
    if not _number(x) or not math.isfinite(float(x)):
        return _sign_test_number(answer)          # the wrong kind of answer, nan, inf: the usual messages
    x = float(x)
    if abs(x - _SIGN_EXPECTED) <= _SIGN_TOLERANCE:
        return
    for decimals in (1, 2):
        if x == round(_SIGN_EXPECTED, decimals) and abs(x - _SIGN_EXPECTED) > _SIGN_TOLERANCE:
            raise CheckFailed(f"you gave {x:g}: did you round? Rounded to {decimals} decimal"
                              f"{'s' if decimals > 1 else ''}, the p-value loses too much for the check (it allows "
                              f"±{_SIGN_TOLERANCE:g}): give it unrounded, and round only when you print it.")
    near = [(abs(x - value), text) for value, text in _SIGN_MISTAKES.items() if abs(x - value) <= _SIGN_TOLERANCE]
    if near:  # two slips can land close together (one term doubled, the z-test): name the nearer one
        raise CheckFailed(f"you gave {x:.6g}: {min(near)[1]}")
    if not 0.0 <= x <= 1.0:
        raise CheckFailed(_impossible_p_value(x))
    try:
        return _sign_test_number(answer)
    except CheckFailed as failure:
        wins, losses, ties = SIGN_TEST_ANSWERS.values()
        raise CheckFailed(f"{failure.message} Check each step: n = {wins + losses} (the {ties} ties left out), k = "
                          f"{losses} (the smaller count), the tail P(X = 0) + … + P(X = k) with P(X = i) = "
                          "C(n, i) / 2^n, doubled for the two sides.") from None


q4 = Exercise(
    "a sign test by hand",
    check=with_expected(_check_sign_test, "a number (a probability between 0 and 1)"),
    hints=["Leave out the 4 'no preference' answers: n = 20 listeners chose, 14 of them the LSTM. If both systems "
           "were equally good, each choice would be a fair coin toss.",
           "The chance of k or fewer heads in n tosses is sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n. "
           "Two-sided: as uneven either way — double the tail with the 6 (or fewer) for the Markov chain.",
           "n, k = 20, 6\np_value = 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n"],
    solution="n, k = 14 + 6, 6                  # ties left out; k = the smaller count\n"
             "p_value = 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n   # 0.115",
    explanation=f"p ≈ {_SIGN_EXPECTED:.3f}: a 14–6 split happens more than one time in ten between two equally good "
                "systems. Suggestive, not convincing — collect more answers before you claim a winner.",
    reference=round(_SIGN_EXPECTED, 4),
)


# ---------------------------------------------------------------------------------------
# Later cells: the learner's answers (or the reference, unnamed), and verdicts phrased from numbers
# ---------------------------------------------------------------------------------------
def _label(answer) -> str | None:
    """The letter a (right-kind) answer to q3 names."""
    if isinstance(answer, Piece):
        matches = [label for label, tune in copy_quiz().items() if tune.notes == answer.notes]
        return matches[0] if len(matches) == 1 else None
    if isinstance(answer, str):
        label = answer.strip().upper().removeprefix("TUNE").strip().strip("'\"")
        return label if label in _LABELS else None
    return None


def copied_tune_or_none(copied_tune) -> str | None:
    """The letter the learner answered to exercise 3 (a wrong one too: looking at it is part of the
    lesson), or None before they have an answer — so the next cell can wait for one instead of
    showing (and so giving away) the reference tune."""
    if q3.answer_or_reference(copied_tune) is not copied_tune:
        return None
    return _label(copied_tune)


def sign_test_comparison(p_value) -> str:
    """One line comparing the learner's exercise-4 p-value with :func:`listening.sign_test`: the
    library's value is shown only once theirs is right, so it never gives the answer away."""
    from ..listening import sign_test

    wins, losses, _ = SIGN_TEST_ANSWERS.values()
    passed, _ = q4.evaluate(p_value)
    if passed:
        return (f"sign_test({wins}, {losses}) = {sign_test(wins, losses):.4f}: the same as your "
                f"{float(np.asarray(p_value)):.4f}, in one call.")
    if passed is None:
        return (f"sign_test({wins}, {losses}) does exercise 4 in one call: answer the exercise first, then run "
                "this cell again to compare.")
    return (f"sign_test({wins}, {losses}) does not agree with your p-value yet — the check above says why. Fix it, "
            "then run this cell again to compare.")


def repetition_verdict(greedy_rate: float, looped_rate: float, bars: int) -> str:
    """Is the greedy tune stuck in a loop? Its :func:`metrics.repetition_rate` against that of a
    tune that *is* stuck in a loop (a passage played over and over)."""
    base = (f"The greedy tune repeats {greedy_rate:.0%} of its bars; a tune stuck in a loop (its first two bars "
            f"played {bars // 2} times) repeats {looped_rate:.0%}.")
    if greedy_rate >= 0.5:
        return base + " The greedy tune is stuck in a loop."
    return (base + f" So within these {bars} bars the greedy LSTM is not stuck in a loop — it fails another way: "
            "every seed gives the same tune.")


def scoreboard_verdict(board, *, real: str = "real melodies (held out)", memoriser: str = "memoriser (order 17)",
                       lstm_prefix: str = "LSTM T=", chorales: tuple[str, str] = ("GAN", "rule-based chorales")) -> str:
    """What lesson 05's scoreboard says, phrased from its numbers: where the memoriser ranks on
    resemblance and how its copy rate compares with real held-out tunes', how the LSTM's
    resemblance and copying move with the temperature, and which chorale system is closer to real
    chorale bars. ``board``: a :class:`metrics.Scoreboard` whose reference rows are named."""
    rows = {row["system"]: row for row in board}
    lines = []
    melody = [name for name, row in rows.items() if "copy_rate" in row and name != real]
    if memoriser in rows and real in rows:
        ranked = sorted(melody, key=lambda name: -rows[name]["mean_overlap"])
        mem, ref = rows[memoriser], rows[real]
        ratio = mem["copy_rate"] / ref["copy_rate"] if ref["copy_rate"] else math.inf
        copying = (f" — {ratio:.1f} times as high: resemblance bought by recitation" if ratio > 1.5 else
                   " — not far above real tunes here")
        lines.append(f"The memoriser ranks {ranked.index(memoriser) + 1} of {len(ranked)} melody systems on "
                     f"resemblance (mean overlap {mem['mean_overlap']:.2f}); its copy rate is {mem['copy_rate']:.2f}, "
                     f"against {ref['copy_rate']:.2f} for real held-out tunes{copying}.")
    lstm = sorted((name for name in melody if name.startswith(lstm_prefix)),
                  key=lambda name: float(name[len(lstm_prefix):]))
    if len(lstm) > 1:
        temps = " → ".join(name[len(lstm_prefix):] for name in lstm)
        overlap = " → ".join(f"{rows[name]['mean_overlap']:.2f}" for name in lstm)
        copies = " → ".join(f"{rows[name]['copy_rate']:.2f}" for name in lstm)
        lines.append(f"LSTM, temperature {temps}: mean overlap {overlap}, copy rate {copies}.")
    if all(name in rows for name in chorales):
        a, b = (rows[name]["mean_overlap"] for name in chorales)
        closer = chorales[0] if a > b else chorales[1]
        lines.append(f"Chorales: {chorales[0]} {a:.2f} against {chorales[1]} {b:.2f} mean overlap — {closer} is "
                     "closer to real chorale bars on these features.")
    return "\n".join(lines)
