"""The ``grader`` command: a thin shell over the library.

Exit codes: 0 the command completed (whatever the students scored); 1 ``validate``
found a problem; 2 usage or input errors; 3 the grader itself failed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grader import __version__
from grader.assignment import Assignment, load_assignment
from grader.course import Course, find_course
from grader.errors import GraderError, UsageError
from grader.results import StudentResult
from grader.sandbox.isolation import LEVELS, describe

__all__ = ["main"]

# TensorFlow reads these at import; its start-up notes are noise on an instructor's terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

console = Console(stderr=True, soft_wrap=True)
out_console = Console(soft_wrap=True)


def _points(value: float) -> str:
    return f"{value:g}"


def _course() -> Course:
    """The course ``main`` found (``--course``, ``GRADER_COURSE`` or upwards from here);
    the no-course message when there is none."""
    course = _found_course()
    return course if course is not None else find_course()


def _found_course() -> Course | None:
    """The course ``main`` found, if any (a student checking their work has none)."""
    context = click.get_current_context(silent=True)
    return None if context is None else context.find_object(Course)


def _pick_assignment(name: str | None, submissions: Path | None = None) -> Assignment:
    """The assignment named, or the course's only one, or the one ``submissions`` is for."""
    from grader.course import pick_assignment

    course = _course()
    chosen = pick_assignment(
        course, name, submissions, note=lambda text: console.print(escape(text))
    )
    return load_assignment(chosen, course)


@click.group()
@click.version_option(__version__, prog_name="grader")
@click.option(
    "--course",
    "course_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The course folder (holding course.toml). Default: $GRADER_COURSE, else the "
    "nearest folder holding course.toml, from here upwards.",
)
@click.pass_context
def main(ctx: click.Context, course_dir: Path | None) -> None:
    """Grade TensorFlow/Keras assignments with checks written as pytest tests."""
    try:
        course = find_course(course_dir)
    except UsageError as exc:
        if course_dir is not None:
            _usage_exit(exc)
        return  # no course: fine for `check`, `export canvas` and `new --course-here`
    ctx.obj = course


def _isolation_options(command: Any) -> Any:
    """``--isolation`` and ``--allow-weak-isolation``, the same for every grading command."""
    command = click.option(
        "--allow-weak-isolation",
        is_flag=True,
        help="Grade even at the limits level, where student code can read the reference "
        "and forge results.",
    )(command)
    return click.option(
        "--isolation",
        "isolation_level",
        type=click.Choice(LEVELS),
        help="Grade at this isolation level (default: $GRADER_ISOLATION, else the "
        "strongest this machine offers).",
    )(command)


def _class_options(what: str) -> Any:
    """SUBMISSIONS, --assignment and --out, as every command over a class takes them."""

    def apply(command: Any) -> Any:
        command = click.option(
            "--out",
            "out_dir",
            type=click.Path(path_type=Path),
            default=Path("grader-results"),
            show_default=True,
            help=f"Folder for {what}.",
        )(command)
        command = click.option(
            "--assignment", "assignment_name", help="Assignment name (default: the only one)."
        )(command)
        return click.argument("submissions", type=click.Path(path_type=Path))(command)

    return apply


