"""The state file: what each run has applied, written before every change.

A run killed with SIGKILL cannot roll back; the next run (`Rollback.recover_stale()`) or
`stampede faults clear` reads this file and undoes what the dead run left. Several runs may
share a machine (and this file), so each keeps its own entry, and every update holds a lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

STATE_FILE = "active-faults.json"


def state_dir() -> Path:
    """`$STAMPEDE_STATE_DIR`, else `$XDG_STATE_HOME/stampede`, else `~/.local/state/stampede`."""
    if os.environ.get("STAMPEDE_STATE_DIR"):
        return Path(os.environ["STAMPEDE_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "stampede"


class StateFile:
    """`{"runs": {run_id: {pid, create_time, api_url, toxics: [[proxy, name]], disabled: [proxy]}}}`."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.dir = Path(directory) if directory is not None else state_dir()
        self.path = self.dir / STATE_FILE

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "active-faults.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def ensure_writable(self) -> None:
        """Fail before any fault is applied, not at the first one, if the state cannot be kept."""
        try:
            with self._locked():
                pass
        except OSError as exc:
            raise OSError(
                f"cannot keep the fault state file in {self.dir}: {exc.strerror or exc}; "
                "set STAMPEDE_STATE_DIR to a writable folder"
            ) from None

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            return {}  # a torn write cannot happen (atomic replace); a hand-edited file might
        return data.get("runs", {}) if isinstance(data, dict) else {}

    def _write(self, runs: dict[str, dict[str, Any]]) -> None:
        if not runs:
            self.path.unlink(missing_ok=True)
            return
        tmp = self.path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"runs": runs}, indent=1))
        os.replace(tmp, self.path)

    def update(self, change: Callable[[dict[str, dict[str, Any]]], None]) -> None:
        with self._locked():
            runs = self._read()
            change(runs)
            self._write(runs)

    def runs(self) -> dict[str, dict[str, Any]]:
        with self._locked():
            return self._read()


def process_alive(pid: int, create_time: float) -> bool:
    """True if that very process still runs (a recycled pid has another start time)."""
    try:
        return abs(psutil.Process(pid).create_time() - create_time) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False
