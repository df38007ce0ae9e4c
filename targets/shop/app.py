"""The FastAPI application: routers, the request middleware (body limit, rate limit, metrics),
error mapping (never a stack trace in a body), /health, /metrics and /ping.

Metrics (prometheus-client, the names the harness reads: docs/own-service.md):
  stampede_circuit_state{dependency="redis"|"db"}     0 closed, 1 open, 2 half-open
  stampede_cache_requests_total{result=...}           hit, miss, error, stale, bypass (one per cache lookup)
  stampede_db_queries_total{query=...}                see targets.shop.metrics.DB_QUERIES
  stampede_db_inflight, stampede_shed_requests_total
  stampede_http_requests_total{method,route,status}, stampede_http_request_duration_seconds{method,route}
  stampede_rate_limit_decisions_total{decision,mode}, stampede_invalidation_queue
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from targets.shop import accounts, admin, orders, products
from targets.shop.accounts import AuthError
from targets.shop.config import Settings, redact
from targets.shop.db import DatabaseUnavailable, Overloaded
from targets.shop.ratelimit import retry_after_header
from targets.shop.sessions import SessionStoreDown
from targets.shop.state import STATE_NAMES, Shop, error, json_response, shop_of

log = logging.getLogger("targets.shop")
UNLIMITED = frozenset({"/health", "/metrics", "/ping"})
CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _error_body(status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> tuple:
    body = json.dumps({"error": message}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return ({"type": "http.response.start", "status": status, "headers": head + (headers or [])},
            {"type": "http.response.body", "body": body})


class ShopMiddleware:
    """Plain ASGI (cheaper than BaseHTTPMiddleware): 413 for big bodies, the per-client rate
    limit (header X-Client-Id), and request counts/latency by route template."""

    def __init__(self, app, shop: Shop) -> None:
        self.app = app
        self.shop = shop

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            receive = await self._limited_body(scope, receive, send_wrapper)
            if receive is not None and await self._rate_limited(scope, send_wrapper):
                receive = None
            if receive is not None:
                await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            m = self.shop.metrics
            m.http_requests.labels(scope["method"], template, str(status[0])).inc()
            m.http_latency.labels(scope["method"], template).observe(time.perf_counter() - start)

    async def _limited_body(self, scope, receive, send):
        """Read the body up front (bounded); None when a 413 was sent instead."""
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return receive
        limit = self.shop.settings.max_body
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                for message in _error_body(413, f"request body over {limit} bytes"):
                    await send(message)
                return None
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                for out in _error_body(413, f"request body over {limit} bytes"):
                    await send(out)
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    async def _rate_limited(self, scope, send) -> bool:
        if scope["path"] in UNLIMITED:
            return False
        client = next((v for k, v in scope["headers"] if k == b"x-client-id"), None)
        if client is None:
            return False
        client_id = client.decode("latin-1")
        if not CLIENT_ID.match(client_id):
            for message in _error_body(400, "X-Client-Id must be 1-64 letters, digits or ._:-"):
                await send(message)
            return True
        decision = await self.shop.limiter.check(client_id)
        self.shop.metrics.rate_limit.labels("allow" if decision.allowed else "deny", decision.mode).inc()
        if decision.allowed:
            return False
        headers = [(b"retry-after", retry_after_header(decision.retry_after).encode()),
                   (b"x-ratelimit-limit", str(decision.limit).encode()),
                   (b"x-ratelimit-remaining", b"0")]
        for message in _error_body(429, "rate limit exceeded", headers):
            await send(message)
        return True


def create_app(settings: Settings) -> FastAPI:
    shop = Shop(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("starting: redis=%s db=%s flaws=%s", redact(settings.redis_url),
                 redact(settings.database_url), ",".join(sorted(settings.flaws)) or "none")
        await shop.start()
        if settings.warm:
            try:
                warmed = await products.warm(shop, settings.warm, per_second=20_000)
                log.info("warmed %d products", warmed)
            except (DatabaseUnavailable, Overloaded) as exc:
                log.warning("cache warming skipped: %s", type(exc).__name__)
        if settings.has("write_behind_orders"):
            shop.tasks.append(asyncio.create_task(orders.flush_write_behind(shop)))
        log.info("ready on http://%s:%d", settings.host, settings.port)
        try:
            yield
        finally:
            await shop.stop()

    app = FastAPI(title="stampede shop", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.shop = shop
    app.add_middleware(ShopMiddleware, shop=shop)
    for module in (products, accounts, orders, admin):
        app.include_router(module.router)

    @app.get("/ping")
    async def ping() -> Response:
        """Touches nothing: the baseline of the throughput benchmark."""
        return Response(b'{"ok":true}', 200, media_type="application/json")

    @app.get("/health")
    async def health(request: Request) -> Response:
        shop = shop_of(request)
        redis_ok, db_ok = await asyncio.gather(shop.cache.ping(), shop.db.ping())
        circuits = {"redis": STATE_NAMES[shop.redis_breaker.state], "db": STATE_NAMES[shop.db_breaker.state]}
        if not redis_ok and not db_ok:
            status = "unhealthy"
        elif redis_ok and db_ok and set(circuits.values()) == {"closed"}:
            status = "healthy"
        else:
            status = "degraded"
        body = {"status": status, "redis": "up" if redis_ok else "down", "db": "up" if db_ok else "down",
                "circuits": circuits}
        return json_response(body, 503 if status == "unhealthy" else 200)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(shop_of(request).metrics.registry), 200,
                        media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(AuthError)
    async def auth_error(request: Request, exc: AuthError) -> Response:
        return error(exc.status, str(exc))

    @app.exception_handler(SessionStoreDown)
    async def session_store_down(request: Request, exc: SessionStoreDown) -> Response:
        return error(503, "session store unavailable")

    @app.exception_handler(Overloaded)
    async def overloaded(request: Request, exc: Overloaded) -> Response:
        return error(503, "overloaded: database busy, retry later", {"Retry-After": "1"})

    @app.exception_handler(DatabaseUnavailable)
    async def db_down(request: Request, exc: DatabaseUnavailable) -> Response:
        return error(503, "database unavailable")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [{"field": ".".join(str(p) for p in e.get("loc", ())), "error": e.get("msg", "")}
                    for e in exc.errors()]
        return JSONResponse({"error": "invalid request", "problems": problems}, 422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method,
                  request.scope.get("route").path if request.scope.get("route") else "?")
        return error(500, "internal error")

    return app
