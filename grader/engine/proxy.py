"""What checks see of a module: the student's (in the worker) or the reference's.

Both answer in wire values, so a check compares like with like::

    got = submission.l2_dense(32, l2=0.05)        # runs in the student's worker
    want = reference.l2_dense(32, l2=0.05)        # runs here, memoized across students
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Callable
from typing import Any

from grader.errors import StudentError
from grader.sandbox import wire
from grader.sandbox.client import CallResult, Worker

__all__ = ["ModuleProxy", "call_key_text", "submission_proxy"]

Caller = Callable[[str, tuple[Any, ...], dict[str, Any], bool], CallResult]


class ModuleProxy:
    """Calls functions of a module by name; attribute access is a shortcut for ``call``."""

    def __init__(self, caller: Caller, label: str) -> None:
        self._caller = caller
        self._label = label

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return functools.partial(self.call, name)

    def __repr__(self) -> str:
        return f"<{self._label}>"

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        return self._caller(function, args, kwargs, False).value

    def call_with_gradients(self, function: str, *args: Any, **kwargs: Any) -> CallResult:
        """The value and its gradients with respect to the first argument's trainable weights."""
        return self._caller(function, args, kwargs, True)


def call_key_text(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], grads: bool) -> str:
    encoded = wire.dumps(wire.encode([name, list(args), dict(kwargs), grads]))
    return hashlib.sha256(encoded).hexdigest()


def submission_proxy(worker: Worker) -> ModuleProxy:
    """The student's module. Calls are memoized, failures included: student functions
    are called with seeds reset, so the same call gives the same answer, and a check that
    repeats a slow or hanging call does not pay for it twice."""
    answers: dict[str, CallResult | StudentError] = {}

    def caller(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], grads: bool) -> CallResult:
        key = call_key_text(name, args, kwargs, grads)
        if key not in answers:
            try:
                answers[key] = worker.call(name, *args, gradients=grads, **kwargs)
            except StudentError as exc:
                answers[key] = exc
        answer = answers[key]
        if isinstance(answer, StudentError):
            raise answer.with_traceback(None)  # not the frames of every earlier raise
        return copy.deepcopy(answer)

    return ModuleProxy(caller, f"submission {worker.module}")
