"""Conversion between live Keras/TensorFlow objects and wire values.

Used on both sides of the boundary: by the worker for the student's module and by
the trusted process for the reference solution, so that checks always compare wire
values with wire values. Importing this module imports TensorFlow.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from grader.sandbox import wire

__all__ = ["REBUILT_CALLBACKS", "Converter", "KerasBuilder", "configure_tensorflow"]

# The callbacks a wire value may be turned back into: those made of settings alone. Others
# (ModelCheckpoint, CSVLogger, BackupAndRestore...) write files, and a callback can come from
# a student; they still cross as data, for checks to read.
REBUILT_CALLBACKS = frozenset(["EarlyStopping", "ReduceLROnPlateau", "TerminateOnNaN"])
# The settings each of them may be rebuilt with, and their types: nothing else reaches
# the constructor.
_CALLBACK_SETTINGS: dict[str, dict[str, tuple[type, ...]]] = {
    "EarlyStopping": {
        "monitor": (str,),
        "min_delta": (int, float),
        "patience": (int,),
        "verbose": (int,),
        "mode": (str,),
        "baseline": (int, float, type(None)),
        "restore_best_weights": (bool,),
        "start_from_epoch": (int,),
    },
    "ReduceLROnPlateau": {
        "monitor": (str,),
        "factor": (int, float),
        "patience": (int,),
        "verbose": (int,),
        "mode": (str,),
        "min_delta": (int, float),
        "cooldown": (int,),
        "min_lr": (int, float),
    },
    "TerminateOnNaN": {},
}
_MAX_SETTING = 1e9
_SCALARS = (type(None), bool, int, float, str)
_MISSING = object()


def configure_tensorflow() -> None:
    """Single-threaded, deterministic kernels: the same answer on every run and machine."""
    import tensorflow as tf

    # TensorFlow's own notes (retracing warnings carry memory addresses) are not the
    # student's output, and would make reruns differ.
    tf.get_logger().setLevel(logging.ERROR)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised in this process: keep its settings
        pass
    tf.config.experimental.enable_op_determinism()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


KerasBuilder = Callable[[wire.KerasObject], Any]


class Converter:
    """Turns live objects into wire values and back.

    ``keras_builder`` turns wire models, layers and regularizers into live objects. The
    trusted process passes the grader's allowlisted builder (a wire value there may come
    from a student, and Keras' deserialization can resolve any name Keras exports); the
    worker, which only receives the grader's own values, uses Keras' safe mode.
    """

    def __init__(self, keras_builder: KerasBuilder | None = None) -> None:
        import keras
        import tensorflow as tf

        self.tf = tf
        self.keras = keras
        self._build = keras_builder

    def to_plain(self, value: Any, depth: int = 0) -> Any:
        keras, tf = self.keras, self.tf
        if depth > wire.MAX_DEPTH:
            raise wire.WireError("the value is nested too deeply")
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, keras.Model):
            return wire.KerasObject("model", self._config(value), self._weights(value))
        if isinstance(value, keras.layers.Layer):
            return wire.KerasObject("layer", self._config(value), self._weights(value))
        if isinstance(value, keras.regularizers.Regularizer):
            return wire.KerasObject("regularizer", self._config(value))
        if isinstance(value, keras.callbacks.Callback):
            return wire.KerasObject("callback", self._callback_config(value))
        if isinstance(value, (tf.Tensor, tf.Variable, keras.Variable)):
            return wire.TensorValue(np.asarray(keras.ops.convert_to_numpy(value)))
        if isinstance(value, np.ndarray):
            return np.array(value)
        if isinstance(value, np.generic):
            return value.item()
        # Subclasses of built-in types are reduced to the plain type.
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
        if isinstance(value, str):
            return str(value)
        if isinstance(value, (list, tuple)):
            items = [self.to_plain(v, depth + 1) for v in value]
            return items if isinstance(value, list) else tuple(items)
        if isinstance(value, dict):
            return {str(k): self.to_plain(v, depth + 1) for k, v in value.items()}
        raise wire.WireError(f"a value of type {type(value).__name__} cannot be sent")

    def _config(self, obj: Any) -> dict[str, Any]:
        config = self.keras.saving.serialize_keras_object(obj)
        result: dict[str, Any] = json.loads(json.dumps(config, default=_json_default))
        return result

    def _callback_config(self, callback: Any) -> dict[str, Any]:
        """Keras callbacks have no config: their class, and every constructor argument
        stored under its own name as a plain number, string, bool or None."""
        cls = type(callback)
        public = getattr(self.keras.callbacks, cls.__name__, None) is cls
        settings: dict[str, Any] = {}
        try:
            parameters = list(inspect.signature(cls.__init__).parameters)
        except (TypeError, ValueError):  # a signature Python cannot read: no settings
            parameters = []
        for name in parameters:
            item = getattr(callback, name, _MISSING) if name != "self" else _MISSING
            if isinstance(item, (*_SCALARS, np.number, np.bool_)):
                settings[name] = self.to_plain(item)
        return {
            "module": "keras.callbacks" if public else str(cls.__module__),
            "class_name": cls.__name__,
            "config": settings,
        }

    @staticmethod
    def _weights(obj: Any) -> tuple[np.ndarray, ...]:
        try:
            return tuple(np.asarray(w) for w in obj.get_weights())
        except Exception:  # an unbuilt layer has no weights yet
            return ()

    def from_plain(self, value: Any) -> Any:
        keras, tf = self.keras, self.tf
        if isinstance(value, wire.KerasObject):
            if value.kind == "callback":
                return self._callback(value)
            if self._build is not None:
                return self._build(value)
            # Keras may consume the config it is given: hand it a copy.
            config = copy.deepcopy(value.config)
            if value.kind == "regularizer":
                return keras.regularizers.get(config)
            obj = keras.saving.deserialize_keras_object(config, safe_mode=True)
            if value.weights:
                obj.set_weights([np.array(w) for w in value.weights])
            return obj
        if isinstance(value, wire.TensorValue):
            return tf.constant(value.array)
        if isinstance(value, np.ndarray):
            return np.array(value)  # a writable copy
        if isinstance(value, list):
            return [self.from_plain(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.from_plain(v) for v in value)
        if isinstance(value, dict):
            return {k: self.from_plain(v) for k, v in value.items()}
        return value

    def call(
        self, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], gradients: bool
    ) -> tuple[Any, list[Any] | None]:
        """Call ``function``; with ``gradients``, also differentiate its result with respect
        to the trainable weights of the model passed first."""
        if not gradients:
            return function(*args, **kwargs), None
        tf, keras = self.tf, self.keras
        model = args[0] if args else None
        if not isinstance(model, keras.Model):
            raise TypeError("gradients need a model as the first argument")
        weights = list(model.trainable_weights)
        with tf.GradientTape() as tape:
            value = function(*args, **kwargs)
        if not tf.is_tensor(value):
            return value, [None] * len(weights)
        grads = tape.gradient(value, weights)
        return value, [None if g is None else wire.TensorValue(np.asarray(g)) for g in grads]

    def _callback(self, value: wire.KerasObject) -> Any:
        name = value.class_name
        if value.config.get("module") != "keras.callbacks" or name not in REBUILT_CALLBACKS:
            raise wire.WireError(f"a {name} callback cannot be rebuilt from its settings")
        allowed = _CALLBACK_SETTINGS[name]
        for key, item in value.inner_config.items():
            types = allowed.get(key)
            if types is None or isinstance(item, bool) is not (bool in types):
                raise wire.WireError(f"the {name} settings are not valid: {key}={item!r}")
            if not isinstance(item, types):
                raise wire.WireError(f"the {name} settings are not valid: {key}={item!r}")
            if isinstance(item, (int, float)) and not (
                math.isfinite(item) and abs(item) <= _MAX_SETTING
            ):
                raise wire.WireError(f"the {name} settings are not valid: {key}={item!r}")
        try:
            return getattr(self.keras.callbacks, name)(**value.inner_config)
        except (TypeError, ValueError) as exc:
            raise wire.WireError(f"the {name} settings are not valid: {exc}") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
