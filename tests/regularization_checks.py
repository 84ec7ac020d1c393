"""The regularization assignment's checks and points, as the test suite expects them.

Kept apart from assignment.toml on purpose: a change there must show up as a failing test.
"""

from __future__ import annotations

CHECKS = {
    "l2_dense": ["test_l2_dense_defaults", "test_l2_dense_arguments", "test_hidden_l2_dense"],
    "l1_dense": ["test_l1_dense_defaults", "test_l1_dense_arguments", "test_hidden_l1_dense"],
    "l1_l2_dense": [
        "test_l1_l2_dense_defaults",
        "test_l1_l2_dense_arguments",
        "test_hidden_l1_l2_dense",
    ],
    "build_model": [
        "test_build_model_structure",
        "test_build_model_regularizer",
        "test_build_model_compiled",
        "test_build_model_loss_includes_penalty",
        "test_regularization_shrinks_gap",
        "test_hidden_build_model",
    ],
    "penalty": [
        "test_penalty_unregularized",
        "test_penalty_single_layer",
        "test_penalty_several_layers",
        "test_hidden_penalty",
    ],
    "regularized_loss": [
        "test_regularized_loss_value",
        "test_regularized_loss_gradient",
        "test_hidden_regularized_loss",
    ],
    "validation_gap": [
        "test_validation_gap_unregularized",
        "test_validation_gap_regularized",
        "test_hidden_validation_gap",
    ],
    "compare": [
        "test_compare_returns_gaps",
        "test_compare_matches_reference",
        "test_hidden_compare",
    ],
}
POINTS = {"l2_dense": 3, "l1_dense": 3, "l1_l2_dense": 3, "build_model": 10, "penalty": 6}
POINTS |= {"regularized_loss": 5, "validation_gap": 4, "compare": 4}
EVERY_CHECK = [name for names in CHECKS.values() for name in names]
# Every hidden check, one per graded function, draws its inputs from the course secret.
HIDDEN = {name for name in EVERY_CHECK if name.startswith("test_hidden_")}
MAX_SCORE = sum(POINTS.values())
