"""Bad input: every malformed submission gets a clear problem; the others are graded.

Unit tests of ``discover`` (no TensorFlow) for empty, binary, mis-encoded, enormous,
unreadable, misnamed, duplicated, symlinked and nested submissions, then one end-to-end
run of ``grader run`` on a class that mixes all of them with two good students.
"""

from __future__ import annotations

import html
import importlib.util
import json
import marshal
import os
import shutil
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import nbformat
import pytest
from regularization_checks import MAX_SCORE

from grader import submissions as submissions_module
from grader.errors import UsageError
from grader.submissions import MAX_SOURCE_BYTES, Discovery, Submission, discover

MODULE = "regularization"
ROOT = Path(__file__).resolve().parents[1]
ALICE = ROOT / "examples" / "regularization" / "alice"
GOOD = b"def l2_dense(units):\n    return None\n"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
EXPECTED = "Expected regularization.py (or regularization.ipynb) in"


def write(root: Path, name: str, data: bytes | str = GOOD) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def by_student(found: Discovery) -> dict[str, Submission]:
    return {s.student: s for s in found.submissions}


def only(root: Path, **kwargs: int) -> Submission:
    (submission,) = discover(root, MODULE, **kwargs).submissions
    return submission


def problem_of(root: Path, **kwargs: int) -> str:
    submission = only(root, **kwargs)
    assert submission.path is None, "a submission with a problem must not be graded"
    assert submission.problem is not None
    return submission.problem


@pytest.fixture
def never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if discovery reads any file's contents."""

    def refuse(path: Path, limit: int) -> bytes:
        raise AssertionError(f"discover read {path}")

    monkeypatch.setattr(submissions_module, "_read_head", refuse)


# -- empty -------------------------------------------------------------------------


def test_an_empty_folder_is_invalid_and_says_what_was_expected(tmp_path):
    (tmp_path / "bob").mkdir()
    problem = problem_of(tmp_path)
    assert problem.startswith("bob/ is empty; expected regularization.py")
    assert only(tmp_path).display_path == "bob/"


def test_a_folder_with_only_hidden_files_and_caches_is_empty(tmp_path):
    write(tmp_path, "bob/.DS_Store", b"\0\0")
    write(tmp_path, "bob/__pycache__/regularization.cpython-311.pyc", b"\0")
    write(tmp_path, "bob/__MACOSX/._regularization.py", b"\0")
    assert "bob/ is empty" in problem_of(tmp_path)


@pytest.mark.parametrize("name", ["bob/regularization.py", "bob.py"])
def test_an_empty_file_is_invalid(tmp_path, name):
    write(tmp_path, name, b"")
    problem = problem_of(tmp_path)
    assert f"{name} is empty" in problem
    assert "0 bytes" in problem


@pytest.mark.parametrize("data", [b"\n\n   \n\t\r\n", b"\xef\xbb\xbf  \n", b"\x0c\n"])
def test_a_whitespace_only_file_is_empty(tmp_path, data):
    write(tmp_path, "bob/regularization.py", data)
    problem = problem_of(tmp_path)
    assert "regularization.py is empty" in problem
    assert "whitespace" in problem


def test_a_file_with_only_a_comment_is_not_empty(tmp_path):
    write(tmp_path, "bob/regularization.py", b"# TODO\n")
    assert only(tmp_path).problem is None


# -- binary and encodings ----------------------------------------------------------


def test_nul_bytes_mean_a_binary_file(tmp_path):
    write(tmp_path, "bob/regularization.py", b"import os\n\0\0\x01\x02garbage")
    problem = problem_of(tmp_path)
    assert "not Python source text" in problem
    assert "UTF-8" in problem
    assert "binary" in problem
    assert ".pyc" in problem and "zip" in problem


def test_a_zip_renamed_to_py_is_named_as_such(tmp_path):
    archive = shutil.make_archive(str(tmp_path / "archive"), "zip", ALICE)
    shutil.copy(archive, tmp_path / "bob.py")
    Path(archive).unlink()
    problem = problem_of(tmp_path)
    assert "not Python source text" in problem
    assert "zip archive" in problem


