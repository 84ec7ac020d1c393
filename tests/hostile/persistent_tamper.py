# Payload: try to leave code behind that the grading process would run later: new modules
# in the grader package and its __pycache__, a .pth file and sitecustomize modules in
# site-packages and on sys.path, files in the project and in system folders, and touch the
# grader's files. Every write must be refused; this student is graded like alice (30). The
# paths tried are printed (the test checks that none exists afterwards).
import os as _os
import site as _site
import sys as _sys

import grader as _grader

_TOKEN = "TAMPER-" + "@@MARKER@@"
_package = _os.path.dirname(_grader.__file__)
_tried = [
    _os.path.join(_package, "tamper_@@MARKER@@.py"),
    _os.path.join(_package, "checks", "tamper_@@MARKER@@.py"),
    _os.path.join(_package, "__pycache__", "tamper_@@MARKER@@.cpython-311.pyc"),
    "@@ROOT@@/tamper_@@MARKER@@.py",
    "@@ROOT@@/assignments/regularization/test_tamper_@@MARKER@@.py",
    "/etc/tamper-@@MARKER@@",
    "/usr/lib/tamper-@@MARKER@@",
    "/root/tamper-@@MARKER@@",
    "/var/tmp/tamper-@@MARKER@@",
]
_tried += [_os.path.join(d, "zz_tamper_@@MARKER@@.pth") for d in _site.getsitepackages()]
_tried += [
    _os.path.join(d, "sitecustomize_@@MARKER@@.py") for d in _sys.path if _os.path.isdir(d)
]
_written = []
for _path in _tried:
    try:
        with open(_path, "w") as _f:
            _f.write("import os  # " + _TOKEN + "\n")
        _written.append(_path)
    except OSError:
        pass
for _touch in (_os.path.join(_package, "__init__.py"), _os.path.join(_package, "checks")):
    try:
        _os.utime(_touch, (0, 0))
        _written.append(_touch)
    except OSError:
        pass
print("tamper tried:", "|".join(_tried))
print("tamper written:", len(_written))
