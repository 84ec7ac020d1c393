"""Gradescope: the autograder zip, and the real run_autograder in a Gradescope-like folder.

The dropout zip is built once (through the CLI). Two submissions are graded end to end
by the zip's own run_autograder, extracted into temporary folders laid out like
Gradescope's /autograder, with setup.sh not run (GRADER_PYTHON points at this venv):

- bob's correct solution as a notebook one folder down, plus a cell that attacks at
  import: it writes and replaces results/results.json, reads the course's reference and
  leaves a daemon (double fork, setsid) that rewrites results.json after 3 s. Graded as
  Gradescope grades, as root, at the landlock level (GRADER_ISOLATION=landlock, so it
  does not pick bubblewrap): full marks, every attack refused, no process left and
  results.json the grader's.
- mallory, whose mistake shows in a visible and in a hidden check, at the limits level
  the instructor allowed (GRADER_ALLOW_WEAK_ISOLATION=1).

Everything else (an empty file, a broken assignment, a Python that does not start, a
refusal at the limits level, the conversion itself) costs no grading. Every
results.json written is validated against Gradescope's schema.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import lms_attack
import nbformat
import pytest
from click.testing import CliRunner
from conftest import write_course_toml

from grader.assignment import load_assignment
from grader.cli import main
from grader.course import Course, find_course
from grader.errors import UsageError
from grader.lms import gradescope
from grader.paths import package_templates
from grader.results import CheckResult, StudentResult
from grader.submissions import submission_from_upload

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "dropout"
SCHEMA = ROOT / "grader" / "schemas" / "gradescope-results.schema.json"
TIMEOUT = 900  # seconds a whole run_autograder may take here


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def valid(results: dict[str, Any]) -> dict[str, Any]:
    errors = [e.message for e in validator().iter_errors(results)]
    assert not errors, errors
    return results


# -- the zip -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def autograder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    result = CliRunner().invoke(main, ["export", "gradescope", "dropout", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "tensorflow-cpu==" in result.output
    return out


@pytest.fixture(scope="module")
def reachable() -> Iterator[Path]:
    """A folder like Gradescope's /: others may pass through it (pytest's own temporary
    folders are the owner's alone), so that the workers' own user reaches the grader
    package inside /autograder/source, as it does on Gradescope."""
    folder = Path(tempfile.mkdtemp(prefix="grader-test-gradescope-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def layout(zip_path: Path, folder: Path) -> Path:
    """``folder`` laid out like Gradescope's /autograder: the zip unpacked (modes kept)
    into source/, run_autograder copied up, empty submission/ and results/."""
    source = folder / "source"
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = source / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)
    shutil.copy2(source / "run_autograder", folder / "run_autograder")
    (folder / "submission").mkdir()
    (folder / "results").mkdir()
    return folder


def run_autograder(folder: Path, **env: str) -> subprocess.Popen[str]:
    environment = {**os.environ}
    for name in ("GRADER_ISOLATION", "GRADER_ALLOW_WEAK_ISOLATION"):  # the test's own
        environment.pop(name, None)
    environment.update({"GRADER_GRADESCOPE_ROOT": str(folder), "GRADER_PYTHON": sys.executable})
    environment.update(env)
    environment.pop("GRADER_COURSE", None)  # run_autograder sets it: the bundle's course
    return subprocess.Popen(
        [str(folder / "run_autograder")],
        cwd=folder.parent,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str], folder: Path) -> tuple[dict[str, Any], str]:
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, output
    leftovers = [p.name for p in (folder / "results").iterdir() if p.name != "results.json"]
    assert leftovers == [], leftovers  # written once, atomically: no temporary file left
    return valid(json.loads((folder / "results" / "results.json").read_text())), output


def test_zip_holds_the_scripts_and_one_assignment(autograder: Path) -> None:
    with zipfile.ZipFile(autograder) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
        settings = json.loads(archive.read(gradescope.CONFIG_NAME))
    names = set(infos)
    for script in ("setup.sh", "run_autograder"):
        mode = infos[script].external_attr >> 16
        assert stat.S_ISREG(mode) and mode & 0o777 == 0o755, (script, oct(mode))
    assert infos["grader/cli.py"].external_attr >> 16 & 0o777 == 0o644
    tops = {n.split("/")[0] for n in names}
    assert tops == {
        "setup.sh",
        "run_autograder",
        gradescope.CONFIG_NAME,
        "grader",
        "assignments",
        "reference",
        "templates",
        "pyproject.toml",
        "README.md",
        *(["setup.py"] if (ROOT / "setup.py").is_file() else []),
        "course.toml",
        # dropout has hidden checks on secret inputs: the course secret, owner-only
        "course-secret",
    }
    assert infos["course-secret"].external_attr >> 16 & 0o777 == 0o600
    assert {n.split("/")[1] for n in names if n.startswith("assignments/")} == {"dropout"}
    assert {n for n in names if n.startswith("reference/")} == {"reference/dropout.py"}
    assignment = load_assignment("dropout")
    for path in [*assignment.check_files(), assignment.directory / "assignment.toml"]:
        assert f"assignments/dropout/{path.name}" in names
    assert "grader/lms/gradescope.py" in names
    assert "grader/schemas/gradescope-results.schema.json" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith(("tests/", "examples/"))]
    # TensorFlow's CPU build and Keras, pinned to exactly what is installed here.
    tensorflow = importlib.metadata.version("tensorflow-cpu")
    keras = importlib.metadata.version("keras")
    assert f"'tensorflow-cpu=={tensorflow}' 'keras=={keras}' \"$SOURCE\"" in setup
    assert "python3-venv" in setup and "python3.11" in setup
    assert "gradescope-autograder" in run and "@@" not in setup + run
    assert settings["assignment"] == "dropout"
    assert settings["hidden_visibility"] == "hidden"
    assert settings["time_limit"] == gradescope.DEFAULT_TIMEOUT - gradescope.TIMEOUT_MARGIN
    assert settings["allow_weak_isolation"] is False  # refuses below landlock unless edited
    assert 'chmod o+x "$ROOT"' in run  # the workers' own user passes through /autograder
    for script in ("setup.sh", "run_autograder"):  # bash can parse them
        check = subprocess.run(["bash", "-n"], input=archive_text(autograder, script), text=True)
        assert check.returncode == 0, script


def test_the_zips_course_toml_names_its_own_layout(autograder: Path, tmp_path: Path) -> None:
    source = layout(autograder, tmp_path / "autograder") / "source"
    text = (source / "course.toml").read_text()
    assert "GRADER_ROOT" not in archive_text(autograder, "run_autograder")
    assert 'export GRADER_COURSE="$SOURCE"' in archive_text(autograder, "run_autograder")
    checkout = find_course(ROOT)
    course = Course.read(source)
    assert course.title == checkout.title
    assert course.assignment_names() == ["dropout"]
    assert course.reference_for("dropout").read_bytes() == (
        checkout.reference_for("dropout").read_bytes()
    )
    assert course.secret == source / "course-secret" and course.secret.is_file()
    # The checkout's course has no pages of its own: the grader's, bundled beside it.
    assert "templates" not in tomllib.loads(text)["course"]
    assert course.templates == package_templates()
    assert (source / "templates" / "feedback.html").read_bytes() == (
        (package_templates() / "feedback.html").read_bytes()
    )


def test_a_course_with_its_own_pages_and_an_odd_title_keeps_them_in_the_zip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = tmp_path / "course"
    shutil.copytree(ROOT / "assignments" / "dropout", course / "assignments" / "dropout")
    shutil.copytree(ROOT / "reference", course / "reference")
    shutil.copytree(package_templates(), course / "pages")
    (course / "pages" / "feedback.html").write_text(
        "{# the course's own #}" + (package_templates() / "feedback.html").read_text()
    )
    title = 'Deep "learning"\\ \u00e9t\u00e9\n2026'
    write_course_toml(course, title, 'templates = "pages"\n')
    monkeypatch.setenv("GRADER_COURSE", str(course))
    monkeypatch.setenv("GRADER_COURSE_SECRET", "zip-test-course-secret-0123456789")
    names = gradescope.build_autograder(load_assignment("dropout"), tmp_path / "a.zip")
    assert "course.toml" in names and "templates/feedback.html" in names
    source = layout(tmp_path / "a.zip", tmp_path / "autograder") / "source"
    bundled = Course.read(source)
    assert bundled.title == title and bundled.templates == source / "templates"
    assert (source / "templates" / "feedback.html").read_text().startswith("{# the course's own")


def test_export_from_a_wheel_install_says_to_use_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed from a wheel, the package sits in site-packages beside no pyproject.toml."""
    installed = tmp_path / "site-packages" / "grader" / "lms"
    installed.mkdir(parents=True)
    monkeypatch.setattr(gradescope, "__file__", str(installed / "gradescope.py"))
    with pytest.raises(UsageError) as info:
        gradescope.bundle_files(load_assignment("dropout"))
    message = str(info.value)
    assert "bundles the grader's source" in message and "pip install -e ." in message
    assert f"{tmp_path / 'site-packages'} holds no pyproject.toml or README.md" in message


