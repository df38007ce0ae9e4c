"""With N workers, the master's per-second buckets are exactly the sum of what the workers sent."""

from __future__ import annotations

import json
from pathlib import Path

from harness.load.launcher import LocustProcesses
from harness.load.recorder import LOAD_START_FILE

HERE = Path(__file__).parent


def _read_requests(path: Path) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        key = f"{rec['t']} {rec['endpoint']}"
        totals[key] = totals.get(key, 0) + rec["count"]
    return totals


def test_two_workers_sum_exactly(tiny_server: str, tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    load = LocustProcesses(HERE / "tiny_locustfile.py", tiny_server, tmp_path / "logs", tmp_path,
                           workers=2, duration=4, users=6, spawn_rate=6, user_classes=[])
    load.start()
    try:
        assert load.master.wait(timeout=60) is not None
    finally:
        load.stop()
    assert (tmp_path / LOAD_START_FILE).exists()

    master = _read_requests(tmp_path / "requests.jsonl")
    worker_files = sorted((tmp_path / "logs" / "workers").glob("*.json"))
    assert len(worker_files) == 2, [p.name for p in worker_files]
    summed: dict[str, int] = {}
    for path in worker_files:
        data = json.loads(path.read_text())
        assert sum(data["sent"].values()) == data["recorded"]  # nothing left unsent
        assert data["recorded"] > 50  # both workers really generated load
        for key, n in data["sent"].items():
            summed[key] = summed.get(key, 0) + n
    assert master == summed
    assert len({key.split(" ", 1)[0] for key in master}) >= 3  # several seconds, not one lump
    # the 404s are classified, with the exact status too
    failures = [json.loads(line)["failures"] for line in (tmp_path / "requests.jsonl").read_text()
                .splitlines() if "/missing" in line]
    assert failures and all(f.get("4xx") == f.get("404") and f["4xx"] > 0 for f in failures)
    counters = (tmp_path / "counters.jsonl").read_text().splitlines()
    assert sum(json.loads(c)["count"] for c in counters) > 0
