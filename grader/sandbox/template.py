"""The trusted side of the worker template: start it, have it fork workers, kill them.

Importing TensorFlow takes seconds; forking a process that has imported it (and run no
operation) takes milliseconds, and the child trains normally. So each grading process
starts one *template* per isolation level, inside the same sandbox a worker would get
(``grader.sandbox.worker.template_main``), and every student's worker is forked from it.

The template holds nothing a student may not see: it imports only what a worker
imports, and runs no student code itself. What one student's worker leaves behind
cannot reach the next student's:

- each worker gets its own scratch folder under the template's root, removed with
  everything else a student wrote there once the worker is gone;
- under bubblewrap the template is alone in its PID namespace: killing a worker kills
  every other process there too (daemons that left the worker's process group), and
  empties the sandbox's /tmp and /dev/shm;
- the template cannot be ptraced by its workers (it is not dumpable), and a template
  that stops answering or dies is killed and replaced.

A template that cannot start or answer is the grader's fault (``TemplateError``), which
never costs a student points.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any, NoReturn

from grader.errors import TemplateError, UsageError
from grader.sandbox.isolation import Isolation, confinement, wrap_command

__all__ = ["Template", "TemplateError", "close_templates", "remove_tree", "template_for"]

_GRADER_PARENT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    "from grader.sandbox.worker import template_main; sys.exit(template_main())"
)
START_TIMEOUT = 180.0  # importing TensorFlow on a loaded machine
REQUEST_TIMEOUT = 30.0  # a fork or a kill; a template slower than this is stuck
_MAX_REPLY_BYTES = 1 << 16
_STOP_TIMEOUT = 3.0


def remove_tree(path: str | Path, ignore_errors: bool = False) -> None:
    """``shutil.rmtree``, also through folders a student made unreadable or unwritable
    (``mkdir(name, 0)``): running as the same user, the grader gives them back their
    rights. Links are never followed."""

    tried: set[str] = set()
    top = os.path.abspath(path)

    def retry(function: Any, failed: str, error: Any) -> None:
        if failed in tried:  # giving the rights back did not help
            if ignore_errors:
                return
            raise error[1]
        tried.add(failed)
        for folder in (os.path.dirname(failed), failed):
            # Only folders inside the tree being removed, never the one holding it.
            inside = os.path.commonpath([top, os.path.abspath(folder)]) == top
            with contextlib.suppress(OSError):
                if inside and stat.S_ISDIR(os.lstat(folder).st_mode):
                    os.chmod(folder, 0o700)
        try:
            if function in (os.rmdir, os.unlink):
                function(failed)
            else:  # the folder could not be listed
                shutil.rmtree(failed, onerror=retry)
        except OSError:
            if not ignore_errors:
                raise

    shutil.rmtree(path, onerror=retry)


def worker_environment() -> dict[str, str]:
    """A small, predictable environment for student code."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        TF_CPP_MIN_LOG_LEVEL="3",
        TF_ENABLE_ONEDNN_OPTS="0",
        CUDA_VISIBLE_DEVICES="",
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        OMP_NUM_THREADS="1",
        KERAS_BACKEND="tensorflow",
        MPLBACKEND="Agg",
    )
    return env


