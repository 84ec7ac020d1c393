"""Assignments: ``assignments/NAME/assignment.toml`` plus check files and a reference.

The toml file states what students hand in and the limits::

    [assignment]
    title = "Regularization"
    module = "regularization"              # what students hand in: regularization.py
    functions = ["l2_dense", "penalty"]    # graded functions, in feedback order
    # hidden_checks_last = true            # results: hidden checks after all visible ones

    [limits]
    call_timeout = 60                      # seconds per call into student code
    import_timeout = 120
    submission_timeout = 900

    [grading]
    allow_weak_isolation = false           # true: grade where only `limits` isolation works

    [late]                                 # optional: the late policy (grader.late)
    due = 2026-12-01T23:59:00+01:00
    penalty_per_day = 10                   # percent of the points per day begun

Each check states its function, points and visibility once, next to itself, and its
docstring's first paragraph (whitespace collapsed) is its description::

    @check("l2_dense", points=1)                  # from grader.checks
    def test_l2_dense_defaults(submission, reference):
        \"\"\"l2_dense(64) returns Dense(64, relu) with an L2(0.01) kernel regularizer.\"\"\"

    @check("l2_dense", points=1, hidden=True)
    def test_hidden_l2_dense(submission, reference):
        \"\"\"l2_dense matches the reference for other units, strengths and activations.\"\"\"

``read_checks`` reads these declarations with ``ast``: nothing of a check file is
imported or run here, so the arguments must be literals. Every ``test_*`` function is a
declared check. Results list the checks by function (the order of ``functions``),
visible before hidden, then by file and line; with ``hidden_checks_last``, every visible
check comes before every hidden one.

A check file ``test_*.py`` holds only visible or only hidden checks (hidden ones are
conventionally in ``test_hidden_*.py``, but ``hidden=True`` alone makes a check hidden):
a release ships the visible files alone, so students run the visible checks themselves.
``load_assignment`` enforces this. Only ``test_*.py`` files hold checks; ``_*.py`` files
beside them are the assignment's private helper modules, which check files import
relatively (``grader.engine.check_modules``; a release ships those visible checks use).

A release bundle's ``checks/`` folder (``load_bundle``) holds the same toml, the visible
check files and ``answers.json``, the reference's recorded answers
(``grader.engine.recording``), instead of the reference solution.
"""

from __future__ import annotations

import ast
import json
import math
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.course import Course, find_course
from grader.errors import AssignmentError, UsageError
from grader.late import LatePolicy
from grader.results import VISIBILITIES, CheckResult, CheckStatus, Visibility
from grader.sandbox.limits import Limits

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
    "read_checks",
    "secret_checks",
    "unguarded_functions",
]

ANSWERS_FILE = "answers.json"


@dataclass(frozen=True)
class CheckSpec:
    """A check as its ``@check`` declaration states it (read statically)."""

    name: str
    function: str
    points: float
    visibility: Visibility = "visible"
    description: str = ""
    # Where it is declared: the check file's name and the test function's line.
    file: str = ""
    line: int = 0


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
    # The course folder and its secret file, which hidden checks draw their inputs from
    # (None: no course, as in a release's checks folder).
    course: Path | None = None
    secret: Path | None = None
    # ``[late]``: the late policy; None: lateness costs nothing.
    late: LatePolicy | None = None

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


def _course(root: Course | Path | None) -> Course:
    """``root`` as a course: a Course as is, the course folder ``root`` (its
    course.toml), or (None) the course found from the environment or the current folder."""
    if isinstance(root, Course):
        return root
    return find_course() if root is None else Course.read(root)


def available_assignments(root: Course | Path | None = None) -> list[str]:
    return _course(root).assignment_names()


def load_assignment(name: str, root: Course | Path | None = None) -> Assignment:
    """Read and validate the course's ``assignments/NAME/assignment.toml``."""
    course = _course(root)
    directory = course.assignment_dir(name)
    toml_path = directory / "assignment.toml"
    if not toml_path.is_file():
        known = ", ".join(course.assignment_names()) or "none"
        raise UsageError(f"No assignment named {name!r} (known assignments: {known}).")
    assignment = replace(
        _read_toml(toml_path, name, course.reference_for(name)),
        course=course.root,
        secret=course.secret,
    )
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


