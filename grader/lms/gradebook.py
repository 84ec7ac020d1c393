"""What a run's results are worth in an LMS gradebook: the rules every exporter shares.

- ``graded``, ``import_error`` and ``invalid`` students get their score (the last two
  score 0: their code could not be imported or their submission could not be read).
- ``error`` students (the grader failed on some checks) get the score over the checks
  that counted: a check the grader could not run counts neither for nor against them.
  A gradebook column has one maximum, so Canvas and Moodle get that fraction of the
  assignment's points (25 of 28 counted points -> 26.79 / 30); LTI sends the counted
  score and maximum, which the platform scales.
- A student none of whose checks could run has no score at all: Canvas and Moodle
  leave them out; LTI sends ``gradingProgress: Failed`` without a score. Either way
  they are listed, to be graded again.

``feedback_text`` is the short comment Moodle and LTI carry: the score, the visible
checks that failed (by description), how many checks are hidden, and the checks the
grader could not run. A hidden check's name, description or message never appears.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UsageError
from grader.lms.roster import Match
from grader.reports._atomic import atomic_write_text
from grader.results import STUDENT_STATUSES, RunResult, StudentResult

__all__ = [
    "Export",
    "Grade",
    "error_headline",
    "feedback_text",
    "format_number",
    "grade_of",
    "json_number",
    "load_results",
    "results_file",
    "write_export",
]

MAX_LISTED_FAILURES = 10
_HEADLINE_LIMIT = 200


@dataclass(frozen=True)
class Grade:
    """A student's score as a gradebook sees it."""

    score: float  # over the checks that counted
    max_score: float  # the points of the checks that counted
    possible: float  # the assignment's points (the gradebook column's maximum)
    uncounted: int  # checks the grader could not run
    uncounted_points: float

    @property
    def gradable(self) -> bool:
        """False when no check counted: there is nothing to give a score for."""
        return self.max_score > 0

    @property
    def partial(self) -> bool:
        """Some checks did not count, so the score is out of fewer points than possible."""
        return self.gradable and self.uncounted > 0

    @property
    def points(self) -> float | None:
        """The score on the assignment's scale (``possible``); None if not gradable."""
        if not self.gradable:
            return None
        if not self.partial or math.isclose(self.max_score, self.possible):
            return self.score
        return self.score / self.max_score * self.possible


def grade_of(run: RunResult, student: StudentResult) -> Grade:
    uncounted = [c for c in student.checks if not c.counted]
    return Grade(
        score=float(student.score),
        max_score=float(student.max_score),
        possible=float(run.max_score),
        uncounted=len(uncounted),
        uncounted_points=sum(c.max_points for c in uncounted),
    )


def format_number(value: float, places: int = 2) -> str:
    """A plain decimal for a CSV cell: ``30``, ``1.5``, ``26.79``; never ``1e-05`` or ``-0``."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite score: {value}")
    rounded = round(value, places)
    if rounded.is_integer():
        return str(int(rounded))
    return f"{rounded:.{places}f}".rstrip("0").rstrip(".")


def json_number(value: float) -> int | float:
    """A score for JSON: ``30`` rather than ``30.0``, float noise rounded off."""
    rounded = round(float(value), 6)
    return int(rounded) if rounded.is_integer() else rounded


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def _one_line(text: str, limit: int = _HEADLINE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_headline(error: str | None) -> str:
    """The line of an error that says what went wrong (a traceback's last line)."""
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0]
    return _one_line(lines[-1] if first.startswith("Traceback (most recent call last)") else first)


