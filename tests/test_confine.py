"""Tests for grader.sandbox.landlock and grader.sandbox.seccomp, by real attempts.

Each test runs a plain ``python -c`` (no TensorFlow) that forks a child the way the
template forks a worker: the child confines itself, tries things and reports what the
kernel answered (``"ok"`` or an errno name) to its parent, which stays outside the
sandbox. Most tests also run with ``mode="none"`` (no confinement) to show the attempt
succeeds when nothing stands in its way.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from grader.sandbox import landlock, seccomp

ROOT = Path(__file__).resolve().parents[1]
ABI = landlock.abi()

needs_landlock = pytest.mark.skipif(ABI == 0, reason="the kernel offers no Landlock")
needs_seccomp = pytest.mark.skipif(
    not seccomp.supported(), reason=f"no syscall table for {os.uname().machine}"
)

# The child's side: confine as asked, run the test's body, send R to the parent.
_SCRIPT = textwrap.dedent(
    """
    import ctypes, errno, json, os, signal, socket, subprocess, sys, threading, time
    from grader.errors import ConfinementError
    from grader.sandbox import landlock, seccomp

    A = json.loads(sys.argv[1])
    R = {}
    LIBC = ctypes.CDLL(None, use_errno=True)
    LIBC.syscall.restype = ctypes.c_long

    def confine():
        if A["mode"] in ("both", "landlock"):
            R["abi"] = landlock.restrict(A["ro"], A["rw"])
        if A["mode"] in ("both", "seccomp"):
            seccomp.confine()

    def attempt(name, action):
        try:
            value = action()
        except OSError as exc:
            R[name] = errno.errorcode.get(exc.errno, str(exc.errno))
        else:
            R[name] = "ok" if value is None else value

    def libc_call(result):
        # A libc or raw syscall result as attempt() reports it.
        if result < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        return "ok"

    signals = []
    signal.signal(signal.SIGUSR1, lambda *_: signals.append(1))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            if A["confine_first"]:
                confine()
            exec(A["body"])
        except BaseException as exc:
            R["error"] = repr(exc)
        os.write(write_end, json.dumps(R).encode())
        os._exit(0)
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 65536):
        data += chunk
    _, status = os.waitpid(pid, 0)
    out = json.loads(data or b"{}")
    out["parent_signals"] = len(signals)
    out["child_signal"] = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    print(json.dumps(out))
    """
)


def _paths(tmp_path: Path) -> dict[str, Any]:
    """A worker-like layout: system and Python read-only, one scratch folder writable."""
    scratch = tmp_path / "scratch"
    (scratch / "a").mkdir(parents=True, exist_ok=True)
    (scratch / "b").mkdir(exist_ok=True)
    (scratch / "old.txt").write_text("scratch")
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("secret")
    readable = tmp_path / "readable"
    readable.mkdir(exist_ok=True)
    (readable / "data.txt").write_text("data")
    single = tmp_path / "single.txt"
    single.write_text("single")
    system = ["/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc"]
    return {
        "ro": [
            *system,
            "/dev/urandom",
            sys.prefix,
            sys.base_prefix,
            str(ROOT / "grader"),
            str(readable),
            str(single),
            str(tmp_path / "missing"),
        ],
        "rw": [str(scratch), "/dev/null"],
        "scratch": str(scratch),
        "outside": str(outside),
        "readable": str(readable),
        "single": str(single),
    }


def run(
    tmp_path: Path,
    body: str,
    mode: str = "both",
    confine_first: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """Run ``body`` in a child that first confines itself (landlock, seccomp, both, none)."""
    args = {**_paths(tmp_path), **extra, "mode": mode, "body": body}
    args["confine_first"] = confine_first
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    assert "error" not in result, result["error"]
    return result


FILES = """
S, O, RD = A["scratch"], A["outside"], A["readable"]
attempt("read_inside", lambda: open(RD + "/data.txt").read())
attempt("read_single", lambda: open(A["single"]).read())
attempt("write_single", lambda: open(A["single"], "a").close())
attempt("read_outside", lambda: open(O + "/secret.txt").read())
attempt("list_outside", lambda: os.listdir(O))
attempt("write_outside", lambda: open(O + "/secret.txt", "a").close())
attempt("create_outside", lambda: open(O + "/new.txt", "w").close())
attempt("truncate_readable", lambda: os.truncate(RD + "/data.txt", 0))
attempt("write_readable", lambda: open(RD + "/new.txt", "w").close())
def scratch_work():
    other = S + ("/b" if landlock.abi() >= 2 else "/a")  # ABI 1 renames within a folder
    with open(S + "/a/new.txt", "w") as f:
        f.write("made")
    os.rename(S + "/a/new.txt", other + "/moved.txt")
    os.truncate(S + "/old.txt", 0)
    os.mkdir(S + "/c")
    os.rmdir(S + "/c")
    os.symlink("moved.txt", other + "/link")
    os.unlink(other + "/link")
    return open(other + "/moved.txt").read()
