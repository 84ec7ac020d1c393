"""What the grader counts is what the declarations say, and the course's secret reaches the
checks that need it however they draw from it.

- A test pytest collects that is no declared check (a method of a ``Test*`` class, a test
  under an ``if``) never runs, and ``validate`` is told (it would count for nothing, and
  could run among the visible checks on secret inputs).
- A hidden check that draws through a helper module or an alias of ``secret_rng`` is seen
  to draw, and the Gradescope zip carries the secret for any hidden check.
- A check file that draws from the secret at import time gets its own course's secret.
- A session hides the course's files from workers, also those course.toml puts outside
  the course folder, and bubblewrap masks a hidden file.

The tiny assignment's checks run in process on its reference (one TensorFlow import)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from conftest import write_course_toml

from grader.assignment import load_assignment, secret_checks
from grader.engine.grading import reference_baseline
from grader.engine.session import GradingSession
from grader.lms.gradescope import _secret_file
from grader.sandbox.isolation import Isolation, wrap_command

TOML = '[assignment]\ntitle = "Tiny"\nmodule = "tiny"\nfunctions = ["double"]\n'
SECRET = "a-long-enough-course-secret-0123456789"


def make_course(root: Path, *, secret: str = 'secret = "course-secret"\n') -> Path:
    write_course_toml(root, extra=secret)
    folder = root / "assignments" / "tiny"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(TOML)
    (folder / "tiny.py").write_text('def double(values):\n    """Double."""\n')
    (root / "reference").mkdir()
    (root / "reference" / "tiny.py").write_text(
        "def double(values):\n    return [2 * v for v in values]\n"
    )
    (folder / "test_visible.py").write_text(
        "from grader.checks import check\n\n\n"
        '@check("double", points=1)\n'
        "def test_double(submission, reference):\n"
        '    """double([1, 2]) is [2, 4]."""\n'
        "    assert submission.double([1, 2]) == reference.double([1, 2]) == [2, 4]\n\n\n"
        "class TestMore:\n"
        "    def test_not_declared(self, submission):\n"
        "        assert submission.double([1]) == [2]\n"
    )
    # Draws through a helper, under an alias, and at import time.
    (folder / "_inputs.py").write_text(
        "from grader.checks.secret import secret_rng as draw\n\n\n"
        "def secret_values():\n"
        '    return [int(v) for v in draw("tiny").integers(1, 100, size=3)]\n'
    )
    (folder / "test_hidden.py").write_text(
        "from grader.checks import check\n\n"
        "from . import _inputs\n\n"
        "AT_IMPORT = _inputs.secret_values()\n\n\n"
        '@check("double", points=2, hidden=True)\n'
        "def test_hidden_double(submission, reference):\n"
        '    """double matches the reference on secret values."""\n'
        "    values = _inputs.secret_values()\n"
        "    assert values == AT_IMPORT\n"
        "    assert submission.double(values) == reference.double(values)\n"
    )
    return root


def test_an_undeclared_test_never_runs_and_a_helper_draw_is_seen(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GRADER_COURSE_SECRET", raising=False)
    root = make_course(tmp_path / "course")
    (root / "course-secret").write_text(SECRET + "\n")
    assignment = load_assignment("tiny", root)
    assert secret_checks(assignment) == {"test_hidden_double"}
    baseline = reference_baseline(assignment)
    assert baseline.outcomes == {"test_double": "passed", "test_hidden_double": "passed"}
    assert baseline.undeclared == ("test_visible.py::TestMore::test_not_declared",)
    assert baseline.secret_checks == {"test_hidden_double"}
    assert _secret_file(assignment) == [("course-secret", SECRET + "\n", 0o600)]


def test_the_session_hides_course_files_kept_outside_the_course(tmp_path) -> None:
    # Outside /tmp, which bubblewrap replaces whole: a secret kept in the home folder.
    keys = Path(tempfile.mkdtemp(prefix=".grader-test-keys-", dir=Path.home()))
    try:
        outside = keys / "secret"
        outside.write_text(SECRET + "\n")
        root = make_course(tmp_path / "course", secret=f'secret = "{outside}"\n')
        assignment = load_assignment("tiny", root)
        hidden = GradingSession(assignment, isolation=Isolation("bubblewrap")).isolation.hidden
        assert set(hidden) == {root.resolve(), outside.resolve()}
        command = wrap_command(["true"], Isolation("bubblewrap", hidden=hidden), tmp_path / "s")
        pairs = list(zip(command, command[1:], command[2:], strict=False))
        assert ("--ro-bind", "/dev/null", str(outside.resolve())) in pairs
    finally:
        shutil.rmtree(keys)
