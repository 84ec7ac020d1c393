"""``grader check FILE``: students run the visible checks on their own work.

The checks come from, first found:

1. ``--checks DIR``: a release's ``checks/`` folder (or the release folder holding it);
2. a ``checks/`` folder next to FILE, or next to one of the folders above it;
3. the instructor's checkout: ``assignments/NAME`` and the live reference solution
   (NAME: ``--assignment``, else FILE's stem, else the checkout's only assignment).

A release's checks answer the ``reference`` fixture from ``checks/answers.json``
(``grader.engine.reference``). Either way the checks run exactly as when the work is graded
(``grade_submission``: the same worker, limits and isolation detection) but only the
visible ones: hidden checks are neither run nor named, here or on the feedback page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from rich import box
from rich.table import Table
from rich.text import Text

from grader import __version__
from grader.assignment import Assignment, available_assignments, load_assignment, load_bundle
from grader.course import Course, find_course
from grader.engine.reference import NOT_RECORDED
from grader.errors import UsageError
from grader.files import atomic_write_text
from grader.paths import package_templates
from grader.reports.html import feedback_filename, format_points, render_feedback
from grader.results import RunResult, StudentResult
from grader.sandbox.isolation import Isolation, detect
from grader.submissions import Submission, submission_from_file

__all__ = [
    "FEEDBACK_DIR",
    "Outcome",
    "Plan",
    "check_table",
    "exit_code",
    "find_checks",
    "plan_check",
    "run_check",
    "summary_lines",
    "write_page",
]

FEEDBACK_DIR = "grader-feedback"
CHECKS_DIR = "checks"


@dataclass(frozen=True)
class Plan:
    """What ``grader check`` is about to run."""

    file: Path
    assignment: Assignment  # visible checks only
    origin: str  # where the checks come from, for the student
    submission: Submission
    out_dir: Path
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    result: StudentResult
    page: Path | None
    isolation: str

    @property
    def exit_code(self) -> int:
        return exit_code(self.result)


def exit_code(result: StudentResult) -> int:
    """0 every check passed; 1 some check failed or timed out (the student's to fix);
    3 no check failed but the grader could not run some."""
    statuses = {c.status for c in result.checks}
    if statuses & {"failed", "timeout"} or result.status == "import_error":
        return 1
    if statuses - {"passed"} or not result.checks:
        return 3
    return 0


def find_checks(file: Path, checks: Path | None = None) -> Path | None:
    """The release checks folder for ``file``; None when there is none."""
    if checks is not None:
        for candidate in (checks, checks / CHECKS_DIR):
            if (candidate / "assignment.toml").is_file():
                return candidate
        raise UsageError(
            f"{checks} is not a checks folder: neither it nor {checks / CHECKS_DIR} holds "
            "an assignment.toml."
        )
    start = file.resolve().parent
    for folder in (start, *start.parents):
        candidate = folder / CHECKS_DIR
        if (candidate / "assignment.toml").is_file():
            return candidate
    return None


def plan_check(
    file: Path,
    assignment_name: str | None = None,
    checks: Path | None = None,
    out_dir: Path | None = None,
    course: Course | None = None,
) -> Plan:
    """Find the checks and read the file; UsageError (or AssignmentError) if either fails."""
    if not file.exists():
        raise UsageError(f"{file} does not exist.")
    notes: list[str] = []
    bundle = find_checks(file, checks)
    if bundle is not None:
        assignment = load_bundle(bundle)
        if assignment_name is not None and assignment_name != assignment.name:
            raise UsageError(
                f"The checks in {bundle} are for the assignment {assignment.name}, "
                f"not {assignment_name}."
            )
        origin = f"{bundle} (the release's checks and recorded answers)"
    else:
        assignment = _from_checkout(file, assignment_name, course).visible()
        origin = f"{assignment.directory} (the instructor's checkout, visible checks only)"
    if not assignment.checks:
        raise UsageError(f"The assignment {assignment.name} has no visible checks to run.")
    submission = submission_from_file(file, assignment.module, student=file.name)
    if submission.problem is not None or submission.path is None:
        raise UsageError(submission.problem or f"{file} cannot be read.")
    expected = (f"{assignment.module}.py", f"{assignment.module}.ipynb")
    if file.name not in expected:
        notes.append(
            f"{file.name} is checked as {assignment.module}: hand it in as "
            f"{expected[0]} or {expected[1]}."
        )
    out = out_dir if out_dir is not None else file.parent / FEEDBACK_DIR
    return Plan(file, assignment, origin, submission, out, tuple(notes))


def _from_checkout(file: Path, name: str | None, course: Course | None) -> Assignment:
    try:
        course = course or find_course()
        known = available_assignments(course)
    except UsageError:  # no course here: a student's machine, only a release's checks
        known = []
    if name is None:
        stem = file.stem
        if stem in known:
            name = stem
        elif len(known) == 1:
            name = known[0]
        else:
            which = f" or the assignment with --assignment ({', '.join(known)})" if known else ""
            raise UsageError(
                f"No checks found for {file}: there is no {CHECKS_DIR}/ folder next to it "
                "or above it. Put the checks/ folder of the assignment's release next to "
                f"your file, or name the folder with --checks DIR{which}."
            )
    return load_assignment(name, course)


def run_check(plan: Plan, isolation: Isolation | None = None) -> Outcome:
    """Run the plan's visible checks on the file and write its feedback page."""
    from grader.engine.session import GradingSession

    if isolation is None:
        hidden = [plan.out_dir.resolve()]
        if plan.assignment.answers is not None:
            hidden.append(plan.assignment.directory.resolve())
        isolation = Isolation(detect(), hidden=tuple(hidden))
    result = GradingSession(plan.assignment, isolation=isolation).grade(plan.submission)
    unrecorded = [c for c in result.checks if c.status == "error" and NOT_RECORDED in c.message]
    if unrecorded and all(c.status != "error" or c in unrecorded for c in result.checks):
        which = "1 check" if len(unrecorded) == 1 else f"{len(unrecorded)} checks"
        result = replace(
            result,
            error=f"{which} can only run when your work is graded: the answers they need "
            "were not recorded with the assignment's checks. They do not count here.",
        )
    page = write_page(plan, result, isolation.level)
    return Outcome(plan, result, page, isolation.level)


def write_page(plan: Plan, result: StudentResult, isolation: str) -> Path | None:
    """The feedback page, as for graded work; None if the page templates are missing."""
    templates = _templates()
    if templates is None:
        return None
    assignment = plan.assignment
    graded = {c.function for c in assignment.checks}
    run = RunResult(
        assignment=assignment.name,
        title=f"{assignment.title} (self-check: visible checks)",
        max_score=result.max_score,
        functions=tuple(f for f in assignment.functions if f in graded),
        students=(result,),
        grader_version=__version__,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        duration=result.duration,
        isolation=isolation,
    )
    page = plan.out_dir / feedback_filename(plan.file.name)
    atomic_write_text(page, render_feedback(run, result, templates))
    return page


def _templates() -> Path | None:
    templates = package_templates()  # a student has no course: the grader's own pages
    return templates if (templates / "feedback.html").is_file() else None


def check_table(result: StudentResult) -> Table:
    """One row per check: function, check, status, points, the message's first line."""
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("function")
    table.add_column("check")
    table.add_column("status")
    table.add_column("points", justify="right")
    table.add_column("message", overflow="fold")
    styles = {"passed": "green", "failed": "red", "timeout": "red", "error": "yellow"}
    previous = ""
    for check in result.checks:
        lines = check.message.strip().splitlines()
        # Text, not markup: messages quote code such as `gaps["l2"]`.
        table.add_row(
            Text(check.function if check.function != previous else ""),
            Text(check.name),
            Text(check.status, style=styles.get(check.status, "")),
            f"{format_points(check.points)} / {format_points(check.max_points)}",
            Text(lines[0] if lines else ""),
        )
        previous = check.function
    return table


def summary_lines(outcome: Outcome) -> list[str]:
    """What follows the table: the total, what went wrong overall, the page."""
    result = outcome.result
    passed = sum(c.status == "passed" for c in result.checks)
    lines = [
        f"Visible checks: {format_points(result.score)} / {format_points(result.max_score)} "
        f"points; {passed} of {len(result.checks)} checks passed.",
    ]
    if result.error and result.status != "import_error":  # that one goes above the table
        lines.append(result.error.rstrip())
    lines += list(outcome.plan.notes)
    if outcome.page is not None:
        lines.append(f"Feedback page: {outcome.page.resolve()}")
    else:
        lines.append("No feedback page: the grader's page templates are not installed.")
    lines.append(
        "This runs the visible checks only; your grade comes from grading your handed-in work."
    )
    return lines
