"""Find the submissions in a class folder.

A student hands in ``SUBMISSIONS/<student>/<module>.py`` or ``SUBMISSIONS/<student>.py``.
Anything else that looks like a submission becomes a ``Submission`` with a ``problem``
(shown to the student and the instructor; the student is graded "invalid") rather than
being dropped or crashing the run; files that are not submissions at all are listed in
``Discovery.ignored``. Nothing here imports or runs student code, and no file is read
further than ``max_bytes``.

The rules, in the order they are applied:

* Hidden entries (``.git``, ``.DS_Store``) and tool folders (``__pycache__``,
  ``__MACOSX``, ``grader-results``) are skipped everywhere.
* Student names are the folder name or the file's stem, whatever characters they hold
  (spaces, accents, leading dashes). They are normalized to Unicode NFC, so ``José/`` and
  ``José.py`` are one student even when one was written by macOS; bytes that are not
  UTF-8 and control characters become U+FFFD so names can go into every report.
* Two entries for one student (``alice/`` and ``alice.py``, or ``alice.py`` and
  ``alice.ipynb``) give one submission whose problem lists both: the grader does not
  pick one.
* Symbolic links are followed only when they resolve inside the submissions folder.
  A link (a student's file, a student's folder, or ``<module>.py`` inside a folder) that
  points outside it is refused without being read; a broken or looping link is refused
  too. Accepted links are resolved: ``Submission.path`` is the real file.
* A folder must contain ``<module>.py``. If it does not:

  - ``<module>.ipynb`` is reported as a notebook (not supported yet);
  - an empty folder says so;
  - **one level of nesting is accepted**: when the folder holds no Python files of its
    own and exactly one of its subfolders holds ``<module>.py`` (a zip extracted with a
    top folder: ``bob/bob/<module>.py`` or ``bob/src/<module>.py``), that file is graded
    and ``display_path`` shows where it was found. The name is exact and the choice is
    unambiguous, so nothing is guessed. If more than one subfolder holds it, or the
    folder also holds other Python files, nothing is graded and the problem names the
    files found;
  - otherwise the problem names what was expected and what was found. A file that
    looks like a misnamed submission (``Regularization.py``, ``regularization (1).py``,
    ``regularization_final.py``, ``regularization.py.txt``) gets a hint to rename it,
    but is never graded under another name.
* The source file itself must be a regular, readable file of at most ``max_bytes``
  (``MAX_SOURCE_BYTES`` by default; the size is checked with ``stat`` before anything is
  read), not empty or whitespace only, and Python source text: no NUL bytes (a ``.pyc``,
  a zip or a UTF-16 file renamed to ``.py``) and decodable the way Python decodes
  source: UTF-8, with or without a byte order mark, or the encoding a PEP 263 coding
  line (``# -*- coding: latin-1 -*-``) declares. Syntax errors are not checked here:
  the worker's import reports them ("import_error").
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

from grader.errors import UsageError

__all__ = ["MAX_SOURCE_BYTES", "Discovery", "Submission", "discover"]

# A hand-written solution is a few kilobytes; anything over this is not one.
MAX_SOURCE_BYTES = 1_000_000

_IGNORED_NAMES = frozenset(["__pycache__", "__MACOSX", "grader-results"])
_LISTED = 10  # entries named when a folder's contents are listed


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path | None
    display_path: str
    problem: str | None = None


@dataclass(frozen=True)
class Discovery:
    submissions: tuple[Submission, ...]
    ignored: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Context:
    root: Path  # resolved: the boundary symbolic links must stay inside
    module: str
    max_bytes: int

    @property
    def expected(self) -> str:
        return f"{self.module}.py"


def discover(root: Path, module: str, *, max_bytes: int = MAX_SOURCE_BYTES) -> Discovery:
    """All submissions in ``root`` for an assignment whose module is ``module``.

    A source file larger than ``max_bytes`` is reported rather than graded.
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
            listed = ", ".join(e.display_path for e in entries)
            submissions.append(
                Submission(
                    student,
                    None,
                    listed,
                    problem=f"More than one submission for {student}: {listed}. "
                    "Keep exactly one and grade again.",
                )
            )
    return Discovery(tuple(submissions), tuple(ignored))


# -- top-level entries -------------------------------------------------------------


def _from_entry(entry: Path, context: _Context) -> Submission | None:
    """The submission ``entry`` (a file or folder directly in the root) is, if any."""
    name = _clean(entry.name)
    suffix = entry.suffix.lower()
    looks_like_file = suffix in (".py", ".ipynb")
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
    if suffix == ".py":
        return _from_file(student, target, name, context)
    if suffix == ".ipynb":
        return Submission(student, None, name, problem=_notebook_problem(context.module))
    return None


def _from_file(student: str, path: Path, display: str, context: _Context) -> Submission:
    problem = _source_problem(path, display, context)
    return Submission(student, None if problem else path, display, problem=problem)


