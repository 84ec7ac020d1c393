"""HTML reports: a feedback page per student and a summary page for the class.

Every number the pages show is worked out here and handed to the templates as
ready-to-print text, so the templates only lay things out.
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import jinja2

from grader.checks import figures
from grader.files import atomic_write_text
from grader.gradebook.final import grade_notes, needs_review
from grader.results import CheckResult, RunResult, StudentResult, clean_text

__all__ = [
    "feedback_filename",
    "format_points",
    "render_feedback",
    "render_summary",
    "write_html_reports",
]

HISTOGRAM_BINS = 10
_MISSING = "—"

# File names keep only characters that are safe in every file system and in a URL.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAX_STEM = 80
# Names Windows refuses as files whatever the extension.
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{i}" for i in range(1, 10)]
    + [f"lpt{i}" for i in range(1, 10)]
)


@dataclass(frozen=True)
class _Status:
    css: str  # class-name suffix; always one of a fixed set
    symbol: str
    label: str


_CHECK_STATUS = {
    "passed": _Status("passed", "✓", "passed"),
    "failed": _Status("failed", "✗", "failed"),
    "error": _Status("error", "⚠", "error"),
    "timeout": _Status("timeout", "⏱", "timeout"),
}
_STUDENT_STATUS = {
    "graded": _Status("passed", "✓", "graded"),
    "import_error": _Status("failed", "✗", "import error"),
    "invalid": _Status("failed", "✗", "invalid submission"),
    "error": _Status("error", "⚠", "grader error"),
}
_PROBLEM_TEXT = {
    "import_error": (
        "Your code could not be imported",
        (
            "Python stopped while loading your file, so every check below failed. "
            "Fix this error first."
        ),
    ),
    "invalid": (
        "Your submission could not be read",
        "The grader could not read your submission, so no checks ran.",
    ),
    "error": (
        "The grader ran into a problem",
        (
            "Some checks could not be run because of a problem in the grader, not in your "
            "code. Those checks do not count against you, and your submission will be "
            "graded again."
        ),
    ),
}


def _status(table: dict[str, _Status], status: str) -> _Status:
    return table.get(status, _Status("unknown", "?", status))


# ---------------------------------------------------------------- formatting


def format_points(value: float) -> str:
    """``2.0`` -> ``"2"``, ``1.5`` -> ``"1.5"``, ``1/3`` -> ``"0.33"``."""
    rounded = round(float(value), 2)
    if rounded.is_integer():
        return str(int(rounded))  # int() also turns -0.0 into 0
    return f"{rounded:.2f}".rstrip("0").rstrip(".")


def _format_percent(fraction: float) -> str:
    text = f"{fraction * 100:.1f}".removesuffix(".0")
    return f"{text}%"


def _format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _format_timestamp(text: str) -> str:
    # "2024-05-01T12:00:00+00:00" -> "2024-05-01 12:00 UTC"; anything unparsable is shown as is.
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    shown = moment.strftime("%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    if offset is None:
        return shown
    return f"{shown} UTC" if not offset else f"{shown} {moment.strftime('%z')}"


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _error_headline(error: str | None, limit: int = 200) -> str:
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    if not lines:
        return ""
    # A traceback's first line says nothing; its last line names the exception.
    headline = lines[-1] if lines[0].startswith("Traceback (most recent call last)") else lines[0]
    return headline if len(headline) <= limit else headline[: limit - 1] + "…"


# ---------------------------------------------------------------- file names


def feedback_filename(student: str) -> str:
    """A safe, stable ``.html`` file name for ``student``'s feedback page.

    Names made only of ``[a-z0-9._-]`` are kept as they are. Anything else (other
    characters, capitals, a leading dot, an empty, over-long or Windows-reserved
    name) gets a hash of the original name appended, so two different students
    never share a file, even on case-insensitive file systems.
    """
    stem = _UNSAFE.sub("_", student).lstrip(".")
    changed = (
        stem != student
        or not stem
        or len(stem) > _MAX_STEM
        # Capitals are hashed so "Ann" and "ann" differ on macOS and Windows too.
        or stem != stem.lower()
        or stem.split(".")[0].lower() in _RESERVED
    )
    if not changed:
        return f"{stem}.html"
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{stem[:_MAX_STEM] or 'student'}-{digest}.html"


# ---------------------------------------------------------------- Jinja


@lru_cache(maxsize=8)
def _environment(templates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(templates_dir: Path, name: str, run: RunResult, **context: object) -> str:
    template = _environment(Path(templates_dir).resolve()).get_template(name)
    return template.render(run=run, generated=_format_timestamp(run.generated_at), **context)


# ---------------------------------------------------------------- figures
#
# Figures arrive as plain data (see CheckResult.figures). They never decide anything, so
# one that does not follow the format is left out rather than allowed to break the page.
# The limits are those the checks record within (grader.checks.figures).

_PALETTE = 6  # CSS classes series-0 .. series-5
_MARKERS = ("circle", "square", "triangle", "diamond")
# Training solid, validation dashed: the line style, not the colour, tells them apart.
_ROLE_DASH = {"train": "", "validation": "6 4"}

_CHART_WIDTH = 360
_CHART_HEIGHT = 240
_FONT_WIDTH = 7.5  # rough width of a 13px label character, in SVG units


class _Malformed(Exception):
    """A figure that does not follow the format; it is skipped."""


@dataclass(frozen=True)
class _Tick:
    pos: float
    text: str


@dataclass(frozen=True)
class _Line:
    label: str
    color: int
    dash: str
    points: str  # the SVG polyline's "x,y x,y ..."
    marker: str  # SVG path of the shape drawn on the last point


@dataclass(frozen=True)
class _Key:
    label: str
    color: int
    dash: str
    marker: str  # SVG path, in the legend sample's own coordinates


@dataclass(frozen=True)
class _Panel:
    id: str
    title: str
    svg_title: str
    description: str
    lines: tuple[_Line, ...]
    keys: tuple[_Key, ...]  # empty when the figure has one legend for all panels


@dataclass(frozen=True)
class _Curves:
    kind: str
    title: str
    x_label: str
    y_label: str
    panels: tuple[_Panel, ...]
    keys: tuple[_Key, ...]  # the shared legend, when every panel draws the same lines
    notes: tuple[str, ...]
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    x_ticks: tuple[_Tick, ...]
    y_ticks: tuple[_Tick, ...]
    tick_y: float  # baseline of the x tick labels
    tick_end: float  # lower end of the x tick marks
    tick_x: float  # right edge of the y tick labels
    x_label_x: float
    x_label_y: float


@dataclass(frozen=True)
class _TableRow:
    header: str
    cells: tuple[str, ...]
    ok: _Status


@dataclass(frozen=True)
class _Table:
    kind: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[_TableRow, ...]
    judged: bool  # whether any row carries an ok flag: only then is there a verdict column
    notes: tuple[str, ...]


_FIGURE_OK = {
    True: _Status("passed", "✓", "matches"),
    False: _Status("failed", "✗", "differs"),
    None: _Status("muted", "–", "not judged"),
}


def _field(data: object, key: str) -> object:
    if not isinstance(data, dict) or key not in data:
        raise _Malformed(f"missing {key!r}")
    return data[key]


def _text(value: object, limit: int = figures.MAX_TEXT_CHARS, *, strict: bool = False) -> str:
    if not isinstance(value, str):
        raise _Malformed("not a string")
    if len(value) > limit:
        if strict:
            raise _Malformed("text too long")
        return value[: limit - 1] + "…"
    return value


def _items(value: object, low: int, high: int) -> list[object]:
    if not isinstance(value, (list, tuple)) or not low <= len(value) <= high:
        raise _Malformed("not a list of the right length")
    return list(value)


def _numbers(value: object) -> list[float]:
    items = _items(value, 1, figures.MAX_POINTS)
    numbers = []
    for item in items:
        # bool is an int to Python, not to the format.
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise _Malformed("not a number")
        number = float(item)
        if not math.isfinite(number):
            raise _Malformed("not a finite number")
        numbers.append(number)
    return numbers


def _notes(figure: dict[str, object]) -> tuple[str, ...]:
    notes = _items(figure.get("notes", []), 0, figures.MAX_NOTES)
    return tuple(_text(n, figures.MAX_NOTE_CHARS) for n in notes)


def _short_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3g}"


def _nice_step(span: float, target: int) -> float:
    raw = span / target
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 2.5, 5.0):
        if raw <= multiple * magnitude * (1 + 1e-9):
            return multiple * magnitude
    return 10 * magnitude


def _axis(low: float, high: float, target: int = 4) -> tuple[list[float], list[str]]:
    """Round tick values covering [low, high], and their labels."""
    if not high > low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = _nice_step(high - low, target)
    if not math.isfinite(step) or step <= 0:
        raise _Malformed("axis range out of bounds")
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    values = [i * step for i in range(first, last + 1)]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    scaled = step * 10**decimals
    if abs(scaled - round(scaled)) > 1e-6:  # 2.5, 0.25, ...: one more digit
        decimals += 1
    if decimals > 6 or max(abs(values[0]), abs(values[-1])) >= 1e7:
        labels = [f"{v:.3g}" for v in values]
    else:
        labels = [f"{v:.{decimals}f}" for v in values]
    return values, labels


def _marker_path(shape: str, x: float, y: float, r: float = 4.0) -> str:
    def p(dx: float, dy: float) -> str:
        return f"{round(x + dx, 1)},{round(y + dy, 1)}"

    if shape == "square":
        r *= 0.9
        return f"M{p(-r, -r)} L{p(r, -r)} L{p(r, r)} L{p(-r, r)} Z"
    if shape == "triangle":
        return f"M{p(0, -1.2 * r)} L{p(1.1 * r, 0.8 * r)} L{p(-1.1 * r, 0.8 * r)} Z"
    if shape == "diamond":
        r *= 1.25
        return f"M{p(0, -r)} L{p(r, 0)} L{p(0, r)} L{p(-r, 0)} Z"
    return f"M{p(-r, 0)} A{r},{r} 0 1,0 {p(r, 0)} A{r},{r} 0 1,0 {p(-r, 0)} Z"


@dataclass(frozen=True)
class _Series:
    label: str
    model: str
    role: str
    x: list[float]
    y: list[float]


def _series(data: object) -> _Series:
    role = _field(data, "role")
    if role not in _ROLE_DASH:
        raise _Malformed("role must be train or validation")
    x, y = _numbers(_field(data, "x")), _numbers(_field(data, "y"))
    if len(x) != len(y):
        raise _Malformed("x and y differ in length")
    label = _text(_field(data, "label"))
    model = _text(data.get("model", label)) if isinstance(data, dict) else label
    return _Series(label, model, str(role), x, y)


def _curves(figure: dict[str, object], prefix: str) -> _Curves:
    title = _text(_field(figure, "title"))
    x_label = _text(_field(figure, "x_label"))
    y_label = _text(_field(figure, "y_label"))
    panels = []
    for panel in _items(_field(figure, "panels"), 1, figures.MAX_PANELS):
        series = [_series(s) for s in _items(_field(panel, "series"), 1, figures.MAX_SERIES)]
        panels.append((_text(_field(panel, "title")), series))
    everything = [s for _, series in panels for s in series]
    # One scale for every panel, so the student's curves and the reference's compare at a glance.
    x_values, x_texts = _axis(min(min(s.x) for s in everything), max(max(s.x) for s in everything))
    low = min(min(s.y) for s in everything)
    high = max(max(s.y) for s in everything)
    if 0 <= low <= high / 2:
        low = 0.0  # losses: measured from zero, so a gap's size reads true
    y_values, y_texts = _axis(low, high)

    width, height = _CHART_WIDTH, _CHART_HEIGHT
    left = 10 + _FONT_WIDTH * max(len(t) for t in y_texts)
    # Room for half of the last x label, which is centred on the plot's right edge.
    right = width - max(14.0, 4 + _FONT_WIDTH * len(x_texts[-1]) / 2)
    top, bottom = 28.0, height - 42.0
    x0, x1, y0, y1 = x_values[0], x_values[-1], y_values[0], y_values[-1]

    def sx(v: float) -> float:
        return round(left + (v - x0) / (x1 - x0) * (right - left), 1)

    def sy(v: float) -> float:
        return round(bottom - (v - y0) / (y1 - y0) * (bottom - top), 1)

    # A train/validation pair of one model shares a colour and a marker shape.
    models: dict[str, int] = {}
    for s in everything:
        models.setdefault(s.model, len(models))

    def key(s: _Series) -> _Key:
        index = models[s.model]
        marker = _marker_path(_MARKERS[index % len(_MARKERS)], 30.0, 7.0)
        return _Key(s.label, index % _PALETTE, _ROLE_DASH[s.role], marker)

    legends = [tuple(key(s) for s in series) for _, series in panels]
    shared = all(legend == legends[0] for legend in legends)
    views = []
    for number, ((panel_title, series), legend) in enumerate(zip(panels, legends, strict=True)):
        lines = []
        for s in series:
            index = models[s.model]
            points = " ".join(f"{sx(a)},{sy(b)}" for a, b in zip(s.x, s.y, strict=True))
            end = _marker_path(_MARKERS[index % len(_MARKERS)], sx(s.x[-1]), sy(s.y[-1]))
            lines.append(_Line(s.label, index % _PALETTE, _ROLE_DASH[s.role], points, end))
        finals = "; ".join(
            f"{s.label} ends at {_short_number(s.y[-1])} ({x_label} {_short_number(s.x[-1])})"
            for s in series
        )
        views.append(
            _Panel(
                id=f"{prefix}-{number}",
                title=panel_title,
                svg_title=f"{title}: {panel_title}",
                description=f"{y_label} against {x_label}. {finals}.",
                lines=tuple(lines),
                keys=() if shared else legend,
            )
        )

    # Axis labels are cut to the chart's width; the description keeps them whole.
    def fit(text: str, room: float) -> str:
        most = max(int(room / _FONT_WIDTH), 2)
        return text if len(text) <= most else text[: most - 1] + "…"

    return _Curves(
        kind="curves",
        title=title,
        x_label=fit(x_label, width - 12),
        y_label=fit(y_label, width - left),
        panels=tuple(views),
        keys=legends[0] if shared else (),
        notes=_notes(figure),
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        x_ticks=tuple(_Tick(sx(v), t) for v, t in zip(x_values, x_texts, strict=True)),
        y_ticks=tuple(_Tick(sy(v), t) for v, t in zip(y_values, y_texts, strict=True)),
        tick_y=bottom + 16,
        tick_end=bottom + 4,
        tick_x=left - 6,
        x_label_x=round((left + right) / 2, 1),
        x_label_y=height - 6,
    )


def _table(figure: dict[str, object]) -> _Table:
    columns = tuple(_text(c) for c in _items(_field(figure, "columns"), 1, figures.MAX_COLUMNS))
    rows, flags = [], []
    for row in _items(_field(figure, "rows"), 0, figures.MAX_ROWS):
        cells = _items(_field(row, "cells"), len(columns), len(columns))
        texts = [_text(c, figures.MAX_TEXT_CHARS, strict=True) for c in cells]
        ok = row.get("ok") if isinstance(row, dict) else None
        if ok is not None and not isinstance(ok, bool):  # 1 == True to Python, not here
            raise _Malformed("ok must be true, false or null")
        flags.append(ok)
        rows.append(_TableRow(texts[0], tuple(texts[1:]), _FIGURE_OK[ok]))
    return _Table(
        kind="table",
        title=_text(_field(figure, "title")),
        columns=columns,
        rows=tuple(rows),
        judged=any(flag is not None for flag in flags),
        notes=_notes(figure),
    )


def _figures(recorded: object, prefix: str) -> tuple[_Curves | _Table, ...]:
    """The figures that follow the format, ready to draw; any other is skipped."""
    views: list[_Curves | _Table] = []
    if not isinstance(recorded, (list, tuple)):
        return ()
    for number, figure in enumerate(recorded):
        if not isinstance(figure, dict):
            continue
        try:
            if figure.get("kind") == "curves":
                views.append(_curves(figure, f"{prefix}-{number}"))
            elif figure.get("kind") == "table":
                views.append(_table(figure))
        except (_Malformed, ArithmeticError, TypeError, ValueError, AttributeError):
            continue
    return tuple(views)


# ---------------------------------------------------------------- feedback page


@dataclass(frozen=True)
class _CheckView:
    name: str
    description: str
    message: str
    traceback: str
    figures: tuple[_Curves | _Table, ...]
    fold_tables: bool  # a passed check's tables only confirm: folded, so the page stays short
    points: str
    max_points: str
    status: _Status
    grader_error: bool
    adjustment: str = ""  # the instructor set its points, and why


@dataclass(frozen=True)
class _SectionView:
    anchor: str
    function: str
    points: str
    max_points: str
    checks: tuple[_CheckView, ...]
    hidden: int


@dataclass(frozen=True)
class _Problem:
    heading: str
    explanation: str
    text: str
    traceback: str


def _functions_in_order(run: RunResult, student: StudentResult) -> list[str]:
    # Checks for a function missing from run.functions still get a section, at the end.
    names = list(run.functions)
    for check in student.checks:
        if check.function not in names:
            names.append(check.function)
    return names


_TRACEBACK = re.compile(r"^Traceback \(most recent call last\):", re.MULTILINE)


def _split_traceback(text: str) -> tuple[str, str]:
    """``"message\\n\\nTraceback ..."`` -> the message and the traceback, to fold away."""
    match = _TRACEBACK.search(text)
    if match is None:
        return text, ""
    message, traceback = text[: match.start()].rstrip(), text[match.start() :].rstrip()
    # A bare traceback: its last line, the exception, is the message.
    return message or _error_headline(traceback, limit=1000), traceback


def _check_view(check: CheckResult, prefix: str) -> _CheckView:
    message, traceback = _split_traceback(check.message)
    return _CheckView(
        name=check.name,
        description=check.description,
        message=message,
        traceback=traceback,
        figures=_figures(check.figures, prefix),
        fold_tables=check.status == "passed",
        points=format_points(check.points),
        max_points=format_points(check.max_points),
        status=_status(_CHECK_STATUS, check.status),
        grader_error=check.status == "error",
        adjustment=_check_adjustment(check),
    )


def _check_adjustment(check: CheckResult) -> str:
    a = check.adjustment
    if a is None:
        return ""
    return (
        f"Points set to {format_points(float(a.get('points', 0)))} by your instructor "
        f"(the check gave {format_points(float(a.get('graded_points', 0)))}): {a.get('reason', '')}"
    )


def _sections(run: RunResult, student: StudentResult) -> list[_SectionView]:
    sections = []
    for index, function in enumerate(_functions_in_order(run, student), start=1):
        checks = [c for c in student.checks if c.function == function]
        visible = [c for c in checks if c.visibility != "hidden"]
        # Subtotals include hidden checks so they add up to the score at the top.
        counted = [c for c in checks if c.counted]
        sections.append(
            _SectionView(
                anchor=f"fn-{index}",
                function=function,
                points=format_points(sum(c.points for c in counted)),
                max_points=format_points(sum(c.max_points for c in counted)),
                # Figure ids are unique on the page: fig-<function>-<check>-<figure>-<panel>.
                checks=tuple(
                    _check_view(c, f"fig-{index}-{number}") for number, c in enumerate(visible)
                ),
                hidden=sum(1 for c in checks if c.visibility == "hidden"),
            )
        )
    return sections


def _problem(student: StudentResult) -> _Problem | None:
    if student.status not in _PROBLEM_TEXT:
        return None
    heading, explanation = _PROBLEM_TEXT[student.status]
    text, traceback = _split_traceback((student.error or "").rstrip())
    return _Problem(heading, explanation, text, traceback)


def render_feedback(run: RunResult, student: StudentResult, templates_dir: Path) -> str:
    """The feedback page for one student; hidden checks are left out entirely."""
    hidden = sum(1 for c in student.checks if c.visibility == "hidden")
    hidden_note = ""
    if hidden:
        verb, pronoun = ("is", "its") if hidden == 1 else ("are", "their")
        hidden_note = (
            f"{_plural(hidden, 'hidden check', 'hidden checks')} {verb} not shown; "
            f"{pronoun} points are included in your score."
        )
    # Trailing newlines would only add an empty last line inside the <pre>.
    output = student.output.rstrip("\n") if student.output.strip() else ""
    percent = _format_percent(student.score / student.max_score) if student.max_score > 0 else ""
    return _render(
        templates_dir,
        "feedback.html",
        run=run,
        student=student,
        page_title=f"{clean_text(student.student)} — {run.title}",
        student_name=clean_text(student.student),
        score_text=f"{format_points(student.score)} / {format_points(student.max_score)}",
        score_percent=percent,
        status=_status(_STUDENT_STATUS, student.status),
        problem=_problem(student),
        sections=_sections(run, student),
        hidden_note=hidden_note,
        grade_notes=grade_notes(student),
        output=output,
        output_lines=_plural(len(output.splitlines()), "line", "lines"),
    )


# ---------------------------------------------------------------- summary page


@dataclass(frozen=True)
class _Bar:
    count: int
    range_text: str
    title: str
    x: float
    y: float
    width: float
    height: float
    center: float
    count_y: float
    label_y: float


@dataclass(frozen=True)
class _Histogram:
    bars: tuple[_Bar, ...]
    width: int
    height: int
    baseline: float
    left: float
    right: float
    center: float
    caption_y: float
    description: str


@dataclass(frozen=True)
class _PassRate:
    name: str
    function: str
    hidden: bool
    passed: int
    counted: int
    not_counted: int
    rate: float | None
    rate_text: str
    bar_width: str  # CSS width of the little pass-rate bar


@dataclass(frozen=True)
class _FunctionCell:
    text: str
    value: float


@dataclass(frozen=True)
class _StudentRow:
    name: str
    href: str
    score: str
    score_value: float
    max_score: str
    max_score_value: float
    status: _Status
    status_key: str
    functions: tuple[_FunctionCell, ...]
    error_headline: str
    timeouts: tuple[str, ...]  # the checks that ran out of time
    timeout_text: str
    # Instructor only: checks failed by an unexpected exception on the student's data
    # (CheckResult.internal), each with the exception's headline and the full note.
    internal: tuple[_Internal, ...] = ()
    # How the gradebook changed the score (adjustments, late), and what needs a new look.
    grade_notes: tuple[str, ...] = ()
    reviews: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Internal:
    check: str
    headline: str
    text: str


def _histogram_counts(scores: list[float], max_score: float, bins: int) -> list[int]:
    counts = [0] * bins
    for score in scores:
        # The epsilon keeps 0.3 of 1.0 in the 0.3 bin despite float rounding.
        index = math.floor(score / max_score * bins + 1e-9) if max_score > 0 else 0
        counts[min(max(index, 0), bins - 1)] += 1  # the top bin includes max_score
    return counts


def _histogram(scores: list[float], max_score: float, bins: int = HISTOGRAM_BINS) -> _Histogram:
    counts = _histogram_counts(scores, max_score, bins)
    width, height = 600, 260
    left, right, top, bottom = 8.0, 8.0, 26.0, 46.0
    plot_height = height - top - bottom
    slot = (width - left - right) / bins
    gap = 4.0
    tallest = max(max(counts), 1)
    step = max_score / bins if max_score > 0 else 0.0
    bars = []
    for index, count in enumerate(counts):
        low, high = index * step, (index + 1) * step
        range_text = f"{format_points(low)}–{format_points(high)}"
        upper = "≤" if index == bins - 1 else "<"
        bar_height = round(plot_height * count / tallest, 1)
        x = round(left + index * slot + gap / 2, 1)
        bars.append(
            _Bar(
                count=count,
                range_text=range_text,
                title=(
                    f"{_plural(count, 'student', 'students')} scored "
                    f"{format_points(low)} ≤ score {upper} {format_points(high)}"
                ),
                x=x,
                y=round(top + plot_height - bar_height, 1),
                width=round(slot - gap, 1),
                height=bar_height,
                center=round(x + (slot - gap) / 2, 1),
                count_y=round(top + plot_height - bar_height - 6, 1),
                label_y=round(top + plot_height + 18, 1),
            )
        )
    description = "Number of students per score range (out of {}): {}.".format(
        format_points(max_score), "; ".join(f"{b.range_text}: {b.count}" for b in bars)
    )
    return _Histogram(
        bars=tuple(bars),
        width=width,
        height=height,
        baseline=top + plot_height,
        left=left,
        right=width - right,
        center=width / 2,
        caption_y=height - 8,
        description=description,
    )


def _pass_rates(run: RunResult) -> list[_PassRate]:
    function_rank = {name: i for i, name in enumerate(run.functions)}
    first_seen: dict[tuple[str, str], int] = {}
    passed: dict[tuple[str, str], int] = {}
    counted: dict[tuple[str, str], int] = {}
    not_counted: dict[tuple[str, str], int] = {}
    hidden: dict[tuple[str, str], bool] = {}
    for student in run.students:
        for check in student.checks:
            key = (check.function, check.name)
            first_seen.setdefault(key, len(first_seen))
            hidden[key] = hidden.get(key, False) or check.visibility == "hidden"
            # Grader errors are left out of the rate, just as they are left out of scores.
            if check.counted:
                counted[key] = counted.get(key, 0) + 1
                passed[key] = passed.get(key, 0) + (check.status == "passed")
            else:
                not_counted[key] = not_counted.get(key, 0) + 1
    rows = []
    for key in first_seen:
        n = counted.get(key, 0)
        rate = passed.get(key, 0) / n if n else None
        rows.append(
            _PassRate(
                name=key[1],
                function=key[0],
                hidden=hidden[key],
                passed=passed.get(key, 0),
                counted=n,
                not_counted=not_counted.get(key, 0),
                rate=rate,
                rate_text=_MISSING if rate is None else _format_percent(rate),
                bar_width=f"{(rate or 0.0) * 100:.1f}%",
            )
        )

    def order(row: _PassRate) -> tuple[bool, float, int, int, int]:
        key = (row.function, row.name)
        return (
            row.rate is None,  # checks nobody could be graded on go last
            row.rate if row.rate is not None else 0.0,
            -(row.counted - row.passed),  # equal rates: more failures first
            function_rank.get(row.function, len(function_rank)),
            first_seen[key],
        )

    return sorted(rows, key=order)


def _function_maxima(run: RunResult) -> list[str]:
    # The nominal maximum: the largest per-function total any student was checked against.
    maxima = dict.fromkeys(run.functions, 0.0)
    for student in run.students:
        totals: dict[str, float] = {}
        for check in student.checks:
            totals[check.function] = totals.get(check.function, 0.0) + check.max_points
        for name in run.functions:
            maxima[name] = max(maxima[name], totals.get(name, 0.0))
    return [format_points(maxima[name]) for name in run.functions]


def _student_rows(run: RunResult) -> list[_StudentRow]:
    functions = list(run.functions)
    rows = []
    # Case-blind, so "bob" sits next to "Bob" rather than after every capital.
    for student in sorted(run.students, key=lambda s: (s.student.casefold(), s.student)):
        by_function = student.points_by_function(functions)
        timeouts = tuple(c.name for c in student.checks if c.status == "timeout")
        timeout_text = ""
        if timeouts:
            timeout_text = "⏱ {} timed out: {}".format(
                _plural(len(timeouts), "check", "checks"), ", ".join(timeouts)
            )
        rows.append(
            _StudentRow(
                name=clean_text(student.student),
                href=f"feedback/{feedback_filename(student.student)}",
                score=format_points(student.score),
                score_value=student.score,
                max_score=format_points(student.max_score),
                max_score_value=student.max_score,
                status=_status(_STUDENT_STATUS, student.status),
                status_key=student.status,
                functions=tuple(
                    _FunctionCell(format_points(by_function[f]), by_function[f]) for f in functions
                ),
                error_headline=_error_headline(student.error),
                timeouts=timeouts,
                timeout_text=timeout_text,
                internal=tuple(
                    _Internal(c.name, _error_headline(c.internal), c.internal)
                    for c in student.needs_attention
                ),
                grade_notes=tuple(grade_notes(student, instructor=True)),
                reviews=tuple(needs_review(student)),
            )
        )
    return rows


# Who needs the instructor first: a grader error or a time limit may call for a regrade
# (or a fix on the instructor's side); an import error or an unreadable submission is the
# student's to fix.
def _attention_rank(row: _StudentRow) -> int:
    if row.status_key == "error":
        return 0
    if row.internal:  # a failure that may hide a grader bug
        return 1
    if row.reviews:  # an adjustment made on a grade that has changed since
        return 2
    if row.timeouts:
        return 3
    return {"import_error": 4, "invalid": 5}.get(row.status_key, 6)


def _problems(rows: list[_StudentRow]) -> list[_StudentRow]:
    flagged = [r for r in rows if r.status_key != "graded" or r.timeouts or r.internal or r.reviews]
    return sorted(flagged, key=_attention_rank)  # stable: by name within a rank


def render_summary(run: RunResult, templates_dir: Path, *, similarity: bool = False) -> str:
    """The class summary page: run facts, score statistics, pass rates and all students."""
    scores = [s.score for s in run.students]
    rows = _student_rows(run)
    mean = format_points(statistics.fmean(scores)) if scores else _MISSING
    median = format_points(statistics.median(scores)) if scores else _MISSING
    return _render(
        templates_dir,
        "summary.html",
        run=run,
        page_title=f"{run.title} — class summary",
        max_score=format_points(run.max_score),
        duration=_format_duration(run.duration),
        student_count=len(run.students),
        mean=mean,
        median=median,
        histogram=_histogram(scores, run.max_score),
        pass_rates=_pass_rates(run),
        function_maxima=_function_maxima(run),
        problems=_problems(rows),
        students=rows,
        similarity=similarity,
    )


# ---------------------------------------------------------------- writing


def write_html_reports(run: RunResult, out_dir: Path, templates_dir: Path) -> None:
    """Write ``out_dir/feedback/<name>.html`` for every student and ``out_dir/summary.html``."""
    out_dir = Path(out_dir)
    # Check for clashes before writing anything, so one student's page can never
    # overwrite another's (case-folded, for case-insensitive file systems).
    owners: dict[str, str] = {}
    for student in run.students:
        key = feedback_filename(student.student).casefold()
        if key in owners:
            raise ValueError(
                f"students {owners[key]!r} and {student.student!r} map to the same "
                "feedback file; student names must be unique"
            )
        owners[key] = student.student
    feedback_dir = out_dir / "feedback"
    for student in run.students:
        atomic_write_text(
            feedback_dir / feedback_filename(student.student),
            render_feedback(run, student, templates_dir),
        )
    similarity = (out_dir / "similarity.html").is_file()
    atomic_write_text(
        out_dir / "summary.html", render_summary(run, templates_dir, similarity=similarity)
    )