class Template:
    """One template process and the folder its workers' scratch folders live in."""

    def __init__(self, isolation: Isolation, start_timeout: float = START_TIMEOUT) -> None:
        self.isolation = isolation
        self.root = Path(tempfile.mkdtemp(prefix="grader-template-"))
        self._home = self.root / "home"
        self._home.mkdir()
        self.reasons: dict[int, str] = {}  # worker pid -> why the template ended it
        # Graded as root at the landlock level: workers run as a user of their own (one
        # per template, so that one student's processes are never another's).
        self.uid: int | None = None
        self._uid_lock: IO[bytes] | None = None
        if isolation.level == "landlock" and os.geteuid() == 0:
            self.uid, self._uid_lock = _claim_uid()
            os.chmod(self.root, 0o711)  # workers reach their folder, list nothing
        self._scratches: set[Path] = set()
        self._lock = threading.Lock()
        self._broken = False
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._socket = ours
        env = worker_environment()
        env["HOME"] = str(self._home)  # Keras keeps its config folder under it
        sandboxed = "1" if isolation.level == "bubblewrap" else "0"
        command = [
            *(sys.executable, "-I", "-u", "-c", _BOOT, _GRADER_PARENT),
            *(str(theirs.fileno()), sandboxed),
            # The template holds the workers' user too, until it has killed the last of
            # their processes: no other grading process may take the user before.
            str(self._uid_lock.fileno() if self._uid_lock is not None else -1),
        ]
        try:
            self._process = subprocess.Popen(
                wrap_command(command, isolation, self.root),
                pass_fds=(
                    theirs.fileno(),
                    *([self._uid_lock.fileno()] if self._uid_lock is not None else []),
                ),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            self.close()
            raise TemplateError(f"The worker template could not start: {exc}") from None
        finally:
            theirs.close()
        self._start_timeout = start_timeout
        self._ready: dict[str, Any] | None = None

    def _wait_ready(self) -> dict[str, Any]:
        # The template imports TensorFlow while the grading process does the same: the
        # first worker waits for it here, not at start.
        if self._ready is None:
            try:
                self._ready = self._receive(self._start_timeout)
            except TemplateError as exc:
                raise TemplateError(f"{exc} {self._log_tail()}".strip()) from None
        return self._ready

    @property
    def own_namespace(self) -> bool:
        """Whether the template is alone in a PID namespace (bubblewrap)."""
        return self._ready is not None and bool(self._ready.get("namespace"))

    # -- requests ---------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return not self._broken and self._process.poll() is None

    def spawn(
        self,
        *,
        module: str,
        source: Path,
        cwd: Path,
        home: Path,
        memory_mb: int,
        cpu_seconds: int,
        fds: tuple[int, int, int],
    ) -> int:
        """Fork a worker for ``module`` (read from ``source``) that reads requests from
        ``fds[0]``, answers on ``fds[1]`` and prints to ``fds[2]``; its pid."""
        scratch = cwd.parent
        request: dict[str, Any] = {
            "op": "spawn",
            "module": module,
            "source": str(source),
            "cwd": str(cwd),
            "home": str(home),
            "scratch": str(scratch),
            "memory_mb": memory_mb,
            "cpu": cpu_seconds,
        }
        try:
            policy = confinement(self.isolation, scratch)
        except UsageError as exc:
            self._fail(str(exc))
        if policy is not None and self.uid is not None:
            policy["uid"] = self.uid
            policy["own"] = [str(scratch), str(cwd), str(home), str(source)]
        request["confine"] = policy
        pid = self._request(request, fds).get("pid")
        if not isinstance(pid, int):
            self._fail("The worker template did not fork a worker.")
        return int(pid)

    def kill(self, pid: int) -> int | None:
        """Kill the worker and every process it started; its exit status if known."""
        reply = self._request({"op": "kill", "pid": pid})
        self._note_reason(pid, reply)
        status = reply.get("status")
        return status if isinstance(status, int) else None

    def _note_reason(self, pid: int, reply: dict[str, Any]) -> None:
        reason = reply.get("reason")
        if isinstance(reason, str) and reason:
            self.reasons[pid] = reason[:200]

    def wait(self, pid: int, timeout: float) -> int | None:
        """The worker's exit status once it has exited, or None after ``timeout``."""
        reply = self._request({"op": "wait", "pid": pid, "timeout": timeout}, timeout=timeout + 10)
        self._note_reason(pid, reply)
        status = reply.get("status")
        return status if isinstance(status, int) else None

    def _request(
        self, message: dict[str, Any], fds: tuple[int, ...] = (), timeout: float | None = None
    ) -> dict[str, Any]:
        timeout = REQUEST_TIMEOUT if timeout is None else timeout
        with self._lock:
            if not self.alive:
                self._fail("The worker template is not running.")
            self._wait_ready()
            try:
                self._socket.settimeout(timeout)
                socket.send_fds(self._socket, [json.dumps(message).encode()], list(fds))
            except OSError as exc:
                self._fail(f"The worker template stopped answering: {exc}.")
            reply = self._receive(timeout)
        if "error" in reply:
            self._fail(f"The worker template refused a request: {reply['error']}")
        return reply

    def _receive(self, timeout: float) -> dict[str, Any]:
        try:
            self._socket.settimeout(timeout)
            data = self._socket.recv(_MAX_REPLY_BYTES)
        except TimeoutError:
            self._fail(f"The worker template did not answer within {timeout:g} s.")
        except OSError as exc:
            self._fail(f"The worker template stopped answering: {exc}.")
        if not data:
            self._fail("The worker template exited.")
        try:
            reply = json.loads(data)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            self._fail("The worker template answered with something that is not a reply.")
        return reply

    def _fail(self, why: str) -> NoReturn:
        # A template that failed once is never asked again: it may be stopped, or half
        # way through a request. The next worker gets a fresh one.
        self._broken = True
        raise TemplateError(why)

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._log.seek(0)
            text = self._log.read().decode("utf-8", errors="replace").strip()
            return text[-1500:]
        return ""

    # -- scratch folders ----------------------------------------------------------------

    def new_scratch(self) -> Path:
        """A fresh folder for one worker, inside the template's sandbox."""
        path = Path(tempfile.mkdtemp(prefix="grader-worker-", dir=self.root))
        self._scratches.add(path)
        return path

    def release_scratch(self, path: Path) -> None:
        """Remove a worker's folder; once no worker is left, everything else a student
        wrote under the root too (rmtree never follows links out of it)."""
        self._scratches.discard(path)
        remove_tree(path, ignore_errors=True)
        if self._scratches:
            return
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.root):
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        remove_tree(entry.path)
                    else:
                        os.unlink(entry.path)
        with contextlib.suppress(OSError):
            self._home.mkdir(exist_ok=True)

    # -- closing ----------------------------------------------------------------------

    def close(self) -> None:
        """Stop the template; under bubblewrap every process in its sandbox dies with it."""
        self._broken = True
        with contextlib.suppress(OSError):
            self._socket.close()
        process = getattr(self, "_process", None)
        if process is not None:
            # A template told to stop (its socket closed) kills its workers and what they
            # left behind first; one that does not is killed.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=_STOP_TIMEOUT)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, 9)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        if getattr(self, "uid", None) is not None:
            _kill_user(self.uid)
        with contextlib.suppress(OSError):
            self._log.close()
        remove_tree(self.root, ignore_errors=True)
        if self._uid_lock is not None:
            with contextlib.suppress(OSError):
                self._uid_lock.close()


