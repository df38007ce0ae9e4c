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


@pytest.fixture(scope="session")
def stampede_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`stampede up` in a child process (the embedded stack as an external target would be):
    its printed addresses (target, toxiproxy_api, metrics, db_direct, ...). Ctrl-C stops it."""
    import re
    import signal
    import subprocess
    import sys
    import time

    logs = tmp_path_factory.mktemp("stampede-up")
    proc = subprocess.Popen([sys.executable, "-m", "harness", "up", "--logs", str(logs)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            process_group=0)
    try:
        text, deadline = "", time.monotonic() + 90
        while "Ctrl-C stops everything" not in text and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            text += line
        assert "Ctrl-C stops everything" in text, f"stampede up did not start:\n{text}"
        yield dict(re.findall(r"^\s+(\w+)\s+(\S+)$", text, re.M))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
