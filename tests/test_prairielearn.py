"""`grader prairielearn`: PrairieLearn's external grader, end to end and unit by unit.

Three jobs laid out as PrairieLearn lays out /grade are graded once, through the CLI,
for the module, as root as PrairieLearn runs them:

- a correct dropout submission that also attacks at import (writes and replaces
  results/results.json, reads the course's reference, leaves a daemon that rewrites
  results.json after 3 s), at the landlock level (GRADER_ISOLATION=landlock, so it does
  not pick bubblewrap): full marks, every attack refused, no process left, results.json
  the grader's;
- one with one mistake (in a nested folder, losing a visible and a hidden check), at the
  limits level the instructor allowed (--allow-weak-isolation);
- an unreadable one.

A refusal at the limits level costs no grading; the conversion, the size limit and the
job's input rules are tested on hand-built results, without grading.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import write_course_toml
from lms_attack import attack

from grader.assignment import load_assignment
from grader.checks.secret import SECRET_FILE
from grader.lms import prairielearn
from grader.lms.prairielearn import (
    HIDDEN_ROW,
    RESULTS_LIMIT,
    dumps,
    fit,
    grade_job,
    read_data_assignment,
    to_results,
)
from grader.results import CheckResult, StudentResult
from grader.submissions import submission_from_upload

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "dropout"
# mallory's early_stopping_callback ignores `patience` (examples/dropout/README.md).
# Her patience mistake: one visible check and the hidden checks that train with it.
MALLORY_FAILS = {
    "test_early_stopping_patience",
    "test_hidden_early_stopping_other_settings",
    "test_hidden_train_with_dropout_other_run",
}


def _validator() -> jsonschema.Draft202012Validator:
    text = (resources.files("grader") / "schemas" / "prairielearn-results.schema.json").read_text(
        encoding="utf-8"
    )
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


VALIDATOR = _validator()


def valid(results: dict[str, Any]) -> dict[str, Any]:
    """``results`` after checking it as PrairieLearn would receive it: its schema, its
    size, and rows that add up to the score."""
    VALIDATOR.validate(results)
    assert len(dumps(results).encode("utf-8")) <= RESULTS_LIMIT
    for test in results["tests"]:
        assert test["points"] <= test["max_points"]
    if results["gradable"] and results["tests"]:
        total = sum(t["max_points"] for t in results["tests"])
        earned = sum(t["points"] for t in results["tests"])
        assert results["score"] == pytest.approx(earned / total)
    return results


def _job(root: Path, files: dict[str, Path | bytes], data: str | None) -> Path:
    """A grading job's folder as PrairieLearn lays it out."""
    for name, content in files.items():
        target = root / "student" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, target)
        else:
            target.write_bytes(content)
    (root / "tests").mkdir(parents=True)
    (root / "results").mkdir()  # there from the start: a student could aim at it
    if data is not None:
        (root / "data").mkdir()
        (root / "data" / "data.json").write_text(data, encoding="utf-8")
    return root


def _course(root: Path) -> Path:
    """The course's grader folder, as the README lays it out in serverFilesCourse/:
    the dropout assignment, its reference and the course secret its hidden checks draw
    their inputs from, nothing else."""
    course = root / "serverFilesCourse" / "grader"
    shutil.copytree(ROOT / "assignments" / "dropout", course / "assignments" / "dropout")
    (course / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "dropout.py", course / "reference" / "dropout.py")
    (course / SECRET_FILE).write_text("prairielearn-test-course-secret-0123456789\n")
    return write_course_toml(course, "PrairieLearn test course")


def _command(root: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "grader", "prairielearn", "--root", str(root), *options]


def _environment(course: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "GRADER_COURSE": str(course),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_ENABLE_ONEDNN_OPTS": "0",
    }
    for name in ("GRADER_ISOLATION", "GRADER_ALLOW_WEAK_ISOLATION"):  # the test's own
        env.pop(name, None)
    return {**env, **extra}


