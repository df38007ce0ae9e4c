"""harness.load.checks: the helpers every locustfile calls (pure logic, a MemorySink)."""

from __future__ import annotations

import pytest

from harness.load import checks


@pytest.fixture
def sink():
    memory = checks.MemorySink()
    previous = checks.install_sink(memory)
    yield memory
    checks.install_sink(previous)


def test_expect_owner_counts_and_flags_mismatch(sink):
    assert checks.expect_owner({"user_id": 7}, 7, endpoint="GET /me")
    assert checks.expect_owner({"user_id": "7"}, 7, endpoint="GET /me")
    assert not checks.expect_owner({"user_id": 8}, 7, endpoint="GET /feed")
    assert not checks.expect_owner(None, 7, endpoint="GET /feed")
    assert sink.counts[("ownership_checked", "")] == 4
    assert [(v["expected"], v["received"]) for v in sink.events["violations"]] == [(7, 8), (7, None)]


def test_expect_refused_flags_any_2xx(sink):
    assert checks.expect_refused(401, endpoint="GET /me")
    assert checks.expect_refused(503, endpoint="GET /me")
    assert not checks.expect_refused(200, endpoint="GET /me")
    assert sink.counts[("session_probed", "")] == 3
    assert sink.events["violations"][0]["kind"] == "session_granted"


def test_record_rate_limit(sink):
    assert checks.record_rate_limit(200, "c1") and checks.record_rate_limit(429, "c1")
    assert not checks.record_rate_limit(503, "c1")
    assert sink.counts == {("rate_limit_granted", "c1"): 1, ("rate_limit_denied", "c1"): 1}


def test_record_write(sink):
    checks.record_write("order", 123, user_id=4)
    assert sink.events["writes"][0]["id"] == "123" and sink.events["writes"][0]["user_id"] == 4


def test_expect_fresh(sink):
    assert checks.expect_fresh(3, 3, endpoint="GET /me")
    assert checks.expect_fresh("4", 3, endpoint="GET /me")
    assert not checks.expect_fresh(2, 3, endpoint="GET /me")
    assert not checks.expect_fresh(None, 3, endpoint="GET /me")
    assert sink.counts[("read_checked", "")] == 4
    assert [v["kind"] for v in sink.events["violations"]] == ["stale_read", "stale_read"]
