"""The live view's pure parts on hand-made folders, and the suite pause page over real HTTP."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import requests

from harness.live.control import (
    LIVE_REASON,
    WorkersLost,
    halt_requested,
    record_worker_lost,
    request_halt,
)
from harness.live.pause import serve_pause
from harness.live.state import fault_rows, live_state
from harness.ports import free_port
from harness.suites import wait_pause

PLANNED = [
    {"name": "lat", "proxy": "redis", "type": "latency", "start": 2.0, "end": 10.0},
    {"name": "out", "proxy": "redis", "type": "down", "start": 12.0, "end": 20.0},
    {"name": "db", "proxy": "db", "type": "down", "start": 14.0, "end": 20.0},
    {"name": "gone", "proxy": "db", "type": "latency", "start": 30.0, "end": 40.0},
]


def test_fault_rows_say_planned_active_done_failed() -> None:
    timeline = [
        {"t": 2.01, "kind": "fault_start", "fault": "lat"},
        {"t": 10.0, "kind": "fault_end", "fault": "lat"},
        {"t": 12.0, "kind": "fault_start", "fault": "out"},
        {"t": 14.0, "kind": "fault_start", "fault": "db", "error": "proxy db not found"},
    ]
    rows = {r["name"]: r for r in fault_rows(PLANNED, timeline)}
    assert {n: r["state"] for n, r in rows.items()} == {
        "lat": "done", "out": "active", "db": "failed", "gone": "planned"}
    assert rows["lat"]["applied_t"] == 2.01 and rows["lat"]["healed_t"] == 10.0
    assert rows["db"]["error"] == "proxy db not found"


def test_live_state_reads_a_growing_folder(tmp_path: Path) -> None:
    (tmp_path / "experiment.json").write_text(json.dumps(
        {"name": "x", "duration": 60.0, "faults": PLANNED[:1]}))
    (tmp_path / ".load_start.json").write_text(json.dumps({"ts": 1000.0}))
    (tmp_path / "timeline.jsonl").write_text(
        '{"t":0.0,"kind":"phase","phase":"steady"}\n'
        '{"t":2.0,"kind":"fault_start","fault":"lat"}\n'
        '{"t":2.5,"kind":"worker_lost","worker":"h_1"}\n'
        '{"t":3.0,"kind":"pha')  # a line being written
    state = live_state(tmp_path, now=1004.25)
    assert state["t"] == 4.2 and state["phase"] == "steady"
    assert [r["state"] for r in state["faults"]] == ["active"]
    assert state["workers_lost"] == ["h_1"] and state["halt_requested"] is None
    request_halt(tmp_path)
    request_halt(tmp_path, "a second click")  # the first request wins
    assert halt_requested(tmp_path) == LIVE_REASON
    assert live_state(tmp_path)["halt_requested"] == LIVE_REASON
    assert live_state(tmp_path / "missing")["faults"] == []  # nothing there yet: no crash


def test_workers_lost_are_read_once(tmp_path: Path) -> None:
    reader = WorkersLost(tmp_path)
    assert reader.poll() == []
    record_worker_lost(tmp_path, "h_1", "missing")
    record_worker_lost(tmp_path, "h_2", "quit")
    assert [r["worker"] for r in reader.poll()] == ["h_1", "h_2"]
    assert reader.poll() == []


def test_next_experiment_button_ends_a_pause() -> None:
    port = free_port()
    out = io.StringIO()
    with serve_pause(port, "look at the breaker chart", 30.0, "redis_outage.yaml") as resume:
        page = requests.get(f"http://127.0.0.1:{port}/?tab=gameday", timeout=5).text
        assert "look at the breaker chart" in page and "Next experiment" in page
        state = requests.get(f"http://127.0.0.1:{port}/gameday/state", timeout=5).json()
        assert state["paused"] and state["next"] == "redis_outage.yaml"
        threading.Timer(0.5, lambda: requests.post(
            f"http://127.0.0.1:{port}/gameday/next", timeout=5)).start()
        started = time.monotonic()
        wait_pause(30.0, "look", out, stdin=io.StringIO(), resume=resume)
        waited = time.monotonic() - started
    assert resume.is_set() and waited < 20  # the click ended it, not the 30 s
    # and without a click the pause runs its time
    started = time.monotonic()
    wait_pause(0.3, "", out, stdin=io.StringIO(), resume=threading.Event())
    assert time.monotonic() - started >= 0.3
