"""A labelled class of regularization submissions for measuring the similarity report.

    python benchmarks/similarity_corpus.py OUT [--n N] [--seed S]

writes a class folder OUT (``OUT/<name>.py`` or ``OUT/<name>.ipynb``) and
``OUT/labels.json``. The originals are ten correct solutions written independently of
each other: the eight in ``benchmarks/similarity_corpus/independent/`` and the
examples ``alice`` and ``bob``. Every submission is an original, verbatim or disguised
by 1, 2 or 4 of ``DISGUISES``; two submissions are a true copy pair exactly when they
share an ``origin``. Without ``--n`` each original yields itself, one copy per
disguise, three copies of depth 2 and two of depth 4 (130 submissions); with ``--n N``
the class is N submissions spread evenly over the originals, the depths drawn at
random. Everything is determined by the seed.

The disguises keep behaviour (each still gets full marks): they rename only names the
module binds itself (never a graded function, a contract parameter, an import or a
keyword argument), edit text through ``tokenize`` so comments survive, and every
generated module is checked with ``ast.parse``.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import io
import json
import random
import re
import sys
import time
import tokenize
from itertools import combinations, pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INDEPENDENT = Path(__file__).resolve().parent / "similarity_corpus" / "independent"
EXAMPLES = {
    "alice": ROOT / "examples" / "regularization" / "alice" / "regularization.py",
    "bob": ROOT / "examples" / "regularization" / "bob.py",
}
GRADED = {
    "l2_dense",
    "l1_dense",
    "l1_l2_dense",
    "build_model",
    "penalty",
    "regularized_loss",
    "validation_gap",
    "compare",
}
# The contract's parameter names: a caller may pass any of them by keyword.
CONTRACT_PARAMS = {
    "units",
    "l1",
    "l2",
    "activation",
    "regularizer",
    "hidden_units",
    "input_dim",
    "model",
    "x",
    "y",
    "x_train",
    "y_train",
    "x_val",
    "y_val",
    "epochs",
    "seed",
}
DISGUISES = ("rename", "reorder", "comments", "imports", "dead_code", "whitespace", "notebook")
# Applied in this order whatever was drawn: token edits before re-indentation, the
# notebook last.
ORDER = ("rename", "dead_code", "imports", "reorder", "comments", "whitespace", "notebook")

WORDS = (
    "val",
    "result",
    "tmp",
    "out",
    "acc",
    "data",
    "arr",
    "res",
    "item",
    "obj",
    "cur",
    "value",
    "thing",
    "part",
    "piece",
    "total",
    "buf",
    "store",
    "entry",
    "elem",
    "node",
    "calc",
    "num",
    "amount",
    "factor",
    "weight",
    "stuff",
    "current",
    "goal",
    "target",
    "w_mat",
    "pred_arr",
    "net",
    "mdl",
    "lyr",
    "layer_obj",
    "kern",
    "coef",
    "sq",
    "ab",
    "err",
    "diff",
    "tensor",
    "t_val",
    "t_out",
)


def originals() -> dict[str, str]:
    """The original solutions' sources, by name."""
    found = {p.stem: p.read_text(encoding="utf-8") for p in sorted(INDEPENDENT.glob("*.py"))}
    found.update({name: path.read_text(encoding="utf-8") for name, path in EXAMPLES.items()})
    return dict(sorted(found.items()))


# --- token-level helpers ---------------------------------------------------------------


def _tokens(src: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(src).readline))


def _replace_spans(src: str, edits: list[tuple[tuple[int, int], tuple[int, int], str]]) -> str:
    """Apply (start, end, text) edits given as tokenize (row, col) positions."""
    lines = src.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def pos(rc: tuple[int, int]) -> int:
        return offsets[rc[0] - 1] + rc[1]

    out = src
    for start, end, text in sorted(edits, key=lambda e: pos(e[0]), reverse=True):
        out = out[: pos(start)] + text + out[pos(end) :]
    return out


