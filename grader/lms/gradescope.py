"""Gradescope: package an assignment as a Gradescope autograder, and grade there.

``grader export gradescope NAME -o autograder.zip`` (``build_autograder``) writes the zip
an instructor uploads. Gradescope unpacks it into ``/autograder/source`` and runs:

- ``setup.sh`` once, when it builds the image: Python 3.11+, a virtual environment in
  ``/autograder/venv`` with TensorFlow (CPU) and Keras pinned to the versions installed
  where the zip was built, and the grader from the source copy in the zip (the grader
  package, ``pyproject.toml``, and a course of one assignment: ``course.toml``,
  ``assignments/NAME``, ``reference/NAME.py``, ``templates/``, the course secret; no
  other assignment, no tests, no examples);
- ``run_autograder`` for every submission: ``python -m grader gradescope-autograder``
  (``run_autograder`` below) grades the one file in ``/autograder/submission`` like
  ``grader run`` grades a student (a separate, sandboxed worker; the verdicts decided in
  the grading process) and writes ``/autograder/results/results.json`` once. If the
  grader cannot write it (it did not start, crashed hard, ran out of time), the shell
  script writes one that says so: Gradescope never shows "failed to execute".

``to_results`` turns a ``StudentResult`` into Gradescope's format
(``grader/schemas/gradescope-results.schema.json``): one test per check, numbered
"exercise.check" (the function's place in ``[assignment] functions``, then the check's
place among that function's checks), the student-facing message as Markdown. A check
the grader could not run (status "error": it fails on the reference solution too, or the
grading machine failed; whatever a student's answer makes the grader raise is a failed
check instead) is reported with ``max_score`` 0: it counts neither for nor against the
student, and the summary says so.

Hidden checks get the visibility chosen at export (``--hidden-visibility``, default
"hidden": never shown to students, whose total score Gradescope then also hides until
grades are published). "after_published" or "after_due_date" would show the hidden
checks' names and messages to every student later, which gives them away to the next
cohort; the summary shown to students counts only the checks they can see.

Isolation: the strongest level the container offers (``bubblewrap`` where it can run,
else ``landlock``), or ``GRADER_ISOLATION``. Below ``landlock`` the autograder refuses to
run student code unless ``allow_weak_isolation`` is true in ``gradescope.json`` or under
``[grading]`` in ``assignment.toml`` (or ``GRADER_ALLOW_WEAK_ISOLATION=1``): results.json
then scores 0 with nothing counted, and tells the instructor why and how to fix it. At
``landlock`` Gradescope runs the grader as root, so ``guard`` makes the course, the
submission and the results folder unreadable to the workers' own user first.

The root ``/autograder`` comes from ``GRADER_GRADESCOPE_ROOT`` (or ``--root``), so the
tests run the real ``run_autograder`` in a temporary folder laid out like Gradescope's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import io
import json
import os
import re
import resource
import stat
import sys
import time
import traceback
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from grader import __version__
from grader.assignment import Assignment, load_assignment
from grader.course import COURSE_FILE, Course, find_course
from grader.errors import GraderError, IsolationRefused, UsageError
from grader.files import atomic_write_bytes, atomic_write_text
from grader.gradebook.final import final_result, grade_notes
from grader.lms import STUDENT_SHARE
from grader.paths import package_templates
from grader.results import CheckResult, StudentResult
from grader.sandbox.isolation import Level
from grader.submissions import Submission, submission_from_upload

__all__ = [
    "CONFIG_NAME",
    "DEFAULT_ROOT",
    "DEFAULT_TIMEOUT",
    "HIDDEN_VISIBILITIES",
    "REFUSED_HEADLINE",
    "ROOT_ENV",
    "IsolationRefused",
    "Settings",
    "Submitter",
    "build_autograder",
    "crash_results",
    "pinned_requirements",
    "read_submitters",
    "run_autograder",
    "to_results",
]

ROOT_ENV = "GRADER_GRADESCOPE_ROOT"
DEFAULT_ROOT = Path("/autograder")
CONFIG_NAME = "gradescope.json"  # at the zip's root: which assignment, and how
HIDDEN_VISIBILITIES = ("hidden", "after_published", "after_due_date")
DEFAULT_TIMEOUT = 600  # Gradescope's default autograder timeout, in seconds
# run_autograder stops the grader this long before Gradescope's timeout, so that it
# can still write a results.json saying so.
TIMEOUT_MARGIN = 30
PRINTED_CHARS = 5_000  # of what the student's code printed, shown in the summary

_SCRIPTS = Path(__file__).resolve().parent / "scripts"
_SKIPPED_NAMES = frozenset(["__pycache__", "__MACOSX", ".pytest_cache", ".ipynb_checkpoints"])
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: the same inputs give the same zip
_PROJECT_FILES = ("pyproject.toml", "README.md")  # pip builds the grader from these


# ---------------------------------------------------------------- the zip


@dataclass(frozen=True)
class Settings:
    """What ``run_autograder`` needs to know, stored as ``gradescope.json`` in the zip."""

    assignment: str
    hidden_visibility: str = "hidden"
    time_limit: int = DEFAULT_TIMEOUT - TIMEOUT_MARGIN  # seconds the grader may take
    grader_version: str = __version__
    # Grade even at the limits level, where student code can read the reference and
    # forge results.json.
    allow_weak_isolation: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment,
            "hidden_visibility": self.hidden_visibility,
            "time_limit": self.time_limit,
            "grader_version": self.grader_version,
            "allow_weak_isolation": self.allow_weak_isolation,
        }


def read_settings(path: Path) -> Settings:
    """The zip's ``gradescope.json``; GraderError if it is missing or malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GraderError(f"The autograder's {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("assignment"), str):
        raise GraderError(f"The autograder's {path} does not name the assignment.")
    visibility = data.get("hidden_visibility", "hidden")
    limit = data.get("time_limit", DEFAULT_TIMEOUT - TIMEOUT_MARGIN)
    allow_weak = data.get("allow_weak_isolation", False)
    if (
        visibility not in HIDDEN_VISIBILITIES
        or not isinstance(limit, int)
        or limit <= 0
        or not isinstance(allow_weak, bool)
    ):
        raise GraderError(f"The autograder's {path} has invalid settings: {data}")
    return Settings(
        data["assignment"], visibility, limit, str(data.get("grader_version", "")), allow_weak
    )


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def pinned_requirements() -> list[str]:
    """TensorFlow's CPU build and Keras, pinned to the versions installed here."""
    tensorflow = _installed("tensorflow-cpu") or _installed("tensorflow")
    keras = _installed("keras")
    if tensorflow is None or keras is None:
        raise UsageError(
            "TensorFlow and Keras must be installed where the autograder is built: "
            "it pins the versions the assignment was checked with."
        )
    return [f"tensorflow-cpu=={tensorflow}", f"keras=={keras}"]