def feedback_text(student: StudentResult, grade: Grade, recorded_as: str | None = None) -> str:
    """The short text a gradebook shows a student next to their score.

    ``recorded_as`` is the number the gradebook holds when it differs from the
    counted score (a partly graded student in a column with one maximum).
    """
    score = f"Score: {format_number(grade.score)} / {format_number(grade.max_score)}"
    if grade.partial:
        score += f" ({format_number(grade.uncounted_points)} points not counted, see below)"
        if recorded_as is not None:
            score += f", recorded as {recorded_as} / {format_number(grade.possible)}"
    lines = [score + "."]
    if student.status == "import_error":
        headline = error_headline(student.error)
        lines += ["Your code could not be imported, so every check failed.", headline]
        return "\n".join(line for line in lines if line)
    if student.status == "invalid":
        headline = error_headline(student.error)
        lines += ["Your submission could not be read, so no check ran.", headline]
        return "\n".join(line for line in lines if line)
    visible_failed = [
        c for c in student.checks if c.visibility != "hidden" and c.status in ("failed", "timeout")
    ]
    hidden = sum(1 for c in student.checks if c.visibility == "hidden")
    if visible_failed:
        lines.append(f"Failed {_plural(len(visible_failed), 'check')}:")
        for check in visible_failed[:MAX_LISTED_FAILURES]:
            what = _one_line(check.description or check.name)
            suffix = " (timed out)" if check.status == "timeout" else ""
            worth = "point" if check.max_points == 1 else "points"
            lines.append(f"- {what}{suffix} [{format_number(check.max_points)} {worth}]")
        more = len(visible_failed) - MAX_LISTED_FAILURES
        if more > 0:
            lines.append(f"- and {_plural(more, 'more check')}.")
    elif grade.gradable and math.isclose(grade.score, grade.max_score):
        lines.append("Every check passed.")
    if hidden:
        verb, pronoun = ("is", "its") if hidden == 1 else ("are", "their")
        lines.append(
            f"{_plural(hidden, 'hidden check')} {verb} not shown; "
            f"{pronoun} points are included in the score."
        )
    if grade.uncounted:
        lines.append(
            f"{_plural(grade.uncounted, 'check')} could not be run because of a problem in "
            "the grader, not in your work: they count neither for nor against you."
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- input and output


def results_file(path: Path) -> Path:
    """``path`` itself, or the ``results.json`` inside the folder ``path``."""
    path = Path(path)
    return path / "results.json" if path.is_dir() else path


def load_results(path: Path) -> RunResult:
    """Read a run's ``results.json`` (the file, or the folder ``grader run --out`` wrote)."""
    file = results_file(path)
    if not file.is_file():
        where = f"{path} holds no results.json" if Path(path).is_dir() else f"{path} does not exist"
        raise UsageError(
            f"No results to export: {where}. Give the results.json of a run or the folder "
            "`grader run --out` wrote."
        )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{file} is not a grader results.json: {exc}.") from exc
    try:
        run = RunResult.from_dict(data)
        for student in run.students:
            if student.status not in STUDENT_STATUSES:
                raise ValueError(f"student {student.student!r} has status {student.status!r}")
            float(student.score), float(student.max_score)
        float(run.max_score)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(
            f"{file} is not a grader results.json (see grader/schemas/results.schema.json): "
            f"{type(exc).__name__}: {exc}."
        ) from exc
    return run


@dataclass(frozen=True)
class Export:
    """A gradebook file's text and what happened to each student on the way."""

    lms: str
    text: str
    written: tuple[str, ...]  # students with a row (or a score object)
    match: Match
    needs: str  # the roster identity this LMS needs, for messages
    partial: tuple[tuple[str, Grade], ...] = ()  # written, some checks not counted
    ungradable: tuple[str, ...] = ()  # no check counted
    ungradable_written: bool = False  # LTI sends them as gradingProgress Failed
    scaled: bool = True  # partial scores were scaled to the assignment's points

    def notices(self, roster_source: str = "the roster") -> list[str]:
        """Lines for the instructor (stderr): everyone not exported as a plain score."""
        lines = []
        match = self.match
        if match.not_in_roster:
            lines.append(
                f"Left out, not in {roster_source} ({len(match.not_in_roster)}): "
                + ", ".join(match.not_in_roster)
            )
        if match.missing_identity:
            lines.append(
                f"Left out, no {self.needs} in {roster_source} ({len(match.missing_identity)}): "
                + ", ".join(student for student, _ in match.missing_identity)
            )
        if self.ungradable:
            what = (
                "Sent as gradingProgress Failed, without a score"
                if self.ungradable_written
                else "Left out"
            )
            lines.append(
                f"{what}: the grader could not run any of their checks; grade them again "
                f"({len(self.ungradable)}): " + ", ".join(self.ungradable)
            )
        if self.partial:
            parts = []
            for student, grade in self.partial:
                counted = f"{format_number(grade.score)} / {format_number(grade.max_score)}"
                if self.scaled and grade.points is not None:
                    counted += (
                        f" -> {format_number(grade.points)} / {format_number(grade.possible)}"
                    )
                parts.append(f"{student} {counted}")
            lines.append(
                "Partly graded: checks the grader could not run are not counted; grade them "
                f"again to replace these ({len(self.partial)}): " + ", ".join(parts)
            )
        if match.no_result:
            lines.append(
                f"Not graded, on the roster but not in the results ({len(match.no_result)}): "
                + ", ".join(
                    e.student if e.display_name == e.student else f"{e.student} ({e.name})"
                    for e in match.no_result
                )
            )
        return lines


def write_export(export: Export, path: Path) -> None:
    """Write the file atomically; refuse to write a file without a single student."""
    if not export.written:
        raise UsageError(
            f"Nothing to export to {export.lms}: no student of the results is on the roster "
            f"with a {export.needs}. Is it the right roster?"
        )
    atomic_write_text(path, export.text)
