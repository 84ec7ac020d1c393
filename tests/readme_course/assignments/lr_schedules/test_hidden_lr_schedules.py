"""Hidden checks: every function on inputs drawn from the course secret, so that an answer
copied from a visible check's message cannot pass. Messages never print the inputs nor an
expected value."""

import math

import numpy as np

from grader.checks import Call, check, expect, fail, shown
from grader.checks.secret import secret_rng

from ._common import (
    LOSS_REL,
    model_facts,
    schedule_array,
    sweep_data,
    sweep_result,
)

HIDDEN = "on the grader's hidden inputs"


@check("build_regressor", points=1, hidden=True)
def test_hidden_build_regressor(submission, reference):
    """build_regressor honours other sizes, optimizers and learning rates."""
    rng = secret_rng("test_hidden_build_regressor")
    name = ["sgd", "adam", "rmsprop"][int(rng.integers(3))]
    args = (
        int(rng.integers(2, 9)),
        int(rng.integers(4, 40)),
        name,
        float(10 ** rng.uniform(-4, -1)),
    )
    call = Call("build_regressor", *(shown(a, None) for a in args))
    what = f"`build_regressor(input_dim, hidden, optimizer, learning_rate)` {HIDDEN}"
    mine, opt, lr, loss = model_facts(call.on(submission), what)
    want, want_opt, want_lr, _ = model_facts(call.on(reference), "the reference model")
    expect(
        tuple(mine.input_shape) == tuple(want.input_shape),
        f"{what} to take input_dim features",
        "another input shape",
    )
    expect(
        [layer.get_config().get("units") for layer in mine.layers]
        == [layer.get_config().get("units") for layer in want.layers],
        f"{what} to have a hidden layer of `hidden` units, then one output",
        "other layer sizes",
        "use input_dim and hidden, not fixed numbers.",
    )
    expect(opt == want_opt, f"{what} to use the optimizer named", "another optimizer class")
    expect(
        lr is not None and math.isclose(lr, want_lr, rel_tol=1e-5),
        f"{what} to use the learning rate given",
        "another learning rate",
    )
    expect(loss == "mean_squared_error", f"{what} to use the loss 'mse'", "another loss")


@check("warmup_cosine", points=1, hidden=True)
def test_hidden_warmup_cosine(submission, reference):
    """warmup_cosine matches the contract for other lengths, rates and warm-ups."""
    rng = secret_rng("test_hidden_warmup_cosine")
    total = int(rng.integers(10, 60))
    warmup = int(rng.integers(1, total // 3))  # at least one warm-up step: both branches
    base = float(10 ** rng.uniform(-3, 0))
    call = Call(
        "warmup_cosine",
        shown(total, None),
        base_lr=shown(base, None),
        warmup_steps=shown(warmup, None),
    )
    what = f"`warmup_cosine(total_steps, base_lr, warmup_steps)` {HIDDEN}"
    mine = schedule_array(call.on(submission), total, what)
    want = schedule_array(call.on(reference), total, "the reference schedule")
    if not np.allclose(mine, want, rtol=1e-6, atol=1e-9):
        raise fail(f"{what} to follow the contract at every step", "other learning rates")


@check("lr_sweep", points=2, hidden=True)
def test_hidden_lr_sweep(submission, reference):
    """lr_sweep matches the reference's runs on other data, rates, epochs and seed."""
    rng = secret_rng("test_hidden_lr_sweep")
    data = sweep_data(int(rng.integers(100, 10_000)))
    rates = sorted(float(10 ** rng.uniform(-3, -0.7)) for _ in range(2))
    epochs = int(rng.integers(8, 20))
    seed = int(rng.integers(0, 1000))
    call = Call(
        "lr_sweep",
        *(shown(a, None) for a in (data.x_train, data.y_train, data.x_val, data.y_val, rates)),
        epochs=shown(epochs, None),
        seed=shown(seed, None),
    )
    what = f"`lr_sweep(...)` {HIDDEN}"
    got = sweep_result(call.on(submission), len(rates), epochs, what)
    want = sweep_result(call.on(reference), len(rates), epochs, "the reference sweep")
    for key in ("train_loss", "val_loss"):
        for g, w in zip(got[key], want[key], strict=True):
            if not math.isclose(g, w, rel_tol=LOSS_REL, abs_tol=1e-6):
                raise fail(
                    f"{what} to end with the reference's {key.replace('_', ' ')}es",
                    "other losses",
                    "follow the docstring's steps exactly, seeding before every run.",
                )
    expect(
        got["best"] == want["best"],
        f'{what}["best"] to be the reference\'s',
        "another rate",
    )
