"""Tests for grader.checks.rebuild, layers and models: reading and rebuilding Keras objects
from the wire, and the models checks send."""

from __future__ import annotations

import copy

import keras
import numpy as np
import pytest

from grader.checks.layers import dense_layers, dense_summary, describe_factors, layer_summary
from grader.checks.models import dense_stack, regularizer, to_wire
from grader.checks.rebuild import Factors, check_config, rebuild, regularizer_factors
from grader.errors import CheckFailed, StudentError
from grader.sandbox import wire
from grader.sandbox.convert import Converter
from grader.sandbox.wire import KerasObject


@pytest.fixture(scope="module")
def convert() -> Converter:
    return Converter()


def serialized(obj):
    """A Keras object's config exactly as it crosses the wire."""
    return wire.decode(wire.loads(wire.dumps(wire.encode(Converter().to_plain(obj))))).config


def sequential_model(compiled: bool = True) -> keras.Model:
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, activation="relu", kernel_regularizer=keras.regularizers.L2(0.1)),
            keras.layers.Dense(1),
        ]
    )
    if compiled:
        model.compile(optimizer="adam", loss="mse")
    return model


def functional_model() -> keras.Model:
    keras.utils.set_random_seed(2)
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(5, activation="tanh")(inputs)
    outputs = keras.layers.Dense(2)(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005), loss="mse")
    return model


def with_random_weights(model: keras.Model, seed: int) -> keras.Model:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    return model


# -- regularizer factors -----------------------------------------------------------------


def test_l2_variants_with_the_same_strength_match():
    l2 = regularizer_factors(serialized(keras.regularizers.L2(0.05)))
    l1l2 = regularizer_factors(serialized(keras.regularizers.L1L2(l1=0.0, l2=0.05)))
    handwritten = regularizer_factors({"class_name": "l2", "config": {"l2": 0.05}})
    assert l2 == Factors(0.0, pytest.approx(0.05))
    assert l2.matches(l1l2)
    assert l1l2.matches(l2)
    assert l2.matches(handwritten)


def test_the_l2_string_means_the_keras_default_strength():
    default = regularizer_factors("l2")
    assert default == Factors(0.0, 0.01)
    assert default.matches(regularizer_factors(serialized(keras.regularizers.L2())))
    assert default.matches(regularizer_factors(serialized(keras.regularizers.get("l2"))))
    assert not default.matches(regularizer_factors(serialized(keras.regularizers.L2(0.05))))


def test_the_l1_string_means_the_keras_default_strength():
    assert regularizer_factors("l1").matches(
        regularizer_factors(serialized(keras.regularizers.L1()))
    )


def test_l1_and_l2_of_the_same_strength_differ():
    l1 = regularizer_factors(serialized(keras.regularizers.L1(0.05)))
    l2 = regularizer_factors(serialized(keras.regularizers.L2(0.05)))
    assert l1 == Factors(pytest.approx(0.05), 0.0)
    assert not l1.matches(l2)
    assert not l2.matches(l1)


def test_different_strengths_differ():
    weak = regularizer_factors(serialized(keras.regularizers.L2(0.01)))
    strong = regularizer_factors(serialized(keras.regularizers.L2(0.0100001)))
    assert not weak.matches(strong)


def test_l1l2_with_both_factors_differs_from_either_alone():
    both = regularizer_factors(serialized(keras.regularizers.L1L2(l1=0.01, l2=0.01)))
    assert both == Factors(pytest.approx(0.01), pytest.approx(0.01))
    assert not both.matches(regularizer_factors(serialized(keras.regularizers.L1(0.01))))
    assert not both.matches(regularizer_factors(serialized(keras.regularizers.L2(0.01))))


def test_no_regularizer_gives_none():
    assert regularizer_factors(None) is None


def test_an_unknown_regularizer_class_never_matches():
    config = serialized(keras.regularizers.OrthogonalRegularizer(factor=0.01))
    unknown = regularizer_factors(config)
    assert unknown is not None
    assert unknown.unknown == "OrthogonalRegularizer"
    assert not unknown.matches(unknown)
    assert not unknown.matches(Factors(0.0, 0.0))
    assert not Factors(0.0, 0.0).matches(unknown)


