"""The check library's seeded data sets (grader/checks/data.py) draw exactly what the check
files drew before they shared them: the assignments' calibrations rest on these arrays."""

from __future__ import annotations

import numpy as np

from grader.checks.data import repeated_sine_data, sparse_linear_data


def test_sparse_linear_data_draws_features_then_noise_in_a_fixed_order():
    rng = np.random.default_rng(0)
    weights = np.zeros((20, 1))
    weights[:3, 0] = 1.0
    got = sparse_linear_data(rng, weights, n_train=32, n_val=100, noise=0.5)
    # As the dropout checks drew it inline.
    rng = np.random.default_rng(0)
    x_train = rng.normal(0, 1, (32, 20)).astype("float32")
    x_val = rng.normal(0, 1, (100, 20)).astype("float32")
    y_train = (x_train @ weights + rng.normal(0, 0.5, (32, 1))).astype("float32")
    y_val = (x_val @ weights + rng.normal(0, 0.5, (100, 1))).astype("float32")
    for array, want in zip(got, (x_train, y_train, x_val, y_val), strict=True):
        assert array.dtype == np.float32
        np.testing.assert_array_equal(array, want)


def test_repeated_sine_data_repeats_only_the_training_points():
    x_train, y_train, x_val, y_val = repeated_sine_data(
        np.random.default_rng(1), 3, n_val=200, frequency=3.0, noise=1.0, repeats=320
    )
    assert x_train.shape == y_train.shape == (960, 1) and x_val.shape == y_val.shape == (200, 1)
    # As the regularization checks drew it inline.
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(203, 1)).astype("float32")
    y = (np.sin(3.0 * x) + rng.normal(0, 1.0, size=x.shape)).astype("float32")
    np.testing.assert_array_equal(x_train, np.tile(x[:3], (320, 1)))
    np.testing.assert_array_equal(y_train, np.tile(y[:3], (320, 1)))
    np.testing.assert_array_equal(x_val, x[3:])
    np.testing.assert_array_equal(y_val, y[3:])
    again = repeated_sine_data(
        np.random.default_rng(2), 3, n_val=200, frequency=3.0, noise=1.0, repeats=320
    )
    assert not np.array_equal(again[3], y_val)
