"""circuit_breaker_opens / circuit_breaker_closes on the breaker gauge."""

from __future__ import annotations

import pytest

from .builders import ResultsBuilder, breaker_key
from .helpers import judged


def breaker_run(tmp_path, opens_at=33, closes_at=50, metric=True, gaps=()):
    b = ResultsBuilder(tmp_path, duration=70)
    b.fault("redis-outage", 30, 45, lag=0.0)
    b.traffic(0, 70, rps=10)
    if metric:
        def state(t):
            if opens_at is not None and opens_at <= t < closes_at:
                return 1 if t < 40 else 2
            return 0
        b.metric(breaker_key(), state)
        b.metric(breaker_key("db"), lambda t: 0)
    for t in gaps:
        b.gap(t)
    return b.write()


def test_opens_within_bound(tmp_path) -> None:
    v = judged(breaker_run(tmp_path), "circuit_breaker_opens", dependency="redis", within="5s")
    assert v.passed and v.id == "circuit_breaker_opens[redis]"
    assert v.measured == pytest.approx(3.01)
    assert v.window == "during:redis-outage (30.0s-45.0s)"
    assert v.reason == ("breaker for redis opened 3.0 s after onset of redis-outage at 30.0s, "
                        "within 5.0 s")


def test_opens_too_late_fails_with_numbers(tmp_path) -> None:
    v = judged(breaker_run(tmp_path, opens_at=39), "circuit_breaker_opens", within="5s")
    assert not v.passed and v.measured == pytest.approx(9.01)
    assert "opened 9.0 s after onset of redis-outage at 30.0s, later than 5.0 s" in v.reason


def test_never_opens_fails(tmp_path) -> None:
    v = judged(breaker_run(tmp_path, opens_at=None), "circuit_breaker_opens")
    assert not v.passed and "never opened" in v.reason


def test_no_breaker_metric_fails(tmp_path) -> None:
    v = judged(breaker_run(tmp_path, metric=False), "circuit_breaker_opens")
    assert not v.passed and "matched no series in the whole run" in v.reason
    assert 'stampede_circuit_state{dependency="redis"} == 1' in v.reason


def test_only_gaps_during_fault_fails(tmp_path) -> None:
    v = judged(breaker_run(tmp_path, gaps=range(30, 56)), "circuit_breaker_opens", within="10s")
    assert not v.passed and "no breaker sample" in v.reason


def test_no_fault_on_that_dependency_fails(tmp_path) -> None:
    v = judged(breaker_run(tmp_path), "circuit_breaker_opens", dependency="db")
    assert not v.passed and "no fault on proxy 'db'" in v.reason


def test_closes_within_bound_and_too_late(tmp_path) -> None:
    ok = judged(breaker_run(tmp_path, closes_at=50), "circuit_breaker_closes", within="10s")
    assert ok.passed and ok.measured == pytest.approx(5.01)
    assert ok.window == "after:redis-outage (heal at 45.0s)"
    assert "closed 5.0 s after heal of redis-outage at 45.0s" in ok.reason
    late = judged(breaker_run(tmp_path / "late", closes_at=62), "circuit_breaker_closes",
                  within="10s")
    assert not late.passed and late.measured == pytest.approx(17.01)
    assert "later than 10.0 s" in late.reason


def test_closes_never_or_never_opened_fails(tmp_path) -> None:
    never = judged(breaker_run(tmp_path, closes_at=999), "circuit_breaker_closes")
    assert not never.passed and "never closed" in never.reason
    unopened = judged(breaker_run(tmp_path / "b", opens_at=None), "circuit_breaker_closes")
    assert not unopened.passed and "never opened during redis-outage" in unopened.reason


def test_an_opening_after_heal_is_not_credited_to_the_fault(tmp_path) -> None:
    v = judged(breaker_run(tmp_path, opens_at=50, closes_at=55), "circuit_breaker_opens",
               within="30s")
    assert not v.passed and "never opened between onset of redis-outage at 30.0s and heal" in v.reason
    assert "judged the first fault on proxy redis" in v.reason
