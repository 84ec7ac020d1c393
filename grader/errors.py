"""Every exception the grader raises on purpose, in one tree.

::

    GraderError
    ├── UsageError              the instructor's input is wrong (folder, flag, name)
    │   ├── RosterError         a class roster cannot be read
    │   └── GradebookError      the gradebook cannot be opened, read or written
    ├── AssignmentError         an assignment's or course's files are missing or disagree
    │   └── LeakError           a release would hand out reference code or a hidden check
    ├── InfrastructureError     the grading machine failed, whoever is graded
    │   ├── TemplateError       the workers' template could not start or stopped answering
    │   ├── IsolationRefused    student code would be isolated too weakly, and no one allowed it
    │   └── StateDrift          Keras/TensorFlow state drifted that cannot be put back
    ├── CheckFailed             a check found the student's answer wrong (also an AssertionError)
    └── StudentError            the student's code raised, answered unreadably, hung or crashed
        ├── StudentTimeout      a call ran past its time limit
        ├── StudentCrash        the worker died while running the student's code
        ├── StudentImportError  the module could not be imported: every check fails with it
        └── NotebookError       a notebook cannot be graded as one

    ConfinementError (OSError)  the kernel refused to confine a worker (Landlock, seccomp)
    WireError (ValueError)      a value is not valid wire data
    FigureError (ValueError)    a check's figure does not fit the figure format

How a check's outcome follows from them: ``CheckFailed`` and ``StudentError`` are the
student's (*failed*, ``StudentTimeout``: *timeout*); ``InfrastructureError`` and
``AssignmentError`` are the grader's (*error*, counts neither way). Anything else raised
while a check handles a student's answer is *failed* too, with a note for the
instructor: a student can never make a check stop counting.

``ConfinementError``, ``WireError`` and ``FigureError`` stay outside ``GraderError``:
they are caught where they happen and turned into one of the above (a worker that cannot
confine itself is a ``TemplateError``; malformed wire data from a worker a
``StudentError``; a figure that does not fit is dropped, never a verdict).
"""

from __future__ import annotations

__all__ = [
    "AssignmentError",
    "CheckFailed",
    "ConfinementError",
    "FigureError",
    "GradebookError",
    "GraderError",
    "InfrastructureError",
    "IsolationRefused",
    "LeakError",
    "NotebookError",
    "RosterError",
    "StateDrift",
    "StudentCrash",
    "StudentError",
    "StudentImportError",
    "StudentTimeout",
    "TemplateError",
    "UsageError",
    "WireError",
]


class GraderError(Exception):
    """Base class for the grader's own exceptions."""


class UsageError(GraderError):
    """The command line or the input folder is not usable."""


class GradebookError(UsageError):
    """The gradebook cannot be opened, read or written (corrupt, foreign, newer, locked,
    full disk); nothing already recorded in it is lost."""


class RosterError(UsageError):
    """The roster file cannot be used as it is."""


class AssignmentError(GraderError):
    """An assignment's files are missing or disagree with each other."""


class LeakError(AssignmentError):
    """The release would hand out reference code or a hidden check's name."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "The release was not written: it would hand out what students must not see:\n"
            + "\n".join(f"  {p}" for p in problems)
        )
        self.problems = problems


class InfrastructureError(GraderError):
    """The grading machine failed, whoever is graded: never a student's fault."""


class TemplateError(InfrastructureError):
    """The worker template could not start or stopped answering."""


class IsolationRefused(InfrastructureError):
    """Student code would be isolated too weakly here, and no one allowed it."""


class StateDrift(InfrastructureError, RuntimeError):
    """A setting drifted that cannot be put back in a running process (the backend,
    TensorFlow's thread pools): the process must not grade anyone else."""


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


class NotebookError(StudentError):
    """The file cannot be graded as a notebook; the message says why, for the student."""


class ConfinementError(OSError):
    """The kernel has no Landlock, or installing a worker's confinement failed."""


class WireError(ValueError):
    """A value could not be encoded, or a message is not valid wire data."""


class FigureError(ValueError):
    """A figure that does not fit the format or its limits."""
