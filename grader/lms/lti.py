"""LTI 1.3 Assignment and Grade Services score objects, one JSON object per line.

Each line is the body a tool POSTs to ``{lineitem}/scores`` (content type
``application/vnd.ims.lis.v1.score+json``) for one student::

    {"userId": "a6d5c443-1f51", "scoreGiven": 28, "scoreMaximum": 30,
     "comment": "Score: 28 / 30. ...", "timestamp": "2026-11-25T16:19:50.000+00:00",
     "activityProgress": "Completed", "gradingProgress": "FullyGraded"}

The file is for a tool or script that holds the platform's credentials; the grader
itself sends nothing over the network. ``scoreGiven``/``scoreMaximum`` are the
student's score and the assignment's points. A student with a check the grader could
not run is left out and listed as needing a regrade: a line without ``scoreGiven``
(``gradingProgress: "Failed"``) clears the score Canvas or Moodle hold, and a score over
fewer checks would be scaled up by the platform. Only with ``include_failed`` are they
sent as ``"Failed"`` lines without a score. ``timestamp`` is when the
run finished (so exporting twice gives the same file, and a later run's scores
supersede it); ``comment`` never names a hidden check. The object's schema is
``grader/schemas/lti-ags-score.schema.json``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from grader.lms.gradebook import Export, feedback_text, grade_of, json_number
from grader.lms.roster import Roster, RosterEntry, match_roster
from grader.results import RunResult

__all__ = ["NEEDS", "export_lti", "score_timestamp"]

NEEDS = "lti_user_id"
_FAILED_COMMENT = (
    "The grader could not run some checks on your submission because of a problem in the "
    "grader, not in your work: it has no score yet and will be graded again."
)


def _missing(entry: RosterEntry) -> str | None:
    return None if entry.lti_user_id else NEEDS


def score_timestamp(generated_at: str, now: datetime | None = None) -> str:
    """ISO 8601 in UTC with milliseconds: when the run finished, else ``now``."""
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(generated_at) if generated_at else None
    except ValueError:
        moment = None
    if moment is None:
        moment = now or datetime.now(UTC)
    if moment.tzinfo is None:  # the grader writes UTC; a bare time is taken as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def export_lti(
    run: RunResult,
    roster: Roster,
    now: datetime | None = None,
    *,
    include_failed: bool = False,
) -> Export:
    """One AGS score object per line for every student with an ``lti_user_id`` and a
    score; students held back are listed (sent as ``Failed`` only with ``include_failed``)."""
    timestamp = score_timestamp(run.generated_at, now)
    match = match_roster(run, roster, _missing)
    lines: list[str] = []
    written: list[str] = []
    held_back: list[str] = []
    for student, entry in match.matched:
        grade = grade_of(run, student)
        score: dict[str, Any] = {"userId": entry.lti_user_id}
        if grade.points is not None:
            score["scoreGiven"] = json_number(grade.points)
            score["scoreMaximum"] = json_number(grade.max_score)
            score["comment"] = feedback_text(student, grade)
            progress = "FullyGraded"
        else:
            held_back.append(student.student)
            if not include_failed:
                continue
            score["comment"] = _FAILED_COMMENT
            progress = "Failed"
        score["timestamp"] = timestamp
        score["activityProgress"] = "Completed"
        score["gradingProgress"] = progress
        lines.append(json.dumps(score, ensure_ascii=False))
        written.append(student.student)
    return Export(
        lms="LTI",
        text="".join(line + "\n" for line in lines),
        written=tuple(written),
        match=match,
        needs=NEEDS,
        held_back=tuple(held_back),
        held_back_written=include_failed,
    )
