"""FaultClient against the real fault proxy: every call does what it says, errors name the API
and the server's answer, and no call can hang."""

from __future__ import annotations

import socket
import time

import pytest
import redis

from harness.faults import FaultClient, FaultError

from .conftest import clean, listen_port, ping_seconds


def test_toxic_round_trip_has_its_effect(client, redis_server):
    assert client.version()
    port = listen_port(client, "redis")
    client.add_toxic("redis", "slow", "latency", attributes={"latency": 300})
    assert [t["name"] for t in client.toxics("redis")] == ["slow"]
    assert ping_seconds(port, redis_server.password) >= 0.3
    client.remove_toxic("redis", "slow")
    assert clean(client)


def test_disable_refuses_connections_and_enable_restores(client, redis_server):
    port = listen_port(client, "redis")
    client.set_enabled("redis", False)
    with pytest.raises(redis.ConnectionError):
        ping_seconds(port, redis_server.password)
    client.set_enabled("redis", True)
    assert ping_seconds(port, redis_server.password) < 10
    client.add_toxic("db", "cut", "timeout", attributes={"timeout": 0})
    client.set_enabled("db", False)
    client.reset()
    assert clean(client)


def test_populate_keeps_an_existing_proxy(client):
    before = client.get_proxy("redis")
    stored = client.populate([{"name": "redis", "listen": before["listen"],
                               "upstream": before["upstream"]}])
    assert stored[0]["listen"] == before["listen"]


def test_errors_name_the_api_and_the_server_answer(client):
    with pytest.raises(FaultError) as missing:
        client.add_toxic("nope", "slow", "latency")
    assert missing.value.status == 404 and missing.value.not_found
    assert str(missing.value) == (
        f"POST {client.api_url}/proxies/nope/toxics: HTTP 404: proxy not found")
    with pytest.raises(FaultError) as bad:
        client.add_toxic("redis", "odd", "no_such_toxic")
    assert bad.value.status == 400 and "HTTP 400: invalid toxic type" in str(bad.value)


def test_a_silent_api_cannot_hang_a_call():
    """A socket that accepts but never answers: the call gives up after its timeout."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        client = FaultClient(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=0.3)
        start = time.monotonic()
        with pytest.raises(FaultError, match="no answer within 0.3s"):
            client.proxies()
        assert time.monotonic() - start < 10  # generous: the point is that it returns


def test_an_api_that_is_gone_is_reported_unreachable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FaultError) as caught:
        FaultClient(f"http://127.0.0.1:{port}").version()
    assert caught.value.unreachable and f"127.0.0.1:{port}" in str(caught.value)
