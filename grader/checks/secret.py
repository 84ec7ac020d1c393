"""Hidden checks' inputs, drawn from a course secret that students never see.

A visible check's inputs are fixed and its message may print the reference's answer, so a
student could read the numbers and hard-code them. A hidden check instead draws its
inputs from ``secret_rng(purpose)``: a generator seeded from the course secret and the
purpose, the same on every run and machine that has the secret, unknowable without it.

The secret is ``GRADER_COURSE_SECRET`` if set, else the first line of the course's secret
file (``secret`` in ``course.toml``, by default ``course-secret`` beside it; see
``grader.course``), which the grading plugin names before each check (``use_secret``).
It is never put in a release, a message or a result. A hidden check that draws from it
must never print an expected value either (``grader validate`` checks that each graded
function has such a check; the grading plugin records which checks drew secret inputs).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import numpy as np

from grader.errors import AssignmentError

__all__ = [
    "SECRET_ENV",
    "SECRET_FILE",
    "course_secret",
    "drew_secret",
    "secret_rng",
    "start_check",
    "use_secret",
]

SECRET_ENV = "GRADER_COURSE_SECRET"
SECRET_FILE = "course-secret"  # its default name, beside course.toml
_MIN_LENGTH = 16

# Whether the check now running has drawn secret inputs (reset by the grading plugin).
_drawn = False


# The secret file of the course whose checks run now (set by the grading plugin).
_source: Path | None = None


def use_secret(path: Path | None) -> None:
    """Draw hidden inputs from the secret file ``path`` (None: the assignment belongs to
    no course, as in a release's checks folder)."""
    global _source
    _source = path


def course_secret(path: Path | None = None) -> bytes:
    """The course's secret, as bytes: ``GRADER_COURSE_SECRET``, else the first line of
    ``path`` (default: the file ``use_secret`` named). ``AssignmentError`` if there is
    none usable."""
    value = os.environ.get(SECRET_ENV)
    where = f"the {SECRET_ENV} environment variable"
    if value is None:
        path = path or _source
        if path is None:
            raise AssignmentError(
                "The course secret cannot be found: these checks belong to no course "
                f"(hidden checks are graded only in the course folder), and {SECRET_ENV} "
                "is not set."
            )
        where = str(path)
        try:
            value = path.read_text(encoding="utf-8").strip().splitlines()[0]
        except (OSError, UnicodeDecodeError, IndexError):
            raise AssignmentError(
                f"The course secret is missing: hidden checks draw their inputs from it. "
                f"Put a long random line in {path} (for example the output of "
                f"`python -c 'import secrets; print(secrets.token_hex(32))'`), keep it "
                f"out of what students receive, or set {SECRET_ENV}."
            ) from None
    value = value.strip()
    if len(value) < _MIN_LENGTH:
        raise AssignmentError(
            f"The course secret in {where} is too short to keep hidden inputs secret: use "
            f"at least {_MIN_LENGTH} random characters."
        )
    return value.encode("utf-8")


def secret_rng(purpose: str) -> np.random.Generator:
    """A generator for one hidden check's inputs: the same for the same course secret and
    ``purpose`` (name it after the check), different for every other purpose."""
    global _drawn
    _drawn = True
    digest = hmac.new(course_secret(), purpose.encode("utf-8"), hashlib.sha256).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


def start_check() -> None:
    """Called by the grading plugin before each check."""
    global _drawn
    _drawn = False


def drew_secret() -> bool:
    """Whether the check running since ``start_check`` drew inputs from the secret."""
    return _drawn
