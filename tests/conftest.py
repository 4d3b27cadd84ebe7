"""Shared fixtures for the test suite (keep this small: helpers live next to their tests)."""

import os

# Plots must render without a display (CI, a terminal over ssh).
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def chorale():
    """Bach's chorale BWV 66.6 from the music21 corpus, as a four-part Piece (S, A, T, B)."""
    import music21

    from musegen_helpers.midi_io import from_music21

    return from_music21(music21.corpus.parse("bach/bwv66.6"))


@pytest.fixture
def c_major_scale():
    """C4 D4 E4 F4 G4 A4 B4 C5 as quarter notes, 4/4 at 120 BPM (two full bars)."""
    from musegen_helpers.music import melody

    return melody([60, 62, 64, 65, 67, 69, 71, 72], 1.0, key="C major", title="C major scale")
