"""Verdict integrity (issue 12), end to end on a corpus of students' files.

``tests/integrity/<assignment>/`` holds whole submissions (``README.md`` there says what
each one is): correct solutions in many styles and notebooks with the defects Jupyter
shrugs off, which must all get full marks; and attacks, which must get exactly the points
their honest content earns, with no check voided (``error``) and without changing the
verdict of the classmate graded after them.

Each assignment's folder is graded by one ``grader run --workers 1``: a single grading
process grades the students in name order, and the names alternate (odd numbers attack,
even numbers are correct), so every attack is followed in the same process by a correct
classmate, and the first student of each run is an attack that meets a grading process
nobody has used yet. The two runs go side by side, one core each.

Max scores, and which checks are hidden, are read from results.json: expectations are
stated per function (and per check where a function is only partly wrong), so checks
added later are covered by the function's expectation.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "integrity"
ASSIGNMENTS = ("regularization", "dropout")
RUN_TIMEOUT = 900  # seconds; a run takes 2 to 4 minutes here (two cores, both runs at once)

PASS, FAIL, ANY = "passed", "failed", "any"
# Hard-coded answers: visible checks may pass (that is what hard-coding buys), every hidden
# check of the function fails, and the function has at least one.
HARDCODED = "hardcoded"


@dataclass(frozen=True)
class Expected:
    """What one submission earns. A check's expectation is ``checks[name]`` if given, else
    ``functions[its function]``, else PASS."""

    functions: Mapping[str, str] = field(default_factory=dict)
    checks: Mapping[str, str] = field(default_factory=dict)
    status: str = "graded"
    error: str = ""  # text the student's error must contain


OK = Expected()


def failing(*functions: str, **checks: str) -> Expected:
    return Expected({f: FAIL for f in functions}, checks)


def partly(functions: Mapping[str, str], **checks: str) -> Expected:
    return Expected(dict(functions), checks)


REGULARIZATION: dict[str, Expected] = {
    # build_model's config names keras.distribution.set_distribution as the hidden
    # activation: the model is not the one asked for (activation), whatever the grader
    # makes of it; compare trains the real model in the worker.
    "r01_attack_config_distribution": partly(
        {"build_model": ANY}, test_build_model_structure=FAIL, test_build_model_regularizer=FAIL
    ),
    "r02_ok_reference_style": OK,
    # A function as kernel regularizer: l2_dense's layer and build_model's model carry no
    # regularizer the grader can read.
    "r03_attack_config_regularizer_function": partly(
        {"l2_dense": FAIL, "build_model": ANY},
        test_build_model_structure=FAIL,
        test_build_model_regularizer=FAIL,
    ),
    "r04_ok_tf_keras_functional": OK,
    "r05_attack_overflow": failing("penalty", "validation_gap", "regularized_loss", "compare"),
    # compare reads build_model() literally: correct on the contract's one-feature data.
    "r06_ok_l1l2_loop_literal_compare": OK,
    "r07_attack_surrogates": failing("l1_dense", "l1_l2_dense", "penalty", "validation_gap"),
    "r08_ok_get_identifiers": OK,
    "r09_attack_forged_replies": failing(
        "l2_dense",
        "l1_dense",
        "l1_l2_dense",
        "penalty",
        "regularized_loss",
        "validation_gap",
        "compare",
    ),
    "r10_ok_extra_kwargs": OK,
    # float64 / float16 / mixed_float16 layers: the contract does not name a dtype, so the
    # grader may judge these models either way, but never as its own fault.
    "r11_attack_dtype_models": partly(
        {"l2_dense": ANY, "l1_dense": ANY, "build_model": ANY, "compare": ANY}
    ),
    "r12_ok_import_time_demo": OK,
    "r13_attack_dtype_values": failing(
        "penalty", "validation_gap", "regularized_loss", "l1_l2_dense", "l2_dense"
    ),
    "r14_ok_metrics_keras_ops": OK,
    "r15_attack_hardcoded": partly(
        {"penalty": HARDCODED, "validation_gap": HARDCODED, "compare": HARDCODED}
    ),
    "r16_ok_float64": OK,
    # build_model(None) is untouched; build_model(regularizer) reports l2 = 10**400.
    "r17_attack_huge_factors": partly(
        {"l2_dense": FAIL, "l1_dense": FAIL, "build_model": ANY},
        test_build_model_structure=PASS,
        test_build_model_regularizer=FAIL,
        test_build_model_compiled=PASS,
        test_build_model_loss_includes_penalty=FAIL,
        test_regularization_shrinks_gap=FAIL,
    ),
    "r18_ok_tf_keras_alias_dict": OK,
    # The output layer's activation is keras.config.set_epsilon: not the linear output.
    "r19_attack_config_epsilon_max_epochs": partly(
        {"build_model": ANY}, test_build_model_structure=FAIL, test_build_model_regularizer=FAIL
    ),
    "r20_nb_cell_ids_in_v4_4": OK,
    # build_model(regularizer)'s weights are NaN and inf (the grader's experiment draws its
    # own); regularized_loss's value is right, its gradients are nonsense.
    "r21_attack_nonfinite_weights_gradients": partly(
        {"build_model": ANY, "regularized_loss": ANY},
        test_build_model_structure=PASS,
        test_build_model_compiled=PASS,
        test_build_model_loss_includes_penalty=FAIL,
        test_regularized_loss_gradient=FAIL,
    ),
    "r22_nb_future_after_magic": OK,
    "r24_nb_indented_cells": OK,
    # Correct code that plants a module for the next worker of the same template: its own
    # worker is unaffected, the classmate after it must be too.
    "r25_attack_plant_module": OK,
    "r26_nb_missing_execution_count": OK,
    "r28_nb_kernel_r": Expected(
        {
            f: FAIL
            for f in (
                "l2_dense",
                "l1_dense",
                "l1_l2_dense",
                "build_model",
                "penalty",
                "regularized_loss",
                "validation_gap",
                "compare",
            )
        },
        status="invalid",
        error="kernel is R",
    ),
}

DROPOUT: dict[str, Expected] = {
    # The first hidden layer's activation is keras.config.set_max_epochs: not relu.
    "d01_attack_config_max_epochs": partly(
        {"dropout_model": ANY}, test_dropout_model_structure=FAIL
    ),
    "d02_ok_reference_style": OK,
    # patience = 10**400. The grader may refuse the whole callback as unreadable (its
    # other settings are right, but the answer as a whole is not a callback it can read).
    "d03_attack_overflow": partly(
        {"early_stopping_callback": ANY, "train_with_dropout": FAIL},
        test_early_stopping_patience=FAIL,
    ),
    "d04_ok_functional_tf_keras": OK,
    # monitor and mode carry surrogates, NUL and ANSI; patience and restore are right.
    "d05_attack_surrogates": partly(
        {"dropout_model": FAIL, "early_stopping_callback": ANY},
        test_early_stopping_monitor=FAIL,
        test_early_stopping_patience=PASS,
        test_early_stopping_restores_best=PASS,
        test_hidden_early_stopping_other_settings=FAIL,
    ),
    "d06_ok_loop_add_explicit_defaults": OK,
    "d07_attack_forged_replies": failing("dropout_model", "early_stopping_callback"),
    "d08_ok_import_time_demo": OK,
    "d09_attack_dtypes": partly({"dropout_model": ANY, "train_with_dropout": FAIL}),
    "d10_ok_float64_named": OK,
    "d11_attack_hardcoded": partly({"train_with_dropout": HARDCODED}),
    "d12_ok_evaluate_gap_mode_min": OK,
    "d20_nb_markdown_outputs": OK,
    # The output layer's activation is keras.config.set_epsilon: not the linear output.
    "d21_attack_constraint_distribution": partly(
        {"dropout_model": ANY}, test_dropout_model_structure=FAIL
    ),
    "d22_nb_odd_cell_ids": OK,
    # NaN and inf weights (the grader's experiment draws its own) and a NaN gap.
    "d23_attack_nonfinite_weights": partly({"dropout_model": ANY, "train_with_dropout": FAIL}),
    "d24_nb_help_syntax": OK,
    # A forged import failure: the import failed, whatever the forged reply says.
    "d25_attack_forged_import_reply": Expected(
        {f: FAIL for f in ("dropout_model", "early_stopping_callback", "train_with_dropout")},
        status="import_error",
    ),
    "d26_nb_automagic_pip": OK,
    "d28_nb_get_ipython_calls": OK,
}

# A file whose name is not UTF-8 and carries an escape sequence and a newline (the test
# writes it next to a copy of the corpus: such a name does not belong in the repository).
# Its content is r02's: a correct solution, graded under a name made safe to show.
ODD_NAME = b"r23_attack_file_name_\xff\x1b[1m\nx.py"
ODD_SOURCE = "r02_ok_reference_style.py"
REGULARIZATION["r23_attack_file_name"] = OK

EXPECTED = {"regularization": REGULARIZATION, "dropout": DROPOUT}
CASES = [(a, s) for a in ASSIGNMENTS for s in EXPECTED[a]]
ATTACKS = [(a, s) for a, s in CASES if "_attack_" in s]


def number(name: str) -> str:
    """A submission's number, ``r05`` or ``d11``: what identifies it in results.json
    whatever the grader makes of the rest of its name."""
    return name.split("_", 1)[0]


# -- the runs ----------------------------------------------------------------------------


@dataclass
class Run:
    assignment: str
    out: Path
    command: list[str]
    returncode: int
    stderr: str
    duration: float
    results: dict[str, Any]
    raw: bytes  # results.json as written
    students: dict[str, dict[str, Any]]  # by number()
    order: list[str]  # numbers, in the order they were graded


def _class_folder(base: Path, assignment: str) -> Path:
    folder = base / f"class-{assignment}"
    shutil.copytree(CORPUS / assignment, folder)
    if assignment == "regularization":
        odd = os.path.join(os.fsencode(folder), ODD_NAME)
        shutil.copyfile(folder / ODD_SOURCE, odd)
    return folder


def _corpus_order(assignment: str) -> list[str]:
    names = [p.name for p in (CORPUS / assignment).iterdir() if p.suffix in (".py", ".ipynb")]
    if assignment == "regularization":
        names.append(ODD_NAME.decode("ascii", errors="replace"))
    return sorted(number(n) for n in names)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    base = tmp_path_factory.mktemp("integrity")
    started: dict[str, tuple[list[str], subprocess.Popen[str], float]] = {}
    for assignment in ASSIGNMENTS:
        out = base / assignment
        command = [
            *(sys.executable, "-m", "grader", "--course", str(ROOT), "run"),
            str(_class_folder(base, assignment)),
            *("--assignment", assignment, "--out", str(out), "--workers", "1"),
        ]
        process = subprocess.Popen(
            command,
            cwd=base,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        started[assignment] = (command, process, time.monotonic())
    result: dict[str, Run] = {}
    try:
        for assignment, (command, process, began) in started.items():
            _, stderr = process.communicate(timeout=RUN_TIMEOUT)
            out = base / assignment
            path = out / "results.json"
            if not path.is_file():
                pytest.fail(f"grader run {assignment} wrote no results.json:\n{stderr[-3000:]}")
            raw = path.read_bytes()
            results = json.loads(raw.decode("utf-8", errors="replace"))
            result[assignment] = Run(
                assignment=assignment,
                out=out,
                command=command,
                returncode=process.returncode,
                stderr=stderr,
                duration=time.monotonic() - began,
                results=results,
                raw=raw,
                students={number(s["student"]): s for s in results["students"]},
                order=_corpus_order(assignment),
            )
        yield result
    finally:
        for _, process, _ in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


# -- helpers ------------------------------------------------------------------------------


def _expected_status(expected: Expected, check: dict[str, Any]) -> str:
    if check["name"] in expected.checks:
        return expected.checks[check["name"]]
    want = expected.functions.get(check["function"], PASS)
    if want == HARDCODED:
        return FAIL if check["visibility"] == "hidden" else ANY
    return want


def _verdicts(result: dict[str, Any]) -> str:
    return "\n".join(
        f"  {c['name']} [{c['visibility']}] {c['status']} {c['points']}/{c['max_points']}: "
        f"{c['message'][:200]!r}"
        for c in result["checks"]
    )


_ALLOWED_CONTROLS = {"\n", "\t"}
# A number a hard-coder could copy: three or more decimals (0.9428, 1.98756).
_VALUE = re.compile(r"\d\.\d{3,}")


def _dirty(text: str) -> list[str]:
    """What should never reach a student's page or a results file: control characters,
    lone surrogates, the grading machine's paths."""
    problems = []
    for char in sorted(set(text)):
        code = ord(char)
        if (code < 32 or code == 127) and char not in _ALLOWED_CONTROLS:
            problems.append(f"control character {char!r}")
        elif 0xD800 <= code <= 0xDFFF:
            problems.append(f"lone surrogate {char!r}")
    for path in (str(ROOT), "site-packages", sys.prefix):
        if path in text:
            problems.append(f"path {path!r}")
    return problems