def _named(marker: str) -> list[int]:
    """The processes named ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == marker:
                found.append(int(entry.name))
        except OSError:  # gone meanwhile
            pass
    return found


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Each job's exit code, job log (stderr) and root, graded once and side by side;
    then, 2 s after the end, the attacked results.json again and the attack's daemons
    still alive.

    Each names its assignment differently: data.json's params.grader_assignment,
    --assignment, or the only one in GRADER_COURSE (its data.json is broken)."""
    base = tmp_path_factory.mktemp("prairielearn")
    # Like PrairieLearn's /: others pass through, so the workers' own user reaches the
    # grader package (pytest's own temporary folders are the owner's alone).
    reachable = Path(tempfile.mkdtemp(prefix="grader-test-prairielearn-"))
    reachable.chmod(0o711)
    marker = f"pl{secrets.token_hex(5)}"
    attacked = reachable / "grade"
    reference = attacked / "serverFilesCourse" / "grader" / "reference" / "dropout.py"
    correct = (EXAMPLES / "alice" / "dropout.py").read_text(encoding="utf-8")
    forged = '{"gradable": true, "score": 1, "message": "forged by the student", "tests": []}'
    hostile = correct + attack(attacked / "results" / "results.json", reference, marker, forged)
    params = json.dumps({"params": {"grader_assignment": "dropout"}, "submitted_answers": {}})
    roots = {
        "correct": _job(attacked, {"dropout.py": hostile.encode("utf-8")}, params),
        # A hand-in unzipped with its folder.
        "mistake": _job(
            base / "mistake", {"handin/dropout.py": EXAMPLES / "mallory" / "dropout.py"}, None
        ),
        "unreadable": _job(base / "unreadable", {"dropout.py": b""}, "{not json"),
    }
    options = {"mistake": ("--assignment", "dropout", "--allow-weak-isolation")}
    levels = {"correct": "landlock", "mistake": "limits"}
    running = {}
    for name, root in roots.items():
        extra = {"GRADER_ISOLATION": levels[name]} if name in levels else {}
        running[name] = subprocess.Popen(
            _command(root, "--timeout", "300", *options.get(name, ())),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_environment(_course(root), **extra),
        )
    done: dict[str, Any] = {}
    try:
        for name, process in running.items():
            _, log = process.communicate(timeout=600)
            done[name] = (process.returncode, log, roots[name])
        first = (attacked / "results" / "results.json").read_text(encoding="utf-8")
        time.sleep(2)  # a daemon that outlived the run rewrites results.json by now
        done["attacked"] = (first, (attacked / "results" / "results.json").read_text())
        done["daemons"] = _named(marker)
        done["reference"] = reference.read_text(encoding="utf-8")
        yield done
    finally:
        for pid in _named(marker):  # the attack's, if it got through
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(reachable, ignore_errors=True)


def _results(job: tuple[int, str, Path]) -> dict[str, Any]:
    code, log, root = job
    assert code == 0, log
    files = os.listdir(root / "results")
    assert files == ["results.json"], files  # written once, no temporary file left
    return valid(json.loads((root / "results" / "results.json").read_text(encoding="utf-8")))


def test_a_correct_submission_scores_one_at_landlock(jobs):
    results = _results(jobs["correct"])
    assert results["gradable"] is True
    assert results["score"] == 1.0
    total = f"{load_assignment('dropout').max_score:g}"
    assert f"{total} / {total} points" in results["message"]
    log = jobs["correct"][1]
    assert "(from " in log and "params.grader_assignment" in log
    # Graded as root at landlock: the level is named, workers ran as a user of their own.
    assert results["message"].endswith("Isolation level: landlock.")
    assert "Isolation: landlock (" in log and "a user of its own" in log


