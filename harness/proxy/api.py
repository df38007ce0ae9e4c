"""The Toxiproxy v2 HTTP API as an aiohttp application over a ProxyServer.

Paths, status codes and bodies follow the real server (Shopify/toxiproxy api.go):
errors are `{"error": ..., "status": ...}`, POST of a toxic answers 200, deletes 204,
and a User-Agent starting with `Mozilla/` gets the real server's plain-text 403.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from harness.proxy.errors import ApiError, bad_body
from harness.proxy.metrics import CONTENT_TYPE, MetricsOptions, render

if TYPE_CHECKING:
    from harness.proxy.proxy import Proxy
    from harness.proxy.registry import Registry

VERSION = "2.12.0"  # the Toxiproxy release whose API we speak

log = logging.getLogger("harness.proxy")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


def _error(exc: ApiError) -> web.Response:
    """As Go's http.Error writes it: text/plain, the JSON body and a newline."""
    return web.Response(
        text=json.dumps(exc.to_json(), separators=(",", ":")) + "\n",
        status=exc.status,
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


async def _body(request: web.Request) -> object:
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_body(str(exc) if raw.strip() else "EOF") from None


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse browsers; turn ApiError into its JSON answer and any bug into a JSON 500."""
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        return web.Response(text="User agent not allowed\n", status=403)
    try:
        response: web.StreamResponse = await handler(request)
    except ApiError as exc:
        response = _error(exc)
    except web.HTTPNotFound:
        response = web.Response(text="404 page not found\n", status=404, headers={"X-Content-Type-Options": "nosniff"})
    except web.HTTPMethodNotAllowed:
        response = web.Response(status=405)
    except web.HTTPException as exc:
        response = exc
    except Exception as exc:  # never a stack trace to the client
        log.exception("API error on %s %s", request.method, request.path)
        response = _error(ApiError(f"internal error: {exc}", 500))
    response.headers["X-Toxiproxy-Request-Id"] = secrets.token_hex(10)  # as the real server tags each
    if isinstance(response, web.HTTPException):
        raise response
    return response


def _listed(proxies: list[Proxy]) -> list[dict[str, Any]] | None:
    """/populate's list: `null` when empty, as Go encodes an empty slice."""
    return [proxy.to_json() for proxy in proxies] or None


def make_app(server: Registry, options: MetricsOptions | None = None) -> web.Application:
    options = options or MetricsOptions()
    app = web.Application(middlewares=[guard], client_max_size=16 * 1024 * 1024)

    async def list_proxies(request: web.Request) -> web.Response:
        return _json({name: proxy.to_json() for name, proxy in server.proxies.items()})

    async def create_proxy(request: web.Request) -> web.Response:
        proxy = await server.create(await _body(request))
        return _json(proxy.to_json(), 201)

    async def populate(request: web.Request) -> web.Response:
        try:
            body = await _body(request)
            proxies = await server.populate(body)
        except ApiError as exc:
            return _json({**exc.to_json(), "proxies": _listed(exc.done)}, exc.status)
        return _json({"proxies": _listed(proxies)}, 201)

    async def show_proxy(request: web.Request) -> web.Response:
        return _json(server.get(request.match_info["proxy"]).to_json())

    async def update_proxy(request: web.Request) -> web.Response:
        name = request.match_info["proxy"]
        server.get(name)  # 404 before 400, as the real server checks
        proxy = await server.update(name, await _body(request))
        return _json(proxy.to_json())

    async def delete_proxy(request: web.Request) -> web.Response:
        await server.delete(request.match_info["proxy"])
        return web.Response(status=204)

    async def reset(request: web.Request) -> web.Response:
        await server.reset()
        return web.Response(status=204)

    async def list_toxics(request: web.Request) -> web.Response:
        proxy = server.get(request.match_info["proxy"])
        return _json([toxic.to_json() for toxic in proxy.toxic_list()])

    async def create_toxic(request: web.Request) -> web.Response:
        name = request.match_info["proxy"]
        server.get(name)
        toxic = await server.add_toxic(name, await _body(request))
        return _json(toxic.to_json())

    async def show_toxic(request: web.Request) -> web.Response:
        proxy = server.get(request.match_info["proxy"])
        return _json(proxy.get_toxic(request.match_info["toxic"]).to_json())

    async def update_toxic(request: web.Request) -> web.Response:
        proxy_name, toxic_name = request.match_info["proxy"], request.match_info["toxic"]
        server.get(proxy_name).get_toxic(toxic_name)
        toxic = await server.update_toxic(proxy_name, toxic_name, await _body(request))
        return _json(toxic.to_json())

    async def delete_toxic(request: web.Request) -> web.Response:
        await server.delete_toxic(request.match_info["proxy"], request.match_info["toxic"])
        return web.Response(status=204)

    async def metrics(request: web.Request) -> web.Response:
        if not options.enabled:
            return web.Response(text="404 page not found\n", status=404)
        counts = await server.byte_counts()
        body = render(options, [p for p in server.proxies.values() if p.name in counts], counts)
        return web.Response(body=body.encode(), headers={"Content-Type": CONTENT_TYPE})

    async def version(request: web.Request) -> web.Response:
        return web.Response(
            text=json.dumps({"version": VERSION}) + "\n",
            content_type="application/json",
            charset="utf-8",
        )

    proxy_path, toxic_path = "/proxies/{proxy}", "/proxies/{proxy}/toxics/{toxic}"
    app.router.add_get("/proxies", list_proxies, allow_head=False)
    app.router.add_post("/proxies", create_proxy)
    app.router.add_post("/populate", populate)
    app.router.add_post("/reset", reset)
    app.router.add_get("/metrics", metrics, allow_head=False)
    app.router.add_get("/version", version, allow_head=False)
    app.router.add_get(proxy_path, show_proxy, allow_head=False)
    app.router.add_post(proxy_path, update_proxy)
    app.router.add_patch(proxy_path, update_proxy)
    app.router.add_delete(proxy_path, delete_proxy)
    app.router.add_get(proxy_path + "/toxics", list_toxics, allow_head=False)
    app.router.add_post(proxy_path + "/toxics", create_toxic)
    app.router.add_get(toxic_path, show_toxic, allow_head=False)
    app.router.add_post(toxic_path, update_toxic)
    app.router.add_patch(toxic_path, update_toxic)
    app.router.add_delete(toxic_path, delete_toxic)
    return app
