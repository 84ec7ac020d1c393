"""The reference's answers cached on disk (grader.engine.reference_cache): a warm cache
answers the baseline's calls without the live reference and changes no verdict."""

from __future__ import annotations

import json
import shutil
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.assignment import Assignment, load_assignment
from grader.checks.calls import fresh_memo
from grader.engine import grading, reference_cache
from grader.engine.proxy import ModuleProxy
from grader.engine.reference_cache import CachedReference, cache_key
from grader.engine.session import GradingSession
from grader.results import StudentResult
from grader.sandbox import wire
from grader.sandbox.client import CallResult
from grader.submissions import Submission

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "regularization"
# Two check files without training experiments: cheap, with gradients and Keras models.
FILES = ("test_layers.py", "test_penalty.py")


def _small(assignment: Assignment) -> Assignment:
    return replace(
        assignment,
        only_files=FILES,
        checks=tuple(c for c in assignment.checks if c.file in FILES),
    )


def _fresh_process() -> None:
    # What a new grading process starts without: the open entries and baselines.
    reference_cache._OPEN.clear()
    grading._BASELINES.clear()


def _verdicts(result: StudentResult) -> StudentResult:
    return replace(result, duration=0.0)


def _grade(
    assignment: Assignment, cache: Path, students: list[str]
) -> tuple[GradingSession, tuple[int, int], list[StudentResult]]:
    _fresh_process()
    with fresh_memo():
        session = GradingSession(assignment, cache=cache)
        session.prepare(warm_template=False)
        assert session.cached is not None
        counts = (session.cached.cached_calls, session.cached.live_calls)
        results = []
        for student in students:
            path = EXAMPLES / student / "regularization.py"
            results.append(session.grade(Submission(student, path, path.name)))
    return session, counts, results


