"""Fixtures for the fault proxy: one embedded server per module, cleaned between tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
import requests
import toxiproxy.api
from redis.backoff import NoBackoff
from redis.retry import Retry

from harness.proxy import EmbeddedProxy, run_in_thread
from harness.stack.redis_server import RedisServer

TIMEOUT = 10  # every HTTP call: a hang fails the test instead of blocking the suite


@pytest.fixture(scope="module")
def proxy_server() -> Iterator[EmbeddedProxy]:
    with run_in_thread() as server:
        yield server


class Api:
    """requests against the proxy's API, always with a timeout, over one kept-alive session
    (so counting open sockets before and after is not disturbed by API calls)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(method, self.base + path, **kwargs)

    def clear(self) -> None:
        for name in self("GET", "/proxies").json():
            self("DELETE", f"/proxies/{name}")


@pytest.fixture
def api(proxy_server: EmbeddedProxy) -> Iterator[Api]:
    client = Api(proxy_server.api_url)
    client.clear()
    yield client
    client.clear()
    client.session.close()


@pytest.fixture
def toxiproxy_client(api: Api) -> Iterator[toxiproxy.Toxiproxy]:
    """The declared client (class-level host/port), pointed at our server for one test."""
    host, port = api.base.removeprefix("http://").rsplit(":", 1)
    saved = toxiproxy.api.APIConsumer.host, toxiproxy.api.APIConsumer.port
    toxiproxy.api.APIConsumer.host, toxiproxy.api.APIConsumer.port = host, int(port)
    yield toxiproxy.Toxiproxy()
    toxiproxy.api.APIConsumer.host, toxiproxy.api.APIConsumer.port = saved


@dataclass
class RedisProxy:
    """A proxy named `redis` in front of the session redis-server."""

    api: Api
    redis: RedisServer
    host: str
    port: int

    def client(self, **kwargs) -> redis.Redis:
        kwargs.setdefault("socket_timeout", TIMEOUT)
        kwargs.setdefault("socket_connect_timeout", TIMEOUT)
        kwargs.setdefault("single_connection_client", True)
        kwargs.setdefault("retry", Retry(NoBackoff(), 0))  # a fault must show, not be retried away
        return redis.Redis(host=self.host, port=self.port, password=self.redis.password, **kwargs)

    def raw(self, timeout: float = TIMEOUT) -> socket.socket:
        """A plain socket through the proxy, already authenticated."""
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        sock.sendall(resp("AUTH", self.redis.password))
        assert read_reply(sock) == b"+OK\r\n"
        return sock

    def add_toxic(self, **body) -> dict:
        reply = self.api("POST", "/proxies/redis/toxics", json=body)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def remove_toxic(self, name: str) -> None:
        assert self.api("DELETE", f"/proxies/redis/toxics/{name}").status_code == 204


@pytest.fixture
def redis_proxy(api: Api, redis_server: RedisServer) -> RedisProxy:
    reply = api("POST", "/proxies", json={
        "name": "redis", "listen": "127.0.0.1:0", "upstream": f"{redis_server.host}:{redis_server.port}",
    })
    assert reply.status_code == 201, reply.text
    host, port = reply.json()["listen"].rsplit(":", 1)
    return RedisProxy(api, redis_server, host, int(port))


def resp(*args: str | bytes) -> bytes:
    """A Redis command in RESP, for raw sockets."""
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def read_reply(sock: socket.socket) -> bytes:
    """One short reply line (enough for +OK / +PONG / :1)."""
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything until EOF (raises socket.timeout if the peer never closes)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data
