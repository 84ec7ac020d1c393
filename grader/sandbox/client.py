"""The trusted side of the sandbox: start a worker, call student functions, enforce limits.

``Worker`` owns one student's worker process. Each call has a time limit; a call that
hangs or kills the worker fails alone, and the next call starts a fresh worker, so the
student's other checks still run. Replies are decoded strictly by ``wire``. Workers are
forked from the grading process's template (``grader.sandbox.template``), which has
TensorFlow imported already.

A notebook is converted in the trusted process by the ``notebook`` loader the caller
passes (``grader.submissions.load_notebook``: read, never run), and the worker imports
the result exactly as it imports a ``.py``. The errors and tracebacks the worker sends
back name lines of that generated module; they are rewritten here to name the
notebook's cells ("regularization.ipynb, cell 4, line 3").

Every reply is read as untrusted data: a worker's code is the student's, and can send
anything. Whatever it sends is a ``StudentError`` at worst, never an exception of the
grader's, and all its text (messages, tracebacks, type names, printed output) goes
through ``wire.clean_text`` before anyone sees it.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import select
import signal
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from grader.errors import (
    StudentCrash,
    StudentError,
    StudentImportError,
    StudentTimeout,
)
from grader.sandbox import wire
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits
from grader.sandbox.template import Template, TemplateError, remove_tree, template_for

__all__ = ["CallResult", "ModuleText", "NotebookLoader", "Worker"]

_HEADER_BYTES = 4
# How much of each piece of a worker's text is kept (characters).
_MAX_NAME = 200
_MAX_MESSAGE = 4000
_MAX_TRACEBACK = 20_000
_KINDS = frozenset(["exception", "not_implemented", "missing", "bad_return"])
_PY_HINT = (
    "Code at the top level of a file runs when the grader imports it: put demos and "
    'experiments under `if __name__ == "__main__":`.'
)
_NOTEBOOK_HINT = (
    "Every graded cell runs when the grader imports the notebook: tag cells with slow "
    "demos or experiments `skip-grading` (Jupyter: View > Cell Toolbar > Tags), or start "
    "them with the comment `# skip-grading`."
)


class ModuleText(Protocol):
    """A module made from a student's file that is not plain Python (a notebook): its
    source, and how to name its lines the way the student knows them."""

    @property
    def source(self) -> str: ...

    @property
    def numbering(self) -> str: ...

    def locate(self, line: int) -> tuple[int, int] | None: ...

    def rewrite(self, text: str, generated: str, shown: str) -> str: ...

    def skipped_definition(self, name: str) -> Any: ...


# Reads a notebook (path, the name the student knows it by) into a module; raises a
# ``StudentError`` saying why when it cannot be graded.
NotebookLoader = Callable[[Path, str], ModuleText]


@dataclass(frozen=True)
class CallResult:
    value: Any
    gradients: list[Any] | None = None


class Worker:
    """One student's module, loaded in a separate process and called over pipes.

    ``source`` is a ``.py`` file or, when a ``notebook`` loader is given, a notebook
    whose code cells (as the loader reads them) are the module.
    """

    def __init__(
        self,
        source: Path,
        module: str,
        limits: Limits | None = None,
        isolation: Isolation | None = None,
        *,
        notebook: NotebookLoader | None = None,
    ) -> None:
        self.source = source
        self.module = module
        self._load_notebook = notebook
        self.notebook = notebook is not None
        # How the student knows the file: errors name it.
        self.shown = source.name if self.notebook else f"{module}.py"
        self._converted: ModuleText | None = None
        self.limits = limits or Limits()
        self.isolation = isolation or Isolation()
        self._template: Template | None = None
        self._scratch: Path | None = None
        self._output = _OutputCollector(self.limits.output_bytes)
        self._process: _Process | None = None
        self._request_fd = -1
        self._reply_fd = -1
        self._import_error: StudentImportError | None = None
        self._used = 0.0
        self.restarts = 0

    # -- lifecycle ------------------------------------------------------------------

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop()
        if self._template is not None and self._scratch is not None:
            self._template.release_scratch(self._scratch)
        self._template = self._scratch = None

    def _start(self) -> None:
        if self._converted is not None:
            source = self._converted.source.encode("utf-8")
        else:
            source = self.source.read_bytes()
        for attempt in (1, 2):
            try:
                self._fork(source)
                return
            except TemplateError:
                # Once more from a fresh template: the old one may have been killed
                # (by the previous student's code, say) since it was last asked.
                if attempt == 2:
                    raise

    def _fork(self, source: bytes) -> None:
        template = self._template_for_start()
        assert self._scratch is not None
        home = self._scratch / "home"
        code = self._scratch / "code"
        target = code / f"{self.module}.py"
        try:
            _prepare_scratch(home, code, target.name, source)
        except OSError as exc:
            raise StudentCrash(
                f"The worker's folder could not be prepared (the previous worker changed "
                f"it): {exc.strerror or exc}.",
                kind="crash",
            ) from None
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        output_r, output_w = os.pipe()
        try:
            pid = template.spawn(
                module=self.module,
                source=target,
                cwd=code,
                home=home,
                memory_mb=self.limits.memory_mb,
                cpu_seconds=int(self.limits.submission_timeout) + 60,
                fds=(request_r, reply_w, output_w),
            )
        except TemplateError:
            for fd in (request_w, reply_r, output_r):
                os.close(fd)
            raise
        finally:
            for fd in (request_r, reply_w, output_w):
                os.close(fd)
        self._process = _Process(template, pid)
        self._output.follow(os.fdopen(output_r, "rb", buffering=0))
        self._request_fd, self._reply_fd = request_w, reply_r

    def _template_for_start(self) -> Template:
        """The template to fork from, with this worker's scratch folder in its root. A
        template that died (a student may kill it) or stopped answering is replaced."""
        template = template_for(self.isolation)
        if template is not self._template:
            if self._template is not None and self._scratch is not None:
                self._template.release_scratch(self._scratch)
            self._template, self._scratch = template, template.new_scratch()
        return template

    def _stop(self) -> None:
        process, self._process = self._process, None
        for fd in (self._request_fd, self._reply_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._request_fd = self._reply_fd = -1
        if process is not None:
            process.kill()

    # -- calls --------------------------------------------------------------------------

    def call(self, function: str, *args: Any, gradients: bool = False, **kwargs: Any) -> CallResult:
        """Run ``function(*args, **kwargs)`` in the worker and return its decoded answer.

        Raises a ``StudentError`` subclass when the student's code fails, hangs, crashes
        the worker or returns something the grader cannot read.
        """
        self._ensure_imported()
        encoded_args = wire.encode(list(args))
        encoded_kwargs = wire.encode(dict(kwargs))
        request = {
            "op": "call",
            "function": function,
            "args": encoded_args,
            "kwargs": encoded_kwargs,
            "gradients": gradients,
        }
        reply = self._exchange(request, self.limits.call_timeout, what=f"{function}()")
        if not isinstance(reply, dict) or type(reply.get("ok")) is not bool:
            raise self._malformed(f"{function}()")
        if reply["ok"] is False:
            raise self._student_error(reply.get("error"), function)
        grads = reply.get("gradients")
        if grads is not None and not isinstance(grads, list):
            raise self._malformed(f"{function}()")
        try:
            value = wire.decode(reply.get("value"))
            decoded = None if grads is None else [wire.decode(g) for g in grads]
        except Exception as exc:  # WireError, or anything else odd data may cause
            detail = str(exc) if isinstance(exc, wire.WireError) else type(exc).__name__
            raise StudentError(
                f"{function}() returned something the grader cannot read: "
                f"{wire.clean_text(detail, limit=_MAX_MESSAGE)}",
                kind="bad_return",
            ) from None
        return CallResult(value, decoded)

    def _ensure_imported(self) -> None:
        if self._import_error is not None:
            # Raised again for every call: each raise would add its frames to the last.
            raise self._import_error.with_traceback(None)
        if self._process is not None:
            return
        self._check_budget("the next call")
        if self.notebook and self._converted is None:
            self._converted = self._convert_notebook()
        self._start()
        budget = min(self.limits.import_timeout, self._check_budget(f"importing {self.shown}"))
        # The worker says where a slow import is, a little before this side gives up.
        watchdog = max(budget - min(2.0, budget * 0.1), 0.1)
        try:
            reply = self._exchange(
                {"op": "import", "watchdog": watchdog},
                self.limits.import_timeout,
                what=f"importing {self.module}",
            )
        except StudentTimeout as exc:
            raise self._import_failed(self._timeout_message(budget, None), str(exc)) from None
        except StudentCrash as exc:
            raise self._import_failed(
                f"The worker exited while importing {self.shown}.", str(exc)
            ) from None
        except StudentError as exc:  # a reply too large or not JSON
            raise self._import_failed(
                f"{self.shown} could not be imported: the worker's answer was not a valid reply.",
                str(exc),
            ) from None
        if not isinstance(reply, dict) or type(reply.get("ok")) is not bool:
            raise self._import_failed(
                f"{self.shown} could not be imported: the worker's answer was not a valid reply."
            )
        if reply["ok"] is True:
            return
        raw_error = reply.get("error")
        error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
        details = self._rewrite(_text(error.get("traceback"), _MAX_TRACEBACK))
        if self._converted is not None and details:
            details = f"{details.rstrip()}\n\n({self._converted.numbering})"
        if error.get("kind") == "import_timeout":
            line = error.get("line")
            known = type(line) is int and 0 < line <= self._line_count()
            text = self._timeout_message(budget, line if known else None)
            raise self._import_failed(text, details)
        message = _text(error.get("message"), _MAX_MESSAGE)
        text = self._rewrite(
            f"{self.shown} could not be imported: "
            f"{_text(error.get('type'), _MAX_NAME) or 'Error'}: {message}"
        )
        if "tf_keras" in message:
            text += (
                " tf_keras (Keras 2) is not supported: use `import keras` or "
                "`from tensorflow import keras` (Keras 3)."
            )
        raise self._import_failed(text, details)

    def _import_failed(self, text: str, details: str = "") -> StudentImportError:
        """The import's failure, kept to fail every later call the same way; the worker
        is stopped (a slow import may still be running, a reply may be out of step)."""
        self._stop()
        if self._output.sealed:
            # A module that imported once and fails only once hidden checks have run
            # would carry what it saw of their inputs into the student's page.
            text = (
                f"{self.shown} could not be imported again after its worker restarted "
                "during the hidden checks."
            )
            details = ""
        self._import_error = StudentImportError(text, kind="import", details=details)
        return self._import_error

    def _line_count(self) -> int:
        """Lines in the module the worker imported (a worker's line number is checked)."""
        if self._converted is not None:
            return self._converted.source.count("\n") + 1
        try:
            return self.source.read_bytes().count(b"\n") + 1
        except OSError:
            return 0

    def _timeout_message(self, budget: float, line: int | None) -> str:
        where = ""
        if line is not None and self._converted is not None:
            found = self._converted.locate(line)
            if found is not None:
                where = f": it was still running cell {found[0]}, line {found[1]}"
        elif line is not None and line > 0:
            where = f": it was still running line {line}"
        hint = _NOTEBOOK_HINT if self._converted is not None else _PY_HINT
        return f"Importing {self.shown} did not finish within {budget:g} s{where}. {hint}"

    def _convert_notebook(self) -> ModuleText:
        """The module the notebook's code cells make; a notebook that cannot be read
        fails the import, with the reason (discovery normally caught it already)."""
        assert self._load_notebook is not None
        try:
            return self._load_notebook(self.source, self.shown)
        except StudentError as exc:
            self._import_error = StudentImportError(str(exc), kind="import")
            raise self._import_error from None

    def _rewrite(self, text: str) -> str:
        """``text`` from the worker, naming notebook cells instead of generated lines."""
        if self._converted is None:
            return text
        return self._converted.rewrite(text, f"{self.module}.py", self.shown)

    def _student_error(self, error: Any, function: str) -> StudentError:
        exc = _student_error(error, function)
        if self._converted is None:
            return exc
        text = self._rewrite(str(exc))
        skipped = self._converted.skipped_definition(function)
        if exc.kind == "missing" and skipped is not None:
            text += (
                f" It is defined in cell {skipped.cell} of {self.shown}, which the grader "
                f"does not run because {skipped.reason}: move it to a cell that is graded."
            )
        return type(exc)(text, kind=exc.kind, details=self._rewrite(exc.details))

    def _check_budget(self, what: str) -> float:
        remaining = self.limits.submission_timeout - self._used
        if remaining <= 0:
            raise StudentTimeout(
                f"The submission used up its total time of "
                f"{self.limits.submission_timeout:g} s before {what} could run.",
                kind="timeout",
            )
        return remaining

    def _malformed(self, what: str) -> StudentError:
        # The reply pipe is out of step now: only a fresh worker can be trusted to answer.
        self._stop()
        self.restarts += 1
        return StudentError(
            f"{what} answered with something that is not a valid reply.", kind="bad_return"
        )

    def _exchange(self, request: dict[str, Any], timeout: float, *, what: str) -> Any:
        budget = min(timeout, self._check_budget(what))
        started = time.monotonic()
        try:
            self._send(request, started + budget, budget, what)
            return self._receive(started + budget, budget, what)
        finally:
            self._used += time.monotonic() - started

    def _send(self, request: dict[str, Any], deadline: float, budget: float, what: str) -> None:
        """Write the request within the call's time: a worker that stops reading its
        pipe (it may shrink the pipe and stop itself) times out like a hung call."""
        body = wire.dumps(request)
        data = len(body).to_bytes(_HEADER_BYTES, "big") + body
        try:
            view = memoryview(data)
            while view:
                left = deadline - time.monotonic()
                _, ready, _ = select.select([], [self._request_fd], [], max(left, 0))
                if not ready:
                    self._stop()
                    raise StudentTimeout(
                        f"{what} did not finish within {budget:g} s.", kind="timeout"
                    )
                written = os.write(self._request_fd, view[: select.PIPE_BUF])
                view = view[written:]
        except (BrokenPipeError, OSError):
            raise self._crashed("before it could be called") from None

    def _receive(self, deadline: float, budget: float, what: str) -> Any:
        header = self._read_exact(_HEADER_BYTES, deadline, budget, what)
        size = int.from_bytes(header, "big")
        if size > wire.MAX_MESSAGE_BYTES:
            self._stop()
            raise StudentError(
                f"{what} returned a value larger than the grader accepts.", kind="bad_return"
            )
        body = self._read_exact(size, deadline, budget, what)
        try:
            return wire.loads(body)
        except wire.WireError:
            raise self._malformed(what) from None

    def _read_exact(self, size: int, deadline: float, budget: float, what: str) -> bytes:
        chunks: list[bytes] = []
        needed = size
        while needed:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._reply_fd], [], [], max(left, 0))
            if not ready:
                self._stop()
                raise StudentTimeout(f"{what} did not finish within {budget:g} s.", kind="timeout")
            chunk = os.read(self._reply_fd, min(needed, 1 << 20))
            if not chunk:
                raise self._crashed(f"while running {what}")
            chunks.append(chunk)
            needed -= len(chunk)
        return b"".join(chunks)

    def _crashed(self, when: str) -> StudentCrash:
        process = self._process
        code = None if process is None else process.wait(timeout=5)
        reason = None if process is None else process.template.reasons.get(process.pid)
        self._stop()
        self.restarts += 1
        if reason is not None:
            # The template ended it for going over a limit: say which.
            return StudentCrash(f"The worker was stopped {when}: it {reason}.", kind="crash")
        detail = f" (exit code {code})" if code is not None else ""
        return StudentCrash(f"The worker process exited {when}{detail}.", kind="crash")

    # -- output -------------------------------------------------------------------------

    def hide_output(self) -> None:
        """Keep nothing the student's code prints from now on (hidden checks follow):
        what it printed before is kept."""
        self._output.seal()

    def output(self) -> str:
        """What the student's code printed, truncated to the output limit and cleaned."""
        return wire.clean_text(self._output.text())


