"""The proxies by name and every API operation on them, with no HTTP: `server.py` serves them.

Each method here is one API operation: it checks the whole request first and raises
`ApiError` (with the real server's status and message) before changing anything, so a
bad request never leaves a half-created proxy. Every change is logged on one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from harness.proxy.errors import PROXY_EXISTS, PROXY_NOT_FOUND, ApiError, bad_body, missing_field
from harness.proxy.proxy import Proxy
from harness.proxy.toxics import Toxic, parse_toxic, parse_update

log = logging.getLogger("harness.proxy")


def proxy_fields(body: object, where: str = "") -> tuple[str, str, str, bool]:
    """(name, listen, upstream, enabled) from a create/populate entry, checked."""
    if not isinstance(body, dict):
        raise bad_body(f"expected a JSON object{where}")
    name, upstream = body.get("name"), body.get("upstream")
    listen = body.get("listen") or ":0"  # every interface, a free port: the real server's default
    enabled = body.get("enabled", True)
    for field, value in (("name", name), ("upstream", upstream), ("listen", listen)):
        if value is not None and not isinstance(value, str):
            raise bad_body(f"{field}{where} must be a string")
    if not isinstance(enabled, bool):
        raise bad_body(f"enabled{where} must be true or false")
    if not name:
        raise missing_field(f"name{where}")
    if not upstream:
        raise missing_field(f"upstream{where}")
    return name, listen, upstream, enabled  # a bad listen fails to bind (500), a bad upstream each dial


class Registry:
    """Every proxy by name, and the API's operations on them (no HTTP here)."""

    def __init__(self, reuse_port: bool = False) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.lock = asyncio.Lock()  # API changes one at a time, like the real server's mutexes
        self.reuse_port = reuse_port  # listeners shared with worker processes (SO_REUSEPORT)
        # called after every change, with the lock held: pushes the new state to the workers
        self.mirror: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None

    @contextlib.asynccontextmanager
    async def changing(self) -> AsyncIterator[None]:
        """One API change at a time; afterwards (also after a failure) the workers follow."""
        async with self.lock:
            try:
                yield
            finally:
                if self.mirror is not None:
                    await self.mirror(self.state())

    def state(self) -> list[dict[str, Any]]:
        """Every proxy with its toxics, as worker processes mirror it (see workers.py)."""
        return [
            {**proxy.to_json(), "toxics": [{**t.to_json(), "seq": t.seq} for t in proxy.toxic_list()]}
            for proxy in self.proxies.values()
        ]

    async def byte_counts(self) -> dict[str, dict[str, list[int]]]:
        """Per proxy and direction, [received, sent] bytes (summed over workers by a subclass)."""
        return {name: {d: list(c) for d, c in proxy.byte_counts.items()} for name, proxy in self.proxies.items()}

    def stop_all(self) -> None:
        """Stop every proxy (listeners and connections) and forget it."""
        for proxy in self.proxies.values():
            proxy.stop()
        self.proxies.clear()

    def _check_port_free(self, proxy: Proxy) -> None:
        """With SO_REUSEPORT two of our proxies could share a port: refuse as a bind would."""
        if not self.reuse_port or proxy.listen.endswith(":0"):
            return
        for other in self.proxies.values():
            if other is not proxy and other.enabled and other.listen == proxy.listen:
                raise ApiError(f"listen tcp {proxy.listen}: bind: address already in use", 500)

    # -- proxies ----------------------------------------------------------------------------
    def get(self, name: str) -> Proxy:
        try:
            return self.proxies[name]
        except KeyError:
            raise ApiError(*PROXY_NOT_FOUND) from None

    async def create(self, body: object) -> Proxy:
        name, listen, upstream, enabled = proxy_fields(body)
        async with self.changing():
            if name in self.proxies:
                raise ApiError(*PROXY_EXISTS)
            return await self._add(name, listen, upstream, enabled)

    async def _add(self, name: str, listen: str, upstream: str, enabled: bool) -> Proxy:
        proxy = Proxy(name, listen, upstream, reuse_port=self.reuse_port)
        self._check_port_free(proxy)
        if enabled:
            await proxy.start()  # raises before the proxy is registered
        self.proxies[name] = proxy
        log.info("proxy %s created %s", name, proxy.describe())
        return proxy

    async def populate(self, body: object) -> list[Proxy]:
        """Create or replace the listed proxies; on a failure, raise with those done so far.

        The caller reads `.done` off the raised ApiError to report them.
        """
        if not isinstance(body, list):
            raise bad_body("expected a JSON array of proxies")
        entries, names = [], set()
        for number, entry in enumerate(body, start=1):
            fields = proxy_fields(entry, f" at proxy {number}")
            if fields[0] in names:
                raise bad_body(f"duplicate proxy name {fields[0]!r}")
            names.add(fields[0])
            entries.append(fields)
        done: list[Proxy] = []
        async with self.changing():
            for name, listen, upstream, enabled in entries:
                existing = self.proxies.get(name)
                if existing is not None and existing.upstream == upstream and await existing.same_listen(listen):
                    done.append(existing)
                    continue
                if existing is not None:
                    existing.stop()
                    del self.proxies[name]
                    log.info("proxy %s replaced", name)
                try:
                    done.append(await self._add(name, listen, upstream, enabled))
                except ApiError as exc:
                    exc.done = done
                    raise
        return done

    async def update(self, name: str, body: object) -> Proxy:
        """Partial update: absent fields keep their value; a new address restarts the proxy."""
        async with self.changing():
            proxy = self.get(name)
            if not isinstance(body, dict):
                raise bad_body("expected a JSON object")
            listen = body.get("listen", proxy.listen)
            upstream = body.get("upstream", proxy.upstream)
            enabled = body.get("enabled", proxy.enabled)
            for field, value in (("listen", listen), ("upstream", upstream)):
                if not isinstance(value, str):
                    raise bad_body(f"{field} must be a string")
            if not isinstance(enabled, bool):
                raise bad_body("enabled must be true or false")
            if upstream != proxy.upstream or not await proxy.same_listen(listen):
                proxy.stop()
                proxy.listen, proxy.upstream = listen, upstream
            try:
                if enabled and not proxy.enabled:
                    self._check_port_free(proxy)
                    await proxy.start()
                elif not enabled and proxy.enabled:
                    proxy.stop()
            finally:
                log.info("proxy %s updated %s", name, proxy.describe())
            return proxy

    async def delete(self, name: str) -> None:
        async with self.changing():
            proxy = self.get(name)
            proxy.stop()
            del self.proxies[name]
            log.info("proxy %s deleted", name)

    async def reset(self) -> None:
        """Every proxy enabled again, every toxic removed."""
        async with self.changing():
            for proxy in self.proxies.values():
                await proxy.start()
                for toxic in proxy.toxic_list():
                    proxy.remove_toxic(toxic.name)
            log.info("reset: every proxy enabled, every toxic removed")

    # -- toxics -----------------------------------------------------------------------------
    async def add_toxic(self, proxy_name: str, body: object) -> Toxic:
        async with self.changing():
            proxy = self.get(proxy_name)
            toxic = parse_toxic(body)
            proxy.add_toxic(toxic)
            log.info("toxic %s added to %s: %s", toxic.name, proxy_name, toxic.describe())
            return toxic

    async def update_toxic(self, proxy_name: str, toxic_name: str, body: object) -> Toxic:
        async with self.changing():
            proxy = self.get(proxy_name)
            toxic = proxy.get_toxic(toxic_name)
            toxicity, attributes = parse_update(toxic, body)
            proxy.update_toxic(toxic, toxicity, attributes)
            log.info("toxic %s updated on %s: %s", toxic.name, proxy_name, toxic.describe())
            return toxic

    async def delete_toxic(self, proxy_name: str, toxic_name: str) -> None:
        async with self.changing():
            proxy = self.get(proxy_name)
            proxy.remove_toxic(toxic_name)
            log.info("toxic %s removed from %s", toxic_name, proxy_name)
