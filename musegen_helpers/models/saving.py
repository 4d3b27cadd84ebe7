"""Model files, shared by every model of the course: one way to save, check and load a ``.keras`` file.

* :func:`check_can_write_model` — before a long training run, check that the file can be written;
* :func:`save_model` — the ``.keras`` file written atomically (a temporary file beside it, then a
  rename), and optionally a JSON ``info`` file of the same name beside it (settings, training
  time, quality numbers);
* :func:`load_model` — Keras 3 ``keras.saving.load_model`` with ``safe_mode=True``: a file that
  asks to run arbitrary code (a ``Lambda`` layer's bytecode) is refused;
* :func:`load_info` — the JSON beside a model file.

Why by hand and not only ``model.save``: Keras writes in place, so a crash mid-save leaves half a
model where the old one was, and it replaces an existing file silently; the course refuses to
replace work unless asked (``overwrite=True``), as every saver in ``musegen_helpers.files`` does.

Used by ``models.lstm``, ``models.gan`` (and the Transformer). No pickles: ``.keras`` and JSON only.

Lesson: 03_lstm, 04_gan
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import keras

from ..errors import MusicFileError
from ..files import PathLike, atomic_path, atomic_write, check_can_write

__all__ = ["check_can_write_model", "save_model", "load_model", "load_info"]


def _info_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def check_can_write_model(path: PathLike, overwrite: bool = False, with_info: bool = True) -> Path:
    """Check that :func:`save_model` will be able to write ``path`` — call it before a long training run.

    Args:
        path: the model file; its name must end in ``.keras`` (Keras 3's format).
        overwrite: allow replacing an existing file.
        with_info: also check the JSON file of the same name beside it.

    Returns the path as a :class:`~pathlib.Path`.

    Raises:
        ValueError: the name does not end in ``.keras``.
        FileExistsError: the file (or its JSON) exists and ``overwrite`` is False.
    """
    p = Path(path)
    if p.suffix != ".keras":
        raise ValueError(f"{p}: Keras 3 saves models as '.keras' files; give a path ending in .keras "
                         "(no .h5, no pickles).")
    check_can_write(p, overwrite)
    if with_info:
        check_can_write(_info_path(p), overwrite)
    return p


def save_model(model, path: PathLike, *, overwrite: bool = False, info: dict | None = None) -> Path:
    """Save a Keras model as a ``.keras`` file, and ``info`` (JSON-friendly values) as ``.json`` beside it.

    Writes to a temporary file in the same folder, then renames it, so a crash never leaves half
    a model behind. Refuses to replace an existing file unless ``overwrite=True``.

    Returns the path of the ``.keras`` file.

    Raises:
        ValueError: the name does not end in ``.keras``.
        FileExistsError: the file exists and ``overwrite`` is False.
        TypeError: ``info`` holds something JSON cannot write (checked before the model is written).

    Lesson: 03_lstm, 04_gan
    """
    p = check_can_write_model(path, overwrite, with_info=info is not None)
    text = None
    if info is not None:
        try:
            text = json.dumps(info, indent=2, sort_keys=True).encode()
        except TypeError as exc:
            raise TypeError(f"info must hold JSON values (numbers, strings, lists, dicts): {exc}; "
                            "convert numpy numbers with float() or int().") from None
    with atomic_path(p, suffix=".keras") as tmp:
        model.save(tmp, overwrite=True)  # the empty temporary file already exists
    if text is not None:
        atomic_write(_info_path(p), lambda fh: fh.write(text))
    return p


def load_model(path: PathLike, compile: bool = True):
    """Load a ``.keras`` model saved by :func:`save_model`, with ``safe_mode=True`` (no code from
    the file runs; only layers Keras or the course registered can be rebuilt).

    Args:
        path: a ``.keras`` file.
        compile: also restore the optimizer and loss (to train further); False to only predict.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the name does not end in ``.keras``.
        MusicFileError: the file is damaged, not a Keras model, or not safe to load (names the file).

    Lesson: 03_lstm, 04_gan
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such model file; check the path, or train a model and save it "
                                "with save_model(model, path).")
    if p.suffix != ".keras":
        raise ValueError(f"{p}: only Keras 3 '.keras' files are loaded (no .h5 or pickles).")
    try:
        with warnings.catch_warnings():
            # a model saved before its first training step has an unbuilt optimizer; Keras then warns
            # that it skips the optimizer's variables. Weights are never skipped: the warning would
            # only alarm a learner.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            return keras.saving.load_model(p, safe_mode=True, compile=compile)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise MusicFileError(p, f"could not load this Keras model safely ({exc})",
                             "the file may be damaged or from an incompatible Keras version; "
                             "retrain and save it again with save_model()") from None


def load_info(path: PathLike) -> dict:
    """The JSON saved beside a model file by ``save_model(..., info=...)`` (same name, ``.json``).

    Raises:
        FileNotFoundError: no JSON beside the model.
        MusicFileError: the JSON is damaged.
    """
    p = _info_path(Path(path))
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no information file beside this model; save the model with "
                                "save_model(model, path, info={...}) to write one.")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MusicFileError(p, f"is not valid JSON ({exc})", "write it again with save_model(..., info=...)") from None
