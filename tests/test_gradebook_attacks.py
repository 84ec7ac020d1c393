"""Adversarial checks of "regrade only what changed" (grader.engine.dependencies) and of the
gradebook, from an attack on the change: each states what must hold; those commented
"Attack:" failed on the first version and guard the fix."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _course(tmp_path: Path) -> tuple[Path, Path]:
    course = tmp_path / "course"
    shutil.copytree(ROOT / "assignments" / "regularization", course / "assignments" / "r")
    (course / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "regularization.py", course / "reference" / "r.py")
    (course / "course.toml").write_text("[course]\n")
    return course, course / "assignments" / "r"


def _keys(course: Path) -> dict[str, str]:
    """Each check's key, with the base key folded in: what decides whether a verdict is
    carried over (runner.plan_run)."""
    from grader.assignment import load_assignment
    from grader.engine.dependencies import check_inputs
    from grader.engine.runner import base_key

    assignment = load_assignment("r", course)
    base = base_key(assignment, assignment.limits, "bubblewrap")
    return {name: base + key for name, key in check_inputs(assignment).items()}


def _in_file(course: Path, name: str) -> set[str]:
    from grader.assignment import load_assignment

    return {c.name for c in load_assignment("r", course).checks if c.file == name}


def _changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in after if before.get(name) != after[name]}


_EXTRA_CHECK = '''
from grader.checks import check


@check("penalty", points=1)
def test_penalty_extra(submission, expected):
    """penalty of nothing is what the solution says."""
    assert expected == 0
'''


def test_a_check_using_the_solution_through_a_conftest_fixture_reruns_when_it_changes(
    tmp_path,
):
    # Attack: the check's file never says "reference"; conftest's fixture does. conftest.py
    # is in the base by content, but the reference it reaches is not: a new reference
    # leaves this check's verdict carried over.
    course, folder = _course(tmp_path)
    (folder / "conftest.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef expected(reference):\n    return 0\n"
    )
    (folder / "test_extra.py").write_text(_EXTRA_CHECK)
    before = _keys(course)
    reference = course / "reference" / "r.py"
    reference.write_text(reference.read_text() + "\n# the solution changed\n")
    assert "test_penalty_extra" in _changed(before, _keys(course))


def test_a_helper_that_conftest_imports_reruns_the_checks_when_it_changes(tmp_path):
    # Attack: conftest.py is in the base by content, not the helper module it imports (its
    # fixtures): editing the helper changes no key at all.
    course, folder = _course(tmp_path)
    (folder / "_fixtures.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef expected():\n    return 0\n"
    )
    (folder / "conftest.py").write_text("from ._fixtures import expected  # noqa: F401\n")
    (folder / "test_extra.py").write_text(_EXTRA_CHECK)
    before = _keys(course)
    (folder / "_fixtures.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef expected():\n    return 1\n"
    )
    assert "test_penalty_extra" in _changed(before, _keys(course))


def test_pytest_plugins_named_by_a_check_file_are_its_inputs(tmp_path):
    # Attack: `pytest_plugins = [...]` loads a module by a string: neither followed nor
    # treated as dynamic.
    course, folder = _course(tmp_path)
    (folder / "_plugin.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef expected():\n    return 0\n"
    )
    (folder / "test_extra.py").write_text('pytest_plugins = ["_plugin"]\n' + _EXTRA_CHECK)
    before = _keys(course)
    (folder / "_plugin.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef expected():\n    return 1\n"
    )
    assert "test_penalty_extra" in _changed(before, _keys(course))


def test_a_python_file_read_by_path_is_an_input(tmp_path):
    # Attack: the module's docstring says `open` of a `.py` makes a file dynamic; nothing
    # looks for it. A check reading a table kept as a .py file beside it is carried over
    # when the table changes.
    course, folder = _course(tmp_path)
    (folder / "_table.py").write_text("0\n")
    (folder / "test_extra.py").write_text(
        "from pathlib import Path\n"
        + _EXTRA_CHECK.replace(
            "assert expected == 0",
            'assert int(Path(__file__).with_name("_table.py").read_text()) == expected',
        )
    )
    before = _keys(course)
    (folder / "_table.py").write_text("1\n")
    assert "test_penalty_extra" in _changed(before, _keys(course))


def test_a_helper_in_a_subpackage_is_an_input(tmp_path):
    # Attack: only the folder's top-level .py files are followed, and .py files below it are
    # not data either: a helper package's modules are nobody's inputs.
    course, folder = _course(tmp_path)
    (folder / "_helpers").mkdir()
    (folder / "_helpers" / "__init__.py").write_text("")
    (folder / "_helpers" / "scale.py").write_text("SCALE = 1.0\n")
    penalty = folder / "test_penalty.py"
    penalty.write_text("from ._helpers.scale import SCALE  # noqa: F401\n" + penalty.read_text())
    before = _keys(course)
    (folder / "_helpers" / "scale.py").write_text("SCALE = 2.0\n")
    assert _in_file(course, "test_penalty.py") <= _changed(before, _keys(course))


def test_a_helper_imported_by_a_helper_is_followed(tmp_path):
    # Sound: `from ._x import y` in a helper of a helper.
    course, folder = _course(tmp_path)
    (folder / "_inner.py").write_text("K = 1\n")
    (folder / "_outer.py").write_text("from ._inner import K  # noqa: F401\n")
    penalty = folder / "test_penalty.py"
    penalty.write_text("from . import _outer  # noqa: F401\n" + penalty.read_text())
    before = _keys(course)
    (folder / "_inner.py").write_text("K = 2\n")
    assert _changed(before, _keys(course)) == _in_file(course, "test_penalty.py")


def _adjustment(check: str | None, points: float, seen_status: str | None = "failed"):
    from grader.gradebook.book import Adjustment

    return Adjustment(
        id=1,
        assignment="r",
        student="eve",
        check=check,
        points=points,
        reason="regraded by hand",
        author="ta",
        created_at="2026-12-05T00:00:00+00:00",
        seen_status=seen_status,
        seen_score=0.0,
    )


def _raw(*names: str):
    from grader.results import CheckResult, StudentResult

    checks = tuple(
        CheckResult(n, "penalty", "d", 0.0, 1.0, "failed", visibility="visible") for n in names
    )
    return StudentResult("eve", 0.0, float(len(checks)), "graded", checks)


def test_an_adjustment_of_a_check_that_no_longer_exists_is_flagged(tmp_path):
    # Attack: after the adjusted check is renamed (or removed), the adjustment silently stops
    # applying: the student loses the points and nothing asks the instructor to look.
    from grader.gradebook.final import final_result, needs_review

    raw = _raw("test_penalty_renamed")
    final = final_result(raw, 1.0, [_adjustment("test_penalty_old", 1.0)])
    assert final.score == 1.0 or needs_review(final)


def test_adjustments_stay_within_zero_and_the_maximum():
    # Sound: a total adjustment never takes the score outside [0, max].
    from grader.gradebook.final import final_result

    raw = _raw("a", "b")
    assert final_result(raw, 2.0, [_adjustment(None, 50.0)]).score == 2.0
    assert final_result(raw, 2.0, [_adjustment(None, -50.0)]).score == 0.0
    assert final_result(raw, 2.0, [_adjustment("a", 9.0)]).score == 1.0


def test_late_boundaries_and_offsets_are_exact():
    # Sound: grace, the first unit begun, the maximum and a due written with another offset.
    from datetime import datetime, timedelta

    from grader.late import LatePolicy

    policy = LatePolicy.from_table(
        {
            "due": "2026-10-25T23:59:00+02:00",  # the night Europe leaves summer time
            "penalty_per_day": 10,
            "grace_minutes": 15,
            "max_days_late": 2,
        },
        "t",
    )
    due = policy.due
    assert not policy.assess(due + timedelta(minutes=15)).late
    assert policy.assess(due + timedelta(minutes=15, seconds=1)).units == 1
    # The same instant written with any offset is as late. Days are 24 h from due: 23:00
    # local the next evening, after the clocks went back, is 24 h 01 min late, 2 days.
    winter = datetime.fromisoformat("2026-10-26T23:00:00+01:00")
    assert policy.assess(winter).units == policy.assess(winter.astimezone()).units == 2
    assert not policy.assess(due + timedelta(days=2)).beyond_maximum
    assert policy.assess(due + timedelta(days=2, seconds=1)).beyond_maximum


def test_a_late_penalty_is_taken_once_and_never_below_zero():
    from datetime import timedelta

    from grader.gradebook.final import final_result
    from grader.late import LatePolicy
    from grader.results import CheckResult, StudentResult

    policy = LatePolicy.from_table({"due": "2026-12-01T23:59:00Z", "penalty_per_day": 60}, "t")
    checks = (CheckResult("a", "f", "d", 1.0, 1.0, "passed"),)
    raw = StudentResult("eve", 1.0, 1.0, "graded", checks)
    when = (policy.due + timedelta(days=2), "csv")
    once = final_result(raw, 1.0, (), policy=policy, submitted=when)
    assert once.score == 0.0 and once.raw_score == 1.0


def test_a_migration_that_fails_half_way_leaves_the_gradebook_as_it_was(tmp_path, monkeypatch):
    # Attack: pysqlite runs DDL outside any transaction (it only opens one before DML), so
    # "every earlier version migrates forward in one transaction" does not hold on SQLite:
    # the steps done before a failure (a full disk, a kill) stay, and the next open fails.
    import sqlalchemy as sa

    from grader.errors import GradebookError
    from grader.gradebook import schema
    from grader.gradebook.book import Gradebook

    def broken(connection: sa.Connection) -> None:
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS[:2], broken))
    monkeypatch.setattr(schema, "VERSION", 3)
    path = tmp_path / "gb.db"
    with contextlib.suppress(RuntimeError, GradebookError):
        Gradebook.open(path)
    tables = sa.inspect(sa.create_engine(f"sqlite:///{path}")).get_table_names()
    assert tables == []


def test_two_graders_starting_a_new_gradebook_at_once_both_get_it(tmp_path):
    # Attack: on SQLite nothing serialises the first migration (PostgreSQL has an advisory
    # lock): the loser fails with "table ... already exists" or "no readable schema
    # version: it was not written by the grader, or was damaged".
    import subprocess
    import sys

    failures = []
    for attempt in range(4):
        path = tmp_path / f"gb{attempt}.db"
        code = (
            "from pathlib import Path; from grader.gradebook.book import Gradebook; "
            f"Gradebook.open(Path({str(path)!r})).close()"
        )
        procs = [
            subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        for p in procs:
            err = p.communicate()[1]
            if p.returncode:
                failures.append(err.strip().splitlines()[-1])
    assert failures == []
