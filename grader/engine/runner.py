"""Grade a whole class: spread submissions over grading processes, write every report.

The process running this (the CLI) never imports TensorFlow and never runs student
code. Each grading process imports TensorFlow once, keeps the reference's answers
for every student it grades, and starts one sandboxed worker per submission. Each
student's result is written to ``OUT/students/`` as soon as it is known. A grading
process that dies (killed by a student's code at weak isolation, or by the kernel when
memory runs out) costs its students nothing but time; a submission whose grading kills
it even when graded alone is named as the cause (see ``_run_jobs``).

A run into a folder that already holds results resumes: a student whose submission is
unchanged since it was graded, by the same grading (see ``grading_key``), keeps that
result. ``OUT/students/.resume`` records, for each student, which submission and which
result file were graded under which grading key; each student's entry is appended to
``OUT/students/.resume-log`` before the student's file is written, so a run killed at
any moment (even ``kill -9``) loses at most the students being graded, and a truncated
or foreign result file is never trusted. A run that finishes folds the log into the
index. Appending keeps each student's cost the same at any class size.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from grader import __version__
from grader.assignment import Assignment, load_assignment
from grader.course import Course, pick_assignment
from grader.engine.cluster import ClusterInfo, choose_cluster_level, grade_on_cluster
from grader.engine.reference_cache import CACHE_FOLDER
from grader.engine.session import GradingSession, quiet_process
from grader.errors import UsageError
from grader.files import atomic_write_text
from grader.paths import package_templates
from grader.reports.csv_report import write_grades_csv
from grader.reports.html import feedback_filename, write_html_reports
from grader.reports.json_report import write_results_json, write_student_json
from grader.results import RunResult, StudentResult
from grader.sandbox.isolation import Isolation, choose, describe, guard
from grader.sandbox.limits import Limits
from grader.submissions import Submission, discover

__all__ = [
    "ClassRun",
    "ResumePlan",
    "RunOptions",
    "grade_class",
    "grader_fault_result",
    "grading_key",
    "plan_run",
    "prepare_class_run",
    "submission_key",
]

Progress = Callable[[StudentResult], None]


@dataclass(frozen=True)
class RunOptions:
    out_dir: Path
    workers: int = 1
    limits: Limits | None = None
    force: bool = False  # grade every submission again, even those already graded in out_dir
    isolation: Isolation = field(default_factory=Isolation)
    # The feedback and summary page templates (a course may override the grader's own).
    templates: Path = field(default_factory=package_templates)
    # A Dask scheduler's address (tcp://HOST:8786): grade on its workers, not here.
    scheduler: str | None = None
    # Where the reference's answers are kept between grading processes and runs (see
    # engine.reference_cache); None: each grading process computes them.
    cache: Path | None = None


def _init_grading_process(isolation: Isolation) -> None:
    from grader.sandbox.template import TemplateError, template_for

    # The workers' template imports TensorFlow while this process does.
    with contextlib.suppress(TemplateError):  # the first worker tries again, and says why
        template_for(isolation)
    quiet_process()


# This grading process's sessions: one per assignment, limits, isolation level and cache.
_SESSIONS: dict[tuple[Assignment, Limits | None, Isolation, Path | None], GradingSession] = {}


def _grade_task(
    assignment: Assignment,
    submission: Submission,
    limits: Limits | None,
    isolation: Isolation,
    cache: Path | None = None,
) -> str:
    key = (assignment, limits, isolation, cache)
    if key not in _SESSIONS:
        _SESSIONS[key] = GradingSession(assignment, limits=limits, isolation=isolation, cache=cache)
    return json.dumps(_SESSIONS[key].grade(submission).to_dict())


def grader_fault_result(assignment: Assignment, submission: Submission, why: str) -> StudentResult:
    """The grading process itself died: nothing counts, the instructor is told."""
    checks = assignment.unrun_checks(
        "error", "The grader could not run this check. This does not count against you."
    )
    return StudentResult(
        student=submission.student,
        score=0.0,
        max_score=0.0,
        status="error",
        checks=checks,
        error=f"The grader failed on this submission: {why}",
        source=submission.display_path,
    )


# ---------------------------------------------------------------- resuming

_RESUME_INDEX = ".resume"  # no .json suffix: students/*.json stays one file per student
_RESUME_LOG = ".resume-log"  # entries since the index was last written, one JSON line each
_RESUME_FORMAT = 1


def _digest(parts: list[tuple[str, bytes | None]]) -> str:
    """sha256 over named parts, each framed so no two different lists collide."""
    h = hashlib.sha256()
    for name, data in parts:
        label = _text(name)
        h.update(len(label).to_bytes(8, "big") + label)
        if data is None:
            h.update(b"\xff" * 8)
        else:
            h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def _text(value: str) -> bytes:
    # surrogatepass: file names that are not valid UTF-8 reach us as lone surrogates.
    return value.encode("utf-8", "surrogatepass")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def grading_key(assignment: Assignment, limits: Limits, isolation_level: str) -> str:
    """What decides a grade besides the submission: when it changes, everyone is regraded.

    The assignment's toml, its Python files (the check files ``test_*.py`` and anything
    they import from there; the students' stub excepted), the reference, the grader's
    version, the effective limits and the isolation level (``results.json`` states one
    level for the whole class).
    """
    directory = assignment.directory
    files = [directory / "assignment.toml"]
    files += sorted(p for p in directory.glob("*.py") if p != assignment.stub)
    parts: list[tuple[str, bytes | None]] = [
        ("grader", __version__.encode()),
        ("assignment", _text(assignment.name)),
        ("limits", json.dumps(dataclasses.asdict(limits), sort_keys=True).encode()),
        ("isolation", isolation_level.encode()),
        ("reference", _read(assignment.reference)),
    ]
    parts += [(f"file:{p.name}", _read(p)) for p in files]
    return _digest(parts)


def submission_key(submission: Submission) -> str | None:
    """What identifies the graded submission: its file's content, or for a submission
    that could not be read, why (so a fixed folder is regraded). None: unreadable now,
    grade it."""
    content: bytes | None = None
    if submission.path is not None:
        try:
            content = submission.path.read_bytes()
        except OSError:
            if submission.problem is None:
                return None
    parts: list[tuple[str, bytes | None]] = [
        ("student", _text(submission.student)),
        ("display_path", _text(submission.display_path)),
        ("problem", None if submission.problem is None else _text(submission.problem)),
        ("sha256", None if content is None else hashlib.sha256(content).hexdigest().encode()),
    ]
    return _digest(parts)


def _result_digest(result: StudentResult) -> str:
    text = json.dumps(result.to_dict(), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _student_file(out: Path, student: str) -> Path:
    return out / "students" / (feedback_filename(student).removesuffix(".html") + ".json")


def _valid_entry(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("submission"), str)
        and isinstance(entry.get("result"), str)
    )


def _load_index(out: Path, key: str) -> dict[str, dict[str, str]]:
    """The resume index's entries for grading key ``key``, the log's later ones applied;
    anything unreadable is left out."""
    entries: dict[str, dict[str, str]] = {}
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((out / "students" / _RESUME_INDEX).read_text(encoding="utf-8"))
        if (
            isinstance(data, dict)
            and data.get("format") == _RESUME_FORMAT
            and data.get("grading_key") == key
            and isinstance(data.get("students"), dict)
        ):
            entries = {s: e for s, e in data["students"].items() if _valid_entry(e)}
    try:
        lines = (out / "students" / _RESUME_LOG).read_bytes().splitlines()
    except OSError:
        return entries
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:  # the last line of a run killed mid-write
            continue
        if (
            not isinstance(record, dict)
            or record.get("format") != _RESUME_FORMAT
            or record.get("grading_key") != key
            or not isinstance(record.get("student"), str)
        ):
            continue
        entry = record.get("entry")
        if entry is None:
            entries.pop(record["student"], None)
        elif _valid_entry(entry):
            entries[record["student"]] = entry
    return entries


def _write_index(out: Path, key: str, entries: dict[str, dict[str, str]]) -> None:
    """The whole index at once; the log it replaces goes."""
    data = {"format": _RESUME_FORMAT, "grading_key": key, "students": entries}
    atomic_write_text(
        out / "students" / _RESUME_INDEX, json.dumps(data, indent=1, sort_keys=True) + "\n"
    )
    with contextlib.suppress(FileNotFoundError):
        (out / "students" / _RESUME_LOG).unlink()


def _log_entry(out: Path, key: str, student: str, entry: dict[str, str] | None) -> None:
    """One student's entry, appended: a line is written whole or, if the run is killed
    mid-write, read back as nothing."""
    record = {"format": _RESUME_FORMAT, "grading_key": key, "student": student, "entry": entry}
    line = json.dumps(record, sort_keys=True, ensure_ascii=True) + "\n"
    fd = os.open(
        out / "students" / _RESUME_LOG,
        os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o644,
    )
    try:
        # A torn line from a killed run must not swallow this one.
        if os.fstat(fd).st_size and os.pread(fd, 1, os.fstat(fd).st_size - 1) != b"\n":
            line = "\n" + line
        os.write(fd, line.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _earlier_result(
    out: Path, submission: Submission, skey: str | None, entry: dict[str, str] | None
) -> StudentResult | None:
    """The result an earlier run wrote for this very submission, if it can be trusted."""
    if skey is None or entry is None or entry["submission"] != skey:
        return None
    try:
        data = json.loads(_student_file(out, submission.student).read_text(encoding="utf-8"))
        result = StudentResult.from_dict(data)
    except Exception:  # missing, truncated, not ours: grade it again
        return None
    if (
        result.student != submission.student
        or result.status == "error"  # the grader failed then; it may not now
        or _result_digest(result) != entry["result"]
    ):
        return None
    return result


@dataclass(frozen=True)
class ResumePlan:
    """What a run keeps from earlier runs into the same folder, and what it grades."""

    grading_key: str
    done: dict[str, StudentResult]  # student -> the result kept
    todo: tuple[Submission, ...]
    submission_keys: dict[str, str | None]
    index: dict[str, dict[str, str]]  # the resume index as found (this grading key only)


def plan_run(
    assignment: Assignment, submissions: list[Submission], options: RunOptions
) -> ResumePlan:
    """Which submissions ``options.out_dir`` already holds a valid result for."""
    limits = options.limits or assignment.limits
    key = grading_key(assignment, limits, options.isolation.level)
    index = _load_index(options.out_dir, key)
    keys = {s.student: submission_key(s) for s in submissions}
    done: dict[str, StudentResult] = {}
    todo: list[Submission] = []
    for submission in submissions:
        earlier = None
        if not options.force:
            entry = index.get(submission.student)
            earlier = _earlier_result(options.out_dir, submission, keys[submission.student], entry)
        if earlier is None:
            todo.append(submission)
        else:
            done[submission.student] = earlier
    return ResumePlan(key, done, tuple(todo), keys, index)


@dataclass(frozen=True)
class ClassRun:
    """A class ready to grade: what ``prepare_class_run`` found and decided."""

    assignment: Assignment
    submissions: tuple[Submission, ...]
    ignored: tuple[str, ...]  # top-level entries that are not submissions
    options: RunOptions
    plan: ResumePlan
    protected: tuple[Path, ...]  # files whose permissions were changed to guard them
    cluster: ClusterInfo | None = None  # the Dask cluster it grades on, checked


def prepare_class_run(
    course: Course,
    submissions: Path,
    options: RunOptions,
    *,
    assignment_name: str | None = None,
    limits: dict[str, float | int | None] | None = None,
    isolation_level: str | None = None,
    allow_weak_isolation: bool = False,
    strict: str | None = None,
    note: Callable[[str], object] | None = None,
) -> ClassRun:
    """Everything ``grader run`` decides before grading: the assignment (named, or the
    one ``submissions`` is for), the submissions, the isolation level (refused below
    landlock unless allowed) with the course, the submissions and the output hidden from
    workers, the limits (the assignment's, overridden by ``limits``) and what an earlier
    run in ``options.out_dir`` already graded. ``UsageError`` for anything unusable."""
    if not submissions.is_dir():
        discover(submissions, "")  # says whether it is missing or not a folder
    name = pick_assignment(course, assignment_name, submissions, note=note)
    assignment = load_assignment(name, course)
    found = discover(submissions, assignment.module)
    allow_weak = allow_weak_isolation or assignment.allow_weak_isolation
    cluster = None
    if not found.submissions:
        raise UsageError(
            f"No submissions found in {submissions}. Expected <student>/"
            f"{assignment.module}.py or <student>.py."
        )
    if options.scheduler is not None:
        # The workers' machines isolate student code, so they decide the level.
        cluster = choose_cluster_level(
            options.scheduler, isolation_level, allow_weak=allow_weak, strict=strict
        )
        level = cluster.level
    else:
        level = choose(isolation_level, allow_weak=allow_weak, strict=strict)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    isolation = Isolation(
        level, hidden=(course.root, submissions.resolve(), options.out_dir.resolve())
    )
    # No student code runs on this machine when a cluster grades.
    protected = [] if cluster is not None else guard(isolation, course.root)
    options = replace(
        options,
        limits=assignment.limits.overridden(**(limits or {})),
        isolation=isolation,
        templates=course.templates,
        cache=options.cache or course.root / CACHE_FOLDER,
    )
    plan = plan_run(assignment, list(found.submissions), options)
    return ClassRun(
        assignment,
        tuple(found.submissions),
        tuple(found.ignored),
        options,
        plan,
        tuple(protected),
        cluster,
    )


def _remove_stale_temporaries(out: Path) -> None:
    # atomic_write_text's half-written files, left behind when a run was killed.
    for folder in (out, out / "students", out / "feedback"):
        for path in folder.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                path.unlink()


# ---------------------------------------------------------------- grading


_T = TypeVar("_T")
_Job = tuple[Any, ...]


_CULPRIT = (
    "Grading this submission stopped the grading process more than once, the last time with "
    "this submission graded alone, so this submission is the cause (it may exhaust the memory "
    "or stop processes). Nothing was graded: it needs to be looked at."
)


def _culprit_result(assignment: Assignment, submission: Submission) -> StudentResult:
    """Its grading killed the grading process even with no classmate in it: nothing counts,
    and the instructor is told which submission to look at."""
    return replace(grader_fault_result(assignment, submission, _CULPRIT), error=_CULPRIT)


def _tracked(folder: str, job: int, fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)`` in a grading process, with ``job`` on record in ``folder`` meanwhile
    (under this process's id): if the process dies, the record names what it was running."""
    path = os.path.join(folder, str(os.getpid()))
    with contextlib.suppress(OSError):  # no record: the job only looks never started
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, f"{job}\n".encode("ascii"))
        finally:
            os.close(fd)
    try:
        return fn(*args)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _take_records(folder: str) -> set[int]:
    """The jobs grading processes were running when they died; the records are removed.
    Whatever else is there (a worker may reach the folder at weak isolation) is skipped."""
    jobs: set[int] = set()
    try:
        entries = list(os.scandir(folder))
    except OSError:  # gone: nobody is blamed
        return jobs
    for entry in entries:
        with contextlib.suppress(OSError, ValueError):
            fd = os.open(entry.path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
            try:
                record = os.read(fd, 32) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
                if record.endswith(b"\n"):  # all of it: a job number and a newline
                    jobs.add(int(record))
            finally:
                os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
    return jobs


def _run_shared(
    batch: list[int],
    jobs: Sequence[_Job],
    fn: Callable[..., _T],
    workers: int,
    start: tuple[Callable[..., None], tuple[Any, ...]],
    folder: str,
    finished: Callable[[int, Future[_T]], None],
) -> list[int]:
    """Run ``batch`` in one pool of ``workers`` processes; the jobs a death made it drop."""
    lost: list[int] = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max(1, min(workers, len(batch))),
        mp_context=context,
        initializer=start[0],
        initargs=start[1],
    ) as pool:
        futures: dict[Future[_T], int] = {}
        for job in batch:
            try:
                futures[pool.submit(_tracked, folder, job, fn, *jobs[job])] = job
            except BrokenProcessPool:  # broke before this one was queued
                lost.append(job)
        for future in as_completed(futures):
            if isinstance(future.exception(), BrokenProcessPool):
                lost.append(futures[future])
            else:
                finished(futures[future], future)
    return sorted(lost)


