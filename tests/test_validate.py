"""`grader validate`: the reference scores full marks, the stub and the released notebook
zero without errors, and a release hands out nothing secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    assert "the reference scores 30 / 30" in proc.stderr
    assert "the stub scores 0 / 30" in proc.stderr
    assert "the release holds no line of the reference and names no hidden check" in proc.stderr
    assert "the released notebook scores 0 / 30" in proc.stderr


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
        env={**os.environ, "GRADER_ROOT": str(root)},
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "the reference scores 3 / 3" in proc.stderr
    for leaked in ("tiny.py", "tiny.ipynb"):
        assert f"the release leaks: {leaked} names the hidden check test_double_secret_edge" in (
            proc.stderr
        )
    assert "the released notebook scores 0 / 3" in proc.stderr