def _script(name: str, values: dict[str, str]) -> str:
    text = (_SCRIPTS / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    leftover = re.search(r"@@[A-Z_]+@@", text)
    if leftover:  # a template and this code disagree: the grader's fault
        raise GraderError(f"{name}: no value for {leftover.group()}.")
    return text


def _walk(folder: Path) -> Iterator[Path]:
    """The files under ``folder``, sorted; caches, hidden entries and links left out."""
    for top, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if f not in _SKIPPED_NAMES and not f.startswith("."))
        for name in sorted(files):
            path = Path(top) / name
            if name.startswith(".") or name.endswith((".pyc", ".pyo")) or path.is_symlink():
                continue
            yield path


def bundle_files(assignment: Assignment, course: Course | None = None) -> list[tuple[str, Path]]:
    """(name in the zip, file) for the grader's source copy: the grader package, the
    assignment, its reference, the course's page templates and the project files pip
    needs."""
    package = Path(__file__).resolve().parents[1]  # the grader package running now
    checkout = package.parent
    missing = [name for name in _PROJECT_FILES if not (checkout / name).is_file()]
    if missing:
        # setup.sh installs the grader from the bundled source: a wheel has none.
        raise UsageError(
            f"`grader export gradescope` bundles the grader's source, but the grader running "
            f"now ({package}) is not a source checkout ({checkout} holds no "
            f"{' or '.join(missing)}): run it from a clone of the grader installed with "
            "`pip install -e .`."
        )
    if not assignment.reference.is_file():
        raise UsageError(
            f"The reference solution {assignment.reference} is missing: the autograder "
            "grades against it."
        )
    templates = (course or find_course()).templates
    members: list[tuple[str, Path]] = []
    members += [(f"grader/{p.relative_to(package).as_posix()}", p) for p in _walk(package)]
    directory = assignment.directory
    members += [
        (f"assignments/{assignment.name}/{p.relative_to(directory).as_posix()}", p)
        for p in _walk(directory)
    ]
    members.append((f"reference/{assignment.name}.py", assignment.reference))
    # The course's pages, else the grader's, where the bundled grader package (and
    # setup.py's build) looks for its own.
    members += [(f"templates/{p.relative_to(templates).as_posix()}", p) for p in _walk(templates)]
    members += [(name, checkout / name) for name in _PROJECT_FILES]
    if (checkout / "setup.py").is_file():  # copies templates/ into the installed package
        members.append(("setup.py", checkout / "setup.py"))
    return members


