"""bounded_error_rate, latency_bounded, recovery_time: pass, fail with numbers, vacuous."""

from __future__ import annotations

import pytest

from harness import histogram

from .builders import ResultsBuilder
from .helpers import judged


def outage(tmp_path, during_error=0.124, after_error=0.0, slow_until=None, duration=90):
    b = ResultsBuilder(tmp_path, duration=duration, steady=(5, 20))
    b.fault("redis-outage", 31, 61, lag=0.0)
    b.traffic(0, 31, rps=100, latency_ms=20)
    b.traffic(31, 61, rps=137, error_rate=during_error, latency_ms=20)
    recovered = slow_until or 61
    b.traffic(61, recovered, rps=100, latency_ms=400, error_rate=0.3)
    b.traffic(recovered, duration, rps=100, latency_ms=20, error_rate=after_error)
    return b.write()


def test_bounded_error_rate_passes_within_bound(tmp_path) -> None:
    v = judged(outage(tmp_path, during_error=0.02), "bounded_error_rate",
               window="during:redis-outage", max=0.05)
    assert v.passed and v.id == "bounded_error_rate[during:redis-outage]"
    assert v.measured == pytest.approx(3 / 137 * 100) and v.bound == 5.0


def test_bounded_error_rate_fails_with_the_numbers(tmp_path) -> None:
    v = judged(outage(tmp_path), "bounded_error_rate", window="during:redis-outage", max=0.05)
    assert not v.passed
    # 30 seconds x 137 requests, 17 failures each (12.4%)
    assert v.reason == ("error rate 12.4% in during:redis-outage (31.0s-61.0s, 4,110 requests) "
                        "exceeds 5.0%")


def test_bounded_error_rate_with_no_requests_fails(tmp_path) -> None:
    b = ResultsBuilder(tmp_path)
    b.fault("redis-outage", 30, 45)
    b.traffic(0, 30, rps=10)
    v = judged(b.write(), "bounded_error_rate", window="during:redis-outage")
    assert not v.passed and "no requests in during:redis-outage" in v.reason


def test_latency_bounded_pass_fail_and_vacuous(tmp_path) -> None:
    path = outage(tmp_path, slow_until=70)
    ok = judged(path, "latency_bounded", window="steady", max_ms=100)
    p99 = histogram.upper_ms(histogram.bucket_of(20))
    assert ok.passed and ok.measured == pytest.approx(p99)
    bad = judged(path, "latency_bounded", window="after:redis-outage:9s", max_ms=100)
    assert not bad.passed and bad.measured > 400
    assert "p99 latency" in bad.reason and "after:redis-outage:9s (61.0s-70.0s, 900 requests)" in bad.reason
    assert "exceeds 100 ms" in bad.reason
    none = judged(path, "latency_bounded", window="steady", endpoint="GET /me")
    assert not none.passed and "no requests" in none.reason and "for GET /me" in none.reason


def test_recovery_time_measures_heal_to_stable_stretch(tmp_path) -> None:
    v = judged(outage(tmp_path, slow_until=70), "recovery_time", max="20s", stable="10s")
    # bad seconds 61..69; the 5 s rolling window is clean from the first good second (70)
    assert v.passed and v.measured == pytest.approx(9.0)
    assert "recovered 9.0 s after heal of redis-outage at 61.0s" in v.reason


def test_recovery_time_too_slow_fails(tmp_path) -> None:
    v = judged(outage(tmp_path, slow_until=70), "recovery_time", max="5s")
    assert not v.passed and v.measured == pytest.approx(9.0) and "exceeds 5.0 s" in v.reason


def test_recovery_time_never_recovered_fails(tmp_path) -> None:
    v = judged(outage(tmp_path, after_error=0.2), "recovery_time")
    assert not v.passed and v.measured is None
    assert "never recovered after heal of redis-outage at 61.0s" in v.reason


def test_recovery_needs_the_stable_stretch_inside_the_run(tmp_path) -> None:
    # recovers at 85 s, only 5 good seconds before the 90 s end: not enough for stable=10s
    v = judged(outage(tmp_path, slow_until=85), "recovery_time", stable="10s")
    assert not v.passed and "never recovered" in v.reason


