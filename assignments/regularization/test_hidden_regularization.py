"""Hidden checks: every graded function on inputs drawn from the course secret.

Each check draws its inputs with ``secret_rng(<its name>)``, inside the contract's domain
(any units, strengths and activations; models of Dense layers with L1, L2 or L1L2 kernels;
one-feature data for compare), and compares the student's answer with the reference's on
them. The inputs are the same on every run of a course and unknown without its secret, so
an answer copied from a visible check's message cannot pass. Messages say in words what
differs: they never print an expected value, nor the hidden inputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from grader.checks import as_float, check, fail, memo
from grader.checks.data import repeated_sine_data
from grader.checks.layers import (
    DenseSummary,
    dense_layers,
    dense_summary,
    layer_summary,
    same_layer,
)
from grader.checks.models import dense_stack, regularizer
from grader.checks.rebuild import rebuild
from grader.checks.secret import secret_rng
from grader.sandbox.wire import KerasObject

from . import _calibrated as C

HIDDEN = "on the grader's hidden inputs"
MISMATCH = "the same answer as the reference solution"
# Activations other than the default relu, so that one ignored argument shows.
ACTIVATIONS = ("tanh", "sigmoid", "elu", "softplus", "linear", "selu")
KINDS = ("L1", "L2", "L1L2")


def _strength(rng: np.random.Generator, default: float) -> float:
    """A log-uniform strength in [1e-4, 0.5], never within a factor 2 of ``default``."""
    while True:
        value = float(10 ** rng.uniform(-4, math.log10(0.5)))
        if not default / 2 <= value <= default * 2:
            return round(value, 6)


def _units(rng: np.random.Generator, low: int, high: int, default: int) -> int:
    while True:
        value = int(rng.integers(low, high + 1))
        if value != default:
            return value


def _differences(mine: DenseSummary, ref: DenseSummary) -> list[str]:
    """What differs between two Dense layers, in words and without the reference's values."""

    def same(a: Any, b: Any) -> bool:
        return (a is None and b is None) or (a is not None and b is not None and a.matches(b))

    found = []
    if mine.class_name != ref.class_name:
        found.append(f"a {mine.class_name} layer")
    if mine.units != ref.units:
        found.append("another number of units")
    if mine.activation != ref.activation:
        found.append(f"another activation ({mine.activation!r})")
    for place, a, b in (
        ("kernel", mine.kernel, ref.kernel),
        ("bias", mine.bias, ref.bias),
        ("activity", mine.activity, ref.activity),
    ):
        if not same(a, b):
            if a is None:
                found.append(f"no {place} regularizer")
            elif b is None:
                found.append(f"a {place} regularizer where none belongs")
            else:
                found.append(f"another {place} regularizer (kind or strength)")
    return found


# ---------------------------------------------------------------- the layer functions


def _check_layer(submission: Any, reference: Any, name: str, function: str) -> None:
    rng = secret_rng(name)
    units = _units(rng, 2, 128, 64)
    activation = str(rng.choice(ACTIVATIONS))
    kwargs: dict[str, Any] = {"activation": activation}
    hint = f"use every argument of {function}: units, activation and the strength"
    if function == "l2_dense":
        kwargs["l2"] = _strength(rng, 0.01)
    elif function == "l1_dense":
        kwargs["l1"] = _strength(rng, 0.005)
    else:
        kwargs["l1"] = _strength(rng, 0.001)
        kwargs["l2"] = _strength(rng, 0.001)
        hint += "s l1 and l2"
    call = f"`{function}(units, ...)` {HIDDEN}"
    mine = dense_summary(getattr(submission, function)(units, **kwargs), call)
    key = f"{name} {units} {sorted(kwargs.items())}"
    ref = memo(key, lambda: dense_summary(getattr(reference, function)(units, **kwargs), call))
    if not same_layer(mine, ref):
        raise fail(
            f"{call} to return {MISMATCH}",
            "a layer with " + ", ".join(_differences(mine, ref)),
            hint + ", and attach the regularizer to the kernel only.",
        )


