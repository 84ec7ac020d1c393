"""What students receive: ``grader release NAME --out DIR``.

The release holds the stub, the notebook made from it, a README, and the visible checks
with the reference's recorded answers, so students can check their work themselves::

    DIR/NAME.py                  the stub (jupytext percent format)
    DIR/NAME.ipynb               the same, as a notebook, with how it is graded
    DIR/README.md                how to work, self-check and hand in
    DIR/checks/assignment.toml   [assignment] and [limits]
    DIR/checks/test_*.py         the check files that hold only visible checks
    DIR/checks/_*.py             the private helper modules those check files import
    DIR/checks/answers.json      the reference's answers to those checks' calls

Nothing else goes out: no reference solution, no hidden check or its name, never the
course secret hidden checks draw their inputs from. A release is
deterministic (the same assignment gives byte-identical files). ``scan_release`` looks
for what must never be in one.
"""

from __future__ import annotations

import ast
import io
import json
import math
import re
import shutil
import tempfile
import textwrap
import tokenize
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.assignment import ANSWERS_FILE, Assignment, check_file_visibility
from grader.checks.secret import SECRET_FILE, course_secret
from grader.engine.check_modules import shipped_helpers
from grader.errors import AssignmentError, LeakError, UsageError

__all__ = [
    "CHECKS_DIR",
    "SKIP_TAG",
    "LeakError",
    "ReferenceLine",
    "build_notebook",
    "check_destination",
    "reference_lines",
    "release_readme",
    "release_toml",
    "scan_release",
    "write_release",
]

CHECKS_DIR = "checks"
SKIP_TAG = "skip-grading"
# Shorter reference lines (`return model`, `total = 0.0`, `for layer in model.layers:`)
# are what any solution writes; they tell nothing about this one.
MIN_LINE_CHARS = 24

_GRADING_CELL = """\
## How this notebook is graded

Your notebook is graded as if its code cells, in order, were one Python file
`{module}.py`: the grader imports it and calls your functions with its own arguments.
Some code is left out, so explore freely there:

* cells whose first line is the comment `# {tag}`, or that are tagged `{tag}`
  (cell tags: JupyterLab's property inspector, or View > Cell Toolbar > Tags);
* IPython magics and shell lines (`%matplotlib inline`, `!pip install ...`), and cells
  run by a cell magic such as `%%bash` (but a `%%time` cell's code does run).

Markdown cells are ignored. Everything else runs when your notebook is imported, so keep
slow experiments in skipped cells, and make sure the notebook runs from top to bottom
(Kernel > Restart & Run All) before you hand it in."""

_CHECK_CELL = """\
## Check your work

Run the cell below to run the visible checks on this notebook (save it first). They are
the checks in `checks/`, with the reference solution's answers recorded in
`checks/answers.json`."""


@dataclass(frozen=True)
class ReferenceLine:
    """A non-trivial line of a reference function's body."""

    lineno: int
    text: str  # as written, stripped
    key: str  # whitespace removed, trailing comma dropped: what is searched for


# ---------------------------------------------------------------- writing


def write_release(
    assignment: Assignment, out: Path, *, force: bool = False, scan: bool = True
) -> list[Path]:
    """Write the release of ``assignment`` into ``out``; return the files written.

    ``out`` must be missing or empty; with ``force`` an earlier release there is
    replaced (its ``checks/`` folder is emptied, the other files it wrote overwritten;
    files a release does not write are left alone). With ``scan``, a release that
    ``scan_release`` finds anything in is not written (``LeakError``).
    """
    check_destination(out, force=force)
    # Everything is built and scanned before anything is written: a failure leaves
    # `out` untouched. The files are scanned before the answers are recorded, which
    # takes a while (they hold answers, never code).
    files = _release_files(assignment)
    if scan:
        _refuse_leaks(files, assignment)
    files[f"{CHECKS_DIR}/{ANSWERS_FILE}"] = _answers(assignment)
    if scan:
        _refuse_leaks(files, assignment)
    checks = out / CHECKS_DIR
    if checks.is_symlink() or checks.is_file():
        checks.unlink()
    elif checks.is_dir():
        shutil.rmtree(checks)
    return _write(files, out)


