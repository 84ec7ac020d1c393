"""The grader package's own files: feedback page templates, schemas, LMS scripts.

What a course grades (assignments, references, the course secret) is not here: it is
found through ``grader.course``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PACKAGE", "package_templates", "schemas_dir", "scripts_dir"]

PACKAGE = Path(__file__).resolve().parent


def package_templates() -> Path:
    """The grader's feedback page templates: inside the installed package (a wheel
    carries them), else the source tree's top-level ``templates/`` (their single
    source, used as is by an editable install)."""
    installed = PACKAGE / "templates"
    if (installed / "feedback.html").is_file():
        return installed
    return PACKAGE.parent / "templates"


def schemas_dir() -> Path:
    return PACKAGE / "schemas"


def scripts_dir() -> Path:
    return PACKAGE / "lms" / "scripts"
