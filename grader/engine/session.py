"""One grading process, prepared once, grading submissions one after another.

Every front end grades through a ``GradingSession``: ``grader run``'s grading processes,
``grader check``, ``grader validate``, recording a release's answers, the Gradescope
autograder and the PrairieLearn entry point. ::

    session = GradingSession(assignment, limits=limits, isolation=isolation)
    session.prepare()                 # TensorFlow, the workers' template, the reference
    result = session.grade(submission)

``prepare`` is optional (``grade`` prepares on first use) but lets a front end pay the
start-up before its first student, and report it apart. With ``cache=FOLDER``, the live
reference's answers to that start-up's calls are kept in ``FOLDER`` for the next
process and run (``grader.engine.reference_cache``).
"""

from __future__ import annotations

import contextlib
import gc
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.assignment import Assignment
from grader.engine.grading import ReferenceBaseline, grade_submission, reference_baseline
from grader.engine.proxy import ModuleProxy
from grader.engine.reference import reference_proxy
from grader.engine.reference_cache import CachedReference, cached_reference
from grader.results import StudentResult
from grader.sandbox.convert import configure_tensorflow
from grader.sandbox.isolation import Isolation
from grader.sandbox.limits import Limits
from grader.sandbox.template import TemplateError, template_for
from grader.submissions import Submission

__all__ = ["GradingSession", "quiet_process"]


@dataclass
class GradingSession:
    """Grades submissions of one assignment under fixed limits and isolation.

    ``limits`` defaults to the assignment's; ``reference`` to the assignment's reference
    solution (live, or recorded in a release's checks folder). ``cache``: a folder where
    the live reference's answers are kept between processes (None: none kept).
    """

    assignment: Assignment
    limits: Limits | None = None
    isolation: Isolation = field(default_factory=Isolation)
    reference: ModuleProxy | None = None
    cache: Path | None = None
    baseline: ReferenceBaseline | None = field(default=None, init=False)
    cached: CachedReference | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        # Workers never see the course: its references, check files and secret, also
        # where course.toml puts one of them outside the course folder.
        assignment = self.assignment
        wanted = [assignment.course, assignment.directory, assignment.reference, assignment.secret]
        if self.cache is not None and self._uses_cache():
            # It holds the answers of hidden checks: as private as the reference.
            with contextlib.suppress(OSError):
                self.cache.mkdir(mode=0o700, parents=True, exist_ok=True)
            wanted.append(self.cache)
        hidden = list(self.isolation.hidden)
        for path in wanted:
            if path is None or not path.exists():
                continue
            path = path.resolve()
            if not any(path.is_relative_to(h.resolve()) for h in hidden):
                hidden.append(path)
        if tuple(hidden) != self.isolation.hidden:
            self.isolation = replace(self.isolation, hidden=tuple(hidden))

    def prepare(self, *, warm_template: bool = True) -> ReferenceBaseline:
        """Set TensorFlow up as every grading process runs it, start the workers'
        template (its TensorFlow import overlaps this process's), and compute the
        reference's side of every check once."""
        if self.baseline is not None:
            return self.baseline
        if warm_template:
            # The first worker tries again, and says why it cannot start.
            with contextlib.suppress(TemplateError):
                template_for(self.isolation)
        configure_tensorflow()
        if self.reference is None:
            if self.cache is not None and self._uses_cache():
                self.cached = cached_reference(self.assignment, self.cache)
                self.reference = self.cached.proxy
            else:
                self.reference = reference_proxy(self.assignment)
        self.baseline = reference_baseline(self.assignment, self.reference)
        if self.cached is not None:
            self.cached.finish()
        return self.baseline

    def _uses_cache(self) -> bool:
        # Recorded answers (a release) and a given reference are cheap or not ours to keep.
        return self.reference is None and self.assignment.answers is None

    def grade(self, submission: Submission, only: frozenset[str] | None = None) -> StudentResult:
        """Every check of the assignment on one submission, or the checks in ``only``
        (an unreadable submission gets every check failed and the reason, without a
        worker)."""
        if submission.problem is None and submission.path is not None:
            self.prepare(warm_template=False)
        return grade_submission(
            self.assignment,
            submission,
            self.limits,
            self.isolation,
            reference=self.reference,
            only=only,
        )


def quiet_process() -> None:
    """For a process that only grades (``grader run``'s pool): its output would garble
    the instructor's terminal, and the objects TensorFlow and Keras make at start-up
    live as long as it does, so collections skip them."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    configure_tensorflow()
    import keras  # noqa: F401

    gc.freeze()
