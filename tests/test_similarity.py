"""The similarity report: what disguises it sees through, what is not evidence, bad input,
and where it is written (never for students). In process; no grading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.similarity import (
    DEFAULT_THRESHOLD,
    code_of,
    compare_class,
    fingerprints,
    given_code,
    normalise,
)
from grader.submissions import Submission, discover

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "regularization"
ASSIGNMENT = ROOT / "assignments" / "regularization"

ORIGINAL = '''
import keras


def l2_dense(units, l2=0.01):
    """A dense layer with an L2 penalty."""
    return keras.layers.Dense(units, activation="relu",
                              kernel_regularizer=keras.regularizers.L2(l2))


def validation_gap(history):
    # the gap at the end of training
    train = history.history["loss"][-1]
    val = history.history["val_loss"][-1]
    return val - train


def build_model(regularizer=None, input_dim=1):
    model = keras.Sequential([keras.Input((input_dim,))])
    for width in (64, 64):
        model.add(keras.layers.Dense(width, activation="relu",
                                     kernel_regularizer=regularizer))
    model.add(keras.layers.Dense(1))
    model.compile(optimizer="adam", loss="mse")
    return model
'''

DISGUISED = """
from tensorflow import keras

def build_model(reg=None, input_dim=1):
    # build it
    net = tf.keras.Sequential([tf.keras.Input((input_dim,))])
    for w in (64, 64):
        net.add(tf.keras.layers.Dense(w, activation="relu", kernel_regularizer=reg))


    net.add(tf.keras.layers.Dense(1))
    net.compile(optimizer="adam", loss="mse")
    return net

def unused(a):
    return a * 2

def validation_gap(h):
    t = h.history["loss"][-1]
    v = h.history["val_loss"][-1]
    return v - t

def l2_dense(n, l2=0.01):
    return keras.layers.Dense(n, activation="relu", kernel_regularizer=keras.regularizers.L2(l2))
