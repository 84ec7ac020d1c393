"""Tests for the grader's own validation-gap experiment (grader/checks/training.py), run
with the regularization assignment's calibration (its ``_calibrated.py``), and its data
(grader/checks/data.py)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from grader.assignment import load_assignment
from grader.checks import training
from grader.checks.data import Dataset, overfit_data
from grader.engine.check_modules import check_package, import_check_module

_FOLDER = load_assignment("regularization").directory
# The regularization checks' calibration, imported as their check files import it.
C = import_check_module(_FOLDER / "_calibrated.py", check_package(_FOLDER, "regularization"))


def _calibrated_run(model: keras.Model, data: Dataset) -> training.GapOutcome:
    # The regularization check's experiment, as test_overfitting runs it.
    return training.gap_experiment(
        model,
        data,
        epochs=C.EPOCHS,
        learning_rate=C.LEARNING_RATE,
        seed=C.INIT_SEED,
        record_every=C.RECORD_EVERY,
    )


def _build(
    regularizer: keras.regularizers.Regularizer | None,
    *,
    functional: bool = False,
    hidden_units: int = C.HIDDEN_UNITS,
) -> keras.Model:
    # What a student's build_model returns, rebuilt from config as the grader does.
    if functional:
        inputs = keras.Input((1,))
        hidden = keras.layers.Dense(
            hidden_units, activation="relu", kernel_regularizer=regularizer
        )(inputs)
        model: keras.Model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    else:
        model = keras.Sequential(
            [
                keras.Input((1,)),
                keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer),
                keras.layers.Dense(1),
            ]
        )
    model.compile(optimizer="adam", loss="mse")
    return model.__class__.from_config(model.get_config())


@pytest.fixture(scope="module")
def data() -> Dataset:
    return overfit_data(C.DATA_SEED)


@pytest.fixture(scope="module")
def unregularized(data: Dataset) -> training.GapOutcome:
    return _calibrated_run(_build(None), data)


@pytest.fixture(scope="module")
def regularized(data: Dataset) -> training.GapOutcome:
    return _calibrated_run(_build(keras.regularizers.L2(C.L2_FACTOR)), data)


def test_overfit_data_is_deterministic_per_seed_and_differs_across_seeds() -> None:
    a, b, c = overfit_data(1), overfit_data(1), overfit_data(2)
    for field in ("x_train", "y_train", "x_val", "y_val"):
        x, y, z = getattr(a, field), getattr(b, field), getattr(c, field)
        assert x.dtype == np.float32
        assert x.shape[1:] == (1,)
        assert not x.flags.writeable
        np.testing.assert_array_equal(x, y)
        assert not np.array_equal(x, z)
    assert a.x_train.shape == (40, 1)
    assert a.x_val.shape == (500, 1)
    assert np.all(np.abs(a.x_train) <= 1.0)


def test_overfit_data_sizes_do_not_change_training_points() -> None:
    small, large = overfit_data(3, n_val=10), overfit_data(3, n_val=50)
    np.testing.assert_array_equal(small.y_train, large.y_train)
    assert large.x_val.shape == (50, 1)


def test_reinitialize_gives_sequential_and_functional_the_same_weights() -> None:
    seq, fun = _build(None, hidden_units=8), _build(None, functional=True, hidden_units=8)
    training.reinitialize(seq, 5)
    training.reinitialize(fun, 5)
    seq_w, fun_w = seq.get_weights(), fun.get_weights()
    assert len(seq_w) == len(fun_w) == 4
    for s, f in zip(seq_w, fun_w, strict=True):
        np.testing.assert_array_equal(s, f)
    kernel, bias = seq_w[0], seq_w[1]
    assert np.all(bias == 0.0)
    assert np.max(np.abs(kernel)) <= np.sqrt(6.0 / (1 + 8))
    training.reinitialize(seq, 6)
    assert not np.array_equal(seq.get_weights()[0], kernel)


def test_data_mse_excludes_the_penalty() -> None:
    data = overfit_data(0, n_train=16, n_val=8)
    model = _build(keras.regularizers.L2(0.01), hidden_units=16)
    model.compile(optimizer="adam", loss="mse")
    training.reinitialize(model, 0)
    mse = training.data_mse(model, data.x_train, data.y_train)
    evaluated = model.evaluate(data.x_train, data.y_train, batch_size=16, verbose=0)
    penalty = 0.01 * float(np.sum(np.square(model.get_weights()[0].astype(np.float64))))
    assert penalty > 1e-3
    assert evaluated == pytest.approx(mse + penalty, rel=1e-4)
    y_pred = keras.ops.convert_to_numpy(model(data.x_train))
    assert mse == pytest.approx(float(np.mean((data.y_train - y_pred) ** 2)), rel=1e-5)


def test_train_records_every_and_final_epoch_without_compile() -> None:
    data = overfit_data(0, n_train=16, n_val=8)
    inputs = keras.Input((1,))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(4)(inputs)))
    training.reinitialize(model, 0)
    curves = training.train(model, data, epochs=25, learning_rate=1e-2, record_every=10)
    assert curves.epochs == (0, 10, 20, 25)
    assert len(curves.train_mse) == len(curves.val_mse) == 4
    assert curves.train_mse[-1] < curves.train_mse[0]


def test_regularized_gap_is_clearly_smaller(
    unregularized: training.GapOutcome, regularized: training.GapOutcome
) -> None:
    assert unregularized.gap > 0.1
    assert unregularized.gap == pytest.approx(unregularized.val_mse - unregularized.train_mse)
    assert regularized.gap <= C.MARGIN * unregularized.gap
    # The penalty trades train fit for validation fit.
    assert regularized.train_mse > unregularized.train_mse
    assert regularized.val_mse < unregularized.val_mse


def test_functional_student_matches_sequential_reference(regularized: training.GapOutcome) -> None:
    student = _calibrated_run(
        _build(keras.regularizers.L2(C.L2_FACTOR), functional=True), overfit_data(C.DATA_SEED)
    )
    assert C.gaps_match(student.gap, regularized.gap)


def test_removing_the_regularizer_fails_the_margin(unregularized: training.GapOutcome) -> None:
    # A build_model that ignores its regularizer argument: both runs are unregularized.
    ignored = _calibrated_run(_build(None), overfit_data(C.DATA_SEED))
    assert ignored.gap == unregularized.gap
    assert not ignored.gap <= C.MARGIN * unregularized.gap


def test_wrong_regularizer_does_not_match_the_reference(regularized: training.GapOutcome) -> None:
    l1 = _calibrated_run(_build(keras.regularizers.L1(C.L2_FACTOR)), overfit_data(C.DATA_SEED))
    assert not C.gaps_match(l1.gap, regularized.gap)


def test_train_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="record_every"):
        training.train(
            _build(None, hidden_units=2),
            overfit_data(C.DATA_SEED),
            epochs=1,
            learning_rate=1e-2,
            record_every=0,
        )


def _tiny(
    regularizer: keras.regularizers.Regularizer | None = None, *, normalization: bool = False
) -> keras.Model:
    layers: list[keras.layers.Layer] = [keras.Input((1,)), keras.layers.Dense(4, activation="relu")]
    if normalization:
        layers.append(keras.layers.BatchNormalization())
    layers += [keras.layers.Dense(1, kernel_regularizer=regularizer)]
    return keras.Sequential(layers)


def _tiny_run(model: keras.Model, data: Dataset) -> training.GapOutcome:
    return training.gap_experiment(
        model, data, epochs=5, learning_rate=1e-2, seed=0, record_every=5
    )


def test_an_equal_experiment_is_run_once_per_process() -> None:
    data = overfit_data(0, n_train=8, n_val=8)
    first = _tiny_run(_tiny(), data)
    # Another model, other layer names, the same config and initial weights: no training.
    again = _tiny(keras.regularizers.L2(0.0))
    again_plain = _tiny()
    assert _tiny_run(again_plain, data) is first
    before = [w.copy() for w in again_plain.get_weights()]
    assert _tiny_run(again_plain, data) is first
    for got, want in zip(again_plain.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)  # reinitialized, not trained
    assert _tiny_run(again, data) is not first  # another regularizer: another experiment


def test_weights_reinitialize_leaves_alone_tell_experiments_apart() -> None:
    data = overfit_data(0, n_train=8, n_val=8)
    plain = _tiny(normalization=True)
    shifted = _tiny(normalization=True)
    shifted.layers[1].beta.assign(np.full(4, 0.5, dtype=np.float32))
    assert _tiny_run(plain, data).curves != _tiny_run(shifted, data).curves
    other_data = overfit_data(1, n_train=8, n_val=8)
    assert _tiny_run(_tiny(normalization=True), other_data) is not _tiny_run(plain, data)
