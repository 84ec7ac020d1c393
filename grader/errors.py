"""The grader's exceptions.

``GraderError`` is the root of everything the grader raises on purpose:

- ``UsageError``: the instructor's input is wrong (bad folder, unknown assignment);
- ``AssignmentError``: an assignment's files are inconsistent (toml vs checks);
- ``StudentError``: the student's code failed, answered wrongly, hung or crashed.
  Checks turn these into failed (or timed-out) checks, never grader errors.
- ``CheckFailed``: a check found the student's answer wrong.

Any other exception inside a check is a grader fault and costs the student nothing.
"""

from __future__ import annotations

__all__ = [
    "AssignmentError",
    "CheckFailed",
    "GraderError",
    "StudentCrash",
    "StudentError",
    "StudentImportError",
    "StudentTimeout",
    "UsageError",
]


class GraderError(Exception):
    """Base class for the grader's own exceptions."""


class UsageError(GraderError):
    """The command line or the input folder is not usable."""


class AssignmentError(GraderError):
    """An assignment's files are missing or disagree with each other."""


class CheckFailed(GraderError, AssertionError):
    """A check found that the student's code does not do what was asked."""


class StudentError(GraderError):
    """The student's code raised, returned something unreadable, hung or crashed."""

    def __init__(self, message: str, *, kind: str = "exception", details: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.details = details


class StudentTimeout(StudentError):
    """A call into the student's code ran past its time limit."""


class StudentCrash(StudentError):
    """The worker process died while running the student's code."""


class StudentImportError(StudentError):
    """The student's module could not be imported; every check fails with this."""
