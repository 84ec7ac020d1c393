"""Notebook submissions: conversion to a module (no TensorFlow), then one end-to-end run
where notebooks made from example solutions must score exactly like the .py originals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

import nbformat
import pytest
from nbformat import v3, v4

from grader import submissions as submissions_module
from grader.errors import UsageError
from grader.notebooks import MAX_NOTEBOOK_BYTES, Notebook, NotebookError, convert
from grader.submissions import discover, submission_from_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "regularization"
MODULE = "regularization"
SKIP = {"tags": ["skip-grading"]}


def notebook(*cells: object) -> bytes:
    """A version 4 notebook of ``cells``: a str is a code cell, a node is used as is."""
    made = [v4.new_code_cell(c) if isinstance(c, str) else c for c in cells]
    return nbformat.writes(v4.new_notebook(cells=made)).encode()


def module_of(*cells: object) -> Notebook:
    return convert(notebook(*cells), "nb.ipynb", max_source_bytes=1_000_000)


def code_lines(converted: Notebook) -> list[str]:
    return converted.source.split("\n")[1:-1]  # without the coding line and the final ""


def problem(data: bytes | str, **kwargs: int) -> str:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(NotebookError) as caught:
        convert(raw, "nb.ipynb", max_source_bytes=kwargs.get("max_source_bytes", 1_000_000))
    return str(caught.value)


# -- building the module -----------------------------------------------------------


def test_code_cells_are_the_module_and_each_line_knows_its_cell():
    converted = module_of(
        v4.new_markdown_cell("# Title\n\nx = 'not code'"),
        "import math\r\nA = 1",
        v4.new_raw_cell("raw = 1"),
        "  ",
        "def f():\n    return A\n",
    )
    assert code_lines(converted) == ["import math", "A = 1", "def f():", "    return A"]
    assert converted.lines == (None, (2, 1), (2, 2), (5, 1), (5, 2))
    assert converted.source.startswith("# -*- coding: utf-8 -*-\n")
    assert converted.locate(6) == (5, 3)  # past the end: an "unexpected end of file"


@pytest.mark.parametrize(
    "cell",
    [
        v4.new_code_cell("raise SystemExit", metadata=SKIP),
        v4.new_code_cell("\n# skip-grading\nraise SystemExit"),
        v4.new_code_cell("  #skip-grading: slow demo\nraise SystemExit"),
        v4.new_code_cell("%%bash\nexit 1"),
        v4.new_code_cell("%%writefile other.py\nraise SystemExit"),
    ],
)
def test_cells_that_are_not_graded(cell):
    converted = module_of("A = 1", cell)
    assert code_lines(converted) == ["A = 1"]
    assert [s.cell for s in converted.skipped] == [2]


@pytest.mark.parametrize(
    "text", ["x = 1\n# skip-grading", "# skip-gradings\nx = 1", "# not skip-grading\nx = 1"]
)
def test_a_skip_grading_comment_counts_only_as_the_first_line(text):
    assert module_of(text).skipped == ()


@pytest.mark.parametrize(
    ("line", "indent"),
    [
        ("%matplotlib inline", ""),
        ("!pip install numpy", ""),
        ("files = !ls", ""),
        ("a, b = %sx ls", ""),
        ("t = %time f()", "    "),
        ("np.mean?", "    "),
        ("??np", "\t"),
        ("%%time", "        "),  # a cell magic below the first line: a line magic
    ],
)
def test_magics_become_pass_at_their_indentation(line, indent):
    converted = module_of(f"x = 1\nif x:\n{indent or '    '}y = 2\n{indent}{line}\nz = 3")
    assert code_lines(converted)[3] == f"{indent}pass"
    compile(converted.source, "regularization.py", "exec")


def test_a_magic_continued_with_backslashes_is_removed_whole():
    converted = module_of("!pip install \\\n    numpy \\\n    scipy\nx = 1")
    assert code_lines(converted) == ["pass", "", "", "x = 1"]


def test_python_that_looks_like_a_magic_is_kept():
    text = (
        "a = (b\n% c)\n"  # modulo on a continuation line
        "s = '''\n!not a shell\n%not a magic\n'''\n"
        "t = f(x,\n      !y)\n"  # not Python, but not a statement start either
        "ok = a != b\n"
        "a %= 2\n"
        "u = 1  # why?\n"
        "v = 'it''s' \\\n    % 2\n"
    )
    assert code_lines(module_of(text)) == text.rstrip("\n").split("\n")


@pytest.mark.parametrize("magic", ["%%time", "%%timeit -n 1", "%%capture out"])
def test_time_and_capture_cells_keep_their_body(magic):
    converted = module_of(f"\n{magic}\ndef f():\n    return 1\n%time f()")
    assert code_lines(converted) == ["", "", "def f():", "    return 1", "pass"]
    assert converted.lines[2] == (1, 2)  # the magic line keeps its number, blank


def test_a_version_3_notebook_is_upgraded():
    cells = [
        v3.new_text_cell("markdown", source="Notes"),
        v3.new_code_cell(input="import math\n%matplotlib inline"),
        v3.new_code_cell(input="# skip-grading\nraise SystemExit"),
    ]
    old = nbformat.writes(v3.new_notebook(worksheets=[v3.new_worksheet(cells=cells)]), version=3)
    assert json.loads(old)["nbformat"] == 3
    converted = convert(old.encode(), "nb.ipynb", max_source_bytes=1_000_000)
    assert code_lines(converted) == ["import math", "pass"]
    assert converted.lines[1] == (2, 1)
    assert [s.cell for s in converted.skipped] == [3]


def test_damaged_outputs_do_not_stop_grading():
    cell = v4.new_code_cell("x = 1")
    data = json.loads(notebook(cell))
    data["cells"][0]["outputs"] = [{"output_type": "picture"}]
    data["metadata"] = {"kernelspec": "python"}
    assert code_lines(convert(json.dumps(data).encode(), "nb.ipynb", max_source_bytes=100)) == [
        "x = 1"
    ]


# -- what is not a notebook ----------------------------------------------------------


def _v4(**changes: object) -> str:
    data = json.loads(notebook("x = 1"))
    for key, value in changes.items():
        if key.startswith("cell_"):
            data["cells"][0][key.removeprefix("cell_")] = value
        else:
            data[key] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "nb.ipynb is empty: there is no notebook to grade."),
        (b"PK\x03\x04\x14\0\0\0", "not a Jupyter notebook: it is a zip archive renamed"),
        (b"x = 1\n\0", "binary file (it contains NUL bytes)"),
        ("{\n# Résumé".encode("latin-1"), "not UTF-8 text (byte 0xE9 on line 2)"),
        ('{"cells": [\n  {"a": 1},\n}', "not valid JSON (Expecting value at line 3, column 1)"),
        ("[1, 2]", "JSON but not a Jupyter notebook: it holds a list"),
        ('{"cells": []}', 'JSON but not a Jupyter notebook: it has no "nbformat" field'),
        (_v4(nbformat="4"), 'its "nbformat" version is "4", not a whole number'),
        (_v4(nbformat=5), "notebook format version 5, which the grader cannot read"),
        (_v4(cells={}), 'its "cells" should be a list, found a JSON object'),
        (_v4(cells=[1]), "cell 1 should be a JSON object, found a number"),
        (_v4(cell_cell_type=None), 'cell 1 has no "cell_type"'),
        (_v4(cell_source=5), 'cell 1\'s "source" should be text or a list of lines'),
        (_v4(cell_metadata={"tags": "skip-grading"}), "cell 1's tags should be a list"),
        (_v4(cell_cell_type="python"), "nb.ipynb is not a valid notebook in cell 1:"),
        (_v4(cell_execution_count="one"), 'in cell 1, field "execution_count"'),
        ('{"nbformat": 3, "nbformat_minor": 0}', "could not be read as a version 3 notebook"),
    ],
)
def test_what_is_not_a_notebook_is_named(data, message):
    assert message in problem(data)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ((), "nb.ipynb has no code cells to grade."),
        ((v4.new_markdown_cell("# Notes"), "\n  \n"), "nb.ipynb has no code cells to grade."),
        (("%matplotlib inline\n!pip install x",), "has no code cells to grade."),
        (
            (v4.new_code_cell("x = 1", metadata=SKIP), "%%bash\nls"),
            "The grader does not run cell 1 (it is tagged skip-grading), "
            "cell 2 (it is a %%bash cell, not Python).",
        ),
    ],
)
def test_a_notebook_without_code_to_grade_says_so(cells, message):
    assert message in problem(notebook(*cells))


def test_the_code_is_held_to_the_source_limit_not_the_whole_notebook(tmp_path):
    big_output = v4.new_code_cell("x = 1")
    big_output.outputs = [v4.new_output("stream", text="y" * 5_000)]
    (tmp_path / "ann.ipynb").write_bytes(notebook(big_output))
    (tmp_path / "ben.ipynb").write_bytes(notebook("x = '" + "y" * 300 + "'"))
    found = {s.student: s for s in discover(tmp_path, MODULE, max_bytes=200).submissions}
    assert found["ann"].problem is None
    assert found["ben"].problem == (
        "The code cells of ben.ipynb hold 306 bytes of code or more, over the grader's limit of "
        "200 bytes for a source file. Check that no cell holds data pasted in as code."
    )


def test_a_notebook_over_its_size_limit_is_not_read(tmp_path, monkeypatch):
    def refuse(path: Path, limit: int) -> bytes:
        raise AssertionError(f"discover read {path}")

    monkeypatch.setattr(submissions_module, "_read_head", refuse)
    with (tmp_path / "ann.ipynb").open("wb") as handle:  # sparse
        handle.truncate(MAX_NOTEBOOK_BYTES + 1)
    (submission,) = discover(tmp_path, MODULE).submissions
    assert submission.problem is not None
    assert "over the grader's limit of 20 MB (20,000,000 bytes) for a notebook" in (
        submission.problem
    )
    assert "Clear Outputs" in submission.problem


# -- errors name cells -----------------------------------------------------------------


def test_a_syntax_error_names_the_cell_and_its_line():
    converted = module_of(
        v4.new_markdown_cell("Intro"),
        "import math",
        v4.new_code_cell("raise SystemExit", metadata=SKIP),
        "%matplotlib inline\ndef f(x):\n    if x\n        return 1",
    )
    with pytest.raises(SyntaxError) as caught:
        compile(converted.source, "regularization.py", "exec")  # compiled, never run
    text = str(caught.value) + "\n" + "".join(traceback.format_exception_only(caught.value))
    assert "regularization.py, line 5" in text
    shown = converted.rewrite(text, "regularization.py", "bob.ipynb")
    assert "expected ':' (bob.ipynb, cell 4, line 3)" in shown
    assert "File bob.ipynb, cell 4, line 3\n    if x\n" in shown
    assert "regularization.py" not in shown


# -- one file ----------------------------------------------------------------------------


def test_one_file_is_checked_like_a_discovered_one(tmp_path):
    (tmp_path / "mine.ipynb").write_bytes(notebook("import math"))
    (tmp_path / "bad.ipynb").write_text("{}")
    (tmp_path / "regularization.py").write_text("x = 1\n")
    (tmp_path / "link.ipynb").symlink_to(tmp_path / "mine.ipynb")
    mine = submission_from_file(tmp_path / "mine.ipynb", MODULE)
    assert (mine.student, mine.display_path, mine.problem, mine.notebook) == (
        "mine",
        "mine.ipynb",
        None,
        True,
    )
    assert submission_from_file(tmp_path / "link.ipynb", MODULE).path == tmp_path / "mine.ipynb"
    py = submission_from_file(tmp_path / "regularization.py", MODULE, student="zoe")
    assert (py.student, py.path, py.notebook) == ("zoe", tmp_path / "regularization.py", False)
    bad = submission_from_file(tmp_path / "bad.ipynb", MODULE)
    assert bad.path is None
    assert 'bad.ipynb is JSON but not a Jupyter notebook: it has no "nbformat"' in (
        bad.problem or ""
    )
    (tmp_path / "notes.txt").write_text("x")
    for path, message in (
        (tmp_path / "missing.py", "does not exist"),
        (tmp_path, "is a folder"),
        (tmp_path / "notes.txt", "neither a Python file nor a notebook"),
    ):
        with pytest.raises(UsageError, match=message):
            submission_from_file(path, MODULE)


# -- end to end ----------------------------------------------------------------------


def _cells(path: Path) -> list[str]:
    """An example solution's top-level blocks, one code cell each."""
    return path.read_text(encoding="utf-8").split("\n\n\n")


