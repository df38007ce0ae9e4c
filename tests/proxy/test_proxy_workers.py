"""`-workers N`: several processes share each proxy's port; every change reaches all of them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest
import requests

from harness.proxy import ProxyProcess, spawn
from harness.proxy.workers import default_workers

from .conftest import TIMEOUT, read_until_closed, resp


@pytest.fixture
def three(redis_server) -> Iterator[tuple[ProxyProcess, int]]:
    """Ours with three event loops, a proxy `redis` in front of the session redis-server."""
    with spawn(extra_args=("-workers", "3", "-proxy-metrics")) as server:
        listen = requests.post(f"{server.api_url}/proxies", timeout=TIMEOUT, json={
            "name": "redis", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{redis_server.port}"}).json()["listen"]
        yield server, int(listen.rsplit(":", 1)[1])


def owners(server: ProxyProcess, port: int) -> dict[int, int]:
    """pid -> accepted connections on `port`, over the server and its workers."""
    parent = psutil.Process(server.pid)
    counts = {}
    for proc in [parent, *parent.children()]:
        counts[proc.pid] = sum(1 for c in proc.net_connections("tcp")
                               if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED)
    return counts


def authed(port: int, password: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.sendall(resp("AUTH", password))
    assert sock.recv(100) == b"+OK\r\n"
    return sock


def test_connections_spread_and_changes_reach_every_process(three, redis_server) -> None:
    server, port = three
    socks = [authed(port, redis_server.password) for _ in range(24)]
    try:
        spread = owners(server, port)
        assert len(spread) == 3 and sum(spread.values()) == 24
        assert all(count > 0 for count in spread.values()), spread  # (3 * (2/3)**24 chance of failing)

        requests.post(f"{server.api_url}/proxies/redis/toxics", timeout=TIMEOUT,
                      json={"type": "latency", "attributes": {"latency": 300}})
        for sock in socks:  # the toxic applies at once to open connections, in every process
            start = time.perf_counter()
            sock.sendall(resp("PING"))
            assert sock.recv(100) == b"+PONG\r\n"
            assert time.perf_counter() - start >= 0.3
        text = requests.get(f"{server.api_url}/metrics", timeout=TIMEOUT).text
        upstream = next(line for line in text.splitlines()
                        if line.startswith("toxiproxy_proxy_received_bytes_total") and 'direction="upstream"' in line)
        assert int(upstream.rsplit(" ", 1)[1]) == 24 * (len(resp("AUTH", redis_server.password)) + len(resp("PING")))

        requests.post(f"{server.api_url}/proxies/redis", json={"enabled": False}, timeout=TIMEOUT)
        for sock in socks:  # down closes them in every process
            with contextlib.suppress(ConnectionResetError):  # closed either way
                assert read_until_closed(sock) == b""
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    finally:
        for sock in socks:
            sock.close()


def test_workers_end_with_the_api_process() -> None:
    server = spawn(extra_args=("-workers", "3"))
    workers = psutil.Process(server.pid).children()
    assert len(workers) == 2
    os.kill(server.pid, signal.SIGKILL)  # no clean stop: the workers see EOF on their pipe
    server.proc.wait(timeout=TIMEOUT)
    gone, alive = psutil.wait_procs(workers, timeout=TIMEOUT)
    assert alive == []


def test_default_workers_follow_the_cores_allowed() -> None:
    assert 1 <= default_workers() <= 4
    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from harness.proxy.workers import default_workers; print(default_workers())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "1"