@main.command()
@_class_options("results.json, grades.csv and the HTML pages")
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
@_isolation_options
@click.option(
    "--force",
    is_flag=True,
    help="Grade every submission again, even those already graded in --out.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Grade on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786); "
    "the workers need the same grader, TensorFlow and Keras (see README).",
)
@click.option(
    "--gradebook",
    metavar="URL",
    help="The gradebook: a file or a database URL (default: GRADER_GRADEBOOK, else the "
    "course's, gradebook.db in the course folder).",
)
@click.option(
    "--similarity",
    "with_similarity",
    is_flag=True,
    help="Also write the similarity report (similarity.html, linked from the summary).",
)
@click.option(
    "--submitted-at",
    "submitted_at",
    metavar="FILE.csv|mtime",
    help="Submission times for the late policy: a CSV of student,time (ISO 8601 with an "
    "offset), or 'mtime' for the submissions' modification times.",
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
    isolation_level: str | None,
    allow_weak_isolation: bool,
    force: bool,
    scheduler: str | None,
    gradebook: str | None,
    with_similarity: bool,
    submitted_at: str | None,
) -> None:
    """Grade every submission in SUBMISSIONS.

    Every run is recorded in the course's gradebook. A run into an --out folder an
    earlier (even interrupted) run wrote keeps the results of unchanged submissions,
    unless --force.
    """
    from grader.engine.runner import RunOptions, grade_class, prepare_class_run

    try:
        times, source = _submission_times(submitted_at)
        from_mtime = submitted_at == "mtime"
        prepared = prepare_class_run(
            _course(),
            submissions,
            RunOptions(
                out_dir=out_dir,
                workers=workers or os.cpu_count() or 1,
                force=force,
                scheduler=scheduler,
                gradebook=gradebook,
                submitted_at=times,
                submitted_source=source,
                submitted_mtime=from_mtime,
            ),
            assignment_name=assignment_name,
            limits={
                "call_timeout": call_timeout,
                "import_timeout": import_timeout,
                "submission_timeout": submission_timeout,
                "memory_mb": memory_mb,
                "output_bytes": output_bytes,
            },
            isolation_level=isolation_level,
            allow_weak_isolation=allow_weak_isolation,
            strict=strict,
            note=lambda text: console.print(escape(text)),
        )
    except GraderError as exc:
        _usage_exit(exc)
    assignment, options, plan = prepared.assignment, prepared.options, prepared.plan
    if prepared.protected:
        changed = prepared.protected
        console.print(
            f"Changed the permissions of {len(changed)} files and folders so that the "
            "workers' user can reach Python and the grader and read nothing else of yours: "
            f"{', '.join(str(p) for p in changed[:6])}{' ...' if len(changed) > 6 else ''}"
        )
    if prepared.cluster is not None:
        workers_text = ", ".join(prepared.cluster.workers)
        console.print(
            f"Grading {len(prepared.submissions)} submissions of [bold]{assignment.title}[/] "
            f"on the Dask cluster at {escape(prepared.cluster.scheduler)} "
            f"({len(prepared.cluster.workers)} workers: {escape(workers_text)})."
        )
    else:
        console.print(
            f"Grading {len(prepared.submissions)} submissions of [bold]{assignment.title}[/] "
            f"with {options.workers} workers."
        )
    console.print(f"Isolation: {describe(options.isolation.level)}.")
    for name in prepared.ignored:
        console.print(f"[yellow]Ignored[/] {name}: not a submission.")
    if times is not None:
        students = {s.student for s in prepared.submissions}
        unknown = sorted(set(times) - students)
        missing = sorted(students - set(times)) if assignment.late is not None else []
        if unknown:
            console.print(
                f"[yellow]Submission times[/] for students not in {submissions}: "
                f"{escape(', '.join(unknown))} (a misspelt name?)."
            )
        if missing:
            console.print(
                f"[yellow]No submission time[/] in {source} for: {escape(', '.join(missing))} "
                "(an earlier time in the gradebook applies if there is one; else no penalty)."
            )
    if plan.done:
        console.print(
            f"Resuming: {len(plan.done)} already graded, {len(plan.todo)} to grade "
            f"(the gradebook's results of the last run into {out_dir}; --force grades "
            "everyone again)."
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
            report = None
            if with_similarity:  # first: the summary links to it
                try:
                    report = similarity_report(
                        assignment, prepared.submissions, out_dir, threshold=0.5
                    )
                except Exception as exc:  # a report never stops the grading
                    console.print(f"[yellow]No similarity report:[/] {escape(str(exc))}")
            result = grade_class(
                assignment,
                list(prepared.submissions),
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
    _warn_reviews(result.students)
    if report is not None:
        _say_similarity(report, out_dir)


def _warn_reviews(students: Sequence[StudentResult]) -> None:
    from grader.gradebook.final import needs_review

    for student in students:
        for what in needs_review(student):
            console.print(
                f"[yellow]Review[/] {escape(student.student)}: {escape(what)} "
                "(grader adjust again, or remove it, to settle it)."
            )


def _submission_times(given: str | None) -> tuple[dict[str, datetime] | None, str]:
    """``--submitted-at``: a CSV's times (``mtime``: read once the submissions are found)."""
    from grader.late import read_submission_times

    if given is None or given == "mtime":
        return None, ""
    path = Path(given)
    return read_submission_times(path), str(path)


def _first(student: StudentResult) -> str:
    return (student.error or "").strip().splitlines()[0][:80] if student.error else ""


def _usage_exit(exc: Exception) -> Any:
    console.print(f"[red]Error:[/] {escape(str(exc))}")  # file names may hold [brackets]
    sys.exit(2)


_FINDING_MARKS = {
    "ok": "[green]✓[/] ",
    "problem": "[red]✗[/] ",
    "warning": "[yellow]![/] ",
    "skipped": "[yellow]-[/] ",
    "detail": "    ",
}


@main.command()
@click.argument("name")
def validate(name: str) -> None:
    """Prove an assignment is consistent: the reference scores full marks, the stub and
    the released notebook zero, and a release hands out no reference code or hidden check."""
    from grader.validate import Finding
    from grader.validate import validate as validate_assignment

    def show(finding: Finding) -> None:
        console.print(_FINDING_MARKS[finding.level] + escape(finding.text))

    try:
        findings = validate_assignment(load_assignment(name, _course()), report=show)
    except GraderError as exc:
        _usage_exit(exc)
    sys.exit(1 if any(f.level == "problem" for f in findings) else 0)


@main.command()
@click.argument("name")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder to write the release into (new or empty).",
)
@click.option("--force", is_flag=True, help="Replace an earlier release in --out.")
def release(name: str, out_dir: Path, force: bool) -> None:
    """Write what students receive: the stub and its notebook, a README, the visible
    checks and the reference's answers to them (never the reference or a hidden check)."""
    from grader.release import LeakError, check_destination, write_release
    from grader.validate import require_consistent

    try:
        check_destination(out_dir, force=force)
        assignment = load_assignment(name, _course())
        require_consistent(assignment)
        console.print(f"Recording the reference's answers to the visible checks of {name}...")
        written = write_release(assignment, out_dir, force=force)
    except LeakError as exc:
        console.print(f"[red]Error:[/] {exc}")
        sys.exit(1)
    except GraderError as exc:
        _usage_exit(exc)
    visible = [c for c in assignment.checks if c.visibility == "visible"]
    hidden = len(assignment.checks) - len(visible)
    for path in written:
        out_console.print(f"  {path}")
    out_console.print(
        f"Released {assignment.title} into {out_dir}: {len(visible)} visible checks "
        f"({_points(sum(c.points for c in visible))} of {_points(assignment.max_score)} "
        f"points); {hidden} hidden checks left out."
    )


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--assignment",
    "assignment_name",
    help="Assignment name (default: the one the checks are for, or FILE's name).",
)
@click.option(
    "--checks",
    "checks_dir",
    type=click.Path(path_type=Path),
    help="The release's checks/ folder (default: checks/ next to FILE or a folder above it).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Folder for the feedback page (default: grader-feedback/ next to FILE).",
)
def check(
    file: Path, assignment_name: str | None, checks_dir: Path | None, out_dir: Path | None
) -> None:
    """Check your work: run the visible checks on FILE (NAME.py or NAME.ipynb).

    Exit codes: 0 every visible check passed, 1 some did not, 2 usage or input error,
    3 the grader failed.
    """
    from grader.selfcheck import check_table, plan_check, run_check, summary_lines

    try:
        plan = plan_check(file, assignment_name, checks_dir, out_dir, course=_found_course())
    except GraderError as exc:
        _usage_exit(exc)
    # A notebook's `!grader check` has no terminal: plain text, wide enough for the table.
    screen = out_console if out_console.is_terminal else Console(width=120, soft_wrap=True)
    count = len(plan.assignment.checks)
    screen.print(
        f"Checking {file} with the {count} visible checks of {plan.assignment.title}.\n"
        f"Checks: {plan.origin}.",
        markup=False,
    )
    try:
        outcome = run_check(plan)
    except Exception as exc:  # exit 1 means "your work failed a check": not this
        console.print(f"The grader failed: {type(exc).__name__}: {exc}", markup=False)
        sys.exit(3)
    if outcome.result.status == "import_error" and outcome.result.error:
        screen.print(outcome.result.error.rstrip(), markup=False)
    screen.print(check_table(outcome.result))
    for line in summary_lines(outcome):
        screen.print(line, markup=False)
    sys.exit(outcome.exit_code)


