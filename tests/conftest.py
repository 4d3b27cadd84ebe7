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


def _scope_rank(item):
    """Scheduling order for `pytest -n 2 --dist loadscope` (make test): the longest work first, so
    that no notebook starts alone at the end. Each notebook's rerun test (two runs in one kernel)
    first, then nbval's notebooks, then the unit tests; later lessons (bigger models) first."""
    cls = getattr(item, "cls", None)  # nbval's notebook cells have none
    if cls is not None and cls.__name__.startswith("TestRerun_"):
        group, lesson = 0, cls.__name__[len("TestRerun_"):][:2]
    elif item.path.suffix == ".ipynb":
        group, lesson = 1, item.path.stem[:2]
    else:
        group, lesson = 2, ""
    return group, -int(lesson) if lesson.isdigit() else 0


def pytest_collection_modifyitems(config, items):
    items.sort(key=_scope_rank)  # stable: a notebook's cells and a file's tests keep their order
