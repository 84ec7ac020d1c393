"""What the grader rebuilds of a model that crossed the wire, and how.

A student's model is never deserialized by Keras here: ``rebuild`` reads its config into
the grader's own spec (``parse_model``: a closed list of layers, activations,
regularizers, losses and optimizers), refuses anything else as the student's failure, and
builds the live model from the spec with the grader's code (``build_model``). A model that
was never built, or is too large, is refused before anything is allocated.

Regularizers are read as their effective factors (``regularizer_factors``), so
``L2(0.05)``, ``l2(0.05)``, ``"l2"`` with the default and ``L1L2(l1=0, l2=0.05)`` are
all the same L2 penalty.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from grader.checks import fail
from grader.errors import StudentError
from grader.sandbox.wire import KerasObject

__all__ = [
    "MAX_FACTOR",
    "MAX_REBUILT_PARAMETERS",
    "MEAN_REDUCTIONS",
    "REBUILT_KINDS",
    "CompileSpec",
    "Factors",
    "LayerSpec",
    "ModelSpec",
    "activation_name",
    "build_model",
    "check_config",
    "checked_factors",
    "config_names",
    "display_activation",
    "live_object",
    "live_regularizer",
    "model_spec",
    "parse_model",
    "rebuild",
    "regularizer_factors",
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
# rebuild and its time to train (no time limit runs there), so it is refused: counted
# from the grader's spec of it before Keras allocates anything.
MAX_REBUILT_PARAMETERS = 1_000_000


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


def _too_big(what: str, parameters: int) -> StudentError:
    return StudentError(
        f"The model returned by {what} is too large to rebuild: about {parameters:,} "
        f"parameters, where the grader rebuilds models of at most "
        f"{MAX_REBUILT_PARAMETERS:,}.",
        kind="bad_return",
    )


# -- the grader's own description of a model ----------------------------------------------
#
# A student's model is never deserialized by Keras here: its config is read into the
# specs below (a closed list of layer kinds, activation, loss and optimizer names, and
# regularizer factors), and the live model is built from the spec by the grader's code.
# Nothing a config names is executed or resolved to a callable, so no config can change
# Keras' global state, and two spellings of one network (Sequential, functional, a loop
# of add, nested Sequential, tf.keras, l2() or L1L2(l2=...)) rebuild to the same model.

REBUILT_KINDS = (
    "Dense",
    "Dropout",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "Flatten",
    "GaussianNoise",
)
_SUPPORTED = (
    f"the grader rebuilds models made of {', '.join(REBUILT_KINDS[:-1])} and "
    f"{REBUILT_KINDS[-1]} layers (Sequential, functional or nested), with Keras "
    "activations, L1/L2 regularizers and float32 weights."
)
_MAX_LAYERS = 64
_MAX_DEPTH = 4
_MAX_INPUT_SIZE = 1_000_000
MAX_FACTOR = 1e6
# Every spelling Keras accepts, mapped to the name Keras serializes back.
_ACTIVATIONS: dict[str, str] = {
    name: name
    for name in [
        "linear",
        "relu",
        "relu6",
        "tanh",
        "sigmoid",
        "hard_sigmoid",
        "softmax",
        "log_softmax",
        "elu",
        "selu",
        "celu",
        "gelu",
        "softplus",
        "softsign",
        "silu",
        "leaky_relu",
        "exponential",
        "mish",
        "hard_silu",
        "hard_tanh",
        "log_sigmoid",
    ]
} | {"swish": "silu", "hard_swish": "hard_silu"}
_LOSS_CLASSES = {
    "mean_squared_error": "MeanSquaredError",
    "mean_absolute_error": "MeanAbsoluteError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
    "huber": "Huber",
    "log_cosh": "LogCosh",
}
_LOSSES: dict[str, str] = (
    {name: name for name in _LOSS_CLASSES}
    | {cls: name for name, cls in _LOSS_CLASSES.items()}
    | {"mse": "mean_squared_error", "MSE": "mean_squared_error"}
    | {"mae": "mean_absolute_error", "MAE": "mean_absolute_error"}
    | {"mape": "mean_absolute_percentage_error", "MAPE": "mean_absolute_percentage_error"}
    | {"msle": "mean_squared_logarithmic_error", "MSLE": "mean_squared_logarithmic_error"}
    | {"logcosh": "log_cosh"}
)
# Reductions whose value on a batch is the mean of the per-example losses.
MEAN_REDUCTIONS = frozenset(["sum_over_batch_size", "mean", "mean_with_sample_weight"])
_REDUCTIONS = MEAN_REDUCTIONS | {"sum"}
_OPTIMIZERS: dict[str, str] = {
    name.lower(): name
    for name in (
        [
            "Adam",
            "AdamW",
            "Adadelta",
            "Adafactor",
            "Adagrad",
            "Adamax",
            "Ftrl",
            "Lamb",
            "Lion",
            "Nadam",
            "RMSprop",
            "SGD",
        ]
    )
}


class _Refused(Exception):
    """Part of a config outside what the grader rebuilds; the text says which."""


class _Unbuilt(Exception):
    """A model config without an input shape."""


@dataclass(frozen=True)
class LayerSpec:
    """One layer as the grader rebuilds it; fields that do not apply to ``kind`` keep
    their defaults."""

    kind: str
    units: int | None = None
    activation: str | None = None
    use_bias: bool = True
    kernel: Factors | None = None
    bias: Factors | None = None
    activity: Factors | None = None
    rate: float | None = None  # Dropout's rate, GaussianNoise's stddev
    always_on: bool = False  # Dropout called with training=True in a functional model
    trainable: bool = True


@dataclass(frozen=True)
class CompileSpec:
    """How a model was compiled, as far as checks read it. A name outside the grader's
    lists is kept as written (``*_known`` false) for messages, and never resolved."""

    optimizer: str
    optimizer_known: bool
    learning_rate: float | None
    loss: str  # the canonical name ("mean_squared_error") when known
    loss_known: bool
    reduction: str = "sum_over_batch_size"
    delta: float | None = None  # Huber's


@dataclass(frozen=True)
class ModelSpec:
    """A model as the grader rebuilds it: a chain of layers after one input."""

    input_shape: tuple[int, ...]
    layers: tuple[LayerSpec, ...]
    compile: CompileSpec | None = None

    def weight_shapes(self) -> list[tuple[int, ...]]:
        """The shapes of the weights, in the order Keras lists them."""
        shapes: list[tuple[int, ...]] = []
        current = self.input_shape
        for layer in self.layers:
            if layer.kind == "Dense" and layer.units is not None:
                shapes.append((current[-1], layer.units))
                if layer.use_bias:
                    shapes.append((layer.units,))
                current = (*current[:-1], layer.units)
            elif layer.kind == "Flatten":
                current = (math.prod(current),)
        return shapes

    def parameter_count(self) -> int:
        return sum(math.prod(shape) for shape in self.weight_shapes())

    def architecture_key(self) -> str:
        """Every field that decides what the model computes and how it trains, in order:
        two models share it only when they are the same network."""
        return json.dumps(
            {"input": list(self.input_shape), "layers": [asdict(x) for x in self.layers]},
            sort_keys=True,
        )


def _number(value: Any, what: str, low: float, high: float, *, closed_high: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Refused(f"{what} is {value!r}, not a number")
    number = float(value)
    if not (
        math.isfinite(number)
        and low <= number
        and (number <= high if closed_high else number < high)
    ):
        raise _Refused(f"{what} is {number!r}, outside [{low:g}, {high:g}]")
    return number


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise _Refused(f"{what} is {value!r}, not True or False")
    return value


def _f32(value: float) -> float:
    # Keras keeps factors as float32: L2(0.05) and L1L2(l2=0.05) are then the same number.
    return float(np.float32(value))


def checked_factors(config: Any, what: str = "a regularizer") -> Factors | None:
    """A regularizer's factors, finite and non-negative, or ``_Refused``."""
    factors = regularizer_factors(config)
    if factors is None:
        return None
    if factors.unknown:
        raise _Refused(f"{what} is a {factors.unknown}, not L1, L2 or L1L2")
    if isinstance(config, dict):
        module = config.get("module")
        if module is not None and not _keras_module(module):
            raise _Refused(f"{what} comes from {module}, not from Keras")
        inner = config.get("config")
        for key, value in (inner if isinstance(inner, dict) else {}).items():
            if key in ("l1", "l2"):
                _number(value, f"{what}'s {key} factor", 0.0, MAX_FACTOR)
    l1 = _number(factors.l1, f"{what}'s l1 factor", 0.0, MAX_FACTOR)
    l2 = _number(factors.l2, f"{what}'s l2 factor", 0.0, MAX_FACTOR)
    return Factors(_f32(l1), _f32(l2))