"""


def texts(code: str) -> list[str]:
    return [t.text for t in normalise(code)]


def test_names_comments_docstrings_imports_and_tf_keras_read_the_same():
    a = (
        "import keras\ndef f(x):\n    '''Doc.'''\n    # note\n"
        "    y = keras.layers.Dense(x)\n    return y\n"
    )
    b = (
        "from tensorflow import keras\n\ndef g(units):\n"
        "    z = tf.keras.layers.Dense(units)  # x\n\n    return z\n"
    )
    assert texts(a) == texts(b)
    # What a student does not choose stays: attributes, keyword names, builtins, keywords.
    assert {"Dense", "return", "def"} <= set(texts(a))
    assert "kernel_regularizer" in texts("f(kernel_regularizer=1)\n")
    assert texts("x = len(y)\n") == ["V", "=", "len", "(", "V", ")", ";"]


def test_code_that_does_not_tokenize_keeps_what_came_before():
    assert texts("x = 1\ny = (\n")[:4] == ["V", "=", "N", ";"]


def test_fingerprints_are_stable_and_survive_reordering():
    tokens = normalise(ORIGINAL)
    assert fingerprints(tokens) == fingerprints(normalise(ORIGINAL))
    assert fingerprints([]) == {}
    # The same functions in another order: nearly every fingerprint is still there (only
    # the runs across a function's edge change).
    parts = ORIGINAL.split("\n\n\n")
    reordered = "\n\n\n".join([parts[0], *reversed(parts[1:])])
    assert reordered != ORIGINAL
    before, after = set(fingerprints(tokens)), set(fingerprints(normalise(reordered)))
    assert len(before & after) >= 0.8 * len(before)


def student(folder: Path, name: str, code: str, notebook: bool = False) -> Submission:
    if notebook:
        path = folder / f"{name}.ipynb"
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell("# My work")] + [
            nbformat.v4.new_code_cell(part) for part in code.split("\n\n\n") if part.strip()
        ]
        nb.metadata["kernelspec"] = {"name": "python3", "language": "python"}
        path.write_text(nbformat.writes(nb))
        return Submission(name, path, path.name, notebook=True)
    path = folder / f"{name}.py"
    path.write_text(code)
    return Submission(name, path, path.name)


def test_a_disguised_copy_and_a_notebook_copy_are_found_and_shown(tmp_path):
    klass = [
        student(tmp_path, "ada", ORIGINAL),
        student(tmp_path, "bob", DISGUISED),
        student(tmp_path, "cy", ORIGINAL, notebook=True),
        student(tmp_path, "dee", (EXAMPLES / "bob.py").read_text()),
    ]
    report = compare_class(klass)
    pairs = {(p.a, p.b): p for p in report.pairs}
    assert set(pairs) >= {("ada", "bob"), ("ada", "cy"), ("bob", "cy")}
    assert not any("dee" in pair for pair in pairs)
    assert report.clusters == (("ada", "bob", "cy"),)
    copy = pairs[("ada", "bob")]
    assert copy.score >= DEFAULT_THRESHOLD and copy.fragments
    # Fragments point at real lines of each side.
    for fragment in copy.fragments:
        assert 1 <= fragment.a[0] <= fragment.a[1] <= len(ORIGINAL.splitlines())
        assert 1 <= fragment.b[0] <= fragment.b[1] <= len(DISGUISED.splitlines())


def test_the_shipped_independent_examples_are_not_flagged():
    found = discover(EXAMPLES, "regularization")
    stub = ASSIGNMENT / "regularization.py"
    report = compare_class(found.submissions, given_code(ASSIGNMENT, stub))
    assert report.pairs == () and len(report.compared) == len(found.submissions)


def test_code_every_student_was_given_is_not_evidence(tmp_path):
    stub = (ASSIGNMENT / "regularization.py").read_text()
    # Two students who filled in the stub differently: the stub's demos and docstrings
    # are the same in both, and must not make them look copied.
    ada = stub.replace("raise NotImplementedError", "return keras.layers.Dense(units)", 1)
    bob = stub.replace("raise NotImplementedError", "return None", 1)
    klass = [student(tmp_path, "ada", ada), student(tmp_path, "bob", bob)]
    assert compare_class(klass, [stub]).pairs == ()
    assert compare_class(klass).pairs  # without the stub excluded, they would be


def test_bad_input_is_listed_not_compared_and_a_tiny_class_is_clear(tmp_path):
    (tmp_path / "empty.py").write_text("  \n")
    (tmp_path / "binary.py").write_bytes(b"\x00\x01keras")
    (tmp_path / "latin.py").write_bytes("x = 'é'\n".encode("latin-1"))
    (tmp_path / "huge.py").write_text("x = 1\n" * 200_000)
    (tmp_path / "broken.ipynb").write_text("{not json")
    klass = [
        Submission(p.stem, p, p.name, notebook=p.suffix == ".ipynb")
        for p in sorted(tmp_path.iterdir())
    ]
    klass.append(Submission("ghost", None, "ghost/", problem="no regularization.py found"))
    klass.append(student(tmp_path, "ada", ORIGINAL))
    report = compare_class(klass)
    reasons = dict(report.not_compared)
    assert set(reasons) == {"empty", "binary", "latin", "huge", "broken", "ghost"}
    assert reasons["binary"] == "a binary file" and "over" in reasons["huge"]
    assert report.compared == ("ada",) and report.pairs == ()
    assert code_of(klass[-1]) == (ORIGINAL, "")


def test_the_cli_writes_the_report_for_instructors_only(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "ada.py").write_text(ORIGINAL)
    (klass / "bob.py").write_text(DISGUISED)
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "--course",
            str(ROOT),
            "similarity",
            str(klass),
            "--assignment",
            "regularization",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Compared 2 submissions: 1 pairs" in proc.stdout
    data = json.loads((out / "similarity.json").read_text())
    assert data["threshold"] == DEFAULT_THRESHOLD and data["compared"] == 2
    (pair,) = data["pairs"]
    assert (pair["a"], pair["b"]) == ("ada", "bob") and 0 < pair["score"] <= 1
    assert data["clusters"] == [{"students": ["ada", "bob"], "max_score": pair["score"]}]
    page = (out / "similarity.html").read_text()
    assert "for instructors only" in page and "kernel_regularizer" in page
    assert 'class="match"' in page
    # Student code is text on the page, never markup.
    (klass / "bob.py").write_text(DISGUISED + "\n# </span><script>alert(1)</script>\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "--course",
            str(ROOT),
            "similarity",
            str(klass),
            "--assignment",
            "regularization",
            "--out",
            str(out),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert "<script>alert" not in (out / "similarity.html").read_text()


def test_the_summary_links_the_report_only_when_there_is_one(tmp_path):
    from grader.paths import package_templates
    from grader.reports.html import write_html_reports
    from grader.results import RunResult, StudentResult

    run = RunResult("r", "R", 1.0, ("f",), (StudentResult("ada", 1.0, 1.0, "graded"),), "0")
    write_html_reports(run, tmp_path, package_templates())
    assert "similarity.html" not in (tmp_path / "summary.html").read_text()
    (tmp_path / "similarity.html").write_text("report")
    write_html_reports(run, tmp_path, package_templates())
    assert 'href="similarity.html"' in (tmp_path / "summary.html").read_text()
    assert "similarity" not in (tmp_path / "feedback" / "ada.html").read_text()


@pytest.mark.parametrize("count", [1, 2])
def test_a_class_of_one_or_two_gets_a_short_clear_report(tmp_path, count):
    from grader.paths import package_templates
    from grader.similarity import write_report

    klass = [student(tmp_path, f"s{i}", ORIGINAL if i else DISGUISED) for i in range(count)]
    report = compare_class(klass)
    write_report(report, tmp_path / "out", package_templates(), "R")
    page = (tmp_path / "out" / "similarity.html").read_text()
    if count == 1:
        assert "Fewer than two submissions could be compared" in page
    else:
        assert "s0 · s1" in page
