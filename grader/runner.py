"""Grade a whole class: spread submissions over grading processes, write every report.

The process running this (the CLI) never imports TensorFlow and never runs student
code. Each grading process imports TensorFlow once, keeps the reference's answers
for every student it grades, and starts one sandboxed worker per submission. Each
student's result is written to ``OUT/students/`` as soon as it is known.

A run into a folder that already holds results resumes: a student whose submission is
unchanged since it was graded, by the same grading (see ``grading_key``), keeps that
result. ``OUT/students/.resume`` records, for each student, which submission and which
result file were graded under which grading key; it is written before the student's
file, so a run killed at any moment (even ``kill -9``) loses at most the students being
graded, and a truncated or foreign result file is never trusted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from grader import __version__
from grader.assignment import Assignment
from grader.paths import project_root
from grader.reports._atomic import atomic_write_text
from grader.reports.csv_report import write_grades_csv
from grader.reports.html import feedback_filename, write_html_reports
from grader.reports.json_report import write_results_json, write_student_json
from grader.results import RunResult, StudentResult
from grader.sandbox.client import Limits
from grader.sandbox.isolation import Isolation
from grader.submissions import Submission

__all__ = [
    "ResumePlan",
    "RunOptions",
    "grade_class",
    "grader_fault_result",
    "grading_key",
    "plan_run",
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


def _init_grading_process(isolation: Isolation) -> None:
    # Grading processes speak through return values only; TensorFlow's notes and
    # pytest's output would garble the instructor's terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import gc

    from grader.sandbox.template import TemplateError, template_for

    # The workers' template imports TensorFlow while this process does.
    with contextlib.suppress(TemplateError):  # the first worker tries again, and says why
        template_for(isolation)
    from grader.sandbox.convert import configure_tensorflow

    configure_tensorflow()
    import keras  # noqa: F401

    # TensorFlow's and Keras' objects live as long as the process: collections skip them.
    gc.freeze()


def _grade_task(
    name: str,
    root: str,
    submission: Submission,
    limits: Limits | None,
    isolation: Isolation,
) -> str:
    from grader.assignment import load_assignment
    from grader.grading import grade_submission

    assignment = load_assignment(name, Path(root))
    return json.dumps(grade_submission(assignment, submission, limits, isolation).to_dict())


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


def _load_index(out: Path, key: str) -> dict[str, dict[str, str]]:
    """The resume index's entries for grading key ``key``; anything unreadable is empty."""
    try:
        data = json.loads((out / "students" / _RESUME_INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if (
        not isinstance(data, dict)
        or data.get("format") != _RESUME_FORMAT
        or data.get("grading_key") != key
        or not isinstance(data.get("students"), dict)
    ):
        return {}
    return {
        student: entry
        for student, entry in data["students"].items()
        if isinstance(entry, dict)
        and isinstance(entry.get("submission"), str)
        and isinstance(entry.get("result"), str)
    }


def _write_index(out: Path, key: str, entries: dict[str, dict[str, str]]) -> None:
    data = {"format": _RESUME_FORMAT, "grading_key": key, "students": entries}
    atomic_write_text(
        out / "students" / _RESUME_INDEX, json.dumps(data, indent=1, sort_keys=True) + "\n"
    )


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


def _remove_stale_temporaries(out: Path) -> None:
    # atomic_write_text's half-written files, left behind when a run was killed.
    for folder in (out, out / "students", out / "feedback"):
        for path in folder.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                path.unlink()


# ---------------------------------------------------------------- grading


def grade_class(
    assignment: Assignment,
    submissions: list[Submission],
    options: RunOptions,
    progress: Progress | None = None,
    root: Path | None = None,
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
        if skey is None:
            index.pop(result.student, None)
        else:
            index[result.student] = {"submission": skey, "result": _result_digest(result)}
        # The index first: a result file is only trusted once the index names it.
        _write_index(out, plan.grading_key, index)
        write_student_json(result, _student_file(out, result.student))
        if progress is not None:
            progress(result)

    pending = list(plan.todo)
    attempts: dict[str, int] = {}
    root_dir = str(root or project_root())
    while pending:
        context = multiprocessing.get_context("spawn")
        workers = max(1, min(options.workers, len(pending)))
        with ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_init_grading_process,
            initargs=(options.isolation,),
        ) as pool:
            futures: dict[Future[str], Submission] = {
                pool.submit(
                    _grade_task, assignment.name, root_dir, s, options.limits, options.isolation
                ): s
                for s in pending
            }
            pending = []
            for future in as_completed(futures):
                submission = futures[future]
                try:
                    record(StudentResult.from_dict(json.loads(future.result())))
                except BrokenProcessPool:
                    # A grading process died; retry its students once in a fresh pool.
                    attempts[submission.student] = attempts.get(submission.student, 0) + 1
                    if attempts[submission.student] > 1:
                        why = "the grading process died twice while grading it."
                        record(grader_fault_result(assignment, submission, why))
                    else:
                        pending.append(submission)
                except Exception as exc:
                    why = f"{type(exc).__name__}: {exc}"
                    record(grader_fault_result(assignment, submission, why))

    run = RunResult(
        assignment=assignment.name,
        title=assignment.title,
        max_score=assignment.max_score,
        functions=assignment.functions,
        students=tuple(results[s.student] for s in sorted(submissions, key=lambda s: s.student)),
        grader_version=__version__,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        duration=round(time.monotonic() - started, 2),
        workers=options.workers,
        isolation=options.isolation.level,
    )
    write_reports(run, out)
    return run


def write_reports(run: RunResult, out: Path) -> None:
    write_results_json(run, out / "results.json")
    write_grades_csv(run, out / "grades.csv")
    write_html_reports(run, out, project_root() / "templates")