def _all_names(src: str) -> set[str]:
    return {t.string for t in _tokens(src) if t.type == tokenize.NAME}


def _fresh(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = rng.choice(WORDS)
        if rng.random() < 0.5:
            name = f"{name}{rng.randint(1, 9)}"
        if name not in taken:
            taken.add(name)
            return name


def _py(src: str) -> str:
    ast.parse(src)
    return src


# --- the disguises ---------------------------------------------------------------------


def rename(src: str, rng: random.Random) -> tuple[str, str]:
    """Rename the names the module binds itself, keeping every contract name."""
    tree = ast.parse(src)
    bound: set[str] = set()
    protected = set(GRADED) | CONTRACT_PARAMS | set(dir(builtins)) | {"self", "__name__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            protected.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.keyword) and node.arg:
            protected.add(node.arg)  # a keyword argument must keep its parameter's name
        elif isinstance(node, ast.JoinedStr):
            protected |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Global | ast.Nonlocal):
            protected |= set(node.names)
    candidates = sorted(bound - protected)
    if not candidates:
        return src, "nothing to rename"
    chosen = [n for n in candidates if rng.random() < 0.8] or candidates[:1]
    taken = _all_names(src)
    mapping = {old: _fresh(rng, taken) for old in chosen}
    edits = []
    previous = None
    for tok in _tokens(src):
        if (
            tok.type == tokenize.NAME
            and tok.string in mapping
            and not (previous is not None and previous.string == ".")
        ):
            edits.append((tok.start, tok.end, mapping[tok.string]))
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            previous = tok
    return _py(_replace_spans(src, edits)), f"{len(mapping)} names"


def _segments(src: str) -> tuple[list[str], list[ast.stmt], str]:
    """Top-level statements, each with the comments and blank lines before it."""
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    segments = []
    start = 0
    for stmt in tree.body:
        end = stmt.end_lineno or stmt.lineno
        segments.append("".join(lines[start:end]))
        start = end
    return segments, list(tree.body), "".join(lines[start:])


def reorder(src: str, rng: random.Random) -> tuple[str, str]:
    """Shuffle each run of consecutive top-level function definitions."""
    segments, stmts, tail = _segments(src)
    i = 0
    moved = 0
    while i < len(stmts):
        j = i
        while j < len(stmts) and isinstance(stmts[j], ast.FunctionDef):
            j += 1
        if j - i >= 2:
            run = segments[i:j]
            original = list(run)
            while run == original:
                rng.shuffle(run)
            segments[i:j] = [s if s.endswith("\n") else s + "\n" for s in run]
            moved += j - i
        i = max(j, i + 1)
    if not moved:
        return src, "nothing to reorder"
    return _py("".join(segments) + tail), f"{moved} functions"


def _strip_comments(src: str) -> str:
    edits = []
    for tok in _tokens(src):
        if tok.type == tokenize.COMMENT:
            edits.append((tok.start, tok.end, ""))
    out = _replace_spans(src, edits)
    # drop the lines the comments leave empty, then runs of blank lines
    out = "\n".join(line.rstrip() for line in out.splitlines()) + "\n"
    return re.sub(r"\n{4,}", "\n\n\n", out).lstrip("\n")


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _docstring_nodes(tree: ast.Module) -> list[tuple[ast.AST, ast.Expr]]:
    found = []
    for node in [tree, *ast.walk(tree)]:
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if _is_docstring(first) and len(node.body) > 1:
                assert isinstance(first, ast.Expr)
                found.append((node, first))
    return found


def _strip_docstrings(src: str) -> str:
    lines = src.splitlines(keepends=True)
    seen = set()
    for _, doc in sorted(_docstring_nodes(ast.parse(src)), key=lambda d: -d[1].lineno):
        if doc.lineno in seen:
            continue
        seen.add(doc.lineno)
        del lines[doc.lineno - 1 : doc.end_lineno]
    return "".join(lines)


DOCSTRINGS = (
    "Solution for this part.",
    "See the assignment for details.",
    "Implements the function asked for in the notebook.",
    "Returns the requested value.",
    "TODO: clean up before submitting.",
    "Helper for the assignment.",
)
COMMENTS = (
    "# compute the result",
    "# see lecture 6",
    "# this part was tricky",
    "# TODO double check",
    "# works on my machine",
    "# from the slides",
    "# step by step",
    "# keep this",
    "# note: shapes must match",
)


def _add_docstrings(src: str, rng: random.Random) -> str:
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    has_doc = {id(node) for node, _ in _docstring_nodes(tree)}
    targets = [
        f
        for f in tree.body
        if isinstance(f, ast.FunctionDef) and id(f) not in has_doc and f.body[0].lineno > f.lineno
    ]
    for f in sorted(targets, key=lambda f: -f.body[0].lineno):
        indent = " " * f.body[0].col_offset
        lines.insert(f.body[0].lineno - 1, f'{indent}"""{rng.choice(DOCSTRINGS)}"""\n')
    return "".join(lines)


def _add_comments(src: str, rng: random.Random) -> str:
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    starts = sorted(
        {
            (s.lineno, s.col_offset)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            for s in node.body
            if s.lineno > node.lineno
        }
    )
    picked = [s for s in starts if rng.random() < 0.35] or starts[:1]
    for lineno, col in reversed(picked):
        lines.insert(lineno - 1, " " * col + rng.choice(COMMENTS) + "\n")
    return "".join(lines)


def comments(src: str, rng: random.Random) -> tuple[str, str]:
    """Strip, add or replace comments and docstrings."""
    options = ["strip_comments", "strip_docstrings", "add_comments", "add_docstrings"]
    ops = sorted(rng.sample(options, rng.randint(1, 3)), key=options.index)
    out = src
    for op in ops:
        if op == "strip_comments":
            out = _strip_comments(out)
        elif op == "strip_docstrings":
            out = _strip_docstrings(out)
        elif op == "add_comments":
            out = _add_comments(out, rng)
        else:
            out = _add_docstrings(out, rng)
    if out == src:
        out, ops = _add_comments(src, rng), ["add_comments"]
    return _py(out), "+".join(ops)


def _imported(tree: ast.Module) -> dict[str, ast.stmt]:
    """Local name -> the top-level import statement binding it (imports only)."""
    found: dict[str, ast.stmt] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            for a in stmt.names:
                found[a.asname or a.name] = stmt
    return found


def _keras_import_kind(stmt: ast.stmt) -> str | None:
    aliases = [(a.name, a.asname) for a in getattr(stmt, "names", [])]
    if isinstance(stmt, ast.Import) and aliases == [("keras", None)]:
        return "import keras"
    if (
        isinstance(stmt, ast.ImportFrom)
        and stmt.module == "tensorflow"
        and aliases == [("keras", None)]
    ):
        return "from tensorflow import keras"
    return None


def imports(src: str, rng: random.Random) -> tuple[str, str]:
    """Swap ``import keras`` and ``from tensorflow import keras``, or ``keras.`` and
    ``tf.keras.`` (all the same Keras 3 here)."""
    tree = ast.parse(src)
    names = _imported(tree)
    lines = src.splitlines(keepends=True)
    keras_stmt = names.get("keras")
    kind = _keras_import_kind(keras_stmt) if keras_stmt else None
    has_tf = "tf" in names and any(
        (a.name, a.asname) == ("tensorflow", "tf") for a in getattr(names["tf"], "names", [])
    )
    import_lines = {
        line
        for stmt in tree.body
        if isinstance(stmt, ast.Import | ast.ImportFrom)
        for line in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
    }
    toks = _tokens(src)
    dotted_tf_keras = [
        i
        for i in range(len(toks) - 2)
        if toks[i].string == "tf" and toks[i + 1].string == "." and toks[i + 2].string == "keras"
    ]
    choices = []
    if kind:
        choices.append("swap_import")
        if has_tf:
            choices.append("to_tf_keras")
    if dotted_tf_keras and (kind or "keras" not in names):
        choices.append("from_tf_keras")
    if not choices:
        return src, "nothing to swap"
    choice = rng.choice(choices)
    if choice == "swap_import":
        assert keras_stmt is not None
        new = "from tensorflow import keras" if kind == "import keras" else "import keras"
        lines[keras_stmt.lineno - 1] = new + "\n"
        return _py("".join(lines)), f"{kind} -> {new}"
    if choice == "to_tf_keras":
        assert keras_stmt is not None
        edits = []
        for i, tok in enumerate(toks):
            if (
                tok.type == tokenize.NAME
                and tok.string == "keras"
                and tok.start[0] not in import_lines
                and (i == 0 or toks[i - 1].string != ".")
            ):
                edits.append((tok.start, tok.end, "tf.keras"))
        out = _replace_spans(src, edits)
        lines = out.splitlines(keepends=True)
        del lines[keras_stmt.lineno - 1]
        return _py("".join(lines)), f"keras. -> tf.keras. ({len(edits)} uses), {kind} dropped"
    edits = [(toks[i].start, toks[i + 2].end, "keras") for i in dotted_tf_keras]
    out = _replace_spans(src, edits)
    if not kind:
        lines = out.splitlines(keepends=True)
        at = names["tf"].lineno - 1
        lines.insert(at, "import keras\n")
        out = "".join(lines)
    return _py(out), f"tf.keras. -> keras. ({len(edits)} uses)"


DEAD_HELPERS = (
    '''def {name}(history):
    """Plot the training curves (used while experimenting)."""
    import matplotlib.pyplot as plt

    plt.plot(history.history["loss"], label="train")
    plt.plot(history.history.get("val_loss", []), label="val")
    plt.legend()
    plt.show()
''',
    """def {name}(values):
    total = 0
    for v in values:
        total += v
    return total / max(len(values), 1)
""",
    """def {name}(a, b):
    print("shapes:", getattr(a, "shape", None), getattr(b, "shape", None))
    return a, b
""",
    """def {name}(n=10):
    xs = [i / n for i in range(n)]
    ys = [2 * v + 1 for v in xs]
    return xs, ys
""",
    """def {name}(config):
    # old version, not used any more
    if "l1" in config and "l2" in config:
        return "l1_l2"
    return "l1" if "l1" in config else "l2"
""",
)
DEAD_STATEMENTS = (
    "{name} = False",
    "{name} = None",
    "{name} = []",
    "{name} = 0",
    "{name} = {{}}",
    'if False:\n    print("debug")',
    "if 0:\n    {name} = 1",
)


def dead_code(src: str, rng: random.Random) -> tuple[str, str]:
    """Add unused helper functions, unused variables and unreachable branches."""
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    taken = _all_names(src)
    inserts: list[tuple[int, str]] = []  # (0-based line index, text)
    funcs = [f for f in tree.body if isinstance(f, ast.FunctionDef)]
    helpers = rng.randint(0, 2)
    for _ in range(helpers):
        target = rng.choice(funcs)
        name = _fresh(rng, taken)
        helper = rng.choice(DEAD_HELPERS).format(name=name)
        first = min([target.lineno, *(d.lineno for d in target.decorator_list)])
        inserts.append((first - 1, helper + "\n\n"))
    statements = 0
    for f in funcs:
        body = f.body
        k = 1 if _is_docstring(body[0]) else 0
        if k >= len(body) or body[k].lineno == f.lineno or rng.random() > 0.45:
            continue
        indent = " " * body[k].col_offset
        text = rng.choice(DEAD_STATEMENTS).format(name=_fresh(rng, taken))
        block = "".join(indent + line + "\n" for line in text.splitlines())
        inserts.append((body[k].lineno - 1, block))
        statements += 1
    if not helpers and not statements:
        f = funcs[0]
        indent = " " * f.body[-1].col_offset
        inserts.append((f.body[-1].lineno - 1, f"{indent}{_fresh(rng, taken)} = None\n"))
        statements = 1
    for at, text in sorted(inserts, key=lambda x: -x[0]):
        lines.insert(at, text)
    return _py("".join(lines)), f"{helpers} helpers, {statements} statements"


def whitespace(src: str, rng: random.Random) -> tuple[str, str]:
    """Re-indent with another unit and change the blank lines between statements."""
    unit = rng.choice([2, 3, 8])
    in_string = set()
    for tok in _tokens(src):
        if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
            in_string.update(range(tok.start[0] + 1, tok.end[0] + 1))
    out = []
    blanks = rng.choice([0, 1, 3])
    for number, line in enumerate(src.splitlines(), start=1):
        if number in in_string:
            out.append(line)
            continue
        stripped = line.lstrip(" ")
        if not stripped.strip():
            out.append("")
            continue
        n = len(line) - len(stripped)
        out.append(" " * ((n // 4) * unit + n % 4) + stripped.rstrip())
    text = "\n".join(out) + "\n"
    text = re.sub(r"\n\n+(?=(def |class |@|if __name__))", "\n" + "\n" * blanks, text)
    if rng.random() < 0.5:  # a space after every comma outside strings
        toks = _tokens(text)
        edits = [
            (a.end, a.end, " ")
            for a, b in pairwise(toks)
            if a.type == tokenize.OP and a.string == "," and b.start == a.end
            if b.type not in (tokenize.NL, tokenize.NEWLINE) and b.string not in ")]}"
        ]
        text = _replace_spans(text, edits)
    return _py(text), f"indent {unit}, {blanks} blank lines"


MARKDOWN = (
    "# Regularization assignment",
    "## My solution",
    "### Part 1: layers",
    "## Helper functions",
    "## Model and penalty",
    "Below: the loss and the comparison.",
    "## Testing",
)


def notebook(src: str, rng: random.Random) -> tuple[dict, str]:
    """The module as an nbformat 4 notebook: code cells at statement boundaries, with a
    markdown cell or two."""
    kept = [
        line
        for line in src.splitlines(keepends=True)
        if not re.match(r"\s*# (%%|In\[)", line) and not line.startswith("#!")
    ]
    segments, _, tail = _segments("".join(kept))
    cells: list[dict] = []
    group: list[str] = []
    titles = rng.sample(MARKDOWN, rng.randint(1, 2))

    def cell(kind: str, text: str) -> None:
        text = text.strip("\n")
        if not text.strip():
            return
        source = [line + "\n" for line in text.split("\n")]
        source[-1] = source[-1].rstrip("\n")
        entry: dict = {
            "cell_type": kind,
            "id": f"cell-{len(cells):03d}",
            "metadata": {},
            "source": source,
        }
        if kind == "code":
            entry.update(execution_count=None, outputs=[])
        cells.append(entry)

    cell("markdown", titles[0])
    middle = rng.randrange(1, max(len(segments), 2))
    for i, segment in enumerate(segments):
        if i == middle and len(titles) > 1:
            cell("code", "".join(group))
            group = []
            cell("markdown", titles[1])
        group.append(segment)
        if rng.random() < 0.6:
            cell("code", "".join(group))
            group = []
    cell("code", "".join(group) + tail)
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    ast.parse(code)
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return nb, f"{len(cells)} cells"


TRANSFORMS = {
    "rename": rename,
    "reorder": reorder,
    "comments": comments,
    "imports": imports,
    "dead_code": dead_code,
    "whitespace": whitespace,
}


def disguise(src: str, kinds: list[str], rng: random.Random) -> tuple[str | dict, dict]:
    """Apply ``kinds`` in ``ORDER``; a notebook (dict) when "notebook" is among them.
    Returns the result and, for each disguise that changed something, what it did."""
    details: dict[str, str] = {}
    out: str | dict = src
    for kind in ORDER:
        if kind not in kinds:
            continue
        assert isinstance(out, str)
        if kind == "notebook":
            out, details[kind] = notebook(out, rng)
            continue
        new, detail = TRANSFORMS[kind](out, rng)
        if new != out:  # a disguise that found nothing to change is not listed
            out, details[kind] = new, detail
    return out, details


# --- the corpus ------------------------------------------------------------------------


def _plan(seed: int, n: int | None, names: list[str]) -> list[tuple[str, list[str]]]:
    rng = random.Random(f"plan:{seed}")
    plan: list[tuple[str, list[str]]] = []
    if n is None:
        for origin in names:
            plan.append((origin, []))
            plan += [(origin, [kind]) for kind in DISGUISES]
            plan += [(origin, rng.sample(DISGUISES, 2)) for _ in range(3)]
            plan += [(origin, rng.sample(DISGUISES, 4)) for _ in range(2)]
        return plan
    for i in range(n):
        depth = rng.choices([0, 1, 2, 4], weights=[2, 3, 3, 2])[0]
        plan.append((names[i % len(names)], rng.sample(DISGUISES, depth)))
    return plan


def make_corpus(out: Path, seed: int = 0, n: int | None = None) -> list[dict]:
    """Write the class folder ``out`` and ``out/labels.json``; return the labels.

    Each label: ``{"name", "file", "origin", "disguises", "details"}`` (``disguises`` in
    the order applied, ``[]`` for a verbatim copy)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sources = originals()
    plan = _plan(seed, n, list(sources))
    order = list(range(len(plan)))
    random.Random(f"names:{seed}").shuffle(order)
    width = max(3, len(str(len(plan))))
    labels: list[dict] = []
    for number, index in enumerate(order, start=1):
        origin, kinds = plan[index]
        kinds = [k for k in ORDER if k in kinds]
        rng = random.Random(f"variant:{seed}:{index}")
        result, details = disguise(sources[origin], kinds, rng)
        kinds = [k for k in kinds if k in details]
        name = f"student_{number:0{width}d}"
        if isinstance(result, dict):
            file = f"{name}.ipynb"
            (out / file).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        else:
            file = f"{name}.py"
            (out / file).write_text(result, encoding="utf-8")
        labels.append(
            {"name": name, "file": file, "origin": origin, "disguises": kinds, "details": details}
        )
    labels.sort(key=lambda label: label["name"])
    document = {
        "assignment": "regularization",
        "seed": seed,
        "n": len(labels),
        "originals": {
            name: str(EXAMPLES[name].relative_to(ROOT))
            if name in EXAMPLES
            else str((INDEPENDENT / f"{name}.py").relative_to(ROOT))
            for name in sources
        },
        "submissions": labels,
    }
    (out / "labels.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return labels


def true_pairs(labels: list[dict]) -> set[frozenset[str]]:
    """The copy pairs: every two submissions of the same origin."""
    by_origin: dict[str, list[str]] = {}
    for label in labels:
        by_origin.setdefault(label["origin"], []).append(label["name"])
    return {frozenset(p) for names in by_origin.values() for p in combinations(names, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="class folder to write")
    parser.add_argument("--n", type=int, default=None, help="number of submissions")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    labels = make_corpus(args.out, seed=args.seed, n=args.n)
    pairs = len(labels) * (len(labels) - 1) // 2
    print(
        f"{len(labels)} submissions in {args.out} ({len(true_pairs(labels))} copy pairs of "
        f"{pairs}) in {time.perf_counter() - started:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