attempt("scratch", scratch_work)
attempt("dev_null", lambda: open("/dev/null", "w").write("x") and None)
attempt("mknod", lambda: os.mknod(S + "/null", 0o666 | 0o020000, os.makedev(1, 3)))
child = subprocess.run(["cat", O + "/secret.txt"], capture_output=True)
R["cat_outside"] = child.returncode
"""


@needs_landlock
def test_file_system_confined(tmp_path: Path) -> None:
    got = run(tmp_path, FILES, mode="landlock")
    assert got["abi"] == min(ABI, landlock.KNOWN_ABI)
    assert got["read_inside"] == "data"
    assert got["read_single"] == "single"  # a rule on a file, not a folder
    assert got["scratch"] == "made"
    assert got["dev_null"] == "ok"
    for denied in ("read_outside", "list_outside", "write_outside", "create_outside"):
        assert got[denied] == "EACCES", denied
    assert got["write_single"] == "EACCES"
    assert got["write_readable"] == "EACCES"
    assert got["mknod"] == "EACCES"  # no device nodes, even for root in its scratch
    if ABI >= 3:
        assert got["truncate_readable"] == "EACCES"
        assert (tmp_path / "readable" / "data.txt").read_text() == "data"
    assert got["cat_outside"] != 0  # every process it starts is confined too
    assert not (tmp_path / "outside" / "new.txt").exists()


def test_file_system_unconfined(tmp_path: Path) -> None:
    # The same attempts with no sandbox: each succeeds, so the test above can fail.
    got = run(tmp_path, FILES, mode="none")
    for allowed in ("read_outside", "list_outside", "write_outside", "create_outside"):
        assert got[allowed] not in ("EACCES", "EPERM"), allowed
    assert got["write_readable"] == "ok"
    assert got["mknod"] == "ok"
    assert got["cat_outside"] == 0


NETWORK = """
def tcp():
    with socket.create_connection(("127.0.0.1", A["tcp_port"]), timeout=2):
        pass
def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"udp", ("127.0.0.1", A["udp_port"]))
def unix():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(A["unix_path"])
def abstract():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect("\\0" + A["abstract"])
def bind():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
def pair():
    a, b = socket.socketpair()
    a.sendall(b"pair")
    got = b.recv(4)
    for end in (a, b, *socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)):
        end.close()
    return got.decode()
