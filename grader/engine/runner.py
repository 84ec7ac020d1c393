"""Grade a whole class: spread submissions over grading processes, write every report.

The process running this (the CLI) never imports TensorFlow and never runs student
code. Each grading process imports TensorFlow once, keeps the reference's answers
for every student it grades, and starts one sandboxed worker per submission. Each
student's result is written to ``OUT/students/`` as soon as it is known. A grading
process that dies (killed by a student's code at weak isolation, or by the kernel when
memory runs out) costs its students nothing but time; a submission whose grading kills
it even when graded alone is named as the cause (see ``_run_jobs``).

Every run is recorded in the course's gradebook (``grader.gradebook``), and each
student's result is committed there as soon as it is known, before the student's file
is written. A run into a folder an earlier run wrote resumes from the gradebook: a
student whose submission is unchanged since that run graded it, the same way (see
``grading_key``), keeps that result, so a run killed at any moment (even ``kill -9``)
loses at most the students being graded.
The run's files (``results.json``, ``grades.csv``, the pages) are written from the
gradebook at the end, with the instructor's adjustments and the late policy applied
(``grader.gradebook.final``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import multiprocessing
import os
import shutil
import stat
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
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
from grader.engine.dependencies import check_inputs
from grader.engine.grading import score_of
from grader.engine.reference_cache import CACHE_FOLDER
from grader.engine.session import GradingSession, quiet_process
from grader.errors import UsageError
from grader.gradebook.book import MEMORY, Adjustment, Earlier, Gradebook, Inputs, RunRecord
from grader.gradebook.final import final_result
from grader.paths import package_templates
from grader.reports.csv_report import write_grades_csv
from grader.reports.html import feedback_filename, write_html_reports
from grader.reports.json_report import write_results_json, write_student_json
from grader.results import CheckResult, RunResult, StudentResult
from grader.sandbox.isolation import Isolation, choose, describe, guard
from grader.sandbox.limits import Limits
from grader.submissions import Submission, discover

__all__ = [
    "ClassRun",
    "Partial",
    "ResumePlan",
    "RunOptions",
    "base_key",
    "final_results",
    "grade_class",
    "grader_fault_result",
    "grading_key",
    "merge_partial",
    "plan_run",
    "prepare_class_run",
    "rewrite_outputs",
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
    # The gradebook (a file or a database URL); None: one in memory, nothing remembered.
    gradebook: str | None = None
    # Submission times for the late policy: student -> time, and where they came from;
    # or, asked for, the submission files' modification times (read once they are found).
    submitted_at: dict[str, datetime] | None = None
    submitted_source: str = ""
    submitted_mtime: bool = False


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
    only: frozenset[str] | None = None,
) -> str:
    key = (assignment, limits, isolation, cache)
    if key not in _SESSIONS:
        _SESSIONS[key] = GradingSession(assignment, limits=limits, isolation=isolation, cache=cache)
    return json.dumps(_SESSIONS[key].grade(submission, only).to_dict())


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


def _toml_for_grading(path: Path) -> bytes | None:
    # The late policy and the similarity report change no verdict: editing them must not
    # regrade the class.
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return _read(path)
    data.pop("late", None)
    data.pop("similarity", None)
    return json.dumps(data, sort_keys=True, default=str).encode()


def base_key(assignment: Assignment, limits: Limits, isolation_level: str) -> str:
    """What every check's verdict depends on besides its own inputs (see
    ``engine.dependencies``): when it changes, every check of everyone runs again.

    The grader's and the libraries' versions, the effective limits, the isolation level
    (``results.json`` states one level for the whole class), the course secret,
    ``assignment.toml`` by content (its late policy aside) and ``conftest.py`` files.
    """
    directory = assignment.directory
    secret = _read(assignment.secret) if assignment.secret is not None else None
    parts: list[tuple[str, bytes | None]] = [
        ("grader", __version__.encode()),
        *((f"package:{name}", version.encode()) for name, version in _versions().items()),
        ("assignment", _text(assignment.name)),
        ("limits", json.dumps(dataclasses.asdict(limits), sort_keys=True).encode()),
        ("isolation", isolation_level.encode()),
        # Hidden checks draw their inputs from it (its digest: the key is stored).
        ("secret", None if secret is None else hashlib.sha256(secret).hexdigest().encode()),
        ("file:assignment.toml", _toml_for_grading(directory / "assignment.toml")),
    ]
    parts += [
        (f"conftest:{p.relative_to(directory).as_posix()}", _read(p))
        for p in sorted(directory.rglob("conftest.py"))
    ]
    return _digest(parts)


def grading_key(assignment: Assignment, limits: Limits, isolation_level: str) -> str:
    """What decides a grade besides the submission: when it is unchanged, a student's
    result is kept whole. The base (``base_key``), the reference and every file of the
    assignment's folder (check files, their helpers and data) but the students' stub."""
    directory = assignment.directory
    files = sorted(
        p
        for p in directory.rglob("*")
        if p.is_file()
        and p != assignment.stub
        and p.name != "assignment.toml"
        and "__pycache__" not in p.parts
    )
    parts: list[tuple[str, bytes | None]] = [
        ("base", base_key(assignment, limits, isolation_level).encode()),
        ("reference", _read(assignment.reference)),
    ]
    parts += [(f"file:{p.relative_to(directory).as_posix()}", _read(p)) for p in files]
    return _digest(parts)


def _versions() -> dict[str, str]:
    """The packages whose version may change a verdict (read without importing them)."""
    found = {}
    for name in ("tensorflow-cpu", "tensorflow", "keras", "numpy"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


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


def _student_file(out: Path, student: str) -> Path:
    return out / "students" / (feedback_filename(student).removesuffix(".html") + ".json")


@dataclass(frozen=True)
class Partial:
    """A student whose earlier result keeps the verdicts of the checks whose inputs did
    not change: only the others run (``only``)."""

    only: frozenset[str]
    carried: dict[str, CheckResult]
    carried_from: int  # the gradebook's result they come from
    earlier: StudentResult


@dataclass(frozen=True)
class ResumePlan:
    """What a run keeps from earlier runs (the gradebook's), and what it grades."""

    grading_key: str
    done: dict[str, StudentResult]  # student -> the result kept
    todo: tuple[Submission, ...]
    submission_keys: dict[str, str | None]
    base_key: str = ""
    check_keys: dict[str, str] = field(default_factory=dict)
    partial: dict[str, Partial] = field(default_factory=dict)  # among todo

    def inputs(self, carried: Partial | None = None) -> Inputs:
        return Inputs(
            self.base_key,
            self.check_keys,
            {} if carried is None else dict.fromkeys(carried.carried, carried.carried_from),
        )


def plan_run(
    assignment: Assignment,
    submissions: list[Submission],
    options: RunOptions,
    book: Gradebook | None = None,
) -> ResumePlan:
    """Which submissions an earlier run into ``options.out_dir`` graded the same way, as
    the gradebook recorded them."""
    limits = options.limits or assignment.limits
    key = grading_key(assignment, limits, options.isolation.level)
    base = base_key(assignment, limits, options.isolation.level)
    inputs = check_inputs(assignment)
    keys = {s.student: submission_key(s) for s in submissions}
    earlier: dict[str, tuple[str | None, StudentResult]] = {}
    latest: dict[str, Earlier] = {}
    if not options.force:
        with _gradebook(options, book) as opened:
            earlier = opened.reusable(assignment.name, key, list(keys), options.out_dir)
            latest = opened.latest_in(assignment.name, options.out_dir, list(keys))
    done: dict[str, StudentResult] = {}
    todo: list[Submission] = []
    partial: dict[str, Partial] = {}
    for submission in submissions:
        skey = keys[submission.student]
        found = earlier.get(submission.student)
        if skey is not None and found is not None and found[0] == skey:
            done[submission.student] = found[1]
            continue
        todo.append(submission)
        last = latest.get(submission.student)
        if (
            skey is not None
            and last is not None
            and last.submission_key == skey
            and last.base_key == base
            and last.result.status == "graded"
        ):
            carried = {
                c.name: c
                for c in last.result.checks
                if c.name in inputs and last.check_keys.get(c.name) == inputs[c.name]
            }
            if carried:
                partial[submission.student] = Partial(
                    frozenset(inputs) - set(carried),
                    carried,
                    last.result_id,
                    last.result,
                )
    return ResumePlan(key, done, tuple(todo), keys, base, inputs, partial)


def merge_partial(assignment: Assignment, graded: StudentResult, partial: Partial) -> StudentResult:
    """The result of a regrade of ``partial.only``: its verdicts with the carried ones, in
    the order a full run gives, the score and status made again from them."""
    ran = {c.name: c for c in graded.checks}
    if graded.status in ("import_error", "invalid"):
        # The module does not load now: as in a full run, every check fails with that.
        reason = next(iter(ran.values())).message if ran else graded.error or ""
        ran.update(
            {
                name: replace(
                    c, status="failed", points=0.0, message=reason, figures=(), internal=""
                )
                for name, c in partial.carried.items()
                if name not in ran
            }
        )
        carried = {}
    else:
        carried = partial.carried
    checks = [
        ran.get(spec.name) or carried[spec.name]
        for spec in assignment.checks
        if spec.name in ran or spec.name in carried
    ]
    score, max_score = score_of(checks)
    status = graded.status
    if status == "graded" and any(c.status == "error" for c in checks):
        status = "error"
    # What the student's code printed: the earlier full run's (the same submission), not
    # the fragment the checks that ran printed, unless the module no longer loads.
    loads = graded.status not in ("import_error", "invalid")
    return replace(
        graded,
        checks=tuple(checks),
        score=score,
        max_score=max_score,
        status=status,
        output=partial.earlier.output if loads else graded.output,
    )


@contextlib.contextmanager
def _gradebook(options: RunOptions, book: Gradebook | None = None) -> Iterator[Gradebook]:
    """``book``, or the one ``options`` names (opened here and closed after)."""
    if book is not None:
        yield book
        return
    opened = Gradebook.open(options.gradebook or MEMORY)
    try:
        yield opened
    finally:
        opened.close()


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
    gradebook = course.gradebook_target(options.gradebook)
    hidden = [course.root, submissions.resolve(), options.out_dir.resolve()]
    if "://" not in gradebook:  # a file, wherever it is (mode 600 besides)
        hidden += [Path(gradebook + suffix) for suffix in ("", "-wal", "-shm")]
    isolation = Isolation(level, hidden=tuple(hidden))
    # No student code runs on this machine when a cluster grades.
    protected = [] if cluster is not None else guard(isolation, course.root)
    options = replace(
        options,
        limits=assignment.limits.overridden(**(limits or {})),
        isolation=isolation,
        templates=course.templates,
        cache=options.cache or course.root / CACHE_FOLDER,
        gradebook=gradebook,
    )
    if options.submitted_mtime:
        # Asked for: the files' own times (a copy or checkout may have changed them).
        options = replace(
            options,
            submitted_at={
                s.student: datetime.fromtimestamp(s.path.stat().st_mtime, UTC)
                for s in found.submissions
                if s.path is not None and s.path.exists()
            },
            submitted_source="the submission files' modification times",
        )
    # Opened now: a gradebook that cannot be used stops the run before anyone is graded.
    with _gradebook(options) as book:
        plan = plan_run(assignment, list(found.submissions), options, book)
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

    The run and each student's result are recorded in the gradebook as they come;
    results it already holds for unchanged submissions are kept (see ``plan_run``,
    which the caller may run first to show what is left); ``progress`` is called for
    each student graded now.
    """
    started = time.monotonic()
    out = options.out_dir
    (out / "students").mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out)
    with _gradebook(options) as book:
        if plan is None:
            plan = plan_run(assignment, submissions, options, book)
        elif {s.student for s in submissions} != set(plan.done) | {s.student for s in plan.todo}:
            raise ValueError("The resume plan was made for other submissions.")
        run = _grade_recorded(assignment, submissions, options, plan, book, progress)
        students = final_results(book, assignment, run.students)
    run = replace(run, students=students, duration=round(time.monotonic() - started, 2))
    # Each student's file as the gradebook has it (kept students' too: their file may be
    # missing or damaged), rewritten only where it differs.
    for student in run.students:
        write_student_json(student, _student_file(out, student.student), if_changed=True)
    write_reports(run, out, options.templates)
    return run


def _grade_recorded(
    assignment: Assignment,
    submissions: list[Submission],
    options: RunOptions,
    plan: ResumePlan,
    book: Gradebook,
    progress: Progress | None,
) -> RunResult:
    """Grade ``plan.todo``, every result committed to ``book`` as it comes; the run's
    results as the gradebook holds them (no adjustment applied)."""
    out = options.out_dir
    limits = options.limits or assignment.limits
    if options.submitted_at:
        book.set_submission_times(assignment.name, options.submitted_at, options.submitted_source)
    run_id = book.start_run(
        assignment=assignment.name,
        grading_key=plan.grading_key,
        isolation=options.isolation.level,
        out_dir=out,
        forced=options.force,
        versions={"grader": __version__, **_versions()},
    )
    for student, kept in plan.done.items():
        book.record(
            run_id,
            assignment.name,
            kept,
            submission_key=plan.submission_keys.get(student),
            grading_key=plan.grading_key,
            kept=True,
            inputs=plan.inputs(),
        )

    def record(result: StudentResult, carried: Partial | None = None) -> None:
        # The gradebook first: the student's file is only a copy.
        book.record(
            run_id,
            assignment.name,
            result,
            submission_key=plan.submission_keys.get(result.student),
            grading_key=plan.grading_key,
            inputs=plan.inputs(carried),
        )
        write_student_json(result, _student_file(out, result.student))
        if progress is not None:
            progress(result)

    # Students whose every check is carried over (a check removed, say) need no worker.
    todo = []
    for submission in plan.todo:
        partial = plan.partial.get(submission.student)
        if partial is not None and not partial.only:
            rebuilt = replace(partial.earlier, checks=(), duration=0.0)
            record(merge_partial(assignment, rebuilt, partial), partial)
        else:
            todo.append(submission)
    only = [None if (p := plan.partial.get(s.student)) is None else p.only for s in todo]

    def finished(job: int, result: Callable[[], str]) -> None:
        submission = todo[job]
        partial = plan.partial.get(submission.student)
        try:
            graded = StudentResult.from_dict(json.loads(result()))
            if partial is not None:
                graded = merge_partial(assignment, graded, partial)
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
            graded, partial = grader_fault_result(assignment, submission, why), None
        record(graded, partial)

    def died(job: int, grading_it: bool) -> None:
        submission = todo[job]
        if grading_it:
            record(_culprit_result(assignment, submission))
        else:
            why = "the grading process kept dying before it could grade this submission."
            record(grader_fault_result(assignment, submission, why))

    workers, cluster = options.workers, None
    if options.scheduler is not None:
        graded_by = grade_on_cluster(
            options.scheduler,
            assignment,
            todo,
            limits,
            options.isolation.level,
            finished,
            died,
            only=only,
        )
        workers = max(1, len(graded_by))
        cluster = {"scheduler": options.scheduler, "workers": list(graded_by)}
    else:
        _run_jobs(
            [
                (assignment, s, limits, options.isolation, options.cache, checks)
                for s, checks in zip(todo, only, strict=True)
            ],
            _grade_task,
            options.workers,
            (_init_grading_process, (options.isolation,)),
            lambda job, future: finished(job, future.result),
            died,
        )
    book.finish_run(run_id, cluster)
    results = book.run_results(run_id)
    return RunResult(
        assignment=assignment.name,
        title=assignment.title,
        max_score=assignment.max_score,
        functions=assignment.functions,
        students=tuple(results[s.student] for s in sorted(submissions, key=lambda s: s.student)),
        grader_version=__version__,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        workers=workers,
        isolation=options.isolation.level,
        isolation_detail=describe(options.isolation.level),
        cluster=cluster,
    )


def final_results(
    book: Gradebook, assignment: Assignment, raw: Sequence[StudentResult]
) -> tuple[StudentResult, ...]:
    """``raw`` with the gradebook's adjustments and the assignment's late policy applied."""
    adjustments: dict[str, list[Adjustment]] = {}
    for adjustment in book.adjustments(assignment.name):
        adjustments.setdefault(adjustment.student, []).append(adjustment)
    times = book.submission_times(assignment.name) if assignment.late is not None else {}
    return tuple(
        final_result(
            r,
            assignment.max_score,
            adjustments.get(r.student, ()),
            policy=assignment.late,
            submitted=times.get(r.student),
        )
        for r in raw
    )


def rewrite_outputs(
    book: Gradebook, assignment: Assignment, run: RunRecord, templates: Path | None = None
) -> Path | None:
    """Write run ``run``'s files again from the gradebook, with today's adjustments and
    late policy; the folder, or None when it no longer holds that run's results."""
    out = Path(run.out_dir)
    try:
        earlier = RunResult.from_dict(
            json.loads((out / "results.json").read_text(encoding="utf-8"))
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    raw = book.run_results(run.id)
    if earlier.assignment != assignment.name or set(raw) != {s.student for s in earlier.students}:
        return None  # a later run of another kind wrote there
    students = final_results(book, assignment, [raw[s.student] for s in earlier.students])
    updated = replace(earlier, students=students)
    for student in students:
        write_student_json(student, _student_file(out, student.student), if_changed=True)
    write_reports(updated, out, templates)
    return out


def write_reports(run: RunResult, out: Path, templates: Path | None = None) -> None:
    write_results_json(run, out / "results.json")
    write_grades_csv(run, out / "grades.csv")
    write_html_reports(run, out, templates or package_templates())
