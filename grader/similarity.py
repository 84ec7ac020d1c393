"""Which submissions of a class look copied, with the evidence (``grader similarity``).

The method is MOSS's: winnowing (Schleimer, Wilkerson and Aiken, "Winnowing: local
algorithms for document fingerprinting", SIGMOD 2003) over a normalised token stream.

1. **The code compared** is the code the grader would import: a ``.py`` file as it is, a
   notebook's code cells as one module (``grader.notebooks``).
2. **Tokens** come from Python's own tokenizer, normalised so that the usual disguises
   change nothing: comments, docstrings, blank lines, indentation and imports are dropped;
   ``tensorflow.keras``/``tf.keras`` read as ``keras``; every name a student chooses
   (variables, functions, parameters) reads as one placeholder, while attribute names
   (``.Dense``, ``.fit``), keyword-argument names and builtins stay; strings and numbers
   read as one placeholder each.
3. **Fingerprints**: every run of ``K`` tokens is hashed, and in every window of ``W``
   consecutive hashes the smallest is kept (winnowing guarantees that any match of
   ``K + W - 1`` tokens or more is found). Reordered functions keep their fingerprints.
4. **What is not evidence**: fingerprints of the code every student was given (the stub,
   which the released notebook is made from, and any file listed in ``[similarity]
   exclude`` of ``assignment.toml``) and fingerprints shared by more than
   ``common_limit`` submissions (an idiom of the assignment, not a copy).
5. **Score** of a pair: the fingerprints they share over the fingerprints of the smaller
   of the two (added dead code does not dilute a copy), from 0 to 1; pairs sharing fewer
   than ``MIN_SHARED`` fingerprints are not reported. Pairs above the threshold are
   joined into clusters.

It never changes a score and is for the instructor only: nothing of it reaches a
student's page, results.json or an LMS file.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import importlib.util
import io
import json
import keyword
import math
import textwrap
import tokenize
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader import __version__
from grader.errors import NotebookError
from grader.files import atomic_write_text
from grader.results import clean_text
from grader.submissions import MAX_SOURCE_BYTES, Submission

__all__ = [
    "DEFAULT_THRESHOLD",
    "Report",
    "compare_class",
    "fingerprints",
    "normalise",
    "write_report",
]

K = 12  # tokens per hashed run
W = 6  # hashes per winnowing window: any match of K + W - 1 = 17 tokens is found
MIN_SHARED = 6  # fewer shared fingerprints than this is no evidence
DEFAULT_THRESHOLD = 0.5
MAX_SHOWN = 200  # pairs shown side by side on the page (similarity.json has them all)
_BUILTINS = frozenset(dir(builtins))
_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)


@dataclass(frozen=True)
class Token:
    text: str  # normalised
    line: int  # where it is in the code compared (1-based)


@dataclass
class Entry:
    """One submission as compared."""

    student: str
    code: str
    tokens: list[Token]
    # hash -> the token index of each run with that hash, in order
    prints: dict[int, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Fragment:
    """Matching code: lines ``a`` of the first submission, lines ``b`` of the second."""

    a: tuple[int, int]
    b: tuple[int, int]


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    score: float
    shared: int
    fragments: tuple[Fragment, ...]


@dataclass(frozen=True)
class Report:
    threshold: float
    pairs: tuple[Pair, ...]  # above the threshold, most similar first
    clusters: tuple[tuple[str, ...], ...]
    compared: tuple[str, ...]
    not_compared: tuple[tuple[str, str], ...]  # (student, why)
    code: dict[str, str]  # student -> the code compared, for the side-by-side view
    parameters: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "parameters": self.parameters,
            "compared": len(self.compared),
            "not_compared": [{"student": s, "reason": why} for s, why in self.not_compared],
            "pairs": [
                {
                    "a": p.a,
                    "b": p.b,
                    "score": round(p.score, 4),
                    "shared_fingerprints": p.shared,
                    "fragments": [{"a": list(f.a), "b": list(f.b)} for f in p.fragments],
                }
                for p in self.pairs
            ],
            "clusters": [
                {"students": list(c), "max_score": round(_cluster_score(self.pairs, c), 4)}
                for c in self.clusters
            ],
        }


# ---------------------------------------------------------------- tokens


def normalise(code: str, depth_left: int = 2) -> list[Token]:
    """``code``'s tokens as compared (see the module's docstring). Code that does not
    tokenize to the end keeps the tokens before the fault."""
    raw: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            raw.append(token)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    dead = _dead_statements(code)
    out: list[Token] = []
    depth = 0  # brackets open: a NAME followed by "=" inside them is a keyword argument
    line_start = True  # at the start of a simple statement
    skip = False  # an import statement, or a statement that does nothing: dropped whole
    i = 0
    significant = [
        t
        for t in raw
        if t.type
        not in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)
    ]
    while i < len(significant):
        t = significant[i]
        # The end of a simple statement: a new line, or a ";" outside brackets.
        if t.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or (
            t.type == tokenize.OP and t.string == ";" and depth == 0
        ):
            if not skip and out and out[-1].text != ";":
                out.append(Token(";", t.start[0]))
            line_start, skip, depth = True, False, 0
            i += 1
            continue
        if skip:
            i += 1
            continue
        if line_start and (
            (t.type == tokenize.NAME and t.string in ("import", "from")) or t.start in dead
        ):
            skip = True
            i += 1
            continue
        nxt = significant[i + 1] if i + 1 < len(significant) else None
        if (
            line_start
            and t.type == tokenize.STRING
            and (nxt is None or nxt.type in (tokenize.NEWLINE, tokenize.ENDMARKER))
        ):
            i += 1  # a docstring, or a string used as a comment
            continue
        line_start = False
        if t.type == tokenize.NAME and t.string in ("tensorflow", "tf"):
            after = significant[i + 2] if i + 2 < len(significant) else None
            if (
                nxt is not None
                and nxt.string == "."
                and after is not None
                and after.string == "keras"
            ):
                i += 2  # tf.keras.X reads as keras.X
                continue
        if t.type == tokenize.OP:
            if t.string in "([{":
                depth += 1
            elif t.string in ")]}":
                depth = max(depth - 1, 0)
            out.append(Token(t.string, t.start[0]))
        elif t.type == tokenize.NAME:
            previous = out[-1].text if out else ""
            if (
                keyword.iskeyword(t.string)
                or keyword.issoftkeyword(t.string)
                or t.string in _BUILTINS
                or previous == "."
                or (depth and nxt is not None and nxt.string == "=")
            ):
                out.append(Token(t.string, t.start[0]))
            else:
                out.append(Token("V", t.start[0]))
        elif t.type == tokenize.NUMBER:
            out.append(Token("N", t.start[0]))
        elif t.type == tokenize.STRING and _executed(out) and depth_left > 0:
            # exec("...copied code..."): the code inside is what runs.
            inner = _literal(t.string)
            out.extend(Token(x.text, t.start[0]) for x in normalise(inner, depth_left - 1))
        elif t.type == tokenize.STRING or t.type == _FSTRING_START:
            out.append(Token("S", t.start[0]))
        # Python 3.12 splits an f-string into parts: the start stands for all of it.
        i += 1
    return out


def _executed(out: Sequence[Token]) -> bool:
    return len(out) >= 2 and out[-1].text == "(" and out[-2].text in ("exec", "eval", "compile")


def _literal(text: str) -> str:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return ""
    return value if isinstance(value, str) else ""


def _dead_statements(code: str) -> set[tuple[int, int]]:
    """Where the statements that do nothing start: ``pass``, a bare constant, and a
    constant assigned to a name nothing reads (dead code added to hide a copy)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    read = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store)
    }
    read |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    starts = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Pass)
            or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
            or (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and all(isinstance(t, ast.Name) and t.id not in read for t in node.targets)
            )
        ):
            starts.add((node.lineno, node.col_offset))
    return starts


