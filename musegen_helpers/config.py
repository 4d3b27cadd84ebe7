"""Course-wide settings: fast mode, seeds, paths and where we are running.

``FAST`` is True when the environment variable ``MUSEGEN_FAST=1`` or ``CI=true`` is set.
Fast mode shrinks data and epochs so a lesson fits a class or a CI run; it never
changes which code runs.

Lesson: 00_welcome
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import numpy as np

__all__ = ["FAST", "is_fast", "seed_everything", "check_seed", "in_colab", "PACKAGE_DIR", "PROJECT_DIR",
           "DATA_DIR", "PRETRAINED_DIR", "pick"]

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DATA_DIR = Path(os.environ.get("MUSEGEN_DATA_DIR", PROJECT_DIR / "datasets"))
PRETRAINED_DIR = PACKAGE_DIR / "models" / "pretrained"
DEFAULT_SEED = 2024


def is_fast(environ=None) -> bool:
    """True when fast mode is on (``MUSEGEN_FAST`` set to 1/true/yes, or ``CI=true``)."""
    env = os.environ if environ is None else environ
    truthy = {"1", "true", "yes", "on"}
    return (env.get("MUSEGEN_FAST", "").strip().lower() in truthy
            or env.get("CI", "").strip().lower() in truthy)


FAST = is_fast()


def pick(normal, fast):
    """``fast`` in fast mode, else ``normal`` — e.g. ``epochs = pick(20, 2)``."""
    return fast if FAST else normal


#: Largest seed: TensorFlow's stateless samplers take 31-bit seeds, so every generator in the
#: course accepts the same range and one seed means the same thing everywhere.
MAX_SEED = 2**31 - 1


def check_seed(seed, allow_none: bool = True) -> int | None:
    """Return ``seed`` as an int after checking it is a whole number from 0 to ``MAX_SEED``.

    ``None`` (a fresh, unrepeatable draw) passes when ``allow_none``. A negative, fractional or
    huge seed gets a ValueError that says what to type instead (numpy's own message,
    "expected non-negative integer", does not say which argument was wrong).
    """
    if seed is None and allow_none:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED:,}"
                         f"{' (or None for a fresh one)' if allow_none else ''}, got {seed!r}.")
    return int(seed)


def seed_everything(seed: int = DEFAULT_SEED) -> np.random.Generator:
    """Seed Python's, NumPy's (and Keras's, when it is already imported) random number
    generators; return a fresh ``numpy.random.Generator`` for explicit use."""
    seed = check_seed(seed, allow_none=False)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "keras" in sys.modules:  # never import TensorFlow just to seed it
        sys.modules["keras"].utils.set_random_seed(seed)
    return np.random.default_rng(seed)


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ

#: Where the course lives on GitHub (owner/name): the one place the Colab badges and the Colab
#: setup cell take the address from. Change it here, then run ``make notebooks``.
REPOSITORY = "musegen-course/musegen"
BRANCH = "main"
