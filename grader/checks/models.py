"""Keras-aware helpers: read layers, regularizers and models that crossed the wire.

Regularizers are compared by their effective factors, so ``L2(0.05)``, ``l2(0.05)``,
``"l2"`` with the default and ``L1L2(l1=0, l2=0.05)`` are all the same L2 penalty.
Models are rebuilt here from config and weights only after the config is checked to
name nothing outside Keras and to be small enough, and with Keras's safe mode (no Lambda
code); a model that was never built, or is too large once built, is refused.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.checks import fail
from grader.errors import StudentError
from grader.sandbox.wire import KerasObject

__all__ = [
    "MAX_REBUILT_PARAMETERS",
    "DenseSummary",
    "Factors",
    "callback_settings",
    "canonical_config",
    "check_config",
    "config_names",
    "dense_layers",
    "dense_stack",
    "dense_summary",
    "describe_factors",
    "describe_layer",
    "estimated_parameters",
    "expect_input_dim",
    "layer_summary",
    "rebuild",
    "regularizer",
    "regularizer_factors",
    "same_layer",
    "to_wire",
]

_REGULARIZER_DEFAULTS = {
    "L1": {"l1": 0.01},
    "L2": {"l2": 0.01},
    "L1L2": {"l1": 0.0, "l2": 0.0},
    "l1": {"l1": 0.01},
    "l2": {"l2": 0.01},
    "l1l2": {"l1": 0.0, "l2": 0.0},
    "l1_l2": {"l1": 0.01, "l2": 0.01},
}
_FORBIDDEN_CLASSES = frozenset(["Lambda", "TFSMLayer", "__lambda__"])
_MAX_UNITS = 100_000
# The models the grader rebuilds are the course's: thousands of parameters. A model that
# comes from a student and is much bigger would cost the grading process its memory to
# rebuild and its time to train (no time limit runs there), so it is refused: estimated
# from the config before Keras allocates anything, and counted once it is built.
MAX_REBUILT_PARAMETERS = 1_000_000
_SIZE_KEYS = ("units", "filters", "input_dim", "output_dim")
_SHAPE_KEYS = ("batch_shape", "input_shape", "build_input_shape", "shape")


@dataclass(frozen=True)
class Factors:
    """The effective strength of a regularizer: penalty = l1*sum|W| + l2*sum(W^2)."""

    l1: float
    l2: float
    unknown: str = ""  # the class name of a regularizer the grader cannot read

    def matches(self, other: Factors) -> bool:
        return not self.unknown and not other.unknown and _close(self, other)


def config_names(config: Any) -> dict[str, str]:
    """The names in a Keras config (of layers, models, optimizers), each mapped to its
    order of first appearance. A dtype policy's name (``float32``) means something and
    is kept."""
    names: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "DTypePolicy" in str(value.get("class_name", "")):
                return
            name = value.get("name")
            if isinstance(name, str):
                names.setdefault(name, f"<name {len(names)}>")
            for key in sorted(value):
                walk(value[key])
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(config)
    return names


def canonical_config(config: Any) -> str:
    """A Keras config as JSON text that two equal models share whatever Keras named their
    layers (``dense_7``: the count of layers made before it in that process)."""
    names = config_names(config)

    def rename(value: Any) -> Any:
        if isinstance(value, str):
            return names.get(value, value)
        if isinstance(value, dict):
            if "DTypePolicy" in str(value.get("class_name", "")):
                return value
            return {k: rename(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [rename(v) for v in value]
        return value

    return json.dumps(rename(config), sort_keys=True, default=repr)


def _close(a: Factors, b: Factors) -> bool:
    return math.isclose(a.l1, b.l1, rel_tol=1e-6, abs_tol=1e-12) and math.isclose(
        a.l2, b.l2, rel_tol=1e-6, abs_tol=1e-12
    )


NONE = Factors(0.0, 0.0)


def regularizer_factors(config: Any) -> Factors | None:
    """Factors of a serialized regularizer; None when there is no regularizer."""
    if config is None:
        return None
    if isinstance(config, str):
        name, params = config, {}
    elif isinstance(config, dict):
        name = str(config.get("class_name", ""))
        inner = config.get("config")
        params = inner if isinstance(inner, dict) else {}
    else:
        return Factors(0.0, 0.0, unknown=type(config).__name__)
    defaults = _REGULARIZER_DEFAULTS.get(name)
    if defaults is None:
        return Factors(0.0, 0.0, unknown=name or "unknown")
    values = {**defaults, **params}
    try:
        return Factors(float(values.get("l1", 0.0)), float(values.get("l2", 0.0)))
    except (TypeError, ValueError):
        return Factors(0.0, 0.0, unknown=name)


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
    activation = config.get("activation", "linear")
    if isinstance(activation, dict):
        activation = activation.get("config", activation.get("class_name", "?"))
    return DenseSummary(
        class_name="Dense",
        units=config.get("units"),
        activation=str(activation),
        kernel=regularizer_factors(config.get("kernel_regularizer")),
        bias=regularizer_factors(config.get("bias_regularizer")),
        activity=regularizer_factors(config.get("activity_regularizer")),
    )


def check_config(value: Any) -> None:
    """Refuse configs that name code outside Keras before Keras sees them."""
    if isinstance(value, dict):
        module = value.get("module")
        # Keras writes references to its own functions (losses, activations) as module
        # "builtins", class "function"; it resolves those names inside Keras only.
        keras_function = module == "builtins" and value.get("class_name") == "function"
        if isinstance(module, str) and module.split(".")[0] != "keras" and not keras_function:
            raise StudentError(
                f"The returned model uses {module}.{value.get('class_name')}, which is not "
                "part of Keras; the grader only rebuilds models made of Keras layers.",
                kind="bad_return",
            )
        if value.get("class_name") in _FORBIDDEN_CLASSES:
            raise StudentError(
                f"The returned model contains a {value.get('class_name')} layer, whose code "
                "the grader will not run; build the model from standard Keras layers.",
                kind="bad_return",
            )
        registered = value.get("registered_name")
        if registered not in (None, value.get("class_name")) and not keras_function:
            raise StudentError(
                "The returned model uses a custom registered object "
                f"({registered}); use standard Keras layers.",
                kind="bad_return",
            )
        units = value.get("units")
        if isinstance(units, int) and units > _MAX_UNITS:
            raise StudentError(
                f"The returned model has a layer with {units} units, more than the grader "
                "rebuilds.",
                kind="bad_return",
            )
        for item in value.values():
            check_config(item)
    elif isinstance(value, list):
        for item in value:
            check_config(item)


def estimated_parameters(config: Any) -> int:
    """An upper bound on the weights of the Dense, convolution and embedding layers a
    config describes, from its numbers alone: every layer's input is taken to be as wide
    as the widest size (or whole shape) the config names anywhere."""
    sizes: list[int] = [1]
    layers: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            layers.append(value)
            sizes.extend(value[k] for k in _SIZE_KEYS if type(value.get(k)) is int)
            for key in _SHAPE_KEYS:
                shape = value.get(key)
                if isinstance(shape, list):
                    dims = [n for n in shape if type(n) is int]
                    sizes.extend(dims)
                    sizes.append(math.prod(dims))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(config)
    widest = max(sizes) + 1  # + 1: the bias
    total = 0
    for layer in layers:
        units, filters = layer.get("units"), layer.get("filters")
        if type(units) is int:
            total += units * widest
        if type(filters) is int:
            kernel = layer.get("kernel_size")
            cells = kernel if type(kernel) is int else 1
            if isinstance(kernel, list) and all(type(k) is int for k in kernel):
                cells = math.prod(kernel)
            total += filters * cells * widest
        rows, columns = layer.get("input_dim"), layer.get("output_dim")
        if type(rows) is int and type(columns) is int:
            total += rows * columns
    return total


def _too_big(what: str, parameters: int) -> StudentError:
    return StudentError(
        f"The model returned by {what} is too large to rebuild: about {parameters:,} "
        f"parameters, where the grader rebuilds models of at most "
        f"{MAX_REBUILT_PARAMETERS:,}.",
        kind="bad_return",
    )


def _has_input_shape(model: Any) -> bool:
    try:
        model.input_shape  # noqa: B018 - raises for a model that was never built
    except (AttributeError, ValueError):
        return False
    return bool(model.built)


def rebuild(obj: KerasObject, what: str) -> Any:
    """A live Keras model (compiled if it was) from a model that crossed the wire."""
    import keras

    if not isinstance(obj, KerasObject) or obj.kind != "model":
        found = obj.kind if isinstance(obj, KerasObject) else type(obj).__name__
        raise fail(f"{what} to return a keras Model", f"a {found}")
    check_config(obj.config)
    estimate = estimated_parameters(obj.config)
    if estimate > MAX_REBUILT_PARAMETERS:
        raise _too_big(what, estimate)
    try:
        model = keras.saving.deserialize_keras_object(copy.deepcopy(obj.config), safe_mode=True)
        if obj.weights:
            model.set_weights([np.array(w) for w in obj.weights])
    except Exception as exc:
        raise StudentError(
            f"The model returned by {what} could not be rebuilt from its config: "
            f"{type(exc).__name__}: {str(exc)[:300]}",
            kind="bad_return",
        ) from None
    if not isinstance(model, keras.Model):
        raise fail(f"{what} to return a keras Model", f"a {type(model).__name__}")
    # A model that was never built has no input shape and no weights: checks cannot
    # inspect it, and what they would do with it would fail as the grader's fault.
    if not _has_input_shape(model):
        raise fail(
            f"{what} to return a built model with an input shape",
            "a model that was never built (no Input, no weights)",
            "start the model with keras.Input((input_dim,)).",
        )
    if model.count_params() > MAX_REBUILT_PARAMETERS:
        raise _too_big(what, model.count_params())
    return model


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
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((input_dim,))])
    for units, activation, reg in layers:
        kernel_regularizer = None if reg is None else keras.regularizers.get(dict(reg.config))
        model.add(
            keras.layers.Dense(units, activation=activation, kernel_regularizer=kernel_regularizer)
        )
    rng = np.random.default_rng(seed)
    model.set_weights(
        [rng.normal(0.0, scale, size=w.shape).astype("float32") for w in model.get_weights()]
    )
    model.compile(optimizer="adam", loss="mse")
    return to_wire(model)


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


def expect_compiled_adam_mse(model: Any, call: str) -> None:
    """Fail unless the rebuilt ``model`` was compiled with Adam and the MSE loss (in
    any spelling: "mse", a loss object, or a function computing it)."""
    import keras

    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise fail(
            f"{call} should return a compiled model",
            "a model that was never compiled",
            'compile it with optimizer="adam" and loss="mse" before returning it.',
        )
    if not isinstance(model.optimizer, keras.optimizers.Adam):
        raise fail(
            f"{call} should compile with the Adam optimizer",
            f"{type(model.optimizer).__name__}",
            'use optimizer="adam".',
        )
    rng = np.random.default_rng(7)
    y_true = rng.normal(size=(16, 1)).astype("float32")
    y_pred = rng.normal(size=(16, 1)).astype("float32")
    try:
        loss = keras.losses.get(model.loss)
        value = float(np.mean(keras.ops.convert_to_numpy(loss(y_true, y_pred))))
    except Exception:
        value = float("nan")
    if not np.isclose(value, float(np.mean((y_true - y_pred) ** 2)), rtol=1e-5):
        raise fail(
            f"{call} should compile with the mean squared error loss",
            f"loss {model.loss!r}",
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
