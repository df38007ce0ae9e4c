"""backend_protected, single_flight, stale_served, hit_rate_recovers on metric samples."""

from __future__ import annotations

import pytest

from .builders import ResultsBuilder, cache_key, db_key
from .helpers import judged


def cumulative(rate_of):
    """A counter's value at t when it grows by rate_of(s) in each second s < t."""
    def value(t):
        return sum(rate_of(s) for s in range(int(t)))
    return value


def test_backend_protected(tmp_path) -> None:
    b = ResultsBuilder(tmp_path)
    b.fault("redis-outage", 30, 45, lag=0.0)
    b.metric(db_key("product"), cumulative(lambda s: 300 if 30 <= s < 45 else 20))
    b.metric(db_key("profile"), cumulative(lambda s: 10))
    path = b.write()
    ok = judged(path, "backend_protected", window="steady", max_qps=50)
    assert ok.passed and ok.measured == pytest.approx(30)
    bad = judged(path, "backend_protected", window="during:redis-outage", max_qps=200)
    assert not bad.passed and bad.measured == pytest.approx(310)
    assert "max database queries/s 310 in during:redis-outage (30.0s-45.0s)" in bad.reason
    assert "exceeds 200" in bad.reason
    mean = judged(path, "backend_protected", window="during:redis-outage", max_qps=400,
                  query="product", stat="mean")
    assert mean.passed and mean.measured == pytest.approx(300)
    absent = judged(ResultsBuilder(tmp_path / "n").write(), "backend_protected", max_qps=1)
    assert not absent.passed and "db_queries (stampede_db_queries_total) matched no series" in absent.reason


def stampede_run(tmp_path, fetches: int, name="s"):
    b = ResultsBuilder(tmp_path / name)
    b.fault("expire-hot", 20, 20, proxy=None, type="expire_key", lag=0.3)
    b.fault("expire-hot-2", 40, 40, proxy=None, type="expire_key", lag=0.3)
    b.metric(db_key("product"), cumulative(lambda s: fetches if s in (20, 40) else 0))
    return b.write()


def test_single_flight(tmp_path) -> None:
    ok = judged(stampede_run(tmp_path, 1), "single_flight")
    assert ok.passed and ok.measured == 1
    bad = judged(stampede_run(tmp_path, 37, "b"), "single_flight", max=1)
    assert not bad.passed and bad.measured == 37
    assert bad.reason.startswith('37 database fetches{query="product"} within 2s of the expiry at 20.3s')
    idle = judged(stampede_run(tmp_path, 0, "c"), "single_flight")
    assert not idle.passed and "never read again" in idle.reason
    none = judged(ResultsBuilder(tmp_path / "d").write(), "single_flight")
    assert not none.passed and "no expire_key or flush_cache" in none.reason


def db_down(tmp_path, error_rate=0.01, stale=True, name="s"):
    b = ResultsBuilder(tmp_path / name)
    b.fault("db-outage", 30, 50, proxy="db", lag=0.0)
    b.traffic(0, 60, rps=50, error_rate=0.0)
    b.traffic(30, 50, rps=50, error_rate=error_rate)
    b.metric(cache_key("stale"), cumulative(lambda s: 40 if stale and 30 <= s < 50 else 0))
    return b.write()


def test_stale_served(tmp_path) -> None:
    ok = judged(db_down(tmp_path, 0.02), "stale_served", min=0.95)
    assert ok.passed and ok.measured == pytest.approx(98.0)
    assert ok.id == "stale_served" and "800 stale reads" in ok.reason
    bad = judged(db_down(tmp_path, 0.2, name="b"), "stale_served", min=0.95)
    assert not bad.passed and bad.measured == pytest.approx(80.0)
    assert bad.reason == ("GET /products/{id} success 80.0% of 1,000 requests in during:db-outage "
                          "(30.0s-50.0s), 800 stale reads; below 95.0%")
    unstale = judged(db_down(tmp_path, 0.0, stale=False, name="c"), "stale_served")
    assert not unstale.passed and "no stale value was served" in unstale.reason
    nothing = judged(db_down(tmp_path, name="d"), "stale_served", endpoint="GET /nothing")
    assert not nothing.passed and "no GET /nothing requests" in nothing.reason


def cold_start(tmp_path, warm_after: int, source="target", name="s"):
    b = ResultsBuilder(tmp_path / name, duration=90)
    b.fault("flush", 30, 30, proxy=None, type="flush_cache", lag=0.0)

    def hits(s):
        return 90 if s < 30 or s >= 30 + warm_after else 10

    def misses(s):
        return 100 - hits(s)
    if source == "target":
        b.metric(cache_key("hit"), cumulative(hits)).metric(cache_key("miss"), cumulative(misses))
    else:
        b.metric("keyspace_hits", cumulative(hits), source="redis")
        b.metric("keyspace_misses", cumulative(misses), source="redis")
    return b.write()


def test_hit_rate_recovers(tmp_path) -> None:
    ok = judged(cold_start(tmp_path, 8), "hit_rate_recovers", min=0.8, within="20s")
    # warm from second 38; the 5 s ratio first reaches 80% when all 5 seconds are warm (43.01)
    assert ok.passed and ok.measured == pytest.approx(13.01, abs=0.01)
    assert "target cache hit/(hit+miss) back to" in ok.reason
    slow = judged(cold_start(tmp_path, 30, name="b"), "hit_rate_recovers", within="20s")
    assert not slow.passed and slow.measured == pytest.approx(35.01, abs=0.01)
    never = judged(cold_start(tmp_path, 99, name="c"), "hit_rate_recovers")
    assert not never.passed and "never reached 80%" in never.reason and "last 10%" in never.reason
    redis = judged(cold_start(tmp_path, 8, "redis", name="d"), "hit_rate_recovers", within="20s")
    assert redis.passed and "Redis keyspace_hits" in redis.reason
    empty = ResultsBuilder(tmp_path / "e")
    empty.fault("flush", 30, 30, proxy=None, type="flush_cache")
    v = judged(empty.write(), "hit_rate_recovers")
    assert not v.passed and "no cache hit/miss counters" in v.reason


def test_hit_rate_recovers_fails_when_every_lookup_after_heal_failed(tmp_path) -> None:
    b = ResultsBuilder(tmp_path, duration=60)
    b.fault("redis-outage", 20, 30, lag=0.0)
    b.metric(cache_key("hit"), cumulative(lambda s: 90 if s < 20 else 0))
    b.metric(cache_key("miss"), cumulative(lambda s: 10 if s < 20 else 0))
    b.metric(cache_key("error"), cumulative(lambda s: 60 if s >= 20 else 0))
    v = judged(b.write(), "hit_rate_recovers", within="20s")
    assert not v.passed
    assert "every cache lookup after heal of redis-outage at 30.0s failed" in v.reason
    assert "60/s" in v.reason
