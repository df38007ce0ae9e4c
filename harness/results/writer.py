"""Writing a results folder live (docs/results-format.md is the contract).

Every record is flushed as it is written: the rates are low (a few lines a second
per file), and a crash or SIGKILL then keeps everything collected so far.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from harness.masking import mask_secrets
from harness.results import files
from harness.results.atomic import write_atomic


def run_id(name: str, started: float | None = None) -> str:
    """`<UTC time>-<name>`, safe as a folder name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started or time.time()))
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "run"
    return f"{stamp}-{safe}"


def new_run_dir(out_dir: str | os.PathLike[str], name: str) -> Path:
    """Create `<out>/<UTC time>-<name>/`; a second run in the same second gets a suffix."""
    parent = Path(out_dir).resolve()  # children run in other folders (redis-server chdirs)
    parent.mkdir(parents=True, exist_ok=True)
    base = run_id(name)
    for n in range(1000):
        path = parent / (base if n == 0 else f"{base}.{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        (path / files.LOGS).mkdir()
        return path
    raise RuntimeError(f"cannot create a run folder under {parent}")


class JsonlWriter:
    """An append-only JSON-lines file, safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        self.write_many([record])

    def write_many(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
        with self._lock:
            if self._file.closed:
                return
            self._file.write(text)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def write_json(path: Path, data: Any) -> None:
    """Write a whole JSON file atomically, so a reader never sees half of it."""
    write_atomic(path, json.dumps(data, indent=2) + "\n")


class RunWriter:
    """The orchestrator's side of a results folder: experiment, timeline, metrics, summary.

    `requests`, `counters`, `violations` and `writes` come from the Locust master
    (harness.load.recorder), which appends to the same folder.
    """

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.t0: float | None = None  # epoch seconds of load start (run time 0)
        self.t0_monotonic: float | None = None
        self.started_at = time.time()
        self.timeline = JsonlWriter(path / files.TIMELINE)
        self.metrics = JsonlWriter(path / files.METRICS)
        self.summary: dict[str, Any] = {
            "name": name, "run_id": path.name, "status": "running",
            "started_at": self.started_at, "ended_at": None, "duration": None,
            "requests": 0, "failures": 0, "halt_reason": None, "error": None,
        }
        write_json(path / files.SUMMARY, self.summary)

    def write_experiment(self, source: Path | None, resolved: dict[str, Any]) -> None:
        if source is not None:
            (self.path / files.EXPERIMENT_YAML).write_text(
                mask_secrets(source.read_text(encoding="utf-8")), encoding="utf-8"
            )
        write_json(self.path / files.EXPERIMENT, mask_secrets(resolved))

    def set_t0(self, t0_epoch: float) -> None:
        """Fix run time 0; the monotonic twin keeps fault timing immune to clock steps."""
        self.t0 = t0_epoch
        self.t0_monotonic = time.monotonic() - (time.time() - t0_epoch)

    def now_t(self) -> float:
        if self.t0_monotonic is None:
            return 0.0
        return round(time.monotonic() - self.t0_monotonic, 4)

    def emit(self, kind: str, **fields: Any) -> None:
        """The timeline writer handed to the fault schedule: adds `t` and `ts`."""
        record = {"t": self.now_t(), "ts": round(time.time(), 4), "kind": kind}
        record.update(mask_secrets(fields))
        self.timeline.write(record)

    def metric(self, source: str, ok: bool, samples: dict[str, float] | None = None,
               error: str | None = None) -> None:
        record: dict[str, Any] = {"t": self.now_t(), "source": source, "ok": ok}
        if ok:
            record["samples"] = samples or {}
        else:
            record["error"] = mask_secrets(error or "unknown error")
        self.metrics.write(record)

    def finish(self, status: str, *, requests: int, failures: int,
               halt_reason: str | None = None, error: str | None = None,
               duration: float | None = None) -> dict[str, Any]:
        """`duration`: run seconds the load ran (default: until now)."""
        ended = time.time()
        if duration is None:
            duration = ended - self.t0 if self.t0 else 0.0
        self.summary.update(
            status=status, ended_at=ended, duration=round(duration, 3),
            requests=requests, failures=failures,
            halt_reason=halt_reason, error=mask_secrets(error),
        )
        write_json(self.path / files.SUMMARY, self.summary)
        return self.summary

    def close(self) -> None:
        self.timeline.close()
        self.metrics.close()
