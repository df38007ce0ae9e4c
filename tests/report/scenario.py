"""A hand-built ten-minute game day (latency, outage, cold start) with every chart's data."""

from __future__ import annotations

import math
from pathlib import Path

from invariants.builders import ResultsBuilder, breaker_key, cache_key, db_key

DURATION = 600


def game_day(root: Path) -> Path:
    b = ResultsBuilder(root, name="game_day", duration=DURATION, steady=(20, 120))
    b.fault("redis-latency", 150, 240, type="latency", lag=0.006)
    b.fault("redis-outage", 300, 390, lag=0.011)
    b.fault("cold-start", 480, 480, proxy=None, type="flush_cache", lag=0.004)
    endpoints = {"GET /products/{id}": 300, "GET /me": 60, "GET /feed": 40, "POST /orders": 10}
    for ep, rps in endpoints.items():
        b.traffic(0, 150, rps, ep, latency_ms=4, slow_ms=30, slow_fraction=0.02)
        b.traffic(150, 240, rps, ep, latency_ms=90, slow_ms=260, slow_fraction=0.05, error_rate=0.01)
        b.traffic(300, 390, rps, ep, latency_ms=12, slow_ms=80, slow_fraction=0.03,
                  error_rate=0.08 if ep == "GET /feed" else 0.02)
        b.traffic(240, 300, rps, ep, latency_ms=4, slow_ms=30, slow_fraction=0.02)
        b.traffic(390, 400, rps, ep, latency_ms=25, slow_ms=120, slow_fraction=0.1, error_rate=0.05)
        b.traffic(400, 480, rps, ep, latency_ms=4, slow_ms=30, slow_fraction=0.02)
        b.traffic(480, 495, rps, ep, latency_ms=18, slow_ms=90, slow_fraction=0.05)
        b.traffic(495, DURATION, rps, ep, latency_ms=4, slow_ms=30, slow_fraction=0.02)

    def state(t):
        if 302 <= t < 392:
            return 1 if t < 330 or (t % 20) > 3 else 2
        return 2 if 392 <= t < 396 else 0

    b.metric(breaker_key("redis"), state)
    b.metric(breaker_key("db"), lambda t: 0)

    def hit_rate(s):
        if 300 <= s < 390:
            return 0.0
        if 480 <= s < 520:
            return 0.1 + 0.8 * (s - 480) / 40
        return 0.92

    def cumulative(rate):
        totals, acc = {}, 0.0
        for s in range(DURATION + 1):
            totals[s] = acc
            acc += rate(s)
        return lambda t: totals[int(t)]

    b.metric(cache_key("hit"), cumulative(lambda s: 300 * hit_rate(s) if not 300 <= s < 390 else 0))
    b.metric(cache_key("miss"), cumulative(lambda s: 300 * (1 - hit_rate(s)) if not 300 <= s < 390 else 0))
    b.metric(cache_key("bypass"), cumulative(lambda s: 300 if 300 <= s < 390 else 0))
    b.metric(db_key("product"), cumulative(lambda s: 300 * (1 - hit_rate(s)) if not 300 <= s < 390 else 240))
    b.metric(db_key("profile"), cumulative(lambda s: 12))
    b.metric("used_memory", lambda t: (40 + 20 * (1 - math.exp(-t / 60)) if t < 480
                                       else 4 + 50 * (1 - math.exp(-(t - 480) / 40))) * 2**20,
             source="redis")
    b.metric("evicted_keys", cumulative(lambda s: 0 if s < 200 else 5 + 3 * math.sin(s / 9)),
             source="redis")
    b.metric("keyspace_hits", cumulative(lambda s: 300 * hit_rate(s)), source="redis")
    b.metric("keyspace_misses", cumulative(lambda s: 300 * (1 - hit_rate(s))), source="redis")
    for t in (305, 306, 307):
        b.gap(t)
    for t in range(0, DURATION):
        b.counter(t, "ownership_checked", 100)
        b.counter(t, "session_probed", 2)
    b.violation(331.4, "cross_user", "GET /feed", "17", "4")
    b.violation(332.9, "cross_user", "GET /me", "88", "<script>alert(1)</script>")
    b.write_check(4211, [])
    b.event(400.0, "phase", phase="recovery")
    b.invariant("bounded_error_rate", window="steady", max=0.01)
    b.invariant("bounded_error_rate", window="during:redis-outage", max=0.05)
    b.invariant("circuit_breaker_opens", dependency="redis", within="5s", fault="redis-outage")
    b.invariant("circuit_breaker_closes", dependency="redis", within="10s", fault="redis-outage")
    b.invariant("latency_bounded", window="during:redis-latency", max_ms=200)
    b.invariant("no_cross_user_data")
    b.invariant("recovery_time", fault="redis-outage", max="30s")
    b.invariant("hit_rate_recovers", fault="cold-start", min=0.8, within="60s")
    b.invariant("no_data_loss")
    return b.write()
