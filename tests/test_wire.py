"""Tests for grader.sandbox.wire: the JSON format that crosses the trust boundary.

This file must not import TensorFlow: the trusted side decodes without it.
"""

from __future__ import annotations

import base64
import io
import math
import struct

import numpy as np
import pytest

from grader.sandbox import wire
from grader.sandbox.wire import KerasObject, TensorValue, WireError


def round_trip(value):
    """Encode, serialise to bytes, parse and decode, as a reply travels."""
    return wire.decode(wire.loads(wire.dumps(wire.encode(value))))


def nd(dtype, shape, data: bytes) -> dict:
    return {"$nd": {"dtype": dtype, "shape": shape, "data": base64.b64encode(data).decode()}}


def nested_lists(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


# -- round trips ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**62,
        1.5,
        -0.0,
        "",
        "héllo ✓",
        [],
        [1, "a", None],
        {},
        {"a": 1, "b": [2, 3]},
        {"outer": {"inner": [1, {"deep": "x"}]}},
    ],
    ids=repr,
)
def test_plain_values_round_trip_unchanged(value):
    result = round_trip(value)
    assert result == value
    assert type(result) is type(value)


def test_bools_stay_bools_and_ints_stay_ints():
    result = round_trip([True, 1, 1.0])
    assert [type(v) for v in result] == [bool, int, float]


def test_tuples_round_trip_as_tuples_even_when_nested():
    value = (1, (2, 3), [4, (5,)], {"t": ()})
    result = round_trip(value)
    assert result == value
    assert type(result) is tuple
    assert type(result[1]) is tuple
    assert type(result[2]) is list
    assert type(result[2][1]) is tuple
    assert type(result[3]["t"]) is tuple


def test_dict_keys_that_look_like_tags_are_just_keys():
    value = {"$nd": 1, "$tuple": [2]}
    assert round_trip(value) == value


def test_numpy_scalars_become_python_numbers():
    result = round_trip([np.float32(1.5), np.int64(3), np.bool_(True)])
    assert result == [1.5, 3, True]
    assert [type(v) for v in result] == [float, int, bool]


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_infinite_floats_survive(value):
    assert round_trip(value) == value


def test_nan_survives_as_a_float_and_inside_arrays():
    result = round_trip([math.nan, np.array([1.0, math.nan, math.inf])])
    assert math.isnan(result[0])
    np.testing.assert_array_equal(result[1], [1.0, math.nan, math.inf])


@pytest.mark.parametrize(
    ("dtype", "shape"),
    [
        ("float32", (3,)),
        ("float64", (2, 3)),
        ("float16", (4,)),
        ("int8", (2, 2)),
        ("int32", (1, 2, 3)),
        ("int64", (5,)),
        ("uint8", (3, 1)),
        ("uint64", (2,)),
        ("bool", (2, 2)),
        ("float32", (0,)),
        ("int32", (3, 0, 2)),
    ],
)
def test_arrays_round_trip_with_dtype_shape_and_values(dtype, shape):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=shape) * 50).astype(dtype)
    result = round_trip(array)
    assert isinstance(result, np.ndarray)
    assert result.dtype == np.dtype(dtype)
    assert result.shape == shape
    np.testing.assert_array_equal(result, array)


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_zero_dimensional_arrays_keep_their_empty_shape(dtype):
    array = np.array(3, dtype=dtype)
    result = round_trip(array)
    assert result.shape == ()
    assert result.dtype == np.dtype(dtype)
    assert result.item() == array.item()


def test_decoding_zero_dimensional_array_data_gives_a_0d_array():
    result = wire.decode(nd("float64", [], np.float64(4.25).tobytes()))
    assert result.shape == ()
    assert result.item() == 4.25


def test_zero_dimensional_arrays_keep_their_value():
    # Holds today and after the shape fix above.
    result = round_trip(np.array(2.5, dtype="float32"))
    assert result.size == 1
    assert result.reshape(()).item() == 2.5


def test_non_contiguous_arrays_are_sent_by_value():
    base = np.arange(24, dtype="int32").reshape(4, 6)
    for view in (base.T, base[::2, 1::3], np.asfortranarray(base)):
        result = round_trip(view)
        assert result.shape == view.shape
        np.testing.assert_array_equal(result, view)


def test_non_native_byte_order_arrays_keep_their_values():
    array = np.arange(3, dtype=">i4")
    np.testing.assert_array_equal(round_trip(array), [0, 1, 2])


def test_decoded_arrays_are_read_only_copies():
    raw = np.arange(6, dtype="float64").tobytes()
    result = wire.decode(nd("float64", [2, 3], raw))
    assert not result.flags.writeable
    assert result.flags.owndata  # not a view on the decoded bytes
    with pytest.raises(ValueError):
        result[0, 0] = 99.0
    np.testing.assert_array_equal(result, np.arange(6.0).reshape(2, 3))


