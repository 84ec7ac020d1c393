"""The untrusted side: a worker process that imports and runs one student's module.

Workers are forked from a *template* (``template_main``): a process, inside the same
sandbox, that has imported TensorFlow and Keras but run no TensorFlow operation, so a
fork starts with everything imported (``grader.sandbox.template`` is its trusted
client). A worker reads requests from one pipe and writes replies to another (its
stdout and stderr go to a third, so nothing the student prints can corrupt the
protocol). Every value it sends back is an *answer* in wire format; it never decides
anything.

Requests: ``{"op": "import", "watchdog": seconds}`` and
``{"op": "call", "function", "args", "kwargs", "gradients": bool}``.
Replies: ``{"ok": true, "value": ..., "gradients": [...] | null}`` or
``{"ok": false, "error": {"kind", "type", "message", "traceback"}}``; an import still
running after ``watchdog`` seconds is answered by a watchdog thread with kind
``import_timeout`` and the ``line`` of the student's module it was running.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import importlib.util
import json
import os
import select
import shutil
import signal
import socket
import stat
import sys
import sysconfig
import tempfile
import threading
import time
import traceback
import types
from pathlib import Path
from typing import Any

from grader.sandbox import wire
from grader.sandbox.convert import Converter, configure_tensorflow

__all__ = ["main"]


class _Session:
    def __init__(self, module_name: str, source: Path) -> None:
        configure_tensorflow()
        self.module_name = module_name
        self.source = source
        self.module: types.ModuleType | None = None
        self.convert = Converter()
        self.keras = self.convert.keras

    # -- requests -----------------------------------------------------------------

    def do_import(self) -> dict[str, Any]:
        spec = importlib.util.spec_from_file_location(self.module_name, self.source)
        if spec is None or spec.loader is None:
            return _failure("import", "ImportError", f"cannot load {self.source.name}", "")
        module = importlib.util.module_from_spec(spec)
        # Names IPython gives every cell, for notebooks and for the .py files Jupyter
        # exports from them (`get_ipython().run_line_magic(...)`); the student's own win.
        module.display = _display  # type: ignore[attr-defined]
        module.get_ipython = _get_ipython  # type: ignore[attr-defined]
        sys.modules[self.module_name] = module
        # Demos at the bottom of a file train models at import: seeded like every call,
        # they run under op determinism and give the same answer every time.
        self.keras.utils.set_random_seed(0)
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:  # SystemExit at import is a failed import too
            sys.modules.pop(self.module_name, None)
            return self._exception("import", exc)
        self.module = module
        return {"ok": True, "value": None, "gradients": None}

    def do_call(self, request: dict[str, Any]) -> dict[str, Any]:
        name = str(request["function"])
        function = getattr(self.module, name, None)
        if not callable(function):
            found = "" if function is None else f": {name} is a {type(function).__name__}"
            return _failure("missing", "AttributeError", found, "")
        try:
            args = self.convert.from_plain(wire.decode(request.get("args", [])))
            kwargs = self.convert.from_plain(wire.decode(request.get("kwargs", {"$dict": {}})))
        except Exception as exc:
            return _failure("exception", "ProtocolError", f"bad arguments: {exc}", "")
        # Student code that draws random numbers without a seed still answers the same.
        self.keras.utils.set_random_seed(0)
        try:
            value, gradients = self.convert.call(
                function, args, kwargs, bool(request.get("gradients"))
            )
        except NotImplementedError as exc:
            return self._exception("not_implemented", exc)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt are answers too
            return self._exception("exception", exc)
        try:
            encoded = wire.encode(self.convert.to_plain(value))
            grads = None if gradients is None else [wire.encode(g) for g in gradients]
        except Exception as exc:
            return _failure("bad_return", type(exc).__name__, _safe_str(exc), "")
        return {"ok": True, "value": encoded, "gradients": grads}

    def import_timeout(self, frame: types.FrameType | None, seconds: float) -> dict[str, Any]:
        """The reply for an import still running after ``seconds``: where the student's
        module was (``frame`` is the main thread's innermost frame)."""
        source = str(self.source)
        stack = [f for f in traceback.extract_stack(frame) if f.filename == source]
        text = ""
        if stack:
            text = "".join(["Traceback (most recent call last):\n", *traceback.format_list(stack)])
        message = f"the import was still running after {seconds:g} s"
        text = text.replace(source, self.source.name)
        reply = _failure("import_timeout", "TimeoutError", message, text)
        if stack and stack[-1].lineno is not None:
            reply["error"]["line"] = stack[-1].lineno
        return reply

    def _exception(self, kind: str, exc: BaseException) -> dict[str, Any]:
        return _failure(kind, type(exc).__name__, _safe_str(exc), self._student_traceback(exc))

    def _student_traceback(self, exc: BaseException) -> str:
        # Only the student's own frames, and the line that raised: grader and importlib
        # frames are noise to a student.
        grader_dir = str(Path(__file__).resolve().parents[1])
        frames = [
            f
            for f in traceback.extract_tb(exc.__traceback__)
            if not f.filename.startswith(grader_dir)
        ]
        source = str(self.source)
        kept = [f for f in frames if f.filename == source]
        last = frames[-1] if frames else None
        if last is not None and not last.filename.startswith("<frozen") and last not in kept:
            kept.append(last)
        lines = ["Traceback (most recent call last):\n"]
        lines += traceback.format_list(kept)
        lines += traceback.format_exception_only(type(exc), exc)
        text = "".join(lines)
        return text.replace(source, self.source.name)


def _display(*objects: Any, **options: Any) -> None:
    """IPython's ``display()``, for notebooks graded as modules: what it would show,
    printed."""
    for item in objects:
        print(repr(item))


class _Shell:
    """What ``get_ipython()`` returns in a graded notebook: magics and shell commands
    written as calls (as nbconvert and jupytext write them) do nothing, as the same
    lines written as magics do."""

    def run_line_magic(self, *args: Any, **kwargs: Any) -> None:
        return None

    def run_cell_magic(self, *args: Any, **kwargs: Any) -> None:
        return None

    def magic(self, *args: Any, **kwargs: Any) -> None:
        return None

    def system(self, *args: Any, **kwargs: Any) -> None:
        return None

    def getoutput(self, *args: Any, **kwargs: Any) -> list[str]:
        return []

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the grader does not run IPython: get_ipython().{name} is not there")


_SHELL = _Shell()


def _get_ipython() -> _Shell:
    return _SHELL


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)[:2000]
    except Exception:
        return "<the exception could not be printed>"