def bundle_course_toml(course: Course) -> str:
    """The bundle's ``course.toml``: ``course``'s title, and its folders where the zip
    puts them (run_autograder names the bundle as the course with GRADER_COURSE)."""
    from grader.checks.secret import SECRET_FILE

    lines = [
        "# The course this autograder grades for, its folders as the zip lays them out",
        f"# (written by `grader export gradescope`, grader {__version__}).",
        "[course]",
        f"title = {json.dumps(course.title, ensure_ascii=False)}",  # a valid TOML string
        'assignments = "assignments"',
        'reference = "reference"',
        f'secret = "{SECRET_FILE}"',
    ]
    if course.templates != package_templates():  # the course's own pages
        lines.append('templates = "templates"')
    return "\n".join(lines) + "\n"


def build_autograder(
    assignment: Assignment,
    out: Path,
    *,
    hidden_visibility: str = "hidden",
    timeout: int = DEFAULT_TIMEOUT,
    allow_weak_isolation: bool = False,
    course: Course | None = None,
) -> list[str]:
    """Write the Gradescope autograder zip for ``assignment`` of ``course`` (default: the
    course found from ``GRADER_COURSE`` or the current folder) to ``out``; the names of
    its members. ``timeout`` is the autograder timeout set in Gradescope (seconds);
    ``allow_weak_isolation`` lets it grade where only the limits level works."""
    if hidden_visibility not in HIDDEN_VISIBILITIES:
        raise UsageError(
            f"Unknown visibility {hidden_visibility!r} for hidden checks; use one of "
            f"{', '.join(HIDDEN_VISIBILITIES)}."
        )
    if timeout <= TIMEOUT_MARGIN * 2:
        raise UsageError(f"The timeout must be more than {TIMEOUT_MARGIN * 2} seconds.")
    if out.is_dir():
        raise UsageError(
            f"{out} is a folder; name the zip file to write, e.g. {out}/autograder.zip."
        )
    settings = Settings(
        assignment.name,
        hidden_visibility,
        timeout - TIMEOUT_MARGIN,
        allow_weak_isolation=allow_weak_isolation,
    )
    requirements = pinned_requirements()
    values = {
        "ASSIGNMENT": assignment.name,
        "GRADER_VERSION": __version__,
        "REQUIREMENTS": " ".join(f"'{r}'" for r in requirements),
        "TIME_LIMIT": str(settings.time_limit),
    }
    texts: list[tuple[str, str, int]] = [
        ("setup.sh", _script("gradescope_setup.sh", values), 0o755),
        ("run_autograder", _script("gradescope_run_autograder", values), 0o755),
        (CONFIG_NAME, json.dumps(settings.to_dict(), indent=2) + "\n", 0o644),
    ]
    course = course or find_course()
    texts.append((COURSE_FILE, bundle_course_toml(course), 0o644))
    texts += _secret_file(assignment)
    files = bundle_files(assignment, course)
    names = [name for name, _, _ in texts] + [name for name, _ in files]
    if len(set(names)) != len(names):
        raise GraderError("Two files of the autograder have the same name in the zip.")
    buffer = io.BytesIO()  # the source of one assignment: a few hundred kB
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text, mode in texts:
            _add(archive, name, text.encode("utf-8"), mode)
        for name, path in files:
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            _add(archive, name, path.read_bytes(), mode)
    atomic_write_bytes(out, buffer.getvalue())
    return names


