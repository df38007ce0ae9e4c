"""The embedded Toxiproxy-compatible fault proxy.

It speaks the Toxiproxy v2 HTTP API (https://github.com/Shopify/toxiproxy), so the harness's fault layer
works the same against it and against a real Toxiproxy. TCP forwarding and the API share
one asyncio loop (uvloop when installed); the API is an aiohttp application.

Python API (what the embedded stack and tests call):

- `ProxyServer(host="127.0.0.1", port=8474)`: the server object (proxies + API) on the
  running loop: `await server.start()`, `server.api_url`, `await server.close()`.
- `run_in_thread(host="127.0.0.1", port=0) -> EmbeddedProxy`: a server on its own loop
  in a daemon thread; `.api_url`, `.stop()`, `.call(async_fn)` to run code on its loop,
  `.server`; a context manager. For tests and light use.
- `spawn(host="127.0.0.1", port=0, log_path=None, config=None) -> ProxyProcess`: runs
  `python -m harness.proxy` (the same as `stampede proxy`) as a child process and waits
  until its API answers; `.api_url`, `.pid`, `.stop()` (terminate, then kill); a context
  manager. Port 0 picks a free port. The embedded stack uses this, so that forwarding
  never competes with the orchestrator for the GIL; with `-workers N` (default: the cores,
  at most 4) the data path runs on N processes sharing each port (see worker.py).

Talk to any of them over HTTP (toxiproxy-python or requests), never through private
attributes: what works here must work against the real Toxiproxy.

The names above load on first use: importing `harness.proxy.toxic_types` (as experiment
validation does) must not pull in aiohttp and the HTTP server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.proxy.embedded import EmbeddedProxy, ProxyProcess, run_in_thread, spawn
    from harness.proxy.server import ProxyServer

_LAZY = {
    "EmbeddedProxy": "harness.proxy.embedded",
    "ProxyProcess": "harness.proxy.embedded",
    "run_in_thread": "harness.proxy.embedded",
    "spawn": "harness.proxy.embedded",
    "ProxyServer": "harness.proxy.server",
}

__all__ = ["EmbeddedProxy", "ProxyProcess", "ProxyServer", "run_in_thread", "spawn"]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness.proxy' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
