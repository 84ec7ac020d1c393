"""What a run's results are worth in an LMS gradebook: the rules every exporter shares.

- ``graded``, ``import_error`` and ``invalid`` students get their score (the last two
  score 0: their code could not be imported or their submission could not be read).
- A student with any check the grader could not run (status ``error``: the check does
  not pass on the reference solution either, or the grading machine failed) is held
  back: no exporter writes a score for them, and they are listed as needing a regrade.
  Points are never scaled up over the checks that counted, so a check that did not
  count can never raise a grade.
- LTI leaves held-back students out of its file by default: a ``gradingProgress:
  Failed`` line without a score would clear a score the platform already holds.

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
from grader.files import atomic_write_text
from grader.gradebook.final import grade_notes
from grader.lms.roster import Match
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
    def held_back(self) -> bool:
        """No score may be exported: some check could not be run, the student needs a
        regrade (a partial score would count only the checks the grader could run)."""
        return not self.gradable or self.uncounted > 0

    @property
    def points(self) -> float | None:
        """The score to export, never scaled; None for a student held back."""
        return None if self.held_back else self.score


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


def feedback_text(student: StudentResult, grade: Grade) -> str:
    """The short text a gradebook shows a student next to their score."""
    score = f"Score: {format_number(grade.score)} / {format_number(grade.max_score)}"
    if grade.partial:
        score += f" ({format_number(grade.uncounted_points)} points not counted yet, see below)"
    lines = [score + ".", *grade_notes(student)]
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
            f"{_plural(grade.uncounted, 'check')} could not be judged because of a problem "
            "in the grader (it fails on the reference solution too), not in your work: "
            "your submission will be graded again."
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
    held_back: tuple[str, ...] = ()  # some check could not be run: no score, regrade
    held_back_written: bool = False  # LTI with include_failed: sent as gradingProgress Failed

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
        if self.held_back:
            what = (
                "Sent as gradingProgress Failed, without a score (this clears a score the "
                "platform holds)"
                if self.held_back_written
                else "Left out, needs a regrade"
            )
            lines.append(
                f"{what}: the grader could not run some or all of their checks; fix the "
                f"grader and grade them again ({len(self.held_back)}): " + ", ".join(self.held_back)
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
