"""Fixtures for the shop's integration tests: the real service as a subprocess, reaching the
session's redis-server and PostgreSQL through the real fault proxy (`harness.proxy`), so a test
can slow or cut either dependency of one shop without touching the others."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from harness.ports import LOOPBACK, free_port
from harness.processes import stop_process

SEED_USERS = 40
SEED_PRODUCTS = 200
_names = itertools.count(1)
_redis_dbs = itertools.cycle(range(1, 16))


class Link:
    """One fault-proxy link (Toxiproxy HTTP API): latency, down, up."""

    def __init__(self, api_url: str, name: str, upstream: str) -> None:
        self.api_url = api_url
        self.name = name
        reply = requests.post(f"{api_url}/proxies", json={
            "name": name, "listen": f"{LOOPBACK}:0", "upstream": upstream}, timeout=5)
        reply.raise_for_status()
        self.port = int(reply.json()["listen"].rsplit(":", 1)[1])

    def latency(self, ms: int) -> None:
        requests.post(f"{self.api_url}/proxies/{self.name}/toxics", json={
            "name": "slow", "type": "latency", "attributes": {"latency": ms}}, timeout=5).raise_for_status()

    def heal(self) -> None:
        requests.delete(f"{self.api_url}/proxies/{self.name}/toxics/slow", timeout=5)
        self.enable(True)

    def enable(self, enabled: bool) -> None:
        requests.post(f"{self.api_url}/proxies/{self.name}", json={"enabled": enabled},
                      timeout=5).raise_for_status()

    def delete(self) -> None:
        requests.delete(f"{self.api_url}/proxies/{self.name}", timeout=5)


class Shop:
    """A running `python -m targets.shop` and handles on what it talks to."""

    def __init__(self, proc: subprocess.Popen, port: int, log_path: Path, redis_link: Link,
                 db_link: Link, redis_client: redis.Redis, database_url: str) -> None:
        self.proc = proc
        self.base = f"http://{LOOPBACK}:{port}"
        self.log_path = log_path
        self.redis_link = redis_link
        self.db_link = db_link
        self.redis = redis_client  # direct, not through the proxy
        self.database_url = database_url  # direct

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.base + path, timeout=kwargs.pop("timeout", 10), **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.base + path, timeout=kwargs.pop("timeout", 10), **kwargs)

    def put(self, path: str, **kwargs) -> requests.Response:
        return requests.put(self.base + path, timeout=kwargs.pop("timeout", 10), **kwargs)

    def login(self, user_id: int) -> dict[str, str]:
        reply = self.post("/login", json={"user_id": user_id, "password": f"password-{user_id}"})
        assert reply.status_code == 200, reply.text
        return {"Authorization": f"Bearer {reply.json()['session']}"}

    def metric(self, name: str, **labels: str) -> float:
        """Current value of one sample of /metrics (0 when absent)."""
        text = self.get("/metrics").text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return sample.value
        return 0.0

    def db_count(self, sql: str, params: tuple = ()) -> int:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql, params).fetchone()[0]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_shop(args: list[str], log_path: Path, timeout: float = 30.0) -> tuple[subprocess.Popen, int]:
    port = free_port()
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    out = open(log_path.with_suffix(".stdout"), "ab")  # noqa: SIM115 - the shop logs to stderr only
    proc = subprocess.Popen(
        [sys.executable, "-m", "targets.shop", "--host", LOOPBACK, "--port", str(port), *args],
        stdout=out, stderr=log)
    log.close()
    out.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"shop exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(f"http://{LOOPBACK}:{port}/health", timeout=1).status_code == 200:
                return proc, port
        except requests.RequestException:
            pass
        time.sleep(0.1)
    stop_process(proc)
    raise RuntimeError(f"shop not healthy after {timeout}s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def fault_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The fault proxy as its own process (as the embedded stack runs it): a proxy thread in the
    test process would compete with the test's load for the GIL and slow every Redis call."""
    from harness.proxy import spawn

    proxy = spawn(log_path=tmp_path_factory.mktemp("proxy") / "proxy.log")
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def shop_database(request: pytest.FixtureRequest, postgres_server) -> str:
    """A fresh database per test module, named after the module."""
    name = "shop_" + request.module.__name__.rsplit(".", 1)[-1]
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return postgres_server.create_database(name)


@pytest.fixture
def make_shop(redis_server, postgres_server, shop_database, fault_proxy, tmp_path
              ) -> Iterator[Callable[..., Shop]]:
    """make_shop(*flaws, *extra args): a shop with its own Redis db index and its own proxy links,
    started cold (`--warm 0`), with a 500 ms Redis timeout (the 50 ms default is a wall-clock
    bound a busy CI machine breaks at random; the timeout test sets it back) unless the args say
    otherwise."""
    started: list[Shop] = []

    def make(*args: str) -> Shop:
        n = next(_names)
        db_index = next(_redis_dbs)
        redis_link = Link(fault_proxy.api_url, f"shop-redis-{n}", f"{LOOPBACK}:{redis_server.port}")
        db_link = Link(fault_proxy.api_url, f"shop-db-{n}", f"{LOOPBACK}:{postgres_server.port}")
        client = redis_server.client(db=db_index)
        client.flushdb()
        database = shop_database.rsplit("/", 1)[-1]
        flags: list[str] = []
        for arg in args:
            flags += ["--flaw", arg] if not arg.startswith("-") and "=" not in arg else arg.split("=", 1)
        log_path = tmp_path / f"shop-{n}.log"
        proc, port = start_shop([
            "--redis-url", f"redis://:{redis_server.password}@{LOOPBACK}:{redis_link.port}/{db_index}",
            "--database-url", f"postgresql://postgres@{LOOPBACK}:{db_link.port}/{database}",
            "--users", str(SEED_USERS), "--products", str(SEED_PRODUCTS), "--warm", "0",
            "--cache-timeout-ms", "500", *flags], log_path)
        shop = Shop(proc, port, log_path, redis_link, db_link, client, shop_database)
        started.append(shop)
        return shop

    yield make
    for shop in started:
        stop_process(shop.proc)
        shop.redis_link.delete()
        shop.db_link.delete()
        shop.redis.close()
