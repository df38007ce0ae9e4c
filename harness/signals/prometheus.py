"""Signals read from a Prometheus server the team already runs (`target.prometheus_url`).

Each signal is evaluated with /api/v1/query_range at a 1 s step over the run's window, so
any PromQL works; precision is the server's scrape interval (the interval seen is recorded).
A step is a gap, never a zero, when the query failed or Prometheus had no `up` sample of
the service then (not scraped, or scrapes failing); otherwise a signal with no series at
that step reads 0, as on the scrape source.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from harness.signals.evaluate import EventBreakerState
from harness.signals.model import EventBreaker, Expression

STEP_S = 1.0
MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 points per series and query


class PrometheusError(RuntimeError):
    """The server did not answer, or refused a query; the message names the URL."""


@dataclass
class Step:
    """One 1 s step: its Unix time, and the signal values or why it is a gap."""

    ts: float
    samples: dict[str, float] | None
    error: str | None = None


def instance_of(metrics_url: str) -> str:
    """Prometheus's default `instance` label for a scrape of `metrics_url`: host:port."""
    parts = urlsplit(metrics_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


class PrometheusClient:
    """The three calls the harness makes: probe, check an expression, query a range."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _get(self, path: str, **params: Any) -> Any:
        try:
            resp = self.session.get(f"{self.url}{path}", params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PrometheusError(f"Prometheus at {self.url} did not answer: "
                                  f"{type(exc).__name__}") from None
        try:
            body = resp.json()
        except ValueError:
            raise PrometheusError(f"Prometheus at {self.url}{path} answered {resp.status_code} "
                                  "without JSON (is this the Prometheus server's URL?)") from None
        if body.get("status") != "success":
            raise PrometheusError(f"Prometheus at {self.url} refused the query: "
                                  f"{body.get('errorType', resp.status_code)}: {body.get('error')}")
        return body.get("data")

    def probe(self) -> None:
        """PrometheusError naming the URL unless the server answers a trivial query."""
        self._get("/api/v1/query", query="1")

    def expression_error(self, expr: str) -> str | None:
        """The server's parse error for `expr`, or None when it evaluates."""
        try:
            self._get("/api/v1/query", query=expr)
        except PrometheusError as exc:
            if "refused the query" in str(exc):
                return str(exc).split("refused the query: ", 1)[1]
            raise
        return None

    def query_range(self, expr: str, start: float, end: float,
                    step: float = STEP_S) -> dict[float, float]:
        """Unix time -> the sum over the series the expression returned at that step (steps
        where it returned none are left out)."""
        data = self._get("/api/v1/query_range", query=expr, start=f"{start:.3f}",
                         end=f"{end:.3f}", step=f"{step:g}")
        sums: dict[float, float] = {}
        if data.get("resultType") == "scalar":
            ts, value = data["result"]
            return {round(float(ts), 3): float(value)}
        for series in data.get("result") or []:
            for ts, value in series.get("values") or []:
                key = round(float(ts), 3)
                sums[key] = sums.get(key, 0.0) + float(value)
        return sums

    def interval_seen(self, instance: str, start: float, end: float) -> float | None:
        """Median spacing of the `up` samples of `instance` in [start, end], in seconds."""
        span = max(1, math.ceil(end - start))
        data = self._get("/api/v1/query", query=f'up{{instance="{instance}"}}[{span}s]',
                         time=f"{end:.3f}")
        stamps = sorted(float(ts) for series in data.get("result") or []
                        for ts, _ in series.get("values") or [])
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False) if b > a]
        return round(statistics.median(gaps), 3) if gaps else None

    def scrape_interval(self, instance: str) -> float | None:
        """The interval the server is configured to scrape `instance` at, if it says."""
        data = self._get("/api/v1/targets", state="active")
        for target in data.get("activeTargets") or []:
            if target.get("labels", {}).get("instance") == instance:
                text = str(target.get("scrapeInterval") or "")
                return _seconds(text)
        return None


def _seconds(text: str) -> float | None:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for suffix in ("ms", "s", "m", "h"):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * units[suffix]
    return None


