"""RunResult reads a hand-built folder: windows, margins, rates, percentiles, metric gaps."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from harness import histogram
from harness.results import RunResult

from .builders import ResultsBuilder, breaker_key


@pytest.fixture
def run(tmp_path) -> RunResult:
    b = ResultsBuilder(tmp_path, duration=60, steady=(5, 20))
    b.fault("redis-outage", 30, 45, lag=0.004)
    b.traffic(0, 30, rps=100, latency_ms=10)
    b.traffic(30, 45, rps=100, error_rate=0.2, latency_ms=10, slow_ms=300, slow_fraction=0.05)
    b.traffic(45, 60, rps=50, latency_ms=10)
    b.traffic(0, 60, rps=10, endpoint="GET /me", latency_ms=5)
    b.metric(breaker_key(), lambda t: 1 if 31 <= t < 46 else 0)
    b.gap(50)
    b.counter(12, "ownership_checked", 57)
    b.counter(33, "ownership_checked", 3)
    return RunResult.load(b.write())


def test_windows_resolve_from_timeline_and_experiment(run: RunResult) -> None:
    assert run.window("steady").start == 5 and run.window("steady").end == 20
    during = run.window("during:redis-outage")
    assert during.start == pytest.approx(30.004) and during.end == pytest.approx(45.004)
    after = run.window("after:redis-outage")
    assert after.start == pytest.approx(45.004) and after.end == 60
    assert run.window("after:redis-outage:10s").end == pytest.approx(55.004)
    assert (run.window("10s-40s").start, run.window("10s-40s").end) == (10, 40)
    trimmed = run.window("during:redis-outage", margin="2s")
    assert trimmed.start == pytest.approx(32.004) and trimmed.end == pytest.approx(43.004)
    with pytest.raises(ValueError, match="no fault named 'nope'.*redis-outage"):
        run.window("during:nope")
    with pytest.raises(ValueError, match="is not valid"):
        run.window("sometime")


def test_counts_rates_and_percentiles(run: RunResult) -> None:
    during = run.window("during:redis-outage")
    # seconds 30..44 have midpoints inside [30.004, 45.004)
    assert run.requests(during, "GET /products/{id}") == 15 * 100
    assert run.failures(during, "GET /products/{id}") == 15 * 20
    assert run.error_rate(during, "GET /products/{id}") == pytest.approx(0.2)
    assert run.requests(run.window("all")) == 30 * 100 + 15 * 100 + 15 * 50 + 60 * 10
    hist = {histogram.bucket_of(10): 95, histogram.bucket_of(300): 5}
    assert run.percentile(0.99, during, "GET /products/{id}") == histogram.percentile(hist, 0.99)
    assert run.percentile(0.5, during, "GET /products/{id}") == histogram.percentile(hist, 0.5)
    assert run.percentile(0.99, run.window("steady"), "GET /nothing") is None
    series = run.per_second("GET /products/{id}")
    assert series["count"][31] == 100 and series["count"][50] == 50
    p99 = run.latency_series(0.99, "GET /products/{id}")
    assert p99[35] == pytest.approx(histogram.upper_ms(histogram.bucket_of(300)))
    assert p99[10] == pytest.approx(histogram.upper_ms(histogram.bucket_of(10)))


def test_metrics_keep_gaps_and_counters_sum_by_window(run: RunResult) -> None:
    t, v = run.metric("stampede_circuit_state", dependency="redis")
    assert math.isnan(v[list(t).index(50.01)])
    assert v[list(t).index(35.01)] == 1 and v[list(t).index(20.01)] == 0
    assert run.metric("stampede_circuit_state", dependency="db") is None
    assert run.counter_sum("ownership_checked") == 60
    assert run.counter_sum("ownership_checked", run.window("steady")) == 57


def test_signals_are_read_by_key_and_named_by_their_expression(tmp_path) -> None:
    key = 'breaker_open{dependency="redis"}'
    b = ResultsBuilder(tmp_path, signals={key: 'app_cb{name="redis",state="open"}'})
    b.metric(key, lambda t: 1 if t >= 30 else None, source="signals")
    run = RunResult.load(b.write())
    t, v = run.signal("breaker_open", dependency="redis")
    assert len(t) == 60 and (v[:30] == 0).all() and (v[30:] == 1).all()
    assert run.signal_expression("breaker_open", dependency="redis") == 'app_cb{name="redis",state="open"}'
    assert run.signal("breaker_open", dependency="db") is None


def test_not_a_results_folder_names_the_path(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="not a results folder"):
        RunResult.load(tmp_path)


def test_a_torn_last_line_is_skipped(tmp_path) -> None:
    b = ResultsBuilder(tmp_path)
    b.traffic(0, 10, rps=5)
    path = b.write()
    with (path / "requests.jsonl").open("a") as fh:
        fh.write('{"t": 10, "endpoint": "GET /products/{id}", "cou')
    run = RunResult.load(path)
    assert run.requests() == 50 and run.n_seconds == 10


def test_results_import_nothing_of_the_invariants() -> None:
    """The invariants take a RunResult; a RunResult never calls them (no import cycle)."""
    code = ("import sys, harness.results\n"
            "print(sorted(m for m in sys.modules if m.startswith('harness.invariants')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert not hasattr(RunResult, "check") and not hasattr(RunResult, "expect")


def test_windows_take_any_duration(run: RunResult) -> None:
    assert run.window("after:redis-outage:1m30s").end == pytest.approx(135.004)
    explicit = run.window("500ms-0m50s")
    assert (explicit.start, explicit.end) == (0.5, 50.0)
    with pytest.raises(ValueError, match="window '10s--40s' is not valid"):
        run.window("10s--40s")


def test_a_window_has_one_label(run: RunResult) -> None:
    during = run.window("during:redis-outage")
    assert during.label() == "during:redis-outage (30.0s-45.0s)"
    assert during.label("1,500 requests") == "during:redis-outage (30.0s-45.0s, 1,500 requests)"
