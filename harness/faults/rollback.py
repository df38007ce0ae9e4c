"""Rollback: undo exactly what this run applied, on every exit path, and after a SIGKILL."""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import psutil

from harness.faults.client import FaultClient, FaultError
from harness.faults.state import StateFile, process_alive


@dataclass
class RollbackReport:
    undone: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


class Rollback:
    """Every toxic added and proxy disabled goes through here: recorded in the state file
    first, then applied, so `rollback_all()` (or a later run) can undo exactly those."""

    def __init__(self, client: FaultClient, state_dir: Path | str | None = None) -> None:
        self.client = client
        self.state = StateFile(state_dir)
        self.state.ensure_writable()
        self.run_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._create_time = psutil.Process().create_time()
        self._toxics: dict[tuple[str, str], None] = {}
        self._disabled: dict[str, None] = {}
        self._lock = threading.RLock()

    def _persist(self) -> None:
        entry = {
            "pid": os.getpid(),
            "create_time": self._create_time,
            "api_url": self.client.api_url,
            "updated": time.time(),
            "toxics": [list(key) for key in self._toxics],
            "disabled": list(self._disabled),
        }
        empty = not self._toxics and not self._disabled

        def change(runs: dict[str, Any]) -> None:
            if empty:
                runs.pop(self.run_id, None)
            else:
                runs[self.run_id] = entry

        self.state.update(change)

    def applied(self) -> dict[str, list[Any]]:
        with self._lock:
            return {"toxics": [list(k) for k in self._toxics], "disabled": list(self._disabled)}

    def add_toxic(
        self,
        proxy: str,
        name: str,
        type: str,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            self._toxics[(proxy, name)] = None
            self._persist()
            try:
                self.client.add_toxic(proxy, name, type, stream, toxicity, attributes)
            except FaultError as exc:
                if exc.status is not None:  # the server said no: nothing of ours is there
                    self._toxics.pop((proxy, name), None)
                    self._persist()
                raise

    def remove_toxic(self, proxy: str, name: str) -> None:
        with self._lock:
            try:
                self.client.remove_toxic(proxy, name)
            except FaultError as exc:
                if not exc.not_found:
                    raise
            self._toxics.pop((proxy, name), None)
            self._persist()

    def disable(self, proxy: str) -> None:
        with self._lock:
            self._disabled[proxy] = None
            self._persist()
            try:
                self.client.set_enabled(proxy, False)
            except FaultError as exc:
                if exc.status is not None:
                    self._disabled.pop(proxy, None)
                    self._persist()
                raise

    def enable(self, proxy: str) -> None:
        with self._lock:
            try:
                self.client.set_enabled(proxy, True)
            except FaultError as exc:
                if not exc.not_found:
                    raise
            self._disabled.pop(proxy, None)
            self._persist()

    def rollback_all(self) -> RollbackReport:
        """Undo everything still recorded; idempotent; what fails stays recorded for later."""
        report = RollbackReport()
        with self._lock:
            for proxy, name in list(self._toxics):
                try:
                    self.remove_toxic(proxy, name)
                    report.undone.append(f"removed toxic {name} from {proxy}")
                except FaultError as exc:
                    report.failed.append(str(exc))
            for proxy in list(self._disabled):
                try:
                    self.enable(proxy)
                    report.undone.append(f"enabled proxy {proxy}")
                except FaultError as exc:
                    report.failed.append(str(exc))
        return report

    @classmethod
    def recover_stale(cls, state_dir: Path | str | None = None, timeout: float = 2.0) -> RollbackReport:
        """Undo what runs that died without rolling back (SIGKILL) left on their fault proxies.

        Runs still alive are left alone. A proxy API that refuses connections is gone, and
        took its faults with it; an API that times out keeps its entry for next time.
        """
        state = StateFile(state_dir)
        report = RollbackReport()
        for run_id, entry in state.runs().items():
            if process_alive(entry.get("pid", -1), entry.get("create_time", 0.0)):
                continue
            done = undo_entry(entry, timeout, report)
            if done:
                state.update(partial(_forget_run, run_id=run_id))
        return report


def undo_entry(entry: dict[str, Any], timeout: float, report: RollbackReport) -> bool:
    """Undo one state-file entry; True when nothing of it is left to undo."""
    api = entry.get("api_url", "")
    client = FaultClient(api, timeout=timeout)
    try:
        for proxy, name in entry.get("toxics", []):
            try:
                client.remove_toxic(proxy, name)
                report.undone.append(f"{api}: removed toxic {name} from {proxy}")
            except FaultError as exc:
                if not exc.not_found:
                    raise
        for proxy in entry.get("disabled", []):
            try:
                client.set_enabled(proxy, True)
                report.undone.append(f"{api}: enabled proxy {proxy}")
            except FaultError as exc:
                if not exc.not_found:
                    raise
    except FaultError as exc:
        if exc.unreachable:
            report.undone.append(f"{api}: fault proxy gone, nothing left to undo")
            return True
        report.failed.append(str(exc))
        return False
    finally:
        client.close()
    return True


def clear_api(client: FaultClient) -> list[str]:
    """The emergency brake: remove every toxic and enable every proxy on that API."""
    done: list[str] = []
    for name, proxy in sorted(client.proxies().items()):
        for toxic in proxy.get("toxics") or []:
            try:
                client.remove_toxic(name, toxic["name"])
                done.append(f"removed toxic {toxic['name']} ({toxic.get('type')}) from {name}")
            except FaultError as exc:
                if not exc.not_found:
                    raise
        if not proxy.get("enabled", True):
            client.set_enabled(name, True)
            done.append(f"enabled proxy {name}")
    return done


def _forget_run(runs: dict[str, Any], run_id: str) -> None:
    runs.pop(run_id, None)
