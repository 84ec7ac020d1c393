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
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grader import __version__
from grader.assignment import Assignment, available_assignments, load_assignment
from grader.errors import AssignmentError, GraderError, UsageError
from grader.paths import project_root
from grader.results import StudentResult
from grader.sandbox.isolation import LEVELS, Isolation, choose, describe, detect, guard

__all__ = ["main"]

# TensorFlow reads these at import; its start-up notes are noise on an instructor's terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

console = Console(stderr=True, soft_wrap=True)
out_console = Console(soft_wrap=True)


def _points(value: float) -> str:
    return f"{value:g}"


def _pick_assignment(name: str | None, submissions: Path | None = None) -> Assignment:
    """The assignment named, or the only one, or the one ``submissions`` is for."""
    if name is not None:
        return load_assignment(name)
    known = available_assignments()
    if len(known) == 1:
        return load_assignment(known[0])
    if submissions is not None:
        inferred = _infer_assignment(known, submissions)
        if inferred is not None:
            console.print(
                f"Assignment: {inferred.name} (inferred from {submissions}; "
                "--assignment chooses another)."
            )
            return inferred
    if (
        submissions is not None
        and submissions.is_dir()
        and not any(not entry.name.startswith(".") for entry in submissions.iterdir())
    ):
        raise UsageError(f"No submissions found in {submissions}: the folder is empty.")
    raise UsageError(
        "Several assignments exist; choose one with --assignment "
        f"({', '.join(known) or 'none found'})."
    )


def _infer_assignment(known: list[str], submissions: Path) -> Assignment | None:
    """The assignment whose name the folder bears, or the only one whose module file
    (``<student>/<module>.py`` or ``.ipynb``) appears in it; None when unclear."""
    if submissions.name in known:
        return load_assignment(submissions.name)
    try:
        names = {p.name for p in submissions.glob("*/*") if p.suffix in (".py", ".ipynb")}
    except OSError:
        return None
    matches = []
    for candidate in known:
        assignment = load_assignment(candidate)
        if {f"{assignment.module}.py", f"{assignment.module}.ipynb"} & names:
            matches.append(assignment)
    return matches[0] if len(matches) == 1 else None


