"""Tests for grader.assignment (load_assignment, the checks' declarations read statically)
and grader.validate.check_consistency."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import write_course_toml

from grader.assignment import (
    available_assignments,
    load_assignment,
    load_bundle,
    secret_checks,
    unguarded_functions,
)
from grader.engine.check_modules import check_package, import_check_module
from grader.errors import AssignmentError, UsageError
from grader.sandbox.limits import Limits
from grader.validate import check_consistency

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
"""

GOOD_TESTS = '''
from grader.checks import check


@check("first", points=2)
def test_first(submission):
    """first works"""


def helper():
    pass
'''

GOOD_HIDDEN_TESTS = '''
from grader import checks


@checks.check("second", points=1.5, hidden=True)
def test_second_hidden(submission):
    """second works
    on other inputs.

    Not part of the description."""
'''


def write_assignment(
    root: Path,
    toml: str,
    name: str = "dropout",
    tests: str = GOOD_TESTS,
    hidden_tests: str = GOOD_HIDDEN_TESTS,
) -> Path:
    """The assignment NAME, its visible checks in test_checks.py and its hidden ones in
    test_hidden_checks.py (an empty text: no such file)."""
    if not (root / "course.toml").exists():
        write_course_toml(root)
    directory = root / "assignments" / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "assignment.toml").write_text(textwrap.dedent(toml), encoding="utf-8")
    for file, text in (("test_checks.py", tests), ("test_hidden_checks.py", hidden_tests)):
        if text:
            (directory / file).write_text(textwrap.dedent(text), encoding="utf-8")
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


def test_the_regularization_checks_are_read_from_their_declarations():
    assignment = load_assignment("regularization")
    names = [c.name for c in assignment.checks]
    assert names[0] == "test_l2_dense_defaults"
    assert len(names) == len(set(names))
    first = assignment.spec("test_l2_dense_defaults")
    assert (first.function, first.points, first.visibility, first.file) == (
        "l2_dense",
        1.0,
        "visible",
        "test_layers.py",
    )
    assert first.description == (
        "l2_dense(64) returns Dense(64, relu) with an L2(0.01) kernel regularizer."
    )
    assert assignment.spec("no_such_check") is None


@pytest.mark.parametrize("name", ["regularization", "dropout"])
def test_the_shipped_assignments_list_checks_by_function_or_hidden_last(name):
    assignment = load_assignment(name)
    ranks = [
        (c.visibility == "hidden", assignment.functions.index(c.function))
        for c in assignment.checks
    ]
    if name == "regularization":  # hidden_checks_last = true
        assert ranks == sorted(ranks)
    else:
        assert [(r, h) for h, r in ranks] == sorted((r, h) for h, r in ranks)


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
    # The docstring's first paragraph, its whitespace collapsed.
    assert assignment.checks[1].description == "second works on other inputs."
    assert (assignment.checks[1].file, assignment.checks[1].line) == ("test_hidden_checks.py", 6)
    assert assignment.max_score == 3.5
    assert assignment.limits == Limits(
        call_timeout=5.0, import_timeout=7.5, submission_timeout=30.0, output_bytes=1234
    )
    assert assignment.directory == directory
    assert assignment.reference == tmp_path / "reference" / "dropout.py"
    assert assignment.stub == directory / "dropout.py"


def test_missing_limits_fall_back_to_the_defaults(tmp_path):
    write_assignment(tmp_path, GOOD_TOML.split("[limits]")[0])
    assert load_assignment("dropout", root=tmp_path).limits == Limits()


def test_a_missing_title_defaults_to_the_name(tmp_path):
    write_assignment(tmp_path, replace_once(GOOD_TOML, 'title = "Dropout"\n', ""))
    assert load_assignment("dropout", root=tmp_path).title == "dropout"


def test_invalid_toml_is_an_assignment_error(tmp_path):
    write_assignment(tmp_path, GOOD_TOML + "\n[grading\n")
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


def test_non_numeric_limits_are_an_assignment_error(tmp_path):
    write_assignment(tmp_path, replace_once(GOOD_TOML, "call_timeout = 5", 'call_timeout = "a"'))
    with pytest.raises(AssignmentError, match=r"\[limits\] values must be numbers"):
        load_assignment("dropout", root=tmp_path)