def archive_text(path: Path, name: str) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name).decode()


def test_export_refuses_an_unknown_assignment(tmp_path: Path) -> None:
    out = tmp_path / "a.zip"
    result = CliRunner().invoke(main, ["export", "gradescope", "nosuch", "-o", str(out)])
    assert result.exit_code == 2
    assert "No assignment named 'nosuch'" in result.output
    assert not out.exists()


# -- run_autograder, end to end -----------------------------------------------------------


def attack(results: Path, reference: Path, marker: str) -> str:
    forged = '{"score": 999, "output": "forged by the student", "tests": []}'
    return lms_attack.attack(results, reference, marker, forged)


def named(marker: str) -> list[int]:
    """The processes named ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == marker:
                found.append(int(entry.name))
        except OSError:  # gone meanwhile
            pass
    return found


@pytest.fixture(scope="module")
def graded(
    autograder: Path, reachable: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """bob (a correct notebook one folder down, with an attack, at landlock) and mallory
    (at the limits level, allowed), graded at once; then, 2 s after the end, bob's
    results.json again and the attack's daemons still alive."""
    bob = layout(autograder, reachable / "autograder")
    marker = f"gs{secrets.token_hex(5)}"
    reference = bob / "source" / "reference" / "dropout.py"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Dropout"),
        nbformat.v4.new_code_cell((EXAMPLES / "bob.py").read_text(encoding="utf-8")),
        nbformat.v4.new_code_cell(attack(bob / "results" / "results.json", reference, marker)),
    ]
    (bob / "submission" / "homework").mkdir()
    nbformat.write(notebook, bob / "submission" / "homework" / "dropout.ipynb")
    (bob / "submission_metadata.json").write_text(
        json.dumps({"id": 7, "users": [{"name": "Bob B", "email": "bob@x.edu", "id": 11}]})
    )
    mallory = layout(autograder, tmp_path_factory.mktemp("mallory") / "autograder")
    shutil.copy(EXAMPLES / "mallory" / "dropout.py", mallory / "submission" / "dropout.py")
    (mallory / "submission_metadata.json").write_text("{not json")
    running = {
        "bob": (run_autograder(bob, GRADER_ISOLATION="landlock"), bob),
        "mallory": (
            run_autograder(mallory, GRADER_ISOLATION="limits", GRADER_ALLOW_WEAK_ISOLATION="1"),
            mallory,
        ),
    }
    done: dict[str, Any] = {}
    try:
        done = {name: finish(process, folder) for name, (process, folder) in running.items()}
        time.sleep(2)  # a daemon that outlived the run rewrites results.json by now
        done["bob later"] = (bob / "results" / "results.json").read_text()
        done["daemons"] = named(marker)
        done["reference"] = reference.read_text(encoding="utf-8")
        yield done
    finally:
        for pid in named(marker):  # the attack's, if it got through
            os.kill(pid, signal.SIGKILL)