def test_student_code_cannot_touch_results_or_read_the_reference(jobs):
    results = _results(jobs["correct"])
    printed = results["output"]
    # Every attack ran, and was refused; the daemon started.
    for name in ("forge", "replace", "read"):
        assert f"ATTACK {name}: failed (" in printed, name
    assert "ATTACK daemon: done" in printed
    # The reference stayed unread: not a line of it anywhere in the results.
    assert "REFERENCE>" not in printed
    lines = [line for line in jobs["reference"].splitlines() if len(line.strip()) > 30]
    text = json.dumps(results)
    assert lines and not [line for line in lines if line.strip() in text]
    # The daemon died with the grading: results.json is still the grader's, 2 s after
    # the run (the daemon would have rewritten it twice a second), and no such process.
    first, later = jobs["attacked"]
    assert jobs["daemons"] == []
    assert later == first and json.loads(later) == results
    assert "forged" not in later


def test_one_mistake_loses_its_points_and_hidden_checks_stay_hidden(jobs):
    assignment = load_assignment("dropout")
    results = _results(jobs["mistake"])
    lost = sum(c.points for c in assignment.checks if c.name in MALLORY_FAILS)
    assert results["gradable"] is True
    assert results["score"] == pytest.approx(1 - lost / assignment.max_score)
    rows = {t["name"]: t for t in results["tests"]}
    visible = [c for c in assignment.checks if c.visibility == "visible"]
    hidden = [c for c in assignment.checks if c.visibility == "hidden"]
    assert list(rows) == [c.name for c in visible] + [HIDDEN_ROW]
    assert rows["test_early_stopping_patience"]["points"] == 0
    assert rows["test_early_stopping_patience"]["message"]  # says what went wrong
    assert rows[HIDDEN_ROW]["max_points"] == sum(c.points for c in hidden)
    assert rows[HIDDEN_ROW]["points"] == sum(
        c.points for c in hidden if c.name not in MALLORY_FAILS
    )
    text = (jobs["mistake"][2] / "results" / "results.json").read_text(encoding="utf-8")
    for check in hidden:
        assert check.name not in text and check.description not in text
    assert "Submission: handin/dropout.py." in jobs["mistake"][1]  # one folder down
    assert "(from --assignment)" in jobs["mistake"][1]
    # Graded at the limits level because the instructor allowed it, and says so.
    assert results["message"].endswith("Isolation level: limits.")
    assert "Isolation: limits (" in jobs["mistake"][1]


def test_refuses_below_landlock_unless_allowed(tmp_path):
    # Landlock unavailable (simulated: the limits level asked for), nothing allowing it:
    # no student code runs, results.json costs the student nothing and tells the
    # instructor what a student could do and how to fix it.
    root = _job(tmp_path / "grade", {"dropout.py": EXAMPLES / "alice" / "dropout.py"}, None)
    done = subprocess.run(
        _command(root, "--assignment", "dropout"),
        capture_output=True,
        text=True,
        timeout=120,
        env=_environment(_course(root), GRADER_ISOLATION="limits"),
    )
    results = _results((done.returncode, done.stderr, root))
    assert results["gradable"] is False and results["score"] == 0 and results["tests"] == []
    (error,) = results["format_errors"]
    assert "was not graded" in error and "no points and no attempt" in error
    message = results["message"]
    assert message.startswith("For the instructor: Refusing to grade at isolation level 'limits'")
    assert "read the reference solution" in message and "rewrite result files" in message
    assert "bubblewrap" in message and "Landlock" in message
    assert "--allow-weak-isolation" in message and "allow_weak_isolation = true" in message
    assert "Not graded: Refusing" in done.stderr
    assert "Graded:" not in done.stderr


def test_an_unreadable_submission_is_not_gradable(jobs):
    results = _results(jobs["unreadable"])
    assert results["gradable"] is False
    assert results["tests"] == []
    (error,) = results["format_errors"]
    assert error.startswith("dropout.py is empty")
    log = jobs["unreadable"][1]
    assert "data.json is not readable JSON" in log and "(from the only one installed)" in log


