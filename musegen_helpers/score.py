"""Sheet music inline: ``show_score(piece)`` engraves with verovio and displays SVG.

The path is Piece → music21 (:func:`~musegen_helpers.notation.to_music21`) → MusicXML text →
verovio → SVG. Verovio is a pip package with no system dependencies, so this works on a
fresh machine and on Colab without MuseScore or LilyPond.

Lesson: 00_welcome, 01_representation
"""

from __future__ import annotations

import warnings
from pathlib import Path

from .errors import LimitError, outside_stacklevel
from .music import Piece

__all__ = ["score_svg", "show_score", "save_musicxml", "musicxml_text", "score_alt_text", "MAX_SCORE_NOTES"]

#: Scores with more notes than this are refused (engraving them takes long and helps nobody
#: read); raise with ``show_score(piece, max_notes=...)`` or show a slice.
MAX_SCORE_NOTES = 3000


def _engravable(piece: Piece, grid) -> Piece:
    """The piece to engrave: quantised when its rhythm cannot be written, with a notice."""
    from .notation import quantize_for_score

    engraved, moved, used = quantize_for_score(piece, grid)
    if moved:
        step = {0.25: "16th notes", 1 / 6: "16th-note triplets", 1 / 3: "8th-note triplets",
                0.5: "8th notes", 0.125: "32nd notes"}
        name = next((v for k, v in step.items() if abs(k - used) < 1e-9), f"{used:g} quarter notes")
        warnings.warn(
            f"the score shows a quantised copy: {moved} of {len(piece.notes)} notes moved to a grid of "
            f"{name} (played timing cannot be written as notes); the Piece itself is unchanged. "
            "Pass grid= (e.g. grid=1/3 for triplets) to choose the grid.", UserWarning, stacklevel=outside_stacklevel())
    return engraved


def musicxml_text(x, *, grid: float | str | None = "auto") -> str:
    """The MusicXML document (a string) for a Piece or anything :func:`representation.to_piece` accepts.

    Args:
        grid: how to treat rhythms a score cannot write (played MIDI, onsets a few ticks off the
            beat). ``'auto'`` (default): music on a 32nd-note or 16th-triplet grid is written as it
            is; anything else is engraved from a copy quantised to 16ths (or 16th-triplets when
            they fit clearly better), with a warning saying how many notes moved. A number: the
            grid in quarter notes (0.25 = 16ths, 1/3 = 8th-note triplets). ``None``: never quantise.
            The Piece passed in is never changed.

    Raises:
        ValueError: music21 cannot write the piece (e.g. ``grid=None`` with unwritable
            durations); the message says what to do.
        LimitError: too many bars or staves (see :mod:`musegen_helpers.notation`).

    Source: music21's MusicXML exporter. Lesson: 00_welcome, 01_representation
    """
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    from .representation import to_piece
    from .notation import to_music21

    piece = _engravable(to_piece(x), grid)
    score = to_music21(piece)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = GeneralObjectExporter(score).parse()
    except Exception as exc:  # music21's MusicXMLExportException and friends
        raise ValueError(
            f"music21 could not write this piece as MusicXML ({type(exc).__name__}: {str(exc)[:160]}); "
            "its rhythm is probably too fine to write as notes: pass grid=0.25 (16ths) or "
            "quantise a copy with piece.quantize(0.25).") from None
    return data.decode("utf-8") if isinstance(data, bytes) else str(data)


