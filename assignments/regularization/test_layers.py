"""Checks 1a: the layer functions attach the right regularizer to the kernel."""

from __future__ import annotations

from grader.checks import Row, fail, show_table
from grader.checks.models import (
    DenseSummary,
    dense_summary,
    describe_factors,
    describe_layer,
    same_layer,
)

TABLE = "What your layer carries"
COLUMNS = ["Layer", "Your layer carries", "Asked for"]


def check_dense_matches(got: object, want: object, call: str, strength_arg: str) -> None:
    """The student's layer must carry what the reference's carries, and nothing more."""
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


def test_l2_dense_defaults(submission, reference):
    check_dense_matches(submission.l2_dense(64), reference.l2_dense(64), "l2_dense(64)", "l2")


def test_l2_dense_arguments(submission, reference):
    call = "l2_dense(32, l2=0.05, activation='tanh')"
    got = submission.l2_dense(32, l2=0.05, activation="tanh")
    check_dense_matches(got, reference.l2_dense(32, l2=0.05, activation="tanh"), call, "l2")


def test_l1_dense_defaults(submission, reference):
    check_dense_matches(submission.l1_dense(64), reference.l1_dense(64), "l1_dense(64)", "l1")


def test_l1_dense_arguments(submission, reference):
    call = "l1_dense(16, l1=0.02, activation='sigmoid')"
    got = submission.l1_dense(16, l1=0.02, activation="sigmoid")
    check_dense_matches(got, reference.l1_dense(16, l1=0.02, activation="sigmoid"), call, "l1")


def test_l1_l2_dense_defaults(submission, reference):
    got, want = submission.l1_l2_dense(64), reference.l1_l2_dense(64)
    check_dense_matches(got, want, "l1_l2_dense(64)", "l1/l2")


def test_l1_l2_dense_arguments(submission, reference):
    call = "l1_l2_dense(8, l1=0.003, l2=0.02, activation='tanh')"
    got = submission.l1_l2_dense(8, l1=0.003, l2=0.02, activation="tanh")
    want = reference.l1_l2_dense(8, l1=0.003, l2=0.02, activation="tanh")
    check_dense_matches(got, want, call, "l1/l2")
