"""Correctness checks a Locust user makes on the responses it gets.

Locustfiles (ours and our users') call these; the recorder installed in each Locust
process decides where the records go (per-second counters and event files of a run).
Outside a run they land in a `MemorySink`, so a locustfile can be unit-tested.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any, Protocol

from harness.results.counters import (
    CROSS_USER,
    OWNERSHIP_CHECKED,
    RATE_LIMIT_DENIED,
    RATE_LIMIT_GRANTED,
    READ_CHECKED,
    SESSION_GRANTED,
    SESSION_PROBED,
    STALE_READ,
)

__all__ = [  # the counter names stay importable from here, where locustfiles look
    "OWNERSHIP_CHECKED", "RATE_LIMIT_DENIED", "RATE_LIMIT_GRANTED", "READ_CHECKED",
    "SESSION_PROBED",
]

# The target file's `target.ownership_field`, handed to every local Locust process.
OWNERSHIP_FIELD_ENV = "STAMPEDE_OWNERSHIP_FIELD"
DEFAULT_OWNERSHIP_FIELD = "user_id"


class CheckSink(Protocol):
    def count(self, name: str, key: str, n: int) -> None: ...

    def event(self, stream: str, record: dict[str, Any]) -> None: ...


class MemorySink:
    """Keeps everything in lists; the default outside a run."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}

    def count(self, name: str, key: str, n: int) -> None:
        self.counts[(name, key)] = self.counts.get((name, key), 0) + n

    def event(self, stream: str, record: dict[str, Any]) -> None:
        self.events.setdefault(stream, []).append(record)


_sink: CheckSink = MemorySink()


def install_sink(sink: CheckSink) -> CheckSink:
    """Route every check to `sink`; returns the previous one."""
    global _sink
    previous, _sink = _sink, sink
    return previous


def current_sink() -> CheckSink:
    return _sink


def count(name: str, key: str = "", n: int = 1) -> None:
    """Add to a per-second counter (for example grants per rate-limited client)."""
    _sink.count(name, key, n)


def record_violation(kind: str, endpoint: str, expected: Any, received: Any) -> None:
    _sink.event(
        "violations",
        {"ts": time.time(), "kind": kind, "endpoint": endpoint,
         "expected": expected, "received": received},
    )


def expect_owner(
    body: Mapping[str, Any] | None, expected: Any, *, endpoint: str, field: str | None = None
) -> bool:
    """Check a personalised response belongs to the caller; a mismatch is a cross-user violation.

    Counts every check, so an invariant can tell "no violation" from "nothing checked".
    `field` defaults to the target's `ownership_field` (else `user_id`), so a locustfile
    need not say it per call.
    """
    if field is None:
        field = os.environ.get(OWNERSHIP_FIELD_ENV) or DEFAULT_OWNERSHIP_FIELD
    count(OWNERSHIP_CHECKED)
    received = body.get(field) if isinstance(body, Mapping) else None
    if received is not None and str(received) == str(expected):
        return True
    record_violation(CROSS_USER, endpoint, expected, received)
    return False


def expect_refused(status: int, *, endpoint: str, session: str = "revoked") -> bool:
    """A request with a revoked or unknown session must never get a 2xx."""
    count(SESSION_PROBED)
    if 200 <= status < 300:
        record_violation(SESSION_GRANTED, endpoint, "401/403/503", status)
        return False
    return True


def expect_fresh(version: Any, written: Any, *, endpoint: str) -> bool:
    """Read-your-writes: a read right after an acknowledged write must show it (version >= written).

    A lower (or missing) version is a `stale_read` violation: a cache that was not invalidated.
    Counts every check, so "no stale read" is never confused with "nothing was read back".
    """
    count(READ_CHECKED)
    try:
        if int(version) >= int(written):
            return True
    except (TypeError, ValueError):
        pass
    record_violation(STALE_READ, endpoint, f"version >= {written}", version)
    return False


def record_write(kind: str, write_id: str, **fields: Any) -> None:
    """An acknowledged write (2xx) the source of truth must hold after the run."""
    _sink.event("writes", {"ts": time.time(), "kind": kind, "id": str(write_id), **fields})


def record_rate_limit(status: int, client_id: str) -> bool:
    """Count one request of a rate-limited client: 2xx granted, 429 denied, per client id.

    The "rate limit holds" invariant compares grants per window with the limit. Returns
    whether the status was one of those two (anything else is an error, counted as neither).
    """
    if 200 <= status < 300:
        count(RATE_LIMIT_GRANTED, client_id)
        return True
    if status == 429:
        count(RATE_LIMIT_DENIED, client_id)
        return True
    return False
