"""Student notebooks from solution notebooks, and output stripping for authors.

``solutions/NN_name.ipynb`` is the source of truth; ``notebooks/NN_name.ipynb`` is generated::

    python -m musegen_helpers.course build-notebooks          # write notebooks/
    python -m musegen_helpers.course build-notebooks --check  # exit 1 if notebooks/ is out of date
    python -m musegen_helpers.course strip [--check] [FILES]  # drop outputs from solutions/ in place

What the student version gets, cell by cell:

* code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines is replaced:

  - inside a function body: ``raise NotImplementedError("Exercise: write this function")``
    at the block's indentation;
  - elsewhere, each assignment ``x = <expr>`` (even over several lines) becomes ``x = ____``,
    ``a, b = ...`` becomes ``a, b = ____, ____``, a whole ``def`` keeps its signature and
    docstring and gets the ``raise NotImplementedError`` body;
  - a block with none of these becomes ``____  # your code here``;

* markdown between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` is removed;
* cells tagged ``solution-only`` are dropped;
* outputs, execution counts and view state are removed, cell ids are kept, the kernel is
  ``python3`` — so the same solution always gives a byte-identical student notebook.

Every generated code cell is parsed with :mod:`ast`, and a notebook that uses ``____`` must
import it first; a problem stops the build with the notebook, cell and line.

Lesson: 00_welcome
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "NotebookError", "student_code", "student_markdown", "student_notebook", "strip_notebook",
    "notebook_bytes", "solution_notebooks", "build_notebooks", "check_notebooks", "strip_solutions",
    "has_solution_block", "main", "STUDENT_ONLY", "SOLUTION_ONLY_TAG",
]

SOLUTION_ONLY_TAG = "solution-only"
#: notebooks that live only in notebooks/ (no solution source); --check accepts them.
STUDENT_ONLY: frozenset[str] = frozenset()
STUB = 'raise NotImplementedError("Exercise: write this function")'
BLANK = "____"

_NAME_PATTERN = re.compile(r"^\d\d_.+\.ipynb$")
_BEGIN = re.compile(r"^(?P<indent>[ \t]*)#+\s*BEGIN SOLUTION\s*$")
_END = re.compile(r"^(?P<indent>[ \t]*)#+\s*END SOLUTION\s*$")
_MD_BEGIN = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->")
_MD_END = re.compile(r"<!--\s*END SOLUTION\s*-->")
# A block on lines of its own takes its lines with it; an inline one only itself.
_MD_BLOCK_LINES = re.compile(r"^[ \t]*<!--\s*BEGIN SOLUTION\s*-->.*?<!--\s*END SOLUTION\s*-->[ \t]*(\n|\Z)",
                             re.DOTALL | re.MULTILINE)
_MD_BLOCK = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->.*?<!--\s*END SOLUTION\s*-->", re.DOTALL)
# Per-cell metadata that only records how the author's screen looked or when a cell ran.
_VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled", "colab", "outputId", "id")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


class NotebookError(ValueError):
    """A solution notebook cannot be turned into a student notebook; the message says where and why."""


# ---------------------------------------------------------------------------------------
# Code cells
# ---------------------------------------------------------------------------------------
def _as_python(source: str) -> str:
    """The cell as plain Python, the way IPython runs it: ``%magic``, ``!shell`` and ``obj?`` lines
    become ``get_ipython()...`` calls (one line each, so line numbers stay the same)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython is a dependency; plain Python still parses
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # leave it to ast to report the problem
        return source


def _parse(source: str, where: str) -> ast.Module:
    try:
        return ast.parse(_as_python(source))
    except SyntaxError as error:
        raise NotebookError(f"{where}: line {error.lineno}: {error.msg} — fix the Python in this cell.") from None


def _find_blocks(lines: list[str], where: str) -> list[tuple[int, int, str]]:
    """``(begin line index, end line index, indent)`` of every solution block."""
    blocks, begin = [], None
    for i, line in enumerate(lines):
        if _BEGIN.match(line):
            if begin is not None:
                raise NotebookError(f"{where}: line {i + 1}: a second BEGIN SOLUTION before the END SOLUTION "
                                    f"of the one on line {begin + 1}.")
            begin = i
        elif _END.match(line):
            if begin is None:
                raise NotebookError(f"{where}: line {i + 1}: END SOLUTION without a BEGIN SOLUTION above it.")
            blocks.append((begin, i, _BEGIN.match(lines[begin]).group("indent")))
            begin = None
    if begin is not None:
        raise NotebookError(f"{where}: line {begin + 1}: BEGIN SOLUTION is never closed by an END SOLUTION.")
    return blocks


