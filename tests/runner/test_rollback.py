"""Rollback is guaranteed: SIGINT, SIGTERM, SIGHUP and SIGQUIT mid-fault leave nothing; what
a SIGKILLed run and its guardian both left is cleaned later (test_guardian.py: the guardian)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from .processes import (
    EXPERIMENTS,
    StampedeProcess,
    descendants,
    proxy_faults_left,
    wait_for_timeline,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("signum", "group"), [(signal.SIGINT, False), (signal.SIGTERM, False),
                                              (signal.SIGINT, True), (signal.SIGHUP, True),
                                              (signal.SIGQUIT, False)],
                         ids=["SIGINT", "SIGTERM", "terminal-Ctrl-C", "terminal-closed-SIGHUP",
                              "SIGQUIT"])
def test_signal_mid_fault_rolls_back_and_stops_everything(signum: int, group: bool,
                                                          tmp_path: Path) -> None:
    out, state = tmp_path / "out", tmp_path / "state"
    proc = StampedeProcess(["run", str(EXPERIMENTS / "long_fault.yaml"), "--out", str(out)], state)
    try:
        folder = wait_for_timeline(out, "fault_start")
        if group:  # what a terminal does: every process of the foreground group gets it
            os.killpg(proc.proc.pid, signum)
        else:
            proc.proc.send_signal(signum)
        code, output = proc.wait(timeout=60)
        leftovers = proc.alive_descendants()
    finally:
        proc.kill_leftovers()
    assert code == 128 + signum, output
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert signal.Signals(signum).name in summary["error"]
    toxics, disabled = proxy_faults_left(folder / "logs" / "proxy.log")
    assert toxics == set() and disabled == set()
    ends = [json.loads(line) for line in (folder / "timeline.jsonl").read_text().splitlines()
            if '"fault_end"' in line]
    assert {e["fault"] for e in ends} == {"redis-latency", "db-down"}
    assert all(e.get("interrupted") and "error" not in e for e in ends), ends
    assert "rollback failed" not in output
    state_file = state / "active-faults.json"  # nothing left for a later cleanup
    assert not state_file.exists() or json.loads(state_file.read_text())["runs"] == {}
    assert leftovers == []


def _killed_run(tmp_path: Path) -> tuple[StampedeProcess, Path, str, Path]:
    out, state = tmp_path / "out", tmp_path / "state"
    proc = StampedeProcess(["run", str(EXPERIMENTS / "long_fault.yaml"), "--out", str(out)], state)
    folder = wait_for_timeline(out, "fault_start")
    api = json.loads((folder / "experiment.json").read_text())["stack"]["toxiproxy_api"]
    (guardian,) = [p for p in descendants(proc.proc.pid) if "harness.guardian" in p.cmdline()]
    guardian.kill()  # the whole machine's bad day: the guardian goes first, then the run
    deadline = time.monotonic() + 10
    while guardian.is_running() and guardian.status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the guardian survived a SIGKILL"
        time.sleep(0.02)
    os.kill(proc.proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    # the fault proxy lives on (its own session, no parent-death signal), and so do the faults
    proxies = requests.get(f"{api}/proxies", timeout=5).json()
    assert [t["name"] for t in proxies["redis"]["toxics"]] == ["redis-latency"]
    assert proxies["db"]["enabled"] is False
    return proc, state, api, out


def _assert_clean(api: str) -> None:
    proxies = requests.get(f"{api}/proxies", timeout=5).json()
    assert proxies["redis"]["toxics"] == [] and proxies["db"]["enabled"] is True


def test_sigkilled_run_is_cleaned_by_faults_clear(tmp_path: Path) -> None:
    proc, state, api, _ = _killed_run(tmp_path)
    try:
        env = dict(os.environ, STAMPEDE_STATE_DIR=str(state))
        clear = subprocess.run([sys.executable, "-m", "harness", "faults", "clear"], env=env,
                               capture_output=True, text=True, timeout=60)
        assert clear.returncode == 0, clear.stdout + clear.stderr
        _assert_clean(api)
    finally:
        proc.kill_leftovers()


def test_sigkilled_run_is_cleaned_by_the_next_run(tmp_path: Path) -> None:
    proc, state, api, out = _killed_run(tmp_path)
    try:
        nxt = StampedeProcess(["run", str(EXPERIMENTS / "tiny.yaml"), "--out",
                               str(tmp_path / "next")], state)
        code, output = nxt.wait(timeout=120)
        assert code == 0, output
        assert "cleaned up after an earlier run" in output, output
        _assert_clean(api)
        assert nxt.alive_descendants() == []
    finally:
        proc.kill_leftovers()


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGQUIT], ids=["SIGHUP", "SIGQUIT"])
def test_up_stops_everything_on_hangup_and_quit(signum: int, tmp_path: Path) -> None:
    proc = StampedeProcess(["up", "--logs", str(tmp_path / "logs")], tmp_path / "state")
    try:
        text, deadline = "", time.monotonic() + 90
        while "Ctrl-C stops everything" not in text and time.monotonic() < deadline:
            line = proc.proc.stdout.readline().decode()
            if not line:
                break
            text += line
        assert "Ctrl-C stops everything" in text, text
        assert len(descendants(proc.proc.pid)) >= 4  # redis, postgres, proxy, target
        proc.proc.send_signal(signum)
        code, rest = proc.wait(timeout=60)
        assert code == 0 and "stopped." in rest, text + rest
        assert proc.alive_descendants() == []
    finally:
        proc.kill_leftovers()
