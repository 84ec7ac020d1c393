"""The dropout checks' calibrated constants shared by several check files (the gap
experiment's own settings are in test_overfitting.py, beside the check they tune)."""

from __future__ import annotations

# The gap experiment's data, grader.checks.data.overfit_data(DATA_SEED) at its default
# sizes, and the seed of the initial weights and dropout masks it is trained from.
DATA_SEED = 0
INIT_SEED = 0

# train_with_dropout's data (grader.checks.data.sparse_linear_data): 32 training points
# of many features, 3 of which matter, plus noise. A 256-unit network fits the noise
# within a few dozen epochs, so early stopping has work to do.
TRAIN_POINTS = 32
VAL_POINTS = 100
NOISE = 0.5