@pytest.mark.parametrize(
    ("config", "unknown"),
    [
        ({"class_name": "MyReg", "config": {"l2": 0.01}}, "MyReg"),
        ({"config": {"l2": 0.01}}, "unknown"),
        (5, "int"),
        ({"class_name": "L2", "config": {"l2": "lots"}}, "L2"),
    ],
    ids=["custom-class", "no-class", "not-a-config", "non-numeric-factor"],
)
def test_unreadable_regularizers_are_marked_unknown(config, unknown):
    factors = regularizer_factors(config)
    assert factors is not None
    assert factors.unknown == unknown
    assert not factors.matches(factors)


@pytest.mark.parametrize(
    ("factors", "text"),
    [
        (None, "no regularizer"),
        (Factors(0.0, 0.05), "L2(0.05)"),
        (Factors(0.005, 0.0), "L1(0.005)"),
        (Factors(0.001, 0.002), "L1L2(l1=0.001, l2=0.002)"),
        (Factors(0.0, 0.0), "a regularizer with strength 0"),
        (
            Factors(0.0, 0.0, unknown="OrthogonalRegularizer"),
            "a OrthogonalRegularizer regularizer the grader does not recognise",
        ),
    ],
)
def test_describe_factors(factors, text):
    assert describe_factors(factors) == text


def test_describe_factors_rounds_float32_noise():
    factors = regularizer_factors(serialized(keras.regularizers.L2(0.01)))
    assert describe_factors(factors) == "L2(0.01)"


# -- dense summaries -------------------------------------------------------------------


def test_dense_summary_reads_a_dense_layer_from_the_wire(convert):
    layer = keras.layers.Dense(
        7,
        activation="tanh",
        kernel_regularizer=keras.regularizers.L2(0.05),
        bias_regularizer=keras.regularizers.L1(0.02),
        activity_regularizer=keras.regularizers.L1L2(l1=0.001, l2=0.003),
    )
    obj = convert.to_plain(layer)
    assert isinstance(obj, KerasObject)
    summary = dense_summary(obj, "l2_dense(7)")
    assert summary.class_name == "Dense"
    assert summary.units == 7
    assert summary.activation == "tanh"
    assert summary.kernel.matches(Factors(0.0, 0.05))
    assert summary.bias.matches(Factors(0.02, 0.0))
    assert summary.activity.matches(Factors(0.001, 0.003))


def test_dense_summary_of_a_plain_dense_layer_has_no_regularizers(convert):
    summary = dense_summary(convert.to_plain(keras.layers.Dense(3)), "f()")
    assert summary.units == 3
    assert summary.activation == "linear"
    assert (summary.kernel, summary.bias, summary.activity) == (None, None, None)


def test_dense_summary_reads_a_built_layer_and_a_function_activation(convert):
    layer = keras.layers.Dense(2, activation=keras.activations.relu)
    layer.build((None, 4))
    obj = convert.to_plain(layer)
    assert [w.shape for w in obj.weights] == [(4, 2), (2,)]
    assert dense_summary(obj, "f()").activation == "relu"


@pytest.mark.parametrize(
    "value",
    [
        keras.layers.Dropout(0.5),
        keras.layers.Conv1D(2, 3),
        keras.regularizers.L2(0.01),
        sequential_model(compiled=False),
    ],
    ids=["dropout", "conv", "regularizer", "model"],
)
def test_dense_summary_fails_for_anything_but_a_dense_layer(convert, value):
    with pytest.raises(
        CheckFailed, match=r"Expected: l2_dense\(8\) to return a keras.layers.Dense"
    ):
        dense_summary(convert.to_plain(value), "l2_dense(8)")


@pytest.mark.parametrize("value", [None, 3, "Dense", {"class_name": "Dense"}])
def test_dense_summary_fails_for_plain_values(value):
    with pytest.raises(CheckFailed, match="Found: a "):
        dense_summary(value, "l2_dense(8)")


def test_layer_summary_reads_a_live_layer_of_a_rebuilt_model(convert):
    model = rebuild(convert.to_plain(sequential_model()), "build_model()")
    hidden, output = dense_layers(model)
    summary = layer_summary(hidden)
    assert (summary.class_name, summary.units, summary.activation) == ("Dense", 4, "relu")
    assert summary.kernel.matches(Factors(0.0, 0.1))
    assert layer_summary(output).kernel is None


