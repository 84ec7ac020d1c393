"""`grader run` resumes: an earlier (even killed) run's results for unchanged submissions,
as the gradebook recorded them, are kept, and the final outputs are those of an
uninterrupted run.

One uninterrupted run of a small class is the baseline; each test copies its output
folder and its gradebook (as if the run had written there) and proves, through the real
CLI, what a second run grades again and what not. A student file that is not rewritten
keeps its inode and mtime: that is how "not graded again" is told apart from "graded
again to the same result".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import write_course_toml

from grader.assignment import load_assignment
from grader.engine.runner import RunOptions, grading_key, plan_run
from grader.sandbox.isolation import Isolation, detect
from grader.submissions import discover

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "regularization"
ASSIGNMENT = ("--assignment", "regularization")
STUDENTS = ["alice", "broken", "frank", "nina"]
RESUMING = re.compile(r"Resuming: (\d+) already graded, (\d+) to grade")


def make_class(path: Path) -> Path:
    path.mkdir()
    shutil.copytree(EXAMPLES / "alice", path / "alice")
    shutil.copy(EXAMPLES / "frank.py", path / "frank.py")
    (path / "broken.py").write_text("import keras\n\n\ndef l2_dense(units:\n    pass\n")
    (path / "nina").mkdir()  # misspelled: an invalid submission, keyed on its problem
    (path / "nina" / "regularisation.py").write_text("x = 1\n")
    return path


def gradebook_of(out: Path) -> Path:
    """Each test's gradebook: beside its output folder."""
    return out.parent / "gradebook.db"


