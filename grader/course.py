"""A course: the folder that holds ``course.toml``, its assignments, their reference
solutions and the course secret.

The grader is installed like any other tool; what it grades lives in the course's own
folder (its own repository), found the way git and pytest find their roots:

1. ``--course DIR``;
2. else the ``GRADER_COURSE`` environment variable;
3. else the nearest folder holding ``course.toml``, from the current folder upwards.

``course.toml``::

    [course]
    title = "Deep learning with Keras"
    assignments = "assignments"     # assignments/NAME/assignment.toml, the check files
    reference = "reference"         # reference/NAME.py, never given to students
    secret = "course-secret"        # hidden checks draw their inputs from it
    # templates = "templates"       # only to override the grader's feedback pages
    # gradebook = "gradebook.db"    # or a URL: postgresql://user@host/grades

Every path is relative to the folder holding ``course.toml``; all keys but ``title``
are optional and default to the values above.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import UsageError
from grader.paths import package_templates

__all__ = [
    "COURSE_ENV",
    "COURSE_FILE",
    "GRADEBOOK_ENV",
    "NO_COURSE",
    "Course",
    "find_course",
    "infer_assignment",
    "pick_assignment",
]

COURSE_FILE = "course.toml"
COURSE_ENV = "GRADER_COURSE"
GRADEBOOK_ENV = "GRADER_GRADEBOOK"
NO_COURSE = (
    "No course here: run inside a course folder (one holding course.toml, or below it), "
    f"pass --course DIR or set {COURSE_ENV}, or start one with `grader new --course-here`."
)
_KEYS = ("title", "assignments", "reference", "secret", "templates", "gradebook")


@dataclass(frozen=True)
class Course:
    """Where a course keeps its assignments, references, secret and page templates."""

    root: Path
    title: str
    assignments: Path
    reference: Path
    secret: Path
    # The course's own feedback page templates, else the grader's.
    templates: Path
    # The gradebook: a file (``gradebook.db`` in the course folder by default) or a
    # database URL; ``--gradebook`` and ``GRADER_GRADEBOOK`` override it.
    gradebook: str = ""

    def gradebook_target(self, explicit: str | None = None) -> str:
        """The gradebook to use: ``explicit``, else ``GRADER_GRADEBOOK``, else the course's."""
        return explicit or os.environ.get(GRADEBOOK_ENV) or self.gradebook

    @classmethod
    def read(cls, root: Path) -> Course:
        """The course whose ``course.toml`` is in ``root``; UsageError if it has none or
        it cannot be read."""
        root = root.resolve()
        path = root / COURSE_FILE
        if not path.is_file():
            if not root.is_dir():
                raise UsageError(f"The course folder {root} does not exist.")
            raise UsageError(
                f"{root} holds no {COURSE_FILE}, so it is not a course folder. "
                "`grader new --course-here` run there makes it one."
            )
        return cls._from_table(root, _read_table(path))

    @classmethod
    def _from_table(cls, root: Path, table: dict[str, Any]) -> Course:
        def folder(key: str, default: str) -> Path:
            value = table.get(key, default)
            if not isinstance(value, str) or not value:
                raise UsageError(f"{root / COURSE_FILE}: [course] {key} must be a path.")
            return (root / value).resolve()

        title = table.get("title", root.name)
        if not isinstance(title, str):
            raise UsageError(f"{root / COURSE_FILE}: [course] title must be a string.")
        templates = package_templates()
        if "templates" in table:
            templates = folder("templates", "")
            # The pages are rendered from one folder: an override replaces every template.
            # The similarity report is the grader's own page (for instructors only).
            missing = sorted(
                p.name
                for p in package_templates().glob("*.html")
                if not (templates / p.name).is_file() and p.name != "similarity.html"
            )
            if missing:
                raise UsageError(
                    f"{root / COURSE_FILE}: [course] templates names {templates}, which lacks "
                    f"{', '.join(missing)}: copy the grader's templates there to change them."
                )
        gradebook = table.get("gradebook", "gradebook.db")
        if not isinstance(gradebook, str) or not gradebook:
            raise UsageError(f"{root / COURSE_FILE}: [course] gradebook must be a path or URL.")
        if "://" not in gradebook:
            gradebook = str((root / gradebook).resolve())
        return cls(
            root=root,
            title=title,
            gradebook=gradebook,
            assignments=folder("assignments", "assignments"),
            reference=folder("reference", "reference"),
            secret=folder("secret", "course-secret"),
            templates=templates,
        )

    def assignment_names(self) -> list[str]:
        """The assignments of the course: the folders holding an ``assignment.toml``."""
        if not self.assignments.is_dir():
            return []
        return sorted(
            p.name for p in self.assignments.iterdir() if (p / "assignment.toml").is_file()
        )

    def assignment_dir(self, name: str) -> Path:
        return self.assignments / name

    def reference_for(self, name: str) -> Path:
        return self.reference / f"{name}.py"

    def module_of(self, name: str) -> str:
        """The module students hand in for assignment ``name`` (``[assignment] module``);
        the name itself when the toml does not say (its loader reports that)."""
        try:
            with open(self.assignment_dir(name) / "assignment.toml", "rb") as handle:
                module = tomllib.load(handle).get("assignment", {}).get("module")
        except (OSError, tomllib.TOMLDecodeError, AttributeError):
            return name
        return module if isinstance(module, str) and module else name


