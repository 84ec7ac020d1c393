"""Grading a class on a Dask cluster (``grader run SUBMISSIONS --scheduler tcp://HOST:8786``).

The client (the CLI) never imports TensorFlow: it finds and reads the submissions, ships
each one as data and writes every output exactly as a local run does (see ``runner``).
Each Dask worker process starts one grading process of its own, which keeps a prepared
``GradingSession`` per assignment, limits and isolation level for as long as it lives, so
it pays TensorFlow, the workers' template and the reference once; students are graded
there one at a time, each in a sandboxed worker of its own, as locally. The Dask worker
process only relays (its threads would disturb the reference: see ``grade_remote``).

What crosses to a Dask worker: the assignment's folder, its reference and the course
secret (once per run, broadcast), and per student the submission's bytes, name and file
name. What comes back: the student's result as JSON and the worker's address. Dask
itself moves these between the grader's own processes (client, scheduler, workers);
student code never runs in any of them.

Verdicts must not depend on which machine graded them: a worker whose grader (version
or source), TensorFlow, Keras or numpy differs from the client's is refused, before the
run and again by every task (workers may join mid-run); so is a cluster whose workers
cannot all isolate student code at the run's level.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader import __version__
from grader.checks.secret import SECRET_ENV, course_secret
from grader.errors import GraderError, UsageError
from grader.sandbox.isolation import (
    LEVELS,
    SAFE_LEVEL,
    WEAK_LEVEL_RISKS,
    Level,
    available,
    level_named,
    require,
)

if TYPE_CHECKING:
    from grader.assignment import Assignment
    from grader.engine.session import GradingSession
    from grader.sandbox.limits import Limits
    from grader.submissions import Submission

__all__ = [
    "ClusterInfo",
    "GradingProcessDied",
    "WorkerRefused",
    "choose_cluster_level",
    "connect",
    "grade_on_cluster",
    "worker_facts",
]

# What must be equal on the client and every worker for verdicts to be the same.
_SAME = ("grader", "grader_source", "tensorflow", "keras", "numpy", "python", "onednn")
_WORKERS_TIMEOUT = 60  # seconds to wait for a first worker


class WorkerRefused(GraderError):
    """A Dask worker that must not grade this run (other versions, weaker isolation)."""


@dataclass(frozen=True)
class ClusterInfo:
    """The cluster a run grades on, as the summary's run facts name it."""

    scheduler: str
    workers: tuple[str, ...]  # "host (address)" of each worker that was checked
    level: Level


# ---------------------------------------------------------------- facts


@functools.cache
def _grader_source_digest() -> str:
    """The grader's own Python files: two installs of one version may still differ."""
    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix().encode()
        data = path.read_bytes()
        h.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def _version(*names: str) -> str:
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(name)
    return ""


def worker_facts() -> dict[str, Any]:
    """What this process would grade with (run on each worker, and on the client); no
    TensorFlow import."""
    return {
        "grader": __version__,
        "grader_source": _grader_source_digest(),
        "tensorflow": _version("tensorflow-cpu", "tensorflow"),
        "keras": _version("keras"),
        "numpy": _version("numpy"),
        "python": platform.python_version(),
        # oneDNN's kernels round differently: grading processes turn them off by default.
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "0"),
        "host": socket.gethostname(),
        "levels": [level for level in LEVELS if available(level)],
    }


