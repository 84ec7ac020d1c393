"""Figures: the pictures checks record for the student's page (grader.checks.figures).

The API's validation and limits; the plugin attaching them to a check's result without
ever changing its verdict; the schema; and the regularization example class's gap and
layer checks recording them end to end (alice correct, carol's l2_dense attaching L1).
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from grader.assignment import Assignment, CheckSpec, load_assignment
from grader.checks import figures
from grader.checks.figures import FigureError, Panel, Row, Series
from grader.engine.grading import _run_pytest
from grader.engine.plugin import GradingPlugin
from grader.results import CheckResult, RunResult, StudentResult
from grader.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "regularization"
SCHEMA = json.loads((ROOT / "grader" / "schemas" / "results.schema.json").read_text())
GAP_CHECK = "test_regularization_shrinks_gap"


def series(n: int = 3, role: str = "train", y: list[float] | None = None) -> Series:
    return Series("a model, training", "unregularized", role, list(range(n)), y or [1.0] * n)


def curves(*panels: Panel, notes: tuple[str, ...] = ()) -> dict[str, Any]:
    return figures.curves_figure("Loss", list(panels), x_label="epoch", y_label="MSE", notes=notes)


def check_schema(figure: dict[str, Any]) -> None:
    """Validate one figure against the results schema, as part of a check's result."""
    check = CheckResult("c", "f", "", 1.0, 1.0, "passed", figures=(figure,)).to_dict()
    check = json.loads(json.dumps(check, allow_nan=False))  # as results.json holds it
    schema = {"$schema": SCHEMA["$schema"], "$defs": SCHEMA["$defs"], "$ref": "#/$defs/check"}
    jsonschema.validate(check, schema)


# -- the API ------------------------------------------------------------------------------


def test_a_curves_figure_is_plain_data_in_the_contract_format():
    y = [np.float32(0.123456789), 2.0, 1e-9]
    figure = curves(Panel("Yours", [series(3, y=y), series(3, "validation")]), notes=("n",))
    assert figure["kind"] == "curves"
    assert figure["x_label"] == "epoch" and figure["y_label"] == "MSE"
    first = figure["panels"][0]["series"][0]
    assert first["role"] == "train" and first["model"] == "unregularized"
    assert first["x"] == [0, 1, 2] and all(type(x) is int for x in first["x"])
    assert first["y"] == [0.123457, 2.0, 1e-9]  # 6 significant digits
    assert figure["notes"] == ["n"]
    json.dumps(figure, allow_nan=False)
    check_schema(figure)


def test_non_finite_points_are_left_out_with_a_note():
    figure = curves(Panel("Yours", [series(4, y=[1.0, math.nan, math.inf, 2.0])]))
    assert figure["panels"][0]["series"][0]["x"] == [0, 3]
    assert "not finite" in figure["notes"][-1]
    # A series (and a panel) with nothing left to draw is left out; a figure, refused.
    diverged = Panel("Diverged", [series(2, y=[math.nan, math.nan])])
    assert [p["title"] for p in curves(Panel("Yours", [series()]), diverged)["panels"]] == ["Yours"]
    with pytest.raises(FigureError, match="finite"):
        curves(diverged)


def test_long_series_are_thinned_keeping_both_ends():
    n = 3001
    figure = curves(Panel("Yours", [series(n, y=[float(i) for i in range(n)])]))
    drawn = figure["panels"][0]["series"][0]
    assert len(drawn["x"]) == len(drawn["y"]) == figures.MAX_POINTS
    assert drawn["x"][0] == 0 and drawn["x"][-1] == n - 1
    assert drawn["x"] == sorted(set(drawn["x"]))
    check_schema(figure)


def test_text_is_cut_to_its_limit_and_notes_are_bounded():
    long = "x" * 1000
    figure = figures.curves_figure(
        long,
        [Panel(long, [Series(long, long, "validation", [0], [1.0])])],
        x_label=long,
        y_label="MSE",
        notes=[long] * 10,
    )
    assert len(figure["title"]) == figures.MAX_TEXT_CHARS and figure["title"].endswith("…")
    assert len(figure["panels"][0]["series"][0]["label"]) == figures.MAX_TEXT_CHARS
    assert len(figure["notes"]) == figures.MAX_NOTES
    assert all(len(n) == figures.MAX_NOTE_CHARS for n in figure["notes"])
    check_schema(figure)


