"""The shape of the code: the import graph under ``grader/`` has no cycle, and the
sandbox (the trust boundary) depends on nothing of the grader but its errors and paths.

Every import counts, wherever it is written: one inside a function or under
``TYPE_CHECKING`` is still a dependency, and a lazy import is how a cycle hides."""

from __future__ import annotations

import ast
from pathlib import Path

import grader

PACKAGE = Path(grader.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The grader module an imported name lives in (``grader.checks.fail`` -> ``grader.checks``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    known = _modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                found = _resolve(target, known)
                if found is not None and found != name and not name.startswith(found + "."):
                    graph[name].add(found)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_under_grader():
    assert _cycles(import_graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_sandbox_imports_only_errors_and_paths():
    allowed = {"grader.errors", "grader.paths"}
    outside = {
        name: sorted(d for d in deps if not d.startswith("grader.sandbox") and d not in allowed)
        for name, deps in import_graph().items()
        if name.startswith("grader.sandbox")
    }
    assert {name: deps for name, deps in outside.items() if deps} == {}


def test_engine_is_entered_only_from_front_ends():
    """The check library, reports and LMS writers never reach into the engine: they are
    fed its results."""
    graph = import_graph()
    leaks = {
        name: sorted(d for d in deps if d.startswith("grader.engine"))
        for name, deps in graph.items()
        if name.startswith(("grader.checks", "grader.reports", "grader.sandbox"))
    }
    assert {name: deps for name, deps in leaks.items() if deps} == {}


def test_graph_sees_lazy_imports():
    graph = import_graph()
    # grader.cli imports the engine's runner inside a command function.
    assert any(d.startswith("grader.engine") for d in graph["grader.cli"])
