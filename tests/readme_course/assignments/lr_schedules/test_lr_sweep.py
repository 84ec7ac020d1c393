"""Visible checks of lr_sweep: the shape of its answer, then its numbers against the
reference's run with the same arguments (same seed, so the same initial weights)."""

import numpy as np

from grader.checks import Call, check, expect, expect_close, show_curves, shown
from grader.checks.figures import Panel, Series

from ._common import LOSS_REL, sweep_data, sweep_result

RATES = [0.001, 0.01, 0.1]
EPOCHS = 30


def sweep_call(data, rates, epochs, seed):
    return Call(
        "lr_sweep",
        shown(data.x_train, "x_train"),
        shown(data.y_train, "y_train"),
        shown(data.x_val, "x_val"),
        shown(data.y_val, "y_val"),
        rates,
        epochs=epochs,
        seed=seed,
    )


@check("lr_sweep", points=1)
def test_lr_sweep_answer(submission, reference):
    """lr_sweep returns one loss and one curve per learning rate, and the best of them."""
    data = sweep_data(3)
    call = sweep_call(data, [0.01, 0.1], 4, 0)
    got = sweep_result(call.on(submission), 2, 4, f"`{call}`")
    lowest = [0.01, 0.1][int(np.argmin(got["val_loss"]))]
    expect(
        got["best"] == lowest,
        f'`{call}`["best"] to be the learning rate with the lowest last validation loss '
        f"({lowest}, by your own val_loss)",
        f"{got['best']}",
        "return the learning rate itself, not its index or its loss.",
    )
    for curve, last in zip(got["val_curves"], got["val_loss"], strict=True):
        expect(
            abs(curve[-1] - last) <= 1e-6 * max(1.0, abs(last)),
            f'the last value of each `{call}`["val_curves"] curve to be its "val_loss"',
            f"{curve[-1]} against {last}",
        )


@check("lr_sweep", points=3)
def test_lr_sweep_matches_reference(submission, reference):
    """lr_sweep(..., [0.001, 0.01, 0.1], epochs=30, seed=1) ends where the reference's runs end."""
    data = sweep_data(5)
    call = sweep_call(data, RATES, EPOCHS, 1)
    got = sweep_result(call.on(submission), len(RATES), EPOCHS, f"`{call}`")
    want = sweep_result(call.on(reference), len(RATES), EPOCHS, "the reference sweep")
    epochs = list(range(1, EPOCHS + 1))
    # One panel per learning rate: your validation curve against the reference's.
    panels = [
        Panel(
            f"lr={lr}",
            [
                Series("yours", "yours", "validation", epochs, got["val_curves"][i]),
                Series("reference", "reference", "validation", epochs, want["val_curves"][i]),
            ],
        )
        for i, lr in enumerate(RATES)
    ]
    show_curves(
        "Validation loss per epoch: yours and the reference's, per learning rate",
        panels,
        x_label="epoch",
        y_label="validation MSE",
    )
    hint = (
        "reset the seed with keras.utils.set_random_seed(seed) before building each model, "
        'and train with "sgd" at that learning rate, full batch, shuffle=False.'
    )
    for i, lr in enumerate(RATES):
        expect_close(
            got["train_loss"][i],
            want["train_loss"][i],
            f"the last training loss at lr={lr}",
            rel=LOSS_REL,
            hint=hint,
        )
        expect_close(
            got["val_loss"][i],
            want["val_loss"][i],
            f"the last validation loss at lr={lr}",
            rel=LOSS_REL,
            hint=hint,
        )
    expect(got["best"] == want["best"], f'"best" to be {want["best"]}', f"{got['best']}")