@check("l2_dense", points=1, hidden=True)
def test_hidden_l2_dense(submission, reference):
    """l2_dense matches the reference for other units, strengths and activations."""
    _check_layer(submission, reference, "test_hidden_l2_dense", "l2_dense")


@check("l1_dense", points=1, hidden=True)
def test_hidden_l1_dense(submission, reference):
    """l1_dense matches the reference for other units, strengths and activations."""
    _check_layer(submission, reference, "test_hidden_l1_dense", "l1_dense")


@check("l1_l2_dense", points=1, hidden=True)
def test_hidden_l1_l2_dense(submission, reference):
    """l1_l2_dense matches the reference for other units, strengths and activations."""
    _check_layer(submission, reference, "test_hidden_l1_l2_dense", "l1_l2_dense")


# ---------------------------------------------------------------- build_model


def _draw_regularizer(rng: np.random.Generator, allow_none: bool = True) -> KerasObject | None:
    kinds = (*KINDS, None) if allow_none else KINDS
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind is None:
        return None
    if kind == "L1":
        return regularizer("L1", l1=_strength(rng, 0.01))
    if kind == "L2":
        return regularizer("L2", l2=_strength(rng, 0.01))
    return regularizer("L1L2", l1=_strength(rng, 0.01), l2=_strength(rng, 0.01))


def _structure(model: Any) -> tuple[tuple[Any, ...], list[DenseSummary]]:
    return tuple(model.input_shape), [layer_summary(layer) for layer in dense_layers(model)]


@check("build_model", points=1, hidden=True)
def test_hidden_build_model(submission, reference):
    """build_model matches the reference for another regularizer, size and input size."""
    name = "test_hidden_build_model"
    rng = secret_rng(name)
    reg = _draw_regularizer(rng)
    hidden_units = _units(rng, 2, 128, 64)
    input_dim = int(rng.integers(2, 9))
    call = f"`build_model(regularizer, hidden_units, input_dim)` {HIDDEN}"
    kwargs = {"hidden_units": hidden_units, "input_dim": input_dim}
    shape, mine = _structure(rebuild(submission.build_model(reg, **kwargs), call))
    key = f"{name} {None if reg is None else reg.config} {sorted(kwargs.items())}"
    ref_shape, ref = memo(
        key, lambda: _structure(rebuild(reference.build_model(reg, **kwargs), "the reference"))
    )
    hint = (
        "use every argument: keras.Input((input_dim,)), then Dense(hidden_units, "
        'activation="relu", kernel_regularizer=regularizer), then Dense(1).'
    )
    if shape != ref_shape:
        raise fail(
            f"{call} to take inputs of the shape the reference solution's model takes",
            "a model for another input shape",
            hint,
        )
    if len(mine) != len(ref):
        raise fail(f"{call} to return {MISMATCH}", f"a model with {len(mine)} layers", hint)
    for index, (m, r) in enumerate(zip(mine, ref, strict=True)):
        if not same_layer(m, r):
            role = "hidden layer" if index < len(ref) - 1 else "output layer"
            raise fail(
                f"{call} to return {MISMATCH}",
                f"its {role} has " + ", ".join(_differences(m, r)),
                hint,
            )


# ---------------------------------------------------------------- penalty and the loss


