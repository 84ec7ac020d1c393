"""Check 2: dropout shrinks the validation gap, in the grader's own experiment.

The student's dropout_model is rebuilt here and trained with the grader's compiled loop
(grader.checks.training: full-batch Adam, in training mode so dropout is on, from seeded
initial weights and seeded dropout masks), next to the same network without dropout. The
verdict never rests on numbers the student's process computed about itself.
"""

from __future__ import annotations

from typing import Any

from grader.checks import expect, fail, memo
from grader.checks import training as T
from grader.checks.models import dense_stack, expect_input_dim, rebuild

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

CALL = (
    f"dropout_model(rate={RATE}, hidden_units={HIDDEN_UNITS}, "
    f"hidden_layers={HIDDEN_LAYERS}, input_dim=1)"
)


def _data() -> T.Dataset:
    return memo("dropout-experiment-data", lambda: T.overfit_data(T.DATA_SEED))


def _run(model: Any) -> T.GapOutcome:
    return T.gap_experiment(
        model,
        _data(),
        epochs=EPOCHS,
        learning_rate=LEARNING_RATE,
        seed=T.INIT_SEED,
        record_every=EPOCHS,
    )


def _trained(module: Any) -> T.GapOutcome:
    answer = module.dropout_model(
        rate=RATE, hidden_units=HIDDEN_UNITS, hidden_layers=HIDDEN_LAYERS, input_dim=1
    )
    model = rebuild(answer, f"`{CALL}`")
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


def test_dropout_shrinks_gap(submission, reference):
    plain = memo("dropout-experiment-plain", _plain)
    ref = memo("dropout-experiment-reference", lambda: _trained(reference))
    mine = _trained(submission)
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
