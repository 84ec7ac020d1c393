"""The late policy of an assignment (``[late]`` in ``assignment.toml``) and submission times.

::

    [late]
    due = 2026-12-01T23:59:00+01:00   # a TOML date-time with its UTC offset
    penalty_per_day = 10              # percent of the assignment's points (or penalty_per_hour)
    grace_minutes = 15                # later than due, still on time (default 0)
    max_days_late = 3                 # later than that: no points (or max_hours_late)

Lateness is counted from ``due``, not from the end of the grace period: a submission 20
minutes late with 15 minutes' grace is one day late. Each day (or hour) begun counts
whole. The penalty is a share of the assignment's points, taken off the score (never
below 0); a submission later than the maximum gets no points. The policy never changes a
verdict: the raw score stays in the gradebook and the penalty is shown as such.

Submission times come from the LMS where it gives them (Gradescope's submission metadata)
or from a CSV the instructor gives (``student,submitted_at``, ISO 8601 with an offset);
from files' modification times only when asked (``--submitted-at mtime``).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from grader.errors import AssignmentError, UsageError

__all__ = ["LatePolicy", "Lateness", "parse_time", "read_submission_times"]

_KEYS = {
    "due",
    "penalty_per_day",
    "penalty_per_hour",
    "grace_minutes",
    "max_days_late",
    "max_hours_late",
}


@dataclass(frozen=True)
class Lateness:
    """How late one submission was under a policy."""

    submitted_at: datetime
    late_seconds: float  # 0 when on time
    units: int  # days or hours charged
    penalty_fraction: float  # of the assignment's points
    beyond_maximum: bool

    @property
    def late(self) -> bool:
        return self.units > 0 or self.beyond_maximum


@dataclass(frozen=True)
class LatePolicy:
    due: datetime  # aware
    per: Literal["day", "hour"]
    penalty_percent: float  # per day or hour begun
    grace: timedelta = timedelta(0)
    maximum: timedelta | None = None  # later than this after due: no points

    @property
    def unit(self) -> timedelta:
        return timedelta(days=1) if self.per == "day" else timedelta(hours=1)

    @classmethod
    def from_table(cls, table: Any, where: str) -> LatePolicy:
        """The policy of an ``assignment.toml``'s ``[late]`` table; ``AssignmentError``
        naming what is wrong."""

        def bad(what: str) -> AssignmentError:
            return AssignmentError(f"{where}: [late] {what}")

        if not isinstance(table, dict):
            raise bad("must be a table")
        unknown = sorted(set(table) - _KEYS)
        if unknown:
            raise bad(f"has unknown keys {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
        due = table.get("due")
        if isinstance(due, str):
            try:
                due = datetime.fromisoformat(due)
            except ValueError:
                raise bad(f"due {due!r} is not a date and time") from None
        if not isinstance(due, datetime):
            raise bad("due must be a date and time, e.g. due = 2026-12-01T23:59:00+01:00")
        if due.tzinfo is None:
            raise bad(
                f"due {due.isoformat()} has no UTC offset, so it means different times on "
                "different machines: write it with one, e.g. +01:00 or Z"
            )
        per_day, per_hour = table.get("penalty_per_day"), table.get("penalty_per_hour")
        if (per_day is None) == (per_hour is None):
            raise bad("needs exactly one of penalty_per_day and penalty_per_hour (a percent)")
        per: Literal["day", "hour"] = "day" if per_day is not None else "hour"
        penalty = _number(per_day if per_day is not None else per_hour, bad, f"penalty_per_{per}")
        if not 0 <= penalty <= 100:
            raise bad(f"penalty_per_{per} must be a percent between 0 and 100, not {penalty:g}")
        grace = _number(table.get("grace_minutes", 0), bad, "grace_minutes")
        if grace < 0:
            raise bad("grace_minutes must not be negative")
        max_days, max_hours = table.get("max_days_late"), table.get("max_hours_late")
        if max_days is not None and max_hours is not None:
            raise bad("give max_days_late or max_hours_late, not both")
        maximum = None
        if max_days is not None:
            maximum = timedelta(days=_number(max_days, bad, "max_days_late"))
        elif max_hours is not None:
            maximum = timedelta(hours=_number(max_hours, bad, "max_hours_late"))
        if maximum is not None and maximum < timedelta(minutes=grace):
            raise bad("the maximum lateness is shorter than the grace period")
        return cls(due, per, penalty, timedelta(minutes=grace), maximum)

    def assess(self, submitted_at: datetime) -> Lateness:
        late = (submitted_at - self.due).total_seconds()
        if late <= self.grace.total_seconds():
            return Lateness(submitted_at, max(late, 0.0), 0, 0.0, False)
        beyond = self.maximum is not None and late > self.maximum.total_seconds()
        units = math.ceil(late / self.unit.total_seconds())
        fraction = 1.0 if beyond else min(1.0, units * self.penalty_percent / 100)
        return Lateness(submitted_at, late, units, fraction, beyond)

    def describe(self) -> str:
        text = (
            f"due {self.due.isoformat()}; {self.penalty_percent:g}% of the points off per "
            f"{self.per} late (each {self.per} begun counts)"
        )
        if self.grace:
            text += f", {self.grace.total_seconds() / 60:g} minutes' grace"
        if self.maximum is not None:
            hours = self.maximum.total_seconds() / 3600
            span = f"{hours / 24:g} days" if hours % 24 == 0 else f"{hours:g} hours"
            text += f"; no points when more than {span} late"
        return text


def _number(value: Any, bad: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad(f"{key} must be a number, not {value!r}")
    return float(value)


def parse_time(text: str, where: str) -> datetime:
    """An ISO 8601 time with a UTC offset (``Z`` allowed); ``UsageError`` otherwise."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not an ISO 8601 date and time.") from None
    if parsed.tzinfo is None:
        raise UsageError(
            f"{where}: {text!r} has no UTC offset; write it with one (+01:00, Z), so it "
            "means the same time everywhere."
        )
    return parsed


def read_submission_times(path: Path) -> dict[str, datetime]:
    """``student,submitted_at`` rows of a CSV (a header row is allowed); ``UsageError``
    naming the line of anything unreadable, so no student is graded with a wrong time."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read the submission times {path}: {exc}") from exc
    times: dict[str, datetime] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        where = f"{path}, line {number}"
        if number == 1 and row[0].strip().lower() in ("student", "name", "login", "id"):
            continue
        if len(row) < 2:
            raise UsageError(f"{where}: expected student,submitted_at.")
        student = row[0].strip()
        if not student:
            raise UsageError(f"{where}: the student is empty.")
        if student in times:
            raise UsageError(f"{where}: {student!r} is listed twice.")
        times[student] = parse_time(row[1], where)
    return times


def utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")
