"""Verdict integrity: a student cannot choose which failed checks count.

The plugin's classification is tested on tiny check files with fake module proxies (no
worker, no TensorFlow): whatever the grader raises on a student's answer fails the check
and leaves a note for the instructor; only a check that fails on the reference too, an
infrastructure fault, or a collection or setup failure is an ``error``. Then the
exports (never scaled up, students with errors held back, no LTI line that erases a
grade) and every writer on hostile strings, and one end-to-end grading with a real worker.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.assignment import Assignment, CheckSpec
from grader.checks import CheckFailed, as_float, expect_close
from grader.engine.grading import _run_pytest, grade_submission, reference_baseline
from grader.engine.plugin import GradingPlugin
from grader.engine.proxy import ModuleProxy
from grader.lms import gradescope, prairielearn
from grader.lms.canvas import export_canvas
from grader.lms.gradebook import grade_of
from grader.lms.lti import export_lti
from grader.lms.moodle import export_moodle
from grader.lms.roster import parse_roster
from grader.reports.csv_report import write_grades_csv
from grader.reports.html import write_html_reports
from grader.reports.json_report import write_results_json, write_student_json
from grader.results import CheckResult, RunResult, StudentResult, clean_text
from grader.sandbox.client import CallResult
from grader.sandbox.limits import Limits
from grader.submissions import Submission

ROOT = Path(__file__).resolve().parents[1]

CHECKS = """
import pytest
from grader.checks import as_float, expect, expect_close
from grader.errors import AssignmentError, CheckFailed
from grader.sandbox.template import TemplateError


def test_number(submission, reference):
    want = as_float(reference.value(), "x")
    expect_close(as_float(submission.value(), "value()"), want, "value()")


def test_processing(submission, reference):
    # The grader's own handling of the answer: a wrong type makes it raise.
    got = submission.pair()
    expect(got[0] + got[1] == 3, "a pair adding up to 3", repr(got))


def test_broken_check(submission, reference):
    raise ZeroDivisionError("the check's own bug")


def test_broken_expectation(submission, reference):
    raise CheckFailed("Expected: something the reference does not do")


def test_machine(submission, reference):
    if submission.value() == 1.0:
        raise TemplateError("The worker template could not start")
    if submission.value() == 7.0:
        raise AssignmentError("The course secret is missing")


def test_setup(submission, no_such_fixture):
    pass


def test_secret(submission, reference):
    from grader.checks.secret import secret_rng

    secret_rng("test_secret").normal()
