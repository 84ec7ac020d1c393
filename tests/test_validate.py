"""`grader validate`: the reference scores full marks, the stub and the released notebook
zero without errors, and a release hands out nothing secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from regularization_checks import MAX_SCORE
from test_release import TINY_STUB, make_tiny


def test_validate_regularization():
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "validate", "regularization"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    total = MAX_SCORE
    assert f"the reference scores {total} / {total}" in proc.stderr
    assert f"the stub scores 0 / {total}" in proc.stderr
    assert "the release holds no line of the reference and names no hidden check" in proc.stderr
    assert f"the released notebook scores 0 / {total}" in proc.stderr
    # Every graded function has a hidden check on secret inputs: no warning.
    assert "the course secret is set" in proc.stderr
    assert "hard-coding" not in proc.stderr


def test_validate_unknown_assignment_is_a_usage_error():
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "validate", "no-such-assignment"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "regularization" in proc.stderr  # names the assignments that exist


def test_validate_reports_a_leaky_release(tmp_path: Path):
    root = make_tiny(tmp_path)
    stub = root / "assignments" / "tiny" / "tiny.py"
    stub.write_text(TINY_STUB + "\n\n# %% [markdown]\n# test_double_secret_edge: empty lists.\n")
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "validate", "tiny"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "GRADER_COURSE": str(root)},
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "the reference scores 3 / 3" in proc.stderr
    # Its hidden check runs on fixed inputs: a warning, not a problem.
    assert (
        "double: no hidden check draws its inputs from the course secret "
        "(grader.checks.secret.secret_rng), so it can be passed by hard-coding answers."
    ) in " ".join(proc.stderr.split())
    for leaked in ("tiny.py", "tiny.ipynb"):
        assert f"the release leaks: {leaked} names the hidden check test_double_secret_edge" in (
            proc.stderr
        )
    assert "the released notebook scores 0 / 3" in proc.stderr


def test_validate_refuses_secret_inputs_without_a_course_secret(tmp_path: Path):
    root = make_tiny(tmp_path)
    hidden = root / "assignments" / "tiny" / "test_hidden_edge.py"
    hidden.write_text(
        "from grader.checks import check\n"
        "from grader.checks.secret import secret_rng\n\n\n"
        '@check("double", points=2, hidden=True)\n'
        "def test_double_secret_edge(submission, reference):\n"
        '    """double of an empty list."""\n'
        "    values = [int(v) for v in secret_rng('test_double_secret_edge').integers(9, size=3)]\n"
        "    assert submission.double(values) == reference.double(values)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "GRADER_COURSE_SECRET"}
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "validate", "tiny"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**env, "GRADER_COURSE": str(root)},
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "hard-coding" not in proc.stderr  # the function is guarded...
    assert "The course secret is missing" in proc.stderr  # ...by a secret that is not there
