"""Our metrics give MusPy's numbers on the same music (MusPy is a test dependency).

MusPy's music21 reader uses the removed ``.flat``, so the MusPy objects are built directly
from our Pieces: one Track per part, times in integer steps at MusPy's resolution.
Music: at least 20 Bach chorales from music21's corpus, plus seeded random pieces with rests,
drums, pickups and other meters, which exercise the corners of each definition (the chorales
have no rests, so their empty-beat rate is always 0).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import muspy  # a test dependency (requirements.txt): this file must run, never skip

from musegen_helpers import metrics as M
from musegen_helpers.music import Note, Piece

N_CHORALES = 24
TOLERANCE = 1e-6


def to_muspy(piece: Piece, resolution: int) -> "muspy.Music":
    """The same notes as a muspy.Music: start and end rounded to the step grid."""
    tracks: dict[tuple, list] = {}
    for n in piece.notes:
        start, end = round(n.start * resolution), round(n.end * resolution)
        tracks.setdefault((n.part or "", n.is_drum), []).append(
            muspy.Note(time=start, pitch=n.pitch, duration=end - start, velocity=n.velocity))
    return muspy.Music(resolution=resolution,
                       tracks=[muspy.Track(program=0, is_drum=drum, name=name, notes=notes)
                               for (name, drum), notes in tracks.items()])


def chorales() -> list[Piece]:
    from music21 import corpus

    from musegen_helpers.midi_io import from_music21

    paths = sorted((p for p in corpus.getComposer("bach") if p.name.startswith("bwv")), key=lambda p: p.name)
    return [from_music21(corpus.parse(p), source=p.name) for p in paths[:N_CHORALES]]


def random_pieces(count: int = 30, seed: int = 0) -> list[Piece]:
    """Two or three parts with rests and overlaps, sometimes drums and a pickup, in 4/4, 3/4 or 6/8."""
    rng = np.random.default_rng(seed)
    pieces = []
    for k in range(count):
        meter = [(4, 4), (3, 4), (6, 8)][k % 3]
        notes = []
        for part in range(int(rng.integers(1, 4))):
            t = float(rng.choice([0.0, 0.5, 1.0]))
            while t < 12:
                duration = float(rng.choice([0.25, 0.5, 1.0, 1.5, 2.0, 1 / 3]))
                if rng.random() < 0.75:  # otherwise a rest
                    notes.append(Note(int(rng.integers(40, 90)), t, duration, part=f"p{part}"))
                t += duration + float(rng.choice([0.0, 0.0, 0.5, 1.0]))
        if k % 4 == 0:
            notes += [Note(36, float(b), 0.25, is_drum=True) for b in range(0, 14, 2)]
        meta = {"pickup": 1.0} if k % 5 == 0 else {}
        pieces.append(Piece(notes, time_signature=meter, meta=meta))
    return pieces


@pytest.fixture(scope="module")
def music() -> list[Piece]:
    found = chorales()
    assert len(found) >= 20, "music21's corpus should hold at least 20 Bach chorales"
    return found + random_pieces()


def pairs(piece: Piece, resolution: int) -> dict[str, tuple[float, float]]:
    """(ours, MusPy's) for every metric both define."""
    mm = to_muspy(piece, resolution)
    measure = round(piece.bar_length * resolution)
    return {
        "pitch_range": (M.pitch_range(piece), muspy.pitch_range(mm)),
        "n_pitches_used": (M.n_pitches_used(piece), muspy.n_pitches_used(mm)),
        "n_pitch_classes_used": (M.n_pitch_classes_used(piece), muspy.n_pitch_classes_used(mm)),
        "pitch_class_entropy": (M.pitch_class_entropy(piece), muspy.pitch_class_entropy(mm)),
        "scale_consistency": (M.scale_consistency(piece), muspy.scale_consistency(mm)),
        "polyphony": (M.polyphony(piece, resolution), muspy.polyphony(mm)),
        "empty_beat_rate": (M.empty_beat_rate(piece, resolution), muspy.empty_beat_rate(mm)),
        "groove_consistency": (M.groove_consistency(piece, resolution, measure),
                               muspy.groove_consistency(mm, measure)),
    }


def same(ours, theirs) -> bool:
    ours, theirs = float(ours), float(theirs)
    if math.isnan(theirs):
        return math.isnan(ours)
    return abs(ours - theirs) <= TOLERANCE


@pytest.mark.parametrize("resolution", [24, 12])
def test_every_shared_metric_equals_muspy(music, resolution):
    disagreements = []
    for piece in music:
        for name, (ours, theirs) in pairs(piece, resolution).items():
            if not same(ours, theirs):
                disagreements.append(f"{piece.source or piece!r}: {name} ours={ours} muspy={theirs}")
    assert not disagreements, "\n".join(disagreements[:20])


def test_the_random_pieces_reach_the_corners_the_chorales_miss(music):
    """Guard against a weak agreement test: some pieces must have empty beats, drums and
    nan-valued metrics, and the chorales must differ from one another."""
    randoms = music[N_CHORALES:]
    assert any(M.empty_beat_rate(p) > 0 for p in randoms)
    assert any(any(n.is_drum for n in p.notes) for p in randoms)
    assert len({round(M.pitch_class_entropy(p), 6) for p in music[:N_CHORALES]}) > 10
    assert len({round(M.groove_consistency(p), 6) for p in music}) > 20
