"""Find the submissions in a class folder.

A student hands in ``SUBMISSIONS/<student>/<module>.py`` or ``SUBMISSIONS/<student>.py``,
or the same as a Jupyter notebook: ``<module>.ipynb`` / ``<student>.ipynb`` is accepted
wherever the ``.py`` is, and graded as the module its code cells make (see
``grader.notebooks``). Anything else that looks like a submission becomes a
``Submission`` with a ``problem`` (shown to the student and the instructor; the student
is graded "invalid") rather than being dropped or crashing the run; files that are not
submissions at all are listed in ``Discovery.ignored``. Nothing here imports or runs
student code (a notebook is read as JSON, never executed), and no file is read further
than its size limit. ``submission_from_file`` applies the same checks to one file, and
``submission_from_upload`` to the files one student handed in through an LMS.

The rules, in the order they are applied:

* Hidden entries (``.git``, ``.DS_Store``, ``.ipynb_checkpoints``) and tool folders
  (``__pycache__``, ``__MACOSX``, ``grader-results``) are skipped everywhere.
* Student names are the folder name or the file's stem, whatever characters they hold
  (spaces, accents, leading dashes). They are normalized to Unicode NFC, so ``José/`` and
  ``José.py`` are one student even when one was written by macOS; bytes that are not
  UTF-8 and control characters become U+FFFD so names can go into every report.
* Two submissions for one student (``alice/`` and ``alice.py``; ``alice.py`` and
  ``alice.ipynb``; ``<module>.py`` and ``<module>.ipynb`` in one folder) give one
  submission whose problem lists both: the grader does not pick one.
* Symbolic links are followed only when they resolve inside the submissions folder.
  A link (a student's file, a student's folder, or ``<module>.py`` inside a folder) that
  points outside it is refused without being read; a broken or looping link is refused
  too. Accepted links are resolved: ``Submission.path`` is the real file, and
  ``Submission.notebook`` says which kind it was handed in as.
* A folder must contain ``<module>.py`` or ``<module>.ipynb``. If it does not:

  - an empty folder says so;
  - **one level of nesting is accepted**: when the folder holds no Python files or
    notebooks of its own and exactly one of its subfolders holds ``<module>.py`` or
    ``<module>.ipynb`` (a zip extracted with a top folder: ``bob/bob/<module>.py`` or
    ``bob/src/<module>.ipynb``), that file is graded and ``display_path`` shows where it
    was found. The name is exact and the choice is unambiguous, so nothing is guessed.
    If more than one subfolder holds one, or the folder also holds other Python files or
    notebooks, nothing is graded and the problem names the files found;
  - otherwise the problem names what was expected and what was found. A file that
    looks like a misnamed submission (``Regularization.py``, ``regularization (1).ipynb``,
    ``regularization_final.py``, ``regularization.py.txt``) gets a hint to rename it,
    but is never graded under another name.
* A ``.py`` file must be a regular, readable file of at most ``max_bytes``
  (``MAX_SOURCE_BYTES`` by default; the size is checked with ``stat`` before anything is
  read), not empty or whitespace only, and Python source text: no NUL bytes (a ``.pyc``,
  a zip or a UTF-16 file renamed to ``.py``) and decodable the way Python decodes
  source: UTF-8, with or without a byte order mark, or the encoding a PEP 263 coding
  line (``# -*- coding: latin-1 -*-``) declares. Syntax errors are not checked here:
  the worker's import reports them ("import_error").
* A ``.ipynb`` file must be a regular, readable file of at most
  ``notebooks.MAX_NOTEBOOK_BYTES`` (20 MB: notebooks carry their outputs; checked with
  ``stat`` first), and a notebook ``nbformat`` can read (any format version, upgraded to
  4) whose code cells hold some code to grade and at most ``max_bytes`` of it. Invalid
  JSON (with its line and column), JSON that is not a notebook, an unknown format
  version and malformed cells are each reported as such.

An upload (``submission_from_upload``: Gradescope's ``submission/``, PrairieLearn's
``student/``) is one student's folder, searched the same way but at any depth: the one
``<module>.py`` or ``<module>.ipynb`` anywhere in it is graded. None, or more than one,
is a problem worded as for a student folder, with "your submission" for the folder's name
and paths relative to it (what the student uploaded), so a student gets the same advice
from every front end.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import tokenize
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from grader import notebooks
from grader.errors import UsageError

__all__ = [
    "MAX_SOURCE_BYTES",
    "Discovery",
    "Submission",
    "discover",
    "load_notebook",
    "submission_from_file",
    "submission_from_upload",
]

# A hand-written solution is a few kilobytes; anything over this is not one.
MAX_SOURCE_BYTES = 1_000_000

_IGNORED_NAMES = frozenset(["__pycache__", "__MACOSX", "grader-results"])
_LISTED = 10  # entries named when a folder's contents are listed
_SUFFIXES = (".py", ".ipynb")
# An upload's name in messages: the student never sees the folder the LMS unpacked it to.
_UPLOAD = "your submission"


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path | None
    display_path: str
    problem: str | None = None
    notebook: bool = False  # ``path`` is a notebook, graded through ``grader.notebooks``


@dataclass(frozen=True)
class Discovery:
    submissions: tuple[Submission, ...]
    ignored: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Context:
    root: Path  # resolved: the boundary symbolic links must stay inside
    module: str
    max_bytes: int
    outside: str = "the submissions folder"  # the root, as messages about links name it

    @property
    def expected(self) -> str:
        return f"{self.module}.py"

    @property
    def names(self) -> tuple[str, str]:
        """The file names a submission may have, Python file first."""
        return f"{self.module}.py", f"{self.module}.ipynb"

    @property
    def expected_any(self) -> str:
        return f"{self.module}.py (or {self.module}.ipynb)"


def load_notebook(path: Path, shown: str) -> notebooks.Notebook:
    """A notebook submission read into the module its graded code cells make (the
    worker's ``notebook`` loader)."""
    return notebooks.load(path, shown, max_source_bytes=MAX_SOURCE_BYTES)


def discover(root: Path, module: str, *, max_bytes: int = MAX_SOURCE_BYTES) -> Discovery:
    """All submissions in ``root`` for an assignment whose module is ``module``.

    A source file larger than ``max_bytes``, or a notebook with more code than that, is
    reported rather than graded.
    """
    if not root.exists():
        raise UsageError(f"The submissions folder {root} does not exist.")
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder; pass the folder that holds the submissions.")
    try:
        names = sorted(os.listdir(root))
    except OSError as exc:
        why = (exc.strerror or type(exc).__name__).lower()
        raise UsageError(f"The submissions folder {root} cannot be read: {why}.") from None
    context = _Context(Path(os.path.realpath(root)), module, max_bytes)
    found: dict[str, list[Submission]] = defaultdict(list)
    ignored: list[str] = []
    for name in names:
        if _skipped(name):
            continue
        submission = _from_entry(root / name, context)
        if submission is None:
            ignored.append(_clean(name))
        else:
            found[submission.student].append(submission)
    submissions = []
    for student, entries in sorted(found.items()):
        if len(entries) == 1:
            submissions.append(entries[0])
        else:
            submissions.append(_conflict(student, [e.display_path for e in entries]))
    return Discovery(tuple(submissions), tuple(ignored))


def submission_from_file(
    path: Path, module: str, student: str | None = None, *, max_bytes: int = MAX_SOURCE_BYTES
) -> Submission:
    """One file handed to the grader on its own (``grader check FILE``): a ``.py`` or a
    ``.ipynb``, checked exactly like a file ``discover`` finds.

    ``student`` defaults to the file's stem. A symbolic link is followed: the file was
    named on purpose, so there is no class folder to stay inside. A path that is missing,
    a folder, or neither kind of file is a ``UsageError``.
    """
    if not path.exists():
        raise UsageError(f"{path} does not exist.")
    if path.is_dir():
        raise UsageError(f"{path} is a folder; pass the .py or .ipynb file itself.")
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise UsageError(
            f"{path} is neither a Python file nor a notebook; pass {module}.py or {module}.ipynb."
        )
    display = _clean(path.name)
    target = Path(os.path.realpath(path))
    context = _Context(target.parent, module, max_bytes)
    who = display[: -len(suffix)] if student is None else student
    return _from_file(who, target, display, context, notebook=suffix == ".ipynb")


def submission_from_upload(
    folder: Path, module: str, student: str, *, max_bytes: int = MAX_SOURCE_BYTES
) -> Submission:
    """The one ``<module>.py`` or ``<module>.ipynb`` anywhere in ``folder``, the files one
    student handed in through an LMS, checked like a file ``discover`` finds. None, or
    more than one, is a Submission with a problem: nothing is guessed. Links are followed
    only inside ``folder`` (a link to the reference solution is never graded), and links
    to folders are not searched."""
    root = Path(os.path.realpath(folder))
    context = _Context(root, module, max_bytes, outside=_UPLOAD)
    if not root.is_dir():  # nothing was handed in
        return Submission(
            student, None, _UPLOAD, problem=_empty_problem("Your submission", context)
        )
    # Unlike a class folder's student folder (the module, or one folder down), an upload
    # is searched at any depth: Gradescope unpacks zips and a GitHub submission is a whole
    # repository. Only the exact name counts, so one match anywhere is unambiguous.
    candidates: list[str] = []  # relative paths, as on disk; a folder so named is one too
    files: list[str] = []  # everything else but real folders: listed by path, never read
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            entries = _list(root / relative)
        except OSError as exc:
            shown = _clean(relative) if relative else _UPLOAD
            return Submission(
                student, None, _UPLOAD, problem=f"Could not open {shown}: {_reason(exc)}."
            )
        for entry in entries:
            path = relative + entry.name
            if entry.name in context.names:
                candidates.append(path)
            elif entry.is_dir:
                pending.append(f"{path}/")
            else:
                files.append(path)
    if len(candidates) > 1:
        return _conflict(student, [_clean(c) for c in sorted(candidates)])
    if candidates:
        (path,) = candidates
        notebook = path.endswith(".ipynb")
        return _from_link_or_file(student, root / path, _clean(path), context, notebook)
    if not files:
        return Submission(
            student, None, _UPLOAD, problem=_empty_problem("Your submission", context)
        )
    files.sort()
    misnamed = [_clean(f) for f in files if _misnamed(f.rsplit("/", 1)[-1], context)]
    problem = _wrong_names_problem(_UPLOAD, [_clean(f) for f in files], misnamed, context)
    return Submission(student, None, _UPLOAD, problem=problem)


def _conflict(student: str, displays: list[str]) -> Submission:
    listed = ", ".join(displays)
    return Submission(
        student,
        None,
        listed,
        problem=f"More than one submission for {student}: {listed}. "
        "Keep exactly one and grade again.",
    )


# -- top-level entries -------------------------------------------------------------


def _from_entry(entry: Path, context: _Context) -> Submission | None:
    """The submission ``entry`` (a file or folder directly in the root) is, if any."""
    name = _clean(entry.name)
    suffix = entry.suffix.lower()
    looks_like_file = suffix in _SUFFIXES
    student = name[: -len(suffix)] if looks_like_file else name
    if entry.is_symlink():
        # A broken link without a suffix was most likely a student's folder.
        folder = os.path.isdir(entry) or (not suffix and not os.path.exists(entry))
        display = f"{name}/" if folder and not looks_like_file else name
        target, problem = _follow(entry, context, display)
        if problem is not None:
            if looks_like_file or folder:
                return Submission(student, None, display, problem=problem)
            return None  # not a submission; listed as ignored, never read
        assert target is not None
    else:
        target = entry
    if target.is_dir():
        return _from_folder(target, name, context)
    if looks_like_file:
        return _from_file(student, target, name, context, notebook=suffix == ".ipynb")
    return None


def _from_file(
    student: str, path: Path, display: str, context: _Context, *, notebook: bool
) -> Submission:
    if notebook:
        problem = _notebook_problem(path, display, context)
    else:
        problem = _source_problem(path, display, context)
    return Submission(student, None if problem else path, display, problem, notebook)


# -- student folders ---------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    name: str  # as on disk
    is_dir: bool  # a real folder (not a link to one)


def _from_folder(folder: Path, student: str, context: _Context) -> Submission:
    shown = f"{student}/"
    try:
        entries = _list(folder)
    except OSError as exc:
        return Submission(student, None, shown, problem=f"Could not open {shown}: {_reason(exc)}.")
    names = {e.name for e in entries}
    if any(n in names for n in context.names):
        return _from_candidates(student, folder, shown, context)
    if not entries:
        return Submission(student, None, shown, problem=_empty_problem(shown, context))
    nested = [
        e.name
        for e in entries
        if e.is_dir and any(os.path.lexists(folder / e.name / n) for n in context.names)
    ]
    has_python = any(not e.is_dir and e.name.lower().endswith(_SUFFIXES) for e in entries)
    if len(nested) == 1 and not has_python:
        inner = nested[0]
        return _from_candidates(student, folder / inner, f"{shown}{_clean(inner)}/", context)
    listing = [_clean(e.name) + ("/" if e.is_dir else "") for e in entries]
    misnamed = [_clean(e.name) for e in entries if not e.is_dir and _misnamed(e.name, context)]
    problem = _wrong_names_problem(shown, listing, misnamed, context)
    if nested:
        where = ", ".join(
            f"{shown}{_clean(n)}/{name}"
            for n in nested
            for name in context.names
            if os.path.lexists(folder / n / name)
        )
        why = (
            "there is more than one"
            if len(nested) > 1
            else f"{shown} also holds other Python files"
        )
        problem += (
            f" Also found {where} one folder down, not graded because {why}: "
            f"put the file to grade directly in {shown}."
        )
    return Submission(student, None, shown, problem=problem)


def _from_candidates(student: str, folder: Path, shown: str, context: _Context) -> Submission:
    """The submission in ``folder``, which holds ``<module>.py``, ``<module>.ipynb`` or
    both (then neither is picked)."""
    present = [n for n in context.names if os.path.lexists(folder / n)]
    if len(present) > 1:
        return _conflict(student, [f"{shown}{n}" for n in sorted(present)])
    (name,) = present
    notebook = name.endswith(".ipynb")
    return _from_link_or_file(student, folder / name, f"{shown}{name}", context, notebook)


def _from_link_or_file(
    student: str, path: Path, display: str, context: _Context, notebook: bool
) -> Submission:
    if path.is_symlink():
        target, problem = _follow(path, context, display)
        if problem is not None:
            return Submission(student, None, display, problem, notebook)
        assert target is not None
        path = target
    return _from_file(student, path, display, context, notebook=notebook)


def _list(folder: Path) -> list[_Entry]:
    with os.scandir(folder) as scan:
        entries = [
            _Entry(e.name, e.is_dir(follow_symlinks=False)) for e in scan if not _skipped(e.name)
        ]
    return sorted(entries, key=lambda e: e.name)


def _empty_problem(shown: str, context: _Context) -> str:
    return f"{shown} is empty; expected {context.expected_any} in it, found nothing."


def _wrong_names_problem(
    shown: str, listing: list[str], misnamed: list[str], context: _Context
) -> str:
    """What was expected in ``shown`` and what was found there (``listing``), with a hint
    to rename the file when exactly one (of ``misnamed``, found in ``listing``) is meant."""
    if len(misnamed) != 1:
        return f"Expected {context.expected_any} in {shown}; found {_join(listing)}."
    (candidate,) = misnamed
    base = candidate.rsplit("/", 1)[-1]
    py_name, notebook_name = context.names
    target = notebook_name if ".ipynb" in base.lower() else py_name
    case = " (names are case-sensitive)" if base.lower() == target.lower() else ""
    problem = (
        f"Expected {context.expected_any} in {shown}; found {candidate}: rename it to "
        f"{target}{case} and hand it in again. The grader does not grade a file under "
        "another name."
    )
    others = [n for n in listing if n != candidate]
    if others:
        problem += f" Also in {shown}: {_join(others)}."
    return problem


def _misnamed(name: str, context: _Context) -> bool:
    """Whether ``name`` looks like the submission under a slightly different name."""
    lower, module = name.lower(), context.module.lower()
    if lower.endswith(".pyc"):
        return False
    for suffix in _SUFFIXES:  # Regularization.py, regularization (1).ipynb, my_regularization.py
        if lower.endswith(suffix):
            return module in lower[: -len(suffix)]
    # regularization, regularization.txt, regularization.py.txt (an editor added a suffix)
    return lower in (module, f"{module}.txt") or lower.startswith(
        (f"{module}.py.", f"{module}.ipynb.")
    )


def _join(names: list[str]) -> str:
    return ", ".join(names[:_LISTED]) + (" ..." if len(names) > _LISTED else "")


# -- links and source files --------------------------------------------------------


def _follow(link: Path, context: _Context, display: str) -> tuple[Path | None, str | None]:
    """Where the symbolic link ``link`` leads, if inside the root; else a problem.

    Only the link chain is resolved; nothing outside the root is opened or read.
    """
    kind = "folder" if display.endswith("/") else "file"
    hand_in = f"Hand in the {kind} itself, not a link to it."
    try:
        target = Path(os.path.realpath(link, strict=True))
    except OSError:
        return None, (
            f"{display} is a symbolic link to something that does not exist (a broken "
            f"link), so there is nothing to grade. {hand_in}"
        )
    if target == context.root or not target.is_relative_to(context.root):
        return None, (
            f"{display} is a symbolic link that points outside {context.outside}; "
            f"the grader does not follow it. {hand_in}"
        )
    return target, None


def _source_problem(path: Path, display: str, context: _Context) -> str | None:
    """Why the file at ``path`` cannot be graded, or None if it is Python source text."""
    problem = _file_problem(path, display, context, notebook=False)
    if problem is not None:
        return problem
    try:
        data = _read_head(path, context.max_bytes + 1)
    except OSError as exc:
        return f"{display} could not be read: {_reason(exc)}."
    if len(data) > context.max_bytes:  # it grew since stat
        return _too_big(display, len(data), context, notebook=False)
    return _text_problem(data, display)


def _notebook_problem(path: Path, display: str, context: _Context) -> str | None:
    """Why the notebook at ``path`` cannot be graded, or None. It is converted (never
    run) here, so a notebook without gradable code is refused before a worker starts."""
    limit = notebooks.MAX_NOTEBOOK_BYTES
    problem = _file_problem(path, display, context, notebook=True)
    if problem is not None:
        return problem
    try:
        data = _read_head(path, limit + 1)
    except OSError as exc:
        return f"{display} could not be read: {_reason(exc)}."
    if len(data) > limit:
        return _too_big(display, len(data), context, notebook=True)
    try:
        notebooks.convert(data, display, max_source_bytes=context.max_bytes)
    except notebooks.NotebookError as exc:
        return str(exc)
    return None


def _file_problem(path: Path, display: str, context: _Context, *, notebook: bool) -> str | None:
    """Why ``path`` is not a regular, non-empty file within the size limit (by ``stat``
    alone: nothing is read)."""
    try:
        info = path.stat()
    except OSError as exc:
        return f"{display} could not be read: {_reason(exc)}."
    kind = "notebook" if notebook else "Python file"
    if stat.S_ISDIR(info.st_mode):
        return f"{display} is a folder, not a {kind}."
    if not stat.S_ISREG(info.st_mode):
        return f"{display} is not a regular file, so it cannot be graded."
    if info.st_size > _limit(context, notebook):
        return _too_big(display, info.st_size, context, notebook=notebook)
    if info.st_size == 0:
        return f"{display} is empty (0 bytes): there is no code to grade."
    return None


def _read_head(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes from the start of ``path``."""
    with path.open("rb") as handle:
        return handle.read(limit)


def _text_problem(data: bytes, display: str) -> str | None:
    not_source = f"{display} is not Python source text"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return (
            f"{not_source}: it is saved as UTF-16 (or UTF-32), and Python source must be "
            "UTF-8. Save it as UTF-8 in your editor and hand it in again."
        )
    if b"\0" in data:
        return (
            f"{not_source}: it contains NUL bytes, so it looks like a binary file "
            f"({_binary_kind(data)}), not UTF-8 text. Hand in the .py source file itself."
        )
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        message = str(exc.msg)
        if message.startswith("unknown encoding"):
            return (
                f"{not_source}: its coding line declares an {message}. Remove the line and "
                "save the file as UTF-8."
            )
        if data.startswith(codecs.BOM_UTF8):  # a UTF-8 mark and another coding line
            return (
                f"{not_source}: it starts with a UTF-8 byte order mark but its coding line "
                "declares another encoding. Remove the coding line and save it as UTF-8."
            )
        encoding = "utf-8"  # a bad line 1 or 2; decoding below says where
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start]
        if codecs.lookup(encoding).name == "utf-8" or encoding == "utf-8-sig":
            return (
                f"{not_source}: it is not valid UTF-8 (byte 0x{byte:02X} on line {line}). "
                "Save it as UTF-8 and hand it in again, or declare its encoding on the "
                "first line, for example `# -*- coding: latin-1 -*-`."
            )
        return (
            f"{not_source}: its coding line declares {encoding}, but byte 0x{byte:02X} on "
            f"line {line} is not valid {encoding}. Save it as UTF-8 and hand it in again."
        )
    except LookupError:  # a coding line naming a codec that is not a text encoding
        return (
            f"{not_source}: its coding line declares {encoding}, which is not a text "
            "encoding. Remove the line and save the file as UTF-8."
        )
    if not text.lstrip("\ufeff").strip():
        return f"{display} is empty (it holds only whitespace): there is no code to grade."
    return None


def _binary_kind(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return "a zip archive renamed to .py"
    if data[2:4] == b"\r\n" and len(data) >= 16:
        return "compiled Python, a .pyc file renamed to .py"
    return "for example a .pyc file or a zip archive renamed to .py"


def _limit(context: _Context, notebook: bool) -> int:
    return notebooks.MAX_NOTEBOOK_BYTES if notebook else context.max_bytes


def _too_big(display: str, size: int, context: _Context, *, notebook: bool) -> str:
    limit = _size(_limit(context, notebook))
    over = f"{display} is {_size(size)}, over the grader's limit of {limit}"
    if notebook:
        return (
            f"{over} for a notebook, so it was not read. Its outputs (plots, printed data) "
            "are most of that: clear them (in Jupyter: Edit > Clear Outputs of All Cells), "
            "save it and hand it in again."
        )
    return (
        f"{over} for a source file, so it was not read. Check that you handed in your "
        f"{context.expected} and not a data file or an archive."
    )


def _size(size: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            rounded = f"{size / scale:.1f}".removesuffix(".0")
            return f"{rounded} {unit} ({size:,} bytes)"
    return f"{size:,} bytes"


# -- names and messages ------------------------------------------------------------


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in _IGNORED_NAMES


def _clean(name: str) -> str:
    """``name`` as text every report can hold: NFC, no stray bytes, no control characters."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = "".join("\ufffd" if unicodedata.category(c) == "Cc" else c for c in text)
    return unicodedata.normalize("NFC", text)


def _reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied (the instructor should check its permissions)"
    return (exc.strerror or type(exc).__name__).lower()
