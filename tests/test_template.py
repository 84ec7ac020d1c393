"""Tests for the worker template: workers forked from a process that imported TensorFlow.

What must hold: workers really are forked from it, a template that a student kills or
stops is replaced without costing the next student anything, and under bubblewrap
nothing a student leaves behind (processes, files in /tmp) reaches the next one.
"""

from __future__ import annotations

import contextlib
import os
import textwrap
import time
from pathlib import Path

import pytest

from grader.errors import StudentCrash, StudentError
from grader.sandbox import template as template_module
from grader.sandbox.client import Limits, Worker
from grader.sandbox.isolation import Isolation, detect
from grader.sandbox.template import Template, TemplateError, template_for

MODULE = "regularization"
LIMITS = Limits(call_timeout=20, import_timeout=60, submission_timeout=300)
BUBBLEWRAP = Isolation("bubblewrap")
needs_bubblewrap = pytest.mark.skipif(
    detect() != "bubblewrap", reason="bubblewrap is not available here"
)

STUDENT = textwrap.dedent(
    """
    import os
    import signal
    import subprocess
    import sys
    import time


    def parent():
        return os.getppid()


    def tensorflow_was_imported_before_me():
        return "tensorflow" in sys.modules and "keras" in sys.modules


    def kill_parent():
        os.kill(os.getppid(), signal.SIGKILL)
        return 1


    def stop_parent():
        os.kill(os.getppid(), signal.SIGSTOP)
        return 1


    def leave_a_file(path):
        with open(path, "w") as handle:
            handle.write("left behind")
        return os.path.exists(path)


    def exists(path):
        return os.path.exists(path)


    def daemon(marker):
        # Leaves the worker's process group: only the sandbox-wide sweep reaches it.
        process = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)", marker],
            start_new_session=True,
        )
        return process.pid


    def exit_leaving_a_child(marker):
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker])
        os._exit(3)


    def processes_with(marker):
        found = []
        for pid in os.listdir("/proc"):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    if marker.encode() in handle.read():
                        found.append(int(pid))
            except OSError:
                pass
        return found


    def plant_modules():
        # Every folder a later worker imports from, and every folder above them.
        planted = []
        folders = {p or os.getcwd() for p in sys.path}
        for folder in list(folders):
            parts = folder.split(os.sep)
            folders.update(os.sep.join(parts[:i]) or "/" for i in range(2, len(parts)))
        for folder in sorted(folders):
            try:
                with open(os.path.join(folder, "planted_by_a_student.py"), "w") as handle:
                    handle.write("PLANTED = True")
                planted.append(folder)
            except OSError:
                pass
        return planted


    def can_import_planted():
        try:
            import planted_by_a_student  # noqa: F401
        except ImportError:
            return False
        return True


    def read_parent_memory():
        with open(f"/proc/{os.getppid()}/environ", "rb") as handle:
            return len(handle.read())
    """
)


