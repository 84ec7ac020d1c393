"""A grading process that dies mid-run costs the classmates queued behind it nothing.

A submission that kills its grading process (possible at the ``limits`` level, where the
worker runs as the grader's user) breaks the pool of grading processes. The students that
pool's processes were grading then are graded again, each alone; the students none had
started go back to a shared pool; the submission whose lone grading process dies too is
named as the cause. The first test does it for real, with ``grade_class``; the others
drive the same loop with plain functions (no TensorFlow), to prove it always ends.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

from grader.assignment import load_assignment
from grader.engine.runner import _CULPRIT, RunOptions, _run_jobs, _take_records, grade_class
from grader.sandbox.isolation import Isolation
from grader.submissions import discover

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "regularization"

# Student code: the pid of the grading process above this worker. The worker's parent is
# the template; walking up, whatever sits in between, stops at the first spawned process.
FIND_GRADING_PROCESS = """
import os as _os


def _grading_process():
    pid = _os.getpid()
    while pid > 1:
        with open(f"/proc/{pid}/stat", "rb") as f:
            pid = int(f.read().rsplit(b")", 1)[1].split()[1])
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"spawn_main" in f.read():
                return pid
    raise RuntimeError("no grading process above this worker")


with open(LOG, "a") as _log:
    _log.write(f"{NAME} {_grading_process()}\\n")


def _graded():
    with open(LOG) as f:
        return [line.split()[0] for line in f]


def _wait_for(name):
    import time as _time

    until = _time.monotonic() + WAIT
    while name not in _graded() and _time.monotonic() < until:
        _time.sleep(0.05)
"""

# Only once the classmate is surely being graded beside it.
KILL_IT = """
import signal as _signal

_wait_for("alice")
_os.kill(_grading_process(), _signal.SIGKILL)
"""

# The first time it is graded, a classmate waits until the culprit is being graded beside
# it (the log names it): so it is surely in flight when its grading process is killed.
WAIT_FOR_CULPRIT = """
import time as _time

if _graded().count(NAME) == 1:
    _wait_for("bad")
    _time.sleep(2)
