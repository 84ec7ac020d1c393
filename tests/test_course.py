"""Finding the course (course.toml), choosing one of its assignments, and `grader new`."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import grader
from grader.assignment import available_assignments, load_assignment
from grader.checks.secret import course_secret
from grader.cli import main
from grader.course import NO_COURSE, Course, find_course, pick_assignment
from grader.errors import UsageError
from grader.paths import package_templates
from grader.scaffold import ASSIGNMENT_FILES, new_assignment, new_course

CHECKOUT = Path(grader.__file__).resolve().parents[1]

TOML = """
[assignment]
module = "{module}"
functions = ["f"]
"""
CHECKS = """
from grader.checks import check


@check("f", points=1)
def test_f(submission, reference):
    \"\"\"f works.\"\"\"
"""


def write_assignment(folder: Path, module: str) -> None:
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(TOML.format(module=module))
    (folder / "test_f.py").write_text(CHECKS)


@pytest.fixture(autouse=True)
def no_course_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test names its course itself."""
    monkeypatch.delenv("GRADER_COURSE", raising=False)


def make_course(folder: Path, *assignments: tuple[str, str], extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "course.toml").write_text(f'[course]\ntitle = "Test course"\n{extra}')
    for name, module in assignments:
        write_assignment(folder / "assignments" / name, module)
    return folder


# ---------------------------------------------------------------- finding the course


def test_this_repository_is_a_course_of_its_two_assignments() -> None:
    course = find_course(CHECKOUT)
    assert course.root == CHECKOUT
    assert {"regularization", "dropout"} <= set(course.assignment_names())
    assert course.reference_for("dropout") == CHECKOUT / "reference" / "dropout.py"
    assert course.secret == CHECKOUT / "course-secret"
    assert course.templates == package_templates() == CHECKOUT / "templates"


def test_the_flag_wins_over_the_environment_and_the_folder(tmp_path, monkeypatch) -> None:
    flagged = make_course(tmp_path / "flagged")
    named = make_course(tmp_path / "named")
    here = make_course(tmp_path / "here")
    monkeypatch.chdir(here)
    monkeypatch.setenv("GRADER_COURSE", str(named))
    assert find_course(flagged).root == flagged
    assert find_course().root == named
    monkeypatch.delenv("GRADER_COURSE")
    assert find_course().root == here


def test_the_nearest_course_upwards_is_found(tmp_path, monkeypatch) -> None:
    outer = make_course(tmp_path / "outer")
    inner = make_course(outer / "term2")
    deep = inner / "submissions" / "week1"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_course().root == inner
    assert find_course(cwd=outer).root == outer


def test_nothing_found_says_how_to_name_a_course(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as info:
        find_course()
    assert str(info.value) == NO_COURSE
    assert "--course" in NO_COURSE and "grader new" in NO_COURSE
    with pytest.raises(UsageError, match=r"holds no course\.toml"):
        find_course(tmp_path)
    monkeypatch.setenv("GRADER_COURSE", str(tmp_path / "gone"))
    with pytest.raises(UsageError, match=r"GRADER_COURSE=.*does not exist"):
        find_course()


def test_course_toml_names_its_folders(tmp_path) -> None:
    root = make_course(
        tmp_path / "c",
        extra='assignments = "homework"\nreference = "solutions"\nsecret = "keys/secret"\n'
        'templates = "pages"\n',
    )
    write_assignment(root / "homework" / "hw1", "hw1")
    (root / "homework" / "notes").mkdir()  # no assignment.toml: not an assignment
    with pytest.raises(UsageError, match=r"lacks base\.html, feedback\.html, summary\.html"):
        Course.read(root)
    shutil.copytree(package_templates(), root / "pages")
    course = Course.read(root)
    assert (course.title, course.assignments) == ("Test course", root / "homework")
    assert (course.secret, course.templates) == (root / "keys" / "secret", root / "pages")
    assert available_assignments(course) == ["hw1"]
    assignment = load_assignment("hw1", course)
    assert assignment.directory == root / "homework" / "hw1"
    assert assignment.reference == root / "solutions" / "hw1.py"


def test_the_secret_is_where_course_toml_says(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GRADER_COURSE_SECRET", raising=False)
    root = make_course(tmp_path / "c", ("hw1", "hw1"), extra='secret = "private/key"\n')
    (root / "private").mkdir()
    (root / "private" / "key").write_text("a-long-enough-course-secret-0123\n")
    assignment = load_assignment("hw1", Course.read(root))
    assert assignment.secret == root / "private" / "key"
    assert course_secret(assignment.secret) == b"a-long-enough-course-secret-0123"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title = 'x'\n", "no \\[course\\] table"),
        ("[course]\ntitel = 'x'\n", "unknown key\\(s\\) titel"),
        ("[course]\nassignments = 3\n", "assignments must be a path"),
        ("[course\n", "cannot be read"),
    ],
    ids=["no-table", "typo", "not-a-path", "not-toml"],
)
def test_a_bad_course_toml_says_what_is_wrong(tmp_path, text, message) -> None:
    (tmp_path / "course.toml").write_text(text)
    with pytest.raises(UsageError, match=message):
        Course.read(tmp_path)


