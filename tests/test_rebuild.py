"""The grader rebuilds students' models from its own allowlist (grader.checks.rebuild).

Every legitimate spelling of one network rebuilds to the same spec, summaries, outputs and
verdicts; anything outside the allowlist is the student's failure; and nothing a config
names is run, so the Keras settings of the grading process never change.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from grader.checks import keras_state, training
from grader.checks.data import overfit_data
from grader.checks.layers import dense_layers, layer_summary
from grader.checks.models import expect_compiled, expect_compiled_adam_mse, to_wire
from grader.checks.rebuild import (
    Factors,
    activation_name,
    live_object,
    model_spec,
    parse_model,
    rebuild,
)
from grader.errors import CheckFailed, StudentError
from grader.sandbox import wire
from grader.sandbox.convert import Converter
from grader.sandbox.wire import KerasObject


@pytest.fixture(autouse=True)
def unchanged_keras_state():
    """Every test here leaves the process's Keras settings as it found them."""
    before = keras_state.snapshot()
    yield
    assert keras_state.snapshot() == before


def sent(model: keras.Model) -> KerasObject:
    """A model exactly as it reaches the grading process."""
    return wire.decode(wire.loads(wire.dumps(wire.encode(to_wire(model)))))


def weights_for(model: keras.Model, seed: int = 0) -> keras.Model:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, size=w.shape).astype(w.dtype) for w in model.weights])
    return model


# -- one network, many spellings ------------------------------------------------------------


def seq_list(reg: Any, **compile_args: Any) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(8, activation="relu", kernel_regularizer=reg),
            keras.layers.Dense(1),
        ]
    )
    model.compile(**({"optimizer": "adam", "loss": "mse"} | compile_args))
    return model


def seq_add(reg: Any, **compile_args: Any) -> keras.Model:
    model = keras.Sequential(name="my_model")
    model.add(keras.Input(shape=(3,), dtype="float64"))
    for units, activation in ((8, keras.activations.relu), (1, None)):
        model.add(
            keras.layers.Dense(
                units,
                activation=activation,
                kernel_regularizer=reg if units == 8 else None,
                kernel_initializer="he_normal",
                name=f"layer_{units}",
            )
        )
    model.compile(
        **({"optimizer": keras.optimizers.Adam(), "loss": "mean_squared_error"} | compile_args)
    )
    return model


def functional(reg: Any, **compile_args: Any) -> keras.Model:
    inputs = keras.Input((3,), name="features")
    hidden = keras.layers.Dense(8, activation=tf.nn.relu, kernel_regularizer=reg, name="tanh")(
        inputs
    )
    outputs = keras.layers.Dense(1, activation="linear", dtype="float64", name="relu")(hidden)
    model = keras.Model(inputs=inputs, outputs=outputs)
    loss = keras.losses.MeanSquaredError()
    model.compile(**({"optimizer": keras.optimizers.Adam(1e-3), "loss": loss} | compile_args))
    return model


def nested(reg: Any, **compile_args: Any) -> keras.Model:
    inner = keras.Sequential([keras.layers.Dense(8, activation="relu", kernel_regularizer=reg)])
    model = keras.Sequential([keras.Input((3,)), inner, keras.layers.Dense(1)])
    loss = keras.losses.mean_squared_error
    model.compile(**({"optimizer": "Adam", "loss": loss} | compile_args))
    return model


def tf_keras(reg: Any, **compile_args: Any) -> keras.Model:
    tfk = tf.keras
    model = tfk.Sequential(
        [
            tfk.Input((3,)),
            tfk.layers.Dense(8, "relu", kernel_regularizer=reg),
            tfk.layers.Dense(1),
        ]
    )
    model.compile(**({"optimizer": "adam", "loss": tfk.losses.MSE} | compile_args))
    return model