def _bob_cells() -> list[object]:
    imports, *functions = _cells(EXAMPLES / "bob.py")
    *others, compare = functions
    cells: list[object] = [
        v4.new_markdown_cell("# Regularization\nRun every cell from the top."),
        "%matplotlib inline\n!pip install -q numpy\n" + imports,
    ]
    for number, block in enumerate(others):
        if number % 3 == 0:
            cells.append(v4.new_markdown_cell(f"## Part {number // 3 + 1}"))
        cells.append(block)
    # Exploration the grader must not run: it would end the import, or take an hour.
    cells.append(
        v4.new_code_cell(
            "model = build_model()\nmodel.fit(x, y, epochs=10**6)\nraise SystemExit", metadata=SKIP
        )
    )
    cells.append("# skip-grading\nimport time\ntime.sleep(3600)")
    cells.append("%%bash\nexit 1")
    cells.append("if __name__ == '__main__':\n    %timeit l2_dense(3)\n    l2_dense?")
    cells.append("%%time\n" + compare)
    return cells


def _write(path: Path, cells: list[object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(notebook(*cells))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    klass = tmp_path_factory.mktemp("class")
    out = tmp_path_factory.mktemp("out")
    (klass / "bob.py").write_bytes((EXAMPLES / "bob.py").read_bytes())
    (klass / "carol").mkdir()
    carol = EXAMPLES / "carol" / "regularization.py"
    (klass / "carol" / "regularization.py").write_bytes(carol.read_bytes())
    _write(klass / "bob_nb" / "src" / "regularization.ipynb", _bob_cells())
    carol_imports, *carol_rest = _cells(carol)
    _write(klass / "carol_nb.ipynb", ["!pip install tensorflow\n" + carol_imports, *carol_rest])
    # A graded function left in an exploration cell (and the rest not done: quick to grade).
    imports, l2_dense, *_, compare = _cells(EXAMPLES / "bob.py")
    _write(klass / "dan.ipynb", [imports, l2_dense, v4.new_code_cell(compare, metadata=SKIP)])
    # A name defined only in an ungraded cell: the import fails in cell 4.
    _write(
        klass / "eve.ipynb",
        [
            "import numpy as np",
            v4.new_code_cell("data = np.ones(3)", metadata=SKIP),
            v4.new_markdown_cell("## Part 1"),
            "def l2_dense(units):\n    return units\n\ntotal = data.sum()",
        ],
    )
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "grader", "run", str(klass), "--out", str(out)),
            *("--workers", "2", "--assignment", "regularization"),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {s["student"]: s for s in results["students"]}


def _verdicts(record: dict) -> dict[str, tuple[str, float]]:
    return {c["name"]: (c["status"], c["points"]) for c in record["checks"]}


@pytest.mark.parametrize(("py", "nb"), [("bob", "bob_nb"), ("carol", "carol_nb")])
def test_a_notebook_scores_exactly_like_its_python_file(graded, py, nb):
    assert graded[nb]["status"] == graded[py]["status"] == "graded", graded[nb]["error"]
    assert _verdicts(graded[nb]) == _verdicts(graded[py])
    assert graded[nb]["score"] == graded[py]["score"]
    assert graded["bob_nb"]["source"] == "bob_nb/src/regularization.ipynb"
    assert graded["bob_nb"]["score"] == graded["bob_nb"]["max_score"]
    assert graded["carol_nb"]["score"] < graded["carol_nb"]["max_score"]


def test_a_function_in_an_ungraded_cell_is_pointed_out(graded):
    checks = {c["name"]: c for c in graded["dan"]["checks"]}
    assert graded["dan"]["status"] == "graded"
    assert checks["test_l2_dense_arguments"]["status"] == "passed"
    assert checks["test_penalty_unregularized"]["message"].startswith(
        "Your module has no function penalty()."
    )
    for name in ("test_compare_returns_gaps", "test_compare_matches_reference"):
        assert checks[name]["status"] == "failed"
        assert checks[name]["message"] == (
            "Your module has no function compare(). It is defined in cell 3 of dan.ipynb, "
            "which the grader does not run because it is tagged skip-grading: move it to a "
            "cell that is graded."
        )


def test_an_import_error_names_the_notebook_cell(graded):
    eve = graded["eve"]
    assert eve["status"] == "import_error"
    assert eve["error"].startswith(
        "eve.ipynb could not be imported: NameError: name 'data' is not defined"
    )
    assert "File eve.ipynb, cell 4, line 4, in <module>\n    total = data.sum()" in eve["error"]
    assert "Cells are numbered from 1 at the top of the notebook" in eve["error"]
    assert "regularization.py" not in eve["error"]
