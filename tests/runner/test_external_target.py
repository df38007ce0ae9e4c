"""An external target: the stack runs elsewhere (here: `stampede up`), the run knows only URLs."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pytest
import requests

from harness.results import jsonl

from .processes import StampedeProcess, run_dir

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent


def test_run_against_an_external_target(tmp_path: Path) -> None:
    up = StampedeProcess(["up", "--logs", str(tmp_path / "up-logs")], tmp_path / "state")
    try:
        text = ""
        deadline = time.monotonic() + 90
        while "Ctrl-C stops everything" not in text and time.monotonic() < deadline:
            line = up.proc.stdout.readline().decode()
            if not line:
                break
            text += line
        addr = dict(re.findall(r"^\s+(\w+)\s+(\S+)$", text, re.M))
        experiment = tmp_path / "external.yaml"
        experiment.write_text(f"""
name: external_run
target:
  kind: external
  base_url: {addr['target']}
  toxiproxy_url: {addr['toxiproxy_api']}
  metrics_url: {addr['metrics']}
  database_url: {addr['db_direct']}
  writes:
    order: {{sql: "SELECT id::text FROM orders WHERE id::text = ANY(%(ids)s)"}}
proxies:
  redis: {{expect: true}}
load:
  locustfile: {HERE / 'products_locustfile.py'}
  users: 4
  spawn_rate: 4
  duration: 8s
steady_state: {{from: 0s, to: 1s}}
faults:
  - {{name: redis-down, at: 2s, for: 3s, proxy: redis, type: down}}
""")
        out = tmp_path / "out"
        run = StampedeProcess(["run", str(experiment), "--out", str(out)], tmp_path / "state")
        code, output = run.wait(timeout=120)
        assert code == 0, output
        folder = run_dir(out)
        events = [json.loads(x) for x in (folder / "timeline.jsonl").read_text().splitlines()]
        faults = [e for e in events if e["kind"] in ("fault_start", "fault_end")]
        assert [e["kind"] for e in faults] == ["fault_start", "fault_end"]
        assert all("error" not in e for e in faults), faults
        metrics = jsonl.records(folder / "metrics.jsonl")  # metrics.jsonl.gz once finished
        assert {m["source"] for m in metrics if m["ok"]} == {"target", "postgres"}  # no Redis address
        assert json.loads((folder / "summary.json").read_text())["requests"] > 20
        # the run left the external proxy as it found it, and started no stack of its own
        proxies = requests.get(f"{addr['toxiproxy_api']}/proxies", timeout=5).json()
        assert proxies["redis"]["enabled"] is True and proxies["redis"]["toxics"] == []
        assert not (folder / "logs" / "redis.log").exists()
        assert run.alive_descendants() == []
    finally:
        up.proc.send_signal(signal.SIGINT)
        up.wait(timeout=60)
        up.kill_leftovers()
