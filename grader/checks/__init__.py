"""The check library: helpers that assignment check files build on.

A check is a pytest test taking the ``submission`` and ``reference`` fixtures, declared
with ``@check(function, points=...)`` and described by its docstring
(``grader.checks.declare``). It calls the graded function through a ``Call``, whose
text is what messages show (``grader.checks.calls``).

It raises ``CheckFailed`` (via ``fail`` or the ``expect_*`` helpers) with a message for
the student: what was expected, what was found, and a hint. Never put solution code in
a message. It may also record pictures for the student's page (``show_curves``,
``show_table``: ``grader.checks.figures``), which never affect its verdict.

The rest of the library: ``models`` (models a check sends, what it expects of returned
ones), ``rebuild`` (returned models rebuilt from the grader's closed list), ``layers``
(what a layer carries, side-by-side layer tables), ``data`` (seeded data sets),
``training`` (the grader's own training experiment) and ``secret`` (hidden checks'
inputs). What one assignment alone uses, and the constants calibrated for it, live in
its own folder (``grader.engine.check_modules``: private ``_*.py`` helper modules).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from grader.checks.calls import Call, memo, shown
from grader.checks.declare import check
from grader.checks.figures import (
    Panel,
    Row,
    Series,
    collect_table,
    curve_pair,
    show_curves,
    show_table,
)
from grader.errors import CheckFailed
from grader.sandbox.wire import TensorValue

__all__ = [
    "Call",
    "CheckFailed",
    "Panel",
    "Row",
    "Series",
    "as_array",
    "as_float",
    "check",
    "collect_table",
    "curve_pair",
    "expect",
    "expect_allclose",
    "expect_close",
    "fail",
    "memo",
    "message",
    "show_curves",
    "show_table",
    "shown",
]


def message(expected: str, found: str, hint: str = "") -> str:
    """The standard three-part message."""
    text = f"Expected: {expected}\nFound: {found}"
    if hint:
        text += f"\nHint: {hint}"
    return text


def fail(expected: str, found: str, hint: str = "") -> CheckFailed:
    """A ``CheckFailed`` to raise: ``raise fail(...)``."""
    return CheckFailed(message(expected, found, hint))


def expect(condition: bool, expected: str, found: str, hint: str = "") -> None:
    if not condition:
        raise fail(expected, found, hint)


def _kind(value: Any) -> str:
    """How a message names a value's type, without printing the value itself."""
    if isinstance(value, (bool, np.bool_)):
        return "a boolean (True/False)"
    if isinstance(value, (complex, np.complexfloating)):
        return "a complex number"
    if isinstance(value, (str, bytes, np.str_, np.bytes_)):
        return "a string"
    if isinstance(value, (list, tuple)):
        items = "item" if len(value) == 1 else "items"
        return f"a {type(value).__name__} of {len(value)} {items}"
    if isinstance(value, dict):
        return "a dict"
    if value is None:
        return "None"
    return f"a value of type {type(value).__name__}"


def as_float(value: Any, what: str) -> float:
    """A returned number as a Python float; a 0-d tensor or array counts as a number.

    Anything else (a boolean, a complex number, a string, a list, an integer too large
    for a float, an array of an odd dtype) is a ``CheckFailed``, never another error."""
    if isinstance(value, TensorValue):
        value = value.array
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise fail(
                f"{what} to be a single number",
                f"an array of shape {tuple(value.shape)}",
                "reduce it to one number, e.g. with a mean or a sum",
            )
        if value.dtype.kind not in "iuf":
            raise fail(f"{what} to be a number", f"an array of dtype {value.dtype.name}")
        # float(), not item(): a long double's item() is not a Python float.
        value = float(value.reshape(())) if value.dtype.kind == "f" else int(value.reshape(()))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(f"{what} to be a number", _kind(value))
    try:
        result = float(value)
    except (OverflowError, ValueError, TypeError):
        raise fail(f"{what} to be a finite number", "an integer too large for a float") from None
    if not math.isfinite(result):
        raise fail(f"{what} to be a finite number", repr(result))
    return result


def expect_close(
    got: float,
    want: float,
    what: str,
    *,
    rel: float = 1e-4,
    abs_tol: float = 1e-6,
    hint: str = "",
) -> None:
    """``got`` must equal ``want`` within a tolerance: numbers are compared, never bits."""
    got = as_float(got, what)
    if not math.isclose(got, want, rel_tol=rel, abs_tol=abs_tol):
        raise fail(f"{what} = {want:.6g}", f"{got:.6g}", hint)


def _unwrapped(value: Any, depth: int = 0) -> Any:
    """``value`` with every tensor (a list of them too) as its numpy array."""
    if isinstance(value, TensorValue):
        return value.array
    if isinstance(value, (list, tuple)) and depth < 32:
        return [_unwrapped(item, depth + 1) for item in value]
    return value


def as_array(value: Any, what: str, *, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A returned array, tensor or (nested) list of numbers as a float64 numpy array, of
    ``shape`` if given (``-1`` in it: any length there). Anything else (strings, ragged
    lists, booleans, complex or non-finite numbers, another shape) is a ``CheckFailed``,
    never another error."""
    value = _unwrapped(value)
    if not isinstance(value, (np.ndarray, np.generic, list, tuple, int, float)) or isinstance(
        value, bool
    ):
        raise fail(f"{what} to be an array of numbers", _kind(value))
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        array = None
    if array is None or array.dtype == object:
        raise fail(
            f"{what} to be an array of numbers",
            "a ragged list, or items that are not numbers",
        )
    if array.dtype.kind not in "iuf":
        kinds = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "strings"}
        found = kinds.get(array.dtype.kind, f"values of dtype {array.dtype.name}")
        raise fail(f"{what} to be an array of numbers", f"an array of {found}")
    with np.errstate(over="ignore", invalid="ignore"):
        result = array.astype(np.float64)
    if shape is not None and (
        result.ndim != len(shape)
        or any(want not in (-1, got) for got, want in zip(result.shape, shape, strict=False))
    ):
        wanted = ", ".join("any" if n == -1 else str(n) for n in shape)
        wanted += "," if len(shape) == 1 else ""
        raise fail(f"{what} to have the shape ({wanted})", f"the shape {tuple(result.shape)}")
    if not np.all(np.isfinite(result)):
        raise fail(f"{what} to hold finite numbers", "NaN or infinite values")
    return result


def expect_allclose(
    got: Any,
    want: Any,
    what: str,
    *,
    rel: float = 1e-4,
    abs_tol: float = 1e-6,
    hint: str = "",
) -> None:
    """``got`` must equal ``want`` element-wise within a tolerance (``|got - want| <=
    abs_tol + rel * |want|``) and have its shape; the message names the first element
    that differs and both values. ``got`` is read with ``as_array``."""
    expected = as_array(want, "the expected values")
    found = as_array(got, what, shape=expected.shape)
    close = np.abs(found - expected) <= abs_tol + rel * np.abs(expected)
    if not np.all(close):
        index = tuple(int(i) for i in np.argwhere(~close)[0])
        at = f"[{', '.join(map(str, index))}]" if index else ""
        raise fail(
            f"{what}{at} = {expected[index]:.6g}",
            f"{found[index]:.6g} ({int(np.sum(~close))} of {close.size} values differ)",
            hint,
        )
