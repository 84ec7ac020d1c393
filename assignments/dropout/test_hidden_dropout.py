"""Hidden checks: every graded function on inputs drawn from the course secret.

Each check draws its inputs with ``secret_rng(<its name>)``, inside the contract's domain,
and compares the student's answer with the reference's on them: the same inputs on every
run of a course, unknown without its secret, so an answer copied from a visible check's
message cannot pass. Messages say in words what differs: they never print an expected
value, nor the hidden inputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from grader.checks import as_float, check, fail, memo
from grader.checks.data import sparse_linear_data
from grader.checks.layers import dense_layers
from grader.checks.models import callback_settings
from grader.checks.rebuild import rebuild
from grader.checks.secret import secret_rng

from . import _calibrated as C

HIDDEN = "on the grader's hidden inputs"
MISMATCH = "the same answer as the reference solution"


# ---------------------------------------------------------------- dropout_model


def _layers(model: Any) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The input shape and each layer as (class, units, activation, rate)."""
    described = []
    for layer in dense_layers(model):
        config = layer.get_config()
        rate = config.get("rate")
        described.append(
            (
                type(layer).__name__,
                config.get("units"),
                str(config.get("activation", "")),
                round(float(rate), 6) if isinstance(rate, (int, float)) else None,
            )
        )
    return tuple(model.input_shape), described


@check("dropout_model", points=1, hidden=True)
def test_hidden_dropout_model(submission, reference):
    """dropout_model matches the reference for another rate, size, depth and input size."""
    name = "test_hidden_dropout_model"
    rng = secret_rng(name)
    kwargs = {
        # Away from the defaults (0.5, 64, 2, 1), so that an argument ignored shows.
        "rate": round(float(rng.uniform(0.1, 0.4)), 3),
        "hidden_units": int(rng.choice([u for u in range(4, 49) if u != 64])),
        # Three or four: with one, dropout after the last hidden layer only is right.
        "hidden_layers": int(rng.integers(3, 5)),
        "input_dim": int(rng.integers(2, 7)),
    }
    call = f"`dropout_model(rate, hidden_units, hidden_layers, input_dim)` {HIDDEN}"
    shape, mine = _layers(rebuild(submission.dropout_model(**kwargs), call))
    ref_shape, ref = memo(
        f"{name} {sorted(kwargs.items())}",
        lambda: _layers(rebuild(reference.dropout_model(**kwargs), "the reference")),
    )
    hint = (
        "use every argument: keras.Input((input_dim,)), then hidden_layers times "
        'Dense(hidden_units, activation="relu") and Dropout(rate), then Dense(1).'
    )
    if shape != ref_shape:
        raise fail(
            f"{call} to take inputs of the shape the reference solution's model takes",
            "a model for another input shape",
            hint,
        )
    kinds = [layer[0] for layer in mine]
    if kinds != [layer[0] for layer in ref]:
        raise fail(
            f"{call} to return {MISMATCH}",
            f"other layers, in this order: {', '.join(kinds) or 'none'}",
            hint,
        )
    for index, (m, r) in enumerate(zip(mine, ref, strict=True)):
        if m != r:
            what = "rate" if m[0] == "Dropout" else "units or activation"
            raise fail(
                f"{call} to return {MISMATCH}",
                f"layer {index + 1} ({m[0]}) has another {what}",
                hint,
            )


# ---------------------------------------------------------------- early_stopping_callback

# What the contract fixes beyond monitor, patience and restore_best_weights.
DEFAULTS = {"min_delta": 0, "baseline": None, "start_from_epoch": 0}