def _inside_function(tree: ast.Module | None, begin_line: int, indent: str) -> bool:
    """Is the block starting after line ``begin_line`` (1-based) part of a function body?"""
    if tree is None:
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.lineno < begin_line <= (node.end_lineno or node.lineno) and len(indent) > node.col_offset:
                return True
    return False


def _blank_value(target: ast.expr) -> str:
    """``____`` for a name; ``____, ____`` (nested as needed) for an unpacking target."""
    if isinstance(target, (ast.Tuple, ast.List)):
        parts = []
        for element in target.elts:
            inner = element.value if isinstance(element, ast.Starred) else element
            value = _blank_value(inner)
            parts.append(f"({value})" if isinstance(inner, (ast.Tuple, ast.List)) else value)
        return ", ".join(parts) if len(parts) != 1 else parts[0] + ","
    return BLANK


def _function_stub(node: ast.FunctionDef | ast.AsyncFunctionDef, code: str, lines: list[str]) -> list[str]:
    """The function's decorators, signature and docstring, with a NotImplementedError body."""
    first_body = node.body[0]
    has_doc = (isinstance(first_body, ast.Expr) and isinstance(first_body.value, ast.Constant)
               and isinstance(first_body.value.value, str))
    start = min([d.lineno for d in node.decorator_list] + [node.lineno])
    if first_body.lineno == node.lineno:  # one-liner: `def f(x): return x`
        stub = ast.FunctionDef if isinstance(node, ast.FunctionDef) else ast.AsyncFunctionDef
        body: list[ast.stmt] = [first_body] if has_doc else []
        body.append(ast.parse(STUB).body[0])
        copy = stub(name=node.name, args=node.args, body=body, decorator_list=node.decorator_list,
                    returns=node.returns, type_comment=None, type_params=getattr(node, "type_params", []))
        return ast.unparse(ast.fix_missing_locations(copy)).split("\n")
    header_end = first_body.end_lineno if has_doc else first_body.lineno - 1
    header = lines[start - 1: header_end]
    body_indent = re.match(r"[ \t]*", lines[first_body.lineno - 1]).group(0)
    return header + [body_indent + STUB]


def _replace_block(block: list[str], indent: str, in_function: bool, where: str) -> list[str]:
    if in_function:
        return [indent + STUB]
    dedented = []
    for line in block:
        if line.strip() and not line.startswith(indent):
            raise NotebookError(f"{where}: a line of a solution block is indented less than its BEGIN SOLUTION "
                                f"marker: {line.strip()!r}.")
        dedented.append(line[len(indent):] if line.strip() else "")
    code = "\n".join(dedented)
    tree = _parse(code, where)
    lines = code.split("\n")
    out: list[str] = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            targets = [ast.get_source_segment(code, t) for t in statement.targets]
            value = next((_blank_value(t) for t in statement.targets if isinstance(t, (ast.Tuple, ast.List))),
                         BLANK)
            out.append(" = ".join(targets) + " = " + value)
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target = ast.get_source_segment(code, statement.target)
            annotation = ast.get_source_segment(code, statement.annotation)
            out.append(f"{target}: {annotation} = {BLANK}")
        elif isinstance(statement, ast.AugAssign):
            out.append(f"{ast.get_source_segment(code, statement.target)} = {BLANK}")
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if out:
                out.append("")  # keep a blank line between a function and what comes before it
            out.extend(_function_stub(statement, code, lines))
    if not out:
        out = [f"{BLANK}  # your code here"]
    unique = []
    for line in out:  # `notes = []` ... `notes = sorted(notes)`: one blank is enough
        if not line or line not in unique or line.startswith((" ", "\t", "@", "def ", "async def ")):
            unique.append(line)
    return [indent + line if line else line for line in unique]


