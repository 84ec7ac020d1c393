"""The reference's answers, kept on disk between runs and grading processes.

Before its first student, every grading process runs the whole check suite with the
reference solution (``grading.reference_baseline``), which spends most of its time in
the reference's own calls. ``cached_reference`` answers those calls from a file written
by the first process that made them, so a rerun, a regrade or another grading process
pays (almost) nothing for them::

    cached = cached_reference(assignment, Path(".grader-cache"))
    baseline = reference_baseline(assignment, cached.proxy)
    cached.finish()           # writes the entry if calls were recorded

The file's name is a digest of everything the answers depend on (``cache_key``). Its
content is the answers in the wire format (never pickled), each under its call: the
function, whether gradients were asked for and the arguments with layer names taken
by order of appearance (``call_key(..., exact=True)``), the arguments' floats compared
bit for bit. A call without an entry goes to the live reference, in this process as
without a cache, so the cache can make grading faster but never changes an answer. An
entry that cannot be read is ignored and written again.

The answers include those of hidden checks, drawn from the course secret: the cache
folder is as private as the reference (mode 700, hidden from the workers).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import platform
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grader
from grader.engine.proxy import ModuleProxy
from grader.engine.reference import (
    call_key,
    decode_entry,
    encode_entry,
    installed_version,
    reference_for,
)
from grader.files import atomic_write_text
from grader.sandbox.client import CallResult

if TYPE_CHECKING:
    from grader.assignment import Assignment

__all__ = [
    "CACHE_FOLDER",
    "CACHE_FORMAT",
    "CachedReference",
    "cache_key",
    "cached_reference",
    "user_cache",
]

CACHE_FOLDER = ".grader-cache"  # in the course folder, for `grader run`
CACHE_FORMAT = 1
_KIND = "grader reference answers cache"
_VERSIONED = ("tensorflow", "tensorflow-cpu", "keras", "numpy")
_SKIPPED_DIRS = frozenset(["__pycache__", ".pytest_cache", ".ipynb_checkpoints"])
_GRADER_ROOT = Path(grader.__file__).resolve().parent
# How the live reference is called and its answer sent back (``call_in_process``).
_ANSWERING = (
    "engine/reference.py",
    "engine/reference_cache.py",
    "sandbox/convert.py",
    "sandbox/wire.py",
    "checks/rebuild.py",
)

# (function, exact key, the arguments' floats as bytes)
_Lookup = tuple[str, str, bytes]


class _Digest:
    """sha256 over length-framed parts: no two lists of parts hash alike."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, part: str | bytes) -> None:
        data = part.encode("utf-8") if isinstance(part, str) else part
        self._hash.update(len(data).to_bytes(8, "big"))
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _files(folder: Path) -> Iterator[Path]:
    """Every file below ``folder``, sorted by relative path, caches skipped."""
    found: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS]
        found += [Path(root, n) for n in names if not n.endswith((".pyc", ".pyo"))]
    yield from sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _secret_digest(assignment: Assignment) -> str:
    # Hidden checks' arguments come from the secret: another secret, other calls.
    from grader.checks.secret import course_secret

    try:
        return hashlib.sha256(course_secret(assignment.secret)).hexdigest()
    except Exception:  # no usable secret: the hidden checks cannot run either way
        return ""


def _cpu() -> str:
    # Floating-point results may differ in their last bits between CPUs.
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor()
    wanted = ("vendor_id", "model name", "flags")
    lines = [line.strip() for line in text.splitlines() if line.split(":")[0].strip() in wanted]
    return "\n".join(dict.fromkeys(lines))


def cache_key(assignment: Assignment) -> str:
    """A digest of everything the reference's answers to the baseline run depend on."""
    digest = _Digest()
    digest.add(f"{_KIND} {CACHE_FORMAT}")
    digest.add(assignment.reference.read_bytes())
    stub = assignment.stub.resolve()
    for path in _files(assignment.directory):
        if path.resolve() == stub:
            continue
        digest.add(path.relative_to(assignment.directory).as_posix())
        digest.add(path.read_bytes())
    # The grader's code that makes the answers (a development tree changes without a
    # new version); calls are looked up by their arguments, whatever code made them.
    digest.add(grader.__version__)
    for name in _ANSWERING:
        digest.add(name)
        digest.add((_GRADER_ROOT / name).read_bytes())
    for package in _VERSIONED:
        digest.add(f"{package}={installed_version(package)}")
    digest.add(sys.version)
    digest.add(platform.machine())
    # Settings that change TensorFlow's numbers, as a grading process takes them.
    digest.add("onednn=" + os.environ.get("TF_ENABLE_ONEDNN_OPTS", "0"))
    digest.add("backend=" + os.environ.get("KERAS_BACKEND", "tensorflow"))
    digest.add(_cpu())
    digest.add(_secret_digest(assignment))
    digest.add(assignment.name)
    digest.add(assignment.module)
    # A session on the visible checks makes fewer calls than one on all of them.
    digest.add(json.dumps(assignment.only_files))
    digest.add(json.dumps([c.name for c in assignment.checks]))
    return digest.hexdigest()