@check("early_stopping_callback", points=1, hidden=True)
def test_hidden_early_stopping_other_settings(submission, reference):
    """early_stopping_callback matches the reference for another patience, every other setting
    left at its default."""
    name = "test_hidden_early_stopping_other_settings"
    rng = secret_rng(name)
    patience = int(rng.choice([p for p in range(1, 21) if p != 5]))
    call = f"`early_stopping_callback(patience)` {HIDDEN}"
    mine = callback_settings(submission.early_stopping_callback(patience), call, "EarlyStopping")
    ref = memo(
        f"{name} {patience}",
        lambda: callback_settings(
            reference.early_stopping_callback(patience), "the reference", "EarlyStopping"
        ),
    )
    changed = [
        f"{key}={mine.get(key)!r}"
        for key in ("monitor", "restore_best_weights")
        if mine.get(key) != ref[key]
    ]
    if mine.get("patience") != ref["patience"]:
        changed.append("another patience than the one asked for")
    changed += [f"{k}={mine.get(k)!r}" for k, v in DEFAULTS.items() if mine.get(k) != v]
    if mine.get("mode") not in ("auto", "min"):
        changed.append(f"mode={mine.get('mode')!r}")
    if changed:
        raise fail(
            f"{call} to return {MISMATCH}: monitor the validation loss, wait `patience` "
            "epochs, restore the best weights, and leave every other setting at its default",
            ", ".join(changed),
            "pass monitor, patience (the argument) and restore_best_weights only.",
        )


# ---------------------------------------------------------------- train_with_dropout


# Correct solutions repeat the reference's run op for op: their gap matches it to float
# rounding (predict or model(x, training=False), numpy or TensorFlow ops). A mistake can
# come close: with one secret, dropout before each hidden layer stopped at the reference's
# epoch with a gap 0.25% off.
GAP_REL_TOL = 1e-3


def _train_inputs(rng: np.random.Generator) -> tuple[tuple[np.ndarray, ...], dict[str, Any]]:
    """The visible check's kind of data (a few informative features of many, noise), and
    arguments away from the defaults, drawn: a 256-unit network overfits it within a few
    dozen epochs, so early stopping ends training well before max_epochs."""
    features = int(rng.integers(10, 21))
    weights = np.zeros((features, 1))
    weights[:3, 0] = rng.choice([-1.0, 1.0], size=3)
    data = sparse_linear_data(
        rng, weights, n_train=C.TRAIN_POINTS, n_val=C.VAL_POINTS, noise=C.NOISE
    )
    args = {
        "rate": round(float(rng.uniform(0.25, 0.4)), 3),
        "patience": int(rng.integers(2, 5)),
        "max_epochs": int(rng.integers(30, 41)),
        "seed": int(rng.integers(1, 10_000)),
    }
    return data, args


def _outcome(result: object, call: str, max_epochs: int) -> tuple[int, float]:
    if not isinstance(result, dict) or set(result) != {"epochs_run", "gap"}:
        found = sorted(result) if isinstance(result, dict) else type(result).__name__
        raise fail(f'{call} to return a dict with keys "epochs_run" and "gap"', f"{found}")
    epochs = result["epochs_run"]
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= max_epochs:
        raise fail(
            f'{call}["epochs_run"] to be the number of epochs that ran, from 1 to max_epochs',
            repr(epochs),
            'count them with len(history.history["loss"]).',
        )
    return epochs, as_float(result["gap"], f'{call}["gap"]')


@check("train_with_dropout", points=2, hidden=True)
def test_hidden_train_with_dropout_other_run(submission, reference):
    """train_with_dropout matches the reference's run for other data and arguments."""
    name = "test_hidden_train_with_dropout_other_run"
    data, args = _train_inputs(secret_rng(name))
    call = f"`train_with_dropout(x_train, y_train, x_val, y_val, ...)` {HIDDEN}"
    epochs, gap = _outcome(submission.train_with_dropout(*data, **args), call, args["max_epochs"])
    ref_epochs, ref_gap = memo(
        f"{name} {sorted(args.items())} {float(data[1].sum()):.9g}",
        lambda: _outcome(reference.train_with_dropout(*data, **args), call, args["max_epochs"]),
    )
    hint = (
        "use every argument: rate for dropout_model, patience for early_stopping_callback, "
        "max_epochs as fit's epochs and seed for keras.utils.set_random_seed, and follow "
        "the docstring's recipe exactly."
    )
    if epochs != ref_epochs:
        raise fail(
            f"{call} to stop after the same number of epochs as the reference's run",
            f"{epochs} epochs, another number",
            hint,
        )
    if not math.isclose(gap, ref_gap, rel_tol=GAP_REL_TOL, abs_tol=1e-4):
        raise fail(
            f"{call} to give the gap of the reference's run, which stopped at the same epoch",
            f"a gap of {gap:.4g}, another number",
            "are the best weights restored (restore_best_weights=True), and is the gap "
            "validation MSE minus training MSE of model.predict's outputs (dropout off)?",
        )
