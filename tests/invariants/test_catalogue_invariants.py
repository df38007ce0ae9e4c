"""read_your_writes and db_concurrency_bounded (added for the experiment catalogue) on hand-built runs."""

from __future__ import annotations

import pytest

from .builders import ResultsBuilder
from .helpers import judged

INFLIGHT = "stampede_db_inflight"


def test_read_your_writes(tmp_path) -> None:
    b = ResultsBuilder(tmp_path)
    b.fault("redis-partition", 30, 45, lag=0.0)
    b.counter(10, "read_checked", 50).counter(50, "read_checked", 40)
    v = judged(b.write(), "read_your_writes")
    assert v.passed and v.measured == 0 and "90 reads after writes checked" in v.reason
    b.violation(47.0, "stale_read", "GET /me (after write)", "version >= 7", 6)
    path = b.write()
    v = judged(path, "read_your_writes")
    assert not v.passed and v.measured == 1
    assert "1 stale read in 90 reads after writes checked in all (0.0s-60.0s)" in v.reason
    assert "expected version >= 7, received 6" in v.reason
    # bounded staleness: a stale read 2 s after heal is outside `after:` trimmed by 5 s
    late = judged(path, "read_your_writes", window="after:redis-partition", margin="5s")
    assert late.passed and late.id == "read_your_writes[after:redis-partition]"


def test_read_your_writes_with_nothing_read_back_fails(tmp_path) -> None:
    v = judged(ResultsBuilder(tmp_path).write(), "read_your_writes")
    assert not v.passed and "nothing to judge" in v.reason


def test_db_concurrency_bounded(tmp_path) -> None:
    b = ResultsBuilder(tmp_path)
    b.fault("db-slow", 20, 40, proxy="db", lag=0.0)
    b.metric(INFLIGHT, lambda t: 30.0 if 25 <= t < 35 else 2.0)
    path = b.write()
    ok = judged(path, "db_concurrency_bounded", window="steady", max=8)
    assert ok.passed and ok.measured == pytest.approx(2)
    bad = judged(path, "db_concurrency_bounded", window="during:db-slow", max=12)
    assert not bad.passed and bad.measured == pytest.approx(30)
    assert "max concurrent database operations 30 in during:db-slow (20.0s-40.0s)" in bad.reason
    assert "exceeds 12" in bad.reason


def test_db_concurrency_bounded_needs_the_gauge_and_a_bound(tmp_path) -> None:
    v = judged(ResultsBuilder(tmp_path).write(), "db_concurrency_bounded", max=8)
    assert not v.passed and "db_inflight (stampede_db_inflight) matched no series" in v.reason
    missing = judged(ResultsBuilder(tmp_path / "b").write(), "db_concurrency_bounded")
    assert not missing.passed and "missing required parameter 'max'" in missing.reason
