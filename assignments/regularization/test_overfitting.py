"""Check 3: the validation gap, and regularization shrinking it.

The grader runs its own experiment on the student's build_model (rebuilt here, trained
with a compiled loop from the same initial weights as the reference), so the verdict
never rests on numbers the student's process computed about itself.
"""

from __future__ import annotations

import numpy as np

from grader.checks import (
    Call,
    Panel,
    as_float,
    check,
    expect,
    expect_close,
    fail,
    memo,
    show_curves,
    shown,
)
from grader.checks import training as T
from grader.checks.data import overfit_data, repeated_sine_data
from grader.checks.figures import gap_panel
from grader.checks.models import dense_stack, expect_input_dim, regularizer
from grader.checks.rebuild import rebuild

from . import _calibrated as C

GAP_HINT = (
    "use the mean squared error of the model's predictions on each set: Keras 3's "
    "evaluate() adds the regularization penalty to the loss it reports."
)


def _gap_data() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(21)
    x_train = rng.uniform(-1, 1, size=(20, 1)).astype("float32")
    x_val = rng.uniform(-1, 1, size=(40, 1)).astype("float32")
    noise = rng.normal(0, 0.3, size=(60, 1)).astype("float32")
    y_train = (np.sin(3 * x_train) + noise[:20]).astype("float32")
    y_val = (np.sin(3 * x_val) + noise[20:]).astype("float32")
    return x_train, y_train, x_val, y_val


def _check_gap(submission, reference, reg, label: str, seed: int) -> None:
    model = memo(
        f"gap-model-{label}",
        lambda: dense_stack([(32, "relu", reg), (1, "linear", None)], input_dim=1, seed=seed),
    )
    data = memo("gap-data", _gap_data)
    call = f"`validation_gap(model, ...)` for {label}"
    got = as_float(submission.validation_gap(model, *data), call)
    want = as_float(reference.validation_gap(model, *data), "the reference gap")
    expect_close(got, want, call, rel=1e-4, abs_tol=1e-5, hint=GAP_HINT)


@check("validation_gap", points=1)
def test_validation_gap_unregularized(submission, reference):
    """validation_gap is validation MSE minus training MSE."""
    _check_gap(submission, reference, None, "a model without regularizers", 31)


@check("validation_gap", points=2)
def test_validation_gap_regularized(submission, reference):
    """validation_gap measures the data loss only, also on a regularized model."""
    reg = regularizer("L2", l2=0.05)
    _check_gap(submission, reference, reg, "a model with an L2(0.05) hidden layer", 32)


def _experiment(module) -> dict[str, T.GapOutcome]:
    # The grader's own experiment (constants and their measurements: _calibrated.py):
    # the model comes from the student's build_model, the data, initial weights and
    # training loop from the grader.
    data = memo("experiment-data", lambda: overfit_data(C.DATA_SEED))
    outcomes = {}
    for name, reg in (("no_reg", None), ("l2", regularizer("L2", l2=C.L2_FACTOR))):
        label = "None" if reg is None else f"L2({C.L2_FACTOR})"
        call = Call("build_model", shown(reg, label), hidden_units=C.HIDDEN_UNITS)
        model = rebuild(call.on(module), str(call))
        expect_input_dim(model, data.x_train.shape[1], f"`{call}`")
        outcomes[name] = T.gap_experiment(
            model,
            data,
            epochs=C.EPOCHS,
            learning_rate=C.LEARNING_RATE,
            seed=C.INIT_SEED,
            record_every=C.RECORD_EVERY,
        )
    return outcomes


def _panel(title: str, outcomes: dict[str, T.GapOutcome]) -> Panel:
    return gap_panel(
        title,
        (outcomes["no_reg"], "build_model(None)"),
        (outcomes["l2"], f"build_model(L2({C.L2_FACTOR}))"),
    )


def _show_experiment(mine: dict[str, T.GapOutcome], ref: dict[str, T.GapOutcome]) -> None:
    show_curves(
        "Loss curves in the grader's experiment",
        [_panel("Your build_model", mine), _panel("Reference solution", ref)],
        x_label="epoch",
        y_label="data MSE (without the penalty)",
        notes=[
            f"Your gaps (validation minus training MSE): {mine['no_reg'].gap:.3f} without, "
            f"{mine['l2'].gap:.3f} with L2. The reference's: {ref['no_reg'].gap:.3f} and "
            f"{ref['l2'].gap:.3f}.",
            f"The check asks for an L2 gap at most {C.MARGIN:g} times the unregularized one, "
            "and both gaps close to the reference's.",
        ],
    )


