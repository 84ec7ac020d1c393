"""Tests for the report writers (HTML, CSV, JSON) and the results schema."""

from __future__ import annotations

import csv
import html
import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from figure_samples import curves_figure, table_figure

from grader.reports.csv_report import write_grades_csv
from grader.reports.html import (
    feedback_filename,
    format_points,
    render_feedback,
    render_summary,
    write_html_reports,
)
from grader.reports.json_report import write_results_json, write_student_json
from grader.results import CheckResult, RunResult, StudentResult

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
SCHEMA = ROOT / "grader" / "schemas" / "results.schema.json"

FUNCTIONS = ("l2_dense", "build_model")
XSS = "<script>alert('pwned')</script>"
HIDDEN_NAME = "secret_edge_case_check"
HIDDEN_MESSAGE = "hidden-only diagnostic text"


def _check(
    name: str,
    function: str,
    status: str,
    points: float,
    max_points: float,
    message: str = "",
    visibility: str = "visible",
) -> CheckResult:
    return CheckResult(
        name=name,
        function=function,
        description=f"Checks {name.replace('_', ' ')}.",
        points=points,
        max_points=max_points,
        status=status,  # type: ignore[arg-type]
        message=message,
        visibility=visibility,
    )


def _make_run() -> RunResult:
    alice = StudentResult(
        student="alice",
        score=6.0,
        max_score=6.0,
        status="graded",
        checks=(
            _check("returns_dense", "l2_dense", "passed", 1.0, 1.0),
            _check("uses_l2", "l2_dense", "passed", 2.0, 2.0),
            _check("compiles", "build_model", "passed", 1.5, 1.5),
            _check("trains", "build_model", "passed", 1.5, 1.5),
            _check(HIDDEN_NAME, "build_model", "passed", 0.0, 0.0, visibility="hidden"),
        ),
    )
    bob = StudentResult(
        student="Bob O'Brien",
        score=2.5,
        max_score=6.0,
        status="graded",
        checks=(
            _check("returns_dense", "l2_dense", "passed", 1.0, 1.0),
            _check(
                "uses_l2",
                "l2_dense",
                "failed",
                0.0,
                2.0,
                message=f"Expected an L2 regularizer.\nGot: {XSS}",
            ),
            _check("compiles", "build_model", "passed", 1.5, 1.5),
            _check("trains", "build_model", "timeout", 0.0, 1.5, message="Took longer than 30 s."),
            _check(
                HIDDEN_NAME,
                "build_model",
                "failed",
                0.0,
                0.0,
                message=HIDDEN_MESSAGE,
                visibility="hidden",
            ),
        ),
        output="epoch 1/2\nloss: 0.52\n",
        duration=3.2,
    )
    dave = StudentResult(
        student="dave",
        score=0.0,
        max_score=6.0,
        status="import_error",
        checks=(
            _check(
                "returns_dense", "l2_dense", "failed", 0.0, 1.0, "Module could not be imported."
            ),
            _check("uses_l2", "l2_dense", "failed", 0.0, 2.0, "Module could not be imported."),
            _check("compiles", "build_model", "failed", 0.0, 1.5, "Module could not be imported."),
            _check("trains", "build_model", "failed", 0.0, 1.5, "Module could not be imported."),
            _check(HIDDEN_NAME, "build_model", "failed", 0.0, 0.0, visibility="hidden"),
        ),
        error=(
            "Traceback (most recent call last):\n"
            '  File "sub.py", line 3\n'
            'NameError: name "kerass" is not defined'
        ),
    )
    return RunResult(
        assignment="regularization",
        title="Regularization in Keras",
        max_score=6.0,
        functions=FUNCTIONS,
        students=(bob, dave, alice),  # deliberately unsorted
        grader_version="0.1.0",
        generated_at="2024-05-01T12:00:00+00:00",
        duration=75.0,
        workers=2,
    )


@pytest.fixture
def run() -> RunResult:
    return _make_run()


def _student(run: RunResult, name: str) -> StudentResult:
    return next(s for s in run.students if s.student == name)