# -- student folders ---------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    name: str  # as on disk
    is_dir: bool  # a real folder (not a link to one)


def _from_folder(folder: Path, student: str, context: _Context) -> Submission:
    expected = context.expected
    shown = f"{student}/"
    try:
        entries = _list(folder)
    except OSError as exc:
        return Submission(student, None, shown, problem=f"Could not open {shown}: {_reason(exc)}.")
    names = {e.name for e in entries}
    if expected in names:
        return _from_link_or_file(student, folder / expected, shown + expected, context)
    if f"{context.module}.ipynb" in names:
        return Submission(
            student,
            None,
            f"{shown}{context.module}.ipynb",
            problem=_notebook_problem(context.module),
        )
    if not entries:
        return Submission(
            student,
            None,
            shown,
            problem=f"{shown} is empty; expected {expected} in it, found nothing.",
        )
    nested = [e.name for e in entries if e.is_dir and os.path.lexists(folder / e.name / expected)]
    has_python = any(not e.is_dir and e.name.lower().endswith((".py", ".ipynb")) for e in entries)
    if len(nested) == 1 and not has_python:
        inner = nested[0]
        display = f"{shown}{_clean(inner)}/{expected}"
        return _from_link_or_file(student, folder / inner / expected, display, context)
    problem = _wrong_names_problem(shown, entries, context)
    if nested:
        where = ", ".join(f"{shown}{_clean(n)}/{expected}" for n in nested)
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


def _from_link_or_file(student: str, path: Path, display: str, context: _Context) -> Submission:
    if path.is_symlink():
        target, problem = _follow(path, context, display)
        if problem is not None:
            return Submission(student, None, display, problem=problem)
        assert target is not None
        path = target
    return _from_file(student, path, display, context)


def _list(folder: Path) -> list[_Entry]:
    with os.scandir(folder) as scan:
        entries = [
            _Entry(e.name, e.is_dir(follow_symlinks=False)) for e in scan if not _skipped(e.name)
        ]
    return sorted(entries, key=lambda e: e.name)


def _wrong_names_problem(shown: str, entries: list[_Entry], context: _Context) -> str:
    expected = context.expected
    listing = [_clean(e.name) + ("/" if e.is_dir else "") for e in entries]
    candidates = [_clean(e.name) for e in entries if not e.is_dir and _misnamed(e.name, context)]
    if len(candidates) != 1:
        return f"Expected {expected} in {shown}; found {_join(listing)}."
    (candidate,) = candidates
    case = " (names are case-sensitive)" if candidate.lower() == expected.lower() else ""
    problem = (
        f"Expected {expected} in {shown}; found {candidate}: rename it to {expected}{case} "
        "and hand it in again. The grader does not grade a file under another name."
    )
    others = [n for n in listing if n != candidate]
    if others:
        problem += f" Also in {shown}: {_join(others)}."
    return problem


def _misnamed(name: str, context: _Context) -> bool:
    """Whether ``name`` looks like the submission under a slightly different name."""
    lower, module = name.lower(), context.module.lower()
    if lower.endswith((".pyc", ".ipynb")):
        return False
    if lower.endswith(".py"):  # Regularization.py, regularization (1).py, my_regularization.py
        return module in lower[:-3]
    # regularization, regularization.txt, regularization.py.txt (an editor added a suffix)
    return lower in (module, f"{module}.txt") or lower.startswith(f"{module}.py.")


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
            f"{display} is a symbolic link that points outside the submissions folder; "
            f"the grader does not follow it. {hand_in}"
        )
    return target, None


def _source_problem(path: Path, display: str, context: _Context) -> str | None:
    """Why the file at ``path`` cannot be graded, or None if it is Python source text."""
    try:
        info = path.stat()
    except OSError as exc:
        return f"{display} could not be read: {_reason(exc)}."
    if stat.S_ISDIR(info.st_mode):
        return f"{display} is a folder, not a Python file."
    if not stat.S_ISREG(info.st_mode):
        return f"{display} is not a regular file, so it cannot be graded."
    if info.st_size > context.max_bytes:
        return _too_big(display, info.st_size, context)
    if info.st_size == 0:
        return f"{display} is empty (0 bytes): there is no code to grade."
    try:
        data = _read_head(path, context.max_bytes + 1)
    except OSError as exc:
        return f"{display} could not be read: {_reason(exc)}."
    if len(data) > context.max_bytes:  # it grew since stat
        return _too_big(display, len(data), context)
    return _text_problem(data, display)


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


def _too_big(display: str, size: int, context: _Context) -> str:
    return (
        f"{display} is {_size(size)}, over the grader's limit of {_size(context.max_bytes)} "
        "for a source file, so it was not read. Check that you handed in your "
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


def _notebook_problem(module: str) -> str:
    return (
        f"Notebook submissions are not supported yet; hand in {module}.py "
        "(in Jupyter: File > Download as > Python)."
    )
