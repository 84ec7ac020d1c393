"""The roster: who each graded student is in the learning management system.

The grader knows a student only by the name of their submission (``bob`` for
``bob.py`` or ``bob/``); an LMS knows them by its own ids. A roster is a CSV file
mapping one to the other, one row per student::

    student,name,canvas_id,sis_user_id,sis_login_id,section,email,id_number,lti_user_id
    bob,Bob Jones,4711,S1001,bjones,Group A,bob@uni.example,1001,a6d5c443-1f51

Only ``student`` is required; each exporter needs one identity of its own (Canvas:
``canvas_id``, ``sis_user_id`` or ``sis_login_id``; Moodle: ``email`` or
``id_number``; LTI: ``lti_user_id``). Headers are matched without regard to case,
surrounding spaces, or spaces and hyphens versus underscores (``SIS User ID`` is
``sis_user_id``). A byte-order mark (as Excel writes) and spaces around values are
ignored. Unknown columns, duplicate students and duplicate identities are refused:
nothing is guessed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import RosterError
from grader.results import RunResult, StudentResult

__all__ = [
    "IDENTITY_COLUMNS",
    "ROSTER_COLUMNS",
    "Match",
    "Roster",
    "RosterEntry",
    "RosterError",
    "match_roster",
    "parse_roster",
    "read_roster",
    "sorted_students",
]

# The columns a roster may have, in the order they are documented.
ROSTER_COLUMNS: tuple[str, ...] = (
    "student",  # the grader's name for the student: the submission's file or folder name
    "name",  # display name (Canvas's "Student" column); defaults to `student`
    "canvas_id",  # Canvas user id (a number)
    "sis_user_id",
    "sis_login_id",
    "section",
    "email",  # Moodle, matched case-sensitively by Moodle
    "id_number",  # Moodle's "ID number"
    "lti_user_id",  # the platform's LTI user id (the `sub` of the launch)
)
# Each of these identifies one person: two rows may not share a value.
IDENTITY_COLUMNS: tuple[str, ...] = (
    "canvas_id",
    "sis_user_id",
    "sis_login_id",
    "email",
    "id_number",
    "lti_user_id",
)
_MAX_BYTES = 10_000_000


@dataclass(frozen=True)
class RosterEntry:
    """One row of the roster; absent values are empty strings."""

    student: str
    line: int  # the row's line number in the file, for messages
    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""
    id_number: str = ""
    lti_user_id: str = ""

    @property
    def display_name(self) -> str:
        return self.name or self.student


@dataclass(frozen=True)
class Roster:
    entries: tuple[RosterEntry, ...]
    source: str = "roster"
    columns: tuple[str, ...] = ()
    _by_student: dict[str, RosterEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_student", {e.student: e for e in self.entries})

    def get(self, student: str) -> RosterEntry | None:
        return self._by_student.get(student)


def _column_key(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().casefold())


def read_roster(path: Path) -> Roster:
    """Read and check the roster CSV at ``path`` (UTF-8, with or without a BOM)."""
    path = Path(path)
    if not path.exists():
        raise RosterError(f"The roster {path} does not exist.")
    if not path.is_file():
        raise RosterError(f"The roster {path} is not a file.")
    data = path.read_bytes()
    if len(data) > _MAX_BYTES:
        raise RosterError(f"The roster {path} is over {_MAX_BYTES // 1_000_000} MB: not a roster.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError(
            f"The roster {path} is not UTF-8 text (byte {exc.start}): save it as CSV UTF-8."
        ) from exc
    return parse_roster(text, str(path))


def parse_roster(text: str, source: str = "roster") -> Roster:
    """Check and parse roster CSV ``text``; ``source`` names it in messages."""
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise RosterError(f"The roster {source} is not a CSV text file (it holds NUL bytes).")
    columns: list[str] | None = None
    entries: list[RosterEntry] = []
    seen_student: dict[str, int] = {}
    seen_identity: dict[tuple[str, str], tuple[int, str]] = {}
    for line, row in _rows(text, source):
        if not any(cell.strip() for cell in row):
            continue
        if columns is None:
            columns = _columns(row, source)
            continue
        if len(row) > len(columns):
            extra = [c for c in row[len(columns) :] if c.strip()]
            if extra:
                raise RosterError(
                    f"{source}, line {line}: {len(row)} values for {len(columns)} columns "
                    f"(extra: {', '.join(repr(c) for c in extra[:3])}). Quote values "
                    "that contain commas."
                )
        values = {col: (row[i].strip() if i < len(row) else "") for i, col in enumerate(columns)}
        entry = _entry(values, line, source)
        if entry.student in seen_student:
            raise RosterError(
                f"{source}: student {entry.student!r} is on line {seen_student[entry.student]} "
                f"and line {line}: each student may appear once."
            )
        seen_student[entry.student] = line
        for column in IDENTITY_COLUMNS:
            value = getattr(entry, column)
            if not value:
                continue
            # Emails differing only in case are one mailbox: refuse them too.
            key = (column, value.casefold() if column == "email" else value)
            if key in seen_identity:
                other_line, other = seen_identity[key]
                raise RosterError(
                    f"{source}: {column} {value!r} is given to both {other!r} (line "
                    f"{other_line}) and {entry.student!r} (line {line}): an identity "
                    "belongs to one student."
                )
            seen_identity[key] = (line, entry.student)
        entries.append(entry)
    if columns is None:
        raise RosterError(
            f"The roster {source} is empty: it needs a header row naming its columns "
            f"(student, then any of {', '.join(ROSTER_COLUMNS[1:])})."
        )
    if not entries:
        raise RosterError(f"The roster {source} has a header but no students.")
    return Roster(tuple(entries), source, tuple(columns))


def _rows(text: str, source: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV row with its line number (a row's last line: quoted newlines span lines)."""
    # strict: an unclosed quote is an error, not a row that swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise RosterError(f"{source}, line {reader.line_num}: not valid CSV: {exc}.") from exc


