"""musegen_helpers — the tested helper package behind the musegen course.

The one-liners a lesson needs::

    from musegen_helpers import load, play, show_score, plot_piano_roll
    piece = load("tune.mid")      # or .abc / .xml / .mxl / .krn
    play(piece); show_score(piece); plot_piano_roll(piece)

Importing this package does not import TensorFlow; only ``musegen_helpers.models`` does.
"""

from .audio import play, render, save_wav
from .errors import LimitError, MusicFileError
from .midi_io import load, load_midi, save_midi
from .notation import to_music21
from .score_io import from_music21, load_score
from .music import Note, Piece, melody, note_name, pitch_from_name, pitch_to_frequency
from .plots import plot_duration_histogram, plot_pitch_histogram, plot_piano_roll
from .score import save_musicxml, show_score

__version__ = "0.1.0"

__all__ = [
    "Note", "Piece", "melody", "note_name", "pitch_from_name", "pitch_to_frequency",
    "load", "load_midi", "load_score", "save_midi", "from_music21", "to_music21",
    "play", "render", "save_wav", "show_score", "save_musicxml",
    "plot_piano_roll", "plot_pitch_histogram", "plot_duration_histogram",
    "MusicFileError", "LimitError",
]