@main.command()
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=Path("/grade"),
    show_default=True,
    help="The grading job's folder (student/, data/data.json; results/ is written).",
)
@click.option(
    "--assignment",
    "assignment_name",
    help="Assignment name (default: data.json's params.grader_assignment, else the only one).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="The question's timeout in info.json, in seconds: grading is fitted inside it.",
)
@click.option(
    "--strict",
    type=click.Choice(LEVELS),
    help="Refuse to grade unless student code is isolated at least this strongly.",
)
@_isolation_options
def prairielearn(
    root: Path,
    assignment_name: str | None,
    timeout: float,
    strict: str | None,
    isolation_level: str | None,
    allow_weak_isolation: bool,
) -> None:
    """PrairieLearn's external grader: grade ROOT/student, write ROOT/results/results.json.

    Exits 0 whenever results.json was written (PrairieLearn ignores it otherwise), even
    when the grader failed or refused to grade at a weak isolation level: the file then
    says so and costs the student nothing.
    """
    import time

    from grader.lms.prairielearn import grade_job

    started = time.monotonic()
    sys.exit(
        grade_job(
            root,
            assignment_name,
            timeout=timeout,
            strict=strict,
            isolation=isolation_level,
            allow_weak_isolation=allow_weak_isolation,
            started=started,
            course=_found_course(),
        )
    )


