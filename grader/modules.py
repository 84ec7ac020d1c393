"""What checks see of a module: the student's (in the worker) or the reference's.

Both answer in wire values, so a check compares like with like::

    got = submission.l2_dense(32, l2=0.05)        # runs in the student's worker
    want = reference.l2_dense(32, l2=0.05)        # runs here, memoized across students
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib.util
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.checks.models import live_object
from grader.errors import AssignmentError, StudentError
from grader.sandbox import wire
from grader.sandbox.client import CallResult, Worker

if TYPE_CHECKING:
    from grader.assignment import Assignment
    from grader.sandbox.convert import Converter

__all__ = [
    "ModuleProxy",
    "ReferenceModule",
    "call_in_process",
    "reference_for",
    "reference_proxy",
]

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


def _call_key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], grads: bool) -> str:
    encoded = wire.dumps(wire.encode([name, list(args), dict(kwargs), grads]))
    return hashlib.sha256(encoded).hexdigest()


def submission_proxy(worker: Worker) -> ModuleProxy:
    """The student's module. Calls are memoized, failures included: student functions
    are called with seeds reset, so the same call gives the same answer, and a check that
    repeats a slow or hanging call does not pay for it twice."""
    answers: dict[str, CallResult | StudentError] = {}

    def caller(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], grads: bool) -> CallResult:
        key = _call_key(name, args, kwargs, grads)
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


class ReferenceModule:
    """The reference solution, run in the trusted process; its answers are memoized
    by their arguments, so the reference's side is computed once per process."""

    def __init__(self, path: Path, module: str) -> None:
        from grader.sandbox.convert import Converter

        if not path.is_file():
            raise AssignmentError(f"The reference solution {path} does not exist.")
        self.path = path
        self.module = _load_module(path, f"_grader_reference_{module}")
        # Wire models the reference is given may come from a student: the grader builds
        # them from its own allowlist, never Keras' deserialization.
        self._convert = Converter(keras_builder=live_object)
        self._cache: dict[str, CallResult] = {}
        self.proxy = ModuleProxy(self._call, f"reference {module}")

    def _call(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], grads: bool
    ) -> CallResult:
        key = _call_key(name, args, kwargs, grads)
        if key not in self._cache:
            function = getattr(self.module, name)
            self._cache[key] = call_in_process(self._convert, function, args, kwargs, grads)
        return copy.deepcopy(self._cache[key])


def call_in_process(
    convert: Converter,
    function: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    grads: bool,
) -> CallResult:
    """Call ``function`` in this process as a worker would: live arguments rebuilt from
    wire values, seeds reset, and the answer sent through the wire format and back,
    exactly as a student's answer travels."""
    live_args = convert.from_plain(list(args))
    live_kwargs = convert.from_plain(dict(kwargs))
    convert.keras.utils.set_random_seed(0)
    value, gradients = convert.call(function, live_args, live_kwargs, grads)
    plain = wire.decode(wire.loads(wire.dumps(wire.encode(convert.to_plain(value)))))
    plain_grads = None if gradients is None else [wire.decode(wire.encode(g)) for g in gradients]
    return CallResult(plain, plain_grads)


_REFERENCES: dict[Path, ReferenceModule] = {}


def reference_for(path: Path, module: str) -> ReferenceModule:
    """One ReferenceModule per reference file and process."""
    resolved = path.resolve()
    if resolved not in _REFERENCES:
        _REFERENCES[resolved] = ReferenceModule(resolved, module)
    return _REFERENCES[resolved]


def reference_proxy(assignment: Assignment) -> ModuleProxy:
    """What the ``reference`` fixture answers with: the live reference solution, or, in a
    release's checks folder (no reference there), its recorded answers."""
    if assignment.answers is not None:
        from grader.answers import recorded_reference

        return recorded_reference(assignment.answers).proxy
    return reference_for(assignment.reference, assignment.module).proxy


def _load_module(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AssignmentError(f"Cannot load {path}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
