"""Landlock through ctypes: confine a process's file system, TCP and signal reach for good.

Landlock (Linux 5.13+) lets an unprivileged process give up access it has: after
``restrict()`` the process and everything it starts may touch only the folders it was
given, whatever the file permissions say, and no ``setuid`` program can give it back
(``no_new_privs``). What the kernel can enforce grows with its ABI version:

- 1: file system (read, write, execute, create, remove); every rename or link that
  changes a file's parent folder is refused.
- 2: renames and links between folders (REFER) within the writable folders.
- 3: ``truncate()`` (below 3 a file under ``read_only`` can be truncated if the file
  permissions allow it).
- 4: TCP ``bind`` and ``connect``; UDP and other protocols are not covered.
- 5: ``ioctl`` on device files opened after ``restrict()``.
- 6: abstract UNIX sockets and signals to processes outside the sandbox; it also stops
  ptrace and ``/proc/PID/fd`` from reaching out (that holds from ABI 1).

Processes outside the sandbox stay out of ptrace's reach, and so do their
``/proc/PID/fd``, ``mem``, ``cwd``, ``exe``; but a root process under Landlock can
still read another's ``/proc/PID/environ``, ``maps`` and ``auxv`` (kernel 6.18). Grant
the worker its own ``/proc/PID`` (what TensorFlow reads), not ``/proc``.

Only libc is used: the three syscalls have the same number on every architecture.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from grader.errors import ConfinementError

__all__ = ["KNOWN_ABI", "ConfinementError", "abi", "restrict"]

KNOWN_ABI = 7  # the newest ABI whose rights this module knows

_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# File system rights (LANDLOCK_ACCESS_FS_*).
_EXECUTE = 1 << 0
_WRITE_FILE = 1 << 1
_READ_FILE = 1 << 2
_READ_DIR = 1 << 3
_REMOVE_DIR = 1 << 4
_REMOVE_FILE = 1 << 5
_MAKE_CHAR = 1 << 6
_MAKE_DIR = 1 << 7
_MAKE_REG = 1 << 8
_MAKE_SOCK = 1 << 9
_MAKE_FIFO = 1 << 10
_MAKE_BLOCK = 1 << 11
_MAKE_SYM = 1 << 12
_REFER = 1 << 13  # ABI 2
_TRUNCATE = 1 << 14  # ABI 3
_IOCTL_DEV = 1 << 15  # ABI 5

_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1

# The rights a rule on a non-directory may carry; any other is EINVAL.
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_READ_RIGHTS = _EXECUTE | _READ_FILE | _READ_DIR
# Device nodes are never created, even by root in its scratch folder: one would
# reopen the disk or memory past every rule.
_WRITE_RIGHTS = (
    _WRITE_FILE
    | _REMOVE_DIR
    | _REMOVE_FILE
    | _MAKE_DIR
    | _MAKE_REG
    | _MAKE_SOCK
    | _MAKE_FIFO
    | _MAKE_SYM
    | _REFER
    | _TRUNCATE
    | _IOCTL_DEV
)


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),  # ABI 4
        ("scoped", ctypes.c_uint64),  # ABI 6
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


# Loaded once in the process that forks workers, so a worker never opens a library.
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int


def _syscall(number: int, *args: int | ctypes._CArgObject | None) -> int:
    converted = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    result: int = _libc.syscall(ctypes.c_long(number), *converted)
    return result


def _error(step: str) -> ConfinementError:
    code = ctypes.get_errno()
    return ConfinementError(code, f"Landlock: {step}: {os.strerror(code)}")


def abi() -> int:
    """The kernel's Landlock ABI version; 0 when it has none.

    ENOSYS: no Landlock in this kernel; EOPNOTSUPP: built in but disabled at boot;
    EPERM: the syscall is blocked (a container's seccomp profile).
    """
    version = _syscall(_SYS_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    if version >= 0:
        return version
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return 0
    raise ConfinementError(code, f"Landlock: ABI version: {os.strerror(code)}")


def _handled(version: int) -> tuple[int, int, int, int]:
    """The rights the ABI knows: (file system, network, scopes, size of the ruleset attr)."""
    fs = (1 << 13) - 1
    if version >= 2:
        fs |= _REFER
    if version >= 3:
        fs |= _TRUNCATE
    if version >= 5:
        fs |= _IOCTL_DEV
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if version >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if version >= 6 else 0
    size = 24 if version >= 6 else 16 if version >= 4 else 8
    return fs, net, scoped, size


def _threads() -> int | None:
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _add_rule(ruleset: int, path: str | Path, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return  # a path this process cannot reach stays out of reach: no rule is stricter
    except OSError as exc:
        raise ConfinementError(exc.errno, f"Landlock: cannot open {path}: {exc.strerror}") from exc
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        if not rights:
            return
        rule = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        if _syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise _error(f"rule for {path}")
    finally:
        os.close(fd)


def restrict(read_only: Sequence[str | Path], read_write: Sequence[str | Path]) -> int:
    """Confine this process (and every process it starts) for good.

    It may read and execute under ``read_only``; read, execute, write, create (but
    device nodes), rename and remove under ``read_write``; nothing else on the file
    system. Where the ABI allows: no TCP bind or connect (4), no abstract UNIX sockets
    and no signals to processes outside the sandbox (6). Sets ``no_new_privs``. Paths
    that do not exist, or that this process may not search, are skipped; a
    non-directory gets only the rights that apply to files. Returns the ABI applied
    (the kernel's, at most ``KNOWN_ABI``). Raises ``ConfinementError`` if the kernel has
    no Landlock or any step fails; nothing is applied then (but ``no_new_privs``).
    Call it while the process has one thread: the kernel confines only the caller.
    """
    version = abi()
    if version == 0:
        raise ConfinementError(errno.ENOSYS, "Landlock: this kernel does not offer it")
    version = min(version, KNOWN_ABI)
    threads = _threads()
    if threads is not None and threads > 1:
        raise ConfinementError(
            errno.EBUSY, f"Landlock: the process has {threads} threads; only one would be confined"
        )
    fs, net, scoped, size = _handled(version)
    attr = _RulesetAttr(handled_access_fs=fs, handled_access_net=net, scoped=scoped)
    ruleset = _syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        raise _error("create ruleset")
    try:
        for path in read_only:
            _add_rule(ruleset, path, _READ_RIGHTS & fs)
        for path in read_write:
            _add_rule(ruleset, path, (_READ_RIGHTS | _WRITE_RIGHTS) & fs)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, *map(ctypes.c_ulong, (1, 0, 0, 0))) != 0:
            raise _error("no_new_privs")
        if _syscall(_SYS_RESTRICT_SELF, ruleset, 0) != 0:
            raise _error("restrict self")
    finally:
        os.close(ruleset)
    return version
