"""Layers in the terms a student recognises: what a Dense layer carries (units,
activation, the regularizer on its kernel, bias and activity), one line of a table each.

``dense_summary`` reads a layer that crossed the wire, ``layer_summary`` a live layer of a
rebuilt model; ``same_layer`` compares two summaries by regularizer factors, and
``describe_layer`` writes the line a figure's table shows, ``layer_rows`` the table of two
models' layers side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from grader.checks import Row, fail
from grader.checks.rebuild import Factors, display_activation, regularizer_factors
from grader.sandbox.wire import KerasObject

__all__ = [
    "DenseSummary",
    "dense_layers",
    "dense_summary",
    "describe_factors",
    "describe_layer",
    "layer_rows",
    "layer_summary",
    "same_layer",
]

_Layer = TypeVar("_Layer")


def describe_factors(factors: Factors | None) -> str:
    if factors is None:
        return "no regularizer"
    if factors.unknown:
        return f"a {factors.unknown} regularizer the grader does not recognise"
    if factors.l1 and factors.l2:
        return f"L1L2(l1={factors.l1:.6g}, l2={factors.l2:.6g})"
    if factors.l1:
        return f"L1({factors.l1:.6g})"
    if factors.l2:
        return f"L2({factors.l2:.6g})"
    return "a regularizer with strength 0"


def _carried(factors: Factors | None) -> str:
    return "none" if factors is None else describe_factors(factors)


@dataclass(frozen=True)
class DenseSummary:
    """What a Dense layer carries, in terms a student recognises."""

    class_name: str
    units: Any
    activation: str
    kernel: Factors | None
    bias: Factors | None
    activity: Factors | None


def describe_layer(summary: DenseSummary) -> str:
    """A layer and every regularizer it carries, one line for a figure's table:
    ``Dense(64, relu); kernel: L2(0.01); bias: none; activity: none``."""
    if summary.class_name != "Dense":
        head = summary.class_name
    else:
        head = f"Dense({summary.units}, {summary.activation})"
    return (
        f"{head}; kernel: {_carried(summary.kernel)}; bias: {_carried(summary.bias)}; "
        f"activity: {_carried(summary.activity)}"
    )


def same_layer(mine: DenseSummary, want: DenseSummary) -> bool:
    """Whether a layer is the one asked for: class, units, activation, and the same
    regularizer factors (or none) on its kernel, bias and activity."""

    def same(a: Factors | None, b: Factors | None) -> bool:
        return (a is None and b is None) or (a is not None and b is not None and a.matches(b))

    return (
        (mine.class_name, mine.units, mine.activation)
        == (want.class_name, want.units, want.activation)
        and same(mine.kernel, want.kernel)
        and same(mine.bias, want.bias)
        and same(mine.activity, want.activity)
    )


def dense_summary(layer: Any, what: str) -> DenseSummary:
    """Read a layer returned over the wire; fail clearly if it is not a Dense layer."""
    if not isinstance(layer, KerasObject) or layer.kind != "layer":
        found = layer.kind if isinstance(layer, KerasObject) else type(layer).__name__
        raise fail(f"{what} to return a keras.layers.Dense layer", f"a {found}")
    if layer.class_name != "Dense":
        raise fail(
            f"{what} to return a keras.layers.Dense layer",
            f"a {layer.class_name} layer",
        )
    return _summary_from_config(layer.inner_config)


def _summary_from_config(config: dict[str, Any]) -> DenseSummary:
    return DenseSummary(
        class_name="Dense",
        units=config.get("units"),
        activation=display_activation(config.get("activation", "linear")),
        kernel=regularizer_factors(config.get("kernel_regularizer")),
        bias=regularizer_factors(config.get("bias_regularizer")),
        activity=regularizer_factors(config.get("activity_regularizer")),
    )


def dense_layers(model: Any) -> list[Any]:
    """The model's layers other than its Input, in order."""
    import keras

    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def layer_summary(layer: Any) -> DenseSummary:
    """The same summary for a live layer of a rebuilt model."""
    import keras

    config = keras.saving.serialize_keras_object(layer)["config"]
    summary = _summary_from_config(config)
    return DenseSummary(
        class_name=type(layer).__name__,
        units=summary.units,
        activation=summary.activation,
        kernel=summary.kernel,
        bias=summary.bias,
        activity=summary.activity,
    )


def layer_rows(
    mine: Sequence[_Layer],
    ref: Sequence[_Layer],
    *,
    label: Callable[[int], str],
    describe: Callable[[_Layer], str],
    same: Callable[[_Layer, _Layer], bool],
) -> list[Row]:
    """Two models' layers side by side, in order, one row per layer of either, each pair
    judged by ``same``; a layer only one of them has shows against "(missing)" or "(no
    layer here)". ``label(index)`` names a row."""
    rows = []
    for index in range(max(len(mine), len(ref))):
        m = mine[index] if index < len(mine) else None
        r = ref[index] if index < len(ref) else None
        rows.append(
            Row(
                [
                    label(index),
                    "(missing)" if m is None else describe(m),
                    "(no layer here)" if r is None else describe(r),
                ],
                ok=m is not None and r is not None and same(m, r),
            )
        )
    return rows