class _TableReader(HTMLParser):
    """Collects the text of each row of the table with a given id."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.inside = False
        self.in_body = False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tbody":
            self.in_body = True
        elif self.in_body and tag == "tr":
            self.rows.append([])
        elif self.in_body and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if self.in_body and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tbody":
            self.in_body = False
        elif tag == "table":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _NestingChecker(HTMLParser):
    """Fails on any end tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1]}>"
        self.stack.pop()


def _text(page: str) -> str:
    """The page as a reader sees it: tags dropped, whitespace collapsed, entities kept."""
    return " ".join(re.sub(r"<[^>]+>", "", page).split())


def _details(page: str) -> list[tuple[str, str]]:
    """Each folded block's summary text and body; all must be closed."""
    assert "<details open" not in page
    found = re.findall(r"<details[^>]*>\s*<summary>(.*?)</summary>(.*?)</details>", page, re.DOTALL)
    return [(_text(summary), body) for summary, body in found]


def _assert_well_formed(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    checker = _NestingChecker()
    checker.feed(page)
    checker.close()
    assert checker.stack == []


def _assert_self_contained(page: str) -> None:
    assert not re.search(
        r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE
    )
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", page, re.IGNORECASE)
    assert "http://" not in page and "https://" not in page  # the fixture has no URLs


# ---------------------------------------------------------------- feedback page


def test_feedback_shows_score_status_and_visible_checks(run: RunResult) -> None:
    bob = _student(run, "Bob O'Brien")
    page = render_feedback(run, bob, TEMPLATES)

    assert "2.5 / 6" in page
    assert "Bob O&#39;Brien" in page  # autoescaped, still present
    assert "✓ graded" in _text(page)
    for check in bob.checks:
        if check.visibility != "hidden":
            assert check.name in page
    assert "Expected an L2 regularizer." in page
    assert "Took longer than 30 s." in page
    assert "✗ failed" in _text(page)
    assert "⏱ timeout" in _text(page)
    assert "0 / 2 points" in page
    # Sections follow run.functions.
    assert page.index("<code>l2_dense</code>") < page.index("<code>build_model</code>")


def test_feedback_hides_hidden_checks(run: RunResult) -> None:
    page = render_feedback(run, _student(run, "Bob O'Brien"), TEMPLATES)
    assert HIDDEN_NAME not in page
    assert HIDDEN_MESSAGE not in page
    assert "1 hidden check is not shown" in page


def test_feedback_escapes_messages(run: RunResult) -> None:
    page = render_feedback(run, _student(run, "Bob O'Brien"), TEMPLATES)
    assert "<script" not in page  # the feedback page has no script at all
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in page
    # Multi-line messages are kept as preformatted text.
    assert re.search(r'<pre class="message">Expected an L2 regularizer.\nGot: ', page)


def test_feedback_output_is_folded(run: RunResult) -> None:
    page = render_feedback(run, _student(run, "Bob O'Brien"), TEMPLATES)
    match = re.search(r"<details[^>]*>(.*?)</details>", page, re.DOTALL)
    assert match and "epoch 1/2" in match.group(1)
    assert "<details open" not in page
    assert "<details" not in render_feedback(run, _student(run, "alice"), TEMPLATES)


def test_feedback_import_error_box(run: RunResult) -> None:
    page = render_feedback(run, _student(run, "dave"), TEMPLATES)
    assert "0 / 6" in page
    assert "✗ import error" in _text(page)
    box = re.search(r'<section class="alert"[^>]*>(.*?)</section>', page, re.DOTALL)
    assert box and page.count("kerass") == box.group(1).count("kerass")  # only in the box
    # A bare traceback: its last line is the message, the whole of it is folded away.
    assert re.search(r'<pre class="message">NameError: name &#34;kerass&#34;', box.group(1))
    folded = _details(box.group(1))
    assert len(folded) == 1 and folded[0][0] == "Show the traceback"
    assert "File &#34;sub.py&#34;, line 3" in folded[0][1]
    assert page.index('class="alert"') < page.index("<code>l2_dense</code>")


def test_feedback_grader_error_note(run: RunResult) -> None:
    student = StudentResult(
        student="erin",
        score=1.0,
        max_score=1.0,
        status="error",
        checks=(
            _check("returns_dense", "l2_dense", "passed", 1.0, 1.0),
            _check("uses_l2", "l2_dense", "error", 0.0, 2.0, "worker crashed"),
        ),
        error="worker crashed on uses_l2",
    )
    page = render_feedback(run, student, TEMPLATES)
    assert "⚠ error" in _text(page)
    assert "The grader could not run this check (a fault of the grader" in page
    assert page.count("worker crashed on uses_l2") == 1
    # The errored check is left out of the subtotal: 1 of 1, not 1 of 3.
    assert re.search(r'class="subtotal">1 / 1 ', page)


def test_full_marks_page(run: RunResult) -> None:
    page = render_feedback(run, _student(run, "alice"), TEMPLATES)
    assert "6 / 6" in page
    assert "(100%)" in page
    assert 'class="alert"' not in page
    assert "1.5 / 1.5 points" in page


def test_invalid_submission_and_empty_run() -> None:
    invalid = StudentResult(
        student="frank", score=0.0, max_score=6.0, status="invalid", error="no file found"
    )
    run = RunResult(
        assignment="a",
        title="Empty",
        max_score=0.0,
        functions=FUNCTIONS,
        students=(),
        grader_version="0.1.0",
    )
    page = render_feedback(run, invalid, TEMPLATES)
    _assert_well_formed(page)
    assert "✗ invalid submission" in _text(page)
    assert "no file found" in page
    assert "No checks ran for this function." in page
    summary = render_summary(run, TEMPLATES)
    _assert_well_formed(summary)
    assert "Mean <strong>—</strong>" in summary
    assert "No checks were run." in summary


def test_pages_are_self_contained_and_well_formed(run: RunResult) -> None:
    pages = [render_feedback(run, s, TEMPLATES) for s in run.students]
    pages.append(render_summary(run, TEMPLATES))
    for page in pages:
        _assert_well_formed(page)
        _assert_self_contained(page)
        assert '<html lang="en">' in page
        assert 'name="viewport"' in page
        assert "<main" in page and "<header" in page and "<footer" in page
        assert "0.1.0" in page
        assert '<time datetime="2024-05-01T12:00:00+00:00">2024-05-01 12:00 UTC</time>' in page


# ---------------------------------------------------------------- tracebacks and figures

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "regularization.py", line 117, in build_model\n'
    "    raise NotImplementedError\n"
    "NotImplementedError"
)


