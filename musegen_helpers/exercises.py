"""Exercises that explain themselves: ``q1.check(answer)``, ``q1.hint()``, ``q1.solution()``.

A lesson module builds its exercises once::

    from musegen_helpers.exercises import Exercise
    from musegen_helpers.checks import check_number
    q1 = Exercise("A5's frequency", check=check_number(880.0, unit="Hz"),
                  hints=["A5 is one octave above A4 (440 Hz).", "An octave doubles the frequency."],
                  solution="a5 = pitch_to_frequency(81)", reference=880.0)

and the notebook says ``q1.check(a5)``. The check shows one line:

* ``✓ Correct`` (and an optional explanation) for a right answer;
* ``✗ Not yet`` and *why*, in music terms, for a wrong one ("this is 8 semitones: a minor sixth,
  not a perfect fifth (7)");
* ``Not attempted yet`` while the answer is still the placeholder ``____`` (or a function that
  raises ``NotImplementedError``) — that is not an error, so an unsolved notebook runs top to bottom.

``check`` never raises. A checker is any callable that raises :class:`CheckFailed` with a message
when the answer is wrong and returns normally when it is right. This module is the framework
(the placeholder, :class:`Exercise`, feedback, hints and solutions, :func:`call_learner` and the
helpers every checker words its messages with); the ready-made checkers for numbers, intervals,
pitch lists, pieces, arrays, functions and event tokens are in :mod:`musegen_helpers.checks`.

Lesson: 00_welcome
"""

from __future__ import annotations

import copy
import html
import re
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .music import Piece

__all__ = [
    "____", "is_placeholder", "CheckFailed", "Exercise", "Feedback", "CheckResult",
    "call_learner", "learner_code_line", "describe_answer", "short_repr", "with_expected",
]


# ---------------------------------------------------------------------------------------
# The placeholder
# ---------------------------------------------------------------------------------------
class _Placeholder:
    """The blank a learner fills in. There is exactly one: ``____``.

    It is falsy, prints as ``____ (fill this in)`` (also inside f-strings, whatever the format
    spec), and arithmetic with it gives ``____`` again, so ``semitones = ____ + 12`` is still
    "not attempted" instead of a TypeError. Comparisons are False (only ``____ == ____``).
    """

    _instance = None
    __slots__ = ()
    __array_ufunc__ = None  # numpy defers to our reflected operators: np.array(...) + ____ -> ____

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self):
        return "____ (fill this in)"

    __str__ = __repr__

    def __format__(self, spec):
        return repr(self)

    def __bool__(self):
        return False

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())

    def __eq__(self, other):
        return other is self

    def __ne__(self, other):
        return other is not self

    def __hash__(self):
        return id(type(self))

    def __lt__(self, other):
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def _absorb(self, *args, **kwargs):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _absorb
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _absorb
    __pow__ = __rpow__ = __matmul__ = __rmatmul__ = __neg__ = __pos__ = __abs__ = _absorb
    __getitem__ = __call__ = _absorb

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return "____"


____ = _Placeholder()


def is_placeholder(answer, _depth: int = 0) -> bool:
    """True when ``answer`` is ``____`` or a list/tuple/set/dict (a few levels deep) that holds one."""
    if answer is ____:
        return True
    if _depth >= 3:
        return False
    if isinstance(answer, dict):
        return any(is_placeholder(v, _depth + 1) for v in answer.values())
    if isinstance(answer, (list, tuple, set, frozenset)):
        return any(is_placeholder(v, _depth + 1) for v in answer)
    if isinstance(answer, np.ndarray) and answer.dtype == object:
        return any(v is ____ for v in answer.flat)
    return False