def _failure(kind: str, type_name: str, message: str, tb: str) -> dict[str, Any]:
    return {
        "ok": False,
        "error": {"kind": kind, "type": type_name, "message": message, "traceback": tb},
    }


def _limit_resources(*, memory_mb: int, cpu_seconds: int, processes: int | None = None) -> None:
    # Set before the student's module is imported; hard limits, so an unprivileged
    # worker cannot raise them again.
    import resource

    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))
    files = min(_MAX_OPEN_FILES, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))
    if processes is not None:
        # Counted per user: only meaningful for a user of the worker's own.
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    # When a container runs out of memory, its kernel kills this worker (one student's
    # checks fail) rather than the grading process (the whole result lost).
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:  # no /proc, or a kernel that refuses
        pass


_MAX_OPEN_FILES = 1024
_MAX_PROCESSES = 512  # threads count too: TensorFlow starts a few dozen
_SHARED_USER_PROCESSES = 1024  # more than its own user's when it shares the grader's


def _user_tasks(uid: int) -> int:
    """How many processes and threads ``uid`` runs (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
    return count


def _confine(policy: dict[str, Any]) -> None:
    """The landlock level, applied to this freshly forked worker before any student code
    runs: a user of its own (when the template is root), Landlock, seccomp."""
    from grader.sandbox import landlock, seccomp

    uid = policy.get("uid")
    if isinstance(uid, int):
        # Only what the grading process made for this worker, never anything found
        # inside it (a link left there by an earlier worker must not be followed).
        for path in policy.get("own", []):
            os.chown(path, uid, uid, follow_symlinks=False)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        _set_dumpable(1)  # a change of user makes the process undumpable again
    landlock.restrict(policy["read_only"], policy["read_write"])
    seccomp.confine()


class _Replies:
    """The reply pipe, written by the main thread and by the import watchdog: exactly
    one reply per request, never two interleaved."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.answered = True

    def expect(self) -> None:
        with self.lock:
            self.answered = False

    def send(self, reply: dict[str, Any]) -> None:
        with self.lock:
            if self.answered:  # the watchdog answered this import already
                return
            self.answered = True
            try:
                wire.write_message(self.stream, reply)
            except wire.WireError as exc:
                wire.write_message(self.stream, _failure("bad_return", "WireError", str(exc), ""))