@pytest.mark.parametrize(
    ("panels", "match"),
    [
        ([], "panels"),
        ([Panel("p", [series()])] * (figures.MAX_PANELS + 1), "panels"),
        ([Panel("p", [])], "series"),
        ([Panel("p", [series()] * (figures.MAX_SERIES + 1))], "series"),
        ([Panel("p", [series(role="test")])], "role"),
        ([Panel("p", [Series("s", "m", "train", [0, 1], [1.0])])], "x values"),
        ([Panel("p", [Series("s", "m", "train", [0], [True])])], "numbers"),
        ([Panel("p", [Series("s", "m", "train", [0], ["1"])])], "numbers"),
        ([Panel(3, [series()])], "text"),  # type: ignore[arg-type]
        (["not a panel"], "Panel"),
    ],
)
def test_curves_that_do_not_fit_are_refused(panels: list[Any], match: str):
    with pytest.raises(FigureError, match=match):
        curves(*panels)


def test_a_table_figure_bounds_its_rows():
    rows = [Row(["Dense(8)", "kernel: L1(0.01)", "kernel: L2(0.01)"], ok=np.bool_(False))]
    rows += [Row(["a", "b", "c"])] * 50
    figure = figures.table_figure("Layers", ["Layer", "Yours", "Asked for"], rows, notes=["n"])
    assert figure["kind"] == "table" and figure["columns"] == ["Layer", "Yours", "Asked for"]
    assert len(figure["rows"]) == figures.MAX_ROWS
    assert figure["rows"][0]["ok"] is False and figure["rows"][1]["ok"] is None
    assert figure["notes"] == ["n", "11 more rows are not shown."]
    check_schema(figure)


@pytest.mark.parametrize(
    ("columns", "rows", "match"),
    [
        ([], [], "columns"),
        (["c"] * (figures.MAX_COLUMNS + 1), [], "columns"),
        (["a", "b"], [Row(["only one"])], "2 cells"),
        (["a"], [Row("a")], "1 cells"),
        (["a"], [Row([1])], "text"),  # type: ignore[list-item]
        (["a"], [Row(["x"], ok=1)], "ok"),  # type: ignore[arg-type]
        (["a"], [["x"]], "Row"),
    ],
)
def test_tables_that_do_not_fit_are_refused(columns: list[Any], rows: list[Any], match: str):
    with pytest.raises(FigureError, match=match):
        figures.table_figure("t", columns, rows)


def test_the_schema_holds_the_modules_limits():
    defs = SCHEMA["$defs"]
    panels = defs["curves"]["properties"]["panels"]
    assert panels["maxItems"] == figures.MAX_PANELS
    assert panels["items"]["properties"]["series"]["maxItems"] == figures.MAX_SERIES
    assert defs["series"]["properties"]["x"]["maxItems"] == figures.MAX_POINTS
    assert defs["table"]["properties"]["columns"]["maxItems"] == figures.MAX_COLUMNS
    assert defs["table"]["properties"]["rows"]["maxItems"] == figures.MAX_ROWS
    assert defs["text"]["maxLength"] == figures.MAX_TEXT_CHARS
    assert defs["notes"]["maxItems"] == figures.MAX_NOTES
    assert defs["notes"]["items"]["maxLength"] == figures.MAX_NOTE_CHARS
    assert defs["check"]["properties"]["figures"]["maxItems"] == figures.MAX_FIGURES
    with pytest.raises(jsonschema.ValidationError):
        check_schema({"kind": "pie", "title": "t"})


def test_outside_grading_a_bad_figure_raises_and_nothing_is_kept():
    with pytest.raises(FigureError):
        figures.show_table("t", ["a"], [Row(["x", "y"])])
    figures.show_table("t", ["a"], [Row(["x"])])
    assert figures.stop_recording().figures == []


def test_while_recording_a_bad_figure_is_dropped_with_a_reason_never_raised():
    figures.start_recording()
    figures.show_curves("t", [], x_label="x", y_label="y")
    figures.show_table("t", ["a"], [Row(["x"], ok=True)])
    for _ in range(figures.MAX_FIGURES + 2):
        figures.show_table("t", ["a"], [Row(["x"])])
    recorded = figures.stop_recording()
    assert len(recorded.figures) == figures.MAX_FIGURES
    assert recorded.figures[0]["rows"] == [{"cells": ["x"], "ok": True}]
    assert "FigureError" in recorded.problems[0] and "panels" in recorded.problems[0]
    assert len(recorded.problems) == 4
    assert figures.stop_recording().figures == []  # recording stopped


def test_collect_table_records_the_rows_judged_before_a_failure():
    figures.start_recording()
    with pytest.raises(AssertionError), figures.collect_table("t", ["a"]) as rows:
        rows.append(Row(["judged"], ok=False))
        raise AssertionError("the student's mistake")
    with figures.collect_table("empty", ["a"]):
        pass
    recorded = figures.stop_recording()
    assert [f["title"] for f in recorded.figures] == ["t"]


