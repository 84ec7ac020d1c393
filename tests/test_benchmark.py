"""The speed benchmark keeps working: the chosen ways run at a tiny N and report, with
issue 15's targets and the "no growth" comparison in lines that parse.

Its timings are read from full runs on a quiet machine (README, "Performance"), never
asserted here; what is asserted is that the figures are printed, parse, and that each
verdict agrees with its figure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGET = re.compile(r"^target (?P<what>.+): measured (?P<value>.+) -> (?P<verdict>met|NOT met)$")
GROWTH = re.compile(
    r"^no growth: (?P<what>.+): early (?P<early>[\d.]+) (?P<unit>s|MB), late (?P<late>[\d.]+) "
    r"(?P=unit): ratio late/early = (?P<ratio>[\d.]+|inf) -> (?P<verdict>met|NOT met) \(.+\)$"
)


def _bench():
    spec = importlib.util.spec_from_file_location(
        "grading_speed", ROOT / "benchmarks" / "grading_speed.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "benchmarks/grading_speed.py", *args],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_the_benchmark_grades_the_chosen_ways_and_prints_the_targets(tmp_path):
    work = tmp_path / "work"
    proc = _run("--n", "2", "--ways", "grader2,grader-2-warm,pytest,kernel", "--keep", str(work))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout.splitlines()
    table = [line for line in out if line.startswith("| ")]
    assert table[0].startswith("| way | median s/submission | p90 | total wall s")
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in table[1:]}
    cold, warm = "grader, 2 workers", "grader, 2 workers, rerun (cache warm)"
    assert list(rows) == [cold, warm, "fresh pytest", "fresh kernel"]  # no 1 worker, no dask
    walls = {}
    for way, row in rows.items():
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(float(c) > 0 for c in cells[1:5]), row
        walls[way] = float(cells[3])
        assert "MB" not in cells[5] and cells[5], row  # peak memory per kind of process
    for kind in ("grader CLI", "grading process", "template", "worker"):
        assert kind in rows[cold], rows[cold]  # even with "pytest" in the submissions' paths
    assert "pytest" not in rows[cold] and "pytest" in rows["fresh pytest"]
    assert "kernel" in rows["fresh kernel"]
    assert "every way gave every student the same score" in proc.stdout
    assert "cache warm vs cold (2 workers):" in proc.stdout

    targets = {m["what"]: m for m in map(TARGET.match, out) if m}
    for way in (cold, warm):
        for baseline, times in (("fresh kernel", 5), ("fresh pytest", 3)):
            found = targets[f"{way} vs {baseline} >= {times}x throughput"]
            ratio = float(found["value"].removesuffix("x"))
            # The table's walls, rounded to 0.1 s, give the same ratio.
            assert ratio == pytest.approx(walls[baseline] / walls[way], rel=0.05, abs=0.02)
            assert found["verdict"] == ("met" if ratio >= times else "NOT met")
    projected = targets[f"1000 submissions in < 15 min ({cold})"]
    seconds = float(projected["value"].split(" s ")[0])
    assert seconds == pytest.approx(walls[cold] * 500, rel=0.01)
    assert projected["verdict"] == ("met" if seconds < 900 else "NOT met")
    rss = targets["peak RSS of any grading process <= 768 MB"]
    megabytes = float(rss["value"].split(" MB")[0])
    assert megabytes > 50 and rss["verdict"] == ("met" if megabytes <= 768 else "NOT met")
    same = targets["every way gives every student the same score"]
    assert (same["value"], same["verdict"]) == ("0 students differ", "met")

    growth = {m["what"]: m for m in map(GROWTH.match, out) if m}
    assert any(what.startswith("median s per submission graded") for what in growth)
    for kind in ("grading process", "template", "grader CLI"):
        assert float(growth[f"peak RSS of a {kind}"]["early"]) > 10
    assert all(line.startswith("no growth: ") == bool(GROWTH.match(line)) for line in out)

    students = sorted(p.name for p in (work / "submissions").iterdir())
    assert students == ["s000-alice", "s001-bob"]
    for folder in ("out-2", "out-2-warm"):
        graded = json.loads((work / folder / "results.json").read_text())["students"]
        assert [s["student"] for s in graded] == students
    for way in ("pytest", "kernel"):
        assert sorted(p.stem for p in (work / way).glob("*.json")) == students
    assert not (work / "out-1").exists()


def test_the_ways_are_chosen_by_name_in_a_fixed_order_and_dask_needs_a_scheduler():
    bench = _bench()
    assert bench.choose_ways(None, None) == list(bench.DEFAULT_WAYS)
    assert "dask" not in bench.DEFAULT_WAYS
    assert bench.choose_ways(None, "tcp://h:8786")[-1] == "dask"
    assert bench.choose_ways("grader-2-warm, grader2", None) == ["grader-2", "grader-2-warm"]
    assert bench.choose_ways("Kernel,dask", "tcp://h:8786") == ["kernel", "dask"]
    for ways, scheduler in (("grader-3", None), ("", None), ("dask", None)):
        with pytest.raises(click.UsageError):
            bench.choose_ways(ways, scheduler)
    # On the command line, before any grading starts.
    proc = _run("--n", "2", "--ways", "grader2,nope")
    assert proc.returncode == 2 and "Unknown ways: nope" in proc.stderr


def test_the_cache_is_cleared_whether_or_not_it_exists(tmp_path, monkeypatch):
    bench = _bench()
    monkeypatch.setattr(bench, "CACHE", tmp_path / ".grader-cache")
    bench.clear_cache()
    (tmp_path / ".grader-cache" / "sub").mkdir(parents=True)
    (tmp_path / ".grader-cache" / "sub" / "entry.json").write_text("{}")
    bench.clear_cache()
    assert not (tmp_path / ".grader-cache").exists()


def _outcome(bench, way, wall, scores=None, memory=None, **extra):
    return bench.Outcome(way, wall, [1.0], scores or {"a": 1.0}, memory or {}, **extra)


def test_targets_and_growth_verdicts_follow_the_figures():
    bench = _bench()
    outcomes = [
        _outcome(bench, "grader, 2 workers", 10.0, memory={"grading process": 800.0}, workers=2),
        _outcome(bench, "fresh kernel", 60.0),
        _outcome(bench, "fresh pytest", 20.0, scores={"a": 0.5}),
    ]
    lines = {
        m["what"]: (m["value"], m["verdict"])
        for m in map(TARGET.match, bench.targets(outcomes, 60))
        if m
    }
    assert lines["grader, 2 workers vs fresh kernel >= 5x throughput"] == ("6.00x", "met")
    assert lines["grader, 2 workers vs fresh pytest >= 3x throughput"] == ("2.00x", "NOT met")
    assert lines["1000 submissions in < 15 min (grader, 2 workers)"][1] == "met"  # 166.7 s
    assert lines["peak RSS of any grading process <= 768 MB"] == (
        "800 MB (grading process)",
        "NOT met",
    )
    assert lines["every way gives every student the same score"] == ("1 students differ", "NOT met")

    # Two workers, 1 s per submission; from the 41st on each worker waits 0.5 s, not 0.1 s.
    finishes, timeline = [], []
    for worker in range(2):
        at = worker * 0.5
        for i in range(50):
            at += (0.1 if i < 40 else 0.5) + 1.0
            finishes.append((at, 1.0))
    finishes.sort()
    for tick in range(0, 700):
        at = tick / 10
        timeline.append(bench.Sample(at, {"grading process": 600.0 + (at > 50) * 200}, at / 100))
    run = bench.Outcome("grader, 2 workers", 70.0, [1.0] * 100, {}, {}, started=-1.0, workers=2,
                        finishes=finishes, timeline=timeline)  # fmt: skip
    growth = {m["what"]: m for m in map(GROWTH.match, bench.growth(run)) if m}
    assert (
        growth["median s per submission graded, first vs last 10 of 100 (grader, 2 workers)"][
            "verdict"
        ]
        == "met"
    )
    waits = growth["median s a worker waits between two submissions, first vs last 10"]
    assert (waits["early"], waits["late"], waits["verdict"]) == ("0.100", "0.500", "NOT met")
    memory = growth["peak RSS of a grading process"]
    assert (memory["early"], memory["late"], memory["verdict"]) == ("600.0", "800.0", "NOT met")


def test_the_similarity_benchmark_runs_and_meets_its_targets():
    # A small class: the labelled corpus, precision and recall, and the timing lines.
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "similarity_benchmark.py"), "--n", "60"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "precision 1.000" in proc.stdout and "recall 1.000" in proc.stdout, proc.stdout
    assert "flagged at the threshold: 0 -> met" in proc.stdout
    assert "compared in under a minute: measured" in proc.stdout
