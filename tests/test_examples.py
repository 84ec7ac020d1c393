"""End to end: `grader run` on the bundled example class, through the real CLI.

Each example submission makes one known mistake; the grader must cost exactly the
checks that mistake breaks, and nothing else.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from regularization_checks import CHECKS
from regularization_checks import EVERY_CHECK as EVERY_CHECKS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "regularization"
ALL_CHECKS = CHECKS
EVERY_CHECK = set(EVERY_CHECKS)
UNFINISHED = set(ALL_CHECKS["l1_l2_dense"]) | {
    name
    for function in ("build_model", "penalty", "regularized_loss", "validation_gap", "compare")
    for name in ALL_CHECKS[function]
}

# student -> (status, the checks that must fail; every other check must pass)
EXPECTED: dict[str, tuple[str, set[str]]] = {
    "alice": ("graded", set()),
    "bob": ("graded", set()),
    "carol": (
        "graded",
        {"test_l2_dense_defaults", "test_l2_dense_arguments", "test_hidden_l2_dense"},
    ),
    "dave": ("graded", {"test_l2_dense_arguments", "test_hidden_l2_dense"}),
    "erin": (
        "graded",
        {"test_l1_dense_defaults", "test_l1_dense_arguments", "test_hidden_l1_dense"},
    ),
    "frank": (
        "graded",
        {
            "test_regularized_loss_value",
            "test_regularized_loss_gradient",
            "test_hidden_regularized_loss",
        },
    ),
    # compare() uses her validation_gap, so it inherits the mistake: its gaps are off,
    # though the L2 one is still the smaller.
    "grace": (
        "graded",
        {
            "test_validation_gap_regularized",
            "test_compare_matches_reference",
            "test_hidden_validation_gap",
            "test_hidden_compare",
        },
    ),
    "heidi": ("graded", UNFINISHED),
    "ivan": ("import_error", EVERY_CHECK),
    "judy": ("graded", {"test_regularized_loss_gradient"}),
    "mallory": ("graded", {"test_penalty_several_layers", "test_hidden_penalty"}),
}


def run_grader(submissions: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", "run", str(submissions), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("results")
    return out, run_grader(EXAMPLES, out, "--workers", "2")


@pytest.fixture(scope="module")
def results(graded: tuple[Path, subprocess.CompletedProcess[str]]) -> dict:
    out, proc = graded
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "results.json").read_text())


def by_student(results: dict) -> dict[str, dict]:
    return {s["student"]: s for s in results["students"]}


def test_every_example_is_graded_and_readme_is_ignored(graded, results):
    _, proc = graded
    assert sorted(by_student(results)) == sorted(EXPECTED)
    assert "Ignored README.md" in proc.stderr


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_mistake_costs_exactly_its_checks(results, student):
    status, failing = EXPECTED[student]
    record = by_student(results)[student]
    assert record["status"] == status, record.get("error")
    verdicts = {c["name"]: c["status"] for c in record["checks"]}
    assert set(verdicts) == EVERY_CHECK
    wrong = {
        name: verdict
        for name, verdict in verdicts.items()
        if (verdict != "passed") != (name in failing)
    }
    messages = {c["name"]: c["message"] for c in record["checks"] if c["name"] in wrong}
    assert not wrong, messages
    assert all(verdict in ("passed", "failed") for verdict in verdicts.values())
    earned = sum(c["points"] for c in record["checks"])
    assert record["score"] == earned
    assert record["max_score"] == results["max_score"]


def test_messages_explain_the_mistake(results):
    students = by_student(results)

    def message(student: str, check: str) -> str:
        return next(c["message"] for c in students[student]["checks"] if c["name"] == check)

    assert "Found: L1(0.01)" in message("carol", "test_l2_dense_defaults")
    assert "`l2` argument" in message("dave", "test_l2_dense_arguments")
    assert "bias" in message("erin", "test_l1_dense_defaults")
    assert "NotImplementedError" in message("heidi", "test_penalty_unregularized")
    assert "could not be imported" in message("ivan", "test_l2_dense_defaults")
    ivan = students["ivan"]["error"]
    assert "SyntaxError" in ivan and "regularization.py" in ivan
    assert "grader-worker" not in ivan  # no scratch paths, no grader frames
    assert "constant" in message("judy", "test_regularized_loss_gradient")


def test_results_json_matches_schema(results):
    schema = json.loads((ROOT / "grader" / "schemas" / "results.schema.json").read_text())
    jsonschema.validate(results, schema)


def test_grades_csv_has_a_row_per_student(graded, results):
    out, _ = graded
    with (out / "grades.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["student"] for r in rows] == sorted(EXPECTED)
    header = list(rows[0])
    assert header == ["student", "score", "max_score", *results["functions"], "status"]
    carol = next(r for r in rows if r["student"] == "carol")
    assert float(carol["l2_dense"]) == 0
    assert float(carol["score"]) == by_student(results)["carol"]["score"]


def test_feedback_pages_and_summary_are_written(graded):
    out, _ = graded
    pages = sorted(p.stem for p in (out / "feedback").glob("*.html"))
    assert pages == sorted(EXPECTED)
    summary = (out / "summary.html").read_text()
    for student in EXPECTED:
        assert f"feedback/{student}.html" in summary
    alice = (out / "feedback" / "alice.html").read_text()
    assert "38 / 38" in alice or "38 of 38" in alice


def test_a_rerun_gives_identical_results(results, tmp_path):
    # Two students graded again, in one worker this time, give the whole-class run's
    # verdicts, messages and output exactly.
    subset = tmp_path / "class"
    subset.mkdir()
    shutil.copytree(EXAMPLES / "alice", subset / "alice")
    shutil.copy(EXAMPLES / "frank.py", subset / "frank.py")
    out = tmp_path / "out"
    proc = run_grader(subset, out, "--workers", "1", "--assignment", "regularization")
    assert proc.returncode == 0, proc.stderr[-3000:]

    def stable(students: list[dict]) -> dict[str, dict]:
        return {
            s["student"]: {k: v for k, v in s.items() if k != "duration"}
            for s in students
            if s["student"] in ("alice", "frank")
        }

    again = json.loads((out / "results.json").read_text())
    assert stable(again["students"]) == stable(results["students"])
    assert len(stable(again["students"])) == 2


def test_usage_errors_exit_2(tmp_path):
    proc = run_grader(tmp_path / "missing", tmp_path / "out")
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_grader(empty, tmp_path / "out")
    assert proc.returncode == 2
    assert "No submissions found" in proc.stderr


def test_unreadable_submissions_are_reported_not_dropped(tmp_path):
    subset = tmp_path / "class"
    (subset / "bob").mkdir(parents=True)
    (subset / "bob" / "reg.py").write_text("x = 1\n")
    (subset / "nina.ipynb").write_text("{}")
    (subset / "dup").mkdir()
    (subset / "dup" / "regularization.py").write_text("")
    (subset / "dup.py").write_text("")
    out = tmp_path / "out"
    proc = run_grader(subset, out, "--workers", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    students = by_student(json.loads((out / "results.json").read_text()))
    assert {s: r["status"] for s, r in students.items()} == dict.fromkeys(
        ["bob", "dup", "nina"], "invalid"
    )
    assert "found reg.py" in students["bob"]["error"]
    assert "nina.ipynb is JSON but not a Jupyter notebook" in students["nina"]["error"]
    assert "More than one submission" in students["dup"]["error"]
    for record in students.values():
        assert record["score"] == 0
        assert {c["status"] for c in record["checks"]} == {"failed"}
        assert (out / "feedback" / f"{record['student']}.html").is_file()
