"""Grade a whole class: spread submissions over grading processes, write every report.

The process running this (the CLI) never imports TensorFlow and never runs student
code. Each grading process imports TensorFlow once, keeps the reference's answers
for every student it grades, and starts one sandboxed worker per submission. Each
student's result is written to ``OUT/students/`` as soon as it is known.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from grader import __version__
from grader.assignment import Assignment
from grader.paths import project_root
from grader.reports.csv_report import write_grades_csv
from grader.reports.html import feedback_filename, write_html_reports
from grader.reports.json_report import write_results_json, write_student_json
from grader.results import RunResult, StudentResult
from grader.sandbox.client import Limits
from grader.submissions import Submission

__all__ = ["ISOLATION", "RunOptions", "grade_class", "grader_fault_result"]

# What the worker boundary provides today; a later hardening raises it.
ISOLATION = "process"

Progress = Callable[[StudentResult], None]


@dataclass(frozen=True)
class RunOptions:
    out_dir: Path
    workers: int = 1
    limits: Limits | None = None


def _init_grading_process() -> None:
    # Grading processes speak through return values only; TensorFlow's notes and
    # pytest's output would garble the instructor's terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    from grader.sandbox.convert import configure_tensorflow

    configure_tensorflow()


def _grade_task(name: str, root: str, submission: Submission, limits: Limits | None) -> str:
    from grader.assignment import load_assignment
    from grader.grading import grade_submission

    assignment = load_assignment(name, Path(root))
    return json.dumps(grade_submission(assignment, submission, limits).to_dict())


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


def grade_class(
    assignment: Assignment,
    submissions: list[Submission],
    options: RunOptions,
    progress: Progress | None = None,
    root: Path | None = None,
) -> RunResult:
    """Grade every submission and write results.json, grades.csv and the HTML pages."""
    started = time.monotonic()
    out = options.out_dir
    (out / "students").mkdir(parents=True, exist_ok=True)
    results: dict[str, StudentResult] = {}

    def record(result: StudentResult) -> None:
        results[result.student] = result
        name = feedback_filename(result.student).removesuffix(".html") + ".json"
        write_student_json(result, out / "students" / name)
        if progress is not None:
            progress(result)

    pending = list(submissions)
    attempts: dict[str, int] = {}
    root_dir = str(root or project_root())
    while pending:
        context = multiprocessing.get_context("spawn")
        workers = max(1, min(options.workers, len(pending)))
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_grading_process
        ) as pool:
            futures: dict[Future[str], Submission] = {
                pool.submit(_grade_task, assignment.name, root_dir, s, options.limits): s
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
        isolation=ISOLATION,
    )
    write_reports(run, out)
    return run


def write_reports(run: RunResult, out: Path) -> None:
    write_results_json(run, out / "results.json")
    write_grades_csv(run, out / "grades.csv")
    write_html_reports(run, out, project_root() / "templates")
