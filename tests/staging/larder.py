"""`larder`: a service that is not ours, with none of our conventions, for end-to-end tests.

It answers the HTTP API the catalogue's locustfile speaks (login, /me, /feed, /products,
/orders), so catalogue experiments run against it unchanged, but everything stampede reads
is its own: a resilience4j-style breaker exported as one-hot gauges
(`larder_breaker_state{name="redis",state="open"} 1`), cache lookups as
`larder_cache_total{outcome=...}`, SQL as `larder_sql_statements_total{statement=...}` and
`larder_sql_active`, the owner in a JSON field `owner`, writes in sqlite, read back over HTTP
(`GET /internal/orders/{id}`, `GET /internal/profiles/{user}:{version}`). It shares no code
with the reference shop.

Flaws (`--flaw`, repeatable): `breaker_never_closes` (once open, the Redis breaker stays
open), `sessions_fail_open` (when Redis cannot say whether a session is valid, the token's
user id is trusted), `orders_lost` (orders are acknowledged into a write-behind buffer that
is flushed every 2 s under a Redis lock; a flush that cannot take the lock drops the batch).

Run: `python tests/staging/larder.py --port P --redis-url redis://127.0.0.1:R/0 --db FILE`
(the Redis password, if any, in LARDER_REDIS_PASSWORD).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)

FLAWS = ("breaker_never_closes", "sessions_fail_open", "orders_lost")
PRODUCTS = 1000
USERS = 1000
STATES = ("closed", "open", "half_open")
FLUSHER = web.AppKey("flusher", asyncio.Task)


class Breaker:
    """Consecutive failures open it; after `open_s` one trial call may close it again."""

    def __init__(self, gauge: Gauge, name: str, never_closes: bool, threshold: int = 5,
                 open_s: float = 2.0) -> None:
        self.gauge, self.name = gauge, name
        self.never_closes = never_closes
        self.threshold, self.open_s = threshold, open_s
        self.failures = 0
        self.opened_at = 0.0
        self.set("closed")

    def set(self, state: str) -> None:
        self.state = state
        for s in STATES:
            self.gauge.labels(name=self.name, state=s).set(1 if s == state else 0)

    def allow(self) -> bool:
        if self.state == "open" and not self.never_closes \
                and time.monotonic() - self.opened_at >= self.open_s:
            self.set("half_open")
            return True
        return self.state != "open"

    def success(self) -> None:
        self.failures = 0
        if self.state == "half_open":
            self.set("closed")

    def failure(self) -> None:
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.threshold:
            self.opened_at = time.monotonic()
            self.set("open")


class Larder:
    def __init__(self, redis_url: str, password: str | None, db_path: str,
                 flaws: frozenset[str]) -> None:
        self.flaws = flaws
        self.registry = CollectorRegistry()
        self.breaker = Breaker(Gauge("larder_breaker_state", "one series per state, 1 = current",
                                     ["name", "state"], registry=self.registry),
                               "redis", "breaker_never_closes" in flaws)
        self.cache = Counter("larder_cache", "cache lookups", ["outcome"], registry=self.registry)
        self.sql = Counter("larder_sql_statements", "SQL statements", ["statement"],
                           registry=self.registry)
        self.sql_active = Gauge("larder_sql_active", "SQL statements running", registry=self.registry)
        self.redis = aioredis.from_url(redis_url, password=password, socket_timeout=0.2,
                                       socket_connect_timeout=0.2, retry_on_timeout=False)
        self.pending: list[tuple[str, int, int]] = []  # the orders_lost flaw's buffer
        self.db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        self.db.executescript("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS goods (id INTEGER PRIMARY KEY, title TEXT, price INTEGER);
            CREATE TABLE IF NOT EXISTS purchases (ref TEXT PRIMARY KEY, buyer INTEGER, good INTEGER);
            CREATE TABLE IF NOT EXISTS bios (buyer INTEGER PRIMARY KEY, text TEXT, rev INTEGER);
        """)
        if not self.db.execute("SELECT count(*) FROM goods").fetchone()[0]:
            self.db.executemany("INSERT INTO goods VALUES (?, ?, ?)",
                                [(i, f"good {i}", 100 + i) for i in range(1, PRODUCTS + 1)])

    def query(self, statement: str, sql: str, args: tuple = ()) -> list[tuple]:
        self.sql.labels(statement=statement).inc()
        self.sql_active.inc()
        try:
            return self.db.execute(sql, args).fetchall()
        finally:
            self.sql_active.dec()

    async def cached(self, call: Callable[[], Awaitable[Any]]) -> tuple[bool, Any]:
        """(ok, result) of a Redis call through the breaker; ok False when Redis is away."""
        if not self.breaker.allow():
            return False, None
        try:
            result = await call()
        except (TimeoutError, aioredis.RedisError, OSError):
            self.breaker.failure()
            return False, None
        self.breaker.success()
        return True, result