def test_checks_tables_in_the_toml_are_an_assignment_error(tmp_path):
    toml = GOOD_TOML + '\n[checks.test_first]\nfunction = "first"\npoints = 2\n'
    write_assignment(tmp_path, toml)
    with pytest.raises(AssignmentError, match=r"\[checks\] tables are no longer read"):
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
    write_course_toml(tmp_path)
    with pytest.raises(UsageError, match="known assignments: none"):
        load_assignment("dropout", root=tmp_path)


# -- declarations read statically: every error names the file and line ---------------------

# The line of ``@check`` in GOOD_TESTS, dedented and written as test_checks.py.
DECORATOR_LINE = 5


def _declaration_error(tmp_path: Path, old: str, new: str, **files: str) -> str:
    write_assignment(tmp_path, GOOD_TOML, tests=replace_once(GOOD_TESTS, old, new), **files)
    with pytest.raises(AssignmentError) as info:
        load_assignment("dropout", root=tmp_path)
    return str(info.value)


def test_declared_points_must_be_literals(tmp_path):
    message = _declaration_error(tmp_path, "points=2)", "points=POINTS)")
    assert f"test_checks.py:{DECORATOR_LINE}: the points of check test_first must be " in message
    assert "literal" in message and "'POINTS'" in message


@pytest.mark.parametrize(
    ("points", "shown"),
    [("0", "0"), ("-1", "-1"), ("True", "True"), ('"2"', "'2'"), ("float('nan')", None)],
)
def test_declared_points_must_be_a_positive_number(tmp_path, points, shown):
    message = _declaration_error(tmp_path, "points=2)", f"points={points})")
    assert f"test_checks.py:{DECORATOR_LINE}:" in message
    if shown is None:  # a call is not a literal
        assert "must be written as a literal" in message
    else:
        assert f"check test_first needs points > 0, not {shown}." in message


def test_a_check_grading_an_unlisted_function_is_an_assignment_error(tmp_path):
    message = _declaration_error(tmp_path, '@check("first"', '@check("third"')
    assert f"test_checks.py:{DECORATOR_LINE}: check test_first grades 'third'" in message
    assert "not one of the assignment's functions (first, second)" in message


@pytest.mark.parametrize(
    "decorator",
    ["@check(points=2)", '@check("first")', '@check("first", 2)', "@check", '@check("first", x=1)'],
)
def test_a_malformed_declaration_shows_the_usage(tmp_path, decorator):
    message = _declaration_error(tmp_path, '@check("first", points=2)', decorator)
    assert f"test_checks.py:{DECORATOR_LINE}: declare check test_first as @check(" in message


def test_hidden_must_be_a_boolean(tmp_path):
    message = _declaration_error(tmp_path, "points=2)", 'points=2, hidden="yes")')
    assert "check test_first: hidden must be True or False" in message


def test_a_check_without_a_docstring_is_an_assignment_error(tmp_path):
    message = _declaration_error(tmp_path, '    """first works"""\n', "    pass\n")
    assert f"test_checks.py:{DECORATOR_LINE + 1}: check test_first has no docstring" in message


def test_an_undeclared_test_function_is_an_assignment_error(tmp_path):
    message = _declaration_error(
        tmp_path, "def helper():", "def test_extra(submission):\n    pass\n\n\ndef helper():"
    )
    assert "test_checks.py:10: test_extra is a test but not a declared check" in message


def test_a_declared_function_pytest_would_not_run_is_an_assignment_error(tmp_path):
    message = _declaration_error(tmp_path, "def test_first(", "def first_works(")
    assert "first_works is declared with @check but pytest runs only functions named test_*" in (
        message
    )


def test_a_check_declared_twice_names_both_places(tmp_path):
    hidden = GOOD_HIDDEN_TESTS.replace("test_second_hidden", "test_first").replace(
        "hidden=True", "hidden=False"
    )
    write_assignment(tmp_path, GOOD_TOML, hidden_tests=hidden)
    with pytest.raises(AssignmentError) as info:
        load_assignment("dropout", root=tmp_path)
    assert "test_hidden_checks.py:6: check test_first is declared twice (also at " in str(
        info.value
    )
    assert f"test_checks.py:{DECORATOR_LINE + 1})" in str(info.value)


def test_an_assignment_without_checks_is_an_assignment_error(tmp_path):
    write_assignment(tmp_path, GOOD_TOML, tests="def helper():\n    pass\n", hidden_tests="")
    with pytest.raises(AssignmentError, match="has no checks: declare them"):
        load_assignment("dropout", root=tmp_path)


