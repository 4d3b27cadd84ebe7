"""Tests for musegen_helpers.rules: the rule-based composer, its RuleSet and its checks."""

import json

import numpy as np
import pytest

from musegen_helpers.music import Note, Piece, melody, parse_key
from musegen_helpers.rules import (
    PRESETS, RHYTHMS, STRONG_BEATS, RuleSet, check_melody, compose, describe_rules, explain,
    preset_progression,
)
from musegen_helpers.theory import check_voice_leading, roman_to_chord, scale_pitch_classes

SEEDS = range(100)
PRESET_KEYS = [("pop", "C major"), ("minor", "A minor"), ("blues", "G major"), ("pachelbel", "D major"),
               ("ii-V-I", "Bb major"), ("andalusian", "E minor"), ("classical", "F major"),
               ("circle", "A major"), ("doo-wop", "Eb major")]
METERS = [(4, 4), (3, 4), (6, 8), (2, 4)]


def melody_notes(piece):
    label = "S" if "S" in piece.parts else "melody"
    return [n for n in piece.notes if n.part == label]


def chord_at(piece, t):
    for c in piece.meta["chords"]:
        if c["start"] - 1e-9 <= t < c["end"] - 1e-9:
            return c
    raise AssertionError(f"no chord at {t}")


def is_strong(piece, t):
    bar = piece.bar_length
    starts = {round(c["start"], 6) for c in piece.meta["chords"]}
    return round(t % bar, 6) in STRONG_BEATS[piece.time_signature] or round(t, 6) in starts


def setting(seed):
    """A different preset, key and meter for each seed, so 100 seeds cover them all."""
    preset, key = PRESET_KEYS[seed % len(PRESET_KEYS)]
    return dict(progression=preset, key=key, meter=METERS[seed % len(METERS)], seed=seed,
                bars=8 + 8 * (seed % 2))


# ---------------------------------------------------------------------------------------
# The melody follows its rules
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_melody_obeys_every_enabled_rule(seed):
    piece = compose(**setting(seed))
    assert piece.parts == ["melody"]
    assert check_melody(piece) == []
    notes = melody_notes(piece)
    tonic = parse_key(piece.key)[0]
    key_pcs = set(scale_pitch_classes(piece.key))
    for n in notes:
        chord = chord_at(piece, n.start)
        if is_strong(piece, n.start):
            assert n.pitch % 12 in chord["pitch_classes"], (n, chord)
        # in the key, except chord tones that alter it (G# over V in A minor)
        assert n.pitch % 12 in key_pcs or n.pitch % 12 in chord["pitch_classes"], (n, chord)
        assert 60 <= n.pitch <= 79
    # cadence: V then I, melody steps onto the tonic and holds it for the whole last bar
    last = notes[-1]
    assert last.pitch % 12 == tonic
    assert abs(last.pitch - notes[-2].pitch) in (1, 2)
    assert last.duration == piece.bar_length and last.end == piece.end
    assert piece.meta["progression"][-1].lower().startswith("i")
    assert roman_to_chord(piece.meta["progression"][-2], piece.key).root == (tonic + 7) % 12


@pytest.mark.parametrize("meter", METERS)
def test_bars_are_filled_exactly_with_no_gaps(meter):
    piece = compose(meter=meter, bars=8, seed=3)
    notes = melody_notes(piece)
    assert piece.time_signature == meter
    assert piece.end == pytest.approx(8 * piece.bar_length)
    for a, b in zip(notes, notes[1:]):
        assert b.start == pytest.approx(a.end)
    assert piece.n_bars == 8


def test_two_chords_per_bar_change_on_the_half_bar():
    piece = compose(chords_per_bar=2, bars=4, seed=1)
    starts = [c["start"] for c in piece.meta["chords"]]
    assert starts == [0, 2, 4, 6, 8, 10, 12, 14]
    assert check_melody(piece) == []
    with pytest.raises(ValueError, match="3/4"):
        compose(chords_per_bar=2, meter=(3, 4))


def test_minor_key_melody_uses_the_raised_leading_tone_over_v():
    saw_g_sharp = False
    for seed in range(30):
        piece = compose("A minor", "minor", seed=seed)
        for n in melody_notes(piece):
            if chord_at(piece, n.start)["numeral"] == "V":
                assert n.pitch % 12 != 7, "G natural against E major"
                saw_g_sharp |= n.pitch % 12 == 8
    assert saw_g_sharp


