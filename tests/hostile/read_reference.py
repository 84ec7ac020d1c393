# Payload: read the reference solution and the check files from their absolute paths and
# use the reference's code as the answer; read a secret file outside the project and
# print it (the feedback page would carry it out); look at /etc/shadow.
# Every read must fail: the functions then take their "blocked" path and raise, so the
# score shows the reads failed (a successful read would score 30).
_READ_PATHS = [
    "@@ROOT@@/reference/regularization.py",
    "@@ROOT@@/assignments/regularization/test_overfitting.py",
    "@@ROOT@@/assignments/regularization/test_layers.py",
    "@@ROOT@@/assignments/regularization/test_model.py",
    "@@ROOT@@/assignments/regularization/test_penalty.py",
    "@@ROOT@@/assignments/regularization/assignment.toml",
]
_read_errors = {}
_reference = {}
for _path in _READ_PATHS:
    try:
        with open(_path) as _f:
            _text = _f.read()
        _read_errors[_path] = "READ"
        if _path.endswith("reference/regularization.py"):
            exec(compile(_text, "reference", "exec"), _reference)
    except OSError as _exc:
        _read_errors[_path] = type(_exc).__name__

try:
    with open("@@SECRET@@") as _f:
        _secret = _f.read()
    _secret_error = ""
except OSError as _exc:
    _secret, _secret_error = None, type(_exc).__name__

try:
    with open("/etc/shadow", "rb") as _f:
        _f.read(1)
    print("shadow: readable")  # never its content
except OSError as _exc:
    print(f"shadow: {type(_exc).__name__}")


def l2_dense(units, l2=0.01, activation="relu"):
    if "l2_dense" not in _reference:
        raise RuntimeError(f"HOSTILE-BLOCKED reference: {sorted(_read_errors.items())}")
    return _reference["l2_dense"](units, l2=l2, activation=activation)


def l1_dense(units, l1=0.005, activation="relu"):
    if _secret is None:
        raise RuntimeError(f"HOSTILE-BLOCKED secret: {_secret_error}")
    print(_secret)  # exfiltration through the printed output
    return keras.layers.Dense(
        units, activation=activation, kernel_regularizer=keras.regularizers.l1(l1)
    )


# The same files, the course secret and a classmate's submission by other paths: through
# the grading processes' view of the file system (/proc/PID/root and cwd), and the course
# secret in their environment (/proc/PID/environ). Whatever is read is printed: the test
# finds it in the output if anything got through.
def _ancestors():
    found, pid = [], _os.getppid()
    while pid > 0 and pid != @@TEST_PID@@ and len(found) < 20:
        found.append(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                pid = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return found


import os as _os  # noqa: E402

_OTHER_PATHS = ["@@ROOT@@/course-secret", "@@VICTIM@@"]
for _pid in _ancestors():
    _OTHER_PATHS += [
        f"/proc/{_pid}/root@@ROOT@@/reference/regularization.py",
        f"/proc/{_pid}/root@@ROOT@@/course-secret",
        f"/proc/{_pid}/root@@VICTIM@@",
        f"/proc/{_pid}/cwd/class/victim/regularization.py",
        f"/proc/{_pid}/environ",
    ]
_other = []
for _path in _OTHER_PATHS:
    try:
        with open(_path, "rb") as _f:
            _data = _f.read()
        if _path.endswith("/environ"):
            _found = [v for v in _data.split(b"\0") if v.startswith(b"GRADER_COURSE_SECRET=")]
            _other.append(f"{_path}: {_found[0].decode() if _found else 'no secret'}")
        else:
            _other.append(f"{_path}: VIA-PATH READ {_data[:200].decode(errors='replace')}")
    except OSError as _exc:
        _other.append(f"{_path}: {type(_exc).__name__}")
print("read_reference other paths:", " | ".join(_other))
