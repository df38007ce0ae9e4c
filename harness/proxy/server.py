"""ProxyServer: the registry of proxies and the Toxiproxy HTTP API over it, on one loop."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from harness.proxy.api import make_app
from harness.proxy.metrics import MetricsOptions
from harness.proxy.registry import Registry
from harness.proxy.workers import WorkerPool

log = logging.getLogger("harness.proxy")


class ProxyServer(Registry):
    """The fault proxy: proxies by name plus the HTTP API, living on the running loop."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8474,
        metrics: MetricsOptions | None = None,
        workers: int = 1,
        seed: int | None = None,
    ) -> None:
        """`workers` > 1: that many event loops forward (this one and workers - 1 processes);
        `seed` seeds worker i's toxicity draws with seed + i (this process's is the caller's)."""
        super().__init__(reuse_port=workers > 1)
        self.host = host
        self.port = port
        self.metrics = metrics or MetricsOptions()
        self.pool = WorkerPool(workers - 1, seed) if workers > 1 else None
        self.runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, prepare: Callable[[], Awaitable[None]] | None = None) -> None:
        """Serve the API; port 0 picks a free one (see `api_url`).

        `prepare` runs once the workers are up and before the API answers (the real server
        creates its config's proxies at that point).
        """
        if self.pool is not None:
            await self.pool.start()
            self.mirror = self.pool.push
        if prepare is not None:
            await prepare()
        self.runner = web.AppRunner(make_app(self, self.metrics), access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port, backlog=512)
        try:
            await site.start()
        except OSError:
            await self.runner.cleanup()
            self.runner = None
            if self.pool is not None:
                await self.pool.close()
            raise
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("API listening on %s", self.api_url)

    async def close(self) -> None:
        """Stop every proxy (listeners and connections), then the API."""
        self.stop_all()
        if self.pool is not None:
            await self.pool.close()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def byte_counts(self) -> dict[str, dict[str, list[int]]]:
        """Ours plus every worker's, summed."""
        totals = await super().byte_counts()
        for counts in await self.pool.counts() if self.pool is not None else []:
            for name, directions in counts.items():
                for direction, (received, sent) in directions.items():
                    if name in totals:
                        totals[name][direction][0] += received
                        totals[name][direction][1] += sent
        return totals
