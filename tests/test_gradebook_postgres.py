"""The gradebook on a real PostgreSQL server: migrations, every read and write of the
public API, refusing a database it must not touch, and ``grader history`` against it.

One server for the module (started by the tests, as the ``postgres`` user when run as
root, on a Unix socket in a private folder, trust auth), a fresh database per test.
Skipped when no PostgreSQL server binaries are installed or the server cannot start."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from grader.errors import GradebookError
from grader.gradebook import schema
from grader.gradebook.book import Gradebook, Inputs
from grader.results import CheckResult, StudentResult

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "regularization"
GRADER = [sys.executable, "-m", "grader"]
PORT = 5432  # only a socket in the server's own folder: no clash with another server


def _bindir() -> Path | None:
    """The folder holding initdb and pg_ctl (Debian keeps them off PATH)."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


@dataclass(frozen=True)
class Server:
    socket_dir: str

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={PORT}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=self.socket_dir, port=PORT, user="postgres", dbname=database, autocommit=True
        )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl): the postgresql package")
    prefix: list[str] = []
    if os.geteuid() == 0:
        # postgres refuses to run as root.
        runuser = shutil.which("runuser")
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
        if runuser is None:
            pytest.skip("running as root and runuser is missing to start postgres as its user")
        prefix = [runuser, "-u", "postgres", "--"]
    base = tempfile.mkdtemp(prefix="grader-pg-")
    if prefix:
        os.chown(base, account.pw_uid, account.pw_gid)
    data, log = os.path.join(base, "data"), os.path.join(base, "log")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, *args], cwd=base, capture_output=True, text=True, timeout=60, check=False
        )

    started = False
    try:
        initdb = ["-D", data, "-A", "trust", "-U", "postgres", "--no-locale", "-E", "UTF8"]
        made = run(str(bindir / "initdb"), *initdb, "--no-sync")
        if made.returncode != 0:
            pytest.skip(f"initdb failed: {(made.stderr or made.stdout).strip()[-500:]}")
        options = f"-c listen_addresses='' -k {base} -p {PORT} -c fsync=off"
        up = run(str(bindir / "pg_ctl"), "-D", data, "-l", log, "-w", "-o", options, "start")
        started = True
        if up.returncode != 0:
            tail = Path(log).read_text(errors="replace")[-500:] if Path(log).exists() else ""
            pytest.skip(f"the PostgreSQL server did not start: {up.stderr.strip()} {tail}")
        yield Server(base)
    finally:
        if started:
            run(str(bindir / "pg_ctl"), "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def database(server: Server) -> str:
    """A new empty database's name."""
    name = "gb_" + uuid.uuid4().hex[:16]
    with server.connect() as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return name


# ---------------------------------------------------------------- helpers


def result(student: str = "ada", points: float = 2.0, duration: float = 1.0) -> StudentResult:
    checks = (
        CheckResult(
            name="test_penalty_value",
            function="penalty",
            description="penalty is right",
            points=points,
            max_points=2.0,
            status="passed" if points == 2.0 else "failed",
        ),
        CheckResult(
            name="test_l2_shape",
            function="l2",
            description="shape",
            points=1.0,
            max_points=1.0,
            status="passed",
            visibility="hidden",
        ),
    )
    return StudentResult(
        student=student,
        score=points + 1.0,
        max_score=3.0,
        status="graded",
        checks=checks,
        duration=duration,
        output="épsilon ✓ 'quoted' \"too\"",
    )


def start(book: Gradebook, out: Path, key: str = "k1") -> int:
    return book.start_run(
        assignment=ASSIGNMENT,
        grading_key=key,
        isolation="bubblewrap",
        out_dir=out,
        forced=False,
        versions={"grader": "0.1.0", "tensorflow": "2.21.0", "keras": "3.15.1"},
        cluster={"scheduler": "local", "workers": 2},
    )


def columns(server: Server, database: str) -> dict[str, set[str]]:
    with server.connect(database) as c:
        rows = c.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public'"
        ).fetchall()
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return out


LATEST = {t.name: {c.name for c in t.columns} for t in schema.metadata.sorted_tables}


