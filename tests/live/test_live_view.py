"""The live game-day view in a real browser: headless Chromium opens `stampede run --ui`,
sees the active fault in the Game day tab, clicks Halt; the toxic is gone and the run halted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from harness.ports import free_port

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
LOCUSTFILE = Path(__file__).resolve().parents[1] / "runner" / "products_locustfile.py"
# set STAMPEDE_SCREENSHOT_DIR to keep the screenshot for a person to look at
SCREENSHOT_DIR = os.environ.get("STAMPEDE_SCREENSHOT_DIR")
SCREENSHOT = str(Path(SCREENSHOT_DIR) / "live.png") if SCREENSHOT_DIR else None
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser() -> Iterator[object]:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    profile = tempfile.mkdtemp(prefix="stampede-chromium-")
    options = webdriver.ChromeOptions()
    for flag in (*FLAGS, f"--user-data-dir={profile}", "--window-size=1400,900"):
        options.add_argument(flag)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def redis_toxics(api: str) -> list[dict]:
    return requests.get(f"{api}/proxies/redis/toxics", timeout=5).json()


def test_halt_from_the_game_day_tab(stampede_up: dict[str, str], browser, tmp_path: Path) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    api = stampede_up["toxiproxy_api"]
    experiment = tmp_path / "live.yaml"
    experiment.write_text(f"""
name: live_view
target:
  kind: external
  base_url: {stampede_up['target']}
  toxiproxy_url: {api}
proxies:
  redis: {{expect: true}}
load:
  locustfile: {LOCUSTFILE}
  users: 4
  spawn_rate: 4
  duration: 60s
steady_state: {{from: 0s, to: 2s}}
faults:
  - {{name: redis-latency, at: 2s, for: 50s, proxy: redis, type: latency, attributes: {{latency: 300}}}}
invariants:
  - {{name: bounded_error_rate, window: steady, max: 0.05}}
""")
    port, out = free_port(), tmp_path / "out"
    env = dict(os.environ, STAMPEDE_STATE_DIR=str(tmp_path / "state"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(experiment), "--out", str(out),
         "--ui", "--ui-port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, process_group=0)
    children: set[int] = set()
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()
            children |= {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
            try:  # the UI answers, and the load started (the page then shows the tabs)
                if list(out.glob("*/.load_start.json")) and requests.get(url, timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the live view never answered"
            time.sleep(0.2)

        browser.get(url)
        def open_tab(driver) -> bool:
            for tab in driver.find_elements(By.CSS_SELECTOR, "[role=tab]"):
                if tab.text.strip().lower() == "game day":
                    tab.click()
                    return "tab=gameday" in driver.current_url
            return False

        wait = WebDriverWait(browser, 30, ignored_exceptions=[StaleElementReferenceException])
        wait.until(open_tab)
        active = '#stampede-faults tr[data-fault="redis-latency"][data-state="active"]'
        wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, active)))
        assert [t["type"] for t in redis_toxics(api)] == ["latency"]  # the fault is really on
        wait.until(lambda d: "pass" in d.find_element(By.ID, "stampede-verdicts").text)
        assert browser.save_screenshot(SCREENSHOT or str(tmp_path / "live.png"))

        browser.find_element(By.ID, "stampede-halt").click()
        code = proc.wait(timeout=60)
        output = proc.stdout.read().decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 2, output
    assert redis_toxics(api) == []  # rolled back, seen through the fault proxy's API
    assert requests.get(f"{api}/proxies/redis", timeout=5).json()["enabled"] is True
    (folder,) = out.iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "aborted" and summary["halt_reason"] == "halted from the live view"
    assert summary["duration"] < 40, summary  # halted well before the planned 60 s
    timeline = [json.loads(line) for line in (folder / "timeline.jsonl").read_text().splitlines()]
    assert [e["reason"] for e in timeline if e["kind"] == "halt"] == ["halted from the live view"]
    ends = [e for e in timeline if e["kind"] == "fault_end"]
    assert len(ends) == 1 and ends[0]["interrupted"] is True and "error" not in ends[0]
    alive = [pid for pid in children if psutil.pid_exists(pid)
             and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == []
