"""Declaring a check: what it grades, its points and visibility, next to the check itself.

::

    @check("l2_dense", points=1)
    def test_l2_dense_defaults(submission, reference):
        \"\"\"l2_dense(64) returns Dense(64, relu) with an L2(0.01) kernel regularizer.\"\"\"

    @check("l2_dense", points=1, hidden=True)
    def test_hidden_l2_dense(submission, reference):
        \"\"\"l2_dense matches the reference for other units, strengths and activations.\"\"\"

The docstring's first paragraph, its whitespace collapsed, is the description students
read. The grader reads these declarations statically (``grader.assignment``: nothing is
imported or run on the instructor's side), so the arguments must be literals. At run
time the decorator only attaches them to the test function; pytest collects it as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["CHECK_ATTRIBUTE", "Declared", "check"]

CHECK_ATTRIBUTE = "__grader_check__"

_Test = TypeVar("_Test", bound=Callable[..., Any])


@dataclass(frozen=True)
class Declared:
    """What ``@check`` states about a test function."""

    function: str
    points: float
    hidden: bool = False


def check(function: str, *, points: float, hidden: bool = False) -> Callable[[_Test], _Test]:
    """Declare a test function as a check of the graded ``function``, worth ``points``;
    ``hidden=True``: students neither run it nor see its name before grading."""

    def declare(test: _Test) -> _Test:
        setattr(test, CHECK_ATTRIBUTE, Declared(function, float(points), hidden))
        return test

    return declare