def student_code(source: str, where: str = "cell") -> str:
    """The student version of one code cell (unchanged when it has no solution block)."""
    lines = source.split("\n")
    blocks = _find_blocks(lines, where)
    if not blocks:
        return source
    tree = _parse(source, where)
    out: list[str] = []
    cursor = 0
    for begin, end, indent in blocks:
        out.extend(lines[cursor:begin])
        in_function = _inside_function(tree, begin + 1, indent)
        out.extend(_replace_block(lines[begin + 1:end], indent, in_function, f"{where}, line {begin + 1}"))
        cursor = end + 1
    out.extend(lines[cursor:])
    result = "\n".join(out)
    try:
        _parse(result, where)
    except NotebookError as error:  # a bug in the generator (or an odd block): say so plainly
        raise NotebookError(f"{error} (in the generated student code:\n{result})") from None
    return result


def has_solution_block(source: str) -> bool:
    """True when a code cell holds a ``### BEGIN SOLUTION`` line."""
    return any(_BEGIN.match(line) for line in source.split("\n"))


# ---------------------------------------------------------------------------------------
# Markdown cells
# ---------------------------------------------------------------------------------------
def student_markdown(source: str, where: str = "cell") -> str:
    """Markdown without its ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->`` parts."""
    n_begin, n_end = len(_MD_BEGIN.findall(source)), len(_MD_END.findall(source))
    if n_begin != n_end:
        raise NotebookError(f"{where}: {n_begin} <!-- BEGIN SOLUTION --> but {n_end} <!-- END SOLUTION --> "
                            "markers; every BEGIN needs its END in the same cell.")
    if not n_begin:
        return source
    text = _MD_BLOCK.sub("", _MD_BLOCK_LINES.sub("", source))
    if _MD_BEGIN.search(text) or _MD_END.search(text):
        raise NotebookError(f"{where}: the markdown solution markers are nested or out of order.")
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


# ---------------------------------------------------------------------------------------
# Notebooks
# ---------------------------------------------------------------------------------------
def _nbformat():
    import nbformat  # imported here: the package itself does not need it
    return nbformat


def _clean_cell_metadata(metadata: dict) -> dict:
    return {k: v for k, v in metadata.items() if k not in _VOLATILE_CELL_METADATA}


def _stable_ids(nb, stem: str) -> None:
    """Give every cell an id (kept when there is one; otherwise derived from the notebook and position)."""
    seen: set[str] = set()
    valid = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
    for i, cell in enumerate(nb.cells):
        cell_id = cell.get("id")
        if not cell_id or not valid.match(str(cell_id)) or cell_id in seen:
            base = hashlib.sha1(f"{stem}-{i}".encode()).hexdigest()[:8]
            cell_id, k = base, 1
            while cell_id in seen:
                cell_id, k = f"{base}-{k}", k + 1
            cell["id"] = cell_id
        seen.add(cell_id)


def _uses_blank(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.Name) and n.id == BLANK for n in ast.walk(tree))


def _defines_blank(tree: ast.Module) -> bool:
    """Does this code import ``____`` (or ``*``) or assign it?"""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if any(alias.name == "*" or (alias.asname or alias.name) == BLANK for alias in node.names):
                return True
        elif isinstance(node, ast.Name) and node.id == BLANK and isinstance(node.ctx, ast.Store):
            return True
    return False


def with_colab_header(nb, notebook_path: str):
    """``nb`` with the Colab badge and setup cell (tagged ``colab-header``) as its first two cells.

    Old header cells are replaced, so changing :data:`config.REPOSITORY` and rebuilding updates
    every notebook. ``notebook_path`` is relative to the repository root ('notebooks/01_x.ipynb').
    """
    from .colab import HEADER_TAG, badge_markdown, setup_cell_source

    nbformat = _nbformat()
    cells = [c for c in nb.cells if HEADER_TAG not in c.get("metadata", {}).get("tags", [])]
    badge = nbformat.v4.new_markdown_cell(badge_markdown(notebook_path), metadata={"tags": [HEADER_TAG]})
    badge["id"] = "colab-badge"
    setup = nbformat.v4.new_code_cell(setup_cell_source(), metadata={"tags": [HEADER_TAG]})
    setup["id"] = "colab-setup"
    nb.cells = [badge, setup] + cells
    return nb