def _secret_file(assignment: Assignment) -> list[tuple[str, str, int]]:
    """The course secret, where the bundle's course.toml names it, whenever the
    assignment has hidden checks: a static scan may miss how one draws from it, and one
    that cannot would count for no student. Required when a check is seen to draw from
    it. At landlock and bubblewrap student code cannot read it."""
    from grader.assignment import secret_checks
    from grader.checks.secret import SECRET_FILE, course_secret
    from grader.errors import AssignmentError

    if not any(c.visibility == "hidden" for c in assignment.checks):
        return []
    try:
        secret = course_secret(assignment.secret)
    except AssignmentError as exc:
        if secret_checks(assignment):
            raise UsageError(str(exc)) from exc
        return []
    return [(SECRET_FILE, secret.decode("utf-8") + "\n", 0o600)]


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.create_system = 3  # Unix: unzip and Gradescope honour the mode bits below
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


# ---------------------------------------------------------------- the submission


@dataclass(frozen=True)
class Submitter:
    name: str = ""
    email: str = ""
    id: str = ""

    @property
    def label(self) -> str:
        return self.name or self.email or self.id


def read_submitters(path: Path) -> tuple[tuple[Submitter, ...], str | None]:
    """Who handed the submission in (``users`` of ``submission_metadata.json``), and a
    note for the instructor when the file is missing or malformed (then no one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return (), f"{path} does not exist: the student is not named."
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return (), f"{path} cannot be read ({exc}): the student is not named."
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, list):
        return (), f"{path} has no list of users: the student is not named."
    found = []
    for user in users:
        if not isinstance(user, dict):
            continue
        fields = {k: user.get(k) for k in ("name", "email", "id")}
        submitter = Submitter(
            **{k: str(v).strip() for k, v in fields.items() if isinstance(v, (str, int))}
        )
        if submitter.label:
            found.append(submitter)
    note = None if found else f"{path} names no user: the student is not named."
    return tuple(found), note


def read_submission_time(path: Path) -> tuple[datetime | None, str | None]:
    """When the submission was made (``created_at`` of ``submission_metadata.json``), and
    a note for the instructor when it cannot be read (then no late penalty)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        text = data["created_at"]
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        return None, f"no submission time in {path} ({exc}): no late penalty applied."
    if when.tzinfo is None:
        return None, f"the submission time {text!r} in {path} has no offset: no late penalty."
    return when, None


def read_extension(path: Path) -> datetime | None:
    """The latest due date Gradescope gives one of the submitters (an extension:
    ``users[].assignment.due_date``), if any."""
    try:
        users = json.loads(path.read_text(encoding="utf-8")).get("users") or []
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return None
    found = []
    for user in users if isinstance(users, list) else []:
        own = user.get("assignment") if isinstance(user, dict) else None
        text = own.get("due_date") if isinstance(own, dict) else None
        if isinstance(text, str):
            with contextlib.suppress(ValueError):
                when = datetime.fromisoformat(text.replace("Z", "+00:00"))
                if when.tzinfo is not None:
                    found.append(when)
    return max(found, default=None)


# ---------------------------------------------------------------- results.json


def _fence(text: str) -> str:
    """``text`` as a Markdown code block, whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text.rstrip()}\n{fence}"


def _escape(text: str) -> str:
    """Plain text for a Markdown paragraph: file names like my_file_v2.py stay as typed."""
    return re.sub(r"([\\`*_\[\]<>#|~])", r"\\\1", text)


def _points(value: float) -> str:
    return f"{value:g}"


def _numbers(assignment: Assignment) -> dict[str, tuple[int, int]]:
    """Each check's (exercise, check): its function's place in [assignment] functions,
    then its place among that function's checks, both from 1."""
    numbers: dict[str, tuple[int, int]] = {}
    seen: dict[str, int] = {}
    for spec in assignment.checks:
        exercise = (
            assignment.functions.index(spec.function) + 1
            if spec.function in assignment.functions
            else len(assignment.functions) + 1
        )
        seen[spec.function] = seen.get(spec.function, 0) + 1
        numbers[spec.name] = (exercise, seen[spec.function])
    return numbers


def _check_output(check: CheckResult) -> str:
    message = check.message.strip()
    if check.status == "error":
        text = (
            "The grader could not run this check. It does not count for or against you: "
            "it is left out of your score and of the maximum. Ask your instructor to "
            "regrade your submission."
        )
        return text + ("\n\n" + _fence(message) if message else "")
    if check.status == "timeout":
        return "Your code ran out of time on this check.\n\n" + _fence(message or "Timed out.")
    return _fence(message) if message else ""