def _model(rng: np.random.Generator) -> tuple[KerasObject, int, str]:
    """A Sequential model of 2 to 4 Dense layers, each with L1, L2, L1L2 or no kernel
    regularizer, the output layer always with one (so that reading only the first layer
    shows), random weights; its input size; its memo key."""
    input_dim = int(rng.integers(1, 6))
    layers: list[tuple[int, str, KerasObject | None]] = []
    for _ in range(int(rng.integers(1, 4))):
        units = int(rng.integers(2, 17))
        layers.append((units, str(rng.choice(("relu", "tanh", "linear"))), _draw_regularizer(rng)))
    layers.append((1, "linear", _draw_regularizer(rng, allow_none=False)))
    seed = int(rng.integers(0, 2**31))
    key = repr([(u, a, None if r is None else r.config) for u, a, r in layers])
    key += f" {input_dim} {seed}"
    model = memo(f"hidden model {key}", lambda: dense_stack(layers, input_dim=input_dim, seed=seed))
    return model, input_dim, key


def _loss_data(rng: np.random.Generator, input_dim: int) -> tuple[np.ndarray, np.ndarray]:
    n = int(rng.integers(8, 40))
    x = rng.uniform(-1, 1, size=(n, input_dim)).astype("float32")
    y = np.sin(2 * x.sum(axis=1)) + rng.normal(0, 0.2, size=n)
    # The contract's y: shape (n,) or (n, 1), any float dtype.
    if rng.integers(2):
        y = y.reshape(n, 1)
    return x, y.astype("float32" if rng.integers(2) else "float64")


@check("penalty", points=1, hidden=True)
def test_hidden_penalty(submission, reference):
    """penalty matches the reference for another model with several regularized layers."""
    name = "test_hidden_penalty"
    model, _, key = _model(secret_rng(name))
    call = f"`penalty(model)` for a model {HIDDEN}"
    got = as_float(submission.penalty(model), call)
    want = memo(f"{name} {key}", lambda: float(reference.penalty(model)))
    if not math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-6):
        raise fail(
            f"{call} to equal the reference solution's answer",
            f"{got:.6g}, another number",
            "add l1 * sum(|W|) + l2 * sum(W**2) over the kernel of every layer that has a "
            "kernel_regularizer, reading l1 and l2 from its get_config() (a missing key is 0).",
        )


@check("regularized_loss", points=1, hidden=True)
def test_hidden_regularized_loss(submission, reference):
    """regularized_loss matches the reference for another model and data."""
    name = "test_hidden_regularized_loss"
    rng = secret_rng(name)
    model, input_dim, key = _model(rng)
    x, y = _loss_data(rng, input_dim)
    call = f"`regularized_loss(model, x, y)` {HIDDEN}"
    got = as_float(submission.regularized_loss(model, x, y), call)
    want = memo(
        f"{name} {key} {x.shape} {y.shape} {y.dtype}",
        lambda: as_float(reference.regularized_loss(model, x, y), "the reference loss"),
    )
    if not math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-6):
        raise fail(
            f"{call} to equal the reference solution's answer",
            f"{got:.6g}, another number",
            "return mean((y - model(x))**2) plus the sum of model.losses, with y cast to "
            "float32 and reshaped to the shape of model(x) (y may have shape (n,) or (n, 1)).",
        )


@check("validation_gap", points=1, hidden=True)
def test_hidden_validation_gap(submission, reference):
    """validation_gap matches the reference for another model and data."""
    name = "test_hidden_validation_gap"
    rng = secret_rng(name)
    input_dim = int(rng.integers(1, 6))
    units = int(rng.integers(4, 33))
    # Always regularized: a gap that takes evaluate()'s loss (penalty included) shows.
    reg = _draw_regularizer(rng, allow_none=False)
    seed = int(rng.integers(0, 2**31))
    layers = [(units, "relu", reg), (1, "linear", None)]
    n_train, n_val = int(rng.integers(10, 40)), int(rng.integers(20, 80))
    x = rng.uniform(-1, 1, size=(n_train + n_val, input_dim)).astype("float32")
    y = (np.sin(2 * x.sum(axis=1, keepdims=True)) + rng.normal(0, 0.3, (len(x), 1))).astype(
        "float32"
    )
    data = (x[:n_train], y[:n_train], x[n_train:], y[n_train:])
    key = f"{name} {units} {None if reg is None else reg.config} {input_dim} {seed} {n_train}"
    model = memo(f"{key} model", lambda: dense_stack(layers, input_dim=input_dim, seed=seed))
    call = f"`validation_gap(model, ...)` {HIDDEN}"
    got = as_float(submission.validation_gap(model, *data), call)
    want = memo(key, lambda: as_float(reference.validation_gap(model, *data), "the reference"))
    if not math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-5):
        raise fail(
            f"{call} to equal the reference solution's answer",
            f"{got:.6g}, another number",
            "return the mean squared error of the model's predictions on the validation set "
            "minus that on the training set: the data loss only, without the penalty "
            "(not model.evaluate()).",
        )


