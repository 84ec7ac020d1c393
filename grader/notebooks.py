"""Turn a Jupyter notebook into the Python module the grader imports.

A notebook ``MODULE.ipynb`` is graded like ``MODULE.py`` whose source is its code
cells in order, each cell made what IPython would run. Nothing here runs the notebook:
it is read as JSON (older format versions upgraded to version 4 by ``nbformat``), and
only what grading reads is checked: the cells' types, the code cells' source and tags,
and the kernel's language. Each cell is cleaned up as IPython cleans it (dedented,
prompts of a pasted session removed), and its leading ``from __future__`` imports are
moved to the top of the module (IPython compiles each cell on its own, so they may open
any cell). The worker gives the module IPython's ``display``. Not graded:

* markdown and raw cells;
* code cells tagged ``skip-grading`` (in Jupyter: View > Cell Toolbar > Tags), or whose
  first non-blank line is the comment ``# skip-grading``;
* IPython line magics and shell escapes (``%matplotlib inline``, ``!pip install x``,
  ``files = !ls``, ``t = %timeit f()``, ``obj?``, ``x = obj??``), and a one-line cell
  IPython runs as an automagic (``pip install x``, ``ls``, ``cd ..``): each such line
  becomes ``pass`` at its indentation, so the block around it stays valid;
* cells run by a cell magic (``%%bash``, ``%%writefile``, ...), except ``%%time``,
  ``%%timeit`` and ``%%capture``, whose Python body is kept (the magic line removed).

Cells are numbered the way a student counts them on screen: from 1 at the top of the
notebook, markdown cells included. ``Notebook.lines`` maps every line of the generated
source back to (cell, line in that cell), so errors can name the student's cells, and
quote the lines the student wrote, never a generated one.
"""

from __future__ import annotations

import ast
import builtins
import codecs
import json
import keyword
import re
import textwrap
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from grader.errors import NotebookError

