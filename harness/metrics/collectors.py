"""1 Hz collectors, run in the orchestrator (never in a load-generating process).

Each source has its own thread, so a slow scrape (a target stuck on a dead Redis)
never delays the others. A failed scrape is recorded as a gap (`ok: false`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from harness.stack.base import Stack

REDIS_FIELDS = ("keyspace_hits", "keyspace_misses", "evicted_keys", "expired_keys",
                "connected_clients", "used_memory", "instantaneous_ops_per_sec",
                "total_commands_processed", "rejected_connections")
PG_QUERY = """
SELECT xact_commit, xact_rollback, numbackends, tup_fetched, tup_returned, tup_inserted,
       tup_updated, blks_hit, blks_read
FROM pg_stat_database WHERE datname = current_database()
"""


def series_key(name: str, labels: dict[str, str]) -> str:
    """Prometheus style: `name{a="1",b="2"}`, labels sorted, no braces without labels."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{labels[k]}"' for k in sorted(labels))
    return f"{name}{{{inner}}}"


def parse_target_metrics(text: str, rename: dict[str, str] | None = None) -> dict[str, float]:
    """Every `stampede_*` series (after mapping the service's own names to ours), no buckets."""
    theirs_to_ours = {v: k for k, v in (rename or {}).items()}
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name
            for theirs, ours in theirs_to_ours.items():
                if name == theirs or name.startswith(theirs + "_"):
                    name = ours + name[len(theirs):]
                    break
            if not name.startswith("stampede_") or name.endswith(("_bucket", "_created")):
                continue
            samples[series_key(name, sample.labels)] = float(sample.value)
    return samples


def target_source(url: str, rename: dict[str, str] | None = None,
                  timeout: float = 1.0) -> Callable[[], dict[str, float]]:
    session = requests.Session()

    def scrape() -> dict[str, float]:
        resp = session.get(url, timeout=timeout)
        resp.raise_for_status()
        return parse_target_metrics(resp.text, rename)

    return scrape


def redis_source(client: Any) -> Callable[[], dict[str, float]]:
    def scrape() -> dict[str, float]:
        info = client.info()
        return {k: info[k] for k in REDIS_FIELDS if k in info}

    return scrape


def postgres_source(database_url: str) -> Callable[[], dict[str, float]]:
    import psycopg

    conn: list[Any] = [None]

    def scrape() -> dict[str, float]:
        if conn[0] is None or conn[0].closed:
            conn[0] = psycopg.connect(database_url, autocommit=True, connect_timeout=2)
        try:
            cur = conn[0].execute(PG_QUERY)
            row = cur.fetchone()
            names = [d.name for d in cur.description]
        except Exception:
            conn[0].close()
            raise
        return {n: float(v) for n, v in zip(names, row or (), strict=False) if v is not None}

    return scrape


class Collector(threading.Thread):
    """Calls `scrape` every `interval` seconds and hands the result (or the error) to `record`."""

    def __init__(self, source: str, scrape: Callable[[], dict[str, float]],
                 record: Callable[..., None], stop: threading.Event, interval: float = 1.0) -> None:
        super().__init__(name=f"collector-{source}", daemon=True)
        self.source = source
        self.scrape = scrape
        self.record = record
        self.stop_event = stop
        self.interval = interval

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            try:
                samples = self.scrape()
            except Exception as exc:  # a gap, never a crash
                self.record(self.source, False, error=f"{type(exc).__name__}: {exc}"[:300])
            else:
                self.record(self.source, True, samples)
            next_at += self.interval
            now = time.monotonic()
            if next_at < now:  # a slow scrape: skip the missed ticks rather than burst
                next_at = now + self.interval
            self.stop_event.wait(next_at - now)


def collectors_for(stack: Stack, record: Callable[..., None],
                   stop: threading.Event) -> list[Collector]:
    """One unstarted collector per source the stack offers: its metrics, Redis, the database."""
    sources: list[tuple[str, Callable[[], dict[str, float]]]] = []
    if stack.metrics_url:
        sources.append(("target", target_source(stack.metrics_url, dict(stack.metric_names))))
    redis_client = stack.redis_client()
    if redis_client is not None:
        sources.append(("redis", redis_source(redis_client)))
    if stack.database_url:
        sources.append(("postgres", postgres_source(stack.database_url)))
    return [Collector(name, scrape, record, stop) for name, scrape in sources]
