"""1 Hz collectors, run in the orchestrator (never in a load-generating process).

Each source has its own thread, so a slow scrape (a target stuck on a dead Redis)
never delays the others. A failed scrape is recorded as a gap (`ok: false`) every
time, and announced once per kind of failure (a dead source is not news every second).

One scrape of the target's /metrics gives two records: `target` (its `stampede_*`
series as exposed, for the report) and `signals` (every signal evaluated on that body:
what the invariants read, see harness.signals).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from harness.metrics.host import host_source
from harness.signals.evaluate import ScrapeEvaluator
from harness.signals.exposition import Sample, parse_exposition
from harness.signals.model import Expression, default_signals
from harness.stack.base import Stack

REDIS_FIELDS = ("keyspace_hits", "keyspace_misses", "evicted_keys", "expired_keys",
                "connected_clients", "used_memory", "instantaneous_ops_per_sec",
                "total_commands_processed", "rejected_connections")
PG_QUERY = """
SELECT xact_commit, xact_rollback, numbackends, tup_fetched, tup_returned, tup_inserted,
       tup_updated, blks_hit, blks_read
FROM pg_stat_database WHERE datname = current_database()
"""
PG_SCHEMES = ("postgresql", "postgres")

Scrape = Callable[[], dict[str, dict[str, float]]]  # source -> samples
Record = Callable[..., None]  # (source, ok, samples=None, error=None)
Announce = Callable[[str], None]


def series_key(name: str, labels: Mapping[str, str]) -> str:
    """Prometheus style: `name{a="1",b="2"}`, labels sorted, no braces without labels."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{labels[k]}"' for k in sorted(labels))
    return f"{name}{{{inner}}}"


def stampede_series(samples: list[Sample]) -> dict[str, float]:
    """Every `stampede_*` series as exposed (counters as their `_total`), no buckets."""
    out: dict[str, float] = {}
    for sample in samples:
        name = sample.name
        if not name.startswith("stampede_") or name.endswith(("_bucket", "_created")):
            continue
        out[series_key(name, sample.label_dict())] = float(sample.value)
    return out


def parse_target_metrics(text: str) -> dict[str, float]:
    """The `target` record of one /metrics body."""
    return stampede_series(parse_exposition(text))


def target_source(url: str, signals: Mapping[str, Expression] | None = None,
                  timeout: float = 1.0) -> Scrape:
    """One GET of /metrics per tick: the raw `stampede_*` series and the signals' values."""
    session = requests.Session()
    evaluator = ScrapeEvaluator(default_signals().series() if signals is None else signals)

    def scrape() -> dict[str, dict[str, float]]:
        resp = session.get(url, timeout=timeout)
        resp.raise_for_status()
        samples = parse_exposition(resp.text)
        return {"target": stampede_series(samples), "signals": evaluator.evaluate(samples)}

    return scrape


def redis_source(client: Any) -> Scrape:
    def scrape() -> dict[str, dict[str, float]]:
        info = client.info()
        return {"redis": {k: info[k] for k in REDIS_FIELDS if k in info}}

    return scrape


def postgres_source(database_url: str) -> Scrape:
    import psycopg

    conn: list[Any] = [None]

    def scrape() -> dict[str, dict[str, float]]:
        if conn[0] is None or conn[0].closed:
            conn[0] = psycopg.connect(database_url, autocommit=True, connect_timeout=2)
        try:
            cur = conn[0].execute(PG_QUERY)
            row = cur.fetchone()
            names = [d.name for d in cur.description]
        except Exception:
            conn[0].close()
            raise
        return {"postgres": {n: float(v) for n, v in zip(names, row or (), strict=False)
                             if v is not None}}

    return scrape


class Collector(threading.Thread):
    """Calls `scrape` every `interval` seconds and hands each source's samples (or the
    error, as a gap of every source it feeds) to `record`."""

    def __init__(self, name: str, scrape: Scrape, record: Record, stop: threading.Event,
                 interval: float = 1.0, sources: tuple[str, ...] | None = None,
                 announce: Announce | None = None) -> None:
        super().__init__(name=f"collector-{name}", daemon=True)
        self.source = name
        self.sources = sources or (name,)
        self.scrape = scrape
        self.record = record
        self.stop_event = stop
        self.interval = interval
        self.announce = announce
        self._announced: set[str] = set()

    def _failed(self, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:300]
        for source in self.sources:
            self.record(source, False, error=error)
        if self.announce is not None and type(exc).__name__ not in self._announced:
            self._announced.add(type(exc).__name__)
            self.announce(f"collector {self.source}: {error} (recorded as gaps; said once)")

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            try:
                by_source = self.scrape()
            except Exception as exc:  # a gap, never a crash
                self._failed(exc)
            else:
                for source, samples in by_source.items():
                    self.record(source, True, samples)
            next_at += self.interval
            now = time.monotonic()
            if next_at < now:  # a slow scrape: skip the missed ticks rather than burst
                next_at = now + self.interval
            self.stop_event.wait(next_at - now)


def collectors_for(stack: Stack, record: Record, stop: threading.Event,
                   signals: Mapping[str, Expression] | None = None,
                   scrape_signals: bool = True,
                   announce: Announce | None = None) -> list[Collector]:
    """One unstarted collector per source the stack offers: its metrics, Redis, the database.

    `signals`: series key -> expression (default: stampede's own contract);
    `scrape_signals` False when a Prometheus server gives them instead.
    """
    collectors: list[Collector] = []
    if stack.metrics_url:
        sources = ("target", "signals") if scrape_signals else ("target",)
        scrape = target_source(stack.metrics_url, signals if scrape_signals else {})
        collectors.append(Collector("target", _only(scrape, sources), record, stop,
                                    sources=sources, announce=announce))
    redis_client = stack.redis_client()
    if redis_client is not None:
        collectors.append(Collector("redis", redis_source(redis_client), record, stop,
                                    announce=announce))
    url = stack.database_url
    if url and url.split(":", 1)[0].split("+", 1)[0] in PG_SCHEMES:
        collectors.append(Collector("postgres", postgres_source(url), record, stop,
                                    announce=announce))
    # noise from outside the run (metrics/host.py)
    collectors.append(Collector("host", _single("host", host_source()), record, stop,
                                announce=announce))
    return collectors


def _single(source: str, scrape: Callable[[], dict[str, float]]) -> Scrape:
    def one() -> dict[str, dict[str, float]]:
        return {source: scrape()}

    return one


def _only(scrape: Scrape, sources: tuple[str, ...]) -> Scrape:
    def pick() -> dict[str, dict[str, float]]:
        return {k: v for k, v in scrape().items() if k in sources}

    return pick
