"""The gradebook's tables, and the migrations that build them from any earlier version.

Each migration takes the database from one version to the next and is never edited once
released: a gradebook written by any earlier grader is brought up to date, in one
transaction, when a newer grader opens it. The tables below are the latest version's,
for queries; the migrations spell out their own DDL.

Version 1: runs, results (one row per distinct result of a student), each result's
checks, and which result each student had in each run.
Version 2: instructor adjustments.
Version 3: submission times, for the late policy.
Version 4: what each check's verdict depended on, and which verdicts a regrade carried
over from an earlier result (regrading only what changed).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

__all__ = ["MIGRATIONS", "VERSION", "metadata", "tables"]

metadata = sa.MetaData()

meta = sa.Table(
    "grader_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("assignment", sa.String(200), nullable=False, index=True),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("user", sa.String(200), nullable=False),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("grader_version", sa.String(40), nullable=False),
    sa.Column("tensorflow", sa.String(40), nullable=False),
    sa.Column("keras", sa.String(40), nullable=False),
    sa.Column("grading_key", sa.String(64), nullable=False),
    sa.Column("isolation", sa.String(40), nullable=False),
    sa.Column("cluster", sa.Text),  # JSON: scheduler and workers
    sa.Column("out_dir", sa.Text, nullable=False),
    sa.Column("forced", sa.Integer, nullable=False),
)

results = sa.Table(
    "results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("assignment", sa.String(200), nullable=False),
    sa.Column("student", sa.Text, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("submission_key", sa.String(64)),
    sa.Column("grading_key", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("max_score", sa.Float, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the StudentResult as results.json has it
    sa.Column("created_at", sa.String(40), nullable=False),
    # What every check depends on (engine.dependencies); None before version 4.
    sa.Column("base_key", sa.String(64)),
    sa.UniqueConstraint("assignment", "student", "digest", "grading_key", "submission_key"),
    sa.Index("results_lookup", "assignment", "grading_key", "student"),
)

checks = sa.Table(
    "check_results",
    metadata,
    sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id"), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("function", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("points", sa.Float, nullable=False),
    sa.Column("max_points", sa.Float, nullable=False),
    sa.Column("visibility", sa.String(20), nullable=False),
    sa.Column("input_key", sa.String(64)),  # what its verdict depended on
    sa.Column("carried_from", sa.Integer),  # the result its verdict was carried over from
)

run_students = sa.Table(
    "run_students",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("student", sa.Text, primary_key=True),
    sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id"), nullable=False),
    sa.Column("duration", sa.Float, nullable=False),
    sa.Column("kept", sa.Integer, nullable=False),  # 1: an earlier run's result, not regraded
)

adjustments = sa.Table(
    "adjustments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("assignment", sa.String(200), nullable=False, index=True),
    sa.Column("student", sa.Text, nullable=False),
    sa.Column("check_name", sa.String(200)),  # None: the total
    sa.Column("points", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    # What the instructor saw: the check's verdict (or the raw score, for the total).
    sa.Column("seen_status", sa.String(20)),
    sa.Column("seen_score", sa.Float),
    sa.Column("removed_at", sa.String(40)),
    sa.Column("removed_by", sa.String(200)),
)

submission_times = sa.Table(
    "submission_times",
    metadata,
    sa.Column("assignment", sa.String(200), primary_key=True),
    sa.Column("student", sa.Text, primary_key=True),
    sa.Column("submitted_at", sa.String(40), nullable=False),
    sa.Column("source", sa.Text, nullable=False),  # where the time came from
    sa.Column("recorded_at", sa.String(40), nullable=False),
)

tables = {t.name: t for t in metadata.sorted_tables}


# ---------------------------------------------------------------- migrations


def _v1(connection: sa.Connection) -> None:
    m = sa.MetaData()
    sa.Table(
        "grader_meta",
        m,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    sa.Table(
        "runs",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False, index=True),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("finished_at", sa.String(40)),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("grader_version", sa.String(40), nullable=False),
        sa.Column("tensorflow", sa.String(40), nullable=False),
        sa.Column("keras", sa.String(40), nullable=False),
        sa.Column("grading_key", sa.String(64), nullable=False),
        sa.Column("isolation", sa.String(40), nullable=False),
        sa.Column("cluster", sa.Text),
        sa.Column("out_dir", sa.Text, nullable=False),
        sa.Column("forced", sa.Integer, nullable=False),
    )
    sa.Table(
        "results",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False),
        sa.Column("student", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("submission_key", sa.String(64)),
        sa.Column("grading_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("max_score", sa.Float, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("assignment", "student", "digest", "grading_key", "submission_key"),
        sa.Index("results_lookup", "assignment", "grading_key", "student"),
    )
    sa.Table(
        "check_results",
        m,
        sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id"), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("function", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("max_points", sa.Float, nullable=False),
        sa.Column("visibility", sa.String(20), nullable=False),
    )
    sa.Table(
        "run_students",
        m,
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("student", sa.Text, primary_key=True),
        sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id"), nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("kept", sa.Integer, nullable=False),
    )
    m.create_all(connection)


def _v2(connection: sa.Connection) -> None:
    m = sa.MetaData()
    sa.Table(
        "adjustments",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("assignment", sa.String(200), nullable=False, index=True),
        sa.Column("student", sa.Text, nullable=False),
        sa.Column("check_name", sa.String(200)),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("seen_status", sa.String(20)),
        sa.Column("seen_score", sa.Float),
        sa.Column("removed_at", sa.String(40)),
        sa.Column("removed_by", sa.String(200)),
    )
    m.create_all(connection)


def _v3(connection: sa.Connection) -> None:
    m = sa.MetaData()
    sa.Table(
        "submission_times",
        m,
        sa.Column("assignment", sa.String(200), primary_key=True),
        sa.Column("student", sa.Text, primary_key=True),
        sa.Column("submitted_at", sa.String(40), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
    )
    m.create_all(connection)


def _v4(connection: sa.Connection) -> None:
    for table, column, kind in (
        ("results", "base_key", "VARCHAR(64)"),
        ("check_results", "input_key", "VARCHAR(64)"),
        ("check_results", "carried_from", "INTEGER"),
    ):
        connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


# MIGRATIONS[i] takes a gradebook from version i to version i + 1.
MIGRATIONS: tuple[Callable[[sa.Connection], None], ...] = (_v1, _v2, _v3, _v4)
VERSION = len(MIGRATIONS)
