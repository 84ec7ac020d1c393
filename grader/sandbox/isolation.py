"""How strongly a student's worker is isolated, and the command that starts it.

Levels, weakest first:

- ``limits``: a separate process in its own process group, with resource limits
  (address space, file size, CPU time, no core dumps); everything in the group is
  killed when grading ends. The network and the file system are not isolated.
- ``bubblewrap``: the same limits, inside bubblewrap (Debian package ``bubblewrap``):
  no network (a private network namespace, so even 127.0.0.1 refuses), a private PID
  namespace (every process the student starts dies with the worker), an unprivileged
  user, and a read-only view of the file system that shows only what Python needs:
  the system folders (``/usr``, ``/lib*``, ``/bin``, ``/etc`` but for its files that
  are not world-readable), the Python installation and the grader package. Every
  other top-level folder (homes, ``/root``, ``/var``, ``/run``, other projects), the
  project itself, ``/tmp``, the submissions folder and the output folder are replaced
  by empty folders; only the worker's own scratch folder is writable.

``detect()`` picks the strongest level the machine offers; ``--strict LEVEL`` refuses
to run below a level.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import UsageError
from grader.paths import project_root

__all__ = [
    "LEVELS",
    "Isolation",
    "describe",
    "detect",
    "require",
    "wrap_command",
]

LEVELS = ("limits", "bubblewrap")
_DESCRIPTIONS = {
    "limits": "process group and resource limits; network and files not isolated",
    "bubblewrap": "no network, private file system and process tree, resource limits",
}


@dataclass(frozen=True)
class Isolation:
    """The isolation level in force and the paths the worker must not see."""

    level: str = "limits"
    hidden: tuple[Path, ...] = field(default_factory=tuple)


def describe(level: str) -> str:
    return f"{level} ({_DESCRIPTIONS.get(level, 'unknown')})"


@functools.cache
def _bubblewrap_works() -> bool:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    try:
        probe = subprocess.run(
            [
                bwrap,
                *_BWRAP_BASE,
                "--ro-bind",
                "/",
                "/",
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "true",
            ],
            capture_output=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def detect() -> str:
    """The strongest level this machine offers."""
    return "bubblewrap" if _bubblewrap_works() else "limits"


def require(level: str, minimum: str | None) -> None:
    """Refuse to run below ``minimum`` (``--strict``)."""
    if minimum is None:
        return
    if minimum not in LEVELS:
        raise UsageError(f"Unknown isolation level {minimum!r}; use one of {', '.join(LEVELS)}.")
    if LEVELS.index(level) < LEVELS.index(minimum):
        hint = ""
        if minimum == "bubblewrap":
            hint = " Install bubblewrap (apt-get install bubblewrap)."
        raise UsageError(
            f"Isolation here is {describe(level)}, below the required {minimum!r}.{hint}"
        )


_BWRAP_BASE = (
    "--unshare-all",
    "--unshare-user",
    "--uid",
    "65534",
    "--gid",
    "65534",
    "--die-with-parent",
    "--new-session",
)


# The top-level folders a Python program needs. Everything else at / is hidden: the
# sandbox user is the grading account (an unprivileged user namespace maps it back), so
# whatever that account may read there (its home, ssh keys, other courses' files, sockets
# under /run or /var that lead out of the sandbox) a student could otherwise read and
# print into their own feedback page.
_SYSTEM_FOLDERS = frozenset(
    {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "proc", "dev", "sys", "tmp"}
)


@functools.cache
def _hide_machine() -> tuple[str, ...]:
    """bwrap arguments that hide everything but the system folders, and the files of
    /etc only their owner or group may read (/etc/shadow when grading as root)."""
    args: list[str] = []
    for entry in sorted(Path("/").iterdir()):
        if entry.name in _SYSTEM_FOLDERS or entry.is_symlink():
            continue
        if entry.is_dir():
            args += ["--tmpfs", str(entry)]
        elif entry.is_file():
            args += ["--ro-bind", "/dev/null", str(entry)]
    everyone = stat.S_IROTH | stat.S_IXOTH
    for top, folders, files in os.walk("/etc"):
        for name in sorted(folders):
            path = os.path.join(top, name)
            if _is(path, stat.S_ISDIR) and _mode(path) & everyone != everyone:
                args += ["--tmpfs", path]
                folders.remove(name)
        for name in sorted(files):
            path = os.path.join(top, name)
            if _is(path, stat.S_ISREG) and not _mode(path) & stat.S_IROTH:
                args += ["--ro-bind", "/dev/null", path]
    return tuple(args)


def _mode(path: str) -> int:
    try:
        return os.lstat(path).st_mode
    except OSError:  # gone since it was listed
        return 0


def _is(path: str, kind: Callable[[int], bool]) -> bool:
    return kind(_mode(path))


def _python_installation() -> list[Path]:
    """Where the Python running the grader (and so the worker) lives."""
    prefixes = (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    paths = {Path(p).resolve() for p in prefixes}
    paths.add(Path(sys.executable).resolve().parent.parent)
    return sorted(p for p in paths if p != Path("/"))


def wrap_command(command: Sequence[str], isolation: Isolation, scratch: Path) -> list[str]:
    """The command that runs ``command`` at the given isolation level."""
    if isolation.level != "bubblewrap":
        return list(command)
    bwrap = shutil.which("bwrap") or "bwrap"
    args = [bwrap, *_BWRAP_BASE, "--ro-bind", "/", "/", *_hide_machine(), "--tmpfs", "/tmp"]
    root = project_root()
    python = _python_installation()
    # Python back in, wherever it lives (a pyenv under /root, a conda under /opt); inside
    # the project it comes back below, after the project is hidden.
    for path in python:
        if path.parts[1] not in _SYSTEM_FOLDERS and path.exists():
            args += ["--ro-bind", str(path), str(path)]
    # The grader package the worker imports (in the checkout, or wherever it is installed
    # when GRADER_ROOT points at another folder of assignments), and a Python that the
    # hiding below or the fresh /tmp covered (a venv inside the project or under /tmp).
    package = Path(__file__).resolve().parents[1]
    covered = [p for p in python if p.is_relative_to(root) or p.is_relative_to("/tmp")]
    keep = [package, *covered]
    for path in (root, *isolation.hidden):
        resolved = path.resolve()
        # Anything under /tmp is already behind the fresh /tmp.
        if resolved.is_dir() and resolved != Path("/") and not resolved.is_relative_to("/tmp"):
            args += ["--tmpfs", str(resolved)]
    for path in keep:
        resolved = path.resolve()
        if resolved.exists():
            args += ["--ro-bind", str(resolved), str(resolved)]
    # The empty folders that hide the machine outlive every student of a template: a
    # module planted in one (the project folder is on sys.path) would run in the next
    # student's worker. Read-only once the binds inside them are made; /tmp stays
    # writable and is emptied after every student.
    hiding = {args[i + 1] for i, arg in enumerate(args) if arg == "--tmpfs"} - {"/tmp"}
    for folder in sorted(hiding):
        args += ["--remount-ro", folder]
    resolved_scratch = scratch.resolve()
    args += ["--bind", str(resolved_scratch), str(resolved_scratch)]
    args += ["--proc", "/proc", "--dev", "/dev", "--chdir", str(resolved_scratch)]
    return [*args, *command]
