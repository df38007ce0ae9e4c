"""The one object a request handler needs: settings, metrics, breakers, cache, database, sessions, limiter."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import Request, Response

from targets.shop.breaker import CircuitBreaker
from targets.shop.cache import Cache, CacheUnavailable, LatencyMonitor
from targets.shop.config import Settings
from targets.shop.db import Database
from targets.shop.metrics import Metrics
from targets.shop.ratelimit import RateLimiter
from targets.shop.sessions import Sessions

log = logging.getLogger("targets.shop")
STATE_NAMES = {0: "closed", 1: "open", 2: "half-open"}


class Shop:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.redis_breaker = CircuitBreaker(
            "redis", failures=settings.breaker_failures, span=settings.breaker_span, latency=settings.breaker_latency,
            cooldown=settings.breaker_cooldown, enabled=not settings.has("no_circuit_breaker"),
            on_change=self._breaker_changed)
        self.db_breaker = CircuitBreaker(
            "db", failures=settings.breaker_failures, span=settings.breaker_span, cooldown=settings.breaker_cooldown,
            on_change=self._breaker_changed)
        self.cache = Cache(settings, self.redis_breaker)
        self.db = Database(settings, self.metrics, self.db_breaker)
        self.sessions = Sessions(self.cache, fail_open=settings.has("fail_open_sessions"))
        self.limiter = RateLimiter(
            self.cache, settings.rate_limit, settings.rate_window, settings.instances,
            fail_open=settings.has("rate_limit_fail_open"))
        self.invalidations: asyncio.Queue[str] = asyncio.Queue()
        self.tasks: list[asyncio.Task] = []
        self.monitor: LatencyMonitor | None = None

    def _breaker_changed(self, name: str, state: int) -> None:
        self.metrics.circuit_state.labels(name).set(state)
        breaker = self.redis_breaker if name == "redis" else self.db_breaker
        reason = f" ({breaker.reason})" if state == 1 else ""
        log.warning("%s circuit %s%s", name, STATE_NAMES[state], reason)

    def cache_result(self, result: str) -> None:
        self.metrics.cache_requests.labels(result).inc()

    async def start(self) -> None:
        await self.db.open()
        await self.cache.warm_up()
        self.monitor = LatencyMonitor(self.settings.redis_url, self.redis_breaker,
                                      asyncio.get_running_loop())
        self.monitor.start()
        self.tasks.append(asyncio.create_task(self._retry_invalidations()))

    async def stop(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.db.close()
        await self.cache.close()

    async def invalidate(self, *keys: str) -> None:
        """Delete cache keys now; if Redis fails, queue them for retries with backoff (chapter "Invalidation Queue")."""
        try:
            await self.cache.call(self.cache.redis.delete, *keys)
        except CacheUnavailable:
            for k in keys:
                self.invalidations.put_nowait(k)
            self.metrics.invalidation_retries.set(self.invalidations.qsize())

    async def _retry_invalidations(self) -> None:
        delay = 0.1
        while True:
            k = await self.invalidations.get()
            while True:
                try:
                    await self.cache.call(self.cache.redis.delete, k)
                    delay = 0.1
                    break
                except CacheUnavailable:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
            self.metrics.invalidation_retries.set(self.invalidations.qsize())


def shop_of(request: Request) -> Shop:
    return request.app.state.shop


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")).encode(), status, headers, "application/json")


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": message}, status, headers)
