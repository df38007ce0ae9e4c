"""The Prometheus source against a real server: the same values as the scrape source,
any PromQL, gaps named (a service that stops answering, a server that is gone)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.signals.evaluate import ScrapeEvaluator
from harness.signals.model import signals_from
from harness.signals.prometheus import (
    PrometheusClient,
    PrometheusCollector,
    PrometheusError,
    PrometheusSignals,
    instance_of,
)

from .prometheus_server import PrometheusServer


class MetricsPage:
    """A /metrics endpoint whose body the test sets; `down` answers 500 (a failed scrape)."""

    def __init__(self) -> None:
        self.body = ""
        self.down = False
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                status = 500 if page.down else 200
                data = page.body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/metrics"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def set(self, opens: int, leaves: int, state: str) -> None:
        lines = [f'circuit{{name="redis",event="open"}} {opens}'] if opens else []
        if leaves:
            lines.append(f'circuit{{name="redis",event="halfOpen"}} {leaves}')
        for s in ("closed", "open", "half_open"):
            lines.append(f'app_cb_state{{name="redis",state="{s}"}} {int(s == state)}')
        self.body = "# TYPE circuit counter\n" + "\n".join(lines) + "\n"


@pytest.fixture
def page() -> Iterator[MetricsPage]:
    p = MetricsPage()
    p.set(0, 0, "closed")
    p.thread.start()
    yield p
    p.server.shutdown()


SIGNALS = {
    "breaker_open": {"redis": {"opens": 'circuit{name="redis",event="open"}',
                               "leaves": 'circuit{name="redis",event="halfOpen"}'}},
    "breaker_half_open": {"redis": 'app_cb_state{name="redis",state="half_open"} == 1'},
    "db_inflight": 'app_cb_state{name="redis",state="open"}',
}


def test_same_values_as_the_scrape_source_and_gaps_named(page: MetricsPage, tmp_path: Path):
    signals, problems = signals_from(SIGNALS)
    assert problems == []
    series = signals.series()
    instance = instance_of(page.url)
    scrape = ScrapeEvaluator(series)
    seen: list[dict[str, float]] = []
    with PrometheusServer(tmp_path / "prom", [instance]) as prom:
        prom.wait_scraped(instance)
        start = time.time()
        # closed, open (first event: the counter appears), half-open, closed
        for opens, leaves, state in [(0, 0, "closed"), (1, 0, "open"), (1, 1, "half_open"),
                                     (1, 1, "closed")]:
            page.set(opens, leaves, state)
            seen.append(scrape.evaluate_text(page.body))
            time.sleep(3.2)
        page.down = True  # failed scrapes: up == 0
        time.sleep(3.2)
        end = time.time()
        client = PrometheusClient(prom.url)
        steps = PrometheusSignals(client, series, instance).fetch(start, end)
        interval = client.interval_seen(instance, start, end)
        configured = client.scrape_interval(instance)

    key_open = 'breaker_open{dependency="redis"}'
    key_half = 'breaker_half_open{dependency="redis"}'
    # a signal is absent until its expression first matches, 0 when nothing matches after
    assert [s.get(key_open) for s in seen] == [None, 1, 0, 0]
    assert [s[key_half] for s in seen] == [0, 0, 1, 0]
    # from Prometheus a comparison that never held yet returns no series: absent, read as 0
    values = [(s.samples.get(key_open, 0.0), s.samples.get(key_half, 0.0))
              for s in steps if s.samples]
    # every state the scrape source saw, in the same order, each for several steps
    changes = [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
    assert changes == [(0, 0), (1, 0), (0, 1), (0, 0)]
    gaps = [s for s in steps if s.samples is None]
    assert gaps and all("up == 0" in (s.error or "") or "no up sample" in (s.error or "")
                        for s in gaps)
    assert gaps[-1].ts == steps[-1].ts  # the service stopped answering: the end is a gap
    assert interval is not None and 0.5 <= interval <= 1.5
    assert configured == 1.0


def test_any_promql_evaluates_and_bad_promql_is_named(page: MetricsPage, tmp_path: Path):
    instance = instance_of(page.url)
    with PrometheusServer(tmp_path / "prom", [instance]) as prom:
        prom.wait_scraped(instance)
        client = PrometheusClient(prom.url)
        assert client.expression_error('sum(app_cb_state{state="closed"})') is None
        assert "parse error" in (client.expression_error("sum(app_cb_state") or "")
        page.set(3, 1, "open")
        time.sleep(2.5)
        now = time.time()
        expr = 'circuit{event="open"} - ignoring(event) circuit{event="halfOpen"}'
        values = client.query_range(expr, now - 1, now)
        assert set(values.values()) == {2.0}


def test_a_server_that_is_gone_is_named_and_its_steps_are_gaps(tmp_path: Path):
    prom = PrometheusServer(tmp_path / "prom", ["127.0.0.1:9"]).start()
    url = prom.url
    prom.stop()
    client = PrometheusClient(url, timeout=1)
    with pytest.raises(PrometheusError, match=f"Prometheus at {url} did not answer"):
        client.probe()
    steps = PrometheusSignals(client, {"db_inflight": "x"}, "127.0.0.1:9").fetch(100.0, 103.0)
    assert [s.ts for s in steps] == [100.0, 101.0, 102.0, 103.0]
    assert all(s.samples is None and url in (s.error or "") for s in steps)


def test_the_collector_records_run_seconds_and_keeps_what_came_before_the_server_died(
        page: MetricsPage, tmp_path: Path):
    instance = instance_of(page.url)
    records: list[tuple[float, bool, str | None]] = []
    stop = threading.Event()
    with PrometheusServer(tmp_path / "prom", [instance]) as prom:
        prom.wait_scraped(instance)
        t0 = time.time()
        signals = PrometheusSignals(PrometheusClient(prom.url, timeout=1),
                                    {"db_inflight": 'app_cb_state{state="closed"}'}, instance)
        collector = PrometheusCollector(signals, t0, lambda t, ok, s, e: records.append((t, ok, e)),
                                        stop, chunk_s=1.0, lag_s=1.5)
        collector.start()
        deadline = time.monotonic() + 15
        while not any(ok for _, ok, _ in records) and time.monotonic() < deadline:
            time.sleep(0.2)
    # the server is gone now: what is left of the run is gaps naming it
    time.sleep(1.5)
    stop.set()
    collector.join(timeout=15)
    assert not collector.is_alive()
    times = [t for t, _, _ in records]
    assert times == sorted(times) and times[0] == 0.0
    assert all(b - a == pytest.approx(1.0) for a, b in zip(times, times[1:], strict=False))
    assert any(ok for _, ok, _ in records)
    assert not records[-1][1] and "Prometheus at" in (records[-1][2] or "")