def test_a_pyc_renamed_to_py_is_named_as_such(tmp_path):
    code = compile("x = 1\n", "regularization.py", "exec")
    data = importlib.util.MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(code)
    write(tmp_path, "bob.py", data)
    assert ".pyc file" in problem_of(tmp_path)


def test_random_bytes_without_nul_are_not_utf8(tmp_path):
    write(tmp_path, "bob.py", bytes(range(0x80, 0x100)) * 4)
    problem = problem_of(tmp_path)
    assert "not Python source text" in problem
    assert "not valid UTF-8" in problem


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_file_is_told_to_save_as_utf8(tmp_path, encoding):
    text = "# café\nx = 1\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    write(tmp_path, "bob.py", data)
    problem = problem_of(tmp_path)
    assert "not Python source text" in problem
    assert "UTF-8" in problem


def test_latin1_without_a_coding_line_is_not_utf8_and_says_where(tmp_path):
    write(tmp_path, "bob.py", "x = 1\n# Résumé\n".encode("latin-1"))
    problem = problem_of(tmp_path)
    assert "not Python source text" in problem
    assert "not valid UTF-8 (byte 0xE9 on line 2)" in problem
    assert "coding: latin-1" in problem  # tells the student the other way out


def test_a_non_utf8_byte_on_the_first_line_is_reported_too(tmp_path):
    write(tmp_path, "bob.py", "# Zoé\nx = 1\n".encode("latin-1"))
    assert "not valid UTF-8 (byte 0xE9 on line 1)" in problem_of(tmp_path)


@pytest.mark.parametrize(
    "cookie",
    ["# -*- coding: latin-1 -*-", "# coding=iso-8859-1", "# vim: set fileencoding=cp1252 :"],
)
def test_a_coding_line_makes_its_encoding_acceptable(tmp_path, cookie):
    source = f"{cookie}\n# Résumé de Zoé\nx = 'é'\n"
    path = write(tmp_path, "bob.py", source.encode("latin-1"))
    submission = only(tmp_path)
    assert submission.problem is None
    assert submission.path == path
    # ... and Python itself agrees.
    compile(path.read_bytes(), str(path), "exec")


def test_a_coding_line_on_the_second_line_counts(tmp_path):
    write(tmp_path, "bob.py", "#!/usr/bin/env python\n# coding: latin-1\n# é\n".encode("latin-1"))
    assert only(tmp_path).problem is None


def test_bytes_invalid_for_the_declared_encoding_are_reported(tmp_path):
    write(tmp_path, "bob.py", "# coding: ascii\n# é\n".encode("latin-1"))
    problem = problem_of(tmp_path)
    assert "declares ascii" in problem
    assert "byte 0xE9 on line 2" in problem


def test_an_unknown_encoding_is_reported(tmp_path):
    write(tmp_path, "bob.py", b"# coding: klingon\nx = 1\n")
    problem = problem_of(tmp_path)
    assert "not Python source text" in problem
    assert "unknown encoding: klingon" in problem


def test_a_codec_that_is_not_a_text_encoding_is_reported(tmp_path):
    write(tmp_path, "bob.py", b"# coding: rot13\nk = 1\n")
    assert "not a text encoding" in problem_of(tmp_path)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    write(tmp_path, "bob/regularization.py", b"\xef\xbb\xbf# caf\xc3\xa9\nx = 1\n")
    assert only(tmp_path).problem is None


def test_a_byte_order_mark_with_a_conflicting_coding_line_is_refused(tmp_path):
    write(tmp_path, "bob.py", b"\xef\xbb\xbf# coding: latin-1\nx = 1\n")
    assert "not Python source text" in problem_of(tmp_path)


# -- size --------------------------------------------------------------------------


def test_the_default_limit_is_one_megabyte():
    assert MAX_SOURCE_BYTES == 1_000_000


