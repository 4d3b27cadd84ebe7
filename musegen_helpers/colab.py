"""One-click Colab: the badge and the setup cell at the top of every lesson notebook.

Both are written into every notebook by ``python -m musegen_helpers.course build-notebooks``
from :data:`musegen_helpers.config.REPOSITORY`, so the address lives in one place.

The setup cell must work *before* the course is installed, so it is plain Python that imports
nothing from the course. On Colab it checks that the repository address answers (a clear message
naming the setting to change when it does not: the address is a placeholder until a maintainer
publishes the course, see the README), clones it, installs the package (Colab already
has TensorFlow, Keras, NumPy and matplotlib, so only the music libraries are added — about a
minute), moves into ``notebooks/`` so relative paths work, enables Colab's custom widget manager
(ipywidgets sliders need it), and says when it is ready. Anywhere else it does nothing.

Lesson: 00_welcome
"""

from __future__ import annotations

from .config import BRANCH, REPOSITORY

__all__ = ["HEADER_TAG", "badge_markdown", "setup_cell_source", "colab_url", "clone_url"]

HEADER_TAG = "colab-header"

_SETUP_TEMPLATE = '''# Setup for Google Colab: installs the course there (about a minute). Anywhere else it does nothing.
import os, subprocess, sys
if "google.colab" in sys.modules and not os.environ.get("MUSEGEN_COLAB_READY"):
    course, url, branch = "/content/musegen", "{url}", "{branch}"
    if not os.path.isdir(course):
        found = subprocess.run(["git", "ls-remote", "--exit-code", "--heads", url, branch], capture_output=True,
                               text=True, timeout=120, env=dict(os.environ, GIT_TERMINAL_PROMPT="0"))
        if found.returncode != 0:
            raise RuntimeError(
                f"The course cannot be downloaded: {{url}} (branch {{branch}}) is not reachable "
                f"(git says: {{found.stderr.strip() or 'no such branch'}}). Students: check that Colab is "
                "online, or ask your instructor for the course's current link. Maintainers: set REPOSITORY "
                "and BRANCH in musegen_helpers/config.py to where the course is published, then run "
                "`make notebooks` (see README, 'Publishing the course').") from None
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", branch, url, course], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", course], check=True)
    sys.path.insert(0, course)
    os.chdir(os.path.join(course, "notebooks"))
    from google.colab import output
    output.enable_custom_widget_manager()  # ipywidgets sliders need Colab's custom widget manager
    os.environ["MUSEGEN_COLAB_READY"] = "1"
    print("✓ musegen is installed: run the rest of the notebook.")'''


def colab_url(notebook_path: str) -> str:
    """The Colab address that opens ``notebook_path`` (relative to the repository root)."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{notebook_path}"


def badge_markdown(notebook_path: str) -> str:
    """Markdown for the "Open in Colab" badge of one notebook."""
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(notebook_path)})")


def clone_url() -> str:
    """The address the Colab setup cell clones: ``https://github.com/<config.REPOSITORY>.git``."""
    return f"https://github.com/{REPOSITORY}.git"


def setup_cell_source(url: str | None = None) -> str:
    """Source of the Colab setup cell (self-contained: it runs before the course is installed).

    On Colab the cell first asks the address (``git ls-remote``) whether the course and its
    branch are there; when not, it stops with a ``RuntimeError`` that tells a student what to do
    and a maintainer which setting to change (:data:`musegen_helpers.config.REPOSITORY`), instead
    of a bare git error. ``url`` replaces :func:`clone_url` (tests use a local path).
    """
    return _SETUP_TEMPLATE.format(url=url or clone_url(), branch=BRANCH)
