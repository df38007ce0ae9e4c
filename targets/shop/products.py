"""Product pages: the chapter's full read path (Part 4) in one place.

cache-aside under a 50 ms Redis timeout and a breaker; on a miss a single-flight lock
(SET NX, waiters poll, then fall back); TTL jitter; negative caching of unknown ids;
a stale copy when the database is down; and the database bound that sheds with 503.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time

from fastapi import APIRouter, Query, Request, Response

from targets.shop.cache import NEGATIVE, CacheUnavailable, key
from targets.shop.db import DatabaseUnavailable, Overloaded
from targets.shop.state import Shop, error, shop_of

router = APIRouter()

MAX_ID = 2**31 - 1
PAGE_SIZE = 20
STALE_TTL = 24 * 3600
STALE_MARK = b"~"  # prefix of a stale copy put back in the fresh key (JSON starts with "{")
STALE_REFILL_MS = 5000
LIST_TTL = 60
POLL_FIRST, POLL_MAX = 0.01, 0.1  # waiters poll at 10 ms, backing off to 100 ms
LOCK_MS = 5000
RELEASE_LOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
# A waiter's poll in one round trip: the value if it is there, else take over the lock if the
# leader let it go (its fetch failed) so nobody waits out the whole lock_wait for nothing.
POLL_OR_LEAD = """
local value = redis.call('GET', KEYS[1])
if value then return {1, value} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, ''} end
return {0, ''}
"""
PRODUCT_SQL = "SELECT id, name, price_cents, description FROM products WHERE id = ANY(%s) ORDER BY id"


def product_json(row: tuple) -> bytes:
    pid, name, price, description = row
    return json.dumps(
        {"id": pid, "name": name, "price_cents": price, "description": description},
        separators=(",", ":"),
    ).encode()


async def fill(shop: Shop, pid: int, body: bytes | None) -> None:
    """Store a product (and its stale copy) or the negative marker; best effort."""
    r = shop.cache.redis
    if body is None:
        if shop.settings.has("no_negative_cache"):
            return
        await shop.cache.quietly(r.set, key("product", pid), NEGATIVE,
                                 px=shop.cache.ttl(shop.settings.negative_ttl))
        return

    async def store() -> None:
        async with r.pipeline(transaction=False) as pipe:
            pipe.set(key("product", pid), body, px=shop.cache.ttl(shop.settings.product_ttl))
            pipe.set(key("product_stale", pid), body, ex=STALE_TTL)
            await pipe.execute()

    await shop.cache.quietly(store)


async def from_database(shop: Shop, pid: int, result: str, cache_ok: bool) -> tuple[bytes | None, str]:
    """Fetch one product (query "product"); on database trouble serve the stale copy if allowed.
    Returns the body (None: no such product) and how it was served."""
    try:
        async with shop.db.connection("product") as conn:
            cur = await conn.execute(PRODUCT_SQL, ([pid],))
            row = await cur.fetchone()
    except (DatabaseUnavailable, Overloaded):
        if cache_ok and not shop.settings.has("no_stale_fallback"):
            try:
                stale = await shop.cache.call(shop.cache.redis.get, key("product_stale", pid))
            except CacheUnavailable:
                stale = None
            if stale is not None:
                # put it back under the fresh key for a few seconds: waiters and the next
                # requests serve it too, and the database sees one attempt per key per refill
                await shop.cache.quietly(shop.cache.redis.set, key("product", pid), STALE_MARK + stale,
                                         px=STALE_REFILL_MS)
                shop.cache_result("stale")
                return stale, "stale"
        shop.cache_result(result)
        raise
    shop.cache_result(result)
    body = product_json(row) if row else None
    if cache_ok:
        await fill(shop, pid, body)
    return body, result


def from_cache(shop: Shop, cached: bytes) -> tuple[bytes | None, str]:
    """A cached value: the product, the negative marker (None), or a refilled stale copy."""
    if cached[:1] == STALE_MARK:
        shop.cache_result("stale")
        return cached[1:], "stale"
    shop.cache_result("hit")
    return (None if cached == NEGATIVE else cached), "hit"


async def load_product(shop: Shop, pid: int) -> tuple[bytes | None, str]:
    """The product body (None when it does not exist) and how it was served."""
    r = shop.cache.redis
    pkey = key("product", pid)
    try:
        cached = await shop.cache.call(r.get, pkey)
    except CacheUnavailable as exc:
        result = "bypass" if exc.bypassed else "error"
        return await from_database(shop, pid, result, cache_ok=False)
    if cached is not None:
        return from_cache(shop, cached)
    if shop.settings.has("no_single_flight"):
        return await from_database(shop, pid, "miss", cache_ok=True)

    lock = key("product_lock", pid)
    token = secrets.token_hex(8)
    try:
        leader = bool(await shop.cache.call(r.set, lock, token, nx=True, px=LOCK_MS))
    except CacheUnavailable:
        return await from_database(shop, pid, "error", cache_ok=False)
    deadline = time.monotonic() + shop.settings.lock_wait
    poll = POLL_FIRST
    while not leader and time.monotonic() < deadline:
        await asyncio.sleep(poll)
        poll = min(poll * 2, POLL_MAX)
        try:
            state, cached = await shop.cache.call(
                shop.cache.script(POLL_OR_LEAD), keys=[pkey, lock], args=[token, LOCK_MS])
        except CacheUnavailable:
            break
        if state == 1:
            return from_cache(shop, cached)
        leader = state == 2
    if not leader:  # waited long enough (or Redis failed): fetch without the lock
        return await from_database(shop, pid, "miss", cache_ok=True)
    try:
        return await from_database(shop, pid, "miss", cache_ok=True)
    finally:
        await shop.cache.quietly(shop.cache.script(RELEASE_LOCK), keys=[lock], args=[token])


@router.get("/products/{product_id}")
async def get_product(product_id: int, request: Request) -> Response:
    shop = shop_of(request)
    if not 1 <= product_id <= MAX_ID:
        return error(404, f"product {product_id} not found")
    try:
        body, served = await load_product(shop, product_id)
    except Overloaded:
        return error(503, "overloaded: database busy, retry later", {"Retry-After": "1"})
    except DatabaseUnavailable:
        return error(503, "database unavailable and no cached copy")
    if body is None:
        return error(404, f"product {product_id} not found")
    return Response(body, 200, {"X-Cache": served, "Cache-Control": "public, max-age=30"},
                    "application/json")


@router.get("/products")
async def list_products(request: Request, page: int = Query(1, ge=1, le=10_000)) -> Response:
    """Public list: cacheable at the edge (Cache-Control public), ETag + 304 for revalidation."""
    shop = shop_of(request)
    lkey = key("product_list", page)
    cache_ok = True
    try:
        body = await shop.cache.call(shop.cache.redis.get, lkey)
        shop.cache_result("hit" if body is not None else "miss")
    except CacheUnavailable as exc:
        body, cache_ok = None, False
        shop.cache_result("bypass" if exc.bypassed else "error")
    if body is None:
        try:
            async with shop.db.connection("product_list") as conn:
                cur = await conn.execute(
                    "SELECT id, name, price_cents, description FROM products ORDER BY id LIMIT %s OFFSET %s",
                    (PAGE_SIZE, (page - 1) * PAGE_SIZE))
                rows = await cur.fetchall()
        except Overloaded:
            return error(503, "overloaded: database busy, retry later", {"Retry-After": "1"})
        except DatabaseUnavailable:
            return error(503, "database unavailable")
        items = b",".join(product_json(row) for row in rows)
        body = b'{"page":%d,"products":[%s]}' % (page, items)
        if cache_ok:
            await shop.cache.quietly(shop.cache.redis.set, lkey, body, px=shop.cache.ttl(LIST_TTL))
    etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={LIST_TTL}"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, 200, headers, "application/json")


async def warm(shop: Shop, count: int, per_second: float) -> int:
    """Fill the `count` hottest products (ids 1..count: the seed ranks popularity by id), paced,
    one database batch and one Redis pipeline per 100 products."""
    warmed = 0
    batch = 100
    r = shop.cache.redis
    for start in range(1, count + 1, batch):
        ids = list(range(start, min(count, start + batch - 1) + 1))
        began = time.monotonic()
        async with shop.db.connection("product_warm") as conn:
            cur = await conn.execute(PRODUCT_SQL, (ids,))
            rows = await cur.fetchall()

        async def store(rows: list[tuple] = rows) -> None:
            async with r.pipeline(transaction=False) as pipe:
                for row in rows:
                    body = product_json(row)
                    pipe.set(key("product", row[0]), body, px=shop.cache.ttl(shop.settings.product_ttl))
                    pipe.set(key("product_stale", row[0]), body, ex=STALE_TTL)
                await pipe.execute()

        if await shop.cache.quietly(store) is None and shop.redis_breaker.state != 0:
            break  # Redis is away: warming is best effort
        warmed += len(rows)
        pause = len(ids) / per_second - (time.monotonic() - began)
        if pause > 0:
            await asyncio.sleep(pause)
    return warmed
