"""Distributed runs: a Locust worker SIGKILLed mid-run is recorded, the run goes on (or halts
when the experiment says so), and the master's per-second sums stay exact for the survivor."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.ports import free_port
from harness.results import jsonl

pytestmark = pytest.mark.slow

LOCUSTFILE = Path(__file__).resolve().parents[1] / "runner" / "products_locustfile.py"


def experiment(tmp_path: Path, addr: dict[str, str], duration: str, extra: str = "") -> Path:
    path = tmp_path / "distributed.yaml"
    path.write_text(f"""
name: distributed
target:
  kind: external
  base_url: {addr['target']}
  toxiproxy_url: {addr['toxiproxy_api']}
proxies:
  redis: {{expect: true}}
load:
  locustfile: {LOCUSTFILE}
  users: 6
  spawn_rate: 6
  duration: {duration}
  workers: 2
{extra}""")
    return path


def start_run(path: Path, out: Path, state: Path, args: list[str] = ()) -> subprocess.Popen:
    env = dict(os.environ, STAMPEDE_STATE_DIR=str(state), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "harness", "run", str(path), "--out", str(out),
                             *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            process_group=0)


def wait_load_start(out: Path, proc: subprocess.Popen, timeout: float = 60) -> tuple[Path, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode()
        for marker in out.glob("*/.load_start.json"):
            return marker.parent, json.loads(marker.read_text())["ts"]
        time.sleep(0.05)
    raise AssertionError("the load did not start")


def our_workers(run_pid: int) -> list[psutil.Process]:
    """Locust worker processes under the run we started (never a process-wide search)."""
    return [p for p in psutil.Process(run_pid).children(recursive=True)
            if "--worker" in p.cmdline()]


def kill_one_worker(proc: subprocess.Popen, t0: float, at: float) -> float:
    """SIGKILL one of our run's two workers at run time `at`; the run time it died."""
    workers = our_workers(proc.pid)
    assert len(workers) == 2, workers
    time.sleep(max(0.0, t0 + at - time.time()))
    killed_at = time.time()
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait(timeout=10)
    return killed_at - t0


def finish(proc: subprocess.Popen, timeout: float = 90) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            for child in psutil.Process(proc.pid).children(recursive=True):
                child.kill()
            proc.kill()
            proc.wait()
    return proc.returncode, out.decode(errors="replace")


def per_second(folder: Path) -> dict[int, int]:
    """The master's requests per second (records with the same t add up)."""
    totals: dict[int, int] = {}
    for rec in jsonl.records(folder / "requests.jsonl"):  # requests.jsonl.gz once finished
        totals[rec["t"]] = totals.get(rec["t"], 0) + rec["count"]
    return totals


def test_worker_killed_mid_run_is_recorded_and_counts_stay_exact(stampede_up: dict[str, str],
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start_run(experiment(tmp_path, stampede_up, "9s"), out, tmp_path / "state")
    try:
        folder, t0 = wait_load_start(out, proc)
        killed_t = kill_one_worker(proc, t0, at=4.0)
    finally:
        code, output = finish(proc)
    assert code == 0, output
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "completed", summary
    timeline = [json.loads(line) for line in (folder / "timeline.jsonl").read_text().splitlines()]
    lost = [e for e in timeline if e["kind"] == "worker_lost"]
    assert len(lost) == 1, timeline
    assert killed_t <= lost[0]["t"] < killed_t + 10, (killed_t, lost)  # noticed by heartbeats
    assert timeline[-1]["kind"] == "run_end" and timeline[-1]["status"] == "completed"

    # only the survivor wrote its totals at exit: what it sent, per "<t> <endpoint>"
    (survivor_file,) = (folder / "logs" / "workers").glob("*.json")
    survivor: dict[int, int] = {}
    for key, n in json.loads(survivor_file.read_text())["sent"].items():
        t = int(key.split(" ", 1)[0])
        survivor[t] = survivor.get(t, 0) + n
    master = per_second(folder)
    after = [t for t in sorted(set(master) | set(survivor)) if t >= math.floor(killed_t) + 1]
    assert len(after) >= 3 and all(survivor.get(t, 0) > 0 for t in after[:3]), (after, survivor)
    assert {t: master.get(t, 0) for t in after} == {t: survivor.get(t, 0) for t in after}
    # the comparison can fail: before the kill the master also counted the other worker. The
    # killed worker's last report or two may die with it, so its share shows in some earlier
    # seconds, not necessarily in every one
    before = [t for t in master if 0 < t < math.floor(killed_t)]
    assert before and all(master[t] >= survivor.get(t, 0) for t in before), (master, survivor)
    assert any(master[t] > survivor.get(t, 0) for t in before), (master, survivor)


def test_remote_worker_joins_and_its_loss_halts_the_run(stampede_up: dict[str, str],
                                                        tmp_path: Path) -> None:
    """One local worker plus one started apart with `stampede worker --master HOST:PORT`, as
    on another machine; the load waits for both; losing the remote one halts the run."""
    out, port = tmp_path / "out", free_port()
    path = experiment(tmp_path, stampede_up, "60s", "  halt_on_worker_loss: true\n")
    proc = start_run(path, out, tmp_path / "state",
                     ["--workers", "1", "--expect-workers", "2", "--master-bind", "0.0.0.0",
                      "--master-port", str(port)])
    remote = None
    try:
        time.sleep(2)
        assert not list(out.glob("*/.load_start.json"))  # waiting for the second worker
        remote = subprocess.Popen(
            [sys.executable, "-m", "harness", "worker", "--master", f"127.0.0.1:{port}",
             "--locustfile", str(LOCUSTFILE)], stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT, process_group=0)
        folder, t0 = wait_load_start(out, proc)
        time.sleep(max(0.0, t0 + 2.0 - time.time()))
        remote.send_signal(signal.SIGKILL)  # our own child: the "other machine" goes away
        remote.wait(timeout=10)
    finally:
        code, output = finish(proc)
        if remote is not None and remote.poll() is None:
            remote.kill()
            remote.wait()
    assert code == 2, output
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "aborted", summary
    assert "lost" in summary["halt_reason"] and summary["duration"] < 20, summary
    timeline = [json.loads(line) for line in (folder / "timeline.jsonl").read_text().splitlines()]
    kinds = [e["kind"] for e in timeline]
    assert kinds.count("worker_lost") == 1 and kinds.index("worker_lost") < kinds.index("halt")
    assert [e["t"] for e in timeline if e["kind"] == "worker_lost"][0] >= 2.0
    # the local worker lived to the end and wrote its totals: the lost one was the remote one
    assert len(list((folder / "logs" / "workers").glob("*.json"))) == 1
