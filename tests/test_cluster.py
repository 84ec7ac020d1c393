"""`grader run --scheduler`: grading on a real Dask cluster.

A real `dask scheduler` and `dask worker` processes on 127.0.0.1, each started here and
stopped after; the client is the real CLI. The example class graded through two workers,
one killed with SIGKILL mid-run, must come out as a local run's; workers that would
grade differently (other software, weaker isolation) are refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_examples import EVERY_CHECK, EXPECTED

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "regularization"


def _dask(*args: str) -> list[str]:
    # The dask CLI of this interpreter's environment.
    return [str(Path(sys.executable).parent / "dask"), *args]


class Cluster:
    """A scheduler and its workers, each a process group of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        file = folder / "scheduler.json"
        self._start(
            "scheduler",
            _dask(
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(file),
            ),
        )
        deadline = time.monotonic() + 60
        while not file.is_file() or not file.read_text():
            assert time.monotonic() < deadline, self.log("scheduler")
            time.sleep(0.2)
        time.sleep(0.2)  # written whole
        self.address: str = json.loads(file.read_text())["address"]

    def _start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            env=env,
            start_new_session=True,
        )
        log.close()

    def worker(self, name: str, env: dict[str, str] | None = None, *extra: str) -> None:
        # The reference's answers are cached here, not in this user's ~/.cache.
        env = {**(env or os.environ), "XDG_CACHE_HOME": str(self.folder / "cache")}
        self._start(
            name,
            _dask(
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                name,
                "--local-directory",
                str(self.folder / name),
                *extra,
            ),
            env=env,
        )

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=90)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-3000:]

    def kill(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait()

    def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def grader_run(*args: str) -> list[str]:
    return [sys.executable, "-m", "grader", "--course", str(ROOT), "run", *args]


def test_a_cluster_grades_like_a_local_run_though_a_worker_is_killed(cluster, tmp_path):
    cluster.worker("w1")
    cluster.worker("w2")
    cluster.wait_for_workers(2)
    out = tmp_path / "out"
    client = subprocess.Popen(
        grader_run(str(EXAMPLES), "--out", str(out), "--scheduler", cluster.address),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Kill one worker once the class is under way: what it was grading goes elsewhere.
    deadline = time.monotonic() + 400
    while len(list((out / "students").glob("*.json"))) < 2:
        assert client.poll() is None, client.communicate()[0][-3000:]
        assert time.monotonic() < deadline, cluster.log("w1") + cluster.log("w2")
        time.sleep(0.2)
    cluster.kill("w1")
    output, _ = client.communicate(timeout=600)
    assert client.returncode == 0, output[-3000:]
    assert "on the Dask cluster at " + cluster.address in output

    results = json.loads((out / "results.json").read_text())
    students = {s["student"]: s for s in results["students"]}
    assert sorted(students) == sorted(EXPECTED)  # each once
    for name, (status, failing) in EXPECTED.items():
        student = students[name]
        assert student["status"] == status, name
        failed = {c["name"] for c in student["checks"] if c["status"] != "passed"}
        if status == "graded":
            assert failed == failing, name
            assert {c["name"] for c in student["checks"]} == EVERY_CHECK, name
    assert results["isolation"] in ("bubblewrap", "landlock")
    assert results["cluster"]["scheduler"] == cluster.address
    assert results["cluster"]["workers"]
    summary = (out / "summary.html").read_text()
    assert cluster.address in summary
    # One result file per student.
    assert len(list((out / "students").glob("*.json"))) == len(EXPECTED)

    # A rerun into the same folder resumes everyone.
    again = subprocess.run(
        grader_run(str(EXAMPLES), "--out", str(out), "--scheduler", cluster.address),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    resumed = " ".join((again.stdout + again.stderr).split())
    assert f"Resuming: {len(EXPECTED)} already graded, 0 to grade" in resumed


# Dask's own threads draw from Python's global random generator (retry jitter, connect
# backoff, a peer to fetch from), more so under load and around a worker's death. Keras
# seeds each layer's initializer from that generator, so a draw between the reference's
# set_random_seed and its build_model changed the reference's answer.
_BUSY_RANDOM = """
import random, sys, threading, time

def _draw():
    while True:
        random.random()
        time.sleep(0)

sys.setswitchinterval(1e-5)
threading.Thread(target=_draw, daemon=True).start()
"""


def test_threads_of_the_dask_worker_cannot_change_the_reference(cluster, tmp_path):
    preload = tmp_path / "busy_random.py"
    preload.write_text(_BUSY_RANDOM)
    cluster.worker("busy", None, "--preload", str(preload))
    cluster.wait_for_workers(1)
    submissions = tmp_path / "class"
    submissions.mkdir()
    shutil.copy(EXAMPLES / "bob.py", submissions / "bob.py")
    out = tmp_path / "out"
    run = subprocess.run(
        grader_run(
            str(submissions),
            "--assignment",
            "regularization",
            "--out",
            str(out),
            "--scheduler",
            cluster.address,
        ),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (bob,) = json.loads((out / "results.json").read_text())["students"]
    wrong = {c["name"]: c["message"] for c in bob["checks"] if c["status"] != "passed"}
    assert not wrong  # compare's checks among them: the reference's gaps were others


def odd_worker_env(**changes: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(changes)
    return env


def refused(out: Path, scheduler: str, *extra: str, env: dict[str, str] | None = None) -> str:
    """What `grader run` said when it refused to grade (exit 2, nothing written)."""
    proc = subprocess.run(
        [*grader_run(str(EXAMPLES), "--out", str(out)), "--scheduler", scheduler, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 2, text
    assert not (out / "results.json").exists()
    return text


def test_workers_that_would_grade_differently_are_refused(cluster, tmp_path):
    # Another grader version (a preload stands in for an older install) and oneDNN on.
    preload = tmp_path / "older_grader.py"
    preload.write_text("import grader\ngrader.__version__ = '0.0.1'\n")
    cluster.worker("odd", odd_worker_env(TF_ENABLE_ONEDNN_OPTS="1"), "--preload", str(preload))
    cluster.wait_for_workers(1)
    text = refused(tmp_path / "out", cluster.address)
    assert "Refusing to grade on this cluster" in text
    assert "grader 0.0.1" in text and "onednn 1 (here 0)" in text


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap here")
def test_a_worker_that_cannot_isolate_as_required_is_refused(cluster, tmp_path):
    # A worker machine without bubblewrap: no bwrap on its PATH.
    bare = tmp_path / "bin"
    bare.mkdir()
    cluster.worker("nobwrap", odd_worker_env(PATH=str(bare)))
    cluster.wait_for_workers(1)
    text = refused(tmp_path / "out", cluster.address, "--isolation", "bubblewrap")
    assert "'bubblewrap' is not available on every worker" in text
    assert "offers limits, landlock" in text


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    text = refused(tmp_path / "out", "tcp://127.0.0.1:9", env=env)
    assert "Cannot reach the Dask scheduler at tcp://127.0.0.1:9" in text
