"""The attack the LMS entry-point tests append to a correct submission.

At import it writes and replaces the LMS's results file, reads the course's reference,
and leaves a daemon (its process named with the marker) that rewrites the results file
every half second from 3 s on. Each attempt prints ``ATTACK name: done`` or
``ATTACK name: failed (Error)``.
"""

from __future__ import annotations

from pathlib import Path

ATTACK = """
import ctypes as _ctypes
import os as _os
import time as _time

_FORGED = '@@FORGED@@'


def _forge():
    with open("@@RESULTS@@", "w") as handle:
        handle.write(_FORGED)


def _replace():
    with open("forged.json", "w") as handle:
        handle.write(_FORGED)
    _os.replace("forged.json", "@@RESULTS@@")


def _read():
    with open("@@REFERENCE@@") as handle:
        print("REFERENCE>", handle.read(300))


def _daemon():
    ready, told = _os.pipe()
    pid = _os.fork()
    if pid == 0:
        try:
            _os.setsid()
            named = _ctypes.CDLL(None).prctl(15, b"@@MARKER@@", 0, 0, 0) == 0
            if _os.fork() == 0:
                _os.close(told)
                _time.sleep(3)
                for _ in range(240):
                    try:
                        _forge()
                    except OSError:
                        pass
                    _time.sleep(0.5)
                _os._exit(0)
            _os.write(told, b"1" if named else b"0")
        finally:
            _os._exit(0)
    _os.close(told)
    answer = _os.read(ready, 1)
    _os.waitpid(pid, 0)
    if answer != b"1":
        raise OSError("the daemon did not start")


_ATTACKS = (("forge", _forge), ("replace", _replace), ("read", _read), ("daemon", _daemon))
for _name, _attack in _ATTACKS:
    try:
        _attack()
        print(f"ATTACK {_name}: done")
    except Exception as _exc:
        print(f"ATTACK {_name}: failed ({type(_exc).__name__})")
"""


def attack(results: Path, reference: Path, marker: str, forged: str) -> str:
    """The attack aimed at this run's paths; ``forged`` is what it writes (one line)."""
    values = {
        "@@RESULTS@@": str(results),
        "@@REFERENCE@@": str(reference),
        "@@MARKER@@": marker,
        "@@FORGED@@": forged,
    }
    text = ATTACK
    for key, value in values.items():
        text = text.replace(key, value)
    return text
