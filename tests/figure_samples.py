"""Figures in the format checks record them (notes: figures contract), for page tests.

Built by hand so the pages can be tested whatever the checks record today.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from grader.results import CheckResult, RunResult, StudentResult

GAP_CHECK = "test_regularization_shrinks_gap"
LAYER_CHECK = "test_l2_dense_defaults"


def _decay(start: float, end: float, rate: float, epochs: int = 300, step: int = 10) -> dict:
    x = list(range(0, epochs + 1, step))
    y = [end + (start - end) * math.exp(-rate * e) for e in x]
    return {"x": x, "y": [round(v, 5) for v in y]}


def _pair(call: str, model: str, train_end: float, val_end: float) -> list[dict[str, Any]]:
    return [
        {"label": f"{call}, training", "model": model, "role": "train"}
        | _decay(0.9, train_end, 0.02),
        {"label": f"{call}, validation", "model": model, "role": "validation"}
        | _decay(1.0, val_end, 0.015),
    ]


def curves_figure(student_l2_val: float = 0.31) -> dict[str, Any]:
    """The gap experiment: the student's models beside the reference's."""
    student = _pair("build_model(None)", "unregularized", 0.05, 0.74) + _pair(
        "build_model(L2(0.3))", "regularized", 0.16, student_l2_val
    )
    reference = _pair("build_model(None)", "unregularized", 0.05, 0.74) + _pair(
        "build_model(L2(0.3))", "regularized", 0.16, 0.31
    )
    return {
        "kind": "curves",
        "title": "Loss curves in the grader's experiment",
        "x_label": "epoch",
        "y_label": "data MSE (without the penalty)",
        "panels": [
            {"title": "Your build_model", "series": student},
            {"title": "Reference solution", "series": reference},
        ],
        "notes": [
            "Your gaps (validation minus training MSE): 0.69 without, 0.15 with L2. "
            "The reference's: 0.69 and 0.15."
        ],
    }


def table_figure() -> dict[str, Any]:
    """What each layer carries against what was asked."""
    return {
        "kind": "table",
        "title": "What each layer carries",
        "columns": ["Layer", "Your layer carries", "Asked for"],
        "rows": [
            {
                "cells": [
                    "Dense(64, relu)",
                    "kernel: L1(0.01); bias: none; activity: none",
                    "kernel: L2(0.01); bias: none; activity: none",
                ],
                "ok": False,
            },
            {"cells": ["Dense(1)", "nothing", "nothing"], "ok": True},
            {"cells": ["Input", "—", "—"], "ok": None},
        ],
        "notes": ["Factors are compared as numbers: L2(0.01) and l2(0.01) are the same."],
    }


def with_figures(run: RunResult) -> RunResult:
    """``run`` with figures on every student's gap and first layer check."""

    def add(check: CheckResult) -> CheckResult:
        if check.name == GAP_CHECK:
            return replace(check, figures=(curves_figure(),))
        if check.name == LAYER_CHECK:
            return replace(check, figures=(table_figure(),))
        return check

    students: list[StudentResult] = [
        replace(s, checks=tuple(add(c) for c in s.checks)) for s in run.students
    ]
    return replace(run, students=tuple(students))