def test_recovery_time_without_baseline_fails(tmp_path) -> None:
    b = ResultsBuilder(tmp_path, steady=(5, 20))
    b.fault("redis-outage", 30, 45)
    b.traffic(25, 60, rps=10)
    v = judged(b.write(), "recovery_time")
    assert not v.passed and "no baseline" in v.reason


def test_recovery_p99_slack_widens_a_tight_baseline(tmp_path) -> None:
    b = ResultsBuilder(tmp_path, duration=90, steady=(5, 20))
    b.fault("redis-outage", 31, 61, lag=0.0)
    b.traffic(0, 31, rps=100, latency_ms=4)
    b.traffic(31, 61, rps=100, error_rate=0.5, latency_ms=4)
    b.traffic(61, 90, rps=100, latency_ms=9)  # back, but p99 2.2x a 4 ms baseline
    path = b.write()
    strict = judged(path, "recovery_time")
    assert not strict.passed and "never recovered" in strict.reason and "p99 <= 6.3 ms" in strict.reason
    slack = judged(path, "recovery_time", p99_slack_ms=20)
    assert slack.passed and slack.measured == 0.0


def _noisy_after_heal(tmp_path, noise_until: int, slow_until: int, base_noise: float = 0.1):
    """A sound recovery at 61 s, then the machine gets busy (foreign CPU) until `noise_until`
    and the service is slow while it is; the baseline was measured at `base_noise` cores."""
    b = ResultsBuilder(tmp_path, duration=100, steady=(5, 20))
    b.fault("redis-outage", 31, 61, lag=0.0)
    b.traffic(0, 31, rps=100, latency_ms=20)
    b.traffic(31, 61, rps=137, error_rate=0.1, latency_ms=20)
    b.traffic(61, slow_until, rps=100, latency_ms=400)
    b.traffic(slow_until, 100, rps=100, latency_ms=20)
    b.metric("foreign_cores", lambda t: 1.6 if 61 <= t < noise_until else base_noise,
             source="host")
    return b.write()


def test_recovery_leaves_out_seconds_the_machine_was_busy_elsewhere(tmp_path) -> None:
    path = _noisy_after_heal(tmp_path, noise_until=80, slow_until=80)
    v = judged(path, "recovery_time", max="10s", stable="5s")
    assert v.passed, v.reason
    assert "noisy seconds left out: work outside the run used 0.5 more cores" in v.reason
    off = judged(path, "recovery_time", max="10s", stable="5s", noise_cores=0)
    assert not off.passed and "noisy" not in off.reason  # the same run, judged as before


def test_recovery_noise_does_not_excuse_a_service_that_stays_slow(tmp_path) -> None:
    # busy until 70 s, but the service stays slow until 90 s: 20 s of quiet slowness
    v = judged(_noisy_after_heal(tmp_path, noise_until=70, slow_until=90), "recovery_time",
               max="10s", stable="5s")
    assert not v.passed and v.measured is not None and v.measured > 10, v.reason


def test_recovery_noise_is_relative_to_the_baseline(tmp_path) -> None:
    # the machine was as busy during the baseline: nothing is left out, recovery is late
    path = _noisy_after_heal(tmp_path, noise_until=80, slow_until=80, base_noise=1.6)
    v = judged(path, "recovery_time", max="10s", stable="5s")
    assert not v.passed and "noisy" not in v.reason


def test_recovery_judges_noisy_seconds_when_noise_leaves_nothing_else(tmp_path) -> None:
    # the machine stays busy until the load ends (the last quiet seconds have no requests):
    # the recovery is judged on every second after heal, as without the noise rule
    b = ResultsBuilder(tmp_path, duration=100, steady=(5, 20))
    b.fault("redis-outage", 31, 61, lag=0.0)
    b.traffic(0, 31, rps=100, latency_ms=20)
    b.traffic(31, 61, rps=137, error_rate=0.1, latency_ms=20)
    b.traffic(61, 95, rps=100, latency_ms=20)
    b.metric("foreign_cores", lambda t: 1.6 if t >= 40 else 0.1, source="host")
    v = judged(b.write(), "recovery_time", max="10s", stable="5s")
    assert v.passed and v.measured == 0.0, v.reason
    assert "the quiet seconds after heal had no requests, so the" in v.reason