def snapshot(server: Server, database: str) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, to show a database was left exactly as it was."""
    with server.connect(database) as c:
        names = [
            row[0]
            for row in c.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' ORDER BY table_name"
            )
        ]
        return {n: sorted(map(tuple, c.execute(f'SELECT * FROM "{n}"').fetchall())) for n in names}


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """The SQL every engine sends while the test runs."""
    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", capture)
    yield seen
    sa.event.remove(sa.Engine, "before_cursor_execute", capture)


# ---------------------------------------------------------------- schema


def test_a_new_database_gets_the_latest_schema_and_a_second_open_changes_nothing(
    server, database, statements, tmp_path
):
    url = server.url(database)
    with Gradebook.open(url) as book:
        assert book.engine.dialect.name == "postgresql"
        assert book.schema_version() == schema.VERSION
        run = start(book, tmp_path / "out")
        book.record(run, ASSIGNMENT, result(), submission_key="s1", grading_key="k1")
    assert columns(server, database) == LATEST
    before = snapshot(server, database)
    statements.clear()
    with Gradebook.open(url) as book:
        assert book.schema_version() == schema.VERSION
    writes = [
        q
        for q in statements
        if q.lstrip().split(None, 1)[0].upper() in {"CREATE", "ALTER", "INSERT", "UPDATE", "DROP"}
    ]
    assert statements and writes == []
    assert snapshot(server, database) == before


def test_a_first_version_gradebook_migrates_to_the_latest_with_its_data(server, database):
    engine = sa.create_engine(
        server.url(database).replace("postgresql://", "postgresql+psycopg://")
    )
    old = result(duration=4.0)
    with engine.begin() as c:
        schema.MIGRATIONS[0](c)
        c.execute(sa.insert(schema.meta).values(key="schema_version", value="1"))
        run_id = c.execute(
            sa.text(
                'INSERT INTO runs (assignment, started_at, finished_at, "user", host, '
                "grader_version, tensorflow, keras, grading_key, isolation, cluster, out_dir, "
                "forced) VALUES (:a, '2026-11-01T10:00:00+00:00', "
                "'2026-11-01T10:05:00+00:00', 'teacher', 'h', '0.0.9', '2.20.0', '3.10.0', "
                "'k0', 'bubblewrap', NULL, '/srv/out', 0) RETURNING id"
            ),
            {"a": ASSIGNMENT},
        ).scalar_one()
        result_id = c.execute(
            sa.text(
                "INSERT INTO results (assignment, student, digest, submission_key, grading_key, "
                "status, score, max_score, body, created_at) VALUES (:a, 'ada', 'd0', 's0', "
                "'k0', 'graded', 3, 3, :body, '2026-11-01T10:01:00+00:00') RETURNING id"
            ),
            {"a": ASSIGNMENT, "body": json.dumps(old.to_dict())},
        ).scalar_one()
        c.execute(
            sa.text(
                "INSERT INTO check_results VALUES (:r, 'test_penalty_value', 'penalty', "
                "'passed', 2, 2, 'visible')"
            ),
            {"r": result_id},
        )
        c.execute(
            sa.text("INSERT INTO run_students VALUES (:run, 'ada', :r, 4.0, 0)"),
            {"run": run_id, "r": result_id},
        )
    engine.dispose()
    first_tables = {"grader_meta", "runs", "results", "check_results", "run_students"}
    assert set(columns(server, database)) == first_tables

    with Gradebook.open(server.url(database)) as book:
        assert book.schema_version() == schema.VERSION
        (entry,) = book.history(ASSIGNMENT, "ada")
        assert (entry.run.id, entry.run.user, entry.run.out_dir) == (run_id, "teacher", "/srv/out")
        assert (entry.result_id, entry.submission_key, entry.grading_key) == (result_id, "s0", "k0")
        assert entry.result == old
        assert book.run_results(run_id) == {"ada": old}
        # What later versions added works on the migrated database.
        book.adjust(ASSIGNMENT, "ada", None, 1.0, "bonus", seen_status=None, seen_score=3.0)
        book.set_submission_times(ASSIGNMENT, {"ada": datetime(2026, 11, 1, tzinfo=UTC)}, "csv")
        new_run = start(book, Path("/srv/out"), key="k1")
        assert new_run != run_id  # the sequence was not disturbed
        book.record(
            new_run,
            ASSIGNMENT,
            result(),
            submission_key="s0",
            grading_key="k1",
            inputs=Inputs("base", {"test_penalty_value": "i1"}, {}),
        )
        earlier = book.latest_in(ASSIGNMENT, Path("/srv/out"), ["ada"])["ada"]
        assert (earlier.base_key, earlier.check_keys) == ("base", {"test_penalty_value": "i1"})
    assert columns(server, database) == LATEST
    with server.connect(database) as c:
        assert c.execute("SELECT key, value FROM grader_meta").fetchall() == [
            ("schema_version", str(schema.VERSION))
        ]
        # The first version's check row is kept, its new columns empty.
        assert c.execute(
            "SELECT input_key, carried_from FROM check_results WHERE result_id = %s", (result_id,)
        ).fetchall() == [(None, None)]


# ---------------------------------------------------------------- the API


def test_runs_results_history_and_reuse_round_trip(server, database, tmp_path):
    out = tmp_path / "out"
    with Gradebook.open(server.url(database)) as book:
        first = start(book, out)
        a = book.record(first, ASSIGNMENT, result(), submission_key="s1", grading_key="k1")
        book.record(first, ASSIGNMENT, result("bob", 0.0), submission_key="b1", grading_key="k1")
        failed = StudentResult("cy", 0.0, 3.0, "error", error="the grader failed")
        book.record(first, ASSIGNMENT, failed, submission_key="c1", grading_key="k1")
        book.finish_run(first)

        second = start(book, out)
        # Same verdicts in another time: the same row, the run's own duration.
        b = book.record(
            second, ASSIGNMENT, result(duration=9.5), submission_key="s1", grading_key="k1"
        )
        assert a == b
        book.record(
            second,
            ASSIGNMENT,
            result("bob", 0.0),
            submission_key="b1",
            grading_key="k1",
            kept=True,
        )
        # Recorded again in the same run: the later one counts.
        book.record(second, ASSIGNMENT, result("bob", 2.0), submission_key="b2", grading_key="k1")

        assert book.run_results(first)["ada"].duration == 1.0
        assert book.run_results(second)["ada"].duration == 9.5
        assert book.run_results(second)["ada"] == result(duration=9.5)
        assert book.run_results(first)["cy"] == failed
        assert sorted(book.run_results(second)) == ["ada", "bob"]
        assert book.run_results(second)["bob"].score == 3.0

        runs = book.runs(ASSIGNMENT)
        assert [(r.id, r.students, r.graded) for r in runs] == [(first, 3, 3), (second, 2, 2)]
        assert runs[0].finished_at is not None and runs[1].finished_at is None
        assert (runs[0].keras, runs[0].isolation, runs[0].host) == (
            "3.15.1",
            "bubblewrap",
            runs[1].host,
        )
        assert runs[0].out_dir == str(out.resolve()) and runs[0].forced is False
        assert book.runs("another") == []
        assert book.latest_run(ASSIGNMENT).id == first
        assert book.assignments() == [ASSIGNMENT]
        assert book.students(ASSIGNMENT) == ["ada", "bob", "cy"]

        history = book.history(ASSIGNMENT, "bob")
        assert [(h.run.id, h.kept, h.submission_key, h.result.score) for h in history] == [
            (first, False, "b1", 1.0),
            (second, False, "b2", 3.0),
        ]

        # The grader's failure is graded again; another grading key reuses nothing.
        reuse = book.reusable(ASSIGNMENT, "k1", ["ada", "bob", "cy", "dan"], out)
        assert {k: (v[0], v[1].score) for k, v in reuse.items()} == {
            "ada": ("s1", 3.0),
            "bob": ("b2", 3.0),
        }
        assert book.reusable(ASSIGNMENT, "k2", ["ada"], out) == {}
        assert book.reusable(ASSIGNMENT, "k1", ["ada"], tmp_path / "elsewhere") == {}

    with server.connect(database) as c:
        count = c.execute("SELECT count(*) FROM results WHERE student = 'ada'").fetchone()[0]
        assert count == 1
        assert c.execute("SELECT count(*) FROM run_students").fetchone()[0] == 5
        assert c.execute("SELECT count(*) FROM check_results").fetchone()[0] == 6


def test_adjustments_and_submission_times_round_trip(server, database):
    with Gradebook.open(server.url(database)) as book:
        first = book.adjust(
            ASSIGNMENT,
            "ada",
            "test_penalty_value",
            1.5,
            "partial credit",
            seen_status="failed",
            seen_score=None,
        )
        total = book.adjust(
            ASSIGNMENT, "ada", None, -0.5, "copied a line", seen_status=None, seen_score=3.0
        )
        replaced = book.adjust(
            ASSIGNMENT,
            "ada",
            "test_penalty_value",
            2.0,
            "full credit after all",
            seen_status="failed",
            seen_score=None,
        )
        book.adjust(ASSIGNMENT, "bob", None, 1.0, "bonus", seen_status=None, seen_score=1.0)
        assert replaced.id > total.id > first.id

        in_force = book.adjustments(ASSIGNMENT, "ada")
        assert in_force == [total, replaced]
        assert [a.student for a in book.adjustments(ASSIGNMENT)] == ["ada", "ada", "bob"]

        assert book.remove_adjustment(ASSIGNMENT, "ada", None) == 1
        assert book.remove_adjustment(ASSIGNMENT, "ada", None) == 0
        assert book.remove_adjustment(ASSIGNMENT, "ada", "no_such_check") == 0
        assert book.adjustments(ASSIGNMENT, "ada") == [replaced]
        every = book.adjustments(ASSIGNMENT, "ada", removed=True)
        assert [(a.id, a.points, a.removed_at is not None) for a in every] == [
            (first.id, 1.5, True),
            (total.id, -0.5, True),
            (replaced.id, 2.0, False),
        ]
        assert every[0].removed_by == first.author and every[0].seen_status == "failed"
        assert every[1].seen_score == 3.0 and every[1].check is None

        paris = timezone(timedelta(hours=1))
        times = {
            "ada": datetime(2026, 12, 2, 10, 0, 0, 123456, tzinfo=paris),
            "bob": datetime(2026, 12, 1, 22, 0, tzinfo=UTC),
        }
        book.set_submission_times(ASSIGNMENT, times, "times.csv")
        book.set_submission_times(ASSIGNMENT, {}, "nothing")
        got = book.submission_times(ASSIGNMENT)
        assert got == {k: (v, "times.csv") for k, v in times.items()}
        assert got["ada"][0].utcoffset() == timedelta(hours=1)
        later = datetime(2026, 12, 3, tzinfo=UTC)
        book.set_submission_times(ASSIGNMENT, {"ada": later}, "gradescope")
        assert book.submission_times(ASSIGNMENT) == {
            "ada": (later, "gradescope"),
            "bob": (times["bob"], "times.csv"),
        }
        assert book.submission_times("another") == {}


def test_two_graders_opening_a_new_gradebook_at_once_both_get_it(server, database):
    """One grader is paused mid-migration (its first table created, not committed) while
    another opens the same new database: the second must wait and then find it made."""
    url = server.url(database)
    paused, resume = threading.Event(), threading.Event()
    first: list[BaseException | int] = []

    def pause(conn, cursor, statement, parameters, context, executemany) -> None:
        mine = threading.current_thread().name == "first" and not paused.is_set()
        if mine and statement.lstrip().upper().startswith("CREATE TABLE"):
            paused.set()
            resume.wait(30)

    def open_first() -> None:
        try:
            with Gradebook.open(url) as book:
                first.append(book.schema_version())
        except BaseException as exc:
            first.append(exc)

    sa.event.listen(sa.Engine, "after_cursor_execute", pause)
    thread = threading.Thread(target=open_first, name="first")
    second: list[BaseException | int] = []
    waiting = 0
    other = threading.Thread(
        target=lambda: second.append(_open_version(url)), name="second", daemon=True
    )
    try:
        thread.start()
        assert paused.wait(30)
        other.start()
        # The second waits on a lock held by the paused first (whichever lock it is).
        with server.connect() as admin:
            deadline = time.monotonic() + 30
            while other.is_alive() and time.monotonic() < deadline:
                waiting = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = %s AND wait_event_type = 'Lock'",
                    (database,),
                ).fetchone()[0]
                if waiting:
                    break
                time.sleep(0.02)
    finally:
        resume.set()
        thread.join(60)
        sa.event.remove(sa.Engine, "after_cursor_execute", pause)
    other.join(60)
    assert waiting == 1  # the second did open while the first was mid-migration
    assert first == [schema.VERSION]
    assert second == [schema.VERSION]
    assert columns(server, database) == LATEST


def _open_version(url: str) -> BaseException | int:
    try:
        with Gradebook.open(url) as book:
            return book.schema_version()
    except BaseException as exc:
        return exc


# ---------------------------------------------------------------- refused


def test_another_programs_database_is_refused_and_left_alone(server, database):
    with server.connect(database) as c:
        c.execute("CREATE TABLE invoices (id INTEGER, amount NUMERIC)")
        c.execute("INSERT INTO invoices VALUES (1, 9.5)")
    before = snapshot(server, database)
    with pytest.raises(GradebookError, match=r"another program's database.*invoices"):
        Gradebook.open(server.url(database))
    assert snapshot(server, database) == before
    assert set(before) == {"invoices"}


def test_a_newer_graders_gradebook_is_refused_and_left_alone(server, database, tmp_path):
    url = server.url(database)
    with Gradebook.open(url) as book:
        book.record(
            start(book, tmp_path), ASSIGNMENT, result(), submission_key="s", grading_key="k"
        )
    with server.connect(database) as c:
        c.execute("UPDATE grader_meta SET value = '99' WHERE key = 'schema_version'")
    before = snapshot(server, database)
    with pytest.raises(GradebookError, match=r"newer grader \(schema version 99.*Upgrade"):
        Gradebook.open(url)
    assert snapshot(server, database) == before


def test_a_missing_database_or_server_is_a_clear_error(server, database):
    missing = server.url("gb_no_such_database")
    with pytest.raises(GradebookError, match=r'cannot be used: .*"gb_no_such_database" does not'):
        Gradebook.open(missing)
    nobody = server.url(database).replace(f"port={PORT}", f"port={PORT + 1}")
    with pytest.raises(GradebookError, match=r"cannot be used: .*Nothing already recorded"):
        Gradebook.open(nobody)


def test_a_database_not_in_utf8_still_works(server, tmp_path):
    name = "gb_" + uuid.uuid4().hex[:16]
    with server.connect() as c:
        c.execute(
            f"CREATE DATABASE {name} ENCODING 'SQL_ASCII' TEMPLATE template0 "
            "LC_COLLATE 'C' LC_CTYPE 'C'"
        )
    with Gradebook.open(server.url(name)) as book:
        run = start(book, tmp_path)
        book.record(run, ASSIGNMENT, result("élève"), submission_key="s", grading_key="k")
        assert book.run_results(run) == {"élève": result("élève")}


# ---------------------------------------------------------------- the CLI


def test_grader_history_reads_a_postgresql_gradebook(server, database, tmp_path):
    url = server.url(database)
    out = tmp_path / "out"
    with Gradebook.open(url) as book:
        run = start(book, out)
        book.record(run, ASSIGNMENT, result(), submission_key="s1", grading_key="k1")
        book.record(run, ASSIGNMENT, result("bob", 0.0), submission_key="b1", grading_key="k1")
        book.finish_run(run)
        (record,) = book.runs(ASSIGNMENT)
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    env.pop("GRADER_GRADEBOOK", None)
    done = subprocess.run(
        [*GRADER, "--course", str(ROOT), "history", "--assignment", ASSIGNMENT, "--gradebook", url],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # The title names the server's database (the password, if any, hidden).
    assert f"1 runs (postgresql+psycopg://postgres@/{database}?" in done.stdout
    (line,) = [line for line in done.stdout.splitlines() if str(out) in line]
    cells = [cell.strip() for cell in line.replace("│", "|").split("|") if cell.strip()]
    assert cells[:5] == [str(run), record.started_at[:19].replace("T", " "), record.user, "2", "2"]
    assert "0.1.0 (Keras 3.15.1)" in cells
