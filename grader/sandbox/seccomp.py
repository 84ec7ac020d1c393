"""seccomp-bpf through ctypes: the system calls a worker never needs fail, for good.

``confine()`` installs the worker's filter: no new sockets but UNIX socketpairs, no
namespaces, no tracing or reading other processes, no mounts, kernel modules, keyrings,
BPF, perf, io_uring (it would open sockets past the filter), no memory the address-space
limit does not count (``memfd_create``, System V shared memory), and none of what only
root may do to files' owners, the clock or the host name. Everything else is allowed:
a process that has imported TensorFlow keeps its threads, ``mmap`` and ``futex``. The
filter is a short BPF program assembled here (x86_64 and aarch64); only libc is used.
"""

from __future__ import annotations

import ctypes
import errno as errnos
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from grader.errors import ConfinementError

__all__ = ["ConfinementError", "confine", "deny", "supported"]

# seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6].
_NR = 0
_ARCH = 4


def _arg_low(index: int) -> int:
    """Offset of the low 32 bits of args[index] (both architectures are little-endian)."""
    return 16 + 8 * index


# Classic BPF.
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JSET = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET = 0x06  # BPF_RET | BPF_K
_ALU_AND_K = 0x54  # BPF_ALU | BPF_AND | BPF_K

_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_ALLOW = 0x7FFF0000

_PR_SET_NO_NEW_PRIVS = 38
_SET_MODE_FILTER = 1
_FILTER_FLAG_TSYNC = 1  # every thread of the process, not only the caller

