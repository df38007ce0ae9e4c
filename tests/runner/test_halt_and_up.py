"""A halt condition aborts the run (exit 2, faults rolled back); `stampede up` runs the stack alone."""

from __future__ import annotations

import json
import re
import signal
import stat
import time
from pathlib import Path

import pytest
import requests

from .processes import EXPERIMENTS, StampedeProcess, proxy_faults_left, run_dir

pytestmark = pytest.mark.slow


def test_halt_aborts_and_rolls_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = StampedeProcess(["run", str(EXPERIMENTS / "halt.yaml"), "--out", str(out)],
                           tmp_path / "state")
    try:
        code, output = proc.wait(timeout=120)
        leftovers = proc.alive_descendants()
    finally:
        proc.kill_leftovers()
    assert code == 2, output
    folder = run_dir(out)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "aborted"
    assert summary["halt_reason"].startswith("error rate"), summary
    timeline = [json.loads(line) for line in (folder / "timeline.jsonl").read_text().splitlines()]
    halt = [e for e in timeline if e["kind"] == "halt"]
    assert len(halt) == 1 and halt[0]["t"] < 40  # stopped well before the 60 s end
    assert timeline[-1] == {**timeline[-1], "kind": "run_end", "status": "aborted"}
    # an aborted run is compacted too (docs/results-format.md)
    assert {f.name for f in folder.glob("*.jsonl*")} >= {"requests.jsonl.gz", "metrics.jsonl.gz"}
    assert not (folder / "requests.jsonl").exists() and not (folder / "metrics.jsonl").exists()
    toxics, disabled = proxy_faults_left(folder / "logs" / "proxy.log")
    assert toxics == set() and disabled == set()
    assert leftovers == []


def test_up_prints_addresses_without_secrets_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    proc = StampedeProcess(["up", "--logs", str(tmp_path / "logs")], tmp_path / "state")
    lines: list[str] = []
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            line = proc.proc.stdout.readline().decode()
            lines.append(line)
            if not line or "Ctrl-C stops everything" in line:
                break
        text = "".join(lines)
        addresses = dict(re.findall(r"^\s+(\w+)\s+(\S+)$", text, re.M))
        assert requests.get(addresses["target"] + "/health", timeout=5).status_code == 200
        password_file = Path(addresses["redis_password_file"])
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()
        assert len(password) >= 16 and password not in text
        assert "redis://:***@" in addresses["redis_direct"]
        proc.proc.send_signal(signal.SIGINT)
        code, rest = proc.wait(timeout=60)
        assert code == 0, text + rest
        assert proc.alive_descendants() == []
        for log in (tmp_path / "logs").iterdir():
            assert password not in log.read_text(errors="replace"), log
    finally:
        proc.kill_leftovers()


def test_up_killed_leaves_no_process_behind(tmp_path: Path) -> None:
    """A SIGKILL gives `stampede up` no chance to stop its stack: its guardian does."""
    proc = StampedeProcess(["up", "--logs", str(tmp_path / "logs")], tmp_path / "state")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.proc.stdout.readline().decode()
            if not line or "Ctrl-C stops everything" in line:
                break
        time.sleep(0.3)  # the watcher samples descendants every 0.1 s
        children = proc.alive_descendants()
        assert len(children) >= 4, children  # redis, postgres, proxy, target (and the guardian)
        proc.proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while proc.alive_descendants() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.alive_descendants() == []
        log = (tmp_path / "logs" / "guardian.log").read_text()
        assert "orchestrator killed" in log and "ports busy: none" in log, log
    finally:
        proc.kill_leftovers()