def write_student(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{MODULE}.py"
    path.write_text(STUDENT)
    return path


@pytest.fixture
def student(tmp_path: Path) -> Path:
    return write_student(tmp_path / "student")


def test_workers_are_forked_from_one_template_with_tensorflow_imported(student):
    template = template_for(Isolation())
    with Worker(student, MODULE, LIMITS) as first:
        assert first.call("tensorflow_was_imported_before_me").value is True
        assert first.call("parent").value == template._process.pid
    with Worker(student, MODULE, LIMITS) as second:
        assert second.call("parent").value == template._process.pid
    assert template_for(Isolation()) is template


@pytest.mark.parametrize("attack", ["kill_parent", "stop_parent"])
def test_a_template_the_student_kills_or_stops_is_replaced(student, monkeypatch, attack):
    monkeypatch.setattr(template_module, "REQUEST_TIMEOUT", 2.0)  # a stopped one: its wait
    template = template_for(Isolation())
    with Worker(student, MODULE, LIMITS) as worker:
        worker.call(attack)
    assert not template.alive
    with Worker(student, MODULE, LIMITS) as worker:
        assert worker.call("parent").value != template._process.pid
        assert worker.call("tensorflow_was_imported_before_me").value is True


def test_a_template_that_cannot_start_is_the_graders_fault(monkeypatch):
    monkeypatch.setattr(template_module, "_BOOT", "import sys; sys.exit(3)")
    broken = Template(Isolation(), start_timeout=30)
    try:
        with pytest.raises(TemplateError, match="exited"):
            broken.spawn(
                module=MODULE,
                source=Path("x.py"),
                cwd=Path("."),
                home=Path("."),
                memory_mb=512,
                cpu_seconds=10,
                fds=(0, 1, 2),
            )
        assert not broken.alive
    finally:
        broken.close()
    assert not broken.root.exists()
    assert not issubclass(TemplateError, StudentCrash)  # never costs the student points


def test_each_worker_has_its_own_scratch_folder_removed_at_close(student):
    with Worker(student, MODULE, LIMITS) as first, Worker(student, MODULE, LIMITS) as second:
        first.call("parent")
        second.call("parent")
        assert first._scratch != second._scratch
        scratches = [first._scratch, second._scratch]
        assert all(s is not None and s.is_dir() for s in scratches)
    assert not any(s is not None and s.exists() for s in scratches)


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
    return found


def test_a_worker_that_exits_on_its_own_takes_its_process_group_along(student):
    marker = f"orphan-{os.getpid()}-{time.time_ns()}"
    with Worker(student, MODULE, LIMITS) as worker, pytest.raises(StudentCrash) as info:
        worker.call("exit_leaving_a_child", marker)
    assert "exit code 3" in str(info.value)
    deadline = time.monotonic() + 5
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []


@needs_bubblewrap
def test_nothing_in_the_sandbox_tmp_reaches_the_next_student(student):
    with Worker(student, MODULE, LIMITS, BUBBLEWRAP) as worker:
        assert worker.call("leave_a_file", "/tmp/left-behind").value is True
        assert worker.call("leave_a_file", "/dev/shm/left-behind").value is True
    with Worker(student, MODULE, LIMITS, BUBBLEWRAP) as worker:
        assert worker.call("exists", "/tmp/left-behind").value is False
        assert worker.call("exists", "/dev/shm/left-behind").value is False


@needs_bubblewrap
def test_no_module_a_student_plants_is_imported_by_the_next_student(student):
    # Only the worker's own scratch folder (removed after it) and /tmp (emptied) are
    # writable; the folders that hide the machine are read-only.
    with Worker(student, MODULE, LIMITS, BUBBLEWRAP) as worker:
        planted = worker.call("plant_modules").value
        assert all(p.startswith("/tmp") for p in planted), planted
    with Worker(student, MODULE, LIMITS, BUBBLEWRAP) as worker:
        assert worker.call("can_import_planted").value is False


@needs_bubblewrap
def test_a_daemon_outside_the_workers_group_dies_before_the_next_student(student):
    marker = f"daemon-{os.getpid()}-{time.time_ns()}"
    with Worker(student, MODULE, LIMITS, BUBBLEWRAP) as worker:
        worker.call("daemon", marker)
        assert worker.call("processes_with", marker).value
    with Worker(student, MODULE, LIMITS, BUBBLEWRAP) as worker:
        assert worker.call("processes_with", marker).value == []


@needs_bubblewrap
def test_a_worker_cannot_read_its_templates_memory(student):
    with Worker(student, MODULE, LIMITS, BUBBLEWRAP) as worker:
        with pytest.raises(StudentError) as info:
            worker.call("read_parent_memory")
        assert "PermissionError" in str(info.value)


@needs_bubblewrap
def test_a_student_who_kills_the_bubblewrapped_template_costs_the_next_one_nothing(student):
    with Worker(student, MODULE, LIMITS, BUBBLEWRAP) as worker:
        # The template's death takes its whole sandbox along, this worker included
        # (it may or may not have answered first).
        with contextlib.suppress(StudentCrash):
            worker.call("kill_parent")
        killed = worker._template
    assert killed is not None and not killed.alive
    with Worker(student, MODULE, LIMITS, BUBBLEWRAP) as worker:
        assert worker.call("exists", "/").value is True


def test_closing_the_templates_kills_them():
    template = template_for(Isolation())
    template._wait_ready()
    pid = template._process.pid
    template_module.close_templates()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
