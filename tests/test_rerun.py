"""Every student notebook runs top to bottom twice in the same kernel (fast mode), and then its
widgets survive misuse.

Students re-run cells and whole notebooks after a kernel hiccup; a second pass must not trip
over state left by the first (a file the first pass saved, a widget, a model already built).
nbval already runs each notebook once in a fresh kernel.

After the two runs, the same kernel (with the lesson's real widgets, models and data) is given
the values a student might type: an unknown key, "C major" in the tonic box, a negative seed, a
top-p of 5, an order-0 Markov chain, a save with no answer chosen. Every one must end as a
message in the widget that says what to do — never an exception, never a silent widget — and
a good value afterwards must work again.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import nbformat
import pytest
from awkward_midi import time_limit
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
STUDENT_NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Code run in the notebook's kernel after its second run. `expect(widget, words)` checks the
# widget's last error names the problem; each block ends with a good value that must work again.
_EXPECT = '''
def expect(widget, words):
    assert widget.error is not None, f"no error shown (wanted one saying {words!r})"
    assert words in widget.error, f"the widget says {widget.error!r}; wanted {words!r}"
    shown = "".join(o.get("data", {}).get("text/html", "") for o in widget.message.outputs)
    assert "⚠" in shown, f"the error is not shown in the widget: {shown!r}"

def expect_fine(widget):
    assert widget.error is None, widget.error
    assert widget.piece is not None and len(widget.piece.notes) > 0
'''

WIDGET_WORDS = ("music_controls(", "_widget(", ".widget()", "ListeningTest(", "import ipywidgets")

MISUSE = {
    "02_rule_based": '''
        tonic, seed = composer.controls["tonic"], composer.controls["seed"]
        for typed, words in [("H", "unknown key"), ("", "unknown key"), ("C major", "type only the tonic"),
                             ("<b>C</b>", "unknown key"), ("x" * 3000, "unknown key")]:
            tonic.value = typed
            expect(composer, words)
        tonic.value = "F#"
        expect_fine(composer)
        for bad in (-3, 2 ** 40):
            seed.value = bad
            expect(composer, "seed must be a whole number")
        seed.value = 7
        expect_fine(composer)
        # sliders clamp what is typed into their number box: the function never sees 10 000 BPM
        composer.controls["tempo"].value = 10_000
        assert composer.controls["tempo"].value == 200
        expect_fine(composer)

        order = markov.controls["order"]
        for bad in (0, -1, 99):
            order.value = bad
            expect(markov, "there is no order")
        order.value = 2
        expect_fine(markov)
        markov.controls["seed"].value = -5
        expect(markov, "seed must be a whole number")
        markov.controls["seed"].value = 1
        expect_fine(markov)
    ''',
    "03_lstm": '''
        c = lstm_widget.controls
        for bad in (0.0, -0.5, 5.0):
            c["top_p"].value = bad
            expect(lstm_widget, "top_p is a probability mass")
        c["top_p"].value = 0.9
        expect_fine(lstm_widget)
        for bad in (-1, 2 ** 40):
            c["seed"].value = bad
            expect(lstm_widget, "seed must be a whole number")
        c["seed"].value = 3
        expect_fine(lstm_widget)
        c["temperature"].value = -4.0            # clamped by the slider to its minimum, 0 = greedy
        assert c["temperature"].value == 0.0
        expect_fine(lstm_widget)
    ''',
    "04_gan": '''
        import ipywidgets
        for kwargs, words in [({"positions": 0}, "from 2 to 64"), ({"seed_start": -1}, "seed must be"),
                              ({"threshold": 2.0}, "between 0 and 1")]:
            try:
                latent_walk_widget(pretrained, **kwargs)
            except ValueError as error:
                assert words in str(error), str(error)
            else:
                raise AssertionError(f"latent_walk_widget accepted {kwargs}")
        walk = latent_walk_widget(pretrained, positions=4)
        slider, picture, player, message = walk.children
        for k in (3, 0, 2):
            slider.value = k
            assert picture.value[:4] == b"\\x89PNG" and "<audio" in player.value and message.outputs == ()
    ''',
    "06_transformer": '''
        c = transformer_widget.controls
        for bad in (0.0, 1.5):
            c["top_p"].value = bad
            expect(transformer_widget, "top_p is a probability mass")
        c["top_p"].value = 0.9
        expect_fine(transformer_widget)
        for bad in (-1, 2 ** 40):
            c["seed"].value = bad
            expect(transformer_widget, "seed must be a whole number")
        c["seed"].value = 2
        expect_fine(transformer_widget)
        c["file"].value = "no/such/tune.mid"          # a path that does not exist: the file is named
        expect(transformer_widget, "no/such/tune.mid")
        import pathlib, tempfile
        not_music = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
        not_music.write_text("shopping list: milk, eggs")
        c["file"].value = str(not_music)
        expect(transformer_widget, "notes.txt")
        from musegen_helpers.examples import write_example_files
        own = write_example_files(pathlib.Path(tempfile.mkdtemp()))     # a learner's own files, as in lesson 01
        for kind in ("tunebook", "played", "musicxml"):
            c["file"].value = str(own[kind])
            expect_fine(transformer_widget)
            assert transformer_widget.piece.title.startswith("the opening of"), transformer_widget.piece.title
        c["file"].value = ""
        c["temperature"].value = 9.0                  # clamped by the slider to its maximum
        assert c["temperature"].value == 2.0
        expect_fine(transformer_widget)
    ''',
    "05_evaluation": '''
        from musegen_helpers.listening import read_results
        test, saved_before = listening_test, (len(read_results(results_path)) if results_path.exists() else 0)
        widget = test.widget()
        assert not test.done, "the notebook itself answered every pair: nothing left to try"
        remaining = test.remaining
        test._choice.value = None
        test._save.click()                       # nothing chosen: a hint, nothing saved
        shown = "".join(o["data"]["text/html"] for o in test._message.outputs)
        assert "Choose A, B or no preference first" in shown, shown
        assert test.remaining == remaining
        comment = 'commas, "quotes", a\\nnew line, ü, <b>tags</b> ' * 40
        test._choice.value, test._comment.value = "B", comment
        test._save.click()
        assert test.remaining == remaining - 1 and test.unsaved == 0
        rows = read_results(results_path)
        assert len(rows) == saved_before + 1 and rows[-1]["comment"] == comment and rows[-1]["preference"] == "B"
    ''',
}


NOTEBOOK_SECONDS = 900  # a notebook takes under a minute here (fast mode); a hang fails instead of stalling CI


def _record_shell_sends_during_cells(client, where):
    """Record ``(where(), msg_type)`` for every message but the cells themselves that ``client``
    sends on the shell channel from now on.

    nbclient sends such a message (a comm_msg syncing the widget's outputs) for every output that
    a cell captures into an ipywidgets Output. jupyter_client sends it through a plain shadow of
    the asyncio socket, so pyzmq does not look again for a reply that arrived meanwhile: the
    wake-up for the cell's execute_reply can be lost, and the cell then waits its whole timeout
    with kernel and client idle, and passes late (issue 18: 623 s for a 29 s notebook in CI;
    jupyter/nbclient#312). A notebook that makes none of these sends cannot stall this way.
    """
    sent = []
    shell = client.kc.shell_channel
    plain_send = shell.send

    def send(msg):
        if msg["header"]["msg_type"] != "execute_request":
            sent.append((where(), msg["header"]["msg_type"]))
        plain_send(msg)

    shell.send = send
    return sent


def test_every_widget_notebook_has_a_misuse_check():
    widget_notebooks = {p.stem for p in STUDENT_NOTEBOOKS
                        if any(word in p.read_text() for word in WIDGET_WORDS)}
    assert widget_notebooks == set(MISUSE), "add the new widget's misuse to MISUSE"


def _runs_twice_then_its_widgets_survive_misuse(path, tmp_path, monkeypatch):
    assert STUDENT_NOTEBOOKS, "no student notebooks found"
    work = tmp_path / "notebooks"
    work.mkdir()
    shutil.copy(path, work / path.name)
    nb = nbformat.read(str(work / path.name), as_version=4)
    monkeypatch.setenv("MUSEGEN_FAST", "1")  # the kernel inherits the environment
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    where = "starting the kernel"
    try:
        with time_limit(NOTEBOOK_SECONDS, f"{path.stem} stalled"), client.setup_kernel():
            talked_back = _record_shell_sends_during_cells(client, lambda: where)
            for run in (1, 2):
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type == "code":
                        where = f"run {run}, cell {index}"
                        client.execute_cell(cell, index)  # raises CellExecutionError on any error
            errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                      if o.get("output_type") == "error"]
            assert errors == []
            if path.stem in MISUSE:
                where = "the misuse checks"
                probe = nbformat.v4.new_code_cell(_EXPECT + textwrap.dedent(MISUSE[path.stem]))
                nb.cells.append(probe)
                client.execute_cell(probe, len(nb.cells) - 1)  # raises CellExecutionError naming the assertion
            else:  # then it must really have no widgets
                assert not any(word in path.read_text() for word in WIDGET_WORDS), \
                    f"{path.stem}: add its misuse to MISUSE"
            assert talked_back == [], (
                f"{path.stem}: while a cell ran, nbclient sent {talked_back[:3]} to the kernel on the shell "
                "channel. It does that for every output captured into an ipywidgets Output (`with output: "
                "display(...)` or print); such a send can make it miss the cell's reply, and the run then "
                "sits idle for the whole cell timeout (600 s) before going on (issue 18). Set "
                "`output.outputs` directly instead, as musegen_helpers.widgets does.")
    except TimeoutError as error:
        raise TimeoutError(f"{error} during {where}") from None


# One test class per notebook, so that `pytest -n 2 --dist loadscope` (make test) can run two
# notebooks' reruns on two workers at once: a scope is a class here, a notebook file for nbval.
for _path in STUDENT_NOTEBOOKS:
    _name = "TestRerun_" + _path.stem

    def _test(self, tmp_path, monkeypatch, path=_path):
        _runs_twice_then_its_widgets_survive_misuse(path, tmp_path, monkeypatch)

    _test.__name__ = "test_notebook_runs_twice_then_its_widgets_survive_misuse"
    globals()[_name] = type(_name, (), {
        "__doc__": f"{_path.name} runs twice in one kernel, then its widgets survive misuse.",
        _test.__name__: _test})
del _path, _name, _test