def test_a_file_over_the_limit_names_its_size_and_the_limit(tmp_path, never_read):
    write(tmp_path, "bob/regularization.py", b"#" * 101)
    problem = problem_of(tmp_path, max_bytes=100)
    assert "regularization.py is 101 bytes" in problem
    assert "limit of 100 bytes" in problem


def test_sizes_are_given_in_readable_units(tmp_path, never_read):
    write(tmp_path, "bob.py", b"#" * 2_500)
    problem = problem_of(tmp_path, max_bytes=1_500)
    assert "bob.py is 2.5 kB (2,500 bytes), over the grader's limit of 1.5 kB (1,500 bytes)" in (
        problem
    )


def test_a_file_at_the_limit_is_accepted(tmp_path):
    write(tmp_path, "bob.py", b"#" * 99 + b"\n")
    assert only(tmp_path, max_bytes=100).problem is None


def test_the_default_limit_applies(tmp_path, never_read):
    write(tmp_path, "bob.py", b"#" * (MAX_SOURCE_BYTES + 1))
    problem = problem_of(tmp_path)
    assert "1 MB (1,000,001 bytes)" in problem
    assert "limit of 1 MB (1,000,000 bytes)" in problem


def test_an_enormous_file_is_judged_by_its_size_alone(tmp_path, never_read):
    path = tmp_path / "bob.py"
    with path.open("wb") as handle:  # sparse: 20 GB on paper, nothing on disk
        handle.truncate(20 * 10**9)
    started = time.monotonic()
    problem = problem_of(tmp_path)
    assert time.monotonic() - started < 1
    assert "20 GB (20,000,000,000 bytes)" in problem


# -- symbolic links ----------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A valid submission outside the class folder: if it were followed it would pass."""
    folder = tmp_path / "elsewhere"
    write(folder, "regularization.py")
    return folder


@pytest.fixture
def klass(tmp_path: Path) -> Path:
    folder = tmp_path / "class"
    folder.mkdir()
    return folder


def test_a_file_link_outside_the_folder_is_refused_unread(klass, outside, never_read):
    (klass / "eve.py").symlink_to(outside / "regularization.py")
    submission = only(klass)
    assert submission.student == "eve"
    assert submission.path is None
    assert "eve.py is a symbolic link that points outside the submissions folder" in (
        submission.problem or ""
    )


def test_a_folder_link_outside_the_folder_is_refused(klass, outside, never_read):
    (klass / "eve").symlink_to(outside, target_is_directory=True)
    submission = only(klass)
    assert submission.student == "eve"
    assert submission.display_path == "eve/"
    assert "points outside the submissions folder" in (submission.problem or "")


def test_a_linked_module_in_a_real_folder_is_refused(klass, outside, never_read):
    (klass / "eve").mkdir()
    (klass / "eve" / "regularization.py").symlink_to(outside / "regularization.py")
    problem = problem_of(klass)
    assert "eve/regularization.py is a symbolic link that points outside" in problem


def test_a_relative_link_climbing_out_is_refused(klass, outside):
    (klass / "eve.py").symlink_to(Path("..") / "elsewhere" / "regularization.py")
    assert "points outside" in problem_of(klass)


def test_a_link_to_the_submissions_folder_itself_is_refused(klass):
    (klass / "eve").symlink_to(klass, target_is_directory=True)
    assert "points outside" in problem_of(klass)


def test_links_inside_the_folder_are_followed(klass):
    real = write(klass, "alice/regularization.py")
    (klass / "bob.py").symlink_to(Path("alice") / "regularization.py")
    (klass / "carol").symlink_to("alice", target_is_directory=True)
    write(klass, "dave/notes.txt", b"x")
    (klass / "dave" / "regularization.py").symlink_to(Path("..") / "alice" / "regularization.py")
    students = by_student(discover(klass, MODULE))
    for student in ("alice", "bob", "carol", "dave"):
        assert students[student].problem is None, students[student].problem
        assert students[student].path is not None
        assert students[student].path.resolve() == real.resolve()
    assert students["bob"].path == real.resolve()  # the link is resolved, not kept
    assert students["carol"].display_path == "carol/regularization.py"