# -- refusing configs ---------------------------------------------------------------------


def test_a_config_naming_a_module_outside_keras_is_refused():
    config = {"module": "os", "class_name": "system", "config": {"command": "true"}}
    with pytest.raises(StudentError, match=r"uses os.system, which is not part of Keras") as info:
        check_config(config)
    assert info.value.kind == "bad_return"
    with pytest.raises(StudentError, match="not part of Keras"):
        rebuild(KerasObject("model", config), "build_model()")


def test_a_module_outside_keras_is_refused_deep_inside_a_model(convert):
    obj = convert.to_plain(sequential_model())
    config = copy.deepcopy(obj.config)
    dense = config["config"]["layers"][1]["config"]
    dense["kernel_initializer"] = {"module": "subprocess", "class_name": "Popen", "config": {}}
    with pytest.raises(StudentError, match=r"subprocess\.Popen"):
        rebuild(KerasObject("model", config, obj.weights), "build_model()")


def test_a_module_that_only_starts_with_keras_is_refused():
    with pytest.raises(StudentError, match="not part of Keras"):
        check_config({"module": "keras_evil.layers", "class_name": "Dense", "config": {}})


def test_a_lambda_layer_is_refused(convert):
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(1)]
    )
    obj = convert.to_plain(model)
    with pytest.raises(StudentError, match="Lambda layer") as info:
        rebuild(obj, "build_model()")
    assert info.value.kind == "bad_return"


def test_a_registered_custom_object_is_refused(convert):
    @keras.saving.register_keras_serializable(package="GraderTests")
    class SneakyDense(keras.layers.Dense):
        pass

    model = keras.Sequential([keras.Input((3,)), SneakyDense(2)])
    # Depending on where the class lives, its module or its registered name gives it away.
    with pytest.raises(StudentError, match="SneakyDense") as info:
        rebuild(convert.to_plain(model), "build_model()")
    assert info.value.kind == "bad_return"


def test_a_registered_name_on_a_keras_module_is_refused():
    config = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"units": 2},
        "registered_name": "Custom>Dense",
    }
    with pytest.raises(StudentError, match="custom registered object"):
        check_config(config)


def test_absurd_units_are_refused_before_building(convert):
    obj = convert.to_plain(sequential_model())
    config = copy.deepcopy(obj.config)
    config["config"]["layers"][1]["config"]["units"] = 10**9
    with pytest.raises(StudentError, match="1000000000 units"):
        rebuild(KerasObject("model", config, ()), "build_model()")


def test_a_realistic_keras_model_config_passes_the_check(convert):
    check_config(convert.to_plain(sequential_model()).config)
    check_config(convert.to_plain(functional_model()).config)


def test_a_model_compiled_with_a_keras_loss_function_is_rebuilt(convert):
    model = sequential_model(compiled=False)
    model.compile(optimizer="adam", loss=keras.losses.mean_squared_error)
    rebuilt = rebuild(convert.to_plain(model), "build_model()")
    assert isinstance(rebuilt.optimizer, keras.optimizers.Adam)


# -- rebuilding ----------------------------------------------------------------------------


def test_rebuild_round_trips_a_compiled_sequential_model(convert):
    model = with_random_weights(sequential_model(), seed=3)
    x = np.random.default_rng(4).normal(size=(6, 3)).astype("float32")
    obj = wire.decode(wire.loads(wire.dumps(wire.encode(convert.to_plain(model)))))
    rebuilt = rebuild(obj, "build_model()")
    assert isinstance(rebuilt, keras.Sequential)
    assert rebuilt is not model
    np.testing.assert_allclose(rebuilt(x).numpy(), model(x).numpy(), rtol=1e-6, atol=1e-6)
    assert isinstance(rebuilt.optimizer, keras.optimizers.Adam)
    assert [layer.units for layer in dense_layers(rebuilt)] == [4, 1]
    assert float(sum(rebuilt.losses)) == pytest.approx(float(sum(model.losses)), rel=1e-6)