def similarity_report(
    assignment: Assignment, submissions: Sequence[Any], out_dir: Path, threshold: float
) -> Any:
    """Compare ``submissions`` and write ``similarity.html`` and ``similarity.json``."""
    from grader.paths import package_templates
    from grader.similarity import compare_class, given_code, write_report

    report = compare_class(
        submissions, given_code(assignment.directory, assignment.stub), threshold=threshold
    )
    write_report(report, out_dir, package_templates(), assignment.title)
    return report


@main.command()
@_class_options("similarity.html and similarity.json")
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Report pairs at least this similar (0 to 1).",
)
def similarity(
    submissions: Path, assignment_name: str | None, out_dir: Path, threshold: float
) -> None:
    """Which submissions in SUBMISSIONS look copied, with the evidence side by side.

    For instructors only: it changes no score and reaches no student or LMS.
    """
    from grader.submissions import discover

    try:
        assignment = _pick_assignment(assignment_name, submissions)
        found = discover(submissions, assignment.module)
        report = similarity_report(assignment, found.submissions, out_dir, threshold)
    except GraderError as exc:
        _usage_exit(exc)
    _say_similarity(report, out_dir)


def _say_similarity(report: Any, out_dir: Path) -> None:
    out_console.print(
        f"Compared {len(report.compared)} submissions: {len(report.pairs)} pairs at "
        f"{report.threshold:.0%} or more, in {len(report.clusters)} clusters. Wrote "
        f"{out_dir / 'similarity.html'} and {out_dir / 'similarity.json'}."
    )
    for student, why in report.not_compared:
        console.print(f"[yellow]Not compared[/] {escape(student)}: {escape(why)}")


def _gradebook_option(command: Any) -> Any:
    return click.option(
        "--gradebook",
        metavar="URL",
        help="The gradebook: a file or a database URL (default: GRADER_GRADEBOOK, else the "
        "course's).",
    )(command)


