"""Every exercise of every lesson explains an answer of the wrong kind instead of crashing.

A learner passes whatever is at hand: None from a function that forgot ``return``, a string, a
Piece where a function is wanted, a function that returns a list where a number is wanted, or
one that raises. For each exercise in ``musegen_helpers.lessons`` and each such answer the check
must say "Not yet" with a specific message — never raise, never pass, and never fall back to the
framework's generic "the check could not use it" (which names the exception, not what was
expected).
"""

from __future__ import annotations

import importlib

import pkgutil

import numpy as np
import pytest

import musegen_helpers.lessons as lessons_package
from musegen_helpers.exercises import Exercise
from musegen_helpers.music import melody

# every lesson module, found rather than listed, so a new lesson is covered the day it is added
LESSONS = sorted(f"musegen_helpers.lessons.{m.name}" for m in pkgutil.iter_modules(lessons_package.__path__)
                 if m.name.startswith("lesson"))


def _exercises():
    found = []
    for module_name in LESSONS:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if isinstance(value, Exercise):
                found.append(pytest.param(value, id=f"{module_name.rsplit('.', 1)[1]}.{name}"))
    return found


def _returns(value):
    def learner_function(*args, **kwargs):
        return value
    return learner_function


def _raises(*args, **kwargs):
    return [][1]  # an IndexError inside the learner's own code


WRONG_KINDS = {
    "None": None,
    "text": "sixty",
    "bytes": b"\x00\x01",
    "dict": {"a": 1},
    "set": {1, 2},
    "object": object(),
    "float": 3.5,
    "nan": float("nan"),
    "huge int": 10 ** 100,
    "negative": -5,
    "bool": True,
    "empty list": [],
    "list of text": ["x", "y"],
    "ragged list": [[1, 2], [3]],
    "3-d array": np.zeros((2, 2, 2)),
    "a Piece": melody([60, 62], 1.0),
    "function returning None": _returns(None),
    "function returning text": _returns("nonsense"),
    "function returning a list": _returns([1, "x"]),
    "function returning an array": _returns(np.zeros(3)),
    "function returning nan": _returns(float("nan")),
    "function taking no arguments": lambda: 1,
    "function that raises": _raises,
}

EXERCISES = _exercises()


def test_every_lesson_has_exercises():
    assert len(EXERCISES) >= 20  # 3-5 per lesson; a lesson module that lost its exercises fails here


@pytest.mark.parametrize("exercise", EXERCISES)
def test_wrong_kinds_of_answer_are_explained(exercise, capsys):
    for kind, answer in WRONG_KINDS.items():
        passed, feedback = exercise.evaluate(answer)
        assert passed is False, f"{exercise.name!r} accepted {kind}"
        assert feedback.status == "wrong"
        message = feedback.message
        assert len(message) > 20, f"{exercise.name!r} gave no reason for {kind}: {message!r}"
        assert "could not use it" not in message, f"{exercise.name!r}, {kind}: generic message {message!r}"
        assert "Traceback" not in message
        if "raised IndexError" in message:  # an error in the learner's code points at their line
            assert "(line " in message, f"{exercise.name!r}: {message!r}"
        # check() shows the same thing and never raises
        assert not exercise.check(answer)
    shown = capsys.readouterr().out
    assert shown.count("Not yet") == len(WRONG_KINDS)


FUNCTION_EXERCISES = [p for p in EXERCISES if callable(p.values[0]._reference)
                      or getattr(p.values[0]._checker, "expected", None) == "a function"
                      or p.values[0]._solution.lstrip().startswith("def ")]


def test_some_exercises_want_a_function():
    assert len(FUNCTION_EXERCISES) >= 4


@pytest.mark.parametrize("exercise", FUNCTION_EXERCISES)
def test_a_value_where_a_function_is_wanted_says_so(exercise):
    """A Piece (the result of calling the function) instead of the function itself is named as such."""
    for answer in (melody([60], 1.0), None, 440.0):
        passed, feedback = exercise.evaluate(answer)
        assert passed is False
        assert "function" in feedback.message, feedback.message


@pytest.mark.parametrize("exercise", FUNCTION_EXERCISES)
def test_the_unsolved_stub_counts_as_not_attempted(exercise):
    def stub(*args, **kwargs):
        raise NotImplementedError("write this function")

    passed, feedback = exercise.evaluate(stub)
    assert passed is None and feedback.status == "not attempted"
