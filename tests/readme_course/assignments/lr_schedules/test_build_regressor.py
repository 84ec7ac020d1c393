"""Visible checks of build_regressor: the layers, and the optimizer and learning rate it
was compiled with. The model crosses as data and is rebuilt here."""

import math

from grader.checks import Call, check, expect, fail, show_table
from grader.checks.figures import Row

from ._common import OPTIMIZER_CLASSES, layer_table_rows, model_facts


@check("build_regressor", points=2)
def test_build_regressor_layers(submission, reference):
    """build_regressor(3, 16) is Input((3,)) -> Dense(16, relu) -> Dense(1), compiled with MSE."""
    call = Call("build_regressor", 3, 16)
    mine, _, _, loss = model_facts(call.on(submission), f"`{call}`")
    want, _, _, _ = model_facts(call.on(reference), "the reference model")
    rows = layer_table_rows(mine, want)
    show_table(f"The layers of {call}", ["layer", "yours", "asked for"], rows)
    expect(
        tuple(mine.input_shape) == tuple(want.input_shape),
        f"`{call}` to take inputs of shape {tuple(want.input_shape)}",
        f"inputs of shape {tuple(mine.input_shape)}",
        "start with keras.Input((input_dim,)).",
    )
    expect(
        all(row.ok for row in rows),
        f"`{call}` to have the layers Dense(16, relu), Dense(1, linear)",
        "other layers (see the table)",
        "one hidden Dense(hidden, activation='relu'), then Dense(1) with no activation.",
    )
    expect(
        loss == "mean_squared_error",
        f"`{call}` compiled with the loss 'mse'",
        f"the loss {loss}",
    )


@check("build_regressor", points=3)
def test_build_regressor_optimizer(submission, reference):
    """Each optimizer name gives that optimizer class with the asked learning rate."""
    rows = []
    problems = []
    for name, lr in (("sgd", 0.05), ("adam", 0.002), ("rmsprop", 0.003)):
        call = Call("build_regressor", 2, 8, name, lr)
        _, opt, got_lr, _ = model_facts(call.on(submission), f"`{call}`")
        ok = opt == OPTIMIZER_CLASSES[name] and (
            got_lr is not None and math.isclose(got_lr, lr, rel_tol=1e-5)
        )
        rows.append(
            Row(
                [
                    str(call),
                    f"{opt}({got_lr:.6g})" if got_lr is not None else f"{opt}(?)",
                    f"{OPTIMIZER_CLASSES[name]}({lr})",
                ],
                ok,
            )
        )
        if not ok:
            problems.append((call, name, lr, opt, got_lr))
    show_table("Optimizer and learning rate", ["call", "yours", "asked for"], rows)
    if problems:
        call, name, lr, opt, got_lr = problems[0]
        hint = "pass learning_rate=learning_rate to the optimizer's class"
        if opt == OPTIMIZER_CLASSES[name]:
            hint += ": the string name alone keeps Keras' default learning rate."
        else:
            hint += "; pick the class from the optimizer argument."
        raise fail(
            f"`{call}` compiled with {OPTIMIZER_CLASSES[name]}(learning_rate={lr})",
            f"{opt} with learning rate {got_lr:.6g}" if got_lr is not None else f"{opt}",
            hint,
        )
