"""Piano-roll pictures and histograms (musegen_helpers.plots)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from musegen_helpers.music import Note, Piece, melody  # noqa: E402
from musegen_helpers.plots import (  # noqa: E402
    PART_COLOURS, plot_duration_histogram, plot_piano_roll, plot_pitch_histogram,
)
from musegen_helpers.representation import piano_roll  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _rectangles(ax):
    """(x, width, y, height) of every note bar drawn with broken_barh."""
    rects = []
    for collection in ax.collections:
        for path in collection.get_paths():
            (x0, y0), (x1, y1) = path.vertices.min(axis=0), path.vertices.max(axis=0)
            rects.append((x0, x1 - x0, y0, y1 - y0))
    return sorted(rects)


def test_piano_roll_draws_one_rectangle_per_note(c_major_scale):
    fig, ax = plot_piano_roll(c_major_scale)
    rects = _rectangles(ax)
    assert len(rects) == 8
    # each bar starts at the note's onset and sits on its pitch's row
    for (x, width, y, height), n in zip(rects, c_major_scale.notes):
        assert x == pytest.approx(n.start) and 0.9 * n.duration <= width <= n.duration
        assert y < n.pitch < y + height
    assert ax.get_xlabel() == "time (quarter notes)"


def test_piano_roll_of_chorale_has_a_bar_per_note_and_a_legend(chorale):
    fig, ax = plot_piano_roll(chorale)
    assert len(_rectangles(ax)) == len(chorale.notes)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Soprano", "Alto", "Tenor", "Bass"]
    colours = {tuple(np.round(c.get_facecolor()[0][:3], 3)) for c in ax.collections}
    assert len(colours) == 4  # one colour per part


def test_piano_roll_uses_the_given_axes(c_major_scale):
    fig, axes = plt.subplots(2, 1)
    out_fig, out_ax = plot_piano_roll(c_major_scale, ax=axes[1])
    assert out_fig is fig and out_ax is axes[1]
    assert len(axes[0].collections) == 0 and len(_rectangles(axes[1])) == 8
    assert len(plt.get_fignums()) == 1  # no extra figure was created


def test_piano_roll_labels_pitches_with_note_names(c_major_scale):
    fig, ax = plot_piano_roll(c_major_scale)
    labels = dict(zip(ax.get_yticks(), [t.get_text() for t in ax.get_yticklabels()]))
    assert labels[60] == "C4" and labels[64] == "E4" and labels[72] == "C5" and labels[70] == "Bb4"
    # a wide range (E1..Ab6 here) thins out to the Cs and Gs, every C kept
    fig, ax = plot_piano_roll(melody([30, 90]))
    shown = [t.get_text() for t in ax.get_yticklabels()]
    assert {"C2", "C3", "C4", "C5", "C6"} <= set(shown) and all(name[0] in "CG" for name in shown)


def test_piano_roll_draws_bar_lines_from_the_meter():
    fig, ax = plot_piano_roll(melody([60] * 6, 1.0, time_signature=(3, 4)))
    solid = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "-")
    assert solid == [0.0, 3.0, 6.0]


def _vertical_lines(ax, style):
    """x positions of the vertical lines drawn in a line style ('-' bar lines, ':' beat lines)."""
    return sorted(round(float(line.get_xdata()[0]), 6) for line in ax.lines if line.get_linestyle() == style)


def test_piano_roll_bar_lines_follow_a_meter_change():
    # one bar of 4/4, then 3/4 from quarter 4: bar lines at 0, 4, 7, 10
    piece = Piece([Note(60, t, 1) for t in range(10)], time_signature_changes=[(4, (3, 4))])
    fig, ax = plot_piano_roll(piece)
    assert _vertical_lines(ax, "-") == [0.0, 4.0, 7.0, 10.0]
    assert _vertical_lines(ax, ":") == [1.0, 2.0, 3.0, 5.0, 6.0, 8.0, 9.0]


def test_piano_roll_bar_lines_follow_the_pickup():
    # a one-quarter pickup in 3/4: bar 1 starts at 1, then every 3 quarter notes
    piece = Piece([Note(60, t, 1) for t in range(7)], time_signature=(3, 4), pickup=1.0)
    fig, ax = plot_piano_roll(piece)
    assert _vertical_lines(ax, "-") == [1.0, 4.0, 7.0]
    assert _vertical_lines(ax, ":") == [0.0, 2.0, 3.0, 5.0, 6.0]  # the pickup is beat 3 of bar 0


@pytest.mark.parametrize("meter, beat", [((6, 8), 1.5), ((3, 8), 0.5), ((12, 16), 0.75), ((5, 16), 0.25)])
def test_piano_roll_beat_lines_are_the_felt_beats(meter, beat):
    from musegen_helpers.music import bar_length_of

    bar = bar_length_of(meter)
    piece = Piece([Note(60, 0, 2 * bar)], time_signature=meter)
    fig, ax = plot_piano_roll(piece)
    assert _vertical_lines(ax, "-") == [0.0, round(bar, 6), round(2 * bar, 6)]
    lines = _vertical_lines(ax, "-") + _vertical_lines(ax, ":")
    assert sorted(lines) == [round(k * beat, 6) for k in range(round(2 * bar / beat) + 1)]
    for t in _vertical_lines(ax, ":"):  # every dotted line is a beat Piece counts, not a bar line
        bar_number, counted = piece.bar_and_beat(t)
        assert counted == pytest.approx(round(counted)) and counted > 1


def test_piano_roll_accepts_an_array():
    roll = piano_roll(melody([60, 64, 67], 1.0))
    fig, ax = plot_piano_roll(roll)
    assert len(_rectangles(ax)) == 3


def test_drums_are_grey():
    fig, ax = plot_piano_roll(Piece([Note(38, 0, 1, is_drum=True), Note(60, 0, 1)]))
    faces = sorted(matplotlib.colors.to_hex(c.get_facecolor()[0], keep_alpha=False) for c in ax.collections)
    assert faces == sorted(["#555555", PART_COLOURS[0]])


def test_pitch_class_histogram_counts_notes():
    piece = melody([60, 62, 64, 72, 74, 61], 1.0)
    fig, ax = plot_pitch_histogram(piece)
    heights = [int(bar.get_height()) for bar in ax.patches]
    assert heights == [2, 1, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["C", "C#", "D"]


def test_pitch_histogram_by_midi_pitch_leaves_drums_out():
    piece = Piece([Note(60, 0, 1), Note(60, 1, 1), Note(67, 2, 1), Note(38, 0, 1, is_drum=True)])
    fig, ax = plot_pitch_histogram(piece, pitch_classes=False)
    assert sorted((bar.get_x() + bar.get_width() / 2, bar.get_height()) for bar in ax.patches) == [
        (60, 2), (67, 1)]


def test_duration_histogram_counts_and_names_durations():
    piece = melody([60, 62, 64, 65, 67], [1, 1, 0.5, 0.5, 1.5])
    fig, ax = plot_duration_histogram(piece)
    assert [int(bar.get_height()) for bar in ax.patches] == [2, 2, 1]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["8th\n(0.5)", "quarter\n(1)", "dotted quarter\n(1.5)"]


def test_histograms_use_the_given_axes():
    fig, (a, b) = plt.subplots(1, 2)
    assert plot_pitch_histogram(melody([60]), ax=a) == (fig, a)
    assert plot_duration_histogram(melody([60]), ax=b) == (fig, b)


def test_figure_png_gives_png_bytes_and_closes_the_figure():
    import matplotlib.pyplot as plt

    from musegen_helpers.plots import figure_png

    fig, _ = plot_piano_roll(melody([60, 64, 67], 1.0))
    data = figure_png(fig, dpi=50)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert fig.number not in plt.get_fignums()  # a widget moved 100 times must not keep 100 figures open


# ---- GAN bars (lesson 04) -------------------------------------------------------------------
def test_plot_bars_draws_each_bar_as_its_roll_in_a_grid():
    from musegen_helpers.plots import plot_bars

    bars = np.zeros((5, 16, 48, 1), dtype=bool)       # with the Conv2D channel axis, as a GAN makes them
    bars[0, 0:16, 24] = True                          # C4 held all bar in the first bar
    bars[3, 4:8, 28] = True
    fig, axes = plot_bars(bars, ncols=3, titles=["a", "b", "c", "d", "e"])
    assert axes.shape == (2, 3)
    shown = [ax.images[0].get_array() for ax in axes.ravel()[:5]]
    for k in range(5):                                # pitch up, time across: the roll transposed
        np.testing.assert_array_equal(np.asarray(shown[k]), bars[k, :, :, 0].T.astype(float))
    assert not axes.ravel()[5].images and not axes.ravel()[5].axison   # the spare cell is blank
    # the C rows are labelled with note names from lowest_pitch (row 0 = C2)
    assert [t.get_text() for t in axes[0, 0].get_yticklabels()] == ["C2", "C3", "C4", "C5"]
    assert axes[1, 0].get_title() == "d"


def test_plot_bars_draws_into_given_axes_and_refuses_too_few():
    from musegen_helpers.plots import plot_bars

    fig, given = plt.subplots(1, 2)
    bars = np.random.default_rng(0).random((2, 16, 48))   # chances draw as grey levels
    out_fig, axes = plot_bars(bars, given, lowest_pitch=48)
    assert out_fig is fig and axes.ravel().tolist() == given.ravel().tolist()
    assert [t.get_text() for t in given[0].get_yticklabels()][0] == "C3"
    with pytest.raises(ValueError, match="3 bars need 3 axes"):
        plot_bars(np.zeros((3, 16, 48)), given)
    with pytest.raises(ValueError, match="shape"):
        plot_bars(np.zeros((2, 3, 16, 48)))


def test_plot_bars_default_lowest_pitch_is_the_gans():
    keras = pytest.importorskip("keras")  # noqa: F841
    from musegen_helpers.models import gan as G
    from musegen_helpers.plots import GAN_LOWEST_PITCH

    assert GAN_LOWEST_PITCH == G.LOWEST_PITCH


def test_plot_training_draws_the_losses_and_the_preview():
    from types import SimpleNamespace

    from musegen_helpers.plots import plot_training

    log = SimpleNamespace(history={"d_loss": [0.7, 0.6, 0.5], "g_loss": [0.8, 0.9, 1.0],
                                   "real_score": [0.5, 0.6, 0.7], "fake_score": [0.5, 0.4, 0.3]},
                          epochs=3, seconds=12.0,
                          checks=[(3, {"used pitch classes": 6.5, "empty bar rate": 0.0, "unique fraction": 1.0})])
    fig, axes = plot_training(log, np.zeros((4, 16, 48), bool), ncols=4)
    losses = axes[0]
    assert [line.get_label() for line in losses.lines] == ["d loss", "g loss", "D(real)", "D(fake)"]
    np.testing.assert_array_equal(losses.lines[0].get_ydata(), [0.7, 0.6, 0.5])
    assert "3 epochs" in losses.get_title()
    assert axes[1].shape == (1, 4)
    fig, axes = plot_training(log)                    # no preview: the curves only
    assert len(axes) == 1


def _drawn_pitch_labels(fig, ax):
    """(text, window extent) of each pitch label the drawn figure shows, bottom to top."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    lo, hi = ax.get_ylim()
    shown = [t for t in ax.get_yticklabels() if t.get_visible() and t.get_text()
             and lo <= t.get_position()[1] <= hi]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in sorted(shown, key=lambda t: t.get_position()[1])]