def _single(check: CheckResult, **changes: object) -> tuple[RunResult, StudentResult]:
    student = StudentResult(
        student="zoe", score=0.0, max_score=check.max_points, status="graded", checks=(check,)
    )
    run = RunResult(
        assignment="regularization",
        title="Regularization in Keras",
        max_score=check.max_points,
        functions=FUNCTIONS,
        students=(student,),
        grader_version="0.1.0",
    )
    return run, student


def _with_figures(*figures: object, status: str = "passed", visibility: str = "visible") -> str:
    check = CheckResult(
        name="test_regularization_shrinks_gap",
        function="build_model",
        description="L2 shrinks the gap.",
        points=3.0 if status == "passed" else 0.0,
        max_points=3.0,
        status=status,  # type: ignore[arg-type]
        visibility=visibility,
        figures=tuple(figures),  # type: ignore[arg-type]
    )
    run, student = _single(check)
    return render_feedback(run, student, TEMPLATES)


def test_traceback_is_folded_below_the_message() -> None:
    message = "build_model() is not implemented yet: it raises NotImplementedError."
    run, student = _single(
        _check("test_build", "build_model", "failed", 0.0, 2.0, f"{message}\n\n{TRACEBACK}")
    )
    page = render_feedback(run, student, TEMPLATES)
    _assert_well_formed(page)
    assert f'<pre class="message">{message}</pre>' in page  # the message alone
    [(summary, body)] = _details(page)
    assert summary == "Show the traceback"
    assert "line 117, in build_model" in body and "raise NotImplementedError" in body
    assert page.count("line 117") == 1


def test_message_without_traceback_is_not_folded(run: RunResult) -> None:
    page = render_feedback(run, _student(run, "Bob O'Brien"), TEMPLATES)
    assert "Show the traceback" not in page


