"""no_cross_user_data, sessions_fail_closed, no_data_loss, rate_limit_holds."""

from __future__ import annotations

from .builders import STARTED_AT, ResultsBuilder
from .helpers import judged


def test_no_cross_user_data(tmp_path) -> None:
    b = ResultsBuilder(tmp_path)
    b.counter(10, "ownership_checked", 500).counter(40, "ownership_checked", 70)
    clean = b.write()
    v = judged(clean, "no_cross_user_data")
    assert v.passed and v.measured == 0 and "570 personalised responses checked" in v.reason
    b.violation(31.2, "cross_user", "GET /me", "17", "4")
    b.violation(33.0, "cross_user", "GET /feed", "3", "9")
    v = judged(b.write(), "no_cross_user_data")
    assert not v.passed and v.measured == 2
    assert v.reason == ("2 cross-user responses in 570 personalised responses checked in all (0.0s-60.0s); "
            "first at 31.2s on GET /me: expected 17, received 4")
    steady = judged(b.path, "no_cross_user_data", window="steady")
    assert steady.passed and steady.id == "no_cross_user_data[steady]"


def test_no_cross_user_data_with_nothing_checked_fails(tmp_path) -> None:
    v = judged(ResultsBuilder(tmp_path).write(), "no_cross_user_data")
    assert not v.passed and "no personalised responses checked" in v.reason


def test_sessions_fail_closed(tmp_path) -> None:
    b = ResultsBuilder(tmp_path)
    b.counter(12, "session_probed", 40)
    assert judged(b.write(), "sessions_fail_closed").passed
    b.violation(31.5, "session_granted", "GET /me", "401/403/503", 200)
    v = judged(b.write(), "sessions_fail_closed")
    assert not v.passed and v.measured == 1
    assert "1 granted revoked session in 40 revoked-session probes checked" in v.reason
    assert "received 200" in v.reason
    empty = judged(ResultsBuilder(tmp_path / "e").write(), "sessions_fail_closed")
    assert not empty.passed and "nothing to judge" in empty.reason


def test_no_data_loss(tmp_path) -> None:
    ok = judged(ResultsBuilder(tmp_path / "a").write_check(412).write(), "no_data_loss")
    assert ok.passed and ok.reason == "all 412 acknowledged writes found in postgresql"
    lost = judged(ResultsBuilder(tmp_path / "b").write_check(412, ["8812", "8813"]).write(),
                  "no_data_loss")
    assert not lost.passed and lost.measured == 2
    assert lost.reason == "2 of 412 acknowledged writes missing from postgresql (ids 8812, 8813)"
    for builder, words in ((ResultsBuilder(tmp_path / "c").write_check(0), "0 acknowledged writes"),
                           (ResultsBuilder(tmp_path / "d"), "no write_check.json"),
                           (ResultsBuilder(tmp_path / "e").write_check(5, error="db down"),
                            "read-back failed: db down")):
        v = judged(builder.write(), "no_data_loss")
        assert not v.passed and words in v.reason


def test_rate_limit_holds_fixed_windows_aligned_to_unix_time(tmp_path) -> None:
    # STARTED_AT is a multiple of 10, so run second s falls in limiter window s // 10
    assert STARTED_AT % 10 == 0
    b = ResultsBuilder(tmp_path)
    for t in range(0, 60):
        b.counter(t, "rate_limit_granted", 10, key="client-1")
        b.counter(t, "rate_limit_granted", 5, key="client-2")
    v = judged(b.write(), "rate_limit_holds", limit=100, per="10s", limiter="fixed")
    assert v.passed and v.measured == 100
    b.counter(25, "rate_limit_granted", 30, key="client-2")  # 50 + 30 = 80: fine
    b.counter(27, "rate_limit_granted", 50, key="client-1")  # 100 + 50 = 150
    v = judged(b.write(), "rate_limit_holds", limit=100, per="10s", slack=1.2, limiter="fixed")
    assert not v.passed and v.measured == 150 and v.bound == 120
    assert v.reason.startswith("client client-1 got 150 grants in the 10.0 s fixed window from 20.0s")
    assert "exceeds limit 100 x slack 1.2 = 120" in v.reason
    empty = judged(ResultsBuilder(tmp_path / "e").write(), "rate_limit_holds")
    assert not empty.passed and "no grants counted" in empty.reason


def test_rate_limit_holds_sliding_catches_a_burst_across_window_edges(tmp_path) -> None:
    b = ResultsBuilder(tmp_path)
    b.counter(8, "rate_limit_granted", 90, key="client-1")   # end of one fixed window
    b.counter(11, "rate_limit_granted", 90, key="client-1")  # start of the next
    b.counter(40, "rate_limit_granted", 100, key="client-2")
    path = b.write()
    fixed = judged(path, "rate_limit_holds", limit=100, per="10s", limiter="fixed")
    assert fixed.passed and fixed.measured == 100
    sliding = judged(path, "rate_limit_holds", limit=100, per="10s")
    assert not sliding.passed and sliding.measured == 180
    assert "client client-1 got 180 grants in the 10.0 s sliding window from 8.0s" in sliding.reason