def _ordered(assignment: Assignment, result: StudentResult) -> list[tuple[str, CheckResult]]:
    numbers = _numbers(assignment)
    extra = len(assignment.functions) + 2
    keyed = []
    for index, check in enumerate(result.checks):
        exercise, number = numbers.get(check.name, (extra, index + 1))
        keyed.append(((exercise, number), f"{exercise}.{number}", check))
    keyed.sort(key=lambda item: item[0])
    return [(label, check) for _, label, check in keyed]


def to_results(
    assignment: Assignment,
    result: StudentResult,
    *,
    hidden_visibility: str = "hidden",
    execution_time: float = 0.0,
    extra_data: dict[str, Any] | None = None,
    headline: str | None = None,
    explain_faults: bool = True,
) -> dict[str, Any]:
    """Gradescope's results.json for one graded submission. ``headline`` replaces the
    summary's first paragraph (a grader crash says so there); ``explain_faults`` False
    leaves out the paragraph on checks the grader could not run."""
    tests = []
    faults_shown: list[str] = []
    faults_hidden = 0
    for number, check in _ordered(assignment, result):
        counted = check.counted
        hidden = check.visibility != "visible"
        if not counted:
            if hidden:
                faults_hidden += 1
            else:
                faults_shown.append(number)
        name = check.description or check.name
        tests.append(
            {
                "name": name if counted else f"{name} (not counted: a grader fault)",
                "number": number,
                "score": check.points if counted else 0.0,
                "max_score": check.max_points if counted else 0.0,
                "status": "passed" if check.status == "passed" else "failed",
                "output": _check_output(check),
                "output_format": "md",
                "visibility": hidden_visibility if hidden else "visible",
                "extra_data": {"check": check.name, "status": check.status},
            }
        )
    paragraphs = [headline] if headline else [_score_line(result), *grade_notes(result)]
    if result.status == "import_error" and result.error:
        paragraphs.append(
            "**Your module could not be imported**, so no check could run: every check "
            "failed.\n\n" + _fence(result.error)
        )
    elif result.status == "invalid":
        paragraphs.append(
            "**Your submission could not be graded:** "
            + _escape(result.error or "no file found.")
            + " Every check failed."
        )
    if explain_faults and (faults_shown or faults_hidden):
        which = [f"check {n}" for n in faults_shown]
        if faults_hidden:
            which.append(f"{faults_hidden} check{'s' * (faults_hidden > 1)} not shown here")
        count = len(faults_shown) + faults_hidden
        paragraphs.append(
            f"**The grader could not run {count} check{'s' * (count > 1)}** "
            f"({', '.join(which)}): they fail on the reference solution too, so the fault is "
            "the grader's. They do not count for or against you: they are left out of your "
            "score and of the maximum. Ask your instructor to regrade your submission."
        )
    if result.output.strip():
        printed = result.output
        cut = len(printed) > PRINTED_CHARS
        printed = printed[:PRINTED_CHARS]
        note = f" (the first {PRINTED_CHARS} characters)" if cut else ""
        paragraphs.append(f"What your code printed{note}:\n\n" + _fence(printed))
    paragraphs.append(f"Graded by grader {__version__} in {execution_time:.0f} s.")
    return {
        "score": result.score,
        "execution_time": round(execution_time, 1),
        "output": "\n\n".join(paragraphs),
        "output_format": "md",
        "test_output_format": "md",
        "stdout_visibility": "hidden",
        "extra_data": {
            "assignment": assignment.name,
            "grader_version": __version__,
            "status": result.status,
            "source": result.source,
            **(extra_data or {}),
        },
        "tests": tests,
    }


def _score_line(result: StudentResult) -> str:
    """The summary's first line: the points of the checks the student can see."""
    shown = [c for c in result.checks if c.visibility == "visible" and c.counted]
    score = sum(c.points for c in shown)
    maximum = sum(c.max_points for c in shown)
    passed = sum(c.status == "passed" for c in shown)
    line = (
        f"**{_points(score)} / {_points(maximum)} points**: {passed} of {len(shown)} checks passed."
    )
    if any(c.visibility != "visible" for c in result.checks):
        line += " Your grade also includes checks that are not shown here."
    return line