def test_every_preset_composes_and_loose_names_work():
    for name in PRESETS:
        piece = compose("A minor" if name in ("minor", "andalusian") else "C major", name, seed=0)
        assert check_melody(piece) == [], name
    assert preset_progression("pop I–V–vi–IV") == ["I", "V", "vi", "IV"]
    assert len(preset_progression("blues 12-bar")) == 12
    assert preset_progression("Pachelbel")[:4] == ["I", "V", "vi", "iii"]
    assert compose(progression="I vi IV V", seed=2).meta["progression"][:4] == ["I", "vi", "IV", "V"]


# ---------------------------------------------------------------------------------------
# Harmonisation
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_harmonisation_has_no_voice_leading_errors(seed):
    piece = compose(**setting(seed), harmonize=True)
    assert piece.parts == ["S", "A", "T", "B"]
    assert check_voice_leading(piece) == []
    assert piece.meta["voice_leading_problems"] == []
    assert check_melody(piece) == []
    # at every chord change the alto, tenor and bass sing notes of that chord, the bass its root or 3rd
    for c in piece.meta["chords"]:
        lower = {n.part: n.pitch for n in piece.notes if n.part in "ATB" and n.start == c["start"]}
        assert set(lower) == {"A", "T", "B"}
        assert {p % 12 for p in lower.values()} <= set(c["pitch_classes"])
        assert lower["B"] % 12 in c["pitch_classes"][:2]


@pytest.mark.parametrize("seed", range(20))
def test_chorale_mode_has_no_voice_leading_errors(seed):
    piece = compose(**setting(seed), harmonize="chorale")
    assert piece.parts == ["S", "A", "T", "B"]
    assert check_voice_leading(piece) == []
    soprano = [n for n in piece.notes if n.part == "S"]
    assert soprano[-1].pitch % 12 == parse_key(piece.key)[0]


def test_harmonised_cadence_is_in_root_position():
    for seed in range(10):
        piece = compose(seed=seed, harmonize=True)
        final = [n for n in piece.notes if n.part == "B"][-1]
        before = [n for n in piece.notes if n.part == "B"][-2]
        assert final.pitch % 12 == 0 and before.pitch % 12 == 7


# ---------------------------------------------------------------------------------------
# Seeds and rule switches
# ---------------------------------------------------------------------------------------
def test_same_seed_gives_the_same_notes():
    for harmonize in (False, True, "chorale"):
        a = compose(seed=11, bars=16, harmonize=harmonize)
        b = compose(seed=11, bars=16, harmonize=harmonize)
        assert a.notes == b.notes


def test_different_seeds_give_different_melodies():
    tunes = {tuple(n.pitch for n in melody_notes(compose(seed=s))) for s in range(20)}
    assert len(tunes) == 20
    chorales = {tuple(n.pitch for n in compose(seed=s, harmonize="chorale").notes) for s in range(10)}
    assert len(chorales) >= 5


def strong_chord_tone_fraction(rules, seeds=range(40)):
    hits = total = 0
    for seed in seeds:
        piece = compose(seed=seed, rules=rules)
        for n in melody_notes(piece):
            if is_strong(piece, n.start):
                total += 1
                hits += n.pitch % 12 in chord_at(piece, n.start)["pitch_classes"]
    return hits / total


def test_switching_off_chord_tones_on_strong_beats_lowers_their_share():
    on = strong_chord_tone_fraction(RuleSet())
    off = strong_chord_tone_fraction(RuleSet(chord_tones_on_strong_beats=False, cadence=False))
    assert on == 1.0
    assert off < 0.8


def step_fraction(rules, seeds=range(30)):
    steps = moves = 0
    for seed in seeds:
        pitches = [n.pitch for n in melody_notes(compose(seed=seed, rules=rules))]
        intervals = np.abs(np.diff(pitches))
        steps += int(np.sum((intervals >= 1) & (intervals <= 2)))
        moves += len(intervals)
    return steps / moves


def test_stepwise_weight_makes_steps_more_common():
    assert step_fraction(RuleSet(stepwise_weight=10.0)) > step_fraction(RuleSet(stepwise_weight=1.0)) + 0.1


def test_passing_tones_off_leaves_only_chord_tones():
    for seed in range(20):
        piece = compose(seed=seed, rules=RuleSet(passing_tones=False))
        assert all(n.pitch % 12 in chord_at(piece, n.start)["pitch_classes"] for n in melody_notes(piece))
        assert check_melody(piece) == []


