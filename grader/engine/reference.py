"""The reference solution as the ``reference`` fixture sees it: live or recorded.

``ReferenceModule`` runs the reference solution in the grading process, memoizing its
answers. A release's checks folder holds no reference: its answers were recorded
(``grader.engine.recording``) into ``checks/answers.json``, and ``RecordedReference``
answers the same calls from it on a student's machine. ``reference_proxy`` picks one.

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

import copy
import hashlib
import importlib.metadata
import importlib.util
import json
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import pytest

from grader.checks.rebuild import config_names, live_object
from grader.engine.proxy import ModuleProxy, call_key_text
from grader.errors import AssignmentError
from grader.sandbox import wire
from grader.sandbox.client import CallResult
from grader.sandbox.convert import Converter

if TYPE_CHECKING:
    from grader.assignment import Assignment

__all__ = [
    "ATOL",
    "FORMAT",
    "NOT_RECORDED",
    "PACKAGES",
    "RTOL",
    "CallKey",
    "RecordedReference",
    "ReferenceModule",
    "call_in_process",
    "call_key",
    "decode_entry",
    "encode_entry",
    "installed_version",
    "recorded_reference",
    "reference_for",
    "reference_proxy",
]

FORMAT = 1
RTOL = 1e-5
ATOL = 1e-7
# Part of the message of a check that needs an answer nobody recorded.
NOT_RECORDED = "this check can only run when your work is graded"
PACKAGES = ("keras", "tensorflow-cpu", "numpy")


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
    function: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    gradients: bool,
    *,
    exact: bool = False,
) -> CallKey:
    """The call's key; with ``exact``, unset Keras options are kept, so that only layer
    names (by order of appearance) and float values (``numbers``) are left out of it."""
    canonical = _Canonical(exact=exact)
    structure = [function, gradients, canonical.value(list(args)), canonical.value(kwargs)]
    text = json.dumps(structure, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return CallKey(function, digest, canonical.numbers())


class _Canonical:
    """A wire value as JSON data without its floats, which are collected apart."""

    def __init__(self, *, exact: bool = False) -> None:
        self._numbers: list[np.ndarray] = []
        self._exact = exact

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
                    # Unset options: version noise.
                    if not (config and value[key] is None and not self._exact)
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


def installed_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


# ---------------------------------------------------------------- answering


def encode_entry(key: CallKey, gradients: bool, result: CallResult) -> dict[str, Any]:
    """A recorded answer as JSON data (one entry of ``answers.json``)."""
    return {
        "function": key.function,
        "gradients": gradients,
        "key": key.key,
        "numbers": wire.encode(key.numbers),
        "answer": wire.encode(result.value),
        "answer_gradients": None
        if result.gradients is None
        else [wire.encode(g) for g in result.gradients],
    }


def decode_entry(entry: Any) -> tuple[CallKey, CallResult]:
    """An entry written by ``encode_entry``; KeyError, TypeError or ValueError if it is
    not one."""
    numbers = wire.decode(entry["numbers"])
    if not isinstance(numbers, np.ndarray):
        raise ValueError("an entry's numbers are not an array")
    key = CallKey(str(entry["function"]), str(entry["key"]), numbers.astype(np.float64))
    grads = entry["answer_gradients"]
    if grads is not None and not isinstance(grads, list):
        raise ValueError("an entry's gradients are not a list")
    result = CallResult(
        wire.decode(entry["answer"]),
        None if grads is None else [wire.decode(g) for g in grads],
    )
    return key, result


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
                key, result = decode_entry(entry)
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
        installed = installed_version("keras")
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


# ---------------------------------------------------------------- the live reference


class ReferenceModule:
    """The reference solution, run in the trusted process; its answers are memoized
    by their arguments, so the reference's side is computed once per process."""

    def __init__(self, path: Path, module: str) -> None:
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
        key = call_key_text(name, args, kwargs, grads)
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