_AF_UNIX = 1
_X32_BIT = 0x40000000
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. (CLONE_NEWTIME
# shares its bit with the exit signal in clone(); only clone3 and unshare take it.)
_CLONE_NEW = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
_CLONE_NEW |= 0x20000000 | 0x40000000

# Numbers common to both tables (asm-generic numbering from 403 up).
_COMMON = {
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "clone3": 435,
    "pidfd_getfd": 438,
    "mount_setattr": 442,
    "quotactl_fd": 443,
    "landlock_create_ruleset": 444,
    "landlock_add_rule": 445,
    "landlock_restrict_self": 446,
    "memfd_secret": 447,
    "openat2": 437,
    "fchmodat2": 452,
    "open_tree_attr": 467,
}

_X86_64 = {
    "open": 2,
    "shmget": 29,
    "socket": 41,
    "connect": 42,
    "socketpair": 53,
    "clone": 56,
    "semget": 64,
    "msgget": 68,
    "chmod": 90,
    "fchmod": 91,
    "chown": 92,
    "fchown": 93,
    "lchown": 94,
    "ptrace": 101,
    "utime": 132,
    "setpriority": 141,
    "sched_setparam": 142,
    "sched_setscheduler": 144,
    "syslog": 103,
    "vhangup": 153,
    "modify_ldt": 154,
    "pivot_root": 155,
    "adjtimex": 159,
    "chroot": 161,
    "acct": 163,
    "settimeofday": 164,
    "mount": 165,
    "umount2": 166,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "sethostname": 170,
    "setdomainname": 171,
    "iopl": 172,
    "ioperm": 173,
    "setxattr": 188,
    "lsetxattr": 189,
    "fsetxattr": 190,
    "removexattr": 197,
    "lremovexattr": 198,
    "fremovexattr": 199,
    "sched_setaffinity": 203,
    "init_module": 175,
    "delete_module": 176,
    "quotactl": 179,
    "clock_settime": 227,
    "utimes": 235,
    "mq_open": 240,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "ioprio_set": 251,
    "migrate_pages": 256,
    "openat": 257,
    "fchownat": 260,
    "futimesat": 261,
    "fchmodat": 268,
    "unshare": 272,
    "move_pages": 279,
    "utimensat": 280,
    "perf_event_open": 298,
    "fanotify_init": 300,
    "prlimit64": 302,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "clock_adjtime": 305,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "finit_module": 313,
    "sched_setattr": 314,
    "seccomp": 317,
    "memfd_create": 319,
    "kexec_file_load": 320,
    "bpf": 321,
    "userfaultfd": 323,
    **_COMMON,
}

_AARCH64 = {
    "setxattr": 5,
    "lsetxattr": 6,
    "fsetxattr": 7,
    "removexattr": 14,
    "lremovexattr": 15,
    "fremovexattr": 16,
    "ioprio_set": 30,
    "umount2": 39,
    "mount": 40,
    "pivot_root": 41,
    "chroot": 51,
    "fchmod": 52,
    "fchmodat": 53,
    "fchownat": 54,
    "openat": 56,
    "fchown": 55,
    "vhangup": 58,
    "quotactl": 60,
    "utimensat": 88,
    "acct": 89,
    "unshare": 97,
    "kexec_load": 104,
    "init_module": 105,
    "delete_module": 106,
    "clock_settime": 112,
    "syslog": 116,
    "ptrace": 117,
    "sched_setparam": 118,
    "sched_setscheduler": 119,
    "sched_setaffinity": 122,
    "setpriority": 140,
    "reboot": 142,
    "sethostname": 161,
    "setdomainname": 162,
    "settimeofday": 170,
    "adjtimex": 171,
    "mq_open": 180,
    "msgget": 186,
    "semget": 190,
    "shmget": 194,
    "socket": 198,
    "socketpair": 199,
    "connect": 203,
    "add_key": 217,
    "request_key": 218,
    "keyctl": 219,
    "clone": 220,
    "swapon": 224,
    "swapoff": 225,
    "migrate_pages": 238,
    "move_pages": 239,
    "perf_event_open": 241,
    "fanotify_init": 262,
    "name_to_handle_at": 264,
    "open_by_handle_at": 265,
    "prlimit64": 261,
    "clock_adjtime": 266,
    "setns": 268,
    "process_vm_readv": 270,
    "process_vm_writev": 271,
    "finit_module": 273,
    "sched_setattr": 274,
    "seccomp": 277,
    "memfd_create": 279,
    "bpf": 280,
    "userfaultfd": 282,
    "kexec_file_load": 294,
    **_COMMON,
}


@dataclass(frozen=True)
class _Arch:
    audit: int  # AUDIT_ARCH_*, as seccomp_data.arch reports it
    syscalls: dict[str, int]
    x32: bool  # x86_64 also accepts x32 calls (nr | 0x40000000)


_ARCHES = {
    "x86_64": _Arch(0xC000003E, _X86_64, x32=True),
    "aarch64": _Arch(0xC00000B7, _AARCH64, x32=False),
}

# Denied with EPERM by confine(): whatever they are called with.
_DENIED = (
    "socket",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kexec_load",
    "kexec_file_load",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "open_tree_attr",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "memfd_create",
    "memfd_secret",
    "shmget",
    # System V queues and semaphores and POSIX queues outlive the worker: a channel
    # between one student's worker and the next.
    "msgget",
    "semget",
    "mq_open",
    "init_module",
    "finit_module",
    "delete_module",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "open_by_handle_at",
    "name_to_handle_at",
    "fanotify_init",
    "quotactl",
    "quotactl_fd",
    # What only root may do, denied in case the worker still is root: Landlock does
    # not cover owners, and the host's clock and name are shared.
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "syslog",
    "vhangup",
    "iopl",
    "ioperm",
    "modify_ldt",
    # Landlock has no right for a file's mode, times or extended attributes: a worker
    # running as the grader's user could otherwise make the course or a classmate's
    # submission unreadable.
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "utime",
    "utimes",
    "utimensat",
    "futimesat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    # Sockets come only from socketpair(): connect() would reach any named UNIX socket.
    "connect",
    # Its flags are behind a pointer (O_TMPFILE: a file no folder scan can see).
    "openat2",
)
# Calls an architecture does not have (aarch64 has no chown, lchown, port I/O, open,
# chmod or utime: only their *at forms).
_NOT_EVERYWHERE = frozenset(
    {"chown", "lchown", "iopl", "ioperm", "modify_ldt", "chmod", "utime", "utimes", "futimesat"}
)
# Denied unless aimed at the caller itself (the pid argument, at this index, is 0): a
# worker running as the grader's user could otherwise lower the grader's limits, its
# priority or its CPUs.
_OWN_PROCESS_ONLY = {
    "prlimit64": 0,
    "sched_setaffinity": 0,
    "sched_setscheduler": 0,
    "sched_setparam": 0,
    "sched_setattr": 0,
    "migrate_pages": 0,
    "move_pages": 0,
    "setpriority": 1,
    "ioprio_set": 1,
}
_SOCK_TYPE_MASK = 0xF
_SOCK_STREAM = 1
_SOCK_SEQPACKET = 5
_O_TMPFILE = 0x400000  # __O_TMPFILE


# Loaded once in the process that forks workers, so a worker never opens a library.
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int


class _SockFilter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter)))


