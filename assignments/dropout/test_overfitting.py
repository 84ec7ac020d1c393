"""Check 2: dropout shrinks the validation gap, in the grader's own experiment.

The student's dropout_model is rebuilt here and trained with the grader's compiled loop
(grader.checks.training: full-batch Adam, in training mode so dropout is on, from seeded
initial weights and seeded dropout masks), next to the same network without dropout. The
verdict never rests on numbers the student's process computed about itself.
"""

from __future__ import annotations

from typing import Any

from grader.checks import Call, check, expect, fail, memo, show_curves
from grader.checks import training as T
from grader.checks.data import Dataset, overfit_data
from grader.checks.figures import gap_panel
from grader.checks.models import dense_stack, expect_input_dim
from grader.checks.rebuild import rebuild

from . import _calibrated as C

# Measured on 2 CPU cores, about 0.35 s per run. The no-dropout network's gap is 1.03, with
# dropout 0.40 (ratio 0.39; 0.24 to 0.39 over data seeds 0-3). Perturbing the initial
# weights by 1e-6 moved the gaps by at most 0.4%, so a model that is the reference's matches
# it closely; models with dropout in other places were 24% to 124% off (data seed 0).
RATE = 0.5
HIDDEN_UNITS = 64
HIDDEN_LAYERS = 2
EPOCHS = 1000
LEARNING_RATE = 1e-2
MARGIN = 0.6  # the dropout gap must be at most this fraction of the no-dropout gap
REL_TOL = 0.05  # per final training and validation MSE, against the reference's
# A point of the loss curves on the student's page every RECORD_EVERY epochs (21 points).
# The final numbers do not depend on it (the same steps run in shorter compiled chunks:
# measured bit-identical to one chunk); it costs the check about 6% of its time. It is part
# of the experiment's memo key: every run here must use the same value.
RECORD_EVERY = 50

CALL = Call(
    "dropout_model",
    rate=RATE,
    hidden_units=HIDDEN_UNITS,
    hidden_layers=HIDDEN_LAYERS,
    input_dim=1,
)


def _data() -> Dataset:
    return memo("experiment-data", lambda: overfit_data(C.DATA_SEED))


def _run(model: Any) -> T.GapOutcome:
    return T.gap_experiment(
        model,
        _data(),
        epochs=EPOCHS,
        learning_rate=LEARNING_RATE,
        seed=C.INIT_SEED,
        record_every=RECORD_EVERY,
    )


def _trained(module: Any) -> T.GapOutcome:
    model = rebuild(CALL.on(module), f"`{CALL}`")
    expect_input_dim(model, 1, f"`{CALL}`")
    # The grader's data has one target per point: another output shape cannot be trained.
    expect(
        tuple(model.output_shape) == (None, 1),
        f"`{CALL}` to output one number per example, shape (None, 1)",
        f"output shape {tuple(model.output_shape)}",
        "end the model with a Dense(1) output layer.",
    )
    return _run(model)


def _plain() -> T.GapOutcome:
    # The same network without dropout, built by the grader.
    layers: list[tuple[int, str, Any]] = [(HIDDEN_UNITS, "relu", None)] * HIDDEN_LAYERS
    model = dense_stack([*layers, (1, "linear", None)], input_dim=1, seed=0)
    return _run(rebuild(model, "the grader's network without dropout"))


def _close(got: float, want: float) -> bool:
    return abs(got - want) <= REL_TOL * abs(want)


def _show_experiment(plain: T.GapOutcome, mine: T.GapOutcome, ref: T.GapOutcome) -> None:
    show_curves(
        "Loss curves in the grader's experiment",
        [
            gap_panel(
                "Your dropout_model", (plain, "without dropout"), (mine, "your dropout_model")
            ),
            gap_panel(
                "Reference solution", (plain, "without dropout"), (ref, "reference dropout_model")
            ),
        ],
        x_label="epoch",
        y_label="data MSE",
        notes=[
            f"Gaps (validation minus training MSE): yours {mine.gap:.3f} with dropout, "
            f"{plain.gap:.3f} for the same network without dropout. The reference's: "
            f"{ref.gap:.3f}.",
            f"The check asks for a gap at most {MARGIN:g} times the one without dropout, "
            "and final training and validation MSE close to the reference's.",
        ],
    )


@check("dropout_model", points=3)
def test_dropout_shrinks_gap(submission, reference):
    """Trained by the grader, the dropout model overfits clearly less than the same network
    without dropout, and matches the reference's run."""
    plain = memo("experiment-plain", _plain)
    ref = memo("experiment-reference", lambda: _trained(reference))
    mine = _trained(submission)
    _show_experiment(plain, mine, ref)  # before the verdict: the curves explain a failure
    expect(
        mine.gap <= MARGIN * plain.gap,
        f"when the grader trains your `{CALL}`, a validation gap of at most {MARGIN:g} "
        f"times that of the same network without dropout ({plain.gap:.4f}; the reference's "
        f"dropout model: {ref.gap:.4f})",
        f"a gap of {mine.gap:.4f}",
        "dropout acts during training only if the model has Dropout layers after its "
        "hidden layers.",
    )
    if not (_close(mine.train_mse, ref.train_mse) and _close(mine.val_mse, ref.val_mse)):
        raise fail(
            f"when the grader trains your `{CALL}`, training and validation MSE close to "
            f"the reference's ({ref.train_mse:.4f} and {ref.val_mse:.4f})",
            f"{mine.train_mse:.4f} and {mine.val_mse:.4f}",
            "compare your model's layers, and where its Dropout layers sit, with the "
            "description of dropout_model.",
        )
