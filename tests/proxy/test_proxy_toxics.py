"""Each toxic checked by its effect as a Redis client sees it, through a real redis-server.

Times are only ever checked from below ("at least the configured delay") or against a
generous bound, because this machine is shared and noisy.
"""

from __future__ import annotations

import os
import socket
import time

import pytest
import redis

from .conftest import RedisProxy, read_reply, read_until_closed, resp


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@pytest.mark.parametrize("size", [0, 1, 1000, 65536, 300_001, 1_000_000])
def test_no_toxic_path_is_byte_exact(redis_proxy: RedisProxy, size: int) -> None:
    client = redis_proxy.client()
    value = os.urandom(size)
    client.set(f"exact:{size}", value)
    assert client.get(f"exact:{size}") == value
    assert redis_proxy.redis.client().get(f"exact:{size}") == value  # really reached the server


def test_latency_applies_to_open_connections_and_goes_away(redis_proxy: RedisProxy) -> None:
    client = redis_proxy.client()
    assert timed(client.ping) < 0.3  # the check below can fail: without the toxic it is fast
    redis_proxy.add_toxic(type="latency", attributes={"latency": 300})
    assert timed(client.ping) >= 0.3  # same connection: applies at once
    assert timed(redis_proxy.client().ping) >= 0.3  # and to new connections
    redis_proxy.remove_toxic("latency_downstream")
    assert timed(client.ping) < 0.3


def test_latency_jitter_stays_in_range(redis_proxy: RedisProxy) -> None:
    client = redis_proxy.client()
    redis_proxy.add_toxic(type="latency", attributes={"latency": 100, "jitter": 50})
    times = [timed(client.ping) for _ in range(5)]
    assert min(times) >= 0.05, times


def test_upstream_latency_delays_requests(redis_proxy: RedisProxy) -> None:
    client = redis_proxy.client()
    redis_proxy.add_toxic(type="latency", stream="upstream", attributes={"latency": 200})
    assert timed(client.ping) >= 0.2


def test_upstream_toxic_affects_only_the_request_direction(redis_proxy: RedisProxy) -> None:
    big = os.urandom(100_000)
    redis_proxy.redis.client().set("updir", big)
    redis_proxy.add_toxic(type="limit_data", stream="upstream", attributes={"bytes": 2000})
    client = redis_proxy.client()
    assert client.get("updir") == big  # a small request, a 100 KB reply: untouched
    with pytest.raises(redis.ConnectionError):
        client.set("updir2", os.urandom(10_000))  # a 10 KB request passes the 2000-byte limit


def test_timeout_black_hole_and_removal_closes(redis_proxy: RedisProxy) -> None:
    held = redis_proxy.raw()
    redis_proxy.add_toxic(type="timeout", attributes={"timeout": 0})
    with pytest.raises(redis.TimeoutError):
        redis_proxy.client(socket_timeout=0.5).ping()  # connecting (AUTH) already times out
    held.sendall(resp("PING"))
    held.settimeout(0.5)
    with pytest.raises(TimeoutError):
        held.recv(100)  # the reply is swallowed
    held.settimeout(10)
    redis_proxy.remove_toxic("timeout_downstream")
    assert read_until_closed(held) == b""  # removing the toxic closed the held connection
    assert redis_proxy.client().ping()


def test_timeout_closes_after_idle_time(redis_proxy: RedisProxy) -> None:
    redis_proxy.add_toxic(type="timeout", attributes={"timeout": 300})
    sock = socket.create_connection((redis_proxy.host, redis_proxy.port), timeout=10)
    start = time.perf_counter()
    sock.sendall(resp("PING"))
    assert read_until_closed(sock) == b""  # no reply, then closed
    assert time.perf_counter() - start >= 0.28


def test_down_refuses_new_and_breaks_open_connections(redis_proxy: RedisProxy) -> None:
    open_sock = redis_proxy.raw()
    reply = redis_proxy.api("POST", "/proxies/redis", json={"enabled": False})
    assert reply.status_code == 200
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((redis_proxy.host, redis_proxy.port), timeout=5)
    try:
        open_sock.sendall(resp("PING"))
        assert read_until_closed(open_sock) == b""
    except ConnectionResetError:
        pass  # broken either way
    redis_proxy.add_toxic(type="latency", attributes={"latency": 1})
    redis_proxy.api("POST", "/proxies/redis", json={"enabled": True})
    assert redis_proxy.client().ping()
    assert redis_proxy.api("GET", "/proxies/redis").json()["toxics"][0]["name"] == "latency_downstream"


