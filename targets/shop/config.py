"""Command line and environment settings of the shop, and a way to print them without secrets."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from targets.shop.flaws import FLAW_NAMES, parse_flaws


@dataclass(frozen=True)
class Settings:
    redis_url: str
    database_url: str
    flaws: frozenset[str] = field(default_factory=frozenset)
    host: str = "127.0.0.1"
    port: int = 8000
    instances: int = 1
    rate_limit: int = 100
    rate_window: float = 10.0
    cache_timeout: float = 0.05
    cache_connect_timeout: float = 0.2
    breaker_failures: int = 5
    breaker_span: float = 0.1
    breaker_latency: float = 0.04
    breaker_cooldown: float = 3.0
    product_ttl: float = 300.0
    negative_ttl: float = 30.0
    lock_wait: float = 2.0
    db_max_concurrency: int = 8
    db_queue_timeout: float = 0.5
    db_timeout: float = 2.0
    seed_users: int = 1000
    seed_products: int = 1000
    write_behind_interval: float = 2.0
    warm: int = 1000
    max_body: int = 64 * 1024
    admin_token: str | None = None
    access_log: bool = False

    def has(self, flaw: str) -> bool:
        return flaw in self.flaws


def redact(url: str) -> str:
    """scheme://host:port/db: what a log line may say about a connection URL."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m targets.shop",
        description="Reference cache-backed shop for stampede (FastAPI, Redis, PostgreSQL).",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--redis-url", default=os.environ.get("SHOP_REDIS_URL"),
                   help="redis://:PASSWORD@HOST:PORT/0 (env SHOP_REDIS_URL)")
    p.add_argument("--database-url", default=os.environ.get("SHOP_DATABASE_URL"),
                   help="postgresql://USER@HOST:PORT/DB; the database must exist (env SHOP_DATABASE_URL)")
    p.add_argument("--flaw", action="append", default=[], metavar="NAME",
                   help=f"switch on a flaw, repeatable (env SHOP_FLAWS=a,b): {', '.join(FLAW_NAMES)}")
    p.add_argument("--instances", type=int, default=1,
                   help="expected instance count: the local fallback rate limit is limit / instances")
    p.add_argument("--rate-limit", type=int, default=100, help="requests per client per window")
    p.add_argument("--rate-window", type=float, default=10.0, help="rate limit window in seconds")
    p.add_argument("--cache-timeout-ms", type=float, default=50.0, help="timeout of each Redis call")
    p.add_argument("--cache-connect-timeout-ms", type=float, default=200.0,
                   help="timeout of a new Redis connection's set-up (connect + AUTH)")
    p.add_argument("--breaker-failures", type=int, default=5,
                   help="consecutive Redis/DB failures that open a breaker")
    p.add_argument("--breaker-span-ms", type=float, default=100.0,
                   help="the consecutive failures must span at least this long (a burst is not an outage)")
    p.add_argument("--breaker-latency-ms", type=float, default=40.0,
                   help="median Redis PING latency (probed every 250 ms from a thread, last 8 samples) "
                        "that opens the breaker: slow but not timing out")
    p.add_argument("--breaker-cooldown", type=float, default=3.0,
                   help="seconds a breaker stays open before a half-open probe")
    p.add_argument("--product-ttl", type=float, default=300.0)
    p.add_argument("--negative-ttl", type=float, default=30.0)
    p.add_argument("--lock-wait-ms", type=float, default=2000.0,
                   help="how long single-flight waiters poll before querying the database themselves")
    p.add_argument("--db-max-concurrency", type=int, default=8,
                   help="concurrent database operations; more wait up to --db-queue-timeout-ms, then 503")
    p.add_argument("--db-queue-timeout-ms", type=float, default=500.0)
    p.add_argument("--db-timeout", type=float, default=2.0, help="seconds to get a database connection")
    p.add_argument("--users", type=int, default=1000, help="seeded users 1..N (password password-<id>)")
    p.add_argument("--products", type=int, default=1000, help="seeded products 1..M")
    p.add_argument("--warm", type=int, default=None, metavar="N",
                   help="cache the N hottest products (ids 1..N) before taking traffic, so every one "
                        "also has a stale copy; default: all seeded products; 0: start cold")
    p.add_argument("--write-behind-interval", type=float, default=2.0,
                   help="flush period of the write-behind order queue (flaw write_behind_orders only)")
    p.add_argument("--max-body", type=int, default=64 * 1024, help="largest request body in bytes (413 above)")
    p.add_argument("--admin-token", default=os.environ.get("SHOP_ADMIN_TOKEN"),
                   help="required in X-Admin-Token for /admin/* when set (env SHOP_ADMIN_TOKEN)")
    p.add_argument("--access-log", action="store_true", help="log every request (off: it costs throughput)")
    return p


def parse_settings(argv: list[str] | None = None) -> Settings:
    """Parse argv + environment; argparse errors (exit 2) name the option and the fix."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.redis_url:
        parser.error("--redis-url is required (or set SHOP_REDIS_URL), e.g. redis://:PASSWORD@127.0.0.1:6379/0")
    if not args.database_url:
        parser.error("--database-url is required (or set SHOP_DATABASE_URL), e.g. postgresql://postgres@127.0.0.1:5432/shop")
    flaw_values = list(args.flaw)
    if not flaw_values and os.environ.get("SHOP_FLAWS"):
        flaw_values = [os.environ["SHOP_FLAWS"]]
    try:
        flaws = parse_flaws(flaw_values)
    except ValueError as exc:
        parser.error(f"--flaw: {exc}")
    for name in ("instances", "rate_limit", "db_max_concurrency", "users", "products", "breaker_failures"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("rate_window", "cache_timeout_ms", "breaker_cooldown", "product_ttl", "negative_ttl"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return Settings(
        redis_url=args.redis_url,
        database_url=args.database_url,
        flaws=flaws,
        host=args.host,
        port=args.port,
        instances=args.instances,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        cache_timeout=args.cache_timeout_ms / 1000,
        cache_connect_timeout=args.cache_connect_timeout_ms / 1000,
        breaker_failures=args.breaker_failures,
        breaker_span=args.breaker_span_ms / 1000,
        breaker_latency=args.breaker_latency_ms / 1000,
        breaker_cooldown=args.breaker_cooldown,
        product_ttl=args.product_ttl,
        negative_ttl=args.negative_ttl,
        lock_wait=args.lock_wait_ms / 1000,
        db_max_concurrency=args.db_max_concurrency,
        db_queue_timeout=args.db_queue_timeout_ms / 1000,
        db_timeout=args.db_timeout,
        seed_users=args.users,
        seed_products=args.products,
        write_behind_interval=args.write_behind_interval,
        warm=args.products if args.warm is None else max(0, min(args.warm, args.products)),
        max_body=args.max_body,
        admin_token=args.admin_token,
        access_log=args.access_log,
    )
