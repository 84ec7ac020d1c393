"""The pytest front end: fixtures for checks, and a collector that turns outcomes into verdicts.

``GradingPlugin`` is registered on a ``pytest.main`` run over an assignment's check
files. It provides the ``submission`` and ``reference`` fixtures and, like pytest's own
junitxml reporter, collects each test's outcome as it happens; ``results()`` builds the
``CheckResult`` list afterwards, in the order of ``assignment.toml``.

How outcomes map to statuses: a passing test is *passed*; ``CheckFailed`` or
``AssertionError`` or a ``StudentError`` is *failed* (``StudentTimeout``: *timeout*);
anything else, and any failure outside the test body (setup, collection), is the
grader's fault: *error*, which counts neither for nor against the student.

The figures a check records (``grader.checks.figures``) are attached to its result,
whatever its status; recording one can never change that status.
"""

from __future__ import annotations

import traceback
from typing import Any

import pytest

from grader.assignment import Assignment, CheckSpec
from grader.checks import figures
from grader.errors import StudentError, StudentImportError, StudentTimeout
from grader.modules import ModuleProxy
from grader.results import CheckResult, CheckStatus

__all__ = ["GradingPlugin"]


class GradingPlugin:
    def __init__(
        self, assignment: Assignment, submission: ModuleProxy, reference: ModuleProxy
    ) -> None:
        self.assignment = assignment
        self._submission = submission
        self._reference = reference
        self._outcomes: dict[str, tuple[CheckStatus, str]] = {}
        self._figures: dict[str, list[dict[str, Any]]] = {}
        # Figures that were dropped, and why: for the instructor, never the student.
        self.figure_problems: list[str] = []
        self.import_error: StudentImportError | None = None
        self.internal_errors: list[str] = []
        self.collection_errors: list[str] = []

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

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        name = _check_name(item, self.assignment)
        if call.when == "call":
            self._record(name, self._classify(call.excinfo))
            self._keep_figures(name)
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
        self, excinfo: pytest.ExceptionInfo[BaseException] | None
    ) -> tuple[CheckStatus, str]:
        if excinfo is None:
            return "passed", ""
        exc = excinfo.value
        if isinstance(exc, StudentImportError):
            self.import_error = exc
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
        return self._grader_fault(excinfo, "while running")

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

    def results(self) -> list[CheckResult]:
        results = []
        for spec in self.assignment.checks:
            status, text = self._outcomes.get(spec.name, ("error", ""))
            if spec.name not in self._outcomes:
                text = (
                    "The grader could not run this check (it was not collected). "
                    "This does not count against you."
                )
            shown = tuple(self._figures.get(spec.name, ()))
            results.append(_result(spec, status, text, shown))
        return results


def _check_name(item: pytest.Item, assignment: Assignment) -> str:
    if assignment.spec(item.name) is not None:
        return item.name
    return getattr(item, "originalname", item.name)


def _result(
    spec: CheckSpec,
    status: CheckStatus,
    message: str,
    shown: tuple[dict[str, Any], ...] = (),
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
    )
