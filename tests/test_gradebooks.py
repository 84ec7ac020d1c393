"""Gradebook exporters: the roster, Canvas and Moodle CSVs and LTI AGS score lines.

Unit tests run on hand-built results; one module-scoped `grader run` over three
example submissions feeds the end-to-end tests of `grader export canvas|moodle|lti`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from grader.errors import UsageError
from grader.lms.canvas import assignment_column, export_canvas
from grader.lms.gradebook import (
    feedback_text,
    format_number,
    grade_of,
    load_results,
    write_export,
)
from grader.lms.lti import export_lti, score_timestamp
from grader.lms.moodle import export_moodle
from grader.lms.roster import RosterError, parse_roster, read_roster
from grader.results import CheckResult, RunResult, StudentResult

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "grader" / "schemas"
EXAMPLES = ROOT / "examples" / "regularization"

HIDDEN_NAME = "test_hidden_secret_edge_case"
HIDDEN_DESCRIPTION = "secret hidden description"
HIDDEN_MESSAGE = "hidden-only diagnostic text"


def _schema(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


CANVAS_SCHEMA = _schema("canvas-gradebook.schema.json")
MOODLE_SCHEMA = _schema("moodle-grades.schema.json")
LTI_SCHEMA = _schema("lti-ags-score.schema.json")


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _lti_lines(text: str) -> list[dict]:
    assert text.endswith("\n")
    scores = [json.loads(line) for line in text.splitlines()]
    for score in scores:
        LTI_SCHEMA.validate(score)
    return scores


# ---------------------------------------------------------------- hand-built results


def _check(
    name: str, status: str, points: float, max_points: float, visibility: str = "visible"
) -> CheckResult:
    hidden = visibility == "hidden"
    return CheckResult(
        name=name,
        function="penalty",
        description=HIDDEN_DESCRIPTION if hidden else f"{name} works.",
        points=points,
        max_points=max_points,
        status=status,  # type: ignore[arg-type]
        message=HIDDEN_MESSAGE if hidden else f"{name} message",
        visibility=visibility,
    )


def _student(name: str, status: str, checks: list[CheckResult], error: str | None = None):
    counted = [c for c in checks if c.counted]
    return StudentResult(
        student=name,
        score=sum(c.points for c in counted),
        max_score=sum(c.max_points for c in counted),
        status=status,  # type: ignore[arg-type]
        checks=tuple(checks),
        error=error,
    )


def _all(status: str, passed: bool = True) -> list[CheckResult]:
    return [
        _check("test_a", status, 2.0 if passed else 0.0, 2.0),
        _check("test_b", status, 2.0 if passed else 0.0, 2.0),
        _check(HIDDEN_NAME, status, 2.0 if passed else 0.0, 2.0, "hidden"),
    ]


STUDENTS = (
    _student("ann", "graded", _all("passed")),
    # failed a visible check (timed out) and the hidden one
    _student(
        "ben",
        "graded",
        [
            _check("test_a", "passed", 2.0, 2.0),
            _check("test_b", "timeout", 0.0, 2.0),
            _check(HIDDEN_NAME, "failed", 0.0, 2.0, "hidden"),
        ],
    ),
    # the grader could not run test_b: 4 of the 4 counted points
    _student(
        "cat",
        "error",
        [
            _check("test_a", "passed", 2.0, 2.0),
            _check("test_b", "error", 0.0, 2.0),
            _check(HIDDEN_NAME, "passed", 2.0, 2.0, "hidden"),
        ],
        error="The grader failed on some checks.",
    ),
    _student("dee", "error", _all("error", passed=False), error="The grader failed."),
    _student("eve", "invalid", _all("failed", passed=False), error="eve.py is empty (0 bytes)."),
    _student(
        "fay",
        "import_error",
        _all("failed", passed=False),
        error="Traceback (most recent call last):\n  File \"x.py\"\nSyntaxError: expected ':'",
    ),
    _student("gus", "graded", _all("passed")),  # not on the roster
    _student("hal", "graded", _all("passed")),  # on the roster without any identity
)
RUN = RunResult(
    assignment="regularization",
    title="Regularization, week 3",
    max_score=6.0,
    functions=("penalty",),
    students=STUDENTS,
    grader_version="0.1.0",
    generated_at="2026-05-01T12:00:00+00:00",
)
ROSTER_TEXT = (
    "\ufeffstudent, Name ,canvas_id,SIS User ID,sis-login-id,section,email,id_number,lti_user_id\n"
    " ann , Ann Lee ,101,S101,alee,A,ann@uni.example,1001,lti-ann\n"
    'ben,"Bo, Ben",102,,,A,Ben@Uni.example,1002,lti-ben\n'
    "cat,Cat,,S103,,B,cat@uni.example,1003,lti-cat\n"
    "dee,Dee,104,,,B,dee@uni.example,1004,lti-dee\n"
    "eve,Eve,,,eve1,B,eve@uni.example,1005,lti-eve\n"
    "fay,Fay,106,,,B,fay@uni.example,1006,lti-fay\n"
    "hal,Hal,,,,,,,\n"
    "\n"
    "ida,Ida,109,,,C,ida@uni.example,1009,lti-ida\n"
)
ROSTER = parse_roster(ROSTER_TEXT, "roster.csv")


# ---------------------------------------------------------------- roster


def test_roster_tolerates_bom_spaces_and_header_spelling() -> None:
    ann = ROSTER.get("ann")
    assert ann is not None
    assert (ann.name, ann.canvas_id, ann.sis_user_id, ann.sis_login_id) == (
        "Ann Lee",
        "101",
        "S101",
        "alee",
    )
    assert ROSTER.get("ben").name == "Bo, Ben"  # type: ignore[union-attr]
    assert [e.student for e in ROSTER.entries] == [
        "ann", "ben", "cat", "dee", "eve", "fay", "hal", "ida"
    ]  # fmt: skip
    assert ROSTER.get("ida").line == 10  # type: ignore[union-attr]
    assert ROSTER.get("hal").display_name == "Hal"  # type: ignore[union-attr]


def test_roster_with_only_the_student_column() -> None:
    roster = parse_roster("student\nann\n")
    assert roster.get("ann").display_name == "ann"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("\n \n", "is empty"),
        ("student,email\n", "no students"),
        ("student,mail\nann,a@x\n", r"unknown column 'mail'\. Known columns: student, name"),
        ("student,,email\nann,,a@x\n", r"unknown column '\(column 2 has no name\)'"),
        ("name,email\nAnn,a@x\n", "no 'student' column"),
        ("student,Email,EMAIL\nann,a@x,a@x\n", "column email more than once"),
        ("student,email\nann,a@x\nbob,b@x\nann,c@x\n", "'ann' is on line 2 and line 4"),
        ("student,canvas_id\nann,7\nbob,7\n", r"canvas_id '7' is given to both 'ann' \(line 2\)"),
        ("student,email\nann,Ann@X.org\nbob,ann@x.org\n", "email 'ann@x.org' is given to both"),
        ("student,lti_user_id\nann,u1\nbob,u1\n", "lti_user_id 'u1'"),
        ("student,email\n ,a@x\n", "line 2: the 'student' value is empty"),
        ("student,canvas_id\nann,abc\n", "not a Canvas user id"),
        ("student,email\nann,not-an-email\n", "is not an email address"),
        ("student,email\nann,a@x,Lee\n", r"line 2: 3 values for 2 columns \(extra: 'Lee'\)"),
        ('student,email\n"ann,a@x\n', "not valid CSV"),
        ("student\x00,email\n", "NUL"),
    ],
)
def test_roster_errors_are_clear(text: str, message: str) -> None:
    with pytest.raises(RosterError, match=message):
        parse_roster(text, "roster.csv")


def test_read_roster_files(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="does not exist"):
        read_roster(tmp_path / "missing.csv")
    (tmp_path / "latin1.csv").write_bytes("student,name\nzoë,Zoë\n".encode("latin-1"))
    with pytest.raises(RosterError, match="not UTF-8"):
        read_roster(tmp_path / "latin1.csv")
    (tmp_path / "ok.csv").write_bytes(b"\xef\xbb\xbfstudent,name\r\nzo\xc3\xab,Zo\xc3\xab\r\n")
    assert read_roster(tmp_path / "ok.csv").get("zoë").name == "Zoë"  # type: ignore[union-attr]


# ---------------------------------------------------------------- numbers and grades


@pytest.mark.parametrize(
    ("value", "text"),
    [(30.0, "30"), (1.5, "1.5"), (0.1 + 0.2, "0.3"), (-0.0, "0"), (26.785714, "26.79"),
     (1e-7, "0"), (1234567.0, "1234567"), (2.10, "2.1")],
)  # fmt: skip
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


def test_grades_by_status() -> None:
    by_name = {s.student: grade_of(RUN, s) for s in RUN.students}
    assert by_name["ann"].points == 6
    assert by_name["ben"].points == 2
    # A check the grader could not run: held back for a regrade, never scaled up.
    assert by_name["cat"].partial and by_name["cat"].held_back and by_name["cat"].points is None
    assert not by_name["dee"].gradable and by_name["dee"].points is None
    assert by_name["eve"].points == 0 and by_name["fay"].points == 0


def test_partial_score_is_never_scaled_and_held_back() -> None:
    student = _student(
        "kim",
        "error",
        [
            _check("test_a", "passed", 2.0, 2.0),
            _check("test_b", "failed", 0.0, 1.0),
            _check("test_c", "error", 0.0, 3.0),
        ],
    )
    grade = grade_of(RUN, student)
    assert (grade.score, grade.max_score, grade.uncounted_points) == (2.0, 3.0, 3.0)
    assert grade.held_back and grade.points is None
    text = feedback_text(student, grade)
    assert text.startswith("Score: 2 / 3 (3 points not counted yet, see below).")
    assert "- test_b works. [1 point]" in text
    assert "1 check could not be judged because of a problem in the grader" in text


# ---------------------------------------------------------------- Canvas


def test_canvas_rows() -> None:
    exported = export_canvas(RUN, ROSTER, "4242")
    rows = _rows(exported.text)
    CANVAS_SCHEMA.validate(rows)
    assert rows[0] == [
        "Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Regularization, week 3 (4242)"
    ]  # fmt: skip
    assert rows[1] == ["Points Possible", "", "", "", "", "6"]
    assert rows[2:] == [
        ["Ann Lee", "101", "S101", "alee", "A", "6"],
        ["Bo, Ben", "102", "", "", "A", "2"],
        ["Eve", "", "", "eve1", "B", "0"],  # invalid
        ["Fay", "106", "", "", "B", "0"],  # import error
    ]
    # cat (one check the grader could not run) and dee (none could run): held back
    assert exported.written == ("ann", "ben", "eve", "fay")
    assert exported.held_back == ("cat", "dee")


def test_canvas_lists_everyone_left_out() -> None:
    exported = export_canvas(RUN, ROSTER, "4242")
    notices = "\n".join(exported.notices("roster.csv"))
    assert "Left out, not in roster.csv (1): gus" in notices
    assert "Left out, no canvas_id, sis_user_id or sis_login_id in roster.csv (1): hal" in notices
    assert (
        "Left out, needs a regrade: the grader could not run some or all of their checks; "
        "fix the grader and grade them again (2): cat, dee"
    ) in notices
    assert "->" not in notices  # nothing is scaled
    assert "Not graded, on the roster but not in the results (1): ida (Ida)" in notices


@pytest.mark.parametrize("bad", ["", "abc", "12a", "-5"])
def test_canvas_assignment_id_must_be_a_number(bad: str) -> None:
    with pytest.raises(UsageError, match="not a Canvas assignment id"):
        assignment_column("Title", bad)


def test_nothing_to_export_is_refused(tmp_path: Path) -> None:
    roster = parse_roster("student,canvas_id\nzed,1\n")
    exported = export_canvas(RUN, roster, "1")
    with pytest.raises(UsageError, match="Nothing to export to Canvas"):
        write_export(exported, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


# ---------------------------------------------------------------- Moodle


def test_moodle_rows_and_feedback() -> None:
    exported = export_moodle(RUN, ROSTER, "email")
    rows = _rows(exported.text)
    MOODLE_SCHEMA.validate(rows)
    assert rows[0] == ["Email address", "Regularization, week 3", "Feedback"]
    by_id = {row[0]: row for row in rows[1:]}
    # Emails as the roster spells them: Moodle matches them case-sensitively.
    assert list(by_id) == [
        "ann@uni.example",
        "Ben@Uni.example",
        "eve@uni.example",
        "fay@uni.example",
    ]
    assert [row[1] for row in rows[1:]] == ["6", "2", "0", "0"]
    assert exported.held_back == ("cat", "dee")
    assert by_id["ann@uni.example"][2] == (
        "Score: 6 / 6.\nEvery check passed.\n"
        "1 hidden check is not shown; its points are included in the score."
    )
    ben = by_id["Ben@Uni.example"][2]
    assert ben.startswith("Score: 2 / 6.\nFailed 1 check:\n- test_b works. (timed out) [2 points]")
    assert "test_a" not in ben
    assert by_id["eve@uni.example"][2] == (
        "Score: 0 / 6.\nYour submission could not be read, so no check ran.\n"
        "eve.py is empty (0 bytes)."
    )
    assert by_id["fay@uni.example"][2] == (
        "Score: 0 / 6.\nYour code could not be imported, so every check failed.\n"
        "SyntaxError: expected ':'"
    )


def test_moodle_by_id_number() -> None:
    exported = export_moodle(RUN, ROSTER, "idnumber")
    rows = _rows(exported.text)
    MOODLE_SCHEMA.validate(rows)
    assert rows[0][0] == "ID number"
    assert [row[0] for row in rows[1:]] == ["1001", "1002", "1005", "1006"]
    assert exported.match.missing_identity == (("hal", "id_number"),)
    with pytest.raises(UsageError, match="Unknown Moodle identity 'username'"):
        export_moodle(RUN, ROSTER, "username")


def test_hidden_checks_never_named() -> None:
    texts = [export_moodle(RUN, ROSTER).text, export_lti(RUN, ROSTER).text]
    for text in texts:
        for secret in (HIDDEN_NAME, HIDDEN_DESCRIPTION, HIDDEN_MESSAGE, "secret"):
            assert secret not in text


def test_many_failures_are_cut_short() -> None:
    checks = [_check(f"test_{i:02d}", "failed", 0.0, 1.0) for i in range(14)]
    student = _student("lou", "graded", checks)
    text = feedback_text(student, grade_of(RUN, student))
    assert text.count("\n- ") == 11
    assert text.endswith("- and 4 more checks.")


# ---------------------------------------------------------------- LTI


def test_lti_scores() -> None:
    exported = export_lti(RUN, ROSTER)
    scores = {s["userId"]: s for s in _lti_lines(exported.text)}
    # cat and dee have checks the grader could not run: a line without a score would
    # clear their grade on the platform, a score over fewer checks would be scaled up.
    assert list(scores) == ["lti-ann", "lti-ben", "lti-eve", "lti-fay"]
    assert scores["lti-ann"]["scoreGiven"] == 6 and scores["lti-ann"]["scoreMaximum"] == 6
    assert (scores["lti-ben"]["scoreGiven"], scores["lti-ben"]["scoreMaximum"]) == (2, 6)
    assert scores["lti-eve"]["scoreGiven"] == 0  # invalid: graded, zero
    assert scores["lti-eve"]["gradingProgress"] == "FullyGraded"
    assert all(s["gradingProgress"] == "FullyGraded" for s in scores.values())
    for score in scores.values():
        assert score["timestamp"] == "2026-05-01T12:00:00.000+00:00"
        assert score["activityProgress"] == "Completed"
    assert exported.held_back == ("cat", "dee")
    notices = "\n".join(exported.notices())
    assert "Left out, needs a regrade" in notices and "(2): cat, dee" in notices
    assert "Left out, no lti_user_id in the roster (1): hal" in notices


def test_lti_sends_failed_lines_only_when_asked() -> None:
    exported = export_lti(RUN, ROSTER, include_failed=True)
    scores = {s["userId"]: s for s in _lti_lines(exported.text)}
    for held in ("lti-cat", "lti-dee"):
        failed = scores[held]
        assert failed["gradingProgress"] == "Failed"
        assert "scoreGiven" not in failed and "scoreMaximum" not in failed
        assert "not in your work" in failed["comment"]
    notices = "\n".join(exported.notices())
    assert "Sent as gradingProgress Failed, without a score" in notices


def test_lti_timestamp() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert score_timestamp("", now) == "2026-01-02T03:04:05.678+00:00"
    assert score_timestamp("garbage", now) == "2026-01-02T03:04:05.678+00:00"
    assert score_timestamp("2026-05-01T14:00:00+02:00") == "2026-05-01T12:00:00.000+00:00"
    assert score_timestamp("2026-05-01T12:00:00") == "2026-05-01T12:00:00.000+00:00"


def test_lti_schema_rejects_what_the_spec_forbids() -> None:
    good = {
        "userId": "u",
        "scoreGiven": 1,
        "scoreMaximum": 2,
        "timestamp": "2026-05-01T12:00:00.000+00:00",
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
    }
    LTI_SCHEMA.validate(good)
    for bad in (
        {**good, "timestamp": "2026-05-01T12:00:00+00:00"},  # no sub-second precision
        {k: v for k, v in good.items() if k != "scoreMaximum"},
        {**good, "scoreGiven": -1},
        {**good, "gradingProgress": "Failed"},  # a failed grading carries no score
        {**good, "activityProgress": "Done"},
    ):
        assert not LTI_SCHEMA.is_valid(bad), bad


# ---------------------------------------------------------------- reading results


def test_load_results_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"holds no results\.json"):
        load_results(tmp_path)
    with pytest.raises(UsageError, match="does not exist"):
        load_results(tmp_path / "nope.json")
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(UsageError, match=r"is not a grader results\.json"):
        load_results(tmp_path)
    (tmp_path / "results.json").write_text('{"students": []}')
    with pytest.raises(UsageError, match="KeyError"):
        load_results(tmp_path / "results.json")
    (tmp_path / "results.json").write_text(json.dumps(RUN.to_dict()))
    assert load_results(tmp_path) == load_results(tmp_path / "results.json")


# ---------------------------------------------------------------- end to end


def _grader(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bob (correct), carol (one mistake) and dan (an empty file), graded once."""
    base = tmp_path_factory.mktemp("gradebooks")
    submissions = base / "submissions"
    (submissions / "carol").mkdir(parents=True)
    shutil.copy(EXAMPLES / "bob.py", submissions / "bob.py")
    shutil.copy(EXAMPLES / "carol" / "regularization.py", submissions / "carol")
    (submissions / "dan.py").write_text("")
    out = base / "out"
    proc = _grader(
        "run", submissions, "--out", out, "--workers", "2", "--assignment", "regularization",
        timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (base / "roster.csv").write_text(
        "student,name,canvas_id,sis_user_id,section,email,id_number,lti_user_id\n"
        "bob,Bob Jones,11,S11,A,bob@uni.example,9011,lti-bob\n"
        "carol,Carol Li,12,,A,carol@uni.example,9012,lti-carol\n"
        "dan,Dan Wu,,,B,dan@uni.example,9013,lti-dan\n"
        "zoe,Zoe Ng,14,,B,zoe@uni.example,9014,lti-zoe\n",
        encoding="utf-8",
    )
    return base


def _scores(graded: Path) -> tuple[str, str, str]:
    """The maximum and bob's and carol's scores as results.json has them (bob full
    marks, carol less), formatted as the exports write them."""
    results = json.loads((graded / "out" / "results.json").read_text(encoding="utf-8"))
    by_name = {s["student"]: s for s in results["students"]}
    assert by_name["bob"]["score"] == results["max_score"] > by_name["carol"]["score"] > 0
    assert all(s["status"] != "error" for s in results["students"])
    return tuple(  # type: ignore[return-value]
        format_number(v)
        for v in (results["max_score"], by_name["bob"]["score"], by_name["carol"]["score"])
    )


def test_e2e_canvas(graded: Path) -> None:
    proc = _grader(
        "export", "canvas", graded / "out", "--roster", graded / "roster.csv",
        "--assignment-id", "777",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Wrote" in proc.stdout and "2 of the 3 students for Canvas" in proc.stdout
    assert "no canvas_id, sis_user_id or sis_login_id" in proc.stderr and "dan" in proc.stderr
    assert "not in the results (1): zoe (Zoe Ng)" in proc.stderr
    rows = _rows((graded / "out" / "canvas-grades.csv").read_text(encoding="utf-8"))
    CANVAS_SCHEMA.validate(rows)
    top, bob, carol = _scores(graded)
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
         "Regularization: L1, L2 and L1_L2 in Keras (777)"],
        ["Points Possible", "", "", "", "", top],
        ["Bob Jones", "11", "S11", "", "A", bob],
        ["Carol Li", "12", "", "", "A", carol],
    ]  # fmt: skip