def _columns(header: list[str], source: str) -> list[str]:
    columns = [_column_key(cell) for cell in header]
    while columns and not columns[-1]:  # a trailing comma makes an empty last header
        columns.pop()
    unknown = [
        header[i].strip() or f"(column {i + 1} has no name)"
        for i, c in enumerate(columns)
        if c not in ROSTER_COLUMNS
    ]
    if unknown:
        raise RosterError(
            f"The roster {source} has unknown column{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in unknown)}. Known columns: {', '.join(ROSTER_COLUMNS)} "
            "(see the README's roster section)."
        )
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise RosterError(
            f"The roster {source} has the column{'s' if len(duplicates) > 1 else ''} "
            f"{', '.join(duplicates)} more than once."
        )
    if "student" not in columns:
        raise RosterError(
            f"The roster {source} has no 'student' column: it must name each student as the "
            "grader does (the submission's file or folder name, as in results.json)."
        )
    return columns


def _entry(values: dict[str, str], line: int, source: str) -> RosterEntry:
    if not values.get("student"):
        raise RosterError(f"{source}, line {line}: the 'student' value is empty.")
    canvas_id = values.get("canvas_id", "")
    if canvas_id and not canvas_id.isdigit():
        raise RosterError(
            f"{source}, line {line}: canvas_id {canvas_id!r} is not a Canvas user id (a number)."
        )
    email = values.get("email", "")
    if email and (email.count("@") != 1 or any(c.isspace() for c in email)):
        raise RosterError(f"{source}, line {line}: email {email!r} is not an email address.")
    return RosterEntry(line=line, **values)


# ---------------------------------------------------------------- matching


@dataclass(frozen=True)
class Match:
    """How a run's students meet a roster, for one LMS."""

    matched: tuple[tuple[StudentResult, RosterEntry], ...]
    not_in_roster: tuple[str, ...]  # graded, but the roster does not name them
    missing_identity: tuple[tuple[str, str], ...]  # (student, what the LMS needs)
    no_result: tuple[RosterEntry, ...]  # on the roster, but not in the results


def match_roster(
    run: RunResult, roster: Roster, missing: Callable[[RosterEntry], str | None]
) -> Match:
    """Pair each result with its roster row by exact student name.

    ``missing(entry)`` says what identity the LMS needs that ``entry`` lacks (None if
    it has one). Results are kept in the order of ``sorted_students``.
    """
    matched = []
    not_in_roster = []
    missing_identity = []
    graded = set()
    for student in sorted_students(run.students):
        graded.add(student.student)
        entry = roster.get(student.student)
        if entry is None:
            not_in_roster.append(student.student)
            continue
        lacking = missing(entry)
        if lacking is not None:
            missing_identity.append((student.student, lacking))
            continue
        matched.append((student, entry))
    no_result = tuple(e for e in roster.entries if e.student not in graded)
    return Match(tuple(matched), tuple(not_in_roster), tuple(missing_identity), no_result)


def sorted_students(students: Iterable[StudentResult]) -> list[StudentResult]:
    """Case-blind order, as ``grades.csv`` uses."""
    return sorted(students, key=lambda s: (s.student.casefold(), s.student))