def _points(visibility: str | None = None) -> int:
    """dropout's points (of one visibility), as its assignment.toml gives them."""
    checks = load_assignment("dropout").checks
    return int(sum(c.points for c in checks if visibility in (None, c.visibility)))


def test_correct_notebook_scores_full_marks_at_landlock(graded: dict[str, Any]) -> None:
    results, stdout = graded["bob"]
    total, visible = _points(), _points("visible")
    assert results["score"] == total
    assert len(results["tests"]) == len(load_assignment("dropout").checks)
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in results["tests"])
    assert sum(t["max_score"] for t in results["tests"]) == total
    numbers = [t["number"] for t in results["tests"]]
    assert numbers[:2] == ["1.1", "1.2"] and numbers[-1] == "3.3"
    assert results["extra_data"]["source"] == "homework/dropout.ipynb"
    assert results["extra_data"]["submitters"] == [
        {"name": "Bob B", "email": "bob@x.edu", "id": "11"}
    ]
    # the visible checks only
    assert results["output"].startswith(f"**{visible} / {visible} points**")
    # The bundled copy of the grader graded it, not this checkout.
    assert f"from {ROOT / 'grader'}" not in stdout and "/source/grader" in stdout
    assert f"Bob B: {total} / {total} points" in stdout
    # Graded as root at landlock: the level is named, workers ran as a user of their own.
    assert results["extra_data"]["isolation"] == "landlock"
    assert "Isolation: landlock (" in stdout and "a user of its own" in stdout
    assert "(isolation: landlock)" in stdout


