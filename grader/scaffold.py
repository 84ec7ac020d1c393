"""``grader new``: a new course folder, and a new assignment in a course.

A new assignment is small but real, and ``grader validate NAME`` accepts it as written:
a stub with one graded Keras function, one visible check, one hidden check on inputs
drawn from the course secret, ``assignment.toml`` and a reference solution. Every file's
text is in ``ASSIGNMENT_FILES`` below (``{name}``, ``{title}``, ``{title_toml}`` filled
in; other braces doubled): change how a new assignment looks there, in one place.
"""

from __future__ import annotations

import keyword
import os
import secrets
import sys
from pathlib import Path

from grader.course import COURSE_FILE, Course
from grader.errors import UsageError

__all__ = [
    "ASSIGNMENT_FILES",
    "COURSE_TOML",
    "check_name",
    "new_assignment",
    "new_course",
]

COURSE_TOML = """\
# A course for the grader: `grader` run in this folder or below it grades these.

[course]
title = "{title}"
assignments = "assignments"   # assignments/NAME/: assignment.toml, the stub, the checks
reference = "reference"       # reference/NAME.py: never handed out
secret = "course-secret"      # hidden checks draw their inputs from its first line
"""

# Path (relative to the course, in course.toml's default layout) -> text. The stub is
# what students receive; the reference and the hidden check never leave the course.
ASSIGNMENT_FILES: dict[str, str] = {
    "assignments/{name}/assignment.toml": """\
# The {name} assignment: what students hand in, how it is graded.
# The checks are the test_*.py files: each states its function, points and visibility
# with @check(...), and its docstring is its description.

[assignment]
title = "{title_toml}"
module = "{name}"                # students hand in {name}.py or {name}.ipynb
functions = ["build_classifier"] # the graded functions, in feedback order

[limits]
call_timeout = 60                # seconds for one call into the student's code
import_timeout = 120             # seconds to import the student's module
submission_timeout = 300         # seconds of student code in all, per submission
""",
    "assignments/{name}/{name}.py": '''\
# %% [markdown]
# # {title}
#
# Implement every function below, keeping its name and signature exactly as given, and
# replace each `raise NotImplementedError` with your code. The grader imports your work
# as a module and calls these functions with its own arguments.

# %%
import keras

# %% [markdown]
# ## A small classifier
#
# A classifier for `classes` classes of points with `input_dim` features: one hidden
# layer of 32 ReLU units, and a softmax output that gives one probability per class.
#
# ```python
# keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu")])
# ```
#
# is a model that takes two features and has one hidden layer of 8 ReLU units.


# %%
def build_classifier(input_dim=4, classes=3):
    """Return an (uncompiled) Keras model with these layers, in this order:

    1. ``keras.Input((input_dim,))``;
    2. ``Dense(32, activation="relu")``;
    3. ``Dense(classes, activation="softmax")``.
    """
    raise NotImplementedError
''',
    "reference/{name}.py": '''\
"""The reference solution of {name}: never handed out. Every check compares a
student's answer with this one's."""

import keras


def build_classifier(input_dim=4, classes=3):
    return keras.Sequential(
        [
            keras.Input((input_dim,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )
''',
    "assignments/{name}/test_build_classifier.py": '''\
"""Visible checks of build_classifier: students run these themselves before handing in.

The student's model crosses from their process as data; ``rebuild`` makes a Keras model
of it here, so nothing the student wrote runs in the grader.
"""

from grader.checks import check, fail
from grader.checks.rebuild import rebuild


def layers_of(answer, what):
    """The model's input shape and each layer as "Dense(units, activation)"."""
    model = rebuild(answer, what)
    layers = []
    for layer in model.layers:
        config = layer.get_config()
        units, activation = config.get("units"), config.get("activation")
        layers.append(f"{{type(layer).__name__}}({{units}}, {{activation}})")
    return tuple(model.input_shape), layers


@check("build_classifier", points=2)
def test_build_classifier_layers(submission, reference):
    """build_classifier(4, 3) is Input((4,)) -> Dense(32, relu) -> Dense(3, softmax)."""
    call = "`build_classifier(input_dim=4, classes=3)`"
    mine = layers_of(submission.build_classifier(input_dim=4, classes=3), call)
    want = layers_of(reference.build_classifier(input_dim=4, classes=3), "the reference")
    if mine != want:
        raise fail(
            f"{{call}} to take inputs of shape {{want[0]}} and have the layers "
            f"{{', '.join(want[1])}}",
            f"inputs of shape {{mine[0]}} and the layers {{', '.join(mine[1]) or 'none'}}",
            "one hidden Dense(32, activation='relu'), then Dense(classes, "
            "activation='softmax').",
        )
''',
    "assignments/{name}/test_hidden_{name}.py": '''\
"""Hidden checks: build_classifier on inputs drawn from the course secret, so that an
answer copied from a visible check's message cannot pass. Messages never print the
inputs nor an expected value."""

from grader.checks import check, fail
from grader.checks.rebuild import rebuild
from grader.checks.secret import secret_rng


def layers_of(answer, what):
    model = rebuild(answer, what)
    layers = []
    for layer in model.layers:
        config = layer.get_config()
        layers.append((type(layer).__name__, config.get("units"), config.get("activation")))
    return tuple(model.input_shape), layers


@check("build_classifier", points=1, hidden=True)
def test_hidden_build_classifier(submission, reference):
    """build_classifier matches the reference for other input and class counts."""
    rng = secret_rng("test_hidden_build_classifier")
    kwargs = {{"input_dim": int(rng.integers(5, 12)), "classes": int(rng.integers(4, 9))}}
    call = "`build_classifier(input_dim, classes)` on the grader's hidden inputs"
    mine = layers_of(submission.build_classifier(**kwargs), call)
    want = layers_of(reference.build_classifier(**kwargs), "the reference")
    if mine[0] != want[0]:
        raise fail(f"{{call}} to take input_dim features", "another input shape")
    if mine[1] != want[1]:
        raise fail(
            f"{{call}} to have the same layers as the reference",
            "other layers",
            "use input_dim and classes, not fixed numbers.",
        )
''',
}

