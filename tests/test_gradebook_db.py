"""The gradebook database: migrations from the first schema, results stored once, and
every way a database can be unusable (each a clear message, nothing recorded lost).

In process, on real SQLite files; no grading (``test_gradebook_runs.py`` grades)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from grader.errors import GradebookError
from grader.gradebook import book as book_module
from grader.gradebook import schema
from grader.gradebook.book import Gradebook, result_digest
from grader.results import CheckResult, StudentResult

DATA = Path(__file__).parent / "data"


def result(student: str = "ada", points: float = 2.0, duration: float = 1.0) -> StudentResult:
    check = CheckResult(
        name="test_penalty_value",
        function="penalty",
        description="penalty is right",
        points=points,
        max_points=2.0,
        status="passed" if points == 2.0 else "failed",
    )
    return StudentResult(
        student=student,
        score=points,
        max_score=2.0,
        status="graded",
        checks=(check,),
        duration=duration,
    )


def start(book: Gradebook, out: Path, key: str = "k1") -> int:
    return book.start_run(
        assignment="regularization",
        grading_key=key,
        isolation="bubblewrap",
        out_dir=out,
        forced=False,
        versions={"grader": "0.1.0", "tensorflow": "2.21.0", "keras": "3.15.1"},
    )


def v1_file(tmp_path: Path) -> Path:
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as db:
        db.executescript((DATA / "gradebook-v1.sql").read_text(encoding="utf-8"))
    return path


def test_a_first_version_gradebook_is_brought_up_to_date_with_its_data(tmp_path):
    path = v1_file(tmp_path)
    with Gradebook.open(path) as book:
        assert book.schema_version() == schema.VERSION
        (entry,) = book.history("regularization", "ada")
        assert (entry.run.user, entry.run.out_dir, entry.result.score) == ("teacher", "/srv/out", 2)
        # What later versions added works on it.
        book.adjust("regularization", "ada", None, 1.0, "bonus", seen_status=None, seen_score=2.0)
        assert [a.points for a in book.adjustments("regularization")] == [1.0]
    # Opened again: nothing to migrate, nothing lost.
    with Gradebook.open(path) as book:
        assert book.schema_version() == schema.VERSION
        assert len(book.adjustments("regularization")) == 1


@pytest.mark.parametrize("version", range(1, schema.VERSION))
def test_every_version_migrates_to_the_latest(tmp_path, version):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as c:
        for step in schema.MIGRATIONS[:version]:
            step(c)
        c.execute(sa.insert(schema.meta).values(key="schema_version", value=str(version)))
    engine.dispose()
    with Gradebook.open(tmp_path / "old.db") as book:
        assert book.schema_version() == schema.VERSION
        names = set(sa.inspect(book.engine).get_table_names())
    assert names == set(schema.tables)


def test_a_result_is_stored_once_however_many_runs_keep_it(tmp_path):
    out = tmp_path / "out"
    with Gradebook.open(tmp_path / "g.db") as book:
        first = start(book, out)
        a = book.record(first, "regularization", result(), submission_key="s", grading_key="k1")
        second = start(book, out)
        # Graded again to the same verdicts, in another time: the same row.
        b = book.record(
            second,
            "regularization",
            result(duration=9.0),
            submission_key="s",
            grading_key="k1",
        )
        assert a == b
        assert book.run_results(second)["ada"].duration == 9.0  # the run's own time
        assert book.run_results(first)["ada"].duration == 1.0
        c = book.record(
            second, "regularization", result(points=0), submission_key="s2", grading_key="k1"
        )
        assert c != a
        assert book.run_results(second)["ada"].score == 0  # the student's latest in that run
    with sqlite3.connect(tmp_path / "g.db") as db:
        assert db.execute("SELECT count(*) FROM results").fetchone()[0] == 2
        assert db.execute("SELECT count(*) FROM run_students").fetchone()[0] == 2


def test_the_digest_ignores_only_the_time_taken():
    assert result_digest(result(duration=1)) == result_digest(result(duration=2))
    assert result_digest(result(points=0)) != result_digest(result())


def test_the_gradebook_file_is_private(tmp_path):
    Gradebook.open(tmp_path / "g.db").close()
    assert (tmp_path / "g.db").stat().st_mode & 0o077 == 0


def unchanged(path: Path):
    before = path.read_bytes()

    def check() -> None:
        assert path.read_bytes() == before

    return check


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "g.db"
    path.write_bytes(os.urandom(4096))
    same = unchanged(path)
    with pytest.raises(GradebookError, match=r"not a readable SQLite database.*Nothing already"):
        Gradebook.open(path)
    same()


def test_another_programs_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "g.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    same = unchanged(path)
    with pytest.raises(GradebookError, match=r"another program's database.*invoices"):
        Gradebook.open(path)
    same()


def test_a_newer_graders_gradebook_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "g.db"
    Gradebook.open(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE grader_meta SET value = ? WHERE key = 'schema_version'", (str(99),))
    same = unchanged(path)
    with pytest.raises(GradebookError, match=r"newer grader \(schema version 99.*Upgrade"):
        Gradebook.open(path)
    same()


def test_a_damaged_schema_version_is_refused(tmp_path):
    path = tmp_path / "g.db"
    Gradebook.open(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE grader_meta SET value = 'x' WHERE key = 'schema_version'")
    with pytest.raises(GradebookError, match="no readable schema version"):
        Gradebook.open(path)


def test_a_missing_folder_and_a_folder_are_clear_errors(tmp_path):
    with pytest.raises(GradebookError, match="does not exist"):
        Gradebook.open(tmp_path / "nowhere" / "g.db")
    with pytest.raises(GradebookError, match="is a folder"):
        Gradebook.open(tmp_path)
    with pytest.raises(GradebookError, match=r"driver|not a database URL"):
        Gradebook.open("nosuchdb://x/y")


def test_a_locked_gradebook_is_a_clear_error_and_loses_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(book_module, "_BUSY_SECONDS", 1)
    path = tmp_path / "g.db"
    book = Gradebook.open(path)
    run = start(book, tmp_path / "out")
    book.record(run, "regularization", result(), submission_key="s", grading_key="k1")
    other = sqlite3.connect(path, timeout=0)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(GradebookError, match="locked by another process"):
            book.record(run, "regularization", result("bob"), submission_key="s", grading_key="k1")
    finally:
        other.rollback()
        other.close()
    assert sorted(book.run_results(run)) == ["ada"]
    book.record(run, "regularization", result("bob"), submission_key="s", grading_key="k1")
    assert sorted(book.run_results(run)) == ["ada", "bob"]
    book.close()


def test_a_full_disk_is_a_clear_error_and_loses_nothing(tmp_path):
    path = tmp_path / "g.db"
    book = Gradebook.open(path)
    run = start(book, tmp_path / "out")
    book.record(run, "regularization", result(), submission_key="s", grading_key="k1")
    with book.engine.connect() as c:
        pages = c.exec_driver_sql("PRAGMA page_count").scalar()
    book.close()

    # SQLite reports a database that may not grow as a full disk (SQLITE_FULL).
    full = Gradebook.open(path)

    @sa.event.listens_for(full.engine, "connect")
    def _cap(dbapi_connection, record) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    full.engine.dispose()
    big = StudentResult.from_dict({**result("bob").to_dict(), "output": "x" * 200_000})
    with pytest.raises(GradebookError, match="disk is full"):
        full.record(run, "regularization", big, submission_key="s", grading_key="k1")
    assert sorted(full.run_results(run)) == ["ada"]
    full.close()


# ---------------------------------------------------------------- what each check depends on


def _assignment_copy(tmp_path: Path):
    import shutil

    from grader.assignment import load_assignment

    root = Path(__file__).resolve().parents[1]
    course = tmp_path / "course"
    shutil.copytree(root / "assignments" / "regularization", course / "assignments" / "r")
    (course / "reference").mkdir()
    shutil.copy(root / "reference" / "regularization.py", course / "reference" / "r.py")
    (course / "course.toml").write_text("[course]\n")
    folder = course / "assignments" / "r"

    def keys() -> dict[str, str]:
        from grader.engine.dependencies import check_inputs

        return check_inputs(load_assignment("r", course))

    def in_file(name: str) -> set[str]:
        return {c.name for c in load_assignment("r", course).checks if c.file == name}

    return folder, course, keys, in_file


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in after if before.get(name) != after[name]}


def test_a_check_depends_on_its_file_and_the_helpers_it_imports(tmp_path):
    folder, course, keys, in_file = _assignment_copy(tmp_path)
    first = keys()
    assert keys() == first
    penalty = folder / "test_penalty.py"
    penalty.write_text(penalty.read_text() + "\n# reworded\n")
    assert changed(first, second := keys()) == in_file("test_penalty.py")
    # A helper: the files that import it (test_overfitting, the hidden checks).
    helper = folder / "_calibrated.py"
    helper.write_text(helper.read_text() + "\n# recalibrated\n")
    assert changed(second, third := keys()) == in_file("test_overfitting.py") | in_file(
        "test_hidden_regularization.py"
    )
    # The reference: every check whose files name it.
    reference = course / "reference" / "r.py"
    reference.write_text(reference.read_text() + "\n# refactored\n")
    assert changed(third, keys()) == set(third)
    # The students' stub is not grading.
    stub = folder / "regularization.py"
    before = keys()
    stub.write_text(stub.read_text() + "\n# a clearer docstring\n")
    assert keys() == before


def test_what_cannot_be_read_for_sure_depends_on_everything(tmp_path):
    folder, _course, keys, in_file = _assignment_copy(tmp_path)
    layers = folder / "test_layers.py"
    layers.write_text("import importlib\n" + layers.read_text())
    first = keys()
    penalty = folder / "test_penalty.py"
    penalty.write_text(penalty.read_text() + "\n# reworded\n")
    # test_layers imports dynamically: any change of the folder reruns its checks.
    assert changed(first, second := keys()) == in_file("test_penalty.py") | in_file(
        "test_layers.py"
    )
    # A data file a check may open by path: every check.
    (folder / "weights.npz").write_bytes(b"\0" * 16)
    assert changed(second, keys()) == set(second)