def crash_results(
    assignment: Assignment | None,
    student: str,
    why: str,
    *,
    hidden_visibility: str = "hidden",
    execution_time: float = 0.0,
    extra_data: dict[str, Any] | None = None,
    headline: str | None = None,
) -> dict[str, Any]:
    """results.json when the grader itself failed: no check counts, the student is told
    it is not their fault and to ask for a regrade. ``why`` goes to the instructor only
    (extra_data and run_autograder's output), never to the student."""
    headline = headline or (
        "**The autograder failed on your submission.** This is a fault of the grader, "
        "not of your work: no check counts, and the score of 0 is not a grade. Please "
        "ask your instructor to regrade your submission."
    )
    extra = {"grader_error": why, **(extra_data or {})}
    if assignment is None:
        return {
            "score": 0.0,
            "execution_time": round(execution_time, 1),
            "output": headline,
            "output_format": "md",
            "stdout_visibility": "hidden",
            "extra_data": {"grader_version": __version__, "status": "error", **extra},
            "tests": [],
        }
    result = StudentResult(
        student=student,
        score=0.0,
        max_score=0.0,
        status="error",
        checks=assignment.unrun_checks(
            "error", "The grader could not run this check. This does not count against you."
        ),
        error=why,
    )
    return to_results(
        assignment,
        result,
        hidden_visibility=hidden_visibility,
        execution_time=execution_time,
        extra_data=extra,
        headline=headline,
        explain_faults=False,  # every check is "not counted": the headline says why
    )


# ---------------------------------------------------------------- run_autograder


# What the student reads when the autograder refused to run their code.
REFUSED_HEADLINE = (
    "**Your submission was not graded.** The grading machine cannot keep student code "
    "safely apart, so the autograder ran none of it. This is not a fault of your work: no "
    "check counts, and the score of 0 is not a grade. Please ask your instructor to "
    "regrade your submission once this is fixed."
)
_FIX = (
    "To fix it: use a Gradescope base image where bubblewrap can run (setup.sh installs "
    "it) or whose kernel has Landlock (Linux 5.13 or later), or accept the risk: set "
    '"allow_weak_isolation": true in the zip\'s gradescope.json (or allow_weak_isolation '
    "= true under [grading] in assignment.toml) and upload the autograder again."
)


def default_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def run_autograder(
    root: Path,
    *,
    assignment_name: str | None = None,
    time_limit: float | None = None,
    isolation: str | None = None,
    allow_weak_isolation: bool = False,
) -> dict[str, Any]:
    """Grade the submission in ``root/submission`` and write ``root/results/results.json``
    once; the results written. A fault of the grader anywhere still writes a valid file
    saying so, and so does a refusal to grade at a weak isolation level (``isolation``,
    default: the strongest here; below landlock only with ``allow_weak_isolation``, the
    settings' or the assignment's). Raises only if that file cannot be written."""
    started = time.monotonic()
    assignment: Assignment | None = None
    settings: Settings | None = None
    student = "submission"
    extra: dict[str, Any] = {}
    package = Path(__file__).resolve().parents[1]
    print(f"grader {__version__} from {package}, Python {sys.version.split()[0]}.")
    try:
        submitters, note = read_submitters(root / "submission_metadata.json")
        if note:
            print(f"Note: {note}")
        extra["submitters"] = [vars(s) for s in submitters]
        student = ", ".join(s.label for s in submitters) or student
        settings = read_settings(root / "source" / CONFIG_NAME)
        assignment = load_assignment(assignment_name or settings.assignment)
        limit = float(time_limit or settings.time_limit)
        submission = submission_from_upload(root / "submission", assignment.module, student)
        print(f"Grading {submission.display_path} of {student} for {assignment.title}.")
        allow_weak = allow_weak_isolation or settings.allow_weak_isolation
        result, level = _grade(assignment, submission, root, limit, started, isolation, allow_weak)
        extra["isolation"] = level
        if assignment.late is not None:
            submitted, note = read_submission_time(root / "submission_metadata.json")
            if note:
                print(f"Note: {note}")
            if submitted is not None:
                source = "Gradescope's submission metadata"
                policy = assignment.late
                extended = read_extension(root / "submission_metadata.json")
                if extended is not None and extended > policy.due:
                    policy = dataclasses.replace(policy, due=extended)  # this student's
                result = final_result(
                    result,
                    assignment.max_score,
                    (),
                    policy=policy,
                    submitted=(submitted, source),
                )
        elapsed = time.monotonic() - started
        results = to_results(
            assignment,
            result,
            hidden_visibility=settings.hidden_visibility,
            execution_time=elapsed,
            extra_data=extra,
        )
        _report(result, level, elapsed)
    except Exception as exc:
        refused = isinstance(exc, IsolationRefused)
        headline = REFUSED_HEADLINE if refused else None
        if refused:  # the instructor's to fix; no student code ran
            why = str(exc)
            extra["isolation"] = "refused"
            print(f"Not graded: {why}", flush=True)
        else:
            why = f"{type(exc).__name__}: {exc}"
            print(f"The grader failed: {why}\n{traceback.format_exc()}", flush=True)
        try:
            results = crash_results(
                assignment,
                student,
                why,
                hidden_visibility=settings.hidden_visibility if settings else "hidden",
                execution_time=time.monotonic() - started,
                extra_data=extra,
                headline=headline,
            )
        except Exception:  # even the report of the fault failed: the plainest one
            results = crash_results(None, student, why, headline=headline)
    try:
        text = json.dumps(results, indent=2, allow_nan=False)  # NaN is not JSON
    except ValueError as exc:
        print(f"The grader's results are not JSON: {exc}", flush=True)
        results = crash_results(None, student, f"results not JSON: {exc}")
        text = json.dumps(results, indent=2)
    atomic_write_text(root / "results" / "results.json", text + "\n")
    return results


