"""``grades.csv``: one row per student, one column per graded function."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from grader.files import atomic_write_text
from grader.results import RunResult, clean_text

__all__ = ["write_grades_csv"]


def _number(value: float) -> str:
    # "2" rather than "2.0" for whole points; rounding hides float noise like 0.30000000000000004.
    if float(value).is_integer():
        return str(int(value))
    return repr(round(float(value), 6))


def write_grades_csv(run: RunResult, path: Path) -> None:
    """Write ``student, score, max_score, <function>..., status`` rows sorted by student."""
    functions = list(run.functions)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["student", "score", "max_score", *functions, "status"])
    # Case-blind, so "bob" sits next to "Bob" rather than after every capital.
    for student in sorted(run.students, key=lambda s: (s.student.casefold(), s.student)):
        by_function = student.points_by_function(functions)
        writer.writerow(
            [
                clean_text(student.student),
                _number(student.score),
                _number(student.max_score),
                *(_number(by_function[name]) for name in functions),
                student.status,
            ]
        )
    atomic_write_text(path, buffer.getvalue())