__all__ = [
    "MAX_NOTEBOOK_BYTES",
    "Notebook",
    "NotebookError",
    "SkippedCell",
    "convert",
    "load",
]

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
# IPython's pattern for `obj?` / `x = obj.attr??` at the end of a line is
#   (%{0,2}(?!\d)[\w*]+(\.(?!\d)[\w*]+|\[-?[0-9]+\])*)(\?\??)$
# read from the right by _ends_with_help_target with these:
_INDEX = re.compile(r"-?[0-9]+")
_NAME_END = re.compile(r"[\w*]*")  # on the reversed line
_DIGITS = re.compile(r"\d*")
# Prompts of a pasted session, as IPython strips them.
_CLASSIC_FIRST = re.compile(r">>>( |$)")
_CLASSIC_PROMPT = re.compile(r"^(>>>|\.\.\.)( |$)")
_IPYTHON_PROMPT = re.compile(r"^(((\[nav\]|\[ins\])? )?In \[\d+\]: |\s*\.{3,}: ?)")
# What IPython's prefilter reads of a line: the first word, and the rest.
_FIRST_WORD = re.compile(r"\s*([\w.*]+)\s*(.*)$")
# The line magics of a Python kernel (IPython 9, ipykernel), which automagic runs
# without their %: `pip install x` alone in a cell is `%pip install x`.
_LINE_MAGICS = """
    alias alias_magic autoawait autocall automagic autosave bookmark cat cd clear code_wrap
    colors conda config connect_info cp debug dhist dirs doctest_mode ed edit env gui hist
    history killbgscripts ldir less lf lk ll load load_ext loadpy logoff logon logstart
    logstate logstop ls lsmagic lx macro magic mamba man matplotlib micromamba mkdir more mv
    notebook page pastebin pdb pdef pdoc pfile pinfo pinfo2 pip popd pprint precision prun
    psearch psource pushd pwd pycat pylab qtconsole quickref recall rehashx reload_ext rep
    rerun reset reset_selective rm rmdir run save sc set_env subshell sx system tb time timeit
    unalias unload_ext uv who who_ls whos xdel xmode
"""
_AUTOMAGICS = frozenset(_LINE_MAGICS.split())


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
    # source line n -> what the student wrote there (None: a line the grader added)
    originals: tuple[str | None, ...] = ()

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
        the worker imported) named as cells of the notebook ``shown``, quoting what the
        student wrote where the grader changed a line (a magic made ``pass``)."""
        name = re.escape(generated)

        def frame(match: re.Match[str]) -> str:
            number = int(match.group(2))
            found = self.locate(number)
            if found is None:
                return match.group(0)
            head = f"{match.group(1)}File {shown}, cell {found[0]}, line {found[1]}"
            head += match.group(3)
            quote = match.group(4)
            if quote is None:
                return head
            original = self._original(number)
            if original is None or original.strip() == match.group(6).strip():
                return head + quote + (match.group(7) or "")
            if not original.strip():
                return head  # nothing the student wrote to show
            # The student's line, without carets that pointed into the generated one.
            return f"{head}{match.group(5)}{original.strip()}\n"

        text = re.sub(
            rf'^( *)File "{name}", line (\d+)([^\n]*\n?)'
            r'((?! *File ")( +)([^\n]*)\n)?( *[\^~]+ *\n)?',
            frame,
            text,
            flags=re.MULTILINE,
        )

        def place(match: re.Match[str]) -> str:
            found = self.locate(int(match.group(1)))
            if found is None:
                return match.group(0)
            return f"({shown}, cell {found[0]}, line {found[1]})"

        def on_line(match: re.Match[str]) -> str:
            found = self.locate(int(match.group(1)))
            return match.group(0) if found is None else f"in cell {found[0]}, line {found[1]}"

        def syntax_message(match: re.Match[str]) -> str:
            # "expected an indented block after 'for' statement on line 3" names a line
            # of the generated module too.
            return re.sub(r"\bon line (\d+)\b", on_line, match.group(0))

        text = re.sub(
            rf"^(?:[^\n]*\({name}, line \d+\)|(?:SyntaxError|IndentationError|TabError): )[^\n]*",
            syntax_message,
            text,
            flags=re.MULTILINE,
        )
        return re.sub(rf"\({name}, line (\d+)\)", place, text)

    def _original(self, line: int) -> str | None:
        if 1 <= line <= len(self.originals):
            return self.originals[line - 1]
        return None

    def skipped_definition(self, name: str) -> SkippedCell | None:
        """The ungraded cell that defines ``name`` at its top level, if one does."""
        return next((s for s in self.skipped if name in s.defines), None)

    @property
    def numbering(self) -> str:
        """How tracebacks that name cells count them."""
        return CELL_NUMBERING


def load(path: Path, display: str, *, max_source_bytes: int) -> Notebook:
    """The module source of the notebook at ``path`` (known to the student as
    ``display``); ``NotebookError`` when it cannot be read or graded."""
    with path.open("rb") as handle:
        data = handle.read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(
            f"{display} is over the grader's limit of {MAX_NOTEBOOK_BYTES:,} bytes for a notebook."
        )
    return convert(data, display, max_source_bytes=max_source_bytes)


def convert(data: bytes, display: str, *, max_source_bytes: int) -> Notebook:
    """The module source of the notebook file ``display`` whose content is ``data``.

    Raises ``NotebookError`` naming the problem when ``data`` is not a notebook the
    grader can read, is not Python, holds no code to grade, or more than
    ``max_source_bytes`` of it.
    """
    raw = _parse(_decode(data, display), display)
    cells, metadata = _upgrade(raw, display)
    _check_language(metadata, display)
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


def _upgrade(raw: dict[str, Any], display: str) -> tuple[list[Any], Any]:
    """The notebook's cells as version 4 cells, and its metadata; ``raw`` may be any
    version. Only what grading reads is checked: Jupyter opens notebooks with damage
    elsewhere (a missing ``execution_count``, a cell ``id`` in a format 4.4 notebook),
    and so does the grader."""
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
    if version == 4:  # read as it is: nbformat would only add what grading never reads
        return _check_cells(raw.get("cells"), display), raw.get("metadata")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
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
    return _check_cells(notebook.get("cells"), display), notebook.get("metadata")


def _check_cells(cells: Any, display: str) -> list[Any]:
    """What the grader reads of the cells is well formed: every cell's type, and the
    source and tags of code cells."""
    invalid = f"{display} is not a valid notebook"
    if not isinstance(cells, list):
        _fail(f'{invalid}: its "cells" should be a list, found {_kind(cells)}.')
    for number, cell in enumerate(cells, start=1):
        where = f"{invalid}: cell {number}"
        if not isinstance(cell, dict):
            _fail(f"{where} should be a JSON object, found {_kind(cell)}.")
        cell_type = cell.get("cell_type")
        if not isinstance(cell_type, str):
            _fail(f'{where} has no "cell_type" (code, markdown or raw).')
        if cell_type not in ("code", "markdown", "raw"):
            _fail(
                f'{where}\'s "cell_type" is {json.dumps(cell_type)[:40]}, not code, markdown '
                "or raw, so the grader cannot tell whether it is code. Open the notebook in "
                "Jupyter, save it again and hand in the saved file."
            )
        if cell_type != "code":
            continue
        source = cell.get("source", "")
        if not isinstance(source, str) and not (
            isinstance(source, list) and all(isinstance(line, str) for line in source)
        ):
            _fail(f'{where}\'s "source" should be text or a list of lines, found {_kind(source)}.')
        metadata = cell.get("metadata") or {}  # null is no tags
        if not isinstance(metadata, dict):
            _fail(f'{where}\'s "metadata" should be a JSON object, found {_kind(metadata)}.')
        tags = metadata.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            _fail(f"{where}'s tags should be a list of words, found {_kind(tags)}.")
    return list(cells)


def _is_python(language: str) -> bool:
    # "python", "Python 3", "ipython3", "py": kernels name Python in many ways.
    return "python" in language.lower() or language.lower() == "py"


def _check_language(metadata: Any, display: str) -> None:
    """A notebook written for another kernel (R, Julia...) is refused with that reason;
    metadata that does not say is no reason to refuse."""
    if not isinstance(metadata, dict):
        return
    declared = []
    for key, field_name in (("language_info", "name"), ("kernelspec", "language")):
        section = metadata.get(key)
        value = section.get(field_name) if isinstance(section, dict) else None
        if isinstance(value, str) and value.strip():
            declared.append(value.strip())
    if not declared or any(_is_python(value) for value in declared):
        return
    language = "".join(c for c in declared[0] if c.isprintable())[:40]
    _fail(
        f"{display} cannot be graded: this notebook's kernel is {language}, and the grader "
        "runs Python. Write the solution in a notebook with a Python kernel (Jupyter: "
        "Kernel > Change Kernel) and hand that in."
    )


# -- building the module -----------------------------------------------------------


def _module_source(cells: list[Any], display: str, max_source_bytes: int) -> Notebook:
    futures: list[tuple[str, tuple[int, int], str]] = []  # hoisted to the top
    lines: list[str] = []
    places: list[tuple[int, int] | None] = []
    originals: list[str | None] = []
    skipped: list[SkippedCell] = []
    bound: set[str] = set()  # names the graded cells so far define at top level
    star_import = False
    has_code = False
    size = 0
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        text = _normalize(cell.get("source", ""))
        if not text.strip():
            continue
        # IPython dedents a cell whose lines share an indentation (textwrap.dedent).
        dedented = textwrap.dedent(text)
        why = _skip_reason(cell, dedented)
        if why is not None:
            skipped.append(SkippedCell(number, why, _definitions(dedented)))
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
        plain = _without_prompts(dedented.split("\n"))
        code = _without_magics(plain)
        _automagic(code, bound, star_import)
        # Lines turned into `pass` are not code of the student's.
        has_code = has_code or any(a.strip() and a == b for a, b in zip(code, plain, strict=True))
        tree = _parse_cell(code)
        for index in _leading_futures(tree):
            futures.append((code[index], (number, index + 1), original[index]))
            code[index] = ""
        names, star = _top_level_names(tree, code)
        bound |= names
        star_import = star_import or star
        lines += code
        places += [(number, n) for n in range(1, len(code) + 1)]
        originals += original
    if not has_code:
        detail = ""
        if skipped:
            listed = ", ".join(f"cell {s.cell} ({s.reason})" for s in skipped[:10])
            detail = f" The grader does not run {listed}."
        _fail(f"{display} has no code cells to grade.{detail}")
    source = "\n".join([_HEADER, *(f[0] for f in futures), *lines]) + "\n"
    size = len(source.encode("utf-8"))
    if size > max_source_bytes:
        _too_much_code(display, size, max_source_bytes)
    return Notebook(
        source,
        (None, *(f[1] for f in futures), *places),
        tuple(skipped),
        (None, *(f[2] for f in futures), *originals),
    )


def _without_prompts(lines: list[str]) -> list[str]:
    """Code pasted from a Python or IPython session with its prompts (``>>> x = 1``,
    ``In [3]: x = 1``), which IPython strips when the cell's first line has one."""
    filled = [line for line in lines if line.strip()]
    if not filled:
        return lines
    if _CLASSIC_FIRST.match(filled[0]):
        return [_CLASSIC_PROMPT.sub("", line, count=1) for line in lines]
    if _IPYTHON_PROMPT.match(filled[0]) or (len(filled) > 1 and _IPYTHON_PROMPT.match(filled[1])):
        return [_IPYTHON_PROMPT.sub("", line, count=1) for line in lines]
    return lines


