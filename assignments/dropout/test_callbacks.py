"""Check 3: early_stopping_callback's settings.

A callback crosses from the student's process as its class and its settings (monitor,
patience, restore_best_weights...); they are compared with the reference's here.
"""

from __future__ import annotations

from typing import Any

from grader.checks import Call, check, fail, memo
from grader.checks.models import callback_settings


def _settings(module: Any, call: Call) -> dict[str, Any]:
    return callback_settings(call.on(module), f"`{call}`", "EarlyStopping")


def _reference(reference: Any, call: Call) -> dict[str, Any]:
    return memo(("settings", call), lambda: _settings(reference, call))


@check("early_stopping_callback", points=1)
def test_early_stopping_monitor(submission, reference):
    """early_stopping_callback() is a keras.callbacks.EarlyStopping monitoring val_loss."""
    call = Call("early_stopping_callback")
    mine, ref = _settings(submission, call), _reference(reference, call)
    if mine.get("monitor") != ref["monitor"]:
        raise fail(
            f"`{call}` to monitor {ref['monitor']!r}",
            f"monitor={mine.get('monitor')!r}",
            'watch the loss on the validation data, monitor="val_loss": the training loss '
            "keeps falling while the model overfits, so it cannot tell when to stop.",
        )


@check("early_stopping_callback", points=1)
def test_early_stopping_patience(submission, reference):
    """early_stopping_callback honours patience (5 by default)."""
    for kwargs in ({}, {"patience": 12}):
        call = Call("early_stopping_callback", **kwargs)
        mine, ref = _settings(submission, call), _reference(reference, call)
        if mine.get("patience") != ref["patience"]:
            raise fail(
                f"`{call}` to wait {ref['patience']} epochs without improvement "
                f"(patience={ref['patience']})",
                f"patience={mine.get('patience')!r}",
                "pass the `patience` argument on to keras.callbacks.EarlyStopping.",
            )


@check("early_stopping_callback", points=1)
def test_early_stopping_restores_best(submission, reference):
    """early_stopping_callback restores the best weights when training ends."""
    call = Call("early_stopping_callback")
    mine, ref = _settings(submission, call), _reference(reference, call)
    if mine.get("restore_best_weights") != ref["restore_best_weights"]:
        raise fail(
            f"`{call}` to restore the best weights when training ends "
            f"(restore_best_weights={ref['restore_best_weights']})",
            f"restore_best_weights={mine.get('restore_best_weights')!r}",
            "without restore_best_weights=True the model keeps the weights of the last "
            "epoch, `patience` epochs past the best one.",
        )
