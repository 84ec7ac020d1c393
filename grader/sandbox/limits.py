"""What one submission's student code may use: time per call and in all, memory, output.

Read from an assignment's ``[limits]`` table (``Limits.from_table``), overridden from the
command line (``overridden``), and fitted within an LMS's time limit (``within``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from grader.errors import AssignmentError

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    """Time and output limits for one submission's worker (seconds, bytes)."""

    call_timeout: float = 60.0
    import_timeout: float = 120.0
    submission_timeout: float = 900.0
    output_bytes: int = 20_000
    memory_mb: int = 4096

    @classmethod
    def from_table(cls, table: Any, where: str) -> Limits:
        """Limits from a ``[limits]`` toml table (unset keys keep their defaults);
        ``AssignmentError`` naming ``where`` when a value is not a positive number."""
        if not isinstance(table, dict):
            raise AssignmentError(f"{where}: [limits] must be a table.")
        unknown = sorted(set(table) - {f.name for f in fields(cls)})
        if unknown:
            raise AssignmentError(f"{where}: [limits] has unknown keys: {', '.join(unknown)}.")
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in table:
                continue
            value = table[f.name]
            kind = int if f.type in ("int", int) else float
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise AssignmentError(f"{where}: [limits] values must be numbers ({f.name}).")
            if not math.isfinite(value) or value <= 0:
                raise AssignmentError(f"{where}: [limits] {f.name} must be a positive number.")
            values[f.name] = kind(value)
        return cls(**values)

    def overridden(self, **values: float | int | None) -> Limits:
        """These limits with the values given (a None value keeps this one's)."""
        given: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
        return replace(self, **given)

    def within(self, seconds: float) -> Limits:
        """These limits, shortened so that all of the student's code ends within
        ``seconds`` (an LMS's time limit, less what the grader needs)."""
        seconds = max(1.0, seconds)
        return replace(
            self,
            call_timeout=min(self.call_timeout, seconds),
            import_timeout=min(self.import_timeout, seconds),
            submission_timeout=min(self.submission_timeout, seconds),
        )
