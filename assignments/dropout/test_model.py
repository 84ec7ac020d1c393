"""Checks 1: dropout_model's layers, the rate it passes on, its compilation, and dropout
being off when the model predicts.

Models are rebuilt here from the config and weights the student's process sent; every
output compared is computed here.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.checks import Call, Row, check, collect_table, fail, memo, show_table
from grader.checks.layers import dense_layers, layer_rows
from grader.checks.models import expect_compiled_adam_mse, expect_input_dim
from grader.checks.rebuild import rebuild

PLACEMENT_HINT = (
    "put one keras.layers.Dropout(rate) right after each hidden Dense layer: none on the "
    "inputs and none after the output layer."
)


@dataclass(frozen=True)
class Layer:
    """A layer as a student writes it: its class and the arguments that matter here."""

    kind: str
    units: Any = None
    activation: str = ""
    rate: float | None = None

    def __str__(self) -> str:
        if self.kind == "Dense":
            return f"Dense({self.units}, activation={self.activation!r})"
        if self.rate is not None:
            return f"{self.kind}({self.rate:g})"
        return self.kind

    def same(self, other: Layer) -> bool:
        if (self.kind, self.units, self.activation) != (other.kind, other.units, other.activation):
            return False
        if self.rate is None or other.rate is None:
            return self.rate is other.rate
        return math.isclose(self.rate, other.rate, rel_tol=1e-6, abs_tol=1e-9)


def _layer(layer: Any) -> Layer:
    config = layer.get_config()
    kind = type(layer).__name__
    if kind == "Dense":
        activation = config.get("activation", "linear")
        if isinstance(activation, dict):
            activation = activation.get("config", activation.get("class_name", "?"))
        return Layer(kind, config.get("units"), str(activation))
    rate = config.get("rate")
    return Layer(kind, rate=float(rate) if isinstance(rate, (int, float)) else None)


def layers_of(answer: object, call: str, input_dim: int) -> tuple[Any, list[Layer]]:
    """The rebuilt model and its layers (the Input left out), after checking it takes
    ``input_dim`` features."""
    model = rebuild(answer, f"`{call}`")
    expect_input_dim(model, input_dim, f"`{call}`")
    return model, [_layer(layer) for layer in dense_layers(model)]


def _reference_layers(module: Any, call: Call, dim: int) -> list[Layer]:
    # The reference's side is the same for every student: rebuilt once per process.
    return memo(
        ("layers", call),
        lambda: layers_of(call.on(module), str(call), dim)[1],
    )


TABLE = "Your model's layers"
COLUMNS = ["Layer", "Your model has", "Asked for"]


def _rows(call: Call, what: str, mine: list[Layer], ref: list[Layer]) -> list[Row]:
    """The two lists of layers side by side, in order, each pair judged."""
    return layer_rows(
        mine, ref, label=lambda index: f"{call}: {what} {index + 1}", describe=str, same=Layer.same
    )


def _listing(layers: list[Layer]) -> str:
    return ", ".join(str(layer) for layer in layers) or "no layers"


def _placement_hint(mine: list[Layer]) -> str:
    kinds = [layer.kind for layer in mine]
    if any(kind not in ("Dense", "Dropout") for kind in kinds):
        return "use only Dense and Dropout layers. " + PLACEMENT_HINT
    if "Dropout" not in kinds:
        return "there is no Dropout layer. " + PLACEMENT_HINT
    if kinds[0] == "Dropout":
        return "dropout on the inputs throws away input features, not hidden units. " + (
            PLACEMENT_HINT
        )
    if kinds[-1] == "Dropout":
        return "nothing comes after the output layer. " + PLACEMENT_HINT
    hidden = kinds.count("Dense") - 1
    followed = sum(1 for pair in itertools.pairwise(kinds) if pair == ("Dense", "Dropout"))
    if followed < hidden:
        return f"only {followed} of your {hidden} hidden layers is followed by dropout. " + (
            PLACEMENT_HINT
        )
    return PLACEMENT_HINT


@check("dropout_model", points=2)
def test_dropout_model_structure(submission, reference):
    """dropout_model() is Input -> Dense(64, relu) -> Dropout(0.5) -> Dense(64, relu) ->
    Dropout(0.5) -> Dense(1): a Dropout after each hidden layer and nowhere else."""
    call = Call("dropout_model")
    _, mine = layers_of(call.on(submission), str(call), 1)
    ref = _reference_layers(reference, call, 1)
    show_table(TABLE, COLUMNS, _rows(call, "layer", mine, ref))
    if len(mine) == len(ref) and all(m.same(r) for m, r in zip(mine, ref, strict=True)):
        return
    same_kinds = [m.kind for m in mine] == [r.kind for r in ref]
    dense_ok = all(m.same(r) for m, r in zip(mine, ref, strict=False) if r.kind == "Dense")
    if same_kinds and dense_ok:
        hint = "every Dropout layer takes the `rate` argument (0.5 by default)."
    elif same_kinds:
        hint = (
            "use hidden_units for every hidden layer, relu inside and no activation on the "
            "output layer."
        )
    else:
        hint = _placement_hint(mine)
    raise fail(f"`{call}` to have the layers {_listing(ref)}", _listing(mine), hint)


def _rate_rows(call: str, rates: list[float | None], expected: float) -> list[Row]:
    if not rates:
        return [Row([call, "no Dropout layer", f"Dropout layers of rate {expected:g}"], ok=False)]
    return [
        Row(
            [
                f"{call}: Dropout {index + 1}",
                "rate ?" if r is None else f"rate {r:g}",
                f"rate {expected:g}",
            ],
            ok=r is not None and math.isclose(r, expected, rel_tol=1e-6),
        )
        for index, r in enumerate(rates)
    ]


@check("dropout_model", points=2)
def test_dropout_model_rate(submission, reference):
    """Every Dropout layer of dropout_model(rate=r) drops the fraction r."""
    with collect_table("Your Dropout layers' rates", COLUMNS) as table:
        for rate in (0.2, 0.35):
            _check_rate(submission, reference, rate, table)


def _check_rate(submission: Any, reference: Any, rate: float, table: list[Row]) -> None:
    """Every Dropout layer of dropout_model(rate=rate) uses ``rate``; its rows go to
    ``table`` before they are judged."""
    call = Call("dropout_model", rate=rate)
    _, mine = layers_of(call.on(submission), str(call), 1)
    ref = _reference_layers(reference, call, 1)
    want = {layer.rate for layer in ref if layer.kind == "Dropout"}
    if len(want) != 1:
        raise RuntimeError(f"the reference's {call} has dropout rates {want}")
    (expected,) = want
    rates = [layer.rate for layer in mine if layer.kind == "Dropout"]
    table.extend(_rate_rows(str(call), rates, expected))
    if not rates:
        raise fail(
            f"`{call}` to contain Dropout layers with rate {expected:g}",
            f"no Dropout layer: {_listing(mine)}",
            PLACEMENT_HINT,
        )
    wrong = [r for r in rates if r is None or not math.isclose(r, expected, rel_tol=1e-6)]
    if wrong:
        raise fail(
            f"every Dropout layer of `{call}` to drop a fraction {expected:g} of its inputs",
            "rates " + ", ".join("?" if r is None else f"{r:g}" for r in rates),
            "pass the `rate` argument on to keras.layers.Dropout instead of a fixed number.",
        )


@check("dropout_model", points=1)
def test_dropout_model_sizes(submission, reference):
    """dropout_model honours hidden_units, hidden_layers and input_dim."""
    call = Call("dropout_model", hidden_units=16, hidden_layers=3, input_dim=3)
    _, mine = layers_of(call.on(submission), str(call), 3)
    ref = _reference_layers(reference, call, 3)
    mine_dense = [layer for layer in mine if layer.kind == "Dense"]
    ref_dense = [layer for layer in ref if layer.kind == "Dense"]
    show_table("Your model's Dense layers", COLUMNS, _rows(call, "Dense", mine_dense, ref_dense))
    if len(mine_dense) == len(ref_dense) and all(
        m.same(r) for m, r in zip(mine_dense, ref_dense, strict=True)
    ):
        return
    if len(mine_dense) != len(ref_dense):
        hint = "make one hidden Dense layer per `hidden_layers`, then the Dense(1) output layer."
    else:
        hint = (
            "every hidden layer has `hidden_units` units and relu; the output layer has one "
            "unit and no activation."
        )
    raise fail(
        f"the Dense layers of `{call}` to be {_listing(ref_dense)}",
        _listing(mine_dense),
        hint,
    )


@check("dropout_model", points=1)
def test_dropout_model_compiled(submission):
    """dropout_model compiles with the Adam optimizer and the MSE loss."""
    call = Call("dropout_model")
    model = rebuild(call.on(submission), f"`{call}`")
    expect_compiled_adam_mse(model, f"`{call}`")


def _without_dropout(model: Any, x: np.ndarray) -> np.ndarray:
    """The network's output with every Dropout layer left out: what inference must give."""
    import keras

    h = np.asarray(x, dtype=np.float32)
    for layer in dense_layers(model):
        if isinstance(layer, keras.layers.Dense):
            h = keras.ops.convert_to_numpy(layer(h))
    return h