# Module names a stub must not take: they would shadow what the checks import.
_TAKEN = frozenset({"keras", "tensorflow", "numpy", "grader", "pytest", "conftest"})


def check_name(name: str) -> None:
    """UsageError unless ``name`` can be an assignment (and the module students hand in)."""
    why = ""
    if not name.isidentifier() or not name.isascii():
        why = "it is not a Python identifier (letters, digits and _, not starting with a digit)"
    elif keyword.iskeyword(name):
        why = "it is a Python keyword"
    elif name.startswith("test"):
        why = "check files are test_*.py, so the stub would be taken for one"
    elif name in _TAKEN or name in sys.stdlib_module_names:
        why = "a module of that name already exists, and the stub would hide it"
    if why:
        raise UsageError(
            f"{name!r} cannot name an assignment: {why}. Students hand in NAME.py, so "
            "use a short lowercase name such as `convolutions`."
        )


def new_assignment(course: Course, name: str, title: str | None = None) -> list[Path]:
    """Write a new assignment ``name`` into ``course``: the files written. UsageError
    (writing nothing) on a bad name or when any of its files exists."""
    check_name(name)
    if name in course.assignment_names() or course.assignment_dir(name).exists():
        raise UsageError(
            f"The course already has an assignment {name!r} ({course.assignment_dir(name)}): "
            "choose another name, or remove that folder first."
        )
    title = title or name.replace("_", " ").capitalize()
    values = {"name": name, "title": title, "title_toml": _toml_text(title)}
    targets = {
        _target(course, relative.format(**values)): text.format(**values)
        for relative, text in ASSIGNMENT_FILES.items()
    }
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        raise UsageError(f"Not overwriting {', '.join(existing)}: remove it first.")
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(targets)


def _target(course: Course, relative: str) -> Path:
    """Where a scaffold file goes: its folder as the course's course.toml names it."""
    top, _, rest = relative.partition("/")
    base = {"assignments": course.assignments, "reference": course.reference}[top]
    return base / rest


def new_course(folder: Path, title: str | None = None) -> list[Path]:
    """Make ``folder`` a course: ``course.toml``, a fresh ``course-secret`` (owner-only)
    and empty ``assignments/`` and ``reference/``. The files written; UsageError if it
    already is one."""
    folder = folder.resolve()
    toml = folder / COURSE_FILE
    if toml.exists():
        raise UsageError(f"{folder} already is a course: it holds {COURSE_FILE}.")
    secret = folder / "course-secret"
    written = [toml]
    toml.parent.mkdir(parents=True, exist_ok=True)
    toml.write_text(COURSE_TOML.format(title=_toml_text(title or folder.name)), encoding="utf-8")
    if not secret.exists():  # a secret already there keeps its hidden inputs
        descriptor = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        written.append(secret)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        # Students' grades and the reference's cached answers stay out of the repository.
        ignore.write_text(COURSE_GITIGNORE, encoding="utf-8")
        written.append(ignore)
    for name in ("assignments", "reference"):
        (folder / name).mkdir(exist_ok=True)
    return written


COURSE_GITIGNORE = """\
# The gradebook: every student's grades (grader run, history, adjust).
gradebook.db
gradebook.db-wal
gradebook.db-shm
# The reference's cached answers.
.grader-cache/
grader-results/
"""


def _toml_text(value: str) -> str:
    """``value`` inside a TOML basic string."""
    return value.replace("\\", "\\\\").replace('"', '\\"')