class _Program:
    """A BPF program with named jump targets, resolved when assembled."""

    def __init__(self) -> None:
        self._code: list[tuple[int, str | None, str | None, int]] = []
        self._labels: dict[str, int] = {}

    def load(self, offset: int) -> None:
        self._code.append((_LD_W_ABS, None, None, offset))

    def jump(self, code: int, k: int, true: str | None, false: str | None) -> None:
        """Go to label ``true`` if the test holds, else ``false`` (None: the next one)."""
        self._code.append((code, true, false, k))

    def alu_and(self, k: int) -> None:
        self._code.append((_ALU_AND_K, None, None, k))

    def ret(self, action: int) -> None:
        self._code.append((_RET, None, None, action))

    def label(self, name: str) -> None:
        self._labels[name] = len(self._code)

    def assemble(self) -> Sequence[_SockFilter]:
        def offset(index: int, target: str | None) -> int:
            if target is None:
                return 0
            distance = self._labels[target] - index - 1
            if not 0 <= distance <= 255:
                raise ConfinementError(errnos.EINVAL, f"seccomp: jump to {target} out of range")
            return distance

        return [
            _SockFilter(code, offset(i, true), offset(i, false), k)
            for i, (code, true, false, k) in enumerate(self._code)
        ]


def _arch() -> _Arch | None:
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        return None  # a 32-bit Python makes the calls of another ABI
    return _ARCHES.get(os.uname().machine)


def _required_arch() -> _Arch:
    arch = _arch()
    if arch is None:
        raise ConfinementError(errnos.ENOSYS, f"seccomp: no syscall table for {os.uname().machine}")
    return arch


def supported() -> bool:
    """Whether this architecture has a syscall table here (x86_64 and aarch64)."""
    return _arch() is not None


def _native(arch: _Arch) -> _Program:
    """A program whose first lines kill any other ABI and leave the call's number in A."""
    program = _Program()
    program.load(_ARCH)
    program.jump(_JEQ, arch.audit, None, "kill")
    program.load(_NR)
    return program


def _finish(program: _Program) -> None:
    program.ret(_RET_ALLOW)
    program.label("kill")
    program.ret(_RET_KILL_PROCESS)
    program.label("eperm")
    program.ret(_RET_ERRNO | errnos.EPERM)
    program.label("enosys")
    program.ret(_RET_ERRNO | errnos.ENOSYS)


