"""Hidden checks: the callback changes nothing it was not asked to, and train_with_dropout
honours every argument (another data set, rate, patience, epoch budget and seed)."""

from __future__ import annotations

import math

import numpy as np

from grader.checks import as_float, fail, memo
from grader.checks.models import callback_settings

DEFAULTS = {"min_delta": 0, "baseline": None, "start_from_epoch": 0}


def test_hidden_early_stopping_other_settings(submission):
    call = "early_stopping_callback(patience=3)"
    mine = callback_settings(
        submission.early_stopping_callback(patience=3), f"`{call}`", "EarlyStopping"
    )
    changed = [f"{k}={mine.get(k)!r}" for k, v in DEFAULTS.items() if mine.get(k) != v]
    if mine.get("mode") not in ("auto", "min"):
        changed.append(f"mode={mine.get('mode')!r}")
    if changed:
        raise fail(
            f"`{call}` to leave every other setting at its default (a lower val_loss is "
            "better, any improvement counts, from the first epoch on)",
            ", ".join(changed),
            "set monitor, patience and restore_best_weights only.",
        )


ARGS = {"rate": 0.3, "patience": 3, "max_epochs": 25, "seed": 1}
CALL = (
    "train_with_dropout(x_train, y_train, x_val, y_val, rate=0.3, patience=3, max_epochs=25, "
    "seed=1)"
)


def _data() -> tuple[np.ndarray, ...]:
    # The visible check's kind of data, another draw: with it the reference stops after 13
    # epochs, not restoring the best weights makes the gap 16% larger, and the example
    # class's other mistakes (the patience or rate ignored, dropout elsewhere, training
    # loss watched) change the number of epochs.
    rng = np.random.default_rng(4)
    weights = np.zeros((20, 1))
    weights[:3, 0] = 1.0
    x_train = rng.normal(0, 1, (32, 20)).astype("float32")
    x_val = rng.normal(0, 1, (100, 20)).astype("float32")
    y_train = (x_train @ weights + rng.normal(0, 0.5, (32, 1))).astype("float32")
    y_val = (x_val @ weights + rng.normal(0, 0.5, (100, 1))).astype("float32")
    return x_train, y_train, x_val, y_val


def _outcome(result: object) -> tuple[object, float]:
    if not isinstance(result, dict) or set(result) != {"epochs_run", "gap"}:
        found = sorted(result) if isinstance(result, dict) else type(result).__name__
        raise fail(f'`{CALL}` to return a dict with keys "epochs_run" and "gap"', f"{found}")
    return result["epochs_run"], as_float(result["gap"], f'`{CALL}`["gap"]')


def test_hidden_train_with_dropout_other_run(submission, reference):
    data = memo("train-data-hidden", _data)
    epochs, gap = _outcome(submission.train_with_dropout(*data, **ARGS))
    ref_epochs, ref_gap = memo(
        "train-reference-hidden", lambda: _outcome(reference.train_with_dropout(*data, **ARGS))
    )
    if epochs != ref_epochs or not math.isclose(gap, ref_gap, rel_tol=0.005, abs_tol=1e-4):
        raise fail(
            f"`{CALL}` to match the reference's run: {ref_epochs} epochs, gap {ref_gap:.6g}",
            f"{epochs!r} epochs, gap {gap:.6g}",
            "use every argument: rate for dropout_model, patience for "
            "early_stopping_callback, max_epochs as fit's epochs, and seed for "
            "keras.utils.set_random_seed.",
        )
