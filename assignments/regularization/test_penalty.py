"""Checks 2a and 2b: the penalty by hand, and a loss that includes it (value and gradient)."""

from __future__ import annotations

import numpy as np

from grader.checks import Call, as_float, check, expect_close, fail, memo, shown
from grader.checks.models import dense_stack, regularizer
from grader.sandbox.wire import KerasObject, TensorValue

L1 = regularizer("L1", l1=0.01)
L2 = regularizer("L2", l2=0.02)
L1L2 = regularizer("L1L2", l1=0.004, l2=0.03)


def _single(reg: KerasObject | None, seed: int) -> KerasObject:
    return dense_stack([(6, "relu", reg), (1, "linear", None)], input_dim=3, seed=seed)


def _several() -> KerasObject:
    # Not the contract's shape on purpose: penalties must be summed over every layer.
    layers = [(8, "relu", L1), (6, "tanh", L2), (5, "relu", None), (4, "relu", L1L2)]
    return dense_stack([*layers, (1, "linear", regularizer("L2", l2=0.01))], input_dim=2, seed=5)


def _data(input_dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(24, input_dim)).astype("float32")
    y = np.sin(x.sum(axis=1, keepdims=True) * 2).astype("float32")
    return x, y


def _check_penalty(submission, reference, model: KerasObject, label: str) -> None:
    made = Call("penalty", shown(model, "model"))
    call = f"`{made}` for {label}"
    got = as_float(made.on(submission), call)
    want = float(made.on(reference))
    expect_close(
        got,
        want,
        call,
        rel=1e-4,
        abs_tol=1e-6,
        hint="add l1 * sum(|W|) + l2 * sum(W**2) for the kernel of every layer that has a "
        "kernel_regularizer, reading l1 and l2 from regularizer.get_config().",
    )


@check("penalty", points=1)
def test_penalty_unregularized(submission, reference):
    """penalty is 0 for a model without regularizers."""
    model = memo("penalty-none", lambda: _single(None, 1))
    _check_penalty(submission, reference, model, "a model without regularizers")


@check("penalty", points=2)
def test_penalty_single_layer(submission, reference):
    """penalty matches for models with one L1, L2 or L1L2 regularized layer."""
    for name, reg, seed in (("L1", L1, 2), ("L2", L2, 3), ("L1L2", L1L2, 4)):
        model = memo(f"penalty-{name}", lambda reg=reg, seed=seed: _single(reg, seed))
        _check_penalty(submission, reference, model, f"a model with one {name} hidden layer")


@check("penalty", points=2)
def test_penalty_several_layers(submission, reference):
    """penalty sums every regularized layer of a deeper model."""
    model = memo("penalty-several", _several)
    label = "a model with five Dense layers regularized with L1, L2, none, L1L2 and L2"
    _check_penalty(submission, reference, model, label)


LOSS_HINT = (
    "return the mean squared error of model(x) plus the sum of model.losses, as a tensor "
    "computed from model(x) (not model.predict) so that it can be differentiated."
)


@check("regularized_loss", points=2)
def test_regularized_loss_value(submission, reference):
    """regularized_loss is the MSE plus the penalty."""
    for label, model, input_dim, seed in _loss_cases():
        x, y = _data(input_dim, seed)
        made = _loss_call(model, x, y)
        call = f"`{made}` for {label}"
        got = as_float(made.on(submission), call)
        want = as_float(made.on(reference), "the reference loss")
        expect_close(got, want, call, rel=1e-4, abs_tol=1e-6, hint=LOSS_HINT)


@check("regularized_loss", points=2)
def test_regularized_loss_gradient(submission, reference):
    """regularized_loss is differentiable and its gradient includes the penalty's."""
    for label, model, input_dim, seed in _loss_cases():
        x, y = _data(input_dim, seed)
        made = _loss_call(model, x, y)
        call = f"`{made}` for {label}"
        got, want = made.gradients_on(submission), made.gradients_on(reference)
        if not isinstance(got.value, TensorValue):
            raise fail(
                f"{call} to return a TensorFlow tensor that can be differentiated",
                f"a {type(got.value).__name__}",
                LOSS_HINT,
            )
        grads, ref_grads = got.gradients or [], want.gradients or []
        if all(g is None for g in grads):
            raise fail(
                f"{call} to be differentiable with respect to the model's weights",
                "no gradient at all: the result is not connected to the weights",
                LOSS_HINT,
            )
        for index, (g, r) in enumerate(zip(grads, ref_grads, strict=True)):
            if index % 2:  # biases carry no penalty; the kernels tell the story
                continue
            layer = index // 2 + 1
            if g is None or not np.allclose(g.array, r.array, rtol=1e-3, atol=1e-5):
                raise fail(
                    f"the gradient of {call} with respect to layer {layer}'s kernel to "
                    "include the penalty's gradient",
                    "a different gradient" if g is not None else "no gradient for that kernel",
                    "a penalty added as a constant (a float or numpy value) has no gradient: "
                    "add model.losses, which are tensors computed from the weights.",
                )


def _loss_call(model: KerasObject, x: np.ndarray, y: np.ndarray) -> Call:
    return Call("regularized_loss", shown(model, "model"), shown(x, "x"), shown(y, "y"))


def _loss_cases() -> list[tuple[str, KerasObject, int, int]]:
    return [
        ("a model with an L2 hidden layer", memo("loss-l2", lambda: _single(L2, 11)), 3, 11),
        ("a model with several regularized layers", memo("penalty-several", _several), 2, 12),
    ]