def student_notebook(solution, name: str = "notebook"):
    """The student version of a solution notebook (an ``nbformat`` NotebookNode); see the module doc."""
    nbformat = _nbformat()
    source = solution if not isinstance(solution, (str, Path)) else nbformat.read(str(solution), as_version=4)
    stem = Path(name).stem
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
        "musegen": {"generated_from": f"solutions/{Path(name).name}",
                    "note": "Generated by `python -m musegen_helpers.course build-notebooks`: "
                            "edit the solution notebook instead."},
    }
    source = nbformat.from_dict(source)
    _stable_ids(source, stem)
    blank_defined = False
    for index, cell in enumerate(source.cells):
        where = f"{name}, cell {index + 1}"
        tags = cell.get("metadata", {}).get("tags", [])
        if SOLUTION_ONLY_TAG in tags:
            continue
        metadata = _clean_cell_metadata(dict(cell.get("metadata", {})))
        text = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if cell.cell_type == "code":
            text = student_code(text, where)
            tree = _parse(text, where)
            blank_defined = blank_defined or _defines_blank(tree)
            if _uses_blank(tree) and not blank_defined:
                raise NotebookError(
                        f"{where}: the student version uses ____ before it is imported; add "
                        "`from musegen_helpers.exercises import ____` (or import it with the lesson's "
                        "exercises) in an earlier cell of the solution notebook.")
            new = nbformat.v4.new_code_cell(text, metadata=metadata)
        elif cell.cell_type == "markdown":
            text = student_markdown(text, where)
            if not text.strip():
                continue  # the whole cell was a solution note
            new = nbformat.v4.new_markdown_cell(text, metadata=metadata)
            if cell.get("attachments"):
                new["attachments"] = cell["attachments"]
        else:
            new = nbformat.v4.new_raw_cell(text, metadata=metadata)
        new["id"] = cell["id"]
        nb.cells.append(new)
    with_colab_header(nb, f"notebooks/{Path(name).name}")
    nbformat.validate(nb)
    return nb


def strip_notebook(nb, name: str = "notebook"):
    """A copy without outputs, execution counts, view state and widget state; ids made stable."""
    nbformat = _nbformat()
    nb = nbformat.from_dict(nb)
    nb.nbformat, nb.nbformat_minor = 4, max(5, int(nb.get("nbformat_minor", 5)))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata = _clean_cell_metadata(dict(cell.get("metadata", {})))
    _stable_ids(nb, Path(name).stem)
    nb.metadata.pop("widgets", None)  # saved widget state: large and different on every run
    info = nb.metadata.get("language_info")
    if isinstance(info, dict):  # Jupyter records the author's exact Python version here
        nb.metadata["language_info"] = {"name": info.get("name", "python")}
    nbformat.validate(nb)
    return nb


def notebook_bytes(nb) -> bytes:
    """The exact bytes written for a notebook (nbformat's JSON, sorted keys, newline at the end)."""
    text = _nbformat().writes(nb, version=4)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def solution_notebooks(root: Path) -> list[Path]:
    """``solutions/NN_*.ipynb`` under ``root``, sorted by name."""
    folder = Path(root) / "solutions"
    return sorted(p for p in folder.glob("*.ipynb") if _NAME_PATTERN.match(p.name)) if folder.is_dir() else []


@dataclass
class BuildReport:
    """What a build found: files written (or that would be), up to date, and problems."""

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _root(root) -> Path:
    if root is not None:
        return Path(root)
    from .config import PROJECT_DIR
    return PROJECT_DIR


