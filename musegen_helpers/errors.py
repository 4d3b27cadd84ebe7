"""Exceptions the course raises on bad input; each message says what is wrong and what to do.

Lesson: 01_representation (a broken file gives a clear MusicFileError)
"""

from __future__ import annotations

__all__ = ["MusicFileError", "LimitError", "outside_stacklevel"]


class MusicFileError(ValueError):
    """A music file could not be read or written: missing, empty, corrupt, or of an unsupported kind.

    The message names the file and suggests what to try.
    """

    def __init__(self, path, problem: str, advice: str = ""):
        self.path = str(path)
        self.problem = problem
        self.advice = advice
        text = f"{self.path}: {problem}"
        if advice:
            text += f" — {advice}"
        super().__init__(text)


class LimitError(ValueError):
    """A request exceeds one of the course's safety limits (file size, piece length, sample length).

    The message names the limit and how to raise it.
    """


def outside_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` that points at the first caller outside this package.

    Call it as ``warnings.warn(message, stacklevel=outside_stacklevel())``. A notice then names the
    learner's own line (``played = load("my_music/played.mid")``), not the course's plumbing, however
    deep inside the package the warning is raised. (Python 3.12's ``skip_file_prefixes`` does the
    same; the course supports 3.10.)
    """
    import os
    import sys

    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1  # the function that is about to call warnings.warn
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level