def _worker_program(arch: _Arch) -> _Program:
    program = _native(arch)
    nr = arch.syscalls
    if arch.x32:
        program.jump(_JSET, _X32_BIT, "eperm", None)
    for name in _DENIED:
        if name in nr or name not in _NOT_EVERYWHERE:
            program.jump(_JEQ, nr[name], "eperm", None)
    # glibc falls back to clone() when clone3 is missing; clone3's flags are behind a
    # pointer a filter cannot read.
    program.jump(_JEQ, nr["clone3"], "enosys", None)
    # Each test below either returns or leaves A (the number) untouched.
    program.jump(_JEQ, nr["clone"], None, "not_clone")
    program.load(_arg_low(0))
    program.jump(_JSET, _CLONE_NEW, "eperm", "allow")
    program.label("not_clone")
    program.jump(_JEQ, nr["socketpair"], None, "not_socketpair")
    program.load(_arg_low(0))
    program.jump(_JEQ, _AF_UNIX, None, "eperm")
    # Streams only: a datagram socket could still send to a named socket.
    program.load(_arg_low(1))
    program.alu_and(_SOCK_TYPE_MASK)
    program.jump(_JEQ, _SOCK_STREAM, "allow", None)
    program.jump(_JEQ, _SOCK_SEQPACKET, "allow", "eperm")
    program.label("not_socketpair")
    for name, index in _OWN_PROCESS_ONLY.items():
        program.jump(_JEQ, nr[name], None, f"not_{name}")
        program.load(_arg_low(index))
        program.jump(_JEQ, 0, "allow", "eperm")
        program.label(f"not_{name}")
    # O_TMPFILE makes a file without a name, which the scratch folder's size misses.
    for name, index in (("openat", 2), ("open", 1)):
        if name in nr:
            program.jump(_JEQ, nr[name], None, f"not_{name}")
            program.load(_arg_low(index))
            program.jump(_JSET, _O_TMPFILE, "eperm", "allow")
            program.label(f"not_{name}")
    program.label("allow")
    _finish(program)
    return program


def _install(arch: _Arch, program: _Program) -> None:
    instructions = program.assemble()
    array = (_SockFilter * len(instructions))(*instructions)
    fprog = _SockFprog(len(instructions), ctypes.cast(array, ctypes.POINTER(_SockFilter)))
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, *map(ctypes.c_ulong, (1, 0, 0, 0))) != 0:
        code = ctypes.get_errno()
        raise ConfinementError(code, f"seccomp: no_new_privs: {os.strerror(code)}")
    result = _libc.syscall(
        ctypes.c_long(arch.syscalls["seccomp"]),
        ctypes.c_long(_SET_MODE_FILTER),
        ctypes.c_long(_FILTER_FLAG_TSYNC),
        ctypes.byref(fprog),
    )
    if result < 0:
        code = ctypes.get_errno()
        raise ConfinementError(code, f"seccomp: install filter: {os.strerror(code)}")
    if result > 0:  # TSYNC names a thread it could not filter
        raise ConfinementError(errnos.EBUSY, f"seccomp: thread {result} cannot be filtered")


def confine() -> None:
    """Install the worker's filter (and set ``no_new_privs``), for good.

    Denied with EPERM: ``socket()`` for every family, ``socketpair()`` but AF_UNIX,
    ``clone()`` with any CLONE_NEW* flag, and every call in ``_DENIED``; ``clone3`` fails
    with ENOSYS (glibc then uses ``clone``). On x86_64 every x32 call is denied; a call
    of another ABI (i386 ``int 0x80``, arm32) kills the process. Raises ``ConfinementError``
    if the filter cannot be installed.
    """
    arch = _required_arch()
    _install(arch, _worker_program(arch))


def deny(names: Iterable[str], errno: int) -> None:
    """Install a filter under which the named syscalls fail with ``errno``.

    Tests use it to stand for a kernel that lacks a feature, e.g.
    ``deny(["landlock_create_ruleset"], errno.ENOSYS)``.
    """
    arch = _required_arch()
    if not 0 < errno < 4096:
        raise ValueError(f"not an errno: {errno}")
    program = _native(arch)
    for name in names:
        if name not in arch.syscalls:
            raise ValueError(f"no number for syscall {name!r} on this architecture")
        program.jump(_JEQ, arch.syscalls[name], "chosen", None)
    _finish(program)
    program.label("chosen")
    program.ret(_RET_ERRNO | errno)
    _install(arch, program)
