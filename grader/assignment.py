"""Assignments: ``assignments/NAME/assignment.toml`` plus check files and a reference.

The toml file is the single source of points, visibility and limits::

    [assignment]
    title = "Regularization"
    module = "regularization"              # what students hand in: regularization.py
    functions = ["l2_dense", "penalty"]    # graded functions, in feedback order

    [limits]
    call_timeout = 60                      # seconds per call into student code
    import_timeout = 120
    submission_timeout = 900

    [grading]
    allow_weak_isolation = false           # true: grade where only `limits` isolation works

    [checks.test_l2_dense_defaults]        # one table per pytest test function
    function = "l2_dense"
    points = 1
    visibility = "visible"                 # or "hidden"
    description = "l2_dense(64) returns ..."

A check file ``test_*.py`` holds only visible or only hidden checks (hidden ones are
conventionally in ``test_hidden_*.py``): a release ships the visible files alone, so
students run the visible checks themselves. ``load_assignment`` enforces this.

A release bundle's ``checks/`` folder (``load_bundle``) holds the same toml (visible
checks only), the visible check files and ``answers.json``, the reference's recorded
answers (``grader.answers``), instead of the reference solution.
"""

from __future__ import annotations

import ast
import json
import math
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.errors import AssignmentError, UsageError
from grader.paths import project_root
from grader.results import CheckResult, CheckStatus
from grader.sandbox.client import Limits

__all__ = [
    "ANSWERS_FILE",
    "VISIBILITIES",
    "Assignment",
    "CheckSpec",
    "available_assignments",
    "check_file_visibility",
    "check_functions",
    "load_assignment",
    "load_bundle",
    "secret_checks",
    "unguarded_functions",
]

VISIBILITIES = ("visible", "hidden")
ANSWERS_FILE = "answers.json"


@dataclass(frozen=True)
class CheckSpec:
    name: str
    function: str
    points: float
    visibility: str = "visible"
    description: str = ""


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    module: str
    functions: tuple[str, ...]
    checks: tuple[CheckSpec, ...]
    limits: Limits
    directory: Path
    # The live reference solution. A release bundle ships none: this path does not
    # exist there, and ``answers`` is used instead.
    reference: Path
    # The reference's recorded answers (``answers.json``); None: ask the live reference.
    answers: Path | None = None
    # The names of the check files to run; None: every test_*.py of the directory.
    only_files: tuple[str, ...] | None = None
    # ``[grading] allow_weak_isolation``: grade even where student code could read the
    # reference and forge results (the ``limits`` isolation level).
    allow_weak_isolation: bool = False

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def stub(self) -> Path:
        return self.directory / f"{self.module}.py"

    def check_files(self) -> list[Path]:
        files = sorted(self.directory.glob("test_*.py"))
        if self.only_files is None:
            return files
        return [p for p in files if p.name in self.only_files]

    def visible(self) -> Assignment:
        """The assignment as students may run it: its visible checks, from the check
        files that hold only visible checks. Hidden checks are neither run nor named."""
        by_file = check_file_visibility(self.check_files(), self.checks)
        return replace(
            self,
            checks=tuple(c for c in self.checks if c.visibility == "visible"),
            only_files=tuple(p.name for p, kind in by_file.items() if kind == "visible"),
        )

    def unrun_checks(self, status: CheckStatus, message: str) -> tuple[CheckResult, ...]:
        """Every check with no points and the same status: for a submission whose checks
        could not run at all."""
        return tuple(
            CheckResult(
                name=spec.name,
                function=spec.function,
                description=spec.description,
                points=0.0,
                max_points=spec.points,
                status=status,
                message=message,
                visibility=spec.visibility,
            )
            for spec in self.checks
        )

    def spec(self, name: str) -> CheckSpec | None:
        for check in self.checks:
            if check.name == name:
                return check
        return None


def available_assignments(root: Path | None = None) -> list[str]:
    base = (root or project_root()) / "assignments"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "assignment.toml").is_file())