def _run_alone(
    batch: list[int],
    jobs: Sequence[_Job],
    fn: Callable[..., _T],
    start: tuple[Callable[..., None], tuple[Any, ...]],
    folder: str,
    finished: Callable[[int, Future[_T]], None],
) -> dict[int, bool]:
    """Run each job of ``batch`` in a process of its own, all at once. The jobs whose
    process died, each with whether it died running that job (not before)."""
    dead: list[int] = []
    context = multiprocessing.get_context("spawn")
    with contextlib.ExitStack() as stack:
        futures: dict[Future[_T], int] = {}
        for job in batch:
            pool = stack.enter_context(
                ProcessPoolExecutor(1, mp_context=context, initializer=start[0], initargs=start[1])
            )
            try:
                futures[pool.submit(_tracked, folder, job, fn, *jobs[job])] = job
            except BrokenProcessPool:
                dead.append(job)
        for future in as_completed(futures):
            if isinstance(future.exception(), BrokenProcessPool):
                dead.append(futures[future])
            else:
                finished(futures[future], future)
    running = _take_records(folder)
    return {job: job in running for job in sorted(dead)}


def _run_jobs(
    jobs: Sequence[_Job],
    fn: Callable[..., _T],
    workers: int,
    start: tuple[Callable[..., None], tuple[Any, ...]],
    finished: Callable[[int, Future[_T]], None],
    died: Callable[[int, bool], None],
) -> None:
    """``fn(*job)`` for every job in spawned processes started by ``start`` (initializer,
    its arguments), at most ``workers`` at once; each job ends in ``finished`` (its future:
    a value or an exception) or in ``died``.

    A process that dies breaks its pool, which drops every job it still holds. The jobs
    the pool's processes were running then are suspects: each runs again in a process of
    its own. The jobs no process had started go back to a fresh shared pool, paying no
    extra start. A suspect whose lone process dies while running it, with no other lone
    process beside it, is the cause: ``died(job, True)``. Deaths no job is blamed for (a
    broken initializer) send, the second time, every job left to run alone, where such a
    death is ``died(job, False)``. So the loop always ends, and a job that runs normally
    runs at most three times.
    """
    # Private to this user, and not in the output folder, which a worker may reach.
    folder = tempfile.mkdtemp(prefix="grader-running-")
    try:
        pending = list(range(len(jobs)))
        suspects: list[int] = []
        blameless = 0
        while pending:
            lost = _run_shared(pending, jobs, fn, workers, start, folder, finished)
            running = _take_records(folder)
            if lost and not running.intersection(lost):
                blameless += 1
            pending = []
            for job in lost:
                (suspects if job in running or blameless >= 2 else pending).append(job)
        # Lone processes run side by side, so one may die of another's doing (killed by it,
        # or by the kernel when another exhausts the memory): once any of them ran its job,
        # each death among them is only final when it happens again, with no process beside.
        again: list[int] = []
        step = max(1, workers)
        for first in range(0, len(suspects), step):
            batch = suspects[first : first + step]
            dead = _run_alone(batch, jobs, fn, start, folder, finished)
            student_ran = len(dead) < len(batch) or any(dead.values())
            for job, running_it in dead.items():
                if len(batch) > 1 and student_ran:
                    again.append(job)
                else:
                    died(job, running_it)
        for job in again:
            for job_, running_it in _run_alone([job], jobs, fn, start, folder, finished).items():
                died(job_, running_it)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def grade_class(
    assignment: Assignment,
    submissions: list[Submission],
    options: RunOptions,
    progress: Progress | None = None,
    plan: ResumePlan | None = None,
) -> RunResult:
    """Grade every submission and write results.json, grades.csv and the HTML pages.

    Results already in ``options.out_dir`` for unchanged submissions are kept (see
    ``plan_run``, which the caller may run first to show what is left); ``progress``
    is called for each student graded now.
    """
    started = time.monotonic()
    out = options.out_dir
    (out / "students").mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out)
    if plan is None:
        plan = plan_run(assignment, submissions, options)
    elif {s.student for s in submissions} != set(plan.done) | {s.student for s in plan.todo}:
        raise ValueError("The resume plan was made for other submissions.")
    results: dict[str, StudentResult] = dict(plan.done)
    index = dict(plan.index)

    def record(result: StudentResult) -> None:
        results[result.student] = result
        skey = plan.submission_keys.get(result.student)
        entry = None if skey is None else {"submission": skey, "result": _result_digest(result)}
        if entry is None:
            index.pop(result.student, None)
        else:
            index[result.student] = entry
        # The index first: a result file is only trusted once the index names it.
        _log_entry(out, plan.grading_key, result.student, entry)
        write_student_json(result, _student_file(out, result.student))
        if progress is not None:
            progress(result)

    todo = list(plan.todo)

    def finished(job: int, result: Callable[[], str]) -> None:
        submission = todo[job]
        try:
            record(StudentResult.from_dict(json.loads(result())))
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
            record(grader_fault_result(assignment, submission, why))

    def died(job: int, grading_it: bool) -> None:
        submission = todo[job]
        if grading_it:
            record(_culprit_result(assignment, submission))
        else:
            why = "the grading process kept dying before it could grade this submission."
            record(grader_fault_result(assignment, submission, why))

    workers, cluster = options.workers, None
    limits = options.limits or assignment.limits
    if options.scheduler is not None:
        graded_by = grade_on_cluster(
            options.scheduler, assignment, todo, limits, options.isolation.level, finished, died
        )
        workers = max(1, len(graded_by))
        cluster = {"scheduler": options.scheduler, "workers": list(graded_by)}
    else:
        _run_jobs(
            [(assignment, s, limits, options.isolation, options.cache) for s in todo],
            _grade_task,
            options.workers,
            (_init_grading_process, (options.isolation,)),
            lambda job, future: finished(job, future.result),
            died,
        )
    # Everyone is graded: the log folds into the index.
    _write_index(out, plan.grading_key, index)

    run = RunResult(
        assignment=assignment.name,
        title=assignment.title,
        max_score=assignment.max_score,
        functions=assignment.functions,
        students=tuple(results[s.student] for s in sorted(submissions, key=lambda s: s.student)),
        grader_version=__version__,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        duration=round(time.monotonic() - started, 2),
        workers=workers,
        isolation=options.isolation.level,
        isolation_detail=describe(options.isolation.level),
        cluster=cluster,
    )
    write_reports(run, out, options.templates)
    return run


def write_reports(run: RunResult, out: Path, templates: Path | None = None) -> None:
    write_results_json(run, out / "results.json")
    write_grades_csv(run, out / "grades.csv")
    write_html_reports(run, out, templates or package_templates())
