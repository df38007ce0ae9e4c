"""Requests between the live view and the orchestrator, as files in the run's folders.

The Locust master serves the web UI but cannot roll faults back (the orchestrator owns
the fault client and the rollback), so a Halt click only leaves a file that the
orchestrator polls; likewise the master reports lost workers through a file. Files work
the same whether the master is a local child or the person is on another machine.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness.results import files
from harness.results.atomic import write_atomic
from harness.results.tail import Tail

HALT_FILE = files.HALT_REQUEST
WORKERS_LOST_FILE = files.WORKERS_LOST
LIVE_REASON = "halted from the live view"


def request_halt(results_dir: str | Path, reason: str = LIVE_REASON) -> None:
    """Ask the orchestrator to halt the run (it polls every second); the first request wins."""
    path = Path(results_dir) / HALT_FILE
    if not path.exists():
        write_atomic(path, json.dumps({"ts": time.time(), "reason": reason}))


def halt_requested(results_dir: str | Path) -> str | None:
    """The reason of a pending halt request, or None."""
    try:
        data = json.loads((Path(results_dir) / HALT_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return str(data.get("reason") or LIVE_REASON)


def record_worker_lost(results_dir: str | Path, worker: str, how: str) -> None:
    """The master saw a worker go (missing heartbeats, or it quit) while the load ran."""
    with open(Path(results_dir) / WORKERS_LOST_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps({"ts": time.time(), "worker": worker, "how": how}) + "\n")


class WorkersLost:
    """The orchestrator's reader of WORKERS_LOST_FILE: new records since the last poll."""

    def __init__(self, results_dir: Path) -> None:
        self.path = Path(results_dir) / WORKERS_LOST_FILE
        self._tail = Tail(self.path)

    def poll(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._tail.lines()]