def _drawing_names(path: Path, seen: dict[Path, set[str]]) -> set[str]:
    """The names in the file ``path`` that reach ``secret_rng`` when called: the function
    itself under any alias, the file's own functions that call one of them, and what it
    imports from helper modules beside it (``from ._x import f``, ``from . import _x``)
    that does. Name-based and read statically: a name that might draw counts as drawing."""
    if path in seen:
        return seen[path]
    seen[path] = {"secret_rng"}  # a helper importing this one back stops here
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError):
        return seen[path]  # check_functions reports an unreadable check file
    drawing = {"secret_rng"}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 1 and node.module:
            helper = path.parent / f"{node.module.split('.')[0]}.py"
            names = _drawing_names(helper, seen) if helper.is_file() else set()
            drawing |= {a.asname or a.name for a in node.names if a.name in names}
        elif node.level == 1:
            for alias in node.names:
                helper = path.parent / f"{alias.name}.py"
                if helper.is_file():  # called as _x.f(...): its drawing names count
                    drawing |= _drawing_names(helper, seen)
        else:
            drawing |= {a.asname or a.name for a in node.names if a.name == "secret_rng"}
    calls = {
        node.name: _called_names(node)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    while True:  # every function that reaches a drawing name, however deep
        more = {name for name, called in calls.items() if called & drawing} - drawing
        if not more:
            break
        drawing |= more
    seen[path] = drawing
    return drawing


def secret_checks(assignment: Assignment) -> set[str]:
    """The hidden checks that draw their inputs from the course secret: their test
    function calls ``secret_rng``, itself, through functions of its own file or of the
    helper modules it imports (read statically: nothing is imported or run)."""
    hidden = {c.name for c in assignment.checks if c.visibility == "hidden"}
    seen: dict[Path, set[str]] = {}
    found: set[str] = set()
    for path in assignment.check_files():
        found |= hidden & _drawing_names(path, seen)
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


def read_checks(
    directory: Path, functions: tuple[str, ...], *, hidden_last: bool = False
) -> tuple[CheckSpec, ...]:
    """The checks the ``test_*.py`` files of ``directory`` declare with ``@check``, read
    statically (nothing is imported or run), in results order: by graded function (the
    order of ``functions``), visible before hidden, then by file and line;
    ``hidden_last``: every visible check before every hidden one.

    AssignmentError, naming the file and line, for a test function without ``@check``,
    arguments that are not literals, an unknown function, points that are not a positive
    number, a missing docstring, a name declared twice, or a file holding both visible and
    hidden checks (a release ships the visible files alone)."""
    checks: list[CheckSpec] = []
    where: dict[str, str] = {}
    for path in sorted(directory.glob("test_*.py")):
        in_file = _file_checks(path, functions)
        kinds = {c.visibility for c in in_file}
        if len(kinds) > 1:
            listed = {
                kind: ", ".join(
                    f"{c.name} (line {c.line})" for c in in_file if c.visibility == kind
                )
                for kind in VISIBILITIES
            }
            raise AssignmentError(
                f"{path} holds visible checks ({listed['visible']}) and hidden checks "
                f"({listed['hidden']}). A check file holds only visible or only hidden checks, "
                "so that a release can ship the visible ones: move the hidden checks to a "
                "file of their own, e.g. test_hidden_*.py."
            )
        for spec in in_file:
            here = f"{path}:{spec.line}"
            if spec.name in where:
                raise AssignmentError(
                    f"{here}: check {spec.name} is declared twice (also at {where[spec.name]}); "
                    "check names are unique in an assignment."
                )
            where[spec.name] = here
        checks += in_file
    if not checks:
        raise AssignmentError(
            f"{directory} has no checks: declare them in test_*.py files with "
            "@check(FUNCTION, points=N) from grader.checks."
        )

    def order(spec: CheckSpec) -> tuple[Any, ...]:
        hidden = spec.visibility == "hidden"
        rank = functions.index(spec.function)
        first = (hidden, rank) if hidden_last else (rank, hidden)
        return (*first, spec.file, spec.line)

    return tuple(sorted(checks, key=order))


def _file_checks(path: Path, functions: tuple[str, ...]) -> list[CheckSpec]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError as exc:
        raise AssignmentError(f"{path} has a syntax error: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AssignmentError(f"{path} cannot be read: {exc}") from exc
    found = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        decorator = next((d for d in node.decorator_list if _is_check(d)), None)
        here = f"{path}:{node.lineno}"
        if decorator is None:
            if node.name.startswith("test_"):
                raise AssignmentError(
                    f"{here}: {node.name} is a test but not a declared check: decorate it "
                    "with @check(FUNCTION, points=N) (grader.checks), or rename it so that "
                    "it does not start with test_."
                )
            continue
        if not node.name.startswith("test_"):
            raise AssignmentError(
                f"{here}: {node.name} is declared with @check but pytest runs only functions "
                "named test_*: rename it."
            )
        found.append(_declared(node, decorator, path, functions))
    return found


def _is_check(decorator: ast.expr) -> bool:
    """``@check``, ``@check(...)`` or ``@<module>.check(...)``."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Name) and target.id == "check") or (
        isinstance(target, ast.Attribute) and target.attr == "check"
    )


def _declared(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    decorator: ast.expr,
    path: Path,
    functions: tuple[str, ...],
) -> CheckSpec:
    here = f"{path}:{decorator.lineno}"
    usage = "@check(FUNCTION, points=N) or @check(FUNCTION, points=N, hidden=True)"
    if not isinstance(decorator, ast.Call) or len(decorator.args) > 1:
        raise AssignmentError(f"{here}: declare check {node.name} as {usage}.")
    given: dict[str, ast.expr] = {k.arg: k.value for k in decorator.keywords if k.arg}
    if any(k.arg is None for k in decorator.keywords):
        raise AssignmentError(f"{here}: check {node.name}: no **arguments in @check.")
    if decorator.args:
        if "function" in given:
            raise AssignmentError(f"{here}: check {node.name} names its function twice.")
        given["function"] = decorator.args[0]
    unknown = sorted(set(given) - {"function", "points", "hidden"})
    if unknown or not {"function", "points"} <= set(given):
        raise AssignmentError(f"{here}: declare check {node.name} as {usage}.")
    values: dict[str, Any] = {}
    for key, value in given.items():
        try:
            values[key] = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise AssignmentError(
                f"{path}:{value.lineno}: the {key} of check {node.name} must be written as a "
                f"literal (the grader reads it without running the file), not "
                f"{ast.unparse(value)!r}."
            ) from None
    function, points, hidden = values["function"], values["points"], values.get("hidden", False)
    if not isinstance(function, str) or function not in functions:
        known = ", ".join(functions)
        raise AssignmentError(
            f"{here}: check {node.name} grades {function!r}, which is not one of the "
            f"assignment's functions ({known})."
        )
    if (
        not isinstance(points, (int, float))
        or isinstance(points, bool)
        or not math.isfinite(points)
        or points <= 0
    ):
        raise AssignmentError(f"{here}: check {node.name} needs points > 0, not {points!r}.")
    if not isinstance(hidden, bool):
        raise AssignmentError(f"{here}: check {node.name}: hidden must be True or False.")
    docstring = ast.get_docstring(node)
    description = " ".join(re.split(r"\n\s*\n", docstring or "", maxsplit=1)[0].split())
    if not description:
        raise AssignmentError(
            f"{path}:{node.lineno}: check {node.name} has no docstring: its first paragraph "
            "is the description students read."
        )
    return CheckSpec(
        name=node.name,
        function=function,
        points=float(points),
        visibility="hidden" if hidden else "visible",
        description=description,
        file=path.name,
        line=node.lineno,
    )


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
    limits = Limits.from_table(data.get("limits", {}), str(toml_path))

    grading = data.get("grading", {})
    if not isinstance(grading, dict):
        raise AssignmentError(f"{toml_path}: [grading] must be a table.")
    allow_weak = grading.get("allow_weak_isolation", False)
    if not isinstance(allow_weak, bool):
        raise AssignmentError(f"{toml_path}: [grading] allow_weak_isolation must be true or false.")

    if "checks" in data:
        raise AssignmentError(
            f"{toml_path}: [checks] tables are no longer read. A check states its function, "
            "points and visibility with @check(...) above it, and its docstring is its "
            "description (see grader.assignment)."
        )
    hidden_last = meta.get("hidden_checks_last", False)
    if not isinstance(hidden_last, bool):
        raise AssignmentError(
            f"{toml_path}: [assignment] hidden_checks_last must be true or false."
        )
    checks = read_checks(directory, tuple(functions), hidden_last=hidden_last)
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
        late=None if "late" not in data else LatePolicy.from_table(data["late"], str(toml_path)),
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
