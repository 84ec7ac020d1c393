"""Tests for grader.submissions: finding submissions in a class folder (``discover``)
and in one student's upload to an LMS (``submission_from_upload``)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from grader import submissions as submissions_module
from grader.errors import UsageError
from grader.submissions import Discovery, Submission, discover, submission_from_upload

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


# -- an upload (Gradescope's submission/, PrairieLearn's student/) -------------------


def upload(folder: Path, student: str = "alice") -> Submission:
    return submission_from_upload(folder, MODULE, student)


def test_an_upload_is_searched_at_any_depth_skipping_what_discover_skips(tmp_path):
    make(
        tmp_path,
        "repo/a/b/regularization.py",
        "repo/README.md",
        "repo/a/helpers.py",
        "repo/.git/regularization.py",
        "repo/__MACOSX/a/b/regularization.py",
        "repo/a/__pycache__/regularization.py",
        "repo/.ipynb_checkpoints/regularization.ipynb",
    )
    found = upload(tmp_path / "repo")
    assert found.problem is None and not found.notebook
    assert found.student == "alice"
    assert found.path == (tmp_path / "repo" / "a" / "b" / "regularization.py").resolve()
    assert found.display_path == "a/b/regularization.py"  # what the student uploaded
    notebook = upload(make(tmp_path / "nb", "src/regularization.ipynb"))
    assert notebook.problem is None and notebook.notebook
    assert notebook.display_path == "src/regularization.ipynb"


def test_two_files_at_any_depths_in_an_upload_are_not_guessed(tmp_path):
    make(tmp_path, "regularization.ipynb", "old/regularization.py", "new/regularization.py")
    found = upload(tmp_path)
    assert found.path is None
    assert found.problem == (
        "More than one submission for alice: new/regularization.py, old/regularization.py, "
        "regularization.ipynb. Keep exactly one and grade again."
    )


def test_a_misnamed_file_deep_in_an_upload_gets_the_rename_hint_with_its_path(tmp_path):
    make(tmp_path, "src/Regularization.py", "src/utils.py", "README.md")
    assert upload(tmp_path).problem == (
        "Expected regularization.py (or regularization.ipynb) in your submission; found "
        "src/Regularization.py: rename it to regularization.py (names are case-sensitive) "
        "and hand it in again. The grader does not grade a file under another name. "
        "Also in your submission: README.md, src/utils.py."
    )


def test_a_missing_upload_is_an_empty_one_and_a_long_listing_is_shortened(tmp_path):
    empty = (
        "Your submission is empty; expected regularization.py (or regularization.ipynb) in "
        "it, found nothing."
    )
    assert upload(tmp_path / "missing").problem == empty
    assert upload(make(tmp_path / "only-caches", "__pycache__/x.pyc", ".DS_Store")).problem == (
        empty
    )
    many = upload(make(tmp_path / "many", *[f"data/file{i:02d}.txt" for i in range(15)]))
    assert "data/file09.txt ..." in (many.problem or "")
    assert "file10" not in (many.problem or "")


def test_links_in_an_upload_stay_inside_it(tmp_path):
    make(tmp_path, "elsewhere/regularization.py", "elsewhere/inner/regularization.py")
    out = tmp_path / "out"
    out.mkdir()
    (out / "regularization.py").symlink_to(tmp_path / "elsewhere" / "regularization.py")
    refused = upload(out)
    assert refused.path is None
    assert refused.problem == (
        "regularization.py is a symbolic link that points outside your submission; the "
        "grader does not follow it. Hand in the file itself, not a link to it."
    )
    inside = make(tmp_path / "inside", "src/mine.py")
    (inside / "regularization.py").symlink_to(inside / "src" / "mine.py")
    assert upload(inside).path == (inside / "src" / "mine.py").resolve()
    # A linked folder is not searched, even when it stays inside.
    folders = make(tmp_path / "folders", "notes.txt")
    (folders / "elsewhere").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    assert upload(folders).problem == (
        "Expected regularization.py (or regularization.ipynb) in your submission; found "
        "elsewhere, notes.txt."
    )


def test_a_folder_named_like_the_module_in_an_upload_is_refused_not_searched(tmp_path):
    make(tmp_path, "regularization.py/regularization.py")
    found = upload(tmp_path)
    assert found.path is None
    assert found.problem == "regularization.py is a folder, not a Python file."


def test_an_unreadable_folder_in_an_upload_is_reported_not_skipped(tmp_path, monkeypatch):
    make(tmp_path, "regularization.py", "private/notes.txt")
    real_list = submissions_module._list

    def refuse_private(folder: Path) -> list:
        if folder.name == "private":
            raise PermissionError(13, "Permission denied", str(folder))
        return real_list(folder)

    monkeypatch.setattr(submissions_module, "_list", refuse_private)
    assert upload(tmp_path).problem == (
        "Could not open private/: permission denied (the instructor should check its permissions)."
    )


# The same situation, in a class folder's alice/ and in alice's upload.
SITUATIONS = {
    "misnamed": {"Regularization.py": "x = 1\n"},
    "misnamed-among-others": {"regularization (1).ipynb": NOTEBOOK, "notes.txt": "n\n"},
    "nothing-matching": {"reg.py": "x = 1\n", "notes.txt": "n\n", "data.csv": "1\n"},
    "two-misnamed": {"regularization_v1.py": "x = 1\n", "regularization_v2.py": "x = 1\n"},
    "empty": {},
    "two-files": {"regularization.py": "x = 1\n", "regularization.ipynb": NOTEBOOK},
    "empty-file": {"regularization.py": ""},
    "binary-file": {"regularization.py": "PK\x03\x04\x00"},
}


@pytest.mark.parametrize("situation", sorted(SITUATIONS))
def test_a_class_folder_and_an_upload_give_the_same_advice(tmp_path, situation):
    klass, uploaded = tmp_path / "class", tmp_path / "upload"
    (klass / "alice").mkdir(parents=True)
    uploaded.mkdir()
    for name, text in SITUATIONS[situation].items():
        (klass / "alice" / name).write_text(text, encoding="utf-8")
        (uploaded / name).write_text(text, encoding="utf-8")
    (in_class,) = discover(klass, MODULE).submissions
    in_upload = upload(uploaded)
    assert in_class.problem is not None and in_upload.problem is not None
    assert in_class.path is None and in_upload.path is None
    # Only the folder's name differs: "alice/" there, "your submission" here.
    expected = (
        in_class.problem.replace("alice/ is empty", "Your submission is empty")
        .replace("in alice/", "in your submission")
        .replace("alice/", "")
    )
    assert in_upload.problem == expected
