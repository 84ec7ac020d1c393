"""Shared test setup: keep TensorFlow quiet and deterministic before anything imports it."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# This repository is itself a course: the suite's runs go to a gradebook of each test
# process's own, never the repository's gradebook.db. Tests that look into one set theirs.
_SUITE_GRADEBOOK = Path(tempfile.mkdtemp(prefix="grader-suite-"))
atexit.register(shutil.rmtree, _SUITE_GRADEBOOK, True)
os.environ["GRADER_GRADEBOOK"] = str(_SUITE_GRADEBOOK / "gradebook.db")

# A course kept as test data: its check files are the course's, not this suite's.
collect_ignore = ["readme_course"]

# The files that grade whole classes, longest first: started first, they do not end the
# run alone while the other test processes sit idle.
_LONGEST = (
    "test_hostile.py",
    "test_integrity.py",
    "test_dropout.py",
    "test_cluster.py",
    "test_examples.py",
    "test_benchmark.py",
    "test_two_assignments.py",
    "test_readme_course.py",
    "test_browser.py",
    "test_figures.py",
    "test_notebooks.py",
    "test_bad_input.py",
    "test_resume.py",
    "test_gradebook_runs.py",
    "test_crash_recovery.py",
    "test_wheel.py",
    "test_course.py",
    "test_gradescope.py",
    "test_gradebooks.py",
    "test_prairielearn.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return _LONGEST.index(name) if name in _LONGEST else len(_LONGEST)

    items.sort(key=rank)  # stable: each file's tests keep their order


def write_course_toml(folder: Path, title: str = "Test course", extra: str = "") -> Path:
    """Make ``folder`` a course in the default layout (assignments/, reference/,
    course-secret) by writing its course.toml; ``extra`` lines go under [course]."""
    folder.mkdir(parents=True, exist_ok=True)
    # A JSON string is a valid TOML basic string.
    (folder / "course.toml").write_text(
        f"[course]\ntitle = {json.dumps(title, ensure_ascii=False)}\n{extra}", encoding="utf-8"
    )
    return folder
