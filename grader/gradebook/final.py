"""A student's final grade: the checks' result with the instructor's adjustments and the
late penalty on top.

- A check adjustment sets that check's points (its verdict stays as graded); the check
  then counts, even one the grader could not run.
- A total adjustment adds its points to the score (negative: takes them off).
- The score with adjustments stays within 0 and the points the student's checks are out
  of; the late penalty is then taken off (a share of the assignment's points), never
  below 0, and a submission later than the policy's maximum gets 0.
- ``raw_score`` keeps the checks' own score whenever the final one differs in how it was
  made; results without adjustments or lateness are returned unchanged.
- An adjustment is flagged for review when what it was made on has changed: the check's
  verdict, or (a total adjustment) the checks' score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from grader.late import LatePolicy, utc
from grader.results import CheckResult, StudentResult

if TYPE_CHECKING:
    from grader.gradebook.book import Adjustment

__all__ = ["final_result", "grade_notes", "needs_review"]


def final_result(
    raw: StudentResult,
    possible: float,
    adjustments: Iterable[Adjustment] = (),
    *,
    policy: LatePolicy | None = None,
    submitted: tuple[datetime, str] | None = None,
) -> StudentResult:
    """``raw`` with ``adjustments`` (this student's, in force) and the late penalty
    applied; ``possible``: the assignment's points."""
    by_check = {a.check: a for a in adjustments if a.check is not None}
    total = next((a for a in adjustments if a.check is None), None)
    names = {c.name for c in raw.checks}
    # A check renamed or removed since: its adjustment cannot apply, and must not vanish.
    orphans = tuple(
        f"{name}: adjusted to {a.points:g} points ({a.reason}), but the check no longer "
        "exists: adjust the check that replaced it, or remove the adjustment"
        for name, a in sorted(by_check.items())
        if name not in names and raw.checks
    )
    late = None
    if policy is not None and submitted is not None:
        late = policy.assess(submitted[0])
    if not set(by_check) & names and total is None and (late is None or not late.late):
        return replace(raw, reviews=raw.reviews + orphans) if orphans else raw
    checks = tuple(_adjusted(c, by_check.get(c.name)) for c in raw.checks)
    counted = [c for c in checks if c.counted]
    score = sum(c.points for c in counted)
    max_score = sum(c.max_points for c in counted) if raw.checks else raw.max_score
    fields: dict[str, object] = {
        "checks": checks,
        "raw_score": raw.score,
        "reviews": raw.reviews + orphans,
    }
    if total is not None:
        score += total.points
        fields["adjustment"] = {
            "points": total.points,
            "seen_score": total.seen_score,
            "reason": total.reason,
            "by": total.author,
            "at": total.created_at,
            "review": total.seen_score is None or not math.isclose(total.seen_score, raw.score),
        }
    score = min(max(score, 0.0), max_score)
    if late is not None and late.late and policy is not None and submitted is not None:
        penalty = score if late.beyond_maximum else min(score, late.penalty_fraction * possible)
        score -= penalty
        fields["late"] = {
            "submitted_at": utc(late.submitted_at),
            "due": utc(policy.due),
            "source": submitted[1],
            "late_seconds": round(late.late_seconds, 3),
            "units_late": late.units,
            "per": policy.per,
            "penalty_points": round(penalty, 6),
            "beyond_maximum": late.beyond_maximum,
            "rule": policy.describe(),
        }
    fields["score"] = round(max(score, 0.0), 6)
    fields["max_score"] = max_score
    return replace(raw, **fields)  # type: ignore[arg-type]


def _adjusted(check: CheckResult, adjustment: Adjustment | None) -> CheckResult:
    if adjustment is None:
        return check
    points = min(max(adjustment.points, 0.0), check.max_points)
    return replace(
        check,
        points=points,
        adjustment={
            "points": points,
            "graded_points": check.points,
            "graded_status": adjustment.seen_status,
            "reason": adjustment.reason,
            "by": adjustment.author,
            "at": adjustment.created_at,
            "review": adjustment.seen_status != check.status,
        },
    )


def needs_review(result: StudentResult) -> list[str]:
    """What an instructor should look at again: adjustments made on another grade."""
    out = [
        f"{c.name}: adjusted when it was {c.adjustment.get('graded_status')}, now {c.status}"
        for c in result.checks
        if c.adjustment is not None and c.adjustment.get("review")
    ]
    if result.adjustment is not None and result.adjustment.get("review"):
        out.append(
            f"total: adjusted when the checks gave {result.adjustment.get('seen_score')}, "
            f"now {result.raw_score}"
        )
    return out + list(result.reviews)


def grade_notes(student: StudentResult, *, instructor: bool = False) -> list[str]:
    """How the score at the top was made, when the checks alone did not make it: the
    instructor's adjustments and the late penalty. For the student, a visible check's
    adjustment is shown on the check itself and a hidden check's without its name; for
    the ``instructor``, every adjusted check by name."""
    notes = []
    if student.raw_score is not None:
        notes.append(f"The checks gave {_number(student.raw_score)} points.")
    for check in student.checks:
        if check.adjustment is None:
            continue
        given = _number(float(check.adjustment.get("points", 0)))
        reason = check.adjustment.get("reason", "")
        if instructor:
            notes.append(f"{check.name} set to {given}: {reason}")
        elif check.visibility == "hidden":
            notes.append(f"Your instructor set a hidden check's points to {given}: {reason}")
    if student.adjustment is not None:
        points = float(student.adjustment.get("points", 0))
        sign = "+" if points >= 0 else "−"
        notes.append(
            f"Adjusted by your instructor: {sign}{_number(abs(points))} "
            f"{'point' if abs(points) == 1 else 'points'}: {student.adjustment.get('reason', '')}"
        )
    if student.late is not None:
        late = student.late
        when = _when(str(late.get("submitted_at", "")))
        if late.get("beyond_maximum"):
            notes.append(
                f"Submitted {when}, later than the late policy accepts: no points "
                f"({late.get('rule', '')})."
            )
        else:
            units = int(late.get("units_late", 0))
            per = str(late.get("per", "day"))
            span = f"{units} {per if units == 1 else per + 's'}"
            notes.append(
                f"Submitted {when}, {span} late: "
                f"−{_number(float(late.get('penalty_points', 0)))} points "
                f"({late.get('rule', '')})."
            )
    return notes


def _number(value: float) -> str:
    rounded = round(float(value), 2)
    return str(int(rounded)) if rounded.is_integer() else f"{rounded:.2f}".rstrip("0")


def _when(text: str) -> str:
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return text