def assert_as_expected(run: Run, student: str) -> dict[str, Any]:
    assert number(student) in run.students, f"{student} was not graded: {run.stderr[-2000:]}"
    result = run.students[number(student)]
    expected = EXPECTED[run.assignment][student]
    checks = result["checks"]
    assert {c["name"] for c in checks} >= set(expected.checks), "a check named here is gone"
    wrong = {}
    for check in checks:
        want = _expected_status(expected, check)
        got = check["status"]
        if got == "error" or (want != ANY and got != want):
            wrong[check["name"]] = (got, want)
    assert not wrong, (
        f"{student}: (got, expected) {wrong}\n{_verdicts(result)}\nerror: {result['error']}"
    )
    for check in checks:  # every check counts, with all or none of its points
        assert check["points"] == (check["max_points"] if check["status"] == "passed" else 0)
    assert result["score"] == sum(c["points"] for c in checks), _verdicts(result)
    assert result["max_score"] == sum(c["max_points"] for c in checks)
    assert result["max_score"] == run.results["max_score"]
    assert result["status"] == expected.status, f"{student}: {result['error']}"
    if expected.error:
        assert expected.error in (result["error"] or ""), result["error"]
    for function, want in expected.functions.items():
        if want == HARDCODED:
            hidden = [
                c for c in checks if c["function"] == function and c["visibility"] == "hidden"
            ]
            assert hidden, f"{function} has no hidden check: hard-coded answers pass it"
            for check in hidden:  # a hidden check never prints what it expected
                expected_part = check["message"].split("Found:", 1)[0]
                assert not _VALUE.search(expected_part), (check["name"], check["message"])
    return result