def test_sent_array_is_independent_of_the_original():
    array = np.zeros(3, dtype="float32")
    data = wire.encode(array)
    array[:] = 7
    np.testing.assert_array_equal(wire.decode(data), [0, 0, 0])


def test_tensor_value_round_trips():
    array = np.array([[1.0, 2.0]], dtype="float32")
    result = round_trip(TensorValue(array))
    assert isinstance(result, TensorValue)
    assert result.array.dtype == np.float32
    np.testing.assert_array_equal(result.array, array)
    assert not result.array.flags.writeable


def test_keras_object_round_trips_kind_config_and_weights():
    config = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"units": 3, "activation": "relu", "bias": None, "shape": [None, 2]},
        "registered_name": None,
    }
    weights = (np.ones((2, 3), dtype="float32"), np.arange(3, dtype="float32"))
    result = round_trip(KerasObject("layer", config, weights))
    assert isinstance(result, KerasObject)
    assert result.kind == "layer"
    assert result.config == config
    assert result.class_name == "Dense"
    assert result.inner_config["units"] == 3
    assert len(result.weights) == 2
    for got, want in zip(result.weights, weights, strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
        assert not got.flags.writeable


def test_keras_object_without_weights_round_trips():
    config = {"class_name": "L2", "config": {"l2": 0.01}}
    result = round_trip(KerasObject("regularizer", config))
    assert result.kind == "regularizer"
    assert result.weights == ()
    assert result.config == config


def early_stopping(**settings) -> dict:
    config = {"monitor": "val_loss", "patience": 5, "restore_best_weights": True, "baseline": None}
    return {"module": "keras.callbacks", "class_name": "EarlyStopping", "config": config | settings}


def test_callback_round_trips_as_its_class_and_settings():
    result = round_trip(KerasObject("callback", early_stopping(min_delta=0.5, mode="auto")))
    assert result.kind == "callback"
    assert result.class_name == "EarlyStopping"
    assert result.config == early_stopping(min_delta=0.5, mode="auto")
    assert result.inner_config["patience"] == 5
    assert result.inner_config["restore_best_weights"] is True
    assert result.weights == ()


@pytest.mark.parametrize(
    "config",
    [
        early_stopping(patience=[5]),
        early_stopping(patience={"value": 5}),
        {**early_stopping(), "registered_name": None},
        {"module": "keras.callbacks", "class_name": "EarlyStopping"},
        {**early_stopping(), "class_name": 3},
        {**early_stopping(), "module": None},
        {**early_stopping(), "config": ["monitor", "val_loss"]},
    ],
    ids=[
        "list-setting",
        "dict-setting",
        "extra-key",
        "no-settings",
        "class-int",
        "module-none",
        "settings-list",
    ],
)
def test_malformed_callbacks_are_refused_both_ways(config):
    with pytest.raises(WireError, match="malformed Keras callback"):
        wire.decode({"$keras": {"kind": "callback", "config": config, "weights": []}})
    with pytest.raises(WireError, match="malformed Keras callback"):
        wire.encode(KerasObject("callback", config))


def test_a_callback_carries_no_weights():
    weight = wire.encode(np.zeros(2, dtype="float32"))
    with pytest.raises(WireError, match="malformed Keras callback"):
        wire.decode(
            {"$keras": {"kind": "callback", "config": early_stopping(), "weights": [weight]}}
        )
    with pytest.raises(WireError, match="malformed Keras callback"):
        wire.encode(KerasObject("callback", early_stopping(), (np.zeros(2, dtype="float32"),)))


def test_values_nested_inside_containers_round_trip():
    value = {"pair": (np.arange(2, dtype="int8"), TensorValue(np.ones(1, dtype="float32")))}
    result = round_trip(value)
    np.testing.assert_array_equal(result["pair"][0], [0, 1])
    assert isinstance(result["pair"][1], TensorValue)


# -- rejections when encoding ---------------------------------------------------------


class Custom:
    pass


@pytest.mark.parametrize(
    "value",
    [
        Custom(),
        object(),
        lambda: 1,
        {1, 2},
        b"bytes",
        1 + 2j,
        [1, Custom()],
        {"key": Custom()},
    ],
    ids=["custom", "object", "lambda", "set", "bytes", "complex", "in-list", "in-dict"],
)
def test_encoding_unsupported_values_raises_wire_error(value):
    with pytest.raises(WireError, match="cannot be sent"):
        wire.encode(value)


@pytest.mark.parametrize(
    "array",
    [
        np.array([1, "a"], dtype=object),
        np.array(["a", "b"]),
        np.array([1 + 2j]),
    ],
    ids=["object", "str", "complex"],
)
def test_encoding_non_numeric_arrays_raises_wire_error(array):
    with pytest.raises(WireError, match="dtype"):
        wire.encode(array)


@pytest.mark.parametrize("key", [1, None, ("a",), 1.5])
def test_encoding_dicts_with_non_string_keys_raises_wire_error(key):
    with pytest.raises(WireError, match="keys must be strings"):
        wire.encode({key: 1})


def test_encoding_values_nested_deeper_than_max_depth_raises_wire_error():
    wire.encode(nested_lists(wire.MAX_DEPTH - 1))  # within the limit
    with pytest.raises(WireError, match="nested too deeply"):
        wire.encode(nested_lists(wire.MAX_DEPTH + 5))


def test_encoding_a_self_referencing_list_raises_wire_error():
    value: list = []
    value.append(value)
    with pytest.raises(WireError):
        wire.encode(value)


# -- rejections when decoding ----------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"$pickle": "gASVAAAAAAAAAA=="},
        {"$set": [1, 2]},
        {"a": 1},
        {"__class__": "os.system"},
    ],
    ids=["pickle", "set", "plain-key", "dunder"],
)
def test_decoding_unknown_tags_raises_wire_error(data):
    with pytest.raises(WireError, match="unknown tag"):
        wire.decode(data)