def test_e2e_moodle(graded: Path) -> None:
    target = graded / "moodle.csv"
    proc = _grader(
        "export", "moodle", graded / "out" / "results.json", "--roster", graded / "roster.csv",
        "-o", target,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = _rows(target.read_text(encoding="utf-8"))
    MOODLE_SCHEMA.validate(rows)
    assert rows[0] == ["Email address", "Regularization: L1, L2 and L1_L2 in Keras", "Feedback"]
    top, bob, carol_score = _scores(graded)
    assert [row[:2] for row in rows[1:]] == [
        ["bob@uni.example", bob],
        ["carol@uni.example", carol_score],
        ["dan@uni.example", "0"],
    ]
    assert rows[1][2].startswith(f"Score: {bob} / {top}.\nEvery check passed.")
    carol = rows[2][2].splitlines()
    assert carol[:2] == [f"Score: {carol_score} / {top}.", "Failed 2 checks:"]
    assert carol[2].startswith("- l2_dense(64) returns Dense(64, relu) with an L2(0.01)")
    assert "could not be read" in rows[3][2] and "empty" in rows[3][2]


def test_e2e_lti(graded: Path) -> None:
    target = graded / "scores.jsonl"
    proc = _grader("export", "lti", graded / "out", "--roster", graded / "roster.csv", "-o", target)
    assert proc.returncode == 0, proc.stderr
    scores = _lti_lines(target.read_text(encoding="utf-8"))
    results = json.loads((graded / "out" / "results.json").read_text(encoding="utf-8"))
    stamp = datetime.fromisoformat(results["generated_at"]).isoformat(timespec="milliseconds")
    top, bob, carol = (float(v) for v in _scores(graded))
    assert [(s["userId"], s["scoreGiven"], s["scoreMaximum"]) for s in scores] == [
        ("lti-bob", bob, top),
        ("lti-carol", carol, top),
        ("lti-dan", 0, top),
    ]
    assert {s["timestamp"] for s in scores} == {stamp}
    assert {s["gradingProgress"] for s in scores} == {"FullyGraded"}


def test_e2e_bad_input_is_a_message(graded: Path) -> None:
    bad = graded / "bad-roster.csv"
    bad.write_text("student,canvas id,phone\nbob,11,555\n", encoding="utf-8")
    proc = _grader("export", "canvas", graded / "out", "--roster", bad, "--assignment-id", "777")
    assert proc.returncode == 2
    assert "unknown column 'phone'" in proc.stderr and "Traceback" not in proc.stderr
    proc = _grader("export", "lti", graded / "nowhere", "--roster", graded / "roster.csv")
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
    unrelated = graded / "unrelated.csv"
    unrelated.write_text("student,lti_user_id\nzed,u-zed\n", encoding="utf-8")
    proc = _grader("export", "lti", graded / "out", "--roster", unrelated, "-o", graded / "x")
    assert proc.returncode == 2 and "Nothing to export to LTI" in proc.stderr
    assert not (graded / "x").exists()
    assert re.search(r"not in .*unrelated\.csv \(3\): bob, carol, dan", proc.stderr)
