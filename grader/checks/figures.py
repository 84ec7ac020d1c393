"""Pictures a check records for the student's feedback page ("figures").

A check calls ``show_curves`` or ``show_table`` while it runs, typically just before its
verdict so the picture is there when it fails too; the grading plugin attaches what was
recorded to that check's result, whatever its status. A figure is plain JSON data of one
of two kinds (the renderer in ``grader.reports`` draws them):

- ``"curves"``: 1 to 4 panels side by side, each with 1 to 8 series of at most 200
  points; a series has a ``label``, the ``model`` it belongs to (a training and a
  validation curve of one model share it), a ``role`` (``"train"`` or ``"validation"``)
  and ``x``/``y`` lists of finite numbers;
- ``"table"``: 1 to 8 columns, at most 40 rows, each a list of text cells (at most 200
  characters) and ``ok``: true, false or null (not judged).

Figures never decide anything. While a check runs, a figure that breaks the format is
dropped and noted for the instructor, never raised into the check, so it cannot turn a
verdict into a grader error. Outside grading (a check function called directly, as in a
test) the same mistake raises ``FigureError``, so it is seen.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.errors import FigureError

if TYPE_CHECKING:
    from grader.checks.training import Curves, GapOutcome

__all__ = [
    "MAX_COLUMNS",
    "MAX_FIGURES",
    "MAX_NOTES",
    "MAX_NOTE_CHARS",
    "MAX_PANELS",
    "MAX_POINTS",
    "MAX_ROWS",
    "MAX_SERIES",
    "MAX_TEXT_CHARS",
    "ROLES",
    "FigureError",
    "Panel",
    "Recorded",
    "Row",
    "Series",
    "collect_table",
    "curve_pair",
    "curves_figure",
    "gap_panel",
    "show_curves",
    "show_table",
    "start_recording",
    "stop_recording",
    "table_figure",
]

MAX_PANELS = 4
MAX_SERIES = 8  # per panel
MAX_POINTS = 200  # per series
MAX_COLUMNS = 8
MAX_ROWS = 40
MAX_TEXT_CHARS = 200  # a title, label or cell
MAX_NOTES = 4
MAX_NOTE_CHARS = 500
MAX_FIGURES = 6  # per check, all its parametrized cases together
ROLES = ("train", "validation")
SIGNIFICANT_DIGITS = 6

_NOT_FINITE_NOTE = "Some values were not finite numbers (training diverged) and are not drawn."


@dataclass(frozen=True)
class Series:
    """One line of a curves panel."""

    label: str
    model: str
    role: str  # "train" (drawn solid) or "validation" (dashed)
    x: Sequence[float]
    y: Sequence[float]


@dataclass(frozen=True)
class Panel:
    """One chart of a curves figure."""

    title: str
    series: Sequence[Series]


@dataclass(frozen=True)
class Row:
    """One row of a table figure: ``ok`` is None when the row is not judged."""

    cells: Sequence[str]
    ok: bool | None = None


@dataclass
class Recorded:
    """What the check that ran recorded: its figures and the ones it dropped, and why."""

    figures: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# The check that is running, if any: set by the grading plugin around each test.
_current: Recorded | None = None


def start_recording() -> None:
    """Collect the figures of the check about to run (the grading plugin calls this)."""
    global _current
    _current = Recorded()


def stop_recording() -> Recorded:
    """What the check recorded since ``start_recording``; recording stops."""
    global _current
    recorded, _current = _current or Recorded(), None
    return recorded


# -- building and validating ------------------------------------------------------------


def curves_figure(
    title: str,
    panels: Sequence[Panel],
    *,
    x_label: str,
    y_label: str,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """A "curves" figure as plain data, validated and bounded: numbers rounded to 6
    significant digits, non-finite points left out (with a note), series thinned to
    ``MAX_POINTS``, text cut to its limit. Raises ``FigureError`` if it does not fit."""
    _count("panels", panels, 1, MAX_PANELS)
    dropped = False
    panels_out = []
    for panel in panels:
        if not isinstance(panel, Panel):
            raise FigureError(f"a panel must be a Panel, not {type(panel).__name__}")
        _count(f"series of panel {panel.title!r}", panel.series, 1, MAX_SERIES)
        series_out = []
        for series in panel.series:
            data, lost = _series(series)
            dropped = dropped or lost
            if data["x"]:
                series_out.append(data)
        # A run that diverged from the start has nothing left to draw.
        if series_out:
            panels_out.append({"title": _text(panel.title, "panel title"), "series": series_out})
    if not panels_out:
        raise FigureError("no panel has a finite point to draw")
    return {
        "kind": "curves",
        "title": _text(title, "title"),
        "x_label": _text(x_label, "x_label"),
        "y_label": _text(y_label, "y_label"),
        "panels": panels_out,
        "notes": _notes(notes, [_NOT_FINITE_NOTE] if dropped else []),
    }


def table_figure(
    title: str, columns: Sequence[str], rows: Sequence[Row], *, notes: Sequence[str] = ()
) -> dict[str, Any]:
    """A "table" figure as plain data, validated and bounded: rows past ``MAX_ROWS`` are
    left out (with a note), text cut to its limit. Raises ``FigureError`` if it does not
    fit."""
    _count("columns", columns, 1, MAX_COLUMNS)
    columns_out = [_text(c, "column") for c in columns]
    rows_out = []
    for row in rows:
        if not isinstance(row, Row):
            raise FigureError(f"a row must be a Row, not {type(row).__name__}")
        if isinstance(row.cells, str) or len(row.cells) != len(columns_out):
            raise FigureError(f"a row needs {len(columns_out)} cells, one per column")
        if row.ok is not None and not isinstance(row.ok, bool | np.bool_):
            raise FigureError(f"a row's ok must be True, False or None, not {row.ok!r}")
        ok = None if row.ok is None else bool(row.ok)
        rows_out.append({"cells": [_text(c, "cell") for c in row.cells], "ok": ok})
    added = []
    if len(rows_out) > MAX_ROWS:
        added.append(f"{len(rows_out) - MAX_ROWS} more rows are not shown.")
        rows_out = rows_out[:MAX_ROWS]
    return {
        "kind": "table",
        "title": _text(title, "title"),
        "columns": columns_out,
        "rows": rows_out,
        "notes": _notes(notes, added),
    }


def _count(what: str, items: Sequence[Any], low: int, high: int) -> None:
    if isinstance(items, str) or not isinstance(items, Sequence):
        raise FigureError(f"{what} must be a list, not {type(items).__name__}")
    if not low <= len(items) <= high:
        raise FigureError(f"a figure needs {low} to {high} {what}; got {len(items)}")


def _text(value: object, what: str, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str):
        raise FigureError(f"a figure's {what} must be text, not {type(value).__name__}")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _notes(authored: Sequence[str], added: list[str]) -> list[str]:
    """At most ``MAX_NOTES`` notes; the grader's own (``added``) are kept."""
    if isinstance(authored, str):
        raise FigureError("a figure's notes must be a list of texts, not one text")
    notes = [_text(n, "note", MAX_NOTE_CHARS) for n in authored]
    return notes[: MAX_NOTES - len(added)] + added