def test_a_folder_without_course_toml_is_no_course_however_it_is_named(
    tmp_path, monkeypatch
) -> None:
    laid_out = tmp_path / "laid-out"
    write_assignment(laid_out / "assignments" / "only", "m")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRADER_ROOT", str(laid_out))  # the retired name: ignored
    with pytest.raises(UsageError) as info:
        find_course()
    assert str(info.value) == NO_COURSE
    monkeypatch.setenv("GRADER_COURSE", str(laid_out))
    with pytest.raises(UsageError, match=r"GRADER_COURSE=.*holds no course\.toml.*--course-here"):
        find_course()
    make_course(laid_out)
    assert find_course().assignment_names() == ["only"]


# ---------------------------------------------------------------- choosing an assignment


def test_the_picker_names_the_course_and_its_assignments(tmp_path) -> None:
    empty = Course.read(make_course(tmp_path / "empty"))
    with pytest.raises(UsageError, match=r"no assignments yet.*`grader new NAME`"):
        pick_assignment(empty, None)
    course = Course.read(make_course(tmp_path / "two", ("first", "alpha"), ("second", "beta")))
    with pytest.raises(UsageError) as info:
        pick_assignment(course, None, tmp_path / "missing")
    assert "Choose one with --assignment NAME: first, second" in str(info.value)
    assert "none found" not in str(info.value)
    with pytest.raises(UsageError, match=r"No assignment named 'third'.*first, second"):
        pick_assignment(course, "third")
    notes: list[str] = []
    (tmp_path / "class" / "ann").mkdir(parents=True)
    (tmp_path / "class" / "ann" / "beta.py").write_text("")
    assert pick_assignment(course, None, tmp_path / "class", notes.append) == "second"
    assert notes == [
        f"Assignment: second (inferred from {tmp_path / 'class'}; --assignment chooses another)."
    ]
    (tmp_path / "empty-class").mkdir()
    with pytest.raises(UsageError, match="the folder is empty"):
        pick_assignment(course, None, tmp_path / "empty-class")


def test_run_outside_any_course_says_so(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "subs" / "ann").mkdir(parents=True)
    result = CliRunner().invoke(main, ["run", "subs"])
    assert result.exit_code == 2
    assert "No course here" in result.output and "--course" in result.output
    assert "none found" not in result.output
    result = CliRunner().invoke(main, ["--course", str(tmp_path / "nope"), "run", "subs"])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_the_course_flag_reaches_every_process_for_the_command_only(tmp_path, monkeypatch):
    course = make_course(tmp_path / "c", ("only", "m"))
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "subs").mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    result = CliRunner().invoke(main, ["--course", str(course), "run", "subs"])
    assert result.exit_code == 2
    assert "No submissions found in subs" in result.output  # the course's assignment chosen
    assert "GRADER_COURSE" not in os.environ  # restored when the command ended


# ---------------------------------------------------------------- grader new


def test_new_refuses_a_bad_name_an_existing_one_and_no_course(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["new", "convolutions"])
    assert result.exit_code == 2
    assert "grader new --course-here convolutions" in result.output
    assert not (tmp_path / "course.toml").exists()
    make_course(tmp_path, ("cnn", "cnn"))
    for name, why in [
        ("2nd", "not a Python identifier"),
        ("class", "keyword"),
        ("test_cnn", "test_*.py"),
        ("json", "already exists"),
        ("cnn", "already has an assignment 'cnn'"),
    ]:
        result = runner.invoke(main, ["new", name])
        assert result.exit_code == 2 and why in " ".join(result.output.split()), (name, result)
    assert sorted(p.name for p in (tmp_path / "assignments").iterdir()) == ["cnn"]


def test_new_course_here_makes_a_course_with_an_owner_only_secret(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["new", "--course-here", "--title", "Vision"])
    assert result.exit_code == 0, result.output
    course = find_course()
    assert (course.root, course.title, course.assignment_names()) == (tmp_path, "Vision", [])
    assert stat.S_IMODE(course.secret.stat().st_mode) == 0o600
    assert len(course.secret.read_text().strip()) == 64
    # Students' grades stay out of the course's repository.
    assert "gradebook.db" in (tmp_path / ".gitignore").read_text().splitlines()
    again = CliRunner().invoke(main, ["new", "--course-here"])
    assert again.exit_code == 2 and "already is a course" in again.output


def test_the_scaffold_is_written_where_course_toml_says(tmp_path) -> None:
    new_course(tmp_path)
    (tmp_path / "course.toml").write_text(
        '[course]\ntitle = "t"\nassignments = "hw"\nreference = "solutions"\n'
    )
    written = new_assignment(Course.read(tmp_path), "cnn", 'A "quoted" title')
    assert len(written) == len(ASSIGNMENT_FILES)
    assert tmp_path / "solutions" / "cnn.py" in written
    assignment = load_assignment("cnn", Course.read(tmp_path))
    assert assignment.title == 'A "quoted" title' and assignment.module == "cnn"
    assert assignment.functions == ("build_classifier",)
    assert {c.visibility for c in assignment.checks} == {"visible", "hidden"}


def test_new_then_validate_accepts_the_scaffold(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    made = subprocess.run(
        [sys.executable, "-m", "grader", "new", "--course-here", "classify"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert "grader validate classify" in made.stdout
    assert (tmp_path / "reference" / "classify.py").is_file()
    validated = subprocess.run(
        [sys.executable, "-m", "grader", "validate", "classify"],
        cwd=tmp_path / "assignments",  # the course is found upwards
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr[-4000:]
    assert "the reference scores 3 / 3" in validated.stderr
    assert "hard-coding" not in validated.stderr  # its hidden check draws from the secret
