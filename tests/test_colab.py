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


def _fake_run(calls):
    def run(args, check=False, **kwargs):
        calls.append(list(args))
        return types.SimpleNamespace(returncode=0, stdout="0123abcd\trefs/heads/main\n", stderr="")
    return run


def _run_setup(monkeypatch, tmp_path, on_colab: bool, fake_git: bool = True, url=None):
    calls, chdirs, widget_manager = [], [], []
    if fake_git:
        monkeypatch.setattr(subprocess, "run", _fake_run(calls))
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
    try:
        exec(compile(colab.setup_cell_source(url), "<colab-setup>", "exec"), {})
    finally:
        sys.path[:] = path_before
    return calls, chdirs, widget_manager


def test_setup_cell_does_nothing_outside_colab(monkeypatch, tmp_path):
    calls, chdirs, widget_manager = _run_setup(monkeypatch, tmp_path, on_colab=False)
    assert calls == [] and chdirs == [] and widget_manager == []


def test_setup_cell_installs_course_on_colab(monkeypatch, tmp_path, capsys):
    calls, chdirs, widget_manager = _run_setup(monkeypatch, tmp_path, on_colab=True)
    check, clone, install = calls
    assert check[:2] == ["git", "ls-remote"] and colab.clone_url() in check and config.BRANCH in check
    assert clone[:2] == ["git", "clone"] and f"https://github.com/{config.REPOSITORY}.git" in clone
    assert install[1:4] == ["-m", "pip", "install"] and install[-1] == "/content/musegen"
    assert chdirs == ["/content/musegen/notebooks"]
    assert widget_manager == [True]
    assert "musegen is installed" in capsys.readouterr().out
    assert os.environ.get("MUSEGEN_COLAB_READY") == "1"
    os.environ.pop("MUSEGEN_COLAB_READY")


def _only_git_ls_remote_runs(monkeypatch):
    """Let the setup cell's `git ls-remote` really run; record (and do not run) anything else."""
    others, real_run = [], subprocess.run

    def run(args, *a, **kw):
        if list(args[:2]) == ["git", "ls-remote"]:
            return real_run(args, *a, **kw)
        others.append(list(args))
        return types.SimpleNamespace(returncode=0, stdout="", stderr="")

    monkeypatch.setattr(subprocess, "run", run)
    return others


def test_setup_cell_stops_with_a_clear_message_when_the_address_is_unreachable(monkeypatch, tmp_path):
    missing = tmp_path / "no-such-course.git"  # a local path that does not exist: fails offline, in a moment
    other_calls = _only_git_ls_remote_runs(monkeypatch)
    with pytest.raises(RuntimeError) as caught:
        _run_setup(monkeypatch, tmp_path, on_colab=True, fake_git=False, url=str(missing))
    message = str(caught.value)
    assert f"{missing} (branch {config.BRANCH}) is not reachable" in message
    assert "git says:" in message and "does not appear to be a git repository" in message
    assert "musegen_helpers/config.py" in message and "REPOSITORY" in message and "make notebooks" in message
    assert "README" in message and "instructor" in message
    assert other_calls == []  # nothing cloned or installed
    assert not missing.exists() and "MUSEGEN_COLAB_READY" not in os.environ


def test_setup_cell_names_a_missing_branch(monkeypatch, tmp_path):
    repo = tmp_path / "course"
    subprocess.run(["git", "init", "--quiet", "-b", "other", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet",
                    "--allow-empty", "-m", "empty"], check=True)
    other_calls = _only_git_ls_remote_runs(monkeypatch)
    with pytest.raises(RuntimeError, match=rf"branch {config.BRANCH}\) is not reachable.*no such branch"):
        _run_setup(monkeypatch, tmp_path, on_colab=True, fake_git=False, url=str(repo))
    assert other_calls == []


def test_readme_tells_a_maintainer_where_the_address_lives():
    readme = (ROOT / "README.md").read_text()
    assert "Publishing the course" in readme  # the section the setup cell's message points to
    section = readme.split("Publishing the course", 1)[1][:1500]
    assert "musegen_helpers/config.py" in section and "REPOSITORY" in section and "make notebooks" in section


def test_setup_cell_goes_on_to_clone_when_the_address_answers(monkeypatch, tmp_path, capsys):
    repo = tmp_path / "course"
    subprocess.run(["git", "init", "--quiet", "-b", config.BRANCH, str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet",
                    "--allow-empty", "-m", "empty"], check=True)
    other_calls = _only_git_ls_remote_runs(monkeypatch)
    _run_setup(monkeypatch, tmp_path, on_colab=True, fake_git=False, url=str(repo))
    clone, install = other_calls
    assert clone[:2] == ["git", "clone"] and str(repo) in clone and install[1:4] == ["-m", "pip", "install"]
    assert "musegen is installed" in capsys.readouterr().out
    os.environ.pop("MUSEGEN_COLAB_READY")
