"""PrairieLearn's external grader: grade ``/grade/student``, write ``/grade/results/results.json``.

PrairieLearn runs the question's ``entrypoint`` in a container whose ``/grade`` holds
``student/`` (the student's files), ``tests/`` (the question's tests folder),
``data/data.json`` (the question's ``data`` object) and, if listed, ``serverFilesCourse/``.
``grade_job`` grades the one submission there exactly as ``grader run`` grades a class
member (``grade_submission``: the same worker, limits and isolation detection) and
writes ``results/results.json`` once, atomically (schema:
``grader/schemas/prairielearn-results.schema.json``):

* the assignment is ``--assignment``, else ``params.grader_assignment`` of
  ``data/data.json`` (set by the question's ``server.py``; a missing or unreadable
  ``data.json`` is tolerated), else the only assignment installed;
* the student's file is found as Gradescope finds it (``student/`` is an upload too:
  ``grader.submissions.submission_from_upload``): the one ``<module>.py`` or
  ``<module>.ipynb`` anywhere in ``student/``, with the same advice when there is none;
* ``score`` is the student's score over ``max_score`` (both over the checks that
  count), in [0, 1]. A check counts neither way only when the grader could not run it
  (status ``error``): it fails on the reference solution too, or the grading machine
  failed. Whatever a student's answer makes the grader raise is a failed check;
* a submission that cannot be read (no file, a misnamed, binary or empty file, two
  files) is ``gradable: false`` with its reason in ``format_errors``: PrairieLearn
  awards and takes no points and does not use up an attempt. A module that cannot be
  imported is graded (score 0), as ``grader run`` grades it;
* hidden checks: one row, "Hidden checks", with their points and no names or messages,
  so the rows add up to the score;
* whatever fails in the grader itself (a misconfigured question, an exception, the
  grading process killed for memory, running out of time) still writes a valid
  ``results.json``: ``gradable: false``, so the student loses neither points nor an
  attempt, a ``format_errors`` entry saying so, and the cause in ``message``; the
  traceback goes to the job log (stderr). The same holds when every check was a
  grader error;
* the file stays under 1 MB (PrairieLearn's limit): the longest texts are cut, with a
  note, until it fits.

Isolation: ``--isolation`` (or ``GRADER_ISOLATION``), else the strongest level the
container offers; the results' message names it. Below ``landlock`` (where student code
could read the course's reference and forge ``results.json``) the job is refused unless
``--allow-weak-isolation``, ``[grading] allow_weak_isolation`` in ``assignment.toml`` or
``GRADER_ALLOW_WEAK_ISOLATION=1`` allows it: ``gradable: false``, costing the student
nothing, with what a student could do and how to fix it in ``message``. PrairieLearn
runs the entrypoint as root: at ``landlock`` the workers run as a user of their own, and
``guard`` first makes the whole job folder and the course unreadable to that user.

PrairieLearn reads ``results.json`` only when the entrypoint exits 0 (otherwise it
records a failed job scoring 0), and kills the container at the question's
``timeout``. So the grading runs in a child process, with the student's time limits
fitted into ``timeout``; this process, which never imports TensorFlow, kills the child
shortly before the timeout, writes the file and exits 0 whatever happened.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.assignment import Assignment, available_assignments, load_assignment
from grader.course import Course, find_course
from grader.errors import GraderError, IsolationRefused, UsageError
from grader.files import atomic_write_text
from grader.lms import STUDENT_SHARE
from grader.results import StudentResult
from grader.sandbox.isolation import Level
from grader.submissions import submission_from_upload

__all__ = [
    "DATA_KEY",
    "DEFAULT_TIMEOUT",
    "HIDDEN_ROW",
    "RESULTS_LIMIT",
    "IsolationRefused",
    "Layout",
    "dumps",
    "fit",
    "grade_job",
    "grader_failure",
    "not_gradable",
    "pick_assignment",
    "read_data_assignment",
    "refused",
    "to_results",
]

# PrairieLearn refuses a results.json over 1 MiB; staying under 10^6 bytes leaves room.
RESULTS_LIMIT = 1_000_000
# Where data/data.json names the assignment: data["params"]["grader_assignment"].
DATA_KEY = ("params", "grader_assignment")
# PrairieLearn's largest allowed timeout: the default fits the grading inside it.
DEFAULT_TIMEOUT = 600.0
HIDDEN_ROW = "Hidden checks"
# Status "error" is only ever the grader's fault: the check fails on the reference solution
# too, or the grading machine failed. Anything a student's data makes the grader raise is
# a failed check, never this.
NOT_COUNTED = (
    "The grader could not run this check: it fails on the reference solution too (or the "
    "grading machine failed), so the fault is the grader's. It counts neither for nor "
    "against you."
)
_NO_LOSS = (
    "This submission was not graded: it costs you no points and no attempt. "
    "Submit again; if this happens again, tell your instructor."
)

Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Layout:
    """The folders of a grading job (``/grade`` in PrairieLearn's container)."""

    root: Path

    @property
    def student(self) -> Path:
        return self.root / "student"

    @property
    def data(self) -> Path:
        return self.root / "data" / "data.json"

    @property
    def results(self) -> Path:
        return self.root / "results" / "results.json"


# ---------------------------------------------------------------- input


def read_data_assignment(path: Path) -> tuple[str | None, str | None]:
    """The assignment ``data.json`` names at ``params.grader_assignment``, and a warning
    for the job log when the file is there but unusable. A missing file or key is None."""
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path} is not readable JSON ({exc}); it is ignored."
    value: Any = data
    for key in DATA_KEY:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return None, None
    if not isinstance(value, str) or not value:
        return None, f"{path}: {'.'.join(DATA_KEY)} is not a name ({value!r}); it is ignored."
    return value, None