def test_curve_pair_gives_the_training_and_validation_series_of_a_run():
    from grader.checks.training import Curves, GapOutcome

    run = Curves((0, 100), (1.0, 0.5), (1.2, 0.9))
    outcome = GapOutcome(0.4, 0.5, 0.9, run)
    train, val = figures.curve_pair(outcome, label="build_model(None)", model="unregularized")
    assert (train.label, train.role, list(train.y)) == (
        "build_model(None), training",
        "train",
        [1.0, 0.5],
    )
    assert (val.label, val.role, list(val.x), list(val.y)) == (
        "build_model(None), validation",
        "validation",
        [0, 100],
        [1.2, 0.9],
    )
    assert figures.curve_pair(run, label="m", model="m")[1].y == run.val_mse


def test_a_gap_panel_shows_the_unregularized_run_then_the_regularized_one():
    from grader.checks.training import Curves

    plain = Curves((0, 10), (1.0, 0.2), (1.1, 1.3))
    regularized = Curves((0, 10), (1.0, 0.6), (1.1, 0.8))
    panel = figures.gap_panel("Yours", (plain, "no reg"), (regularized, "L2"))
    assert panel.title == "Yours"
    assert [(s.label, s.model, s.role, list(s.y)) for s in panel.series] == [
        ("no reg, training", "unregularized", "train", [1.0, 0.2]),
        ("no reg, validation", "unregularized", "validation", [1.1, 1.3]),
        ("L2, training", "regularized", "train", [1.0, 0.6]),
        ("L2, validation", "regularized", "validation", [1.1, 0.8]),
    ]


# -- the plugin ---------------------------------------------------------------------------

PLUGIN_CHECKS = """
import pytest

from grader.checks import Row, fail, show_curves, show_table
from grader.checks.figures import Panel, Series


def table(title):
    show_table(title, ["Layer", "Yours", "Asked for"], [Row(["Dense", "L1", "L2"], ok=False)])


def test_fails_after_a_figure():
    table("before the verdict")
    raise fail("L2 on the kernel", "L1")


def test_passes_with_a_broken_figure():
    show_curves("broken", [Panel("p", [Series("s", "m", "sideways", [0], [1.0])])],
                x_label="x", y_label="y")
    show_table("broken", ["a", "b"], [Row(["one cell"])])


def test_fails_with_a_broken_figure():
    show_table("broken", ["a"], [Row([None])])
    assert False, "the student's mistake"


def test_grader_fault_keeps_its_figure():
    table("then the grader failed")
    raise KeyError("grader bug")


def test_records_nothing():
    pass


@pytest.mark.parametrize("case", range(3))
def test_cases(case):
    for i in range(3):
        table(f"case {case}, figure {i}")
"""


def plugin_run(tmp_path: Path) -> tuple[dict[str, CheckResult], GradingPlugin]:
    (tmp_path / "test_checks.py").write_text(textwrap.dedent(PLUGIN_CHECKS))
    (tmp_path / "assignment.toml").write_text("")
    names = [
        "test_fails_after_a_figure",
        "test_passes_with_a_broken_figure",
        "test_fails_with_a_broken_figure",
        "test_grader_fault_keeps_its_figure",
        "test_records_nothing",
        "test_cases",
    ]
    assignment = Assignment(
        name="figures",
        title="figures",
        module="figures",
        functions=("f",),
        checks=tuple(CheckSpec(n, "f", 1.0) for n in names),
        limits=Limits(),
        directory=tmp_path,
        reference=tmp_path / "reference.py",
    )
    plugin = GradingPlugin(assignment, None, None)  # type: ignore[arg-type]
    _run_pytest(assignment, plugin)
    return {c.name: c for c in plugin.results()}, plugin


def test_figures_never_change_a_verdict(tmp_path: Path):
    results, plugin = plugin_run(tmp_path)
    failed = results["test_fails_after_a_figure"]
    assert failed.status == "failed" and "Expected: L2 on the kernel" in failed.message
    assert [f["title"] for f in failed.figures] == ["before the verdict"]
    assert results["test_passes_with_a_broken_figure"].status == "passed"
    assert results["test_passes_with_a_broken_figure"].figures == ()
    broken = results["test_fails_with_a_broken_figure"]
    assert broken.status == "failed" and broken.message.startswith("the student's mistake")
    # An unexpected exception while a check runs: a failure (no student can void a check
    # by making the grader raise), noted for the instructor; its figure is kept either way.
    fault = results["test_grader_fault_keeps_its_figure"]
    assert fault.status == "failed" and len(fault.figures) == 1
    assert any("KeyError: 'grader bug'" in note for note in plugin.internal_errors)
    assert results["test_records_nothing"].figures == ()
    # Every case's figures, up to the limit.
    cases = results["test_cases"]
    assert cases.status == "passed"
    assert [f["title"] for f in cases.figures] == [
        f"case {c}, figure {i}" for c in range(3) for i in range(3)
    ][: figures.MAX_FIGURES]
    # The instructor learns what was dropped and why.
    problems = "\n".join(plugin.figure_problems)
    assert "test_passes_with_a_broken_figure: a curves figure was dropped" in problems
    assert "test_fails_with_a_broken_figure: a table figure was dropped" in problems
    assert f"test_cases: figures past {figures.MAX_FIGURES} dropped" in problems