# ---------------------------------------------------------------- compare

# Correct solutions repeat the reference's run op for op, so their gaps match it to float
# rounding; each mistake measured moved a gap by 1.7% or more.
GAP_REL_TOL = 0.005


def _compare_inputs(rng: np.random.Generator) -> tuple[tuple[np.ndarray, ...], dict[str, Any]]:
    """One-feature data as the visible check's (a few noisy points of a sine curve, each
    repeated) and arguments, drawn: at most 5 epochs of 30 steps, so cheaper than it."""
    n_train = 3  # with more points the fit hardly depends on the initial weights
    frequency = float(rng.uniform(2.0, 4.0))
    noise = float(rng.uniform(0.5, 1.0))
    data = repeated_sine_data(
        rng,
        n_train,
        n_val=C.COMPARE_VAL_POINTS,
        frequency=frequency,
        noise=noise,
        repeats=C.COMPARE_REPEATS,
    )
    # Weaker L2 than the visible check's 1.0 (a strong one flattens the second model
    # whatever its initial weights, and seeding once would no longer show), fewer epochs
    # than its 6, a seed other than its 0. Measured for three secrets, against the
    # reference's L2 gap: seeding once 3% to 39% off, L1 instead of L2 2% to 62%, the
    # penalty in the gap 18% to 139%, the visible check's 6 epochs hard-coded 3% to 20%.
    args = {
        "l2": round(float(10 ** rng.uniform(-1, math.log10(0.6))), 4),
        "epochs": int(rng.integers(3, 6)),
        "seed": int(rng.integers(1, 10_000)),
    }
    return data, args


def _gaps(result: object, call: str) -> dict[str, float]:
    if not isinstance(result, dict) or set(result) != {"no_reg", "l2"}:
        found = sorted(result) if isinstance(result, dict) else type(result).__name__
        raise fail(f'{call} to return a dict with keys "no_reg" and "l2"', f"{found}")
    return {k: as_float(v, f'{call}["{k}"]') for k, v in result.items()}


@check("compare", points=1, hidden=True)
def test_hidden_compare(submission, reference):
    """compare matches the reference's run for other one-feature data and arguments."""
    name = "test_hidden_compare"
    data, args = _compare_inputs(secret_rng(name))
    call = f"`compare(x_train, y_train, x_val, y_val, l2, epochs, seed)` {HIDDEN}"
    gaps = _gaps(submission.compare(*data, **args), call)
    ref = memo(
        f"{name} {sorted(args.items())} {float(data[1].sum()):.9g}",
        lambda: _gaps(reference.compare(*data, **args), call),
    )
    wrong = [
        key
        for key in ("no_reg", "l2")
        if not math.isclose(gaps[key], ref[key], rel_tol=GAP_REL_TOL, abs_tol=1e-4)
    ]
    if wrong:
        raise fail(
            f"{call} to give {MISMATCH}: the gaps of the reference's run with the same arguments",
            " and ".join(f'another ["{key}"] ({gaps[key]:.4g})' for key in wrong),
            "use every argument: keras.utils.set_random_seed(seed) right before each "
            "build_model, L2(l2) for the second model, fit with epochs=epochs and nothing "
            "else, and measure with your validation_gap.",
        )
