"""``grader validate``: prove an assignment is consistent, as a list of findings.

What is proven: every check file loads (each test declared with ``@check``, literal
arguments, a docstring) and every graded function has a check; the course secret exists
if hidden checks draw from it, and every graded function has such a check; the
reference scores full marks and the stub zero (without errors); a release built in a
scratch folder holds no reference code and names no hidden check, and its notebook,
graded as a submission, scores zero.

``validate`` reports each finding as it is made (grading takes a while) and returns all
of them; any ``problem`` makes the assignment invalid. The command line prints them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.assignment import Assignment, read_checks, secret_checks, unguarded_functions
from grader.checks.secret import course_secret
from grader.engine.grading import reference_baseline
from grader.engine.session import GradingSession
from grader.errors import AssignmentError, GraderError
from grader.release import scan_release, write_release
from grader.sandbox.isolation import Isolation, detect
from grader.submissions import Submission, submission_from_file

__all__ = [
    "Finding",
    "FindingLevel",
    "check_consistency",
    "require_consistent",
    "validate",
]

# ok: a property holds; problem: the assignment is not valid; warning: valid, but weak;
# skipped: not checked here; detail: more about the finding before it.
FindingLevel = Literal["ok", "problem", "warning", "skipped", "detail"]


@dataclass(frozen=True)
class Finding:
    level: FindingLevel
    text: str


Report = Callable[[Finding], None]


class _Findings:
    def __init__(self, report: Report | None) -> None:
        self.found: list[Finding] = []
        self._report = report

    def add(self, level: FindingLevel, text: str) -> None:
        finding = Finding(level, text)
        self.found.append(finding)
        if self._report is not None:
            self._report(finding)


def validate(
    assignment: Assignment, isolation: Isolation | None = None, report: Report | None = None
) -> list[Finding]:
    """Every finding about ``assignment``, each also passed to ``report`` as made.
    Raises ``GraderError`` only when the assignment cannot be read at all."""
    findings = _Findings(report)
    problems = check_consistency(assignment)
    for problem in problems:
        findings.add("problem", problem)
    if not problems:
        findings.add(
            "ok",
            f"every check of {assignment.name} is declared with @check, and every graded "
            "function has one.",
        )
    _validate_secret(assignment, findings)
    isolation = isolation or Isolation(detect())
    for label, path, want_full in (
        ("reference", assignment.reference, True),
        ("stub", assignment.stub, False),
    ):
        if not path.is_file():
            findings.add("problem", f"The {label} {path} does not exist.")
            continue
        submission = Submission(label, path, path.name)
        _expect_score(assignment, label, submission, want_full, isolation, findings)
        if label == "reference":
            _warn_secret_not_drawn(assignment, findings)
    _validate_release(assignment, isolation, findings)
    return findings.found


def check_consistency(assignment: Assignment) -> list[str]:
    """Problems with the checks' declarations: anything that stops the check files from
    loading now (they are read again, statically: they may have changed since the
    assignment was loaded), and graded functions that no check grades."""
    try:
        checks = read_checks(assignment.directory, assignment.functions)
    except AssignmentError as exc:
        return [str(exc)]
    graded = {c.function for c in checks}
    return [
        f"Function {function} is in [assignment] functions but no check grades it: "
        f'declare one with @check("{function}", points=N).'
        for function in assignment.functions
        if function not in graded
    ]


def require_consistent(assignment: Assignment) -> None:
    """``AssignmentError`` unless ``check_consistency`` finds nothing: before anything is
    written from an assignment (a release, an autograder)."""
    inconsistent = check_consistency(assignment)
    if inconsistent:
        raise AssignmentError(
            " ".join(inconsistent) + f" Fix the assignment (grader validate {assignment.name})."
        )


def _validate_secret(assignment: Assignment, findings: _Findings) -> None:
    """Warn about graded functions no hidden check guards with secret inputs (read from
    the check files); a problem if such checks exist but the course secret does not."""
    for function in unguarded_functions(assignment):
        findings.add(
            "warning",
            f"{function}: no hidden check draws its inputs from the course "
            "secret (grader.checks.secret.secret_rng), so it can be passed by hard-coding "
            "answers.",
        )
    if not secret_checks(assignment):
        return
    try:
        course_secret(assignment.secret)
    except AssignmentError as exc:
        findings.add("problem", str(exc))
        return
    findings.add("ok", "the course secret is set: hidden checks can draw their inputs.")


def _warn_secret_not_drawn(assignment: Assignment, findings: _Findings) -> None:
    """What the checks did when they ran on the reference: a test pytest collects that is
    no declared check is a problem (it never runs); a function whose hidden checks call
    secret_rng in their source but drew nothing from it is warned about."""
    try:
        baseline = reference_baseline(assignment)
    except GraderError:
        return  # the reference's own grading reports it
    for nodeid in baseline.undeclared:
        findings.add(
            "problem",
            f"{nodeid} is collected by pytest but is no check declared with @check (a "
            "top-level `def test_...` with @check and a docstring): it never runs.",
        )
    drew = baseline.secret_checks
    static = unguarded_functions(assignment)
    guarded = {c.function for c in assignment.checks if c.name in drew & secret_checks(assignment)}
    for function in assignment.functions:
        if function not in guarded and function not in static:
            findings.add(
                "warning",
                f"{function}: its hidden checks drew nothing from the course "
                "secret when they ran on the reference, so it can be passed by hard-coding "
                "answers.",
            )


def _points(value: float) -> str:
    return f"{value:g}"


def _expect_score(
    assignment: Assignment,
    label: str,
    submission: Submission,
    want_full: bool,
    isolation: Isolation,
    findings: _Findings,
) -> None:
    """Grade ``submission``; a problem unless it scores full marks (or zero, without errors)."""
    result = GradingSession(assignment, isolation=isolation).grade(submission)
    errors = [c.name for c in result.checks if c.status == "error"]
    ok = (
        result.score == assignment.max_score
        if want_full
        else result.score == 0 and result.status == "graded"
    ) and not errors
    expected = "full marks" if want_full else "zero, without errors"
    findings.add(
        "ok" if ok else "problem",
        f"the {label} scores {_points(result.score)} / "
        f"{_points(assignment.max_score)} (expected {expected}).",
    )
    if ok:
        return
    failing = [
        f"{c.name}: {c.status}: {c.message.splitlines()[0] if c.message else ''}"
        for c in result.checks
        if (c.status != "passed") == want_full
    ]
    for line in failing + (result.error or "").splitlines()[:3]:
        findings.add("detail", line)


def _validate_release(assignment: Assignment, isolation: Isolation, findings: _Findings) -> None:
    """Build a release in a scratch folder: it must hold nothing students must not see,
    and its notebook, graded as a submission, must score zero without errors."""
    with tempfile.TemporaryDirectory(prefix="grader-validate-") as scratch:
        out = Path(scratch) / "release"
        try:
            write_release(assignment, out, scan=False)
        except GraderError as exc:
            findings.add("problem", f"the release cannot be built: {exc}")
            return
        leaks = scan_release(out, assignment)
        for leak in leaks:
            findings.add("problem", f"the release leaks: {leak}")
        if not leaks:
            findings.add(
                "ok", "the release holds no line of the reference and names no hidden check."
            )
        notebook = out / f"{assignment.module}.ipynb"
        submission = submission_from_file(notebook, assignment.module, "released notebook")
        _expect_score(assignment, "released notebook", submission, False, isolation, findings)