def _choose(requested: str | None, allow_weak: bool) -> Level:
    """The isolation level to grade at; IsolationRefused (saying what a student could
    do and how to fix it) below landlock unless allowed."""
    from grader.sandbox.isolation import choose

    try:
        return choose(requested, allow_weak=allow_weak)
    except UsageError as exc:
        raise IsolationRefused(f"{exc} {_FIX}") from None


def _grade(
    assignment: Assignment,
    submission: Submission,
    root: Path,
    limit: float,
    started: float,
    requested: str | None = None,
    allow_weak: bool = False,
) -> tuple[StudentResult, str]:
    """Grade like ``grader run`` grades one student; the result and the isolation level."""
    from grader.engine.reference_cache import CACHE_FOLDER
    from grader.engine.session import GradingSession
    from grader.sandbox.isolation import Isolation, describe, guard

    if submission.problem is not None or submission.path is None:
        return GradingSession(assignment).grade(submission), "none"
    level = _choose(requested, allow_weak or assignment.allow_weak_isolation)
    print(f"Isolation: {describe(level)}.")
    # Besides the submission and the results, who submitted (names, emails, earlier
    # scores) is no business of the student's code.
    hidden = [root / "submission", root / "results", root / "submission_metadata.json"]
    course = find_course().root
    isolation = Isolation(level, hidden=tuple(p.resolve() for p in [course, *hidden]))
    changed = guard(isolation, course)
    if changed:
        print(
            f"Made {len(changed)} files and folders of the course, the submission and the "
            "results unreadable to the workers' user."
        )
    # Student code gets its share of what is left of the time limit, at most the
    # assignment's own budget; the grader needs the rest to finish and report.
    budget = max(30.0, (limit - (time.monotonic() - started)) * STUDENT_SHARE)
    limits = assignment.limits.within(budget)
    if limits != assignment.limits:
        print(f"Student code may run {budget:.0f} s in all (the time limit is {limit:.0f} s).")
    # The answers setup.sh computed when the image was built (see reference_cache).
    session = GradingSession(
        assignment, limits=limits, isolation=isolation, cache=course / CACHE_FOLDER
    )
    return session.grade(submission), level


def _report(result: StudentResult, isolation: str, elapsed: float) -> None:
    """What the instructor sees in Gradescope's autograder output (stdout)."""
    print(
        f"{result.student}: {_points(result.score)} / {_points(result.max_score)} points, "
        f"status {result.status}, graded in {elapsed:.1f} s (isolation: {isolation})."
    )
    for check in result.checks:
        first = check.message.strip().splitlines()[0] if check.message.strip() else ""
        print(
            f"  {check.status:8} {_points(check.points):>4} / {_points(check.max_points):<4} "
            f"{check.name} [{check.visibility}] {first[:100]}"
        )
        if check.internal:  # instructor-only output (stdout is hidden from students)
            last = check.internal.strip().splitlines()[-1] if check.internal.strip() else ""
            print(f"           needs attention (possible grader bug): {last[:300]}")
    if result.error:
        print(result.error)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"Peak memory (RSS): grader {own:.0f} MB, largest worker {child:.0f} MB.")
    sys.stdout.flush()