@check("build_model", points=3)
def test_regularization_shrinks_gap(submission, reference):
    """Trained by the grader, build_model(L2(...)) overfits clearly less than build_model(None)."""
    ref = memo("gap-experiment-reference", lambda: _experiment(reference))
    mine = _experiment(submission)
    _show_experiment(mine, ref)  # before the verdict: the curves explain a failure best
    plain, reg = mine["no_reg"].gap, mine["l2"].gap
    expect(
        reg <= C.MARGIN * plain,
        f"when the grader trains your build_model(L2({C.L2_FACTOR})), its validation gap "
        f"should be at most {C.MARGIN:g} times that of build_model(None) (the reference's: "
        f"{ref['l2'].gap:.4f} vs {ref['no_reg'].gap:.4f})",
        f"unregularized gap {plain:.4f}, L2 gap {reg:.4f}",
        "the regularizer must act on the hidden layer's weights during training.",
    )
    for name, label in (("no_reg", "build_model(None)"), ("l2", "build_model(L2(..))")):
        got, want = mine[name].gap, ref[name].gap
        if not C.gaps_match(got, want):
            raise fail(
                f"when the grader trains your {label}, a validation gap close to the "
                f"reference's {want:.4f}",
                f"{got:.4f}",
                "compare your model's layers, activations and regularizer with the "
                "assignment's description of build_model.",
            )


COMPARE_ARGS = {"l2": 1.0, "epochs": 6, "seed": 0}


def _compare_data() -> tuple[np.ndarray, ...]:
    # Three noisy points: a 64-unit net chases their noise within 6 epochs (180 steps, a
    # few tenths of a second of fit each), and L2(1.0) clearly reins it in. Measured on 2
    # cores: reference gaps 1.267 vs 0.046, the same with or without input_dim. Mistakes
    # give another L2 gap: seeding once instead of before each build_model 0.367; the
    # gap's validation side from evaluate() (penalty included) 0.511; L1 instead of L2
    # 0.292; no regularizer at all 1.267. The no_reg gap is each time the reference's.
    # One feature, as in the tutorial: build_model(reg) and build_model(reg,
    # input_dim=x_train.shape[1]) are the same model, so both readings of compare's
    # contract give the same numbers.
    return repeated_sine_data(
        np.random.default_rng(1),
        3,
        n_val=C.COMPARE_VAL_POINTS,
        frequency=3.0,
        noise=1.0,
        repeats=C.COMPARE_REPEATS,
    )


def _compare() -> Call:
    data = memo("compare-data", _compare_data)
    names = ("x_train", "y_train", "x_val", "y_val")
    return Call("compare", *map(shown, data, names), **COMPARE_ARGS)


def _gaps(result: object, call: Call) -> dict[str, float]:
    if not isinstance(result, dict) or set(result) != {"no_reg", "l2"}:
        found = sorted(result) if isinstance(result, dict) else type(result).__name__
        raise fail(f'`{call}` to return a dict with keys "no_reg" and "l2"', f"{found}")
    return {k: as_float(v, f'`{call}`["{k}"]') for k, v in result.items()}


@check("compare", points=1)
def test_compare_returns_gaps(submission):
    """compare returns both gaps, the L2 one smaller."""
    call = _compare()
    gaps = _gaps(call.on(submission), call)
    expect(
        gaps["l2"] < gaps["no_reg"],
        f'`{call}`["l2"] to be smaller than ["no_reg"]: regularization shrinks the gap',
        f"no_reg {gaps['no_reg']:.4f}, l2 {gaps['l2']:.4f}",
        "train the second model with build_model(keras.regularizers.L2(l2)).",
    )


@check("compare", points=2)
def test_compare_matches_reference(submission, reference):
    """compare's gaps match the reference's run with the same arguments and seed."""
    call = _compare()
    gaps = _gaps(call.on(submission), call)
    ref = memo(("gaps", call), lambda: _gaps(call.on(reference), call))
    for key in ("no_reg", "l2"):
        expect_close(
            gaps[key],
            ref[key],
            f'`{call}`["{key}"]',
            rel=0.02,
            abs_tol=1e-4,
            hint="seed with keras.utils.set_random_seed(seed) right before each build_model, "
            "train with model.fit(x_train, y_train, epochs=epochs, verbose=0), and measure "
            "with your validation_gap.",
        )