def score_svg(x, *, max_notes: int = MAX_SCORE_NOTES, width: int = 2100, scale: int = 40,
              title: bool = False, grid: float | str | None = "auto") -> list[str]:
    """Engrave music and return one SVG string per page.

    Args:
        grid: quantising of unwritable rhythms, as in :func:`musicxml_text` (default 'auto').
        max_notes: refuse longer pieces (see :data:`MAX_SCORE_NOTES`).
        width: page width in verovio units (tenths of a staff space × 10); wider = fewer systems.
        scale: zoom in percent.
        title: print the piece's title above the music.
    """
    import verovio

    from .representation import to_piece

    piece = to_piece(x)
    if len(piece.notes) > max_notes:
        raise LimitError(
            f"this piece has {len(piece.notes)} notes, over the score limit of {max_notes}; "
            "show a slice (piece.slice(0, 32)) or pass max_notes= a larger number."
        )
    xml = musicxml_text(piece, grid=grid)
    import re

    if not title:
        # verovio prints the work title from MusicXML; a notebook cell already says what it is
        xml = re.sub(r"<work>.*?</work>", "", xml, flags=re.S)
        xml = re.sub(r"<movement-title>.*?</movement-title>", "", xml, flags=re.S)
        xml = re.sub(r"<credit\b.*?</credit>", "", xml, flags=re.S)
    # the tempo is printed by play() and the Piece's repr; verovio places a lone "♩ = N" oddly
    xml = re.sub(r"<direction\b(?:(?!</direction>).)*?<metronome\b.*?</direction>", "", xml, flags=re.S)
    tk = verovio.toolkit()
    tk.setOptions({
        "pageWidth": width,
        "scale": scale,
        "adjustPageHeight": True,
        "breaks": "auto",
        "footer": "none",
        "header": "none" if not title else "auto",
        "svgViewBox": True,
    })
    if not tk.loadData(xml):
        raise ValueError("verovio could not read the MusicXML made from this piece; "
                         "try piece.quantize(0.25) first (very odd durations cannot be written as notes).")
    return [tk.renderToSVG(page) for page in range(1, tk.getPageCount() + 1)]


def score_alt_text(x) -> str:
    """A text description of a piece's score, for readers who cannot see it (HTML ``alt``/``aria-label``).

    ``"Score: <title>, <N> bars in <meter>"`` — N counts full bars (a pickup is mentioned apart),
    every meter in order of appearance, then the parts when there are several, e.g.
    ``"Score: Ach Gott, 2 bars in 3/4 then 4/4, for Soprano, Alto, Tenor, Bass"``.

    Lesson: 00_welcome
    """
    from .representation import to_piece

    piece = to_piece(x)
    bars = piece.bars()
    meters: list[str] = []
    for bar in bars:
        meter = f"{bar.time_signature[0]}/{bar.time_signature[1]}"
        if meter not in meters:
            meters.append(meter)
    full = sum(1 for bar in bars if bar.number > 0)
    pickup = " after a pickup" if any(bar.number == 0 for bar in bars) else ""
    title = piece.title.strip() or "untitled"
    named = [str(p) for p in piece.parts if p is not None]
    parts = f", for {', '.join(named)}" if len(named) > 1 else ""
    return f"Score: {title}, {full} bar{'s' if full != 1 else ''}{pickup} in {' then '.join(meters)}{parts}"


class _Score:
    """Displays as SVG in notebooks; ``.svg`` holds the pages' markup, ``.alt`` its description."""

    def __init__(self, pages: list[str], alt: str = "Score"):
        self.pages = pages
        self.alt = alt

    @property
    def svg(self) -> str:
        return "\n".join(self.pages)

    def _repr_html_(self):
        body = "".join(f'<div style="background:white;max-width:100%">{p}</div>' for p in self.pages)
        import html

        return f'<div class="musegen-score" role="img" aria-label="{html.escape(self.alt)}">{body}</div>'

    def __repr__(self):
        return f"<score: {len(self.pages)} page(s) of SVG>"


def show_score(x, **kwargs) -> _Score:
    """Show a Piece (melody, chords, four-part chorale...) as sheet music in the notebook.

    Returns an object that displays as SVG; its ``.svg`` attribute holds the markup.
    Keyword arguments go to :func:`score_svg`.
    """
    from .representation import to_piece

    piece = to_piece(x)
    return _Score(score_svg(piece, **kwargs), alt=score_alt_text(piece))


def save_musicxml(x, path, *, overwrite: bool = False, grid: float | str | None = "auto") -> Path:
    """Write MusicXML that MuseScore, Finale or Sibelius can open; refuses to overwrite unless asked.

    ``grid`` quantises unwritable rhythms as in :func:`musicxml_text`. Returns the path written."""
    from .files import atomic_write, check_can_write

    p = check_can_write(path, overwrite)
    text = musicxml_text(x, grid=grid)
    atomic_write(p, lambda fh: fh.write(text.encode("utf-8")))
    return p
