"""The fault schedule: apply each fault's start and end at its planned time, and say when.

Runs in a thread of the orchestrator (never in a load-generating process), possibly under
gevent's monkey-patching, so it uses only time.sleep and Event.wait, no asyncio.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from harness.experiment.model import Experiment, PlannedFault
from harness.faults.client import FaultClient
from harness.faults.rollback import Rollback

Emit = Callable[..., Any]

# Wake this long before a planned time, then close in with short sleeps: Event.wait alone
# can overshoot by a scheduler tick, and the benchmark goal is a lag under 50 ms.
LEAD = 0.03
FINE_STEP = 0.001


class FaultSchedule:
    """One pass over an experiment's faults, relative to `t0` (a time.monotonic() value).

    Network faults go through `rollback` (so each is recorded before it is applied);
    actions call the runner's callables: `flush_cache()`, `restart_redis()`,
    `set_maxmemory(maxmemory, policy)`, `expire_key(key)`.
    """

    def __init__(
        self,
        experiment: Experiment,
        client: FaultClient,
        rollback: Rollback,
        emit: Emit,
        actions: dict[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.faults = experiment.faults_timeline()
        self.client = client
        self.rollback = rollback
        self.emit = emit
        self.actions = actions or {}
        self._active: dict[str, PlannedFault] = {}
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()

    def events(self) -> list[tuple[float, str, PlannedFault]]:
        """(planned time, "start" | "end", fault), in order; at equal times ends go first, so a
        fault that follows another on the same proxy finds it healed."""
        order: list[tuple[float, int, int, str, PlannedFault]] = []
        for index, fault in enumerate(self.faults):
            order.append((fault.start, 1, index, "start", fault))
            if not fault.is_action:
                order.append((fault.end, 0, index, "end", fault))
        order.sort(key=lambda e: e[:3])
        return [(planned, what, fault) for planned, _, _, what, fault in order]

    def active_faults(self) -> list[str]:
        with self._lock:
            return list(self._active)

    def run(self, t0: float, stop: threading.Event) -> None:
        """Block until every fault has started and ended, or `stop` is set; on stop, heal
        what is active (emitting `fault_end` with `interrupted: true`)."""
        try:
            for planned, what, fault in self.events():
                if not _wait_until(t0 + planned, stop):
                    break
                if what == "start":
                    self._start(fault, planned)
                else:
                    self._end(fault, planned)
        finally:
            for fault in list(self._active.values()):
                self._end(fault, fault.end, interrupted=True)

    def _start(self, fault: PlannedFault, planned: float) -> None:
        fields: dict[str, Any] = {"fault": fault.name, "planned_t": planned,
                                  "proxy": fault.proxy, "type": fault.type}
        try:
            self._apply(fault)
        except Exception as exc:  # a failed apply is recorded; the run goes on
            fields["error"] = _describe(exc)
            with self._lock:
                self._failed[fault.name] = fields["error"]
        else:
            if not fault.is_action:
                with self._lock:
                    self._active[fault.name] = fault
        self.emit("fault_start", **fields)
        if fault.is_action:
            self.emit("fault_end", fault=fault.name, planned_t=planned,
                      proxy=fault.proxy, type=fault.type)

    def _end(self, fault: PlannedFault, planned: float, interrupted: bool = False) -> None:
        fields: dict[str, Any] = {"fault": fault.name, "planned_t": planned,
                                  "proxy": fault.proxy, "type": fault.type}
        if interrupted:
            fields["interrupted"] = True
        with self._lock:
            start_error = self._failed.get(fault.name)
        try:
            # Also after a failed start: a call that timed out may still have been applied.
            self._heal(fault)
        except Exception as exc:
            fields["error"] = _describe(exc)
        if start_error is not None:
            fields["error"] = f"not applied: {start_error}"
        with self._lock:
            self._active.pop(fault.name, None)
        self.emit("fault_end", **fields)

    def _apply(self, fault: PlannedFault) -> None:
        if fault.is_action:
            action = self.actions.get(fault.type)
            if action is None:
                raise RuntimeError(f"no action {fault.type!r} given to the schedule")
            if fault.type == "set_maxmemory":
                action(fault.attributes["maxmemory"], fault.attributes.get("policy"))
            elif fault.type == "expire_key":
                action(fault.attributes["key"])
            else:
                action()
        elif fault.is_down:
            self.rollback.disable(_proxy_of(fault))
        else:
            self.rollback.add_toxic(_proxy_of(fault), fault.name, fault.type, fault.stream,
                                    fault.toxicity, fault.attributes)

    def _heal(self, fault: PlannedFault) -> None:
        if fault.is_down:
            self.rollback.enable(_proxy_of(fault))
        else:
            self.rollback.remove_toxic(_proxy_of(fault), fault.name)


def _wait_until(deadline: float, stop: threading.Event) -> bool:
    """Sleep until deadline (monotonic); False if stop was set first."""
    while True:
        if stop.is_set():
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return True
        if remaining > LEAD:
            if stop.wait(remaining - LEAD):
                return False
        else:
            time.sleep(min(remaining, FINE_STEP))


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _proxy_of(fault: PlannedFault) -> str:
    """The proxy a network fault acts on (validation guarantees one; actions have none)."""
    if fault.proxy is None:
        raise RuntimeError(f"fault {fault.name!r} ({fault.type}) names no proxy")
    return fault.proxy