def dgram():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.sendto(b"x", A["unix_path"])
attempt("tcp", tcp)
attempt("udp", udp)
attempt("unix", unix)
attempt("abstract", abstract)
attempt("bind", bind)
attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close())
attempt("socketpair", pair)
attempt("socketpair_dgram", dgram)
attempt("socketpair_inet", lambda: libc_call(LIBC.socketpair(2, 1, 0, (ctypes.c_int * 2)())))
"""


def _network(tmp_path: Path, mode: str) -> tuple[dict[str, Any], dict[str, bool]]:
    """Run NETWORK against listeners in this process; also say which of them heard anything."""
    with (
        socket.socket() as tcp,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
        socket.socket(socket.AF_UNIX) as unix,
        socket.socket(socket.AF_UNIX) as abstract,
    ):
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        udp.bind(("127.0.0.1", 0))
        unix_path = tmp_path / "listener.sock"
        unix.bind(str(unix_path))
        unix.listen()
        name = f"grader-test-{uuid.uuid4().hex}"
        abstract.bind("\0" + name)
        abstract.listen()
        got = run(
            tmp_path,
            NETWORK,
            mode=mode,
            tcp_port=tcp.getsockname()[1],
            udp_port=udp.getsockname()[1],
            unix_path=str(unix_path),
            abstract=name,
        )
        heard = {}
        for key, listener in (("tcp", tcp), ("udp", udp), ("unix", unix), ("abstract", abstract)):
            listener.setblocking(False)
            try:
                if key == "udp":
                    listener.recv(16)
                else:
                    listener.accept()[0].close()
                heard[key] = True
            except BlockingIOError:
                heard[key] = False
        return got, heard


@pytest.mark.parametrize("mode", ["both", "seccomp"])
def test_network_confined(tmp_path: Path, mode: str) -> None:
    if mode == "both" and ABI == 0:
        pytest.skip("the kernel offers no Landlock")
    if not seccomp.supported():
        pytest.skip(f"no syscall table for {os.uname().machine}")
    got, heard = _network(tmp_path, mode)
    denied = ("tcp", "udp", "unix", "abstract", "bind", "netlink", "socketpair_inet")
    for name in (*denied, "socketpair_dgram"):
        assert got[name] == "EPERM", name  # socket() itself is refused
    assert got["socketpair"] == "pair"
    assert heard == {"tcp": False, "udp": False, "unix": False, "abstract": False}


@needs_landlock
def test_network_landlock_alone(tmp_path: Path) -> None:
    # Without seccomp, Landlock still refuses TCP (ABI 4) and abstract sockets (ABI 6).
    if ABI < 4:
        pytest.skip(f"Landlock ABI {ABI} has no network rules")
    got, heard = _network(tmp_path, "landlock")
    assert got["tcp"] == "EACCES"
    assert got["bind"] == "EACCES"
    assert not heard["tcp"]
    if ABI >= 6:
        assert got["abstract"] == "EPERM"
        assert not heard["abstract"]
    assert got["socketpair"] == "pair"


def test_network_unconfined(tmp_path: Path) -> None:
    got, heard = _network(tmp_path, "none")
    for allowed in ("tcp", "udp", "unix", "abstract", "bind", "netlink"):
        assert got[allowed] == "ok", allowed
    assert heard == {"tcp": True, "udp": True, "unix": True, "abstract": True}


PROCESSES = """
parent = os.getppid()
PTRACE_SEIZE = 0x4206
LIBC.ptrace.restype = ctypes.c_long
attempt("ptrace", lambda: libc_call(LIBC.ptrace(ctypes.c_long(PTRACE_SEIZE), ctypes.c_long(parent),
                                                 None, None)))
attempt("proc_fd", lambda: os.readlink(f"/proc/{parent}/fd/0"))
attempt("signal_parent", lambda: os.kill(parent, signal.SIGUSR1))
if A["mode"] != "none":
    attempt("kill_parent", lambda: os.kill(parent, signal.SIGKILL))
def own_child():
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    os.kill(pid, signal.SIGKILL)  # a process in the same sandbox can be stopped
    return os.waitpid(pid, 0)[1]
attempt("kill_own_child", own_child)
attempt("clone3", lambda: libc_call(LIBC.syscall(ctypes.c_long(435), None, ctypes.c_long(0))))
attempt("memfd", lambda: os.close(os.memfd_create("x")))
IPC_PRIVATE, IPC_CREAT = 0, 0o1000
def message_queue():
    queue = LIBC.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    libc_call(queue)
    LIBC.msgctl(queue, 0, None)  # IPC_RMID: it would outlive the test
