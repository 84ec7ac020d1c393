"""Canvas gradebook import CSV (Grades > Import in a Canvas course).

The file Canvas's importer reads::

    Student,ID,SIS User ID,SIS Login ID,Section,Regularization (12345)
    Points Possible,,,,,30
    Bob Jones,4711,S1001,bjones,Group A,30

Canvas matches a row by its Canvas user ID, then by the SIS ids (by name only when
all are blank, which this exporter never writes), and the last column by the
assignment id in parentheses, so the scores land in that existing assignment.
Scores are plain numbers on the assignment's scale (its ``max_score``), never scaled;
a student with a check the grader could not run is left out and listed as needing a
regrade (see ``grader.lms.gradebook``). Students who cannot be identified are left out, never
written with a guessed identity. The columns are in
``grader/schemas/canvas-gradebook.schema.json``.
"""

from __future__ import annotations

import csv
import io

from grader.errors import UsageError
from grader.lms.gradebook import Export, format_number, grade_of
from grader.lms.roster import Roster, RosterEntry, match_roster
from grader.results import RunResult

__all__ = ["IDENTITY_HEADER", "NEEDS", "POINTS_POSSIBLE", "assignment_column", "export_canvas"]

IDENTITY_HEADER = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "Points Possible"
NEEDS = "canvas_id, sis_user_id or sis_login_id"


def _missing(entry: RosterEntry) -> str | None:
    return None if entry.canvas_id or entry.sis_user_id or entry.sis_login_id else NEEDS


def assignment_column(title: str, assignment_id: str) -> str:
    """``Title (12345)``: the header Canvas reads the assignment id from."""
    assignment_id = str(assignment_id).strip()
    if not assignment_id.isdigit():
        raise UsageError(
            f"--assignment-id {assignment_id!r} is not a Canvas assignment id: use the number "
            "in the assignment's URL (.../assignments/12345)."
        )
    return f"{' '.join(title.split())} ({assignment_id})"


def export_canvas(run: RunResult, roster: Roster, assignment_id: str) -> Export:
    """The Canvas import CSV for ``run``, one row per student the roster identifies."""
    column = assignment_column(run.title or run.assignment, assignment_id)
    match = match_roster(run, roster, _missing)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*IDENTITY_HEADER, column])
    writer.writerow([POINTS_POSSIBLE, "", "", "", "", format_number(run.max_score)])
    written, held_back = [], []
    for student, entry in match.matched:
        grade = grade_of(run, student)
        if grade.points is None:
            held_back.append(student.student)
            continue
        writer.writerow(
            [
                entry.display_name,
                entry.canvas_id,
                entry.sis_user_id,
                entry.sis_login_id,
                entry.section,
                format_number(grade.points),
            ]
        )
        written.append(student.student)
    return Export(
        lms="Canvas",
        text=buffer.getvalue(),
        written=tuple(written),
        match=match,
        needs=NEEDS,
        held_back=tuple(held_back),
    )
