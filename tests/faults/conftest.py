"""The real fault proxy (harness.proxy, in a thread) in front of the real redis-server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from harness.faults import FaultClient
from harness.proxy import run_in_thread


@pytest.fixture(scope="module")
def fault_proxy() -> Iterator[object]:
    proxy = run_in_thread(port=0)
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def client(fault_proxy, redis_server) -> Iterator[FaultClient]:
    """A client on a proxy API holding fresh `redis` and `db` proxies (both to redis-server:
    the schedule only needs somewhere to forward to)."""
    client = FaultClient(fault_proxy.api_url, timeout=5.0)
    for name in client.proxies():
        client.delete_proxy(name)
    upstream = f"127.0.0.1:{redis_server.port}"
    client.create_proxy("redis", "127.0.0.1:0", upstream)
    client.create_proxy("db", "127.0.0.1:0", upstream)
    yield client
    client.close()


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    """Each test its own state file, also for child processes (through the environment)."""
    directory = tmp_path / "state"
    monkeypatch.setenv("STAMPEDE_STATE_DIR", str(directory))
    return directory


def listen_port(client: FaultClient, proxy: str) -> int:
    return int(client.get_proxy(proxy)["listen"].rsplit(":", 1)[1])


def clean(client: FaultClient) -> bool:
    """No toxic anywhere and every proxy enabled."""
    return all(p["enabled"] and not p["toxics"] for p in client.proxies().values())


def ping_seconds(port: int, password: str | None) -> float:
    """One PING on a fresh connection through the proxy, without redis-py's retries (they
    would wait out an outage and hide it)."""
    conn = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=10,
                       retry=Retry(NoBackoff(), 0))
    try:
        begin = time.monotonic()
        conn.ping()
        return time.monotonic() - begin
    finally:
        conn.close()