INFERENCE_HINT = (
    "let Keras switch dropout on and off: it is on during fit() and off in predict(), "
    "evaluate() and model(x). Do not call a Dropout layer with training=True."
)


@check("dropout_model", points=2)
def test_dropout_inactive_at_inference(submission):
    """Dropout is off when the model predicts: model(x), model(x, training=False) and predict
    give the output of the network without its Dropout layers."""
    import keras

    call = Call("dropout_model", rate=0.5, hidden_units=32, input_dim=2)
    model, mine = layers_of(call.on(submission), str(call), 2)
    others = sorted({layer.kind for layer in mine} - {"Dense", "Dropout"})
    if others:
        raise fail(
            f"`{call}` to be made of Dense and Dropout layers only",
            f"also {', '.join(others)}",
            PLACEMENT_HINT,
        )
    # Weights the grader draws, so that every unit is alive and the check sees dropout.
    rng = np.random.default_rng(11)
    model.set_weights(
        [rng.normal(0.0, 0.5, size=w.shape).astype("float32") for w in model.get_weights()]
    )
    x = rng.uniform(-1, 1, size=(64, 2)).astype("float32")
    want = _without_dropout(model, x)
    keras.utils.set_random_seed(0)
    ways = (
        ("model(x, training=False)", lambda: model(x, training=False)),
        ("model(x)", lambda: model(x)),
        ("model.predict(x)", lambda: model.predict(x, verbose=0, batch_size=64)),
    )
    for label, run in ways:
        got = keras.ops.convert_to_numpy(run())
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-6):
            worst = float(np.max(np.abs(got - want))) if got.shape == want.shape else math.inf
            raise fail(
                f"{label} on your model to leave dropout off: the same output as the network "
                "without its Dropout layers",
                f"outputs that differ by up to {worst:.3g}: dropout is still on",
                INFERENCE_HINT,
            )