"""

NAMES = (
    "test_number",
    "test_processing",
    "test_broken_check",
    "test_broken_expectation",
    "test_machine",
    "test_setup",
    "test_secret",
    "test_not_run",  # named in the toml, in no check file
)


def _proxy(answers: dict[str, Any], label: str, calls: list[str] | None = None) -> ModuleProxy:
    def caller(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], grads: bool) -> Any:
        if calls is not None:
            calls.append(name)
        answer = answers[name]
        if isinstance(answer, BaseException):
            raise answer
        return CallResult(answer)

    return ModuleProxy(caller, label)


REFERENCE = {"value": 2.5, "pair": (1, 2)}


@pytest.fixture
def assignment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Assignment:
    monkeypatch.setenv("GRADER_COURSE_SECRET", "a-course-secret-for-tests-0123456789")
    (tmp_path / "test_checks.py").write_text(textwrap.dedent(CHECKS))
    (tmp_path / "assignment.toml").write_text("")
    return Assignment(
        name="verdicts",
        title="verdicts",
        module="verdicts",
        functions=("value",),
        checks=tuple(CheckSpec(n, "value", 1.0) for n in NAMES),
        limits=Limits(),
        directory=tmp_path,
        reference=tmp_path / "reference.py",
    )


def _grade(
    assignment: Assignment, student: dict[str, Any], reference: ModuleProxy, baseline: bool = True
) -> tuple[dict[str, CheckResult], GradingPlugin]:
    outcomes = reference_baseline(assignment, reference).outcomes if baseline else None
    plugin = GradingPlugin(assignment, _proxy(student, "student"), reference, baseline=outcomes)
    _run_pytest(assignment, plugin)
    return {c.name: c for c in plugin.results()}, plugin


def test_the_reference_run_finds_the_checks_broken_on_the_reference(assignment):
    reference = _proxy(REFERENCE, "reference")
    baseline = reference_baseline(assignment, reference)
    assert baseline.outcomes["test_number"] == "passed"
    assert baseline.outcomes["test_processing"] == "passed"
    assert baseline.outcomes["test_machine"] == "passed"
    assert baseline.outcomes["test_secret"] == "passed"
    assert baseline.outcomes["test_broken_check"] == "failed"  # a bug: failed, with a note
    assert "ZeroDivisionError" in baseline.messages["test_broken_check"]
    assert baseline.outcomes["test_broken_expectation"] == "failed"
    assert baseline.outcomes["test_setup"] == "error"
    assert baseline.outcomes["test_not_run"] == "error"
    assert set(baseline.broken) == {
        "test_broken_check",
        "test_broken_expectation",
        "test_setup",
        "test_not_run",
    }
    # Which checks drew secret inputs, for `grader validate`.
    assert baseline.secret_checks == {"test_secret"}
    _, plugin = _grade(assignment, REFERENCE, reference)  # and each student's run records it
    assert plugin.secret_checks == {"test_secret"}


def test_the_reference_run_happens_once_per_process_and_reference(assignment):
    calls: list[str] = []
    reference = _proxy(REFERENCE, "reference", calls)
    first = reference_baseline(assignment, reference)
    made = len(calls)
    assert made > 0
    for student in ({"value": 2.5, "pair": (1, 2)}, {"value": 1.0, "pair": (0, 0)}):
        _grade(assignment, student, reference)
    assert reference_baseline(assignment, reference) is first
    other = _proxy(REFERENCE, "another reference")
    assert reference_baseline(assignment, other) is not first


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (10**400, "an integer too large for a float"),
        (True, "a boolean"),
        (1 + 2j, "a complex number"),
        ("2.5", "a string"),
        ([[2.5]], "a list of 1 item"),
        (np.array([2.5, 1.0]), "an array of shape (2,)"),
        (np.array(["x"]), "an array of dtype str"),
    ],
)
def test_odd_numbers_are_clean_failures(assignment, value, found):
    results, _ = _grade(assignment, {"value": value, "pair": (1, 2)}, _proxy(REFERENCE, "r"))
    check = results["test_number"]
    assert check.status == "failed" and check.points == 0
    assert found in check.message and not check.internal


def test_an_exception_on_the_students_answer_is_a_failure_with_a_note(assignment):
    reference = _proxy(REFERENCE, "reference")
    results, _ = _grade(assignment, {"value": 2.5, "pair": None}, reference)
    check = results["test_processing"]
    assert check.status == "failed" and check.points == 0 and check.counted
    assert check.message == (
        "The grader could not process your answer (TypeError). This counts as a failed check."
    )
    assert "Traceback" in check.internal and "TypeError" in check.internal
    assert "test_checks.py" not in check.message
    # Without a reference run (no baseline), the same: never a void.
    results, _ = _grade(assignment, {"value": 2.5, "pair": None}, reference, baseline=False)
    assert results["test_processing"].status == "failed"


def test_only_the_graders_own_faults_are_errors(assignment):
    reference = _proxy(REFERENCE, "reference")
    results, _ = _grade(assignment, {"value": 2.5, "pair": (1, 2)}, reference)
    assert results["test_number"].status == "passed"
    assert results["test_processing"].status == "passed"
    # Fails on the reference too: the grader's fault, whatever the student did.
    for name in ("test_broken_check", "test_broken_expectation"):
        assert results[name].status == "error" and results[name].points == 0
        assert "reference solution" in results[name].message
        assert "does not pass on the reference solution" in results[name].internal
    assert results["test_setup"].status == "error"
    assert "while setting up" in results["test_setup"].message
    assert results["test_not_run"].status == "error"
    # The machine (a template) or the assignment's files (no secret) failed: an error.
    for value in (1.0, 7.0):
        results, _ = _grade(assignment, {"value": value, "pair": (1, 2)}, reference)
        assert results["test_machine"].status == "error"
        assert results["test_number"].status == "failed"


def test_a_check_file_that_does_not_load_is_an_error_for_its_checks(assignment):
    # A unique module name: pytest keeps a module it imported once.
    broken = f"test_broken_{abs(hash(str(assignment.directory)))}.py"
    (assignment.directory / broken).write_text("def test_not_run(:\n")
    reference = _proxy(REFERENCE, "reference")
    baseline = reference_baseline(assignment, reference)
    assert baseline.outcomes["test_not_run"] == "error"
    assert baseline.outcomes["test_number"] == "passed"  # the other files still run
    results, _ = _grade(assignment, {"value": 1.0, "pair": None}, reference)
    assert results["test_not_run"].status == "error"
    assert results["test_number"].status == "failed"
    assert results["test_processing"].status == "failed"


def test_the_reference_run_never_changes_a_verdict(assignment):
    reference = _proxy(REFERENCE, "reference")
    for student in (
        {"value": 2.5, "pair": (1, 2)},
        {"value": 3.0, "pair": (2, 2)},
        {"value": float("nan"), "pair": "ab"},
        {"value": 10**400, "pair": CheckFailed("nope")},
    ):
        with_run, _ = _grade(assignment, student, reference)
        without, _ = _grade(assignment, student, reference, baseline=False)
        for name in ("test_number", "test_processing", "test_machine", "test_secret"):
            assert with_run[name].status == without[name].status, (student, name)
            assert with_run[name].message == without[name].message


def test_hostile_strings_are_cleaned_in_results(assignment):
    from grader.errors import StudentError

    nasty = "bad\udcff\x00\x1b[1mbold\x1b[0m\r\nend\x7f"
    reference = _proxy(REFERENCE, "reference")
    results, _ = _grade(assignment, {"value": StudentError(nasty), "pair": (1, 2)}, reference)
    message = results["test_number"].message
    assert results["test_number"].status == "failed"
    assert message == "bad\ufffdbold\nend"
    message.encode("utf-8")  # writable


def test_as_float_and_expect_close() -> None:
    assert as_float(np.float32(1.5), "x") == 1.5
    assert as_float(np.longdouble(2), "x") == 2.0
    assert as_float(np.array([[3]], dtype=np.uint8), "x") == 3.0
    for bad in (10**5000, np.bool_(True), np.complex64(1), np.datetime64("2020"), None, {}):
        with pytest.raises(CheckFailed):
            as_float(bad, "x")
    with pytest.raises(CheckFailed, match="too large for a float"):
        expect_close(10**400, 1.0, "x")  # type: ignore[arg-type]


# ---------------------------------------------------------------- exports


def _check(name: str, status: str, points: float) -> CheckResult:
    return CheckResult(name, "value", f"{name} works.", points, 2.0, status)  # type: ignore[arg-type]


def _student(name: str, checks: list[CheckResult]) -> StudentResult:
    counted = [c for c in checks if c.counted]
    status = "error" if len(counted) < len(checks) else "graded"
    return StudentResult(
        student=name,
        score=sum(c.points for c in counted),
        max_score=sum(c.max_points for c in counted),
        status=status,  # type: ignore[arg-type]
        checks=tuple(checks),
    )


def _run(*students: StudentResult) -> RunResult:
    return RunResult(
        assignment="verdicts",
        title="Verdicts",
        max_score=4.0,
        functions=("value",),
        students=students,
        grader_version="0",
        generated_at="2026-05-01T12:00:00+00:00",
    )


ROSTER = parse_roster(
    "student,canvas_id,email,lti_user_id\n"
    "ann,1,ann@x.example,lti-ann\n"
    "bob,2,bob@x.example,lti-bob\n"
    "cy,3,cy@x.example,lti-cy\n"
)


def test_exports_never_scale_up_and_hold_back_students_with_errors() -> None:
    run = _run(
        _student("ann", [_check("a", "passed", 2.0), _check("b", "failed", 0.0)]),
        # One passed, one the grader could not run: 2 / 2 counted, never 4 / 4.
        _student("bob", [_check("a", "passed", 2.0), _check("b", "error", 0.0)]),
        _student("cy", [_check("a", "error", 0.0), _check("b", "error", 0.0)]),
    )
    assert grade_of(run, run.students[1]).points is None
    canvas = export_canvas(run, ROSTER, "7")
    assert canvas.written == ("ann",) and canvas.held_back == ("bob", "cy")
    assert canvas.text.splitlines()[2].endswith(",2")
    moodle = export_moodle(run, ROSTER)
    assert moodle.written == ("ann",) and moodle.held_back == ("bob", "cy")
    assert "needs a regrade" in "\n".join(moodle.notices())
    lti = export_lti(run, ROSTER)
    lines = [json.loads(line) for line in lti.text.splitlines()]
    assert [line["userId"] for line in lines] == ["lti-ann"]
    assert all(line["gradingProgress"] == "FullyGraded" for line in lines)
    assert (lines[0]["scoreGiven"], lines[0]["scoreMaximum"]) == (2, 4)
    assert lti.held_back == ("bob", "cy")


def test_gradescope_and_prairielearn_say_why_a_check_did_not_count(assignment) -> None:
    student = _student("bob", [_check("a", "passed", 2.0), _check("b", "error", 0.0)])
    pl = prairielearn.to_results(student, "Verdicts")
    row = next(t for t in pl["tests"] if t["name"] == "b")
    assert row["max_points"] == 0 and "reference solution" in row["message"]
    spec = Assignment(
        name="verdicts",
        title="Verdicts",
        module="verdicts",
        functions=("value",),
        checks=(CheckSpec("a", "value", 2.0), CheckSpec("b", "value", 2.0)),
        limits=Limits(),
        directory=assignment.directory,
        reference=assignment.reference,
    )
    gs = gradescope.to_results(spec, student)
    assert "reference solution" in gs["output"]
    assert any("not counted" in t["name"] and t["max_score"] == 0 for t in gs["tests"])


# ---------------------------------------------------------------- writers


NASTY = "x\udcff\ud800y\x00z\x1b[31mred\x1b[0m\x07\r\n\x85end"


def test_every_writer_survives_surrogates_nul_and_control_characters(
    tmp_path: Path, assignment: Assignment
) -> None:
    check = CheckResult(
        name="a",
        function="value",
        description=NASTY,
        points=0.0,
        max_points=2.0,
        status="failed",
        message=NASTY,
        internal=NASTY,
    )
    student = StudentResult(
        student="s\udcffname",  # a folder name that is not UTF-8
        score=0.0,
        max_score=2.0,
        status="graded",
        checks=(check,),
        error=NASTY,
        source=NASTY,
        output=NASTY,
    )
    assert check.message == clean_text(NASTY) == "x\ufffd\ufffdyzred\nend"
    assert student.output == check.message
    run = _run(student)
    write_results_json(run, tmp_path / "results.json")
    write_student_json(student, tmp_path / "student.json")
    write_grades_csv(run, tmp_path / "grades.csv")
    write_html_reports(run, tmp_path, ROOT / "templates")
    # The name reads back exactly (resume keys on it); every file is valid UTF-8.
    back = RunResult.from_dict(json.loads((tmp_path / "results.json").read_text("utf-8")))
    assert back.students[0].student == "s\udcffname"
    assert back.students[0].checks[0] == check
    for path in tmp_path.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8")
            assert "\x00" not in text
    spec = Assignment(
        name="verdicts",
        title="Verdicts",
        module="verdicts",
        functions=("value",),
        checks=(CheckSpec("a", "value", 2.0),),
        limits=Limits(),
        directory=assignment.directory,
        reference=assignment.reference,
    )
    json.dumps(gradescope.to_results(spec, student), ensure_ascii=False).encode("utf-8")
    prairielearn.dumps(prairielearn.to_results(student, "Verdicts")).encode("utf-8")
    # Instructor-only notes never reach a student's page or an LMS.
    internal = CheckResult("a", "value", "", 0.0, 2.0, "failed", "msg", internal="SECRET-NOTE")
    private = StudentResult("ann", 0.0, 2.0, "graded", (internal,))
    texts = [
        json.dumps(gradescope.to_results(spec, private)),
        prairielearn.dumps(prairielearn.to_results(private, "Verdicts")),
        export_moodle(_run(private), ROSTER).text,
        export_lti(_run(private), ROSTER).text,
    ]
    write_html_reports(_run(private), tmp_path / "private", ROOT / "templates")
    texts.append((tmp_path / "private" / "feedback" / "ann.html").read_text("utf-8"))
    for text in texts:
        assert "SECRET-NOTE" not in text
    summary = (tmp_path / "private" / "summary.html").read_text("utf-8")
    assert "SECRET-NOTE" in summary and "Needs attention" in summary


# ---------------------------------------------------------------- end to end


REFERENCE_SOURCE = """
def value():
    return 2.5


