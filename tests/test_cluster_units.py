"""What a cluster run ships, and what the reference cache is keyed by.

Found by attacking the change: a secret given only in the environment must travel to
the workers, and oneDNN's setting must be part of the cache key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.assignment import load_assignment
from grader.checks.secret import SECRET_ENV

ROOT = Path(__file__).resolve().parents[1]


def test_a_secret_given_in_the_environment_travels_to_the_workers(tmp_path, monkeypatch):
    from grader.engine.cluster import course_payload

    course = tmp_path / "course"
    course.mkdir()
    for name in ("assignments", "reference"):
        os.symlink(ROOT / name, course / name)
    (course / "course.toml").write_text(
        '[course]\nassignments = "assignments"\nreference = "reference"\n'
        'secret = "course-secret"\n',
        encoding="utf-8",
    )
    secret = "0123456789abcdef" * 4
    monkeypatch.setenv(SECRET_ENV, secret)
    payload = course_payload(load_assignment("regularization", course))
    # The worker has no such variable: hidden checks need the secret in the payload.
    assert payload["files"].get("course-secret", b"").decode().strip() == secret


_KEY = (
    "from pathlib import Path; from grader.assignment import load_assignment; "
    "from grader.engine.reference_cache import cache_key; "
    "print(cache_key(load_assignment('regularization', Path('.'))))"
)


def test_the_cache_key_follows_onednn():
    keys = set()
    for value in ("0", "1"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": value}
        out = subprocess.run(
            [sys.executable, "-c", _KEY], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        keys.add(out.stdout.strip())
    # oneDNN rounds differently (the cluster refuses a worker that differs in it).
    assert len(keys) == 2


class _Kept:
    """A real client that outlives each run (the test closes it)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _course_seen(course: dict[str, Any], task: dict[str, Any], *rest: Any) -> tuple[str, str]:
    seen = {"name": course["name"], "digest": course["digest"], "only": task["only"]}
    return json.dumps(seen), "here"


def test_each_run_on_one_cluster_grades_with_its_own_course(monkeypatch):
    # Scattered as a dict, every run's course landed under the same keys ("name",
    # "digest", "files"): a second run graded with the first run's checks and reference.
    distributed = pytest.importorskip("distributed")
    from grader.engine import cluster
    from grader.submissions import Submission

    submission = Submission("alice", ROOT / "examples" / "regularization" / "bob.py", "bob.py")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as local,
        distributed.Client(local, set_as_default=False) as client,
    ):
        monkeypatch.setattr(cluster, "connect", lambda scheduler: _Kept(client))
        monkeypatch.setattr(cluster, "grade_remote", _course_seen)
        for name in ("regularization", "dropout", "regularization"):
            assignment = load_assignment(name, ROOT)
            seen: list[dict[str, str]] = []
            cluster.grade_on_cluster(
                "in-process",
                assignment,
                [submission],
                assignment.limits,
                "limits",
                lambda job, result, seen=seen: seen.append(json.loads(result())),
                lambda job, alone: pytest.fail("no worker died"),
                # A regrade of what changed: the checks to run travel with the task.
                only=[frozenset({"test_b", "test_a"})],
            )
            payload = cluster.course_payload(assignment)
            assert seen == [
                {"name": name, "digest": payload["digest"], "only": ["test_a", "test_b"]}
            ]
