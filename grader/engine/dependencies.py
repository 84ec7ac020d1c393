"""What each check's verdict depends on, so a regrade re-runs only the checks whose inputs
changed (``runner.plan_run``).

A check's inputs are its check file, the assignment's modules that file imports (followed
through their own imports), the reference solution when the file or those modules name
it, and every other file of the assignment's folder that is not Python (data a check may
open by path). Everything that may change any verdict is the *base* instead: the grader
and library versions, limits, isolation level, course secret, ``assignment.toml`` (its
late policy aside) and ``conftest.py`` files; when the base changes, every check runs.

Only what can be read for sure is trusted. A check file (or a module it imports) that
imports dynamically (``importlib``, ``__import__``, ``exec``, ``eval``,
``pytest_plugins``), reads files by path (``open``, ``__file__``, ``read_text``), or
cannot be parsed depends on *every* file of the assignment's folder and the reference:
it is re-run whenever anything changes, never wrongly carried over. So does every check
when the folder has a ``conftest.py`` (its fixtures reach checks by name, not import),
and Python files in the folder's subfolders count as shared data.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from grader.assignment import Assignment

__all__ = ["check_inputs"]

# Names whose use makes a file's dependencies impossible to read statically.
_DYNAMIC = frozenset(
    {
        "importlib",
        "__import__",
        "exec",
        "eval",
        "compile",
        "runpy",
        "imp",
        "pytest_plugins",
        "open",
        "__file__",
        "getfixturevalue",
    }
)
_DYNAMIC_ATTRIBUTES = frozenset(
    {"import_module", "__import__", "read_text", "read_bytes", "open", "getfixturevalue"}
)


def _digest(parts: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, data in parts:
        label = name.encode("utf-8", "surrogatepass")
        h.update(len(label).to_bytes(8, "big") + label + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b"\xff<unreadable>"


def check_inputs(assignment: Assignment) -> dict[str, str]:
    """Each check's inputs as one digest, by check name: it changes whenever something
    the check depends on does (see the module's docstring)."""
    directory = assignment.directory
    python = {
        p.stem: p
        for p in sorted(directory.glob("*.py"))
        if p != assignment.stub and p.name != "conftest.py"
    }
    # Data, and Python files below the folder's top level: shared by every check.
    others = sorted(
        p
        for p in directory.rglob("*")
        if p.is_file()
        and (p.suffix != ".py" or p.parent != directory)
        and p.name != "assignment.toml"
        and "__pycache__" not in p.parts
        and not p.name.endswith(".pyc")
    )
    conftest = any(directory.rglob("conftest.py"))
    shared = [(f"data:{p.relative_to(directory).as_posix()}", _read(p)) for p in others]
    reference = ("reference", _read(assignment.reference))
    everything = [(f"file:{name}", _read(path)) for name, path in python.items()]

    closures: dict[str, tuple[frozenset[str], bool, bool]] = {}

    def closure(name: str) -> tuple[frozenset[str], bool, bool]:
        """(modules it reaches, whether any of them is dynamic, whether any names the
        reference)."""
        if name in closures:
            return closures[name]
        seen: set[str] = set()
        dynamic = names_reference = False
        todo = [name]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            imports, is_dynamic, mentions = _scan(python[current])
            dynamic |= is_dynamic
            names_reference |= mentions
            todo += [m for m in imports if m in python]
        closures[name] = (frozenset(seen), dynamic, names_reference)
        return closures[name]

    keys: dict[str, str] = {}
    for spec in assignment.checks:
        stem = Path(spec.file).stem
        if stem not in python:
            keys[spec.name] = _digest([*everything, *shared, reference])
            continue
        modules, dynamic, names_reference = closure(stem)
        if dynamic or conftest:
            parts = [*everything, *shared, reference]
        else:
            parts = [(f"file:{m}", _read(python[m])) for m in sorted(modules)] + shared
            if names_reference:
                parts.append(reference)
        keys[spec.name] = _digest(parts)
    return keys


def _scan(path: Path) -> tuple[set[str], bool, bool]:
    """(the top-level module names ``path`` imports, whether it imports dynamically,
    whether it names the reference)."""
    text = _read(path)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set(), True, True
    imports: set[str] = set()
    dynamic = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imports.add(alias.name.split(".")[0])
                dynamic |= alias.name.split(".")[0] in _DYNAMIC
        elif isinstance(node, ast.ImportFrom):
            if node.level and node.module is None:  # from . import a, b
                imports.update(alias.name for alias in node.names)
            elif node.module is not None:
                imports.add(node.module.split(".")[0])
                dynamic |= node.module.split(".")[0] in _DYNAMIC
        elif (isinstance(node, ast.Name) and node.id in _DYNAMIC) or (
            isinstance(node, ast.Attribute) and node.attr in _DYNAMIC_ATTRIBUTES
        ):
            dynamic = True
    return imports, dynamic, b"reference" in text