def _differences(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    out = []
    for key in _SAME:
        if mine.get(key) != theirs.get(key):
            if key == "grader_source":
                out.append("the grader's source files differ (same version, other code)")
            else:
                out.append(f"{key} {theirs.get(key) or 'missing'} (here {mine.get(key)})")
    return out


def _refusal(address: str, facts: dict[str, Any], why: Sequence[str]) -> str:
    return f"{facts.get('host', '?')} ({address}): " + "; ".join(why)


# ---------------------------------------------------------------- the client


def connect(scheduler: str) -> Any:
    """A Dask client on ``scheduler``; ``UsageError`` when it cannot be reached or has no
    worker."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise UsageError(
            "Grading on a Dask cluster needs the distributed package: "
            "pip install 'grader[cluster]' (on the client and every worker)."
        ) from exc
    try:
        # Dask's own connect timeout (distributed.comm.timeouts.connect, 30 s by default).
        client = Client(scheduler, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    try:
        client.wait_for_workers(1, timeout=_WORKERS_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise UsageError(
            f"The Dask scheduler at {scheduler} has no worker (waited {_WORKERS_TIMEOUT} s). "
            "Start workers with: dask worker " + scheduler + " --nthreads 1"
        ) from exc
    return client


def _checked_workers(client: Any) -> dict[str, dict[str, Any]]:
    """Every worker's facts; ``UsageError`` naming each worker that differs from here."""
    mine = worker_facts()
    facts: dict[str, dict[str, Any]] = client.run(worker_facts)
    refused = [
        _refusal(address, theirs, why)
        for address, theirs in sorted(facts.items())
        if (why := _differences(mine, theirs))
    ]
    if refused:
        raise UsageError(
            "Refusing to grade on this cluster: these workers would grade with other software "
            "than this machine's, and verdicts must not depend on which machine graded them. "
            + " | ".join(refused)
            + ". Install the same grader, TensorFlow, Keras and numpy everywhere."
        )
    return facts


def choose_cluster_level(
    scheduler: str,
    requested: str | None = None,
    *,
    allow_weak: bool = False,
    strict: str | None = None,
) -> ClusterInfo:
    """Check the cluster's workers and pick the run's isolation level: ``requested``
    (every worker must offer it) or the strongest every worker offers, with the same
    refusals below landlock as a local run. ``UsageError`` for anything unusable."""
    client = connect(scheduler)
    try:
        facts = _checked_workers(client)
    finally:
        client.close()
    offered = [level for level in LEVELS if all(level in f["levels"] for f in facts.values())]
    level: Level
    if requested is not None:
        level = level_named(requested)
        lacking = [
            _refusal(address, f, [f"offers {', '.join(f['levels'])}"])
            for address, f in sorted(facts.items())
            if level not in f["levels"]
        ]
        if lacking:
            raise UsageError(
                f"Isolation level {level!r} is not available on every worker of the cluster: "
                + " | ".join(lacking)
                + "."
            )
    else:
        level = offered[-1]
    require(level, strict)
    if LEVELS.index(level) < LEVELS.index(SAFE_LEVEL) and not allow_weak:
        weak = [
            _refusal(address, f, [f"offers only {', '.join(f['levels'])}"])
            for address, f in sorted(facts.items())
            if SAFE_LEVEL not in f["levels"]
        ]
        raise UsageError(
            f"Refusing to grade at isolation level {level!r}: {WEAK_LEVEL_RISKS}. "
            + ("Workers that cannot do better: " + " | ".join(weak) + ". " if weak else "")
            + "To grade anyway, pass --allow-weak-isolation."
        )
    workers = tuple(f"{f['host']} ({address})" for address, f in sorted(facts.items()))
    return ClusterInfo(scheduler, workers, level)


def course_payload(assignment: Assignment) -> dict[str, Any]:
    """The files a worker needs to grade ``assignment``, as data: its folder (the checks,
    their helpers and data, the stub), its reference and the course secret."""
    files: dict[str, bytes] = {}
    directory = assignment.directory
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            name = path.relative_to(directory).as_posix()
            files[f"assignments/{assignment.name}/{name}"] = path.read_bytes()
    files[f"reference/{assignment.name}.py"] = assignment.reference.read_bytes()
    # The secret as this machine resolves it (GRADER_COURSE_SECRET, else the file): the
    # workers use this one, never one of their own.
    with contextlib.suppress(GraderError):
        files["course-secret"] = course_secret(assignment.secret) + b"\n"
    h = hashlib.sha256()
    for name, data in sorted(files.items()):
        h.update(len(name).to_bytes(8, "big") + name.encode())
        h.update(len(data).to_bytes(8, "big") + data)
    return {"name": assignment.name, "digest": h.hexdigest(), "files": files}


# (job, the result's JSON and the worker's address) or (job, the exception the task raised)
Finished = Callable[[int, Callable[[], str]], None]
Died = Callable[[int, bool], None]


def grade_on_cluster(
    scheduler: str,
    assignment: Assignment,
    todo: Sequence[Submission],
    limits: Limits,
    level: Level,
    finished: Finished,
    died: Died,
    *,
    only: Sequence[frozenset[str] | None] | None = None,
) -> tuple[str, ...]:
    """Grade ``todo`` on the cluster; each job ends once, in ``finished`` (a function
    giving the result's JSON, or raising what went wrong) or in ``died``. The workers
    that graded, as "host (address)". ``only[job]``: the checks to run (None: all).

    A worker that dies costs its students nothing: Dask runs their tasks elsewhere, and
    the course's data, itself a task, is computed again wherever it is lost. Dask counts
    a worker's death against every task it held, queued ones too, so a task Dask gives
    up on (``KilledWorker``, after ``distributed.scheduler.allowed-failures`` deaths) is
    only a suspect: it runs again once the others are done, with nothing beside it, and
    only a submission that kills workers even then is ``died(job, True)``, as locally.
    """
    from distributed.scheduler import KilledWorker

    from grader.engine.grading import grade_submission

    client = connect(scheduler)
    graded_by: set[str] = set()
    try:
        _checked_workers(client)
        expected = worker_facts()
        payload = course_payload(assignment)
        # A task, not scattered data: Dask computes it again if every copy is lost, and
        # its key is this run's alone.
        course = client.submit(
            _course_data, payload, key=f"course-{payload['digest'][:16]}-{_nonce()}", pure=False
        )
        limits_table = dataclasses.asdict(limits)

        def submit(job: int, task: dict[str, Any]) -> Any:
            return client.submit(
                grade_remote,
                course,
                task,
                limits_table,
                level,
                expected,
                pure=False,
                key=f"grade-{assignment.name}-{job}-{_nonce()}",
            )

        tasks: dict[int, dict[str, Any]] = {}
        for job, submission in enumerate(todo):
            if submission.problem is not None or submission.path is None:
                # Unreadable: every check failed and why, as locally, with no worker.
                result = grade_submission(assignment, submission)
                finished(job, functools.partial(str, json.dumps(result.to_dict())))
                continue
            try:
                source = submission.path.read_bytes()
            except OSError as exc:
                why = f"the submission could not be read: {exc}"
                finished(job, functools.partial(_raise, GraderError(why)))
                continue
            checks = None if only is None else only[job]
            tasks[job] = {
                "student": submission.student,
                "display_path": submission.display_path,
                "file_name": submission.path.name,
                "notebook": submission.notebook,
                "source": source,
                "only": None if checks is None else sorted(checks),
            }

        def settle(job: int, future: Any, alone: bool) -> bool:
            """Record the job's end; False: it must run again (alone)."""
            if future.status == "finished":
                text, worker = future.result()
                graded_by.add(worker)
                finished(job, functools.partial(str, text))
                return True
            if future.status == "error":
                error = future.exception()
                # A worker or its grading process died grading it (or beside it).
                if isinstance(error, (KilledWorker, GradingProcessDied)):
                    if alone:
                        died(job, True)
                        return True
                    return False
                if isinstance(error, WorkerRefused):
                    raise UsageError(str(error))
                finished(job, functools.partial(_raise, error))
                return True
            if not alone:  # lost or cancelled by the cluster: once more, alone
                return False
            lost = GraderError(f"the cluster dropped this submission twice ({future.status}).")
            finished(job, functools.partial(_raise, lost))
            return True

        pending = {submit(job, task): job for job, task in tasks.items()}
        suspects: list[int] = []
        try:
            for future, job in _completed(client, pending, scheduler):
                if not settle(job, future, alone=False):
                    suspects.append(job)
            for job in sorted(suspects):
                alone = {submit(job, tasks[job]): job}
                for future, job_ in _completed(client, alone, scheduler):
                    settle(job_, future, alone=True)
        finally:
            client.cancel(list(pending))
    finally:
        client.close()
    return tuple(sorted(graded_by))


def _nonce() -> str:
    return os.urandom(6).hex()


def _course_data(payload: dict[str, Any]) -> dict[str, Any]:
    return payload


def _completed(client: Any, pending: dict[Any, int], scheduler: str) -> Any:
    """``(future, job)`` as each of ``pending`` ends (it is emptied). ``GraderError`` once
    no worker has been left for ``_WORKERS_TIMEOUT`` seconds: the students graded so far
    are kept, and a rerun resumes."""
    from distributed import wait

    alone_since: float | None = None
    while pending:
        try:
            with client.as_current():
                done = wait(list(pending), timeout=2, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            done = set()
        for future in done:
            yield future, pending.pop(future)
        if done:
            alone_since = None
            continue
        if client.scheduler_info().get("workers"):
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
        elif time.monotonic() - alone_since > _WORKERS_TIMEOUT:
            raise GraderError(
                f"The Dask cluster at {scheduler} has had no worker for {_WORKERS_TIMEOUT} s, "
                f"with {len(pending)} submissions left. Start workers and run again: the "
                "students graded so far are kept."
            )


def _raise(error: BaseException) -> str:
    raise error


# ---------------------------------------------------------------- on a worker

# ---- in the Dask worker process: the relay (no TensorFlow here)

_LOCK = threading.Lock()
_PROCESS: _GradingProcess | None = None


class GradingProcessDied(GraderError):
    """The Dask worker's grading process died while grading a submission."""


def grade_remote(
    payload: dict[str, Any],
    task: dict[str, Any],
    limits_table: dict[str, Any],
    level: Level,
    expected: dict[str, Any],
) -> tuple[str, str]:
    """Grade one submission on this Dask worker; its result as JSON and who graded it.

    The Dask worker process only relays: the student is graded in a grading process of
    its own, as locally. A Dask worker's threads draw from Python's global random
    generator (retry jitter, connect backoff), from which Keras seeds every layer it
    builds without a seed: a draw between the reference's ``set_random_seed`` and its
    ``build_model`` changed the reference's answer.
    """
    global _PROCESS
    mine = worker_facts()
    why = _differences(expected, mine)
    if level not in mine["levels"]:
        why.append(f"cannot isolate at {level!r} (offers {', '.join(mine['levels'])})")
    if why:
        raise WorkerRefused(
            "Refusing a worker that joined the cluster: " + _refusal(_address(), mine, why)
        )
    request = {
        "payload": {**payload, "files": {k: _b64(v) for k, v in payload["files"].items()}},
        "task": {**task, "source": _b64(task["source"])},
        "limits": limits_table,
        "level": level,
    }
    with _LOCK:  # one student at a time, whatever --nthreads
        if _PROCESS is None or not _PROCESS.alive():
            _PROCESS = _GradingProcess(_run_root())
        try:
            text = _PROCESS.grade(request)
        except GradingProcessDied:
            _PROCESS.stop()
            _PROCESS = None
            raise
    return text, f"{socket.gethostname()} ({_address()})"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class _GradingProcess:
    """The Dask worker's grading process: one JSON line per request on its stdin, one
    per answer on a pipe of its own (its stdout and stderr are silenced once it runs)."""

    def __init__(self, root: Path) -> None:
        self._log = root / "grading-process.log"
        reply_read, reply_write = os.pipe()
        env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
        # As a local grading process runs TensorFlow (see session.quiet_process).
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
        with open(self._log, "wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _SERVE, str(root), str(reply_write)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                pass_fds=(reply_write,),
                env=env,
            )
        os.close(reply_write)
        self._replies = os.fdopen(reply_read, "rb")

    def alive(self) -> bool:
        return self._process.poll() is None

    def grade(self, request: dict[str, Any]) -> str:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(request).encode() + b"\n")
            stdin.flush()
            line = self._replies.readline()
        except OSError:
            line = b""
        if not line:
            raise GradingProcessDied(
                f"the grading process of the Dask worker {_address()} died "
                f"({self._ending()}){self._last_words()}"
            )
        reply = json.loads(line)
        if "error" in reply:
            raise GraderError(reply["error"])
        return str(reply["result"])

    def _ending(self) -> str:
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "no answer"
        return f"killed by signal {-code}" if code < 0 else f"exit status {code}"

    def _last_words(self) -> str:
        with contextlib.suppress(OSError):
            text = self._log.read_text(errors="replace").strip()
            if text:
                return ": " + text[-500:]
        return ""

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._replies.close()
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        with contextlib.suppress(OSError):
            self._process.kill()
        self._process.wait()


_ROOT: Path | None = None  # this run's folder in the Dask worker's own
_SERVE = "import sys; from grader.engine.cluster import serve; serve(sys.argv[1], int(sys.argv[2]))"


def _run_root() -> Path:
    global _ROOT
    if _ROOT is None:
        # Private to this user; the sandboxed workers never see it (see Isolation.hidden).
        # In the Dask worker's own folder, which Dask clears even after a kill -9.
        parent = None
        with contextlib.suppress(Exception):
            from distributed import get_worker

            parent = get_worker().local_directory
        _ROOT = Path(tempfile.mkdtemp(prefix="grader-", dir=parent))
        import atexit

        atexit.register(shutil.rmtree, _ROOT, True)
    return _ROOT


# ---- in the grading process

_COURSES: dict[str, Path] = {}  # payload digest -> its course folder here
_SESSIONS: dict[tuple[str, str, Level], GradingSession] = {}
_KEEP_SESSIONS = 2


def serve(root: str, reply_fd: int) -> None:
    """The grading process of a Dask worker: grade each request read from stdin until
    it closes (the Dask worker ended), answering on ``reply_fd``."""
    from grader.engine.session import quiet_process

    global _ROOT
    _ROOT = Path(root)
    quiet_process()
    with os.fdopen(reply_fd, "wb") as replies:
        for line in sys.stdin.buffer:
            request = json.loads(line)
            try:
                reply = {"result": _grade_here(request)}
            except Exception as exc:  # the student's fault is in the result, not here
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            replies.write(json.dumps(reply).encode() + b"\n")
            replies.flush()


def _course_folder(payload: dict[str, Any]) -> Path:
    digest = payload["digest"]
    if digest not in _COURSES:
        root = _run_root() / "courses" / digest[:16]
        if root.exists():
            shutil.rmtree(root)
        for name, data in payload["files"].items():
            path = root / name
            if not path.resolve().is_relative_to(root.resolve()):
                raise GraderError(f"Refusing a course file outside the course: {name!r}.")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(base64.b64decode(data))
        (root / "course.toml").write_text(
            '[course]\nassignments = "assignments"\nreference = "reference"\n'
            'secret = "course-secret"\n',
            encoding="utf-8",
        )
        _COURSES[digest] = root
    return _COURSES[digest]


def _session(payload: dict[str, Any], limits_table: dict[str, Any], level: Level) -> Any:
    from grader.assignment import load_assignment
    from grader.engine.reference_cache import user_cache
    from grader.engine.session import GradingSession
    from grader.sandbox.isolation import Isolation, guard
    from grader.sandbox.limits import Limits

    key = (payload["digest"], json.dumps(limits_table, sort_keys=True), level)
    if key not in _SESSIONS:
        # A long-lived worker grades run after run: keep the latest sessions only.
        while len(_SESSIONS) >= _KEEP_SESSIONS:
            del _SESSIONS[next(iter(_SESSIONS))]
        course = _course_folder(payload)
        assignment = load_assignment(payload["name"], course)
        isolation = Isolation(level, hidden=(_run_root(),))
        guard(isolation, _run_root())
        session = GradingSession(
            assignment, limits=Limits(**limits_table), isolation=isolation, cache=user_cache()
        )
        session.prepare()
        _SESSIONS[key] = session
    return _SESSIONS[key]


def _grade_here(request: dict[str, Any]) -> str:
    from grader.submissions import Submission

    task = request["task"]
    session = _session(request["payload"], request["limits"], request["level"])
    folder = Path(tempfile.mkdtemp(prefix="s-", dir=_run_root()))
    try:
        path = folder / Path(task["file_name"]).name
        path.write_bytes(base64.b64decode(task["source"]))
        submission = Submission(
            task["student"], path, task["display_path"], notebook=task["notebook"]
        )
        only = task.get("only")
        result = session.grade(submission, None if only is None else frozenset(only))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return json.dumps(result.to_dict())


def _address() -> str:
    with contextlib.suppress(Exception):
        from distributed import get_worker

        return str(get_worker().address)
    return f"pid {os.getpid()}"