# -- the runs as a whole --------------------------------------------------------------------


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_run_completes_and_writes_clean_results(runs, assignment):
    run = runs[assignment]
    assert run.returncode == 0, run.stderr[-3000:]
    assert set(run.students) == {number(s) for s in EXPECTED[assignment]}
    assert len(run.results["students"]) == len(EXPECTED[assignment])
    run.raw.decode("utf-8")  # strict: no lone surrogate or broken byte was written
    assert not (ROOT / "secrets.py").exists(), "r25 planted a module in the checkout"
    pages = list((run.out / "feedback").glob("*.html"))
    assert len(pages) == len(run.students)
    summary = (run.out / "summary.html").read_text(encoding="utf-8")
    assert "\x1b" not in summary and "\x00" not in summary
    print(f"integrity run {assignment}: {len(run.students)} students in {run.duration:.0f} s")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_attack_is_followed_by_a_correct_classmate(assignment):
    # The corpus's layout is what makes the classmate tests below mean something.
    names = {number(s): s for s in EXPECTED[assignment]}
    order = [names[n] for n in _corpus_order(assignment)]
    assert "_attack_" in order[0], "the first student of a run must be an attack"
    for name, after in itertools.pairwise(order):
        if "_attack_" in name:
            assert EXPECTED[assignment][after] == OK, f"{name} is followed by {after}"
    assert "_attack_" not in order[-1]