def pair():
    return [1, 2]
"""

E2E_CHECKS = """
from grader.checks import as_float, expect, expect_close


def test_value(submission, reference):
    want = as_float(reference.value(), "x")
    expect_close(as_float(submission.value(), "value()"), want, "value()")


def test_pair(submission, reference):
    got = submission.pair()
    expect(got[0] + got[1] == 3, "a pair adding up to 3", repr(got))
"""

HOSTILE = """
def value():
    return 10 ** 400


def pair():
    return {"not": "a pair"}
"""


def test_a_real_worker_cannot_void_its_failures(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "test_tiny.py").write_text(textwrap.dedent(E2E_CHECKS))
    (folder / "assignment.toml").write_text("")
    (folder / "reference.py").write_text(textwrap.dedent(REFERENCE_SOURCE))
    assignment = Assignment(
        name="tiny",
        title="tiny",
        module="tiny",
        functions=("value", "pair"),
        checks=(CheckSpec("test_value", "value", 1.0), CheckSpec("test_pair", "pair", 1.0)),
        limits=Limits(),
        directory=folder,
        reference=folder / "reference.py",
    )
    for name, source in (("hostile", HOSTILE), ("honest", REFERENCE_SOURCE)):
        path = tmp_path / name / "tiny.py"
        path.parent.mkdir()
        path.write_text(textwrap.dedent(source))
        result = grade_submission(assignment, Submission(name, path, path.name))
        by_name = {c.name: c for c in result.checks}
        if name == "hostile":
            assert result.status == "graded"
            assert (result.score, result.max_score) == (0.0, 2.0)
            assert all(c.status == "failed" for c in result.checks)
            assert by_name["test_pair"].internal  # KeyError on a dict: for the instructor
        else:
            assert (result.score, result.max_score, result.status) == (2.0, 2.0, "graded")


HIDDEN_OUTPUT_CHECKS = {
    "test_shown.py": """