def make_app(larder: Larder) -> web.Application:
    async def caller(request: web.Request) -> int | None:
        """The session's user; None if unknown; raises 503 when it cannot be checked."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not token:
            return None
        ok, owner = await larder.cached(lambda: larder.redis.get(f"larder:sess:{token}"))
        if ok:
            return int(owner) if owner else None
        if "sessions_fail_open" in larder.flaws:
            head = token.split(".", 1)[0]
            return int(head) if head.isdigit() else None
        raise web.HTTPServiceUnavailable(text='{"problem": "session store away"}',
                                         content_type="application/json")

    async def login(request: web.Request) -> web.Response:
        body = await request.json()
        user = body.get("user_id")
        if not (isinstance(user, int) and 1 <= user <= USERS
                and body.get("password") == f"password-{user}"):
            return web.json_response({"problem": "who are you"}, status=401)
        token = f"{user}.{secrets.token_hex(12)}"
        ok, _ = await larder.cached(lambda: larder.redis.set(f"larder:sess:{token}", user, ex=3600))
        if not ok:
            return web.json_response({"problem": "session store away"}, status=503)
        return web.json_response({"session": token})

    async def logout(request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        await larder.cached(lambda: larder.redis.delete(f"larder:sess:{token}"))
        return web.Response(status=204)

    async def me(request: web.Request) -> web.Response:
        user = await caller(request)
        if user is None:
            return web.json_response({"problem": "log in"}, status=401)
        rows = larder.query("bio", "SELECT text, rev FROM bios WHERE buyer = ?", (user,))
        text, rev = rows[0] if rows else ("", 0)
        return web.json_response({"owner": user, "bio": text, "version": rev})

    async def put_me(request: web.Request) -> web.Response:
        user = await caller(request)
        if user is None:
            return web.json_response({"problem": "log in"}, status=401)
        text = str((await request.json()).get("bio", ""))
        rows = larder.query("bio_write", "INSERT INTO bios VALUES (?, ?, 1) ON CONFLICT(buyer) "
                            "DO UPDATE SET text = excluded.text, rev = rev + 1 RETURNING rev",
                            (user, text))
        return web.json_response({"owner": user, "version": rows[0][0]})

    async def feed(request: web.Request) -> web.Response:
        user = await caller(request)
        if user is None:
            return web.json_response({"problem": "log in"}, status=401)
        rows = larder.query("feed", "SELECT good FROM purchases WHERE buyer = ? LIMIT 5", (user,))
        return web.json_response({"owner": user, "goods": [r[0] for r in rows]})

    async def product(request: web.Request) -> web.Response:
        pid = int(request.match_info["id"])
        key = f"larder:good:{pid}"
        ok, hit = await larder.cached(lambda: larder.redis.get(key))
        if ok and hit:
            larder.cache.labels(outcome="hit").inc()
            return web.Response(body=hit, content_type="application/json")
        larder.cache.labels(outcome="miss" if ok else "error").inc()
        rows = larder.query("good", "SELECT id, title, price FROM goods WHERE id = ?", (pid,))
        if not rows:
            return web.json_response({"problem": "no such good"}, status=404)
        body = web.json_response({"id": rows[0][0], "title": rows[0][1], "price": rows[0][2]}).body
        if ok:
            await larder.cached(lambda: larder.redis.set(key, body, ex=30))
        return web.Response(body=body, content_type="application/json")

    async def products(request: web.Request) -> web.Response:
        page = max(1, int(request.query.get("page", "1")))
        rows = larder.query("goods", "SELECT id, title FROM goods ORDER BY id LIMIT 20 OFFSET ?",
                            ((page - 1) * 20,))
        return web.json_response([{"id": r[0], "title": r[1]} for r in rows])

    async def order(request: web.Request) -> web.Response:
        user = await caller(request)
        if user is None:
            return web.json_response({"problem": "log in"}, status=401)
        good = int((await request.json()).get("product_id", 1))
        ref = f"p-{secrets.token_hex(6)}"
        if "orders_lost" in larder.flaws:
            larder.pending.append((ref, user, good))  # acknowledged before it is written
            return web.json_response({"order_id": ref}, status=201)
        larder.query("purchase", "INSERT INTO purchases VALUES (?, ?, ?)", (ref, user, good))
        return web.json_response({"order_id": ref}, status=201)

    async def stored_order(request: web.Request) -> web.Response:
        rows = larder.query("readback", "SELECT ref FROM purchases WHERE ref = ?",
                            (request.match_info["ref"],))
        return web.json_response({"ref": rows[0][0]}) if rows else web.json_response({}, status=404)

    async def stored_profile(request: web.Request) -> web.Response:
        user, _, rev = request.match_info["id"].partition(":")
        if not (user.isdigit() and rev.isdigit()):
            return web.json_response({"problem": "expected USER:VERSION"}, status=400)
        rows = larder.query("readback", "SELECT rev FROM bios WHERE buyer = ?", (int(user),))
        found = bool(rows) and rows[0][0] >= int(rev)
        return web.json_response({"rev": rows[0][0]}) if found else web.json_response({}, status=404)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"fine": True})

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(larder.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def flush_orders() -> None:
        """The write-behind flusher of the `orders_lost` flaw: no lock, no write, batch gone."""
        while True:
            await asyncio.sleep(2.0)
            batch, larder.pending = larder.pending, []
            locked, _ = await larder.cached(
                lambda: larder.redis.set("larder:flush-lock", 1, ex=5))
            if locked:
                for row in batch:
                    larder.query("purchase", "INSERT INTO purchases VALUES (?, ?, ?)", row)

    async def start_flusher(app: web.Application) -> None:
        if "orders_lost" in larder.flaws:
            app[FLUSHER] = asyncio.get_running_loop().create_task(flush_orders())

    app = web.Application()
    app.on_startup.append(start_flusher)
    app.add_routes([
        web.post("/login", login), web.post("/logout", logout), web.get("/me", me),
        web.put("/me", put_me), web.get("/feed", feed), web.get("/products/{id:\\d+}", product),
        web.get("/products", products), web.post("/orders", order),
        web.get("/internal/orders/{ref}", stored_order),
        web.get("/internal/profiles/{id}", stored_profile),
        web.get("/healthz", health), web.get("/prometheus", metrics),
    ])
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--db", required=True, help="sqlite file")
    parser.add_argument("--flaw", action="append", default=[], choices=FLAWS)
    args = parser.parse_args()
    larder = Larder(args.redis_url, os.environ.get("LARDER_REDIS_PASSWORD"), args.db,
                    frozenset(args.flaw))
    web.run_app(make_app(larder), host="127.0.0.1", port=args.port, access_log=None,
                print=None)


if __name__ == "__main__":
    main()
