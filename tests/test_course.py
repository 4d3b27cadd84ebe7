"""Student notebooks from solutions: the generator on small notebooks, and the real course in sync.

The last tests check the repository itself: notebooks/ must equal what
``python -m musegen_helpers.course build-notebooks`` writes, every notebook is stored without
outputs, and every lesson has exercises. They fail when solutions/ is empty.
"""

import ast
import json
from pathlib import Path

import nbformat
import pytest

from musegen_helpers import course
from musegen_helpers.course import (
    NotebookError, build_notebooks, check_notebooks, notebook_bytes, student_code, student_markdown,
    student_notebook, strip_solutions,
)

ROOT = Path(__file__).resolve().parent.parent
STUB = 'raise NotImplementedError("Exercise: write this function")'


def parses(code: str) -> bool:
    ast.parse(code)
    return True


# ---- code cells -----------------------------------------------------------------------
def test_top_level_assignment_becomes_blank():
    source = "### BEGIN SOLUTION\na5 = pitch_to_frequency(81)\n### END SOLUTION\nq1.check(a5)"
    assert student_code(source) == "a5 = ____\nq1.check(a5)"


def test_multi_line_expression_and_several_targets():
    source = "\n".join([
        "### BEGIN SOLUTION",
        "twinkle = melody(['C4', 'C4', 'G4'],",
        "                 durations=[1, 1,",
        "                            2])",
        "low, (mid, high) = 60, (64, 67)",
        "x = y = 5",
        "n: int = 3",
        "### END SOLUTION",
        "q1.check(twinkle)",
    ])
    out = student_code(source)
    assert out.split("\n") == [
        "twinkle = ____",
        "low, (mid, high) = ____, (____, ____)",
        "x = y = ____",
        "n: int = ____",
        "q1.check(twinkle)",
    ]
    assert parses(out)


def test_block_that_builds_a_value_step_by_step_gives_one_blank_per_name():
    source = "### BEGIN SOLUTION\nnotes = []\nfor p in scale:\n    notes.append(p + 12)\nnotes = sorted(notes)\n### END SOLUTION"
    assert student_code(source) == "notes = ____"


def test_block_inside_function_body_becomes_not_implemented():
    source = "\n".join([
        "def frequency(pitch):",
        '    """Hz of a MIDI pitch."""',
        "    ### BEGIN SOLUTION",
        "    ratio = 2 ** ((pitch - 69) / 12)",
        "    return 440.0 * ratio",
        "    ### END SOLUTION",
        "",
        "q1.check(frequency)",
    ])
    out = student_code(source)
    assert out.split("\n") == [
        "def frequency(pitch):",
        '    """Hz of a MIDI pitch."""',
        "    " + STUB,
        "",
        "q1.check(frequency)",
    ]
    assert parses(out)


def test_whole_function_in_block_keeps_signature_and_docstring():
    source = "\n".join([
        "### BEGIN SOLUTION",
        "def transpose_up(piece, semitones=12):",
        '    """Move every note up."""',
        "    return piece.transpose(semitones)",
        "### END SOLUTION",
    ])
    out = student_code(source)
    assert out.split("\n") == [
        "def transpose_up(piece, semitones=12):",
        '    """Move every note up."""',
        "    " + STUB,
    ]


def test_block_without_assignment_and_block_inside_a_loop():
    assert student_code("### BEGIN SOLUTION\nplay(tune)\n### END SOLUTION") == "____  # your code here"
    looped = "for n in notes:\n    ### BEGIN SOLUTION\n    print(n.name)\n    ### END SOLUTION\nprint('done')"
    out = student_code(looped)
    assert out == "for n in notes:\n    ____  # your code here\nprint('done')"
    assert parses(out)


def test_cells_without_blocks_and_ipython_magics_are_kept():
    assert student_code("x = 1\nprint(x)") == "x = 1\nprint(x)"
    source = "%matplotlib inline\n### BEGIN SOLUTION\nx = 3\n### END SOLUTION\n!ls"
    assert student_code(source) == "%matplotlib inline\nx = ____\n!ls"


