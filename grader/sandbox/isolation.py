"""How strongly a student's worker is isolated, and the command that starts it.

Levels, weakest first:

- ``limits``: a separate process in its own process group, with resource limits
  (address space, file size, CPU time, processes, no core dumps); every process it
  starts is killed when grading ends. The network and the file system are not
  isolated, and the student's code runs as the grader's own user.
- ``landlock``: needs no package and no privilege, only kernel features an ordinary
  container allows. Each worker confines itself right after it is forked, before the
  student's module is imported: Landlock lets it read only the system folders, the
  Python installation and the grader package and write only its scratch folder (and,
  where the kernel's Landlock ABI has them, refuses TCP, abstract UNIX sockets and
  signals to processes outside it); a seccomp filter refuses new sockets, ptrace and the
  other system calls listed in ``grader.sandbox.seccomp``; when the grader runs as root
  the worker also drops to a user of its own, to which everything the grader keeps
  from students is unreadable (``protect``).
- ``bubblewrap``: the same limits, inside bubblewrap (Debian package ``bubblewrap``):
  no network (a private network namespace, so even 127.0.0.1 refuses), a private PID
  namespace (every process the student starts dies with the worker), an unprivileged
  user, and a read-only view of the file system that shows only what Python needs:
  the system folders (``/usr``, ``/lib*``, ``/bin``, ``/etc`` but for its files that
  are not world-readable), the Python installation and the grader package. Every
  other top-level folder (homes, ``/root``, ``/var``, ``/run``, other projects), the
  project itself, ``/tmp``, the submissions folder and the output folder are replaced
  by empty folders; only the worker's own scratch folder is writable. Landlock and
  seccomp apply inside it too, where the kernel has them.

``detect()`` picks the strongest level the machine offers, checking each mechanism by
using it; ``choose()`` refuses to grade below ``landlock`` unless the instructor allows
it, and ``--strict LEVEL`` refuses to run below a level.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from grader.errors import UsageError

__all__ = [
    "LEVELS",
    "WEAK_LEVEL_RISKS",
    "Capabilities",
    "Isolation",
    "Level",
    "available",
    "capabilities",
    "choose",
    "confinement",
    "describe",
    "detect",
    "guard",
    "level_named",
    "protect",
    "reach",
    "require",
    "wrap_command",
]

# Weakest first.
Level = Literal["limits", "landlock", "bubblewrap"]
LEVELS: tuple[Level, ...] = get_args(Level)
# The weakest level that grades without an explicit "yes, I accept the risk".
SAFE_LEVEL: Level = "landlock"
WEAK_LEVEL_RISKS = (
    "at the limits level a student's code runs as the grader's own user: it can read the "
    "reference solution, the hidden checks and the course secret and print them into its "
    "own feedback, reach the network, signal or kill the grader, and rewrite result files "
    "during or after the run"
)


@dataclass(frozen=True)
class Isolation:
    """The isolation level in force and the paths the worker must not see (the course
    folder among them: its reference solutions, check files and secret)."""

    level: Level = "limits"
    hidden: tuple[Path, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Capabilities:
    """What this machine's kernel and packages offer, each found by using it."""

    bubblewrap: bool
    landlock_abi: int  # 0: no Landlock
    seccomp: bool
    root: bool
    why_not: str = ""  # why the landlock level is not available, when it is not

    @property
    def landlock_level(self) -> bool:
        return self.landlock_abi > 0 and self.seccomp


