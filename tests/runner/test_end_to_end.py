"""One real run against the embedded stack (Redis latency, then a Redis outage), several checks.

The run is shared (module fixture): the stack takes seconds to start, and every test
here reads the same results folder.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.results import jsonl

from .processes import EXPERIMENTS, StampedeProcess, proxy_faults_left, run_dir

pytestmark = pytest.mark.slow

BREAKER = 'stampede_circuit_state{dependency="redis"}'


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("e2e-results")
    state = tmp_path_factory.mktemp("e2e-state")
    proc = StampedeProcess(["run", str(EXPERIMENTS / "e2e.yaml"), "--out", str(out),
                            "--time-scale", "0.5"], state)
    try:
        password = _redis_password(out)
        code, output = proc.wait(timeout=150)
    finally:
        leftovers = proc.alive_descendants()
        proc.kill_leftovers()
    folder = run_dir(out)
    yield {"code": code, "output": output, "dir": folder, "leftovers": leftovers,
           "seen": proc.seen, "state": state, "password": password}


def _redis_password(out: Path, timeout: float = 90) -> str:
    """Read the run's Redis password from its 0600 file while the stack is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for exp in out.glob("*/experiment.json"):
            with contextlib.suppress(ValueError, KeyError, OSError):
                stack = json.loads(exp.read_text())["stack"]
                return Path(stack["redis_password_file"]).read_text().strip()
        time.sleep(0.1)
    raise AssertionError("the run never wrote its stack addresses")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return jsonl.records(path)  # a finished run's bulky files are gzipped


def test_run_completes_and_says_where_results_are(run: dict[str, Any]) -> None:
    assert run["code"] == 0, run["output"]
    assert f"results: {run['dir']}" in run["output"]
    summary = json.loads((run["dir"] / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["requests"] > 500
    experiment = json.loads((run["dir"] / "experiment.json").read_text())
    assert experiment["duration"] == 28.0 and experiment["time_scale"] == 0.5


def test_request_buckets_cover_the_whole_run(run: dict[str, Any]) -> None:
    seconds = {r["t"] for r in _jsonl(run["dir"] / "requests.jsonl")}
    assert set(range(0, 28)) <= seconds, sorted(set(range(0, 28)) - seconds)
    summary = json.loads((run["dir"] / "summary.json").read_text())
    assert sum(r["count"] for r in _jsonl(run["dir"] / "requests.jsonl")) == summary["requests"]


def test_the_finished_run_is_compacted(run: dict[str, Any]) -> None:
    names = {p.name for p in run["dir"].iterdir()}
    assert {"requests.jsonl.gz", "metrics.jsonl.gz", "counters.jsonl.gz"} <= names, names
    assert not names & {"requests.jsonl", "metrics.jsonl", "counters.jsonl"}, names
    assert "timeline.jsonl" in names and not [n for n in names if n.endswith(".tmp")], names


def test_breaker_opens_during_the_outage_only(run: dict[str, Any]) -> None:
    scrapes = [m for m in _jsonl(run["dir"] / "metrics.jsonl") if m["source"] == "target"]
    assert sum(m["ok"] for m in scrapes) >= 20  # 1 Hz over a 28 s run, a few gaps allowed
    states = [(m["t"], m["samples"][BREAKER]) for m in scrapes if m["ok"] and BREAKER in m["samples"]]
    before = [s for t, s in states if 2 <= t < 7]  # steady state
    during = [s for t, s in states if 16 < t < 21]  # redis-outage: 15 s to 21 s
    assert before and all(s == 0 for s in before), before
    assert 1.0 in during, states
    sources = {m["source"] for m in _jsonl(run["dir"] / "metrics.jsonl") if m["ok"]}
    assert sources == {"target", "signals", "redis", "postgres", "host"}
    # the signal the breaker invariants read, from the same scrapes
    opened = [(m["t"], m["samples"].get('breaker_open{dependency="redis"}', 0.0))
              for m in _jsonl(run["dir"] / "metrics.jsonl") if m["source"] == "signals" and m["ok"]]
    assert all(v == 0 for t, v in opened if 2 <= t < 7)
    assert any(v == 1 for t, v in opened if 16 < t < 21), opened


def test_fault_events_within_100ms_of_plan(run: dict[str, Any]) -> None:
    events = [e for e in _jsonl(run["dir"] / "timeline.jsonl") if e["kind"].startswith("fault_")]
    planned = {(e["fault"], e["kind"]): e["planned_t"] for e in events}
    assert planned == {("redis-latency", "fault_start"): 8.0, ("redis-latency", "fault_end"): 13.0,
                       ("redis-outage", "fault_start"): 15.0, ("redis-outage", "fault_end"): 21.0}
    for e in events:
        assert "error" not in e, e
        assert 0 <= e["t"] - e["planned_t"] < 0.1, e
    kinds = [e["kind"] for e in _jsonl(run["dir"] / "timeline.jsonl")]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"


def test_no_fault_and_no_process_left(run: dict[str, Any]) -> None:
    toxics, disabled = proxy_faults_left(run["dir"] / "logs" / "proxy.log")
    assert toxics == set() and disabled == set()
    assert len(run["seen"]) >= 6  # redis, postgres, proxy, target, master, worker were there
    assert run["leftovers"] == []
    state_files = [p for p in run["state"].iterdir() if p.suffix == ".json"]
    assert all(json.loads(p.read_text()) in ({}, {"runs": {}}) for p in state_files)


def test_no_secret_in_clear(run: dict[str, Any]) -> None:
    url_secret = re.compile(r"://[^/\s:@\"]*:(?!\*\*\*@)[^@/\s\"]+@")
    for path in [*run["dir"].rglob("*"), None]:
        text = run["output"] if path is None else (
            path.read_text(errors="replace") if path.is_file() else "")
        assert not url_secret.search(text), (path, url_secret.search(text)[0])
    assert "redis://:***@" in (run["dir"] / "experiment.json").read_text()
    assert len(run["password"]) >= 16
    for path in run["dir"].rglob("*"):
        if path.is_file():
            assert run["password"] not in path.read_text(errors="replace"), path
    assert run["password"] not in run["output"]