def check_destination(out: Path, *, force: bool = False) -> None:
    """UsageError unless ``out`` is a missing or empty folder (or ``force``)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder.")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(
            f"{out} is not empty. Release into a new or empty folder, or pass --force to "
            "replace the release there."
        )


def _write(files: dict[str, bytes], out: Path) -> list[Path]:
    written = []
    for relative, content in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written


def _refuse_leaks(files: dict[str, bytes], assignment: Assignment) -> None:
    with tempfile.TemporaryDirectory(prefix="grader-release-") as staging:
        _write(files, Path(staging))
        problems = scan_release(Path(staging), assignment)
    if problems:
        raise LeakError(problems)


def _release_files(assignment: Assignment) -> dict[str, bytes]:
    """Every file of the release but the recorded answers."""
    if not assignment.stub.is_file():
        raise AssignmentError(f"The stub {assignment.stub} does not exist.")
    module = assignment.module
    files = {
        f"{module}.py": assignment.stub.read_bytes(),
        f"{module}.ipynb": build_notebook(assignment).encode("utf-8"),
        "README.md": release_readme(assignment).encode("utf-8"),
        f"{CHECKS_DIR}/assignment.toml": release_toml(assignment).encode("utf-8"),
    }
    visible = assignment.visible().check_files()
    # The private helper modules those files import go too (scanned like every file).
    for path in [*visible, *shipped_helpers(visible)]:
        files[f"{CHECKS_DIR}/{path.name}"] = path.read_bytes()
    return files


def _answers(assignment: Assignment) -> bytes:
    """``answers.json``: the reference graded on the visible checks, its answers recorded."""
    from grader.engine.recording import record_answers, write_answers

    answers = record_answers(assignment)
    # write_answers owns the file's layout; the file is read back to be written with the rest.
    with tempfile.TemporaryDirectory(prefix="grader-release-") as scratch:
        path = Path(scratch) / ANSWERS_FILE
        write_answers(answers, path)
        return path.read_bytes()


def build_notebook(assignment: Assignment) -> str:
    """The student notebook: the stub's cells, how it is graded after the title, a
    self-check last."""
    import jupytext
    import nbformat

    try:
        notebook = jupytext.reads(assignment.stub.read_text(encoding="utf-8"), fmt="py:percent")
    except Exception as exc:  # jupytext raises many kinds on a malformed stub
        raise AssignmentError(f"{assignment.stub} cannot be read as a notebook: {exc}") from exc
    v4 = nbformat.v4
    cells = []
    for cell in notebook.cells:
        # Only the tags matter to students and the grader; jupytext's round-trip hints do not.
        tags = list(cell.metadata.get("tags", []))
        if cell.cell_type == "code":
            new = v4.new_code_cell(cell.source)
        elif cell.cell_type == "markdown":
            new = v4.new_markdown_cell(cell.source)
        else:
            new = v4.new_raw_cell(cell.source)
        if tags:
            new.metadata["tags"] = tags
        cells.append(new)
    # How the notebook is graded comes right after its title (the first markdown cell).
    note = v4.new_markdown_cell(_GRADING_CELL.format(module=assignment.module, tag=SKIP_TAG))
    titled = bool(cells) and cells[0].cell_type == "markdown"
    cells.insert(1 if titled else 0, note)
    cells.append(v4.new_markdown_cell(_CHECK_CELL))
    check = v4.new_code_cell(f"!grader check {assignment.module}.ipynb")
    check.metadata["tags"] = [SKIP_TAG]
    cells.append(check)
    for number, cell in enumerate(cells, start=1):
        cell["id"] = f"cell-{number:02d}"  # stable ids: two releases are byte-identical
    result = v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(result)
    return nbformat.writes(result) + "\n"


def release_toml(assignment: Assignment) -> str:
    """``assignment.toml`` with the [assignment] and [limits] tables (the visible checks
    declare themselves in the check files shipped beside it)."""
    path = assignment.directory / "assignment.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    lines = [
        f"# {assignment.title}: the module, graded functions and limits of its visible checks.",
        "# Written by `grader release`; `grader check` reads it.",
    ]
    for table in ("assignment", "limits"):
        if isinstance(data.get(table), dict):
            lines += ["", f"[{table}]", *_toml_pairs(data[table], path)]
    return "\n".join(lines) + "\n"


def _toml_pairs(table: dict[str, Any], path: Path) -> list[str]:
    return [f"{_toml_key(key)} = {_toml_value(value, path)}" for key, value in table.items()]


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value: Any, path: Path) -> str:
    # JSON strings are valid TOML basic strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v, path) for v in value) + "]"
    raise AssignmentError(f"{path}: the value {value!r} cannot be written into a release.")


def release_readme(assignment: Assignment) -> str:
    """The students' README: install, work, self-check, hand in."""
    module = assignment.module
    visible = [c for c in assignment.checks if c.visibility == "visible"]
    shown = sum(c.points for c in visible)
    total = assignment.max_score
    if len(visible) == len(assignment.checks):
        coverage = f"They are all the checks your work is graded with ({total:g} points)."
    else:
        coverage = (
            f"They are worth {shown:g} of the {total:g} points. When your work is graded, "
            "further checks test the same functions on other cases, so passing every "
            "visible check does not guarantee full marks: test your functions beyond them."
        )
    functions = ", ".join(f"`{f}`" for f in assignment.functions)
    # Sentences that hold names or numbers are wrapped here, as the rest is by hand.
    write = _wrapped(
        "Work in the notebook "
        f"(`.venv/bin/jupyter notebook {module}.ipynb`) or in the Python file, whichever "
        "you prefer: both hold the same explanations and stub functions. Write these "
        f"functions, keeping their names and signatures: {functions}."
    )
    hand_in = _wrapped(f"Exactly one file, under its name: `{module}.ipynb` or `{module}.py`.")
    return f"""\
# {assignment.title}

| file | what |
| --- | --- |
| `{module}.ipynb` | the assignment as a Jupyter notebook: explanations and the functions to write |
| `{module}.py` | the same, as a Python file (jupytext percent format) |
| `checks/` | the visible checks and the reference solution's recorded answers |

## Install

Python 3.11 or newer. In this folder, create an environment and install the course's
`grader` package (it brings TensorFlow, Keras and the checks' tools; your course says
where to get it), and Jupyter if you work in the notebook:

```sh
python3 -m venv .venv
.venv/bin/pip install <the grader package your course gives you>
.venv/bin/pip install notebook    # to work in the notebook
```

## Work

{write}

The grader imports your file and calls these functions with its own arguments:

- in the notebook, the code cells count, in order. Cells tagged `{SKIP_TAG}` or whose
  first line is the comment `# {SKIP_TAG}`, IPython magics (`%...`) and shell lines
  (`!...`) are not run when grading, so explore there freely;
- in the Python file, keep experiments under `if __name__ == "__main__":`.

## Check your work

From this folder:

```sh
.venv/bin/grader check {module}.ipynb    # or: .venv/bin/grader check {module}.py
```

or run the "Check your work" cell at the end of the notebook. This runs the visible
checks in `checks/` on your file, in a separate process, and prints each check's verdict
with a hint when it fails.

{_wrapped(coverage)}

## Hand in

{hand_in}
Not both, and not the `checks/` folder.
"""