def test_student_code_cannot_touch_results_or_read_the_reference(graded: dict[str, Any]) -> None:
    results, _ = graded["bob"]
    printed = results["output"]
    # Every attack ran, and was refused; the daemon started.
    for name in ("forge", "replace", "read"):
        assert f"ATTACK {name}: failed (" in printed, name
    assert "ATTACK daemon: done" in printed
    # The reference stayed unread: not a line of it anywhere in the results.
    assert "REFERENCE>" not in printed
    lines = [line for line in graded["reference"].splitlines() if len(line.strip()) > 30]
    text = json.dumps(results)
    assert lines and not [line for line in lines if line.strip() in text]
    # The daemon died with the grading: results.json is still the grader's, 2 s after
    # the run (the daemon would have rewritten it twice a second), and no such process.
    assert graded["daemons"] == []
    assert json.loads(graded["bob later"]) == results
    assert "forged" not in graded["bob later"]


def test_one_mistake_in_a_visible_and_a_hidden_check(graded: dict[str, Any]) -> None:
    results, stdout = graded["mallory"]
    tests = {t["extra_data"]["check"]: t for t in results["tests"]}
    failed = {name for name, t in tests.items() if t["status"] == "failed"}
    # Her patience mistake: one visible check, and the hidden checks that train with it.
    visible_failed = {name for name in failed if "hidden" not in name}
    assert visible_failed == {"test_early_stopping_patience"}
    assert "test_hidden_train_with_dropout_other_run" in failed
    assert all(t["max_score"] > 0 for t in tests.values())  # every check counted
    assert results["score"] == _points() - sum(tests[name]["max_score"] for name in failed)
    patience = tests["test_early_stopping_patience"]
    assert patience["number"] == "2.2" and patience["score"] == 0 and patience["max_score"] == 1
    assert patience["output"].startswith("```\nExpected") and patience["visibility"] == "visible"
    for name, test in tests.items():
        assert test["visibility"] == ("hidden" if "hidden" in name else "visible")
    # What every student sees names no hidden check and does not give the total away.
    visible = _points("visible")
    shown = sum(1 for c in load_assignment("dropout").checks if c.visibility == "visible")
    assert results["output"].startswith(
        f"**{visible - 1} / {visible} points**: {shown - 1} of {shown} checks passed."
    )
    assert "not shown here" in results["output"]
    assert "hidden" not in results["output"] and f"/ {_points()}" not in results["output"]
    assert "submission_metadata.json cannot be read" in stdout  # and it graded anyway
    # Graded at the limits level because the instructor allowed it, and says so.
    assert results["extra_data"]["isolation"] == "limits"
    assert "Isolation: limits (" in stdout and "(isolation: limits)" in stdout


def test_refuses_below_landlock_unless_allowed(autograder: Path, tmp_path: Path) -> None:
    # Landlock unavailable (simulated: the limits level asked for), nothing allowing it:
    # no student code runs, and results.json says so to the student and the instructor.
    folder = layout(autograder, tmp_path / "autograder")
    shutil.copy(EXAMPLES / "bob.py", folder / "submission" / "dropout.py")
    process = run_autograder(folder, GRADER_ISOLATION="limits")
    results, stdout = finish(process, folder)
    assert results["score"] == 0
    assert len(results["tests"]) == len(load_assignment("dropout").checks)
    assert all(t["max_score"] == 0 and t["score"] == 0 for t in results["tests"])
    assert results["output"].startswith(gradescope.REFUSED_HEADLINE)
    assert results["extra_data"]["isolation"] == "refused"
    why = results["extra_data"]["grader_error"]
    assert why in stdout and "Not graded: Refusing to grade at isolation level 'limits'" in stdout
    # What a student could do, and the ways to fix it.
    assert "read the reference solution" in why and "rewrite result files" in why
    assert "bubblewrap" in why and "Landlock" in why
    assert '"allow_weak_isolation": true' in why and "gradescope.json" in why
    assert why not in results["output"]  # the instructor's, not shown to students


