"""Grade one submission: start its worker, run the checks over it, build its result.

This runs in a trusted grading process (never the student's); see ``runner`` for how
a class is spread over several of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from grader.assignment import Assignment
from grader.checks import keras_state
from grader.engine.check_modules import CheckModules
from grader.engine.plugin import GradingPlugin
from grader.engine.proxy import ModuleProxy, submission_proxy
from grader.engine.reference import reference_proxy
from grader.errors import GraderError
from grader.results import CheckResult, CheckStatus, StudentResult, StudentStatus
from grader.sandbox.client import Worker
from grader.sandbox.convert import configure_tensorflow
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits
from grader.submissions import Submission, load_notebook

__all__ = [
    "ReferenceBaseline",
    "fingerprint",
    "grade_submission",
    "invalid_result",
    "reference_baseline",
    "score_of",
]


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


@dataclass(frozen=True)
class ReferenceBaseline:
    """The whole check suite run once in this process with the reference solution as the
    submission: what each check gives on the reference, and which checks drew inputs from
    the course secret. Computing it fills every memo of the reference's side before the
    first student is graded."""

    outcomes: dict[str, CheckStatus]
    messages: dict[str, str] = field(default_factory=dict)  # why a check did not pass
    secret_checks: frozenset[str] = frozenset()
    duration: float = 0.0
    # Tests pytest collected that are no declared check: they never run.
    undeclared: tuple[str, ...] = ()

    @property
    def broken(self) -> tuple[str, ...]:
        """Checks that do not pass on the reference: they cannot judge any student."""
        return tuple(name for name, status in self.outcomes.items() if status != "passed")


# (assignment folder, name, its checks, its check files) -> (the reference it was computed
# with, the baseline)
_BaselineKey = tuple[str, str, tuple[str, ...], tuple[str, ...] | None]
_BASELINES: dict[_BaselineKey, tuple[ModuleProxy, ReferenceBaseline]] = {}


def reference_baseline(
    assignment: Assignment, reference: ModuleProxy | None = None
) -> ReferenceBaseline:
    """The reference's own verdicts on ``assignment``'s checks, computed once per process
    and reference (in process: the reference proxy answers as both fixtures)."""
    if reference is None:
        reference = reference_proxy(assignment)
    key: _BaselineKey = (
        str(assignment.directory.resolve()),
        assignment.name,
        tuple(c.name for c in assignment.checks),
        assignment.only_files,
    )
    cached = _BASELINES.get(key)
    if cached is not None and cached[0] is reference:
        return cached[1]
    started = time.monotonic()
    _reset_global_state()
    plugin = GradingPlugin(assignment, reference, reference)
    _run_pytest(assignment, plugin)
    checks = plugin.results()
    baseline = ReferenceBaseline(
        outcomes={c.name: c.status for c in checks},
        messages={
            c.name: "\n\n".join(p for p in (c.message, c.internal) if p)
            for c in checks
            if c.status != "passed"
        },
        secret_checks=frozenset(plugin.secret_checks),
        undeclared=tuple(plugin.undeclared),
        duration=round(time.monotonic() - started, 3),
    )
    _BASELINES[key] = (reference, baseline)
    return baseline


_EXPECTED_STATE: keras_state.KerasState | None = None


def _reset_global_state() -> None:
    """Put back the global state the grader's side depends on, before each student: a
    model rebuilt here (or a grader bug) must never change how the next student is judged.

    The first call, before the reference's pre-run, records the state; later calls put
    back whatever drifted. A setting that cannot be put back (the backend, TensorFlow's
    thread pools) raises ``StateDrift``: that process must grade no one else."""
    import keras

    global _EXPECTED_STATE
    # Keep a long-lived grading process from growing; Python's own collector frees the
    # rest (a full collection here would cost more than some students' whole grading).
    keras.backend.clear_session(free_memory=False)
    if _EXPECTED_STATE is None:
        # The settings every grading process runs with, whoever called first.
        configure_tensorflow()
        _EXPECTED_STATE = keras_state.snapshot()
        return
    drifted = keras_state.verify_or_reset(_EXPECTED_STATE)
    if drifted:
        print(
            "grader: Keras settings changed between students and were put back: "
            + ", ".join(drifted),
            file=sys.stderr,
        )


def grade_submission(
    assignment: Assignment,
    submission: Submission,
    limits: Limits | None = None,
    isolation: Isolation | None = None,
    *,
    reference: ModuleProxy | None = None,
    only: frozenset[str] | None = None,
) -> StudentResult:
    """Run every check of ``assignment`` (or the checks in ``only``: the result then
    holds those alone) against one submission. The ``reference`` fixture is the
    assignment's (live, or recorded in a release's checks folder) unless ``reference``
    is given."""
    started = time.monotonic()
    if submission.problem is not None or submission.path is None:
        result = invalid_result(assignment, submission, submission.problem or "No file found.")
        return replace(result, duration=round(time.monotonic() - started, 3))
    if reference is None:
        reference = reference_proxy(assignment)
    # Before this student's worker starts: the reference's side is all computed, and a
    # check the reference itself does not pass is known to be the grader's fault.
    baseline = reference_baseline(assignment, reference)
    started = time.monotonic()  # the student's own time, not the reference's
    _reset_global_state()
    worker = Worker(
        submission.path,
        assignment.module,
        limits or assignment.limits,
        isolation,
        notebook=load_notebook if submission.notebook else None,
    )
    try:
        plugin = GradingPlugin(
            assignment,
            submission_proxy(worker),
            reference,
            baseline=baseline.outcomes,
            on_hidden=worker.hide_output,
            only=only,
        )
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
            plugin, exit_code, checks
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


def _fault_summary(plugin: GradingPlugin, exit_code: int, checks: list[CheckResult]) -> str:
    if plugin.collection_errors:
        return "Check files failed to load: " + plugin.collection_errors[0][-500:]
    broken = [c.name for c in checks if c.status == "error" and c.internal]
    if broken:
        return "Checks that do not pass on the reference solution either: " + ", ".join(broken)
    if plugin.internal_errors:
        return plugin.internal_errors[0].strip().splitlines()[-1][:500]
    return f"pytest exit code {exit_code}."


def _run_pytest(assignment: Assignment, plugin: GradingPlugin) -> int:
    paths = assignment.check_files()
    files = [str(p) for p in paths]
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
        # A check file that does not load voids its own checks, not every other file's.
        "--continue-on-collection-errors",
    ]
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        # Each check folder is a package of its own: see check_modules.
        modules = CheckModules(assignment.directory, assignment.name)
        code = pytest.main(args, plugins=[plugin, modules])
    os.environ.pop("PYTEST_CURRENT_TEST", None)
    return int(code)
