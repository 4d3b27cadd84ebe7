"""Pictures of music: piano rolls and histograms.

Every function takes ``ax=None``, creates a figure only when no axes is given, and returns
``(fig, ax)``, so lessons can compose them into subplots; a grid of GAN bars (:func:`plot_bars`)
takes ``axes=None`` and returns ``(fig, axes)``.

Lesson: 01_representation, 04_gan
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from .music import PITCH_CLASS_NAMES, beat_length, note_name
from .representation import bar_stack

__all__ = ["plot_piano_roll", "plot_pitch_histogram", "plot_duration_histogram", "figure_png", "PART_COLOURS",
           "plot_bars", "plot_training"]

PART_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
DRUM_COLOUR = "#555555"


def figure_png(fig, dpi: int = 80) -> bytes:
    """The figure as PNG bytes (``dpi`` dots per inch), then closed.

    Widgets show pictures as PNG in an ``ipywidgets.Image``: drawn the same in JupyterLab, Colab
    and VS Code whatever matplotlib backend the kernel has, and closing the figure keeps a
    slider moved a hundred times from piling up open figures.
    """
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    return fig, ax


def plot_piano_roll(x, ax=None, *, figsize=(10, 3.5), title: str | None = None, show_beats: bool = True,
                    legend: bool = True, **to_piece_kwargs):
    """Draw notes as bars: time (quarter notes) across, pitch up; one colour per part.

    Bar lines are solid, beat lines dotted: the bars are :meth:`Piece.bars` (so a pickup and
    meter changes move them) and the beats :func:`~musegen_helpers.music.beat_length` of each
    bar's meter (dotted quarters in 6/8), counted back from bar 1 in a pickup. The pitch axis is
    labelled with note names, as densely as the drawn axis allows without labels overlapping
    (every semitone on a tall axis; C D E G A, C E G, C G or only the Cs on shorter ones; the Cs
    always), with a small unlabelled tick on every semitone.
    Accepts anything :func:`musegen_helpers.representation.to_piece` accepts (a piano roll array, tokens...).
    """
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch

    from .representation import to_piece

    piece = to_piece(x, **to_piece_kwargs)
    fig, ax = _axes(ax, figsize)
    parts = piece.parts
    colour = {p: PART_COLOURS[i % len(PART_COLOURS)] for i, p in enumerate(parts)}
    # one collection per part (and drums): a widget redraws in a blink even with hundreds of notes
    groups: dict[tuple, list] = {}
    for n in piece.notes:
        groups.setdefault((n.part, n.is_drum), []).append(n)
    for (part, is_drum), notes in groups.items():
        rgb = to_rgb(DRUM_COLOUR if is_drum else colour[part])
        boxes = [[(n.start, n.pitch - 0.4), (n.start + n.duration * 0.97, n.pitch - 0.4),
                  (n.start + n.duration * 0.97, n.pitch + 0.4), (n.start, n.pitch + 0.4)] for n in notes]
        faces = [(*rgb, 0.4 + 0.6 * n.velocity / 127) for n in notes]  # louder notes are darker
        ax.add_collection(PolyCollection(boxes, facecolors=faces, edgecolors="black", linewidths=0.3))
    end = max(piece.end, piece.bar_length)
    pitches = piece.pitches or [60]
    lo, hi = min(pitches) - 2, max(pitches) + 2
    if show_beats:
        bar_lines, beat_lines = _bar_and_beat_lines(piece, end)
        for t in beat_lines:
            ax.axvline(t, color="0.8", lw=0.5, ls=":", zorder=0)
        for t in bar_lines:
            ax.axvline(t, color="0.3", lw=0.9, ls="-", zorder=0)
    _label_pitch_axis(ax.yaxis)
    ax.set_ylim(lo, hi)
    ax.set_xlim(0, end)
    ax.set_xlabel("time (quarter notes)")
    ax.set_ylabel("pitch")
    if title is None:
        title = piece.title or None
    if title:
        ax.set_title(title)
    named = [p for p in parts if p is not None]
    if legend and len(named) > 1:
        ax.legend(handles=[Patch(color=colour[p], label=p) for p in named], loc="upper right",
                  fontsize=8, framealpha=0.8)
    return fig, ax


#: Which notes get a label on a pitch axis, densest first: (pitch classes, smallest gap in semitones).
#: Every level keeps the Cs, so the octaves can always be read.
_PITCH_LABEL_LEVELS = (
    (frozenset(range(12)), 1),            # every key
    (frozenset({0, 2, 4, 7, 9}), 2),      # C D E G A
    (frozenset({0, 4, 7}), 3),            # C E G
    (frozenset({0, 7}), 5),               # C G
    (frozenset({0}), 12),                 # C of each octave
)
_PITCH_LABEL_SIZE = 8  # points


def _pitch_axis_ticks(vmin: float, vmax: float, points_per_semitone: float,
                      label_size: float = _PITCH_LABEL_SIZE) -> list[int]:
    """The MIDI pitches to label between ``vmin`` and ``vmax``: the densest level of
    ``_PITCH_LABEL_LEVELS`` whose labels are at least 1.3 label heights apart, else every
    k-th C (k octaves apart) with enough room."""
    lo, hi = math.ceil(vmin), math.floor(vmax)
    need = 1.3 * label_size  # points between the centres of two labels: no overlap, a little air
    for classes, gap in _PITCH_LABEL_LEVELS:
        if gap * points_per_semitone >= need:
            return [p for p in range(lo, hi + 1) if p % 12 in classes]
    octaves = max(1, math.ceil(need / (12 * max(points_per_semitone, 1e-9))))
    return [p for p in range(lo, hi + 1) if p % (12 * octaves) == 0]


def _label_pitch_axis(axis) -> None:
    """Label a pitch axis with note names, as densely as its drawn length allows.

    The ticks are chosen when the figure is drawn, from the axis's length then (after
    ``tight_layout``, in a small subplot, in a widget's PNG), so the labels never overlap:
    every semitone on a tall axis, C D E G A or C E G on a short one, only the Cs on a crowded one.
    """
    from matplotlib.ticker import FuncFormatter, Locator

    def points_per_semitone(locator):
        vmin, vmax = sorted(locator.axis.get_view_interval())
        axes = locator.axis.axes
        pixels = axes.bbox.height if locator.axis.axis_name == "y" else axes.bbox.width
        return vmin, vmax, pixels * 72.0 / axes.figure.dpi / max(vmax - vmin, 1e-9)

    class PitchLocator(Locator):
        def __call__(self):
            return _pitch_axis_ticks(*points_per_semitone(self))

    class SemitoneLocator(Locator):
        """An unlabelled small tick on every semitone, when they are at least 2 points apart."""

        def __call__(self):
            vmin, vmax, per = points_per_semitone(self)
            return list(range(math.ceil(vmin), math.floor(vmax) + 1)) if per >= 2 else []

    axis.set_major_locator(PitchLocator())
    axis.set_minor_locator(SemitoneLocator())
    axis.set_major_formatter(FuncFormatter(lambda p, _pos: note_name(int(round(p)))))
    axis.set_tick_params(which="major", labelsize=_PITCH_LABEL_SIZE)


def _bar_and_beat_lines(piece, end: float) -> tuple[list[float], list[float]]:
    """Positions (quarter notes, up to ``end``) of the bar lines and of the other beats."""
    bars, beats = [], []
    for bar in piece.bars(end):
        beat = beat_length(bar.time_signature)
        if bar.number == 0:  # a pickup's beats fall back from the bar line that ends it
            k = math.floor(bar.length / beat + 1e-9)
            beats += [bar.end - i * beat for i in range(k, 0, -1)]
        else:
            bars.append(bar.start)
            beats += [bar.start + i * beat for i in range(1, math.ceil(bar.length / beat - 1e-9))]
        last = bar.end
    if last <= end + 1e-9:
        bars.append(last)
    return bars, [t for t in beats if t <= end + 1e-9]


def plot_pitch_histogram(x, ax=None, *, pitch_classes: bool = True, figsize=(6, 3), title=None, **kw):
    """Bar chart of how often each pitch class (C, C#, ... B) — or each MIDI pitch — occurs,
    counting notes (not their durations)."""
    from .representation import to_piece

    piece = to_piece(x, **kw)
    fig, ax = _axes(ax, figsize)
    pitches = piece.pitches
    if pitch_classes:
        counts = np.bincount([p % 12 for p in pitches], minlength=12)
        ax.bar(range(12), counts, color=PART_COLOURS[0])
        ax.set_xticks(range(12))
        ax.set_xticklabels(PITCH_CLASS_NAMES)
        ax.set_xlabel("pitch class")
    else:
        c = Counter(pitches)
        keys = sorted(c)
        ax.bar(keys, [c[k] for k in keys], color=PART_COLOURS[0])
        ticks = [k for k in keys if k % 12 == 0] or keys[:1]
        ax.set_xticks(ticks)
        ax.set_xticklabels([note_name(k) for k in ticks])
        ax.set_xlabel("pitch")
    ax.set_ylabel("notes")
    if title:
        ax.set_title(title)
    return fig, ax


_DURATION_NAMES = {4.0: "whole", 3.0: "dotted half", 2.0: "half", 1.5: "dotted quarter", 1.0: "quarter",
                   0.75: "dotted 8th", 0.5: "8th", 1 / 3: "triplet 8th", 0.25: "16th", 0.125: "32nd"}


def plot_duration_histogram(x, ax=None, *, figsize=(6, 3), title=None, **kw):
    """Bar chart of note durations (quarter notes), labelled with their names (quarter, 8th...)."""
    from .representation import to_piece

    piece = to_piece(x, **kw)
    fig, ax = _axes(ax, figsize)
    c = Counter(round(n.duration, 4) for n in piece.pitched().notes)
    keys = sorted(c)
    ax.bar(range(len(keys)), [c[k] for k in keys], color=PART_COLOURS[2])
    labels = []
    for k in keys:
        name = next((v for d, v in _DURATION_NAMES.items() if abs(d - k) < 1e-3), None)
        labels.append(f"{name}\n({k:g})" if name else f"{k:g}")
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_xlabel("duration (quarter notes)")
    ax.set_ylabel("notes")
    if title:
        ax.set_title(title)
    return fig, ax


# ---------------------------------------------------------------------------------------
# GAN bars (lesson 04)
# ---------------------------------------------------------------------------------------
#: Row 0 of a GAN bar: C2, as ``musegen_helpers.models.gan.LOWEST_PITCH`` (kept here so that
#: drawing bars does not import TensorFlow; tests/test_plots.py checks that the two agree).
GAN_LOWEST_PITCH = 36


def plot_bars(bars, axes=None, *, lowest_pitch: int = GAN_LOWEST_PITCH, ncols: int = 8, titles=None,
              cell: float = 1.4, fig=None):
    """A grid of one-bar piano rolls, as a GAN makes them: time across (16 steps, red lines on the
    beats), pitch up (row ``i`` is MIDI pitch ``lowest_pitch + i``; blue lines on the Cs).

    Args:
        bars: ``(n, steps, pitches[, 1])`` booleans, or chances in [0, 1] (drawn as grey levels).
        axes: Axes to draw into (an array of at least ``n``, or one Axes for one bar); when None,
            a figure of ``ceil(n / ncols)`` rows of ``ncols`` cells is made (in ``fig`` when given,
            e.g. a subfigure), each cell ``cell`` inches wide.
        titles: one short title per bar.

    Returns ``(fig, axes)``, ``axes`` a 2-D array. Lesson: 04_gan
    """
    import matplotlib.pyplot as plt

    b = bar_stack(bars)
    n = len(b)
    if axes is None:
        ncols = max(1, min(int(ncols), n))
        nrows = int(math.ceil(n / ncols))
        if fig is None:
            fig = plt.figure(figsize=(cell * ncols, cell * 1.6 * nrows))
        axes = fig.subplots(nrows, ncols, squeeze=False)
    else:
        axes = np.asarray(axes, dtype=object)
        axes = axes.reshape(1, -1) if axes.ndim < 2 else axes
        if axes.size < n:
            raise ValueError(f"{n} bars need {n} axes; {axes.size} were given.")
        ncols = axes.shape[1]
        fig = axes.flat[0].figure
    c_rows = [i for i in range(b.shape[2]) if (lowest_pitch + i) % 12 == 0]
    for k, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        ax.imshow(b[k].T.astype(float), origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=1,
                  interpolation="nearest")
        for r in c_rows:
            ax.axhline(r - 0.5, color="tab:blue", lw=0.3, alpha=0.5)
        for beat in range(1, 4):
            ax.axvline(beat * b.shape[1] / 4 - 0.5, color="tab:red", lw=0.3, alpha=0.5)
        if titles is not None and k < len(titles):
            ax.set_title(titles[k], fontsize=7)
        if k % ncols == 0:
            ax.set_yticks(c_rows)
            ax.set_yticklabels([note_name(lowest_pitch + r) for r in c_rows], fontsize=6)
    return fig, axes


def plot_training(log, preview=None, *, lowest_pitch: int = GAN_LOWEST_PITCH, fig=None, ncols: int = 8):
    """A GAN's loss curves per epoch (left) and the latest preview bars (right) in one figure.

    Args:
        log: a :class:`musegen_helpers.models.gan.TrainingLog` (its ``history``, ``epochs``,
            ``seconds`` and ``checks``).
        preview: bars to show beside the curves (see :func:`plot_bars`), or None.

    Returns ``(fig, axes)``: the loss Axes, then the preview's array of Axes when drawn.
    Lesson: 04_gan
    """
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(13, 3.2))
    outer = fig.add_gridspec(1, 2, width_ratios=[1, 2.6], wspace=0.15)
    ax = fig.add_subplot(outer[0])
    epochs = np.arange(1, len(next(iter(log.history.values()), [])) + 1)
    for name in ("d_loss", "g_loss"):
        if name in log.history:
            ax.plot(epochs, log.history[name], label=name.replace("_", " "))
    if "real_score" in log.history:
        ax.plot(epochs, log.history["real_score"], ":", label="D(real)")
        ax.plot(epochs, log.history["fake_score"], ":", label="D(fake)")
    ax.set_xlabel("epoch")
    ax.legend(fontsize=7)
    ax.set_title(f"losses after {log.epochs} epochs ({log.seconds:.0f} s)", fontsize=9)
    axes = [ax]
    if preview is not None:
        sub = fig.add_subfigure(outer[1])
        _, grid = plot_bars(preview, lowest_pitch=lowest_pitch, ncols=ncols, fig=sub, cell=1.0)
        if log.checks:
            q = log.checks[-1][1]
            sub.suptitle(f"epoch {log.checks[-1][0]}: {q['used pitch classes']:.1f} pitch classes/bar, "
                         f"{q['empty bar rate']:.0%} empty, {q['unique fraction']:.0%} unique",
                         fontsize=9)
        axes.append(grid)
    return fig, axes