BUILDERS: list[Callable[..., keras.Model]] = [seq_list, seq_add, functional, nested, tf_keras]
REGULARIZERS: list[Callable[[], Any]] = [
    lambda: keras.regularizers.L2(0.05),
    lambda: keras.regularizers.l2(0.05),
    lambda: keras.regularizers.L1L2(l2=0.05),
    lambda: keras.regularizers.l1_l2(l1=0.0, l2=0.05),
    lambda: tf.keras.regularizers.L2(l2=0.05),
]


def test_every_spelling_rebuilds_to_the_same_spec_and_outputs():
    x = np.random.default_rng(1).normal(size=(16, 3))
    reference = weights_for(seq_list(keras.regularizers.L2(0.05)))
    want = rebuild(sent(reference), "build_model()")
    want_spec = model_spec(want)
    assert want_spec is not None
    want_out = keras.ops.convert_to_numpy(want(x.astype("float32")))
    for build in BUILDERS:
        for make_reg in REGULARIZERS:
            model = weights_for(build(make_reg()))
            got = rebuild(sent(model), "build_model()")
            spec = model_spec(got)
            assert spec is not None
            assert spec.architecture_key() == want_spec.architecture_key(), build.__name__
            assert spec.compile == want_spec.compile, build.__name__
            assert [layer_summary(a) for a in dense_layers(got)] == [
                layer_summary(b) for b in dense_layers(want)
            ]
            expect_compiled_adam_mse(got, "`build_model()`")
            # float64 inputs, and the student's own output, agree with the rebuilt model.
            np.testing.assert_allclose(keras.ops.convert_to_numpy(got(x)), want_out, rtol=1e-6)
            np.testing.assert_allclose(
                keras.ops.convert_to_numpy(model(x.astype("float32"))), want_out, rtol=1e-5
            )


def _input_shape_kwarg() -> keras.Model:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras 3 prefers keras.Input
        layers = [keras.layers.Dense(8, activation="relu", input_shape=(3,)), keras.layers.Dense(1)]
        return keras.Sequential(layers)


def _built_without_input() -> keras.Model:
    model = keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.build((None, 3))
    return model


def _functional_around_sequential() -> keras.Model:
    inner = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, "relu"), keras.layers.Dense(1)]
    )
    inputs = keras.Input((3,))
    return keras.Model(inputs, inner(inputs))


def _relu_layer() -> keras.Model:
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(8)(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.ReLU()(hidden)))


