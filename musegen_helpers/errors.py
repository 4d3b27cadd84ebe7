"""Exceptions the course raises on bad input; each message says what is wrong and what to do."""

from __future__ import annotations

__all__ = ["MusicFileError", "LimitError"]


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
