"""Attacks on the similarity report (issue 17): disguises that hide a copy, honest work
that looks copied, bad input, injection into the page, and the page's size. In process
(one CLI run), no grading. Written by an attack on the first version, each of its
findings fixed since: they guard the fixes."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.paths import package_templates
from grader.similarity import (
    DEFAULT_THRESHOLD,
    _pair_view,
    compare_class,
    given_code,
    write_report,
)
from grader.submissions import Submission

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "regularization"
ASSIGNMENT = ROOT / "assignments" / "regularization"
STUB = (ASSIGNMENT / "regularization.py").read_text()
GIVEN = given_code(ASSIGNMENT, ASSIGNMENT / "regularization.py")
ALICE = (EXAMPLES / "alice" / "regularization.py").read_text()
BOB = (EXAMPLES / "bob.py").read_text()


def student(folder: Path, name: str, code: str, file: str | None = None) -> Submission:
    path = folder / f"{file or name}.py"
    path.write_text(code, newline="")
    return Submission(name, path, path.name)


def score(folder: Path, original: str, copy: str) -> float:
    """The pair's score at threshold 0 (0.0 when the pair is not even reported)."""
    klass = [student(folder, "orig", original), student(folder, "copy", copy)]
    report = compare_class(klass, GIVEN, threshold=0.0)
    return report.pairs[0].score if report.pairs else 0.0


def _transform(code: str, visit) -> str:  # type: ignore[no-untyped-def]
    tree = ast.parse(code)
    for node in ast.walk(tree):
        visit(node)
    return ast.unparse(tree)


def _reverse_keywords(node: ast.AST) -> None:
    if isinstance(node, ast.Call) and len(node.keywords) > 1:
        node.keywords.reverse()


def _reverse_plain_parameters(node: ast.AST) -> None:
    if isinstance(node, ast.FunctionDef) and len(node.args.args) > 1 and not node.args.defaults:
        node.args.args.reverse()


def _as_class(code: str) -> str:
    head, body = code.split("\n\n\n", 1)
    indented = "\n".join("    " + line if line.strip() else line for line in body.splitlines())
    return f"{head}\n\n\nclass Solution:\n{indented}\n"