def _open_gradebook(given: str | None) -> Any:
    from grader.gradebook.book import Gradebook

    target = _course().gradebook_target(given)
    path = target.removeprefix("sqlite:///") if target.startswith("sqlite:///") else target
    if "://" not in path and not Path(path).exists():
        raise UsageError(
            f"No gradebook at {path}: `grader run` starts it with the course's first run."
        )
    return Gradebook.open(target)


def _known_student(book: Any, assignment: str, student: str) -> None:
    import difflib

    students = book.students(assignment)
    if student not in students:
        close = difflib.get_close_matches(student, students, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UsageError(
            f"The gradebook has no result of {student!r} for {assignment}.{hint} "
            f"({len(students)} students graded.)"
        )


@main.command()
@click.argument("student", required=False)
@click.option("--assignment", "assignment_name", help="Assignment name (default: the only one).")
@_gradebook_option
@click.option("--json", "as_json", is_flag=True, help="Print the history as JSON.")
def history(
    student: str | None, assignment_name: str | None, gradebook: str | None, as_json: bool
) -> None:
    """The runs of an assignment, or STUDENT's scores over runs and what changed."""
    import json

    from grader.gradebook.history import student_history

    try:
        assignment = _pick_assignment(assignment_name)
        with _open_gradebook(gradebook) as book:
            if student is None:
                runs = book.runs(assignment.name)
                if as_json:
                    out_console.print_json(json.dumps([r.__dict__ for r in runs]))
                    return
                table = Table(title=f"{assignment.title}: {len(runs)} runs ({book.where})")
                for column in ("run", "started", "by", "students", "graded", "grader", "out"):
                    table.add_column(column)
                for r in runs:
                    table.add_row(
                        str(r.id),
                        r.started_at[:19].replace("T", " "),
                        escape(r.user),
                        str(r.students),
                        str(r.graded) + ("" if r.finished_at else " (interrupted)"),
                        f"{r.grader_version} (Keras {r.keras})",
                        escape(r.out_dir),
                    )
                out_console.print(table)
                return
            _known_student(book, assignment.name, student)
            rows, after = student_history(
                book, assignment.name, student, assignment.max_score, assignment.late
            )
    except GraderError as exc:
        _usage_exit(exc)
    if as_json:
        data = {"student": student, "runs": [r.to_dict() for r in rows], "since": after}
        out_console.print_json(json.dumps(data))
        return
    table = Table(title=f"{escape(student or '')}: {assignment.title}")
    for column in ("run", "started", "score", "final", "what changed"):
        table.add_column(column, justify="right" if column in ("score", "final") else "left")
    for row in rows:
        table.add_row(
            str(row.run.id),
            row.run.started_at[:19].replace("T", " "),
            f"{_points(row.raw_score)} / {_points(row.max_score)}",
            _points(row.final_score),
            escape("\n".join(row.changes)),
        )
    out_console.print(table)
    for line in after:
        out_console.print(f"Since the last run: {escape(line)}")


@main.command()
@click.argument("student")
@click.option("--assignment", "assignment_name", help="Assignment name (default: the only one).")
@click.option("--check", "check_name", help="The check whose points to set (default: the total).")
@click.option(
    "--points",
    type=float,
    help="With --check: the check's points (0 to its maximum). Without: points added to "
    "the total (negative: taken off).",
)
@click.option("--reason", help="Why: shown to the student on their page.")
@click.option("--remove", is_flag=True, help="Remove the adjustment in force instead.")
@_gradebook_option
def adjust(
    student: str,
    assignment_name: str | None,
    check_name: str | None,
    points: float | None,
    reason: str | None,
    remove: bool,
    gradebook: str | None,
) -> None:
    """Adjust STUDENT's grade: set one check's points, or add points to the total.

    The adjustment is kept in the gradebook and applied on top of every later run; a
    later run that changes the adjusted check's verdict flags it for review. The
    latest run's files are written again with it.
    """
    import math

    from grader.engine.runner import rewrite_outputs

    try:
        assignment = _pick_assignment(assignment_name)
        names = [c.name for c in assignment.checks]
        if check_name is not None and check_name not in names:
            raise UsageError(
                f"{assignment.name} has no check {check_name!r}; its checks: {', '.join(names)}."
            )
        with _open_gradebook(gradebook) as book:
            _known_student(book, assignment.name, student)
            target = f"{check_name}" if check_name else "the total"
            if remove:
                if points is not None or reason is not None:
                    raise UsageError("--remove takes no --points or --reason.")
                if not book.remove_adjustment(assignment.name, student, check_name):
                    raise UsageError(f"{student} has no adjustment of {target} to remove.")
                console.print(f"Removed the adjustment of {escape(target)} for {escape(student)}.")
            else:
                if points is None or not reason or not reason.strip():
                    raise UsageError("Give --points and a --reason (or --remove).")
                if not math.isfinite(points):
                    raise UsageError(f"--points must be a number, not {points}.")
                history = book.history(assignment.name, student)
                latest = history[-1].result if history else None
                seen_status, seen_score = None, None
                if latest is not None:
                    seen_score = latest.score
                    for check in latest.checks:
                        if check.name == check_name:
                            seen_status = check.status
                if check_name is not None:
                    spec = assignment.spec(check_name)
                    top = spec.points if spec is not None else 0.0
                    if not 0 <= points <= top:
                        raise UsageError(
                            f"--points for {check_name} must be between 0 and {top:g}, "
                            f"not {points:g}."
                        )
                book.adjust(
                    assignment.name,
                    student,
                    check_name,
                    points,
                    reason.strip(),
                    seen_status=seen_status,
                    seen_score=seen_score,
                )
                what = f"set to {points:g} points" if check_name else f"{points:+g} points"
                console.print(f"Adjusted {escape(target)} for {escape(student)}: {what}.")
            # The latest run into each folder: any of them may be what gets exported.
            by_folder: dict[str, Any] = {}
            for record in book.runs(assignment.name):
                if record.finished_at is not None:
                    by_folder[record.out_dir] = record
            written = [
                folder
                for record in by_folder.values()
                if (folder := rewrite_outputs(book, assignment, record, _course().templates))
                is not None
            ]
    except GraderError as exc:
        _usage_exit(exc)
    for folder in written:
        console.print(f"Wrote {folder}'s results.json, grades.csv and pages again.")
    if written:
        console.print("Export again to send the grade to the LMS.")
    else:
        console.print("The next `grader run` writes it into the run's files.")


@main.group()
def export() -> None:
    """Package an assignment for, or convert results to, a learning management system."""


@export.command("gradescope")
@click.argument("name")
@click.option(
    "-o",
    "--out",
    "out_file",
    type=click.Path(path_type=Path),
    default=None,
    help="The zip to write (default: NAME-gradescope.zip).",
)
@click.option(
    "--hidden-visibility",
    type=click.Choice(["hidden", "after_published", "after_due_date"]),
    default="hidden",
    show_default=True,
    help="When students see the hidden checks (hidden: never).",
)
@click.option(
    "--timeout",
    type=click.IntRange(min=120, max=2400),
    default=600,
    show_default=True,
    help="The autograder timeout set in Gradescope, in seconds.",
)
@click.option(
    "--allow-weak-isolation",
    is_flag=True,
    help="Let the autograder grade where only the limits isolation level works (student "
    "code could then read the reference and forge results).",
)
def export_gradescope(
    name: str,
    out_file: Path | None,
    hidden_visibility: str,
    timeout: int,
    allow_weak_isolation: bool,
) -> None:
    """Write a Gradescope autograder zip (setup.sh, run_autograder) for assignment NAME."""
    from grader.lms.gradescope import build_autograder, pinned_requirements
    from grader.validate import require_consistent

    out = out_file if out_file is not None else Path(f"{name}-gradescope.zip")
    try:
        assignment = load_assignment(name, _course())
        require_consistent(assignment)
        members = build_autograder(
            assignment,
            out,
            hidden_visibility=hidden_visibility,
            timeout=timeout,
            allow_weak_isolation=allow_weak_isolation,
            course=_course(),
        )
    except GraderError as exc:
        _usage_exit(exc)
    hidden = sum(c.visibility == "hidden" for c in assignment.checks)
    out_console.print(
        f"Wrote {out} ({len(members)} files) for {assignment.title}: "
        f"{len(assignment.checks)} checks, {_points(assignment.max_score)} points"
        f"{f', {hidden} hidden ({hidden_visibility})' if hidden else ''}. "
        f"setup.sh installs {' and '.join(pinned_requirements())}.",
        markup=False,
    )
    out_console.print(
        "In Gradescope: upload it as the autograder (Ubuntu 22.04 base), set the "
        f"timeout to {timeout} s and the memory to 3 GB (the default 768 MB is not "
        'enough; see README, "Use with your LMS").',
        markup=False,
    )


@main.command("gradescope-autograder", hidden=True)
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=None,
    help="Gradescope's /autograder (default: $GRADER_GRADESCOPE_ROOT or /autograder).",
)
@click.option("--assignment", "assignment_name", help="Assignment (default: the zip's).")
@click.option("--time-limit", type=click.FloatRange(min=1), help="Seconds the grading may take.")
@_isolation_options
def gradescope_autograder(
    root: Path | None,
    assignment_name: str | None,
    time_limit: float | None,
    isolation_level: str | None,
    allow_weak_isolation: bool,
) -> None:
    """Grade Gradescope's one submission; run by the zip's run_autograder."""
    from grader.lms.gradescope import default_root, run_autograder

    try:
        run_autograder(
            root or default_root(),
            assignment_name=assignment_name,
            time_limit=time_limit,
            isolation=isolation_level,
            allow_weak_isolation=allow_weak_isolation,
        )
    except OSError as exc:  # results.json could not be written: run_autograder reports
        console.print(f"The grader could not write results.json: {exc}", markup=False)
        sys.exit(3)


