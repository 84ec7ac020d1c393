"""Value objects for grading outcomes, and their plain-data form.

Everything here is plain data decided in the trusted process. ``to_dict`` gives the
shape written to ``results.json``; ``from_dict`` reads it back (resume, exporters).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from grader.sandbox.wire import clean_chars

__all__ = [
    "CHECK_STATUSES",
    "STUDENT_STATUSES",
    "VISIBILITIES",
    "CheckResult",
    "CheckStatus",
    "RunResult",
    "StudentResult",
    "StudentStatus",
    "Visibility",
    "clean_data",
    "clean_text",
]


def clean_text(text: str) -> str:
    """``text`` as every report can write it (``grader.sandbox.wire.clean_chars``: the
    sanitiser the worker's client applies to everything a worker sends, here again for
    every writer, whatever a result's strings came from)."""
    return clean_chars(text if isinstance(text, str) else str(text))


def clean_data(value: Any) -> Any:
    """``clean_text`` applied to every string (keys too) in plain JSON-like data."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_data(k): clean_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(clean_data(v) for v in value)
    return value


CheckStatus = Literal["passed", "failed", "error", "timeout"]
CHECK_STATUSES: tuple[CheckStatus, ...] = get_args(CheckStatus)

# visible: students see the check, its message and pictures, and run it themselves
# (a release ships it). hidden: only its existence and points are shown.
Visibility = Literal["visible", "hidden"]
VISIBILITIES: tuple[Visibility, ...] = get_args(Visibility)

# graded: every check ran. import_error: the module could not be imported, every
# check failed. invalid: the submission could not be read at all. error: the grader
# itself failed on some checks; those checks count neither for nor against.
StudentStatus = Literal["graded", "import_error", "invalid", "error"]
STUDENT_STATUSES: tuple[StudentStatus, ...] = get_args(StudentStatus)


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check on one submission."""

    name: str
    function: str
    description: str
    points: float
    max_points: float
    status: CheckStatus
    message: str = ""
    visibility: Visibility = "visible"
    # Pictures for the feedback page, as plain data ("curves" or "table"; see
    # grader.checks.figures). Never used to decide anything.
    figures: tuple[dict[str, Any], ...] = ()
    # For the instructor only (results.json, the summary's "Needs attention"), never on a
    # student's page or in an LMS's feedback: the internal exception and traceback of an
    # unexpected failure on the student's data, which may be a grader bug to look into.
    internal: str = ""
    # An instructor set this check's points (grader.gradebook.final): points, the points
    # the check gave, reason, by, at, and review (the verdict changed since).
    adjustment: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        for name in ("name", "function", "description", "message", "visibility", "internal"):
            object.__setattr__(self, name, clean_text(getattr(self, name)))
        if self.adjustment is not None:
            object.__setattr__(self, "adjustment", clean_data(dict(self.adjustment)))

    @property
    def counted(self) -> bool:
        """Whether the check counts toward the score (grader errors do not, unless an
        instructor gave its points)."""
        return self.status != "error" or self.adjustment is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["figures"] = [clean_data(f) for f in self.figures]
        if self.adjustment is None:
            del data["adjustment"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        fields = dict(data)
        fields["figures"] = tuple(data.get("figures", ()))
        return cls(**fields)


@dataclass(frozen=True)
class StudentResult:
    """All verdicts for one student's submission."""

    student: str
    score: float
    max_score: float
    status: StudentStatus
    checks: tuple[CheckResult, ...] = ()
    error: str | None = None
    source: str | None = None
    output: str = ""
    duration: float = 0.0
    fingerprint: str = ""
    # Set when the gradebook changed the score (grader.gradebook.final): the score the
    # checks gave, an instructor's adjustment of the total, and the late penalty.
    raw_score: float | None = None
    adjustment: dict[str, Any] | None = None
    late: dict[str, Any] | None = None
    # For the instructor only: what to look at again (an adjustment of a check that no
    # longer exists, say). Never on the student's page or in an LMS file.
    reviews: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # ``student`` is kept exactly (it names files and resumes); writers clean it.
        for name in ("error", "source", "output"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, clean_text(value))
        for name in ("adjustment", "late"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, clean_data(dict(value)))
        object.__setattr__(self, "reviews", tuple(clean_text(r) for r in self.reviews))

    @property
    def needs_attention(self) -> tuple[CheckResult, ...]:
        """Checks with an internal note for the instructor (see ``CheckResult.internal``)."""
        return tuple(c for c in self.checks if c.internal)

    def points_by_function(self, functions: list[str]) -> dict[str, float]:
        totals = dict.fromkeys(functions, 0.0)
        for check in self.checks:
            if check.counted:
                totals[check.function] = totals.get(check.function, 0.0) + check.points
        return totals

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [c.to_dict() for c in self.checks]
        for name in ("raw_score", "adjustment", "late"):
            if data[name] is None:
                del data[name]
        if self.reviews:
            data["reviews"] = list(self.reviews)
        else:
            del data["reviews"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudentResult:
        fields = dict(data)
        fields["checks"] = tuple(CheckResult.from_dict(c) for c in data.get("checks", ()))
        fields["reviews"] = tuple(data.get("reviews", ()))
        return cls(**fields)


@dataclass(frozen=True)
class RunResult:
    """A whole class's results for one assignment."""

    assignment: str
    title: str
    max_score: float
    functions: tuple[str, ...]
    students: tuple[StudentResult, ...]
    grader_version: str
    generated_at: str = ""
    duration: float = 0.0
    workers: int = 1
    isolation: str = "process"
    # The level in words: what it does and what it does not cover.
    isolation_detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Graded on a Dask cluster: its scheduler and the workers that graded.
    cluster: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment,
            "title": self.title,
            "max_score": self.max_score,
            "functions": list(self.functions),
            "grader_version": self.grader_version,
            "isolation": self.isolation,
            "isolation_detail": self.isolation_detail,
            "generated_at": self.generated_at,
            "duration": self.duration,
            "workers": self.workers,
            **({} if self.cluster is None else {"cluster": self.cluster}),
            "students": [s.to_dict() for s in self.students],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        return cls(
            assignment=data["assignment"],
            title=data.get("title", data["assignment"]),
            max_score=data["max_score"],
            functions=tuple(data.get("functions", ())),
            students=tuple(StudentResult.from_dict(s) for s in data["students"]),
            grader_version=data.get("grader_version", ""),
            generated_at=data.get("generated_at", ""),
            duration=data.get("duration", 0.0),
            workers=data.get("workers", 1),
            isolation=data.get("isolation", "process"),
            isolation_detail=data.get("isolation_detail", ""),
            cluster=data.get("cluster"),
        )
