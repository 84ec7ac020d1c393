"""The gradebook through the real CLI: three runs of a class (a changed submission, then a
changed check), `grader history`, and adjustments that survive every regrade, are
flagged when their verdict changes, and reach the pages and every export; a regrade
after a changed check file that re-runs only that file's checks and equals a full one.

A course of its own (the regularization assignment copied, so a check file can change)
and a gradebook of its own; one student, frank, who fails the regularized-loss checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_resume import stable_results

from grader.lms.canvas import export_canvas
from grader.lms.gradebook import load_results
from grader.lms.lti import export_lti
from grader.lms.moodle import export_moodle
from grader.lms.roster import parse_roster

ROOT = Path(__file__).resolve().parents[1]
CHECK = "test_regularized_loss_value"


def grader(course: Path, book: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRADER_GRADEBOOK": str(book), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "grader", "--course", str(course), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def frank(out: Path) -> dict:
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    (student,) = [s for s in results["students"] if s["student"] == "frank"]
    return student


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(
        ROOT / "assignments" / "regularization", root / "assignments" / "regularization"
    )
    (root / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "regularization.py", root / "reference")
    shutil.copy(ROOT / "course-secret", root / "course-secret")
    (root / "course.toml").write_text('[course]\ntitle = "Gradebook course"\n')
    return root


def test_history_adjustments_and_regrades_across_three_runs(course, tmp_path):
    book = tmp_path / "gradebook.db"
    klass, out = tmp_path / "class", tmp_path / "out"
    klass.mkdir()
    shutil.copy(ROOT / "examples" / "regularization" / "frank.py", klass / "frank.py")
    run = ("run", str(klass), "--out", str(out), "--workers", "1")

    # Run 1: frank loses the regularized-loss checks.
    ok(grader(course, book, *run))
    first = frank(out)
    checks = {c["name"]: c for c in first["checks"]}
    assert checks[CHECK]["status"] == "failed"
    top = checks[CHECK]["max_points"]

    # Adjustments: the check's points, and a bonus on the total.
    said = ok(
        grader(
            course,
            book,
            "adjust",
            "frank",
            "--check",
            CHECK,
            "--points",
            str(top),
            "--reason",
            "sign convention explained in class",
        )
    )
    assert "Wrote" in said
    ok(grader(course, book, "adjust", "frank", "--points", "1", "--reason", "tidy code"))
    adjusted = frank(out)
    assert adjusted["raw_score"] == first["score"]
    assert adjusted["score"] == first["score"] + top + 1
    assert {c["name"]: c for c in adjusted["checks"]}[CHECK]["adjustment"]["review"] is False
    page = (out / "feedback" / "frank.html").read_text(encoding="utf-8")
    assert "sign convention explained in class" in page and "tidy code" in page
    assert "tidy code" in (out / "summary.html").read_text(encoding="utf-8")
    score_text = f"frank,{adjusted['score']:g},"
    assert score_text in (out / "grades.csv").read_text(encoding="utf-8")

    # Every export carries the adjusted score.
    results = load_results(out)
    roster = parse_roster(
        "student,canvas_id,email,lti_user_id\nfrank,7,frank@uni.example,lti-7\n", "roster.csv"
    )
    assert f",{adjusted['score']:g}" in export_canvas(results, roster, "12").text
    moodle = export_moodle(results, roster).text
    assert f",{adjusted['score']:g}," in moodle and "tidy code" in moodle
    lti = json.loads(export_lti(results, roster).text.splitlines()[0])
    assert lti["scoreGiven"] == adjusted["score"] and "tidy code" in lti["comment"]

    # Run 2: a new submission that fixes the mistake. The adjustment stays, flagged.
    fixed = (ROOT / "examples" / "regularization" / "alice" / "regularization.py").read_text()
    (klass / "frank.py").write_text(fixed)
    said = ok(grader(course, book, *run))
    assert "Review" in said and CHECK in said
    second = frank(out)
    adjusted_check = {c["name"]: c for c in second["checks"]}[CHECK]
    assert adjusted_check["status"] == "passed" and adjusted_check["adjustment"]["review"]
    assert second["adjustment"]["review"] is True  # made on another score
    assert "Adjustment to review" in (out / "summary.html").read_text(encoding="utf-8")

    # Run 3: a changed check file: everyone is graded again, the adjustments stay.
    check_file = course / "assignments" / "regularization" / "test_penalty.py"
    check_file.write_text(check_file.read_text() + "\n# clarified a message\n")
    ok(grader(course, book, *run))
    third = frank(out)
    assert third["raw_score"] == second["raw_score"]
    assert third["adjustment"]["points"] == 1

    history = ok(grader(course, book, "history", "frank"))
    for said_there in (
        "first graded",
        "new submission",
        f"{CHECK}: failed -> passed",
        "checks changed",
        "adjustment by",
    ):
        assert said_there in history, history
    as_json = grader(course, book, "history", "frank", "--json")
    ok(as_json)
    data = json.loads(as_json.stdout)
    assert [r["run"] for r in data["runs"]] == [1, 2, 3]
    assert [r["score"] for r in data["runs"]] == [
        first["score"],
        second["raw_score"],
        third["raw_score"],
    ]
    assert data["runs"][0]["final_score"] == first["score"]  # adjusted after run 1
    assert data["runs"][2]["final_score"] == third["score"]
    assert "3" in ok(grader(course, book, "history"))

    # Removing an adjustment is kept in the history, and the files follow.
    ok(grader(course, book, "adjust", "frank", "--remove"))
    assert "adjustment" not in frank(out)
    assert "adjustment removed by" in ok(grader(course, book, "history", "frank"))

    # A late policy added afterwards regrades no one; the submission time comes from a CSV.
    toml = course / "assignments" / "regularization" / "assignment.toml"
    toml.write_text(
        toml.read_text() + "\n[late]\ndue = 2026-12-01T23:59:00+01:00\npenalty_per_day = 10\n"
    )
    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at\nfrank,2026-12-03T09:00:00+01:00\n")
    said = ok(grader(course, book, *run, "--submitted-at", str(times)))
    assert "Resuming: 1 already graded, 0 to grade" in " ".join(said.split())
    late = frank(out)
    adjusted_check = {c["name"]: c for c in late["checks"]}[CHECK]["adjustment"]
    before_penalty = late["raw_score"] - adjusted_check["graded_points"] + top  # still in force
    assert late["late"]["units_late"] == 2
    assert late["score"] == pytest.approx(min(before_penalty, 38) - 0.2 * 38)
    assert "2 days late" in (out / "feedback" / "frank.html").read_text(encoding="utf-8")
    # The times are kept: the next run without the CSV applies them again.
    ok(grader(course, book, *run))
    assert frank(out)["score"] == late["score"]


def test_adjust_refuses_what_it_cannot_apply(course, tmp_path):
    from click.testing import CliRunner

    from grader.cli import main
    from grader.gradebook.book import Gradebook
    from grader.results import StudentResult

    book = tmp_path / "gradebook.db"

    def adjust(*args: str):
        return CliRunner().invoke(
            main, ["--course", str(course), "adjust", *args], env={"GRADER_GRADEBOOK": str(book)}
        )

    said = adjust("frank", "--points", "1", "--reason", "x")
    assert said.exit_code == 2 and "No gradebook at" in said.output
    with Gradebook.open(book) as opened:
        run = opened.start_run(
            assignment="regularization",
            grading_key="k",
            isolation="landlock",
            out_dir=tmp_path / "gone",
            forced=False,
            versions={},
        )
        result = StudentResult("frank", 0.0, 38.0, "graded")
        opened.record(run, "regularization", result, submission_key="s", grading_key="k")
    for args, message in [
        (("fank", "--points", "1", "--reason", "x"), "Did you mean frank?"),
        (("frank", "--check", "test_nope", "--points", "1", "--reason", "x"), "no check"),
        (("frank", "--check", CHECK, "--points", "99", "--reason", "x"), "must be between 0"),
        (("frank", "--points", "1"), "Give --points and a --reason"),
        (("frank", "--points", "1", "--reason", "  "), "Give --points and a --reason"),
        (("frank", "--points", "nan", "--reason", "x"), "must be a number"),
        (("frank", "--remove"), "no adjustment of the total to remove"),
        (("frank", "--remove", "--points", "1"), "takes no --points"),
    ]:
        said = adjust(*args)
        assert said.exit_code == 2, (args, said.output)
        assert message in " ".join(said.output.split()), (args, said.output)
    # Its run's folder is gone: the adjustment is kept for the next run's files.
    said = adjust("frank", "--points", "2", "--reason", "extra task")
    assert said.exit_code == 0 and "next `grader run`" in said.output
    with Gradebook.open(book) as opened:
        assert [a.points for a in opened.adjustments("regularization")] == [2.0]


def test_a_changed_check_file_reruns_its_checks_alone_and_equals_a_full_regrade(course, tmp_path):
    import sqlite3

    book = tmp_path / "gradebook.db"
    klass, out, full = tmp_path / "class", tmp_path / "out", tmp_path / "full"
    klass.mkdir()
    examples = ROOT / "examples" / "regularization"
    shutil.copytree(examples / "alice", klass / "alice")
    shutil.copy(examples / "frank.py", klass / "frank.py")
    shutil.copytree(examples / "erin", klass / "erin")
    said = ok(
        grader(course, book, "run", str(klass), "--out", str(out), "--workers", "2", "--similarity")
    )
    # The similarity report comes with the run, linked from the summary only.
    assert "Compared 3 submissions:" in " ".join(said.split())
    assert 'href="similarity.html"' in (out / "summary.html").read_text(encoding="utf-8")
    assert json.loads((out / "similarity.json").read_text())["compared"] == 3

    # One check file changes (a hint every failing student sees): its checks run again.
    changed = course / "assignments" / "regularization" / "test_penalty.py"
    text = changed.read_text()
    assert "return the mean squared error of model(x)" in text
    changed.write_text(text.replace("return the mean squared error", "return the mean sq. error"))
    ok(grader(course, book, "run", str(klass), "--out", str(out), "--workers", "2"))
    # A full grading of the same class, into a folder no run wrote.
    ok(grader(course, book, "run", str(klass), "--out", str(full), "--workers", "2"))
    assert stable_results(out) == stable_results(full)
    frank_checks = {c["name"]: c for c in frank(out)["checks"]}
    assert "mean sq. error" in frank_checks["test_regularized_loss_value"]["message"]

    from grader.assignment import load_assignment

    in_file = {
        c.name for c in load_assignment("regularization", course).checks if c.file == changed.name
    }
    with sqlite3.connect(book) as db:
        rows = db.execute(
            "SELECT c.name, c.carried_from FROM check_results c "
            "JOIN run_students r ON r.result_id = c.result_id WHERE r.run_id = 2"
        ).fetchall()
    assert {name for name, source in rows if source is None} == in_file
    assert {name for name, source in rows if source is not None}
    assert len(rows) == 3 * len(load_assignment("regularization", course).checks)