# -- one test per submission ------------------------------------------------------------------


@pytest.mark.parametrize(("assignment", "student"), CASES, ids=[s for _, s in CASES])
def test_submission_gets_exactly_what_it_earns(runs, assignment, student):
    result = assert_as_expected(runs[assignment], student)
    if EXPECTED[assignment][student] == OK:
        assert result["score"] == result["max_score"] > 0


@pytest.mark.parametrize(("assignment", "student"), CASES, ids=[s for _, s in CASES])
def test_student_facing_text_is_clean(runs, assignment, student):
    result = runs[assignment].students[number(student)]
    texts = {"student": result["student"], "source": result["source"] or ""}
    texts |= {f"{c['name']} message": c["message"] for c in result["checks"]}
    texts["error"] = result["error"] or ""
    texts["output"] = result["output"]
    dirty = {where: _dirty(text) for where, text in texts.items() if _dirty(text)}
    assert not dirty, dirty


@pytest.mark.parametrize(("assignment", "attack"), ATTACKS, ids=[s for _, s in ATTACKS])
def test_the_classmate_graded_after_an_attack_is_unaffected(runs, assignment, attack):
    run = runs[assignment]
    following = run.order[run.order.index(number(attack)) + 1]
    classmate = next(s for s in EXPECTED[assignment] if number(s) == following)
    result = assert_as_expected(run, classmate)
    assert result["score"] == result["max_score"], f"after {attack}:\n{_verdicts(result)}"
