"""The untrusted side: a worker process that imports and runs one student's module.

Started by ``grader.sandbox.client.Worker`` in a fresh interpreter. It reads requests
from one pipe and writes replies to another (its stdout and stderr go to a capture
file, so nothing the student prints can corrupt the protocol). Every value it sends
back is an *answer* in wire format; it never decides anything.

Requests: ``{"op": "import"}`` and
``{"op": "call", "function", "args", "kwargs", "gradients": bool}``.
Replies: ``{"ok": true, "value": ..., "gradients": [...] | null}`` or
``{"ok": false, "error": {"kind", "type", "message", "traceback"}}``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
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
        sys.modules[self.module_name] = module
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


def _limit_resources(*, memory_mb: int, cpu_seconds: int) -> None:
    # Set before the student's module is imported; hard limits, so an unprivileged
    # worker cannot raise them again.
    import resource

    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))
    # When a container runs out of memory, its kernel kills this worker (one student's
    # checks fail) rather than the grading process (the whole result lost).
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:  # no /proc, or a kernel that refuses
        pass


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    request_fd, reply_fd, module_name, source = int(args[0]), int(args[1]), args[2], args[3]
    if len(args) >= 6:
        _limit_resources(memory_mb=int(args[4]), cpu_seconds=int(args[5]))
    requests = os.fdopen(request_fd, "rb", buffering=0)
    replies = os.fdopen(reply_fd, "wb")
    sys.stdin = open(os.devnull)  # noqa: SIM115 - a student input() must not block
    session = _Session(module_name, Path(source))
    while True:
        try:
            request = wire.read_message(requests)
        except EOFError:
            return 0
        op = request.get("op")
        if op == "import":
            reply = session.do_import()
        elif op == "call" and session.module is not None:
            reply = session.do_call(request)
        else:
            reply = _failure("exception", "ProtocolError", f"unexpected request {op!r}", "")
        try:
            wire.write_message(replies, reply)
        except wire.WireError as exc:
            wire.write_message(replies, _failure("bad_return", "WireError", str(exc), ""))


if __name__ == "__main__":
    sys.exit(main())