def test_the_autograders_setting_allows_the_limits_level(
    autograder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``allow_weak_isolation`` in gradescope.json grades at limits (the grading itself
    replaced: the real one at limits is mallory's)."""
    from grader.engine.session import GradingSession

    folder = layout(autograder, tmp_path / "autograder")
    shutil.copy(EXAMPLES / "bob.py", folder / "submission" / "dropout.py")
    config = folder / "source" / gradescope.CONFIG_NAME
    settings = json.loads(config.read_text())
    assert settings["allow_weak_isolation"] is False  # the export's default
    config.write_text(json.dumps({**settings, "allow_weak_isolation": True}))
    levels: list[str] = []

    def grade(session: GradingSession, submission: Any) -> StudentResult:
        levels.append(session.isolation.level)
        return StudentResult(
            student=submission.student,
            score=0.0,
            max_score=session.assignment.max_score,
            status="graded",
        )

    monkeypatch.setattr(GradingSession, "grade", grade)
    monkeypatch.setenv("GRADER_ISOLATION", "limits")
    monkeypatch.delenv("GRADER_ALLOW_WEAK_ISOLATION", raising=False)
    results = valid(gradescope.run_autograder(folder))
    assert levels == ["limits"] and results["extra_data"]["isolation"] == "limits"
    config.write_text(json.dumps(settings))
    results = valid(gradescope.run_autograder(folder))
    assert levels == ["limits"] and results["extra_data"]["isolation"] == "refused"


def test_empty_file_scores_zero_with_a_reason(autograder: Path, tmp_path: Path) -> None:
    folder = layout(autograder, tmp_path / "autograder")
    (folder / "submission" / "dropout.py").write_text("   \n")
    results, _ = finish(run_autograder(folder), folder)
    assert results["score"] == 0
    assert "**Your submission could not be graded:**" in results["output"]
    assert "empty" in results["output"]
    assert all(t["status"] == "failed" and t["max_score"] > 0 for t in results["tests"])


def test_broken_grader_still_reports(autograder: Path, tmp_path: Path) -> None:
    folder = layout(autograder, tmp_path / "autograder")
    shutil.copy(EXAMPLES / "bob.py", folder / "submission" / "dropout.py")
    (folder / "source" / "assignments" / "dropout" / "assignment.toml").write_text("[broken")
    results, stdout = finish(run_autograder(folder), folder)
    assert results["score"] == 0 and results["tests"] == []
    assert "ask your instructor to regrade" in results["output"]
    assert "not valid TOML" in results["extra_data"]["grader_error"]
    assert "The grader failed: AssignmentError" in stdout


def test_python_that_does_not_start_still_reports(autograder: Path, tmp_path: Path) -> None:
    folder = layout(autograder, tmp_path / "autograder")
    process = run_autograder(folder, GRADER_PYTHON=str(tmp_path / "no-python"))
    results, stdout = finish(process, folder)
    assert results["score"] == 0 and results["tests"] == []
    assert "exit status 127" in results["output"] and "regrade" in results["output"]
    assert "Wrote a results.json that says so" in stdout


# -- the conversion and the submission, without grading -------------------------------------


def check(
    name: str, function: str, status: str, points: float, maximum: float, **kw: Any
) -> CheckResult:
    return CheckResult(
        name,
        function,
        kw.pop("description", ""),
        points,
        maximum,
        status,
        **kw,
    )


def test_conversion_numbers_hides_and_leaves_faults_out() -> None:
    assignment = load_assignment("dropout")
    result = StudentResult(
        student="s",
        score=3.0,
        max_score=4.0,
        status="error",
        checks=(
            check(
                "test_hidden_train_with_dropout_other_run",
                "train_with_dropout",
                "error",
                0,
                2,
                message="boom",
                visibility="hidden",
            ),
            check(
                "test_early_stopping_patience",
                "early_stopping_callback",
                "timeout",
                0,
                1,
                message="Timed out after 60 s.",
            ),
            check(
                "test_dropout_model_rate",
                "dropout_model",
                "passed",
                2,
                2,
                description="Every Dropout layer drops r.",
            ),
            check(
                "test_dropout_model_structure",
                "dropout_model",
                "error",
                0,
                2,
                message="grader bug ``` here",
            ),
            check(
                "test_hidden_early_stopping_other_settings",
                "early_stopping_callback",
                "passed",
                1,
                1,
                visibility="hidden",
            ),
        ),
        output="printed `x`",
    )
    results = valid(gradescope.to_results(assignment, result, hidden_visibility="after_published"))
    tests = [
        (
            t["number"],
            t["extra_data"]["check"],
            t["score"],
            t["max_score"],
            t["status"],
            t["visibility"],
        )
        for t in results["tests"]
    ]
    assert tests == [
        ("1.1", "test_dropout_model_structure", 0, 0, "failed", "visible"),
        ("1.2", "test_dropout_model_rate", 2, 2, "passed", "visible"),
        ("2.2", "test_early_stopping_patience", 0, 1, "failed", "visible"),
        ("2.4", "test_hidden_early_stopping_other_settings", 1, 1, "passed", "after_published"),
        ("3.3", "test_hidden_train_with_dropout_other_run", 0, 0, "failed", "after_published"),
    ]
    assert results["score"] == 3
    assert results["tests"][1]["name"] == "Every Dropout layer drops r."
    fault = results["tests"][0]
    assert "(not counted" in fault["name"] and "regrade" in fault["output"]
    assert "````\ngrader bug ``` here\n````" in fault["output"]  # the fence outlasts it
    output = results["output"]
    assert output.startswith("**2 / 3 points**: 1 of 2 checks passed.")
    assert "could not run 2 checks** (check 1.1, 1 check not shown here)" in output
    assert "test_hidden" not in output and "printed `x`" in output


def test_crash_inside_the_grader_writes_valid_results(
    autograder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = layout(autograder, tmp_path / "autograder")
    shutil.copy(EXAMPLES / "bob.py", folder / "submission" / "dropout.py")

    def explode(*args: Any) -> Any:
        raise RuntimeError("a bug in the grader")

    monkeypatch.setattr(gradescope, "_grade", explode)
    results = valid(gradescope.run_autograder(folder))
    assert results == json.loads((folder / "results" / "results.json").read_text())
    assert results["score"] == 0
    assert len(results["tests"]) == len(load_assignment("dropout").checks)
    assert all(t["max_score"] == 0 and t["score"] == 0 for t in results["tests"])
    assert "The autograder failed on your submission" in results["output"]
    assert "a bug in the grader" not in results["output"]  # the instructor's, not shown
    assert results["extra_data"]["grader_error"] == "RuntimeError: a bug in the grader"


def test_the_submission_is_found_by_the_upload_rule(tmp_path: Path) -> None:
    """run_autograder finds the file as every upload is found (the rule itself is tested
    in test_submissions.py), and the student reads its advice; nothing is graded."""
    folder = tmp_path / "autograder"
    settings = gradescope.Settings("dropout").to_dict()
    (folder / "source").mkdir(parents=True)
    (folder / "source" / gradescope.CONFIG_NAME).write_text(json.dumps(settings))
    (folder / "results").mkdir()
    (folder / "submission" / "src").mkdir(parents=True)
    (folder / "submission" / "src" / "Dropout (1).py").write_text("x = 1\n")
    (folder / "submission_metadata.json").write_text('{"users": [{"name": "Ann"}]}')
    results = valid(gradescope.run_autograder(folder))
    found = submission_from_upload(folder / "submission", "dropout", "Ann")
    assert found.problem is not None
    assert "found src/Dropout (1).py: rename it to dropout.py" in found.problem
    assert results["score"] == 0 and results["extra_data"]["status"] == "invalid"
    assert found.problem in results["output"]


def test_reading_who_submitted(tmp_path: Path) -> None:
    path = tmp_path / "submission_metadata.json"
    assert gradescope.read_submitters(path)[0] == ()
    path.write_text('{"users": [{"name": "A", "id": 1}, {"email": "b@x"}, "junk", {}]}')
    users, note = gradescope.read_submitters(path)
    assert [u.label for u in users] == ["A", "b@x"] and note is None
    path.write_text('{"users": {"name": "A"}}')
    assert gradescope.read_submitters(path)[1] is not None