@pytest.mark.parametrize("span", [7, 12, 20, 24, 30, 60])
@pytest.mark.parametrize("layout", ["five stacked panels (lessons 02, 03, 05)", "the Markov widget (9 x 2.8 in)",
                                    "three side by side (lesson 05)"])
def test_pitch_labels_never_overlap(layout, span):
    """Lesson 02's five stacked rolls labelled every semitone of a 20-semitone range on 1.9-inch
    panels: the labels ran into each other. Now the labels thin out to what the drawn axis holds."""
    tune = melody([60, 60 + span, 62, 60 + span // 2], 1.0)
    if layout.startswith("five"):
        fig, axes = plt.subplots(5, 1, figsize=(10, 1.9 * 5))
    elif layout.startswith("the Markov"):
        fig, ax = plt.subplots(figsize=(9, 2.8))
        axes = [ax]
    else:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3))
    for ax in np.ravel(axes):
        plot_piano_roll(tune, ax=ax, title="a title as long as the lessons' titles are")
    fig.tight_layout()
    for ax in np.ravel(axes):
        labels = _drawn_pitch_labels(fig, ax)
        assert len(labels) >= 2, [t for t, _ in labels]
        assert "C4" in [t for t, _ in labels]  # the Cs are always labelled: octaves stay readable
        for (text_a, box_a), (text_b, box_b) in zip(labels, labels[1:]):
            assert not box_a.overlaps(box_b), f"{text_a} and {text_b} overlap ({layout}, {span} semitones)"


def test_pitch_labels_are_dense_where_there_is_room_and_thin_out_where_there_is_not():
    from musegen_helpers.music import note_name

    tune = melody([60, 72], 1.0)                       # drawn from Bb3 (58) to D5 (74)
    fig, ax = plot_piano_roll(tune, figsize=(8, 6))
    assert [t for t, _ in _drawn_pitch_labels(fig, ax)] == [note_name(p) for p in range(58, 75)]
    fig, ax = plot_piano_roll(tune, figsize=(8, 1.6))  # the same range on a short axis
    shown = [t for t, _ in _drawn_pitch_labels(fig, ax)]
    assert "C4" in shown and "C5" in shown and len(shown) < 17