@pytest.mark.parametrize(
    "make",
    [_input_shape_kwarg, _built_without_input, _functional_around_sequential, _relu_layer],
    ids=["input_shape", "build", "functional-around-sequential", "relu-layer"],
)
@pytest.mark.parametrize("loss", ["mse", ["mse"], {"output": "mse"}], ids=["str", "list", "dict"])
def test_more_spellings_compute_the_same_function(make, loss):
    want = weights_for(seq_list(None))
    model = make()
    if isinstance(loss, dict):
        loss = {model.layers[-1].name: "mse"}
    model.compile(optimizer="adam", loss=loss)
    model.set_weights(want.get_weights())
    rebuilt = rebuild(sent(model), "build_model()")
    expect_compiled_adam_mse(rebuilt, "`build_model()`")
    x = np.random.default_rng(2).normal(size=(8, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(rebuilt(x)), np.asarray(want(x)), rtol=1e-6)
    assert tuple(rebuilt.input_shape) == (None, 3)


@pytest.mark.parametrize(
    "metrics",
    [["mse"], ["mae", "mse"], [keras.metrics.RootMeanSquaredError()], ["accuracy"]],
    ids=["mse", "two", "object", "accuracy"],
)
def test_extra_metrics_change_nothing(metrics):
    plain = weights_for(seq_list(keras.regularizers.L2(0.05)))
    extra = weights_for(seq_list(keras.regularizers.L2(0.05), metrics=metrics))
    a, b = rebuild(sent(plain), "f()"), rebuild(sent(extra), "f()")
    assert model_spec(a) == model_spec(b)
    x = np.random.default_rng(3).uniform(-1, 1, size=(32, 3)).astype("float32")
    y = np.sin(3 * x[:, :1]).astype("float32")
    # What test_build_model_loss_includes_penalty does: evaluate() must be one number.
    evaluated = b.evaluate(x, y, verbose=0, batch_size=32)
    assert isinstance(evaluated, float)
    data_loss = float(np.mean((np.asarray(b(x)) - y) ** 2))
    penalty = sum(float(loss) for loss in b.losses)
    assert penalty > 0.01
    assert evaluated == pytest.approx(data_loss + penalty, rel=1e-4)


@pytest.mark.parametrize(
    ("compile_args", "found"),
    [
        ({"optimizer": "sgd", "loss": "mse"}, "SGD"),
        ({"optimizer": keras.optimizers.RMSprop(), "loss": "mse"}, "RMSprop"),
        ({"optimizer": "adam", "loss": "mae"}, "mean_absolute_error"),
        ({"optimizer": "adam", "loss": keras.losses.Huber()}, "huber"),
        ({"optimizer": "adam", "loss": keras.losses.MeanSquaredError(reduction="sum")}, "sum"),
    ],
)
def test_other_optimizers_and_losses_are_read_not_resolved(compile_args, found):
    model = rebuild(sent(seq_list(None, **compile_args)), "f()")
    with pytest.raises(CheckFailed, match=found):
        expect_compiled_adam_mse(model, "`f()`")


def test_an_uncompiled_model_is_reported_as_such():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    rebuilt = rebuild(sent(model), "f()")
    assert not rebuilt.compiled
    with pytest.raises(CheckFailed, match="never compiled"):
        expect_compiled_adam_mse(rebuilt, "`f()`")


def test_a_float64_or_mixed_dtype_policy_is_built_as_float32():
    plain = weights_for(seq_list(None))
    wide = keras.Sequential(
        [
            keras.Input((3,), dtype="float64"),
            keras.layers.Dense(8, activation="relu", dtype="float64"),
            keras.layers.Dense(1, dtype="mixed_float16"),
        ]
    )
    wide.compile(optimizer="adam", loss="mse")
    wide.set_weights([w.astype("float64") for w in plain.get_weights()])
    got, want = rebuild(sent(wide), "f()"), rebuild(sent(plain), "f()")
    assert model_spec(got) == model_spec(want)
    assert all(w.dtype == np.float32 for w in got.get_weights())
    for a, b in zip(got.get_weights(), want.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_functional_dropout_called_with_training_true_stays_on_in_model_x_only():
    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    hidden = keras.layers.Dropout(0.5)(hidden, training=True)
    model = weights_for(keras.Model(inputs, keras.layers.Dense(1)(hidden)))
    rebuilt = rebuild(sent(model), "f()")
    spec = model_spec(rebuilt)
    assert spec is not None and [layer.always_on for layer in spec.layers] == [False, True, False]
    x = np.random.default_rng(0).uniform(-1, 1, size=(64, 2)).astype("float32")
    off = keras.ops.convert_to_numpy(rebuilt(x, training=False))
    assert not np.allclose(keras.ops.convert_to_numpy(rebuilt(x)), off)  # as Keras does
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), off, rtol=1e-6)
    # The same model without training=True: off in all three.
    plain = rebuild(
        sent(
            weights_for(
                keras.Sequential(
                    [
                        keras.Input((2,)),
                        keras.layers.Dense(32, activation="relu"),
                        keras.layers.Dropout(0.5),
                        keras.layers.Dense(1),
                    ]
                )
            )
        ),
        "f()",
    )
    np.testing.assert_allclose(keras.ops.convert_to_numpy(plain(x)), off, rtol=1e-6)


def test_activation_names_are_the_ones_keras_serializes_back():
    for name in {activation_name(n) for n in ("swish", "hard_swish", "relu", "gelu", "selu")}:
        layer = keras.layers.Dense(1, activation=name)
        assert activation_name(layer.get_config()["activation"]) == name