def test_rhythm_variety_zero_repeats_one_bar_rhythm():
    piece = compose(seed=4, bars=8, rules=RuleSet(rhythm_variety=0.0))
    bar = piece.bar_length
    patterns = {tuple(round(n.start - b * bar, 6) for n in melody_notes(piece) if b * bar <= n.start < (b + 1) * bar)
                for b in range(7)}
    assert len(patterns) == 1
    varied = compose(seed=4, bars=8, rules=RuleSet(rhythm_variety=1.0))
    patterns = {tuple(round(n.start - b * bar, 6) for n in melody_notes(varied) if b * bar <= n.start < (b + 1) * bar)
                for b in range(7)}
    assert len(patterns) > 1


def test_cadence_off_no_longer_forces_the_ending():
    endings = [melody_notes(compose(seed=s, rules=RuleSet(cadence=False)))[-1] for s in range(20)]
    assert any(n.duration < 4 for n in endings)
    assert any(n.pitch % 12 != 0 for n in endings)


def test_leap_recovery_and_awkward_leaps_hold_when_on():
    for seed in range(30):
        pitches = [n.pitch for n in melody_notes(compose(seed=seed, bars=16))]
        for a, b, c in zip(pitches, pitches[1:], pitches[2:]):
            if abs(b - a) >= 5:
                assert 1 <= abs(c - b) <= 2 and (c - b) * (b - a) < 0
        assert not set(np.abs(np.diff(pitches))) & {6, 10, 11}


def test_rules_none_draws_freely():
    piece = compose(seed=0, rules=RuleSet.none())
    assert len(melody_notes(piece)) > 8
    key_pcs = set(scale_pitch_classes("C major"))
    outside = [n for s in range(10) for n in melody_notes(compose(seed=s, rules=RuleSet.none()))
               if n.pitch % 12 not in key_pcs]
    assert outside  # chromatic notes appear once stay_in_key is off


# ---------------------------------------------------------------------------------------
# check_melody on hand-written melodies
# ---------------------------------------------------------------------------------------
def test_check_melody_finds_hand_written_mistakes():
    # over I | V | I in C: bar 2 starts on F (not in G B D), bar 1 leaps C4 -> A4 then leaps on
    tune = melody(["C4", "A4", "C5", "E5", "F5", "D5", "B4", "G4", "E4"],
                  [1, 1, 1, 1, 1, 1, 1, 1, 4], key="C major")
    found = check_melody(tune, progression=["I", "V", "I"])
    rules = {(v.rule, v.position) for v in found}
    assert ("chord_tones_on_strong_beats", 4.0) in rules
    assert ("leap_recovery", 2.0) in rules
    assert ("cadence", 8.0) in rules                 # ends on E, not C
    f5 = next(v for v in found if v.rule == "chord_tones_on_strong_beats")
    assert f5.description.startswith("bar 2, beat 1: F5 on a strong beat is not in V")


def test_check_melody_passes_a_good_hand_written_melody():
    tune = melody(["E4", "F4", "G4", "E4", "D4", "F4", "D4", "B3", "C4"],
                  [1, 1, 1, 1, 1, 1, 1, 1, 4], key="C major")
    rules = RuleSet(melody_range=("A3", "C5"))
    assert check_melody(tune, rules, progression=["I", "V7", "I"]) == []


def test_check_melody_follows_the_pickup_and_meter_changes():
    # the good tune above, after a one-beat upbeat G4: chords now change on the bar lines at 1, 5, 9
    good = melody(["G4", "E4", "F4", "G4", "E4", "D4", "F4", "D4", "B3", "C4"],
                  [1, 1, 1, 1, 1, 1, 1, 1, 1, 4], key="C major")
    upbeat = good.with_notes(good.notes, pickup=1.0)
    rules = RuleSet(melody_range=("F3", "C5"))
    assert check_melody(upbeat, rules, progression=["I", "V7", "I"]) == []
    # read from 0 without the pickup, the bars (and so chords and strong beats) are off by one
    assert [str(v) for v in check_melody(good, rules, progression=["I", "V7", "I"])] == [
        "bar 1, beat 3: F4 on a strong beat is not in I (C E G)",
        "bar 2, beat 1: E4 on a strong beat is not in V7 (G B D F)",
        "bar 3, beat 1: B3 on a strong beat is not in I (C E G)"]
    wrong = upbeat.with_notes([n if n.start != 5 else Note(69, 5, 1) for n in upbeat.notes])
    (v,) = [v for v in check_melody(wrong, rules, progression=["I", "V7", "I"])
            if v.rule == "chord_tones_on_strong_beats"]
    assert (v.bar, v.beat) == (2, 1.0) and v.description.startswith("bar 2, beat 1: A4 on a strong beat")
    # a meter the checker does not know, even only after a change, is refused by name
    with pytest.raises(ValueError, match="5/4"):
        check_melody(good.with_notes(good.notes, time_signature_changes=[(4, (5, 4))]), progression=["I"])