def test_a_check_file_with_a_syntax_error_is_an_assignment_error(tmp_path):
    write_assignment(tmp_path, GOOD_TOML, tests=GOOD_TESTS + "\ndef broken(:\n")
    with pytest.raises(AssignmentError, match=r"test_checks\.py has a syntax error"):
        load_assignment("dropout", root=tmp_path)


ORDERED_TESTS = '''
from grader.checks import check


@check("second", points=1)
def test_b(submission):
    """b"""


@check("first", points=1)
def test_c(submission):
    """c"""


@check("first", points=1)
def test_a(submission):
    """a"""
'''

ORDERED_HIDDEN = '''
from grader.checks import check


@check("second", points=1, hidden=True)
def test_hidden_b(submission):
    """hidden b"""


@check("first", points=1, hidden=True)
def test_hidden_a(submission):
    """hidden a"""
'''


@pytest.mark.parametrize(
    ("hidden_last", "order"),
    [
        ("", ["test_c", "test_a", "test_hidden_a", "test_b", "test_hidden_b"]),
        (
            "hidden_checks_last = true\n",
            ["test_c", "test_a", "test_b", "test_hidden_a", "test_hidden_b"],
        ),
    ],
)
def test_checks_are_listed_by_function_then_visibility_then_file_and_line(
    tmp_path, hidden_last, order
):
    toml = replace_once(GOOD_TOML, "\n[limits]", hidden_last + "\n[limits]")
    write_assignment(tmp_path, toml, tests=ORDERED_TESTS, hidden_tests=ORDERED_HIDDEN)
    assert [c.name for c in load_assignment("dropout", root=tmp_path).checks] == order


# -- consistency between the assignment and its check files --------------------------------


def test_well_declared_checks_are_consistent(tmp_path):
    write_assignment(tmp_path, GOOD_TOML)
    assert check_consistency(load_assignment("dropout", root=tmp_path)) == []


def test_a_function_without_a_check_is_reported(tmp_path):
    toml = replace_once(GOOD_TOML, '["first", "second"]', '["first", "second", "third"]')
    write_assignment(tmp_path, toml)
    assert check_consistency(load_assignment("dropout", root=tmp_path)) == [
        "Function third is in [assignment] functions but no check grades it: "
        'declare one with @check("third", points=N).'
    ]


def test_a_check_file_broken_after_loading_is_reported(tmp_path):
    directory = write_assignment(tmp_path, GOOD_TOML)
    assignment = load_assignment("dropout", root=tmp_path)
    (directory / "test_more.py").write_text("def test_extra(submission):\n    pass\n")
    (problem,) = check_consistency(assignment)
    assert "test_more.py:1: test_extra is a test but not a declared check" in problem


# -- visible and hidden check files -------------------------------------------------------


def test_a_check_file_with_visible_and_hidden_checks_is_an_assignment_error(tmp_path):
    hidden = GOOD_HIDDEN_TESTS.replace("from grader import checks\n", "")
    write_assignment(tmp_path, GOOD_TOML, tests=GOOD_TESTS + hidden, hidden_tests="")
    with pytest.raises(AssignmentError) as info:
        load_assignment("dropout", root=tmp_path)
    message = str(info.value)
    assert "test_checks.py holds visible checks (test_first (line 6))" in message
    assert "hidden checks (test_second_hidden (line 16))" in message


def test_visible_keeps_the_visible_checks_and_the_files_holding_them(tmp_path):
    directory = write_assignment(tmp_path, GOOD_TOML)
    (directory / "test_helpers.py").write_text("def helper():\n    pass\n")
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
from grader.checks import check, secret


def _inputs():
    return _deeper()


def _deeper():
    return secret.secret_rng("test_second_hidden").integers(10)


@check("second", points=1.5, hidden=True)
def test_second_hidden(submission):
    '''second on secret inputs'''
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
        + '@check("first", points=1)\n'
        + "def test_other(submission):\n    '''other'''\n    secret_rng('test_other')\n"
    )
    write_assignment(tmp_path, GOOD_TOML, tests=visible)
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
    # As the grader imports it: a module of the assignment's package, helpers beside it.
    folder = Path(__file__).resolve().parents[1] / "assignments" / name
    return import_check_module(folder / f"test_hidden_{name}.py", check_package(folder, name))


def test_hidden_checks_draw_other_inputs_per_secret_and_never_print_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from grader.checks.secret import SECRET_ENV, secret_rng
    from grader.engine.reference import ReferenceModule, reference_for
    from grader.errors import CheckFailed

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