@pytest.mark.parametrize("source, problem", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without a BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n### END SOLUTION", "second BEGIN"),
    ("### BEGIN SOLUTION\nx = (1,\n### END SOLUTION", "line"),
])
def test_broken_blocks_are_reported_with_the_place(source, problem):
    with pytest.raises(NotebookError, match=problem):
        student_code(source, where="01_x.ipynb, cell 4")


# ---- markdown -------------------------------------------------------------------------
def test_markdown_solution_parts_are_removed():
    text = "Intro.\n\n<!-- BEGIN SOLUTION -->\nThe answer is 69.\n<!-- END SOLUTION -->\n\nMore."
    assert student_markdown(text) == "Intro.\n\nMore."
    assert student_markdown("A <!-- BEGIN SOLUTION -->secret<!-- END SOLUTION -->!") == "A !"
    with pytest.raises(NotebookError, match="END SOLUTION"):
        student_markdown("<!-- BEGIN SOLUTION --> never closed")


# ---- whole notebooks ------------------------------------------------------------------
def solution_nb(cells):
    """A small solution notebook from (kind, source, tags) triples, with outputs to strip."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python", "version": "3.11.4"}}
    for i, (kind, source, tags) in enumerate(cells):
        if kind == "code":
            cell = nbformat.v4.new_code_cell(source, id=f"cell-{i}", execution_count=i + 1)
            cell.outputs = [nbformat.v4.new_output("stream", text="some output\n")]
            cell.metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00"}
        else:
            cell = nbformat.v4.new_markdown_cell(source, id=f"cell-{i}")
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


EXAMPLE_CELLS = [
    ("markdown", "# 99 · Example\n\nObjectives.", ()),
    ("code", "from musegen_helpers.exercises import ____, Exercise\nfrom musegen_helpers.checks import check_number", ()),
    ("markdown", "### Exercise 1\n\n<!-- BEGIN SOLUTION -->\nA5 is 880 Hz.\n<!-- END SOLUTION -->", ()),
    ("code", "### BEGIN SOLUTION\na5 = 440.0 * 2\n### END SOLUTION\nprint(a5)", ()),
    ("code", "print('only for the instructor')", ("solution-only",)),
    ("code", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", ("raises-exception",)),
]


def write_course(root: Path, cells=EXAMPLE_CELLS, name="99_example.ipynb") -> Path:
    (root / "solutions").mkdir(parents=True, exist_ok=True)
    path = root / "solutions" / name
    nbformat.write(solution_nb(cells), str(path))
    return path


def test_student_notebook_drops_solutions_outputs_and_tagged_cells():
    nb = student_notebook(solution_nb(EXAMPLE_CELLS), "99_example.ipynb")
    sources = [c.source for c in nb.cells]
    assert "print('only for the instructor')" not in sources
    assert "A5 is 880 Hz." not in "".join(sources)
    assert "a5 = ____\nprint(a5)" in sources
    assert any(STUB in s for s in sources)
    for cell in nb.cells:
        if "colab-header" in cell.metadata.get("tags", []):
            continue  # the Colab badge and setup cell have fixed ids
        assert cell.id.startswith("cell-")  # ids come from the solution
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            assert "execution" not in cell.metadata
            assert parses(cell.source)
    assert nb.cells[-1].metadata["tags"] == ["raises-exception"]  # nbval tags survive
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "version" not in nb.metadata["language_info"]


def test_student_notebook_is_byte_identical_for_the_same_input():
    first = notebook_bytes(student_notebook(solution_nb(EXAMPLE_CELLS), "99_example.ipynb"))
    second = notebook_bytes(student_notebook(solution_nb(EXAMPLE_CELLS), "99_example.ipynb"))
    assert first == second
    assert first.endswith(b"\n")


def test_placeholder_must_be_imported_before_use():
    cells = [("code", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION", ())]
    with pytest.raises(NotebookError, match="import"):
        student_notebook(solution_nb(cells), "99_example.ipynb")
    imported_with_lesson = [("code", "from musegen_helpers.lessons.lesson00 import ____, q1", ())] + cells
    student_notebook(solution_nb(imported_with_lesson), "99_example.ipynb")


def test_generated_student_notebook_runs_with_nothing_solved():
    nb = student_notebook(solution_nb(EXAMPLE_CELLS), "99_example.ipynb")
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and "raises-exception" not in cell.metadata.get("tags", []):
            exec(compile(cell.source, "<cell>", "exec"), namespace)
    assert namespace["a5"] is namespace["____"]
    with pytest.raises(NotImplementedError):
        exec(compile(nb.cells[-1].source + "\ndouble(2)", "<cell>", "exec"), namespace)


def test_build_then_check_and_drift_is_detected(tmp_path):
    write_course(tmp_path)
    report = build_notebooks(tmp_path)
    # the first build gives the solution its Colab header and writes the student notebook
    assert not report.problems
    assert [str(p.relative_to(tmp_path)) for p in report.written] == ["solutions/99_example.ipynb",
                                                                      "notebooks/99_example.ipynb"]
    student = tmp_path / "notebooks" / "99_example.ipynb"
    before = student.read_bytes()
    assert check_notebooks(tmp_path) == []
    assert build_notebooks(tmp_path).written == []  # nothing rewritten when up to date
    assert student.read_bytes() == before

    data = json.loads(before)
    data["cells"][0]["source"] = ["# edited by hand"]
    student.write_text(json.dumps(data))
    problems = check_notebooks(tmp_path)
    assert problems and "99_example.ipynb differs" in problems[0]

    student.unlink()
    assert "is missing" in check_notebooks(tmp_path)[0]


def test_check_lists_student_notebooks_without_a_source(tmp_path):
    write_course(tmp_path)
    build_notebooks(tmp_path)
    (tmp_path / "notebooks" / "98_orphan.ipynb").write_bytes((tmp_path / "notebooks" / "99_example.ipynb").read_bytes())
    problems = check_notebooks(tmp_path)
    assert len(problems) == 1 and "98_orphan.ipynb has no solution source" in problems[0]


def test_check_fails_when_there_are_no_solutions(tmp_path):
    assert "no solution notebooks" in check_notebooks(tmp_path)[0]


def test_command_line(tmp_path, capsys):
    write_course(tmp_path)
    assert course.main(["--root", str(tmp_path), "build-notebooks", "--check"]) == 1
    assert "99_example.ipynb is missing" in capsys.readouterr().err
    assert course.main(["--root", str(tmp_path), "build-notebooks"]) == 0
    assert course.main(["--root", str(tmp_path), "build-notebooks", "--check"]) == 0


def test_strip_removes_outputs_in_place(tmp_path, capsys):
    path = write_course(tmp_path)
    assert strip_solutions(root=tmp_path, check=True).problems
    report = strip_solutions(root=tmp_path)
    assert report.written == [path]
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "### BEGIN SOLUTION" in "".join(code[1]["source"])  # the answers stay in the solution
    assert course.main(["--root", str(tmp_path), "strip", "--check"]) == 0


# ---- the real course ------------------------------------------------------------------
def real_solutions() -> list[Path]:
    found = course.solution_notebooks(ROOT)
    assert found, "solutions/ holds no lesson notebooks (solutions/NN_name.ipynb); the course has no source"
    return found


def test_student_notebooks_are_in_sync_with_solutions():
    real_solutions()
    problems = check_notebooks(ROOT)
    assert not problems, ("notebooks/ is out of date — run `python -m musegen_helpers.course build-notebooks`:\n"
                          + "\n".join(problems))


def test_notebooks_are_stored_without_outputs():
    paths = real_solutions() + sorted((ROOT / "notebooks").glob("*.ipynb"))
    dirty = []
    for path in paths:
        for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
                dirty.append(f"{path.relative_to(ROOT)}, cell {i + 1}")
    assert not dirty, ("stored with outputs or execution counts (run `python -m musegen_helpers.course strip`):\n"
                       + "\n".join(dirty))


def test_every_lesson_has_exercises_with_blanks_for_the_student():
    for path in real_solutions():
        nb = nbformat.read(str(path), as_version=4)
        blocks = [c for c in nb.cells if c.cell_type == "code" and course.has_solution_block(c.source)]
        assert blocks, f"{path.name} has no ### BEGIN SOLUTION block: a lesson needs exercises"
        student = student_notebook(nb, path.name)
        code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
        assert "____" in code or "NotImplementedError" in code, f"student {path.name} has nothing to fill in"
