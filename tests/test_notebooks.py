"""Notebook submissions: conversion to a module (no TensorFlow), then one end-to-end run
where notebooks made from example solutions must score exactly like the .py originals."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
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


# -- what IPython runs ----------------------------------------------------------------


def run(converted: Notebook) -> dict[str, object]:
    """The generated module, run the way the worker imports it (a fresh module)."""
    namespace: dict[str, object] = {"__name__": MODULE}
    exec(compile(converted.source, f"{MODULE}.py", "exec", dont_inherit=True), namespace)
    return namespace


def raw_notebook(cells: list[dict], minor: int = 4, **metadata: object) -> bytes:
    """A notebook written as JSON by hand: nothing added or checked by nbformat."""
    return json.dumps(
        {"nbformat": 4, "nbformat_minor": minor, "metadata": metadata, "cells": cells}
    ).encode()


def raw_code(source: str | list[str], **fields: object) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], **fields}


def test_a_cell_id_in_a_format_4_4_notebook_is_read():
    cell = v4.new_code_cell("def f():\n    return 4")  # writes an id, whatever the format
    data = json.loads(notebook(cell))
    data["nbformat_minor"] = 4
    assert "id" in data["cells"][0]
    # Jupyter opens it: nbformat logs the schema error and reads the notebook.
    assert nbformat.reads(json.dumps(data), as_version=4).cells[0].source == cell.source
    converted = convert(json.dumps(data).encode(), "nb.ipynb", max_source_bytes=1_000_000)
    assert run(converted)["f"]() == 4


@pytest.mark.parametrize(
    "damage",
    [
        {"execution_count": "one"},
        {"id": "not a valid id / at all"},
        {"id": 17},
        {"outputs": [{"output_type": "picture"}]},
        {"attachments": "none"},
        {"extra": {"anything": [1]}},
        {"metadata": None},
    ],
)
def test_damage_in_fields_grading_never_reads_does_not_refuse_the_notebook(damage):
    code = raw_code("def f():\n    return 5", execution_count=3)
    code.update(damage)
    markdown = {
        "cell_type": "markdown",
        "source": 7,  # never read either
        "outputs": [{"output_type": "stream"}],
        "metadata": [],
        "execution_count": 2,
    }
    no_count = {"cell_type": "code", "source": "g = 1"}  # no metadata, outputs or count
    data = raw_notebook([markdown, no_count, code], minor=5, kernelspec="python")
    converted = convert(data, "nb.ipynb", max_source_bytes=1_000_000)
    assert converted.lines[-1] == (3, 2)
    assert run(converted)["f"]() == 5


def test_future_imports_open_any_cell_even_after_a_magic_cell():
    converted = module_of(
        "%matplotlib inline\n!pip install -q numpy",
        "import math",
        '"""Notes."""\nfrom __future__ import annotations\n'
        "from __future__ import (\n    generator_stop,\n)  # why\n"
        "def f(x: NotDefinedAnywhere) -> int:\n    return 6",
    )
    namespace = run(converted)
    assert namespace["f"](0) == 6  # annotations are not evaluated: the import holds
    assert namespace["f"].__annotations__ == {"x": "NotDefinedAnywhere", "return": "int"}
    # Every line still names where the student wrote it.
    source = converted.source.split("\n")
    future = source.index("from __future__ import annotations")
    assert converted.lines[future] == (3, 2)
    assert converted.lines[source.index("def f(x: NotDefinedAnywhere) -> int:")] == (3, 6)


def test_a_future_import_after_other_code_in_its_cell_fails_as_in_ipython():
    converted = module_of("import math", "x = 1\nfrom __future__ import annotations")
    with pytest.raises(SyntaxError) as caught:
        run(converted)
    assert caught.value.lineno is not None
    assert converted.locate(caught.value.lineno) == (2, 2)


@pytest.mark.parametrize(
    "cell",
    [
        "    def f():\n        return 7",
        "\n  \n\tdef f():\n\t    return 7\n",
        "  def f():\n\n      return 7\n  # note",
    ],
)
def test_an_indented_cell_is_dedented_as_ipython_does(cell):
    converted = module_of("import math", cell)
    assert run(converted)["f"]() == 7


@pytest.mark.parametrize(
    "cell",
    [
        ">>> def f():\n...     return 8\n>>> x = f()",
        "In [1]: def f():\n   ...:     return 8\n   ...:\nIn [2]: x = f()",
        "\n    def f():\n        return 8\n\n    x = f()",
        "def f():\n    return 8\nx = f()  # >>> not a prompt here",
    ],
)
def test_pasted_prompts_and_indentation_are_removed_as_ipython_does(cell):
    converted = module_of(cell)
    assert run(converted)["x"] == 8
    ipython = pytest.importorskip("IPython.core.interactiveshell")
    expected = ipython.InteractiveShell.instance().transform_cell(cell)
    assert "\n".join(code_lines(converted)).strip("\n") == expected.strip("\n")


def test_an_error_quotes_the_students_line_never_a_generated_one():
    converted = module_of("import math", "for i in range(3):\n%time math.sqrt(i)")
    with pytest.raises(SyntaxError) as caught:
        run(converted)
    text = "".join(traceback.format_exception_only(caught.value))
    assert "    pass\n" in text  # what Python saw
    shown = converted.rewrite(text, f"{MODULE}.py", "bob.ipynb")
    assert "File bob.ipynb, cell 2, line 2\n    %time math.sqrt(i)\nIndentationError" in shown
    assert "after 'for' statement in cell 2, line 1" in shown  # not the module's line 3
    assert "pass" not in shown
    assert "(bob.ipynb, cell 2, line 2)" in converted.rewrite(
        str(caught.value), f"{MODULE}.py", "bob.ipynb"
    )


def test_a_runtime_traceback_quotes_the_cells_lines(tmp_path):
    converted = module_of("%load_ext autoreload", "  x = 1\n  y = x / 0")
    (tmp_path / f"{MODULE}.py").write_text(converted.source, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, f"{MODULE}.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    shown = converted.rewrite(proc.stderr, str(tmp_path / f"{MODULE}.py"), "bob.ipynb")
    assert "File bob.ipynb, cell 2, line 2, in <module>\n    y = x / 0\n" in shown


@pytest.mark.parametrize(
    ("cell", "magic"),
    [
        ("x = math.sqrt??", True),
        ("x = math.pi?", True),
        ("math.sqrt?", True),
        ("s = 'why?'", False),
        ("n = 1  # why?", False),
        ("pip install tensorflow", True),
        ("ls", True),
        ("ls -la", True),
        ("cd ..", True),
        ("conda install -y numpy", True),
        ("  pwd", True),
        ("ls = 3", False),  # an assignment, not a magic
        ("ls, x = 3, 4", False),
        ("lsx -l", False),
        ("ls.x = 3", False),
        ("print(1)", False),
    ],
)
def test_help_and_automagic_lines_are_what_ipython_makes_of_them(cell, magic):
    converted = module_of("import math", cell)
    assert (code_lines(converted)[-1].strip() == "pass") is magic
    compile(converted.source, f"{MODULE}.py", "exec", dont_inherit=True)
    ipython = pytest.importorskip("IPython.core.interactiveshell")
    shell = ipython.InteractiveShell.instance()
    assert ("get_ipython()" in shell.transform_cell(cell)) is magic


# IPython's pattern for a help line (IPython.core.inputtransformer2._help_end_re).
IPYTHON_HELP_END = re.compile(r"(%{0,2}(?!\d)[\w*]+(\.(?!\d)[\w*]+|\[-?[0-9]+\])*)(\?\??)$")


HELP_LINES = [
    *("x?", "x??", "np.mean?", "a.b.c??", "a[0]?", "a[-1][2]?", "a3?", "%time?", "a.1b?"),
    *("_1?", "é?", "1a?", "a*?", "*?", "x=1.a?", "z = a[1]??", "if x: y?"),
]


@pytest.mark.parametrize("line", HELP_LINES)
def test_every_help_line_ipython_recognises_is_not_graded(line):
    assert IPYTHON_HELP_END.search(line)
    assert code_lines(module_of("import math", line))[-1] == "pass"


def test_reading_a_hostile_notebook_takes_linear_time():
    cells = ["a" * 300_000 + " ?", "x = " + "a." * 150_000 + "!?", "[1]" * 100_000 + "?"]
    cells += ["  " + "/a" * 100_000, "for x in y:\n" + " " * 200_000 + "pass"]
    started = time.monotonic()
    converted = convert(notebook(*cells), "nb.ipynb", max_source_bytes=5_000_000)
    text = f'  File "{MODULE}.py", line 3\n' + " " * 200_000 + "x\n"
    converted.rewrite(text * 3, f"{MODULE}.py", "nb.ipynb")
    assert time.monotonic() - started < 10  # quadratic: hours


def test_automagic_is_only_for_one_line_cells_and_free_names():
    converted = module_of(
        "import time\ndef run(n):\n    return n",
        "time",  # the module, as IPython sees it once `time` is bound
        "run(3)",
        "pip install x\nx = 1",  # two lines: Python, as in IPython
    )
    assert code_lines(converted)[-4:] == ["time", "run(3)", "pip install x", "x = 1"]
    # A star import may bind any name: only a line that is not Python is a magic.
    star = module_of("from os.path import *", "cd ..", "ls -l")
    assert code_lines(star)[-2:] == ["pass", "ls -l"]


@pytest.mark.parametrize(
    ("metadata", "language"),
    [
        ({"kernelspec": {"name": "ir", "language": "R"}, "language_info": {"name": "R"}}, "R"),
        ({"language_info": {"name": "julia", "version": "1.10.0"}}, "julia"),
        ({"kernelspec": {"name": "bash", "language": "bash"}}, "bash"),
    ],
)
def test_a_notebook_for_another_language_says_so(metadata, language):
    message = problem(raw_notebook([raw_code("x <- c(1, 2)")], **metadata))
    assert message.startswith(f"nb.ipynb cannot be graded: this notebook's kernel is {language},")


@pytest.mark.parametrize(
    "metadata",
    [
        {"kernelspec": {"name": "python3", "language": "python"}},
        {"language_info": {"name": "Python 3"}},
        {"kernelspec": {"language": "ipython3"}},
        {"kernelspec": {"language": "python"}, "language_info": {"name": "R"}},  # one says
        {"kernelspec": "python", "language_info": 3},  # unreadable: no reason to refuse
        {},
    ],
)
def test_a_python_notebook_is_graded_whatever_its_metadata_holds(metadata):
    converted = convert(
        raw_notebook([raw_code("x = 1")], **metadata), "nb.ipynb", max_source_bytes=99
    )
    assert code_lines(converted) == ["x = 1"]


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
        (_v4(cell_cell_type="python"), 'cell 1\'s "cell_type" is "python", not code, markdown'),
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


def _ipython_bob() -> bytes:
    """Bob's solution as a notebook IPython runs without complaint, with everything that
    used to refuse or break it: format 4.4 with cell ids, damaged fields grading never
    reads, a __future__ import after a magic cell, an indented cell, help and automagic
    lines, and a demo that trains at import without a seed."""
    imports, first, *functions = _cells(EXAMPLES / "bob.py")
    cells: list[object] = [
        v4.new_markdown_cell("# Regularization"),
        "%matplotlib inline",
        "from __future__ import annotations\n" + imports,
        textwrap.indent(first, "  "),
        "pip install numpy",
        "x = np.mean??",
        *functions,
        "model = build_model()\n"
        "points = np.linspace(-1, 1, 16).reshape(-1, 1)\n"
        "model.fit(points, points**2, epochs=2, verbose=0)",
    ]
    data = json.loads(notebook(*cells))
    data["nbformat_minor"] = 4  # cell ids are a format 4.5 field
    data["metadata"] = {"kernelspec": {"name": "python3", "language": "python"}}
    data["cells"][0]["outputs"] = [{"output_type": "stream", "text": "?"}]
    del data["cells"][2]["execution_count"]
    data["cells"][3]["id"] = "not an id!"
    data["cells"][4]["execution_count"] = "1"
    return json.dumps(data).encode()


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
    (klass / "bob_ipython.ipynb").write_bytes(_ipython_bob())
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


@pytest.mark.parametrize(
    ("py", "nb"), [("bob", "bob_nb"), ("bob", "bob_ipython"), ("carol", "carol_nb")]
)
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
