"""Both shipped assignments graded in one process, each reference with full marks: their
check files share names (test_model.py, test_overfitting.py, _calibrated.py) and live
apart only because each assignment's check folder is a package of its own."""

from __future__ import annotations

import sys

from grader.assignment import load_assignment
from grader.engine.check_modules import check_package
from grader.engine.session import GradingSession
from grader.submissions import Submission


def test_both_references_get_full_marks_in_one_process():
    for name in ("regularization", "dropout"):
        assignment = load_assignment(name)
        path = assignment.reference
        result = GradingSession(assignment).grade(Submission("reference", path, path.name))
        failed = [(c.name, c.status, c.message) for c in result.checks if c.status != "passed"]
        assert result.status == "graded" and not failed, (name, result.error, failed)
        assert result.score == result.max_score > 0
        package = check_package(assignment.directory, name)
        for stem in ("test_model", "_calibrated"):
            module = sys.modules[f"{package}.{stem}"]
            assert module.__file__ == str(assignment.directory.resolve() / f"{stem}.py")