@click.group()
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Grade TensorFlow/Keras assignments with checks written as pytest tests."""


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
@_isolation_options
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
    isolation_level: str | None,
    allow_weak_isolation: bool,
    force: bool,
) -> None:
    """Grade every submission in SUBMISSIONS.

    A run into an --out folder that holds an earlier (even interrupted) run's results
    keeps those of unchanged submissions, unless --force.
    """
    from grader.runner import RunOptions, grade_class, plan_run
    from grader.submissions import discover

    try:
        if not submissions.is_dir():
            discover(submissions, "")  # says whether it is missing or not a folder
        assignment = _pick_assignment(assignment_name, submissions)
        found = discover(submissions, assignment.module)
        level = choose(
            isolation_level,
            allow_weak=allow_weak_isolation or assignment.allow_weak_isolation,
            strict=strict,
        )
    except GraderError as exc:
        _usage_exit(exc)
    out_dir.mkdir(parents=True, exist_ok=True)
    isolation = Isolation(level, hidden=(submissions.resolve(), out_dir.resolve()))
    changed = guard(isolation, project_root())
    if changed:
        console.print(
            f"Changed the permissions of {len(changed)} files and folders so that the "
            "workers' user can reach Python and the grader and read nothing else of yours: "
            f"{', '.join(str(p) for p in changed[:6])}{' ...' if len(changed) > 6 else ''}"
        )
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
    console.print(f"[red]Error:[/] {escape(str(exc))}")  # file names may hold [brackets]
    sys.exit(2)


@main.command()
@click.argument("name")
def validate(name: str) -> None:
    """Prove an assignment is consistent: the reference scores full marks, the stub and
    the released notebook zero, and a release hands out no reference code or hidden check."""
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
    problems += _validate_secret(assignment)
    isolation = Isolation(detect())
    for label, path, want_full in (
        ("reference", assignment.reference, True),
        ("stub", assignment.stub, False),
    ):
        if not path.is_file():
            problems.append(f"The {label} {path} does not exist.")
            console.print(f"[red]✗[/] {problems[-1]}")
            continue
        submission = Submission(label, path, path.name)
        problems += _expect_score(assignment, label, submission, want_full, isolation)
        if label == "reference":
            _warn_secret_not_drawn(assignment)
    problems += _validate_release(assignment, isolation)
    sys.exit(1 if problems else 0)


def _validate_secret(assignment: Assignment) -> list[str]:
    """Warn about graded functions no hidden check guards with secret inputs (read from
    the check files); a problem if such checks exist but the course secret does not."""
    from grader.assignment import secret_checks, unguarded_functions
    from grader.checks.secret import course_secret

    for function in unguarded_functions(assignment):
        console.print(
            f"[yellow]![/] {function}: no hidden check draws its inputs from the course "
            "secret (grader.checks.secret.secret_rng), so it can be passed by hard-coding "
            "answers."
        )
    if not secret_checks(assignment):
        return []
    try:
        course_secret()
    except AssignmentError as exc:
        console.print(f"[red]✗[/] {exc}")
        return [str(exc)]
    console.print("[green]✓[/] the course secret is set: hidden checks can draw their inputs.")
    return []


def _warn_secret_not_drawn(assignment: Assignment) -> None:
    """What the checks did when they ran on the reference: a function whose hidden checks
    call secret_rng in their source but drew nothing from it is warned about too."""
    from grader.assignment import secret_checks, unguarded_functions
    from grader.grading import reference_baseline

    try:
        drew = reference_baseline(assignment).secret_checks
    except GraderError:
        return  # the reference's own grading reports it
    static = unguarded_functions(assignment)
    guarded = {c.function for c in assignment.checks if c.name in drew & secret_checks(assignment)}
    for function in assignment.functions:
        if function not in guarded and function not in static:
            console.print(
                f"[yellow]![/] {function}: its hidden checks drew nothing from the course "
                "secret when they ran on the reference, so it can be passed by hard-coding "
                "answers."
            )


def _expect_score(
    assignment: Assignment, label: str, submission: Any, want_full: bool, isolation: Isolation
) -> list[str]:
    """Grade ``submission``; a problem unless it scores full marks (or zero, without errors)."""
    from grader.grading import grade_submission

    with tempfile.TemporaryDirectory():
        result = grade_submission(assignment, submission, isolation=isolation)
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
    if ok:
        return []
    failing = [
        f"{c.name}: {c.status}: {c.message.splitlines()[0] if c.message else ''}"
        for c in result.checks
        if (c.status != "passed") == want_full
    ]
    for line in failing + (result.error or "").splitlines()[:3]:
        console.print(f"    {line}")
    return [f"The {label} does not score {expected}."]


def _validate_release(assignment: Assignment, isolation: Isolation) -> list[str]:
    """Build a release in a scratch folder: it must hold nothing students must not see,
    and its notebook, graded as a submission, must score zero without errors."""
    import importlib.util

    from grader.release import scan_release, write_release

    with tempfile.TemporaryDirectory(prefix="grader-validate-") as scratch:
        out = Path(scratch) / "release"
        try:
            write_release(assignment, out, scan=False)
        except GraderError as exc:
            console.print(f"[red]✗[/] the release cannot be built: {exc}")
            return [f"The release cannot be built: {exc}"]
        leaks = scan_release(out, assignment)
        for leak in leaks:
            console.print(f"[red]✗[/] the release leaks: {leak}")
        if not leaks:
            console.print(
                "[green]✓[/] the release holds no line of the reference and names no hidden check."
            )
        notebook = out / f"{assignment.module}.ipynb"
        if importlib.util.find_spec("grader.notebooks") is None:
            console.print(
                "[yellow]-[/] the released notebook was not graded: notebooks are not supported."
            )
            return leaks
        from grader.submissions import submission_from_file

        submission = submission_from_file(notebook, assignment.module, "released notebook")
        return leaks + _expect_score(assignment, "released notebook", submission, False, isolation)


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

    try:
        check_destination(out_dir, force=force)
        assignment = load_assignment(name)
        inconsistent = check_consistency(assignment)
        if inconsistent:
            raise AssignmentError(
                " ".join(inconsistent) + f" Fix the assignment (grader validate {name})."
            )
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
        plan = plan_check(file, assignment_name, checks_dir, out_dir)
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
        )
    )


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

    out = out_file if out_file is not None else Path(f"{name}-gradescope.zip")
    try:
        assignment = load_assignment(name)
        inconsistent = check_consistency(assignment)
        if inconsistent:
            raise AssignmentError(
                " ".join(inconsistent) + f" Fix the assignment (grader validate {name})."
            )
        members = build_autograder(
            assignment,
            out,
            hidden_visibility=hidden_visibility,
            timeout=timeout,
            allow_weak_isolation=allow_weak_isolation,
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
