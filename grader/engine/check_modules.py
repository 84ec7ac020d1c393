"""Check modules named after their assignment, so they can import helpers of their own.

pytest's importlib mode names a check file after itself (``test_model``): two assignments'
``test_model`` would be one module in a process, and a check file could not import a
module beside it. Here every check folder (an assignment's, or a release's ``checks/``)
is a package of its own, ``_assignments.<name>_<digest>``, the digest naming the folder,
and its check files are modules of that package: regularization's ``test_model.py`` is
``_assignments.regularization_1a2b3c4d.test_model``. The same folder is the same package
for the whole process (its modules are imported once); another folder, even of an
assignment of the same name, is another package.

An assignment's private helper modules sit beside its check files, named ``_*.py`` (never
``test_*.py``: they are not checks), and check files import them relatively::

    from . import _data
    from ._data import gap_data

A release ships the helpers its visible check files import (directly or through another
helper, ``shipped_helpers``), and scans them like every file it ships.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.machinery
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pytest import ExceptionInfo

from grader.errors import AssignmentError

__all__ = [
    "ROOT_PACKAGE",
    "CheckModules",
    "check_package",
    "helper_imports",
    "import_check_module",
    "is_helper",
    "shipped_helpers",
]

ROOT_PACKAGE = "_assignments"


def check_package(directory: Path, name: str) -> str:
    """The package name of the check folder ``directory`` of assignment ``name``."""
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:8]
    return f"{ROOT_PACKAGE}.{re.sub(r'[^A-Za-z0-9_]', '_', name)}_{digest}"


def is_helper(path: Path) -> bool:
    """Whether ``path`` is named as a private helper module: ``_*.py``, not ``__init__.py``."""
    return path.suffix == ".py" and path.name.startswith("_") and not path.name.startswith("__")


def _package(name: str, directory: Path) -> ModuleType:
    root = sys.modules.get(ROOT_PACKAGE)
    if root is None:
        spec = importlib.machinery.ModuleSpec(ROOT_PACKAGE, None, is_package=True)
        spec.submodule_search_locations = []
        root = importlib.util.module_from_spec(spec)
        sys.modules[ROOT_PACKAGE] = root
    package = sys.modules.get(name)
    if package is None:
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(directory.resolve())]
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        setattr(root, name.rpartition(".")[2], package)
    return package


def import_check_module(path: Path, package: str) -> ModuleType:
    """The check file ``path`` imported as ``package.<stem>`` (once per process)."""
    _package(package, path.parent)
    return importlib.import_module(f"{package}.{path.stem}")


class _CheckModule(pytest.Module):
    package = ""

    def _getobj(self) -> Any:
        # What pytest's own importtestmodule does, with the package's name: a file that
        # does not load is this file's collection error, worded as pytest words it.
        try:
            module = import_check_module(self.path, self.package)
        except SyntaxError as exc:
            raise self.CollectError(ExceptionInfo.from_current().getrepr(style="short")) from exc
        except ImportError as exc:
            info = ExceptionInfo.from_current()
            # The check folder's own frames: not the import machinery's.
            folder = self.path.parent.resolve()
            info.traceback = info.traceback.filter(lambda e: Path(str(e.path)).parent == folder)
            shown = info.getrepr(style="short") if info.traceback else info.exconly()
            raise self.CollectError(
                f"ImportError while importing test module '{self.path}'.\nTraceback:\n{shown}"
            ) from exc
        self.config.pluginmanager.consider_module(module)
        return module


class CheckModules:
    """pytest plugin: collect the check files of ``directory`` as modules of its package."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory.resolve()
        self.package = check_package(directory, name)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makemodule(
        self, module_path: Path, parent: pytest.Collector
    ) -> pytest.Module | None:
        if module_path.parent.resolve() != self.directory:
            return None
        module: _CheckModule = _CheckModule.from_parent(parent, path=module_path)
        module.package = self.package
        return module


def helper_imports(path: Path) -> set[str]:
    """The stems of the helper modules ``path`` imports relatively (``from . import _x``,
    ``from ._x import y``); unreadable files import none (their own checks say why)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError):
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def shipped_helpers(check_files: list[Path]) -> list[Path]:
    """The helper modules ``check_files`` import, directly or through other helpers, sorted.
    AssignmentError if one of them imports from its folder a module that is not a helper
    module there (``_*.py``): a release could not ship it."""
    needed: dict[str, Path] = {}
    todo = list(check_files)
    while todo:
        path = todo.pop()
        for stem in sorted(helper_imports(path)):
            helper = path.parent / f"{stem}.py"
            if not (is_helper(helper) and helper.is_file()):
                raise AssignmentError(
                    f"{path} imports {stem} from its folder, which holds no helper module "
                    f"{stem}.py: check files import only private helper modules named _*.py "
                    "(a release ships those its visible checks import)."
                )
            if stem not in needed:
                needed[stem] = helper
                todo.append(helper)
    return sorted(needed.values())
