"""The gradebook: every run, every student's result per check, instructor adjustments and
submission times, in one database per course.

SQLite in the course folder by default (``gradebook.db``, WAL, each student's result
committed as it is graded), or any database SQLAlchemy reaches with ``--gradebook URL``
(``postgresql://…`` with ``pip install 'grader[postgresql]'``). Opening one brings its
schema up to date (``grader.gradebook.schema``); a database this grader cannot read
(not a database, another program's, a newer grader's) is refused with the reason, and
nothing is written to it.

Results are stored once: a run that keeps or regrades a student to the same result
points at the row it already has.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import hashlib
import json
import os
import socket
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from grader.errors import GradebookError
from grader.gradebook import schema as s
from grader.results import StudentResult

__all__ = [
    "MEMORY",
    "Adjustment",
    "Earlier",
    "Gradebook",
    "HistoryEntry",
    "Inputs",
    "RunRecord",
    "now",
    "result_digest",
    "user",
]

MEMORY = "sqlite://"  # a gradebook in memory: nothing remembered after it closes
_BUSY_SECONDS = 30


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def user() -> str:
    """Who runs the grader: the OS user."""
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (a container)
        return f"uid {os.getuid()}"


def result_digest(result: StudentResult) -> str:
    """What makes two results the same: everything but how long grading took."""
    data = result.to_dict()
    data.pop("duration", None)
    text = json.dumps(data, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class RunRecord:
    id: int
    assignment: str
    started_at: str
    finished_at: str | None
    user: str
    host: str
    grader_version: str
    tensorflow: str
    keras: str
    grading_key: str
    isolation: str
    out_dir: str
    forced: bool
    students: int = 0
    graded: int = 0  # graded in this run, not kept from an earlier one


@dataclass(frozen=True)
class Adjustment:
    """An instructor's change to a student's grade: a check's points set to ``points``,
    or (``check`` None) ``points`` added to the total."""

    id: int
    assignment: str
    student: str
    check: str | None
    points: float
    reason: str
    author: str
    created_at: str
    seen_status: str | None  # the check's verdict when it was made
    seen_score: float | None  # the raw score when it was made (a total adjustment)
    removed_at: str | None = None
    removed_by: str | None = None


@dataclass(frozen=True)
class Inputs:
    """What a result's checks depended on: the base every check shares, each check's own
    inputs, and the verdicts carried over (check -> the result they came from)."""

    base: str
    checks: dict[str, str]
    carried_from: dict[str, int]


@dataclass(frozen=True)
class Earlier:
    """A student's result in the latest run into a folder, for regrading what changed."""

    result_id: int
    submission_key: str | None
    base_key: str | None
    result: StudentResult
    check_keys: dict[str, str]


@dataclass(frozen=True)
class HistoryEntry:
    """One student in one run."""

    run: RunRecord
    result_id: int
    kept: bool
    submission_key: str | None
    grading_key: str
    result: StudentResult


def _url(target: str | Path) -> str:
    text = str(target)
    if "://" not in text:
        return "sqlite:///" + str(Path(text).expanduser().resolve())
    if text.startswith("postgresql://") or text.startswith("postgres://"):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