def _number(value: object) -> float | int | None:
    """A JSON number rounded to 6 significant digits; None if it is not finite."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise FigureError(f"a figure's points must be numbers, not {type(value).__name__}")
    if isinstance(value, numbers.Integral) and abs(int(value)) < 2**53:
        return int(value)  # epochs stay whole numbers
    number = float(value)
    if not math.isfinite(number):
        return None
    return float(f"{number:.{SIGNIFICANT_DIGITS}g}")


def _series(series: object) -> tuple[dict[str, Any], bool]:
    """A series as plain data, and whether non-finite points were left out."""
    if not isinstance(series, Series):
        raise FigureError(f"a series must be a Series, not {type(series).__name__}")
    if series.role not in ROLES:
        raise FigureError(f"a series' role must be one of {ROLES}, not {series.role!r}")
    for values in (series.x, series.y):
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise FigureError(f"a series' x and y must be lists, not {type(values).__name__}")
    if len(series.x) != len(series.y):
        raise FigureError(
            f"series {series.label!r} has {len(series.x)} x values and {len(series.y)} y values"
        )
    points = [(_number(x), _number(y)) for x, y in zip(series.x, series.y, strict=True)]
    finite = [(x, y) for x, y in points if x is not None and y is not None]
    lost = len(finite) < len(points)
    finite = _thin(finite, MAX_POINTS)
    data = {
        "label": _text(series.label, "series label"),
        "model": _text(series.model, "series model"),
        "role": series.role,
        "x": [x for x, _ in finite],
        "y": [y for _, y in finite],
    }
    return data, lost


def _thin(points: list[Any], limit: int) -> list[Any]:
    """At most ``limit`` points, evenly spread, the first and the last kept."""
    if len(points) <= limit:
        return points
    last = len(points) - 1
    return [points[round(i * last / (limit - 1))] for i in range(limit)]


# -- recording --------------------------------------------------------------------------


def show_curves(
    title: str,
    panels: Sequence[Panel],
    *,
    x_label: str,
    y_label: str,
    notes: Sequence[str] = (),
) -> None:
    """Record a "curves" figure (see ``curves_figure``) for the check that is running."""
    _record(
        "curves",
        lambda: curves_figure(title, panels, x_label=x_label, y_label=y_label, notes=notes),
    )


def show_table(
    title: str, columns: Sequence[str], rows: Sequence[Row], *, notes: Sequence[str] = ()
) -> None:
    """Record a "table" figure (see ``table_figure``) for the check that is running."""
    _record("table", lambda: table_figure(title, columns, rows, notes=notes))


@contextlib.contextmanager
def collect_table(
    title: str, columns: Sequence[str], *, notes: Sequence[str] = ()
) -> Iterator[list[Row]]:
    """Record a table of the rows appended inside the block, however the block ends (a
    failed check keeps the rows it judged). Nothing is recorded without rows."""
    rows: list[Row] = []
    try:
        yield rows
    finally:
        if rows:
            show_table(title, columns, rows, notes=notes)


def _record(kind: str, build: Callable[[], dict[str, Any]]) -> None:
    recording = _current
    if recording is None:
        build()  # nobody collects: only show the author a mistake
        return
    try:
        figure = build()
    except Exception as exc:  # a figure must never change the check's verdict
        recording.problems.append(f"a {kind} figure was dropped: {type(exc).__name__}: {exc}")
        return
    if len(recording.figures) >= MAX_FIGURES:
        recording.problems.append(f"a {kind} figure was dropped: more than {MAX_FIGURES}")
        return
    recording.figures.append(figure)


# -- helpers for the grader's experiments ---------------------------------------------


def curve_pair(run: Curves | GapOutcome, *, label: str, model: str) -> tuple[Series, Series]:
    """The training and validation data-MSE curves of one training run (a
    ``training.Curves`` or the ``GapOutcome`` holding them) as two series of a panel,
    labelled "<label>, training" and "<label>, validation"."""
    # Duck-typed: importing grader.checks.training here would import TensorFlow.
    curves: Any = getattr(run, "curves", run)
    return (
        Series(f"{label}, training", model, "train", curves.epochs, curves.train_mse),
        Series(f"{label}, validation", model, "validation", curves.epochs, curves.val_mse),
    )


def gap_panel(
    title: str,
    unregularized: tuple[Curves | GapOutcome, str],
    regularized: tuple[Curves | GapOutcome, str],
) -> Panel:
    """One panel of a gap experiment: the training and validation curves of a run without
    regularization, then of one with it, each ``(run, label)``."""
    (plain, plain_label), (reg, reg_label) = unregularized, regularized
    return Panel(
        title,
        [
            *curve_pair(plain, label=plain_label, model="unregularized"),
            *curve_pair(reg, label=reg_label, model="regularized"),
        ],
    )
