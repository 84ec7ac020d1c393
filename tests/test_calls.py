"""The check library's calls that name themselves, the per-assignment memo, and ``@check``
at run time. No TensorFlow: plain modules stand in for the submission and the reference."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from grader.checks import Call, check, memo, shown
from grader.checks.calls import _MEMO, fresh_memo, memo_namespace, set_memo_namespace
from grader.checks.declare import CHECK_ATTRIBUTE, Declared


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (Call("l2_dense", 64), "l2_dense(64)"),
        (
            Call("l2_dense", 32, l2=0.05, activation="tanh"),
            "l2_dense(32, l2=0.05, activation='tanh')",
        ),
        (Call("build_model"), "build_model()"),
        (
            Call("build_model", None, hidden_units=16, input_dim=3),
            "build_model(None, hidden_units=16, input_dim=3)",
        ),
        (Call("early_stopping_callback", patience=12), "early_stopping_callback(patience=12)"),
        (Call("compare", l2=1.0, epochs=6), "compare(l2=1.0, epochs=6)"),
    ],
)
def test_a_call_with_literal_arguments_reads_as_python(call: Call, text: str):
    assert str(call) == text


def test_other_arguments_show_by_the_name_given_with_them_or_not_at_all():
    x = np.zeros((3, 1))
    call = Call(
        "train_with_dropout",
        shown(x, "x_train"),
        shown(np.float32(0.02), "L2(0.02)"),
        rate=0.2,
        seed=shown(0, None),
    )
    assert str(call) == "train_with_dropout(x_train, L2(0.02), rate=0.2)"
    # The memo key is the values, not the text: other data or another seed is another
    # call, though it reads the same.
    same = Call("f", shown(np.ones(2), "x"), seed=shown(0, None))
    assert same == Call("f", shown(np.ones(2), "x"), seed=shown(0, None))
    assert same != Call("f", shown(np.zeros(2), "x"), seed=shown(0, None))
    assert str(Call("f", shown(np.zeros(2), "x"))) == str(Call("f", shown(np.ones(2), "x")))
    assert same != Call("f", shown(np.ones(2), "x"), seed=shown(1, None))
    assert same != Call("g", shown(np.ones(2), "x"), seed=shown(0, None))
    assert len({same, Call("f", shown(np.ones(2), "x"), seed=shown(0, None))}) == 1


def test_a_call_is_made_on_either_module_with_the_values_themselves():
    seen = []

    def double(values, *, times=2):
        seen.append((values, times))
        return [v * times for v in values]

    module = SimpleNamespace(double=double)
    values = [1, 2]
    call = Call("double", shown(values, "values"), times=shown(3, None))
    assert call.on(module) == [3, 6]
    assert seen == [([1, 2], 3)] and seen[0][0] is values
    assert str(call) == "double(values)"
    # With gradients: through the module's call_with_gradients, as a proxy offers it.
    asked = []
    module.call_with_gradients = lambda name, *args, **kwargs: asked.append((name, args, kwargs))
    call.gradients_on(module)
    assert asked == [("double", ([1, 2],), {"times": 3})]


def test_memo_keys_are_namespaced_per_assignment():
    computed = []

    def compute(value):
        def run():
            computed.append(value)
            return value

        return run

    with fresh_memo():
        with memo_namespace("regularization:/a"):
            assert memo("data", compute("regularization")) == "regularization"
        with memo_namespace("dropout:/b"):
            # The same key in another assignment is computed again, not shared.
            assert memo("data", compute("dropout")) == "dropout"
            assert memo("data", compute("again")) == "dropout"
        with memo_namespace("regularization:/a"):
            assert memo("data", compute("again")) == "regularization"
            assert memo(Call("f", 1), compute("call")) == "call"
            assert memo(Call("f", 1), compute("again")) == "call"  # a Call is a key
        assert computed == ["regularization", "dropout", "call"]
        assert len(_MEMO) == 3
    assert ("dropout:/b", "data") not in _MEMO  # fresh_memo restored what was there


def test_the_namespace_set_by_the_grading_plugin_stays_until_the_next():
    with fresh_memo(), memo_namespace(""):
        set_memo_namespace("first")
        memo("k", lambda: 1)
        set_memo_namespace("second")
        assert memo("k", lambda: 2) == 2
        assert set(_MEMO) == {("first", "k"), ("second", "k")}


def test_check_only_attaches_its_declaration():
    def test_something(submission):
        """Something works."""

    declared = check("something", points=2, hidden=True)(test_something)
    assert declared is test_something
    assert getattr(declared, CHECK_ATTRIBUTE) == Declared("something", 2.0, True)
