"""``results.json`` for the whole run and one JSON file per student."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from grader.files import atomic_write_text
from grader.results import RunResult, StudentResult

__all__ = ["write_results_json", "write_student_json"]


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _dumps(data: dict[str, Any]) -> str:
    # ensure_ascii=False keeps names and messages readable; the file is UTF-8. A lone
    # surrogate (a student folder whose name is not UTF-8; messages are cleaned before)
    # cannot be UTF-8, so it is written as its JSON escape and reads back the same.
    text = json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_results_json(run: RunResult, path: Path) -> None:
    """Write ``run.to_dict()`` to ``path`` (see ``grader/schemas/results.schema.json``)."""
    atomic_write_text(path, _dumps(run.to_dict()))


def write_student_json(student: StudentResult, path: Path, *, if_changed: bool = False) -> None:
    """Write one student's ``to_dict()`` to ``path``; with ``if_changed``, only when the
    file does not already hold exactly that."""
    text = _dumps(student.to_dict())
    if if_changed:
        try:
            if path.read_bytes() == text.encode("utf-8", "replace"):
                return
        except OSError:
            pass
    atomic_write_text(path, text)