def pick_assignment(
    name: str | None, layout: Layout, log: Log = _stderr, course: Course | None = None
) -> Assignment:
    """``name``, else the one ``data.json`` names, else the course's only one (``course``,
    default: the course found from ``GRADER_COURSE`` or the current folder)."""
    course = course or find_course()
    source = "--assignment"
    if name is None:
        name, warning = read_data_assignment(layout.data)
        if warning:
            log(warning)
        source = f"{layout.data} ({'.'.join(DATA_KEY)})"
    if name is None:
        known = available_assignments(course)
        if len(known) != 1:
            raise UsageError(
                "No assignment named: pass --assignment NAME in the question's entrypoint "
                f"or set data['params']['{DATA_KEY[1]}'] in its server.py "
                f"(installed: {', '.join(known) or 'none'})."
            )
        name, source = known[0], "the only one installed"
    log(f"Assignment: {name} (from {source}).")
    return load_assignment(name, course)


# ---------------------------------------------------------------- conversion


def _points(value: float) -> str:
    return f"{value:g}"


def to_results(result: StudentResult, title: str, isolation: str | None = None) -> dict[str, Any]:
    """PrairieLearn's results for one graded (or unreadable) submission; the message
    ends with the ``isolation`` level student code ran at, when given."""
    if result.status == "invalid":
        return not_gradable(
            [result.error or "The submission could not be read."],
            f"{title}: your submission could not be read, so it was not graded.",
        )
    counted = [c for c in result.checks if c.counted]
    if not counted:
        return grader_failure(
            f"The grader could not run any check of {title}. {result.error or ''}".rstrip()
        )
    visible = [c for c in result.checks if c.visibility != "hidden"]
    hidden = [c for c in result.checks if c.visibility == "hidden"]
    tests: list[dict[str, Any]] = []
    for check in visible:
        message = check.message
        if not check.counted:
            message = f"{NOT_COUNTED}\n\n{message}".rstrip()
        tests.append(
            {
                "name": check.name,
                "description": check.description or f"Checks {check.function}.",
                "points": check.points if check.counted else 0.0,
                "max_points": check.max_points if check.counted else 0.0,
                "message": message,
                "output": "",
            }
        )
    if hidden:
        tests.append(_hidden_row(hidden))
    passed = sum(c.status == "passed" for c in counted)
    lines = [
        f"{title}: {_points(result.score)} / {_points(result.max_score)} points; "
        f"{passed} of {len(counted)} checks passed."
    ]
    if result.status == "import_error":
        lines.append(f"Your module could not be imported, so every check failed:\n{result.error}")
    elif result.error:
        lines.append(result.error)
    if isolation is not None:
        lines.append(f"Isolation level: {isolation}.")
    score = result.score / result.max_score if result.max_score > 0 else 0.0
    return {
        "gradable": True,
        "score": min(1.0, max(0.0, score)),
        "message": "\n\n".join(line.rstrip() for line in lines),
        "output": result.output,
        "tests": tests,
    }