def test_running_out_of_time_writes_a_result_that_costs_nothing(tmp_path):
    # --timeout 1 leaves no time at all: the grading process is killed at once.
    root = _job(tmp_path, {"dropout.py": EXAMPLES / "alice" / "dropout.py"}, None)
    started = time.monotonic()
    done = subprocess.run(
        _command(root, "--assignment", "dropout", "--timeout", "1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert time.monotonic() - started < 60
    results = _results((done.returncode, done.stderr, root))
    assert results["gradable"] is False
    assert "no points and no attempt" in results["format_errors"][0]
    assert "did not finish within 1 s" in results["message"]


# ---------------------------------------------------------------- without grading


def check(name: str, status: str, points: float, **fields: Any) -> CheckResult:
    earned = points if status == "passed" else 0.0
    defaults: dict[str, Any] = {"function": "f", "description": f"What {name} checks."}
    return CheckResult(
        name=name, points=earned, max_points=points, status=status, **{**defaults, **fields}
    )


def student(*checks: CheckResult, status: str = "graded", **fields: Any) -> StudentResult:
    counted = [c for c in checks if c.counted]
    return StudentResult(
        student="student",
        score=sum(c.points for c in counted),
        max_score=sum(c.max_points for c in counted),
        status=status,
        checks=checks,
        **fields,
    )


def test_hidden_checks_count_in_one_row_without_names_or_messages():
    result = student(
        check("test_visible", "passed", 2),
        check("test_secret_a", "failed", 1, visibility="hidden", message="SECRET-A input 7"),
        check("test_secret_b", "passed", 3, visibility="hidden", description="SECRET-B"),
        check("test_secret_c", "error", 5, visibility="hidden", message="SECRET-C crash"),
    )
    results = valid(to_results(result, "Title"))
    assert results["score"] == pytest.approx(5 / 6)
    assert [t["name"] for t in results["tests"]] == ["test_visible", HIDDEN_ROW]
    hidden = results["tests"][1]
    assert (hidden["points"], hidden["max_points"]) == (3, 4)  # the error counts neither way
    assert "could not run 1 of them" in hidden["message"]
    assert "SECRET" not in dumps(results) and "test_secret" not in dumps(results)


def test_grader_errors_count_neither_way_and_all_errors_cost_nothing():
    result = student(
        check("test_ok", "passed", 1),
        check("test_broken", "error", 4, message="KeyError: 'x'"),
        status="error",
        error="The grader failed on some checks; they do not count.",
    )
    results = valid(to_results(result, "Title"))
    assert results["score"] == 1.0
    broken = results["tests"][1]
    assert (broken["points"], broken["max_points"]) == (0, 0)
    assert broken["message"].startswith("The grader could not run this check")
    assert "they do not count" in results["message"]

    nothing = student(check("test_broken", "error", 4), status="error", error="pytest exit 3.")
    results = valid(to_results(nothing, "Title"))
    assert results["gradable"] is False
    assert "no points and no attempt" in results["format_errors"][0]
    assert "pytest exit 3." in results["message"]  # the instructor's clue


def test_an_import_error_is_graded_zero_and_an_invalid_file_is_not_gradable():
    broken = student(
        check("test_a", "failed", 1),
        status="import_error",
        error="SyntaxError: expected ':' (dropout.py, line 12)",
    )
    results = valid(to_results(broken, "Title"))
    assert (results["gradable"], results["score"]) == (True, 0.0)
    assert "line 12" in results["message"]

    invalid = student(check("test_a", "failed", 1), status="invalid", error="It is a zip file.")
    results = valid(to_results(invalid, "Title"))
    assert results["gradable"] is False
    assert results["format_errors"] == ["It is a zip file."]


def test_huge_texts_are_cut_to_fit_under_one_megabyte():
    result = student(
        check("test_small", "failed", 1, message="short and kept"),
        check("test_huge", "failed", 1, message="m" * 3_000_000),
        check("test_wide", "failed", 1, message="é\x00\u2028" * 400_000),  # multi-byte, escaped
        status="graded",
        output="print\n" * 1_000_000 + "\udcff",  # a lone surrogate from undecodable output
    )
    results = fit(to_results(result, "Title"))
    valid(results)
    text = dumps(results)
    assert 900_000 < len(text.encode("utf-8")) <= RESULTS_LIMIT  # cut, not emptied
    rows = {t["name"]: t for t in results["tests"]}
    assert rows["test_small"]["message"] == "short and kept"
    for cut in (rows["test_huge"]["message"], rows["test_wide"]["message"], results["output"]):
        assert "to keep the results under PrairieLearn's 1 MB limit" in cut
    assert "Some texts were cut" in results["message"]
    small = to_results(student(check("test_small", "passed", 1)), "Title")
    assert fit(small) == small  # what fits is left alone


def test_a_grading_process_killed_for_memory_costs_nothing(tmp_path, monkeypatch):
    root = _job(tmp_path, {"dropout.py": b"x = 1\n"}, None)
    suicide = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    monkeypatch.setattr(prairielearn, "_child_command", lambda job: suicide)
    lines: list[str] = []
    assert prairielearn.grade_job(root, "dropout", log=lines.append) == 0
    results = valid(json.loads((root / "results" / "results.json").read_text(encoding="utf-8")))
    assert results["gradable"] is False
    assert "killed (most likely for using more memory" in results["message"]


def test_grade_job_writes_a_failure_when_the_question_names_no_assignment(tmp_path):
    root = _job(tmp_path, {"dropout.py": b"x = 1\n"}, json.dumps({"params": {}}))
    lines: list[str] = []
    assert grade_job(root, None, log=lines.append) == 0
    results = valid(json.loads((root / "results" / "results.json").read_text(encoding="utf-8")))
    assert results["gradable"] is False
    assert "--assignment NAME" in results["message"]
    assert grade_job(tmp_path / "missing", "dropout", log=lines.append) == 2


def test_data_json_names_the_assignment_and_bad_files_are_tolerated(tmp_path):
    path = tmp_path / "data.json"
    assert read_data_assignment(path) == (None, None)
    path.write_text('{"params": {"grader_assignment": "dropout"}}', encoding="utf-8")
    assert read_data_assignment(path) == ("dropout", None)
    for text in ("[1, 2", '{"params": {"grader_assignment": 3}}'):
        path.write_text(text, encoding="utf-8")
        name, warning = read_data_assignment(path)
        assert name is None and warning and "ignored" in warning


def test_the_student_folder_is_an_upload_with_gradescopes_advice(tmp_path):
    """student/ is found as every upload is (the rule itself is tested in
    test_submissions.py): a misnamed file, at any depth, is not gradable and the student
    reads the rename hint; a missing student/ is an empty submission. Nothing is graded."""
    root = _job(tmp_path / "misnamed", {"handin/Dropout.py": b"x = 1\n"}, None)
    lines: list[str] = []
    assert grade_job(root, "dropout", log=lines.append) == 0
    results = valid(json.loads((root / "results" / "results.json").read_text(encoding="utf-8")))
    problem = submission_from_upload(root / "student", "dropout", "student").problem
    assert problem is not None and "found handin/Dropout.py: rename it to dropout.py" in problem
    assert results["gradable"] is False and results["format_errors"] == [problem]
    root = _job(tmp_path / "missing", {}, None)
    assert grade_job(root, "dropout", log=lines.append) == 0
    results = valid(json.loads((root / "results" / "results.json").read_text(encoding="utf-8")))
    assert results["gradable"] is False
    assert results["format_errors"] == [
        "Your submission is empty; expected dropout.py (or dropout.ipynb) in it, found nothing."
    ]
