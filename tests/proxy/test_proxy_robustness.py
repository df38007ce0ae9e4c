"""Robustness: many connections, toxics churned under traffic, nothing left behind."""

from __future__ import annotations

import asyncio
import gc
import os
import random
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest
import redis.asyncio

from harness.proxy import EmbeddedProxy

from .conftest import Api, RedisProxy, clean_api, resp


@pytest.fixture
def api(proxy_server: EmbeddedProxy) -> Iterator[Api]:
    """Ours only: these tests look inside the proxy (its connections and tasks)."""
    yield from clean_api(proxy_server.api_url, "ours")


def open_fds() -> int:
    """Open file descriptors of this process (the embedded proxy's sockets are among them)."""
    gc.collect()  # sockets dropped by earlier tests close now, not in the middle of a count
    return len(os.listdir("/proc/self/fd"))


def proxy_state(proxy_server: EmbeddedProxy, name: str = "redis") -> tuple[int, int]:
    """(open connections of the proxy, the proxy's own tasks on its loop: pumps, dials)."""

    async def look() -> tuple[int, int]:
        proxy = proxy_server.server.proxies.get(name)
        ours = [
            task for task in asyncio.all_tasks()
            if "harness/proxy/" in task.get_coro().cr_code.co_filename
            and "embedded.py" not in task.get_coro().cr_code.co_filename
        ]
        return (len(proxy.connections) if proxy else 0), len(ours)

    return proxy_server.call(look)


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_500_concurrent_connections_stay_byte_exact(redis_proxy: RedisProxy, proxy_server: EmbeddedProxy) -> None:
    async def main() -> list[bool]:
        clients = [
            redis.asyncio.Redis(
                host=redis_proxy.host, port=redis_proxy.port, password=redis_proxy.redis.password,
                single_connection_client=True, socket_timeout=30, socket_connect_timeout=30,
            )
            for _ in range(500)
        ]
        try:
            await asyncio.gather(*(client.ping() for client in clients))
            assert proxy_state(proxy_server)[0] == 500  # all open at once, through the proxy
            values = [os.urandom(random.randint(1, 20_000)) for _ in clients]

            async def roundtrip(i: int) -> bool:
                await clients[i].set(f"many:{i}", values[i])
                return await clients[i].get(f"many:{i}") == values[i]

            return await asyncio.gather(*(roundtrip(i) for i in range(500)))
        finally:
            await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)

    results = asyncio.run(asyncio.wait_for(main(), 120))
    assert results == [True] * 500
    assert wait_for(lambda: proxy_state(proxy_server)[0] == 0)


def test_toxic_churn_under_traffic_never_hangs(redis_proxy: RedisProxy) -> None:
    stop = threading.Event()
    done_ops, problems = [0], []

    def traffic(worker: int) -> None:
        client = redis_proxy.client(socket_timeout=10)
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            value = os.urandom(random.choice([10, 3000, 70_000]))
            try:
                client.set(f"churn:{worker}", value)
                if client.get(f"churn:{worker}") != value:
                    problems.append("mismatch")
            except Exception as exc:  # noqa: BLE001 - recorded and failed on below
                problems.append(repr(exc))
                return
            done_ops[0] += 1

    threads = [threading.Thread(target=traffic, args=(i,), daemon=True) for i in range(4)]
    for thread in threads:
        thread.start()
    bodies = [
        {"type": "latency", "attributes": {"latency": 1, "jitter": 1}},
        {"type": "bandwidth", "attributes": {"rate": 50_000}},
        {"type": "slicer", "attributes": {"average_size": 500, "size_variation": 100, "delay": 10}},
        {"type": "latency", "stream": "upstream", "attributes": {"latency": 2}},
        {"type": "slow_close", "attributes": {"delay": 10}},
    ]
    try:
        for cycle in range(200):
            body = bodies[cycle % len(bodies)]
            toxic = redis_proxy.api("POST", "/proxies/redis/toxics", json=body, timeout=5)
            assert toxic.status_code == 200, toxic.text
            name = toxic.json()["name"]
            assert redis_proxy.api("DELETE", f"/proxies/redis/toxics/{name}", timeout=5).status_code == 204
        ops_during_churn = done_ops[0]
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "traffic hung"
    assert problems == []
    assert ops_during_churn > 0
    assert redis_proxy.api("GET", "/proxies/redis/toxics", timeout=5).json() == []
    assert redis_proxy.client().ping()