def _hidden_row(hidden: list[Any]) -> dict[str, Any]:
    counted = [c for c in hidden if c.counted]
    message = "Their names and messages are not shown; their points are included in your score."
    lost = len(hidden) - len(counted)
    if lost:
        message += (
            f" The grader could not run {lost} of them (a fault of the grader, not of your "
            f"work); {'it counts' if lost == 1 else 'they count'} neither for nor against you."
        )
    return {
        "name": HIDDEN_ROW,
        "description": "Checks not shown to students.",
        "points": sum(c.points for c in counted),
        "max_points": sum(c.max_points for c in counted),
        "message": message,
        "output": "",
    }


def not_gradable(format_errors: list[str], message: str) -> dict[str, Any]:
    """Results PrairieLearn marks "invalid, not gradable": no points, no attempt used."""
    return {
        "gradable": False,
        "score": 0.0,
        "format_errors": format_errors,
        "message": message,
        "output": "",
        "tests": [],
    }


def grader_failure(reason: str) -> dict[str, Any]:
    """The grader, not the student, failed: the student loses nothing."""
    return not_gradable(
        [f"The grader failed on this submission. {_NO_LOSS}"],
        f"For the instructor: {reason} The job log has the details.",
    )


_FIX = (
    "To fix it: run the external grader on a host whose kernel has Landlock (Linux 5.13 or "
    "later) or in an image where bubblewrap can run, or accept the risk: add "
    "--allow-weak-isolation to the question's entrypoint (or set allow_weak_isolation = "
    "true under [grading] in assignment.toml)."
)


def refused(reason: str) -> dict[str, Any]:
    """Not graded because student code would be isolated too weakly: no student code
    ran, the student loses nothing, the instructor reads why and what to do."""
    return not_gradable(
        [
            "This submission was not graded: the grading machine cannot keep student code "
            f"safely apart, so none of it ran. {_NO_LOSS}"
        ],
        f"For the instructor: {reason}",
    )


# ---------------------------------------------------------------- size


def _clean(value: Any) -> Any:
    """Strings PrairieLearn can store: no lone surrogates (from undecodable output)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def dumps(results: dict[str, Any]) -> str:
    return json.dumps(results, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _size(results: dict[str, Any]) -> int:
    return len(dumps(results).encode("utf-8"))


def _encoded(text: str) -> int:
    """Bytes ``text`` takes inside the JSON document, quotes excluded."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


def _slots(results: dict[str, Any]) -> list[tuple[Any, Any]]:
    """Every (container, key) holding a text that may be shortened."""
    slots: list[tuple[Any, Any]] = [(results, k) for k in ("message", "output") if k in results]
    errors = results.get("format_errors")
    if isinstance(errors, list):
        slots += [(errors, i) for i in range(len(errors))]
    for test in results.get("tests", []):
        slots += [(test, k) for k in ("message", "output", "description") if k in test]
    return slots


def _cut(text: str, budget: int) -> str:
    """The longest start of ``text`` that, with a note, takes at most ``budget`` bytes."""

    def candidate(keep: int) -> str:
        return (
            f"{text[:keep]}\n… [cut: {len(text) - keep:,} of {len(text):,} characters not "
            "shown, to keep the results under PrairieLearn's 1 MB limit]"
        )

    if _encoded(candidate(0)) > budget:
        return "[not shown: too long]"
    low, high = 0, len(text)
    while low < high:  # the largest keep whose candidate fits
        middle = (low + high + 1) // 2
        if _encoded(candidate(middle)) <= budget:
            low = middle
        else:
            high = middle - 1
    return candidate(low)


