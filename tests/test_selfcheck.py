"""Students check their work without the reference: recorded answers and `grader check`.

The regularization reference's answers are recorded once for this module; the
recorded reference must then give the verdicts the live one gives (test_examples
proves those). `grader check` runs on a tiny synthetic assignment with a hidden check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_course_toml
from regularization_checks import HIDDEN
from test_examples import EXPECTED

from grader.assignment import (
    ANSWERS_FILE,
    Assignment,
    check_functions,
    load_assignment,
    load_bundle,
)
from grader.cli import main
from grader.course import Course
from grader.engine.check_modules import check_package, import_check_module, shipped_helpers
from grader.engine.grading import grade_submission
from grader.engine.recording import record_answers, write_answers
from grader.engine.reference import FORMAT, NOT_RECORDED, RecordedReference, reference_for
from grader.results import StudentResult
from grader.sandbox.wire import KerasObject
from grader.submissions import Submission

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "regularization"
# student -> the check file their mistake shows in (None: every file); bob is correct.
STUDENTS = {
    "bob": (EXAMPLES / "bob.py", None),
    "frank": (EXAMPLES / "frank.py", "test_penalty.py"),  # regularized_loss drops the penalty
    "grace": (EXAMPLES / "grace" / "regularization.py", "test_overfitting.py"),  # gap includes it
}


def only(assignment: Assignment, check_file: str | None) -> Assignment:
    """The assignment restricted to one check file: a mistaken example is graded on the
    checks its mistake shows in, to keep the suite fast."""
    if check_file is None:
        return assignment
    names = set(check_functions(assignment.directory / check_file))
    checks = tuple(c for c in assignment.checks if c.name in names)
    return replace(assignment, checks=checks, only_files=(check_file,))


def grade(assignment: Assignment, student: str) -> StudentResult:
    path, check_file = STUDENTS[student]
    return grade_submission(only(assignment, check_file), Submission(student, path, path.name))


def write_checks(assignment: Assignment, answers: dict[str, Any], checks: Path) -> Path:
    """A release's checks folder: the toml, the visible check files and the helper modules
    they import, the answers."""
    checks.mkdir(parents=True)
    shutil.copy(assignment.directory / "assignment.toml", checks)
    visible = assignment.visible().check_files()
    for path in [*visible, *shipped_helpers(visible)]:
        shutil.copy(path, checks)
    write_answers(answers, checks / ANSWERS_FILE)
    return checks


def verdicts(result: StudentResult) -> list[tuple[str, str, float, str]]:
    return [(c.name, c.status, c.points, c.message) for c in result.checks]


# -- the regularization assignment's recorded answers -------------------------------------


@pytest.fixture(scope="module")
def answers() -> dict[str, Any]:
    return record_answers(load_assignment("regularization"))


@pytest.fixture(scope="module")
def recorded(answers: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict:
    checks = write_checks(
        load_assignment("regularization"), answers, tmp_path_factory.mktemp("release") / "checks"
    )
    bundle = load_bundle(checks)
    return {student: grade(bundle, student) for student in STUDENTS}


def test_answers_hold_every_reference_call_as_json_wire_data(answers):
    assert answers["format"] == FORMAT
    assert answers["assignment"] == "regularization"
    assert json.loads(json.dumps(answers)) == answers
    assert {e["function"] for e in answers["entries"]} == set(
        load_assignment("regularization").functions
    )
    with_gradients = [e for e in answers["entries"] if e["gradients"]]
    assert with_gradients
    assert all(e["answer_gradients"] for e in with_gradients)


@pytest.mark.parametrize("student", sorted(STUDENTS))
def test_recorded_answers_give_the_live_verdicts(recorded, student):
    status, failing = EXPECTED[student]  # what test_examples proves of the live reference
    result = recorded[student]
    assert result.status == status, result.error
    wrong = {
        c.name: c.message for c in result.checks if (c.status != "passed") != (c.name in failing)
    }
    assert not wrong
    # The visible checks show the mistake (a release runs no hidden check).
    assert failing - HIDDEN <= {c.name for c in result.checks}
    if student == "bob":  # every visible check, every reference call answered
        assert (len(result.checks), result.score) == (20, 30)


def test_recorded_and_live_reference_give_the_same_messages(recorded):
    live = grade(load_assignment("regularization"), "frank")
    assert verdicts(recorded["frank"]) == verdicts(live)
    assert recorded["frank"].score == live.score


def _check_module(name: str) -> Any:
    # As the grader imports it: a module of the assignment's package, helpers beside it.
    folder = ROOT / "assignments" / "regularization"
    return import_check_module(folder / f"{name}.py", check_package(folder, "regularization"))


def _with_weights(model: KerasObject, weights: list[np.ndarray]) -> KerasObject:
    return KerasObject(model.kind, model.config, tuple(weights))


def test_a_call_is_found_despite_last_bit_differences(answers):
    recorded = RecordedReference(answers, "answers").proxy
    live = reference_for(ROOT / "reference" / "regularization.py", "regularization").proxy
    penalty = _check_module("test_penalty")
    model = penalty._several()  # the model test_penalty_several_layers asks about
    want = live.penalty(model)
    assert recorded.penalty(model) == want
    nudged = _with_weights(model, [np.nextafter(w, np.float32(np.inf)) for w in model.weights])
    assert any((a != b).any() for a, b in zip(nudged.weights, model.weights, strict=True))
    assert recorded.penalty(nudged) == want
    # Layer names count models made before; they do not change the answer.
    renamed = json.loads(json.dumps(model.config).replace('"dense_', '"dense_9'))
    assert renamed != model.config
    assert recorded.penalty(KerasObject(model.kind, renamed, model.weights)) == want

    x, y = penalty._data(2, 12)  # test_regularized_loss_gradient's second case
    x_nudged = np.nextafter(x, np.float32(-np.inf))
    got = recorded.call_with_gradients("regularized_loss", model, x_nudged, y)
    want_grads = live.call_with_gradients("regularized_loss", model, x, y).gradients
    assert len(got.gradients) == len(want_grads)
    for mine, theirs in zip(got.gradients, want_grads, strict=True):
        np.testing.assert_array_equal(mine.array, theirs.array)


def test_a_different_argument_has_no_recorded_answer(answers):
    recorded = RecordedReference(answers, "answers").proxy
    model = _check_module("test_penalty")._several()
    scaled = _with_weights(model, [w * np.float32(1.001) for w in model.weights])
    with pytest.raises(pytest.skip.Exception, match=NOT_RECORDED):
        recorded.penalty(scaled)
    with pytest.raises(pytest.skip.Exception, match=NOT_RECORDED):
        recorded.penalty(model, extra=1)


# -- `grader check` on a synthetic assignment ---------------------------------------------

TOML = """
[assignment]
title = "Tiny"
module = "tiny"
functions = ["double", "halve", "secret"]

