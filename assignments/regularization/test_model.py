"""Checks 1b and 2c: build_model's structure, compilation, and the loss it evaluates."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks import Call, Row, check, collect_table, expect_close, fail, memo, shown
from grader.checks.layers import (
    DenseSummary,
    dense_layers,
    describe_factors,
    describe_layer,
    layer_rows,
    layer_summary,
    same_layer,
)
from grader.checks.models import (
    expect_compiled,
    expect_compiled_adam_mse,
    expect_input_dim,
    regularizer,
)
from grader.checks.rebuild import rebuild

TABLE = "What each layer carries"
COLUMNS = ["Layer", "Your model's layer", "Asked for"]


def _layers(model: object) -> list[DenseSummary]:
    return [layer_summary(layer) for layer in dense_layers(model)]


def _describe(summary: DenseSummary) -> str:
    text = f"{summary.class_name}({summary.units}, activation={summary.activation!r})"
    if summary.kernel is not None:
        text += f" with kernel {describe_factors(summary.kernel)}"
    return text


def _reference_structure(want: object, call: str) -> tuple[tuple[int | None, ...], list]:
    model = rebuild(want, call)
    return tuple(model.input_shape), _layers(model)


def _rows(
    shapes: tuple[tuple[int | None, ...], tuple[int | None, ...]],
    mine: list[DenseSummary],
    ref: list[DenseSummary],
    call: str,
) -> list[Row]:
    """The input, then one row per layer of either model, side by side in order."""
    mine_shape, ref_shape = shapes
    rows = [
        Row(
            [f"{call}: input", f"shape {mine_shape}", f"shape {ref_shape}"],
            ok=mine_shape == ref_shape,
        )
    ]

    def label(index: int) -> str:
        if index >= len(ref):
            return f"{call}: extra layer"
        return f"{call}: {'hidden layer' if index < len(ref) - 1 else 'output layer'}"

    return rows + layer_rows(mine, ref, label=label, describe=describe_layer, same=same_layer)


def check_structure(submission: Any, reference: Any, made: Call, table: list[Row]) -> None:
    """The student's model from ``made`` must have the reference's layers; each pair of
    layers is added to ``table`` before it is judged."""
    got, want = made.on(submission), made.on(reference)
    call = str(made)
    mine_model = rebuild(got, call)
    mine = _layers(mine_model)
    # The reference's side is the same for every student: rebuild it once per process.
    ref_shape, ref = memo(("structure", made), lambda: _reference_structure(want, call))
    table.extend(_rows((tuple(mine_model.input_shape), ref_shape), mine, ref, call))
    if tuple(mine_model.input_shape) != ref_shape:
        raise fail(
            f"`{call}` should take inputs of shape {ref_shape}",
            f"input shape {tuple(mine_model.input_shape)}",
            "start the model with keras.Input((input_dim,)).",
        )
    if [s.class_name for s in mine] != [s.class_name for s in ref]:
        raise fail(
            f"`{call}` should have the layers " + ", ".join(_describe(s) for s in ref),
            ", ".join(_describe(s) for s in mine) or "no layers",
            "one hidden Dense layer and one Dense output layer, nothing else.",
        )
    for index, (m, r) in enumerate(zip(mine, ref, strict=True)):
        role = "hidden layer" if index < len(ref) - 1 else "output layer"
        if (m.units, m.activation) != (r.units, r.activation):
            raise fail(
                f"the {role} of `{call}` to be {_describe(r)}",
                _describe(m),
                "use hidden_units for the hidden layer, relu inside and no activation on "
                "the output.",
            )
        _check_regularizers(m, r, role, call)


def _check_regularizers(m: DenseSummary, r: DenseSummary, role: str, call: str) -> None:
    if r.kernel is None and m.kernel is not None:
        raise fail(
            f"no regularizer on the {role} of `{call}`",
            f"{describe_factors(m.kernel)} on its kernel",
            "only the hidden layer takes the `regularizer` argument; with None there is none.",
        )
    if r.kernel is not None and (m.kernel is None or not m.kernel.matches(r.kernel)):
        raise fail(
            f"the {role} of `{call}` to have {describe_factors(r.kernel)} on its kernel",
            describe_factors(m.kernel),
            "pass the `regularizer` argument as kernel_regularizer of the hidden layer.",
        )
    for place, factors in (("bias", m.bias), ("activity", m.activity)):
        if factors is not None:
            raise fail(
                f"no {place} regularizer in `{call}`",
                f"{describe_factors(factors)} as the {place}_regularizer of the {role}",
                "the regularizer belongs on the kernel only.",
            )


@check("build_model", points=2)
def test_build_model_structure(submission, reference):
    """build_model(None) is Input -> Dense(hidden_units, relu) -> Dense(1) with no regularizer
    anywhere."""
    with collect_table(TABLE, COLUMNS) as table:
        check_structure(submission, reference, Call("build_model"), table)
        call = Call("build_model", None, hidden_units=16, input_dim=3)
        check_structure(submission, reference, call, table)


@check("build_model", points=2)
def test_build_model_regularizer(submission, reference):
    """build_model(regularizer) puts the regularizer on the hidden layer's kernel only."""
    cases = [
        ("L2(0.02)", regularizer("L2", l2=0.02), {"hidden_units": 16, "input_dim": 3}),
        ("L1(0.01)", regularizer("L1", l1=0.01), {}),
        ("L1L2(l1=0.001, l2=0.003)", regularizer("L1L2", l1=0.001, l2=0.003), {}),
    ]
    with collect_table(TABLE, COLUMNS) as table:
        for label, reg, kwargs in cases:
            call = Call("build_model", shown(reg, label), **kwargs)
            check_structure(submission, reference, call, table)


@check("build_model", points=1)
def test_build_model_compiled(submission):
    """build_model compiles with the Adam optimizer and the MSE loss."""
    call = Call("build_model")
    model = rebuild(call.on(submission), str(call))
    expect_compiled_adam_mse(model, f"`{call}`")


@check("build_model", points=1)
def test_build_model_loss_includes_penalty(submission):
    """A model from build_model(L2(0.05)) evaluates to its MSE plus the L2 penalty."""
    strength = 0.05
    reg = regularizer("L2", l2=strength)
    call = Call("build_model", shown(reg, f"L2({strength})"), hidden_units=8)
    model = rebuild(call.on(submission), str(call))
    expect_input_dim(model, 1, f"`{call}`")
    expect_compiled(model, f"`{call}`")
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(32, 1)).astype("float32")
    y = np.sin(3 * x).astype("float32")
    # A dict: a model compiled with extra metrics evaluates to a list otherwise.
    evaluated = float(model.evaluate(x, y, verbose=0, batch_size=32, return_dict=True)["loss"])
    predictions = np.asarray(model(x))
    data_loss = float(np.mean((predictions - y) ** 2))
    # The penalty as Keras itself computes it from the rebuilt model's weights.
    expected = data_loss + sum(float(loss) for loss in model.losses)
    expect_close(
        evaluated,
        expected,
        f"the loss Keras evaluates for `{call}` (MSE {data_loss:.6g} + penalty)",
        rel=1e-4,
        hint="Keras adds the kernel regularizer's penalty to the compiled loss: make sure "
        "the regularizer is attached to the hidden layer's kernel and the loss is MSE.",
    )
