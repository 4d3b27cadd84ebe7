"""Metrics on hand-made pieces with known answers, set comparison, copying and the scoreboard."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musegen_helpers import metrics as M
from musegen_helpers.music import Note, Piece, melody
from musegen_helpers.representation import HOLD, REST, melody_to_tokens

C_MAJOR = [60, 62, 64, 65, 67, 69, 71]


def chord_piece(*chords, duration=2.0, **kwargs):
    """Block chords one after another; voice i of every chord is part 'v{i}' (top voice first)."""
    notes, t = [], 0.0
    for pitches in chords:
        for i, p in enumerate(sorted(pitches, reverse=True)):
            notes.append(Note(p, t, duration, part=f"v{i}"))
        t += duration
    return Piece(notes, **kwargs)


def random_melody(rng, n_notes=24, pitches=C_MAJOR, durations=(0.5, 1.0), key="C major"):
    return melody(list(rng.choice(pitches, n_notes)), list(rng.choice(durations, n_notes)), key=key)


# ---- pitch ------------------------------------------------------------------------------
def test_scale_of_seven_equal_notes_has_log2_7_bits_of_pitch_class_entropy():
    scale = melody(C_MAJOR, 1.0, key="C major")
    assert M.n_pitch_classes_used(scale) == 7
    assert M.n_pitches_used(scale) == 7
    assert M.pitch_range(scale) == 11
    assert M.pitch_class_entropy(scale) == pytest.approx(math.log2(7))
    assert M.in_key_ratio(scale) == 1.0
    assert M.scale_consistency(scale) == 1.0


def test_chromatic_scale_fits_a_key_only_seven_times_in_twelve():
    chromatic = melody(list(range(60, 72)), 0.5)
    assert M.pitch_class_entropy(chromatic) == pytest.approx(math.log2(12))
    assert M.scale_consistency(chromatic) == pytest.approx(7 / 12)
    assert M.in_key_ratio(chromatic, "C major") == pytest.approx(7 / 12)


def test_octaves_are_one_pitch_class_but_two_pitches():
    octave = melody([60, 72, 60, 72], 1.0)
    assert M.n_pitches_used(octave) == 2
    assert M.n_pitch_classes_used(octave) == 1
    assert M.pitch_range(octave) == 12
    entropy = M.pitch_class_entropy(octave)
    assert entropy == 0.0 and math.copysign(1.0, entropy) == 1.0  # not -0.0


def test_in_key_ratio_of_c_major_scale_in_f_sharp_major_counts_only_f_and_b():
    assert M.in_key_ratio(melody(C_MAJOR, 1.0), "F# major") == pytest.approx(2 / 7)


def test_minor_key_counts_the_leading_tone_as_in_key_unless_told_not_to():
    harmonic_minor = melody([57, 59, 60, 62, 64, 65, 68, 69], 1.0, key="A minor")  # G# is the leading tone
    assert M.in_key_ratio(harmonic_minor) == 1.0
    assert M.in_key_ratio(harmonic_minor, leading_tone=False) == pytest.approx(7 / 8)
    assert M.in_key_ratio(harmonic_minor, "A harmonic minor") == 1.0


def test_in_key_ratio_without_a_key_says_how_to_give_one():
    with pytest.raises(ValueError, match="no key"):
        M.in_key_ratio(melody([60, 62], 1.0))


def test_drum_notes_are_left_out_of_pitch_metrics():
    notes = [Note(60, 0, 1), Note(64, 1, 1), Note(36, 0, 1, is_drum=True), Note(42, 1, 1, is_drum=True)]
    piece = Piece(notes)
    assert M.pitch_range(piece) == 4
    assert M.n_pitches_used(piece) == 2
    assert M.pitch_class_histogram(piece).sum() == pytest.approx(1.0)
    assert M.pitch_class_histogram(piece)[0] == pytest.approx(0.5)


def test_pitch_class_histogram_by_duration_weights_long_notes():
    piece = melody([60, 62], [3.0, 1.0])
    assert M.pitch_class_histogram(piece)[[0, 2]].tolist() == [0.5, 0.5]
    assert M.pitch_class_histogram(piece, weight="duration")[[0, 2]].tolist() == [0.75, 0.25]
    assert M.pitch_class_histogram(piece, normalize=False).sum() == 2


def test_a_piece_without_notes_has_no_entropy_rather_than_a_made_up_one():
    empty = Piece([])
    assert M.pitch_range(empty) == 0
    for fn in (M.pitch_class_entropy, M.scale_consistency, M.polyphony, M.empty_beat_rate, M.duration_entropy,
               M.on_beat_ratio, M.syncopation, M.repetition_rate):
        assert math.isnan(fn(empty)), fn.__name__
    assert np.isnan(M.pitch_class_histogram(empty)).all()


def test_mean_interval_follows_each_part_and_its_top_note():
    assert M.mean_interval(melody([60, 62, 67, 60], 1.0)) == pytest.approx((2 + 5 + 7) / 3)
    two_parts = Piece([Note(72, 0, 1, part="S"), Note(74, 1, 1, part="S"),
                       Note(48, 0, 1, part="B"), Note(43, 1, 1, part="B")])
    assert M.mean_interval(two_parts) == pytest.approx((2 + 5) / 2)
    assert math.isnan(M.mean_interval(melody([60], 1.0)))


# ---- diversity -------------------------------------------------------------------------
def test_distinct_notes_per_bar_averages_the_bars_that_have_notes():
    piece = melody([60, 62, 64, 65, 60, 60, 60, 60, None, None, None, None], 1.0)
    assert M.distinct_notes(piece) == 4
    assert M.distinct_notes(piece, per="bar") == pytest.approx((4 + 1) / 2)


def test_a_pickup_is_its_own_bar():
    piece = melody([67, 60, 62, 64, 65], 1.0)
    piece = piece.with_notes(piece.notes, pickup=1.0)  # G4 leads into bar 1, which holds C D E F
    assert M.distinct_notes(piece, per="bar") == pytest.approx((1 + 4) / 2)
    with pytest.raises(ValueError, match="per must be"):
        M.distinct_notes(piece, per="beat")


def test_distinct_chords_reads_pitch_class_sets_in_any_voicing():
    i, iv, i_open = (48, 64, 67, 72), (53, 65, 69, 72), (36, 55, 64, 76)
    piece = chord_piece(i, iv, i_open, iv)
    assert [sorted(c) for _, c in M.chords(piece)] == [[0, 4, 7], [0, 5, 9], [0, 4, 7], [0, 5, 9]]
    assert M.distinct_chords(piece) == 2
    assert M.distinct_chords(piece, per="bar") == pytest.approx(2.0)  # each 4/4 bar holds I and IV
    assert M.chords(melody(C_MAJOR, 1.0)) == []
    assert M.distinct_chords(melody(C_MAJOR, 1.0)) == 0
    assert math.isnan(M.distinct_chords(melody(C_MAJOR, 1.0), per="bar"))


def test_chords_see_a_held_note_under_moving_voices():
    piece = Piece([Note(48, 0, 4), Note(64, 0, 2), Note(65, 2, 2)])
    assert [(t, sorted(c)) for t, c in M.chords(piece)] == [(0.0, [0, 4]), (2.0, [0, 5])]


def test_distinct_n_pools_ngrams_over_a_set_of_sequences():
    assert M.distinct_n([1, 2, 1, 2, 1, 2], 2) == pytest.approx(2 / 5)
    assert M.distinct_n([1, 2, 1, 2, 1, 2], 1) == pytest.approx(2 / 6)
    assert M.distinct_n([np.array([1, 2, 3]), np.array([1, 2, 3])], 3) == pytest.approx(1 / 2)
    assert M.distinct_n([np.array([1, 2, 3]), np.array([3, 2, 1])], 3) == 1.0
    assert math.isnan(M.distinct_n([1, 2], 3))
    with pytest.raises(ValueError, match="n must be"):
        M.distinct_n([1, 2, 3], 0)


def test_repetition_rate_counts_bars_that_repeat_an_earlier_bar():
    bar_a, bar_b = [60, 62, 64, 65], [67, 65, 64, 62]
    assert M.repetition_rate(melody(bar_a * 4, 1.0)) == pytest.approx(3 / 4)
    assert M.repetition_rate(melody(bar_a * 2 + bar_b * 2, 1.0)) == pytest.approx(2 / 4)
    assert M.repetition_rate(melody(bar_a + bar_b, 1.0)) == 0.0
    # same pitches, other rhythm: not a repeat
    assert M.repetition_rate(melody(bar_a + bar_a, [1, 1, 1, 1, 0.5, 0.5, 1, 2])) == 0.0


def test_repetition_rate_of_a_loop_approaches_1_even_when_the_loop_is_not_a_bar_long():
    # "an LSTM stuck in a loop approaches 1": a 3-beat loop in 4/4 lines up with the bar lines again
    # every 3 bars, so from bar 4 on every bar repeats an earlier one
    loop = [60, 64, 67]
    for bars in (6, 12, 24):
        rate = M.repetition_rate(melody(loop * (4 * bars // 3), 1.0))
        assert rate == pytest.approx((bars - 3) / bars)
    # a tune whose bars are all different (the greedy LSTM's first 8 bars in lesson 05 are like this) scores 0
    assert M.repetition_rate(melody(list(range(60, 92)), 1.0)) == 0.0


# ---- harmony ---------------------------------------------------------------------------
def test_consonance_of_triads_fourths_and_clusters():
    assert M.consonance_ratio(chord_piece((60, 64, 67))) == 1.0
    assert M.consonance_ratio(chord_piece((60, 65))) == 0.0           # a fourth above the bass
    assert M.consonance_ratio(chord_piece((48, 67, 72))) == 1.0       # G4–C5 is a fourth between upper voices
    assert M.consonance_ratio(chord_piece((60, 62, 64))) == pytest.approx(1 / 3)  # M2, M2, M3
    assert math.isnan(M.consonance_ratio(melody(C_MAJOR, 1.0)))


def test_consonance_counts_each_pair_of_notes_once():
    # held C3 under E4 then F4: pairs C–E (consonant) and C–F (fourth above the bass: dissonant)
    piece = Piece([Note(48, 0, 4), Note(64, 0, 2), Note(65, 2, 2)])
    assert M.consonance_ratio(piece) == pytest.approx(1 / 2)


def test_voice_leading_violations_finds_parallel_fifths():
    parallel = chord_piece((48, 55, 64, 72), (53, 60, 65, 69))  # C3–G3 to F3–C4 in the lower voices
    found = M.voice_leading_violations(parallel, ["parallel_fifths"])
    assert [v.rule for v in found] == ["parallel_fifths"]
    assert M.voice_leading_violations_per_bar(parallel, ["parallel_fifths"]) == 1.0
    contrary = chord_piece((48, 55, 64, 72), (53, 57, 65, 72))
    assert M.voice_leading_violations(contrary, ["parallel_fifths", "parallel_octaves"]) == []


def test_polyphony_counts_pitches_per_sounding_step():
    assert M.polyphony(melody(C_MAJOR, 1.0)) == 1.0
    assert M.polyphony(chord_piece((60, 64, 67))) == 3.0
    unison = Piece([Note(60, 0, 1, part="S"), Note(60, 0, 1, part="A")])
    assert M.polyphony(unison) == 1.0  # one pitch on, however many parts play it
    overlap = Piece([Note(60, 0, 2), Note(64, 1, 2)])  # one, two, then one pitch for a beat each
    assert M.polyphony(overlap) == pytest.approx(4 / 3)
    assert M.polyphony(melody([60, None, 62], 1.0)) == 1.0  # silent steps are not counted


def test_scale_consistency_prefers_the_best_key():
    # G A B C D and C#: G major holds five (not C#), D major five (not C); no key holds all six
    piece = melody([67, 69, 71, 72, 74, 61], 1.0)
    assert M.scale_consistency(piece) == pytest.approx(5 / 6)
    assert M.scale_consistency(melody([67, 69, 71, 73, 74, 61], 1.0)) == 1.0  # C -> C#: D major
    piece = melody([60, 61, 62, 63, 64, 65], 1.0)
    assert M.scale_consistency(piece) == pytest.approx(4 / 6)


# ---- rhythm ----------------------------------------------------------------------------
def test_duration_histogram_names_classes_and_snaps_on_a_log_scale():
    names = [name for _, name in M.DURATION_CLASSES]
    quarters = M.duration_histogram(melody(C_MAJOR, 1.0))
    assert quarters[names.index("quarter")] == 1.0 and quarters.sum() == 1.0
    assert M.duration_entropy(melody(C_MAJOR, 1.0)) == 0.0
    mixed = M.duration_histogram(melody([60, 62, 64, 65], [2.0, 1.0, 1.0, 0.3]), normalize=False)
    assert mixed[names.index("half")] == 1 and mixed[names.index("quarter")] == 2
    assert mixed[names.index("8th triplet")] == 1
    assert M.duration_histogram(melody([60], [5.0]))[names.index("whole")] == 1.0
    assert M.duration_entropy(melody([60, 62, 64, 65], [2.0, 1.0, 1.0, 2.0])) == pytest.approx(1.0)


def test_empty_beat_rate_matches_muspy_by_default_and_can_count_exactly():
    rest_of_two_beats = melody([60, None, None, 62], 1.0)
    # MusPy counts the beat where a note ends (beat 1 here) and one beat past the end: 1 of 5 empty
    assert M.empty_beat_rate(rest_of_two_beats) == pytest.approx(1 / 5)
    assert M.empty_beat_rate(rest_of_two_beats, muspy_compatible=False) == pytest.approx(2 / 4)
    one_beat_rest = melody([60, 62, None, 64], 1.0)
    assert M.empty_beat_rate(one_beat_rest) == 0.0  # MusPy does not see a one-beat rest after a note
    assert M.empty_beat_rate(one_beat_rest, muspy_compatible=False) == pytest.approx(1 / 4)
    assert M.empty_beat_rate(melody(C_MAJOR, 1.0), muspy_compatible=False) == 0.0


def test_groove_consistency_of_a_steady_rhythm_and_of_changing_bars():
    steady = melody([60] * 16, 1.0)
    assert M.groove_consistency(steady, muspy_compatible=False) == 1.0
    # MusPy's count adds an empty bar after the end: 4 onsets differ out of 4 * 96 steps
    assert M.groove_consistency(steady) == pytest.approx(1 - 4 / (4 * 96))
    # bar 1 quarters, bar 2 halves: onsets differ at beats 2 and 4 -> 2 of 96 steps
    changing = melody([60] * 4 + [62] * 2, [1, 1, 1, 1, 2, 2])
    assert M.groove_consistency(changing, muspy_compatible=False) == pytest.approx(1 - 2 / 96)
    assert math.isnan(M.groove_consistency(melody([60, 62], 1.0), muspy_compatible=False))
    with pytest.raises(ValueError, match="resolution"):
        M.groove_consistency(steady, resolution=0)


def test_groove_consistency_can_start_bars_after_a_pickup():
    tune = melody([55] + [60, 62, 64, 65] * 2, 1.0)
    tune = tune.with_notes(tune.notes, pickup=1.0)
    # bars: pickup (onset on beat 4), then two bars of quarters
    strict = M.groove_consistency(tune, muspy_compatible=False)
    assert strict == pytest.approx(1 - (3 / 96) / 2)


def test_on_beat_and_syncopation_of_eighth_quarter_eighth():
    figure = melody([60, 62, 64, 65], [0.5, 1.0, 0.5, 2.0])
    # onsets 0 (on), 0.5 (off, held over beat 1: syncopated), 1.5 (off, ends on beat 2: not), 2 (on)
    assert M.on_beat_ratio(figure) == pytest.approx(2 / 4)
    assert M.syncopation(figure) == pytest.approx(1 / 4)
    assert M.syncopation(melody(C_MAJOR, 1.0)) == 0.0


def test_beats_follow_the_meter_and_the_pickup():
    six_eight = melody([60, 62, 64, 65, 67, 69], 0.5, time_signature=(6, 8))  # beat = dotted quarter
    assert M.on_beat_ratio(six_eight) == pytest.approx(2 / 6)  # eighths 1 and 4 of the bar
    three_four = melody([60, 62, 64, 65, 67, 69], 0.5, time_signature=(3, 4))  # beat = quarter
    assert M.on_beat_ratio(three_four) == pytest.approx(3 / 6)
    pickup = melody([55, 60, 62], [0.5, 1.0, 1.0])
    assert M.on_beat_ratio(pickup) == pytest.approx(1 / 3)
    pickup = pickup.with_notes(pickup.notes, pickup=0.5)  # an eighth-note pickup: bar 1 starts at 0.5
    assert M.on_beat_ratio(pickup) == pytest.approx(2 / 3)


@pytest.mark.parametrize("meter, durations, on_beat", [
    # 3/8: every eighth is a beat; the 16th between is not
    ((3, 8), [0.5, 0.25, 0.25, 0.5, 0.5], 4 / 5),
    # 6/8: dotted-quarter beats at 0 and 1.5; eighths 2, 3, 5, 6 are off the beat
    ((6, 8), [0.5] * 6, 2 / 6),
    # 5/16: every 16th is a beat; a 32nd between is not
    ((5, 16), [0.25, 0.125, 0.125, 0.25, 0.25], 4 / 5),
    # 12/16: dotted-eighth beats at 0, 0.75, 1.5, 2.25
    ((12, 16), [0.25] * 12, 4 / 12),
])
def test_beats_of_eighth_and_sixteenth_meters_are_the_felt_beats(meter, durations, on_beat):
    tune = melody([60] * len(durations), durations, time_signature=meter)
    assert M.on_beat_ratio(tune) == pytest.approx(on_beat)


_BAR_METERS = [(3, 8), (6, 8), (5, 16), (12, 16), (4, 4), (3, 4), (2, 2), (7, 8), (6, 4)]


@st.composite
def metered_tunes(draw):
    """A tune on a 32nd-note grid in a meter of _BAR_METERS, maybe with a pickup and a meter change
    (at a bar line or cutting a bar short)."""
    from musegen_helpers.music import bar_length_of

    meter = draw(st.sampled_from(_BAR_METERS))
    grid = 0.125
    steps_per_bar = round(bar_length_of(meter) / grid)
    pickup = draw(st.integers(0, steps_per_bar - 1)) * grid
    changes = []
    if draw(st.booleans()):
        changes = [(draw(st.integers(1, 40)) * grid + pickup, draw(st.sampled_from(_BAR_METERS)))]
    notes, t = [], 0.0
    for _ in range(draw(st.integers(1, 30))):
        t += draw(st.integers(0, 3)) * grid
        duration = draw(st.integers(1, 12)) * grid
        notes.append(Note(draw(st.integers(55, 79)), t, duration))
        t += duration
    return Piece(notes, time_signature=meter, pickup=pickup, time_signature_changes=changes)


@settings(max_examples=150, deadline=None)
@given(metered_tunes())
def test_rhythm_and_bar_metrics_agree_with_piece_bar_and_beat(tune):
    """on_beat_ratio, syncopation and the per-bar metrics count bars and beats as Piece does."""
    from musegen_helpers.music import beat_length

    onsets = sorted({n.start for n in tune.notes})
    ends = {t: max(n.end for n in tune.notes if n.start == t) for t in onsets}
    beats = {t: tune.bar_and_beat(t)[1] for t in onsets}
    on = [t for t in onsets if abs(beats[t] - round(beats[t])) < 1e-6]
    assert M.on_beat_ratio(tune) == pytest.approx(len(on) / len(onsets))
    syncopated = 0
    for t in onsets:
        if t in on:
            continue
        next_beat = t + (math.ceil(beats[t]) - beats[t]) * beat_length(tune.time_signature_at(t))
        syncopated += ends[t] > min(next_beat, tune.bar_at(t).end) + 1e-9
    assert M.syncopation(tune) == pytest.approx(syncopated / len(onsets))
    per_bar: dict[int, set] = {}
    for n in tune.notes:
        per_bar.setdefault(tune.bar_at(n.start).number, set()).add(n.pitch)
    assert M.distinct_notes(tune, per="bar") == pytest.approx(np.mean([len(v) for v in per_bar.values()]))


def test_metrics_follow_a_meter_change():
    # 4/4 for one bar, then 3/4: bar 2 starts at 4, bar 3 at 7. The notes at 4 and 7 open bars
    # (on the beat); held from 6.5 over the bar line at 7, the 8th-note onset syncopates.
    tune = Piece([Note(60, 0, 4), Note(62, 4, 2.5), Note(64, 6.5, 1.0), Note(65, 7.5, 0.5), Note(60, 8, 2)],
                 time_signature_changes=[(4, (3, 4))])
    assert M.on_beat_ratio(tune) == pytest.approx(3 / 5)
    assert M.syncopation(tune) == pytest.approx(1 / 5)
    assert M.distinct_notes(tune, per="bar") == pytest.approx((1 + 2 + 2) / 3)  # C | D E | F C
    # in the tune's own bars, 4 steps per quarter, rows padded to the 16 steps of 4/4:
    # onsets at steps {0} | {0, 10} | {2, 4} -> bars 1-2 differ at 1 step, bars 2-3 at 4
    strict = M.groove_consistency(tune, resolution=4, muspy_compatible=False)
    assert strict == pytest.approx(1 - (1 + 4) / (16 * 2))
    with pytest.raises(ValueError, match="measure_resolution"):
        M.groove_consistency(tune, measure_resolution=16, muspy_compatible=False)


def test_mean_ioi_is_the_average_gap_between_onsets():
    assert M.mean_ioi(melody([60] * 5, 0.5)) == pytest.approx(0.5)
    assert M.mean_ioi(chord_piece((60, 64), (62, 65), duration=1.0)) == pytest.approx(1.0)


def test_describe_gives_every_scalar_feature():
    values = M.describe(melody(C_MAJOR, 1.0, key="C major"))
    assert values["n_pitch_classes_used"] == 7 and values["in_key_ratio"] == 1.0
    assert "pitch_class_histogram" not in values
    assert all(isinstance(v, float) for v in values.values())


def test_metrics_accept_event_tokens():
    tokens = np.array([60, HOLD, HOLD, HOLD, 64, HOLD, REST, HOLD, 67, HOLD, HOLD, HOLD])
    assert M.n_pitches_used(tokens) == 3
    assert M.pitch_range(tokens) == 7


# ---- table -------------------------------------------------------------------------------
def test_table_prints_rows_and_gives_columns():
    t = M.Table([{"system": "LSTM", "score": 0.5}, {"system": "GAN", "score": math.nan}], title="demo")
    text = repr(t)
    assert "demo" in text and "LSTM" in text and "0.5" in text and "–" in text
    assert t["score"][0] == 0.5 and t.row("GAN")["system"] == "GAN" and len(t) == 2
    assert "<table>" in t._repr_html_()
    with pytest.raises(KeyError, match="columns"):
        t["nope"]


# ---- set against set -------------------------------------------------------------------
@pytest.fixture(scope="module")
def diatonic_set():
    rng = np.random.default_rng(1)
    return [random_melody(rng) for _ in range(30)]


@pytest.fixture(scope="module")
def chromatic_set():
    rng = np.random.default_rng(2)
    return [random_melody(rng, pitches=list(range(48, 84)), durations=(0.25, 0.75, 1.5)) for _ in range(30)]


def test_a_set_compared_with_itself_overlaps_fully(diatonic_set):
    result = M.compare_sets(diatonic_set, diatonic_set, ["pitch_class_entropy", "pitch_class_histogram",
                                                         "pitch_range"])
    for row in result:
        assert row["overlap"] > 0.9, row
        assert row["kl"] < 0.05, row


def test_different_sets_overlap_less_than_a_set_with_itself(diatonic_set, chromatic_set):
    features = ["pitch_class_entropy", "pitch_class_histogram", "pitch_range", "duration_histogram"]
    same = M.compare_sets(diatonic_set[:15], diatonic_set[15:], features)
    other = M.compare_sets(chromatic_set, diatonic_set, features)
    for name in features:
        assert other.row(name)["overlap"] < same.row(name)["overlap"] - 0.2, name
        assert other.row(name)["kl"] > same.row(name)["kl"], name
    assert same.row("pitch_range")["real_mean"] == pytest.approx(
        np.mean([M.pitch_range(p) for p in diatonic_set[15:]]))


def test_set_comparison_survives_features_that_never_vary():
    same_tune = [melody(C_MAJOR, 1.0)] * 5
    result = M.compare_sets(same_tune, same_tune, ["n_pitch_classes_used", "duration_histogram"])
    for row in result:
        assert row["overlap"] == pytest.approx(1.0, abs=1e-3)
        assert row["kl"] == pytest.approx(0.0, abs=1e-6)


def test_compare_sets_rejects_too_few_pieces_and_unknown_features(diatonic_set):
    with pytest.raises(ValueError, match="at least 2 real"):
        M.compare_sets(diatonic_set, diatonic_set[:1])
    with pytest.raises(ValueError, match="unknown feature"):
        M.compare_sets(diatonic_set, diatonic_set, ["loudness"])


def test_compare_sets_takes_custom_feature_functions(diatonic_set):
    def notes_per_bar(piece):
        return len(piece) / piece.n_bars

    result = M.compare_sets(diatonic_set, diatonic_set, [notes_per_bar])
    assert result[0]["feature"] == "notes_per_bar"


def test_plot_set_comparison_draws_one_panel_per_feature(diatonic_set, chromatic_set):
    import matplotlib.pyplot as plt

    result = M.compare_sets(chromatic_set, diatonic_set, ["pitch_range", "pitch_class_entropy"])
    fig, axes = M.plot_set_comparison(result)
    assert len([a for a in axes if a.get_visible()]) == 2
    assert "OA=" in axes[0].get_title()
    fig2, ax = plt.subplots()
    fig3, ax3 = M.plot_set_comparison(result, ax, features=["pitch_range"])
    assert fig3 is fig2 and ax3 is ax
    plt.close("all")


# ---- copying ---------------------------------------------------------------------------
def test_longest_shared_run_finds_a_copied_passage_and_its_source():
    rng = np.random.default_rng(5)
    training = [rng.integers(0, 128, 120) for _ in range(40)]
    generated = np.concatenate([rng.integers(0, 128, 30), training[17][50:75], rng.integers(0, 128, 30)])
    run = M.longest_shared_run(generated, training)
    assert run.length >= 25
    assert run.training_index == 17
    assert np.array_equal(training[17][run.training_start:run.training_start + run.length],
                          generated[run.generated_start:run.generated_start + run.length])
    assert list(run.tokens) == generated[run.generated_start:run.generated_start + run.length].tolist()


def test_longest_shared_run_of_unrelated_tokens_is_empty():
    run = M.longest_shared_run(np.array([1, 2, 3]), [np.array([4, 5, 6])])
    assert run == M.SharedRun(0, None, None, None, ())


def test_longest_shared_run_takes_pieces():
    tune = melody(C_MAJOR, 1.0)
    run = M.longest_shared_run(tune.slice(2, 6), [melody([72, 74], 1.0), tune])
    assert run.training_index == 1
    assert run.length == 16  # four quarter notes on the 16th grid (E F G A)


def _longest_shared_by_brute_force(generated, training):
    best = 0
    for t in training:
        for i in range(len(generated)):
            for j in range(len(t)):
                k = 0
                while i + k < len(generated) and j + k < len(t) and generated[i + k] == t[j + k]:
                    k += 1
                best = max(best, k)
    return best


def test_longest_shared_run_agrees_with_brute_force_and_never_spans_two_training_tunes():
    assert M.longest_shared_run([1, 2, 3, 4], [[9, 1, 2], [3, 4, 9], [2, 3]]).length == 2  # never "1 2 3 4"
    rng = np.random.default_rng(11)
    for _ in range(30):
        training = [rng.integers(0, 4, rng.integers(0, 15)) for _ in range(rng.integers(1, 5))]
        generated = rng.integers(0, 4, rng.integers(1, 15))
        run = M.longest_shared_run(generated, training)
        assert run.length == _longest_shared_by_brute_force(generated.tolist(), [t.tolist() for t in training])
        if run.length:
            source = training[run.training_index]
            assert source[run.training_start:run.training_start + run.length].tolist() == list(run.tokens)
            assert generated[run.generated_start:run.generated_start + run.length].tolist() == list(run.tokens)


def test_longest_shared_run_works_on_any_whole_number_tokens():
    # lesson 02 copies whole notes numbered in its own vocabulary, with -1 for a note never seen
    note_tunes = [np.array([0, 5, 3, 900, 2]), np.array([7, 7, 1])]
    run = M.longest_shared_run(np.array([-1, 5, 3, 900, -1]), note_tunes)
    assert (run.length, run.training_index, run.training_start, run.generated_start) == (3, 0, 1, 1)
    assert run.tokens == (5, 3, 900)


def test_copy_rate_matches_counting_ngrams_by_hand():
    rng = np.random.default_rng(7)
    training = [rng.integers(0, 6, 60) for _ in range(10)]
    generated = [rng.integers(0, 6, 40) for _ in range(5)]
    n = 3
    known = {tuple(t[i:i + n]) for t in training for i in range(len(t) - n + 1)}
    grams = [tuple(g[i:i + n]) for g in generated for i in range(len(g) - n + 1)]
    assert M.copy_rate(generated, training, n=n) == pytest.approx(sum(g in known for g in grams) / len(grams))


def test_copy_rate_of_a_training_tune_is_one_and_of_new_material_zero():
    training = [np.arange(50) % 20, np.arange(50) % 7]
    assert M.copy_rate(training[0], training, n=8) == 1.0
    assert M.copy_rate(np.arange(100, 140), training, n=8) == 0.0
    # n-grams never span two training tunes
    assert M.copy_rate(np.array([19, 0, 1]), [np.array([5, 19]), np.array([0, 1, 2])], n=3) == 0.0
    assert math.isnan(M.copy_rate(np.array([1, 2]), training, n=8))


# ---- scoreboard -------------------------------------------------------------------------
def test_scoreboard_has_the_reference_and_one_row_per_system(diatonic_set, chromatic_set):
    import matplotlib.pyplot as plt

    features = ["pitch_range", "pitch_class_entropy", "pitch_class_histogram"]
    training = [melody_to_tokens(p) for p in diatonic_set[:10]]
    board = M.scoreboard({"copycat": diatonic_set[:10], "chromatic": chromatic_set[:10]}, diatonic_set[10:],
                         features, training=training, n=16)
    assert board["system"] == ["reference (real)", "copycat", "chromatic"]
    assert board.row("copycat")["copy_rate"] == 1.0
    assert board.row("chromatic")["copy_rate"] < 0.1
    assert board.row("copycat")["mean_overlap"] > board.row("chromatic")["mean_overlap"]
    assert "pitch_class_histogram" not in board.columns  # histograms appear as overlap only
    fig, ax = M.plot_scoreboard(board)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["copycat", "chromatic"]
    plt.close("all")


def test_binned_density_equals_scipy_gaussian_kde():
    from scipy.stats import gaussian_kde

    rng = np.random.default_rng(3)
    for values in (rng.normal(3, 1, 50), np.abs(rng.normal(0, 2, 2000)), rng.integers(0, 5, 300).astype(float)):
        grid = np.linspace(values.min() - 3, values.max() + 3, 1000)
        ours = M._density(values, grid, M._bandwidth(values, 1e-3))
        reference = gaussian_kde(values)(grid)
        assert np.abs(ours - reference).max() < 1e-3 * reference.max()


# ---- bars: MuseGAN's metrics, and variety across a set of pieces ---------------------------------
def _chord(pitches, start, duration):
    return [Note(p, start, duration) for p in pitches]


def test_used_pitch_classes_counts_each_bar_and_skips_silent_ones():
    # bar 1: C major triad with an octave (3 classes); bar 2 silent; bar 3: D alone (1 class)
    piece = Piece(_chord([60, 64, 67, 72], 0, 4) + [Note(62, 8, 1)])
    assert M.used_pitch_classes(piece) == pytest.approx((3 + 1) / 2)
    # a note held over the bar line sounds in both bars
    tied = Piece([Note(60, 2, 4), Note(64, 0, 1), Note(67, 5, 1)])
    assert M.used_pitch_classes(tied) == pytest.approx((2 + 2) / 2)
    # bars are the piece's own: a one-beat pickup is a bar of its own
    assert M.used_pitch_classes(Piece([Note(62, 0, 1), Note(60, 1, 4)], pickup=1.0)) == 1.0
    assert math.isnan(M.used_pitch_classes(Piece([])))


def test_qualified_note_rate_counts_notes_of_three_sixteenths_or_more():
    piece = Piece([Note(60, 0, 0.5), Note(60, 1, 0.5), Note(64, 2, 0.75), Note(67, 3, 4)])
    assert M.qualified_note_rate(piece) == pytest.approx(2 / 4)
    assert M.qualified_note_rate(piece, min_duration=0.5) == 1.0
    assert M.qualified_note_rate(piece, min_duration=1.0) == pytest.approx(1 / 4)
    assert math.isnan(M.qualified_note_rate(Piece([])))


def test_empty_bar_rate_needs_until_for_trailing_silence():
    piece = Piece([Note(60, 0, 4), Note(62, 8, 4)])     # bars 1 and 3 sound, bar 2 is silent
    assert M.empty_bar_rate(piece) == pytest.approx(1 / 3)
    assert M.empty_bar_rate(piece, until=20.0) == pytest.approx(3 / 5)   # two silent bars at the end
    assert M.empty_bar_rate(Piece([Note(60, 2, 4)])) == 0.0            # held over the bar line
    assert M.empty_bar_rate(Piece([]), until=8.0) == 1.0
    waltz = Piece([Note(60, 0, 3), Note(60, 6, 3)], time_signature=(3, 4))
    assert M.empty_bar_rate(waltz) == pytest.approx(1 / 3)             # bars of 3 quarter notes


def test_unique_fraction_and_diversity_tell_copies_from_varied_pieces():
    a, b = Piece(_chord([60, 64, 67], 0, 4)), Piece([Note(62, 0, 2)])
    empty = Piece([])
    assert M.unique_fraction([a, a, b, empty]) == 0.75
    assert M.unique_fraction([a] * 10) == pytest.approx(0.1)
    assert M.unique_fraction([a, a.transpose(0).with_notes(a.notes, tempo=60)]) == 0.5  # tempo is not a note
    assert math.isnan(M.unique_fraction([]))
    # one extra sixteenth in each copy (3 x 16 + 1 cells): every piece "unique", yet a pair shares 48 of 50
    nudged = [a.with_notes(a.notes + [Note(84, k / 4, 0.25)]) for k in range(8)]
    assert M.unique_fraction(nudged) == 1.0
    assert M.diversity(nudged) == pytest.approx(2 / 50)
    disjoint = [Piece([Note(40 + k, 0, 4)]) for k in range(8)]
    assert M.diversity(disjoint) == 1.0
    assert M.diversity([empty, empty]) == 0.0
    # the grid: at 4 steps per quarter a 32nd note still fills a cell; the ratio holds at 24
    assert M.diversity(nudged, resolution=24) == pytest.approx(2 / 50)
    with pytest.raises(ValueError, match="at least two"):
        M.diversity([a])