[limits]
call_timeout = 30
"""

VISIBLE_CHECKS = """
import numpy as np

from grader.checks import as_float, check, expect, expect_close


@check("double", points=2)
def test_double(submission, reference):
    '''double doubles an array.'''
    x = np.linspace(-1, 1, 7).astype("float32")
    got, want = submission.double(x), reference.double(x)
    expect(np.allclose(got, want), "`double(x)` to be 2 * x", repr(got), "multiply by 2.")


@check("halve", points=1)
def test_halve_twice(submission, reference):
    '''halve, twice.'''
    # Asks the reference about the student's own answer: not self-checkable on purpose.
    half = as_float(submission.halve(8.0), "`halve(8.0)`")
    expect_close(as_float(reference.halve(half), "the reference"), 2.0, "halve(halve(8.0))")
"""

HIDDEN_CHECKS = """
from pathlib import Path

from grader.checks import check


@check("secret", points=5, hidden=True)
def test_secret_sauce(submission):
    '''unseen.'''
    Path(__file__).with_name("hidden-check-ran").touch()
    assert submission.secret() == 42
"""

REFERENCE = """
def double(x):
    return x * 2


def halve(x):
    return x / 2


def secret():
    return 42
"""

SOLUTIONS = {
    "good": REFERENCE,
    "wrong_double": REFERENCE.replace("x * 2", "x + 2"),
    "wrong_halve": REFERENCE.replace("x / 2", "x / 3"),
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout (assignments/tiny, reference/tiny.py) and a release of it in release/."""
    root = tmp_path_factory.mktemp("tiny")
    directory = root / "assignments" / "tiny"
    directory.mkdir(parents=True)
    (directory / "assignment.toml").write_text(TOML)
    (directory / "test_tiny.py").write_text(VISIBLE_CHECKS)
    (directory / "test_hidden_tiny.py").write_text(HIDDEN_CHECKS)
    (root / "reference").mkdir()
    (root / "reference" / "tiny.py").write_text(REFERENCE)
    assignment = load_assignment("tiny", Course.read(write_course_toml(root, "Tiny course")))
    write_checks(assignment, record_answers(assignment), root / "release" / "checks")
    for name, source in SOLUTIONS.items():
        (root / "release" / name).mkdir()
        (root / "release" / name / "tiny.py").write_text(source)
    return root