def test_reset_peer_sends_rst(redis_proxy: RedisProxy) -> None:
    redis_proxy.add_toxic(type="reset_peer", stream="upstream", attributes={"timeout": 100})
    sock = socket.create_connection((redis_proxy.host, redis_proxy.port), timeout=10)
    sock.sendall(resp("PING"))
    with pytest.raises(ConnectionResetError):
        read_until_closed(sock)
    with pytest.raises(redis.ConnectionError, match="reset"):
        redis_proxy.client().ping()


def test_reset_peer_on_an_open_connection(redis_proxy: RedisProxy) -> None:
    """Kept difference: ours resets (RST) a connection opened before the toxic; the real
    server ends that one with a plain FIN (see docs/toxiproxy-compatibility.md)."""
    sock = redis_proxy.raw()
    redis_proxy.add_toxic(type="reset_peer", attributes={"timeout": 100})
    sock.sendall(resp("PING"))
    if redis_proxy.api.kind == "ours":
        with pytest.raises(ConnectionResetError):
            read_until_closed(sock)
    else:
        assert read_until_closed(sock) == b""


def test_bandwidth_caps_a_large_get(redis_proxy: RedisProxy) -> None:
    value = os.urandom(400_000)
    client = redis_proxy.client()
    client.set("wide", value)
    assert timed(lambda: client.get("wide")) < 0.35  # fast without the toxic
    redis_proxy.add_toxic(type="bandwidth", attributes={"rate": 1000})  # 1000 KB/s
    got = []
    assert timed(lambda: got.append(client.get("wide"))) >= 0.35  # 400 KB at 1 MB/s ≈ 0.4 s
    assert got == [value]


def test_slicer_is_byte_exact_and_slow(redis_proxy: RedisProxy) -> None:
    client = redis_proxy.client()
    value = os.urandom(100_000)
    client.set("sliced", value)
    redis_proxy.add_toxic(type="slicer", attributes={"average_size": 1000, "size_variation": 500, "delay": 1000})
    got = []
    elapsed = timed(lambda: got.append(client.get("sliced")))
    assert got == [value]
    assert elapsed >= 0.05  # ~100 slices, 1 ms apart
    redis_proxy.add_toxic(type="slicer", stream="upstream", attributes={"average_size": 7, "size_variation": 3})
    for size in (1, 5000, 1_000_000):
        value = os.urandom(size)
        client.set("sliced", value)
        assert client.get("sliced") == value


def test_limit_data_closes_after_the_limit(redis_proxy: RedisProxy) -> None:
    redis_proxy.redis.client().set("limited", b"x" * 10_000)
    sock = redis_proxy.raw()
    redis_proxy.add_toxic(type="limit_data", attributes={"bytes": 2000})
    sock.sendall(resp("GET", "limited"))
    assert len(read_until_closed(sock)) == 2000


def test_slow_close_delays_the_close(redis_proxy: RedisProxy) -> None:
    redis_proxy.add_toxic(type="slow_close", attributes={"delay": 400})
    sock = redis_proxy.raw()
    start = time.perf_counter()
    sock.sendall(resp("QUIT"))
    assert read_reply(sock) == b"+OK\r\n"
    assert read_until_closed(sock) == b""
    assert time.perf_counter() - start >= 0.38


def test_toxicity_is_drawn_once_per_connection(redis_proxy: RedisProxy) -> None:
    clients = [redis_proxy.client() for _ in range(20)]
    for client in clients:
        client.ping()  # open every connection before the toxic exists
    redis_proxy.add_toxic(type="latency", toxicity=0.5, attributes={"latency": 150})
    slow = []
    for client in clients:
        first, second = timed(client.ping) >= 0.15, timed(client.ping) >= 0.15
        assert first == second  # one draw per connection, not per command
        slow.append(first)
    assert 0 < sum(slow) < len(slow), slow  # 2 * 0.5**20 chance of a false failure


def test_toxicity_zero_never_applies(redis_proxy: RedisProxy) -> None:
    redis_proxy.add_toxic(type="latency", toxicity=0.0, attributes={"latency": 500})
    assert timed(redis_proxy.client().ping) < 0.5


