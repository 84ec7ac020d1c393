"""The feedback pages and the class summary, opened in a real browser (headless Chromium).

The example class is graded once; its pages, and the same pages drawn with figures in
the format checks record them, are opened from file:// URLs. Needs the Debian packages
chromium and chromium-driver (`.ci/run` installs them); Selenium drives the system
driver, never one it downloads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from figure_samples import GAP_CHECK, LAYER_CHECK, with_figures

from grader.reports.html import feedback_filename, write_html_reports
from grader.results import RunResult

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "regularization"
TEMPLATES = ROOT / "templates"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs headless Chromium: the Debian packages chromium and chromium-driver",
)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extras)")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

# A correct submission, one with a failure, an unfinished one (tracebacks) and one that
# does not import (the error box).
STUDENTS = ("alice", "carol", "heidi", "ivan")
DESKTOP = (1280, 1000)
PHONE = (375, 800)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("graded")
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "run", str(EXAMPLES), "--out", str(out), "--workers=2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def drawn(graded: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same class's pages, with figures on every gap and layer check."""
    out = tmp_path_factory.mktemp("drawn")
    write_html_reports(with_figures(RunResult.from_dict(graded[1])), out, TEMPLATES)
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(argument)
    # Every request the page makes is in the performance log; CSP refusals in the console.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    # An explicit driver path: Selenium Manager is never asked to download one.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_window_size(*DESKTOP)
    yield driver
    driver.quit()


def visit(browser: WebDriver, page: Path) -> None:
    browser.get_log("performance")  # forget the previous page's requests
    browser.get_log("browser")
    browser.get(page.as_uri())
    # On a loaded machine get() may return while the page is still "interactive".
    WebDriverWait(browser, 30).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete"
    )


def assert_offline(browser: WebDriver) -> None:
    """Nothing was requested but the page itself (and data: URLs), nothing was refused."""
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    assert urls, "the performance log recorded no request at all"
    assert all(url.startswith(("file:", "data:")) for url in urls), urls
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []  # a Content-Security-Policy refusal would be one


def css(scope: WebDriver | WebElement, selector: str) -> list[WebElement]:
    return scope.find_elements(By.CSS_SELECTOR, selector)


def one(scope: WebDriver | WebElement, selector: str) -> WebElement:
    found = css(scope, selector)
    assert len(found) == 1, (selector, len(found))
    return found[0]


def fits_the_window(browser: WebDriver) -> bool:
    return bool(
        browser.execute_script(
            "var e = document.documentElement; return e.scrollWidth <= e.clientWidth;"
        )
    )


def by_student(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["student"]: s for s in results["students"]}