"""


# On a loaded machine the culprit's grading process may take minutes to get there.
WAIT = 400


def logged(name: str, log: Path) -> str:
    return f"LOG = {str(log)!r}\nNAME = {name!r}\nWAIT = {WAIT}\n{FIND_GRADING_PROCESS}"


def test_a_submission_that_kills_its_grading_process_costs_its_classmates_nothing(tmp_path):
    log = tmp_path / "imports.log"
    klass = tmp_path / "class"
    alice = (EXAMPLES / "alice" / "regularization.py").read_text(encoding="utf-8")
    heidi = (EXAMPLES / "heidi" / "regularization.py").read_text(encoding="utf-8")
    # Sorted, so alice and bad go first, side by side; bob waits, handed to the pool but
    # not started. Each logs the grading process its worker runs under, so the test sees
    # who was graded where.
    sources = {
        "alice": WAIT_FOR_CULPRIT + alice,  # correct
        "bad": KILL_IT,
        "bob": heidi,  # unfinished: two functions done, cheap to grade
    }
    for name, source in sources.items():
        (klass / name).mkdir(parents=True)
        (klass / name / "regularization.py").write_text(
            logged(name, log) + source, encoding="utf-8"
        )
    assignment = load_assignment("regularization")
    submissions = list(discover(klass, assignment.module).submissions)
    out = tmp_path / "out"
    limits = replace(assignment.limits, import_timeout=WAIT + 60)
    options = RunOptions(out_dir=out, workers=2, limits=limits, isolation=Isolation("limits"))
    run = grade_class(assignment, submissions, options)

    # Who was graded where: (student, grading process), in the order their workers ran.
    lines = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    imports = [(name, int(pid)) for name, pid in lines]
    times = Counter(name for name, _ in imports)
    hosted = Counter(pid for _, pid in imports)
    first = {name: pid for name, pid in reversed(imports)}
    last = {name: pid for name, pid in imports}
    # alice was being graded when bad killed its grading process: graded again, alone.
    # bad: alone with alice's lone process beside it, then alone on the machine, and blamed.
    # bob had not started: graded once.
    assert times == {"alice": 2, "bad": 3, "bob": 1}, imports
    assert first["alice"] != first["bad"], imports
    assert hosted[last["alice"]] == hosted[last["bad"]] == 1, imports

    # Every classmate gets exactly what it earns; bad gets the grader's 0/0, naming it.
    by_name = {s.student: s for s in run.students}
    assert sorted(by_name) == sorted(sources)
    done = {"l2_dense", "l1_dense"}
    unfinished = sum(c.points for c in assignment.checks if c.function in done)
    for name, score in (("alice", assignment.max_score), ("bob", unfinished)):
        result = by_name[name]
        assert (result.status, result.score, result.max_score, result.error) == (
            "graded",
            score,
            assignment.max_score,
            None,
        ), (name, result.error)
        passed = {c.function for c in result.checks if c.status == "passed"}
        assert passed == (set(assignment.functions) if name == "alice" else done), name
    bad = by_name["bad"]
    assert (bad.status, bad.score, bad.max_score, bad.error) == ("error", 0, 0, _CULPRIT)
    assert bad.checks and all(c.status == "error" and not c.counted for c in bad.checks)
    written = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [s["student"] for s in written["students"]] == sorted(sources)
    assert json.loads((out / "students" / "bad.json").read_text(encoding="utf-8"))["error"] == (
        _CULPRIT
    )


# ------------------------------------------------ the loop, driven with plain functions
# These run in spawned processes, which import this module by name.


def _note(folder: str, what: str) -> None:
    with open(os.path.join(folder, "runs.log"), "a") as log:
        log.write(f"{what} {os.getpid()}\n")


def _job(folder: str, name: str) -> str:
    _note(folder, name)
    if name == "culprit":
        os._exit(9)  # the grading process dies, as if killed
    if name == "a" and [n for n, _ in runs_of(Path(folder))].count("a") == 1:
        # Surely still running when the culprit's process dies beside it.
        until = time.monotonic() + 30
        while "culprit" not in dict(runs_of(Path(folder))) and time.monotonic() < until:
            time.sleep(0.02)
        time.sleep(1)
    return name.upper()


def _fine_start() -> None:
    pass


def _broken_start() -> None:
    raise RuntimeError("this initializer always fails")


class Outcomes:
    def __init__(self) -> None:
        self.values: dict[int, str] = {}
        self.deaths: dict[int, bool] = {}

    def finished(self, job: int, future: Future[str]) -> None:
        assert job not in self.values and job not in self.deaths
        self.values[job] = future.result()

    def died(self, job: int, running_it: bool) -> None:
        assert job not in self.values and job not in self.deaths
        self.deaths[job] = running_it


def runs_of(folder: Path) -> list[tuple[str, int]]:
    path = folder / "runs.log"
    if not path.exists():
        return []
    return [(n, int(p)) for n, p in (line.split() for line in path.read_text().splitlines())]


def test_only_the_culprit_is_blamed_and_the_queue_is_not_run_alone(tmp_path):
    names = ["a", "culprit", "b", "c", "d"]
    outcomes = Outcomes()
    jobs = [(str(tmp_path), name) for name in names]
    _run_jobs(jobs, _job, 2, (_fine_start, ()), outcomes.finished, outcomes.died)
    assert outcomes.values == {0: "A", 2: "B", 3: "C", 4: "D"}
    assert outcomes.deaths == {1: True}
    runs = runs_of(tmp_path)
    hosted = Counter(pid for _, pid in runs)
    last = {n: pid for n, pid in runs}
    # a ran beside the culprit: again, alone. The culprit: alone beside a's lone process,
    # then alone. The queue ran once, in a shared pool.
    assert Counter(n for n, _ in runs) == {"a": 2, "culprit": 3, "b": 1, "c": 1, "d": 1}, runs
    assert hosted[last["a"]] == hosted[last["culprit"]] == 1, runs
    assert len({last[n] for n in "bcd"}) <= 2 and max(hosted[last[n]] for n in "bcd") > 1, runs


def test_a_pool_that_breaks_for_no_student_still_ends(tmp_path):
    outcomes = Outcomes()
    jobs = [(str(tmp_path), name) for name in ("a", "b", "c")]
    started = time.monotonic()
    _run_jobs(jobs, _job, 2, (_broken_start, ()), outcomes.finished, outcomes.died)
    # Nobody ran, nobody is blamed: each is the grader's fault, once.
    assert outcomes.deaths == {0: False, 1: False, 2: False}
    assert outcomes.values == {}
    assert runs_of(tmp_path) == []
    assert time.monotonic() - started < 60


def test_the_record_folder_is_private_and_removed(tmp_path, monkeypatch):
    import tempfile

    made: list[str] = []
    real = tempfile.mkdtemp

    def spy(*args, **kwargs):
        folder = real(*args, **kwargs)
        made.append(folder)
        assert os.stat(folder).st_mode & 0o777 == 0o700
        return folder

    monkeypatch.setattr(tempfile, "mkdtemp", spy)
    outcomes = Outcomes()
    _run_jobs([(str(tmp_path), "b")], _job, 1, (_fine_start, ()), outcomes.finished, outcomes.died)
    assert outcomes.values == {0: "B"}
    ours = [f for f in made if os.path.basename(f).startswith("grader-running-")]
    assert len(ours) == 1 and not os.path.exists(ours[0])


def test_records_planted_by_a_worker_are_skipped_without_blocking(tmp_path):
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "101").write_text("3\n")
    (folder / "102").write_text("not a job\n")
    (folder / "103").write_text("7" * 100_000)  # read no further than a job number
    os.mkfifo(folder / "104")  # opening it must not wait for a writer
    (folder / "105").symlink_to(folder / "101")
    (folder / "106").mkdir()
    assert _take_records(str(folder)) == {3}
    assert [p.name for p in folder.iterdir()] == ["106"]
    assert _take_records(str(tmp_path / "gone")) == set()
