"""The HTML report rendered in headless Chromium: charts drew, verdicts and violations shown."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness.report import write_report

from .scenario import game_day

# set STAMPEDE_SCREENSHOT_DIR to keep the screenshot for a person to look at
SCREENSHOT_DIR = os.environ.get("STAMPEDE_SCREENSHOT_DIR")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,900")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    return write_report(game_day(tmp_path_factory.mktemp("report")))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_report_is_small_and_self_contained(report: Path) -> None:
    html = report.read_text()
    assert report.stat().st_size < 2_000_000, "a 10-minute run's report must attach to CI"
    lowered = html.lower()
    for fetch in ("<script", "<link", "<img", "<iframe", "@import", "url(http", 'href="http',
                  "src="):
        assert fetch not in lowered, f"report must not load anything ({fetch})"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # violations are escaped


def test_report_renders_charts_in_chromium(report: Path, browser, tmp_path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(report.as_uri())
    assert "stampede report: game_day" in browser.title
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    names = [c.get_attribute("data-chart") for c in charts]
    assert names == ["requests", "errors", "latency", "circuit", "hitratio", "db", "memory",
                     "evictions", "timeline"]
    for chart in charts:
        size = chart.size
        assert size["width"] > 300 and size["height"] > 40, (chart.get_attribute("data-chart"), size)
        # the plotted lines are drawn: every data chart has at least one non-empty path
        paths = chart.find_elements(By.CSS_SELECTOR, "path")
        assert any(p.size["width"] > 0 for p in paths)
    rows = browser.find_elements(By.CSS_SELECTOR, "#verdicts tr")
    assert len(rows) == 1 + 9
    assert "FAIL" in browser.find_element(By.ID, "verdicts").text
    violations = browser.find_element(By.ID, "violations").text
    assert "<script>alert(1)</script>" in violations  # escaped text, not markup
    shot = tmp_path / "report.png"
    browser.set_window_size(1280, 2600)
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if SCREENSHOT_DIR:
        shutil.copy(shot, Path(SCREENSHOT_DIR) / "report.png")
