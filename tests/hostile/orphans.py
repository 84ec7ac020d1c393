# Payload: at import, start two orphans that outlive the worker if they can: a new session
# (subprocess with start_new_session) and a double fork. Each sleeps a few seconds, then
# writes files into the submissions folder, the output folder and /tmp, then stays alive.
# They must all die with the worker: no file, no process left after the run.
import os as _os
import subprocess as _subprocess
import sys as _sys

_ORPHAN = (
    "import os, sys, time\n"
    "time.sleep(5)\n"
    "for folder in ('@@CLASS@@', '@@OUT@@', '/tmp', '/var/tmp'):\n"
    "    try:\n"
    "        with open(os.path.join(folder, 'orphan-' + sys.argv[1] + '.txt'), 'w') as f:\n"
    "            f.write('orphan was here')\n"
    "    except OSError:\n"
    "        pass\n"
    "time.sleep(600)\n"
)
_subprocess.Popen(
    [_sys.executable, "-c", _ORPHAN, "@@MARKER@@-session"],
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
            _os.execv(_sys.executable, [_sys.executable, "-c", _ORPHAN, "@@MARKER@@-daemon"])
    finally:
        _os._exit(0)
_os.waitpid(_pid, 0)
