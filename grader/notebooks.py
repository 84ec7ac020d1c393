"""Turn a Jupyter notebook into the Python module the grader imports.

A notebook ``MODULE.ipynb`` is graded like ``MODULE.py`` whose source is its code
cells in order. Nothing here runs the notebook: it is read as JSON with ``nbformat``
(any format version ``nbformat`` knows, upgraded to version 4), checked, and its code
cells are joined into module source. Not graded:

* markdown and raw cells;
* code cells tagged ``skip-grading`` (in Jupyter: View > Cell Toolbar > Tags), or whose
  first non-blank line is the comment ``# skip-grading``;
* IPython line magics and shell escapes (``%matplotlib inline``, ``!pip install x``,
  ``files = !ls``, ``t = %timeit f()``, ``obj?``): each such line becomes ``pass`` at
  its indentation, so the block around it stays valid;
* cells run by a cell magic (``%%bash``, ``%%writefile``, ...), except ``%%time``,
  ``%%timeit`` and ``%%capture``, whose Python body is kept (the magic line removed).

Cells are numbered the way a student counts them on screen: from 1 at the top of the
notebook, markdown cells included. ``Notebook.lines`` maps every line of the generated
source back to (cell, line in that cell), so errors can name the student's cells.
"""

from __future__ import annotations

import codecs
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

__all__ = ["MAX_NOTEBOOK_BYTES", "Notebook", "NotebookError", "SkippedCell", "convert"]

# Notebooks carry their outputs (plots as base64 images); the code itself is still held
# to the source limit.
MAX_NOTEBOOK_BYTES = 20_000_000

SKIP_TAG = "skip-grading"
CELL_NUMBERING = "Cells are numbered from 1 at the top of the notebook, markdown cells included."
_KEPT_CELL_MAGICS = frozenset(["time", "timeit", "capture"])
# Forces UTF-8 whatever coding comment a student's first cell holds.
_HEADER = "# -*- coding: utf-8 -*-"

_SKIP_COMMENT = re.compile(r"#\s*skip-grading(?![\w-])")
# `x = !ls`, `a, b = %sx ls`: a plain target, then `=` (not `==`, `<=`...), then ! or %.
_ASSIGNED_MAGIC = re.compile(r"[\w.,\[\]\s*]*[\w\]]\s*=\s*[!%]")
# `obj?`, `obj.attr??`, `?obj`, `??obj`
_HELP = re.compile(r"\?{1,2}\s*[\w.*\[\]]+|[\w.*\[\]]+\s*\?{1,2}")
_DEFINITION = re.compile(r"(?:async\s+)?(?:def|class)\s+(\w+)")


class NotebookError(Exception):
    """The file cannot be graded as a notebook; the message says why, for the student."""


@dataclass(frozen=True)
class SkippedCell:
    cell: int
    reason: str  # "it is tagged skip-grading", ...
    defines: tuple[str, ...]  # top-level functions and classes it defines


@dataclass(frozen=True)
class Notebook:
    """The module source built from a notebook, and where each of its lines came from."""

    source: str
    lines: tuple[tuple[int, int] | None, ...]  # source line n -> lines[n - 1]: (cell, line)
    skipped: tuple[SkippedCell, ...] = ()

    def locate(self, line: int) -> tuple[int, int] | None:
        """The (cell, line) that line ``line`` of ``source`` came from, if any."""
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1]
        known = [place for place in self.lines if place is not None]
        if line > len(self.lines) and known:  # "unexpected end of file" past the last line
            cell, last = known[-1]
            return cell, last + line - len(self.lines)
        return None

    def rewrite(self, text: str, generated: str, shown: str) -> str:
        """``text`` (an error or traceback) with lines of ``generated`` (the module file
        the worker imported) named as cells of the notebook ``shown``."""
        name = re.escape(generated)

        def place(match: re.Match[str], template: str) -> str:
            found = self.locate(int(match.group(1)))
            if found is None:
                return match.group(0)
            return template.format(f"{shown}, cell {found[0]}, line {found[1]}")

        text = re.sub(rf'File "{name}", line (\d+)', lambda m: place(m, "File {}"), text)
        return re.sub(rf"\({name}, line (\d+)\)", lambda m: place(m, "({})"), text)

    def skipped_definition(self, name: str) -> SkippedCell | None:
        """The ungraded cell that defines ``name`` at its top level, if one does."""
        return next((s for s in self.skipped if name in s.defines), None)


