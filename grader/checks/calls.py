"""Calls that name themselves, and the per-assignment memo.

A ``Call`` is made once and used for both sides and for the text students read, so the
text is always the call that was made::

    call = Call("l2_dense", 32, l2=0.05, activation="tanh")
    got, want = call.on(submission), call.on(reference)
    str(call)    # "l2_dense(32, l2=0.05, activation='tanh')"

Literal arguments show as their ``repr``. Anything else (data, a model, a regularizer)
shows by the name given with it, ``shown(x, "x_train")``; ``shown(0, None)`` passes an
argument without showing it.

``memo(key, compute)`` computes the reference's side of an experiment once per grading
process. Keys are namespaced per assignment by the grading plugin
(``set_memo_namespace``), so two assignments graded in one process never share one; a
``Call`` is a key of its own: the function and a digest of every argument's value (not
its text: two calls that read alike but pass different data are different keys).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from grader.sandbox import wire

__all__ = [
    "Call",
    "Shown",
    "fresh_memo",
    "memo",
    "memo_namespace",
    "set_memo_namespace",
    "shown",
]

_T = TypeVar("_T")


@dataclass(frozen=True, eq=False)
class Shown:
    """An argument with the text that stands for it in a call (None: not shown)."""

    value: Any
    text: str | None


def shown(value: Any, text: str | None) -> Shown:
    """``value`` passed as an argument, written as ``text`` (None: left out of the text)."""
    return Shown(value, text)


def _value(argument: Any) -> Any:
    return argument.value if isinstance(argument, Shown) else argument


def _text(argument: Any, *, full: bool = False) -> str | None:
    if isinstance(argument, Shown):
        if argument.text is None and full:
            return repr(argument.value)
        return argument.text
    return repr(argument)


class Call:
    """A call of a graded function: ``Call(name, *args, **kwargs)``."""

    __slots__ = ("_key", "args", "function", "kwargs")

    def __init__(self, function: str, /, *args: Any, **kwargs: Any) -> None:
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self._key: str | None = None

    def on(self, module: Any) -> Any:
        """The call made on ``module`` (the submission or the reference)."""
        args, kwargs = self._values()
        return getattr(module, self.function)(*args, **kwargs)

    def gradients_on(self, module: Any) -> Any:
        """The call made on ``module`` with the gradients of its answer with respect to
        the first argument's weights (``call_with_gradients``)."""
        args, kwargs = self._values()
        return module.call_with_gradients(self.function, *args, **kwargs)

    def _values(self) -> tuple[list[Any], dict[str, Any]]:
        return [_value(a) for a in self.args], {k: _value(v) for k, v in self.kwargs.items()}

    def _render(self, *, full: bool) -> str:
        parts = [_text(a, full=full) for a in self.args]
        parts += [
            None if (text := _text(v, full=full)) is None else f"{k}={text}"
            for k, v in self.kwargs.items()
        ]
        return f"{self.function}({', '.join(p for p in parts if p is not None)})"

    def __str__(self) -> str:
        return self._render(full=False)

    def __repr__(self) -> str:
        return f"Call({self._render(full=True)})"

    def key(self) -> str:
        """The function and a digest of the arguments' values, as the wire sends them."""
        if self._key is None:
            args, kwargs = self._values()
            encoded = wire.dumps(wire.encode([self.function, args, kwargs]))
            self._key = f"{self.function}:{hashlib.sha256(encoded).hexdigest()}"
        return self._key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Call) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())


_MEMO: dict[tuple[str, Hashable], Any] = {}
_namespace = ""


def set_memo_namespace(namespace: str) -> None:
    """Key ``memo`` under ``namespace`` from now on: the grading plugin sets it to the
    assignment it grades before each check."""
    global _namespace
    _namespace = namespace


@contextmanager
def memo_namespace(namespace: str) -> Iterator[None]:
    """``memo`` keyed under ``namespace`` inside the block."""
    previous = _namespace
    set_memo_namespace(namespace)
    try:
        yield
    finally:
        set_memo_namespace(previous)


def memo(key: Hashable, compute: Callable[[], _T]) -> _T:
    """``compute()`` once per grading process and assignment: for the reference's side of
    an experiment, which is the same for every student."""
    full = (_namespace, key)
    if full not in _MEMO:
        _MEMO[full] = compute()
    result: _T = _MEMO[full]
    return result


@contextmanager
def fresh_memo() -> Iterator[None]:
    """An empty memo inside the block, the previous one restored after it: recording a
    release's answers must see every reference call, none hidden behind a memo."""
    saved = dict(_MEMO)
    _MEMO.clear()
    try:
        yield
    finally:
        _MEMO.clear()
        _MEMO.update(saved)
