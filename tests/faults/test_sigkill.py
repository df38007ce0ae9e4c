"""A run killed with SIGKILL cannot roll back: the state file lets the next run
(`Rollback.recover_stale()`) or `stampede faults clear` undo what it left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.faults import Rollback, StateFile

from .conftest import clean

CHILD = Path(__file__).with_name("schedule_child.py")
EXPERIMENT = """\
load: {users: 1, duration: 2m}
faults:
  - {name: slow, at: 100ms, for: 1m, proxy: redis, type: latency, attributes: {latency: 200}}
  - {name: db-out, at: 100ms, for: 1m, proxy: db, type: down}
"""


@pytest.fixture
def killed_run(client, state_dir, tmp_path):
    """A child process applies two faults and is SIGKILLed while they are active."""
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT)
    proc = subprocess.Popen([sys.executable, str(CHILD), client.api_url, str(path)],
                            stdout=subprocess.DEVNULL, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            proxies = client.proxies()
            if proxies["redis"]["toxics"] and not proxies["db"]["enabled"]:
                break
            assert proc.poll() is None, "the schedule child died on its own"
            time.sleep(0.05)
        else:
            pytest.fail("the child never applied its faults")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert not clean(client)  # the kill really left faults behind
    (entry,) = StateFile(state_dir).runs().values()
    assert entry["pid"] == proc.pid and entry["api_url"] == client.api_url
    assert entry["toxics"] == [["redis", "slow"]] and entry["disabled"] == ["db"]
    return proc


def test_next_run_recovers_what_a_killed_run_left(killed_run, client, state_dir):
    report = Rollback.recover_stale()
    assert report.ok and len(report.undone) == 2, report
    assert clean(client)
    assert not StateFile(state_dir).path.exists()
    assert Rollback.recover_stale().undone == []


def test_faults_clear_cleans_up_after_a_killed_run(killed_run, client, state_dir):
    result = subprocess.run([sys.executable, "-m", "harness", "faults", "clear"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"{client.api_url}: removed toxic slow (latency) from redis" in result.stdout
    assert f"{client.api_url}: enabled proxy db" in result.stdout
    assert clean(client)
    assert not StateFile(state_dir).path.exists()


def test_faults_clear_with_api_removes_every_toxic(client, state_dir):
    """The emergency brake also clears faults no state file knows about."""
    client.add_toxic("redis", "by-hand", "bandwidth", attributes={"rate": 1})
    client.set_enabled("db", False)
    result = subprocess.run(
        [sys.executable, "-m", "harness", "faults", "clear", "--api", client.api_url],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "removed toxic by-hand (bandwidth) from redis" in result.stdout
    assert clean(client)


def test_faults_clear_reports_an_unreachable_api(state_dir):
    result = subprocess.run(
        [sys.executable, "-m", "harness", "faults", "clear", "--api", "http://127.0.0.1:9",
         "--timeout", "1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "http://127.0.0.1:9: could not clear" in result.stderr
