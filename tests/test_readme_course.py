"""A second course, written by following only the README: a learning-rate assignment
(`tests/readme_course`) with its own helper module, tables and curves. It validates in a
fresh course folder, and its checks tell a correct solution from each of eight typical
mistakes (`tries/`, each naming its mistake in its docstring)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

COURSE = Path(__file__).resolve().parent / "readme_course"

# What each try scores (of 17): the wrong ones lose the checks their mistake breaks.
EXPECTED = {
    "correct": 17,
    "best_index": 11,
    "cosine_wrong_span": 13,
    "warmup_off_by_one": 13,
    "minibatch": 12,
    "seed_once": 12,
    "sweep_adam": 12,
    "string_optimizer": 8,
}


def test_the_course_written_from_the_readme_validates_and_grades(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(COURSE, course, ignore=shutil.ignore_patterns("tries", "__pycache__"))
    (course / "course-secret").write_text(secrets.token_hex(32) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    grader = [sys.executable, "-m", "grader", "--course", str(course)]
    validated = subprocess.run(
        [*grader, "validate", "lr_schedules"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr[-4000:]
    assert "the reference scores 17 / 17" in validated.stderr
    assert "the stub scores 0 / 17" in validated.stderr

    out = tmp_path / "out"
    graded = subprocess.run(
        [*grader, "run", str(COURSE / "tries"), "--out", str(out), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert graded.returncode == 0, graded.stderr[-4000:]
    students = json.loads((out / "results.json").read_text())["students"]
    got = {s["student"]: s["score"] for s in students}
    assert got == EXPECTED
    assert all(s["status"] == "graded" for s in students)