def _read_table(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} cannot be read: {exc}") from exc
    table = data.get("course")
    if not isinstance(table, dict):
        raise UsageError(f"{path} has no [course] table.")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise UsageError(
            f"{path}: unknown key(s) {', '.join(unknown)} in [course] (known: {', '.join(_KEYS)})."
        )
    return table


def find_course(explicit: Path | None = None, cwd: Path | None = None) -> Course:
    """The course to work on: ``explicit`` (``--course``), else ``GRADER_COURSE``, else
    the nearest folder holding ``course.toml`` from ``cwd`` (the current folder)
    upwards. UsageError saying how to name one when there is none."""
    if explicit is not None:
        return Course.read(Path(explicit))
    named = os.environ.get(COURSE_ENV)
    if named:
        try:
            return Course.read(Path(named))
        except UsageError as exc:
            raise UsageError(f"{COURSE_ENV}={named}: {exc}") from None
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / COURSE_FILE).is_file():
            return Course.read(folder)
    raise UsageError(NO_COURSE)


def pick_assignment(
    course: Course,
    name: str | None,
    submissions: Path | None = None,
    note: Callable[[str], object] | None = None,
) -> str:
    """The assignment to grade: ``name``, else the course's only one, else the one
    ``submissions`` is for (the folder bears its name, or holds its module's files);
    UsageError saying what to pass otherwise. ``note`` is told when it was inferred."""
    known = course.assignment_names()
    if name is not None:
        if name not in known:
            listed = ", ".join(known) or "none; `grader new NAME` makes one"
            raise UsageError(
                f"No assignment named {name!r} in the course {course.root} "
                f"(known assignments: {listed})."
            )
        return name
    if not known:
        raise UsageError(
            f"The course {course.root} has no assignments yet in {course.assignments}: "
            "`grader new NAME` makes one."
        )
    if len(known) == 1:
        return known[0]
    if submissions is not None:
        inferred = infer_assignment(course, known, submissions)
        if inferred is not None:
            if note is not None:
                note(
                    f"Assignment: {inferred} (inferred from {submissions}; "
                    "--assignment chooses another)."
                )
            return inferred
        if submissions.is_dir() and not any(
            not entry.name.startswith(".") for entry in submissions.iterdir()
        ):
            raise UsageError(f"No submissions found in {submissions}: the folder is empty.")
    raise UsageError(
        f"Which assignment? Choose one with --assignment NAME: {', '.join(known)} "
        f"(the assignments of the course {course.root})."
    )


def infer_assignment(course: Course, known: list[str], submissions: Path) -> str | None:
    """The assignment whose name the folder bears, or the only one whose module file
    (``<student>/<module>.py`` or ``.ipynb``) appears in it; None when unclear."""
    if submissions.name in known:
        return submissions.name
    try:
        names = {p.name for p in submissions.glob("*/*") if p.suffix in (".py", ".ipynb")}
    except OSError:
        return None
    matches = [
        candidate
        for candidate in known
        if {f"{course.module_of(candidate)}.py", f"{course.module_of(candidate)}.ipynb"} & names
    ]
    return matches[0] if len(matches) == 1 else None