def _bits(value: Any) -> Any:
    """A value with every float as its exact bits, to compare answers bit for bit."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (wire.TensorValue,)):
        return ("tensor", _bits(value.array))
    if isinstance(value, wire.KerasObject):
        return ("keras", value.kind, json.dumps(value.config), [_bits(w) for w in value.weights])
    if isinstance(value, dict):
        return ("dict", [(k, _bits(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_bits(v) for v in value])
    return (type(value).__name__, value)


def _answer_bits(cached: CachedReference) -> dict[Any, Any]:
    return {
        lookup: (_bits(r.value), None if r.gradients is None else _bits(r.gradients))
        for lookup, r in cached._answers.items()
    }


def test_cold_and_warm_cache_grade_alike(tmp_path):
    assignment = _small(load_assignment("regularization"))
    students = ["alice", "carol"]  # correct; an L1 regularizer in l2_dense
    cache = tmp_path / "cache"

    cold, (_, cold_live), cold_results = _grade(assignment, cache, students)
    assert cold.cached is not None and not cold.cached.loaded
    assert cold_live > 0
    assert len(list(cache.glob("regularization-*.json"))) == 1
    assert (cache.stat().st_mode & 0o777) == 0o700

    warm, (warm_cached, warm_live), warm_results = _grade(assignment, cache, students)
    assert warm.cached is not None and warm.cached.loaded
    assert warm.cached is not cold.cached
    # Every call of the baseline run answered from the entry, none by the reference.
    assert warm_live == 0 and warm_cached >= cold_live

    assert [_verdicts(r) for r in warm_results] == [_verdicts(r) for r in cold_results]
    alice, carol = warm_results
    assert alice.score == alice.max_score > 0
    assert carol.score < carol.max_score
    # The answers read back are the live reference's, bit for bit.
    assert _answer_bits(warm.cached) == _answer_bits(cold.cached)
    assert warm.baseline == replace(cold.baseline, duration=warm.baseline.duration)

    # A cache folder that cannot be written: graded as without one.
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    unwritable, _, _ = _grade(assignment, blocked / "cache", [])
    assert unwritable.cached is not None and not unwritable.cached.loaded
    assert unwritable.baseline == replace(cold.baseline, duration=unwritable.baseline.duration)
    _fresh_process()


def _fake_live(answers: dict[str, Any]) -> tuple[Any, list[str]]:
    calls: list[str] = []

    def caller(name: str, args: Any, kwargs: Any, gradients: bool) -> CallResult:
        calls.append(name)
        return CallResult(answers[name], [np.float32([1.5, -0.0])] if gradients else None)

    return (lambda: ModuleProxy(caller, "fake reference")), calls


def test_answers_round_trip_bit_for_bit_and_a_corrupt_entry_is_rewritten(tmp_path):
    tiny = np.array([5e-324, -0.0, np.nan, np.inf, 1 / 3], dtype=np.float64)
    answers = {
        "f": {"x": 0.1 + 0.2, "y": np.float32([1 / 3, 1e-45, -0.0, np.nan]), "z": (1, "a")},
        "g": [tiny, 1e-310, -0.0],
    }
    live, calls = _fake_live(answers)
    path = tmp_path / "regularization-x.json"
    path.write_text("{ not json")
    cold = CachedReference(path, "k1", "regularization", live)
    assert not cold.loaded
    arg = np.linspace(0, 1, 7)
    got_f = cold.proxy.f(arg, scale=0.7)
    got_g = cold.proxy.call_with_gradients("g", arg)
    assert calls == ["f", "g"]
    cold.finish()

    warm = CachedReference(path, "k1", "regularization", live)
    assert warm.loaded
    assert _bits(warm.proxy.f(arg.copy(), scale=0.7)) == _bits(got_f)
    again = warm.proxy.call_with_gradients("g", arg)
    assert _bits(again.value) == _bits(got_g.value)
    assert _bits(again.gradients) == _bits(got_g.gradients)
    assert calls == ["f", "g"] and warm.live_calls == 0 and warm.cached_calls == 2
    # Another float, even one bit away, is another call: asked live.
    warm.proxy.f(np.nextafter(arg, 2), scale=0.7)
    assert calls == ["f", "g", "f"]

    # Another key's entry (a foreign or stale file under this name) is not used.
    other = CachedReference(path, "k2", "regularization", live)
    assert not other.loaded


def test_unwritable_folder_does_not_fail(tmp_path, capsys):
    live, _ = _fake_live({"f": 1.0})
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    cached = CachedReference(blocked / "cache" / "e.json", "k", "regularization", live)
    assert cached.proxy.f(2) == 1.0
    cached.finish()
    assert "not cached" in capsys.readouterr().err
    assert cached.proxy.f(2) == 1.0  # still answers, from memory


def _course_copy(tmp_path: Path) -> Assignment:
    assignment = load_assignment("regularization")
    folder = tmp_path / "regularization"
    shutil.copytree(assignment.directory, folder)
    reference = tmp_path / "reference.py"
    shutil.copyfile(assignment.reference, reference)
    return replace(assignment, directory=folder, reference=reference)


def _append(path: Path, text: str) -> None:
    path.parent.mkdir(exist_ok=True)
    with path.open("a") as handle:
        handle.write(text)


@pytest.mark.parametrize(
    ("change", "same"),
    [
        (lambda a: _append(a.directory / "test_layers.py", "\n# more\n"), False),
        (lambda a: _append(a.directory / "_calibrated.py", "\nX = 1\n"), False),
        (lambda a: a.directory.joinpath("data", "x.csv").parent.mkdir(), True),
        (lambda a: _append(a.directory / "data" / "x.csv", "1\n"), False),
        (lambda a: _append(a.reference, "\n# changed\n"), False),
        # Neither the stub students start from nor Python's caches.
        (lambda a: _append(a.stub, "\n# the stub\n"), True),
        (lambda a: a.directory.joinpath("__pycache__").mkdir(), True),
    ],
)
def test_key_follows_what_the_answers_depend_on(tmp_path, change, same):
    assignment = _course_copy(tmp_path)
    before = cache_key(assignment)
    assert cache_key(assignment) == before
    change(assignment)
    (assignment.directory / "__pycache__").mkdir(exist_ok=True)
    (assignment.directory / "__pycache__" / "test_layers.cpython-311.pyc").write_bytes(b"x")
    assert (cache_key(assignment) == before) is same


def test_visible_session_has_its_own_key(tmp_path):
    assignment = _course_copy(tmp_path)
    assert cache_key(assignment.visible()) != cache_key(assignment)
    assert cache_key(_small(assignment)) != cache_key(assignment)