def describe(level: str) -> str:
    """The level, what it does, and what it does not cover."""
    if level == "bubblewrap":
        caps = capabilities()
        extra = ""
        if caps.landlock_level:
            extra = f"; Landlock ABI {caps.landlock_abi} and seccomp inside it too"
        return (
            "bubblewrap (no network, private file system and process tree, an unprivileged "
            f"user, resource limits{extra})"
        )
    if level == "landlock":
        caps = capabilities()
        abi = caps.landlock_abi
        parts = [
            f"Landlock ABI {abi}: reads only system folders, Python and the grader package, "
            "writes only its scratch folder",
            "seccomp: no sockets, ptrace or namespaces",
        ]
        if caps.root:
            parts.append("a user of its own")
        gaps = ["it sees the machine's process list"]
        if not caps.root:
            gaps.append("it runs as the grader's own user")
        if abi < 6:
            gaps.append(
                "signals to the grader's own processes are not refused (Landlock ABI < 6)"
                if not caps.root
                else "abstract UNIX sockets are not scoped (Landlock ABI < 6)"
            )
        return f"landlock ({'; '.join(parts)}; not covered: {', '.join(gaps)})"
    if level == "limits":
        return (
            "limits (a process group and resource limits only: student code runs as the "
            "grader's user, can read the reference and hidden checks and reach the network)"
        )
    return f"{level} (unknown)"


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


# Run in a fresh interpreter: confine a forked child as a worker is confined, then check
# that it took (a file outside the rules must be unreadable, a socket refused).
_PROBE = """
import json, os, socket, sys
sys.path.insert(0, sys.argv[1])
from grader.sandbox import landlock, seccomp
secret, scratch = sys.argv[2], sys.argv[3]
out = {"abi": landlock.abi(), "seccomp": seccomp.supported(), "why": ""}
out["kernel_abi"] = out["abi"]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    report = {"landlock": False, "seccomp": False, "why": ""}
    try:
        landlock.restrict([sys.prefix], [scratch])
        try:
            open(secret).close()
            report["why"] = "Landlock did not hide a file"
        except PermissionError:
            report["landlock"] = True
        seccomp.confine()
        try:
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
            report["why"] = "seccomp did not refuse a socket"
        except PermissionError:
            report["seccomp"] = True
    except Exception as exc:
        report["why"] = f"{type(exc).__name__}: {exc}"
    os.write(w, json.dumps(report).encode())
    os._exit(0)
os.close(w)
data = b""
while chunk := os.read(r, 4096):
    data += chunk
os.waitpid(pid, 0)
child = json.loads(data or b"{}")
out["abi"] = out["abi"] if child.get("landlock") else 0
out["seccomp"] = bool(out["seccomp"] and child.get("seccomp"))
out["why"] = child.get("why", "the probe died")
print(json.dumps(out))
"""


