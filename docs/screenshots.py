"""Screenshots of a feedback page and the class summary for the README.

Grades an example class, opens the pages in headless Chromium (the Debian packages
chromium and chromium-driver) and writes docs/feedback.png and docs/summary.png:

    .venv/bin/python docs/screenshots.py [--examples examples/dropout] [--student carol]
                                         [--graded DIR]

The dropout class by default: its carol fails the gap check, so her page shows a
failure explained by the loss curves. `--graded DIR` reuses an earlier `grader run`.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from grader.reports.html import feedback_filename

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 1000
# The feedback page is cut after the section whose failed check draws curves: the rest
# repeats what the screenshot already shows.
CUT_AFTER_CURVES = """
const chart = [...document.querySelectorAll("li.check-failed svg.chart")][0]
  || document.querySelector("svg.chart");
const section = chart ? chart.closest("section") : null;
const end = section ? section.getBoundingClientRect().bottom + window.scrollY + 16 : 0;
return Math.ceil(end || document.documentElement.scrollHeight);
"""


def grade(examples: Path, out: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "grader", "run", str(examples), "--out", str(out)],
        cwd=ROOT,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"},
    )


def browser() -> WebDriver:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        sys.exit("needs the Debian packages chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(argument)
    # An explicit driver: Selenium Manager never downloads one.
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def capture(driver: WebDriver, page: Path, target: Path, height_script: str) -> None:
    driver.set_window_size(WIDTH, 900)
    driver.get(page.as_uri())
    height = int(driver.execute_script(height_script))
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1},
        },
    )
    target.write_bytes(base64.b64decode(shot["data"]))
    print(
        f"wrote {target.relative_to(ROOT)} ({WIDTH}x{height}, {target.stat().st_size // 1024} KB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=Path, default=ROOT / "examples" / "dropout")
    parser.add_argument("--student", default="carol")
    parser.add_argument("--graded", type=Path, help="the --out folder of an earlier run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = args.graded or Path(scratch)
        if args.graded is None:
            grade(args.examples, out)
        driver = browser()
        try:
            page = out / "feedback" / feedback_filename(args.student)
            capture(driver, page, ROOT / "docs" / "feedback.png", CUT_AFTER_CURVES)
            capture(
                driver,
                out / "summary.html",
                ROOT / "docs" / "summary.png",
                "return document.documentElement.scrollHeight;",
            )
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
