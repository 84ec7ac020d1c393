"""as_array and expect_allclose: returned arrays read, and compared, with clear failures."""

import numpy as np
import pytest

from grader.checks import CheckFailed, as_array, expect_allclose
from grader.sandbox.wire import TensorValue


def test_as_array_reads_arrays_tensors_and_lists():
    assert as_array([[1, 2], [3, 4]], "x").dtype == np.float64
    assert as_array(np.arange(3, dtype=np.float32), "x", shape=(3,)).tolist() == [0, 1, 2]
    tensor = TensorValue(np.ones((2, 5), dtype=np.float32))
    assert as_array(tensor, "x", shape=(-1, 5)).shape == (2, 5)
    assert as_array(2.5, "x", shape=()).shape == ()
    rows = [TensorValue(np.full(2, i, dtype=np.float32)) for i in range(3)]
    assert as_array(rows, "x", shape=(3, 2)).tolist() == [[0, 0], [1, 1], [2, 2]]


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("0.1", "a string"),
        (None, "None"),
        ({"a": 1}, "a dict"),
        ([[1, 2], [3]], "a ragged list, or items that are not numbers"),
        ([1, "a", 2], "an array of strings"),
        ([True, False, True], "an array of booleans"),
        (np.array([1j, 0, 1]), "an array of complex numbers"),
        ([1.0, 2.0, float("inf")], "NaN or infinite values"),
        ([10**400, 1, 2], "a ragged list, or items that are not numbers"),
        (np.zeros((2, 3)), "the shape (2, 3)"),
        (np.zeros(4), "the shape (4,)"),
    ],
)
def test_as_array_fails_clearly(value, found):
    with pytest.raises(CheckFailed) as caught:
        as_array(value, "`f(3)`", shape=(3,))
    assert f"Found: {found}" in str(caught.value)
    assert "`f(3)`" in str(caught.value)


def test_as_array_shape_with_any_length():
    with pytest.raises(CheckFailed, match=r"shape \(any, 2\)"):
        as_array(np.zeros((3, 4)), "x", shape=(-1, 2))


def test_expect_allclose_names_the_first_difference():
    want = np.array([[1.0, 2.0], [3.0, 4.0]])
    expect_allclose(want * (1 + 1e-6), want, "`f()`")
    got = want.copy()
    got[1, 0], got[1, 1] = 3.5, 4.5
    with pytest.raises(CheckFailed) as caught:
        expect_allclose(got, want, "`f()`", hint="check the step")
    text = str(caught.value)
    assert "Expected: `f()`[1, 0] = 3" in text
    assert "Found: 3.5 (2 of 4 values differ)" in text
    assert "Hint: check the step" in text


def test_expect_allclose_tolerances_and_shape():
    expect_allclose([0.0, 100.0], [1e-7, 100.05], "x", rel=1e-3)
    with pytest.raises(CheckFailed, match=r"x\[1\] = 100"):
        expect_allclose([0.0, 100.0], [0.0, 100.5], "x", rel=1e-3)
    with pytest.raises(CheckFailed, match="shape"):
        expect_allclose([1.0, 2.0, 3.0], [1.0, 2.0], "x")
