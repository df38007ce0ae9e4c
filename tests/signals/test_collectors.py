"""The target collector against a real /metrics page: raw series and signals from one
scrape, gaps on failure announced once, and no PostgreSQL collector for a URL it cannot use."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from harness.metrics.collectors import Collector, collectors_for, target_source
from harness.signals.model import signals_from

from .test_prometheus_source import MetricsPage


@pytest.fixture
def page() -> Iterator[MetricsPage]:
    p = MetricsPage()
    p.thread.start()
    yield p
    p.server.shutdown()


def test_one_scrape_gives_raw_series_and_signals(page: MetricsPage):
    page.body = ('stampede_circuit_state{dependency="redis"} 1\n'
                 'app_cb_state{name="redis",state="open"} 1\n')
    defaults = target_source(page.url)()
    assert defaults["target"] == {'stampede_circuit_state{dependency="redis"}': 1.0}
    assert defaults["signals"]['breaker_open{dependency="redis"}'] == 1.0
    assert 'cache_requests{result="hit"}' not in defaults["signals"]  # never exposed
    signals, _ = signals_from({"breaker_open": {"redis": 'app_cb_state{state="open"}'}})
    theirs = target_source(page.url, signals.series())()
    assert theirs["signals"]['breaker_open{dependency="redis"}'] == 1.0


def test_a_failing_source_is_a_gap_every_tick_and_news_once(page: MetricsPage):
    page.down = True
    records: list[tuple[str, bool, Any]] = []
    said: list[str] = []
    stop = threading.Event()

    def record(source: str, ok: bool, samples: Any = None, error: str | None = None) -> None:
        records.append((source, ok, error))
        if len(records) >= 6:
            stop.set()

    collector = Collector("target", target_source(page.url), record, stop, interval=0.05,
                          sources=("target", "signals"), announce=said.append)
    collector.start()
    collector.join(timeout=10)
    assert not collector.is_alive()
    assert {source for source, _, _ in records} == {"target", "signals"}
    assert all(not ok and "500" in (error or "") for _, ok, error in records)
    assert len(said) == 1 and "collector target" in said[0] and "said once" in said[0]


class _Stack:
    """Addresses only: collectors_for reads nothing else."""

    def __init__(self, metrics_url: str | None, database_url: str | None) -> None:
        self.metrics_url = metrics_url
        self.database_url = database_url

    def redis_client(self) -> None:
        return None


def test_no_postgres_collector_for_a_url_it_cannot_read():
    stop = threading.Event()
    names = [c.source for c in collectors_for(_Stack(None, "sqlite:///x.db"), print, stop)]  # type: ignore[arg-type]
    assert names == ["host"]
    names = [c.source for c in collectors_for(_Stack("http://127.0.0.1:9/m", "postgresql://u@h/d"),
                                              print, stop)]  # type: ignore[arg-type]
    assert names == ["target", "postgres", "host"]
