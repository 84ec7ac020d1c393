"""Grade one submission: start its worker, run the checks over it, build its result.

This runs in a trusted grading process (never the student's); see ``runner`` for how
a class is spread over several of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from grader.assignment import Assignment
from grader.errors import GraderError
from grader.modules import ModuleProxy, reference_proxy, submission_proxy
from grader.pytest_plugin import GradingPlugin
from grader.results import CheckResult, StudentResult, StudentStatus
from grader.sandbox.client import Limits, Worker
from grader.sandbox.isolation import Isolation
from grader.submissions import Submission

__all__ = ["fingerprint", "grade_submission", "invalid_result", "score_of"]


def fingerprint(path: Path | None) -> str:
    if path is None or not path.is_file():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def score_of(checks: list[CheckResult]) -> tuple[float, float]:
    """Score and maximum over the checks that count (grader errors do not)."""
    counted = [c for c in checks if c.counted]
    return sum(c.points for c in counted), sum(c.max_points for c in counted)


def invalid_result(assignment: Assignment, submission: Submission, reason: str) -> StudentResult:
    """A submission that cannot be graded at all: every check failed, the reason once."""
    checks = assignment.unrun_checks(
        "failed",
        "This check could not run: the submission could not be read "
        "(the reason is shown at the top).",
    )
    return StudentResult(
        student=submission.student,
        score=0.0,
        max_score=assignment.max_score,
        status="invalid",
        checks=checks,
        error=reason,
        source=submission.display_path,
        fingerprint=fingerprint(submission.path),
    )


def grade_submission(
    assignment: Assignment,
    submission: Submission,
    limits: Limits | None = None,
    isolation: Isolation | None = None,
    *,
    reference: ModuleProxy | None = None,
) -> StudentResult:
    """Run every check of ``assignment`` against one submission. The ``reference``
    fixture is the assignment's (live, or recorded in a release's checks folder) unless
    ``reference`` is given."""
    started = time.monotonic()
    if submission.problem is not None or submission.path is None:
        result = invalid_result(assignment, submission, submission.problem or "No file found.")
        return replace(result, duration=round(time.monotonic() - started, 3))
    if reference is None:
        reference = reference_proxy(assignment)
    import keras

    # Keep a long-lived grading process from growing; Python's own collector frees the
    # rest (a full collection here would cost more than some students' whole grading).
    keras.backend.clear_session(free_memory=False)
    worker = Worker(
        submission.path,
        assignment.module,
        limits or assignment.limits,
        isolation,
        notebook=submission.notebook,
    )
    try:
        plugin = GradingPlugin(assignment, submission_proxy(worker), reference)
        exit_code = _run_pytest(assignment, plugin)
    finally:
        worker.close()
    output = worker.output()  # complete once the worker is gone
    checks = plugin.results()
    status: StudentStatus = "graded"
    error = None
    if plugin.import_error is not None:
        status = "import_error"
        error = str(plugin.import_error)
        if plugin.import_error.details:
            error += "\n\n" + plugin.import_error.details.rstrip()
    elif any(c.status == "error" for c in checks):
        status = "error"
        error = "The grader failed on some checks; they do not count. " + _fault_summary(
            plugin, exit_code
        )
    score, max_score = score_of(checks)
    return StudentResult(
        student=submission.student,
        score=score,
        max_score=max_score,
        status=status,
        checks=tuple(checks),
        error=error,
        source=submission.display_path,
        output=output,
        duration=round(time.monotonic() - started, 3),
        fingerprint=fingerprint(submission.path),
    )


def _fault_summary(plugin: GradingPlugin, exit_code: int) -> str:
    if plugin.collection_errors:
        return "Check files failed to load: " + plugin.collection_errors[0][-500:]
    if plugin.internal_errors:
        return plugin.internal_errors[0].strip().splitlines()[-1][:500]
    return f"pytest exit code {exit_code}."


def _run_pytest(assignment: Assignment, plugin: GradingPlugin) -> int:
    files = [str(p) for p in assignment.check_files()]
    if not files:
        raise GraderError(f"Assignment {assignment.name} has no test_*.py check files.")
    args = [
        *files,
        "-c",
        str(assignment.directory / "assignment.toml"),
        "--rootdir",
        str(assignment.directory),
        "--import-mode=importlib",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        # Both collect garbage several times per session: slow with TensorFlow loaded.
        "-p",
        "no:unraisableexception",
        "-p",
        "no:threadexception",
        "-o",
        "addopts=",
        "-q",
    ]
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = pytest.main(args, plugins=[plugin])
    os.environ.pop("PYTEST_CURRENT_TEST", None)
    return int(code)