def test_a_followed_link_is_still_checked(klass):
    write(klass, "data/empty.py", b"")
    (klass / "bob.py").symlink_to(Path("data") / "empty.py")
    students = by_student(discover(klass, MODULE))
    assert "bob.py is empty" in (students["bob"].problem or "")


@pytest.mark.parametrize("name", ["eve.py", "eve"])
def test_a_broken_link_is_refused(klass, name):
    (klass / name).symlink_to(klass / "missing.py")
    submission = only(klass)
    assert submission.student == "eve"
    assert "broken link" in (submission.problem or "")


def test_a_broken_link_to_the_module_in_a_folder_is_refused(klass):
    (klass / "eve").mkdir()
    (klass / "eve" / "regularization.py").symlink_to("nowhere.py")
    assert "eve/regularization.py is a symbolic link to something that does not exist" in (
        problem_of(klass)
    )


def test_a_looping_link_is_refused(klass):
    (klass / "eve.py").symlink_to("eve.py")
    assert "broken link" in problem_of(klass)


def test_a_link_that_is_not_a_submission_is_ignored_unread(klass, outside, never_read):
    (klass / "notes.txt").symlink_to(outside / "regularization.py")
    found = discover(klass, MODULE)
    assert found.submissions == ()
    assert found.ignored == ("notes.txt",)


# -- wrong names -------------------------------------------------------------------


def test_a_folder_with_other_files_names_what_was_found_and_expected(tmp_path):
    write(tmp_path, "bob/reg.py")
    write(tmp_path, "bob/notes.txt", b"notes")
    (tmp_path / "bob" / "data").mkdir()
    problem = problem_of(tmp_path)
    assert problem == f"{EXPECTED} bob/; found data/, notes.txt, reg.py."


@pytest.mark.parametrize(
    "name",
    [
        "Regularization.py",
        "REGULARIZATION.PY",
        "regularization (1).py",
        "regularization-1.py",
        "regularization_final.py",
        "regularization copy.py",
        "alice_regularization.py",
        "regularization.py.txt",
        "regularization.txt",
        "regularization",
        "Regularization.ipynb",
        "regularization (1).ipynb",
        "regularization.ipynb.txt",
    ],
)
def test_a_misnamed_module_gets_a_rename_hint_but_is_not_graded(tmp_path, name):
    write(tmp_path, f"bob/{name}")
    write(tmp_path, "bob/notes.md", b"notes")
    problem = problem_of(tmp_path)
    target = "regularization.ipynb" if ".ipynb" in name.lower() else "regularization.py"
    assert problem.startswith(f"{EXPECTED} bob/; found {name}: rename it to {target}")
    assert "Also in bob/: notes.md." in problem


def test_a_case_only_difference_says_names_are_case_sensitive(tmp_path):
    write(tmp_path, "bob/Regularization.py")
    assert "case-sensitive" in problem_of(tmp_path)


def test_two_candidate_names_get_no_hint(tmp_path):
    write(tmp_path, "bob/Regularization.py")
    write(tmp_path, "bob/regularization_old.py")
    problem = problem_of(tmp_path)
    assert "rename" not in problem
    assert "found Regularization.py, regularization_old.py." in problem


@pytest.mark.parametrize("name", ["regularization.pyc", "regularization_notes.txt"])
def test_files_that_are_not_misnamed_sources_get_no_hint(tmp_path, name):
    write(tmp_path, f"bob/{name}")
    assert "rename" not in problem_of(tmp_path)


def test_a_folder_named_like_the_module_is_refused(tmp_path):
    (tmp_path / "bob" / "regularization.py").mkdir(parents=True)
    assert "bob/regularization.py is a folder" in problem_of(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "bob.py")
    assert "not a regular file" in problem_of(tmp_path)


# -- nested folders ----------------------------------------------------------------


