"""One concept, one home: the package's own structure, checked.

* No module of ``musegen_helpers`` reaches into another module's ``_private`` name (plumbing that
  several modules need is a small public function, never a borrowed private one).
* Importing the package (and every module but ``musegen_helpers.models``) leaves TensorFlow and
  Keras unloaded, so lessons 00–02 start in about a second.
* Each exercise's worked solution exists once in spirit: the ``solution=`` text of its
  :class:`~musegen_helpers.exercises.Exercise` is the same code as the ``### BEGIN SOLUTION``
  block of its notebook in ``solutions/`` (comments, quotes and layout may differ).
"""

from __future__ import annotations

import ast
import copy
import importlib
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "musegen_helpers"


# ---- no module imports another module's private name ---------------------------------------
def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(source: str, module: str, is_package: bool, modules: set[str]) -> list[str]:
    """Every ``from .x import _name``, ``from ..x import _name`` and ``x._name`` in ``source``
    (the code of package module ``module``) that takes a private name of *another* module of
    ``modules``. Returns one 'line N: what' entry per use."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    aliases: dict[str, str] = {}   # local name -> package module it stands for
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "musegen_helpers":
                continue
            for alias in node.names:
                if f"{target}.{alias.name}" in modules:          # from . import sampling as _sampling
                    aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
                elif _is_private(alias.name) and target != module:
                    found.append(f"line {node.lineno}: from {target} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "musegen_helpers":
                    continue
                if alias.asname:                     # import musegen_helpers.sampling as s
                    aliases[alias.asname] = alias.name
                else:                                # import musegen_helpers.sampling binds musegen_helpers
                    aliases["musegen_helpers"] = "musegen_helpers"

    def resolve(node) -> str | None:
        """The package module an expression names (``_sampling``, ``musegen_helpers.sampling``)."""
        if isinstance(node, ast.Name):
            return aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = resolve(node.value)
            if base is not None and f"{base}.{node.attr}" in modules:
                return f"{base}.{node.attr}"
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            owner = resolve(node.value)
            if owner is not None and owner != module:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return sorted(found, key=lambda entry: int(entry.split(":")[0].split()[1]))


def _package_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_the_private_name_scan_finds_each_kind_of_reach():
    """The scan itself: each way of borrowing a private name is caught; own and dunder names are not."""
    modules = {"musegen_helpers", "musegen_helpers.theory", "musegen_helpers.sampling",
               "musegen_helpers.lessons", "musegen_helpers.lessons.lesson03", "musegen_helpers.exercises"}
    source = textwrap.dedent("""
        from __future__ import annotations
        from .theory import _split_key, parse_scale, __all__
        from . import sampling as _sampling
        import musegen_helpers.sampling
        from .rules import _own_helper_of_this_module
        rng = _sampling._as_rng(0)
        other = musegen_helpers.sampling._as_weights
        fine = _sampling.sample
        self_use = _local._thing
    """)
    found = private_uses(source, "musegen_helpers.rules", False, modules | {"musegen_helpers.rules"})
    assert found == ["line 3: from musegen_helpers.theory import _split_key",
                     "line 7: _sampling._as_rng", "line 8: musegen_helpers.sampling._as_weights"]
    lesson = "from ..exercises import ____, _learner_line\n"
    assert private_uses(lesson, "musegen_helpers.lessons.lesson03", False, modules) == [
        "line 1: from musegen_helpers.exercises import _learner_line"]


def test_no_module_imports_another_modules_private_name():
    modules = _package_modules()
    names = set(modules)
    assert {"musegen_helpers.music", "musegen_helpers.exercises", "musegen_helpers.lessons.lesson00"} <= names
    problems = []
    for name, path in modules.items():
        for use in private_uses(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", names):
            problems.append(f"{path.relative_to(ROOT)} {use}")
    assert not problems, ("these modules use another module's private name; make the name public (with a "
                          "docstring) in the module that owns it, or move the shared code to a small public "
                          "module:\n" + "\n".join(problems))


# ---- importing the package leaves TensorFlow alone -------------------------------------------
def test_importing_the_package_and_its_light_modules_does_not_import_tensorflow():
    light = sorted(name for name in _package_modules()
                   if not name.startswith("musegen_helpers.models") and name != "musegen_helpers.__main__")
    code = ("import sys, importlib\n"
            f"for name in {light!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'torch', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", (
        f"importing {len(light)} modules outside musegen_helpers.models loaded a deep-learning framework: "
        f"{out.stdout.strip()}")


# ---- a solution exists once: Exercise.solution text == the notebook's solution block --------
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
_BEGIN, _END = "### BEGIN SOLUTION", "### END SOLUTION"


def _code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _statements(node):
    for field in ("body", "orelse", "finalbody", "handlers"):
        for child in getattr(node, field, []) or []:
            yield node, child
            yield from _statements(child)


def solution_block(cell: str) -> tuple[ast.AST, set[str]]:
    """The code of a cell's solution block as one comparable AST, and the names it defines.

    A block at the top level gives its statements; a block inside a function body gives that
    function with the block as its whole body (the ``def`` line is part of the answer)."""
    lines = cell.split("\n")
    begin = next(i for i, line in enumerate(lines, 1) if line.strip() == _BEGIN)
    end = next(i for i, line in enumerate(lines, 1) if line.strip() == _END)
    tree = ast.parse(cell)
    inside = [(parent, stmt) for parent, stmt in _statements(tree) if begin < stmt.lineno < end]
    outermost = [(p, s) for p, s in inside if not any(s is not t and _contains(t, s) for _, t in inside)]
    parents = {id(p) for p, _ in outermost}
    assert len(parents) == 1, "a solution block must sit in one statement list"
    parent = outermost[0][0]
    body = [s for _, s in outermost]
    if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
        fn = copy.copy(parent)  # the def line as written, with the block as its whole body
        fn.body, fn.decorator_list = body, []
        return ast.Module(body=[fn], type_ignores=[]), {parent.name}
    defined = set()
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.add(node.name)
    return ast.Module(body=body, type_ignores=[]), defined


def _contains(outer, inner) -> bool:
    return any(node is inner for node in ast.walk(outer))


def _without_docstring(module: ast.Module) -> ast.Module:
    for fn in module.body:
        if isinstance(fn, ast.FunctionDef) and fn.body and isinstance(fn.body[0], ast.Expr) \
                and isinstance(getattr(fn.body[0], "value", None), ast.Constant) \
                and isinstance(fn.body[0].value.value, str):
            fn.body = fn.body[1:]
    return module


def _checked_exercise(cells: list[str], start: int, names: set[str]) -> str | None:
    """The exercise (``q3``) whose ``.check(name)`` takes a name the block defines, in this cell or later."""
    for cell in cells[start:]:
        try:
            tree = ast.parse(cell)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "check"
                    and isinstance(node.func.value, ast.Name) and node.args
                    and isinstance(node.args[0], ast.Name) and node.args[0].id in names):
                return node.func.value.id
    return None


def _same_code(a: ast.AST, b: ast.AST) -> bool:
    return ast.dump(a, annotate_fields=False) == ast.dump(b, annotate_fields=False)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_solution_block_matches_its_exercises_solution_text(path):
    from musegen_helpers.exercises import Exercise

    cells = _code_cells(path)
    lessons = set(re.findall(r"from musegen_helpers\.lessons\.(lesson\d+) import", "\n".join(cells)))
    assert len(lessons) == 1, f"{path.name} should import its exercises from one lessons module, found {lessons}"
    module = importlib.import_module(f"musegen_helpers.lessons.{lessons.pop()}")
    exercises = {name: value for name, value in vars(module).items() if isinstance(value, Exercise)}
    compared, drift = set(), []
    for i, cell in enumerate(cells):
        if _BEGIN not in cell:
            continue
        block, names = solution_block(cell)
        name = _checked_exercise(cells, i, names)
        assert name in exercises, (f"{path.name}, code cell {i}: no `qN.check(...)` of {sorted(names)} "
                                   f"found for this solution block (exercises: {sorted(exercises)})")
        compared.add(name)
        text = exercises[name]._solution
        try:
            stored = _without_docstring(ast.parse(textwrap.dedent(text)))
        except SyntaxError as error:
            drift.append(f"{module.__name__}.{name}: its solution= text is not Python ({error})")
            continue
        if not _same_code(_without_docstring(block), stored):
            drift.append(f"{module.__name__}.{name} (notebook code cell {i}):\n"
                         f"  notebook:  {ast.unparse(block)!r}\n  solution=: {ast.unparse(stored)!r}")
    assert compared == set(exercises), (
        f"{path.name}: exercises without a solution block in the notebook: {sorted(set(exercises) - compared)}")
    assert not drift, ("solution() shows other code than the notebook's solution block; the notebook is the "
                       "source: copy its block into the lesson module's solution= text:\n" + "\n".join(drift))


def test_the_solution_comparison_sees_code_changes_but_not_comments_or_layout():
    cell = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1   # one up\n    ### END SOLUTION\n\nq1.check(f)"
    block, names = solution_block(cell)
    assert names == {"f"} and _checked_exercise([cell], 0, names) == "q1"
    assert _same_code(block, ast.parse("def f(x):\n    return (x +\n            1)"))
    assert not _same_code(block, ast.parse("def f(x):\n    return x + 2"))
    assert not _same_code(block, ast.parse("def g(x):\n    return x + 1"))
    top = "### BEGIN SOLUTION\nn, k = 20, 6\np = n / k\n### END SOLUTION\nprint(p)\nq4.check(p)"
    block, names = solution_block(top)
    assert names == {"n", "k", "p"} and _checked_exercise([top], 0, names) == "q4"
    assert _same_code(block, ast.parse("n, k = 20, 6   # ties left out\np = n / k"))
    assert not _same_code(block, ast.parse("n, k = 20, 6"))


def test_every_public_function_names_the_lesson_that_teaches_it():
    """A reader jumps from code to lesson: each public function or class says ``Lesson: NN_name`` in
    its docstring, or its module does (CONTRIBUTING.md)."""
    import ast
    import pathlib

    import musegen_helpers

    root = pathlib.Path(musegen_helpers.__file__).parent
    missing = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if "Lesson" in (ast.get_docstring(tree) or ""):
            continue
        missing += [f"{path.relative_to(root)}:{node.name}" for node in tree.body
                    if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")
                    and "Lesson" not in (ast.get_docstring(node) or "")]
    assert not missing, f"add 'Lesson: NN_name' to the docstring of {missing}"