def fingerprints(tokens: Sequence[Token], k: int = K, w: int = W) -> dict[int, list[int]]:
    """Winnowing: hash -> the token index of each kept run of ``k`` tokens."""
    texts = [t.text for t in tokens]
    hashes = []
    for start in range(len(texts) - k + 1):
        run = "\x1f".join(texts[start : start + k]).encode()
        hashes.append(int.from_bytes(hashlib.blake2b(run, digest_size=8).digest(), "big"))
    kept: dict[int, list[int]] = defaultdict(list)
    if not hashes:
        return {}
    if len(hashes) < w:
        low = min(range(len(hashes)), key=lambda j: (hashes[j], -j))
        kept[hashes[low]].append(low)
        return dict(kept)
    last = -1
    for start in range(len(hashes) - w + 1):
        # The rightmost smallest hash of the window (the paper's robust winnowing).
        low = min(range(start, start + w), key=lambda j: (hashes[j], -j))
        if low != last:
            kept[hashes[low]].append(low)
            last = low
    return dict(kept)


# ---------------------------------------------------------------- the class


def code_of(submission: Submission) -> tuple[str | None, str]:
    """(the code the grader would import, "") or (None, why it is not compared)."""
    from grader import notebooks

    if submission.problem is not None or submission.path is None:
        return None, submission.problem or "no file found"
    try:
        if submission.notebook:
            code = notebooks.load(
                submission.path, submission.display_path, max_source_bytes=MAX_SOURCE_BYTES
            ).source
        else:
            if submission.path.stat().st_size > MAX_SOURCE_BYTES:
                return None, f"over {MAX_SOURCE_BYTES:,} bytes"
            data = submission.path.read_bytes()
            if b"\0" in data:
                return None, "a binary file"
            # As Python reads it: its coding line honoured, line endings made "\n".
            code = importlib.util.decode_source(data)
    except NotebookError as exc:
        return None, str(exc)
    except (UnicodeDecodeError, SyntaxError, LookupError):
        return None, "not text in the encoding it declares (UTF-8 by default)"
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror or exc}"
    if not code.strip():
        return None, "empty"
    return code, ""


