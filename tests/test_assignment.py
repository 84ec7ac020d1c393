"""Tests for grader.assignment.load_assignment and grader.cli.check_consistency."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path
from typing import Any

import pytest

from grader.assignment import (
    available_assignments,
    load_assignment,
    load_bundle,
    secret_checks,
    unguarded_functions,
)
from grader.cli import check_consistency
from grader.errors import AssignmentError, UsageError
from grader.sandbox.client import Limits

GOOD_TOML = """
[assignment]
title = "Dropout"
module = "dropout"
functions = ["first", "second"]

[limits]
call_timeout = 5
import_timeout = 7.5
submission_timeout = 30
output_bytes = 1234

[checks.test_first]
function = "first"
points = 2
description = "first works"

[checks.test_second_hidden]
function = "second"
points = 1.5
visibility = "hidden"
"""

GOOD_TESTS = """
def test_first(submission):
    pass


def helper():
    pass
"""

GOOD_HIDDEN_TESTS = """
def test_second_hidden(submission):
    pass
"""


def write_assignment(
    root: Path,
    toml: str,
    name: str = "dropout",
    tests: str = "",
    hidden_tests: str = GOOD_HIDDEN_TESTS,
) -> Path:
    """The assignment NAME; with ``tests``, its visible checks in test_checks.py and its
    hidden ones in test_hidden_checks.py."""
    directory = root / "assignments" / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "assignment.toml").write_text(textwrap.dedent(toml), encoding="utf-8")
    if tests:
        (directory / "test_checks.py").write_text(textwrap.dedent(tests), encoding="utf-8")
        (directory / "test_hidden_checks.py").write_text(
            textwrap.dedent(hidden_tests), encoding="utf-8"
        )
    return directory


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# -- the real assignment ------------------------------------------------------------------


def test_the_regularization_assignment_loads():
    assignment = load_assignment("regularization")
    assert assignment.name == "regularization"
    assert assignment.module == "regularization"
    assert assignment.functions == (
        "l2_dense",
        "l1_dense",
        "l1_l2_dense",
        "build_model",
        "penalty",
        "regularized_loss",
        "validation_gap",
        "compare",
    )
    assert assignment.checks, "the assignment has checks"
    assert all(c.function in assignment.functions for c in assignment.checks)
    assert all(c.points > 0 for c in assignment.checks)
    assert assignment.max_score == sum(c.points for c in assignment.checks)
    assert assignment.limits == Limits(
        call_timeout=60.0, import_timeout=120.0, submission_timeout=900.0, output_bytes=20000
    )
    assert assignment.reference.is_file()
    assert assignment.stub.is_file()
    assert assignment.check_files(), "the assignment has test_*.py files"


def test_the_regularization_checks_follow_the_toml_order():
    assignment = load_assignment("regularization")
    names = [c.name for c in assignment.checks]
    assert names[0] == "test_l2_dense_defaults"
    assert len(names) == len(set(names))
    assert assignment.spec("test_l2_dense_defaults").function == "l2_dense"
    assert assignment.spec("no_such_check") is None


def test_the_regularization_assignment_is_consistent_with_its_check_files():
    assert check_consistency(load_assignment("regularization")) == []


def test_regularization_is_an_available_assignment():
    assert "regularization" in available_assignments()


# -- a temporary assignment ---------------------------------------------------------------


def test_a_valid_assignment_is_read_completely(tmp_path):
    directory = write_assignment(tmp_path, GOOD_TOML)
    assignment = load_assignment("dropout", root=tmp_path)
    assert assignment.title == "Dropout"
    assert assignment.module == "dropout"
    assert assignment.functions == ("first", "second")
    assert [(c.name, c.function, c.points, c.visibility) for c in assignment.checks] == [
        ("test_first", "first", 2.0, "visible"),
        ("test_second_hidden", "second", 1.5, "hidden"),
    ]
    assert assignment.checks[0].description == "first works"
    assert assignment.checks[1].description == ""
    assert assignment.max_score == 3.5
    assert assignment.limits == Limits(
        call_timeout=5.0, import_timeout=7.5, submission_timeout=30.0, output_bytes=1234
    )
    assert assignment.directory == directory
    assert assignment.reference == tmp_path / "reference" / "dropout.py"
    assert assignment.stub == directory / "dropout.py"


def test_missing_limits_fall_back_to_the_defaults(tmp_path):
    toml = GOOD_TOML.split("[limits]")[0] + "[checks.test_first]\nfunction='first'\npoints=1\n"
    write_assignment(tmp_path, toml)
    assert load_assignment("dropout", root=tmp_path).limits == Limits()


def test_a_missing_title_defaults_to_the_name(tmp_path):
    write_assignment(tmp_path, replace_once(GOOD_TOML, 'title = "Dropout"\n', ""))
    assert load_assignment("dropout", root=tmp_path).title == "dropout"


def test_invalid_toml_is_an_assignment_error(tmp_path):
    write_assignment(tmp_path, GOOD_TOML + "\n[checks.test_first\n")
    with pytest.raises(AssignmentError, match="not valid TOML"):
        load_assignment("dropout", root=tmp_path)


def test_a_missing_assignment_table_is_an_assignment_error(tmp_path):
    toml = GOOD_TOML.replace("[assignment]", "[about]")
    write_assignment(tmp_path, toml)
    with pytest.raises(AssignmentError, match=r"missing \[assignment\] table"):
        load_assignment("dropout", root=tmp_path)


def test_a_missing_module_is_an_assignment_error(tmp_path):
    write_assignment(tmp_path, replace_once(GOOD_TOML, 'module = "dropout"\n', ""))
    with pytest.raises(AssignmentError, match=r"\[assignment\] needs a 'module' string"):
        load_assignment("dropout", root=tmp_path)


@pytest.mark.parametrize("functions", ['"first"', '["first", 2]'])
def test_functions_must_be_a_list_of_names(tmp_path, functions):
    toml = replace_once(GOOD_TOML, '["first", "second"]', functions)
    write_assignment(tmp_path, toml)
    with pytest.raises(AssignmentError, match="functions must be a list of names"):
        load_assignment("dropout", root=tmp_path)


def test_a_check_grading_an_unlisted_function_is_an_assignment_error(tmp_path):
    write_assignment(tmp_path, replace_once(GOOD_TOML, 'function = "first"', 'function = "third"'))
    with pytest.raises(AssignmentError, match=r"test_first grades 'third', which is not in"):
        load_assignment("dropout", root=tmp_path)


def test_a_check_without_a_function_is_an_assignment_error(tmp_path):
    write_assignment(tmp_path, replace_once(GOOD_TOML, 'function = "first"\n', ""))
    with pytest.raises(AssignmentError, match=r"\[checks.test_first\] needs a 'function'"):
        load_assignment("dropout", root=tmp_path)


@pytest.mark.parametrize(
    "points",
    ["points = 0", "points = -1", "points = true", 'points = "2"', ""],
    ids=["zero", "negative", "bool", "string", "missing"],
)
def test_points_must_be_a_positive_number(tmp_path, points):
    write_assignment(tmp_path, replace_once(GOOD_TOML, "points = 2", points))
    with pytest.raises(AssignmentError, match="test_first needs points > 0"):
        load_assignment("dropout", root=tmp_path)


def test_nan_points_are_an_assignment_error(tmp_path):
    write_assignment(tmp_path, replace_once(GOOD_TOML, "points = 2", "points = nan"))
    with pytest.raises(AssignmentError, match="test_first needs points > 0"):
        load_assignment("dropout", root=tmp_path)


def test_an_unknown_visibility_is_an_assignment_error(tmp_path):
    write_assignment(
        tmp_path, replace_once(GOOD_TOML, 'visibility = "hidden"', 'visibility = "secret"')
    )
    with pytest.raises(AssignmentError, match="visibility 'secret'; use one of visible, hidden"):
        load_assignment("dropout", root=tmp_path)


def test_non_numeric_limits_are_an_assignment_error(tmp_path):
    write_assignment(tmp_path, replace_once(GOOD_TOML, "call_timeout = 5", 'call_timeout = "a"'))
    with pytest.raises(AssignmentError, match=r"\[limits\] values must be numbers"):
        load_assignment("dropout", root=tmp_path)


def test_an_assignment_without_checks_is_an_assignment_error(tmp_path):
    write_assignment(tmp_path, GOOD_TOML.split("[checks.test_first]")[0] + "[checks]\n")
    with pytest.raises(AssignmentError, match="no \\[checks"):
        load_assignment("dropout", root=tmp_path)


def test_a_check_that_is_not_a_table_is_an_assignment_error(tmp_path):
    toml = GOOD_TOML.split("[checks.test_first]")[0] + "[checks]\ntest_first = 3\n"
    write_assignment(tmp_path, toml)
    with pytest.raises(AssignmentError, match=r"\[checks.test_first\] must be a table"):
        load_assignment("dropout", root=tmp_path)


def test_an_unknown_assignment_is_a_usage_error_naming_the_known_ones(tmp_path):
    write_assignment(tmp_path, GOOD_TOML, name="dropout")
    write_assignment(tmp_path, GOOD_TOML, name="batchnorm")
    (tmp_path / "assignments" / "not_an_assignment").mkdir()
    with pytest.raises(UsageError) as info:
        load_assignment("convolutions", root=tmp_path)
    message = str(info.value)
    assert "'convolutions'" in message
    assert "known assignments: batchnorm, dropout" in message
    assert "not_an_assignment" not in message


def test_an_unknown_assignment_without_any_assignments_says_none(tmp_path):
    with pytest.raises(UsageError, match="known assignments: none"):
        load_assignment("dropout", root=tmp_path)


# -- consistency between the toml file and the check files --------------------------------


def test_matching_toml_and_test_functions_are_consistent(tmp_path):
    write_assignment(tmp_path, GOOD_TOML, tests=GOOD_TESTS)
    assert check_consistency(load_assignment("dropout", root=tmp_path)) == []


def test_a_toml_check_without_a_test_function_is_reported(tmp_path):
    hidden = GOOD_HIDDEN_TESTS.replace("def test_second_hidden(", "def test_second(")
    write_assignment(tmp_path, GOOD_TOML, tests=GOOD_TESTS, hidden_tests=hidden)
    problems = check_consistency(load_assignment("dropout", root=tmp_path))
    assert len(problems) == 2
    assert any("test_second_hidden is in assignment.toml but no test_*.py" in p for p in problems)
    assert any("Test test_second has no [checks.test_second] table" in p for p in problems)


def test_a_test_function_without_a_toml_table_is_reported(tmp_path):
    tests = GOOD_TESTS + "\n\ndef test_extra(submission):\n    pass\n"
    write_assignment(tmp_path, GOOD_TOML, tests=tests)
    problems = check_consistency(load_assignment("dropout", root=tmp_path))
    assert problems == [
        "Test test_extra has no [checks.test_extra] table (points, function) in assignment.toml."
    ]


def test_a_check_file_with_a_syntax_error_is_an_assignment_error(tmp_path):
    write_assignment(tmp_path, GOOD_TOML, tests=GOOD_TESTS + "\ndef broken(:\n")
    with pytest.raises(AssignmentError, match="syntax error"):
        check_consistency(load_assignment("dropout", root=tmp_path))


# -- visible and hidden check files -------------------------------------------------------


def test_a_check_file_with_visible_and_hidden_checks_is_an_assignment_error(tmp_path):
    write_assignment(tmp_path, GOOD_TOML, tests=GOOD_TESTS + GOOD_HIDDEN_TESTS, hidden_tests="")
    with pytest.raises(AssignmentError) as info:
        load_assignment("dropout", root=tmp_path)
    message = str(info.value)
    assert "test_checks.py holds visible checks (test_first)" in message
    assert "hidden checks (test_second_hidden)" in message


def test_visible_keeps_the_visible_checks_and_the_files_holding_them(tmp_path):
    directory = write_assignment(tmp_path, GOOD_TOML, tests=GOOD_TESTS)
    (directory / "test_helpers.py").write_text("def test_undeclared():\n    pass\n")
    assignment = load_assignment("dropout", root=tmp_path)
    assert [p.name for p in assignment.check_files()] == [
        "test_checks.py",
        "test_helpers.py",
        "test_hidden_checks.py",
    ]
    visible = assignment.visible()
    assert [c.name for c in visible.checks] == ["test_first"]
    assert visible.max_score == 2
    assert visible.check_files() == [directory / "test_checks.py"]
    assert visible.visible() == visible


def test_every_regularization_check_file_but_the_hidden_one_is_visible():
    assignment = load_assignment("regularization")
    hidden = assignment.directory / "test_hidden_regularization.py"
    assert assignment.visible().check_files() == [
        p for p in assignment.check_files() if p != hidden
    ]
    assert {c.name for c in assignment.checks if c.visibility == "hidden"} == {
        "test_hidden_" + f for f in assignment.functions
    }


@pytest.mark.parametrize("name", ["regularization", "dropout"])
def test_every_graded_function_has_a_hidden_check_on_secret_inputs(name):
    assignment = load_assignment(name)
    assert unguarded_functions(assignment) == []
    hidden = {c.name for c in assignment.checks if c.visibility == "hidden"}
    assert secret_checks(assignment) == hidden


SECRET_TESTS = """
from grader.checks.secret import secret_rng
from grader.checks import secret