@pytest.mark.parametrize("inner", ["bob", "src", "Bob Smith - regularization"])
def test_one_nested_module_one_level_down_is_accepted(tmp_path, inner):
    path = write(tmp_path, f"bob/{inner}/regularization.py")
    write(tmp_path, "bob/__MACOSX/bob/._regularization.py", b"\0")
    write(tmp_path, f"bob/{inner}/README.md", b"readme")
    submission = only(tmp_path)
    assert submission.problem is None
    assert submission.path == path
    assert submission.display_path == f"bob/{inner}/regularization.py"


def test_a_nested_module_is_checked_like_any_other(tmp_path):
    write(tmp_path, "bob/bob/regularization.py", b"")
    assert "bob/bob/regularization.py is empty" in problem_of(tmp_path)


def test_two_levels_down_is_not_searched(tmp_path):
    write(tmp_path, "bob/a/b/regularization.py")
    assert problem_of(tmp_path) == f"{EXPECTED} bob/; found a/."


def test_nested_modules_in_two_subfolders_are_not_guessed(tmp_path):
    write(tmp_path, "bob/v1/regularization.py")
    write(tmp_path, "bob/v2/regularization.py")
    problem = problem_of(tmp_path)
    assert f"{EXPECTED} bob/; found v1/, v2/." in problem
    assert "bob/v1/regularization.py, bob/v2/regularization.py" in problem
    assert "not graded because there is more than one" in problem


def test_a_nested_module_next_to_other_python_files_is_not_guessed(tmp_path):
    write(tmp_path, "bob/helper.py")
    write(tmp_path, "bob/old/regularization.py")
    problem = problem_of(tmp_path)
    assert "found helper.py, old/." in problem
    assert "bob/old/regularization.py" in problem
    assert "also holds other Python files" in problem


# -- duplicates and names ----------------------------------------------------------


def test_a_folder_and_a_file_for_one_student_are_one_invalid_submission(tmp_path):
    write(tmp_path, "alice/regularization.py")
    write(tmp_path, "alice.py")
    problem = problem_of(tmp_path)
    assert "More than one submission for alice: alice/regularization.py, alice.py" in problem


def test_a_file_and_a_notebook_for_one_student_are_one_invalid_submission(tmp_path):
    write(tmp_path, "alice.py")
    write(tmp_path, "alice.ipynb", b"{}")
    assert "alice.ipynb, alice.py" in problem_of(tmp_path)


def test_a_duplicate_is_reported_even_when_one_copy_is_bad(tmp_path):
    (tmp_path / "alice").mkdir()
    write(tmp_path, "alice.py")
    assert "More than one submission for alice: alice/, alice.py" in problem_of(tmp_path)


def test_decomposed_and_composed_names_are_one_student(tmp_path):
    write(tmp_path, unicodedata.normalize("NFD", "José") + "/regularization.py")
    write(tmp_path, unicodedata.normalize("NFC", "José") + ".py")
    submission = only(tmp_path)
    assert submission.student == unicodedata.normalize("NFC", "José")
    assert "More than one submission" in (submission.problem or "")