def _watch_import(
    session: _Session, replies: _Replies, seconds: float, done: threading.Event, main: int
) -> None:
    """Answer an import that runs past ``seconds`` with where it is. Pure Python loops
    and most TensorFlow work let this thread run; code that holds the GIL throughout
    is cut off by the grader's own time limit instead."""
    if done.wait(seconds):
        return
    frame = sys._current_frames().get(main)
    try:
        reply = session.import_timeout(frame, seconds)
    except Exception:  # where it was is a courtesy; the answer must still go
        reply = session.import_timeout(None, seconds)
    finally:
        del frame
    replies.send(reply)


def serve(
    request_fd: int,
    reply_fd: int,
    module_name: str,
    source: Path,
    session: _Session | None = None,
) -> int:
    """Answer requests for one student's module until the grader closes the pipe."""
    requests = os.fdopen(request_fd, "rb", buffering=0)
    replies = _Replies(os.fdopen(reply_fd, "wb"))
    sys.stdin = open(os.devnull)  # noqa: SIM115 - a student input() must not block
    if session is None:
        session = _Session(module_name, source)
    while True:
        try:
            request = wire.read_message(requests)
        except EOFError:
            return 0
        op = request.get("op")
        replies.expect()
        if op == "import":
            done = threading.Event()
            watchdog = request.get("watchdog")
            if isinstance(watchdog, int | float) and watchdog > 0:
                threading.Thread(
                    target=_watch_import,
                    args=(session, replies, watchdog, done, threading.get_ident()),
                    daemon=True,
                ).start()
            try:
                reply = session.do_import()
            finally:
                done.set()
        elif op == "call" and session.module is not None:
            reply = session.do_call(request)
        else:
            reply = _failure("exception", "ProtocolError", f"unexpected request {op!r}", "")
        # What the call printed is in the output pipe before its reply: the grading
        # process may stop keeping output from the next call on (hidden checks).
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        replies.send(reply)


# -- the template ------------------------------------------------------------------------

_PR_SET_DUMPABLE = 4
_USER_LOCK = -1  # in the template: the lock on the workers' user, held while it lives
_PR_SET_CHILD_SUBREAPER = 36
_MAX_CONTROL_BYTES = 1 << 16


