"""ProxyServer: the registry of proxies and the Toxiproxy HTTP API over it, on one loop."""

from __future__ import annotations

import logging

from aiohttp import web

from harness.proxy.api import make_app
from harness.proxy.metrics import MetricsOptions
from harness.proxy.registry import Registry

log = logging.getLogger("harness.proxy")


class ProxyServer(Registry):
    """The fault proxy: proxies by name plus the HTTP API, living on the running loop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8474, metrics: MetricsOptions | None = None) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self.metrics = metrics or MetricsOptions()
        self.runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Serve the API; port 0 picks a free one (see `api_url`)."""
        self.runner = web.AppRunner(make_app(self, self.metrics), access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port, backlog=512)
        try:
            await site.start()
        except OSError:
            await self.runner.cleanup()
            self.runner = None
            raise
        self.port = site._server.sockets[0].getsockname()[1]
        log.info("API listening on %s", self.api_url)

    async def close(self) -> None:
        """Stop every proxy (listeners and connections), then the API."""
        self.stop_all()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