def fit(results: dict[str, Any], limit: int = RESULTS_LIMIT) -> dict[str, Any]:
    """``results`` with its longest texts cut, each with a note, so that ``dumps`` of it
    takes at most ``limit`` bytes. Short texts are kept whole (max-min fair shares)."""
    results = _clean(results)
    if _size(results) <= limit:
        return results
    note = "Some texts were cut to keep the results under PrairieLearn's 1 MB limit."
    results["message"] = f"{results.get('message', '')}\n\n{note}".lstrip()
    slots = _slots(results)
    sizes = [_encoded(container[key]) for container, key in slots]
    fixed = _size(results) - sum(sizes)
    margin = 1024
    while True:
        budget = limit - fixed - margin
        if budget < 64 * len(slots):
            raise ValueError(f"The results cannot fit in {limit} bytes, even with every text cut.")
        shares = _fair_shares(sizes, budget)
        for (container, key), size, share in zip(slots, sizes, shares, strict=True):
            if size > share:
                container[key] = _cut(container[key], share)
        if _size(results) <= limit:
            return results
        margin *= 2  # a rounding slip: cut a little more


def _fair_shares(sizes: list[int], budget: int) -> list[int]:
    """Max-min fair shares of ``budget``: texts smaller than an equal share keep their
    size, the others split what is left equally."""
    shares = [0] * len(sizes)
    left = budget
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    for rank, index in enumerate(order):
        equal = left // (len(sizes) - rank)
        shares[index] = min(sizes[index], equal)
        left -= shares[index]
    return shares


# ---------------------------------------------------------------- the job


def _margin(timeout: float) -> float:
    """Seconds before PrairieLearn's timeout by which results.json must be written."""
    return min(10.0, max(1.0, 0.05 * timeout))


def _child_command(job: dict[str, Any]) -> list[str]:
    return [sys.executable, "-m", "grader.lms.prairielearn", json.dumps(job)]


def grade_job(
    root: Path,
    assignment_name: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    strict: str | None = None,
    isolation: str | None = None,
    allow_weak_isolation: bool = False,
    started: float | None = None,
    log: Log = _stderr,
    course: Course | None = None,
) -> int:
    """Grade the job in ``root`` and write its results.json once; the exit code.

    The grading runs in a child process; this one (which never imports TensorFlow)
    writes what the child found or, if the child died (killed for memory, say) or ran
    past the deadline (then it is killed), a result that costs the student nothing.
    ``timeout`` is the question's timeout in seconds, counted from ``started`` (a
    ``time.monotonic()`` value, the same in every process; default: now). ``isolation``
    is the level to grade at (default: the strongest here); below landlock the job is
    refused unless ``allow_weak_isolation`` (or the assignment) allows it. ``course``
    holds the assignments (default: found from ``GRADER_COURSE`` or the current folder).

    Returns 0 once results.json is written, whatever the student scored and also when
    the grader failed (the file says so); 2 if ``root`` is not a folder; 3 if
    results.json could not be written.
    """
    started = time.monotonic() if started is None else started
    if not root.is_dir():
        log(f"Error: {root} is not a folder; pass the grading job's root (/grade).")
        return 2
    layout = Layout(root)
    deadline = started + timeout - _margin(timeout)
    with tempfile.TemporaryDirectory(prefix="grader-prairielearn-") as scratch:
        found = Path(scratch) / "results.json"
        job = {
            "root": str(root),
            "course": None if course is None else str(course.root),
            "assignment": assignment_name,
            "strict": strict,
            "isolation": isolation,
            "allow_weak": allow_weak_isolation,
            "deadline": deadline,
            "out": str(found),
        }
        results = _supervise(_child_command(job), found, timeout, deadline, log)
    try:
        results = fit(results)
    except ValueError as exc:  # not even the cut texts fit: nothing the student can fix
        results = fit(grader_failure(str(exc)))
    try:
        atomic_write_text(layout.results, dumps(results))
    except OSError as exc:
        log(f"Error: {layout.results} could not be written: {exc}")
        return 3
    verdict = "gradable" if results["gradable"] else "not gradable"
    log(f"Wrote {layout.results}: score {results['score']:g}, {verdict}.")
    return 0


