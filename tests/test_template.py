"""Tests for the worker template: workers forked from a process that imported TensorFlow.

What must hold: workers really are forked from it, a template that a student kills or
stops is replaced without costing the next student anything, and under bubblewrap
nothing a student leaves behind (processes, files in /tmp) reaches the next one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from grader.errors import StudentCrash, StudentError, StudentTimeout
from grader.sandbox import template as template_module
from grader.sandbox.client import Worker
from grader.sandbox.isolation import Isolation, available, detect
from grader.sandbox.limits import Limits
from grader.sandbox.template import Template, TemplateError, template_for

MODULE = "regularization"
LIMITS = Limits(call_timeout=20, import_timeout=60, submission_timeout=300)
BUBBLEWRAP = Isolation("bubblewrap")
needs_bubblewrap = pytest.mark.skipif(
    detect() != "bubblewrap", reason="bubblewrap is not available here"
)
# The levels that keep a student's files and processes from the next student.
STRONG = [
    pytest.param(Isolation(level), id=level)
    for level in ("landlock", "bubblewrap")
    if available(level)
]
EVERY = [pytest.param(Isolation("limits"), id="limits"), *STRONG]

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


    def chain(marker, depth):
        # Each level starts the next and lives on: still growing when grading ends.
        with open("chain.sh", "w") as handle:
            handle.write(
                f'if [ "$2" -lt {depth} ]; then /bin/sh "$0" "$1" $(($2+1)) & fi\\n'
                "while :; do sleep 1; done\\n"
            )
        subprocess.Popen(["/bin/sh", "chain.sh", marker, "0"], start_new_session=True)
        return True


    def many_files(count):
        for i in range(count):
            open(f"f{i}", "w").close()
        time.sleep(5)  # the folder is checked every 50 ms, not at each write
        return count


    def big_files(count, megabytes):
        block = b"x" * (1 << 20)
        for i in range(count):
            with open(f"big{i}", "wb") as handle:
                for _ in range(megabytes):
                    handle.write(block)
        time.sleep(5)
        return count


    def hidden_files(count, megabytes):
        # Written, then removed while still open: no folder scan sees them.
        block = b"x" * (1 << 20)
        kept = []
        for i in range(count):
            handle = open(f"gone{i}", "wb")
            os.unlink(f"gone{i}")
            for _ in range(megabytes):
                handle.write(block)
            handle.flush()
            kept.append(handle)
        time.sleep(5)
        return len(kept)


    def locked_files(count):
        # Below a folder its owner may write but not list.
        os.mkdir("locked", 0o300)
        for i in range(count):
            open(f"locked/f{i}", "w").close()
        time.sleep(5)
        return count


    def deep_files(count):
        # Below a path longer than PATH_MAX.
        for _ in range(20):
            name = "d" * 250
            os.mkdir(name)
            os.chdir(name)
        for i in range(count):
            open(f"f{i}", "w").close()
        time.sleep(5)
        return count


    def shrink_and_stop():
        # The request pipe holds one page; a moment after answering, the worker stops
        # itself, so the grader's next write of a large request can never finish.
        import fcntl
        import threading

        fcntl.fcntl(int(sys.argv[1]), 1031, 4096)  # F_SETPIPE_SZ

        def stop():
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGSTOP)

        threading.Thread(target=stop).start()
        return True


    def echo_size(values):
        return len(values)


    def leave_in_scratch(text):
        with open("../left-for-later", "w") as handle:
            handle.write(text)
        os._exit(5)


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


@pytest.mark.parametrize("isolation", STRONG)
def test_nothing_in_tmp_reaches_the_next_student(student, isolation):
    # Refused outright where Landlock runs; under bubblewrap alone, emptied afterwards.
    with Worker(student, MODULE, LIMITS, isolation) as worker:
        for path in ("/tmp/left-behind", "/dev/shm/left-behind"):
            with contextlib.suppress(StudentError):
                worker.call("leave_a_file", path)
    try:
        with Worker(student, MODULE, LIMITS, isolation) as worker:
            assert worker.call("exists", "/tmp/left-behind").value is False
            assert worker.call("exists", "/dev/shm/left-behind").value is False
    finally:
        for leftover in (Path("/tmp/left-behind"), Path("/dev/shm/left-behind")):
            leftover.unlink(missing_ok=True)


@pytest.mark.parametrize("isolation", STRONG)
def test_no_module_a_student_plants_is_imported_by_the_next_student(student, isolation):
    # Only the worker's own scratch folder (removed after it) and, under bubblewrap
    # without Landlock, its /tmp (emptied) are writable.
    with Worker(student, MODULE, LIMITS, isolation) as worker:
        planted = worker.call("plant_modules").value
        assert all(p.startswith("/tmp") for p in planted), planted
    with Worker(student, MODULE, LIMITS, isolation) as worker:
        assert worker.call("can_import_planted").value is False


@pytest.mark.parametrize("isolation", EVERY)
def test_a_daemon_outside_the_workers_group_dies_before_the_next_student(student, isolation):
    marker = f"daemon-{os.getpid()}-{time.time_ns()}"
    with Worker(student, MODULE, LIMITS, isolation) as worker:
        worker.call("daemon", marker)
        deadline = time.monotonic() + 10
        while not _processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _processes_with(marker)
    assert _processes_with(marker) == []


@pytest.mark.parametrize("isolation", STRONG)
def test_a_worker_cannot_read_its_templates_memory(student, isolation):
    with Worker(student, MODULE, LIMITS, isolation) as worker:
        with pytest.raises(StudentError) as info:
            worker.call("read_parent_memory")
        assert "PermissionError" in str(info.value)


@needs_bubblewrap
def test_a_student_who_kills_the_bubblewrapped_template_costs_the_next_one_nothing(student):
    # Landlock (ABI 6) refuses the signal; where it cannot, the template's death takes
    # its whole sandbox along, this worker included.
    with Worker(student, MODULE, LIMITS, BUBBLEWRAP) as worker:
        with contextlib.suppress(StudentError):
            worker.call("kill_parent")
        killed = worker._template
    assert killed is not None
    with Worker(student, MODULE, LIMITS, BUBBLEWRAP) as worker:
        assert worker.call("exists", "/").value is True


@pytest.mark.parametrize("isolation", STRONG)
def test_a_confined_worker_cannot_signal_its_template(student, isolation):
    if isolation.level == "landlock" or available("landlock"):
        with Worker(student, MODULE, LIMITS, isolation) as worker:
            with pytest.raises(StudentError, match="PermissionError"):
                worker.call("kill_parent")
            template = worker._template
        assert template is not None and template.alive


def test_closing_the_templates_kills_them():
    template = template_for(Isolation())
    template._wait_ready()
    pid = template._process.pid
    template_module.close_templates()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


_FILES = "created more than 10,000 files and folders"
_BYTES = "wrote more than 512 MB of files"
# The same watcher at every level; the confined levels are where it must see into a
# worker of another user (its open files, through /proc).
_FILLS = [
    pytest.param(Isolation("limits"), "many_files", (30_000,), _FILES, id="files"),
    pytest.param(Isolation("limits"), "big_files", (12, 50), _BYTES, id="bytes"),
    *(
        pytest.param(i.values[0], "hidden_files", (12, 50), _BYTES, id=f"removed-{i.id}")
        for i in STRONG[:1]
    ),
    *(
        pytest.param(i.values[0], "deep_files", (30_000,), _FILES, id=f"deep-{i.id}")
        for i in STRONG[:1]
    ),
    # Under bubblewrap the template has no right to read what its user may not.
    *(
        pytest.param(i.values[0], "locked_files", (100,), _FILES, id=f"locked-{i.id}")
        for i in STRONG
        if i.id == "bubblewrap"
    ),
]


@pytest.mark.parametrize(("isolation", "call", "args", "why"), _FILLS)
def test_a_worker_that_fills_its_folder_is_stopped_and_told_why(
    student, isolation, call, args, why
):
    with Worker(student, MODULE, LIMITS, isolation) as worker:
        with pytest.raises(StudentCrash, match=why):
            worker.call(call, *args)
        # The next call gets a fresh worker; the folder is emptied.
        assert worker.call("exists", "f0").value is False
        scratch = worker._scratch
    assert scratch is not None and not scratch.exists()


@pytest.mark.parametrize("isolation", EVERY)
def test_a_growing_chain_of_processes_dies_before_the_next_student(student, isolation):
    marker = f"chain-{os.getpid()}-{time.time_ns()}"
    try:
        with Worker(student, MODULE, LIMITS, isolation) as worker:
            worker.call("chain", marker, 3000)
            # The chain only has to be long; on a loaded machine it grows slowly.
            deadline = time.monotonic() + 90
            while len(_processes_with(marker)) < 100 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(_processes_with(marker)) >= 100
        assert _processes_with(marker) == []
    finally:
        for pid in _processes_with(marker):
            with contextlib.suppress(OSError):
                os.kill(pid, 9)


PYTHON_C = (sys.executable, "-c")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root")
def test_removing_a_tree_a_student_locked_gives_rights_back_only_inside_it():
    # As an ordinary user (the grader's, on a laptop): folders made with mkdir(name, 0)
    # are removed, and the folder holding the tree keeps its mode.
    tmp_path = Path(tempfile.mkdtemp())
    tmp_path.chmod(0o755)  # pytest's own folders are closed to other users
    try:
        _remove_locked_tree(tmp_path)
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(tmp_path)], check=False)
        shutil.rmtree(tmp_path, ignore_errors=True)


def _remove_locked_tree(tmp_path: Path) -> None:
    holder = tmp_path / "holder"
    holder.mkdir(mode=0o755)
    tree = holder / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "f").write_text("x")
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from grader.sandbox.template import remove_tree
        os.chmod({str(tree / "a" / "b")!r}, 0)
        os.chmod({str(tree / "a")!r}, 0o500)
        os.chmod({str(holder)!r}, 0o555)  # removing the tree itself is refused here
        remove_tree({str(tree / "a")!r})
        remove_tree({str(tree)!r}, ignore_errors=True)
        """
    )
    for path in (tmp_path, holder, tree, tree / "a", tree / "a" / "b", tree / "a" / "b" / "f"):
        os.chown(path, 65534, 65534)
    done = subprocess.run(
        [*("setpriv", "--reuid", "65534", "--regid", "65534"), "--clear-groups", *PYTHON_C, script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (tree / "a").exists()
    assert tree.exists()  # its folder is read-only: left, and the folder untouched
    assert stat.S_IMODE(holder.stat().st_mode) == 0o555


def test_a_worker_that_stops_reading_its_requests_times_out(student):
    limits = Limits(call_timeout=3, import_timeout=60, submission_timeout=300)
    with Worker(student, MODULE, limits) as worker:
        assert worker.call("shrink_and_stop").value is True
        time.sleep(1)
        started = time.monotonic()
        with pytest.raises(StudentTimeout):
            worker.call("echo_size", list(range(200_000)))
        assert time.monotonic() - started < 20
        assert worker.call("echo_size", [1, 2]).value == 2  # a fresh worker


@pytest.mark.parametrize("isolation", EVERY[:2])
def test_nothing_a_worker_leaves_in_its_folder_reaches_its_restart(student, isolation):
    with Worker(student, MODULE, LIMITS, isolation) as worker:
        with pytest.raises(StudentCrash):
            worker.call("leave_in_scratch", "what the hidden checks asked")
        assert worker.call("exists", "../left-for-later").value is False


def test_an_import_that_fails_once_hidden_checks_ran_tells_nothing(tmp_path):
    marker = tmp_path / "imported-once"
    source = tmp_path / "student" / f"{MODULE}.py"
    source.parent.mkdir()
    source.write_text(
        textwrap.dedent(
            f"""
            import os
            if os.path.exists({str(marker)!r}):
                raise ImportError("LOOT: l2_dense(85, l2=0.0323)")
            open({str(marker)!r}, "w").close()


            def crash():
                os._exit(3)
            """
        )
    )
    with Worker(source, MODULE, LIMITS) as worker:
        worker.hide_output()
        with pytest.raises(StudentCrash):
            worker.call("crash")
        with pytest.raises(StudentError) as info:
            worker.call("crash")
    text = f"{info.value} {getattr(info.value, 'details', '')}"
    assert "LOOT" not in text and "0.0323" not in text
    assert "could not be imported again" in text
