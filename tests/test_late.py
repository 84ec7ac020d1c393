"""The late policy at its boundaries, submission times, and a final grade made of the
checks' score, the instructor's adjustments and the late penalty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from grader.errors import AssignmentError, UsageError
from grader.gradebook.book import Adjustment
from grader.gradebook.final import final_result, grade_notes, needs_review
from grader.late import LatePolicy, read_submission_times
from grader.results import CheckResult, StudentResult

DUE = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)


def policy(**table) -> LatePolicy:
    return LatePolicy.from_table({"due": DUE, "penalty_per_day": 10, **table}, "assignment.toml")


@pytest.mark.parametrize(
    ("after", "units", "fraction", "beyond"),
    [
        (timedelta(seconds=-1), 0, 0.0, False),
        (timedelta(0), 0, 0.0, False),  # at the due time: on time
        (timedelta(minutes=15), 0, 0.0, False),  # the last second of grace
        (timedelta(minutes=15, seconds=1), 1, 0.1, False),  # counted from due, not grace
        (timedelta(days=1), 1, 0.1, False),
        (timedelta(days=1, seconds=1), 2, 0.2, False),  # each day begun counts
        (timedelta(days=3), 3, 0.3, False),  # at the maximum: still accepted
        (timedelta(days=3, seconds=1), 4, 1.0, True),  # past it: no points
    ],
)
def test_lateness_at_the_boundaries(after, units, fraction, beyond):
    late = policy(grace_minutes=15, max_days_late=3).assess(DUE + after)
    assert (late.units, late.beyond_maximum) == (units, beyond)
    assert late.penalty_fraction == pytest.approx(fraction)


def test_per_hour_and_a_penalty_never_past_everything():
    hourly = policy(penalty_per_day=None, penalty_per_hour=40)
    assert hourly.assess(DUE + timedelta(minutes=61)).units == 2
    assert hourly.assess(DUE + timedelta(hours=5)).penalty_fraction == 1.0


def test_a_time_in_another_zone_is_the_same_instant():
    paris = datetime(2026, 12, 2, 0, 59, tzinfo=UTC).astimezone(
        datetime.now(UTC).astimezone().tzinfo
    )
    assert policy().assess(paris).units == 1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"due": datetime(2026, 12, 1, 23, 59)}, "no UTC offset"),
        ({"due": "tomorrow"}, "not a date and time"),
        ({"penalty_per_hour": 5}, "exactly one of"),
        ({"penalty_per_day": 150}, "between 0 and 100"),
        ({"penalty_per_day": "10%"}, "must be a number"),
        ({"grace_minutes": -1}, "must not be negative"),
        ({"max_days_late": 1, "max_hours_late": 2}, "not both"),
        ({"max_hours_late": 0.1, "grace_minutes": 30}, "shorter than the grace"),
        ({"dues": 1}, "unknown keys dues"),
    ],
)
def test_a_wrong_policy_says_what_is_wrong(table, message):
    with pytest.raises(AssignmentError, match=message):
        LatePolicy.from_table({"due": DUE, "penalty_per_day": 10, **table}, "a.toml")


def test_submission_times_from_a_csv(tmp_path):
    path = tmp_path / "times.csv"
    path.write_text(
        "student,submitted_at\nada,2026-12-02T10:00:00+01:00\nbob,2026-12-01T22:00:00Z\n\n"
    )
    times = read_submission_times(path)
    assert times == {
        "ada": datetime(2026, 12, 2, 9, tzinfo=UTC),
        "bob": datetime(2026, 12, 1, 22, tzinfo=UTC),
    }
    for text, message in [
        ("ada,2026-12-02T10:00:00\n", "no UTC offset"),
        ("ada,yesterday\n", "not an ISO 8601"),
        ("ada\n", "expected student,submitted_at"),
        ("ada,2026-12-02T10:00:00Z\nada,2026-12-02T11:00:00Z\n", "listed twice"),
    ]:
        path.write_text(text)
        with pytest.raises(UsageError, match=message):
            read_submission_times(path)


def check(name: str, points: float, status: str = "passed", top: float = 2.0) -> CheckResult:
    return CheckResult(
        name=name,
        function="penalty",
        description=name,
        points=points,
        max_points=top,
        status=status,  # type: ignore[arg-type]
    )


RAW = StudentResult(
    student="ada",
    score=2.0,
    max_score=4.0,
    status="graded",
    checks=(check("a", 2.0), check("b", 0.0, "failed")),
)


def adjustment(check_name: str | None, points: float, seen_status=None, seen_score=None):
    return Adjustment(
        1, "r", "ada", check_name, points, "why", "teacher", "t", seen_status, seen_score
    )


def test_nothing_to_apply_leaves_the_result_as_graded():
    assert final_result(RAW, 4.0) is RAW
    on_time = (DUE, "csv")
    assert final_result(RAW, 4.0, policy=policy(), submitted=on_time) is RAW


def test_a_check_adjustment_sets_its_points_and_flags_a_changed_verdict():
    final = final_result(RAW, 4.0, [adjustment("b", 1.5, seen_status="failed")])
    assert (final.score, final.raw_score, final.max_score) == (3.5, 2.0, 4.0)
    b = final.checks[1]
    assert (b.points, b.status, b.adjustment["graded_points"]) == (1.5, "failed", 0.0)
    assert not needs_review(final)
    # The check passes now: the adjustment was made on another verdict.
    passed = StudentResult.from_dict(
        {**RAW.to_dict(), "checks": [check("a", 2).to_dict(), check("b", 2).to_dict()]}
    )
    regraded = final_result(passed, 4.0, [adjustment("b", 1.5, seen_status="failed")])
    assert regraded.checks[1].adjustment["review"] is True
    assert needs_review(regraded) == ["b: adjusted when it was failed, now passed"]


def test_an_adjusted_grader_error_counts():
    raw = StudentResult.from_dict(
        {
            **RAW.to_dict(),
            "max_score": 2.0,
            "checks": [check("a", 2).to_dict(), check("b", 0, "error").to_dict()],
        }
    )
    final = final_result(raw, 4.0, [adjustment("b", 2.0, seen_status="error")])
    assert (final.score, final.max_score) == (4.0, 4.0)


def test_a_total_adjustment_stays_within_the_points():
    assert final_result(RAW, 4.0, [adjustment(None, -5, seen_score=2.0)]).score == 0
    assert final_result(RAW, 4.0, [adjustment(None, 9, seen_score=2.0)]).score == 4.0
    bonus = final_result(RAW, 4.0, [adjustment(None, 1, seen_score=2.0)])
    assert bonus.score == 3.0 and not needs_review(bonus)
    assert final_result(RAW, 4.0, [adjustment(None, 1, seen_score=1.0)]).adjustment["review"]


def test_the_late_penalty_comes_off_the_adjusted_score_and_is_shown():
    two_days = (DUE + timedelta(days=1, hours=1), "times.csv")
    final = final_result(
        RAW, 4.0, [adjustment(None, 1, seen_score=2.0)], policy=policy(), submitted=two_days
    )
    assert final.score == pytest.approx(3.0 - 0.8)  # 2 days x 10% of 4 points
    assert final.raw_score == 2.0
    assert final.late["units_late"] == 2 and final.late["source"] == "times.csv"
    notes = grade_notes(final)
    assert any("2 days late" in n and "0.8 points" in n for n in notes), notes
    too_late = (DUE + timedelta(days=4), "times.csv")
    gone = final_result(RAW, 4.0, policy=policy(max_days_late=3), submitted=too_late)
    assert gone.score == 0 and gone.late["beyond_maximum"]
    # The result's plain data reads back the same (results.json, the gradebook).
    assert StudentResult.from_dict(final.to_dict()) == final


def test_the_shipped_assignments_have_no_late_policy_and_their_results_no_new_keys():
    data = RAW.to_dict()
    assert not {"raw_score", "adjustment", "late"} & set(data)
    assert "adjustment" not in data["checks"][0]


def test_a_policy_is_read_from_assignment_toml(tmp_path):
    from grader.assignment import load_assignment

    root = Path(__file__).resolve().parents[1]
    course = tmp_path / "course"
    (course / "assignments").mkdir(parents=True)
    (course / "reference").symlink_to(root / "reference")
    import shutil

    shutil.copytree(
        root / "assignments" / "regularization", course / "assignments" / "regularization"
    )
    (course / "course.toml").write_text("[course]\n")
    toml = course / "assignments" / "regularization" / "assignment.toml"
    toml.write_text(
        toml.read_text() + "\n[late]\ndue = 2026-12-01T23:59:00Z\npenalty_per_hour = 2\n"
    )
    late = load_assignment("regularization", course).late
    assert late is not None and (late.per, late.penalty_percent, late.due) == ("hour", 2.0, DUE)
    toml.write_text(toml.read_text() + "grace = 5\n")
    with pytest.raises(AssignmentError, match="unknown keys grace"):
        load_assignment("regularization", course)


def test_a_final_result_fits_the_results_schema():
    import json

    import jsonschema

    from grader.results import RunResult

    root = Path(__file__).resolve().parents[1]
    schema = json.loads((root / "grader" / "schemas" / "results.schema.json").read_text())
    final = final_result(
        RAW,
        4.0,
        [adjustment("b", 1, seen_status="failed"), adjustment(None, 1, seen_score=2.0)],
        policy=policy(max_days_late=3),
        submitted=(DUE + timedelta(hours=2), "times.csv"),
    )
    run = RunResult("r", "R", 4.0, ("penalty",), (final,), "0.1.0")
    jsonschema.validate(run.to_dict(), schema)
    assert {"raw_score", "adjustment", "late"} <= set(run.to_dict()["students"][0])


def test_gradescope_submission_times(tmp_path):
    from grader.lms.gradescope import read_submission_time

    meta = tmp_path / "submission_metadata.json"
    meta.write_text('{"created_at": "2026-12-02T10:00:00.123456-08:00", "users": []}')
    when, note = read_submission_time(meta)
    assert note is None and when == datetime(2026, 12, 2, 18, 0, 0, 123456, tzinfo=UTC)
    for text in ('{"users": []}', '{"created_at": "2026-12-02T10:00:00"}', "not json"):
        meta.write_text(text)
        when, note = read_submission_time(meta)
        assert when is None and "no late penalty" in (note or "")


def test_a_gradescope_extension_moves_the_due_date(tmp_path):
    from grader.lms.gradescope import read_extension

    meta = tmp_path / "submission_metadata.json"
    meta.write_text(
        '{"users": [{"name": "a", "assignment": {"due_date": "2026-12-03T23:59:00Z"}},'
        ' {"name": "b"}, {"assignment": {"due_date": "nonsense"}}]}'
    )
    assert read_extension(meta) == datetime(2026, 12, 3, 23, 59, tzinfo=UTC)
    meta.write_text('{"users": [{"name": "a"}]}')
    assert read_extension(meta) is None
    meta.write_text("[]")
    assert read_extension(meta) is None