attempt("msgget", message_queue)
# Only root may: denied in case the worker is still root (same owner, same name: harmless).
attempt("chown", lambda: os.chown(A["scratch"] + "/old.txt", 0, 0))
attempt("sethostname", lambda: socket.sethostname(os.uname().nodename))
def threads():
    seen = []
    workers = [threading.Thread(target=seen.append, args=(i,)) for i in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return len(seen)
attempt("threads", threads)
attempt("subprocess", lambda: subprocess.run(["true"]).returncode)
def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
attempt("fork", fork)
# Last: in the control these succeed and leave the child in a new user namespace.
attempt("unshare", lambda: libc_call(LIBC.unshare(0x10000000)))  # CLONE_NEWUSER
def clone_newuser():
    pid = LIBC.syscall(ctypes.c_long(A["nr_clone"]), ctypes.c_long(0x10000000 | 17),
                       None, None, None, None)
    if pid == 0:
        os._exit(0)
    libc_call(pid)
    os.waitpid(pid, 0)
attempt("clone_newuser", clone_newuser)
"""

_NR_CLONE = {"x86_64": 56, "aarch64": 220}.get(os.uname().machine, 0)


@pytest.mark.parametrize("mode", ["both", "none"])
def test_processes(tmp_path: Path, mode: str) -> None:
    confined = mode != "none"
    if confined and (ABI == 0 or not seccomp.supported()):
        pytest.skip("needs Landlock and a seccomp syscall table")
    got = run(tmp_path, PROCESSES, mode=mode, nr_clone=_NR_CLONE)
    # What must keep working in a worker.
    assert got["threads"] == 4
    assert got["subprocess"] == 0
    assert got["fork"] == 7
    assert got["kill_own_child"] == signal.SIGKILL  # the wait status of a killed child
    if not confined:
        # As root nothing stands in the way: each attempt below is a real one.
        assert got["ptrace"] == "ok"
        assert got["proc_fd"] not in ("EACCES", "EPERM")
        assert got["signal_parent"] == "ok" and got["parent_signals"] == 1
        assert got["clone3"] == "EINVAL"  # a NULL clone_args reaches the kernel
        assert got["memfd"] == "ok"
        assert got["msgget"] == "ok"
        assert got["chown"] == "ok"
        assert got["sethostname"] == "ok"
        return
    assert got["ptrace"] == "EPERM"
    assert got["proc_fd"] == "EACCES"  # Landlock: the parent is outside the sandbox
    assert got["unshare"] == "EPERM"
    assert got["clone_newuser"] == "EPERM"
    assert got["clone3"] == "ENOSYS"
    assert got["memfd"] == "EPERM"
    assert got["msgget"] == "EPERM"
    assert got["chown"] == "EPERM"
    assert got["sethostname"] == "EPERM"
    if ABI >= 6:
        assert got["signal_parent"] == "EPERM"
        assert got["kill_parent"] == "EPERM"
        assert got["parent_signals"] == 0  # and the parent lived to report it


SIBLING = textwrap.dedent(
    """
    import json, os, signal, sys
    from grader.sandbox import landlock, seccomp

    A = json.loads(sys.argv[1])

    def confine():
        if A["mode"] == "both":
            landlock.restrict(A["ro"], A["rw"])
            seccomp.confine()

    a_reads, parent_writes = os.pipe()
    parent_reads, a_writes = os.pipe()
    a = os.fork()
    if a == 0:  # holds a file open, as a worker holds its pipes
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        confine()
        fd = os.open(A["scratch"] + "/old.txt", os.O_RDONLY)
        os.write(a_writes, str(fd).encode())
        os.read(a_reads, 1)
        os._exit(0)
    fd = int(os.read(parent_reads, 16))
    out_read, out_write = os.pipe()
    b = os.fork()
    if b == 0:
        confine()
        R = {}
        for name, action in (
            ("readlink", lambda: os.readlink(f"/proc/{a}/fd/{fd}")),
            ("read", lambda: os.read(os.open(f"/proc/{a}/fd/{fd}", os.O_RDONLY), 64).decode()),
            ("signal", lambda: os.kill(a, signal.SIGUSR1)),
        ):
            try:
                action()
                R[name] = "ok"
            except OSError as exc:
                R[name] = exc.__class__.__name__
        os.write(out_write, json.dumps(R).encode())
        os._exit(0)
    os.close(out_write)
    os.waitpid(b, 0)
    result = json.loads(os.read(out_read, 4096))
    os.write(parent_writes, b"x")
    os.waitpid(a, 0)
    print(json.dumps(result))
    """
)


@pytest.mark.parametrize("mode", ["both", "none"])
def test_siblings_cannot_reach_each_other(tmp_path: Path, mode: str) -> None:
    if mode == "both" and (ABI == 0 or not seccomp.supported()):
        pytest.skip("needs Landlock and a seccomp syscall table")
    args = {**_paths(tmp_path), "mode": mode}
    done = subprocess.run(
        [sys.executable, "-c", SIBLING, json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    if mode == "none":
        assert got == {"readlink": "ok", "read": "ok", "signal": "ok"}
    else:
        # Listing /proc/PID/fd needs no more than file permissions (root has them);
        # reaching through an entry is a ptrace check, which Landlock refuses.
        assert got["readlink"] == "PermissionError"
        assert got["read"] == "PermissionError"
        if ABI >= 6:
            assert got["signal"] == "PermissionError"


OTHER_ABIS = """
import mmap
attempt("x32_getpid", lambda: libc_call(LIBC.syscall(ctypes.c_long(0x40000000 | 39))))
if A["int80"]:
    # mov eax, 20 (i386 getpid); int 0x80; ret
    code = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    code.write(bytes.fromhex("b814000000cd80c3"))
    address = ctypes.addressof(ctypes.c_char.from_buffer(code))
    R["i386_getpid"] = ctypes.CFUNCTYPE(ctypes.c_int)(address)() == os.getpid()
"""


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x32 and i386 exist on x86_64 only")
@needs_seccomp
def test_other_abis_on_x86_64(tmp_path: Path) -> None:
    control = run(tmp_path, OTHER_ABIS, mode="none", int80=True)
    assert control["x32_getpid"] != "EPERM"  # ENOSYS, or the pid where x32 is enabled
    got = run(tmp_path, OTHER_ABIS, mode="seccomp", int80=False)
    assert got["x32_getpid"] == "EPERM"
    if control["child_signal"] or not control.get("i386_getpid"):
        pytest.skip("this kernel runs no i386 code")
    got = run(tmp_path, OTHER_ABIS, mode="seccomp", int80=True)
    assert got["child_signal"] == signal.SIGSYS  # another ABI kills the process
    assert "i386_getpid" not in got


@needs_seccomp
def test_deny_stands_for_a_kernel_without_landlock(tmp_path: Path) -> None:
    body = """
import errno
seccomp.deny(["landlock_create_ruleset"], errno.ENOSYS)
R["abi"] = landlock.abi()
try:
    landlock.restrict(A["ro"], A["rw"])
except ConfinementError as exc:
    R["restrict"] = errno.errorcode[exc.errno]
attempt("read_outside", lambda: open(A["outside"] + "/secret.txt").read())
"""
    got = run(tmp_path, body, mode="none")
    assert got == {
        "abi": 0,
        "restrict": "ENOSYS",
        "read_outside": "secret",  # nothing was applied
        "parent_signals": 0,
        "child_signal": 0,
    }
    disabled = run(tmp_path, body.replace("ENOSYS)", "EOPNOTSUPP)"), mode="none")
    assert disabled["abi"] == 0


@needs_landlock
def test_restrict_refuses_a_process_with_threads(tmp_path: Path) -> None:
    # restrict_self confines only the calling thread: refuse rather than half-apply.
    body = """
stop = threading.Event()
thread = threading.Thread(target=stop.wait)
thread.start()
try:
    landlock.restrict(A["ro"], A["rw"])
except ConfinementError as exc:
    R["restrict"] = errno.errorcode[exc.errno]
stop.set()
thread.join()
attempt("read_outside", lambda: open(A["outside"] + "/secret.txt").read())
"""
    got = run(tmp_path, body, mode="none")
    assert got["restrict"] == "EBUSY"
    assert got["read_outside"] == "secret"


def _expected_abi() -> int:
    """The least ABI the running kernel's version implies (Landlock may still be off)."""
    major, minor = (int(part) for part in os.uname().release.split(".")[:2])
    firsts = ((6, 15, 7), (6, 12, 6), (6, 10, 5), (6, 7, 4), (6, 2, 3), (5, 19, 2), (5, 13, 1))
    return next((abi for a, b, abi in firsts if (major, minor) >= (a, b)), 0)


@needs_landlock
def test_abi_matches_the_kernel() -> None:
    assert _expected_abi() <= ABI  # 7 on kernel 6.15 and later


@needs_seccomp
def test_unknown_syscall_name_is_refused() -> None:
    with pytest.raises(ValueError, match="no number"):
        seccomp.deny(["no_such_call"], errno.EPERM)
    with pytest.raises(ValueError, match="errno"):
        seccomp.deny(["socket"], 0)


@pytest.mark.skipif(ABI == 0 or not seccomp.supported(), reason="needs Landlock and seccomp")
def test_cost_of_confining_a_forked_process(tmp_path: Path) -> None:
    body = """
start = time.perf_counter()
landlock.restrict(A["ro"], A["rw"])
seccomp.confine()
R["seconds"] = time.perf_counter() - start
"""
    got = run(tmp_path, body, mode="none")
    print(f"restrict() + confine() in a forked process: {got['seconds'] * 1000:.2f} ms")
    assert got["seconds"] < 0.25


@needs_landlock
def test_paths_out_of_reach_are_skipped(tmp_path: Path) -> None:
    # A worker that has dropped to another user may be handed a path it cannot search:
    # no rule for it is the stricter outcome, not a failure.
    private = tmp_path / "private"
    (private / "inner").mkdir(parents=True)
    private.chmod(0o700)
    body = """
if os.getuid() == 0:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
R["abi"] = landlock.restrict([A["private"] + "/inner", "/usr"], [])
attempt("usr", lambda: len(os.listdir("/usr")) > 0)
attempt("tmp", lambda: os.listdir("/tmp"))
"""
    got = run(tmp_path, body, mode="none", private=str(private))
    assert got["abi"] == min(ABI, landlock.KNOWN_ABI)
    assert got["usr"] is True
    assert got["tmp"] == "EACCES"


_HEADERS = {
    "x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    "aarch64": Path("/usr/include/asm-generic/unistd.h"),
}


@pytest.mark.parametrize("machine", sorted(_HEADERS))
def test_syscall_tables_match_the_kernel_headers(machine: str) -> None:
    header = _HEADERS[machine]
    if not header.exists():
        pytest.skip(f"{header} is not installed")
    numbers = {}
    for line in header.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "#define" and parts[2].isdigit():
            numbers[parts[1].removeprefix("__NR3264_").removeprefix("__NR_")] = int(parts[2])
    table = seccomp._ARCHES[machine].syscalls
    known = {name: nr for name, nr in table.items() if name in numbers}
    assert known == {name: numbers[name] for name in known}
    assert len(known) >= len(table) - 3  # the newest calls may postdate the headers


# What a worker running as the grader's own user could do to the grader's processes and
# files, which Landlock has no right for.
GRADER_HARM = """
import resource
parent = os.getppid()
victim = A["victim"]
attempt("chmod", lambda: os.chmod(victim, 0))
attempt("fchmod", lambda: os.fchmod(os.open(victim, os.O_RDONLY), 0))
attempt("utime", lambda: os.utime(victim, (0, 0)))
attempt("setxattr", lambda: os.setxattr(victim, "user.grader", b"x"))
def limit(pid):
    resource.prlimit(pid, resource.RLIMIT_FSIZE if pid else resource.RLIMIT_CORE, (0, 0))
attempt("prlimit_parent", lambda: limit(parent))
attempt("prlimit_self", lambda: limit(0))
attempt("setrlimit_self", lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
attempt("nice_parent", lambda: os.setpriority(os.PRIO_PROCESS, parent, 19))
attempt("nice_self", lambda: os.setpriority(os.PRIO_PROCESS, 0, 5))
attempt("affinity_parent", lambda: os.sched_setaffinity(parent, {0}))
attempt("affinity_self", lambda: os.sched_setaffinity(0, os.sched_getaffinity(0)))
attempt("idle_parent", lambda: os.sched_setscheduler(parent, os.SCHED_IDLE, os.sched_param(0)))
attempt("tmpfile", lambda: os.close(os.open(A["scratch"], os.O_TMPFILE | os.O_RDWR)))
attempt("named_file", lambda: os.close(os.open(A["scratch"] + "/n", os.O_CREAT | os.O_RDWR)))
"""


@needs_seccomp
@pytest.mark.parametrize("mode", ["seccomp", "none"])
def test_a_worker_cannot_change_the_graders_files_or_processes(tmp_path: Path, mode: str) -> None:
    victim = tmp_path / "readable" / "data.txt"
    got = run(tmp_path, GRADER_HARM, mode=mode, victim=str(victim))
    harmful = ("chmod", "fchmod", "utime", "setxattr", "prlimit_parent", "nice_parent")
    harmful += ("affinity_parent", "idle_parent", "tmpfile")
    own = ("prlimit_self", "setrlimit_self", "nice_self", "affinity_self", "named_file")
    if mode == "none":
        # The same attempts work unconfined (setxattr may be refused by a file system
        # without user attributes), so the filter is what stops them.
        assert all(got[name] == "ok" for name in harmful if name != "setxattr"), got
    else:
        assert {name: got[name] for name in harmful} == dict.fromkeys(harmful, "EPERM")
    assert {name: got[name] for name in own} == dict.fromkeys(own, "ok")
    assert victim.read_text() == "data"
