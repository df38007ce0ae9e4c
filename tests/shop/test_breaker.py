"""CircuitBreaker state machine (pure logic, a fake clock)."""

from __future__ import annotations

from targets.shop.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, **kwargs) -> CircuitBreaker:
    return CircuitBreaker("redis", failures=5, span=0.1, latency=0.1, window=8, cooldown=3.0,
                          clock=clock, **kwargs)


def test_opens_after_lasting_failures_then_probes_and_closes():
    clock = Clock()
    b = breaker(clock)
    for _ in range(10):  # a burst: all at the same instant
        b.failure()
    assert b.state == CLOSED
    clock.now += 0.2
    b.failure()
    assert b.state == OPEN and "consecutive failures" in b.reason
    assert not b.allow()
    clock.now += 3.1
    assert b.allow() and b.state == HALF_OPEN
    assert not b.allow()  # one probe at a time
    b.success()
    assert b.state == CLOSED and b.allow()


def test_failed_probe_reopens_and_a_lost_probe_is_replaced():
    clock = Clock()
    b = breaker(clock)
    for _ in range(5):
        b.failure()
        clock.now += 0.05
    assert b.state == OPEN
    clock.now += 3.1
    assert b.allow()
    b.failure()
    assert b.state == OPEN and b.reason == "half-open probe failed"
    clock.now += 3.1
    assert b.allow()  # this probe never reports back (cancelled)
    assert not b.allow()
    clock.now += 3.1
    assert b.allow()


def test_success_resets_the_failure_count():
    clock = Clock()
    b = breaker(clock)
    for _ in range(20):
        b.failure()
        b.failure()
        b.success()
        clock.now += 0.1
    assert b.state == CLOSED


def test_opens_on_slow_median_latency():
    clock = Clock()
    b = breaker(clock)
    for _ in range(7):
        b.observe_latency(0.5)
    assert b.state == CLOSED  # the window is not full yet
    b.observe_latency(0.5)
    assert b.state == OPEN and "median latency 500 ms" in b.reason
    clock.now += 3.1
    assert b.allow()
    b.success()
    assert b.state == CLOSED and len(b.durations) == 0  # old samples do not reopen it
    fast = breaker(Clock())
    for i in range(40):
        fast.observe_latency(0.5 if i % 3 == 0 else 0.002)  # a third slow: the median is fast
    assert fast.state == CLOSED


def test_disabled_never_opens_and_reports_changes():
    clock = Clock()
    changes = []
    off = breaker(clock, enabled=False)
    on = breaker(clock, on_change=lambda name, state: changes.append((name, state)))
    for _ in range(50):
        off.failure()
        on.failure()
        clock.now += 0.05
    assert off.state == CLOSED and off.allow()
    assert on.state == OPEN and changes == [("redis", OPEN)]
