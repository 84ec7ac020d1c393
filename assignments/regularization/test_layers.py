"""Checks 1a: the layer functions attach the right regularizer to the kernel."""

from __future__ import annotations

from typing import Any

from grader.checks import Call, Row, check, fail, show_table
from grader.checks.layers import (
    DenseSummary,
    dense_summary,
    describe_factors,
    describe_layer,
    same_layer,
)

TABLE = "What your layer carries"
COLUMNS = ["Layer", "Your layer carries", "Asked for"]


def check_dense_matches(submission: Any, reference: Any, made: Call, strength_arg: str) -> None:
    """The student's layer from ``made`` must carry what the reference's carries, and
    nothing more."""
    got, want = made.on(submission), made.on(reference)
    call = str(made)
    mine = dense_summary(got, call)
    ref = dense_summary(want, call)
    row = Row([call, describe_layer(mine), describe_layer(ref)], ok=same_layer(mine, ref))
    show_table(TABLE, COLUMNS, [row])
    if mine.units != ref.units:
        raise fail(
            f"`{call}` should return a Dense layer with {ref.units} units",
            f"{mine.units} units",
            "pass the `units` argument on to keras.layers.Dense.",
        )
    if mine.activation != ref.activation:
        raise fail(
            f"`{call}` should use activation {ref.activation!r}",
            f"activation {mine.activation!r}",
            "pass the `activation` argument on to keras.layers.Dense.",
        )
    _check_kernel(mine, ref, call, strength_arg)
    for place, factors in (("bias", mine.bias), ("activity", mine.activity)):
        if factors is not None:
            raise fail(
                f"`{call}` should regularize only the kernel (the weights)",
                f"{describe_factors(factors)} as the {place}_regularizer as well",
                f"remove the {place}_regularizer; use kernel_regularizer only.",
            )


def _check_kernel(mine: DenseSummary, ref: DenseSummary, call: str, strength_arg: str) -> None:
    if ref.kernel is None:
        raise RuntimeError("the reference layer has no kernel regularizer")
    expected = f"`{call}` should attach {describe_factors(ref.kernel)} as the kernel_regularizer"
    if mine.kernel is not None and mine.kernel.matches(ref.kernel):
        return
    if mine.kernel is None:
        for place, factors in (("bias", mine.bias), ("activity", mine.activity)):
            if factors is not None:
                raise fail(
                    expected,
                    f"no kernel regularizer, but {describe_factors(factors)} on the {place}",
                    f"use kernel_regularizer=..., not {place}_regularizer=...: the penalty "
                    "belongs on the layer's weights (its kernel).",
                )
        raise fail(expected, "no kernel regularizer", "pass kernel_regularizer=... to Dense.")
    found = describe_factors(mine.kernel)
    same_kind = (mine.kernel.l1 > 0) == (ref.kernel.l1 > 0) and (mine.kernel.l2 > 0) == (
        ref.kernel.l2 > 0
    )
    if same_kind and not mine.kernel.unknown:
        hint = f"the strength is not taken from the `{strength_arg}` argument."
    else:
        hint = "L1 penalises sum(|W|), L2 penalises sum(W**2): check which regularizer you used."
    raise fail(expected, found, hint)


@check("l2_dense", points=1)
def test_l2_dense_defaults(submission, reference):
    """l2_dense(64) returns Dense(64, relu) with an L2(0.01) kernel regularizer."""
    check_dense_matches(submission, reference, Call("l2_dense", 64), "l2")


@check("l2_dense", points=1)
def test_l2_dense_arguments(submission, reference):
    """l2_dense honours units, l2 and activation."""
    call = Call("l2_dense", 32, l2=0.05, activation="tanh")
    check_dense_matches(submission, reference, call, "l2")


@check("l1_dense", points=1)
def test_l1_dense_defaults(submission, reference):
    """l1_dense(64) returns Dense(64, relu) with an L1(0.005) kernel regularizer."""
    check_dense_matches(submission, reference, Call("l1_dense", 64), "l1")


@check("l1_dense", points=1)
def test_l1_dense_arguments(submission, reference):
    """l1_dense honours units, l1 and activation."""
    call = Call("l1_dense", 16, l1=0.02, activation="sigmoid")
    check_dense_matches(submission, reference, call, "l1")


@check("l1_l2_dense", points=1)
def test_l1_l2_dense_defaults(submission, reference):
    """l1_l2_dense(64) returns Dense(64, relu) with an L1L2(0.001, 0.001) kernel regularizer."""
    check_dense_matches(submission, reference, Call("l1_l2_dense", 64), "l1/l2")


@check("l1_l2_dense", points=1)
def test_l1_l2_dense_arguments(submission, reference):
    """l1_l2_dense honours units, l1, l2 and activation."""
    call = Call("l1_l2_dense", 8, l1=0.003, l2=0.02, activation="tanh")
    check_dense_matches(submission, reference, call, "l1/l2")
