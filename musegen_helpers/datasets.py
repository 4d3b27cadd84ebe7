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

import hashlib
import io
import json
import os
import re
import sys
import warnings
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .config import DATA_DIR
from .errors import LimitError, MusicFileError
from .music import Note, Piece
from .representation import melody_to_tokens

__all__ = [
    "Dataset", "load_melodies", "load_chorales", "from_midi_folder", "write_example_midi_folder", "skyline", "split_of",
    "SPLITS", "MELODY_COLLECTIONS", "FORMAT_VERSION",
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


def check_limit(limit) -> int | None:
    """``limit`` as a whole number >= 1 (or None for no limit); a ValueError says what to pass."""
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
    limit = check_limit(limit)
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
    limit = check_limit(limit)
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


def _skyline_batch(file, ticks, length, pitch, velocity, rank, tpb, n_files):
    """:func:`skyline` of many files at once, on arrays (one row per note, rows grouped by file in
    file order; ``ticks``/``length`` in ticks, ``tpb`` the ticks per quarter note of each file,
    ``rank`` orders each note's part label as a string among its file's labels). Gives the same
    notes as skyline on each file's Piece: ``(pitch, start, duration, velocity, offsets)`` — the
    top lines, file after file, by start (quarter notes, float64), and where each file's begin
    (shape ``(n_files + 1,)``).

    Vectorised over the whole folder: after a kept note k, the next kept note is the first
    candidate of its file that starts when k no longer sounds or that is at least as high. Times are compared as skyline compares
    them (quarter-note floats with its 1e-9 tolerance); sorting by ticks is the same as sorting by
    quarter notes, since each file has one tick length. tests/test_midi_folder.py checks it
    against :func:`skyline`."""
    n = len(pitch)
    if not n:
        return (np.zeros(0, np.uint8), np.zeros(0), np.zeros(0), np.zeros(0, np.uint8),
                np.zeros(n_files + 1, np.int64))
    # sort by (file, tick, pitch), rows in their order within each: each onset's highest note is
    # the last of its group. One sort of the values of int64 keys that end with the row number
    # (numpy's stable sort merges the runs the rows already are: a track each, in time order).
    row_bits = max(1, (n - 1).bit_length())
    tick_bits = int(ticks.max()).bit_length()
    if int(ticks.min()) >= 0 and int(file[-1]).bit_length() + tick_bits + 7 + row_bits <= 63:
        key = file.astype(np.int64)
        key <<= tick_bits
        key |= ticks
        key <<= 7
        key |= pitch
        key <<= row_bits
        key |= np.arange(n)
        key.sort(kind="stable")
        order = key & ((1 << row_bits) - 1)
        k = key >> row_bits
    else:  # a tick past 2**31 or a huge folder: sort the rows by a key without them
        key = (file.astype(np.int64) << 38) | (ticks.astype(np.int64) << 7) | pitch
        order = np.argsort(key, kind="stable")
        k = key[order]
    last = np.empty(n, bool)
    last[-1] = True
    onset = k >> 7
    np.not_equal(onset[1:], onset[:-1], out=last[:-1])
    ends_at = np.flatnonzero(last)  # the last row of each onset
    cand = order[ends_at]
    same = np.zeros(n, bool)
    np.equal(k[1:], k[:-1], out=same[1:])
    tied = np.flatnonzero(same & last)
    if len(tied):
        # the highest pitch twice at one onset: skyline keeps the first in a Piece's order (part
        # label, duration, velocity). Gather each tied run backwards from its onset's last row.
        rows, runs, cur, run = [tied], [np.arange(len(tied))], tied, np.arange(len(tied))
        while True:
            more = same[cur]
            cur, run = cur[more] - 1, run[more]
            if not len(cur):
                break
            rows.append(cur)
            runs.append(run)
        members, run = order[np.concatenate(rows)], np.concatenate(runs)
        pick = np.lexsort((velocity[members], length[members], rank(members), run))
        firsts = pick[np.r_[True, run[pick][1:] != run[pick][:-1]]]
        cand[np.searchsorted(ends_at, tied[run[firsts]])] = members[firsts]
    f = file[cand]
    q = tpb[f]
    s, d = ticks[cand] / q, length[cand] / q
    p, v = pitch[cand], velocity[cand]
    m = len(s)
    end = s + d
    # after candidate k, the next kept note is the first later candidate of its file that starts
    # when k no longer sounds (skyline's 1e-9 tolerance on quarter-note floats) or that is at least
    # as high — or the file's end (where the next file's candidates begin). Usually it is the very
    # next candidate; the others are found by stepping forward together, and the few with a long
    # window (a note held over many onsets) one by one.
    lifted = s + 1e-9
    pos = np.arange(1, m + 1)
    active = np.flatnonzero((lifted[1:] < end[:-1]) & (f[1:] == f[:-1]) & (p[1:] < p[:-1]))
    if len(active):
        file_end = np.searchsorted(f, np.arange(1, n_files + 1))[f[active]]
        step = active + 1  # not the answer: the row to try next is step + 1
        for _ in range(32):
            step = step + 1
            at = np.minimum(step, m - 1)
            hit = (step >= file_end) | (lifted[at] >= end[active]) | (p[at] >= p[active])
            pos[active[hit]] = step[hit]
            active, step, file_end = active[~hit], step[~hit], file_end[~hit]
            if not len(active):
                break
        for k, j, stop in zip(active.tolist(), (step + 1).tolist(), file_end.tolist()):
            found = np.flatnonzero((lifted[j:stop] >= end[k]) | (p[j:stop] >= p[k]))
            pos[k] = j + int(found[0]) if len(found) else stop
        # the kept notes: 0, pos[0], pos[pos[0]], ... — one chain through every file, since a
        # file's last kept note leads to the next file's first candidate. Most candidates lead to
        # the very next one; a kept "jumper" (a held higher note over lower ones) drops the
        # candidates it skips. A jumper past the reach of every earlier one is kept (nothing skips
        # it); after a kept jumper, the next kept one is the first jumper at or past its reach, so
        # the chain is followed only through the jumpers that lie in an earlier one's reach.
        jumpers = np.flatnonzero(pos > np.arange(1, m + 1))
        reach = pos[jumpers]
        keep = np.ones(len(jumpers), bool)
        keep[1:] = jumpers[1:] >= np.maximum.accumulate(reach)[:-1]
        heads = np.flatnonzero(keep[:-1] & ~keep[1:])
        if len(heads):
            then = np.searchsorted(jumpers, reach).tolist()
            free, chain = keep.tolist(), []
            for i in heads.tolist():
                i = then[i]
                while i < len(free) and not free[i]:
                    chain.append(i)
                    i = then[i]
            keep[chain] = True
        skipped = np.zeros(m + 1, np.int8)  # +1 from a kept jumper's next candidate, -1 at its reach
        skipped[jumpers[keep] + 1] = 1
        skipped[reach[keep]] = -1
        kept = np.flatnonzero(np.cumsum(skipped[:m], dtype=np.int8) == 0)
    else:
        kept = np.arange(m)
    following = pos[kept]
    f_kept, s_kept, dur = f[kept], s[kept], d[kept]
    has_next = following < m
    has_next[has_next] = f[following[has_next]] == f_kept[has_next]
    nexts = s[following[has_next]]
    cut = end[kept[has_next]] > nexts + 1e-9  # still sounding when the next kept note starts: cut there
    where = np.flatnonzero(has_next)[cut]
    dur[where] = nexts[cut] - s_kept[where]
    offsets = np.searchsorted(f_kept, np.arange(n_files + 1)).astype(np.int64)
    return p[kept], s_kept, dur, v[kept], offsets


def _bar_counts(headers: list[Piece], ends: np.ndarray) -> list[int]:
    """``len(header.bars(end))`` for each header and end (quarter notes), asking each meter map
    for its bars once: a piece's bars up to ``end`` are the first bars of the same map up to any
    later point, those that start before ``end`` (one at least)."""
    groups: dict[tuple, list[int]] = {}
    for i, h in enumerate(headers):
        groups.setdefault((h.time_signature, tuple(h.time_signature_changes), h.pickup), []).append(i)
    out = [0] * len(headers)
    for members in groups.values():
        e = ends[members]
        starts = np.array([bar.start for bar in headers[members[0]].bars(float(e.max()))])
        counts = np.searchsorted(starts, e, side="left")
        for i, c, x in zip(members, counts.tolist(), e.tolist()):
            if c and starts[c - 1] > x - 1e-6:  # a bar line within rounding of the end: ask bars()
                c = len(headers[i].bars(x))
            out[i] = max(c, 1)
    return out


def _tunes_from_batch(batch, kind: str, track: int | None, min_notes: int) -> dict:
    """The fast path, all files read by :func:`~musegen_helpers.midi_io.load_midi_batch` at once:
    for each file index read there, what :func:`_tune_from_piece` gives for its Piece (a reason to
    skip it, or ``(header, leading silence, bars, (pitch, start, duration, velocity))``)."""
    n_files = len(batch)
    results: dict = {}
    # per track of every file read: whether its notes are melody candidates, and its label's rank
    chosen_parts, rank_parts, track_base = [], [], np.zeros(n_files + 1, np.int64)
    for i, header in enumerate(batch.headers):
        labels = header.meta["track_labels"] if header is not None else []
        track_base[i + 1] = track_base[i] + len(labels)
        if header is None:
            continue
        if kind == "track":
            if track >= len(labels):
                results[i] = _no_track(len(labels), track)
                chosen_parts.append([False] * len(labels))
            else:
                chosen_parts.append([_chosen_label(label, labels[track]) for label in labels])
        else:
            chosen_parts.append([True] * len(labels))
        rank_of = {label: r for r, label in enumerate(sorted(set(labels)))}
        rank_parts.append([rank_of[label] for label in labels])
    flat = lambda parts, dtype: np.array([x for part in parts for x in part], dtype)  # noqa: E731
    chosen, ranks = flat(chosen_parts, bool), flat(rank_parts, np.int32)
    notes = (batch.file, batch.ticks, batch.length, batch.pitch, batch.velocity)
    keep = ~batch.is_drum
    if kind == "track":
        keep &= chosen[track_base[batch.file] + batch.track]
    if not keep.all():
        notes = tuple(column[keep] for column in notes)
    file, track_of = notes[0], batch.track[keep] if not keep.all() else batch.track
    rank = lambda rows: ranks[track_base[file[rows]] + track_of[rows]]  # noqa: E731
    pitch, start, duration, velocity, offsets = _skyline_batch(*notes, rank, batch.ticks_per_beat, n_files)
    counts = np.diff(offsets)
    has = np.flatnonzero(counts > 0)
    # a tune starts at its first note, as in the corpus datasets
    first = np.zeros(n_files)
    first[has] = start[offsets[has]]
    start = start - np.repeat(first, counts)
    ends = np.zeros(n_files)
    if len(has):
        ends[has] = np.maximum.reduceat(start + duration, offsets[has])
    good = []
    for i, (header, count) in enumerate(zip(batch.headers, counts.tolist())):
        if header is None or i in results:
            continue
        if count < max(1, min_notes):
            results[i] = _too_few(kind, track, count, min_notes)
            continue
        too_long = _too_long(float(ends[i]))
        if too_long:
            results[i] = too_long
            continue
        good.append(i)
    bars = _bar_counts([batch.headers[i] for i in good], ends[good])
    for i, n_bars in zip(good, bars):
        header, lead = batch.headers[i], float(first[i])
        if lead > 0 and header.tempo_changes:
            header = header.with_notes([], tempo_changes=[(max(0.0, b - lead), t) for b, t in header.tempo_changes])
        a, b = offsets[i], offsets[i + 1]
        results[i] = (header, lead, n_bars, (pitch[a:b], start[a:b], duration[a:b], velocity[a:b]))
    return results


_FOLDER_BLOCK = 32  # files read and reduced to melodies together (see from_midi_folder)


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

    Speed: with ``fast=True`` (the default) and symusic installed, the files are read 32 at a time
    by :func:`~musegen_helpers.midi_io.load_midi_batch` (symusic's C++ parser, then numpy) and the
    melodies of each 32 are taken in one vectorised pass — tens of times faster than
    :func:`~musegen_helpers.midi_io.load_midi` (``python -m benchmarks midi`` measures it); a file
    with anything that path cannot reproduce exactly (see
    :func:`~musegen_helpers.midi_io.load_midi_arrays`) is read by load_midi instead, with a
    second progress bar. The dataset is the same either way, note for note and skip for skip
    (tests/test_midi_folder.py checks it); ``fast=False`` reads every file with load_midi.

    Lesson: 03_lstm (your own music); 01_representation (skyline)
    """
    from tqdm.auto import tqdm

    from .midi_io import load_midi, load_midi_batch

    kind, track = _parse_melody_choice(melody)
    folder = Path(path)
    if not folder.exists():
        raise MusicFileError(folder, "no such folder", f"check the path; the current folder is {Path.cwd()}")
    if not folder.is_dir():
        raise MusicFileError(folder, "this is a file, not a folder",
                             "pass the folder that holds your MIDI files (or use load_midi for one file)")
    pattern = "**/*" if recursive else "*"
    depth = len(folder.parts)  # each path's parts below the folder, joined with '/': its relative posix path
    found = sorted(("/".join(p.parts[depth:]), p) for p in folder.glob(pattern)
                   if p.suffix.lower() in (".mid", ".midi") and p.is_file())
    files = [p for _, p in found]
    if not files:
        raise MusicFileError(folder, "holds no .mid or .midi files",
                             "put MIDI files in it (sub-folders count when recursive=True)")
    metas, columns, skipped = [], ([], [], [], []), []
    name = folder.name or str(folder)
    errors: list = [None] * len(files)
    fast_results: dict = {}
    if fast:  # many files at once: symusic reads them, numpy takes the melodies of all together
        # in blocks of files, so numpy's working arrays stay small enough to be reused from one
        # block to the next (one folder-sized set of arrays costs more in fresh memory pages than
        # the block-by-block calls cost in Python)
        errors = []
        with warnings.catch_warnings(), tqdm(total=len(files), desc=f"reading {name}", unit="file",
                                             disable=not progress) as bar:
            warnings.simplefilter("ignore")
            for first in range(0, len(files), _FOLDER_BLOCK):
                batch = load_midi_batch(files[first:first + _FOLDER_BLOCK])
                for i, result in _tunes_from_batch(batch, kind, track, min_notes).items():
                    fast_results[first + i] = result
                errors += batch.errors
                bar.update(len(batch))
    # the files the fast reader left to load_midi (all of them with fast=False)
    slow = [i for i in range(len(files)) if errors[i] is None and i not in fast_results]
    slow_bar = tqdm(slow, desc=f"reading {name}" + (" (careful reader, load_midi)" if fast else ""),
                    unit="file", disable=not progress or not slow)
    slow_results = {}
    for i in slow_bar:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                slow_results[i] = _tune_from_piece(load_midi(files[i]), kind, track, min_notes)
        except (MusicFileError, LimitError) as exc:
            slow_results[i] = exc
    n_fast = len(fast_results)
    for i, (rel, p) in enumerate(found):
        result = errors[i] if errors[i] is not None else fast_results.get(i, slow_results.get(i))
        if isinstance(result, (MusicFileError, LimitError)):
            skipped.append((rel, str(result).replace(f"{p}: ", "", 1)))
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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m musegen_helpers.datasets build``: the builder lives in :mod:`musegen_helpers.dataset_build`."""
    from .dataset_build import main as build_main

    return build_main(argv)


if __name__ == "__main__":
    sys.exit(main())
