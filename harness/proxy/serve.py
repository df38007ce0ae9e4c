"""Running the fault proxy standalone: `stampede proxy` and `python -m harness.proxy`.

Like `toxiproxy-server`, with its Go-style flags (`-host -port -config -seed -version
-proxy-metrics -runtime-metrics`; the `--long` spellings work too): serve the API, apply a
/populate-style JSON config at start, log each change on one line (LOG_LEVEL: debug,
info, warn, error), stop cleanly on Ctrl-C or SIGTERM. A config that does not read,
parse or validate is logged with its file name and the server keeps serving without it,
as the real server does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import sys
from pathlib import Path
from typing import Any

from harness.proxy.api import VERSION
from harness.proxy.errors import ApiError
from harness.proxy.metrics import MetricsOptions
from harness.proxy.process import LOG_LEVELS, new_event_loop, raise_fd_limit
from harness.proxy.registry import proxy_fields
from harness.proxy.server import ProxyServer
from harness.proxy.workers import MAX_DEFAULT_WORKERS, default_workers

log = logging.getLogger("harness.proxy")


class ConfigError(Exception):
    """A config file we refuse to start with; the message names the file and the problem."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The real server's flags, Go-style (`-host`), with `--host` etc. as aliases."""
    parser.add_argument("-host", "--host", default="localhost",
                        help="API address (default localhost, as the real server)")
    parser.add_argument("-port", "--port", type=int, default=8474, help="API port (default 8474; 0 picks one)")
    parser.add_argument("-config", "--config", type=Path,
                        help="JSON array of proxies, as for POST /populate, created at start")
    parser.add_argument("-seed", "--seed", type=int, help="seed for the toxicity draws")
    parser.add_argument("-version", "--version", action="store_true", help="print the version and exit")
    parser.add_argument("-proxy-metrics", "--proxy-metrics", action="store_true",
                        help="serve per-proxy byte counters at /metrics (Prometheus)")
    parser.add_argument("-runtime-metrics", "--runtime-metrics", action="store_true",
                        help="serve process metrics at /metrics (Prometheus)")
    parser.add_argument("-workers", "--workers", type=int, default=None,
                        help="event loops forwarding data, each its own process sharing every listen "
                        f"port (default: the cores available, at most {MAX_DEFAULT_WORKERS}; 1: one process)")


def load_config(path: Path) -> list[dict[str, Any]]:
    """The proxies of a config file, every entry checked as /populate would check it."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(entries, list):
        raise ConfigError(
            f"{path}: expected a JSON array of proxies like "
            '[{"name": "redis", "listen": "127.0.0.1:26379", "upstream": "127.0.0.1:6379"}]'
        )
    names = set()
    for number, entry in enumerate(entries, start=1):
        try:
            name = proxy_fields(entry, f" at proxy {number}")[0]
        except ApiError as exc:
            raise ConfigError(f"{path}: {exc.message}") from None
        if name in names:
            raise ConfigError(f"{path}: proxy {number}: duplicate name {name!r}; names must be unique")
        names.add(name)
    return entries


async def _serve(host: str, port: int, config: Path | None, metrics: MetricsOptions, workers: int,
                 seed: int | None) -> int:
    server = ProxyServer(host, port, metrics=metrics, workers=workers, seed=seed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        try:
            await server.start(prepare=(lambda: _populate_from(server, config)) if config is not None else None)
        except OSError as exc:
            print(f"stampede proxy: cannot serve the API on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        await stop.wait()
        log.info("stopping: closing every listener and connection")
        return 0
    finally:
        await server.close()


async def _populate_from(server: ProxyServer, config: Path) -> None:
    """Create the config's proxies; a bad file is logged and skipped, as the real server does."""
    try:
        entries = load_config(config)
        await server.populate(entries)
    except ConfigError as exc:
        log.error("Failed to populate proxies from file: %s", exc)
    except ApiError as exc:
        log.error("Failed to populate proxies from file: %s: %s", config, exc.message)
    else:
        log.info("populated %d proxies from config %s", len(entries), config)


def main(
    host: str = "localhost",
    port: int = 8474,
    config: Path | None = None,
    args: argparse.Namespace | None = None,
) -> int:
    """Serve until Ctrl-C or SIGTERM; `args` carries the other flags (seed, version, metrics)."""
    if args is not None and args.version:
        print(f"toxiproxy-server version {VERSION} (stampede)")
        return 0
    level = LOG_LEVELS.get(os.environ.get("LOG_LEVEL", "info").lower(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(message)s", stream=sys.stderr, force=True)
    seed = args.seed if args is not None else None
    if seed is not None:
        random.seed(seed)
    metrics = MetricsOptions(
        proxy=bool(args and args.proxy_metrics), runtime=bool(args and args.runtime_metrics)
    )
    workers = args.workers if args is not None and args.workers else default_workers()
    raise_fd_limit()
    loop = new_event_loop()
    try:
        return loop.run_until_complete(_serve(host, port, config, metrics, workers, seed))
    finally:
        loop.close()


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.proxy", description=__doc__.split("\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return main(args.host, args.port, args.config, args)