def points(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# ---------------------------------------------------------------- student pages


@pytest.mark.parametrize("name", STUDENTS)
def test_student_page_shows_score_checks_and_folds(
    browser: WebDriver, graded: tuple[Path, dict[str, Any]], name: str
) -> None:
    out, results = graded
    record = by_student(results)[name]
    visit(browser, out / "feedback" / feedback_filename(name))

    score = one(browser, ".score-value")
    assert score.is_displayed()
    assert score.text == f"{points(record['score'])} / {points(record['max_score'])}"
    assert one(browser, "h1").text == name

    visible = [c for c in record["checks"] if c["visibility"] != "hidden"]
    rows = css(browser, "li.check")
    assert len(rows) == len(visible)
    for row, check in zip(rows, visible, strict=True):
        assert row.is_displayed()
        assert one(row, "h3").text == check["name"]
        status = one(row, ".check-head .status")
        assert status.is_displayed() and check["status"] in status.text  # a word, not a colour

    # Tracebacks are folded: closed, their text out of sight until asked for.
    folds = css(browser, "details.traceback")
    tracebacks = [c for c in visible if "Traceback (most recent call last)" in c["message"]]
    if record["error"] and "Traceback (most recent call last)" in record["error"]:
        tracebacks.append(record["error"])
        assert one(browser, "section.alert").is_displayed()
    assert len(folds) == len(tracebacks)
    for fold in folds:
        assert fold.get_attribute("open") is None
        assert not one(fold, "pre").is_displayed()
    if folds:
        one(folds[0], "summary").click()
        assert one(folds[0], "pre").is_displayed()

    # Once the checks record figures, the gap check's curves are drawn on every page.
    gap = next((c for c in visible if c["name"] == GAP_CHECK), None)
    if gap is not None and any(f.get("kind") == "curves" for f in gap.get("figures", [])):
        row = rows[visible.index(gap)]
        charts = css(row, "svg.chart[role=img]")
        assert charts and all(chart.is_displayed() for chart in charts)
    assert_offline(browser)


def test_the_real_run_draws_the_gap_experiment(
    browser: WebDriver, graded: tuple[Path, dict[str, Any]]
) -> None:
    out, results = graded
    with_curves = [
        s["student"]
        for s in results["students"]
        for c in s["checks"]
        if c["name"] == GAP_CHECK and any(f.get("kind") == "curves" for f in c.get("figures", []))
    ]
    if not with_curves:
        pytest.skip("the checks record no figures yet (see test_curves_are_drawn)")
    assert {"alice", "carol"} <= set(with_curves)
    visit(browser, out / "feedback" / "carol.html")
    charts = css(browser, "svg.chart[role=img]")
    assert len(charts) >= 2 and all(c.is_displayed() for c in charts)
    assert_offline(browser)


def check_row(browser: WebDriver, name: str) -> WebElement:
    rows = [row for row in css(browser, "li.check") if one(row, "h3").text == name]
    assert len(rows) == 1, name
    return rows[0]


def test_curves_are_drawn(browser: WebDriver, drawn: Path) -> None:
    visit(browser, drawn / "feedback" / "carol.html")
    figure = one(check_row(browser, GAP_CHECK), "figure.figure-curves")
    assert figure.is_displayed()
    charts = css(figure, "svg.chart[role=img]")
    assert len(charts) == 2
    for chart in charts:
        assert chart.is_displayed()
        assert chart.size["width"] > 250 and chart.size["height"] > 150
        assert len(css(chart, "polyline")) == 4
    # Side by side on a desktop: the two panels share a row.
    assert charts[0].location["y"] == charts[1].location["y"]
    assert charts[0].location["x"] < charts[1].location["x"]
    legend = [item.text for item in css(figure, ".legend li")]
    assert legend == [
        "build_model(None), training",
        "build_model(None), validation",
        "build_model(L2(0.3)), training",
        "build_model(L2(0.3)), validation",
    ]
    table = one(check_row(browser, LAYER_CHECK), "table.figure-table")
    assert table.is_displayed()
    assert "✗ differs" in table.text and "✓ matches" in table.text
    assert_offline(browser)


# ---------------------------------------------------------------- summary


def test_summary_shows_scores_problems_and_facts(
    browser: WebDriver, graded: tuple[Path, dict[str, Any]]
) -> None:
    out, results = graded
    visit(browser, out / "summary.html")
    assert one(browser, "h1").text == results["title"]
    assert one(browser, "svg.histogram[role=img]").is_displayed()

    facts = {
        one(d, "dt").text: one(d, "dd").text for d in css(browser, ".facts > div")
    }  # run facts
    for fact in ("Date", "Grader version", "Isolation", "Duration", "Students", "Workers"):
        assert facts.get(fact), fact
    assert facts["Isolation"] == results["isolation"]
    assert facts["Grader version"] == results["grader_version"]

    students = by_student(results)
    rows = css(browser, "#students tbody tr")
    assert len(rows) == len(students)
    for row in rows:
        assert row.is_displayed()
        name = one(row, "th").text
        assert css(row, "td")[0].text == points(students[name]["score"])

    flagged = [
        s["student"]
        for s in results["students"]
        if s["status"] != "graded" or any(c["status"] == "timeout" for c in s["checks"])
    ]
    listed = [a.text for a in css(browser, ".problems li > a")]
    assert sorted(listed) == sorted(flagged) and "ivan" in listed
    rates = css(browser, "#pass-rates tbody tr")
    assert rates and all(r.is_displayed() for r in rates)
    assert_offline(browser)


def test_summary_links_open_each_students_page(
    browser: WebDriver, graded: tuple[Path, dict[str, Any]]
) -> None:
    out, results = graded
    visit(browser, out / "summary.html")
    hrefs = [a.get_attribute("href") or "" for a in css(browser, "#students tbody th a")]
    assert len(hrefs) == len(results["students"])
    for href in hrefs:
        assert href.startswith("file:") and Path(href.removeprefix("file://")).is_file(), href
    one(browser, "#students tbody th a[href='feedback/carol.html']").click()
    assert browser.current_url.endswith("/feedback/carol.html")
    assert one(browser, "h1").text == "carol"


def _column(browser: WebDriver, index: int) -> list[str]:
    return [
        row.find_elements(By.CSS_SELECTOR, "th, td")[index].get_attribute("data-sort") or ""
        for row in css(browser, "#students tbody tr")
    ]


def _in_order(values: list[str], ascending: bool) -> bool:
    try:
        keys: list[Any] = [float(v) for v in values]
    except ValueError:
        keys = [v.casefold() for v in values]
    return keys == sorted(keys, reverse=not ascending)


def test_summary_table_sorts_by_every_column_with_the_keyboard(
    browser: WebDriver, graded: tuple[Path, dict[str, Any]]
) -> None:
    out, _ = graded
    visit(browser, out / "summary.html")
    headers = css(browser, "#students thead th")
    assert headers[0].get_attribute("aria-sort") == "ascending"
    for index, header in enumerate(headers):
        button = one(header, "button")
        expected = "descending" if header.get_attribute("aria-sort") == "ascending" else "ascending"
        button.send_keys(Keys.ENTER)
        assert header.get_attribute("aria-sort") == expected
        assert _in_order(_column(browser, index), expected == "ascending"), header.text
        assert [h.get_attribute("aria-sort") for h in headers].count(None) == len(headers) - 1
        button.send_keys(Keys.SPACE)
        again = "ascending" if expected == "descending" else "descending"
        assert header.get_attribute("aria-sort") == again
        assert _in_order(_column(browser, index), again == "ascending"), header.text


# ---------------------------------------------------------------- phones


def test_pages_fit_a_phone(
    browser: WebDriver, graded: tuple[Path, dict[str, Any]], drawn: Path
) -> None:
    out, _ = graded
    pages = [out / "summary.html", drawn / "feedback" / "carol.html"]
    pages += [out / "feedback" / f"{name}.html" for name in ("heidi", "ivan")]
    browser.set_window_size(*PHONE)
    try:
        assert browser.execute_script("return window.innerWidth") == PHONE[0]
        for page in pages:
            visit(browser, page)
            assert fits_the_window(browser), page.name
            for wrap in css(browser, ".table-wrap"):  # wide tables scroll inside their box
                assert wrap.size["width"] <= PHONE[0]
        # The curve panels stack on a phone, each as wide as the screen allows.
        visit(browser, drawn / "feedback" / "carol.html")
        charts = css(browser, "svg.chart")
        assert charts[1].location["y"] > charts[0].location["y"] + charts[0].size["height"]
        assert all(250 < c.size["width"] <= PHONE[0] for c in charts)
        for details in css(browser, "details"):  # opened, a traceback still fits
            one(details, "summary").click()
        assert fits_the_window(browser)
    finally:
        browser.set_window_size(*DESKTOP)
