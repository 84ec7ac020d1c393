"""Check modules are named after their assignment's folder, so that they can import private
helper modules (``_*.py`` beside them) and two assignments' same-named files stay apart; a
release ships the helpers its visible checks import, and scans them.

No TensorFlow here: the check folders are tiny, run by an inner ``pytest.main``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import write_course_toml

from grader import release as release_module
from grader.assignment import load_assignment
from grader.engine.check_modules import CheckModules, check_package, shipped_helpers
from grader.errors import AssignmentError
from grader.release import LeakError, scan_release, write_release


class Outcomes:
    """Records each test's outcome and each collection error of an inner pytest run."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}
        self.errors: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[report.nodeid.split("::")[-1]] = report.outcome

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(str(report.longrepr))


def run_checks(folder: Path, name: str) -> Outcomes:
    outcomes = Outcomes()
    files = sorted(str(p) for p in folder.glob("test_*.py"))
    args = [*files, "--rootdir", str(folder), "--import-mode=importlib", "-q"]
    args += ["-p", "no:cacheprovider", "-p", "no:randomly", "-o", "addopts="]
    args += ["--continue-on-collection-errors"]
    pytest.main(args, plugins=[outcomes, CheckModules(folder, name)])
    return outcomes


def check_folder(folder: Path, value: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "_data.py").write_text(f"VALUE = {value}\n")
    (folder / "test_model.py").write_text(
        "from . import _data\n"
        "from ._data import VALUE\n\n\n"
        f"def test_value():\n    assert VALUE == _data.VALUE == {value}\n"
    )
    return folder


def test_same_named_check_files_of_two_folders_are_two_modules(tmp_path: Path):
    first = check_folder(tmp_path / "one" / "model", 1)
    second = check_folder(tmp_path / "two" / "model", 2)
    # The same assignment name, other folders (another course, or a release's checks/):
    # each check file sees its own helper, run after run in one process.
    for folder in (first, second, first, second):
        result = run_checks(folder, "model")
        assert result.outcomes == {"test_value": "passed"}, result.errors
    names = {check_package(folder, "model") for folder in (first, second)}
    assert len(names) == 2
    for folder in (first, second):
        package = check_package(folder, "model")
        assert package.startswith("_assignments.model_")
        module = sys.modules[f"{package}.test_model"]
        assert Path(module.__file__).parent == folder.resolve()
        assert Path(sys.modules[f"{package}._data"].__file__).parent == folder.resolve()
    assert "test_model" not in sys.modules and "_data" not in sys.modules


def test_a_missing_helper_is_its_files_collection_error_alone(tmp_path: Path):
    folder = check_folder(tmp_path / "broken", 3)
    (folder / "test_other.py").write_text("from ._nowhere import X\n\n\ndef test_x():\n    pass\n")
    result = run_checks(folder, "broken")
    assert result.outcomes == {"test_value": "passed"}
    [error] = result.errors
    assert "ImportError while importing test module" in error and "_nowhere" in error
    assert "importlib" not in error  # the check folder's frames only


TOML = """\
[assignment]
title = "Tiny"
module = "tiny"
functions = ["double"]
"""
LEAKED_LINE = "return [value * 2 for value in values]"


def make_tiny(root: Path) -> Path:
    folder = root / "assignments" / "tiny"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(TOML)
    (folder / "tiny.py").write_text('def double(values):\n    """Double."""\n')
    (folder / "test_visible.py").write_text(
        "from grader.checks import check\n\n"
        "from ._cases import CASES\n\n\n"
        '@check("double", points=1)\n'
        "def test_double_small(submission, reference):\n"
        '    """double([1, 2]) is [2, 4]."""\n'
        "    assert submission.double(CASES) == reference.double(CASES)\n"
    )
    (folder / "_cases.py").write_text("from . import _more\n\nCASES = _more.SMALL\n")
    (folder / "_more.py").write_text("SMALL = [1, 2]\n")
    (folder / "test_hidden_edge.py").write_text(
        "from grader.checks import check\n\n"
        "from ._edges import EDGE\n\n\n"
        '@check("double", points=2, hidden=True)\n'
        "def test_double_secret_edge(submission, reference):\n"
        '    """double of an empty list."""\n'
        "    assert submission.double(EDGE) == reference.double(EDGE)\n"
    )
    (folder / "_edges.py").write_text("EDGE = []\n")
    (folder / "_unused.py").write_text("NOTHING = None\n")
    write_course_toml(root)
    (root / "reference").mkdir()
    (root / "reference" / "tiny.py").write_text(f"def double(values):\n    {LEAKED_LINE}\n")
    return folder


def test_a_release_ships_the_helpers_visible_checks_import_and_scans_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = make_tiny(tmp_path / "course")
    assignment = load_assignment("tiny", tmp_path / "course")
    visible = assignment.visible().check_files()
    assert [p.name for p in shipped_helpers(visible)] == ["_cases.py", "_more.py"]
    hidden = [folder / "test_hidden_edge.py"]
    assert [p.name for p in shipped_helpers(hidden)] == ["_edges.py"]
    # A module beside the checks that is not a helper (_*.py) could not be shipped.
    (folder / "test_visible.py").write_text("from . import helpers\n" + visible[0].read_text())
    with pytest.raises(AssignmentError, match=r"imports helpers from its folder"):
        shipped_helpers(visible)
    (folder / "test_visible.py").write_text(visible[0].read_text().split("\n", 1)[1])
    # Recording the answers would grade the reference: not what is tested here.
    monkeypatch.setattr(release_module, "_answers", lambda assignment: b"{}\n")
    out = tmp_path / "release"
    write_release(assignment, out)
    shipped = sorted(p.name for p in (out / "checks").iterdir())
    assert shipped == [
        "_cases.py",
        "_more.py",
        "answers.json",
        "assignment.toml",
        "test_visible.py",
    ]
    assert scan_release(out, assignment) == []
    # A shipped helper is scanned like every released file: reference code and hidden
    # names in it stop the release.
    (out / "checks" / "_more.py").write_text(f"SMALL = [1, 2]  # test_hidden_edge\n{LEAKED_LINE}\n")
    problems = scan_release(out, assignment)
    assert "checks/_more.py names the hidden check file test_hidden_edge." in problems
    assert any(p.startswith("checks/_more.py, line 2 repeats line 2") for p in problems)
    (folder / "_more.py").write_text(
        f"SMALL = [1, 2]\n\n\ndef double(values):\n    {LEAKED_LINE}\n"
    )
    with pytest.raises(LeakError, match=r"checks/_more\.py, line 5 repeats line 2"):
        write_release(assignment, tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
