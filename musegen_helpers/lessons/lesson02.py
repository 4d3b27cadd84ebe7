"""Exercises of lesson 02 (rule-based composer and Markov chain): chord tones, a cadence,
parallel fifths, a transition table, choosing a Markov order.

Each reference solution is a short function here, so the checks can call it on inputs the
learner never sees, and later cells can use it (``q4.answer_or_reference(count_transitions)``)
before the learner has written their own.

Lesson: 02_rule_based
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..checks import Args, all_of, check_function
from ..exercises import ____, CheckFailed, Exercise, with_expected
from ..music import note_name
from ..theory import cadence_type, parse_roman

__all__ = ["____", "q1", "q2", "q3", "q4", "q5",
           "is_chord_tone", "parallel_fifths", "count_transitions", "best_order"]


def _names(pitches) -> str:
    return " ".join(note_name(int(p)) for p in pitches)


def _is_truth_value(x) -> bool:
    return isinstance(x, (bool, np.bool_)) or (isinstance(x, numbers.Integral) and x in (0, 1))


# ---------------------------------------------------------------------------------------
# q1. Chord tones on strong beats
# ---------------------------------------------------------------------------------------
def is_chord_tone(pitch, chord_pitches) -> bool:
    """Reference: True when ``pitch`` (MIDI) has the pitch class of one of ``chord_pitches``
    (in any octave): E5 is a chord tone of C4 E4 G4."""
    return int(pitch) % 12 in {int(p) % 12 for p in chord_pitches}


_C, _G7, _AM, _D7 = [60, 64, 67], [67, 71, 74, 77], [57, 60, 64], [62, 66, 69, 72]
_CHORD_TONE_INPUTS = [
    Args(64, _C),          # E4 in C E G
    Args(62, _C),          # D4: a non-chord tone
    Args(76, _C),          # E5: same note an octave up
    Args(55, _G7),         # G3 under a G7 written from G4
    Args(65, _G7),         # F4: the seventh of G7, an octave below the chord as written
    Args(71, _AM),         # B4: not in A minor's triad
    Args(81, _AM),         # A5: the root, two octaves up
    Args(61, _C),          # C#4: chromatic
    Args(72, _D7),         # C5: the seventh of D7
    Args(67, _D7),         # G4: not in D7
    Args(48, _C),          # C3: the root, an octave below
]


def _chord_tone_check(item: Args):
    pitch, chord = item.args

    def compare(yours, expected):
        if not _is_truth_value(yours):
            raise CheckFailed(f"your function returned {yours!r}; it should return True or False.")
        if bool(yours) == expected:
            return True
        name, chord_text = note_name(pitch), _names(chord)
        if expected and pitch in chord:
            classes = sorted({p % 12 for p in chord})
            raise CheckFailed(f"it said {name} is not a chord tone of {chord_text}, but {name} ({pitch}) is in the "
                              f"chord itself, in the same octave. Does it compare `pitch % 12` ({pitch % 12}) with "
                              f"the chord's MIDI numbers {list(chord)} (they never match), or with only one chord "
                              f"note? Take % 12 on both sides: the chord's pitch classes are {classes}.")
        if expected:
            same = [p for p in chord if p % 12 == pitch % 12][0]
            raise CheckFailed(f"it said {name} is not a chord tone of {chord_text}, but it is: {name} is "
                              f"{note_name(same)} in another octave. Chords work in every octave — compare "
                              "pitch classes (pitch % 12), not MIDI numbers.")
        raise CheckFailed(f"it said {name} is a chord tone of {chord_text}, but {name} is not in the chord: "
                          "it is a non-chord tone, which would clash with the harmony on a strong beat.")

    return check_function(is_chord_tone, [item], compare=compare,
                          describe_input=lambda a: f"pitch {note_name(pitch)} ({pitch}) and the chord "
                                                   f"{_names(chord)} ({list(chord)})")


q1 = Exercise(
    "the chord-tone rule",
    check=all_of(_chord_tone_check(item) for item in _CHORD_TONE_INPUTS),
    hints=["A chord tone is any note with the same *name* as a note of the chord, in any octave: "
           "C, E and G are chord tones of C major whether they are C4 or C6.",
           "The pitch class is `pitch % 12` (C = 0, C# = 1, ..., B = 11). Compare the pitch class of "
           "`pitch` with the pitch classes of the chord's notes.",
           "return pitch % 12 in [p % 12 for p in chord_pitches]"],
    solution="def is_chord_tone(pitch, chord_pitches):\n"
             "    return pitch % 12 in {p % 12 for p in chord_pitches}",
    explanation="The composer asks this for every strong beat: only the notes for which it says True "
                "are candidates there.",
    reference=is_chord_tone,
)


# ---------------------------------------------------------------------------------------
# q2. A progression that closes with an authentic cadence
# ---------------------------------------------------------------------------------------
_CADENCE_WORDS = {
    "plagal": "a plagal cadence (IV–I, the 'Amen' at the end of a hymn): a soft close, but not the "
              "dominant-to-tonic full stop asked for",
    "half": "a half cadence: it stops on the dominant, like a comma — the music sounds unfinished",
    "deceptive": "a deceptive cadence: V goes to vi instead of I, dodging the expected close",
}


def _check_progression(answer):
    if isinstance(answer, str):
        numerals = answer.replace(",", " ").replace("–", " ").replace("-", " ").split()
    elif isinstance(answer, (list, tuple)):
        numerals = list(answer)
    else:
        raise CheckFailed(f"expected a list of Roman numerals such as ['I', 'IV', 'V', 'I'], got "
                          f"{type(answer).__name__}.", wrong_type=True)
    if not all(isinstance(n, str) for n in numerals):
        raise CheckFailed("write each chord as a Roman numeral in quotes, e.g. ['I', 'vi', 'ii', 'V', 'I'].",
                          wrong_type=True)
    digits = {"1": "I", "2": "ii", "3": "iii", "4": "IV", "5": "V", "6": "vi", "7": "vii°"}
    letters = {"C": "I", "Dm": "ii", "Em": "iii", "F": "IV", "G": "V", "G7": "V7", "Am": "vi"}
    for n in numerals:
        if n.strip() in digits:
            raise CheckFailed(f"{n!r} is a scale degree as a digit; write it as a Roman numeral in quotes — "
                              f"in C major 1 = 'I', 4 = 'IV', 5 = 'V' (upper case = major chord).", wrong_type=True)
        if n.strip() in letters:
            raise CheckFailed(f"{n!r} is a chord *name*; write the chord's Roman numeral — its degree in the key. "
                              f"In C major C = 'I', F = 'IV', G = 'V', Am = 'vi' (so {n!r} is "
                              f"{letters[n.strip()]!r}).", wrong_type=True)
        try:
            parse_roman(n)
        except ValueError as err:
            raise CheckFailed(f"{n!r} is not a Roman numeral I can read ({err})", wrong_type=True) from None
    if not 4 <= len(numerals) <= 8:
        raise CheckFailed(f"your progression has {len(numerals)} chords; write 4 to 8 (one per bar).")
    first = parse_roman(numerals[0])
    if first.degree != 1 or first.secondary is not None or first.alteration:
        raise CheckFailed(f"it starts on {numerals[0]}; start on the tonic chord, I, so the ear knows the key.")
    kind = cadence_type(numerals)
    if kind == "authentic":
        return
    last_two = "–".join(numerals[-2:])
    if kind in _CADENCE_WORDS:
        raise CheckFailed(f"it ends {last_two}: {_CADENCE_WORDS[kind]}. End with V (or V7) then I.")
    last = parse_roman(numerals[-1])
    if last.degree == 1 and numerals[-2].strip().startswith("v") and parse_roman(numerals[-2]).degree == 5:
        raise CheckFailed(f"it ends {last_two}: lower-case v is a *minor* chord on the fifth degree (G–Bb–D in C "
                          "major): it has no leading tone (B) to rise to the tonic, so the close is weak. Write "
                          "the major dominant, upper-case V (or V7), then I.")
    if last.degree == 1 and last.secondary is None:
        raise CheckFailed(f"it ends {last_two}: it lands on I, but from {numerals[-2]}, not from the dominant. "
                          "The strongest close comes from V (or V7), whose leading tone rises to the tonic.")
    raise CheckFailed(f"it ends on {numerals[-1]}, not on the tonic I: the music does not come home. "
                      "End with V (or V7) then I.")


q2 = Exercise(
    "a progression with an authentic cadence",
    check=_check_progression,
    hints=["The last two chords make the cadence. An authentic cadence is dominant → tonic.",
           "In Roman numerals the dominant is V (or V7) and the tonic is I. Start on I too.",
           "my_progression = ['I', 'vi', 'IV', 'V', 'I'] — or any 4 to 8 chords ending V–I."],
    solution="my_progression = ['I', 'vi', 'ii', 'V7', 'I']   # tonic, predominant, dominant, tonic",
    explanation="V–I is the 'full stop' of tonal music: the leading tone (B in C major) rises a semitone "
                "to the tonic while the bass falls a fifth.",
    reference=["I", "vi", "ii", "V7", "I"],
)


# ---------------------------------------------------------------------------------------
# q3. Parallel fifths
# ---------------------------------------------------------------------------------------
def parallel_fifths(upper, lower) -> list[int]:
    """Reference: positions ``i`` where two voices move from a perfect fifth (at ``i - 1``) into
    another perfect fifth (at ``i``), both voices moving. Compound fifths count (a twelfth,
    19 semitones, is a fifth plus an octave). ``upper`` and ``lower`` are MIDI pitches, one per beat."""
    found = []
    for i in range(1, min(len(upper), len(lower))):
        before = abs(upper[i - 1] - lower[i - 1]) % 12
        after = abs(upper[i] - lower[i]) % 12
        both_move = upper[i] != upper[i - 1] and lower[i] != lower[i - 1]
        if before == 7 and after == 7 and both_move:
            found.append(i)
    return found


_FIFTH_INPUTS = [
    # a textbook mistake: C5→D5 over F4→G4, then a clean close
    Args([72, 74, 76, 77], [65, 67, 60, 53]),
    # no fifths at all: thirds and sixths
    Args([64, 65, 67, 69, 67], [60, 62, 64, 65, 64]),
    # a fifth held (neither voice moves) then left properly: not parallel
    Args([67, 67, 69, 71], [60, 60, 65, 67]),
    # a fifth, then a twelfth (a fifth plus an octave) — parallel too
    Args([79, 81, 79], [60, 62, 55]),
    # two in a row: G→A→B over C→D→E, all fifths
    Args([67, 69, 71, 72], [60, 62, 64, 65]),
    # one voice stays, the other moves: oblique motion, never parallel
    Args([67, 69, 67, 74], [60, 60, 60, 67]),
    # a fifth to a twelfth with the lower voice held (the upper leaps an octave): oblique, not parallel;
    # then the twelfth moves on in both voices: parallel
    Args([67, 79, 81], [60, 60, 62]),
    # fifths in the middle and at the very end
    Args([76, 74, 72, 74, 76], [69, 67, 60, 67, 69]),
]


def _fifths_check(item: Args):
    upper, lower = item.args
    expected = parallel_fifths(upper, lower)

    def compare(yours, _expected):
        if isinstance(yours, (list, tuple, np.ndarray)) and len(yours) == len(upper) and len(yours) > 0 \
                and all(isinstance(v, (bool, np.bool_)) for v in yours):
            raise CheckFailed(f"your function returned one True/False per position ({list(map(bool, yours))}); "
                              "return the *positions* i where a parallel fifth arrives, e.g. [2] — an empty "
                              "list when there is none.")
        try:
            mine = sorted(int(i) for i in yours)
        except (TypeError, ValueError):
            raise CheckFailed(f"your function returned {yours!r}; it should return a list of positions "
                              "(whole numbers), e.g. [2].") from None
        if mine == expected:
            return True

        def motion(i):
            return (f"{note_name(upper[i - 1])}→{note_name(upper[i])} over "
                    f"{note_name(lower[i - 1])}→{note_name(lower[i])}")

        if expected and [i + 1 for i in mine] == expected:
            raise CheckFailed(f"you found {mine}, one position too early: report the position where the "
                              f"second fifth arrives (where the mistake is heard), i.e. {expected}.")
        missing = [i for i in expected if i not in mine]
        extra = [i for i in mine if i not in expected]
        for i in extra:
            if not 1 <= i < len(upper):
                raise CheckFailed(f"position {i} does not exist: the voices have positions 0–{len(upper) - 1}, "
                                  "and a parallel needs a position before it, so it is at 1 or later.")
            fifth_before = abs(upper[i - 1] - lower[i - 1]) % 12 == 7
            fifth_after = abs(upper[i] - lower[i]) % 12 == 7
            if fifth_before and fifth_after:
                still = [v for v, seq in (("upper", upper), ("lower", lower)) if seq[i] == seq[i - 1]]
                raise CheckFailed(f"at position {i} ({motion(i)}) the {' and '.join(still)} voice"
                                  f"{'s' if len(still) > 1 else ''} stay{'' if len(still) > 1 else 's'} put: "
                                  "a fifth that is held or repeated is fine. Parallel fifths need both "
                                  "voices to move.")
            sizes = (abs(upper[i - 1] - lower[i - 1]), abs(upper[i] - lower[i]))
            if all(v % 12 in (0, 7) for v in sizes) and any(v % 12 == 0 for v in sizes):
                raise CheckFailed(f"at position {i} ({motion(i)}) the intervals are {sizes[0]} and {sizes[1]} "
                                  "semitones: an octave (a multiple of 12) is involved. Parallel octaves break a "
                                  "rule too, but a different one: this function finds fifths only "
                                  "(interval % 12 == 7 at both positions).")
            raise CheckFailed(f"at position {i} ({motion(i)}) the intervals are "
                              f"{abs(upper[i - 1] - lower[i - 1])} and {abs(upper[i] - lower[i])} semitones — "
                              "not two fifths.")
        for i in missing:
            sizes = (abs(upper[i - 1] - lower[i - 1]), abs(upper[i] - lower[i]))
            if any(s != 7 for s in sizes):
                raise CheckFailed(f"you missed position {i} ({motion(i)}): the voices are {sizes[0]} and "
                                  f"{sizes[1]} semitones apart — a fifth plus an octave (a twelfth, 19) is "
                                  "still a fifth to the ear. Compare the interval modulo 12.")
            raise CheckFailed(f"you missed position {i} ({motion(i)}): a fifth moving to a fifth, both "
                              "voices moving.")
        raise CheckFailed(f"you found {mine}; expected {expected}.")  # pragma: no cover - all cases above

    return check_function(parallel_fifths, [item], compare=compare,
                          describe_input=lambda a: f"upper={list(upper)} ({_names(upper)}), "
                                                   f"lower={list(lower)} ({_names(lower)})")


q3 = Exercise(
    "find parallel fifths",
    check=all_of(_fifths_check(item) for item in _FIFTH_INPUTS),
    hints=["Walk through the positions i = 1, 2, ...: look at the interval between the voices at i - 1 "
           "and at i. A perfect fifth is 7 semitones.",
           "Use `abs(upper[i] - lower[i]) % 12 == 7`, so a twelfth (19 semitones) counts as a fifth, and "
           "check that both voices moved: `upper[i] != upper[i - 1] and lower[i] != lower[i - 1]`.",
           "found = []\nfor i in range(1, len(upper)):\n"
           "    if abs(upper[i-1] - lower[i-1]) % 12 == 7 and abs(upper[i] - lower[i]) % 12 == 7 \\\n"
           "            and upper[i] != upper[i-1] and lower[i] != lower[i-1]:\n"
           "        found.append(i)\nreturn found"],
    solution="def find_parallel_fifths(upper, lower):\n"
             "    found = []\n"
             "    for i in range(1, len(upper)):\n"
             "        before = abs(upper[i - 1] - lower[i - 1]) % 12\n"
             "        after = abs(upper[i] - lower[i]) % 12\n"
             "        both_move = upper[i] != upper[i - 1] and lower[i] != lower[i - 1]\n"
             "        if before == 7 and after == 7 and both_move:\n"
             "            found.append(i)\n"
             "    return found",
    explanation="Two voices a fifth apart moving together sound like one voice doubled — they lose their "
                "independence, which is why Fux and every textbook after him forbid it.",
    reference=parallel_fifths,
)


# ---------------------------------------------------------------------------------------
# q4. Counting transitions: a bigram Markov chain (MarkovChain(order=2)) by hand
# ---------------------------------------------------------------------------------------
def count_transitions(sequences, n_symbols: int = 128) -> np.ndarray:
    """Reference: ``counts[a, b]`` = how often symbol ``b`` directly follows symbol ``a`` inside
    one of ``sequences`` (a list of lists of symbols ``0 .. n_symbols - 1``, e.g. MIDI pitches).
    Transitions never cross from one sequence into the next."""
    counts = np.zeros((n_symbols, n_symbols), dtype=np.int64)
    for seq in sequences:
        seq = np.asarray(seq, dtype=np.int64)
        if len(seq) > 1:
            np.add.at(counts, (seq[:-1], seq[1:]), 1)
    return counts


_TUNES_A = [[60, 62, 64, 60, 62, 64, 65, 67], [67, 65, 64, 62, 60]]
_TUNES_B = [[69, 69, 71, 72, 71, 69], [64], [], [72, 71, 69, 71, 72, 72]]
_TUNES_C = [[0, 1, 2, 1, 0], [2, 2, 2], [3, 0, 3]]
_TRANSITION_INPUTS = [Args(_TUNES_A, 128), Args(_TUNES_B, 128), Args(_TUNES_C, 4)]


def _transition_check(item: Args):
    tunes, n = item.args
    expected = count_transitions(tunes, n)
    label = (lambda s: note_name(s)) if n == 128 else (lambda s: f"symbol {s}")

    def compare(yours, _expected):
        try:
            mine = np.asarray(yours, dtype=float)
        except (TypeError, ValueError):
            raise CheckFailed(f"your function returned {type(yours).__name__}; it should return a numpy "
                              f"array of counts of shape ({n}, {n}).") from None
        if mine.shape != expected.shape:
            raise CheckFailed(f"your table has shape {mine.shape}; expected ({n}, {n}): one row per current "
                              "symbol, one column per next symbol.")
        if np.array_equal(mine, expected):
            return True
        if not np.array_equal(expected, expected.T) and np.array_equal(mine, expected.T):
            raise CheckFailed("your table is flipped: rows must be the note you are on, columns the note that "
                              "comes next — counts[current, next] += 1.")
        rows = expected.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            as_probs = np.where(rows[:, None] > 0, expected / rows[:, None], 0.0)
        if np.allclose(mine, as_probs):
            raise CheckFailed("your table holds probabilities (each row sums to 1); return the counts — "
                              "whole numbers — and we turn them into probabilities in the next cell.")
        wrapped = count_transitions([list(t) + list(t[:1]) for t in tunes if len(t) > 1], n)
        if np.array_equal(mine, wrapped):
            raise CheckFailed("you counted one transition too many per tune: from its last note back to its first. "
                              "With `for i in range(len(tune))`, tune[i - 1] at i = 0 is tune[-1], the *last* "
                              "note (Python's negative index). Start at i = 1, or pair zip(tune[:-1], tune[1:]).")
        short = count_transitions([t[:-1] for t in tunes], n)
        if np.array_equal(mine, short):
            raise CheckFailed("you missed the last transition of each tune: a tune of n notes has n − 1 "
                              "neighbouring pairs, i = 0 … n − 2, so loop over range(len(tune) - 1).")
        once = np.zeros_like(expected)
        for t in tunes:
            if len(t) > 1:
                once += count_transitions([t], n) > 0
        if not np.array_equal(once, expected) and np.array_equal(mine, once):
            raise CheckFailed("a pair that occurs several times in one tune was counted once: "
                              "`counts[a, b] = 1` sets the count instead of adding to it (write `+= 1`), and "
                              "`counts[a_list, b_list] += 1` adds 1 only once per distinct index pair (numpy "
                              "does not add up repeats). Use a loop, or np.add.at(counts, (a_list, b_list), 1).")
        if np.array_equal(mine, (expected > 0).astype(mine.dtype)):
            raise CheckFailed("every pair that occurs has the count 1, however often it occurs: did you write "
                              "`counts[a, b] = 1` (which sets) instead of `counts[a, b] += 1` (which adds)?")
        joined = [s for t in tunes for s in t]
        across = count_transitions([joined], n)
        if np.array_equal(mine, across):
            n_jumps = int(across.sum() - expected.sum())
            raise CheckFailed(f"you counted {n_jumps} transition{'s' if n_jumps != 1 else ''} from the last note "
                              "of one tune to the first note of the next. The tunes are separate songs: count "
                              "transitions inside each tune only.")
        diff = np.argwhere(mine != expected)
        a, b = (int(v) for v in diff[0])
        raise CheckFailed(f"counts[{a}, {b}] (from {label(a)} to {label(b)}) is {mine[a, b]:g}, but {label(b)} "
                          f"follows {label(a)} {int(expected[a, b])} time{'s' if expected[a, b] != 1 else ''}. "
                          f"({len(diff)} entries differ.)")

    return check_function(count_transitions, [item], compare=compare,
                          describe_input=lambda a: f"{len(tunes)} tunes {tunes} and n_symbols={n}")


q4 = Exercise(
    "count the transitions",
    check=all_of(_transition_check(item) for item in _TRANSITION_INPUTS),
    hints=["Start from `counts = np.zeros((n_symbols, n_symbols), dtype=int)`. For each tune, look at each "
           "pair of neighbours (a, b) and add 1 to counts[a, b].",
           "`for a, b in zip(tune[:-1], tune[1:]):` walks over neighbouring pairs of one tune — and never "
           "pairs the end of one tune with the start of the next.",
           "counts = np.zeros((n_symbols, n_symbols), dtype=int)\nfor tune in sequences:\n"
           "    for a, b in zip(tune[:-1], tune[1:]):\n        counts[a, b] += 1\nreturn counts"],
    solution="def count_transitions(sequences, n_symbols=128):\n"
             "    counts = np.zeros((n_symbols, n_symbols), dtype=int)\n"
             "    for tune in sequences:\n"
             "        for a, b in zip(tune[:-1], tune[1:]):\n"
             "            counts[a, b] += 1\n"
             "    return counts",
    explanation="Divide each row by its sum and you have a bigram Markov chain (`MarkovChain(order=2)`: one "
                "note of context): the probability of each next note given the current one.",
    reference=count_transitions,
)


# ---------------------------------------------------------------------------------------
# q5. Choosing the order from held-out bits per token
# ---------------------------------------------------------------------------------------
def best_order(bits_by_order, tolerance: float = 0.0) -> int:
    """Reference: the lowest order whose held-out bits per token are within ``tolerance`` bits of
    the best (lowest) value in ``bits_by_order`` (``{order: bits per token}``; inf allowed)."""
    finite = {k: v for k, v in bits_by_order.items() if math.isfinite(v)}
    if not finite:
        raise ValueError("every order has infinite bits per token: smooth the model (add_k > 0).")
    lowest = min(finite.values())
    return min(k for k, v in finite.items() if v <= lowest + tolerance)


_ORDER_INPUTS = [
    Args({1: 2.10, 2: 1.71, 3: 1.52, 4: 1.49, 5: 1.55}, 0.0),
    Args({5: 1.55, 3: 1.52, 1: 2.10, 4: 1.49, 2: 1.71}, 0.0),        # not in order
    Args({3: 1.50, 4: 1.48, 5: 1.49}, 0.05),                         # all within: the lowest, not the best or highest
    Args({1: 2.10, 2: 1.71, 3: 1.52, 4: 1.49, 5: 1.55}, 0.05),       # 3 is within 0.05 of 4
    Args({2: 1.30, 4: 1.12, 8: 1.03, 16: 1.01, 32: 1.005}, 0.02),    # 16 is within 0.02 of 32 (8 is not)
    Args({2: 3.2, 3: 3.0, 4: 2.85, 5: 2.8}, 0.1),                    # bits, not a fraction: 4, not 3 (3.0 <= 2.8 * 1.1)
    Args({1: 2.4, 2: 1.9, 3: math.inf, 4: math.inf}, 0.0),           # add-k = 0: unseen -> inf
    Args({2: 1.30, 4: 1.12, 8: 1.03, 16: 1.01, 32: 1.005}, 0.0),
]


def _order_check(item: Args):
    table, tol = item.args
    expected = best_order(table, tol)
    lowest = min(v for v in table.values() if math.isfinite(v))

    def compare(yours, _expected):
        if isinstance(yours, (float, np.floating)) and not float(yours).is_integer():
            raise CheckFailed(f"your function returned {float(yours):g} — that looks like a number of bits. "
                              "Return the order (the dictionary's key), not its bits per token.")
        try:
            mine = int(yours)
        except (TypeError, ValueError):
            raise CheckFailed(f"your function returned {yours!r}; it should return one order (a whole number).") \
                from None
        if mine == expected:
            return True
        if mine not in table:
            if any(abs(mine - v) < 1e-9 for v in table.values()):
                raise CheckFailed(f"your function returned {mine}, which is a number of bits, not an order. "
                                  "Return the dictionary's key.")
            raise CheckFailed(f"your function returned {mine}, which is not one of the orders {sorted(table)}.")
        bits = table[mine]
        if math.isfinite(bits) and lowest + tol < bits <= lowest * (1 + tol) + 1e-12:
            raise CheckFailed(f"order {mine} has {bits:g} bits, {bits - lowest:.3g} more than the best ({lowest:g}) — "
                              f"more than tolerance={tol:g} bits. Did you treat the tolerance as a fraction of the "
                              "best value (lowest * (1 + tolerance))? It is in bits: keep the orders whose bits are "
                              "at most `lowest + tolerance`.")
        if not math.isfinite(bits):
            raise CheckFailed(f"order {mine} has infinite bits per token (a held-out note it had never seen "
                              "got probability 0): it is the worst, not the best.")
        worst = max(v for v in table.values() if math.isfinite(v))
        if bits == worst and bits > lowest:
            raise CheckFailed(f"order {mine} has the *most* bits per token ({bits:g}); fewer bits means better "
                              "predictions — look for the smallest value.")
        if bits == lowest and tol > 0:
            raise CheckFailed(f"order {mine} has the fewest bits ({bits:g}), but here tolerance={tol:g}, and the "
                              f"lower order {expected} ({table[expected]:g} bits) is within {tol:g} bits of it. "
                              "Does your function use `tolerance`? Of all orders whose bits are at most "
                              "`lowest + tolerance`, return the lowest — fewer contexts to learn, less copying.")
        if bits <= lowest + tol and mine > expected:
            raise CheckFailed(f"order {mine} is within {tol:g} bits of the best, but so is the lower order "
                              f"{expected} ({table[expected]:g} bits): when two orders are this close, take the "
                              "lower one — fewer contexts to learn, less copying.")
        raise CheckFailed(f"order {mine} has {bits:g} bits per token; order {expected} has {table[expected]:g}.")

    check = check_function(best_order, [item], compare=compare,
                           describe_input=lambda a: f"bits_by_order={table}, tolerance={tol}")

    def check_strict(answer):
        try:
            check(answer)
        except CheckFailed as failure:
            if tol == 0 and "empty sequence" in failure.message:   # min()/max() of nothing: `b - lowest < 0`
                raise CheckFailed(f"{failure.message.rstrip('.')}. With tolerance=0 no order is *strictly* within "
                                  "0 bits of the best — not even the best itself: compare with `<=`, not `<`.",
                                  failure.details) from None
            raise

    return with_expected(check_strict, getattr(check, "expected", None))


q5 = Exercise(
    "choose the order",
    check=all_of(_order_check(item) for item in _ORDER_INPUTS),
    hints=["First find the lowest bits per token in the dictionary (ignore `inf`: an order that gave a held-out "
           "note probability 0).",
           "Then, of all orders whose bits are at most `lowest + tolerance`, return the smallest order. "
           "`math.isfinite(v)` tells inf apart.",
           "lowest = min(v for v in bits_by_order.values() if math.isfinite(v))\n"
           "return min(k for k, v in bits_by_order.items() if v <= lowest + tolerance)"],
    solution="def best_order(bits_by_order, tolerance=0.0):\n"
             "    lowest = min(bits for bits in bits_by_order.values() if np.isfinite(bits))\n"
             "    return min(order for order, bits in bits_by_order.items() if bits <= lowest + tolerance)",
    explanation="Held-out bits per token reward predicting *new* tunes; but a tiny gain from a much longer "
                "context rarely sounds better — it mostly means longer passages copied from the training tunes.",
    reference=best_order,
)