# ---------------------------------------------------------------- gradebook exports

_RESULTS_ARG = click.argument("results", type=click.Path(path_type=Path))
_ROSTER_OPT = click.option(
    "--roster",
    "roster_path",
    type=click.Path(path_type=Path),
    required=True,
    help="CSV mapping each student (submission name) to their LMS identities.",
)


def _out_opt(default: str) -> Any:
    return click.option(
        "-o",
        "--out",
        "out_file",
        type=click.Path(path_type=Path),
        help=f"File to write (default: {default} next to results.json).",
    )


def _gradebook(
    results: Path, roster_path: Path, out_file: Path | None, default: str, build: Any
) -> None:
    """Read RESULTS and the roster, list who is left out (stderr), write the file."""
    from grader.lms.gradebook import load_results, results_file, write_export
    from grader.lms.roster import read_roster

    try:
        run = load_results(results)
        roster = read_roster(roster_path)
        exported = build(run, roster)
        target = out_file or results_file(results).parent / default
        if target.resolve() == results_file(results).resolve():
            raise UsageError(f"{target} is the results file: choose another --out.")
        for line in exported.notices(str(roster_path)):
            console.print(line, markup=False)
        write_export(exported, target)
    except (GraderError, OSError) as exc:
        _usage_exit(exc)
    out_console.print(
        f"Wrote {target}: {len(exported.written)} of the {len(run.students)} students "
        f"for {exported.lms}.",
        markup=False,
    )


