"""The usual way, for comparison: the checks run in the process that ran the submission.

``grading_speed.py`` uses this for its two baselines, each over the very check files the
grader runs, with the same ``GradingPlugin`` and the reference's answers recorded once
(as hard-coded expected values would be):

- a fresh ``python -m pytest CHECKS -p benchmarks.baseline`` per submission: the
  plugin imports the submission into the pytest process (``GRADER_BENCH_*`` variables
  say which, and where the result goes);
- a fresh Jupyter kernel per submission (how otter-grader and nbgrader work): the
  submission runs as the notebook's cells, then a last cell calls ``check_namespace``.

No isolation, no worker: student functions are called in-process. The result is the
student's ``StudentResult`` as JSON.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from grader.assignment import Assignment, load_assignment
from grader.engine.check_modules import CheckModules
from grader.engine.grading import score_of
from grader.engine.plugin import GradingPlugin
from grader.engine.proxy import submission_proxy
from grader.engine.reference import call_in_process, recorded_reference
from grader.errors import StudentError, StudentImportError
from grader.results import StudentResult
from grader.sandbox import wire
from grader.sandbox.client import CallResult
from grader.sandbox.convert import Converter, configure_tensorflow

__all__ = ["check_namespace", "pytest_configure", "pytest_unconfigure"]


class InProcess:
    """A student's module called directly, answering as a worker would."""

    def __init__(self, module: types.ModuleType | None, error: StudentImportError | None) -> None:
        self.module_object = module
        self.error = error
        self.module = "submission"
        self.convert = Converter()

    def call(self, function: str, *args: Any, gradients: bool = False, **kwargs: Any) -> CallResult:
        if self.error is not None:
            raise self.error.with_traceback(None)  # raised per check: no growing traceback
        target = getattr(self.module_object, function, None)
        if not callable(target):
            raise StudentError(f"Your module has no function {function}().", kind="missing")
        try:
            return call_in_process(self.convert, target, args, kwargs, gradients)
        except NotImplementedError:
            message = f"{function}() is not implemented yet."
            raise StudentError(message, kind="not_implemented") from None
        except wire.WireError as exc:
            raise StudentError(f"{function}() returned something unreadable: {exc}") from None
        except Exception as exc:
            raise StudentError(f"{function}() raised {type(exc).__name__}: {exc}") from None


def _plugin(assignment: Assignment, answers: Path, live: InProcess) -> GradingPlugin:
    return GradingPlugin(assignment, submission_proxy(live), recorded_reference(answers).proxy)  # type: ignore[arg-type]


def _result(plugin: GradingPlugin, student: str) -> dict[str, Any]:
    checks = plugin.results()
    score, max_score = score_of(checks)
    status = "import_error" if plugin.import_error is not None else "graded"
    result = StudentResult(student, score, max_score, status, tuple(checks))
    return result.to_dict()


def _import(path: Path, name: str) -> tuple[types.ModuleType | None, StudentImportError | None]:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return None, StudentImportError(f"cannot load {path}", kind="import")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        message = f"{path.name} could not be imported: {type(exc).__name__}: {exc}"
        return None, StudentImportError(message, kind="import")
    return module, None


# -- a fresh pytest process per submission ----------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    if "GRADER_BENCH_SUBMISSION" not in os.environ:
        return
    configure_tensorflow()
    assignment = load_assignment(
        os.environ["GRADER_BENCH_ASSIGNMENT"], Path(os.environ["GRADER_BENCH_ROOT"])
    )
    module, error = _import(Path(os.environ["GRADER_BENCH_SUBMISSION"]), assignment.module)
    plugin = _plugin(assignment, Path(os.environ["GRADER_BENCH_ANSWERS"]), InProcess(module, error))
    config.pluginmanager.register(plugin, "grader-bench")
    # Check files import their assignment's helpers relatively, as when grading.
    config.pluginmanager.register(CheckModules(assignment.directory, assignment.name))
    config.stash[_PLUGIN] = plugin


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.stash.get(_PLUGIN, None)
    if plugin is not None:
        result = _result(plugin, os.environ.get("GRADER_BENCH_STUDENT", "student"))
        Path(os.environ["GRADER_BENCH_RESULT"]).write_text(json.dumps(result))


_PLUGIN = pytest.StashKey[GradingPlugin]()


# -- a fresh Jupyter kernel per submission ----------------------------------------------


def check_namespace(
    namespace: dict[str, Any], assignment_name: str, root: str, answers: str, out: str
) -> None:
    """Run the checks over a notebook's namespace (its last cell calls this)."""
    assignment = load_assignment(assignment_name, Path(root))
    module = types.ModuleType(assignment.module)
    module.__dict__.update(namespace)
    plugin = _plugin(assignment, Path(answers), InProcess(module, None))
    args = [
        *(str(p) for p in assignment.check_files()),
        *("-c", str(assignment.directory / "assignment.toml")),
        *("--rootdir", str(assignment.directory), "--import-mode=importlib", "-q"),
        *("-p", "no:cacheprovider", "-p", "no:randomly", "-o", "addopts="),
    ]
    pytest.main(args, plugins=[plugin, CheckModules(assignment.directory, assignment.name)])
    Path(out).write_text(json.dumps(_result(plugin, Path(out).stem)))