def test_rebuild_round_trips_a_compiled_functional_model(convert):
    model = with_random_weights(functional_model(), seed=5)
    x = np.random.default_rng(6).normal(size=(4, 3)).astype("float32")
    rebuilt = rebuild(convert.to_plain(model), "build_model()")
    # The grader builds every model as a Sequential chain of its own layers.
    assert isinstance(rebuilt, keras.Sequential)
    np.testing.assert_allclose(rebuilt(x).numpy(), model(x).numpy(), rtol=1e-6, atol=1e-6)
    assert isinstance(rebuilt.optimizer, keras.optimizers.Adam)
    assert float(rebuilt.optimizer.learning_rate) == pytest.approx(0.005)
    assert [layer.activation.__name__ for layer in dense_layers(rebuilt)] == ["tanh", "linear"]


def test_rebuild_does_not_modify_the_object_it_was_given(convert):
    obj = convert.to_plain(sequential_model())
    before = copy.deepcopy(obj.config)
    rebuild(obj, "build_model()")
    assert obj.config == before


def test_rebuild_fails_for_a_layer(convert):
    with pytest.raises(CheckFailed, match="to return a keras Model"):
        rebuild(convert.to_plain(keras.layers.Dense(2)), "build_model()")


def test_rebuild_fails_for_a_plain_value():
    with pytest.raises(CheckFailed, match="Found: a int"):
        rebuild(3, "build_model()")


def test_rebuild_reports_configs_keras_cannot_build_as_student_errors(convert):
    obj = convert.to_plain(sequential_model())
    config = copy.deepcopy(obj.config)
    config["config"]["layers"][1]["class_name"] = "NoSuchLayer"
    with pytest.raises(StudentError, match="could not be rebuilt") as info:
        rebuild(KerasObject("model", config, obj.weights), "build_model()")
    assert info.value.kind == "bad_return"


def test_rebuild_reports_mismatched_weights_as_student_errors(convert):
    obj = convert.to_plain(sequential_model())
    weights = (np.zeros((2, 2), dtype="float32"),)
    with pytest.raises(StudentError, match="could not be rebuilt"):
        rebuild(KerasObject("model", obj.config, weights), "build_model()")


# -- dense stacks ----------------------------------------------------------------------


def test_dense_stack_penalty_matches_the_numpy_formula():
    layers = [
        (6, "relu", regularizer("L1L2", l1=0.01, l2=0.02)),
        (4, "tanh", None),
        (1, "linear", regularizer("L2", l2=0.05)),
    ]
    obj = dense_stack(layers, input_dim=3, seed=7)
    assert obj.kind == "model"
    assert [w.shape for w in obj.weights] == [(3, 6), (6,), (6, 4), (4,), (4, 1), (1,)]
    model = rebuild(obj, "the grader's model")
    kernels = [np.asarray(w, dtype=np.float64) for w in obj.weights[::2]]
    expected = (
        0.01 * np.abs(kernels[0]).sum()
        + 0.02 * np.square(kernels[0]).sum()
        + 0.05 * np.square(kernels[2]).sum()
    )
    assert expected > 0.1  # the weights are not trivially small
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)
    summaries = [layer_summary(layer) for layer in dense_layers(model)]
    assert [s.activation for s in summaries] == ["relu", "tanh", "linear"]
    assert summaries[0].kernel.matches(Factors(0.01, 0.02))
    assert summaries[1].kernel is None
    assert summaries[2].kernel.matches(Factors(0.0, 0.05))
    assert isinstance(model.optimizer, keras.optimizers.Adam)


def test_dense_stack_is_deterministic_for_a_seed():
    layers = [(3, "relu", None), (1, "linear", None)]
    first = dense_stack(layers, input_dim=2, seed=11)
    second = dense_stack(layers, input_dim=2, seed=11)
    other = dense_stack(layers, input_dim=2, seed=12)
    for a, b in zip(first.weights, second.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.weights[0], other.weights[0])


def test_regularizer_helper_builds_a_wire_regularizer(convert):
    obj = regularizer("L1", l1=0.3)
    assert obj.kind == "regularizer"
    live = convert.from_plain(obj)
    assert isinstance(live, keras.regularizers.L1)
    assert live.get_config()["l1"] == pytest.approx(0.3)
    assert regularizer_factors(obj.config).matches(Factors(0.3, 0.0))


def test_to_wire_refuses_a_non_keras_value():
    with pytest.raises(TypeError, match="expected a Keras model"):
        to_wire([1, 2])
