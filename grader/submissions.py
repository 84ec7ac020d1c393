"""Find the submissions in a class folder.

A student hands in ``SUBMISSIONS/<student>/<module>.py`` or ``SUBMISSIONS/<student>.py``.
Anything else that looks like a submission becomes a ``Submission`` with a ``problem``
(shown to the student and the instructor) rather than being dropped; files that are not
submissions at all are listed in ``Discovery.ignored``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import UsageError

__all__ = ["Discovery", "Submission", "discover"]

_IGNORED_NAMES = frozenset(["__pycache__", "__MACOSX", "grader-results"])


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path | None
    display_path: str
    problem: str | None = None


@dataclass(frozen=True)
class Discovery:
    submissions: tuple[Submission, ...]
    ignored: tuple[str, ...] = field(default_factory=tuple)


def discover(root: Path, module: str) -> Discovery:
    """All submissions in ``root`` for an assignment whose module is ``module``."""
    if not root.exists():
        raise UsageError(f"The submissions folder {root} does not exist.")
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder; pass the folder that holds the submissions.")
    found: dict[str, list[Submission]] = defaultdict(list)
    ignored: list[str] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name in _IGNORED_NAMES:
            continue
        if entry.is_dir():
            found[entry.name].append(_from_folder(entry, root, module))
        elif entry.suffix == ".py":
            found[entry.stem].append(Submission(entry.stem, entry, entry.name))
        elif entry.suffix == ".ipynb":
            found[entry.stem].append(
                Submission(entry.stem, None, entry.name, problem=_notebook_problem(module))
            )
        else:
            ignored.append(entry.name)
    submissions = []
    for student, entries in sorted(found.items()):
        if len(entries) == 1:
            submissions.append(entries[0])
        else:
            names = ", ".join(e.display_path for e in entries)
            submissions.append(
                Submission(
                    student,
                    None,
                    names,
                    problem=f"More than one submission for {student}: {names}. "
                    "Keep exactly one and grade again.",
                )
            )
    return Discovery(tuple(submissions), tuple(ignored))


def _notebook_problem(module: str) -> str:
    return (
        f"Notebook submissions are not supported yet; hand in {module}.py "
        "(in Jupyter: File > Download as > Python)."
    )


def _from_folder(folder: Path, root: Path, module: str) -> Submission:
    student = folder.name
    expected = folder / f"{module}.py"
    display = f"{folder.name}/{module}.py"
    if expected.is_file():
        return Submission(student, expected, display)
    if (folder / f"{module}.ipynb").is_file():
        return Submission(
            student, None, f"{folder.name}/{module}.ipynb", problem=_notebook_problem(module)
        )
    files = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    listing = ", ".join(files[:10]) + (" ..." if len(files) > 10 else "") if files else "nothing"
    return Submission(
        student,
        None,
        f"{folder.name}/",
        problem=f"Expected {module}.py in {folder.name}/; found {listing}.",
    )
