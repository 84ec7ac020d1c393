"""Recording the reference's answers for a release (see ``grader.engine.reference``).

``record_answers`` grades the reference solution itself, through the normal worker, on
the assignment's visible checks, and records every call those checks make to the
``reference`` fixture. A release writes the result to ``checks/answers.json``, which
``RecordedReference`` answers from on a student's machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.checks.calls import fresh_memo
from grader.engine.proxy import ModuleProxy
from grader.engine.reference import (
    ATOL,
    FORMAT,
    PACKAGES,
    RTOL,
    call_key,
    encode_entry,
    installed_version,
    reference_for,
)
from grader.engine.session import GradingSession
from grader.errors import AssignmentError
from grader.files import atomic_write_text
from grader.sandbox.client import CallResult
from grader.sandbox.convert import configure_tensorflow
from grader.sandbox.isolation import Isolation
from grader.submissions import Submission

if TYPE_CHECKING:
    from grader.assignment import Assignment

__all__ = ["record_answers", "write_answers"]


class _Recorder:
    """Passes each call on to the live reference and keeps its answer."""

    def __init__(self, live: ModuleProxy) -> None:
        self._live = live
        self._seen: set[tuple[str, bytes]] = set()
        self.entries: list[dict[str, Any]] = []
        self.proxy = ModuleProxy(self._call, "reference (recording its answers)")

    def _call(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], gradients: bool
    ) -> CallResult:
        key = call_key(name, args, kwargs, gradients)
        if gradients:
            result = self._live.call_with_gradients(name, *args, **kwargs)
        else:
            result = CallResult(self._live.call(name, *args, **kwargs))
        seen = (key.key, key.numbers.tobytes())
        if seen not in self._seen:
            self._seen.add(seen)
            self.entries.append(encode_entry(key, gradients, result))
        return result


def record_answers(
    assignment: Assignment, isolation: Isolation | None = None, *, hidden: bool = False
) -> dict[str, Any]:
    """Grade the reference solution on the assignment's visible checks (all its checks
    with ``hidden``: never for a release, only for a trusted stand-in such as the speed
    benchmark's baselines), through the worker as a student's code is graded, recording
    the reference's answers to every call the checks make. The reference must pass
    every check it is graded on."""
    if assignment.answers is not None:
        raise AssignmentError(
            f"{assignment.name}: answers are recorded from the live reference solution, "
            "which a release's checks folder does not hold."
        )
    visible = assignment if hidden else assignment.visible()
    configure_tensorflow()  # the reference answers as in a grading process
    live = reference_for(assignment.reference, assignment.module)
    recorder = _Recorder(live.proxy)
    if visible.checks:
        reference = assignment.reference
        submission = Submission("reference", reference, reference.name)
        # Checks memoize the reference's side of their experiments per process: a result
        # memoized earlier would hide the reference calls behind it from the recording.
        with fresh_memo():
            session = GradingSession(
                visible, isolation=isolation or Isolation(), reference=recorder.proxy
            )
            result = session.grade(submission)
        wrong = [c for c in result.checks if c.status != "passed"]
        if wrong:
            listed = "; ".join(
                f"{c.name}: {c.status}: {(c.message.splitlines() or [''])[0][:200]}" for c in wrong
            )
            raise AssignmentError(
                f"The reference solution of {assignment.name} does not pass its own "
                f"checks, so its answers cannot be recorded ({listed})."
            )
    return {
        "format": FORMAT,
        "assignment": assignment.name,
        "module": assignment.module,
        "recorded_with": {name: installed_version(name) for name in PACKAGES},
        "tolerance": {"rtol": RTOL, "atol": ATOL},
        "entries": recorder.entries,
    }


def write_answers(data: dict[str, Any], path: Path) -> None:
    """Write recorded answers as ``answers.json``: one entry per line, to diff well."""
    head = {k: v for k, v in data.items() if k != "entries"}
    lines = [json.dumps(entry, separators=(",", ":")) for entry in data["entries"]]
    text = json.dumps(head, indent=1)[:-2] + ',\n "entries": [\n'
    text += ",\n".join(lines) + "\n ]\n}\n"
    atomic_write_text(path, text)
