"""The Colab badge and setup cell: present in every notebook, and the setup does the right thing
on a simulated Colab and nothing elsewhere."""

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from musegen_helpers import colab, config

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("solutions/*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_notebook_opens_with_badge_and_setup(path):
    cells = json.loads(path.read_text())["cells"]
    badge, setup = cells[0], cells[1]
    rel = f"{path.parent.name}/{path.name}"
    assert "colab-badge.svg" in "".join(badge["source"])
    assert colab.colab_url(rel) in "".join(badge["source"])  # the badge opens *this* notebook
    assert "".join(setup["source"]) == colab.setup_cell_source()


def test_repository_address_lives_in_config():
    assert config.REPOSITORY in colab.setup_cell_source()
    assert config.REPOSITORY in colab.badge_markdown("notebooks/00_welcome.ipynb")


def _run_setup(monkeypatch, tmp_path, on_colab: bool):
    calls, chdirs, widget_manager = [], [], []
    monkeypatch.setattr(subprocess, "run", lambda args, check=False: calls.append(list(args)))
    monkeypatch.setattr(os, "chdir", lambda p: chdirs.append(p))
    monkeypatch.delenv("MUSEGEN_COLAB_READY", raising=False)
    monkeypatch.setattr(os.path, "isdir", lambda p: False)
    if on_colab:
        google = types.ModuleType("google")
        colab_mod = types.ModuleType("google.colab")
        output = types.SimpleNamespace(enable_custom_widget_manager=lambda: widget_manager.append(True))
        colab_mod.output = output
        google.colab = colab_mod
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", colab_mod)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    path_before = list(sys.path)
    exec(compile(colab.setup_cell_source(), "<colab-setup>", "exec"), {})
    sys.path[:] = path_before
    return calls, chdirs, widget_manager


def test_setup_cell_does_nothing_outside_colab(monkeypatch, tmp_path):
    calls, chdirs, widget_manager = _run_setup(monkeypatch, tmp_path, on_colab=False)
    assert calls == [] and chdirs == [] and widget_manager == []


def test_setup_cell_installs_course_on_colab(monkeypatch, tmp_path, capsys):
    calls, chdirs, widget_manager = _run_setup(monkeypatch, tmp_path, on_colab=True)
    clone, install = calls
    assert clone[:2] == ["git", "clone"] and f"https://github.com/{config.REPOSITORY}.git" in clone
    assert install[1:4] == ["-m", "pip", "install"] and install[-1] == "/content/musegen"
    assert chdirs == ["/content/musegen/notebooks"]
    assert widget_manager == [True]
    assert "musegen is installed" in capsys.readouterr().out
    assert os.environ.get("MUSEGEN_COLAB_READY") == "1"
    os.environ.pop("MUSEGEN_COLAB_READY")
