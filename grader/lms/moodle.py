"""Moodle grade import CSV (Grades > Import > CSV file in a Moodle course).

One row per student: an identity column, a grade column and a feedback column::

    Email address,Regularization,Feedback
    bob@uni.example,30,"Score: 30 / 30.
    Every check passed."

When uploading, map the identity column ("Email address" to the user's email
address, or "ID number" to their ID number, whichever ``identity`` chose), the grade
column to the grade item, and "Feedback" to that item's feedback. Moodle matches
emails case-sensitively, so they are written exactly as the roster gives them.
Grades are on the assignment's scale (``max_score``: give the grade item that
maximum), never scaled: a student with a check the grader could not run is left out
and listed as needing a regrade. The feedback names the visible checks that failed,
never a hidden one. The columns are in ``grader/schemas/moodle-grades.schema.json``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from grader.errors import UsageError
from grader.lms.gradebook import Export, feedback_text, format_number, grade_of
from grader.lms.roster import Roster, RosterEntry, match_roster
from grader.results import RunResult

__all__ = ["FEEDBACK_HEADER", "IDENTITIES", "export_moodle"]

FEEDBACK_HEADER = "Feedback"
# --identity choice -> (the CSV header, the roster column)
IDENTITIES: dict[str, tuple[str, str]] = {
    "email": ("Email address", "email"),
    "idnumber": ("ID number", "id_number"),
}


def _needs(column: str) -> Callable[[RosterEntry], str | None]:
    def missing(entry: RosterEntry) -> str | None:
        return None if getattr(entry, column) else column

    return missing


def export_moodle(run: RunResult, roster: Roster, identity: str = "email") -> Export:
    """The Moodle import CSV for ``run``, identifying students by ``identity``."""
    if identity not in IDENTITIES:
        raise UsageError(
            f"Unknown Moodle identity {identity!r}: use one of {', '.join(IDENTITIES)}."
        )
    header, column = IDENTITIES[identity]
    match = match_roster(run, roster, _needs(column))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header, " ".join((run.title or run.assignment).split()), FEEDBACK_HEADER])
    written, held_back = [], []
    for student, entry in match.matched:
        grade = grade_of(run, student)
        if grade.points is None:
            held_back.append(student.student)
            continue
        points = format_number(grade.points)
        writer.writerow([getattr(entry, column), points, feedback_text(student, grade)])
        written.append(student.student)
    return Export(
        lms="Moodle",
        text=buffer.getvalue(),
        written=tuple(written),
        match=match,
        needs=column,
        held_back=tuple(held_back),
    )
