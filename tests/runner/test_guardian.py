"""The dead-man's switch: SIGKILL the orchestrator mid-fault and the guardian cleans up.

Within 5 s of the kill: no toxic, every proxy enabled, no process of the run left (by pid
and by port), the ports free, summary.json `failed` with `orchestrator killed`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.faults import FaultClient
from harness.ports import free_port
from harness.proxy import spawn
from harness.proxy.embedded import ProxyProcess
from harness.stack.redis_server import RedisServer

from .ports import listening_ports, port_free
from .processes import (
    EXPERIMENTS,
    StampedeProcess,
    descendants,
    proxy_faults_left,
    wait_for_timeline,
)

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
DEADLINE = 5.0  # the bound from SIGKILL to everything cleaned


def wait_until(what: str, check: Callable[[], object], timeout: float) -> float:
    """Poll `check` until it is true (bounded); the seconds it took, or fail saying what."""
    begin = time.monotonic()
    while not check():
        if time.monotonic() - begin > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        time.sleep(0.05)
    return time.monotonic() - begin


def summary(folder: Path) -> dict:
    with contextlib.suppress(OSError, ValueError):
        return json.loads((folder / "summary.json").read_text())
    return {}


def kill_and_measure(proc: StampedeProcess, folder: Path, faults_on: Callable[[], bool],
                     faults_off: Callable[[], bool]) -> float:
    """SIGKILL the orchestrator once both faults are on; seconds until all is clean."""
    wait_until("both faults applied", faults_on, 30)
    ports = listening_ports(proc.proc.pid)
    children = {p.pid for p in descendants(proc.proc.pid)}
    assert ports and children, "the run had no processes to leave behind"
    killed = time.monotonic()
    os.kill(proc.proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    wait_until("faults rolled back", faults_off, DEADLINE)
    wait_until(f"processes of the run gone (left: {proc.alive_descendants()})",
               lambda: proc.alive_descendants() == [], DEADLINE)
    wait_until(f"ports freed (busy: {[p for p in ports if not port_free(p)]})",
               lambda: all(port_free(p) for p in ports), DEADLINE)
    wait_until(f"summary marked (now {summary(folder)})",
               lambda: summary(folder).get("status") == "failed", DEADLINE)
    elapsed = time.monotonic() - killed
    assert elapsed <= DEADLINE, f"cleaned up only {elapsed:.1f}s after the SIGKILL"
    assert children <= set(proc.seen), "the test lost track of a child"
    assert summary(folder)["error"] == "orchestrator killed"
    timeline = (folder / "timeline.jsonl").read_text().splitlines()
    assert json.loads(timeline[-1])["kind"] == "run_end"
    state_file = Path(os.environ.get("STAMPEDE_STATE_DIR", "")) / "active-faults.json"
    assert not state_file.exists() or json.loads(state_file.read_text())["runs"] == {}
    print(f"SIGKILL to clean: {elapsed:.2f}s "
          f"({(folder / 'logs' / 'guardian.log').read_text().splitlines()[-1]})")
    return elapsed


def test_sigkill_mid_fault_on_the_embedded_stack(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out, state = tmp_path / "out", tmp_path / "state"
    monkeypatch.setenv("STAMPEDE_STATE_DIR", str(state))
    proc = StampedeProcess(["run", str(EXPERIMENTS / "long_fault.yaml"), "--out", str(out)], state)
    try:
        folder = wait_for_timeline(out, "fault_start")
        log = folder / "logs" / "proxy.log"

        def faults(on: bool) -> bool:
            text = log.read_text()
            applied = "toxic redis-latency added to redis" in text and "enabled=false" in text
            return applied if on else applied and proxy_faults_left(log) == (set(), set())

        stack = json.loads((folder / "experiment.json").read_text())["stack"]
        workdir = Path(stack["redis_password_file"]).parent
        assert workdir.is_dir()
        kill_and_measure(proc, folder, lambda: faults(True), lambda: faults(False))
        wait_until("the stack's temporary folder removed", lambda: not workdir.exists(), 2)
    finally:
        proc.kill_leftovers()


@pytest.fixture
def external_proxy(tmp_path: Path) -> Iterator[ProxyProcess]:
    """Our fault proxy as someone else's process: started by the test, not by the run."""
    with spawn(log_path=tmp_path / "external-proxy.log") as proxy:
        client = FaultClient(proxy.api_url, timeout=5)
        for name in ("redis", "db"):
            client.create_proxy(name, f"127.0.0.1:{free_port()}", "127.0.0.1:9")
        client.close()
        yield proxy


def test_sigkill_mid_fault_on_an_external_proxy(tmp_path: Path, tiny_server: str,
                                                external_proxy: ProxyProcess,
                                                redis_server: RedisServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The team's proxy is left running with no fault; the team's Redis gets its maxmemory
    back, though the run that changed it was killed."""
    out, state = tmp_path / "out", tmp_path / "state"
    monkeypatch.setenv("STAMPEDE_STATE_DIR", str(state))
    with redis_server.client() as r:
        maxmemory_before = r.config_get("maxmemory")["maxmemory"]
    squeezed = str(7 * 1024 * 1024)
    assert maxmemory_before != squeezed
    experiment = tmp_path / "external.yaml"
    experiment.write_text(f"""
name: external_killed
target: {{kind: external, base_url: "{tiny_server}", toxiproxy_url: "{external_proxy.api_url}",
         redis_url: "{redis_server.url}"}}
proxies: {{redis: {{expect: true}}, db: {{expect: true}}}}
load: {{locustfile: {HERE / 'tiny_locustfile.py'}, users: 2, spawn_rate: 2, duration: 60s}}
faults:
  - {{name: redis-latency, at: 1s, for: 50s, proxy: redis, type: latency,
     attributes: {{latency: 100}}}}
  - {{name: db-down, at: 1s, for: 50s, proxy: db, type: down}}
  - {{name: squeeze, at: 2s, type: set_maxmemory, attributes: {{maxmemory: 7mb}}}}
""")
    client = FaultClient(external_proxy.api_url, timeout=2)

    def faults(on: bool) -> bool:
        proxies = client.proxies()
        redis, db = proxies["redis"], proxies["db"]
        with redis_server.client() as r:
            maxmemory = r.config_get("maxmemory")["maxmemory"]
        if on:
            return bool(redis["toxics"]) and not db["enabled"] and maxmemory == squeezed
        return (not redis["toxics"] and not db["toxics"] and redis["enabled"] and db["enabled"]
                and maxmemory == maxmemory_before)

    proc = StampedeProcess(["run", str(experiment), "--out", str(out)], state)
    try:
        folder = wait_for_timeline(out, "fault_start")
        kill_and_measure(proc, folder, lambda: faults(True), lambda: faults(False))
        assert external_proxy.proc.poll() is None, "the guardian stopped a proxy it did not start"
    finally:
        client.close()
        proc.kill_leftovers()