def given_code(directory: Path, stub: Path | None) -> list[str]:
    """The code every student was given: the stub and ``[similarity] exclude`` files."""
    sources = []
    if stub is not None and stub.is_file():
        text = stub.read_text(encoding="utf-8", errors="replace")
        sources.append(text)
        # Code its docstrings tell students to write ("do exactly::" blocks).
        sources += _docstring_code(text)
    try:
        with open(directory / "assignment.toml", "rb") as handle:
            table = tomllib.load(handle).get("similarity", {})
    except (OSError, tomllib.TOMLDecodeError):
        table = {}
    exclude = table.get("exclude", []) if isinstance(table, dict) else []
    for name in exclude if isinstance(exclude, list) else []:
        path = (directory / str(name)).resolve()
        if path.is_file() and path.is_relative_to(directory.resolve()):
            text = path.read_text(encoding="utf-8", errors="replace")
            if path.suffix == ".ipynb":
                from grader import notebooks

                try:
                    text = notebooks.convert(
                        text.encode(), path.name, max_source_bytes=MAX_SOURCE_BYTES
                    ).source
                except NotebookError:
                    continue
            sources.append(text)
    return sources


def _docstring_code(code: str) -> list[str]:
    """The literal blocks (after a line ending in "::") of ``code``'s docstrings."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    blocks = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)):
            continue
        doc = ast.get_docstring(node)
        if not doc:
            continue
        lines = doc.splitlines()
        for n, line in enumerate(lines):
            if not line.rstrip().endswith("::"):
                continue
            indent = len(line) - len(line.lstrip())
            block = []
            for following in lines[n + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                block.append(following)
            if block:
                blocks.append(textwrap.dedent("\n".join(block)))
    return blocks


def compare_class(
    submissions: Iterable[Submission],
    given: Iterable[str] = (),
    *,
    threshold: float = DEFAULT_THRESHOLD,
    common_limit: int | None = None,
) -> Report:
    """Every pair of ``submissions`` compared; ``given``: code every student had."""
    entries: list[Entry] = []
    not_compared: list[tuple[str, str]] = []
    for submission in sorted(submissions, key=lambda s: s.student):
        code, why = code_of(submission)
        if code is None:
            not_compared.append((submission.student, why))
            continue
        tokens = normalise(code)
        entries.append(Entry(submission.student, code, tokens, fingerprints(tokens)))
    boilerplate: set[int] = set()
    for text in given:
        boilerplate.update(fingerprints(normalise(text)))
    if common_limit is None:
        common_limit = max(4, math.ceil(0.1 * len(entries)))
    # Submissions that read the same once normalised are one text: a solution copied by
    # many students must not pass for an idiom of the assignment because it is common.
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, entry in enumerate(entries):
        groups[tuple(t.text for t in entry.tokens)].append(index)
    members = {group[0]: group for group in groups.values()}
    holders: dict[int, list[int]] = defaultdict(list)
    for index in members:
        for h in entries[index].prints:
            if h not in boilerplate:
                holders[h].append(index)
    evidence = {h: who for h, who in holders.items() if len(who) <= common_limit}
    sizes = {index: sum(1 for h in entries[index].prints if h in evidence) for index in members}
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for who in evidence.values():
        for x in range(len(who)):
            for y in range(x + 1, len(who)):
                shared[(who[x], who[y])] += 1
    found: list[tuple[float, int, int, int]] = []  # (score, shared, a, b) over entries
    for (x, y), count in shared.items():
        smaller = min(sizes[x], sizes[y])
        if count < MIN_SHARED or smaller == 0:
            continue
        score = count / smaller
        if score >= threshold:
            found += [(score, count, a, b) for a in members[x] for b in members[y]]
    for rep, group in members.items():
        if len(group) > 1 and sizes[rep] >= MIN_SHARED:  # the same text, not only given code
            found += [(1.0, sizes[rep], a, b) for n, a in enumerate(group) for b in group[n + 1 :]]
    found.sort(
        key=lambda f: (-f[0], entries[min(f[2], f[3])].student, entries[max(f[2], f[3])].student)
    )
    pairs = []
    for rank, (score, count, x, y) in enumerate(found):
        a, b = sorted((entries[x], entries[y]), key=lambda e: e.student)
        # Where they match, for the pairs the page shows (the rest are in the JSON).
        shown = _fragments(a, b, evidence) if rank < MAX_SHOWN else ()
        pairs.append(Pair(a.student, b.student, score, count, shown))
    clusters = _clusters(pairs)
    listed = {s for p in pairs[:MAX_SHOWN] for s in (p.a, p.b)}
    return Report(
        threshold=threshold,
        pairs=tuple(pairs),
        clusters=clusters,
        compared=tuple(e.student for e in entries),
        not_compared=tuple(not_compared),
        code={e.student: e.code for e in entries if e.student in listed},
        parameters={
            "k": K,
            "window": W,
            "min_shared": MIN_SHARED,
            "common_limit": common_limit,
            "method": "winnowing over normalised Python tokens",
        },
    )


def _fragments(a: Entry, b: Entry, evidence: dict[int, list[int]]) -> tuple[Fragment, ...]:
    """The shared runs as line ranges, those that follow each other merged."""
    matches = sorted(
        (pa, pb)
        for h, where in a.prints.items()
        if h in evidence and h in b.prints
        for pa in where[:1]
        for pb in b.prints[h][:1]
    )
    fragments: list[list[int]] = []  # [a_first, a_last, b_first, b_last] in token indexes
    for pa, pb in matches:
        if fragments:
            f = fragments[-1]
            if 0 <= pa - f[1] <= K + W and 0 <= pb - f[3] <= K + W:
                f[1], f[3] = pa, pb
                continue
        fragments.append([pa, pa, pb, pb])

    def lines(entry: Entry, first: int, last: int) -> tuple[int, int]:
        end = min(last + K - 1, len(entry.tokens) - 1)
        return entry.tokens[first].line, entry.tokens[end].line

    return tuple(Fragment(lines(a, f[0], f[1]), lines(b, f[2], f[3])) for f in fragments)


def _clusters(pairs: Sequence[Pair]) -> tuple[tuple[str, ...], ...]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        parent[find(p.a)] = find(p.b)
    groups: dict[str, list[str]] = defaultdict(list)
    for name in parent:
        groups[find(name)].append(name)
    clusters = [tuple(sorted(g)) for g in groups.values() if len(g) > 1]
    return tuple(sorted(clusters, key=lambda c: (-_cluster_score(pairs, c), c)))


def _cluster_score(pairs: Sequence[Pair], cluster: Sequence[str]) -> float:
    members = set(cluster)
    return max((p.score for p in pairs if p.a in members and p.b in members), default=0.0)


# ---------------------------------------------------------------- writing


def write_report(report: Report, out: Path, templates: Path, title: str) -> None:
    """``out/similarity.json`` and ``out/similarity.html``."""
    import jinja2

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "similarity.json", json.dumps(report.to_dict(), indent=2) + "\n")
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    template = environment.get_template("similarity.html")
    # A page a browser can open: the most similar pairs in full, the rest in the JSON.
    views = [_pair_view(report, p, n) for n, p in enumerate(report.pairs[:MAX_SHOWN], start=1)]
    generated = datetime.now(UTC)
    text = template.render(
        run={
            "title": title,
            "grader_version": __version__,
            "generated_at": generated.isoformat(timespec="seconds"),
        },
        generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
        title=title,
        page_title=f"{title} — similarity",
        report=report,
        pairs=views,
        clusters=[
            {
                "students": [clean_text(name) for name in c],
                "score": f"{_cluster_score(report.pairs, c):.0%}",
            }
            for c in report.clusters
        ],
        not_compared=[(clean_text(name), clean_text(why)) for name, why in report.not_compared],
        more=max(len(report.pairs) - MAX_SHOWN, 0),
    )
    atomic_write_text(out / "similarity.html", text)


CONTEXT = 2  # lines shown around each matching fragment


def _pair_view(report: Report, pair: Pair, number: int) -> dict[str, Any]:
    def side(student: str, ranges: list[tuple[int, int, int]]) -> list[dict[str, Any]]:
        # Lines as the tokenizer numbers them (not str.splitlines, which also breaks at
        # U+2028 and friends); only the fragments and a little context, not whole files.
        lines = report.code[student].split("\n")
        marks: dict[int, int] = {}
        for fragment, first, last in ranges:
            for line in range(first, last + 1):
                marks.setdefault(line, fragment)
        shown = sorted(
            {
                n
                for line in marks
                for n in range(line - CONTEXT, line + CONTEXT + 1)
                if 1 <= n <= len(lines)
            }
        )
        rows: list[dict[str, Any]] = []
        for n in shown:
            if rows and rows[-1]["number"] is not None and n != rows[-1]["number"] + 1:
                rows.append({"number": None, "text": "…", "fragment": None})
            rows.append({"number": n, "text": clean_text(lines[n - 1]), "fragment": marks.get(n)})
        return rows

    a_ranges = [(i, f.a[0], f.a[1]) for i, f in enumerate(pair.fragments, start=1)]
    b_ranges = [(i, f.b[0], f.b[1]) for i, f in enumerate(pair.fragments, start=1)]
    return {
        "anchor": f"pair-{number}",
        "a": clean_text(pair.a),
        "b": clean_text(pair.b),
        "score": f"{pair.score:.0%}",
        "shared": pair.shared,
        "fragments": [
            {"number": i, "a": f"{f.a[0]}–{f.a[1]}", "b": f"{f.b[0]}–{f.b[1]}"}
            for i, f in enumerate(pair.fragments, start=1)
        ],
        "left": side(pair.a, a_ranges),
        "right": side(pair.b, b_ranges),
    }