# -- hostile configs --------------------------------------------------------------------------

KERAS_FUNCTIONS = [
    "set_floatx",
    "set_epsilon",
    "set_dtype_policy",
    "set_image_data_format",
    "set_random_seed",
    "set_max_steps_per_epoch",
    "enable_unsafe_deserialization",
    "disable_interactive_logging",
    "clear_session",
    "convert_to_tensor",
]


def _config(model: keras.Model) -> dict[str, Any]:
    return copy.deepcopy(sent(model).config)


def _dense(config: dict[str, Any], index: int = 1) -> dict[str, Any]:
    layer: dict[str, Any] = config["config"]["layers"][index]["config"]
    return layer


def _function(name: str) -> dict[str, Any]:
    return {
        "module": "builtins",
        "class_name": "function",
        "config": name,
        "registered_name": "function",
    }


@pytest.mark.parametrize("name", KERAS_FUNCTIONS)
@pytest.mark.parametrize("spelling", ["string", "function"])
def test_a_keras_function_named_as_an_activation_is_refused_unrun(name, spelling):
    model = weights_for(seq_list(None))
    config = _config(model)
    _dense(config)["activation"] = name if spelling == "string" else _function(name)
    with pytest.raises(StudentError, match=f"activation '{name}'") as info:
        rebuild(KerasObject("model", config, sent(model).weights), "build_model()")
    assert info.value.kind == "bad_return"
    assert "could not be rebuilt" in str(info.value)


@pytest.mark.parametrize("name", KERAS_FUNCTIONS[:4])
def test_keras_functions_named_elsewhere_in_a_config_are_never_run(name):
    model = weights_for(seq_list(None, metrics=["mse"]))
    obj = sent(model)
    # The loss or optimizer a model was compiled with: read as a name, judged, never run.
    places: list[Callable[[dict[str, Any]], None]] = [
        lambda c: c["compile_config"].__setitem__("loss", _function(name)),
        lambda c: c["compile_config"].__setitem__("loss", name),
        lambda c: c["compile_config"]["optimizer"].__setitem__("class_name", name),
        lambda c: c["compile_config"].__setitem__("optimizer", name),
    ]
    for place in places:
        config = copy.deepcopy(obj.config)
        place(config)
        rebuilt = rebuild(KerasObject("model", config, obj.weights), "build_model()")
        with pytest.raises(CheckFailed, match=name):
            expect_compiled_adam_mse(rebuilt, "`build_model()`")
    for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
        config = copy.deepcopy(obj.config)
        _dense(config)[key] = {"module": "keras.regularizers", "class_name": name, "config": {}}
        with pytest.raises(StudentError, match="not L1, L2 or L1L2"):
            rebuild(KerasObject("model", config, obj.weights), "build_model()")
    config = copy.deepcopy(obj.config)
    config["config"]["layers"][1]["class_name"] = name
    with pytest.raises(StudentError, match=f"a {name} layer"):
        rebuild(KerasObject("model", config, obj.weights), "build_model()")


def test_a_model_compiled_with_a_keras_function_as_metric_still_grades():
    model = weights_for(seq_list(None))
    obj = sent(model)
    config = copy.deepcopy(obj.config)
    config["compile_config"]["metrics"] = [_function("set_floatx"), "set_epsilon"]
    rebuilt = rebuild(KerasObject("model", config, obj.weights), "build_model()")
    expect_compiled_adam_mse(rebuilt, "`build_model()`")
    x = np.zeros((4, 3), dtype="float32")
    assert isinstance(rebuilt.evaluate(x, np.zeros((4, 1)), verbose=0), float)