class _Process:
    """A worker forked by a template, known by its pid there."""

    def __init__(self, template: Template, pid: int) -> None:
        self.template = template
        self.pid = pid

    def wait(self, timeout: float) -> int | None:
        """Its exit status, or None if it is still running after ``timeout`` seconds."""
        try:
            return self.template.wait(self.pid, timeout)
        except TemplateError:
            return None

    def kill(self) -> None:
        """Kill it and everything it started (the whole sandbox's processes, under
        bubblewrap). A template that cannot do it is replaced: under bubblewrap its
        sandbox dies with it; without, the worker's group is killed from here."""
        try:
            self.template.kill(self.pid)
        except TemplateError:
            if not self.template.own_namespace:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
            self.template.close()


def _prepare_scratch(home: Path, code: Path, name: str, source: bytes) -> None:
    """Fresh ``home`` and ``code`` folders and the student's source in ``code``.

    The scratch folder is writable from inside the sandbox, and this runs again when a
    worker restarts: the previous worker may have replaced anything in it with a symlink
    to a file outside (a classmate's submission, the grader's own code), to have this
    trusted process write over it. So nothing found there is reused or followed: both
    folders are removed (rmtree does not follow links) and made anew, and the source is
    created, never overwritten, through a handle on the new folder that refuses links.
    """
    # Everything an earlier worker left in the folder goes: a file written there is
    # how one worker would hand what it saw (hidden checks' inputs) to the next.
    with os.scandir(home.parent) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                remove_tree(entry.path)
            else:
                os.unlink(entry.path)
    for folder in (home, code):
        folder.mkdir()
    directory = os.open(code, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        handle = os.open(name, flags, 0o644, dir_fd=directory)
    finally:
        os.close(directory)
    with os.fdopen(handle, "wb") as out:
        out.write(source)


class _OutputCollector:
    """Keeps the first ``limit`` bytes a worker prints and drains the rest, so a student
    printing without end neither blocks on a full pipe nor fills a disk.

    ``seal()`` stops keeping output from that moment on: what is already in the pipes
    is kept, anything written later is drained and dropped. Hidden checks run after it,
    so what a student's code prints about their inputs never reaches the student.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._chunks: list[bytes] = []
        self._kept = 0
        self._dropped = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._open: set[int] = set()
        self._sealed = False
        self._pending: dict[int, int] = {}  # bytes still to keep per pipe, once sealed
        self._withheld = 0

    def follow(self, stream: IO[bytes]) -> None:
        with self._lock:
            self._open.add(stream.fileno())
        thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        thread.start()
        self._threads.append(thread)

    @property
    def sealed(self) -> bool:
        return self._sealed

    def seal(self) -> None:
        with self._lock:
            if self._sealed:
                return
            self._sealed = True
            for fd in self._open:
                self._pending[fd] = _unread_bytes(fd)

    def _drain(self, stream: IO[bytes]) -> None:
        fd = stream.fileno()
        with stream:
            while True:
                select.select([fd], [], [])
                # Read under the lock, so that seal() counts exactly what is unread.
                with self._lock:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        self._open.discard(fd)
                        return
                    if self._sealed:
                        allowed = self._pending.get(fd, 0)
                        self._pending[fd] = max(0, allowed - len(chunk))
                        self._withheld += max(0, len(chunk) - allowed)
                        chunk = chunk[:allowed]
                    room = self.limit - self._kept
                    if room > 0:
                        self._chunks.append(chunk[:room])
                        self._kept += min(room, len(chunk))
                    self._dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        for thread in self._threads:
            thread.join(timeout=2)
        with self._lock:
            text = b"".join(self._chunks).decode("utf-8", errors="replace")
            if self._dropped:
                text += (
                    f"\n[output truncated: {self._dropped} more bytes after the first "
                    f"{self.limit} were not kept]"
                )
            if self._withheld:
                text += "\n[what your code printed during the hidden checks is not shown]"
        return text


def _unread_bytes(fd: int) -> int:
    buffer = array.array("i", [0])
    try:
        fcntl.ioctl(fd, termios.FIONREAD, buffer, True)
    except OSError:
        return 0
    return int(buffer[0])


def _text(value: Any, limit: int) -> str:
    """A piece of a worker's reply as clean text; anything but a string is nothing."""
    return wire.clean_text(value, limit=limit) if isinstance(value, str) else ""


def _student_error(error: Any, function: str) -> StudentError:
    if not isinstance(error, dict):
        return StudentError(f"{function}() failed in a way the grader cannot read.")
    kind = error.get("kind")
    if not isinstance(kind, str) or kind not in _KINDS:
        kind = "exception"
    type_name = _text(error.get("type"), _MAX_NAME) or "Exception"
    message = _text(error.get("message"), _MAX_MESSAGE)
    tb = _text(error.get("traceback"), _MAX_TRACEBACK)
    if kind == "missing":
        text = f"Your module has no function {function}(){message}."
    elif kind == "not_implemented":
        text = f"{function}() is not implemented yet: it raises NotImplementedError."
    elif kind == "bad_return":
        text = f"{function}() returned something the grader cannot read: {message}"
    else:
        text = f"{function}() raised {type_name}: {message}"
    return StudentError(text, kind=kind, details=tb)
