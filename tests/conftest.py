"""Shared fixtures: real redis-server and PostgreSQL processes on loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.stack.postgres import PostgresServer
from harness.stack.redis_server import RedisServer

REDIS_TEST_PASSWORD = "test-redis-password"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One password-protected redis-server for the session; flush it if a test needs it empty."""
    with RedisServer(password=REDIS_TEST_PASSWORD, workdir=tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session; create a database per test module."""
    with PostgresServer(workdir=tmp_path_factory.mktemp("postgres")) as server:
        yield server
