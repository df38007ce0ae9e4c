"""Fixtures for the fault proxy: ours and the real Toxiproxy, cleaned between tests.

`api` (and everything built on it: `redis_proxy`, `toxiproxy_client`) is parametrized over
both servers (ours twice: in a thread, and as a process with worker processes), so each contract and behaviour test runs against ours and against the real
`toxiproxy-server` (v2.8.0, `../shared/tools/toxiproxy/`, or $STAMPEDE_TOXIPROXY_SERVER)
with the same assertions: where they pass on both, the two agree. Tests that need our
server's internals use `proxy_server` and override `api` to ours only.
"""

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

from harness.proxy import EmbeddedProxy, ProxyProcess, run_in_thread, spawn
from harness.proxy.embedded import REAL_SERVER_ENV, real_server_path
from harness.stack.redis_server import RedisServer

TIMEOUT = 10  # every HTTP call: a hang fails the test instead of blocking the suite


@pytest.fixture(scope="module")
def proxy_server() -> Iterator[EmbeddedProxy]:
    with run_in_thread() as server:
        yield server


@pytest.fixture(scope="session")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """The real toxiproxy-server on a free loopback port, for the whole session."""
    binary = real_server_path()
    if not binary.exists():
        pytest.fail(f"no real Toxiproxy server at {binary}: put ../shared beside the checkout or set {REAL_SERVER_ENV}")
    log = tmp_path_factory.mktemp("real-toxiproxy") / "server.log"
    with spawn(server=binary, log_path=log, log_level="warn") as server:
        yield server


@pytest.fixture(scope="session")
def workers_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """Ours as a process with two worker processes (`-workers 3`): three event loops share each port."""
    log = tmp_path_factory.mktemp("proxy-workers") / "server.log"
    with spawn(log_path=log, extra_args=("-workers", "3")) as server:
        yield server


SERVERS = ["ours", "real", "workers"]
FIXTURES = {"ours": "proxy_server", "real": "real_server", "workers": "workers_server"}


class Api:
    """requests against the proxy's API, always with a timeout, over one kept-alive session
    (so counting open sockets before and after is not disturbed by API calls)."""

    def __init__(self, base: str, kind: str = "ours") -> None:
        self.base = base
        self.kind = "real" if kind == "real" else "ours"  # "workers" is ours too
        self.workers = kind == "workers"
        self.session = requests.Session()

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(method, self.base + path, **kwargs)

    def clear(self) -> None:
        for name in self("GET", "/proxies").json():
            self("DELETE", f"/proxies/{name}")


@pytest.fixture(params=SERVERS)
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    """The API of ours (in a thread of this process, or a process with workers) or of the real server."""
    server = request.getfixturevalue(FIXTURES[request.param])
    yield from clean_api(server.api_url, request.param)


def clean_api(base: str, kind: str) -> Iterator[Api]:
    """An Api with no proxies before and after the test."""
    client = Api(base, kind)
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
