"""Ready-made datasets: folk melodies and Bach chorales as Pieces, and a builder for your own music.

* :func:`load_melodies` — one-voice folk tunes: the Essen folk song collection (about 8 000 tunes,
  mostly German, as ABC) and O'Neill's *Music of Ireland* (1903, "1850 melodies"), both from
  music21's corpus.
* :func:`load_chorales` — Bach's four-part chorales from music21's corpus, parts 'S', 'A', 'T', 'B'.
* :func:`from_midi_folder` — the same kind of :class:`Dataset` built from a folder of your MIDI files.

A :class:`Dataset` is a list of :class:`~musegen_helpers.music.Piece` s with metadata and a fixed
train / valid / test split::

    ds = load_melodies()
    len(ds), ds[0], ds.meta[0]["title"]
    train = ds.split("train")               # about 80 % of the tune *families*
    tokens = train.tokens()                 # == [melody_to_tokens(p) for p in train]

Why split by family: folk tunes come in variants (Essen ids E0001, E0001A, E0001B are the same
tune as sung in different villages). If one variant were in training and another in testing,
the test would reward copying. So every variant of a tune lands in the same split, chosen by a
hash of the family name (the same on every machine, and it never changes when tunes are added).

The data live in ``datasets/`` as compressed numpy arrays (``*.npz``, loaded with
``allow_pickle=False``) plus a JSON file of metadata, so loading takes a fraction of a second
instead of the minutes music21 needs to parse the scores. ``python -m musegen_helpers.datasets
build`` remakes them from music21's corpus, byte for byte (see ``datasets/MANIFEST.md``).

Units: note starts and durations in quarter notes, pitches as MIDI numbers, tempo in quarter
notes per minute.

Lesson: 01_representation (also used by 02_rule_based, 03_lstm, 04_gan, 05_evaluation)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import sys
import time
import warnings
import zipfile
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .config import DATA_DIR
from .errors import LimitError, MusicFileError
from .music import PITCH_CLASS_NAMES, Note, Piece, parse_key
from .representation import melody_to_tokens
from .score_io import parse_abc, read_abc_tunes

__all__ = [
    "Dataset", "load_melodies", "load_chorales", "from_midi_folder", "write_example_midi_folder", "skyline", "split_of",
    "build", "SPLITS", "MELODY_COLLECTIONS", "FORMAT_VERSION",
]

FORMAT_VERSION = 1
SPLITS = ("train", "valid", "test")
#: Share of tune families in each split, in percent (train, valid, test).
SPLIT_PERCENT = (80, 10, 10)
MELODY_COLLECTIONS = ("essen", "oneill")
MELODIES_STEM = f"melodies-v{FORMAT_VERSION}"
CHORALES_STEM = f"chorales-v{FORMAT_VERSION}"
BUILD_COMMAND = "python -m musegen_helpers.datasets build"
MELODY_TEMPO = 120.0   # quarter notes per minute, when a tune gives none (Essen gives none)
CHORALE_TEMPO = 80.0   # a calm chorale tempo, quarter notes per minute
CHORALE_PARTS = ("S", "A", "T", "B")
CACHED_STEPS_PER_QUARTER = 4  # the token grid stored with the data (sixteenth notes)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed time stamp inside .npz files, so rebuilds are identical


# =======================================================================================
# Splits
# =======================================================================================
def split_of(family: str) -> str:
    """The split ('train', 'valid' or 'test') of a tune family, from a SHA-1 hash of its name.

    The hash makes the choice look random but be the same on every machine and every run; a
    family keeps its split when other tunes are added or removed. About 80 / 10 / 10 % of the
    families go to train / valid / test.
    """
    bucket = int.from_bytes(hashlib.sha1(str(family).encode("utf-8")).digest()[:8], "big") % 100
    if bucket < SPLIT_PERCENT[0]:
        return "train"
    if bucket < SPLIT_PERCENT[0] + SPLIT_PERCENT[1]:
        return "valid"
    return "test"


# =======================================================================================
# Storage: flat arrays of notes + a list of metadata dicts
# =======================================================================================
class _Store:
    """All notes of a dataset in flat arrays; piece ``i`` owns ``note_offsets[i]:note_offsets[i+1]``.

    Pieces are built only when asked for, so opening a dataset of 10 000 tunes is quick.
    """

    def __init__(self, name: str, arrays: dict, meta: list[dict], part_labels: Sequence[str],
                 report: dict | None = None, tokens_loader: Callable[[], tuple] | None = None):
        self.name = name
        self.pitch = arrays["pitch"]
        self.start = arrays["start"]
        self.duration = arrays["duration"]
        self.velocity = arrays["velocity"]
        self.part = arrays["part"]
        self.note_offsets = arrays["note_offsets"]
        self.meta = meta
        self.part_labels = list(part_labels)
        self.report = report or {}
        self._tokens_loader = tokens_loader
        self._token_cache: dict[int, dict] = {}
        self._id_index: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.meta)

    def index_of(self, piece_id: str) -> int:
        if self._id_index is None:
            self._id_index = {m["id"]: i for i, m in enumerate(self.meta)}
        try:
            return self._id_index[piece_id]
        except KeyError:
            raise KeyError(f"no piece with id {piece_id!r} in the {self.name} dataset; "
                           "see dataset.ids for the ids") from None

    def piece(self, i: int) -> Piece:
        """Piece ``i``, with tempo, meter, key and pickup as the Piece's typed fields.

        ``piece.pickup`` is the stored ``"pickup"`` (quarter notes), which then leaves the piece's
        ``meta`` (a copy of the stored metadata), so the two can never disagree after a slice.
        Meter changes stored with their position — ``[offset, "3/4"]`` pairs, as the chorales have
        them — become ``piece.time_signature_changes`` and leave ``meta`` too. The ABC melodies
        store theirs as bare strings (``["3/8", "3/4"]``) with no position: they cannot be placed,
        so they stay in ``meta["meter_changes"]`` only and the Piece keeps its opening meter.
        """
        a, b = int(self.note_offsets[i]), int(self.note_offsets[i + 1])
        labels = self.part_labels
        notes = [Note(p, s, d, v, labels[k] if k >= 0 else None)
                 for p, s, d, v, k in zip(self.pitch[a:b].tolist(), self.start[a:b].tolist(),
                                          self.duration[a:b].tolist(), self.velocity[a:b].tolist(),
                                          self.part[a:b].tolist())]
        m = self.meta[i]
        meta = dict(m)
        pickup = meta.pop("pickup", 0.0)
        changes = _placed_meter_changes(meta.get("meter_changes"))
        if changes:
            del meta["meter_changes"]
        return Piece(notes, tempo=m["tempo"], time_signature=tuple(m["time_signature"]), key=m["key"],
                     title=m["title"], source=m["source"],
                     tempo_changes=[tuple(c) for c in m.get("tempo_changes", [])], meta=meta,
                     pickup=pickup, time_signature_changes=changes)

    def tokens(self, steps_per_quarter: int, indices: Iterable[int]) -> list[np.ndarray]:
        """Tokens of the given pieces (read-only arrays), each computed once per grid and kept.

        The 16th-note grid comes precomputed with the shipped data; any other grid is encoded
        here, only for the pieces asked for.
        """
        cache = self._token_cache.setdefault(steps_per_quarter, {})
        if steps_per_quarter == CACHED_STEPS_PER_QUARTER and self._tokens_loader is not None \
                and not cache.get("_loaded"):
            stored = self._tokens_loader()
            if stored is not None:
                flat, offsets = stored
                flat = flat.astype(np.int32)
                flat.flags.writeable = False  # the views share one buffer; copy one before editing
                cache.update((i, flat[offsets[i]:offsets[i + 1]]) for i in range(len(self)))
            cache["_loaded"] = True
        out = []
        for i in indices:
            if i not in cache:
                t = melody_to_tokens(self.piece(i), steps_per_quarter)
                t.flags.writeable = False
                cache[i] = t
            out.append(cache[i])
        return out

    @classmethod
    def from_pieces(cls, name: str, pieces: Sequence[Piece], metas: Sequence[dict],
                    report: dict | None = None) -> "_Store":
        arrays, part_labels = _pack_notes(pieces)
        return cls(name, arrays, list(metas), part_labels, report)

    @classmethod
    def from_arrays(cls, name: str, columns: tuple[list, list, list, list], metas: Sequence[dict],
                    report: dict | None = None) -> "_Store":
        """A store of one-voice tunes (no part labels) from per-tune arrays: ``columns`` is
        (pitches, starts, durations, velocities), each a list with one sequence per tune."""
        pitch, start, duration, velocity = columns
        lengths = [len(p) for p in pitch]
        empty = np.zeros(0)
        arrays = {
            "pitch": np.concatenate([empty, *pitch]).astype(np.uint8),
            "start": np.concatenate([empty, *start]).astype(np.float64),
            "duration": np.concatenate([empty, *duration]).astype(np.float64),
            "velocity": np.concatenate([empty, *velocity]).astype(np.uint8),
            "part": np.full(sum(lengths), -1, np.int8),
            "note_offsets": np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64),
        }
        return cls(name, arrays, list(metas), [], report)


def _placed_meter_changes(stored) -> list[tuple[float, tuple[int, int]]]:
    """Stored meter changes as ``(position in quarter notes, (beats, unit))`` when every one is an
    ``[offset, "3/4"]`` pair; ``[]`` for none, or for changes stored without a position."""
    if not stored:
        return []
    out = []
    for change in stored:
        if not (isinstance(change, (list, tuple)) and len(change) == 2 and isinstance(change[1], str)):
            return []
        beats, _, unit = change[1].partition("/")
        if not (beats.isdigit() and unit.isdigit()):
            return []
        out.append((float(change[0]), (int(beats), int(unit))))
    return out


def _pack_notes(pieces: Sequence[Piece]) -> tuple[dict, list[str]]:
    """Flatten the notes of many pieces into arrays (in each Piece's own sorted order)."""
    labels: list[str] = []
    label_index: dict[str, int] = {}
    pitch, start, duration, velocity, part, offsets = [], [], [], [], [], [0]
    for piece in pieces:
        for n in piece.notes:
            pitch.append(n.pitch)
            start.append(n.start)
            duration.append(n.duration)
            velocity.append(n.velocity)
            if n.part is None:
                part.append(-1)
            else:
                if n.part not in label_index:
                    label_index[n.part] = len(labels)
                    labels.append(n.part)
                part.append(label_index[n.part])
        offsets.append(len(pitch))
    if len(labels) > 127:
        raise ValueError(f"{len(labels)} different part labels; a dataset holds at most 127.")
    arrays = {
        "pitch": np.asarray(pitch, dtype=np.uint8),
        "start": np.asarray(start, dtype=np.float64),
        "duration": np.asarray(duration, dtype=np.float64),
        "velocity": np.asarray(velocity, dtype=np.uint8),
        "part": np.asarray(part, dtype=np.int8),
        "note_offsets": np.asarray(offsets, dtype=np.int64),
    }
    return arrays, labels


# =======================================================================================
# Dataset
# =======================================================================================
class Dataset:
    """A list of Pieces with metadata and a fixed train / valid / test split.

    * ``len(ds)``, ``ds[i]`` (a Piece), ``ds["essen/erk10/1"]`` (by id), ``ds[:100]`` (a smaller
      Dataset), ``for piece in ds``.
    * ``ds.meta`` — one dict per piece with at least ``id, title, collection, key, meter, bars,
      family, split`` (and ``pickup``: the length of the upbeat in quarter notes, which each
      Piece has as ``piece.pickup``; meter changes with a stored position are the Piece's
      ``time_signature_changes``, those without one stay in its ``meta["meter_changes"]``).
    * ``ds.split("train" | "valid" | "test")`` — the pieces of one split.
    * ``ds.tokens(steps_per_quarter=4)`` — event tokens of every piece, equal to
      ``[melody_to_tokens(p, steps_per_quarter) for p in ds]`` but cached (fast). The arrays are
      read-only; ``.copy()`` one before changing it.
    * ``ds.filter(lambda m: m["meter"] == "3/4")`` — the pieces whose metadata pass a test.
    * ``ds.skipped`` — for :func:`from_midi_folder`, ``(file, reason)`` for every file left out.

    Lesson: 01_representation
    """

    def __init__(self, store: _Store, indices: Sequence[int] | None = None, name: str | None = None,
                 skipped: Sequence[tuple[str, str]] = ()):
        self._store = store
        self._indices = np.arange(len(store)) if indices is None else np.asarray(indices, dtype=np.int64)
        self.name = name or store.name
        self.skipped = list(skipped)

    def _view(self, indices, suffix: str) -> "Dataset":
        return Dataset(self._store, indices, f"{self.name}{suffix}", self.skipped)

    # ---- list-like -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, item):
        if isinstance(item, str):
            i = self._store.index_of(item)
            if i not in set(self._indices.tolist()):
                raise KeyError(f"piece {item!r} is in the {self._store.name} data but not in {self.name}.")
            return self._store.piece(i)
        if isinstance(item, slice):
            return self._view(self._indices[item], f"[{item.start or ''}:{item.stop or ''}]")
        if isinstance(item, (int, np.integer)):
            n = len(self._indices)
            if not -n <= item < n:
                raise IndexError(f"piece index {item} is out of range: this dataset has {n} pieces.")
            return self._store.piece(int(self._indices[item]))
        if isinstance(item, (list, tuple, np.ndarray)):
            return self._view(self._indices[np.asarray(item, dtype=np.int64)], "[...]")
        raise TypeError(f"index a Dataset with a number, a slice, a list of numbers or an id, not {item!r}.")

    def __iter__(self):
        for i in self._indices.tolist():
            yield self._store.piece(i)

    # ---- metadata ----------------------------------------------------------------------
    @property
    def meta(self) -> list[dict]:
        """One metadata dict per piece (copies: changing them changes nothing here)."""
        return [dict(self._store.meta[i]) for i in self._indices.tolist()]

    @property
    def ids(self) -> list[str]:
        """The piece ids, in order."""
        return [self._store.meta[i]["id"] for i in self._indices.tolist()]

    @property
    def report(self) -> dict:
        """How the data were built: counts, and every tune left out with the reason."""
        return self._store.report

    def split(self, name: str) -> "Dataset":
        """The pieces of one split: ``'train'`` (about 80 % of the families), ``'valid'`` or ``'test'``."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}: use one of {', '.join(SPLITS)}.")
        keep = [i for i in self._indices.tolist() if self._store.meta[i]["split"] == name]
        return self._view(keep, f".split({name!r})")

    def filter(self, keep: Callable[[dict], bool]) -> "Dataset":
        """The pieces whose metadata dict passes ``keep``, e.g. ``ds.filter(lambda m: m["bars"] <= 16)``."""
        chosen = [i for i in self._indices.tolist() if keep(dict(self._store.meta[i]))]
        return self._view(chosen, ".filter(...)")

    def tokens(self, steps_per_quarter: int = CACHED_STEPS_PER_QUARTER) -> list[np.ndarray]:
        """Event tokens of every piece (see :mod:`musegen_helpers.representation`).

        Equal to ``[melody_to_tokens(p, steps_per_quarter) for p in self]``; the 16th-note grid
        comes precomputed with the data, other grids are computed once and kept.
        """
        if int(steps_per_quarter) != steps_per_quarter or steps_per_quarter < 1:
            raise ValueError(f"steps_per_quarter must be a whole number >= 1 (4 = sixteenth notes), "
                             f"got {steps_per_quarter!r}.")
        return self._store.tokens(int(steps_per_quarter), self._indices.tolist())

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        splits = {s: 0 for s in SPLITS}
        for i in self._indices.tolist():
            m = self._store.meta[i]
            counts[m["collection"]] = counts.get(m["collection"], 0) + 1
            splits[m["split"]] = splits.get(m["split"], 0) + 1
        coll = ", ".join(f"{k} {v:,}" for k, v in counts.items())
        spl = ", ".join(f"{k} {v:,}" for k, v in splits.items())
        skipped = f"; {len(self.skipped)} files skipped" if self.skipped else ""
        return f"Dataset({self.name!r}: {len(self):,} pieces ({coll}); splits: {spl}{skipped})"


# =======================================================================================
# Loading the shipped data
# =======================================================================================
_LOADED: dict[tuple, _Store] = {}


def _missing(path: Path) -> FileNotFoundError:
    return FileNotFoundError(
        f"{path}: the dataset file is missing. Build the datasets with `{BUILD_COMMAND}` "
        f"(a few minutes), or `{BUILD_COMMAND} --out DIR` and set MUSEGEN_DATA_DIR=DIR; "
        "in a fresh copy of the course, `git pull` also brings the shipped files.")


def _open_store(stem: str, data_dir: str | os.PathLike | None) -> _Store:
    folder = Path(data_dir) if data_dir is not None else DATA_DIR
    npz_path, json_path = folder / f"{stem}.npz", folder / f"{stem}.json"
    for p in (json_path, npz_path):
        if not p.is_file():
            raise _missing(p)
    key = tuple((str(p.resolve()), p.stat().st_mtime_ns, p.stat().st_size) for p in (npz_path, json_path))
    if key in _LOADED:
        return _LOADED[key]
    try:
        with open(json_path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise MusicFileError(json_path, f"the dataset metadata cannot be read ({exc})",
                             f"rebuild it with `{BUILD_COMMAND}`") from None
    if doc.get("format") != "musegen-dataset" or doc.get("version") != FORMAT_VERSION:
        raise MusicFileError(json_path, f"not a version-{FORMAT_VERSION} musegen dataset "
                             f"(format {doc.get('format')!r}, version {doc.get('version')!r})",
                             f"rebuild it with `{BUILD_COMMAND}`")
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in ("pitch", "start", "duration", "velocity", "part", "note_offsets")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise MusicFileError(npz_path, f"the dataset arrays cannot be read ({type(exc).__name__}: {exc})",
                             f"rebuild them with `{BUILD_COMMAND}`") from None
    pieces = doc["pieces"]
    if len(arrays["note_offsets"]) != len(pieces) + 1:
        raise MusicFileError(npz_path, f"holds {len(arrays['note_offsets']) - 1} pieces but its metadata "
                             f"lists {len(pieces)}", f"rebuild both with `{BUILD_COMMAND}`")

    def tokens_loader():
        with np.load(npz_path, allow_pickle=False) as npz:
            if "tokens_spq4" not in npz.files:
                return None
            return npz["tokens_spq4"], npz["token_offsets"]

    store = _Store(doc["name"], arrays, pieces, doc["part_labels"], doc.get("build", {}), tokens_loader)
    for old in [k for k in _LOADED if k[0][0] == key[0][0]]:
        del _LOADED[old]  # an older version of the same file
    _LOADED[key] = store
    return store


def _check_limit(limit) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or int(limit) != limit or limit < 1:
        raise ValueError(f"limit must be a whole number of pieces >= 1 (or None for all), got {limit!r}.")
    return int(limit)


def load_melodies(collection: str | None = None, limit: int | None = None, *,
                  data_dir: str | os.PathLike | None = None) -> Dataset:
    """One-voice folk melodies (pieces whose notes start at 0, in quarter notes).

    Args:
        collection: ``'essen'`` (the Essen folk song collection, about 8 000 tunes), ``'oneill'``
            (O'Neill's *Music of Ireland*, 1903, about 1 800 tunes) or None for both.
        limit: keep only the first ``limit`` tunes (in the fixed dataset order), e.g. in fast mode.
        data_dir: folder holding the data files (default: the course's ``datasets/``).

    Each tune's metadata (``ds.meta[i]``) holds its ``id``, ``title``, ``collection``, ``key``,
    ``meter``, ``bars``, ``family``, ``split`` and ``pickup`` (length of the upbeat in quarter
    notes; the upbeat is at 0), and more (region, genre, grace notes left out, whether repeats were
    written out). The Piece has the pickup as ``piece.pickup`` (and its bars as ``piece.bars()``);
    its ``meta`` holds the rest. Meter changes inside an ABC tune have no stored position, so they
    are listed in ``meta["meter_changes"]`` but not applied to the Piece.

    Raises FileNotFoundError, saying how to build them, when the data files are missing.

    Lesson: 01_representation
    """
    if collection is not None and collection not in MELODY_COLLECTIONS:
        raise ValueError(f"unknown collection {collection!r}: use one of "
                         f"{', '.join(map(repr, MELODY_COLLECTIONS))}, or None for all.")
    limit = _check_limit(limit)
    store = _open_store(MELODIES_STEM, data_dir)
    indices = range(len(store)) if collection is None else \
        [i for i, m in enumerate(store.meta) if m["collection"] == collection]
    indices = list(indices)[:limit] if limit is not None else list(indices)
    return Dataset(store, indices, "melodies" if collection is None else f"melodies ({collection})")


def load_chorales(limit: int | None = None, *, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Bach's four-part chorales: every note's ``part`` is 'S', 'A', 'T' or 'B'.

    Keys and meters are those of the scores (an upbeat is ``piece.pickup``, a change of meter is in
    ``piece.time_signature_changes``); tempo is a calm 80 quarter notes per minute.
    ``meta`` adds the BWV number, the Riemenschneider number where there is one, and ``family``:
    harmonisations of the same hymn tune share a family (and so a split).

    Lesson: 04_gan
    """
    limit = _check_limit(limit)
    store = _open_store(CHORALES_STEM, data_dir)
    indices = list(range(len(store)))[:limit] if limit is not None else None
    return Dataset(store, indices, "chorales")


# =======================================================================================
# Your own music: a folder of MIDI files
# =======================================================================================
def skyline(piece: Piece) -> Piece:
    """The top line of a piece, in its own rhythm (not quantised), one note at a time.

    The "skyline" melody extraction (Uitdenbogerd & Zobel, 1998): drum notes are left out; of
    the notes that start together the highest is kept; a kept note ends where the next kept note
    starts — except that a lower note starting *while a higher melody note still sounds* is taken
    to be accompaniment and skipped, so a held melody note is not cut by the chords under it.
    Notes lose their part label (the result is one voice).

    Lesson: 01_representation
    """
    highest: dict[float, Note] = {}
    for n in piece.notes:
        if n.is_drum:
            continue
        if n.start not in highest or n.pitch > highest[n.start].pitch:
            highest[n.start] = n
    out: list[Note] = []
    for onset in sorted(highest):
        cand = highest[onset]
        if out and out[-1].end > onset + 1e-9:
            if out[-1].pitch > cand.pitch:
                continue  # a held melody note over a lower (accompanying) note
            out[-1] = replace(out[-1], duration=onset - out[-1].start)
        out.append(replace(cand, part=None))
    return piece.with_notes(out)


def _parse_melody_choice(melody: str):
    if melody == "skyline":
        return ("skyline", None)
    m = re.fullmatch(r"track:(\d+)", str(melody))
    if m:
        return ("track", int(m.group(1)))
    raise ValueError(f"unknown melody choice {melody!r}: use 'skyline' (the top line of all tracks) or "
                     "'track:N' (the top line of track N, counted from 0 as in mido).")


def _no_track(n_tracks: int, track: int) -> str:
    return f"has only {n_tracks} tracks (0–{n_tracks - 1}); no track {track}"


def _too_few(kind: str, track: int | None, count: int, min_notes: int) -> str:
    what = f"track {track}" if kind == "track" else "the file"
    return f"{what} has {count} melody notes (need at least {max(1, min_notes)})"


def _chosen_label(label: str | None, chosen: str) -> bool:
    """Whether a note's part label belongs to the chosen track's (load_midi adds ' ch N' to the
    labels of a track that uses several channels)."""
    return label == chosen or (label or "").startswith(chosen + " ch ")


def _too_long(end: float) -> str | None:
    """A reason to skip a tune that no token list could hold (a corrupt length, usually)."""
    from .representation import MAX_STEPS

    if end * CACHED_STEPS_PER_QUARTER > MAX_STEPS:
        return (f"its melody lasts {end:,.0f} quarter notes, too long for tokens (more than {MAX_STEPS:,} "
                "sixteenth-note steps); a note's length is probably corrupt")
    return None


def _tune_from_piece(piece: Piece, kind: str, track: int | None, min_notes: int):
    """The slow path, one file: (tune Piece moved to start at 0, its leading silence), or a reason."""
    source = piece
    if kind == "track":
        labels = piece.meta["track_labels"]
        if track >= len(labels):
            return _no_track(len(labels), track)
        source = piece.with_notes([n for n in piece.notes if _chosen_label(n.part, labels[track])])
    tune = skyline(source)
    if len(tune.notes) < max(1, min_notes):
        return _too_few(kind, track, len(tune.notes), min_notes)
    # a tune starts at its first note, as in the corpus datasets
    first = tune.notes[0].start
    if first > 0:
        tune = tune.with_notes([replace(n, start=n.start - first) for n in tune.notes],
                               tempo_changes=[(max(0.0, b - first), t) for b, t in tune.tempo_changes])
    too_long = _too_long(tune.end)
    if too_long:
        return too_long
    arrays = (np.array([n.pitch for n in tune.notes], np.uint8), np.array([n.start for n in tune.notes]),
              np.array([n.duration for n in tune.notes]), np.array([n.velocity for n in tune.notes], np.uint8))
    return tune, first, tune.n_bars, arrays


def _skyline_arrays(pitch, start, duration, velocity, rank):
    """:func:`skyline` on arrays (one row per note; ``rank`` orders the part labels as strings),
    giving the same notes: (pitch, start, duration, velocity) arrays of the top line, by start.

    Vectorised: after a kept note k, the next kept note is the first candidate that starts when
    k no longer sounds or that is at least as high; the chain of kept notes is followed by
    pointer doubling. tests/test_midi_folder.py checks it against :func:`skyline`."""
    if not len(pitch):
        return (np.zeros(0, np.uint8), np.zeros(0), np.zeros(0), np.zeros(0, np.uint8))
    # of the notes that start together, the highest; among equals the first in a Piece's order
    high_first = -pitch.astype(np.int16)
    order = np.lexsort((high_first, start))
    s, hp = start[order], high_first[order]
    if np.any((s[1:] == s[:-1]) & (hp[1:] == hp[:-1])):  # one pitch twice at one onset: full order
        order = np.lexsort((velocity, duration, rank, high_first, start))
        s = start[order]
    onset = np.empty(len(s), bool)
    onset[0] = True
    np.not_equal(s[1:], s[:-1], out=onset[1:])
    cand = order[onset]
    s, p, d, v = start[cand], pitch[cand].astype(np.int16), duration[cand], velocity[cand]
    n = len(s)
    end = s + d
    index = np.arange(n)
    # first later candidate that starts when this one no longer sounds (skyline's 1e-9 tolerance)
    free = np.maximum(np.searchsorted(s + 1e-9, end, side="left"), index + 1)
    # first later candidate at least as high: binary lifting over a sparse table of maxima
    tables = [np.append(p, 255)]  # position n: a sentinel higher than any pitch
    width = 1
    while width < n:
        t = tables[-1]
        tables.append(np.maximum(t, np.append(t[width:], np.full(width, 255, t.dtype))))
        width *= 2
    pos = index + 1
    for level in range(len(tables) - 1, -1, -1):
        step = 1 << level
        ok = tables[level][np.minimum(pos, n)] < p  # the whole block is lower: skip past it
        pos = np.where(ok & (pos + step <= n), pos + step, pos)
    higher = np.minimum(pos, n)
    nxt = np.append(np.minimum(free, higher), n)  # position n: the end, where the chain stays
    # the kept notes: 0, nxt[0], nxt[nxt[0]], ... (pointer doubling)
    jumps = [nxt]
    while (1 << len(jumps)) <= n:
        jumps.append(jumps[-1][jumps[-1]])
    path = np.zeros(1, np.int64)
    for jump in reversed(jumps):
        both = np.empty(2 * len(path), np.int64)
        both[0::2] = path
        both[1::2] = jump[path]
        path = both
    kept = path[path < n]
    kept = kept[np.r_[True, kept[1:] != kept[:-1]]] if len(kept) else kept
    following = nxt[kept]
    has_next = following < n
    dur = d[kept].copy()
    cut = has_next.copy()
    cut[has_next] = end[kept][has_next] > s[following[has_next]] + 1e-9  # still sounding: cut there
    dur[cut] = s[following[cut]] - s[kept][cut]
    return p[kept].astype(np.uint8), s[kept], dur, v[kept]


def _tune_from_arrays(midi, kind: str, track: int | None, min_notes: int):
    """The fast path, one file (a :class:`~musegen_helpers.midi_io.MidiArrays`): what
    :func:`_tune_from_piece` gives for ``midi.to_piece()``, without building a Note per note."""
    labels = midi.track_labels
    keep = ~midi.is_drum
    if kind == "track":
        if track >= len(labels):
            return _no_track(len(labels), track)
        chosen = np.array([_chosen_label(label, labels[track]) for label in labels])
        keep &= chosen[midi.track]
    rank_of = {label: i for i, label in enumerate(sorted(set(labels)))}
    rank = np.array([rank_of[label] for label in labels], np.int32)[midi.track[keep]]
    pitch, start, duration, velocity = _skyline_arrays(midi.pitch[keep], midi.start[keep], midi.duration[keep],
                                                       midi.velocity[keep], rank)
    if len(pitch) < max(1, min_notes):
        return _too_few(kind, track, len(pitch), min_notes)
    first = float(start[0])
    header = midi.header
    if first > 0:
        start = start - first
        header = header.with_notes([], tempo_changes=[(max(0.0, b - first), t) for b, t in header.tempo_changes])
    end = float((start + duration).max())
    too_long = _too_long(end)
    if too_long:
        return too_long
    n_bars = len(header.bars(end))
    return header, first, n_bars, (pitch, start, duration, velocity)


def from_midi_folder(path: str | os.PathLike, melody: str = "skyline", *, recursive: bool = True,
                     min_notes: int = 1, progress: bool = True, verbose: bool = True,
                     fast: bool = True) -> Dataset:
    """A Dataset of one-voice melodies from every MIDI file (``.mid``/``.midi``) in a folder.

    How the melody is taken from each file (``melody=``):

    * ``'skyline'`` — the top line of all pitched (non-drum) tracks together, see :func:`skyline`.
      Good for songs whose tune is the highest part; wrong when a high accompaniment (a flute
      obbligato, a hi-hat-like piano figure) lies above the tune.
    * ``'track:N'`` — only the notes of track ``N`` (counted from 0, as a MIDI editor or mido
      lists them; in type-1 files track 0 is often the conductor track with no notes), reduced to
      its own skyline in case it holds chords. Use it when you know which track sings the tune.
      Tracks are found by the names ``load_midi`` gives them, so two tracks with the same name
      are taken together.

    Files that cannot be read (:class:`MusicFileError`: corrupt, truncated, not MIDI; or too
    large), files with no melody notes, and files without the asked-for track are skipped; the
    reasons are in ``dataset.skipped`` and, with ``verbose=True``, printed. A progress bar shows
    while the files are read (``progress=False`` hides it). Each file is its own family; its
    split comes from a hash of its path relative to the folder, so it stays put as files are
    added. ``meta["id"]`` is that relative path. Notes: pitches as MIDI numbers, starts and
    durations in quarter notes from the tune's first note (``meta["leading_silence"]`` says how
    much silence came before it).

    Speed: with ``fast=True`` (the default) and symusic installed, each file is read by
    :func:`~musegen_helpers.midi_io.load_midi_arrays` (symusic's C++ parser, then numpy), about
    30 times faster than :func:`~musegen_helpers.midi_io.load_midi`; a file with anything that
    path cannot reproduce exactly (see its docs) is read by load_midi instead. The dataset is the
    same either way, note for note and skip for skip (tests/test_midi_folder.py checks it);
    ``fast=False`` reads every file with load_midi.

    Lesson: 03_lstm (your own music); 01_representation (skyline)
    """
    from tqdm.auto import tqdm

    from .midi_io import load_midi, load_midi_arrays

    kind, track = _parse_melody_choice(melody)
    folder = Path(path)
    if not folder.exists():
        raise MusicFileError(folder, "no such folder", f"check the path; the current folder is {Path.cwd()}")
    if not folder.is_dir():
        raise MusicFileError(folder, "this is a file, not a folder",
                             "pass the folder that holds your MIDI files (or use load_midi for one file)")
    pattern = "**/*" if recursive else "*"
    files = sorted((p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in (".mid", ".midi")),
                   key=lambda p: p.relative_to(folder).as_posix())
    if not files:
        raise MusicFileError(folder, "holds no .mid or .midi files",
                             "put MIDI files in it (sub-folders count when recursive=True)")
    metas, columns, skipped = [], ([], [], [], []), []
    n_fast = 0
    for p in tqdm(files, desc=f"reading {folder.name or folder}", unit="file", disable=not progress):
        rel = p.relative_to(folder).as_posix()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                arrays = load_midi_arrays(p) if fast else None
                if arrays is None:
                    result = _tune_from_piece(load_midi(p), kind, track, min_notes)
                else:
                    n_fast += 1
                    result = _tune_from_arrays(arrays, kind, track, min_notes)
        except (MusicFileError, LimitError) as exc:
            skipped.append((rel, str(exc).replace(f"{p}: ", "", 1)))
            continue
        if isinstance(result, str):
            skipped.append((rel, result))
            continue
        tune, first, n_bars, notes = result
        family = "midi:" + rel.rsplit(".", 1)[0]
        num, den = tune.time_signature
        meta = {
            "id": rel, "title": tune.title or p.stem, "collection": folder.name or "midi",
            "key": tune.key, "meter": f"{num}/{den}", "bars": n_bars, "family": family,
            "split": split_of(family), "pickup": 0.0, "tempo": tune.tempo,
            "time_signature": [num, den], "source": str(p), "melody": melody,
            "leading_silence": first,
        }
        if tune.tempo_changes:
            meta["tempo_changes"] = [list(c) for c in tune.tempo_changes]
        metas.append(meta)
        for column, values in zip(columns, notes):
            column.append(values)
    if verbose:
        print(f"{len(metas)} of {len(files)} MIDI files read from {folder}; {len(skipped)} skipped.")
        for rel, why in skipped:
            print(f"  skipped {rel}: {why}")
    store = _Store.from_arrays(f"midi folder {folder.name}", columns, metas, report={
        "skipped": [{"file": r, "reason": w} for r, w in skipped], "read_fast": n_fast})
    return Dataset(store, skipped=skipped)


def write_example_midi_folder(folder: str | os.PathLike, n_files: int = 6, *, seed: int = 0) -> Path:
    """Write a small folder of MIDI files to try :func:`from_midi_folder` on, as your own would be.

    ``n_files`` songs (type-1 files made with mido: a conductor track with title, tempo, meter and
    key; a 'melody' track (track 1); a 'chords' track of held triads below it; a 'bass' track; a drum
    track on channel 10), in C major, G major or A minor, 8 bars of 4/4, plus ``broken.mid`` — a song cut
    off in the middle, as a failed download would be. Refuses a folder that already holds MIDI
    files (FileExistsError). Returns the folder.

    Lesson: 03_lstm
    """
    import mido

    folder = Path(folder)
    if folder.is_dir() and any(folder.glob("*.mid")):
        raise FileExistsError(f"{folder} already holds MIDI files; pass a new or empty folder.")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tpb = 480
    keys = [("C", 60, [0, 2, 4, 5, 7, 9, 11]), ("G", 67, [0, 2, 4, 5, 7, 9, 11]), ("Am", 57, [0, 2, 3, 5, 7, 8, 10])]

    def track(name, channel, notes):
        events = []
        for start, length, pitch, velocity in notes:
            a, b = int(round(start * tpb)), int(round((start + length) * tpb))
            events += [(a, 1, pitch, velocity), (b, 0, pitch, 0)]
        events.sort()
        out = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        now = 0
        for t, is_on, pitch, velocity in events:
            out.append(mido.Message("note_on" if is_on else "note_off", note=pitch, velocity=velocity,
                                    channel=channel, time=t - now))
            now = t
        return out

    for i in range(int(n_files) + 1):
        key, tonic, scale = keys[i % len(keys)]
        mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
        mid.tracks.append(mido.MidiTrack([
            mido.MetaMessage("track_name", name=f"Example song {i + 1}"),
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(int(rng.integers(80, 130)))),
            mido.MetaMessage("time_signature", numerator=4, denominator=4),
            mido.MetaMessage("key_signature", key=key)]))
        melody, chords, bass, drums = [], [], [], []
        degree = 0
        for bar in range(8):
            root = int(rng.choice([0, 3, 4, 5])) if bar not in (0, 7) else 0
            for step in (0, 2, 4):
                chords.append((bar * 4.0, 4.0, tonic - 24 + scale[(root + step) % 7] + 12 * ((root + step) // 7), 60))
            bass.append((bar * 4.0, 2.0, tonic - 36 + scale[root], 70))
            bass.append((bar * 4.0 + 2, 2.0, tonic - 36 + scale[(root + 4) % 7], 70))
            for beat in range(4):
                drums.append((bar * 4.0 + beat, 0.25, 36 if beat % 2 == 0 else 38, 90))
            t = 0.0
            while t < 4.0:
                length = float(rng.choice([0.5, 1.0, 1.0, 1.5, 2.0]))
                length = min(length, 4.0 - t)
                degree = int(np.clip(degree + rng.integers(-2, 3), 0, 9))
                melody.append((bar * 4.0 + t, length, tonic + scale[degree % 7] + 12 * (degree // 7), 90))
                t += length
        mid.tracks += [track("melody", 0, melody), track("chords", 1, chords), track("bass", 2, bass),
                       track("drums", 9, drums)]
        name = "broken.mid" if i == n_files else f"song_{i + 1:02d}.mid"
        buffer = io.BytesIO()
        mid.save(file=buffer)
        data = buffer.getvalue()
        (folder / name).write_bytes(data[:len(data) // 2] if name == "broken.mid" else data)
    return folder


# =======================================================================================
# Builder: music21 corpus -> datasets/*.npz + *.json + MANIFEST.md
# =======================================================================================
def _corpus_dir() -> Path:
    import music21
    return Path(music21.__file__).resolve().parent / "corpus"


def _abc_tunes(path: Path) -> list[tuple[str, dict, str]]:
    """Split an ABC file into tunes: ``(X number as written, header fields, text)`` in file order,
    with :func:`~musegen_helpers.score_io.read_abc_tunes` (the package's one ABC reading).

    Header fields keep the first value of each letter (e.g. the first ``N:`` line, which in the
    Essen files is the tune's EsAC id such as 'E0001A'). The text includes the file header, if any.
    """
    return [(t.fields.get("X", "").strip(), t.fields, t.abc)
            for t in read_abc_tunes(path.read_text(encoding="utf-8")) if t.text.startswith("X:")]


def _melody_tasks(limit: int | None) -> list[dict]:
    corpus = _corpus_dir()
    tasks = []
    for collection, folder in (("essen", "essenFolksong"), ("oneill", "oneills1850")):
        n = 0
        for path in sorted((corpus / folder).glob("*.abc"), key=lambda p: p.name):
            for position, (x, fields, text) in enumerate(_abc_tunes(path)):
                if limit is not None and n >= limit:
                    break
                tasks.append({"kind": "abc", "collection": collection, "file": f"{folder}/{path.name}",
                              "stem": path.stem, "x": x, "position": position, "fields": fields, "text": text})
                n += 1
    return tasks


def _chorale_tasks(limit: int | None) -> list[dict]:
    folder = _corpus_dir() / "bach"
    files = sorted((p for p in folder.iterdir() if p.suffix in (".mxl", ".xml", ".krn")),
                   key=lambda p: p.name)
    if limit is not None:
        files = files[:limit]
    return [{"kind": "chorale", "collection": "bach", "file": f"bach/{p.name}", "stem": p.stem}
            for p in files]


def _key_name(tonic_pc: int, mode: str | None) -> str | None:
    name = f"{PITCH_CLASS_NAMES[tonic_pc % 12]} {mode or 'major'}"
    try:
        parse_key(name)
    except ValueError:
        return None
    return name


def _mode_from_third(tonic_pc: int, pitches: Sequence[int], durations: Sequence[float]) -> str:
    """'minor' when the minor third above the tonic sounds longer than the major third, else 'major'."""
    minor = sum(d for p, d in zip(pitches, durations) if (p - tonic_pc) % 12 == 3)
    major = sum(d for p, d in zip(pitches, durations) if (p - tonic_pc) % 12 == 4)
    return "minor" if minor > major else "major"


def _part_notes(part, choose: str = "highest"):
    """Notes of one music21 part: ``(pitches, starts, durations, grace notes dropped, chords reduced)``.

    Tied notes become one note; grace notes (no duration) are dropped and counted; a chord in a
    one-voice part keeps its highest (or lowest) note. Starts and durations are exact music21
    offsets turned into floats (a triplet eighth is 1/3 quarter note, as close as a float gets).
    Merging ties here, not with music21's ``stripTies``, makes the build several times faster
    (``stripTies`` re-beams the whole part); a test checks both give the same notes.
    """
    from music21 import chord as m21chord

    flat = part.flatten()
    pitches: list[int] = []
    starts: list[float] = []
    durs: list[float] = []
    open_tie: dict[int, int] = {}  # MIDI pitch -> index of the note a tie continues
    graces = chords = 0
    for el in flat.notes:
        ql = Fraction(el.duration.quarterLength)
        if el.duration.isGrace or ql == 0:
            graces += 1
            continue
        if isinstance(el, m21chord.Chord):
            chords += 1
            chosen = sorted(el.notes, key=lambda n: n.pitch.midi)[-1 if choose == "highest" else 0]
            midi, tie = chosen.pitch.midi, chosen.tie or el.tie
        else:
            midi, tie = el.pitch.midi, el.tie
        if not 0 <= midi <= 127:
            continue
        start = Fraction(flat.elementOffset(el))
        kind = tie.type if tie is not None else None
        i = open_tie.pop(midi, None)
        if i is not None and kind in ("stop", "continue") and abs(starts[i] + durs[i] - start) < 1e-9:
            durs[i] = start + ql - starts[i]  # the tied note goes on
        else:
            i = len(pitches)
            pitches.append(int(midi))
            starts.append(start)
            durs.append(ql)
        if kind in ("start", "continue"):
            open_tie[midi] = i
    return pitches, [float(x) for x in starts], [float(x) for x in durs], graces, chords


def _meter_info(part) -> tuple[list[int] | None, list]:
    """First time signature of a part and its later changes ``[[offset, "3/4"], ...]``, bar by bar.

    Read from the measures, not a flattened stream: music21 may put one TimeSignature object in
    several measures, and a flattened stream keeps only one of them.
    """
    from music21 import stream
    first, changes, last = None, [], None
    for m in part.getElementsByClass(stream.Measure):
        ts = m.timeSignature
        if ts is None:
            continue
        if first is None:
            first, last = [int(ts.numerator), int(ts.denominator)], ts.ratioString
        elif ts.ratioString != last:
            changes.append([float(Fraction(m.offset)), ts.ratioString])
            last = ts.ratioString
    return first, changes


def _abc_meter(value: str | None) -> list[int] | None:
    """An ABC ``M:`` value as [beats, beat unit]: '3/4' -> [3, 4], 'C' -> [4, 4], 'C|' -> [2, 2];
    None for 'none' (free meter) or anything else."""
    v = (value or "").strip()
    if v == "C":
        return [4, 4]
    if v == "C|":
        return [2, 2]
    m = re.match(r"(\d+)\s*/\s*(\d+)\b", v)  # also '2/2]', a stray bracket in one O'Neill tune
    return [int(m.group(1)), int(m.group(2))] if m else None


def _abc_body_meters(text: str, first: str | None) -> list[str]:
    """Meter changes written in the body of an ABC tune (``M:`` lines after ``K:``, or inline
    ``[M:3/4]``), in order, leaving out any that repeat the meter already in force."""
    body = text.split("\nK:", 1)[1].split("\n", 1)[-1] if "\nK:" in text else ""
    changes, current = [], (first or "").strip()
    for m in re.finditer(r"(?m)^M:\s*([^\n%]*?)\s*$|\[M:\s*([^\]]+?)\s*\]", body):
        meter = (m.group(1) or m.group(2) or "").strip()
        if meter and meter != current:
            changes.append(meter)
            current = meter
    return changes


def _bars(end: float, pickup: float, time_signature: Sequence[int]) -> int:
    """Bars of the (first) meter that the music after the upbeat reaches into, counting the last
    partly filled one."""
    bar = time_signature[0] * 4.0 / time_signature[1]
    return max(0, int(np.ceil((end - pickup) / bar - 1e-9)))


def _pickup(part) -> float:
    """Length in quarter notes of an incomplete first bar (an upbeat), 0 when the first bar is full."""
    from music21 import stream
    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        return 0.0
    m0 = measures[0]
    if m0.paddingLeft and m0.paddingLeft > 0:
        return float(Fraction(m0.duration.quarterLength))
    return 0.0


def _has_repeats(score) -> bool:
    from music21 import bar, spanner
    if any(True for _ in score.recurse().getElementsByClass(bar.Repeat)):
        return True
    return any(True for _ in score.recurse().getElementsByClass(spanner.RepeatBracket)) or \
        bool(score.spannerBundle.getByClass(spanner.RepeatBracket))


def _start_at_zero(notes: list[Note], pickup: float, time_signature: Sequence[int]) -> tuple[list[Note], float, float]:
    """Move a tune that opens with a rest so that its first note is at 0, as every tune is.

    Returns ``(notes, pickup, rest)``: the first bar line, which lay ``pickup`` quarter notes in
    (or one bar in, without an upbeat), now lies ``rest`` earlier, so the tune has an upbeat of
    that length (0 when the bar line falls on the first note).
    """
    rest = min((n.start for n in notes), default=0.0)
    if rest <= 0:
        return notes, pickup, 0.0
    bar = time_signature[0] * 4.0 / time_signature[1]
    first_bar_line = pickup if pickup > 0 else bar
    new_pickup = (first_bar_line - rest) % bar
    if abs(new_pickup) < 1e-9 or abs(new_pickup - bar) < 1e-9:
        new_pickup = 0.0
    return [replace(n, start=n.start - rest) for n in notes], float(new_pickup), float(rest)


def _fingerprint(pitches, starts, durations, parts) -> str:
    """Hash of the music up to transposition: parts, pitches relative to the first, rhythm."""
    ref = pitches[0] if pitches else 0
    h = hashlib.sha1()
    for p, s, d, k in zip(pitches, starts, durations, parts):
        h.update(f"{k}|{p - ref}|{s:.6f}|{d:.6f};".encode())
    return h.hexdigest()


def _finish(task: dict, notes: list[Note], meta: dict) -> dict:
    """Build the Piece (this sorts the notes), its tokens and its fingerprint."""
    ts = tuple(meta["time_signature"])
    piece = Piece(notes, tempo=meta["tempo"], time_signature=ts, key=meta["key"], title=meta["title"],
                  source=meta["source"], meta=meta)
    ordered = piece.notes
    tokens = melody_to_tokens(piece, CACHED_STEPS_PER_QUARTER)
    if tokens.size and (tokens.min() < 0 or tokens.max() > 255):
        raise ValueError("token out of the uint8 range")
    return {
        "status": "ok", "id": meta["id"], "meta": meta,
        "pitch": [n.pitch for n in ordered], "start": [n.start for n in ordered],
        "duration": [n.duration for n in ordered], "part": [n.part for n in ordered],
        "tokens": tokens.astype(np.uint8),
        "fingerprint": _fingerprint([n.pitch for n in ordered], [n.start for n in ordered],
                                    [n.duration for n in ordered], [n.part for n in ordered]),
    }


def _process_abc(task: dict) -> dict:
    from music21 import key as m21key, stream, tempo as m21tempo

    collection, fields = task["collection"], task["fields"]
    tid = f"{collection}/{task['stem']}/{task['x'] or task['position'] + 1}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the package's one ABC reading: ABC 2.1 (accidentals carry through the bar, as these
            # transcriptions, e.g. Essen's "=c2c2c2", expect) and fields changed mid-tune; beams
            # are skipped (notation only, and most of music21's ABC time)
            score = parse_abc(task["text"], beams=False)
            if isinstance(score, stream.Opus):
                score = score.scores[0]
            parts = list(score.parts) or [score]
            extra = {}
            if len(parts) > 1:
                extra["voices_dropped"] = len(parts) - 1  # keep the tune, leave out added voices
            pickup = _pickup(parts[0])
            repeats = "none"
            if _has_repeats(score):
                try:
                    score = score.expandRepeats()
                    repeats = "expanded"
                except Exception as exc:  # music21 cannot untangle some repeat structures
                    repeats = f"not expanded ({type(exc).__name__})"
            part = (list(score.parts) or [score])[0]
            pitches, starts, durs, graces, chords = _part_notes(part, "highest")
            flat = part.flatten()
            keys = list(flat.getElementsByClass(m21key.Key))
            marks = [m for m in flat.getElementsByClass(m21tempo.MetronomeMark) if m.number]
            tempo = float(marks[0].getQuarterBPM()) if marks else MELODY_TEMPO
            title = (score.metadata.title if score.metadata is not None and score.metadata.title else "") \
                or fields.get("T", "") or tid
    except Exception as exc:
        return {"status": "dropped", "id": tid, "reason": f"music21 could not parse it ({type(exc).__name__})"}
    if not pitches:
        return {"status": "dropped", "id": tid, "reason": "no notes"}
    # The meter is the M: field as written. music21's own time signatures are no guide here: where
    # a line of a tune ends without a bar line it splits the bar and invents a meter (1/4, 1/8).
    ts = _abc_meter(fields.get("M"))
    if ts is not None and ts[1] not in (1, 2, 4, 8, 16, 32):
        ts = None
    if fields.get("M") and fields["M"].lower() != "none" and (ts is None or fields["M"] != f"{ts[0]}/{ts[1]}"):
        extra["meter_as_written"] = fields["M"]
    meter_changes = _abc_body_meters(task["text"], fields.get("M"))
    if collection == "essen":
        # The Essen K: field names the tonic (the final), not a key signature; accidentals are
        # written out. So the mode is not given: call it minor when the minor third dominates.
        if keys:
            tonic = keys[0].tonic.pitchClass
            key = _key_name(tonic, _mode_from_third(tonic, pitches, durs))
        else:
            key = None
        family_id = re.sub(r"(?<=\d)[A-Z]+$", "", fields.get("N", "").split()[0]) if fields.get("N") else ""
        family = f"essen:{family_id}" if family_id else f"essen:{tid}"
        extra.update({"esac_id": fields.get("N", "").split()[0] if fields.get("N") else None,
                      "region": fields.get("O"), "genre": fields.get("R")})
    else:
        key = _key_name(keys[0].tonic.pitchClass, keys[0].mode) if keys else None
        number = task["x"]
        family = f"oneill:{number}"
        extra.update({"oneill_number": int(number) if number.isdigit() else number,
                      "rhythm": fields.get("R")})
    notes = [Note(p, s, d) for p, s, d in zip(pitches, starts, durs)]
    notes, pickup, rest = _start_at_zero(notes, pickup, ts or [4, 4])
    if rest:
        extra["leading_rest"] = rest  # quarter notes of silence removed before the first note
    meta = {
        "id": tid, "title": title, "collection": collection, "key": key,
        "meter": f"{ts[0]}/{ts[1]}" if ts else "none",
        "bars": _bars(max(n.end for n in notes), pickup, ts or [4, 4]), "family": family,
        "split": split_of(family), "pickup": pickup, "tempo": tempo,
        "time_signature": ts or [4, 4], "source": f"music21 corpus {task['file']} X:{task['x']}",
        "grace_notes_dropped": graces, "repeats": repeats,
    }
    if meter_changes:
        meta["meter_changes"] = meter_changes
    if chords:
        meta["chords_reduced"] = chords
    meta.update({k: v for k, v in extra.items() if v is not None})
    return _finish(task, notes, meta)


_VOICE_WORDS = {"soprano": "S", "s": "S", "cantus": "S", "discantus": "S", "alto": "A", "a": "A",
                "altus": "A", "tenor": "T", "t": "T", "bass": "B", "b": "B", "bassus": "B"}


def _voice_label(name: str | None) -> str | None:
    if not name:
        return None
    word = re.split(r"[\s.\d]+", str(name).strip().lower())[0]
    return _VOICE_WORDS.get(word)


def _chorale_catalogue() -> tuple[dict, dict]:
    """Titles by BWV number, and Riemenschneider numbers by file name, from music21's lists."""
    from music21.corpus import chorales
    titles = {str(k): v["title"] for k, v in chorales.ChoraleListRKBWV().byBWV.items()}
    riemenschneider: dict[str, int] = {}
    for number, entry in sorted(chorales.ChoraleListRKBWV().byRiemenschneider.items()):
        riemenschneider.setdefault(str(entry["bwv"]), int(number))
    return titles, riemenschneider


def _process_chorale(task: dict) -> dict:
    from music21 import converter, key as m21key

    tid = f"bach/{task['stem']}"
    path = _corpus_dir() / task["file"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = converter.parse(str(path), forceSource=True)
            parts = list(score.parts)
            if len(parts) != 4:
                names = ", ".join(str(p.partName or p.id) for p in parts).replace("\r", " ")
                return {"status": "dropped", "id": tid,
                        "reason": f"{len(parts)} parts ({names}); only four-part vocal scores are kept"}
            labels = [_voice_label(p.partName) or _voice_label(p.id if isinstance(p.id, str) else None)
                      for p in parts]
            mapped_by = "part names"
            if sorted(filter(None, labels)) != sorted(CHORALE_PARTS) or None in labels:
                # no usable names (e.g. Humdrum spines): highest average pitch is the soprano
                means = []
                for p in parts:
                    ps = [n.pitch.midi for n in p.flatten().getElementsByClass("Note")]
                    means.append(sum(ps) / len(ps) if ps else 0)
                order = sorted(range(4), key=lambda i: -means[i])
                labels = [None] * 4
                for rank, i in enumerate(order):
                    labels[i] = CHORALE_PARTS[rank]
                mapped_by = "average pitch"
            notes, graces, chords = [], 0, 0
            by_label = {}
            for p, lab in zip(parts, labels):
                ps, ss, ds, g, c = _part_notes(p, "highest" if lab in ("S", "A") else "lowest")
                graces += g
                chords += c
                by_label[lab] = (ps, ss, ds)
                notes += [Note(a, b, d, 80, lab) for a, b, d in zip(ps, ss, ds)]
            soprano = parts[labels.index("S")]
            pickup = _pickup(soprano)
            ts, meter_changes = _meter_info(soprano)
            keys = list(soprano.flatten().getElementsByClass(m21key.KeySignature))
            repeats = _has_repeats(score)
    except Exception as exc:
        return {"status": "dropped", "id": tid, "reason": f"music21 could not parse it ({type(exc).__name__})"}
    if not notes or any(not by_label[lab][0] for lab in CHORALE_PARTS):
        return {"status": "dropped", "id": tid, "reason": "a part has no notes"}
    key = None
    if keys:
        first = keys[0]
        encoded = first if isinstance(first, m21key.Key) else first.asKey("major")
        # A chorale ends on its tonic: pick the major or minor reading of the key signature whose
        # tonic is the last bass note; keep the encoded key when neither is (e.g. Phrygian endings).
        bass_ps, bass_ss, _ = by_label["B"]
        last_bass = bass_ps[max(range(len(bass_ps)), key=lambda i: bass_ss[i])] % 12
        chosen = encoded
        for mode in ("major", "minor"):
            k = first.asKey(mode)
            if k.tonic.pitchClass == last_bass:
                chosen = k
                break
        key = _key_name(chosen.tonic.pitchClass, chosen.mode)
    bwv = task["stem"][3:] if task["stem"].startswith("bwv") else task["stem"]
    base = bwv.split("-")[0]
    titles, riemenschneider = task["catalogue"]
    title = titles.get(bwv) or titles.get(base) or \
        (score.metadata.title if score.metadata is not None and score.metadata.title else "") or f"BWV {bwv}"
    notes, pickup, rest = _start_at_zero(notes, pickup, ts or [4, 4])
    meta = {
        "id": tid, "title": title, "collection": "bach", "key": key,
        "meter": f"{ts[0]}/{ts[1]}" if ts else "none",
        "bars": _bars(max(n.end for n in notes), pickup, ts or [4, 4]), "family": "",
        "split": "", "pickup": pickup, "tempo": CHORALE_TEMPO, "time_signature": ts or [4, 4],
        "source": f"music21 corpus {task['file']}", "bwv": bwv,
        "riemenschneider": riemenschneider.get(bwv) or riemenschneider.get(base),
        "parts_by": mapped_by, "grace_notes_dropped": graces, "repeat_signs": repeats,
        "leading_rest": rest or None,
    }
    if meter_changes:
        meta["meter_changes"] = meter_changes
    if chords:
        meta["chords_reduced"] = chords
    meta = {k: v for k, v in meta.items() if v is not None}
    result = _finish(task, notes, meta)
    # the hymn tune's opening: soprano pitch steps with repeated notes merged
    sp = [p for _, p in sorted(zip(by_label["S"][1], by_label["S"][0]))]
    sp = [p for i, p in enumerate(sp) if i == 0 or p != sp[i - 1]]
    result["incipit"] = tuple(b - a for a, b in zip(sp, sp[1:]))[:8]
    return result


def _process(task: dict) -> dict:
    try:
        return _process_abc(task) if task["kind"] == "abc" else _process_chorale(task)
    except Exception as exc:  # never let one odd tune stop a build of thousands
        tid = f"{task['collection']}/{task['stem']}/{task.get('x', '')}".rstrip("/")
        return {"status": "dropped", "id": tid, "reason": f"could not be converted ({type(exc).__name__}: {exc})"}


def _run_tasks(tasks: list[dict], workers: int, progress: bool, desc: str) -> list[dict]:
    from tqdm.auto import tqdm

    if workers > 1 and len(tasks) > 50:
        import multiprocessing
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            results = list(tqdm(pool.imap(_process, tasks, chunksize=8), total=len(tasks), desc=desc,
                                unit="tune", disable=not progress))
    else:
        results = [_process(t) for t in tqdm(tasks, desc=desc, unit="tune", disable=not progress)]
    return results


def _deduplicate(results: list[dict], dropped: list[dict]) -> list[dict]:
    """Keep the first of every group of identical tunes (identical up to transposition)."""
    seen: dict[str, str] = {}
    kept = []
    for r in results:
        first = seen.get(r["fingerprint"])
        if first is not None:
            dropped.append({"id": r["id"], "reason": f"duplicate of {first} (same music, maybe transposed)"})
            continue
        seen[r["fingerprint"]] = r["id"]
        kept.append(r)
    return kept


def _chorale_families(kept: list[dict]) -> None:
    """Harmonisations of one hymn tune form a family: same title, or the same soprano opening."""
    parent = list(range(len(kept)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i, j):
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    by_title: dict[str, int] = {}
    by_incipit: dict[tuple, int] = {}
    for i, r in enumerate(kept):
        title = re.sub(r"\W+", " ", r["meta"]["title"].lower()).strip()
        join(i, by_title.setdefault(title, i))
        if len(r["incipit"]) >= 6:
            join(i, by_incipit.setdefault(r["incipit"], i))
    for i, r in enumerate(kept):
        family = "bach:" + kept[root(i)]["meta"]["title"]
        r["meta"]["family"] = family
        r["meta"]["split"] = split_of(family)


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An ``.npz`` that is the same bytes every time: fixed entry order, date and permissions."""
    from .files import atomic_write

    def write(fh):
        with zipfile.ZipFile(fh, "w") as zf:
            for name in arrays:
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                info.external_attr = 0o644 << 16
                zf.writestr(info, buf.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)

    atomic_write(path, write)
    os.chmod(path, 0o644)  # a temporary file starts private; data files are for everyone to read


def _write_json(path: Path, doc: dict) -> None:
    """JSON with one piece per line (readable diffs), keys sorted, no time stamps."""
    from .files import atomic_write

    pieces = doc["pieces"]
    head = {k: v for k, v in doc.items() if k != "pieces"}
    lines = ["{"]
    for k in sorted(head):
        lines.append(f"{json.dumps(k)}: {json.dumps(head[k], sort_keys=True, ensure_ascii=False)},")
    lines.append('"pieces": [')
    lines.append(",\n".join(json.dumps(m, sort_keys=True, ensure_ascii=False) for m in pieces))
    lines.append("]}")
    text = "\n".join(lines) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
    os.chmod(path, 0o644)


def _save(out: Path, stem: str, name: str, kept: list[dict], build_info: dict) -> None:
    labels: list[str] = []
    for r in kept:
        for k in r["part"]:
            if k is not None and k not in labels:
                labels.append(k)
    # S, A, T, B in score order rather than in order of appearance
    labels.sort(key=lambda k: (CHORALE_PARTS.index(k) if k in CHORALE_PARTS else len(CHORALE_PARTS), k))
    order = {k: i for i, k in enumerate(labels)}
    offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r["pitch"]) for r in kept])
    tok_offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    tok_offsets[1:] = np.cumsum([len(r["tokens"]) for r in kept])
    cat = (lambda key, dtype: np.asarray([x for r in kept for x in r[key]], dtype=dtype))
    arrays = {
        "pitch": cat("pitch", np.uint8),
        "start": cat("start", np.float64),
        "duration": cat("duration", np.float64),
        "velocity": np.full(int(offsets[-1]), 80, dtype=np.uint8),
        "part": np.asarray([order[k] if k is not None else -1 for r in kept for k in r["part"]], dtype=np.int8),
        "note_offsets": offsets,
        "tokens_spq4": (np.concatenate([r["tokens"] for r in kept]) if kept else np.zeros(0, np.uint8)),
        "token_offsets": tok_offsets,
    }
    _write_npz(out / f"{stem}.npz", arrays)
    _write_json(out / f"{stem}.json", {"format": "musegen-dataset", "version": FORMAT_VERSION, "name": name,
                                       "part_labels": labels, "build": build_info,
                                       "pieces": [r["meta"] for r in kept]})


def _summary(kept: list[dict], dropped: list[dict], n_source: dict) -> dict:
    by_collection: dict[str, dict] = {}
    for r in kept:
        m = r["meta"]
        c = by_collection.setdefault(m["collection"], {"pieces": 0, "families": set(),
                                                       **{s: 0 for s in SPLITS},
                                                       **{f"{s}_families": set() for s in SPLITS}})
        c["pieces"] += 1
        c[m["split"]] += 1
        c["families"].add(m["family"])
        c[f"{m['split']}_families"].add(m["family"])
    counts = {}
    for name, c in by_collection.items():
        counts[name] = {k: (len(v) if isinstance(v, set) else v) for k, v in c.items()}
        counts[name]["source_tunes"] = n_source.get(name, 0)
    reasons: dict[str, int] = {}
    for d in dropped:
        short = re.sub(r" of \S+ ", " of another tune ", d["reason"])
        short = re.sub(r"^\d+ parts \(.*\)", "not four vocal parts", short)
        short = re.sub(r"O'Neill number \d+ again \(kept \S+\)",
                       "the same O'Neill number in two overlapping files (the first is kept)", short)
        reasons[short] = reasons.get(short, 0) + 1
    return {"counts": counts, "dropped": dropped, "dropped_by_reason": dict(sorted(reasons.items()))}


def build(out_dir: str | os.PathLike | None = None, limit: int | None = None, workers: int = 2,
          progress: bool = True, manifest: bool = True) -> dict:
    """Rebuild the datasets from music21's corpus into ``out_dir`` (default: the course's ``datasets/``).

    ``limit`` takes only the first ``limit`` tunes of each collection (Essen, O'Neill, the Bach
    folder), in a fixed order (files sorted by name, tunes in file order), so a quick build can be
    compared with the full one. The same inputs give the same bytes. Returns the build summary.

    Lesson: 01_representation
    """
    import music21

    limit = _check_limit(limit)
    out = Path(out_dir) if out_dir is not None else DATA_DIR
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    # ---- melodies --------------------------------------------------------------------
    tasks = _melody_tasks(limit)
    n_source = {c: sum(t["collection"] == c for t in tasks) for c in MELODY_COLLECTIONS}
    results = _run_tasks(tasks, workers, progress, "melodies")
    dropped = [{"id": r["id"], "reason": r["reason"]} for r in results if r["status"] != "ok"]
    ok = [r for r in results if r["status"] == "ok"]
    # O'Neill's files overlap (two transcriptions of 0732-0758, of 1116-1135, ...): one per number
    numbers: dict[str, str] = {}
    unique = []
    for r in ok:
        if r["meta"]["collection"] == "oneill":
            number = str(r["meta"].get("oneill_number"))
            if number in numbers:
                dropped.append({"id": r["id"], "reason": f"O'Neill number {number} again (kept {numbers[number]})"})
                continue
            numbers[number] = r["id"]
        unique.append(r)
    kept = _deduplicate(unique, dropped)
    version = music21.__version__ if hasattr(music21, "__version__") else str(music21.VERSION_STR)
    info = {"command": BUILD_COMMAND + (f" --limit {limit}" if limit else ""), "limit": limit,
            "music21_version": version, "token_steps_per_quarter": CACHED_STEPS_PER_QUARTER,
            **_summary(kept, dropped, n_source)}
    _save(out, MELODIES_STEM, "melodies", kept, info)
    melody_info = info

    # ---- chorales --------------------------------------------------------------------
    catalogue = _chorale_catalogue()
    ctasks = _chorale_tasks(limit)
    for t in ctasks:
        t["catalogue"] = catalogue
    cresults = _run_tasks(ctasks, workers, progress, "chorales")
    cdropped = [{"id": r["id"], "reason": r["reason"]} for r in cresults if r["status"] != "ok"]
    ckept = _deduplicate([r for r in cresults if r["status"] == "ok"], cdropped)
    _chorale_families(ckept)
    cinfo = {"command": BUILD_COMMAND + (f" --limit {limit}" if limit else ""), "limit": limit,
             "music21_version": version, "token_steps_per_quarter": CACHED_STEPS_PER_QUARTER,
             **_summary(ckept, cdropped, {"bach": len(ctasks)})}
    _save(out, CHORALES_STEM, "chorales", ckept, cinfo)

    seconds = time.perf_counter() - started
    summary = {"melodies": melody_info, "chorales": cinfo, "seconds": seconds, "workers": workers}
    if manifest:
        _write_manifest(out, seconds, workers)
    return summary


# ---------------------------------------------------------------------------------------
# MANIFEST.md
# ---------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _licence_text(relative: str) -> str:
    path = _corpus_dir() / relative
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "(licence file not found in this music21 installation)"
    body = [line for line in text.splitlines() if not line.startswith("#")]
    return "\n".join("> " + line if line.strip() else ">" for line in "\n".join(body).strip().splitlines())


def _caveats(pieces: list[dict]) -> list[str]:
    """Lines for the manifest: what was changed in the tunes that were kept."""
    n = len(pieces)
    count = (lambda test: sum(1 for m in pieces if test(m)))
    graces = sum(m.get("grace_notes_dropped", 0) for m in pieces)
    not_expanded = [m["id"] for m in pieces if str(m.get("repeats", "")).startswith("not expanded")]
    lines = [
        f"* {count(lambda m: m.get('repeats') == 'expanded')} of {n} tunes had their repeats written out; "
        f"{len(not_expanded)} could not be (kept as written: {', '.join(f'`{i}`' for i in not_expanded) or '—'}).",
        f"* {graces} grace notes left out, in {count(lambda m: m.get('grace_notes_dropped'))} tunes.",
        f"* {count(lambda m: m.get('pickup', 0) > 0)} tunes open with an upbeat; "
        f"{count(lambda m: m.get('leading_rest'))} opened with a rest, now removed (`leading_rest`).",
        f"* {count(lambda m: m.get('meter') == 'none')} tunes in free meter (`M: none`), "
        f"{count(lambda m: m.get('meter_changes'))} with written meter changes, "
        f"{count(lambda m: m.get('chords_reduced'))} with chords reduced to their top note.",
    ]
    essen = [m for m in pieces if m.get("collection") == "essen"]
    if essen:
        minor = sum(1 for m in essen if (m.get("key") or "").endswith("minor"))
        lines.append(f"* Essen modes guessed from the third: {len(essen) - minor} major, {minor} minor.")
    return lines


def _write_manifest(out: Path, seconds: float, workers: int) -> None:
    """Write ``MANIFEST.md`` from the data files in ``out`` (counts, checksums, licences)."""
    from .files import atomic_write

    docs = {}
    for stem in (MELODIES_STEM, CHORALES_STEM):
        with open(out / f"{stem}.json", encoding="utf-8") as fh:
            docs[stem] = json.load(fh)
    mel, cho = docs[MELODIES_STEM]["build"], docs[CHORALES_STEM]["build"]
    summary = {"seconds": seconds, "workers": workers}
    lines = [
        "# Datasets — manifest",
        "",
        "Written by the builder; do not edit by hand. Rebuild (byte for byte the same data files):",
        "",
        "```",
        mel["command"] + "            # all tunes, 2 worker processes",
        f"{BUILD_COMMAND} --limit 20 --out /tmp/small   # the first 20 of each collection",
        "```",
        "",
        f"Built with music21 {mel['music21_version']}; the last build took "
        f"{summary['seconds']:.0f} s with {summary['workers']} worker processes.",
        "Loading: `from musegen_helpers.datasets import load_melodies, load_chorales`.",
        "",
        "## Files",
        "",
        "| file | bytes | SHA-256 |",
        "|---|---:|---|",
    ]
    for stem in (MELODIES_STEM, CHORALES_STEM):
        for suffix in (".npz", ".json"):
            p = out / f"{stem}{suffix}"
            lines.append(f"| `{p.name}` | {p.stat().st_size} | `{_sha256(p)}` |")
    lines += [
        "",
        "Each `.npz` holds flat arrays (`pitch` uint8 MIDI, `start` and `duration` float64 in quarter",
        "notes, `velocity`, `part` index into the JSON's `part_labels`, `note_offsets`; `tokens_spq4`",
        "and `token_offsets`: `melody_to_tokens` on the 16th-note grid, cached). The `.json` holds one",
        "metadata line per piece and a `build` record with the counts and every tune left out.",
        "No pickles: load with `np.load(path, allow_pickle=False)`.",
        "",
        "## Counts",
        "",
        "| collection | source tunes | kept | families | train | valid | test | train families "
        "| valid families | test families |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for info in (mel, cho):
        for name, c in info["counts"].items():
            lines.append(f"| {name} | {c['source_tunes']} | {c['pieces']} | {c['families']} | {c['train']} | "
                         f"{c['valid']} | {c['test']} | {c['train_families']} | {c['valid_families']} | "
                         f"{c['test_families']} |")
    lines += [
        "",
        "Splits are by family (`split_of(family)`: SHA-1 of the family name, 80 / 10 / 10 % of the",
        "families), so no variant of a test tune is in the training data:",
        "",
        "* **essen** — the family is the EsAC id in the tune's first `N:` field without its variant",
        "  letters (`E0001`, `E0001A`, `E0001B` → `essen:E0001`). Some ids appear more than once in the",
        "  corpus (the `test*.abc` files repeat tunes of `han1.abc`; `C0000` is used for several",
        "  tunes); those share a family, which only makes the split more careful.",
        "* **oneill** — each O'Neill number is its own family (`oneill:123`).",
        "* **bach** — harmonisations of the same hymn tune: chorales with the same title (from",
        "  music21's Riemenschneider/BWV list) or the same soprano opening (the first 8 pitch steps,",
        "  repeated notes merged) form one family, named after its first chorale's title.",
        "",
        "## What was done to the music",
        "",
        "* ABC tunes are parsed one by one with music21 (`converter.parse(text, format='abc')`).",
        "  Ties are merged; grace notes are left out and counted (`meta['grace_notes_dropped']`);",
        "  tuplets keep exact durations (a triplet eighth is 1/3 quarter note; tokens quantise it);",
        "  a chord in a tune keeps its top note (`chords_reduced`).",
        "* Notes start at 0; an upbeat is at 0 and `meta['pickup']` gives its length in quarter notes.",
        "* Repeats are written out with music21's `expandRepeats()`; when that fails the tune is kept",
        "  as written and `meta['repeats']` says so. Chorales keep their repeat signs unexpanded.",
        "* The first time signature is the Piece's; later changes are in `meta['meter_changes']`.",
        "  Tunes marked `M: none` (free meter) get 4/4 as a placeholder and `meter` = 'none'.",
        "* Essen keys: the `K:` field of these files names the final (tonic) with all accidentals",
        "  written out, so the mode is guessed: minor when the minor third above the tonic sounds",
        "  longer than the major third. O'Neill keys are as written. Chorale keys: the major or minor",
        "  reading of the key signature whose tonic is the last bass note (else the encoded key).",
        "* Duplicates (the same notes and rhythm, also when transposed) are removed before splitting,",
        "  keeping the first in the order above. O'Neill's overlapping files keep one tune per number.",
        "* Tempo: 120 quarter notes per minute for tunes without a `Q:` field; chorales 80.",
        "* Chorales: only scores with exactly four parts named Soprano/Alto/Tenor/Bass (or, without",
        "  names, four parts ordered by average pitch) are kept; parts are labelled S, A, T, B.",
        "",
        "## Kept, with changes",
        "",
        *_caveats(docs[MELODIES_STEM]["pieces"]),
        "",
        "## Left out",
        "",
        "| dataset | reason | tunes |",
        "|---|---|---:|",
    ]
    for label, info in (("melodies", mel), ("chorales", cho)):
        for reason, n in info["dropped_by_reason"].items():
            lines.append(f"| {label} | {reason} | {n} |")
    lines += ["", "<details><summary>Every tune left out, with the reason</summary>", ""]
    for info in (mel, cho):
        for d in info["dropped"]:
            lines.append(f"- `{d['id']}`: {d['reason']}")
    lines += [
        "", "</details>", "",
        "## Sources and licences",
        "",
        "All music comes from the corpus shipped with music21 (BSD-licensed software; the corpus",
        "files keep their own terms). These data files are **not** covered by the licence of the",
        "course's code: the Essen encodings are licensed for non-commercial use only, and the notices",
        "below apply. Use them for teaching and study.",
        "",
        "**Essen folk song collection** (`music21/corpus/essenFolksong/`), its `license.txt` says:",
        "",
        _licence_text("essenFolksong/license.txt"),
        "",
        "**O'Neill's Music of Ireland** (`music21/corpus/oneills1850/`): Francis O'Neill's",
        "collection of 1850 melodies, published in Chicago in 1903. The ABC files were typed in by",
        "volunteers, named in each tune's `Z:` field (\"Transcribed by Norbert Paap\", \"... Henrik",
        "Norbeck\", \"... Bob Safranek\", \"1997 by John Chambers\", ...). The folder has no licence",
        "file of its own, so the corpus-wide notice below applies.",
        "",
        "**Bach chorales** (`music21/corpus/bach/`): Bach's music is in the public domain; the",
        "encodings are distributed with music21 under the corpus-wide notice below.",
        "",
        "**music21 corpus** (`music21/corpus/license.txt`):",
        "",
        _licence_text("license.txt"),
        "",
    ]
    text = "\n".join(lines)
    atomic_write(out / "MANIFEST.md", lambda fh: fh.write(text.encode("utf-8")))
    os.chmod(out / "MANIFEST.md", 0o644)


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m musegen_helpers.datasets",
                                     description="Build the course datasets from music21's corpus.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="parse the corpus and write datasets/*.npz, *.json, MANIFEST.md")
    b.add_argument("--limit", type=int, default=None, help="only the first N tunes of each collection")
    b.add_argument("--out", default=None, help=f"output folder (default {DATA_DIR})")
    b.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    b.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    # call through the package module so worker processes can import the task function
    import importlib
    module = importlib.import_module("musegen_helpers.datasets")
    summary = module.build(args.out, limit=args.limit, workers=max(1, args.workers),
                           progress=not args.no_progress)
    out = Path(args.out) if args.out else DATA_DIR
    for name in ("melodies", "chorales"):
        for coll, c in summary[name]["counts"].items():
            print(f"{coll}: {c['pieces']} pieces kept of {c['source_tunes']} "
                  f"(train {c['train']}, valid {c['valid']}, test {c['test']})")
        print(f"{name}: {len(summary[name]['dropped'])} left out")
    print(f"wrote {out} in {summary['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