def _prctl(option: int, value: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _set_dumpable(value: int) -> None:
    # A template that is not dumpable cannot be ptraced by the workers it forks (same
    # user, no capabilities): a student cannot take it over to tamper with the next
    # student. Workers turn it back on so that their /proc/self stays their own.
    _prctl(_PR_SET_DUMPABLE, value)


def _run_child(
    control: socket.socket, fds: list[int], request: dict[str, Any], status: int
) -> None:
    """In a freshly forked worker: set it apart from the template, confine it, say so on
    ``status``, then serve. Never returns."""
    code = 70
    try:
        control.close()
        if _USER_LOCK >= 0:  # a worker that could unlock it would free its user
            os.close(_USER_LOCK)
        request_fd, reply_fd, output_fd = fds
        os.setsid()  # its own process group, which the template kills as a whole
        _set_dumpable(1)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.chdir(request["cwd"])
        os.environ["HOME"] = request["home"]
        # Temporary files go to the worker's own folder: the only one it may write.
        os.environ["TMPDIR"] = request["home"]
        tempfile.tempdir = None
        # What a worker started as its own interpreter would see (main()'s arguments).
        sys.argv = ["-c", str(request_fd), str(reply_fd), str(request["module"])]
        sys.argv += [str(request["source"]), str(request["memory_mb"]), str(request["cpu"])]
        policy = request.get("confine")
        processes = None
        if isinstance(policy, dict) and isinstance(policy.get("uid"), int):
            processes = _MAX_PROCESSES
        elif os.geteuid() != 0:
            # Counted over the whole user (the grader's own): what it runs now, and room.
            processes = _user_tasks(os.geteuid()) + _SHARED_USER_PROCESSES
        _limit_resources(
            memory_mb=int(request["memory_mb"]),
            cpu_seconds=int(request["cpu"]),
            processes=processes,
        )
        source = Path(request["source"])
        try:
            if isinstance(policy, dict):
                _confine(policy)
            # Everything the worker needs before the student's code runs, made here:
            # a failure now is the grader's (its Python or files out of the worker's
            # reach), never the student's import error.
            session = _Session(str(request["module"]), source)
            source.read_bytes()
            for folder in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"]}:
                os.listdir(folder)
        except BaseException as exc:
            # Never run student code less confined than the level says: the template
            # tells the grading process, which treats it as its own fault.
            with contextlib.suppress(OSError):
                os.write(status, f"{type(exc).__name__}: {exc}"[:500].encode())
            os._exit(71)
        os.write(status, b"ok")
        os.close(status)
        code = serve(request_fd, reply_fd, str(request["module"]), source, session)
    except BaseException:  # nothing may fall back into the template's loop
        code = 70
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
        os._exit(code)


class _Children:
    """The workers a template forked, and the exit status of those that ended."""

    def __init__(self) -> None:
        self.running: set[int] = set()
        self.ended: dict[int, int] = {}
        self.scratch: dict[int, str] = {}  # pid -> the folder the scratch watcher sizes
        self.reasons: dict[int, str] = {}  # pid -> why the template ended it
        self.uid: int | None = None  # the workers' own user, when they have one

    def add(self, pid: int, request: dict[str, Any]) -> None:
        self.running.add(pid)
        scratch = request.get("scratch")
        if isinstance(scratch, str):
            self.scratch[pid] = scratch
        policy = request.get("confine")
        if isinstance(policy, dict) and isinstance(policy.get("uid"), int):
            self.uid = int(policy["uid"])

    def kill(self, pid: int) -> int | None:
        """Kill a worker's process group and collect its exit status."""
        # The group even when the worker has ended on its own: what it started may live
        # on, and a group's id is not reused while the group has a member.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        if pid in self.running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)  # a worker that left its own group
            self._collect(pid, 0)
        self.running.discard(pid)
        self.scratch.pop(pid, None)
        return self.ended.pop(pid, None)

    def wait(self, pid: int, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while pid in self.running and self._collect(pid, os.WNOHANG) is None:
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)
        return self.ended.get(pid)

    def collect_ended(self) -> None:
        for pid in list(self.running):
            self._collect(pid, os.WNOHANG)

    def _collect(self, pid: int, flags: int) -> int | None:
        try:
            done, status = os.waitpid(pid, flags)
        except ChildProcessError:  # collected already: its status is unknown
            self.running.discard(pid)
            return None
        if not done:
            return None
        self.running.discard(pid)
        self.scratch.pop(pid, None)
        self.ended[pid] = os.waitstatus_to_exitcode(status)
        return self.ended[pid]


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _sweep(keep: Path) -> None:
    """Leave nothing of a student behind in the template's sandbox: kill every other
    process in its PID namespace (daemons that left the worker's group included) and
    empty the sandbox's own /tmp and /dev/shm, but for the folder ``keep`` (the
    template's root, which the grading process cleans) and the folders leading to it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(-1, signal.SIGKILL)  # all but this process and the namespace's init
        except ProcessLookupError:
            break
        _reap()
        time.sleep(0.005)
    for folder in ("/tmp", "/dev/shm"):
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if keep.is_relative_to(entry.path):
                    continue
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)


_CONFINE_TIMEOUT = 30.0


def _spawn(
    control: socket.socket, fds: list[int], request: dict[str, Any], children: _Children
) -> dict[str, Any]:
    """Fork a worker; its pid once it says it is confined (or why it could not be)."""
    status_r, status_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(status_r)
        _run_child(control, fds, request, status_w)
    os.close(status_w)
    try:
        said = b""
        deadline = time.monotonic() + _CONFINE_TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([status_r], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                break
            chunk = os.read(status_r, 1024)
            if not chunk:
                break
            said += chunk
    finally:
        os.close(status_r)
    children.add(pid, request)
    if said != b"ok":
        children.kill(pid)
        why = said.decode("utf-8", errors="replace") or "it exited before saying so"
        return {"error": f"a worker could not be isolated as the level requires: {why}"}
    return {"pid": pid}


def _children_of(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
    return found


def _sweep_all(root: Path, own_namespace: bool, uid: int | None) -> None:
    if own_namespace:
        _sweep(root)
    else:
        if uid is not None:
            kill_user(uid)
        _sweep_orphans()


def kill_user(uid: int) -> None:
    """Kill every process of ``uid`` (the workers' own user): ``kill(-1)`` sent as that
    user reaches all of them at once, so none can fork in between."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, children first."""
    found: list[int] = []
    queue = [pid]
    while queue:
        for child in _children_of(queue.pop()):
            found.append(child)
            queue.append(child)
    return found


def _sweep_orphans() -> None:
    """Kill every process left below this template (with no worker running, each is
    something a student started, kept below the template as its subreaper). All are
    stopped first, until a pass finds none still running, so nothing can fork while
    they die; then all are killed at once."""
    me = os.getpid()
    stopped: set[int] = set()
    deadline = time.monotonic() + _SWEEP_TIMEOUT
    while time.monotonic() < deadline:
        new = [pid for pid in _descendants(me) if pid not in stopped]
        if not new:
            break
        for pid in new:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGSTOP)
        stopped.update(new)
    for pid in stopped:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    while time.monotonic() < deadline + 5:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                if not _children_of(me):
                    break
                time.sleep(0.005)
        except ChildProcessError:
            break


_SWEEP_TIMEOUT = 30.0


# What a worker may keep in its scratch folder at once; more is ended at once. The
# kernel bounds each file (RLIMIT_FSIZE); this bounds them all.
SCRATCH_BYTES = 512 << 20
SCRATCH_FILES = 10_000
_WATCH_INTERVAL = 0.05


def _usage(folder: str, files_limit: int, pids: list[int]) -> tuple[int, int]:
    """Bytes on disk and entries under ``folder`` (through folder handles, so no path is
    too long; links not followed), plus files ``pids`` hold open that have no name any
    more; counting stops past ``files_limit`` entries."""
    size = count = 0
    seen: set[tuple[int, int]] = set()

    def unreadable(error: OSError) -> None:
        # A folder made with no read right (mkdir(name, 0o300)) hides what is below it:
        # counted as over the limit. (Giving it the right back, by a path the worker
        # can swap for a link, could change a file outside.)
        nonlocal count
        if error.errno in (errno.EACCES, errno.EPERM):
            count = files_limit + 1

    with contextlib.suppress(OSError):
        for _, folders, files, handle in os.fwalk(
            folder, follow_symlinks=False, onerror=unreadable
        ):
            for name in (*folders, *files):
                count += 1
                with contextlib.suppress(OSError):
                    info = os.stat(name, dir_fd=handle, follow_symlinks=False)
                    if (info.st_dev, info.st_ino) not in seen:
                        seen.add((info.st_dev, info.st_ino))
                        size += info.st_blocks * 512
            if count > files_limit:
                return size, count
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if not os.readlink(f"/proc/{pid}/fd/{fd}").endswith(" (deleted)"):
                        continue
                    info = os.stat(f"/proc/{pid}/fd/{fd}")
                    if stat.S_ISREG(info.st_mode) and (info.st_dev, info.st_ino) not in seen:
                        seen.add((info.st_dev, info.st_ino))
                        size += info.st_blocks * 512
    return size, count


def _watch_scratch(children: _Children) -> None:
    """End a worker whose scratch folder (and files its processes hold open after
    removing them) grows past SCRATCH_BYTES or SCRATCH_FILES."""
    me = os.getpid()
    while True:
        time.sleep(_WATCH_INTERVAL)
        for pid, folder in list(children.scratch.items()):
            # One student at a time per template: everything below it is this one's.
            size, count = _usage(folder, SCRATCH_FILES, _descendants(me))
            why = None
            if size > SCRATCH_BYTES:
                why = f"wrote more than {SCRATCH_BYTES >> 20} MB of files"
            elif count > SCRATCH_FILES:
                why = (
                    f"created more than {SCRATCH_FILES:,} files and folders, or a folder "
                    "the grader cannot read"
                )
            if why is not None and pid in children.running:
                children.reasons[pid] = why
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                children.scratch.pop(pid, None)


def template_main(argv: list[str] | None = None) -> int:
    """Import everything a worker needs, then fork a worker per request on ``control``.

    ``own_namespace`` (bubblewrap: the template is alone in a PID namespace, under its
    init) allows the sweep that kills every process but itself; never outside one.
    """
    args = sys.argv[1:] if argv is None else argv
    control = socket.socket(fileno=int(args[0]))
    own_namespace = args[1] == "1" and os.getppid() == 1
    global _USER_LOCK
    _USER_LOCK = int(args[2]) if len(args) > 2 else -1
    root = Path.cwd()  # the template's root: the workers' scratch folders are in it
    _set_dumpable(0)
    # Whatever a worker starts and leaves behind (a daemon that left its process group
    # and session) becomes this process's child, so it can be found and killed.
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    configure_tensorflow()
    import keras  # noqa: F401 - imported once here, for every worker forked later

    # Everything imported so far is never collected: workers' collections skip it, and
    # so leave the pages they share with the template unwritten.
    gc.freeze()
    control.send(json.dumps({"ready": True, "namespace": own_namespace}).encode())
    children = _Children()
    threading.Thread(target=_watch_scratch, args=(children,), daemon=True).start()
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, _MAX_CONTROL_BYTES, 3)
        except OSError:
            break
        if not data:  # the grading process is gone
            break
        try:
            request = json.loads(data)
            op = request["op"]
            if op == "spawn" and len(fds) == 3:
                reply: dict[str, Any] = _spawn(control, fds, request, children)
            elif op == "kill":
                pid = int(request["pid"])
                reply = {"status": children.kill(pid), "reason": children.reasons.pop(pid, None)}
                if not children.running:
                    _sweep_all(root, own_namespace, children.uid)
            elif op == "wait":
                pid = int(request["pid"])
                status = children.wait(pid, float(request["timeout"]))
                reply = {"status": status, "reason": children.reasons.get(pid)}
            else:
                reply = {"error": f"unknown request {op!r}"}
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        children.collect_ended()
        control.send(json.dumps(reply).encode())
    for pid in list(children.running):
        children.kill(pid)
    _sweep_all(root, own_namespace, children.uid)
    return 0


def main(argv: list[str] | None = None) -> int:
    """A worker in a fresh interpreter (workers forked by ``template_main`` are the
    fast way)."""
    args = sys.argv[1:] if argv is None else argv
    request_fd, reply_fd, module_name, source = int(args[0]), int(args[1]), args[2], args[3]
    if len(args) >= 6:
        _limit_resources(memory_mb=int(args[4]), cpu_seconds=int(args[5]))
    return serve(request_fd, reply_fd, module_name, Path(source))


if __name__ == "__main__":
    sys.exit(main())
