"""A student's grades over runs, and what changed between them (``grader history``).

Each run that graded or kept the student is one row: the checks' score, the final score
with the adjustments in force when the run finished (and the late policy), and what
changed since the row before: a new submission, changed checks (any change to what
decides a grade: check files, reference, limits, grader or library versions), the
verdicts that moved, and adjustments made or removed in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grader.gradebook.book import Adjustment, Gradebook, HistoryEntry, RunRecord
from grader.gradebook.final import final_result
from grader.late import LatePolicy
from grader.results import StudentResult

__all__ = ["StudentRow", "student_history"]


@dataclass(frozen=True)
class StudentRow:
    run: RunRecord
    raw_score: float
    max_score: float
    final_score: float
    status: str
    changes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.id,
            "started_at": self.run.started_at,
            "by": self.run.user,
            "score": self.raw_score,
            "final_score": self.final_score,
            "max_score": self.max_score,
            "status": self.status,
            "changes": list(self.changes),
        }


def student_history(
    book: Gradebook,
    assignment: str,
    student: str,
    possible: float,
    policy: LatePolicy | None = None,
) -> tuple[list[StudentRow], list[str]]:
    """The student's rows, oldest first, and what changed after the last run (adjustments
    made or removed since)."""
    entries = book.history(assignment, student)
    adjustments = book.adjustments(assignment, student, removed=True)
    submitted = book.submission_times(assignment).get(student) if policy else None
    rows: list[StudentRow] = []
    previous: HistoryEntry | None = None
    for entry in entries:
        at = entry.run.finished_at or entry.run.started_at
        in_force = [a for a in adjustments if _in_force(a, at)]
        final = final_result(entry.result, possible, in_force, policy=policy, submitted=submitted)
        since = (previous.run.finished_at or previous.run.started_at) if previous else None
        changes = _changes(previous, entry) + _adjusted_between(adjustments, since, at)
        rows.append(
            StudentRow(
                run=entry.run,
                raw_score=entry.result.score,
                max_score=final.max_score,
                final_score=final.score,
                status=entry.result.status,
                changes=tuple(changes),
            )
        )
        previous = entry
    last = previous.run.finished_at if previous else None
    after = _adjusted_between(adjustments, last, None) if previous else []
    return rows, after


def _in_force(adjustment: Adjustment, at: str) -> bool:
    return adjustment.created_at <= at and (
        adjustment.removed_at is None or adjustment.removed_at > at
    )


def _changes(previous: HistoryEntry | None, entry: HistoryEntry) -> list[str]:
    if previous is None:
        return ["first graded"]
    if previous.result_id == entry.result_id:
        return ["kept: unchanged" if entry.kept else "graded again: the same result"]
    out = []
    if previous.submission_key != entry.submission_key:
        out.append("new submission")
    if previous.grading_key != entry.grading_key:
        out.append("checks changed")
    out += _verdicts(previous.result, entry.result)
    if len(out) == 0:
        out.append("graded again: other messages or output, same verdicts")
    return out


def _verdicts(before: StudentResult, after: StudentResult) -> list[str]:
    old = {c.name: c for c in before.checks}
    out = []
    for check in after.checks:
        was = old.get(check.name)
        if was is None:
            out.append(f"{check.name}: new check, {check.status}")
        elif (was.status, was.points) != (check.status, check.points):
            out.append(
                f"{check.name}: {was.status} -> {check.status} "
                f"({was.points:g} -> {check.points:g} points)"
            )
    names = {c.name for c in after.checks}
    out += [f"{name}: check removed" for name in old if name not in names]
    if before.status != after.status:
        out.append(f"status {before.status} -> {after.status}")
    return out


def _adjusted_between(
    adjustments: Sequence[Adjustment], since: str | None, until: str | None
) -> list[str]:
    def inside(when: str | None) -> bool:
        return (
            when is not None
            and (since is None or when > since)
            and (until is None or when <= until)
        )

    out = []
    for a in adjustments:
        target = f"{a.check} set to {a.points:g} points" if a.check else f"total {a.points:+g}"
        if inside(a.created_at):
            out.append(f"adjustment by {a.author}: {target} ({a.reason})")
        if inside(a.removed_at):
            out.append(f"adjustment removed by {a.removed_by}: {target}")
    return out