def test_upstream_unreachable_accepts_then_closes(api, redis_server) -> None:
    from harness.ports import free_port

    dead = f"127.0.0.1:{free_port()}"
    listen = api("POST", "/proxies", json={"name": "dead", "listen": "127.0.0.1:0", "upstream": dead}).json()["listen"]
    host, port = listen.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)  # accepted, not refused
    assert read_until_closed(sock) == b""


def test_updating_latency_applies_to_a_held_reply(redis_proxy: RedisProxy) -> None:
    sock = redis_proxy.raw()
    redis_proxy.add_toxic(type="latency", attributes={"latency": 5000})
    start = time.perf_counter()
    sock.sendall(resp("PING"))
    time.sleep(0.2)
    reply = redis_proxy.api("PATCH", "/proxies/redis/toxics/latency_downstream", json={"attributes": {"latency": 0}})
    assert reply.status_code == 200
    sock.settimeout(3)  # would time out if the reply still waited for the old 5 s
    assert read_reply(sock) == b"+PONG\r\n"
    assert time.perf_counter() - start >= 0.2


def test_limit_data_zero_closes_at_the_first_chunk(redis_proxy: RedisProxy) -> None:
    redis_proxy.add_toxic(type="limit_data", stream="upstream", attributes={"bytes": 0})
    sock = socket.create_connection((redis_proxy.host, redis_proxy.port), timeout=10)
    sock.sendall(resp("PING"))
    assert read_until_closed(sock) == b""  # closed, not a black hole (would time out)


def test_limit_data_lowered_below_what_passed_closes(redis_proxy: RedisProxy) -> None:
    sock = redis_proxy.raw()
    redis_proxy.add_toxic(type="limit_data", attributes={"bytes": 1000})
    sock.sendall(resp("PING"))
    assert read_reply(sock) == b"+PONG\r\n"
    reply = redis_proxy.api("PATCH", "/proxies/redis/toxics/limit_data_downstream", json={"attributes": {"bytes": 3}})
    assert reply.status_code == 200
    sock.sendall(resp("PING"))
    assert read_until_closed(sock) == b""


def test_bandwidth_rate_zero_holds_data_until_removed(redis_proxy: RedisProxy) -> None:
    sock = redis_proxy.raw()
    redis_proxy.add_toxic(type="bandwidth", attributes={"rate": 0})
    sock.sendall(resp("PING"))
    sock.settimeout(0.5)
    with pytest.raises(TimeoutError):
        sock.recv(100)  # stalled, not unlimited
    sock.settimeout(10)
    redis_proxy.remove_toxic("bandwidth_downstream")
    assert read_reply(sock) == b"+PONG\r\n"  # handed on when the toxic goes


def test_client_leaving_still_gets_the_held_reply(redis_proxy: RedisProxy) -> None:
    """One side ends while the other direction holds data: that direction drains first."""
    sock = redis_proxy.raw()
    redis_proxy.add_toxic(type="latency", attributes={"latency": 400})
    sock.sendall(resp("PING"))
    time.sleep(0.1)  # the reply is now held by the latency toxic
    sock.shutdown(socket.SHUT_WR)
    assert read_until_closed(sock) == b"+PONG\r\n"  # delivered, then the connection closes


def test_client_leaving_waits_for_slow_close_downstream(redis_proxy: RedisProxy) -> None:
    sock = redis_proxy.raw()
    redis_proxy.add_toxic(type="slow_close", attributes={"delay": 400})
    start = time.perf_counter()
    sock.shutdown(socket.SHUT_WR)
    assert read_until_closed(sock) == b""
    assert time.perf_counter() - start >= 0.38


def test_removing_a_timeout_closes_also_the_connections_it_skipped(redis_proxy: RedisProxy) -> None:
    sock = redis_proxy.raw()
    redis_proxy.add_toxic(type="timeout", toxicity=0, attributes={"timeout": 0})  # never drawn
    sock.sendall(resp("PING"))
    assert read_reply(sock) == b"+PONG\r\n"  # skipped: data flows
    redis_proxy.remove_toxic("timeout_downstream")
    assert read_until_closed(sock) == b""  # and yet removing it closes the connection