def _wrapped(text: str) -> str:
    """A paragraph of the students' README, at most 88 characters a line."""
    return textwrap.fill(text, 88, break_long_words=False, break_on_hyphens=False)


# ---------------------------------------------------------------- scanning


def reference_lines(path: Path) -> list[ReferenceLine]:
    """The non-trivial lines of every function body of the reference ``path``: comments,
    docstrings and lines under ``MIN_LINE_CHARS`` (whitespace left out) excluded."""
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise AssignmentError(f"The reference {path} cannot be read: {exc}") from exc
    body: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for statement in node.body:
                body.update(range(statement.lineno, (statement.end_lineno or 0) + 1))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            body.difference_update(range(node.lineno, (node.end_lineno or 0) + 1))
    lines = _without_comments(source)
    found: dict[str, ReferenceLine] = {}
    for lineno in sorted(body):
        text = lines[lineno - 1].strip()
        key = _key(text)
        if len(key) >= MIN_LINE_CHARS and key not in found:
            found[key] = ReferenceLine(lineno, text, key)
    return list(found.values())


def scan_release(directory: Path, assignment: Assignment) -> list[str]:
    """What in ``directory`` (a release) must not be there: a line of the reference's
    function bodies, a hidden check's name or file name, or the course secret (its file,
    or its text anywhere). Empty when clean.

    Reference lines the stub's own docstrings spell out (a recipe a function must follow
    exactly, such as ``keras.utils.set_random_seed(seed)``) are the assignment's
    contract, not a leak, and are not reported.
    """
    problems: list[str] = []
    given = _stub_docstring_keys(assignment.stub)
    secret = [
        line
        for line in (
            reference_lines(assignment.reference) if assignment.reference.is_file() else []
        )
        if not any(line.key in text for text in given)
    ]
    hidden = {c.name: "check" for c in assignment.checks if c.visibility == "hidden"}
    files = check_file_visibility(assignment.check_files(), assignment.checks)
    hidden |= {p.stem: "check file" for p, kind in files.items() if kind == "hidden"}
    # Whole names only: a hidden test_penalty must not flag a visible test_penalty_l1.
    patterns = {
        name: re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
        for name in sorted(hidden)
    }
    reference_name = assignment.reference.name
    course = _course_secret(assignment)
    secret_names = {SECRET_FILE, *([assignment.secret.name] if assignment.secret else [])}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        text = path.read_bytes().decode("utf-8", errors="replace")
        if path.name in secret_names or (course is not None and course in text):
            # Never the secret itself in the report: it goes to a terminal and CI logs.
            problems.append(
                f"{relative} holds the course secret: hidden checks' inputs are drawn from "
                "it, so students must never see it."
            )
        for name, pattern in patterns.items():
            if pattern.search(relative) or pattern.search(text):
                problems.append(f"{relative} names the hidden {hidden[name]} {name}.")
        reported: set[str] = set()
        for where, line in _lines(path, text):
            key = _key(line)
            for ref in secret:
                if ref.key in key and ref.key not in reported:
                    reported.add(ref.key)
                    problems.append(
                        f"{relative}, {where} repeats line {ref.lineno} of the reference "
                        f"{reference_name}: {ref.text}"
                    )
    return problems