@pytest.mark.parametrize(
    "layer",
    [
        lambda: keras.layers.Lambda(lambda t: t * 2),
        lambda: keras.layers.BatchNormalization(),
        lambda: keras.layers.Reshape((8,)),
        lambda: keras.layers.Dense(8, kernel_constraint=keras.constraints.MaxNorm(1.0)),
        lambda: keras.layers.Dropout(0.5, noise_shape=(1, 8)),
    ],
    ids=["lambda", "batchnorm", "reshape", "constraint", "noise-shape"],
)
def test_layers_outside_the_allowlist_are_refused(layer):
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8), layer(), keras.layers.Dense(1)]
    )
    with pytest.raises(StudentError) as info:
        rebuild(sent(model), "build_model()")
    assert info.value.kind == "bad_return"


def test_a_custom_registered_dense_is_refused():
    @keras.saving.register_keras_serializable(package="RebuildTests")
    class Tricky(keras.layers.Dense):
        pass

    model = keras.Sequential([keras.Input((3,)), Tricky(2)])
    with pytest.raises(StudentError, match="Tricky"):
        rebuild(sent(model), "build_model()")
    config = _config(seq_list(None))
    config["config"]["layers"][1]["registered_name"] = "Custom>Dense"
    with pytest.raises(StudentError, match="custom registered"):
        rebuild(KerasObject("model", config, sent(seq_list(None)).weights), "build_model()")


@pytest.mark.parametrize(
    "factor",
    [float("nan"), float("inf"), -0.1, 1e300, "0.1", True],
    ids=["nan", "inf", "negative", "huge", "string", "bool"],
)
def test_unusable_regularizer_factors_are_refused(factor):
    obj = sent(seq_list(keras.regularizers.L2(0.05)))
    config = copy.deepcopy(obj.config)
    _dense(config)["kernel_regularizer"]["config"]["l2"] = factor
    with pytest.raises(StudentError, match="could not be rebuilt"):
        rebuild(KerasObject("model", config, obj.weights), "build_model()")


def test_regularizer_string_identifiers_are_read_with_keras_defaults():
    obj = sent(seq_list(None))
    for name, want in (
        ("l2", Factors(0.0, 0.01)),
        ("l1", Factors(0.01, 0.0)),
        ("l1l2", Factors(0.0, 0.0)),
    ):
        config = copy.deepcopy(obj.config)
        _dense(config)["kernel_regularizer"] = name
        spec = parse_model(config)
        assert spec.layers[0].kernel is not None and spec.layers[0].kernel.matches(want)
    config = copy.deepcopy(obj.config)
    _dense(config)["kernel_regularizer"] = {"class_name": "l1_l2", "config": {"l2": 0.05}}
    kernel = parse_model(config).layers[0].kernel
    assert kernel is not None and kernel.matches(Factors(0.01, 0.05))


@pytest.mark.parametrize(
    ("units", "match"), [(10**9, "units"), (50_000, "parameters"), (0, "units"), (2.5, "units")]
)
def test_absurd_units_are_refused_before_anything_is_built(units, match):
    obj = sent(seq_list(None))
    config = copy.deepcopy(obj.config)
    _dense(config)["units"] = units
    config["config"]["layers"][2]["config"]["units"] = 50_000 if units == 50_000 else 1
    with pytest.raises(StudentError, match=match):
        rebuild(KerasObject("model", config, ()), "build_model()")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda w: w[:-1], "shapes"),
        (lambda w: [w[1], w[0], *w[2:]], "shapes"),
        (lambda w: [np.full_like(w[0], np.nan), *w[1:]], "not finite"),
        (lambda w: [np.full(w[0].shape, 1e300), *w[1:]], "not finite"),
        (lambda w: [np.zeros(w[0].shape, dtype=bool), *w[1:]], None),
    ],
    ids=["missing", "swapped", "nan", "overflow", "bool"],
)
def test_weights_of_the_wrong_shape_or_value_are_refused(change, match):
    obj = sent(weights_for(seq_list(None)))
    weights = tuple(change(list(obj.weights)))
    if match is None:
        rebuilt = rebuild(KerasObject("model", obj.config, weights), "f()")
        assert rebuilt.get_weights()[0].dtype == np.float32
        return
    with pytest.raises(StudentError, match=match):
        rebuild(KerasObject("model", obj.config, weights), "f()")