class Gradebook:
    """A course's gradebook. ``Gradebook.open(URL_OR_PATH)``; ``close()`` when done."""

    def __init__(self, engine: sa.Engine, where: str) -> None:
        self.engine = engine
        self.where = where

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, target: str | Path) -> Gradebook:
        """The gradebook at ``target`` (a file path or a database URL), its schema brought
        up to date; ``GradebookError`` saying why it cannot be used."""
        url = _url(target)
        try:
            parsed = sa.engine.make_url(url)
        except sa_exc.ArgumentError as exc:
            raise GradebookError(f"{target} is not a database URL or file path: {exc}") from exc
        where = parsed.render_as_string(hide_password=True)
        if parsed.get_backend_name() == "sqlite":
            where = parsed.database or where
            engine = _sqlite_engine(parsed)
            if not parsed.database:
                where = "(in memory)"
        else:
            try:
                engine = sa.create_engine(
                    parsed,
                    pool_pre_ping=True,
                    # A database in another encoding would hand back bytes, not text.
                    connect_args=(
                        {"client_encoding": "utf8"}
                        if parsed.get_backend_name() == "postgresql"
                        else {}
                    ),
                )
            except (ImportError, sa_exc.NoSuchModuleError) as exc:
                raise GradebookError(
                    f"The gradebook {where} needs a database driver that is not installed "
                    f"({exc}); for PostgreSQL: pip install 'grader[postgresql]'."
                ) from exc
        book = cls(engine, where)
        try:
            book._migrate()
        except BaseException:
            engine.dispose()
            raise
        return book

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        """A transaction; database failures become ``GradebookError`` with the reason,
        and nothing of the transaction is kept."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except sa_exc.DBAPIError as exc:
            raise GradebookError(self._explain(exc)) from exc

    def _explain(self, exc: sa_exc.DBAPIError) -> str:
        text = str(exc.orig) if exc.orig is not None else str(exc)
        low = text.lower()
        if "locked" in low or "busy" in low:
            why = (
                f"it stayed locked by another process for {_BUSY_SECONDS} s; run again "
                "when the other grader command has finished"
            )
        elif ("disk" in low and "full" in low) or "no space" in low:
            why = "the disk is full; free some space and run again"
        elif "not a database" in low or "malformed" in low or "encrypted" in low:
            why = "it is not a readable SQLite database (corrupt, or another kind of file)"
        elif "readonly" in low or "read-only" in low or "permission" in low:
            why = "it cannot be written here (read-only file or folder)"
        elif "unable to open" in low:
            why = "it cannot be opened (its folder is missing or not writable)"
        else:
            why = text.strip().splitlines()[0] if text.strip() else type(exc.orig).__name__
        return (
            f"The gradebook {self.where} cannot be used: {why}. Nothing already recorded "
            "in it is lost; a run can always be made again from the submissions."
        )

    def _migrate(self) -> None:
        # Nothing is written to a database before it is known to be a gradebook (or empty).
        with self._begin() as c:
            self._version(c)
        if self.engine.dialect.name == "sqlite":
            self._wal()
        with self._begin() as c:
            if self.engine.dialect.name == "postgresql":
                # Two graders opening a new gradebook at once: one migrates, the other waits.
                c.exec_driver_sql("SELECT pg_advisory_xact_lock(7160001)")
            version = self._version(c)  # again: another process may have migrated it
            for step in range(version, s.VERSION):
                s.MIGRATIONS[step](c)
            if version == 0:
                c.execute(sa.insert(s.meta).values(key="schema_version", value=str(s.VERSION)))
            elif version != s.VERSION:
                c.execute(
                    sa.update(s.meta)
                    .where(s.meta.c.key == "schema_version")
                    .values(value=str(s.VERSION))
                )

    def _wal(self) -> None:
        """WAL mode (readers never wait for the run writing), set outside any transaction."""
        raw = self.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA journal_mode=WAL")  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            raise GradebookError(
                self._explain(sa_exc.DBAPIError("PRAGMA journal_mode", None, exc))
            ) from exc
        finally:
            raw.close()

    def _version(self, c: sa.Connection) -> int:
        """The schema version (0: an empty database); ``GradebookError`` for a database
        this grader must not write to."""
        names = set(sa.inspect(c).get_table_names())
        if s.meta.name not in names:
            if names:
                raise GradebookError(
                    f"{self.where} is another program's database (tables: "
                    f"{', '.join(sorted(names)[:8])}), not a grader gradebook; it is left "
                    "as it is. Give another file with --gradebook."
                )
            return 0
        row = c.execute(sa.select(s.meta.c.value).where(s.meta.c.key == "schema_version")).first()
        try:
            version = int(row[0]) if row is not None else -1
        except ValueError:
            version = -1
        if version < 1:
            raise GradebookError(
                f"The gradebook {self.where} has no readable schema version: it was not "
                "written by the grader, or was damaged. It is left as it is."
            )
        if version > s.VERSION:
            raise GradebookError(
                f"The gradebook {self.where} was written by a newer grader (schema version "
                f"{version}; this grader knows up to {s.VERSION}). Upgrade the grader; the "
                "gradebook is left as it is."
            )
        return version

    def schema_version(self) -> int:
        with self._begin() as c:
            value = c.execute(
                sa.select(s.meta.c.value).where(s.meta.c.key == "schema_version")
            ).scalar_one()
        return int(value)

    # ------------------------------------------------------------ runs

    def start_run(
        self,
        *,
        assignment: str,
        grading_key: str,
        isolation: str,
        out_dir: Path,
        forced: bool,
        versions: dict[str, str],
        cluster: dict[str, Any] | None = None,
    ) -> int:
        with self._begin() as c:
            return int(
                c.execute(
                    sa.insert(s.runs).values(
                        assignment=assignment,
                        started_at=now(),
                        user=user(),
                        host=socket.gethostname(),
                        grader_version=versions.get("grader", ""),
                        tensorflow=versions.get("tensorflow", ""),
                        keras=versions.get("keras", ""),
                        grading_key=grading_key,
                        isolation=isolation,
                        cluster=None if cluster is None else json.dumps(cluster),
                        out_dir=str(out_dir.resolve()),
                        forced=int(forced),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )

    def finish_run(self, run_id: int, cluster: dict[str, Any] | None = None) -> None:
        with self._begin() as c:
            values: dict[str, Any] = {"finished_at": now()}
            if cluster is not None:
                values["cluster"] = json.dumps(cluster)
            c.execute(sa.update(s.runs).where(s.runs.c.id == run_id).values(**values))

    def record(
        self,
        run_id: int,
        assignment: str,
        result: StudentResult,
        *,
        submission_key: str | None,
        grading_key: str,
        kept: bool = False,
        inputs: Inputs | None = None,
    ) -> int:
        """``result`` as this run's for its student, committed before returning; the
        result's row (an identical earlier one is reused). ``inputs``: what its checks
        depended on, and which verdicts were carried over from which result."""
        digest = result_digest(result)
        with self._begin() as c:
            result_id = c.execute(
                sa.select(s.results.c.id).where(
                    s.results.c.assignment == assignment,
                    s.results.c.student == result.student,
                    s.results.c.digest == digest,
                    s.results.c.grading_key == grading_key,
                    _equal(s.results.c.submission_key, submission_key),
                )
            ).scalar()
            if result_id is None:
                result_id = self._insert_result(
                    c, assignment, result, digest, submission_key, grading_key, inputs
                )
            c.execute(
                sa.delete(s.run_students).where(
                    s.run_students.c.run_id == run_id,
                    s.run_students.c.student == result.student,
                )
            )
            c.execute(
                sa.insert(s.run_students).values(
                    run_id=run_id,
                    student=result.student,
                    result_id=result_id,
                    duration=float(result.duration),
                    kept=int(kept),
                )
            )
        return int(result_id)

    @staticmethod
    def _insert_result(
        c: sa.Connection,
        assignment: str,
        result: StudentResult,
        digest: str,
        submission_key: str | None,
        grading_key: str,
        inputs: Inputs | None,
    ) -> int:
        result_id = int(
            c.execute(
                sa.insert(s.results).values(
                    assignment=assignment,
                    student=result.student,
                    digest=digest,
                    submission_key=submission_key,
                    grading_key=grading_key,
                    status=result.status,
                    score=float(result.score),
                    max_score=float(result.max_score),
                    # In order (no sort_keys): files written from it read back the same.
                    body=json.dumps(result.to_dict()),
                    created_at=now(),
                    base_key=None if inputs is None else inputs.base,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        if result.checks:
            c.execute(
                sa.insert(s.checks),
                [
                    {
                        "result_id": result_id,
                        "name": check.name,
                        "function": check.function,
                        "status": check.status,
                        "points": float(check.points),
                        "max_points": float(check.max_points),
                        "visibility": check.visibility,
                        "input_key": None if inputs is None else inputs.checks.get(check.name),
                        "carried_from": None
                        if inputs is None
                        else inputs.carried_from.get(check.name),
                    }
                    for check in {check.name: check for check in result.checks}.values()
                ],
            )
        return result_id

    def reusable(
        self, assignment: str, grading_key: str, students: Sequence[str], out_dir: Path
    ) -> dict[str, tuple[str | None, StudentResult]]:
        """For each student, the result the latest run into ``out_dir`` that graded them
        with ``grading_key`` holds, if a rerun may keep it (the grader did not fail on
        it), and its submission key."""
        wanted = set(students)
        found: dict[str, tuple[str | None, StudentResult]] = {}
        query = (
            sa.select(s.results.c.student, s.results.c.submission_key, s.results.c.body)
            .join(s.run_students, s.run_students.c.result_id == s.results.c.id)
            .join(s.runs, s.runs.c.id == s.run_students.c.run_id)
            .where(
                s.runs.c.assignment == assignment,
                s.runs.c.out_dir == str(out_dir.resolve()),
                s.results.c.grading_key == grading_key,
            )
            .order_by(s.runs.c.id)
        )
        with self._begin() as c:
            for student, key, body in c.execute(query):
                if student not in wanted:
                    continue
                result = _result(body)
                if result is not None and result.student == student:
                    found[student] = (key, result)
        # The latest counts, even when the grader failed on it then: it is graded again.
        return {k: v for k, v in found.items() if v[1].status != "error"}

    def latest_in(
        self, assignment: str, out_dir: Path, students: Sequence[str]
    ) -> dict[str, Earlier]:
        """Each student's result in the latest run into ``out_dir`` that had them, with
        what its checks depended on (for regrading only what changed)."""
        wanted = set(students)
        query = (
            sa.select(
                s.results.c.id,
                s.results.c.student,
                s.results.c.submission_key,
                s.results.c.base_key,
                s.results.c.body,
            )
            .join(s.run_students, s.run_students.c.result_id == s.results.c.id)
            .join(s.runs, s.runs.c.id == s.run_students.c.run_id)
            .where(
                s.runs.c.assignment == assignment,
                s.runs.c.out_dir == str(out_dir.resolve()),
            )
            .order_by(s.runs.c.id)
        )
        latest: dict[str, tuple[int, str | None, str | None, str]] = {}
        with self._begin() as c:
            for result_id, student, skey, base, body in c.execute(query):
                if student in wanted:
                    latest[student] = (int(result_id), skey, base, body)
            ids = [v[0] for v in latest.values()]
            keys: dict[int, dict[str, str]] = {}
            for result_id, name, key in c.execute(
                sa.select(s.checks.c.result_id, s.checks.c.name, s.checks.c.input_key).where(
                    s.checks.c.result_id.in_(ids)
                )
            ):
                if key is not None:
                    keys.setdefault(int(result_id), {})[name] = key
        found = {}
        for student, (result_id, skey, base, body) in latest.items():
            result = _result(body)
            if result is not None and result.student == student:
                found[student] = Earlier(result_id, skey, base, result, keys.get(result_id, {}))
        return found

    def run_results(self, run_id: int) -> dict[str, StudentResult]:
        """Each student's result in run ``run_id``, with that run's grading time."""
        query = (
            sa.select(s.run_students.c.student, s.run_students.c.duration, s.results.c.body)
            .join(s.results, s.results.c.id == s.run_students.c.result_id)
            .where(s.run_students.c.run_id == run_id)
        )
        out: dict[str, StudentResult] = {}
        with self._begin() as c:
            for student, duration, body in c.execute(query):
                result = _result(body)
                if result is None:
                    raise GradebookError(
                        f"The gradebook {self.where} holds an unreadable result for "
                        f"{student!r}; grade again with --force."
                    )
                out[student] = dataclasses.replace(result, duration=duration)
        return out

    def runs(self, assignment: str | None = None) -> list[RunRecord]:
        counts = (
            sa.select(
                s.run_students.c.run_id,
                sa.func.count().label("students"),
                sa.func.sum(1 - s.run_students.c.kept).label("graded"),
            )
            .group_by(s.run_students.c.run_id)
            .subquery()
        )
        query = (
            sa.select(s.runs, counts.c.students, counts.c.graded)
            .outerjoin(counts, counts.c.run_id == s.runs.c.id)
            .order_by(s.runs.c.id)
        )
        if assignment is not None:
            query = query.where(s.runs.c.assignment == assignment)
        with self._begin() as c:
            return [_run(row) for row in c.execute(query).mappings()]

    def latest_run(self, assignment: str) -> RunRecord | None:
        finished = [r for r in self.runs(assignment) if r.finished_at is not None]
        return finished[-1] if finished else None

    def assignments(self) -> list[str]:
        with self._begin() as c:
            return sorted({row[0] for row in c.execute(sa.select(s.runs.c.assignment).distinct())})

    def history(self, assignment: str, student: str) -> list[HistoryEntry]:
        """The student in every run that graded or kept them, oldest first."""
        query = (
            sa.select(
                s.runs,
                s.run_students.c.result_id,
                s.run_students.c.kept,
                s.run_students.c.duration,
                s.results.c.submission_key,
                s.results.c.grading_key.label("result_grading_key"),
                s.results.c.body,
            )
            .join(s.run_students, s.run_students.c.run_id == s.runs.c.id)
            .join(s.results, s.results.c.id == s.run_students.c.result_id)
            .where(s.runs.c.assignment == assignment, s.run_students.c.student == student)
            .order_by(s.runs.c.id)
        )
        entries = []
        with self._begin() as c:
            for row in c.execute(query).mappings():
                result = _result(row["body"])
                if result is None:
                    continue
                entries.append(
                    HistoryEntry(
                        run=_run(row),
                        result_id=int(row["result_id"]),
                        kept=bool(row["kept"]),
                        submission_key=row["submission_key"],
                        grading_key=row["result_grading_key"],
                        result=result,
                    )
                )
        return entries

    def students(self, assignment: str) -> list[str]:
        with self._begin() as c:
            return sorted(
                {
                    row[0]
                    for row in c.execute(
                        sa.select(s.results.c.student)
                        .where(s.results.c.assignment == assignment)
                        .distinct()
                    )
                }
            )

    # ------------------------------------------------------------ adjustments

    def adjust(
        self,
        assignment: str,
        student: str,
        check: str | None,
        points: float,
        reason: str,
        *,
        seen_status: str | None,
        seen_score: float | None,
    ) -> Adjustment:
        """A new adjustment; one already in force for the same student and check (or
        total) is replaced, and kept in the history as removed."""
        when, who = now(), user()
        with self._begin() as c:
            c.execute(
                sa.update(s.adjustments)
                .where(*_same_target(assignment, student, check))
                .values(removed_at=when, removed_by=who)
            )
            new_id = c.execute(
                sa.insert(s.adjustments).values(
                    assignment=assignment,
                    student=student,
                    check_name=check,
                    points=float(points),
                    reason=reason,
                    author=who,
                    created_at=when,
                    seen_status=seen_status,
                    seen_score=seen_score,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        return Adjustment(
            int(new_id),
            assignment,
            student,
            check,
            float(points),
            reason,
            who,
            when,
            seen_status,
            seen_score,
        )

    def remove_adjustment(self, assignment: str, student: str, check: str | None) -> int:
        """Remove the adjustment in force for the student and check (or total); how many
        were removed (0 or 1)."""
        with self._begin() as c:
            done = c.execute(
                sa.update(s.adjustments)
                .where(*_same_target(assignment, student, check))
                .values(removed_at=now(), removed_by=user())
            )
            return int(done.rowcount or 0)

    def adjustments(
        self, assignment: str, student: str | None = None, *, removed: bool = False
    ) -> list[Adjustment]:
        """Adjustments of ``assignment`` (of one student), in force only unless ``removed``."""
        query = sa.select(s.adjustments).where(s.adjustments.c.assignment == assignment)
        if student is not None:
            query = query.where(s.adjustments.c.student == student)
        if not removed:
            query = query.where(s.adjustments.c.removed_at.is_(None))
        with self._begin() as c:
            return [_adjustment(row) for row in c.execute(query.order_by(s.adjustments.c.id))]

    # ------------------------------------------------------------ submission times

    def set_submission_times(
        self, assignment: str, times: dict[str, datetime], source: str
    ) -> None:
        if not times:
            return
        when = now()
        with self._begin() as c:
            c.execute(
                sa.delete(s.submission_times).where(
                    s.submission_times.c.assignment == assignment,
                    s.submission_times.c.student.in_(list(times)),
                )
            )
            c.execute(
                sa.insert(s.submission_times),
                [
                    {
                        "assignment": assignment,
                        "student": student,
                        "submitted_at": at.isoformat(),
                        "source": source,
                        "recorded_at": when,
                    }
                    for student, at in times.items()
                ],
            )

    def submission_times(self, assignment: str) -> dict[str, tuple[datetime, str]]:
        query = sa.select(
            s.submission_times.c.student,
            s.submission_times.c.submitted_at,
            s.submission_times.c.source,
        ).where(s.submission_times.c.assignment == assignment)
        with self._begin() as c:
            return {
                student: (datetime.fromisoformat(at), source)
                for student, at, source in c.execute(query)
            }


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    database = url.database or ""
    if database and database != ":memory:":
        path = Path(database)
        if path.is_dir():
            raise GradebookError(f"The gradebook {path} is a folder, not a file.")
        if not path.parent.is_dir():
            raise GradebookError(
                f"The gradebook {path} cannot be created: its folder {path.parent} does not exist."
            )
        if not path.exists():
            # Grades are private: the file is the instructor's alone from its first byte.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    engine = sa.create_engine(url, connect_args={"timeout": _BUSY_SECONDS})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, record: Any) -> None:
        # The driver's own transaction handling leaves DDL outside any transaction: a
        # migration cut short would be half done. Transactions are begun below instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # WAL is set once the file is known to be ours (Gradebook._migrate).
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        # IMMEDIATE: the write lock first, so two graders that read then write (a
        # migration, a result) wait for each other instead of failing.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _equal(column: sa.ColumnElement[Any], value: Any) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _same_target(assignment: str, student: str, check: str | None) -> list[Any]:
    return [
        s.adjustments.c.assignment == assignment,
        s.adjustments.c.student == student,
        _equal(s.adjustments.c.check_name, check),
        s.adjustments.c.removed_at.is_(None),
    ]


def _result(body: str) -> StudentResult | None:
    try:
        return StudentResult.from_dict(json.loads(body))
    except (ValueError, TypeError, KeyError):
        return None


def _run(row: Any) -> RunRecord:
    return RunRecord(
        id=int(row["id"]),
        assignment=row["assignment"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        user=row["user"],
        host=row["host"],
        grader_version=row["grader_version"],
        tensorflow=row["tensorflow"],
        keras=row["keras"],
        grading_key=row["grading_key"],
        isolation=row["isolation"],
        out_dir=row["out_dir"],
        forced=bool(row["forced"]),
        students=int(row.get("students") or 0),
        graded=int(row.get("graded") or 0),
    )


def _adjustment(row: Any) -> Adjustment:
    m = row._mapping
    return Adjustment(
        id=int(m["id"]),
        assignment=m["assignment"],
        student=m["student"],
        check=m["check_name"],
        points=float(m["points"]),
        reason=m["reason"],
        author=m["author"],
        created_at=m["created_at"],
        seen_status=m["seen_status"],
        seen_score=m["seen_score"],
        removed_at=m["removed_at"],
        removed_by=m["removed_by"],
    )