def _supervise(
    command: list[str], found: Path, timeout: float, deadline: float, log: Log
) -> dict[str, Any]:
    """Run the grading child until ``deadline``; what it found, or why it found nothing."""
    try:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    except OSError as exc:
        return grader_failure(f"The grading process could not start: {exc}.")
    try:
        code = child.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        return grader_failure(
            f"The grading did not finish within {timeout:g} s (the question's timeout, "
            "passed as --timeout). Raise the timeout in info.json and --timeout together."
        )
    if code == 0:
        try:
            results = json.loads(found.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return grader_failure(f"The grading process left no readable results ({exc}).")
        if isinstance(results, dict):
            return results
        return grader_failure("The grading process left results that are not an object.")
    if code in (-signal.SIGKILL, 128 + signal.SIGKILL):
        why = "was killed (most likely for using more memory than the container allows)"
    elif code < 0:
        why = f"was killed by signal {signal.Signals(-code).name}"
    else:
        why = f"stopped with exit status {code}"
    log(f"The grading process {why}.")
    return grader_failure(f"The grading process {why} before it could report.")


def _child(job: dict[str, Any], log: Log = _stderr) -> int:
    """The grading process: grade, and leave the results in ``job["out"]``."""
    layout = Layout(Path(job["root"]))
    try:
        results = _grade(layout, job, log)
    except IsolationRefused as exc:
        log(f"Not graded: {exc}")
        results = refused(str(exc)[:3000])
    except GraderError as exc:  # a misconfigured question: the message says what to fix
        log(f"Error: {exc}")
        results = grader_failure(str(exc)[:2000])
    except Exception as exc:
        log(traceback.format_exc().rstrip())
        results = grader_failure(f"{type(exc).__name__}: {str(exc)[:2000]}")
    atomic_write_text(Path(job["out"]), json.dumps(_clean(results), ensure_ascii=False))
    return 0


def _choose(job: dict[str, Any], assignment: Assignment) -> Level:
    """The isolation level to grade at; IsolationRefused (saying what a student could
    do and how to fix it) below landlock unless allowed, or below ``--strict``."""
    from grader.sandbox.isolation import choose

    allow_weak = bool(job.get("allow_weak")) or assignment.allow_weak_isolation
    try:
        return choose(job.get("isolation"), allow_weak=allow_weak, strict=job.get("strict"))
    except UsageError as exc:
        raise IsolationRefused(f"{exc} {_FIX}") from None


def _grade(layout: Layout, job: dict[str, Any], log: Log) -> dict[str, Any]:
    from grader.sandbox.isolation import Isolation, describe, guard

    deadline = float(job["deadline"])
    course = Course.read(Path(job["course"])) if job.get("course") else find_course()
    assignment = pick_assignment(job.get("assignment"), layout, log, course)
    submission = submission_from_upload(layout.student, assignment.module, "student")
    log(f"Submission: {submission.display_path}.")
    if submission.problem is not None or submission.path is None:
        return not_gradable(
            [submission.problem or "No file found."],
            f"{assignment.title}: your submission could not be read, so it was not graded.",
        )
    level = _choose(job, assignment)
    log(f"Isolation: {describe(level)}.")
    # The student's code sees nothing of the job: not the tests, data or results.
    isolation = Isolation(level, hidden=(course.root, layout.root.resolve()))
    changed = guard(isolation, course.root)
    if changed:
        log(f"Made {len(changed)} files and folders unreadable to the workers' user.")
    limits = assignment.limits.within((deadline - time.monotonic()) * STUDENT_SHARE)
    log(
        f"Limits: {limits.call_timeout:.0f} s per call, {limits.submission_timeout:.0f} s of "
        f"student code in all ({deadline - time.monotonic():.0f} s left before --timeout)."
    )
    from grader.engine.session import GradingSession

    result = GradingSession(assignment, limits=limits, isolation=isolation).grade(submission)
    log(
        f"Graded: {_points(result.score)} / {_points(result.max_score)} ({result.status}) "
        f"in {result.duration:g} s."
    )
    for check in result.checks:  # the job log is the instructor's, never the student's
        if check.internal:
            log(f"Needs attention, {check.name} (possible grader bug):\n{check.internal.rstrip()}")
    return to_results(result, assignment.title, level)


if __name__ == "__main__":
    sys.exit(_child(json.loads(sys.argv[1])))