@export.command("canvas")
@_RESULTS_ARG
@_ROSTER_OPT
@click.option(
    "--assignment-id",
    required=True,
    help="The Canvas assignment's id: the number in its URL (.../assignments/12345).",
)
@_out_opt("canvas-grades.csv")
def export_canvas(
    results: Path, roster_path: Path, assignment_id: str, out_file: Path | None
) -> None:
    """Write a Canvas gradebook import CSV of RESULTS' scores.

    RESULTS is a run's results.json or its --out folder. Students the roster does not
    identify are listed and left out, never guessed.
    """
    from grader.lms.canvas import export_canvas as build

    _gradebook(
        results,
        roster_path,
        out_file,
        "canvas-grades.csv",
        lambda run, roster: build(run, roster, assignment_id),
    )


@export.command("moodle")
@_RESULTS_ARG
@_ROSTER_OPT
@click.option(
    "--identity",
    type=click.Choice(["email", "idnumber"]),
    default="email",
    show_default=True,
    help="How Moodle finds each student: the roster's email or id_number column.",
)
@_out_opt("moodle-grades.csv")
def export_moodle(results: Path, roster_path: Path, identity: str, out_file: Path | None) -> None:
    """Write a Moodle grade import CSV (identity, grade, feedback) of RESULTS' scores.

    RESULTS is a run's results.json or its --out folder. Students the roster does not
    identify are listed and left out, never guessed.
    """
    from grader.lms.moodle import export_moodle as build

    _gradebook(
        results,
        roster_path,
        out_file,
        "moodle-grades.csv",
        lambda run, roster: build(run, roster, identity),
    )