def test_functional_models_that_are_not_a_chain_are_refused():
    inputs = keras.Input((3,))
    a = keras.layers.Dense(4)(inputs)
    b = keras.layers.Dense(4)(inputs)
    branched = keras.Model(inputs, keras.layers.Add()([a, b]))
    with pytest.raises(StudentError, match="could not be rebuilt"):
        rebuild(sent(branched), "f()")
    shared = keras.layers.Dense(3)
    twice = keras.Model(inputs, shared(shared(inputs)))
    with pytest.raises(StudentError, match="could not be rebuilt"):
        rebuild(sent(twice), "f()")


# -- the experiment's memo key ---------------------------------------------------------------


def _named(name: str, activation: str) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(4, activation=activation, name=name),
            keras.layers.Dense(1),
        ]
    )


def test_layer_names_equal_to_activations_do_not_merge_experiments():
    data = overfit_data(0, n_train=8, n_val=8)
    tanh = rebuild(sent(_named("tanh", "tanh")), "f()")
    relu = rebuild(sent(_named("relu", "relu")), "f()")
    # Under the old name-normalised key these two were one experiment.
    settings = (5, 1e-2, 0, 5)
    training.reinitialize(tanh, 0)
    training.reinitialize(relu, 0)
    assert training._experiment_key(tanh, data, settings) != training._experiment_key(
        relu, data, settings
    )

    def run(m: keras.Model) -> training.GapOutcome:
        return training.gap_experiment(
            m, data, epochs=5, learning_rate=1e-2, seed=0, record_every=5
        )

    assert run(tanh).curves != run(relu).curves
    # Names alone never matter: the same network under other names is the same experiment.
    again = rebuild(sent(_named("other", "tanh")), "f()")
    assert run(again) is run(tanh)


def test_live_models_without_a_spec_are_keyed_without_names():
    data = overfit_data(0, n_train=8, n_val=8)
    a, b = _named("tanh", "tanh"), _named("relu", "relu")
    training.reinitialize(a, 0)
    training.reinitialize(b, 0)
    assert training._experiment_key(a, data, ()) != training._experiment_key(b, data, ())


# -- the trusted converter and the process's settings ----------------------------------------


def test_the_trusted_converter_builds_through_the_allowlist():
    convert = Converter(keras_builder=live_object)
    model = weights_for(seq_list(keras.regularizers.L1(0.02)))
    live = convert.from_plain(sent(model))
    assert model_spec(live) is not None
    x = np.ones((2, 3), dtype="float32")
    np.testing.assert_allclose(np.asarray(live(x)), np.asarray(model(x)), rtol=1e-6)
    reg = convert.from_plain(
        KerasObject("regularizer", {"class_name": "L2", "config": {"l2": 0.3}})
    )
    assert isinstance(reg, keras.regularizers.L2)
    assert reg.get_config()["l2"] == pytest.approx(0.3)
    with pytest.raises(StudentError, match="not L1, L2 or L1L2"):
        convert.from_plain(KerasObject("regularizer", {"class_name": "set_floatx", "config": {}}))
    layer = keras.layers.Dense(2, activation="tanh", kernel_regularizer=keras.regularizers.L2(0.1))
    layer.build((None, 3))
    live_layer = convert.from_plain(sent_layer := to_plain_layer(layer))
    assert isinstance(live_layer, keras.layers.Dense)
    np.testing.assert_array_equal(live_layer.get_weights()[0], sent_layer.weights[0])
    bad = copy.deepcopy(sent_layer.config)
    bad["config"]["activation"] = _function("set_floatx")
    with pytest.raises(StudentError, match="set_floatx"):
        convert.from_plain(KerasObject("layer", bad, sent_layer.weights))