def run_grader(
    submissions: Path, out: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**(env or os.environ), "GRADER_GRADEBOOK": str(gradebook_of(out))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "run",
            str(submissions),
            "--out",
            str(out),
            *ASSIGNMENT,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def resuming(proc: subprocess.CompletedProcess[str]) -> tuple[int, int] | None:
    """(already graded, to grade) as the CLI printed it; None if it resumed nothing."""
    match = RESUMING.search(proc.stderr)
    return None if match is None else (int(match[1]), int(match[2]))


def stamps(out: Path) -> dict[str, tuple[int, int]]:
    """Each student file's (inode, mtime): both change whenever the file is rewritten."""
    return {
        p.stem: (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted((out / "students").glob("*.json"))
    }


def rewritten(before: dict[str, tuple[int, int]], out: Path) -> set[str]:
    after = stamps(out)
    return {name for name, stamp in after.items() if before.get(name) != stamp}


def stable_results(out: Path) -> dict:
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for key in ("generated_at", "duration", "workers"):
        data.pop(key)
    for student in data["students"]:
        student.pop("duration")
    return data


def outputs(out: Path) -> dict:
    """What must not depend on whether the run was interrupted."""
    stamp = re.compile(r'<time datetime="[^"]*">[^<]*</time>')
    return {
        "results.json": stable_results(out),
        "grades.csv": (out / "grades.csv").read_text(encoding="utf-8"),
        "feedback": {
            p.name: stamp.sub("", p.read_text(encoding="utf-8"))
            for p in sorted((out / "feedback").glob("*.html"))
        },
    }


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One uninterrupted run: (class folder, output folder). Tests copy, never change it."""
    base = tmp_path_factory.mktemp("baseline")
    klass = make_class(base / "class")
    out = base / "out"
    proc = run_grader(klass, out, "--workers", "2")
    assert resuming(proc) is None
    statuses = {s["student"]: s["status"] for s in stable_results(out)["students"]}
    assert statuses == {
        "alice": "graded",
        "broken": "import_error",
        "frank": "graded",
        "nina": "invalid",
    }
    return klass, out


def copy_of(baseline: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """The baseline's class, output folder and gradebook, as if its run had been here."""
    klass, out = baseline
    shutil.copytree(klass, tmp_path / "class")
    shutil.copytree(out, tmp_path / "out")
    shutil.copy(gradebook_of(out), gradebook_of(tmp_path / "out"))
    with sqlite3.connect(gradebook_of(tmp_path / "out")) as db:
        db.execute("UPDATE runs SET out_dir = ?", (str((tmp_path / "out").resolve()),))
    return tmp_path / "class", tmp_path / "out"


def counts(out: Path) -> tuple[int, int]:
    """(runs, distinct results) in the gradebook."""
    with sqlite3.connect(gradebook_of(out)) as db:
        return (
            db.execute("SELECT count(*) FROM runs").fetchone()[0],
            db.execute("SELECT count(*) FROM results").fetchone()[0],
        )


def test_a_second_run_grades_nothing(baseline, tmp_path):
    klass, out = copy_of(baseline, tmp_path)
    before = stamps(out)
    assert sorted(before) == STUDENTS
    runs, results = counts(out)
    proc = run_grader(klass, out, "--workers", "2")
    assert resuming(proc) == (4, 0)
    assert rewritten(before, out) == set()
    assert outputs(out) == outputs(baseline[1])
    # The run is recorded, pointing at the results the gradebook has: no copy.
    assert counts(out) == (runs + 1, results)


def test_a_changed_submission_alone_is_graded_again(baseline, tmp_path):
    klass, out = copy_of(baseline, tmp_path)
    before = stamps(out)
    (klass / "broken.py").write_text("import keras\n\n\ndef l1_dense(units\n")
    (klass / "nina" / "notes.txt").write_text("where does it go?\n")  # a new problem
    proc = run_grader(klass, out, "--workers", "2")
    assert resuming(proc) == (2, 2)
    assert rewritten(before, out) == {"broken", "nina"}
    new, old = outputs(out), outputs(baseline[1])
    students = {s["student"]: s for s in new["results.json"]["students"]}
    old_students = {s["student"]: s for s in old["results.json"]["students"]}
    for name in ("alice", "frank"):
        assert students[name] == old_students[name]
    assert students["broken"]["status"] == "import_error"
    assert "never closed" in students["broken"]["error"]
    assert students["broken"]["fingerprint"] != old_students["broken"]["fingerprint"]
    assert "notes.txt" in students["nina"]["error"]
    assert "notes.txt" not in old_students["nina"]["error"]


def test_force_grades_everyone_again(baseline, tmp_path):
    # A class of the two quick students, so that grading everyone again is cheap.
    klass, out = copy_of(baseline, tmp_path)
    shutil.rmtree(klass / "alice")
    (klass / "frank.py").unlink()
    before = stamps(out)
    proc = run_grader(klass, out, "--workers", "2", "--force")
    assert resuming(proc) is None
    assert rewritten(before, out) == {"broken", "nina"}
    old = {s["student"]: s for s in stable_results(baseline[1])["students"]}
    assert stable_results(out)["students"] == [old["broken"], old["nina"]]


def test_students_no_longer_submitted_are_left_out(baseline, tmp_path):
    klass, out = copy_of(baseline, tmp_path)
    shutil.rmtree(klass / "nina")
    before = stamps(out)
    proc = run_grader(klass, out, "--workers", "2")
    assert resuming(proc) == (3, 0)
    assert rewritten(before, out) == set()
    results = stable_results(out)
    assert [s["student"] for s in results["students"]] == ["alice", "broken", "frank"]
    grades = (out / "grades.csv").read_text(encoding="utf-8")
    assert "nina" not in grades and "frank" in grades
    assert (out / "students" / "nina.json").is_file()  # kept, nothing is lost


def test_a_damaged_student_file_is_written_again_from_the_gradebook(baseline, tmp_path):
    klass, out = copy_of(baseline, tmp_path)
    target = out / "students" / "broken.json"
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    (out / "students" / "frank.json").unlink()
    before = stamps(out)
    proc = run_grader(klass, out, "--workers", "2")
    assert resuming(proc) == (4, 0)  # the gradebook holds the results, not the files
    assert rewritten(before, out) == {"broken", "frank"}
    assert outputs(out) == outputs(baseline[1])


def processes_mentioning(marker: str) -> list[str]:
    """Live processes whose command line or environment mentions ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline + environ:
            command = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {command}")
    return found


def test_a_run_killed_with_sigkill_resumes(baseline, tmp_path):
    klass = make_class(tmp_path / "class")
    out = tmp_path / "out"
    # Every process of the run (the CLI, its grading processes, their workers, whose
    # scratch folders live in TMPDIR) mentions tmp_path: that is how leftovers are found.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "GRADER_GRADEBOOK": str(gradebook_of(out))}
    command = [sys.executable, "-m", "grader", "run", str(klass), "--out", str(out), *ASSIGNMENT]
    proc = subprocess.Popen(
        [*command, "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not list((out / "students").glob("*.json")):
            assert proc.poll() is None, "the run ended before any student was graded"
            assert time.monotonic() < deadline, "no student was graded in time"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (out / "results.json").exists()  # it really was interrupted
    done = stamps(out)
    assert 1 <= len(done) < len(STUDENTS)

    deadline = time.monotonic() + 30
    while (left := processes_mentioning(str(tmp_path))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, left

    resumed = run_grader(klass, out, "--workers", "2", env=env)
    assert resuming(resumed) == (len(done), len(STUDENTS) - len(done))
    assert rewritten(done, out) == set(STUDENTS) - set(done)
    assert outputs(out) == outputs(baseline[1])


# ---------------------------------------------------------------- the plan, in process


def plan_for(klass: Path, out: Path, **options):
    assignment = load_assignment("regularization")
    found = discover(klass, assignment.module)
    run_options = RunOptions(out_dir=out, isolation=Isolation(detect()), **options)
    return plan_run(assignment, list(found.submissions), run_options)


def test_the_plan_trusts_only_what_it_can(baseline, tmp_path):
    klass, out = copy_of(baseline, tmp_path)
    book = str(gradebook_of(out))
    assert sorted(plan_for(klass, out, gradebook=book).done) == STUDENTS

    # The grader failed on broken then: graded again.
    with sqlite3.connect(book) as db:
        db.execute("UPDATE results SET status = 'error' WHERE student = 'broken'")
        db.execute(
            "UPDATE results SET body = json_set(body, '$.status', 'error') WHERE student = 'broken'"
        )
    plan = plan_for(klass, out, gradebook=book)
    assert [s.student for s in plan.todo] == ["broken"]
    assert sorted(plan.done) == ["alice", "frank", "nina"]

    # Other limits: another grading, everyone again. So with --force.
    limits = replace(load_assignment("regularization").limits, call_timeout=7)
    assert len(plan_for(klass, out, gradebook=book, limits=limits).todo) == 4
    assert len(plan_for(klass, out, gradebook=book, force=True).todo) == 4

    # Another output folder: no run wrote there, nothing is kept.
    assert len(plan_for(klass, tmp_path / "elsewhere", gradebook=book).todo) == 4

    # A result the gradebook cannot read is graded again, never a crash.
    with sqlite3.connect(book) as db:
        db.execute("UPDATE results SET body = '{\"student\": ' WHERE student = 'alice'")
    assert [s.student for s in plan_for(klass, out, gradebook=book).todo] == ["alice", "broken"]


def test_the_grading_key_follows_checks_reference_and_toml(tmp_path):
    shutil.copytree(ROOT / "assignments" / "regularization", tmp_path / "assignments" / "r")
    write_course_toml(tmp_path)
    (tmp_path / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "regularization.py", tmp_path / "reference" / "r.py")

    def key() -> str:
        assignment = load_assignment("r", tmp_path)
        return grading_key(assignment, assignment.limits, "limits")

    first = key()
    assert key() == first
    assignment = load_assignment("r", tmp_path)
    assert grading_key(assignment, assignment.limits, "bubblewrap") != first
    for path in (
        tmp_path / "assignments" / "r" / "test_penalty.py",
        tmp_path / "reference" / "r.py",
    ):
        before = key()
        path.write_text(path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
        assert key() != before, path
    # The toml by what it says: a comment is no change, a limit is.
    toml = tmp_path / "assignments" / "r" / "assignment.toml"
    before = key()
    toml.write_text(toml.read_text(encoding="utf-8") + "\n# a note\n", encoding="utf-8")
    assert key() == before
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("output_bytes = 20000", "output_bytes = 1234"),
        encoding="utf-8",
    )
    assert key() != before
    # The late policy changes no verdict: no one is graded again for it.
    toml = tmp_path / "assignments" / "r" / "assignment.toml"
    before = key()
    toml.write_text(
        toml.read_text(encoding="utf-8")
        + "\n[late]\ndue = 2026-12-01T23:59:00+01:00\npenalty_per_day = 10\n",
        encoding="utf-8",
    )
    assert key() == before
    # The course secret is: hidden checks draw their inputs from it.
    (tmp_path / "course-secret").write_text("a" * 64 + "\n")
    assert key() != before
    stub = tmp_path / "assignments" / "r" / "regularization.py"
    before = key()
    stub.write_text(stub.read_text(encoding="utf-8") + "\n# the stub is not grading\n")
    assert key() == before