@pytest.mark.parametrize(
    "student", ["Zoë Ünal", "-rf", "--help", "名前", "o'brien", "a b  c", "x;rm -rf ~"]
)
def test_unusual_names_are_student_names(tmp_path, student):
    folder = write(tmp_path, f"{student}/regularization.py")
    file = write(tmp_path, f"{student}-file.py")
    students = by_student(discover(tmp_path, MODULE))
    assert students[student].path == folder
    assert students[student].display_path == f"{student}/regularization.py"
    assert students[f"{student}-file"].path == file
    assert all(s.problem is None for s in students.values())


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses names that are not UTF-8")
def test_names_that_are_not_text_become_printable(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9"
    os.mkdir(raw)
    with open(raw + b"/regularization.py", "wb") as handle:
        handle.write(GOOD)
    write(tmp_path, "new\nline.py")
    students = by_student(discover(tmp_path, MODULE))
    assert set(students) == {"caf\ufffd", "new\ufffdline"}
    assert students["caf\ufffd"].display_path == "caf\ufffd/regularization.py"
    assert students["caf\ufffd"].path is not None and students["caf\ufffd"].path.is_file()
    for submission in students.values():
        submission.student.encode("utf-8")  # no surrogates left
        submission.display_path.encode("utf-8")


# -- permissions -------------------------------------------------------------------


def test_an_unreadable_file_is_invalid_not_a_crash(tmp_path, monkeypatch):
    def refuse(path: Path, limit: int) -> bytes:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(submissions_module, "_read_head", refuse)
    write(tmp_path, "bob/regularization.py")
    problem = problem_of(tmp_path)
    assert "bob/regularization.py could not be read: permission denied" in problem


@pytest.mark.skipif(IS_ROOT or not hasattr(os, "geteuid"), reason="root reads everything")
def test_unreadable_files_and_folders_on_disk(tmp_path):
    write(tmp_path, "bob/regularization.py").chmod(0)
    write(tmp_path, "carol/regularization.py")
    (tmp_path / "carol").chmod(0)
    try:
        students = by_student(discover(tmp_path, MODULE))
    finally:
        (tmp_path / "carol").chmod(0o755)
    assert "could not be read: permission denied" in (students["bob"].problem or "")
    assert "Could not open carol/: permission denied" in (students["carol"].problem or "")


def test_an_unreadable_student_folder_is_invalid(tmp_path, monkeypatch):
    write(tmp_path, "bob/regularization.py")
    write(tmp_path, "carol/regularization.py")
    real_list = submissions_module._list

    def refuse_bob(folder: Path) -> list:
        if folder.name == "bob":
            raise PermissionError(13, "Permission denied", str(folder))
        return real_list(folder)

    monkeypatch.setattr(submissions_module, "_list", refuse_bob)
    students = by_student(discover(tmp_path, MODULE))
    assert students["bob"].problem == (
        "Could not open bob/: permission denied (the instructor should check its permissions)."
    )
    assert students["carol"].problem is None


def test_an_unreadable_submissions_folder_is_a_usage_error(tmp_path, monkeypatch):
    def refuse(path: object) -> list[str]:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(submissions_module.os, "listdir", refuse)
    with pytest.raises(UsageError, match="cannot be read: permission denied"):
        discover(tmp_path, MODULE)


# -- everything at once ------------------------------------------------------------


def build_bad_class(root: Path, outside: Path) -> dict[str, tuple[str, str]]:
    """Every bad case next to each other; student -> (expected status, message part)."""
    expected: dict[str, tuple[str, str]] = {}

    def case(student: str, status: str, message: str) -> None:
        expected[student] = (status, message)

    (root / "bob").mkdir()
    case("bob", "invalid", "bob/ is empty; expected regularization.py")
    write(root, "carol/regularization.py", b"")
    case("carol", "invalid", "carol/regularization.py is empty")
    write(root, "dan.py", b"  \n\n")
    case("dan", "invalid", "dan.py is empty")
    write(root, "erin.py", b"PK\x03\x04\x14\0\0\0garbage\0\xff")
    case("erin", "invalid", "erin.py is not Python source text: it contains NUL bytes")
    write(root, "fay/regularization.py", "x = 1\n# Résumé\n".encode("latin-1"))
    case("fay", "invalid", "not valid UTF-8 (byte 0xE9 on line 2)")
    write(root, "gus/Regularization.py", ALICE.joinpath("regularization.py").read_bytes())
    case("gus", "invalid", "found Regularization.py: rename it to regularization.py")
    write(root, "hal/reg.py")
    write(root, "hal/notes.txt", b"notes")
    case("hal", "invalid", f"{EXPECTED} hal/; found notes.txt, reg.py.")
    write(root, "ida/regularization.py")
    write(root, "ida.py")
    case("ida", "invalid", "More than one submission for ida: ida/regularization.py, ida.py")
    (root / "jo.py").symlink_to(outside / "regularization.py")
    case("jo", "invalid", "jo.py is a symbolic link that points outside the submissions folder")
    (root / "kim").symlink_to(outside, target_is_directory=True)
    case("kim", "invalid", "kim/ is a symbolic link that points outside the submissions folder")
    (root / "lea").mkdir()
    (root / "lea" / "regularization.py").symlink_to(outside / "regularization.py")
    case("lea", "invalid", "lea/regularization.py is a symbolic link that points outside")
    (root / "max.py").symlink_to("nowhere.py")
    case("max", "invalid", "max.py is a symbolic link to something that does not exist")
    with (root / "ned.py").open("wb") as handle:
        handle.truncate(MAX_SOURCE_BYTES + 1)  # sparse
    case("ned", "invalid", "over the grader's limit of 1 MB")
    write(root, "- Zoë Ünal/regularization.py", b"def l2_dense(:\n")
    case("- Zoë Ünal", "import_error", "SyntaxError")
    write(root, "otto/v1/regularization.py")
    write(root, "otto/v2/regularization.py")
    case("otto", "invalid", "not graded because there is more than one")
    write(root, "pia.ipynb", b'{"cells": []}')
    case("pia", "invalid", 'pia.ipynb is JSON but not a Jupyter notebook: it has no "nbformat"')
    markdown = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Notes")])
    write(root, "quinn/regularization.ipynb", nbformat.writes(markdown))
    case("quinn", "invalid", "quinn/regularization.ipynb has no code cells to grade.")
    if sys.platform != "darwin":  # a folder name that is not UTF-8 (Linux allows it)
        raw = os.fsencode(root) + b"/p\xe9p\xe9"
        os.mkdir(raw)
        open(raw + b"/regularization.py", "wb").close()
        case("p\ufffdp\ufffd", "invalid", "p\ufffdp\ufffd/regularization.py is empty")
    write(root, "notes.txt", b"not a submission")
    return expected


def test_discovery_of_a_mixed_class(klass, outside):
    shutil.copytree(ALICE, klass / "alice")
    expected = build_bad_class(klass, outside)
    students = by_student(discover(klass, MODULE))
    assert set(students) == {"alice", *expected}
    assert students["alice"].problem is None
    for student, (status, message) in expected.items():
        submission = students[student]
        if status == "invalid":
            assert submission.path is None, student
            assert message in (submission.problem or ""), (student, submission.problem)
        else:
            assert submission.problem is None, (student, submission.problem)


# -- end to end --------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded_bad_class(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("bad_input")
    klass, out, outside = base / "class", base / "out", base / "elsewhere"
    write(outside, "regularization.py", ALICE.joinpath("regularization.py").read_bytes())
    klass.mkdir()
    expected = build_bad_class(klass, outside)
    shutil.copytree(ALICE, klass / "alice")
    # A latin-1 file with a coding line: accepted, and graded like alice.
    latin = b"# -*- coding: latin-1 -*-\n# R\xe9sum\xe9: la copie de Zo\xe9\n"
    write(klass, "zoe/regularization.py", latin + ALICE.joinpath("regularization.py").read_bytes())
    started = time.monotonic()
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "grader", "run", str(klass), "--out", str(out)),
            *("--workers", "2", "--assignment", "regularization"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"},
    )
    return out, proc, expected, time.monotonic() - started


def test_a_class_full_of_bad_input_is_graded_end_to_end(graded_bad_class):
    from grader.reports.html import feedback_filename

    out, proc, expected, _ = graded_bad_class
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Ignored notes.txt" in proc.stderr + proc.stdout
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    students = {s["student"]: s for s in results["students"]}
    assert set(students) == {"alice", "zoe", *expected}
    for name in ("alice", "zoe"):
        record = students[name]
        assert record["status"] == "graded", record.get("error")
        assert (record["score"], record["max_score"]) == (MAX_SCORE, MAX_SCORE)
    assert students["zoe"]["source"] == "zoe/regularization.py"
    for name, (status, message) in expected.items():
        record = students[name]
        assert record["status"] == status, (name, record["status"], record.get("error"))
        assert message in (record["error"] or ""), (name, record["error"])
        assert record["score"] == 0
        page = (out / "feedback" / feedback_filename(name)).read_text(encoding="utf-8")
        assert message in html.unescape(page), name
