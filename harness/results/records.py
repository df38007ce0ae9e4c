"""Typed records of a results folder: request buckets, per-second totals, timeline events.

msgspec Structs, so a reader decodes a line straight into its type at C speed and a
writer can no longer mix up positions (`bucket[1]`: failures or count?).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec


def is_failure_class(kind: str) -> bool:
    """A failure key that is a class (`5xx`, `timeout`), not an exact status (`503`).

    A failed request is counted under its class and, for HTTP errors, under its status
    too (`{"5xx": 3, "503": 3}`); only the classes add up to the number of failures.
    """
    return not kind.isdigit()


def failure_count(failures: Mapping[str, int]) -> int:
    """Failed requests in a `failures` map: the classes summed, statuses skipped."""
    return sum(n for kind, n in failures.items() if is_failure_class(kind))


class RequestBucket(msgspec.Struct):
    """One endpoint's requests in one second, as the recorder adds them up.

    `failures`: failure kind -> requests (see is_failure_class); `hist`: latency
    bucket index (harness.histogram) -> requests. `count` includes the failures.
    """

    count: int = 0
    failures: dict[str, int] = {}
    hist: dict[int, int] = {}

    @property
    def failed(self) -> int:
        return failure_count(self.failures)


class RequestRecord(RequestBucket):
    """One line of requests.jsonl: a bucket with its second and endpoint.

    Unknown fields are ignored, so the format can grow; `t` is read as a float so a
    hand-written `12.0` is not refused (the recorder writes whole seconds).
    """

    t: float = 0.0
    endpoint: str = ""


class SecondTotals(msgspec.Struct):
    """All endpoints' requests in one second: what halt conditions and progress look at."""

    count: int = 0
    failures: int = 0  # failed requests (classes only, see is_failure_class)
    hist: dict[int, int] = {}


class TimelineEvent(msgspec.Struct, frozen=True):
    """One line of timeline.jsonl; which fields are set depends on `kind`.

    `fault_start`/`fault_end`: fault, planned_t, proxy, type, error, interrupted;
    `phase`: phase; `halt`: reason; `worker_lost`: worker, how; `run_end`: status.
    """

    kind: str = ""
    t: float = 0.0
    ts: float | None = None
    fault: str | None = None
    planned_t: float | None = None
    proxy: str | None = None
    type: str | None = None
    error: str | None = None
    interrupted: bool = False
    phase: str | None = None
    reason: str | None = None
    worker: str | None = None
    how: str | None = None
    status: str | None = None

    @classmethod
    def from_dict(cls, record: Mapping[str, object]) -> TimelineEvent:
        return msgspec.convert(record, cls)



class ExperimentFault(msgspec.Struct, frozen=True):
    """The planned part of one entry of experiment.json `faults` (run seconds)."""

    name: str | None = None
    proxy: str | None = None
    type: str | None = None
    start: float | None = None
    end: float | None = None  # = start for instant actions

    @classmethod
    def from_dict(cls, record: Mapping[str, object]) -> ExperimentFault:
        return msgspec.convert(record, cls)