# -- end to end: the regularization example class -----------------------------------------


@pytest.fixture(scope="module")
def graded() -> dict[str, StudentResult]:
    from grader.engine.grading import grade_submission
    from grader.sandbox.convert import configure_tensorflow
    from grader.submissions import Submission

    configure_tensorflow()  # as in a grading process
    assignment = load_assignment("regularization")
    results = {}
    for student in ("alice", "carol"):
        path = EXAMPLES / student / "regularization.py"
        results[student] = grade_submission(assignment, Submission(student, path, path.name))
    return results


def by_name(result: StudentResult) -> dict[str, CheckResult]:
    return {c.name: c for c in result.checks}


def test_the_gap_check_shows_both_models_curves_beside_the_references(graded):
    for student in ("alice", "carol"):
        check = by_name(graded[student])[GAP_CHECK]
        assert check.status == "passed"
        (figure,) = check.figures
        assert figure["kind"] == "curves"
        assert [p["title"] for p in figure["panels"]] == ["Your build_model", "Reference solution"]
        for panel in figure["panels"]:
            assert [(s["model"], s["role"]) for s in panel["series"]] == [
                ("unregularized", "train"),
                ("unregularized", "validation"),
                ("regularized", "train"),
                ("regularized", "validation"),
            ]
            for s in panel["series"]:
                assert s["x"][0] == 0 and s["x"][-1] == 3000 and len(s["x"]) == len(s["y"]) == 31
        # alice's build_model is the reference's: the same curves, and the gaps in words.
        mine, ref = figure["panels"]
        assert mine["series"] == ref["series"]
        assert figure["notes"][0].startswith("Your gaps (validation minus training MSE): 0.694")


def test_the_layer_checks_show_what_each_layer_carries(graded):
    carol = by_name(graded["carol"])
    check = carol["test_l2_dense_defaults"]
    assert check.status == "failed"
    (figure,) = check.figures
    assert figure["kind"] == "table"
    assert figure["columns"] == ["Layer", "Your layer carries", "Asked for"]
    (row,) = figure["rows"]
    assert row["ok"] is False
    assert row["cells"][0] == "l2_dense(64)"
    assert "kernel: L1(0.01)" in row["cells"][1] and "kernel: L2(0.01)" in row["cells"][2]
    assert carol["test_l1_dense_defaults"].figures[0]["rows"][0]["ok"] is True
    # A correct submission: every row of every table is ok, and each structure check
    # lists the input and both layers of each model it built.
    alice = by_name(graded["alice"])
    tables = [f for c in alice.values() for f in c.figures if f["kind"] == "table"]
    assert len(tables) == 8
    assert all(row["ok"] is True for t in tables for row in t["rows"])
    assert len(alice["test_build_model_regularizer"].figures[0]["rows"]) == 9


def test_figures_hold_no_line_of_the_reference(graded):
    from grader.release import reference_lines

    text = json.dumps([c.figures for s in graded.values() for c in s.checks]).replace(" ", "")
    keys = [line.key for line in reference_lines(ROOT / "reference" / "regularization.py")]
    assert keys and not [k for k in keys if k in text]


def test_results_with_figures_validate_against_the_schema(graded):
    run = RunResult(
        assignment="regularization",
        title="t",
        max_score=30.0,
        functions=("l2_dense",),
        students=tuple(graded.values()),
        grader_version="0",
    )
    data = json.loads(json.dumps(run.to_dict(), allow_nan=False))
    jsonschema.validate(data, SCHEMA)
    assert RunResult.from_dict(data).students == run.students


def test_lms_outputs_carry_no_figures(graded):
    from grader.lms import gradescope, prairielearn

    assignment = load_assignment("regularization")
    for result in graded.values():
        assert any(c.figures for c in result.checks)
        for data in (
            gradescope.to_results(assignment, result),
            prairielearn.to_results(result, "t"),
        ):
            text = json.dumps(data)
            assert "figures" not in text and "Your layer carries" not in text
            assert "Reference solution" not in text
