"""Small builders that wire ipywidgets controls to sound, score and piano roll.

``music_controls(make_piece, controls)`` is the one pattern every lesson uses: a function
that turns control values into a Piece, a few controls, and three outputs (player, score,
piano roll) that refresh when a control moves. Sound comes first, so a change is heard before
the score has been engraved. Errors — an unknown key name, an order of 0 — are shown as a
message inside the widget, never as a traceback.

Lesson: 02_rule_based, 03_lstm, 04_gan
"""

from __future__ import annotations

import time
from typing import Callable, Mapping

__all__ = ["music_controls", "MusicControls", "show_message", "latent_walk_widget"]

#: Longest message shown in a widget (characters); longer ones are cut with "…".
MAX_MESSAGE_CHARS = 400


def show_message(output, text: str, kind: str = "error") -> None:
    """Write a short coloured message into an ipywidgets Output (text, not only colour)."""
    from IPython.display import HTML

    colour = {"error": "#b00020", "info": "#555"}[kind]
    prefix = "⚠ " if kind == "error" else ""
    text = str(text)
    if len(text) > MAX_MESSAGE_CHARS:  # a pasted page of text in a box must not flood the notebook
        text = text[:MAX_MESSAGE_CHARS] + " …"
    # set the Output's contents directly instead of `with output: display(...)`: that capture only
    # works inside a running kernel, and this way a test (or a script) can read the message back
    output.outputs = ()
    output.append_display_data(
        HTML(f'<div style="color:{colour};font-family:sans-serif">{prefix}{_escape(text)}</div>'))


