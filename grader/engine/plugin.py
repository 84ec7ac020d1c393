"""The pytest front end: fixtures for checks, and a collector that turns outcomes into verdicts.

``GradingPlugin`` is registered on a ``pytest.main`` run over an assignment's check
files. It provides the ``submission`` and ``reference`` fixtures and, like pytest's own
junitxml reporter, collects each test's outcome as it happens; ``results()`` builds the
``CheckResult`` list afterwards, in the order of ``assignment.toml``.

How outcomes map to statuses: a passing test is *passed*; ``CheckFailed`` or
``AssertionError`` or a ``StudentError`` is *failed* (``StudentTimeout``: *timeout*).
Anything else raised while a check handles the student's data is also *failed*: a
student must never be able to void a check by making the grader raise. Such a failure
carries an ``internal`` note (the exception and traceback) for the instructor, since it
may be a grader bug. *error*, which counts neither for nor against the student, is kept
for faults shown to be the grader's: the check does not pass on the reference solution
either (``baseline``, see ``grader.engine.grading.reference_baseline``), the worker's template
cannot start or the assignment's own files are unusable (``INFRASTRUCTURE_ERRORS``), or
the check failed outside its body (collection, setup) or was skipped.

The figures a check records (``grader.checks.figures``) are attached to its result,
whatever its status; recording one can never change that status. Which checks drew
inputs from the course secret is recorded too (``secret_checks``). Before each check
the plugin keys the checks' ``memo`` under its assignment (``grader.checks.calls``).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from grader.assignment import Assignment, CheckSpec
from grader.checks import figures, secret
from grader.checks.calls import set_memo_namespace
from grader.engine.proxy import ModuleProxy
from grader.errors import (
    AssignmentError,
    InfrastructureError,
    StudentError,
    StudentImportError,
    StudentTimeout,
)
from grader.results import CheckResult, CheckStatus

__all__ = ["INFRASTRUCTURE_ERRORS", "GradingPlugin"]

# Faults of the grading machine or the assignment's own files (a worker template that
# cannot start, a missing course secret), whoever is graded: the check is the grader's
# error. Nothing a student sends can raise these.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (InfrastructureError, AssignmentError)

# Longest internal note kept per check (the traceback's end is what matters).
_INTERNAL_LIMIT = 20_000


class GradingPlugin:
    """Fixtures and verdicts for one pytest run over one submission.

    ``baseline`` maps each check to its status on the reference solution (None: no
    reference run, every check is taken to pass there). A check that does not pass on the
    reference cannot judge anyone: whatever else a student gets on it is *error*.
    """

    def __init__(
        self,
        assignment: Assignment,
        submission: ModuleProxy,
        reference: ModuleProxy,
        *,
        baseline: Mapping[str, CheckStatus] | None = None,
        on_hidden: Callable[[], None] | None = None,
        only: frozenset[str] | None = None,
    ) -> None:
        self.assignment = assignment
        # Run these checks alone (a regrade of what changed); None: every check.
        self.only = only
        # Checks' memo keys live under their assignment's folder: two assignments (or a
        # release's checks folder and its source) graded in one process never share one.
        self._memo_namespace = f"{assignment.name}:{assignment.directory.resolve()}"
        # Called once, before the first hidden check: their inputs come from the course
        # secret, so from then on nothing the student's code prints may reach them.
        self._on_hidden = on_hidden
        self._submission = submission
        self._reference = reference
        self.baseline = baseline
        self._outcomes: dict[str, tuple[CheckStatus, str]] = {}
        # Instructor-only notes per check: unexpected exceptions on the student's data.
        self._internal: dict[str, str] = {}
        # Checks that failed only because the student's module could not be imported.
        self._import_failures: set[str] = set()
        # The checks that drew inputs from the course secret during this run.
        self.secret_checks: set[str] = set()
        self._figures: dict[str, list[dict[str, Any]]] = {}
        # Figures that were dropped, and why: for the instructor, never the student.
        self.figure_problems: list[str] = []
        self.import_error: StudentImportError | None = None
        self.internal_errors: list[str] = []
        self.collection_errors: list[str] = []
        # Tests pytest collected that are no declared check (not run).
        self.undeclared: list[str] = []

    # -- fixtures -------------------------------------------------------------------

    @pytest.fixture
    def submission(self) -> ModuleProxy:
        """The student's module; every call runs in the student's worker process."""
        return self._submission

    @pytest.fixture
    def reference(self) -> ModuleProxy:
        """The reference solution, run in the grading process."""
        return self._reference

    # -- hooks ------------------------------------------------------------------------

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        figures.start_recording()
        secret.start_check()
        secret.use_secret(self.assignment.secret)
        set_memo_namespace(self._memo_namespace)
        if self._on_hidden is not None and self._hidden(item):
            on_hidden, self._on_hidden = self._on_hidden, None
            on_hidden()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Check files are imported during collection: one that draws from the secret or
        # memoizes at import time must see this assignment's, not the last one's.
        secret.use_secret(self.assignment.secret)
        set_memo_namespace(self._memo_namespace)

    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        # pytest collects more than the declarations say (methods of Test* classes, a test
        # under an `if`, one imported from elsewhere): such a test never runs. It would
        # count for nothing, and might run among the visible checks on secret inputs.
        declared = [i for i in items if self.assignment.spec(_check_name(i, self.assignment))]
        undeclared = [i for i in items if i not in declared]
        if undeclared:
            self.undeclared.extend(i.nodeid for i in undeclared)
            config.hook.pytest_deselected(items=undeclared)
            items[:] = declared
        if self.only is not None:
            left_out = [i for i in items if _check_name(i, self.assignment) not in self.only]
            if left_out:
                config.hook.pytest_deselected(items=left_out)
                items[:] = [i for i in items if i not in left_out]
        # Visible checks first (a stable sort keeps their order): what the student's code
        # prints during them is shown, and nothing after the first hidden one is.
        items.sort(key=self._hidden)

    def _hidden(self, item: pytest.Item) -> bool:
        spec = self.assignment.spec(_check_name(item, self.assignment))
        return spec is not None and spec.visibility == "hidden"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        if call.when == "call" and call.excinfo is not None:
            # pytest would format a full traceback (source parsed, arguments shown) that
            # nobody reads: verdicts come from the exception itself. Most of a failing
            # check's cost in this process.
            setattr(item, "repr_failure", _brief_failure)  # noqa: B010 - this item only
        report = yield
        name = _check_name(item, self.assignment)
        if call.when == "call":
            self._record(name, self._classify(name, call.excinfo))
            self._keep_figures(name)
            if secret.drew_secret():
                self.secret_checks.add(name)
        elif call.when == "teardown":
            figures.stop_recording()  # nothing recorded outside a check's body is kept
        elif call.when == "setup" and call.excinfo is not None:
            if call.excinfo.errisinstance(pytest.skip.Exception):
                self._record(name, ("error", "The grader skipped this check."))
            else:
                self._record(name, self._grader_fault(call.excinfo, "while setting up"))
        return report

    def _record(self, name: str, outcome: tuple[CheckStatus, str]) -> None:
        # A parametrized check passes only if every case passes; the student's own
        # failure outranks a grader fault in another case.
        previous = self._outcomes.get(name)
        if (
            previous is None
            or previous[0] == "passed"
            or (previous[0] == "error" and outcome[0] in ("failed", "timeout"))
        ):
            self._outcomes[name] = outcome

    def _keep_figures(self, name: str) -> None:
        # A parametrized check keeps the figures of all its cases, up to the limit.
        try:
            recorded = figures.stop_recording()
            kept = self._figures.setdefault(name, [])
            room = max(figures.MAX_FIGURES - len(kept), 0)
            kept.extend(recorded.figures[:room])
            self.figure_problems.extend(f"{name}: {p}" for p in recorded.problems)
            if len(recorded.figures) > room:
                self.figure_problems.append(f"{name}: figures past {figures.MAX_FIGURES} dropped")
        except Exception as exc:  # a figure never costs a verdict
            self.figure_problems.append(f"{name}: figures dropped: {type(exc).__name__}: {exc}")

    def _classify(
        self, name: str, excinfo: pytest.ExceptionInfo[BaseException] | None
    ) -> tuple[CheckStatus, str]:
        if excinfo is None:
            return "passed", ""
        exc = excinfo.value
        if isinstance(exc, StudentImportError):
            self.import_error = exc
            self._import_failures.add(name)
            return "failed", (
                "This check could not run because your code could not be imported "
                "(the error is shown at the top)."
            )
        if isinstance(exc, StudentTimeout):
            return "timeout", str(exc)
        if isinstance(exc, StudentError):
            text = str(exc)
            if exc.details:
                text += "\n\n" + exc.details.rstrip()
            return "failed", text
        if isinstance(exc, AssertionError):
            return "failed", str(exc) or "The check's condition did not hold."
        if isinstance(exc, pytest.skip.Exception):
            return "error", f"The grader skipped this check: {exc}"
        if isinstance(exc, INFRASTRUCTURE_ERRORS):
            return self._grader_fault(excinfo, "while running")
        if isinstance(exc, pytest.fail.Exception):
            return "failed", str(exc.msg or "") or "The check's condition did not hold."
        # Raised while the grader handled the student's data: a failure, never a void.
        note = "".join(traceback.format_exception(exc))
        self._internal[name] = _join(self._internal.get(name, ""), note)
        self.internal_errors.append(note)
        return "failed", (
            f"The grader could not process your answer ({type(exc).__name__}). "
            "This counts as a failed check."
        )

    def _grader_fault(
        self, excinfo: pytest.ExceptionInfo[BaseException], when: str
    ) -> tuple[CheckStatus, str]:
        exc = excinfo.value
        self.internal_errors.append("".join(traceback.format_exception(exc)))
        return "error", (
            f"The grader failed {when} this check ({type(exc).__name__}: {str(exc)[:300]}). "
            "This is not your fault and does not count against you."
        )

    # -- results ------------------------------------------------------------------------

    def outcomes(self) -> dict[str, CheckStatus]:
        """Each check's status as the run found it, before the baseline is applied."""
        return {
            spec.name: self._outcomes.get(spec.name, ("error", ""))[0]
            for spec in self.assignment.checks
        }

    def results(self) -> list[CheckResult]:
        results = []
        for spec in self.assignment.checks:
            if self.only is not None and spec.name not in self.only:
                continue
            status, text = self._outcomes.get(spec.name, ("error", ""))
            internal = self._internal.get(spec.name, "")
            if spec.name not in self._outcomes:
                text = (
                    "The grader could not run this check (it was not collected). "
                    "This does not count against you."
                )
            elif (
                self._broken_on_reference(spec.name)
                and status in ("failed", "timeout")
                and spec.name not in self._import_failures
            ):
                status, text = "error", _BROKEN_ON_REFERENCE
                found = self.baseline.get(spec.name) if self.baseline else None
                internal = _join(
                    f"This check does not pass on the reference solution ({found}), so it "
                    "was not counted for this student.",
                    internal,
                )
            shown = tuple(self._figures.get(spec.name, ()))
            results.append(_result(spec, status, text, shown, internal))
        return results

    def _broken_on_reference(self, name: str) -> bool:
        return self.baseline is not None and self.baseline.get(name) != "passed"


_BROKEN_ON_REFERENCE = (
    "The grader could not judge this check: it does not pass on the reference solution "
    "either, so the fault is the grader's. It does not count against you; your instructor "
    "will regrade it."
)


def _join(first: str, second: str) -> str:
    text = "\n\n".join(part for part in (first.rstrip(), second.rstrip()) if part)
    return text if len(text) <= _INTERNAL_LIMIT else "…" + text[-_INTERNAL_LIMIT:]


def _brief_failure(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """A failed check's report text: the exception's own line."""
    return excinfo.exconly()


def _check_name(item: pytest.Item, assignment: Assignment) -> str:
    if assignment.spec(item.name) is not None:
        return item.name
    return getattr(item, "originalname", item.name)


def _result(
    spec: CheckSpec,
    status: CheckStatus,
    message: str,
    shown: tuple[dict[str, Any], ...] = (),
    internal: str = "",
) -> CheckResult:
    return CheckResult(
        name=spec.name,
        function=spec.function,
        description=spec.description,
        points=spec.points if status == "passed" else 0.0,
        max_points=spec.points,
        status=status,
        message=message,
        visibility=spec.visibility,
        figures=shown,
        internal=internal,
    )
