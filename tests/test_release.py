"""`grader release`: what students receive, and that nothing secret goes with it.

The regularization release is built once (through the real CLI) and inspected; a tiny
synthetic assignment with a hidden check file proves hidden checks stay out and that
`scan_release` catches leaks.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from conftest import write_course_toml

from grader.assignment import load_assignment, load_bundle
from grader.checks.secret import SECRET_ENV, course_secret
from grader.course import find_course
from grader.release import LeakError, release_readme, scan_release, write_release

ROOT = find_course(Path(__file__).resolve().parents[1]).root  # this checkout's course
STUB = ROOT / "assignments" / "regularization" / "regularization.py"
REFERENCE = ROOT / "reference" / "regularization.py"
VISIBLE_FILES = ["test_layers.py", "test_model.py", "test_overfitting.py", "test_penalty.py"]
# The private helper modules those visible check files import.
HELPERS = ["_calibrated.py"]


def release(name: str, out: Path, *extra: str, root: Path | None = None):
    env = dict(os.environ)
    if root is not None:
        env["GRADER_COURSE"] = str(root)
    return subprocess.run(
        [sys.executable, "-m", "grader", "release", name, "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )


def files_of(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def released_lines(directory: Path) -> list[str]:
    """Every line of every released file, whitespace collapsed; a notebook's cell sources."""
    lines = []
    for path in directory.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        lines += [" ".join(line.split()) for line in text.splitlines()]
    return lines


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release") / "regularization"
    proc = release("regularization", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_release_layout(released: Path):
    files = files_of(released)
    assert sorted(files) == sorted(
        [
            "regularization.py",
            "regularization.ipynb",
            "README.md",
            "checks/assignment.toml",
            "checks/answers.json",
            *(f"checks/{name}" for name in VISIBLE_FILES + HELPERS),
        ]
    )
    assert files["regularization.py"] == STUB.read_bytes()
    for name in VISIBLE_FILES + HELPERS:
        assert files[f"checks/{name}"] == (STUB.parent / name).read_bytes()
    toml = tomllib.loads(files["checks/assignment.toml"].decode())
    original = tomllib.loads((STUB.parent / "assignment.toml").read_text(encoding="utf-8"))
    # Points, visibility and descriptions travel with the visible check files.
    assert "checks" not in toml and toml == original
    # Hidden checks draw their inputs from the course secret: it never goes out.
    secret = course_secret(load_assignment("regularization").secret)
    assert not [name for name, data in files.items() if secret in data]
    bundle = load_bundle(released / "checks")  # what `grader check` reads
    assert (bundle.name, bundle.max_score, len(bundle.checks)) == ("regularization", 30, 20)
    readme = files["README.md"].decode()
    for needed in ("grader check regularization.ipynb", "## Hand in", "skip-grading"):
        assert needed in readme


def test_release_notebook(released: Path):
    notebook = nbformat.read(released / "regularization.ipynb", as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    cells = notebook.cells
    kinds = "".join(c.cell_type[0] for c in cells)
    assert kinds.count("mc") >= 8  # teaching text interleaved with the code it introduces
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# Regularization")
    assert cells[1].cell_type == "markdown" and "How this notebook is graded" in cells[1].source
    assert "Check your work" in cells[-2].source
    assert cells[-1].source == "!grader check regularization.ipynb"
    assert cells[-1].metadata["tags"] == ["skip-grading"]
    skipped = [c.source for c in cells if "skip-grading" in c.metadata.get("tags", [])]
    assert len(skipped) == 3  # the layer examples, the sample comparison, the self-check
    assert all(s.startswith('if __name__ == "__main__":') for s in skipped[:2])
    assert "validation_gap(" in skipped[1] and "L2(" in skipped[1]
    # The graded code is exactly the stub's: every function, unchanged.
    code = "\n\n".join(c.source for c in cells[:-1] if c.cell_type == "code")
    stub = ast.parse(STUB.read_text(encoding="utf-8"))
    assert ast.dump(ast.parse(code)) == ast.dump(stub)
    assert len({c.id for c in cells}) == len(cells)


def test_release_holds_no_reference_code(released: Path):
    assignment = load_assignment("regularization")
    assert scan_release(released, assignment) == []
    # Independently: no line of a reference function body (comments dropped, 24+ visible
    # characters), except the lines the stub's compare() docstring tells students to write.
    reference_body = []
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        if line.startswith("    "):
            code = " ".join(line.split("#")[0].split()).rstrip(",")
            if len(code.replace(" ", "")) >= 24:
                reference_body.append(code)
    found = {
        code for code in reference_body if any(code in line for line in released_lines(released))
    }
    assert found == {
        "keras.utils.set_random_seed(seed)",
        "model.fit(x_train, y_train, epochs=epochs, verbose=0)",
        "keras.Input((input_dim,))",
    }
    docstrings = " ".join(
        " ".join((ast.get_docstring(node) or "").split())
        for node in ast.parse(STUB.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef)
    )
    assert all(code in docstrings for code in found)


def test_second_release_is_identical_and_a_full_folder_is_refused(released: Path, tmp_path: Path):
    again = tmp_path / "again"
    proc = release("regularization", again)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert files_of(again) == files_of(released)

    before = files_of(again)
    proc = release("regularization", again)
    assert proc.returncode == 2
    assert "is not empty" in proc.stderr and "--force" in proc.stderr
    assert files_of(again) == before


# ---------------------------------------------------------------- a hidden check

TINY_TOML = """\
[assignment]
title = "Tiny"
module = "tiny"
functions = ["double"]

[limits]
call_timeout = 30
import_timeout = 60
submission_timeout = 120
"""
TINY_STUB = '''\
# %% [markdown]
# # Tiny
#
# Double every value.


# %%
def double(values):
    """Return every value times two, as a list."""
    raise NotImplementedError
'''
LEAKED_LINE = "return [value * 2 for value in values]"


def make_tiny(root: Path) -> Path:
    folder = root / "assignments" / "tiny"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(TINY_TOML)
    (folder / "tiny.py").write_text(TINY_STUB)
    (folder / "test_visible.py").write_text(
        "from grader.checks import check\n\n\n"
        '@check("double", points=1)\n'
        "def test_double_small(submission, reference):\n"
        '    """double([1, 2]) is [2, 4]."""\n'
        "    assert submission.double([1, 2]) == reference.double([1, 2])\n"
    )
    (folder / "test_hidden_edge.py").write_text(
        "from grader.checks import check\n\n\n"
        '@check("double", points=2, hidden=True)\n'
        "def test_double_secret_edge(submission, reference):\n"
        '    """double of an empty list."""\n'
        "    assert submission.double([]) == reference.double([])\n"
    )
    (root / "reference").mkdir()
    (root / "reference" / "tiny.py").write_text(f"def double(values):\n    {LEAKED_LINE}\n")
    return write_course_toml(root, "Tiny course")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = make_tiny(tmp_path_factory.mktemp("tiny-root"))
    out = tmp_path_factory.mktemp("tiny-release") / "tiny"
    proc = release("tiny", out, root=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 hidden checks left out" in proc.stdout
    return root, out


def test_hidden_checks_stay_out_of_the_release(tiny: tuple[Path, Path]):
    root, out = tiny
    files = files_of(out)
    assert sorted(files) == sorted(
        [
            "tiny.py",
            "tiny.ipynb",
            "README.md",
            "checks/assignment.toml",
            "checks/test_visible.py",
            "checks/answers.json",
        ]
    )
    toml = tomllib.loads(files["checks/assignment.toml"].decode())
    assert "checks" not in toml
    assert [c.name for c in load_bundle(out / "checks").checks] == ["test_double_small"]
    everything = b"\n".join(files.values()).decode()
    for secret in ("test_double_secret_edge", "test_hidden_edge", "empty list", LEAKED_LINE):
        assert secret not in everything
    assert "1 of the 3 points" in files["README.md"].decode()
    assert scan_release(out, load_assignment("tiny", root)) == []


def test_scan_release_catches_leaks(tiny: tuple[Path, Path], tmp_path: Path):
    root, out = tiny
    assignment = load_assignment("tiny", root)
    leaky = tmp_path / "leaky"
    shutil.copytree(out, leaky)
    with (leaky / "tiny.py").open("a") as stub:
        stub.write(f"\n\n# %%\ndef helper(values):\n    {LEAKED_LINE}  # adapted\n")
    (leaky / "README.md").write_text("Also graded: test_double_secret_edge.\n")
    (leaky / "checks" / "test_hidden_edge.py").write_text("")
    problems = scan_release(leaky, assignment)
    assert len(problems) == 3, problems
    assert any(p.startswith("tiny.py, line") and LEAKED_LINE in p for p in problems)
    assert "README.md names the hidden check test_double_secret_edge." in problems
    assert "checks/test_hidden_edge.py names the hidden check file test_hidden_edge." in problems
    # A leak in the stub stops the release before anything is written.
    (root / "assignments" / "tiny" / "tiny.py").write_text(
        TINY_STUB + f"\n\n# %% [markdown]\n# Hint: `{LEAKED_LINE}`\n"
    )
    try:
        with pytest.raises(LeakError, match="repeats line 2 of the reference"):
            write_release(assignment, tmp_path / "refused")
    finally:
        (root / "assignments" / "tiny" / "tiny.py").write_text(TINY_STUB)
    assert not (tmp_path / "refused").exists()


def test_scan_release_refuses_the_course_secret_without_printing_it(
    tiny: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root, out = tiny
    assignment = load_assignment("tiny", root)
    secret = "tiny-course-secret-0123456789abcdef"
    monkeypatch.setenv(SECRET_ENV, secret)
    assert scan_release(out, assignment) == []
    leaky = tmp_path / "leaky"
    shutil.copytree(out, leaky)
    (leaky / "README.md").write_text(f"Seed: {secret}\n")
    (leaky / "checks" / "course-secret").write_text("anything\n")
    problems = scan_release(leaky, assignment)
    assert problems == [
        "README.md holds the course secret: hidden checks' inputs are drawn from it, so "
        "students must never see it.",
        "checks/course-secret holds the course secret: hidden checks' inputs are drawn "
        "from it, so students must never see it.",
    ]
    assert secret not in "".join(problems)
    monkeypatch.delenv(SECRET_ENV)  # no secret at all (tiny has no file): nothing to find
    assert len(scan_release(leaky, assignment)) == 1  # the file, by its name


def test_the_gradescope_autograder_carries_the_course_secret_for_its_hidden_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import zipfile

    from grader.errors import UsageError
    from grader.lms.gradescope import build_autograder

    secret = "gradescope-test-course-secret-0123"
    monkeypatch.setenv(SECRET_ENV, secret)
    names = build_autograder(load_assignment("dropout"), tmp_path / "autograder.zip")
    assert "course-secret" in names  # where the zip's course.toml names it
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        assert archive.read("course-secret").decode() == secret + "\n"
        others = [archive.read(n) for n in archive.namelist() if n != "course-secret"]
    assert not [data for data in others if secret.encode() in data]
    # Hidden checks that draw from a secret nobody set: refused before anything is written.
    monkeypatch.setenv(SECRET_ENV, "short")
    with pytest.raises(UsageError, match="too short"):
        build_autograder(load_assignment("dropout"), tmp_path / "refused.zip")
    assert not (tmp_path / "refused.zip").exists()


def test_the_student_readme_is_wrapped():
    text = release_readme(load_assignment("dropout"))
    prose = [line for line in text.splitlines() if not line.startswith(("|", ".venv", "python3"))]
    assert max(map(len, prose)) <= 88
    assert "Not both, and not the `checks/` folder." in text