def _keras_module(module: Any) -> bool:
    return isinstance(module, str) and (module == "keras" or module.startswith("keras."))


def _item(value: Any, where: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise _Refused(f"{where} is not a Keras config")
    class_name, module = value.get("class_name"), value.get("module")
    if not isinstance(class_name, str):
        raise _Refused(f"{where} has no class name")
    if module is not None and not _keras_module(module):
        raise _Refused(f"{where} is a {class_name} from {module}, which is not part of Keras")
    registered = value.get("registered_name")
    if registered not in (None, class_name):
        raise _Refused(f"{where} is a custom registered object ({registered})")
    inner = value.get("config")
    if not isinstance(inner, dict):
        raise _Refused(f"{where} ({class_name}) has no config")
    return class_name, inner


def activation_name(value: Any) -> str | None:
    """The canonical name of an activation in a config (a name, or Keras' reference to a
    function by name); None when it is not one the grader rebuilds."""
    if value is None:
        return "linear"
    if isinstance(value, dict) and value.get("class_name") == "function":
        value = value.get("config")
    return _ACTIVATIONS.get(value) if isinstance(value, str) else None


def display_activation(value: Any) -> str:
    name = activation_name(value)
    if name is not None:
        return name
    if isinstance(value, dict):
        return str(value.get("config", value.get("class_name", "?")))
    return str(value)


def _activation(value: Any, where: str) -> str:
    name = activation_name(value)
    if name is None:
        raise _Refused(
            f"{where} uses the activation {display_activation(value)!r}, which is not one "
            f"of Keras' activations ({', '.join(sorted(_ACTIVATIONS))})"
        )
    return name


def _shape(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise _Refused(f"{where} has no input shape the grader can read")
    batch, *dims = value
    if not (batch is None or (type(batch) is int and batch > 0)):
        raise _Refused(f"{where} has the batch size {batch!r}")
    if not all(type(n) is int and 0 < n <= _MAX_INPUT_SIZE for n in dims):
        raise _Refused(f"{where} has the input shape {tuple(dims)}")
    if math.prod(dims) > _MAX_INPUT_SIZE:
        raise _Refused(f"{where} takes inputs of {math.prod(dims):,} numbers")
    return tuple(dims)


def _input_shape(config: dict[str, Any]) -> tuple[int, ...]:
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    return _shape(shape, "the model's Input")


def _layer(class_name: str, config: dict[str, Any], always_on: bool) -> LayerSpec:
    where = f"a {class_name} layer"
    trainable = _flag(config.get("trainable", True), f"{where}'s trainable")
    if always_on and class_name != "Dropout":
        raise _Refused(f"{where} is called with training=True")
    if class_name == "Dense":
        units = config.get("units")
        if type(units) is not int or not 0 < units <= _MAX_UNITS:
            raise _Refused(f"{where} has {units!r} units")
        for key in ("kernel_constraint", "bias_constraint", "lora_rank", "quantization_config"):
            if config.get(key) is not None:
                raise _Refused(f"{where} has a {key}, which the grader does not rebuild")
        return LayerSpec(
            "Dense",
            units=units,
            activation=_activation(config.get("activation"), where),
            use_bias=_flag(config.get("use_bias", True), f"{where}'s use_bias"),
            kernel=checked_factors(config.get("kernel_regularizer"), "its kernel regularizer"),
            bias=checked_factors(config.get("bias_regularizer"), "its bias regularizer"),
            activity=checked_factors(
                config.get("activity_regularizer"), "its activity regularizer"
            ),
            trainable=trainable,
        )
    if class_name == "Dropout":
        if config.get("noise_shape") is not None:
            raise _Refused(f"{where} has a noise_shape, which the grader does not rebuild")
        rate = _number(config.get("rate"), f"{where}'s rate", 0.0, 1.0, closed_high=False)
        return LayerSpec("Dropout", rate=rate, always_on=always_on, trainable=trainable)
    if class_name == "GaussianNoise":
        stddev = _number(config.get("stddev"), f"{where}'s stddev", 0.0, 1e3)
        return LayerSpec("GaussianNoise", rate=stddev, trainable=trainable)
    if class_name == "Activation":
        return LayerSpec(
            "Activation",
            activation=_activation(config.get("activation"), where),
            trainable=trainable,
        )
    if class_name == "ReLU":
        defaults = {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}
        if any(config.get(key, value) != value for key, value in defaults.items()):
            raise _Refused(f"{where} has settings other than the plain relu")
        return LayerSpec("ReLU", trainable=trainable)
    if class_name == "LeakyReLU":
        slope = _number(config.get("negative_slope", 0.3), f"{where}'s slope", 0.0, 1e3)
        return LayerSpec("LeakyReLU", rate=slope, trainable=trainable)
    if class_name == "Flatten":
        if config.get("data_format") not in (None, "channels_last"):
            raise _Refused(f"{where} has data_format {config.get('data_format')!r}")
        return LayerSpec("Flatten", trainable=trainable)
    raise _Refused(f"it contains a {class_name} layer")


def _part(
    class_name: str, config: dict[str, Any], depth: int, always_on: bool = False
) -> tuple[tuple[int, ...] | None, list[LayerSpec]]:
    """A layer, or a nested model's input shape and layers."""
    if class_name in ("Sequential", "Functional", "Model"):
        if always_on:
            raise _Refused(f"a nested {class_name} model is called with training=True")
        return _container(class_name, config, depth + 1)
    return None, [_layer(class_name, config, always_on)]


def _container(
    class_name: str, config: dict[str, Any], depth: int
) -> tuple[tuple[int, ...] | None, list[LayerSpec]]:
    if depth > _MAX_DEPTH:
        raise _Refused("its models are nested too deeply")
    items = config.get("layers")
    if not isinstance(items, list) or len(items) > _MAX_LAYERS:
        raise _Refused(f"a {class_name} model whose layers the grader cannot read")
    trainable = _flag(config.get("trainable", True), f"a {class_name} model's trainable")
    if class_name == "Sequential":
        shape, layers = _sequential(items, config, depth)
    else:
        shape, layers = _functional(items, config, depth)
    if not trainable:
        layers = [replace(layer, trainable=False) for layer in layers]
    return shape, layers


def _sequential(
    items: list[Any], config: dict[str, Any], depth: int
) -> tuple[tuple[int, ...] | None, list[LayerSpec]]:
    shape: tuple[int, ...] | None = None
    layers: list[LayerSpec] = []
    for index, item in enumerate(items):
        class_name, inner = _item(item, f"layer {index + 1}")
        if class_name == "InputLayer":
            if index != 0:
                raise _Refused("a Sequential model has an Input after its first layer")
            shape = _input_shape(inner)
            continue
        inner_shape, parts = _part(class_name, inner, depth)
        if index == 0 and shape is None:
            shape = inner_shape
        layers.extend(parts)
    built = config.get("build_input_shape")
    if shape is None and built is not None:
        shape = _shape(built, "the model")
    return shape, layers


def _endpoints(value: Any, what: str) -> str:
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    if not (isinstance(value, list) and len(value) == 3 and value[1:] == [0, 0]):
        raise _Refused(f"a functional model with several {what}, or {what} it cannot read")
    name = value[0]
    if not isinstance(name, str):
        raise _Refused(f"a functional model whose {what} it cannot read")
    return name


def _functional(
    items: list[Any], config: dict[str, Any], depth: int
) -> tuple[tuple[int, ...] | None, list[LayerSpec]]:
    """A functional model whose layers form one chain, each called once on the
    previous one's output, in the order the config lists them."""
    first = _endpoints(config.get("input_layers"), "inputs")
    last = _endpoints(config.get("output_layers"), "outputs")
    if not items:
        raise _Refused("a functional model without layers")
    class_name, inner = _item(items[0], "the first layer")
    if class_name != "InputLayer" or _name(items[0], inner) != first:
        raise _Refused("a functional model that does not start with its Input")
    shape = _input_shape(inner)
    layers: list[LayerSpec] = []
    previous = first
    for index, item in enumerate(items[1:], start=2):
        class_name, inner = _item(item, f"layer {index}")
        always_on = _chained_call(item, previous, class_name)
        layers.extend(_part(class_name, inner, depth, always_on)[1])
        previous = _name(item, inner)
    if previous != last:
        raise _Refused("a functional model whose output is not its last layer")
    return shape, layers


def _name(item: dict[str, Any], inner: dict[str, Any]) -> str:
    name = item.get("name", inner.get("name"))
    if not isinstance(name, str):
        raise _Refused("a functional model with a nameless layer")
    return name


def _chained_call(item: dict[str, Any], previous: str, class_name: str) -> bool:
    """Whether the layer is called on ``previous``'s output alone; True when it is called
    with ``training=True``."""
    nodes = item.get("inbound_nodes")
    broken = _Refused(
        f"a functional model whose {class_name} layer is not called once on the previous "
        "layer's output (the grader rebuilds chains of layers)"
    )
    if not isinstance(nodes, list) or len(nodes) != 1 or not isinstance(nodes[0], dict):
        raise broken
    args, kwargs = nodes[0].get("args"), nodes[0].get("kwargs", {})
    if not isinstance(args, list) or len(args) != 1 or not isinstance(kwargs, dict):
        raise broken
    tensor = args[0]
    history = tensor.get("config", {}).get("keras_history") if isinstance(tensor, dict) else None
    if not (
        isinstance(tensor, dict)
        and tensor.get("class_name") == "__keras_tensor__"
        and history == [previous, 0, 0]
    ):
        raise broken
    training = kwargs.get("training")
    others = {k: v for k, v in kwargs.items() if k != "training" and v is not None}
    if others or training not in (None, True, False):
        raise _Refused(
            f"a {class_name} layer is called with arguments the grader does not rebuild "
            f"({', '.join(sorted(kwargs))})"
        )
    # training=False on a node changes nothing: Keras passes the model's own training
    # flag over it whenever it is given, and leaves dropout off otherwise.
    return training is True


def _reduction(value: Any) -> str:
    if value is None:
        raise _Refused("the loss has no reduction")
    if value not in _REDUCTIONS:
        raise _Refused(f"the loss reduction {value!r}")
    return str(value)


def _loss(value: Any) -> tuple[str, bool, str, float | None]:
    """``(name, known, reduction, delta)`` of a compiled loss."""
    default = "sum_over_batch_size"
    # One loss for the one output, in a list or under the output's name.
    if isinstance(value, list) and len(value) == 1:
        return _loss(value[0])
    if isinstance(value, dict) and len(value) == 1 and "class_name" not in value:
        return _loss(next(iter(value.values())))
    if isinstance(value, str):
        name = _LOSSES.get(value)
        return (name, True, default, None) if name else (repr(value), False, default, None)
    if isinstance(value, dict) and value.get("class_name") == "function":
        raw = value.get("config")
        name = _LOSSES.get(raw) if isinstance(raw, str) else None
        return (name, True, default, None) if name else (repr(raw), False, default, None)
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        class_name = value["class_name"]
        name = _LOSSES.get(class_name) if _keras_module(value.get("module", "keras")) else None
        inner = value.get("config")
        if name is None or not isinstance(inner, dict):
            return class_name, False, default, None
        try:
            reduction = _reduction(inner.get("reduction", default))
            delta = None
            if name == "huber":
                delta = _number(inner.get("delta", 1.0), "Huber's delta", 1e-12, 1e6)
        except _Refused:
            return f"{class_name}(reduction={inner.get('reduction')!r})", False, default, None
        return name, True, reduction, delta
    return type(value).__name__ if value is not None else "no loss", False, default, None


def _optimizer(value: Any) -> tuple[str, bool, float | None]:
    if isinstance(value, str):
        name = _OPTIMIZERS.get(value.lower())
        return (name, True, None) if name else (repr(value), False, None)
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        class_name = value["class_name"]
        name = _OPTIMIZERS.get(class_name.lower())
        known = name == class_name and _keras_module(value.get("module", "keras"))
        inner = value.get("config")
        rate = inner.get("learning_rate") if isinstance(inner, dict) else None
        # A schedule, or a rate no optimizer would use, leaves the default: no check
        # trains with the student's optimizer.
        if (
            isinstance(rate, bool)
            or not isinstance(rate, (int, float))
            or not (math.isfinite(rate) and 0 < rate <= 10)
        ):
            rate = None
        return class_name, known, None if rate is None else float(rate)
    return type(value).__name__, False, None


def _compile(value: Any) -> CompileSpec | None:
    if not isinstance(value, dict) or value.get("optimizer") is None:
        return None
    optimizer, optimizer_known, rate = _optimizer(value["optimizer"])
    loss, loss_known, reduction, delta = _loss(value.get("loss"))
    weights = value.get("loss_weights")
    if weights is not None and weights not in (1, 1.0, [1], [1.0]):
        loss, loss_known = f"{loss} with loss_weights {weights!r}", False
    # Metrics are left out: they change what evaluate() returns, never the model.
    return CompileSpec(optimizer, optimizer_known, rate, loss, loss_known, reduction, delta)


def parse_model(config: Any) -> ModelSpec:
    """The grader's spec of a model config; ``_Refused`` or ``_Unbuilt`` otherwise."""
    class_name, inner = _item(config, "the returned value")
    if class_name not in ("Sequential", "Functional", "Model"):
        raise _Refused(f"it is a {class_name}, not a Sequential or functional model")
    shape, layers = _container(class_name, inner, 0)
    if shape is None:
        raise _Unbuilt
    return ModelSpec(shape, tuple(layers), _compile(config.get("compile_config")))


class _AlwaysOnDropout:
    """Placeholder replaced by a Keras subclass on first use (Keras imports lazily)."""


_DROPOUT_CLASS: list[type] = []


def _always_on_dropout() -> type:
    # Dropout called with training=True in a functional model: on unless the caller says
    # otherwise, which is what Keras does with such a node (model(x) keeps it on,
    # predict() and model(x, training=False) turn it off).
    if not _DROPOUT_CLASS:
        import keras

        class Dropout(keras.layers.Dropout):
            def call(self, inputs: Any, training: Any = None) -> Any:
                return super().call(inputs, training=True if training is None else training)

        _DROPOUT_CLASS.append(Dropout)
    return _DROPOUT_CLASS[0]


def live_regularizer(factors: Factors | None) -> Any:
    """A Keras regularizer with ``factors``, built by the grader."""
    import keras

    if factors is None:
        return None
    if factors.l1 and not factors.l2:
        return keras.regularizers.L1(factors.l1)
    if factors.l2 and not factors.l1:
        return keras.regularizers.L2(factors.l2)
    return keras.regularizers.L1L2(l1=factors.l1, l2=factors.l2)


def _live_layer(layer: LayerSpec, index: int) -> Any:
    import keras

    name = f"{layer.kind.lower()}_{index}"
    common: dict[str, Any] = {"name": name, "dtype": "float32", "trainable": layer.trainable}
    if layer.kind == "Dense":
        return keras.layers.Dense(
            layer.units,
            activation=layer.activation,
            use_bias=layer.use_bias,
            kernel_initializer="zeros",  # the weights that came with the model replace them
            bias_initializer="zeros",
            kernel_regularizer=live_regularizer(layer.kernel),
            bias_regularizer=live_regularizer(layer.bias),
            activity_regularizer=live_regularizer(layer.activity),
            **common,
        )
    # Seeds fixed by the grader: no draw from Keras' global seed state.
    if layer.kind == "Dropout":
        dropout = _always_on_dropout() if layer.always_on else keras.layers.Dropout
        return dropout(layer.rate, seed=1000 + index, **common)
    if layer.kind == "GaussianNoise":
        return keras.layers.GaussianNoise(layer.rate, seed=1000 + index, **common)
    if layer.kind == "Activation":
        return keras.layers.Activation(layer.activation, **common)
    if layer.kind == "Flatten":
        return keras.layers.Flatten(**common)
    if layer.kind == "ReLU":
        return keras.layers.ReLU(**common)
    if layer.kind == "LeakyReLU":
        return keras.layers.LeakyReLU(negative_slope=layer.rate, **common)
    raise ValueError(f"no layer kind {layer.kind}")  # specs are made by parse_model only


def _compile_live(model: Any, spec: CompileSpec) -> None:
    import keras

    if not spec.loss_known:
        return  # never resolved; checks read the spec, which says what it was
    loss_class = getattr(keras.losses, _LOSS_CLASSES[spec.loss])
    loss_args: dict[str, Any] = {"reduction": spec.reduction}
    if spec.delta is not None:
        loss_args["delta"] = spec.delta
    optimizer_class = getattr(keras.optimizers, spec.optimizer if spec.optimizer_known else "SGD")
    rate = {} if spec.learning_rate is None else {"learning_rate": spec.learning_rate}
    model.compile(optimizer=optimizer_class(**rate), loss=loss_class(**loss_args))


def build_model(spec: ModelSpec, weights: list[np.ndarray] | None = None) -> Any:
    """The live Keras model of ``spec``, made by the grader, with ``weights`` (already
    checked against ``spec.weight_shapes()``), compiled as the spec says, without metrics."""
    import keras

    layers = [keras.Input(spec.input_shape, dtype="float32", name="input")]
    layers += [_live_layer(layer, index) for index, layer in enumerate(spec.layers)]
    model = keras.Sequential(layers, name="rebuilt")
    if weights is not None:
        model.set_weights(weights)
    if spec.compile is not None:
        _compile_live(model, spec.compile)
    object.__setattr__(model, "_grader_spec", spec)  # not a tracked Keras attribute
    return model


def model_spec(model: Any) -> ModelSpec | None:
    """The spec a model was built from by ``build_model``; None for any other model."""
    spec = getattr(model, "_grader_spec", None)
    return spec if isinstance(spec, ModelSpec) else None


def _checked_weights(spec: ModelSpec, weights: tuple[np.ndarray, ...]) -> list[np.ndarray] | None:
    shapes = spec.weight_shapes()
    found = [tuple(np.shape(w)) for w in weights]
    if not weights:
        return None  # none sent at all: the grader's zeros, deterministic
    if found != shapes:
        raise _Refused(f"its weights have the shapes {found}, where its layers need {shapes}")
    arrays = []
    for array in weights:
        if np.asarray(array).dtype.kind not in "biuf":
            raise _Refused(f"a weight of dtype {np.asarray(array).dtype}")
        with np.errstate(over="ignore", invalid="ignore"):
            value = np.array(array, dtype=np.float32)
        if not np.all(np.isfinite(value)):
            raise _Refused("a weight that is not finite in float32 (NaN, inf or too large)")
        arrays.append(value)
    return arrays


def _without_compile(config: dict[str, Any]) -> dict[str, Any]:
    # How a model was compiled is read by name only (a loss or metric of the student's
    # own is a compile setting the grader does not know, not a reason to refuse the model).
    return {k: v for k, v in config.items() if k != "compile_config"}


def _refused(what: str, detail: str) -> StudentError:
    return StudentError(
        f"The model returned by {what} could not be rebuilt: {detail}; {_SUPPORTED}",
        kind="bad_return",
    )


def rebuild(obj: KerasObject, what: str) -> Any:
    """A live Keras model (compiled if it was) from a model that crossed the wire, built
    by the grader from its spec; a config outside the spec's lists is the student's
    failure, and is never handed to Keras."""
    if not isinstance(obj, KerasObject) or obj.kind != "model":
        found = obj.kind if isinstance(obj, KerasObject) else type(obj).__name__
        raise fail(f"{what} to return a keras Model", f"a {found}")
    check_config(_without_compile(obj.config))  # names outside Keras: a clear refusal
    try:
        spec = parse_model(obj.config)
    except _Unbuilt:
        # Checks cannot inspect a model without an input shape or weights.
        raise fail(
            f"{what} to return a built model with an input shape",
            "a model that was never built (no Input, no weights)",
            "start the model with keras.Input((input_dim,)).",
        ) from None
    except _Refused as exc:
        raise _refused(what, str(exc)) from None
    if spec.parameter_count() > MAX_REBUILT_PARAMETERS:
        raise _too_big(what, spec.parameter_count())
    try:
        weights = _checked_weights(spec, obj.weights)
    except _Refused as exc:
        raise _refused(what, str(exc)) from None
    return build_model(spec, weights)


def live_object(obj: KerasObject) -> Any:
    """A wire model, layer or regularizer as a live Keras object built by the grader (the
    trusted side's ``Converter`` uses it to give wire values to the reference)."""
    what = "a value given to the reference solution"
    if obj.kind == "model":
        return rebuild(obj, what)
    try:
        if obj.kind == "regularizer":
            return live_regularizer(checked_factors(obj.config))
        if obj.kind == "layer":
            return _live_single_layer(obj)
    except _Refused as exc:
        raise StudentError(
            f"The {obj.kind} given to the reference solution could not be rebuilt: {exc}.",
            kind="bad_return",
        ) from None
    raise StudentError(f"A Keras {obj.kind} cannot be rebuilt here.", kind="bad_return")


def _live_single_layer(obj: KerasObject) -> Any:
    class_name, inner = _item(obj.config, "the layer")
    spec = _layer(class_name, inner, False)
    layer = _live_layer(spec, 0)
    if obj.weights:
        fan_in = np.shape(obj.weights[0])[0] if spec.kind == "Dense" else 0
        model = ModelSpec((int(fan_in),), (spec,)) if fan_in else None
        if model is None:
            raise _Refused("weights for a layer that has none")
        arrays = _checked_weights(model, obj.weights)
        layer.build((None, int(fan_in)))
        layer.set_weights(arrays)
    return layer
