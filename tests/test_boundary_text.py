"""What crosses from a worker to the grading process: clean text, and replies of any shape
that end as a ``StudentError`` at worst (never an exception of the grader's).

No worker is started here: replies are handed to ``Worker`` as ``_exchange`` would return
them after reading the pipe, so any JSON a patched worker could send can be tried.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

import grader
from grader.errors import StudentError, StudentImportError
from grader.sandbox import wire
from grader.sandbox.client import CallResult, Worker
from grader.sandbox.wire import WireError, clean_text

MODULE = "regularization"
SITE = next(
    folder.rstrip("/")
    for folder, shown in wire._machine_paths()
    if shown == "" and folder.rstrip("/").endswith("site-packages")
)
GRADER = str(Path(grader.__file__).resolve().parent)


# -- clean text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[1mEpoch 1/2\x1b[0m", "Epoch 1/2"),
        (
            "\x1b[38;5;196mred\x1b[m and \x9b1mC1\x1b]8;;http://x\x07link\x1b]8;;\x07",
            "red and C1link",
        ),
        ("a\x00b\x07c\x7fd\x85e\u202eevil", "abcdeevil"),
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
        ("lone \ud800 surrogate \udfff", "lone \ufffd surrogate \ufffd"),
        ("1/4 [==  ]\r2/4 [=== ]\r4/4 [====] done\r\nnext", "4/4 [====] done\nnext"),
        ("ends with a carriage return\r", "ends with a carriage return"),
    ],
)
def test_clean_text_keeps_what_a_reader_sees(raw, clean):
    assert clean_text(raw) == clean
    clean_text(raw).encode("utf-8")  # always writable


def test_no_absolute_path_of_the_grading_machine_is_left():
    text = (
        f'File "{SITE}/keras/src/layers/core/dense.py", line 144, in build\n'
        f'File "{GRADER}/sandbox/convert.py", line 10, in call\n'
        'File "/tmp/grader-template-k2j_x/grader-worker-a1b2/code/regularization.py", line 3\n'
        "saved to /tmp/grader-template-k2j_x/grader-worker-a1b2/home/.keras/model.keras\n"
        f"home is {Path.home()}/data"
    )
    assert clean_text(text) == (
        'File "keras/src/layers/core/dense.py", line 144, in build\n'
        'File "grader/sandbox/convert.py", line 10, in call\n'
        'File "regularization.py", line 3\n'
        "saved to home/.keras/model.keras\n"
        "home is ~/data"
    )


def test_cleaning_hostile_text_takes_linear_time(tmp_path):
    started = time.monotonic()
    assert clean_text("/a" * 100_000 + "/grader-worker-x/code/f.py") == "f.py"
    error = {"kind": "exception", "type": "E", "message": "/a" * 5_000_000, "traceback": ""}
    with pytest.raises(StudentError) as caught:
        replying(tmp_path, {"ok": False, "error": error}).call("f")
    assert len(str(caught.value)) < 4_100
    assert time.monotonic() - started < 5  # quadratic: minutes


def test_clean_text_limits_length_and_refuses_non_text():
    assert clean_text("x" * 50, limit=10) == "x" * 10 + " [...]"
    assert clean_text(["not", "text"]) == ""  # type: ignore[arg-type]


def test_decoded_strings_are_clean_but_otherwise_kept():
    data = {"$dict": {"na\ud800me": ["a\x00b", "keep\ttabs\n"]}}
    assert wire.decode(data) == {"na\ufffdme": ["ab", "keep\ttabs\n"]}
    layer = wire.decode(
        {"$keras": {"kind": "layer", "config": {"name": "d\x1b\ud800", "units": 3}, "weights": []}}
    )
    assert layer.config == {"name": "d\ufffd", "units": 3}


# -- replies of any shape ---------------------------------------------------------------


class _Alive:
    """Stands for a running worker process."""

    killed = 0

    def kill(self) -> None:
        _Alive.killed += 1

    def wait(self, timeout: float) -> int | None:
        return None


def replying(tmp_path: Path, reply: Any, *, imported: bool = True) -> Worker:
    """A worker whose next reply is ``reply``, after its import (or to it)."""
    worker = Worker(tmp_path / f"{MODULE}.py", MODULE)
    worker._process = _Alive() if imported else None  # type: ignore[assignment]
    worker._start = lambda: setattr(worker, "_process", _Alive())  # type: ignore[method-assign]
    worker._exchange = lambda request, timeout, what: reply  # type: ignore[method-assign]
    return worker


MALFORMED = [
    None,
    5,
    "ok",
    [True, 1],
    {},
    {"ok": "yes", "value": 1},
    {"ok": 1, "value": 1},
    {"ok": None},
    {"ok": False},
    {"ok": False, "error": "boom"},
    {"ok": False, "error": [1, 2]},
    {"ok": False, "error": {"kind": ["x"], "type": {"a": 1}, "message": 12, "traceback": None}},
    {"ok": False, "error": {"kind": "import_timeout", "line": "x" * 10}},
    {"ok": True, "value": {"$nd": {"dtype": ["float32"], "shape": [1], "data": ""}}},
    {"ok": True, "value": {"$nd": {"dtype": {"a": 1}, "shape": [1], "data": ""}}},
    {"ok": True, "value": {"$nd": {"dtype": "float32", "shape": [10**30], "data": ""}}},
    {"ok": True, "value": {"$nd": {"dtype": "float32", "shape": [True], "data": ""}}},
    {"ok": True, "value": {"$nd": {"dtype": "float32", "shape": 3, "data": ""}}},
    {"ok": True, "value": {"$nd": {"dtype": "float32", "shape": [1], "data": "@@@"}}},
    {"ok": True, "value": {"$keras": {"kind": ["layer"], "config": {}, "weights": []}}},
    {"ok": True, "value": {"$keras": {"kind": "layer", "config": {"a": 2**80}, "weights": []}}},
    {"ok": True, "value": {"$keras": {"kind": "layer", "config": {}, "weights": {"a": 1}}}},
    {"ok": True, "value": {"$keras": {"kind": "layer", "config": {}, "weights": [3]}}},
    {"ok": True, "value": {"$keras": {"kind": "callback", "config": {"module": 1}, "weights": []}}},
    {"ok": True, "value": {"$tensor": {"$nd": 3}}},
    {"ok": True, "value": {"$tuple": "abc"}},
    {"ok": True, "value": {"$dict": [1, 2]}},
    {"ok": True, "value": {"$other": 1}},
    {"ok": True, "value": {"a": 1, "b": 2}},
    {"ok": True, "value": 2**64},
    {"ok": True, "value": -(10**400)},
    {"ok": True, "value": json.loads("[" * 80 + "]" * 80)},
    {"ok": True, "value": 1, "gradients": "abc"},
    {"ok": True, "value": 1, "gradients": 5},
    {"ok": True, "value": 1, "gradients": {"$tuple": []}},
    {"ok": True, "value": 1, "gradients": [{"$nd": None}]},
]


@pytest.mark.parametrize("reply", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_reply_to_a_call_is_a_student_error(tmp_path, reply):
    with pytest.raises(StudentError) as caught:
        replying(tmp_path, reply).call("l2_dense", 4)
    assert not isinstance(caught.value, StudentImportError)
    assert str(caught.value).startswith("l2_dense() ")
    str(caught.value).encode("utf-8")


@pytest.mark.parametrize("reply", MALFORMED[:13], ids=range(13))
def test_a_malformed_reply_to_the_import_fails_the_import(tmp_path, reply):
    worker = replying(tmp_path, reply, imported=False)
    with pytest.raises(StudentImportError) as first:
        worker.call("l2_dense", 4)
    assert str(first.value).startswith(f"{MODULE}.py could not be imported") or (
        "did not finish" in str(first.value)
    )
    with pytest.raises(StudentImportError) as again:  # every call, the same answer
        worker.call("l2_dense", 4)
    assert str(again.value) == str(first.value)


def test_a_hostile_error_reads_as_clean_text(tmp_path):
    error = {
        "kind": "exception",
        "type": "\x1b[1mValue\ud800Error\x00",
        "message": "bad \x1b[31mthing\x1b[0m at " + SITE + "/keras/src/ops.py" + "!" * 10_000,
        "traceback": 'File "/tmp/grader-template-a/grader-worker-b/code/regularization.py"\x00',
    }
    with pytest.raises(StudentError) as caught:
        replying(tmp_path, {"ok": False, "error": error}).call("l2_dense", 4)
    message = str(caught.value)
    assert message.startswith("l2_dense() raised Value\ufffdError: bad thing at keras/src/ops.py!")
    assert len(message) < 4_100
    assert caught.value.details == 'File "regularization.py"'


def test_a_reply_of_the_wrong_kind_is_a_plain_failure(tmp_path):
    error = {"kind": "import_timeout", "type": "X", "message": "m", "traceback": ""}
    with pytest.raises(StudentError) as caught:
        replying(tmp_path, {"ok": False, "error": error}).call("l2_dense", 4)
    assert caught.value.kind == "exception"
    assert str(caught.value) == "l2_dense() raised X: m"


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(12 if depth < 4 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False, 0, -1, 2**63, 2**70, 1e308, float("nan")])
    if choice == 2:
        return rng.choice(["", "ok", "$nd", "float32", "layer", "\ud800", "\x1b[1m", "\x00"])
    if choice == 3:
        return rng.random()
    if choice in (4, 5):
        return rng.randrange(-5, 40)
    if choice in (6, 7):
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["ok", "value", "error", "gradients", "kind", "type", "message", "traceback"]
    keys += ["$nd", "$tensor", "$tuple", "$dict", "$keras", "dtype", "shape", "data", "config"]
    keys += ["weights", "line"]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(1, 4))}


def test_random_replies_never_raise_anything_but_a_student_error(tmp_path):
    rng = random.Random(12)
    outcomes = {"result": 0, "student_error": 0}
    for _ in range(3000):
        reply = _random_json(rng)
        if rng.random() < 0.7:
            reply = {"ok": rng.choice([True, False]), **(reply if isinstance(reply, dict) else {})}
        try:
            result = replying(tmp_path, reply).call("f")
        except StudentError as exc:
            str(exc).encode("utf-8")
            exc.details.encode("utf-8")
            outcomes["student_error"] += 1
        else:
            assert isinstance(result, CallResult)
            outcomes["result"] += 1
    assert min(outcomes.values()) > 100  # both paths were exercised


# -- the wire itself ------------------------------------------------------------------


def test_json_with_an_integer_past_python_s_digit_limit_is_a_wire_error():
    with pytest.raises(WireError):
        wire.loads(b'{"ok": true, "value": ' + b"9" * 5000 + b"}")


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**300])
def test_integers_past_64_bits_are_refused(number):
    with pytest.raises(WireError, match="larger than the grader accepts"):
        wire.decode(number)
    assert wire.decode(2**64 - 1) == 2**64 - 1
    assert wire.decode(-(2**63)) == -(2**63)


@pytest.mark.parametrize(("line", "where"), [(3, ": it was still running line 3."), (10**9, ".")])
def test_an_import_timeout_reply_names_a_line_only_if_the_module_has_it(tmp_path, line, where):
    (tmp_path / f"{MODULE}.py").write_text("import time\n\ntime.sleep(99)\n")
    error = {"kind": "import_timeout", "line": line, "traceback": "\x1b[1mTraceback"}
    worker = replying(tmp_path, {"ok": False, "error": error}, imported=False)
    with pytest.raises(StudentImportError) as caught:
        worker.call("f")
    assert str(caught.value).startswith(
        f"Importing {MODULE}.py did not finish within 120 s{where} Code at the top level"
    )
    assert caught.value.details == "Traceback"
