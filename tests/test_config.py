"""Fast mode, seeds, paths and Colab detection (musegen_helpers.config)."""

import random
import sys

import numpy as np
import pytest

from musegen_helpers import config
from musegen_helpers.config import in_colab, is_fast, seed_everything


@pytest.mark.parametrize("environ", [{"CI": "true"}, {"MUSEGEN_FAST": "1"}, {"MUSEGEN_FAST": "yes"},
                                     {"CI": "TRUE"}, {"MUSEGEN_FAST": " on "}])
def test_fast_mode_on(environ):
    assert is_fast(environ) is True


@pytest.mark.parametrize("environ", [{}, {"CI": "false"}, {"MUSEGEN_FAST": "0"}, {"MUSEGEN_FAST": ""},
                                     {"HOME": "/root"}])
def test_fast_mode_off(environ):
    assert is_fast(environ) is False


def test_pick_follows_fast_mode(monkeypatch):
    monkeypatch.setattr(config, "FAST", True)
    assert config.pick(20, 2) == 2
    monkeypatch.setattr(config, "FAST", False)
    assert config.pick(20, 2) == 20


def test_seed_everything_makes_numpy_and_python_reproducible():
    rng = seed_everything(7)
    first = (np.random.rand(5).tolist(), random.random(), rng.integers(0, 1000, 5).tolist())
    rng = seed_everything(7)
    second = (np.random.rand(5).tolist(), random.random(), rng.integers(0, 1000, 5).tolist())
    assert first == second
    seed_everything(8)
    assert np.random.rand(5).tolist() != first[0]


def test_seed_everything_does_not_import_keras():
    already = "keras" in sys.modules
    seed_everything(1)
    assert ("keras" in sys.modules) == already


def test_in_colab(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert in_colab() is False
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20240101")
    assert in_colab() is True
    monkeypatch.delenv("COLAB_RELEASE_TAG")
    monkeypatch.setitem(sys.modules, "google.colab", object())
    assert in_colab() is True


def test_paths_point_into_the_project():
    assert (config.PACKAGE_DIR / "config.py").is_file()
    assert config.PROJECT_DIR == config.PACKAGE_DIR.parent
    assert config.PRETRAINED_DIR == config.PACKAGE_DIR / "models" / "pretrained"
