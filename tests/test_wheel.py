"""The grader as instructors install it: a built wheel, in a fresh venv outside the
checkout, grading a course copied elsewhere, feedback pages included.

The wheel is built from this checkout and installed without its dependencies; the fresh
venv borrows TensorFlow and the rest from the running venv through a .pth file (cheap,
and no download), but never its editable grader.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import grader

CHECKOUT = Path(grader.__file__).resolve().parents[1]
ASSIGNMENT = "regularization"
STUDENT = "alice"  # a correct solution: full marks
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md")
PIP = (sys.executable, "-m", "pip")
WEAK = ("--workers", "1", "--isolation", "limits", "--allow-weak-isolation")


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 300):
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built from a copy of it (the checkout gets no build/)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        shutil.copy(CHECKOUT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("grader", "templates"):
        shutil.copytree(CHECKOUT / folder, source / folder, ignore=ignore)
    dist = base / "dist"
    _run(
        [*PIP, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)],
        cwd=base,
    )
    (built,) = dist.glob("grader-*.whl")
    return built


def test_the_wheel_carries_what_the_tool_needs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.name for p in (CHECKOUT / "templates").iterdir() if p.is_file()}
    assert {f"grader/templates/{name}" for name in templates} <= names
    schemas = {p.name for p in (CHECKOUT / "grader" / "schemas").glob("*.json")}
    assert {f"grader/schemas/{name}" for name in schemas} <= names
    assert "grader/lms/scripts/gradescope_run_autograder" in names
    assert "grader/scaffold.py" in names and "grader/course.py" in names
    # A course's files are not the tool's.
    assert not [n for n in names if n.startswith(("assignments/", "reference/", "examples/"))]
    assert not [n for n in names if "course-secret" in n or "__pycache__" in n]


def test_an_installed_wheel_grades_a_course_outside_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=tmp_path,
        ).stdout.strip()
    )
    # The heavy dependencies, borrowed: a path in a .pth is added to sys.path, but the
    # .pth files there (the checkout's editable grader) are not run.
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [*PIP, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        cwd=tmp_path,
    )

    course = tmp_path / "course"
    (course / "assignments").mkdir(parents=True)
    (course / "reference").mkdir()
    shutil.copy(CHECKOUT / "course.toml", course / "course.toml")
    shutil.copy(CHECKOUT / "course-secret", course / "course-secret")
    shutil.copytree(
        CHECKOUT / "assignments" / ASSIGNMENT,
        course / "assignments" / ASSIGNMENT,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(CHECKOUT / "reference" / f"{ASSIGNMENT}.py", course / "reference")
    submissions = tmp_path / "submissions"
    shutil.copytree(CHECKOUT / "examples" / ASSIGNMENT / STUDENT, submissions / STUDENT)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADER_", "PYTHON"))}
    where = _run(
        [
            str(python),
            "-c",
            "import grader.paths as p; print(p.__file__); print(p.package_templates())",
        ],
        cwd=course,
        env=env,
    ).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where  # not the checkout's

    out = tmp_path / "out"
    # The borrowed dependencies live in the checkout's venv, which the landlock and
    # bubblewrap levels rightly hide from a worker: the limits level grades here.
    done = _run(
        [str(venv / "bin" / "grader"), "run", str(submissions), "--out", str(out), *WEAK],
        cwd=course / "assignments",  # below the course folder: found upwards
        env=env,
        timeout=600,
    )
    assert "Grading 1 submissions" in done.stderr, done.stderr[-2000:]

    results = json.loads((out / "results.json").read_text())
    (student,) = results["students"]
    assert results["assignment"] == ASSIGNMENT
    assert student["student"] == STUDENT and student["status"] == "graded"
    assert student["score"] == student["max_score"] == results["max_score"] > 0
    with open(out / "grades.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert float(row["score"]) == student["score"]
    page = (out / "feedback" / f"{STUDENT}.html").read_text()
    assert "Content-Security-Policy" in page and STUDENT in page
    assert (out / "summary.html").is_file()