@functools.cache
def capabilities() -> Capabilities:
    """Find out, by using them, which mechanisms work here."""
    root = os.geteuid() == 0
    bubblewrap = _bubblewrap_works()
    with tempfile.TemporaryDirectory(prefix="grader-probe-") as folder:
        secret = Path(folder, "hidden")
        secret.write_text("hidden\n")
        scratch = Path(folder, "scratch")
        scratch.mkdir()
        package_parent = str(Path(__file__).resolve().parents[2])
        try:
            probe = subprocess.run(
                [sys.executable, "-I", "-c", _PROBE, package_parent, str(secret), str(scratch)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            found = json.loads(probe.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as exc:
            return Capabilities(bubblewrap, 0, False, root, f"the probe failed: {exc}")
    abi = int(found.get("abi") or 0)
    seccomp_works = bool(found.get("seccomp"))
    why = str(found.get("why") or "")
    if abi == 0 and int(found.get("kernel_abi") or 0) == 0:
        why = "this kernel has no Landlock (it needs Linux 5.13 or later, with Landlock enabled)"
    elif not seccomp_works and not why:
        why = "seccomp filters do not work here"
    return Capabilities(bubblewrap, abi, seccomp_works, root, why)


def detect() -> Level:
    """The strongest level this machine offers."""
    caps = capabilities()
    if caps.bubblewrap:
        return "bubblewrap"
    if caps.landlock_level:
        return "landlock"
    return "limits"


def available(level: str) -> bool:
    caps = capabilities()
    return {"limits": True, "landlock": caps.landlock_level, "bubblewrap": caps.bubblewrap}.get(
        level, False
    )


def level_named(name: str) -> Level:
    """The level called ``name``; ``UsageError`` for any other text."""
    for level in LEVELS:
        if level == name:
            return level
    raise UsageError(f"Unknown isolation level {name!r}; use one of {', '.join(LEVELS)}.")


def _level_index(level: str) -> int:
    return LEVELS.index(level_named(level))


def require(level: str, minimum: str | None) -> None:
    """Refuse to run below ``minimum`` (``--strict``)."""
    if minimum is None:
        return
    if _level_index(level) < _level_index(minimum):
        hint = ""
        if minimum == "bubblewrap":
            hint = " Install bubblewrap (apt-get install bubblewrap)."
        elif minimum == "landlock":
            hint = f" {_landlock_hint()}"
        raise UsageError(
            f"Isolation here is {describe(level)}, below the required {minimum!r}.{hint}"
        )


def _landlock_hint() -> str:
    why = capabilities().why_not
    return (
        f"The landlock level is not available here ({why}). Install bubblewrap "
        "(apt-get install bubblewrap), or grade on a Linux 5.13+ kernel with Landlock enabled."
    )


def choose(
    requested: str | None = None, *, allow_weak: bool = False, strict: str | None = None
) -> Level:
    """The level to grade at: ``requested`` (it must work here) or the strongest this
    machine offers. Below ``landlock`` only with ``allow_weak``: a student could then
    read the reference and forge results. ``GRADER_ISOLATION`` and
    ``GRADER_ALLOW_WEAK_ISOLATION=1`` say the same for entry points an LMS starts."""
    requested = requested or os.environ.get("GRADER_ISOLATION") or None
    allow_weak = allow_weak or os.environ.get("GRADER_ALLOW_WEAK_ISOLATION") == "1"
    level: Level
    if requested is not None:
        level = level_named(requested)
        if not available(level):
            why = (
                "bubblewrap cannot start here"
                if requested == "bubblewrap"
                else capabilities().why_not
            )
            raise UsageError(f"Isolation level {requested!r} is not available here: {why}.")
    else:
        level = detect()
    require(level, strict)
    if _level_index(level) < _level_index(SAFE_LEVEL) and not allow_weak:
        reason = "" if requested == level else f" {_landlock_hint()}"
        raise UsageError(
            f"Refusing to grade at isolation level {level!r}: {WEAK_LEVEL_RISKS}.{reason} "
            "To grade anyway, pass --allow-weak-isolation (or set allow_weak_isolation = true "
            "under [grading] in assignment.toml)."
        )
    return level


# -- the landlock level: what a worker may touch ------------------------------------------

# Folders a Python program reads. Of /dev only the devices below: the terminals there
# (the instructor's own, when grading as their user) must stay out of reach.
_READ_ONLY_SYSTEM = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/proc",
    "/sys",
)
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/urandom", "/dev/random")


def confinement(isolation: Isolation, scratch: Path) -> dict[str, Any] | None:
    """What a worker forked for ``isolation`` confines itself to (sent to the template
    with the fork request), or None when it does not confine itself."""
    if isolation.level == "limits":
        return None
    if not capabilities().landlock_level:
        if isolation.level == "landlock":
            # Never a worker less confined than the level in force says.
            raise UsageError(f"Landlock is not available here: {capabilities().why_not}")
        return None
    package = Path(__file__).resolve().parents[1]
    read_only = [*_READ_ONLY_SYSTEM, *map(str, _python_installation()), str(package)]
    return {"read_only": read_only, "read_write": [str(scratch.resolve()), *_DEVICES]}


def protect(paths: Iterable[Path], keep: Sequence[Path] = ()) -> list[Path]:
    """Make ``paths`` unreadable to other users (the landlock level's worker user, when
    the grader runs as root), but for the way to each of ``keep`` (the grader package
    and the Python installation a worker imports from), whose parents stay searchable
    and not listable. What was changed."""
    keep_resolved = [p.resolve() for p in [*keep, *_worker_needs()]]
    changed: list[Path] = []

    def hide(path: Path) -> None:
        try:
            info = path.lstat()
        except OSError:
            return
        if stat.S_ISLNK(info.st_mode):
            return
        inside = [k for k in keep_resolved if k != path and k.is_relative_to(path)]
        if any(k == path or path.is_relative_to(k) for k in keep_resolved):
            return
        if stat.S_ISDIR(info.st_mode) and inside:
            # On the way to something a worker needs: searchable, not listable.
            wanted = (info.st_mode & ~stat.S_IRWXO) | stat.S_IXOTH
            if stat.S_IMODE(info.st_mode) != stat.S_IMODE(wanted):
                os.chmod(path, stat.S_IMODE(wanted))
                changed.append(path)
            for child in sorted(path.iterdir()):
                hide(child)
            return
        if info.st_mode & stat.S_IRWXO:
            os.chmod(path, stat.S_IMODE(info.st_mode) & ~stat.S_IRWXO)
            changed.append(path)

    for path in paths:
        hide(path.resolve())
    return changed


def guard(isolation: Isolation, course: Path) -> list[Path]:
    """Graded as root at the landlock level, workers run as a user of their own: make the
    course (reference, check files, course secret) and every hidden path unreadable to
    it, whatever Landlock does. What was changed."""
    if isolation.level != "landlock" or os.geteuid() != 0:
        return []
    return [*reach(_worker_needs()), *protect([course, *isolation.hidden])]


def reach(paths: Iterable[Path]) -> list[Path]:
    """Make the folders leading to ``paths`` searchable (not listable) by other users, so
    a worker running as its own user can import Python and the grader from them (a
    Python installed under /root, say). What was changed."""
    changed: list[Path] = []
    for path in paths:
        for folder in reversed(path.resolve().parents):
            try:
                mode = stat.S_IMODE(folder.stat().st_mode)
            except OSError:
                break
            if not mode & stat.S_IXOTH:
                os.chmod(folder, mode | stat.S_IXOTH)
                changed.append(folder)
    return changed


def _worker_needs() -> list[Path]:
    return [Path(__file__).resolve().parents[1], *_python_installation()]


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


# The sandbox's own /tmp and /dev/shm are memory: bounded like the scratch folder (where
# Landlock runs too, workers cannot write them at all).
_TMPFS_BYTES = 512 << 20


@functools.cache
def _sized() -> tuple[str, ...]:
    """``--size`` for the next tmpfs, where this bwrap has it (0.8 and later)."""
    bwrap = shutil.which("bwrap") or "bwrap"
    probe = [bwrap, *_BWRAP_BASE, "--ro-bind", "/", "/", "--size", "4096", "--tmpfs", "/tmp"]
    try:
        done = subprocess.run([*probe, "true"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return ("--size", str(_TMPFS_BYTES)) if done.returncode == 0 else ()


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
    args = [bwrap, *_BWRAP_BASE, "--ro-bind", "/", "/", *_hide_machine()]
    args += [*_sized(), "--tmpfs", "/tmp"]
    python = _python_installation()
    # Python back in, wherever it lives (a pyenv under /root, a conda under /opt); inside
    # the project it comes back below, after the project is hidden.
    for path in python:
        if path.parts[1] not in _SYSTEM_FOLDERS and path.exists():
            args += ["--ro-bind", str(path), str(path)]
    # The grader package the worker imports (in a course's checkout, or wherever it is
    # installed), and a Python that the hiding below or the fresh /tmp covered (a venv
    # inside the course folder or under /tmp).
    package = Path(__file__).resolve().parents[1]
    hidden = [p.resolve() for p in isolation.hidden]
    covered = [p for p in python if any(p.is_relative_to(h) for h in [*hidden, Path("/tmp")])]
    keep = [package, *covered]
    folders = [h for h in hidden if h.is_dir() and h != Path("/")]
    for resolved in folders:
        # Anything under /tmp is already behind the fresh /tmp.
        if not resolved.is_relative_to("/tmp"):
            args += ["--tmpfs", str(resolved)]
    for resolved in hidden:
        # A hidden file outside every hidden folder (a course secret kept elsewhere) reads
        # as empty.
        masked = any(resolved.is_relative_to(f) for f in [*folders, Path("/tmp")])
        if resolved.is_file() and not masked:
            args += ["--ro-bind", "/dev/null", str(resolved)]
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
    args += ["--proc", "/proc", "--dev", "/dev", *_sized(), "--tmpfs", "/dev/shm"]
    args += ["--chdir", str(resolved_scratch)]
    return [*args, *command]
