"""Files the course writes and reads: the plumbing every saver shares.

* :func:`check_can_write` — refuse to replace an existing file unless ``overwrite=True``;
* :func:`atomic_path` / :func:`atomic_write` — write to a temporary name beside the target, then
  rename, so a crash never leaves half a file;
* :func:`read_bytes` — read a music file with the checks every loader makes (missing, a folder,
  empty, over the size limit), each a :class:`~musegen_helpers.errors.MusicFileError` or
  :class:`~musegen_helpers.errors.LimitError` that says what to do.

Used by ``midi_io``, ``score_io``, ``score``, ``audio``, ``datasets`` and the model savers.

Lesson: 01_representation (saving never replaces a file unless you say overwrite=True)
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Union

from .errors import LimitError, MusicFileError

__all__ = ["check_can_write", "atomic_path", "atomic_write", "read_bytes", "PathLike"]

PathLike = Union[str, os.PathLike]


def check_can_write(path: PathLike, overwrite: bool) -> Path:
    """Refuse to replace an existing file unless ``overwrite=True`` (nothing the user made is lost)."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise FileExistsError(
            f"{p} already exists; pass overwrite=True to replace it, or choose another file name."
        )
    return p


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp"):
    """A temporary file name beside ``path`` to write to; on success it replaces ``path``, on any
    error it is removed — so a crash never leaves half a file. ``suffix`` matters to writers that
    check it (Keras wants '.keras')."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes owner-only files; saved work is readable as usual
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write(path: Path, write) -> None:
    """Write bytes through ``write(file_handle)`` to a temporary file, then rename over the target."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        write(fh)


def read_bytes(path: PathLike, kinds: str, max_bytes: int) -> bytes:
    """The bytes of a music file; ``kinds`` names the format in messages ('MIDI', 'score').

    Raises:
        MusicFileError: missing file, a folder, an empty file, unreadable.
        LimitError: larger than ``max_bytes``.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise MusicFileError(p, "no such file", "check the path and spelling; "
                             f"the current folder is {Path.cwd()}")
    if p.is_dir():
        raise MusicFileError(p, "this is a folder, not a file",
                             "pass one file, or use datasets.from_midi_folder for a folder")
    size = p.stat().st_size
    if size == 0:
        raise MusicFileError(p, "the file is empty (0 bytes)",
                             f"the download or copy probably failed; get the {kinds} file again")
    if size > max_bytes:
        raise LimitError(
            f"{p}: the file is {size:,} bytes, over the limit of {max_bytes:,} bytes; "
            "if you really mean to load it, pass max_bytes= a larger number."
        )
    try:
        return p.read_bytes()
    except OSError as exc:
        raise MusicFileError(p, f"cannot be read ({exc.strerror or exc})", "check its permissions") from None
