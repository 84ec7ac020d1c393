"""The reference's answers, recorded so that students can run the visible checks
without the reference solution.

``record_answers`` grades the reference solution itself, through the normal worker, on
the assignment's visible checks, and records every call those checks make to the
``reference`` fixture. A release writes the result to ``checks/answers.json``;
``RecordedReference`` answers the same calls from it on a student's machine.

Finding the recorded answer of a call
-------------------------------------
Visible checks build the arguments they pass to the reference themselves (seeded numpy
data, ``dense_stack`` models), so a student's machine builds the same arguments, but
for two things:

* floating-point results may differ in their last bits between CPUs, BLAS and libm
  builds (``np.sin`` of seeded data, say);
* Keras names layers by how many it made before (``dense_7``), which depends on what
  ran earlier in the process.

A call is therefore looked up in two steps. Its *key* is exact: the function, whether
gradients are asked for, and the arguments with every floating-point number taken out
(containers, strings, integers, array shapes and dtypes; Keras configs with the names of
layers, models and optimizers replaced by their order of appearance, unset options
dropped). Its *numbers*, every float of the arguments in order (array elements, weights,
regularizer factors), must then be close to those of an answer recorded under that key
(``RTOL``, ``ATOL``): far looser than last-bit noise, far tighter than any change a
check means. Rounding the numbers into the key instead (float32 with the low mantissa
bits masked) would not do: two values one bit apart fall on both sides of a rounding
boundary now and then, and the arguments hold thousands of numbers.

A call without a recorded answer (a check passing the reference a value derived from
the student's answer, or a Keras version that writes configs differently) gives no
verdict: the check's status is "error", which counts neither way, and its message
says that it can only run when the work is graded.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.metadata
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import pytest

from grader import checks
from grader.checks.models import config_names
from grader.errors import AssignmentError
from grader.modules import ModuleProxy
from grader.reports._atomic import atomic_write_text
from grader.sandbox import wire
from grader.sandbox.client import CallResult

if TYPE_CHECKING:
    from grader.assignment import Assignment
    from grader.sandbox.isolation import Isolation

__all__ = [
    "ATOL",
    "FORMAT",
    "NOT_RECORDED",
    "RTOL",
    "CallKey",
    "RecordedReference",
    "call_key",
    "record_answers",
    "recorded_reference",
    "write_answers",
]

FORMAT = 1
RTOL = 1e-5
ATOL = 1e-7
# Part of the message of a check that needs an answer nobody recorded.
NOT_RECORDED = "this check can only run when your work is graded"
_PACKAGES = ("keras", "tensorflow-cpu", "numpy")


# ---------------------------------------------------------------- keys


@dataclass(frozen=True, eq=False)
class CallKey:
    """What identifies a call: an exact key and the numbers compared with a tolerance."""

    function: str
    key: str
    numbers: np.ndarray  # float64, every float of the arguments in order

    def matches(self, numbers: np.ndarray) -> bool:
        return numbers.shape == self.numbers.shape and bool(
            np.allclose(self.numbers, numbers, rtol=RTOL, atol=ATOL, equal_nan=True)
        )


def call_key(
    function: str, args: tuple[Any, ...], kwargs: dict[str, Any], gradients: bool
) -> CallKey:
    canonical = _Canonical()
    structure = [function, gradients, canonical.value(list(args)), canonical.value(kwargs)]
    text = json.dumps(structure, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return CallKey(function, digest, canonical.numbers())


class _Canonical:
    """A wire value as JSON data without its floats, which are collected apart."""

    def __init__(self) -> None:
        self._numbers: list[np.ndarray] = []

    def numbers(self) -> np.ndarray:
        if not self._numbers:
            return np.zeros(0)
        return np.concatenate(self._numbers)

    def value(
        self,
        value: Any,
        names: dict[str, str] | None = None,
        config: bool = False,
        rename: bool = False,
    ) -> Any:
        if isinstance(value, str):
            # Only where a config names a layer: an activation "tanh" stays "tanh" even
            # when a layer is named "tanh".
            return names.get(value, value) if names and rename else value
        if value is None or isinstance(value, (bool, int)):
            return value
        if isinstance(value, float):
            self._numbers.append(np.array([value], dtype=np.float64))
            return "<float>"
        if isinstance(value, np.generic):
            return self.value(value.item(), names, config, rename)
        if isinstance(value, np.ndarray):
            return self._array(value)
        if isinstance(value, wire.TensorValue):
            return {"tensor": self._array(value.array)}
        if isinstance(value, wire.KerasObject):
            layer_names = config_names(value.config)
            return {
                "keras": value.kind,
                "config": self.value(value.config, layer_names, config=True),
                "weights": [self._array(w) for w in value.weights],
            }
        if isinstance(value, (list, tuple)):
            items = [self.value(v, names, config, rename) for v in value]
            return items if isinstance(value, list) else {"tuple": items}
        if isinstance(value, dict):
            # Sorted, so the numbers come in the same order whatever the dict's order.
            return {
                "dict": [
                    [key, self.value(value[key], names, config, rename or key in _NAMING_KEYS)]
                    for key in sorted(value)
                    if not (config and value[key] is None)  # unset options: version noise
                ]
            }
        raise TypeError(f"a value of type {type(value).__name__} is not a wire value")

    def _array(self, array: np.ndarray) -> dict[str, Any]:
        if array.dtype.kind == "f":
            self._numbers.append(np.asarray(array, dtype=np.float64).ravel())
            return {"array": array.dtype.name, "shape": list(array.shape)}
        return {"array": array.dtype.name, "shape": list(array.shape), "values": array.tolist()}


# Config keys whose text names layers (a layer's own name, a functional graph's links).
_NAMING_KEYS = frozenset(["name", "inbound_nodes", "input_layers", "output_layers"])


# ---------------------------------------------------------------- recording


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
            self.entries.append(
                {
                    "function": name,
                    "gradients": gradients,
                    "key": key.key,
                    "numbers": wire.encode(key.numbers),
                    "answer": wire.encode(result.value),
                    "answer_gradients": None
                    if result.gradients is None
                    else [wire.encode(g) for g in result.gradients],
                }
            )
        return result


@contextlib.contextmanager
def _fresh_memo() -> Iterator[None]:
    # Checks memoize the reference's side of their experiments per process: a result
    # memoized earlier would hide the reference calls behind it from the recording.
    saved = dict(checks._MEMO)
    checks._MEMO.clear()
    try:
        yield
    finally:
        checks._MEMO.clear()
        checks._MEMO.update(saved)


def record_answers(
    assignment: Assignment, isolation: Isolation | None = None, *, hidden: bool = False
) -> dict[str, Any]:
    """Grade the reference solution on the assignment's visible checks (all its checks
    with ``hidden``: never for a release, only for a trusted stand-in such as the speed
    benchmark's baselines), through the worker as a student's code is graded, recording
    the reference's answers to every call the checks make. The reference must pass
    every check it is graded on."""
    from grader.grading import grade_submission
    from grader.modules import reference_for
    from grader.sandbox.convert import configure_tensorflow
    from grader.submissions import Submission

    if assignment.answers is not None:
        raise AssignmentError(
            f"{assignment.name}: answers are recorded from the live reference solution, "
            "which a release's checks folder does not hold."
        )
    configure_tensorflow()  # the reference answers as in a grading process
    visible = assignment if hidden else assignment.visible()
    live = reference_for(assignment.reference, assignment.module)
    recorder = _Recorder(live.proxy)
    if visible.checks:
        reference = assignment.reference
        submission = Submission("reference", reference, reference.name)
        with _fresh_memo():
            result = grade_submission(
                visible, submission, isolation=isolation, reference=recorder.proxy
            )
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
        "recorded_with": {name: _version(name) for name in _PACKAGES},
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


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


# ---------------------------------------------------------------- answering


@dataclass
class _Answer:
    key: CallKey
    result: CallResult


class RecordedReference:
    """The reference solution as its recorded answers: the same interface as
    ``ReferenceModule.proxy``, for a machine without the reference."""

    def __init__(self, data: Any, source: str) -> None:
        self.source = source
        self._answers: dict[tuple[str, str], list[_Answer]] = {}
        try:
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                found = data.get("format") if isinstance(data, dict) else None
                raise ValueError(f"format {found!r}, where this grader reads {FORMAT}")
            self.assignment = str(data["assignment"])
            recorded_with = data.get("recorded_with") or {}
            self.keras = str(recorded_with.get("keras", ""))
            for entry in data["entries"]:
                numbers = wire.decode(entry["numbers"])
                if not isinstance(numbers, np.ndarray):
                    raise ValueError("an entry's numbers are not an array")
                key = CallKey(str(entry["function"]), str(entry["key"]), numbers.astype(np.float64))
                grads = entry["answer_gradients"]
                result = CallResult(
                    wire.decode(entry["answer"]),
                    None if grads is None else [wire.decode(g) for g in grads],
                )
                self._answers.setdefault((key.function, key.key), []).append(_Answer(key, result))
        except (KeyError, TypeError, ValueError) as exc:  # WireError is a ValueError
            raise AssignmentError(f"{source} is not a valid answers file: {exc}") from exc
        self.proxy = ModuleProxy(self._call, f"reference {self.assignment} (recorded)")

    @classmethod
    def from_file(cls, path: Path) -> RecordedReference:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AssignmentError(f"The recorded answers {path} do not exist.") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AssignmentError(f"{path} is not readable JSON: {exc}") from exc
        return cls(data, str(path))

    def _call(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], gradients: bool
    ) -> CallResult:
        key = call_key(name, args, kwargs, gradients)
        candidates = [
            a for a in self._answers.get((name, key.key), []) if a.key.matches(key.numbers)
        ]
        if not candidates:
            self._not_recorded(name)
        # Several close enough (never in practice): the closest.
        best = min(
            candidates,
            key=lambda a: float(np.max(np.abs(a.key.numbers - key.numbers), initial=0.0)),
        )
        return copy.deepcopy(best.result)

    def _not_recorded(self, name: str) -> NoReturn:
        installed = _version("keras")
        version = ""
        if self.keras and installed and installed != self.keras:
            version = (
                f" (the answers were recorded with Keras {self.keras}; this machine has "
                f"Keras {installed})"
            )
        # A skip is a BaseException, so no check's `except Exception` can swallow it;
        # the grader reports a skipped check as an error, which counts neither way.
        pytest.skip(
            f"{NOT_RECORDED}. It needs the reference solution's answer of `{name}` for "
            f"arguments that were not recorded with the assignment's checks{version}. It "
            "does not count here."
        )


_LOADED: dict[Path, tuple[int, int, RecordedReference]] = {}


def recorded_reference(path: Path) -> RecordedReference:
    """One RecordedReference per answers file and process (read again if it changed)."""
    resolved = path.resolve()
    try:
        info = resolved.stat()
    except OSError:
        raise AssignmentError(f"The recorded answers {path} do not exist.") from None
    cached = _LOADED.get(resolved)
    if cached is None or cached[:2] != (info.st_mtime_ns, info.st_size):
        cached = (info.st_mtime_ns, info.st_size, RecordedReference.from_file(resolved))
        _LOADED[resolved] = cached
    return cached[2]
