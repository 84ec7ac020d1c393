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
data, integers past 64 bits and oversized values raise ``WireError``, and nothing else
(whatever JSON a patched worker sends). Decoded text holds no lone surrogates or
control characters (but newline and tab), so every result can be written as JSON,
HTML or CSV. Nothing is ever pickled, and this module imports neither TensorFlow nor
Keras, so the trusted side can decode without building anything.

``clean_text`` is what the trusted side applies to every other string from a worker
(messages, tracebacks, printed output): the same cleaning, ANSI escapes removed, and
no absolute path of the grading machine.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import struct
import sys
import sysconfig
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from grader.errors import WireError

__all__ = [
    "MAX_MESSAGE_BYTES",
    "KerasObject",
    "TensorValue",
    "WireError",
    "clean_chars",
    "clean_text",
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
# Integers a numpy int64 or uint64 holds; past them a student's number only breaks
# the grader's arithmetic.
_MIN_INT, _MAX_INT = -(2**63), 2**64 - 1
_CALLBACK_KEYS = frozenset(["module", "class_name", "config"])


# -- text from the worker -----------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 and C1 controls but newline and tab, and the bidirectional overrides that would
# make a message read differently from what it holds.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: colours, bold (Keras' \x1b[1m), cursor
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b[@-Z\\-_]"
)
# A worker's scratch folder (and the template's root it is in), wherever it is: the
# folders before it are dropped too (_drop_scratch), scanning back to where the path starts.
_SCRATCH = re.compile(r"(?<=/)grader-(?:worker|template)-[^\s\"'/]+/(?:code/)?")
_PATH_START = frozenset(" \t\n\"'(=:")
_paths: list[tuple[str, str]] = []


def _clean_value(text: str) -> str:
    """``text`` that can always be written: lone surrogates replaced, controls dropped."""
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


def _machine_paths() -> list[tuple[str, str]]:
    """(folder + "/", what it is shown as), longest first: site-packages and the
    standard library vanish (``keras/src/layers/core/dense.py``), the grader's own
    folder is ``grader/``."""
    if _paths:
        return _paths
    from pathlib import Path

    found: dict[str, str] = {}

    def add(folder: str | Path | None, shown: str) -> None:
        if not folder:
            return
        for form in {str(folder), str(Path(folder).resolve())}:
            if form != "/":
                found.setdefault(form.rstrip("/") + "/", shown)

    grader_dir = Path(__file__).resolve().parents[1]
    add(grader_dir, "grader/")
    paths = sysconfig.get_paths()
    for key in ("purelib", "platlib", "stdlib", "platstdlib"):
        add(paths.get(key), "")
    try:
        import site

        for folder in [*site.getsitepackages(), site.getusersitepackages()]:
            add(folder, "")
    except Exception:  # a site module without these (some embedded Pythons)
        pass
    for prefix in (sys.prefix, sys.exec_prefix, sys.base_prefix, grader_dir.parent):
        add(prefix, "")
    add(Path.home(), "~/")
    _paths.extend(sorted(found.items(), key=lambda item: -len(item[0])))
    return _paths


def _drop_scratch(text: str) -> str:
    parts: list[str] = []
    done = 0
    for match in _SCRATCH.finditer(text):
        start = match.start()
        while start > done and text[start - 1] not in _PATH_START:
            start -= 1
        parts.append(text[done:start])
        done = match.end()
    parts.append(text[done:])
    return "".join(parts)


def clean_chars(text: str) -> str:
    """``text`` that any report can hold and any reader sees as it is: no ANSI escapes,
    lone surrogates (U+FFFD instead) or control characters but newline and tab; a line
    rewritten with carriage returns, like a progress bar, keeps what a terminal would show
    last. Idempotent."""
    if text.isascii() and text.isprintable():
        return text
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    text = _ANSI.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        text = "\n".join(
            next((part for part in reversed(line.split("\r")) if part), "")
            for line in text.split("\n")
        )
    return _CONTROL.sub("", text)


def clean_text(text: str, *, limit: int | None = None) -> str:
    """``text`` from a worker as a student may see it and any report can hold it: no
    ANSI escapes, lone surrogates or control characters (but newline and tab; a line
    rewritten with carriage returns, like a progress bar, keeps what a terminal would
    show last), and no absolute path of the grading machine. At most ``limit``
    characters."""
    if not isinstance(text, str):
        return ""
    if limit is not None:  # cleaning costs time: never on more than can be shown
        text = text[: 4 * limit + 1000]
    text = _drop_scratch(clean_chars(text))
    for folder, shown in _machine_paths():
        if folder in text:
            text = text.replace(folder, shown)
    if limit is not None and len(text) > limit:
        text = text[:limit] + " [...]"
    return text


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
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        raise WireError(f"arrays of dtype {_clean_value(repr(dtype))[:60]} are not accepted")
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


def _config(value: Any, depth: int = 0) -> Any:
    """A Keras config (nested JSON) checked for its shape, its text cleaned."""
    if depth > MAX_DEPTH:
        raise WireError("a Keras config is nested too deeply")
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise WireError("malformed Keras config")
        return {_clean_value(key): _config(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_config(item, depth + 1) for item in value]
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return _integer(value)
    if isinstance(value, str):
        return _clean_value(value)
    raise WireError("malformed Keras config")


def _integer(value: int) -> int:
    if not _MIN_INT <= value <= _MAX_INT:
        raise WireError("an integer is larger than the grader accepts (64 bits)")
    return value


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
    if data is None or isinstance(data, bool | float):
        return data
    if isinstance(data, int):
        return _integer(data)
    if isinstance(data, str):
        return _clean_value(data)
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
        return {_clean_value(str(k)): decode(v, _depth + 1) for k, v in body.items()}
    if tag == "$keras":
        if not isinstance(body, dict) or set(body) != {"kind", "config", "weights"}:
            raise WireError("malformed Keras object")
        kind = body["kind"]
        if not isinstance(kind, str) or kind not in _KERAS_KINDS:
            raise WireError("malformed Keras object")
        if not isinstance(body["config"], dict):
            raise WireError("malformed Keras object")
        if not isinstance(body["weights"], list):
            raise WireError("malformed Keras weights")
        config = _config(body["config"])
        if kind == "callback":
            _check_callback(config, body["weights"])
        weights = tuple(_decode_array(_untag_nd(w)) for w in body["weights"])
        return KerasObject(kind, config, weights)
    raise WireError(f"unknown tag {_clean_value(repr(tag))[:60]}")


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
    except (ValueError, RecursionError) as exc:  # ValueError: also ints of 4,300+ digits
        raise WireError(f"message is not valid JSON: {str(exc)[:200]}") from exc


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
    header = _read_exactly(stream, _HEADER.size)
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {size} bytes exceeds {MAX_MESSAGE_BYTES}")
    return loads(_read_exactly(stream, size))


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    # An unbuffered pipe returns what has arrived so far: a message may come in pieces.
    chunks: list[bytes] = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
