"""Which isolation level a run gets, and what it refuses: the fallback chain.

bubblewrap when it starts, else landlock when the kernel's Landlock and seccomp work
(checked by using them), else ``limits``, which grades only when the instructor allows
it. A kernel without Landlock is simulated for real: the grader runs under a seccomp
filter that answers Landlock's system calls with ENOSYS, as such a kernel does.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_course_toml

from grader.errors import UsageError
from grader.sandbox import isolation
from grader.sandbox.isolation import Capabilities, Isolation, choose, describe, protect, reach

ROOT = Path(__file__).resolve().parents[1]
needs_landlock = pytest.mark.skipif(
    not isolation.available("landlock"), reason="this kernel offers no Landlock"
)


def _without_landlock() -> None:
    # Runs in the child before exec: every process of the run inherits the filter.
    from grader.sandbox import seccomp

    seccomp.deny(["landlock_create_ruleset"], errno.ENOSYS)


def _environment_without_bubblewrap(tmp_path: Path) -> dict[str, str]:
    # A PATH with no bwrap on it, but everything else the grader starts.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("true", "sh"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return {**os.environ, "PATH": str(bin_dir)}


@needs_landlock
def test_without_bubblewrap_the_landlock_level_is_chosen(tmp_path):
    probe = subprocess.run(
        [sys.executable, "-c", "from grader.sandbox.isolation import detect; print(detect())"],
        env=_environment_without_bubblewrap(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    assert probe.stdout.strip() == "landlock"


def test_a_kernel_without_landlock_is_not_reported_as_having_it(tmp_path):
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from grader.sandbox.isolation import capabilities, detect\n"
            "c = capabilities(); print(detect(), c.landlock_abi, c.why_not)",
        ],
        env=_environment_without_bubblewrap(tmp_path),
        preexec_fn=_without_landlock,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    level, abi, why = probe.stdout.strip().split(" ", 2)
    assert (level, abi) == ("limits", "0")
    assert "no Landlock" in why


def test_without_landlock_a_run_refuses_unless_allowed_and_then_says_limits(tmp_path):
    submissions = tmp_path / "class"
    (submissions / "alice").mkdir(parents=True)
    # Fails at import: the run's cost is the grading process's start, not training.
    (submissions / "alice" / "regularization.py").write_text("raise SystemExit(1)\n")
    out = tmp_path / "out"
    command = [
        *(sys.executable, "-m", "grader", "--course", str(ROOT), "run"),
        *(str(submissions), "--out", str(out)),
        *("--assignment", "regularization", "--workers", "1"),
    ]
    env = _environment_without_bubblewrap(tmp_path)

    def grade(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *extra],
            env=env,
            preexec_fn=_without_landlock,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=tmp_path,
        )

    refused = grade()
    assert refused.returncode != 0
    said = " ".join((refused.stdout + refused.stderr).split())
    assert "Refusing to grade at isolation level 'limits'" in said
    assert "read the reference solution" in said
    assert "--allow-weak-isolation" in said
    assert "no Landlock" in said
    assert not (out / "results.json").exists()

    allowed = grade("--allow-weak-isolation")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "Isolation: limits" in " ".join((allowed.stdout + allowed.stderr).split())
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["isolation"] == "limits"
    assert "can read the reference" in results["isolation_detail"]
    assert results["students"][0]["status"] == "import_error"


def _caps(**changes: object) -> Capabilities:
    base = {"bubblewrap": False, "landlock_abi": 7, "seccomp": True, "root": False}
    return Capabilities(**{**base, **changes})  # type: ignore[arg-type]


def test_choose_refuses_what_is_missing_and_what_is_weak(monkeypatch):
    monkeypatch.delenv("GRADER_ISOLATION", raising=False)
    monkeypatch.delenv("GRADER_ALLOW_WEAK_ISOLATION", raising=False)
    monkeypatch.setattr(isolation, "capabilities", lambda: _caps())
    assert choose() == "landlock"
    with pytest.raises(UsageError, match="'bubblewrap' is not available"):
        choose("bubblewrap")
    with pytest.raises(UsageError, match="Refusing to grade"):
        choose("limits")
    assert choose("limits", allow_weak=True) == "limits"
    with pytest.raises(UsageError, match="below the required 'bubblewrap'"):
        choose(strict="bubblewrap")
    monkeypatch.setenv("GRADER_ISOLATION", "limits")
    monkeypatch.setenv("GRADER_ALLOW_WEAK_ISOLATION", "1")
    assert choose() == "limits"

    monkeypatch.setattr(
        isolation, "capabilities", lambda: _caps(landlock_abi=0, why_not="no Landlock here")
    )
    monkeypatch.delenv("GRADER_ISOLATION")
    monkeypatch.delenv("GRADER_ALLOW_WEAK_ISOLATION")
    with pytest.raises(UsageError, match="no Landlock here"):
        choose()
    with pytest.raises(UsageError, match="not available here: no Landlock here"):
        choose("landlock")


def test_the_level_names_what_the_kernel_does_not_cover(monkeypatch):
    monkeypatch.setattr(isolation, "capabilities", lambda: _caps(landlock_abi=5))
    text = describe("landlock")
    assert "Landlock ABI 5" in text and "signals to the grader" in text
    monkeypatch.setattr(isolation, "capabilities", lambda: _caps(landlock_abi=7, root=True))
    text = describe("landlock")
    assert "a user of its own" in text and "signals" not in text
    assert "read the reference" in describe("limits")


def test_a_worker_of_a_level_without_landlock_is_never_confined_less_than_it_says(monkeypatch):
    monkeypatch.setattr(isolation, "capabilities", lambda: _caps(landlock_abi=0))
    with pytest.raises(UsageError):
        isolation.confinement(Isolation("landlock"), Path("/tmp"))
    assert isolation.confinement(Isolation("limits"), Path("/tmp")) is None


def test_protect_hides_all_but_the_way_to_what_workers_need(tmp_path):
    course = tmp_path / "course"
    (course / "reference").mkdir(parents=True)
    (course / "reference" / "answer.py").write_text("x = 1\n")
    (course / "course-secret").write_text("s\n")
    package = course / "grader"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for path in (course, course / "reference", package):
        path.chmod(0o755)
    (course / "course-secret").chmod(0o644)
    changed = protect([course], keep=[package])
    mode = {p: stat.S_IMODE(p.stat().st_mode) for p in changed}
    assert mode[course] == 0o751  # searchable on the way to the package, not listable
    assert mode[course / "reference"] == 0o750
    assert mode[course / "course-secret"] == 0o640
    assert stat.S_IMODE(package.stat().st_mode) == 0o755
    assert protect([course], keep=[package]) == []  # nothing left to change


def test_reach_makes_the_way_to_python_searchable(tmp_path):
    home = tmp_path / "home"
    python = home / "pyenv" / "versions"
    python.mkdir(parents=True)
    home.chmod(0o700)
    (home / "pyenv").chmod(0o750)
    changed = reach([python])
    assert home in changed and home / "pyenv" in changed
    assert stat.S_IMODE(home.stat().st_mode) == 0o701
    assert stat.S_IMODE((home / "pyenv").stat().st_mode) == 0o751


def test_the_setting_in_assignment_toml_is_read(tmp_path):
    from grader.assignment import load_assignment

    source = ROOT / "assignments" / "regularization"
    target = tmp_path / "assignments" / "regularization"
    shutil.copytree(source, target)
    write_course_toml(tmp_path)
    toml = target / "assignment.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        text.replace("[limits]", "[grading]\nallow_weak_isolation = true\n\n[limits]", 1),
        encoding="utf-8",
    )
    assert load_assignment("regularization", tmp_path).allow_weak_isolation is True
    toml.write_text(
        text.replace("[limits]", '[grading]\nallow_weak_isolation = "yes"\n\n[limits]', 1),
        encoding="utf-8",
    )
    with pytest.raises(Exception, match="allow_weak_isolation must be true or false"):
        load_assignment("regularization", tmp_path)