def to_plain_layer(layer: keras.layers.Layer) -> KerasObject:
    obj = Converter().to_plain(layer)
    assert isinstance(obj, KerasObject)
    return obj


@pytest.mark.parametrize(
    "settings",
    [
        {"patience": float("nan")},
        {"patience": 2.5},
        {"monitor": 3},
        {"verbose": True},
        {"min_delta": 1e300},
    ],
)
def test_callback_settings_outside_their_types_are_refused(settings):
    value = KerasObject(
        "callback", {"module": "keras.callbacks", "class_name": "EarlyStopping", "config": settings}
    )
    with pytest.raises(wire.WireError, match="settings are not valid"):
        Converter().from_plain(value)


def test_verify_or_reset_puts_back_what_drifted():
    expected = keras_state.snapshot()
    assert keras_state.verify_or_reset(expected) == []
    keras.config.set_floatx("float64")
    keras.config.set_epsilon(1e-3)
    keras.config.set_dtype_policy("mixed_float16")
    keras.config.set_max_steps_per_epoch(2)
    from tensorflow.python.framework import config

    (config.disable_op_determinism if expected.op_determinism else config.enable_op_determinism)()
    np.set_printoptions(precision=2)
    drifted = keras_state.verify_or_reset(expected)
    assert set(drifted) == {
        "floatx",
        "epsilon",
        "dtype_policy",
        "max_steps_per_epoch",
        "op_determinism",
        "numpy_print",
    }
    assert keras_state.snapshot() == expected
    assert keras.config.floatx() == expected.floatx


def test_the_classmate_graded_after_a_hostile_model_gets_the_same_numbers():
    data = overfit_data(0, n_train=8, n_val=8)
    model = _named("hidden", "relu")
    model.compile(optimizer="adam", loss="mse", metrics=["mse"])
    honest = sent(weights_for(model))

    def numbers() -> training.Curves:
        model = rebuild(honest, "build_model()")
        training.reinitialize(model, 0)
        return training.train(model, data, epochs=20, learning_rate=1e-2, record_every=10)

    before = numbers()
    for name in KERAS_FUNCTIONS:
        config = copy.deepcopy(honest.config)
        _dense(config)["activation"] = _function(name)
        config["compile_config"]["loss"] = _function(name)
        config["compile_config"]["metrics"] = [_function(name)]
        with pytest.raises(StudentError):
            rebuild(KerasObject("model", config, honest.weights), "build_model()")
    assert numbers() == before


class OwnMetric(keras.metrics.MeanMetricWrapper):
    def __init__(self, name: str = "own", dtype: Any = None) -> None:
        super().__init__(keras.losses.mean_squared_error, name=name, dtype=dtype)


class OwnLoss(keras.losses.Loss):
    def call(self, y_true: Any, y_pred: Any) -> Any:
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


def test_a_students_own_metric_or_loss_class_only_affects_the_compile_check():
    plain = weights_for(seq_list(None))
    with_metric = rebuild(sent(weights_for(seq_list(None, metrics=[OwnMetric()]))), "f()")
    assert model_spec(with_metric) == model_spec(rebuild(sent(plain), "f()"))
    expect_compiled_adam_mse(with_metric, "`f()`")
    with_loss = rebuild(sent(weights_for(seq_list(None, loss=OwnLoss()))), "f()")
    assert [layer_summary(x) for x in dense_layers(with_loss)] == [
        layer_summary(x) for x in dense_layers(with_metric)
    ]
    assert not with_loss.compiled  # a loss the grader does not know is never resolved
    with pytest.raises(CheckFailed, match="OwnLoss"):
        expect_compiled_adam_mse(with_loss, "`f()`")
    with pytest.raises(CheckFailed, match="loss OwnLoss, which the grader does not rebuild"):
        expect_compiled(with_loss, "`f()`")
    expect_compiled(with_metric, "`f()`")