def load_assignment(name: str, root: Path | None = None) -> Assignment:
    """Read and validate ``assignments/NAME/assignment.toml`` of a checkout."""
    root = root or project_root()
    directory = root / "assignments" / name
    toml_path = directory / "assignment.toml"
    if not toml_path.is_file():
        known = ", ".join(available_assignments(root)) or "none"
        raise UsageError(f"No assignment named {name!r} (known assignments: {known}).")
    assignment = _read_toml(toml_path, name, root / "reference" / f"{name}.py")
    check_file_visibility(assignment.check_files(), assignment.checks)
    return assignment


def load_bundle(directory: Path) -> Assignment:
    """Read a release bundle's checks folder: ``assignment.toml``, the visible check
    files and ``answers.json`` (the reference's recorded answers); no reference."""
    toml_path = directory / "assignment.toml"
    if not toml_path.is_file():
        raise UsageError(f"{directory} holds no assignment.toml, so it is not a checks folder.")
    answers = directory / ANSWERS_FILE
    name = _recorded_assignment(answers)
    assignment = _read_toml(toml_path, name, directory / "reference-not-shipped" / f"{name}.py")
    return replace(assignment, answers=answers).visible()


def _recorded_assignment(answers: Path) -> str:
    """The assignment name ``answers.json`` was recorded for; AssignmentError if unreadable."""
    if not answers.is_file():
        raise AssignmentError(
            f"{answers} is missing: a release's checks folder holds the reference's "
            "recorded answers there. Download the assignment's checks again."
        )
    try:
        data = json.loads(answers.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AssignmentError(f"{answers} is not readable JSON: {exc}") from exc
    name = data.get("assignment") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        raise AssignmentError(f"{answers} does not name the assignment it was recorded for.")
    return name


def check_functions(path: Path) -> list[str]:
    """The names of the top-level ``test_*`` functions a check file defines, in order."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError as exc:
        raise AssignmentError(f"{path} has a syntax error: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AssignmentError(f"{path} cannot be read: {exc}") from exc
    return [
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name.startswith("test_")
    ]


def _called_names(node: ast.AST) -> set[str]:
    """The names a function calls: ``f(...)`` and ``module.f(...)`` both give ``f``."""
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            if isinstance(child.func, ast.Name):
                names.add(child.func.id)
            elif isinstance(child.func, ast.Attribute):
                names.add(child.func.attr)
    return names


def secret_checks(assignment: Assignment) -> set[str]:
    """The hidden checks that draw their inputs from the course secret: their test
    function calls ``secret_rng``, itself or through functions of its own file (read
    statically: nothing is imported or run)."""
    hidden = {c.name for c in assignment.checks if c.visibility == "hidden"}
    found: set[str] = set()
    for path in assignment.check_files():
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, SyntaxError):
            continue  # check_functions reports an unreadable file
        calls = {
            node.name: _called_names(node)
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        drawing = {"secret_rng"}
        while True:  # every function that reaches secret_rng, however deep
            more = {name for name, called in calls.items() if called & drawing} - drawing
            if not more:
                break
            drawing |= more
        found |= hidden & drawing
    return found


def unguarded_functions(assignment: Assignment) -> list[str]:
    """The graded functions none of whose checks is hidden on secret inputs: a student
    could pass all their checks by hard-coding the answers visible checks print."""
    guarded = {c.function for c in assignment.checks if c.name in secret_checks(assignment)}
    return [f for f in assignment.functions if f not in guarded]


def check_file_visibility(files: list[Path], checks: tuple[CheckSpec, ...]) -> dict[Path, str]:
    """Whether each check file holds visible or hidden checks (files that define none of
    ``checks`` are left out). A file that holds both is an AssignmentError: a release
    ships the visible files alone."""
    declared = {c.name: c.visibility for c in checks}
    result: dict[Path, str] = {}
    for path in files:
        kinds: dict[str, list[str]] = {}
        for name in check_functions(path):
            if name in declared:
                kinds.setdefault(declared[name], []).append(name)
        if len(kinds) > 1:
            raise AssignmentError(
                f"{path} holds visible checks ({', '.join(kinds['visible'])}) and hidden "
                f"checks ({', '.join(kinds['hidden'])}). A check file holds only visible or "
                "only hidden checks, so that a release can ship the visible ones: move the "
                "hidden checks to a file of their own, e.g. test_hidden_*.py."
            )
        if kinds:
            result[path] = next(iter(kinds))
    return result


def _read_toml(toml_path: Path, name: str, reference: Path) -> Assignment:
    directory = toml_path.parent
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AssignmentError(f"{toml_path} is not valid TOML: {exc}") from exc

    meta = _table(data, "assignment", toml_path)
    module = _string(meta, "module", toml_path)
    functions = meta.get("functions")
    if not isinstance(functions, list) or not all(isinstance(f, str) for f in functions):
        raise AssignmentError(f"{toml_path}: [assignment] functions must be a list of names.")
    limits_table = data.get("limits", {})
    if not isinstance(limits_table, dict):
        raise AssignmentError(f"{toml_path}: [limits] must be a table.")
    defaults = Limits()
    try:
        limits = Limits(
            call_timeout=float(limits_table.get("call_timeout", defaults.call_timeout)),
            import_timeout=float(limits_table.get("import_timeout", defaults.import_timeout)),
            submission_timeout=float(
                limits_table.get("submission_timeout", defaults.submission_timeout)
            ),
            output_bytes=int(limits_table.get("output_bytes", defaults.output_bytes)),
            memory_mb=int(limits_table.get("memory_mb", defaults.memory_mb)),
        )
    except (TypeError, ValueError) as exc:
        raise AssignmentError(f"{toml_path}: [limits] values must be numbers ({exc}).") from exc
    for key in (
        "call_timeout",
        "import_timeout",
        "submission_timeout",
        "output_bytes",
        "memory_mb",
    ):
        value = getattr(limits, key)
        if not math.isfinite(value) or value <= 0:
            raise AssignmentError(f"{toml_path}: [limits] {key} must be a positive number.")

    grading = data.get("grading", {})
    if not isinstance(grading, dict):
        raise AssignmentError(f"{toml_path}: [grading] must be a table.")
    allow_weak = grading.get("allow_weak_isolation", False)
    if not isinstance(allow_weak, bool):
        raise AssignmentError(f"{toml_path}: [grading] allow_weak_isolation must be true or false.")

    checks = []
    for check_name, table in _table(data, "checks", toml_path).items():
        if not isinstance(table, dict):
            raise AssignmentError(f"{toml_path}: [checks.{check_name}] must be a table.")
        function = _string(table, "function", toml_path, f"checks.{check_name}")
        if function not in functions:
            raise AssignmentError(
                f"{toml_path}: check {check_name} grades {function!r}, "
                f"which is not in [assignment] functions."
            )
        points = table.get("points")
        if (
            not isinstance(points, (int, float))
            or isinstance(points, bool)
            or not math.isfinite(points)
            or points <= 0
        ):
            raise AssignmentError(f"{toml_path}: check {check_name} needs points > 0.")
        visibility = table.get("visibility", "visible")
        if visibility not in VISIBILITIES:
            raise AssignmentError(
                f"{toml_path}: check {check_name} has visibility {visibility!r}; "
                f"use one of {', '.join(VISIBILITIES)}."
            )
        checks.append(
            CheckSpec(
                name=check_name,
                function=function,
                points=float(points),
                visibility=visibility,
                description=str(table.get("description", "")),
            )
        )
    if not checks:
        raise AssignmentError(f"{toml_path}: no [checks.*] tables.")
    return Assignment(
        name=name,
        title=str(meta.get("title", name)),
        module=module,
        functions=tuple(functions),
        checks=tuple(checks),
        limits=limits,
        directory=directory,
        reference=reference,
        allow_weak_isolation=allow_weak,
    )


def _table(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    table = data.get(key)
    if not isinstance(table, dict):
        raise AssignmentError(f"{path}: missing [{key}] table.")
    return table


def _string(table: dict[str, Any], key: str, path: Path, where: str = "assignment") -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise AssignmentError(f"{path}: [{where}] needs a {key!r} string.")
    return value
