"""Redis behind an aggressive timeout and a circuit breaker: every cache call goes through `Cache.call`."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry as SyncRetry

from targets.shop.breaker import CircuitBreaker
from targets.shop.config import Settings

T = TypeVar("T")

PREFIX = "v1:shop"
NEGATIVE = b"__none__"  # marks "this id does not exist" (negative cache), never valid JSON


def key(entity: str, ident: object) -> str:
    """`{version}:{service}:{entity}:{id}`, the chapter's key scheme."""
    return f"{PREFIX}:{entity}:{ident}"


class CacheUnavailable(Exception):
    """Redis could not be used: `bypassed` when the breaker refused the call, else it failed."""

    def __init__(self, bypassed: bool) -> None:
        super().__init__("cache bypassed: breaker open" if bypassed else "cache error")
        self.bypassed = bypassed


class HandshakeConnection(aioredis.Connection):
    """Commands time out after `socket_timeout` (the aggressive cache timeout); connection set-up
    (connect, AUTH, SELECT) gets `socket_connect_timeout`. A timed-out command costs its
    connection, and on a busy machine a reconnect held to 50 ms times out in turn: each timeout
    would cause the next, and a healthy Redis would look down."""

    async def on_connect_check_health(self, check_health: bool = True) -> None:
        command_timeout, self.socket_timeout = self.socket_timeout, self.socket_connect_timeout
        try:
            await super().on_connect_check_health(check_health)
        finally:
            self.socket_timeout = command_timeout


class Cache:
    def __init__(self, settings: Settings, breaker: CircuitBreaker) -> None:
        flawed = settings.has("no_cache_timeout")
        timeout = None if flawed else settings.cache_timeout
        self.redis = aioredis.Redis.from_url(
            settings.redis_url,
            connection_class=HandshakeConnection,
            socket_timeout=timeout,
            socket_connect_timeout=None if flawed else max(settings.cache_timeout,
                                                           settings.cache_connect_timeout),
            retry=Retry(NoBackoff(), 0),  # a retry would multiply the timeout; the breaker decides
            max_connections=500,
            lib_name=None,  # no CLIENT SETINFO on connect: fewer round trips inside the timeout
            lib_version=None,
        )
        self.breaker = breaker
        self.scripts: dict[str, object] = {}
        self.jitter = 0.0 if settings.has("no_ttl_jitter") else 0.1

    def script(self, source: str):
        """A registered Lua script (EVALSHA, reloaded by redis-py after a Redis restart)."""
        if source not in self.scripts:
            self.scripts[source] = self.redis.register_script(source)
        return self.scripts[source]

    def ttl(self, base: float) -> int:
        """TTL in ms with ±10 % jitter, so keys filled together do not expire together."""
        return max(1, int(base * 1000 * (1 + random.uniform(-self.jitter, self.jitter))))

    async def call(self, fn: Callable[..., Awaitable[T]], *args: object, **kwargs: object) -> T:
        if not self.breaker.allow():
            raise CacheUnavailable(bypassed=True)
        try:
            result = await fn(*args, **kwargs)
        except (TimeoutError, RedisError, OSError) as exc:
            self.breaker.failure()
            raise CacheUnavailable(bypassed=False) from exc
        self.breaker.success()
        return result

    async def quietly(self, fn: Callable[..., Awaitable[T]], *args: object, **kwargs: object) -> T | None:
        """Best-effort write (a cache fill): a failure only feeds the breaker."""
        try:
            return await self.call(fn, *args, **kwargs)
        except CacheUnavailable:
            return None

    async def warm_up(self, connections: int = 16) -> None:
        """Open some connections before traffic: a burst of cold connects (connect + AUTH each)
        would otherwise blow the 50 ms budget and open the breaker at start-up."""
        await asyncio.gather(*(self.ping(timeout=1.0) for _ in range(connections)))

    async def ping(self, timeout: float = 0.5) -> bool:
        try:
            return bool(await asyncio.wait_for(self.redis.ping(), timeout))
        except (TimeoutError, RedisError, OSError):
            return False

    async def close(self) -> None:
        await self.redis.aclose()


class LatencyMonitor(threading.Thread):
    """The chapter's separate cache health check: PING Redis from a thread every `interval` and
    feed the round trip to the breaker's latency rule. A thread, so the event loop's own
    queueing under load is not mistaken for a slow Redis. Refused connections are not samples
    (the failure rule covers an unreachable Redis); a probe timeout counts as `timeout`."""

    def __init__(self, url: str, breaker: CircuitBreaker, loop: asyncio.AbstractEventLoop,
                 interval: float = 0.25, timeout: float = 1.0) -> None:
        super().__init__(name="redis-latency-monitor", daemon=True)
        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                           retry=SyncRetry(NoBackoff(), 0), lib_name=None,
                                           lib_version=None)
        self.breaker = breaker
        self.loop = loop
        self.interval = interval
        self.timeout = timeout
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            start = time.monotonic()
            try:
                self.client.ping()
                sample = time.monotonic() - start
            except redis.TimeoutError:
                sample = self.timeout
            except (RedisError, OSError):
                continue
            try:
                self.loop.call_soon_threadsafe(self.breaker.observe_latency, sample)
            except RuntimeError:  # the loop is closed: shutting down
                return

    def stop(self) -> None:
        self.stopped.set()
        self.client.close()
