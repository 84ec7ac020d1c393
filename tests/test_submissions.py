"""Tests for grader.submissions.discover: finding submissions in a class folder."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from grader.errors import UsageError
from grader.submissions import Discovery, Submission, discover

MODULE = "regularization"


NOTEBOOK = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]))


def make(root: Path, *files: str) -> Path:
    """Create ``files`` (paths relative to ``root``; a trailing / makes a folder)."""
    for name in files:
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            text = NOTEBOOK if name.lower().endswith(".ipynb") else "# submission\n"
            path.write_text(text, encoding="utf-8")
    return root


def by_student(discovery: Discovery) -> dict[str, Submission]:
    return {s.student: s for s in discovery.submissions}


def test_folder_and_file_layouts_are_both_found_sorted_by_student(tmp_path):
    make(tmp_path, "carol/regularization.py", "alice.py", "bob/regularization.py", "dave.py")
    found = discover(tmp_path, MODULE)
    assert [s.student for s in found.submissions] == ["alice", "bob", "carol", "dave"]
    students = by_student(found)
    assert students["alice"].path == tmp_path / "alice.py"
    assert students["alice"].display_path == "alice.py"
    assert students["bob"].path == tmp_path / "bob" / "regularization.py"
    assert students["bob"].display_path == "bob/regularization.py"
    assert all(s.problem is None for s in found.submissions)
    assert found.ignored == ()


def test_a_folder_submission_ignores_other_files_next_to_the_module(tmp_path):
    make(tmp_path, "alice/regularization.py", "alice/notes.txt", "alice/data.csv")
    (submission,) = discover(tmp_path, MODULE).submissions
    assert submission.path == tmp_path / "alice" / "regularization.py"
    assert submission.problem is None


def test_hidden_entries_and_caches_are_skipped(tmp_path):
    make(
        tmp_path,
        ".hidden.py",
        ".git/regularization.py",
        "__pycache__/regularization.cpython-311.pyc",
        "__MACOSX/alice/regularization.py",
        "grader-results/alice.py",
        "alice.py",
    )
    found = discover(tmp_path, MODULE)
    assert [s.student for s in found.submissions] == ["alice"]
    assert found.ignored == ()


def test_an_empty_folder_has_no_submissions(tmp_path):
    found = discover(tmp_path, MODULE)
    assert found.submissions == ()
    assert found.ignored == ()


@pytest.mark.parametrize(
    "name",
    ["x.ipynb", "x/regularization.ipynb", "x/src/regularization.ipynb", "x.IPYNB"],
)
def test_a_notebook_is_a_submission_wherever_a_python_file_is(tmp_path, name):
    make(tmp_path, name)
    if "/" in name:  # a zip's leftovers next to it change nothing
        make(tmp_path, "x/__MACOSX/._regularization.ipynb", "x/.ipynb_checkpoints/a.ipynb")
    (submission,) = discover(tmp_path, MODULE).submissions
    assert submission.student == "x"
    assert submission.problem is None
    assert submission.notebook
    assert submission.path == tmp_path / name
    assert submission.display_path == name
    assert not by_student(discover(make(tmp_path / "py", "x.py"), MODULE))["x"].notebook


def test_a_python_file_and_a_notebook_in_one_folder_are_a_conflict(tmp_path):
    make(tmp_path, "erin/regularization.py", "erin/regularization.ipynb")
    make(tmp_path, "fay/src/regularization.py", "fay/src/regularization.ipynb")
    students = by_student(discover(tmp_path, MODULE))
    assert students["erin"].path is None
    assert students["erin"].problem == (
        "More than one submission for erin: erin/regularization.ipynb, erin/regularization.py. "
        "Keep exactly one and grade again."
    )
    assert "fay/src/regularization.ipynb, fay/src/regularization.py" in (
        students["fay"].problem or ""
    )


def test_a_folder_without_the_module_names_what_was_found_and_expected(tmp_path):
    make(tmp_path, "frank/reg.py", "frank/notes.txt", "frank/.DS_Store")
    (submission,) = discover(tmp_path, MODULE).submissions
    assert submission.student == "frank"
    assert submission.path is None
    assert submission.display_path == "frank/"
    problem = submission.problem or ""
    assert "Expected regularization.py (or regularization.ipynb) in frank/" in problem
    assert "notes.txt" in problem
    assert "reg.py" in problem
    assert ".DS_Store" not in problem


def test_an_empty_student_folder_says_nothing_was_found(tmp_path):
    make(tmp_path, "grace/")
    (submission,) = discover(tmp_path, MODULE).submissions
    assert submission.path is None
    assert "found nothing" in (submission.problem or "")


def test_a_long_folder_listing_is_shortened(tmp_path):
    make(tmp_path, *[f"heidi/file{i:02d}.txt" for i in range(15)])
    (submission,) = discover(tmp_path, MODULE).submissions
    problem = submission.problem or ""
    assert "file09.txt" in problem
    assert "file10.txt" not in problem
    assert "..." in problem


def test_a_folder_and_a_file_for_one_student_give_one_submission_with_a_problem(tmp_path):
    make(tmp_path, "alice/regularization.py", "alice.py", "bob.py")
    found = discover(tmp_path, MODULE)
    assert [s.student for s in found.submissions] == ["alice", "bob"]
    alice = by_student(found)["alice"]
    assert alice.path is None
    problem = alice.problem or ""
    assert "More than one submission" in problem
    assert "alice.py" in problem
    assert "alice/regularization.py" in problem
    assert by_student(found)["bob"].problem is None


def test_a_python_file_and_a_notebook_for_one_student_are_a_conflict(tmp_path):
    make(tmp_path, "ivan.py", "ivan.ipynb")
    (submission,) = discover(tmp_path, MODULE).submissions
    assert submission.path is None
    assert "More than one submission" in (submission.problem or "")


def test_files_that_are_not_submissions_are_listed_as_ignored(tmp_path):
    make(tmp_path, "README.txt", "grades.csv", "alice.py")
    found = discover(tmp_path, MODULE)
    assert [s.student for s in found.submissions] == ["alice"]
    assert found.ignored == ("README.txt", "grades.csv")


def test_a_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        discover(tmp_path / "missing", MODULE)


def test_a_file_instead_of_a_folder_is_a_usage_error(tmp_path):
    path = make(tmp_path, "alice.py") / "alice.py"
    with pytest.raises(UsageError, match="not a folder"):
        discover(path, MODULE)


def test_the_module_name_comes_from_the_assignment(tmp_path):
    make(tmp_path, "alice/dropout.py", "bob/regularization.py")
    students = by_student(discover(tmp_path, "dropout"))
    assert students["alice"].problem is None
    assert "Expected dropout.py (or dropout.ipynb) in bob/" in (students["bob"].problem or "")


def test_the_example_submissions_are_all_found():
    root = Path(__file__).resolve().parents[1] / "examples" / "regularization"
    found = discover(root, MODULE)
    students = [s.student for s in found.submissions]
    assert students == sorted(students)
    assert {"alice", "bob", "frank", "mallory"} <= set(students)
    assert all(s.problem is None for s in found.submissions)
    assert "README.md" in found.ignored
