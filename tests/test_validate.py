"""`grader validate`: the reference scores full marks and the stub zero, without errors."""

from __future__ import annotations

import subprocess
import sys


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