def run_check(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("GRADER_COURSE", str(root))
    return CliRunner().invoke(main, ["check", *args], catch_exceptions=False)


def assert_no_hidden_check(text: str, root: Path) -> None:
    assert "secret" not in text.lower()
    assert not (root / "assignments" / "tiny" / "hidden-check-ran").exists()


def test_check_without_a_release_runs_the_checkouts_visible_checks(tiny, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "tiny.py").write_text(REFERENCE)
    env = {**os.environ, "GRADER_COURSE": str(tiny)}
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "check", "tiny.py"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    output = proc.stdout + proc.stderr
    assert "\x1b[" not in output  # no terminal: plain text, as in a notebook's `!grader check`
    assert "assignments/tiny (the instructor's checkout, visible checks only)" in output
    assert "test_double" in output and "test_halve_twice" in output
    assert "Visible checks: 3 / 3 points; 2 of 2 checks passed." in output
    page = work / "grader-feedback" / "tiny.py.html"
    assert f"Feedback page: {page}" in output
    assert "test_double" in page.read_text()
    assert_no_hidden_check(output + page.read_text(), tiny)


def test_check_with_a_release_reports_a_failed_check_with_exit_1(tiny, monkeypatch):
    # The checks folder is found one folder up.
    result = run_check(tiny, monkeypatch, str(tiny / "release" / "wrong_double" / "tiny.py"))
    assert result.exit_code == 1, result.output
    assert "the release's checks and recorded answers" in result.output
    assert "Expected: `double(x)` to be 2 * x" in result.output
    assert "Visible checks: 1 / 3 points; 1 of 2 checks passed." in result.output
    page = tiny / "release" / "wrong_double" / "grader-feedback" / "tiny.py.html"
    assert page.is_file()
    assert_no_hidden_check(result.output + page.read_text(), tiny)


def test_a_call_without_recorded_answer_is_an_error_that_does_not_count(
    tiny, monkeypatch, tmp_path
):
    # halve(8.0) = 8/3: the reference was never asked about that, so the check cannot run.
    out = tmp_path / "pages"
    file = tiny / "release" / "wrong_halve" / "tiny.py"
    result = run_check(
        tiny, monkeypatch, str(file), "--checks", str(tiny / "release"), "--out", str(out)
    )
    assert result.exit_code == 3, result.output
    assert NOT_RECORDED in " ".join(result.output.split())  # table cells wrap
    assert "Visible checks: 2 / 2 points; 1 of 2 checks passed." in result.output
    assert "1 check can only run when your work is graded" in result.output
    assert (out / "tiny.py.html").is_file()
    assert not (file.parent / "grader-feedback").exists()


def test_check_with_a_release_passes_a_correct_file_with_exit_0(tiny, monkeypatch):
    result = run_check(tiny, monkeypatch, str(tiny / "release" / "good" / "tiny.py"))
    assert result.exit_code == 0, result.output
    assert "Visible checks: 3 / 3 points; 2 of 2 checks passed." in result.output


@pytest.mark.parametrize(
    ("name", "content", "args", "message"),
    [
        ("missing.py", None, [], "does not exist"),
        ("tiny.txt", "x = 1\n", [], "neither a Python file nor a notebook"),
        ("tiny.ipynb", "not json", [], "tiny.ipynb"),
        ("tiny.py", "", [], "empty"),
        ("tiny.py", "x = 1\n", ["--assignment", "nope"], "No assignment named 'nope'"),
        ("tiny.py", "x = 1\n", ["--checks", "."], "is not a checks folder"),
    ],
    ids=["missing", "not-python", "not-a-notebook", "empty", "unknown-assignment", "bad-checks"],
)
def test_usage_and_input_errors_exit_2(tiny, monkeypatch, tmp_path, name, content, args, message):
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / name).write_text(content)
    result = run_check(tiny, monkeypatch, name, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "grader-feedback").exists()
