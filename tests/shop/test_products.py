"""GET /products/{id}: single flight, negative cache, stale copy, breaker, cache timeout, TTL jitter,
the database bound. Each pattern is tested sound and with the flaw that breaks it."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

PRODUCT_QUERIES = "stampede_db_queries_total"


async def _burst(base: str, paths: list[str]) -> list[int]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def one(path: str) -> int:
            async with session.get(base + path) as reply:
                await reply.read()
                return reply.status

        return await asyncio.gather(*(one(p) for p in paths))


def burst(shop, paths: list[str]) -> list[int]:
    """Send all requests at once (one connection each), return the statuses."""
    return asyncio.run(_burst(shop.base, paths))


def product_queries(shop) -> float:
    return shop.metric(PRODUCT_QUERIES, query="product")


@pytest.mark.parametrize("flaw", [None, "no_single_flight"])
def test_fifty_concurrent_misses_fetch_once(make_shop, flaw):
    shop = make_shop(*([flaw] if flaw else []))
    shop.db_link.latency(200)  # the leader's fetch takes a while, so all 50 really overlap it
    before = product_queries(shop)
    statuses = burst(shop, ["/products/5"] * 50)
    fetches = product_queries(shop) - before
    assert statuses == [200] * 50
    if flaw:
        assert fetches > 1, "without single flight every concurrent miss should reach the database"
    else:
        assert fetches == 1


@pytest.mark.parametrize("flaw", [None, "no_negative_cache"])
def test_unknown_id_costs_one_query(make_shop, flaw):
    shop = make_shop(*([flaw] if flaw else []))
    before = product_queries(shop)
    statuses = [shop.get("/products/999999").status_code for _ in range(100)]
    fetches = product_queries(shop) - before
    assert statuses == [404] * 100
    assert fetches == (100 if flaw else 1)
    if not flaw:
        assert shop.redis.get("v1:shop:product:999999") == b"__none__"


@pytest.mark.parametrize("flaw", [None, "no_stale_fallback"])
def test_database_down_serves_stale_copy(make_shop, flaw):
    shop = make_shop(*([flaw] if flaw else []))
    assert shop.get("/products/7").status_code == 200
    shop.redis.delete("v1:shop:product:7")  # the fresh copy expired
    shop.db_link.enable(False)
    reply = shop.get("/products/7")
    if flaw:
        assert reply.status_code == 503
        assert shop.metric("stampede_cache_requests_total", result="stale") == 0
    else:
        assert reply.status_code == 200, reply.text
        assert reply.json()["id"] == 7
        assert reply.headers["x-cache"] == "stale"
        assert shop.metric("stampede_cache_requests_total", result="stale") == 1
    assert shop.get("/products/8").status_code == 503  # never cached: nothing to serve


def test_waiters_get_the_stale_copy_when_the_leader_fails(make_shop):
    """Database down, fresh copy gone: the leader's fetch fails, it serves the stale copy and
    puts it back under the fresh key for a few seconds; the waiters find it at their next poll
    instead of waiting out --lock-wait-ms (10 s), and the database saw one attempt."""
    shop = make_shop("--lock-wait-ms=10000", "--db-queue-timeout-ms=5000")
    assert shop.get("/products/9").status_code == 200
    shop.redis.delete("v1:shop:product:9")
    shop.db_link.enable(False)
    queries_before = product_queries(shop)
    started = time.monotonic()
    statuses = burst(shop, ["/products/9"] * 10)
    elapsed = time.monotonic() - started
    assert statuses == [200] * 10  # all served the stale copy
    assert shop.metric("stampede_cache_requests_total", result="stale") == 10
    assert elapsed < 8, f"waiters sat out the lock wait ({elapsed:.1f}s)"
    assert product_queries(shop) == queries_before + 1
    assert shop.get("/products/9").headers["x-cache"] == "stale"  # the refill serves later requests


@pytest.mark.parametrize("flaw", [None, "no_circuit_breaker"])
def test_redis_down_products_from_database_and_breaker_opens(make_shop, flaw):
    shop = make_shop(*([flaw] if flaw else []), "--breaker-cooldown=1")
    shop.redis_link.enable(False)
    statuses = []
    deadline = time.monotonic() + 1.0  # failures must last --breaker-span-ms (100 ms) to open it
    while time.monotonic() < deadline or len(statuses) < 20:
        statuses.append(shop.get(f"/products/{len(statuses) % 50 + 1}").status_code)
        if not flaw and shop.metric("stampede_circuit_state", dependency="redis") == 1:
            break
    assert set(statuses) == {200}  # answered from the database all along
    errors = shop.metric("stampede_cache_requests_total", result="error")
    if flaw:
        assert shop.metric("stampede_circuit_state", dependency="redis") == 0
        assert shop.metric("stampede_cache_requests_total", result="bypass") == 0
        assert errors == len(statuses), "every request kept trying the dead Redis"
        return
    assert shop.metric("stampede_circuit_state", dependency="redis") == 1
    assert 5 <= errors <= len(statuses)
    for pid in range(1, 11):  # open: Redis is not even tried
        assert shop.get(f"/products/{pid}").headers["x-cache"] == "bypass"
    assert shop.metric("stampede_cache_requests_total", result="error") == errors
    shop.redis_link.enable(True)
    deadline = time.monotonic() + 15
    while shop.metric("stampede_circuit_state", dependency="redis") != 0:
        assert time.monotonic() < deadline, "breaker did not close after Redis came back"
        shop.get("/products/1")
        time.sleep(0.2)
    assert shop.get("/products/1").headers["x-cache"] in ("hit", "miss")


@pytest.mark.parametrize("flaw", [None, "no_cache_timeout"])
def test_slow_redis_does_not_slow_products(make_shop, flaw):
    shop = make_shop(*([flaw] if flaw else []), "--cache-timeout-ms=50")
    assert shop.get("/products/3").status_code == 200  # cached now
    shop.redis_link.latency(1500)
    for _ in range(2):  # the second needs a new connection: the timeout cost the first one
        started = time.monotonic()
        reply = shop.get("/products/3")
        elapsed = time.monotonic() - started
        assert reply.status_code == 200
        if flaw:
            assert elapsed >= 1.5, f"without a timeout the request waits for Redis ({elapsed:.3f}s)"
            return
        # cache timeout (50 ms; set-up of a new connection 200 ms) + database time; 1 s leaves
        # room for a busy machine and is still well under the 1.5 s Redis takes
        assert elapsed < 1.0, f"took {elapsed:.3f}s"
        assert reply.headers["x-cache"] == "error"


def test_breaker_opens_on_latency_below_the_timeout(make_shop):
    """The "slow cache" rule: Redis answering within the timeout, but slowly, still opens the
    breaker (from the latency probe, with no request failing), and requests then bypass it."""
    shop = make_shop("--cache-timeout-ms=1000", "--breaker-latency-ms=100")
    shop.get("/products/2")
    shop.redis_link.latency(200)
    deadline = time.monotonic() + 10
    while shop.metric("stampede_circuit_state", dependency="redis") != 1:
        assert time.monotonic() < deadline, "a 200 ms Redis never opened the breaker"
        time.sleep(0.2)
    assert "median latency" in shop.log()
    assert shop.metric("stampede_cache_requests_total", result="error") == 0  # no call failed
    started = time.monotonic()
    assert shop.get("/products/2").headers["x-cache"] == "bypass"
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("flaw", [None, "no_ttl_jitter"])
def test_ttl_jitter_spreads_expiry(make_shop, flaw):
    shop = make_shop(*([flaw] if flaw else []))
    for pid in range(20, 40):
        assert shop.get(f"/products/{pid}").status_code == 200
    ttls = [shop.redis.pttl(f"v1:shop:product:{pid}") for pid in range(20, 40)]
    assert all(t > 0 for t in ttls)
    spread = max(ttls) - min(ttls)
    if flaw:
        assert spread < 5_000, f"TTLs should expire together, spread {spread} ms"
    else:
        assert spread > 5_000, f"±10 % of 300 s should spread TTLs by far more, got {spread} ms"


@pytest.mark.parametrize("flaw", [None, "unbounded_db"])
def test_database_bound_sheds_load(make_shop, flaw):
    shop = make_shop(*([flaw] if flaw else []), "--db-max-concurrency=3", "--db-queue-timeout-ms=100")
    shop.db_link.latency(300)
    statuses = burst(shop, [f"/products/{pid}" for pid in range(100, 130)])  # 30 distinct misses
    shed = shop.metric("stampede_shed_requests_total")
    if flaw:
        assert statuses == [200] * 30 and shed == 0
    else:
        assert statuses.count(503) >= 10, statuses
        assert shed == statuses.count(503)
        assert set(statuses) <= {200, 503}


def test_warms_the_hottest_products_before_traffic(make_shop):
    shop = make_shop("--warm=150")
    assert "warmed 150 products" in shop.log()
    assert shop.redis.exists(*[f"v1:shop:product:{i}" for i in range(1, 151)]) == 150
    assert shop.redis.exists(*[f"v1:shop:product_stale:{i}" for i in range(1, 151)]) == 150
    assert not shop.redis.exists("v1:shop:product:151")
    assert shop.get("/products/150").headers["x-cache"] == "hit"
    assert product_queries(shop) == 0


def test_admin_warm_and_purge(make_shop):
    shop = make_shop()
    reply = shop.post("/admin/warm", json={"count": 60, "per_second": 1000})
    assert reply.json() == {"warmed": 60}
    assert shop.redis.exists(*[f"v1:shop:product:{i}" for i in range(1, 61)]) == 60
    before = product_queries(shop)
    assert shop.get("/products/30").headers["x-cache"] == "hit"
    assert product_queries(shop) == before
    purged = shop.post("/admin/purge", json={"prefix": "v1:shop:product:"}).json()["deleted"]
    assert purged == 60
    assert shop.redis.exists("v1:shop:product_stale:30") == 1  # other entities untouched
    assert shop.post("/admin/purge", json={"prefix": "user:*"}).status_code == 422


def test_product_list_etag(make_shop):
    shop = make_shop()
    first = shop.get("/products?page=2")
    assert first.status_code == 200
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert [p["id"] for p in first.json()["products"]] == list(range(21, 41))
    again = shop.get("/products?page=2", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