def _escape(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


class MusicControls:
    """The widget box plus its parts, returned by :func:`music_controls`.

    Attributes:
        box: the ``ipywidgets.VBox`` to display.
        controls: name → control widget.
        piece: the last Piece made (None before the first success).
        timings: seconds spent on the last update: ``{'make', 'sound', 'score', 'roll'}``.
        error: the last error message shown, or None.
    """

    def __init__(self, make_piece: Callable, controls: Mapping, show: tuple[str, ...], auto: bool):
        import ipywidgets as w

        self.make_piece = make_piece
        self.controls = dict(controls)
        self.show = show
        self.piece = None
        self.error: str | None = None
        self.timings: dict[str, float] = {}
        self.message = w.Output()
        # the player is an HTML widget, not an Output: the sound appears a little sooner this way
        self.sound = w.HTML()
        self.score = w.Output()
        # a PNG in an Image widget: drawn the same in JupyterLab, Colab and VS Code, whatever
        # matplotlib backend the kernel has (displaying a Figure object can show only its repr)
        self.roll = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.button = w.Button(description="Generate", button_style="primary", icon="music")
        self.button.on_click(lambda _: self.update())
        if auto:
            for c in self.controls.values():
                c.observe(lambda change: self.update(), names="value")
        outputs = [self.message] + [getattr(self, s) for s in ("sound", "roll", "score") if s in show]
        self.box = w.VBox([w.HBox(list(self.controls.values())[:3]),
                           *([w.HBox(list(self.controls.values())[3:])] if len(self.controls) > 3 else []),
                           self.button, *outputs])
        self.box.add_class("musegen-music-controls")  # the browser test finds the widget by it

    def values(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def update(self) -> bool:
        """Regenerate from the current control values; return True on success.

        Any error — a bad value, a piece too long to play, a slip in ``make_piece`` — is shown as
        a message in the widget and stored in :attr:`error`; nothing is raised, and
        :attr:`piece` stays the last piece that worked.
        """
        from .music import Piece

        t0 = time.perf_counter()
        try:
            piece = self.make_piece(**self.values())
            if not isinstance(piece, Piece):
                raise TypeError(f"{getattr(self.make_piece, '__name__', 'make_piece')} returned "
                                f"{type(piece).__name__}, not a Piece: end it with `return <your Piece>`.")
        except (ValueError, TypeError, KeyError) as exc:
            # the function's own words: they say which value is wrong and what to choose instead
            words = exc.args[0] if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str) else exc
            return self._fail(str(words))
        except Exception as exc:  # an unexpected slip must not leave a silent widget (callbacks swallow tracebacks)
            return self._fail(f"{type(exc).__name__}: {exc}")
        self.timings = {"make": time.perf_counter() - t0}
        try:
            self._draw(piece)
        except Exception as exc:  # e.g. a LimitError: the piece is too long to synthesise
            return self._fail(f"the piece was made but could not be shown: {exc}")
        self.error = None
        self.piece = piece
        return True

    def _fail(self, text: str) -> bool:
        kept = " (The last good piece is still shown.)" if self.piece is not None else ""
        self.error = text
        show_message(self.message, text + kept)
        return False

    def _draw(self, piece) -> None:
        from .audio import play
        from .plots import figure_png, plot_piano_roll
        from .score import show_score

        self.message.outputs = ()
        if "sound" in self.show:
            t = time.perf_counter()
            self.sound.value = play(piece)._repr_html_()
            self.timings["sound"] = time.perf_counter() - t
        if "roll" in self.show:
            t = time.perf_counter()
            self.roll.value = figure_png(plot_piano_roll(piece, figsize=(9, 2.8))[0])
            self.timings["roll"] = time.perf_counter() - t
        if "score" in self.show:
            t = time.perf_counter()
            try:
                score = show_score(piece)
            except ValueError as exc:
                score = None
                show_message(self.message, f"(score not shown: {exc})", kind="info")
            # Set the Output's contents (one state update), never `with self.score: display(...)`:
            # nbclient (tests/test_rerun.py, the course site, nbconvert) answers every output
            # captured that way with a comm_msg on the shell channel while the cell still runs, and
            # that send (jupyter_client's Session.send on a plain shadow of the asyncio socket) can
            # swallow the wake-up for the cell's execute_reply: both processes then sit idle until
            # the cell timeout (600 s) and the cell passes late (issue 18; jupyter/nbclient#312).
            with self.score.hold_sync():
                self.score.outputs = ()
                if score is not None:
                    self.score.append_display_data(score)
            self.timings["score"] = time.perf_counter() - t

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


def music_controls(make_piece: Callable, controls: Mapping, *, show: tuple[str, ...] = ("sound", "roll", "score"),
                   auto: bool = True, run: bool = True) -> MusicControls:
    """Build controls that regenerate music.

    Args:
        make_piece: ``make_piece(**values) -> Piece``; raise ValueError with a clear message for
            bad combinations — it is shown in the widget.
        controls: ``{argument name: ipywidgets control}``.
        show: which outputs to draw: any of 'sound', 'roll', 'score'.
        auto: regenerate whenever a control changes (else only on the button).
        run: generate once right away.
    """
    mc = MusicControls(make_piece, controls, show, auto)
    if run:
        mc.update()
    return mc


def latent_walk_widget(generator, seed_start: int = 1, seed_end: int = 2, positions: int = 9,
                       lowest_pitch: int = 36, threshold: float = 0.5, tempo: float = 80.0):
    """A slider that walks a GAN generator's noise space from one generated bar to another.

    The bars at ``positions`` (2–64) evenly spaced points of the spherical path
    (:func:`musegen_helpers.models.gan.interpolate_latent`) are generated once (one batch), so
    moving the slider only looks them up: the roll and the player change at once.
    ``seed_start``/``seed_end`` pick the two noise vectors (whole numbers >= 0), ``lowest_pitch``
    is the MIDI pitch of the bars' row 0 (C2 = 36, as ``gan.LOWEST_PITCH``), ``threshold`` (0–1,
    exclusive) turns note chances into notes, ``tempo`` is in quarter notes per minute (20–300).

    Raises:
        ValueError: a bad argument, before anything is drawn (what is wrong and what to use).

    If a bar cannot be drawn, the widget says why instead of the picture.
    Returns an ``ipywidgets.VBox``. Lesson: 04_gan
    """
    import ipywidgets as widgets
    import keras
    import numpy as np

    from .audio import play
    from .config import check_seed
    from .models import gan as G
    from .plots import figure_png, plot_bars

    if not isinstance(generator, keras.Model):
        raise ValueError(f"generator must be a Keras model (e.g. G.load_pretrained_generator()[0]), "
                         f"got {type(generator).__name__}.")
    seed_start, seed_end = check_seed(seed_start, allow_none=False), check_seed(seed_end, allow_none=False)
    if isinstance(positions, bool) or not isinstance(positions, (int, np.integer)) or not 2 <= positions <= 64:
        raise ValueError(f"positions is the number of stops on the walk: a whole number from 2 to 64, got {positions!r}.")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold is the note chance above which a cell sounds: a number between 0 and 1, "
                         f"got {threshold!r}.")
    if isinstance(tempo, bool) or not isinstance(tempo, (int, float)) or not 20 <= tempo <= 300:
        raise ValueError(f"tempo must be 20–300 quarter notes per minute, got {tempo!r}.")
    pitches = int(generator.outputs[0].shape[2])
    if isinstance(lowest_pitch, bool) or not isinstance(lowest_pitch, (int, np.integer)) \
            or not 0 <= lowest_pitch <= 128 - pitches:
        raise ValueError(f"lowest_pitch must be 0–{128 - pitches} so that {pitches} rows stay within MIDI 0–127, "
                         f"got {lowest_pitch!r}.")
    latent_dim = G.latent_dim_of(generator)
    a = G.latent_points(1, latent_dim, seed_start)[0]
    b = G.latent_points(1, latent_dim, seed_end)[0]
    path = G.interpolate_latent(a, b, np.linspace(0.0, 1.0, int(positions)))
    rolls = np.asarray(generator(path, training=False)) > threshold
    slider = widgets.IntSlider(value=0, min=0, max=positions - 1, description="start → end",
                               continuous_update=False)
    # an Image and an HTML player, not an Output holding a Figure: drawn the same in every front end
    picture = widgets.Image(format="png")
    player = widgets.HTML()
    message = widgets.Output()

    def draw(change=None):
        k = int(slider.value)
        try:
            fig, _ = plot_bars(rolls[k:k + 1], lowest_pitch=lowest_pitch, ncols=1, cell=3.0,
                               titles=[f"{k}/{positions - 1} of the way"])
            picture.value = figure_png(fig)
            player.value = play(G.bar_to_piece(rolls[k], lowest_pitch, tempo=tempo))._repr_html_()
            message.outputs = ()
        except Exception as exc:  # a callback's traceback would be invisible: say it in the widget
            show_message(message, f"bar {k} could not be drawn: {type(exc).__name__}: {exc}")

    slider.observe(draw, names="value")
    draw()
    box = widgets.VBox([slider, picture, player, message])
    box.add_class("musegen-latent-walk")
    return box
