"""The check library: helpers that assignment check files build on.

A check is a plain pytest test taking the ``submission`` and ``reference`` fixtures.
It raises ``CheckFailed`` (via ``fail`` or the ``expect_*`` helpers) with a message for
the student: what was expected, what was found, and a hint. Never put solution code in
a message. It may also record pictures for the student's page (``show_curves``,
``show_table``: ``grader.checks.figures``), which never affect its verdict.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

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
    "CheckFailed",
    "Panel",
    "Row",
    "Series",
    "as_float",
    "collect_table",
    "curve_pair",
    "expect",
    "expect_close",
    "fail",
    "memo",
    "message",
    "show_curves",
    "show_table",
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


_MEMO: dict[str, Any] = {}


def memo(key: str, compute: Any) -> Any:
    """``compute()`` once per grading process: for the reference's side of an experiment,
    which is the same for every student."""
    if key not in _MEMO:
        _MEMO[key] = compute()
    return _MEMO[key]