# ---------------------------------------------------------------------------------------
# Failures and feedback
# ---------------------------------------------------------------------------------------
class CheckFailed(Exception):
    """Raised by a checker when an answer is wrong; the message says why, in music terms.

    Args:
        message: one or two sentences for the learner.
        details: optional text shown in a monospace block (aligned token rows, a table).
        wrong_type: True when the answer is not even the right kind of thing (a list where a
            Piece was expected); :meth:`Exercise.answer_or_reference` then uses the reference.
    """

    def __init__(self, message: str, details: str = "", wrong_type: bool = False):
        super().__init__(message)
        self.message = message
        self.details = details
        self.wrong_type = wrong_type


class _NotAttempted(Exception):
    """Internal: the learner's function raised NotImplementedError or returned ``____``."""


_STYLE = {
    # status: (symbol, label, colour). The label is always written out: colour is never the only cue.
    "correct": ("✓", "Correct", "#1a7f37"),
    "wrong": ("✗", "Not yet", "#c62828"),
    "not attempted": ("○", "Not attempted yet", "#6e7781"),
    "hint": ("💡", "Hint", "#9a6700"),
    "solution": ("📖", "Solution", "#0969da"),
    "info": ("ℹ", "Note", "#6e7781"),
}


def _html_text(text: str) -> str:
    """Escape text for HTML; `backticks` become <code>, newlines <br>."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return escaped.replace("\n", "<br>")


@dataclass(frozen=True)
class Feedback:
    """One displayed message: a status line, a message, optional monospace details.

    In a notebook it renders as a small styled block (symbol, written label, colour);
    everywhere else (terminal, nbval's text/plain) as plain text.
    """

    status: str
    message: str = ""
    details: str = ""
    exercise: str = ""
    label: str | None = None

    @property
    def title(self) -> str:
        symbol, label, _ = _STYLE[self.status]
        return f"{symbol} {self.label or label}"

    def __str__(self) -> str:
        head = self.title + (f" — {self.exercise}" if self.exercise else "")
        lines = [head]
        if self.message:
            lines += ["  " + line for line in self.message.splitlines()]
        if self.details:
            lines += ["    " + line for line in self.details.splitlines()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer, cycle):  # IPython terminal
        printer.text(str(self))

    def _repr_html_(self) -> str:
        symbol, label, colour = _STYLE[self.status]
        label = self.label or label
        name = (f' <span style="opacity:0.75">· {html.escape(self.exercise)}</span>'
                if self.exercise else "")
        parts = [
            f'<div class="musegen-feedback musegen-{self.status.replace(" ", "-")}" role="status" '
            f'style="border-left:4px solid {colour};padding:4px 10px;margin:4px 0;line-height:1.45">',
            f'<span style="color:{colour};font-weight:600"><span aria-hidden="true">{symbol}</span> '
            f'{html.escape(label)}</span>{name}',
        ]
        if self.message:
            parts.append(f'<div style="margin-top:2px">{_html_text(self.message)}</div>')
        if self.details:
            parts.append('<pre style="margin:4px 0 0 0;padding:4px 6px;background:rgba(127,127,127,0.1);'
                         f'white-space:pre;overflow-x:auto">{html.escape(self.details)}</pre>')
        parts.append("</div>")
        return "".join(parts)


def _ipython_shell():
    """The running IPython shell, or None (a plain Python process, a test run)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        return ipython.get_ipython()
    except Exception:  # pragma: no cover - a broken IPython must not break a check
        return None


def _show(feedback: Feedback) -> bool:
    """Display feedback: rich HTML + text in IPython, plain print elsewhere. True when IPython showed it."""
    if _ipython_shell() is not None:
        from IPython.display import display
        display(feedback)
        return True
    print(feedback)
    return False


class CheckResult:
    """What ``check()`` returns inside IPython: truthy when correct, shows nothing by itself.

    (Returning a bare ``True`` would print a stray ``Out[5]: True`` under the ✓ line.)
    ``passed`` is True, False, or None (not attempted); ``==`` compares ``passed``.
    """

    __slots__ = ("passed", "feedback")

    def __init__(self, passed: bool | None, feedback: Feedback):
        self.passed = passed
        self.feedback = feedback

    def __bool__(self):
        return self.passed is True

    def __eq__(self, other):
        if isinstance(other, CheckResult):
            return self.passed == other.passed
        return self.passed == other if (other is None or isinstance(other, bool)) else NotImplemented

    __hash__ = None

    def _ipython_display_(self):
        pass  # the feedback was displayed already

    def __repr__(self):
        return f"CheckResult(passed={self.passed})"


# ---------------------------------------------------------------------------------------
# Exercise
# ---------------------------------------------------------------------------------------
class Exercise:
    """One exercise of a lesson: a checker, progressive hints, a worked solution.

    Args:
        name: a short title shown with every message ("A5's frequency").
        check: a callable ``check(answer)`` that raises :class:`CheckFailed` when the answer is
            wrong (returning False counts as wrong, too); see the ``check_*`` factories in
            :mod:`musegen_helpers.checks`.
        hints: hints from gentle to strong; ``hint()`` reveals one more each call.
        solution: the worked answer as code (shown by ``solution()``).
        explanation: shown under ✓ Correct — the "why" behind the right answer.
        reference: the right answer as a value (a number, a list of pitches, a Piece, a function),
            used by :meth:`answer_or_reference` so later cells can go on before the learner has an answer.

    Attributes ``attempts``, ``solved``, ``hints_seen`` and ``solution_seen`` count what the
    learner did (see :meth:`stats`), for an instructor's dashboard.

    Lesson: 00_welcome
    """

    def __init__(self, name: str, check: Callable[[Any], Any], hints: Sequence[str] = (),
                 solution: str = "", explanation: str = "", reference: Any = None):
        if not callable(check):
            raise TypeError(f"Exercise {name!r}: check must be a function that raises CheckFailed, got {check!r}.")
        if isinstance(hints, str):
            hints = [hints]
        self.name = str(name)
        self._checker = check
        self.hints = [str(h) for h in hints]
        self._solution = str(solution).strip("\n")
        self.explanation = explanation
        self._reference = reference
        self._hint_level = 0
        self.attempts = 0
        self.solved = False
        self.hints_seen = 0
        self.solution_seen = False
        self.last_feedback: Feedback | None = None
        # The module that builds the exercise (a lesson module): used to find its variable name.
        try:
            self._module = sys._getframe(1).f_globals.get("__name__")
        except Exception:  # pragma: no cover
            self._module = None

    # ---- display helpers ------------------------------------------------------------
    def _var_name(self) -> str:
        module = sys.modules.get(self._module or "")
        if module is not None:
            for key, value in vars(module).items():
                if value is self and not key.startswith("_"):
                    return key
        return "this exercise"

    def __repr__(self) -> str:
        return (f"Exercise({self.name!r}, {len(self.hints)} hints, "
                f"{'solved' if self.solved else 'not solved yet'})")

    # ---- checking -----------------------------------------------------------------
    def evaluate(self, answer) -> tuple[bool | None, Feedback]:
        """Judge an answer without showing anything: ``(passed, feedback)``.

        ``passed`` is True (correct), False (wrong) or None (not attempted). Never raises.
        """
        try:
            if is_placeholder(answer):
                raise _NotAttempted
            outcome = self._checker(answer)
            if outcome is False:
                raise CheckFailed("not quite — try again.")
            if is_placeholder(outcome):
                raise _NotAttempted
        except (_NotAttempted, NotImplementedError):
            todo = ("write your function's body in place of the `raise NotImplementedError(...)` line"
                    if callable(answer) and answer is not ____ else "replace ____ with your answer")
            return None, Feedback("not attempted", f"{todo}, then run the cell again.", exercise=self.name)
        except CheckFailed as failure:
            return False, Feedback("wrong", failure.message, failure.details, exercise=self.name)
        except Exception as error:  # a checker tripping over an odd answer must not show a traceback
            expected = getattr(self._checker, "expected", None) or "a different kind of answer"
            return False, Feedback(
                "wrong",
                f"expected {expected}, got {describe_answer(answer)}. "
                f"(The check could not use it: {type(error).__name__}: {error})",
                exercise=self.name)
        message = self.explanation or ""
        return True, Feedback("correct", message, exercise=self.name)

    def check(self, answer):
        """Show whether ``answer`` is right, wrong (and why) or not attempted yet; never raises.

        Returns True / False / None (not attempted). Inside IPython it returns a
        :class:`CheckResult` instead, which is truthy exactly when correct but displays nothing,
        so no stray ``True`` appears under the message.
        """
        passed, feedback = self.evaluate(answer)
        if passed is not None:
            self.attempts += 1
            self.solved = self.solved or passed
        if passed is False:
            nudge = (f"Stuck? `{self._var_name()}.hint()` gives a hint." if self.hints
                     else f"Stuck? `{self._var_name()}.solution()` shows a worked answer.")
            feedback = Feedback("wrong", f"{feedback.message}\n{nudge}" if feedback.message else nudge,
                                feedback.details, exercise=self.name)
        self.last_feedback = feedback
        shown_by_ipython = _show(feedback)
        return CheckResult(passed, feedback) if shown_by_ipython else passed

    def answer_or_reference(self, answer):
        """The learner's answer when there is one, else the reference answer.

        Lets a later cell play or plot "your answer" before the learner has written it: a ``____``,
        a function that is not written yet, or an answer of the wrong kind (a string where a list
        of pitches is wanted) gives the reference instead. A musically wrong answer of the right
        kind is returned as it is — hearing the mistake is part of the lesson.
        """
        use_reference = is_placeholder(answer)
        if not use_reference:
            try:
                self._checker(answer)
            except (_NotAttempted, NotImplementedError):
                use_reference = True
            except CheckFailed as failure:
                use_reference = failure.wrong_type
            except Exception:
                use_reference = True
        if not use_reference:
            return answer
        if self._reference is None:
            raise ValueError(f"Exercise {self.name!r} has no reference answer: pass reference=... "
                             "when building it.")
        # A copy, so a learner who changes it in place cannot spoil the next call.
        return copy.deepcopy(self._reference)

    # ---- help -------------------------------------------------------------------------
    def hint(self, level: int | None = None) -> None:
        """Show the next hint (or hint number ``level``, counting from 1)."""
        n = len(self.hints)
        if n == 0:
            _show(Feedback("hint", f"this exercise has no hints; `{self._var_name()}.solution()` shows a worked answer.",
                           exercise=self.name, label="No hints"))
            return
        if level is None:
            level = min(self._hint_level + 1, n)
        try:
            level = int(level)
        except (TypeError, ValueError):
            level = 0
        if not 1 <= level <= n:
            _show(Feedback("hint", f"there {'is 1 hint' if n == 1 else f'are {n} hints'} for this exercise: "
                           f"ask for hint(1){f' to hint({n})' if n > 1 else ''}.",
                           exercise=self.name, label="No such hint"))
            return
        self._hint_level = max(self._hint_level, level)
        self.hints_seen = max(self.hints_seen, level)
        message = self.hints[level - 1]
        if level == n and n > 1:
            message += f"\n(That was the last hint; `{self._var_name()}.solution()` shows a worked answer.)"
        elif level < n:
            message += f"\n(Call `{self._var_name()}.hint()` again for a stronger hint.)"
        _show(Feedback("hint", message, exercise=self.name, label=f"Hint {level} of {n}"))

    def solution(self) -> None:
        """Show the worked solution as code."""
        self.solution_seen = True
        if not self._solution:
            _show(Feedback("solution", "no worked solution is stored for this exercise.", exercise=self.name))
            return
        _show(Feedback("solution", "", details=self._solution, exercise=self.name))

    def stats(self) -> dict:
        """What the learner did: attempts, solved, hints seen, solution seen (JSON-friendly)."""
        return {"exercise": self.name, "attempts": self.attempts, "solved": self.solved,
                "hints_seen": self.hints_seen, "solution_seen": self.solution_seen}


# ---------------------------------------------------------------------------------------
# Calling the learner's code, and words every checker shares
# ---------------------------------------------------------------------------------------
def call_learner(fn: Callable, args: Sequence = (), kwargs: dict | None = None, *, context: str = "",
                 what: str = "function", none_ok: bool = False):
    """Call the learner's function ``fn(*args, **kwargs)`` the way every check should; return its result.

    * ``NotImplementedError`` (the unsolved stub) or a ``____`` result: "not attempted", not wrong;
    * any other exception: :class:`CheckFailed` naming its type, message and the line of the
      learner's own code where it happened — never a traceback;
    * ``None`` (unless ``none_ok``): "did you forget `return`?".

    ``context`` starts each message, e.g. ``"called with pitch 69, "``.

    Lesson: 00_welcome
    """
    try:
        result = fn(*args, **(kwargs or {}))
    except NotImplementedError:
        raise _NotAttempted from None
    except Exception as error:
        raise CheckFailed(f"{context}your {what} raised {type(error).__name__}: "
                          f"{error}{learner_code_line(error, fn)}.") from None
    if is_placeholder(result):
        raise _NotAttempted
    if result is None and not none_ok:
        raise CheckFailed(f"{context}your {what} returned None — did you forget `return`?")
    return result


def learner_code_line(error: BaseException, fn) -> str:
    """Where in the learner's own function ``fn`` an exception happened, to add to a message:
    ``' (line 3: `total += n`)'``, or ``''`` when the traceback never passes through ``fn``'s code.

    :func:`call_learner` uses it; a checker that calls the learner's code itself (lesson 03's
    model builder) adds it to its own message. Lesson: 00_welcome
    """
    code = getattr(fn, "__code__", None)
    if code is None:
        return ""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == code.co_filename]
    if not frames:
        return ""
    frame = frames[-1]
    line = (frame.line or "").strip()
    return f" (line {frame.lineno}{': `' + line + '`' if line else ''})"


