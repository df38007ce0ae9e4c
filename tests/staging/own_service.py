"""A tiny stand-in for "your own service", the API examples/own_service/locustfile.py assumes.

Real HTTP on loopback (aiohttp in a thread). Two flaws to show the example's checks bite:
`shared_profile_cache` caches /me without the user in the key (the chapter's cross-user
leak) and `sessions_fail_open` keeps accepting logged-out tokens.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

ORDERS = web.AppKey("orders", dict)  # order id -> user id: the "source of truth" for writes


def make_app(flaws: frozenset[str] = frozenset(), accounts: int = 100) -> web.Application:
    tokens: dict[str, int] = {}
    revoked: dict[str, int] = {}
    orders: dict[str, int] = {}
    order_ids = itertools.count(1)
    cached_profile: dict[str, dict] = {}

    def caller(request: web.Request) -> int | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in tokens:
            return tokens[token]
        if "sessions_fail_open" in flaws and token in revoked:
            return revoked[token]
        return None

    async def login(request: web.Request) -> web.Response:
        body = await request.json()
        name = str(body.get("username", ""))
        number = name.removeprefix("user-")
        if not (number.isdigit() and 1 <= int(number) <= accounts
                and body.get("password") == f"password-{number}"):
            return web.json_response({"error": "bad credentials"}, status=401)
        token = secrets.token_hex(8)
        tokens[token] = int(number) * 10  # the id is the service's, not the account number
        return web.json_response({"token": token, "user_id": tokens[token]})

    async def logout(request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in tokens:
            revoked[token] = tokens.pop(token)
        return web.Response(status=204)

    async def me(request: web.Request) -> web.Response:
        user = caller(request)
        if user is None:
            return web.json_response({"error": "not logged in"}, status=401)
        profile = {"user_id": user, "name": f"n{user}"}
        if "shared_profile_cache" in flaws:
            # cached under "me" for everybody: the previous caller's profile comes back
            profile, cached_profile["me"] = cached_profile.get("me", profile), profile
        return web.json_response(profile)

    async def place_order(request: web.Request) -> web.Response:
        user = caller(request)
        if user is None:
            return web.json_response({"error": "not logged in"}, status=401)
        order = f"o{next(order_ids)}"
        orders[order] = user
        return web.json_response({"order_id": order, "user_id": user}, status=201)

    async def read_order(request: web.Request) -> web.Response:
        user = caller(request)
        order = request.match_info["id"]
        if user is None or orders.get(order) != user:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"order_id": order, "user_id": user})

    app = web.Application()
    app.add_routes([web.post("/login", login), web.post("/logout", logout), web.get("/me", me),
                    web.post("/orders", place_order), web.get("/orders/{id}", read_order)])
    app[ORDERS] = orders
    return app


@contextmanager
def serve(flaws: frozenset[str] = frozenset()) -> Iterator[tuple[str, web.Application]]:
    """Run the service on a free loopback port; yields (base URL, app)."""
    loop = asyncio.new_event_loop()
    app = make_app(flaws)
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.run_until_complete(runner.cleanup())
        loop.close()
