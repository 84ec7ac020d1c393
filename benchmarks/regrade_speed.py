"""What a regrade after one changed check file costs, against a full regrade, in one run.

    python benchmarks/regrade_speed.py [--workers 2] [--file test_penalty.py]

copies this course (the regularization assignment, its reference and secret) into a
temporary folder, grades the example class (``examples/regularization``) into OUT, then
changes one check file (a hint's wording: every check of that file has new inputs, none
of the others has) and grades the class twice more, one after the other:

- ``regrade``: into OUT again, so only the changed file's checks run for each student
  whose submission did not change, the other verdicts carried over from the gradebook;
- ``full``: into a fresh folder, so every check runs (what a regrade cost before).

Both use the reference's answers cache as it is after the first run. It prints each
run's wall time, the ratio regrade/full, how many check verdicts each ran, and whether
both gave every student the same results (timestamps and durations aside).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "regularization"


def course_copy(folder: Path) -> Path:
    course = folder / "course"
    shutil.copytree(
        ROOT / "assignments" / "regularization", course / "assignments" / "regularization"
    )
    (course / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "regularization.py", course / "reference")
    shutil.copy(ROOT / "course-secret", course / "course-secret")
    (course / "course.toml").write_text('[course]\ntitle = "Regrade benchmark"\n')
    return course


def grade(course: Path, out: Path, book: Path, workers: int) -> float:
    env = {**os.environ, "GRADER_GRADEBOOK": str(book)}
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "--course",
            str(course),
            "run",
            str(EXAMPLES),
            "--out",
            str(out),
            "--workers",
            str(workers),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"grader run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def stable(out: Path) -> dict:
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for key in ("generated_at", "duration", "workers"):
        data.pop(key)
    for student in data["students"]:
        student.pop("duration")
    return data


def ran(book: Path, run: int) -> tuple[int, int]:
    """(verdicts computed in run ``run``, verdicts it carried over)."""
    with sqlite3.connect(book) as db:
        rows = db.execute(
            "SELECT c.carried_from FROM check_results c "
            "JOIN run_students r ON r.result_id = c.result_id WHERE r.run_id = ?",
            (run,),
        ).fetchall()
    carried = sum(1 for (source,) in rows if source is not None)
    return len(rows) - carried, carried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--file", default="test_penalty.py", help="the check file to change")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="regrade-"))
    try:
        course = course_copy(folder)
        book, out, full = folder / "gradebook.db", folder / "out", folder / "full"
        first = grade(course, out, book, args.workers)
        changed = course / "assignments" / "regularization" / args.file
        text = changed.read_text()
        edited = text.replace('hint="', 'hint="Hint: ', 1)
        if edited == text:
            edited = text + "\n# edited by the benchmark\n"
        changed.write_text(edited)
        regrade = grade(course, out, book, args.workers)
        everything = grade(course, full, book, args.workers)
        same = stable(out) == stable(full)
        regrade_ran, regrade_kept = ran(book, 2)
        full_ran, _ = ran(book, 3)
        students = len(stable(out)["students"])
        print(f"class: {students} submissions of {EXAMPLES}, {args.workers} workers")
        print(f"first run (cold):        {first:7.1f} s")
        print(
            f"regrade, {args.file} changed: {regrade:7.1f} s "
            f"({regrade_ran} verdicts run, {regrade_kept} carried over)"
        )
        print(f"full regrade:            {everything:7.1f} s ({full_ran} verdicts run)")
        print(f"ratio regrade/full: {regrade / everything:.2f}")
        print(f"same results: {'yes' if same else 'NO'}")
        if not same:
            sys.exit(1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