class PrometheusSignals:
    """Evaluates a run's signals over a stretch of time, step by step, gaps named."""

    def __init__(self, client: PrometheusClient, series: Mapping[str, Expression],
                 instance: str) -> None:
        self.client = client
        self.series = dict(series)
        self.instance = instance
        self._events = {key: EventBreakerState() for key, expr in self.series.items()
                        if isinstance(expr, EventBreaker)}
        self.matched: set[str] = set()  # as ScrapeEvaluator: absent until a query returns data

    def fetch(self, start: float, end: float) -> list[Step]:
        """Steps start, start+1, ... <= end; every step is a value set or a named gap.
        Long stretches go in pieces: the server answers at most 11,000 points a query."""
        total = int((end - start) // STEP_S) + 1 if end >= start else 0
        steps: list[Step] = []
        for first in range(0, total, MAX_POINTS):
            steps += self._fetch(round(start + first * STEP_S, 3), min(MAX_POINTS, total - first))
        return steps

    def _fetch(self, start: float, count: int) -> list[Step]:
        stamps = [round(start + i * STEP_S, 3) for i in range(count)]
        if not stamps:
            return []
        try:
            up = self.client.query_range(f'up{{instance="{self.instance}"}}', start, stamps[-1])
            values: dict[str, dict[float, float]] = {}
            for key, expr in self.series.items():
                if isinstance(expr, EventBreaker):
                    values[key + "\0opens"] = self.client.query_range(expr.opens, start, stamps[-1])
                    values[key + "\0leaves"] = self.client.query_range(expr.leaves, start,
                                                                       stamps[-1])
                else:
                    values[key] = self.client.query_range(expr, start, stamps[-1])
        except PrometheusError as exc:
            return [Step(ts, None, str(exc)) for ts in stamps]
        steps = []
        for ts in stamps:
            if up.get(ts) != 1.0:
                why = ("no up sample" if ts not in up else "up == 0 (the scrape failed)")
                steps.append(Step(ts, None, f"Prometheus has {why} for instance "
                                            f"{self.instance} at this step"))
                continue
            samples = {}
            for key, expr in self.series.items():
                if isinstance(expr, EventBreaker):
                    opens, leaves = values[key + "\0opens"], values[key + "\0leaves"]
                    value = self._events[key].update(opens.get(ts, 0.0), leaves.get(ts, 0.0))
                    matched = ts in opens or ts in leaves
                else:
                    value, matched = values[key].get(ts, 0.0), ts in values[key]
                if matched:
                    self.matched.add(key)
                if key in self.matched:
                    samples[key] = value
            steps.append(Step(ts, samples))
        return steps


class PrometheusCollector(threading.Thread):
    """Fetches the run's signals in chunks as the run goes (so a server that dies mid-run
    leaves gaps after, not instead of, what it had), and the rest when the run stops."""

    def __init__(self, signals: PrometheusSignals, t0: float,
                 record: Callable[[float, bool, dict[str, float] | None, str | None], None],
                 stop: threading.Event, chunk_s: float = 5.0, lag_s: float = 3.0,
                 note: Callable[..., None] | None = None) -> None:
        super().__init__(name="collector-prometheus", daemon=True)
        self.note = note
        self.signals = signals
        self.t0 = t0
        self.record = record
        self.stop_event = stop
        self.chunk_s = chunk_s
        self.lag_s = lag_s
        self.next_ts = t0
        self.end_ts: float | None = None

    def _flush(self, until: float) -> None:
        if until < self.next_ts:
            return
        steps = self.signals.fetch(self.next_ts, until)
        for step in steps:
            self.record(round(step.ts - self.t0, 3), step.samples is not None, step.samples,
                        step.error)
        if steps:
            self.next_ts = round(steps[-1].ts + STEP_S, 3)

    def run(self) -> None:
        while not self.stop_event.wait(self.chunk_s):
            self._flush(time.time() - self.lag_s)
        self.end_ts = time.time()
        # the last seconds: give the server one scrape interval (and a step) to have them
        time.sleep(min(self.lag_s, 2.0))
        self._flush(self.end_ts)
        if self.note is not None:
            self.note(**self.precision(self.end_ts))

    def precision(self, end: float) -> dict[str, object]:
        """What the verdicts' precision rests on: the server's interval, configured and seen."""
        client, instance = self.signals.client, self.signals.instance
        out: dict[str, object] = {"source": "prometheus", "url": client.url,
                                  "instance": instance}
        try:
            out["scrape_interval_s"] = client.scrape_interval(instance)
            out["interval_seen_s"] = client.interval_seen(instance, self.t0, end)
        except PrometheusError as exc:
            out["error"] = str(exc)
        return out