def test_shown(submission):
    assert submission.shout("visible-word") == "visible-word"
""",
    "test_hidden_quiet.py": """
def test_hidden_quiet(submission):
    assert submission.shout("secret-word") == "secret-word"
""",
}

SHOUTER = """
import os, sys

SAVED = os.dup(1)


def shout(word):
    print("printed", word)
    sys.stdout.flush()
    os.write(SAVED, ("saved " + word + "\\n").encode())
    return word
"""


def test_what_the_student_prints_during_hidden_checks_is_not_kept(tmp_path: Path) -> None:
    # Hidden checks' inputs come from the course secret: a student who prints them (even
    # through a copy of stdout kept from import) must not find them on their page.
    folder = tmp_path / "quiet"
    folder.mkdir()
    for name, source in HIDDEN_OUTPUT_CHECKS.items():
        (folder / name).write_text(textwrap.dedent(source))
    (folder / "assignment.toml").write_text("")
    (folder / "reference.py").write_text("def shout(word):\n    return word\n")
    assignment = Assignment(
        name="quiet",
        title="quiet",
        module="quiet",
        functions=("shout",),
        # The hidden check listed first: visible checks still run before it.
        checks=(
            CheckSpec("test_hidden_quiet", "shout", 1.0, visibility="hidden"),
            CheckSpec("test_shown", "shout", 1.0),
        ),
        limits=Limits(),
        directory=folder,
        reference=folder / "reference.py",
    )
    path = tmp_path / "ann" / "quiet.py"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(SHOUTER))
    result = grade_submission(assignment, Submission("ann", path, path.name))
    assert (result.score, result.max_score) == (2.0, 2.0), result.checks
    assert "printed visible-word" in result.output and "saved visible-word" in result.output
    assert "secret-word" not in result.output
    assert "printed during the hidden checks is not shown" in result.output


def test_the_global_keras_state_is_put_back_before_each_student() -> None:
    import keras

    from grader.engine.grading import _reset_global_state

    _reset_global_state()  # the first call in a process records the state to keep
    try:
        keras.config.set_floatx("float64")
        keras.config.set_epsilon(0.5)
        _reset_global_state()
        assert (keras.config.floatx(), keras.config.epsilon()) == ("float32", 1e-7)
    finally:
        keras.config.set_floatx("float32")
        keras.config.set_epsilon(1e-7)


def test_a_check_file_named_like_another_assignments_is_its_own(tmp_path: Path) -> None:
    reference = _proxy(REFERENCE, "reference")
    for name in ("first", "second"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "assignment.toml").write_text("")
        (folder / "test_same_name.py").write_text(f"def test_{name}(submission):\n    pass\n")
        assignment = Assignment(
            name=name,
            title=name,
            module=name,
            functions=("value",),
            checks=(CheckSpec(f"test_{name}", "value", 1.0),),
            limits=Limits(),
            directory=folder,
            reference=folder / "reference.py",
        )
        results, _ = _grade(assignment, {}, reference, baseline=False)
        assert results[f"test_{name}"].status == "passed"
