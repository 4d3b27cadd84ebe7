"""One-click Colab: the badge and the setup cell at the top of every lesson notebook.

Both are written into every notebook by ``python -m musegen_helpers.course build-notebooks``
from :data:`musegen_helpers.config.REPOSITORY`, so the address lives in one place.

The setup cell must work *before* the course is installed, so it is plain Python that imports
nothing from the course. On Colab it clones the repository, installs the package (Colab already
has TensorFlow, Keras, NumPy and matplotlib, so only the music libraries are added — about a
minute), moves into ``notebooks/`` so relative paths work, enables Colab's custom widget manager
(ipywidgets sliders need it), and says when it is ready. Anywhere else it does nothing.

Lesson: 00_welcome
"""

from __future__ import annotations

from .config import BRANCH, REPOSITORY

__all__ = ["HEADER_TAG", "badge_markdown", "setup_cell_source", "colab_url"]

HEADER_TAG = "colab-header"

_SETUP_TEMPLATE = '''# Setup for Google Colab: installs the course there (about a minute). Anywhere else it does nothing.
import os, subprocess, sys
if "google.colab" in sys.modules and not os.environ.get("MUSEGEN_COLAB_READY"):
    course = "/content/musegen"
    if not os.path.isdir(course):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "{branch}",
                        "https://github.com/{repository}.git", course], check=True)
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


def setup_cell_source() -> str:
    """Source of the Colab setup cell (self-contained: it runs before the course is installed)."""
    return _SETUP_TEMPLATE.format(repository=REPOSITORY, branch=BRANCH)
