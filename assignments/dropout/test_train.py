"""Check 4: train_with_dropout, which trains with model.fit, dropout and early stopping.

The student's function runs in their process and its answer is compared with the
reference's run on the same arguments (the recipe in its docstring fixes every seed).
"""

from __future__ import annotations

import math

import numpy as np

from grader.checks import Call, as_float, check, fail, memo, shown
from grader.checks.data import sparse_linear_data

from . import _calibrated as C

ARGS = {"rate": 0.2, "patience": 5, "max_epochs": 40, "seed": 0}
# Correct solutions, Sequential or functional, predict or model(x, training=False), gave the
# reference's gap to the bit; the example class's mistakes that stop at the reference's
# epoch are 24% off.
GAP_REL_TOL = 0.005
RECIPE = (
    "keras.utils.set_random_seed(seed) right before dropout_model(rate, hidden_units=256, "
    "input_dim=...), then model.fit(..., "
    "validation_data=(x_val, y_val), epochs=max_epochs, batch_size=8, "
    "callbacks=[early_stopping_callback(patience)], verbose=0)."
)


def _train_data(seed: int) -> tuple[np.ndarray, ...]:
    """20 features, the first 3 of which matter. With data seed 0 the reference stops
    after 20 of 40 epochs (about 2 s); without restoring the best weights the gap is 24%
    larger, and the example class's other mistakes change the number of epochs."""
    rng = np.random.default_rng(seed)
    weights = np.zeros((20, 1))
    weights[:3, 0] = 1.0
    return sparse_linear_data(
        rng, weights, n_train=C.TRAIN_POINTS, n_val=C.VAL_POINTS, noise=C.NOISE
    )


def outcome(result: object, call: Call, max_epochs: int) -> tuple[int, float]:
    """``(epochs_run, gap)`` from a train_with_dropout answer; fail clearly if malformed."""
    if not isinstance(result, dict) or set(result) != {"epochs_run", "gap"}:
        found = sorted(result) if isinstance(result, dict) else type(result).__name__
        raise fail(f'`{call}` to return a dict with keys "epochs_run" and "gap"', f"{found}")
    epochs = result["epochs_run"]
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= max_epochs:
        raise fail(
            f'`{call}`["epochs_run"] to be the number of epochs that ran, from 1 to {max_epochs}',
            repr(epochs),
            'count them with len(history.history["loss"]).',
        )
    return epochs, as_float(result["gap"], f'`{call}`["gap"]')


def compare_runs(mine: tuple[int, float], ref: tuple[int, float], call: Call) -> None:
    """The student's run must stop after the reference's number of epochs, with its gap."""
    (epochs, gap), (ref_epochs, ref_gap) = mine, ref
    if epochs != ref_epochs:
        raise fail(
            f'`{call}`["epochs_run"] = {ref_epochs} (the reference\'s run)',
            f"{epochs}",
            "when training stops depends on the model (dropout_model with this rate), on "
            "the callback (monitor='val_loss', patience) and on the docstring's recipe, to "
            "follow exactly: " + RECIPE,
        )
    if not math.isclose(gap, ref_gap, rel_tol=GAP_REL_TOL, abs_tol=1e-4):
        raise fail(
            f'`{call}`["gap"] = {ref_gap:.6g} (the reference\'s run)',
            f"{gap:.6g}",
            "training stopped at the same epoch: are the best weights restored "
            "(restore_best_weights=True), and is the gap validation MSE minus training MSE "
            "of model.predict's outputs (dropout off)?",
        )


def _call() -> Call:
    data = memo("train-data-0", lambda: _train_data(0))
    names = ("x_train", "y_train", "x_val", "y_val")
    # The seed is fixed by the recipe: messages leave it out.
    args = {**ARGS, "seed": shown(ARGS["seed"], None)}
    return Call("train_with_dropout", *map(shown, data, names), **args)


@check("train_with_dropout", points=1)
def test_train_with_dropout_result(submission):
    """train_with_dropout returns the epochs run and the gap, and stops before max_epochs."""
    call = _call()
    epochs, _ = outcome(call.on(submission), call, ARGS["max_epochs"])
    if epochs >= ARGS["max_epochs"]:
        raise fail(
            f"`{call}` to stop early: on this data the validation loss stops improving "
            f"long before {ARGS['max_epochs']} epochs",
            f"all {epochs} epochs ran",
            "pass callbacks=[early_stopping_callback(patience)] and "
            "validation_data=(x_val, y_val) to model.fit.",
        )


@check("train_with_dropout", points=2)
def test_train_with_dropout_matches_reference(submission, reference):
    """train_with_dropout stops after the same number of epochs as the reference's run, with
    the same gap."""
    call = _call()
    mine = outcome(call.on(submission), call, ARGS["max_epochs"])
    ref = memo(("outcome", call), lambda: outcome(call.on(reference), call, ARGS["max_epochs"]))
    compare_runs(mine, ref, call)
