"""The ``grader`` command: a thin shell over the library.

Exit codes: 0 the command completed (whatever the students scored); 1 ``validate``
found a problem; 2 usage or input errors; 3 the grader itself failed.
"""

from __future__ import annotations

import ast
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grader import __version__
from grader.assignment import Assignment, available_assignments, load_assignment
from grader.errors import AssignmentError, GraderError, UsageError
from grader.results import StudentResult
from grader.sandbox.isolation import LEVELS, Isolation, describe, detect, require

__all__ = ["main"]

# TensorFlow reads these at import; its start-up notes are noise on an instructor's terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

console = Console(stderr=True, soft_wrap=True)
out_console = Console(soft_wrap=True)


def _points(value: float) -> str:
    return f"{value:g}"


def _pick_assignment(name: str | None) -> Assignment:
    if name is None:
        known = available_assignments()
        if len(known) != 1:
            raise UsageError(
                "Several assignments exist; choose one with --assignment "
                f"({', '.join(known) or 'none found'})."
            )
        name = known[0]
    return load_assignment(name)


@click.group()
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Grade TensorFlow/Keras assignments with checks written as pytest tests."""


@main.command()
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("--assignment", "assignment_name", help="Assignment name (default: the only one).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("grader-results"),
    show_default=True,
    help="Folder for results.json, grades.csv and the HTML pages.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Submissions graded in parallel (default: the number of cores).",
)
@click.option("--call-timeout", type=click.FloatRange(min=0.1), help="Seconds per call.")
@click.option("--import-timeout", type=click.FloatRange(min=1), help="Seconds to import a module.")
@click.option("--submission-timeout", type=click.FloatRange(min=1), help="Seconds per student.")
@click.option("--memory-mb", type=click.IntRange(min=256), help="Memory per student's worker.")
@click.option("--output-bytes", type=click.IntRange(min=0), help="Printed output kept per student.")
@click.option(
    "--strict",
    type=click.Choice(LEVELS),
    help="Refuse to run unless student code is isolated at least this strongly.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Grade every submission again, even those already graded in --out.",
)
def run(
    submissions: Path,
    assignment_name: str | None,
    out_dir: Path,
    workers: int | None,
    call_timeout: float | None,
    import_timeout: float | None,
    submission_timeout: float | None,
    memory_mb: int | None,
    output_bytes: int | None,
    strict: str | None,
    force: bool,
) -> None:
    """Grade every submission in SUBMISSIONS.

    A run into an --out folder that holds an earlier (even interrupted) run's results
    keeps those of unchanged submissions, unless --force.
    """
    from grader.runner import RunOptions, grade_class, plan_run
    from grader.submissions import discover

    try:
        assignment = _pick_assignment(assignment_name)
        found = discover(submissions, assignment.module)
        level = detect()
        require(level, strict)
    except GraderError as exc:
        _usage_exit(exc)
    isolation = Isolation(level, hidden=(submissions.resolve(), out_dir.resolve()))
    if not found.submissions:
        _usage_exit(
            UsageError(
                f"No submissions found in {submissions}. Expected <student>/"
                f"{assignment.module}.py or <student>.py."
            )
        )
    limits = replace(
        assignment.limits,
        call_timeout=call_timeout or assignment.limits.call_timeout,
        import_timeout=import_timeout or assignment.limits.import_timeout,
        submission_timeout=submission_timeout or assignment.limits.submission_timeout,
        memory_mb=memory_mb or assignment.limits.memory_mb,
        output_bytes=assignment.limits.output_bytes if output_bytes is None else output_bytes,
    )
    workers = workers or os.cpu_count() or 1
    console.print(
        f"Grading {len(found.submissions)} submissions of [bold]{assignment.title}[/] "
        f"with {workers} workers."
    )
    console.print(f"Isolation: {describe(level)}.")
    for name in found.ignored:
        console.print(f"[yellow]Ignored[/] {name}: not a submission.")
    options = RunOptions(
        out_dir=out_dir, workers=workers, limits=limits, isolation=isolation, force=force
    )
    plan = plan_run(assignment, list(found.submissions), options)
    if plan.done:
        console.print(
            f"Resuming: {len(plan.done)} already graded, {len(plan.todo)} to grade "
            f"(results kept from {out_dir}; --force grades everyone again)."
        )
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        task = progress.add_task("Grading", total=len(plan.todo))

        def advance(result: StudentResult) -> None:
            progress.update(task, advance=1, description=f"Graded {result.student}")

        try:
            result = grade_class(
                assignment,
                list(found.submissions),
                options,
                progress=advance,
                plan=plan,
            )
        except GraderError as exc:
            console.print(f"[red]The grader failed:[/] {exc}")
            sys.exit(3)
    table = Table(title=f"{assignment.title}: {len(result.students)} students")
    table.add_column("student")
    table.add_column("score", justify="right")
    table.add_column("status")
    for student in result.students:
        table.add_row(
            student.student,
            f"{_points(student.score)} / {_points(student.max_score)}",
            student.status if student.error is None else f"{student.status}: {_first(student)}",
        )
    out_console.print(table)
    out_console.print(
        f"Wrote {out_dir / 'results.json'}, {out_dir / 'grades.csv'}, "
        f"{out_dir / 'summary.html'} and {out_dir / 'feedback'}/ in {result.duration:g} s."
    )


def _first(student: StudentResult) -> str:
    return (student.error or "").strip().splitlines()[0][:80] if student.error else ""


def _usage_exit(exc: Exception) -> Any:
    console.print(f"[red]Error:[/] {exc}")
    sys.exit(2)


@main.command()
@click.argument("name")
def validate(name: str) -> None:
    """Prove an assignment is consistent: the reference scores full marks, the stub zero."""
    from grader.grading import grade_submission
    from grader.submissions import Submission

    try:
        assignment = load_assignment(name)
        problems = check_consistency(assignment)
    except GraderError as exc:
        _usage_exit(exc)
    for problem in problems:
        console.print(f"[red]✗[/] {problem}")
    if not problems:
        console.print(f"[green]✓[/] every check of {name} has points, a function and a test.")
    for label, path, want_full in (
        ("reference", assignment.reference, True),
        ("stub", assignment.stub, False),
    ):
        if not path.is_file():
            problems.append(f"The {label} {path} does not exist.")
            console.print(f"[red]✗[/] {problems[-1]}")
            continue
        with tempfile.TemporaryDirectory():
            result = grade_submission(
                assignment, Submission(label, path, path.name), isolation=Isolation(detect())
            )
        errors = [c.name for c in result.checks if c.status == "error"]
        ok = (
            result.score == assignment.max_score
            if want_full
            else result.score == 0 and result.status == "graded"
        ) and not errors
        verdict = "[green]✓[/]" if ok else "[red]✗[/]"
        expected = "full marks" if want_full else "zero, without errors"
        console.print(
            f"{verdict} the {label} scores {_points(result.score)} / "
            f"{_points(assignment.max_score)} (expected {expected})."
        )
        if not ok:
            failing = [
                f"{c.name}: {c.status}: {c.message.splitlines()[0] if c.message else ''}"
                for c in result.checks
                if (c.status != "passed") == want_full
            ]
            problems.append(f"The {label} does not score {expected}.")
            for line in failing + (result.error or "").splitlines()[:3]:
                console.print(f"    {line}")
    sys.exit(1 if problems else 0)


def check_consistency(assignment: Assignment) -> list[str]:
    """Every [checks.*] table has a test function and every test function a table."""
    tests: set[str] = set()
    for path in assignment.check_files():
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError as exc:
            raise AssignmentError(f"{path} has a syntax error: {exc}") from exc
        tests |= {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        }
    declared = {c.name for c in assignment.checks}
    problems = [
        f"Check {name} is in assignment.toml but no test_*.py defines it."
        for name in sorted(declared - tests)
    ]
    problems += [
        f"Test {name} has no [checks.{name}] table (points, function) in assignment.toml."
        for name in sorted(tests - declared)
    ]
    return problems


if __name__ == "__main__":
    main()