@pytest.mark.parametrize(
    "data",
    [{}, {"$tuple": [], "$dict": {}}, {"a": 1, "b": 2}],
    ids=["empty", "two-tags", "two-keys"],
)
def test_decoding_objects_without_exactly_one_tag_raises_wire_error(data):
    with pytest.raises(WireError, match="exactly one tag"):
        wire.decode(data)


@pytest.mark.parametrize(
    "data",
    [
        {"$tuple": {"a": 1}},
        {"$dict": [1, 2]},
        {"$tensor": [1, 2]},
        {"$tensor": {"$nd": {"dtype": "int8", "shape": [0], "data": ""}, "extra": 1}},
        {"$nd": {"dtype": "int8", "shape": [0]}},
        {"$nd": [1, 2, 3]},
    ],
    ids=["tuple-body", "dict-body", "tensor-body", "tensor-extra", "nd-missing-data", "nd-list"],
)
def test_decoding_malformed_containers_raises_wire_error(data):
    with pytest.raises(WireError, match="malformed"):
        wire.decode(data)


@pytest.mark.parametrize("dtype", ["object", "str", "complex128", "V8", "O", 5, None])
def test_decoding_non_numeric_dtypes_raises_wire_error(dtype):
    with pytest.raises(WireError, match="not accepted"):
        wire.decode(nd(dtype, [1], b"\0" * 8))


@pytest.mark.parametrize(
    ("shape", "data"),
    [
        ([3], np.arange(2, dtype="int32").tobytes()),
        ([2, 2], np.arange(5, dtype="int32").tobytes()),
        ([], b""),
        ([0], b"\0\0\0\0"),
        ([1], b"\0\0\0"),
    ],
    ids=["too-few", "too-many", "scalar-empty", "empty-with-data", "partial-element"],
)
def test_decoding_arrays_whose_data_disagrees_with_their_shape_raises_wire_error(shape, data):
    with pytest.raises(WireError, match="does not match its shape"):
        wire.decode(nd("int32", shape, data))


@pytest.mark.parametrize(
    "shape",
    [[-1], [1.0], [True], "3", [[2]], [1] * 33],
    ids=["negative", "float", "bool", "string", "nested", "too-many-dims"],
)
def test_decoding_malformed_shapes_raises_wire_error(shape):
    with pytest.raises(WireError, match="shape"):
        wire.decode(nd("int8", shape, b"\0"))


def test_decoding_oversized_element_counts_raises_wire_error_before_reading_data():
    too_many = wire.MAX_ARRAY_ELEMENTS + 1
    with pytest.raises(WireError, match="larger than the grader accepts"):
        wire.decode(nd("uint8", [too_many], b""))
    with pytest.raises(WireError, match="larger than the grader accepts"):
        wire.decode(nd("uint8", [100_000, 100_000, 100_000], b""))


def test_decoding_non_string_array_data_raises_wire_error():
    with pytest.raises(WireError, match="malformed array data"):
        wire.decode({"$nd": {"dtype": "int8", "shape": [1], "data": [0]}})


@pytest.mark.parametrize(
    "payload", ["!!!!", "AA", "AAA=A"], ids=["bad-chars", "bad-padding", "data-after-padding"]
)
def test_decoding_bad_base64_raises_wire_error(payload):
    with pytest.raises(WireError):
        wire.decode({"$nd": {"dtype": "int8", "shape": [1], "data": payload}})


def test_decoding_bad_base64_is_at_least_a_value_error():
    # Holds today and after the fix above (WireError is a ValueError).
    with pytest.raises(ValueError):
        wire.decode({"$nd": {"dtype": "int8", "shape": [1], "data": "!!!!"}})