def _course_secret(assignment: Assignment) -> str | None:
    """The course secret's text, or None when there is none (nothing to leak then)."""
    try:
        return course_secret(assignment.secret).decode("utf-8")
    except AssignmentError:
        return None


def _stub_docstring_keys(stub: Path) -> list[str]:
    if not stub.is_file():
        return []
    try:
        tree = ast.parse(stub.read_text(encoding="utf-8"))
    except SyntaxError:
        return []
    keys = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False) or ""
            keys += [_key(line) for line in doc.splitlines()]
    return keys


def _lines(path: Path, text: str) -> Iterator[tuple[str, str]]:
    """Each line of a released file, with where it is; a notebook's by cell."""
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(text).get("cells", [])
            for number, cell in enumerate(cells, start=1):
                source = cell.get("source", "")
                source = "".join(source) if isinstance(source, list) else str(source)
                for offset, line in enumerate(source.splitlines(), start=1):
                    yield f"cell {number}, line {offset}", line
            return
        except (ValueError, AttributeError, TypeError):
            pass  # not a notebook after all: scanned as text
    for lineno, line in enumerate(text.splitlines(), start=1):
        yield f"line {lineno}", line


def _without_comments(source: str) -> list[str]:
    lines = source.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            row, col = token.start
            lines[row - 1] = lines[row - 1][:col]
    return lines


def _key(line: str) -> str:
    return "".join(line.split()).rstrip(",")