def describe_answer(value) -> str:
    """How to name what the learner gave, for "expected ..., got ..." messages: ``None`` ->
    'None (did a function forget to `return` its result?)', ``[1, 2, 3]`` -> 'a list of 3 items',
    ``'440'`` -> "the text '440' (a str)", a Piece -> 'a Piece of 12 notes'.

    Used by :class:`Exercise` and every checker (:mod:`musegen_helpers.checks`, the lessons).
    Lesson: 00_welcome
    """
    if value is None:
        return "None (did a function forget to `return` its result?)"
    if isinstance(value, bool):
        return f"{value} (a bool)"
    if isinstance(value, str):
        short = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {short!r} (a str)"
    if isinstance(value, (list, tuple, set)):
        return f"a {type(value).__name__} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, Piece):
        return f"a Piece of {len(value)} notes"
    if callable(value):
        return f"a function ({getattr(value, '__name__', type(value).__name__)})"
    kind = type(value).__name__
    return f"{short_repr(value)} ({'an' if kind[0] in 'aeiou' else 'a'} {kind})"


def short_repr(value, limit: int = 80) -> str:
    """A readable repr of at most ``limit`` characters (whitespace squeezed, long arrays
    abbreviated with '...'), for quoting an answer in a message. Lesson: 00_welcome"""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=12, edgeitems=3)
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def with_expected(check: Callable, expected: str | None) -> Callable:
    """Tag a checker with a phrase for "expected <...>, got <...>" messages and return it.

    :meth:`Exercise.evaluate` reads ``check.expected`` when a checker trips over an odd answer
    (``with_expected(check, "a list of MIDI pitches")``). Lesson: 00_welcome
    """
    check.expected = expected
    return check
