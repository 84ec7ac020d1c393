"""Choosing the assignment a class folder is for."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_course_toml

from grader.cli import _pick_assignment
from grader.errors import UsageError

TOML = """
[assignment]
module = "{module}"
functions = ["f"]
"""

CHECKS = '''
from grader.checks import check


@check("f", points=1)
def test_f(submission):
    """f works."""
'''


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, module in (("first", "alpha"), ("second", "beta")):
        folder = tmp_path / "assignments" / name
        folder.mkdir(parents=True)
        (folder / "assignment.toml").write_text(TOML.format(module=module))
        (folder / "test_f.py").write_text(CHECKS)
    monkeypatch.setenv("GRADER_COURSE", str(write_course_toml(tmp_path)))
    return tmp_path


def test_named_assignment_wins(root: Path) -> None:
    assert _pick_assignment("second", root / "anything").name == "second"


def test_folder_named_after_an_assignment(root: Path) -> None:
    (root / "second").mkdir()
    assert _pick_assignment(None, root / "second").name == "second"


def test_inferred_from_the_module_files(root: Path) -> None:
    (root / "class" / "ann").mkdir(parents=True)
    (root / "class" / "ann" / "beta.ipynb").write_text("{}")
    (root / "class" / "bo").mkdir()
    (root / "class" / "bo" / "notes.py").write_text("")
    assert _pick_assignment(None, root / "class").name == "second"


def test_ambiguous_folder_asks_for_the_name(root: Path) -> None:
    for student, module in (("ann", "alpha"), ("bo", "beta")):
        (root / "class" / student).mkdir(parents=True)
        (root / "class" / student / f"{module}.py").write_text("")
    with pytest.raises(UsageError, match=r"--assignment.*first, second"):
        _pick_assignment(None, root / "class")
    with pytest.raises(UsageError, match="--assignment"):
        _pick_assignment(None, root / "missing")


def test_an_error_naming_brackets_is_printed_not_parsed_as_markup(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from grader.cli import main

    folder = tmp_path / "class [/red] [b]"
    result = CliRunner().invoke(main, ["run", str(folder), "--assignment", "regularization"])
    assert result.exit_code == 2
    assert "class [/red] [b] does not exist" in result.output
