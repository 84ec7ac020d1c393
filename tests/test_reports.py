"""Tests for the report writers (HTML, CSV, JSON) and the results schema."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

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
    assert page.count("kerass") == 1  # the error is shown once
    box = re.search(r'<section class="alert"[^>]*>(.*?)</section>', page, re.DOTALL)
    assert box and "<pre" in box.group(1) and "NameError" in box.group(1)
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
    assert "The grader could not run this check; it does not count against you." in page
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
