# Payload: at import, ignore SIGTERM (and SIGINT, SIGHUP) and name the worker process after
# the marker; compare() starts a child that also ignores SIGTERM, then hangs, swallowing
# every exception. The call time limit still ends it: compare's two checks time out, and
# neither the worker nor its child survives the run.
import ctypes as _ctypes
import signal as _signal
import subprocess as _subprocess
import sys as _sys
import time as _time

for _sig in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP):
    _signal.signal(_sig, _signal.SIG_IGN)
try:
    _ctypes.CDLL(None).prctl(15, b"@@MARKER@@", 0, 0, 0)  # PR_SET_NAME
except Exception:
    pass

_CHILD = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "while True:\n"
    "    try:\n"
    "        time.sleep(1)\n"
    "    except BaseException:\n"
    "        pass\n"
)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    _subprocess.Popen([_sys.executable, "-c", _CHILD, "@@MARKER@@-sigterm-child"])
    while True:
        try:
            _time.sleep(0.5)
        except BaseException:
            pass
