# Payload: at import, start two orphans that outlive the worker if they can: a new session
# (subprocess with start_new_session) and a double fork. Each waits until the worker is
# gone (so that what it does is what a process left behind does, at every level), then
# writes files into the submissions folder, the output folder and /tmp, then stays alive.
# They must all die with the worker: no file, no process left after the run.
import os as _os
import subprocess as _subprocess
import sys as _sys

_ORPHAN = (
    "import os, sys, time\n"
    "worker = int(sys.argv[2])\n"
    "deadline = time.monotonic() + 600\n"
    "while os.path.exists(f'/proc/{worker}') and time.monotonic() < deadline:\n"
    "    time.sleep(0.1)\n"
    "time.sleep(1)\n"
    "for folder in ('@@CLASS@@', '@@OUT@@', '/tmp', '/var/tmp'):\n"
    "    try:\n"
    "        with open(os.path.join(folder, 'orphan-' + sys.argv[1] + '.txt'), 'w') as f:\n"
    "            f.write('orphan was here')\n"
    "    except OSError:\n"
    "        pass\n"
    "time.sleep(600)\n"
)
_WORKER = str(_os.getpid())
_subprocess.Popen(
    [_sys.executable, "-c", _ORPHAN, "@@MARKER@@-session", _WORKER],
    start_new_session=True,
    stdin=_subprocess.DEVNULL,
    stdout=_subprocess.DEVNULL,
    stderr=_subprocess.DEVNULL,
)
_pid = _os.fork()
if _pid == 0:
    try:
        _os.setsid()
        if _os.fork() == 0:
            _argv = [_sys.executable, "-c", _ORPHAN, "@@MARKER@@-daemon", _WORKER]
            _os.execv(_sys.executable, _argv)
    finally:
        _os._exit(0)
_os.waitpid(_pid, 0)