def test_decoding_values_nested_deeper_than_max_depth_raises_wire_error():
    wire.decode(nested_lists(wire.MAX_DEPTH - 1))  # within the limit
    with pytest.raises(WireError, match="nested too deeply"):
        wire.decode(nested_lists(wire.MAX_DEPTH + 5))
    deep_tuple: dict = {"$tuple": []}
    for _ in range(wire.MAX_DEPTH + 5):
        deep_tuple = {"$tuple": [deep_tuple]}
    with pytest.raises(WireError, match="nested too deeply"):
        wire.decode(deep_tuple)


def test_loads_of_absurdly_deep_json_raises_wire_error():
    with pytest.raises(WireError):
        wire.loads(b"[" * 200_000 + b"]" * 200_000)


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "module", "config": {}, "weights": []},
        {"kind": "layer", "config": "os.system", "weights": []},
        {"kind": "layer", "config": {}, "weights": {}},
        {"kind": "layer", "config": {}},
        {"kind": "layer", "config": {}, "weights": [{"dtype": "int8", "shape": [0], "data": ""}]},
        {"kind": "layer", "config": {"a": {"$nd": 1, "b": [{"c": {1, 2}}]}}, "weights": []},
    ],
    ids=["kind", "config-string", "weights-dict", "no-weights", "untagged-weight", "bad-config"],
)
def test_decoding_malformed_keras_objects_raises_wire_error(body):
    with pytest.raises(WireError, match="malformed"):
        wire.decode({"$keras": body})


def test_decoding_keras_config_nested_too_deeply_raises_wire_error():
    config: dict = {}
    for _ in range(wire.MAX_DEPTH + 5):
        config = {"config": config}
    with pytest.raises(WireError, match="nested too deeply"):
        wire.decode({"$keras": {"kind": "layer", "config": config, "weights": []}})


def test_decoding_rejects_non_json_python_objects():
    with pytest.raises(WireError):
        wire.decode({1, 2})


# -- framing ---------------------------------------------------------------------------


def test_messages_round_trip_through_a_stream_in_order():
    messages = [
        {"op": "import"},
        {"op": "call", "args": wire.encode([np.arange(3, dtype="int16"), (1, 2)])},
        [1, 2.5, None, "text"],
    ]
    stream = io.BytesIO()
    for message in messages:
        wire.write_message(stream, message)
    stream.seek(0)
    received = [wire.read_message(stream) for _ in messages]
    assert received == messages
    decoded = wire.decode(received[1]["args"])
    np.testing.assert_array_equal(decoded[0], [0, 1, 2])
    assert decoded[1] == (1, 2)
    with pytest.raises(EOFError):
        wire.read_message(stream)


def test_framing_is_a_big_endian_length_prefix():
    stream = io.BytesIO()
    wire.write_message(stream, {"a": 1})
    raw = stream.getvalue()
    (size,) = struct.unpack(">I", raw[:4])
    assert size == len(raw) - 4
    assert raw[4:] == wire.dumps({"a": 1})


def test_nan_and_infinity_survive_framing():
    stream = io.BytesIO()
    wire.write_message(stream, wire.encode([math.nan, math.inf, -math.inf]))
    stream.seek(0)
    result = wire.decode(wire.read_message(stream))
    assert math.isnan(result[0])
    assert result[1:] == [math.inf, -math.inf]


def test_reading_an_empty_stream_raises_eof():
    with pytest.raises(EOFError):
        wire.read_message(io.BytesIO(b""))


@pytest.mark.parametrize("cut", [1, 3, 4, 5, -1])
def test_reading_a_truncated_message_raises_eof(cut):
    stream = io.BytesIO()
    wire.write_message(stream, {"payload": "x" * 50})
    raw = stream.getvalue()
    with pytest.raises(EOFError):
        wire.read_message(io.BytesIO(raw[:cut]))


def test_reading_a_header_announcing_too_large_a_message_raises_wire_error():
    header = struct.pack(">I", wire.MAX_MESSAGE_BYTES + 1)
    with pytest.raises(WireError, match="exceeds"):
        wire.read_message(io.BytesIO(header + b"{}"))


def test_reading_a_body_that_is_not_json_raises_wire_error():
    body = b"\xff\xfe not json"
    with pytest.raises(WireError, match="not valid JSON"):
        wire.read_message(io.BytesIO(struct.pack(">I", len(body)) + body))


def test_writing_a_message_that_is_not_json_data_raises_wire_error():
    with pytest.raises(WireError, match="not JSON data"):
        wire.write_message(io.BytesIO(), {"value": object()})


def test_wire_module_does_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys; import grader.sandbox.wire; "
        "sys.exit(1 if ('tensorflow' in sys.modules or 'keras' in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
