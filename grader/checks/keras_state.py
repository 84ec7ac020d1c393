"""The process-wide Keras, TensorFlow and numpy settings the grader's verdicts depend on.

Keras keeps global configuration (float type, epsilon, dtype policy, fit/evaluate step
limits, safe mode...) and TensorFlow keeps determinism and threading settings. Nothing a
student chooses is executed in the grading process, but a grader bug or a reference
solution could still change them, and every later student would then be graded under
other settings. ``snapshot()`` records them once the grading process is set up;
``verify_or_reset(expected)`` runs before each student and puts back whatever drifted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from grader.errors import StateDrift

__all__ = ["KerasState", "StateDrift", "snapshot", "verify_or_reset"]


@dataclass(frozen=True)
class KerasState:
    """One reading of every global setting the grader depends on."""

    backend: str
    floatx: str
    epsilon: float
    image_data_format: str
    dtype_policy: str
    max_epochs: int | None
    max_steps_per_epoch: int | None
    safe_mode: bool | None
    flash_attention: bool | None
    interactive_logging: bool
    traceback_filtering: bool
    op_determinism: bool
    functions_run_eagerly: bool
    intra_op_threads: int
    inter_op_threads: int
    optimizer_options: tuple[tuple[str, Any], ...]
    jit: Any
    numpy_print: tuple[tuple[str, Any], ...]
    numpy_errors: tuple[tuple[str, Any], ...]


def _global(name: str) -> Any:
    from keras.src.backend.common import global_state

    return global_state.get_global_attribute(name)


def snapshot() -> KerasState:
    """The current value of every setting in ``KerasState``."""
    import keras
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.framework import config  # the getter is not public

    return KerasState(
        backend=keras.config.backend(),
        floatx=keras.config.floatx(),
        epsilon=float(keras.config.epsilon()),
        image_data_format=keras.config.image_data_format(),
        dtype_policy=keras.config.dtype_policy().name,
        max_epochs=keras.config.max_epochs(),
        max_steps_per_epoch=keras.config.max_steps_per_epoch(),
        safe_mode=_global("safe_mode_saving"),
        flash_attention=_global("flash_attention"),
        interactive_logging=bool(keras.config.is_interactive_logging_enabled()),
        traceback_filtering=bool(keras.config.is_traceback_filtering_enabled()),
        op_determinism=bool(config.is_op_determinism_enabled()),
        functions_run_eagerly=bool(tf.config.functions_run_eagerly()),
        intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
        inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads(),
        optimizer_options=tuple(sorted(tf.config.optimizer.get_experimental_options().items())),
        jit=tf.config.optimizer.get_jit(),
        numpy_print=tuple(sorted(np.get_printoptions().items())),
        numpy_errors=tuple(sorted(np.geterr().items())),
    )


def _reset(name: str, value: Any) -> None:
    import keras
    import numpy as np
    import tensorflow as tf
    from keras.src.backend.common import global_state

    if name in ("backend", "intra_op_threads", "inter_op_threads"):
        raise StateDrift(f"the process's {name} changed to a value it cannot be reset from")
    setters: dict[str, Any] = {
        "floatx": keras.config.set_floatx,
        "epsilon": keras.config.set_epsilon,
        "image_data_format": keras.config.set_image_data_format,
        "dtype_policy": keras.config.set_dtype_policy,
        "max_epochs": keras.config.set_max_epochs,
        "max_steps_per_epoch": keras.config.set_max_steps_per_epoch,
        "functions_run_eagerly": tf.config.run_functions_eagerly,
        "jit": tf.config.optimizer.set_jit,
    }
    if name in setters:
        setters[name](value)
    elif name == "safe_mode":
        global_state.set_global_attribute("safe_mode_saving", value)
    elif name == "flash_attention":
        global_state.set_global_attribute("flash_attention", value)
    elif name == "interactive_logging":
        on = keras.config.enable_interactive_logging
        (on if value else keras.config.disable_interactive_logging)()
    elif name == "traceback_filtering":
        on = keras.config.enable_traceback_filtering
        (on if value else keras.config.disable_traceback_filtering)()
    elif name == "op_determinism":
        from tensorflow.python.framework import config  # the disabler is not public

        (config.enable_op_determinism if value else config.disable_op_determinism)()
    elif name == "optimizer_options":
        tf.config.optimizer.set_experimental_options(dict(value))
    elif name == "numpy_print":
        np.set_printoptions(**dict(value))
    elif name == "numpy_errors":
        np.seterr(**dict(value))
    else:  # pragma: no cover - every field has a branch
        raise StateDrift(f"no way to reset {name}")


def verify_or_reset(expected: KerasState) -> list[str]:
    """Put back every setting that differs from ``expected``; the names of those that
    drifted (empty when none did). Raises ``StateDrift`` for one that cannot be reset."""
    current = snapshot()
    drifted = [
        f.name for f in fields(KerasState) if getattr(current, f.name) != getattr(expected, f.name)
    ]
    for name in drifted:
        _reset(name, getattr(expected, name))
    if drifted and snapshot() != expected:
        still = [
            f.name
            for f in fields(KerasState)
            if getattr(snapshot(), f.name) != getattr(expected, f.name)
        ]
        raise StateDrift("could not reset " + ", ".join(still))
    return drifted