# Workers' own users, when grading as root: below 65534 (containers that map only
# 65536 users still have them), above the range distributions hand out.
_UID_FIRST, _UID_COUNT = 61000, 4000


def _claim_uid() -> tuple[int, IO[bytes]]:
    """A user no other grading process on this machine is using: the first of the range
    whose lock file this process can lock (the lock ends with the process)."""
    import fcntl
    import pwd

    locks = Path(tempfile.gettempdir()) / f"grader-users-{os.geteuid()}"
    locks.mkdir(mode=0o700, exist_ok=True)
    info = locks.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise TemplateError(f"{locks} is not a folder of this user's: cannot pick a user.")
    os.chmod(locks, 0o700)
    for uid in range(_UID_FIRST, _UID_FIRST + _UID_COUNT):
        with contextlib.suppress(KeyError):
            pwd.getpwuid(uid)
            continue  # a user of the machine's own
        handle = open(locks / str(uid), "ab")  # noqa: SIM115 - held for the template's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return uid, handle
    raise TemplateError("Every worker user is in use by other grading processes.")


_KILL_ALL = "import os, signal\ntry: os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError: pass"


def _kill_user(uid: int | None) -> None:
    """Every process of the workers' user dies (what a template that died left behind)."""
    if uid is None:
        return
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [
                sys.executable,
                "-I",
                "-c",
                _KILL_ALL,
            ],
            user=uid,
            group=uid,
            extra_groups=[],
            capture_output=True,
            timeout=30,
            check=False,
        )


_TEMPLATES: dict[Isolation, Template] = {}
_REGISTRY_LOCK = threading.Lock()


def template_for(isolation: Isolation) -> Template:
    """This process's template for ``isolation``, started (or replaced) when needed."""
    with _REGISTRY_LOCK:
        template = _TEMPLATES.get(isolation)
        if template is None or not template.alive:
            if template is not None:
                template.close()
            template = _TEMPLATES[isolation] = Template(isolation)
        return template


def close_templates() -> None:
    with _REGISTRY_LOCK:
        for template in _TEMPLATES.values():
            template.close()
        _TEMPLATES.clear()


atexit.register(close_templates)