def build_notebooks(root=None, check: bool = False) -> BuildReport:
    """Write (or with ``check=True`` only compare) ``notebooks/NN_*.ipynb`` for every solution notebook.

    Problems listed in the report: out-of-date or missing student notebooks (check mode), student
    notebooks without a solution source (unless in :data:`STUDENT_ONLY`), no solutions at all.
    """
    root = _root(root)
    report = BuildReport()
    solutions = solution_notebooks(root)
    if not solutions:
        report.problems.append(f"no solution notebooks (solutions/NN_name.ipynb) under {root}.")
    out_dir = root / "notebooks"
    for path in solutions:
        _refresh_solution_header(path, report, check)
        target = out_dir / path.name
        try:
            data = notebook_bytes(student_notebook(path, path.name))
        except NotebookError as error:
            report.problems.append(str(error))
            continue
        current = target.read_bytes() if target.exists() else None
        if current == data:
            report.unchanged.append(target)
            continue
        if check:
            state = "is missing" if current is None else "differs from its solution notebook"
            report.problems.append(f"notebooks/{path.name} {state}.")
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".ipynb.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)  # atomic: a reader never sees half a notebook
        report.written.append(target)
    sources = {p.name for p in solutions}
    if out_dir.is_dir():
        for student in sorted(out_dir.glob("*.ipynb")):
            if student.name not in sources and student.name not in STUDENT_ONLY:
                report.problems.append(f"notebooks/{student.name} has no solution source "
                                       f"(solutions/{student.name}); delete it or add the solution notebook.")
    return report


def _refresh_solution_header(path: Path, report: "BuildReport", check: bool) -> None:
    """Give a solution notebook the current Colab header (badge + setup cell), in place."""
    nbformat = _nbformat()
    current = path.read_bytes()
    nb = nbformat.reads(current.decode("utf-8"), as_version=4)
    with_colab_header(nb, f"solutions/{path.name}")
    data = notebook_bytes(nb)
    if data == current:
        return
    if check:
        report.problems.append(f"solutions/{path.name} lacks the current Colab header.")
        return
    tmp = path.with_suffix(".ipynb.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    report.written.append(path)


def check_notebooks(root=None) -> list[str]:
    """Problems that ``build-notebooks --check`` reports (empty when notebooks/ is up to date)."""
    return build_notebooks(root, check=True).problems


def strip_solutions(paths=None, root=None, check: bool = False) -> BuildReport:
    """Strip outputs from solution notebooks in place (or, with ``check``, list those that need it)."""
    nbformat = _nbformat()
    paths = [Path(p) for p in paths] if paths else solution_notebooks(_root(root))
    report = BuildReport()
    for path in paths:
        current = path.read_bytes()
        data = notebook_bytes(strip_notebook(nbformat.reads(current.decode("utf-8"), as_version=4), path.name))
        if data == current:
            report.unchanged.append(path)
        elif check:
            report.problems.append(f"{path} has outputs, execution counts or view state; run "
                                   "`python -m musegen_helpers.course strip`.")
        else:
            tmp = path.with_suffix(".ipynb.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
            report.written.append(path)
    return report


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m musegen_helpers.course",
                                     description="Build student notebooks from solutions/, strip outputs.")
    parser.add_argument("--root", default=None, help="course folder (default: this checkout)")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build-notebooks", help="write notebooks/NN_*.ipynb from solutions/NN_*.ipynb")
    build.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 and list the notebooks that are out of date")
    strip = commands.add_parser("strip", help="remove outputs and execution counts from solution notebooks")
    strip.add_argument("--check", action="store_true", help="write nothing; exit 1 if any needs stripping")
    strip.add_argument("paths", nargs="*", help="notebooks to strip (default: solutions/NN_*.ipynb)")
    args = parser.parse_args(argv)

    if args.command == "build-notebooks":
        report = build_notebooks(args.root, check=args.check)
        for path in report.written:
            print(f"wrote {path}")
        if report.problems:
            for problem in report.problems:
                print(f"error: {problem}", file=sys.stderr)
            if args.check:
                print("run `python -m musegen_helpers.course build-notebooks` to regenerate notebooks/.",
                      file=sys.stderr)
            return 1
        # a solution notebook whose Colab header was refreshed is listed too: count students only
        students = [p for p in report.written + report.unchanged if p.parent.name == "notebooks"]
        written = [p for p in report.written if p.parent.name == "notebooks"]
        headers = len(report.written) - len(written)
        print(f"{len(students)} student notebooks {'up to date' if not written else 'built'} "
              f"({len(written)} written, {len(students) - len(written)} unchanged)"
              + (f"; {headers} solution notebook header(s) refreshed." if headers else "."))
        return 0
    report = strip_solutions(args.paths, args.root, check=args.check)
    for path in report.written:
        print(f"stripped {path}")
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    if not report.problems:
        print(f"{len(report.written)} stripped, {len(report.unchanged)} already clean.")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
