"""The speed benchmark keeps working: every way runs at a tiny N and reports.

Only that it runs and reports, and that all ways agree on the scores; its timings are
read from a full run on a quiet machine (README, "Performance"), never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAYS = ("grader, 1 worker", "grader, 2 workers", "fresh pytest", "fresh kernel")


def test_the_benchmark_grades_every_way_and_prints_the_comparison(tmp_path):
    work = tmp_path / "work"
    proc = subprocess.run(
        [sys.executable, "benchmarks/grading_speed.py", "--n", "2", "--keep", str(work)],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| way | median s/submission | p90 | total wall s")
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in table[1:]}
    assert set(rows) == set(WAYS)
    for row in rows.values():
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(float(c) > 0 for c in cells[1:5]), row
        assert "MB" not in cells[5] and cells[5], row  # peak memory per kind of process
    assert "grading process" in rows["grader, 1 worker"]
    assert "worker" in rows["grader, 1 worker"]
    assert "kernel" in rows["fresh kernel"]
    assert "grader, 2 workers vs fresh kernel:" in proc.stdout
    assert "grader, 2 workers vs fresh pytest:" in proc.stdout
    assert "2 workers vs 1:" in proc.stdout
    assert "every way gave every student the same score" in proc.stdout
    # The submissions it made, and what each way wrote for them.
    students = sorted(p.name for p in (work / "submissions").iterdir())
    assert students == ["s000-alice", "s001-bob"]
    graded = json.loads((work / "out-2" / "results.json").read_text())["students"]
    assert [s["student"] for s in graded] == students
    for way in ("pytest", "kernel"):
        assert sorted(p.stem for p in (work / way).glob("*.json")) == students