def convert(data: bytes, display: str, *, max_source_bytes: int) -> Notebook:
    """The module source of the notebook file ``display`` whose content is ``data``.

    Raises ``NotebookError`` naming the problem when ``data`` is not a notebook the
    grader can read, holds no code to grade, or more than ``max_source_bytes`` of it.
    """
    raw = _parse(_decode(data, display), display)
    cells = _upgrade(raw, display)
    return _module_source(cells, display, max_source_bytes)


# -- reading -----------------------------------------------------------------------


def _decode(data: bytes, display: str) -> str:
    not_notebook = f"{display} is not a Jupyter notebook"
    if not data.strip():
        return _fail(f"{display} is empty: there is no notebook to grade.")
    if data.startswith(b"PK\x03\x04"):
        return _fail(f"{not_notebook}: it is a zip archive renamed to .ipynb.")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\0" in data:
        return _fail(
            f"{not_notebook}: it is a binary file (it contains NUL bytes), and a notebook "
            "is JSON text. Hand in the .ipynb file Jupyter saved."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return _fail(
            f"{not_notebook}: it is not UTF-8 text (byte 0x{data[exc.start]:02X} on line "
            f"{line}), and a notebook is always saved as UTF-8 JSON. Hand in the .ipynb "
            "file Jupyter saved."
        )


def _parse(text: str, display: str) -> dict[str, Any]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return _fail(
            f"{display} is not a valid notebook: it is not valid JSON ({exc.msg} at line "
            f"{exc.lineno}, column {exc.colno}). It may be cut short or edited by hand; "
            "open it in Jupyter, save it again and hand in the saved file."
        )
    except RecursionError:
        return _fail(f"{display} is not a valid notebook: its JSON is nested too deeply.")
    if not isinstance(raw, dict):
        return _fail(
            f"{display} is JSON but not a Jupyter notebook: it holds {_kind(raw)}, and a "
            "notebook is a JSON object."
        )
    if "nbformat" not in raw:
        return _fail(
            f'{display} is JSON but not a Jupyter notebook: it has no "nbformat" field '
            "(the notebook format version)."
        )
    return raw


def _upgrade(raw: dict[str, Any], display: str) -> list[Any]:
    """The notebook's cells as version 4 cells, checked; ``raw`` may be any version."""
    import nbformat

    version, minor = raw.get("nbformat"), raw.get("nbformat_minor", 0)
    if not isinstance(version, int) or isinstance(version, bool) or not isinstance(minor, int):
        return _fail(
            f'{display} is not a valid notebook: its "nbformat" version is '
            f"{json.dumps(version)[:40]}, not a whole number."
        )
    if version not in nbformat.versions:
        known = ", ".join(str(v) for v in sorted(nbformat.versions))
        return _fail(
            f"{display} uses notebook format version {version}, which the grader cannot "
            f"read (it reads versions {known}). Save it with Jupyter and hand it in again."
        )
    if version == 4:  # clear messages before nbformat touches the cells
        _check_cells(raw.get("cells"), display)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing cell ids are added, quietly
            notebook = nbformat.versions[version].to_notebook_json(raw, minor=minor)
            notebook = nbformat.convert(notebook, 4)
    except RecursionError:
        return _fail(f"{display} is not a valid notebook: its JSON is nested too deeply.")
    except Exception as exc:  # a malformed old notebook can fail anywhere in the upgrade
        return _fail(
            f"{display} is not a valid notebook: it could not be read as a version "
            f"{version} notebook ({type(exc).__name__}: {str(exc)[:200]}). Open it in a "
            "recent Jupyter, save it again and hand in the saved file."
        )
    cells = notebook.get("cells")
    _check_cells(cells, display)
    _validate(notebook, display)
    return list(cells)


def _check_cells(cells: Any, display: str) -> None:
    """What the grader reads of the cells is well formed."""
    invalid = f"{display} is not a valid notebook"
    if not isinstance(cells, list):
        _fail(f'{invalid}: its "cells" should be a list, found {_kind(cells)}.')
    for number, cell in enumerate(cells, start=1):
        where = f"{invalid}: cell {number}"
        if not isinstance(cell, dict):
            _fail(f"{where} should be a JSON object, found {_kind(cell)}.")
        if not isinstance(cell.get("cell_type"), str):
            _fail(f'{where} has no "cell_type" (code, markdown or raw).')
        source = cell.get("source", "")
        if not isinstance(source, str) and not (
            isinstance(source, list) and all(isinstance(line, str) for line in source)
        ):
            _fail(f'{where}\'s "source" should be text or a list of lines, found {_kind(source)}.')
        metadata = cell.get("metadata", {})
        if not isinstance(metadata, dict):
            _fail(f'{where}\'s "metadata" should be a JSON object, found {_kind(metadata)}.')
        tags = metadata.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            _fail(f"{where}'s tags should be a list of words, found {_kind(tags)}.")


def _validate(notebook: Mapping[str, Any], display: str) -> None:
    """The nbformat schema, over what the grader reads: outputs, attachments and the
    notebook's metadata never reach the grade, so damage there is not the student's
    problem."""
    import nbformat

    cells = []
    for cell in notebook["cells"]:
        kept = {k: v for k, v in cell.items() if k != "attachments"}
        if kept.get("cell_type") == "code":
            kept["outputs"] = []
        cells.append(kept)
    graded = nbformat.from_dict({**notebook, "metadata": {}, "cells": cells})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(graded)
    except nbformat.ValidationError as exc:
        path = list(getattr(exc, "absolute_path", []))
        where = ""
        if len(path) >= 2 and path[0] == "cells" and isinstance(path[1], int):
            where = f" in cell {path[1] + 1}" + (f', field "{path[2]}"' if len(path) > 2 else "")
        message = str(getattr(exc, "message", exc)).splitlines()[0][:200]
        _fail(
            f"{display} is not a valid notebook{where}: {message}. Open it in Jupyter, "
            "save it again and hand in the saved file."
        )


# -- building the module -----------------------------------------------------------


def _module_source(cells: list[Any], display: str, max_source_bytes: int) -> Notebook:
    lines: list[str] = [_HEADER]
    places: list[tuple[int, int] | None] = [None]
    skipped: list[SkippedCell] = []
    has_code = False
    size = 0
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        text = _normalize(cell.get("source", ""))
        if not text.strip():
            continue
        why = _skip_reason(cell, text)
        if why is not None:
            skipped.append(SkippedCell(number, why, _definitions(text)))
            continue
        try:
            size += len(text.encode("utf-8"))
        except UnicodeEncodeError:
            _fail(
                f"{display} is not a valid notebook: cell {number} holds characters that "
                "are not text (a lone surrogate escape). Retype that line and save again."
            )
        if size > max_source_bytes:  # before the line-by-line work below
            _too_much_code(display, size, max_source_bytes)
        original = text.split("\n")
        code = _without_magics(original)
        # Lines turned into `pass` are not code of the student's.
        has_code = has_code or any(
            a.strip() and a == b for a, b in zip(code, original, strict=True)
        )
        lines += code
        places += [(number, n) for n in range(1, len(code) + 1)]
    if not has_code:
        detail = ""
        if skipped:
            listed = ", ".join(f"cell {s.cell} ({s.reason})" for s in skipped[:10])
            detail = f" The grader does not run {listed}."
        _fail(f"{display} has no code cells to grade.{detail}")
    source = "\n".join(lines) + "\n"
    size = len(source.encode("utf-8"))
    if size > max_source_bytes:
        _too_much_code(display, size, max_source_bytes)
    return Notebook(source, tuple(places), tuple(skipped))


def _too_much_code(display: str, size: int, limit: int) -> NoReturn:
    _fail(
        f"The code cells of {display} hold {size:,} bytes of code or more, over the "
        f"grader's limit of {limit:,} bytes for a source file. Check that no cell holds "
        "data pasted in as code."
    )


def _normalize(source: str | list[str]) -> str:
    text = "".join(source) if isinstance(source, list) else source
    # Python counts \r\n, \r and \n as line ends, and nothing else (str.splitlines would
    # also split at \f or \u2028 and put lines out of step with Python's numbers).
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.removesuffix("\n")


def _skip_reason(cell: Mapping[str, Any], text: str) -> str | None:
    if SKIP_TAG in cell.get("metadata", {}).get("tags", []):
        return f"it is tagged {SKIP_TAG}"
    first = next(line.strip() for line in text.split("\n") if line.strip())
    if _SKIP_COMMENT.match(first):
        return f"its first line is the comment # {SKIP_TAG}"
    if first.startswith("%%"):
        magic = first[2:].split(maxsplit=1)[0] if first[2:].strip() else ""
        if magic not in _KEPT_CELL_MAGICS:
            return f"it is a %%{magic} cell, not Python"
    return None


def _definitions(text: str) -> tuple[str, ...]:
    return tuple(m.group(1) for line in text.split("\n") if (m := _DEFINITION.match(line)))


def _without_magics(lines: list[str]) -> list[str]:
    """``lines`` with IPython syntax replaced, line for line (so numbers still match).

    Only lines where a Python statement starts (not inside a string, brackets or a
    backslash continuation) can be magics: ``% b`` inside parentheses is a modulo.
    """
    out: list[str] = []
    scanner = _Scanner()
    magic_continues = False
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if magic_continues:  # a magic's own backslash continuation
            out.append("")
            magic_continues = stripped.endswith("\\")
        elif scanner.at_statement_start() and _is_magic(stripped):
            indent = line[: len(line) - len(line.lstrip())]
            cell_magic = index == first and stripped.startswith("%%")  # a kept %%time body
            out.append("" if cell_magic else f"{indent}pass")
            magic_continues = stripped.endswith("\\")
        else:
            out.append(line)
            scanner.feed(line)
    return out


def _is_magic(stripped: str) -> bool:
    if stripped.startswith(("%", "!")):
        return True
    return bool(_ASSIGNED_MAGIC.match(stripped) or _HELP.fullmatch(stripped))


class _Scanner:
    """Just enough of Python's tokenizer to know where statements start: strings,
    brackets, comments and backslash continuations."""

    def __init__(self) -> None:
        self.quote = ""  # the open string's delimiter
        self.depth = 0
        self.continued = False

    def at_statement_start(self) -> bool:
        return not self.quote and not self.depth and not self.continued

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        self.continued = False
        while i < n:
            if self.quote:
                if line[i] == "\\":
                    i += 2
                elif line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = ""
                else:
                    i += 1
                continue
            char = line[i]
            if char == "#":
                return
            if char in "'\"":
                self.quote = char * 3 if line.startswith(char * 3, i) else char
                i += len(self.quote)
                continue
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            i += 1
        ends_with_backslash = line.endswith("\\")
        if len(self.quote) == 1 and not ends_with_backslash:
            self.quote = ""  # an unterminated string: Python reports it, we move on
        self.continued = ends_with_backslash and not self.quote


# -- messages ----------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "a JSON object"


def _fail(message: str) -> NoReturn:
    raise NotebookError(message)
