"""PostgreSQL: pool, schema and deterministic seed, and the bounded, counted way to run a query."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from targets.shop.breaker import CircuitBreaker
from targets.shop.config import Settings, redact
from targets.shop.metrics import Metrics

log = logging.getLogger("targets.shop")

SCHEMA_LOCK = 7_115_001  # pg_advisory_xact_lock key: two instances starting together seed once

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id integer PRIMARY KEY, name text NOT NULL, bio text NOT NULL DEFAULT '',
    password_sha256 text NOT NULL, version integer NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS products (
    id integer PRIMARY KEY, name text NOT NULL, price_cents integer NOT NULL, description text NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
    id integer PRIMARY KEY, author_id integer NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS posts_author_created ON posts (author_id, created_at DESC);
CREATE TABLE IF NOT EXISTS follows (
    follower_id integer NOT NULL, followee_id integer NOT NULL, PRIMARY KEY (follower_id, followee_id));
CREATE TABLE IF NOT EXISTS orders (
    id text PRIMARY KEY, user_id integer NOT NULL, product_id integer NOT NULL,
    quantity integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
"""

SEED = (
    """INSERT INTO users (id, name, password_sha256)
       SELECT g, 'User ' || g, encode(sha256(convert_to('password-' || g, 'UTF8')), 'hex')
       FROM generate_series(1, %(users)s) g ON CONFLICT DO NOTHING""",
    """INSERT INTO products (id, name, price_cents, description)
       SELECT g, 'Product ' || g, 100 + (g * 37) %% 9900, 'Deterministic product number ' || g
       FROM generate_series(1, %(products)s) g ON CONFLICT DO NOTHING""",
    """INSERT INTO posts (id, author_id, body, created_at)
       SELECT (u - 1) * 3 + k, u, 'Post ' || k || ' by user ' || u,
              timestamptz '2026-01-01 00:00+00' + ((u - 1) * 3 + k) * interval '1 minute'
       FROM generate_series(1, %(users)s) u, generate_series(1, 3) k ON CONFLICT DO NOTHING""",
    """INSERT INTO follows (follower_id, followee_id)
       SELECT u, ((u - 1 + k) %% %(users)s) + 1
       FROM generate_series(1, %(users)s) u, generate_series(1, 5) k
       WHERE ((u - 1 + k) %% %(users)s) + 1 <> u ON CONFLICT DO NOTHING""",
)


class DatabaseSetupError(Exception):
    """The database cannot be prepared; the message says what to fix."""


def prepare_database(settings: Settings, deadline: float = 30.0) -> None:
    """Create tables and seed rows if missing, before the server starts (blocking, retried while
    the database is still coming up; a missing database or a refused login fails at once)."""
    params = {"users": settings.seed_users, "products": settings.seed_products}
    end = time.monotonic() + deadline
    while True:
        try:
            with psycopg.connect(settings.database_url, connect_timeout=2) as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                conn.execute(SCHEMA)
                for statement in SEED:
                    conn.execute(statement, params)
            return
        except psycopg.OperationalError as exc:
            message = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            message = message or type(exc).__name__
            if "does not exist" in message:
                raise DatabaseSetupError(
                    f"--database-url {redact(settings.database_url)}: {message}; create the database "
                    f"first (the shop creates its tables, not the database)") from None
            if "authentication failed" in message or "no password" in message:
                raise DatabaseSetupError(
                    f"--database-url {redact(settings.database_url)}: {message}; fix the user or password") from None
            if time.monotonic() > end:
                raise DatabaseSetupError(
                    f"--database-url {redact(settings.database_url)}: not reachable for {deadline:.0f}s "
                    f"({message}); is PostgreSQL running there?") from None
            log.warning("database not ready (%s); retrying", message)
            time.sleep(0.5)


class DatabaseUnavailable(Exception):
    """The database failed, timed out, or its breaker is open."""


class Overloaded(Exception):
    """The bound on concurrent database work stayed full: shed the request (503)."""


class Database:
    def __init__(self, settings: Settings, metrics: Metrics, breaker: CircuitBreaker) -> None:
        self.settings = settings
        self.metrics = metrics
        self.breaker = breaker
        unbounded = settings.has("unbounded_db")
        self.bound = None if unbounded else asyncio.Semaphore(settings.db_max_concurrency)
        self.pool = AsyncConnectionPool(
            settings.database_url,
            min_size=1,
            max_size=100 if unbounded else settings.db_max_concurrency,
            timeout=60.0 if unbounded else settings.db_timeout,
            open=False,
            kwargs={
                "autocommit": True,
                "connect_timeout": max(1, int(settings.db_timeout)),
                "options": "-c statement_timeout=5000",
            },
            name="shop",
        )

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def connection(self, query: str) -> AsyncIterator[psycopg.AsyncConnection]:
        """One counted database operation under the concurrency bound and the database breaker."""
        if self.bound is not None:
            try:
                await asyncio.wait_for(self.bound.acquire(), self.settings.db_queue_timeout)
            except TimeoutError:
                self.metrics.shed.inc()
                raise Overloaded() from None
        try:
            if not self.breaker.allow():
                raise DatabaseUnavailable("database breaker open")
            self.metrics.db_queries.labels(query).inc()
            self.metrics.db_inflight.inc()
            try:
                async with self.pool.connection() as conn:
                    yield conn
            except (psycopg.OperationalError, PoolTimeout) as exc:
                self.breaker.failure()
                raise DatabaseUnavailable(type(exc).__name__) from exc
            else:
                self.breaker.success()
            finally:
                self.metrics.db_inflight.dec()
        finally:
            if self.bound is not None:
                self.bound.release()

    async def ping(self, timeout: float = 0.5) -> bool:
        try:
            async with asyncio.timeout(timeout), await psycopg.AsyncConnection.connect(
                self.settings.database_url, connect_timeout=1
            ) as conn:
                await conn.execute("SELECT 1")
            return True
        except (psycopg.Error, OSError, TimeoutError):
            return False
