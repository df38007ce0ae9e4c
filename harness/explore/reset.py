"""The embedded stack put back to how it was when it had started, between two probes.

A probe then costs its load time, not a restart of the stack (redis-server, PostgreSQL and
the proxy take 10-20 s to start), and every probe starts from the same place: no toxic left
on the proxy, every proxy enabled, Redis holding exactly the keys it held after the target
had started (the shop warms its cache at start, so a flush alone would make later probes
start colder than the first), Redis' memory settings as they were, and every table of the
database as the target had seeded it (orders written by one probe are gone before the next).

The target process itself is restarted (1-2 s): what it keeps in memory carries one probe
into the next otherwise. Measured: after a Redis outage the shop's connection pool held 7
connections instead of 18, and the next probe's first logins timed out opening new ones,
failing a steady window that the first probe, on a fresh process, passed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
import redis
import requests
from psycopg import sql

from harness.faults import FaultClient
from harness.processes import stop_process
from harness.stack.embedded import EmbeddedStack

SNAPSHOT_SCHEMA = "stampede_start"  # beside the target's tables, in the stack's own database
REDIS_SETTINGS = ("maxmemory", "maxmemory-policy")
HEALTH_TIMEOUT = 20.0


@dataclass
class StartState:
    """What the stack held once started: Redis keys (DUMP, PTTL), Redis settings, table names."""

    keys: list[tuple[bytes, int, bytes]] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    sequences: list[tuple[str, int | None]] = field(default_factory=list)


def snapshot(stack: EmbeddedStack) -> StartState:
    """Record the start state; the tables are copied into schema stampede_start."""
    state = StartState()
    with stack.redis_client() as r:
        state.settings = {k: str(v) for name in REDIS_SETTINGS
                          for k, v in r.config_get(name).items()}
        names = list(r.scan_iter(count=1000))
        pipe = r.pipeline(transaction=False)
        for name in names:
            pipe.pttl(name)
            pipe.dump(name)
        replies = pipe.execute()
    for name, ttl, dumped in zip(names, replies[0::2], replies[1::2], strict=True):
        if dumped is not None and ttl != -2:
            state.keys.append((name, max(0, int(ttl)), dumped))
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        state.tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        state.sequences = [(row[0], row[1]) for row in conn.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")]
        with conn.transaction():
            schema = sql.Identifier(SNAPSHOT_SCHEMA)
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
            for table in state.tables:
                conn.execute(sql.SQL("CREATE TABLE {}.{} AS TABLE public.{}").format(
                    schema, sql.Identifier(table), sql.Identifier(table)))
    return state


def reset(stack: EmbeddedStack, state: StartState, timeout: float = HEALTH_TIMEOUT) -> list[str]:
    """Faults off, Redis and the tables back to the start state, the target healthy again.

    Returns what it had to wait for or could not do (one line each) for the progress output."""
    stop_process(stack.target, timeout=10)  # nothing talks to Redis or the tables meanwhile
    stack.target = None
    client = FaultClient(stack.toxiproxy_url, timeout=5.0)
    try:
        client.reset()  # every toxic removed, every proxy enabled
    finally:
        client.close()
    _reset_redis(stack, state)
    _reset_tables(stack, state)
    stack.restart_target()
    return _wait_healthy(stack, timeout)


def _reset_redis(stack: EmbeddedStack, state: StartState) -> None:
    with stack.redis_client() as r:
        for name, value in state.settings.items():
            r.config_set(name, value)
        r.flushall()
        pipe = r.pipeline(transaction=False)
        for key, ttl, dumped in state.keys:
            pipe.restore(key, ttl, dumped, replace=True)
        pipe.execute()


def _reset_tables(stack: EmbeddedStack, state: StartState) -> None:
    if not state.tables:
        return
    schema = sql.Identifier(SNAPSHOT_SCHEMA)
    with psycopg.connect(stack.database_url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '10s'")
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(
            sql.SQL("public.{}").format(sql.Identifier(t)) for t in state.tables)))
        for table in state.tables:
            conn.execute(sql.SQL("INSERT INTO public.{} SELECT * FROM {}.{}").format(
                sql.Identifier(table), schema, sql.Identifier(table)))
        for name, last in state.sequences:
            if last is not None:
                conn.execute("SELECT setval(%s, %s)", (f"public.{name}", last))


def _wait_healthy(stack: EmbeddedStack, timeout: float) -> list[str]:
    """Until the target's health answers 200 (and `healthy`, if it says), bounded by `timeout`."""
    url = f"{stack.base_url}{stack.service.health_path}"
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            resp = requests.get(url, timeout=2)
            body: Any = resp.json() if resp.headers.get("content-type", "").startswith(
                "application/json") else {}
            status = body.get("status") if isinstance(body, dict) else None
            if resp.status_code == 200 and status in (None, "healthy"):
                return []
            last = f"{resp.status_code} {status or ''}".strip()
        except (requests.RequestException, ValueError) as exc:
            last = type(exc).__name__
        time.sleep(0.25)
    return [f"the target was not healthy {timeout:g}s after the reset ({last}); going on: "
            "the next probe's first requests close what is still open"]


def redis_key_count(stack: EmbeddedStack) -> int:
    """Keys in the real Redis (a test's check that the reset restored the start state)."""
    client: redis.Redis = stack.redis_client()
    with client as r:
        return int(r.dbsize())