def test_import_error_with_message_and_traceback() -> None:
    error = "regularization.py could not be imported: SyntaxError: expected ':'"
    syntax = 'Traceback (most recent call last):\n  File "regularization.py", line 34\n    if reg'
    student = StudentResult(
        student="ivan",
        score=0.0,
        max_score=1.0,
        status="import_error",
        checks=(_check("returns_dense", "l2_dense", "failed", 0.0, 1.0, "not imported"),),
        error=f"{error}\n\n{syntax}",
    )
    run, _ = _single(student.checks[0])
    page = render_feedback(run, student, TEMPLATES)
    box = re.search(r'<section class="alert"[^>]*>(.*?)</section>', page, re.DOTALL)
    assert box and '<pre class="message">regularization.py could not be imported' in box.group(1)
    [(summary, body)] = _details(box.group(1))
    assert summary == "Show the traceback" and "line 34" in body


def test_curves_are_inline_svg_with_shared_axes_and_words() -> None:
    page = _with_figures(curves_figure(student_l2_val=0.9))
    _assert_well_formed(page)
    _assert_self_contained(page)
    charts = re.findall(r'<svg class="chart" role="img"(.*?)</svg>', page, re.DOTALL)
    assert len(charts) == 2  # one per panel
    for chart in charts:
        ids = re.search(r'aria-labelledby="(\S+) (\S+)"', chart)
        assert ids and f'<title id="{ids.group(1)}">' in chart and f'<desc id="{ids.group(2)}">'
        assert len(re.findall(r"<polyline", chart)) == 4
        # Validation dashed, training solid: two of each.
        assert len(re.findall(r"<polyline[^>]*stroke-dasharray", chart)) == 2
    # Both panels on one scale, even though the student's curve goes higher.
    ticks = [re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', chart) for chart in charts]
    assert ticks[0] == ticks[1] and "1.00" in ticks[0]
    # The final values in words.
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", charts[0], re.DOTALL)
    assert desc and "build_model(L2(0.3)), validation ends at 0.901 (epoch 300)" in desc.group(1)
    assert "data MSE (without the penalty) against epoch" in desc.group(1)
    # One legend for both panels (they draw the same lines), naming each line.
    legends = re.findall(r'<ul class="legend">(.*?)</ul>', page, re.DOTALL)
    assert len(legends) == 1
    labels = [_text(item) for item in re.findall(r"<li>(.*?)</li>", legends[0], re.DOTALL)]
    assert labels == [s["label"] for s in curves_figure()["panels"][0]["series"]]
    assert "Your gaps (validation minus training MSE)" in page
    assert "Loss curves in the grader&#39;s experiment" in page


def test_panels_with_different_lines_get_a_legend_each() -> None:
    figure = curves_figure()
    figure["panels"][1]["series"] = figure["panels"][1]["series"][:2]
    page = _with_figures(figure)
    assert len(re.findall(r'<ul class="legend">', page)) == 2


def test_layer_table_has_caption_headers_and_worded_verdicts() -> None:
    page = _with_figures(table_figure())
    _assert_well_formed(page)
    table = re.search(r'<table class="figure-table">(.*?)</table>', page, re.DOTALL)
    assert table
    body = table.group(1)
    assert re.search(r"<caption[^>]*>What each layer carries</caption>", body)
    assert re.findall(r'<th scope="col">([^<]*)</th>', body) == [
        "Layer",
        "Verdict",
        "Your layer carries",
        "Asked for",
    ]
    rows = re.findall(r"<tr[^>]*>\s*<th scope=\"row\">(.*?)</tr>", body, re.DOTALL)
    assert [_text(r).split(" ")[:3] for r in rows] == [
        ["Dense(64,", "relu)", "✗"],
        ["Dense(1)", "✓", "matches"],
        ["Input", "–", "not"],
    ]
    assert "✗ differs" in _text(body) and "– not judged" in _text(body)
    assert "Factors are compared as numbers" in page


def test_tables_are_folded_on_passed_checks_only() -> None:
    [(summary, body)] = _details(_with_figures(table_figure()))
    assert summary == "Show the table: What each layer carries" and "figure-table" in body
    failed = _with_figures(table_figure(), status="failed")
    assert "<details" not in failed and "figure-table" in failed
    assert "<details" not in _with_figures(curves_figure())  # curves are always in view


def test_table_without_verdicts_has_no_verdict_column() -> None:
    figure = table_figure()
    for row in figure["rows"]:
        row["ok"] = None
    page = _with_figures(figure)
    assert "Verdict" not in page and "not judged" not in page


def test_figure_text_is_escaped() -> None:
    figure = curves_figure()
    figure["title"] = XSS
    figure["panels"][0]["series"][0]["label"] = XSS
    table = table_figure()
    table["rows"][0]["cells"][1] = XSS
    page = _with_figures(figure, table)
    assert "<script" not in page
    assert page.count("&lt;script&gt;") >= 4  # caption, svg titles, legend, table cell


def _malformed() -> list[object]:
    def curves(change) -> dict:  # type: ignore[no-untyped-def]
        figure = curves_figure()
        change(figure)
        return figure

    def table(change) -> dict:  # type: ignore[no-untyped-def]
        figure = table_figure()
        change(figure)
        return figure

    series = lambda f: f["panels"][0]["series"][0]  # noqa: E731
    return [
        "not a figure",
        None,
        {"kind": "pie"},
        {"kind": "curves"},
        curves(lambda f: f.pop("panels")),
        curves(lambda f: f.update(panels=[])),
        curves(lambda f: f.update(panels=f["panels"] * 3)),  # 6 panels
        curves(lambda f: f.update(title=3)),
        curves(lambda f: series(f).update(y=series(f)["y"][:-1])),  # lengths differ
        curves(lambda f: series(f).update(y=[float("nan")] * len(series(f)["x"]))),
        curves(lambda f: series(f)["y"].__setitem__(3, float("inf"))),
        curves(lambda f: series(f)["y"].__setitem__(3, "0.5")),
        curves(lambda f: series(f)["y"].__setitem__(3, True)),
        curves(lambda f: series(f).update(x=list(range(201)), y=[0.5] * 201)),
        curves(lambda f: series(f).update(x=[], y=[])),
        curves(lambda f: series(f).update(role="test")),
        curves(lambda f: series(f).pop("label")),
        curves(lambda f: series(f).update(x=[-1e308, 1e308], y=[0, 1])),
        curves(lambda f: f.update(notes="not a list")),
        table(lambda f: f.pop("columns")),
        table(lambda f: f.update(columns=[])),
        table(lambda f: f["rows"][0]["cells"].pop()),
        table(lambda f: f["rows"][0].update(ok="yes")),
        table(lambda f: f["rows"][0].update(ok=1)),
        table(lambda f: f["rows"][0]["cells"].__setitem__(1, "x" * 201)),
        table(lambda f: f["rows"][0]["cells"].__setitem__(1, None)),
        table(lambda f: f.update(rows=f["rows"] * 14)),  # 42 rows
    ]


@pytest.mark.parametrize("figure", _malformed())
def test_malformed_figure_is_skipped_not_fatal(figure: object) -> None:
    page = _with_figures(figure, curves_figure(), table_figure())
    _assert_well_formed(page)
    # The well-formed figures beside it are still drawn; the malformed one is not.
    assert len(re.findall(r'<svg class="chart"', page)) == 2
    assert len(re.findall(r'<table class="figure-table"', page)) == 1


def test_odd_but_valid_figures_are_drawn() -> None:
    flat = curves_figure()
    for panel in flat["panels"]:
        for series in panel["series"]:
            series["y"] = [0.5] * len(series["x"])  # no range at all
    single = curves_figure()
    single["panels"] = [{"title": "One point", "series": [single["panels"][0]["series"][0]]}]
    single["panels"][0]["series"][0].update(x=[7], y=[-2.5])
    empty = table_figure()
    empty["rows"] = []
    page = _with_figures(flat, single, empty)
    _assert_well_formed(page)
    assert len(re.findall(r'<svg class="chart"', page)) == 3
    assert "Nothing to show." in page


def test_hidden_checks_figures_never_appear() -> None:
    figure = curves_figure()
    figure["title"] = HIDDEN_MESSAGE
    page = _with_figures(figure, visibility="hidden")
    assert HIDDEN_MESSAGE not in page and "<svg" not in page


def test_figures_survive_results_json(tmp_path: Path, run: RunResult) -> None:
    bob = _student(run, "Bob O'Brien")
    checks = tuple(
        replace(c, figures=(curves_figure(), table_figure())) if c.name == "trains" else c
        for c in bob.checks
    )
    run = replace(run, students=(replace(bob, checks=checks),))
    path = tmp_path / "results.json"
    write_results_json(run, path)
    again = RunResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    page = render_feedback(again, again.students[0], TEMPLATES)
    assert len(re.findall(r'<svg class="chart"', page)) == 2
    assert "figure-table" in page


# ---------------------------------------------------------------- summary page


def test_summary_links_and_facts(run: RunResult) -> None:
    page = render_summary(run, TEMPLATES)
    for student in run.students:
        assert f'href="feedback/{feedback_filename(student.student)}"' in page
    assert "Regularization in Keras" in page
    assert "1 min 15 s" in page
    assert "process" in page
    assert "<svg" in page and "<title" in page and 'role="img"' in page
    assert XSS not in page and HIDDEN_MESSAGE not in page


def test_summary_statistics_and_histogram(run: RunResult) -> None:
    page = render_summary(run, TEMPLATES)
    # Scores 0, 2.5, 6 of 6: mean 2.83, median 2.5.
    assert "Mean <strong>2.83</strong> / 6" in page
    assert "Median <strong>2.5</strong> / 6" in page
    # 0 -> first bin, 2.5 -> 2.4..3 bin, 6 (the maximum) -> last bin.
    counts = re.findall(r'<text class="count"[^>]*>(\d+)</text>', page)
    assert [int(c) for c in counts] == [1, 0, 0, 0, 1, 0, 0, 0, 0, 1]


def test_summary_pass_rates_most_failed_first(run: RunResult) -> None:
    reader = _TableReader("pass-rates")
    reader.feed(render_summary(run, TEMPLATES))
    rates = [(row[0], row[2], row[3]) for row in reader.rows]
    names = [name.removesuffix(" hidden") for name, _, _ in rates]
    # Ties keep run.functions order, then check order.
    assert names == ["uses_l2", "trains", HIDDEN_NAME, "returns_dense", "compiles"]
    assert rates[0][1:] == ("33.3%", "1 / 3")
    assert rates[-1][1:] == ("66.7%", "2 / 3")
    percents = [float(rate.rstrip("%")) for _, rate, _ in rates]
    assert percents == sorted(percents)


def test_summary_lists_problem_students_first(run: RunResult) -> None:
    page = render_summary(run, TEMPLATES)
    attention = page.index("Needs attention")
    everyone = page.index("All students")
    problems = page[attention:everyone]
    assert "dave" in problems and "alice" not in problems
    # A traceback's informative line is its last one.
    assert "NameError: name &#34;kerass&#34; is not defined" in problems
    reader = _TableReader("students")
    reader.feed(page)
    assert [row[0] for row in reader.rows] == ["alice", "Bob O'Brien", "dave"]
    assert reader.rows[1][1:] == ["2.5", "6", "✓ graded", "1", "1.5"]


def test_summary_lists_errors_and_timeouts_before_import_errors(run: RunResult) -> None:
    erin = StudentResult(
        student="erin",
        score=1.0,
        max_score=1.0,
        status="error",
        checks=(_check("uses_l2", "l2_dense", "error", 0.0, 2.0, "worker crashed"),),
        error="worker crashed on uses_l2",
    )
    frank = StudentResult(
        student="frank", score=0.0, max_score=6.0, status="invalid", error="no file found"
    )
    page = render_summary(replace(run, students=(*run.students, erin, frank)), TEMPLATES)
    problems = re.search(r'<ul class="problems">(.*?)</ul>', page, re.DOTALL)
    assert problems
    items = [
        html.unescape(_text(li))
        for li in re.findall(r"<li>(.*?)</li>", problems.group(1), re.DOTALL)
    ]
    # Grader error, then a check out of time (a graded student), then the students' own.
    assert [item.split(" — ")[0] for item in items] == ["erin", "Bob O'Brien", "dave", "frank"]
    assert "⏱ 1 check timed out: trains" in items[1]
    assert "✓ graded" in items[1]
    # Needs attention comes before the scores: it is what to act on.
    assert page.index("Needs attention") < page.index("Pass rate per check")


def test_summary_table_is_sortable_and_captioned(run: RunResult) -> None:
    page = render_summary(run, TEMPLATES)
    table = re.search(r'<table id="students"[^>]*>(.*?)</table>', page, re.DOTALL)
    assert table and "<caption" in table.group(1)
    headers = re.findall(r"<th scope=\"col\"", table.group(1))
    assert len(headers) == 4 + len(FUNCTIONS)
    assert 'aria-sort="ascending"' in table.group(1)
    assert "<script>" in page  # buttons are added to each header by the inline script


def test_write_html_reports(tmp_path: Path, run: RunResult) -> None:
    write_html_reports(run, tmp_path, TEMPLATES)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    expected = ["feedback", "summary.html"] + [
        f"feedback/{feedback_filename(s.student)}" for s in run.students
    ]
    assert written == sorted(expected)  # and no temporary files left behind
    alice = (tmp_path / "feedback" / "alice.html").read_text(encoding="utf-8")
    assert "6 / 6" in alice


def test_write_html_reports_rejects_duplicate_students(tmp_path: Path, run: RunResult) -> None:
    twice = RunResult(
        assignment=run.assignment,
        title=run.title,
        max_score=run.max_score,
        functions=run.functions,
        students=(run.students[0], run.students[0]),
        grader_version=run.grader_version,
    )
    with pytest.raises(ValueError, match="same feedback file"):
        write_html_reports(twice, tmp_path, TEMPLATES)
    assert not (tmp_path / "feedback").exists()


# ---------------------------------------------------------------- file names and numbers


def test_feedback_filename_is_safe_and_distinct() -> None:
    names = ["a/b", "a_b", "a b", "A_b", "a_B", "a\\b", "../a_b", "", ".", "..", "con", "é", "e"]
    files = [feedback_filename(name) for name in names]
    for file in files:
        assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*\.html", file), file
    assert len({f.casefold() for f in files}) == len(names)
    assert feedback_filename("a_b") == "a_b.html"
    assert feedback_filename("alice.smith-2") == "alice.smith-2.html"
    assert feedback_filename("a/b") == feedback_filename("a/b")  # stable
    assert feedback_filename("a/b").startswith("a_b-")


@pytest.mark.parametrize(
    ("value", "text"),
    [(2.0, "2"), (1.5, "1.5"), (0.0, "0"), (-0.0, "0"), (1 / 3, "0.33"), (0.1 + 0.2, "0.3")],
)
def test_format_points(value: float, text: str) -> None:
    assert format_points(value) == text


# ---------------------------------------------------------------- CSV and JSON


def test_grades_csv(tmp_path: Path, run: RunResult) -> None:
    path = tmp_path / "grades.csv"
    write_grades_csv(run, path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == ["student", "score", "max_score", *FUNCTIONS, "status"]
    assert [row["student"] for row in rows] == ["alice", "Bob O'Brien", "dave"]
    assert rows[1] == {
        "student": "Bob O'Brien",
        "score": "2.5",
        "max_score": "6",
        "status": "graded",
        "l2_dense": "1",
        "build_model": "1.5",
    }
    assert rows[2]["status"] == "import_error"
    assert rows[2]["l2_dense"] == "0"


def test_results_json_matches_schema(tmp_path: Path, run: RunResult) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)

    path = tmp_path / "results.json"
    write_results_json(run, path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert "O'Brien" in text
    data = json.loads(text)
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    assert RunResult.from_dict(data) == run

    bad = json.loads(text)
    bad["students"][0]["checks"][0]["status"] = "skipped"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema, cls=jsonschema.Draft202012Validator)
    bad = json.loads(text)
    bad["students"][0]["score"] = -1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema, cls=jsonschema.Draft202012Validator)


def test_student_json(tmp_path: Path, run: RunResult) -> None:
    bob = _student(run, "Bob O'Brien")
    path = tmp_path / "students" / "bob.json"
    write_student_json(bob, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert StudentResult.from_dict(data) == bob
    assert list(path.parent.iterdir()) == [path]