def _dead_after_every_statement(code: str, dead: str = "_ = 0") -> str:
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module):
            continue
        for name in ("body", "orelse"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                padded: list[ast.stmt] = []
                for statement in body:
                    padded += [statement, ast.parse(dead).body[0]]
                setattr(node, name, padded)
    return ast.unparse(tree)


def _from_imports(code: str) -> str:
    code = code.replace(
        "import keras\n",
        "import keras\nfrom keras.layers import Dense\n"
        "from keras.regularizers import l1, l2, l1_l2\n",
    )
    code = code.replace("keras.layers.Dense(", "Dense(")
    for name in ("l1_l2", "l2", "l1"):
        code = code.replace(f"keras.regularizers.{name}(", f"{name}(")
    return code


def _aliases(code: str) -> str:
    code = code.replace(
        "import tensorflow as tf\n",
        "import tensorflow as tf\nL = keras.layers\nR = keras.regularizers\n",
    )
    return code.replace("keras.layers.", "L.").replace("keras.regularizers.", "R.")


# ---------------------------------------------------------------- disguises seen through

DETECTED = {
    "from keras.layers import Dense": _from_imports,
    "L = keras.layers aliases": _aliases,
    "import tensorflow.keras as keras": lambda c: c.replace(
        "import keras\n", "import tensorflow.keras as keras\n"
    ),
    "tf.keras everywhere": lambda c: c.replace("keras.", "tf.keras."),
    "string and number constants": lambda c: c.replace('"relu"', '"tanh"').replace("0.01", "0.02"),
    "wrapped in a class": _as_class,
    "loop to comprehension": lambda c: c.replace(
        "    for l in model.losses:\n        loss = loss + l\n",
        "    loss = loss + sum([l for l in model.losses])\n",
    ),
    "keyword arguments reversed": lambda c: _transform(c, _reverse_keywords),
    "parameters reversed": lambda c: _transform(c, _reverse_plain_parameters),
    "aliases and keywords reversed": lambda c: _transform(_aliases(c), _reverse_keywords),
    "from-imports and keywords reversed": lambda c: _transform(_from_imports(c), _reverse_keywords),
    "reformatted by ast.unparse": lambda c: ast.unparse(ast.parse(c)),
}


@pytest.mark.parametrize("disguise", sorted(DETECTED))
def test_disguises_that_keep_a_copy_above_the_threshold(tmp_path, disguise):
    copy = DETECTED[disguise](ALICE)
    compile(copy, "copy.py", "exec")  # still a working program
    assert copy != ALICE
    assert score(tmp_path, ALICE, copy) >= DEFAULT_THRESHOLD


# ---------------------------------------------------------------- disguises that evade


def test_a_solution_copied_by_five_students_of_six_is_not_flagged(tmp_path):
    # common_limit is max(4, 10% of the class): a fingerprint held by 5 submissions is
    # read as an idiom of the assignment, so a solution passed round five students (or
    # 11% of a large class) hides every one of them. Four copies are still found.
    klass = [student(tmp_path, f"copy{i}", ALICE) for i in range(5)]
    klass.append(student(tmp_path, "bob", BOB))
    four = compare_class(klass[1:], GIVEN)
    assert len(four.pairs) == 6
    assert compare_class(klass, GIVEN).pairs, "five identical submissions, no pair reported"


def test_a_dead_statement_after_every_statement_hides_a_copy(tmp_path):
    # The issue promises robustness to added dead code; `_ = 0` after every statement
    # keeps the behaviour and breaks every run of 12 tokens that spans two statements.
    copy = _dead_after_every_statement(ALICE)
    compile(copy, "copy.py", "exec")
    assert score(tmp_path, ALICE, copy) >= DEFAULT_THRESHOLD
    assert score(tmp_path, BOB, _dead_after_every_statement(BOB)) >= DEFAULT_THRESHOLD


_COMPOUND = ("def ", "for ", "if ", "elif ", "else", "while ", "with ", "try", "except", "class ")


def _import_prefixed(code: str) -> str:
    lines = []
    for line in ast.unparse(ast.parse(code)).splitlines():
        text = line.lstrip()
        if text and not text.startswith((*_COMPOUND, "import ", "from ", "finally", "@")):
            line = line[: len(line) - len(text)] + "import os; " + text
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_import_os_semicolon_before_every_statement_hides_a_copy(tmp_path):
    # normalise() drops a logical line that starts with import/from whole, up to its
    # NEWLINE: "import os; return keras.layers.Dense(...)" loses the statement after the
    # semicolon too, so every simple statement of a copy can be hidden.
    copy = _import_prefixed(ALICE)
    compile(copy, "copy.py", "exec")
    assert "    import os; return keras.layers.Dense(" in copy
    assert score(tmp_path, ALICE, copy) >= DEFAULT_THRESHOLD


def test_exec_of_the_copied_code_as_a_string_hides_it(tmp_path):
    # A string literal reads as one placeholder, so the whole copy becomes one token;
    # exec defines the same functions in the module, and the grader imports it alike.
    head, body = ALICE.split("\n\n\n", 1)
    copy = f"{head}\n\n\nexec({body!r})\n"
    # Only definitions: exec'ing them defines the same module functions as the original.
    assert all(isinstance(node, ast.FunctionDef) for node in ast.parse(body).body)
    compile(copy, "copy.py", "exec")
    assert score(tmp_path, ALICE, copy) >= DEFAULT_THRESHOLD


def test_carriage_return_line_endings_hide_a_copy(tmp_path):
    # Python imports a file with CR-only line endings as usual (universal newlines), but
    # the comparison tokenizes it as one line.
    data = ALICE.replace("\n", "\r").encode()
    assert importlib.util.decode_source(data).splitlines() == ALICE.splitlines()  # as imported
    assert score(tmp_path, ALICE, data.decode()) >= DEFAULT_THRESHOLD


def test_a_graded_latin_1_file_with_a_coding_line_is_not_compared(tmp_path):
    # Discovery grades a file whose PEP 263 coding line declares latin-1 (as Python
    # imports it); the comparison decodes UTF-8 only and lists it as "not UTF-8 text",
    # so one accented letter in a comment takes a graded copy out of the comparison.
    data = ("# -*- coding: latin-1 -*-\n# café\n" + ALICE).encode("latin-1")
    assert importlib.util.decode_source(data).endswith(ALICE)
    (tmp_path / "copy.py").write_bytes(data)
    klass = [Submission("copy", tmp_path / "copy.py", "copy.py"), student(tmp_path, "o", ALICE)]
    report = compare_class(klass, GIVEN)
    assert report.not_compared == ()
    assert [(p.a, p.b) for p in report.pairs] == [("copy", "o")]


# ---------------------------------------------------------------- honest work flagged


def _fill(stub: str, bodies: dict[str, str]) -> str:
    for function, body in bodies.items():
        start = stub.index(f"def {function}(")
        at = stub.index("raise NotImplementedError", start)
        stub = stub[:at] + body + stub[at + len("raise NotImplementedError") :]
    return stub


ANN_COMPARE = """results = {}
    for regularizer in [None, keras.regularizers.L2(l2)]:
        keras.utils.set_random_seed(seed)
        model = build_model(regularizer, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        gap = validation_gap(model, x_train, y_train, x_val, y_val)
        results["no_reg" if regularizer is None else "l2"] = gap
    return results"""
BEN_COMPARE = """gaps = []
    for reg in [None, keras.regularizers.L2(l2)]:
        keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        gap = validation_gap(model, x_train, y_train, x_val, y_val)
        gaps.append(float(gap))
    return {"no_reg": gaps[0], "l2": gaps[1]}"""


def test_two_students_who_follow_the_stubs_do_exactly_block_are_flagged(tmp_path):
    # compare's docstring says "do exactly::" and gives the four lines; docstrings are
    # dropped before the stub is fingerprinted, so the code it dictates is not excluded
    # and two independent solutions that obey it (one function each) look copied.
    ann = _fill(STUB, {"compare": ANN_COMPARE})
    ben = _fill(STUB, {"compare": BEN_COMPARE})
    for code in (ann, ben):
        compile(code, "solution.py", "exec")
    klass = [student(tmp_path, "ann", ann), student(tmp_path, "ben", ben)]
    assert compare_class(klass, GIVEN).pairs == ()


def test_short_one_line_fills_of_the_dense_functions_are_not_flagged(tmp_path):
    bodies = {
        "l2_dense": "keras.regularizers.l2(l2)",
        "l1_dense": "keras.regularizers.l1(l1)",
        "l1_l2_dense": "keras.regularizers.l1_l2(l1=l1, l2=l2)",
    }
    ann = _fill(
        STUB,
        {
            f: f"return keras.layers.Dense(units, activation=activation, kernel_regularizer={r})"
            for f, r in bodies.items()
        },
    )
    ben = _fill(
        STUB,
        {
            f: "layer = keras.layers.Dense(units, activation=activation, "
            f"kernel_regularizer={r})\n    return layer"
            for f, r in bodies.items()
        },
    )
    klass = [student(tmp_path, "ann", ann), student(tmp_path, "ben", ben)]
    assert compare_class(klass, GIVEN).pairs == ()


# ---------------------------------------------------------------- odd input


def _notebook(folder: Path, name: str, cells: list) -> Submission:  # type: ignore[type-arg]
    path = folder / f"{name}.ipynb"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = cells
    path.write_text(nbformat.writes(notebook))
    return Submission(name, path, path.name, notebook=True)


ODD = {
    "crlf": ALICE.replace("\n", "\r\n"),
    "tabs": ALICE.replace("    ", "\t"),
    "bom": "\ufeff" + ALICE,
    "unterminated string at the end": ALICE + '\nx = "abc\n',
    "bad dedent at the end": ALICE + "\n  x = 1\n y = 2\n",
    "form feeds": "\x0c\n\x0c\n" + ALICE,
}


@pytest.mark.parametrize("kind", sorted(ODD))
def test_odd_text_is_compared_without_a_crash(tmp_path, kind):
    klass = [student(tmp_path, "odd", ODD[kind]), student(tmp_path, "plain", ALICE)]
    report = compare_class(klass, GIVEN)
    assert [(p.a, p.b) for p in report.pairs] == [("odd", "plain")]
    write_report(report, tmp_path / "out", package_templates(), "Regularization")
    assert "odd" in (tmp_path / "out" / "similarity.html").read_text()


def test_odd_classes_and_files_are_listed_or_compared_never_a_crash(tmp_path):
    (tmp_path / "nul.py").write_bytes(b"x = 1\0\n")
    (tmp_path / "link.py").symlink_to(tmp_path / "missing.py")
    klass = [
        _notebook(tmp_path, "prose", [nbformat.v4.new_markdown_cell("only words")]),
        _notebook(tmp_path, "nulcell", [nbformat.v4.new_code_cell('x = "\0"\n' + ALICE)]),
        Submission("nul", tmp_path / "nul.py", "nul.py"),
        Submission("link", tmp_path / "link.py", "link.py"),
        Submission("folder", tmp_path, "folder/"),
        student(tmp_path, "plain", ALICE),
    ]
    report = compare_class(klass, GIVEN)
    assert set(dict(report.not_compared)) == {"prose", "nul", "link", "folder"}
    assert [(p.a, p.b) for p in report.pairs] == [("nulcell", "plain")]
    for klass_of in ([], klass[-1:]):
        small = compare_class(klass_of, GIVEN)
        write_report(small, tmp_path / "small", package_templates(), "R")
        assert "nothing to compare" in (tmp_path / "small" / "similarity.html").read_text()


def test_highlighted_lines_follow_the_tokenizer_not_splitlines(tmp_path):
    # U+2028 inside a string is one line to Python but three to str.splitlines(), so
    # every highlighted line of the side-by-side view is off by two.
    copy = 'NOTE = "\u2028\u2028"\n' + ALICE
    klass = [student(tmp_path, "copy", copy), student(tmp_path, "orig", ALICE)]
    report = compare_class(klass, GIVEN)
    view = _pair_view(report, report.pairs[0], 1)
    left = [line["text"] for line in view["left"] if line["fragment"]]
    right = [line["text"] for line in view["right"] if line["fragment"]]
    assert left[:3] == right[:3]


# ---------------------------------------------------------------- the page


def test_student_code_and_names_cannot_inject_into_the_page(tmp_path):
    evil = "<script>alert(1)</script>"
    code = f"# {evil}\nX = '</span></li>{evil}'\n" + ALICE
    klass = [
        Submission(evil, student(tmp_path, "x", code).path, "x.py"),
        Submission('"><img src=x onerror=alert(2)>', student(tmp_path, "y", ALICE).path, "y.py"),
    ]
    report = compare_class(klass, GIVEN)
    assert report.pairs
    write_report(report, tmp_path / "out", package_templates(), f"T {evil}")
    html = (tmp_path / "out" / "similarity.html").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_bidi_override_in_a_name_reaches_the_page(tmp_path):
    # The grader strips bidirectional overrides from what students control elsewhere
    # (grader/sandbox/wire.py); here a name can reorder the text around it.
    klass = [
        Submission("eve\u202ebob", student(tmp_path, "e", ALICE).path, "e.py"),
        student(tmp_path, "zed", ALICE),
    ]
    write_report(compare_class(klass, GIVEN), tmp_path / "out", package_templates(), "R")
    assert "\u202e" not in (tmp_path / "out" / "similarity.html").read_text()


def test_the_page_repeats_each_students_whole_file_for_every_pair(tmp_path):
    # Four copies of a large file make six pairs, each showing both files in full: the
    # page is eight times the code compared (and 200 pairs of 1 MB files would be 400 MB).
    body = "".join(f"v{i} = keras.layers.Dense({i}, activation='relu')\n" for i in range(600))
    klass = [student(tmp_path, f"s{i}", ALICE + body) for i in range(4)]
    report = compare_class(klass, GIVEN)
    assert len(report.pairs) == 6
    write_report(report, tmp_path / "out", package_templates(), "R")
    page = (tmp_path / "out" / "similarity.html").stat().st_size
    code = sum(len(c.encode()) for c in report.code.values())
    lines = sum(len(c.splitlines()) for c in report.code.values())
    # Room for each student's code twice and the markup of every line: not once per pair.
    assert page < 2 * code + 150 * lines + 50_000


def test_the_cli_escapes_a_file_named_like_markup(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "<b onclick=x>mallet.py").write_text(ALICE)
    (klass / "ann.py").write_text(ALICE)
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "grader", "--course", str(ROOT), "similarity", str(klass)),
            *("--assignment", "regularization", "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    html = (out / "similarity.html").read_text()
    assert "<b onclick" not in html and "&lt;b onclick=x&gt;mallet" in html
    assert sorted(p.name for p in out.iterdir()) == ["similarity.html", "similarity.json"]