def _parse_cell(code: list[str]) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            return ast.parse("\n".join(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the import reports it, naming the cell


def _leading_futures(tree: ast.Module | None) -> list[int]:
    """Indices of the lines holding the cell's opening ``from __future__`` imports, each
    alone on its lines: IPython compiles every cell on its own, so they are legal at the
    top of any cell; in one module they must come first."""
    if tree is None:
        return []
    body = tree.body
    start = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        start = int(isinstance(body[0].value.value, str))  # a docstring may precede them
    found: list[int] = []
    for position in range(start, len(body)):
        node = body[position]
        if not (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            break
        end = node.end_lineno or node.lineno
        before = body[position - 1].end_lineno if position else 0
        after = body[position + 1].lineno if position + 1 < len(body) else end + 1
        if node.col_offset != 0 or before == node.lineno or after == end:
            break  # shares a line with another statement (`;`): left where it is
        found += range(node.lineno - 1, end)
    return found


def _top_level_names(tree: ast.Module | None, code: list[str]) -> tuple[set[str], bool]:
    """Names a cell binds at its top level, and whether it has a ``from x import *``. A
    cell that does not parse counts every word in it: it only makes automagic rarer."""
    if tree is None:
        return set(re.findall(r"[^\W\d]\w*", "\n".join(code))), False
    names: set[str] = set()
    star = False
    nested = (
        *(ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda),
        *(ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp),
    )
    pending: list[ast.AST] = list(tree.body)
    while pending:
        part = pending.pop()
        if isinstance(part, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(part.name)
        elif isinstance(part, ast.Name) and isinstance(part.ctx, ast.Store | ast.Del):
            names.add(part.id)
        elif isinstance(part, ast.alias):
            if part.name == "*":
                star = True
            else:
                names.add((part.asname or part.name).split(".")[0])
        if not isinstance(part, nested):
            pending.extend(ast.iter_child_nodes(part))
    names.update(n for part in ast.walk(tree) if isinstance(part, ast.Global) for n in part.names)
    return names, star


def _automagic(code: list[str], bound: set[str], star_import: bool) -> None:
    """A one-line cell IPython runs as a magic without its % (automagic is on in
    Jupyter: ``pip install x``, ``ls``, ``cd ..``) becomes ``pass``. Like IPython, not
    when the name is assigned (``ls = 3``) or a Python name is bound to it."""
    filled = [i for i, line in enumerate(code) if line.strip()]
    if len(filled) != 1:
        return
    index = filled[0]
    line = code[index]
    match = _FIRST_WORD.match(line)
    if match is None:
        return
    name, rest = match.groups()
    if name not in _AUTOMAGICS or rest[:1] in ("=", ","):
        return
    if name in bound or hasattr(builtins, name) or keyword.iskeyword(name):
        return
    if star_import and _parse_cell([line.strip()]) is not None:
        return  # the name may come from the star import: Python it stays
    code[index] = line[: len(line) - len(line.lstrip())] + "pass"


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
    if SKIP_TAG in (cell.get("metadata") or {}).get("tags", []):
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
        elif scanner.at_statement_start() and (_is_magic(stripped) or _is_help_end(line)):
            indent = line[: len(line) - len(line.lstrip())]
            cell_magic = index == first and stripped.startswith("%%")  # a kept %%time body
            out.append("" if cell_magic else f"{indent}pass")
            magic_continues = stripped.endswith("\\")
        else:
            out.append(line)
            scanner.feed(line)
    return out


def _is_help_end(line: str) -> bool:
    """``obj?`` or ``x = obj.attr??`` at the end of a statement's line (IPython shows the
    help and runs nothing else of the line); not a ``?`` in a string or comment."""
    code = line.rstrip()
    if not code.endswith("?") or not _ends_with_help_target(code):
        return False
    probe = _Scanner()
    probe.feed(code[:-1])
    return not probe.quote and not probe.comment


def _ends_with_help_target(code: str) -> bool:
    """Whether IPython's ``_HELP_END`` pattern matches at the end of ``code``, found from
    the right in linear time (searching with the pattern takes quadratic time on a long
    line, and notebooks are read in the grading process)."""
    marks = len(code) - len(code.rstrip("?"))
    if marks > 2:
        return False
    end = len(code) - marks
    while end and code[end - 1] == "]":  # [0], [-1]: literal indexes only
        opening = code.rfind("[", 0, end)
        if opening < 0 or not _INDEX.fullmatch(code, opening + 1, end - 1):
            return False
        end = opening
    name = _NAME_END.match(code[end - 1 :: -1] if end else "")
    # A name may not start with a digit: some character of the last one must not be one.
    return name is not None and name.end() > 0 and not _DIGITS.fullmatch(name.group())


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
        self.comment = False  # the last line fed ended in a comment

    def at_statement_start(self) -> bool:
        return not self.quote and not self.depth and not self.continued

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        self.continued = False
        self.comment = False
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
                self.comment = True
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