@export.command("lti")
@_RESULTS_ARG
@_ROSTER_OPT
@click.option(
    "--include-failed",
    is_flag=True,
    help="Also write a gradingProgress Failed line (no score) for each student held back "
    "for a regrade. Canvas and Moodle then clear any score they had.",
)
@_out_opt("lti-scores.jsonl")
def export_lti(
    results: Path, roster_path: Path, include_failed: bool, out_file: Path | None
) -> None:
    """Write LTI 1.3 AGS score objects (JSON lines) of RESULTS' scores.

    RESULTS is a run's results.json or its --out folder. Nothing is sent: POST each
    line to the line item's /scores endpoint with your platform's credentials.
    Students the grader could not grade fully are listed and left out.
    """
    from grader.lms.lti import export_lti as build

    _gradebook(
        results,
        roster_path,
        out_file,
        "lti-scores.jsonl",
        lambda run, roster: build(run, roster, include_failed=include_failed),
    )


@main.command()
@click.argument("name", required=False)
@click.option(
    "--course-here",
    is_flag=True,
    help="First make the current folder a course: course.toml, a new course-secret, "
    "assignments/ and reference/.",
)
@click.option("--title", help="The assignment's title (with --course-here alone: the course's).")
@click.pass_context
def new(ctx: click.Context, name: str | None, course_here: bool, title: str | None) -> None:
    """Start assignment NAME in the course: a stub with one graded Keras function, a
    visible and a hidden check, assignment.toml and a reference solution, which
    `grader validate NAME` accepts as written."""
    from grader.course import COURSE_FILE, Course
    from grader.scaffold import check_name, new_assignment, new_course

    try:
        if name is None and not course_here:
            raise UsageError("Name the assignment: `grader new NAME` (or `--course-here`).")
        if name is not None:
            check_name(name)  # before anything is written
        course = ctx.obj
        if course_here:
            if course is not None and course.root == Path.cwd().resolve():
                raise UsageError(f"{course.root} already is a course.")
            for path in new_course(Path.cwd(), None if name else title):
                out_console.print(f"Wrote {path}")
            course = Course.read(Path.cwd())
        elif course is None:
            raise UsageError(
                f"No course here (no {COURSE_FILE} in {Path.cwd()} or above it): "
                f"`grader new --course-here {name}` makes this folder a course and adds "
                f"{name} to it; --course DIR names another course."
            )
        if name is None:
            out_console.print(f"{course.root} is a course: `grader new NAME` adds an assignment.")
            return
        written = new_assignment(course, name, title)
    except GraderError as exc:
        _usage_exit(exc)
    for path in written:
        out_console.print(f"Wrote {path}")
    out_console.print(
        f"Next: `grader validate {name}` proves it consistent as it is (the reference "
        "scores full marks, the stub zero). Then make it yours: the stub's text and "
        "functions, the reference, and the checks (each states its points and visibility "
        "with @check, its docstring is its description); validate again, and `grader "
        f"release {name} --out DIR` writes what students receive."
    )


if __name__ == "__main__":
    main()