def test_check_melody_needs_chords_and_a_melody():
    with pytest.raises(ValueError, match="progression"):
        check_melody(melody(["C4"], key="C major"))
    two_parts = Piece([Note(60, 0, 1, part="x"), Note(48, 0, 1, part="y")], key="C major")
    with pytest.raises(ValueError, match="which part"):
        check_melody(two_parts, progression=["I"])


# ---------------------------------------------------------------------------------------
# Explanations, metadata, presets
# ---------------------------------------------------------------------------------------
def test_explain_gives_one_line_per_melody_note():
    piece = compose(seed=1)
    lines = explain(piece).splitlines()
    assert len(lines) == len(melody_notes(piece))
    assert lines[0].startswith("bar 1, beat 1:") and "chord tone" in lines[0]
    assert "cadence" in lines[-1]
    assert any("passing tone" in line or "neighbour tone" in line for line in lines)
    with pytest.raises(ValueError, match="compose"):
        explain(melody(["C4"]))


@pytest.mark.parametrize("meter", METERS)
def test_explanations_place_notes_in_the_pieces_bars_and_beats(meter):
    from musegen_helpers.theory import describe_position

    piece = compose(meter=meter, seed=3)
    lines = explain(piece).splitlines()
    for line, note in zip(lines, melody_notes(piece)):
        assert line.startswith(describe_position(piece, note.start) + ":"), line


def test_meta_is_json_and_rules_round_trip():
    piece = compose(seed=5, harmonize=True, rules=RuleSet(stepwise_weight=4.0))
    meta = json.loads(json.dumps(piece.meta))
    assert RuleSet.from_dict(meta["rules"]) == RuleSet(stepwise_weight=4.0)
    assert meta["seed"] == 5 and len(meta["chords"]) == 8


def test_accompaniment_adds_block_chords():
    piece = compose(seed=2, accompaniment=True)
    assert set(piece.parts) == {"melody", "chords"}
    first = sorted(n.pitch for n in piece.notes if n.part == "chords" and n.start == 0)
    assert first == [48, 52, 55]


def test_describe_rules_lists_every_rule():
    text = describe_rules(RuleSet(cadence=False))
    for name in RuleSet.__dataclass_fields__:
        assert name in text
    assert "cadence" in text and "False" in text
    assert all(meter in RHYTHMS for meter in METERS)


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(key="H major"), "key"),
    (dict(progression="bossa nova"), "unknown progression"),
    (dict(progression=["I", "X"]), "not a Roman numeral"),
    (dict(progression=[]), "progression"),
    (dict(meter=(5, 4)), "meter"),
    (dict(bars=0), "bars"),
    (dict(bars=1), "cadence"),
    (dict(tempo=0), "tempo"),
    (dict(seed=-1), "seed"),
    (dict(harmonize="yes"), "harmonize"),
    (dict(harmonize=True, accompaniment=True), "accompaniment"),
    (dict(rules="strict"), "RuleSet"),
])
def test_compose_rejects_bad_input_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        compose(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(stepwise_weight=-1), "stepwise_weight"),
    (dict(stepwise_weight=float("nan")), "stepwise_weight"),
    (dict(repeated_note_weight=50), "repeated_note_weight"),
    (dict(rhythm_variety=2), "rhythm_variety"),
    (dict(max_leap=0), "max_leap"),
    (dict(max_leap=7.5), "max_leap"),
    (dict(cadence="yes"), "True/False"),
    (dict(melody_range=(60, 65)), "narrower than an octave"),
    (dict(melody_range=(60,)), "melody_range"),
    (dict(melody_range=(10, 40)), "21–108"),
])
def test_ruleset_rejects_out_of_range_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RuleSet(**kwargs)


def test_unknown_rule_names_are_listed():
    with pytest.raises(ValueError, match="unknown rule"):
        RuleSet().replace(syncopation=True)
    with pytest.raises(ValueError, match="unknown rule"):
        RuleSet.from_dict({"parallel_fifths": False})
    assert RuleSet(melody_range=("C4", "C6")).melody_range == (60, 84)
    assert RuleSet().replace(cadence=False).cadence is False
