"""The regularization assignment's checks and points, as the test suite expects them.

Kept apart from assignment.toml on purpose: a change there must show up as a failing test.
"""

from __future__ import annotations

CHECKS = {
    "l2_dense": ["test_l2_dense_defaults", "test_l2_dense_arguments"],
    "l1_dense": ["test_l1_dense_defaults", "test_l1_dense_arguments"],
    "l1_l2_dense": ["test_l1_l2_dense_defaults", "test_l1_l2_dense_arguments"],
    "build_model": [
        "test_build_model_structure",
        "test_build_model_regularizer",
        "test_build_model_compiled",
        "test_build_model_loss_includes_penalty",
        "test_regularization_shrinks_gap",
    ],
    "penalty": [
        "test_penalty_unregularized",
        "test_penalty_single_layer",
        "test_penalty_several_layers",
    ],
    "regularized_loss": ["test_regularized_loss_value", "test_regularized_loss_gradient"],
    "validation_gap": ["test_validation_gap_unregularized", "test_validation_gap_regularized"],
    "compare": ["test_compare_returns_gaps", "test_compare_matches_reference"],
}
POINTS = {"l2_dense": 2, "l1_dense": 2, "l1_l2_dense": 2, "build_model": 9, "penalty": 5}
POINTS |= {"regularized_loss": 4, "validation_gap": 3, "compare": 3}
EVERY_CHECK = [name for names in CHECKS.values() for name in names]
