"""The models a check hands to a student's function, and what it expects of the models
(and callbacks) a student's function returns.

``dense_stack`` and ``regularizer`` build arguments here, as plain data for the wire;
``expect_compiled``, ``expect_compiled_adam_mse`` and ``expect_input_dim`` read a model
``grader.checks.rebuild.rebuild`` made of an answer; ``callback_settings`` reads a callback.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks import fail
from grader.checks.rebuild import (
    MEAN_REDUCTIONS,
    CompileSpec,
    LayerSpec,
    ModelSpec,
    activation_name,
    build_model,
    checked_factors,
    model_spec,
)
from grader.sandbox.wire import KerasObject

__all__ = [
    "callback_settings",
    "dense_stack",
    "expect_compiled",
    "expect_compiled_adam_mse",
    "expect_input_dim",
    "regularizer",
    "to_wire",
]


def to_wire(model: Any) -> KerasObject:
    """A trusted live model as plain data, to send to the worker or to the reference."""
    from grader.sandbox.convert import Converter

    result = Converter().to_plain(model)
    if not isinstance(result, KerasObject):
        raise TypeError(f"expected a Keras model, got {type(model).__name__}")
    return result


def regularizer(class_name: str, **factors: float) -> KerasObject:
    """A regularizer argument for a student function, e.g. ``regularizer("L2", l2=0.01)``."""
    config = {
        "module": "keras.regularizers",
        "class_name": class_name,
        "config": {k: float(v) for k, v in factors.items()},
        "registered_name": None,
    }
    return KerasObject("regularizer", config)


def dense_stack(
    layers: list[tuple[int, str, KerasObject | None]],
    *,
    input_dim: int,
    seed: int,
    scale: float = 0.5,
) -> KerasObject:
    """A compiled Sequential model of Dense layers ``(units, activation, regularizer)``
    with non-trivial random weights, built here and sent as plain data. Sequential, like
    the course's models: ``model.layers`` holds only the Dense layers."""
    specs = tuple(
        LayerSpec(
            "Dense",
            units=units,
            activation=_activation_name(activation),
            kernel=None if reg is None else checked_factors(reg.config),
        )
        for units, activation, reg in layers
    )
    mse = CompileSpec("Adam", True, None, "mean_squared_error", True)
    spec = ModelSpec((input_dim,), specs, mse)
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.0, scale, size=s).astype("float32") for s in spec.weight_shapes()]
    return to_wire(build_model(spec, weights))


def _activation_name(name: str) -> str:
    found = activation_name(name)
    if found is None:
        raise ValueError(f"no Keras activation {name!r}")  # the grader's own argument
    return found


def callback_settings(value: Any, what: str, class_name: str) -> dict[str, Any]:
    """The settings of a callback that crossed the wire (``monitor``, ``patience``...);
    fail clearly unless it is a ``keras.callbacks.<class_name>``."""
    expected = f"{what} to return a keras.callbacks.{class_name} object"
    hint = f"create it with keras.callbacks.{class_name}(...) and return it."
    if not isinstance(value, KerasObject) or value.kind != "callback":
        found = f"a Keras {value.kind}" if isinstance(value, KerasObject) else None
        raise fail(expected, found or f"a {type(value).__name__}", hint)
    module = value.config.get("module")
    if value.class_name != class_name or module != "keras.callbacks":
        where = "" if module == "keras.callbacks" else f" defined in {module}"
        raise fail(expected, f"a {value.class_name} callback{where}", hint)
    return dict(value.inner_config)


def _compiled(model: Any, call: str) -> CompileSpec:
    spec = model_spec(model)
    compiled = spec.compile if spec is not None else None
    if compiled is None:
        raise fail(
            f"{call} should return a compiled model",
            "a model that was never compiled",
            'compile it with optimizer="adam" and loss="mse" before returning it.',
        )
    return compiled


def expect_compiled(model: Any, call: str) -> None:
    """Fail unless the rebuilt ``model`` is compiled with a loss the grader rebuilt, so
    that ``evaluate()`` can run: a loss it does not know is never resolved."""
    compiled = _compiled(model, call)
    if not compiled.loss_known:
        raise fail(
            f"{call} should be compiled with a Keras loss",
            f"loss {compiled.loss}, which the grader does not rebuild",
            'use loss="mse".',
        )


def expect_compiled_adam_mse(model: Any, call: str) -> None:
    """Fail unless the rebuilt ``model`` was compiled with Adam and the MSE loss (in
    any spelling: "mse", a loss object, or Keras' function computing it), judged from the
    grader's spec of the model: no function the config names is called."""
    compiled = _compiled(model, call)
    if compiled.optimizer != "Adam" or not compiled.optimizer_known:
        raise fail(
            f"{call} should compile with the Adam optimizer",
            compiled.optimizer,
            'use optimizer="adam".',
        )
    if not (
        compiled.loss_known
        and compiled.loss == "mean_squared_error"
        and compiled.reduction in MEAN_REDUCTIONS
    ):
        found = compiled.loss if compiled.loss_known else f"loss {compiled.loss}"
        if compiled.loss_known and compiled.reduction not in MEAN_REDUCTIONS:
            found = f"{compiled.loss} with reduction {compiled.reduction!r}"
        raise fail(
            f"{call} should compile with the mean squared error loss",
            found,
            'use loss="mse".',
        )


def expect_input_dim(model: Any, dim: int, what: str) -> None:
    """Fail (as the student's mistake) before the grader feeds ``dim``-feature data to a
    rebuilt model that cannot take it: inside Keras that would be a grader error."""
    shape = tuple(getattr(model, "input_shape", ()) or ())
    if shape != (None, dim):
        raise fail(
            f"{what} to take inputs of shape (None, {dim})",
            f"input shape {shape}",
            "start the model with keras.Input((input_dim,)) and pass input_dim on.",
        )
