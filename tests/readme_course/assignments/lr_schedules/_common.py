"""What the lr_schedules check files share: the sweep's data, its calibrated settings, and
readers that turn a returned answer into plain numbers (failing as the student's mistake)."""

import math

import numpy as np

from grader.checks import as_float, fail
from grader.checks.data import overfit_data
from grader.checks.layers import describe_layer, layer_rows, layer_summary, same_layer
from grader.checks.models import expect_compiled
from grader.checks.rebuild import model_spec, rebuild

# The class each optimizer name must give (build_regressor's contract).
OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}

# Same seed, same ops, same data: a faithful sweep agrees with the reference's far closer
# than this; a run from other initial weights or with another optimizer does not.
LOSS_REL = 1e-3


def sweep_data(seed):
    """A small noisy sine set (40 training points): the sweep's data."""
    return overfit_data(seed, n_train=40, n_val=200)


def model_facts(answer, what):
    """A returned model rebuilt here: (live model, optimizer class, learning rate, loss)."""
    model = rebuild(answer, what)
    expect_compiled(model, what)
    spec = model_spec(model)
    compiled = spec.compile if spec is not None else None
    if compiled is None:
        raise fail(f"{what} to be compiled", "a model that was not compiled")
    lr = compiled.learning_rate
    return model, compiled.optimizer, (None if lr is None else float(lr)), compiled.loss


def layer_table_rows(mine, want):
    """One judged row per layer of either model (the figure's table)."""
    return layer_rows(
        [layer_summary(layer) for layer in mine.layers],
        [layer_summary(layer) for layer in want.layers],
        label=lambda i: f"layer {i + 1}",
        describe=describe_layer,
        same=same_layer,
    )


def schedule_array(answer, total_steps, what):
    """A returned schedule as a float64 array of total_steps finite numbers."""
    try:
        values = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(
            f"{what} to return a numpy array of numbers", f"{type(answer).__name__}"
        ) from None
    if values.shape != (total_steps,):
        raise fail(
            f"{what} to return a 1-D array of {total_steps} learning rates",
            f"an array of shape {values.shape}",
            "one learning rate per step s = 0 .. total_steps - 1.",
        )
    if not np.all(np.isfinite(values)):
        raise fail(f"{what} to return finite numbers", "nan or inf in the array")
    return values


SWEEP_KEYS = ("train_loss", "val_loss", "val_curves", "best")


def sweep_result(answer, n_rates, epochs, what):
    """A returned sweep as plain floats, its shape checked against the contract."""
    if not isinstance(answer, dict):
        raise fail(f"{what} to return a dict", f"{type(answer).__name__}")
    missing = [key for key in SWEEP_KEYS if key not in answer]
    if missing:
        raise fail(
            f"{what} to return a dict with the keys {', '.join(SWEEP_KEYS)}",
            f"the keys {', '.join(map(str, answer)) or 'none'}",
            f"add {', '.join(missing)}.",
        )
    out = {}
    for key in ("train_loss", "val_loss"):
        values = answer[key]
        if not isinstance(values, (list, tuple, np.ndarray)) or len(values) != n_rates:
            raise fail(
                f'{what}["{key}"] to hold one number per learning rate ({n_rates})',
                f"{type(values).__name__} of length "
                f"{len(values) if hasattr(values, '__len__') else '-'}",
            )
        out[key] = [as_float(v, f'{what}["{key}"]') for v in values]
    curves = answer["val_curves"]
    if not isinstance(curves, (list, tuple, np.ndarray)) or len(curves) != n_rates:
        raise fail(
            f'{what}["val_curves"] to hold one curve per learning rate ({n_rates})',
            f"{type(curves).__name__}",
        )
    out["val_curves"] = []
    for curve in curves:
        if not hasattr(curve, "__len__") or len(curve) != epochs:
            raise fail(
                f'each curve of {what}["val_curves"] to hold {epochs} losses, one per epoch',
                f"a curve of {len(curve) if hasattr(curve, '__len__') else 'no'} values",
                'return history.history["val_loss"] whole.',
            )
        out["val_curves"].append([as_float(v, f'{what}["val_curves"]') for v in curve])
    out["best"] = as_float(answer["best"], f'{what}["best"]')
    if not all(math.isfinite(v) for v in out["train_loss"] + out["val_loss"]):
        raise fail(f"{what} to report finite losses", "nan or inf")
    return out