def test_deleting_a_proxy_leaves_no_sockets_or_tasks(redis_proxy: RedisProxy, proxy_server: EmbeddedProxy) -> None:
    redis_proxy.api("DELETE", "/proxies/redis")  # start from a server with no proxy at all
    time.sleep(0.2)  # let the API's own connection handling settle
    fds_before, (_, tasks_before) = open_fds(), proxy_state(proxy_server)

    reply = redis_proxy.api("POST", "/proxies", json={
        "name": "redis", "listen": "127.0.0.1:0",
        "upstream": f"{redis_proxy.redis.host}:{redis_proxy.redis.port}",
    })
    port = int(reply.json()["listen"].rsplit(":", 1)[1])
    redis_proxy.port = port
    redis_proxy.add_toxic(type="latency", attributes={"latency": 3000})  # replies held in pumps
    redis_proxy.add_toxic(type="timeout", stream="upstream", toxicity=0.5, attributes={"timeout": 0})
    socks = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(resp("PING"))
        socks.append(sock)
    assert wait_for(lambda: proxy_state(proxy_server)[0] == 20)
    assert proxy_state(proxy_server)[1] > tasks_before  # pumps are running: the check can fail
    assert open_fds() > fds_before

    assert redis_proxy.api("DELETE", "/proxies/redis").status_code == 204
    for sock in socks:  # every client was disconnected by the delete
        try:
            while sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
        sock.close()
    assert wait_for(lambda: proxy_state(proxy_server)[1] <= tasks_before), proxy_state(proxy_server)
    assert wait_for(lambda: open_fds() <= fds_before), (open_fds(), fds_before)


def test_clients_leaving_mid_transfer_do_not_leak(redis_proxy: RedisProxy, proxy_server: EmbeddedProxy) -> None:
    redis_proxy.redis.client().set("huge", os.urandom(1_000_000))
    time.sleep(0.2)
    fds_before, (_, tasks_before) = open_fds(), proxy_state(proxy_server)

    def leave_early(count: int, abort: bool) -> None:
        for _ in range(count):
            sock = redis_proxy.raw()
            sock.sendall(resp("GET", "huge"))
            sock.recv(1000)
            if abort:  # RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()

    leave_early(20, abort=False)
    leave_early(20, abort=True)
    redis_proxy.add_toxic(type="bandwidth", attributes={"rate": 2000})
    leave_early(10, abort=False)
    leave_early(10, abort=True)

    assert wait_for(lambda: proxy_state(proxy_server)[0] == 0), proxy_state(proxy_server)
    assert wait_for(lambda: proxy_state(proxy_server)[1] <= tasks_before), proxy_state(proxy_server)
    assert wait_for(lambda: open_fds() <= fds_before), (open_fds(), fds_before)
    redis_proxy.remove_toxic("bandwidth_downstream")
    assert len(redis_proxy.client().get("huge")) == 1_000_000


@pytest.mark.parametrize("toxic", [None, {"type": "latency", "attributes": {"latency": 5}}])
def test_slow_reader_gets_every_byte(redis_proxy: RedisProxy, toxic: dict | None) -> None:
    """Back-pressure: the proxy stops reading Redis while the client does not read, then resumes."""
    value = os.urandom(10_000_000)  # more than the kernel buffers hold (tcp_wmem max 4 MB)
    redis_proxy.redis.client().set("bulk", value)
    if toxic:
        redis_proxy.add_toxic(**toxic)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # so the kernel cannot absorb it all
    sock.settimeout(10)
    sock.connect((redis_proxy.host, redis_proxy.port))
    sock.sendall(resp("AUTH", redis_proxy.redis.password) + resp("GET", "bulk"))
    assert sock.recv(5) == b"+OK\r\n"
    time.sleep(0.5)  # the client reads nothing for a while
    expected = b"$%d\r\n%s\r\n" % (len(value), value)
    got = b""
    while len(got) < len(expected):
        chunk = sock.recv(1 << 20)
        assert chunk, "closed early"
        got += chunk
    assert got == expected
    sock.sendall(resp("PING"))
    assert sock.recv(100) == b"+PONG\r\n"  # reading resumed: the link still works


def test_removing_the_last_toxic_returns_links_to_the_fast_path(redis_proxy: RedisProxy, proxy_server: EmbeddedProxy) -> None:
    client = redis_proxy.client()
    client.ping()

    def links() -> list[tuple[int, bool]]:
        async def look() -> list[tuple[int, bool]]:
            conns = proxy_server.server.proxies["redis"].connections
            return [(len(link.stages), link.pump is None) for conn in conns for link in conn.links.values()]

        return proxy_server.call(look)

    assert links() == [(0, True), (0, True)]
    redis_proxy.add_toxic(type="latency", attributes={"latency": 1})
    redis_proxy.add_toxic(type="slicer", stream="upstream", attributes={"average_size": 3})
    assert client.ping()
    assert links() == [(1, True), (1, True)]  # the open connection got both toxics at once
    redis_proxy.remove_toxic("latency_downstream")
    redis_proxy.remove_toxic("slicer_upstream")
    assert client.ping()
    assert links() == [(0, True), (0, True)]
