"""Fault windows: each planned fault joined with the timeline events that applied and healed it.

Computed here once for everyone who asks when a fault really was on: the invariants and
the report (through RunResult) and the live view's fault table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from harness.results.records import ExperimentFault, TimelineEvent

FaultState = Literal["planned", "active", "done", "failed"]


@dataclass(frozen=True)
class FaultWindow:
    """One planned fault and, from the timeline, when it was actually applied and healed.

    `started`/`ended` are its `fault_start`/`fault_end` events (None: not yet); an
    event that carries an error did not take effect, so it gives no `start`/`end`.
    """

    name: str
    proxy: str | None
    type: str
    planned_start: float
    planned_end: float
    started: TimelineEvent | None = None
    ended: TimelineEvent | None = None

    @property
    def start(self) -> float | None:
        """Run time it was applied; None if it was not (yet, or it failed)."""
        return None if self.started is None or self.started.error else self.started.t

    @property
    def end(self) -> float | None:
        """Run time it was healed; None if it was not (yet, or healing failed)."""
        return None if self.ended is None or self.ended.error else self.ended.t

    @property
    def error(self) -> str | None:
        """Why applying (or else healing) it failed; None if neither did."""
        for event in (self.started, self.ended):
            if event is not None and event.error:
                return event.error
        return None

    @property
    def interrupted(self) -> bool:
        """Healed early because the run stopped (halt, signal, error)."""
        return self.ended is not None and self.ended.interrupted

    @property
    def onset(self) -> float:
        return self.start if self.start is not None else self.planned_start

    @property
    def heal(self) -> float:
        return self.end if self.end is not None else self.planned_end

    @property
    def state(self) -> FaultState:
        if self.error:
            return "failed"
        if self.ended is not None:
            return "done"
        return "active" if self.started is not None else "planned"


def fault_windows(planned: Sequence[Mapping[str, object]],
                  timeline: Iterable[Mapping[str, object]],
                  unplanned: bool = True) -> list[FaultWindow]:
    """The experiment.json `faults` in order, then (if `unplanned`) faults only the timeline names.

    A fault's first `fault_start` and first `fault_end` count.
    """
    starts: dict[str, TimelineEvent] = {}
    ends: dict[str, TimelineEvent] = {}
    for record in timeline:
        kind = record.get("kind")
        if kind == "fault_start":
            event = TimelineEvent.from_dict(record)
            starts.setdefault(event.fault or "", event)
        elif kind == "fault_end":
            event = TimelineEvent.from_dict(record)
            ends.setdefault(event.fault or "", event)
    out = []
    for record in planned:
        fault = ExperimentFault.from_dict(record)
        name = fault.name or ""
        start = fault.start if fault.start is not None else 0.0
        out.append(FaultWindow(
            name=name, proxy=fault.proxy, type=fault.type or "", planned_start=start,
            planned_end=fault.end if fault.end is not None else start,
            started=starts.get(name), ended=ends.get(name)))
    if unplanned:
        known = {f.name for f in out}
        for name, started in starts.items():
            if name not in known:
                ended = ends.get(name)
                out.append(FaultWindow(
                    name=name, proxy=started.proxy, type=started.type or "",
                    planned_start=_planned(started),
                    planned_end=_planned(ended or started),
                    started=started, ended=ended))
    return out


def _planned(event: TimelineEvent) -> float:
    return event.planned_t if event.planned_t is not None else event.t