class CachedReference:
    """The reference solution answering from a cache entry first, then live.

    While ``recording`` (the baseline run), every answer the live reference gives is
    kept; ``finish`` writes them with the entry's and stops recording, so a long run
    does not grow with its students' calls."""

    def __init__(
        self,
        path: Path,
        key: str,
        assignment: str,
        live: Callable[[], ModuleProxy],
    ) -> None:
        self.path = path
        self.key = key
        self.assignment = assignment
        self._live_factory = live
        self._live: ModuleProxy | None = None
        self._answers: dict[_Lookup, CallResult] = {}
        self._entries: list[dict[str, Any]] = []
        self.loaded = False  # the entry existed and was read
        self.recording = True
        self.new_answers = 0  # recorded, not yet written
        self.cached_calls = 0  # answered from the entry or the recording
        self.live_calls = 0  # answered by the live reference
        self.proxy = ModuleProxy(self._call, f"reference {assignment} (cached)")
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if (
                not isinstance(data, dict)
                or data.get("kind") != _KIND
                or data.get("format") != CACHE_FORMAT
                or data.get("key") != self.key
                or not isinstance(data.get("entries"), list)
            ):
                return
            answers: dict[_Lookup, CallResult] = {}
            for entry in data["entries"]:
                key, result = decode_entry(entry)
                answers[(key.function, key.key, key.numbers.tobytes())] = result
        except (OSError, UnicodeDecodeError, KeyError, TypeError, ValueError, RecursionError):
            return  # absent or unreadable: recorded again
        self._answers = answers
        self._entries = list(data["entries"])
        self.loaded = True

    def _call(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], gradients: bool
    ) -> CallResult:
        try:
            key = call_key(name, args, kwargs, gradients, exact=True)
        except (TypeError, ValueError):  # not a wire value: the live reference says why
            return self._live_call(name, args, kwargs, gradients)
        lookup = (name, key.key, key.numbers.tobytes())
        answer = self._answers.get(lookup)
        if answer is not None:
            self.cached_calls += 1
            return copy.deepcopy(answer)
        result = self._live_call(name, args, kwargs, gradients)
        if self.recording:
            self._answers[lookup] = copy.deepcopy(result)
            self._entries.append(encode_entry(key, gradients, result))
            self.new_answers += 1
        return result

    def _live_call(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], gradients: bool
    ) -> CallResult:
        self.live_calls += 1
        if self._live is None:
            self._live = self._live_factory()
        if gradients:
            return self._live.call_with_gradients(name, *args, **kwargs)
        return CallResult(self._live.call(name, *args, **kwargs))

    def finish(self) -> None:
        """Write the entry if answers were recorded (a folder that cannot be written:
        the next process records them again), and stop recording."""
        self.recording = False
        if not self.new_answers:
            return
        head = {"kind": _KIND, "format": CACHE_FORMAT, "key": self.key}
        head |= {"assignment": self.assignment, "entries": self._entries}
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(head, separators=(",", ":")))
            os.chmod(self.path, 0o600)
        except OSError as exc:
            print(f"grader: the reference's answers were not cached: {exc}", file=sys.stderr)
            return
        self.new_answers = 0


# One per cache file and process, so every session of a process shares the answers and
# the baseline computed with them (``reference_baseline`` keys it by the proxy).
_OPEN: dict[Path, CachedReference] = {}


def cached_reference(assignment: Assignment, folder: Path) -> CachedReference:
    """The assignment's live reference behind the answers cached in ``folder``."""
    key = cache_key(assignment)
    path = Path(folder).absolute() / f"{assignment.name}-{key[:32]}.json"
    if path not in _OPEN:

        def live() -> ModuleProxy:
            return reference_for(assignment.reference, assignment.module).proxy

        _OPEN[path] = CachedReference(path, key, assignment.name, live)
    return _OPEN[path]


def user_cache() -> Path:
    """This user's cache folder (``$XDG_CACHE_HOME/grader``), for a grading process with
    no course folder of its own, such as a Dask worker."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grader" / "reference"