def _inputs():
    return _deeper()


def _deeper():
    return secret.secret_rng("test_second_hidden").integers(10)


def test_second_hidden(submission):
    assert _inputs() >= 0
"""


def test_a_hidden_check_reaching_secret_rng_through_helpers_guards_its_function(tmp_path):
    write_assignment(tmp_path, GOOD_TOML, tests=GOOD_TESTS, hidden_tests=SECRET_TESTS)
    assignment = load_assignment("dropout", root=tmp_path)
    assert secret_checks(assignment) == {"test_second_hidden"}
    assert unguarded_functions(assignment) == ["first"]  # visible checks guard nothing


def test_hidden_checks_on_fixed_inputs_or_visible_ones_on_secret_inputs_guard_nothing(tmp_path):
    visible = (
        GOOD_TESTS
        + "\nfrom grader.checks.secret import secret_rng\n\n\n"
        + ("def test_other(submission):\n    secret_rng('test_other')\n")
    )
    toml = GOOD_TOML + '\n[checks.test_other]\nfunction = "first"\npoints = 1\n'
    write_assignment(tmp_path, toml, tests=visible)
    assignment = load_assignment("dropout", root=tmp_path)
    assert secret_checks(assignment) == set()
    assert unguarded_functions(assignment) == ["first", "second"]


def _bundle(tmp_path: Path, answers: str | None) -> Path:
    checks = tmp_path / "release" / "checks"
    checks.mkdir(parents=True)
    (checks / "assignment.toml").write_text(GOOD_TOML, encoding="utf-8")
    (checks / "test_checks.py").write_text(GOOD_TESTS, encoding="utf-8")
    if answers is not None:
        (checks / "answers.json").write_text(answers, encoding="utf-8")
    return checks


def test_a_release_checks_folder_loads_with_its_recorded_answers(tmp_path):
    checks = _bundle(tmp_path, '{"format": 1, "assignment": "dropout", "entries": []}')
    assignment = load_bundle(checks)
    assert assignment.name == "dropout"
    assert assignment.answers == checks / "answers.json"
    assert not assignment.reference.exists()
    assert [c.name for c in assignment.checks] == ["test_first"]  # the hidden table is dropped
    assert assignment.check_files() == [checks / "test_checks.py"]


@pytest.mark.parametrize(
    ("answers", "match"),
    [(None, r"answers\.json is missing"), ("{", "not readable JSON"), ("{}", "does not name")],
)
def test_a_checks_folder_without_usable_answers_is_an_assignment_error(tmp_path, answers, match):
    with pytest.raises(AssignmentError, match=match):
        load_bundle(_bundle(tmp_path, answers))


def test_a_folder_without_assignment_toml_is_not_a_checks_folder(tmp_path):
    with pytest.raises(UsageError, match=r"holds no assignment\.toml"):
        load_bundle(tmp_path)


# -- hidden checks on secret inputs ---------------------------------------------------------


def _hidden_checks(name: str) -> Any:
    path = Path(__file__).resolve().parents[1] / "assignments" / name / f"test_hidden_{name}.py"
    spec = importlib.util.spec_from_file_location(f"hidden_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hidden_checks_draw_other_inputs_per_secret_and_never_print_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from grader.checks.secret import SECRET_ENV, secret_rng
    from grader.errors import CheckFailed
    from grader.modules import ReferenceModule, reference_for

    root = Path(__file__).resolve().parents[1]
    source = (root / "reference" / "regularization.py").read_text(encoding="utf-8")
    wrong = tmp_path / "regularization.py"  # l2_dense ignores l2; penalty reads one layer
    wrong.write_text(
        source.replace(
            "kernel_regularizer=keras.regularizers.L2(l2)\n",
            "kernel_regularizer=keras.regularizers.L2(0.01)\n",
        ).replace("in _layers(model):", "in list(_layers(model))[:1]:"),
        encoding="utf-8",
    )
    hidden = _hidden_checks("regularization")
    reference = reference_for(root / "reference" / "regularization.py", "regularization").proxy
    student = ReferenceModule(wrong, "regularization").proxy
    drawn = []
    for secret in ("first-test-course-secret-0123", "second-test-course-secret-4567"):
        monkeypatch.setenv(SECRET_ENV, secret)
        rng = secret_rng("test_hidden_l2_dense")
        units, activation = hidden._units(rng, 2, 128, 64), str(rng.choice(hidden.ACTIVATIONS))
        strength = hidden._strength(rng, 0.01)
        drawn.append((units, activation, strength))
        for check in (hidden.test_hidden_l2_dense, hidden.test_hidden_penalty):
            check(reference, reference)  # the reference passes its own hidden checks
        with pytest.raises(CheckFailed) as info:
            hidden.test_hidden_l2_dense(student, reference)
        message = str(info.value)
        assert "on the grader's hidden inputs" in message
        assert "another kernel regularizer (kind or strength)" in message
        assert f"{strength:.6g}" not in message and str(units) not in message
        with pytest.raises(CheckFailed) as info:
            hidden.test_hidden_penalty(student, reference)
        model, _, _ = hidden._model(secret_rng("test_hidden_penalty"))
        answer = float(reference.penalty(model))
        assert f"{answer:.6g}" not in str(info.value) and f"{answer:.4g}" not in str(info.value)
        assert secret not in str(info.value)
    assert drawn[0] != drawn[1]
