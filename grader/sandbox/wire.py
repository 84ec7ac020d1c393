"""The wire format between the trusted grader and the student's worker.

Everything that crosses the trust boundary is JSON. Values that JSON cannot hold are
written as single-key objects whose key starts with ``$``:

- ``{"$nd": {"dtype", "shape", "data"}}``: a numeric numpy array, data base64 encoded;
- ``{"$tensor": <$nd>}``: a TensorFlow tensor or variable, as its numpy value;
- ``{"$tuple": [...]}`` and ``{"$dict": {...}}``: containers;
- ``{"$keras": {"kind", "config", "weights"}}``: a Keras layer, model or regularizer
  as its serialized config plus weights; or a Keras callback (kind ``callback``), which
  has no config of its own in Keras, as ``{"module", "class_name", "config"}`` where
  ``config`` holds its simple settings (``monitor``, ``patience``...) as JSON scalars,
  and no weights.

Decoding is strict: unknown tags, non-numeric dtypes, shapes that disagree with the
data and oversized values raise ``WireError``. Nothing is ever pickled, and this
module imports neither TensorFlow nor Keras, so the trusted side can decode without
building anything.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

__all__ = [
    "MAX_MESSAGE_BYTES",
    "KerasObject",
    "TensorValue",
    "WireError",
    "decode",
    "dumps",
    "encode",
    "loads",
    "read_message",
    "write_message",
]

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
MAX_ARRAY_ELEMENTS = 16_000_000
_DTYPES = frozenset(
    {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
    | {"float16", "float32", "float64"}
)
_KERAS_KINDS = frozenset(["layer", "model", "regularizer", "callback"])
_CALLBACK_KEYS = frozenset(["module", "class_name", "config"])


class WireError(ValueError):
    """A value could not be encoded, or a message is not valid wire data."""


@dataclass(frozen=True, eq=False)
class TensorValue:
    """A tensor returned by student code, reduced to its numpy value."""

    array: np.ndarray


@dataclass(frozen=True, eq=False)
class KerasObject:
    """A Keras layer, model, regularizer or callback as plain data: serialized config and
    weights."""

    kind: str
    config: dict[str, Any]
    weights: tuple[np.ndarray, ...] = field(default_factory=tuple)

    @property
    def class_name(self) -> str:
        return str(self.config.get("class_name", ""))

    @property
    def inner_config(self) -> dict[str, Any]:
        inner = self.config.get("config")
        return inner if isinstance(inner, dict) else {}


def _encode_array(array: np.ndarray) -> dict[str, Any]:
    dtype = array.dtype.name
    if dtype not in _DTYPES:
        raise WireError(f"arrays of dtype {dtype} cannot be sent; use a numeric dtype")
    # Little-endian on the wire whatever the sender's byte order; tobytes() is C order
    # and keeps 0-d arrays 0-d.
    native = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return {
        "$nd": {
            "dtype": dtype,
            "shape": list(native.shape),
            "data": base64.b64encode(native.tobytes()).decode("ascii"),
        }
    }


def encode(value: Any, _depth: int = 0) -> Any:
    """Turn a plain value into JSON-ready data. Only exact built-in types are accepted."""
    if _depth > MAX_DEPTH:
        raise WireError("the value is nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str:
        return value
    if kind is float:
        return value
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, np.generic):
        return encode(value.item(), _depth + 1)
    if kind is TensorValue:
        return {"$tensor": _encode_array(value.array)}
    if kind is KerasObject:
        if value.kind == "callback":
            _check_callback(value.config, value.weights)
        return {
            "$keras": {
                "kind": value.kind,
                "config": value.config,
                "weights": [_encode_array(w) for w in value.weights],
            }
        }
    if kind is list:
        return [encode(v, _depth + 1) for v in value]
    if kind is tuple:
        return {"$tuple": [encode(v, _depth + 1) for v in value]}
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise WireError("dictionary keys must be strings")
        return {"$dict": {k: encode(v, _depth + 1) for k, v in value.items()}}
    raise WireError(f"a value of type {kind.__name__} cannot be sent")


def _decode_array(data: Any) -> np.ndarray:
    if not isinstance(data, dict) or set(data) != {"dtype", "shape", "data"}:
        raise WireError("malformed array")
    dtype, shape, payload = data["dtype"], data["shape"], data["data"]
    if dtype not in _DTYPES:
        raise WireError(f"arrays of dtype {dtype!r} are not accepted")
    if (
        not isinstance(shape, list)
        or len(shape) > 32
        or not all(type(n) is int and n >= 0 for n in shape)
    ):
        raise WireError("malformed array shape")
    count = math.prod(shape)
    if count > MAX_ARRAY_ELEMENTS:
        raise WireError(f"an array of {count} elements is larger than the grader accepts")
    if not isinstance(payload, str):
        raise WireError("malformed array data")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WireError("array data is not valid base64") from exc
    np_dtype = np.dtype(dtype).newbyteorder("<")
    if len(raw) != count * np_dtype.itemsize:
        raise WireError("array data does not match its shape")
    try:
        array = np.frombuffer(raw, dtype=np_dtype).reshape(shape).astype(np_dtype.name)
    except ValueError as exc:
        raise WireError(f"array data does not fit its shape: {exc}") from exc
    array.flags.writeable = False
    return array


def _check_config(value: Any, depth: int = 0) -> None:
    # Keras configs are nested JSON; only their shape is checked here.
    if depth > MAX_DEPTH:
        raise WireError("a Keras config is nested too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise WireError("malformed Keras config")
            _check_config(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_config(item, depth + 1)
    elif not (value is None or isinstance(value, (bool, int, float, str))):
        raise WireError("malformed Keras config")


def _check_callback(config: dict[str, Any], weights: Any) -> None:
    # A callback is its class and its settings, nothing nested and nothing to load.
    if set(config) != _CALLBACK_KEYS or len(weights) != 0:
        raise WireError("malformed Keras callback")
    settings = config["config"]
    if (
        not isinstance(config["module"], str)
        or not isinstance(config["class_name"], str)
        or not isinstance(settings, dict)
    ):
        raise WireError("malformed Keras callback")
    for key, item in settings.items():
        if not isinstance(key, str) or not (
            item is None or isinstance(item, (bool, int, float, str))
        ):
            raise WireError("malformed Keras callback setting")


def decode(data: Any, _depth: int = 0) -> Any:
    """Turn JSON data back into values, refusing anything that is not wire data."""
    if _depth > MAX_DEPTH:
        raise WireError("the value is nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, _depth + 1) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise WireError("malformed value: objects must carry exactly one tag")
    ((tag, body),) = data.items()
    if tag == "$nd":
        return _decode_array(body)
    if tag == "$tensor":
        if not isinstance(body, dict) or set(body) != {"$nd"}:
            raise WireError("malformed tensor")
        return TensorValue(_decode_array(body["$nd"]))
    if tag == "$tuple":
        if not isinstance(body, list):
            raise WireError("malformed tuple")
        return tuple(decode(v, _depth + 1) for v in body)
    if tag == "$dict":
        if not isinstance(body, dict):
            raise WireError("malformed dict")
        return {str(k): decode(v, _depth + 1) for k, v in body.items()}
    if tag == "$keras":
        if not isinstance(body, dict) or set(body) != {"kind", "config", "weights"}:
            raise WireError("malformed Keras object")
        if body["kind"] not in _KERAS_KINDS or not isinstance(body["config"], dict):
            raise WireError("malformed Keras object")
        if not isinstance(body["weights"], list):
            raise WireError("malformed Keras weights")
        _check_config(body["config"])
        if body["kind"] == "callback":
            _check_callback(body["config"], body["weights"])
        weights = tuple(_decode_array(_untag_nd(w)) for w in body["weights"])
        return KerasObject(body["kind"], body["config"], weights)
    raise WireError(f"unknown tag {tag!r}")


def _untag_nd(data: Any) -> Any:
    if not isinstance(data, dict) or set(data) != {"$nd"}:
        raise WireError("malformed array")
    return data["$nd"]


def dumps(message: Any) -> bytes:
    try:
        text = json.dumps(message, allow_nan=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise WireError(f"message is not JSON data: {exc}") from exc
    return text.encode("utf-8")


def loads(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WireError(f"message is not valid JSON: {exc}") from exc


_HEADER = struct.Struct(">I")


def write_message(stream: BinaryIO, message: Any) -> None:
    """Write one length-prefixed JSON message."""
    body = dumps(message)
    if len(body) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(body)} bytes exceeds {MAX_MESSAGE_BYTES}")
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def read_message(stream: BinaryIO) -> Any:
    """Read one length-prefixed JSON message; EOFError when the stream is closed."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {size} bytes exceeds {MAX_MESSAGE_BYTES}")
    body = stream.read(size)
    if len(body) < size:
        raise EOFError
    return loads(body)
